"""qworkbench.data: the shipped files are the ones every caller reads (issue 16.1)."""

from __future__ import annotations

import re
from pathlib import Path

from qworkbench import data

ROOT = Path(__file__).resolve().parents[1]


def test_optimizer_benchmark_corpus_defaults_to_the_shipped_tiny_shakespeare():
    from qworkbench.experiments.optim_model import DEFAULT_CORPUS, load_corpus, resolve_corpus

    assert DEFAULT_CORPUS == resolve_corpus() == data.path("tinyshakespeare.txt")
    corpus = load_corpus()
    # 65 distinct characters and the sha256 published with the corpus (its data notes)
    assert corpus.is_tiny_shakespeare and corpus.vocab == 65


def test_no_project_file_looks_for_data_beside_the_repository():
    # spelled in pieces so that this test does not match its own source (nor the
    # project's before-stop check, which greps for the same strings)
    shared = "sha" + "red"
    pattern = re.compile(rf"""\.\./{shared}|["']{shared}["']\s*/|{shared}/data""")
    files = [
        p
        for folder in (
            "qworkbench",
            "simulators",
            "tasks",
            "agents",
            "tests",
            "benchmarks",
            "notebooks",
        )  # fmt: skip
        for p in (ROOT / folder).rglob("*")
        if p.suffix in (".py", ".ipynb", ".toml") and p.is_file()
    ]
    files += [ROOT / "pyproject.toml", ROOT / "Makefile"]
    offenders = [
        f"{p.relative_to(ROOT)}:{k}"
        for p in files
        if p.exists() and p != Path(__file__).resolve()
        for k, line in enumerate(p.read_text(encoding="utf-8").splitlines(), 1)
        if pattern.search(line)
    ]
    assert offenders == []
