"""Sweep configs and their cells: what ``qwb sweep`` runs, before anything runs.

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
``seeds``), ``kind = "optim"`` sweeps network optimizers on the character model of
:mod:`qworkbench.experiments.optim_bench` (``optimizer``, ``lr``, ``rank``, ``[hyper]``,
``seeds``, ``steps``, model size, ``corpus``); lists make grids, and the table averages
each metric over seeds. Each kind reads only its own keys (:data:`KIND_KEYS`): another
kind's key is an error. A value named twice in a grid gives one cell.

Every value is checked here, so a bad one is reported (naming its key) before any cell
runs.
"""

from __future__ import annotations

import itertools
from pathlib import Path

from qworkbench.experiments.results import cell_key
from qworkbench.utils import positive_int

__all__ = ["KIND_KEYS", "OPTIM_KEYS", "load_config", "expand", "file_sha256"]
#: the keys each kind of sweep reads (a key of another kind is an error, not ignored)
KIND_KEYS = {
    "qas": ("kind", "tasks", "agents", "seeds", "episodes", "preset", "noise", "gate_set",
            "max_gates", "hyper"),
    "vqe": ("kind", "tasks", "ansatz", "optimizer", "layers", "maxiter", "seeds"),
    "qaoa": ("kind", "problems", "sizes", "p", "mixer", "optimizer", "seeds"),
    "optim": ("kind", "optimizer", "lr", "rank", "hyper", "seeds", "steps", "width", "layers",
              "heads", "context", "batch", "eval_every", "corpus", "threads", "device"),
}  # fmt: skip
#: the keys an optimizer sweep (kind = "optim") reads
OPTIM_KEYS = KIND_KEYS["optim"]
_KEYS = tuple(dict.fromkeys(k for keys in KIND_KEYS.values() for k in keys))


def _check_keys(config: dict, where: str = "") -> None:
    """Raise ``ValueError`` naming keys that no kind reads, or that belong to another kind
    than the config's."""
    unknown = sorted(set(config) - set(_KEYS))
    if unknown:
        raise ValueError(f"{where}unknown keys {unknown}; known: {', '.join(_KEYS)}")
    kind = config.get("kind", "qas")
    if not isinstance(kind, str) or kind not in KIND_KEYS:
        return  # expand names the bad kind
    extra = sorted(set(config) - set(KIND_KEYS[kind]))
    if extra:
        raise ValueError(f"{where}keys {extra} do not apply to kind = \"{kind}\"; it reads: "
                         f"{', '.join(KIND_KEYS[kind])}")  # fmt: skip


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
    _check_keys(config, f"{path}: ")
    return config


def expand(config: dict) -> list[dict]:
    """The cells of a config, in task, agent, seed, hyper-parameter order. Plain cells
    (no gate set, budget or hyper-parameters) equal ``qwb qas bench``'s, keys included.
    ``crlqas`` runs on state tasks too (its curriculum then works on the infidelity)."""
    import tasks as registry

    def listed(name, default):
        value = config.get(name, default)
        value = [value] if isinstance(value, str | int | float) else list(value)
        if not value:
            raise ValueError(f"{name} must name at least one")
        return value

    kind = config.get("kind", "qas")
    if not isinstance(kind, str) or kind not in KIND_KEYS:
        raise ValueError(f"kind must be qas, vqe, qaoa or optim, got {kind!r}")
    _check_keys(config)
    if kind == "optim":
        return _unique(_expand_optim(config))
    if kind != "qas":
        return _unique(_expand_solver(kind, config, listed, registry))

    task_list = listed("tasks", ["h2"])
    agent_list = listed("agents", ["random", "crlqas"])
    seed_list = _seed_list(config.get("seeds", 3))
    episodes = positive_int("episodes", config.get("episodes", 200))
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
    cells = []
    for task, agent, seed, point in itertools.product(task_list, agent_list, seed_list, grid):
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
    return _unique(cells)


def _unique(cells: list[dict]) -> list[dict]:
    """The cells with repeated keys left out (the first kept): a grid that names one
    value twice (``seeds = [0, 0]``, ``lr = [1e-3, 0.001]``) runs it once."""
    seen: set[str] = set()
    out = []
    for cell in cells:
        key = cell_key(cell)
        if key not in seen:
            seen.add(key)
            out.append(cell)
    return out


def _seed_list(seeds) -> list[int]:
    """``seeds``: a positive count (seeds 0..N-1) or a non-empty list of integers."""
    if isinstance(seeds, int) and not isinstance(seeds, bool):
        return list(range(positive_int("seeds", seeds)))
    if not isinstance(seeds, list | tuple):
        raise ValueError(f"seeds must be a positive count or a list of integers, got {seeds!r}")
    seed_list = _grid("seeds", seeds)
    for s in seed_list:
        if isinstance(s, bool) or not isinstance(s, int):
            raise ValueError(f"seeds must be a count or a list of integers, got {s!r}")
    return seed_list


def _choices(name: str, value, known, default) -> list:
    """A grid of names, each one of ``known``."""
    values = _grid(name, default if value is None else value)
    for v in values:
        if not isinstance(v, str) or v not in known:
            raise ValueError(f"{name}: unknown {v!r}; choose from {', '.join(known)}")
    return values


def _positive_ints(name: str, value, default) -> list[int]:
    """A grid of positive integers."""
    return [positive_int(name, v) for v in _grid(name, default if value is None else value)]


def _expand_solver(kind: str, config: dict, listed, registry) -> list[dict]:
    """The cells of a VQE or QAOA grid; every value is checked here, so a bad one is
    reported (naming its key) before any cell runs."""
    from qworkbench.optim import METHODS
    from tasks.qaoa import MIXERS

    seed_list = _seed_list(config.get("seeds", 3))
    optimizers = _choices("optimizer", config.get("optimizer"), METHODS, "l-bfgs-b")
    if kind == "vqe":
        task_list = _grid("tasks", config.get("tasks", ["h2"]))
        for name in task_list:
            if not isinstance(name, str) or name not in registry.available() \
                    or registry.get_task(name).kind != "energy":  # fmt: skip
                raise ValueError(f"VQE sweeps take energy tasks; {name!r} is not one")
        axes = [("task", task_list),
                ("ansatz", _choices("ansatz", config.get("ansatz"), ("uccsd", "hea"), "uccsd")),
                ("optimizer", optimizers),
                ("layers", _positive_ints("layers", config.get("layers"), 2)),
                ("seed", seed_list)]  # fmt: skip
        maxiter = config.get("maxiter", 200)
        if isinstance(maxiter, list | tuple):
            raise ValueError(f"maxiter must be one positive integer (not a grid), got {maxiter!r}")
        extra = {"maxiter": positive_int("maxiter", maxiter)}
    else:
        problems = _choices("problems", config.get("problems"), ("maxcut", "mis"), "maxcut")
        axes = [("problem", problems),
                ("size", _positive_ints("sizes", config.get("sizes"), 8)),
                ("p", _positive_ints("p", config.get("p"), 1)),
                ("optimizer", optimizers), ("seed", seed_list)]  # fmt: skip
        mixer = config.get("mixer", "x")
        if not isinstance(mixer, str) or mixer not in MIXERS:
            raise ValueError(f"mixer: unknown {mixer!r}; choose from {', '.join(MIXERS)}")
        if mixer == "xy":  # maxcut and mis have no one-hot groups: every cell would fail
            raise ValueError("mixer 'xy' needs one-hot groups, which maxcut and mis do not "
                             'have; QAOA sweeps take mixer = "x"')  # fmt: skip
        extra = {"mixer": mixer}
    names = [name for name, _ in axes]
    return [{"kind": kind, **dict(zip(names, values)), **extra}
            for values in itertools.product(*(v for _, v in axes))]  # fmt: skip


def _grid(name: str, value) -> list:
    """A config value as the list of its grid points (a scalar is one point)."""
    values = list(value) if isinstance(value, list | tuple) else [value]
    if not values:
        raise ValueError(f"{name} must hold at least one value")
    return values


_FLOAT32_MAX = 3.4028234663852886e38


def file_sha256(path: Path) -> str:
    """The sha256 of a file's contents (hex)."""
    import hashlib

    digest = hashlib.sha256()
    with open(path, "rb") as f:
        for block in iter(lambda: f.read(1 << 20), b""):
            digest.update(block)
    return digest.hexdigest()


def _probe_step(name: str, lr: float, rank, hyper: dict) -> None:
    """One step of optimizer ``name`` on a small weight with a gradient: values the
    constructor accepts but a step cannot use (``betas = [0.9]``) are reported now, as a
    ``ValueError`` naming them, rather than by every cell of the sweep."""
    import warnings

    import torch

    from qworkbench import optim

    size = max(4, rank or 0)  # a square weight the rank fits (rank <= width is checked)
    weight = torch.nn.Parameter(torch.zeros(size, size))
    weight.grad = torch.linspace(-1.0, 1.0, weight.numel()).reshape(weight.shape)
    extra = {"rank": rank} if rank is not None else {}
    try:
        with warnings.catch_warnings():
            warnings.simplefilter("ignore")
            opt = optim.create(name, [weight], lr=lr, **extra, **hyper)
            opt.step()
    except Exception as exc:  # noqa: BLE001 - any failure here is the values' fault
        settings = ", ".join(f"{k} = {v!r}" for k, v in {"lr": lr, **extra, **hyper}.items())
        raise ValueError(f"optimizer {name!r} fails a step with {settings}: "
                         f"{type(exc).__name__}: {exc}") from None  # fmt: skip


def _expand_optim(config: dict) -> list[dict]:
    """The cells of an optimizer grid: optimizer x lr x rank x [hyper] x seed. ``rank``
    and each ``[hyper]`` key multiply only the optimizers that take them (the others get
    one cell); a key that no listed optimizer takes is an error."""
    import math

    from qworkbench.experiments import optim_bench as bench

    extra = sorted(set(config) - set(OPTIM_KEYS))
    if extra:
        raise ValueError(f"keys {extra} do not apply to kind = \"optim\"; it reads: "
                         f"{', '.join(OPTIM_KEYS)}")  # fmt: skip
    optimizers = [str(v) for v in _grid("optimizer", config.get("optimizer", ["adamw"]))]
    lrs = _grid("lr", config.get("lr", [3e-3]))
    for lr in lrs:
        if isinstance(lr, bool) or not isinstance(lr, int | float) or not math.isfinite(lr) \
                or lr <= 0:  # fmt: skip
            raise ValueError(f"lr must be positive and finite, got {lr!r}")
        if lr > _FLOAT32_MAX:  # torch keeps lr in float32 tensors on some paths
            raise ValueError(f"lr must be at most float32's largest value "
                             f"({_FLOAT32_MAX:.4g}), got {lr!r}")  # fmt: skip
    lrs = [float(lr) for lr in lrs]
    seed_list = _seed_list(config.get("seeds", 1))
    settings = {"steps": 200, "width": 128, "layers": 2, "heads": 4, "context": 64, "batch": 16,
                "eval_every": 50}  # fmt: skip
    for name, default in settings.items():
        settings[name] = positive_int(name, config.get(name, default))
    device = config.get("device", "cpu")
    bench.TrainConfig(**settings, device=device)  # checks width/heads and the device
    if device != "cpu":
        settings["device"] = device
    if config.get("threads") is not None:
        settings["threads"] = positive_int("threads", config["threads"])
    try:
        corpus = bench.resolve_corpus(config.get("corpus"))
    except FileNotFoundError as exc:
        raise ValueError(f"corpus: {exc}") from None
    # the file by its resolved path and its contents: another spelling of the same path
    # gives the same cells, an edited corpus new ones (its cells run again)
    settings["corpus"] = str(corpus.resolve())
    settings["corpus_sha256"] = file_sha256(corpus)
    for name in optimizers:  # unknown names list the available ones
        bench.check_optimizer(name, lrs[0])
    ranks = [None] if config.get("rank") is None else _grid("rank", config["rank"])
    for rank in ranks:
        if rank is not None:
            positive_int("rank", rank)
            if rank > settings["width"]:
                raise ValueError(f"rank {rank} is larger than the model width "
                                 f"{settings['width']}")  # fmt: skip
    if ranks != [None] and not any(bench.takes_rank(o) for o in optimizers):
        raise ValueError(f"rank: none of {optimizers} has a rank")
    hyper = config.get("hyper") or {}
    if not isinstance(hyper, dict):
        raise ValueError(f"hyper must be a table of hyper-parameters, got {hyper!r}")
    for key in hyper:
        if key in ("lr", "rank"):
            raise ValueError(f"[hyper] {key}: give {key} as the top-level key ({key} = ...), "
                             "not inside [hyper]")  # fmt: skip
        if not any(bench.accepts(o, key) for o in optimizers):
            raise ValueError(f"hyper-parameter {key!r} is taken by none of {optimizers}")
    cells = []
    for optimizer in optimizers:
        keys = [k for k in hyper if bench.accepts(optimizer, k)]
        points = [dict(zip(keys, values))
                  for values in itertools.product(*(_grid(k, hyper[k]) for k in keys))]  # fmt: skip
        own_ranks = ranks if bench.takes_rank(optimizer) else [None]
        if own_ranks == [None] and bench.takes_rank(optimizer):
            own_ranks = [bench.default_rank(settings["width"])]
        for point in points:
            for rank in own_ranks:
                for lr in lrs:
                    try:
                        bench.check_optimizer(optimizer, lr, rank, point)
                    except ValueError:
                        raise
                    except Exception:  # noqa: BLE001 - e.g. IndexError: reported just below
                        pass
                    _probe_step(optimizer, lr, rank, point)
        for lr, rank, point, seed in itertools.product(lrs, own_ranks, points, seed_list):
            cell = {"kind": "optim", "optimizer": optimizer, "lr": lr}
            if rank is not None:
                cell["rank"] = rank
            if point:
                cell["hyper"] = point
            cells.append({**cell, "seed": int(seed), **settings})
    return cells
