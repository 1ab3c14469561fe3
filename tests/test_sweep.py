"""Sweeps (agents.sweep, qwb sweep): grid expansion and keys, resume after a kill, a
failing cell, and the same result lines from local processes and a Dask LocalCluster."""

from __future__ import annotations

import json
from concurrent.futures import Executor, Future

import pytest

from agents.runner import _cell_key
from agents.sweep import TIMING_FIELDS, expand, load_config, read_results, sweep

GRID = {"tasks": ["bell"], "agents": ["random", "dqn"], "seeds": 1, "episodes": 3}


class Inline(Executor):
    """Runs each cell at submission, in the calling thread (qiskit's circuit
    construction has crashed in worker threads, so no ThreadPoolExecutor here)."""

    def __init__(self):
        self.submitted = []

    def submit(self, fn, /, *args, **kwargs):
        self.submitted.append(args[0])
        future = Future()
        try:
            future.set_result(fn(*args, **kwargs))
        except Exception as exc:
            future.set_exception(exc)
        return future


def _strip(rows):
    return [{k: v for k, v in row.items() if k not in TIMING_FIELDS} for row in rows]


def _cli(*args):
    from typer.testing import CliRunner

    from qworkbench.cli import app

    return CliRunner().invoke(app, list(args))


def test_expand_and_keys(tmp_path):
    config = tmp_path / "sweep.toml"
    config.write_text(
        'tasks = ["bell", "tfim2"]\nagents = ["random", "crlqas"]\nseeds = [0, 5]\n'
        "episodes = 7\n[hyper]\nlr = [1e-3, 3e-4]\n"
    )
    cells = expand(load_config(config))
    # crlqas has no cells on the state task bell: 2 * 2 * 2 + 1 * 2 * 2 = 12
    assert len(cells) == 12
    assert not any(c["agent"] == "crlqas" and c["task"] == "bell" for c in cells)
    assert {c["seed"] for c in cells} == {0, 5}
    assert {c["hyper"]["lr"] for c in cells} == {1e-3, 3e-4}
    assert len({_cell_key(c) for c in cells}) == 12
    # plain cells are qwb qas bench's cells, so their keys match bench's results.jsonl
    plain = expand({"tasks": ["tfim2"], "agents": ["random"], "seeds": 1, "episodes": 5})
    bench_cell = {"task": "tfim2", "agent": "random", "seed": 0, "episodes": 5,
                  "preset": "fast", "noise": "none"}  # fmt: skip
    assert _cell_key(plain[0]) == _cell_key(bench_cell)
    config.write_text('tasks = ["bell"]\nagent = ["random"]\n')
    with pytest.raises(ValueError, match="unknown keys"):
        load_config(config)
    with pytest.raises(ValueError, match="unknown agent 'nope'"):
        expand({"agents": ["nope"]})
    with pytest.raises(ValueError, match="unknown task 'nope'"):
        expand({"tasks": ["nope"]})


def test_rerun_after_a_kill_completes_only_the_missing_cells(tmp_path):
    cells = expand(GRID)
    out = tmp_path / "sweep"
    first = sweep(cells[:1], out, executor=Inline())
    assert (first.ran, first.skipped) == (1, 0)
    line = (out / "results.jsonl").read_text()
    # a sweep killed while writing the second cell's line leaves a torn line
    with (out / "results.jsonl").open("a") as f:
        f.write('{"key": "' + _cell_key(cells[1]) + '", "task": "be')
    pool = Inline()
    second = sweep(cells, out, executor=pool)
    assert pool.submitted == [cells[1]]
    assert (second.ran, second.skipped, second.failed) == (1, 1, [])
    text = (out / "results.jsonl").read_text()
    assert text.startswith(line)  # the finished cell's line is untouched
    rows = read_results(out)
    assert set(rows) == {_cell_key(c) for c in cells}
    assert [r["key"] for r in second.rows] == [_cell_key(c) for c in cells]
    row = second.rows[1]
    assert row["episodes"] == 3 and row["best_circuit"].startswith("OPENQASM 2.0")
    assert set(row["versions"]) >= {"qworkbench", "torch", "qiskit"}
    assert (out / "table.md").exists()
    pool = Inline()
    third = sweep(cells, out, executor=pool)
    assert (third.ran, third.skipped) == (0, 2) and pool.submitted == []


def test_a_failing_cell_is_reported_and_not_written(tmp_path):
    cells = expand(GRID)[:1] + [{**expand(GRID)[0], "episodes": 2, "gate_set": "no_such_set"}]
    result = sweep(cells, tmp_path, executor=Inline())
    assert result.ran == 1 and len(result.failed) == 1
    assert result.failed[0][0]["gate_set"] == "no_such_set"
    assert len(read_results(tmp_path)) == 1


def _dies_once(cell):
    """A worker that dies (as if killed) the first time it meets the dqn cell."""
    import os
    from pathlib import Path

    from agents.sweep import run_cell

    marker = Path(cell["hyper"]["marker"])
    if cell["agent"] == "dqn" and not marker.exists():
        marker.touch()
        os._exit(9)
    return run_cell({k: v for k, v in cell.items() if k != "hyper"})


def test_a_lost_local_worker_costs_only_unfinished_cells(tmp_path):
    marker = str(tmp_path / "died")
    cells = expand({**GRID, "episodes": 2, "hyper": {"marker": [marker]}})
    result = sweep(cells, tmp_path / "out", workers=1, runner=_dies_once)
    assert (tmp_path / "died").exists()  # the worker did die
    assert (result.ran, result.failed) == (2, [])
    assert len(read_results(tmp_path / "out")) == 2


def test_local_processes_and_dask_give_the_same_lines(tmp_path):
    """qwb sweep on local processes, rerun (nothing left to do), then on a 2-worker Dask
    LocalCluster: the same result lines, timing aside."""
    pytest.importorskip("distributed")
    args = ["sweep", "--tasks", "bell", "--agents", "random,dqn", "--seeds", "1",
            "--episodes", "3", "--workers", "2"]  # fmt: skip
    local = _cli(*args, "--out", str(tmp_path / "local"))
    assert local.exit_code == 0, local.output
    assert "2 ran, 0 already done, 0 failed" in local.output
    again = _cli(*args, "--out", str(tmp_path / "local"))
    assert "0 ran, 2 already done" in again.output
    dask = _cli(*args, "--out", str(tmp_path / "dask"), "--executor", "dask")
    assert dask.exit_code == 0, dask.output

    def lines(name):
        rows = [json.loads(x) for x in (tmp_path / name / "results.jsonl").read_text().split("\n")
                if x]  # fmt: skip
        return sorted(_strip(rows), key=lambda r: r["key"])

    assert len(lines("local")) == 2
    assert lines("local") == lines("dask")
    bad = _cli("sweep", "--tasks", "bell", "--executor", "spark", "--out", str(tmp_path / "x"))
    assert bad.exit_code == 2 and "executor must be" in bad.output


def test_vqe_and_qaoa_grids(tmp_path):
    import networkx as nx

    vqe_cells = expand({"kind": "vqe", "tasks": ["h2"], "ansatz": ["uccsd", "hea"], "layers": 1,
                        "seeds": 1, "maxiter": 100})  # fmt: skip
    assert [c["ansatz"] for c in vqe_cells] == ["uccsd", "hea"]
    result = sweep(vqe_cells, tmp_path / "vqe", executor=Inline())
    assert result.ran == 2 and not result.failed
    # UCCSD reaches the exact (FCI) ground energy of H2 within chemical accuracy
    uccsd = result.rows[0]
    assert uccsd["error"] <= 1.6e-3 and uccsd["success"]
    assert "| vqe | h2 | uccsd |" in (tmp_path / "vqe" / "table.md").read_text()

    qaoa_cells = expand({"kind": "qaoa", "problems": ["maxcut"], "sizes": 6, "p": [1, 2],
                         "seeds": 1})  # fmt: skip
    result = sweep(qaoa_cells, tmp_path / "qaoa", executor=Inline())
    assert result.ran == 2 and not result.failed
    graph = nx.gnp_random_graph(6, 0.5, seed=0)
    best = max(nx.cut_size(graph, {i for i in range(6) if mask >> i & 1})
               for mask in range(1 << 6))  # fmt: skip
    for row in result.rows:  # brute force: the sampled cut is at most the maximum cut
        assert 0 < row["approximation_ratio"] <= 1 and row["objective"] <= best
    with pytest.raises(ValueError, match="kind"):
        expand({"kind": "sat"})
    with pytest.raises(ValueError, match="energy tasks"):
        expand({"kind": "vqe", "tasks": ["bell"]})
