"""Seed ranges of the long-range memory task of tests/test_memory.py.

The label of a sequence of 50 token ids is its first token (0 or 1); the other 49 are
random distractors (ids 2..9). 512 training and 500 test sequences (the test's data,
``np.random.RandomState(0)``), 32 hidden units, Adam, 20 epochs without early stop.
Reports the test accuracy of every cell for ``random_state`` 0..7 at learning rate 0.003
(0..15 for the GRU), and of the GRU at the default 0.01 for ``random_state`` 0..3. Public
API only; about a minute of CPU time.

    python benchmarks/first_token_memory.py      # writes benchmarks/first_token_memory.json
"""

import json
import warnings
from pathlib import Path

import numpy as np
from sklearn.exceptions import ConvergenceWarning

from skrnn import RNNClassifier

N_STEPS, N_TOKENS = 50, 10
RUNS = [("rnn", 0.003, 8), ("lstm", 0.003, 8), ("gru", 0.003, 16), ("gru", 0.01, 4)]


def first_token_task(n_samples, rng):
    X = rng.randint(2, N_TOKENS, size=(n_samples, N_STEPS))
    y = rng.randint(2, size=n_samples)
    X[:, 0] = y
    return X, y


def main():
    rng = np.random.RandomState(0)
    X_train, y_train = first_token_task(512, rng)
    X_test, y_test = first_token_task(500, rng)
    results = []
    for cell, lr, n_seeds in RUNS:
        accuracies = []
        for seed in range(n_seeds):
            # The final state, in batches of 32, all data trained on: the task is memory.
            clf = RNNClassifier(cell=cell, hidden_layer_sizes=(32,), learning_rate_init=lr,
                                max_iter=20, n_iter_no_change=20, random_state=seed,
                                pooling="last", batch_size=32, early_stopping=False)
            with warnings.catch_warnings():
                warnings.simplefilter("ignore", ConvergenceWarning)
                clf.fit(X_train, y_train)
            accuracies.append(float(clf.score(X_test, y_test)))
        results.append({"cell": cell, "learning_rate_init": lr,
                         "random_state": list(range(n_seeds)), "test_accuracy": accuracies})
        print(f"{cell} lr={lr}: " + " ".join(f"{a:.3f}" for a in accuracies), flush=True)
    path = Path(__file__).with_name("first_token_memory.json")
    path.write_text(json.dumps(results, indent=1) + "\n")


if __name__ == "__main__":
    main()
