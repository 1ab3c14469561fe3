"""Shared test helpers: random circuits over the whole gate library."""

from __future__ import annotations

import numpy as np
import pytest
from hypothesis import strategies as st

from qworkbench import Circuit
from qworkbench.circuit import GATES

GATE_NAMES = sorted(GATES)


def random_circuit(num_qubits: int, num_ops: int, rng: np.random.Generator) -> Circuit:
    """A random circuit drawing uniformly from every gate that fits."""
    names = [g for g in GATE_NAMES if GATES[g].num_qubits <= num_qubits]
    c = Circuit(num_qubits)
    for _ in range(num_ops):
        spec = GATES[names[rng.integers(len(names))]]
        qubits = rng.choice(num_qubits, size=spec.num_qubits, replace=False).tolist()
        params = rng.uniform(-2 * np.pi, 2 * np.pi, size=spec.num_params).tolist()
        c.append(spec.name, qubits, params)
    return c


@st.composite
def circuits(draw, max_qubits: int = 4, max_ops: int = 12):
    """Hypothesis strategy for bound circuits over every gate."""
    n = draw(st.integers(1, max_qubits))
    names = [g for g in GATE_NAMES if GATES[g].num_qubits <= n]
    c = Circuit(n)
    for _ in range(draw(st.integers(0, max_ops))):
        spec = GATES[draw(st.sampled_from(names))]
        qubits = draw(
            st.lists(
                st.integers(0, n - 1),
                min_size=spec.num_qubits,
                max_size=spec.num_qubits,
                unique=True,
            )
        )
        params = draw(
            st.lists(
                st.floats(-10, 10, allow_nan=False, allow_infinity=False),
                min_size=spec.num_params,
                max_size=spec.num_params,
            )
        )
        c.append(spec.name, qubits, params)
    return c


@pytest.fixture
def rng():
    return np.random.default_rng(1234)
