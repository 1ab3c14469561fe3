"""Gate matrices for a batch of angles, and embedding into a fused block's qubits."""

from __future__ import annotations

import functools

import numpy as np

from qworkbench.circuit import GATES

__all__ = ["batched_matrix", "is_diagonal_gate", "embed", "embed_diagonal", "CONTROLLED_TARGET"]

# gates whose matrix is diagonal at every angle
_DIAGONAL = frozenset({"id", "z", "s", "sdg", "t", "tdg", "rz", "p", "cz", "crz", "rzz"})
# controlled gates (control = first qubit): name -> the gate on the target
CONTROLLED_TARGET = {"cx": "x", "cy": "y", "cz": "z", "crx": "rx", "cry": "ry", "crz": "rz"}


def is_diagonal_gate(name: str) -> bool:
    return name in _DIAGONAL


@functools.lru_cache(maxsize=64)
def _spectrum(name: str) -> tuple[np.ndarray, np.ndarray]:
    """Distinct eigenvalues g of a one-parameter gate's generator and the flattened
    projectors onto their eigenspaces, so U(theta) = sum_g exp(-i theta g) P_g exactly.

    The projectors' real and imaginary parts are snapped to the nearest multiple of 1/4
    where eigh's rounding left them within 1e-12 of one (every Pauli generator's
    projectors are such), so RY comes out exactly real and RX's entries exactly real or
    imaginary: the CPU kernels skip the zero parts (``simulators._cpu_blocked``)."""
    values, vectors = np.linalg.eigh(GATES[name].generator)
    distinct = np.unique(np.round(values, 12))
    projectors = []
    for g in distinct:
        cols = vectors[:, np.isclose(values, g, atol=1e-9)]
        projectors.append((cols @ cols.conj().T).ravel())
    projectors = np.array(projectors)
    return distinct, _snap_quarters(projectors.real) + 1j * _snap_quarters(projectors.imag)


def _snap_quarters(x: np.ndarray) -> np.ndarray:
    nearest = np.round(4 * x) / 4
    return np.where(np.abs(x - nearest) < 1e-12, nearest, x)


def batched_matrix(name: str, angles: np.ndarray) -> np.ndarray:
    """Matrices of gate ``name`` for ``angles`` of shape (..., num_params): (..., d, d).

    One-parameter gates share one exact formula from their generator's spectrum;
    the leading axes (batch, gates of this kind, ...) are vectorised.
    """
    spec = GATES[name]
    d = 1 << spec.num_qubits
    if spec.num_params == 0:
        return spec.matrix()[None]
    angles = np.asarray(angles, dtype=np.float64)
    lead = angles.shape[:-1]
    if spec.num_params == 1:
        values, projectors = _spectrum(name)
        phases = np.exp(-1j * angles * values)  # (..., distinct) by broadcasting the last axis
        return (phases @ projectors).reshape(*lead, d, d)
    theta, phi, lam = np.moveaxis(angles, -1, 0)  # "u"
    c, s = np.cos(theta / 2), np.sin(theta / 2)
    out = np.empty((*lead, 2, 2), dtype=np.complex128)
    out[..., 0, 0] = c
    out[..., 0, 1] = -np.exp(1j * lam) * s
    out[..., 1, 0] = np.exp(1j * phi) * s
    out[..., 1, 1] = np.exp(1j * (phi + lam)) * c
    return out


@functools.lru_cache(maxsize=4096)
def _embedding(positions: tuple[int, ...], k: int):
    """Index arrays placing a gate on block-local bits ``positions`` of a k-qubit block."""
    d = 1 << k
    local = np.arange(d)
    sub = np.zeros(d, dtype=np.int64)
    for g, pos in enumerate(positions):
        sub |= ((local >> pos) & 1) << g
    gate_mask = sum(1 << p for p in positions)
    rest = local & ~gate_mask
    same_rest = rest[:, None] == rest[None, :]
    return sub, same_rest


def embed(mats: np.ndarray, positions: tuple[int, ...], k: int) -> np.ndarray:
    """(batch, dg, dg) gate matrices on block bits ``positions`` -> (batch, 2**k, 2**k)."""
    if len(positions) == k and positions == tuple(range(k)):
        return mats
    sub, same_rest = _embedding(positions, k)
    return mats[:, sub[:, None], sub[None, :]] * same_rest


def embed_diagonal(diags: np.ndarray, positions: tuple[int, ...], k: int) -> np.ndarray:
    """(batch, dg) gate diagonals on block bits ``positions`` -> (batch, 2**k)."""
    sub, _ = _embedding(positions, k)
    return diags[:, sub]
