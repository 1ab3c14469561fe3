"""The gate library against Qiskit's gate classes and SciPy's expm."""

from __future__ import annotations

import numpy as np
import pytest
import scipy.linalg
from qiskit.circuit.library import get_standard_gate_name_mapping
from qiskit.exceptions import QiskitError
from qiskit.quantum_info import Clifford

from qworkbench import Circuit
from qworkbench.circuit import GATES

QISKIT_GATES = get_standard_gate_name_mapping()


def _qiskit_matrix(name: str, params) -> np.ndarray:
    gate = QISKIT_GATES[name]
    return type(gate)(*params).to_matrix() if params else gate.to_matrix()


@pytest.mark.parametrize("name", sorted(GATES))
def test_matrix_equals_qiskit_exactly(name, rng):
    spec = GATES[name]
    for _ in range(5):
        params = rng.uniform(-7, 7, spec.num_params).tolist()
        np.testing.assert_allclose(spec.matrix(*params), _qiskit_matrix(name, params), atol=1e-12)


@pytest.mark.parametrize("name", [g for g in sorted(GATES) if GATES[g].generator is not None])
def test_generator_exponentiates_to_gate(name, rng):
    spec = GATES[name]
    for theta in rng.uniform(-7, 7, 4):
        expected = scipy.linalg.expm(-1j * theta * spec.generator)
        np.testing.assert_allclose(spec.matrix(theta), expected, atol=1e-12)


def test_every_one_parameter_gate_has_a_generator():
    for spec in GATES.values():
        assert (spec.generator is not None) == (spec.num_params == 1), spec.name


@pytest.mark.parametrize("name", sorted(GATES))
def test_inverse_is_the_inverse(name, rng):
    spec = GATES[name]
    params = tuple(rng.uniform(-7, 7, spec.num_params))
    inv_name, inv_params = spec.inverse_params(params)
    product = GATES[inv_name].matrix(*inv_params) @ spec.matrix(*params)
    np.testing.assert_allclose(product, np.eye(2**spec.num_qubits), atol=1e-12)


def _qiskit_says_clifford(matrix) -> bool:
    try:
        Clifford.from_matrix(matrix)
    except QiskitError:
        return False
    return True


@pytest.mark.parametrize("name", sorted(GATES))
def test_clifford_detection_matches_qiskit(name):
    spec = GATES[name]
    # multiples of pi/4: pi/2 multiples are Clifford for every rotation, odd ones are not
    grid = [k * np.pi / 4 for k in range(-4, 5)]
    combos = [()] if spec.num_params == 0 else [(a,) * spec.num_params for a in grid]
    if spec.num_params == 3:
        combos += [(np.pi / 2, 0.0, np.pi), (0.0, np.pi / 4, np.pi / 4), (np.pi, np.pi / 4, 0.0)]
    for params in combos:
        c = Circuit(spec.num_qubits).append(name, range(spec.num_qubits), params)
        expected = _qiskit_says_clifford(spec.matrix(*params))
        assert c.is_clifford() == expected, (name, params)


def test_matrices_are_unitary(rng):
    for spec in GATES.values():
        m = spec.matrix(*rng.uniform(-3, 3, spec.num_params))
        np.testing.assert_allclose(m @ m.conj().T, np.eye(len(m)), atol=1e-12)
