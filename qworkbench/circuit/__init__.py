"""The circuit IR: :class:`Circuit`, :class:`Parameter` and the gate library."""

from qworkbench.circuit._analysis import count_ops, depth, first_non_clifford
from qworkbench.circuit._circuit import Circuit, Operation
from qworkbench.circuit._gates import DIRECTIVES, GATES, GateSpec, gate_matrix
from qworkbench.circuit._parameter import Parameter, ParameterExpression

__all__ = [
    "Circuit",
    "Operation",
    "Parameter",
    "ParameterExpression",
    "GATES",
    "DIRECTIVES",
    "GateSpec",
    "gate_matrix",
    "depth",
    "count_ops",
    "first_non_clifford",
]
