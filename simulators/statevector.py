"""The statevector simulator: one loop over the kernel interface for CPU and GPU.

``StatevectorSimulator`` only holds options; the work is in module functions
(``run_plan``, ``adjoint_gradient``) written against ``simulators._kernels``.
"""

from __future__ import annotations

import numpy as np

from qworkbench import Circuit, PauliSum
from qworkbench._memory import check_allocation
from simulators._kernels import get_kernels
from simulators._plan import Plan, PlanCache, bind_params
from simulators._program import SMALL_MAX_QUBITS

__all__ = [
    "StatevectorSimulator",
    "run_plan",
    "apply_step",
    "as_pauli_sum",
    "pauli_arrays",
    "check_shots",
    "counts_from_probabilities",
]

_PRECISIONS = {"double": np.complex128, "single": np.complex64}
_MAX_QUBITS = 40
_CHECK_ABOVE_BYTES = 64 << 20  # smaller allocations skip the (comparatively slow) memory query


def run_plan(kernels, plan: Plan, params: np.ndarray | None, batch: int, dtype, state=None):
    """Apply every step of ``plan`` to ``state`` (default |0...0>), in place."""
    if state is None:
        state = kernels.zero_state(batch, plan.num_qubits, dtype)
    for step in plan.steps:
        apply_step(kernels, state, step, step.operand(params), dtype)
    return state


def apply_step(kernels, state, step, operand, dtype, adjoint: bool = False) -> None:
    """One step (or its inverse with ``adjoint``) on ``state``."""
    kind = step.kind
    if kind == "x":
        kernels.apply_x(state, *step.qubits)
    elif kind == "cx":
        kernels.apply_cx(state, *step.qubits)
    elif kind == "swap":
        kernels.apply_swap(state, *step.qubits)
    else:
        if adjoint:
            operand = operand.conj() if kind == "diagonal" else operand.conj().swapaxes(-1, -2)
        operand = kernels.asarray(operand, dtype)
        if kind == "diagonal":
            kernels.apply_diagonal(state, step.qubits, operand)
        elif kind == "controlled":
            kernels.apply_controlled(state, step.qubits[0], step.qubits[1], operand)
        else:
            kernels.apply_matrix(state, step.qubits, operand)


def as_pauli_sum(observable, num_qubits: int) -> PauliSum:
    """``observable`` (PauliSum or qiskit SparsePauliOp) checked against ``num_qubits``."""
    if not isinstance(observable, PauliSum):
        try:
            from qiskit.quantum_info import SparsePauliOp

            if isinstance(observable, SparsePauliOp):
                observable = PauliSum.from_qiskit(observable)
        except ImportError:  # pragma: no cover
            pass
    if not isinstance(observable, PauliSum):
        raise TypeError(f"observable must be a PauliSum, got {type(observable).__name__}")
    if observable.num_qubits != num_qubits:
        raise ValueError(
            f"observable acts on {observable.num_qubits} qubits, the circuit on {num_qubits}"
        )
    return observable


def pauli_arrays(observable: PauliSum) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """(xs, zs, coeffs) int64/int64/complex128 with i^{|x&z|} folded into coeffs."""
    return observable.memo("statevector_masks", lambda: _pauli_arrays(observable))


_GROUPED_MAX_ENTRIES = 1 << 21  # diagonals of at most 32 MiB


def grouped_diagonals(observable: PauliSum, num_qubits: int):
    """(X masks, diagonals) with the terms sharing an X mask folded into one diagonal
    D_x[j] = sum_k c_k i^{|x&z_k|} (-1)^{|z_k & j|}, or None when that would be large."""

    def build():
        xs, zs, coeffs = pauli_arrays(observable)
        gxs, group = np.unique(xs, return_inverse=True)
        dim = 1 << num_qubits
        # worth it when terms share X masks (molecular and spin Hamiltonians do)
        if len(gxs) * dim > _GROUPED_MAX_ENTRIES or 2 * len(gxs) > len(xs):
            return None
        j = np.arange(dim, dtype=np.int64)
        diagonals = np.zeros((len(gxs), dim), dtype=np.complex128)
        for z, c, g in zip(zs, coeffs, group.ravel()):
            diagonals[g] += c * (1.0 - 2.0 * (np.bitwise_count(j & z) & 1))
        return gxs.astype(np.int64), diagonals

    return observable.memo(("grouped_diagonals", num_qubits), build)


def _pauli_arrays(observable: PauliSum):
    if observable.num_qubits > 62:
        raise ValueError(
            f"mask arrays hold at most 62 qubits; the observable has {observable.num_qubits}"
        )
    xs = observable.x[:, 0].astype(np.int64)
    zs = observable.z[:, 0].astype(np.int64)
    ys = np.bitwise_count(xs & zs).astype(np.int64)
    coeffs = observable.coeffs * (1j) ** (ys % 4)
    return xs, zs, np.ascontiguousarray(coeffs, dtype=np.complex128)


class StatevectorSimulator:
    """Exact statevector simulation on CPU (Numba) or GPU (CuPy).

    Args:
        device: "auto" (GPU when CuPy sees one), "cpu" or "gpu".
        precision: "double" (complex128) or "single" (complex64).
        fusion: widest fused block in qubits (0 disables fusion).
        max_memory: bytes the simulator may allocate (default: the free memory).
        small_circuit_qubits: circuits up to this size run on the small-circuit engine
            (whole circuit in one kernel call); larger ones step by step with fusion.

    Examples:
        >>> from qworkbench import Circuit, PauliSum
        >>> sim = StatevectorSimulator(device="cpu")
        >>> bell = Circuit(2).h(0).cx(0, 1)
        >>> round(sim.expval(bell, PauliSum.from_list([("ZZ", 1.0)])), 12)
        1.0
    """

    def __init__(
        self,
        device: str = "auto",
        precision: str = "double",
        fusion: int = 2,
        max_memory: int | None = None,
        plan_cache_size: int = 256,
        small_circuit_qubits: int = SMALL_MAX_QUBITS,
    ):
        if precision not in _PRECISIONS:
            raise ValueError(f"precision must be 'double' or 'single', got {precision!r}")
        if not isinstance(fusion, int) or isinstance(fusion, bool) or not 0 <= fusion <= 5:
            raise ValueError(f"fusion must be an integer from 0 to 5, got {fusion!r}")
        self.kernels = get_kernels(device)
        self.device = self.kernels.name
        self.precision = precision
        self.dtype = _PRECISIONS[precision]
        self.fusion = fusion
        self.max_memory = max_memory
        self.small_circuit_qubits = small_circuit_qubits
        self._plans = PlanCache(plan_cache_size)

    def __repr__(self) -> str:
        return (
            f"StatevectorSimulator(device={self.device!r}, precision={self.precision!r}, "
            f"fusion={self.fusion})"
        )

    # -- helpers ----------------------------------------------------------------------------
    def _check(self, circuit: Circuit, batch: int, copies: int = 1) -> None:
        if not isinstance(circuit, Circuit):
            raise TypeError(f"expected a qworkbench Circuit, got {type(circuit).__name__}")
        n = circuit.num_qubits
        if n > _MAX_QUBITS:
            raise ValueError(f"statevector simulation supports at most {_MAX_QUBITS} qubits")
        nbytes = copies * batch * (1 << n) * np.dtype(self.dtype).itemsize
        if nbytes < _CHECK_ABOVE_BYTES and self.max_memory is None:
            return
        limit = self.max_memory
        if limit is None and self.device == "gpu":
            limit = self.kernels.free_bytes()
        what = f"{batch} statevector(s) of {n} qubits ({self.precision})"
        check_allocation(nbytes, what, limit)

    def _prepare(self, circuit: Circuit, params, copies: int = 1, expand_u: bool = False,
                 fusion: int | None = None):  # fmt: skip
        if not isinstance(circuit, Circuit):
            raise TypeError(f"expected a qworkbench Circuit, got {type(circuit).__name__}")
        fusion = self.fusion if fusion is None else fusion
        plan, gates, parameters = self._plans.get(circuit, fusion, expand_u)
        values, batched = bind_params(params, parameters)
        batch = 1 if values is None else len(values)
        self._check(circuit, batch, copies)
        return plan, gates, values, batch, batched

    def _expvals(self, state, observable: PauliSum):
        """<H> per state row: grouped diagonals for small states on CPU, masks otherwise."""
        n = state.shape[1].bit_length() - 1
        grouped = grouped_diagonals(observable, n) if self.device == "cpu" else None
        if grouped is not None:
            return self.kernels.grouped_expvals(state, *grouped)
        return self.kernels.pauli_expvals(state, *pauli_arrays(observable))

    def _simulate(self, circuit: Circuit, params):
        plan, _, values, batch, batched = self._prepare(circuit, params)
        return self._forward(circuit, plan, values, batch), batched

    def _forward(self, circuit: Circuit, plan: Plan, values, batch: int):
        """|psi> for each parameter row: the small-circuit engine up to SMALL_MAX_QUBITS
        qubits (one kernel call), the fused step-by-step plan above."""
        if circuit.num_qubits <= self.small_circuit_qubits:
            program = self._plans.program(circuit)
            state = self.kernels.zero_state(batch, circuit.num_qubits, self.dtype)
            entries = self.kernels.asarray(program.entries(values), self.dtype)
            self.kernels.run_gates(state, program, entries)
            return state
        return run_plan(self.kernels, plan, values, batch, self.dtype)

    # -- public API -------------------------------------------------------------------------
    def statevector(self, circuit: Circuit, params=None, as_numpy: bool = True):
        """The final state, shape (2**n,), or (batch, 2**n) for 2-D ``params``."""
        state, batched = self._simulate(circuit, params)
        out = self.kernels.to_numpy(state) if as_numpy else state
        return out if batched else out[0]

    def probabilities(self, circuit: Circuit, params=None, as_numpy: bool = True):
        """Basis-state probabilities (index bit q = qubit q)."""
        state, batched = self._simulate(circuit, params)
        probs = self.kernels.probabilities(state)
        out = self.kernels.to_numpy(probs) if as_numpy else probs
        return out if batched else out[0]

    def expval(self, circuit: Circuit, observable: PauliSum, params=None, shots=None, seed=None):
        """<psi|H|psi> from the Pauli masks directly; ndarray (batch,) for 2-D ``params``.

        With ``shots``, an estimate from that many shots per qubit-wise commuting group.
        """
        observable = as_pauli_sum(observable, circuit.num_qubits)
        if shots is not None:
            from simulators._shots import estimate_expval

            return estimate_expval(self, circuit, observable, params, shots, seed)
        state, batched = self._simulate(circuit, params)
        values = self.kernels.to_numpy(self._expvals(state, observable))
        values = values.real if observable.is_hermitian() else values
        return values if batched else values[0].item()

    def gradient(self, circuit: Circuit, observable: PauliSum, params):
        """d<H>/d(params) by adjoint differentiation: (n_params,) or (batch, n_params)."""
        from simulators._adjoint import adjoint_gradient

        pauli = pauli_arrays(as_pauli_sum(observable, circuit.num_qubits))
        # the backward sweep needs one step per gate (fusion 0), cached like any plan
        per_gate, _, values, batch, batched = self._prepare(
            circuit, params, 4, expand_u=True, fusion=0
        )
        if values is None or values.shape[1] == 0:
            grads = np.zeros((batch, 0))
        else:
            fused, *_ = self._plans.get(circuit, self.fusion)
            psi = self._forward(circuit, fused, values, batch)
            grads = adjoint_gradient(self.kernels, psi, per_gate, values, pauli, self.dtype)
        return grads if batched else grads[0]

    def sample(self, circuit: Circuit, shots: int, seed=None, params=None) -> dict[str, int]:
        """Counts of measured bitstrings (qubit 0 / clbit 0 rightmost).

        With ``measure`` operations the bitstring holds the clbits they write (unwritten
        clbits read 0); without, every qubit is measured.
        """
        check_shots(shots)
        probs = self.probabilities(circuit, params)
        if probs.ndim != 1:
            raise ValueError("sample takes one parameter set; got a batch")
        return counts_from_probabilities(probs, circuit, shots, seed)


def check_shots(shots) -> None:
    """Refuse anything but a positive integer number of shots, naming it."""
    if isinstance(shots, bool) or not isinstance(shots, int | np.integer) or shots < 1:
        raise ValueError(f"shots must be a positive integer, got {shots!r}")


def counts_from_probabilities(probs, circuit: Circuit, shots: int, seed=None) -> dict[str, int]:
    """Counts of ``shots`` draws from ``probs`` (index bit q = qubit q), mapped through the
    circuit's measurements to clbits (all qubits when it has none); reproducible by seed."""
    check_shots(shots)
    rng = seed if isinstance(seed, np.random.Generator) else np.random.default_rng(seed)
    p = np.asarray(probs, dtype=np.float64)
    counts = rng.multinomial(int(shots), p / p.sum())
    outcomes = np.nonzero(counts)[0]
    measures = [(op.qubits[0], op.clbits[0]) for op in circuit if op.name == "measure"]
    if measures:
        width = circuit.num_clbits
        values = np.zeros(len(outcomes), dtype=np.int64)
        for q, c in measures:
            bit = (outcomes >> q) & 1
            values = (values & ~(1 << c)) | (bit << c)
    else:
        width, values = circuit.num_qubits, outcomes
    result: dict[str, int] = {}
    for v, k in zip(values.tolist(), counts[outcomes].tolist()):
        key = format(v, f"0{width}b")
        result[key] = result.get(key, 0) + k
    return result
