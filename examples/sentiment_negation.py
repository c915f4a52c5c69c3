"""
Sentiment with negation: a recurrent classifier that reads word order
======================================================================

"not bad" is positive and "not good" negative: a bag of words cannot tell them
apart, a recurrent network reading the words in order can. This walk-through
trains ``SequenceVectorizer(analyzer="word") + RNNClassifier`` on the 58 training
sentences bundled with skrnn and prints train and test accuracy.

Run::

    python examples/sentiment_negation.py             # one fit, random_state=0
    python examples/sentiment_negation.py --seeds 10  # random_state 0..9, mean and min
"""

# %%
import argparse
import time

import numpy as np
from sklearn.pipeline import make_pipeline

from skrnn import RNNClassifier, SequenceVectorizer
from skrnn.datasets import load_negation_sentiment


def make_model(random_state=0):
    """The pipeline of this example: word ids in, a vanilla RNN with defaults otherwise."""
    return make_pipeline(
        SequenceVectorizer(analyzer="word"),
        RNNClassifier(random_state=random_state),
    )


def main(argv=None):
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[1])
    parser.add_argument("--seeds", type=int, default=1,
                        help="fit with random_state 0..seeds-1 and report mean and min")
    args = parser.parse_args(argv)

    data = load_negation_sentiment()
    print(f"{len(data.X_train)} training and {len(data.X_test)} test sentences")

    # %%
    # Fit, then score on the held-out sentences.
    train_acc, test_acc, seconds = [], [], []
    for seed in range(args.seeds):
        model = make_model(seed)
        start = time.perf_counter()
        model.fit(data.X_train, data.y_train)
        seconds.append(time.perf_counter() - start)
        train_acc.append(model.score(data.X_train, data.y_train))
        test_acc.append(model.score(data.X_test, data.y_test))
        print(f"random_state={seed}: train accuracy {train_acc[-1]:.3f}, "
              f"test accuracy {test_acc[-1]:.3f}, fit {seconds[-1]:.2f} s "
              f"({model[-1].n_iter_} epochs)")

    if args.seeds > 1:
        print(f"over random_state 0..{args.seeds - 1}: test accuracy mean "
              f"{np.mean(test_acc):.3f}, min {np.min(test_acc):.3f}; "
              f"fit time mean {np.mean(seconds):.2f} s, max {np.max(seconds):.2f} s")

    # %%
    # The model reads negation: the same words in another order change the label.
    phrases = ["this is good", "this is not good", "i am not sad", "i am sad"]
    names = data.target_names[model.predict(phrases)]
    for phrase, name in zip(phrases, names):
        print(f"  {phrase!r:>22} -> {name}")
    return test_acc


if __name__ == "__main__":
    main()
