"""Molecular and spin Hamiltonians against PySCF (RHF, FCI, CASCI), dense NumPy/SciPy
diagonalisation and qiskit; the on-disk cache."""

from __future__ import annotations

import json
import warnings
from functools import reduce

import numpy as np
import pytest
from qiskit.quantum_info import SparsePauliOp, Statevector

from tasks import get_task, hamiltonians
from tasks.hamiltonians import heisenberg, molecule, tfim, xxz

H2_FCI_0735 = -1.1373060  # PySCF FCI, H2/STO-3G at 0.735 Angstrom (issue 6)


@pytest.fixture(autouse=True)
def _cache(tmp_path_factory, monkeypatch):
    """Every test caches into a temporary directory shared by this module."""
    monkeypatch.setenv("QWB_CACHE", str(tmp_path_factory.getbasetemp() / "molecules"))


def _pyscf(atom: str, ncas=None, nelecas=None, orbitals=None):
    """(RHF energy, FCI or CASCI energy) computed with PySCF directly."""
    from pyscf import fci, gto, mcscf, scf

    mol = gto.M(atom=atom, basis="sto-3g", verbose=0)
    mf = scf.RHF(mol).run(conv_tol=1e-11)
    if ncas is None:
        return mf.e_tot, fci.FCI(mf).kernel()[0]
    cas = mcscf.CASCI(mf, ncas, nelecas)
    cas.verbose = 0
    mo = cas.sort_mo(orbitals, base=0) if orbitals is not None else mf.mo_coeff
    return mf.e_tot, cas.kernel(mo)[0]


def _dense_ground(problem_or_sum) -> float:
    ham = getattr(problem_or_sum, "hamiltonian", problem_or_sum)
    return float(np.linalg.eigvalsh(ham.to_qiskit().to_matrix())[0])


def _hf_expectation(problem) -> float:
    """<HF|H|HF> with the HF circuit and Hamiltonian run through qiskit."""
    state = Statevector(problem.hf_circuit().to_qiskit())
    return float(state.expectation_value(problem.hamiltonian.to_qiskit()).real)


# -- molecules ----------------------------------------------------------------------------
def test_h2_jordan_wigner_matches_pyscf_fci():
    problem = molecule("H2", 0.735)
    e_hf, e_fci = _pyscf("H 0 0 0; H 0 0 0.735")
    assert problem.num_qubits == 4 and problem.mapping == "jordan_wigner"
    assert problem.exact_energy == pytest.approx(H2_FCI_0735, abs=5e-7)
    assert problem.exact_energy == pytest.approx(e_fci, abs=1e-8)
    assert problem.exact_energy == pytest.approx(_dense_ground(problem), abs=1e-8)
    assert problem.hf_state == "0011"
    assert problem.hf_energy == pytest.approx(e_hf, abs=1e-8)
    assert _hf_expectation(problem) == pytest.approx(e_hf, abs=1e-8)
    # the identity term holds the nuclear repulsion: 1/R in Hartree atomic units
    assert problem.nuclear_repulsion == pytest.approx(0.529177210903 / 0.735, rel=1e-8)
    assert problem.hamiltonian.is_hermitian()


@pytest.mark.parametrize("mapping", ["parity", "bravyi_kitaev"])
def test_h2_other_mappings_have_the_same_spectrum(mapping):
    jw = molecule("H2", 0.735)
    other = molecule("H2", 0.735, mapping=mapping)
    spectrum = np.linalg.eigvalsh(jw.hamiltonian.to_qiskit().to_matrix())
    assert np.allclose(np.linalg.eigvalsh(other.hamiltonian.to_qiskit().to_matrix()), spectrum)
    assert _hf_expectation(other) == pytest.approx(jw.hf_energy, abs=1e-9)


@pytest.mark.parametrize("taper, qubits", [(2, 2), (1, 3)])
def test_h2_tapered_ground_equals_fci(taper, qubits):
    problem = molecule("H2", 0.7414, mapping="parity", taper=taper)
    e_hf, e_fci = _pyscf("H 0 0 0; H 0 0 0.7414")
    assert problem.num_qubits == qubits
    assert _dense_ground(problem) == pytest.approx(e_fci, abs=1e-8)
    assert problem.exact_energy == pytest.approx(e_fci, abs=1e-8)
    assert _hf_expectation(problem) == pytest.approx(e_hf, abs=1e-8)


def test_lih_full_space_matches_pyscf_fci():
    problem = molecule("LiH", 1.595)
    e_hf, e_fci = _pyscf("Li 0 0 0; H 0 0 1.595")
    assert problem.num_qubits == 12
    assert problem.exact_energy == pytest.approx(e_fci, abs=1e-7)
    assert problem.hf_energy == pytest.approx(e_hf, abs=1e-8)
    # the whole 12-qubit space has no lower state than the 4-electron singlet sector
    assert problem.qubit_ground_energy == pytest.approx(e_fci, abs=1e-7)


def test_lih_frozen_core_matches_casci():
    problem = molecule("LiH", 1.595, frozen_core=True)
    _, e_cas = _pyscf("Li 0 0 0; H 0 0 1.595", ncas=5, nelecas=2)
    assert problem.num_qubits == 10 and problem.exact_energy == pytest.approx(e_cas, abs=1e-8)


def test_lih4_parity_reduced_ground_equals_casci():
    problem = molecule(
        "LiH", 3.4, mapping="parity", active=(2, [1, 2, 5]), two_qubit_reduction=True
    )
    e_hf, e_cas = _pyscf("Li 0 0 0; H 0 0 3.4", ncas=3, nelecas=2, orbitals=[1, 2, 5])
    assert problem.num_qubits == 4
    assert _dense_ground(problem) == pytest.approx(e_cas, abs=1e-8)
    assert _hf_expectation(problem) == pytest.approx(e_hf, abs=1e-8)


def test_lih6_active_space_equals_casci():
    problem = molecule("LiH", 2.2, active=(2, [1, 2, 5]))
    _, e_cas = _pyscf("Li 0 0 0; H 0 0 2.2", ncas=3, nelecas=2, orbitals=[1, 2, 5])
    assert problem.num_qubits == 6
    assert problem.exact_energy == pytest.approx(e_cas, abs=1e-8)
    assert _dense_ground(problem) == pytest.approx(e_cas, abs=1e-8)


def test_h2o_active_space_equals_casci():
    problem = molecule("H2O", active=(4, 4))
    half = np.radians(104.45) / 2
    x, z = 0.9584 * np.sin(half), 0.9584 * np.cos(half)
    e_hf, e_cas = _pyscf(f"O 0 0 0; H {x} 0 {z}; H {-x} 0 {z}", ncas=4, nelecas=4)
    assert problem.num_qubits == 8
    assert problem.exact_energy == pytest.approx(e_cas, abs=1e-8)
    assert _hf_expectation(problem) == pytest.approx(e_hf, abs=1e-8)


def test_beh2_active_space_equals_casci():
    problem = molecule("BeH2", active=(4, 4))
    _, e_cas = _pyscf("H 0 0 -1.326; Be 0 0 0; H 0 0 1.326", ncas=4, nelecas=4)
    assert problem.num_qubits == 8 and problem.exact_energy == pytest.approx(e_cas, abs=1e-8)


def test_bad_arguments_name_the_value():
    with pytest.raises(ValueError, match="'CH4'.*H2, LiH"):
        molecule("CH4")
    with pytest.raises(ValueError, match="'jw'.*jordan_wigner"):
        molecule("H2", mapping="jw")
    with pytest.raises(ValueError, match="parity"):
        molecule("H2", two_qubit_reduction=True)
    with pytest.raises(ValueError, match="bond_length.*-1"):
        molecule("H2", bond_length=-1.0)
    with pytest.raises(ValueError, match="does not fit"):
        molecule("H2", active=(4, 2))
    with warnings.catch_warnings(), pytest.raises(ValueError, match="'no-such-basis'"):
        warnings.simplefilter("ignore")  # PySCF suggests basis-set-exchange
        molecule("H2", basis="no-such-basis")


# -- cache --------------------------------------------------------------------------------
def test_cache_round_trip_and_corrupt_file(tmp_path, monkeypatch):
    monkeypatch.setenv("QWB_CACHE", str(tmp_path))
    monkeypatch.setattr(hamiltonians, "_MEMORY", {})
    first = molecule("H2", 0.9)
    files = list(tmp_path.iterdir())
    assert len(files) == 1 and files[0].suffix == ".json"  # no temporary file left behind
    json.loads(files[0].read_text())

    def no_build(**_):
        raise AssertionError("recomputed although the cache holds the result")

    monkeypatch.setattr(hamiltonians, "_MEMORY", {})
    monkeypatch.setattr(hamiltonians, "_build", no_build)
    again = molecule("H2", 0.9)
    assert again == first and again.hamiltonian.equiv(first.hamiltonian)

    files[0].write_text('{"args": {"name": "H2"}, "problem": {"hamil')  # truncated
    monkeypatch.undo()
    monkeypatch.setenv("QWB_CACHE", str(tmp_path))
    monkeypatch.setattr(hamiltonians, "_MEMORY", {})
    with pytest.warns(UserWarning, match="unreadable cache"):
        recovered = molecule("H2", 0.9)
    assert recovered == first
    json.loads(files[0].read_text())  # rewritten whole


def test_unwritable_cache_only_warns(tmp_path, monkeypatch):
    blocker = tmp_path / "file"
    blocker.write_text("not a directory")
    monkeypatch.setenv("QWB_CACHE", str(blocker / "sub"))
    monkeypatch.setattr(hamiltonians, "_MEMORY", {})
    with warnings.catch_warnings(record=True) as caught:
        warnings.simplefilter("always")
        problem = molecule("H2", 1.0)
    assert problem.num_qubits == 4
    assert any("could not write cache" in str(w.message) for w in caught)


# -- spin models --------------------------------------------------------------------------
_P = {
    "I": np.eye(2),
    "X": np.array([[0, 1], [1, 0]]),
    "Y": np.array([[0, -1j], [1j, 0]]),
    "Z": np.diag([1.0, -1.0]),
}


def _op(n, ops: dict[int, str]) -> np.ndarray:
    """Kronecker product with qubit 0 as the least significant factor."""
    return reduce(np.kron, [_P[ops.get(q, "I")] for q in reversed(range(n))])


def _bonds(n, periodic):
    return [(i, (i + 1) % n) for i in range(n if periodic else n - 1)]


@pytest.mark.parametrize("n, J, h, periodic", [(2, 1.0, 1.0, False), (5, 0.7, 1.3, False),
                                               (6, 1.0, 0.5, True)])  # fmt: skip
def test_tfim_matches_dense_diagonalisation(n, J, h, periodic):
    dense = sum(-J * _op(n, {i: "Z", j: "Z"}) for i, j in _bonds(n, periodic))
    dense = dense + sum(-h * _op(n, {i: "X"}) for i in range(n))
    ham = tfim(n, J=J, h=h, periodic=periodic)
    assert np.allclose(ham.to_matrix(), dense)
    expected = np.linalg.eigvalsh(dense)[0]
    assert hamiltonians.ground_energy(ham) == pytest.approx(expected, abs=1e-9)


@pytest.mark.parametrize("n, periodic", [(4, False), (5, True)])
def test_heisenberg_and_xxz_match_dense_diagonalisation(n, periodic):
    for delta in (1.0, 0.4):
        dense = sum(
            _op(n, {i: p, j: p}) * (delta if p == "Z" else 1.0)
            for i, j in _bonds(n, periodic)
            for p in "XYZ"
        )
        ham = xxz(n, J=1.0, delta=delta, periodic=periodic)
        assert np.allclose(ham.to_matrix(), dense)
        assert hamiltonians.ground_energy(ham) == pytest.approx(np.linalg.eigvalsh(dense)[0])
    assert heisenberg(n, periodic=periodic).equiv(xxz(n, periodic=periodic))


def test_ground_energy_sparse_path_matches_dense():
    import scipy.sparse.linalg

    ham = tfim(11, h=0.8)
    sparse = ham.to_qiskit().to_matrix(sparse=True)
    expected = scipy.sparse.linalg.eigsh(sparse, k=1, which="SA", tol=1e-12)[0][0]
    assert hamiltonians.ground_energy(ham) == pytest.approx(expected, abs=1e-8)


def test_spin_model_arguments_are_checked():
    with pytest.raises(ValueError, match="n=1"):
        tfim(1)
    with pytest.raises(TypeError, match="h must be a real number"):
        tfim(3, h="strong")
    with pytest.raises(ValueError, match="periodic"):
        heisenberg(2, periodic=True)


# -- registry: molecular tasks ------------------------------------------------------------
@pytest.mark.parametrize(
    "name, qubits",
    [("h2", 4), ("h2_2q", 2), ("h2_3q", 3), ("lih4", 4), ("lih6", 6), ("h2o8", 8)],
)
def test_molecular_tasks_are_consistent(name, qubits):
    task = get_task(name)
    op = task.hamiltonian.to_qiskit().simplify()
    assert task.kind == "energy" and task.num_qubits == qubits == op.num_qubits
    assert task.exact_energy == pytest.approx(np.linalg.eigvalsh(op.to_matrix())[0], abs=1e-8)
    identity = sum(c for p, c in zip(op.paulis.to_labels(), op.coeffs) if set(p) == {"I"})
    others = sum(abs(c) for p, c in zip(op.paulis.to_labels(), op.coeffs) if set(p) != {"I"})
    assert task.lower_bound == pytest.approx(identity.real - others)
    assert task.lower_bound <= task.exact_energy <= task.hf_energy
    basis = Statevector.from_label(task.hf_state)
    assert basis.expectation_value(op).real == pytest.approx(task.hf_energy, abs=1e-9)
    assert task.target_state is None and str(qubits) in task.description


def test_h2_task_energy_and_bond_length_option():
    assert get_task("h2").exact_energy == pytest.approx(H2_FCI_0735, abs=5e-7)
    stretched = get_task("h2", bond_length=1.5)
    _, e_fci = _pyscf("H 0 0 0; H 0 0 1.5")
    assert stretched.exact_energy == pytest.approx(e_fci, abs=1e-8)
    ham = SparsePauliOp.from_list([(lab, c) for lab, c in stretched.hamiltonian.to_list()])
    assert ham.num_qubits == 4
