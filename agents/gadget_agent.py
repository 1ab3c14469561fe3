"""Gadget RL (Kundu et al., "Reinforcement learning with learned gadgets to tackle hard
quantum problems on real hardware").

1. Train a base agent (``crlqas`` for energy tasks, ``dqn`` for state tasks) on an
   easier instance (default: the same family with one qubit fewer, e.g. tfim3 for
   tfim4, or the task itself when there is none).
2. Mine gadgets from its best circuits by library learning
   (:func:`agents.gadgets.mine_gadgets`: the gate subsequence, angles abstracted, whose
   replacement by one symbol most shortens the top-K circuits, repeatedly).
3. Add every placement of the gadgets on the hard task's qubits as composite actions
   and train a fresh base agent there.
"""

from __future__ import annotations

import json
import re
from pathlib import Path

from agents.base import Agent
from agents.env import Action
from agents.gadgets import Gadget, gadget_actions, mine_gadgets
from qworkbench.utils import atomic_write, positive_int

__all__ = ["GadgetAgent", "easier_task"]

_DEFAULTS = {"base": None, "easy_task": None, "easy_episodes": 200, "top_k": 20,
             "n_gadgets": 2, "max_len": 3}  # fmt: skip


def easier_task(name: str) -> str:
    """The same family with one qubit fewer when registered (tfim4 -> tfim3)."""
    import tasks

    match = re.fullmatch(r"([a-z_]+?)(\d+)", name)
    if match and int(match.group(2)) > 2:
        smaller = f"{match.group(1)}{int(match.group(2)) - 1}"
        if smaller in tasks.available():
            return smaller
    return name


class GadgetAgent(Agent):
    """Train on an easy instance, mine gadgets, retrain with them as composite actions.

    Hyperparameters: ``base`` (agent name), ``easy_task``, ``easy_episodes`` (200),
    ``top_k`` (20 best circuits mined), ``n_gadgets`` (2), ``max_len`` (3 gates); the
    rest go to the base agents. After :meth:`train`, ``agent.env`` is the hard task's
    environment with the gadget actions and ``agent.gadgets`` the mined gadgets.
    """

    name = "gadget"

    @classmethod
    def known_hyper(cls) -> list[str]:
        """Its own keys plus those of the base agents (passed on to them)."""
        from agents.dqn import CRLQASAgent

        return sorted({*_DEFAULTS, *CRLQASAgent.known_hyper()})

    def __init__(self, env, preset: str = "fast", seed=None, **hyper):
        settings = dict(_DEFAULTS)
        settings.update({k: hyper.pop(k) for k in list(hyper) if k in _DEFAULTS})
        super().__init__(env, seed=seed)
        self.preset = preset
        self.settings = settings
        self.base_hyper = hyper
        if settings["base"] is None:
            settings["base"] = "crlqas" if env.kind == "energy" else "dqn"
        if settings["base"] in ("gadget", "random"):
            raise ValueError(f"base must be a learning agent, got {settings['base']!r}")
        if settings["easy_task"] is None:
            settings["easy_task"] = easier_task(env.task.name)
        for key in ("easy_episodes", "top_k", "n_gadgets", "max_len"):
            settings[key] = positive_int(key, settings[key])
        self.gadgets: list[Gadget] = []
        self.inner: Agent | None = None
        self.easy_agent: Agent | None = None
        from agents import make_agent

        make_agent(settings["base"], env.with_actions(()), preset=preset, **hyper)  # validate

    def config(self) -> dict:
        return {"agent": self.name, "seed": self.seed, "preset": self.preset,
                **self.settings, **self.base_hyper}  # fmt: skip

    def mine(self) -> list[Gadget]:
        """Phase 1 and 2: train on the easy task and mine gadgets from its best circuits."""
        from agents import make_agent

        s = self.settings
        easy_env = self.env.with_actions((), task=s["easy_task"])
        self.easy_agent = make_agent(s["base"], easy_env, preset=self.preset, seed=self.seed,
                                     **self.base_hyper)  # fmt: skip
        self.easy_agent.train(s["easy_episodes"])
        circuits = [gates for _, gates in self.easy_agent.elite if gates]
        self.gadgets = mine_gadgets(circuits, top_k=s["top_k"], max_len=s["max_len"],
                                    n_gadgets=s["n_gadgets"])  # fmt: skip
        return self.gadgets

    def _hard_agent(self):
        from agents import make_agent

        actions = [
            Action(tuple(g.instantiate(q)), f"{g.name}{list(q)}")
            for g, q in gadget_actions(self.gadgets, self.env.n)
        ]
        hard_env = self.env.with_actions(actions)
        self.env = hard_env
        return make_agent(self.settings["base"], hard_env, preset=self.preset, seed=self.seed,
                          **self.base_hyper)  # fmt: skip

    def train(self, episodes, callback=None, run_dir=None, checkpoint_every=25, resume=False,
              eval_every=None):  # fmt: skip
        """Mine gadgets (once; saved as ``gadgets.json`` in ``run_dir``), then train on
        the hard task with them for ``episodes`` episodes."""
        path = None if run_dir is None else Path(run_dir) / "gadgets.json"
        if self.inner is None:
            if resume and path is not None and path.exists():
                self.gadgets = [Gadget.from_json(g) for g in json.loads(path.read_text())]
            else:
                self.mine()
                if path is not None:
                    atomic_write(path, json.dumps([g.to_json() for g in self.gadgets], indent=2))
            self.inner = self._hard_agent()
        log = self.inner.train(episodes, callback=callback, run_dir=run_dir,
                               checkpoint_every=checkpoint_every, resume=resume,
                               eval_every=eval_every)  # fmt: skip
        self.evaluations = self.inner.evaluations
        if run_dir is not None:  # the run's config is the gadget agent's, the base nested
            config = {**self.full_config(), "base_agent": self.inner.config()}
            atomic_write(Path(run_dir) / "gadget_config.json", json.dumps(config, indent=2))
        self.log = log
        self.episode = self.inner.episode
        return log

    def run_episode(self, explore: bool = True) -> dict:
        """One episode of the trained hard-task agent (after :meth:`train`)."""
        if self.inner is None:
            raise RuntimeError("train the gadget agent first (gadgets are mined in train)")
        return self.inner.run_episode(explore=explore)

    def evaluate(self, episodes: int = 1) -> dict:
        """The hard-task agent's greedy evaluation (after :meth:`train`)."""
        if self.inner is None:
            raise RuntimeError("train the gadget agent first (gadgets are mined in train)")
        return self.inner.evaluate(episodes)

    @property
    def best_circuit(self):
        return None if self.inner is None else self.inner.best_circuit

    @property
    def best_record(self):
        return None if self.inner is None else self.inner.best_record
