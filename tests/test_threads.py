"""BLAS threads inside a fit under joblib's loky and threading backends (skrnn._threads).

The Dask worker's count is checked in tests/test_distributed.py. These tests record the
count from inside the fit (``_train`` runs inside ``skrnn._threads.blas_threads_for``).
"""

import threading
import warnings

import joblib
import numpy as np
import pytest
from sklearn.exceptions import ConvergenceWarning
from sklearn.model_selection import cross_validate

from skrnn import RNNRegressor, _tuning

threadpoolctl = pytest.importorskip("threadpoolctl")


def blas_threads():
    return [p["num_threads"] for p in threadpoolctl.threadpool_info() if p["user_api"] == "blas"]


class RecordingRegressor(RNNRegressor):
    """Records the BLAS thread counts seen inside its fit; ``barrier`` holds fits together."""

    barrier = None  # a threading.Barrier shared by the fits of one test, or None

    def _train(self, data, continuing, partial):
        if RecordingRegressor.barrier is not None:
            RecordingRegressor.barrier.wait(timeout=30)  # every fit is inside its budget now
        self.blas_threads_seen_ = blas_threads()
        return super()._train(data, continuing, partial)


def data(n=48):
    rng = np.random.RandomState(0)
    X = rng.randn(n, 6, 2)
    return X, X[:, :, 0].sum(axis=1)


LARGE = 128  # batch 48 x 128 x 128 multiply-adds per step: above SMALL_STEP_PRODUCT


def fit_one(hidden):
    X, y = data()
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", ConvergenceWarning)
        model = RecordingRegressor(hidden_layer_sizes=(hidden,), max_iter=1, random_state=0)
        return model.fit(X, y).blas_threads_seen_


@pytest.fixture(autouse=True)
def no_barrier():
    yield
    RecordingRegressor.barrier = None


def test_large_model_is_a_large_model():
    assert 48 * LARGE * LARGE >= _tuning.SMALL_STEP_PRODUCT


def test_fits_sharing_a_process_share_its_blas_threads():
    """Two fits at once in one process (threading backend): one thread each, not all."""
    if not blas_threads():
        pytest.skip("no BLAS library found by threadpoolctl")
    RecordingRegressor.barrier = threading.Barrier(2)
    seen = joblib.Parallel(n_jobs=2, backend="threading")(
        joblib.delayed(fit_one)(h) for h in (LARGE, LARGE))
    # Each fit gets max(1, original // 2) threads, never the process's whole count.
    for counts in seen:
        assert counts and max(counts) <= max(1, joblib.cpu_count() // 2), seen


def test_a_small_and_a_large_fit_together_run_on_one_thread():
    if not blas_threads():
        pytest.skip("no BLAS library found by threadpoolctl")
    RecordingRegressor.barrier = threading.Barrier(2)
    seen = joblib.Parallel(n_jobs=2, backend="threading")(
        joblib.delayed(fit_one)(h) for h in (4, LARGE))
    assert all(set(counts) == {1} for counts in seen), seen


def test_loky_workers_fit_within_their_share():
    """loky gives each of n_jobs workers cpu_count // n_jobs BLAS threads; a fit keeps it."""
    if not blas_threads():
        pytest.skip("no BLAS library found by threadpoolctl")
    X, y = data()
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", ConvergenceWarning)
        with joblib.parallel_config(backend="loky"):
            result = cross_validate(
                RecordingRegressor(hidden_layer_sizes=(LARGE,), max_iter=1, random_state=0),
                X, y, cv=2, n_jobs=2, return_estimator=True)
    share = max(1, joblib.cpu_count() // 2)
    for est in result["estimator"]:
        assert est.blas_threads_seen_ and max(est.blas_threads_seen_) <= share
