"""tasks.problems against outside references: qiskit-optimization's QUBO conversion,
networkx, permutation enumeration, Held-Karp and the instance files' known optima."""

from __future__ import annotations

import contextlib
import itertools
import tempfile
from pathlib import Path

import networkx as nx
import numpy as np
import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from qworkbench import data
from qworkbench.errors import InstanceFormatError
from tasks._qubo import _exact_penalty
from tasks.problems import (
    MIS,
    TSP,
    Knapsack,
    LinearConstraint,
    MaxCut,
    QuboProblem,
    bitstrings,
    evaluate_qubo,
    load_dimacs,
    load_mknap,
    load_tsplib,
    qubo_minimum,
)


def instance(name: str) -> Path:
    return data.path(name)  # shipped with the package: never skipped


def small_problems():
    rng = np.random.default_rng(7)
    return [
        MaxCut(nx.cycle_graph(5)),
        MIS(nx.path_graph(4)),
        MIS(nx.complete_graph(3)),
        Knapsack([5, 4, 3, 6], [[2, 3, 1, 4], [1, 1, 3, 2]], [5, 4]),
        Knapsack([3.5, 1.0, 2.0], [4, 2, 3], 6),
        TSP(rng.integers(1, 9, size=(3, 3))),
        TSP(rng.integers(1, 9, size=(4, 4)), fix_start=True),
    ]


# -- QUBO and Ising energies on every bitstring ------------------------------------------------
def expected_energy(problem, varmap, bits, penalty):
    """cost(x) + penalty * Σ_j (a_j·x ± Σ slack - b_j)^2 from the constraint data alone."""
    n = problem.num_variables
    x = bits[:n]
    total = problem.cost(x)
    for j, con in enumerate(problem.constraints):
        slack = sum(w * b for (kind, c, w), b in zip(varmap, bits) if kind == "slack" and c == j)
        if con.sense == ">=":
            slack = -slack
        rhs = np.floor(con.rhs) if con.sense == "<=" else con.rhs
        total += penalty * (con.coefficients @ x + slack - rhs) ** 2
    return total


@pytest.mark.parametrize("problem", small_problems(), ids=lambda p: type(p).__name__)
def test_qubo_and_ising_energies_equal_penalised_cost_on_every_bitstring(problem):
    Q, offset, varmap = problem.qubo(penalty=5.0)
    m = Q.shape[0]
    assert m <= 16 and np.allclose(Q, np.triu(Q))
    X = bitstrings(m)
    energies = evaluate_qubo(Q, offset, X)
    expected = [expected_energy(problem, varmap, row.astype(int), 5.0) for row in X]
    np.testing.assert_allclose(energies, expected, atol=1e-9)
    diagonal = np.diag(problem.ising(penalty=5.0).to_matrix()).real
    np.testing.assert_allclose(diagonal, energies, atol=1e-9)
    # the slack bits can always absorb the gap of a feasible x: min over them = cost
    n = problem.num_variables
    for b in range(1 << n):
        x = [(b >> i) & 1 for i in range(n)]
        best = energies[(np.arange(1 << m) & ((1 << n) - 1)) == b].min()
        assert best == pytest.approx(problem.cost(x) + 5.0 * np.sum(problem.violation(x) ** 2))


def test_slack_free_qubo_of_mis_penalises_each_edge_once():
    p = MIS(nx.cycle_graph(4))
    Q, offset, varmap = p.qubo(penalty=2.0, slack=False)
    assert Q.shape == (4, 4) and len(varmap) == 4
    for b in range(16):
        x = [(b >> i) & 1 for i in range(4)]
        both = sum(x[u] * x[v] for u, v in p.graph.edges)
        assert p.qubo_value(Q, offset, x) == pytest.approx(-sum(x) + 2.0 * both)
    with pytest.raises(ValueError, match="capacity_0"):
        Knapsack([1, 2], [1, 2], 2).qubo(slack=False)


def test_lagrangian_qubo_equals_cost_plus_multiplier_terms():
    p = Knapsack([5, 4, 3, 6], [[2, 3, 1, 4], [1, 1, 3, 2]], [5, 4])
    lam, rho = np.array([0.7, 1.3]), 0.9
    Q, offset = p.lagrangian_qubo(lam, rho=rho, active=[True, False])
    for b in range(16):
        x = np.array([(b >> i) & 1 for i in range(4)])
        g = p.weights @ x - p.capacities
        want = -p.values @ x + lam @ g + rho / 2 * g[0] ** 2
        assert p.qubo_value(Q, offset, x) == pytest.approx(want)
    with pytest.raises(ValueError, match="must be >= 0"):
        p.lagrangian_qubo([-1.0, 0.0])
    with pytest.raises(ValueError, match="need 2 multipliers"):
        p.lagrangian_qubo([1.0])


# -- qiskit-optimization as the reference ---------------------------------------------------------
def to_quadratic_program(problem):
    """The same instance written with qiskit-optimization's modelling API."""
    from qiskit_optimization import QuadraticProgram

    qp = QuadraticProgram()
    n = problem.num_variables
    for i in range(n):
        qp.binary_var(f"x{i}")
    if isinstance(problem, Knapsack):
        qp.maximize(linear=problem.values.tolist())
        for j in range(problem.weights.shape[0]):
            qp.linear_constraint(
                problem.weights[j].tolist(), "<=", float(problem.capacities[j]), f"c{j}"
            )
    elif isinstance(problem, MIS):
        qp.maximize(linear=[1.0] * n)
        for u, v in sorted(tuple(sorted(e)) for e in problem.graph.edges):
            qp.linear_constraint({f"x{u}": 1, f"x{v}": 1}, "<=", 1, f"e{u}_{v}")
    elif isinstance(problem, TSP):
        d, k = problem.distances, problem.num_cities
        quad = {}
        for t in range(k):
            for i, j in itertools.permutations(range(k), 2):
                a, b = problem.index(i, t), problem.index(j, (t + 1) % k)
                key = (f"x{min(a, b)}", f"x{max(a, b)}")
                quad[key] = quad.get(key, 0.0) + d[i, j]
        qp.minimize(quadratic=quad)
        for i in range(k):
            qp.linear_constraint({f"x{problem.index(i, t)}": 1 for t in range(k)}, "==", 1)
        for t in range(k):
            qp.linear_constraint({f"x{problem.index(i, t)}": 1 for i in range(k)}, "==", 1)
    else:
        raise AssertionError(problem)
    return qp


def qiskit_instances():
    rng = np.random.default_rng(3)
    return [
        Knapsack([5, 4, 3, 6], [[2, 3, 1, 4], [1, 1, 3, 2]], [5, 4]),
        Knapsack(rng.integers(1, 20, 5), rng.integers(0, 6, (2, 5)), [7, 9]),
        MIS(nx.path_graph(5)),
        MIS(nx.star_graph(3)),
        TSP(rng.integers(1, 20, size=(3, 3))),
    ]


def qiskit_slack_qubo(problem, penalty=None):
    """InequalityToEquality, IntegerToBinary, LinearEqualityToPenalty, MaximizeToMinimize:
    qiskit-optimization's slack-bit chain (QuadraticProgramToQubo without its first,
    slack-free LinearInequalityToPenalty step)."""
    from qiskit_optimization.converters import (
        InequalityToEquality,
        IntegerToBinary,
        LinearEqualityToPenalty,
        MaximizeToMinimize,
    )

    qp = to_quadratic_program(problem)
    for conv in (
        InequalityToEquality(),
        IntegerToBinary(),
        LinearEqualityToPenalty(penalty=penalty),
        MaximizeToMinimize(),
    ):
        qp = conv.convert(qp)
    return qp


@pytest.mark.parametrize("penalty", [None, 11.0])
@pytest.mark.parametrize("problem", qiskit_instances(), ids=lambda p: type(p).__name__)
def test_qubo_matches_qiskit_optimization(problem, penalty):
    qubo = qiskit_slack_qubo(problem, penalty)
    Q, offset, _ = problem.qubo(penalty=penalty, slack=True)
    assert Q.shape[0] == qubo.get_num_vars()
    X = bitstrings(Q.shape[0])
    ours = evaluate_qubo(Q, offset, X)
    theirs = [qubo.objective.evaluate(row) for row in X]
    np.testing.assert_allclose(ours, theirs, rtol=1e-10, atol=1e-8)


@pytest.mark.parametrize("problem", qiskit_instances(), ids=lambda p: type(p).__name__)
def test_to_quadratic_program_gives_qiskit_the_same_problem(problem):
    from qiskit_optimization.converters import QuadraticProgramToQubo

    theirs = QuadraticProgramToQubo(penalty=6.0).convert(to_quadratic_program(problem))
    ours = QuadraticProgramToQubo(penalty=6.0).convert(problem.to_quadratic_program())
    assert ours.get_num_vars() == theirs.get_num_vars()
    X = bitstrings(ours.get_num_vars())
    np.testing.assert_allclose(
        [ours.objective.evaluate(r) for r in X], [theirs.objective.evaluate(r) for r in X]
    )


def test_mknap1_slack_qubit_counts_and_energies_match_qiskit():
    from qiskit_optimization.converters import QuadraticProgramToQubo

    rng = np.random.default_rng(0)
    for problem, extra in zip(load_mknap(instance("mknap1.txt"))[:3], (56, 89, 87)):
        # no mknap row is a slack-free pattern, so the full converter adds slack bits
        qubo = QuadraticProgramToQubo().convert(to_quadratic_program(problem))
        Q, offset, varmap = problem.qubo(slack=True)
        assert Q.shape[0] == qubo.get_num_vars() == problem.num_variables + extra
        assert sum(kind == "slack" for kind, _, _ in varmap) == extra
        X = rng.integers(0, 2, size=(200, Q.shape[0]))
        theirs = [qubo.objective.evaluate(row) for row in X]
        np.testing.assert_allclose(evaluate_qubo(Q, offset, X), theirs, rtol=1e-10)


@pytest.mark.parametrize("slack", [True, False])
def test_ising_matches_qiskit_to_ising(slack):
    """qiskit maps x = (1 - Z)/2 with qubit i = variable i too: the same diagonal."""
    from qiskit_optimization.converters import QuadraticProgramToQubo

    problem = MIS(nx.path_graph(4))
    if slack:
        qubo = qiskit_slack_qubo(problem, 3.0)
    else:  # QuadraticProgramToQubo penalises x_u + x_v <= 1 as x_u x_v, no slack
        qubo = QuadraticProgramToQubo(penalty=3.0).convert(to_quadratic_program(problem))
    op, const = qubo.to_ising()
    theirs = np.diag(op.to_matrix()).real + const
    ours = np.diag(problem.ising(penalty=3.0, slack=slack).to_matrix()).real
    assert problem.ising(slack=slack).num_qubits == qubo.get_num_vars()
    np.testing.assert_allclose(ours, theirs, atol=1e-9)


@pytest.mark.parametrize("penalty", [None, 4.0])
def test_slack_free_patterns_match_qiskit_linear_inequality_to_penalty(penalty):
    from qiskit_optimization import QuadraticProgram
    from qiskit_optimization.converters import QuadraticProgramToQubo

    problem = MIS(nx.gnp_random_graph(7, 0.4, seed=2))
    qubo = QuadraticProgramToQubo(penalty=penalty).convert(to_quadratic_program(problem))
    Q, offset, _ = problem.qubo(penalty=penalty, slack=False)
    X = bitstrings(7)
    theirs = [qubo.objective.evaluate(row) for row in X]
    np.testing.assert_allclose(evaluate_qubo(Q, offset, X), theirs, atol=1e-9)
    # the other patterns: x0 + x1 + x2 >= 2 and x0 - x3 <= 0, minimising x0 + 2 x3
    qp = QuadraticProgram()
    for i in range(4):
        qp.binary_var(f"x{i}")
    qp.minimize(linear=[1, 0, 0, 2])
    qp.linear_constraint([1, 1, 1, 0], ">=", 2)
    qp.linear_constraint([1, 0, 0, -1], "<=", 0)
    cons = [
        LinearConstraint(np.array([1.0, 1, 1, 0]), ">=", 2.0, "c0"),
        LinearConstraint(np.array([1.0, 0, 0, -1]), "<=", 0.0, "c1"),
    ]
    Q = np.diag([1.0, 0, 0, 2])
    offset = sum(_exact_penalty(Q, con, 5.0) for con in cons)
    qubo = QuadraticProgramToQubo(penalty=5.0).convert(qp)
    X = bitstrings(4)
    np.testing.assert_allclose(
        evaluate_qubo(Q, offset, X), [qubo.objective.evaluate(r) for r in X], atol=1e-9
    )


# -- brute force against references -----------------------------------------------------------
def test_maxcut_brute_force_matches_networkx_cut_size():
    g = nx.gnp_random_graph(9, 0.5, seed=4)
    best = max(nx.cut_size(g, [v for v in g if (b >> v) & 1]) for b in range(1 << 9))
    x, value = MaxCut(g).brute_force()
    assert value == best == nx.cut_size(g, [v for v in g if x[v]])


def test_mis_brute_force_matches_networkx_and_myciel3():
    g = load_dimacs(instance("myciel3.col"))
    assert (g.number_of_nodes(), g.number_of_edges()) == (11, 20)
    x, value = MIS(g).brute_force()
    clique, size = nx.max_weight_clique(nx.complement(g), weight=None)
    assert value == size == len(clique) == 5
    assert all(not (x[u] and x[v]) for u, v in g.edges)


def test_mknap1_brute_force_reaches_known_optima():
    problems = load_mknap(instance("mknap1.txt"))
    assert [p.num_variables for p in problems] == [6, 10, 15, 20, 28, 39, 50]
    for p in problems[:3]:
        x, value = p.brute_force()
        assert value == pytest.approx(p.known_optimum)
        assert p.is_feasible(x)
    with pytest.raises(ValueError, match="too large"):
        problems[4].brute_force()


@pytest.mark.parametrize("fix_start", [False, True])
def test_tsp_brute_force_matches_permutation_enumeration(fix_start):
    rng = np.random.default_rng(11)
    d = rng.integers(1, 30, size=(4, 4)).astype(float)  # asymmetric on purpose
    best = min(
        sum(d[p[t], p[(t + 1) % 4]] for t in range(4)) for p in itertools.permutations(range(4))
    )
    problem = TSP(d, fix_start=fix_start)
    x, value = problem.brute_force()
    assert value == pytest.approx(best)
    tour = problem.tour(x)
    assert sorted(tour) == [0, 1, 2, 3]
    assert sum(d[tour[t], tour[(t + 1) % 4]] for t in range(4)) == pytest.approx(best)
    groups = problem.one_hot_groups
    assert sorted(v for g in groups for v in g) == list(range(problem.num_variables))


def held_karp(d: np.ndarray) -> float:
    """Optimal closed tour length by the Held-Karp dynamic programme."""
    n = len(d)
    full = 1 << (n - 1)
    cost = np.full((full, n - 1), np.inf)
    for j in range(n - 1):
        cost[1 << j, j] = d[0, j + 1]
    for mask in range(1, full):
        for j in range(n - 1):
            if not (mask >> j) & 1 or not np.isfinite(cost[mask, j]):
                continue
            rest = [k for k in range(n - 1) if not (mask >> k) & 1]
            for k in rest:
                new = mask | (1 << k)
                cost[new, k] = min(cost[new, k], cost[mask, j] + d[j + 1, k + 1])
    return float(min(cost[full - 1, j] + d[j + 1, 0] for j in range(n - 1)))


def test_burma14_geo_distances_give_the_known_optimal_tour():
    problem = load_tsplib(instance("burma14.tsp"))
    assert problem.name == "burma14" and problem.num_cities == 14
    d = problem.distances
    assert d[0, 1] == 153 and np.array_equal(d, d.T)  # TSPLIB GEO: d(1,2) = 153
    assert held_karp(d) == 3323
    with pytest.raises(ValueError, match="too large"):
        problem.brute_force()


# -- repair and validation ------------------------------------------------------------------------
@pytest.mark.parametrize("problem", small_problems(), ids=lambda p: type(p).__name__)
def test_repair_returns_feasible_points(problem):
    rng = np.random.default_rng(5)
    for _ in range(30):
        x = rng.integers(0, 2, problem.num_variables)
        fixed = problem.repair(x)
        assert problem.is_feasible(fixed)
        if problem.is_feasible(x) and not isinstance(problem, TSP):
            assert problem.objective(fixed) >= problem.objective(x) - 1e-9


def test_knapsack_repair_on_mknap1_is_feasible():
    p = load_mknap(instance("mknap1.txt"))[3]
    fixed = p.repair([1] * p.num_variables)
    assert p.is_feasible(fixed) and p.objective(fixed) > 0


@pytest.mark.parametrize(
    ("make", "match"),
    [
        (lambda: Knapsack([1, 2], [[1, -1]], [3]), "weights must be >= 0"),
        (lambda: Knapsack([1, np.nan], [[1, 1]], [3]), "values must be finite"),
        (lambda: Knapsack([1, 2], [[1, 1, 1]], [3]), r"shape \(m, 2\)"),
        (lambda: Knapsack([1, 2], [[1, 1]], [3, 4]), r"capacities must have shape \(1,\)"),
        (lambda: TSP(np.ones((3, 4))), "square"),
        (lambda: TSP([[0, np.inf], [1, 0]]), "distances must be finite"),
        (lambda: MIS(nx.relabel_nodes(nx.path_graph(3), {2: 7})), "unexpected nodes"),
        (lambda: MaxCut(nx.Graph([(0, 1, {"weight": float("nan")})])), "weight of edge"),
        (lambda: QuboProblem(np.ones((2, 3))), "square"),
    ],
)
def test_bad_inputs_name_the_value(make, match):
    with pytest.raises((ValueError, TypeError), match=match):
        make()


def test_bad_bitstrings_are_rejected():
    p = MIS(nx.path_graph(3))
    with pytest.raises(ValueError, match="3 entries"):
        p.cost([1, 0])
    with pytest.raises(ValueError, match="0/1"):
        p.is_feasible([1, 2, 0])


def test_qubo_problem_wraps_a_matrix_and_its_minimum():
    rng = np.random.default_rng(2)
    Q = rng.normal(size=(6, 6))
    p = QuboProblem(Q, 1.5)
    x, value = p.brute_force()
    values = [
        float(np.array(b) @ Q @ np.array(b)) + 1.5 for b in itertools.product((0, 1), repeat=6)
    ]
    assert value == pytest.approx(min(values))
    assert qubo_minimum(Q, 1.5)[1] == pytest.approx(min(values))


# -- loaders: formats, errors and fuzzing ----------------------------------------------------------
def write(tmp_path, name, text):
    path = tmp_path / name
    path.write_text(text)
    return path


FORMAT_ENTRIES = {
    "FULL_MATRIX": lambda d, n: [d[i, j] for i in range(n) for j in range(n)],
    "UPPER_ROW": lambda d, n: [d[i, j] for i in range(n) for j in range(i + 1, n)],
    "LOWER_DIAG_ROW": lambda d, n: [d[i, j] for i in range(n) for j in range(i + 1)],
    "UPPER_DIAG_ROW": lambda d, n: [d[i, j] for i in range(n) for j in range(i, n)],
    "LOWER_ROW": lambda d, n: [d[i, j] for i in range(n) for j in range(i)],
    "UPPER_COL": lambda d, n: [d[i, j] for j in range(n) for i in range(j)],
    "LOWER_DIAG_COL": lambda d, n: [d[i, j] for j in range(n) for i in range(j, n)],
}


@pytest.mark.parametrize("fmt", sorted(FORMAT_ENTRIES))
def test_tsplib_explicit_formats(tmp_path, fmt):
    rng = np.random.default_rng(1)
    n = 5
    d = rng.integers(1, 100, (n, n))
    d = d + d.T
    np.fill_diagonal(d, 0)
    entries = FORMAT_ENTRIES[fmt](d, n)
    body = "\n".join(" ".join(map(str, entries[k : k + 4])) for k in range(0, len(entries), 4))
    text = (
        f"NAME : m5\nTYPE : TSP\nDIMENSION : {n}\nEDGE_WEIGHT_TYPE : EXPLICIT\n"
        f"EDGE_WEIGHT_FORMAT : {fmt}\nEDGE_WEIGHT_SECTION\n{body}\nEOF\n"
    )
    np.testing.assert_array_equal(load_tsplib(write(tmp_path, "m.tsp", text)).distances, d)


def test_tsplib_coordinate_rules(tmp_path):
    coords = "1 0 0\n2 3 4\n3 1 1\n4 10 0\n"
    head = "NAME: c\nTYPE: TSP\nDIMENSION: 4\nEDGE_WEIGHT_TYPE: {}\nNODE_COORD_SECTION\n"
    euc = load_tsplib(write(tmp_path, "e.tsp", head.format("EUC_2D") + coords)).distances
    # nint(5) = 5, nint(sqrt 2 = 1.41) = 1, nint(sqrt 13 = 3.61) = 4, nint(sqrt 82 = 9.06) = 9
    assert (euc[0, 1], euc[0, 2], euc[1, 2], euc[2, 3]) == (5, 1, 4, 9)
    att = load_tsplib(write(tmp_path, "a.tsp", head.format("ATT") + coords)).distances
    # ATT: r = sqrt(100 / 10) = 3.16, nint 3 < r, so 4; r = sqrt(25/10) = 1.58 -> 2
    assert (att[0, 3], att[0, 1]) == (4, 2)
    ceil = load_tsplib(write(tmp_path, "c.tsp", head.format("CEIL_2D") + coords)).distances
    assert ceil[0, 2] == 2


@pytest.mark.parametrize(
    ("loader", "text", "line"),
    [
        (load_mknap, "1\n3 1 10\n1 2 x\n1 1 1\n2\n", 3),
        (load_mknap, "1\n3 1 10\n1 2 3\n1 -1 1\n2\n", 2),
        (load_mknap, "1\n3 1 10\n1 2 nan\n1 1 1\n2\n", 3),
        (load_mknap, "1\n100000 100000 1\n", 2),
        (load_mknap, "1\n2 1 3\n1 2\n1 1\n2\n7\n", 6),
        (load_mknap, "2\n2 1 3\n1 2\n1 1\n2\n", 5),
        (load_dimacs, "c x\np edge 3 2\ne 1 2\ne 2 9\n", 4),
        (load_dimacs, "p edge 3 2\ne 1 2\n", 1),
        (load_dimacs, "p edge 3 1\ne 1 1\n", 2),
        (load_dimacs, "e 1 2\n", 1),
        (load_tsplib, "NAME: a\nTYPE: TSP\nDIMENSION: 2\nEDGE_WEIGHT_TYPE: EUC_2D\n"
                      "NODE_COORD_SECTION\n1 0 0\n2 0 zz\nEOF\n", 7),
        (load_tsplib, "NAME: a\nTYPE: TSP\nDIMENSION: -4\nEDGE_WEIGHT_TYPE: EUC_2D\n", 3),
        (load_tsplib, "NAME: a\nTYPE: TSP\nDIMENSION: 2\nEDGE_WEIGHT_TYPE: EXPLICIT\n"
                      "EDGE_WEIGHT_FORMAT: FULL_MATRIX\nEDGE_WEIGHT_SECTION\n0 1\n1 0 5\nEOF\n", 8),
        (load_tsplib, "NAME: a\nTYPE: CVRP\nDIMENSION: 2\n", 2),
        (load_tsplib, "NAME: a\nTYPE: TSP\nhello\n", 3),
    ],
)  # fmt: skip
def test_malformed_files_name_the_line(tmp_path, loader, text, line):
    with pytest.raises(InstanceFormatError) as info:
        loader(write(tmp_path, "bad.txt", text))
    assert info.value.line == line
    assert f":{line}:" in str(info.value)


def test_large_tsplib_instance_loads_without_building_its_qubo(tmp_path):
    from qworkbench.errors import MemoryLimitError

    rng = np.random.default_rng(0)
    n = 1500
    coords = "\n".join(
        f"{i + 1} {x:.2f} {y:.2f}" for i, (x, y) in enumerate(rng.uniform(0, 1e4, (n, 2)))
    )
    head = f"NAME: big\nTYPE: TSP\nDIMENSION: {n}\nEDGE_WEIGHT_TYPE: EUC_2D\n"
    text = f"{head}NODE_COORD_SECTION\n{coords}\nEOF\n"
    problem = load_tsplib(write(tmp_path, "big.tsp", text))
    assert problem.distances.shape == (n, n) and problem.num_variables == n * n
    with pytest.raises(MemoryLimitError, match="1500-city TSP"):
        problem.qubo()
    with pytest.raises(ValueError, match="too large"):
        problem.brute_force()


def test_non_utf8_file_is_an_instance_error(tmp_path):
    path = tmp_path / "b.col"
    path.write_bytes(b"p edge 2 1\n\xff\xfe\n")
    with pytest.raises(InstanceFormatError, match="UTF-8") as info:
        load_dimacs(path)
    assert info.value.line == 2


FUZZ = settings(max_examples=150, deadline=None, suppress_health_check=[HealthCheck.too_slow])
TEXT = st.text(
    alphabet=st.sampled_from(list("0123456789 .-+:\nepcEUCNAMETYPSDIOX_n")), max_size=200
)


@FUZZ
@given(text=TEXT)
@pytest.mark.parametrize("loader", [load_mknap, load_dimacs, load_tsplib])
def test_loaders_fuzz_raise_only_instance_errors(loader, text):
    with tempfile.TemporaryDirectory() as tmp:
        path = Path(tmp) / "fuzz.txt"
        path.write_text(text)
        with contextlib.suppress(InstanceFormatError):
            loader(path)


@FUZZ
@given(data=st.data())
@pytest.mark.parametrize("name", ["mknap1.txt", "burma14.tsp", "myciel3.col"])
def test_loaders_fuzz_mutated_real_files(name, data):
    loader = {"txt": load_mknap, "tsp": load_tsplib, "col": load_dimacs}[name.split(".")[1]]
    lines = instance(name).read_text().splitlines()
    k = data.draw(st.integers(0, len(lines) - 1))
    tokens = lines[k].split() or [""]
    t = data.draw(st.integers(0, len(tokens) - 1))
    tokens[t] = data.draw(st.sampled_from(["", "x", "-1", "1e400", "nan", "0", "99999999", ":"]))
    lines[k] = " ".join(tokens)
    with tempfile.TemporaryDirectory() as tmp:
        path = Path(tmp) / name
        path.write_text("\n".join(lines))
        try:
            loader(path)
        except InstanceFormatError as exc:
            assert exc.line is None or 1 <= exc.line <= len(lines) + 1


TSP_HEAD = "NAME: t\nTYPE: TSP\nDIMENSION: 3\nEDGE_WEIGHT_TYPE: EUC_2D\nNODE_COORD_SECTION\n"


@pytest.mark.parametrize(
    ("coords", "line"),
    [
        ("1 0 0\n2 5\n3 1 1\n", 7),  # short line 7 (was reported as line 8)
        ("1 0 0\n2 5 0 9\n3 1 1\n", 7),  # long line
        ("1 0 0\n2 5 0\n3 1\n", 8),  # short last line (was "file ends")
        ("1 0 0\n2 5 0\n", 7),  # a node missing: the section's last line
    ],
)
def test_tsplib_bad_coordinate_line_is_the_line_named(tmp_path, coords, line):
    text = TSP_HEAD + coords + "EOF\n"
    with pytest.raises(InstanceFormatError) as info:
        load_tsplib(write(tmp_path, "short.tsp", text))
    assert info.value.line == line and f":{line}:" in str(info.value)


@FUZZ
@given(widths=st.lists(st.integers(0, 5), min_size=2, max_size=8))
def test_tsplib_fuzz_coordinate_widths_name_the_first_bad_line(widths):
    # node k on line 5 + k with widths[k] numbers; a node line needs exactly 3 (node, x, y)
    n = len(widths)
    body = "".join(" ".join([str(k + 1)] + ["1.5"] * (w - 1)) + "\n" if w else "\n"
                   for k, w in enumerate(widths))  # fmt: skip
    head = f"NAME: t\nTYPE: TSP\nDIMENSION: {n}\nEDGE_WEIGHT_TYPE: EUC_2D\nNODE_COORD_SECTION\n"
    with tempfile.TemporaryDirectory() as tmp:
        path = Path(tmp) / "f.tsp"
        path.write_text(head + body + "EOF\n")
        bad = [k for k, w in enumerate(widths) if w not in (0, 3)]
        if bad:
            with pytest.raises(InstanceFormatError) as info:
                load_tsplib(path)
            assert info.value.line == 6 + bad[0]
        elif 0 in widths:  # a blank line instead of a node: too few nodes
            with pytest.raises(InstanceFormatError, match="ends after"):
                load_tsplib(path)
        else:
            assert load_tsplib(path).num_cities == n


@FUZZ
@given(text=st.text(max_size=300))
@pytest.mark.parametrize("loader", [load_mknap, load_dimacs, load_tsplib])
def test_loaders_fuzz_arbitrary_unicode_raise_only_instance_errors(loader, text):
    with tempfile.TemporaryDirectory() as tmp:
        path = Path(tmp) / "fuzz.txt"
        path.write_bytes(text.encode("utf-8", "surrogatepass"))
        with contextlib.suppress(InstanceFormatError):
            loader(path)


def test_shipped_data_files_and_unknown_names():
    assert set(data.available()) == {"mknap1.txt", "myciel3.col", "burma14.tsp",
                                     "tinyshakespeare.txt"}  # fmt: skip
    for name in data.available():
        assert data.path(name).is_file()
    # the corpus is Tiny Shakespeare as published (sha256 from its source's notes)
    import hashlib

    digest = hashlib.sha256(data.path("tinyshakespeare.txt").read_bytes()).hexdigest()
    assert digest == "86c4e6aa9db7c042ec79f339dcb96d42b0075e16b8fc2e86bf0ca57e2dc565ed"
    with pytest.raises(ValueError, match="no data file 'mknap2.txt'.*mknap1.txt"):
        data.path("mknap2.txt")
    with pytest.raises(TypeError, match="string"):
        data.path(3)
