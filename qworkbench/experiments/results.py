"""The results file of benchmarks and sweeps: ``results.jsonl``, one JSON line per
finished cell, keyed by the hash of the cell's settings (as sinter's ``strong_id``), so
the file doubles as resume state."""

from __future__ import annotations

import hashlib
import json
import warnings
from pathlib import Path

__all__ = ["cell_key", "read_jsonl", "read_results", "last_per_key", "append_result"]


def cell_key(cell: dict) -> str:
    """The key of a cell: the first 16 hex digits of the sha256 of its canonical JSON."""
    return hashlib.sha256(json.dumps(cell, sort_keys=True).encode()).hexdigest()[:16]


def read_jsonl(path, *, lenient: bool = False, warn: bool = True) -> list[dict]:
    """The JSON lines of ``path`` (blank lines skipped).

    A last line that is not JSON is what a writer killed mid-line leaves: it is skipped,
    with a warning (unless ``warn`` is False). A line that is not JSON elsewhere raises
    ``ValueError`` naming the line, unless ``lenient`` (then it is skipped too, with a
    warning): results files keep a killed run's torn line below the rerun's lines.
    """
    path = Path(path)
    lines = path.read_text().splitlines()
    last = max((i for i, line in enumerate(lines) if line.strip()), default=-1)
    records = []
    for i, line in enumerate(lines):
        if not line.strip():
            continue
        try:
            records.append(json.loads(line))
        except json.JSONDecodeError as exc:
            if i != last and not lenient:
                raise ValueError(f"{path}: line {i + 1} is not JSON ({exc.msg})") from None
            if warn:
                warnings.warn(f"{path}: skipped line {i + 1}, which is not JSON (torn by an "
                              "interrupted run?)", stacklevel=2)  # fmt: skip
    return records


def read_results(out, *, warn: bool = False) -> dict[str, dict]:
    """The finished cells in ``out/results.jsonl`` by key (a key written twice: the last
    line, in the place of its first); torn lines and lines without a key are skipped
    (a torn line from a killed run: that cell runs again), with a warning if ``warn``."""
    path = Path(out) / "results.jsonl"
    done: dict[str, dict] = {}
    if path.exists():
        for row in read_jsonl(path, lenient=True, warn=warn):
            try:
                done[row["key"]] = row
            except (KeyError, TypeError):  # not a row of ours
                continue
    return done


def last_per_key(rows: list[dict]) -> list[dict]:
    """One row per ``key`` (the last line of a key wins, in the place of its first);
    rows without a key are kept as they are."""
    out: dict = {}
    for i, row in enumerate(rows):
        key = row.get("key")
        out[key if isinstance(key, str) else ("row", i)] = row  # a dict keeps first places
    return list(out.values())


def append_result(out, row: dict) -> None:
    """Append ``row`` as one line to ``out/results.jsonl`` (after a newline if a killed
    run left a torn last line)."""
    from qworkbench.utils import append_line

    append_line(Path(out) / "results.jsonl", json.dumps(row))
