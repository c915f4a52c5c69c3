"""The live speed thresholds of skrnn, each timed on both sides of its choice.

Run::

    python benchmarks/ablation.py                 # every row
    python benchmarks/ablation.py --quick --only blas-threads --json ablation.json

Each row times a whole public ``fit`` as skrnn ships it ("with") against the same fit
with one constant of :mod:`skrnn._tuning` set to the other side of its threshold
("without"), interleaved (every round runs both, in a random order) at ``--threads``
BLAS threads, and reports the median over rounds of ``time without / time with`` (> 1:
the shipped choice is faster) with its interquartile range. A threshold changes how
fast a fit is, never its result: both sides fit the same model (the tests check it).

Optimisations whose question is settled (fused gates, gate-major arrays, the
workspace, float32, ...) are no longer timed here: ``docs/decisions.md`` records what
was tried, what it measured and at which commit.

* ``blas-threads``: a small model's fit (per-step products below
  ``SMALL_STEP_PRODUCT``, 2**18 multiply-adds) on one BLAS thread, as shipped, against
  BLAS's own count; nothing to measure when the run itself uses one thread.
* ``blas-threads-786k``: the other side of that threshold, a fit at 786,432
  multiply-adds per step (GRU, H=64) at BLAS's threads, as shipped, against one
  thread: whether the threads pay just above it.
* ``dense-scatter``: ``dW_x`` of token ids as a dense one-hot product for a small batch
  (below ``DENSE_SCATTER_LIMIT`` multiply-adds), as shipped, against the sparse scatter.
* ``sparse-scatter``: the other side, a sparse scatter above the limit, as shipped,
  against the dense product.
* ``fill-whole``: small padded buffers zeroed in one call (up to ``FILL_PER_CALL``
  floats per block of padding), as shipped, against one call per block.
"""

import argparse
import contextlib
import json
import sys
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent))

from _common import blas_threads, fmt_ratio, interleaved, ratio_stats, time_stats
from _workloads import Fit, fit_data, run_skrnn_fit

from skrnn import _tuning


@contextlib.contextmanager
def tuned(**constants):
    """``skrnn._tuning`` constants set for the duration (the code reads them at call time)."""
    old = {name: getattr(_tuning, name) for name in constants}
    for name, value in constants.items():
        setattr(_tuning, name, value)
    try:
        yield
    finally:
        for name, value in old.items():
            setattr(_tuning, name, value)


def fit_pair(w, constants):
    """(fit as shipped, the same fit with ``constants`` set): callables returning the model."""
    X, y = fit_data(w)

    def shipped():
        return run_skrnn_fit(w, X, y)

    def other():
        with tuned(**constants):
            return run_skrnn_fit(w, X, y)

    return shipped, other


def ablations(quick=False):
    """name -> (description, workload, the _tuning constants of the "without" side)."""
    n_fit = 512 if quick else 2048
    fit32 = Fit("fit-rnn-32", "rnn", 32, 64, n_fit, 50, 10)
    tiny = Fit("fit-rnn-64-tiny", "rnn", 64, 30, 64, 8, 3, epochs=40)
    gru64 = Fit("fit-gru-64", "gru", 64, 64, n_fit, 50, 10)  # 64 x 64 x 192 per step
    return {
        "blas-threads": ("one BLAS thread for a small model's fit (vs BLAS's count)",
                         fit32, {"SMALL_STEP_PRODUCT": 0}),
        "blas-threads-786k": ("BLAS's threads for a fit at 786k per step (vs one thread)",
                              gru64, {"SMALL_STEP_PRODUCT": 2**62}),
        "dense-scatter": ("dW_x by a dense one-hot product, small batch (vs sparse)",
                          tiny, {"DENSE_SCATTER_LIMIT": -1}),
        "sparse-scatter": ("dW_x by a sparse scatter above the limit (vs dense)",
                           fit32, {"DENSE_SCATTER_LIMIT": 2**62}),
        "fill-whole": ("small padded buffers zeroed in one call (vs one per block)",
                       tiny, {"FILL_PER_CALL": 0}),
    }


def run(quick=False, only=None, rounds=None, settle=0.05):
    results = []
    for name, (description, w, constants) in ablations(quick).items():
        if only and name not in only:
            continue
        shipped, other = fit_pair(w, constants)
        times = interleaved({"with": shipped, "without": other},
                            rounds=rounds or (3 if quick else 7), settle=settle,
                            min_time=0, warmup=1)
        results.append({
            "name": name, "description": description, "workload": w.name,
            "without_setting": constants,
            "with": time_stats(times["with"]), "without": time_stats(times["without"]),
            "speedup": ratio_stats(times["without"], times["with"]),
        })
        print(format_row(results[-1]), flush=True)
    return {"rows": results, "threads": blas_threads()}


HEADER = f"{'ablation':<20} {'workload':<18} {'with ms':>9} {'without ms':>10} {'gain':>17}"


def format_row(r):
    return (f"{r['name']:<20} {r['workload']:<18} {r['with']['median'] * 1e3:>9.2f} "
            f"{r['without']['median'] * 1e3:>10.2f} {fmt_ratio(r['speedup']):>17}")


def main(argv=None):
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--quick", action="store_true")
    parser.add_argument("--only", nargs="*", default=None)
    parser.add_argument("--rounds", type=int, default=None)
    parser.add_argument("--threads", type=int, default=None,
                        help="force BLAS to this many threads (default: BLAS's own)")
    parser.add_argument("--json", type=Path, default=None)
    args = parser.parse_args(argv)
    limiter = None
    if args.threads is not None:
        from threadpoolctl import threadpool_limits

        limiter = threadpool_limits(limits=args.threads, user_api="blas")
    print(f"# BLAS threads: {blas_threads()}")
    print(HEADER)
    out = run(args.quick, args.only, args.rounds)
    if args.json:
        args.json.write_text(json.dumps(out, indent=1))
    del limiter
    return out


if __name__ == "__main__":
    main()
