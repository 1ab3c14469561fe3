"""Turning a user's ``seed`` (None, an int or a NumPy Generator) into an int seed."""

from __future__ import annotations

import numpy as np

__all__ = ["int_seed"]


def int_seed(seed) -> int | None:
    """None stays None; an int is kept; a Generator draws one (so a shared Generator
    gives each consumer a different but reproducible seed)."""
    if seed is None or (isinstance(seed, int | np.integer) and not isinstance(seed, bool)):
        return None if seed is None else int(seed)
    if isinstance(seed, np.random.Generator):
        return int(seed.integers(2**63))
    raise TypeError(f"seed must be an int or numpy Generator, got {seed!r}")
