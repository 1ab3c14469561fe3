"""Sweeps (qworkbench.experiments.sweep, qwb sweep): grid expansion and keys, resume after a kill, a
failing cell, and the same result lines from local processes and a Dask LocalCluster."""

from __future__ import annotations

import json
import re
from concurrent.futures import Executor, Future

import pytest

from qworkbench.experiments.plots import plot_results
from qworkbench.experiments.results import cell_key as _cell_key
from qworkbench.experiments.sweep import TIMING_FIELDS, expand, load_config, read_results, sweep

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
    # crlqas runs on the state task bell too (issue 15): 2 tasks * 2 agents * 2 seeds * 2 lr
    assert len(cells) == 16
    assert any(c["agent"] == "crlqas" and c["task"] == "bell" for c in cells)
    assert {c["seed"] for c in cells} == {0, 5}
    assert {c["hyper"]["lr"] for c in cells} == {1e-3, 3e-4}
    assert len({_cell_key(c) for c in cells}) == 16
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

    from qworkbench.experiments.sweep import run_cell

    marker = Path(cell["hyper"]["marker"])
    if cell["agent"] == "dqn" and not marker.exists():
        marker.touch()
        os._exit(9)
    return run_cell({k: v for k, v in cell.items() if k != "hyper"})


@pytest.mark.slow  # ~10 s: kills a worker process
def test_a_lost_local_worker_costs_only_unfinished_cells(tmp_path):
    marker = str(tmp_path / "died")
    cells = expand({**GRID, "episodes": 2, "hyper": {"marker": [marker]}})
    result = sweep(cells, tmp_path / "out", workers=1, runner=_dies_once)
    assert (tmp_path / "died").exists()  # the worker did die
    assert (result.ran, result.failed) == (2, [])
    assert len(read_results(tmp_path / "out")) == 2


@pytest.mark.slow  # ~10 s: starts a Dask LocalCluster
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
    # qwb plot on a solver sweep: the metric per cell and the summary table
    paths = plot_results(tmp_path / "vqe")
    assert [p.name for p in paths] == ["error.png", "summary.md"]
    assert paths[0].read_bytes()[:4] == b"\x89PNG" and "uccsd" in paths[1].read_text()

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


# -- optimizer grids (kind = "optim") ---------------------------------------------------------
def _corpus(path):
    """A small deterministic text corpus (the tests do not need Tiny Shakespeare)."""
    import random

    words = ["the", "quantum", "circuit", "learns", "a", "gate", "and", "agent", "finds",
             "its", "angle;", "what", "light", "through", "yonder", "window", "breaks?", "it",
             "is", "east"]  # fmt: skip
    rng = random.Random(0)
    lines = [" ".join(rng.choice(words) for _ in range(rng.randint(4, 12))) for _ in range(600)]
    path.write_text("\n".join(lines) + "\n")
    return path


OPTIM_TOML = """kind = "optim"
optimizer = ["adamw", "galore_adamw"]
lr = 0.003
rank = 4
seeds = 1
steps = 6
width = 16
layers = 1
heads = 2
context = 16
batch = 4
eval_every = 2
corpus = "{corpus}"
"""


def _reference_adamw_loss(text: str, cell: dict) -> float:
    """The same training written directly against torch: torch.optim.AdamW (weight decay
    0.01, as optim.create's adamw), our model class, batches drawn as the benchmark draws
    them; the validation loss after the last step."""
    import torch
    import torch.nn.functional as F

    from qworkbench.experiments.optim_bench import Decoder

    vocab = sorted(set(text))
    data = torch.tensor([vocab.index(c) for c in text])
    split = int(0.9 * len(data))
    train, val = data[:split], data[split:]
    ctx, size = cell["context"], cell["batch"]

    def draw(tokens, g):
        starts = torch.randint(0, len(tokens) - ctx - 1, (size,), generator=g)
        x = torch.stack([tokens[s : s + ctx] for s in starts])
        return x, torch.stack([tokens[s + 1 : s + ctx + 1] for s in starts])

    threads = torch.get_num_threads()
    torch.set_num_threads(1)  # as a sweep cell runs
    try:
        torch.manual_seed(cell["seed"])
        model = Decoder(len(vocab), cell["width"], cell["layers"], cell["heads"])
        opt = torch.optim.AdamW(model.parameters(), lr=cell["lr"], weight_decay=0.01)
        g = torch.Generator().manual_seed(cell["seed"])
        for _ in range(cell["steps"]):
            x, y = draw(train, g)
            loss = F.cross_entropy(model(x).flatten(0, 1), y.flatten())
            opt.zero_grad()
            loss.backward()
            opt.step()
        g = torch.Generator().manual_seed(1234)
        with torch.no_grad():
            losses = []
            for _ in range(8):
                x, y = draw(val, g)
                losses.append(F.cross_entropy(model(x).flatten(0, 1), y.flatten()).item())
    finally:
        torch.set_num_threads(threads)
    return sum(losses) / len(losses)


def test_optim_grid_lines_resume_and_torch_reference(tmp_path):
    corpus = _corpus(tmp_path / "corpus.txt")
    config = tmp_path / "optim.toml"
    config.write_text(OPTIM_TOML.format(corpus=corpus))
    cells = expand(load_config(config))
    assert [c["optimizer"] for c in cells] == ["adamw", "galore_adamw"]
    assert "rank" not in cells[0] and cells[1]["rank"] == 4  # rank only where it applies
    out = tmp_path / "out"
    pool = Inline()
    result = sweep(cells, out, executor=pool)
    assert (result.ran, result.skipped, result.failed) == (2, 0, [])
    lines = [json.loads(x) for x in (out / "results.jsonl").read_text().splitlines()]
    assert len(lines) == 2 and len({row["key"] for row in lines}) == 2
    assert {row["key"] for row in lines} == {_cell_key(c) for c in cells}
    for row in lines:
        assert row["final_val_loss"] <= row["curve"][0][2] + 0.05
        assert row["best_val_loss"] <= row["final_val_loss"]
        assert row["state_bytes"] > 0 and row["seconds_per_step"] > 0
        assert row["peak_memory_bytes"] is None  # CPU: not measured
    adamw, galore = result.rows  # in grid order
    assert galore["state_bytes"] < adamw["state_bytes"]
    assert "| galore_adamw | 0.003 | 4 |" in (out / "table.md").read_text()
    paths = plot_results(out)  # qwb plot: loss curves and the summary table
    assert [p.name for p in paths] == ["loss.png", "summary.md"]
    assert paths[0].read_bytes()[:4] == b"\x89PNG" and "galore_adamw" in paths[1].read_text()
    pool = Inline()
    again = sweep(cells, out, executor=pool)
    assert (again.ran, again.skipped) == (0, 2) and pool.submitted == []
    # an outside reference: the same training through torch.optim.AdamW directly
    reference = _reference_adamw_loss(corpus.read_text(), cells[0])
    assert abs(adamw["final_val_loss"] - reference) < 1e-6


def test_optim_galore_cell_matches_galore_torch(tmp_path):
    galore_torch = pytest.importorskip("galore_torch")
    from qworkbench.experiments import optim_bench as bench

    corpus = _corpus(tmp_path / "corpus.txt")
    cell = expand({"kind": "optim", "optimizer": "galore_adamw", "lr": 3e-3, "rank": 4,
                   "seeds": 1, "steps": 6, "width": 16, "layers": 1, "heads": 2,
                   "context": 16, "batch": 4, "eval_every": 3, "corpus": str(corpus),
                   "hyper": {"update_proj_gap": 3}})[0]  # fmt: skip
    ours = bench.run_cell(cell)

    def reference(model):
        hidden, rest = bench.hidden_and_rest(model)
        return galore_torch.GaLoreAdamW([{"params": rest}, {"params": hidden, "rank": 4,
                                        "update_proj_gap": 3, "scale": 0.25,
                                        "proj_type": "std"}], lr=3e-3)  # fmt: skip

    config = bench.TrainConfig(**{k: cell[k] for k in bench.CELL_SETTINGS if k in cell})
    theirs = bench.train(reference, config, bench.load_corpus(corpus))
    for (_, a_train, a_val), (_, b_train, b_val) in zip(ours["curve"], theirs["curve"]):
        assert abs(a_train - b_train) < 1e-4 and abs(a_val - b_val) < 1e-4


@pytest.mark.parametrize(
    ("bad", "message"),
    [
        ({"optimizer": "nope"}, "unknown optimizer 'nope'; available: .*adamw"),
        ({"optimizer": "spsa"}, "gradient-free"),
        ({"lr": float("nan")}, "lr must be positive and finite, got nan"),
        ({"lr": [1e-3, float("inf")]}, "lr must be positive and finite, got inf"),
        ({"rank": 4}, "rank: none of"),
        ({"optimizer": "galore_adamw", "rank": 0}, "rank must be a positive integer"),
        ({"hyper": {"no_such": [1, 2]}}, "'no_such' is taken by none"),
        ({"optimizer": "galore_adamw", "hyper": {"update_proj_gap": 0}}, "update_proj_gap"),
        ({"episodes": 10}, "do not apply to kind"),
        ({"steps": 0}, "steps must be a positive integer"),
        ({"corpus": "/no/such/corpus.txt"}, "corpus.*not a file"),
    ],
)
def test_optim_grid_rejects_bad_values(bad, message, tmp_path):
    # a corpus that exists (Tiny Shakespeare is not beside every clone), so each bad
    # value is the one reported
    corpus = str(_corpus(tmp_path / "corpus.txt"))
    with pytest.raises(ValueError, match=message):
        expand({"kind": "optim", "corpus": corpus, **bad})


def test_optim_sweep_on_a_local_process_through_the_cli(tmp_path):
    """kind = "optim" through qwb sweep: the cell pickles to a spawned worker and back."""
    corpus = _corpus(tmp_path / "corpus.txt")
    config = tmp_path / "optim.toml"
    text = OPTIM_TOML.format(corpus=corpus).replace("rank = 4\n", "")
    config.write_text(text.replace('optimizer = ["adamw", "galore_adamw"]',
                                   'optimizer = "apollo_mini"'))  # fmt: skip
    out = str(tmp_path / "out")
    first = _cli("sweep", str(config), "--workers", "1", "--out", out)
    assert first.exit_code == 0, first.output
    assert "1 ran, 0 already done, 0 failed" in first.output
    # the progress line (the cell's corpus_sha256 shows until the CLI hides it)
    assert re.search(r"apollo_mini / 0\.003 / 0( / [0-9a-f]{64})?: val loss", first.output)
    again = _cli("sweep", str(config), "--workers", "1", "--out", out)
    assert "0 ran, 1 already done" in again.output
    (row,) = read_results(out).values()
    assert row["optimizer"] == "apollo_mini" and row["steps"] == 6 and "rank" not in row


# -- review fixes: values checked at expand time, keys per kind, duplicates, the corpus -------
def _optim(tmp_path, **settings):
    corpus = str(_corpus(tmp_path / "corpus.txt"))
    return {"kind": "optim", "corpus": corpus, "width": 16, "layers": 1, "heads": 2,
            "context": 16, "batch": 4, "steps": 2, "eval_every": 1, **settings}  # fmt: skip


@pytest.mark.parametrize("optimizer", ["adamw", "galore_adamw", "apollo_mini"])
@pytest.mark.parametrize("key", ["rank", "lr"])
def test_optim_hyper_rejects_rank_and_lr(optimizer, key, tmp_path):
    with pytest.raises(ValueError, match=rf"\[hyper\] {key}: give {key} as the top-level key"):
        expand(_optim(tmp_path, optimizer=optimizer, hyper={key: 4}))


@pytest.mark.parametrize("betas", [[0.9, 0.95, 0.99], [0.9]])
def test_optim_values_a_step_cannot_use_fail_at_expand(betas, tmp_path):
    # the constructor accepts these betas; one probe step does not
    with pytest.raises(ValueError, match=r"fails a step with .*betas = \[0\.9"):
        expand(_optim(tmp_path, optimizer="adamw", hyper={"betas": [betas]}))
    assert expand(_optim(tmp_path, optimizer="adamw", hyper={"betas": [[0.9, 0.95]]}))


def test_optim_lr_beyond_float32_is_rejected(tmp_path):
    with pytest.raises(ValueError, match="lr must be at most float32's largest value"):
        expand(_optim(tmp_path, lr=3.5e38))
    assert expand(_optim(tmp_path, lr=1.0))[0]["lr"] == 1.0


def test_duplicate_grid_values_give_one_cell_each(tmp_path):
    cells = expand(_optim(tmp_path, optimizer="galore_adamw", lr=[1e-3, 0.001], rank=[4, 4],
                          seeds=[0, 0]))  # fmt: skip
    assert len(cells) == 1
    qas = expand({**GRID, "agents": ["random", "random"], "seeds": [0, 0],
                  "hyper": {"lr": [1e-3, 0.001]}})  # fmt: skip
    assert len(qas) == 1
    assert len(expand({"kind": "qaoa", "sizes": [4, 4], "seeds": [1, 1]})) == 1
    # sweep() itself runs a repeated cell once, and its table counts one seed
    out = tmp_path / "out"
    pool = Inline()
    plain = expand(GRID)[:1]
    result = sweep(plain + plain, out, executor=pool)
    assert len(pool.submitted) == 1 and result.ran == 1 and len(result.rows) == 1
    # a results.jsonl holding a key twice (e.g. appended by two sweeps): plot counts it once
    line = (out / "results.jsonl").read_text()
    (out / "results.jsonl").write_text(line + line)
    plot_results(out)
    from qworkbench.experiments.tables import aggregate

    rows = [json.loads(x) for x in (out / "results.jsonl").read_text().splitlines()]
    assert [r["seeds"] for r in aggregate(rows)] == [1]


@pytest.mark.parametrize(
    ("kind", "config", "key"),
    [
        ("qas", {"lr": [1e-3, 3e-4]}, "lr"),
        ("qas", {"steps": 10}, "steps"),
        ("qas", {"corpus": "x.txt"}, "corpus"),
        ("qas", {"maxiter": 10}, "maxiter"),
        ("vqe", {"lr": 1e-3}, "lr"),
        ("vqe", {"episodes": 10}, "episodes"),
        ("vqe", {"sizes": [4]}, "sizes"),
        ("qaoa", {"width": 16}, "width"),
        ("qaoa", {"agents": ["random"]}, "agents"),
        ("qaoa", {"layers": 2}, "layers"),
    ],
)
def test_each_kind_rejects_the_keys_of_the_others(kind, config, key, tmp_path):
    message = rf"keys \['{key}'\] do not apply to kind = \"{kind}\""
    with pytest.raises(ValueError, match=message):
        expand({"kind": kind, **config})
    path = tmp_path / "sweep.toml"
    lines = [f'kind = "{kind}"'] + [f"{k} = {json.dumps(v)}" for k, v in config.items()]
    path.write_text("\n".join(lines) + "\n")
    with pytest.raises(ValueError, match=message):
        load_config(path)


@pytest.mark.parametrize(
    ("config", "message"),
    [
        ({"kind": "vqe", "seeds": 0}, "seeds must be a positive integer, got 0"),
        ({"kind": "vqe", "seeds": -2}, "seeds must be a positive integer, got -2"),
        ({"kind": "vqe", "seeds": "12"}, "seeds must be .*, got '12'"),
        ({"kind": "qaoa", "seeds": 2.0}, "seeds must be .*, got 2.0"),
        ({"kind": "qaoa", "seeds": [0, "1"]}, "seeds must be .*, got '1'"),
        ({"kind": "vqe", "maxiter": [10, 20]}, r"maxiter must be one .*, got \[10, 20\]"),
        ({"kind": "vqe", "maxiter": 0}, "maxiter must be a positive integer, got 0"),
        ({"kind": "vqe", "layers": -1}, "layers must be a positive integer, got -1"),
        ({"kind": "vqe", "optimizer": "bogus"}, "optimizer: unknown 'bogus'; choose from .*cobyla"),
        ({"kind": "vqe", "ansatz": "bogus"}, "ansatz: unknown 'bogus'"),
        ({"kind": "vqe", "tasks": ["nope"]}, "energy tasks; 'nope'"),
        ({"kind": "qaoa", "sizes": [0]}, "sizes must be a positive integer, got 0"),
        ({"kind": "qaoa", "sizes": ["8"]}, "sizes must be a positive integer, got '8'"),
        ({"kind": "qaoa", "p": 0}, "p must be a positive integer, got 0"),
        ({"kind": "qaoa", "p": [1, 2.5]}, "p must be a positive integer, got 2.5"),
        ({"kind": "qaoa", "mixer": "bogus"}, "mixer: unknown 'bogus'"),
        ({"kind": "qaoa", "mixer": "xy"}, "mixer 'xy' needs one-hot groups"),
        ({"kind": "qaoa", "optimizer": "bogus"}, "optimizer: unknown 'bogus'"),
        ({"kind": "qaoa", "problems": "tsp"}, "problems: unknown 'tsp'"),
    ],
)
def test_vqe_and_qaoa_grids_reject_bad_values(config, message):
    with pytest.raises(ValueError, match=message):
        expand(config)


@pytest.mark.parametrize(
    ("config", "message"),
    [
        ({"seeds": 0}, "seeds must be a positive integer, got 0"),
        ({"seeds": "12"}, "seeds must be .*, got '12'"),
        ({"episodes": 0}, "episodes must be a positive integer, got 0"),
    ],
)
def test_qas_grid_rejects_bad_seeds_and_episodes(config, message):
    with pytest.raises(ValueError, match=message):
        expand(config)


def test_optim_corpus_contents_and_path_are_in_the_cell(tmp_path, monkeypatch):
    corpus = _corpus(tmp_path / "corpus.txt")
    settings = _optim(tmp_path, steps=2, eval_every=1)
    (cell,) = expand(settings)
    assert cell["corpus"] == str(corpus.resolve()) and len(cell["corpus_sha256"]) == 64
    # another spelling of the same file: the same cell
    monkeypatch.chdir(tmp_path)
    (tmp_path / "sub").mkdir()
    (again,) = expand({**settings, "corpus": "./sub/../corpus.txt"})
    assert _cell_key(again) == _cell_key(cell)
    out = tmp_path / "out"
    first = sweep([cell], out, executor=Inline())
    assert first.ran == 1
    (row,) = first.rows
    assert row["corpus"] == cell["corpus"] and row["corpus_name"] == "corpus.txt"
    assert row["corpus_sha256"] == cell["corpus_sha256"] and row["key"] == _cell_key(cell)
    # an edited corpus is a new cell: it runs again
    corpus.write_text(corpus.read_text() + "the agent learns\n")
    (edited,) = expand(settings)
    assert _cell_key(edited) != _cell_key(cell)
    pool = Inline()
    second = sweep([edited], out, executor=pool)
    assert (second.ran, second.skipped) == (1, 0)
    # the old cell (made from the old contents) fails clearly rather than training on new
    stale = sweep([cell], tmp_path / "stale", executor=Inline())
    assert stale.ran == 0 and "changed since the sweep was expanded" in stale.failed[0][1]


def test_plot_refuses_a_folder_mixing_qas_and_optim_rows(tmp_path):
    rows = [{"key": "a", "task": "bell", "agent": "random", "success_rate": 0.0},
            {"key": "b", "kind": "optim", "optimizer": "adamw", "lr": 1e-3}]  # fmt: skip
    (tmp_path / "results.jsonl").write_text("".join(json.dumps(r) + "\n" for r in rows))
    with pytest.raises(ValueError, match=r"mixes sweep kinds \['optim', 'qas'\]"):
        plot_results(tmp_path)


def test_the_example_configs_the_readme_names_expand():
    """examples/sweep.toml and examples/optim.toml (README's sweep examples) are shipped
    and valid (expand checks every cell before anything runs), and each README sweep
    writes to its own folder."""
    from pathlib import Path

    root = Path(__file__).resolve().parents[1]
    qas = expand(load_config(root / "examples" / "sweep.toml"))
    optim = expand(load_config(root / "examples" / "optim.toml"))
    assert len(qas) == 8 and {c["task"] for c in qas} == {"bell", "h2"}
    assert len(optim) == 4 and {c["kind"] for c in optim} == {"optim"}
    readme = (root / "README.md").read_text()
    assert "qwb sweep examples/sweep.toml" in readme and "qwb sweep examples/optim.toml" in readme
    runs = [line for line in readme.splitlines() if line.startswith("qwb sweep ")]
    outs = [line.split("--out ")[1].split()[0] for line in runs if "--out " in line]
    assert len(outs) == len(runs) and len(set(outs)) == len(outs), runs
