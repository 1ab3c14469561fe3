"""Density-matrix simulation and noise models against qiskit's DensityMatrix and
qiskit-aer's density_matrix method under the equivalent Aer noise models."""

from __future__ import annotations

import numpy as np
import pytest
from qiskit.quantum_info import DensityMatrix
from qiskit_aer import AerSimulator
from qiskit_aer import noise as aer_noise

from qworkbench import Circuit, PauliSum
from qworkbench.circuit import GATES
from simulators import get_simulator
from simulators.noise import Channel, NoiseModel

from .conftest import parameterized_circuit, random_circuit, random_pauli_sum

ONE_QUBIT = [g for g, s in GATES.items() if s.num_qubits == 1 and g != "id"]
# qiskit-aer's density_matrix method has no controlled rotations
AER_TWO_QUBIT = ["cx", "cy", "cz", "swap", "rzz", "rxx", "ryy"]


def _aer_compatible_circuit(n: int, num_ops: int, rng) -> Circuit:
    names = [g for g in GATES if g not in ("crx", "cry", "crz") and GATES[g].num_qubits <= n]
    c = Circuit(n)
    for _ in range(num_ops):
        spec = GATES[names[rng.integers(len(names))]]
        qubits = rng.choice(n, spec.num_qubits, replace=False).tolist()
        c.append(spec.name, qubits, rng.uniform(-3, 3, spec.num_params).tolist())
    return c


@pytest.mark.parametrize("precision", ["double", "single"])
@pytest.mark.parametrize("n", [1, 2, 4, 5])
def test_noiseless_equals_qiskit_density_matrix(n, precision):
    circ = random_circuit(n, 15 * n, np.random.default_rng(n))
    rho = get_simulator("density_matrix", device="cpu", precision=precision).density_matrix(circ)
    tol = 1e-10 if precision == "double" else 2e-5
    np.testing.assert_allclose(rho, DensityMatrix(circ.to_qiskit()).data, atol=tol)


def test_batched_params_noiseless():
    rng = np.random.default_rng(3)
    circ = parameterized_circuit(3, 2, rng)
    params = rng.uniform(-3, 3, (4, circ.num_parameters))
    rhos = get_simulator("density_matrix", device="cpu").density_matrix(circ, params)
    assert rhos.shape == (4, 8, 8)
    for p, rho in zip(params, rhos):
        np.testing.assert_allclose(rho, DensityMatrix(circ.bind(p).to_qiskit()).data, atol=1e-10)


def _models():
    """The same noise built with our API and with qiskit-aer's."""
    ours, aer = NoiseModel(), aer_noise.NoiseModel()
    ours.add_gate_error(Channel.depolarizing(0.02).compose(Channel.amplitude_damping(0.05)),
                        ONE_QUBIT)  # fmt: skip
    aer.add_all_qubit_quantum_error(
        aer_noise.depolarizing_error(0.02, 1).compose(aer_noise.amplitude_damping_error(0.05)),
        ONE_QUBIT,
    )
    ours.add_gate_error(Channel.thermal_relaxation(50.0, 30.0, 2.0), ["sx", "x"], qubits=[1])
    aer.add_quantum_error(aer_noise.thermal_relaxation_error(50.0, 30.0, 2.0), ["sx", "x"], [1])
    ours.add_gate_error(Channel.phase_damping(0.07), "rz", qubits=[0])
    aer.add_quantum_error(aer_noise.phase_damping_error(0.07), "rz", [0])
    ours.add_gate_error(Channel.depolarizing(0.05, 2), AER_TWO_QUBIT)
    aer.add_all_qubit_quantum_error(aer_noise.depolarizing_error(0.05, 2), AER_TWO_QUBIT)
    ours.add_gate_error(Channel.pauli({"XZ": 0.03, "YY": 0.02}), "cz")
    aer.add_all_qubit_quantum_error(aer_noise.pauli_error([("XZ", 0.03), ("YY", 0.02),
                                                           ("II", 0.95)]), "cz")  # fmt: skip
    ours.add_gate_error(Channel.depolarizing(0.04, 3), "ccx")
    aer.add_all_qubit_quantum_error(aer_noise.depolarizing_error(0.04, 3), "ccx")
    return ours, aer


@pytest.mark.parametrize("seed", range(4))
def test_noisy_expvals_equal_aer_density_matrix(seed):
    rng = np.random.default_rng(seed)
    circ = _aer_compatible_circuit(4, 40, rng)
    ham, _ = random_pauli_sum(4, 10, rng)
    ours, aer = _models()
    value = get_simulator("density_matrix", device="cpu", noise=ours).expval(circ, ham)
    qc = circ.to_qiskit()
    qc.save_expectation_value(ham.to_qiskit(), range(4))
    qc.save_density_matrix()
    data = AerSimulator(method="density_matrix", noise_model=aer).run(qc).result().data(0)
    assert value == pytest.approx(data["expectation_value"], abs=1e-8)
    rho = get_simulator("density_matrix", device="cpu", noise=ours).density_matrix(circ)
    np.testing.assert_allclose(rho, np.asarray(data["density_matrix"]), atol=1e-10)


def test_from_aer_conversion_matches_aer():
    ours, aer = _models()
    converted = NoiseModel.from_aer(aer)
    circ = _aer_compatible_circuit(3, 30, np.random.default_rng(9))
    ham, _ = random_pauli_sum(3, 6, np.random.default_rng(9))
    a = get_simulator("density_matrix", device="cpu", noise=ours).expval(circ, ham)
    b = get_simulator("density_matrix", device="cpu", noise=converted).expval(circ, ham)
    assert a == pytest.approx(b, abs=1e-12)


def test_readout_error_applied_to_probabilities_and_samples():
    circ = Circuit(3).h(0).cx(0, 1).ry(0.7, 2)
    m0, m2 = np.array([[0.9, 0.1], [0.2, 0.8]]), np.array([[0.97, 0.03], [0.06, 0.94]])
    noise = NoiseModel().add_readout_error(m0, [0]).add_readout_error(m2, [2])
    sim = get_simulator("density_matrix", device="cpu", noise=noise)
    ideal = DensityMatrix(circ.to_qiskit()).probabilities()
    # kron order: qubit 2 is the most significant factor
    expected = ideal @ np.kron(m2, np.kron(np.eye(2), m0))
    np.testing.assert_allclose(sim.probabilities(circ), expected, atol=1e-12)
    np.testing.assert_allclose(sim.probabilities(circ, readout=False), ideal, atol=1e-12)
    shots = 40_000
    counts = sim.sample(circ.copy().measure_all(), shots, seed=4)
    for k, p in enumerate(expected):
        key = format(k, "03b")
        assert abs(counts.get(key, 0) - shots * p) <= 5 * np.sqrt(shots * p * (1 - p)) + 1
    assert counts == sim.sample(circ.copy().measure_all(), shots, seed=4)


def test_from_backend_fake_manila_matches_aer():
    from qiskit.transpiler import generate_preset_pass_manager
    from qiskit_ibm_runtime.fake_provider import FakeManilaV2

    backend = FakeManilaV2()
    rng = np.random.default_rng(5)
    logical = parameterized_circuit(3, 2, rng)
    logical = logical.bind(rng.uniform(-3, 3, logical.num_parameters))
    pm = generate_preset_pass_manager(optimization_level=1, backend=backend, seed_transpiler=1)
    isa = pm.run(logical.to_qiskit())
    ours = Circuit.from_qiskit(isa)
    ham, _ = random_pauli_sum(ours.num_qubits, 8, rng)
    value = get_simulator("density_matrix", device="cpu",
                          noise=NoiseModel.from_backend(backend)).expval(ours, ham)  # fmt: skip
    qc = isa.copy()
    qc.save_expectation_value(ham.to_qiskit(), range(qc.num_qubits))
    aer = AerSimulator.from_backend(backend, method="density_matrix")
    reference = aer.run(qc).result().data(0)["expectation_value"]
    assert value == pytest.approx(reference, abs=1e-6)


def test_depolarizing_model_and_gradient_under_noise():
    rng = np.random.default_rng(8)
    circ = parameterized_circuit(3, 1, rng)
    ham, _ = random_pauli_sum(3, 6, rng)
    sim = get_simulator("density_matrix", device="cpu", noise=NoiseModel.depolarizing(0.01, 0.03))
    x = rng.uniform(-3, 3, circ.num_parameters)
    grad = sim.gradient(circ, ham, x)
    eps = 1e-6
    shifts = np.eye(len(x)) * eps
    fd = (sim.expval(circ, ham, x + shifts) - sim.expval(circ, ham, x - shifts)) / (2 * eps)
    np.testing.assert_allclose(grad, fd, atol=1e-7)
    noiseless = get_simulator("statevector", device="cpu").expval(circ, ham, x)
    assert abs(sim.expval(circ, ham, x)) < abs(noiseless) + 1e-9  # depolarizing shrinks <H>


def test_bad_noise_input():
    with pytest.raises(ValueError, match="probability"):
        Channel.depolarizing(1.5)
    with pytest.raises(ValueError, match="trace preserving"):
        Channel.from_kraus([np.eye(2) * 2])
    with pytest.raises(ValueError, match="exceeds"):
        Channel.thermal_relaxation(10.0, 30.0, 1.0)
    with pytest.raises(ValueError, match="unknown gate"):
        NoiseModel().add_gate_error(Channel.depolarizing(0.1), "foo")
    with pytest.raises(ValueError, match="rows must sum to 1"):
        NoiseModel().add_readout_error([[0.9, 0.2], [0.1, 0.9]])
    with pytest.raises(ValueError, match="takes no noise model"):
        get_simulator("statevector", noise=NoiseModel())
    with pytest.raises(TypeError, match="NoiseModel"):
        get_simulator("density_matrix", noise="depolarizing")
    with pytest.raises(ValueError, match="at most 16 qubits"):
        get_simulator("density_matrix", device="cpu").density_matrix(Circuit(17))
    sim = get_simulator("density_matrix", device="cpu", noise=NoiseModel())
    assert sim.expval(Circuit(1).x(0), PauliSum.from_list([("Z", 1.0)])) == pytest.approx(-1)


@pytest.mark.parametrize("kind", ["statevector", "density_matrix"])
def test_shot_estimates_are_unbiased_within_statistics(kind):
    rng = np.random.default_rng(13)
    circ = parameterized_circuit(3, 2, rng)
    ham = PauliSum.from_list([("ZZI", 0.7), ("XIX", -0.4), ("IYY", 0.3), ("III", 0.25),
                              ("XXZ", 0.2)])  # fmt: skip
    params = rng.uniform(-3, 3, (3, circ.num_parameters))
    noise = NoiseModel.depolarizing(0.02, 0.05) if kind == "density_matrix" else None
    sim = get_simulator(kind, device="cpu", noise=noise)
    exact = sim.expval(circ, ham, params)
    shots = 20_000
    estimates = np.array([sim.expval(circ, ham, params, shots=shots, seed=s) for s in range(8)])
    assert estimates.shape == (8, 3)
    # each QWC group contributes variance <= (sum |c|)^2 / shots
    sigma = sum(abs(c) for c in (0.7, 0.4, 0.3, 0.2)) / np.sqrt(shots)
    assert np.all(np.abs(estimates.mean(axis=0) - exact) < 5 * sigma / np.sqrt(8))
    assert np.all(estimates.std(axis=0) > 0)
    again = sim.expval(circ, ham, params, shots=shots, seed=3)
    np.testing.assert_array_equal(again, estimates[3])


@pytest.mark.parametrize("k", [1, 2])
def test_pauli_channel_weights_reproduce_the_kraus_superoperator(k):
    """The Pauli-channel kernel's weights against the superoperator built from Kraus
    operators, and the kernel itself against the dense superoperator pass."""
    from simulators._kernels import CpuKernels
    from simulators.noise import pauli_superop, pauli_weights

    rng = np.random.default_rng(k)
    labels = ["".join(t) for t in __import__("itertools").product("IXYZ", repeat=k)][1:]
    probs = dict(zip(labels, rng.dirichlet(np.ones(len(labels) + 1))[:-1] * 0.5))
    channel = Channel.pauli(probs)
    np.testing.assert_allclose(pauli_superop(pauli_weights(channel.pauli_probs)),
                               channel.superop, atol=1e-14)  # fmt: skip
    n = 3
    kernels = CpuKernels()
    state = rng.normal(size=(2, 4**n)) + 1j * rng.normal(size=(2, 4**n))
    qubits = (2, 0) if k == 2 else (1,)
    dense = state.copy()
    kernels.apply_matrix(dense, (*qubits, *(q + n for q in qubits)), channel.superop[None])
    fast = state.copy()
    kernels.apply_pauli_channel(fast, qubits, n, pauli_weights(channel.pauli_probs))
    np.testing.assert_allclose(fast, dense, atol=1e-12)


@pytest.mark.slow
def test_from_backend_fake_fez_on_the_used_qubits_matches_aer():
    """A 156-qubit device: only the qubits the transpiled circuit uses are built."""
    from qiskit.transpiler import generate_preset_pass_manager
    from qiskit_ibm_runtime.fake_provider import FakeFez

    backend = FakeFez()
    logical = Circuit(3).h(0).cx(0, 1).ry(0.4, 2).cx(1, 2).rz(0.3, 0)
    pm = generate_preset_pass_manager(optimization_level=1, backend=backend, seed_transpiler=3)
    isa = pm.run(logical.to_qiskit())
    full = Circuit.from_qiskit(isa)
    used = sorted({q for op in full for q in op.qubits})
    compact = Circuit(len(used))
    index = {q: k for k, q in enumerate(used)}
    for op in full:
        if op.name not in ("barrier", "measure"):
            compact.append(op.name, [index[q] for q in op.qubits], op.params)
    noise = NoiseModel.from_backend(backend, qubits=used)
    ham = PauliSum.from_list([("Z" * len(used), 1.0), ("X" + "I" * (len(used) - 1), 0.5)])
    value = get_simulator("density_matrix", device="cpu", noise=noise).expval(compact, ham)
    qc = isa.copy()
    qc.save_expectation_value(ham.to_qiskit(), used)
    aer = AerSimulator.from_backend(backend, method="density_matrix")
    reference = aer.run(qc).result().data(0)["expectation_value"]
    assert value == pytest.approx(reference, abs=1e-6)


@pytest.mark.parametrize("with_ccx", [False, True])
def test_batched_noisy_runs_equal_single_runs_and_aer(with_ccx):
    """Batches take the one-call engine (or, with a 3-qubit channel, the step path);
    every row must equal its own single run and qiskit-aer."""
    rng = np.random.default_rng(17)
    circ = parameterized_circuit(3, 2, rng)
    circ.cz(0, 2).sx(1).rz(0.4, 0)
    if with_ccx:
        circ.ccx(0, 1, 2)
    ham, _ = random_pauli_sum(3, 8, rng)
    ours, aer = _models()
    sim = get_simulator("density_matrix", device="cpu", noise=ours)
    params = rng.uniform(-3, 3, (5, circ.num_parameters))
    batched = sim.expval(circ, ham, params)
    singles = [sim.expval(circ, ham, p) for p in params]
    np.testing.assert_allclose(batched, singles, atol=1e-12)
    backend = AerSimulator(method="density_matrix", noise_model=aer)
    for p, value in zip(params[:2], batched[:2]):
        qc = circ.bind(p).to_qiskit()
        qc.save_expectation_value(ham.to_qiskit(), range(3))
        if "crx" in qc.count_ops() or "cry" in qc.count_ops() or "crz" in qc.count_ops():
            continue  # Aer's density_matrix method has no controlled rotations
        assert value == pytest.approx(backend.run(qc).result().data(0)["expectation_value"],
                                      abs=1e-8)  # fmt: skip


def _takes_pauli_basis(sim, circ) -> bool:
    """White-box: the circuit compiled to the Pauli-transfer program (no op on 3 qubits)."""
    return sim._cache[circ.structure_key()][3] is not None


@pytest.mark.parametrize("seed", range(3))
def test_pauli_basis_engine_equals_aer_on_every_gate_and_channel(seed):
    """No 3-qubit gates: the Pauli-transfer engine runs the circuit (one-qubit runs with
    depolarizing + amplitude damping, thermal relaxation, phase damping, CNOT and CZ with
    Pauli channels as signed permutations, rxx/ryy/rzz dense)."""
    rng = np.random.default_rng(100 + seed)
    names = [g for g in GATES if GATES[g].num_qubits <= 2 and g not in ("crx", "cry", "crz")]
    circ = Circuit(5)
    for _ in range(60):
        spec = GATES[names[rng.integers(len(names))]]
        circ.append(spec.name, rng.choice(5, spec.num_qubits, replace=False).tolist(),
                    rng.uniform(-3, 3, spec.num_params).tolist())  # fmt: skip
    ham, _ = random_pauli_sum(5, 12, rng)
    ours, aer = _models()
    # a Pauli channel with unequal weights after CNOT: every entry gets its own factor
    ours.add_gate_error(Channel.pauli({"XY": 0.02, "ZI": 0.01, "IX": 0.03}), "cx")
    aer.add_all_qubit_quantum_error(aer_noise.pauli_error(
        [("XY", 0.02), ("ZI", 0.01), ("IX", 0.03), ("II", 0.94)]), "cx")  # fmt: skip
    sim = get_simulator("density_matrix", device="cpu", noise=ours)
    value = sim.expval(circ, ham)
    assert _takes_pauli_basis(sim, circ)
    qc = circ.to_qiskit()
    qc.save_expectation_value(ham.to_qiskit(), range(5))
    qc.save_density_matrix()
    qc.save_probabilities()
    data = AerSimulator(method="density_matrix", noise_model=aer).run(qc).result().data(0)
    assert value == pytest.approx(data["expectation_value"], abs=1e-10)
    np.testing.assert_allclose(sim.density_matrix(circ), data["density_matrix"], atol=1e-12)
    np.testing.assert_allclose(sim.probabilities(circ), data["probabilities"], atol=1e-12)
    single = get_simulator("density_matrix", device="cpu", precision="single", noise=ours)
    assert single.expval(circ, ham) == pytest.approx(data["expectation_value"], abs=2e-5)


def test_pauli_basis_batch_with_a_non_unital_channel_after_cnot():
    """Thermal relaxation after every CNOT (not a Pauli channel: kept off the permutation
    kernel) and parameterised 2-qubit gates, batched, against Aer row by row."""
    rng = np.random.default_rng(5)
    circ = parameterized_circuit(4, 2, rng)
    ham, _ = random_pauli_sum(4, 10, rng)
    ours = NoiseModel()
    ours.add_gate_error(Channel.depolarizing(0.03, 2), "cx")
    ours.add_gate_error(Channel.thermal_relaxation(40.0, 25.0, 0.3), "cx")  # on each qubit
    relax = aer_noise.thermal_relaxation_error(40.0, 25.0, 0.3)
    aer = aer_noise.NoiseModel()
    aer.add_all_qubit_quantum_error(
        aer_noise.depolarizing_error(0.03, 2).compose(relax.expand(relax)), "cx"
    )
    sim = get_simulator("density_matrix", device="cpu", noise=ours)
    params = rng.uniform(-3, 3, (6, circ.num_parameters))
    values = sim.expval(circ, ham, params)
    assert _takes_pauli_basis(sim, circ)
    backend = AerSimulator(method="density_matrix", noise_model=aer)
    for p, value in zip(params, values):
        qc = circ.bind(p).to_qiskit()
        if {"crx", "cry", "crz"} & set(qc.count_ops()):
            continue
        qc.save_expectation_value(ham.to_qiskit(), range(4))
        assert value == pytest.approx(backend.run(qc).result().data(0)["expectation_value"],
                                      abs=1e-10)  # fmt: skip
