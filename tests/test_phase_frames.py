"""Phase frames (``simulators._phase_frames``): the rewritten steps, their phase steps and
the final product phase give the same state as the original steps, checked with
qiskit's ``Statevector``/``Operator``; the gates of RX/RY/RZ + CNOT circuits come out
exactly real; and the simulator that runs plans in frames matches qiskit."""

from __future__ import annotations

import numpy as np
import pytest
from qiskit.quantum_info import Operator, Statevector

from qworkbench import Circuit
from qworkbench.experiments.sim_bench import layered_circuit
from simulators import get_simulator
from simulators._cpu_kernels import CpuKernels
from simulators._phase_frames import real_frames
from simulators._plan import compile_plan, dense_operand, gates_of

from .conftest import random_circuit


def _steps(circuit: Circuit, fusion: int):
    gates, params = gates_of(circuit)
    plan = compile_plan(gates, circuit.num_qubits, len(params), fusion)
    return [s.qubits for s in plan.steps], [dense_operand(s, None) for s in plan.steps]


def _evolve(start: Statevector, qubits, mats) -> Statevector:
    for qs, m in zip(qubits, mats):
        start = start.evolve(Operator(m[0]), list(qs))  # matrix bit j is qs[j]
    return start


def _random_start(rng, n: int) -> Statevector:
    v = rng.normal(size=2**n) + 1j * rng.normal(size=2**n)
    return Statevector(v / np.linalg.norm(v))


def _framed_state(start: Statevector, qubits, mats, n: int, fresh: bool = False) -> np.ndarray:
    steps, counts, final = real_frames(qubits, mats, n, fresh)
    assert sum(counts) == len(steps) and len(counts) == len(mats)
    out = _evolve(start, [q for q, _ in steps], [m for _, m in steps]).data
    if final is not None:
        glob, phases = final
        x = np.arange(2**n)
        out = out * glob * np.prod([np.where((x >> q) & 1, phases[q], 1) for q in range(n)], 0)
    return out


@pytest.mark.parametrize("fusion", [0, 1, 2, 3])
@pytest.mark.parametrize("seed", range(3))
def test_frames_keep_the_product_on_random_circuits(fusion, seed):
    """Every gate of the IR, random angles: the framed steps give qiskit's state."""
    rng = np.random.default_rng(seed)
    n = 5
    circuit = random_circuit(n, 40, rng)
    qubits, mats = _steps(circuit, fusion)
    start = _random_start(rng, n)
    expected = _evolve(start, qubits, mats).data
    np.testing.assert_allclose(_framed_state(start, qubits, mats, n), expected, atol=1e-12)
    np.testing.assert_allclose(
        expected, start.evolve(circuit.to_qiskit()).data, atol=1e-12
    )  # the reference itself is qiskit's circuit
    # from |0...0> the first frame moves are free (``fresh``): same state
    zero = Statevector.from_label("0" * n)
    np.testing.assert_allclose(
        _framed_state(zero, qubits, mats, n, fresh=True),
        zero.evolve(circuit.to_qiskit()).data,
        atol=1e-12,
    )


@pytest.mark.parametrize("seed", range(3))
def test_frames_make_rotation_layers_real(seed):
    """Random RX/RY/RZ layers with a CNOT brick, fused in pairs: most steps become
    exactly real (about three in four), and the state is qiskit's."""
    rng = np.random.default_rng(seed)
    n = 8
    circuit = layered_circuit(n, 8, seed)
    qubits, mats = _steps(circuit, 2)
    steps, counts, final = real_frames(qubits, mats, n)
    originals = [steps[sum(counts[: s + 1]) - 1][1] for s in range(len(mats))]
    real = sum(not np.any(m.imag) for m in originals)
    assert real >= 0.6 * len(mats), (real, len(mats))
    assert sum(not np.any(m.imag) for m in mats) <= 0.25 * len(mats)  # before: complex
    start = _random_start(rng, n)
    np.testing.assert_allclose(
        _framed_state(start, qubits, mats, n), start.evolve(circuit.to_qiskit()).data, atol=1e-12
    )


def test_real_ansatz_needs_no_phase_steps():
    """RY + CNOT (the hardware-efficient ansatz): every step real already, so the frames
    add nothing: no phase steps, no final phase."""
    rng = np.random.default_rng(4)
    n = 6
    c = Circuit(n)
    for layer in range(4):
        for q in range(n):
            c.ry(float(rng.uniform(0, 6.3)), q)
        for q in range(layer % 2, n - 1, 2):
            c.cx(q, q + 1)
    qubits, mats = _steps(c, 2)
    steps, counts, final = real_frames(qubits, mats, n)
    assert counts == [1] * len(mats) and final is None
    assert all(not np.any(m.imag) for _, m in steps)


@pytest.mark.parametrize("n", [1, 3, 11, 13])
@pytest.mark.parametrize("dtype", [np.complex64, np.complex128])
def test_product_phase_kernel_matches_a_diagonal(n, dtype):
    """``CpuKernels.apply_product_phase`` against the dense diagonal, serial and threaded."""
    rng = np.random.default_rng(n)
    phases = np.exp(1j * rng.uniform(0, 6.3, size=n))
    glob = np.exp(1j * 0.7)
    state = (rng.normal(size=(2, 2**n)) + 1j * rng.normal(size=(2, 2**n))).astype(dtype)
    x = np.arange(2**n)
    diag = glob * np.prod([np.where((x >> q) & 1, phases[q], 1) for q in range(n)], axis=0)
    for threaded in (False, True):
        kernels = CpuKernels()
        kernels._serial_below = 0 if threaded else 1 << 40
        got = state.copy()
        kernels.apply_product_phase(got, glob, phases)
        tol = 1e-5 if dtype == np.complex64 else 1e-12
        np.testing.assert_allclose(got, state * diag, atol=tol)


@pytest.mark.parametrize("precision", ["double", "single"])
def test_simulator_in_frames_matches_qiskit(precision):
    """17 qubits (over the frames threshold): the layered rotations and a random circuit
    of every gate: statevector, probabilities and <Z_16 Z_4>, <X_16 Y_4> against qiskit."""
    from qworkbench import PauliSum

    n = 17
    sim = get_simulator("statevector", device="cpu", precision=precision)
    assert 1 << n >= CpuKernels.real_frames_from
    tol = 1e-10 if precision == "double" else 5e-5
    for circuit in (layered_circuit(n, 6, 3), random_circuit(n, 60, np.random.default_rng(8))):
        expected = Statevector(circuit.to_qiskit())
        np.testing.assert_allclose(sim.statevector(circuit), expected.data, atol=tol)
        # diagonal observables and probabilities skip the frame's final phase pass (they
        # read |amplitude|^2 only); an X/Y term needs it
        for terms in (
            [("Z" + "I" * 11 + "Z" + "I" * 4, 1.0)],
            [("X" + "I" * 11 + "Y" + "I" * 4, 1.0)],
        ):
            obs = PauliSum.from_list(terms)
            want = expected.expectation_value(obs.to_qiskit()).real
            assert abs(sim.expval(circuit, obs) - want) < tol * 100, terms
        np.testing.assert_allclose(sim.probabilities(circuit), expected.probabilities(), atol=tol)
