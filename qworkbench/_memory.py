"""Checking an allocation against the free memory before making it: kept for old
imports, the functions live in :mod:`qworkbench.utils`."""

from qworkbench.utils import available_bytes, check_allocation

__all__ = ["available_bytes", "check_allocation"]
