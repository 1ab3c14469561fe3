"""Quantum signal processing and QSVT: polynomials, phases, block encodings, applications.

Public names (see ``docs/qsvt.md``):

- polynomials in the Chebyshev basis (:mod:`tasks.qsvt.polynomials`): ``poly_cos``,
  ``poly_sin``, ``poly_sign``, ``poly_shifted_sign``, ``poly_rectangle``,
  ``poly_inverse``, ``poly_filter``, ``check_polynomial``, ``evaluate``, ``from_monomial``;
- phases (:mod:`tasks.qsvt.phases`): ``qsp_phases``, ``qsp_response``, ``solve_phases``,
  ``convert_phases``;
- block encodings (:mod:`tasks.qsvt.block_encoding`): ``BlockEncoding`` (``a + b``,
  ``a - b``), ``block_encoding``, ``walk_operator``, ``product``, ``linear_combination``;
- QSVT (:mod:`tasks.qsvt.qsvt`): ``qsvt_circuit``, ``polynomial``, ``qsvt_sequence``;
- amplification (:mod:`tasks.qsvt.amplification`): ``oblivious_amplification``,
  ``amplify``;
- applications (:mod:`tasks.qsvt.applications`): ``hamiltonian_simulation``,
  ``eigenstate_filter``, ``ground_state_prep``, ``linear_solve``;
- dynamical cooling (:mod:`tasks.qsvt.cooling`): ``cool`` (what ``ground_state_prep``
  runs), ``cooling_evolution``, ``sign_evolution``.
"""

from tasks.qsvt.amplification import amplify, oblivious_amplification
from tasks.qsvt.applications import (
    eigenstate_filter,
    ground_state_prep,
    hamiltonian_simulation,
    linear_solve,
)
from tasks.qsvt.block_encoding import (
    BlockEncoding,
    block_encoding,
    linear_combination,
    product,
    walk_operator,
)
from tasks.qsvt.cooling import cool, cooling_evolution, sign_evolution
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
from tasks.qsvt.qsvt import polynomial, qsvt_circuit, qsvt_sequence

__all__ = [
    "BlockEncoding",
    "amplify",
    "block_encoding",
    "cool",
    "cooling_evolution",
    "eigenstate_filter",
    "ground_state_prep",
    "hamiltonian_simulation",
    "linear_combination",
    "linear_solve",
    "oblivious_amplification",
    "polynomial",
    "product",
    "qsvt_circuit",
    "qsvt_sequence",
    "sign_evolution",
    "walk_operator",
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
