"""Repository-wide pytest configuration (doctest collection of the packages)."""

import importlib.util

# the CuPy kernels import cupy at module level; without it there is nothing to doctest
collect_ignore = [] if importlib.util.find_spec("cupy") else ["simulators/_gpu.py"]
