"""The circuit IR: :class:`Circuit`, :class:`Parameter` and the gate library."""

from qworkbench.circuit._analysis import count_ops, depth, first_non_clifford
from qworkbench.circuit._circuit import Circuit, Operation
from qworkbench.circuit._expression import (
    Expression,
    acos,
    asin,
    atan,
    cos,
    exp,
    is_symbolic,
    log,
    sin,
    sqrt,
    tan,
)
from qworkbench.circuit._gates import DIRECTIVES, GATES, GateSpec, gate_matrix
from qworkbench.circuit._parameter import Parameter, ParameterExpression
from qworkbench.circuit._stim import append_operation as append_stim_operation

__all__ = [
    "Circuit",
    "Operation",
    "Parameter",
    "ParameterExpression",
    "Expression",
    "is_symbolic",
    "sin",
    "cos",
    "tan",
    "asin",
    "acos",
    "atan",
    "exp",
    "log",
    "sqrt",
    "GATES",
    "DIRECTIVES",
    "GateSpec",
    "gate_matrix",
    "depth",
    "count_ops",
    "first_non_clifford",
    "append_stim_operation",
]
