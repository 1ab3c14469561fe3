"""Helpers every package shares: the memory guard, seeds, atomic and appended writes,
one BLAS thread, argument validators and the JSON round trip of result dataclasses.

Other packages (simulators, tasks, agents, experiments, cli) import these from here;
``qworkbench._memory``, ``_seed``, ``_io`` and ``_blas`` re-export them for old imports.

The validators return the checked value converted (``int`` or ``float``) and raise
``ValueError`` naming the argument and the bad value; ``bool`` is never taken for a
number.

Examples:
    >>> from qworkbench.utils import positive_int, probability
    >>> positive_int("shots", 100)
    100
    >>> positive_int("shots", True)
    Traceback (most recent call last):
    ...
    ValueError: shots must be a positive integer, got True
    >>> probability("p", 0.25)
    0.25
"""

from __future__ import annotations

import dataclasses
import json
import math
import numbers
import os
import tempfile
from pathlib import Path

import numpy as np

from qworkbench.errors import MemoryLimitError

__all__ = [
    "JSONMixin",
    "append_line",
    "atomic_write",
    "available_bytes",
    "boolean",
    "check_allocation",
    "finite_float",
    "float_array",
    "int_at_least",
    "int_seed",
    "non_negative_int",
    "one_blas_thread",
    "positive_int",
    "probability",
]


# -- memory ------------------------------------------------------------------------------
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


# -- seeds -------------------------------------------------------------------------------
def int_seed(seed) -> int | None:
    """None stays None; an int is kept; a Generator draws one (so a shared Generator
    gives each consumer a different but reproducible seed)."""
    if seed is None or (isinstance(seed, int | np.integer) and not isinstance(seed, bool)):
        return None if seed is None else int(seed)
    if isinstance(seed, np.random.Generator):
        return int(seed.integers(2**63))
    raise TypeError(f"seed must be an int or numpy Generator, got {seed!r}")


# -- files -------------------------------------------------------------------------------
def atomic_write(path, data: bytes | str) -> Path:
    """Write ``data`` (bytes, or text as UTF-8) to ``path`` atomically; returns the path.
    Parent directories are created; the file gets the usual mode (umask applied)."""
    path = Path(path)
    path.parent.mkdir(parents=True, exist_ok=True)
    fd, tmp = tempfile.mkstemp(dir=path.parent, prefix=f".{path.name}.")
    umask = os.umask(0)
    os.umask(umask)
    try:
        os.chmod(tmp, 0o666 & ~umask)  # mkstemp makes 0600
        with os.fdopen(fd, "wb" if isinstance(data, bytes) else "w", encoding=None
                       if isinstance(data, bytes) else "utf-8") as f:  # fmt: skip
            f.write(data)
            f.flush()
            os.fsync(f.fileno())
        os.replace(tmp, path)
    except BaseException:
        Path(tmp).unlink(missing_ok=True)
        raise
    return path


def append_line(path, line: str, mode: int = 0o644) -> None:
    """Append ``line`` and a newline to ``path`` in one ``write`` under an exclusive lock,
    after a newline if a killed writer left a torn last line; then ``fsync``."""
    path = Path(path)
    data = (line + "\n").encode()
    path.parent.mkdir(parents=True, exist_ok=True)
    fd = os.open(path, os.O_RDWR | os.O_APPEND | os.O_CREAT, mode)
    try:
        _lock(fd)
        size = os.fstat(fd).st_size
        if size and os.pread(fd, 1, size - 1) != b"\n":
            data = b"\n" + data
        view = memoryview(data)
        while view:
            view = view[os.write(fd, view) :]
        os.fsync(fd)
    finally:
        os.close(fd)


def _lock(fd: int) -> None:
    try:
        import fcntl
    except ImportError:  # Windows: O_APPEND alone
        return
    fcntl.flock(fd, fcntl.LOCK_EX)  # released when the descriptor closes


# -- BLAS threads ------------------------------------------------------------------------
# Waking BLAS's thread pool costs tens of microseconds to milliseconds (far more on a busy
# machine) where the work itself takes a few: SciPy's L-BFGS-B on a few parameters, or the
# density-matrix simulator's 4x4 and 16x16 transfer matrices.
_controller = None


def one_blas_thread():
    """A context manager limiting BLAS to one thread while it is open."""
    global _controller
    if _controller is None:
        import threadpoolctl

        _controller = threadpoolctl.ThreadpoolController()
    return _controller.limit(limits=1, user_api="blas")


# -- argument validators -----------------------------------------------------------------
def _is_int(value) -> bool:
    return isinstance(value, numbers.Integral) and not isinstance(value, bool)


def _is_real(value) -> bool:
    return isinstance(value, numbers.Real) and not isinstance(value, bool)


def positive_int(name: str, value) -> int:
    """``value`` as an ``int`` if it is an integer >= 1."""
    if not _is_int(value) or value < 1:
        raise ValueError(f"{name} must be a positive integer, got {value!r}")
    return int(value)


def non_negative_int(name: str, value) -> int:
    """``value`` as an ``int`` if it is an integer >= 0."""
    if not _is_int(value) or value < 0:
        raise ValueError(f"{name} must be a non-negative integer, got {value!r}")
    return int(value)


def int_at_least(name: str, value, least: int) -> int:
    """``value`` as an ``int`` if it is an integer >= ``least``."""
    if not _is_int(value) or value < least:
        raise ValueError(f"{name} must be an integer >= {least}, got {value!r}")
    return int(value)


def finite_float(name: str, value) -> float:
    """``value`` as a ``float`` if it is a finite real number."""
    if not _is_real(value) or not math.isfinite(value):
        raise ValueError(f"{name} must be a finite real number, got {value!r}")
    return float(value)


def probability(name: str, value) -> float:
    """``value`` as a ``float`` if it is a real number in [0, 1]."""
    if not _is_real(value) or not 0.0 <= value <= 1.0:
        raise ValueError(f"{name} must be a probability in [0, 1], got {value!r}")
    return float(value)


def boolean(name: str, value) -> bool:
    """``value`` if it is ``True`` or ``False`` (NumPy's bool too); 0 and 1 are not."""
    if not isinstance(value, bool | np.bool_):
        raise ValueError(f"{name} must be True or False, got {value!r}")
    return bool(value)


# -- JSON round trip of result dataclasses ------------------------------------------------
class JSONMixin:
    """``to_json``/``from_json`` for a dataclass whose fields are JSON values, NumPy arrays
    (written as lists) or dataclasses of them: ``dataclasses.asdict`` to one JSON object,
    and back through the constructor. ``_json_decoders`` maps a field to the function
    that turns its parsed value back into the field's type (``tuple``, an array, ...).

    Examples:
        >>> @dataclasses.dataclass(frozen=True)
        ... class Point(JSONMixin):
        ...     xy: tuple
        ...     _json_decoders = {"xy": tuple}
        >>> Point.from_json(Point((1, 2)).to_json())
        Point(xy=(1, 2))
    """

    _json_decoders: dict = {}

    def to_json(self) -> str:
        data = dataclasses.asdict(self)
        for key, value in data.items():
            if isinstance(value, np.ndarray):
                data[key] = value.tolist()
        return json.dumps(data)

    @classmethod
    def from_dict(cls, data: dict):
        """The instance of ``data`` (the parsed JSON of :meth:`to_json`)."""
        data = dict(data)
        for key, decode in cls._json_decoders.items():
            if key in data:
                data[key] = decode(data[key])
        return cls(**data)

    @classmethod
    def from_json(cls, text: str):
        return cls.from_dict(json.loads(text))


def float_array(values) -> np.ndarray:
    """``values`` as a float NumPy array (a JSON decoder for array fields)."""
    return np.asarray(values, dtype=float)
