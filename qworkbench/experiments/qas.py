"""QAS benchmarks: what ``qwb qas bench`` runs.

:func:`bench` trains every (task, agent, seed) cell with :func:`agents.runner.run`,
appends one JSON line per finished cell to ``results.jsonl`` (keyed by the hash of its
settings, so a rerun skips finished cells) and writes the table as Markdown and CSV.
"""

from __future__ import annotations

import math
import time
from pathlib import Path

from agents.runner import run
from qworkbench._io import atomic_write
from qworkbench.experiments.results import append_result, cell_key, read_results
from qworkbench.experiments.tables import aggregate, format_table, to_csv

__all__ = ["summarize", "bench"]


def summarize(log: list[dict], best: dict | None) -> dict:
    """Per-run figures: success rate, episodes/seconds to the first success, best circuit."""
    seconds = 0.0
    first = first_seconds = None
    for record in log:
        seconds += record["seconds"]
        if record["success"] and first is None:
            first, first_seconds = record["episode"] + 1, seconds
    quality = None
    if best is not None:
        quality = best.get("error", best.get("fidelity"))
    return {
        "episodes": len(log),
        "successes": sum(bool(r["success"]) for r in log),
        "success_rate": sum(bool(r["success"]) for r in log) / max(1, len(log)),
        "first_success": first,
        "seconds_to_first": first_seconds,
        "seconds": seconds,
        "episodes_per_s": len(log) / seconds if seconds > 0 else math.inf,
        "best_success": bool(best and best["success"]),
        "best_gates": None if best is None else best["gates"],
        "best_cnots": None if best is None else best["cnots"],
        "best_depth": None if best is None else best["depth"],
        "best_quality": quality,
    }


def bench(tasks, agents, seeds: int = 3, episodes: int = 200, out="runs/qas-bench",
          preset: str = "fast", noise=None, progress=None,
          gate_set=None) -> list[dict]:  # fmt: skip
    """Train every (task, agent, seed) cell (skipping ones already in ``out``); writes
    ``results.jsonl``, ``table.md`` and ``table.csv`` into ``out``; returns the rows."""
    out = Path(out)
    out.mkdir(parents=True, exist_ok=True)
    done = read_results(out)
    cells = [
        {"task": t, "agent": a, "seed": s, "episodes": episodes, "preset": preset,
         "noise": noise, **({"gate_set": gate_set} if gate_set else {})}
        for t in tasks for a in agents for s in range(seeds)
    ]  # fmt: skip
    import tasks as registry

    kinds = {t: registry.get_task(t).kind for t in tasks}
    # the curriculum of crlqas is defined on energies: state tasks have no such cell
    cells = [c for c in cells if not (c["agent"] == "crlqas" and kinds[c["task"]] == "state")]
    rows = []
    for i, cell in enumerate(cells):
        key = cell_key(cell)
        if key in done:
            rows.append(done[key])
            continue
        if progress is not None:
            progress(i, len(cells), cell)
        start = time.perf_counter()
        agent = run(cell["task"], cell["agent"], episodes, seed=cell["seed"], noise=noise,
                    preset=preset, gate_set=gate_set)  # fmt: skip
        row = {"key": key, **cell, **summarize(agent.log, agent.best_record)}
        row["wall_seconds"] = time.perf_counter() - start
        rows.append(row)
        append_result(out, row)
    table = aggregate(rows)
    atomic_write(out / "table.md", format_table(table))
    atomic_write(out / "table.csv", to_csv(table))
    return rows
