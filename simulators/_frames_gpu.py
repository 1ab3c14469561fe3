"""CUDA twin of ``_frames.py``: the frame sampler's bytecode run by one GPU thread per
64-shot column, with the same per-column xoshiro256** streams, so that a seed gives
the CPU's results bit for bit.

CuPy is imported only when a GPU run is asked for. ``CUDA_SOURCE`` is plain C apart
from its two ``__global__`` wrappers; the tests compile it with a host C compiler
(``-DFRAMES_HOST``) and check it against the Numba kernels on machines without a GPU.
"""

from __future__ import annotations

import functools

import numpy as np

from simulators import _frames as K

CUDA_SOURCE = r"""
#ifdef FRAMES_HOST
#include <math.h>
#define DEVICE static
#else
#define DEVICE __device__ __forceinline__
#endif
typedef unsigned long long u64;
typedef long long i64;

enum { OP_H, OP_S, OP_SX, OP_G1, OP_CX, OP_CZ, OP_SWAP, OP_G2, OP_MEASURE, OP_RESET,
       OP_NOISE1, OP_NOISE2, OP_CORR, OP_DETECTORS, OP_OBSERVABLE, OP_REPEAT, OP_END };

DEVICE u64 rotl(u64 v, int k) { return (v << k) | (v >> (64 - k)); }

DEVICE u64 next(u64 *s) {
    u64 out = rotl(s[1] * 5ULL, 7) * 9ULL;
    u64 t = s[1] << 17;
    s[2] ^= s[0]; s[3] ^= s[1]; s[1] ^= s[2]; s[0] ^= s[3]; s[2] ^= t;
    s[3] = rotl(s[3], 45);
    return out;
}

DEVICE double uniform(u64 *s) {
    return (double)((next(s) >> 11) + 1ULL) * (1.0 / 9007199254740992.0);
}

DEVICE u64 mask(i64 m, int bit) { return ((m >> bit) & 1) ? ~0ULL : 0ULL; }

DEVICE void apply_pauli(i64 code, u64 *xa, u64 *za, u64 *xb, u64 *zb, u64 bit) {
    if (code & 1) *xa ^= bit;
    if (code & 2) *za ^= bit;
    if (code & 4) *xb ^= bit;
    if (code & 8) *zb ^= bit;
}

DEVICE void gauge(i64 basis, u64 *xq, u64 *zq, u64 *s) {
    u64 r = next(s);
    if (basis == 0) *zq ^= r;
    else if (basis == 1) *xq ^= r;
    else if (basis == 2) { *xq ^= r; *zq ^= r; }
}

/* Column c of n: frames x, z and ring, words are (rows, n) row-major. */
DEVICE void run_column(i64 c, i64 n, i64 col, const i64 *prog, const double *fprog,
                       i64 nops, const i64 *targets, const double *ftab, const i64 *itab,
                       i64 nq, i64 ring_size, i64 nwords, const u64 *refw, int keep_m,
                       i64 ndet, u64 seed, u64 *x, u64 *z, u64 *ring, u64 *words) {
    u64 s[4];
    u64 st = seed ^ ((u64)col * 0xD1B54A32D192ED03ULL);
    for (int i = 0; i < 4; i++) {
        st += 0x9E3779B97F4A7C15ULL;
        u64 v = st;
        v = (v ^ (v >> 30)) * 0xBF58476D1CE4E5B9ULL;
        v = (v ^ (v >> 27)) * 0x94D049BB133111EBULL;
        s[i] = v ^ (v >> 31);
    }
    for (i64 q = 0; q < nq; q++) { x[q * n + c] = 0; z[q * n + c] = next(s); }
    for (i64 r = 0; r < nwords; r++) words[r * n + c] = 0;
    i64 mask_r = ring_size - 1;
    i64 stack_pc[64], stack_left[64];
    int sp = 0;
    i64 m_count = 0, d_count = 0;
    for (i64 pc = 0; pc < nops; pc++) {
        const i64 *op = prog + 5 * pc;
        i64 code = op[0], t0 = op[1], t1 = op[2], a = op[3], b = op[4];
        if (code == OP_H || code == OP_S || code == OP_SX || code == OP_G1) {
            for (i64 i = t0; i < t1; i++) {
                u64 *xq = x + targets[i] * n + c, *zq = z + targets[i] * n + c;
                u64 xv = *xq, zv = *zq;
                if (code == OP_H) { *xq = zv; *zq = xv; }
                else if (code == OP_S) *zq = zv ^ xv;
                else if (code == OP_SX) *xq = xv ^ zv;
                else {
                    *xq = (xv & mask(a, 0)) ^ (zv & mask(a, 1));
                    *zq = (xv & mask(a, 2)) ^ (zv & mask(a, 3));
                }
            }
        } else if (code <= OP_G2) {
            for (i64 i = t0; i < t1; i += 2) {
                u64 *xa = x + targets[i] * n + c, *za = z + targets[i] * n + c;
                u64 *xb = x + targets[i + 1] * n + c, *zb = z + targets[i + 1] * n + c;
                u64 v0 = *xa, v1 = *za, v2 = *xb, v3 = *zb;
                if (code == OP_CX) { *xb = v2 ^ v0; *za = v1 ^ v3; }
                else if (code == OP_CZ) { *za = v1 ^ v2; *zb = v3 ^ v0; }
                else if (code == OP_SWAP) { *xa = v2; *xb = v0; *za = v3; *zb = v1; }
                else {
                    u64 o[4];
                    for (int k = 0; k < 4; k++)
                        o[k] = (v0 & mask(a, 4 * k)) ^ (v1 & mask(a, 4 * k + 1))
                             ^ (v2 & mask(a, 4 * k + 2)) ^ (v3 & mask(a, 4 * k + 3));
                    *xa = o[0]; *za = o[1]; *xb = o[2]; *zb = o[3];
                }
            }
        } else if (code == OP_MEASURE) {
            for (i64 i = t0; i < t1; i++) {
                i64 q = targets[i];
                u64 *slot = ring + ((m_count + i - t0) & mask_r) * n + c;
                u64 *xq = x + q * n + c, *zq = z + q * n + c;
                *slot = a == 0 ? *xq : a == 1 ? *zq : a == 2 ? (*xq ^ *zq) : 0ULL;
                if (a != 3) {
                    if (b) { *xq = 0; *zq = 0; }
                    gauge(a, xq, zq, s);
                }
            }
            double p = fprog[2 * pc], inv = fprog[2 * pc + 1];
            if (p > 0.0) {
                i64 trials = (t1 - t0) * 64, k = -1;
                for (;;) {
                    double g = log(uniform(s)) * inv;
                    if (g >= (double)(trials - 1 - k)) break;
                    k += (i64)g + 1;
                    ring[((m_count + (k >> 6)) & mask_r) * n + c] ^= 1ULL << (k & 63);
                }
            }
            if (keep_m)
                for (i64 i = 0; i < t1 - t0; i++)
                    words[(m_count + i) * n + c] =
                        ring[((m_count + i) & mask_r) * n + c] ^ refw[m_count + i];
            m_count += t1 - t0;
        } else if (code == OP_RESET) {
            for (i64 i = t0; i < t1; i++) {
                u64 *xq = x + targets[i] * n + c, *zq = z + targets[i] * n + c;
                *xq = 0; *zq = 0;
                gauge(a, xq, zq, s);
            }
        } else if (code == OP_NOISE1 || code == OP_NOISE2 || code == OP_CORR) {
            i64 width = code == OP_NOISE1 ? 1 : 2;
            i64 trials = code == OP_CORR ? 64 : (t1 - t0) / width * 64, k = -1;
            double inv = fprog[2 * pc + 1];
            for (;;) {
                double g = log(uniform(s)) * inv;
                if (g >= (double)(trials - 1 - k)) break;
                k += (i64)g + 1;
                u64 bit = 1ULL << (k & 63);
                if (code == OP_CORR) {
                    for (i64 i = t0; i < t1; i += 2) {
                        u64 dummy = 0;
                        apply_pauli(targets[i + 1], x + targets[i] * n + c,
                                    z + targets[i] * n + c, &dummy, &dummy, bit);
                    }
                } else {
                    i64 i = t0 + (k >> 6) * width, pick = b - 1;
                    if (b - a == 1) pick = a;
                    else {
                        double u = uniform(s);
                        for (i64 j = a; j < b - 1; j++) if (u <= ftab[j]) { pick = j; break; }
                    }
                    i64 qa = targets[i], qb = targets[i + width - 1];
                    apply_pauli(itab[pick], x + qa * n + c, z + qa * n + c,
                                x + qb * n + c, z + qb * n + c, bit);
                }
            }
        } else if (code == OP_DETECTORS) {
            for (i64 i = t0; i < t1;) {
                i64 cnt = targets[i];
                u64 acc = 0;
                for (i64 j = i + 1; j < i + 1 + cnt; j++)
                    acc ^= ring[((m_count - targets[j]) & mask_r) * n + c];
                words[d_count * n + c] = acc;
                d_count++;
                i += cnt + 1;
            }
        } else if (code == OP_OBSERVABLE) {
            for (i64 j = t0; j < t1; j++)
                words[(ndet + a) * n + c] ^= ring[((m_count - targets[j]) & mask_r) * n + c];
        } else if (code == OP_REPEAT) {
            stack_pc[sp] = pc; stack_left[sp] = a; sp++;
        } else if (code == OP_END) {
            if (--stack_left[sp - 1] > 0) pc = stack_pc[sp - 1];
            else sp--;
        }
    }
}

/* out[shot, j]: packed, byte j holds rows 8j..8j+7 (little-endian bits); else row j. */
DEVICE void emit_one(i64 idx, const u64 *words, i64 n, i64 row0, i64 nrows, unsigned char *out,
                     i64 width, i64 nshots, int packed) {
    i64 shot = idx / width, j = idx % width;
    if (shot >= nshots) return;
    const u64 *w = words + (shot >> 6);
    int bit = (int)(shot & 63);
    if (packed) {
        unsigned v = 0;
        for (int b = 0; b < 8 && 8 * j + b < nrows; b++)
            v |= (unsigned)((w[(row0 + 8 * j + b) * n] >> bit) & 1ULL) << b;
        out[idx] = (unsigned char)v;
    } else {
        out[idx] = (unsigned char)((w[(row0 + j) * n] >> bit) & 1ULL);
    }
}

#ifndef FRAMES_HOST
extern "C" __global__ void frames_run(i64 n, i64 col0, const i64 *prog, const double *fprog,
        i64 nops, const i64 *targets, const double *ftab, const i64 *itab, i64 nq,
        i64 ring_size, i64 nwords, const u64 *refw, int keep_m, i64 ndet, u64 seed,
        u64 *x, u64 *z, u64 *ring, u64 *words) {
    i64 c = (i64)blockIdx.x * blockDim.x + threadIdx.x;
    if (c < n)
        run_column(c, n, col0 + c, prog, fprog, nops, targets, ftab, itab, nq, ring_size,
                   nwords, refw, keep_m, ndet, seed, x, z, ring, words);
}

extern "C" __global__ void frames_emit(const u64 *words, i64 n, i64 row0, i64 nrows,
        unsigned char *out, i64 width, i64 nshots, int packed) {
    i64 idx = (i64)blockIdx.x * blockDim.x + threadIdx.x;
    if (idx < nshots * width) emit_one(idx, words, n, row0, nrows, out, width, nshots, packed);
}
#else
void frames_run(i64 n, i64 col0, const i64 *prog, const double *fprog, i64 nops,
        const i64 *targets, const double *ftab, const i64 *itab, i64 nq, i64 ring_size,
        i64 nwords, const u64 *refw, int keep_m, i64 ndet, u64 seed, u64 *x, u64 *z,
        u64 *ring, u64 *words) {
    for (i64 c = 0; c < n; c++)
        run_column(c, n, col0 + c, prog, fprog, nops, targets, ftab, itab, nq, ring_size,
                   nwords, refw, keep_m, ndet, seed, x, z, ring, words);
}

void frames_emit(const u64 *words, i64 n, i64 row0, i64 nrows, unsigned char *out,
        i64 width, i64 nshots, int packed) {
    for (i64 idx = 0; idx < nshots * width; idx++)
        emit_one(idx, words, n, row0, nrows, out, width, nshots, packed);
}
#endif
"""

_OPCODES = ["OP_H", "OP_S", "OP_SX", "OP_G1", "OP_CX", "OP_CZ", "OP_SWAP", "OP_G2",
            "OP_MEASURE", "OP_RESET", "OP_NOISE1", "OP_NOISE2", "OP_CORR", "OP_DETECTORS",
            "OP_OBSERVABLE", "OP_REPEAT", "OP_END"]  # fmt: skip
# the C enum above numbers the opcodes in this order; keep _frames.py's values in step
assert [getattr(K, name) for name in _OPCODES] == list(range(len(_OPCODES)))

#: bytes of GPU scratch (frames, ring, words) one launch may use
GPU_CHUNK_BYTES = 2 * 1024**3


@functools.cache
def available() -> bool:
    """Whether CuPy is installed and sees a CUDA device."""
    try:
        import cupy

        return cupy.cuda.runtime.getDeviceCount() > 0
    except Exception:  # ImportError, or CUDA driver errors without a GPU
        return False


@functools.cache
def _kernels():
    import cupy

    module = cupy.RawModule(code=CUDA_SOURCE, options=("--std=c++14",))
    return module.get_function("frames_run"), module.get_function("frames_emit")


def sample(prog, shots, seed, outs, nrows_a, nwords, refw, keep_m, packed):
    """Fill ``outs`` (host arrays) like ``frames._cpu_sample``, on the GPU in chunks of
    columns whose scratch stays within GPU_CHUNK_BYTES."""
    import cupy

    run, emit = _kernels()
    dev = [cupy.asarray(a) for a in (prog.prog, prog.fprog, prog.targets, prog.ftab,
                                     prog.itab, refw)]  # fmt: skip
    ncols = (shots + 63) // 64
    per_col = (2 * prog.num_qubits + prog.ring_size + nwords) * 8
    chunk = int(max(1, min(ncols, GPU_CHUNK_BYTES // per_col)))
    i64, u64 = np.int64, np.uint64
    widths = [o.shape[1] for o in outs]
    for col0 in range(0, ncols, chunk):
        n = min(chunk, ncols - col0)
        x = cupy.empty((prog.num_qubits, n), cupy.uint64)
        z = cupy.empty_like(x)
        ring = cupy.zeros((prog.ring_size, n), cupy.uint64)
        words = cupy.empty((nwords, n), cupy.uint64)
        run(((n + 127) // 128,), (128,),
            (i64(n), i64(col0), dev[0], dev[1], i64(len(prog.prog)), dev[2], dev[3], dev[4],
             i64(prog.num_qubits), i64(prog.ring_size), i64(nwords), dev[5],
             np.int32(keep_m), i64(prog.num_detectors), u64(seed), x, z, ring,
             words))  # fmt: skip
        del x, z, ring
        shot0 = col0 * 64
        nshots = min(shots - shot0, n * 64)
        parts = [(0, nrows_a)] + ([(nrows_a, nwords - nrows_a)] if len(outs) > 1 else [])
        for out, width, (row0, nrows) in zip(outs, widths, parts):
            if width == 0 or nrows == 0:
                continue
            buf = cupy.empty((nshots, width), cupy.uint8)
            total = nshots * width
            emit(((total + 255) // 256,), (256,),
                 (words, i64(n), i64(row0), i64(nrows), buf, i64(width), i64(nshots),
                  np.int32(packed)))  # fmt: skip
            out[shot0 : shot0 + nshots] = cupy.asnumpy(buf)
