"""What every command shares: the one error printer, choices, the output-folder check
and whether to show progress."""

from __future__ import annotations

import sys
from pathlib import Path
from typing import NoReturn

import typer

__all__ = ["fail", "choice", "writable_dir", "interactive"]


def fail(command: str, message, code: int = 2) -> NoReturn:
    """One line, ``qwb COMMAND: error: MESSAGE``, on stderr, then exit with ``code``
    (2, a usage error, unless the caller says otherwise): never a traceback."""
    typer.echo(f"qwb {command}: error: {message}", err=True)
    raise typer.Exit(code=code)


def choice(value, choices, option: str):
    """``value`` if it is None or one of ``choices``; else typer's usage error."""
    if value is not None and value not in choices:
        raise typer.BadParameter(f"{value!r} is not one of {', '.join(choices)}", param_hint=option)
    return value


def writable_dir(command: str, out: str) -> Path:
    """The results directory ``out``, created and checked to take files before anything
    runs (else ``fail``)."""
    from qworkbench._io import atomic_write

    directory = Path(out)
    try:
        directory.mkdir(parents=True, exist_ok=True)
        atomic_write(directory / ".write-test", b"")
        (directory / ".write-test").unlink()
    except OSError as exc:
        fail(command, f"--out {out}: cannot write there ({exc.strerror or exc})")
    return directory


def interactive(json_output: bool = False) -> bool:
    """Whether to draw live progress: stderr is a terminal and no JSON was asked for."""
    return sys.stderr.isatty() and not json_output
