"""Exception types shared by every qworkbench package.

Argument validation raises the built-in ``ValueError``/``TypeError``/``IndexError``;
failures that need more context (a parser's line, the gate that is not Clifford,
the memory a state would need) raise a subclass of :class:`QWorkbenchError`, which
also derives from the matching built-in so ``except ValueError`` keeps working.
"""

from __future__ import annotations

__all__ = [
    "QWorkbenchError",
    "QasmError",
    "UnsupportedGateError",
    "NotCliffordError",
    "MemoryLimitError",
    "InstanceFormatError",
]


class QWorkbenchError(Exception):
    """Base class of every error raised by qworkbench itself."""


class QasmError(QWorkbenchError, ValueError):
    """OpenQASM text that could not be parsed.

    ``line`` and ``column`` locate the problem when the parser reported them.
    """

    def __init__(self, message: str, line: int | None = None, column: int | None = None):
        super().__init__(message)
        self.line = line
        self.column = column


class UnsupportedGateError(QWorkbenchError, ValueError):
    """A gate outside qworkbench's gate library (``name`` says which)."""

    def __init__(self, message: str, name: str):
        super().__init__(message)
        self.name = name


class NotCliffordError(QWorkbenchError, ValueError):
    """A Clifford-only operation met a non-Clifford gate (``operation`` says which)."""

    def __init__(self, message: str, operation=None):
        super().__init__(message)
        self.operation = operation


class MemoryLimitError(QWorkbenchError, MemoryError):
    """An allocation that would exceed the free memory or an explicit limit."""

    def __init__(self, message: str, required_bytes: int, available_bytes: int):
        super().__init__(message)
        self.required_bytes = required_bytes
        self.available_bytes = available_bytes


class InstanceFormatError(QWorkbenchError, ValueError):
    """A problem-instance file (OR-Library, TSPLIB, DIMACS) that could not be read.

    ``line`` is the 1-based line of the problem when known; ``path`` the file.
    """

    def __init__(self, message: str, line: int | None = None, path: str | None = None):
        super().__init__(message)
        self.line = line
        self.path = path
