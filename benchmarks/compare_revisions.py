"""Two revisions of skrnn side by side: how much faster is a small fit after a change?

Run::

    python benchmarks/compare_revisions.py HEAD~3            # HEAD~3 against the working tree
    python benchmarks/compare_revisions.py v1 v2 --rounds 80

Each revision is checked out in a temporary ``git worktree`` (the working tree itself for
``.``, the default second revision) and imported by its own long-lived Python process.
In every round each process runs the workload once, in a random order, and the ratio of
the two times is kept: the median ratio over the rounds, with its interquartile range,
is the result (see :mod:`_common` for why). A process is reused from round to round, so
imports and the first-call costs are not timed.

The default workload is the negation example's fit (``examples/sentiment_negation.py``):
``make_pipeline(SequenceVectorizer(analyzer="word"), RNNClassifier(random_state=s))`` on
the bundled negation sentences, ``max_iter`` epochs with the stopping rule out of the
way, ``random_state`` cycling over 0..4. Its minibatches are 32 sequences of 1-10 words,
H=64: a fit whose time is the per-call overhead of the step, not its arithmetic, which is
what ``negation_vs_tutorial.py`` measures against the tutorial loop. ``--workload``
names a training-step workload instead (``m2o-lstm-128``, ``m2m-rnn-256``, ...: the shapes
of ``bench_vs_torch.py``'s workloads of those names): each request then times a fit of a
few epochs of exactly known minibatches through the public API and reports its time per
step; the same code (this file's) runs against both revisions. ``--workload vectorize``
times ``SequenceVectorizer.transform`` of 20,000 synthetic documents (5-59 words from a
5,000-word vocabulary) instead.

``--identical`` checks behaviour instead of timing it: every case of
``same_behaviour.py`` (this checkout's copy, run against each revision's skrnn) must
give bit-identical weights, predictions, history, warnings and verbose output::

    python benchmarks/compare_revisions.py --identical HEAD~3
"""

import argparse
import inspect
import json
import os
import subprocess
import sys
import tempfile
from pathlib import Path

import numpy as np

HERE = Path(__file__).resolve().parent
REPO = HERE.parent


def child(path, max_iter, workload="negation"):
    """Serve timings of the workload with the skrnn at ``path``: one line per request."""
    sys.path.insert(0, path)
    import time
    import warnings

    import skrnn

    if not Path(skrnn.__file__).resolve().is_relative_to(Path(path).resolve()):
        raise SystemExit(f"imported {skrnn.__file__}, not the skrnn at {path}")
    if workload == "vectorize":
        return _serve_vectorize()
    if workload != "negation":
        return _serve_steps(path, workload)
    from sklearn.pipeline import make_pipeline

    from skrnn import RNNClassifier, SequenceVectorizer
    from skrnn.datasets import load_negation_sentiment

    warnings.simplefilter("ignore")
    data = load_negation_sentiment()

    def fit(seed):
        # The model of the revisions before the defaults benchmark, on both sides.
        params = _known(RNNClassifier, {
            "random_state": seed, "max_iter": max_iter, "n_iter_no_change": max_iter + 1,
            "cell": "rnn", "batch_size": 32, "learning_rate_init": 0.01, "learning_rate": "constant",
            "early_stopping": False, "pooling": "last"})
        model = make_pipeline(SequenceVectorizer(analyzer="word"), RNNClassifier(**params))
        start = time.perf_counter()
        model.fit(data.X_train, data.y_train)
        return time.perf_counter() - start

    fit(0)  # warm up: imports, first calls, BLAS thread pools
    print("ready", flush=True)
    for line in sys.stdin:
        print(json.dumps(fit(int(line))), flush=True)


# Training-step workloads through the public API, the same code for both revisions: a
# fit of exactly STEP_EPOCHS x STEP_BATCHES minibatches at the shapes of bench_vs_torch.py's
# workload of that name; the time per request is the fit's time per step (the fit's fixed
# costs, validation and initialisation, are included and the same for both revisions).
STEP_EPOCHS, STEP_BATCHES = 3, 4
STEP_WORKLOADS = {
    # name: (estimator, cell, hidden, vocabulary, batch, steps)
    "m2o-rnn-128": ("classifier", "rnn", 128, 64, 64, 50),
    "m2o-lstm-128": ("classifier", "lstm", 128, 64, 64, 50),
    "m2o-gru-128": ("classifier", "gru", 128, 64, 64, 50),
    "m2m-rnn-128": ("generator", "rnn", 128, 65, 32, 64),
    "m2m-rnn-256": ("generator", "rnn", 256, 65, 32, 64),
}


def _known(cls, params):
    """The parameters ``cls`` has: the same step on revisions from before a parameter
    existed (its value here is the behaviour those revisions had)."""
    names = inspect.signature(cls).parameters
    return {k: v for k, v in params.items() if k in names}


def _step_fit(name):
    """A function that runs the workload's fit once and returns its number of steps."""
    import warnings

    from skrnn import RNNClassifier, RNNSequenceGenerator

    kind, cell, hidden, vocab, batch, steps = STEP_WORKLOADS[name]
    rng = np.random.default_rng(0)
    common = {"cell": cell, "hidden_layer_sizes": (hidden,), "batch_size": batch,
                  "max_iter": STEP_EPOCHS, "n_iter_no_change": 10**6, "tol": 0.0,
                  "learning_rate_init": 1e-3, "random_state": 0, "early_stopping": False,
                  "learning_rate": "constant", "pooling": "last"}
    if kind == "classifier":
        X = rng.integers(0, vocab, size=(batch * STEP_BATCHES, steps))
        y = rng.integers(0, 2, size=len(X))
        model, args = RNNClassifier(**_known(RNNClassifier, common)), (X, y)
    else:
        # one document of batch x steps x STEP_BATCHES predictions: lanes of windows
        X = rng.integers(0, vocab, size=(1, batch * steps * STEP_BATCHES + 1))
        model = RNNSequenceGenerator(bptt_steps=steps, **_known(RNNSequenceGenerator, common))
        args = (X,)

    def fit():
        with warnings.catch_warnings():
            warnings.simplefilter("ignore")
            model.fit(*args)
        # steps: samples (windows, for the generator) over the batch size; the same
        # number at both revisions, which train on the same batches
        return max(1, model.t_ // batch)

    return fit


def _serve_steps(path, name):
    """Serve the time per training step of workload ``name`` (one line per request)."""
    import time

    if name not in STEP_WORKLOADS:
        raise SystemExit(f"unknown workload {name!r}; step workloads: {sorted(STEP_WORKLOADS)}")
    fit = _step_fit(name)
    fit()
    print("ready", flush=True)
    for _ in sys.stdin:
        start = time.perf_counter()
        n_steps = fit()
        print(json.dumps((time.perf_counter() - start) / n_steps), flush=True)


def _serve_vectorize():
    """Serve the time of one transform of 20,000 documents (one line per request)."""
    import time

    from skrnn import SequenceVectorizer

    rng = np.random.default_rng(0)
    words = np.array([f"w{i}" for i in range(5000)])
    docs = [" ".join(rng.choice(words, rng.integers(5, 60))) for _ in range(20_000)]
    vectorizer = SequenceVectorizer(analyzer="word").fit(docs)
    vectorizer.transform(docs)
    print("ready", flush=True)
    for _ in sys.stdin:
        start = time.perf_counter()
        vectorizer.transform(docs)
        print(json.dumps(time.perf_counter() - start), flush=True)


def _checkout(rev, workdir):
    if rev == ".":
        return str(REPO)
    path = Path(workdir) / rev.replace("/", "_").replace("~", "-").replace("^", "-")
    subprocess.run(["git", "-C", str(REPO), "worktree", "add", "--detach", "--quiet",
                    str(path), rev], check=True)
    return str(path)


def _start(path, max_iter, workload):
    # Run from a neutral directory with no PYTHONPATH: the child imports the skrnn it is
    # given, not the one installed or checked out here.
    env = dict(os.environ, PYTHONPATH="")
    proc = subprocess.Popen([sys.executable, __file__, "--child", path, "--max-iter",
                             str(max_iter), "--workload", workload], stdin=subprocess.PIPE,
                            stdout=subprocess.PIPE, text=True, env=env,
                            cwd=tempfile.gettempdir())
    assert proc.stdout.readline().strip() == "ready"
    return proc


def _time(proc, seed):
    proc.stdin.write(f"{seed}\n")
    proc.stdin.flush()
    return json.loads(proc.stdout.readline())


def compare(base, new=".", rounds=60, max_iter=60, seed=0, workload="negation"):
    from _common import blas_threads, fmt_ratio, ratio_stats, time_stats

    revs = {"base": base, "new": new}
    with tempfile.TemporaryDirectory() as workdir:
        paths = {k: _checkout(rev, workdir) for k, rev in revs.items()}
        try:
            procs = {k: _start(p, max_iter, workload) for k, p in paths.items()}
            order_rng = np.random.default_rng(seed)
            times = {"base": [], "new": []}
            for r in range(rounds):
                for k in order_rng.permutation(["base", "new"]):
                    times[k].append(_time(procs[k], r % 5))
            for proc in procs.values():
                proc.stdin.close()
                proc.wait()
        finally:
            for k, rev in revs.items():
                if rev != ".":
                    subprocess.run(["git", "-C", str(REPO), "worktree", "remove", "--force",
                                    paths[k]], check=False)
    out = {"base": base, "new": new, "workload": workload, "rounds": rounds,
           "max_iter": max_iter, "threads": blas_threads(),
           "base_seconds": time_stats(times["base"]), "new_seconds": time_stats(times["new"]),
           "speedup": ratio_stats(times["base"], times["new"])}
    what = {"negation": f"negation fit, {max_iter} epochs",
            "vectorize": "SequenceVectorizer.transform of 20,000 documents"}.get(
        workload, f"{workload}, time per training step")
    print(f"{what}, {rounds} rounds, BLAS threads {out['threads']}")
    print(f"  {base}: median {out['base_seconds']['median'] * 1e3:.1f} ms")
    print(f"  {new}: median {out['new_seconds']['median'] * 1e3:.1f} ms")
    print(f"  base / new, per round: {fmt_ratio(out['speedup'])}")
    return out


def identical(base, new="."):
    """Fingerprint every case of same_behaviour.py at both revisions; print what differs."""
    revs = {"base": base, "new": new}
    prints = {}
    with tempfile.TemporaryDirectory() as workdir:
        paths = {k: _checkout(rev, workdir) for k, rev in revs.items()}
        try:
            for k, path in paths.items():
                out = Path(workdir) / f"{k}.json"
                subprocess.run([sys.executable, str(HERE / "same_behaviour.py"), "--skrnn",
                                path, "--json", str(out)], check=True,
                               env=dict(os.environ, PYTHONPATH=""), cwd=workdir)
                prints[k] = json.loads(out.read_text())
        finally:
            for k, rev in revs.items():
                if rev != ".":
                    subprocess.run(["git", "-C", str(REPO), "worktree", "remove", "--force",
                                    paths[k]], check=False)
    fields = ["params_", "answers", "history", "stdout", "warnings"]
    names = sorted(set(prints["base"]) | set(prints["new"]))
    print(f"{'case':32s} " + " ".join(f"{f:>9s}" for f in fields))
    n_same = 0
    for name in names:
        a, b = prints["base"].get(name), prints["new"].get(name)
        if a is None or b is None:
            print(f"{name:32s} missing at {'base' if a is None else 'new'}")
            continue
        same = [a[f] == b[f] for f in fields]
        n_same += all(same)
        print(f"{name:32s} " + " ".join(f"{'same' if s else 'DIFFERS':>9s}" for s in same))
    print(f"{n_same} of {len(names)} cases bit-identical between {base} and {new}")
    return n_same == len(names)


def main(argv=None):
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("base", nargs="?", help="revision to compare against")
    parser.add_argument("new", nargs="?", default=".", help="revision ('.': working tree)")
    parser.add_argument("--rounds", type=int, default=60)
    parser.add_argument("--max-iter", type=int, default=60, help="negation fit's epochs")
    parser.add_argument("--workload", default="negation",
                        help="'negation', 'vectorize', or a step workload of "
                        "bench_vs_torch.py")
    parser.add_argument("--json", type=Path, default=None)
    parser.add_argument("--identical", action="store_true",
                        help="compare behaviour (same_behaviour.py) instead of speed")
    parser.add_argument("--child", default=None, help=argparse.SUPPRESS)
    args = parser.parse_args(argv)
    if args.child is not None:
        return child(args.child, args.max_iter, args.workload)
    if args.base is None:
        parser.error("give the base revision, e.g. HEAD~1")
    if args.identical:
        raise SystemExit(0 if identical(args.base, args.new) else 1)
    sys.path.insert(0, str(HERE))
    out = compare(args.base, args.new, args.rounds, args.max_iter, workload=args.workload)
    if args.json:
        args.json.write_text(json.dumps(out, indent=1))
    return out


if __name__ == "__main__":
    main()
