"""The quantum-architecture-search environment (CRLQAS / KANQAS style).

An episode builds a circuit one gate per step. After each gate, every rotation angle is
re-fitted (warm start, the new angle at 0) and the agent sees the circuit as a one-hot
tensor plus the current energy (or fidelity).

Observation (``depth L x rows x N``, flattened, then the energy or fidelity): each gate
sits at the first moment where all of its qubits are free. A two-qubit gate type owns N
rows and is marked at ``[moment][target][control]`` (symmetric gates such as CZ at
``[moment][larger][smaller]``); each one-qubit gate type owns one row, marked at
``[moment][row][qubit]``. This is the encoding of Ostaszewski et al. and CRLQAS.

Rewards:
- energy tasks (CRLQAS): +5 and the episode ends when E - E_LB < threshold; -5 when the
  gate budget is spent; otherwise clip((E_prev - E) / |E_prev - E_LB|, -1, 1), with
  E_LB = -sum |c_j| over the non-identity terms plus the identity coefficient;
- state tasks (KANQAS): the fidelity F each step, 50 F and the end once F >= the target.

Success, for statistics, is measured against the exact ground energy (error <= 1.6 mHa
by default) or the target fidelity, independently of the curriculum threshold.
"""

from __future__ import annotations

import functools
import math
from dataclasses import dataclass

import gymnasium as gym
import numpy as np

from agents.curriculum import MovingThreshold
from qworkbench import Circuit, Parameter, PauliSum
from qworkbench.circuit import GATES
from qworkbench.utils import int_seed, positive_int

__all__ = ["QASEnv", "GATE_SETS", "Action", "resolve_task", "fit_angles", "rotosolve"]

#: named gate sets: gate types (two-qubit gates on ordered pairs unless symmetric)
GATE_SETS = {
    "crlqas": ("cx", "rx", "ry", "rz"),
    "kanqas": ("cx", "x", "y", "z", "h", "t"),
    "ibm_native": ("rz", "sx", "x", "cz"),
}
_SYMMETRIC = frozenset({"cz", "swap", "rzz", "rxx", "ryy"})


@functools.cache
def _sinusoidal(name: str) -> bool:
    """Whether a one-angle gate's expectation values are a + b cos t + c sin t (its
    generator has two eigenvalues one apart), so one angle can be solved exactly."""
    generator = GATES[name].generator
    if generator is None:
        return False
    eig = np.unique(np.round(np.linalg.eigvalsh(generator), 9))
    return len(eig) == 2 and abs(eig[1] - eig[0] - 1) < 1e-9


def _is_identity_angle(angle: float) -> bool:
    """A one-qubit rotation by ``angle`` is the identity up to a global phase."""
    return abs(math.sin(0.5 * angle)) < 1e-9


def rotosolve(f0, fp, fm, current):
    """The minimiser of f(t) = a + b cos t + c sin t from f(0), f(pi/2), f(-pi/2)
    (scalars or arrays); ``current`` where f is flat."""
    a = 0.5 * (np.asarray(fp) + np.asarray(fm))
    b, c = np.asarray(f0) - a, 0.5 * (np.asarray(fp) - np.asarray(fm))
    return np.where(np.hypot(b, c) > 1e-12, np.arctan2(-c, -b), current)


def fit_angles(objective, angles, new=(), *, fitter, maxiter, jac=None, seed=None, noisy=False):
    """The angle-fit policy of every QAS step, for one circuit and rows of its angles.

    ``objective(X)`` gives the objective of each row of X (shape (rows, params)) and
    ``jac(X)`` their gradients (or None: the optimizer estimates them). The angles at
    positions ``new`` (just added, at 0) are first set one by one to the exact minimiser
    along that angle (Rotosolve, Ostaszewski et al. 2021: three evaluations fit
    a + b cos t + c sin t; a gradient fit started at 0 would stall, the gradient of a
    fresh rotation on a basis state being exactly 0), except for COBYLA (the paper's
    fitter), which starts them at 0. Then one ``minimize`` of the rows' summed objective
    (separable, so each row gets its own optimum; ``maxiter`` per row) and each row
    keeps its fit where that is no worse. ``seed`` (an int or a Generator, drawn from
    after the new angles are solved) seeds the stochastic fitters. With ``noisy``
    objectives (one row), start and end are compared on one pair of estimates and the
    value returned is a fresh estimate at the kept angles (the smaller of two noisy
    estimates would be biased low).

    Returns the fitted angles (rows, params) and their objective values (rows,).
    """
    x = np.array(angles, dtype=float)
    rows, size = x.shape
    if fitter == "none" or size == 0:
        return x, objective(x)
    from qworkbench.optim import minimize

    if fitter != "cobyla":
        for k in new:
            f0 = objective(x)
            shifted = x.copy()
            shifted[:, k] = np.pi / 2
            fp = objective(shifted)
            shifted[:, k] = -np.pi / 2
            fm = objective(shifted)
            x[:, k] = rotosolve(f0, fp, fm, x[:, k])

    def total(flat):
        return float(np.sum(objective(flat.reshape(rows, size))))

    def gradient(flat):
        return np.asarray(jac(flat.reshape(rows, size))).reshape(-1)

    result = minimize(total, x.reshape(-1), fitter, maxiter * rows, seed=int_seed(seed),
                      jac=None if jac is None else gradient)  # fmt: skip
    fitted = np.asarray(result.x, dtype=float).reshape(rows, size)
    if noisy:
        if objective(fitted)[0] <= objective(x)[0]:
            x = fitted
        return x, objective(x)
    # exact objective: with one row the optimizer's own value is the row's
    final = np.array([result.fun], dtype=float) if rows == 1 else objective(fitted)
    start = objective(x)
    better = final <= start
    x[better] = fitted[better]
    return x, np.where(better, final, start)


_FITTERS = ("auto", "cobyla", "l-bfgs-b", "adam_spsa", "spsa", "nelder-mead", "none")


@dataclass(frozen=True)
class Action:
    """One action: a gate on qubits (``gates`` holds more than one for a composite
    action, e.g. a mined gadget)."""

    gates: tuple[tuple[str, tuple[int, ...]], ...]
    label: str

    @classmethod
    def single(cls, name: str, qubits: tuple[int, ...]) -> Action:
        return cls(((name, tuple(qubits)),), f"{name}{list(qubits)}")


def resolve_task(task, **task_kwargs):
    """A ``tasks.Task`` from a registry name (kwargs go to the registry) or a Task."""
    import tasks

    if isinstance(task, str):
        return tasks.get_task(task, **task_kwargs)
    if task_kwargs:
        raise ValueError(f"task options {sorted(task_kwargs)} given with a Task object")
    if not hasattr(task, "kind") or not hasattr(task, "num_qubits"):
        raise TypeError(f"task must be a registry name or a tasks.Task, got {task!r}")
    return task


def _gate_types(gate_set) -> tuple[str, ...]:
    if isinstance(gate_set, str):
        if gate_set not in GATE_SETS:
            raise ValueError(
                f"unknown gate set {gate_set!r}; named sets: {', '.join(GATE_SETS)} "
                "(or pass a list of gate names)"
            )
        return GATE_SETS[gate_set]
    names = tuple(gate_set)
    if not names:
        raise ValueError("gate_set is empty")
    for name in names:
        spec = GATES.get(name) if isinstance(name, str) else None
        if spec is None or spec.num_qubits > 2 or spec.num_params > 1:
            raise ValueError(
                f"gate {name!r} cannot be a QAS action (one- and two-qubit gates with at "
                "most one angle)"
            )
    if len(set(names)) != len(names):
        raise ValueError(f"gate_set has repeated gates: {names}")
    return names


def build_actions(gate_types, n: int, connectivity=None) -> list[Action]:
    """The primitive actions for ``gate_types`` on ``n`` qubits: one-qubit gates on
    every qubit, two-qubit gates on ordered pairs (unordered for symmetric gates),
    restricted to ``connectivity`` edges when given."""
    allowed = None
    if connectivity is not None:
        allowed = {tuple(sorted(map(int, e))) for e in connectivity}
        for edge in allowed:
            if len(edge) != 2 or edge[0] == edge[1] or not all(0 <= q < n for q in edge):
                raise ValueError(f"connectivity edge {edge} is not two of the {n} qubits")
    actions = []
    for name in gate_types:
        if GATES[name].num_qubits == 1:
            actions.extend(Action.single(name, (q,)) for q in range(n))
            continue
        for a in range(n):
            for b in range(n):
                if a == b or (name in _SYMMETRIC and a > b):
                    continue
                if allowed is not None and tuple(sorted((a, b))) not in allowed:
                    continue
                actions.append(Action.single(name, (a, b)))
    return actions


class QASEnv(gym.Env):
    """Build a circuit gate by gate for a task of :mod:`tasks`.

    Args:
        task: a registry name (``h2``, ``lih4``, ``tfim4``, ``bell``, ...) or a Task.
        max_gates: the gate budget L, in actions (a composite action counts once); the
            observation has room for L times the longest action's gates.
        gate_set: ``crlqas``, ``kanqas``, ``ibm_native`` or a list of gate names.
        noise: a :class:`simulators.noise.NoiseModel` (density-matrix simulation).
        fitter: the angle re-fitting method: ``auto`` (``l-bfgs-b`` with adjoint
            gradients when noiseless and exact, ``adam_spsa`` otherwise), ``cobyla`` (the
            paper's), ``l-bfgs-b``, ``adam_spsa``, ``spsa``, ``nelder-mead``, ``none``.
        fit_maxiter: iterations of each re-fit.
        threshold: the threshold on E - E_LB that ends an episode (energy tasks); default:
            the success criterion (E_exact + success_error - E_LB).
        curriculum: a :class:`MovingThreshold` updated at the end of each episode.
        random_halt: draw each episode's length as CRLQAS's ``rand_halt`` configurations
            do: NegBin(70, 0.573) clipped to [25, 70] (not rescaled; an episode still ends
            at ``max_gates``). Off by default, as in the reference's H2 and Bell runs.
        success_error, target_fidelity: the success criteria.
        shots: energy estimates from this many shots per group; ``shot_model`` ``sample``
            (measure) or ``gaussian`` (CRLQAS's model: N(0, sum c_j^2 / shots) added).
        extra_actions: composite actions (e.g. gadgets) appended to the action set.
        seed: seeds the random halting and the shot noise.
        task_kwargs: options of the registry task (``bond_length=``, ``h=``, ...).
    """

    metadata = {"render_modes": ["ansi"]}

    def __init__(
        self,
        task,
        max_gates: int = 20,
        gate_set="crlqas",
        noise=None,
        *,
        fitter: str = "auto",
        fit_maxiter: int = 100,
        threshold: float | None = None,
        curriculum: MovingThreshold | None = None,
        random_halt: bool = False,
        success_error: float = 1.6e-3,
        target_fidelity: float = 0.98,
        shots: int | None = None,
        shot_model: str = "sample",
        extra_actions=(),
        connectivity=None,
        seed=None,
        render_mode: str | None = None,
        **task_kwargs,
    ):
        super().__init__()
        self.config = dict(
            task=task, max_gates=max_gates, gate_set=gate_set, noise=noise, fitter=fitter,
            fit_maxiter=fit_maxiter, threshold=threshold, random_halt=random_halt,
            success_error=success_error, target_fidelity=target_fidelity, shots=shots,
            shot_model=shot_model, connectivity=connectivity, **task_kwargs,
        )  # fmt: skip
        self.task = resolve_task(task, **task_kwargs)
        max_gates = positive_int("max_gates", max_gates)
        fit_maxiter = positive_int("fit_maxiter", fit_maxiter)
        if not isinstance(random_halt, bool | np.bool_):
            raise ValueError(f"random_halt must be True or False, got {random_halt!r}")
        if fitter not in _FITTERS:
            raise ValueError(f"unknown fitter {fitter!r}; choose from {', '.join(_FITTERS)}")
        if shot_model not in ("sample", "gaussian"):
            raise ValueError(f"shot_model must be 'sample' or 'gaussian', got {shot_model!r}")
        if shots is not None and (
            isinstance(shots, bool) or not isinstance(shots, int) or shots < 1
        ):
            raise ValueError(f"shots must be a positive integer or None, got {shots!r}")
        for name, value in (("success_error", success_error), ("target_fidelity", target_fidelity)):
            if not isinstance(value, int | float) or not math.isfinite(value) or value <= 0:
                raise ValueError(f"{name} must be a positive finite number, got {value!r}")
        if target_fidelity > 1:
            raise ValueError(f"target_fidelity must be at most 1, got {target_fidelity}")
        if render_mode not in (None, "ansi"):
            raise ValueError(f"render_mode must be None or 'ansi', got {render_mode!r}")
        self.render_mode = render_mode
        self.n = self.task.num_qubits
        self.max_gates = max_gates
        self.gate_types = _gate_types(gate_set)
        self.gate_set = gate_set if isinstance(gate_set, str) else list(self.gate_types)
        self.noise = noise
        self.shots = shots
        self.shot_model = shot_model
        self.random_halt = random_halt
        self.success_error = float(success_error)
        self.target_fidelity = float(target_fidelity)
        self.fit_maxiter = int(fit_maxiter)
        self.kind = self.task.kind
        if fitter == "auto":
            exact = noise is None and shots is None
            fitter = "l-bfgs-b" if exact and self.kind == "energy" else "adam_spsa"
            if exact and self.kind == "state":
                fitter = "l-bfgs-b"
        self.fitter = fitter

        self.actions = build_actions(self.gate_types, self.n, connectivity) + list(extra_actions)
        for action in self.actions:
            for name, qubits in action.gates:
                if any(not 0 <= q < self.n for q in qubits) or len(set(qubits)) != len(qubits):
                    raise ValueError(
                        f"action {action.label} acts on qubits {qubits}; the task has {self.n}"
                    )
                if name not in self.gate_types:
                    raise ValueError(
                        f"composite action {action.label} uses {name!r}, which is not in the "
                        f"gate set {self.gate_types}"
                    )
        # observation rows: N per two-qubit gate type, one per one-qubit gate type
        self._row = {}
        rows = 0
        for name in self.gate_types:
            self._row[name] = rows
            rows += self.n if GATES[name].num_qubits == 2 else 1
        self.rows = rows
        # L moments, times the longest action (a gadget places several gates per step)
        self.depth = max_gates * max(len(a.gates) for a in self.actions)
        self.obs_size = self.depth * rows * self.n + 1
        low = np.zeros(self.obs_size, dtype=np.float32)
        high = np.ones(self.obs_size, dtype=np.float32)
        if self.task.kind == "energy":  # |E| <= sum |c_j|
            bound = float(np.abs(self.task.hamiltonian.coeffs).sum())
            low[-1], high[-1] = -bound, bound
        self.observation_space = gym.spaces.Box(low, high, (self.obs_size,), np.float32)
        self.action_space = gym.spaces.Discrete(len(self.actions))

        self._rng = np.random.default_rng(seed)
        if noise is not None:
            from simulators import get_simulator

            self.sim = get_simulator("density_matrix", device="cpu", noise=noise)
        else:
            from simulators import get_simulator

            self.sim = get_simulator("statevector", device="cpu")

        if self.kind == "energy":
            self.hamiltonian: PauliSum = self.task.hamiltonian
            self.exact_energy = float(self.task.exact_energy)
            self.lower_bound = float(self.task.lower_bound)
            self._coeff_sq = float(
                sum(abs(c) ** 2 for label, c in self.hamiltonian.to_list() if set(label) != {"I"})
            )
            empty = self._energy_of(Circuit(self.n), np.zeros(0))
            self.empty_energy = empty
            if threshold is None:  # end at success: error below success_error
                threshold = self.exact_energy + self.success_error - self.lower_bound
            if not math.isfinite(threshold) or threshold <= 0:
                raise ValueError(f"threshold must be a positive finite number, got {threshold!r}")
        else:
            self.hamiltonian = None
            self.target = np.asarray(self.task.target_state, dtype=complex)
        self.threshold = None if threshold is None else float(threshold)
        self.curriculum = curriculum
        if curriculum is not None:
            self.threshold = curriculum.threshold
        self.best_energy = math.inf
        self.best_fidelity = 0.0
        self._reset_episode()

    def with_actions(self, extra_actions, **changes) -> QASEnv:
        """A fresh environment with the same settings plus ``extra_actions`` (composite
        actions such as gadgets); ``changes`` override settings (e.g. another task)."""
        config = {**self.config, **changes}
        return QASEnv(extra_actions=tuple(extra_actions), **config)

    # -- circuit bookkeeping ------------------------------------------------------------
    def _reset_episode(self) -> None:
        self.gates: list[tuple[str, tuple[int, ...]]] = []
        self.angles = np.zeros(0)
        self.moments = np.zeros(self.n, dtype=np.int64)
        self.tensor = np.zeros((self.depth, self.rows, self.n), dtype=np.float32)
        self.last_op: list[tuple[str, tuple[int, ...]] | None] = [None] * self.n
        self.steps = 0
        self.halt_at = self.max_gates

    def circuit(self, bound: bool = False) -> Circuit:
        """The circuit built so far (angles as Parameters ``t0, t1, ...`` unless
        ``bound``). A bound circuit leaves out one-qubit rotations whose fitted angle is
        0 (mod 2 pi: the identity up to a global phase), which the fit leaves where an
        angle does not change the energy; they are not counted as gates either."""
        c = Circuit(self.n)
        k = 0
        for name, qubits in self.gates:
            if GATES[name].num_params:
                angle = float(self.angles[k]) if bound else Parameter(f"t{k}")
                k += 1
                if bound and len(qubits) == 1 and _is_identity_angle(angle):
                    continue
                c.append(name, qubits, (angle,))
            else:
                c.append(name, qubits)
        return c

    def _sizes(self) -> tuple[int, int, int]:
        """Gates, CNOTs (two-qubit gates) and depth of the bound circuit (identity
        rotations left out, see :meth:`circuit`)."""
        cnots = sum(1 for _, q in self.gates if len(q) == 2)
        if not any(_is_identity_angle(a) for a in self.angles):
            return len(self.gates), cnots, int(self.moments.max()) if self.gates else 0
        c = self.circuit(bound=True)
        return len(c), cnots, c.depth()

    def _place(self, name: str, qubits: tuple[int, ...]) -> None:
        moment = int(max(self.moments[q] for q in qubits))
        if moment < self.depth:  # always, as each step places at most its action's gates
            if len(qubits) == 1:
                self.tensor[moment, self._row[name], qubits[0]] = 1.0
            else:
                control, target = qubits
                if name in _SYMMETRIC:
                    control, target = min(qubits), max(qubits)
                self.tensor[moment, self._row[name] + target, control] = 1.0
        for q in qubits:
            self.moments[q] = moment + 1
            self.last_op[q] = (name, qubits)
        self.gates.append((name, qubits))
        if GATES[name].num_params:
            self.angles = np.append(self.angles, 0.0)

    def action_mask(self) -> np.ndarray:
        """1 for allowed actions: the same gate on the same qubits twice in a row (on all
        of its qubits) is masked."""
        mask = np.ones(len(self.actions), dtype=np.int8)
        for i, action in enumerate(self.actions):
            name, qubits = action.gates[0]
            if all(self.last_op[q] == (name, qubits) for q in qubits):
                mask[i] = 0
        if not mask.any():  # never leave the agent without a move
            mask[:] = 1
        return mask

    # -- objective ----------------------------------------------------------------------
    def _energy_of(self, circuit: Circuit, angles: np.ndarray) -> float:
        params = angles if circuit.num_parameters else None
        if self.shots is not None and self.shot_model == "sample":
            seed = int(self._rng.integers(2**63))
            return float(self.sim.expval(circuit, self.hamiltonian, params, self.shots, seed))
        energy = float(self.sim.expval(circuit, self.hamiltonian, params))
        if self.shots is not None:
            energy += float(self._rng.normal(0.0, math.sqrt(self._coeff_sq / self.shots)))
        return energy

    def _fidelity_of(self, circuit: Circuit, angles: np.ndarray) -> float:
        params = angles if circuit.num_parameters else None
        if self.noise is not None:
            rho = self.sim.density_matrix(circuit, params)
            return float(np.real(np.conj(self.target) @ rho @ self.target))
        psi = self.sim.statevector(circuit, params)
        return float(abs(np.vdot(self.target, psi)) ** 2)

    def _objective(self, circuit: Circuit):
        if self.kind == "energy":
            return lambda x: self._energy_of(circuit, x)
        return lambda x: 1.0 - self._fidelity_of(circuit, x)

    def fit(self, circuit: Circuit, new=()) -> float:
        """Re-fit all angles (warm start) with :func:`fit_angles`; returns the objective
        at the fitted angles. ``new``: positions of the angles just added."""
        fun = self._objective(circuit)

        def objective(rows):
            return np.array([fun(row) for row in rows], dtype=float)

        def jac(rows):  # adjoint gradients; SciPy's finite differences where not exact
            return self.sim.gradient(circuit, self.hamiltonian, rows[0])[None]

        exact_energy = self.kind == "energy" and self.noise is None and self.shots is None
        seed = self._rng if self.fitter in ("spsa", "adam_spsa") else None
        angles, values = fit_angles(
            objective, self.angles[None], new, fitter=self.fitter, maxiter=self.fit_maxiter,
            jac=jac if self.fitter == "l-bfgs-b" and exact_energy else None, seed=seed,
            noisy=self.shots is not None,
        )  # fmt: skip
        self.angles = angles[0]
        return float(values[0])

    # -- gymnasium API ------------------------------------------------------------------
    def _observation(self, value: float) -> np.ndarray:
        value = np.clip(value, self.observation_space.low[-1], self.observation_space.high[-1])
        return np.append(self.tensor.reshape(-1), np.float32(value)).astype(np.float32)

    def _info(self) -> dict:
        gates, cnots, depth = self._sizes()
        info = {
            "action_mask": self.action_mask(),
            "gates": gates,
            "cnots": cnots,
            "depth": depth,
            "threshold": self.threshold,
        }
        if self.kind == "energy":
            info["energy"] = self.energy
            info["error"] = self.energy - self.exact_energy
            info["success"] = bool(info["error"] <= self.success_error)
        else:
            info["fidelity"] = self.fidelity
            info["success"] = bool(self.fidelity >= self.target_fidelity)
        return info

    def _halting_step(self) -> int:
        """CRLQAS's random halting: NegBin(70, 0.573) clipped to [25, 70], as drawn by the
        reference (not rescaled to ``max_gates``; the budget still ends the episode)."""
        return int(np.clip(self._rng.negative_binomial(70, 0.573), 25, 70))

    def reset(self, *, seed=None, options=None):
        super().reset(seed=seed)
        if seed is not None:
            self._rng = np.random.default_rng(seed)
        self._reset_episode()
        if self.random_halt:
            self.halt_at = self._halting_step()
        empty = Circuit(self.n)
        if self.kind == "energy":
            self.energy = self._energy_of(empty, self.angles)
            value = self.energy
        else:
            self.fidelity = self._fidelity_of(empty, self.angles)
            value = self.fidelity
        return self._observation(value), self._info()

    def step(self, action):
        circuit, new = self.apply_action(action)
        return self.finish_step(self.fit(circuit, new))

    def apply_action(self, action) -> tuple[Circuit, list[int]]:
        """Place the action's gates; returns the circuit (angles as Parameters) and the
        positions of the angles it added (to be solved first, see :func:`fit_angles`)."""
        if not self.action_space.contains(action):
            raise ValueError(
                f"action must be an integer in [0, {len(self.actions)}), got {action!r}"
            )
        before = self.angles.size
        new = []
        for name, qubits in self.actions[int(action)].gates:
            self._place(name, qubits)
            if self.angles.size > before + len(new) and _sinusoidal(name):
                new.append(self.angles.size - 1)
        self.steps += 1
        return self.circuit(), new

    def finish_step(self, value: float):
        """Reward, termination and observation once the angles are fitted and the
        objective (energy, or 1 - fidelity) is ``value``."""
        budget_spent = self.steps >= self.max_gates
        halted = self.steps >= self.halt_at
        if self.kind == "energy":
            previous, self.energy = self.energy, value
            if self.curriculum is not None:
                self.curriculum.observe_energy(value)
            self.best_energy = min(self.best_energy, value)
            reached = (value - self.lower_bound) < self.threshold
            if reached:
                reward = 5.0
            elif budget_spent:
                reward = -5.0
            else:
                gap = abs(previous - self.lower_bound)
                reward = float(np.clip((previous - value) / gap, -1, 1)) if gap > 0 else 0.0
        else:
            self.fidelity = 1.0 - value
            self.best_fidelity = max(self.best_fidelity, self.fidelity)
            if self.curriculum is not None:  # infidelity is the energy-like quantity
                self.curriculum.observe_energy(value)
                reached = value < self.threshold
            else:
                reached = self.fidelity >= self.target_fidelity
            reward = 50.0 * self.fidelity if reached else self.fidelity
        terminated = bool(reached or budget_spent)
        truncated = bool(halted and not terminated)
        info = self._info()
        if terminated or truncated:
            info["reached_threshold"] = bool(reached)
            if self.curriculum is not None:
                self.threshold = self.curriculum.end_episode(success=bool(reached))
        value = self.energy if self.kind == "energy" else self.fidelity
        return self._observation(value), reward, terminated, truncated, info

    def render(self):
        if self.render_mode == "ansi":
            return self.circuit(bound=True).draw()
        return None

    # -- checkpoints --------------------------------------------------------------------
    def state_dict(self) -> dict:
        """What a resumed run needs: RNG, threshold, curriculum and bests."""
        return {
            "rng": self._rng.bit_generator.state,
            "threshold": self.threshold,
            "curriculum": None if self.curriculum is None else self.curriculum.state_dict(),
            "best_energy": self.best_energy,
            "best_fidelity": self.best_fidelity,
        }

    def load_state_dict(self, state: dict) -> None:
        self._rng.bit_generator.state = state["rng"]
        self.threshold = state["threshold"]
        if state["curriculum"] is not None and self.curriculum is not None:
            self.curriculum.load_state_dict(state["curriculum"])
        self.best_energy = state["best_energy"]
        self.best_fidelity = state["best_fidelity"]
