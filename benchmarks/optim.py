"""Optimizer benchmark: a small LLaMA-style character model on Tiny Shakespeare, every
optimizer of qworkbench.optim beside torch's AdamW and the reference packages
(galore-torch, apollo-torch, bitsandbytes), in one process, same model, data and seed.

    python benchmarks/optim.py                      # Tiny Shakespeare, from qworkbench.data
    python benchmarks/optim.py --layers 4 --width 256 --steps 2000   # the paper-sized run

Reports final validation loss, optimizer-state bytes and step times; writes
benchmarks/results/optim.json and a loss-curve plot. Nothing is downloaded. The model,
training loop and optimizer set-ups live in qworkbench.experiments.optim_bench (shared with
``qwb bench optim``, which runs our methods only unless asked for the references).
"""

from __future__ import annotations

import argparse
import json
import os
from pathlib import Path

import torch

from qworkbench.experiments import optim_bench as bench
from qworkbench.utils import atomic_write


def main() -> None:
    root = Path(__file__).resolve().parent.parent
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--corpus", type=Path, default=bench.DEFAULT_CORPUS)
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
    corpus = bench.load_corpus(args.corpus)
    if not corpus.is_tiny_shakespeare:
        print(f"note: {args.corpus} sha256 {corpus.sha256[:12]}... is not Tiny Shakespeare's")
    config = bench.TrainConfig(width=args.width, layers=args.layers, heads=args.heads,
                               context=args.context, batch=args.batch, steps=args.steps,
                               eval_every=args.eval_every, seed=args.seed)  # fmt: skip
    print(f"corpus {len(corpus.train) + len(corpus.val):,} chars, vocab {corpus.vocab}; "
          f"model {args.layers}x{args.width}, {args.steps} steps of "
          f"{args.batch}x{args.context} tokens")  # fmt: skip
    available = bench.available_cases()
    # torch's AdamW first (the baseline), then ours, then the reference packages
    cases = ["torch_adamw"] + [c for c in available if c != "torch_adamw"]
    if args.only:
        cases = [c for c in cases if any(s in bench.CASES[c].label or s in c for s in args.only)]

    def progress(case, seed, step, train_loss, val_loss):
        if step == args.steps - 1:
            print(f"  {bench.CASES[case].label:42s} val {val_loss:.4f}", flush=True)

    rows = bench.benchmark(cases, config, corpus, lr=args.lr, seeds=(args.seed,),
                           progress=progress)  # fmt: skip
    # no machine paths in the results: the corpus by name only
    settings = {k: str(v) for k, v in vars(args).items() if k not in ("corpus", "out")}
    settings["corpus"] = args.corpus.name
    atomic_write(args.out, json.dumps({"config": settings, "rows": rows}, indent=1))
    bench.plot_curves(rows, args.out.with_name("optim_loss.png"), label="label")
    print("\n| optimizer | val loss | vs AdamW | state (MiB) | state vs AdamW | step (ms) |"
          " optimizer step (ms) |")  # fmt: skip
    print("|---|---|---|---|---|---|---|")
    for r in sorted(rows, key=lambda r: (r["val_loss"] is None, r["val_loss"] or 0.0)):
        loss = "diverged" if r["val_loss"] is None else f"{r['val_loss']:.4f}"
        change = "-" if r["val_loss"] is None else f"{r['val_loss_vs_baseline'] * 100:+.1f}%"
        print(f"| {r['label']} | {loss} | {change} | {r['state_bytes'] / 2**20:.2f} | "
              f"{r['state_vs_baseline']:.3f}x | {r['step_ms']:.1f} | "
              f"{r['optimizer_step_ms']:.2f} |")  # fmt: skip


if __name__ == "__main__":
    main()
