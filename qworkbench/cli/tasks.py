"""``qwb tasks``: what the other commands take by name (tasks, agents, gate sets, presets),
one line each."""

from __future__ import annotations

import typer

from qworkbench.cli._app import app

#: one line per agent of ``agents.available_agents()`` (an agent missing here is listed
#: without one)
_AGENT_LINES = {
    "random": "uniform over the actions the mask allows (the baseline)",
    "dqn": "double DQN",
    "crlqas": "double DQN with CRLQAS's moving-threshold curriculum (Patel et al. 2024)",
    "kanqas": "double DQN with a KAN Q-function (KANQAS, Kundu et al. 2024)",
    "gadget": "train on an easy instance, mine gadgets, retrain with them as composite actions",
}


def _unbuilt_molecule(factory) -> str | None:
    """A molecular task's line read from its factory, without running PySCF (None when
    the factory is not a molecular one)."""
    import inspect

    try:
        known = inspect.getclosurevars(factory).nonlocals
    except TypeError:
        return None
    if "description" not in known or "default_bond" not in known:
        return None
    return f"{known['description']}, {known['default_bond']:g} A (PySCF builds it on first use)"


def _tasks() -> list[dict]:
    """Every registry task: molecules described from their factories, the others built
    (spin chains and target states build in milliseconds)."""
    import re

    from tasks import get_task
    from tasks.registry import TASKS, available

    def natural(name: str):  # tfim2 before tfim10
        return [int(part) if part.isdigit() else part for part in re.split(r"(\d+)", name)]

    rows = []
    for name in sorted(available(), key=natural):
        line = _unbuilt_molecule(TASKS[name])
        if line is not None:
            rows.append({"name": name, "kind": "energy", "num_qubits": None, "description": line})
            continue
        task = get_task(name)
        rows.append({"name": name, "kind": task.kind, "num_qubits": task.num_qubits,
                     "description": task.description})  # fmt: skip
    return rows


def _preset_line(name: str, doc: str) -> str:
    """The first clause of the paragraph of ``doc`` that starts with ````NAME````, without
    its parentheses and reST roles."""
    import re

    for paragraph in re.split(r"\n\s*\n", doc):
        text = " ".join(paragraph.split())
        if text.startswith(f"``{name}``"):
            text = re.sub(r"\s*\([^()]*\)", "", text[len(name) + 4 :].strip())
            return re.split(r":(?!\w)|\. |, so ", text, maxsplit=1)[0].rstrip(".")
    return ""


def _presets() -> list[dict]:
    from agents import presets
    from tasks import available

    rows = []
    for name in presets.PRESET_NAMES:
        line = _preset_line(name, presets.__doc__ or "")
        if name == "paper":
            tasks = ", ".join(sorted(set(presets.PAPER) & set(available())))
            line += f" (tasks with one: {tasks}; others: the CRLQAS network)"
        rows.append({"name": name, "description": line.strip()})
    return rows


def _listing() -> dict:
    from agents import GATE_SETS, available_agents

    return {
        "tasks": _tasks(),
        "agents": [
            {"name": a, "description": _AGENT_LINES.get(a, "")} for a in available_agents()
        ],  # fmt: skip
        "gate_sets": [{"name": g, "gates": list(gates)} for g, gates in GATE_SETS.items()],
        "presets": _presets(),
    }


def _print_section(title: str, rows: list[tuple[str, ...]]) -> None:
    typer.echo(title)
    widths = [max(len(row[i]) for row in rows) for i in range(len(rows[0]) - 1)]
    for row in rows:
        cells = [cell.ljust(width) for cell, width in zip(row, widths)]
        typer.echo("  " + "  ".join([*cells, row[-1]]).rstrip())


@app.command("tasks")
def tasks_command(
    json_output: bool = typer.Option(False, "--json", help="Print one JSON object."),
) -> None:
    """List the tasks, agents, gate sets and presets the other commands take by name."""
    import json

    listing = _listing()
    if json_output:
        typer.echo(json.dumps(listing))
        return

    def qubits(row):
        return "molecule" if row["num_qubits"] is None else f"{row['num_qubits']} qubits"

    _print_section("tasks (qwb qas run --task, qwb vqe --task, qwb qsvt simulate --task):",
                   [(r["name"], qubits(r), r["kind"], r["description"])
                    for r in listing["tasks"]])  # fmt: skip
    _print_section("agents (qwb qas run --agent):",
                   [(r["name"], r["description"]) for r in listing["agents"]])  # fmt: skip
    _print_section("gate sets (qwb qas run --gate-set):",
                   [(r["name"], " ".join(r["gates"])) for r in listing["gate_sets"]])  # fmt: skip
    _print_section("presets (qwb qas run --preset):",
                   [(r["name"], r["description"]) for r in listing["presets"]])  # fmt: skip
