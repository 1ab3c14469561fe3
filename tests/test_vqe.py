"""Ansätze and VQE against outside references (qiskit circuits and states, SciPy matrix
exponentials, OpenFermion sparse operators, PySCF energies), and the ``qwb vqe`` CLI."""

from __future__ import annotations

import json
import os
import subprocess
import sys
import warnings

import numpy as np
import pytest
import scipy.linalg
from qiskit.circuit.library import efficient_su2
from qiskit.quantum_info import Operator, SparsePauliOp, Statevector

from qworkbench import Circuit, PauliSum
from tasks import get_task
from tasks.ansatz import excitations, hardware_efficient, pauli_rotation, uccsd
from tasks.hamiltonians import tfim
from tasks.vqe import VQE, VQEResult, cvar, parse_noise

CHEMICAL_ACCURACY = 1.6e-3


@pytest.fixture(autouse=True)
def _cache(tmp_path_factory, monkeypatch):
    monkeypatch.setenv("QWB_CACHE", str(tmp_path_factory.getbasetemp() / "molecules"))


def _qiskit_energy(circuit: Circuit, params, hamiltonian: PauliSum) -> float:
    bound = circuit.bind(list(params)).to_qiskit()
    return float(Statevector(bound).expectation_value(hamiltonian.to_qiskit()).real)


# -- ansätze ------------------------------------------------------------------------------
@pytest.mark.parametrize("entanglement", ["linear", "full"])
def test_hardware_efficient_equals_qiskit_efficient_su2(entanglement):
    n, layers = 3, 2
    ours = hardware_efficient(n, layers, entanglement=entanglement)
    theirs = efficient_su2(n, ["ry", "rz"], entanglement=entanglement, reps=layers)
    assert ours.num_parameters == theirs.num_parameters == 2 * n * (layers + 1)
    values = np.random.default_rng(0).uniform(-np.pi, np.pi, ours.num_parameters)
    # ours: per layer, qubit by qubit (ry, rz); qiskit: per layer all ry, then all rz
    qiskit_values = np.empty_like(values)
    for layer in range(layers + 1):
        for q in range(n):
            for r in range(2):
                qiskit_values[layer * 2 * n + r * n + q] = values[layer * 2 * n + q * 2 + r]
    bound = theirs.assign_parameters(dict(zip(theirs.parameters, qiskit_values)))
    assert Operator(ours.bind(values).to_qiskit()).equiv(Operator(bound))


def test_hardware_efficient_options_and_errors():
    ring = hardware_efficient(4, 1, rotations="ry", entangler="cz", entanglement="ring")
    assert ring.count_ops() == {"ry": 8, "cz": 4}
    hf = hardware_efficient(4, 1, initial_state="0011")
    assert [op.name for op in hf][:2] == ["x", "x"] and hf.num_parameters == 16
    with pytest.raises(ValueError, match="entangler"):
        hardware_efficient(2, 1, entangler="swap")
    with pytest.raises(ValueError, match="rotations"):
        hardware_efficient(2, 1, rotations=("u",))
    with pytest.raises(ValueError, match="initial_state"):
        hardware_efficient(2, 1, initial_state="012")


@pytest.mark.parametrize("label", ["X", "Y", "ZY", "XIZY", "YYXX"])
def test_pauli_rotation_equals_matrix_exponential(label):
    angle = 0.813
    circuit = pauli_rotation(Circuit(len(label)), label, angle)
    expected = scipy.linalg.expm(-0.5j * angle * SparsePauliOp(label).to_matrix())
    assert np.allclose(Operator(circuit.to_qiskit()).data, expected)


def test_uccsd_equals_exponentials_of_openfermion_generators():
    import openfermion as of

    n, electrons = 6, 2
    circuit = uccsd(n, electrons)
    excs = excitations(n, electrons)
    assert circuit.num_parameters == len(excs) == 4 + 4  # 4 singles, 4 spin-allowed doubles
    thetas = np.random.default_rng(1).uniform(-1, 1, len(excs))
    state = np.zeros(1 << n, dtype=complex)
    state[0b110000] = 1.0  # OpenFermion's sparse operators: qubit 0 most significant
    for theta, (occ, virt) in zip(thetas, excs):
        t = of.FermionOperator(tuple((a, 1) for a in virt) + tuple((i, 0) for i in occ[::-1]))
        generator = of.get_sparse_operator(t - of.hermitian_conjugated(t), n_qubits=n)
        state = scipy.linalg.expm(theta * generator.toarray()) @ state
    # to qubit 0 least significant: reverse the bit order of every index
    state = state.reshape([2] * n).transpose(list(reversed(range(n)))).reshape(-1)
    ours = Statevector(circuit.bind(thetas).to_qiskit()).data
    assert abs(np.vdot(state, ours)) == pytest.approx(1.0, abs=1e-10)


def test_uccsd_from_a_problem_and_refusals():
    assert uccsd(get_task("h2")).num_parameters == 3
    with pytest.raises(ValueError, match="Jordan-Wigner"):
        uccsd(get_task("h2_2q"))
    with pytest.raises(ValueError, match="molecular"):
        uccsd(get_task("tfim3"))


# -- VQE ----------------------------------------------------------------------------------
@pytest.mark.parametrize("ansatz", ["uccsd", "hea"])
def test_vqe_reaches_chemical_accuracy_on_h2(ansatz):
    task = get_task("h2")
    circuit = "uccsd" if ansatz == "uccsd" else hardware_efficient(4, 1, initial_state="0011")
    result = VQE(task, circuit, seed=0, maxiter=300).run()
    assert abs(result.energy - (-1.1373060)) < CHEMICAL_ACCURACY
    assert result.error == pytest.approx(result.energy - task.exact_energy)
    vqe = VQE(task, circuit, seed=0)
    assert _qiskit_energy(vqe.circuit, result.params, task.hamiltonian) == pytest.approx(
        result.energy, abs=1e-9
    )
    assert result.nfev == len(result.history) and result.optimizer == "l-bfgs-b"


def test_vqe_reaches_chemical_accuracy_on_lih4():
    from pyscf import gto, mcscf, scf

    mf = scf.RHF(gto.M(atom="Li 0 0 0; H 0 0 3.4", basis="sto-3g", verbose=0)).run()
    cas = mcscf.CASCI(mf, 3, 2)
    cas.verbose = 0
    e_casci = cas.kernel(cas.sort_mo([1, 2, 5], base=0))[0]
    task = get_task("lih4")
    circuit = hardware_efficient(4, 3, initial_state=task.hf_state)
    result = VQE(task, circuit, seed=0, maxiter=1000).run()
    assert result.energy - e_casci < CHEMICAL_ACCURACY
    assert result.energy >= e_casci - 1e-8  # variational
    assert _qiskit_energy(circuit, result.params, task.hamiltonian) == pytest.approx(
        result.energy, abs=1e-9
    )


def test_vqe_with_a_molecular_problem_and_a_plain_sum():
    from tasks.hamiltonians import molecule

    problem = molecule("H2", 0.735)
    result = VQE(problem, "uccsd", seed=1).run()
    assert result.exact_energy == problem.exact_energy and abs(result.error) < 1e-6
    plain = VQE(tfim(3), hardware_efficient(3, 2), seed=3, maxiter=400).run()
    assert plain.error is None
    assert plain.energy == pytest.approx(np.linalg.eigvalsh(tfim(3).to_matrix())[0], abs=1e-3)


def test_vqe_under_depolarizing_noise_matches_qiskit_aer():
    from qiskit_aer import AerSimulator
    from qiskit_aer.noise import NoiseModel, depolarizing_error

    task = get_task("h2")
    vqe = VQE(task, "uccsd", noise="depolarizing:0.002,0.01", seed=0, maxiter=30)
    result = vqe.run()
    assert result.error > 0  # noise keeps the state mixed: above the ground energy
    model = NoiseModel()
    one = ["x", "h", "rx", "rz"]
    model.add_all_qubit_quantum_error(depolarizing_error(0.002, 1), one)
    model.add_all_qubit_quantum_error(depolarizing_error(0.01, 2), ["cx"])
    qc = vqe.circuit.bind(result.params).to_qiskit()
    qc.save_density_matrix()
    rho = AerSimulator(method="density_matrix", noise_model=model).run(qc).result()
    rho = rho.data()["density_matrix"]
    expected = float(np.real(np.trace(rho.data @ task.hamiltonian.to_qiskit().to_matrix())))
    assert result.energy == pytest.approx(expected, abs=1e-9)


def test_vqe_with_shots_is_seeded_and_close():
    task = get_task("h2")
    first = VQE(task, "uccsd", shots=4000, seed=7, maxiter=80).run()
    again = VQE(task, "uccsd", shots=4000, seed=7, maxiter=80).run()
    assert first.optimizer == "spsa"
    assert np.array_equal(first.params, again.params) and first.history == again.history
    assert first.error < 0.02  # shot noise of 4000 shots, tens of mHa at worst
    assert first.objective != first.energy  # the objective is a shot estimate


def test_cvar_formula_and_vqe():
    energies = np.array([3.0, -1.0, 2.0, 0.0])
    probs = np.array([0.1, 0.2, 0.3, 0.4])
    # lowest 50%: all of -1.0 (0.2) and 0.3 of 0.0 -> (-0.2 + 0) / 0.5
    assert cvar(energies, probs, 0.5) == pytest.approx(-0.4)
    assert cvar(energies, probs, 1.0) == pytest.approx(energies @ probs)
    ising = PauliSum.from_list([("ZZI", 1.0), ("IZZ", 1.0), ("ZIZ", 0.5), ("IIZ", 0.3)])
    ground = np.linalg.eigvalsh(ising.to_matrix())[0]
    start = np.full(12, 1.0)
    result = VQE(ising, hardware_efficient(3, 1), cvar_alpha=0.3, initial_params=start).run()
    assert result.optimizer == "cobyla" and result.objective == pytest.approx(ground, abs=1e-6)
    with pytest.raises(ValueError, match="diagonal"):
        VQE(tfim(3), hardware_efficient(3, 1), cvar_alpha=0.5)


def test_vqe_rejects_bad_settings():
    task = get_task("h2")
    with pytest.raises(ValueError, match="'newton'"):
        VQE(task, "uccsd", optimizer="newton")
    with pytest.raises(ValueError, match="exact gradients"):
        VQE(task, "uccsd", optimizer="l-bfgs-b", shots=100)
    with pytest.raises(ValueError, match="depolarizing:P"):
        VQE(task, "uccsd", noise="depolarizing:1.5")
    with pytest.raises(ValueError, match="3 qubits.*4"):
        VQE(task, hardware_efficient(3, 1))
    with pytest.raises(ValueError, match="state task"):
        VQE(get_task("bell"), hardware_efficient(2, 1))
    with pytest.raises(ValueError, match="shots"):
        VQE(task, "uccsd", shots=0)
    assert parse_noise("none") is None


@pytest.fixture(scope="module")
def h2_fci():
    """H2/STO-3G at 0.735 A: PySCF's FCI energy, the reference for the defaults below."""
    from pyscf import fci, gto, scf

    mf = scf.RHF(gto.M(atom="H 0 0 0; H 0 0 0.735", basis="sto-3g", verbose=0)).run()
    return fci.FCI(mf).kernel()[0]


@pytest.mark.parametrize("optimizer", ["adam", "l-bfgs-b", "cobyla"])
def test_vqe_hea_defaults_reach_chemical_accuracy_on_h2(h2_fci, optimizer):
    # issue 16.7: adam ended at +0.503 Ha, l-bfgs-b / cobyla 20 mHa off, none warned
    from tasks.hamiltonians import molecule

    h2 = molecule("H2")
    assert np.linalg.eigvalsh(h2.hamiltonian.to_matrix())[0] == pytest.approx(h2_fci, abs=1e-6)
    with warnings.catch_warnings():
        warnings.simplefilter("error", UserWarning)  # a converged run does not warn
        result = VQE(h2, ansatz="hea", optimizer=optimizer, seed=3).run()
    assert abs(result.energy - h2_fci) < CHEMICAL_ACCURACY
    assert result.converged and result.optimizer == optimizer


@pytest.mark.parametrize(("optimizer", "maxiter"), [("adam", 5), ("cobyla", 30)])
def test_vqe_that_did_not_converge_says_so(optimizer, maxiter):
    with pytest.warns(UserWarning, match=f"VQE did not converge: {optimizer} stopped"):
        result = VQE(get_task("h2"), "hea", optimizer=optimizer, seed=3, maxiter=maxiter).run()
    assert not result.converged and result.message
    assert VQEResult.from_json(result.to_json()).converged is False


@pytest.mark.parametrize("entangler", ["cx", "cz"])
@pytest.mark.parametrize("entanglement", ["linear", "ring", "full"])
@pytest.mark.parametrize("layers", [1, 2, 3])
def test_hardware_efficient_at_zero_angles_is_its_initial_state(entangler, entanglement, layers):
    for bits in ("0011", "0101", "1110"):
        circuit = hardware_efficient(4, layers, entangler=entangler, entanglement=entanglement,
                                     initial_state=bits)  # fmt: skip
        state = Statevector(circuit.bind(np.zeros(circuit.num_parameters)).to_qiskit())
        assert state.equiv(Statevector.from_label(bits))  # Qiskit's labels: qubit 0 rightmost


def test_result_json_round_trip():
    result = VQE(tfim(2), hardware_efficient(2, 1), seed=2, maxiter=20).run()
    back = VQEResult.from_json(result.to_json())
    assert back.energy == result.energy and np.array_equal(back.params, result.params)
    assert back.history == result.history


# -- CLI ----------------------------------------------------------------------------------
@pytest.fixture
def qwb_vqe(tmp_path_factory):
    """Run ``qwb vqe ARGS`` in-process; (exit code, stdout, stderr)."""
    from typer.testing import CliRunner

    from qworkbench.cli import app

    cache = str(tmp_path_factory.getbasetemp() / "molecules")

    def run(*args: str):
        result = CliRunner().invoke(app, ["vqe", *args], env={"QWB_CACHE": cache})
        return result.exit_code, result.stdout, result.stderr

    return run


@pytest.mark.slow  # a subprocess; the CLI is checked in process by default
def test_cli_vqe_json_as_a_subprocess(tmp_path_factory):
    env = {**os.environ, "QWB_CACHE": str(tmp_path_factory.getbasetemp() / "molecules")}
    out = subprocess.run(
        [sys.executable, "-m", "qworkbench", "vqe", "--molecule", "H2", "--bond-length",
         "0.735", "--json"],
        capture_output=True, text=True, timeout=300, env=env,
    )  # fmt: skip
    assert out.returncode == 0, out.stderr
    data = json.loads(out.stdout.strip().splitlines()[-1])
    assert data["num_qubits"] == 4 and data["chemical_accuracy"] is True
    assert data["energy"] == pytest.approx(-1.1373060, abs=CHEMICAL_ACCURACY)
    assert data["exact_energy"] == pytest.approx(-1.1373060, abs=1e-6)


def test_cli_vqe_hea_on_a_task(qwb_vqe, tmp_path):
    log = tmp_path / "runs" / "vqe.jsonl"
    args = ("--task", "h2_2q", "--ansatz", "hea", "--layers", "1", "--json", "--out", str(log))
    code, stdout, stderr = qwb_vqe(*args)
    assert code == 0, stderr
    data = json.loads(stdout.strip().splitlines()[-1])
    assert data["num_qubits"] == 2 and abs(data["error"]) < CHEMICAL_ACCURACY
    assert json.loads(log.read_text().splitlines()[-1]) == data
    assert "VQE energy" in stdout


@pytest.mark.parametrize(
    "args, message",
    [
        (["--molecule", "CH4"], "unknown molecule 'CH4'"),
        (["--noise", "depolarizing:2"], "depolarizing:2"),
        (["--ansatz", "qaoa"], "--ansatz"),
        (["--task", "h2_2q"], "Jordan-Wigner"),
        (["--task", "nope"], "unknown task 'nope'"),
        (["--optimizer", "l-bfgs-b", "--shots", "10"], "exact gradients"),
        (["--active", "two,three"], "--active"),
        (["--shots", "0"], "--shots"),
    ],
)
def test_cli_vqe_bad_values_exit_2(qwb_vqe, args, message):
    code, _, stderr = qwb_vqe(*args)
    assert code == 2 and message in stderr
