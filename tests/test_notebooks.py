"""The tutorials in notebooks/ run top to bottom (nbmake, one kernel per notebook).

Each notebook asserts on its own results (chemical accuracy, counts, gradients), so a
notebook that runs but computes nonsense fails here too. The hardware notebook uses a
fake backend and a throwaway job store; molecular Hamiltonians go to the test cache
(``QWB_CACHE``, set in conftest.py), which the kernels inherit.
"""

from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path

import pytest

pytest.importorskip("nbmake")

NOTEBOOKS = sorted((Path(__file__).resolve().parent.parent / "notebooks").glob("*.ipynb"))


def test_there_are_notebooks():
    names = {p.stem for p in NOTEBOOKS}
    assert {"01_quickstart", "02_vqe_h2", "03_qas_agents", "04_qaoa_maxcut",
            "05_hardware_submission"} <= names  # fmt: skip


#: the longest-running tutorials run under -m slow (make test-all); the numbered ones always
_SLOW_NOTEBOOKS = {"qsvt", "optimizers_small_lm", "lagrangian_qaoa", "04_qaoa_maxcut",
                   "05_hardware_submission"}  # fmt: skip
_CASES = [
    pytest.param(p, marks=pytest.mark.slow) if p.stem in _SLOW_NOTEBOOKS else p for p in NOTEBOOKS
]


@pytest.mark.notebook
@pytest.mark.parametrize("notebook", _CASES, ids=[p.stem for p in NOTEBOOKS])
def test_notebook_runs(notebook, tmp_path):
    env = {**os.environ, "QWB_HOME": str(tmp_path / "qwb"), "QWB_BACKEND": "fake_manila"}
    result = subprocess.run(
        [sys.executable, "-m", "pytest", "--nbmake", "--nbmake-timeout=300", "-q",
         "-p", "no:cacheprovider", "--rootdir", str(tmp_path), str(notebook)],
        capture_output=True, text=True, timeout=600, env=env, cwd=tmp_path,
    )  # fmt: skip
    assert result.returncode == 0, result.stdout[-4000:] + result.stderr[-2000:]
    assert "1 passed" in result.stdout


def test_notebooks_are_committed_without_outputs():
    import json

    for path in NOTEBOOKS:
        book = json.loads(path.read_text())
        for cell in book["cells"]:
            if cell["cell_type"] == "code":
                assert not cell.get("outputs"), f"{path.name} holds outputs: clear them"
                assert cell.get("execution_count") is None, path.name
