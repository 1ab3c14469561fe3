"""The kernel interface: the only place that knows whether states live on CPU or GPU.

The simulation loops (statevector, density matrix, adjoint gradients, shots) are
written once over the :class:`Kernels` Protocol; ``CpuKernels``
(``simulators._cpu_kernels``, Numba) and ``GpuKernels`` (``simulators._gpu``, CuPy)
implement all of it, and no caller asks which one it has. A state is an ``xp`` array
of shape (batch, 2**n); matrices are (batch_m, d, d) with batch_m 1 or batch.
Operations a device has no dedicated kernel for come from ``simulators._generic``.
"""

from __future__ import annotations

import functools
from typing import Any, Protocol, runtime_checkable

from simulators._cpu_kernels import CpuKernels

__all__ = ["Kernels", "CpuKernels", "get_kernels", "gpu_available"]


@runtime_checkable
class Kernels(Protocol):
    """Every operation the simulation loops call on a device's arrays."""

    name: str  # "cpu" or "gpu"
    xp: Any  # the array namespace of the states (numpy or cupy)
    # diagonal entries up to which ``grouped_expvals`` beats ``pauli_expvals`` (0: never)
    grouped_max_entries: int
    # states (the whole batch) of at least this many amplitudes run plans in phase
    # frames (``simulators._phase_frames``); None: never (the device gains nothing)
    real_frames_from: int | None

    # -- memory -------------------------------------------------------------------------
    def free_bytes(self) -> int:
        """Bytes free for states on the device now."""
        ...

    def zero_state(self, batch: int, num_qubits: int, dtype) -> Any:
        """(batch, 2**num_qubits) states at |0...0>."""
        ...

    def asarray(self, a, dtype=None) -> Any:
        """``a`` as a contiguous array on the device."""
        ...

    def to_numpy(self, a) -> Any:
        """A device array as a NumPy array."""
        ...

    # -- gates (in place) -----------------------------------------------------------------
    def apply_matrix(self, state, qubits: tuple[int, ...], mats) -> None:
        """Dense (batch_m, 2**k, 2**k) matrices on ``qubits`` (matrix bit j = qubits[j])."""
        ...

    def apply_controlled(self, state, control: int, target: int, mats) -> None:
        """(batch_m, 2, 2) matrices on ``target`` where ``control`` is 1."""
        ...

    def apply_diagonal(self, state, qubits: tuple[int, ...], diags) -> None:
        """(batch_m, 2**k) diagonals on ``qubits``."""
        ...

    def apply_x(self, state, q: int) -> None: ...

    def apply_cx(self, state, control: int, target: int) -> None: ...

    def apply_swap(self, state, a: int, b: int) -> None: ...

    def apply_pauli_channel(self, state, qubits, n: int, weights) -> None:
        """A Pauli channel on ``qubits`` of density matrices stored as 2n-qubit states."""
        ...

    def run_gates(self, state, program, entries) -> None:
        """A whole gate program (``simulators._program``, or the density matrix's)."""
        ...

    def block_qubits(self, num_qubits: int, dtype) -> int:
        """log2 of the amplitudes ``run_block`` keeps in cache per chunk of a
        ``num_qubits`` state (0: the device applies plan steps one by one)."""
        ...

    def run_block(self, state, low: int, high: tuple[int, ...], qubits, mats) -> None:
        """Dense matrices ``mats[g]`` ((batch_m, 2**k, 2**k)) on ``qubits[g]``, in order,
        in one pass: each chunk of the state (index bits below ``low`` and the ascending
        ``high`` qubits) goes through every gate before the next chunk is read."""
        ...

    def apply_product_phase(self, state, glob: complex, phases) -> None:
        """Multiply amplitude x by ``glob * prod_q phases[q]^{x_q}``, in place (the frame
        a plan run in phase frames ends in)."""
        ...

    # -- density matrices in the Pauli basis ----------------------------------------------
    def prefers_pauli_basis(self, num_qubits: int, batch: int) -> bool:
        """Whether ``batch`` density matrices of ``num_qubits`` run faster as Pauli vectors
        (``run_ptm``) than as superoperators on 2n-qubit states."""
        ...

    def run_ptm(self, state, n: int, program, entries) -> None:
        """A Pauli-transfer program (``simulators._ptm``) on real (batch, 4**n) vectors,
        each started at |0...0>."""
        ...

    # -- observables ----------------------------------------------------------------------
    def pauli_expvals(self, state, xs, zs, coeffs) -> Any:
        """sum_k c_k <s|P_k|s> per row from Pauli masks (``_common.pauli_arrays``)."""
        ...

    def grouped_expvals(self, state, gxs, diagonals) -> Any:
        """The same from X masks and diagonals (``_common.grouped_diagonals``)."""
        ...

    def apply_pauli_sum(self, state, xs, zs, coeffs) -> Any:
        """H|s> per row, a new array."""
        ...

    def inner(self, bra, ket) -> Any:
        """<bra|ket> per row, in complex128."""
        ...

    def probabilities(self, state) -> Any:
        """|s_j|**2 per row."""
        ...


@functools.lru_cache(maxsize=1)
def gpu_available() -> bool:
    """Whether CuPy is installed and sees a CUDA device."""
    try:
        import cupy

        return cupy.cuda.runtime.getDeviceCount() > 0
    except Exception:  # ImportError, or CUDA driver errors without a GPU
        return False


@functools.lru_cache(maxsize=4)
def get_kernels(device: str) -> Kernels:
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
