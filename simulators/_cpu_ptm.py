"""Numba kernels of the Pauli-transfer engine (``simulators._ptm``).

A density matrix of n qubits is kept as its real Pauli vector r (shape (batch, 4**n)),
r[x + (z << n)] = Tr(P rho) for the Hermitian Pauli P with X part x and Z part z, so
a one-qubit operation on qubit q mixes the four entries that differ in bits q and
q + n, and a two-qubit one the sixteen that differ in bits (a, b, a + n, b + n). The
local index of an entry in its group is x_a + 2 x_b + 4 z_a + 8 z_b (one qubit:
x + 2 z: I, X, Z, Y). Each matrix of the batch runs start to finish on one thread,
in cache, like the statevector's small-circuit engine.

Op kinds (``mats[b, offsets[g]:]`` holds op g's real entries, row 0 of ``mats`` is
shared when it has one row):
    U1: a 4x4 transfer matrix (16 entries, row-major),
    U1_UNITAL: the same with I -> I only (gates and unital channels; 9 products),
    CX: a CNOT (control ``qubits[g, 0]``) followed by any Pauli channel on its qubits:
        16 values, entry l receives ``vals[l]`` times the entry CNOT maps to l,
    MONO2: any signed-permutation 2-qubit transfer matrix (Cliffords with Pauli
        channels): 16 values and ``perms[g]``, entry l receives vals[l] r[perms[g, l]],
    DENSE2: a dense 16x16 transfer matrix (256 entries).
"""

from __future__ import annotations

import numpy as np
from numba import njit, prange

from simulators._cpu import _serial
from simulators._generic import CX, DENSE2, U1, U1_UNITAL

_OPTS = {"parallel": True, "cache": True, "fastmath": False, "nogil": True}


@njit(inline="always")
def _u1(v, q, n, m, o, unital):
    s1 = 1 << q
    s2 = 1 << (q + n)
    dim = v.shape[0]
    m00, m01, m02, m03 = m[o], m[o + 1], m[o + 2], m[o + 3]
    m10, m11, m12, m13 = m[o + 4], m[o + 5], m[o + 6], m[o + 7]
    m20, m21, m22, m23 = m[o + 8], m[o + 9], m[o + 10], m[o + 11]
    m30, m31, m32, m33 = m[o + 12], m[o + 13], m[o + 14], m[o + 15]
    for hi in range(0, dim, 2 * s2):
        for mid in range(hi, hi + s2, 2 * s1):
            if unital:
                for i in range(mid, mid + s1):
                    a1 = v[i + s1]
                    a2 = v[i + s2]
                    a3 = v[i + s1 + s2]
                    v[i + s1] = m11 * a1 + m12 * a2 + m13 * a3
                    v[i + s2] = m21 * a1 + m22 * a2 + m23 * a3
                    v[i + s1 + s2] = m31 * a1 + m32 * a2 + m33 * a3
            else:
                for i in range(mid, mid + s1):
                    a0 = v[i]
                    a1 = v[i + s1]
                    a2 = v[i + s2]
                    a3 = v[i + s1 + s2]
                    v[i] = m00 * a0 + m01 * a1 + m02 * a2 + m03 * a3
                    v[i + s1] = m10 * a0 + m11 * a1 + m12 * a2 + m13 * a3
                    v[i + s2] = m20 * a0 + m21 * a1 + m22 * a2 + m23 * a3
                    v[i + s1 + s2] = m30 * a0 + m31 * a1 + m32 * a2 + m33 * a3


@njit(inline="always")
def _group_base(t, b0, b1, b2, b3):
    """``t`` with zero bits inserted at the sorted positions b0 < b1 < b2 < b3."""
    for b in (b0, b1, b2, b3):
        low = t & ((1 << b) - 1)
        t = ((t >> b) << (b + 1)) | low
    return t


@njit(inline="always")
def _sorted4(a, b, c, d):
    """The four values in increasing order (a sorting network: no array, no allocation)."""
    if a > b:
        a, b = b, a
    if c > d:
        c, d = d, c
    if a > c:
        a, c = c, a
    if b > d:
        b, d = d, b
    if b > c:
        b, c = c, b
    return a, b, c, d


@njit(inline="always")
def _cx(v, c, t, n, m, o):
    """CNOT c -> t maps (x_c, x_t, z_c, z_t) to (x_c, x_t ^ x_c, z_c ^ z_t, z_t): a
    product of disjoint swaps in each group of 16, scaled by the values (signs and the
    channel's factors included)."""
    pc, pt, qc, qt = 1 << c, 1 << t, 1 << (c + n), 1 << (t + n)
    b0, b1, b2, b3 = _sorted4(c, t, c + n, t + n)
    for g in range(v.shape[0] >> 4):
        i = _group_base(g, b0, b1, b2, b3)
        # fixed entries (x_c = z_t = 0): I stays, x_t, z_c, x_t z_c are scaled
        v[i + pt] *= m[o + 2]
        v[i + qc] *= m[o + 4]
        v[i + pt + qc] *= m[o + 6]
        # x_c = 1, z_t = 0: x_t flips
        a = v[i + pc]
        b = v[i + pc + pt]
        v[i + pc] = m[o + 1] * b
        v[i + pc + pt] = m[o + 3] * a
        a = v[i + pc + qc]
        b = v[i + pc + pt + qc]
        v[i + pc + qc] = m[o + 5] * b
        v[i + pc + pt + qc] = m[o + 7] * a
        # x_c = 0, z_t = 1: z_c flips
        a = v[i + qt]
        b = v[i + qt + qc]
        v[i + qt] = m[o + 8] * b
        v[i + qt + qc] = m[o + 12] * a
        a = v[i + qt + pt]
        b = v[i + qt + pt + qc]
        v[i + qt + pt] = m[o + 10] * b
        v[i + qt + pt + qc] = m[o + 14] * a
        # x_c = z_t = 1: both flip
        a = v[i + pc + qt]
        b = v[i + pc + qt + pt + qc]
        v[i + pc + qt] = m[o + 9] * b
        v[i + pc + qt + pt + qc] = m[o + 15] * a
        a = v[i + pc + qt + pt]
        b = v[i + pc + qt + qc]
        v[i + pc + qt + pt] = m[o + 11] * b
        v[i + pc + qt + qc] = m[o + 13] * a


@njit(inline="always")
def _offsets16(a, b, n):
    offs = np.zeros(16, dtype=np.int64)
    bits = (a, b, a + n, b + n)
    for l in range(16):
        for j in range(4):
            if (l >> j) & 1:
                offs[l] |= 1 << bits[j]
    return offs


@njit(inline="always")
def _two(v, a, b, n, m, o, perm, dense):
    offs = _offsets16(a, b, n)
    b0, b1, b2, b3 = _sorted4(a, b, a + n, b + n)
    buf = np.empty(16, dtype=v.dtype)
    for g in range(v.shape[0] >> 4):
        i = _group_base(g, b0, b1, b2, b3)
        for l in range(16):
            buf[l] = v[i + offs[l]]
        if dense:
            for l in range(16):
                acc = m[o + 16 * l] * buf[0]
                for k in range(1, 16):
                    acc += m[o + 16 * l + k] * buf[k]
                v[i + offs[l]] = acc
        else:
            for l in range(16):
                v[i + offs[l]] = m[o + l] * buf[perm[l]]


@njit(**_OPTS)
def run_ptm(state, n, kinds, qubits, offsets, perms, mats):
    """Start every row of ``state`` (uninitialised, (batch, 4**n)) at |0...0> and run
    the program on it."""
    batch = state.shape[0]
    shared = mats.shape[0] == 1
    for b in prange(batch):
        v = state[b]
        # |0...0><0...0| (r_P = 1 for P of I and Z), written here so that each thread
        # first touches its own matrix in its own cache
        for i in range(v.shape[0]):
            v[i] = 0
        for z in range(1 << n):
            v[z << n] = 1
        m = mats[0] if shared else mats[b]
        for g in range(kinds.shape[0]):
            kind = kinds[g]
            o = offsets[g]
            if kind == U1:
                _u1(v, qubits[g, 0], n, m, o, False)
            elif kind == U1_UNITAL:
                _u1(v, qubits[g, 0], n, m, o, True)
            elif kind == CX:
                _cx(v, qubits[g, 0], qubits[g, 1], n, m, o)
            else:
                _two(v, qubits[g, 0], qubits[g, 1], n, m, o, perms[g], kind == DENSE2)


run_ptm_serial = _serial(run_ptm, _OPTS)  # for small states: no thread pool to wake
