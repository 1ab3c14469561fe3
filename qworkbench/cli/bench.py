"""``qwb bench sim|optim``: our simulator and optimizers against their peers."""

from __future__ import annotations

import typer

from qworkbench.cli._app import bench_app
from qworkbench.cli._common import fail, progress, writable_dir, writable_file


@bench_app.command(
    "sim", context_settings={"allow_extra_args": True, "ignore_unknown_options": True}
)
def bench_sim(ctx: typer.Context) -> None:
    """Statevector benchmark against qiskit-aer, lightning.qubit and qulacs
    (arguments go to benchmarks/statevector.py; try --help)."""
    from qworkbench.experiments.sim_bench import main

    args = list(ctx.args)
    for i, arg in enumerate(args):  # the results file, checked before minutes of timing
        if arg.startswith("--out="):
            writable_file("bench sim", arg.partition("=")[2])
        elif arg == "--out" and i + 1 < len(args):
            writable_file("bench sim", args[i + 1])
    main(args, prog="qwb bench sim")


_BENCH_OPTIM_DEFAULT = ("adamw,galore_adamw,q_galore_adamw,apollo,apollo_mini,adam8bit,adam4bit,"
                        "muon,scale,subset_norm")  # fmt: skip


@bench_app.command("optim")
def bench_optim(
    optimizers: str = typer.Option(
        _BENCH_OPTIM_DEFAULT,
        "--optimizers",
        help="Comma-separated: ours (adamw, galore_adamw, ...), variants "
        "(galore_adamw_randomized, q_galore_adamw_fp32_moments, q_galore_adamw_int8_weights) "
        "or reference packages (torch_adamw, galore_torch, q_galore_torch, apollo_torch, "
        "bnb_adam8bit); 'all' for every installed one.",
    ),
    references: bool = typer.Option(
        False, "--references", help="Add the installed reference packages' rows."
    ),
    steps: int = typer.Option(200, "--steps", min=1),
    seeds: int = typer.Option(1, "--seeds", min=1, help="Seeds 0..N-1 (losses averaged)."),
    width: int = typer.Option(128, "--width", min=2),
    layers: int = typer.Option(2, "--layers", min=1),
    heads: int = typer.Option(4, "--heads", min=1),
    context: int = typer.Option(64, "--context", min=1, help="Tokens per sequence."),
    batch: int = typer.Option(16, "--batch", min=1, help="Sequences per step."),
    lr: float = typer.Option(3e-3, "--lr", help="Learning rate (SCALE 3x, Subset-Norm 10x)."),
    rank: int = typer.Option(None, "--rank", min=1, help="Low-rank methods' rank (width/4)."),
    eval_every: int = typer.Option(50, "--eval-every", min=1),
    corpus: str = typer.Option(
        None, "--corpus", help="A UTF-8 text file (default: the shipped Tiny Shakespeare)."
    ),
    device: str = typer.Option("cpu", "--device", help="cpu or cuda."),
    threads: int = typer.Option(
        None, "--threads", min=1, help="torch CPU threads (default: torch's, one per core)."
    ),
    out: str = typer.Option("runs/bench-optim", "--out", help="Results directory."),
    json_output: bool = typer.Option(False, "--json", help="Print the results as JSON."),
) -> None:
    """Train a small LLaMA-style character model on Tiny Shakespeare with each optimizer
    (same initialisation, data and seed): loss, optimizer-state memory and time per step,
    relative to AdamW. Writes OUT/optim.json, OUT/table.md and OUT/optim_loss.png."""
    import json
    import math

    from qworkbench.experiments import optim_bench as bench
    from qworkbench.utils import atomic_write

    if optimizers.strip() == "all":
        cases = bench.available_cases()
    else:
        cases = list(dict.fromkeys(o.strip() for o in optimizers.split(",") if o.strip()))
    if references:
        cases += [c for c in bench.REFERENCE_CASES if c in bench.available_cases()
                  and c not in cases]  # fmt: skip
    if not cases:
        fail("bench optim", "--optimizers must name at least one")
    for case in cases:
        if case not in bench.CASES:
            fail(
                "bench optim",
                f"unknown optimizer {case!r}; available: {', '.join(bench.available_cases())}",
            )
    if not ("adamw" in cases or "torch_adamw" in cases):
        cases.insert(0, "adamw")  # the baseline of the relative columns
    if not (math.isfinite(lr) and lr > 0):
        fail("bench optim", f"--lr must be positive and finite, got {lr}")
    try:
        config = bench.TrainConfig(width=width, layers=layers, heads=heads, context=context,
                                   batch=batch, steps=steps, eval_every=eval_every,
                                   device=device)  # fmt: skip
        data = bench.load_corpus(corpus)
    except (ValueError, OSError) as exc:
        fail("bench optim", str(exc))
    directory = writable_dir("bench optim", out)  # takes files before anything trains
    typer.echo(
        f"corpus {data.name} ({len(data.train) + len(data.val):,} chars, vocab {data.vocab}); "
        f"model {layers}x{width}; {steps} steps of {batch}x{context} tokens; "
        f"{len(cases)} optimizers x {seeds} seeds",
        err=True,
    )
    position = {case: i + 1 for i, case in enumerate(cases)}
    trained = {}  # steps done per (case, seed)

    def report(case, seed, step, train_loss, val_loss):
        line = (f"[{position[case]}/{len(cases)}] {case} seed {seed}: step {step + 1}/{steps} "
                f"train {train_loss:.4f} val {val_loss:.4f}")  # fmt: skip
        bar.advance(step + 1 - trained.get((case, seed), 0), f"{case} seed {seed}")
        trained[case, seed] = step + 1
        bar.note(line)

    import torch

    if threads is not None:
        torch.set_num_threads(threads)
    problems = bench.preflight(cases, config, data, lr=lr, rank=rank)
    for case, why in problems.items():
        if optimizers.strip() == "all" or (references and case in bench.REFERENCE_CASES):
            typer.echo(f"skipping {case}: it cannot train this model ({why})", err=True)
            cases.remove(case)
        else:
            fail("bench optim", f"optimizer {case!r} cannot train this model: {why}")
    if not cases:
        fail("bench optim", "none of the optimizers can train this model")
    try:
        with progress("bench optim", len(cases) * seeds * steps, "steps") as bar:
            rows = bench.benchmark(cases, config, data, lr=lr, rank=rank, seeds=range(seeds),
                                   progress=report)  # fmt: skip
    except (ValueError, RuntimeError) as exc:
        fail("bench optim", str(exc))
    settings = {"optimizers": cases, "steps": steps, "seeds": seeds, "width": width,
                "layers": layers, "heads": heads, "context": context, "batch": batch, "lr": lr,
                "rank": rank if rank is not None else bench.default_rank(width),
                "eval_every": eval_every, "device": device,
                "threads": torch.get_num_threads(), "corpus": data.name,
                "corpus_sha256": data.sha256}  # fmt: skip
    result = {"config": settings, "rows": rows}
    table = bench.format_table(rows)
    if json_output:  # printed first: a failing write loses nothing
        typer.echo(json.dumps(result))
    else:
        typer.echo(table, nl=False)
    try:
        atomic_write(directory / "optim.json", json.dumps(result, indent=1))
        atomic_write(directory / "table.md", table)
        bench.plot_curves(rows, directory / "optim_loss.png")
    except OSError as exc:
        fail("bench optim", f"--out {out}: writing the results failed ({exc})")
    typer.echo(f"(optim.json, table.md and optim_loss.png in {out})", err=True)
    for row in rows:
        if row.get("diverged_at"):
            step = min(row["diverged_at"])
            typer.echo(f"qwb bench optim: warning: {row['optimizer']} diverged (non-finite "
                       f"loss at step {step}); try a smaller --lr", err=True)  # fmt: skip
