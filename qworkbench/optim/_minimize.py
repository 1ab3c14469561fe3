"""``minimize``: one loop for NumPy objectives over SciPy's and our optimizers.

VQE, QAOA and QAS angle fitting call this; the method is a name, the result one type.
"""

from __future__ import annotations

import dataclasses
import math
from collections.abc import Callable
from dataclasses import dataclass, field

import numpy as np

from qworkbench.utils import JSONMixin, float_array, int_seed, one_blas_thread, positive_int

__all__ = ["OptimizeResult", "minimize", "METHODS"]

_SCIPY = {"cobyla": "COBYLA", "l-bfgs-b": "L-BFGS-B", "nelder-mead": "Nelder-Mead"}
_TORCH = ("spsa", "adam_spsa", "adam", "adamw", "sgd")
_NEEDS_JAC = ("adam", "adamw", "sgd")
#: gradient estimates ``jac`` may name (SciPy's "3-point" is the central difference)
_ESTIMATES = {"central-difference": "central-difference", "3-point": "central-difference",
              "parameter-shift": "parameter-shift"}  # fmt: skip
#: every method ``minimize`` accepts
METHODS = (*_SCIPY, *_TORCH)


@dataclass(frozen=True)
class OptimizeResult(JSONMixin):
    """The outcome of :func:`minimize`.

    Attributes:
        x: the final parameters.
        fun: the objective at ``x``.
        nfev: objective evaluations.
        nit: iterations.
        history: the objective at every evaluation, in order.
        success, message: as the method reported.
        jac_method: where gradients came from: "given" (``jac``), "central-difference"
            or "parameter-shift" (estimated from ``fun``; their evaluations count in
            ``nfev`` and ``history``), "2-point (scipy)" (SciPy's own estimate), or ""
            for gradient-free methods.
    """

    x: np.ndarray
    fun: float
    nfev: int
    nit: int
    history: tuple[float, ...] = field(repr=False)
    success: bool = True
    message: str = ""
    jac_method: str = ""

    _json_decoders = {"x": float_array, "history": tuple}


class _Objective:
    """Counts evaluations, records values and refuses non-finite ones."""

    def __init__(self, fun: Callable):
        self.fun = fun
        self.history: list[float] = []

    def __call__(self, x) -> float:
        value = self.fun(np.asarray(x, dtype=float))
        try:
            value = float(np.asarray(value).reshape(()))
        except (TypeError, ValueError) as exc:
            raise TypeError(f"objective must return one real number, got {value!r}") from exc
        if not math.isfinite(value):
            raise ValueError(f"objective returned {value} at x = {np.asarray(x).tolist()}")
        self.history.append(value)
        return value


def minimize(
    fun: Callable[[np.ndarray], float],
    x0,
    method: str = "cobyla",
    maxiter: int = 200,
    seed=None,
    callback: Callable[[np.ndarray, float], None] | None = None,
    jac: Callable[[np.ndarray], np.ndarray] | str | None = None,
    **options,
) -> OptimizeResult:
    """Minimise ``fun`` from ``x0``.

    Args:
        method: one of :data:`METHODS`: SciPy's ``cobyla``, ``l-bfgs-b`` (uses ``jac``
            when given), ``nelder-mead``; ours ``spsa``, ``adam_spsa`` (gradient-free);
            ``adam``, ``adamw``, ``sgd`` (gradient methods).
        jac: the gradient, a callable; or the name of an estimate from ``fun``:
            ``"central-difference"`` (also SciPy's name ``"3-point"``: 2 evaluations per
            parameter, step eps^(1/3) max(1, |x_i|) as SciPy's) or ``"parameter-shift"``
            ((f(x + pi/2 e_i) - f(x - pi/2 e_i)) / 2, exact for circuits whose angles
            enter as exp(-i theta P / 2) with P a Pauli string). Without ``jac`` the
            gradient methods use the central difference, as SciPy does; the result's
            ``jac_method`` says which.
        maxiter: iterations (SciPy's ``maxiter``; optimizer steps for ours).
        seed: seeds the stochastic methods.
        callback: called as ``callback(x, fun)`` after every iteration of our methods.
        options: hyperparameters of our methods (``lr``, ``perturbation``, ...) or
            SciPy's options for theirs.

    Raises:
        ValueError: unknown method, non-finite ``x0`` or objective value.

    Examples:
        >>> r = minimize(lambda x: float(((x - 1.5) ** 2).sum()), [0.0, 0.0], "l-bfgs-b")
        >>> np.round(r.x, 4).tolist(), r.nfev > 0
        ([1.5, 1.5], True)
    """
    if method not in METHODS:
        raise ValueError(f"unknown method {method!r}; available: {', '.join(METHODS)}")
    x0 = np.array(x0, dtype=float).reshape(-1)
    if x0.size == 0:
        raise ValueError("x0 is empty")
    if not np.all(np.isfinite(x0)):
        raise ValueError(f"x0 must be finite, got {x0.tolist()}")
    maxiter = positive_int("maxiter", maxiter)
    if isinstance(jac, str) and jac not in _ESTIMATES:
        raise ValueError(f"jac must be a callable or one of {', '.join(_ESTIMATES)}, got {jac!r}")
    if jac is not None and not isinstance(jac, str) and not callable(jac):
        raise TypeError(f"jac must be a callable or a string, got {type(jac).__name__}")
    objective = _Objective(fun)
    if jac is None and method in _NEEDS_JAC:
        jac = "central-difference"
    jac_method = _ESTIMATES.get(jac, "given") if jac is not None else ""
    if isinstance(jac, str):
        jac = _estimator(objective, _ESTIMATES[jac])
    if method in _SCIPY:
        if method != "l-bfgs-b":
            jac_method = ""
        elif not jac_method:
            jac_method = "2-point (scipy)"
        result = _scipy(objective, x0, method, maxiter, callback, jac, options)
    else:
        if method not in _NEEDS_JAC:
            jac_method = ""
        result = _torch(objective, x0, method, maxiter, seed, callback, jac, options)
    return dataclasses.replace(result, jac_method=jac_method)


def _estimator(objective: Callable, kind: str) -> Callable[[np.ndarray], np.ndarray]:
    """A gradient from evaluations of ``objective``: central differences (SciPy's
    "3-point" step) or the parameter-shift rule."""

    def gradient(x: np.ndarray) -> np.ndarray:
        x = np.asarray(x, dtype=float)
        grad = np.empty_like(x)
        for i in range(x.size):
            shift = np.pi / 2 if kind == "parameter-shift" else _EPS3 * max(1.0, abs(x[i]))
            up, down = x.copy(), x.copy()
            up[i] += shift
            down[i] -= shift
            # the parameter-shift rule halves the difference; the central difference
            # divides by the step actually taken (x + h - (x - h) in floating point)
            width = 2.0 if kind == "parameter-shift" else up[i] - down[i]
            grad[i] = (objective(up) - objective(down)) / width
        return grad

    return gradient


_EPS3 = np.finfo(float).eps ** (1 / 3)  # SciPy's "3-point" relative step
_SMALL = 256  # parameters up to which BLAS runs on one thread during the fit


def _scipy(objective, x0, method, maxiter, callback, jac, options) -> OptimizeResult:
    import contextlib

    import scipy.optimize

    opts = {"maxiter": int(maxiter), **options}
    limit = one_blas_thread() if x0.size <= _SMALL else contextlib.nullcontext()
    with limit:
        result = scipy.optimize.minimize(
            objective,
            x0,
            method=_SCIPY[method],
            jac=jac if method == "l-bfgs-b" else None,
            options=opts,
            callback=(lambda xk: callback(np.asarray(xk), objective(xk))) if callback else None,
        )
    return OptimizeResult(
        x=np.asarray(result.x, dtype=float),
        fun=float(result.fun),
        nfev=len(objective.history),
        nit=int(getattr(result, "nit", 0) or 0),
        history=tuple(objective.history),
        success=bool(result.success),
        message=str(result.message),
    )


def _torch(objective, x0, method, maxiter, seed, callback, jac, options) -> OptimizeResult:
    import torch

    from qworkbench.optim import create

    x = torch.tensor(x0, dtype=torch.float64, requires_grad=False)
    if method in ("spsa", "adam_spsa"):
        options = {"seed": int_seed(seed), **options}
    opt = create(method, [x], **options)

    def closure():
        value = objective(x.detach().numpy())
        if jac is not None and method in _NEEDS_JAC:
            grad = np.asarray(jac(x.detach().numpy()), dtype=float)
            if not np.all(np.isfinite(grad)):
                raise ValueError(f"jac returned non-finite values at x = {x.tolist()}")
            x.grad = torch.from_numpy(grad.copy())
        return torch.tensor(value)

    for _ in range(maxiter):
        loss = opt.step(closure)
        if callback is not None:
            callback(x.detach().numpy().copy(), float(loss))
    final = objective(x.detach().numpy())
    return OptimizeResult(
        x=x.detach().numpy().copy(),
        fun=final,
        nfev=len(objective.history),
        nit=maxiter,
        history=tuple(objective.history),
        success=True,
        message=f"{maxiter} iterations",
    )
