"""Kernel operations written once over an array namespace ``xp`` (NumPy or CuPy).

They are the GPU's implementation of the operations it has no ``RawKernel`` for, and,
run on NumPy, the reference twins the compiled CPU kernels are tested against. The
index layouts (``kq_layout``, ``pauli_layout``) are shared by every implementation.
"""

from __future__ import annotations

import functools

import numpy as np

__all__ = ["kq_layout", "pauli_layout", "grouped_expvals", "run_ptm"]


@functools.lru_cache(maxsize=1024)
def kq_layout(qubits: tuple[int, ...]) -> tuple[np.ndarray, np.ndarray]:
    """Sorted qubits and the index offset of each local index (bit k -> qubits[k])."""
    d = 1 << len(qubits)
    offsets = np.zeros(d, dtype=np.int64)
    for local in range(d):
        for k, q in enumerate(qubits):
            if (local >> k) & 1:
                offsets[local] |= 1 << q
    return np.array(sorted(qubits), dtype=np.int64), offsets


@functools.lru_cache(maxsize=1024)
def pauli_layout(qubits: tuple[int, ...], n: int):
    """Row and column qubits of a channel on ``qubits`` of density matrices stored as
    2n-qubit states, and the offsets of each local X mask in rows and columns."""
    rows = np.array(qubits, dtype=np.int64)
    cols = rows + n
    g = 1 << len(qubits)
    row_off = np.array([sum(1 << q for a, q in enumerate(qubits) if (x >> a) & 1)
                        for x in range(g)], dtype=np.int64)  # fmt: skip
    return rows, cols, row_off, row_off << n


@functools.lru_cache(maxsize=1024)
def _groups(bits: tuple[int, ...], num_bits: int) -> np.ndarray:
    """(2**num_bits / 2**k, 2**k) indices: row g holds the entries that differ only in
    ``bits``, column l the one whose bit ``bits[j]`` is bit j of l."""
    _, offsets = kq_layout(bits)
    rest = [b for b in range(num_bits) if b not in bits]
    base = np.zeros(1 << len(rest), dtype=np.int64)
    for j, b in enumerate(rest):
        base |= ((np.arange(1 << len(rest)) >> j) & 1) << b
    return base[:, None] | offsets[None, :]


def grouped_expvals(xp, state, gxs, diagonals):
    """sum_x sum_j conj(s[j ^ x]) D_x[j] s[j] per row of ``state`` (``grouped_diagonals``'
    form), accumulated in complex128."""
    batch, dim = state.shape
    j = xp.arange(dim, dtype=xp.int64)
    total = xp.zeros(batch, dtype=xp.complex128)
    here = state.astype(xp.complex128)
    for x, diagonal in zip(np.asarray(gxs).tolist(), diagonals):
        there = here[:, j ^ x]
        total += (there.conj() * xp.asarray(diagonal) * here).sum(axis=1)
    return total


# the Pauli-transfer op kinds (``simulators._ptm``); the Numba kernels of
# ``simulators._cpu_ptm`` take them from here
U1, U1_UNITAL, CX, MONO2, DENSE2 = range(5)
# CNOT on local index x_c + 2 x_t + 4 z_c + 8 z_t: entry l receives the one with x_t ^= x_c
# and z_c ^= z_t (see ``_cpu_ptm._cx``)
_CX_SOURCE = np.array(
    [(l ^ ((l & 1) << 1)) ^ (((l >> 3) & 1) << 2) for l in range(16)], dtype=np.int64
)


def run_ptm(xp, state, n: int, program, entries) -> None:
    """``simulators._cpu_ptm.run_ptm`` on any array namespace: start every row of
    ``state`` ((batch, 4**n), real) at |0...0> and run the Pauli-transfer program."""
    batch = state.shape[0]
    state[...] = 0
    state[:, xp.asarray(np.arange(1 << n, dtype=np.int64) << n)] = 1
    kinds = program.kinds.tolist()
    qubits = program.qubits.tolist()
    offsets = program.offsets.tolist()
    for g, kind in enumerate(kinds):
        o = offsets[g]
        if kind in (U1, U1_UNITAL):
            q = qubits[g][0]
            bits, d = (q, q + n), 4
        else:
            a, b = qubits[g]
            bits, d = (a, b, a + n, b + n), 16
        idx = xp.asarray(_groups(bits, 2 * n))
        block = state[:, idx]  # (batch, groups, d)
        if kind in (U1, U1_UNITAL, DENSE2):
            m = entries[:, o : o + d * d].reshape(-1, d, d)
            if kind == U1_UNITAL:  # I -> I only: the kernel reads no other entry of row 0
                m = m.copy()
                m[:, 0, :] = 0
                m[:, 0, 0] = 1
                m[:, 1:, 0] = 0
            new = xp.einsum("bgk,blk->bgl", block, xp.broadcast_to(m, (batch, d, d)))
        else:
            vals = entries[:, o : o + 16]
            if kind == CX:  # the kernel leaves the identity entry as it is
                vals = vals.copy()
                vals[:, 0] = 1
                source = _CX_SOURCE
            else:
                source = program.perms[g]
            new = block[:, :, xp.asarray(source)] * vals[:, None, :]
        state[:, idx] = new
