"""Numba-compiled CPU kernels behind the kernel interface (see ``_kernels.py``).

Every kernel works in place on a C-contiguous state of shape (batch, 2**n) and
is parallel over ``prange``. Matrices come as (batch_m, d, d) with batch_m 1
(shared by every state) or batch. Bit ``k`` of a matrix index is ``qubits[k]``.
Compiled on first use per dtype and cached on disk (``cache=True``).
"""

from __future__ import annotations

import types

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


@njit(inline="always")
def _deinterleave(chunk, s, a0, a1):
    """Split a contiguous chunk into the amplitudes with bit log2(s) clear / set."""
    for blk in range(a0.shape[0] // s):
        for i in range(s):
            a0[blk * s + i] = chunk[2 * blk * s + i]
            a1[blk * s + i] = chunk[2 * blk * s + s + i]


@njit(inline="always")
def _interleave(chunk, s, a0, a1):
    for blk in range(a0.shape[0] // s):
        for i in range(s):
            chunk[2 * blk * s + i] = a0[blk * s + i]
            chunk[2 * blk * s + s + i] = a1[blk * s + i]


@njit(inline="always")
def _mix2(m, a0, a1):
    """(a0, a1) <- m (a0, a1) elementwise, in place (vectorisable loop)."""
    m00, m01, m10, m11 = m[0, 0], m[0, 1], m[1, 0], m[1, 1]
    for i in range(a0.shape[0]):
        x0 = a0[i]
        x1 = a1[i]
        a0[i] = m00 * x0 + m01 * x1
        a1[i] = m10 * x0 + m11 * x1


@njit(inline="always")
def _mix2_into(m, a0, a1, out0, out1):
    """out = m (a0, a1) elementwise; the inputs are private copies, so no aliasing."""
    m00, m01, m10, m11 = m[0, 0], m[0, 1], m[1, 0], m[1, 1]
    for i in range(a0.shape[0]):
        out0[i] = m00 * a0[i] + m01 * a1[i]
    for i in range(a0.shape[0]):
        out1[i] = m10 * a0[i] + m11 * a1[i]


@njit(inline="always")
def _mix4_into(m, a0, a1, a2, a3, o0, o1, o2, o3):
    for r, out in enumerate((o0, o1, o2, o3)):
        c0, c1, c2, c3 = m[r, 0], m[r, 1], m[r, 2], m[r, 3]
        for i in range(a0.shape[0]):
            out[i] = c0 * a0[i] + c1 * a1[i] + c2 * a2[i] + c3 * a3[i]


@njit(inline="always")
def _mix4(m, a0, a1, a2, a3):
    for i in range(a0.shape[0]):
        x0 = a0[i]
        x1 = a1[i]
        x2 = a2[i]
        x3 = a3[i]
        a0[i] = m[0, 0] * x0 + m[0, 1] * x1 + m[0, 2] * x2 + m[0, 3] * x3
        a1[i] = m[1, 0] * x0 + m[1, 1] * x1 + m[1, 2] * x2 + m[1, 3] * x3
        a2[i] = m[2, 0] * x0 + m[2, 1] * x1 + m[2, 2] * x2 + m[2, 3] * x3
        a3[i] = m[3, 0] * x0 + m[3, 1] * x1 + m[3, 2] * x2 + m[3, 3] * x3


_RUN = 1024  # contiguous amplitudes per work item of the blocked kernels
_BLOCKED_MIN_STRIDE = 32  # below this the pairs interleave too finely for blocked loops


@njit(**_OPTS)
def apply_1q(state, q, mats):
    """2x2 ``mats`` on qubit ``q``.

    For strides >= 32 each work item copies two contiguous runs of amplitudes into
    scratch buffers and writes back from them: the loops then have no aliasing and
    LLVM vectorises them (about 2-4x over the indexed loop, at the memory ceiling
    for 24+ qubits). Smaller strides use the indexed loop.
    """
    batch, dim = state.shape
    half = dim >> 1
    shared = mats.shape[0] == 1
    stride = 1 << q
    if stride >= _BLOCKED_MIN_STRIDE:
        run = min(stride, _RUN)
        items = half // run
        for w in prange(batch * items):
            b = w // items
            m = mats[0] if shared else mats[b]
            i0 = _insert_zero((w - b * items) * run, q)
            out0 = state[b, i0 : i0 + run]
            out1 = state[b, i0 + stride : i0 + stride + run]
            _mix2_into(m, out0.copy(), out1.copy(), out0, out1)
        return
    if half >= _RUN and stride >= 2:
        items = half // _RUN
        for w in prange(batch * items):
            b = w // items
            m = mats[0] if shared else mats[b]
            chunk = state[b, (w - b * items) * 2 * _RUN : (w - b * items + 1) * 2 * _RUN]
            a0 = np.empty(_RUN, dtype=state.dtype)
            a1 = np.empty(_RUN, dtype=state.dtype)
            _deinterleave(chunk, stride, a0, a1)
            _mix2(m, a0, a1)
            _interleave(chunk, stride, a0, a1)
        return
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
    """4x4 ``mats`` on (q0, q1) (bit 0 of the matrix index is q0); blocked as apply_1q
    when the lower qubit's stride allows."""
    batch, dim = state.shape
    quarter = dim >> 2
    shared = mats.shape[0] == 1
    lo, hi = min(q0, q1), max(q0, q1)
    s0, s1 = 1 << q0, 1 << q1
    if (1 << lo) >= _BLOCKED_MIN_STRIDE:
        run = min(1 << lo, _RUN)
        items = quarter // run
        for w in prange(batch * items):
            b = w // items
            m = mats[0] if shared else mats[b]
            i = _insert_zero(_insert_zero((w - b * items) * run, lo), hi)
            o0 = state[b, i : i + run]
            o1 = state[b, i + s0 : i + s0 + run]
            o2 = state[b, i + s1 : i + s1 + run]
            o3 = state[b, i + s0 + s1 : i + s0 + s1 + run]
            # o1 has q0 set (matrix index 1), o2 has q1 set (index 2)
            _mix4_into(m, o0.copy(), o1.copy(), o2.copy(), o3.copy(), o0, o1, o2, o3)
        return
    if (1 << hi) >= 2 * _RUN:
        # chunks of 2*_RUN amplitudes below the hi bit, deinterleaved on the lo bit
        items = quarter // _RUN
        sl, sh = 1 << lo, 1 << hi
        for w in prange(batch * items):
            b = w // items
            m = mats[0] if shared else mats[b]
            i = _insert_zero((w - b * items) * 2 * _RUN, hi)
            low = state[b, i : i + 2 * _RUN]
            high = state[b, i + sh : i + sh + 2 * _RUN]
            a0 = np.empty(_RUN, dtype=state.dtype)
            a1 = np.empty(_RUN, dtype=state.dtype)
            a2 = np.empty(_RUN, dtype=state.dtype)
            a3 = np.empty(_RUN, dtype=state.dtype)
            _deinterleave(low, sl, a0, a1)
            _deinterleave(high, sl, a2, a3)
            if q0 == lo:  # matrix bit 0 is the lo qubit
                _mix4(m, a0, a1, a2, a3)
            else:
                _mix4(m, a0, a2, a1, a3)
            _interleave(low, sl, a0, a1)
            _interleave(high, sl, a2, a3)
        return
    if quarter >= _RUN:
        # both qubits below bit 11: each chunk of 4*_RUN amplitudes holds whole groups;
        # gather them through one table of local base indices, mix, scatter back
        table = np.empty(_RUN, dtype=np.int64)
        for t in range(_RUN):
            table[t] = _insert_zero(_insert_zero(t, lo), hi)
        items = quarter // _RUN
        for w in prange(batch * items):
            b = w // items
            m = mats[0] if shared else mats[b]
            start = (w - b * items) * 4 * _RUN
            chunk = state[b, start : start + 4 * _RUN]
            a0 = np.empty(_RUN, dtype=state.dtype)
            a1 = np.empty(_RUN, dtype=state.dtype)
            a2 = np.empty(_RUN, dtype=state.dtype)
            a3 = np.empty(_RUN, dtype=state.dtype)
            for t in range(_RUN):
                j = table[t]
                a0[t] = chunk[j]
                a1[t] = chunk[j + s0]
                a2[t] = chunk[j + s1]
                a3[t] = chunk[j + s0 + s1]
            _mix4(m, a0, a1, a2, a3)  # a1 has q0 set: matrix index 1
            for t in range(_RUN):
                j = table[t]
                chunk[j] = a0[t]
                chunk[j + s0] = a1[t]
                chunk[j + s1] = a2[t]
                chunk[j + s0 + s1] = a3[t]
        return
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
def swap_pairs(state, lo, hi, set_mask, flip_a, flip_b):
    """Swap amplitudes i|flip_a and i|flip_b for every i with bits lo, hi clear and
    ``set_mask`` set: CX is (set=control, 0, target), SWAP is (0, a, b)."""
    batch, dim = state.shape
    quarter = dim >> 2
    for t in prange(batch * quarter):
        b = t // quarter
        i = _insert_zero(_insert_zero(t - b * quarter, lo), hi) | set_mask
        tmp = state[b, i | flip_a]
        state[b, i | flip_a] = state[b, i | flip_b]
        state[b, i | flip_b] = tmp


_RCHUNK = 1 << 12  # amplitudes per partial sum of the reductions


# reductions may reassociate their sums (fastmath) so LLVM can vectorise them. A
# fast-math kernel must not multiply, divide or take abs() of complex numbers: Numba
# compiles those as internal functions cached per signature and shared by every serial
# kernel, so the first kernel compiled in a process would decide whether the others'
# complex products get fast-math flags (a 1-ulp difference between the serial and
# threaded twins, depending on compile order). They spell complex products out in reals.
_REDUCE_OPTS = {**_OPTS, "fastmath": True}


@njit(inline="always")
def _scaled(c, t):
    """complex ``c`` times real ``t`` without a complex multiply (see _REDUCE_OPTS)."""
    return complex(c.real * t, c.imag * t)


@njit(inline="always")
def _lowest_bit(x):
    t = 0
    while not (x >> t) & 1:
        t += 1
    return t


@njit(inline="always")
def _z_sum(v, z, start, stop):
    """sum_j (-1)^{|z & j|} |v[j]|^2 over [start, stop). The loop indexes a slice from
    0: indexing ``v`` by ``j`` from a runtime start leaves Numba's negative-index
    wraparound in the loop, which stops LLVM vectorising it (5.7x slower here)."""
    sr = 0.0
    w = v[start:stop]
    for i in range(w.shape[0]):
        h = w[i]
        sr += (1.0 - 2.0 * _parity(z & (start + i))) * (h.real * h.real + h.imag * h.imag)
    return sr


@njit(**_REDUCE_OPTS)
def pauli_expvals(state, xs, zs, coeffs):
    """sum_k coeffs[k] <psi|P_k|psi> per state, with coeffs[k] already times i^{|x&z|}.

    <psi|P|psi> = sum_j conj(psi[j ^ x]) (-1)^{|z & j|} psi[j]. For x != 0 the terms of
    j and j ^ x are paired (j with x's lowest set bit clear): together they give
    s(j) (conj(a) h + e conj(conj(a) h)) with e = (-1)^{|z & x|}, i.e. twice the real
    or the imaginary part, so half the indices are visited. Signs are computed, not
    branched on, so the loops vectorise.
    """
    batch, dim = state.shape
    half = dim >> 1
    terms = xs.shape[0]
    chunks = (half + _RCHUNK - 1) // _RCHUNK
    partial = np.zeros((batch, chunks), dtype=np.complex128)
    for w in prange(batch * chunks):
        b = w // chunks
        c = w - b * chunks
        start = c * _RCHUNK
        stop = min(start + _RCHUNK, half)
        v = state[b]
        acc = 0j
        for k in range(terms):
            x = xs[k]
            z = zs[k]
            if x == 0:
                acc += _scaled(coeffs[k], _z_sum(v, z, 2 * start, 2 * stop))
                continue
            t = _lowest_bit(x)
            imaginary = _parity(z & x)  # e = -1: the pair sums to 2i Im(conj(a) h)
            sr = 0.0
            for i in range(start, stop):
                j = _insert_zero(i, t)
                a = v[j ^ x]
                h = v[j]
                part = (
                    (a.real * h.imag - a.imag * h.real)
                    if imaginary
                    else (a.real * h.real + a.imag * h.imag)
                )
                sr += (1.0 - 2.0 * _parity(z & j)) * part
            coeff = coeffs[k]
            if imaginary:  # coeff * 2i sr
                acc += complex(-2.0 * sr * coeff.imag, 2.0 * sr * coeff.real)
            else:
                acc += _scaled(coeff, 2.0 * sr)
        partial[b, c] = acc
    return partial.sum(axis=1)


@njit(**_REDUCE_OPTS)
def grouped_expvals(state, gxs, diagonals):
    """sum_g sum_j diagonals[g, j] conj(psi[j ^ x_g]) psi[j]: terms sharing an X mask x_g
    folded into one precomputed diagonal (their signs and coefficients), so each group
    costs one pass without parity arithmetic."""
    batch, dim = state.shape
    groups = gxs.shape[0]
    chunks = (dim + _RCHUNK - 1) // _RCHUNK
    partial = np.zeros((batch, chunks), dtype=np.complex128)
    for w in prange(batch * chunks):
        b = w // chunks
        c = w - b * chunks
        start = c * _RCHUNK
        stop = min(start + _RCHUNK, dim)
        v = state[b]
        sr = 0.0
        si = 0.0
        for g in range(groups):
            x = gxs[g]
            # chunks are aligned powers of two: j ^ x lies in the chunk at start ^ (x's
            # high bits), at offset i ^ (x's low bits); slices indexed from 0 vectorise
            # (see _z_sum)
            low = x & (_RCHUNK - 1)
            other = start ^ (x - low)
            vs = v[start:stop]
            ps = v[other : other + (stop - start)]
            ds = diagonals[g, start:stop]
            for i in range(stop - start):
                a = ps[i ^ low]
                h = vs[i]
                pr = a.real * h.real + a.imag * h.imag
                pi = a.real * h.imag - a.imag * h.real
                sr += ds[i].real * pr - ds[i].imag * pi
                si += ds[i].real * pi + ds[i].imag * pr
        partial[b, c] = complex(sr, si)
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


@njit(**_REDUCE_OPTS)
def inner(bra, ket):
    """<bra_b|ket_b> per batch row."""
    batch, dim = bra.shape
    chunks = (dim + _RCHUNK - 1) // _RCHUNK
    partial = np.zeros((batch, chunks), dtype=np.complex128)
    for w in prange(batch * chunks):
        b = w // chunks
        c = w - b * chunks
        # conj(a) h in reals (see _REDUCE_OPTS), on slices indexed from 0 (see _z_sum)
        bs = bra[b, c * _RCHUNK : min((c + 1) * _RCHUNK, dim)]
        ks = ket[b, c * _RCHUNK : min((c + 1) * _RCHUNK, dim)]
        sr = 0.0
        si = 0.0
        for j in range(bs.shape[0]):
            a = bs[j]
            h = ks[j]
            sr += a.real * h.real + a.imag * h.imag
            si += a.real * h.imag - a.imag * h.real
        partial[b, c] = complex(sr, si)
    return partial.sum(axis=1)


def num_threads() -> int:
    return numba.get_num_threads()


# -- the small-circuit engine ---------------------------------------------------------------
# One call runs a whole gate list; each state of the batch is simulated start to finish by
# one thread (prange over the batch), so there is no per-gate dispatch or synchronisation.
# Gate kinds: 0/1/2/6 dense on 1/2/3/4 qubits, 3 x, 4 cx, 5 swap, 7/8 a Pauli channel
# on 1/2 qubits of a density matrix (weights w[x, d] in the entries, see pauli_channel).
# ``mats[b, offsets[g]:]`` holds gate g's row-major matrix (row 0 of mats is shared when
# mats has one row); ``qubits[g]`` its qubits, padded to 4.
DENSE1, DENSE2, DENSE3, PERM_X, PERM_CX, PERM_SWAP, DENSE4, PAULI1, PAULI2 = range(9)


@njit(inline="always")
def _dense_small(v, qubits, k, m, o):
    d = 1 << k
    dim = v.shape[0]
    buf = np.empty(16, dtype=v.dtype)
    offs = np.zeros(16, dtype=np.int64)
    for l in range(d):
        for j in range(k):
            if (l >> j) & 1:
                offs[l] |= 1 << qubits[j]
    sorted_q = np.sort(qubits[:k])
    for t in range(dim >> k):
        i = t
        for j in range(k):
            i = _insert_zero(i, sorted_q[j])
        for l in range(d):
            buf[l] = v[i | offs[l]]
        for l in range(d):
            acc = m[o + l * d] * buf[0]
            for c in range(1, d):
                acc += m[o + l * d + c] * buf[c]
            v[i | offs[l]] = acc


@njit(inline="always")
def _pauli_small(v, qubits, k, m, o):
    """pauli_channel on one density matrix row (2n-qubit state, n = log2(dim) / 2)."""
    dim = v.shape[0]
    n = 0
    while (1 << (2 * n)) < dim:
        n += 1
    g = 1 << k
    roff = np.zeros(4, dtype=np.int64)
    coff = np.zeros(4, dtype=np.int64)
    for x in range(g):
        for a in range(k):
            if (x >> a) & 1:
                roff[x] |= 1 << qubits[a]
                coff[x] |= 1 << (qubits[a] + n)
    sorted_q = np.sort(qubits[:k])
    local = np.empty(4, dtype=v.dtype)
    for t in range(dim >> k):
        j0 = t
        for a in range(k):
            j0 = _insert_zero(j0, sorted_q[a])
        d = 0
        for a in range(k):
            d |= ((j0 >> (qubits[a] + n)) & 1) << a
        for x in range(g):
            local[x] = v[j0 ^ (roff[x] | coff[x])]
        for y in range(g):
            acc = m[o + d].real * local[y]
            for x in range(1, g):
                acc += m[o + x * g + d].real * local[y ^ x]
            v[j0 ^ (roff[y] | coff[y])] = acc


@njit(inline="always")
def _one_qubit_small(v, q, m, o):
    s = 1 << q
    m00, m01, m10, m11 = m[o], m[o + 1], m[o + 2], m[o + 3]
    for t in range(v.shape[0] >> 1):
        i0 = _insert_zero(t, q)
        a0 = v[i0]
        a1 = v[i0 + s]
        v[i0] = m00 * a0 + m01 * a1
        v[i0 + s] = m10 * a0 + m11 * a1


@njit(**_OPTS)
def run_gates(state, kinds, qubits, offsets, mats):
    batch, dim = state.shape
    shared = mats.shape[0] == 1
    for b in prange(batch):
        v = state[b]
        m = mats[0] if shared else mats[b]
        for g in range(kinds.shape[0]):
            kind = kinds[g]
            qs = qubits[g]
            if kind == DENSE1:
                _one_qubit_small(v, qs[0], m, offsets[g])
            elif DENSE2 <= kind <= DENSE3:
                _dense_small(v, qs, kind + 1, m, offsets[g])
            elif kind == DENSE4:
                _dense_small(v, qs, 4, m, offsets[g])
            elif kind >= PAULI1:
                _pauli_small(v, qs, kind - PAULI1 + 1, m, offsets[g])
            elif kind == PERM_X:
                s = 1 << qs[0]
                for t in range(dim >> 1):
                    i0 = _insert_zero(t, qs[0])
                    tmp = v[i0]
                    v[i0] = v[i0 + s]
                    v[i0 + s] = tmp
            else:  # cx (control qs[0]) or swap
                lo, hi = min(qs[0], qs[1]), max(qs[0], qs[1])
                ia = 1 << qs[0]
                ib = (1 << qs[1]) if kind == PERM_SWAP else (1 << qs[0]) | (1 << qs[1])
                for t in range(dim >> 2):
                    i = _insert_zero(_insert_zero(t, lo), hi)
                    tmp = v[i | ia]
                    v[i | ia] = v[i | ib]
                    v[i | ib] = tmp


@njit(**_OPTS)
def pauli_channel(state, rows, cols, row_offsets, col_offsets, weights):
    """A Pauli channel on a density matrix stored as a 2n-qubit state.

    E(rho)[r, c] = sum_x w[x, d] rho[r ^ x, c ^ x] with d = (r ^ c) on the channel's
    qubits and w[x, d] = sum_z p(x, z) (-1)^{|z & d|}. Amplitudes j ^ X(x) (X flips the
    row and column bits of x together) share d, so each group of 2**k is mixed in place:
    2**k real-weighted terms per amplitude instead of 4**k complex ones of the dense
    superoperator. ``rows``/``cols``: the channel qubits' row/column bit positions
    (local order); ``row_offsets[x]``/``col_offsets[x]``: x spread onto them.
    """
    batch, dim = state.shape
    k = rows.shape[0]
    g = row_offsets.shape[0]
    sorted_rows = np.sort(rows)
    groups = dim >> k
    chunks = (groups + _CHUNK - 1) // _CHUNK
    for w in prange(batch * chunks):
        b = w // chunks
        first = (w - b * chunks) * _CHUNK
        local = np.empty(g, dtype=state.dtype)  # one scratch buffer per work item
        for t in range(first, min(first + _CHUNK, groups)):
            j0 = t
            for a in range(k):
                j0 = _insert_zero(j0, sorted_rows[a])
            d = 0
            for a in range(k):  # row bits of j0 are 0, so d is its column bits
                d |= ((j0 >> cols[a]) & 1) << a
            for x in range(g):
                local[x] = state[b, j0 ^ (row_offsets[x] | col_offsets[x])]
            for y in range(g):
                acc = weights[0, d] * local[y]
                for x in range(1, g):
                    acc += weights[x, d] * local[y ^ x]
                state[b, j0 ^ (row_offsets[y] | col_offsets[y])] = acc


# -- serial twins ---------------------------------------------------------------------------
# The same kernels compiled without threads. Small states (QAS, VQE: a few qubits) take
# microseconds, where waking the thread pool costs more than the work, and far more on a
# busy machine; the kernel interface picks these below ``SERIAL_BELOW`` amplitudes.
SERIAL_BELOW = 1 << 15


def _serial(kernel, opts):
    """``kernel`` compiled without threads, under its own name: numba's disk cache is
    keyed by qualified name and line, not by the ``parallel`` flag, so a twin sharing
    the name would load whichever variant was compiled first."""
    f = kernel.py_func
    twin = types.FunctionType(f.__code__, f.__globals__, f.__name__ + "_serial",
                              f.__defaults__, f.__closure__)  # fmt: skip
    twin.__qualname__ = f.__qualname__ + "_serial"
    return njit(**{**opts, "parallel": False})(twin)


class serial:  # noqa: N801 - a namespace mirroring the module's kernels
    apply_1q = _serial(apply_1q, _OPTS)
    apply_2q = _serial(apply_2q, _OPTS)
    apply_kq = _serial(apply_kq, _OPTS)
    apply_diagonal = _serial(apply_diagonal, _OPTS)
    apply_x = _serial(apply_x, _OPTS)
    swap_pairs = _serial(swap_pairs, _OPTS)
    pauli_expvals = _serial(pauli_expvals, _REDUCE_OPTS)
    grouped_expvals = _serial(grouped_expvals, _REDUCE_OPTS)
    apply_pauli_sum = _serial(apply_pauli_sum, _OPTS)
    inner = _serial(inner, _REDUCE_OPTS)
    run_gates = _serial(run_gates, _OPTS)
    pauli_channel = _serial(pauli_channel, _OPTS)
