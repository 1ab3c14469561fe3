"""Data files shipped with qworkbench (package data; sources, terms and known optima in
this folder's ``README.md``): the Tiny Shakespeare corpus of the optimizer benchmark and
the OR-Library, DIMACS and TSPLIB instances of :mod:`tasks.problems`.

Examples:
    >>> from qworkbench import data
    >>> "burma14.tsp" in data.available()
    True
    >>> data.path("mknap1.txt").name
    'mknap1.txt'
"""

from __future__ import annotations

from pathlib import Path

__all__ = ["available", "path"]

_HERE = Path(__file__).resolve().parent

#: the shipped files, by name (README.md describes each)
_FILES = ("burma14.tsp", "mknap1.txt", "myciel3.col", "tinyshakespeare.txt")


def available() -> tuple[str, ...]:
    """The names :func:`path` accepts, sorted."""
    return _FILES


def path(name: str) -> Path:
    """The path of the shipped data file ``name`` (one of :func:`available`).

    Raises:
        TypeError: ``name`` is not a string.
        ValueError: ``name`` is not a shipped file (the message lists those that are).
    """
    if not isinstance(name, str):
        raise TypeError(f"data file name must be a string, got {type(name).__name__}")
    if name not in _FILES:
        raise ValueError(f"no data file {name!r}; available: {', '.join(_FILES)}")
    file = _HERE / name
    if not file.is_file():  # a broken install, not a user error
        raise FileNotFoundError(f"{file} is missing from the installed package (reinstall it)")
    return file
