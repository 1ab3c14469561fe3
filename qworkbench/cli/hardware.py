"""``qwb submit|jobs|retrieve`` and ``qwb qas submit``: IBM hardware (or fake backends)."""

from __future__ import annotations

import typer

from qworkbench.cli._app import app, qas_app
from qworkbench.cli._common import fail


def _hardware_fail(command: str, exc: Exception):
    """``fail``, with exit status 1 for a hardware (service) error, 2 for a usage error."""
    from qworkbench.hardware import HardwareError

    fail(command, exc, code=1 if isinstance(exc, HardwareError) else 2)


def _read_circuit(target: str):
    """An OpenQASM file, or a QAS run directory's best_circuit.qasm."""
    from pathlib import Path

    from qworkbench import Circuit

    path = Path(target)
    if path.is_dir():
        path = path / "best_circuit.qasm"
        if not path.exists():
            raise FileNotFoundError(f"{target} is not a QAS run directory (no best_circuit.qasm)")
    if not path.exists():
        raise FileNotFoundError(f"no such file: {target}")
    return Circuit.from_qasm_file(path)


def _read_observable(text: str):
    """A PauliSum from JSON, inline or in a file: [[label, coeff], ...] or {label: coeff}."""
    import json
    from pathlib import Path

    from qworkbench import PauliSum

    raw = text if text.lstrip()[:1] in "[{" else Path(text).read_text()
    try:
        data = json.loads(raw)
    except json.JSONDecodeError as exc:
        raise ValueError(f"--observable is not JSON ({exc.msg})") from None
    terms = list(data.items()) if isinstance(data, dict) else data
    try:
        return PauliSum.from_list([(str(label), float(coeff)) for label, coeff in terms])
    except (TypeError, ValueError):
        raise ValueError(
            '--observable must be [["ZZ", 1.0], ...] or {"ZZ": 1.0, ...}, got ' + raw[:80]
        ) from None


def _jsonable_result(value):
    import numpy as np

    if isinstance(value, list):
        return [_jsonable_result(v) for v in value]
    if isinstance(value, np.ndarray):
        return value.tolist()
    return value


_MODE_HELP = "job, batch or session."
_OBSERVABLE_HELP = (
    'PauliSum JSON (inline or a file), e.g. [["ZZ", 1.0]]: runs the Estimator, not the Sampler.'
)


@app.command("submit")
def submit(
    target: str = typer.Argument(..., help="An OpenQASM file or a QAS run directory."),
    backend: str = typer.Option(
        ..., "--backend", help="fake_manila, fake_fez, ... (offline), aer, or an IBM backend."
    ),
    shots: int = typer.Option(4096, "--shots", min=1),
    observable: str = typer.Option(None, "--observable", help=_OBSERVABLE_HELP),
    mode: str = typer.Option("job", "--mode", help=_MODE_HELP),
    resilience_level: int = typer.Option(
        0, "--resilience-level", min=0, max=2, help="Estimator: 0 raw, 1 readout, 2 + ZNE."
    ),
    twirling: bool = typer.Option(
        None, "--twirling/--no-twirling", help="Pauli twirling (default: as the level needs)."
    ),
    dynamical_decoupling: bool = typer.Option(False, "--dd", help="Dynamical decoupling."),
    tag: list[str] = typer.Option(None, "--tag", help="A tag for the job (repeatable)."),  # noqa: B008
    seed: int = typer.Option(0, "--seed", help="Transpiler (and local simulator) seed."),
    json_output: bool = typer.Option(False, "--json", help="Print the job record as JSON."),
) -> None:
    """Submit a circuit to IBM hardware (or a fake backend); the job goes to the job store."""
    from qworkbench import hardware

    try:
        circuit = _read_circuit(target)
        observables = None if observable is None else _read_observable(observable)
        record = hardware.submit(circuit, backend, shots=shots, observables=observables,
                                 mode=mode, resilience_level=resilience_level,
                                 twirling=twirling, dynamical_decoupling=dynamical_decoupling,
                                 tags=tag or (), seed=seed)  # fmt: skip
    except (hardware.HardwareError, ValueError, TypeError, OSError) as exc:
        _hardware_fail("submit", exc)
    if json_output:
        typer.echo(record.to_json())
        return
    typer.echo(f"job {record.id} on {record.backend}: {record.status} ({record.primitive})")
    typer.echo(f"  qwb retrieve {record.id}")


@app.command("jobs")
def jobs(
    json_output: bool = typer.Option(False, "--json", help="One JSON record per line."),
) -> None:
    """List the submitted hardware jobs (the job store under QWB_HOME)."""
    from qworkbench import hardware

    records = hardware.jobs()
    if json_output:
        for record in records:
            typer.echo(record.to_json())
        return
    if not records:
        typer.echo(f"no jobs in {hardware.JobStore().path}")
        return
    columns = ("id", "backend", "primitive", "mode", "status", "created", "tags")
    rows = [[str(getattr(r, c)) if c != "tags" else ",".join(r.tags) for c in columns]
            for r in records]  # fmt: skip
    widths = [max(len(c), *(len(row[i]) for row in rows)) for i, c in enumerate(columns)]
    typer.echo("  ".join(c.ljust(w) for c, w in zip(columns, widths)).rstrip())
    for row in rows:
        typer.echo("  ".join(v.ljust(w) for v, w in zip(row, widths)).rstrip())


@app.command("retrieve")
def retrieve(job_id: str = typer.Argument(..., help="A job id of `qwb jobs`.")) -> None:
    """Print a job's result as JSON: counts (qubit 0 rightmost) or expectation values."""
    import json

    from qworkbench import hardware

    try:
        value = hardware.retrieve(job_id)
    except (hardware.HardwareError, ValueError) as exc:
        _hardware_fail("retrieve", exc)
    typer.echo(json.dumps(_jsonable_result(value)))


@qas_app.command("submit")
def qas_submit(
    run_dir: str = typer.Argument(..., help="A run directory of qwb qas run."),
    backend: str = typer.Option(..., "--backend", help="fake_manila (offline) or IBM backend."),
    shots: int = typer.Option(4096, "--shots", min=1),
    resilience_level: int = typer.Option(1, "--resilience-level", min=1, max=2),
    seed: int = typer.Option(0, "--seed"),
    mode: str = typer.Option("job", "--mode", help=_MODE_HELP),
) -> None:
    """Energy of a run's best circuit on a backend: ideal vs noisy vs mitigated.

    Written to RUN_DIR/hardware-BACKEND.json beside the run."""
    import json
    from pathlib import Path

    from qworkbench import hardware

    run = Path(run_dir)
    try:
        config_path = run / "config.json"
        if not config_path.exists():
            raise FileNotFoundError(f"{run_dir} is not a QAS run directory (no config.json)")
        task_name = json.loads(config_path.read_text())["env"]["task"]
        circuit = _read_circuit(run_dir)
        from tasks import get_task

        task = get_task(task_name)
        if task.hamiltonian is None:
            raise ValueError(f"task {task_name!r} is a state task: it has no energy to estimate")
        out = hardware.compare_energies(circuit, task.hamiltonian, backend, shots=shots,
                                        resilience_level=resilience_level, seed=seed,
                                        mode=mode, tags=(f"qas:{run.name}",))  # fmt: skip
    except (hardware.HardwareError, ValueError, TypeError, OSError, KeyError) as exc:
        _hardware_fail("qas submit", exc)
    out = {"task": task_name, "exact_energy": task.exact_energy, **out}
    from qworkbench.utils import atomic_write

    path = run / f"hardware-{out['backend']}.json"
    atomic_write(path, json.dumps(out, indent=2))
    typer.echo(f"{task_name} on {out['backend']} ({shots} shots):")
    for key in ("exact_energy", "ideal", "noisy", "mitigated"):
        typer.echo(f"  {key:<13} {out[key]:+.6f} Ha")
    typer.echo(f"(written to {path})")
