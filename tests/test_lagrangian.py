"""tasks.lagrangian against brute force, the instance files' optima and qiskit-optimization."""

from __future__ import annotations

from pathlib import Path

import networkx as nx
import numpy as np
import pytest

from qworkbench import data
from tasks.lagrangian import METHODS, LagrangianResult, _slack_eliminated_minimum, solve
from tasks.problems import MIS, TSP, Knapsack, load_dimacs, load_mknap, qubo_minimum

GAP = 0.10  # stated tolerance: within 10% of the optimum (all reach it with solver="exact")


def instance(name: str) -> Path:
    return data.path(name)  # shipped with the package: never skipped


def mdkp():
    return load_mknap(instance("mknap1.txt"))[0]  # 6 items, 10 constraints, optimum 3800


def myciel3():
    return MIS(load_dimacs(instance("myciel3.col")))  # optimum 5


def tsp4():
    rng = np.random.default_rng(4)
    pts = rng.uniform(0, 100, size=(4, 2))
    return TSP(np.round(np.linalg.norm(pts[:, None] - pts[None], axis=-1)))


def optimum_of(problem):
    """Reference optimum: the file's known optimum, or enumeration of the instance itself."""
    if getattr(problem, "known_optimum", None) is not None:
        return problem.known_optimum
    if isinstance(problem, MIS):
        return nx.max_weight_clique(nx.complement(problem.graph), weight=None)[1]
    import itertools

    d, n = problem.distances, problem.num_cities
    return min(
        sum(d[p[t], p[(t + 1) % n]] for t in range(n)) for p in itertools.permutations(range(n))
    )


def check_answer(problem, result):
    """Feasibility and objective recomputed from the instance data, not the problem class."""
    x = np.array(result.x)
    if isinstance(problem, Knapsack):
        assert np.all(problem.weights @ x <= problem.capacities)
        value = float(problem.values @ x)
    elif isinstance(problem, MIS):
        assert all(not (x[u] and x[v]) for u, v in problem.graph.edges)
        value = float(x.sum())
    else:
        n = problem.num_cities
        grid = x.reshape(n, n)  # x[i*n + t]: city i at time t
        assert np.all(grid.sum(axis=0) == 1) and np.all(grid.sum(axis=1) == 1)
        order = grid.argmax(axis=0)
        value = float(sum(problem.distances[order[t], order[(t + 1) % n]] for t in range(n)))
    assert result.feasible
    assert result.objective == pytest.approx(value)
    return value


@pytest.mark.parametrize("method", METHODS)
@pytest.mark.parametrize("make", [mdkp, myciel3, tsp4], ids=["mknap1-1", "myciel3", "tsp4"])
def test_methods_are_feasible_and_near_optimal_with_exact_inner_solves(make, method):
    problem = make()
    result = solve(problem, method, solver="exact", seed=0)
    value = check_answer(problem, result)
    best = optimum_of(problem)
    if problem.sense == "max":
        assert value >= (1 - GAP) * best
        if result.dual_bound is not None:  # weak duality with exact inner minima
            assert result.dual_bound >= best - 1e-6
    else:
        assert value <= (1 + GAP) * best
        if result.dual_bound is not None:
            assert result.dual_bound <= best + 1e-6
    assert result.history and result.method == method and result.solver == "exact"


def test_penalty_slack_uses_more_qubits_than_slack_free_methods_on_mdkp():
    from qiskit_optimization.converters import QuadraticProgramToQubo

    from tests.test_problems import to_quadratic_program

    problem = mdkp()
    baseline = solve(problem, "penalty_slack", solver="exact")
    qiskit_qubits = QuadraticProgramToQubo().convert(to_quadratic_program(problem)).get_num_vars()
    assert baseline.num_qubits == qiskit_qubits == 6 + 56
    for method in METHODS[1:]:
        assert solve(problem, method, solver="exact", max_iter=3).num_qubits == 6


def test_slack_elimination_equals_enumerating_the_slack_qubo():
    problem = Knapsack([6, 5, 4, 3, 7], [[3, 2, 4, 1, 3], [2, 3, 1, 2, 2]], [7, 6])
    Q, offset, _ = problem.qubo(penalty=9.0, slack=True)
    assert Q.shape[0] <= 16
    _, enumerated = qubo_minimum(Q, offset)
    x, eliminated = _slack_eliminated_minimum(problem, Q.shape[0], 9.0)
    assert eliminated == pytest.approx(enumerated)


def test_history_records_the_lagrangian_of_each_inner_solution():
    problem = mdkp()
    result = solve(problem, "dual_ascent", solver="exact", max_iter=6)
    for rec in result.history:
        x = np.array(rec.x)
        lam = np.array(rec.multipliers)
        g = problem.weights @ x - problem.capacities
        assert len(lam) == 10 and np.all(lam >= 0)
        assert rec.inner_objective == pytest.approx(-problem.values @ x + lam @ g)
        assert rec.violation == pytest.approx(np.maximum(g, 0).sum())
    assert LagrangianResult.from_json(result.to_json()) == result


def test_qaoa_inner_solver_on_mdkp():
    problem = mdkp()
    result = solve(problem, "bundle", solver="qaoa", seed=3, max_iter=4, p=1, maxiter=40)
    value = check_answer(problem, result)
    assert value >= (1 - GAP) * problem.known_optimum
    assert result.num_qubits == 6


def test_vqe_inner_solver_on_tsp():
    problem = TSP(tsp4().distances, fix_start=True)
    result = solve(problem, "augmented_lagrangian", solver="vqe", seed=1, max_iter=4)
    assert result.feasible and result.num_qubits == 9
    assert result.objective <= (1 + GAP) * optimum_of(tsp4())


def test_quantum_solvers_refuse_the_62_qubit_slack_qubo():
    with pytest.raises(ValueError, match="62 qubits"):
        solve(mdkp(), "penalty_slack", solver="qaoa", seed=0)


@pytest.mark.parametrize(
    ("kwargs", "match"),
    [
        ({"method": "simplex"}, "unknown method"),
        ({"method": "bundle", "solver": "annealer"}, "unknown solver"),
        ({"method": "bundle", "max_iter": 0}, "max_iter"),
    ],
)
def test_bad_arguments(kwargs, match):
    with pytest.raises(ValueError, match=match):
        solve(mdkp(), **{"solver": "exact", **kwargs})


@pytest.mark.slow
@pytest.mark.parametrize("method", METHODS[1:])
@pytest.mark.parametrize("make", [mdkp, myciel3, tsp4], ids=["mknap1-1", "myciel3", "tsp4"])
def test_every_slack_free_method_with_qaoa(make, method):
    problem = make()
    result = solve(problem, method, solver="qaoa", seed=0, max_iter=8, p=1)
    value = check_answer(problem, result)
    best = optimum_of(problem)
    assert value >= (1 - GAP) * best if problem.sense == "max" else value <= (1 + GAP) * best
