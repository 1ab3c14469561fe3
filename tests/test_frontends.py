"""The PennyLane device against default.qubit, and the Qiskit primitives against
Qiskit's StatevectorEstimator/StatevectorSampler and qiskit-aer."""

from __future__ import annotations

import numpy as np
import pennylane as qml
import pytest
from qiskit import QuantumCircuit
from qiskit.circuit import Parameter
from qiskit.circuit.library import efficient_su2
from qiskit.primitives import StatevectorEstimator
from qiskit.quantum_info import SparsePauliOp, Statevector

from simulators.qiskit import EstimatorV2, SamplerV2


def _qnode_pair(circuit, wires, **kwargs):
    ours = qml.device("qworkbench.statevector", wires=wires)
    ref = qml.device("default.qubit", wires=wires)
    return qml.QNode(circuit, ours, **kwargs), qml.QNode(circuit, ref)


def _layered(x):
    qml.RX(x[0], wires="a")
    qml.CNOT(wires=["a", 1])
    qml.Rot(x[1], x[2], 0.3, wires="c")
    qml.CRY(x[0], wires=["c", 1])
    qml.IsingZZ(x[1], wires=["a", "c"])
    qml.Hadamard(1)
    qml.U3(x[2], 0.2, x[0], wires=1)
    qml.QFT(wires=["a", 1, "c"])  # decomposed by PennyLane into supported gates


def test_values_match_default_qubit():
    def circuit(x):
        _layered(x)
        return (
            qml.expval(qml.PauliZ("a") @ qml.PauliX(1) + 0.5 * qml.PauliY("c")),
            qml.expval(qml.Hermitian(np.array([[1, 2j], [-2j, 0]]), wires="c")),
            qml.var(qml.PauliX("a") @ qml.PauliY(1)),
            qml.probs(wires=[1, "a"]),
        )

    ours, ref = _qnode_pair(circuit, ["a", 1, "c"])
    x = np.array([0.3, 0.5, 0.7])
    for a, b in zip(ours(x), ref(x)):
        np.testing.assert_allclose(a, b, atol=1e-10)
    state_ours, state_ref = _qnode_pair(lambda x: (_layered(x), qml.state())[1], ["a", 1, "c"])
    np.testing.assert_allclose(state_ours(x), state_ref(x), atol=1e-10)


@pytest.mark.parametrize("diff_method", ["adjoint", "best"])
def test_adjoint_gradients_match_default_qubit(diff_method):
    def circuit(x):
        _layered(x)
        return qml.expval(qml.PauliZ("a") @ qml.PauliX(1) + 0.5 * qml.PauliY("c"))

    ours, ref = _qnode_pair(circuit, ["a", 1, "c"], diff_method=diff_method)
    x = qml.numpy.array([0.3, 0.5, 0.7], requires_grad=True)
    np.testing.assert_allclose(qml.grad(ours)(x), qml.grad(ref)(x), atol=1e-10)


def test_multi_observable_jacobian():
    def circuit(x):
        qml.RX(x[0], 0)
        qml.RY(x[1], 1)
        qml.CNOT([0, 1])
        return qml.expval(qml.PauliZ(0)), qml.expval(qml.PauliZ(0) @ qml.PauliZ(1))

    ours, ref = _qnode_pair(circuit, 2, diff_method="adjoint")
    x = qml.numpy.array([0.4, 1.1], requires_grad=True)
    jac_ours = qml.jacobian(lambda v: qml.math.stack(ours(v)))(x)
    jac_ref = qml.jacobian(lambda v: qml.math.stack(ref(v)))(x)
    np.testing.assert_allclose(jac_ours, jac_ref, atol=1e-10)


def test_shots_sampling_statistics_and_seed():
    def circuit():
        qml.Hadamard(0)
        qml.CNOT([0, 1])
        qml.RY(0.8, 2)
        return qml.expval(qml.PauliZ(2)), qml.counts(wires=[0, 1])

    dev = qml.device("qworkbench.statevector", wires=3, seed=11)
    node = qml.set_shots(qml.QNode(circuit, dev), 20_000)
    ez, counts = node()
    assert abs(ez - np.cos(0.8)) < 5 * np.sqrt(1 / 20_000)
    assert set(counts) == {"00", "11"}
    assert abs(counts["00"] - 10_000) < 5 * np.sqrt(20_000 * 0.25)
    again = qml.set_shots(qml.QNode(circuit, qml.device("qworkbench.statevector", wires=3,
                                                        seed=11)), 20_000)()  # fmt: skip
    assert again[1] == counts


# -- Qiskit primitives --------------------------------------------------------------------
def _ansatz():
    qc = efficient_su2(3, reps=2)
    return qc


def test_estimator_matches_statevector_estimator_with_broadcasting():
    qc = _ansatz()
    rng = np.random.default_rng(0)
    values = rng.uniform(-np.pi, np.pi, (4, 1, qc.num_parameters))
    observables = [
        SparsePauliOp.from_list([("ZZI", 1.0), ("IXX", 0.5)]),
        SparsePauliOp("YIZ"),
    ]
    ours = EstimatorV2().run([(qc, observables, values)]).result()[0]
    ref = StatevectorEstimator().run([(qc, observables, values)]).result()[0]
    assert ours.data.evs.shape == ref.data.evs.shape == (4, 2)
    np.testing.assert_allclose(ours.data.evs, ref.data.evs, atol=1e-10)
    np.testing.assert_allclose(ours.data.stds, 0.0)


def test_estimator_matches_aer_estimator():
    from qiskit_aer.primitives import EstimatorV2 as AerEstimator

    qc = _ansatz()
    values = np.random.default_rng(1).uniform(-3, 3, (3, qc.num_parameters))
    obs = SparsePauliOp.from_list([("XYZ", 0.7), ("ZZZ", -0.2)])
    ours = EstimatorV2().run([(qc, obs, values)]).result()[0].data.evs
    aer = AerEstimator().run([(qc, obs, values)]).result()[0].data.evs
    np.testing.assert_allclose(ours, aer, atol=1e-10)


def test_estimator_precision_adds_noise_of_that_size():
    qc = QuantumCircuit(1)
    qc.h(0)
    obs = SparsePauliOp("X")
    evs = EstimatorV2(seed=3).run([(qc, [obs] * 2000)], precision=0.1).result()[0].data.evs
    assert abs(evs.mean() - 1.0) < 0.02 and abs(evs.std() - 0.1) < 0.01


def test_sampler_registers_and_statistics():
    a = Parameter("a")
    qc = QuantumCircuit(3)
    from qiskit import ClassicalRegister

    alpha, beta = ClassicalRegister(2, "alpha"), ClassicalRegister(1, "beta")
    qc.add_register(alpha)
    qc.add_register(beta)
    qc.h(0)
    qc.cx(0, 1)
    qc.ry(a, 2)
    qc.measure([0, 1], alpha)
    qc.measure([2], beta)
    values = np.array([[0.0], [np.pi], [np.pi / 2]])
    result = SamplerV2(seed=5).run([(qc, values)], shots=4000).result()[0]
    assert result.data.alpha.shape == (3,) and result.data.alpha.num_shots == 4000
    assert result.data.alpha.num_bits == 2 and result.data.beta.num_bits == 1
    assert set(result.data.alpha.get_counts(0)) == {"00", "11"}
    assert result.data.beta.get_counts(0) == {"0": 4000}
    assert result.data.beta.get_counts(1) == {"1": 4000}
    ones = result.data.beta.get_counts(2).get("1", 0)
    assert abs(ones - 2000) < 5 * np.sqrt(1000)
    again = SamplerV2(seed=5).run([(qc, values)], shots=4000).result()[0]
    assert again.data.alpha.get_counts(2) == result.data.alpha.get_counts(2)


def test_sampler_frequencies_match_statevector_probabilities():
    qc = _ansatz()
    values = np.random.default_rng(2).uniform(-3, 3, qc.num_parameters)
    bound = qc.assign_parameters(values)
    probs = Statevector(bound).probabilities_dict()
    measured = qc.copy()
    measured.measure_all()
    shots = 20_000
    counts = SamplerV2(seed=9).run([(measured, values)], shots=shots).result()[0].data.meas
    counts = counts.get_counts()
    for key, p in probs.items():
        assert abs(counts.get(key, 0) - shots * p) <= 5 * np.sqrt(shots * p * (1 - p)) + 1
