"""skrnn on a Dask cluster: searches under joblib's dask backend give the sequential
results, survive a killed worker, and run BLAS at one thread per worker; prediction in
chunks with the model shipped once; the generator; successive halving on epochs.

One ``LocalCluster`` of two worker processes (one thread each, no dashboard) serves the
module and is closed after it. Functions sent to the workers are defined inside the
tests, so that they travel by value rather than as a name the workers import.
"""

import logging
import os
import signal
import threading
import time

import numpy as np
import pytest

distributed = pytest.importorskip("distributed")

import joblib
import psutil  # a dependency of distributed
from distributed import Client, LocalCluster, get_task_stream
from scipy.stats import loguniform
from sklearn.experimental import enable_halving_search_cv  # noqa: F401
from sklearn.model_selection import GridSearchCV, HalvingRandomSearchCV, KFold
from sklearn.pipeline import make_pipeline
from threadpoolctl import threadpool_info

from skrnn import RNNClassifier, RNNRegressor, RNNSequenceGenerator, SequenceVectorizer
from skrnn.datasets import load_negation_sentiment, load_tinyshakespeare

from ._data import sign_of_sum_task

pytestmark = pytest.mark.filterwarnings("ignore::sklearn.exceptions.ConvergenceWarning")


@pytest.fixture(scope="module")
def client():
    pids = set()
    with LocalCluster(n_workers=2, threads_per_worker=1, processes=True,
                      dashboard_address=None, silence_logs=logging.ERROR) as cluster:
        port = int(cluster.scheduler_address.rsplit(":", 1)[1])
        with Client(cluster) as client:
            client._skrnn_pids = pids  # the worker processes started, restarted ones too
            pids.update(client.run(os.getpid).values())
            yield client
            pids.update(client.run(os.getpid).values())
    # Closed: no worker process left, and nothing listens on the scheduler's port.
    assert not [pid for pid in pids if psutil.pid_exists(pid)
                and psutil.Process(pid).status() != psutil.STATUS_ZOMBIE]
    me = psutil.Process()
    connections = getattr(me, "net_connections", None) or me.connections  # psutil < 6
    assert not [c for c in connections("tcp")
                if c.status == psutil.CONN_LISTEN and c.laddr.port == port]


@pytest.fixture(scope="module")
def negation():
    X, _, y, _ = load_negation_sentiment(return_X_y=True)
    return X, y


def _classifier_search(cv=3):
    pipe = make_pipeline(SequenceVectorizer(), RNNClassifier(
        cell="gru", hidden_layer_sizes=(8,), max_iter=10, random_state=0))
    grid = {"rnnclassifier__cell": ["rnn", "gru"],
            "rnnclassifier__learning_rate_init": [0.01, 0.03]}
    return GridSearchCV(pipe, grid, cv=cv, error_score="raise")


def _regressor_search():
    reg = RNNRegressor(cell="gru", hidden_layer_sizes=(8,), max_iter=10, random_state=0)
    grid = {"hidden_layer_sizes": [(4,), (8,)], "learning_rate_init": [0.01, 0.03]}
    return GridSearchCV(reg, grid, cv=3, error_score="raise")


def _assert_same_search(a, b):
    assert a.cv_results_["params"] == b.cv_results_["params"]
    n_splits = a.n_splits_
    for name in ["mean_test_score", "std_test_score", "rank_test_score",
                 *(f"split{k}_test_score" for k in range(n_splits))]:
        np.testing.assert_array_equal(a.cv_results_[name], b.cv_results_[name], err_msg=name)
    assert a.best_params_ == b.best_params_


def _fit_workers(task_stream):
    """The workers that ran a fit, from the scheduler's task stream."""
    return {t["worker"] for t in task_stream.data if "fit_and_score" in str(t["key"])}


@pytest.mark.parametrize("model", ["pipeline-classifier", "regressor"])
def test_grid_search_on_the_cluster_equals_sequential(client, negation, model):
    if model == "regressor":
        X, _ = sign_of_sum_task()
        y, search = X.sum(axis=1), _regressor_search
    else:
        (X, y), search = negation, _classifier_search
    sequential = search().fit(X, y)
    with get_task_stream(client) as stream, joblib.parallel_config(backend="dask"):
        on_cluster = search().fit(X, y)
    _assert_same_search(sequential, on_cluster)
    assert len(_fit_workers(stream)) == 2  # both workers fitted
    assert np.isfinite(on_cluster.cv_results_["mean_test_score"]).all()


def test_workers_run_blas_at_one_thread(client):
    """A worker process has one BLAS thread: its nanny sets OPENBLAS_NUM_THREADS and the
    like to 1 before it starts (distributed's ``nanny.pre-spawn-environ``); a fit only
    ever lowers BLAS's threads, so every fit on a worker runs at one thread."""
    client.wait_for_workers(2)
    info = client.run(threadpool_info)
    assert len(info) == 2
    for libs in info.values():
        blas = [lib["num_threads"] for lib in libs if lib["user_api"] == "blas"]
        assert blas and set(blas) == {1}
    env = client.run(lambda: {k: os.environ.get(k) for k in
                              ("OMP_NUM_THREADS", "OPENBLAS_NUM_THREADS", "MKL_NUM_THREADS")})
    assert all(set(e.values()) == {"1"} for e in env.values())


def test_predict_proba_in_chunks_with_the_model_scattered_once(client, negation):
    X, y = negation
    model = make_pipeline(SequenceVectorizer(), RNNClassifier(
        cell="gru", hidden_layer_sizes=(8,), max_iter=20, random_state=0)).fit(X, y)
    rng = np.random.RandomState(0)
    words = sorted({w for text in X for w in text.split()} | {"unseen", "words"})
    texts = [" ".join(rng.choice(words, size=rng.randint(1, 9))) for _ in range(2000)]
    [remote_model] = client.scatter([model], broadcast=True)
    chunks = [texts[i : i + 250] for i in range(0, len(texts), 250)]
    futures = client.map(lambda chunk, model: model.predict_proba(chunk), chunks,
                         model=remote_model)
    proba = np.concatenate(client.gather(futures))
    # Every row is computed alone (no product mixes rows), so chunking changes nothing.
    np.testing.assert_array_equal(proba, model.predict_proba(texts))

    # Shipped once: one key holds the model, one copy on each worker, and the 8 chunk
    # tasks depend on that key rather than carrying the model themselves.
    def model_key_users(dask_scheduler, key=remote_model.key):
        ts = dask_scheduler.tasks[key]
        return sorted(str(d.key) for d in ts.dependents), len(ts.who_has)

    users, n_copies = client.run_on_scheduler(model_key_users)
    assert users == sorted(str(f.key) for f in futures) and len(users) == 8
    assert n_copies == 2
    assert [len(h) for h in client.who_has([remote_model]).values()] == [2]


def test_generator_search_on_the_cluster_scores_every_fold(client):
    text = load_tinyshakespeare()[:6000]
    texts = [text[i : i + 500] for i in range(0, len(text), 500)]
    cv = KFold(3)
    unseen = [set("".join(texts[j] for j in te)) - set("".join(texts[j] for j in tr))
              for tr, te in cv.split(texts)]
    assert any(unseen)  # some fold holds a character its training part lacks

    def search():
        gen = RNNSequenceGenerator(hidden_layer_sizes=(8,), max_iter=2, random_state=0)
        return GridSearchCV(gen, {"cell": ["rnn", "gru"]}, cv=cv, error_score="raise")

    sequential = search().fit(texts)
    with joblib.parallel_config(backend="dask"):
        on_cluster = search().fit(texts)
    _assert_same_search(sequential, on_cluster)
    splits = [on_cluster.cv_results_[f"split{k}_test_score"] for k in range(3)]
    assert np.isfinite(splits).all()  # the generator's own score, mean log-likelihood
    assert (np.asarray(splits) < 0).all()


def test_successive_halving_on_epochs_on_the_cluster(client, negation):
    X, y = negation

    def search():
        pipe = make_pipeline(SequenceVectorizer(), RNNClassifier(random_state=0))
        space = {"rnnclassifier__cell": ["rnn", "lstm", "gru"],
                 "rnnclassifier__hidden_layer_sizes": [(4,), (8,), (16,)],
                 "rnnclassifier__learning_rate_init": loguniform(0.003, 0.1)}
        return HalvingRandomSearchCV(
            pipe, space, n_candidates=6, resource="rnnclassifier__max_iter",
            min_resources=2, max_resources=8, factor=2, cv=3, random_state=0,
            error_score="raise")

    sequential = search().fit(X, y)
    with joblib.parallel_config(backend="dask"):
        on_cluster = search().fit(X, y)
    assert on_cluster.n_resources_ == sequential.n_resources_ == [2, 4, 8]
    assert on_cluster.n_candidates_ == sequential.n_candidates_ == [6, 3, 2]
    for name in ["params", "iter", "n_resources"]:
        assert list(on_cluster.cv_results_[name]) == list(sequential.cv_results_[name])
    np.testing.assert_array_equal(on_cluster.cv_results_["mean_test_score"],
                                  sequential.cv_results_["mean_test_score"])
    assert on_cluster.best_params_ == sequential.best_params_
    assert set(on_cluster.best_params_) == {"rnnclassifier__cell",
                                            "rnnclassifier__hidden_layer_sizes",
                                            "rnnclassifier__learning_rate_init",
                                            "rnnclassifier__max_iter"}


def _kill_a_busy_worker(client, pids, search_done, report):
    """Once a fit has finished, SIGKILL a worker process while it is running a fit."""
    def finished_fits(dask_scheduler):
        return sum(ts.state == "memory" and "fit_and_score" in str(ts.key)
                   for ts in dask_scheduler.tasks.values())

    while not search_done.is_set():
        busy = [w for w, keys in client.processing().items() if keys]
        if busy and client.run_on_scheduler(finished_fits):
            os.kill(pids[busy[0]], signal.SIGKILL)
            report.update(worker=busy[0], pid=pids[busy[0]], during_search=True)
            return
        time.sleep(0.005)


@pytest.mark.skipif(not hasattr(signal, "SIGKILL"), reason="needs POSIX signals")
def test_search_survives_a_killed_worker(client, negation):
    """The recipe of docs/scaling.md: the folds listed and every array the search sends
    scattered to every worker, with the Active Memory Manager (which drops the extra
    copies) stopped. A worker killed mid-search loses only its running fit, which the
    scheduler runs again elsewhere; the nanny restarts the worker."""
    X, y = negation
    X, y = X * 4, np.tile(y, 4)  # 232 texts: folds whose indices joblib would scatter
    cv = list(KFold(3, shuffle=True, random_state=0).split(X))
    sequential = _classifier_search(cv=cv).fit(X, y)

    client.wait_for_workers(2)
    pids = client.run(os.getpid)
    client._skrnn_pids.update(pids.values())
    search_done, report = threading.Event(), {}
    killer = threading.Thread(target=_kill_a_busy_worker,
                              args=(client, pids, search_done, report))
    client.amm.stop()
    try:
        with joblib.parallel_config(backend="dask",
                                    scatter=[X, y, *(idx for fold in cv for idx in fold)]):
            killer.start()
            on_cluster = _classifier_search(cv=cv).fit(X, y)
    finally:
        search_done.set()
        killer.join()
        client.amm.start()
    assert report.get("during_search"), "the search ended before a worker was killed"
    assert not psutil.pid_exists(report["pid"]) or (
        psutil.Process(report["pid"]).status() == psutil.STATUS_ZOMBIE)
    _assert_same_search(sequential, on_cluster)
    client.wait_for_workers(2, timeout=60)  # the nanny brought a new worker up
    restarted = client.run(os.getpid)
    client._skrnn_pids.update(restarted.values())
    assert report["pid"] not in restarted.values()
