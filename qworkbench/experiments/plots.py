"""Figures of QAS runs, benchmarks and sweeps. Each ``draw_*`` draws on an ``ax`` the
caller passes; ``plot_run`` and ``plot_results`` write PNGs (and a Markdown summary)
into a run, bench or sweep directory, as ``qwb qas plot`` and ``qwb plot`` do."""

from __future__ import annotations

import io
from pathlib import Path

from qworkbench.experiments.results import read_jsonl, read_results
from qworkbench.experiments.tables import (
    SOLVER_METRICS,
    aggregate,
    format_table,
    optim_table,
    solver_table,
)
from qworkbench.utils import atomic_write

__all__ = [
    "read_log",
    "draw_error",
    "draw_successes",
    "draw_success_rates",
    "draw_loss_curves",
    "draw_solver_metric",
    "plot_run",
    "plot_results",
]


def read_log(run_dir) -> list[dict]:
    """The episode records of a run directory's ``episodes.jsonl``. A torn last line (a
    run killed mid-write; ``--resume`` rewrites it) is skipped with a warning; a line
    that is not JSON elsewhere raises ``ValueError`` naming it."""
    path = Path(run_dir) / "episodes.jsonl"
    if not path.exists():
        raise FileNotFoundError(f"{run_dir} is not a run directory (no episodes.jsonl)")
    return read_jsonl(path)


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
    out = Path(out_dir)
    path = out / "results.jsonl"
    if not path.exists():
        raise FileNotFoundError(f"{out_dir} has no results.jsonl (not a bench or sweep dir)")
    rows = list(read_results(out, warn=True).values())
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


def _plot_solver_sweep(out: Path, rows: list[dict], kinds: set) -> list[Path]:
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
