"""What the estimators do with their defaults, on the bundled data.

Every skrnn model here has only ``random_state`` set (the generator also ``max_time``);
the classifier on negation, Rotten Tomatoes, JapaneseVowels and GunPoint, the tagger on
the Turkish Web Treebank (authors' split), the generator on tinyshakespeare,
over several seeds; beside it, the baselines the examples print, measured in the same
run. Mean, min and max over the seeds, and the mean and longest fit time. This is how
the defaults were chosen (``docs/defaults.md``) and how a regression of them is caught.

Run (about 25 minutes with the generator; nothing else should run meanwhile)::

    python benchmarks/defaults.py --json benchmarks/defaults.json
    python benchmarks/defaults.py --skip-generator      # classifier and tagger, ~8 min
    python benchmarks/defaults.py --params '{"cell": "rnn"}' --datasets negation,gunpoint

``--params`` sets RNNClassifier parameters on top of the defaults, to compare a
candidate default with the current one.
"""

import argparse
import json
import time
import warnings

import numpy as np
from sklearn.exceptions import ConvergenceWarning
from sklearn.feature_extraction.text import TfidfVectorizer
from sklearn.linear_model import LogisticRegression
from sklearn.model_selection import train_test_split
from sklearn.neighbors import KNeighborsClassifier
from sklearn.pipeline import make_pipeline

from skrnn import (
    RNNClassifier,
    RNNSequenceGenerator,
    RNNSequenceTagger,
    SequenceScaler,
    SequenceVectorizer,
)
from skrnn.datasets import (
    load_gunpoint,
    load_japanese_vowels,
    load_negation_sentiment,
    load_rotten_tomatoes,
    load_tinyshakespeare,
    load_turkish_web_treebank,
)

DATASETS = ("negation", "rotten_tomatoes", "japanese_vowels", "gunpoint")


def load(name):
    """(X_train, X_test, y_train, y_test, kind): the split the examples use."""
    if name == "rotten_tomatoes":
        data = load_rotten_tomatoes()
        return (*train_test_split(data.data, data.target, test_size=0.2,
                                  stratify=data.target, random_state=0), "text")
    loader = {"negation": load_negation_sentiment, "japanese_vowels": load_japanese_vowels,
              "gunpoint": load_gunpoint}[name]
    data = loader()
    kind = "text" if name == "negation" else "series"
    return data.X_train, data.X_test, data.y_train, data.y_test, kind


def skrnn_models(kind, seed, params):
    """The default pipelines a user would write, by kind of data."""
    clf = RNNClassifier(random_state=seed, **params)
    if kind == "text":
        analyzer = {"analyzer": "word"}
        return {"defaults": make_pipeline(SequenceVectorizer(**analyzer), clf)}
    scaled = RNNClassifier(random_state=seed, **params)
    return {"defaults": clf, "SequenceScaler + defaults": make_pipeline(SequenceScaler(),
                                                                        scaled)}


def baselines(kind):
    if kind == "text":
        return {"TF-IDF (1-2 grams) + logistic regression": make_pipeline(
            TfidfVectorizer(ngram_range=(1, 2)), LogisticRegression(max_iter=1000))}
    return {"1-NN Euclidean (padding as 0)": _Flat(KNeighborsClassifier(n_neighbors=1))}


class _Flat:
    """A tabular estimator on the flattened series, NaN padding as 0."""

    def __init__(self, est):
        self.est = est

    def _flat(self, X):
        X = np.asarray(X, dtype=float)
        return np.nan_to_num(X.reshape(len(X), -1))

    def fit(self, X, y):
        self.est.fit(self._flat(X), y)
        return self

    def score(self, X, y):
        return self.est.score(self._flat(X), y)


def timed_score(model, X_train, y_train, X_test, y_test):
    start = time.perf_counter()
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", ConvergenceWarning)
        model.fit(X_train, y_train)
    seconds = time.perf_counter() - start
    return float(model.score(X_test, y_test)), seconds


def classifier_rows(datasets, seeds, params):
    rows = []
    for name in datasets:
        X_train, X_test, y_train, y_test, kind = load(name)
        runs = {}
        for seed in seeds:
            for label, model in skrnn_models(kind, seed, params).items():
                runs.setdefault(label, []).append(
                    timed_score(model, X_train, y_train, X_test, y_test))
        for label, model in baselines(kind).items():
            runs[label] = [timed_score(model, X_train, y_train, X_test, y_test)]
        for label, results in runs.items():
            scores, seconds = np.array(results).T
            rows.append({"dataset": name, "model": label, "metric": "test accuracy",
                         "mean": scores.mean(), "min": scores.min(), "max": scores.max(),
                         "n_seeds": len(scores), "fit_s": seconds.mean(),
                         "fit_s_max": seconds.max()})
            print(_line(rows[-1]), flush=True)
    return rows


def fresh_start_windows(text, width=100):
    """Every character of ``text`` but the first predicted once, ``width`` per window,
    each window read from a zero state (as ``generate`` reads a prefix)."""
    return [text[i : i + width + 1] for i in range(0, len(text) - 1, width)]


def tagger_rows(seeds):
    """Test token accuracy on all, known and unseen tokens; the most-frequent-tag
    baseline beside it (the window logistic regression is in the example)."""
    data = load_turkish_web_treebank()
    seen = {t for s in data.X_train for t in s}
    unseen = np.array([t not in seen for s in data.X_test for t in s])
    truth = np.concatenate([np.asarray(t) for t in data.y_test])
    runs = []
    for seed in seeds:
        start = time.perf_counter()
        tagger = RNNSequenceTagger(random_state=seed).fit(data.X_train, data.y_train)
        seconds = time.perf_counter() - start
        right = np.concatenate(tagger.predict(data.X_test)) == truth
        runs.append((right.mean(), right[~unseen].mean(), right[unseen].mean(), seconds))
    counts = {}
    for tokens, tags in zip(data.X_train, data.y_train):
        for token, tag in zip(tokens, tags):
            counts.setdefault(token.lower(), {}).setdefault(tag, 0)
            counts[token.lower()][tag] += 1
    overall = max(set(truth), key=lambda t: sum(c.get(t, 0) for c in counts.values()))
    best = {tok: max(c, key=c.get) for tok, c in counts.items()}
    guess = np.array([best.get(t.lower(), overall) for s in data.X_test for t in s])
    frequent = guess == truth
    runs = np.array(runs)
    rows = []
    for k, what in enumerate(("all", "known", "unseen")):
        rows.append({"dataset": "turkish_web_treebank", "model": "defaults",
                     "metric": f"test token accuracy, {what} tokens",
                     "mean": runs[:, k].mean(), "min": runs[:, k].min(),
                     "max": runs[:, k].max(), "n_seeds": len(runs),
                     "fit_s": runs[:, 3].mean(), "fit_s_max": runs[:, 3].max()})
        print(_line(rows[-1]), flush=True)
    for what, mask in (("all", slice(None)), ("known", ~unseen), ("unseen", unseen)):
        acc = float(frequent[mask].mean())
        rows.append({"dataset": "turkish_web_treebank", "model": "most frequent tag",
                     "metric": f"test token accuracy, {what} tokens", "mean": acc,
                     "min": acc, "max": acc, "n_seeds": 1, "fit_s": 0.0, "fit_s_max": 0.0})
        print(_line(rows[-1]), flush=True)
    return rows


def generator_rows(max_times, seed):
    text = load_tinyshakespeare()
    cut = int(0.9 * len(text))
    train, valid = text[:cut], text[cut:]
    rows = []
    for max_time in max_times:
        gen = RNNSequenceGenerator(max_time=max_time, random_state=seed)
        start = time.perf_counter()
        gen.fit([train])
        seconds = time.perf_counter() - start
        for what, docs in (("fresh starts (100-char windows)", fresh_start_windows(valid)),
                           ("state carried through", [valid])):
            loss = float(gen.loss(docs))
            rows.append({"dataset": "tinyshakespeare", "model": f"max_time={max_time:g}",
                         "metric": f"validation nats/char, {what}", "mean": loss,
                         "min": loss, "max": loss, "n_seeds": 1, "fit_s": seconds,
                         "fit_s_max": seconds, "epochs": gen.n_iter_})
            print(_line(rows[-1]), flush=True)
    return rows


def _line(row):
    return (f"{row['dataset']:16s} {row['model'][:42]:42s} {row['metric'][:40]:40s} "
            f"{row['mean']:.3f} [{row['min']:.3f}-{row['max']:.3f}] n={row['n_seeds']} "
            f"fit {row['fit_s']:.1f} s (max {row['fit_s_max']:.1f})")


def markdown(rows):
    out = ["| data | model | metric | mean | min | max | fit s (mean / max) |",
           "|---|---|---|---:|---:|---:|---:|"]
    for r in rows:
        out.append(f"| {r['dataset']} | {r['model']} | {r['metric']} | {r['mean']:.3f} | "
                   f"{r['min']:.3f} | {r['max']:.3f} | {r['fit_s']:.1f} / "
                   f"{r['fit_s_max']:.1f} |")
    return "\n".join(out)


def main(argv=None):
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--datasets", default=",".join(DATASETS))
    parser.add_argument("--seeds", type=int, default=3, help="random_state 0 .. seeds-1")
    parser.add_argument("--params", default="{}", help="RNNClassifier parameters (JSON)")
    parser.add_argument("--max-times", default="300,600",
                        help="the generator's max_time values, seconds")
    parser.add_argument("--skip-generator", action="store_true")
    parser.add_argument("--skip-tagger", action="store_true")
    parser.add_argument("--json", help="write the rows here")
    args = parser.parse_args(argv)
    params = json.loads(args.params)
    datasets = [d for d in args.datasets.split(",") if d]
    rows = classifier_rows(datasets, range(args.seeds), params)
    if not args.skip_tagger:
        rows += tagger_rows(range(args.seeds))
    if not args.skip_generator:
        rows += generator_rows([float(t) for t in args.max_times.split(",")], seed=0)
    print(markdown(rows))
    if args.json:
        with open(args.json, "w") as f:
            json.dump({"params": params, "rows": rows}, f, indent=1)
    return rows


if __name__ == "__main__":
    main()
