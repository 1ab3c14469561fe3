"""General angle expressions: ``Expression`` trees over parameters.

An angle that is not affine in one parameter (``a + b``, ``a * a``, ``sin(a)``,
Qiskit's ``zz_feature_map`` angle ``2 (pi - x0) (pi - x1)``) is an
:class:`Expression`: a small tree of ``+ - * / **`` and ``sin cos tan asin acos
atan exp log sqrt abs`` whose leaves are numbers, :class:`Parameter` and affine
:class:`ParameterExpression`. It evaluates vectorised over a batch of parameter
sets and differentiates itself (forward mode), so simulators can apply the chain
rule: d<H>/dp = sum over angles of d<H>/d angle * d angle/dp.

Gate angles keep the fast path: a circuit simplifies each expression it is given
(:meth:`Expression.simplify`) to a float, a ``Parameter`` or an affine
``ParameterExpression`` whenever it is still affine in one parameter, so only
genuinely general angles stay trees.

Examples:
    >>> from qworkbench.circuit import Expression, Parameter, sin
    >>> a, b = Parameter("a"), Parameter("b")
    >>> e = Expression.of(a) * b + sin(a)
    >>> [p.name for p in e.parameters]
    ['a', 'b']
    >>> round(float(e.evaluate({a: 0.5, b: 2.0})), 12)
    1.479425538604
    >>> (Expression.of(a) * 2 + 1 - a).simplify()   # affine results fold back
    ParameterExpression(parameter=Parameter('a'), scale=1.0, offset=1.0)
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, field

import numpy as np

from qworkbench.circuit._parameter import Parameter, ParameterExpression, as_real

__all__ = [
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
]

_BINARY = ("add", "sub", "mul", "div", "pow")
_SYMBOLS = {"add": "+", "sub": "-", "mul": "*", "div": "/", "pow": "**"}
# unary op -> (numpy name, derivative as a function of the argument)
_UNARY = {
    "pos": ("positive", lambda x, m: 1.0 + 0.0 * x),
    "neg": ("negative", lambda x, m: -1.0 + 0.0 * x),
    "sin": ("sin", lambda x, m: m.cos(x)),
    "cos": ("cos", lambda x, m: -m.sin(x)),
    "tan": ("tan", lambda x, m: 1.0 / m.cos(x) ** 2),
    "asin": ("arcsin", lambda x, m: 1.0 / m.sqrt(1.0 - x * x)),
    "acos": ("arccos", lambda x, m: -1.0 / m.sqrt(1.0 - x * x)),
    "atan": ("arctan", lambda x, m: 1.0 / (1.0 + x * x)),
    "exp": ("exp", lambda x, m: m.exp(x)),
    "log": ("log", lambda x, m: 1.0 / x),
    "sqrt": ("sqrt", lambda x, m: 0.5 / m.sqrt(x)),
    "abs": ("abs", lambda x, m: m.sign(x)),
}


def is_symbolic(value) -> bool:
    """True for a :class:`Parameter`, :class:`ParameterExpression` or :class:`Expression`."""
    return isinstance(value, Parameter | ParameterExpression | Expression)


def _leaf(value):
    if isinstance(value, Parameter | ParameterExpression | Expression):
        return value
    return as_real(value, "expression operand")


@dataclass(frozen=True)
class Expression:
    """``op`` applied to ``args`` (numbers, parameters, affine expressions, expressions).

    Build expressions with arithmetic on ``Expression.of(p)`` and the functions of
    this module (``sin(p)``, ...), not with the constructor.
    """

    op: str
    args: tuple
    _parameters: tuple = field(init=False, repr=False, compare=False, hash=False)

    def __post_init__(self):
        if self.op not in _BINARY and self.op not in _UNARY:
            raise ValueError(f"unknown expression operation {self.op!r}")
        seen: dict[Parameter, None] = {}
        for arg in self.args:
            if isinstance(arg, Expression):
                seen.update(dict.fromkeys(arg.parameters))
            elif isinstance(arg, Parameter | ParameterExpression):
                seen.setdefault(arg.parameter, None)
        object.__setattr__(self, "_parameters", tuple(seen))

    @staticmethod
    def of(value) -> Expression:
        """``value`` (a parameter or an affine expression) as an operand whose arithmetic
        builds general expressions: ``Expression.of(a) * b``."""
        value = _leaf(value)
        if isinstance(value, Expression):
            return value
        return Expression("pos", (value,))

    @property
    def parameters(self) -> tuple[Parameter, ...]:
        """The free parameters, in order of first appearance."""
        return self._parameters

    # -- evaluation -----------------------------------------------------------------------
    def evaluate(self, values: Mapping, math_module=np):
        """The value at ``values`` (parameter -> number or array of a batch), computed
        with ``math_module``'s functions (NumPy; PennyLane passes ``qml.math``)."""
        return _evaluate(self, values, math_module)

    def gradient(self, values: Mapping) -> dict[Parameter, np.ndarray]:
        """d(self)/d(parameter) at ``values``, for every parameter of the expression."""
        _, grads = _forward(self, values)
        return {p: grads.get(p, 0.0) for p in self.parameters}

    def bind(self, table: Mapping):
        """Substitute the parameters in ``table`` (parameter -> float); a float when all
        are bound, else the simplified remaining expression."""
        args = [_bind_arg(a, table) for a in self.args]
        return _simplify(_build(self.op, *args))

    def simplify(self):
        """A float, ``Parameter`` or affine ``ParameterExpression`` when the expression is
        affine in at most one parameter (the simulators' fast path), else an expression
        with its affine parts folded."""
        return _simplify(self)

    # -- arithmetic -----------------------------------------------------------------------
    def __add__(self, other):
        return _build("add", self, _leaf(other))

    def __radd__(self, other):
        return _build("add", _leaf(other), self)

    def __sub__(self, other):
        return _build("sub", self, _leaf(other))

    def __rsub__(self, other):
        return _build("sub", _leaf(other), self)

    def __mul__(self, other):
        return _build("mul", self, _leaf(other))

    def __rmul__(self, other):
        return _build("mul", _leaf(other), self)

    def __truediv__(self, other):
        return _build("div", self, _leaf(other))

    def __rtruediv__(self, other):
        return _build("div", _leaf(other), self)

    def __pow__(self, other):
        return _build("pow", self, _leaf(other))

    def __rpow__(self, other):
        return _build("pow", _leaf(other), self)

    def __neg__(self):
        return _build("neg", self)

    def __pos__(self):
        return self

    def __str__(self) -> str:
        if self.op in _UNARY:
            (arg,) = self.args
            if self.op == "pos":
                return _text(arg)
            return f"-({_text(arg)})" if self.op == "neg" else f"{self.op}({_text(arg)})"
        a, b = self.args
        return f"({_text(a)} {_SYMBOLS[self.op]} {_text(b)})"


def _text(x) -> str:
    if isinstance(x, float):
        return f"{x:g}"
    return f"({x})" if isinstance(x, ParameterExpression) else str(x)


def _bind_arg(arg, table):
    if isinstance(arg, Expression):
        return arg.bind(table)
    if isinstance(arg, Parameter | ParameterExpression) and arg.parameter in table:
        return arg.value(table[arg.parameter])
    return arg


def _value(x, values, m):
    if isinstance(x, Expression):
        return _evaluate(x, values, m)
    if isinstance(x, Parameter | ParameterExpression):
        v = values[x.parameter]
        return v if isinstance(x, Parameter) else x.scale * v + x.offset
    return x


def _evaluate(node: Expression, values, m):
    args = [_value(a, values, m) for a in node.args]
    op = node.op
    if op in _UNARY:
        return getattr(m, _UNARY[op][0])(args[0])
    a, b = args
    if op == "add":
        return a + b
    if op == "sub":
        return a - b
    if op == "mul":
        return a * b
    if op == "div":
        return a / b
    return a**b


def _forward(x, values):
    """(value, {parameter: derivative}) by forward-mode differentiation."""
    if isinstance(x, Parameter | ParameterExpression):
        v = values[x.parameter]
        return x.scale * np.asarray(v, dtype=float) + x.offset, {x.parameter: x.scale}
    if not isinstance(x, Expression):
        return x, {}
    op = x.op
    if op in _UNARY:
        a, da = _forward(x.args[0], values)
        name, derivative = _UNARY[op]
        outer = derivative(a, np)
        return getattr(np, name)(a), {p: outer * d for p, d in da.items()}
    (a, da), (b, db) = _forward(x.args[0], values), _forward(x.args[1], values)
    if op in ("add", "sub"):
        sign = 1.0 if op == "add" else -1.0
        value = a + sign * b
        return value, _combine(da, 1.0, db, sign)
    if op == "mul":
        return a * b, _combine(da, b, db, a)
    if op == "div":
        return a / b, _combine(da, 1.0 / b, db, -a / (b * b))
    value = a**b
    # d(a**b) = b a**(b-1) da + a**b log(a) db; the log term only where b varies
    with np.errstate(divide="ignore", invalid="ignore"):
        grads = _combine(da, b * a ** (b - 1.0), {}, 0.0)
        if db:
            grads = _combine(grads, 1.0, db, value * np.log(a))
    return value, grads


def _combine(da: dict, ka, db: dict, kb) -> dict:
    out = {p: ka * d for p, d in da.items()}
    for p, d in db.items():
        out[p] = out[p] + kb * d if p in out else kb * d
    return out


# -- building with folding ------------------------------------------------------------------
def _affine(x):
    """(parameter or None, scale, offset) when ``x`` is affine in at most one parameter."""
    if isinstance(x, float | int):
        return None, 0.0, float(x)
    if isinstance(x, Parameter | ParameterExpression):
        return (x.parameter if x.scale else None), x.scale, x.offset
    forms = [_affine(a) for a in x.args]
    if any(f is None for f in forms):
        return None
    return _fold_affine(x.op, forms)


def _from_affine(form):
    param, scale, offset = form
    if param is None or scale == 0.0:
        return offset
    return ParameterExpression(param, scale, offset)._make(scale, offset)


def _build(op: str, *args):
    """``op(*args)``: a float when every argument is a number, else an :class:`Expression`
    (folded back to an affine form only by :meth:`Expression.simplify`, so that
    ``Expression.of(a) + 1 - a + b`` stays general until it is used as an angle)."""
    if all(isinstance(a, float | int) for a in args):
        with np.errstate(all="ignore"):
            value = float(_evaluate(Expression(op, tuple(map(np.float64, args))), {}, np))
        if not np.isfinite(value):
            raise ValueError(f"{Expression(op, tuple(args))} is not a finite number")
        return value
    return Expression(op, tuple(args))


def _simplify(x):
    if not isinstance(x, Expression):
        return x
    form = _affine(x)
    if form is not None:
        return _from_affine(form)
    args = tuple(_simplify(a) for a in x.args)
    if x.op == "pos":
        return args[0]
    return Expression(x.op, args)


def _fold_affine(op, forms):
    if op in ("neg", "pos"):
        ((p, k, o),) = forms
        return (p, -k, -o) if op == "neg" else (p, k, o)
    if op not in ("add", "sub", "mul", "div"):
        return None
    (p, k, o), (q, j, c) = forms
    if op in ("add", "sub"):
        if p is not None and q is not None and p != q:
            return None
        sign = 1.0 if op == "add" else -1.0
        return (p if p is not None else q), k + sign * j, o + sign * c
    if op == "mul":
        if q is None:
            return p, k * c, o * c
        if p is None:
            return q, j * o, c * o
        return None
    if q is None and c != 0.0:
        return p, k / c, o / c
    return None


def _unary(op: str):
    def fn(x):
        if isinstance(x, bool) or not (is_symbolic(x) or isinstance(x, int | float)):
            x = as_real(x, f"argument of {op}")
        return _build(op, x if is_symbolic(x) else float(x))

    fn.__name__ = op
    fn.__doc__ = f"``{op}(x)`` of a number (a float) or of a parameter (an Expression)."
    return fn


sin = _unary("sin")
cos = _unary("cos")
tan = _unary("tan")
asin = _unary("asin")
acos = _unary("acos")
atan = _unary("atan")
exp = _unary("exp")
log = _unary("log")
sqrt = _unary("sqrt")
