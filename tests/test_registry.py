"""The task registry: names, options, and each task's fields against outside references."""

from __future__ import annotations

import subprocess
import sys

import numpy as np
import pytest
import scipy.sparse.linalg
from qiskit import QuantumCircuit
from qiskit.quantum_info import SparsePauliOp, Statevector

from tasks import Task, available, get_task


def test_available_is_sorted_and_has_the_qas_names():
    names = available()
    assert names == sorted(names)
    for name in ["h2", "h2_2q", "h2_3q", "lih4", "lih6", "h2o8", "bell", "ghz3", "ghz5"]:
        assert name in names
    for n in range(2, 11):
        assert f"tfim{n}" in names and f"heisenberg{n}" in names


def test_import_is_light():
    code = (
        "import sys, tasks; tasks.get_task('tfim4'); tasks.get_task('bell');"
        "print(sorted(m for m in ('pyscf', 'openfermion', 'torch') if m in sys.modules))"
    )
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True)
    assert out.stdout.strip() == "[]"


def test_unknown_name_lists_the_valid_ones():
    with pytest.raises(ValueError, match="'tfim44'.*available: .*tfim4"):
        get_task("tfim44")


def test_unknown_option_names_it_and_lists_the_valid_ones():
    with pytest.raises(ValueError, match="'g'.*valid options: J, h, periodic"):
        get_task("tfim4", g=2.0)
    with pytest.raises(ValueError, match="'h'.*valid options: none"):
        get_task("bell", h=1.0)


def _qiskit_ground(labels_coeffs):
    op = SparsePauliOp.from_list(labels_coeffs)
    return float(scipy.sparse.linalg.eigsh(op.to_matrix(sparse=True), k=1, which="SA")[0][0])


@pytest.mark.parametrize("n", [2, 4, 7])
@pytest.mark.parametrize("h", [0.5, 1.0])
def test_tfim_task_matches_qiskit_diagonalisation(n, h):
    task = get_task(f"tfim{n}", h=h)
    terms = []
    for i in range(n - 1):
        label = ["I"] * n
        label[n - 1 - i] = label[n - 2 - i] = "Z"
        terms.append(("".join(label), -1.0))
    for i in range(n):
        label = ["I"] * n
        label[n - 1 - i] = "X"
        terms.append(("".join(label), -h))
    assert task.kind == "energy" and task.num_qubits == n
    assert task.exact_energy == pytest.approx(_qiskit_ground(terms), abs=1e-9)
    assert task.lower_bound == pytest.approx(-(n - 1) - h * n)
    assert task.target_state is None and task.hf_state is None


def test_heisenberg_task_matches_qiskit_diagonalisation():
    n = 5
    terms = []
    for i in range(n - 1):
        for p in "XYZ":
            label = ["I"] * n
            label[n - 1 - i] = label[n - 2 - i] = p
            terms.append(("".join(label), 1.0))
    task = get_task("heisenberg5")
    assert task.exact_energy == pytest.approx(_qiskit_ground(terms), abs=1e-9)
    assert task.lower_bound == pytest.approx(-3.0 * (n - 1))


@pytest.mark.parametrize("name, n", [("bell", 2), ("ghz3", 3), ("ghz4", 4), ("ghz5", 5)])
def test_state_tasks_equal_qiskit_ghz_states(name, n):
    qc = QuantumCircuit(n)
    qc.h(0)
    for q in range(1, n):
        qc.cx(0, q)
    target = Statevector(qc).data
    task = get_task(name)
    assert isinstance(task, Task)
    assert task.kind == "state" and task.num_qubits == n and task.hamiltonian is None
    assert np.allclose(task.target_state, target)
    assert task.fidelity(target) == pytest.approx(1.0)
    with pytest.raises(ValueError, match="state task"):
        task.energy(target)


def test_energy_of_a_state_is_the_qiskit_expectation():
    task = get_task("tfim3", h=0.7)
    rng = np.random.default_rng(3)
    psi = rng.normal(size=8) + 1j * rng.normal(size=8)
    psi /= np.linalg.norm(psi)
    expected = Statevector(psi).expectation_value(task.hamiltonian.to_qiskit()).real
    assert task.energy(psi) == pytest.approx(expected)


def test_task_is_frozen():
    task = get_task("tfim2")
    with pytest.raises(AttributeError):
        task.num_qubits = 3
