"""Analyses of a circuit: depth, operation counts, Clifford detection.

Each is a function of the circuit that changes nothing (transformations live
elsewhere and return new circuits).
"""

from __future__ import annotations

import functools
from collections import Counter

from qworkbench.circuit._gates import GATES, is_clifford_unitary

__all__ = ["depth", "count_ops", "first_non_clifford", "is_clifford_operation"]


def depth(circuit) -> int:
    """Longest path in layers of operations sharing a qubit or clbit (barriers excluded)."""
    qubit_level = [0] * circuit.num_qubits
    clbit_level = [0] * circuit.num_clbits
    best = 0
    for op in circuit:
        if op.name == "barrier":
            continue
        level = 1 + max([qubit_level[q] for q in op.qubits] + [clbit_level[c] for c in op.clbits])
        for q in op.qubits:
            qubit_level[q] = level
        for c in op.clbits:
            clbit_level[c] = level
        best = max(best, level)
    return best


def count_ops(circuit) -> dict[str, int]:
    """Counts by operation name, most frequent first."""
    return dict(Counter(op.name for op in circuit).most_common())


@functools.lru_cache(maxsize=4096)
def _clifford_at(name: str, params: tuple[float, ...]) -> bool:
    return is_clifford_unitary(GATES[name].matrix(*params))


def is_clifford_operation(op) -> bool:
    """Whether one operation is Clifford; measurements and barriers count as Clifford."""
    spec = GATES.get(op.name)
    if spec is None:
        return True
    if spec.clifford is not None:
        return spec.clifford
    if op.is_parameterized:
        return False
    return _clifford_at(op.name, tuple(round(p, 12) for p in op.params))


def first_non_clifford(circuit):
    """The first operation that is not Clifford, or None."""
    for op in circuit:
        if not is_clifford_operation(op):
            return op
    return None
