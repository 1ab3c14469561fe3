"""``qwb plot``: figures and a summary of a run, bench or sweep directory."""

from __future__ import annotations

import typer

from qworkbench.cli._app import app
from qworkbench.cli._common import fail, warnings_as_lines


@app.command("plot")
def plot(
    directory: str = typer.Argument(..., help="A run directory, or a bench/sweep one."),
) -> None:
    """Plot a QAS run (error, successes) or a bench/sweep directory (success rates and a
    Markdown summary)."""
    from pathlib import Path

    from qworkbench.experiments.plots import plot_results, plot_run

    try:
        with warnings_as_lines("plot"):  # e.g. a torn last line, skipped
            if (Path(directory) / "episodes.jsonl").exists():
                paths = plot_run(directory)
            else:
                paths = plot_results(directory)
    except (ValueError, FileNotFoundError) as exc:
        fail("plot", exc)
    for path in paths:
        typer.echo(str(path))
