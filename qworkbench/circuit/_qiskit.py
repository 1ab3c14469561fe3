"""Conversion between qworkbench circuits and ``qiskit.QuantumCircuit``.

Global phase is not part of qworkbench's IR: imported circuits are equal to the
original up to it (``Operator.equiv``).
"""

from __future__ import annotations

import math

from qworkbench.circuit._circuit import Circuit, Operation
from qworkbench.circuit._expression import Expression
from qworkbench.circuit._gates import GATES
from qworkbench.circuit._parameter import Parameter, ParameterExpression, as_real
from qworkbench.circuit._qiskit_expr import expression_from_qiskit as _expression_from_qiskit
from qworkbench.circuit._qiskit_expr import expression_to_qiskit
from qworkbench.errors import UnsupportedGateError

__all__ = ["from_qiskit", "to_qiskit"]

# Qiskit gates that are library gates under another name: name -> (ours, angle map).
_ALIASES = {
    "u3": ("u", lambda p: p),
    "u1": ("p", lambda p: p),
    "u2": ("u", lambda p: (math.pi / 2, *p)),
}

_BASIS = [*sorted(GATES), "measure"]  # barriers pass through the transpiler untouched
_MAX_DEPTH = 64  # nested definitions followed before giving up (a cyclic definition)
# instructions that make a circuit dynamic: the IR has no classical control or reset
_CLASSICAL = {"if_else", "while_loop", "for_loop", "switch_case", "box", "break_loop"}
_CLASSICAL |= {"continue_loop", "store"}
_DYNAMIC_HINT = (
    "qworkbench circuits have no reset or classical control and measure only at the end; "
    "use qiskit-aer for dynamic circuits"
)


def from_qiskit(qc, decompose: bool = True) -> Circuit:
    """Import a ``qiskit.QuantumCircuit``.

    Instructions outside the gate library (QFT, Grover operators, multi-controlled X,
    custom composite gates, unitary matrices, ...) are unrolled through their Qiskit
    definitions until only library gates remain; an instruction without a definition is
    transpiled (optimization level 0) into library gates as a last resort. With
    ``decompose=False`` they raise :class:`UnsupportedGateError` naming them instead.
    Dynamic circuits (mid-circuit measurement, reset, classically controlled
    instructions) raise :class:`UnsupportedGateError` naming the instruction.
    Parameter expressions of any number of parameters become angles (general ones as
    :class:`~qworkbench.circuit.Expression`). Global phase is dropped.
    """
    from qiskit import QuantumCircuit

    if not isinstance(qc, QuantumCircuit):
        raise TypeError(f"expected a qiskit.QuantumCircuit, got {type(qc).__name__}")
    importer = _Importer(qc, decompose)
    for index, inst in enumerate(qc.data):
        qubits = [qc.find_bit(q).index for q in inst.qubits]
        clbits = [qc.find_bit(c).index for c in inst.clbits]
        importer.add(inst.operation, qubits, clbits, index, 0)
    return importer.out


class _Importer:
    """Appends Qiskit instructions to a new circuit, unrolling the foreign ones."""

    def __init__(self, qc, decompose: bool):
        self.decompose = decompose
        self.out = Circuit(qc.num_qubits if qc.num_qubits else 1, qc.num_clbits)
        self.measured: set[int] = set()

    def add(self, op, qubits: list[int], clbits: list[int], index: int, depth: int) -> None:
        name = op.name
        where = f"{name!r} on qubits {qubits} (instruction {index})"
        self._check_dynamic(op, qubits, index)
        if name == "measure":
            self.out.measure(qubits[0], clbits[0])
            self.measured.add(qubits[0])
            return
        if name == "barrier":
            self.out.barrier(*qubits)
            return
        if name in ("delay", "global_phase"):
            return  # no effect on the state (global phase is dropped)
        if name in GATES or name in _ALIASES:
            params = [
                _angle_from_qiskit(p, f"angle {k} of {name} (instruction {index})")
                for k, p in enumerate(op.params)
            ]
            if name in _ALIASES:
                name, mapping = _ALIASES[name]
                params = list(mapping(tuple(params)))
            self.out.append(name, qubits, params)
            return
        if not self.decompose:
            raise UnsupportedGateError(
                f"instruction {index}, {name!r} on qubits {qubits}, is not in qworkbench's "
                "gate library; pass decompose=True to rewrite it into library gates",
                name,
            )
        if depth >= _MAX_DEPTH:
            raise UnsupportedGateError(f"{where}: its definition nests too deeply", name)
        definition = self._definition(op, where)
        for inner in definition.data:
            self.add(
                inner.operation,
                [qubits[definition.find_bit(q).index] for q in inner.qubits],
                [clbits[definition.find_bit(c).index] for c in inner.clbits],
                index,
                depth + 1,
            )

    def _definition(self, op, where: str):
        """Qiskit's definition of ``op``, or ``op`` transpiled into library gates."""
        try:
            definition = op.definition
        except Exception as exc:  # a custom gate's definition may raise anything
            raise UnsupportedGateError(f"{where} has no usable definition: {exc}", op.name) from exc
        if definition is not None:
            return definition
        from qiskit import QuantumCircuit, transpile

        single = QuantumCircuit(op.num_qubits, op.num_clbits)
        single.append(op, single.qubits, single.clbits)
        try:
            return transpile(single, basis_gates=_BASIS, optimization_level=0, seed_transpiler=0)
        except Exception as exc:  # TranspilerError, or anything the synthesis raises
            raise UnsupportedGateError(
                f"{where} cannot be decomposed into qworkbench's gate library "
                f"({', '.join(sorted(GATES))}): {exc}",
                op.name,
            ) from exc

    def _check_dynamic(self, op, qubits: list[int], index: int) -> None:
        name = op.name
        if name in _CLASSICAL or getattr(op, "condition", None) is not None:
            raise UnsupportedGateError(
                f"classically controlled instruction {name!r} (instruction {index}) is not "
                f"supported: {_DYNAMIC_HINT}",
                name,
            )
        if name == "reset":
            raise UnsupportedGateError(
                f"reset on qubit {qubits[0]} (instruction {index}) is not supported: "
                f"{_DYNAMIC_HINT}",
                name,
            )
        after = self.measured.intersection(qubits)
        if after and name != "barrier":
            what = "mid-circuit measurement" if name != "measure" else "repeated measurement"
            raise UnsupportedGateError(
                f"{what} on qubit {min(after)} (instruction {index}, {name!r} after measuring "
                f"it) is not supported: {_DYNAMIC_HINT}",
                name,
            )


def _angle_from_qiskit(value, where: str):
    from qiskit.circuit import Parameter as QiskitParameter
    from qiskit.circuit import ParameterExpression as QiskitExpression

    if isinstance(value, QiskitParameter):
        return Parameter(value.name)
    if isinstance(value, QiskitExpression):
        free = list(value.parameters)
        if not free:
            return as_real(complex(value), where)
        return _expression_from_qiskit(value, free, where)
    return as_real(value, where)


def to_qiskit(circuit: Circuit):
    """A ``qiskit.QuantumCircuit`` equal to ``circuit``; parameters become
    ``qiskit.circuit.Parameter`` objects of the same names."""
    from qiskit import QuantumCircuit
    from qiskit.circuit import Parameter as QiskitParameter

    qc = QuantumCircuit(circuit.num_qubits, circuit.num_clbits)
    table: dict[str, QiskitParameter] = {}

    def angle(p):
        if isinstance(p, Expression):
            return expression_to_qiskit(p, table)
        if isinstance(p, Parameter | ParameterExpression):
            qp = table.setdefault(p.parameter.name, QiskitParameter(p.parameter.name))
            return qp if isinstance(p, Parameter) else p.scale * qp + p.offset
        return p

    for op in circuit:
        _apply(qc, op, angle)
    return qc


def _apply(qc, op: Operation, angle) -> None:
    if op.name == "measure":
        qc.measure(op.qubits[0], op.clbits[0])
    elif op.name == "barrier":
        qc.barrier(*op.qubits)
    else:
        getattr(qc, op.name)(*(angle(p) for p in op.params), *op.qubits)
