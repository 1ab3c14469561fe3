"""Numba kernels of the Pauli-frame sampler (the CPU side of ``simulators.frames``).

A compiled circuit is a small bytecode (see ``frames.compile_frames``): rows of
``prog`` (code, first target, end target, a, b) and of ``fprog`` (p, 1/log(1-p)).
One call of :func:`sample_words` runs it over every 64-shot column of frames: the
frames of a column are a pair of uint64 words per qubit (bit s = shot s), and each
column draws from its own xoshiro256** stream seeded from (seed, column index), so
the result depends on the seed only, not on the chunking or the thread count, and
the CUDA twin (``_frames_gpu.py``, one thread per column) reproduces it bit for bit.

Noise is drawn by geometric skipping: the gap to the next flipped (target, shot)
trial is floor(log(u) / log(1 - p)), so an op costs one draw per flip plus one.
"""

from __future__ import annotations

import math

import numpy as np
from numba import njit

# opcodes (shared with _frames_gpu.py's CUDA source through frames.py)
OP_H, OP_S, OP_SX, OP_G1 = 0, 1, 2, 3  # x<->z, z^=x, x^=z, any 2x2 (a = matrix bits)
OP_CX, OP_CZ, OP_SWAP, OP_G2 = 4, 5, 6, 7  # pairs; OP_G2: any 4x4 (a = matrix bits)
OP_MEASURE, OP_RESET = 8, 9  # a = basis (0 Z, 1 X, 2 Y, 3 pad); b = 1: reset after
OP_NOISE1, OP_NOISE2, OP_CORR = 10, 11, 12  # a, b = outcome table slice
OP_DETECTORS, OP_OBSERVABLE = 13, 14  # a = count / observable index
OP_REPEAT, OP_END = 15, 16  # REPEAT: a = count; END: a = REPEAT's row

_ONES = np.uint64(0xFFFFFFFFFFFFFFFF)
_U1 = np.uint64(1)


@njit(inline="always")
def _rotl(v, k):
    return (v << np.uint64(k)) | (v >> np.uint64(64 - k))


@njit(inline="always")
def _splitmix(state):
    """(new state, output) of SplitMix64."""
    state = state + np.uint64(0x9E3779B97F4A7C15)
    z = state
    z = (z ^ (z >> np.uint64(30))) * np.uint64(0xBF58476D1CE4E5B9)
    z = (z ^ (z >> np.uint64(27))) * np.uint64(0x94D049BB133111EB)
    return state, z ^ (z >> np.uint64(31))


@njit(cache=True)
def seed_columns(rng, seed, col0):
    """Seed row c of ``rng`` (ncols, 4) for global column col0 + c."""
    for c in range(rng.shape[0]):
        st = np.uint64(seed) ^ (np.uint64(col0 + c) * np.uint64(0xD1B54A32D192ED03))
        for i in range(4):
            st, out = _splitmix(st)
            rng[c, i] = out


@njit(inline="always")
def _next(rng, c):
    """Next output of xoshiro256** for column c."""
    s0, s1, s2, s3 = rng[c, 0], rng[c, 1], rng[c, 2], rng[c, 3]
    out = _rotl(s1 * np.uint64(5), 7) * np.uint64(9)
    t = s1 << np.uint64(17)
    s2 ^= s0
    s3 ^= s1
    s1 ^= s2
    s0 ^= s3
    s2 ^= t
    rng[c, 0], rng[c, 1], rng[c, 2], rng[c, 3] = s0, s1, s2, _rotl(s3, 45)
    return out


@njit(inline="always")
def _uniform(rng, c):
    """A double in (0, 1]."""
    return np.float64((_next(rng, c) >> np.uint64(11)) + _U1) * (1.0 / 9007199254740992.0)


@njit(inline="always")
def _pick(rng, c, ftab, a, b):
    """Index into the outcome table slice [a, b) (cumulative probabilities)."""
    if b - a == 1:
        return a
    u = _uniform(rng, c)
    for i in range(a, b - 1):
        if u <= ftab[i]:
            return i
    return b - 1


@njit(inline="always")
def _mask(m, bit):
    return _ONES if (m >> bit) & 1 else np.uint64(0)


@njit(cache=True)
def _gates(code, t0, t1, a, targets, x, z, W):
    """Unitary ops: conjugate every column's frame, signs dropped."""
    if code == OP_H:
        for i in range(t0, t1):
            q = targets[i]
            for c in range(W):
                x[q, c], z[q, c] = z[q, c], x[q, c]
    elif code == OP_S:
        for i in range(t0, t1):
            q = targets[i]
            for c in range(W):
                z[q, c] ^= x[q, c]
    elif code == OP_SX:
        for i in range(t0, t1):
            q = targets[i]
            for c in range(W):
                x[q, c] ^= z[q, c]
    elif code == OP_G1:
        m0, m1, m2, m3 = _mask(a, 0), _mask(a, 1), _mask(a, 2), _mask(a, 3)
        for i in range(t0, t1):
            q = targets[i]
            for c in range(W):
                xv, zv = x[q, c], z[q, c]
                x[q, c] = (xv & m0) ^ (zv & m1)
                z[q, c] = (xv & m2) ^ (zv & m3)
    elif code == OP_CX:
        for i in range(t0, t1, 2):
            qa, qb = targets[i], targets[i + 1]
            for c in range(W):
                x[qb, c] ^= x[qa, c]
                z[qa, c] ^= z[qb, c]
    elif code == OP_CZ:
        for i in range(t0, t1, 2):
            qa, qb = targets[i], targets[i + 1]
            for c in range(W):
                z[qa, c] ^= x[qb, c]
                z[qb, c] ^= x[qa, c]
    elif code == OP_SWAP:
        for i in range(t0, t1, 2):
            qa, qb = targets[i], targets[i + 1]
            for c in range(W):
                x[qa, c], x[qb, c] = x[qb, c], x[qa, c]
                z[qa, c], z[qb, c] = z[qb, c], z[qa, c]
    else:  # OP_G2: bit 4 * out + in of a; in/out order x_a, z_a, x_b, z_b
        m = np.empty(16, np.uint64)
        for k in range(16):
            m[k] = _mask(a, k)
        for i in range(t0, t1, 2):
            qa, qb = targets[i], targets[i + 1]
            for c in range(W):
                v0, v1, v2, v3 = x[qa, c], z[qa, c], x[qb, c], z[qb, c]
                x[qa, c] = (v0 & m[0]) ^ (v1 & m[1]) ^ (v2 & m[2]) ^ (v3 & m[3])
                z[qa, c] = (v0 & m[4]) ^ (v1 & m[5]) ^ (v2 & m[6]) ^ (v3 & m[7])
                x[qb, c] = (v0 & m[8]) ^ (v1 & m[9]) ^ (v2 & m[10]) ^ (v3 & m[11])
                z[qb, c] = (v0 & m[12]) ^ (v1 & m[13]) ^ (v2 & m[14]) ^ (v3 & m[15])


@njit(inline="always")
def _collapse(basis, reset, q, x, z, rng, W):
    """After a measurement (reset=0) or reset (1) of qubit q in ``basis`` (Z, X, Y):
    randomize, per column, the frame component that basis's eigenstate cannot see."""
    if reset:
        for c in range(W):
            x[q, c] = 0
            z[q, c] = 0
    if basis == 0:
        for c in range(W):
            z[q, c] ^= _next(rng, c)
    elif basis == 1:
        for c in range(W):
            x[q, c] ^= _next(rng, c)
    else:
        for c in range(W):
            r = _next(rng, c)
            x[q, c] ^= r
            z[q, c] ^= r


@njit(inline="always")
def _apply_pauli(code, qa, qb, bit, x, z, c):
    if code & 1:
        x[qa, c] ^= bit
    if code & 2:
        z[qa, c] ^= bit
    if code & 4:
        x[qb, c] ^= bit
    if code & 8:
        z[qb, c] ^= bit


@njit(cache=True)
def run_columns(prog, fprog, targets, ftab, itab, x, z, ring, rng, words, refw, keep_m, ndet):
    """Run the program on the columns of one chunk (frames x, z: (qubits, W)).

    ``words`` receives one row per measurement (keep_m, XORed with ``refw``) or per
    detector then observable; ``ring`` holds the last len(ring) measurement flips.
    """
    W = x.shape[1]
    mask = ring.shape[0] - 1
    for q in range(x.shape[0]):
        for c in range(W):
            x[q, c] = 0
            z[q, c] = _next(rng, c)
    for r in range(words.shape[0]):
        for c in range(W):
            words[r, c] = 0
    stack_pc = np.zeros(64, np.int64)
    stack_left = np.zeros(64, np.int64)
    sp = 0
    m_count = 0
    d_count = 0
    pc = 0
    while pc < prog.shape[0]:
        code, t0, t1, a, b = prog[pc, 0], prog[pc, 1], prog[pc, 2], prog[pc, 3], prog[pc, 4]
        if code <= OP_G2:
            _gates(code, t0, t1, a, targets, x, z, W)
        elif code == OP_MEASURE:
            for i in range(t0, t1):
                q = targets[i]
                slot = (m_count + i - t0) & mask
                if a == 0:
                    for c in range(W):
                        ring[slot, c] = x[q, c]
                elif a == 1:
                    for c in range(W):
                        ring[slot, c] = z[q, c]
                elif a == 2:
                    for c in range(W):
                        ring[slot, c] = x[q, c] ^ z[q, c]
                else:
                    for c in range(W):
                        ring[slot, c] = 0
                if a != 3:
                    _collapse(a, b, q, x, z, rng, W)
            p, inv = fprog[pc, 0], fprog[pc, 1]
            if p > 0.0:
                n = (t1 - t0) * 64
                for c in range(W):
                    k = -1
                    while True:
                        g = math.log(_uniform(rng, c)) * inv
                        if g >= n - 1 - k:
                            break
                        k += np.int64(g) + 1
                        ring[(m_count + (k >> 6)) & mask, c] ^= _U1 << np.uint64(k & 63)
            if keep_m:
                for i in range(t1 - t0):
                    for c in range(W):
                        words[m_count + i, c] = ring[(m_count + i) & mask, c] ^ refw[m_count + i]
            m_count += t1 - t0
        elif code == OP_RESET:
            for i in range(t0, t1):
                _collapse(a, 1, targets[i], x, z, rng, W)
        elif code in (OP_NOISE1, OP_NOISE2, OP_CORR):
            width = 1 if code == OP_NOISE1 else 2
            n = 64 if code == OP_CORR else (t1 - t0) // width * 64
            inv = fprog[pc, 1]
            for c in range(W):
                k = -1
                while True:
                    g = math.log(_uniform(rng, c)) * inv
                    if g >= n - 1 - k:
                        break
                    k += np.int64(g) + 1
                    bit = _U1 << np.uint64(k & 63)
                    if code == OP_CORR:
                        for i in range(t0, t1, 2):
                            _apply_pauli(targets[i + 1], targets[i], 0, bit, x, z, c)
                    else:
                        i = t0 + (k >> 6) * width
                        code2 = itab[_pick(rng, c, ftab, a, b)]
                        _apply_pauli(code2, targets[i], targets[i + width - 1], bit, x, z, c)
        elif code == OP_DETECTORS:
            i = t0
            while i < t1:
                n = targets[i]
                for c in range(W):
                    acc = np.uint64(0)
                    for j in range(i + 1, i + 1 + n):
                        acc ^= ring[(m_count - targets[j]) & mask, c]
                    words[d_count, c] = acc
                d_count += 1
                i += n + 1
        elif code == OP_OBSERVABLE:
            for j in range(t0, t1):
                for c in range(W):
                    words[ndet + a, c] ^= ring[(m_count - targets[j]) & mask, c]
        elif code == OP_REPEAT:
            stack_pc[sp] = pc
            stack_left[sp] = a
            sp += 1
        elif code == OP_END:
            stack_left[sp - 1] -= 1
            if stack_left[sp - 1] > 0:
                pc = stack_pc[sp - 1]
            else:
                sp -= 1
        pc += 1


@njit(cache=True)
def _transpose64(A):
    """In place: bit j of A[i] <-> bit i of A[j] (a 64x64 bit-matrix transpose)."""
    j = 32
    m = np.uint64(0x00000000FFFFFFFF)
    while j != 0:
        k = 0
        while k < 64:
            t = ((A[k] >> np.uint64(j)) ^ A[k + j]) & m
            A[k + j] ^= t
            A[k] ^= t << np.uint64(j)
            k = (k + j + 1) & ~j
        j >>= 1
        m ^= m << np.uint64(j)


@njit(cache=True)
def emit(words, row0, nrows, out, shot0, nshots, packed):
    """Rows [row0, row0 + nrows) of ``words`` (one bit per shot) as out[shot, row]
    bits: packed little-endian bytes (``packed``) or one byte per bit."""
    A = np.empty(64, np.uint64)
    nbytes = out.shape[1]
    for c in range(words.shape[1]):
        s_end = min(64, nshots - c * 64)
        if s_end <= 0:
            break
        for blk in range((nrows + 63) // 64):
            r_end = min(64, nrows - blk * 64)
            for i in range(64):
                A[i] = words[row0 + blk * 64 + i, c] if i < r_end else np.uint64(0)
            _transpose64(A)
            for s in range(s_end):
                v = A[s]
                row = out[shot0 + c * 64 + s]
                if packed:
                    for j in range(min(8, nbytes - blk * 8)):
                        row[blk * 8 + j] = np.uint8((v >> np.uint64(8 * j)) & np.uint64(255))
                else:
                    for j in range(r_end):
                        row[blk * 64 + j] = np.uint8((v >> np.uint64(j)) & _U1)


@njit(cache=True, nogil=True)
def sample_words(
    prog, fprog, targets, ftab, itab, nq, ring_size, nwords, refw, keep_m,
    ndet, shots, chunk_cols, seed, out_a, nrows_a, out_b, packed, ch0, ch1,
):  # fmt: skip
    """Sample the shots of chunks [ch0, ch1) (chunk_cols 64-shot columns each).

    Rows [0, nrows_a) of each chunk's words go to ``out_a``; the rows after them (the
    observables, when separated) to ``out_b``. Releases the GIL: the caller runs
    disjoint chunk ranges on threads.
    """
    ncols = (shots + 63) // 64
    for ch in range(ch0, ch1):
        col0 = ch * chunk_cols
        W = min(chunk_cols, ncols - col0)
        x = np.empty((nq, W), np.uint64)
        z = np.empty((nq, W), np.uint64)
        ring = np.zeros((ring_size, W), np.uint64)
        rng = np.empty((W, 4), np.uint64)
        words = np.empty((nwords, W), np.uint64)
        seed_columns(rng, seed, col0)
        run_columns(prog, fprog, targets, ftab, itab, x, z, ring, rng, words, refw, keep_m,
                    ndet)  # fmt: skip
        shot0 = col0 * 64
        emit(words, 0, nrows_a, out_a, shot0, shots - shot0, packed)
        if out_b.shape[1] > 0 and nwords > nrows_a:
            emit(words, nrows_a, nwords - nrows_a, out_b, shot0, shots - shot0, packed)
