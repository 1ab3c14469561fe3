"""Symmetric QSP phase factors (Dong, Lin, Ni & Wang) by Newton or fixed-point iteration.

Convention (the "Wx" convention of pyqsp and PennyLane's ``"QSP"`` routine)::

    W(x) = exp(i arccos(x) X) = [[x, i sqrt(1-x^2)], [i sqrt(1-x^2), x]]
    U(x) = exp(i phi_0 Z) W(x) exp(i phi_1 Z) W(x) ... W(x) exp(i phi_d Z)
    P(x) = <0|U(x)|0>,   target f(x) = Re P(x)

The phases are symmetric, ``phi_k = phi_{d-k}``; only the ``d//2 + 1`` *reduced* phases
``delta_k = phi_k - (pi/4 if k in (0, d) else 0)`` are unknowns. At ``delta = 0``,
``P = i T_d``, so ``Re P = 0`` and the map ``delta -> `` (Chebyshev coefficients of Re P)
has the diagonal linearisation ``-2`` (``-1`` for the constant term): the fixed-point
iteration of Dong, Lin, Ni & Wang (arXiv:2202.02671) inverts it, Newton's method
(arXiv:2002.11649, "Efficient phase-factor evaluation in QSP") uses the exact Jacobian.

Both work at the ``d//2 + 1`` positive Chebyshev nodes, where a polynomial of the
target's parity is determined by its values; values and coefficients convert by a
DCT (type II for even, IV for odd parity). The Jacobian comes from one forward sweep:
with ``p_m = <0| e^{i phi_0 Z} W ... e^{i phi_{m-1} Z} W`` (``m`` factors of ``W``) and
``U = U^T`` for symmetric phases, ``dP/dphi_k = i p_k Z e^{i phi_k Z} p_{d-k}^T``.

Examples:
    >>> import numpy as np
    >>> from tasks.qsvt.polynomials import poly_cos, evaluate
    >>> c = poly_cos(40.0, 1e-13)
    >>> phi = qsp_phases(c)
    >>> x = np.linspace(-1, 1, 400)
    >>> bool(np.max(np.abs(qsp_response(phi, x) - evaluate(c, x))) < 1e-12)
    True
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np
from scipy import fft

from tasks.qsvt.polynomials import check_polynomial, from_monomial

__all__ = ["qsp_phases", "qsp_response", "PhaseResult", "solve_phases", "convert_phases"]

_CHUNK = 512  # nodes per block of a plain sweep
_STACK_BYTES = 1 << 28  # the Jacobian sweep keeps (d+1) x 2 x chunk complex numbers


@dataclass(frozen=True)
class PhaseResult:
    """Full symmetric phases with how they were found.

    Attributes:
        phases: ``phi_0 .. phi_d`` (Wx convention, see the module docstring).
        iterations: Newton or fixed-point steps taken.
        residual: max |coefficient of Re P - target coefficient| at the end.
        method: ``"newton"`` or ``"fixed_point"``.
    """

    phases: np.ndarray
    iterations: int
    residual: float
    method: str


def _nodes(m: int) -> np.ndarray:
    """The m positive nodes cos((2j+1) pi / (4m)) of the 2m-point Chebyshev grid."""
    return np.cos((2 * np.arange(m) + 1) * np.pi / (4 * m))


def _to_values(c: np.ndarray, par: int) -> np.ndarray:
    """Values at the positive nodes of sum_j c_j T_{2j+par}."""
    if par == 0:  # sum_j c_j cos(j (2i+1) pi / (2m)): a DCT-III
        return fft.dct(c, type=3) / 2 + c[0] / 2
    return fft.dct(c, type=4) / 2  # sum_j c_j cos((2j+1)(2i+1) pi / (4m)): a DCT-IV


def _to_coeffs(v: np.ndarray, par: int) -> np.ndarray:
    m = len(v)
    if par == 0:
        c = fft.dct(v, type=2) / m
        c[0] /= 2
        return c
    return fft.dct(v, type=4) / m


def _full_phases(delta: np.ndarray, d: int) -> np.ndarray:
    half = delta.copy()
    half[0] += np.pi / 4
    full = np.concatenate([half, half[: (d + 1) // 2][::-1]])
    if d == 0:
        return np.array([delta[0]])
    return full


def _sweep(phi: np.ndarray, x: np.ndarray, store: bool):
    """Row vectors p_m (m = 0..d) at nodes x; returns (a, b) of the final p_d, and the
    stored stack (d+1, 2, n) when ``store``."""
    d = len(phi) - 1
    s = np.sqrt(1 - x * x)
    ax, isx = x.astype(complex), 1j * s
    a = np.full(x.shape, np.exp(1j * phi[0]), dtype=complex)
    b = np.zeros(x.shape, dtype=complex)
    stack = np.empty((d + 1, 2, len(x)), dtype=complex) if store else None
    for k in range(1, d + 1):
        a, b = a * ax + b * isx, a * isx + b * ax
        if store:
            stack[k, 0], stack[k, 1] = a, b
        ek = np.exp(1j * phi[k])
        a *= ek
        b /= ek
    if store:
        stack[0, 0], stack[0, 1] = 1.0, 0.0
    return a, stack


def _re_p(phi: np.ndarray, x: np.ndarray) -> np.ndarray:
    out = np.empty(len(x))
    for i in range(0, len(x), 4 * _CHUNK):
        out[i : i + 4 * _CHUNK] = _sweep(phi, x[i : i + 4 * _CHUNK], False)[0].real
    return out


def _jacobian(phi: np.ndarray, x: np.ndarray, m: int):
    """(Re P at x, d Re P / d delta) with delta the m reduced phases."""
    d = len(phi) - 1
    k = np.arange(m)
    weight = np.where(2 * k == d, 1.0, 2.0)
    e = np.exp(1j * phi[:m])
    vals = np.empty(len(x))
    jac = np.empty((len(x), m))
    chunk = max(64, _STACK_BYTES // (32 * (d + 1)))
    for i in range(0, len(x), chunk):
        xs = x[i : i + chunk]
        a, st = _sweep(phi, xs, True)
        vals[i : i + chunk] = a.real
        left, right = st[k], st[d - k]  # (m, 2, n)
        dp = 1j * (left[:, 0] * e[:, None] * right[:, 0] - left[:, 1] / e[:, None] * right[:, 1])
        jac[i : i + chunk] = (dp.real * weight[:, None]).T
    return vals, jac


def _newton(delta, f, x, d, par, tol, maxiter):
    """Damped Newton on the reduced phases; returns (delta, residual, steps)."""
    m = len(delta)
    phi = _full_phases(delta, d)
    vals, jac = _jacobian(phi, x, m)
    err = float(np.max(np.abs(_to_coeffs(vals - f, par))))
    for it in range(1, maxiter + 1):
        if err <= tol:
            return delta, err, it - 1
        step = np.linalg.solve(jac, f - vals)
        for _ in range(30):  # backtrack until the residual drops
            trial = delta + step
            tphi = _full_phases(trial, d)
            tvals = _re_p(tphi, x)
            terr = float(np.max(np.abs(_to_coeffs(tvals - f, par))))
            if terr < err or terr <= tol:
                break
            step = step / 2
        else:
            return delta, err, it
        if terr >= err and terr > tol:
            return delta, err, it
        delta, err = trial, terr
        if err <= tol:
            return delta, err, it
        vals, jac = _jacobian(_full_phases(delta, d), x, m)
    return delta, err, maxiter


def _fixed_point(delta, f, x, d, par, tol, maxiter):
    m = len(delta)
    lin = np.where(2 * np.arange(m) + par == 0, -1.0, -2.0)  # linearisation per coefficient
    err = np.inf
    for it in range(maxiter + 1):
        resid = _to_coeffs(_re_p(_full_phases(delta, d), x) - f, par)
        new = float(np.max(np.abs(resid)))
        if new <= tol or not np.isfinite(new) or (new > err and it > 10):
            return delta, min(new, err), it
        err = new
        # coefficient j (of T_{2j+par}) moves with phase k = m - 1 - j at first order
        delta = delta - (resid / lin)[::-1]
    return delta, err, maxiter


def solve_phases(
    coeffs, method: str = "newton", tol: float = 1e-14, maxiter: int | None = None
) -> PhaseResult:
    """Phases for Chebyshev coefficients ``coeffs`` with details (see :func:`qsp_phases`).

    Newton starts from zero phases (damped by backtracking); should that not converge,
    it restarts along the path ``lambda P`` from ``0.9 / max|P|`` up to 1, the deficit
    ``1 - lambda max|P|`` shrinking fourfold per stage, each warm-started from the last.
    """
    if method not in ("newton", "fixed_point"):
        raise ValueError(f"method must be 'newton' or 'fixed_point', got {method!r}")
    c, par = check_polynomial(coeffs)
    d = len(c) - 1
    if d == 0:
        return PhaseResult(np.array([float(np.arccos(c[0]))]), 0, 0.0, method)
    m = d // 2 + 1
    x = _nodes(m)
    f = _to_values(c[par::2], par)
    delta = np.zeros(m)
    if method == "fixed_point":
        delta, err, steps = _fixed_point(delta, f, x, d, par, tol, maxiter or 2_000)
    else:
        delta, err, steps = _newton(delta, f, x, d, par, tol, maxiter or 40)
        peak = float(np.max(np.abs(f))) if err > 1e-12 else 0.0  # continuation only on failure
        lams = [] if peak else None
        if peak > 0.9:
            gap = 0.1
            while gap > 4 * (1 - min(peak, 1.0)):
                lams.append((1 - gap) / peak)
                gap /= 4
        stages = [] if lams is None else [*lams, 1.0]
        for i, lam in enumerate(stages):
            stage_tol = tol if lam == 1.0 else 1e-8
            if i == 0:
                delta = np.zeros(m)
            delta, err, k = _newton(delta, lam * f, x, d, par, stage_tol, maxiter or 30)
            steps += k
            if err > 1e-4:  # a stage this far off does not recover: fail fast
                break
    if not np.isfinite(err) or err > 1e-6:
        raise ValueError(
            f"phase finding did not converge ({method}: residual {err:.3g} after {steps} "
            "steps); |P| may be too close to 1 -- scale the polynomial by 0.99 or use newton"
        )
    return PhaseResult(_full_phases(delta, d), steps, err, method)


def qsp_phases(
    coeffs,
    basis: str = "chebyshev",
    method: str = "newton",
    tol: float = 1e-14,
    maxiter: int | None = None,
) -> np.ndarray:
    """Symmetric QSP phases ``phi_0..phi_d`` with ``Re <0|U(x)|0> = P(x)`` (Wx convention).

    Args:
        coeffs: the target polynomial; Chebyshev coefficients (``basis="chebyshev"``) or
            monomial ones (``basis="monomial"``, converted, with a warning when large).
        method: ``"newton"`` (quadratic convergence, any ``|P| < 1``) or
            ``"fixed_point"`` (Dong–Lin–Ni–Wang; cheaper steps, needs ``|P|`` below ~0.9).
        tol: stop when every Chebyshev coefficient of ``Re P`` is within ``tol``.

    Raises:
        ValueError: mixed parity, ``|P(x)| > 1`` somewhere on ``[-1, 1]``, or no convergence.
    """
    if basis == "monomial":
        coeffs = from_monomial(coeffs)
    elif basis != "chebyshev":
        raise ValueError(f"basis must be 'chebyshev' or 'monomial', got {basis!r}")
    return solve_phases(coeffs, method=method, tol=tol, maxiter=maxiter).phases


def qsp_response(phases, x, part: str = "real") -> np.ndarray:
    """``Re <0|U(x)|0>`` (``part="real"``) or the complex ``<0|U(x)|0>`` (``"complex"``)
    for phases in the Wx convention, at each point of ``x`` in ``[-1, 1]``."""
    phi = np.asarray(phases, dtype=np.float64).ravel()
    if phi.size == 0 or not np.all(np.isfinite(phi)):
        raise ValueError("phases must be a non-empty sequence of finite numbers")
    xs = np.asarray(x, dtype=np.float64)
    if np.any(np.abs(xs) > 1):
        raise ValueError(f"x must lie in [-1, 1], got a value {xs[np.abs(xs) > 1].flat[0]!r}")
    if part not in ("real", "complex"):
        raise ValueError(f"part must be 'real' or 'complex', got {part!r}")
    flat = xs.ravel()
    out = np.empty(flat.shape, dtype=complex)
    for i in range(0, flat.size, 4 * _CHUNK):
        out[i : i + 4 * _CHUNK] = _sweep(phi, flat[i : i + 4 * _CHUNK], False)[0]
    out = out.reshape(xs.shape)
    return out.real if part == "real" else out


def convert_phases(phases, to: str) -> np.ndarray:
    """Our Wx phases in another convention.

    - ``"pennylane_qsp"``: PennyLane's ``poly_to_angles(poly, "QSP")`` convention (the
      same Wx product, target ``Re P``): unchanged.
    - ``"pyqsp"``: pyqsp's ``Wx`` signal operator with ``sym_qsp`` phases: unchanged.
    - ``"reflection"``: the QSVT / reflection convention used by our circuits: signal
      ``R(x) = [[x, s], [s, -x]]`` between ``exp(i phi_k (2 Pi - 1))`` phases, with
      ``<0|U_R|0> = <0|U_W|0>`` exactly (not only up to a global phase).
    - ``"pennylane_qsvt"``: angles for PennyLane's ``qml.QSVT`` with ``qml.PCPhase``
      projectors (``qml.transform_angles(phases, "QSP", "QSVT")``).
    """
    phi = np.asarray(phases, dtype=np.float64).ravel().copy()
    if to in ("pennylane_qsp", "pyqsp"):
        return phi
    d = len(phi) - 1
    if to == "reflection":
        # R = -i e^{i pi/4 Z} W e^{i pi/4 Z}; the (-i)^d is absorbed into phi_0.
        if d == 0:
            return phi
        phi[0] += -np.pi / 4 + d * np.pi / 2
        phi[1:-1] -= np.pi / 2
        phi[-1] -= np.pi / 4
        return phi
    if to == "pennylane_qsvt":
        n = len(phi)
        upd = np.full(n, np.pi / 2)
        upd[0] = 3 * np.pi / 4 - (3 + n % 4) * np.pi / 2
        upd[-1] = -np.pi / 4
        return phi + upd
    raise ValueError(
        f"unknown convention {to!r}; use 'reflection', 'pennylane_qsp', 'pennylane_qsvt' or 'pyqsp'"
    )
