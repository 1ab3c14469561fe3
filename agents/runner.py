"""Runs and benchmarks of QAS agents: what ``qwb qas run|bench|plot`` call.

``bench`` trains every (task, agent, seed) cell, appends one JSON line per finished cell
to ``results.jsonl`` (keyed by the hash of its settings, so a rerun skips finished
cells) and writes the table as Markdown and CSV.
"""

from __future__ import annotations

import csv
import hashlib
import io
import json
import math
import statistics
import time
from pathlib import Path

from agents.base import atomic_write

__all__ = [
    "parse_noise",
    "default_max_gates",
    "default_gate_set",
    "make_env",
    "run",
    "bench",
    "plot_run",
    "format_table",
]


def parse_noise(spec, num_qubits: int):
    """``none``, ``depolarizing:P[,P2]`` or a fake IBM backend name (``fake_manila``,
    ``fake_fez``, ...: its noise on the first ``num_qubits`` qubits)."""
    if spec is None or (isinstance(spec, str) and spec.strip().lower() in ("", "none")):
        return None
    if isinstance(spec, str) and spec.lower().startswith("fake_"):
        from qiskit_ibm_runtime import fake_provider

        from simulators.noise import NoiseModel

        wanted = spec.lower().replace("_", "")
        for attr in dir(fake_provider):
            if attr.lower() in (wanted, wanted + "v2") and attr.endswith("V2"):
                backend = getattr(fake_provider, attr)()
                if backend.num_qubits < num_qubits:
                    raise ValueError(
                        f"{spec} has {backend.num_qubits} qubits; the task needs {num_qubits}"
                    )
                return NoiseModel.from_backend(backend, qubits=list(range(num_qubits)))
        raise ValueError(f"unknown fake backend {spec!r} (e.g. fake_manila, fake_fez)")
    from tasks.vqe import parse_noise as parse_depolarizing

    try:
        return parse_depolarizing(spec)
    except ValueError as exc:
        raise ValueError(f"{exc} (or a fake backend such as fake_manila)") from None


def default_gate_set(task) -> str:
    """``kanqas`` gates for state tasks, ``crlqas`` for energy tasks."""
    return "kanqas" if task.kind == "state" else "crlqas"


def default_max_gates(task) -> int:
    """The gate budget L: 3N for state tasks (Bell 6), 20 up to 4 qubits (energy), 70
    for 5-6 qubits (LiH-6 needs ~67 in CRLQAS), 100 above."""
    n = task.num_qubits
    if task.kind == "state":
        return 3 * n
    return 20 if n <= 4 else 70 if n <= 6 else 100


def make_env(task: str, seed=None, noise=None, max_gates=None, gate_set=None, **options):
    """A :class:`QASEnv` for a registry task with the defaults above."""
    from agents.env import QASEnv, resolve_task

    task_kwargs = {k: options.pop(k) for k in ("bond_length", "h", "J") if k in options}
    resolved = resolve_task(task, **task_kwargs)
    noise_model = parse_noise(noise, resolved.num_qubits)
    return QASEnv(
        resolved,
        max_gates=max_gates or default_max_gates(resolved),
        gate_set=gate_set or default_gate_set(resolved),
        noise=noise_model,
        seed=seed,
        **options,
    )


def run(task: str, agent: str, episodes: int, seed: int = 0, noise=None, out=None,
        resume: bool = False, preset: str = "fast", max_gates=None, gate_set=None,
        callback=None, random_halt: bool = True, **hyper):  # fmt: skip
    """Train ``agent`` on ``task``; returns the agent (its log, best circuit...)."""
    from agents import make_agent

    env = make_env(task, seed=seed, noise=noise, max_gates=max_gates, gate_set=gate_set,
                   random_halt=random_halt)  # fmt: skip
    trained = make_agent(agent, env, preset=preset, seed=seed, **hyper)
    trained.train(episodes, callback=callback, run_dir=out, resume=resume)
    return trained


# -- benchmark ---------------------------------------------------------------------------------
def _cell_key(cell: dict) -> str:
    return hashlib.sha256(json.dumps(cell, sort_keys=True).encode()).hexdigest()[:16]


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
    results_path = out / "results.jsonl"
    done: dict[str, dict] = {}
    if results_path.exists():
        for line in results_path.read_text().splitlines():
            try:
                row = json.loads(line)
                done[row["key"]] = row
            except (json.JSONDecodeError, KeyError, TypeError):
                continue  # a torn last line from a killed run: that cell runs again
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
        key = _cell_key(cell)
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
        torn = (
            results_path.exists()
            and results_path.stat().st_size > 0
            and (results_path.read_bytes()[-1:] != b"\n")
        )
        with open(results_path, "a") as f:
            f.write(("\n" if torn else "") + json.dumps(row) + "\n")  # never glue to a torn line
    table = aggregate(rows)
    atomic_write(out / "table.md", format_table(table))
    atomic_write(out / "table.csv", _csv(table))
    return rows


def _median(values):
    values = [v for v in values if v is not None]
    return statistics.median(values) if values else None


def aggregate(rows: list[dict]) -> list[dict]:
    """One line per (task, agent) over seeds; rows with the same ``key`` count once (the
    last one)."""
    import tasks as registry

    rows = _last_per_key(rows)

    kinds = {task: registry.get_task(task).kind for task in {row["task"] for row in rows}}
    groups: dict[tuple, list[dict]] = {}
    for row in rows:
        groups.setdefault((row["task"], row["agent"]), []).append(row)
    table = []
    for (task, agent), runs in groups.items():
        solved = [r for r in runs if r["first_success"] is not None]

        def rank(r):  # successes by size; otherwise by error (or by fidelity, higher first)
            if r["best_success"]:
                return (0, r["best_gates"])
            quality = r["best_quality"]
            return (1, -quality if kinds.get(r["task"]) == "state" else quality)

        best = min((r for r in runs if r["best_gates"] is not None), key=rank, default=None)
        table.append({
            "task": task,
            "agent": agent,
            "seeds": len(runs),
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
    ("seeds solved", "seeds_solved", "{}"),
    ("success rate", "success_rate", "{:.3f}"),
    ("episodes to 1st success (median)", "first_success_median", "{:.0f}"),
    ("seconds to 1st success (median)", "seconds_to_first_median", "{:.2f}"),
    ("best gates", "best_gates", "{}"),
    ("best CNOTs", "best_cnots", "{}"),
    ("best depth", "best_depth", "{}"),
    ("best error / fidelity", "best_error", "{:.2e}"),
    ("episodes/s", "episodes_per_s", "{:.1f}"),
]


def format_table(table: list[dict]) -> str:
    """The benchmark table as Markdown."""
    head = "| " + " | ".join(title for title, _, _ in _COLUMNS) + " |"
    rule = "|" + "---|" * len(_COLUMNS)
    lines = [head, rule]
    for row in table:
        cells = []
        for _, key, fmt in _COLUMNS:
            value = row[key]
            if key == "seeds_solved":
                value = f"{row['seeds_solved']}/{row['seeds']}"
                cells.append(value)
                continue
            cells.append("-" if value is None else fmt.format(value))
        lines.append("| " + " | ".join(cells) + " |")
    return "\n".join(lines) + "\n"


def _csv(table: list[dict]) -> str:
    buffer = io.StringIO()
    if table:
        writer = csv.DictWriter(buffer, fieldnames=list(table[0]))
        writer.writeheader()
        writer.writerows(table)
    return buffer.getvalue()


# -- plots ----------------------------------------------------------------------------------
def read_log(run_dir) -> list[dict]:
    path = Path(run_dir) / "episodes.jsonl"
    if not path.exists():
        raise FileNotFoundError(f"{run_dir} is not a run directory (no episodes.jsonl)")
    records = []
    for number, line in enumerate(path.read_text().splitlines(), 1):
        if not line.strip():
            continue
        try:
            records.append(json.loads(line))
        except json.JSONDecodeError as exc:
            raise ValueError(f"{path}: line {number} is not JSON ({exc.msg})") from None
    return records


def draw_error(ax, records: list[dict]) -> None:
    """Error (energy tasks, log scale, with chemical accuracy) or fidelity per episode."""
    episodes = [r["episode"] for r in records]
    if records and "error" in records[0]:
        ax.semilogy(episodes, [max(abs(r["error"]), 1e-12) for r in records], ".", ms=3,
                    label="error |E - E0| (Ha)")  # fmt: skip
        ax.axhline(1.6e-3, color="k", ls="--", lw=1, label="chemical accuracy")
    else:
        ax.plot(episodes, [r["fidelity"] for r in records], ".", ms=3, label="fidelity")
    ax.set_xlabel("episode")
    ax.legend()


def draw_successes(ax, records: list[dict]) -> None:
    """Gates and depth of the successful episodes."""
    wins = [r for r in records if r["success"]]
    ax.plot([r["episode"] for r in wins], [r["gates"] for r in wins], "o", ms=3, label="gates")
    ax.plot([r["episode"] for r in wins], [r["depth"] for r in wins], "x", ms=3, label="depth")
    ax.set_xlabel("episode")
    ax.set_title(f"successful episodes ({len(wins)})")
    ax.legend()


def draw_success_rates(ax, table: list[dict]) -> None:
    """Success rate per (task, agent) of a benchmark or sweep table."""
    labels = [f"{row['task']}\n{row['agent']}" for row in table]
    ax.bar(range(len(table)), [row["success_rate"] for row in table])
    ax.set_xticks(range(len(table)), labels, fontsize=7)
    ax.set_ylabel("success rate")


def _figure(draw, *args, path: Path) -> Path:
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    fig, ax = plt.subplots(figsize=(7, 4))
    draw(ax, *args)
    fig.tight_layout()
    _save_figure(fig, path)
    plt.close(fig)
    return path


def plot_run(run_dir) -> list[Path]:
    """``error.png`` (error or fidelity per episode) and ``successes.png`` (gates and
    depth of successful episodes) in ``run_dir``."""
    records = read_log(run_dir)
    if not records:
        raise ValueError(f"{run_dir}: the episode log is empty")
    run = Path(run_dir)
    return [
        _figure(draw_error, records, path=run / "error.png"),
        _figure(draw_successes, records, path=run / "successes.png"),
    ]


def draw_loss_curves(ax, rows: list[dict]) -> None:
    """Validation loss per step of each cell of an optimizer sweep."""
    for r in rows:
        curve = r.get("curve") or []
        if curve:
            label = f"{r['optimizer']} lr={r['lr']:g} seed={r.get('seed')}"
            ax.plot([p[0] for p in curve], [p[-1] for p in curve], lw=1, label=label)
    ax.set_xlabel("step")
    ax.set_ylabel("validation loss")
    ax.legend(fontsize=6)


def draw_solver_metric(ax, rows: list[dict], metric: str) -> None:
    """One metric (e.g. a VQE's error or QAOA's approximation ratio) of every cell."""
    values = [r.get(metric) for r in rows]
    labels = [f"{r.get('task') or r.get('problem', '')} {r.get('optimizer', '')}"
              f"\nseed {r.get('seed')}" for r in rows]  # fmt: skip
    ax.bar(range(len(rows)), [float("nan") if v is None else float(v) for v in values])
    ax.set_xticks(range(len(rows)), labels, fontsize=6)
    ax.set_ylabel(metric)
    if metric == "error":
        ax.set_yscale("log")


def plot_results(out_dir) -> list[Path]:
    """For a ``qwb qas bench`` or ``qwb sweep`` directory: ``summary.md`` (the table)
    and a figure: ``success.png`` (success rate per task and agent) for QAS,
    ``loss.png`` (validation-loss curves) for an optimizer sweep, ``<metric>.png``
    (e.g. ``error.png``, ``approximation_ratio.png``) for a VQE or QAOA sweep."""
    path = Path(out_dir) / "results.jsonl"
    if not path.exists():
        raise FileNotFoundError(f"{out_dir} has no results.jsonl (not a bench or sweep dir)")
    rows = []
    for line in path.read_text().splitlines():
        try:
            rows.append(json.loads(line))
        except json.JSONDecodeError:
            continue  # a torn last line
    out = Path(out_dir)
    rows = _last_per_key([r for r in rows if isinstance(r, dict)])
    kinds = {r.get("kind", "qas") for r in rows}
    if len(kinds) > 1:
        raise ValueError(f"{out} mixes sweep kinds {sorted(kinds)}")
    if kinds and kinds <= {"optim", "vqe", "qaoa"}:
        return _plot_solver_sweep(out, rows, kinds)
    table = aggregate([r for r in rows if "success_rate" in r])
    if not table:
        raise ValueError(f"{path} holds no finished cells")
    atomic_write(out / "summary.md", format_table(table))
    return [_figure(draw_success_rates, table, path=out / "success.png"), out / "summary.md"]


def _last_per_key(rows: list[dict]) -> list[dict]:
    """One row per ``key`` (the last line of a key wins, in the place of its first);
    rows without a key are kept as they are."""
    out: dict = {}
    for i, row in enumerate(rows):
        key = row.get("key")
        out[key if isinstance(key, str) else ("row", i)] = row  # a dict keeps first places
    return list(out.values())


def _plot_solver_sweep(out: Path, rows: list[dict], kinds: set) -> list[Path]:
    from agents.sweep import SOLVER_METRICS, optim_table, solver_table

    if len(kinds) > 1:
        raise ValueError(f"{out} mixes sweep kinds {sorted(kinds)}")
    (kind,) = kinds
    if kind == "optim":
        atomic_write(out / "summary.md", optim_table(rows))
        return [_figure(draw_loss_curves, rows, path=out / "loss.png"), out / "summary.md"]
    atomic_write(out / "summary.md", solver_table(rows))
    metric = SOLVER_METRICS[kind][0]
    figure = _figure(draw_solver_metric, rows, metric, path=out / f"{metric}.png")
    return [figure, out / "summary.md"]


def _save_figure(fig, path: Path) -> None:
    """A PNG written atomically."""
    buffer = io.BytesIO()
    fig.savefig(buffer, format="png", dpi=120)
    atomic_write(path, buffer.getvalue())
