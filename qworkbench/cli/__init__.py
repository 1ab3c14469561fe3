"""The ``qwb`` command line.

Only typer is imported at module level: each command imports what it needs when
it runs, so ``qwb --help`` stays fast. Usage errors exit with status 2 and one line
(typer's convention; :func:`qworkbench.cli._common.fail`).

One module per command group, registered on the application of :mod:`._app` in the
order ``qwb --help`` lists them: :mod:`.qas` (``qas run|bench|plot``), :mod:`.tasks`
(``tasks``: the names the other commands take), :mod:`.plot`,
:mod:`.solvers` (``vqe``, ``qaoa``), :mod:`.qsvt`, :mod:`.bench` (``bench sim|optim``),
:mod:`.sweep` and :mod:`.hardware` (``submit``, ``jobs``, ``retrieve``, ``qas submit``).
"""

from __future__ import annotations

import importlib
import sys

from qworkbench.cli._app import app

__all__ = ["app", "main"]

#: the command modules, in the order their commands appear in ``qwb --help``
_COMMANDS = ("qas", "tasks", "plot", "solvers", "qsvt", "bench", "sweep", "hardware")
for _name in _COMMANDS:
    importlib.import_module(f"qworkbench.cli.{_name}")


def main(argv: list[str] | None = None) -> None:
    """Entry point of the ``qwb`` console script."""
    app(args=argv if argv is not None else sys.argv[1:], prog_name="qwb")
