"""What every QAS agent shares: the training loop, the episode log, the best circuit,
and checkpoints that make ``--resume`` after a kill reproduce the uninterrupted run.

A run directory holds ``config.json``, ``episodes.jsonl`` (one JSON line per episode:
``episode reward energy error|fidelity threshold gates cnots depth success seconds``),
``evaluations.jsonl`` (one line per greedy evaluation: ``episode solved error|fidelity
gates cnots depth seconds``, see :meth:`Agent.evaluate`), ``best_circuit.qasm`` and
``checkpoint.pt`` (networks, optimizer, replay, curriculum and every RNG state), all
written atomically.
"""

from __future__ import annotations

import json
import math
import time
from collections.abc import Callable
from pathlib import Path

import numpy as np
import torch

from agents.env import QASEnv
from qworkbench import Circuit
from qworkbench.utils import atomic_write, non_negative_int, positive_int

__all__ = ["Agent", "atomic_write", "EpisodeRecord"]

EpisodeRecord = dict


def _jsonable(value):
    if isinstance(value, float) and not math.isfinite(value):
        return None
    if isinstance(value, np.floating | np.integer):
        return value.item()
    return value


class Agent:
    """Base class: subclasses implement :meth:`act` and (to learn) :meth:`observe`.

    Args:
        env: a :class:`QASEnv`.
        seed: seeds the agent's exploration, network initialisation and the env.
    """

    name = "agent"
    #: torch threads while training: the networks are small, and on a busy machine waking
    #: a thread pool for each small matrix product costs more than the product
    threads = 1

    def __init__(self, env: QASEnv, seed=None, **hyper):
        if not isinstance(env, QASEnv):
            raise TypeError(f"env must be a QASEnv, got {type(env).__name__}")
        if hyper:
            raise ValueError(f"unknown hyperparameter(s) for {self.name!r}: {sorted(hyper)}")
        from qworkbench.utils import int_seed

        seed = int_seed(seed)
        if seed is not None and seed < 0:
            raise ValueError(f"seed must be a non-negative integer, got {seed}")
        self.env = env
        self.seed = seed
        # independent streams from one seed: the agent's draws, the env's (halting, shot
        # noise) and torch's (network initialisation)
        agent_ss, env_ss, torch_ss = np.random.SeedSequence(seed).spawn(3)
        self.rng = np.random.default_rng(agent_ss)
        self.env_seed = None if seed is None else int(env_ss.generate_state(1)[0])
        self.torch_seed = int(torch_ss.generate_state(1)[0])
        self.episode = 0
        self.total_steps = 0
        self.log: list[EpisodeRecord] = []
        self._best: tuple | None = None  # (key, circuit, record)
        self._env_seeded = False
        self.elite: list[tuple[tuple, list]] = []
        self.evaluations: list[dict] = []
        self._eval_env: tuple[int, QASEnv] | None = None

    # -- to override ----------------------------------------------------------------------
    def act(self, obs: np.ndarray, mask: np.ndarray, explore: bool = True) -> int:
        raise NotImplementedError

    def observe(self, obs, action, reward, next_obs, terminated, truncated, next_mask) -> None:
        """One transition (learning agents store it and train)."""

    def end_episode(self) -> None:
        """Called after each episode (e.g. to refit KAN grids)."""

    def agent_state(self) -> dict:
        """Learning state for checkpoints (networks, optimizer, replay)."""
        return {}

    def load_agent_state(self, state: dict) -> None:
        pass

    def config(self) -> dict:
        return {"agent": self.name, "seed": self.seed}

    # -- the loop -------------------------------------------------------------------------
    def _consider_best(self, record: dict) -> None:
        env = self.env
        success = record["success"]
        score = record["error"] if env.kind == "energy" else -record["fidelity"]
        # successes first, then fewer gates, then the better score
        key = (0, record["gates"], score) if success else (1, score, record["gates"])
        if self._best is None or key < self._best[0]:
            self._best = (key, env.circuit(bound=True), dict(record))

    def run_episode(self, explore: bool = True) -> dict:
        env = self.env
        if not self._env_seeded:
            obs, info = env.reset(seed=self.env_seed)  # None keeps the env's own seed
            self._env_seeded = True
        else:
            obs, info = env.reset()
        start = time.perf_counter()
        total = 0.0
        done = False
        record = None
        while not done:
            mask = info["action_mask"]
            action = self.act(obs, mask, explore=explore)
            next_obs, reward, terminated, truncated, info = env.step(action)
            total += reward
            if explore:
                self.observe(
                    obs, action, reward, next_obs, terminated, truncated, info["action_mask"]
                )
            self.total_steps += 1
            obs = next_obs
            done = terminated or truncated
            step_record = self._record(info, total)
            self._consider_best(step_record)
            record = step_record
        if explore:
            self.end_episode()
        record["seconds"] = time.perf_counter() - start
        record["episode"] = self.episode
        self._keep_elite(record)
        return record

    # -- greedy evaluation ----------------------------------------------------------------
    def _evaluation_env(self) -> QASEnv:
        """A copy of the training env for greedy episodes: the same task, gates and
        actions, no curriculum and no halting, ending at the success criterion."""
        if self._eval_env is None or self._eval_env[0] != id(self.env):
            extra = [a for a in self.env.actions if len(a.gates) > 1]
            env = self.env.with_actions(extra, random_halt=False, threshold=None, seed=0)
            self._eval_env = (id(self.env), env)
        return self._eval_env[1]

    def evaluate(self, episodes: int = 1) -> dict:
        """Run the greedy policy (epsilon 0) for ``episodes`` episodes on a copy of the
        env, without touching training: no replay, epsilon, curriculum, log or RNG stream
        of training changes (the agent's and torch's RNG states are restored).

        Returns the best of the episodes: ``solved`` (chemical accuracy / the target
        fidelity), ``error`` and ``energy`` or ``fidelity``, ``gates``, ``cnots``,
        ``depth``, ``qasm`` (the greedy circuit, angles bound), ``solved_share`` over the
        episodes, ``episode`` (episodes trained so
        far) and ``seconds`` (training wall-clock so far). The random agent's "policy" is
        a random episode.
        """
        episodes = positive_int("episodes", episodes)
        env = self._evaluation_env()
        rng_state = self.rng.bit_generator.state
        torch_state = torch.get_rng_state()
        results = []
        try:
            for _ in range(episodes):
                obs, info = env.reset()
                done = False
                while not done:
                    action = self.act(obs, info["action_mask"], explore=False)
                    obs, _, terminated, truncated, info = env.step(action)
                    done = terminated or truncated
                result = {"solved": bool(info["success"]), "gates": info["gates"],
                          "cnots": info["cnots"], "depth": info["depth"],
                          "qasm": env.circuit(bound=True).to_qasm(version=2)}  # fmt: skip
                if env.kind == "energy":
                    result.update(error=info["error"], energy=info["energy"])
                else:
                    result["fidelity"] = info["fidelity"]
                results.append(result)
        finally:
            self.rng.bit_generator.state = rng_state
            torch.set_rng_state(torch_state)

        def rank(r):
            score = r["error"] if env.kind == "energy" else -r["fidelity"]
            return (not r["solved"], r["gates"] if r["solved"] else score)

        best = dict(min(results, key=rank))
        best["solved_share"] = sum(r["solved"] for r in results) / len(results)
        best["episode"] = self.episode
        best["seconds"] = sum(r.get("seconds", 0.0) for r in self.log)
        return best

    def _keep_elite(self, record: dict, size: int = 50) -> None:
        """The ``size`` best final circuits of all episodes, as gate tokens (the input
        of gadget mining): successes first, then by error / fidelity."""
        score = record["error"] if self.env.kind == "energy" else -record["fidelity"]
        key = (not record["success"], score, record["gates"])
        self.elite.append((key, list(self.env.gates)))
        self.elite.sort(key=lambda item: item[0])
        del self.elite[size:]

    def _record(self, info: dict, total: float) -> dict:
        record = {
            "episode": self.episode,
            "reward": total,
            "gates": info["gates"],
            "cnots": info["cnots"],
            "depth": info["depth"],
            "threshold": info["threshold"],
            "success": info["success"],
        }
        if self.env.kind == "energy":
            record["energy"] = info["energy"]
            record["error"] = info["error"]
        else:
            record["fidelity"] = info["fidelity"]
        return record

    def train(
        self,
        episodes: int,
        callback: Callable[[dict], object] | None = None,
        run_dir=None,
        checkpoint_every: int = 25,
        resume: bool = False,
        eval_every: int | None = None,
    ) -> list[dict]:
        """Train until ``episodes`` episodes in total have run; returns the log.

        Args:
            callback: called with each episode's record; returning ``False`` stops.
            run_dir: where to write the run (config, episode log, best circuit and
                checkpoints); ``None`` keeps everything in memory.
            checkpoint_every: episodes between checkpoints (and at the end).
            resume: continue from ``run_dir``'s checkpoint; the log is cut back to it, so
                the finished log equals an uninterrupted run's.
            eval_every: run :meth:`evaluate` every this many episodes and at the end
                (kept in ``self.evaluations`` and ``evaluations.jsonl``); default
                ``max(10, episodes // 20)``; 0 turns it off.
        """
        episodes = positive_int("episodes", episodes)
        checkpoint_every = positive_int("checkpoint_every", checkpoint_every)
        if eval_every is None:
            eval_every = max(10, episodes // 20)
        eval_every = non_negative_int("eval_every", eval_every)
        run = None if run_dir is None else Path(run_dir)
        if run is not None:
            run.mkdir(parents=True, exist_ok=True)
            if resume and (run / "checkpoint.pt").exists():
                self.load_checkpoint(run)
            elif resume and (run / "config.json").exists():
                self._check_config(run)  # killed before its first checkpoint: start over
            elif resume:
                raise FileNotFoundError(f"nothing to resume in {run}: no checkpoint.pt")
            elif (run / "episodes.jsonl").exists() and (run / "episodes.jsonl").stat().st_size:
                raise FileExistsError(
                    f"{run} already holds a run; pass resume=True (--resume) or another directory"
                )
            atomic_write(run / "config.json", json.dumps(self.full_config(), indent=2))
            lines = [json.dumps({k: _jsonable(v) for k, v in r.items()}) for r in self.log]
            atomic_write(run / "episodes.jsonl", "".join(line + "\n" for line in lines))
            lines = [json.dumps({k: _jsonable(v) for k, v in r.items()}) for r in self.evaluations]
            atomic_write(run / "evaluations.jsonl", "".join(line + "\n" for line in lines))
            if self.episode == 0:
                self.save_checkpoint(run)  # a kill before the first periodic one resumes
        log_file = None if run is None else open(run / "episodes.jsonl", "a")  # noqa: SIM115
        threads = torch.get_num_threads()
        torch.set_num_threads(self.threads)
        try:
            while self.episode < episodes:
                record = self.run_episode()
                self.episode += 1
                self.log.append(record)
                if log_file is not None:
                    log_file.write(json.dumps({k: _jsonable(v) for k, v in record.items()}) + "\n")
                    log_file.flush()
                stop = callback is not None and callback(record) is False
                last = stop or self.episode >= episodes
                if eval_every and (self.episode % eval_every == 0 or last):
                    self._record_evaluation(run)
                if run is not None and (self.episode % checkpoint_every == 0 or stop):
                    self.save_checkpoint(run)
                if stop:
                    break
            if eval_every and self.episode >= episodes:  # e.g. resumed at the end already
                self._record_evaluation(run)
        finally:
            torch.set_num_threads(threads)
            if log_file is not None:
                log_file.close()
        if run is not None:
            self.save_checkpoint(run)
        return self.log

    def _record_evaluation(self, run: Path | None) -> None:
        if self.evaluations and self.evaluations[-1]["episode"] == self.episode:
            return
        result = self.evaluate()
        self.evaluations.append(result)
        if run is not None:
            with open(run / "evaluations.jsonl", "a") as f:
                f.write(json.dumps({k: _jsonable(v) for k, v in result.items()}) + "\n")

    # -- results --------------------------------------------------------------------------
    @property
    def best_circuit(self) -> Circuit | None:
        """The best circuit so far (angles bound): the smallest successful one, else the
        one with the lowest error (highest fidelity)."""
        return None if self._best is None else self._best[1]

    @property
    def best_record(self) -> dict | None:
        return None if self._best is None else self._best[2]

    def full_config(self) -> dict:
        env = self.env
        env_config = {k: v for k, v in env.config.items() if k not in ("noise",)}
        env_config["task"] = env.task.name
        env_config["noise"] = None if env.noise is None else repr(env.noise)
        env_config["extra_actions"] = [a.label for a in env.actions if len(a.gates) > 1]
        return {"env": env_config, **self.config()}

    # -- checkpoints ----------------------------------------------------------------------
    def state_dict(self) -> dict:
        best = None
        if self._best is not None:
            best = (self._best[0], self._best[1].to_qasm(version=3), self._best[2])
        return {
            "config": json.loads(json.dumps(self.full_config())),
            "episode": self.episode,
            "total_steps": self.total_steps,
            "log": self.log,
            "best": best,
            "rng": self.rng.bit_generator.state,
            "torch_rng": torch.get_rng_state(),
            "env": self.env.state_dict(),
            "env_seeded": self._env_seeded,
            "elite": self.elite,
            "evaluations": self.evaluations,
            "agent": self.agent_state(),
        }

    def load_state_dict(self, state: dict) -> None:
        self.episode = state["episode"]
        self.total_steps = state["total_steps"]
        self.log = list(state["log"])
        best = state["best"]
        if best is not None:
            best = (tuple(best[0]), Circuit.from_qasm(best[1]), best[2])
        self._best = best
        self.rng.bit_generator.state = state["rng"]
        torch.set_rng_state(state["torch_rng"])
        self.env.load_state_dict(state["env"])
        self._env_seeded = state["env_seeded"]
        self.elite = [(tuple(k), list(g)) for k, g in state.get("elite", [])]
        self.evaluations = [dict(e) for e in state.get("evaluations", [])]
        self.load_agent_state(state["agent"])

    def save_checkpoint(self, run_dir) -> None:
        import io

        run = Path(run_dir)
        buffer = io.BytesIO()
        torch.save(self.state_dict(), buffer)
        atomic_write(run / "checkpoint.pt", buffer.getvalue())
        if self.best_circuit is not None:
            atomic_write(run / "best_circuit.qasm", self.best_circuit.to_qasm(version=2))

    def _check_config(self, run_dir, saved: dict | None = None) -> None:
        """Refuse to resume a run made with other settings (naming the ones that differ)."""
        if saved is None:
            try:
                saved = json.loads((Path(run_dir) / "config.json").read_text())
            except (OSError, json.JSONDecodeError) as exc:
                raise ValueError(f"cannot read {run_dir}/config.json: {exc}") from exc
        ours = json.loads(json.dumps(self.full_config()))

        def flat(d, prefix=""):
            out = {}
            for key, value in d.items():
                if isinstance(value, dict):
                    out.update(flat(value, f"{prefix}{key}."))
                else:
                    out[f"{prefix}{key}"] = value
            return out

        a, b = flat(saved), flat(ours)
        differ = sorted(k for k in set(a) | set(b) if a.get(k) != b.get(k))
        if differ:
            detail = ", ".join(f"{k}: {a.get(k)!r} -> {b.get(k)!r}" for k in differ)
            raise ValueError(f"cannot resume {run_dir} with other settings ({detail})")

    def load_checkpoint(self, run_dir) -> None:
        path = Path(run_dir) / "checkpoint.pt"
        try:
            state = torch.load(path, weights_only=False)
        except Exception as exc:  # a truncated or foreign file
            raise ValueError(f"cannot read the checkpoint {path}: {exc}") from exc
        if not isinstance(state, dict) or "config" not in state:
            raise ValueError(f"{path} is not a qworkbench QAS checkpoint")
        self._check_config(run_dir, state["config"])
        try:
            self.load_state_dict(state)
        except (KeyError, RuntimeError, TypeError) as exc:
            raise ValueError(f"the checkpoint {path} does not fit this agent: {exc}") from exc
