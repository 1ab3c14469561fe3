"""The results file of benchmarks and sweeps: ``results.jsonl``, one JSON line per
finished cell, keyed by the hash of the cell's settings (as sinter's ``strong_id``), so
the file doubles as resume state."""

from __future__ import annotations

import hashlib
import json
from pathlib import Path

__all__ = ["cell_key", "read_results", "last_per_key", "append_result"]


def cell_key(cell: dict) -> str:
    """The key of a cell: the first 16 hex digits of the sha256 of its canonical JSON."""
    return hashlib.sha256(json.dumps(cell, sort_keys=True).encode()).hexdigest()[:16]


def read_results(out) -> dict[str, dict]:
    """The finished cells in ``out/results.jsonl`` by key (a key written twice: the last
    line, in the place of its first); torn lines and lines without a key are skipped."""
    path = Path(out) / "results.jsonl"
    done: dict[str, dict] = {}
    if path.exists():
        for line in path.read_text().splitlines():
            try:
                row = json.loads(line)
                done[row["key"]] = row
            except (json.JSONDecodeError, KeyError, TypeError):
                continue  # a torn line from a killed run: that cell runs again
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
    from qworkbench.hardware._store import append_line

    append_line(Path(out) / "results.jsonl", json.dumps(row))
