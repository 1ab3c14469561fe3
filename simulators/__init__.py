"""Simulators: statevector (CPU Numba / GPU CuPy) and qiskit-aer behind one API.

>>> from simulators import get_simulator
>>> sim = get_simulator("statevector", device="cpu")
"""

from __future__ import annotations

from simulators.statevector import StatevectorSimulator

__all__ = ["get_simulator", "available", "StatevectorSimulator", "SIMULATORS"]


def _aer(**options):
    from simulators.aer import AerStatevectorSimulator

    return AerStatevectorSimulator(**options)


#: name -> factory(device=..., precision=..., **options)
SIMULATORS = {
    "statevector": StatevectorSimulator,
    "aer": _aer,
}


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
    if noise is not None:
        raise ValueError(
            f"simulator kind {kind!r} does not take a noise model (density_matrix arrives "
            "with the noise issue)"
        )
    return SIMULATORS[kind](device=device, precision=precision, **options)
