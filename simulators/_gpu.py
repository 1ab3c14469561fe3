"""CuPy ``RawKernel`` implementations of the kernel interface (``simulators._kernels``,
the same methods as ``CpuKernels``). One CUDA source, compiled once per precision;
the grouped expectation values and the Pauli-transfer engine come from
``simulators._generic`` on CuPy arrays."""

from __future__ import annotations

import functools

import cupy as cp
import numpy as np

from simulators import _generic
from simulators._generic import kq_layout

_SOURCE = r"""
#include <cupy/complex.cuh>
typedef complex<REAL> cplx;
typedef long long i64;

__device__ __forceinline__ i64 insert_zero(i64 i, int bit) {
    return ((i >> bit) << (bit + 1)) | (i & ((1LL << bit) - 1));
}
__device__ __forceinline__ int parity(i64 v) { return __popcll(v) & 1; }

#define GRID_LOOP(t, total) \
    for (i64 t = blockIdx.x * (i64)blockDim.x + threadIdx.x; t < (total); \
         t += (i64)blockDim.x * gridDim.x)

extern "C" __global__ void apply_1q(cplx* s, i64 dim, i64 batch, int q,
                                    const cplx* mats, int shared) {
    i64 half = dim >> 1;
    GRID_LOOP(t, batch * half) {
        i64 b = t / half;
        i64 i0 = insert_zero(t - b * half, q), i1 = i0 | (1LL << q);
        const cplx* m = mats + (shared ? 0 : 4 * b);
        cplx* v = s + b * dim;
        cplx a0 = v[i0], a1 = v[i1];
        v[i0] = m[0] * a0 + m[1] * a1;
        v[i1] = m[2] * a0 + m[3] * a1;
    }
}

extern "C" __global__ void apply_2q(cplx* s, i64 dim, i64 batch, int q0, int q1,
                                    const cplx* mats, int shared) {
    i64 quarter = dim >> 2;
    int lo = min(q0, q1), hi = max(q0, q1);
    i64 s0 = 1LL << q0, s1 = 1LL << q1;
    GRID_LOOP(t, batch * quarter) {
        i64 b = t / quarter;
        i64 i = insert_zero(insert_zero(t - b * quarter, lo), hi);
        const cplx* m = mats + (shared ? 0 : 16 * b);
        cplx* v = s + b * dim;
        cplx a[4] = {v[i], v[i | s0], v[i | s1], v[i | s0 | s1]};
        i64 idx[4] = {i, i | s0, i | s1, i | s0 | s1};
        for (int r = 0; r < 4; ++r)
            v[idx[r]] = m[4 * r] * a[0] + m[4 * r + 1] * a[1] + m[4 * r + 2] * a[2]
                        + m[4 * r + 3] * a[3];
    }
}

extern "C" __global__ void apply_kq(cplx* s, i64 dim, i64 batch, int k,
                                    const i64* sorted_qubits, const i64* offsets,
                                    const cplx* mats, int shared) {
    int d = 1 << k;
    i64 outer = dim >> k;
    cplx buf[64];
    GRID_LOOP(t, batch * outer) {
        i64 b = t / outer;
        i64 i = t - b * outer;
        for (int j = 0; j < k; ++j) i = insert_zero(i, (int)sorted_qubits[j]);
        const cplx* m = mats + (shared ? 0 : (i64)d * d * b);
        cplx* v = s + b * dim;
        for (int l = 0; l < d; ++l) buf[l] = v[i | offsets[l]];
        for (int l = 0; l < d; ++l) {
            cplx acc = 0;
            for (int c = 0; c < d; ++c) acc += m[l * d + c] * buf[c];
            v[i | offsets[l]] = acc;
        }
    }
}

extern "C" __global__ void apply_controlled_1q(cplx* s, i64 dim, i64 batch, int control,
                                               int target, const cplx* mats, int shared) {
    i64 quarter = dim >> 2;
    int lo = min(control, target), hi = max(control, target);
    GRID_LOOP(t, batch * quarter) {
        i64 b = t / quarter;
        i64 i0 = insert_zero(insert_zero(t - b * quarter, lo), hi) | (1LL << control);
        i64 i1 = i0 | (1LL << target);
        const cplx* m = mats + (shared ? 0 : 4 * b);
        cplx* v = s + b * dim;
        cplx a0 = v[i0], a1 = v[i1];
        v[i0] = m[0] * a0 + m[1] * a1;
        v[i1] = m[2] * a0 + m[3] * a1;
    }
}

extern "C" __global__ void apply_diagonal(cplx* s, i64 dim, i64 batch, int k,
                                          const i64* qubits, const cplx* diags, int shared) {
    int d = 1 << k;
    GRID_LOOP(t, batch * dim) {
        i64 b = t / dim, j = t - b * dim;
        int local = 0;
        for (int a = 0; a < k; ++a) local |= (int)((j >> qubits[a]) & 1) << a;
        s[t] *= diags[(shared ? 0 : d * b) + local];
    }
}

extern "C" __global__ void apply_swap_pairs(cplx* s, i64 dim, i64 batch, int lo, int hi,
                                            i64 set_mask, i64 flip_a, i64 flip_b) {
    i64 quarter = dim >> 2;
    GRID_LOOP(t, batch * quarter) {
        i64 b = t / quarter;
        i64 i = insert_zero(insert_zero(t - b * quarter, lo), hi) | set_mask;
        cplx* v = s + b * dim;
        cplx tmp = v[i | flip_a];
        v[i | flip_a] = v[i | flip_b];
        v[i | flip_b] = tmp;
    }
}

extern "C" __global__ void apply_x(cplx* s, i64 dim, i64 batch, int q) {
    i64 half = dim >> 1;
    GRID_LOOP(t, batch * half) {
        i64 b = t / half;
        i64 i0 = insert_zero(t - b * half, q);
        cplx* v = s + b * dim;
        cplx tmp = v[i0];
        v[i0] = v[i0 | (1LL << q)];
        v[i0 | (1LL << q)] = tmp;
    }
}

extern "C" __global__ void pauli_terms(const cplx* s, i64 dim, i64 batch, int terms,
                                       const i64* xs, const i64* zs,
                                       const complex<double>* coeffs,
                                       complex<double>* out) {
    // out[b, j] = sum_k coeffs[k] conj(s[b, j ^ x_k]) (-1)^{|z_k & j|} s[b, j]
    GRID_LOOP(t, batch * dim) {
        i64 b = t / dim, j = t - b * dim;
        const cplx* v = s + b * dim;
        complex<double> acc = 0, here = v[j];
        for (int k = 0; k < terms; ++k) {
            complex<double> c = conj(complex<double>(v[j ^ xs[k]])) * here * coeffs[k];
            acc += parity(zs[k] & j) ? -c : c;
        }
        out[t] = acc;
    }
}

extern "C" __global__ void apply_pauli_sum(const cplx* s, i64 dim, i64 batch, int terms,
                                           const i64* xs, const i64* zs,
                                           const complex<double>* coeffs, cplx* out) {
    GRID_LOOP(t, batch * dim) {
        i64 b = t / dim, j = t - b * dim;
        const cplx* v = s + b * dim;
        complex<double> acc = 0;
        for (int k = 0; k < terms; ++k) {
            i64 src = j ^ xs[k];
            complex<double> c = coeffs[k] * complex<double>(v[src]);
            acc += parity(zs[k] & src) ? -c : c;
        }
        out[t] = cplx(acc);
    }
}
"""

_THREADS = 256


@functools.lru_cache(maxsize=2)
def _module(real: str) -> cp.RawModule:
    # CuPy 14's complex.cuh pulls in CCCL headers that need C++17
    return cp.RawModule(code=_SOURCE, options=(f"-DREAL={real}", "--std=c++17"))


class GpuKernels:
    """The kernel interface on CuPy arrays (one CUDA source, see ``_SOURCE``)."""

    name = "gpu"
    xp = cp
    # the mask kernel (``pauli_terms``, one pass) stays the path here: the generic grouped
    # form has not been timed against it on a GPU
    grouped_max_entries = 0
    # phase frames halve the CPU kernels' multiply-adds; GPU passes are memory-bound
    real_frames_from = None

    def _fn(self, state, name: str):
        real = "double" if state.dtype == cp.complex128 else "float"
        return _module(real).get_function(name)

    @staticmethod
    def _grid(total: int) -> tuple[tuple[int], tuple[int]]:
        blocks = max(1, min((total + _THREADS - 1) // _THREADS, 65535 * 32))
        return (blocks,), (_THREADS,)

    def _launch(self, state, name: str, total: int, *args) -> None:
        batch, dim = state.shape
        grid, block = self._grid(total)
        self._fn(state, name)(grid, block, (state, np.int64(dim), np.int64(batch), *args))

    # -- memory ---------------------------------------------------------------------------
    def free_bytes(self) -> int:
        free, _total = cp.cuda.runtime.memGetInfo()
        return int(free + cp.get_default_memory_pool().free_bytes())

    def zero_state(self, batch: int, num_qubits: int, dtype):
        state = cp.zeros((batch, 1 << num_qubits), dtype=dtype)
        state[:, 0] = 1
        return state

    def asarray(self, a, dtype=None):
        return cp.ascontiguousarray(cp.asarray(a, dtype=dtype))

    def to_numpy(self, a) -> np.ndarray:
        return cp.asnumpy(a)

    # -- gates ----------------------------------------------------------------------------
    def apply_matrix(self, state, qubits, mats) -> None:
        mats = self.asarray(mats, state.dtype)
        shared = np.int32(mats.shape[0] == 1)
        batch, dim = state.shape
        k = len(qubits)
        if k == 1:
            self._launch(state, "apply_1q", batch * (dim >> 1), np.int32(qubits[0]), mats, shared)
        elif k == 2:
            self._launch(
                state, "apply_2q", batch * (dim >> 2), np.int32(qubits[0]), np.int32(qubits[1]),
                mats, shared,
            )  # fmt: skip
        else:
            if k > 6:  # a 3-qubit channel on a density matrix is a 6-qubit superoperator
                raise ValueError(f"GPU dense kernels take at most 6 qubits, got {k}")
            sorted_q, offsets = (cp.asarray(a) for a in kq_layout(tuple(qubits)))
            self._launch(
                state, "apply_kq", batch * (dim >> k), np.int32(k), sorted_q, offsets, mats,
                shared,
            )  # fmt: skip

    def apply_controlled(self, state, control, target, mats) -> None:
        mats = self.asarray(mats, state.dtype)
        batch, dim = state.shape
        self._launch(
            state, "apply_controlled_1q", batch * (dim >> 2), np.int32(control),
            np.int32(target), mats, np.int32(mats.shape[0] == 1),
        )  # fmt: skip

    def apply_diagonal(self, state, qubits, diags) -> None:
        diags = self.asarray(diags, state.dtype)
        batch, dim = state.shape
        self._launch(
            state, "apply_diagonal", batch * dim, np.int32(len(qubits)),
            cp.asarray(np.asarray(qubits, dtype=np.int64)), diags,
            np.int32(diags.shape[0] == 1),
        )  # fmt: skip

    def apply_x(self, state, q) -> None:
        batch, dim = state.shape
        self._launch(state, "apply_x", batch * (dim >> 1), np.int32(q))

    def _swap_pairs(self, state, lo, hi, set_mask, flip_a, flip_b) -> None:
        batch, dim = state.shape
        self._launch(
            state, "apply_swap_pairs", batch * (dim >> 2), np.int32(lo), np.int32(hi),
            np.int64(set_mask), np.int64(flip_a), np.int64(flip_b),
        )  # fmt: skip

    def apply_cx(self, state, control, target) -> None:
        lo, hi = sorted((control, target))
        self._swap_pairs(state, lo, hi, 1 << control, 0, 1 << target)

    def apply_swap(self, state, a, b) -> None:
        lo, hi = sorted((a, b))
        self._swap_pairs(state, lo, hi, 0, 1 << a, 1 << b)

    def apply_pauli_channel(self, state, qubits, n, weights) -> None:
        """Through the channel's dense superoperator (a dedicated kernel is future work)."""
        from simulators.noise import pauli_superop

        superop = pauli_superop(np.asarray(weights))
        self.apply_matrix(state, (*qubits, *(q + n for q in qubits)), superop[None])

    def run_gates(self, state, program, entries) -> None:
        """A gate program, gate by gate (small circuits are launch-bound on a GPU anyway)."""
        for kind, qubits, offset in zip(program.kinds.tolist(), program.qubits.tolist(),
                                        program.offsets.tolist()):  # fmt: skip
            if kind in (7, 8):  # a Pauli channel on density matrices
                k = kind - 6
                g = 1 << k
                weights = cp.asnumpy(entries[0, offset : offset + g * g].real).reshape(g, g)
                n = (state.shape[1].bit_length() - 1) // 2
                self.apply_pauli_channel(state, tuple(qubits[:k]), n, weights)
            elif kind == 3:
                self.apply_x(state, qubits[0])
            elif kind == 4:
                self.apply_cx(state, qubits[0], qubits[1])
            elif kind == 5:
                self.apply_swap(state, qubits[0], qubits[1])
            else:
                k = 4 if kind == 6 else kind + 1
                d = 1 << k
                mats = entries[:, offset : offset + d * d].reshape(-1, d, d)
                self.apply_matrix(state, tuple(qubits[:k]), mats)

    def block_qubits(self, num_qubits: int, dtype) -> int:
        return 0  # no cache blocking on the GPU: plan steps go one by one

    def run_block(self, state, low, high, qubits, mats) -> None:
        for qs, m in zip(qubits, mats):
            self.apply_matrix(state, tuple(qs), self.asarray(m, state.dtype))

    def apply_product_phase(self, state, glob, phases) -> None:
        """Never called while ``real_frames_from`` is None; here for the interface."""
        from simulators._phase_frames import phase_tables

        lo, hi, low = phase_tables(glob, phases)
        view = state.reshape(len(state), -1, 1 << low)
        view *= (
            cp.asarray(hi, state.dtype)[None, :, None] * cp.asarray(lo, state.dtype)[None, None, :]
        )

    def prefers_pauli_basis(self, num_qubits: int, batch: int) -> bool:
        """Never yet: the superoperator path runs on the RawKernels above, the Pauli basis
        only on the generic (untuned) ``run_ptm``."""
        return False

    def run_ptm(self, state, n, program, entries) -> None:
        """A Pauli-transfer program on CuPy Pauli vectors (``simulators._generic``)."""
        _generic.run_ptm(cp, state, n, program, self.asarray(entries, state.dtype))

    # -- observables ----------------------------------------------------------------------
    def pauli_expvals(self, state, xs, zs, coeffs):
        batch, dim = state.shape
        out = cp.empty((batch, dim), dtype=cp.complex128)
        self._launch(
            state, "pauli_terms", batch * dim, np.int32(len(xs)), cp.asarray(xs),
            cp.asarray(zs), cp.asarray(coeffs, dtype=cp.complex128), out,
        )  # fmt: skip
        return out.sum(axis=1)

    def grouped_expvals(self, state, gxs, diagonals):
        return _generic.grouped_expvals(cp, state, gxs, self.asarray(diagonals))

    def apply_pauli_sum(self, state, xs, zs, coeffs):
        out = cp.empty_like(state)
        batch, dim = state.shape
        self._launch(
            state, "apply_pauli_sum", batch * dim, np.int32(len(xs)), cp.asarray(xs),
            cp.asarray(zs), cp.asarray(coeffs, dtype=cp.complex128), out,
        )  # fmt: skip
        return out

    def inner(self, bra, ket):
        return (bra.conj() * ket).sum(axis=1, dtype=cp.complex128)  # as the CPU: in double

    def probabilities(self, state):
        return state.real**2 + state.imag**2
