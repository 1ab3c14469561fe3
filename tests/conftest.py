"""Shared test helpers: random circuits over the whole gate library."""

from __future__ import annotations

import os
import tempfile

import numpy as np
import pytest
from hypothesis import strategies as st

from qworkbench import Circuit
from qworkbench.circuit import GATES

GATE_NAMES = sorted(GATES)

# Tests (and the commands they start) cache molecular Hamiltonians in a throwaway
# directory, never in the user's ~/.cache.
os.environ.setdefault("QWB_CACHE", tempfile.mkdtemp(prefix="qwb-test-cache-"))


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


def pytest_collection_modifyitems(config, items):
    """Skip ``gpu`` tests cleanly when CuPy does not see a GPU."""
    from simulators._kernels import gpu_available

    if gpu_available():
        return
    skip = pytest.mark.skip(reason="no CUDA GPU visible to CuPy")
    for item in items:
        if "gpu" in item.keywords:
            item.add_marker(skip)


def random_pauli_sum(n: int, terms: int, rng: np.random.Generator):
    """A random Hermitian PauliSum (real coefficients) as (PauliSum, SparsePauliOp)."""
    from qiskit.quantum_info import SparsePauliOp

    from qworkbench import PauliSum

    labels = ["".join(rng.choice(list("IXYZ"), n)) for _ in range(terms)]
    coeffs = rng.normal(size=terms)
    pairs = list(zip(labels, coeffs))
    return PauliSum.from_list(pairs), SparsePauliOp.from_list(pairs)


def parameterized_circuit(n: int, layers: int, rng: np.random.Generator):
    """A hardware-efficient-style ansatz using every parameterised gate kind."""
    from qworkbench import Parameter

    c = Circuit(n)
    k = 0
    names1 = ["rx", "ry", "rz", "p"]
    names2 = ["crx", "cry", "crz", "rzz", "rxx", "ryy"]
    for _ in range(layers):
        for q in range(n):
            c.append(names1[rng.integers(4)], [q], [Parameter(f"t{k}")])
            k += 1
        for q in range(n - 1):
            c.cx(q, q + 1)
            if n > 1:
                name = names2[rng.integers(len(names2))]
                c.append(name, [q + 1, q], [2 * Parameter(f"t{k}") - 0.3])
                k += 1
        c.u(Parameter(f"t{k}"), 0.4, Parameter(f"t{k + 1}"), n - 1)
        k += 2
    return c


# -- a small regression model for the optimizer tests ----------------------------------------
def small_mlp(seed: int):
    """A 32-64-48-8 tanh MLP initialised from ``seed``."""
    import torch

    torch.manual_seed(seed)
    return torch.nn.Sequential(
        torch.nn.Linear(32, 64), torch.nn.Tanh(), torch.nn.Linear(64, 48), torch.nn.Tanh(),
        torch.nn.Linear(48, 8),
    )  # fmt: skip


def regression_data(seed: int = 0):
    """256 inputs and the targets of a random tanh layer."""
    import torch

    g = torch.Generator().manual_seed(seed)
    x = torch.randn(256, 32, generator=g)
    w = torch.randn(32, 8, generator=g)
    return x, torch.tanh(x @ w)


def train_steps(model, opt, steps: int, data) -> np.ndarray:
    """``steps`` full-batch MSE steps; the loss before each."""
    import torch

    x, y = data
    losses = []
    for _ in range(steps):
        opt.zero_grad()
        loss = torch.nn.functional.mse_loss(model(x), y)
        loss.backward()
        opt.step()
        losses.append(loss.item())
    return np.array(losses)
