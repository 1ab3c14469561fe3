"""CUDA twin of ``_frames.py`` (placeholder while the CPU side is tested)."""

from __future__ import annotations

import functools


@functools.cache
def available() -> bool:
    """Whether CuPy is installed and sees a CUDA device."""
    try:
        import cupy

        return cupy.cuda.runtime.getDeviceCount() > 0
    except Exception:  # ImportError, or CUDA driver errors without a GPU
        return False
