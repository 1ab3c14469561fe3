"""The job store: one append-only JSON-lines file of job records, plus saved results.

``$QWB_HOME/jobs.jsonl`` (``~/.qworkbench`` unless ``QWB_HOME`` says otherwise) gets one
line per change of a job (submitted, then finished); the last line of an id is its
current record. Each line goes down in one ``write`` on a file opened for appending,
under an exclusive lock, so concurrent writers never interleave and a killed writer
leaves at most a torn last line, which readers skip and the next append starts after.
Results of local jobs (the local service keeps none) and fetched results of remote jobs
are saved beside it as ``results/ID.json`` with qiskit-ibm-runtime's ``RuntimeEncoder``.
"""

from __future__ import annotations

import dataclasses
import json
import os
import re
from dataclasses import dataclass, field
from pathlib import Path

from qworkbench.utils import append_line, atomic_write

__all__ = ["JobRecord", "JobStore", "append_line", "home"]

_ID = re.compile(r"^[A-Za-z0-9][A-Za-z0-9_.-]{0,127}$")


def home() -> Path:
    """qworkbench's per-user directory: ``$QWB_HOME`` or ``~/.qworkbench``."""
    value = os.environ.get("QWB_HOME")
    return Path(value).expanduser() if value else Path.home() / ".qworkbench"


@dataclass(frozen=True)
class JobRecord:
    """One submitted job.

    Attributes:
        id: the job id the primitive returned (a UUID for local jobs).
        backend: the backend's name (``fake_manila``, ``ibm_fez``, ``aer``).
        mode: ``job``, ``batch`` or ``session``.
        created: submission time, ISO 8601 in UTC.
        circuit_hash: sha256 of the submitted circuits (OpenQASM 3) and observables.
        tags: the user's tags.
        status: ``QUEUED``, ``RUNNING``, ``DONE``, ``ERROR`` or ``CANCELLED``.
        primitive: ``sampler`` (counts) or ``estimator`` (expectation values).
        shots: shots per circuit.
        local: True when the job ran in local testing mode (fake backend or Aer).
        num_circuits: how many circuits (PUBs) the job holds.
        options: the primitive's options as set (family, resilience level, twirling...).
    """

    id: str
    backend: str
    mode: str
    created: str
    circuit_hash: str
    tags: tuple[str, ...] = ()
    status: str = "QUEUED"
    primitive: str = "sampler"
    shots: int | None = None
    local: bool = False
    num_circuits: int = 1
    options: dict = field(default_factory=dict, hash=False, compare=False)

    def replace(self, **changes) -> JobRecord:
        """A copy with ``changes`` (records are frozen)."""
        return dataclasses.replace(self, **changes)

    def to_json(self) -> str:
        """One line of JSON (no newline)."""
        data = dataclasses.asdict(self)
        data["tags"] = list(self.tags)
        return json.dumps(data, sort_keys=True, separators=(",", ":"))

    @classmethod
    def from_json(cls, data: str | dict) -> JobRecord:
        """The record of :meth:`to_json` (a string or its parsed dict)."""
        if isinstance(data, str):
            data = json.loads(data)
        known = {f.name for f in dataclasses.fields(cls)}
        values = {k: v for k, v in data.items() if k in known}
        values["tags"] = tuple(values.get("tags") or ())
        return cls(**values)


def check_job_id(job_id: str) -> str:
    if not isinstance(job_id, str) or not _ID.match(job_id):
        raise ValueError(f"not a job id: {job_id!r}")
    return job_id


class JobStore:
    """The job store under ``root`` (default :func:`home`, read when the store is made)."""

    def __init__(self, root=None):
        self.root = Path(root) if root is not None else home()

    @property
    def path(self) -> Path:
        return self.root / "jobs.jsonl"

    def append(self, record: JobRecord) -> None:
        """Append ``record`` as one line (atomically with respect to other writers)."""
        append_line(self.path, record.to_json(), mode=0o600)  # job ids are the user's

    def records(self) -> list[JobRecord]:
        """Every complete record in file order (torn or foreign lines are skipped)."""
        if not self.path.exists():
            return []
        out = []
        for line in self.path.read_text(errors="replace").splitlines():
            try:
                out.append(JobRecord.from_json(line))
            except (ValueError, TypeError, AttributeError):
                continue
        return out

    def latest(self) -> dict[str, JobRecord]:
        """The current record of every job id, in order of first submission."""
        current: dict[str, JobRecord] = {}
        for record in self.records():
            current[record.id] = record
        return current

    def get(self, job_id: str) -> JobRecord | None:
        return self.latest().get(job_id)

    # -- results ---------------------------------------------------------------------------
    def result_path(self, job_id: str) -> Path:
        return self.root / "results" / f"{check_job_id(job_id)}.json"

    def save_result(self, job_id: str, result) -> Path:
        """Save a ``PrimitiveResult`` with ``RuntimeEncoder`` (atomically)."""
        from qiskit_ibm_runtime import RuntimeEncoder

        text = json.dumps(_portable(result), cls=RuntimeEncoder)
        return atomic_write(self.result_path(job_id), text)

    def load_result(self, job_id: str):
        """The saved ``PrimitiveResult`` of ``job_id``, or None."""
        from qiskit_ibm_runtime import RuntimeDecoder

        path = self.result_path(job_id)
        if not path.exists():
            return None
        return json.loads(path.read_text(), cls=RuntimeDecoder)


def _jsonable(value) -> bool:
    from qiskit_ibm_runtime import RuntimeEncoder

    try:
        json.dumps(value, cls=RuntimeEncoder)
    except (TypeError, ValueError):
        return False
    return True


def _portable(result):
    """``result`` with the metadata ``RuntimeEncoder`` cannot write left out (the
    executor-based primitives attach objects of their own); the data stay whole."""
    from qiskit.primitives import PrimitiveResult, PubResult, SamplerPubResult

    pubs = []
    for pub in result:
        metadata = {k: v for k, v in (pub.metadata or {}).items() if _jsonable(v)}
        kind = SamplerPubResult if isinstance(pub, SamplerPubResult) else PubResult
        pubs.append(kind(pub.data, metadata=metadata))
    metadata = {k: v for k, v in (result.metadata or {}).items() if _jsonable(v)}
    return PrimitiveResult(pubs, metadata=metadata)
