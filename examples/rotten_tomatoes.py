"""
Rotten Tomatoes snippets: a recurrent classifier beside a bag-of-n-grams baseline
=================================================================================

12,808 critics' review snippets labelled fresh or rotten. The script splits them 80/20
(stratified, ``random_state=0``), fits ``SequenceVectorizer + RNNClassifier`` and a
``TfidfVectorizer(ngram_range=(1, 2)) + LogisticRegression`` baseline on the same split,
and prints both test accuracies with their fit times.

Run::

    python examples/rotten_tomatoes.py                # vanilla cell
    python examples/rotten_tomatoes.py --cell gru     # gated recurrent unit
    python examples/rotten_tomatoes.py --cell lstm --seeds 3
"""

# %%
import argparse
import time

import numpy as np
from sklearn.feature_extraction.text import TfidfVectorizer
from sklearn.linear_model import LogisticRegression
from sklearn.model_selection import train_test_split
from sklearn.pipeline import make_pipeline

from skrnn import RNNClassifier, SequenceVectorizer
from skrnn.datasets import load_rotten_tomatoes

# Settings per cell, chosen on a validation split of the training part (early stopping
# holds out 10 % of it); the test part is only used for the figures printed below.
SETTINGS = {
    "rnn": {"hidden_layer_sizes": (64,), "learning_rate_init": 2e-3, "alpha": 1e-3},
    "gru": {"hidden_layer_sizes": (64,), "learning_rate_init": 2e-3, "alpha": 1e-3},
    "lstm": {"hidden_layer_sizes": (64,), "learning_rate_init": 2e-3, "alpha": 1e-3},
}


def make_model(cell="rnn", random_state=0, verbose=0):
    return make_pipeline(
        SequenceVectorizer(analyzer="word", min_df=2, max_len=60),
        RNNClassifier(cell=cell, batch_size=64, max_iter=30, early_stopping=True,
                      n_iter_no_change=3, random_state=random_state, verbose=verbose,
                      **SETTINGS[cell]),
    )


def main(argv=None):
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[1])
    parser.add_argument("--cell", choices=sorted(SETTINGS), default="rnn")
    parser.add_argument("--seeds", type=int, default=1,
                        help="fit with random_state 0..seeds-1 and report the mean")
    parser.add_argument("--verbose", type=int, default=0)
    args = parser.parse_args(argv)

    data = load_rotten_tomatoes()
    X_train, X_test, y_train, y_test = train_test_split(
        data.data, data.target, test_size=0.2, stratify=data.target, random_state=0)
    print(f"{len(X_train)} training and {len(X_test)} test snippets")

    # %%
    # The bag-of-n-grams baseline.
    baseline = make_pipeline(TfidfVectorizer(ngram_range=(1, 2)),
                             LogisticRegression(max_iter=1000))
    start = time.perf_counter()
    baseline.fit(X_train, y_train)
    base_time = time.perf_counter() - start
    base_acc = baseline.score(X_test, y_test)
    print(f"Tfidf(1, 2) + LogisticRegression: test accuracy {base_acc:.3f}, "
          f"fit {base_time:.1f} s")

    # %%
    # The recurrent classifier.
    accs = []
    for seed in range(args.seeds):
        model = make_model(args.cell, seed, args.verbose)
        start = time.perf_counter()
        model.fit(X_train, y_train)
        seconds = time.perf_counter() - start
        accs.append(model.score(X_test, y_test))
        clf = model[-1]
        print(f"RNNClassifier(cell={args.cell!r}), random_state={seed}: test accuracy "
              f"{accs[-1]:.3f}, fit {seconds:.1f} s ({clf.n_iter_} epochs, best validation "
              f"accuracy {clf.best_validation_score_:.3f})")
    if args.seeds > 1:
        print(f"mean test accuracy over random_state 0..{args.seeds - 1}: {np.mean(accs):.3f}")
    return base_acc, accs


if __name__ == "__main__":
    main()
