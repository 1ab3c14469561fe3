"""One factory for the IBM primitives, with every mitigation option set explicitly.

qiskit-ibm-runtime 0.50 added client-side (executor-based) ``Sampler``/``Estimator``
(``qiskit_ibm_runtime.executor_sampler`` / ``executor_estimator``) and deprecated
``SamplerV2``/``EstimatorV2``; 0.45-0.49 have only the V2 ones. The two families pick
different mitigation at their defaults (and the V2 ones ignore mitigation in local
testing mode), so the options are always written out rather than left to either.
"""

from __future__ import annotations

import warnings
from dataclasses import dataclass

__all__ = ["PrimitiveOptions", "make_primitive", "primitive_family", "twirling_for"]


@dataclass(frozen=True)
class PrimitiveOptions:
    """What :func:`make_primitive` sets on a primitive.

    Attributes:
        shots: shots per circuit (sampler) or per observable group (estimator).
        resilience_level: estimator only: 0 none, 1 readout mitigation (TREX), 2 + ZNE.
        twirl_gates: Pauli twirling of two-qubit gate layers.
        twirl_measure: twirling of measurements (readout mitigation needs it).
        dynamical_decoupling: XX sequences in idle periods.
        seed: simulator seed in local testing mode (ignored by hardware).
        tags: job tags.
    """

    shots: int = 4096
    resilience_level: int = 0
    twirl_gates: bool = False
    twirl_measure: bool = False
    dynamical_decoupling: bool = False
    seed: int | None = None
    tags: tuple[str, ...] = ()


def twirling_for(resilience_level: int, twirling: bool | None) -> tuple[bool, bool]:
    """(gates, measurements) to twirl. ``None`` follows the resilience level, written
    out: measurements from level 1 (TREX readout mitigation needs them), gates from
    level 2 (as both primitive families do); True or False sets both."""
    if twirling is None:
        return resilience_level >= 2, resilience_level >= 1
    if not twirling and resilience_level >= 1:
        raise ValueError(
            f"resilience_level {resilience_level} mitigates readout errors by twirling "
            "measurements: leave twirling=None (or True)"
        )
    return bool(twirling), bool(twirling)


def primitive_family() -> str:
    """``executor`` where the installed runtime has the client-side primitives, else ``v2``."""
    try:
        import qiskit_ibm_runtime.executor_estimator  # noqa: F401
        import qiskit_ibm_runtime.executor_sampler  # noqa: F401
    except ImportError:
        return "v2"
    return "executor"


def make_primitive(kind: str, mode, options: PrimitiveOptions, *, local: bool):
    """A sampler (``kind="sampler"``) or estimator on ``mode`` (a backend, ``Batch`` or
    ``Session``) with ``options`` set; returns ``(primitive, family)``."""
    if kind not in ("sampler", "estimator"):
        raise ValueError(f"kind must be 'sampler' or 'estimator', got {kind!r}")
    family = primitive_family()
    if family == "executor":
        if kind == "sampler":
            from qiskit_ibm_runtime.executor_sampler import Sampler as cls
        else:
            from qiskit_ibm_runtime.executor_estimator import Estimator as cls
        primitive = cls(mode=mode)
    else:
        import qiskit_ibm_runtime as runtime

        cls = runtime.SamplerV2 if kind == "sampler" else runtime.EstimatorV2
        with warnings.catch_warnings():
            warnings.simplefilter("ignore", DeprecationWarning)
            primitive = cls(mode=mode)
    opts = primitive.options
    opts.default_shots = options.shots
    if kind == "estimator":
        opts.resilience_level = options.resilience_level
    opts.twirling.enable_gates = options.twirl_gates
    opts.twirling.enable_measure = options.twirl_measure
    opts.dynamical_decoupling.enable = options.dynamical_decoupling
    opts.environment.job_tags = list(options.tags)
    if local and options.seed is not None:
        opts.simulator.seed_simulator = options.seed
    return primitive, family
