"""Compiling a circuit into a simulation plan, and binding parameters into it.

A plan is keyed by the circuit's structure and cached, so the thousands of
evaluations of one ansatz (VQE, QAS) pay for validation, fusion and fixed-matrix
products once. Binding turns a (batch, n_params) array into one matrix stack per
step with vectorised NumPy, without a Python loop over the batch. ``run_plan`` applies
a plan's steps through the kernel interface (``simulators._kernels``).
"""

from __future__ import annotations

from collections import OrderedDict
from dataclasses import dataclass, field

import numpy as np

from qworkbench.circuit import Circuit, Expression, Parameter, ParameterExpression
from simulators._matrices import (
    CONTROLLED_TARGET,
    batched_matrix,
    embed,
    embed_diagonal,
    is_diagonal_gate,
)
from simulators._phase_frames import real_frames
from simulators.fusion import cache_blocks, fuse_gates

__all__ = [
    "Gate",
    "Step",
    "Plan",
    "compile_plan",
    "gates_of",
    "bind_params",
    "fold_gradient",
    "run_plan",
    "apply_step",
]

_PERMUTATIONS = {"x", "cx", "swap"}


@dataclass(frozen=True)
class Gate:
    """A gate with its angles as (slot, scale, offset): angle = scale * params[slot] + offset
    (slot -1 for a constant)."""

    name: str
    qubits: tuple[int, ...]
    slots: tuple[int, ...] = ()
    scales: tuple[float, ...] = ()
    offsets: tuple[float, ...] = ()

    @property
    def is_parameterized(self) -> bool:
        return any(s >= 0 for s in self.slots)

    def angles(self, params: np.ndarray) -> np.ndarray:
        """(batch, num_params) angles from (batch, n_params) parameter values."""
        cols = [
            (params[:, s] * k + o) if s >= 0 else np.full(len(params), o)
            for s, k, o in zip(self.slots, self.scales, self.offsets)
        ]
        return np.stack(cols, axis=1)

    def matrices(self, params: np.ndarray | None) -> np.ndarray:
        if not self.slots:
            return batched_matrix(self.name, ())
        if not self.is_parameterized:
            return batched_matrix(self.name, np.array([self.offsets]))
        return batched_matrix(self.name, self.angles(params))


def gates_of(
    circuit: Circuit, expand_u: bool = False, keep_id: bool = False,
    simulator: str = "the statevector simulator",
) -> tuple[list[Gate], tuple[Parameter, ...]]:  # fmt: skip
    """The circuit's gates with parameter slots, skipping barriers, terminal measurements
    and (unless ``keep_id``, for noise on idle qubits) ``id``. ``expand_u`` rewrites ``u``
    as rz ry rz (equal up to global phase), so every parameterised gate has one angle
    (for adjoint differentiation). ``simulator`` names the caller in the error for an
    operation after a measurement.

    The slots are the circuit's parameters followed by its general angles (each distinct
    :class:`Expression` once): :func:`bind_params` computes those columns from the
    parameter values and :func:`fold_gradient` applies the chain rule back."""
    params = circuit.parameters
    slot_of = {p: k for k, p in enumerate(params)}
    derived: dict[Expression, int] = {}  # general angles: slots after the parameters'
    measured: set[int] = set()
    out: list[Gate] = []
    for op in circuit:
        if op.name == "barrier":
            continue
        if op.name == "measure":
            measured.add(op.qubits[0])
            continue
        if measured.intersection(op.qubits):
            raise ValueError(
                f"{op} acts on a qubit after it was measured; {simulator} "
                "supports terminal measurements only"
            )
        if op.name == "id" and not keep_id:
            continue
        specs = []
        for p in op.params:
            if isinstance(p, Expression):
                specs.append((derived.setdefault(p, len(params) + len(derived)), 1.0, 0.0))
            elif isinstance(p, Parameter | ParameterExpression):
                specs.append((slot_of[p.parameter], p.scale, p.offset))
            else:
                specs.append((-1, 0.0, float(p)))
        if expand_u and op.name == "u":
            theta, phi, lam = specs
            for name, spec in (("rz", lam), ("ry", theta), ("rz", phi)):
                out.append(Gate(name, op.qubits, *map(tuple, zip(spec))))
            continue
        slots, scales, offsets = (tuple(x) for x in zip(*specs)) if specs else ((), (), ())
        out.append(Gate(op.name, op.qubits, slots, scales, offsets))
    return out, params + tuple(derived)


@dataclass(frozen=True)
class Step:
    """One pass over the state: ``kind`` is matrix | diagonal | controlled | x | cx | swap.

    ``fixed`` holds the precomputed operand when no member gate is parameterised.
    """

    kind: str
    qubits: tuple[int, ...]
    gates: tuple[Gate, ...]
    fixed: np.ndarray | None

    def operand(self, params: np.ndarray | None) -> np.ndarray | None:
        """The matrix stack (or diagonals) for this step at ``params``."""
        if self.fixed is not None or self.kind in _PERMUTATIONS:
            return self.fixed
        return _build_operand(self.kind, self.qubits, self.gates, params)


def _build_operand(kind: str, qubits, gates, params) -> np.ndarray:
    if kind == "controlled":
        (gate,) = gates
        target = Gate(CONTROLLED_TARGET[gate.name], gate.qubits[1:], *_angle_fields(gate))
        return target.matrices(params)
    k = len(qubits)
    pos = {q: i for i, q in enumerate(qubits)}
    total = None
    for gate in gates:
        where = tuple(pos[q] for q in gate.qubits)
        if kind == "diagonal":
            factor = embed_diagonal(np.diagonal(gate.matrices(params), axis1=1, axis2=2), where, k)
            total = factor if total is None else total * factor
        else:
            factor = embed(gate.matrices(params), where, k)
            total = factor if total is None else np.matmul(factor, total)
    return total


def _angle_fields(gate: Gate):
    return gate.slots, gate.scales, gate.offsets


def _make_step(gates: list[Gate], qubits: tuple[int, ...]) -> Step:
    if len(gates) == 1:
        gate = gates[0]
        if gate.name in _PERMUTATIONS:
            return Step(gate.name, gate.qubits, (gate,), None)
        if is_diagonal_gate(gate.name):
            kind, qubits = "diagonal", gate.qubits
        elif gate.name in CONTROLLED_TARGET:
            kind, qubits = "controlled", gate.qubits
        else:
            kind, qubits = "matrix", gate.qubits
    else:
        kind = "diagonal" if all(is_diagonal_gate(g.name) for g in gates) else "matrix"
    fixed = None
    if not any(g.is_parameterized for g in gates):
        fixed = _build_operand(kind, qubits, tuple(gates), None)
    return Step(kind, qubits, tuple(gates), fixed)


@dataclass(frozen=True)
class Plan:
    num_qubits: int
    num_params: int
    steps: tuple[Step, ...]
    # cache blocks of the steps per chunk size (``fusion.cache_blocks``), filled on use
    blocks: dict = field(default_factory=dict, compare=False, repr=False)

    def cache_blocks(self, chunk_qubits: int):
        hit = self.blocks.get(chunk_qubits)
        if hit is None:
            qubits = [s.qubits for s in self.steps]
            hit = self.blocks[chunk_qubits] = cache_blocks(qubits, self.num_qubits, chunk_qubits)
        return hit


# one pass over a cache-resident chunk, in complex multiply-adds per amplitude (the
# fusion cost model, ``fuse_gates``): fusing past 3-4 qubits costs more flops than
# the passes it saves once gates run cache-blocked
FUSION_PASS_COST = 4.0


def compile_plan(gates: list[Gate], num_qubits: int, num_params: int, fusion: int) -> Plan:
    blocks = fuse_gates([g.qubits for g in gates], max_qubits=fusion, pass_cost=FUSION_PASS_COST)
    steps = tuple(_make_step([gates[i] for i in b.ops], b.qubits) for b in blocks)
    return Plan(num_qubits, num_params, steps)


class PlanCache:
    """A small LRU of plans keyed by circuit structure (its operations) and options."""

    def __init__(self, size: int = 256):
        self._size = size
        self._plans: OrderedDict = OrderedDict()

    def get(self, circuit: Circuit, fusion: int, expand_u: bool = False):
        """(plan, gates, parameters) for ``circuit``."""
        key = (circuit.structure_key(), fusion, expand_u)
        hit = self._plans.get(key)
        if hit is not None:
            self._plans.move_to_end(key)
            return hit
        gates, params = gates_of(circuit, expand_u=expand_u)
        entry = (compile_plan(gates, circuit.num_qubits, len(params), fusion), gates, params)
        self._plans[key] = entry
        if len(self._plans) > self._size:
            self._plans.popitem(last=False)
        return entry

    def program(self, circuit: Circuit):
        """The small-circuit engine's program for ``circuit`` (cached like plans)."""
        from simulators._program import compile_program

        key = (circuit.structure_key(), "program")
        hit = self._plans.get(key)
        if hit is None:
            hit = compile_program(gates_of(circuit)[0])
            self._plans[key] = hit
            if len(self._plans) > self._size:
                self._plans.popitem(last=False)
        else:
            self._plans.move_to_end(key)
        return hit


def bind_params(values, parameters: tuple[Parameter, ...]) -> tuple[np.ndarray | None, bool]:
    """``values`` as a (batch, n_params) float array, and whether the input was batched.

    Accepts None (no parameters), a mapping by name or Parameter, a 1-D sequence or
    a 2-D (batch, n_params) array. Non-finite values raise naming the parameter.
    ``parameters`` may end with general angles (from :func:`gates_of`): their columns are
    appended, evaluated from the others for the whole batch at once.
    """
    angles = _general_angles(parameters)
    parameters = parameters[: len(parameters) - len(angles)]
    n = len(parameters)
    if values is None:
        if n:
            raise ValueError(f"circuit has parameters {[p.name for p in parameters]}; pass params")
        return None, False
    if isinstance(values, dict):
        names = {p.name: k for k, p in enumerate(parameters)}
        row = np.full(n, np.nan)
        for key, value in values.items():
            name = key.name if isinstance(key, Parameter) else key
            if name not in names:
                raise KeyError(f"circuit has no parameter {name!r}; it has {list(names)}")
            row[names[name]] = value
        missing = [p.name for p, v in zip(parameters, row) if np.isnan(v)]
        if missing:
            raise ValueError(f"no value given for parameters {missing}")
        values = row
    try:
        arr = np.asarray(values, dtype=np.float64)
    except (TypeError, ValueError) as exc:
        raise TypeError(f"params must be real numbers, got {values!r}") from exc
    batched = arr.ndim == 2
    if arr.ndim not in (1, 2) or arr.shape[-1] != n:
        raise ValueError(
            f"params must have shape ({n},) or (batch, {n}) for parameters "
            f"{[p.name for p in parameters]}, got shape {arr.shape}"
        )
    if n == 0:
        return (arr if batched else None), batched
    if batched and arr.shape[0] == 0:
        raise ValueError("params batch is empty")
    if not np.all(np.isfinite(arr)):
        bad = np.argwhere(~np.isfinite(arr))[0]
        raise ValueError(
            f"params must be finite; parameter {parameters[bad[-1]].name!r} is {arr[tuple(bad)]}"
        )
    arr = arr.reshape(-1, n)
    return (_with_angles(arr, parameters, angles) if angles else arr), batched


def _general_angles(parameters) -> tuple:
    """The general angles that end ``parameters`` (checked in O(1) when there are none:
    the affine fast path)."""
    if not parameters or not isinstance(parameters[-1], Expression):
        return ()
    return tuple(p for p in parameters if isinstance(p, Expression))


def _with_angles(values: np.ndarray, parameters, angles) -> np.ndarray:
    """``values`` with one column appended per general angle."""
    columns = {p: values[:, k] for k, p in enumerate(parameters)}
    batch = len(values)
    with np.errstate(all="ignore"):
        extra = np.stack(
            [np.broadcast_to(np.asarray(e.evaluate(columns), float), (batch,)) for e in angles],
            axis=1,
        )
    bad = np.argwhere(~np.isfinite(extra))
    if len(bad):
        row, col = bad[0]
        at = {p.name: float(v) for p, v in zip(parameters, values[row])}
        raise ValueError(f"angle {angles[col]} is {extra[row, col]} at parameters {at}")
    return np.concatenate([values, extra], axis=1)


def fold_gradient(grads: np.ndarray, values: np.ndarray, parameters) -> np.ndarray:
    """The (batch, n_params) gradient with respect to the circuit's parameters, from
    ``grads`` with respect to every slot of :func:`gates_of` (``parameters`` and the
    bound ``values`` as :func:`bind_params` gave them), by the chain rule through the
    general angles: d<H>/dp = d<H>/dp (direct) + sum_j d<H>/d angle_j * d angle_j/dp."""
    angles = _general_angles(parameters)
    if not angles:
        return grads
    n = len(parameters) - len(angles)
    slot = {p: k for k, p in enumerate(parameters[:n])}
    columns = {p: values[:, k] for p, k in slot.items()}
    out = np.array(grads[:, :n], dtype=float)
    for j, angle in enumerate(angles):
        for p, derivative in angle.gradient(columns).items():
            out[:, slot[p]] += grads[:, n + j] * derivative
    return out


# -- running a plan -------------------------------------------------------------------------
def run_plan(kernels, plan: Plan, params: np.ndarray | None, batch: int, dtype, state=None,
             phases: bool = True, fresh: bool | None = None):  # fmt: skip
    """Apply every step of ``plan`` to ``state`` (default |0...0>), in place.
    ``phases=False``: the caller reads only |amplitude|^2 (probabilities, diagonal
    observables), so a diagonal phase on the result may be left out (the phase frame's
    final pass, ``simulators._phase_frames``). ``fresh``: ``state`` is |0...0> (the
    default when no state is given)."""
    fresh = state is None if fresh is None else fresh
    if state is None:
        state = kernels.zero_state(batch, plan.num_qubits, dtype)
    chunk = kernels.block_qubits(plan.num_qubits, dtype)
    if not chunk:
        for step in plan.steps:
            apply_step(kernels, state, step, step.operand(params), dtype)
        return state
    blocks = plan.cache_blocks(chunk)
    mats = [dense_operand(plan.steps[i], params) for block in blocks for i in block.steps]
    qubits = [plan.steps[i].qubits for block in blocks for i in block.steps]
    frames_from = kernels.real_frames_from
    if frames_from is not None and state.size >= frames_from and all(len(m) == 1 for m in mats):
        # the same product, most of it real, with phase steps (``_phase_frames``)
        steps, counts, final = real_frames(qubits, mats, plan.num_qubits, fresh)
        qubits = [q for q, _ in steps]
        mats = [m for _, m in steps]
        ends = np.cumsum(counts)
    else:
        ends = np.arange(1, len(mats) + 1)
        final = None
    at = 0
    done = 0
    for block in blocks:
        done += len(block.steps)
        end = int(ends[done - 1])
        kernels.run_block(state, block.low, block.high, qubits[at:end], mats[at:end])
        at = end
    if final is not None and phases:
        kernels.apply_product_phase(state, *final)
    return state


def dense_operand(step: Step, params) -> np.ndarray:
    """The step as (batch_m, 2**k, 2**k) matrices on ``step.qubits``."""
    if step.kind == "matrix":
        return step.operand(params)
    if step.kind == "diagonal":
        diags = step.operand(params)
        d = diags.shape[1]
        out = np.zeros((len(diags), d, d), dtype=diags.dtype)
        out[:, np.arange(d), np.arange(d)] = diags
        return out
    (gate,) = step.gates  # a permutation or a controlled gate: its own matrix
    return gate.matrices(params)


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
