"""Gadget mining by library learning, for the gadget RL agent.

Kundu et al., "Reinforcement learning with learned gadgets to tackle hard quantum
problems on real hardware": train on an easy instance, take the best circuits, and
learn a library of "gadgets" -- short gate sequences that recur in them -- which become
composite actions when training on a harder instance. Library learning here is greedy
compression, as in byte-pair encoding: repeatedly take the contiguous gate subsequence
whose replacement by one new symbol most shortens the top-K circuits (savings =
count * (length - 1), occurrences counted without overlap from the left), add it,
rewrite the circuits, and repeat.

Circuits are sequences of gate tokens ``(name, qubits)``; angles are abstracted away
(a qworkbench ``Circuit`` or anything yielding objects with ``.name`` and ``.qubits``
works too). Gadgets are qubit-relative: a pattern of gate names over qubit slots,
numbered in order of first use, e.g. ``(("rz", (0,)), ("cz", (0, 1)))`` matches
RZ(2)·CZ(2, 3) with slots (2, 3) as well as RZ(0)·CZ(0, 1). Gadgets are made of
primitive gates only; an occurrence of an earlier gadget ends a window.

Examples:
    >>> circuits = [[("rz", (0,)), ("cz", (0, 1)), ("x", (1,)), ("rz", (1,)), ("cz", (1, 0))]]
    >>> [g.name for g in mine_gadgets(circuits)]
    ['g0_rz_cz']
    >>> mine_gadgets(circuits)[0].instantiate((3, 4))
    [('rz', (3,)), ('cz', (3, 4))]
"""

from __future__ import annotations

import itertools
from collections import defaultdict
from collections.abc import Iterable, Sequence
from dataclasses import dataclass

from qworkbench.utils import int_at_least, positive_int

__all__ = ["Gadget", "expand", "gadget_actions", "mine_gadgets", "rewrite", "tokens"]

Token = tuple[str, tuple[int, ...]]
Pattern = tuple[tuple[str, tuple[int, ...]], ...]


@dataclass(frozen=True)
class Gadget:
    """A mined gate pattern over ``arity`` qubit slots.

    Attributes:
        gates: ((gate name, slots), ...), slots numbered 0 .. arity - 1 by first use.
        arity: number of distinct qubits the gadget acts on.
        count: non-overlapping occurrences in the mined circuits when it was chosen.
        savings: count * (len(gates) - 1), the symbols its rewrite removed.
        name: ``g<index>_<gate>_<gate>...``, the symbol that stands for it.
    """

    gates: Pattern
    arity: int
    count: int = 0
    savings: int = 0
    name: str = ""

    def __post_init__(self):
        slots = sorted({s for _, qubits in self.gates for s in qubits})
        if not self.gates or slots != list(range(self.arity)):
            raise ValueError(
                f"gadget gates must use slots 0 .. arity - 1 = {self.arity - 1}, got {self.gates!r}"
            )

    def __len__(self) -> int:
        return len(self.gates)

    def instantiate(self, qubits: Sequence[int]) -> list[Token]:
        """The gadget's gates on ``qubits`` (slot s -> qubits[s])."""
        qubits = tuple(qubits)
        if len(qubits) != self.arity or len(set(qubits)) != self.arity:
            raise ValueError(
                f"gadget {self.name or self.gates!r} needs {self.arity} distinct qubits, "
                f"got {qubits!r}"
            )
        return [(name, tuple(qubits[s] for s in slots)) for name, slots in self.gates]

    def to_json(self) -> dict:
        return {"name": self.name, "gates": [[n, list(s)] for n, s in self.gates],
                "arity": self.arity, "count": self.count, "savings": self.savings}  # fmt: skip

    @classmethod
    def from_json(cls, data: dict) -> Gadget:
        gates = tuple((str(n), tuple(int(q) for q in s)) for n, s in data["gates"])
        return cls(gates, int(data["arity"]), int(data.get("count", 0)),
                   int(data.get("savings", 0)), str(data.get("name", "")))  # fmt: skip


def _token(item, where: str) -> Token:
    if hasattr(item, "name") and hasattr(item, "qubits"):
        name, qubits = item.name, item.qubits
    elif isinstance(item, (tuple, list)) and len(item) == 2:
        name, qubits = item
    else:
        raise TypeError(f"{where}: a gate token is (name, qubits), got {item!r}")
    if not isinstance(name, str) or not name:
        raise TypeError(f"{where}: gate name must be a non-empty string, got {name!r}")
    if isinstance(qubits, int) and not isinstance(qubits, bool):
        qubits = (qubits,)
    try:
        qubits = tuple(qubits)
    except TypeError:
        raise TypeError(
            f"{where}: qubits of {name!r} must be a tuple of ints, got {qubits!r}"
        ) from None
    if not qubits or any(isinstance(q, bool) or not isinstance(q, int) or q < 0 for q in qubits):
        raise ValueError(f"{where}: qubits of {name!r} must be non-negative ints, got {qubits!r}")
    if len(set(qubits)) != len(qubits):
        raise ValueError(f"{where}: repeated qubit in {name}{qubits!r}")
    return name.lower(), qubits


def tokens(circuit) -> list[Token]:
    """A circuit as gate tokens: (name, qubits) pairs, or objects with ``.name`` and
    ``.qubits`` (a qworkbench ``Circuit`` iterates over such operations)."""
    if isinstance(circuit, (str, bytes)) or not isinstance(circuit, Iterable):
        raise TypeError(f"a circuit is a sequence of gate tokens, got {type(circuit).__name__}")
    return [_token(item, f"gate {i}") for i, item in enumerate(circuit)]


def _canonical(window: Sequence[Token]) -> tuple[Pattern, tuple[int, ...]]:
    """(pattern over slots by first use, the qubit in each slot)."""
    slots: dict[int, int] = {}
    pattern = tuple(
        (name, tuple(slots.setdefault(q, len(slots)) for q in qubits)) for name, qubits in window
    )
    return pattern, tuple(slots)


def _rewrite_one(seq: list[Token], gadget: Gadget, barrier: set[str]) -> tuple[list[Token], int]:
    """Replace ``gadget``'s occurrences left to right without overlap; (new, count)."""
    out, i, n, count, size = [], 0, len(seq), 0, len(gadget.gates)
    while i < n:
        window = seq[i : i + size]
        if len(window) == size and not any(name in barrier for name, _ in window):
            pattern, qubits = _canonical(window)
            if pattern == gadget.gates:
                out.append((gadget.name, qubits))
                i, count = i + size, count + 1
                continue
        out.append(seq[i])
        i += 1
    return out, count


def _best_pattern(seqs, barrier, max_len, min_count):
    """The pattern with the largest savings (then count, then fewer gates, then first
    seen): (pattern, qubits-of-first, count, savings) or None."""
    last_end: dict[Pattern, tuple[int, int]] = {}
    counts: dict[Pattern, int] = defaultdict(int)
    for c, seq in enumerate(seqs):
        for start in range(len(seq)):
            for size in range(2, max_len + 1):
                end = start + size
                if end > len(seq) or seq[end - 1][0] in barrier or seq[start][0] in barrier:
                    break
                pattern, _ = _canonical(seq[start:end])
                # greedy non-overlapping count: take an occurrence if it starts after
                # the previous one taken in the same circuit ended (rewrite's rule)
                prev = last_end.get(pattern)
                if prev is None or prev[0] != c or start >= prev[1]:
                    last_end[pattern] = (c, end)
                    counts[pattern] += 1
    best, best_key = None, None
    for order, (pattern, count) in enumerate(counts.items()):
        if count < min_count:
            continue
        key = (count * (len(pattern) - 1), count, -len(pattern), -order)
        if best_key is None or key > best_key:
            best, best_key = pattern, key
    return None if best is None else (best, counts[best], best_key[0])


def mine_gadgets(
    circuits: Sequence,
    top_k: int | None = None,
    max_len: int = 4,
    min_count: int = 2,
    n_gadgets: int | None = None,
) -> list[Gadget]:
    """Mine gadgets from ``circuits`` (best first; the first ``top_k`` are used).

    Args:
        circuits: sequences of gate tokens (see :func:`tokens`), ranked best first.
        top_k: how many of the best circuits to mine (None = all).
        max_len: longest gadget, in gates (>= 2).
        min_count: fewest non-overlapping occurrences a gadget needs.
        n_gadgets: most gadgets to return (None = until nothing qualifies).

    Returns:
        Gadgets in the order chosen; rewriting the circuits with them in that order
        shortens the total length by the sum of their ``savings``.
    """
    if isinstance(circuits, (str, bytes)) or not isinstance(circuits, Sequence):
        raise TypeError(f"circuits must be a sequence of circuits, got {type(circuits).__name__}")
    top_k = None if top_k is None else int_at_least("top_k", top_k, 1)
    max_len = int_at_least("max_len", max_len, 2)
    min_count = int_at_least("min_count", min_count, 1)
    n_gadgets = None if n_gadgets is None else int_at_least("n_gadgets", n_gadgets, 0)
    chosen = circuits if top_k is None else circuits[:top_k]
    seqs = []
    for c, circuit in enumerate(chosen):
        try:
            seqs.append(tokens(circuit))
        except (TypeError, ValueError) as err:
            raise type(err)(f"circuit {c}: {err}") from None
    gadgets: list[Gadget] = []
    barrier: set[str] = set()
    while n_gadgets is None or len(gadgets) < n_gadgets:
        found = _best_pattern(seqs, barrier, max_len, min_count)
        if found is None or found[2] <= 0:
            break
        pattern, count, savings = found
        arity = 1 + max(s for _, slots in pattern for s in slots)
        name = f"g{len(gadgets)}_" + "_".join(gate for gate, _ in pattern)
        gadget = Gadget(pattern, arity, count, savings, name)
        barrier.add(name)
        seqs, total = zip(*(_rewrite_one(seq, gadget, barrier) for seq in seqs))
        seqs = list(seqs)
        assert sum(total) == count, "rewrite and count disagree"
        gadgets.append(gadget)
    return gadgets


def _check_gadgets(gadgets) -> dict[str, Gadget]:
    if isinstance(gadgets, Gadget):
        gadgets = [gadgets]
    table = {}
    for g in gadgets:
        if not isinstance(g, Gadget):
            raise TypeError(f"expected Gadget objects, got {type(g).__name__}")
        if not g.name:
            raise ValueError(f"gadget {g.gates!r} needs a name to stand for it in circuits")
        table[g.name] = g
    return table


def rewrite(circuit, gadgets: Sequence[Gadget]) -> list[Token]:
    """``circuit`` with each gadget's occurrences (in ``gadgets`` order, left to right,
    without overlap) replaced by the token ``(gadget.name, qubits)``."""
    table = _check_gadgets(gadgets)
    seq = tokens(circuit)
    barrier: set[str] = set()
    for gadget in table.values():
        barrier.add(gadget.name)
        seq, _ = _rewrite_one(seq, gadget, barrier)
    return seq


def expand(circuit, gadgets: Sequence[Gadget]) -> list[Token]:
    """Inverse of :func:`rewrite`: gadget tokens back to their gates."""
    table = _check_gadgets(gadgets)
    out: list[Token] = []
    for name, qubits in tokens(circuit):
        out.extend(table[name].instantiate(qubits) if name in table else [(name, qubits)])
    return out


def gadget_actions(
    gadgets: Sequence[Gadget],
    num_qubits: int,
    connectivity: Iterable[tuple[int, int]] | None = None,
) -> list[tuple[Gadget, tuple[int, ...]]]:
    """Composite environment actions: every (gadget, qubits) placement on
    ``num_qubits`` qubits, qubits in slot order; with ``connectivity`` (undirected
    qubit pairs) only placements whose multi-qubit gates act on coupled qubits."""
    num_qubits = positive_int("num_qubits", num_qubits)
    coupled = None
    if connectivity is not None:
        coupled = set()
        for pair in connectivity:
            a, b = pair
            if not (0 <= a < num_qubits and 0 <= b < num_qubits) or a == b:
                raise ValueError(f"connectivity pair {pair!r} is not two of {num_qubits} qubits")
            coupled |= {(a, b), (b, a)}
    actions = []
    for gadget in _check_gadgets(gadgets).values():
        for qubits in itertools.permutations(range(num_qubits), gadget.arity):
            gates = gadget.instantiate(qubits)
            if coupled is None or all(
                pair in coupled for _, q in gates for pair in itertools.combinations(q, 2)
            ):
                actions.append((gadget, qubits))
    return actions
