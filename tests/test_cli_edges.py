"""The ``qwb`` command line at its edges (issue 16): progress when piped, ``--out`` under
a file, ``qwb tasks``, hardware-width errors, torn logs, diverged runs, QAOA's seed."""

from __future__ import annotations

import json
import threading

import pytest


def _invoke(*args: str, env: dict | None = None):
    """``qwb ARGS`` in this process (typer's CliRunner): stdout and stderr apart."""
    from typer.testing import CliRunner

    from qworkbench.cli import app

    return CliRunner().invoke(app, list(args), env=env)


def _usage_error(result, message: str) -> None:
    """Exit status 2 and one line on stderr holding ``message``, no traceback."""
    assert result.exit_code == 2, result.output
    lines = result.stderr.strip().splitlines()
    assert len(lines) == 1 and message in lines[0], result.stderr
    assert "Traceback" not in result.output


# --- the progress helper ------------------------------------------------------------


def test_progress_prints_plain_lines_when_stderr_is_not_a_terminal(capsys):
    from qworkbench.cli._common import progress

    with progress("vqe", 3, "iteration", interval=0) as bar:
        for i in range(3):
            bar.advance(1, f"energy {i}")
        bar.note("a line that stays")
    err = capsys.readouterr().err.splitlines()
    assert err[0].startswith("qwb vqe: iteration 1/3 [0:00:00] energy 0")
    assert err[2].startswith("qwb vqe: iteration 3/3 ") and err[2].endswith("energy 2")
    assert "a line that stays" in err
    assert err[-1].endswith("done")


def test_progress_is_silent_for_short_work_and_beats_while_no_step_ends(capsys):
    from qworkbench.cli._common import progress

    with progress("sweep", 2, "cells", interval=3600) as bar:
        bar.advance(2)
    assert capsys.readouterr().err == ""
    # no step ends: the heartbeat still prints (a line per interval)
    with progress("vqe", None, "building H2O", interval=0.01) as bar:
        seen = threading.Event()
        for _ in range(500):
            if bar._printed:
                seen.set()
                break
            seen.wait(0.01)
        assert seen.is_set()
    err = capsys.readouterr().err.splitlines()
    assert err[0].startswith("qwb vqe: building H2O [0:00:0")
    assert err[-1].endswith("done")


def test_progress_interval_from_the_environment(monkeypatch, capsys):
    from qworkbench.cli._common import progress

    monkeypatch.setenv("QWB_PROGRESS_INTERVAL", "0")
    with progress("qaoa", None, "evaluations") as bar:
        bar.advance(1, "objective 3")
    assert capsys.readouterr().err.startswith("qwb qaoa: evaluations 1 [0:00:00] objective 3")


# --- item 18: a torn last line in a log -----------------------------------------------


def _episodes(n: int) -> list[str]:
    return [json.dumps({"episode": i, "error": 0.1 / (i + 1), "success": i % 2 == 1,
                        "gates": 3, "depth": 2}) for i in range(n)]  # fmt: skip


def test_plot_skips_a_torn_last_line_with_a_warning(tmp_path):
    run = tmp_path / "run"
    run.mkdir()
    lines = _episodes(30)
    (run / "episodes.jsonl").write_text("\n".join(lines) + '\n{"episode": 30, "err')
    result = _invoke("plot", str(run))
    assert result.exit_code == 0, result.output
    assert "qwb plot: warning: " in result.stderr and "line 31" in result.stderr
    assert (run / "error.png").exists() and (run / "successes.png").exists()
    from qworkbench.experiments.plots import read_log

    with pytest.warns(UserWarning, match="line 31"):
        assert len(read_log(run)) == 30
    # torn elsewhere: still an error naming the line
    (run / "episodes.jsonl").write_text("\n".join([*lines[:5], '{"epi', *lines[5:]]) + "\n")
    _usage_error(_invoke("plot", str(run)), "line 6 is not JSON")


def test_results_reader_keeps_complete_files_and_skips_torn_lines(tmp_path):
    from qworkbench.experiments.results import read_results

    rows = [{"key": f"k{i}", "task": "bell", "agent": "random", "seed": i, "success_rate": 1.0,
             "successes": 1, "episodes": 2} for i in range(3)]  # fmt: skip
    text = "\n".join(json.dumps(r) for r in rows) + "\n"
    (tmp_path / "results.jsonl").write_text(text)
    assert list(read_results(tmp_path).values()) == rows
    # a killed run's torn line, then a rerun's line after it: skipped (warned when asked)
    (tmp_path / "results.jsonl").write_text(text + '{"key": "k9", "ta\n' + json.dumps(rows[0]))
    assert list(read_results(tmp_path).values()) == rows
    with pytest.warns(UserWarning, match="line 4"):
        read_results(tmp_path, warn=True)


# --- item 19: progress when stderr is not a terminal ----------------------------------


def test_vqe_prints_progress_lines_when_piped(monkeypatch):
    monkeypatch.setenv("QWB_PROGRESS_INTERVAL", "0")  # a line at every iteration
    result = _invoke("vqe", "--task", "h2_2q", "--ansatz", "hea", "--layers", "1",
                     "--maxiter", "3")  # fmt: skip
    assert result.exit_code == 0, result.output
    assert "qwb vqe: h2_2q iteration 1/3 [0:00:" in result.stderr
    assert "qwb vqe: h2_2q iteration 3/3 [" in result.stderr


# --- item 13: --out under an existing file --------------------------------------------


@pytest.mark.parametrize(
    ("args", "command"),
    [
        (("vqe", "--task", "h2_2q"), "vqe"),
        (("bench", "optim", "--optimizers", "adamw"), "bench optim"),
        (("bench", "sim", "--sizes", "4"), "bench sim"),
        (("sweep", "--tasks", "bell", "--agents", "random", "--seeds", "1", "--episodes", "1"),
         "sweep"),
    ],
)  # fmt: skip
def test_out_under_a_file_is_one_line(tmp_path, args, command):
    a_file = tmp_path / "a_file"
    a_file.write_text("kept")
    out = str(a_file / "sub" / ("x.json" if command in ("vqe", "bench sim") else "dir"))
    result = _invoke(*args, "--out", out)
    _usage_error(result, f"qwb {command}: error: --out {out}: cannot write there ({a_file} is a "
                         "file, not a folder)")  # fmt: skip
    assert a_file.read_text() == "kept"


def test_vqe_out_appends_one_line_per_run(tmp_path):
    out = tmp_path / "runs" / "vqe.jsonl"
    for _ in range(2):
        result = _invoke("vqe", "--task", "h2_2q", "--ansatz", "hea", "--layers", "1",
                         "--maxiter", "2", "--out", str(out), "--json")  # fmt: skip
        assert result.exit_code == 0, result.output
    rows = [json.loads(line) for line in out.read_text().splitlines()]
    assert len(rows) == 2 and rows[0]["problem"] == "h2_2q"
    assert json.loads(result.stdout.strip().splitlines()[-1])["energy"] == rows[1]["energy"]


# --- item 21: a diverged optimizer says so --------------------------------------------


def test_optim_table_says_where_a_run_diverged():
    from qworkbench.experiments.optim_bench import format_table

    common = {"train_loss": None, "state_bytes": 2**20, "state_vs_baseline": 1.0,
              "step_ms": 1.0, "step_vs_baseline": 1.0, "optimizer_step_ms": 0.1,
              "baseline": "adamw", "val_loss_vs_baseline": None}  # fmt: skip
    rows = [
        {**common, "optimizer": "adamw", "val_loss": 2.5, "diverged_at": None,
         "val_loss_per_seed": [2.5]},
        {**common, "optimizer": "muon", "val_loss": None, "diverged_at": [7, 4],
         "val_loss_per_seed": [None, None, 2.6]},
    ]  # fmt: skip
    table = format_table(rows)
    assert "| adamw | 2.5000 |" in table
    assert "| muon | diverged at step 4 (2/3 seeds) |" in table


def test_bench_optim_reports_divergence(tmp_path):
    corpus = tmp_path / "corpus.txt"
    corpus.write_text("\n".join(f"line {i}: to be or not to be, that is the question {i % 7}"
                                for i in range(400)))  # fmt: skip
    result = _invoke("bench", "optim", "--lr", "1e6", "--optimizers", "muon", "--steps", "6",
                     "--width", "16", "--layers", "1", "--context", "16", "--batch", "4",
                     "--eval-every", "2", "--corpus", str(corpus), "--out",
                     str(tmp_path / "out"))  # fmt: skip
    assert result.exit_code == 0, result.output
    rows = json.loads((tmp_path / "out" / "optim.json").read_text())["rows"]
    (muon,) = [r for r in rows if r["optimizer"] == "muon"]
    assert muon["diverged_at"], "lr 1e6 no longer diverges: pick a larger one"
    step = min(muon["diverged_at"])
    assert f"| muon | diverged at step {step} |" in result.stdout
    assert f"muon diverged (non-finite loss at step {step}); try a smaller --lr" in result.stderr


# --- item 22: QAOA's seed, plurals ----------------------------------------------------


def test_qaoa_without_seed_says_the_seed_it_drew():
    args = ("qaoa", "--problem", "maxcut", "--random", "5", "--maxiter", "5", "--json")
    first = _invoke(*args)
    assert first.exit_code == 0, first.output
    (line,) = [x for x in first.stderr.splitlines() if x.startswith("qwb qaoa: seed ")]
    seed = int(line.split()[3])
    assert line == f"qwb qaoa: seed {seed} (pass --seed {seed} to repeat)"
    again = _invoke(*args, "--seed", str(seed))
    assert again.exit_code == 0 and "qwb qaoa: seed" not in again.stderr
    a, b = (json.loads(r.stdout.strip().splitlines()[-1]) for r in (first, again))
    assert a["seed"] == b["seed"] == seed
    assert {k: v for k, v in a.items() if k != "seconds"} == {
        k: v for k, v in b.items() if k != "seconds"
    }


def test_sweep_progress_says_1_success(tmp_path, monkeypatch):
    import qworkbench.experiments.sweep as experiments_sweep

    def fake_sweep(cells, out, progress=None, **_):
        for i, cell in enumerate(cells):
            progress({**cell, "successes": i + 1}, cell, i + 1, len(cells))
        return experiments_sweep.SweepResult(rows=[], ran=len(cells))

    monkeypatch.setattr(experiments_sweep, "sweep", fake_sweep)
    result = _invoke("sweep", "--tasks", "bell", "--agents", "random", "--seeds", "2",
                     "--episodes", "1", "--out", str(tmp_path / "out"))  # fmt: skip
    assert result.exit_code == 0, result.output
    assert ": 1 success\n" in result.stderr and ": 2 successes\n" in result.stderr


# --- item 4: qwb tasks ----------------------------------------------------------------


def test_qwb_tasks_lists_every_name_with_a_line_without_building_molecules():
    import subprocess
    import sys

    code = (
        "import json, sys; from typer.testing import CliRunner; from qworkbench.cli import app\n"
        "r = CliRunner().invoke(app, ['tasks', '--json'])\n"
        "print(json.dumps([r.exit_code, 'pyscf' in sys.modules, json.loads(r.stdout)]))"
    )
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, timeout=120)
    exit_code, built_molecules, listing = json.loads(out.stdout.strip().splitlines()[-1])
    assert exit_code == 0 and not built_molecules

    import tasks
    from agents import GATE_SETS, available_agents
    from agents.presets import PRESET_NAMES

    assert sorted(r["name"] for r in listing["tasks"]) == sorted(tasks.available())
    assert [r["name"] for r in listing["agents"]] == available_agents()
    assert {r["name"]: tuple(r["gates"]) for r in listing["gate_sets"]} == GATE_SETS
    assert [r["name"] for r in listing["presets"]] == list(PRESET_NAMES)
    for section in ("tasks", "agents", "presets"):
        assert all(r["description"] for r in listing[section]), section
    rows = {r["name"]: r for r in listing["tasks"]}
    assert rows["tfim4"]["num_qubits"] == 4 and rows["bell"]["kind"] == "state"
    assert "0.735 A" in rows["h2"]["description"]

    text = _invoke("tasks")
    assert text.exit_code == 0, text.output
    lines = text.stdout.splitlines()
    assert any(line.split()[:3] == ["tfim4", "4", "qubits"] for line in lines)
    assert any(line.split()[:1] == ["crlqas"] and "curriculum" in line for line in lines)
    assert "qwb tasks" in _invoke("qsvt", "simulate", "--help").stdout


def test_qasm_text_ends_with_a_newline():
    """best_circuit.qasm (written with Circuit.to_qasm) ended without one."""
    from qworkbench import Circuit

    circuit = Circuit(2).h(0).cx(0, 1).ry(0.5, 1)
    for version in (2, 3):
        text = circuit.to_qasm(version)
        assert text.endswith(";\n") and not text.endswith("\n\n")
        assert Circuit.from_qasm(text).count_ops() == circuit.count_ops()


def test_warnings_become_one_line_each(capsys):
    import warnings

    from qworkbench.cli._common import warnings_as_lines

    with warnings_as_lines("vqe"):
        warnings.warn("VQE did not converge: l-bfgs-b stopped after 2 iterations", stacklevel=1)
    assert capsys.readouterr().err == (
        "qwb vqe: warning: VQE did not converge: l-bfgs-b stopped after 2 iterations\n"
    )
