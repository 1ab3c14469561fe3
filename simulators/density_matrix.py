"""The density-matrix simulator.

A circuit whose gates and channels act on at most two qubits runs in the Pauli basis
(``simulators._ptm``: real transfer matrices, one thread per matrix of the batch) where
the kernels prefer it (``Kernels.prefers_pauli_basis``: on CPU up to 10 qubits, or a
batch that fills the threads). Otherwise (GPU, 3-qubit ops, one matrix above 10
qubits) rho is a 2n-qubit
state on the statevector's kernels: vec(rho)[r + 2**n c] = rho[r, c]; a unitary U on
qubits qs acts as U on qs (rows) and conj(U) on qs + n (columns); a channel with
superoperator S (column stacking, ``simulators.noise``) acts on (qs, qs + n).
One-qubit gates and the channels that follow them are multiplied into one 4x4
superoperator: one pass per gate. Channels are applied as superoperators rather than
Kraus sums (one pass and no copies instead of one pass and one copy per Kraus
operator). docs/noise.md compares the two representations.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np

from qworkbench import Circuit, PauliSum
from qworkbench.utils import check_allocation, one_blas_thread
from simulators import _ptm
from simulators._common import (
    as_pauli_sum,
    check_circuit,
    check_memory,
    counts_from_probabilities,
    pauli_arrays,
    precision_dtype,
)
from simulators._kernels import get_kernels
from simulators._plan import Gate, bind_params, gates_of
from simulators._shift import shift_gradient
from simulators.noise import NoiseModel, pauli_weights

__all__ = ["DensityMatrixSimulator"]

_MAX_QUBITS = 16
_CHUNK_BYTES = 4 << 20
_ENGINE_MIN_BATCH = 2  # one matrix alone is faster with every core on each pass
_ENGINE_MAX_QUBITS = 6  # above, the vectorised step kernels on cache-sized slices win
_REAL = {"double": np.float64, "single": np.float32}


@dataclass(frozen=True)
class _Pauli:
    """Pauli vectors r (batch, 4**n), r[x + (z << n)] = Tr(P rho) (``simulators._ptm``)."""

    r: np.ndarray


@dataclass(frozen=True)
class _Op:
    """One pass. ``part``: "super" (1-qubit gates on one qubit, each with the channels
    after it, multiplied into one superoperator on (q, q+n)), "row" (U on qs), "col"
    (conj U on qs + n), "perm_row"/"perm_col" (x, cx, swap as swaps), "pauli" (a Pauli
    channel's weights) or "channel" (a fixed superoperator). ``members`` holds
    (gate, channels) pairs in order."""

    part: str
    qubits: tuple[int, ...]
    members: tuple[tuple[Gate | None, tuple[np.ndarray, ...]], ...]
    fixed: np.ndarray | None

    @property
    def gate(self) -> Gate | None:
        return self.members[0][0]

    def operand(self, params) -> np.ndarray | None:
        if self.fixed is not None or self.part in _PERMUTATION_PARTS:
            return self.fixed
        return _operand(self.part, self.members, params)


_PERMUTATIONS = {"x", "cx", "swap"}
_PERMUTATION_PARTS = {"perm_row", "perm_col"}


def _operand(part, members, params) -> np.ndarray | None:
    gate, channels = members[0]
    if part in _PERMUTATION_PARTS:
        return None
    if part == "pauli":
        return channels[0]
    if part == "channel":
        return channels[0][None]
    if part == "row":
        return gate.matrices(params)
    if part == "col":
        return gate.matrices(params).conj()
    total = None
    for gate, channels in members:  # "super": later members multiply from the left
        u = gate.matrices(params)
        batch, d = u.shape[0], u.shape[1]
        superop = np.einsum("bij,bkl->bikjl", u.conj(), u).reshape(batch, d * d, d * d)
        for s in channels:
            superop = s[None] @ superop
        total = superop if total is None else superop @ total
    return total


def _compile(gates: list[Gate], n: int, noise: NoiseModel | None) -> tuple[_Op, ...]:
    ops: list[_Op] = []
    open_super: dict[int, int] = {}  # qubit -> index of a "super" op nothing has followed

    def add(part, qubits, members):
        parameterized = any(g is not None and g.is_parameterized for g, _ in members)
        fixed = None if parameterized else _operand(part, members, None)
        ops.append(_Op(part, qubits, tuple(members), fixed))

    for gate in gates:
        errors = noise.errors_after(gate.name, gate.qubits) if noise else []
        if len(gate.qubits) == 1:
            (q,) = gate.qubits
            if gate.name == "id" and not errors:
                continue
            member = (gate, tuple(c.superop for c, _ in errors))
            if q in open_super:  # fuse with the previous gates on this qubit
                index = open_super[q]
                merged = (*ops[index].members, member)
                parameterized = any(g.is_parameterized for g, _ in merged)
                fixed = None if parameterized else _operand("super", merged, None)
                ops[index] = _Op("super", (q, q + n), merged, fixed)
            else:
                open_super[q] = len(ops)
                add("super", (q, q + n), [member])
            continue
        for q in gate.qubits:
            open_super.pop(q, None)
        # permutations are their own conjugates: swap kernels on rows and on columns
        row, col = ("perm_row", "perm_col") if gate.name in _PERMUTATIONS else ("row", "col")
        add(row, gate.qubits, [(gate, ())])
        add(col, tuple(q + n for q in gate.qubits), [(gate, ())])
        for channel, qubits in errors:
            for q in qubits:
                open_super.pop(q, None)
            if channel.pauli_probs is not None:
                add("pauli", qubits, [(None, (pauli_weights(channel.pauli_probs),))])
            else:
                add("channel", (*qubits, *(q + n for q in qubits)), [(None, (channel.superop,))])
    return tuple(ops)


_PERM_KIND = {"x": 3, "cx": 4, "swap": 5}


@dataclass(frozen=True)
class _Program:
    """The ops flattened for the small-circuit engine (``run_gates``): kinds, qubits
    (padded to 4), offsets into the entries, the constant entries, and the ops whose
    operands depend on the parameters."""

    kinds: np.ndarray
    qubits: np.ndarray
    offsets: np.ndarray
    fixed_entries: np.ndarray
    dynamic: tuple[tuple[_Op, int, int], ...]  # (op, start, size)

    def entries(self, values) -> np.ndarray:
        if not self.dynamic or values is None:
            return self.fixed_entries
        out = np.repeat(self.fixed_entries, len(values), axis=0)
        for op, start, size in self.dynamic:
            out[:, start : start + size] = op.operand(values).reshape(len(values), size)
        return out


def _program(ops: tuple[_Op, ...]) -> _Program | None:
    """None when an op needs more than the engine has (a dense channel on > 2 qubits)."""
    kinds, qubits, offsets, fixed, dynamic = [], [], [], [], []
    cursor = 0
    for op in ops:
        if op.part in _PERMUTATION_PARTS:
            kind = _PERM_KIND[op.gate.name]
            block = np.zeros(0, dtype=complex)
        elif op.part == "pauli":
            if len(op.qubits) > 2:
                return None
            kind = 6 + len(op.qubits)  # PAULI1 / PAULI2
            block = np.asarray(op.fixed, dtype=complex).ravel()
        else:
            k = len(op.qubits)
            if k > 4:
                return None
            kind = 6 if k == 4 else k - 1  # DENSE4, DENSE1..3
            size = 4**k
            if op.fixed is None:
                dynamic.append((op, cursor, size))
                block = np.zeros(size, dtype=complex)
            else:
                block = np.asarray(op.fixed[0], dtype=complex).ravel()
        kinds.append(kind)
        qubits.append([*op.qubits, *([0] * (4 - len(op.qubits)))])
        offsets.append(cursor)
        fixed.append(block)
        cursor += len(block)
    entries = np.concatenate(fixed)[None] if cursor else np.zeros((1, 1), dtype=complex)
    return _Program(
        np.array(kinds, dtype=np.int64),
        np.array(qubits, dtype=np.int64).reshape(-1, 4),
        np.array(offsets, dtype=np.int64),
        entries,
        tuple(dynamic),
    )


class DensityMatrixSimulator:
    """Exact mixed-state simulation with a :class:`~simulators.noise.NoiseModel`.

    Args:
        device, precision: as for the statevector simulator.
        noise: the noise model (None: noiseless).
        max_memory: bytes the simulator may allocate (default: the free memory).

    Examples:
        >>> from qworkbench import Circuit, PauliSum
        >>> from simulators.noise import NoiseModel
        >>> sim = DensityMatrixSimulator(device="cpu", noise=NoiseModel.depolarizing(0.1, 0.1))
        >>> round(sim.expval(Circuit(1).x(0), PauliSum.from_list([("Z", 1.0)])), 6)
        -0.9
    """

    def __init__(self, device="auto", precision="double", noise=None, max_memory=None):
        dtype = precision_dtype(precision)
        if noise is not None and not isinstance(noise, NoiseModel):
            raise TypeError(f"noise must be a simulators.noise.NoiseModel, got {noise!r}")
        self.kernels = get_kernels(device)
        self.device = self.kernels.name
        self.precision = precision
        self.dtype = dtype
        self.noise = noise
        self.max_memory = max_memory
        self._cache: dict = {}

    def __repr__(self) -> str:
        return (
            f"DensityMatrixSimulator(device={self.device!r}, precision={self.precision!r}, "
            f"noise={'yes' if self.noise else 'none'})"
        )

    # -- the loop ---------------------------------------------------------------------------
    def _run(self, circuit: Circuit, params):
        check_circuit(circuit, _MAX_QUBITS, "density-matrix", np.dtype(self.dtype).itemsize, 4)
        n = circuit.num_qubits
        key = circuit.structure_key()
        entry = self._cache.get(key)
        if entry is None:
            gates, parameters = gates_of(
                circuit, keep_id=True, simulator="the density-matrix simulator"
            )
            ops = _compile(gates, n, self.noise)
            # the Pauli-transfer program (None when an op acts on more than 2 qubits)
            ptm = _ptm.compile_ptm(gates, n, self.noise, len(parameters))
            entry = self._cache[key] = (ops, parameters, _program(ops), ptm)
            if len(self._cache) > 256:
                self._cache.pop(next(iter(self._cache)))
        ops, parameters, program, ptm = entry
        values, batched = bind_params(params, parameters)
        batch = 1 if values is None else len(values)
        what = f"{batch} density matrices of {n} qubits"
        if ptm is not None and self.kernels.prefers_pauli_basis(n, batch):
            # the Pauli basis: a real vector per matrix (see simulators._ptm)
            real = _REAL[self.precision]
            rows, size = ptm.entries_shape(batch)
            nbytes = (batch * 4**n + rows * size) * np.dtype(real).itemsize
            check_memory(self.kernels, nbytes, what, self.max_memory)
            state = self.kernels.xp.empty((batch, 4**n), dtype=real)  # run_ptm starts it at |0>
            if ptm.dynamic and values is not None:
                with one_blas_thread():  # products of 4x4 and 16x16 matrices
                    entries = ptm.entries(values)
            else:
                entries = ptm.fixed_entries
            self.kernels.run_ptm(state, n, ptm, self.kernels.asarray(entries, real))
            return _Pauli(self.kernels.to_numpy(state)), batched
        nbytes = batch * 4**n * np.dtype(self.dtype).itemsize
        check_memory(self.kernels, nbytes, what, self.max_memory)
        state = self.kernels.zero_state(batch, 2 * n, self.dtype)
        if program is not None and batch >= _ENGINE_MIN_BATCH and n <= _ENGINE_MAX_QUBITS:
            # a batch: each density matrix runs start to finish on one thread, in cache
            entries = self.kernels.asarray(program.entries(values), self.dtype)
            self.kernels.run_gates(state, program, entries)
            return state, batched
        operands = [
            op.fixed if op.part == "pauli" else (
                None if op.part in _PERMUTATION_PARTS
                else self.kernels.asarray(op.operand(values), self.dtype)
            )
            for op in ops
        ]  # fmt: skip
        # run the whole circuit on cache-sized slices of the batch, not op by op over all
        # of it: a batch of 8-qubit density matrices (1 MiB each) would stream from DRAM
        rows = max(1, _CHUNK_BYTES // (4**n * np.dtype(self.dtype).itemsize))
        for start in range(0, batch, rows):
            chunk = state[start : start + rows]
            for op, operand in zip(ops, operands):
                self._apply(chunk, op, operand, start, rows, n)
        return state, batched

    def _apply(self, chunk, op: _Op, operand, start: int, rows: int, n: int) -> None:
        kernels = self.kernels
        if op.part in _PERMUTATION_PARTS:
            getattr(kernels, f"apply_{op.gate.name}")(chunk, *op.qubits)
        elif op.part == "pauli":
            kernels.apply_pauli_channel(chunk, op.qubits, n, operand)
        else:
            part = operand if len(operand) == 1 else operand[start : start + rows]
            kernels.apply_matrix(chunk, op.qubits, part)

    # -- public API -------------------------------------------------------------------------
    def density_matrix(self, circuit: Circuit, params=None):
        """rho, shape (2**n, 2**n), or (batch, 2**n, 2**n) for 2-D ``params``."""
        state, batched = self._run(circuit, params)
        d = 1 << circuit.num_qubits
        if isinstance(state, _Pauli):
            nbytes = len(state.r) * d * d * np.dtype(self.dtype).itemsize
            check_allocation(nbytes, f"{len(state.r)} density matrices", self.max_memory)
            rho = _ptm.density_matrices(state.r, circuit.num_qubits).astype(self.dtype, copy=False)
            return rho if batched else rho[0]
        rho = self.kernels.to_numpy(state).reshape(-1, d, d).transpose(0, 2, 1)
        return rho if batched else rho[0]

    def expval(self, circuit: Circuit, observable: PauliSum, params=None, shots=None, seed=None):
        """Tr(rho H) = sum_s i^{|x&z|} (-1)^{|z&s|} rho[s, s ^ x] per Pauli term.

        With ``shots``, an estimate from that many shots per qubit-wise commuting group
        (readout errors included).
        """
        observable = as_pauli_sum(observable, circuit.num_qubits)
        if shots is not None:
            from simulators._shots import estimate_expval

            return estimate_expval(self, circuit, observable, params, shots, seed)
        state, batched = self._run(circuit, params)
        if isinstance(state, _Pauli):
            values = _ptm.expvals(state.r, *pauli_arrays(observable), circuit.num_qubits)
            values = values.real if observable.is_hermitian() else values
            return values if batched else values[0].item()
        xp = self.kernels.xp
        total = xp.zeros(state.shape[0], dtype=xp.complex128)
        for index, sign, c in _trace_terms(observable, circuit.num_qubits):
            total += c * (state[:, xp.asarray(index)] * xp.asarray(sign)).sum(axis=1)
        values = self.kernels.to_numpy(total)
        values = values.real if observable.is_hermitian() else values
        return values if batched else values[0].item()

    def probabilities(self, circuit: Circuit, params=None, readout: bool = True):
        """Basis-state probabilities; with ``readout`` the noise model's confusion matrices
        are applied (what a measurement would report)."""
        state, batched = self._run(circuit, params)
        n = circuit.num_qubits
        if isinstance(state, _Pauli):
            probs = _ptm.probabilities(state.r, n)
        else:
            s = np.arange(1 << n)
            diagonal = state[:, self.kernels.xp.asarray(s + (s << n))]
            probs = self.kernels.to_numpy(diagonal).real.astype(np.float64)
        if readout and self.noise is not None and self.noise.readout:
            probs = _apply_readout(probs, n, self.noise)
        return probs if batched else probs[0]

    def gradient(self, circuit: Circuit, observable: PauliSum, params):
        """d<H>/d(params) by the parameter-shift rule (exact under gate noise)."""
        return shift_gradient(self, circuit, observable, params)

    def sample(self, circuit: Circuit, shots: int, seed=None, params=None) -> dict[str, int]:
        """Counts (qubit 0 / clbit 0 rightmost), readout errors included."""
        probs = self.probabilities(circuit, params)
        if probs.ndim != 1:
            raise ValueError("sample takes one parameter set; got a batch")
        return counts_from_probabilities(probs, circuit, shots, seed)


def _trace_terms(observable: PauliSum, n: int):
    """Per Pauli term: the vec(rho) indices of rho[s, s ^ x], the signs (-1)^{|z & s|} and
    the coefficient (times i^{|x&z|}); built once per observable and kept with it."""

    def build():
        s = np.arange(1 << n, dtype=np.int64)
        xs, zs, coeffs = pauli_arrays(observable)
        return [
            (s + ((s ^ x) << n), 1.0 - 2.0 * (np.bitwise_count(s & z) & 1), c)
            for x, z, c in zip(xs.tolist(), zs.tolist(), coeffs.tolist())
        ]

    return observable.memo(("density_matrix_terms", n), build)


def _apply_readout(probs: np.ndarray, n: int, noise: NoiseModel) -> np.ndarray:
    """p'(measured) = sum_prepared p(prepared) M_q[prepared, measured] on every qubit."""
    batch = probs.shape[0]
    tensor = probs.reshape(batch, *([2] * n))  # axis 1 + (n - 1 - q) is qubit q
    for q in range(n):
        m = noise.readout_matrix(q)
        if m is None:
            continue
        axis = 1 + (n - 1 - q)
        tensor = np.moveaxis(np.tensordot(tensor, m, axes=([axis], [0])), -1, axis)
    return tensor.reshape(batch, -1)
