"""One BLAS thread for small linear algebra.

Waking BLAS's thread pool costs tens of microseconds to milliseconds (far more on a
busy machine) where the work itself takes a few: SciPy's L-BFGS-B on a few
parameters, or the density-matrix simulator's 4x4 and 16x16 transfer matrices.
"""

from __future__ import annotations

_controller = None


def one_blas_thread():
    """A context manager limiting BLAS to one thread while it is open."""
    global _controller
    if _controller is None:
        import threadpoolctl

        _controller = threadpoolctl.ThreadpoolController()
    return _controller.limit(limits=1, user_api="blas")
