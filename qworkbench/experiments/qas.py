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
from qworkbench.experiments.results import append_result, cell_key, read_results
from qworkbench.experiments.tables import aggregate, format_table, to_csv
from qworkbench.utils import atomic_write, positive_int

__all__ = ["summarize", "bench", "check_cells", "run_cell"]


def summarize(log: list[dict], best: dict | None, evaluations: list[dict] | None = None) -> dict:
    """Per-run figures: the greedy policy's (solved at the end, episodes and training
    seconds to its first solve, its circuit's size), then the training ones (success
    share, episodes/seconds to the first successful episode, the best circuit)."""
    seconds = 0.0
    first = first_seconds = None
    for record in log:
        seconds += record["seconds"]
        if record["success"] and first is None:
            first, first_seconds = record["episode"] + 1, seconds
    quality = None
    if best is not None:
        quality = best.get("error", best.get("fidelity"))
    evaluations = evaluations or []
    final = evaluations[-1] if evaluations else None
    first_greedy = next((e for e in evaluations if e["solved"]), None)
    return {
        "greedy_solved": None if final is None else bool(final["solved"]),
        "greedy_first_solve": None if first_greedy is None else first_greedy["episode"],
        "greedy_seconds_to_first": None if first_greedy is None else first_greedy["seconds"],
        "greedy_gates": None if final is None else final["gates"],
        "greedy_cnots": None if final is None else final["cnots"],
        "greedy_quality": None if final is None else final.get("error", final.get("fidelity")),
        "evaluations": len(evaluations),
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


def check_cells(tasks, agents, preset: str = "fast", noise=None, gate_set=None, hyper=None) -> None:
    """Build every (task, agent) pair's environment and agent once, before any training,
    so that a pair that cannot run is one clear error naming it (never an empty
    table)."""
    from agents import known_hyperparameters, make_agent
    from agents.presets import resolve
    from agents.runner import make_env

    for task in tasks:
        for agent in agents:
            settings = resolve(task, agent, preset)
            try:
                env = make_env(task, noise=noise, gate_set=gate_set or settings.env.get("gate_set"),
                               max_gates=settings.env.get("max_gates"))  # fmt: skip
                own = {k: v for k, v in (hyper or {}).items() if k in known_hyperparameters(agent)}
                make_agent(agent, env, preset=preset, **own)
            except (ValueError, TypeError) as exc:
                raise ValueError(f"agent {agent!r} cannot run on task {task!r}: {exc}") from None


def run_cell(cell: dict) -> dict:
    """Train one bench cell; its result row (the cell, its key, :func:`summarize`,
    the wall time). Runs in a worker process when ``bench(workers > 1)``."""
    import torch

    torch.set_num_threads(1)
    start = time.perf_counter()
    options = {k: cell[k] for k in ("noise", "preset", "gate_set") if k in cell}
    agent = run(cell["task"], cell["agent"], cell["episodes"], seed=cell["seed"],
                **options, **cell.get("hyper", {}))  # fmt: skip
    row = {"key": cell_key(cell), **cell,
           **summarize(agent.log, agent.best_record, agent.evaluations)}  # fmt: skip
    row["wall_seconds"] = time.perf_counter() - start
    return row


def bench(tasks, agents, seeds: int = 3, episodes: int | None = 200, out="runs/qas-bench",
          preset: str = "fast", noise=None, progress=None, gate_set=None, hyper=None,
          workers: int = 1) -> list[dict]:  # fmt: skip
    """Train every (task, agent, seed) cell (skipping ones already in ``out``); writes
    ``results.jsonl``, ``table.md`` and ``table.csv`` into ``out``; returns the rows.

    ``hyper``: hyperparameter overrides; each agent takes the keys it knows (checked by
    building each pair first, a key no agent knows is an error); ``workers``: cells run
    in this many processes; ``episodes=None`` takes the preset's budget (``paper``).
    """
    from agents import known_hyperparameters
    from agents.presets import resolve

    workers = positive_int("workers", workers)
    hyper = dict(hyper or {})
    known = {k for a in agents for k in known_hyperparameters(a)}
    if set(hyper) - known:
        raise ValueError(f"unknown hyperparameter(s) {sorted(set(hyper) - known)} for {agents}")
    check_cells(tasks, agents, preset=preset, noise=noise, gate_set=gate_set, hyper=hyper)
    out = Path(out)
    out.mkdir(parents=True, exist_ok=True)
    done = read_results(out)
    cells = []
    for t in tasks:
        for a in agents:
            budget = episodes if episodes is not None else resolve(t, a, preset).episodes
            if budget is None:
                raise ValueError(f"give --episodes: preset {preset!r} has no budget for {t!r}")
            for s in range(seeds):
                cell = {"task": t, "agent": a, "seed": s, "episodes": budget, "preset": preset,
                        "noise": noise, **({"gate_set": gate_set} if gate_set else {})}  # fmt: skip
                own = {k: v for k, v in hyper.items() if k in known_hyperparameters(a)}
                if own:
                    cell["hyper"] = own
                cells.append(cell)
    rows: dict[str, dict] = {}
    todo = []
    for cell in cells:
        key = cell_key(cell)
        if key in done:
            rows[key] = done[key]
        else:
            todo.append(cell)
    if workers == 1:
        for i, cell in enumerate(todo):
            if progress is not None:
                progress(i, len(todo), cell)
            row = run_cell(cell)
            rows[row["key"]] = row
            append_result(out, row)
    else:
        from concurrent.futures import ProcessPoolExecutor, as_completed

        with ProcessPoolExecutor(max_workers=workers) as pool:
            futures = {pool.submit(run_cell, cell): cell for cell in todo}
            for i, future in enumerate(as_completed(futures)):
                row = future.result()
                rows[row["key"]] = row
                append_result(out, row)
                if progress is not None:
                    progress(i, len(todo), futures[future])
    ordered = [rows[cell_key(c)] for c in cells]
    table = aggregate(ordered)
    atomic_write(out / "table.md", format_table(table))
    atomic_write(out / "table.csv", to_csv(table))
    return ordered
