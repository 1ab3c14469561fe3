"""``submit`` circuits to a backend and ``retrieve`` their results through the job store."""

from __future__ import annotations

import hashlib
import json
from datetime import datetime, timezone

from qworkbench.hardware._backend import (
    HardwareError,
    JobNotFoundError,
    backend_name,
    is_local,
    resolve_backend,
    runtime_service,
)
from qworkbench.hardware._primitives import PrimitiveOptions, make_primitive, twirling_for
from qworkbench.hardware._store import JobRecord, JobStore, check_job_id
from qworkbench.utils import positive_int

__all__ = ["submit", "retrieve", "jobs", "transpile", "circuit_hash"]

MODES = ("job", "batch", "session")


def _to_qiskit(circuit):
    from qiskit import QuantumCircuit

    from qworkbench import Circuit

    if isinstance(circuit, QuantumCircuit):
        return circuit
    if isinstance(circuit, Circuit):
        return circuit.to_qiskit()
    if isinstance(circuit, str):
        return Circuit.from_qasm(circuit).to_qiskit()
    raise TypeError(
        f"a circuit must be a qworkbench Circuit, a qiskit QuantumCircuit or OpenQASM text, "
        f"got {type(circuit).__name__}"
    )


def _to_observable(observable, num_qubits: int):
    from qiskit.quantum_info import SparsePauliOp

    from qworkbench import PauliSum

    if isinstance(observable, PauliSum):
        op = observable.to_qiskit()
    elif isinstance(observable, SparsePauliOp):
        op = observable
    elif isinstance(observable, str):
        op = SparsePauliOp(observable)
    else:
        try:
            op = SparsePauliOp.from_list([(str(label), complex(c)) for label, c in observable])
        except (TypeError, ValueError):
            raise TypeError(
                "an observable must be a PauliSum, a SparsePauliOp, a Pauli label or "
                f"[(label, coeff), ...], got {observable!r}"
            ) from None
    if op.num_qubits != num_qubits:
        raise ValueError(f"observable acts on {op.num_qubits} qubits, its circuit has {num_qubits}")
    return op


def circuit_hash(circuits, observables=None) -> str:
    """sha256 of the circuits' OpenQASM 3 text and the observables' Pauli terms."""
    from qiskit import qasm3

    digest = hashlib.sha256()
    for qc in circuits:
        digest.update(qasm3.dumps(qc).encode())
    for op in observables or ():
        terms = [(label, [c.real, c.imag]) for label, c in op.to_list()]
        digest.update(json.dumps(terms).encode())
    return digest.hexdigest()


def transpile(circuits, backend, *, optimization_level: int = 1, seed: int | None = 0):
    """ISA circuits for ``backend`` with a seeded ``generate_preset_pass_manager``.

    Raises:
        ValueError: a circuit wider than the backend, or one the transpiler cannot map
            onto it (the transpiler's reason, in one line).
    """
    from qiskit.transpiler import TranspilerError, generate_preset_pass_manager

    width = getattr(backend, "num_qubits", None)
    for qc in circuits:
        if width is not None and qc.num_qubits > width:
            raise ValueError(f"the circuit has {qc.num_qubits} qubits; backend "
                             f"{backend_name(backend)} has {width}")  # fmt: skip
    pm = generate_preset_pass_manager(
        optimization_level=optimization_level, backend=backend, seed_transpiler=seed
    )
    try:
        return [pm.run(qc) for qc in circuits]
    except TranspilerError as exc:
        reason = str(exc).strip().strip("'\"").splitlines()[0] if str(exc).strip() else ""
        raise ValueError(f"cannot transpile the circuit for backend {backend_name(backend)}: "
                         f"{reason or type(exc).__name__}") from None  # fmt: skip


def _mode(mode: str, backend, stack):
    if mode == "job":
        return backend
    import qiskit_ibm_runtime as runtime

    cls = runtime.Batch if mode == "batch" else runtime.Session
    return stack.enter_context(cls(backend=backend))


def submit(circuits, backend, *, shots: int = 4096, observables=None, mode: str = "job",
           resilience_level: int = 0, twirling: bool | None = None,
           dynamical_decoupling: bool = False, tags=(), seed: int | None = 0,
           optimization_level: int = 1, store: JobStore | None = None) -> JobRecord:  # fmt: skip
    """Transpile ``circuits`` to ``backend``'s ISA and run them with a Sampler (no
    ``observables``) or an Estimator; the job goes into the job store.

    Args:
        circuits: a circuit or a list (qworkbench ``Circuit``, qiskit ``QuantumCircuit``,
            or OpenQASM text); sampler circuits without measurements get ``measure_all``,
            estimator circuits lose their final measurements.
        backend: a name for :func:`resolve_backend` or a ``BackendV2``.
        shots: shots per circuit (sampler) or per measured basis (estimator).
        observables: one observable per circuit (or one for all): a ``PauliSum``,
            ``SparsePauliOp``, Pauli label or ``[(label, coeff), ...]``; the circuit's
            layout is applied to it after transpilation.
        mode: ``job``, ``batch`` or ``session`` (local testing mode accepts and ignores
            the last two).
        resilience_level: estimator only: 0 (raw), 1 (readout mitigation) or 2 (+ ZNE).
        twirling: Pauli twirling of gates and measurements: None follows the resilience
            level (measurements from level 1, gates from level 2), True/False sets both.
        dynamical_decoupling: dynamical decoupling on idle qubits.
        tags: strings stored with the job (and sent as job tags).
        seed: seeds the transpiler and, in local testing mode, the simulator.
        optimization_level: the preset pass manager's level.
        store: the job store (default: the one under ``QWB_HOME``).

    Returns:
        The :class:`JobRecord` (``status`` ``DONE`` for local jobs, which finish at once).
    """
    from contextlib import ExitStack

    if mode not in MODES:
        raise ValueError(f"mode must be one of {', '.join(MODES)}, got {mode!r}")
    shots = positive_int("shots", shots)
    if resilience_level not in (0, 1, 2):
        raise ValueError(f"resilience_level must be 0, 1 or 2, got {resilience_level!r}")
    if observables is None and resilience_level:
        raise ValueError("resilience_level applies to estimator jobs (pass observables=)")
    twirl_gates, twirl_measure = twirling_for(resilience_level, twirling)
    if isinstance(tags, str):
        tags = (tags,)
    tags = tuple(str(t) for t in tags)
    many = isinstance(circuits, list | tuple)
    logical = [_to_qiskit(c) for c in (circuits if many else [circuits])]
    if not logical:
        raise ValueError("no circuits to submit")
    primitive = "sampler" if observables is None else "estimator"
    ops = None
    if primitive == "sampler":
        logical = [qc if _has_measurements(qc) else qc.measure_all(inplace=False) for qc in logical]
    else:
        logical = [qc.remove_final_measurements(inplace=False) for qc in logical]
        per_circuit = (
            many
            and isinstance(observables, list | tuple)
            and len(observables) == len(logical)
            and not _is_term_list(observables)
        )
        wanted = list(observables) if per_circuit else [observables] * len(logical)
        ops = [_to_observable(o, qc.num_qubits) for o, qc in zip(wanted, logical)]
    for qc in logical:
        if qc.num_parameters:
            names = ", ".join(p.name for p in qc.parameters)
            raise ValueError(f"bind the circuit's parameters before submitting ({names})")
    chash = circuit_hash(logical, ops)
    target = resolve_backend(backend)
    local = is_local(target)
    isa = transpile(logical, target, optimization_level=optimization_level, seed=seed)
    if ops is not None:
        ops = [op.apply_layout(qc.layout) for op, qc in zip(ops, isa)]
        pubs = list(zip(isa, ops))
    else:
        pubs = isa
    options = PrimitiveOptions(
        shots=shots,
        resilience_level=resilience_level,
        twirl_gates=twirl_gates,
        twirl_measure=twirl_measure,
        dynamical_decoupling=dynamical_decoupling,
        seed=seed,
        tags=tags,
    )
    store = store or JobStore()
    with ExitStack() as stack:
        executed, family = make_primitive(
            primitive, _mode(mode, target, stack), options, local=local
        )
        try:
            job = executed.run(pubs)
        except Exception as exc:
            raise HardwareError(f"{backend_name(target)} refused the job: {exc}") from exc
        record = JobRecord(
            id=job.job_id(),
            backend=backend if isinstance(backend, str) else backend_name(target),
            mode=mode,
            created=datetime.now(timezone.utc).isoformat(timespec="seconds"),
            circuit_hash=chash,
            tags=tags,
            status="QUEUED",
            primitive=primitive,
            shots=shots,
            local=local,
            num_circuits=len(logical),
            options={
                "family": family,
                "resilience_level": resilience_level,
                "twirl_gates": twirl_gates,
                "twirl_measure": twirl_measure,
                "dynamical_decoupling": dynamical_decoupling,
                "seed": seed,
                "optimization_level": optimization_level,
            },
        )
        store.append(record)
        if local:  # the local service keeps no jobs: save the result now
            try:
                result = job.result()
            except Exception as exc:
                store.append(record.replace(status="ERROR"))
                raise HardwareError(f"local job {record.id} failed: {exc}") from exc
            store.save_result(record.id, result)
            record = record.replace(status="DONE")
            store.append(record)
    return record


def _has_measurements(qc) -> bool:
    return any(inst.operation.name == "measure" for inst in qc.data)


def _is_term_list(value) -> bool:
    return bool(value) and all(
        isinstance(t, tuple | list) and len(t) == 2 and isinstance(t[0], str) for t in value
    )


def _unpack(record: JobRecord, result):
    """Counts (qubit 0 rightmost) or expectation values, one per circuit; a single
    circuit's value unwrapped."""
    import numpy as np

    values = []
    for pub in result:
        if record.primitive == "sampler":
            values.append(dict(pub.join_data().get_counts()))
        else:
            evs = np.asarray(pub.data.evs, dtype=float)
            values.append(float(evs) if evs.ndim == 0 else evs)
    return values if record.num_circuits != 1 else values[0]


def retrieve(job_id: str, *, store: JobStore | None = None):
    """The result of a stored job: counts ``{bitstring: count}`` (qubit 0 rightmost)
    for sampler jobs, expectation values for estimator jobs; a list when the job held
    several circuits. Remote jobs are fetched from the service (``service.job(id)``)
    once finished, saved, and their record updated.

    Raises:
        JobNotFoundError: ``job_id`` is not in the store.
        HardwareError: the job failed, or has not finished yet (its status says which).
        CredentialsError: a remote job and no way to reach IBM Quantum.
    """
    store = store or JobStore()
    check_job_id(job_id)
    record = store.get(job_id)
    if record is None:
        raise JobNotFoundError(
            f"no job {job_id!r} in the job store {store.path} (`qwb jobs` lists the jobs)"
        )
    result = store.load_result(job_id)
    if result is not None:
        return _unpack(record, result)
    if record.local:
        raise HardwareError(
            f"job {job_id} ran in local testing mode and its saved result is gone "
            f"({store.result_path(job_id)}); submit it again"
        )
    service = runtime_service()
    try:
        job = service.job(job_id)
        status = str(getattr(job.status(), "name", job.status())).upper()
    except Exception as exc:
        raise HardwareError(f"cannot fetch job {job_id}: {type(exc).__name__}") from None
    if status != record.status:
        record = record.replace(status=status)
        store.append(record)
    if status in ("ERROR", "CANCELLED", "FAILED"):
        raise HardwareError(f"job {job_id} ended with status {status}")
    if status != "DONE":
        raise HardwareError(f"job {job_id} has not finished (status {status}); try again later")
    result = job.result()
    store.save_result(job_id, result)
    return _unpack(record, result)


def jobs(*, store: JobStore | None = None) -> list[JobRecord]:
    """The current record of every stored job, oldest first."""
    return list((store or JobStore()).latest().values())
