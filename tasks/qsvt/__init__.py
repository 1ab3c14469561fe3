"""Quantum signal processing and QSVT: polynomials, phases, block encodings, applications.

Public names (see ``docs/qsvt.md``):

- polynomials in the Chebyshev basis (:mod:`tasks.qsvt.polynomials`): ``poly_cos``,
  ``poly_sin``, ``poly_sign``, ``poly_shifted_sign``, ``poly_rectangle``,
  ``poly_inverse``, ``poly_filter``, ``check_polynomial``, ``evaluate``, ``from_monomial``;
- phases (:mod:`tasks.qsvt.phases`): ``qsp_phases``, ``qsp_response``, ``solve_phases``,
  ``convert_phases``;
"""

from tasks.qsvt.phases import convert_phases, qsp_phases, qsp_response, solve_phases
from tasks.qsvt.polynomials import (
    check_polynomial,
    evaluate,
    from_monomial,
    poly_cos,
    poly_filter,
    poly_inverse,
    poly_rectangle,
    poly_shifted_sign,
    poly_sign,
    poly_sin,
)

__all__ = [
    "check_polynomial",
    "convert_phases",
    "evaluate",
    "from_monomial",
    "poly_cos",
    "poly_filter",
    "poly_inverse",
    "poly_rectangle",
    "poly_shifted_sign",
    "poly_sign",
    "poly_sin",
    "qsp_phases",
    "qsp_response",
    "solve_phases",
]
