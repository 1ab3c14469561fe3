"""General parameter expressions (issue 16.26): imported from Qiskit, simulated in
batches, differentiated by the chain rule; every value checked against Qiskit."""

from __future__ import annotations

import numpy as np
import pytest
from qiskit import QuantumCircuit
from qiskit.circuit import Parameter as QiskitParameter
from qiskit.circuit.library import zz_feature_map
from qiskit.primitives import StatevectorEstimator
from qiskit.quantum_info import SparsePauliOp, Statevector

from qworkbench import Circuit, Parameter, PauliSum
from qworkbench.circuit import Expression, cos, exp, sin
from simulators import get_simulator
from simulators.qiskit import EstimatorV2

_SIM = get_simulator("statevector", device="cpu")
_OBS = SparsePauliOp.from_list([("XZ", 0.6), ("YY", -0.4), ("ZI", 0.3), ("IX", 0.2)])


def _qiskit_states(qc: QuantumCircuit, rows: np.ndarray) -> np.ndarray:
    """Qiskit's Statevector of ``qc`` bound to each row (parameters in ``qc.parameters``)."""
    return np.array([Statevector(qc.assign_parameters(list(r))).data for r in rows])


def _by_name(ours: Circuit, qc: QuantumCircuit, rows: np.ndarray) -> np.ndarray:
    """``rows`` (in Qiskit's parameter order) reordered to ``ours.parameters``."""
    column = {p.name: k for k, p in enumerate(qc.parameters)}
    return rows[:, [column[p.name] for p in ours.parameters]]


def _two_parameter_circuits():
    a, b = QiskitParameter("a"), QiskitParameter("b")
    out = {}
    for label, angle in [
        ("rx(a+b)", a + b),
        ("rx(a*a)", a * a),
        ("rx(a*b/2 - b)", a * b / 2 - b),
    ]:
        qc = QuantumCircuit(2)
        qc.h(0)
        qc.rx(angle, 0)
        qc.cx(0, 1)
        qc.ry(b, 1)
        out[label] = qc
    qc = QuantumCircuit(2)
    qc.ry(a.sin(), 0)
    qc.rzz(a.cos() * b, 0, 1)
    qc.rx(a, 1)
    qc.crz((a * b).exp(), 1, 0)
    qc.rx(b, 0)
    out["ry(sin a), rzz(cos a * b), crz(exp(ab))"] = qc
    return out


_CIRCUITS = {
    **_two_parameter_circuits(),
    "zz_feature_map(2)": zz_feature_map(2),
    "zz_feature_map(3)": zz_feature_map(3, reps=2),
}


@pytest.mark.parametrize("label", list(_CIRCUITS))
def test_statevector_matches_qiskit_bound_circuit(label):
    qc = _CIRCUITS[label]
    ours = Circuit.from_qiskit(qc)
    assert {p.name for p in ours.parameters} == {p.name for p in qc.parameters}
    rows = np.random.default_rng(1).uniform(-2, 2, (5, qc.num_parameters))
    states = _SIM.statevector(ours, _by_name(ours, qc, rows))  # one batched run
    np.testing.assert_allclose(states, _qiskit_states(qc, rows), atol=1e-10)
    # binding one set gives the same state, and round-trips through Qiskit
    bound = ours.bind(_by_name(ours, qc, rows[:1])[0])
    np.testing.assert_allclose(_SIM.statevector(bound), _qiskit_states(qc, rows[:1])[0], atol=1e-10)
    back = ours.to_qiskit()
    first = {p.name: v for p, v in zip(qc.parameters, rows[0])}
    bound_back = back.assign_parameters({p: first[p.name] for p in back.parameters})
    np.testing.assert_allclose(
        Statevector(bound_back).data, _qiskit_states(qc, rows[:1])[0], atol=1e-10
    )


@pytest.mark.parametrize("label", list(_CIRCUITS))
@pytest.mark.parametrize("kind", ["statevector", "density_matrix"])
def test_gradient_by_chain_rule(label, kind):
    qc = _CIRCUITS[label]
    ours = Circuit.from_qiskit(qc)
    sim = _SIM if kind == "statevector" else get_simulator(kind)
    ham = PauliSum.from_qiskit(
        SparsePauliOp.from_list(
            [("Z" * qc.num_qubits, 0.7), ("X" + "I" * (qc.num_qubits - 1), 0.4)]
        )
    )
    rows = np.random.default_rng(2).uniform(-1.5, 1.5, (3, qc.num_parameters))
    values = _by_name(ours, qc, rows)
    grads = sim.gradient(ours, ham, values)
    # central differences of Qiskit's bound-circuit energies (the outside reference)
    op = ham.to_qiskit()
    step = 1e-6
    for row, grad in zip(rows, grads):
        expected = {}
        for k, p in enumerate(qc.parameters):
            shift = np.zeros(len(row))
            shift[k] = step
            plus, minus = _qiskit_states(qc, np.array([row + shift, row - shift]))
            expected[p.name] = (
                Statevector(plus).expectation_value(op) - Statevector(minus).expectation_value(op)
            ).real / (2 * step)
        got = {p.name: g for p, g in zip(ours.parameters, grad)}
        for name in expected:
            assert got[name] == pytest.approx(expected[name], abs=1e-6), name


def test_estimator_matches_statevector_estimator_on_feature_map():
    fm = zz_feature_map(3, reps=2)
    rows = np.random.default_rng(3).uniform(0, np.pi, (6, 3))
    obs = SparsePauliOp.from_list([("ZZI", 1.0), ("IXX", 0.5), ("YIZ", -0.25)])
    ours = EstimatorV2().run([(fm, obs, rows)]).result()[0].data
    ref = StatevectorEstimator().run([(fm, obs, rows)]).result()[0].data
    np.testing.assert_allclose(ours.evs, ref.evs, atol=1e-10)
    np.testing.assert_array_equal(ours.stds, ref.stds)


def test_native_expressions_and_fast_path():
    a, b = Parameter("a"), Parameter("b")
    # affine results fold back to the one-parameter fast path
    assert (Expression.of(a) * 2 - 1 + 0 * b).simplify() == 2 * a - 1
    c = Circuit(2).rx(Expression.of(a) * b, 0).ry(sin(a) + cos(b), 1).rzz(exp(a / 4), 0, 1)
    assert [p.name for p in c.parameters] == ["a", "b"]
    qc = QuantumCircuit(2)
    qa, qb = QiskitParameter("a"), QiskitParameter("b")
    qc.rx(qa * qb, 0)
    qc.ry(qa.sin() + qb.cos(), 1)
    qc.rzz((qa / 4).exp(), 0, 1)
    rows = np.array([[0.3, -1.1], [2.0, 0.4]])
    np.testing.assert_allclose(_SIM.statevector(c, rows), _qiskit_states(qc, rows), atol=1e-10)
    with pytest.raises(TypeError, match="Expression.of"):
        a * b


def test_undefined_angle_names_the_expression():
    a = Parameter("a")
    c = Circuit(1).rx(Expression.of(a) ** 0.5, 0)
    with pytest.raises(ValueError, match=r"a \*\* 0.5.*nan.*'a': -1.0"):
        _SIM.statevector(c, [-1.0])
    with pytest.raises(ValueError, match="rx"):
        c.bind([-1.0])


def test_pennylane_conversion_differentiates_expressions():
    qml = pytest.importorskip("pennylane")
    from pennylane import numpy as pnp

    circ = Circuit.from_qiskit(zz_feature_map(2))
    a, x0 = Parameter("a"), circ.parameters[0]
    circ = circ.compose(Circuit(2).ry(sin(a) * Expression.of(x0), 0).rx(-Expression.of(a) / 2, 1))
    qfunc = circ.to_pennylane()

    @qml.qnode(qml.device("default.qubit", wires=qfunc.wires))
    def energy(x):
        qfunc(x)
        return qml.expval(qml.PauliZ(qfunc.wires[0]) @ qml.PauliX(qfunc.wires[1]))

    x = pnp.array([0.3, 1.2, 0.7], requires_grad=True)
    ham = PauliSum.from_list([("XZ", 1.0)])  # Z on qubit 0, X on qubit 1
    assert _SIM.expval(circ, ham, np.array(x)) == pytest.approx(float(energy(x)), abs=1e-10)
    np.testing.assert_allclose(
        _SIM.gradient(circ, ham, np.array(x)), qml.grad(energy)(x), atol=1e-9
    )
