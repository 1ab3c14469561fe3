"""The optimizer benchmark's reusable part: a small LLaMA-style character model trained
on a text corpus (Tiny Shakespeare by default) with any optimizer of
:mod:`qworkbench.optim`, or a reference package's, from the same initialisation, data
order and seed.

Used by ``qwb bench optim``, by optimizer sweeps (``qwb sweep`` with ``kind = "optim"``)
and by ``benchmarks/optim.py``. Nothing is downloaded: the corpus is a local file
(``corpus=``; by default ``tinyshakespeare.txt`` in the ``shared/data`` folder beside
the source checkout), and a missing one raises :class:`FileNotFoundError` saying so.
"""

from __future__ import annotations

import hashlib
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

__all__ = [
    "SHA256",
    "DEFAULT_CORPUS",
    "Corpus",
    "TrainConfig",
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

#: sha256 of Tiny Shakespeare (Karpathy's char-rnn input.txt, 1,115,394 characters)
SHA256 = "86c4e6aa9db7c042ec79f339dcb96d42b0075e16b8fc2e86bf0ca57e2dc565ed"
#: where a source checkout finds the corpus: ``../shared/data`` beside the repository
DEFAULT_CORPUS = Path(__file__).resolve().parents[3] / "shared" / "data" / "tinyshakespeare.txt"


# -- data ---------------------------------------------------------------------------------
@dataclass(frozen=True)
class Corpus:
    """A character corpus: the first 90% of the tokens train, the last 10% validate
    (as nanoGPT). ``vocab`` is the number of distinct characters."""

    train: torch.Tensor
    val: torch.Tensor
    vocab: int
    name: str
    sha256: str

    @property
    def is_tiny_shakespeare(self) -> bool:
        return self.sha256 == SHA256


_CORPORA: dict[tuple, Corpus] = {}


def resolve_corpus(path=None) -> Path:
    """The corpus file: ``path``, or :data:`DEFAULT_CORPUS`; a clear error when absent."""
    if path is None:
        if not DEFAULT_CORPUS.exists():
            raise FileNotFoundError(
                f"no corpus: Tiny Shakespeare is not at {DEFAULT_CORPUS} (qworkbench does not "
                'download it); pass a text file with --corpus PATH (corpus = "PATH" in a '
                "sweep config)"
            )
        return DEFAULT_CORPUS
    path = Path(path)
    if not path.is_file():
        raise FileNotFoundError(f"corpus {str(path)!r} is not a file")
    return path


def load_corpus(path=None, max_bytes: int = 50_000_000) -> Corpus:
    """Read a UTF-8 text file as a character corpus (cached per process)."""
    path = resolve_corpus(path)
    stat = path.stat()
    cache_key = (str(path.resolve()), stat.st_mtime_ns, stat.st_size)
    if cache_key in _CORPORA:
        return _CORPORA[cache_key]
    if stat.st_size > max_bytes:
        raise ValueError(f"{path} has {stat.st_size:,} bytes; the benchmark reads at most "
                         f"{max_bytes:,}")  # fmt: skip
    raw = path.read_bytes()
    try:
        text = raw.decode("utf-8")
    except UnicodeDecodeError as exc:
        raise ValueError(f"corpus {path} is not UTF-8 text ({exc.reason})") from None
    vocab = sorted(set(text))
    index = {c: i for i, c in enumerate(vocab)}
    data = torch.tensor([index[c] for c in text], dtype=torch.long)
    split = int(0.9 * len(data))
    corpus = Corpus(data[:split], data[split:], len(vocab), path.name,
                    hashlib.sha256(raw).hexdigest())  # fmt: skip
    _CORPORA[cache_key] = corpus
    return corpus


def batch(data: torch.Tensor, context: int, size: int, generator: torch.Generator):
    """``size`` random windows of ``context`` tokens and their next-token targets."""
    starts = torch.randint(0, len(data) - context - 1, (size,), generator=generator)
    x = torch.stack([data[s : s + context] for s in starts])
    y = torch.stack([data[s + 1 : s + context + 1] for s in starts])
    return x, y


# -- model --------------------------------------------------------------------------------
class RMSNorm(torch.nn.Module):
    def __init__(self, dim):
        super().__init__()
        self.weight = torch.nn.Parameter(torch.ones(dim))

    def forward(self, x):
        return x * torch.rsqrt(x.pow(2).mean(-1, keepdim=True) + 1e-6) * self.weight


def rotary(x, base=10_000.0):
    """Rotary position embedding on (batch, heads, time, head_dim)."""
    t, d = x.shape[-2], x.shape[-1]
    freqs = base ** (-torch.arange(0, d, 2, dtype=torch.float32, device=x.device) / d)
    angles = torch.arange(t, dtype=torch.float32, device=x.device)[:, None] * freqs[None, :]
    cos, sin = angles.cos(), angles.sin()
    x1, x2 = x[..., 0::2], x[..., 1::2]
    return torch.stack([x1 * cos - x2 * sin, x1 * sin + x2 * cos], dim=-1).flatten(-2)


class Block(torch.nn.Module):
    def __init__(self, width, heads):
        super().__init__()
        self.heads = heads
        self.norm1, self.norm2 = RMSNorm(width), RMSNorm(width)
        self.qkv = torch.nn.Linear(width, 3 * width, bias=False)
        self.proj = torch.nn.Linear(width, width, bias=False)
        hidden = int(8 * width / 3)
        self.gate = torch.nn.Linear(width, hidden, bias=False)
        self.up = torch.nn.Linear(width, hidden, bias=False)
        self.down = torch.nn.Linear(hidden, width, bias=False)

    def forward(self, x):
        b, t, c = x.shape
        q, k, v = self.qkv(self.norm1(x)).split(c, dim=-1)
        q, k, v = (z.view(b, t, self.heads, c // self.heads).transpose(1, 2) for z in (q, k, v))
        y = F.scaled_dot_product_attention(rotary(q), rotary(k), v, is_causal=True)
        x = x + self.proj(y.transpose(1, 2).reshape(b, t, c))
        h = self.norm2(x)
        return x + self.down(F.silu(self.gate(h)) * self.up(h))


class Decoder(torch.nn.Module):
    """LLaMA-style: token embedding, pre-norm blocks (RoPE attention, SwiGLU), RMSNorm,
    untied output head."""

    def __init__(self, vocab, width, layers, heads):
        super().__init__()
        self.embed = torch.nn.Embedding(vocab, width)
        self.blocks = torch.nn.ModuleList(Block(width, heads) for _ in range(layers))
        self.norm = RMSNorm(width)
        self.head = torch.nn.Linear(width, vocab, bias=False)

    def forward(self, idx):
        x = self.embed(idx)
        for block in self.blocks:
            x = block(x)
        return self.head(self.norm(x))


def hidden_and_rest(model):
    """2-D weights of the blocks (the low-rank/special methods' targets), and the rest."""
    hidden = [p for n, p in model.named_parameters() if n.startswith("blocks") and p.ndim == 2]
    ids = {id(p) for p in hidden}
    return hidden, [p for p in model.parameters() if id(p) not in ids]


@dataclass(frozen=True)
class TrainConfig:
    """Model size, data and schedule of one training run."""

    width: int = 128
    layers: int = 2
    heads: int = 4
    context: int = 64
    batch: int = 16
    steps: int = 300
    eval_every: int = 50
    eval_batches: int = 8
    seed: int = 0
    device: str = "cpu"

    def __post_init__(self):
        for name in ("width", "layers", "heads", "context", "batch", "steps", "eval_every",
                     "eval_batches"):  # fmt: skip
            value = getattr(self, name)
            if isinstance(value, bool) or not isinstance(value, int) or value < 1:
                raise ValueError(f"{name} must be a positive integer, got {value!r}")
        if self.width % self.heads or (self.width // self.heads) % 2:
            raise ValueError(f"width ({self.width}) must be an even multiple of heads "
                             f"({self.heads}) per head (rotary embeddings)")  # fmt: skip
        if isinstance(self.seed, bool) or not isinstance(self.seed, int):
            raise ValueError(f"seed must be an integer, got {self.seed!r}")
        if self.device not in ("cpu", "cuda"):
            raise ValueError(f"device must be 'cpu' or 'cuda', got {self.device!r}")


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


def format_table(rows: list[dict]) -> str:
    """Markdown: loss, state memory and time per step, the last two also relative to
    the baseline row (AdamW); sorted by validation loss, diverged runs last."""
    base = rows[0]["baseline"] if rows else "adamw"
    lines = [f"| optimizer | val loss | vs {base} | train loss | state (MiB) | state vs {base} "
             f"| step (ms) | step vs {base} | optimizer step (ms) |",
             "|---|---|---|---|---|---|---|---|---|"]  # fmt: skip
    for r in sorted(rows, key=lambda r: (r["val_loss"] is None, r["val_loss"] or 0.0)):
        lines.append(
            f"| {r['optimizer']} | {_fmt(r['val_loss'], '.4f')} | "
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

    from qworkbench._io import atomic_write

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
