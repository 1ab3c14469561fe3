"""qworkbench: a quantum-ML research workbench.

The shared core: the circuit IR (:class:`Circuit`, :class:`Parameter`), Pauli
operators (:class:`PauliSum`) and the error types. ``simulators``, ``tasks`` and
``agents`` build on it; this package imports none of them.
"""

from qworkbench import errors
from qworkbench.circuit import Circuit, Operation, Parameter, ParameterExpression
from qworkbench.errors import QWorkbenchError
from qworkbench.pauli import PauliSum

__version__ = "0.1.0"

__all__ = [
    "Circuit",
    "Operation",
    "Parameter",
    "ParameterExpression",
    "PauliSum",
    "QWorkbenchError",
    "errors",
    "__version__",
]
