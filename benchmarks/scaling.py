"""A hyperparameter search on a Dask cluster: 2 workers against 1, a full grid against
successive halving on epochs.

Run (alone on the machine: it times a search)::

    pip install -e ".[distributed]"
    python benchmarks/scaling.py --json benchmarks/scaling.json
    python benchmarks/scaling.py --quick             # a smoke run of a few seconds

The search is a ``GridSearchCV`` of ``SequenceVectorizer`` + ``RNNClassifier`` on
3,000 of the Rotten Tomatoes snippets (2,000 others held out): 8 candidates (vanilla or
GRU cell, 16 or 32 units, two learning rates) x 3 folds = 24 fits of ``MAX_ITER``
epochs. It runs sequentially in this process (joblib's case for a single worker
thread: it does not send the fits to a one-worker cluster), then under joblib's dask
backend on a ``LocalCluster`` of 2 worker processes (one thread each), once with the
environment distributed's nannies give their workers and once without its
``MALLOC_TRIM_THRESHOLD_`` (``nanny_environ``). The clusters are started before the
clock; each search is timed from ``fit`` to its return (``refit=False``: the search's
fits only). Then ``HalvingGridSearchCV`` over the same 8 candidates with ``max_iter``
as the resource (1, 2, 4, 8 epochs; 8, 4, 2, 1 candidates): its time, its best
candidate's cross-validated accuracy, and the held-out accuracy of each search's best
candidate refitted on the whole training set (untimed). docs/scaling.md quotes the
figures.
"""

import argparse
import json
import logging
import os
import sys
import time
import warnings
from pathlib import Path

import joblib
import numpy as np
import psutil  # a dependency of distributed
from sklearn.exceptions import ConvergenceWarning
from sklearn.experimental import enable_halving_search_cv  # noqa: F401
from sklearn.model_selection import GridSearchCV, HalvingGridSearchCV, train_test_split
from sklearn.pipeline import make_pipeline
from threadpoolctl import threadpool_info

sys.path.insert(0, str(Path(__file__).resolve().parent))

from _common import machine_description

from skrnn import RNNClassifier, SequenceVectorizer
from skrnn.datasets import load_rotten_tomatoes

MAX_ITER = 8
GRID = {"rnnclassifier__cell": ["rnn", "gru"],
        "rnnclassifier__hidden_layer_sizes": [(16,), (32,)],
        "rnnclassifier__learning_rate_init": [0.01, 0.03]}
SIZES = {"full": (3000, 2000), "quick": (150, 100)}  # (train, test) snippets


def data(quick):
    X, y = load_rotten_tomatoes(return_X_y=True)
    n_train, n_test = SIZES["quick" if quick else "full"]
    return train_test_split(list(X), y, train_size=n_train, test_size=n_test,
                            stratify=y, random_state=0)


def pipeline(max_iter):
    return make_pipeline(
        SequenceVectorizer(analyzer="word", max_len=40),
        RNNClassifier(batch_size=32, max_iter=max_iter, early_stopping=False, random_state=0))


def grid_search(max_iter):
    return GridSearchCV(pipeline(max_iter), GRID, cv=3, refit=False, error_score="raise")


def halving_search(max_iter):
    return HalvingGridSearchCV(
        pipeline(max_iter), GRID, resource="rnnclassifier__max_iter", min_resources=1,
        max_resources=max_iter, factor=2, cv=3, refit=False, error_score="raise")


def timed_fit(search, X, y, backend="dask"):
    start = time.perf_counter()
    with warnings.catch_warnings(), joblib.parallel_config(backend=backend):
        warnings.simplefilter("ignore", ConvergenceWarning)
        search.fit(X, y)
    return search, time.perf_counter() - start


def nanny_environ(keep_malloc_trim):
    """The environment a nanny gives its worker: distributed's default, or that without
    ``MALLOC_TRIM_THRESHOLD_``, whose setting turns off glibc's dynamic mmap threshold
    (every large temporary is then mapped and unmapped again)."""
    import dask

    env = dict(dask.config.get("distributed.nanny.pre-spawn-environ"))
    if not keep_malloc_trim:
        env.pop("MALLOC_TRIM_THRESHOLD_", None)
    return env


def held_out_accuracy(params, max_iter, X, y, X_test, y_test):
    est = pipeline(max_iter).set_params(**params)
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", ConvergenceWarning)
        return float(est.fit(X, y).score(X_test, y_test))


def worker_blas_threads(client):
    return {addr: sorted({lib["num_threads"] for lib in libs if lib["user_api"] == "blas"})
            for addr, libs in client.run(threadpool_info).items()}


def run(quick=False):
    import dask
    from distributed import Client, LocalCluster

    max_iter = 2 if quick else MAX_ITER
    X, X_test, y, y_test = data(quick)
    out = {"machine": machine_description(), "n_train": len(X), "n_test": len(X_test),
           "max_iter": max_iter, "grid": {k: [str(v) for v in vs] for k, vs in GRID.items()},
           "searches": {}}
    searches = {}

    def record(name, search, seconds, blas):
        searches[name] = search
        out["searches"][name] = {
            "seconds": seconds, "n_fits": len(search.cv_results_["params"]) * 3,
            "best_params": {k: str(v) for k, v in search.best_params_.items()},
            "best_cv_accuracy": float(search.best_score_), "worker_blas_threads": blas}

    # One worker thread is joblib's sequential case (it runs the fits in the calling
    # process), so the baseline is the search without a cluster.
    search, seconds = timed_fit(grid_search(max_iter), X, y, backend="sequential")
    record("grid-sequential", search, seconds, None)
    # Without MALLOC_TRIM_THRESHOLD_ first: in this process, a later cluster's workers
    # were seen as slow as the default's whatever their environment.
    for keep in (False, True):
        label = "dask-default-env" if keep else "no-malloc-trim"
        with dask.config.set({"distributed.nanny.pre-spawn-environ": nanny_environ(keep)}), \
                LocalCluster(n_workers=2, threads_per_worker=1, processes=True,
                             dashboard_address=None, silence_logs=logging.ERROR) as cluster, \
                Client(cluster) as client:
            client.run(lambda: __import__("skrnn") and None)  # imported before the clock
            procs = [psutil.Process(pid) for pid in client.run(os.getpid).values()]
            procs.append(psutil.Process())  # this process: the scheduler and the client
            runs = [("grid", grid_search)] + ([] if keep else [("halving", halving_search)])
            for name, make in runs:
                before = [sum(p.cpu_times()[:2]) for p in procs]
                search, seconds = timed_fit(make(max_iter), X, y)
                record(f"{name}-2-workers-{label}", search, seconds,
                       worker_blas_threads(client))
                out["searches"][f"{name}-2-workers-{label}"]["worker_malloc_trim"] = sorted(
                    set(map(str, client.run(os.environ.get,
                                            "MALLOC_TRIM_THRESHOLD_").values())))
                out["searches"][f"{name}-2-workers-{label}"]["cpu_seconds"] = [
                    round(sum(p.cpu_times()[:2]) - b, 1) for p, b in zip(procs, before)]
    seq, fast = searches["grid-sequential"], searches["grid-2-workers-no-malloc-trim"]
    slow = searches["grid-2-workers-dask-default-env"]
    out["same_cv_results_sequential_and_2_workers"] = bool(all(
        np.array_equal(seq.cv_results_[k], other.cv_results_[k])
        for other in (fast, slow)
        for k in seq.cv_results_ if k.startswith(("mean_test", "split"))))
    s = out["searches"]
    out["speedup_2_workers_over_sequential"] = (
        s["grid-sequential"]["seconds"] / s["grid-2-workers-no-malloc-trim"]["seconds"])
    out["speedup_2_workers_dask_default_env_over_sequential"] = (
        s["grid-sequential"]["seconds"] / s["grid-2-workers-dask-default-env"]["seconds"])
    out["halving_time_over_grid_time"] = (s["halving-2-workers-no-malloc-trim"]["seconds"]
                                          / s["grid-2-workers-no-malloc-trim"]["seconds"])
    for name in ("grid-2-workers-no-malloc-trim", "halving-2-workers-no-malloc-trim"):
        params = searches[name].best_params_
        s[name]["held_out_accuracy"] = held_out_accuracy(
            {k: v for k, v in params.items() if k != "rnnclassifier__max_iter"},
            params.get("rnnclassifier__max_iter", max_iter), X, y, X_test, y_test)
    return out


def report(out):
    s = out["searches"]
    lines = [f"{out['n_train']} training snippets, 24-fit grid of {out['max_iter']} epochs"]
    for name, r in s.items():
        held_out = r.get("held_out_accuracy")
        lines.append(f"{name:<34} {r['seconds']:7.1f} s  {r['n_fits']:3d} fits  best CV "
                     f"accuracy {r['best_cv_accuracy']:.3f}  held-out "
                     f"{'  -  ' if held_out is None else f'{held_out:.3f}'}  "
                     f"BLAS threads per worker {r['worker_blas_threads']}"
                     + (f"  CPU s (workers, this process) {r['cpu_seconds']}"
                        if "cpu_seconds" in r else "")
                     + (f"  MALLOC_TRIM_THRESHOLD_ {r['worker_malloc_trim']}"
                        if "worker_malloc_trim" in r else ""))
    lines.append(f"speed-up of 2 workers over the sequential search: "
                 f"{out['speedup_2_workers_over_sequential']:.2f}x without "
                 "MALLOC_TRIM_THRESHOLD_, "
                 f"{out['speedup_2_workers_dask_default_env_over_sequential']:.2f}x with "
                 f"distributed's default (same cv_results_: "
                 f"{out['same_cv_results_sequential_and_2_workers']})")
    lines.append(f"halving time / grid time: {out['halving_time_over_grid_time']:.2f}")
    return "\n".join(lines)


def main(argv=None):
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--quick", action="store_true", help="a smoke run: 150 snippets, "
                        "2 epochs")
    parser.add_argument("--json", type=Path, default=None)
    args = parser.parse_args(argv)
    out = run(args.quick)
    print(report(out))
    if args.json:
        args.json.write_text(json.dumps(out, indent=1) + "\n")
    return out


if __name__ == "__main__":
    main()
