"""Atomic file writes and whole appended lines: kept for old imports, the functions
live in :mod:`qworkbench.utils`."""

from qworkbench.utils import append_line, atomic_write

__all__ = ["append_line", "atomic_write"]
