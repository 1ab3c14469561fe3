"""What ``qwb qsvt phases`` and ``qwb qsvt simulate`` compute (the CLI only parses)."""

from __future__ import annotations

import time

import numpy as np

FUNCTIONS = ("sign", "cos", "sin", "inv", "filter")


def target(function: str, degree: int | None, epsilon: float, param: float | None):
    """(Chebyshev coefficients, the function they approximate, where it is compared)."""
    from tasks.qsvt import polynomials as P

    if function in ("cos", "sin"):
        tau = param if param is not None else (0.5 * degree if degree else 10.0)
        make = P.poly_cos if function == "cos" else P.poly_sin
        ref = np.cos if function == "cos" else np.sin
        return make(tau, epsilon, degree), (lambda x: ref(tau * x)), (lambda x: x == x)
    if function == "sign":
        delta = param if param is not None else 0.01
        c = P.poly_sign(delta, epsilon, degree)
        return c, (lambda x: np.sign(x)), (lambda x: np.abs(x) >= delta / 2)
    if function == "inv":
        kappa = param if param is not None else 10.0
        c = P.poly_inverse(kappa, epsilon, degree)
        return c, (lambda x: 1 / (2 * kappa * x)), (lambda x: np.abs(x) >= 1 / kappa)
    delta = param if param is not None else 0.1
    c = P.poly_filter(delta, epsilon, degree)
    return c, (lambda x: np.where(x == 0, 1.0, 0.0)), (lambda x: np.abs(x) >= delta)


def phases(function: str, degree, epsilon: float | None, param, method: str) -> dict:
    """Phases for ``function``; a ``degree`` that cannot reach a given ``epsilon`` is
    refused (ValueError), a poor one without ``epsilon`` warned about."""
    import warnings

    from tasks.qsvt import evaluate, qsp_response, solve_phases

    with warnings.catch_warnings(record=True) as poor:  # re-raised unless refused below
        warnings.simplefilter("always")
        coeffs, fn, where = target(function, degree, epsilon or 1e-6, param)
    x = np.linspace(-1, 1, 1001)
    poly = evaluate(coeffs, x)
    mask = where(x)
    approx = float(np.max(np.abs(poly[mask] - fn(x[mask])))) if mask.any() else 0.0
    if degree is not None and epsilon is not None and approx > epsilon:
        if function in ("cos", "sin") and param is None:
            param = 0.5 * degree  # the tau that target() chose for this degree
        try:
            needed = len(target(function, None, epsilon, param)[0]) - 1
            needed = f"epsilon alone picks degree {needed}"
        except ValueError as exc:
            needed = str(exc)
        raise ValueError(f"degree {degree} and epsilon {epsilon:g} conflict: at degree {degree} "
                         f"the error is {approx:.3g}; give one of them ({needed})")  # fmt: skip
    for warning in poor:
        warnings.warn(warning.message, warning.category, stacklevel=2)
    start = time.perf_counter()
    found = solve_phases(coeffs, method=method)
    seconds = time.perf_counter() - start
    err = float(np.max(np.abs(qsp_response(found.phases, x) - poly)))
    return {
        "function": function,
        "degree": len(coeffs) - 1,
        "method": method,
        "iterations": found.iterations,
        "phase_error": err,
        "approximation_error": approx,
        "seconds": seconds,
        "phases": found.phases.tolist(),
    }


def simulate(task: str, t: float, epsilon: float) -> dict:
    from scipy.linalg import expm

    from tasks import get_task
    from tasks.qsvt import hamiltonian_simulation

    problem = get_task(task)
    if problem.hamiltonian is None:
        raise ValueError(f"task {task!r} has no Hamiltonian")
    h = problem.hamiltonian
    start = time.perf_counter()
    be = hamiltonian_simulation(h, t, epsilon)
    build = time.perf_counter() - start
    out = {"task": task, "time": t, "epsilon": epsilon, "build_seconds": build}
    if h.num_qubits <= 8:
        start = time.perf_counter()
        err = float(np.linalg.norm(be.matrix() - expm(-1j * t * h.to_matrix()), 2))
        out.update(error=err, check_seconds=time.perf_counter() - start)
    out.update({k: v for k, v in be.resources.items() if not isinstance(v, np.ndarray)})
    return out
