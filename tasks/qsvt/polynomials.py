"""Polynomials for QSP/QSVT in the Chebyshev basis, with the degree chosen from an error.

A polynomial is a 1-D float array ``c`` meaning ``P(x) = sum_k c[k] T_k(x)``; index ``k``
is the degree of the Chebyshev polynomial ``T_k``. Monomial coefficients are never used
internally: those of ``cos(40 x)`` at degree 84 reach 1e16 and lose every digit.

Every constructor returns coefficients of definite parity whose values satisfy
``|P(x)| <= 1`` on ``[-1, 1]`` (the approximation is scaled by ``1 - epsilon / 2`` after
a truncation of error ``epsilon / 2``), so the total error against the target function
is at most ``epsilon`` where the docstring says so.

Examples:
    >>> import numpy as np
    >>> c = poly_cos(10.0, 1e-12)
    >>> len(c) - 1, parity(c)
    (30, 0)
    >>> x = np.linspace(-1, 1, 201)
    >>> bool(np.max(np.abs(evaluate(c, x) - np.cos(10 * x))) < 1e-12)
    True
"""

from __future__ import annotations

import math
import numbers
import warnings

import numpy as np
from numpy.polynomial import chebyshev as _cheb
from scipy import fft, special

__all__ = [
    "evaluate",
    "parity",
    "check_polynomial",
    "from_monomial",
    "poly_cos",
    "poly_sin",
    "poly_sign",
    "poly_shifted_sign",
    "poly_rectangle",
    "poly_inverse",
    "poly_filter",
    "chebyshev_interpolate",
    "POOR_APPROXIMATION",
]

_MAX_DEGREE = 200_000
#: a fixed degree whose error against the target exceeds this gets a warning
POOR_APPROXIMATION = 0.1


def _positive(value, name: str) -> float:
    if isinstance(value, bool) or not isinstance(value, numbers.Real):
        raise TypeError(f"{name} must be a real number, got {value!r}")
    value = float(value)
    if not (math.isfinite(value) and value > 0):
        raise ValueError(f"{name} must be positive and finite, got {value!r}")
    return value


def _epsilon(value) -> float:
    value = _positive(value, "epsilon")
    if value >= 1:
        raise ValueError(f"epsilon must be in (0, 1), got {value!r}")
    return value


def _as_coeffs(coeffs) -> np.ndarray:
    arr = np.asarray(coeffs)
    if arr.ndim != 1 or arr.size == 0:
        raise ValueError(f"coefficients must be a non-empty 1-D sequence, got shape {arr.shape}")
    if np.iscomplexobj(arr):
        if np.any(arr.imag != 0):
            raise ValueError("coefficients must be real (QSP targets Re<0|U|0>)")
        arr = arr.real
    try:
        arr = arr.astype(np.float64)
    except (TypeError, ValueError):
        raise TypeError(f"coefficients must be real numbers, got dtype {arr.dtype}") from None
    if not np.all(np.isfinite(arr)):
        raise ValueError("coefficients must be finite")
    if arr.size - 1 > _MAX_DEGREE:
        raise ValueError(f"degree {arr.size - 1} is above the supported {_MAX_DEGREE}")
    return arr


def _trim(c: np.ndarray, atol: float = 0.0) -> np.ndarray:
    nz = np.flatnonzero(np.abs(c) > atol)
    return c[: nz[-1] + 1] if nz.size else c[:1] * 0


def evaluate(coeffs, x) -> np.ndarray:
    """``P(x)`` by Clenshaw's recurrence (numpy's ``chebval``), stable at any degree."""
    return _cheb.chebval(np.asarray(x, dtype=np.float64), _as_coeffs(coeffs))


def parity(coeffs, atol: float = 1e-12) -> int:
    """0 (even) or 1 (odd); ``ValueError`` for mixed parity (naming the largest offender)."""
    c = _as_coeffs(coeffs)
    scale = max(float(np.max(np.abs(c))), 1.0)
    even, odd = np.abs(c[0::2]), np.abs(c[1::2])
    emax = float(even.max()) if even.size else 0.0
    omax = float(odd.max()) if odd.size else 0.0
    if emax <= atol * scale:
        return 1 if omax > 0 else 0
    if omax <= atol * scale:
        return 0
    k_even = 2 * int(np.argmax(even))
    k_odd = 2 * int(np.argmax(odd)) + 1
    raise ValueError(
        f"polynomial has mixed parity: even coefficient c[{k_even}]={c[k_even]:.3g} and odd "
        f"coefficient c[{k_odd}]={c[k_odd]:.3g} are both nonzero; QSP needs a definite parity"
    )


def _max_abs(c: np.ndarray) -> tuple[float, float]:
    """(max |P(x)| on [-1, 1], argmax) on a grid 8x finer than the degree (plus endpoints)."""
    n = max(1024, 8 * len(c))
    x = np.cos(np.pi * (np.arange(n + 1)) / n)
    v = np.abs(_cheb.chebval(x, c))
    i = int(np.argmax(v))
    return float(v[i]), float(x[i])


def check_polynomial(coeffs, atol: float = 1e-10) -> tuple[np.ndarray, int]:
    """Validate a QSP target: real, definite parity, ``|P(x)| <= 1 + atol`` on ``[-1, 1]``.

    Returns the coefficients with trailing zeros (and wrong-parity noise) removed and the
    parity. Raises ``ValueError`` naming the violation.
    """
    c = _as_coeffs(coeffs)
    p = parity(c)
    c = c.copy()
    c[1 - p :: 2] = 0.0
    c = _trim(c)
    peak, where = _max_abs(c)
    if peak > 1 + atol:
        raise ValueError(
            f"|P(x)| must be <= 1 on [-1, 1], but |P({where:.6g})| = {peak:.12g}; "
            "scale the polynomial down"
        )
    return c, p


def from_monomial(coeffs) -> np.ndarray:
    """Chebyshev coefficients of ``sum_k coeffs[k] x**k`` (warns when they are large)."""
    c = _as_coeffs(coeffs)
    if np.max(np.abs(c)) > 1e6:
        warnings.warn(
            "monomial coefficients above 1e6 lose precision; build the polynomial in the "
            "Chebyshev basis instead",
            stacklevel=2,
        )
    return _cheb.poly2cheb(c)


def _nodes(n: int) -> np.ndarray:
    return np.cos(np.pi * (np.arange(n) + 0.5) / n)


def _dct_coeffs(values: np.ndarray) -> np.ndarray:
    """Chebyshev coefficients of the interpolant through values at the first-kind nodes."""
    c = fft.dct(values, type=2) / len(values)
    c[0] /= 2
    return c


def chebyshev_interpolate(
    fn, epsilon: float, parity_: int | None = None, max_degree=_MAX_DEGREE, feature: float = 1.0
):
    """Chebyshev coefficients of ``fn`` truncated to the lowest degree whose dropped tail
    has l1-norm (a bound on the sup error) below ``epsilon``; doubles the grid until the
    interpolant's own tail is negligible. ``parity_`` zeroes the other parity exactly.
    ``feature``: the narrowest feature of ``fn`` (in x); the first grid puts a few nodes
    inside it, so a narrow bump between the nodes is not mistaken for zero."""
    n = 256
    while n * feature < 16 and n < 4 * max_degree:
        n *= 2
    while True:
        c = _dct_coeffs(fn(_nodes(n)))
        if parity_ is not None:
            c[1 - parity_ :: 2] = 0.0
        tail = np.abs(c[-n // 4 :]).max()
        if tail < max(epsilon * 1e-3, 1e-16) or n >= 4 * max_degree:
            break
        n *= 2
    c[np.abs(c) < 1e-17] = 0.0  # rounding noise of the DCT, which would add up in the tail
    cum = np.cumsum(np.abs(c)[::-1])[::-1]  # cum[k] = sum_{j>=k} |c_j|
    keep = np.flatnonzero(cum > epsilon)
    degree = int(keep[-1]) if keep.size else 0
    if degree > max_degree:
        raise ValueError(f"the approximation needs degree {degree} > max_degree {max_degree}")
    out = c[: degree + 1].copy()
    if parity_ is not None and degree % 2 != parity_:
        out = np.append(out, 0.0)
    return out


def _finish(c: np.ndarray, epsilon: float, degree: int | None, fn, parity_: int) -> np.ndarray:
    """Scale so |P| <= 1 and return; a fixed ``degree`` truncates instead."""
    if degree is not None:
        if isinstance(degree, bool) or not isinstance(degree, numbers.Integral) or degree < 0:
            raise ValueError(f"degree must be a non-negative integer, got {degree!r}")
        if degree % 2 != parity_:
            raise ValueError(f"degree {degree} has the wrong parity for this function")
        n = 1 << max(10, int(4 * degree).bit_length())
        full = _dct_coeffs(fn(_nodes(n)))
        full[1 - parity_ :: 2] = 0.0
        c = full[: degree + 1]
    c = c * (1 - epsilon / 2)
    peak, _ = _max_abs(c)
    if peak > 1:
        c = c / peak
    return c


def _warn_if_poor(c, target, where, what: str, degree: int, epsilon: float, needed) -> None:
    """Warn when the fixed-``degree`` polynomial ``c`` is off ``target`` by more than
    :data:`POOR_APPROXIMATION` where ``where(x)`` holds; ``needed(eps)`` gives the degree
    the construction picks for error ``eps`` (the suggestion)."""
    x = np.linspace(-1.0, 1.0, max(2001, 8 * degree + 1))
    mask = where(x)
    if not mask.any():
        return
    error = float(np.max(np.abs(evaluate(c, x[mask]) - target(x[mask]))))
    if error <= POOR_APPROXIMATION:
        return
    goal = min(epsilon, POOR_APPROXIMATION)
    try:
        hint = f"error {goal:g} needs degree {needed(goal)}"
    except ValueError:
        hint = f"error {goal:g} needs a degree above {_MAX_DEGREE}"
    warnings.warn(
        f"degree {degree} approximates {what} poorly: error {error:.3g} (above "
        f"{POOR_APPROXIMATION}); {hint} (omit degree and give epsilon, or raise degree)",
        UserWarning,
        stacklevel=3,
    )


def poly_cos(tau: float, epsilon: float = 1e-12, degree: int | None = None) -> np.ndarray:
    """``cos(tau x)`` by the Jacobi–Anger expansion ``J0(tau) + 2 sum (-1)^k J_2k(tau) T_2k``,
    truncated where the tail ``2 sum |J_k(tau)|`` drops below ``epsilon / 2`` (even).
    A fixed ``degree`` truncates there instead, with a warning when the error passes
    :data:`POOR_APPROXIMATION`."""
    c = _jacobi_anger(tau, epsilon, degree, parity_=0)
    if degree is not None:
        _warn_if_poor(c, lambda x: np.cos(tau * x), lambda x: x == x, f"cos({tau:g} x)",
                      degree, epsilon, lambda e: len(poly_cos(tau, e)) - 1)  # fmt: skip
    return c


def poly_sin(tau: float, epsilon: float = 1e-12, degree: int | None = None) -> np.ndarray:
    """``sin(tau x) = 2 sum (-1)^k J_{2k+1}(tau) T_{2k+1}`` truncated likewise (odd)."""
    c = _jacobi_anger(tau, epsilon, degree, parity_=1)
    if degree is not None:
        _warn_if_poor(c, lambda x: np.sin(tau * x), lambda x: x == x, f"sin({tau:g} x)",
                      degree, epsilon, lambda e: len(poly_sin(tau, e)) - 1)  # fmt: skip
    return c


def _jacobi_anger(tau, epsilon, degree, parity_):
    if isinstance(tau, bool) or not isinstance(tau, numbers.Real) or not math.isfinite(tau):
        raise ValueError(f"tau must be a finite real number, got {tau!r}")
    epsilon = _epsilon(epsilon)
    tau = float(tau)
    if degree is not None and (
        isinstance(degree, bool) or not isinstance(degree, numbers.Integral) or degree < 0
    ):
        raise ValueError(f"degree must be a non-negative integer, got {degree!r}")
    kmax = int(1.5 * abs(tau) + 2 * math.log(1 / epsilon) + 20)
    if kmax > _MAX_DEGREE:
        raise ValueError(f"tau = {tau} needs degree ~{kmax}, above the supported {_MAX_DEGREE}")
    k = np.arange(kmax + 1)
    j = special.jv(k, abs(tau)) * (np.sign(tau) if tau else 1.0) ** k
    phase = np.where(k % 2 == 0, (-1.0) ** (k // 2), (-1.0) ** ((k - 1) // 2))
    c = 2 * phase * j
    c[0] /= 2
    c[1 - parity_ :: 2] = 0.0
    if degree is None:
        cum = np.cumsum(np.abs(c)[::-1])[::-1]
        keep = np.flatnonzero(cum > epsilon / 2)
        d = int(keep[-1]) if keep.size else 0
        if d % 2 != parity_:
            d += 1
        c = c[: d + 1]
    else:
        if degree % 2 != parity_:
            raise ValueError(f"degree {degree} has the wrong parity for this function")
        c = np.concatenate([c, np.zeros(max(0, degree + 1 - len(c)))])[: degree + 1]
    c = c * (1 - epsilon / 2)
    peak, _ = _max_abs(c)
    return c / peak if peak > 1 else c


def _erf_steepness(delta: float, epsilon: float) -> float:
    """k with |erf(k x) - sign(x)| <= epsilon / 4 for |x| >= delta / 2."""
    return float(special.erfcinv(epsilon / 4)) / (delta / 2)


def poly_sign(delta: float, epsilon: float = 1e-12, degree: int | None = None) -> np.ndarray:
    """``sign(x)`` within ``epsilon`` for ``|x| >= delta / 2`` via ``erf(k x)`` (odd)."""
    delta, epsilon = _positive(delta, "delta"), _epsilon(epsilon)
    k = _erf_steepness(delta, epsilon)
    if degree is not None:
        # erf(kx)'s Chebyshev coefficients fall like exp(-n^2 / (4 k^2)): at a fixed degree
        # a steeper k only adds Gibbs ripples, so cap it where the tail is epsilon / 4
        k = min(k, degree / (2 * math.sqrt(math.log(4 / epsilon))))

    def fn(x):
        return special.erf(k * x)

    if degree is None:
        return _finish(chebyshev_interpolate(fn, epsilon / 4, 1), epsilon, None, fn, 1)
    c = _finish(None, epsilon, degree, fn, 1)
    _warn_if_poor(c, np.sign, lambda x: np.abs(x) >= delta / 2,
                  f"sign(x) on |x| >= {delta / 2:g}", degree, epsilon,
                  lambda e: len(poly_sign(delta, e)) - 1)  # fmt: skip
    return c


def poly_shifted_sign(mu: float, delta: float, epsilon: float = 1e-12) -> np.ndarray:
    """``sign(x - mu)`` within ``epsilon`` for ``|x - mu| >= delta / 2`` (mixed parity).

    QSP needs a definite parity, so QSVT applies the odd :func:`poly_sign` to a block
    encoding of the shifted operator ``H - mu`` instead (what :mod:`tasks.qsvt.applications`
    does); this mixed-parity form is for classical use and plots.
    """
    if isinstance(mu, bool) or not isinstance(mu, numbers.Real) or not -1 < mu < 1:
        raise ValueError(f"mu must be a real number in (-1, 1), got {mu!r}")
    delta, epsilon = _positive(delta, "delta"), _epsilon(epsilon)
    k = _erf_steepness(delta, epsilon)
    c = chebyshev_interpolate(lambda x: special.erf(k * (x - mu)), epsilon / 4)
    return c * (1 - epsilon / 2)


def poly_rectangle(
    width: float, delta: float, epsilon: float = 1e-12, degree: int | None = None
) -> np.ndarray:
    """Even window: 1 for ``|x| <= width - delta/2``, 0 for ``|x| >= width + delta/2``
    (within ``epsilon``), as ``(erf(k(x + width)) - erf(k(x - width))) / 2``."""
    width, delta, epsilon = _positive(width, "width"), _positive(delta, "delta"), _epsilon(epsilon)
    k = _erf_steepness(delta, epsilon)

    def fn(x):
        return (special.erf(k * (x + width)) - special.erf(k * (x - width))) / 2

    feature = min(2 * width, 1 / k)
    if degree is None:
        c = chebyshev_interpolate(fn, epsilon / 4, 0, feature=feature)
        return _finish(c, epsilon, None, fn, 0)
    c = _finish(None, epsilon, degree, fn, 0)
    inner, outer = width - delta / 2, width + delta / 2
    _warn_if_poor(c, lambda x: (np.abs(x) <= inner).astype(float),
                  lambda x: (np.abs(x) <= inner) | (np.abs(x) >= outer),
                  f"the window |x| <= {width:g}", degree, epsilon,
                  lambda e: len(poly_rectangle(width, delta, e)) - 1)  # fmt: skip
    return c


def poly_inverse(kappa: float, epsilon: float = 1e-6, degree: int | None = None) -> np.ndarray:
    """``1 / (2 kappa x)`` within ``epsilon`` on ``1/kappa <= |x| <= 1`` (odd, |P| <= 1).

    Built as ``(r(0) - r(x)) / (r(0) 2 kappa x)`` with the erf window ``r`` of half-width
    ``3 / (4 kappa)``: smooth through 0, exactly odd, bounded by 1 everywhere.
    """
    kappa, epsilon = _positive(kappa, "kappa"), _epsilon(epsilon)
    if kappa < 1:
        raise ValueError(f"kappa must be >= 1, got {kappa}")
    a = 0.75 / kappa
    k = float(special.erfcinv(epsilon / 4)) / (0.25 / kappa)
    r0 = float(special.erf(k * a))

    def fn(x):
        # r(0) - r(x) as two differences that are each O(x): no cancellation of O(1) terms
        num = (r0 - special.erf(k * (a + x))) + (r0 - special.erf(k * (a - x)))
        return num / (2 * r0 * 2 * kappa * x)

    if degree is None:
        return _finish(chebyshev_interpolate(fn, epsilon / 4, 1), epsilon, None, fn, 1)
    c = _finish(None, epsilon, degree, fn, 1)
    _warn_if_poor(c, lambda x: 1 / (2 * kappa * x), lambda x: np.abs(x) >= 1 / kappa,
                  f"1/(2 kappa x) on |x| >= 1/{kappa:g}", degree, epsilon,
                  lambda e: len(poly_inverse(kappa, e)) - 1)  # fmt: skip
    return c


def _chebyshev_t(ell: int, y: np.ndarray) -> np.ndarray:
    """T_ell(y) for any real y (cosh branch outside [-1, 1])."""
    y = np.asarray(y, dtype=np.float64)
    out = np.empty_like(y)
    inside = np.abs(y) <= 1
    out[inside] = np.cos(ell * np.arccos(y[inside]))
    yo = y[~inside]
    out[~inside] = np.sign(yo) ** ell * np.cosh(ell * np.arccosh(np.abs(yo)))
    return out


def poly_filter(delta: float, epsilon: float = 1e-6, degree: int | None = None) -> np.ndarray:
    """Lin–Tong eigenstate filter ``T_l(-1 + 2 (x^2 - delta^2)/(1 - delta^2)) / T_l(...)(0)``:
    1 at ``x = 0``, at most ``epsilon`` for ``delta <= |x| <= 1`` (even, degree ``2 l``;
    Lin & Tong, Quantum 4, 372 (2020), Lemma 2: ``l = ceil(log(2/eps) / (sqrt(2) delta))``)."""
    delta, epsilon = _positive(delta, "delta"), _epsilon(epsilon)
    if delta >= 1:
        raise ValueError(f"delta must be in (0, 1), got {delta}")
    if degree is None:
        ell = max(1, math.ceil(math.log(2 / epsilon) / (math.sqrt(2) * delta)))
    else:
        if isinstance(degree, bool) or not isinstance(degree, numbers.Integral) or degree % 2:
            raise ValueError(f"degree must be an even integer, got {degree!r}")
        ell = max(1, degree // 2)
    if 2 * ell > _MAX_DEGREE:
        raise ValueError(f"the filter needs degree {2 * ell} > {_MAX_DEGREE}")
    scale = _chebyshev_t(ell, np.array([-1 - 2 * delta**2 / (1 - delta**2)]))[0]

    def fn(x):
        return _chebyshev_t(ell, -1 + 2 * (x**2 - delta**2) / (1 - delta**2)) / scale

    n = 1 << max(8, int(2 * ell + 2).bit_length())
    c = _dct_coeffs(fn(_nodes(n)))[: 2 * ell + 1]
    c[1::2] = 0.0
    peak, _ = _max_abs(c)
    c = c / peak if peak > 1 else c
    if degree is not None:
        _warn_if_poor(c, lambda x: np.where(x == 0, 1.0, 0.0), lambda x: np.abs(x) >= delta,
                      f"the filter's zero on |x| >= {delta:g}", degree, epsilon,
                      lambda e: len(poly_filter(delta, e)) - 1)  # fmt: skip
    return c
