"""Export to Stim (checked by Stim's tableau of Qiskit's unitary) and to PennyLane
(checked by ``default.qubit`` against Qiskit's Statevector)."""

from __future__ import annotations

import numpy as np
import pennylane as qml
import pytest
import stim
from qiskit.quantum_info import Operator, Statevector

from qworkbench import Circuit, Parameter
from qworkbench.circuit import GATES
from qworkbench.errors import NotCliffordError

from .conftest import random_circuit

CLIFFORD_1Q = ["id", "h", "x", "y", "z", "s", "sdg", "sx", "sxdg"]
CLIFFORD_2Q = ["cx", "cy", "cz", "swap"]
ROTATIONS = ["rx", "ry", "rz", "p", "crx", "cry", "crz", "rzz", "rxx", "ryy"]


def _random_clifford_circuit(n: int, num_ops: int, rng) -> Circuit:
    c = Circuit(n)
    for _ in range(num_ops):
        kind = rng.integers(4)
        if kind == 0:
            c.append(CLIFFORD_1Q[rng.integers(len(CLIFFORD_1Q))], [int(rng.integers(n))])
        elif kind == 1:
            a, b = rng.choice(n, 2, replace=False).tolist()
            c.append(CLIFFORD_2Q[rng.integers(len(CLIFFORD_2Q))], [a, b])
        elif kind == 2:
            name = ROTATIONS[rng.integers(len(ROTATIONS))]
            qubits = rng.choice(n, GATES[name].num_qubits, replace=False).tolist()
            # crx-type gates are Clifford at multiples of pi, the others at pi/2
            step = np.pi if name.startswith("cr") else np.pi / 2
            c.append(name, qubits, [float(rng.integers(-4, 5)) * step])
        else:
            angles = (rng.integers(-4, 5, 3) * np.pi / 2).tolist()
            c.u(*angles, int(rng.integers(n)))
    return c


@pytest.mark.parametrize("seed", range(8))
def test_to_stim_tableau_equals_unitary_tableau(seed):
    rng = np.random.default_rng(seed)
    circ = _random_clifford_circuit(4, 40, rng)
    assert circ.is_clifford()
    expected = stim.Tableau.from_unitary_matrix(Operator(circ.to_qiskit()).data, endian="little")
    assert circ.to_stim().to_tableau() == expected


def test_to_stim_measurements_sample_ghz():
    circ = Circuit(3).h(0).cx(0, 1).cx(1, 2).measure_all()
    sampler = circ.to_stim().compile_sampler(seed=5)
    shots = sampler.sample(200)
    assert shots.shape == (200, 3)
    assert set(map(tuple, shots.astype(int))) == {(0, 0, 0), (1, 1, 1)}


def test_to_stim_rejects_non_clifford_naming_the_gate():
    with pytest.raises(NotCliffordError, match=r"operation 2, t\(1\)") as info:
        Circuit(2).h(0).cx(0, 1).t(1).to_stim()
    assert info.value.operation.name == "t"
    with pytest.raises(NotCliffordError, match="rz"):
        Circuit(1).rz(0.3, 0).to_stim()
    with pytest.raises(NotCliffordError, match="rx"):
        Circuit(1).rx(Parameter("a"), 0).to_stim()


@pytest.mark.parametrize("seed", range(5))
def test_to_pennylane_state_matches_qiskit(seed):
    circ = random_circuit(4, 30, np.random.default_rng(seed))
    dev = qml.device("default.qubit", wires=4)
    state = qml.QNode(lambda: (circ.to_pennylane()(), qml.state())[1], dev)()
    expected = Statevector(circ.to_qiskit()).data
    phase = np.vdot(state, expected)
    assert abs(abs(phase) - 1) < 1e-10
    np.testing.assert_allclose(state * phase, expected, atol=1e-10)


def test_to_pennylane_parameters_are_differentiable():
    a, b = Parameter("a"), Parameter("b")
    circ = Circuit(2).ry(a, 0).cx(0, 1).rx(2 * b + 0.1, 1)
    qfunc = circ.to_pennylane()
    dev = qml.device("default.qubit", wires=2)

    @qml.qnode(dev)
    def energy(params):
        qfunc(params)
        # our qubit 1 is PennyLane wire 0 (wire n-1-q)
        return qml.expval(qml.PauliZ(0))

    params = qml.numpy.array([0.3, 0.4], requires_grad=True)
    grad = qml.grad(energy)(params)
    # <Z_1> = cos(a) cos(2b + 0.1) for this circuit
    a_, b_ = 0.3, 0.4
    assert energy(params) == pytest.approx(np.cos(a_) * np.cos(2 * b_ + 0.1))
    np.testing.assert_allclose(
        grad,
        [-np.sin(a_) * np.cos(2 * b_ + 0.1), -2 * np.cos(a_) * np.sin(2 * b_ + 0.1)],
        atol=1e-10,
    )


def test_to_pennylane_errors():
    circ = Circuit(2).rx(Parameter("a"), 0)
    with pytest.raises(ValueError, match="pass params"):
        circ.to_pennylane()()
    with pytest.raises(ValueError, match="distinct wires"):
        circ.to_pennylane(wires=[0, 0])
