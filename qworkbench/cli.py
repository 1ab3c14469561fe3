"""The ``qwb`` command line.

Only typer is imported at module level: each command imports what it needs when
it runs, so ``qwb --help`` stays fast. Command groups not built yet say so and
exit with status 1; usage errors exit with status 2 (typer's convention).
"""

from __future__ import annotations

import sys

import typer

app = typer.Typer(
    name="qwb",
    help="qworkbench: quantum architecture search, VQE/QAOA, QSVT and simulation benchmarks.",
    no_args_is_help=True,
    add_completion=False,
    pretty_exceptions_enable=False,
)

# The groups of ARCHITECTURE.md, with the issue that fills each in.
_PENDING = {
    "qas": "the RL quantum architecture search issue",
    "vqe": "the tasks issue",
    "qaoa": "the tasks issue",
    "qsvt": "the QSVT issue",
    "bench": "the optimizer issue",
    "sweep": "the IBM hardware / sweeps issue",
    "submit": "the IBM hardware issue",
    "jobs": "the IBM hardware issue",
}


def _not_yet(command: str) -> None:
    group = command.split()[0]
    typer.echo(f"qwb {command}: not implemented yet (it arrives with {_PENDING[group]}).", err=True)
    raise typer.Exit(code=1)


def _version_callback(value: bool) -> None:
    if value:
        from qworkbench import __version__

        typer.echo(f"qworkbench {__version__}")
        raise typer.Exit()


@app.callback()
def _root(
    version: bool = typer.Option(
        False, "--version", callback=_version_callback, is_eager=True, help="Show the version."
    ),
) -> None:
    """qworkbench command line."""


qas_app = typer.Typer(help="RL quantum architecture search: run, benchmark, plot.")
qsvt_app = typer.Typer(help="QSVT: QSP phases and Hamiltonian simulation.")
bench_app = typer.Typer(help="Benchmarks against peer simulators and optimizers.")
app.add_typer(qas_app, name="qas")
app.add_typer(qsvt_app, name="qsvt")
app.add_typer(bench_app, name="bench")


@qas_app.command("run")
def qas_run() -> None:
    """Train a QAS agent on a task."""
    _not_yet("qas run")


@qas_app.command("bench")
def qas_bench() -> None:
    """Benchmark QAS agents on a task and print the table."""
    _not_yet("qas bench")


@qas_app.command("plot")
def qas_plot() -> None:
    """Plot the results of a QAS run directory."""
    _not_yet("qas plot")


@app.command("vqe")
def vqe() -> None:
    """Solve a Hamiltonian's ground state with VQE."""
    _not_yet("vqe")


@app.command("qaoa")
def qaoa() -> None:
    """Solve a combinatorial problem with QAOA."""
    _not_yet("qaoa")


@qsvt_app.command("phases")
def qsvt_phases() -> None:
    """Compute QSP phases for a polynomial."""
    _not_yet("qsvt phases")


@qsvt_app.command("simulate")
def qsvt_simulate() -> None:
    """Hamiltonian simulation by QSVT."""
    _not_yet("qsvt simulate")


@bench_app.command(
    "sim", context_settings={"allow_extra_args": True, "ignore_unknown_options": True}
)
def bench_sim(ctx: typer.Context) -> None:
    """Statevector benchmark against qiskit-aer, lightning.qubit and qulacs
    (arguments go to benchmarks/statevector.py; try --help)."""
    import runpy
    from pathlib import Path

    script = Path(__file__).resolve().parent.parent / "benchmarks" / "statevector.py"
    if not script.exists():
        typer.echo(f"qwb bench sim needs a source checkout ({script} is missing)", err=True)
        raise typer.Exit(code=1)
    sys.argv = [str(script), *ctx.args]
    runpy.run_path(str(script), run_name="__main__")


@bench_app.command("optim")
def bench_optim() -> None:
    """Optimizer benchmark against the reference packages."""
    _not_yet("bench optim")


@app.command("sweep")
def sweep() -> None:
    """Sweep tasks, agents and seeds (local processes or Dask)."""
    _not_yet("sweep")


@app.command("submit")
def submit() -> None:
    """Submit a circuit to IBM hardware (or a fake backend)."""
    _not_yet("submit")


@app.command("jobs")
def jobs() -> None:
    """List and retrieve submitted hardware jobs."""
    _not_yet("jobs")


def main(argv: list[str] | None = None) -> None:
    """Entry point of the ``qwb`` console script."""
    app(args=argv if argv is not None else sys.argv[1:], prog_name="qwb")
