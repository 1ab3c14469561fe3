"""The ``qwb`` application and its command groups; the command modules register on them."""

from __future__ import annotations

import typer

app = typer.Typer(
    name="qwb",
    help="qworkbench: quantum architecture search, VQE/QAOA, QSVT and simulation benchmarks.",
    no_args_is_help=True,
    add_completion=False,
    pretty_exceptions_enable=False,
)


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
