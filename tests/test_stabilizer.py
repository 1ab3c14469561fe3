"""The Stim-backed stabilizer simulator and auto dispatch, against stim.TableauSimulator,
Stim's own samplers and the density-matrix simulator."""

from __future__ import annotations

import numpy as np
import pytest
import stim

from qworkbench import Circuit, PauliSum
from qworkbench.errors import NotCliffordError
from simulators import get_simulator
from simulators.noise import Channel, NoiseModel
from simulators.stabilizer import AutoSimulator, StabilizerSimulator

from .conftest import random_pauli_sum


def _random_clifford(n: int, num_ops: int, rng) -> Circuit:
    c = Circuit(n)
    for _ in range(num_ops):
        kind = rng.integers(5)
        q = int(rng.integers(n))
        if kind == 0:
            c.append(["h", "s", "sdg", "sx", "x", "y", "z"][rng.integers(7)], [q])
        elif kind == 1:
            a, b = rng.choice(n, 2, replace=False).tolist()
            c.append(["cx", "cz", "cy", "swap"][rng.integers(4)], [a, b])
        elif kind == 2:
            c.rz(float(rng.integers(-3, 4)) * np.pi / 2, q)
        elif kind == 3:
            a, b = rng.choice(n, 2, replace=False).tolist()
            c.rzz(np.pi / 2, a, b)
        else:
            c.rx(np.pi / 2, q)
    return c


def _random_paulis(n: int, count: int, rng) -> PauliSum:
    labels = []
    for _ in range(count):
        chars = np.full(n, "I")
        support = rng.choice(n, rng.integers(1, 5), replace=False)
        chars[support] = rng.choice(list("XYZ"), len(support))
        labels.append("".join(chars))
    return PauliSum.from_list([(lab, float(c)) for lab, c in zip(labels, rng.normal(size=count))])


@pytest.mark.parametrize(("n", "seed"), [(50, 0), (120, 1), (200, 2)])
def test_expvals_match_tableau_simulator(n, seed):
    rng = np.random.default_rng(seed)
    circ = _random_clifford(n, 6 * n, rng)
    ham = _random_paulis(n, 12, rng)
    # make some terms deterministic: stabilizers of the final state
    tableau_sim = stim.TableauSimulator()
    tableau_sim.do_circuit(circ.to_stim())
    expected = sum(
        coeff.real
        * tableau_sim.peek_observable_expectation(stim.PauliString(label[::-1].replace("I", "_")))
        for label, coeff in ham.to_list()
    )
    stabilizers = tableau_sim.canonical_stabilizers()[:3]
    extra = PauliSum.from_list(
        [(str(s)[1:].replace("_", "I")[::-1], (1.0 if str(s)[0] == "+" else -1.0)) for s in
         stabilizers]
    )  # fmt: skip
    sim = get_simulator("stabilizer")
    assert sim.expval(circ, ham) == pytest.approx(expected, abs=1e-12)
    assert sim.expval(circ, extra) == pytest.approx(3.0, abs=1e-12)


def test_samples_agree_with_tableau_simulator_marginals():
    rng = np.random.default_rng(4)
    n = 60
    circ = _random_clifford(n, 300, rng)
    tableau_sim = stim.TableauSimulator()
    tableau_sim.do_circuit(circ.to_stim())
    counts = get_simulator("stabilizer").sample(circ, 400, seed=5)
    assert sum(counts.values()) == 400
    shots = np.array([[int(b) for b in key[::-1]] for key, k in counts.items() for _ in range(k)])
    for q in range(n):
        z = tableau_sim.peek_z(q)
        if z != 0:  # deterministic: every shot agrees
            assert set(shots[:, q]) == {0 if z == 1 else 1}
        else:
            assert 120 < shots[:, q].sum() < 280
    assert counts == get_simulator("stabilizer").sample(circ, 400, seed=5)


def test_pauli_noise_expvals_and_samples_match_density_matrix():
    rng = np.random.default_rng(6)
    circ = _random_clifford(4, 40, rng)
    ham, _ = random_pauli_sum(4, 10, rng)
    noise = NoiseModel.depolarizing(0.03, 0.06)
    noise.add_gate_error(Channel.pauli({"X": 0.05, "Z": 0.02}), "h")
    noise.add_gate_error(Channel.pauli({"XZ": 0.04, "YI": 0.01}), "cz")
    stab = get_simulator("stabilizer", noise=noise)
    dm = get_simulator("density_matrix", device="cpu", noise=noise)
    assert stab.expval(circ, ham) == pytest.approx(dm.expval(circ, ham), abs=1e-10)
    measured = circ.copy().measure_all()
    shots = 40_000
    counts = stab.sample(measured, shots, seed=2)
    probs = dm.probabilities(circ)
    for k, p in enumerate(probs):
        key = format(k, "04b")
        assert abs(counts.get(key, 0) - shots * p) <= 5 * np.sqrt(shots * p * (1 - p)) + 2


def test_detector_sampling_passes_through_to_stim():
    circuit = stim.Circuit.generated(
        "surface_code:rotated_memory_x", distance=3, rounds=3, after_clifford_depolarization=0.01
    )
    dets, obs = StabilizerSimulator.sample_detectors(circuit, 500, seed=7)
    ref_dets, ref_obs = circuit.compile_detector_sampler(seed=7).sample(
        500, separate_observables=True
    )
    np.testing.assert_array_equal(dets, ref_dets)
    np.testing.assert_array_equal(obs, ref_obs)


def test_non_clifford_and_non_pauli_noise_are_refused():
    with pytest.raises(NotCliffordError, match=r"operation 1, t\(0\)"):
        get_simulator("stabilizer").expval(Circuit(1).h(0).t(0), PauliSum.from_list([("Z", 1)]))
    noise = NoiseModel().add_gate_error(Channel.amplitude_damping(0.1), "h")
    with pytest.raises(ValueError, match="Pauli noise only"):
        get_simulator("stabilizer", noise=noise)


def test_auto_dispatch():
    auto = get_simulator("auto", device="cpu")
    assert isinstance(auto, AutoSimulator)
    ghz = Circuit(100).h(0)
    for q in range(99):
        ghz.cx(q, q + 1)
    counts = auto.sample(ghz, 200, seed=1)  # 100 qubits: impossible as a statevector
    assert set(counts) == {"0" * 100, "1" * 100}
    assert isinstance(auto.simulator_for(ghz), StabilizerSimulator)
    t_circuit = Circuit(2).h(0).t(0).cx(0, 1)
    ham = PauliSum.from_list([("XX", 1.0), ("YY", 0.5)])
    assert type(auto.simulator_for(t_circuit)).__name__ == "StatevectorSimulator"
    exact = get_simulator("statevector", device="cpu").expval(t_circuit, ham)
    assert auto.expval(t_circuit, ham) == pytest.approx(exact, abs=1e-12)
    noisy = get_simulator("auto", device="cpu", noise=NoiseModel().add_gate_error(
        Channel.amplitude_damping(0.1), "h"))  # fmt: skip
    assert type(noisy.simulator_for(ghz)).__name__ == "DensityMatrixSimulator"
