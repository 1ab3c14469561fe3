"""``qwb qas run|bench|plot``: train a QAS agent, benchmark agents, plot a run."""

from __future__ import annotations

import typer

from qworkbench.cli._app import qas_app
from qworkbench.cli._common import fail, progress, warnings_as_lines, writable_dir


def _hyper(command: str, pairs: list[str] | None) -> dict:
    """``--hyper KEY=VALUE`` options as a dict; values are read as Python literals
    (numbers, tuples, True/False), else kept as strings."""
    import ast

    out = {}
    for pair in pairs or []:
        key, sep, text = pair.partition("=")
        key = key.strip()
        if not sep or not key:
            fail(command, f"--hyper takes KEY=VALUE, got {pair!r}")
        try:
            value = ast.literal_eval(text.strip())
        except (ValueError, SyntaxError):
            value = text.strip()
        if isinstance(value, list):
            value = tuple(value)
        out[key] = value
    return out


def _check_hyper(command: str, agents: list[str], hyper: dict) -> None:
    """Every ``--hyper`` key must be one that (at least one of) the agents know; each
    agent then takes the keys it knows (:func:`qworkbench.experiments.qas.bench`)."""
    from agents import known_hyperparameters

    known = {name: known_hyperparameters(name) for name in agents}
    unknown = sorted(k for k in hyper if not any(k in keys for keys in known.values()))
    if unknown:
        detail = "; ".join(f"{name}: {', '.join(keys) or 'none'}" for name, keys in known.items())
        fail(command, f"unknown --hyper key(s) {unknown}; known ({detail})")


@qas_app.command("run")
def qas_run(
    task: str = typer.Option(
        "h2", "--task", help="Registry task: h2, h2_070, lih4, tfim4, bell, ... (qwb tasks)."
    ),
    agent: str = typer.Option("crlqas", "--agent", help="random, dqn, crlqas, kanqas or gadget."),
    episodes: int = typer.Option(
        None,
        "--episodes",
        min=1,
        help="Episodes in all (default 200; --preset paper: the paper's).",
    ),
    seed: int = typer.Option(0, "--seed"),
    noise: str = typer.Option(
        "none", "--noise", help="none, depolarizing:P[,P2] or a fake backend (fake_manila)."
    ),
    out: str = typer.Option(None, "--out", help="Run directory (default runs/TASK-AGENT-sSEED)."),
    resume: bool = typer.Option(False, "--resume", help="Continue the run in --out."),
    preset: str = typer.Option("fast", "--preset", help="fast or paper (per task: qwb tasks)."),
    max_gates: int = typer.Option(None, "--max-gates", min=1, help="Gate budget L."),
    gate_set: str = typer.Option(None, "--gate-set", help="crlqas, kanqas, ibm_native."),
    random_halt: bool = typer.Option(
        None,
        "--random-halt/--no-random-halt",
        help="CRLQAS's random episode lengths (default: as the preset says; fast: off).",
    ),
    hyper: list[str] = typer.Option(  # noqa: B008
        None, "--hyper", help="Agent hyperparameter KEY=VALUE (repeatable), e.g. lr=3e-4."
    ),
    eval_every: int = typer.Option(
        None, "--eval-every", min=0, help="Greedy evaluation every N episodes (0: off)."
    ),
    json_output: bool = typer.Option(False, "--json", help="Print one JSON object last."),
) -> None:
    """Train a QAS agent on a task; writes the run directory (log, greedy evaluations, best
    circuit, checkpoints). Ctrl-C stops cleanly; --resume continues."""
    import json

    from agents import available_agents
    from agents.presets import PRESET_NAMES
    from agents.runner import run
    from qworkbench.errors import QWorkbenchError

    if agent not in available_agents():
        fail("qas run", f"unknown agent {agent!r}; available: {', '.join(available_agents())}")
    if preset not in PRESET_NAMES:
        fail("qas run", f"--preset must be one of {', '.join(PRESET_NAMES)}, got {preset!r}")
    overrides = _hyper("qas run", hyper)
    _check_hyper("qas run", [agent], overrides)
    if episodes is None and preset != "paper":
        episodes = 200
    out = out or f"runs/{task}-{agent}-s{seed}"
    writable_dir("qas run", out)
    from pathlib import Path

    if resume and not (Path(out) / "checkpoint.pt").exists():
        typer.echo(f"qwb qas run: nothing to resume in {out}; starting from episode 0", err=True)
        resume = (Path(out) / "config.json").exists()
    state = {"best": None, "episode": 0}

    def describe(record):
        quality = record.get("error", record.get("fidelity"))
        if state["best"] is None or (
            abs(quality) < abs(state["best"]) if "error" in record else quality > state["best"]
        ):
            state["best"] = quality
        state["episode"] = record["episode"] + 1
        return (f"episode {record['episode'] + 1} best {state['best']:.2e} "
                f"threshold {record['threshold'] or 0:.4f} gates {record['gates']}")  # fmt: skip

    try:
        with progress("qas run", episodes, "training", quiet=json_output) as bar:

            def callback(record):
                bar.advance(1, describe(record))

            trained = run(task, agent, episodes, seed=seed, noise=noise, out=out,
                          resume=resume, preset=preset, max_gates=max_gates,
                          gate_set=gate_set, callback=callback, random_halt=random_halt,
                          eval_every=eval_every, **overrides)  # fmt: skip
    except KeyboardInterrupt:
        typer.echo(
            f"qwb qas run: interrupted at episode {state['episode']}; continue with "
            f"qwb qas run --resume --out {out} (and the same options)",
            err=True,
        )
        raise typer.Exit(code=130) from None
    except (ValueError, TypeError, FileExistsError, FileNotFoundError, QWorkbenchError) as exc:
        fail("qas run", str(exc))
    from qworkbench.experiments.qas import summarize

    summary = {"task": task, "agent": agent, "seed": seed, "out": out,
               **summarize(trained.log, trained.best_record, trained.evaluations)}  # fmt: skip
    if not json_output:
        greedy = "not evaluated"
        if summary["greedy_solved"] is not None:
            greedy = (f"solved ({summary['greedy_gates']} gates, first at episode "
                      f"{summary['greedy_first_solve']})" if summary["greedy_solved"]
                      else "not solved")  # fmt: skip
        count = summary["successes"]
        typer.echo(
            f"{task} / {agent}: greedy policy {greedy}; {count} successful "
            f"episode{'' if count == 1 else 's'} of {summary['episodes']}; first at "
            f"{summary['first_success']}; best circuit {summary['best_gates']} gates, "
            f"{summary['best_cnots']} CNOTs (error/fidelity {summary['best_quality']}); run in "
            f"{out}"
        )
    typer.echo(json.dumps(summary) if json_output else "", nl=json_output)


@qas_app.command("bench")
def qas_bench(
    tasks: str = typer.Option("h2", "--tasks", help="Comma-separated registry tasks."),
    agents: str = typer.Option("random,crlqas", "--agents", help="Comma-separated agents."),
    seeds: int = typer.Option(3, "--seeds", min=1),
    episodes: int = typer.Option(
        None,
        "--episodes",
        min=1,
        help="Episodes per run (default 200; --preset paper: the paper's).",
    ),
    preset: str = typer.Option("fast", "--preset", help="fast or paper."),
    noise: str = typer.Option("none", "--noise"),
    out: str = typer.Option("runs/qas-bench", "--out", help="Results directory."),
    gate_set: str = typer.Option(None, "--gate-set", help="crlqas, kanqas or ibm_native."),
    hyper: list[str] = typer.Option(  # noqa: B008
        None, "--hyper", help="Agent hyperparameter KEY=VALUE (repeatable), for every agent."
    ),
    workers: int = typer.Option(1, "--workers", min=1, help="Cells in parallel processes."),
) -> None:
    """Benchmark QAS agents on tasks over seeds; prints the table (Markdown; CSV beside):
    seeds solved by the greedy policy first, then the best circuits and training figures."""
    from agents import available_agents
    from agents.presets import PRESET_NAMES
    from qworkbench.errors import QWorkbenchError
    from qworkbench.experiments.qas import bench
    from qworkbench.experiments.tables import aggregate, format_table

    task_list = [t.strip() for t in tasks.split(",") if t.strip()]
    agent_list = [a.strip() for a in agents.split(",") if a.strip()]
    for name in agent_list:
        if name not in available_agents():
            fail("qas bench", f"unknown agent {name!r}; available: {', '.join(available_agents())}")
    if preset not in PRESET_NAMES:
        fail("qas bench", f"--preset must be one of {', '.join(PRESET_NAMES)}, got {preset!r}")
    if not task_list or not agent_list:
        fail("qas bench", "--tasks and --agents must name at least one each")
    overrides = _hyper("qas bench", hyper)
    _check_hyper("qas bench", agent_list, overrides)
    if episodes is None and preset != "paper":
        episodes = 200
    writable_dir("qas bench", out)
    try:
        import tasks as task_registry

        for name in task_list:
            if name not in task_registry.available():
                raise ValueError(
                    f"unknown task {name!r}; available: {', '.join(task_registry.available())}"
                )
        with progress("qas bench", None, "cells") as bar:

            def report(i, total, cell):
                bar.advance(0, f"[{i + 1}/{total}] {cell['task']} / {cell['agent']} / seed "
                               f"{cell['seed']}")  # fmt: skip

            rows = bench(task_list, agent_list, seeds=seeds, episodes=episodes, out=out,
                         preset=preset, noise=noise, progress=report, gate_set=gate_set,
                         hyper=overrides, workers=workers)  # fmt: skip
    except KeyboardInterrupt:
        typer.echo(f"qwb qas bench: interrupted; finished cells are kept in {out} and a rerun "
                   "skips them", err=True)  # fmt: skip
        raise typer.Exit(code=130) from None
    except (ValueError, TypeError, QWorkbenchError) as exc:
        fail("qas bench", str(exc))
    typer.echo(format_table(aggregate(rows)), nl=False)
    typer.echo(f"(table.md, table.csv and results.jsonl in {out})", err=True)


@qas_app.command("plot")
def qas_plot(run_dir: str = typer.Argument(..., help="A run directory of qwb qas run.")) -> None:
    """Plot a run: error (or fidelity) per episode, gates and depth of successes."""
    from qworkbench.experiments.plots import plot_run

    try:
        with warnings_as_lines("qas plot"):
            paths = plot_run(run_dir)
    except (ValueError, FileNotFoundError) as exc:
        fail("qas plot", str(exc))
    for path in paths:
        typer.echo(str(path))
