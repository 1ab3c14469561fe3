"""KANQAS: the double DQN of :mod:`agents.dqn` with a Kolmogorov–Arnold-network
Q-function (Kundu et al., "KANQAS: Kolmogorov-Arnold Network for Quantum Architecture
Search", 2024).

The Q-network is :class:`agents.kan.KAN` with widths [inputs, 2, actions], grid 5 and
spline order 3 (the paper's); every ``grid_update_every`` gradient steps its grids are
refitted to observations drawn from the replay buffer (pykan's update from samples),
which keeps the splines' support where the inputs are.
"""

from __future__ import annotations

import torch

from agents.dqn import DQNAgent
from agents.kan import KAN

__all__ = ["KANQASAgent"]

_DEFAULTS = {"kan_hidden": (2,), "grid": 5, "order": 3, "grid_update_every": 200,
             "grid_samples": 1000}  # fmt: skip


class KANQASAgent(DQNAgent):
    """Double DQN with a KAN Q-function.

    Extra hyperparameters: ``kan_hidden`` (hidden widths, default (2,)), ``grid`` (5),
    ``order`` (3), ``grid_update_every`` (gradient steps between grid refits, 200; 0
    turns refits off) and ``grid_samples`` (replay observations per refit, 1000).
    """

    name = "kanqas"

    @staticmethod
    def _extra_hyper() -> tuple[str, ...]:
        return tuple(_DEFAULTS)

    def _kan_setting(self, key):
        return getattr(self, "extra", {}).get(key, _DEFAULTS[key])

    def build_network(self, n_in: int, n_out: int):
        hidden = tuple(int(w) for w in self._kan_setting("kan_hidden"))
        return KAN([n_in, *hidden, n_out], grid=int(self._kan_setting("grid")),
                   order=int(self._kan_setting("order")))  # fmt: skip

    def __init__(self, env, preset: str = "fast", seed=None, **hyper):
        # the networks are built inside DQNAgent.__init__, which needs self.extra first
        self.extra = {k: hyper[k] for k in _DEFAULTS if k in hyper}
        every = self.extra.get("grid_update_every", _DEFAULTS["grid_update_every"])
        if isinstance(every, bool) or not isinstance(every, int) or every < 0:
            raise ValueError(f"grid_update_every must be a non-negative integer, got {every!r}")
        super().__init__(env, preset=preset, seed=seed, **hyper)

    def update(self) -> float:
        loss = super().update()
        every = self._kan_setting("grid_update_every")
        if every and self.updates % every == 0:
            count = min(len(self.replay), int(self._kan_setting("grid_samples")))
            idx = self.rng.choice(len(self.replay), size=count, replace=False)
            samples = torch.from_numpy(self.replay.obs[idx])
            # grid_eps=1: uniform grids over the samples' range (quantile knots on one-hot
            # inputs would collapse onto 0 and 1)
            self.online.update_grid(samples, grid_eps=1.0)
        return loss
