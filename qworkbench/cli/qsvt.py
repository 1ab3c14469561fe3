"""``qwb qsvt phases|simulate``: QSP phases and Hamiltonian simulation by QSVT."""

from __future__ import annotations

import typer

from qworkbench.cli._app import qsvt_app
from qworkbench.cli._common import choice, fail, warnings_as_lines


@qsvt_app.command("phases")
def qsvt_phases(
    function: str = typer.Option(..., "--function", help="sign, cos, sin, inv or filter."),
    degree: int | None = typer.Option(
        None, "--degree", help="Polynomial degree (else from --epsilon)."
    ),
    epsilon: float | None = typer.Option(
        None,
        "--epsilon",
        help="Approximation error target (default 1e-6 without --degree; with --degree, a "
        "degree that misses it is refused).",
    ),
    param: float | None = typer.Option(
        None, "--param", help="tau (cos/sin), delta (sign/filter) or kappa (inv)."
    ),
    method: str = typer.Option("newton", "--method", help="newton or fixed_point."),
    as_json: bool = typer.Option(False, "--json", help="Print one JSON object last."),
) -> None:
    """Compute symmetric QSP phases for a standard polynomial and check them."""
    import json

    from qworkbench.experiments.qsvt import FUNCTIONS, phases

    choice(function, FUNCTIONS, "--function")
    choice(method, ("newton", "fixed_point"), "--method")
    if degree is not None and degree < 1:
        raise typer.BadParameter(f"must be a positive integer, got {degree}", param_hint="--degree")
    if epsilon is not None and not 0 < epsilon < 1:
        raise typer.BadParameter(f"must be in (0, 1), got {epsilon}", param_hint="--epsilon")
    if epsilon is None and degree is None:
        epsilon = 1e-6
    try:
        with warnings_as_lines("qsvt phases"):
            out = phases(function, degree, epsilon, param, method)
    except (ValueError, TypeError) as exc:
        fail("qsvt phases", exc)
    if as_json:
        typer.echo(json.dumps(out))
        return
    for key, value in out.items():
        if key != "phases":
            typer.echo(f"{key:>20}: {value}")


@qsvt_app.command("simulate")
def qsvt_simulate(
    task: str = typer.Option("tfim4", "--task", help="A task with a Hamiltonian (see qwb tasks)."),
    time: float = typer.Option(1.0, "--time", help="Evolution time t in exp(-iHt)."),
    epsilon: float = typer.Option(1e-6, "--epsilon", help="Operator-norm error target."),
    as_json: bool = typer.Option(False, "--json", help="Print one JSON object last."),
) -> None:
    """Hamiltonian simulation by QSVT: error against expm, degree and resources."""
    import json

    from qworkbench.experiments.qsvt import simulate

    if not 0 < epsilon < 1:
        raise typer.BadParameter(f"must be in (0, 1), got {epsilon}", param_hint="--epsilon")
    if time == 0 or time != time or abs(time) == float("inf"):
        raise typer.BadParameter(f"must be finite and nonzero, got {time}", param_hint="--time")
    try:
        out = simulate(task, time, epsilon)
    except (ValueError, KeyError, TypeError) as exc:
        fail("qsvt simulate", exc)
    if as_json:
        typer.echo(json.dumps(out))
        return
    for key, value in out.items():
        typer.echo(f"{key:>20}: {value}")
