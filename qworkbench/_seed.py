"""Turning a user's ``seed`` into an int seed: kept for old imports, ``int_seed`` lives
in :mod:`qworkbench.utils`."""

from qworkbench.utils import int_seed

__all__ = ["int_seed"]
