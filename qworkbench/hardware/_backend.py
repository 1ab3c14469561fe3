"""Backends by name: fake IBM backends, Aer, or IBM Quantum hardware.

``fake_*`` names come from qiskit-ibm-runtime's local service (local testing mode: the
same primitives, simulated with the fake backend's noise), ``aer`` is a noiseless
``AerSimulator``, and any other name is asked of ``QiskitRuntimeService`` with the
account from ``QISKIT_IBM_TOKEN`` (+ ``QISKIT_IBM_INSTANCE``, ``QISKIT_IBM_CHANNEL``)
or else the user's saved account. Every failure to reach the service becomes one
:class:`CredentialsError` that says how to save an account; the token never appears
in it (nor is it logged or written by us).
"""

from __future__ import annotations

import os

from qworkbench.errors import QWorkbenchError

__all__ = [
    "HardwareError",
    "CredentialsError",
    "JobNotFoundError",
    "resolve_backend",
    "runtime_service",
    "is_local",
]

CHANNELS = ("ibm_quantum_platform", "ibm_cloud")

SAVE_ACCOUNT_HELP = (
    "Save an IBM Quantum account once with\n"
    '  python -c "from qiskit_ibm_runtime import QiskitRuntimeService; '
    "QiskitRuntimeService.save_account(channel='ibm_quantum_platform', "
    "token='YOUR_API_KEY', instance='YOUR_INSTANCE_CRN', set_as_default=True)\"\n"
    "or set QISKIT_IBM_TOKEN (and QISKIT_IBM_INSTANCE, QISKIT_IBM_CHANNEL="
    "ibm_quantum_platform|ibm_cloud) in the environment. "
    "Offline, use a fake backend such as fake_manila (see docs/hardware.md)."
)


class HardwareError(QWorkbenchError, RuntimeError):
    """A hardware job could not be submitted or retrieved."""


class CredentialsError(HardwareError):
    """IBM Quantum could not be reached: no account, a bad one, an unknown backend or
    no network. The message says how to save an account; it never holds the token."""


class JobNotFoundError(HardwareError, LookupError):
    """A job id that is not in the job store."""


def _redact(text: str) -> str:
    token = os.environ.get("QISKIT_IBM_TOKEN")
    if token:
        text = text.replace(token, "***")
    return text


def _reason(exc: BaseException) -> str:
    message = str(exc).strip().splitlines()[0] if str(exc).strip() else ""
    return _redact(f"{type(exc).__name__}: {message}"[:300])


def runtime_service():
    """A ``QiskitRuntimeService`` for the environment's account or the saved one.

    Raises:
        CredentialsError: no account, a bad one, or no network.
    """
    channel = os.environ.get("QISKIT_IBM_CHANNEL") or None
    if channel is not None and channel not in CHANNELS:
        raise CredentialsError(
            f"QISKIT_IBM_CHANNEL must be one of {', '.join(CHANNELS)}, got {channel!r}.\n"
            + SAVE_ACCOUNT_HELP
        )
    try:
        from qiskit_ibm_runtime import QiskitRuntimeService

        token = os.environ.get("QISKIT_IBM_TOKEN")
        if token:
            return QiskitRuntimeService(
                channel=channel or "ibm_quantum_platform",
                token=token,
                instance=os.environ.get("QISKIT_IBM_INSTANCE") or None,
            )
        return QiskitRuntimeService(channel=channel, instance=os.environ.get("QISKIT_IBM_INSTANCE"))
    except Exception as exc:  # the runtime raises many kinds; all mean "not reachable"
        reason = _reason(exc)
    # raised outside the handler, so the runtime's exception (and anything it holds)
    # is not chained onto ours
    raise CredentialsError(f"cannot connect to IBM Quantum ({reason}).\n{SAVE_ACCOUNT_HELP}")


def _fake_backend(name: str):
    import warnings

    from qiskit.providers.exceptions import QiskitBackendNotFoundError
    from qiskit_ibm_runtime.fake_provider.local_service import QiskitRuntimeLocalService

    # the local service builds every fake backend to find one, and fake_nighthawk warns
    # that its made-up error rates are not typical: noise on every command, whatever
    # backend was asked for
    with warnings.catch_warnings():
        warnings.filterwarnings("ignore", "Properties of fake_", UserWarning)
        try:
            return QiskitRuntimeLocalService().backend(name)
        except QiskitBackendNotFoundError:
            pass
        from qiskit_ibm_runtime.fake_provider import FakeProviderForBackendV2

        names = sorted(b.name for b in FakeProviderForBackendV2().backends())
    raise ValueError(
        f"unknown fake backend {name!r}; available: {', '.join(names[:12])}, ..."
    ) from None


def resolve_backend(name):
    """A ``BackendV2`` for ``name``: ``fake_manila``/``fake_fez``/... (local testing mode),
    ``aer`` (noiseless ``AerSimulator``) or an IBM backend (``ibm_fez``, ...).

    A backend object passes through unchanged.

    Raises:
        ValueError: an unknown fake backend name.
        CredentialsError: an IBM backend that cannot be reached (no or bad account,
            unknown name, no network); the message says how to save an account.
    """
    if not isinstance(name, str):
        if hasattr(name, "target"):
            return name
        raise TypeError(f"backend must be a name or a BackendV2, got {type(name).__name__}")
    key = name.strip()
    if key.lower().startswith("fake_"):
        return _fake_backend(key.lower())
    if key.lower() == "aer":
        from qiskit_aer import AerSimulator

        return AerSimulator()
    if not key:
        raise ValueError("backend name is empty")
    service = runtime_service()
    try:
        return service.backend(key)
    except Exception as exc:
        reason = _reason(exc)
    raise CredentialsError(f"cannot use IBM backend {key!r} ({reason}).\n{SAVE_ACCOUNT_HELP}")


def is_local(backend) -> bool:
    """True for backends that run in local testing mode (fake backends, Aer)."""
    from qiskit_ibm_runtime.fake_provider.fake_backend import FakeBackendV2

    if isinstance(backend, FakeBackendV2):
        return True
    try:
        from qiskit_aer import AerSimulator
    except ImportError:
        return False
    return isinstance(backend, AerSimulator)


def backend_name(backend) -> str:
    name = getattr(backend, "name", None)
    return name() if callable(name) else str(name or type(backend).__name__)
