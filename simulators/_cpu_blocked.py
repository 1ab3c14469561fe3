"""Cache-blocked, vectorised CPU gate kernels: many gates per pass over the state.

``run_block`` applies a sequence of dense 1- to 5-qubit matrices to a state chunk by
chunk. A chunk is every amplitude whose index varies only in the bits below ``low``
and in the ``high`` qubits, so it is 2**len(high) contiguous runs of 2**low amplitudes;
it is copied into two private real arrays (real and imaginary parts), every gate of
the block runs on those while they sit in the L2 cache, and the chunk is written back.
A block thus costs one pass over memory however many gates it holds, and the threads
meet once per block instead of once per gate (one ``prange`` region).

The split layout is what vectorises. One- and two-qubit gates run through explicit
16-lane vector code (``simulators._simd``): a gate qubit at local bit 4 or above picks
between whole vectors, one below is a lane shuffle inside a vector, so every qubit
position runs at the same rate (about 55 GFMA/s float32 on one Zen 4 core, from 9-44
before, when LLVM vectorised the loops itself and short runs paid per-group alias
checks and loop set-up). Wider fused gates use a tiled multiply-add (``_gatek``).
Chunks under 16 amplitudes (states of fewer than 4 qubits) use the scalar loops.

Gates run by kind (``_kinds``, from the matrices): a real matrix skips the imaginary
coefficients (half the FMAs; ``simulators._phase_frames`` makes most fused gates real)
and a 1-qubit ``diag(1, w)`` (a frame's phase step) touches half the amplitudes.
"""

from __future__ import annotations

import numpy as np
from numba import njit, prange

from simulators._cpu import _OPTS, _insert_zero, _serial
from simulators._simd import LANES, vec1, vec1_lane, vec2, vec2_lane, vec2_lanes

__all__ = [
    "run_block", "run_block_serial", "MAX_BLOCK_GATE_QUBITS", "KIND_COMPLEX", "KIND_REAL",
    "KIND_PHASE", "product_phase", "product_phase_serial",
]  # fmt: skip

MAX_BLOCK_GATE_QUBITS = 5
KIND_COMPLEX, KIND_REAL, KIND_PHASE = 0, 1, 2  # run_block's gate kinds
_TILE = 64  # group bases per tile of the k-qubit loop (its scratch stays in L1)
_FAST = {**_OPTS, "fastmath": True}  # contractions into FMAs; no reductions reordered


@njit(inline="always")
def _run_offset(base, high, h):
    """The state index where run ``h`` of a chunk starts: the high-bit pattern ``h``
    spread onto the ``high`` qubits, on top of ``base``."""
    off = base
    for j in range(high.shape[0]):
        if (h >> j) & 1:
            off |= 1 << high[j]
    return off


@njit(inline="always")
def _gather(state, b, base, low, high, re, im):
    """The chunk at ``base`` into (re, im): run h of 2**low amplitudes is high-bit
    pattern h spread onto the ``high`` qubits."""
    run = 1 << low
    for h in range(1 << high.shape[0]):
        off = _run_offset(base, high, h)
        src = state[b, off : off + run]
        dst_re = re[h * run : (h + 1) * run]
        dst_im = im[h * run : (h + 1) * run]
        for i in range(run):
            dst_re[i] = src[i].real
            dst_im[i] = src[i].imag


@njit(inline="always")
def _scatter(state, b, base, low, high, re, im):
    run = 1 << low
    for h in range(1 << high.shape[0]):
        off = _run_offset(base, high, h)
        dst = state[b, off : off + run]
        src_re = re[h * run : (h + 1) * run]
        src_im = im[h * run : (h + 1) * run]
        for i in range(run):
            dst[i] = complex(src_re[i], src_im[i])  # no complex multiply (_cpu._REDUCE_OPTS)


@njit(inline="always")
def _gate1(re, im, p, mr, mi):
    """2x2 (mr + i mi) on local qubit ``p``."""
    s = 1 << p
    m00r, m01r, m10r, m11r = mr[0], mr[1], mr[2], mr[3]
    m00i, m01i, m10i, m11i = mi[0], mi[1], mi[2], mi[3]
    for g in range(re.shape[0] >> (p + 1)):
        base = g << (p + 1)
        r0 = re[base : base + s]
        i0 = im[base : base + s]
        r1 = re[base + s : base + 2 * s]
        i1 = im[base + s : base + 2 * s]
        for j in range(s):
            a0r = r0[j]
            a0i = i0[j]
            a1r = r1[j]
            a1i = i1[j]
            r0[j] = m00r * a0r - m00i * a0i + m01r * a1r - m01i * a1i
            i0[j] = m00r * a0i + m00i * a0r + m01r * a1i + m01i * a1r
            r1[j] = m10r * a0r - m10i * a0i + m11r * a1r - m11i * a1i
            i1[j] = m10r * a0i + m10i * a0r + m11r * a1i + m11i * a1r


@njit(inline="always")
def _row4(c0r, c0i, c1r, c1i, c2r, c2i, c3r, c3i, a0r, a0i, a1r, a1i, a2r, a2i, a3r, a3i):
    """One output amplitude of a 4x4 complex matrix row times (a0..a3), as (re, im)."""
    re = (c0r * a0r - c0i * a0i + c1r * a1r - c1i * a1i
          + c2r * a2r - c2i * a2i + c3r * a3r - c3i * a3i)  # fmt: skip
    im = (c0r * a0i + c0i * a0r + c1r * a1i + c1i * a1r
          + c2r * a2i + c2i * a2r + c3r * a3i + c3i * a3r)  # fmt: skip
    return re, im


@njit(inline="always")
def _gate2(re, im, p0, p1, mr, mi):
    """4x4 (mr + i mi, row-major) on local qubits p0 < p1 (matrix bit 0 is p0)."""
    s0 = 1 << p0
    s1 = 1 << p1
    m00r, m01r, m02r, m03r = mr[0], mr[1], mr[2], mr[3]
    m10r, m11r, m12r, m13r = mr[4], mr[5], mr[6], mr[7]
    m20r, m21r, m22r, m23r = mr[8], mr[9], mr[10], mr[11]
    m30r, m31r, m32r, m33r = mr[12], mr[13], mr[14], mr[15]
    m00i, m01i, m02i, m03i = mi[0], mi[1], mi[2], mi[3]
    m10i, m11i, m12i, m13i = mi[4], mi[5], mi[6], mi[7]
    m20i, m21i, m22i, m23i = mi[8], mi[9], mi[10], mi[11]
    m30i, m31i, m32i, m33i = mi[12], mi[13], mi[14], mi[15]
    for g in range(re.shape[0] >> (p0 + 2)):
        base = _insert_zero(_insert_zero(g << p0, p0), p1)
        r0 = re[base : base + s0]
        i0 = im[base : base + s0]
        r1 = re[base + s0 : base + 2 * s0]
        i1 = im[base + s0 : base + 2 * s0]
        r2 = re[base + s1 : base + s1 + s0]
        i2 = im[base + s1 : base + s1 + s0]
        r3 = re[base + s0 + s1 : base + 2 * s0 + s1]
        i3 = im[base + s0 + s1 : base + 2 * s0 + s1]
        for j in range(s0):
            a0r = r0[j]
            a0i = i0[j]
            a1r = r1[j]
            a1i = i1[j]
            a2r = r2[j]
            a2i = i2[j]
            a3r = r3[j]
            a3i = i3[j]
            r0[j], i0[j] = _row4(m00r, m00i, m01r, m01i, m02r, m02i, m03r, m03i,
                                 a0r, a0i, a1r, a1i, a2r, a2i, a3r, a3i)  # fmt: skip
            r1[j], i1[j] = _row4(m10r, m10i, m11r, m11i, m12r, m12i, m13r, m13i,
                                 a0r, a0i, a1r, a1i, a2r, a2i, a3r, a3i)  # fmt: skip
            r2[j], i2[j] = _row4(m20r, m20i, m21r, m21i, m22r, m22i, m23r, m23i,
                                 a0r, a0i, a1r, a1i, a2r, a2i, a3r, a3i)  # fmt: skip
            r3[j], i3[j] = _row4(m30r, m30i, m31r, m31i, m32r, m32i, m33r, m33i,
                                 a0r, a0i, a1r, a1i, a2r, a2i, a3r, a3i)  # fmt: skip


@njit(inline="always")
def _gatek(re, im, pos, k, mr, mi, tr, ti):
    """2**k x 2**k (row-major) on sorted local qubits ``pos[:k]``, a tile of group bases
    at a time: the tile's 2**k input rows are copied into (tr, ti) and each output row is
    a vectorised multiply-add over the tile."""
    d = 1 << k
    run = min(1 << pos[0], _TILE)
    offs = np.zeros(32, dtype=np.int64)
    for l in range(d):
        for j in range(k):
            if (l >> j) & 1:
                offs[l] |= 1 << pos[j]
    groups = re.shape[0] >> k
    for g in range(groups // run):
        base = g * run
        for j in range(k):
            base = _insert_zero(base, pos[j])
        for c in range(d):
            src_r = re[base + offs[c] : base + offs[c] + run]
            src_i = im[base + offs[c] : base + offs[c] + run]
            for t in range(run):
                tr[c, t] = src_r[t]
                ti[c, t] = src_i[t]
        for l in range(d):
            out_r = re[base + offs[l] : base + offs[l] + run]
            out_i = im[base + offs[l] : base + offs[l] + run]
            cr = mr[l * d]
            ci = mi[l * d]
            for t in range(run):
                out_r[t] = cr * tr[0, t] - ci * ti[0, t]
                out_i[t] = cr * ti[0, t] + ci * tr[0, t]
            for c in range(1, d):
                cr = mr[l * d + c]
                ci = mi[l * d + c]
                for t in range(run):
                    out_r[t] += cr * tr[c, t] - ci * ti[c, t]
                    out_i[t] += cr * ti[c, t] + ci * tr[c, t]


@njit(inline="always")
def _tuple4(m):
    return (m[0], m[1], m[2], m[3])


@njit(inline="always")
def _tuple16(m):
    return (m[0], m[1], m[2], m[3], m[4], m[5], m[6], m[7],
            m[8], m[9], m[10], m[11], m[12], m[13], m[14], m[15])  # fmt: skip


@njit(inline="always")
def _simd1(re, im, p, cr, ci):
    """2x2 (tuples ``cr``, ``ci``; ``ci = ()`` for a real matrix) on local qubit ``p`` in
    16-lane steps (``re.shape[0] >= 16``)."""
    if p >= 4:
        s = 1 << p
        for b in range(re.shape[0] >> 5):
            vec1(re, im, _insert_zero(b << 4, p), s, cr, ci)
    else:  # a lane qubit: the shuffle mask must be a literal
        for b in range(re.shape[0] >> 4):
            if p == 0:
                vec1_lane(re, im, b << 4, cr, ci, 0)
            elif p == 1:
                vec1_lane(re, im, b << 4, cr, ci, 1)
            elif p == 2:
                vec1_lane(re, im, b << 4, cr, ci, 2)
            else:
                vec1_lane(re, im, b << 4, cr, ci, 3)


@njit(inline="always")
def _phase1(re, im, p, mr, mi):
    """diag(1, w) (``mr + i mi``, row-major) on local qubit ``p`` (a phase step of
    ``_phase_frames``): only the amplitudes with bit p set are read and written. Needs
    ``re.shape[0] >= 16``."""
    if p >= 5:
        wr = mr[3]
        wi = mi[3]
        s = 1 << p
        for g in range(re.shape[0] >> (p + 1)):
            r1 = re[(2 * g + 1) * s : (2 * g + 2) * s]
            i1 = im[(2 * g + 1) * s : (2 * g + 2) * s]
            for j in range(s):
                a = r1[j]
                b = i1[j]
                r1[j] = wr * a - wi * b
                i1[j] = wr * b + wi * a
    else:  # a lane bit (or bit 4, whose runs are one vector): the 16-lane kernel
        _simd1(re, im, p, (mr[0], mr[3]), (mi[0], mi[3]))  # on the diagonal


@njit(inline="always")
def _simd2_lane(re, im, p1, cr, ci, P0):
    """4x4 with the lower qubit on lane bit ``P0`` (a literal) and the upper at ``p1``."""
    s1 = 1 << p1
    for b in range(re.shape[0] >> 5):
        vec2_lane(re, im, _insert_zero(b << 4, p1), s1, cr, ci, P0)


@njit(inline="always")
def _simd2(re, im, p0, p1, cr, ci):
    """4x4 (tuples as in ``_simd1``) on local qubits p0 < p1 in 16-lane steps."""
    if p0 >= 4:
        s0 = 1 << p0
        s1 = 1 << p1
        for b in range(re.shape[0] >> 6):
            vec2(re, im, _insert_zero(_insert_zero(b << 4, p0), p1), s0, s1, cr, ci)
    elif p1 >= 4:
        if p0 == 0:
            _simd2_lane(re, im, p1, cr, ci, 0)
        elif p0 == 1:
            _simd2_lane(re, im, p1, cr, ci, 1)
        elif p0 == 2:
            _simd2_lane(re, im, p1, cr, ci, 2)
        else:
            _simd2_lane(re, im, p1, cr, ci, 3)
    else:
        for b in range(re.shape[0] >> 4):
            x = b << 4
            if p0 == 0 and p1 == 1:
                vec2_lanes(re, im, x, cr, ci, 0, 1)
            elif p0 == 0 and p1 == 2:
                vec2_lanes(re, im, x, cr, ci, 0, 2)
            elif p0 == 0:
                vec2_lanes(re, im, x, cr, ci, 0, 3)
            elif p0 == 1 and p1 == 2:
                vec2_lanes(re, im, x, cr, ci, 1, 2)
            elif p0 == 1:
                vec2_lanes(re, im, x, cr, ci, 1, 3)
            else:
                vec2_lanes(re, im, x, cr, ci, 2, 3)


@njit(inline="always")
def _kinds(widths, starts, mats_re, mats_im):
    """Per gate: ``KIND_PHASE`` for diag(1, w) on one qubit, ``KIND_REAL`` for a matrix
    whose imaginary part is zero, else ``KIND_COMPLEX`` (in every row of the mats)."""
    kinds = np.zeros(widths.shape[0], dtype=np.uint8)
    for g in range(widths.shape[0]):
        d = 1 << widths[g]
        st = starts[g]
        real = True
        phase = d == 2
        for r in range(mats_re.shape[0]):
            for i in range(d * d):
                if mats_im[r, st + i] != 0:
                    real = False
            if phase:
                ok = mats_re[r, st] == 1 and mats_im[r, st] == 0
                for i in (1, 2):
                    ok = ok and mats_re[r, st + i] == 0 and mats_im[r, st + i] == 0
                phase = ok
        if phase:
            kinds[g] = KIND_PHASE
        elif real:
            kinds[g] = KIND_REAL
    return kinds


@njit(**{**_FAST, "parallel": False})
def _run_chunk(re, im, tr, ti, widths, positions, starts, kinds, mr_all, mi_all, simd):
    """Every gate of a pass on one chunk (split arrays ``re``, ``im``). A function of its
    own, not inlined: the serial and threaded ``run_block`` call the same compiled body,
    and the parallel loop stays small (compiling the gate kernels inside the parfor took
    three times as long as compiling them once)."""
    for g in range(widths.shape[0]):
        k = widths[g]
        mr = mr_all[starts[g] :]
        mi = mi_all[starts[g] :]
        if kinds[g] == KIND_PHASE and simd:
            _phase1(re, im, positions[g, 0], mr, mi)
        elif k == 1 and simd and kinds[g] == KIND_REAL:
            _simd1(re, im, positions[g, 0], _tuple4(mr), ())
        elif k == 1 and simd:
            _simd1(re, im, positions[g, 0], _tuple4(mr), _tuple4(mi))
        elif k == 2 and simd and kinds[g] == KIND_REAL:
            _simd2(re, im, positions[g, 0], positions[g, 1], _tuple16(mr), ())
        elif k == 2 and simd:
            _simd2(re, im, positions[g, 0], positions[g, 1], _tuple16(mr), _tuple16(mi))
        elif k == 1:
            _gate1(re, im, positions[g, 0], mr, mi)
        elif k == 2:
            _gate2(re, im, positions[g, 0], positions[g, 1], mr, mi)
        else:
            _gatek(re, im, positions[g], k, mr, mi, tr, ti)


@njit(**_FAST)
def run_block(state, low, high, widths, positions, starts, mats_re, mats_im, workers):
    """Gates ``g`` (width ``widths[g]``, sorted local qubits ``positions[g]``, row-major
    matrix at ``mats_*[:, starts[g]:]``) on every chunk of ``state`` in one pass.
    Each gate runs by its kind (``_kinds``): a real matrix skips the imaginary part, a
    1-qubit phase ``diag(1, w)`` touches half the amplitudes.

    Local qubit ``p`` is global qubit ``p`` below ``low`` and ``high[p - low]`` above
    (``high`` ascending).
    ``mats_*`` have one row (shared) or one per state; their dtype is the state's real
    dtype. ``workers``: the threads to split the chunks over (each keeps its own
    chunk buffers for the whole pass).
    """
    batch, dim = state.shape
    nh = high.shape[0]
    size = 1 << (low + nh)
    chunks = dim // size
    shared = mats_re.shape[0] == 1
    total = batch * chunks
    workers = max(1, min(workers, total))
    simd = size >= LANES
    kinds = _kinds(widths, starts, mats_re, mats_im)
    for w in prange(workers):
        re = np.empty(size, dtype=mats_re.dtype)
        im = np.empty(size, dtype=mats_re.dtype)
        tr = np.empty((32, _TILE), dtype=mats_re.dtype)
        ti = np.empty((32, _TILE), dtype=mats_re.dtype)
        for item in range(w * total // workers, (w + 1) * total // workers):
            b = item // chunks
            base = (item - b * chunks) << low
            for j in range(nh):
                base = _insert_zero(base, high[j])
            _gather(state, b, base, low, high, re, im)
            _run_chunk(re, im, tr, ti, widths, positions, starts, kinds,
                       mats_re[0] if shared else mats_re[b],
                       mats_im[0] if shared else mats_im[b], simd)  # fmt: skip
            _scatter(state, b, base, low, high, re, im)


run_block_serial = _serial(run_block, _FAST)


@njit(**_OPTS)
def product_phase(state, lo, hi, low):
    """Each amplitude x of each state times ``lo[x & (2**low - 1)] * hi[x >> low]`` (the
    frame left by ``simulators._phase_frames``): one pass."""
    batch, dim = state.shape
    runs = dim >> low
    for i in prange(batch * runs):
        b = i // runs
        h = i - b * runs
        row = state[b, h << low : (h + 1) << low]
        c = hi[h]
        for x in range(1 << low):
            row[x] = row[x] * (lo[x] * c)


product_phase_serial = _serial(product_phase, _OPTS)
