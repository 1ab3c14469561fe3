"""Inner solvers of :mod:`tasks.lagrangian`: minimise an unconstrained QUBO ``x^T Q x + c``.

``exact`` enumerates every bitstring (vectorised NumPy); ``qaoa`` hands the matrix to
:func:`tasks.qaoa.solve_qubo`; ``vqe`` fits a hardware-efficient ansatz (RY layers and a
CZ chain, Kandala et al., Nature 549, 242 (2017); real amplitudes suffice for a diagonal
Hamiltonian) to the Ising form with adjoint gradients and reads the best of the most
probable bitstrings.
"""

from __future__ import annotations

import numpy as np

from qworkbench import Circuit, Parameter, optim
from qworkbench.utils import int_seed
from tasks.problems import evaluate_qubo, qubo_minimum, qubo_to_ising

__all__ = ["SOLVERS", "solve_inner"]

_VQE_CANDIDATES = 32  # most probable bitstrings scored by their QUBO value
MAX_SIMULATED_QUBITS = 24  # statevector inner solves beyond this take too long to be useful


def _exact(Q, offset, rng, **options):
    if options:
        raise TypeError(f"the exact solver takes no options, got {sorted(options)}")
    return qubo_minimum(Q, offset)


def _qaoa(Q, offset, rng, p: int = 1, **options):
    from tasks.qaoa import solve_qubo  # lazily: the QAOA stack is heavier than we need here

    result = solve_qubo(Q, offset, p=p, seed=int_seed(rng), **options)
    x = tuple(int(b) for b in result.x)
    return x, float(evaluate_qubo(Q, offset, x)[0])


def hardware_efficient(num_qubits: int, layers: int) -> Circuit:
    """``layers`` of RY on every qubit followed by a CZ chain, then a final RY layer."""
    c = Circuit(num_qubits)
    k = 0
    for layer in range(layers + 1):
        for q in range(num_qubits):
            c.ry(Parameter(f"t{k}"), q)
            k += 1
        if layer < layers:
            for q in range(num_qubits - 1):
                c.cz(q, q + 1)
    return c


def _vqe(Q, offset, rng, layers: int = 2, maxiter: int = 100, optimizer: str = "l-bfgs-b"):
    from simulators import get_simulator

    m = Q.shape[0]
    hamiltonian = qubo_to_ising(Q, offset)
    circuit = hardware_efficient(m, layers)
    sim = get_simulator("statevector")
    theta0 = rng.uniform(-0.1, 0.1, len(circuit.parameters)) + np.pi / 2  # near |+>^n
    result = optim.minimize(
        lambda t: float(sim.expval(circuit, hamiltonian, t)),
        theta0,
        method=optimizer,
        maxiter=maxiter,
        seed=int_seed(rng),
        jac=lambda t: np.asarray(sim.gradient(circuit, hamiltonian, t)),
    )
    probs = np.asarray(sim.probabilities(circuit, result.x), dtype=float)
    top = np.argsort(-probs, kind="stable")[:_VQE_CANDIDATES]
    bits = ((top[:, None] >> np.arange(m)) & 1).astype(float)
    values = evaluate_qubo(Q, offset, bits)
    best = int(np.argmin(values))
    return tuple(int(b) for b in bits[best]), float(values[best])


SOLVERS = {"exact": _exact, "qaoa": _qaoa, "vqe": _vqe}


def solve_inner(solver: str, Q, offset: float, rng, **options) -> tuple[tuple[int, ...], float]:
    """``(x, value)``: the solver's answer to ``min x^T Q x + offset`` and its value."""
    if solver not in SOLVERS:
        raise ValueError(f"unknown solver {solver!r}; choose one of {', '.join(SOLVERS)}")
    if solver != "exact" and Q.shape[0] > MAX_SIMULATED_QUBITS:
        raise ValueError(
            f"the {solver} solver would simulate {Q.shape[0]} qubits, more than "
            f"{MAX_SIMULATED_QUBITS}; use fewer variables or a slack-free method"
        )
    return SOLVERS[solver](Q, offset, rng, **options)
