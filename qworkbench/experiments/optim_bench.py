"""The optimizer benchmark's reusable part: a small LLaMA-style character model
(:mod:`qworkbench.experiments.optim_model`, whose names this module also gives) trained
on a text corpus (Tiny Shakespeare by default) with any optimizer of
:mod:`qworkbench.optim`, or a reference package's, from the same initialisation, data
order and seed.

Used by ``qwb bench optim``, by optimizer sweeps (``qwb sweep`` with ``kind = "optim"``)
and by ``benchmarks/optim.py``. Nothing is downloaded: the corpus is a local file
(``corpus=``; by default ``tinyshakespeare.txt`` shipped in :mod:`qworkbench.data`),
and a missing one raises :class:`FileNotFoundError` saying so.
"""

from __future__ import annotations

import inspect
import math
import statistics
import time
import warnings
from collections.abc import Callable
from dataclasses import asdict, dataclass
from pathlib import Path

import torch
import torch.nn.functional as F

from qworkbench import optim
from qworkbench.experiments.optim_model import (
    DEFAULT_CORPUS,
    SHA256,
    Corpus,
    Decoder,
    TrainConfig,
    batch,
    hidden_and_rest,
    load_corpus,
    resolve_corpus,
)

__all__ = [
    "SHA256",
    "DEFAULT_CORPUS",
    "Corpus",
    "TrainConfig",
    "resolve_corpus",
    "load_corpus",
    "Decoder",
    "trainable",
    "takes_rank",
    "check_optimizer",
    "build_optimizer",
    "CASES",
    "DEFAULT_CASES",
    "available_cases",
    "train",
    "run_cell",
    "benchmark",
    "format_table",
    "plot_curves",
]


# -- optimizers ---------------------------------------------------------------------------
#: optimizers that project (or scale) the blocks' weight matrices: the other parameters
#: go to a group with the flag off, as in the papers
_PROJECTED = {"galore_adamw": "galore", "q_galore_adamw": "galore", "apollo": "apollo",
              "apollo_mini": "apollo"}  # fmt: skip
#: gradient-free methods step on a closure of the loss: not for network training here
_GRADIENT_FREE = ("spsa", "adam_spsa")
#: the projection refresh of the projected methods, unless given (the classes' default
#: of 200 would never refresh in a short run)
DEFAULT_PROJ_GAP = 50


def trainable() -> list[str]:
    """Names of :func:`qworkbench.optim.available` that can train the model."""
    return [n for n in optim.available() if n not in _GRADIENT_FREE]


def _accepted(name: str) -> set[str]:
    """Keyword arguments the optimizer class of ``name`` takes."""
    names: set[str] = set()
    classes = [optim.OPTIMIZERS[name][0]]
    while classes:
        cls = classes.pop()
        params = inspect.signature(cls.__init__).parameters
        names |= {k for k, p in params.items() if p.kind is p.POSITIONAL_OR_KEYWORD
                  or p.kind is p.KEYWORD_ONLY} - {"self", "params"}  # fmt: skip
        if any(p.kind is p.VAR_KEYWORD for p in params.values()):
            classes.extend(b for b in cls.__bases__ if b is not torch.optim.Optimizer)
    return names - {"galore", "apollo", "muon", "last_layer"}


def takes_rank(name: str) -> bool:
    """Whether optimizer ``name`` has a rank (apollo_mini's is fixed at 1)."""
    return name != "apollo_mini" and "rank" in _accepted(name)


def accepts(name: str, key: str) -> bool:
    """Whether optimizer ``name`` takes the hyper-parameter ``key``."""
    return key in _accepted(name)


def default_rank(width: int) -> int:
    """width / 4, at least 4, at most the width."""
    return min(width, max(4, width // 4))


def check_optimizer(name: str, lr, rank=None, hyper: dict | None = None) -> None:
    """Raise ``ValueError`` naming the bad value if ``name`` with these settings cannot
    train the model: an unknown name (the message lists the available ones), a
    gradient-free one, a non-finite or non-positive lr, a bad rank, or a hyper-parameter
    the optimizer does not take or rejects."""
    if name in _GRADIENT_FREE:
        raise ValueError(f"optimizer {name!r} is gradient-free (steps on a loss closure); "
                         f"network training takes: {', '.join(trainable())}")  # fmt: skip
    if name not in optim.OPTIMIZERS:
        raise ValueError(f"unknown optimizer {name!r}; available: {', '.join(trainable())}")
    if isinstance(lr, bool) or not isinstance(lr, int | float) or not math.isfinite(lr) or lr <= 0:
        raise ValueError(f"lr must be a positive finite number, got {lr!r}")
    if rank is not None:
        if not takes_rank(name):
            raise ValueError(f"optimizer {name!r} has no rank")
        if isinstance(rank, bool) or not isinstance(rank, int) or rank < 1:
            raise ValueError(f"rank must be a positive integer, got {rank!r}")
    for key, value in (hyper or {}).items():
        if not accepts(name, key):
            raise ValueError(f"optimizer {name!r} takes no hyper-parameter {key!r}; it takes "
                             f"{', '.join(sorted(_accepted(name)))}")  # fmt: skip
        if isinstance(value, float) and not math.isfinite(value):
            raise ValueError(f"hyper-parameter {key} must be finite, got {value!r}")
    # the classes check their own values: build one on a small matrix
    probe = torch.nn.Linear(8, 8, bias=False)
    extra = {"rank": rank} if rank is not None else {}
    try:
        with warnings.catch_warnings():
            warnings.simplefilter("ignore")
            optim.create(name, probe.parameters(), lr=float(lr), **extra, **(hyper or {}))
    except (TypeError, ValueError) as exc:
        raise ValueError(f"optimizer {name!r} rejects {({**extra, **(hyper or {})})}: "
                         f"{exc}") from None  # fmt: skip


def build_optimizer(name: str, model: torch.nn.Module, lr: float, rank: int | None = None,
                    **hyper) -> torch.optim.Optimizer:  # fmt: skip
    """Optimizer ``name`` of :mod:`qworkbench.optim` for a :class:`Decoder`: projected
    methods (GaLore, Q-GaLore, APOLLO, APOLLO-Mini) act on the blocks' weight matrices
    (rank ``rank``, default width/4; a new projection every 50 steps unless
    ``update_proj_gap`` is given) and step the rest unprojected; Muon gets
    :func:`~qworkbench.optim.muon_param_groups`; the others take every parameter.
    ``hyper`` goes to the optimizer (every group)."""
    if rank is None and takes_rank(name):
        rank = default_rank(model.embed.embedding_dim)
    extra = {"rank": rank} if rank is not None else {}
    if name in _PROJECTED:
        hidden, rest = hidden_and_rest(model)
        groups = [{"params": rest, _PROJECTED[name]: False}, {"params": hidden}]
        hyper = {"update_proj_gap": DEFAULT_PROJ_GAP, **hyper}
        return optim.create(name, groups, lr=lr, **extra, **hyper)
    if name == "muon":
        return optim.create(name, optim.muon_param_groups(model), lr=lr, **hyper)
    return optim.create(name, model.parameters(), lr=lr, **extra, **hyper)


# -- benchmark cases: ours, variants and the reference packages ---------------------------
def _ours(name, lr_factor=1.0, **hyper):
    return lambda model, lr, rank: build_optimizer(
        name, model, lr * lr_factor, rank if takes_rank(name) else None, **hyper
    )


def _split(model, extra_hidden, extra_rest=None):
    hidden, rest = hidden_and_rest(model)
    return [{"params": rest, **(extra_rest or {})}, {"params": hidden, **extra_hidden}]


def _q_galore_int8(model, lr, rank):
    """Q-GaLore as the paper runs it: INT8 Linear weights, stochastically rounded."""
    opt = build_optimizer("q_galore_adamw", model, lr, rank)
    optim.quantize_weights(model, bits=8, optimizer=opt)
    return opt


def _galore_torch(model, lr, rank):
    import galore_torch

    return galore_torch.GaLoreAdamW(_split(model, {"rank": rank, "update_proj_gap":
                                    DEFAULT_PROJ_GAP, "scale": 0.25, "proj_type": "std"}),
                                    lr=lr)  # fmt: skip


def _q_galore_torch(model, lr, rank):
    """galore-torch's AdamW with q-galore-torch's projector (INT4, adaptive gap) put into
    each matrix's state (q-galore-torch 1.0's own optimizer class passes bitsandbytes
    0.50 its arguments in an older order and does not step on CPU)."""
    from q_galore_torch.q_galore_projector import GaLoreProjector

    opt = _galore_torch(model, lr, rank)
    for p in opt.param_groups[1]["params"]:
        opt.state[p]["projector"] = GaLoreProjector(
            rank, update_proj_gap=DEFAULT_PROJ_GAP, scale=0.25, proj_type="std", quant=True,
            group_size=256, n_bit=4, cos_threshold=0.4, gamma_proj=2, queue_size=5)  # fmt: skip
    return opt


def _apollo_torch(model, lr, rank):
    import apollo_torch

    return apollo_torch.APOLLOAdamW(_split(model, {
        "rank": rank, "update_proj_gap": DEFAULT_PROJ_GAP, "scale": 1.0, "proj": "random",
        "proj_type": "std", "scale_type": "channel"}), lr=lr)  # fmt: skip


def _bnb_adam8bit(model, lr, rank):
    import bitsandbytes as bnb

    return bnb.optim.Adam8bit(model.parameters(), lr=lr)


@dataclass(frozen=True)
class Case:
    """One benchmark row: ``build(model, lr, rank)`` -> optimizer; ``label`` as the
    benchmark script prints it; ``requires`` the modules it imports."""

    build: Callable
    label: str
    requires: tuple[str, ...] = ()


#: benchmark rows by id: every trainable optimizer of ours (lr 3x for SCALE and 10x for
#: Subset-Norm, AdamW without weight decay), variants, and the reference packages
CASES: dict[str, Case] = {
    "adamw": Case(_ours("adamw", weight_decay=0.0), "qworkbench adamw"),
    "galore_adamw": Case(_ours("galore_adamw"), "qworkbench galore_adamw"),
    "galore_adamw_randomized": Case(_ours("galore_adamw", svd="randomized"),
                                    "qworkbench galore_adamw (randomized SVD)"),
    "apollo": Case(_ours("apollo"), "qworkbench apollo"),
    "apollo_mini": Case(_ours("apollo_mini"), "qworkbench apollo_mini"),
    "q_galore_adamw": Case(_ours("q_galore_adamw"), "qworkbench q_galore_adamw"),
    "q_galore_adamw_fp32_moments": Case(
        lambda m, lr, rank: optim.create("q_galore_adamw", _split(m, {
            "rank": rank, "update_proj_gap": DEFAULT_PROJ_GAP, "moment_bits": 32},
            {"galore": False}), lr=lr), "qworkbench q_galore_adamw (32-bit moments)"),
    "q_galore_adamw_int8_weights": Case(_q_galore_int8,
                                        "qworkbench q_galore_adamw + INT8 weights"),
    "adam8bit": Case(_ours("adam8bit"), "qworkbench adam8bit"),
    "adam4bit": Case(_ours("adam4bit"), "qworkbench adam4bit"),
    "muon": Case(_ours("muon"), "qworkbench muon"),
    "scale": Case(_ours("scale", lr_factor=3.0), "qworkbench scale"),
    "subset_norm": Case(_ours("subset_norm", lr_factor=10.0), "qworkbench subset_norm"),
    "torch_adamw": Case(lambda m, lr, rank: torch.optim.AdamW(m.parameters(), lr=lr,
                                                              weight_decay=0.0), "torch AdamW"),
    "galore_torch": Case(_galore_torch, "galore-torch GaLoreAdamW", ("galore_torch",)),
    "q_galore_torch": Case(_q_galore_torch, "q-galore-torch projector in GaLoreAdamW",
                           ("galore_torch", "q_galore_torch")),
    "apollo_torch": Case(_apollo_torch, "apollo-torch APOLLOAdamW", ("apollo_torch",)),
    "bnb_adam8bit": Case(_bnb_adam8bit, "bitsandbytes Adam8bit", ("bitsandbytes",)),
}  # fmt: skip

#: what ``qwb bench optim`` runs by default: each of our trainable methods once
DEFAULT_CASES = ("adamw", "galore_adamw", "q_galore_adamw", "apollo", "apollo_mini",
                 "adam8bit", "adam4bit", "muon", "scale", "subset_norm")  # fmt: skip
#: the reference packages' rows
REFERENCE_CASES = ("torch_adamw", "galore_torch", "q_galore_torch", "apollo_torch",
                   "bnb_adam8bit")  # fmt: skip


def available_cases() -> list[str]:
    """Case ids whose packages are installed."""
    import importlib.util

    return [k for k, c in CASES.items()
            if all(importlib.util.find_spec(m) is not None for m in c.requires)]  # fmt: skip


# -- training -----------------------------------------------------------------------------
@torch.no_grad()
def evaluate(model, data, config: TrainConfig, seed: int = 1234) -> float:
    """Mean loss over ``config.eval_batches`` fixed batches of ``data``."""
    g = torch.Generator().manual_seed(seed)
    losses = []
    for _ in range(config.eval_batches):
        x, y = batch(data, config.context, config.batch, g)
        x, y = x.to(config.device), y.to(config.device)
        losses.append(F.cross_entropy(model(x).flatten(0, 1), y.flatten()).item())
    return sum(losses) / len(losses)


def train(make_optimizer: Callable, config: TrainConfig, corpus: Corpus,
          progress: Callable | None = None) -> dict:  # fmt: skip
    """Train a fresh :class:`Decoder` (seeded by ``config.seed``) with
    ``make_optimizer(model)``; the metrics.

    Loss is evaluated on fixed batches of both splits after step 0, every
    ``eval_every`` steps and after the last step (``curve``: [step, train, val]).
    Times are medians over steps (forward, backward and optimizer step; and the
    optimizer step alone). ``peak_memory_bytes`` is CUDA's peak allocation (None on
    CPU). A non-finite loss stops the run: ``diverged_at`` is its step and the final
    losses are None. ``progress(step, train_loss, val_loss)`` is called at every
    evaluation."""
    for data in (corpus.train, corpus.val):
        if len(data) <= config.context + 1:
            raise ValueError(f"corpus {corpus.name} is too small for context {config.context} "
                             f"({len(data)} tokens in a split)")  # fmt: skip
    cuda = config.device == "cuda"
    if cuda and not torch.cuda.is_available():
        raise ValueError("device 'cuda' asked for, but torch sees no CUDA device")
    torch.manual_seed(config.seed)
    model = Decoder(corpus.vocab, config.width, config.layers, config.heads).to(config.device)
    if cuda:
        torch.cuda.reset_peak_memory_stats()
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        opt = make_optimizer(model)
    g = torch.Generator().manual_seed(config.seed)
    curve, step_times, opt_times, diverged = [], [], [], None
    start_all = time.perf_counter()
    for step in range(config.steps):
        x, y = batch(corpus.train, config.context, config.batch, g)
        x, y = x.to(config.device), y.to(config.device)
        start = time.perf_counter()
        loss = F.cross_entropy(model(x).flatten(0, 1), y.flatten())
        opt.zero_grad(set_to_none=True)
        loss.backward()
        if cuda:
            torch.cuda.synchronize()
        t_opt = time.perf_counter()
        opt.step()
        if cuda:
            torch.cuda.synchronize()
        end = time.perf_counter()
        step_times.append(end - start)
        opt_times.append(end - t_opt)
        if not math.isfinite(loss.item()):
            diverged = step
            break
        if step % config.eval_every == 0 or step == config.steps - 1:
            point = [step, evaluate(model, corpus.train, config, seed=4321),
                     evaluate(model, corpus.val, config)]  # fmt: skip
            if not all(math.isfinite(v) for v in point[1:]):
                diverged = step
                break
            curve.append(point)
            if progress is not None:
                progress(*point)
    finite = curve and diverged is None
    return {
        "final_train_loss": curve[-1][1] if finite else None,
        "best_train_loss": min(p[1] for p in curve) if curve else None,
        "final_val_loss": curve[-1][2] if finite else None,
        "best_val_loss": min(p[2] for p in curve) if curve else None,
        "diverged_at": diverged,
        "state_bytes": optim.state_bytes(opt),
        "param_bytes": sum(p.numel() * p.element_size() for p in model.parameters()),
        "peak_memory_bytes": torch.cuda.max_memory_allocated() if cuda else None,
        "seconds_per_step": statistics.median(step_times),
        "optimizer_seconds_per_step": statistics.median(opt_times),
        "seconds": time.perf_counter() - start_all,
        "curve": curve,
        "corpus": corpus.name,
        "corpus_sha256": corpus.sha256,
    }


#: the settings of a sweep cell that go to :class:`TrainConfig`
CELL_SETTINGS = ("width", "layers", "heads", "context", "batch", "steps", "eval_every", "seed",
                 "device")  # fmt: skip


def run_cell(cell: dict) -> dict:
    """Train one optimizer-sweep cell (``kind = "optim"``); its metrics. Runs on
    ``cell["threads"]`` torch threads (default 1: sweeps run a cell per core)."""
    config = TrainConfig(**{k: cell[k] for k in CELL_SETTINGS if k in cell})
    corpus = load_corpus(cell.get("corpus"))
    threads = torch.get_num_threads()
    torch.set_num_threads(int(cell.get("threads", 1)))
    try:
        return train(lambda model: build_optimizer(cell["optimizer"], model, cell["lr"],
                                                   cell.get("rank"), **cell.get("hyper", {})),
                     config, corpus)  # fmt: skip
    finally:
        torch.set_num_threads(threads)


def benchmark(cases: list[str], config: TrainConfig, corpus: Corpus, *, lr: float = 3e-3,
              rank: int | None = None, seeds=(0,), progress: Callable | None = None,
              ) -> list[dict]:  # fmt: skip
    """Train every case (ids of :data:`CASES`) for every seed; one row per case, metrics
    averaged over seeds (``val_loss_per_seed`` keeps them), state memory and time per
    step also relative to the ``adamw`` (else ``torch_adamw``, else first) row.
    ``progress(case, seed, step, train_loss, val_loss)`` at every evaluation."""
    unknown = [c for c in cases if c not in CASES]
    if unknown:
        raise ValueError(f"unknown optimizer {unknown[0]!r}; available: "
                         f"{', '.join(available_cases())}")  # fmt: skip
    missing = [c for c in cases if c not in available_cases()]
    if missing:
        raise ValueError(f"optimizer {missing[0]!r} needs {', '.join(CASES[missing[0]].requires)}"
                         " (not installed)")  # fmt: skip
    if not math.isfinite(lr) or lr <= 0:
        raise ValueError(f"lr must be a positive finite number, got {lr!r}")
    rank = default_rank(config.width) if rank is None else rank
    if not 1 <= rank <= config.width:
        raise ValueError(f"rank must be a positive integer at most the width {config.width}, "
                         f"got {rank!r}")  # fmt: skip
    # warm-up (untimed): the first training in a process pays one-time costs (thread
    # pools, kernels) that would otherwise land on the first optimizer's step times
    warm = TrainConfig(**{**asdict(config), "steps": 2, "eval_batches": 1})
    train(lambda m: torch.optim.AdamW(m.parameters(), lr=lr), warm, corpus)
    rows = []
    for case in cases:
        runs = []
        for seed in seeds:
            run_config = TrainConfig(**{**asdict(config), "seed": int(seed)})

            def report(step, train_loss, val_loss, case=case, seed=seed):
                if progress is not None:
                    progress(case, seed, step, train_loss, val_loss)

            runs.append(train(lambda m, case=case: CASES[case].build(m, lr, rank), run_config,
                              corpus, progress=report))  # fmt: skip
        rows.append(_summarize(case, runs))
    base = next((r for name in ("adamw", "torch_adamw") for r in rows if r["optimizer"] == name),
                rows[0] if rows else None)  # fmt: skip
    for row in rows:
        row["baseline"] = base["optimizer"]
        row["state_vs_baseline"] = row["state_bytes"] / base["state_bytes"] if base[
            "state_bytes"] else None  # fmt: skip
        row["step_vs_baseline"] = row["step_ms"] / base["step_ms"]
        row["val_loss_vs_baseline"] = (
            row["val_loss"] / base["val_loss"] - 1
            if row["val_loss"] is not None and base["val_loss"] else None)  # fmt: skip
    return rows


def preflight(
    cases: list[str],
    config: TrainConfig,
    corpus: Corpus,
    *,
    lr: float = 3e-3,
    rank: int | None = None,
) -> dict[str, str]:
    """One training step of every case on this model: ``{case: why it cannot train}``
    for those that fail (e.g. q-galore-torch's projector needs its matrices' sizes in
    multiples of 256), so a run stops before it trains, not after the other cases."""
    rank = default_rank(config.width) if rank is None else rank
    one = TrainConfig(**{**asdict(config), "steps": 1, "eval_batches": 1, "eval_every": 1})
    problems = {}
    for case in cases:
        try:
            train(lambda m, case=case: CASES[case].build(m, lr, rank), one, corpus)
        except Exception as exc:  # a reference package's assertion or error, reported
            problems[case] = f"{type(exc).__name__}: {exc}".strip().rstrip(":")
    return problems


def _mean(values):
    values = [v for v in values if v is not None]
    return sum(values) / len(values) if values else None


def _summarize(case: str, runs: list[dict]) -> dict:
    diverged = [r["diverged_at"] for r in runs if r["diverged_at"] is not None]
    return {
        "optimizer": case,
        "label": CASES[case].label,
        "val_loss": None if diverged else _mean(r["final_val_loss"] for r in runs),
        "best_val_loss": _mean(r["best_val_loss"] for r in runs),
        "train_loss": None if diverged else _mean(r["final_train_loss"] for r in runs),
        "val_loss_per_seed": [r["final_val_loss"] for r in runs],
        "diverged_at": diverged or None,
        "state_bytes": runs[0]["state_bytes"],
        "param_bytes": runs[0]["param_bytes"],
        "peak_memory_bytes": runs[0]["peak_memory_bytes"],
        "step_ms": statistics.median(r["seconds_per_step"] for r in runs) * 1e3,
        "optimizer_step_ms": statistics.median(r["optimizer_seconds_per_step"] for r in runs)
        * 1e3,  # fmt: skip
        "curve": runs[0]["curve"],
    }


def _fmt(value, spec, suffix=""):
    return "-" if value is None else f"{value:{spec}}{suffix}"


def _val_loss_cell(row: dict) -> str:
    """The validation loss, or where the run diverged (a non-finite loss)."""
    diverged = row.get("diverged_at")
    if not diverged:
        return _fmt(row["val_loss"], ".4f")
    seeds = len(row.get("val_loss_per_seed") or diverged)
    of = f" ({len(diverged)}/{seeds} seeds)" if seeds > 1 else ""
    return f"diverged at step {min(diverged)}{of}"


def format_table(rows: list[dict]) -> str:
    """Markdown: loss, state memory and time per step, the last two also relative to
    the baseline row (AdamW); sorted by validation loss, diverged runs last (with the
    step where the loss stopped being finite)."""
    base = rows[0]["baseline"] if rows else "adamw"
    lines = [f"| optimizer | val loss | vs {base} | train loss | state (MiB) | state vs {base} "
             f"| step (ms) | step vs {base} | optimizer step (ms) |",
             "|---|---|---|---|---|---|---|---|---|"]  # fmt: skip
    for r in sorted(rows, key=lambda r: (r["val_loss"] is None, r["val_loss"] or 0.0)):
        lines.append(
            f"| {r['optimizer']} | {_val_loss_cell(r)} | "
            f"{_fmt(None if r['val_loss_vs_baseline'] is None else 100 * r['val_loss_vs_baseline'], '+.1f', '%')} | "  # noqa: E501
            f"{_fmt(r['train_loss'], '.4f')} | {r['state_bytes'] / 2**20:.2f} | "
            f"{_fmt(r['state_vs_baseline'], '.3f', 'x')} | {r['step_ms']:.1f} | "
            f"{r['step_vs_baseline']:.2f}x | {r['optimizer_step_ms']:.2f} |"
        )
    return "\n".join(lines) + "\n"


def plot_curves(rows: list[dict], path, label: str = "optimizer") -> Path:
    """Validation loss against step for every row (``row["curve"]``), as a PNG written
    atomically."""
    import io

    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    from qworkbench.utils import atomic_write

    fig, ax = plt.subplots(figsize=(8, 5))
    for r in rows:
        if r["curve"]:
            ax.plot([p[0] for p in r["curve"]], [p[-1] for p in r["curve"]], label=r[label])
    ax.set_xlabel("step")
    ax.set_ylabel("validation loss")
    ax.legend(fontsize=7)
    fig.tight_layout()
    buffer = io.BytesIO()
    fig.savefig(buffer, format="png", dpi=110)
    plt.close(fig)
    return atomic_write(path, buffer.getvalue())
