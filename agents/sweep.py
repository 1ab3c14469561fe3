"""Sweeps: QAS training over tasks x agents x seeds (x hyper-parameters) on any
``concurrent.futures.Executor``.

Each cell is :func:`agents.runner.run` plus :func:`agents.runner.summarize`, the unit
``qwb qas bench`` uses, keyed the same way (the sha256 of the cell's canonical JSON, as
sinter's ``strong_id``). A finished cell is one line appended to ``results.jsonl`` by
the submitting process; a rerun skips every key already there, so a killed sweep (or a
lost worker) costs only the cells that had not finished. Executors: local processes by
default, Dask distributed (``Client.get_executor()``, a ``LocalCluster`` when no
address is given) on request.

Config (TOML; every key optional, command-line options override)::

    tasks = ["bell", "h2"]
    agents = ["random", "crlqas"]
    seeds = 3                  # seeds 0, 1, 2; or a list such as [0, 7]
    episodes = 200
    preset = "fast"
    noise = "none"
    # gate_set = "kanqas"; max_gates = 12
    [hyper]                    # a grid: every combination is a cell
    lr = [1e-3, 3e-4]

``kind = "vqe"`` sweeps VQE instead (``tasks`` are energy tasks; ``ansatz`` uccsd|hea,
``optimizer``, ``layers``, ``maxiter``, ``seeds``), ``kind = "qaoa"`` sweeps QAOA on
random graphs (``problems`` maxcut|mis, ``sizes``, ``p``, ``mixer``, ``optimizer``,
``seeds``); lists make grids, and the table averages each metric over seeds.
"""

from __future__ import annotations

import contextlib
import itertools
import json
import os
import platform
import time
from concurrent.futures import Executor, as_completed
from concurrent.futures.process import BrokenProcessPool
from dataclasses import dataclass, field
from pathlib import Path

from agents.runner import _cell_key, aggregate, format_table, run, summarize

__all__ = [
    "SweepResult",
    "load_config",
    "expand",
    "run_cell",
    "read_results",
    "sweep",
    "make_executor",
    "TIMING_FIELDS",
    "solver_table",
]

_KEYS = ("tasks", "agents", "seeds", "episodes", "preset", "noise", "gate_set", "max_gates",
         "hyper", "kind", "ansatz", "optimizer", "layers", "maxiter", "problems", "sizes", "p",
         "mixer")  # fmt: skip

# fields that differ between two runs of the same cell (and worker-specific ones)
TIMING_FIELDS = ("seconds", "seconds_to_first", "episodes_per_s", "wall_seconds", "worker")


def load_config(path) -> dict:
    """A sweep config from a TOML file (see the module docstring)."""
    try:
        import tomllib
    except ModuleNotFoundError:  # Python 3.10
        import tomli as tomllib
    path = Path(path)
    try:
        config = tomllib.loads(path.read_text())
    except tomllib.TOMLDecodeError as exc:
        raise ValueError(f"{path}: not TOML ({exc})") from None
    unknown = sorted(set(config) - set(_KEYS))
    if unknown:
        raise ValueError(f"{path}: unknown keys {unknown}; known: {', '.join(_KEYS)}")
    return config


def expand(config: dict) -> list[dict]:
    """The cells of a config, in task, agent, seed, hyper-parameter order. Plain cells
    (no gate set, budget or hyper-parameters) equal ``qwb qas bench``'s, keys included;
    ``crlqas`` is left out on state tasks (its curriculum is defined on energies)."""
    import tasks as registry

    def listed(name, default):
        value = config.get(name, default)
        value = [value] if isinstance(value, str | int | float) else list(value)
        if not value:
            raise ValueError(f"{name} must name at least one")
        return value

    kind = config.get("kind", "qas")
    if kind not in ("qas", "vqe", "qaoa"):
        raise ValueError(f"kind must be qas, vqe or qaoa, got {kind!r}")
    if kind != "qas":
        return _expand_solver(kind, config, listed, registry)

    task_list = listed("tasks", ["h2"])
    agent_list = listed("agents", ["random", "crlqas"])
    seeds = config.get("seeds", 3)
    seed_list = list(range(seeds)) if isinstance(seeds, int) else [int(s) for s in seeds]
    episodes = int(config.get("episodes", 200))
    if episodes < 1 or not seed_list:
        raise ValueError("episodes must be positive and seeds non-empty")
    from agents import available_agents

    for name in agent_list:
        if name not in available_agents():
            raise ValueError(f"unknown agent {name!r}; available: {', '.join(available_agents())}")
    for name in task_list:
        if name not in registry.available():
            raise ValueError(f"unknown task {name!r}; available: {', '.join(registry.available())}")
    hyper = config.get("hyper") or {}
    grid = [dict(zip(hyper, values)) for values in itertools.product(
        *([v] if not isinstance(v, list) else v for v in hyper.values()))]  # fmt: skip
    kinds = {t: registry.get_task(t).kind for t in task_list}
    cells = []
    for task, agent, seed, point in itertools.product(task_list, agent_list, seed_list, grid):
        if agent == "crlqas" and kinds[task] == "state":
            continue
        cell = {
            "task": task,
            "agent": agent,
            "seed": seed,
            "episodes": episodes,
            "preset": config.get("preset", "fast"),
            "noise": config.get("noise", "none"),
        }
        for name in ("gate_set", "max_gates"):
            if config.get(name) is not None:
                cell[name] = config[name]
        if point:
            cell["hyper"] = point
        cells.append(cell)
    return cells


def _expand_solver(kind: str, config: dict, listed, registry) -> list[dict]:
    """The cells of a VQE or QAOA grid."""
    seeds = config.get("seeds", 3)
    seed_list = list(range(seeds)) if isinstance(seeds, int) else [int(s) for s in seeds]
    if kind == "vqe":
        task_list = listed("tasks", ["h2"])
        for name in task_list:
            if name not in registry.available() or registry.get_task(name).kind != "energy":
                raise ValueError(f"VQE sweeps take energy tasks; {name!r} is not one")
        for name in listed("ansatz", ["uccsd"]):
            if name not in ("uccsd", "hea"):
                raise ValueError(f"ansatz must be uccsd or hea, got {name!r}")
        axes = [("task", task_list), ("ansatz", listed("ansatz", ["uccsd"])),
                ("optimizer", listed("optimizer", ["l-bfgs-b"])),
                ("layers", listed("layers", [2])), ("seed", seed_list)]  # fmt: skip
        extra = {"maxiter": int(config.get("maxiter", 200))}
    else:
        for name in listed("problems", ["maxcut"]):
            if name not in ("maxcut", "mis"):
                raise ValueError(f"QAOA sweeps take problems maxcut or mis, got {name!r}")
        axes = [("problem", listed("problems", ["maxcut"])), ("size", listed("sizes", [8])),
                ("p", listed("p", [1])), ("optimizer", listed("optimizer", ["l-bfgs-b"])),
                ("seed", seed_list)]  # fmt: skip
        extra = {"mixer": config.get("mixer", "x")}
    names = [name for name, _ in axes]
    return [{"kind": kind, **dict(zip(names, values)), **extra}
            for values in itertools.product(*(v for _, v in axes))]  # fmt: skip


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


#: metrics averaged over seeds in the table of a VQE or QAOA sweep
SOLVER_METRICS = {"vqe": ("error", "nfev", "success", "seconds"),
                  "qaoa": ("approximation_ratio", "feasible", "nfev", "seconds")}  # fmt: skip


def solver_table(rows: list[dict]) -> str:
    """Markdown: one line per grid point (seeds averaged) of a VQE or QAOA sweep."""
    kind = rows[0]["kind"]
    metrics = SOLVER_METRICS[kind]
    skip = {"key", "seed", "versions", "worker", "wall_seconds", *metrics, "energy", "objective"}
    settings = [k for k in rows[0] if k not in skip]
    groups: dict[tuple, list[dict]] = {}
    for row in rows:
        groups.setdefault(tuple(row[k] for k in settings), []).append(row)
    lines = ["| " + " | ".join([*settings, "seeds", *metrics]) + " |",
             "|" + "---|" * (len(settings) + 1 + len(metrics))]  # fmt: skip
    for point, group in groups.items():
        means = []
        for m in metrics:
            values = [float(r[m]) for r in group if r.get(m) is not None]
            means.append(f"{sum(values) / len(values):.4g}" if values else "-")
        lines.append("| " + " | ".join([*map(str, point), str(len(group)), *means]) + " |")
    return "\n".join(lines) + "\n"


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
        solve = _run_vqe_cell if cell["kind"] == "vqe" else _run_qaoa_cell
        metrics = solve(cell)
        seconds = time.perf_counter() - start
        return {"key": _cell_key(cell), **cell, **metrics, "seconds": seconds,
                "wall_seconds": seconds, "versions": _versions(),
                "worker": f"{platform.node()}:{os.getpid()}"}  # fmt: skip
    agent = run(cell["task"], cell["agent"], cell["episodes"], seed=cell["seed"],
                noise=cell.get("noise"), preset=cell.get("preset", "fast"),
                max_gates=cell.get("max_gates"), gate_set=cell.get("gate_set"),
                **cell.get("hyper", {}))  # fmt: skip
    circuit = agent.best_circuit
    return {
        "key": _cell_key(cell),
        **cell,
        **summarize(agent.log, agent.best_record),
        "best_circuit": None if circuit is None else circuit.to_qasm(version=2),
        "wall_seconds": time.perf_counter() - start,
        "versions": _versions(),
        "worker": f"{platform.node()}:{os.getpid()}",
    }


def read_results(out) -> dict[str, dict]:
    """The finished cells in ``out/results.jsonl`` by key (torn lines skipped)."""
    path = Path(out) / "results.jsonl"
    done: dict[str, dict] = {}
    if path.exists():
        for line in path.read_text().splitlines():
            try:
                row = json.loads(line)
                done[row["key"]] = row
            except (json.JSONDecodeError, KeyError, TypeError):
                continue  # a torn line from a killed sweep: that cell runs again
    return done


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
    from qworkbench.hardware._store import append_line

    out = Path(out)
    out.mkdir(parents=True, exist_ok=True)
    path = out / "results.jsonl"
    done = read_results(out)
    keys = [_cell_key(c) for c in cells]
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
                append_line(path, json.dumps(row))
                done[row["key"]] = row
                result.ran += 1
                finished += 1
                if progress is not None:
                    progress(row, cell, finished, total)
        todo = lost if executor is None and attempt < retries else []
        result.failed.extend((cell, "worker lost") for cell in ([] if todo else lost))
    result.rows = [done[k] for k in keys if k in done]
    from agents.base import atomic_write

    if result.rows and result.rows[0].get("kind", "qas") != "qas":
        atomic_write(out / "table.md", solver_table(result.rows))
    elif result.rows and not any("hyper" in row for row in result.rows):
        # (a hyper-parameter grid has no such table)
        atomic_write(out / "table.md", format_table(aggregate(result.rows)))
    return result
