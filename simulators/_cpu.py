"""Numba-compiled CPU kernels behind the kernel interface (see ``_kernels.py``).

Every kernel works in place on a C-contiguous state of shape (batch, 2**n) and
is parallel over ``prange``. Matrices come as (batch_m, d, d) with batch_m 1
(shared by every state) or batch. Bit ``k`` of a matrix index is ``qubits[k]``.
Compiled on first use per dtype and cached on disk (``cache=True``).
"""

from __future__ import annotations

import numba
import numpy as np
from numba import njit, prange

_OPTS = {"parallel": True, "cache": True, "fastmath": False, "nogil": True}


@njit(inline="always")
def _insert_zero(i, bit):
    """``i`` with a 0 bit inserted at position ``bit``."""
    low = i & ((1 << bit) - 1)
    return ((i >> bit) << (bit + 1)) | low


@njit(inline="always")
def _parity(v):
    v ^= v >> 32
    v ^= v >> 16
    v ^= v >> 8
    v ^= v >> 4
    v ^= v >> 2
    v ^= v >> 1
    return v & 1


@njit(**_OPTS)
def apply_1q(state, q, mats):
    batch, dim = state.shape
    half = dim >> 1
    shared = mats.shape[0] == 1
    stride = 1 << q
    for t in prange(batch * half):
        b = t // half
        i0 = _insert_zero(t - b * half, q)
        i1 = i0 | stride
        m = mats[0] if shared else mats[b]
        a0 = state[b, i0]
        a1 = state[b, i1]
        state[b, i0] = m[0, 0] * a0 + m[0, 1] * a1
        state[b, i1] = m[1, 0] * a0 + m[1, 1] * a1


@njit(**_OPTS)
def apply_2q(state, q0, q1, mats):
    batch, dim = state.shape
    quarter = dim >> 2
    shared = mats.shape[0] == 1
    lo, hi = min(q0, q1), max(q0, q1)
    s0, s1 = 1 << q0, 1 << q1
    for t in prange(batch * quarter):
        b = t // quarter
        i = _insert_zero(_insert_zero(t - b * quarter, lo), hi)
        m = mats[0] if shared else mats[b]
        a0 = state[b, i]
        a1 = state[b, i | s0]
        a2 = state[b, i | s1]
        a3 = state[b, i | s0 | s1]
        state[b, i] = m[0, 0] * a0 + m[0, 1] * a1 + m[0, 2] * a2 + m[0, 3] * a3
        state[b, i | s0] = m[1, 0] * a0 + m[1, 1] * a1 + m[1, 2] * a2 + m[1, 3] * a3
        state[b, i | s1] = m[2, 0] * a0 + m[2, 1] * a1 + m[2, 2] * a2 + m[2, 3] * a3
        state[b, i | s0 | s1] = m[3, 0] * a0 + m[3, 1] * a1 + m[3, 2] * a2 + m[3, 3] * a3


_CHUNK = 256  # outer indices per work item of the k-qubit kernel (one scratch buffer each)


@njit(**_OPTS)
def apply_kq(state, sorted_qubits, offsets, mats):
    """Dense 2**k x 2**k matrix; ``offsets[l]`` is the index offset of local index l."""
    batch, dim = state.shape
    k = sorted_qubits.shape[0]
    d = offsets.shape[0]
    outer = dim >> k
    chunks = (outer + _CHUNK - 1) // _CHUNK
    shared = mats.shape[0] == 1
    for w in prange(batch * chunks):
        b = w // chunks
        start = (w - b * chunks) * _CHUNK
        stop = min(start + _CHUNK, outer)
        m = mats[0] if shared else mats[b]
        buf = np.empty(d, dtype=state.dtype)
        for t in range(start, stop):
            i = t
            for j in range(k):
                i = _insert_zero(i, sorted_qubits[j])
            for l in range(d):
                buf[l] = state[b, i | offsets[l]]
            for l in range(d):
                acc = m[l, 0] * buf[0]
                for c in range(1, d):
                    acc += m[l, c] * buf[c]
                state[b, i | offsets[l]] = acc


@njit(**_OPTS)
def apply_controlled_1q(state, control, target, mats):
    """2x2 ``mats`` on ``target`` where ``control`` is 1."""
    batch, dim = state.shape
    quarter = dim >> 2
    shared = mats.shape[0] == 1
    lo, hi = min(control, target), max(control, target)
    sc, st = 1 << control, 1 << target
    for t in prange(batch * quarter):
        b = t // quarter
        i0 = _insert_zero(_insert_zero(t - b * quarter, lo), hi) | sc
        i1 = i0 | st
        m = mats[0] if shared else mats[b]
        a0 = state[b, i0]
        a1 = state[b, i1]
        state[b, i0] = m[0, 0] * a0 + m[0, 1] * a1
        state[b, i1] = m[1, 0] * a0 + m[1, 1] * a1


@njit(**_OPTS)
def apply_diagonal(state, qubits, diags):
    """Multiply by a diagonal on ``qubits`` (bit k of the diagonal index is qubits[k])."""
    batch, dim = state.shape
    k = qubits.shape[0]
    shared = diags.shape[0] == 1
    for t in prange(batch * dim):
        b = t // dim
        j = t - b * dim
        local = 0
        for a in range(k):
            local |= ((j >> qubits[a]) & 1) << a
        state[b, j] *= diags[0, local] if shared else diags[b, local]


@njit(**_OPTS)
def apply_x(state, q):
    batch, dim = state.shape
    half = dim >> 1
    stride = 1 << q
    for t in prange(batch * half):
        b = t // half
        i0 = _insert_zero(t - b * half, q)
        tmp = state[b, i0]
        state[b, i0] = state[b, i0 | stride]
        state[b, i0 | stride] = tmp


@njit(**_OPTS)
def apply_cx(state, control, target):
    batch, dim = state.shape
    quarter = dim >> 2
    lo, hi = min(control, target), max(control, target)
    sc, st = 1 << control, 1 << target
    for t in prange(batch * quarter):
        b = t // quarter
        i0 = _insert_zero(_insert_zero(t - b * quarter, lo), hi) | sc
        tmp = state[b, i0]
        state[b, i0] = state[b, i0 | st]
        state[b, i0 | st] = tmp


@njit(**_OPTS)
def apply_swap(state, q0, q1):
    batch, dim = state.shape
    quarter = dim >> 2
    lo, hi = min(q0, q1), max(q0, q1)
    s0, s1 = 1 << q0, 1 << q1
    for t in prange(batch * quarter):
        b = t // quarter
        i = _insert_zero(_insert_zero(t - b * quarter, lo), hi)
        tmp = state[b, i | s0]
        state[b, i | s0] = state[b, i | s1]
        state[b, i | s1] = tmp


_RCHUNK = 1 << 12  # amplitudes per partial sum of the reductions


@njit(**_OPTS)
def pauli_expvals(state, xs, zs, coeffs):
    """sum_k coeffs[k] <psi|P_k|psi> per state, with coeffs[k] already times i^{|x&z|}.

    <psi|P|psi> = sum_j conj(psi[j ^ x]) (-1)^{|z & j|} psi[j].
    """
    batch, dim = state.shape
    terms = xs.shape[0]
    chunks = (dim + _RCHUNK - 1) // _RCHUNK
    partial = np.zeros((batch, chunks), dtype=np.complex128)
    for w in prange(batch * chunks):
        b = w // chunks
        c = w - b * chunks
        start = c * _RCHUNK
        stop = min(start + _RCHUNK, dim)
        acc = 0j
        for k in range(terms):
            x = xs[k]
            z = zs[k]
            s = 0j
            for j in range(start, stop):
                v = np.conj(state[b, j ^ x]) * state[b, j]
                if _parity(z & j):
                    s -= v
                else:
                    s += v
            acc += coeffs[k] * s
        partial[b, c] = acc
    return partial.sum(axis=1)


@njit(**_OPTS)
def apply_pauli_sum(state, xs, zs, coeffs, out):
    """out = (sum_k coeffs[k] P_k) |state>, coeffs already times i^{|x&z|}."""
    batch, dim = state.shape
    terms = xs.shape[0]
    for t in prange(batch * dim):
        b = t // dim
        j = t - b * dim
        acc = 0j
        for k in range(terms):
            # the term maps |j ^ x> to |j>: coefficient depends on the source index
            src = j ^ xs[k]
            if _parity(zs[k] & src):
                acc -= coeffs[k] * state[b, src]
            else:
                acc += coeffs[k] * state[b, src]
        out[b, j] = acc


@njit(**_OPTS)
def inner(bra, ket):
    """<bra_b|ket_b> per batch row."""
    batch, dim = bra.shape
    chunks = (dim + _RCHUNK - 1) // _RCHUNK
    partial = np.zeros((batch, chunks), dtype=np.complex128)
    for w in prange(batch * chunks):
        b = w // chunks
        c = w - b * chunks
        acc = 0j
        for j in range(c * _RCHUNK, min((c + 1) * _RCHUNK, dim)):
            acc += np.conj(bra[b, j]) * ket[b, j]
        partial[b, c] = acc
    return partial.sum(axis=1)


def num_threads() -> int:
    return numba.get_num_threads()
