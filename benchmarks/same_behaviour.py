"""Fingerprints of what every estimator learns: to prove that a change alters nothing.

Each case fits one estimator configuration through the public API with a fixed
``random_state`` and records everything the fit leaves behind or answers: every array
of ``params_``, the predictions (``predict_proba``, ``predict``, ``score``,
``generate``), the history (``loss_curve_``, ``validation_scores_``, ``n_iter_``,
``t_``, ...), the warnings and the verbose output (with the seconds masked). Each value
is reduced to a SHA-256 of its bytes, dtype and shape, so two runs agree only if they
are bit-identical.

Run it alone to print the fingerprints of the skrnn it imports, or through
``compare_revisions.py --identical REV`` to compare a revision with the working tree::

    python benchmarks/same_behaviour.py --json fingerprints.json
    python benchmarks/compare_revisions.py --identical HEAD~3

The cases cover every estimator and cell, stacked and bidirectional layers, token ids
and float input, early stopping, warm start, partial_fit, sample and class weights,
every solver, and the generator's short documents, truncated BPTT over a long text,
early stopping on documents and on token tails, and token-id input.
"""

import argparse
import contextlib
import hashlib
import io
import json
import re
import sys
import warnings
from pathlib import Path


def _digest(value):
    import numpy as np

    if isinstance(value, dict):
        return {k: _digest(value[k]) for k in sorted(value)}
    if isinstance(value, (list, tuple)) and value and isinstance(value[0], np.ndarray):
        return [_digest(v) for v in value]
    if isinstance(value, str):
        return hashlib.sha256(value.encode()).hexdigest()[:16]
    a = np.asarray(value)
    if a.dtype == object:
        return hashlib.sha256(repr(value).encode()).hexdigest()[:16]
    h = hashlib.sha256(a.tobytes())
    h.update(f"{a.dtype.str}{a.shape}".encode())
    return h.hexdigest()[:16]


_SECONDS = re.compile(r"time = [0-9.]+s")


def _record(fit):
    """Run ``fit`` (returns (estimator, answers)); fingerprint it, its output and warnings."""
    out = io.StringIO()
    with warnings.catch_warnings(record=True) as caught, contextlib.redirect_stdout(out):
        warnings.simplefilter("always")
        est, answers = fit()
    history = {name: getattr(est, name) for name in
               ("n_iter_", "t_", "loss_curve_", "best_loss_", "validation_scores_",
                "best_validation_score_") if hasattr(est, name)}
    history = {k: (repr(v) if v is None or isinstance(v, (int, float)) else v)
               for k, v in history.items()}
    record = {"params_": _digest(est.params_), "answers": _digest(answers),
              "history": _digest(history),
              "stdout": _digest(_SECONDS.sub("time = _s", out.getvalue())),
              "warnings": _digest(sorted(f"{w.category.__name__}: {w.message}"
                                         for w in caught))}
    record["n_iter_"] = int(est.n_iter_)
    return record


def cases():
    """name -> a function that fits and returns (estimator, answers)."""
    import numpy as np
    from sklearn.pipeline import make_pipeline

    from skrnn import RNNClassifier, RNNRegressor, RNNSequenceGenerator, SequenceVectorizer
    from skrnn.datasets import load_japanese_vowels, load_negation_sentiment, load_tinyshakespeare

    neg = load_negation_sentiment()
    Xv, _, yv, _ = load_japanese_vowels(return_X_y=True)
    Xv, yv = Xv[:90], yv[:90]
    rng = np.random.default_rng(0)
    Xr = rng.normal(size=(70, 12, 3)).astype(np.float64)
    lengths = rng.integers(0, 13, size=70)
    Xr[np.arange(12)[None, :] >= lengths[:, None]] = np.nan
    yr = np.nan_to_num(Xr[:, :, 0]).sum(axis=1)
    yr2 = np.stack([yr, np.nan_to_num(Xr[:, :, 1]).mean(axis=1)], axis=1)
    text = load_tinyshakespeare()[:3000] if callable(load_tinyshakespeare) else None
    short_texts = list(neg.X_train)
    ids = SequenceVectorizer(analyzer="char").fit_transform(short_texts[:30])
    small = {"hidden_layer_sizes": (16,), "max_iter": 6, "random_state": 0}

    def clf_text(**kw):
        def fit():
            model = make_pipeline(SequenceVectorizer(analyzer="word"),
                                  RNNClassifier(**{**small, **kw}))
            model.fit(neg.X_train, neg.y_train)
            est = model[-1]
            return est, {"proba": model.predict_proba(neg.X_test),
                         "pred": model.predict(neg.X_test)}
        return fit

    def clf_dense(**kw):
        def fit():
            est = RNNClassifier(**{**small, **kw}).fit(Xv, yv)
            return est, {"proba": est.predict_proba(Xv), "log": est.predict_log_proba(Xv)}
        return fit

    def clf_weighted():
        w = np.linspace(0.5, 2.0, len(yv))
        est = RNNClassifier(**small, class_weight="balanced").fit(Xv, yv, sample_weight=w)
        return est, {"proba": est.predict_proba(Xv)}

    def clf_warm_start():
        est = RNNClassifier(**{**small, "max_iter": 3}, warm_start=True).fit(Xv, yv)
        first = est.predict_proba(Xv)
        est.set_params(max_iter=2, solver="adam").fit(Xv, yv)
        return est, {"first": first, "proba": est.predict_proba(Xv)}

    def clf_partial_fit():
        est = RNNClassifier(**small)
        classes = np.unique(yv)
        for k in range(3):
            est.partial_fit(Xv[k::3], yv[k::3], classes=classes if k == 0 else None)
        return est, {"proba": est.predict_proba(Xv)}

    def reg(**kw):
        def fit():
            y = yr2 if kw.pop("multi", False) else yr
            est = RNNRegressor(**{**small, **kw}).fit(Xr, y)
            return est, {"pred": est.predict(Xr), "score": est.score(Xr, y)}
        return fit

    def reg_partial_fit():
        est = RNNRegressor(**small)
        for k in range(3):
            est.partial_fit(Xr[k::3], yr[k::3])
        return est, {"pred": est.predict(Xr)}

    def gen(X, answers_for, **kw):
        def fit():
            est = RNNSequenceGenerator(**{**small, **kw}).fit(X)
            return est, answers_for(est)
        return fit

    def text_answers(est):
        return {"proba": est.predict_proba(["i am not", "th", ""]),
                "pred": est.predict(["i am not", "this is"]),
                "score": est.score(short_texts[:10]),
                "loss": est.loss(short_texts[:5], unit="bits", per_token=True),
                "generate": est.generate("this", n_tokens=30, temperature=1.0,
                                         random_state=0),
                "greedy": est.generate("i a", n_tokens=20, temperature=0)}

    def long_answers(est):
        return {"proba": est.predict_proba([text[:200], text[1000:1100]]),
                "score": est.score([text[2000:]]),
                "generate": est.generate(text[:50], n_tokens=40, temperature=0.8,
                                         top_k=5, random_state=1)}

    def id_answers(est):
        return {"proba": est.predict_proba(ids[:5]), "score": est.score(ids[:8]),
                "generate": est.generate(ids[0][:3], n_tokens=10, random_state=0)}

    def gen_warm_start():
        est = RNNSequenceGenerator(**{**small, "max_iter": 2}, warm_start=True,
                                   bptt_steps=16, batch_size=8).fit([text])
        first = est.score([text[2000:]])
        est.set_params(max_iter=2).fit([text])
        return est, {"first": first, "score": est.score([text[2000:]])}

    all_cases = {}
    for cell in ("rnn", "lstm", "gru"):
        all_cases[f"clf-text-{cell}"] = clf_text(cell=cell)
        all_cases[f"clf-dense-{cell}-bidir"] = clf_dense(cell=cell, bidirectional=True)
        all_cases[f"clf-dense-{cell}-stacked"] = clf_dense(cell=cell,
                                                           hidden_layer_sizes=(12, 8))
        all_cases[f"reg-{cell}"] = reg(cell=cell)
        all_cases[f"gen-short-{cell}"] = gen(short_texts, text_answers, cell=cell)
        all_cases[f"gen-tbptt-{cell}"] = gen([text], long_answers, cell=cell, bptt_steps=16,
                                             batch_size=8, max_iter=2)
    all_cases.update({
        "clf-text-relu-verbose": clf_text(activation="relu", verbose=1),
        "clf-dense-early-stopping": clf_dense(cell="gru", early_stopping=True, max_iter=8,
                                              n_iter_no_change=2, verbose=1),
        "clf-dense-sgd": clf_dense(solver="sgd", nesterovs_momentum=False),
        "clf-dense-sgd-nesterov": clf_dense(solver="sgd"),
        "clf-dense-adagrad": clf_dense(solver="adagrad", alpha=1e-2),
        "clf-dense-rmsprop-noclip": clf_dense(solver="rmsprop", clip_norm=None),
        "clf-dense-float64": clf_dense(dtype=np.float64, batch_size="auto"),
        "clf-dense-stop-on-loss": clf_dense(max_iter=40, n_iter_no_change=1, tol=0.05),
        "clf-weighted": clf_weighted,
        "clf-warm-start": clf_warm_start,
        "clf-partial-fit": clf_partial_fit,
        "reg-multi-output": reg(multi=True, cell="lstm"),
        "reg-early-stopping": reg(early_stopping=True, verbose=1, validation_fraction=0.2),
        "reg-partial-fit": reg_partial_fit,
        "gen-early-stopping-docs": gen(short_texts, text_answers, early_stopping=True,
                                       validation_fraction=0.2, verbose=1),
        "gen-early-stopping-tails": gen([text, text[:1500]], long_answers, early_stopping=True,
                                        bptt_steps=16, batch_size=8, max_iter=3),
        "gen-tbptt-stacked-no-reset": gen([text], long_answers, hidden_layer_sizes=(16, 8),
                                          bptt_steps=20, state_reset_proba=0.0, max_iter=2),
        "gen-ids": gen(ids, id_answers, cell="gru"),
        "gen-word": gen(short_texts, lambda e: {"proba": e.predict_proba(["i am"])},
                        analyzer="word"),
        "gen-warm-start": gen_warm_start,
    })
    return all_cases


def fingerprints(names=None):
    out = {}
    for name, fit in cases().items():
        if names and name not in names:
            continue
        out[name] = _record(fit)
    return out


def main(argv=None):
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--skrnn", default=None,
                        help="import skrnn from this checkout (default: as installed)")
    parser.add_argument("--json", type=Path, default=None)
    parser.add_argument("--case", action="append", default=None, help="only these cases")
    args = parser.parse_args(argv)
    if args.skrnn:
        sys.path.insert(0, args.skrnn)
    import skrnn

    if args.skrnn and not Path(skrnn.__file__).resolve().is_relative_to(
            Path(args.skrnn).resolve()):
        raise SystemExit(f"imported {skrnn.__file__}, not the skrnn at {args.skrnn}")
    out = fingerprints(args.case)
    text = json.dumps(out, indent=1, sort_keys=True)
    if args.json:
        args.json.write_text(text)
    else:
        print(text)


if __name__ == "__main__":
    main()
