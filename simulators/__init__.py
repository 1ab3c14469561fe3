"""Simulators behind one API: ``get_simulator(kind, device, precision, noise)``.

Kinds (``SIMULATORS``): ``statevector`` (``statevector.py``), ``density_matrix``
(``density_matrix.py``, with a ``noise.NoiseModel``), ``stabilizer`` and ``auto``
(``stabilizer.py``: Stim for Clifford circuits; ``engine="frames"`` is the Pauli-frame
sampler of ``frames.py``), ``aer`` (``aer.py``: qiskit-aer).
Integrations: ``pennylane.py`` (the ``qworkbench.statevector`` device) and ``qiskit.py``
(``SamplerV2``/``EstimatorV2``); ``fusion.py`` fuses gates; ``noise.py`` holds channels,
noise models and ``NoiseModel.parse`` (the CLI's noise strings).

Private modules, from the bottom: the kernel Protocol ``_kernels.Kernels`` with its
implementations ``_cpu_kernels.CpuKernels`` (Numba kernels in ``_cpu.py`` and
``_cpu_ptm.py``) and ``_gpu.GpuKernels`` (CuPy), and ``_generic.py`` (operations over
any array namespace); plans and programs (``_plan.py``, ``_program.py``,
``_matrices.py``, ``_ptm.py``); the algorithms above them (``_adjoint.py``,
``_shift.py``, ``_shots.py``); and ``_common.py``, the checks and observable/shot
helpers every simulator shares.

>>> from simulators import get_simulator
>>> sim = get_simulator("statevector", device="cpu")
"""

from __future__ import annotations

from simulators._kernels import CpuKernels, Kernels, get_kernels
from simulators.statevector import StatevectorSimulator

__all__ = [
    "get_simulator",
    "available",
    "StatevectorSimulator",
    "SIMULATORS",
    "Kernels",
    "CpuKernels",
    "get_kernels",
]


def _aer(**options):
    from simulators.aer import AerStatevectorSimulator

    return AerStatevectorSimulator(**options)


def _density_matrix(**options):
    from simulators.density_matrix import DensityMatrixSimulator

    return DensityMatrixSimulator(**options)


def _stabilizer(engine: str = "stim", **options):
    if engine == "frames":  # our Pauli-frame sampler (simulators/frames.py)
        from simulators.frames import FrameSimulator

        return FrameSimulator(**options)
    if engine != "stim":
        raise ValueError(f"stabilizer engine must be 'stim' or 'frames', got {engine!r}")
    from simulators.stabilizer import StabilizerSimulator

    return StabilizerSimulator(**options)


def _auto(**options):
    from simulators.stabilizer import AutoSimulator

    return AutoSimulator(**options)


#: name -> factory(device=..., precision=..., noise=..., **options)
SIMULATORS = {
    "statevector": StatevectorSimulator,
    "density_matrix": _density_matrix,
    "stabilizer": _stabilizer,
    "auto": _auto,
    "aer": _aer,
}
_TAKES_NOISE = {"density_matrix", "stabilizer", "auto"}


def available() -> list[str]:
    """Names accepted by :func:`get_simulator`."""
    return sorted(SIMULATORS)


def get_simulator(
    kind: str = "statevector",
    device: str = "auto",
    precision: str = "double",
    noise=None,
    **options,
):
    """A simulator of ``kind`` (see :func:`available`) on ``device`` at ``precision``."""
    if kind not in SIMULATORS:
        raise ValueError(f"unknown simulator kind {kind!r}; available: {available()}")
    if kind in _TAKES_NOISE:
        options["noise"] = noise
    elif noise is not None:
        raise ValueError(f"simulator kind {kind!r} takes no noise model; use 'density_matrix'")
    return SIMULATORS[kind](device=device, precision=precision, **options)
