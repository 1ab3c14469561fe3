"""Conversion between qworkbench circuits and ``qiskit.QuantumCircuit``.

Global phase is not part of qworkbench's IR: imported circuits are equal to the
original up to it (``Operator.equiv``).
"""

from __future__ import annotations

import math

from qworkbench.circuit._circuit import Circuit, Operation
from qworkbench.circuit._gates import DIRECTIVES, GATES
from qworkbench.circuit._parameter import Parameter, ParameterExpression, as_real
from qworkbench.errors import UnsupportedGateError

__all__ = ["from_qiskit", "to_qiskit"]

# Qiskit gates that are library gates under another name: name -> (ours, angle map).
_ALIASES = {
    "u3": ("u", lambda p: p),
    "u1": ("p", lambda p: p),
    "u2": ("u", lambda p: (math.pi / 2, *p)),
}

_BASIS = [*sorted(GATES), "measure"]  # barriers pass through the transpiler untouched


def _angle_from_qiskit(value, where: str):
    from qiskit.circuit import Parameter as QiskitParameter
    from qiskit.circuit import ParameterExpression as QiskitExpression

    if isinstance(value, QiskitParameter):
        return Parameter(value.name)
    if isinstance(value, QiskitExpression):
        free = list(value.parameters)
        if not free:
            return as_real(complex(value), where)
        if len(free) > 1:
            raise ValueError(
                f"{where}: expression {value} uses {len(free)} parameters; qworkbench "
                "supports affine expressions of one parameter (scale * p + offset)"
            )
        (qp,) = free
        slope = value.gradient(qp)
        if isinstance(slope, QiskitExpression) and slope.parameters:
            raise ValueError(f"{where}: expression {value} is not affine in {qp.name}")
        scale = as_real(complex(slope), where)
        offset = as_real(complex(value.assign(qp, 0.0)), where)
        return ParameterExpression(Parameter(qp.name), scale, offset)._make(scale, offset)
    return as_real(value, where)


def from_qiskit(qc, decompose: bool = False) -> Circuit:
    """Import a ``qiskit.QuantumCircuit``.

    Gates outside the library raise :class:`UnsupportedGateError` naming them;
    with ``decompose=True`` the circuit is first transpiled (optimization level 0)
    into the library's gates. Global phase is dropped.
    """
    from qiskit import QuantumCircuit

    if not isinstance(qc, QuantumCircuit):
        raise TypeError(f"expected a qiskit.QuantumCircuit, got {type(qc).__name__}")
    if decompose and any(
        inst.operation.name not in GATES
        and inst.operation.name not in DIRECTIVES
        and inst.operation.name not in _ALIASES
        for inst in qc.data
    ):
        from qiskit import transpile

        try:
            qc = transpile(qc, basis_gates=_BASIS, optimization_level=0, seed_transpiler=0)
        except Exception as exc:  # TranspilerError, or anything a custom gate's definition raises
            raise UnsupportedGateError(
                f"cannot decompose the circuit into library gates: {exc}", ""
            ) from exc
    out = Circuit(qc.num_qubits if qc.num_qubits else 1, qc.num_clbits)
    for index, inst in enumerate(qc.data):
        op = inst.operation
        name = op.name
        qubits = [qc.find_bit(q).index for q in inst.qubits]
        if name == "measure":
            out.measure(qubits[0], qc.find_bit(inst.clbits[0]).index)
            continue
        if name == "barrier":
            out.barrier(*qubits)
            continue
        params = [
            _angle_from_qiskit(p, f"angle {k} of {name} (instruction {index})")
            for k, p in enumerate(op.params)
        ]
        if name in _ALIASES:
            name, mapping = _ALIASES[name]
            params = list(mapping(tuple(params)))
        if name not in GATES or getattr(op, "condition", None) is not None:
            raise UnsupportedGateError(
                f"instruction {index}, {name!r} on qubits {qubits}, is not in qworkbench's "
                "gate library; pass decompose=True to rewrite it into library gates",
                name,
            )
        out.append(name, qubits, params)
    return out


def to_qiskit(circuit: Circuit):
    """A ``qiskit.QuantumCircuit`` equal to ``circuit``; parameters become
    ``qiskit.circuit.Parameter`` objects of the same names."""
    from qiskit import QuantumCircuit
    from qiskit.circuit import Parameter as QiskitParameter

    qc = QuantumCircuit(circuit.num_qubits, circuit.num_clbits)
    table: dict[str, QiskitParameter] = {}

    def angle(p):
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
