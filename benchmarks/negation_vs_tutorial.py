"""Negation sentences: skrnn against the classic per-sample NumPy RNN tutorial loop.

Run::

    python benchmarks/negation_vs_tutorial.py              # random_state 0..4
    python benchmarks/negation_vs_tutorial.py --seeds 2 --json negation.json

The data are skrnn's bundled negation sentences (``load_negation_sentiment``: 58
training and 20 test sentences such as "i am not happy"). Two learners, run side by
side (skrnn's fits between the tutorial's epochs, see below), on the same machine and
BLAS threads:

* **the tutorial**: the loop that introductory RNN tutorials teach (min-char-rnn
  style), written here from its description: a vanilla RNN over one-hot word column
  vectors ``(V, 1)``, 64 hidden units, weights drawn N(0, 1) / 1000, a many-to-one
  softmax, BPTT one sentence at a time, every gradient clipped to [-1, 1], plain SGD at
  learning rate 0.02, 1200 epochs over the shuffled sentences.
* **skrnn**: ``make_pipeline(SequenceVectorizer(analyzer="word"),
  RNNClassifier(random_state=s))`` as in ``examples/sentiment_negation.py``: all
  defaults (64 hidden units, Adam, minibatches of 32, stops when the training loss
  stops improving).

skrnn's fits last tens of milliseconds, while the tutorial's run lasts seconds, and the
shared machine has slow phases that last seconds (identical fits took 37 or 55 ms). So,
as the other benchmarks interleave their contenders, skrnn's fits are *interleaved with
the tutorial's run*: each of them is timed ``--repeats`` times (default 5; the fits are
deterministic, the same model every time), one fit at a time between the tutorial's
epochs, spread evenly over its run (outside the tutorial's clock), and the *mean* is
its time. Both sides then sample the same stretch of the machine's time. The first
epoch reaching 0.95 (below) is found before the tutorial starts, untimed. One untimed
fit first warms the process up (imports, first calls, BLAS thread pools).

Reported per seed and as medians over seeds:

* the tutorial's whole run (1200 epochs) and its test accuracy;
* skrnn's whole default ``fit`` (vectorizer included) and its test accuracy;
* **time to 0.95**: training time until the test accuracy first reaches 0.95. The
  tutorial's is clocked epoch by epoch during its run (the test evaluation after each
  epoch is not counted). skrnn's is a whole default ``fit`` with ``max_iter`` set to the
  first epoch that reaches 0.95, found beforehand with ``partial_fit`` (which runs
  exactly the epochs ``fit`` runs). Stopping on the test set is an oracle neither
  learner has in practice; both get it alike, to compare how fast each *can* get there.
"""

import argparse
import json
import sys
import time
import warnings
from functools import partial
from pathlib import Path

import numpy as np
from sklearn.exceptions import ConvergenceWarning
from sklearn.pipeline import make_pipeline

sys.path.insert(0, str(Path(__file__).resolve().parent))

from _common import blas_threads

from skrnn import RNNClassifier, SequenceVectorizer
from skrnn.datasets import load_negation_sentiment

TARGET = 0.95


# --------------------------------------------------------------------------- the tutorial


class TutorialRNN:
    """The tutorial's vanilla RNN: column vectors, one sample at a time.

    ``h_t = tanh(W_xh x_t + W_hh h_{t-1} + b_h)``, ``y = W_hy h_T + b_y``.
    """

    def __init__(self, n_words, n_classes, n_hidden=64, seed=0):
        rng = np.random.default_rng(seed)
        self.W_xh = rng.standard_normal((n_hidden, n_words)) / 1000
        self.W_hh = rng.standard_normal((n_hidden, n_hidden)) / 1000
        self.W_hy = rng.standard_normal((n_classes, n_hidden)) / 1000
        self.b_h = np.zeros((n_hidden, 1))
        self.b_y = np.zeros((n_classes, 1))

    def forward(self, xs):
        """Logits (C, 1) of one sentence given as a list of one-hot (V, 1) columns."""
        h = np.zeros_like(self.b_h)
        self.xs, self.hs = xs, [h]
        for x in xs:
            h = np.tanh(self.W_xh @ x + self.W_hh @ h + self.b_h)
            self.hs.append(h)
        return self.W_hy @ h + self.b_y

    def backward(self, dy, learning_rate):
        """BPTT of dL/dy through the last forward, then an SGD step."""
        n = len(self.xs)
        dW_hy = dy @ self.hs[n].T
        db_y = dy
        dW_xh = np.zeros_like(self.W_xh)
        dW_hh = np.zeros_like(self.W_hh)
        db_h = np.zeros_like(self.b_h)
        dh = self.W_hy.T @ dy  # dL/dh_T
        for t in reversed(range(n)):
            dh_raw = (1 - self.hs[t + 1] ** 2) * dh  # through tanh
            db_h += dh_raw
            dW_hh += dh_raw @ self.hs[t].T
            dW_xh += dh_raw @ self.xs[t].T
            dh = self.W_hh.T @ dh_raw  # into h_{t-1}
        for d in (dW_xh, dW_hh, dW_hy, db_h, db_y):
            np.clip(d, -1, 1, out=d)  # against exploding gradients
        self.W_xh -= learning_rate * dW_xh
        self.W_hh -= learning_rate * dW_hh
        self.W_hy -= learning_rate * dW_hy
        self.b_h -= learning_rate * db_h
        self.b_y -= learning_rate * db_y


def _one_hot_columns(sentence, vocabulary):
    cols = []
    for word in sentence.split():
        x = np.zeros((len(vocabulary), 1))
        x[vocabulary[word]] = 1
        cols.append(x)
    return cols


def _softmax(z):
    e = np.exp(z - z.max())
    return e / e.sum()


def run_tutorial(data, seed, epochs=1200, learning_rate=0.02, after_epoch=None):
    """Train the tutorial loop; returns seconds, accuracy and time to TARGET.

    ``after_epoch(epoch)``, if given, is called after every epoch, off the clock.
    """
    vocabulary = {w: i for i, w in enumerate(sorted({w for s in data.X_train for w in
                                                     s.split()}))}
    train = [(_one_hot_columns(s, vocabulary), int(y))
             for s, y in zip(data.X_train, data.y_train)]
    test = [(_one_hot_columns(s, vocabulary), int(y)) for s, y in zip(data.X_test, data.y_test)]
    rnn = TutorialRNN(len(vocabulary), 2, seed=seed)
    rng = np.random.default_rng(seed)
    trained, reached = 0.0, None
    for epoch in range(epochs):
        start = time.perf_counter()
        for k in rng.permutation(len(train)):
            xs, y = train[k]
            probs = _softmax(rnn.forward(xs))
            dy = probs.copy()
            dy[y] -= 1  # softmax + cross-entropy: dL/dy = p - onehot(y)
            rnn.backward(dy, learning_rate)
        trained += time.perf_counter() - start
        if reached is None:  # evaluation is not timed
            acc = np.mean([np.argmax(rnn.forward(xs)) == y for xs, y in test])
            if acc >= TARGET:
                reached = {"seconds": trained, "epochs": epoch + 1}
        if after_epoch is not None:
            after_epoch(epoch)
    accuracy = float(np.mean([np.argmax(rnn.forward(xs)) == y for xs, y in test]))
    return {"seconds": trained, "epochs": epochs, "accuracy": accuracy, "to_target": reached}


# --------------------------------------------------------------------------- skrnn


def make_model(seed):
    """The pipeline of examples/sentiment_negation.py."""
    return make_pipeline(SequenceVectorizer(analyzer="word"), RNNClassifier(random_state=seed))


def _timed_fit(data, seed, **params):
    """One default fit of the pipeline (with ``params`` set on the classifier), timed
    whole, vectorizer included: (model, seconds)."""
    model = make_model(seed)
    model[-1].set_params(**params)
    start = time.perf_counter()
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", ConvergenceWarning)
        model.fit(data.X_train, data.y_train)
    return model, time.perf_counter() - start


def first_epoch_at_target(data, seed, max_epochs=200):
    """The first epoch after which skrnn's default model reaches TARGET test accuracy.

    Found with ``partial_fit`` one epoch at a time, which runs exactly the epochs ``fit``
    runs (same seed, same batches, same optimizer state); not timed.
    """
    model = make_model(seed)
    vectorizer, clf = model[0], model[-1]
    X_train = vectorizer.fit_transform(data.X_train)
    X_test = vectorizer.transform(data.X_test)
    classes = np.unique(data.y_train)
    for epoch in range(1, max_epochs + 1):
        clf.partial_fit(X_train, data.y_train, classes=classes)
        if clf.score(X_test, data.y_test) >= TARGET:
            return epoch
    return None


def skrnn_jobs(data, seed, repeats):
    """The timed skrnn fits of a seed, and what makes their results from the times.

    Returns ``(jobs, results)``: ``jobs`` is a list of callables, each one timed fit
    (``repeats`` default fits and ``repeats`` fits stopped at the first epoch reaching
    TARGET, alternating); ``results()`` gives the ``skrnn_fit`` and ``skrnn_to_target``
    entries once they have all run. A fit "to TARGET" has ``max_iter`` set to that
    epoch and the stopping rule out of its way; its accuracy is checked.
    """
    epoch = first_epoch_at_target(data, seed)
    times = {"fit": [], "to_target": []}
    models = {}

    def job(kind):
        params = {} if kind == "fit" else {"max_iter": epoch, "n_iter_no_change": epoch + 1}
        models[kind], seconds = _timed_fit(data, seed, **params)
        times[kind].append(seconds)

    kinds = ["to_target", "fit"] if epoch is not None else ["fit"]
    jobs = [partial(job, kind) for _ in range(repeats) for kind in kinds]

    def results():
        fit = models["fit"]
        out = {"skrnn_fit": {"seconds": float(np.mean(times["fit"])), "repeats": times["fit"],
                             "epochs": int(fit[-1].n_iter_),
                             "accuracy": float(fit.score(data.X_test, data.y_test))},
               "skrnn_to_target": None}
        if epoch is not None:
            model = models["to_target"]
            accuracy = float(model.score(data.X_test, data.y_test))
            assert model[-1].n_iter_ == epoch and accuracy >= TARGET, (epoch, accuracy)
            out["skrnn_to_target"] = {"seconds": float(np.mean(times["to_target"])),
                                      "repeats": times["to_target"], "epochs": epoch,
                                      "accuracy": accuracy}
        return out

    return jobs, results


# --------------------------------------------------------------------------- running


def _spread(jobs, epochs):
    """(after_epoch, pending): a callback for :func:`run_tutorial` that runs ``jobs`` one
    at a time, evenly spaced over ``epochs`` epochs, and the list of those not run yet."""
    pending = list(jobs)
    every = max(1, epochs // (len(jobs) + 1))

    def after_epoch(epoch):
        if pending and (epoch + 1) % every == 0:
            pending.pop(0)()

    return after_epoch, pending


def run(seeds=5, epochs=1200, quick=False, repeats=5):
    data = load_negation_sentiment()
    if quick:
        seeds = min(seeds, 2)
    _timed_fit(data, 0, max_iter=2)  # warm-up, not timed
    per_seed = []
    for seed in range(seeds):
        jobs, results = skrnn_jobs(data, seed, repeats)
        after_epoch, pending = _spread(jobs, epochs)
        row = {"seed": seed,
               "tutorial": run_tutorial(data, seed, epochs, after_epoch=after_epoch)}
        for job in pending:  # only if the run had fewer epochs than jobs
            job()
        row.update(results())
        per_seed.append(row)
        print(format_seed(row), flush=True)
    return {"seeds": per_seed, "summary": summarize(per_seed), "threads": blas_threads(),
            "target": TARGET, "tutorial_epochs": epochs, "repeats": repeats,
            "interleaved": True}


def _median(values):
    values = [v for v in values if v is not None]
    return float(np.median(values)) if values else None


def summarize(rows):
    tut = _median([r["tutorial"]["seconds"] for r in rows])
    tut_target = _median([(r["tutorial"]["to_target"] or {}).get("seconds") for r in rows])
    fit = _median([r["skrnn_fit"]["seconds"] for r in rows])
    target = _median([(r["skrnn_to_target"] or {}).get("seconds") for r in rows])
    return {
        "tutorial_seconds": tut, "tutorial_to_target_seconds": tut_target,
        "tutorial_accuracy": [r["tutorial"]["accuracy"] for r in rows],
        "tutorial_reached": sum(r["tutorial"]["to_target"] is not None for r in rows),
        "skrnn_fit_seconds": fit,
        "skrnn_fit_accuracy": [r["skrnn_fit"]["accuracy"] for r in rows],
        "skrnn_fit_epochs": [r["skrnn_fit"]["epochs"] for r in rows],
        "skrnn_to_target_seconds": target,
        "skrnn_reached": sum(r["skrnn_to_target"] is not None for r in rows),
        "speedup_fit": tut / fit,
        "speedup_to_target": tut / target if target else None,
        "speedup_to_target_both": tut_target / target if tut_target and target else None,
        "n_seeds": len(rows), "tutorial_epochs": rows[0]["tutorial"]["epochs"],
    }


def _reached(result, unit_format):
    if result is None:
        return "never"
    return f"{unit_format.format(result['seconds'])} s ({result['epochs']} epochs)"


def format_seed(r):
    t, f = r["tutorial"], r["skrnn_fit"]
    return (f"seed {r['seed']}: tutorial {t['seconds']:.2f} s, accuracy {t['accuracy']:.2f}, "
            f"to {TARGET}: {_reached(t['to_target'], '{:.2f}')} | skrnn fit "
            f"{f['seconds']:.3f} s, accuracy {f['accuracy']:.2f} ({f['epochs']} epochs), "
            f"to {TARGET}: {_reached(r['skrnn_to_target'], '{:.3f}')}")


def format_summary(s):
    lines = [
        f"median over {s['n_seeds']} seeds:",
        (f"  tutorial, {s['tutorial_epochs']} epochs:        {s['tutorial_seconds']:.2f} s, "
         f"test accuracy {min(s['tutorial_accuracy']):.2f}-"
         f"{max(s['tutorial_accuracy']):.2f}"),
        (f"  skrnn default fit:            {s['skrnn_fit_seconds']:.3f} s, test accuracy "
         f"{min(s['skrnn_fit_accuracy']):.2f}-{max(s['skrnn_fit_accuracy']):.2f}"
         f"  -> {s['speedup_fit']:.0f}x shorter"),
    ]
    if s["skrnn_to_target_seconds"]:
        lines.append(f"  skrnn time to {TARGET}:          {s['skrnn_to_target_seconds']:.3f} s "
                     f"({s['skrnn_reached']}/{s['n_seeds']} seeds) -> "
                     f"{s['speedup_to_target']:.0f}x shorter than the tutorial's run")
    if s["speedup_to_target_both"]:
        lines.append(f"  tutorial time to {TARGET}:       {s['tutorial_to_target_seconds']:.2f} s "
                     f"({s['tutorial_reached']}/{s['n_seeds']} seeds) -> "
                     f"{s['speedup_to_target_both']:.0f}x, time to {TARGET} against time "
                     f"to {TARGET}")
    return "\n".join(lines)


def main(argv=None):
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--seeds", type=int, default=5)
    parser.add_argument("--epochs", type=int, default=1200, help="tutorial epochs")
    parser.add_argument("--repeats", type=int, default=5,
                        help="timed fits per skrnn measurement (their mean is reported)")
    parser.add_argument("--json", type=Path, default=None)
    args = parser.parse_args(argv)
    out = run(args.seeds, args.epochs, repeats=args.repeats)
    print(format_summary(out["summary"]))
    if args.json:
        args.json.write_text(json.dumps(out, indent=1))
    return out


if __name__ == "__main__":
    main()
