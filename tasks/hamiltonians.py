"""Hamiltonians: molecules (PySCF integrals, OpenFermion mappings) and spin chains.

Molecular Hamiltonians are computed once and cached on disk as JSON (directory
``$QWB_CACHE``, default ``~/.cache/qworkbench``), keyed by a hash of every argument and
the code version; a missing or corrupt file is recomputed. Spin models are built
directly as :class:`~qworkbench.PauliSum` objects. Labels follow the workbench
convention (qubit 0 rightmost).
"""

from __future__ import annotations

import hashlib
import json
import math
import numbers
import os
import warnings
from dataclasses import dataclass, field
from pathlib import Path

import numpy as np

from qworkbench import Circuit, PauliSum, __version__

__all__ = [
    "MolecularProblem",
    "molecule",
    "MOLECULES",
    "MAPPINGS",
    "tfim",
    "heisenberg",
    "xxz",
    "ground_energy",
    "lower_bound",
    "cache_dir",
]

#: bump when the construction of a MolecularProblem changes (invalidates the cache)
_CODE_VERSION = 1
MAPPINGS = ("jordan_wigner", "parity", "bravyi_kitaev")


def _linear(*atoms):
    """Atoms along z: ``(symbol, position in units of the bond length)``."""
    return lambda d: "; ".join(f"{a} 0 0 {x * d:.10f}" for a, x in atoms)


def _water(d: float, angle: float = 104.45) -> str:
    half = math.radians(angle) / 2
    x, z = d * math.sin(half), d * math.cos(half)
    return f"O 0 0 0; H {x:.10f} 0 {z:.10f}; H {-x:.10f} 0 {z:.10f}"


#: name -> (default bond length in Angstrom, geometry(bond length), frozen-core orbitals)
MOLECULES = {
    "H2": (0.735, _linear(("H", 0), ("H", 1)), 0),
    "LiH": (1.595, _linear(("Li", 0), ("H", 1)), 1),
    "BeH2": (1.326, _linear(("H", -1), ("Be", 0), ("H", 1)), 1),
    "H2O": (0.9584, _water, 1),
}


@dataclass(frozen=True)
class MolecularProblem:
    """A molecular electronic-structure problem mapped to qubits.

    Attributes:
        name, bond_length, basis, mapping: what was asked for (bond length in Angstrom).
        hamiltonian: the qubit Hamiltonian; its identity term holds the nuclear repulsion
            and the frozen-core energy.
        num_qubits: qubits after mapping and tapering.
        n_electrons, n_orbitals: electrons and spatial orbitals of the (active) space.
        exact_energy: the lowest eigenvalue of ``hamiltonian`` restricted to the
            Hartree-Fock state's particle number and spin projection (number operators
            mapped the same way are diagonal in every mapping here); equals PySCF's
            FCI (full space) or CASCI (active space) energy.
        qubit_ground_energy: the lowest eigenvalue over the whole qubit space (below
            ``exact_energy`` only if another particle-number sector lies lower).
        hf_state: the Hartree-Fock basis state as a bitstring, qubit 0 rightmost.
        hf_energy: <HF|H|HF> (the RHF energy).
        nuclear_repulsion: the nuclei's Coulomb energy (Hartree).
        reference_energy: PySCF's FCI/CASCI energy of the same space.
        ordering: spin-orbital order before mapping: ``"interleaved"`` (alpha 0, beta 0,
            alpha 1, ...) or ``"up_then_down"`` (all alpha first; parity mapping).
        tapered: qubits removed by symmetry, as indices of the untapered register.
    """

    name: str
    bond_length: float
    basis: str
    mapping: str
    hamiltonian: PauliSum = field(compare=False, repr=False)
    num_qubits: int
    n_electrons: int
    n_orbitals: int
    exact_energy: float
    qubit_ground_energy: float
    hf_state: str
    hf_energy: float
    nuclear_repulsion: float
    reference_energy: float
    ordering: str = "interleaved"
    tapered: tuple[int, ...] = ()

    def hf_circuit(self) -> Circuit:
        """X gates preparing :attr:`hf_state` from |0...0>."""
        c = Circuit(self.num_qubits)
        for q, bit in enumerate(reversed(self.hf_state)):
            if bit == "1":
                c.x(q)
        return c

    def to_dict(self) -> dict:
        data = {k: getattr(self, k) for k in self.__dataclass_fields__ if k != "hamiltonian"}
        data["tapered"] = list(self.tapered)
        data["hamiltonian"] = [[lab, c.real] for lab, c in self.hamiltonian.to_list()]
        return data

    @classmethod
    def from_dict(cls, data: dict) -> MolecularProblem:
        data = dict(data)
        terms = [(str(lab), float(c)) for lab, c in data.pop("hamiltonian")]
        hamiltonian = PauliSum.from_list(terms, num_qubits=int(data["num_qubits"]))
        data["tapered"] = tuple(int(q) for q in data["tapered"])
        return cls(hamiltonian=hamiltonian, **data)


# -- public helpers ----------------------------------------------------------------------
def lower_bound(hamiltonian: PauliSum) -> float:
    """``-sum |c_j|`` over the non-identity terms plus the identity coefficient.

    Examples:
        >>> lower_bound(tfim(3, h=0.5))
        -3.5
    """
    h = hamiltonian.simplify()
    identity = np.all(h.x == 0, axis=1) & np.all(h.z == 0, axis=1)
    return float(h.coeffs[identity].real.sum() - np.abs(h.coeffs[~identity]).sum())


def ground_energy(hamiltonian: PauliSum) -> float:
    """The lowest eigenvalue: dense up to 8 qubits, sparse Lanczos (eigsh) above."""
    return _lowest(hamiltonian.to_matrix(sparse=True))


def _lowest(matrix) -> float:
    """Lowest eigenvalue of a Hermitian scipy.sparse matrix (real arithmetic when the
    matrix is real; a fixed start vector keeps Lanczos deterministic)."""
    import scipy.sparse.linalg

    if not np.any(matrix.data.imag):
        matrix = matrix.real
    dim = matrix.shape[0]
    if dim <= 256:
        return float(np.linalg.eigvalsh(matrix.toarray())[0])
    start = np.random.default_rng(0).random(dim)
    return float(scipy.sparse.linalg.eigsh(matrix, k=1, which="SA", v0=start)[0][0])


def cache_dir() -> Path:
    """Where molecular problems are cached: ``$QWB_CACHE`` or ``~/.cache/qworkbench``."""
    env = os.environ.get("QWB_CACHE")
    return Path(env) if env else Path.home() / ".cache" / "qworkbench"


def _check_chain(n, periodic) -> int:
    if isinstance(n, bool) or not isinstance(n, numbers.Integral):
        raise TypeError(f"n must be an integer number of sites, got {n!r}")
    if n < 2:
        raise ValueError(f"a spin chain needs at least 2 sites, got n={n}")
    if periodic and n < 3:
        raise ValueError(f"a periodic chain needs at least 3 sites, got n={n}")
    return int(n)


def _check_real(value, name: str) -> float:
    if isinstance(value, bool) or not isinstance(value, numbers.Real):
        raise TypeError(f"{name} must be a real number, got {value!r}")
    value = float(value)
    if value != value or value in (float("inf"), float("-inf")):
        raise ValueError(f"{name} must be finite, got {value!r}")
    return value


def _bonds(n: int, periodic: bool) -> list[tuple[int, int]]:
    bonds = [(i, i + 1) for i in range(n - 1)]
    return bonds + [(n - 1, 0)] if periodic else bonds


def tfim(n: int, J: float = 1.0, h: float = 1.0, periodic: bool = False) -> PauliSum:
    """Transverse-field Ising chain H = -J sum Z_i Z_{i+1} - h sum X_i.

    Examples:
        >>> tfim(2).to_list()
        [('ZZ', (-1+0j)), ('IX', (-1+0j)), ('XI', (-1+0j))]
    """
    n = _check_chain(n, periodic)
    J, h = _check_real(J, "J"), _check_real(h, "h")
    terms = [("ZZ", (i, j), -J) for i, j in _bonds(n, periodic)]
    terms += [("X", (i,), -h) for i in range(n)]
    return PauliSum.from_sparse_list(terms, n)


def xxz(n: int, J: float = 1.0, delta: float = 1.0, periodic: bool = False) -> PauliSum:
    """XXZ chain H = J sum (X_i X_{i+1} + Y_i Y_{i+1} + delta Z_i Z_{i+1}).

    Examples:
        >>> len(xxz(4, delta=0.5)), xxz(3, periodic=True).num_qubits
        (9, 3)
    """
    n = _check_chain(n, periodic)
    J, delta = _check_real(J, "J"), _check_real(delta, "delta")
    terms = []
    for i, j in _bonds(n, periodic):
        terms += [("XX", (i, j), J), ("YY", (i, j), J), ("ZZ", (i, j), J * delta)]
    return PauliSum.from_sparse_list(terms, n)


def heisenberg(n: int, J: float = 1.0, periodic: bool = False) -> PauliSum:
    """Heisenberg (XXX) chain H = J sum (X X + Y Y + Z Z) over neighbouring sites.

    Examples:
        >>> import numpy as np
        >>> round(float(np.linalg.eigvalsh(heisenberg(2).to_matrix())[0]), 10)
        -3.0
    """
    return xxz(n, J=J, delta=1.0, periodic=periodic)


# -- molecules ----------------------------------------------------------------------------
def _canonical_name(name) -> str:
    if isinstance(name, str):
        for known in MOLECULES:
            if known.lower() == name.strip().lower():
                return known
    raise ValueError(f"unknown molecule {name!r}; available: {', '.join(MOLECULES)}")


def _check_active(active):
    """``(n_electrons, n_orbitals)`` or ``(n_electrons, [MO indices])`` -> canonical form."""
    if active is None:
        return None
    if not isinstance(active, tuple | list) or len(active) != 2:
        raise ValueError(f"active must be (n_electrons, n_orbitals), got {active!r}")
    ne, orbitals = active
    if isinstance(ne, bool) or not isinstance(ne, numbers.Integral) or ne < 0:
        raise ValueError(f"active: the number of electrons must be >= 0, got {ne!r}")
    if isinstance(orbitals, numbers.Integral) and not isinstance(orbitals, bool):
        if orbitals < 1:
            raise ValueError(f"active: the number of orbitals must be >= 1, got {orbitals}")
        return (int(ne), int(orbitals))
    if isinstance(orbitals, tuple | list) and orbitals:
        if any(isinstance(o, bool) or not isinstance(o, numbers.Integral) for o in orbitals):
            raise ValueError(f"active: orbital indices must be integers, got {orbitals!r}")
        if len(set(orbitals)) != len(orbitals) or min(orbitals) < 0:
            raise ValueError(f"active: orbital indices must be distinct and >= 0: {orbitals!r}")
        return (int(ne), sorted(int(o) for o in orbitals))
    raise ValueError(f"active: orbitals must be a count or a list of indices, got {orbitals!r}")


def molecule(
    name: str,
    bond_length: float | None = None,
    basis: str = "sto-3g",
    mapping: str = "jordan_wigner",
    active=None,
    frozen_core: bool = False,
    two_qubit_reduction: bool = False,
    taper: int | None = None,
) -> MolecularProblem:
    """A molecule's electronic Hamiltonian on qubits, from PySCF integrals (RHF orbitals).

    Args:
        name: ``H2``, ``LiH``, ``BeH2`` or ``H2O`` (case-insensitive); see :data:`MOLECULES`
            for the geometries (along z; H2O at 104.45 degrees).
        bond_length: the X-H distance in Angstrom (default: the molecule's equilibrium).
        basis: a PySCF basis name.
        mapping: ``jordan_wigner``, ``parity`` or ``bravyi_kitaev`` (OpenFermion).
        active: ``(n_electrons, n_orbitals)`` for the orbitals around the Fermi level,
            or ``(n_electrons, [MO indices])`` (0-based); the remaining electrons fill
            the lowest other orbitals as a frozen core (PySCF CASCI integrals).
        frozen_core: freeze the chemical core (Li/Be/O 1s) when ``active`` is not given.
        two_qubit_reduction: parity mapping only: remove the two qubits holding the
            alpha-electron parity and the total parity (spin orbitals ordered all-alpha
            first), fixing them to the Hartree-Fock values. Same as ``taper=2``.
        taper: parity mapping only: 1 removes the total-parity qubit, 2 both.

    Raises:
        ValueError: an unknown molecule, mapping or basis, or an inconsistent space.

    Examples:
        >>> import os, tempfile
        >>> os.environ["QWB_CACHE"] = tempfile.mkdtemp()
        >>> h2 = molecule("H2", 0.735)
        >>> h2.num_qubits, h2.hf_state, round(h2.exact_energy, 6)
        (4, '0011', -1.137306)
        >>> molecule("h2", 0.7414, mapping="parity", two_qubit_reduction=True).num_qubits
        2
    """
    name = _canonical_name(name)
    default_bond, _, _ = MOLECULES[name]
    bond = default_bond if bond_length is None else bond_length
    if isinstance(bond, bool) or not isinstance(bond, numbers.Real) or not 0 < bond < 100:
        raise ValueError(f"bond_length must be a positive distance in Angstrom, got {bond!r}")
    if not isinstance(basis, str) or not basis:
        raise ValueError(f"basis must be a basis-set name, got {basis!r}")
    if mapping not in MAPPINGS:
        raise ValueError(f"unknown mapping {mapping!r}; available: {', '.join(MAPPINGS)}")
    if two_qubit_reduction:
        if taper not in (None, 2):
            raise ValueError(f"two_qubit_reduction=True conflicts with taper={taper!r}")
        taper = 2
    taper = 0 if taper is None else taper
    if taper not in (0, 1, 2):
        raise ValueError(f"taper must be 0, 1 or 2 qubits, got {taper!r}")
    if taper and mapping != "parity":
        raise ValueError(f"qubit tapering needs mapping='parity', got mapping={mapping!r}")
    args = {
        "name": name,
        "bond_length": round(float(bond), 10),
        "basis": basis.lower(),
        "mapping": mapping,
        "active": _check_active(active),
        "frozen_core": bool(frozen_core),
        "taper": taper,
    }
    return _cached(args)


_MEMORY: dict[str, MolecularProblem] = {}


def _cached(args: dict) -> MolecularProblem:
    text = json.dumps({"args": args, "code": _CODE_VERSION, "version": __version__}, sort_keys=True)
    key = hashlib.sha256(text.encode()).hexdigest()[:32]
    if key in _MEMORY:
        return _MEMORY[key]
    path = cache_dir() / f"molecule-{key}.json"
    problem = None
    try:
        with open(path) as fh:
            stored = json.load(fh)
        if stored.get("args") == json.loads(json.dumps(args)):
            problem = MolecularProblem.from_dict(stored["problem"])
    except FileNotFoundError:
        pass
    except Exception as exc:  # a corrupt or foreign file: recompute and overwrite
        warnings.warn(f"ignoring unreadable cache file {path}: {exc}", stacklevel=3)
    if problem is None:
        problem = _build(**args)
        _write_atomic(path, {"args": args, "problem": problem.to_dict()})
    _MEMORY[key] = problem
    return problem


def _write_atomic(path: Path, data: dict) -> None:
    """Write JSON to a temporary file in the same directory, then rename it into place."""
    from qworkbench.utils import atomic_write

    try:
        atomic_write(path, json.dumps(data))
    except OSError as exc:  # an unwritable cache only costs recomputation
        warnings.warn(f"could not write cache file {path}: {exc}", stacklevel=4)


def _diagonal(op: PauliSum) -> np.ndarray:
    """The diagonal of a Z-only operator as a real vector over basis states."""
    op = op.simplify()
    if np.any(op.x):
        raise ValueError("expected a diagonal (Z-only) operator")
    index = np.arange(1 << op.num_qubits, dtype=np.uint64)
    out = np.zeros(index.size)
    for z, c in zip(op.z[:, 0], op.coeffs.real):
        out += c * (1.0 - 2.0 * (np.bitwise_count(index & z) & 1))
    return out


def _build(**args) -> MolecularProblem:
    from tasks._molecular import build

    return build(**args)
