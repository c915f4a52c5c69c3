"""
Part-of-speech tagging of Turkish, and per-step labels of a time series
=======================================================================

The Turkish Web Treebank (Kayadelen et al., LREC 2020), the authors' split: 3,881
training and 485 test sentences; a fifth of the 8,025 test tokens never occur in
training. The script fits ``RNNSequenceTagger`` with its defaults (only
``random_state`` set) and two baselines measured here on the same split:

* the most frequent tag of each (lowercased) token, the overall most frequent tag
  for a token never seen;
* logistic regression (C=5) on window features: the token, its neighbours at +-1 and
  +-2, its 2- and 3-letter suffixes, its 2-letter prefix, capitalisation, digits.

It prints test token accuracy on all, known and unknown tokens, with fit times. The
last part tags the regimes of a switching process from its float values: the same
estimator on NaN-padded float sequences.

Run::

    python examples/tagging_turkish.py              # one seed
    python examples/tagging_turkish.py --seeds 3    # random_state 0, 1, 2 and the mean
"""

# %%
import argparse
import time

import numpy as np
from sklearn.feature_extraction import DictVectorizer
from sklearn.linear_model import LogisticRegression

from skrnn import RNNSequenceTagger
from skrnn.datasets import load_turkish_web_treebank


def accuracies(pred, y_test, unknown):
    """(all, known, unknown) token accuracy of a list of label sequences."""
    right = np.concatenate([np.asarray(p) == np.asarray(t) for p, t in zip(pred, y_test)])
    return right.mean(), right[~unknown].mean(), right[unknown].mean()


def most_frequent_tag(X_train, y_train):
    counts = {}
    for tokens, tags in zip(X_train, y_train):
        for token, tag in zip(tokens, tags):
            c = counts.setdefault(token.lower(), {})
            c[tag] = c.get(tag, 0) + 1
    best = {token: max(c, key=c.get) for token, c in counts.items()}
    overall = {}
    for tags in y_train:
        for tag in tags:
            overall[tag] = overall.get(tag, 0) + 1
    fallback = max(overall, key=overall.get)
    return lambda X: [[best.get(t.lower(), fallback) for t in s] for s in X]


def window_features(tokens):
    """One dict of features per token of a sentence."""
    low = [t.lower() for t in tokens]
    padded = ["<s2>", "<s1>"] + low + ["</s1>", "</s2>"]
    feats = []
    for i, (token, word) in enumerate(zip(tokens, low)):
        f = {"w=" + word: 1, "suf2=" + word[-2:]: 1, "suf3=" + word[-3:]: 1,
             "pre2=" + word[:2]: 1, "bias": 1}
        for k in (-2, -1, 1, 2):
            f[f"w{k:+d}=" + padded[i + 2 + k]] = 1
        if token[:1].isupper():
            f["upper"] = 1
        if any(c.isdigit() for c in token):
            f["digit"] = 1
        feats.append(f)
    return feats


def window_logistic_regression(X_train, y_train):
    vec = DictVectorizer()
    F = vec.fit_transform([f for s in X_train for f in window_features(s)])
    model = LogisticRegression(C=5, max_iter=1000).fit(F, [t for s in y_train for t in s])

    def predict(X):
        lengths = [len(s) for s in X]
        tags = model.predict(vec.transform([f for s in X for f in window_features(s)]))
        return np.split(tags, np.cumsum(lengths)[:-1])

    return predict


def report(name, seconds, acc):
    print(f"{name:<44} {acc[0]:.4f}   {acc[1]:.4f}   {acc[2]:.4f}   {seconds:7.1f}s")


def switching_regimes(n=200, T=40, seed=0):
    """Sequences of a process whose mean switches between -1 and +1 (noise 0.7)."""
    rng = np.random.RandomState(seed)
    regimes = np.cumsum(rng.rand(n, T) < 0.1, axis=1) % 2
    values = np.where(regimes == 1, 1.0, -1.0) + rng.normal(0, 0.7, (n, T))
    lengths = rng.randint(T // 2, T + 1, n)
    pad = np.arange(T)[None, :] >= lengths[:, None]
    return np.where(pad, np.nan, values)[:, :, None], np.where(pad, -1, regimes)


def main(argv=None):
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[1])
    parser.add_argument("--seeds", type=int, default=1,
                        help="fit the tagger with random_state 0..seeds-1; report the mean")
    parser.add_argument("--verbose", type=int, default=0)
    parser.add_argument("--skip-baselines", action="store_true")
    args = parser.parse_args(argv)

    data = load_turkish_web_treebank()
    X_train, y_train, X_test, y_test = data.X_train, data.y_train, data.X_test, data.y_test
    seen = {t for s in X_train for t in s}
    unknown = np.array([t not in seen for s in X_test for t in s])
    print(f"{len(X_train)} training, {len(X_test)} test sentences; {unknown.size} test "
          f"tokens, {unknown.mean():.1%} unseen in training")
    print(f"{'test token accuracy':<44} {'all':<8} {'known':<8} {'unknown':<8} {'fit':>8}")

    if not args.skip_baselines:
        start = time.perf_counter()
        predict = most_frequent_tag(X_train, y_train)
        report("most frequent tag (lowercased token)", time.perf_counter() - start,
               accuracies(predict(X_test), y_test, unknown))
        start = time.perf_counter()
        predict = window_logistic_regression(X_train, y_train)
        report("logistic regression, window features, C=5", time.perf_counter() - start,
               accuracies(predict(X_test), y_test, unknown))

    results = []
    for seed in range(args.seeds):
        start = time.perf_counter()
        tagger = RNNSequenceTagger(random_state=seed, verbose=args.verbose)
        tagger.fit(X_train, y_train)
        seconds = time.perf_counter() - start
        acc = accuracies(tagger.predict(X_test), y_test, unknown)
        report(f"RNNSequenceTagger, random_state={seed} ({tagger.n_iter_} epochs)", seconds,
               acc)
        results.append((*acc, seconds))
    if args.seeds > 1:
        mean = np.mean(results, axis=0)
        report(f"RNNSequenceTagger, mean of {args.seeds} seeds", mean[3], mean[:3])

    # %%
    # Per-step labels of a float time series: which regime is the process in?
    X, y = switching_regimes()
    start = time.perf_counter()
    regimes = RNNSequenceTagger(hidden_layer_sizes=(16,), max_iter=20, random_state=0)
    regimes.fit(X[:150], y[:150])
    seconds = time.perf_counter() - start
    real = y[150:] >= 0
    threshold = ((X[150:, :, 0] > 0) == y[150:])[real].mean()
    print(f"\nswitching regimes, 50 test series: RNNSequenceTagger {regimes.score(X[150:], y[150:]):.4f}"
          f" (fit {seconds:.1f}s), the sign of each value alone {threshold:.4f}")


if __name__ == "__main__":
    main()
