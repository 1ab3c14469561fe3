"""The ``qwb`` command line.

Only typer is imported at module level: each command imports what it needs when
it runs, so ``qwb --help`` stays fast. Command groups not built yet say so and
exit with status 1; usage errors exit with status 2 (typer's convention).
"""

from __future__ import annotations

import sys

import typer

app = typer.Typer(
    name="qwb",
    help="qworkbench: quantum architecture search, VQE/QAOA, QSVT and simulation benchmarks.",
    no_args_is_help=True,
    add_completion=False,
    pretty_exceptions_enable=False,
)


def _version_callback(value: bool) -> None:
    if value:
        from qworkbench import __version__

        typer.echo(f"qworkbench {__version__}")
        raise typer.Exit()


@app.callback()
def _root(
    version: bool = typer.Option(
        False, "--version", callback=_version_callback, is_eager=True, help="Show the version."
    ),
) -> None:
    """qworkbench command line."""


qas_app = typer.Typer(help="RL quantum architecture search: run, benchmark, plot.")
qsvt_app = typer.Typer(help="QSVT: QSP phases and Hamiltonian simulation.")
bench_app = typer.Typer(help="Benchmarks against peer simulators and optimizers.")
app.add_typer(qas_app, name="qas")
app.add_typer(qsvt_app, name="qsvt")
app.add_typer(bench_app, name="bench")


def _qas_fail(command: str, message: str):
    typer.echo(f"qwb qas {command}: error: {message}", err=True)
    raise typer.Exit(code=2)


@qas_app.command("run")
def qas_run(
    task: str = typer.Option(
        "h2", "--task", help="Registry task: h2, h2_2q, lih4, tfim4, bell, ..."
    ),
    agent: str = typer.Option("crlqas", "--agent", help="random, dqn, crlqas, kanqas or gadget."),
    episodes: int = typer.Option(200, "--episodes", min=1),
    seed: int = typer.Option(0, "--seed"),
    noise: str = typer.Option(
        "none", "--noise", help="none, depolarizing:P[,P2] or a fake backend (fake_manila)."
    ),
    out: str = typer.Option(None, "--out", help="Run directory (default runs/TASK-AGENT-sSEED)."),
    resume: bool = typer.Option(False, "--resume", help="Continue the run in --out."),
    preset: str = typer.Option("fast", "--preset", help="fast or paper."),
    max_gates: int = typer.Option(None, "--max-gates", min=1, help="Gate budget L."),
    gate_set: str = typer.Option(None, "--gate-set", help="crlqas, kanqas, ibm_native."),
    random_halt: bool = typer.Option(
        True, "--random-halt/--no-random-halt", help="CRLQAS's random episode lengths."
    ),
    json_output: bool = typer.Option(False, "--json", help="Print one JSON object last."),
) -> None:
    """Train a QAS agent on a task; writes the run directory (log, best circuit, checkpoints)."""
    import json

    from agents import available_agents
    from agents.runner import run
    from qworkbench.errors import QWorkbenchError

    if agent not in available_agents():
        _qas_fail("run", f"unknown agent {agent!r}; available: {', '.join(available_agents())}")
    if preset not in ("fast", "paper"):
        _qas_fail("run", f"--preset must be 'fast' or 'paper', got {preset!r}")
    out = out or f"runs/{task}-{agent}-s{seed}"
    progress = sys.stderr.isatty() and not json_output
    bar = None
    state = {"best": None}

    def callback(record):
        quality = record.get("error", record.get("fidelity"))
        if state["best"] is None or (
            abs(quality) < abs(state["best"]) if "error" in record else quality > state["best"]
        ):
            state["best"] = quality
        if bar is not None:
            bar.update(
                task_id,
                advance=1,
                description=(
                    f"episode {record['episode'] + 1} best {state['best']:.2e} "
                    f"threshold {record['threshold'] or 0:.4f} gates {record['gates']}"
                ),
            )

    try:
        if progress:
            from rich.progress import Progress

            with Progress(transient=True) as bar:
                task_id = bar.add_task("training", total=episodes)
                trained = run(task, agent, episodes, seed=seed, noise=noise, out=out,
                              resume=resume, preset=preset, max_gates=max_gates,
                              gate_set=gate_set, callback=callback,
                              random_halt=random_halt)  # fmt: skip
        else:
            trained = run(task, agent, episodes, seed=seed, noise=noise, out=out, resume=resume,
                          preset=preset, max_gates=max_gates, gate_set=gate_set,
                          random_halt=random_halt)  # fmt: skip
    except (ValueError, TypeError, FileExistsError, FileNotFoundError, QWorkbenchError) as exc:
        _qas_fail("run", str(exc))
    from agents.runner import summarize

    summary = {"task": task, "agent": agent, "seed": seed, "out": out,
               **summarize(trained.log, trained.best_record)}  # fmt: skip
    if not json_output:
        typer.echo(
            f"{task} / {agent}: {summary['successes']} successful episodes of "
            f"{summary['episodes']}; first at {summary['first_success']}; best circuit "
            f"{summary['best_gates']} gates, {summary['best_cnots']} CNOTs "
            f"(error/fidelity {summary['best_quality']}); run in {out}"
        )
    typer.echo(json.dumps(summary) if json_output else "", nl=json_output)


@qas_app.command("bench")
def qas_bench(
    tasks: str = typer.Option("h2", "--tasks", help="Comma-separated registry tasks."),
    agents: str = typer.Option("random,crlqas", "--agents", help="Comma-separated agents."),
    seeds: int = typer.Option(3, "--seeds", min=1),
    episodes: int = typer.Option(200, "--episodes", min=1),
    preset: str = typer.Option("fast", "--preset", help="fast or paper."),
    noise: str = typer.Option("none", "--noise"),
    out: str = typer.Option("runs/qas-bench", "--out", help="Results directory."),
    gate_set: str = typer.Option(None, "--gate-set", help="crlqas, kanqas or ibm_native."),
) -> None:
    """Benchmark QAS agents on tasks over seeds; prints the table (Markdown; CSV beside)."""
    from agents import available_agents
    from agents.runner import aggregate, bench, format_table
    from qworkbench.errors import QWorkbenchError

    task_list = [t.strip() for t in tasks.split(",") if t.strip()]
    agent_list = [a.strip() for a in agents.split(",") if a.strip()]
    for name in agent_list:
        if name not in available_agents():
            _qas_fail(
                "bench", f"unknown agent {name!r}; available: {', '.join(available_agents())}"
            )
    if preset not in ("fast", "paper"):
        _qas_fail("bench", f"--preset must be 'fast' or 'paper', got {preset!r}")
    if not task_list or not agent_list:
        _qas_fail("bench", "--tasks and --agents must name at least one each")
    try:
        import tasks as task_registry

        for name in task_list:
            if name not in task_registry.available():
                raise ValueError(
                    f"unknown task {name!r}; available: {', '.join(task_registry.available())}"
                )

        def progress(i, total, cell):
            typer.echo(
                f"[{i + 1}/{total}] {cell['task']} / {cell['agent']} / seed {cell['seed']}",
                err=True,
            )

        rows = bench(task_list, agent_list, seeds=seeds, episodes=episodes, out=out,
                     preset=preset, noise=noise, progress=progress, gate_set=gate_set)  # fmt: skip
    except (ValueError, TypeError, QWorkbenchError) as exc:
        _qas_fail("bench", str(exc))
    typer.echo(format_table(aggregate(rows)), nl=False)
    typer.echo(f"(table.md, table.csv and results.jsonl in {out})", err=True)


@qas_app.command("plot")
def qas_plot(run_dir: str = typer.Argument(..., help="A run directory of qwb qas run.")) -> None:
    """Plot a run: error (or fidelity) per episode, gates and depth of successes."""
    from agents.runner import plot_run

    try:
        paths = plot_run(run_dir)
    except (ValueError, FileNotFoundError) as exc:
        _qas_fail("plot", str(exc))
    for path in paths:
        typer.echo(str(path))


@app.command("plot")
def plot(
    directory: str = typer.Argument(..., help="A run directory, or a bench/sweep one."),
) -> None:
    """Plot a QAS run (error, successes) or a bench/sweep directory (success rates and a
    Markdown summary)."""
    from pathlib import Path

    from agents.runner import plot_results, plot_run

    try:
        if (Path(directory) / "episodes.jsonl").exists():
            paths = plot_run(directory)
        else:
            paths = plot_results(directory)
    except (ValueError, FileNotFoundError) as exc:
        typer.echo(f"qwb plot: error: {exc}", err=True)
        raise typer.Exit(code=2) from None
    for path in paths:
        typer.echo(str(path))


@app.command("vqe")
def vqe(
    molecule: str = typer.Option("H2", "--molecule", help="H2, LiH, BeH2 or H2O."),
    task: str = typer.Option(None, "--task", help="A registry task instead (h2_2q, lih4, ...)."),
    bond_length: float = typer.Option(
        None, "--bond-length", help="Angstrom (default: equilibrium)."
    ),
    basis: str = typer.Option("sto-3g", "--basis"),
    mapping: str = typer.Option(
        "jordan_wigner", "--mapping", help="jordan_wigner|parity|bravyi_kitaev"
    ),
    active: str = typer.Option(
        None, "--active", help="Active space 'ELECTRONS,ORBITALS', e.g. 2,3."
    ),
    frozen_core: bool = typer.Option(False, "--frozen-core", help="Freeze the core orbitals."),
    ansatz: str = typer.Option("uccsd", "--ansatz", help="uccsd (Jordan-Wigner only) or hea."),
    layers: int = typer.Option(2, "--layers", min=0, help="Hardware-efficient layers."),
    optimizer: str = typer.Option(
        None, "--optimizer", help="l-bfgs-b, cobyla, spsa, ... (default: by setting)."
    ),
    noise: str = typer.Option("none", "--noise", help="none or depolarizing:P[,P2]."),
    shots: int = typer.Option(None, "--shots", min=1, help="Shots per energy estimate."),
    maxiter: int = typer.Option(200, "--maxiter", min=1),
    seed: int = typer.Option(0, "--seed"),
    json_output: bool = typer.Option(False, "--json", help="Print one JSON object last."),
    out: str = typer.Option(None, "--out", help="Append the result as one JSON line to FILE."),
) -> None:
    """Solve a molecule's ground state with VQE (exact, shot-based or noisy)."""
    import json
    import time

    from tasks import get_task, hamiltonians
    from tasks.ansatz import hardware_efficient
    from tasks.vqe import VQE

    def fail(message: str):
        typer.echo(f"qwb vqe: error: {message}", err=True)
        raise typer.Exit(code=2)

    start = time.perf_counter()
    try:
        if task is not None:
            options = {} if bond_length is None else {"bond_length": bond_length}
            problem = get_task(task, **options)
            label = task
        else:
            space = None
            if active is not None:
                try:
                    space = tuple(int(v) for v in active.split(","))
                except ValueError:
                    fail(f"--active must be 'ELECTRONS,ORBITALS', got {active!r}")
            problem = hamiltonians.molecule(
                molecule,
                bond_length,
                basis=basis,
                mapping=mapping,
                active=space,
                frozen_core=frozen_core,
            )
            label = problem.name
        if ansatz == "hea":
            circuit = hardware_efficient(problem.num_qubits, layers, initial_state=problem.hf_state)
        elif ansatz == "uccsd":
            circuit = "uccsd"
        else:
            fail(f"--ansatz must be 'uccsd' or 'hea', got {ansatz!r}")
        solver = VQE(
            problem,
            circuit,
            optimizer=optimizer,
            shots=shots,
            seed=seed,
            noise=noise,
            maxiter=maxiter,
        )
    except (ValueError, TypeError) as exc:
        fail(str(exc))
    progress = sys.stderr.isatty() and not json_output
    steps = iter(range(1, maxiter + 1))

    def report(_params, value):
        if progress:
            typer.echo(f"\r  iteration {next(steps):4d}  energy {value:+.8f}", err=True, nl=False)

    result = solver.run(callback=report)
    if progress:
        typer.echo("", err=True)
    summary = {
        "problem": label,
        "num_qubits": problem.num_qubits,
        "ansatz": ansatz,
        "parameters": solver.circuit.num_parameters,
        "optimizer": result.optimizer,
        "noise": noise,
        "shots": shots,
        "seed": seed,
        "energy": result.energy,
        "exact_energy": result.exact_energy,
        "error": result.error,
        "hf_energy": problem.hf_energy,
        "chemical_accuracy": result.error is not None and abs(result.error) <= 1.6e-3,
        "nfev": result.nfev,
        "seconds": round(time.perf_counter() - start, 3),
        "params": result.params.tolist(),
    }
    typer.echo(
        f"{label}: {problem.num_qubits} qubits, {ansatz} ({summary['parameters']} "
        f"parameters), {result.optimizer}, {result.nfev} evaluations"
    )
    typer.echo(f"  VQE energy   {result.energy:+.8f} Ha")
    typer.echo(
        f"  exact energy {result.exact_energy:+.8f} Ha  (error {1e3 * result.error:.4f} mHa)"
    )
    if problem.hf_energy is not None:
        typer.echo(f"  HF energy    {problem.hf_energy:+.8f} Ha")
    if out is not None:
        from pathlib import Path

        path = Path(out)
        path.parent.mkdir(parents=True, exist_ok=True)
        with path.open("a") as fh:
            fh.write(json.dumps(summary) + "\n")
    if json_output:
        typer.echo(json.dumps(summary))


_QAOA_METHODS = ("penalty_slack", "dual_ascent", "bundle", "cutting_plane", "augmented_lagrangian")


def _choice(value, choices, option: str):
    if value is not None and value not in choices:
        raise typer.BadParameter(f"{value!r} is not one of {', '.join(choices)}", param_hint=option)
    return value


@app.command("qaoa")
def qaoa(
    problem: str = typer.Option(..., "--problem", help="maxcut, mis, knapsack or tsp."),
    instance: str | None = typer.Option(
        None,
        "--instance",
        help="Instance file: DIMACS (maxcut, mis), OR-Library mknap (knapsack), TSPLIB (tsp).",
    ),
    random_size: int | None = typer.Option(
        None, "--random", help="A random instance of N nodes / items / cities."
    ),
    index: int = typer.Option(1, "--index", help="Which instance of an mknap file (1-based)."),
    p: int = typer.Option(1, "--p", help="QAOA depth."),
    mixer: str = typer.Option("x", "--mixer", help="x, or xy (one-hot groups: TSP)."),
    init: str = typer.Option("linear_ramp", "--init", help="linear_ramp, interp or random."),
    optimizer: str | None = typer.Option(
        None,
        "--optimizer",
        help="A qworkbench.optim.minimize method (default l-bfgs-b with "
        "adjoint gradients, cobyla with shots or CVaR).",
    ),
    shots: int | None = typer.Option(None, "--shots", help="Samples per evaluation."),
    cvar_alpha: float | None = typer.Option(None, "--cvar-alpha", help="CVaR fraction in (0, 1]."),
    maxiter: int = typer.Option(200, "--maxiter", help="Optimiser iterations."),
    seed: int | None = typer.Option(None, "--seed", help="Seed (instance and solver)."),
    method: str | None = typer.Option(
        None,
        "--method",
        help="Constraint handling by tasks.lagrangian: " + ", ".join(_QAOA_METHODS) + ".",
    ),
    solver: str = typer.Option(
        "qaoa", "--solver", help="Inner solver of --method: qaoa, exact or vqe."
    ),
    as_json: bool = typer.Option(False, "--json", help="Print one JSON object last."),
) -> None:
    """Solve a combinatorial problem with QAOA (or a Lagrangian method around it)."""
    import json

    from tasks._qaoa_cli import PROBLEMS, build_problem, solve

    _choice(problem, PROBLEMS, "--problem")
    _choice(mixer, ("x", "xy"), "--mixer")
    _choice(init, ("linear_ramp", "interp", "random"), "--init")
    _choice(method, _QAOA_METHODS, "--method")
    _choice(solver, ("qaoa", "exact", "vqe"), "--solver")
    for value, name in ((p, "--p"), (shots, "--shots"), (maxiter, "--maxiter"), (index, "--index")):
        if value is not None and value < 1:
            raise typer.BadParameter(f"must be a positive integer, got {value}", param_hint=name)
    if cvar_alpha is not None and not 0 < cvar_alpha <= 1:
        raise typer.BadParameter(f"must be in (0, 1], got {cvar_alpha}", param_hint="--cvar-alpha")
    options = {"p": p, "mixer": mixer, "init": init, "maxiter": maxiter, "seed": seed}
    options.update(
        {
            k: v
            for k, v in (("optimizer", optimizer), ("shots", shots), ("cvar_alpha", cvar_alpha))
            if v is not None
        }
    )
    try:
        prob = build_problem(problem, instance, random_size, index, seed)
        if sys.stderr.isatty():
            from rich.console import Console

            with Console(stderr=True).status("QAOA running") as status:

                def progress(nfev: int, value: float) -> None:
                    status.update(f"QAOA: {nfev} evaluations, objective {value:.6g}")

                out = solve(prob, method=method, solver=solver, callback=progress, **options)
        else:
            out = solve(prob, method=method, solver=solver, **options)
    except (ValueError, OSError, MemoryError) as exc:
        typer.echo(f"qwb qaoa: {exc}", err=True)
        raise typer.Exit(code=2) from None
    out = {"problem": problem, "instance": instance or f"random:{random_size}", **out}
    if as_json:
        typer.echo(json.dumps(out))
        return
    for key, value in out.items():
        if key not in ("params",):
            typer.echo(f"{key:>20}: {value}")


@qsvt_app.command("phases")
def qsvt_phases(
    function: str = typer.Option(..., "--function", help="sign, cos, sin, inv or filter."),
    degree: int | None = typer.Option(
        None, "--degree", help="Polynomial degree (else from --epsilon)."
    ),
    epsilon: float = typer.Option(1e-6, "--epsilon", help="Approximation error target."),
    param: float | None = typer.Option(
        None, "--param", help="tau (cos/sin), delta (sign/filter) or kappa (inv)."
    ),
    method: str = typer.Option("newton", "--method", help="newton or fixed_point."),
    as_json: bool = typer.Option(False, "--json", help="Print one JSON object last."),
) -> None:
    """Compute symmetric QSP phases for a standard polynomial and check them."""
    import json

    from tasks.qsvt._cli import FUNCTIONS, phases

    _choice(function, FUNCTIONS, "--function")
    _choice(method, ("newton", "fixed_point"), "--method")
    if degree is not None and degree < 1:
        raise typer.BadParameter(f"must be a positive integer, got {degree}", param_hint="--degree")
    if not 0 < epsilon < 1:
        raise typer.BadParameter(f"must be in (0, 1), got {epsilon}", param_hint="--epsilon")
    try:
        out = phases(function, degree, epsilon, param, method)
    except (ValueError, TypeError) as exc:
        typer.echo(f"qwb qsvt phases: {exc}", err=True)
        raise typer.Exit(code=2) from None
    if as_json:
        typer.echo(json.dumps(out))
        return
    for key, value in out.items():
        if key != "phases":
            typer.echo(f"{key:>20}: {value}")


@qsvt_app.command("simulate")
def qsvt_simulate(
    task: str = typer.Option("tfim4", "--task", help="A task with a Hamiltonian (qwb: tasks)."),
    time: float = typer.Option(1.0, "--time", help="Evolution time t in exp(-iHt)."),
    epsilon: float = typer.Option(1e-6, "--epsilon", help="Operator-norm error target."),
    as_json: bool = typer.Option(False, "--json", help="Print one JSON object last."),
) -> None:
    """Hamiltonian simulation by QSVT: error against expm, degree and resources."""
    import json

    from tasks.qsvt._cli import simulate

    if not 0 < epsilon < 1:
        raise typer.BadParameter(f"must be in (0, 1), got {epsilon}", param_hint="--epsilon")
    if time == 0 or time != time or abs(time) == float("inf"):
        raise typer.BadParameter(f"must be finite and nonzero, got {time}", param_hint="--time")
    try:
        out = simulate(task, time, epsilon)
    except (ValueError, KeyError, TypeError) as exc:
        typer.echo(f"qwb qsvt simulate: {exc}", err=True)
        raise typer.Exit(code=2) from None
    if as_json:
        typer.echo(json.dumps(out))
        return
    for key, value in out.items():
        typer.echo(f"{key:>20}: {value}")


@bench_app.command(
    "sim", context_settings={"allow_extra_args": True, "ignore_unknown_options": True}
)
def bench_sim(ctx: typer.Context) -> None:
    """Statevector benchmark against qiskit-aer, lightning.qubit and qulacs
    (arguments go to benchmarks/statevector.py; try --help)."""
    import runpy
    from pathlib import Path

    script = Path(__file__).resolve().parent.parent / "benchmarks" / "statevector.py"
    if not script.exists():
        typer.echo(f"qwb bench sim needs a source checkout ({script} is missing)", err=True)
        raise typer.Exit(code=1)
    sys.argv = [str(script), *ctx.args]
    runpy.run_path(str(script), run_name="__main__")


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
        None, "--corpus", help="A UTF-8 text file (default: ../shared/data/tinyshakespeare.txt)."
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
    from pathlib import Path

    from qworkbench._io import atomic_write
    from qworkbench.optim import bench

    def fail(message: str):
        typer.echo(f"qwb bench optim: error: {message}", err=True)
        raise typer.Exit(code=2)

    if optimizers.strip() == "all":
        cases = bench.available_cases()
    else:
        cases = list(dict.fromkeys(o.strip() for o in optimizers.split(",") if o.strip()))
    if references:
        cases += [c for c in bench.REFERENCE_CASES if c in bench.available_cases()
                  and c not in cases]  # fmt: skip
    if not cases:
        fail("--optimizers must name at least one")
    for case in cases:
        if case not in bench.CASES:
            fail(f"unknown optimizer {case!r}; available: {', '.join(bench.available_cases())}")
    if not ("adamw" in cases or "torch_adamw" in cases):
        cases.insert(0, "adamw")  # the baseline of the relative columns
    if not (math.isfinite(lr) and lr > 0):
        fail(f"--lr must be positive and finite, got {lr}")
    try:
        config = bench.TrainConfig(width=width, layers=layers, heads=heads, context=context,
                                   batch=batch, steps=steps, eval_every=eval_every,
                                   device=device)  # fmt: skip
        data = bench.load_corpus(corpus)
    except (ValueError, OSError) as exc:
        fail(str(exc))
    typer.echo(
        f"corpus {data.name} ({len(data.train) + len(data.val):,} chars, vocab {data.vocab}); "
        f"model {layers}x{width}; {steps} steps of {batch}x{context} tokens; "
        f"{len(cases)} optimizers x {seeds} seeds",
        err=True,
    )
    position = {case: i + 1 for i, case in enumerate(cases)}

    def progress(case, seed, step, train_loss, val_loss):
        typer.echo(
            f"[{position[case]}/{len(cases)}] {case} seed {seed}: step {step + 1}/{steps} "
            f"train {train_loss:.4f} val {val_loss:.4f}",
            err=True,
        )

    import torch

    directory = Path(out)
    try:  # the results directory must take files before anything trains
        directory.mkdir(parents=True, exist_ok=True)
        atomic_write(directory / ".write-test", b"")
        (directory / ".write-test").unlink()
    except OSError as exc:
        fail(f"--out {out}: cannot write there ({exc.strerror or exc})")
    if threads is not None:
        torch.set_num_threads(threads)
    problems = bench.preflight(cases, config, data, lr=lr, rank=rank)
    for case, why in problems.items():
        if optimizers.strip() == "all" or (references and case in bench.REFERENCE_CASES):
            typer.echo(f"skipping {case}: it cannot train this model ({why})", err=True)
            cases.remove(case)
        else:
            fail(f"optimizer {case!r} cannot train this model: {why}")
    if not cases:
        fail("none of the optimizers can train this model")
    try:
        rows = bench.benchmark(cases, config, data, lr=lr, rank=rank, seeds=range(seeds),
                               progress=progress)  # fmt: skip
    except (ValueError, RuntimeError) as exc:
        fail(str(exc))
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
        fail(f"--out {out}: writing the results failed ({exc})")
    typer.echo(f"(optim.json, table.md and optim_loss.png in {out})", err=True)


@app.command("sweep")
def sweep(
    config: str = typer.Argument(None, help="A sweep config (TOML); options override it."),
    tasks: str = typer.Option(None, "--tasks", help="Comma-separated registry tasks."),
    agents: str = typer.Option(None, "--agents", help="Comma-separated agents."),
    seeds: int = typer.Option(None, "--seeds", min=1, help="Seeds 0..N-1."),
    episodes: int = typer.Option(None, "--episodes", min=1),
    preset: str = typer.Option(None, "--preset", help="fast or paper."),
    noise: str = typer.Option(None, "--noise"),
    out: str = typer.Option("runs/sweep", "--out", help="Results directory."),
    executor: str = typer.Option(
        "local", "--executor", help="local (processes), dask (a LocalCluster) or dask://HOST:PORT."
    ),
    workers: int = typer.Option(None, "--workers", min=1, help="Processes / Dask workers."),
) -> None:
    """Sweep tasks x agents x seeds (x hyper-parameters) on local processes or Dask.

    One line per finished cell in OUT/results.jsonl: a rerun skips finished cells."""
    import json

    from agents.sweep import expand, load_config, make_executor
    from agents.sweep import sweep as run_sweep

    def fail(message: str):
        typer.echo(f"qwb sweep: error: {message}", err=True)
        raise typer.Exit(code=2)

    try:
        settings = load_config(config) if config else {}
        for name, value in (("tasks", tasks), ("agents", agents)):
            if value is not None:
                settings[name] = [v.strip() for v in value.split(",") if v.strip()]
        for name, value in (("seeds", seeds), ("episodes", episodes), ("preset", preset),
                            ("noise", noise)):  # fmt: skip
            if value is not None:
                settings[name] = value
        cells = expand(settings)
    except (ValueError, TypeError, OSError) as exc:
        fail(str(exc))

    def progress(row, cell, done, total):
        hidden = ("episodes", "preset", "noise", "maxiter", "steps", "width", "layers", "heads",
                  "context", "batch", "eval_every", "corpus", "corpus_sha256", "threads",
                  "device")  # fmt: skip
        what = " / ".join(f"{v}" for k, v in cell.items() if k not in hidden)
        if row is None:
            status = "failed"
        elif row.get("kind") == "optim":
            loss = row["final_val_loss"]
            status = f"val loss {loss:.4f}" if loss is not None else "diverged"
        elif "successes" in row:
            status = f"{row['successes']} successes"
        elif "error" in row:
            status = "error -" if row["error"] is None else f"error {row['error']:.2e}"
        else:  # None for a graph without edges (no cut to approximate)
            ratio = row.get("approximation_ratio")
            status = "ratio -" if ratio is None else f"ratio {ratio:.3f}"
        typer.echo(f"[{done}/{total}] {what}: {status}", err=True)

    try:
        if executor == "local":  # the sweep owns its pool (and replaces it if a worker dies)
            result = run_sweep(cells, out, workers=workers, progress=progress)
        else:
            with make_executor(executor, workers) as pool:
                result = run_sweep(cells, out, executor=pool, progress=progress)
    except (ValueError, OSError) as exc:
        fail(str(exc))
    typer.echo(
        f"{len(cells)} cells: {result.ran} ran, {result.skipped} already done, "
        f"{len(result.failed)} failed (results in {out}/results.jsonl)"
    )
    for cell, message in result.failed:
        typer.echo(f"  failed: {json.dumps(cell)}: {message}", err=True)
    if result.failed:
        raise typer.Exit(code=1)


def _hardware_fail(command: str, exc: Exception):
    from qworkbench.hardware import HardwareError

    typer.echo(f"qwb {command}: error: {exc}", err=True)
    raise typer.Exit(code=1 if isinstance(exc, HardwareError) else 2)


def _read_circuit(target: str):
    """An OpenQASM file, or a QAS run directory's best_circuit.qasm."""
    from pathlib import Path

    from qworkbench import Circuit

    path = Path(target)
    if path.is_dir():
        path = path / "best_circuit.qasm"
        if not path.exists():
            raise FileNotFoundError(f"{target} is not a QAS run directory (no best_circuit.qasm)")
    if not path.exists():
        raise FileNotFoundError(f"no such file: {target}")
    return Circuit.from_qasm(path.read_text())


def _read_observable(text: str):
    """A PauliSum from JSON, inline or in a file: [[label, coeff], ...] or {label: coeff}."""
    import json
    from pathlib import Path

    from qworkbench import PauliSum

    raw = text if text.lstrip()[:1] in "[{" else Path(text).read_text()
    try:
        data = json.loads(raw)
    except json.JSONDecodeError as exc:
        raise ValueError(f"--observable is not JSON ({exc.msg})") from None
    terms = list(data.items()) if isinstance(data, dict) else data
    try:
        return PauliSum.from_list([(str(label), float(coeff)) for label, coeff in terms])
    except (TypeError, ValueError):
        raise ValueError(
            '--observable must be [["ZZ", 1.0], ...] or {"ZZ": 1.0, ...}, got ' + raw[:80]
        ) from None


def _jsonable_result(value):
    import numpy as np

    if isinstance(value, list):
        return [_jsonable_result(v) for v in value]
    if isinstance(value, np.ndarray):
        return value.tolist()
    return value


_MODE_HELP = "job, batch or session."
_OBSERVABLE_HELP = (
    'PauliSum JSON (inline or a file), e.g. [["ZZ", 1.0]]: runs the Estimator, not the Sampler.'
)


@app.command("submit")
def submit(
    target: str = typer.Argument(..., help="An OpenQASM file or a QAS run directory."),
    backend: str = typer.Option(
        ..., "--backend", help="fake_manila, fake_fez, ... (offline), aer, or an IBM backend."
    ),
    shots: int = typer.Option(4096, "--shots", min=1),
    observable: str = typer.Option(None, "--observable", help=_OBSERVABLE_HELP),
    mode: str = typer.Option("job", "--mode", help=_MODE_HELP),
    resilience_level: int = typer.Option(
        0, "--resilience-level", min=0, max=2, help="Estimator: 0 raw, 1 readout, 2 + ZNE."
    ),
    twirling: bool = typer.Option(
        None, "--twirling/--no-twirling", help="Pauli twirling (default: as the level needs)."
    ),
    dynamical_decoupling: bool = typer.Option(False, "--dd", help="Dynamical decoupling."),
    tag: list[str] = typer.Option(None, "--tag", help="A tag for the job (repeatable)."),  # noqa: B008
    seed: int = typer.Option(0, "--seed", help="Transpiler (and local simulator) seed."),
    json_output: bool = typer.Option(False, "--json", help="Print the job record as JSON."),
) -> None:
    """Submit a circuit to IBM hardware (or a fake backend); the job goes to the job store."""
    from qworkbench import hardware

    try:
        circuit = _read_circuit(target)
        observables = None if observable is None else _read_observable(observable)
        record = hardware.submit(circuit, backend, shots=shots, observables=observables,
                                 mode=mode, resilience_level=resilience_level,
                                 twirling=twirling, dynamical_decoupling=dynamical_decoupling,
                                 tags=tag or (), seed=seed)  # fmt: skip
    except (hardware.HardwareError, ValueError, TypeError, OSError) as exc:
        _hardware_fail("submit", exc)
    if json_output:
        typer.echo(record.to_json())
        return
    typer.echo(f"job {record.id} on {record.backend}: {record.status} ({record.primitive})")
    typer.echo(f"  qwb retrieve {record.id}")


@app.command("jobs")
def jobs(
    json_output: bool = typer.Option(False, "--json", help="One JSON record per line."),
) -> None:
    """List the submitted hardware jobs (the job store under QWB_HOME)."""
    from qworkbench import hardware

    records = hardware.jobs()
    if json_output:
        for record in records:
            typer.echo(record.to_json())
        return
    if not records:
        typer.echo(f"no jobs in {hardware.JobStore().path}")
        return
    columns = ("id", "backend", "primitive", "mode", "status", "created", "tags")
    rows = [[str(getattr(r, c)) if c != "tags" else ",".join(r.tags) for c in columns]
            for r in records]  # fmt: skip
    widths = [max(len(c), *(len(row[i]) for row in rows)) for i, c in enumerate(columns)]
    typer.echo("  ".join(c.ljust(w) for c, w in zip(columns, widths)).rstrip())
    for row in rows:
        typer.echo("  ".join(v.ljust(w) for v, w in zip(row, widths)).rstrip())


@app.command("retrieve")
def retrieve(job_id: str = typer.Argument(..., help="A job id of `qwb jobs`.")) -> None:
    """Print a job's result as JSON: counts (qubit 0 rightmost) or expectation values."""
    import json

    from qworkbench import hardware

    try:
        value = hardware.retrieve(job_id)
    except (hardware.HardwareError, ValueError) as exc:
        _hardware_fail("retrieve", exc)
    typer.echo(json.dumps(_jsonable_result(value)))


@qas_app.command("submit")
def qas_submit(
    run_dir: str = typer.Argument(..., help="A run directory of qwb qas run."),
    backend: str = typer.Option(..., "--backend", help="fake_manila (offline) or IBM backend."),
    shots: int = typer.Option(4096, "--shots", min=1),
    resilience_level: int = typer.Option(1, "--resilience-level", min=1, max=2),
    seed: int = typer.Option(0, "--seed"),
    mode: str = typer.Option("job", "--mode", help=_MODE_HELP),
) -> None:
    """Energy of a run's best circuit on a backend: ideal vs noisy vs mitigated.

    Written to RUN_DIR/hardware-BACKEND.json beside the run."""
    import json
    from pathlib import Path

    from qworkbench import hardware

    run = Path(run_dir)
    try:
        config_path = run / "config.json"
        if not config_path.exists():
            raise FileNotFoundError(f"{run_dir} is not a QAS run directory (no config.json)")
        task_name = json.loads(config_path.read_text())["env"]["task"]
        circuit = _read_circuit(run_dir)
        from tasks import get_task

        task = get_task(task_name)
        if task.hamiltonian is None:
            raise ValueError(f"task {task_name!r} is a state task: it has no energy to estimate")
        out = hardware.compare_energies(circuit, task.hamiltonian, backend, shots=shots,
                                        resilience_level=resilience_level, seed=seed,
                                        mode=mode, tags=(f"qas:{run.name}",))  # fmt: skip
    except (hardware.HardwareError, ValueError, TypeError, OSError, KeyError) as exc:
        _hardware_fail("qas submit", exc)
    out = {"task": task_name, "exact_energy": task.exact_energy, **out}
    from agents.base import atomic_write

    path = run / f"hardware-{out['backend']}.json"
    atomic_write(path, json.dumps(out, indent=2))
    typer.echo(f"{task_name} on {out['backend']} ({shots} shots):")
    for key in ("exact_energy", "ideal", "noisy", "mitigated"):
        typer.echo(f"  {key:<13} {out[key]:+.6f} Ha")
    typer.echo(f"(written to {path})")


def main(argv: list[str] | None = None) -> None:
    """Entry point of the ``qwb`` console script."""
    app(args=argv if argv is not None else sys.argv[1:], prog_name="qwb")
