"""The PennyLane device at its edges, against default.qubit: operations PennyLane defines
by a matrix alone, and dynamic work wires (``Allocate``/``Deallocate``) that graph
decomposition introduces (issue 16, item 25)."""

from __future__ import annotations

import numpy as np
import pennylane as qml
import pytest
from scipy.stats import unitary_group


def _both(circuit, wires, shots=None, **kwargs):
    """(ours, default.qubit) results of one quantum function."""
    out = []
    for name in ("qworkbench.statevector", "default.qubit"):
        node = qml.QNode(circuit, qml.device(name, wires=wires, **kwargs))
        out.append(qml.set_shots(node, shots)() if shots else node())
    return out


MATRIX_ONLY = [
    lambda: qml.BlockEncode(np.array([[0.1, 0.2], [0.3, 0.4]]), wires=[0, 2]),
    lambda: qml.DoubleExcitationPlus(0.7, wires=[0, 1, 2, 3]),
    lambda: qml.DoubleExcitationMinus(-1.3, wires=[3, 1, 0, 2]),
    lambda: qml.adjoint(qml.DoubleExcitationPlus(0.4, wires=[1, 2, 3, 0])),
]


@pytest.mark.parametrize("make_op", MATRIX_ONLY, ids=["BlockEncode", "DEPlus", "DEMinus", "adj"])
def test_matrix_only_operations_match_default_qubit(make_op):
    def circuit():
        for w in range(4):
            qml.RY(0.3 + 0.4 * w, wires=w)
        qml.CNOT([0, 3])
        make_op()
        qml.RX(0.5, wires=1)
        return qml.state()

    ours, ref = _both(circuit, 4)
    np.testing.assert_allclose(ours, ref, atol=1e-10)


def test_matrix_only_operation_with_shots_and_seed():
    def circuit():
        qml.Hadamard(0)
        qml.DoubleExcitationMinus(0.9, wires=[0, 1, 2, 3])
        return qml.probs(wires=[0, 1])

    ours, ref = _both(circuit, 4, shots=20_000, seed=7)
    np.testing.assert_allclose(ours, ref, atol=0.02)


def test_large_unitary_is_applied_densely():
    """A 5-qubit QubitUnitary stays one dense step (default.qubit's treatment) rather
    than hundreds of gates from a quantum Shannon decomposition."""
    u = unitary_group.rvs(32, random_state=3)

    def circuit():
        qml.Hadamard(1)
        qml.QubitUnitary(u, wires=[4, 0, 2, 1, 3])
        qml.CRY(0.3, wires=[2, 0])
        return qml.state()

    ours, ref = _both(circuit, 5)
    np.testing.assert_allclose(ours, ref, atol=1e-10)


def _excitation_circuit(x, y):
    qml.RY(1.3, wires=0)
    qml.RX(x, wires=0)
    qml.PauliX(1)
    qml.Hadamard(3)
    qml.DoubleExcitationPlus(y, wires=[0, 1, 2, 3])
    qml.RY(x, wires=2)
    return qml.expval(qml.PauliZ(0) @ qml.PauliX(2) + 0.5 * qml.PauliY(3) + qml.PauliZ(1))


def test_matrix_only_operation_under_adjoint_differentiation():
    """A fixed matrix-only operation is decomposed into our gates (a QubitUnitary), so the
    adjoint gradient of the other parameters matches; a trainable one is refused with a
    clear message, and parameter shift (which runs it densely) matches."""
    dev = qml.device("qworkbench.statevector", wires=4)
    x = qml.numpy.array(0.4, requires_grad=True)
    y = qml.numpy.array(1.1, requires_grad=False)
    ours = qml.QNode(_excitation_circuit, dev, diff_method="adjoint")
    ref = qml.QNode(_excitation_circuit, qml.device("default.qubit", wires=4))
    np.testing.assert_allclose(ours(x, y), ref(x, y), atol=1e-10)
    np.testing.assert_allclose(qml.grad(ours)(x, y), qml.grad(ref)(x, y), atol=1e-8)

    y = qml.numpy.array(1.1, requires_grad=True)
    with pytest.raises(qml.exceptions.DeviceError, match="parameter-shift"):
        qml.grad(ours)(x, y)
    shift = qml.QNode(_excitation_circuit, dev, diff_method="parameter-shift")
    np.testing.assert_allclose(qml.grad(shift)(x, y), qml.grad(ref)(x, y), atol=1e-8)


@pytest.mark.parametrize("graph", [False, True], ids=["legacy", "graph"])
def test_select_with_and_without_graph_decomposition(graph):
    ops = [qml.X(2), qml.X(3), qml.Y(2), qml.SWAP([2, 3])]

    def circuit():
        qml.Hadamard(0)
        qml.RY(0.7, wires=1)
        qml.Select(ops, control=[0, 1])
        return qml.state()

    with qml.decomposition.toggle_graph_ctx(graph):
        ours, ref = _both(circuit, 4)
    np.testing.assert_allclose(ours, ref, atol=1e-10)


@pytest.mark.parametrize("wires", [None, 3])
def test_dynamic_wires_are_resolved(wires):
    """qml.allocate in a circuit (the Allocate/Deallocate pair) runs on a spare zeroed
    wire, never a raw KeyError."""

    def circuit():
        qml.Hadamard(0)
        with qml.allocate(1) as work:
            qml.CNOT([0, work[0]])
            qml.CRX(0.6, wires=[work[0], 1])
            qml.CNOT([0, work[0]])
        return qml.probs(wires=[0, 1])

    ours, ref = _both(circuit, wires)
    np.testing.assert_allclose(ours, ref, atol=1e-10)


def test_too_few_wires_for_dynamic_allocation_is_a_clear_error():
    def circuit():
        qml.Hadamard(0)
        with qml.allocate(1) as work:
            qml.CNOT([0, work[0]])
        return qml.probs(wires=[0])

    node = qml.QNode(circuit, qml.device("qworkbench.statevector", wires=1))
    with pytest.raises(Exception, match="wires") as info:
        node()
    assert not isinstance(info.value, KeyError)
