"""Timing shared by the benchmark scripts."""

from __future__ import annotations

import statistics
import time


def timeit(fn, repeats: int = 5) -> float:
    """Median seconds of ``repeats`` calls after one warm-up call (compiles kernels,
    builds plans, fills caches)."""
    fn()
    times = []
    for _ in range(repeats):
        start = time.perf_counter()
        fn()
        times.append(time.perf_counter() - start)
    return statistics.median(times)
