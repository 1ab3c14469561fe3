"""The circuit IR: an ordered list of validated operations on ``num_qubits`` qubits."""

from __future__ import annotations

import numbers
from collections.abc import Iterable, Iterator, Mapping, Sequence
from dataclasses import dataclass

import numpy as np

from qworkbench.circuit import _analysis
from qworkbench.circuit._expression import Expression, is_symbolic
from qworkbench.circuit._gates import GATES
from qworkbench.circuit._parameter import Parameter, ParameterExpression, as_angle, as_real
from qworkbench.errors import UnsupportedGateError

__all__ = ["Circuit", "Operation"]

_MAX_QUBITS = 100_000  # a sanity bound on the register, not on what can be simulated


@dataclass(frozen=True)
class Operation:
    """One instruction: a gate (``name`` in the gate library), ``measure`` or ``barrier``.

    ``params`` holds floats, :class:`Parameter`, :class:`ParameterExpression` or
    :class:`Expression`; ``clbits`` is set for ``measure`` only.
    """

    name: str
    qubits: tuple[int, ...]
    params: tuple = ()
    clbits: tuple[int, ...] = ()

    @property
    def is_parameterized(self) -> bool:
        return any(is_symbolic(p) for p in self.params)

    def matrix(self) -> np.ndarray:
        """The unitary of a bound gate (little-endian over ``qubits``)."""
        if self.name not in GATES:
            raise ValueError(f"{self.name!r} is not a unitary gate")
        if self.is_parameterized:
            raise ValueError(f"{self} has unbound parameters")
        return GATES[self.name].matrix(*self.params)

    def __str__(self) -> str:
        args = ", ".join([*(str(p) for p in self.params), *(str(q) for q in self.qubits)])
        return f"{self.name}({args})"


class _StructureKey:
    """Operations of a circuit with their hash computed once."""

    __slots__ = ("num_qubits", "num_clbits", "ops", "length", "_hash")

    def __init__(self, num_qubits: int, num_clbits: int, ops: tuple):
        self.num_qubits, self.num_clbits, self.ops = num_qubits, num_clbits, ops
        self.length = len(ops)
        self._hash = hash((num_qubits, num_clbits, ops))

    def __hash__(self) -> int:
        return self._hash

    def __eq__(self, other) -> bool:
        if self is other:
            return True
        if not isinstance(other, _StructureKey) or self._hash != other._hash:
            return False
        return (self.num_qubits, self.num_clbits, self.ops) == (
            other.num_qubits,
            other.num_clbits,
            other.ops,
        )


def _bind_angle(p, table: dict, op: Operation):
    """Angle ``p`` of ``op`` with the parameters in ``table`` substituted."""
    if isinstance(p, Expression):
        try:
            return p.bind(table)
        except ValueError as exc:  # e.g. log of a negative number
            raise ValueError(f"angle {p} of {op.name} on qubits {list(op.qubits)}: {exc}") from exc
    if isinstance(p, Parameter | ParameterExpression) and p.parameter in table:
        return p.value(table[p.parameter])
    return p


def _check_index(value, size: int, what: str) -> int:
    if isinstance(value, bool | np.bool_) or not isinstance(value, numbers.Integral):
        raise TypeError(f"{what} index must be an integer, got {value!r} ({type(value).__name__})")
    index = int(value)
    if not 0 <= index < size:
        raise IndexError(f"{what} index {index} is out of range for {size} {what}s")
    return index


class Circuit:
    """A quantum circuit in qworkbench's IR.

    Gate methods validate their arguments and return the circuit, so calls chain.
    Qubit 0 is the least significant bit of a basis-state index.

    Examples:
        >>> from qworkbench import Circuit, Parameter
        >>> c = Circuit(2).h(0).cx(0, 1).ry(Parameter("a"), 1)
        >>> len(c), c.depth(), [p.name for p in c.parameters]
        (3, 3, ['a'])
        >>> c.bind([0.5]).count_ops()
        {'h': 1, 'cx': 1, 'ry': 1}
    """

    __slots__ = ("_num_qubits", "_num_clbits", "_ops", "_key")

    def __init__(self, num_qubits: int, num_clbits: int = 0):
        for value, what in ((num_qubits, "num_qubits"), (num_clbits, "num_clbits")):
            if isinstance(value, bool | np.bool_) or not isinstance(value, numbers.Integral):
                raise TypeError(f"{what} must be an integer, got {value!r}")
        if not 1 <= num_qubits <= _MAX_QUBITS:
            raise ValueError(f"num_qubits must be between 1 and {_MAX_QUBITS}, got {num_qubits}")
        if not 0 <= num_clbits <= _MAX_QUBITS:
            raise ValueError(f"num_clbits must be between 0 and {_MAX_QUBITS}, got {num_clbits}")
        self._num_qubits = int(num_qubits)
        self._num_clbits = int(num_clbits)
        self._ops: list[Operation] = []
        self._key: _StructureKey | None = None

    # -- construction ---------------------------------------------------------------------
    def append(self, name: str, qubits: Sequence[int], params: Sequence = ()) -> Circuit:
        """Append gate ``name`` on ``qubits`` with angles ``params`` (validated)."""
        if not isinstance(name, str):
            raise TypeError(f"gate name must be a string, got {name!r}")
        spec = GATES.get(name)
        if spec is None:
            raise UnsupportedGateError(
                f"unknown gate {name!r}; the gate library is {', '.join(sorted(GATES))}", name
            )
        qubits = self._check_qubits(qubits, name)
        if len(qubits) != spec.num_qubits:
            raise ValueError(
                f"gate {name!r} acts on {spec.num_qubits} qubit(s), got qubits {list(qubits)}"
            )
        params = tuple(params)
        if len(params) != spec.num_params:
            raise ValueError(f"gate {name!r} takes {spec.num_params} angle(s), got {params!r}")
        params = tuple(as_angle(p, f"angle of {name}") for p in params)
        self._ops.append(Operation(name, qubits, params))
        return self

    def _check_qubits(self, qubits, name: str) -> tuple[int, ...]:
        if isinstance(qubits, numbers.Integral):
            qubits = (qubits,)
        out = tuple(_check_index(q, self._num_qubits, "qubit") for q in qubits)
        if len(set(out)) != len(out):
            raise ValueError(f"{name} got repeated qubits {list(out)}")
        return out

    def _op(self, name: str, *args) -> Circuit:
        nparams = GATES[name].num_params
        return self.append(name, args[nparams:], args[:nparams])

    def id(self, q):
        return self._op("id", q)

    def h(self, q):
        return self._op("h", q)

    def x(self, q):
        return self._op("x", q)

    def y(self, q):
        return self._op("y", q)

    def z(self, q):
        return self._op("z", q)

    def s(self, q):
        return self._op("s", q)

    def sdg(self, q):
        return self._op("sdg", q)

    def t(self, q):
        return self._op("t", q)

    def tdg(self, q):
        return self._op("tdg", q)

    def sx(self, q):
        return self._op("sx", q)

    def sxdg(self, q):
        return self._op("sxdg", q)

    def rx(self, theta, q):
        return self._op("rx", theta, q)

    def ry(self, theta, q):
        return self._op("ry", theta, q)

    def rz(self, theta, q):
        return self._op("rz", theta, q)

    def p(self, theta, q):
        return self._op("p", theta, q)

    def u(self, theta, phi, lam, q):
        return self._op("u", theta, phi, lam, q)

    def cx(self, a, b):
        return self._op("cx", a, b)

    def cy(self, a, b):
        return self._op("cy", a, b)

    def cz(self, a, b):
        return self._op("cz", a, b)

    def swap(self, a, b):
        return self._op("swap", a, b)

    def crx(self, theta, a, b):
        return self._op("crx", theta, a, b)

    def cry(self, theta, a, b):
        return self._op("cry", theta, a, b)

    def crz(self, theta, a, b):
        return self._op("crz", theta, a, b)

    def rzz(self, theta, a, b):
        return self._op("rzz", theta, a, b)

    def rxx(self, theta, a, b):
        return self._op("rxx", theta, a, b)

    def ryy(self, theta, a, b):
        return self._op("ryy", theta, a, b)

    def ccx(self, a, b, c):
        return self._op("ccx", a, b, c)

    def measure(self, qubit: int, clbit: int | None = None) -> Circuit:
        """Measure ``qubit`` into ``clbit`` (default: the clbit of the same index,
        growing the classical register as needed)."""
        (q,) = self._check_qubits(qubit, "measure")
        if clbit is None:
            clbit = q
            self._num_clbits = max(self._num_clbits, q + 1)
        c = _check_index(clbit, self._num_clbits, "clbit")
        self._ops.append(Operation("measure", (q,), (), (c,)))
        return self

    def measure_all(self) -> Circuit:
        """Measure every qubit ``q`` into a new clbit; clbit ``k`` holds qubit ``k``
        when the circuit had no classical bits before (as Qiskit's ``measure_all``)."""
        start = self._num_clbits
        self._num_clbits += self._num_qubits
        for q in range(self._num_qubits):
            self._ops.append(Operation("measure", (q,), (), (start + q,)))
        return self

    def barrier(self, *qubits: int) -> Circuit:
        """A barrier on ``qubits`` (all qubits when none are given)."""
        qs = self._check_qubits(qubits or range(self._num_qubits), "barrier")
        self._ops.append(Operation("barrier", qs))
        return self

    # -- properties -----------------------------------------------------------------------
    @property
    def num_qubits(self) -> int:
        return self._num_qubits

    def structure_key(self) -> _StructureKey:
        """A hashable key equal for circuits with equal operations; cached until the
        circuit grows (operations are only ever appended), so simulators can look up
        compiled plans without rehashing every operation on each call."""
        key = self._key
        if key is None or key.length != len(self._ops) or key.num_clbits != self._num_clbits:
            key = self._key = _StructureKey(self._num_qubits, self._num_clbits, tuple(self._ops))
        return key

    @property
    def num_clbits(self) -> int:
        return self._num_clbits

    @property
    def operations(self) -> tuple[Operation, ...]:
        return tuple(self._ops)

    @property
    def parameters(self) -> tuple[Parameter, ...]:
        """Free parameters, unique, in order of first use."""
        seen: dict[Parameter, None] = {}
        for op in self._ops:
            for p in op.params:
                if isinstance(p, Expression):
                    seen.update(dict.fromkeys(p.parameters))
                elif isinstance(p, Parameter | ParameterExpression):
                    seen.setdefault(p.parameter, None)
        return tuple(seen)

    @property
    def num_parameters(self) -> int:
        return len(self.parameters)

    def __len__(self) -> int:
        return len(self._ops)

    def __iter__(self) -> Iterator[Operation]:
        return iter(tuple(self._ops))

    def __getitem__(self, index):
        return self._ops[index]

    def __eq__(self, other) -> bool:
        if not isinstance(other, Circuit):
            return NotImplemented
        return (self._num_qubits, self._num_clbits, self._ops) == (
            other._num_qubits,
            other._num_clbits,
            other._ops,
        )

    __hash__ = None  # mutable

    def __repr__(self) -> str:
        body = "; ".join(str(op) for op in self._ops[:12])
        more = f"; ... ({len(self._ops) - 12} more)" if len(self._ops) > 12 else ""
        return f"Circuit({self._num_qubits} qubits, {len(self._ops)} ops: {body}{more})"

    def draw(self) -> str:
        """A text drawing (Qiskit's drawer, qubit 0 at the top)."""
        return str(self.to_qiskit().draw(output="text"))

    # -- transformations (each returns a new circuit) -----------------------------------------
    def copy(self) -> Circuit:
        out = Circuit(self._num_qubits, self._num_clbits)
        out._ops = list(self._ops)
        return out

    def bind(self, values: Mapping | Sequence | np.ndarray) -> Circuit:
        """A copy with parameters replaced by numbers.

        ``values`` is a mapping (keys are names or :class:`Parameter`; a subset may be
        bound) or a sequence with one value per parameter in ``self.parameters`` order.
        """
        params = self.parameters
        if isinstance(values, Mapping):
            by_name = {p.name: p for p in params}
            table = {}
            for key, value in values.items():
                name = key.name if isinstance(key, Parameter) else key
                if name not in by_name:
                    raise KeyError(f"circuit has no parameter {name!r}; it has {list(by_name)}")
                table[by_name[name]] = as_real(value, f"value of parameter {name!r}")
        else:
            seq = np.asarray(values, dtype=object).ravel() if not isinstance(values, str) else None
            if seq is None:
                raise TypeError(f"values must be a mapping or a sequence, got {values!r}")
            if len(seq) != len(params):
                raise ValueError(
                    f"got {len(seq)} value(s) for {len(params)} parameter(s) "
                    f"{[p.name for p in params]}"
                )
            table = {p: as_real(v, f"value of parameter {p.name!r}") for p, v in zip(params, seq)}
        out = Circuit(self._num_qubits, self._num_clbits)
        for op in self._ops:
            if op.is_parameterized:
                new = tuple(_bind_angle(p, table, op) for p in op.params)
                op = Operation(op.name, op.qubits, new, op.clbits)
            out._ops.append(op)
        return out

    def inverse(self) -> Circuit:
        """The inverse circuit (gates reversed and inverted); refuses measurements."""
        out = Circuit(self._num_qubits, self._num_clbits)
        for op in reversed(self._ops):
            if op.name == "measure":
                raise ValueError("cannot invert a circuit that contains measurements")
            if op.name == "barrier":
                out._ops.append(op)
                continue
            name, params = GATES[op.name].inverse_params(op.params)
            out._ops.append(Operation(name, op.qubits, params))
        return out

    def compose(self, other: Circuit, qubits: Sequence[int] | None = None) -> Circuit:
        """A new circuit: ``self`` followed by ``other`` placed on ``qubits``
        (``other``'s qubit ``k`` goes to ``qubits[k]``; default the first ones)."""
        if not isinstance(other, Circuit):
            raise TypeError(f"can only compose a Circuit, got {type(other).__name__}")
        if qubits is None:
            if other.num_qubits > self._num_qubits:
                raise ValueError(
                    f"cannot compose a {other.num_qubits}-qubit circuit onto "
                    f"{self._num_qubits} qubits"
                )
            qubits = range(other.num_qubits)
        mapping = self._check_qubits(qubits, "compose")
        if len(mapping) != other.num_qubits:
            raise ValueError(f"compose needs {other.num_qubits} target qubits, got {list(mapping)}")
        out = self.copy()
        out._num_clbits = max(out._num_clbits, other.num_clbits)
        for op in other:
            out._ops.append(
                Operation(op.name, tuple(mapping[q] for q in op.qubits), op.params, op.clbits)
            )
        return out

    # -- analysis -------------------------------------------------------------------------
    def depth(self) -> int:
        """Circuit depth as Qiskit counts it (barriers excluded, measurements included)."""
        return _analysis.depth(self)

    def count_ops(self) -> dict[str, int]:
        """Operation counts by name, most frequent first."""
        return _analysis.count_ops(self)

    def is_clifford(self) -> bool:
        """True when every gate is Clifford at its (bound) angles."""
        return _analysis.first_non_clifford(self) is None

    # -- interchange (implemented in their own modules) -------------------------------------
    @classmethod
    def from_qiskit(cls, qc, decompose: bool = True) -> Circuit:
        """Import a ``qiskit.QuantumCircuit``, unrolling instructions outside the gate
        library through their Qiskit definitions (``decompose=False`` refuses them
        instead); see :func:`qworkbench.circuit._qiskit.from_qiskit`."""
        from qworkbench.circuit._qiskit import from_qiskit

        return from_qiskit(qc, decompose=decompose)

    def to_qiskit(self):
        """A ``qiskit.QuantumCircuit`` with the same gates and ``qiskit.circuit.Parameter``s."""
        from qworkbench.circuit._qiskit import to_qiskit

        return to_qiskit(self)

    @classmethod
    def from_qasm(cls, text: str, decompose: bool = True) -> Circuit:
        """Parse OpenQASM 2 or 3 text (the ``OPENQASM`` header picks the version)."""
        from qworkbench.circuit._qasm import from_qasm

        return from_qasm(text, decompose=decompose)

    @classmethod
    def from_qasm_file(cls, path, decompose: bool = True) -> Circuit:
        """Read an OpenQASM 2 or 3 file (a clear :class:`~qworkbench.errors.QasmError` for
        an empty or binary file)."""
        from qworkbench.circuit._qasm import read_qasm

        return read_qasm(path, decompose=decompose)

    def to_qasm(self, version: int = 3) -> str:
        """OpenQASM text, version 2 or 3."""
        from qworkbench.circuit._qasm import to_qasm

        return to_qasm(self, version=version)

    def to_stim(self):
        """A ``stim.Circuit`` (Clifford circuits only; measurements in program order)."""
        from qworkbench.circuit._stim import to_stim

        return to_stim(self)

    def to_pennylane(self, wires: Iterable | None = None):
        """A PennyLane quantum function; see :func:`qworkbench.circuit.to_pennylane`."""
        from qworkbench.circuit._pennylane import to_pennylane

        return to_pennylane(self, wires=wires)
