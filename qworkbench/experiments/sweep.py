"""Sweeps: the cells of :mod:`qworkbench.experiments.grid` (QAS training over tasks x
agents x seeds x hyper-parameters, VQE, QAOA and optimizer grids) on any
``concurrent.futures.Executor``.

A QAS cell is :func:`agents.runner.run` plus :func:`qworkbench.experiments.qas.summarize`,
the unit ``qwb qas bench`` uses, keyed the same way
(:func:`~qworkbench.experiments.results.cell_key`, the sha256 of the cell's canonical
JSON, as sinter's ``strong_id``). A finished cell is
one line appended to ``results.jsonl`` by the submitting process; a rerun skips every key
already there, so a killed sweep (or a lost worker) costs only the cells that had not
finished. Executors: local processes by default, Dask distributed
(``Client.get_executor()``, a ``LocalCluster`` when no address is given) on request.

This module is the sweep's public face: it also gives :func:`load_config`,
:func:`expand` and :data:`KIND_KEYS` (from :mod:`~qworkbench.experiments.grid`) and
:func:`read_results`.
"""

from __future__ import annotations

import contextlib
import os
import platform
import time
from concurrent.futures import Executor, as_completed
from concurrent.futures.process import BrokenProcessPool
from dataclasses import dataclass, field
from pathlib import Path

from agents.runner import run
from qworkbench.experiments.grid import KIND_KEYS, OPTIM_KEYS, expand, file_sha256, load_config
from qworkbench.experiments.qas import summarize
from qworkbench.experiments.results import append_result, cell_key, read_results
from qworkbench.experiments.tables import aggregate, format_table, optim_table, solver_table
from qworkbench.utils import atomic_write

__all__ = [
    "SweepResult",
    "load_config",
    "expand",
    "run_cell",
    "read_results",
    "sweep",
    "make_executor",
    "TIMING_FIELDS",
    "KIND_KEYS",
    "OPTIM_KEYS",
    "solver_table",
    "optim_table",
]

# fields that differ between two runs of the same cell (and worker-specific ones)
TIMING_FIELDS = (
    "seconds",
    "seconds_to_first",
    "episodes_per_s",
    "wall_seconds",
    "worker",
    "seconds_per_step",
    "optimizer_seconds_per_step",
    "peak_memory_bytes",
)


def _run_optim_cell(cell: dict) -> dict:
    """An optimizer cell's metrics; the corpus must still be the file the cell was made
    from (its sha256 is in the key). The metrics' ``corpus`` (the file's name) becomes
    ``corpus_name``, so the row keeps the cell's ``corpus``."""
    from qworkbench.experiments.optim_bench import run_cell as train_cell

    expected = cell.get("corpus_sha256")
    if expected is not None and cell.get("corpus") is not None:
        found = file_sha256(Path(cell["corpus"]))
        if found != expected:
            raise ValueError(f"corpus {cell['corpus']} changed since the sweep was expanded "
                             f"(sha256 {found[:12]}, the cell's {expected[:12]}); "
                             "expand again")  # fmt: skip
    metrics = train_cell(cell)
    metrics["corpus_name"] = metrics.pop("corpus", None)
    if expected is not None and metrics.get("corpus_sha256") != expected:
        raise ValueError(f"corpus {cell['corpus']} changed while the cell ran")
    return metrics


def _run_vqe_cell(cell: dict) -> dict:
    from tasks import get_task
    from tasks.ansatz import hardware_efficient
    from tasks.vqe import VQE

    task = get_task(cell["task"])
    ansatz = "uccsd"
    if cell["ansatz"] == "hea":
        ansatz = hardware_efficient(task.num_qubits, int(cell["layers"]),
                                    initial_state=task.hf_state)  # fmt: skip
    result = VQE(task, ansatz, optimizer=cell["optimizer"], seed=cell["seed"],
                 maxiter=cell["maxiter"]).run()  # fmt: skip
    return {"energy": result.energy, "error": result.error, "nfev": result.nfev,
            "success": bool(result.error is not None and result.error <= 1.6e-3)}  # fmt: skip


def _run_qaoa_cell(cell: dict) -> dict:
    import networkx as nx

    from tasks.problems import MIS, MaxCut
    from tasks.qaoa import QAOA

    graph = nx.gnp_random_graph(int(cell["size"]), 0.5, seed=int(cell["seed"]))
    problem = (MaxCut if cell["problem"] == "maxcut" else MIS)(graph)
    options = {"slack": False} if cell["problem"] == "mis" else {}
    result = QAOA(problem, p=int(cell["p"]), mixer=cell["mixer"], optimizer=cell["optimizer"],
                  seed=cell["seed"], **options).run()  # fmt: skip
    return {"objective": result.objective, "approximation_ratio": result.approximation_ratio,
            "feasible": bool(result.feasible), "nfev": result.nfev}  # fmt: skip


def _versions() -> dict:
    from importlib import metadata

    out = {"python": platform.python_version()}
    for name in ("qworkbench", "torch", "numpy", "qiskit"):
        try:
            out[name] = metadata.version(name)
        except metadata.PackageNotFoundError:
            out[name] = None
    return out


def run_cell(cell: dict) -> dict:
    """Train one cell; its result line (key, the cell, the run's summary, the best
    circuit as OpenQASM 2, wall time, package versions). Runs in a worker."""
    start = time.perf_counter()
    if cell.get("kind", "qas") != "qas":
        if cell["kind"] == "optim":
            solve = _run_optim_cell
        else:
            solve = _run_vqe_cell if cell["kind"] == "vqe" else _run_qaoa_cell
        metrics = solve(cell)
        seconds = time.perf_counter() - start
        return {"key": cell_key(cell), **cell, **metrics, "seconds": seconds,
                "wall_seconds": seconds, "versions": _versions(),
                "worker": f"{platform.node()}:{os.getpid()}"}  # fmt: skip
    agent = run(cell["task"], cell["agent"], cell["episodes"], seed=cell["seed"],
                noise=cell.get("noise"), preset=cell.get("preset", "fast"),
                max_gates=cell.get("max_gates"), gate_set=cell.get("gate_set"),
                **cell.get("hyper", {}))  # fmt: skip
    circuit = agent.best_circuit
    return {
        "key": cell_key(cell),
        **cell,
        **summarize(agent.log, agent.best_record, agent.evaluations),
        "best_circuit": None if circuit is None else circuit.to_qasm(version=2),
        "wall_seconds": time.perf_counter() - start,
        "versions": _versions(),
        "worker": f"{platform.node()}:{os.getpid()}",
    }


@dataclass
class SweepResult:
    """What a sweep did: ``rows`` of every cell of the grid that has a result (old and
    new, in grid order), ``ran``/``skipped`` counts, ``failed`` (cell, message) pairs."""

    rows: list[dict]
    ran: int = 0
    skipped: int = 0
    failed: list[tuple[dict, str]] = field(default_factory=list)


@contextlib.contextmanager
def make_executor(spec: str = "local", workers: int | None = None):
    """An executor for ``spec``: ``local`` (processes, spawned), ``dask`` (a new
    ``LocalCluster`` of ``workers`` processes) or ``dask://HOST:PORT`` (a running
    scheduler). Closed on exit."""
    if spec in (None, "local"):
        import multiprocessing
        from concurrent.futures import ProcessPoolExecutor

        # spawn: forking a process that holds torch/numba thread pools can deadlock
        pool = ProcessPoolExecutor(max_workers=workers or os.cpu_count() or 1,
                                   mp_context=multiprocessing.get_context("spawn"))  # fmt: skip
        try:
            yield pool
        finally:
            pool.shutdown(wait=True, cancel_futures=True)
        return
    if spec != "dask" and not spec.startswith("dask://"):
        raise ValueError(f"executor must be local, dask or dask://HOST:PORT, got {spec!r}")
    try:
        from distributed import Client, LocalCluster
    except ImportError:
        raise ValueError(
            "the dask executor needs Dask distributed: pip install 'qworkbench[dask]'"
        ) from None
    with contextlib.ExitStack() as stack:
        if spec == "dask":
            cluster = stack.enter_context(LocalCluster(n_workers=workers or 2,
                                                       threads_per_worker=1, processes=True,
                                                       dashboard_address=None))  # fmt: skip
            client = stack.enter_context(Client(cluster))
        else:
            client = stack.enter_context(Client("tcp://" + spec[len("dask://") :]))
        yield client.get_executor(pure=False)


def sweep(cells: list[dict], out, *, executor: Executor | None = None, workers=None,
          progress=None, retries: int = 1, runner=run_cell) -> SweepResult:  # fmt: skip
    """Run every cell not yet in ``out/results.jsonl`` on ``executor`` (default: local
    processes), appending one line per finished cell; writes ``table.md`` (the
    ``qwb qas bench`` table) unless the grid has hyper-parameters.

    A cell that raises is reported in ``failed`` and not written (a rerun tries it
    again). When the default process pool loses a worker, the unfinished cells go to a
    fresh pool, at most ``retries`` times. ``progress(row_or_None, cell, done, total)``
    is called after each cell. ``runner`` is what a worker runs on a cell (a picklable
    function returning the result line; default :func:`run_cell`).
    """
    out = Path(out)
    out.mkdir(parents=True, exist_ok=True)
    done = read_results(out)
    unique = {}  # a cell named twice (same key) runs once
    for cell in cells:
        unique.setdefault(cell_key(cell), cell)
    cells, keys = list(unique.values()), list(unique)
    todo = [c for c, k in zip(cells, keys) if k not in done]
    result = SweepResult(rows=[], skipped=len(cells) - len(todo))
    total, finished = len(todo), 0
    for attempt in range(retries + 1):
        if not todo:
            break
        lost = []
        with contextlib.ExitStack() as stack:
            pool = executor or stack.enter_context(make_executor("local", workers))
            futures = {pool.submit(runner, cell): cell for cell in todo}
            for future in as_completed(futures):
                cell = futures[future]
                try:
                    row = future.result()
                except BrokenProcessPool:
                    lost.append(cell)
                    continue
                except Exception as exc:  # a failing cell must not stop the others
                    result.failed.append((cell, f"{type(exc).__name__}: {exc}"))
                    if progress is not None:
                        progress(None, cell, finished, total)
                    continue
                append_result(out, row)
                done[row["key"]] = row
                result.ran += 1
                finished += 1
                if progress is not None:
                    progress(row, cell, finished, total)
        todo = lost if executor is None and attempt < retries else []
        result.failed.extend((cell, "worker lost") for cell in ([] if todo else lost))
    result.rows = [done[k] for k in keys if k in done]
    if result.rows and result.rows[0].get("kind") == "optim":
        atomic_write(out / "table.md", optim_table(result.rows))
    elif result.rows and result.rows[0].get("kind", "qas") != "qas":
        atomic_write(out / "table.md", solver_table(result.rows))
    elif result.rows and not any("hyper" in row for row in result.rows):
        # (a hyper-parameter grid has no such table)
        atomic_write(out / "table.md", format_table(aggregate(result.rows)))
    return result
