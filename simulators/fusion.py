"""Gate fusion: group a circuit's gates into blocks of at most ``max_qubits`` qubits.

This is an analysis: it returns the grouping and changes nothing. The simulator
multiplies each block's gates into one matrix and applies it in one pass over the
state, so a layered circuit costs about one pass per block instead of per gate.

A gate may join block ``b`` when no later block touches its qubits (then moving it
up to ``b`` only moves it past gates on other qubits, which commute with it) and
the union of qubits stays within ``max_qubits``.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass

__all__ = ["FusedBlock", "fuse_gates"]

_LOOKBACK = 16  # candidate blocks examined per gate: keeps fusion linear in circuit size


@dataclass(frozen=True)
class FusedBlock:
    """Gates ``ops`` (indices into the input, in order) acting within ``qubits``."""

    qubits: tuple[int, ...]
    ops: tuple[int, ...]


def fuse_gates(gate_qubits: Sequence[Sequence[int]], max_qubits: int = 2) -> list[FusedBlock]:
    """Group gates, given by their qubit tuples in circuit order, into fused blocks.

    Args:
        gate_qubits: the qubits of each gate, in circuit order.
        max_qubits: the widest block to form (a wider gate gets a block of its own;
            1 fuses only one-qubit runs, 0 disables fusion).
    """
    if max_qubits < 0:
        raise ValueError(f"max_qubits must be >= 0, got {max_qubits}")
    blocks_q: list[set[int]] = []
    blocks_ops: list[list[int]] = []
    last: dict[int, int] = {}
    for index, qubits in enumerate(gate_qubits):
        qs = set(qubits)
        floor = max((last.get(q, -1) for q in qs), default=-1)
        best, best_growth = -1, None
        if max_qubits > 0:
            lowest = max(floor, len(blocks_q) - _LOOKBACK, 0)
            for b in range(len(blocks_q) - 1, lowest - 1, -1):
                union = len(blocks_q[b] | qs)
                if union > max(max_qubits, len(blocks_q[b])):
                    continue
                growth = union - len(blocks_q[b])
                if best_growth is None or growth < best_growth:
                    best, best_growth = b, growth
                    if growth == 0:
                        break
        if best < 0:
            blocks_q.append(set(qs))
            blocks_ops.append([index])
            best = len(blocks_q) - 1
        else:
            blocks_q[best] |= qs
            blocks_ops[best].append(index)
        for q in qs:
            last[q] = best
    return [FusedBlock(tuple(sorted(q)), tuple(o)) for q, o in zip(blocks_q, blocks_ops)]
