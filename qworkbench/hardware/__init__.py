"""IBM quantum hardware: submit circuits, keep a job store, retrieve results.

Public names:

- :func:`resolve_backend` — ``fake_*`` (local testing mode), ``aer``, or an IBM backend
  through ``QiskitRuntimeService`` (saved account or ``QISKIT_IBM_TOKEN``);
- :func:`submit` -> :class:`JobRecord`, :func:`retrieve`, :func:`jobs`,
  :func:`compare_energies` (ideal vs noisy vs mitigated);
- :class:`JobStore` (``$QWB_HOME/jobs.jsonl``), :func:`home`;
- :class:`HardwareError`, :class:`CredentialsError`, :class:`JobNotFoundError`.

Importing this package does not import qiskit; each function imports what it needs.
"""

from qworkbench.hardware._backend import (
    CredentialsError,
    HardwareError,
    JobNotFoundError,
    resolve_backend,
    runtime_service,
)
from qworkbench.hardware._energies import compare_energies
from qworkbench.hardware._primitives import PrimitiveOptions, make_primitive, primitive_family
from qworkbench.hardware._store import JobRecord, JobStore, home
from qworkbench.hardware._submit import circuit_hash, jobs, retrieve, submit, transpile

__all__ = [
    "CredentialsError",
    "HardwareError",
    "JobNotFoundError",
    "JobRecord",
    "JobStore",
    "PrimitiveOptions",
    "circuit_hash",
    "compare_energies",
    "home",
    "jobs",
    "make_primitive",
    "primitive_family",
    "resolve_backend",
    "retrieve",
    "runtime_service",
    "submit",
    "transpile",
]
