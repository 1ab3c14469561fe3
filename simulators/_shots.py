"""Shot-noise estimation of <H>: terms grouped into qubit-wise commuting sets, each
set measured once in its rotated basis with ``shots`` shots (what hardware does)."""

from __future__ import annotations

import numpy as np

from qworkbench import Circuit, PauliSum
from simulators._common import check_shots

__all__ = ["estimate_expval"]


def _basis_rotation(circuit: Circuit, group: PauliSum) -> tuple[Circuit, int]:
    """``circuit`` followed by the rotation to the group's measurement basis, and the
    qubits the group measures (as a mask)."""
    n = circuit.num_qubits
    if any(op.name == "measure" for op in circuit):
        raise ValueError("shot estimation takes a circuit without measurements")
    rotated = circuit.copy()
    basis = ["I"] * n
    for label in group.labels():
        for pos, ch in enumerate(label):
            if ch != "I":
                basis[n - 1 - pos] = ch
    for q, ch in enumerate(basis):
        if ch == "X":
            rotated.h(q)
        elif ch == "Y":
            rotated.sdg(q).h(q)
    return rotated, sum(1 << q for q, ch in enumerate(basis) if ch != "I")


def estimate_expval(sim, circuit: Circuit, observable: PauliSum, params, shots: int, seed):
    """<H> estimated from ``shots`` shots per qubit-wise commuting group; (batch,) or float."""
    check_shots(shots)
    rng = seed if isinstance(seed, np.random.Generator) else np.random.default_rng(seed)
    n = circuit.num_qubits
    outcomes = np.arange(1 << n)
    total = None
    for group in observable.simplify().group_qubitwise_commuting():
        support = group.x[:, 0] | group.z[:, 0]
        if not support.any() and len(group) == 1:  # the identity term is exact
            value = np.full(1, group.coeffs[0].real)
        else:
            rotated, _ = _basis_rotation(circuit, group)
            probs = np.atleast_2d(sim.probabilities(rotated, params))
            counts = np.stack([rng.multinomial(int(shots), p / p.sum()) for p in probs])
            # each term reads the parity of its support; identity terms read +1
            masks = support.astype(np.int64)
            signs = 1.0 - 2.0 * (np.bitwise_count(outcomes[None, :] & masks[:, None]) & 1)
            value = (counts @ signs.T / shots) @ group.coeffs.real
        total = value if total is None else total + value
    if total is None:
        total = np.zeros(1)
    batched = params is not None and np.ndim(params) == 2
    return total if batched else float(total[0])
