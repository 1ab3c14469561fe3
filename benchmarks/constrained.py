"""Constrained benchmark: slack-bit penalties versus slack-free Lagrangian methods.

For MDKP, MIS and TSP instances of 6-16 binary variables, every method of
:mod:`tasks.lagrangian` and qiskit-optimization's penalty QUBO (``QuadraticProgramToQubo``)
are solved with the same inner solver, and compared on qubits, feasibility over seeds,
optimality gap against brute force and wall-clock time (after Sharma & Lau,
arXiv:2507.12159).

    python benchmarks/constrained.py              # about half an hour on 2 busy cores
    python benchmarks/constrained.py --quick      # 2 seeds, 4 outer iterations

Writes benchmarks/results/constrained.json and constrained.md (the tables for
BENCHMARKS.md).
"""

from __future__ import annotations

import argparse
import json
import os
import platform
import statistics
import time
from pathlib import Path

import networkx as nx
import numpy as np

from qworkbench import data
from tasks._inner import solve_inner
from tasks.lagrangian import METHODS, solve
from tasks.problems import MIS, TSP, Knapsack, load_dimacs, load_mknap

ROOT = Path(__file__).resolve().parents[1]
OUT = ROOT / "benchmarks" / "results"
QISKIT = "qiskit_penalty"


def random_mdkp(n: int, m: int, seed: int) -> Knapsack:
    """Values 10-60, weights 1-5, capacities about 40% of each row's total (so the slack
    QUBO stays small enough to simulate: 3 slack bits per row)."""
    rng = np.random.default_rng(seed)
    weights = rng.integers(1, 6, size=(m, n))
    caps = np.minimum(np.floor(0.4 * weights.sum(axis=1)), 7)
    return Knapsack(rng.integers(10, 61, size=n), weights, caps)


def random_tsp(n: int, seed: int, fix_start: bool) -> TSP:
    """Cities uniform in a 100x100 square, rounded Euclidean distances (TSPLIB EUC_2D)."""
    pts = np.random.default_rng(seed).uniform(0, 100, size=(n, 2))
    d = np.floor(np.linalg.norm(pts[:, None] - pts[None], axis=-1) + 0.5)
    return TSP(d, fix_start=fix_start)


def instances() -> list[tuple[str, str, object]]:
    out = [
        ("MDKP", "random 6 items x 2 rows", random_mdkp(6, 2, 1)),
        ("MDKP", "random 8 items x 2 rows", random_mdkp(8, 2, 2)),
    ]
    out.append(("MDKP", "mknap1 #1 (6 x 10)", load_mknap(data.path("mknap1.txt"))[0]))
    out.append(("MIS", "G(8, 0.3) seed 3", MIS(nx.gnp_random_graph(8, 0.3, seed=3))))
    out.append(("MIS", "myciel3 (11 nodes)", MIS(load_dimacs(data.path("myciel3.col")))))
    out += [
        ("TSP", "4 cities, city 0 fixed", random_tsp(4, 5, True)),
        ("TSP", "4 cities", random_tsp(4, 5, False)),
        ("TSP", "5 cities, city 0 fixed", random_tsp(5, 6, True)),
    ]
    return out


def qiskit_qubo(problem):
    """qiskit-optimization's penalty QUBO of the problem as ``(Q, offset)``; its first
    ``num_variables`` variables are the problem's (slack bits follow)."""
    from qiskit_optimization.converters import QuadraticProgramToQubo

    qubo = QuadraticProgramToQubo().convert(problem.to_quadratic_program())
    Q = qubo.objective.quadratic.to_array(symmetric=False).astype(float)
    Q[np.diag_indices_from(Q)] += qubo.objective.linear.to_array()
    return Q, float(qubo.objective.constant)


def gap(problem, value: float, optimum: float) -> float:
    """Relative optimality gap (0 = optimal), for either sense."""
    diff = optimum - value if problem.sense == "max" else value - optimum
    return diff / max(abs(optimum), 1e-12)


def raw_best(problem, xs):
    """Best objective among the solver's own (unrepaired) answers that are feasible."""
    n = problem.num_variables
    feasible = [problem.objective(x[:n]) for x in xs if problem.is_feasible(x[:n])]
    if not feasible:
        return None
    return max(feasible) if problem.sense == "max" else min(feasible)


def run_one(problem, method, solver, seed, max_iter, options):
    """One run: final (repaired) objective, best raw feasible objective, qubits, seconds."""
    start = time.perf_counter()
    if method == QISKIT:
        Q, offset = qiskit_qubo(problem)
        x, _ = solve_inner(solver, Q, offset, np.random.default_rng(seed), **options)
        x = tuple(x)
        fixed = problem.repair(x[: problem.num_variables])
        return {
            "qubits": Q.shape[0],
            "objective": problem.objective(fixed),
            "feasible": problem.is_feasible(fixed),
            "raw": raw_best(problem, [x]),
            "inner_solves": 1,
            "seconds": time.perf_counter() - start,
        }
    result = solve(problem, method, solver=solver, seed=seed, max_iter=max_iter, **options)
    return {
        "qubits": result.num_qubits,
        "objective": result.objective,
        "feasible": result.feasible,
        "raw": raw_best(problem, [h.x for h in result.history]),
        "inner_solves": len(result.history),
        "seconds": result.seconds,
    }


def summarise(family, name, problem, optimum, method, solver, runs) -> dict:
    row = {"family": family, "instance": name, "variables": problem.num_variables,
           "method": method, "solver": solver, "qubits": runs[0]["qubits"],
           "optimum": optimum}  # fmt: skip
    if runs[0].get("skipped"):
        return {**row, "skipped": True}
    raw = [r["raw"] for r in runs]
    raw_gaps = [gap(problem, v, optimum) for v in raw if v is not None]
    return {
        **row,
        "seeds": len(runs),
        "feasible_rate": sum(r["feasible"] for r in runs) / len(runs),
        "raw_feasible_rate": sum(v is not None for v in raw) / len(runs),
        "mean_gap": statistics.fmean(gap(problem, r["objective"], optimum) for r in runs),
        "optimal_rate": sum(gap(problem, r["objective"], optimum) < 1e-9 for r in runs) / len(runs),
        "mean_raw_gap": statistics.fmean(raw_gaps) if raw_gaps else None,
        "mean_inner_solves": statistics.fmean(r["inner_solves"] for r in runs),
        "mean_seconds": statistics.fmean(r["seconds"] for r in runs),
    }


def markdown(rows: list[dict], solver: str) -> str:
    head = (
        "| family | instance | vars | method | qubits | feasible | raw feasible | "
        "mean gap | optimal | raw gap | inner solves | s/run |\n"
        "|---|---|---|---|---|---|---|---|---|---|---|---|\n"
    )
    lines = []
    for r in rows:
        if r["solver"] != solver:
            continue
        cells = [r["family"], r["instance"], r["variables"], r["method"], r["qubits"]]
        if r.get("skipped"):
            cells += ["not simulated"] + [""] * 6
        else:
            raw_gap = "-" if r["mean_raw_gap"] is None else f"{100 * r['mean_raw_gap']:.1f}%"
            cells += [
                f"{100 * r['feasible_rate']:.0f}%",
                f"{100 * r['raw_feasible_rate']:.0f}%",
                f"{100 * r['mean_gap']:.1f}%",
                f"{100 * r['optimal_rate']:.0f}%",
                raw_gap,
                f"{r['mean_inner_solves']:.1f}",
                f"{r['mean_seconds']:.2f}",
            ]
        lines.append("| " + " | ".join(str(c) for c in cells) + " |")
    return head + "\n".join(lines) + "\n"


def main(argv=None) -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--seeds", type=int, default=3)
    parser.add_argument("--max-iter", type=int, default=8)
    parser.add_argument("--p", type=int, default=1, help="QAOA depth")
    parser.add_argument("--final-shots", type=int, default=64, help="QAOA final samples")
    parser.add_argument("--max-qaoa-qubits", type=int, default=16)
    parser.add_argument("--quick", action="store_true")
    parser.add_argument("--out", type=Path, default=OUT / "constrained")
    args = parser.parse_args(argv)
    if args.quick:
        args.seeds, args.max_iter = 2, 4
    qaoa_options = {"p": args.p, "final_shots": args.final_shots}
    rows = []
    for family, name, problem in instances():
        _, optimum = problem.brute_force()
        for solver in ("exact", "qaoa"):
            for method in (*METHODS, QISKIT):
                options = qaoa_options if solver == "qaoa" else {}
                seeds = range(args.seeds) if solver == "qaoa" else range(1)
                runs = []
                # enumeration handles the slack QUBO by eliminating slack bits (see
                # tasks.lagrangian), but qiskit's QUBO only up to 25 qubits
                limit = args.max_qaoa_qubits if solver == "qaoa" else 25
                for seed in seeds:
                    if (solver == "qaoa" or method == QISKIT) and _qubits(problem, method) > limit:
                        runs = [{"qubits": _qubits(problem, method), "skipped": True}]
                        break
                    runs.append(run_one(problem, method, solver, seed, args.max_iter, options))
                row = summarise(family, name, problem, optimum, method, solver, runs)
                rows.append(row)
                print(json.dumps(row), flush=True)
    meta = {
        "command": "python benchmarks/constrained.py" + (" --quick" if args.quick else ""),
        "seeds": args.seeds,
        "max_iter": args.max_iter,
        "qaoa": {**qaoa_options, "max_qubits": args.max_qaoa_qubits},
        "python": platform.python_version(),
        "machine": platform.machine(),
        "cpus": os.cpu_count(),
    }
    args.out.parent.mkdir(parents=True, exist_ok=True)
    args.out.with_suffix(".json").write_text(json.dumps({"meta": meta, "rows": rows}, indent=1))
    text = (
        "### Exact inner solver (enumeration; one run)\n\n"
        + markdown(rows, "exact")
        + f"\n### QAOA inner solver (p = {args.p}, {args.final_shots} final samples, "
        f"{args.seeds} seeds, at most {args.max_iter} outer iterations)\n\n"
        + markdown(rows, "qaoa")
    )
    args.out.with_suffix(".md").write_text(text)
    print(text)


def _qubits(problem, method) -> int:
    if method == QISKIT:
        return qiskit_qubo(problem)[0].shape[0]
    if method == "penalty_slack":
        return problem.qubo(slack=True)[0].shape[0]
    return problem.num_variables


if __name__ == "__main__":
    main()
