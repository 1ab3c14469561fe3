"""CRLQAS's moving-threshold curriculum.

The episode ends with +5 once the energy is within ``threshold`` of the Hamiltonian's
lower bound E_LB. The curriculum moves that threshold (Patel et al., "Curriculum
reinforcement learning for quantum architecture search under hardware errors",
ICLR 2024):

- every ``shift_every`` (G) episodes: threshold <- |E_LB - E_best| + delta, where E_best
  is the lowest energy seen so far (the agent must come back within delta of its best);
- after ``successes`` (K) threshold-ending episodes since the last change:
  threshold -= delta / ``max_reductions`` (at most ``max_reductions`` times between
  shifts), which tightens towards E_best.
"""

from __future__ import annotations

import math
from dataclasses import asdict, dataclass

__all__ = ["MovingThreshold", "PAPER_PRESETS"]

#: the paper's values: (G, delta, K) for up to 4 qubits and above
PAPER_PRESETS = {"small": (500, 5e-4, 25), "large": (2000, 1e-3, 50)}


@dataclass
class MovingThreshold:
    """Mutable curriculum state; ``state_dict``/``load_state_dict`` for checkpoints.

    Args:
        threshold: the starting threshold (energy above E_LB that ends an episode).
        lower_bound: E_LB.
        delta: the amortisation radius.
        shift_every: G, episodes between greedy shifts.
        successes: K, threshold-ending episodes before each reduction.
        max_reductions: reductions allowed between shifts (the paper's 10).
        floor: the threshold never goes below this (0: the paper's curriculum, which
            keeps tightening towards E_best; the ``fast`` preset floors it at the success
            criterion, so that episodes reaching chemical accuracy always pay).

    Examples:
        >>> c = MovingThreshold(1.0, lower_bound=-2.0, delta=0.1, shift_every=2, successes=1)
        >>> c.observe_energy(-1.5); c.end_episode(success=False)
        1.0
        >>> c.end_episode(success=False)  # second episode: shift to |E_LB - E_best| + delta
        0.6
    """

    threshold: float
    lower_bound: float
    delta: float = 5e-4
    shift_every: int = 500
    successes: int = 25
    max_reductions: int = 10
    floor: float = 0.0
    best_energy: float = math.inf
    episodes: int = 0
    success_count: int = 0
    reductions: int = 0

    def __post_init__(self):
        for name in ("threshold", "lower_bound", "delta"):
            value = getattr(self, name)
            if not isinstance(value, int | float) or not math.isfinite(value):
                raise ValueError(f"curriculum {name} must be a finite number, got {value!r}")
        if self.threshold <= 0 or self.delta < 0:
            raise ValueError(
                f"curriculum threshold must be > 0 and delta >= 0, got {self.threshold}, "
                f"{self.delta}"
            )
        for name in ("shift_every", "successes", "max_reductions"):
            value = getattr(self, name)
            if isinstance(value, bool) or not isinstance(value, int) or value < 1:
                raise ValueError(f"curriculum {name} must be a positive integer, got {value!r}")

    def observe_energy(self, energy: float) -> None:
        """Record an energy seen during training (tracks E_best)."""
        if energy < self.best_energy:
            self.best_energy = float(energy)

    def end_episode(self, success: bool) -> float:
        """Update at the end of an episode; returns the threshold for the next one."""
        self.episodes += 1
        if success:
            self.success_count += 1
            if self.success_count >= self.successes and self.reductions < self.max_reductions:
                self.threshold = max(
                    self.threshold - self.delta / self.max_reductions, self.floor, 1e-12
                )
                self.success_count = 0
                self.reductions += 1
        if self.episodes % self.shift_every == 0 and math.isfinite(self.best_energy):
            self.threshold = max(abs(self.lower_bound - self.best_energy) + self.delta, self.floor)
            self.success_count = 0
            self.reductions = 0
        return self.threshold

    def state_dict(self) -> dict:
        return asdict(self)

    def load_state_dict(self, state: dict) -> None:
        for key, value in state.items():
            setattr(self, key, value)
