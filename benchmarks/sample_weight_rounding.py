"""How far apart weighted and repeated data leave a model, against rounding alone.

Fits RNNClassifier epoch by epoch (warm_start, full batches) on the data of scikit-learn's
``check_sample_weight_equivalence_on_dense_data`` three ways: the 27 repeated rows, the 15
weighted rows, and the 27 repeated rows in another order. The largest difference of
``predict_proba`` between repeated and weighted, and between repeated and reordered (the
same data: rounding alone), after 1, 2, 5, ... epochs, for float32 and float64 at the
default settings and with a few settings changed. Public API only; writes
``benchmarks/sample_weight_rounding.json`` and prints a Markdown table.

    python benchmarks/sample_weight_rounding.py
"""

import json
import warnings
from pathlib import Path

import numpy as np
from sklearn.exceptions import ConvergenceWarning
from sklearn.utils import shuffle

from skrnn import RNNClassifier

EPOCHS = [1, 2, 5, 10, 20, 40, 60]
SETTINGS = {
    "default (float32)": {},
    "float64": {"dtype": np.float64},
    "float64, learning_rate_init=1e-3": {"dtype": np.float64, "learning_rate_init": 1e-3},
    "learning_rate_init=1e-3": {"learning_rate_init": 1e-3},
    "solver='sgd'": {"solver": "sgd"},
    "clip_norm=None": {"clip_norm": None},
    "alpha=0": {"alpha": 0.0},
}


def check_data():
    """X, (X, y, sample_weight) shuffled, (X, y) repeated: as the check builds them."""
    rng = np.random.RandomState(42)
    X = rng.rand(15, 30)
    y = rng.randint(0, 3, size=15)
    sw = rng.randint(0, 5, size=15)
    return X, shuffle(X, y, sw, random_state=0), (X.repeat(sw, axis=0), y.repeat(sw))


def trajectory(X_pred, X, y, sample_weight=None, **params):
    """predict_proba(X_pred) after each epoch in EPOCHS."""
    clf = RNNClassifier(random_state=0, warm_start=True, max_iter=1,
                        n_iter_no_change=10**6, **params)
    out = []
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", ConvergenceWarning)
        for epoch in range(1, max(EPOCHS) + 1):
            clf.fit(X, y, sample_weight=sample_weight)
            if epoch in EPOCHS:
                out.append(clf.predict_proba(X_pred).astype(np.float64))
    return out


def main():
    X, (X_w, y_w, sw), (X_r, y_r) = check_data()
    order = np.random.RandomState(1).permutation(len(X_r))
    results = {"epochs": EPOCHS, "settings": {}}
    for label, params in SETTINGS.items():
        repeated = trajectory(X, X_r, y_r, **params)
        weighted = trajectory(X, X_w, y_w, sw, **params)
        reordered = trajectory(X, X_r[order], y_r[order], **params)
        results["settings"][label] = {
            "weighted": [float(np.abs(a - b).max()) for a, b in zip(repeated, weighted)],
            "reordered": [float(np.abs(a - b).max()) for a, b in zip(repeated, reordered)],
        }
    path = Path(__file__).with_name("sample_weight_rounding.json")
    path.write_text(json.dumps(results, indent=1) + "\n")
    print("| settings | against repeated | " + " | ".join(f"epoch {e}" for e in EPOCHS) + " |")
    print("|---|---|" + "---|" * len(EPOCHS))
    for label, rows in results["settings"].items():
        for what in ("weighted", "reordered"):
            cells = " | ".join(f"{v:.1e}" for v in rows[what])
            print(f"| {label} | {what} | {cells} |")


if __name__ == "__main__":
    main()
