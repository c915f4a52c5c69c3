"""Memory of prediction and of a fit, measured with tracemalloc beside the data's size.

Run::

    python benchmarks/memory.py                  # 100,000 sequences for predict_proba
    python benchmarks/memory.py --quick --json memory.json

NumPy reports its buffers to tracemalloc, so the traced peak is the peak of every array
skrnn allocates during the call (the input itself was allocated before and is not
counted). Prediction runs in chunks of at most ``skrnn._tuning.PREDICT_CHUNK_ELEMENTS``
entries per gate buffer, so its peak stays bounded however many sequences there are;
the table also gives what one unchunked forward pass would hold (its gate and state
buffers, ``2 * T * n * G * H`` floats).
"""

import argparse
import json
import sys
import time
import tracemalloc
import warnings
from pathlib import Path

import numpy as np
from sklearn.exceptions import ConvergenceWarning

sys.path.insert(0, str(Path(__file__).resolve().parent))

from _common import mib
from _workloads import N_GATES, skrnn_estimator

from skrnn import _tuning


def traced_peak(fn):
    """(result, peak bytes allocated during fn, seconds)."""
    tracemalloc.start()
    tracemalloc.reset_peak()
    before = tracemalloc.get_traced_memory()[0]
    start = time.perf_counter()
    try:
        out = fn()
        seconds = time.perf_counter() - start
        peak = tracemalloc.get_traced_memory()[1] - before
    finally:
        tracemalloc.stop()
    return out, peak, seconds


def token_ids(rng, n, steps, vocab, min_len):
    """int32 ids, -1 end-padded, lengths uniform in [min_len, steps]."""
    X = rng.integers(0, vocab, size=(n, steps), dtype=np.int32)
    lengths = rng.integers(min_len, steps + 1, size=n)
    X[np.arange(steps)[None, :] >= lengths[:, None]] = -1
    return X


def predict_memory(n=100_000, steps=50, vocab=64, hidden=128, cell="rnn", seed=0):
    rng = np.random.default_rng(seed)
    X_fit = token_ids(rng, 256, steps, vocab, 10)
    y_fit = rng.integers(0, 2, size=256)
    est = skrnn_estimator(cell, hidden, max_iter=1)
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", ConvergenceWarning)
        est.fit(X_fit, y_fit)
    X = token_ids(rng, n, steps, vocab, 10)
    proba, peak, seconds = traced_peak(lambda: est.predict_proba(X))
    width = N_GATES[cell] * hidden
    chunk = min(n, max(1, _tuning.PREDICT_CHUNK_ELEMENTS // (steps * width)))
    item = np.dtype(est.dtype).itemsize
    return {
        "what": f"predict_proba, {cell} H={hidden}, {n:,} sequences x {steps} steps",
        "n_samples": n, "steps": steps, "seconds": seconds,
        "input_bytes": int(X.nbytes), "output_bytes": int(proba.nbytes),
        "peak_bytes": int(peak), "chunk_samples": int(chunk),
        "unchunked_bytes": int(2 * steps * n * width * item),
    }


def fit_memory(n=2048, steps=50, vocab=64, hidden=128, cell="rnn", epochs=3, batch=64,
               seed=0):
    rng = np.random.default_rng(seed)
    X = token_ids(rng, n, steps, vocab, 10)
    y = rng.integers(0, 2, size=n)
    est = skrnn_estimator(cell, hidden, max_iter=epochs, batch_size=batch)

    def fit():
        with warnings.catch_warnings():
            warnings.simplefilter("ignore", ConvergenceWarning)
            return est.fit(X, y)

    _, peak, seconds = traced_peak(fit)
    n_params = sum(v.size for v in est.params_.values())
    return {
        "what": f"fit, {cell} H={hidden}, {n:,} sequences x {steps} steps, batch {batch}, "
                f"{epochs} epochs",
        "n_samples": n, "steps": steps, "seconds": seconds,
        "input_bytes": int(X.nbytes), "peak_bytes": int(peak),
        "params_bytes": int(n_params * np.dtype(est.dtype).itemsize),
    }


def run(quick=False):
    return [predict_memory(n=20_000 if quick else 100_000),
            fit_memory(n=512 if quick else 2048),
            fit_memory(n=512 if quick else 2048, cell="lstm")]


def format_rows(rows):
    lines = [f"{'what':<70} {'data MiB':>9} {'peak MiB':>9} {'seconds':>8}"]
    for r in rows:
        lines.append(f"{r['what']:<70} {mib(r['input_bytes']):>9.1f} {mib(r['peak_bytes']):>9.1f}"
                     f" {r['seconds']:>8.2f}")
        if "unchunked_bytes" in r:
            lines.append(f"{'  (one unchunked forward pass would hold':<70} "
                         f"{'':>9} {mib(r['unchunked_bytes']):>9.0f})")
    return "\n".join(lines)


def main(argv=None):
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--quick", action="store_true", help="20,000 sequences, small fits")
    parser.add_argument("--json", type=Path, default=None)
    args = parser.parse_args(argv)
    rows = run(args.quick)
    print(format_rows(rows))
    if args.json:
        args.json.write_text(json.dumps(rows, indent=1))
    return rows


if __name__ == "__main__":
    main()
