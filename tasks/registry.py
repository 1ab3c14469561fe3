"""The task registry: named energy and state-preparation tasks for VQE and QAS.

``get_task(name, **kwargs)`` builds a :class:`Task`; ``available()`` lists the names.
The registry is a plain dict from name to factory (:data:`TASKS`); a factory's keyword
arguments are the options its task accepts (``bond_length=``, ``h=``, ``J=``, ...).
Molecular tasks import PySCF/OpenFermion only when built, and their Hamiltonians are
cached on disk (see :func:`tasks.hamiltonians.molecule`).

Examples:
    >>> from tasks import get_task
    >>> t = get_task("tfim4")
    >>> t.kind, t.num_qubits, round(t.exact_energy, 6), t.lower_bound
    ('energy', 4, -4.75877, -7.0)
    >>> get_task("ghz3").target_state.round(4)[[0, 7]].tolist()
    [(0.7071+0j), (0.7071+0j)]
"""

from __future__ import annotations

import inspect
from collections.abc import Callable
from dataclasses import dataclass, field

import numpy as np

from qworkbench import PauliSum
from tasks.hamiltonians import ground_energy, lower_bound

__all__ = ["Task", "TASKS", "available", "get_task", "ground_energy", "lower_bound"]


@dataclass(frozen=True)
class Task:
    """One named problem: a Hamiltonian to minimise or a state to prepare.

    Attributes:
        name: the registry name it was built from.
        kind: ``"energy"`` (minimise ``hamiltonian``) or ``"state"`` (prepare
            ``target_state``).
        num_qubits: the register size.
        hamiltonian: energy tasks: the qubit Hamiltonian, constant term included.
        exact_energy: the lowest eigenvalue of ``hamiltonian`` (over the whole qubit
            space; for molecules also the FCI/CASCI energy, checked in the tests).
        lower_bound: ``-sum |c_j|`` over the non-identity terms plus the identity
            coefficient (CRLQAS's E_LB).
        target_state: state tasks: the normalised target vector (qubit 0 = least
            significant bit of the index).
        hf_state: molecules: the Hartree-Fock bitstring, qubit 0 rightmost.
        hf_energy: molecules: the Hartree-Fock energy.
        description: one line saying what the task is.
        problem: molecules: the :class:`~tasks.hamiltonians.MolecularProblem` behind the
            task (mapping, active space, ``hf_circuit()``); None otherwise.
    """

    name: str
    kind: str
    num_qubits: int
    hamiltonian: PauliSum | None = field(default=None, compare=False, repr=False)
    exact_energy: float | None = None
    lower_bound: float | None = None
    target_state: np.ndarray | None = field(default=None, compare=False, repr=False)
    hf_state: str | None = None
    hf_energy: float | None = None
    description: str = ""
    problem: object | None = field(default=None, compare=False, repr=False)

    def energy(self, state: np.ndarray) -> float:
        """<state|H|state> for an energy task (state as a vector, qubit 0 = LSB)."""
        if self.hamiltonian is None:
            raise ValueError(f"task {self.name!r} is a state task; it has no Hamiltonian")
        psi = np.asarray(state, dtype=np.complex128).reshape(-1)
        h = self.hamiltonian.to_matrix(sparse=True)
        return float(np.vdot(psi, h @ psi).real)

    def fidelity(self, state: np.ndarray) -> float:
        """|<target|state>|^2 for a state task."""
        if self.target_state is None:
            raise ValueError(f"task {self.name!r} is an energy task; it has no target state")
        psi = np.asarray(state, dtype=np.complex128).reshape(-1)
        return float(abs(np.vdot(self.target_state, psi)) ** 2)


# -- helpers ------------------------------------------------------------------------------
def _energy_task(name: str, hamiltonian: PauliSum, description: str, **extra) -> Task:
    exact = extra.pop("exact_energy", None)
    return Task(
        name=name,
        kind="energy",
        num_qubits=hamiltonian.num_qubits,
        hamiltonian=hamiltonian,
        exact_energy=ground_energy(hamiltonian) if exact is None else exact,
        lower_bound=lower_bound(hamiltonian),
        description=description,
        **extra,
    )


def _state_task(name: str, vector: np.ndarray, description: str) -> Task:
    vector = np.asarray(vector, dtype=np.complex128)
    vector = vector / np.linalg.norm(vector)
    vector.setflags(write=False)
    n = vector.size.bit_length() - 1
    return Task(name=name, kind="state", num_qubits=n, target_state=vector, description=description)


# -- factories ----------------------------------------------------------------------------
def _spin(model: str, n: int) -> Callable[..., Task]:
    from tasks import hamiltonians

    def tfim_task(J: float = 1.0, h: float = 1.0, periodic: bool = False) -> Task:
        ham = hamiltonians.tfim(n, J=J, h=h, periodic=periodic)
        bc = "periodic" if periodic else "open"
        return _energy_task(f"tfim{n}", ham, f"TFIM, {n} sites, {bc}, J={J:g}, h={h:g}")

    def heisenberg_task(J: float = 1.0, periodic: bool = False) -> Task:
        ham = hamiltonians.heisenberg(n, J=J, periodic=periodic)
        bc = "periodic" if periodic else "open"
        return _energy_task(f"heisenberg{n}", ham, f"Heisenberg XXX, {n} sites, {bc}, J={J:g}")

    def xxz_task(J: float = 1.0, delta: float = 1.0, periodic: bool = False) -> Task:
        ham = hamiltonians.xxz(n, J=J, delta=delta, periodic=periodic)
        bc = "periodic" if periodic else "open"
        return _energy_task(f"xxz{n}", ham, f"XXZ, {n} sites, {bc}, J={J:g}, delta={delta:g}")

    return {"tfim": tfim_task, "heisenberg": heisenberg_task, "xxz": xxz_task}[model]


def _ghz(n: int) -> Callable[..., Task]:
    def ghz_task() -> Task:
        vector = np.zeros(1 << n, dtype=np.complex128)
        vector[0] = vector[-1] = 1.0
        name = "bell" if n == 2 else f"ghz{n}"
        what = "Bell state (|00> + |11>)/sqrt 2" if n == 2 else f"GHZ state on {n} qubits"
        return _state_task(name, vector, what)

    return ghz_task


def _molecular(
    name: str, molecule: str, default_bond: float, description: str, **options
) -> Callable[..., Task]:
    def molecular_task(bond_length: float | None = None, basis: str = "sto-3g") -> Task:
        from tasks import hamiltonians

        length = default_bond if bond_length is None else bond_length
        problem = hamiltonians.molecule(molecule, bond_length=length, basis=basis, **options)
        return _energy_task(
            name,
            problem.hamiltonian,
            f"{description}, {length:g} A, {basis}, {problem.num_qubits} qubits",
            exact_energy=problem.qubit_ground_energy,
            hf_state=problem.hf_state,
            hf_energy=problem.hf_energy,
            problem=problem,
        )

    return molecular_task


# LiH/STO-3G: Li 1s (MO 0) frozen, the pi pair (MOs 3, 4) removed, sigma MOs 1, 2, 5
# active, as qiskit-nature's FreezeCore + remove_orbitals setting the QAS papers used
_LIH_SIGMA = (2, (1, 2, 5))

#: name -> factory(**options) -> Task
TASKS: dict[str, Callable[..., Task]] = {
    "h2": _molecular("h2", "H2", 0.735, "H2, Jordan-Wigner"),
    # CRLQAS's H2-4q: 0.70 A (its configuration's geometry H 0 0 +-0.35)
    "h2_070": _molecular("h2_070", "H2", 0.70, "H2, Jordan-Wigner (CRLQAS geometry)"),
    "h2_2q": _molecular(
        "h2_2q", "H2", 0.7414, "H2, parity mapping + two-qubit reduction",
        mapping="parity", two_qubit_reduction=True,
    ),
    "h2_3q": _molecular(
        "h2_3q", "H2", 0.7414, "H2, parity mapping, total-parity qubit tapered",
        mapping="parity", taper=1,
    ),
    "lih4": _molecular(
        "lih4", "LiH", 3.4, "LiH, (2e, 3o) sigma space, parity + two-qubit reduction",
        mapping="parity", active=_LIH_SIGMA, two_qubit_reduction=True,
    ),
    "lih6": _molecular(
        "lih6", "LiH", 2.2, "LiH, (2e, 3o) sigma space, Jordan-Wigner",
        active=_LIH_SIGMA,
    ),
    "h2o8": _molecular(
        "h2o8", "H2O", 0.9584, "H2O, (4e, 4o) active space, Jordan-Wigner",
        active=(4, 4),
    ),
    "beh2_8": _molecular(
        "beh2_8", "BeH2", 1.326, "BeH2, (4e, 4o) active space, Jordan-Wigner",
        active=(4, 4),
    ),
    "bell": _ghz(2),
}  # fmt: skip
for _n in range(2, 11):
    TASKS[f"tfim{_n}"] = _spin("tfim", _n)
    TASKS[f"heisenberg{_n}"] = _spin("heisenberg", _n)
    TASKS[f"xxz{_n}"] = _spin("xxz", _n)
for _n in range(3, 6):
    TASKS[f"ghz{_n}"] = _ghz(_n)


def available() -> list[str]:
    """The registry's task names, sorted."""
    return sorted(TASKS)


def get_task(name: str, **kwargs) -> Task:
    """Build the task registered as ``name`` with its options ``kwargs``.

    Raises:
        ValueError: an unknown name or an option the task does not take (the message
            lists the valid ones).
    """
    if not isinstance(name, str) or name not in TASKS:
        raise ValueError(f"unknown task {name!r}; available: {', '.join(available())}")
    factory = TASKS[name]
    accepted = list(inspect.signature(factory).parameters)
    unknown = sorted(set(kwargs) - set(accepted))
    if unknown:
        valid = ", ".join(accepted) if accepted else "none"
        raise ValueError(f"task {name!r} takes no option {unknown[0]!r}; valid options: {valid}")
    return factory(**kwargs)
