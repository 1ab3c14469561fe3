"""The baseline: uniformly random allowed actions, with the same angle re-fitting.

Random gates plus full angle re-fitting already solve easy tasks (H2-4q reaches chemical
accuracy in a few of the first episodes), so every benchmark table carries this row.
"""

from __future__ import annotations

import numpy as np

from agents.base import Agent

__all__ = ["RandomAgent"]


class RandomAgent(Agent):
    """Picks uniformly among the actions ``info["action_mask"]`` allows."""

    name = "random"

    def __init__(self, env, preset: str = "fast", seed=None, **hyper):
        super().__init__(env, seed=seed, **hyper)
        self.preset = preset

    def act(self, obs, mask, explore: bool = True) -> int:
        return int(self.rng.choice(np.flatnonzero(mask)))
