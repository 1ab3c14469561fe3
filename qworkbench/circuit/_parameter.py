"""Symbolic circuit angles: ``Parameter`` and affine ``ParameterExpression``.

Arithmetic on a parameter with numbers stays affine in that one parameter
(``scale * p + offset``): QAOA's weighted angles (``2 * w * gamma``) and inverses
(``-theta``), whose derivative is the constant ``scale`` and which the simulators
bind on their fast path. Anything more general (``a * b``, ``sin(a)``) is an
:class:`~qworkbench.circuit.Expression`, built explicitly with ``Expression.of(a) * b``
or the functions of ``qworkbench.circuit`` so that a product of parameters is never
made by accident.
"""

from __future__ import annotations

import math
import numbers
from dataclasses import dataclass

import numpy as np

__all__ = ["Parameter", "ParameterExpression", "as_angle", "as_real"]


def _general(other) -> bool:
    """True for an ``Expression`` operand (its reflected operator builds the result)."""
    from qworkbench.circuit._expression import Expression

    return isinstance(other, Expression)


def _refuse_symbolic(self, other, op: str) -> None:
    if isinstance(other, Parameter | ParameterExpression):
        raise TypeError(
            f"{self} {op} {other} is not affine in one parameter; build general expressions "
            f"explicitly: Expression.of({self}) {op} {other} (qworkbench.circuit.Expression)"
        )


class _Affine:
    """Arithmetic shared by ``Parameter`` and ``ParameterExpression``."""

    parameter: Parameter
    scale: float
    offset: float

    def value(self, x: float) -> float:
        """The angle this expression takes when its parameter equals ``x``."""
        return self.scale * x + self.offset

    def _make(self, scale: float, offset: float) -> Parameter | ParameterExpression:
        if scale == 1.0 and offset == 0.0:
            return self.parameter
        return ParameterExpression(self.parameter, scale, offset)

    def __mul__(self, other):
        if _general(other):
            return NotImplemented
        _refuse_symbolic(self, other, "*")
        k = as_real(other, "scale factor")
        return self._make(self.scale * k, self.offset * k)

    __rmul__ = __mul__

    def __truediv__(self, other):
        if _general(other):
            return NotImplemented
        _refuse_symbolic(self, other, "/")
        k = as_real(other, "divisor")
        if k == 0.0:
            raise ZeroDivisionError(f"cannot divide parameter {self.parameter.name!r} by 0")
        return self * (1.0 / k)

    def __add__(self, other):
        if _general(other):
            return NotImplemented
        _refuse_symbolic(self, other, "+")
        return self._make(self.scale, self.offset + as_real(other, "offset"))

    __radd__ = __add__

    def __sub__(self, other):
        if _general(other):
            return NotImplemented
        _refuse_symbolic(self, other, "-")
        return self + (-as_real(other, "offset"))

    def __rsub__(self, other):
        return (-self) + other

    def __neg__(self):
        return self._make(-self.scale, -self.offset)

    def __pos__(self):
        return self


@dataclass(frozen=True)
class Parameter(_Affine):
    """A named free angle. Two parameters with the same name are the same parameter.

    Examples:
        >>> theta = Parameter("theta")
        >>> (2 * theta + 0.5).value(1.0)
        2.5
    """

    name: str

    def __post_init__(self):
        if not isinstance(self.name, str) or not self.name.strip():
            raise ValueError(f"parameter name must be a non-empty string, got {self.name!r}")

    @property
    def parameter(self) -> Parameter:
        return self

    @property
    def scale(self) -> float:
        return 1.0

    @property
    def offset(self) -> float:
        return 0.0

    def __repr__(self) -> str:
        return f"Parameter({self.name!r})"

    def __str__(self) -> str:
        return self.name


@dataclass(frozen=True)
class ParameterExpression(_Affine):
    """``scale * parameter + offset``, built by arithmetic on a :class:`Parameter`."""

    parameter: Parameter
    scale: float = 1.0
    offset: float = 0.0

    def __post_init__(self):
        if not isinstance(self.parameter, Parameter):
            raise TypeError(f"expected a Parameter, got {self.parameter!r}")
        object.__setattr__(self, "scale", as_real(self.scale, "scale"))
        object.__setattr__(self, "offset", as_real(self.offset, "offset"))

    def __str__(self) -> str:
        text = self.parameter.name if self.scale == 1.0 else f"{self.scale:g}*{self.parameter.name}"
        if self.offset:
            text += f" {'+' if self.offset > 0 else '-'} {abs(self.offset):g}"
        return text


def as_real(value, what: str = "value") -> float:
    """``value`` as a finite Python float; ``TypeError``/``ValueError`` naming it otherwise."""
    if isinstance(value, bool | np.bool_) or not isinstance(value, numbers.Real):
        if isinstance(value, numbers.Complex) and not isinstance(value, bool):
            if value.imag == 0:
                value = value.real
            else:
                raise TypeError(f"{what} must be real, got complex {value!r}")
        else:
            raise TypeError(f"{what} must be a real number, got {value!r} ({type(value).__name__})")
    out = float(value)
    if not math.isfinite(out):
        raise ValueError(f"{what} must be finite, got {value!r}")
    return out


def as_angle(value, what: str = "angle"):
    """A gate angle: a finite float, a :class:`Parameter`, a :class:`ParameterExpression`
    or a general :class:`~qworkbench.circuit.Expression`."""
    if isinstance(value, Parameter | ParameterExpression):
        return value
    if _general(value):
        return value.simplify()
    return as_real(value, what)
