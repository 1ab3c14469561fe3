"""Constraint handling for quantum solvers: slack-bit penalties versus Lagrangian methods.

Following Sharma & Lau, "Cutting Slack: Quantum Optimization with Slack-Free Methods for
Combinatorial Benchmarks" (arXiv:2507.12159). A problem of :mod:`tasks.problems` is
``min cost(x)`` subject to linear ``g_j(x) <= 0`` / ``g_j(x) == 0``. The methods:

- ``penalty_slack``: the baseline QUBO ``cost + P Σ (a_j·x + s_j - b_j)^2`` with binary
  slack bits ``s_j`` (qiskit-optimization's encoding; ``P`` its automatic penalty),
  solved once. Qubits: variables + slack bits.
- ``dual_ascent``: projected subgradient ascent on the Lagrangian dual
  ``L(λ) = min_x cost(x) + λ·g(x)`` with Polyak steps ``θ (UB - L(λ)) / |g|^2``,
  ``UB`` the best repaired cost; θ halves after 3 steps without a better dual value.
- ``cutting_plane``: Kelley's method; every inner solution ``x_i`` gives the cut
  ``L(λ) <= cost(x_i) + λ·g(x_i)``; the next λ maximises the cuts' minimum over the
  box ``0 <= λ <= U`` (``|λ| <= U`` for equalities) with ``scipy.optimize.linprog``.
- ``bundle``: proximal bundle; the next λ maximises the cut model minus
  ``μ/2 |λ - centre|^2`` (SLSQP); a serious step moves the centre when the dual rises by
  at least a tenth of the model's promise, otherwise the cut is kept (null step).
- ``augmented_lagrangian``: ``cost + λ·g + ρ/2 g^2`` with Rockafellar's rule for
  inequalities (the quadratic term only where ``g_j(x_k) >= -λ_j/ρ``, i.e. constraints
  that are violated or nearly tight), multipliers ``λ <- max(0, λ + ρ g)``, and ρ doubled
  when the violation does not halve.

Every slack-free inner problem is a QUBO on the original variables only (no slack
qubits), solved by ``solver``; each inner solution is made feasible by the problem's
greedy ``repair`` and the best feasible one is returned. ``dual_bound`` is the best dual
value in objective units (a bound on the optimum only with ``solver="exact"``).

Examples:
    >>> from tasks.problems import Knapsack
    >>> problem = Knapsack([10, 7, 4, 3], [[5, 4, 3, 2], [1, 3, 4, 2]], [9, 6])
    >>> result = solve(problem, "dual_ascent", solver="exact", seed=0)
    >>> result.x, result.objective, result.feasible, result.num_qubits
    ((1, 1, 0, 0), 17.0, True, 4)
    >>> solve(problem, "penalty_slack", solver="exact").num_qubits
    11
"""

from __future__ import annotations

import math
import time
from dataclasses import dataclass, field

import numpy as np
from scipy.optimize import linprog
from scipy.optimize import minimize as scipy_minimize

from qworkbench.utils import JSONMixin, positive_int
from tasks._inner import solve_inner
from tasks.problems import MAX_BRUTE_FORCE_VARIABLES, bitstrings, evaluate_qubo

__all__ = ["METHODS", "LagrangianResult", "IterationRecord", "solve"]

METHODS = ("penalty_slack", "dual_ascent", "bundle", "cutting_plane", "augmented_lagrangian")
_EXACT_SLACK_QUBITS = 20  # above, the exact solver eliminates slack bits analytically


@dataclass(frozen=True)
class IterationRecord(JSONMixin):
    """One outer iteration: the multipliers used, the inner QUBO value reached, the
    total violation ``Σ_j viol_j`` of the inner solution and that solution."""

    multipliers: tuple[float, ...]
    inner_objective: float
    violation: float
    x: tuple[int, ...]

    _json_decoders = {"multipliers": tuple, "x": tuple}


@dataclass(frozen=True)
class LagrangianResult(JSONMixin):
    """What :func:`solve` returns.

    Attributes:
        x: the best feasible (repaired) assignment found.
        objective: the problem's objective at ``x``.
        feasible: whether ``x`` satisfies every constraint.
        num_qubits: qubits of each inner problem (variables, plus slack bits for
            ``penalty_slack``).
        multipliers: the final multipliers (empty for ``penalty_slack``).
        dual_bound: the best dual value in objective units (an upper bound for "max"
            problems, a lower bound for "min" ones when the inner solver is exact);
            None for ``penalty_slack``.
        history: one :class:`IterationRecord` per inner solve.
        method, solver: what ran.
        seconds: wall-clock time of the run.
    """

    x: tuple[int, ...]
    objective: float
    feasible: bool
    num_qubits: int
    multipliers: tuple[float, ...]
    dual_bound: float | None
    history: tuple[IterationRecord, ...] = field(repr=False)
    method: str = ""
    solver: str = ""
    seconds: float = 0.0

    _json_decoders = {
        "x": tuple,
        "multipliers": tuple,
        "history": lambda records: tuple(map(IterationRecord.from_dict, records)),
    }


class _Run:
    """Book-keeping shared by the methods: inner solves, repair, best primal and dual."""

    def __init__(self, problem, solver, rng, solver_options):
        self.problem, self.solver, self.rng = problem, solver, rng
        self.options = solver_options
        self.k = len(problem.constraints)
        self.is_eq = np.array([c.sense == "==" for c in problem.constraints], dtype=bool)
        self.A = np.array([c.sign * c.coefficients for c in problem.constraints])
        self.b = np.array([c.sign * c.rhs for c in problem.constraints], dtype=float)
        self.A = self.A.reshape(self.k, problem.num_variables)
        self.scale = problem.default_penalty()  # the multiplier box |λ| <= scale
        self.history: list[IterationRecord] = []
        self.best_x, self.best_cost = None, math.inf
        self.best_dual = -math.inf

    def g(self, x) -> np.ndarray:
        return self.A @ np.asarray(x, dtype=float) - self.b

    def lower(self) -> np.ndarray:
        return np.where(self.is_eq, -self.scale, 0.0)

    def inner(self, lam, rho: float = 0.0, active=None):
        """Solve the Lagrangian QUBO at ``lam``; returns ``(x, value, g(x))``."""
        Q, offset = self.problem.lagrangian_qubo(lam, rho=rho, active=active)
        x, value = solve_inner(self.solver, Q, offset, self.rng, **self.options)
        gx = self.g(x)
        self.observe(x)
        viol = np.where(self.is_eq, np.abs(gx), np.maximum(gx, 0)).sum()
        self.history.append(
            IterationRecord(tuple(float(v) for v in lam), float(value), float(viol), tuple(x))
        )
        if rho == 0.0:
            self.best_dual = max(self.best_dual, float(value))
        return x, float(value), gx

    def observe(self, x) -> None:
        fixed = self.problem.repair(x)
        if self.problem.is_feasible(fixed):
            c = self.problem.cost(fixed)
            if c < self.best_cost - 1e-12:
                self.best_x, self.best_cost = fixed, c

    def upper(self) -> float:
        """The best feasible cost so far (a Polyak target); the cost bound when none."""
        if math.isfinite(self.best_cost):
            return self.best_cost
        return self.scale

    def result(self, method, lam, num_qubits, start, dual=True) -> LagrangianResult:
        p = self.problem
        x = self.best_x
        if x is None:  # no repair succeeded: report the last inner solution as it is
            x = self.history[-1].x[: p.num_variables]
        bound = None
        if dual and math.isfinite(self.best_dual):
            bound = -self.best_dual if p.sense == "max" else self.best_dual
        return LagrangianResult(
            x=tuple(int(v) for v in x),
            objective=float(p.objective(x)),
            feasible=bool(p.is_feasible(x)),
            num_qubits=int(num_qubits),
            multipliers=tuple(float(v) for v in lam),
            dual_bound=bound,
            history=tuple(self.history),
            method=method,
            solver=self.solver,
            seconds=time.perf_counter() - start,
        )


def _complementary(run: _Run, lam, gx, tol=1e-9) -> bool:
    """x is feasible and λ·g(x) = 0: then x is optimal for the problem."""
    feasible = np.all(np.where(run.is_eq, np.abs(gx), gx) <= tol)
    return bool(feasible and abs(float(lam @ gx)) <= tol * max(1.0, run.scale))


def _penalty_slack(run: _Run, max_iter, penalty=None):
    p = run.problem
    penalty = p.default_penalty() if penalty is None else float(penalty)
    Q, offset, _ = p.qubo(penalty=penalty, slack=True)
    m, n = Q.shape[0], p.num_variables
    if run.solver == "exact" and m > _EXACT_SLACK_QUBITS:
        x, value = _slack_eliminated_minimum(p, m, penalty)
    else:
        x, value = solve_inner(run.solver, Q, offset, run.rng, **run.options)
    x = tuple(x)
    run.observe(x[:n])
    viol = float(np.sum(p.violation(x[:n])))
    run.history.append(IterationRecord((), float(value), viol, x))
    return np.zeros(0), m


def _slack_eliminated_minimum(problem, num_qubits: int, penalty: float):
    """Exact minimum of the slack QUBO without enumerating slack bits: the binary
    encoding reaches every slack value in ``[0, upper]``, so the best slack leaves
    ``max(0, g_j)`` of each inequality (integer data: ``<=`` right-hand sides floored,
    ``>=`` ones ceiled, as the encoding does), and the minimum over x is
    ``cost + P Σ viol_j^2``. Returns x padded with zero slack bits and that minimum."""
    n = problem.num_variables
    if n > MAX_BRUTE_FORCE_VARIABLES:
        raise ValueError(f"exact minimum over {n} variables is too large")
    cons = problem.constraints
    A = np.array([c.sign * c.coefficients for c in cons]).reshape(len(cons), n)
    rhs = [math.floor(c.rhs) if c.sense == "<=" else math.ceil(c.rhs) if c.sense == ">=" else c.rhs
           for c in cons]  # fmt: skip
    b = np.array([c.sign * r for c, r in zip(cons, rhs)], dtype=float)
    is_eq = np.array([c.sense == "==" for c in cons], dtype=bool)
    C, c0 = problem.lagrangian_qubo(np.zeros(len(cons)))  # the cost alone
    best, best_x = math.inf, None
    for start in range(0, 1 << n, 1 << 16):
        X = bitstrings(n, start, min(start + (1 << 16), 1 << n))
        g = X @ A.T - b
        viol = np.where(is_eq, np.abs(g), np.maximum(g, 0))
        vals = evaluate_qubo(C, c0, X) + penalty * (viol**2).sum(axis=1)
        k = int(np.argmin(vals))
        if vals[k] < best:
            best, best_x = float(vals[k]), X[k]
    return tuple(int(v) for v in best_x) + (0,) * (num_qubits - n), best


def _dual_ascent(run: _Run, max_iter, step=1.0, patience=3):
    lam = np.zeros(run.k)
    theta, stall = float(step), 0
    for _ in range(max_iter):
        before = run.best_dual
        _, value, gx = run.inner(lam)
        if _complementary(run, lam, gx):
            break
        stall = 0 if value > before + 1e-12 else stall + 1
        if stall >= patience:
            theta, stall = theta / 2, 0
        direction = np.where(run.is_eq | (lam > 0) | (gx > 0), gx, 0.0)
        norm2 = float(direction @ direction)
        if norm2 == 0:
            break
        gap = max(run.upper() - value, 1e-6 * max(1.0, abs(value)))
        lam = np.clip(lam + theta * gap / norm2 * direction, run.lower(), run.scale)
    return lam, run.problem.num_variables


def _cutting_plane(run: _Run, max_iter, tol=1e-6):
    k = run.k
    lam = np.zeros(k)
    cuts_c, cuts_g = [], []
    bounds = [(lo, run.scale) for lo in run.lower()] + [(None, None)]
    for _ in range(max_iter):
        x, value, gx = run.inner(lam)
        if _complementary(run, lam, gx):
            break
        cuts_c.append(run.problem.cost(x))
        cuts_g.append(gx)
        # maximise t subject to t - g_i·λ <= c_i for every cut i
        A_ub = np.hstack([-np.array(cuts_g), np.ones((len(cuts_g), 1))])
        c = np.zeros(k + 1)
        c[-1] = -1.0
        lp = linprog(c, A_ub=A_ub, b_ub=np.array(cuts_c), bounds=bounds, method="highs")
        if lp.status != 0:
            break
        model = -lp.fun
        if model - run.best_dual <= tol * max(1.0, abs(run.best_dual)):
            break
        lam = lp.x[:k]
    return lam, run.problem.num_variables


def _bundle(run: _Run, max_iter, kappa=0.1, tol=1e-6):
    k = run.k
    centre = np.zeros(k)
    x, centre_value, gx = run.inner(centre)
    cuts_c, cuts_g = [run.problem.cost(x)], [gx]
    norm2 = float(gx @ gx)
    if _complementary(run, centre, gx) or norm2 == 0:
        return centre, run.problem.num_variables
    mu = norm2 / max(run.upper() - centre_value, 1e-6)
    bounds = [(lo, run.scale) for lo in run.lower()] + [(None, None)]
    for _ in range(max_iter - 1):
        C, G = np.array(cuts_c), np.array(cuts_g)
        z0 = np.append(centre, (C + G @ centre).min())

        def neg(z, mu=mu, centre=centre):
            d = z[:k] - centre
            return -z[k] + 0.5 * mu * d @ d, np.append(mu * d, -1.0)

        cons = {
            "type": "ineq",
            "fun": lambda z, C=C, G=G: C + G @ z[:k] - z[k],
            "jac": lambda z, G=G: np.hstack([G, -np.ones((len(G), 1))]),
        }
        qp = scipy_minimize(neg, z0, jac=True, bounds=bounds, constraints=[cons], method="SLSQP")
        cand = np.clip(qp.x[:k], run.lower(), run.scale)
        promise = float((C + G @ cand).min()) - centre_value
        if promise <= tol * max(1.0, abs(centre_value)):
            break
        x, value, gx = run.inner(cand)
        cuts_c.append(run.problem.cost(x))
        cuts_g.append(gx)
        if _complementary(run, cand, gx):
            centre = cand
            break
        if value - centre_value >= kappa * promise:  # serious step
            centre, centre_value = cand, value
            mu *= 0.7
        else:  # null step: the new cut refines the model; stay closer to the centre
            mu *= 1.5
    return centre, run.problem.num_variables


def _augmented_lagrangian(run: _Run, max_iter, rho=None, growth=2.0):
    p = run.problem
    lam = np.zeros(run.k)
    if rho is None:  # one unit of violation costs about one average cost coefficient
        rho = (run.scale - 1.0) / max(1, p.num_variables)
        rho /= max(1.0, float(np.abs(run.A).sum(axis=1).max()))
    rho = float(rho)
    active = np.zeros(run.k, dtype=bool)  # first solve: the plain Lagrangian at λ = 0
    last_viol = math.inf
    for _ in range(max_iter):
        x, _, gx = run.inner(lam, rho=rho if active.any() or run.is_eq.any() else 0.0,
                             active=active)  # fmt: skip
        if _complementary(run, lam, gx):
            break
        lam = np.where(run.is_eq, lam + rho * gx, np.maximum(0.0, lam + rho * gx))
        lam = np.clip(lam, run.lower(), run.scale)
        active = run.is_eq | (gx >= -lam / rho)
        viol = float(np.where(run.is_eq, np.abs(gx), np.maximum(gx, 0)).sum())
        if viol > 0.5 * last_viol:
            rho *= growth
        last_viol = viol
    return lam, p.num_variables


_METHODS = {
    "penalty_slack": _penalty_slack,
    "dual_ascent": _dual_ascent,
    "cutting_plane": _cutting_plane,
    "bundle": _bundle,
    "augmented_lagrangian": _augmented_lagrangian,
}


def solve(
    problem,
    method: str,
    solver: str = "qaoa",
    seed=None,
    max_iter: int = 30,
    method_options: dict | None = None,
    **solver_options,
) -> LagrangianResult:
    """Solve a constrained problem of :mod:`tasks.problems` with ``method``.

    Args:
        problem: a problem with linear constraints (``Knapsack``, ``MIS``, ``TSP``, ...).
        method: one of :data:`METHODS`.
        solver: the inner QUBO solver: ``"exact"`` (enumeration), ``"qaoa"``
            (:func:`tasks.qaoa.solve_qubo`; options ``p``, ``optimizer``, ``init``, ...)
            or ``"vqe"`` (hardware-efficient ansatz; options ``layers``, ``maxiter``,
            ``optimizer``).
        seed: seeds the quantum solvers (an int or a NumPy Generator).
        max_iter: outer iterations (inner solves) of the Lagrangian methods.
        method_options: the method's own settings: ``penalty`` (penalty_slack),
            ``step``/``patience`` (dual_ascent), ``kappa`` (bundle), ``rho``/``growth``
            (augmented_lagrangian), ``tol``.
        solver_options: passed to the inner solver.
    """
    if method not in _METHODS:
        raise ValueError(f"unknown method {method!r}; choose one of {', '.join(METHODS)}")
    max_iter = positive_int("max_iter", max_iter)
    start = time.perf_counter()
    run = _Run(problem, solver, np.random.default_rng(seed), solver_options)
    lam, qubits = _METHODS[method](run, max_iter, **(method_options or {}))
    return run.result(method, lam, qubits, start, dual=method != "penalty_slack")
