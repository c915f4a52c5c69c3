"""Training time per token: RNNSequenceTagger beside RNNClassifier at the same sizes.

Both fit the same token-id sequences (``--n`` sequences of ``--steps`` ids from a
``--vocab``-word vocabulary) with the same cell, hidden size, batch size and
directions, for ``--epochs`` epochs with the stopping rule out of the way, on one BLAS
thread (the tagger always uses one; the classifier chooses by its step size, and on a
busy 2-core machine the threaded products are far slower). The median over
``--rounds`` fits of the time per token is printed for each; then the tagger on token
*strings* (the same sequences, each id spelled as a 4-8 letter word), which adds the
character encoder and the word embedding.

Run::

    python benchmarks/tagger_step.py
    python benchmarks/tagger_step.py --cell gru --hidden 128 --batch 32
"""

import argparse
import time
import warnings

import numpy as np
from sklearn.exceptions import ConvergenceWarning
from threadpoolctl import threadpool_limits

from skrnn import RNNClassifier, RNNSequenceTagger


def timed_fit(make, X, y, rounds):
    times = []
    for r in range(rounds):
        est = make(r)
        start = time.perf_counter()
        est.fit(X, y)
        times.append(time.perf_counter() - start)
    return float(np.median(times))


def main(argv=None):
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--n", type=int, default=512)
    parser.add_argument("--steps", type=int, default=20)
    parser.add_argument("--vocab", type=int, default=2000)
    parser.add_argument("--hidden", type=int, default=64)
    parser.add_argument("--batch", type=int, default=16)
    parser.add_argument("--cell", default="lstm")
    parser.add_argument("--epochs", type=int, default=3)
    parser.add_argument("--rounds", type=int, default=5)
    args = parser.parse_args(argv)

    rng = np.random.RandomState(0)
    X = rng.randint(0, args.vocab, (args.n, args.steps))
    y_seq = rng.randint(0, 10, (args.n, args.steps))
    tokens = args.n * args.steps
    common = {"cell": args.cell, "hidden_layer_sizes": (args.hidden,), "batch_size": args.batch,
                  "max_iter": args.epochs, "n_iter_no_change": 10**6, "bidirectional": True}
    letters = np.array(list("abcdefghijklmnopqrstuvwxyz"))
    words = ["".join(letters[rng.randint(0, 26, rng.randint(4, 9))])
             for _ in range(args.vocab)]
    X_str = [[words[i] for i in row] for row in X]
    y_str = [list(row) for row in y_seq]

    print(f"{args.n} sequences x {args.steps} steps, vocabulary {args.vocab}, "
          f"{args.cell} H={args.hidden}, batch {args.batch}, bidirectional, "
          f"{args.epochs} epochs; median of {args.rounds} fits")
    with warnings.catch_warnings(), threadpool_limits(1):
        warnings.simplefilter("ignore", ConvergenceWarning)
        clf = timed_fit(lambda r: RNNClassifier(random_state=r, **common), X,
                        y_seq[:, 0], args.rounds)
        tag = timed_fit(lambda r: RNNSequenceTagger(random_state=r, **common), X,
                        y_seq, args.rounds)
        tag_str = timed_fit(lambda r: RNNSequenceTagger(random_state=r, **common), X_str,
                            y_str, args.rounds)
    per = 1e6 / (tokens * args.epochs)
    print(f"RNNClassifier, token ids           {clf * per:8.2f} us/token")
    print(f"RNNSequenceTagger, token ids       {tag * per:8.2f} us/token "
          f"({tag / clf:.2f}x the classifier's)")
    print(f"RNNSequenceTagger, token strings   {tag_str * per:8.2f} us/token "
          f"({tag_str / clf:.2f}x; character encoder and embedding included)")


if __name__ == "__main__":
    main()
