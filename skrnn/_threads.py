"""BLAS threads for the fits that run in one process.

BLAS's thread count is a property of the process, not of the Python thread that calls it.
Where each fit has a process to itself (joblib's loky backend, a Dask worker process with
one thread) the parallel engine has already set the count: loky starts its workers with
``cpu_count // n_jobs`` BLAS threads, and Dask's nanny starts every worker process with
``OMP_NUM_THREADS=MKL_NUM_THREADS=OPENBLAS_NUM_THREADS=1`` (its
``distributed.nanny.pre-spawn-environ``). Where several fits share a process (joblib's
threading backend, a Dask worker with several threads, ``LocalCluster(processes=False)``)
nothing caps them: k fits each ask BLAS for all the cores, and two fits that each set a
limit and restore it afterwards undo each other (the last to leave restores the first's
limit). :func:`blas_threads_for` keeps one process-wide budget instead:

- the first fit to enter records the process's thread count, the last to leave restores it;
- while k fits run, BLAS gets ``max(1, original // k)`` threads, and one thread while any of
  them is a small model (below ``_tuning.SMALL_STEP_PRODUCT`` multiply-adds per step, whose
  products BLAS would not split anyway).

One fit alone in its process sees exactly what it saw before (one thread for a small model,
the process's count otherwise). The budget is set when a fit starts and ends, never inside
the epoch loop. The measurements are in ``docs/scaling.md``.
"""

import contextlib
import threading

from . import _tuning

__all__ = ["blas_threads_for"]

_LOCK = threading.Lock()
_CONTROLLER = None  # a threadpoolctl.ThreadpoolController, made on first use
_ACTIVE = []  # one entry per running fit: True for a small model
_ORIGINAL = None  # the threadpoolctl limiter of the first fit in; restores the count
_ORIGINAL_COUNTS = []  # the BLAS libraries' thread counts when the first fit entered
_APPLIED = None  # the BLAS thread count the budget last set (None: the original)


def _controller():
    global _CONTROLLER
    if _CONTROLLER is None:
        # threadpoolctl is a dependency of scikit-learn itself (not one skrnn adds).
        from threadpoolctl import ThreadpoolController

        _CONTROLLER = ThreadpoolController()  # inspects the loaded libraries once
    return _CONTROLLER


def _apply():
    """Set BLAS to the budget of the fits in ``_ACTIVE`` (called under ``_LOCK``)."""
    global _APPLIED
    if any(_ACTIVE):
        target = 1
    elif len(_ACTIVE) == 1:
        target = None  # one large model alone: the process's own count, as before
    else:
        target = max(1, max(_ORIGINAL_COUNTS, default=1) // len(_ACTIVE))
    if target == _APPLIED:
        return
    if target is None:
        _ORIGINAL.restore_original_limits()
    else:
        _controller().limit(limits=target, user_api="blas")
    _APPLIED = target


def _enter(small):
    global _ORIGINAL, _ORIGINAL_COUNTS, _APPLIED
    with _LOCK:
        if not _ACTIVE:
            # A limiter with no limit records every library's count, to restore at the end.
            _ORIGINAL = _controller().limit(limits=None, user_api="blas")
            _ORIGINAL_COUNTS = [lib.num_threads for lib in
                                _controller().select(user_api="blas").lib_controllers]
            _APPLIED = None
        _ACTIVE.append(small)
        _apply()


def _leave(small):
    global _ORIGINAL, _APPLIED
    with _LOCK:
        _ACTIVE.remove(small)
        if _ACTIVE:
            _apply()
        else:
            _ORIGINAL.restore_original_limits()
            _ORIGINAL = _APPLIED = None


@contextlib.contextmanager
def blas_threads_for(step_product):
    """BLAS threads for one fit whose per-step recurrent product is ``step_product``.

    ``step_product`` is the multiply-adds of one step's recurrent product (batch x H x
    G*H). Below ``_tuning.SMALL_STEP_PRODUCT`` (OpenBLAS's own threshold for splitting a
    product) the time loop's products run on one thread anyway, and every threaded call
    would wait for its worker threads, which on a busy machine costs a scheduler time
    slice (scikit-learn's KMeans limits BLAS around its loops the same way); the
    measurements behind the threshold are in ``docs/decisions.md``. Fits that run
    concurrently in one process share the process's threads (see the module docstring).
    """
    small = step_product < _tuning.SMALL_STEP_PRODUCT
    _enter(small)
    try:
        yield
    finally:
        _leave(small)
