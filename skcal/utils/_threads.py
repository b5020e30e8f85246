"""BLAS on one thread, for the loops of small products that threads slow down."""

from functools import lru_cache

from threadpoolctl import ThreadpoolController


@lru_cache(maxsize=1)
def _controller():
    # made at the first call, after numpy's and scipy's BLAS are loaded
    return ThreadpoolController()


def one_blas_thread():
    """A context in which the BLAS libraries loaded when skcal first asked run on
    one thread, as ``threadpoolctl.threadpool_limits(limits=1, user_api="blas")``.

    One :class:`threadpoolctl.ThreadpoolController` is kept for the process:
    ``threadpool_limits`` finds the loaded libraries again on every call, by
    reading ``/proc/self/maps`` (about 3 ms, once per matrix-scaling fit).

    Examples
    --------
    >>> import numpy as np
    >>> from threadpoolctl import threadpool_info
    >>> with one_blas_thread():
    ...     inside = {info["num_threads"] for info in threadpool_info()
    ...               if info["user_api"] == "blas"}
    >>> inside
    {1}
    """
    return _controller().limit(limits=1, user_api="blas")
