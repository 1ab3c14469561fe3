"""The PySCF + OpenFermion construction behind :func:`tasks.hamiltonians.molecule`.

Imported only when a molecule is computed (not found in the cache).
"""

from __future__ import annotations

import warnings

import numpy as np

from qworkbench import PauliSum
from tasks.hamiltonians import MOLECULES, MolecularProblem, _diagonal, _lowest, ground_energy

__all__ = ["build"]


def _taper(op: PauliSum, values: dict[int, int]) -> PauliSum:
    """Replace Z_q by its eigenvalue ``values[q]`` (+1/-1) and drop qubit q."""
    n = op.num_qubits
    keep = [n - 1 - q for q in range(n - 1, -1, -1) if q not in values]
    terms = []
    for label, coeff in op.to_list():
        for q, sign in values.items():
            ch = label[n - 1 - q]
            if ch in "XY":
                raise ValueError(f"term {label} does not commute with Z on qubit {q}")
            if ch == "Z":
                coeff *= sign
        terms.append(("".join(label[i] for i in keep), coeff))
    return PauliSum.from_list(terms, num_qubits=n - len(values)).simplify()


def build(name, bond_length, basis, mapping, active, frozen_core, taper) -> MolecularProblem:
    """Compute a :class:`MolecularProblem` (the uncached work of ``molecule``)."""
    import openfermion as of
    from openfermion.chem.molecular_data import spinorb_from_spatial
    from pyscf import ao2mo, gto, mcscf, scf

    _, geometry, n_core = MOLECULES[name]
    try:
        mol = gto.M(atom=geometry(bond_length), basis=basis, unit="Angstrom", verbose=0)
    except (KeyError, RuntimeError, ValueError) as exc:
        raise ValueError(f"PySCF cannot build {name} in basis {basis!r}: {exc}") from exc
    mf = scf.RHF(mol)
    mf.conv_tol = 1e-11
    mf.kernel()
    if not mf.converged:
        warnings.warn(f"RHF did not converge for {name} at {bond_length} A", stacklevel=4)
    n_mo, n_elec = mf.mo_coeff.shape[1], mol.nelectron
    if active is None:
        ncore = n_core if frozen_core else 0
        ne, orbitals = n_elec - 2 * ncore, n_mo - ncore
    else:
        ne, orbitals = active
    count = orbitals if isinstance(orbitals, int) else len(orbitals)
    ncore, odd = divmod(n_elec - ne, 2)
    if odd or ncore < 0 or ne > 2 * count or ncore + count > n_mo:
        raise ValueError(
            f"active space ({ne} electrons, {count} orbitals) does not fit {name}: "
            f"{n_elec} electrons in {n_mo} orbitals"
        )
    if not isinstance(orbitals, int) and max(orbitals) >= n_mo:
        raise ValueError(f"active orbital {max(orbitals)} out of range: {name} has {n_mo}")
    cas = mcscf.CASCI(mf, count, ne)
    cas.verbose = 0
    mo = mf.mo_coeff if isinstance(orbitals, int) else cas.sort_mo(orbitals, base=0)
    h1, ecore = cas.get_h1eff(mo)
    h2 = ao2mo.restore(1, cas.get_h2eff(mo), count)
    reference = float(cas.kernel(mo)[0])

    # spin orbitals interleaved (2p alpha, 2p + 1 beta); h2 is chemists' (pq|rs)
    one, two = spinorb_from_spatial(h1, np.asarray(h2.transpose(0, 2, 3, 1), order="C"))
    fermion = of.get_fermion_operator(of.InteractionOperator(float(ecore), one, 0.5 * two))
    modes = 2 * count
    number = [of.FermionOperator(((p, 1), (p, 0))) for p in range(modes)]
    alpha = [p % 2 == 0 for p in range(modes)]
    ordering = "interleaved"
    if mapping == "parity":
        # all alpha first, so that qubits count-1 and 2*count-1 hold the alpha and total
        # parities (the Z2 symmetries two-qubit reduction removes)
        ordering = "up_then_down"
        fermion = of.reorder(fermion, of.up_then_down, num_modes=modes)
        number = [of.reorder(op, of.up_then_down, num_modes=modes) for op in number]
        code = of.parity_code(modes)
        transform = lambda op: of.binary_code_transform(op, code)  # noqa: E731
    elif mapping == "bravyi_kitaev":
        transform = lambda op: of.bravyi_kitaev(op, n_qubits=modes)  # noqa: E731
    else:
        transform = of.jordan_wigner

    def to_pauli(op) -> PauliSum:
        qubit_op = transform(op)
        qubit_op.compress(1e-12)
        terms = [
            ("".join(p for _, p in term), [q for q, _ in term], float(np.real(c)))
            for term, c in qubit_op.terms.items()
        ]
        return PauliSum.from_sparse_list(terms, modes).simplify()

    hamiltonian = to_pauli(fermion)
    occupations = np.array([_diagonal(to_pauli(op)) for op in number])  # (modes, 2**modes)
    n_alpha = n_beta = ne // 2
    hf_occ = np.array([(p // 2 < n_alpha) for p in range(modes)], dtype=float)
    hf_index = int(np.flatnonzero(np.all(np.abs(occupations - hf_occ[:, None]) < 1e-9, 0))[0])

    tapered: tuple[int, ...] = ()
    if taper:
        tapered = (2 * count - 1,) if taper == 1 else (count - 1, 2 * count - 1)
        values = {q: 1 - 2 * ((hf_index >> q) & 1) for q in tapered}
        hamiltonian = _taper(hamiltonian, values)
        kept = [q for q in range(modes) if q not in tapered]
        hf_index = sum(((hf_index >> q) & 1) << k for k, q in enumerate(kept))
        occupations = np.array([_diagonal(_taper(to_pauli(op), values)) for op in number])
    n = hamiltonian.num_qubits
    particles = occupations.sum(axis=0)
    spin = occupations[alpha].sum(axis=0) - occupations[~np.array(alpha)].sum(axis=0)
    sector = np.flatnonzero(
        (np.abs(particles - ne) < 1e-9) & (np.abs(spin - n_alpha + n_beta) < 1e-9)
    )
    matrix = hamiltonian.to_matrix(sparse=True)
    exact = _lowest(matrix[sector][:, sector])
    return MolecularProblem(
        name=name,
        bond_length=bond_length,
        basis=basis,
        mapping=mapping,
        hamiltonian=hamiltonian,
        num_qubits=n,
        n_electrons=ne,
        n_orbitals=count,
        exact_energy=exact,
        qubit_ground_energy=min(exact, ground_energy(hamiltonian)),
        hf_state=format(hf_index, f"0{n}b"),
        hf_energy=float(matrix[hf_index, hf_index].real),
        nuclear_repulsion=float(mol.energy_nuc()),
        reference_energy=reference,
        ordering=ordering,
        tapered=tapered,
    )
