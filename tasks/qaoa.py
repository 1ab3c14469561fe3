"""QAOA: the Quantum Approximate Optimization Algorithm on Ising cost Hamiltonians.

``QAOA(problem, p, ...).run()`` minimises the energy of the depth-``p`` QAOA state
(:func:`qaoa_circuit`) under the problem's Ising Hamiltonian, then samples the final
state and returns the best feasible bitstring as a :class:`QAOAResult`.

What ``problem`` may be:
    - an object with the :mod:`tasks.problems` interface (``num_variables``, ``sense``,
      ``objective(x)``, ``is_feasible(x)``, ``ising(penalty=, slack=)``, and optionally
      ``brute_force()``, ``repair(x)``, ``one_hot_groups``), e.g. ``MaxCut(graph)``;
    - a diagonal Ising :class:`~qworkbench.PauliSum` (minimised; qubit i = variable i);
    - a QUBO matrix ``Q`` (minimise ``x^T Q x``; with a constant:
      ``QAOA.from_qubo(Q, offset)``), wrapped in ``tasks.problems.QuboProblem``.
    An inner solver (the Lagrangian methods of :mod:`tasks.lagrangian`) can call
    ``solve_qubo(Q, offset, p=..., seed=...)`` and read ``result.x``.

The objective the optimiser sees:
    - ``<H>`` from the simulator, with adjoint gradients when the simulator is the
      (noiseless) statevector one and ``shots`` and ``cvar_alpha`` are None;
    - CVaR_alpha (Barkoutsos et al., Quantum 4, 256 (2020)): the mean of the lowest
      ``alpha`` fraction of the energy distribution, exact from the probabilities when
      ``shots`` is None, from ``shots`` samples otherwise; gradient-free then.

Angles: the optimiser works on ``gamma * s`` and ``beta`` where ``s`` is the largest
|coefficient| of the Ising Hamiltonian, so initial points and step sizes do not depend
on the problem's units; ``result.params`` are converted back, i.e. they are the angles of
``qaoa_circuit(problem_ising, p)`` (``QAOA.circuit``), interleaved
``(gamma_0, beta_0, gamma_1, beta_1, ...)`` as ``circuit.parameters`` orders them.
"""

from __future__ import annotations

import contextlib
import functools
import numbers
from collections.abc import Callable

import numpy as np

from qworkbench import PauliSum, optim
from qworkbench.utils import int_seed, positive_int
from simulators import StatevectorSimulator, get_simulator
from tasks._qaoa_answers import (
    Answers,
    IsingProblem,
    QAOAResult,
    approximation_ratio,
    as_problem,
    cvar,
    marginal,
)
from tasks._qaoa_circuit import (
    INITIAL_STATES,
    MIXERS,
    cost_terms,
    diagonal_energies,
    qaoa_circuit,
)

__all__ = [
    "QAOA",
    "QAOAResult",
    "IsingProblem",
    "qaoa_circuit",
    "solve_qubo",
    "cvar",
    "diagonal_energies",
    "INITS",
    "MIXERS",
]

#: initial-angle strategies
INITS = ("linear_ramp", "interp", "random")
_RAMP = 0.75  # time step of the linear ramp (Sack & Serbyn, Quantum 5, 491 (2021))
_EXACT_EXPECTATION_VARIABLES = 14  # above, expected_objective comes from the final samples
_BRUTE_FORCE_VARIABLES = 20


def _check_alpha(alpha):
    if alpha is None:
        return None
    if isinstance(alpha, bool) or not isinstance(alpha, numbers.Real) or not 0 < alpha <= 1:
        raise ValueError(f"cvar_alpha must be a number in (0, 1], got {alpha!r}")
    return float(alpha)


def _check_int(value, name: str, allow_none: bool = False):
    if value is None and allow_none:
        return None
    return positive_int(name, value)


class QAOA:
    """QAOA on a problem (see the module docstring for what ``problem`` may be).

    Args:
        problem: the problem, a diagonal Ising PauliSum or a QUBO matrix.
        p: the depth (layers of cost + mixer).
        mixer: ``"x"`` or ``"xy"`` (the XY ring mixer on ``groups``, default the
            problem's ``one_hot_groups``; see :func:`qaoa_circuit`).
        init: initial angles: ``"linear_ramp"`` (a discretised annealing path),
            ``"interp"`` (Zhou et al., PRX 10, 021067 (2020): optimise depth 1, interpolate
            the optimum to depth 2 as the start there, ... up to ``p``) or ``"random"``.
        optimizer: a :data:`qworkbench.optim.METHODS` name; default ``"l-bfgs-b"`` with
            adjoint gradients when they apply, ``"cobyla"`` otherwise.
        simulator: a simulator object or kind name (default the statevector simulator).
        shots: estimate the objective from this many samples per evaluation.
        cvar_alpha: optimise CVaR_alpha instead of the mean energy.
        seed: seeds random angles, sampling and stochastic optimisers.
        penalty, slack: passed to ``problem.ising``.
        maxiter: optimiser iterations (per INTERP level).
        final_shots: samples drawn from the final state when ``shots`` is None.
        optimizer_options: extra options for :func:`qworkbench.optim.minimize`.
        brute_force: find the optimum by ``problem.brute_force()`` (up to 20 variables)
            for ``approximation_ratio``; :func:`solve_qubo` turns it off by default.
        initial_params: starting angles as in ``result.params`` (``2 p`` values); they
            replace ``init`` (e.g. a warm start from the previous of a series of QUBOs).

    Examples:
        >>> import networkx as nx
        >>> from qworkbench import PauliSum
        >>> ring = PauliSum.from_list([("IZZ", 1.0), ("ZZI", 1.0), ("ZIZ", 1.0)])
        >>> result = QAOA(ring, p=2, seed=1).run()
        >>> result.objective, result.feasible
        (-1.0, True)
    """

    def __init__(
        self,
        problem,
        p: int = 1,
        *,
        mixer: str = "x",
        init: str = "linear_ramp",
        optimizer: str | None = None,
        simulator=None,
        shots: int | None = None,
        cvar_alpha: float | None = None,
        seed=None,
        penalty: float | None = None,
        slack: bool = True,
        groups=None,
        initial_state: str = "w",
        maxiter: int = 200,
        final_shots: int = 1024,
        optimizer_options: dict | None = None,
        brute_force: bool = True,
        initial_params=None,
    ):
        self.problem = as_problem(problem)
        self.p = _check_int(p, "p")
        if mixer not in MIXERS:
            raise ValueError(f"unknown mixer {mixer!r}; choose one of {', '.join(MIXERS)}")
        if init not in INITS:
            raise ValueError(f"unknown init {init!r}; choose one of {', '.join(INITS)}")
        if initial_state not in INITIAL_STATES:
            raise ValueError(f"unknown initial_state {initial_state!r}")
        self.mixer, self.init, self.initial_state = mixer, init, initial_state
        self.shots = _check_int(shots, "shots", allow_none=True)
        self.cvar_alpha = _check_alpha(cvar_alpha)
        self.maxiter = _check_int(maxiter, "maxiter")
        self.brute_force = bool(brute_force)
        self.final_shots = _check_int(final_shots, "final_shots")
        self.rng = np.random.default_rng(seed)
        if simulator is None or isinstance(simulator, str):
            simulator = get_simulator(simulator or "statevector")
        self.simulator = simulator
        self.use_gradient = (
            isinstance(simulator, StatevectorSimulator)
            and self.shots is None
            and self.cvar_alpha is None
        )
        self.optimizer = self._check_optimizer(optimizer)
        self.optimizer_options = dict(optimizer_options or {})

        self.ising = self.problem.ising(penalty=penalty, slack=slack)
        if not isinstance(self.ising, PauliSum):
            raise TypeError(f"problem.ising() must return a PauliSum, got {self.ising!r}")
        self.num_qubits = self.ising.num_qubits
        self.num_variables = int(self.problem.num_variables)
        if self.num_qubits < self.num_variables:
            raise ValueError(
                f"the Ising Hamiltonian has {self.num_qubits} qubits for "
                f"{self.num_variables} variables"
            )
        _, coeffs, _ = cost_terms(self.ising)
        self.cost_scale = float(np.abs(coeffs).max()) if len(coeffs) else 1.0
        if groups is None and mixer == "xy":
            groups = getattr(self.problem, "one_hot_groups", None)
        self.groups = groups
        self._circuits: dict[tuple[int, bool], object] = {}
        self._circuit(self.p)  # checks the mixer's groups now rather than in run()
        self.initial_params = None
        if initial_params is not None:
            theta = np.array(initial_params, dtype=float).reshape(-1)
            if theta.shape != (2 * self.p,) or not np.all(np.isfinite(theta)):
                raise ValueError(
                    f"initial_params must be {2 * self.p} finite angles, got {initial_params!r}"
                )
            self.initial_params = theta

    @functools.cached_property
    def energies(self) -> np.ndarray:
        """The energy of every basis state (for CVaR and sampled objectives)."""
        return diagonal_energies(self.ising)

    @classmethod
    def from_qubo(cls, Q, offset: float = 0.0, p: int = 1, **kwargs) -> QAOA:
        """QAOA minimising ``x^T Q x + offset`` over 0/1 vectors ``x``."""
        from tasks.problems import QuboProblem

        return cls(QuboProblem(Q, offset), p, **kwargs)

    def _check_optimizer(self, name):
        if name is None:
            return "l-bfgs-b" if self.use_gradient else "cobyla"
        if name not in optim.METHODS:
            raise ValueError(f"unknown optimizer {name!r}; available: {', '.join(optim.METHODS)}")
        needs_gradient = name in ("adam", "adamw", "sgd")
        if needs_gradient and not self.use_gradient:
            raise ValueError(
                f"optimizer {name!r} needs gradients, which apply only to the noiseless "
                "statevector simulator with shots=None and cvar_alpha=None"
            )
        if name == "l-bfgs-b" and self.shots is not None:
            raise ValueError(
                "l-bfgs-b on a sampled objective is not meaningful; use cobyla or spsa"
            )
        return name

    # -- circuits -------------------------------------------------------------------------
    def _circuit(self, p: int, scaled: bool = True):
        key = (p, scaled)
        if key not in self._circuits:
            ising = self.ising * (1.0 / self.cost_scale) if scaled else self.ising
            circ = qaoa_circuit(
                ising, p, mixer=self.mixer, groups=self.groups, initial_state=self.initial_state
            )
            names = [f"{kind}_{k}" for k in range(p) for kind in ("gamma", "beta")]
            index = np.array([names.index(q.name) for q in circ.parameters], dtype=int)
            self._circuits[key] = (circ, index)
        return self._circuits[key]

    @property
    def circuit(self):
        """The depth-``p`` circuit whose angles ``result.params`` are."""
        return self._circuit(self.p, scaled=False)[0]

    def evaluate(self, params) -> float:
        """The objective the optimiser minimises (``<H>`` or CVaR) at ``params``, angles
        as in ``result.params`` (``2 * depth`` values, interleaved gamma/beta)."""
        theta = np.array(params, dtype=float).reshape(-1)
        if theta.size % 2 or theta.size == 0:
            raise ValueError(f"params must hold (gamma, beta) pairs, got {theta.size} values")
        theta[0::2] *= self.cost_scale
        return self._objective(theta.size // 2)[0](theta)

    # -- the objective ----------------------------------------------------------------------
    def _distribution(self, circ, values):
        """(basis indices, probabilities): exact, or the empirical one of ``shots`` samples."""
        if self.shots is None:
            probs = np.asarray(self.simulator.probabilities(circ, values), dtype=float)
            return np.arange(len(probs)), probs
        counts = self.simulator.sample(circ, self.shots, seed=int_seed(self.rng), params=values)
        index = np.array([int(k, 2) for k in counts], dtype=np.int64)
        weights = np.array(list(counts.values()), dtype=float)
        return index, weights / weights.sum()

    def _objective(self, p: int):
        circ, index = self._circuit(p)

        def values(theta):
            return np.asarray(theta, dtype=float)[index]

        def fun(theta):
            if self.shots is None and self.cvar_alpha is None:
                return float(self.simulator.expval(circ, self.ising, values(theta)))
            basis, probs = self._distribution(circ, values(theta))
            return cvar(self.energies[basis], probs, self.cvar_alpha or 1.0)

        def jac(theta):
            grad = np.asarray(self.simulator.gradient(circ, self.ising, values(theta)))
            out = np.zeros(2 * p)
            np.add.at(out, index, grad)
            return out

        return fun, (jac if self.use_gradient else None)

    def _initial(self, p: int) -> np.ndarray:
        if self.init == "random":
            theta = self.rng.uniform(-np.pi / 2, np.pi / 2, size=2 * p)
        else:  # a linear ramp from the mixer's ground state to the cost's (TQA)
            f = (np.arange(p) + 0.5) / p
            theta = np.column_stack([f * _RAMP, -(1.0 - f) * _RAMP]).ravel()
        return theta

    @staticmethod
    def interpolate(theta: np.ndarray) -> np.ndarray:
        """INTERP (Zhou et al. 2020, Eq. B1): depth-p angles to a depth-(p+1) start,
        ``x'_i = (i-1)/p x_{i-1} + (p-i+1)/p x_i`` for i = 1..p+1 with x_0 = x_{p+1} = 0."""
        layers = np.asarray(theta, dtype=float).reshape(-1, 2)
        p = len(layers)
        padded = np.vstack([np.zeros((1, 2)), layers, np.zeros((1, 2))])
        i = np.arange(1, p + 2)[:, None]
        return ((i - 1) / p * padded[i[:, 0] - 1] + (p - i + 1) / p * padded[i[:, 0]]).ravel()

    def _minimize(self, p: int, theta0, history: list, callback):
        fun, jac = self._objective(p)

        def tracked(theta):
            value = fun(theta)
            history.append(value)
            if callback is not None:
                callback(len(history), value)
            return value

        return optim.minimize(
            tracked,
            theta0,
            method=self.optimizer,
            maxiter=self.maxiter,
            seed=int_seed(self.rng),
            jac=jac,
            **self.optimizer_options,
        )

    # -- run ------------------------------------------------------------------------------
    def run(self, callback: Callable[[int, float], None] | None = None) -> QAOAResult:
        """Optimise the angles, sample the final state and pick the answer.

        ``callback(nfev, value)`` is called after every objective evaluation.
        """
        history: list[float] = []
        if self.initial_params is not None:
            theta = self.initial_params.copy()
            theta[0::2] *= self.cost_scale
            opt = self._minimize(self.p, theta, history, callback)
            theta = opt.x
        elif self.init == "interp":
            theta = self._initial(1)
            for depth in range(1, self.p + 1):
                if depth > 1:
                    theta = self.interpolate(theta)
                opt = self._minimize(depth, theta, history, callback)
                theta = opt.x
        else:
            opt = self._minimize(self.p, self._initial(self.p), history, callback)
            theta = opt.x
        params = np.asarray(theta, dtype=float).copy()
        params[0::2] /= self.cost_scale  # back to the angles of the unscaled Hamiltonian
        samples, exact = self._final_samples(theta)
        answers = Answers(self.problem, self.num_variables)
        x, objective, feasible, share = answers.best(samples)
        expected = answers.expectation(exact if exact is not None else samples)
        optimum = self.optimum()
        return QAOAResult(
            x=x,
            objective=objective,
            expected_objective=expected,
            approximation_ratio=approximation_ratio(expected, optimum, self.problem.sense),
            feasible=feasible,
            params=tuple(float(v) for v in params),
            history=tuple(history),
            nfev=len(history),
            num_qubits=self.num_qubits,
            p=self.p,
            energy=float(opt.fun),
            optimum=optimum,
            probability=share,
        )

    def _final_samples(self, theta):
        """Final samples and (up to 14 variables, shots=None) the exact distribution,
        both as {assignment index over the problem variables: weight}."""
        circ, index = self._circuit(self.p)
        values = np.asarray(theta, dtype=float)[index]
        mask = (1 << self.num_variables) - 1
        if self.shots is None:
            probs = np.asarray(self.simulator.probabilities(circ, values), dtype=float)
            probs = probs / probs.sum()
            counts = self.rng.multinomial(self.final_shots, probs)
            basis = np.nonzero(counts)[0]
            samples = marginal(basis & mask, counts[basis])
            exact = None
            if self.num_variables <= _EXACT_EXPECTATION_VARIABLES:
                keep = np.nonzero(probs > 1e-12)[0]
                exact = marginal(keep & mask, probs[keep])
            return samples, exact
        basis, weights = self._distribution(circ, values)
        return marginal(basis & mask, weights), None

    def optimum(self) -> float | None:
        """The brute-force optimal objective (None when the problem is too large or has
        no ``brute_force``); computed once."""
        if not hasattr(self, "_optimum"):
            self._optimum = None
            brute = getattr(self.problem, "brute_force", None)
            small = self.num_variables <= _BRUTE_FORCE_VARIABLES
            if brute is not None and self.brute_force and small:
                with contextlib.suppress(ValueError, NotImplementedError, MemoryError):
                    self._optimum = float(brute()[1]) + 0.0
        return self._optimum


def solve_qubo(Q, offset: float = 0.0, p: int = 1, **kwargs) -> QAOAResult:
    """Minimise ``x^T Q x + offset`` over 0/1 vectors with QAOA; ``kwargs`` go to
    :class:`QAOA` (``seed``, ``optimizer``, ``init``, ...). For inner loops the brute-force
    optimum is skipped unless ``brute_force=True`` (``approximation_ratio`` is then None).

    Examples:
        >>> solve_qubo([[1.0, -3.0], [0.0, 1.0]], p=1, seed=0).x
        (1, 1)
    """
    kwargs.setdefault("brute_force", False)
    return QAOA.from_qubo(Q, offset, p, **kwargs).run()
