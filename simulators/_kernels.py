"""The kernel interface: the only place that knows whether states live on CPU or GPU.

The simulation loop, fusion, expectation values, sampling and gradients are
written once over these methods. A state is an ``xp`` array of shape
(batch, 2**n); matrices are (batch_m, d, d) with batch_m 1 or batch.
"""

from __future__ import annotations

import functools

import numpy as np

__all__ = ["CpuKernels", "get_kernels", "gpu_available"]


class CpuKernels:
    """Numba kernels (``simulators._cpu``) on NumPy arrays."""

    name = "cpu"
    xp = np

    def __init__(self):
        from simulators import _cpu

        self._parallel = _cpu
        self._serial = _cpu.serial
        self._serial_below = _cpu.SERIAL_BELOW

    def _kern(self, state):
        """The threaded kernels for large states, their serial twins for small ones."""
        return self._serial if state.size < self._serial_below else self._parallel

    # -- memory ---------------------------------------------------------------------------
    def free_bytes(self) -> int:
        from qworkbench._memory import available_bytes

        return available_bytes()

    def zero_state(self, batch: int, num_qubits: int, dtype) -> np.ndarray:
        state = np.zeros((batch, 1 << num_qubits), dtype=dtype)
        state[:, 0] = 1
        return state

    def asarray(self, a, dtype=None):
        return np.ascontiguousarray(a, dtype=dtype)

    def to_numpy(self, a) -> np.ndarray:
        return np.asarray(a)

    # -- gates ----------------------------------------------------------------------------
    def apply_matrix(self, state, qubits: tuple[int, ...], mats) -> None:
        if len(qubits) == 1:
            self._kern(state).apply_1q(state, qubits[0], mats)
        elif len(qubits) == 2:
            self._kern(state).apply_2q(state, qubits[0], qubits[1], mats)
        else:
            self._kern(state).apply_kq(state, *_kq_layout(qubits), mats)

    def apply_controlled(self, state, control: int, target: int, mats) -> None:
        # the blocked dense 2-qubit kernel beats the indexed controlled one on CPU
        full = np.zeros((len(mats), 4, 4), dtype=mats.dtype)
        full[:, 0, 0] = full[:, 2, 2] = 1  # control (bit 0) is 0
        full[:, 1::2, 1::2] = mats
        self._kern(state).apply_2q(state, control, target, full)

    def apply_diagonal(self, state, qubits: tuple[int, ...], diags) -> None:
        if len(qubits) <= 2:  # blocked dense kernels are faster than the indexed diagonal
            d = diags.shape[1]
            full = np.zeros((len(diags), d, d), dtype=diags.dtype)
            full[:, np.arange(d), np.arange(d)] = diags
            self.apply_matrix(state, qubits, full)
        else:
            self._kern(state).apply_diagonal(state, np.asarray(qubits, dtype=np.int64), diags)

    def apply_x(self, state, q: int) -> None:
        self._kern(state).apply_x(state, q)

    def apply_cx(self, state, control: int, target: int) -> None:
        lo, hi = sorted((control, target))
        self._kern(state).swap_pairs(state, lo, hi, 1 << control, 0, 1 << target)

    def apply_swap(self, state, a: int, b: int) -> None:
        lo, hi = sorted((a, b))
        self._kern(state).swap_pairs(state, lo, hi, 0, 1 << a, 1 << b)

    def apply_pauli_channel(self, state, qubits, n, weights) -> None:
        """A Pauli channel on ``qubits`` of density matrices stored as 2n-qubit states;
        ``weights[x, d]`` as in ``_cpu.pauli_channel``."""
        rows, cols, row_off, col_off = _pauli_layout(tuple(qubits), n)
        self._kern(state).pauli_channel(state, rows, cols, row_off, col_off, weights)

    def run_gates(self, state, program, entries) -> None:
        """A whole gate program (``simulators._program``) in one call."""
        self._kern(state).run_gates(state, program.kinds, program.qubits, program.offsets, entries)

    def run_ptm(self, state, n, program, entries) -> None:
        """A Pauli-transfer program (``simulators._ptm``) on Pauli vectors (batch, 4**n)."""
        from simulators import _cpu_ptm

        small = len(state) == 1 or state.size < self._serial_below
        kernel = _cpu_ptm.run_ptm_serial if small else _cpu_ptm.run_ptm
        kernel(state, n, program.kinds, program.qubits, program.offsets, program.perms, entries)

    # -- observables ----------------------------------------------------------------------
    def pauli_expvals(self, state, xs, zs, coeffs):
        return self._kern(state).pauli_expvals(state, xs, zs, coeffs)

    def grouped_expvals(self, state, gxs, diagonals):
        return self._kern(state).grouped_expvals(state, gxs, diagonals)

    def apply_pauli_sum(self, state, xs, zs, coeffs):
        out = np.empty_like(state)
        self._kern(state).apply_pauli_sum(state, xs, zs, coeffs, out)
        return out

    def inner(self, bra, ket):
        return self._kern(bra).inner(bra, ket)

    def probabilities(self, state):
        return state.real**2 + state.imag**2


@functools.lru_cache(maxsize=1024)
def _kq_layout(qubits: tuple[int, ...]) -> tuple[np.ndarray, np.ndarray]:
    """Sorted qubits and the index offset of each local index (bit k -> qubits[k])."""
    d = 1 << len(qubits)
    offsets = np.zeros(d, dtype=np.int64)
    for local in range(d):
        for k, q in enumerate(qubits):
            if (local >> k) & 1:
                offsets[local] |= 1 << q
    return np.array(sorted(qubits), dtype=np.int64), offsets


@functools.lru_cache(maxsize=1024)
def _pauli_layout(qubits: tuple[int, ...], n: int):
    rows = np.array(qubits, dtype=np.int64)
    cols = rows + n
    g = 1 << len(qubits)
    row_off = np.array([sum(1 << q for a, q in enumerate(qubits) if (x >> a) & 1)
                        for x in range(g)], dtype=np.int64)  # fmt: skip
    return rows, cols, row_off, row_off << n


@functools.lru_cache(maxsize=1)
def gpu_available() -> bool:
    """Whether CuPy is installed and sees a CUDA device."""
    try:
        import cupy

        return cupy.cuda.runtime.getDeviceCount() > 0
    except Exception:  # ImportError, or CUDA driver errors without a GPU
        return False


@functools.lru_cache(maxsize=4)
def get_kernels(device: str):
    """The kernels for ``device`` ("cpu", "gpu" or "auto": the GPU when CuPy sees one)."""
    if device not in ("auto", "cpu", "gpu"):
        raise ValueError(f"device must be 'auto', 'cpu' or 'gpu', got {device!r}")
    if device == "auto":
        device = "gpu" if gpu_available() else "cpu"
    if device == "gpu":
        if not gpu_available():
            raise RuntimeError("device='gpu' needs CuPy and a CUDA GPU; none was found")
        from simulators._gpu import GpuKernels

        return GpuKernels()
    return CpuKernels()
