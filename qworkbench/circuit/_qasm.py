"""OpenQASM 2 and 3 through Qiskit's loaders, with their errors made ours.

The text is untrusted: its size is checked before parsing, and any exception
the parser raises (syntax, semantics, recursion) becomes a :class:`QasmError`
carrying the parser's message and, when it gave one, the line.
"""

from __future__ import annotations

import contextlib
import io
import re

from qworkbench.circuit._circuit import Circuit
from qworkbench.errors import QasmError

__all__ = ["from_qasm", "read_qasm", "to_qasm", "MAX_QASM_CHARS", "MAX_QASM_BITS"]

MAX_QASM_CHARS = 10_000_000
MAX_QASM_BITS = 100_000  # qubits or clbits declared, checked before the parser allocates
_REGISTER = re.compile(r"\b(?:qreg|creg)\s+\w+\s*\[\s*(\d+)\s*\]|\b(?:qubit|bit)\s*\[\s*(\d+)\s*\]")

_COMMENTS = re.compile(r"//[^\n]*|/\*.*?\*/", re.DOTALL)
_HEADER = re.compile(
    r"\A(?:\s+|//[^\n]*(?:\n|\Z)|/\*.*?\*/)*OPENQASM\s+([0-9]+(?:\.[0-9]+)?)\s*;", re.DOTALL
)
# "<input>:3,14: ..." (qasm2), "line 3, column 14" / "3:14" (qasm3 importer and parser)
_LOCATION = [
    re.compile(r"(?:^|[:\s\"'])(\d+),(\d+):"),
    re.compile(r"\bL(\d+):C(\d+)\b"),
    re.compile(r"line\s+(\d+):(\d+)"),
    re.compile(r"line\s+(\d+)(?:,?\s*(?:column|col)\s+(\d+))?", re.IGNORECASE),
    re.compile(r"\b(\d+):(\d+)\b"),
]


def _version(text: str) -> int:
    match = _HEADER.match(text)
    if match is None:
        return 3  # OpenQASM 3 makes the version line optional
    major = match.group(1).split(".")[0]
    if major not in ("2", "3"):
        raise QasmError(f"unsupported OpenQASM version {match.group(1)!r}; use 2 or 3", line=1)
    return int(major)


def _location(message: str) -> tuple[int | None, int | None]:
    for pattern in _LOCATION:
        match = pattern.search(message)
        if match:
            col = match.group(2)
            return int(match.group(1)), (int(col) if col else None)
    return None, None


def _token_location(exc: BaseException) -> tuple[int | None, int | None]:
    """Line and column of the offending token in an ANTLR exception chain (QASM 3)."""
    seen = set()
    while exc is not None and id(exc) not in seen:
        seen.add(id(exc))
        for candidate in (exc, *(a for a in exc.args if isinstance(a, BaseException))):
            token = getattr(candidate, "offendingToken", None)
            if token is not None and getattr(token, "line", None) is not None:
                return int(token.line), int(token.column) + 1
        exc = exc.__cause__ or exc.__context__
    return None, None


def from_qasm(text: str, decompose: bool = True) -> Circuit:
    """Parse OpenQASM 2 or 3 ``text`` into a :class:`Circuit` (gates outside the library
    unrolled as :func:`~qworkbench.circuit._qiskit.from_qiskit` does).

    Raises:
        QasmError: the text is empty, not text, malformed (``.line``/``.column`` when
            known) or too large.
        UnsupportedGateError: it uses a gate that cannot be unrolled into the library (or
            any gate outside it with ``decompose=False``), or it is a dynamic circuit.
    """
    if not isinstance(text, str):
        raise TypeError(f"OpenQASM text must be a string, got {type(text).__name__}")
    if len(text) > MAX_QASM_CHARS:
        raise QasmError(f"OpenQASM text of {len(text):,} characters exceeds {MAX_QASM_CHARS:,}")
    if "\x00" in text:
        raise QasmError("not a text file: the OpenQASM input contains NUL bytes")
    if not _COMMENTS.sub("", text).strip():
        raise QasmError("empty program: the OpenQASM text has no statements")
    version = _version(text)
    declared = sum(int(a or b) for a, b in _REGISTER.findall(text))
    if declared > MAX_QASM_BITS:
        raise QasmError(f"OpenQASM text declares {declared:,} bits; the limit is {MAX_QASM_BITS:,}")
    chatter = io.StringIO()  # ANTLR's lexer prints its complaints to stderr
    try:
        with contextlib.redirect_stderr(chatter):
            qc = _parse(text, version)
    except Exception as exc:  # the parser's own errors, and any crash inside it
        complaints = chatter.getvalue().strip().splitlines()
        message = str(exc).strip() or (complaints[0] if complaints else "")
        line, column = _location(message)
        if line is None:
            line, column = _token_location(exc)
        if not message:
            message = "syntax error" + (f" at line {line}, column {column}" if line else "")
        raise QasmError(f"invalid OpenQASM {version}: {message}", line, column) from exc
    return Circuit.from_qiskit(qc, decompose=decompose)


def read_qasm(path, decompose: bool = True) -> Circuit:
    """Read an OpenQASM 2 or 3 file; :class:`QasmError` when it is not UTF-8 text."""
    from pathlib import Path

    data = Path(path).read_bytes()
    if len(data) > 4 * MAX_QASM_CHARS:
        raise QasmError(f"{path}: {len(data):,} bytes is too large for an OpenQASM program")
    try:
        text = data.decode("utf-8-sig")
    except UnicodeDecodeError as exc:
        raise QasmError(
            f"{path} is not a text file (byte {data[exc.start]:#04x} at offset {exc.start} is "
            "not UTF-8); OpenQASM programs are text"
        ) from None
    try:
        return from_qasm(text, decompose=decompose)
    except QasmError as exc:
        raise QasmError(f"{path}: {exc}", exc.line, exc.column) from exc


def _parse(text: str, version: int):
    if version == 2:
        from qiskit import qasm2

        return qasm2.loads(text, custom_instructions=qasm2.LEGACY_CUSTOM_INSTRUCTIONS)
    from qiskit import qasm3

    return qasm3.loads(text)


def to_qasm(circuit: Circuit, version: int = 3) -> str:
    """OpenQASM ``version`` (2 or 3) text for ``circuit``, ending with a newline (a text
    file's last line, as editors and ``cat`` expect).

    OpenQASM 2 has no free parameters: bind them first.
    """
    if version not in (2, 3):
        raise ValueError(f"OpenQASM version must be 2 or 3, got {version!r}")
    if version == 2:
        if circuit.parameters:
            names = [p.name for p in circuit.parameters]
            raise ValueError(f"OpenQASM 2 cannot hold free parameters {names}; bind them first")
        from qiskit import qasm2

        text = qasm2.dumps(circuit.to_qiskit())
    else:
        from qiskit import qasm3

        text = qasm3.dumps(circuit.to_qiskit())
    return text if text.endswith("\n") else text + "\n"
