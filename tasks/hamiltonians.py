"""Hamiltonians: spin chains and molecules (PySCF integrals, OpenFermion mappings).

Spin models are built directly as :class:`~qworkbench.PauliSum` objects; labels
follow the workbench convention (qubit 0 rightmost).
"""

from __future__ import annotations

import numbers

from qworkbench import PauliSum

__all__ = ["tfim", "heisenberg", "xxz"]


def _check_chain(n, periodic) -> int:
    if isinstance(n, bool) or not isinstance(n, numbers.Integral):
        raise TypeError(f"n must be an integer number of sites, got {n!r}")
    if n < 2:
        raise ValueError(f"a spin chain needs at least 2 sites, got n={n}")
    if periodic and n < 3:
        raise ValueError(f"a periodic chain needs at least 3 sites, got n={n}")
    return int(n)


def _check_real(value, name: str) -> float:
    if isinstance(value, bool) or not isinstance(value, numbers.Real):
        raise TypeError(f"{name} must be a real number, got {value!r}")
    value = float(value)
    if value != value or value in (float("inf"), float("-inf")):
        raise ValueError(f"{name} must be finite, got {value!r}")
    return value


def _bonds(n: int, periodic: bool) -> list[tuple[int, int]]:
    bonds = [(i, i + 1) for i in range(n - 1)]
    return bonds + [(n - 1, 0)] if periodic else bonds


def tfim(n: int, J: float = 1.0, h: float = 1.0, periodic: bool = False) -> PauliSum:
    """Transverse-field Ising chain H = -J sum Z_i Z_{i+1} - h sum X_i.

    Examples:
        >>> tfim(2).to_list()
        [('ZZ', (-1+0j)), ('IX', (-1+0j)), ('XI', (-1+0j))]
    """
    n = _check_chain(n, periodic)
    J, h = _check_real(J, "J"), _check_real(h, "h")
    terms = [("ZZ", (i, j), -J) for i, j in _bonds(n, periodic)]
    terms += [("X", (i,), -h) for i in range(n)]
    return PauliSum.from_sparse_list(terms, n)


def xxz(n: int, J: float = 1.0, delta: float = 1.0, periodic: bool = False) -> PauliSum:
    """XXZ chain H = J sum (X_i X_{i+1} + Y_i Y_{i+1} + delta Z_i Z_{i+1}).

    Examples:
        >>> len(xxz(4, delta=0.5)), xxz(3, periodic=True).num_qubits
        (9, 3)
    """
    n = _check_chain(n, periodic)
    J, delta = _check_real(J, "J"), _check_real(delta, "delta")
    terms = []
    for i, j in _bonds(n, periodic):
        terms += [("XX", (i, j), J), ("YY", (i, j), J), ("ZZ", (i, j), J * delta)]
    return PauliSum.from_sparse_list(terms, n)


def heisenberg(n: int, J: float = 1.0, periodic: bool = False) -> PauliSum:
    """Heisenberg (XXX) chain H = J sum (X X + Y Y + Z Z) over neighbouring sites.

    Examples:
        >>> import numpy as np
        >>> round(float(np.linalg.eigvalsh(heisenberg(2).to_matrix())[0]), 10)
        -3.0
    """
    return xxz(n, J=J, delta=1.0, periodic=periodic)
