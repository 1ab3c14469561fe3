"""What every command shares: the one error printer, choices, the output checks
(``writable_dir``, ``writable_file``) and progress (``progress``, ``interactive``)."""

from __future__ import annotations

import contextlib
import os
import sys
import threading
import time
from collections.abc import Iterator
from pathlib import Path
from typing import NoReturn

import typer

__all__ = [
    "fail",
    "choice",
    "writable_dir",
    "writable_file",
    "interactive",
    "progress",
    "Progress",
    "warnings_as_lines",
]


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


def _file_in_the_way(path: Path) -> Path | None:
    """The nearest existing one of ``path`` and its parents, if it is not a folder."""
    for folder in (path, *path.parents):
        if folder.exists():
            return None if folder.is_dir() else folder
    return None


def _check_dir(command: str, directory: Path, what: str) -> None:
    """Create ``directory`` and write a file there, else ``fail`` with ``what``."""
    from qworkbench.utils import atomic_write

    blocker = _file_in_the_way(directory)
    if blocker is not None:
        fail(command, f"{what}: cannot write there ({blocker} is a file, not a folder)")
    try:
        directory.mkdir(parents=True, exist_ok=True)
        atomic_write(directory / ".write-test", b"")
        (directory / ".write-test").unlink()
    except OSError as exc:
        fail(command, f"{what}: cannot write there ({exc.strerror or exc})")


def writable_dir(command: str, out: str, option: str = "--out") -> Path:
    """The results directory ``out``, created and checked to take files before anything
    runs (else ``fail``, naming a file that stands where a folder must be)."""
    directory = Path(out)
    _check_dir(command, directory, f"{option} {out}")
    return directory


def writable_file(command: str, out: str, option: str = "--out") -> Path:
    """The file ``out``, its folder created and checked to take files before anything
    runs (else ``fail``); a folder at ``out`` itself is refused too."""
    path = Path(out)
    if path.is_dir():
        fail(command, f"{option} {out}: cannot write there (it is a folder, not a file)")
    _check_dir(command, path.parent, f"{option} {out}")
    return path


@contextlib.contextmanager
def warnings_as_lines(command: str) -> Iterator[None]:
    """Python warnings raised inside, each printed as one line on stderr,
    ``qwb COMMAND: warning: MESSAGE`` (not Python's two-line form with a source line)."""
    import warnings

    with warnings.catch_warnings(record=True) as caught:
        warnings.simplefilter("default", UserWarning)
        try:
            yield
        finally:
            for warning in caught:
                typer.echo(f"qwb {command}: warning: {warning.message}", err=True)


def interactive(json_output: bool = False) -> bool:
    """Whether to draw live progress: stderr is a terminal and no JSON was asked for."""
    return sys.stderr.isatty() and not json_output


#: seconds between plain progress lines (``QWB_PROGRESS_INTERVAL`` overrides it; 0 prints
#: a line at every step)
PROGRESS_INTERVAL = 10.0


def _clock(seconds: float) -> str:
    seconds = int(seconds)
    return f"{seconds // 3600}:{seconds // 60 % 60:02d}:{seconds % 60:02d}"


class Progress:
    """Progress of one long piece of work; made by :func:`progress`.

    ``advance(n=1, text=None)`` counts ``n`` more units done (``n=0`` only changes the
    text) and sets the text shown beside the count; ``note(text)`` prints a line that
    stays (above the bar on a terminal); ``total`` may be set once it is known."""

    def __init__(self, label: str, total: int | None, *, bar: bool, interval: float):
        self.label, self.total, self.done, self.text = label, total, 0, ""
        self._interval = interval
        self._start = self._last = time.monotonic()
        self._lock = threading.Lock()
        self._stop = threading.Event()
        self._printed = False
        self._bar = self._task = self._thread = None
        if bar:
            from rich.console import Console
            from rich.progress import (
                BarColumn,
                MofNCompleteColumn,
                TextColumn,
                TimeElapsedColumn,
            )
            from rich.progress import Progress as RichProgress

            self._bar = RichProgress(TextColumn("{task.description}"), BarColumn(),
                                     MofNCompleteColumn(), TimeElapsedColumn(),
                                     TextColumn("{task.fields[text]}"),
                                     console=Console(stderr=True), transient=True)  # fmt: skip

    def __enter__(self) -> Progress:
        if self._bar is not None:
            self._bar.__enter__()
            self._task = self._bar.add_task(self.label, total=self.total, text="")
        elif self._interval > 0:  # a line even when no step finishes for a while
            self._thread = threading.Thread(target=self._heartbeat, daemon=True)
            self._thread.start()
        return self

    def __exit__(self, *exc) -> None:
        self._stop.set()
        if self._thread is not None:
            self._thread.join()
        if self._bar is not None:
            self._bar.__exit__(*exc)
        elif self._printed and exc[0] is None:  # a long run says that it ended
            self._line("done")

    def advance(self, n: int = 1, text: str | None = None) -> None:
        with self._lock:
            self.done += n
            if text is not None:
                self.text = text
        if self._bar is not None:
            self._bar.update(self._task, advance=n, total=self.total, text=self.text)
        elif time.monotonic() - self._last >= self._interval:
            self._line()

    def note(self, text: str) -> None:
        if self._bar is not None:
            self._bar.console.print(text, markup=False, highlight=False)
        else:
            typer.echo(text, err=True)

    def _line(self, end: str | None = None) -> None:
        with self._lock:
            count = f" {self.done}/{self.total}" if self.total else (
                f" {self.done}" if self.done else "")  # fmt: skip
            elapsed = _clock(time.monotonic() - self._start)
            text = end or self.text
            typer.echo(f"{self.label}{count} [{elapsed}]" + (f" {text}" if text else ""),
                       err=True)  # fmt: skip
            self._last, self._printed = time.monotonic(), True

    def _heartbeat(self) -> None:
        while not self._stop.wait(max(self._interval - (time.monotonic() - self._last), 0.05)):
            if time.monotonic() - self._last >= self._interval:
                self._line()


@contextlib.contextmanager
def progress(command: str, total: int | None, label: str, *, quiet: bool = False,
             interval: float | None = None) -> Iterator[Progress]:  # fmt: skip
    """Progress of ``total`` units (None: unknown) of ``qwb COMMAND``'s work.

    On a terminal: a rich bar on stderr (``LABEL ━━━ 12/200 0:00:34 TEXT``), gone when
    the work ends. Otherwise (piped, logged) or with ``quiet`` (e.g. ``--json``): a
    plain line on stderr, ``qwb COMMAND: LABEL 12/200 [0:00:34] TEXT``, at least every
    ``interval`` seconds (default 10, or ``QWB_PROGRESS_INTERVAL``; 0: at every step),
    even while no step finishes, and a last ``... done`` line if any was printed: short
    work prints nothing.

    Example::

        with progress("vqe", maxiter, "iteration") as bar:
            ...
            bar.advance(1, f"energy {value:+.6f}")
    """
    if interval is None:
        try:
            interval = float(os.environ.get("QWB_PROGRESS_INTERVAL", PROGRESS_INTERVAL))
        except ValueError:
            interval = PROGRESS_INTERVAL
    bar = sys.stderr.isatty() and not quiet
    with Progress(f"qwb {command}: {label}", total, bar=bar, interval=max(interval, 0.0)) as p:
        yield p
