"""The ``qwb`` command line, run as a user runs it (subprocesses; ``bench optim`` in
process through typer's CliRunner, to read stdout and stderr apart)."""

from __future__ import annotations

import json
import math
import subprocess
import sys

import pytest

GROUPS = ["qas", "vqe", "qaoa", "qsvt", "bench", "sweep", "submit", "jobs"]


def _qwb(*args: str) -> subprocess.CompletedProcess:
    return subprocess.run(
        [sys.executable, "-m", "qworkbench", *args], capture_output=True, text=True, timeout=60
    )


def test_help_lists_every_group():
    result = _qwb("--help")
    assert result.returncode == 0
    for group in GROUPS:
        assert group in result.stdout


def _invoke(*args: str):
    """``qwb ARGS`` in this process (typer's CliRunner): stdout and stderr apart."""
    from typer.testing import CliRunner

    from qworkbench.cli import app

    return CliRunner().invoke(app, list(args))


def _corpus(path):
    path.write_text("\n".join(f"line {i}: to be or not to be, that is the question {i % 7}"
                               for i in range(400)))  # fmt: skip
    return path


def test_bench_optim_json(tmp_path):
    corpus = _corpus(tmp_path / "corpus.txt")
    result = _invoke("bench", "optim", "--steps", "3", "--optimizers", "adamw,galore_adamw",
                     "--json", "--width", "16", "--layers", "1", "--context", "16", "--batch",
                     "4", "--eval-every", "2", "--corpus", str(corpus), "--out",
                     str(tmp_path / "out"))  # fmt: skip
    assert result.exit_code == 0, result.output
    data = json.loads(result.stdout)
    rows = {row["optimizer"]: row for row in data["rows"]}
    assert list(rows) == ["adamw", "galore_adamw"]
    assert data["config"]["steps"] == 3 and data["config"]["corpus"] == "corpus.txt"
    for row in rows.values():
        assert math.isfinite(row["val_loss"]) and row["step_ms"] > 0
        assert [p[0] for p in row["curve"]] == [0, 2]  # evaluated after steps 1 and 3
    assert rows["adamw"]["state_vs_baseline"] == 1.0
    assert rows["galore_adamw"]["state_vs_baseline"] < 1.0
    assert "galore_adamw seed 0: step 3/3" in result.stderr  # progress goes to stderr
    written = json.loads((tmp_path / "out" / "optim.json").read_text())
    assert written == data
    table = (tmp_path / "out" / "table.md").read_text()
    assert table.startswith("| optimizer | val loss | vs adamw |") and "| galore_adamw |" in table
    assert (tmp_path / "out" / "optim_loss.png").stat().st_size > 0


def test_bench_optim_errors(tmp_path):
    bad = _invoke("bench", "optim", "--optimizers", "adamw,nope", "--out", str(tmp_path))
    assert bad.exit_code == 2
    assert "unknown optimizer 'nope'; available: adamw, galore_adamw" in bad.stderr
    missing = _invoke("bench", "optim", "--corpus", str(tmp_path / "none.txt"), "--out",
                      str(tmp_path))  # fmt: skip
    assert missing.exit_code == 2 and "is not a file" in missing.stderr
    nan = _invoke("bench", "optim", "--lr", "nan", "--out", str(tmp_path))
    assert nan.exit_code == 2 and "--lr must be positive and finite" in nan.stderr
    assert not (tmp_path / "optim.json").exists()


@pytest.mark.slow  # ~6 s: trains; the --out check is in test_cli_edges by default
def test_bench_optim_checks_the_output_and_each_optimizer_before_training(tmp_path):
    corpus = _corpus(tmp_path / "corpus.txt")
    small = ("--steps", "2", "--width", "16", "--layers", "1", "--context", "16", "--batch",
             "4", "--eval-every", "1", "--corpus", str(corpus))  # fmt: skip
    a_file = tmp_path / "a_file"
    a_file.write_text("")
    blocked = _invoke("bench", "optim", "--optimizers", "adamw", *small, "--out", str(a_file))
    assert blocked.exit_code == 2 and f"--out {a_file}: cannot write there" in blocked.stderr
    assert "step 1/2" not in blocked.stderr  # nothing trained
    # q-galore-torch's projector quantizes in groups of 256 elements: a 16-wide model's
    # matrices are too small, which its own assertion reports (in a clear error, first)
    import importlib.util

    if importlib.util.find_spec("q_galore_torch") and importlib.util.find_spec("galore_torch"):
        out = tmp_path / "out"
        named = _invoke("bench", "optim", "--optimizers", "adamw,q_galore_torch", *small,
                        "--out", str(out))  # fmt: skip
        assert named.exit_code == 2
        assert "optimizer 'q_galore_torch' cannot train this model" in named.stderr
        assert "seed 0: step" not in named.stderr and not (out / "optim.json").exists()
        listed = _invoke("bench", "optim", "--optimizers", "adamw", "--references", *small,
                         "--json", "--out", str(out))  # fmt: skip
        assert listed.exit_code == 0, listed.output
        assert "skipping q_galore_torch" in listed.stderr
        names = [row["optimizer"] for row in json.loads(listed.stdout)["rows"]]
        assert "q_galore_torch" not in names and "torch_adamw" in names


@pytest.mark.slow  # ~6 s: a QAOA sweep subprocess
def test_sweep_progress_with_a_graph_without_edges(tmp_path):
    """QAOA on a 2-node random graph that has no edge: the ratio is undefined (None)."""
    import networkx as nx

    seed = next(s for s in range(50) if nx.gnp_random_graph(2, 0.5, seed=s).number_of_edges() == 0)
    config = tmp_path / "q.toml"
    config.write_text(f'kind = "qaoa"\nsizes = [2]\nseeds = [{seed}]\n')
    result = _invoke("sweep", str(config), "--out", str(tmp_path / "out"), "--executor", "local",
                     "--workers", "1")  # fmt: skip
    assert result.exit_code == 0, result.output
    assert "ratio -" in result.stderr


def test_usage_errors_exit_2():
    assert _qwb("no-such-command").returncode == 2
    assert _qwb("qas", "no-such-sub").returncode == 2


def test_version():
    result = _qwb("--version")
    assert result.returncode == 0 and result.stdout.startswith("qworkbench ")


def test_core_import_is_light():
    """``import qworkbench`` (and the CLI) must not pull in the heavy layers."""
    code = (
        "import sys, qworkbench, qworkbench.cli; "
        "heavy = [m for m in ('qiskit', 'pennylane', 'torch', 'stim', 'simulators', 'tasks', "
        "'agents') if m in sys.modules]; print(heavy)"
    )
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, timeout=60)
    assert out.stdout.strip() == "[]", out.stdout + out.stderr
