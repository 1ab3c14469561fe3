"""What QAOA does around the circuit: accepting a problem, a QUBO or an Ising Hamiltonian,
the CVaR objective, and turning final samples into an answer (:class:`QAOAResult`)."""

from __future__ import annotations

from dataclasses import dataclass, field

import numpy as np

from qworkbench import PauliSum
from qworkbench.utils import JSONMixin
from tasks._qaoa_circuit import cost_terms, diagonal_energies

__all__ = [
    "QAOAResult",
    "IsingProblem",
    "as_problem",
    "cvar",
    "marginal",
    "approximation_ratio",
    "Answers",
]

_INTERFACE = ("num_variables", "sense", "objective", "is_feasible", "ising")
_BRUTE_FORCE_QUBITS = 22
_REPAIR_CANDIDATES = 64


@dataclass(frozen=True)
class QAOAResult(JSONMixin):
    """The outcome of :meth:`QAOA.run`.

    Attributes:
        x: the best feasible sampled assignment (0/1 per variable); when no sample is
            feasible, the best of the repaired samples (``feasible`` says if that worked).
        objective: the problem's objective at ``x``.
        expected_objective: the objective averaged over the final distribution, each
            infeasible assignment counted at its repaired value (what a user of the
            sampler gets); exact up to 14 variables with ``shots=None``, from the final
            samples otherwise.
        approximation_ratio: ``expected_objective / optimum`` for "max" problems,
            ``optimum / expected_objective`` for "min" problems (inverted when the optimum
            is negative, so at most 1), where the brute-force optimum is known; None
            otherwise (or when the two differ in sign).
        feasible: whether ``x`` satisfies the constraints.
        params: the angles ``(gamma_0, beta_0, ..., gamma_{p-1}, beta_{p-1})``.
        history: the optimised objective (energy or CVaR) at every evaluation.
        nfev: objective evaluations (all INTERP levels).
        num_qubits: qubits of the circuit (variables plus any slack bits).
        p: the depth.
        energy: the optimised objective at ``params``.
        optimum: the brute-force optimal objective, or None.
        probability: the probability of sampling ``x`` (its share of the final samples).
    """

    x: tuple[int, ...]
    objective: float
    expected_objective: float
    approximation_ratio: float | None
    feasible: bool
    params: tuple[float, ...]
    history: tuple[float, ...] = field(repr=False)
    nfev: int
    num_qubits: int
    p: int
    energy: float
    optimum: float | None = None
    probability: float = 0.0

    @property
    def gammas(self) -> tuple[float, ...]:
        return self.params[0::2]

    @property
    def betas(self) -> tuple[float, ...]:
        return self.params[1::2]

    _json_decoders = {"x": tuple, "params": tuple, "history": tuple}


class IsingProblem:
    """Minimise the energy of a diagonal Ising ``PauliSum`` (qubit i = variable i, bit 1 ⇔
    x_i = 1), with the problem interface of :mod:`tasks.problems`; unconstrained.

    Examples:
        >>> from qworkbench import PauliSum
        >>> problem = IsingProblem(PauliSum.from_list([("ZZ", 1.0), ("IZ", 0.5)]))
        >>> problem.objective((1, 0)), problem.brute_force()
        (-1.5, ((1, 0), -1.5))
    """

    sense = "min"
    one_hot_groups: tuple = ()

    def __init__(self, hamiltonian: PauliSum):
        self.supports, self.coeffs, self.constant = cost_terms(hamiltonian)
        self.hamiltonian = hamiltonian

    @property
    def num_variables(self) -> int:
        return self.hamiltonian.num_qubits

    def _spins(self, x) -> np.ndarray:
        bits = np.asarray(x)
        if bits.shape != (self.num_variables,) or not np.isin(bits, (0, 1)).all():
            raise ValueError(f"x must be {self.num_variables} values of 0 or 1, got {x!r}")
        return 1.0 - 2.0 * bits

    def objective(self, x) -> float:
        z = self._spins(x)
        terms = (c * np.prod(z[list(q)]) for q, c in zip(self.supports, self.coeffs))
        return float(self.constant + sum(terms))

    cost = objective

    def is_feasible(self, x) -> bool:
        self._spins(x)
        return True

    def repair(self, x) -> tuple[int, ...]:
        self._spins(x)
        return tuple(int(b) for b in x)

    def ising(self, penalty=None, slack: bool = True) -> PauliSum:
        """The Hamiltonian itself (no constraints, so no penalty or slack)."""
        return self.hamiltonian

    def brute_force(self) -> tuple[tuple[int, ...], float]:
        n = self.num_variables
        if n > _BRUTE_FORCE_QUBITS:
            raise ValueError(f"brute force is limited to {_BRUTE_FORCE_QUBITS} variables, got {n}")
        best = int(np.argmin(diagonal_energies(self.hamiltonian)))
        x = tuple((best >> i) & 1 for i in range(n))
        return x, self.objective(x)


def as_problem(problem):
    """``problem`` itself when it has the problem interface; a diagonal Ising PauliSum
    wrapped in :class:`IsingProblem`; a square matrix in ``tasks.problems.QuboProblem``."""
    if isinstance(problem, PauliSum):
        return IsingProblem(problem)
    if isinstance(problem, np.ndarray | list | tuple):
        from tasks.problems import QuboProblem

        return QuboProblem(problem)
    missing = [name for name in _INTERFACE if not hasattr(problem, name)]
    if missing:
        raise TypeError(
            f"{type(problem).__name__} is not a problem: it lacks {', '.join(missing)} "
            "(pass a tasks.problems problem, a diagonal Ising PauliSum or a QUBO matrix)"
        )
    if problem.sense not in ("max", "min"):
        raise ValueError(f"problem.sense must be 'max' or 'min', got {problem.sense!r}")
    return problem


def cvar(energies, probabilities, alpha: float) -> float:
    """CVaR_alpha of a discrete distribution (Barkoutsos et al., Quantum 4, 256 (2020)):
    the mean of its lowest ``alpha`` tail, ``(1/alpha) * int_0^alpha F^{-1}(u) du``, the
    value at the boundary weighted in part; ``alpha = 1`` is the mean.

    Examples:
        >>> cvar([3.0, 1.0, 2.0], [0.2, 0.5, 0.3], 0.6)
        1.1666666666666667
    """
    e = np.asarray(energies, dtype=float)
    p = np.asarray(probabilities, dtype=float)
    order = np.argsort(e, kind="stable")
    e, p = e[order], p[order] / p.sum()
    before = np.cumsum(p) - p
    weights = np.clip(alpha - before, 0.0, p)
    return float(weights @ e / weights.sum())


def marginal(index: np.ndarray, weights: np.ndarray) -> dict[int, float]:
    """{assignment: total weight} over repeated ``index``, weights normalised to sum 1."""
    keys, inverse = np.unique(index, return_inverse=True)
    totals = np.bincount(inverse.reshape(-1), weights=np.asarray(weights, dtype=float))
    totals /= totals.sum()
    return dict(zip(keys.tolist(), totals.tolist()))


def approximation_ratio(expected: float, optimum: float | None, sense: str) -> float | None:
    """The fraction of the optimum reached, at most 1: expected/optimum for a positive
    maximum or a negative minimum, optimum/expected otherwise; None where the two differ
    in sign or one is 0."""
    if optimum is None or optimum == 0 or expected == 0 or (expected > 0) != (optimum > 0):
        return None
    ratio = expected / optimum if (sense == "max") == (optimum > 0) else optimum / expected
    return min(ratio, 1.0) if ratio - 1.0 < 1e-9 else ratio  # 1 + rounding of the sum is 1


class Answers:
    """Objective, feasibility and repair of assignments (integers, bit i = variable i),
    each computed once."""

    def __init__(self, problem, num_variables: int):
        self.problem, self.n = problem, num_variables
        self.sign = 1.0 if problem.sense == "max" else -1.0
        self._plain: dict[int, tuple] = {}
        self._repaired: dict[int, tuple] = {}

    def plain(self, v: int) -> tuple:
        """(x, objective, feasible)."""
        if v not in self._plain:
            x = tuple((v >> i) & 1 for i in range(self.n))
            value = float(self.problem.objective(x)) + 0.0  # no -0.0 from "max" negation
            self._plain[v] = (x, value, bool(self.problem.is_feasible(x)))
        return self._plain[v]

    def repaired(self, v: int) -> tuple:
        """(x, objective, feasible) after ``problem.repair`` (the plain values when feasible
        or when the problem has no ``repair``)."""
        if v not in self._repaired:
            x, value, ok = self.plain(v)
            repair = getattr(self.problem, "repair", None)
            if not ok and repair is not None:
                x = tuple(int(b) for b in repair(x))
                value = float(self.problem.objective(x)) + 0.0
                ok = bool(self.problem.is_feasible(x))
            self._repaired[v] = (x, value, ok)
        return self._repaired[v]

    def best(self, samples: dict[int, float]):
        """(x, objective, feasible, share) of the best feasible sample, or, when none is
        feasible, of the best repaired one among the most frequent samples (``share`` is
        the weight of the sample it came from)."""
        feasible = [v for v in samples if self.plain(v)[2]]
        if feasible:
            v = max(feasible, key=lambda v: (self.sign * self.plain(v)[1], samples[v]))
            return (*self.plain(v), samples[v])
        frequent = sorted(samples, key=lambda v: -samples[v])[:_REPAIR_CANDIDATES]
        v = max(frequent, key=lambda v: (self.repaired(v)[2], self.sign * self.repaired(v)[1]))
        return (*self.repaired(v), samples[v])

    def expectation(self, dist: dict[int, float]) -> float:
        """The objective averaged over ``dist``, infeasible assignments at their repaired
        value."""
        return float(sum(w * self.repaired(v)[1] for v, w in dist.items()))
