"""``minimize``: one loop for NumPy objectives over SciPy's and our optimizers.

VQE, QAOA and QAS angle fitting call this; the method is a name, the result one type.
"""

from __future__ import annotations

import json
import math
from collections.abc import Callable
from dataclasses import asdict, dataclass, field

import numpy as np

from qworkbench._blas import one_blas_thread
from qworkbench._seed import int_seed

__all__ = ["OptimizeResult", "minimize", "METHODS"]

_SCIPY = {"cobyla": "COBYLA", "l-bfgs-b": "L-BFGS-B", "nelder-mead": "Nelder-Mead"}
_TORCH = ("spsa", "adam_spsa", "adam", "adamw", "sgd")
_NEEDS_JAC = ("adam", "adamw", "sgd")
#: every method ``minimize`` accepts
METHODS = (*_SCIPY, *_TORCH)


@dataclass(frozen=True)
class OptimizeResult:
    """The outcome of :func:`minimize`.

    Attributes:
        x: the final parameters.
        fun: the objective at ``x``.
        nfev: objective evaluations.
        nit: iterations.
        history: the objective at every evaluation, in order.
        success, message: as the method reported.
    """

    x: np.ndarray
    fun: float
    nfev: int
    nit: int
    history: tuple[float, ...] = field(repr=False)
    success: bool = True
    message: str = ""

    def to_json(self) -> str:
        data = asdict(self)
        data["x"] = self.x.tolist()
        data["history"] = list(self.history)
        return json.dumps(data)

    @classmethod
    def from_json(cls, text: str) -> OptimizeResult:
        data = json.loads(text)
        data["x"] = np.asarray(data["x"], dtype=float)
        data["history"] = tuple(data["history"])
        return cls(**data)


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
    jac: Callable[[np.ndarray], np.ndarray] | None = None,
    **options,
) -> OptimizeResult:
    """Minimise ``fun`` from ``x0``.

    Args:
        method: one of :data:`METHODS`: SciPy's ``cobyla``, ``l-bfgs-b`` (uses ``jac``
            when given), ``nelder-mead``; ours ``spsa``, ``adam_spsa`` (gradient-free);
            ``adam``, ``adamw``, ``sgd`` (need ``jac``).
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
    if isinstance(maxiter, bool) or not isinstance(maxiter, int | np.integer) or maxiter < 1:
        raise ValueError(f"maxiter must be a positive integer, got {maxiter!r}")
    if method in _NEEDS_JAC and jac is None:
        raise ValueError(f"method {method!r} needs jac (a gradient function)")
    objective = _Objective(fun)
    if method in _SCIPY:
        return _scipy(objective, x0, method, maxiter, callback, jac, options)
    return _torch(objective, x0, method, maxiter, seed, callback, jac, options)


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
