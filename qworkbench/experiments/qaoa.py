"""What ``qwb qaoa`` runs: build the problem (instance file or random), solve it with QAOA
or a Lagrangian method, and summarise the outcome as one JSON-ready dict."""

from __future__ import annotations

import time

import networkx as nx
import numpy as np

__all__ = ["PROBLEMS", "build_problem", "random_problem", "solve"]

PROBLEMS = ("maxcut", "mis", "knapsack", "tsp")
_MAX_RANDOM = {"maxcut": 24, "mis": 24, "knapsack": 24, "tsp": 5}


def random_problem(kind: str, size: int, seed=None):
    """A random instance: G(n, 1/2) graphs for maxcut/mis; ``size`` items with integer
    values 1-20 and weights 1-10 in two dimensions, capacities half the row sums, for
    knapsack; ``size`` cities uniform in a 100x100 square (Euclidean) for tsp."""
    from tasks.problems import MIS, TSP, Knapsack, MaxCut

    limit = _MAX_RANDOM[kind]
    if not 2 <= size <= limit:
        raise ValueError(f"--random for {kind} takes 2 to {limit}, got {size}")
    rng = np.random.default_rng(seed)
    if kind in ("maxcut", "mis"):
        graph = nx.gnp_random_graph(size, 0.5, seed=int(rng.integers(2**31)))
        return MaxCut(graph) if kind == "maxcut" else MIS(graph)
    if kind == "knapsack":
        weights = rng.integers(1, 11, size=(2, size))
        return Knapsack(rng.integers(1, 21, size=size), weights, weights.sum(axis=1) // 2)
    points = rng.uniform(0, 100, size=(size, 2))
    return TSP(np.linalg.norm(points[:, None] - points[None, :], axis=-1))


def build_problem(kind: str, instance=None, size: int | None = None, index: int = 1, seed=None):
    """The problem of ``kind`` from an instance file (DIMACS for maxcut/mis, OR-Library
    mknap for knapsack with the 1-based ``index``, TSPLIB for tsp) or at random."""
    from tasks.problems import MIS, MaxCut, load_dimacs, load_mknap, load_tsplib

    if kind not in PROBLEMS:
        raise ValueError(f"unknown problem {kind!r}; choose one of {', '.join(PROBLEMS)}")
    if (instance is None) == (size is None):
        raise ValueError("give exactly one of --instance FILE and --random N")
    if size is not None:
        return random_problem(kind, size, seed)
    if kind in ("maxcut", "mis"):
        graph = load_dimacs(instance)
        return MaxCut(graph) if kind == "maxcut" else MIS(graph)
    if kind == "tsp":
        return load_tsplib(instance)
    problems = load_mknap(instance)
    if not 1 <= index <= len(problems):
        raise ValueError(f"--index must be between 1 and {len(problems)} for {instance}")
    return problems[index - 1]


def solve(problem, *, method=None, solver="qaoa", callback=None, **options) -> dict:
    """Run QAOA (``method=None``) or ``tasks.lagrangian.solve`` and summarise."""
    start = time.perf_counter()
    if method is None:
        from tasks.qaoa import QAOA

        result = QAOA(problem, **options).run(callback=callback)
        out = {
            "solver": "qaoa",
            "x": list(result.x),
            "objective": result.objective,
            "feasible": result.feasible,
            "num_qubits": result.num_qubits,
            "expected_objective": result.expected_objective,
            "approximation_ratio": result.approximation_ratio,
            "optimum": result.optimum,
            "energy": result.energy,
            "params": list(result.params),
            "nfev": result.nfev,
        }
    else:
        from tasks.lagrangian import solve as lagrangian_solve

        seed = options.pop("seed", None)
        if solver != "qaoa":
            options = {}
        elif options.get("mixer") == "xy":  # the inner QUBOs keep the variables first
            options["groups"] = problem.one_hot_groups
        result = lagrangian_solve(problem, method, solver=solver, seed=seed, **options)
        out = {
            "solver": solver,
            "method": method,
            "x": list(result.x),
            "objective": result.objective,
            "feasible": result.feasible,
            "num_qubits": result.num_qubits,
            "multipliers": list(result.multipliers),
            "dual_bound": result.dual_bound,
            "iterations": len(result.history),
        }
    out["num_variables"] = problem.num_variables
    out["sense"] = problem.sense
    out["seconds"] = time.perf_counter() - start
    return out
