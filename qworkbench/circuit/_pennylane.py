"""Export to a PennyLane quantum function.

PennyLane orders a state with wire 0 most significant; qworkbench with qubit 0
least significant. By default qubit ``q`` goes to wire ``n - 1 - q``, so that
``qml.state()`` and ``qml.probs()`` come out in qworkbench's index order.
"""

from __future__ import annotations

from qworkbench.circuit._expression import Expression
from qworkbench.circuit._parameter import Parameter, ParameterExpression

__all__ = ["to_pennylane"]

# our name -> (PennyLane operation, take its adjoint)
_PL_NAMES = {
    "id": ("Identity", False),
    "h": ("Hadamard", False),
    "x": ("PauliX", False),
    "y": ("PauliY", False),
    "z": ("PauliZ", False),
    "s": ("S", False),
    "sdg": ("S", True),
    "t": ("T", False),
    "tdg": ("T", True),
    "sx": ("SX", False),
    "sxdg": ("SX", True),
    "rx": ("RX", False),
    "ry": ("RY", False),
    "rz": ("RZ", False),
    "p": ("PhaseShift", False),
    "u": ("U3", False),
    "cx": ("CNOT", False),
    "cy": ("CY", False),
    "cz": ("CZ", False),
    "swap": ("SWAP", False),
    "crx": ("CRX", False),
    "cry": ("CRY", False),
    "crz": ("CRZ", False),
    "rzz": ("IsingZZ", False),
    "rxx": ("IsingXX", False),
    "ryy": ("IsingYY", False),
    "ccx": ("Toffoli", False),
}


def to_pennylane(circuit, wires=None):
    """A quantum function ``qfunc(params=None)`` applying the circuit's gates.

    Args:
        circuit: the circuit (measurements and barriers are skipped: the caller's
            QNode chooses what to measure).
        wires: ``wires[q]`` is the PennyLane wire of qubit ``q``; default
            ``n - 1 - q`` (see the module docstring).

    ``params`` holds one value per ``circuit.parameters`` entry, in that order; it
    may be an autograd/torch/JAX array, so PennyLane can differentiate through it.
    """
    import pennylane as qml

    n = circuit.num_qubits
    wire_of = list(range(n - 1, -1, -1)) if wires is None else list(wires)
    if len(wire_of) != n or len(set(wire_of)) != n:
        raise ValueError(f"wires must name {n} distinct wires, got {wire_of}")
    index = {p: k for k, p in enumerate(circuit.parameters)}
    ops = [op for op in circuit if op.name in _PL_NAMES]

    def qfunc(params=None):
        if index and params is None:
            raise ValueError(f"circuit has parameters {[p.name for p in index]}; pass params")
        if index and len(params) != len(index):
            raise ValueError(f"expected {len(index)} parameter values, got {len(params)}")

        def angle(p):
            if isinstance(p, Expression):
                return p.evaluate({q: params[index[q]] for q in p.parameters}, qml.math)
            if isinstance(p, Parameter | ParameterExpression):
                return p.scale * params[index[p.parameter]] + p.offset
            return p

        for op in ops:
            name, adjoint = _PL_NAMES[op.name]
            gate = getattr(qml, name)
            op_wires = [wire_of[q] for q in op.qubits]
            if adjoint:
                qml.adjoint(gate)(wires=op_wires)
            else:
                gate(*(angle(p) for p in op.params), wires=op_wires)

    qfunc.wires = wire_of
    return qfunc
