"""The variational quantum eigensolver over our simulators and ``qworkbench.optim``.

Examples:
    >>> from tasks.hamiltonians import tfim
    >>> from tasks.ansatz import hardware_efficient
    >>> result = VQE(tfim(2), hardware_efficient(2, 1), seed=1, exact_energy=-5**0.5).run()
    >>> round(result.energy, 6), abs(result.error) < 1e-6
    (-2.236068, True)
"""

from __future__ import annotations

import numbers
import warnings
from collections.abc import Callable
from dataclasses import dataclass, field

import numpy as np

from qworkbench import Circuit, PauliSum
from qworkbench.utils import JSONMixin, float_array

__all__ = ["VQE", "VQEResult", "parse_noise", "cvar"]

_GRADIENT_METHODS = ("l-bfgs-b", "adam", "adamw", "sgd")
#: hyperparameters that suit angles (radians, starting near zero) where the method's own
#: defaults suit something else: Adam's 1e-3 is a neural-network step, COBYLA's first
#: trust radius of 1 rad jumps far from a small-angle start and its 1e-4 end radius
#: needs many more evaluations than a 1e-3 rad resolution of the angles
_ANGLE_DEFAULTS = {
    "adam": {"lr": 0.05},
    "adamw": {"lr": 0.05},
    "cobyla": {"rhobeg": 0.5, "tol": 1e-3},
}
#: derivative-free SciPy methods: 1000 steps by default (COBYLA counts evaluations)
_DERIVATIVE_FREE = ("cobyla", "nelder-mead")
_GTOL = 1e-3  # largest |dE/dtheta| (energy units per radian) at a converged point


@dataclass(frozen=True)
class VQEResult(JSONMixin):
    """The outcome of :meth:`VQE.run`.

    Attributes:
        energy: <H> at ``params``, evaluated exactly on the simulator used (noise
            included, no shot noise).
        objective: the optimised objective at ``params`` (equals ``energy`` unless
            shots or CVaR were asked for).
        params: the optimal angles, in ``circuit.parameters`` order.
        history: the objective at every evaluation, in order.
        nfev: objective evaluations.
        error: ``energy - exact_energy`` when the exact energy is known, else None.
        exact_energy: the reference ground energy, when known.
        optimizer: the method used.
        converged: whether the optimizer met its convergence test (SciPy's for its
            methods; a gradient below 1e-3 per radian for adam, adamw and sgd; a
            plateau of the objective for spsa and adam_spsa). :meth:`VQE.run` warns when
            it did not.
        message: why the optimizer stopped.
    """

    energy: float
    objective: float
    params: np.ndarray = field(repr=False)
    history: tuple[float, ...] = field(repr=False)
    nfev: int
    error: float | None
    exact_energy: float | None
    optimizer: str
    converged: bool = True
    message: str = ""

    _json_decoders = {"params": float_array, "history": tuple}


def parse_noise(spec, num_qubits: int | None = None):
    """The noise a command line names: :meth:`simulators.noise.NoiseModel.parse`
    (``None``/``"none"``, ``"depolarizing:P"``, ``"depolarizing:P1,P2"``, a fake
    backend name, or a NoiseModel as is)."""
    from simulators.noise import NoiseModel

    return NoiseModel.parse(spec, num_qubits)


def cvar(energies: np.ndarray, probabilities: np.ndarray, alpha: float) -> float:
    """Conditional value at risk: the mean energy of the lowest ``alpha`` fraction of the
    probability mass (Barkoutsos et al., Quantum 4, 256 (2020), eq. 3).

    Examples:
        >>> cvar(np.array([0.0, 1.0, 2.0]), np.array([0.2, 0.3, 0.5]), 0.5)
        0.6
    """
    order = np.argsort(energies, kind="stable")
    e, p = np.asarray(energies)[order], np.asarray(probabilities, dtype=float)[order]
    p = p / p.sum()
    before = np.concatenate([[0.0], np.cumsum(p)[:-1]])
    weight = np.clip(np.minimum(p, alpha - before), 0.0, None)
    return float(weight @ e / alpha)


def _plateau(history) -> tuple[bool, str]:
    """Whether a noisy objective has stopped improving: the mean of its last quarter of
    evaluations is within three standard errors of the quarter before's."""
    values = np.asarray(history, dtype=float)
    w = len(values) // 4
    if w < 5:
        return False, f"only {len(values)} evaluations, too few to test for a plateau"
    last, before = values[-w:], values[-2 * w : -w]
    drop = before.mean() - last.mean()
    noise = 3.0 * np.sqrt((last.var() + before.var()) / w) + 1e-9 * max(1.0, abs(last.mean()))
    if drop > noise:
        return False, f"objective still falling ({drop:.2e} over the last {w} evaluations)"
    return True, f"objective flat over the last {2 * w} evaluations"


def _problem_parts(hamiltonian):
    """(PauliSum, exact energy or None, HF bitstring or None, molecular problem or None)."""
    if isinstance(hamiltonian, PauliSum):
        return hamiltonian, None, None, None
    ham = getattr(hamiltonian, "hamiltonian", None)
    if getattr(hamiltonian, "kind", None) == "state":
        raise ValueError(f"task {hamiltonian.name!r} is a state task; VQE needs an energy task")
    if not isinstance(ham, PauliSum):
        raise TypeError(
            "hamiltonian must be a PauliSum, an energy Task or a MolecularProblem, got "
            f"{type(hamiltonian).__name__}"
        )
    molecular = getattr(hamiltonian, "problem", None) or hamiltonian
    exact = getattr(hamiltonian, "exact_energy", None)
    return ham, exact, getattr(hamiltonian, "hf_state", None), molecular


class VQE:
    """Minimise <psi(theta)|H|psi(theta)> over an ansatz's angles.

    Args:
        hamiltonian: a :class:`~qworkbench.PauliSum`, an energy :class:`~tasks.Task` or a
            :class:`~tasks.hamiltonians.MolecularProblem` (these bring their exact and
            Hartree-Fock energies).
        ansatz: a parameterised :class:`~qworkbench.Circuit`, or ``"hea"`` (two
            hardware-efficient layers from the Hartree-Fock state when known) or
            ``"uccsd"`` (needs a Jordan-Wigner molecular problem).
        optimizer: a method of :func:`qworkbench.optim.minimize`. Default: ``l-bfgs-b``
            with the simulator's gradients (adjoint on statevectors, parameter shift on
            density matrices), ``spsa`` with shots, ``cobyla`` for CVaR.
        simulator: a simulator from :func:`simulators.get_simulator` (default: the
            statevector simulator, or the density-matrix one when ``noise`` is given).
        shots: estimate each energy from this many shots per commuting group (or
            sample this many bitstrings for CVaR) instead of exactly.
        cvar_alpha: optimise CVaR_alpha of the measured energies (diagonal Hamiltonians).
        seed: seeds shot sampling, stochastic optimizers and the initial angles.
        noise: a :class:`~simulators.noise.NoiseModel` or ``"depolarizing:P"``.
        maxiter: optimizer iterations (default 200; for cobyla and nelder-mead, which
            count evaluations, 1000).
        initial_params: starting angles (default: N(0, 0.05^2) draws from ``seed``:
            with ``"hea"`` near the Hartree-Fock state).
        exact_energy: the reference for ``error`` (default: the task's, if any).
        optimizer_options: hyperparameters passed on to ``minimize``; defaults that suit
            angles: ``lr=0.05`` for adam and adamw, ``rhobeg=0.5, tol=1e-3`` for cobyla.
    """

    def __init__(
        self,
        hamiltonian,
        ansatz: Circuit | str,
        optimizer: str | None = None,
        simulator=None,
        shots: int | None = None,
        cvar_alpha: float | None = None,
        seed=None,
        noise=None,
        maxiter: int | None = None,
        initial_params=None,
        exact_energy: float | None = None,
        optimizer_options: dict | None = None,
    ):
        from qworkbench.optim import METHODS

        self.hamiltonian, known, hf_state, molecular = _problem_parts(hamiltonian)
        if not self.hamiltonian.is_hermitian():
            raise ValueError("the Hamiltonian must be Hermitian (real coefficients)")
        self.exact_energy = known if exact_energy is None else float(exact_energy)
        if shots is not None and (
            isinstance(shots, bool) or not isinstance(shots, numbers.Integral) or shots < 1
        ):
            raise ValueError(f"shots must be a positive integer, got {shots!r}")
        if cvar_alpha is not None:
            if isinstance(cvar_alpha, bool) or not isinstance(cvar_alpha, numbers.Real):
                raise ValueError(f"cvar_alpha must be a number in (0, 1], got {cvar_alpha!r}")
            if not 0.0 < cvar_alpha <= 1.0:
                raise ValueError(f"cvar_alpha must be in (0, 1], got {cvar_alpha!r}")
            ham = self.hamiltonian.simplify()
            if np.any(ham.x):
                raise ValueError("cvar_alpha needs a diagonal (Z-only) Hamiltonian")
        self.shots, self.cvar_alpha = shots, cvar_alpha
        exact_objective = shots is None and cvar_alpha is None
        if optimizer is None:
            optimizer = "l-bfgs-b" if exact_objective else ("cobyla" if shots is None else "spsa")
        if optimizer not in METHODS:
            raise ValueError(f"unknown optimizer {optimizer!r}; available: {', '.join(METHODS)}")
        if optimizer in _GRADIENT_METHODS and not exact_objective:
            raise ValueError(
                f"optimizer {optimizer!r} needs exact gradients; with shots or CVaR use "
                "spsa, adam_spsa, cobyla or nelder-mead"
            )
        self.optimizer = optimizer
        self.optimizer_options = {**_ANGLE_DEFAULTS.get(optimizer, {}), **(optimizer_options or {})}
        noise = parse_noise(noise)
        if simulator is not None and noise is not None:
            raise ValueError("give the noise model to the simulator or to VQE, not both")
        if simulator is None:
            from simulators import get_simulator

            kind = "statevector" if noise is None else "density_matrix"
            simulator = get_simulator(kind, noise=noise) if noise else get_simulator(kind)
        self.simulator = simulator
        if maxiter is None:
            maxiter = 1000 if optimizer in _DERIVATIVE_FREE else 200
        if isinstance(maxiter, bool) or not isinstance(maxiter, numbers.Integral) or maxiter < 1:
            raise ValueError(f"maxiter must be a positive integer, got {maxiter!r}")
        self.maxiter = int(maxiter)
        self.circuit = self._ansatz(ansatz, hf_state, molecular)
        if self.circuit.num_parameters == 0:
            raise ValueError("the ansatz has no free parameters")
        self._rng = np.random.default_rng(seed)
        self.seed = seed
        p = self.circuit.num_parameters
        if initial_params is None:
            self.initial_params = self._rng.normal(0.0, 0.05, size=p)
        else:
            self.initial_params = np.asarray(initial_params, dtype=float).reshape(-1)
            if self.initial_params.size != p or not np.all(np.isfinite(self.initial_params)):
                raise ValueError(
                    f"initial_params must be {p} finite angles, got {self.initial_params.size}"
                )
        if self.cvar_alpha is not None:
            from tasks.hamiltonians import _diagonal

            self._diagonal = _diagonal(self.hamiltonian)

    def _ansatz(self, ansatz, hf_state, molecular) -> Circuit:
        n = self.hamiltonian.num_qubits
        if isinstance(ansatz, str):
            from tasks import ansatz as ansatze

            if ansatz == "hea":
                return ansatze.hardware_efficient(n, 2, initial_state=hf_state)
            if ansatz == "uccsd":
                if molecular is None:
                    raise ValueError("ansatz 'uccsd' needs a molecular problem or task")
                return ansatze.uccsd(molecular)
            raise ValueError(f"unknown ansatz {ansatz!r}; use 'hea', 'uccsd' or a Circuit")
        if not isinstance(ansatz, Circuit):
            raise TypeError(f"ansatz must be a Circuit or a name, got {type(ansatz).__name__}")
        if ansatz.num_qubits != n:
            raise ValueError(f"the ansatz has {ansatz.num_qubits} qubits, the Hamiltonian {n}")
        return ansatz

    # -- objective ----------------------------------------------------------------------
    def energy(self, params) -> float:
        """<H> at ``params``, exact on the simulator (its noise included)."""
        return float(self.simulator.expval(self.circuit, self.hamiltonian, params))

    def objective(self, params) -> float:
        """What the optimizer minimises: <H>, its shot estimate, or CVaR."""
        if self.cvar_alpha is not None:
            if self.shots is None:
                probs = self.simulator.probabilities(self.circuit, params)
            else:
                counts = self.simulator.sample(
                    self.circuit, self.shots, seed=self._rng, params=params
                )
                probs = np.zeros(self._diagonal.size)
                for bits, count in counts.items():
                    probs[int(bits, 2)] = count
            return cvar(self._diagonal, probs, self.cvar_alpha)
        if self.shots is not None:
            return float(
                self.simulator.expval(
                    self.circuit, self.hamiltonian, params, shots=self.shots, seed=self._rng
                )
            )
        return self.energy(params)

    def gradient(self, params) -> np.ndarray:
        return np.asarray(self.simulator.gradient(self.circuit, self.hamiltonian, params))

    def run(self, callback: Callable[[np.ndarray, float], None] | None = None) -> VQEResult:
        """Optimise from :attr:`initial_params`; ``callback(params, value)`` per iteration."""
        from qworkbench.optim import minimize

        jac = self.gradient if self.optimizer in _GRADIENT_METHODS else None
        result = minimize(
            self.objective,
            self.initial_params,
            method=self.optimizer,
            maxiter=self.maxiter,
            seed=self._rng if self.seed is not None else None,
            callback=callback,
            jac=jac,
            **self.optimizer_options,
        )
        energy = self.energy(result.x)
        error = None if self.exact_energy is None else energy - self.exact_energy
        converged, message = self._convergence(result)
        if not converged:
            above = "" if error is None else f" ({1e3 * error:.3f} mHa above the exact energy)"
            steps = (f"{result.nfev} evaluations" if self.optimizer == "cobyla"
                     else f"{result.nit} iterations")  # fmt: skip
            warnings.warn(
                f"VQE did not converge: {self.optimizer} stopped after {steps} "
                f"({message}) at energy {energy:+.8f}{above}; raise maxiter "
                "or try another optimizer or initial_params",
                UserWarning,
                stacklevel=2,
            )
        return VQEResult(
            energy=energy,
            objective=float(result.fun),
            params=np.asarray(result.x, dtype=float),
            history=tuple(result.history),
            nfev=int(result.nfev),
            error=error,
            exact_energy=self.exact_energy,
            optimizer=self.optimizer,
            converged=converged,
            message=message,
        )

    def _convergence(self, result) -> tuple[bool, str]:
        """(converged, why the optimizer stopped) by the test its method allows."""
        if self.optimizer == "l-bfgs-b" and result.success:
            return True, result.message.rstrip(".")
        if self.optimizer in _GRADIENT_METHODS:
            largest = float(np.max(np.abs(self.gradient(result.x))))
            if largest <= _GTOL:  # also after a line-search stop at a flat minimum
                return True, f"largest gradient {largest:.1e}"
            return False, f"largest gradient {largest:.1e} > {_GTOL:g}"
        if self.optimizer in ("spsa", "adam_spsa"):
            return _plateau(result.history)
        return bool(result.success), result.message.rstrip(".")
