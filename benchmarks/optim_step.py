"""Optimizer step times on the issue-sized model, lock-step against torch's AdamW.

    python benchmarks/optim_step.py                       # 4 layers, width 256, 60 steps
    python benchmarks/optim_step.py --steps 100 --only galore apollo
    python benchmarks/optim_step.py --corpus PATH         # another text file

One process, one torch thread. Every optimizer trains its own copy of the same LLaMA-style
character model (same initialisation) on the same batches; each step runs forward and
backward for every copy in a rotating order and times only ``optimizer.step()``.
Printed per row: median step time and its ratio to AdamW's, the mean ratio (which
includes the steps that refresh a projection), optimizer state against AdamW's, and
the training loss (mean of the last 10 steps) and validation loss at the same step.
Our methods sit beside the reference packages that are installed (galore-torch,
apollo-torch, q-galore-torch's projector, bitsandbytes, torchao, torch.optim.Muon).
"""

from __future__ import annotations

import argparse
import importlib.util
import statistics
import sys
import time
import warnings

import torch
import torch.nn.functional as F

try:  # the harness's new home; its old one until the move is in
    from qworkbench.experiments import optim_bench as bench
except ImportError:  # pragma: no cover
    from qworkbench.optim import bench  # type: ignore[no-redef]

from qworkbench import optim


class _Pair:
    """Two optimizers stepped as one (torch's Muon takes 2-D parameters only)."""

    def __init__(self, *optimizers):
        self.optimizers = optimizers
        self.state = {k: v for o in optimizers for k, v in o.state.items()}

    def zero_grad(self, set_to_none=True):
        for o in self.optimizers:
            o.zero_grad(set_to_none=set_to_none)

    def step(self):
        for o in self.optimizers:
            o.step()
        self.state = {k: v for o in self.optimizers for k, v in o.state.items()}


def _torch_muon(model, lr, rank):
    hidden, rest = optim.muon_param_groups(model)
    return _Pair(torch.optim.Muon(hidden["params"], lr=lr, weight_decay=0.0,
                                  adjust_lr_fn="match_rms_adamw"),
                 torch.optim.AdamW(rest["params"], lr=lr, betas=(0.9, 0.95),
                                   weight_decay=0.0))  # fmt: skip


def _torchao_adam4bit(model, lr, rank):
    from torchao.optim import AdamW4bit

    return AdamW4bit(model.parameters(), lr=lr, weight_decay=0.0)


def _ours(name):
    return lambda model, lr, rank: bench.build_optimizer(
        name, model, lr, rank if bench.takes_rank(name) else None
    )


#: (row, reference row or None, builder, modules it needs)
ROWS = [
    ("galore_adamw", "galore-torch", _ours("galore_adamw"), ()),
    ("galore-torch", None, bench.CASES["galore_torch"].build, ("galore_torch",)),
    ("apollo", "apollo-torch", _ours("apollo"), ()),
    ("apollo-torch", None, bench.CASES["apollo_torch"].build, ("apollo_torch",)),
    ("apollo_mini", None, _ours("apollo_mini"), ()),
    ("q_galore_adamw", "q-galore-torch", _ours("q_galore_adamw"), ()),
    ("q-galore-torch", None, bench.CASES["q_galore_torch"].build,
     ("galore_torch", "q_galore_torch")),
    ("adam8bit", "bitsandbytes", _ours("adam8bit"), ()),
    ("bitsandbytes", None, bench.CASES["bnb_adam8bit"].build, ("bitsandbytes",)),
    ("adam4bit", "torchao", _ours("adam4bit"), ()),
    ("torchao", None, _torchao_adam4bit, ("torchao",)),
    ("muon", "torch Muon", _ours("muon"), ()),
    ("torch Muon", None, _torch_muon, ()),
]  # fmt: skip


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--corpus", default=None, help="a text file (default: the bench's)")
    parser.add_argument("--layers", type=int, default=4)
    parser.add_argument("--width", type=int, default=256)
    parser.add_argument("--heads", type=int, default=4)
    parser.add_argument("--context", type=int, default=64)
    parser.add_argument("--batch", type=int, default=8)
    parser.add_argument("--steps", type=int, default=60)
    parser.add_argument("--lr", type=float, default=3e-3)
    parser.add_argument("--seed", type=int, default=0)
    parser.add_argument("--only", nargs="*", help="rows whose name contains one of these")
    args = parser.parse_args()
    torch.set_num_threads(1)
    try:
        corpus = bench.load_corpus(args.corpus)
    except (FileNotFoundError, ValueError) as exc:
        print(f"optim_step: {exc}", file=sys.stderr)
        return 2
    config = bench.TrainConfig(width=args.width, layers=args.layers, heads=args.heads,
                               context=args.context, batch=args.batch, steps=args.steps,
                               seed=args.seed, eval_batches=4)  # fmt: skip
    rank = bench.default_rank(args.width)
    rows = [
        (
            "torch AdamW",
            None,
            lambda m, lr, r: torch.optim.AdamW(m.parameters(), lr=lr, weight_decay=0.0),
            (),
        )
    ]
    rows += [r for r in ROWS if all(importlib.util.find_spec(m) for m in r[3])
             and (not args.only or any(s in r[0] for s in args.only))]  # fmt: skip
    models, opts = {}, {}
    for name, _, build, _ in rows:
        torch.manual_seed(args.seed)
        models[name] = bench.Decoder(corpus.vocab, args.width, args.layers, args.heads)
        with warnings.catch_warnings():
            warnings.simplefilter("ignore")
            opts[name] = build(models[name], args.lr, rank)
    print(
        f"model {args.layers}x{args.width}, rank {rank}, {args.steps} steps of "
        f"{args.batch}x{args.context} tokens, 1 thread, rows: {len(rows)}",
        flush=True,
    )
    times = {name: [] for name in models}
    losses = {name: [] for name in models}
    generator = torch.Generator().manual_seed(args.seed)
    names = list(models)
    for step in range(args.steps):
        x, y = bench.batch(corpus.train, args.context, args.batch, generator)
        for name in names[step % len(names) :] + names[: step % len(names)]:
            model, opt = models[name], opts[name]
            loss = F.cross_entropy(model(x).flatten(0, 1), y.flatten())
            opt.zero_grad(set_to_none=True)
            loss.backward()
            start = time.perf_counter()
            with warnings.catch_warnings():
                warnings.simplefilter("ignore")
                opt.step()
            times[name].append(time.perf_counter() - start)
            losses[name].append(loss.item())
        if (step + 1) % 10 == 0:
            print(f"  step {step + 1}/{args.steps}", file=sys.stderr, flush=True)
    skip = min(3, args.steps - 1)  # first steps: allocation, compilation
    base_median = statistics.median(times["torch AdamW"][skip:])
    base_mean = statistics.mean(times["torch AdamW"][skip:])
    base_state = optim.state_bytes(opts["torch AdamW"])
    print(f"\n| optimizer | reference | step (ms) | vs AdamW | mean vs AdamW | state vs AdamW "
          f"| train loss @{args.steps} | val loss @{args.steps} |")  # fmt: skip
    print("|---|---|---|---|---|---|---|---|")
    for name, reference, _, _ in rows:
        median = statistics.median(times[name][skip:])
        mean = statistics.mean(times[name][skip:])
        train = statistics.mean(losses[name][-10:])
        val = bench.evaluate(models[name], corpus.val, config)
        print(f"| {name} | {reference or '-'} | {median * 1e3:.2f} | {median / base_median:.2f}x "
              f"| {mean / base_mean:.2f}x | {optim.state_bytes(opts[name]) / base_state:.3f}x "
              f"| {train:.4f} | {val:.4f} |")  # fmt: skip
    return 0


if __name__ == "__main__":
    sys.exit(main())
