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


def __getattr__(name: str):
    # ``from qworkbench import optim`` works without importing torch at ``import qworkbench``
    if name == "optim":
        import importlib

        return importlib.import_module("qworkbench.optim")
    raise AttributeError(f"module 'qworkbench' has no attribute {name!r}")


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
