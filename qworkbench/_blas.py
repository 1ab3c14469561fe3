"""One BLAS thread for small linear algebra: kept for old imports, ``one_blas_thread``
lives in :mod:`qworkbench.utils`."""

from qworkbench.utils import one_blas_thread

__all__ = ["one_blas_thread"]
