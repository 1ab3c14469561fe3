"""Tables of benchmark and sweep results: the QAS table (one line per task and agent,
seeds aggregated) as Markdown and CSV, and the tables of VQE, QAOA and optimizer
sweeps (one line per grid point, seeds averaged)."""

from __future__ import annotations

import csv
import io
import json
import statistics

from qworkbench.experiments.results import last_per_key

__all__ = [
    "aggregate",
    "format_table",
    "to_csv",
    "solver_table",
    "optim_table",
    "SOLVER_METRICS",
    "OPTIM_METRICS",
]


def _median(values):
    values = [v for v in values if v is not None]
    return statistics.median(values) if values else None


#: what a QAS result row holds besides its settings (the rest of a row is its settings)
_QAS_OUTPUTS = frozenset({
    "key", "seed", "kind", "greedy_solved", "greedy_first_solve", "greedy_seconds_to_first",
    "greedy_gates", "greedy_cnots", "greedy_quality", "evaluations", "episodes_per_s",
    "successes", "success_rate", "first_success", "seconds_to_first", "seconds",
    "best_success", "best_gates", "best_cnots", "best_depth", "best_quality",
    "best_circuit", "wall_seconds", "versions", "worker",
})  # fmt: skip


def _settings(row: dict) -> tuple:
    """A row's settings apart from task, agent and seed (episodes, preset, noise, gate
    set, hyperparameters...), as a hashable key."""
    import json

    return tuple(sorted((k, json.dumps(v, sort_keys=True)) for k, v in row.items()
                        if k not in _QAS_OUTPUTS and k not in ("task", "agent")))  # fmt: skip


def aggregate(rows: list[dict]) -> list[dict]:
    """One line per (task, agent, settings) over seeds: runs with other settings (more
    episodes, another preset, hyperparameters...) never merge into one line; when a
    (task, agent) has several, each line's ``settings`` names what differs. Rows with
    the same ``key`` count once (the last one)."""
    import tasks as registry

    rows = last_per_key(rows)

    kinds = {task: registry.get_task(task).kind for task in {row["task"] for row in rows}}
    groups: dict[tuple, list[dict]] = {}
    for row in rows:
        groups.setdefault((row["task"], row["agent"], _settings(row)), []).append(row)
    variants: dict[tuple, list[tuple]] = {}
    for task, agent, settings in groups:
        variants.setdefault((task, agent), []).append(settings)
    table = []
    for (task, agent, settings), runs in groups.items():
        solved = [r for r in runs if r["first_success"] is not None]
        greedy = [r for r in runs if r.get("greedy_solved") is not None]
        greedy_solved = [r for r in greedy if r["greedy_solved"]]

        def rank(r):  # successes by size; otherwise by error (or by fidelity, higher first)
            if r["best_success"]:
                return (0, r["best_gates"])
            quality = r["best_quality"]
            return (1, -quality if kinds.get(r["task"]) == "state" else quality)

        best = min((r for r in runs if r["best_gates"] is not None), key=rank, default=None)
        others = variants[(task, agent)]
        differs = ""
        if len(others) > 1:  # name the settings that set this line apart
            common = set.intersection(*(set(o) for o in others))
            differs = ", ".join(f"{k}={v}" for k, v in settings if (k, v) not in common)
        table.append({
            "task": task,
            "agent": agent,
            "settings": differs,
            "seeds": len(runs),
            "greedy_evaluated": len(greedy),
            "greedy_seeds_solved": len(greedy_solved),
            "greedy_first_solve_median": _median([r["greedy_first_solve"] for r in greedy]),
            "greedy_minutes_median": _median(
                [None if r["greedy_seconds_to_first"] is None else r["greedy_seconds_to_first"] / 60
                 for r in greedy]
            ),
            "greedy_gates_median": _median([r["greedy_gates"] for r in greedy_solved]),
            "seeds_solved": len(solved),
            "episodes": runs[0]["episodes"],
            "success_rate": statistics.mean(r["success_rate"] for r in runs),
            "first_success_median": _median([r["first_success"] for r in runs]),
            "seconds_to_first_median": _median([r["seconds_to_first"] for r in runs]),
            "best_gates": None if best is None else best["best_gates"],
            "best_cnots": None if best is None else best["best_cnots"],
            "best_depth": None if best is None else best["best_depth"],
            "best_error": None if best is None else best["best_quality"],
            "episodes_per_s": statistics.mean(r["episodes_per_s"] for r in runs),
        })  # fmt: skip
    return table


_COLUMNS = [
    ("task", "task", "{}"),
    ("agent", "agent", "{}"),
    ("greedy solved", "greedy_seeds_solved", "{}"),
    ("episodes to 1st greedy solve (median)", "greedy_first_solve_median", "{:.0f}"),
    ("minutes to it (median)", "greedy_minutes_median", "{:.1f}"),
    ("greedy gates (median)", "greedy_gates_median", "{:.0f}"),
    ("best gates", "best_gates", "{}"),
    ("best CNOTs", "best_cnots", "{}"),
    ("best depth", "best_depth", "{}"),
    ("best error / fidelity", "best_error", "{:.2e}"),
    ("training success share", "success_rate", "{:.3f}"),
    ("seeds with a success", "seeds_solved", "{}"),
    ("episodes to 1st success (median)", "first_success_median", "{:.0f}"),
    ("episodes", "episodes", "{}"),
    ("episodes/s", "episodes_per_s", "{:.1f}"),
]


def format_table(table: list[dict]) -> str:
    """The benchmark table as Markdown: the greedy policy's figures first (seeds whose
    final greedy circuit is a success, when it first was, its size), then the best
    circuit found and the training figures. A ``settings`` column appears when a folder
    holds runs with different settings."""
    columns = list(_COLUMNS)
    mixed = any(row.get("settings") for row in table)
    if mixed:
        columns.insert(2, ("settings", "settings", "{}"))
    head = "| " + " | ".join(title for title, _, _ in columns) + " |"
    rule = "|" + "---|" * len(columns)
    lines = [head, rule]
    for row in table:
        cells = []
        for _, key, fmt in columns:
            value = row.get(key)
            if key == "seeds_solved":
                cells.append(f"{row['seeds_solved']}/{row['seeds']}")
                continue
            if key == "greedy_seeds_solved":
                evaluated = row.get("greedy_evaluated", 0)
                cells.append(f"{value}/{row['seeds']}" if evaluated else "-")
                continue
            cells.append("-" if value is None or value == "" else fmt.format(value))
        lines.append("| " + " | ".join(cells) + " |")
    if mixed:
        lines.append("")
        lines.append(
            "note: this folder holds runs with different settings; each line is one "
            "setting (the settings column names what differs)."
        )
    return "\n".join(lines) + "\n"


def to_csv(table: list[dict]) -> str:
    """The benchmark table as CSV (the columns of :func:`aggregate`)."""
    buffer = io.StringIO()
    if table:
        writer = csv.DictWriter(buffer, fieldnames=list(table[0]))
        writer.writeheader()
        writer.writerows(table)
    return buffer.getvalue()


#: metrics averaged over seeds in the table of a VQE or QAOA sweep
SOLVER_METRICS = {"vqe": ("error", "nfev", "success", "seconds"),
                  "qaoa": ("approximation_ratio", "feasible", "nfev", "seconds")}  # fmt: skip

#: metrics averaged over seeds in the table of an optimizer sweep
OPTIM_METRICS = ("final_val_loss", "best_val_loss", "final_train_loss", "state_bytes",
                 "seconds_per_step")  # fmt: skip
#: the cell settings an optimizer sweep's table shows (the rest when they vary)
_OPTIM_SETTINGS = ("optimizer", "lr", "rank", "hyper", "steps", "width", "layers", "heads",
                   "context", "batch", "eval_every", "corpus", "corpus_sha256", "device",
                   "threads")  # fmt: skip


def optim_table(rows: list[dict]) -> str:
    """Markdown: one line per grid point (seeds averaged) of an optimizer sweep;
    ``optimizer``, ``lr``, ``rank`` and ``hyper`` always, other settings when they vary."""
    shown = [k for k in _OPTIM_SETTINGS
             if k in ("optimizer", "lr", "rank", "hyper")
             or len({json.dumps(r.get(k)) for r in rows}) > 1]  # fmt: skip

    def value(row, k):
        v = row.get(k)
        if v is None:
            return "-"
        return json.dumps(v, sort_keys=True) if isinstance(v, dict) else str(v)

    groups: dict[tuple, list[dict]] = {}
    for row in rows:
        point = tuple(json.dumps(row.get(k), sort_keys=True) for k in _OPTIM_SETTINGS)
        groups.setdefault(point, []).append(row)
    lines = ["| " + " | ".join([*shown, "seeds", *OPTIM_METRICS, "diverged"]) + " |",
             "|" + "---|" * (len(shown) + 2 + len(OPTIM_METRICS))]  # fmt: skip
    for group in groups.values():
        means = []
        for m in OPTIM_METRICS:
            values = [float(r[m]) for r in group if r.get(m) is not None]
            means.append(f"{sum(values) / len(values):.4g}" if values else "-")
        diverged = sum(r.get("diverged_at") is not None for r in group)
        lines.append("| " + " | ".join([*(value(group[0], k) for k in shown), str(len(group)),
                                        *means, str(diverged)]) + " |")  # fmt: skip
    return "\n".join(lines) + "\n"


def solver_table(rows: list[dict]) -> str:
    """Markdown: one line per grid point (seeds averaged) of a VQE or QAOA sweep."""
    kind = rows[0]["kind"]
    metrics = SOLVER_METRICS[kind]
    skip = {"key", "seed", "versions", "worker", "wall_seconds", *metrics, "energy", "objective"}
    settings = [k for k in rows[0] if k not in skip]
    groups: dict[tuple, list[dict]] = {}
    for row in rows:
        groups.setdefault(tuple(row[k] for k in settings), []).append(row)
    lines = ["| " + " | ".join([*settings, "seeds", *metrics]) + " |",
             "|" + "---|" * (len(settings) + 1 + len(metrics))]  # fmt: skip
    for point, group in groups.items():
        means = []
        for m in metrics:
            values = [float(r[m]) for r in group if r.get(m) is not None]
            means.append(f"{sum(values) / len(values):.4g}" if values else "-")
        lines.append("| " + " | ".join([*map(str, point), str(len(group)), *means]) + " |")
    return "\n".join(lines) + "\n"
