"""One QAS run: one agent trained on one registry task, with checkpoints and resume
(what ``qwb qas run`` calls). Benchmarks, sweeps, tables and plots of runs are in
:mod:`qworkbench.experiments` (``qas``, ``sweep``, ``tables``, ``plots``).
"""

from __future__ import annotations

__all__ = [
    "parse_noise",
    "default_max_gates",
    "default_gate_set",
    "make_env",
    "run",
]


def parse_noise(spec, num_qubits: int):
    """``none``, ``depolarizing:P[,P2]`` or a fake IBM backend name (``fake_manila``,
    ``fake_fez``, ...: its noise on the first ``num_qubits`` qubits): the one parser,
    :meth:`simulators.noise.NoiseModel.parse`."""
    from simulators.noise import NoiseModel

    return NoiseModel.parse(spec, num_qubits)


def default_gate_set(task) -> str:
    """``kanqas`` gates for state tasks, ``crlqas`` for energy tasks."""
    return "kanqas" if task.kind == "state" else "crlqas"


def default_max_gates(task) -> int:
    """The gate budget L: 3N for state tasks (Bell 6), 20 up to 4 qubits (energy), 70
    for 5-6 qubits (LiH-6 needs ~67 in CRLQAS), 100 above."""
    n = task.num_qubits
    if task.kind == "state":
        return 3 * n
    return 20 if n <= 4 else 70 if n <= 6 else 100


def make_env(task: str, seed=None, noise=None, max_gates=None, gate_set=None, **options):
    """A :class:`QASEnv` for a registry task with the defaults above."""
    from agents.env import QASEnv, resolve_task

    task_kwargs = {k: options.pop(k) for k in ("bond_length", "h", "J") if k in options}
    resolved = resolve_task(task, **task_kwargs)
    noise_model = parse_noise(noise, resolved.num_qubits)
    return QASEnv(
        resolved,
        max_gates=max_gates or default_max_gates(resolved),
        gate_set=gate_set or default_gate_set(resolved),
        noise=noise_model,
        seed=seed,
        **options,
    )


def run(task: str, agent: str, episodes: int | None = None, seed: int = 0, noise=None,
        out=None, resume: bool = False, preset: str = "fast", max_gates=None, gate_set=None,
        callback=None, random_halt: bool | None = None, eval_every: int | None = None,
        **hyper):  # fmt: skip
    """Train ``agent`` on ``task``; returns the agent (its log, best circuit, greedy
    evaluations...).

    ``preset`` (:mod:`agents.presets`) sets the gate budget, gate set, random halting,
    the agent's hyperparameters and, for ``paper``, the episodes; explicit arguments
    and ``hyper`` override it.
    """
    from agents import make_agent
    from agents.presets import resolve

    settings = resolve(task, agent, preset)
    if episodes is None:
        episodes = settings.episodes
        if episodes is None:
            raise ValueError(f"give episodes: preset {preset!r} has no budget for {task!r}")
    env = make_env(task, seed=seed, noise=noise,
                   max_gates=max_gates or settings.env.get("max_gates"),
                   gate_set=gate_set or settings.env.get("gate_set"),
                   random_halt=bool(settings.env.get("random_halt", False)
                                    if random_halt is None else random_halt))  # fmt: skip
    trained = make_agent(agent, env, preset=preset, seed=seed, **hyper)
    trained.train(episodes, callback=callback, run_dir=out, resume=resume, eval_every=eval_every)
    return trained
