"""The optimizer benchmark's model and data: a small LLaMA-style character model
(RMSNorm, rotary attention, SwiGLU, untied head) and a character corpus (Tiny
Shakespeare by default), with the run settings :class:`TrainConfig`. The training loop
and the optimizer set-ups are :mod:`qworkbench.experiments.optim_bench`.
"""

from __future__ import annotations

import hashlib
from dataclasses import dataclass
from pathlib import Path

import torch
import torch.nn.functional as F

from qworkbench.data import path as _shipped

__all__ = [
    "SHA256",
    "DEFAULT_CORPUS",
    "Corpus",
    "TrainConfig",
    "resolve_corpus",
    "load_corpus",
    "batch",
    "Decoder",
    "hidden_and_rest",
]

#: sha256 of Tiny Shakespeare (Karpathy's char-rnn input.txt, 1,115,394 characters)
SHA256 = "86c4e6aa9db7c042ec79f339dcb96d42b0075e16b8fc2e86bf0ca57e2dc565ed"
#: the corpus shipped with the package (:mod:`qworkbench.data`)
DEFAULT_CORPUS = _shipped("tinyshakespeare.txt")


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
