"""Replay buffer with n-step returns, and the epsilon schedule (shared by the DQN agents)."""

from __future__ import annotations

from collections import deque

import numpy as np

from qworkbench.utils import check_allocation, positive_int

__all__ = ["ReplayBuffer", "NStepAccumulator", "EpsilonSchedule"]


class ReplayBuffer:
    """A ring buffer of transitions ``(obs, action, return, next_obs, done, discount,
    next_mask)`` in preallocated NumPy arrays (the memory is checked up front)."""

    def __init__(self, capacity: int, obs_size: int, num_actions: int):
        capacity = positive_int("replay capacity", capacity)

        nbytes = capacity * (2 * obs_size * 4 + num_actions + 32)
        check_allocation(nbytes, f"a replay buffer of {capacity} transitions", None)
        self.capacity = capacity
        self.obs = np.zeros((capacity, obs_size), dtype=np.float32)
        self.next_obs = np.zeros((capacity, obs_size), dtype=np.float32)
        self.actions = np.zeros(capacity, dtype=np.int64)
        self.returns = np.zeros(capacity, dtype=np.float32)
        self.dones = np.zeros(capacity, dtype=np.float32)
        self.discounts = np.zeros(capacity, dtype=np.float32)
        self.next_masks = np.zeros((capacity, num_actions), dtype=bool)
        self.size = 0
        self.pos = 0

    def __len__(self) -> int:
        return self.size

    def add(self, obs, action, ret, next_obs, done, discount, next_mask) -> None:
        i = self.pos
        self.obs[i] = obs
        self.actions[i] = action
        self.returns[i] = ret
        self.next_obs[i] = next_obs
        self.dones[i] = done
        self.discounts[i] = discount
        self.next_masks[i] = next_mask
        self.pos = (i + 1) % self.capacity
        self.size = min(self.size + 1, self.capacity)

    def sample(self, batch: int, rng: np.random.Generator) -> dict[str, np.ndarray]:
        idx = rng.integers(0, self.size, size=batch)
        return {
            "obs": self.obs[idx],
            "actions": self.actions[idx],
            "returns": self.returns[idx],
            "next_obs": self.next_obs[idx],
            "dones": self.dones[idx],
            "discounts": self.discounts[idx],
            "next_masks": self.next_masks[idx],
        }

    def state_dict(self) -> dict:
        n = self.size
        return {
            "size": n,
            "pos": self.pos,
            **{
                key: getattr(self, key)[:n].copy()
                for key in ("obs", "next_obs", "actions", "returns", "dones", "discounts",
                            "next_masks")
            },
        }  # fmt: skip

    def load_state_dict(self, state: dict) -> None:
        n = state["size"]
        if n > self.capacity:
            raise ValueError(f"checkpointed replay holds {n} > capacity {self.capacity}")
        for key in ("obs", "next_obs", "actions", "returns", "dones", "discounts", "next_masks"):
            getattr(self, key)[:n] = state[key]
        self.size = n
        self.pos = state["pos"]


class NStepAccumulator:
    """Turns one-step transitions into n-step ones within an episode."""

    def __init__(self, n: int, gamma: float):
        self.n = positive_int("n_step", n)
        self.gamma = gamma
        self.pending: deque = deque()

    def push(self, obs, action, reward, next_obs, terminated, next_mask, episode_over: bool):
        """Add a transition; returns the n-step transitions now complete."""
        self.pending.append((obs, action, reward))
        out = []
        if len(self.pending) == self.n:
            out.append(self._emit(next_obs, terminated, next_mask))
        if episode_over:
            while self.pending:
                out.append(self._emit(next_obs, terminated, next_mask))
        return out

    def _emit(self, next_obs, terminated, next_mask):
        ret = 0.0
        for k, (_, _, r) in enumerate(self.pending):
            ret += (self.gamma**k) * r
        obs, action, _ = self.pending.popleft()
        discount = self.gamma ** (len(self.pending) + 1)
        return obs, action, ret, next_obs, float(terminated), discount, next_mask


class EpsilonSchedule:
    """epsilon = max(end, start * decay**steps)."""

    def __init__(self, start: float = 1.0, end: float = 0.05, decay: float = 0.99995):
        for name, value in (("start", start), ("end", end), ("decay", decay)):
            if not 0 <= value <= 1:
                raise ValueError(f"epsilon {name} must lie in [0, 1], got {value!r}")
        self.start, self.end, self.decay = start, end, decay

    def __call__(self, steps: int) -> float:
        return max(self.end, self.start * self.decay**steps)
