"""Qiskit ``ParameterExpression`` <-> qworkbench angles (affine or :class:`Expression`).

Qiskit keeps an expression's tree private, so an imported expression is read from its
text: its parameters are first renamed to plain placeholders (names such as ``θ[0]``
are no Python identifiers), the text is parsed with :mod:`ast`, and the result is
checked against Qiskit's own value at a sample point before it is trusted.
"""

from __future__ import annotations

import ast
import math

import numpy as np

from qworkbench.circuit import _expression as ex
from qworkbench.circuit._parameter import Parameter, ParameterExpression, as_real

__all__ = ["expression_from_qiskit", "expression_to_qiskit"]

_PLACEHOLDER = "_qwb_p"
_FUNCTIONS = {
    "sin": ex.sin,
    "cos": ex.cos,
    "tan": ex.tan,
    "asin": ex.asin,
    "acos": ex.acos,
    "atan": ex.atan,
    "arcsin": ex.asin,
    "arccos": ex.acos,
    "arctan": ex.atan,
    "exp": ex.exp,
    "log": ex.log,
    "sqrt": ex.sqrt,
    "abs": lambda x: ex._build("abs", x),
    "Abs": lambda x: ex._build("abs", x),
    "conj": lambda x: x,  # real parameters: conjugation is the identity
    "conjugate": lambda x: x,
}
_BINARY = {ast.Add: "add", ast.Sub: "sub", ast.Mult: "mul", ast.Div: "div", ast.Pow: "pow"}


def expression_from_qiskit(value, free: list, where: str):
    """Qiskit expression ``value`` over parameters ``free`` as a float, ``Parameter``,
    affine ``ParameterExpression`` or :class:`Expression`; ``ValueError`` naming
    ``where`` when it cannot be read (complex coefficients, unknown functions)."""
    from qiskit.circuit import Parameter as QiskitParameter

    names = {f"{_PLACEHOLDER}{k}": Parameter(p.name) for k, p in enumerate(free)}
    renamed = value.subs({p: QiskitParameter(f"{_PLACEHOLDER}{k}") for k, p in enumerate(free)})
    try:
        tree = ast.parse(str(renamed).replace("^", "**"), mode="eval")
        angle = _convert(tree.body, names)
    except (SyntaxError, ValueError, TypeError, KeyError, RecursionError) as exc:
        raise ValueError(
            f"{where}: cannot read the parameter expression {value} as a real angle ({exc})"
        ) from exc
    angle = angle.simplify() if isinstance(angle, ex.Expression) else angle
    _check_agrees(value, free, angle, where)
    return angle


def _convert(node, names):
    if isinstance(node, ast.Constant) and isinstance(node.value, int | float):
        return float(node.value)
    if isinstance(node, ast.Name):
        if node.id in names:
            return ex.Expression.of(names[node.id])
        if node.id in ("pi", "π"):
            return math.pi
        raise ValueError(f"unknown name {node.id!r}")
    if isinstance(node, ast.UnaryOp) and isinstance(node.op, ast.USub | ast.UAdd):
        inner = _convert(node.operand, names)
        return -inner if isinstance(node.op, ast.USub) else inner
    if isinstance(node, ast.BinOp) and type(node.op) in _BINARY:
        left, right = _convert(node.left, names), _convert(node.right, names)
        return ex._build(_BINARY[type(node.op)], left, right)
    if isinstance(node, ast.Call) and isinstance(node.func, ast.Name) and len(node.args) == 1:
        function = _FUNCTIONS.get(node.func.id)
        if function is None:
            raise ValueError(f"unsupported function {node.func.id!r}")
        return function(_convert(node.args[0], names))
    raise ValueError(f"unsupported term {ast.unparse(node)!r}")


def _check_agrees(value, free, angle, where: str) -> None:
    """Compare with Qiskit's value at a sample point (skipped where either is undefined)."""
    point = {p: 0.37 + 0.11 * k for k, p in enumerate(free)}
    try:
        expected = complex(value.bind(point))
    except Exception:  # outside the expression's domain at this point (log, division)
        return
    ours = {Parameter(p.name): v for p, v in point.items()}
    if isinstance(angle, ex.Expression):
        with np.errstate(all="ignore"):
            got = float(angle.evaluate(ours))
    elif isinstance(angle, Parameter | ParameterExpression):
        got = angle.value(ours[angle.parameter])
    else:
        got = float(angle)
    if not (math.isfinite(got) and np.isfinite(expected)):
        return
    if abs(expected.imag) > 1e-12 or abs(got - expected.real) > 1e-9 * max(1.0, abs(got)):
        raise ValueError(f"{where}: parameter expression {value} is not a real angle we can read")


def expression_to_qiskit(angle: ex.Expression, table: dict):
    """A Qiskit ``ParameterExpression`` equal to ``angle``; ``table`` maps parameter names
    to the ``qiskit.circuit.Parameter`` objects already made for the circuit."""
    from qiskit.circuit import Parameter as QiskitParameter

    def convert(x):
        if isinstance(x, ex.Expression):
            args = [convert(a) for a in x.args]
            op = x.op
            if op == "pos":
                return args[0]
            if op == "neg":
                return -args[0]
            if op in ("add", "sub", "mul", "div", "pow"):
                a, b = args
                return {
                    "add": lambda: a + b,
                    "sub": lambda: a - b,
                    "mul": lambda: a * b,
                    "div": lambda: a / b,
                    "pow": lambda: a**b,
                }[op]()
            if op == "sqrt":
                return args[0] ** 0.5
            method = {"asin": "arcsin", "acos": "arccos", "atan": "arctan"}.get(op, op)
            return getattr(args[0], method)()
        if isinstance(x, Parameter | ParameterExpression):
            qp = table.setdefault(x.parameter.name, QiskitParameter(x.parameter.name))
            return qp if isinstance(x, Parameter) else x.scale * qp + x.offset
        return as_real(x, "constant")

    return convert(angle)
