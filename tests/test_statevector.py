"""The statevector simulator against Qiskit's exact Statevector, finite differences,
PennyLane's default.qubit and qiskit-aer."""

from __future__ import annotations

import numpy as np
import pennylane as qml
import pytest
from qiskit import QuantumCircuit
from qiskit.circuit.library import UnitaryGate
from qiskit.quantum_info import Operator, Statevector

from qworkbench import Circuit, Parameter, PauliSum
from qworkbench.errors import MemoryLimitError
from simulators import available, get_simulator
from simulators._plan import gates_of
from simulators.fusion import fuse_gates

from .conftest import parameterized_circuit, random_circuit, random_pauli_sum

ATOL = {"double": 1e-10, "single": 2e-5}


@pytest.fixture(scope="module")
def sims():
    return {
        (p, f): get_simulator("statevector", device="cpu", precision=p, fusion=f)
        for p in ("double", "single")
        for f in (0, 1, 2, 3, 4)
    }


@pytest.fixture(scope="module")
def plan_sims():
    """Simulators that never use the small-circuit engine (fused step-by-step plans)."""
    return {
        (p, f): get_simulator(device="cpu", precision=p, fusion=f, small_circuit_qubits=0)
        for p in ("double", "single")
        for f in (0, 1, 2, 3, 4)
    }


@pytest.mark.parametrize("engine", ["small", "plan"])
@pytest.mark.parametrize("precision", ["double", "single"])
@pytest.mark.parametrize("fusion", [0, 1, 2, 3, 4])
@pytest.mark.parametrize("n", [1, 2, 3, 5, 8, 11, 14])
def test_state_equals_qiskit(sims, plan_sims, n, fusion, precision, engine):
    rng = np.random.default_rng(100 * n + fusion)
    circ = random_circuit(n, 12 * n + 10, rng)
    sim = (sims if engine == "small" else plan_sims)[precision, fusion]
    state = sim.statevector(circ)
    assert state.dtype == (np.complex128 if precision == "double" else np.complex64)
    np.testing.assert_allclose(state, Statevector(circ.to_qiskit()).data, atol=ATOL[precision])


@pytest.mark.parametrize("precision", ["double", "single"])
@pytest.mark.parametrize("fusion", [0, 2])
def test_large_state_equals_qiskit(sims, fusion, precision, n=16):
    """Above the small-circuit engine: every blocked-kernel path (strides below and
    above 32, high qubits past bit 11) on random circuits over every gate."""
    rng = np.random.default_rng(fusion + 7)
    circ = random_circuit(n, 120, rng)
    state = sims[precision, fusion].statevector(circ)
    np.testing.assert_allclose(state, Statevector(circ.to_qiskit()).data, atol=ATOL[precision])


@pytest.mark.parametrize("precision", ["double", "single"])
@pytest.mark.parametrize("n", [1, 3, 6])
def test_batched_params_equal_qiskit_per_row(sims, n, precision):
    rng = np.random.default_rng(n)
    circ = parameterized_circuit(n, 2, rng)
    params = rng.uniform(-np.pi, np.pi, (7, circ.num_parameters))
    states = sims[precision, 2].statevector(circ, params)
    assert states.shape == (7, 2**n)
    for row, state in zip(params, states):
        expected = Statevector(circ.bind(row).to_qiskit()).data
        np.testing.assert_allclose(state, expected, atol=ATOL[precision])


@pytest.mark.parametrize("n", [1, 4, 9])
def test_expval_equals_qiskit(sims, n):
    rng = np.random.default_rng(n)
    circ = random_circuit(n, 40, rng)
    ours, theirs = random_pauli_sum(n, 25, rng)
    value = sims["double", 2].expval(circ, ours)
    assert isinstance(value, float)
    expected = Statevector(circ.to_qiskit()).expectation_value(theirs).real
    assert value == pytest.approx(expected, abs=1e-10)
    # a SparsePauliOp is accepted as well
    assert sims["double", 2].expval(circ, theirs) == pytest.approx(expected, abs=1e-10)


def test_batched_expval_equals_qiskit(sims):
    rng = np.random.default_rng(7)
    circ = parameterized_circuit(5, 3, rng)
    ours, theirs = random_pauli_sum(5, 30, rng)
    params = rng.uniform(-3, 3, (12, circ.num_parameters))
    for precision in ("double", "single"):
        values = sims[precision, 2].expval(circ, ours, params)
        assert values.shape == (12,)
        expected = [
            Statevector(circ.bind(p).to_qiskit()).expectation_value(theirs).real for p in params
        ]
        np.testing.assert_allclose(values, expected, atol=1e-9 if precision == "double" else 1e-4)


def test_non_hermitian_expval_is_complex(sims):
    circ = Circuit(2).h(0).s(0).cx(0, 1)
    op = PauliSum.from_list([("IX", 1j), ("ZZ", 1.0)])
    expected = Statevector(circ.to_qiskit()).expectation_value(op.to_qiskit())
    assert sims["double", 2].expval(circ, op) == pytest.approx(expected, abs=1e-12)


@pytest.mark.parametrize("n", [1, 3, 5])
def test_gradient_equals_central_differences(sims, n):
    rng = np.random.default_rng(10 + n)
    circ = parameterized_circuit(n, 2, rng)
    ham, _ = random_pauli_sum(n, 12, rng)
    x = rng.uniform(-np.pi, np.pi, circ.num_parameters)
    sim = sims["double", 2]
    grad = sim.gradient(circ, ham, x)
    eps = 1e-6
    shifts = np.eye(len(x)) * eps
    fd = (sim.expval(circ, ham, x + shifts) - sim.expval(circ, ham, x - shifts)) / (2 * eps)
    np.testing.assert_allclose(grad, fd, atol=1e-7)


@pytest.mark.filterwarnings("ignore::numpy.exceptions.ComplexWarning")  # autograd, Hermitian
def test_gradient_on_fused_plans_of_12_qubits(plan_sims):
    """The backward sweep on states large enough for every blocked-kernel path."""
    rng = np.random.default_rng(12)
    circ = parameterized_circuit(12, 1, rng)
    ham, _ = random_pauli_sum(12, 6, rng)
    x = rng.uniform(-np.pi, np.pi, circ.num_parameters)
    sim = plan_sims["double", 2]
    grad = sim.gradient(circ, ham, x)
    eps = 1e-6
    for k in rng.choice(len(x), 5, replace=False):
        shift = np.zeros_like(x)
        shift[k] = eps
        fd = (sim.expval(circ, ham, x + shift) - sim.expval(circ, ham, x - shift)) / (2 * eps)
        assert grad[k] == pytest.approx(fd, abs=1e-7)


def test_gradient_equals_pennylane_backprop(sims):
    rng = np.random.default_rng(3)
    n = 4
    circ = parameterized_circuit(n, 2, rng)
    ham, _ = random_pauli_sum(n, 10, rng)
    params = rng.uniform(-np.pi, np.pi, (3, circ.num_parameters))
    dev = qml.device("default.qubit", wires=n)
    qfunc = circ.to_pennylane()
    matrix = ham.to_matrix()  # wire n-1-q mapping: our index order is PennyLane's

    @qml.qnode(dev, diff_method="backprop")
    def energy(p):
        qfunc(p)
        return qml.expval(qml.Hermitian(matrix, wires=range(n)))

    ours = sims["double", 2].gradient(circ, ham, params)
    assert ours.shape == params.shape
    for row, g in zip(params, ours):
        expected = qml.grad(energy)(qml.numpy.array(row, requires_grad=True))
        np.testing.assert_allclose(g, expected, atol=1e-9)
        assert sims["double", 2].expval(circ, ham, row) == pytest.approx(
            float(energy(qml.numpy.array(row))), abs=1e-10
        )


def test_gradient_single_precision_close(sims):
    rng = np.random.default_rng(4)
    circ = parameterized_circuit(3, 2, rng)
    ham, _ = random_pauli_sum(3, 8, rng)
    x = rng.uniform(-3, 3, circ.num_parameters)
    np.testing.assert_allclose(
        sims["single", 2].gradient(circ, ham, x), sims["double", 2].gradient(circ, ham, x),
        atol=1e-4,
    )  # fmt: skip


def test_gradient_of_unparameterized_circuit_is_empty(sims):
    ham = PauliSum.from_list([("Z", 1.0)])
    assert sims["double", 2].gradient(Circuit(1).h(0), ham, None).shape == (0,)


def test_probabilities_sum_to_one_and_match_qiskit(sims):
    circ = random_circuit(6, 50, np.random.default_rng(9))
    probs = sims["double", 2].probabilities(circ)
    np.testing.assert_allclose(probs, Statevector(circ.to_qiskit()).probabilities(), atol=1e-12)


def test_sampling_frequencies_within_bounds_and_reproducible(sims):
    circ = random_circuit(4, 30, np.random.default_rng(2))
    sim = sims["double", 2]
    shots = 20_000
    counts = sim.sample(circ, shots, seed=42)
    assert sum(counts.values()) == shots
    assert counts == sim.sample(circ, shots, seed=42)
    assert counts != sim.sample(circ, shots, seed=43)
    probs = Statevector(circ.to_qiskit()).probabilities_dict()
    for key, p in probs.items():
        sigma = np.sqrt(shots * p * (1 - p)) + 1e-9
        assert abs(counts.get(key, 0) - shots * p) <= 5 * sigma + 1, key


def test_sampling_uses_clbits_qubit_zero_rightmost(sims):
    sim = sims["double", 2]
    assert sim.sample(Circuit(3).x(0), 10, seed=0) == {"001": 10}
    circ = Circuit(3, 2).x(0).measure(0, 1).measure(2, 0)
    assert sim.sample(circ, 10, seed=0) == {"10": 10}
    with pytest.raises(ValueError, match="after it was measured"):
        sim.sample(Circuit(1).measure(0).h(0), 10)
    with pytest.raises(ValueError, match="shots"):
        sim.sample(Circuit(1), 0)


def test_memory_guard_names_gib():
    sim = get_simulator("statevector", device="cpu")
    with pytest.raises(MemoryLimitError, match="16 TiB|GiB"):
        sim.statevector(Circuit(40))
    with pytest.raises(MemoryError, match="0.25 GiB"):
        get_simulator(device="cpu", max_memory=1024).statevector(Circuit(24))


def test_param_errors_name_the_problem(sims):
    sim = sims["double", 2]
    circ = Circuit(1).rx(Parameter("a"), 0)
    ham = PauliSum.from_list([("Z", 1.0)])
    with pytest.raises(ValueError, match="pass params"):
        sim.statevector(circ)
    with pytest.raises(ValueError, match=r"shape \(1,\) or \(batch, 1\)"):
        sim.statevector(circ, [1.0, 2.0])
    with pytest.raises(ValueError, match="'a' is nan"):
        sim.statevector(circ, [np.nan])
    with pytest.raises(ValueError, match="2 qubits"):
        sim.expval(circ, PauliSum.from_list([("ZZ", 1.0)]), [0.1])
    with pytest.raises(TypeError, match="PauliSum"):
        sim.expval(circ, "Z", [0.1])
    assert sim.expval(circ, ham, {"a": np.pi}) == pytest.approx(-1.0)


def test_option_validation():
    with pytest.raises(ValueError, match="precision"):
        get_simulator(precision="half")
    with pytest.raises(ValueError, match="device"):
        get_simulator(device="tpu")
    with pytest.raises(ValueError, match="unknown simulator kind"):
        get_simulator("nope")
    with pytest.raises(ValueError, match="fusion"):
        get_simulator(fusion=9)
    assert {"statevector", "aer"} <= set(available())


# -- fusion ------------------------------------------------------------------------------
@pytest.mark.parametrize("width", [1, 2, 3, 4])
@pytest.mark.parametrize("seed", range(3))
def test_fusion_blocks_are_unitary_equivalent(width, seed):
    """The blocks, each as one dense unitary, multiply to the circuit's operator."""
    circ = random_circuit(5, 60, np.random.default_rng(seed))
    gates, _ = gates_of(circ)
    blocks = fuse_gates([g.qubits for g in gates], max_qubits=width)
    assert sorted(i for b in blocks for i in b.ops) == list(range(len(gates)))
    fused = QuantumCircuit(5)
    for block in blocks:
        sub = QuantumCircuit(len(block.qubits))
        local = {q: i for i, q in enumerate(block.qubits)}
        for i in block.ops:
            g = gates[i]
            getattr(sub, g.name)(*g.offsets, *(local[q] for q in g.qubits))
        assert len(block.qubits) <= max(width, max(len(gates[i].qubits) for i in block.ops))
        fused.append(UnitaryGate(Operator(sub).data), list(block.qubits))
    assert Operator(fused).equiv(Operator(circ.to_qiskit()))


def test_fusion_reduces_passes_on_layered_circuit():
    n, layers = 8, 5
    c = Circuit(n)
    for _ in range(layers):
        for q in range(n):
            c.ry(0.1, q).rz(0.2, q)
        for q in range(0, n - 1, 2):
            c.cx(q, q + 1)
        for q in range(1, n - 1, 2):
            c.cx(q, q + 1)
    gates, _ = gates_of(c)
    unfused = len(fuse_gates([g.qubits for g in gates], 0))
    fused2 = len(fuse_gates([g.qubits for g in gates], 2))
    assert unfused == len(gates)
    assert fused2 <= len(gates) / 3


# -- qiskit-aer kind -----------------------------------------------------------------------
def test_aer_kind_matches_ours():
    rng = np.random.default_rng(5)
    circ = parameterized_circuit(3, 2, rng)
    ham, _ = random_pauli_sum(3, 6, rng)
    params = rng.uniform(-3, 3, (2, circ.num_parameters))
    aer = get_simulator("aer")
    ours = get_simulator("statevector", device="cpu")
    np.testing.assert_allclose(
        aer.statevector(circ, params[0]), ours.statevector(circ, params[0]), atol=1e-10
    )
    np.testing.assert_allclose(aer.expval(circ, ham, params), ours.expval(circ, ham, params),
                               atol=1e-10)  # fmt: skip
    np.testing.assert_allclose(aer.gradient(circ, ham, params), ours.gradient(circ, ham, params),
                               atol=1e-9)  # fmt: skip
    counts = aer.sample(Circuit(2).h(0).cx(0, 1), 1000, seed=3)
    assert set(counts) == {"00", "11"} and sum(counts.values()) == 1000


# -- GPU (skipped without one) ---------------------------------------------------------------
@pytest.mark.gpu
@pytest.mark.parametrize("precision", ["double", "single"])
@pytest.mark.parametrize("fusion", [0, 2, 4])
def test_gpu_matches_cpu(precision, fusion):
    rng = np.random.default_rng(fusion)
    gpu = get_simulator(device="gpu", precision=precision, fusion=fusion)
    cpu = get_simulator(device="cpu", precision=precision, fusion=fusion)
    for n in (1, 4, 12):
        circ = random_circuit(n, 10 * n + 5, rng)
        np.testing.assert_allclose(gpu.statevector(circ), cpu.statevector(circ),
                                   atol=ATOL[precision])  # fmt: skip
    circ = parameterized_circuit(5, 2, rng)
    ham, _ = random_pauli_sum(5, 20, rng)
    params = rng.uniform(-3, 3, (6, circ.num_parameters))
    tol = 1e-9 if precision == "double" else 1e-3
    np.testing.assert_allclose(gpu.expval(circ, ham, params), cpu.expval(circ, ham, params),
                               atol=tol)  # fmt: skip
    np.testing.assert_allclose(gpu.gradient(circ, ham, params), cpu.gradient(circ, ham, params),
                               atol=tol * 10)  # fmt: skip


def test_plan_cache_sees_circuit_growth(sims):
    """Plans are cached by structure; a circuit that grows after a run is re-planned."""
    sim = sims["double", 2]
    for n in (3, 16):  # small-circuit engine and fused plan
        circ = Circuit(n).h(0).cx(0, 1)
        sim.statevector(circ)
        circ.ry(0.3, 2).cz(1, 2)
        np.testing.assert_allclose(
            sim.statevector(circ), Statevector(circ.to_qiskit()).data, atol=1e-10
        )
        same = Circuit(n).h(0).cx(0, 1).ry(0.3, 2).cz(1, 2)
        assert same.structure_key() == circ.structure_key()
        assert hash(same.structure_key()) == hash(circ.structure_key())


def test_expval_with_shared_x_masks_equals_qiskit(sims):
    """Spin/molecular-style Hamiltonians (many terms per X mask) take the grouped path."""
    from simulators.statevector import grouped_diagonals

    n = 6
    rng = np.random.default_rng(21)
    terms = []
    for i in range(n - 1):
        for p in "XYZ":
            label = ["I"] * n
            label[i] = label[i + 1] = p
            terms.append(("".join(label), rng.normal()))
    terms += [("I" * i + "Z" + "I" * (n - 1 - i), rng.normal()) for i in range(n)]
    ham = PauliSum.from_list(terms)
    assert grouped_diagonals(ham, n) is not None
    circ = parameterized_circuit(n, 2, rng)
    params = rng.uniform(-3, 3, (5, circ.num_parameters))
    expected = [
        Statevector(circ.bind(p).to_qiskit()).expectation_value(ham.to_qiskit()).real
        for p in params
    ]
    np.testing.assert_allclose(sims["double", 2].expval(circ, ham, params), expected, atol=1e-10)
