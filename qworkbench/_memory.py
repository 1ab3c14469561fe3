"""Checking an allocation against the free memory before making it."""

from __future__ import annotations

import os

from qworkbench.errors import MemoryLimitError

_GIB = 1024**3


def available_bytes() -> int:
    """Bytes of physical memory the OS reports as available now."""
    try:
        with open("/proc/meminfo", encoding="ascii") as fh:
            for line in fh:
                if line.startswith("MemAvailable:"):
                    return int(line.split()[1]) * 1024
    except (OSError, ValueError, IndexError):
        pass
    try:
        return os.sysconf("SC_AVPHYS_PAGES") * os.sysconf("SC_PAGE_SIZE")
    except (ValueError, OSError, AttributeError):  # pragma: no cover - non-POSIX
        return 2**62


def check_allocation(nbytes: int, what: str, max_memory: int | None = None) -> None:
    """Raise :class:`MemoryLimitError` if ``nbytes`` would not fit.

    The limit is ``max_memory`` when given, else the memory available now.
    The message names ``what`` and the size in GiB so the user can act on it.
    """
    limit = available_bytes() if max_memory is None else int(max_memory)
    if nbytes > limit:
        source = "max_memory" if max_memory is not None else "available memory"
        raise MemoryLimitError(
            f"{what} needs {nbytes / _GIB:.3g} GiB, more than the {limit / _GIB:.3g} GiB "
            f"of {source}",
            required_bytes=int(nbytes),
            available_bytes=int(limit),
        )
