"""``qwb vqe`` and ``qwb qaoa``: solve one problem (a molecule, a combinatorial problem)."""

from __future__ import annotations

import typer

from qworkbench.cli._app import app
from qworkbench.cli._common import choice, fail, progress, warnings_as_lines, writable_file


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

    start = time.perf_counter()
    if out is not None:
        writable_file("vqe", out)  # before the (long) work, not after it
    try:
        building = f"building the Hamiltonian of {task or molecule}"
        with progress("vqe", None, building, quiet=json_output):
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
                        fail("vqe", f"--active must be 'ELECTRONS,ORBITALS', got {active!r}")
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
            fail("vqe", f"--ansatz must be 'uccsd' or 'hea', got {ansatz!r}")
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
        fail("vqe", str(exc))
    # a warning (e.g. that the optimizer did not converge): one line, after the bar
    bar_label = f"{label} iteration"
    with warnings_as_lines("vqe"), progress("vqe", maxiter, bar_label, quiet=json_output) as bar:
        result = solver.run(callback=lambda _params, value: bar.advance(1, f"energy {value:+.8f}"))
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
        "converged": getattr(result, "converged", None),
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
    if json_output:  # printed first: a failing write loses nothing
        typer.echo(json.dumps(summary))
    if out is not None:
        from qworkbench.utils import append_line

        try:
            append_line(out, json.dumps(summary))
        except OSError as exc:
            fail("vqe", f"--out {out}: writing the result failed ({exc.strerror or exc})")


_QAOA_METHODS = ("penalty_slack", "dual_ascent", "bundle", "cutting_plane", "augmented_lagrangian")


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

    from qworkbench.experiments.qaoa import PROBLEMS, build_problem, solve

    choice(problem, PROBLEMS, "--problem")
    choice(mixer, ("x", "xy"), "--mixer")
    choice(init, ("linear_ramp", "interp", "random"), "--init")
    choice(method, _QAOA_METHODS, "--method")
    choice(solver, ("qaoa", "exact", "vqe"), "--solver")
    for value, name in ((p, "--p"), (shots, "--shots"), (maxiter, "--maxiter"), (index, "--index")):
        if value is not None and value < 1:
            raise typer.BadParameter(f"must be a positive integer, got {value}", param_hint=name)
    if cvar_alpha is not None and not 0 < cvar_alpha <= 1:
        raise typer.BadParameter(f"must be in (0, 1], got {cvar_alpha}", param_hint="--cvar-alpha")
    if seed is None:  # drawn and said, so that the run (and a random instance) repeats
        import secrets

        seed = secrets.randbelow(2**31)
        typer.echo(f"qwb qaoa: seed {seed} (pass --seed {seed} to repeat)", err=True)
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
        with progress("qaoa", None, method or "evaluations", quiet=as_json) as bar:

            def report(nfev: int, value: float) -> None:
                bar.advance(nfev - bar.done, f"objective {value:.6g}")

            out = solve(prob, method=method, solver=solver, callback=report, **options)
    except (ValueError, OSError, MemoryError) as exc:
        fail("qaoa", exc)
    out = {"problem": problem, "instance": instance or f"random:{random_size}", "seed": seed,
           **out}  # fmt: skip
    if as_json:
        typer.echo(json.dumps(out))
        return
    for key, value in out.items():
        if key not in ("params",):
            typer.echo(f"{key:>20}: {value}")
