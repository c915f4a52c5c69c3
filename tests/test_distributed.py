"""skrnn on a real dask.distributed cluster: searches, chunked prediction, a killed worker.

Every test talks to a ``LocalCluster`` of two worker *processes* with one thread each and
no dashboard, started here and closed after (one cluster for the module; the killed-worker
test starts its own and checks that its scheduler's port is closed afterwards). The
recipes are the ones docs/scaling.md gives. Skipped when the ``distributed`` extra is not
installed (``pip install "skrnn[distributed]"``).
"""

import itertools
import os
import signal
import socket
import threading
import time
import warnings
from urllib.parse import urlparse

import joblib
import numpy as np
import pytest
from sklearn.exceptions import ConvergenceWarning
from sklearn.experimental import enable_halving_search_cv  # noqa: F401
from sklearn.model_selection import (
    GridSearchCV,
    HalvingRandomSearchCV,
    KFold,
    cross_validate,
)
from sklearn.pipeline import make_pipeline

from skrnn import RNNClassifier, RNNRegressor, RNNSequenceGenerator, SequenceVectorizer
from skrnn.datasets import load_negation_sentiment

from .test_threads import RecordingRegressor, blas_threads

distributed = pytest.importorskip("distributed")
threadpoolctl = pytest.importorskip("threadpoolctl")

pytestmark = pytest.mark.filterwarnings("ignore::sklearn.exceptions.ConvergenceWarning")

SCORES = ["mean_test_score", "std_test_score", "split0_test_score", "split1_test_score",
          "split2_test_score", "rank_test_score"]


def start_cluster():
    cluster = distributed.LocalCluster(n_workers=2, threads_per_worker=1, processes=True,
                                       dashboard_address=None, silence_logs="error")
    return cluster, distributed.Client(cluster, set_as_default=False)


@pytest.fixture(scope="module")
def client():
    cluster, client = start_cluster()
    try:
        yield client
    finally:
        client.close()
        cluster.close()


def negation():
    return load_negation_sentiment(return_X_y=True)


def classifier_pipeline(**params):
    params = {"hidden_layer_sizes": (8,), "max_iter": 20, "random_state": 0, **params}
    return make_pipeline(SequenceVectorizer(analyzer="word"), RNNClassifier(**params))


def float_data(n, seed=0):
    rng = np.random.RandomState(seed)
    X = rng.randn(n, 10, 2)
    return X, X[:, :, 0].sum(axis=1) - X[:, -1, 1]


def on_the_cluster(client, search, X, y, **config):
    """``search.fit(X, y)`` under joblib's Dask backend; the workers that ran it."""
    with (distributed.get_task_stream(client=client) as stream,
          joblib.parallel_config(backend="dask", client=client, **config)):
        search.set_params(n_jobs=-1).fit(X, y)
    return {task["worker"] for task in stream.data}


def assert_same_results(sequential, parallel, keys=SCORES):
    for key in keys:
        np.testing.assert_array_equal(sequential.cv_results_[key], parallel.cv_results_[key],
                                      err_msg=key)
    assert sequential.best_params_ == parallel.best_params_


def worker_blas(client):
    return client.run(blas_threads)


# --------------------------------------------------------------- searches

def test_pipeline_grid_search_matches_sequential(client):
    X, _, y, _ = negation()
    grid = {"rnnclassifier__cell": ["rnn", "gru"],
            "rnnclassifier__learning_rate_init": [0.01, 0.05]}
    sequential = GridSearchCV(classifier_pipeline(), grid, cv=3).fit(X, y)
    parallel = GridSearchCV(classifier_pipeline(), grid, cv=3)
    workers = on_the_cluster(client, parallel, X, y)
    assert_same_results(sequential, parallel)
    assert len(workers) >= 2, workers
    # Dask's nanny starts every worker with OPENBLAS/OMP/MKL_NUM_THREADS=1.
    assert all(counts and set(counts) == {1} for counts in worker_blas(client).values())


def test_regressor_grid_search_matches_sequential(client):
    X, y = float_data(60)
    grid = {"cell": ["rnn", "lstm"], "hidden_layer_sizes": [(4,), (8,)]}
    est = RNNRegressor(max_iter=15, random_state=0)
    sequential = GridSearchCV(est, grid, cv=3).fit(X, y)
    parallel = GridSearchCV(est, grid, cv=3)
    workers = on_the_cluster(client, parallel, X, y)
    assert_same_results(sequential, parallel)
    assert len(workers) >= 2, workers


class WorkerRecordingRegressor(RecordingRegressor):
    """Also records the address of the Dask worker that ran its fit."""

    def _train(self, data, continuing, partial):
        self.worker_ = distributed.get_worker().address
        return super()._train(data, continuing, partial)


@pytest.mark.parametrize("hidden", [4, 128])  # below and above SMALL_STEP_PRODUCT
def test_fits_on_workers_use_one_blas_thread(client, hidden):
    X, y = float_data(48)
    est = WorkerRecordingRegressor(hidden_layer_sizes=(hidden,), max_iter=1, random_state=0)
    with joblib.parallel_config(backend="dask", client=client):
        result = cross_validate(est, X, y, cv=4, n_jobs=-1, return_estimator=True)
    seen = {(e.worker_, tuple(e.blas_threads_seen_)) for e in result["estimator"]}
    assert len({worker for worker, _ in seen}) >= 2, seen
    assert all(counts and set(counts) == {1} for _, counts in seen), seen


def test_generator_grid_search_scored_by_its_own_score(client):
    texts = ["hey how are you", "good i am fine", "have a nice day", "how is it going",
             "fine thank you", "see you soon"]
    est = RNNSequenceGenerator(hidden_layer_sizes=(16,), max_iter=2, random_state=0)
    grid = {"cell": ["rnn", "gru"], "learning_rate_init": [0.01, 0.03]}
    sequential = GridSearchCV(est, grid, cv=3).fit(texts, None)
    parallel = GridSearchCV(est, grid, cv=3)
    workers = on_the_cluster(client, parallel, texts, None)
    assert np.isfinite(parallel.cv_results_["mean_test_score"]).all()
    assert_same_results(sequential, parallel)
    assert len(workers) >= 2, workers


def test_halving_search_on_epochs_matches_sequential(client):
    X, _, y, _ = negation()
    space = {"rnnclassifier__cell": ["rnn", "lstm", "gru"],
             "rnnclassifier__hidden_layer_sizes": [(4,), (8,), (16,)],
             "rnnclassifier__learning_rate_init": [0.003, 0.01, 0.03, 0.1]}

    def search():
        return HalvingRandomSearchCV(
            classifier_pipeline(), space, n_candidates=8, factor=2, cv=3, random_state=0,
            resource="rnnclassifier__max_iter", min_resources=5, max_resources=20)

    sequential = search().fit(X, y)
    parallel = search()
    on_the_cluster(client, parallel, X, y)
    assert_same_results(sequential, parallel,
                        keys=["iter", "n_resources", "mean_test_score", "rank_test_score"])
    assert list(parallel.n_resources_) == [5, 10, 20]


# --------------------------------------------------------------- prediction

def predict_chunk(chunk, model):
    return model.predict_proba(chunk)


def test_chunked_predict_proba_ships_the_model_once(client):
    X, X_test, y, _ = negation()
    model = classifier_pipeline(max_iter=30).fit(X, y)
    rng = np.random.RandomState(0)
    words = " ".join(X + X_test).split()
    texts = [" ".join(rng.choice(words, size=rng.randint(1, 9))) for _ in range(5000)]
    chunks = [list(c) for c in np.array_split(np.asarray(texts, dtype=object), 10)]

    model_future = client.scatter(model, broadcast=True)
    futures = client.map(predict_chunk, chunks, model=model_future)
    on_workers = np.vstack(client.gather(futures))

    np.testing.assert_array_equal(on_workers, np.vstack([model.predict_proba(c)
                                                        for c in chunks]))
    np.testing.assert_allclose(on_workers, model.predict_proba(texts), rtol=1e-6)

    def model_keys(dask_scheduler, chunk_keys):
        pipelines = [k for k, ts in dask_scheduler.tasks.items() if ts.type == "Pipeline"]
        deps = [{d.key for d in dask_scheduler.tasks[k].dependencies} for k in chunk_keys]
        return pipelines, deps

    pipelines, deps = client.run_on_scheduler(model_keys, chunk_keys=[f.key for f in futures])
    assert pipelines == [model_future.key]  # one copy of the model's key, not one per chunk
    assert all(d == {model_future.key} for d in deps)
    assert len({f.key for f in futures}) == len(chunks)


# --------------------------------------------------------------- a worker dies

def dask_search_config(X, y, splits):
    """What to broadcast so that no task's input lives on one worker only (docs/scaling.md).

    joblib's Dask backend otherwise scatters every argument above 1 kB (X, y and, past
    ~125 samples, each split's index arrays) to a single worker; the scheduler cannot
    recompute scattered data, so when that worker dies every fit that needs it is lost
    (``FutureCancelledError: ... already forgotten``).
    """
    return {"scatter": [X, y, *itertools.chain.from_iterable(splits)]}


def kill_a_busy_worker(client, pids, done, killed):
    """Once a fit has finished, SIGKILL a worker process that is running another."""
    deadline = time.monotonic() + 60
    while not done.is_set() and time.monotonic() < deadline:
        finished = [k for keys in client.has_what().values() for k in keys
                    if "fit_and_score" in str(k)]
        busy = [w for w, tasks in client.processing().items() if tasks]
        if finished and busy:
            killed.append((busy[0], pids[busy[0]], len(finished)))
            os.kill(pids[busy[0]], signal.SIGKILL)
            return
        time.sleep(0.02)


def test_search_survives_a_killed_worker():
    X, y = float_data(300)  # training folds above joblib's 1 kB auto-scatter size
    splits = list(KFold(3).split(X))
    grid = {"cell": ["rnn", "gru", "lstm"], "learning_rate_init": [0.01, 0.03]}
    est = RNNRegressor(hidden_layer_sizes=(4,), max_iter=8, random_state=0)
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", ConvergenceWarning)
        sequential = GridSearchCV(est, grid, cv=splits).fit(X, y)

    cluster, client = start_cluster()
    try:
        port = urlparse(cluster.scheduler_address).port
        pids = client.run(os.getpid)
        done, killed = threading.Event(), []
        killer = threading.Thread(target=kill_a_busy_worker, args=(client, pids, done, killed))
        parallel = GridSearchCV(est, grid, cv=splits)
        killer.start()
        try:
            on_the_cluster(client, parallel, X, y, **dask_search_config(X, y, splits))
        finally:
            done.set()
            killer.join()
        assert killed, "no worker was killed while the search ran"
        assert_same_results(sequential, parallel)
        # The nanny restarted the killed worker process.
        client.wait_for_workers(2, timeout=30)
        assert killed[0][1] not in client.run(os.getpid).values()
    finally:
        client.close()
        cluster.close()
    with pytest.raises(OSError), socket.create_connection(("127.0.0.1", port), timeout=2):
        pass
