"""Thread counts of Numba kernels and BLAS, set for the duration of a call."""

from __future__ import annotations

from collections.abc import Iterator
from contextlib import contextmanager

import numba
from threadpoolctl import ThreadpoolController

from recsys._validation import resolve_num_threads

__all__ = ["thread_limits"]

_controller: ThreadpoolController | None = None


def _blas_controller() -> ThreadpoolController:
    """One ThreadpoolController for the process: building one scans the loaded libraries
    (milliseconds), too slow to repeat on every small scoring call."""
    global _controller
    if _controller is None:
        # Numba's np.dot calls scipy's BLAS: load it before the controller looks
        import scipy.linalg.cython_blas  # noqa: F401

        _controller = ThreadpoolController()
    return _controller


@contextmanager
def thread_limits(num_threads: int, *, blas_threads: int = 1) -> Iterator[int]:
    """Run Numba with ``num_threads`` (0 = all cores) and BLAS with ``blas_threads``.

    Numba's thread count is restored afterwards; BLAS limits are restored by threadpoolctl.
    Yields the resolved Numba thread count.
    """
    numba_max = int(getattr(numba.config, "NUMBA_NUM_THREADS", 1))
    threads = min(resolve_num_threads(num_threads), numba_max)
    previous = numba.get_num_threads()
    numba.set_num_threads(threads)
    try:
        with _blas_controller().limit(limits=blas_threads, user_api="blas"):
            yield threads
    finally:
        numba.set_num_threads(previous)
