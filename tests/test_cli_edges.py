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
