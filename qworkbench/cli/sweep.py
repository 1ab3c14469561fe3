"""``qwb sweep``: grids of QAS, VQE, QAOA or optimizer cells on processes or Dask."""

from __future__ import annotations

import typer

from qworkbench.cli._app import app
from qworkbench.cli._common import fail, progress, writable_dir


@app.command("sweep")
def sweep(
    config: str = typer.Argument(None, help="A sweep config (TOML); options override it."),
    tasks: str = typer.Option(None, "--tasks", help="Comma-separated registry tasks."),
    agents: str = typer.Option(None, "--agents", help="Comma-separated agents."),
    seeds: int = typer.Option(None, "--seeds", min=1, help="Seeds 0..N-1."),
    episodes: int = typer.Option(None, "--episodes", min=1),
    preset: str = typer.Option(None, "--preset", help="fast or paper."),
    noise: str = typer.Option(None, "--noise"),
    out: str = typer.Option("runs/sweep", "--out", help="Results directory."),
    executor: str = typer.Option(
        "local", "--executor", help="local (processes), dask (a LocalCluster) or dask://HOST:PORT."
    ),
    workers: int = typer.Option(None, "--workers", min=1, help="Processes / Dask workers."),
) -> None:
    """Sweep tasks x agents x seeds (x hyper-parameters) on local processes or Dask.

    One line per finished cell in OUT/results.jsonl: a rerun skips finished cells."""
    import json

    from qworkbench.experiments.sweep import expand, load_config, make_executor
    from qworkbench.experiments.sweep import sweep as run_sweep

    try:
        settings = load_config(config) if config else {}
        for name, value in (("tasks", tasks), ("agents", agents)):
            if value is not None:
                settings[name] = [v.strip() for v in value.split(",") if v.strip()]
        for name, value in (("seeds", seeds), ("episodes", episodes), ("preset", preset),
                            ("noise", noise)):  # fmt: skip
            if value is not None:
                settings[name] = value
        cells = expand(settings)
    except (ValueError, TypeError, OSError) as exc:
        fail("sweep", str(exc))
    writable_dir("sweep", out)  # before any cell runs

    def report(row, cell, done, total):
        hidden = ("episodes", "preset", "noise", "maxiter", "steps", "width", "layers", "heads",
                  "context", "batch", "eval_every", "corpus", "corpus_sha256", "threads",
                  "device")  # fmt: skip
        what = " / ".join(f"{v}" for k, v in cell.items() if k not in hidden)
        if row is None:
            status = "failed"
        elif row.get("kind") == "optim":
            loss = row["final_val_loss"]
            status = f"val loss {loss:.4f}" if loss is not None else "diverged"
        elif "successes" in row:
            count = row["successes"]
            status = f"{count} success" if count == 1 else f"{count} successes"
        elif "error" in row:
            status = "error -" if row["error"] is None else f"error {row['error']:.2e}"
        else:  # None for a graph without edges (no cut to approximate)
            ratio = row.get("approximation_ratio")
            status = "ratio -" if ratio is None else f"ratio {ratio:.3f}"
        bar.total = total
        bar.advance(1 if row is not None else 0, f"last: {what}")
        bar.note(f"[{done}/{total}] {what}: {status}")

    try:
        with progress("sweep", None, "cells") as bar:
            if executor == "local":  # the sweep owns its pool (and replaces it if a worker dies)
                result = run_sweep(cells, out, workers=workers, progress=report)
            else:
                with make_executor(executor, workers) as pool:
                    result = run_sweep(cells, out, executor=pool, progress=report)
    except (ValueError, OSError) as exc:
        fail("sweep", str(exc))
    typer.echo(
        f"{len(cells)} cells: {result.ran} ran, {result.skipped} already done, "
        f"{len(result.failed)} failed (results in {out}/results.jsonl)"
    )
    for cell, message in result.failed:
        typer.echo(f"  failed: {json.dumps(cell)}: {message}", err=True)
    if result.failed:
        raise typer.Exit(code=1)
