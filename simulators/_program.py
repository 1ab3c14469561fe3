"""Gate programs for the small-circuit engine: a whole circuit in one kernel call.

For the QAS/VQE workload (4-14 qubits, tens of gates, thousands of parameter
sets) per-gate Python work dominates. A program flattens the gates once (kinds,
qubits, matrix offsets); binding computes every parameterised matrix with one
vectorised NumPy expression per gate kind and writes it into one (batch, entries)
array that the engine reads.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np

from simulators._matrices import batched_matrix
from simulators._plan import Gate

__all__ = ["Program", "compile_program", "SMALL_MAX_QUBITS"]

SMALL_MAX_QUBITS = 14  # a state row of 2**14 complex128 is 256 KiB: one thread's cache
_PERM_KIND = {"x": 3, "cx": 4, "swap": 5}


@dataclass(frozen=True)
class _Group:
    """All parameterised gates of one kind: where their angles come from and where
    their matrices go."""

    name: str
    slots: np.ndarray  # (gates, num_params), -1 for constant angles
    scales: np.ndarray
    offsets: np.ndarray
    columns: np.ndarray  # (gates, d*d) columns of the entries array


@dataclass(frozen=True)
class Program:
    kinds: np.ndarray  # (gates,) int64
    qubits: np.ndarray  # (gates, 3) int64
    offsets: np.ndarray  # (gates,) int64 into the entries
    fixed_entries: np.ndarray  # (1, entries) complex128: constant gates filled in
    groups: tuple[_Group, ...]

    def entries(self, params: np.ndarray | None) -> np.ndarray:
        """(batch or 1, entries) matrices for ``params`` (batch, n_params)."""
        if not self.groups or params is None:
            return self.fixed_entries
        batch = len(params)
        out = np.repeat(self.fixed_entries, batch, axis=0)
        padded = np.concatenate([params, np.zeros((batch, 1))], axis=1)  # slot -1 -> 0
        for g in self.groups:
            angles = padded[:, g.slots] * g.scales + g.offsets  # (batch, gates, num_params)
            mats = batched_matrix(g.name, angles)
            out[:, g.columns] = mats.reshape(batch, *g.columns.shape)
        return out


def compile_program(gates: list[Gate]) -> Program:
    kinds, qubits, offsets = [], [], []
    fixed: list[np.ndarray] = []
    grouped: dict[str, list[tuple[Gate, int]]] = {}
    cursor = 0
    for gate in gates:
        k = len(gate.qubits)
        kinds.append(_PERM_KIND.get(gate.name, k - 1))
        qubits.append([*gate.qubits, *([0] * (4 - k))])
        offsets.append(cursor)
        size = 0 if gate.name in _PERM_KIND else 4**k
        block = np.zeros(size, dtype=np.complex128)
        if size:
            if gate.is_parameterized:
                grouped.setdefault(gate.name, []).append((gate, cursor))
            else:
                block = gate.matrices(None)[0].ravel()
        fixed.append(block)
        cursor += size
    groups = []
    for name, members in grouped.items():
        size = len(members[0][0].qubits)
        cols = np.array([np.arange(start, start + 4**size) for _, start in members])
        groups.append(
            _Group(
                name,
                np.array([g.slots for g, _ in members]),
                np.array([g.scales for g, _ in members]),
                np.array([g.offsets for g, _ in members]),
                cols,
            )
        )
    entries = np.concatenate(fixed)[None] if fixed else np.zeros((1, 1), dtype=np.complex128)
    return Program(
        np.array(kinds, dtype=np.int64),
        np.array(qubits, dtype=np.int64).reshape(-1, 4),
        np.array(offsets, dtype=np.int64),
        entries,
        tuple(groups),
    )
