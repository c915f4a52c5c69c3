"""Time a real search on a LocalCluster: 1 worker against 2, full grid against halving.

Public API only. Run it alone on the machine (the figures in docs/scaling.md came from)::

    flock -x /tmp/skrnn-cpu.lock python benchmarks/dask_search.py

A 24-fit GridSearchCV (8 candidates x 3 folds) of a SequenceVectorizer + RNNClassifier
pipeline on the bundled negation sentences, on a LocalCluster of 1 and then 2 worker
processes with one thread each; then the same 8-candidate space as a full grid at the top
epoch count against HalvingRandomSearchCV on epochs (time and best score). Prints JSON.
"""

import json
import time
import warnings

import joblib
from distributed import Client, LocalCluster
from sklearn.exceptions import ConvergenceWarning
from sklearn.experimental import enable_halving_search_cv  # noqa: F401
from sklearn.model_selection import GridSearchCV, HalvingGridSearchCV
from sklearn.pipeline import make_pipeline

from skrnn import RNNClassifier, SequenceVectorizer
from skrnn.datasets import load_negation_sentiment

GRID = {"rnnclassifier__cell": ["rnn", "gru"],
        "rnnclassifier__hidden_layer_sizes": [(16,), (32,)],
        "rnnclassifier__learning_rate_init": [0.01, 0.03]}
MAX_ITER = 200


def pipeline(max_iter=MAX_ITER):
    return make_pipeline(SequenceVectorizer(analyzer="word"),
                         RNNClassifier(max_iter=max_iter, random_state=0))


def on_cluster(n_workers, search, X, y):
    with (LocalCluster(n_workers=n_workers, threads_per_worker=1, processes=True,
                       dashboard_address=None, silence_logs="error") as cluster,
          Client(cluster) as client):
        client.run(lambda: None)  # workers up before the clock starts
        start = time.perf_counter()
        with joblib.parallel_config(backend="dask", client=client):
            search.set_params(n_jobs=-1).fit(X, y)
        return time.perf_counter() - start


def main():
    warnings.simplefilter("ignore", ConvergenceWarning)
    X, _, y, _ = load_negation_sentiment(return_X_y=True)
    out = {}
    for n in (1, 2):
        out[f"grid_{n}_worker_s"] = on_cluster(n, GridSearchCV(pipeline(), GRID, cv=3), X, y)
    out["speed_up_2_vs_1"] = out["grid_1_worker_s"] / out["grid_2_worker_s"]
    full = GridSearchCV(pipeline(), GRID, cv=3)
    out["full_grid_s"] = on_cluster(2, full, X, y)
    halving = HalvingGridSearchCV(pipeline(), GRID, cv=3, factor=2, random_state=0,
                                  resource="rnnclassifier__max_iter",
                                  min_resources=MAX_ITER // 4, max_resources=MAX_ITER)
    out["halving_s"] = on_cluster(2, halving, X, y)
    out["full_grid_best_score"] = float(full.best_score_)
    out["halving_best_score"] = float(halving.best_score_)
    out["halving_rungs"] = [int(r) for r in halving.n_resources_]
    print(json.dumps(out, indent=2))


if __name__ == "__main__":
    main()
