"""QAOA circuits: the cost layer of a diagonal Ising ``PauliSum`` and the X / XY mixers.

One layer ``k`` applies ``exp(-i gamma_k H_C)`` then the mixer ``exp(-i beta_k H_M)``
(Farhi, Goldstone, Gutmann 2014); the XY ring mixer follows Hadfield et al.,
"From the Quantum Approximate Optimization Algorithm to a Quantum Alternating
Operator Ansatz", Algorithms 12, 34 (2019), Sec. 4.1.
"""

from __future__ import annotations

import math
import numbers
from collections.abc import Sequence

import numpy as np

from qworkbench import Circuit, Parameter, PauliSum
from qworkbench.utils import positive_int

__all__ = [
    "qaoa_circuit",
    "cost_terms",
    "diagonal_energies",
    "disjoint_groups",
    "w_state",
    "MIXERS",
    "INITIAL_STATES",
]

#: mixer names accepted by :func:`qaoa_circuit`
MIXERS = ("x", "xy")
#: initial states of the one-hot groups under the XY mixer
INITIAL_STATES = ("w", "basis")
_MAX_DIAGONAL_QUBITS = 26


def cost_terms(ising: PauliSum, atol: float = 1e-12):
    """A diagonal ``ising`` as ``(supports, coeffs, constant)``: the qubits and real
    coefficient of each non-identity Z string, and the identity coefficient.

    Raises:
        TypeError: ``ising`` is not a PauliSum.
        ValueError: a term has an X or Y, or a coefficient is complex.
    """
    if not isinstance(ising, PauliSum):
        raise TypeError(f"expected a diagonal PauliSum, got {type(ising).__name__}")
    ham = ising.simplify(atol)
    if len(ham) and ham.x.any():
        bad = [label for label, xs in zip(ham.labels(), ham.x) if xs.any()][0]
        raise ValueError(f"the cost Hamiltonian must be diagonal (Z strings); it has {bad!r}")
    if len(ham) and np.abs(ham.coeffs.imag).max() > atol:
        raise ValueError("the cost Hamiltonian must have real coefficients")
    supports, coeffs, constant = [], [], 0.0
    for zs, c in zip(ham.z, ham.coeffs.real):
        mask = sum(int(w) << (64 * k) for k, w in enumerate(zs))
        if mask == 0:
            constant += float(c)  # the identity only shifts the energy (a global phase)
            continue
        supports.append(tuple(q for q in range(ham.num_qubits) if (mask >> q) & 1))
        coeffs.append(float(c))
    return supports, np.asarray(coeffs, dtype=float), constant


def diagonal_energies(ising: PauliSum) -> np.ndarray:
    """Energy of every basis state (index bit q = qubit q) under a diagonal ``ising``,
    identity term included; shape (2**n,)."""
    n = ising.num_qubits
    if n > _MAX_DIAGONAL_QUBITS:
        raise ValueError(f"diagonal energies are tabulated up to {_MAX_DIAGONAL_QUBITS} qubits")
    supports, coeffs, constant = cost_terms(ising)
    index = np.arange(1 << n, dtype=np.int64)
    energies = np.full(1 << n, constant)
    for qubits, c in zip(supports, coeffs):
        mask = sum(1 << q for q in qubits)
        energies += c * (1.0 - 2.0 * (np.bitwise_count(index & mask) & 1))
    return energies


def disjoint_groups(groups, num_qubits: int) -> list[tuple[int, ...]]:
    """``groups`` checked, keeping each group that shares no qubit with an earlier kept one
    (TSP's row and column constraints overlap; the mixer can preserve one set of them)."""
    kept: list[tuple[int, ...]] = []
    used: set[int] = set()
    for k, group in enumerate(groups):
        members = tuple(group)
        for q in members:
            if isinstance(q, bool) or not isinstance(q, numbers.Integral):
                raise TypeError(f"group {k}: {q!r} is not a qubit index")
            if not 0 <= q < num_qubits:
                raise ValueError(f"group {k}: qubit {q} is out of range for {num_qubits} qubits")
        if len(set(members)) != len(members):
            raise ValueError(f"group {k} repeats a qubit: {list(members)}")
        if not members or used.intersection(members):
            continue
        kept.append(tuple(int(q) for q in members))
        used.update(members)
    return kept


def w_state(circuit: Circuit, qubits: Sequence[int]) -> Circuit:
    """Append a W state (equal superposition of the one-hot states) on ``qubits``.

    The excitation starts on ``qubits[0]``; step ``i`` keeps amplitude 1/sqrt(m) there
    and passes the rest on with a controlled RY and a CNOT back.
    """
    m = len(qubits)
    circuit.x(qubits[0])
    for i in range(m - 1):
        theta = 2.0 * math.acos(1.0 / math.sqrt(m - i))
        circuit.cry(theta, qubits[i], qubits[i + 1])
        circuit.cx(qubits[i + 1], qubits[i])
    return circuit


def _cost_layer(circuit: Circuit, supports, coeffs, gamma) -> None:
    for qubits, c in zip(supports, coeffs):
        angle = (2.0 * c) * gamma  # exp(-i gamma c Z..Z) = R_{Z..Z}(2 c gamma)
        if len(qubits) == 1:
            circuit.rz(angle, qubits[0])
        elif len(qubits) == 2:
            circuit.rzz(angle, *qubits)
        else:  # parity onto the last qubit, rotate, uncompute
            ladder = list(zip(qubits[:-1], qubits[1:]))
            for a, b in ladder:
                circuit.cx(a, b)
            circuit.rz(angle, qubits[-1])
            for a, b in reversed(ladder):
                circuit.cx(a, b)


def _ring_pairs(group: tuple[int, ...]) -> list[tuple[int, int]]:
    if len(group) < 2:
        return []
    pairs = list(zip(group[:-1], group[1:]))
    return pairs + [(group[-1], group[0])] if len(group) > 2 else pairs


def _mixer_layer(circuit: Circuit, groups, free_qubits, beta) -> None:
    for group in groups:
        # exp(-i beta (XX + YY) / 2) per ring pair, pairs in ring order
        for a, b in _ring_pairs(group):
            circuit.rxx(beta, a, b)
            circuit.ryy(beta, a, b)
    for q in free_qubits:
        circuit.rx(2.0 * beta, q)  # exp(-i beta X)


def qaoa_circuit(
    ising: PauliSum,
    p: int,
    mixer: str = "x",
    groups: Sequence[Sequence[int]] | None = None,
    initial_state: str = "w",
) -> Circuit:
    """The depth-``p`` QAOA circuit of a diagonal Ising cost Hamiltonian.

    Layer ``k`` is ``exp(-i beta_k H_M) exp(-i gamma_k H_C)`` with parameters
    ``gamma_k`` and ``beta_k`` (``Parameter("gamma_0")``, ...). The cost layer drops the
    identity and applies RZ (1-local), RZZ (2-local) or a CNOT ladder around an RZ
    (higher weight) per term.

    Mixers:
        ``"x"``: ``H_M = sum_q X_q`` from ``|+>^n``.
        ``"xy"``: on each one-hot group of ``groups`` (qubit indices) the XY ring mixer
        ``H_M = sum_{ring pairs} (X_a X_b + Y_a Y_b) / 2``, applied as the ordered
        product of its pair terms, each ``RXX(beta) RYY(beta)``; it keeps the Hamming
        weight of every group. Groups that overlap an earlier group are skipped; qubits
        in no kept group (slack bits, ...) get the X mixer and start in ``|+>``. Each
        group starts one-hot: ``initial_state="w"`` prepares a W state (all one-hot
        states, equal weights); ``"basis"`` sets member ``j mod len(group)`` of group
        ``j`` (for TSP's city rows that is the identity tour, a feasible state).

    Examples:
        >>> from qworkbench import PauliSum
        >>> c = qaoa_circuit(PauliSum.from_list([("ZZ", 0.5), ("II", -0.5)]), p=2)
        >>> [p.name for p in c.parameters], c.count_ops()["rzz"]
        (['gamma_0', 'beta_0', 'gamma_1', 'beta_1'], 2)
    """
    p = positive_int("p", p)
    if mixer not in MIXERS:
        raise ValueError(f"unknown mixer {mixer!r}; choose one of {', '.join(MIXERS)}")
    if initial_state not in INITIAL_STATES:
        raise ValueError(
            f"unknown initial_state {initial_state!r}; choose one of {', '.join(INITIAL_STATES)}"
        )
    supports, coeffs, _ = cost_terms(ising)
    n = ising.num_qubits
    kept: list[tuple[int, ...]] = []
    if mixer == "xy":
        if not groups:
            raise ValueError("the xy mixer needs one-hot groups (lists of qubit indices)")
        kept = disjoint_groups(groups, n)
    in_group = {q for g in kept for q in g}
    free = [q for q in range(n) if q not in in_group]

    circuit = Circuit(n)
    for q in free:
        circuit.h(q)
    for j, group in enumerate(kept):
        if initial_state == "w":
            w_state(circuit, group)
        else:
            circuit.x(group[j % len(group)])
    for k in range(int(p)):
        _cost_layer(circuit, supports, coeffs, Parameter(f"gamma_{k}"))
        _mixer_layer(circuit, kept, free, Parameter(f"beta_{k}"))
    return circuit
