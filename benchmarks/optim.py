"""Optimizer benchmark: a small LLaMA-style character model on Tiny Shakespeare, every
optimizer of qworkbench.optim beside torch's AdamW and the reference packages
(galore-torch, apollo-torch, bitsandbytes), in one process, same model, data and seed.

    python benchmarks/optim.py --corpus ../shared/data/tinyshakespeare.txt
    python benchmarks/optim.py --layers 4 --width 256 --steps 2000   # the paper-sized run

Reports final validation loss, optimizer-state bytes and step times; writes
benchmarks/results/optim.json and a loss-curve plot. Nothing is downloaded.
"""

from __future__ import annotations

import argparse
import hashlib
import json
import math
import os
import statistics
import time
import warnings
from pathlib import Path

import torch
import torch.nn.functional as F

from qworkbench import optim

SHA256 = "86c4e6aa9db7c042ec79f339dcb96d42b0075e16b8fc2e86bf0ca57e2dc565ed"


# -- data ---------------------------------------------------------------------------------
def load_corpus(path: Path, max_bytes: int = 50_000_000):
    size = path.stat().st_size
    if size > max_bytes:
        raise ValueError(f"{path} has {size:,} bytes; the benchmark reads at most {max_bytes:,}")
    raw = path.read_bytes()
    digest = hashlib.sha256(raw).hexdigest()
    if digest != SHA256:
        print(f"note: {path} sha256 {digest[:12]}... is not Tiny Shakespeare's")
    text = raw.decode("utf-8")
    vocab = sorted(set(text))
    index = {c: i for i, c in enumerate(vocab)}
    data = torch.tensor([index[c] for c in text], dtype=torch.long)
    split = int(0.9 * len(data))  # first 90% train, last 10% validation (as nanoGPT)
    return data[:split], data[split:], len(vocab)


def batch(data, context, size, generator):
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
    freqs = base ** (-torch.arange(0, d, 2, dtype=torch.float32) / d)
    angles = torch.arange(t, dtype=torch.float32)[:, None] * freqs[None, :]
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


# -- optimizers -------------------------------------------------------------------------
def hidden_and_rest(model):
    """2-D weights of the blocks (the low-rank/special methods' targets), and the rest."""
    hidden = [p for n, p in model.named_parameters() if n.startswith("blocks") and p.ndim == 2]
    ids = {id(p) for p in hidden}
    return hidden, [p for p in model.parameters() if id(p) not in ids]


def make_optimizers(args):
    rank = max(4, args.width // 4)
    gap = 50
    lr = args.lr

    def split(model, extra_hidden, extra_rest=None):
        hidden, rest = hidden_and_rest(model)
        return [{"params": rest, **(extra_rest or {})}, {"params": hidden, **extra_hidden}]

    def ours(name, **hyper):
        return lambda m: optim.create(name, m.parameters(), lr=lr, **hyper)

    def q_galore_int8(model):
        """Q-GaLore as the paper runs it: INT8 Linear weights, stochastically rounded."""
        opt = optim.create(
            "q_galore_adamw",
            split(model, {"rank": rank, "update_proj_gap": gap}, {"galore": False}),
            lr=lr,
        )
        optim.quantize_weights(model, bits=8, optimizer=opt)
        return opt

    cases = {
        "torch AdamW": lambda m: torch.optim.AdamW(m.parameters(), lr=lr, weight_decay=0.0),
        "qworkbench adamw": lambda m: optim.create("adamw", m.parameters(), lr=lr,
                                                   weight_decay=0.0),  # fmt: skip
        "qworkbench galore_adamw": lambda m: optim.create("galore_adamw", split(
            m, {"rank": rank, "update_proj_gap": gap}, {"galore": False}), lr=lr),
        "qworkbench galore_adamw (randomized SVD)": lambda m: optim.create("galore_adamw", split(
            m, {"rank": rank, "update_proj_gap": gap, "svd": "randomized"}, {"galore": False}),
            lr=lr),
        "qworkbench apollo": lambda m: optim.create("apollo", split(
            m, {"rank": rank, "update_proj_gap": gap}, {"apollo": False}), lr=lr),
        "qworkbench apollo_mini": lambda m: optim.create("apollo_mini", split(
            m, {"update_proj_gap": gap}, {"apollo": False}), lr=lr),
        "qworkbench q_galore_adamw": lambda m: optim.create("q_galore_adamw", split(
            m, {"rank": rank, "update_proj_gap": gap}, {"galore": False}), lr=lr),
        "qworkbench q_galore_adamw (32-bit moments)": lambda m: optim.create(
            "q_galore_adamw", split(m, {"rank": rank, "update_proj_gap": gap, "moment_bits": 32},
                                    {"galore": False}), lr=lr),
        "qworkbench q_galore_adamw + INT8 weights": q_galore_int8,
        "qworkbench adam8bit": ours("adam8bit"),
        "qworkbench adam4bit": ours("adam4bit"),
        "qworkbench muon": lambda m: optim.create("muon", optim.muon_param_groups(m), lr=lr),
        "qworkbench scale": lambda m: optim.create("scale", m.parameters(), lr=lr * 3),
        "qworkbench subset_norm": lambda m: optim.create("subset_norm", m.parameters(),
                                                         lr=lr * 10, rank=rank),
    }  # fmt: skip
    try:
        import galore_torch

        cases["galore-torch GaLoreAdamW"] = lambda m: galore_torch.GaLoreAdamW(
            split(m, {"rank": rank, "update_proj_gap": gap, "scale": 0.25, "proj_type": "std"}),
            lr=lr,
        )
    except ImportError:
        pass
    try:
        import galore_torch
        from q_galore_torch.q_galore_projector import GaLoreProjector

        def q_galore_reference(m):
            """galore-torch's AdamW with q-galore-torch's projector (INT4, adaptive gap) put
            into each matrix's state (q-galore-torch 1.0's own optimizer class passes
            bitsandbytes 0.50 its arguments in an older order and does not step on CPU)."""
            opt = galore_torch.GaLoreAdamW(
                split(m, {"rank": rank, "update_proj_gap": gap, "scale": 0.25, "proj_type": "std"}),
                lr=lr,
            )
            for p in opt.param_groups[1]["params"]:
                opt.state[p]["projector"] = GaLoreProjector(
                    rank,
                    update_proj_gap=gap,
                    scale=0.25,
                    proj_type="std",
                    quant=True,
                    group_size=256,
                    n_bit=4,
                    cos_threshold=0.4,
                    gamma_proj=2,
                    queue_size=5,
                )
            return opt

        cases["q-galore-torch projector in GaLoreAdamW"] = q_galore_reference
    except ImportError:
        pass
    try:
        import apollo_torch

        cases["apollo-torch APOLLOAdamW"] = lambda m: apollo_torch.APOLLOAdamW(
            split(
                m,
                {
                    "rank": rank,
                    "update_proj_gap": gap,
                    "scale": 1.0,
                    "proj": "random",
                    "proj_type": "std",
                    "scale_type": "channel",
                },
            ),
            lr=lr,
        )
    except ImportError:
        pass
    try:
        import bitsandbytes as bnb

        cases["bitsandbytes Adam8bit"] = lambda m: bnb.optim.Adam8bit(m.parameters(), lr=lr)
    except ImportError:
        pass
    return cases  # fmt: skip


# -- the run ------------------------------------------------------------------------------
@torch.no_grad()
def evaluate(model, val, args, batches=8):
    g = torch.Generator().manual_seed(1234)
    losses = []
    for _ in range(batches):
        x, y = batch(val, args.context, args.batch, g)
        losses.append(F.cross_entropy(model(x).flatten(0, 1), y.flatten()).item())
    return sum(losses) / len(losses)


def run(name, factory, train, val, vocab, args):
    torch.manual_seed(args.seed)
    model = Decoder(vocab, args.width, args.layers, args.heads)
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        opt = factory(model)
    g = torch.Generator().manual_seed(args.seed)
    curve, step_times, opt_times = [], [], []
    for step in range(args.steps):
        x, y = batch(train, args.context, args.batch, g)
        start = time.perf_counter()
        loss = F.cross_entropy(model(x).flatten(0, 1), y.flatten())
        opt.zero_grad(set_to_none=True)
        loss.backward()
        t_opt = time.perf_counter()
        opt.step()
        end = time.perf_counter()
        step_times.append(end - start)
        opt_times.append(end - t_opt)
        if not math.isfinite(loss.item()):
            raise RuntimeError(f"{name}: loss became {loss.item()} at step {step}")
        if step % args.eval_every == 0 or step == args.steps - 1:
            curve.append((step, evaluate(model, val, args)))
    row = {
        "optimizer": name,
        "val_loss": curve[-1][1],
        "state_bytes": optim.state_bytes(opt),
        "step_ms": statistics.median(step_times) * 1e3,
        "optimizer_step_ms": statistics.median(opt_times) * 1e3,
        "curve": curve,
    }
    print(f"  {name:42s} val {row['val_loss']:.4f}  state {row['state_bytes'] / 2**20:7.2f} MiB"
          f"  step {row['step_ms']:7.1f} ms (optimizer {row['optimizer_step_ms']:6.2f} ms)",
          flush=True)  # fmt: skip
    return row


def main() -> None:
    root = Path(__file__).resolve().parent.parent
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument(
        "--corpus", type=Path, default=root.parent / "shared" / "data" / "tinyshakespeare.txt"
    )
    parser.add_argument("--layers", type=int, default=2)
    parser.add_argument("--width", type=int, default=128)
    parser.add_argument("--heads", type=int, default=4)
    parser.add_argument("--context", type=int, default=64)
    parser.add_argument("--batch", type=int, default=16)
    parser.add_argument("--steps", type=int, default=300)
    parser.add_argument("--lr", type=float, default=3e-3)
    parser.add_argument("--eval-every", type=int, default=50)
    parser.add_argument("--seed", type=int, default=0)
    parser.add_argument("--only", nargs="*", help="run only optimizers whose name contains these")
    parser.add_argument("--out", type=Path, default=root / "benchmarks" / "results" / "optim.json")
    args = parser.parse_args()  # fmt: skip
    torch.set_num_threads(os.cpu_count() or 1)
    train, val, vocab = load_corpus(args.corpus)
    print(f"corpus {len(train) + len(val):,} chars, vocab {vocab}; model {args.layers}x"
          f"{args.width}, {args.steps} steps of {args.batch}x{args.context} tokens")  # fmt: skip
    rows = []
    for name, factory in make_optimizers(args).items():
        if args.only and not any(s in name for s in args.only):
            continue
        rows.append(run(name, factory, train, val, vocab, args))
    args.out.parent.mkdir(parents=True, exist_ok=True)
    tmp = args.out.with_suffix(".tmp")
    # no machine paths in the results: the corpus by name only
    config = {k: str(v) for k, v in vars(args).items() if k not in ("corpus", "out")}
    config["corpus"] = args.corpus.name
    tmp.write_text(json.dumps({"config": config, "rows": rows}, indent=1))
    os.replace(tmp, args.out)
    plot(rows, args.out.with_name("optim_loss.png"))
    adamw = next((r for r in rows if r["optimizer"] == "torch AdamW"), rows[0])
    print("\n| optimizer | val loss | vs AdamW | state (MiB) | state vs AdamW | step (ms) |"
          " optimizer step (ms) |")  # fmt: skip
    print("|---|---|---|---|---|---|---|")
    for r in sorted(rows, key=lambda r: r["val_loss"]):
        print(f"| {r['optimizer']} | {r['val_loss']:.4f} | "
              f"{(r['val_loss'] / adamw['val_loss'] - 1) * 100:+.1f}% | "
              f"{r['state_bytes'] / 2**20:.2f} | {r['state_bytes'] / adamw['state_bytes']:.3f}x | "
              f"{r['step_ms']:.1f} | {r['optimizer_step_ms']:.2f} |")  # fmt: skip


def plot(rows, path: Path) -> None:
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    fig, ax = plt.subplots(figsize=(8, 5))
    for r in rows:
        steps, losses = zip(*r["curve"])
        ax.plot(steps, losses, label=r["optimizer"])
    ax.set_xlabel("step")
    ax.set_ylabel("validation loss")
    ax.legend(fontsize=7)
    fig.tight_layout()
    fig.savefig(path, dpi=110)
    plt.close(fig)


if __name__ == "__main__":
    main()
