"""Gadget mining (agents.gadgets): planted subsequences are recovered, savings match the
rewrite, rewrite/expand round-trip, qubit-relative matching, composite actions."""

from __future__ import annotations

import numpy as np
import pytest

from agents.gadgets import Gadget, expand, gadget_actions, mine_gadgets, rewrite, tokens

N = 4
# background gates share no name with the planted ones, so planted counts are exact
BACKGROUND = ("h", "ry", "cx")


def random_gate(rng) -> tuple:
    name = BACKGROUND[rng.integers(len(BACKGROUND))]
    if name == "cx":
        a, b = rng.choice(N, 2, replace=False)
        return ("cx", (int(a), int(b)))
    return (name, (int(rng.integers(N)),))


def planted_circuits(seed=0, n_circuits=20, length=12, rz_cz=3, x_sx=2):
    """Random circuits with RZ(a)·CZ(a, b) planted ``rz_cz`` times and X(a)·SX(a)
    ``x_sx`` times each, on random qubits, as units at random places."""
    rng = np.random.default_rng(seed)
    circuits = []
    for _ in range(n_circuits):
        units = [[random_gate(rng)] for _ in range(length)]
        for _ in range(rz_cz):
            a, b = (int(q) for q in rng.choice(N, 2, replace=False))
            units.insert(int(rng.integers(len(units) + 1)), [("rz", (a,)), ("cz", (a, b))])
        for _ in range(x_sx):
            a = int(rng.integers(N))
            units.insert(int(rng.integers(len(units) + 1)), [("x", (a,)), ("sx", (a,))])
        circuits.append([gate for unit in units for gate in unit])
    return circuits


def test_recovers_planted_gadgets_with_their_counts():
    circuits = planted_circuits()
    gadgets = mine_gadgets(circuits, n_gadgets=2)
    first, second = gadgets
    assert first.gates == (("rz", (0,)), ("cz", (0, 1)))
    assert (first.arity, first.count, first.savings) == (2, 60, 60)
    assert first.name == "g0_rz_cz"
    assert second.gates == (("x", (0,)), ("sx", (0,)))
    assert (second.arity, second.count, second.savings, second.name) == (1, 40, 40, "g1_x_sx")


def test_top_k_mines_only_the_best_circuits():
    good = planted_circuits(seed=1, n_circuits=5, rz_cz=0, x_sx=3)
    bad = planted_circuits(seed=2, n_circuits=30, rz_cz=4, x_sx=0)
    gadgets = mine_gadgets(good + bad, top_k=5, n_gadgets=1)
    assert gadgets[0].gates == (("x", (0,)), ("sx", (0,)))
    assert gadgets[0].count == 15


def test_savings_equal_the_reduction_in_total_length():
    circuits = planted_circuits(seed=3, length=15)
    gadgets = mine_gadgets(circuits, max_len=4, min_count=2)
    assert len(gadgets) > 2  # background repeats get mined too once the planted ones are
    total = sum(len(c) for c in circuits)
    for used in range(1, len(gadgets) + 1):
        rewritten = [rewrite(c, gadgets[:used]) for c in circuits]
        removed = total - sum(len(c) for c in rewritten)
        assert removed == sum(g.savings for g in gadgets[:used])
        assert gadgets[used - 1].savings == gadgets[used - 1].count * (len(gadgets[used - 1]) - 1)
    savings = [g.savings for g in gadgets]
    assert savings == sorted(savings, reverse=True)  # greedy: each step the best left


def test_expand_inverts_rewrite():
    circuits = planted_circuits(seed=4)
    gadgets = mine_gadgets(circuits)
    for c in circuits:
        short = rewrite(c, gadgets)
        assert any(name in {g.name for g in gadgets} for name, _ in short)
        assert expand(short, gadgets) == c


def test_qubit_relative_matching_across_qubits():
    circuit = [("rz", (0,)), ("cz", (0, 1)), ("h", (2,)), ("rz", (3,)), ("cz", (3, 2)),
               ("rz", (1,)), ("cz", (0, 1))]  # fmt: skip
    (gadget,) = mine_gadgets([circuit])
    assert gadget.gates == (("rz", (0,)), ("cz", (0, 1)))
    assert gadget.count == 2  # RZ(1)·CZ(0, 1) puts the RZ qubit in the second slot: no match
    short = rewrite(circuit, [gadget])
    assert short == [(gadget.name, (0, 1)), ("h", (2,)), (gadget.name, (3, 2)),
                     ("rz", (1,)), ("cz", (0, 1))]  # fmt: skip
    assert gadget.instantiate((3, 2)) == [("rz", (3,)), ("cz", (3, 2))]


def test_overlapping_occurrences_are_counted_once():
    circuit = [("x", (0,))] * 5
    (gadget,) = mine_gadgets([circuit], min_count=1, n_gadgets=1)
    # X·X·X·X (count 1, savings 3) beats X·X (count 2 without overlap, savings 2)
    assert gadget.gates == (("x", (0,)),) * 4 and gadget.count == 1 and gadget.savings == 3
    (pair,) = mine_gadgets([circuit])  # min_count 2 rules out the longer ones
    assert pair.gates == (("x", (0,)),) * 2 and pair.count == 2
    assert rewrite(circuit, [pair]) == [(pair.name, (0,)), (pair.name, (0,)), ("x", (0,))]


def test_min_count_and_nothing_to_mine():
    assert mine_gadgets([[("h", (0,)), ("x", (1,))]]) == []
    circuit = [("h", (0,)), ("x", (0,))] * 2
    assert mine_gadgets([circuit], min_count=3) == []
    assert mine_gadgets([circuit], n_gadgets=0) == []


def test_tokens_from_operations_and_json_round_trip():
    class Op:
        def __init__(self, name, qubits):
            self.name, self.qubits = name, qubits

    assert tokens([Op("RZ", [1]), ("cz", (1, 2)), ("x", 3)]) == [
        ("rz", (1,)), ("cz", (1, 2)), ("x", (3,))
    ]  # fmt: skip
    gadget = mine_gadgets(planted_circuits(), n_gadgets=1)[0]
    assert Gadget.from_json(gadget.to_json()) == gadget


def test_gadget_actions_respect_connectivity():
    rz_cz = Gadget((("rz", (0,)), ("cz", (0, 1))), 2, name="g0_rz_cz")
    x_sx = Gadget((("x", (0,)), ("sx", (0,))), 1, name="g1_x_sx")
    actions = gadget_actions([rz_cz, x_sx], 3)
    assert len(actions) == 3 * 2 + 3
    line = gadget_actions([rz_cz, x_sx], 3, connectivity=[(0, 1), (1, 2)])
    placed = {(g.name, q) for g, q in line}
    assert ("g0_rz_cz", (1, 0)) in placed and ("g0_rz_cz", (0, 2)) not in placed
    assert len(line) == 4 + 3
    with pytest.raises(ValueError, match="connectivity"):
        gadget_actions([rz_cz], 3, connectivity=[(0, 3)])


def test_bad_inputs_raise_clear_errors():
    with pytest.raises(TypeError, match="circuit 1: gate 0"):
        mine_gadgets([[("x", (0,))], ["x"]])
    with pytest.raises(ValueError, match="repeated qubit"):
        mine_gadgets([[("cz", (1, 1))]])
    with pytest.raises(ValueError, match="non-negative"):
        tokens([("x", (-1,))])
    with pytest.raises(TypeError, match="gate name"):
        tokens([(3, (0,))])
    with pytest.raises(TypeError, match="sequence of circuits"):
        mine_gadgets("rz cz")
    with pytest.raises(ValueError, match="max_len"):
        mine_gadgets([], max_len=1)
    with pytest.raises(ValueError, match="top_k"):
        mine_gadgets([], top_k=0)
    gadget = Gadget((("rz", (0,)), ("cz", (0, 1))), 2, name="g0")
    with pytest.raises(ValueError, match="2 distinct qubits"):
        gadget.instantiate((0, 0))
    with pytest.raises(ValueError, match="slots"):
        Gadget((("cz", (0, 2)),), 2)
    with pytest.raises(TypeError, match="Gadget"):
        rewrite([("x", (0,))], ["g0"])
    with pytest.raises(ValueError, match="num_qubits"):
        gadget_actions([gadget], 0)
