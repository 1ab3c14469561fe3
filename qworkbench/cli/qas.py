"""``qwb qas run|bench|plot``: train a QAS agent, benchmark agents, plot a run."""

from __future__ import annotations

import typer

from qworkbench.cli._app import qas_app
from qworkbench.cli._common import fail, interactive


@qas_app.command("run")
def qas_run(
    task: str = typer.Option(
        "h2", "--task", help="Registry task: h2, h2_2q, lih4, tfim4, bell, ..."
    ),
    agent: str = typer.Option("crlqas", "--agent", help="random, dqn, crlqas, kanqas or gadget."),
    episodes: int = typer.Option(200, "--episodes", min=1),
    seed: int = typer.Option(0, "--seed"),
    noise: str = typer.Option(
        "none", "--noise", help="none, depolarizing:P[,P2] or a fake backend (fake_manila)."
    ),
    out: str = typer.Option(None, "--out", help="Run directory (default runs/TASK-AGENT-sSEED)."),
    resume: bool = typer.Option(False, "--resume", help="Continue the run in --out."),
    preset: str = typer.Option("fast", "--preset", help="fast or paper."),
    max_gates: int = typer.Option(None, "--max-gates", min=1, help="Gate budget L."),
    gate_set: str = typer.Option(None, "--gate-set", help="crlqas, kanqas, ibm_native."),
    random_halt: bool = typer.Option(
        True, "--random-halt/--no-random-halt", help="CRLQAS's random episode lengths."
    ),
    json_output: bool = typer.Option(False, "--json", help="Print one JSON object last."),
) -> None:
    """Train a QAS agent on a task; writes the run directory (log, best circuit, checkpoints)."""
    import json

    from agents import available_agents
    from agents.runner import run
    from qworkbench.errors import QWorkbenchError

    if agent not in available_agents():
        fail("qas run", f"unknown agent {agent!r}; available: {', '.join(available_agents())}")
    if preset not in ("fast", "paper"):
        fail("qas run", f"--preset must be 'fast' or 'paper', got {preset!r}")
    out = out or f"runs/{task}-{agent}-s{seed}"
    progress = interactive(json_output)
    bar = None
    state = {"best": None}

    def callback(record):
        quality = record.get("error", record.get("fidelity"))
        if state["best"] is None or (
            abs(quality) < abs(state["best"]) if "error" in record else quality > state["best"]
        ):
            state["best"] = quality
        if bar is not None:
            bar.update(
                task_id,
                advance=1,
                description=(
                    f"episode {record['episode'] + 1} best {state['best']:.2e} "
                    f"threshold {record['threshold'] or 0:.4f} gates {record['gates']}"
                ),
            )

    try:
        if progress:
            from rich.progress import Progress

            with Progress(transient=True) as bar:
                task_id = bar.add_task("training", total=episodes)
                trained = run(task, agent, episodes, seed=seed, noise=noise, out=out,
                              resume=resume, preset=preset, max_gates=max_gates,
                              gate_set=gate_set, callback=callback,
                              random_halt=random_halt)  # fmt: skip
        else:
            trained = run(task, agent, episodes, seed=seed, noise=noise, out=out, resume=resume,
                          preset=preset, max_gates=max_gates, gate_set=gate_set,
                          random_halt=random_halt)  # fmt: skip
    except (ValueError, TypeError, FileExistsError, FileNotFoundError, QWorkbenchError) as exc:
        fail("qas run", str(exc))
    from qworkbench.experiments.qas import summarize

    summary = {"task": task, "agent": agent, "seed": seed, "out": out,
               **summarize(trained.log, trained.best_record)}  # fmt: skip
    if not json_output:
        typer.echo(
            f"{task} / {agent}: {summary['successes']} successful episodes of "
            f"{summary['episodes']}; first at {summary['first_success']}; best circuit "
            f"{summary['best_gates']} gates, {summary['best_cnots']} CNOTs "
            f"(error/fidelity {summary['best_quality']}); run in {out}"
        )
    typer.echo(json.dumps(summary) if json_output else "", nl=json_output)


@qas_app.command("bench")
def qas_bench(
    tasks: str = typer.Option("h2", "--tasks", help="Comma-separated registry tasks."),
    agents: str = typer.Option("random,crlqas", "--agents", help="Comma-separated agents."),
    seeds: int = typer.Option(3, "--seeds", min=1),
    episodes: int = typer.Option(200, "--episodes", min=1),
    preset: str = typer.Option("fast", "--preset", help="fast or paper."),
    noise: str = typer.Option("none", "--noise"),
    out: str = typer.Option("runs/qas-bench", "--out", help="Results directory."),
    gate_set: str = typer.Option(None, "--gate-set", help="crlqas, kanqas or ibm_native."),
) -> None:
    """Benchmark QAS agents on tasks over seeds; prints the table (Markdown; CSV beside)."""
    from agents import available_agents
    from qworkbench.errors import QWorkbenchError
    from qworkbench.experiments.qas import bench
    from qworkbench.experiments.tables import aggregate, format_table

    task_list = [t.strip() for t in tasks.split(",") if t.strip()]
    agent_list = [a.strip() for a in agents.split(",") if a.strip()]
    for name in agent_list:
        if name not in available_agents():
            fail("qas bench", f"unknown agent {name!r}; available: {', '.join(available_agents())}")
    if preset not in ("fast", "paper"):
        fail("qas bench", f"--preset must be 'fast' or 'paper', got {preset!r}")
    if not task_list or not agent_list:
        fail("qas bench", "--tasks and --agents must name at least one each")
    try:
        import tasks as task_registry

        for name in task_list:
            if name not in task_registry.available():
                raise ValueError(
                    f"unknown task {name!r}; available: {', '.join(task_registry.available())}"
                )

        def progress(i, total, cell):
            typer.echo(
                f"[{i + 1}/{total}] {cell['task']} / {cell['agent']} / seed {cell['seed']}",
                err=True,
            )

        rows = bench(task_list, agent_list, seeds=seeds, episodes=episodes, out=out,
                     preset=preset, noise=noise, progress=progress, gate_set=gate_set)  # fmt: skip
    except (ValueError, TypeError, QWorkbenchError) as exc:
        fail("qas bench", str(exc))
    typer.echo(format_table(aggregate(rows)), nl=False)
    typer.echo(f"(table.md, table.csv and results.jsonl in {out})", err=True)


@qas_app.command("plot")
def qas_plot(run_dir: str = typer.Argument(..., help="A run directory of qwb qas run.")) -> None:
    """Plot a run: error (or fidelity) per episode, gates and depth of successes."""
    from qworkbench.experiments.plots import plot_run

    try:
        paths = plot_run(run_dir)
    except (ValueError, FileNotFoundError) as exc:
        fail("qas plot", str(exc))
    for path in paths:
        typer.echo(str(path))
