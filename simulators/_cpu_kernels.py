"""The kernel interface on NumPy arrays: Numba kernels (``simulators._cpu``,
``simulators._cpu_ptm``), threaded for large states and serial for small ones."""

from __future__ import annotations

import numba
import numpy as np

from simulators._generic import kq_layout, pauli_layout

__all__ = ["CpuKernels"]

_BLOCK_BYTES_LOG2 = 20  # bytes of one cache-blocked chunk (see CpuKernels.block_qubits)


def sorted_matrix(order, mats: np.ndarray) -> np.ndarray:
    """``mats`` re-indexed so its matrix bit j is old bit ``order[j]`` (``order``: the
    argsort of the gate's qubits gives the matrix on its qubits in ascending order)."""
    k = len(order)
    if np.all(order == np.arange(k)):
        return mats
    # axis 1 + (k - 1 - j) of the tensor form holds row bit j (k + ... for columns)
    rows = [1 + k - 1 - int(order[k - 1 - a]) for a in range(k)]
    perm = [0, *rows, *(r + k for r in rows)]
    shape = (len(mats),) + (2,) * (2 * k)
    return mats.reshape(shape).transpose(perm).reshape(mats.shape)


# one density matrix runs on one thread in the Pauli basis: above this many qubits the
# superoperator path's passes over all cores win
_PTM_SINGLE_MAX_QUBITS = 10


class CpuKernels:
    """Numba kernels (``simulators._cpu``) on NumPy arrays."""

    name = "cpu"
    xp = np
    grouped_max_entries = 1 << 21  # diagonals of at most 32 MiB
    # states (the whole batch) of at least this many amplitudes run plans in phase frames
    # (``simulators._phase_frames``: more real matrices, half the multiply-adds each);
    # below it a gate pass takes a few microseconds, about what the frame pass costs
    # per gate (0.4 ms for 95 gates here), so there is little to save
    real_frames_from = 1 << 16

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
        from qworkbench.utils import available_bytes

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
            self._kern(state).apply_kq(state, *kq_layout(tuple(qubits)), mats)

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
        rows, cols, row_off, col_off = pauli_layout(tuple(qubits), n)
        self._kern(state).pauli_channel(state, rows, cols, row_off, col_off, weights)

    def run_gates(self, state, program, entries) -> None:
        """A whole gate program (``simulators._program``) in one call."""
        self._kern(state).run_gates(state, program.kinds, program.qubits, program.offsets, entries)

    def block_qubits(self, num_qubits: int, dtype) -> int:
        """Chunks of 1 MiB as split real/imaginary arrays (half the 2 MiB L2 of a core
        here), so complex64 chunks hold twice the amplitudes of complex128 ones."""
        return _BLOCK_BYTES_LOG2 - int(np.dtype(dtype).itemsize).bit_length() + 1

    def run_block(self, state, low: int, high: tuple[int, ...], qubits, mats) -> None:
        from simulators import _cpu_blocked

        local = {q: q for q in range(low)}
        local.update({q: low + j for j, q in enumerate(high)})
        real = state.real.dtype
        count = len(mats)
        batch_m = max(len(m) for m in mats)
        widths = np.empty(count, dtype=np.int64)
        positions = np.zeros((count, _cpu_blocked.MAX_BLOCK_GATE_QUBITS), np.int64)
        flat = []
        for g, (qs, m) in enumerate(zip(qubits, mats)):
            here = [local[q] for q in qs]
            m = np.asarray(m)
            if any(here[j] > here[j + 1] for j in range(len(here) - 1)):
                m = sorted_matrix(np.argsort(here), m)
                here.sort()
            widths[g] = len(here)
            positions[g, : len(here)] = here
            flat.append(m.reshape(len(m), -1))
        starts = np.zeros(count, dtype=np.int64)
        np.cumsum(1 << (2 * widths[:-1]), out=starts[1:])
        if batch_m == 1:
            flat = np.concatenate(flat, axis=1)
        else:
            flat = np.concatenate([np.broadcast_to(f, (batch_m, f.shape[1])) for f in flat], 1)
        kernel, workers = _cpu_blocked.run_block_serial, 1
        if state.size >= self._serial_below:
            kernel, workers = _cpu_blocked.run_block, numba.get_num_threads()
        kernel(state, low, np.asarray(high, dtype=np.int64), widths, positions, starts,
               np.ascontiguousarray(flat.real, real), np.ascontiguousarray(flat.imag, real),
               workers)  # fmt: skip

    def apply_product_phase(self, state, glob: complex, phases) -> None:
        """Multiply amplitude x by ``glob * prod_q phases[q]^{x_q}`` (the frame a plan run
        in phase frames ends in, ``simulators._phase_frames``)."""
        from simulators import _cpu_blocked
        from simulators._phase_frames import phase_tables

        lo, hi, low = phase_tables(glob, phases)
        kernel = _cpu_blocked.product_phase_serial
        if state.size >= self._serial_below:
            kernel = _cpu_blocked.product_phase
        kernel(state, lo.astype(state.dtype), hi.astype(state.dtype), low)

    def prefers_pauli_basis(self, num_qubits: int, batch: int) -> bool:
        """Up to 10 qubits, or a batch that fills every thread (one matrix per thread)."""
        import numba

        return num_qubits <= _PTM_SINGLE_MAX_QUBITS or batch >= numba.get_num_threads()

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
