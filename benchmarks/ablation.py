"""What each optimisation of skrnn's core buys: the same work with it switched off.

Run::

    python benchmarks/ablation.py                 # every ablation
    python benchmarks/ablation.py --quick --only sigmoid float64 --json ablation.json

Each row times skrnn as it is against skrnn with one optimisation undone, interleaved
(every round runs both, in a random order) at ``--threads`` BLAS threads, and reports the
median over rounds of ``time without / time with`` (> 1: the optimisation helps) with
its interquartile range. "Undone" means the straightforward NumPy one would write
instead, defined in this file and patched in for the measurement only:

* ``sigmoid``: gates through ``scipy.special.expit`` (plus ``np.tanh`` for the LSTM's
  g) instead of one ``np.tanh`` over the fused row with the 0.5 scale folded in.
* ``fused-gates``: four (H, H) products per step, forward and backward, instead of one
  (H, 4H) product (measured on the recurrent products alone: a component timing).
* ``gather``: the input projection of token ids as one-hot rows times ``W_x``, and
  ``dW_x`` as the one-hot matrix's transpose times ``dZ``, instead of a row gather and
  a sparse scatter-add (at the workloads' 64 symbols, and at 5,000).
* ``one-product-dW``: ``dW_h`` accumulated with one product per step instead of one
  product over all steps.
* ``workspace``: the step's arrays over all steps (gates, states, their gradients)
  allocated afresh every minibatch instead of reused from one workspace per fit (fresh
  memory that large is faulted in page by page: ~3,000 page faults per LSTM step).
* ``buffers``: a vanilla cell that allocates a new state per step (a Python list
  stacked at the end, new arrays for every intermediate of the backward pass) instead
  of writing into preallocated ``(T, B, H)`` buffers.
* ``in-place``: element-wise steps as expressions (temporaries) instead of ``out=``.
* ``contiguous-WT``: products with the transposed view ``W_h.T`` instead of a
  contiguous copy made once per backward pass.
* ``float64``: the whole step in float64 instead of float32 (the default).
* ``log-softmax``: ``scipy.special.logsumexp`` instead of three NumPy calls.
* ``validation``: every minibatch re-validated from the raw array (as a loop over the
  public ``fit`` API would) instead of validating once per fit (float sequences with 16
  features, where validation has the most to check).
* ``blas-threads``: a small model's fit (per-step products below OpenBLAS's threshold
  for threading) at BLAS's own thread count instead of one thread; nothing to measure
  when the run itself uses one thread.
* ``buckets``: ``RNNClassifier.fit`` with length-bucketed batches (pools of 8) against
  plain shuffled batches, for speed; and the test R^2 of both on a task whose target
  depends on the sequence length, for what it does to learning.
"""

import argparse
import contextlib
import json
import sys
import warnings
from pathlib import Path

import numpy as np
from scipy.special import expit, logsumexp
from sklearn.exceptions import ConvergenceWarning

sys.path.insert(0, str(Path(__file__).resolve().parent))

from _common import blas_threads, fmt_ratio, interleaved, ratio_stats, time_stats
from _workloads import Fit, SkrnnStep, Step, fit_data, skrnn_fit_estimator

from skrnn import RNNClassifier, RNNRegressor, _base, _cells, _network, pad_sequences
from skrnn._base import length_bucketed_batches
from skrnn._cells import Cell, _sum_over_steps
from skrnn._validation import check_sequences

# --------------------------------------------------------------------------- patching


@contextlib.contextmanager
def patched(obj, name, value):
    """Temporarily replace ``obj.name`` (a module function or a class attribute)."""
    old = getattr(obj, name)
    setattr(obj, name, value)
    try:
        yield
    finally:
        setattr(obj, name, old)


def under(patches, fn):
    """``fn`` run with every (obj, name, value) of ``patches`` in place."""

    def run():
        with contextlib.ExitStack() as stack:
            for obj, name, value in patches:
                stack.enter_context(patched(obj, name, value))
            return fn()

    return run


# --------------------------------------------------------------------------- naive variants


def lstm_forward_expit(Zx, params, state0, batch_sizes, activation=None, ws=None):
    """skrnn's LSTM forward with each gate activated by its own function (expit, tanh)."""
    W_h = params["W_h"]
    T, B, n_h = Zx.shape[0], Zx.shape[1], W_h.shape[0]
    Hs = np.zeros((T + 1, B, n_h), dtype=Zx.dtype)
    Cs = np.zeros_like(Hs)
    tanh_C = np.zeros((T, B, n_h), dtype=Zx.dtype)
    Hs[0], Cs[0] = state0
    rec = np.empty((B, 4 * n_h), dtype=Zx.dtype)
    for t in range(T):
        n = batch_sizes[t]
        z = Zx[t, :n]
        np.matmul(Hs[t, :n], W_h, out=rec[:n])
        z += rec[:n]
        expit(z[:, : 2 * n_h], out=z[:, : 2 * n_h])
        np.tanh(z[:, 2 * n_h : 3 * n_h], out=z[:, 2 * n_h : 3 * n_h])
        expit(z[:, 3 * n_h :], out=z[:, 3 * n_h :])
        i, f, g, o = z[:, :n_h], z[:, n_h : 2 * n_h], z[:, 2 * n_h : 3 * n_h], z[:, 3 * n_h :]
        np.multiply(f, Cs[t, :n], out=Cs[t + 1, :n])
        Cs[t + 1, :n] += i * g
        np.tanh(Cs[t + 1, :n], out=tanh_C[t, :n])
        np.multiply(o, tanh_C[t, :n], out=Hs[t + 1, :n])
    return Hs, {"Hs": Hs, "Cs": Cs, "gates": Zx, "tanh_C": tanh_C}


def rnn_forward_allocating(Zx, params, state0, batch_sizes, activation="tanh", ws=None):
    """Vanilla forward that makes a new state array every step and stacks them."""
    W_h = params["W_h"]
    hs = [state0[0]]
    for t in range(Zx.shape[0]):
        n = batch_sizes[t]
        h = hs[-1].copy()
        h[:n] = np.tanh(hs[-1][:n] @ W_h + Zx[t, :n])
        hs.append(h)
    Hs = np.stack(hs)
    return Hs, {"Hs": Hs}


def rnn_backward_allocating(dHs, params, cache, batch_sizes, activation="tanh", ws=None):
    """Vanilla BPTT with new arrays for every intermediate and a separate dZ."""
    W_h, Hs = params["W_h"], cache["Hs"]
    dZ = np.zeros_like(dHs)
    dh_next = np.zeros_like(dHs[0])
    for t in range(dHs.shape[0] - 1, -1, -1):
        n = batch_sizes[t]
        da = (dHs[t, :n] + dh_next[:n]) * (1 - Hs[t + 1, :n] ** 2)
        dZ[t, :n] = da
        if t:  # as skrnn, no dL/dh_0
            dh_next = dh_next.copy()
            dh_next[:n] = da @ W_h.T
    return dZ, {"W_h": _sum_over_steps(Hs, dZ)}


def rnn_forward_expressions(Zx, params, state0, batch_sizes, activation="tanh", ws=None):
    """Vanilla forward into preallocated buffers, but with temporaries (no ``out=``)."""
    W_h = params["W_h"]
    T, B, n_h = Zx.shape[0], Zx.shape[1], W_h.shape[0]
    Hs = np.zeros((T + 1, B, n_h), dtype=Zx.dtype)
    Hs[0] = state0[0]
    for t in range(T):
        n = batch_sizes[t]
        Hs[t + 1, :n] = np.tanh(Hs[t, :n] @ W_h + Zx[t, :n])
    return Hs, {"Hs": Hs}


def rnn_backward_expressions(dHs, params, cache, batch_sizes, activation="tanh", ws=None):
    """Vanilla BPTT into preallocated buffers, but with temporaries (no ``out=``)."""
    W_h, Hs = params["W_h"], cache["Hs"]
    dh_next = np.zeros_like(dHs[0])
    for t in range(dHs.shape[0] - 1, -1, -1):
        n = batch_sizes[t]
        dHs[t, :n] = (dHs[t, :n] + dh_next[:n]) * (1 - Hs[t + 1, :n] * Hs[t + 1, :n])
        if t:  # as skrnn, no dL/dh_0
            dh_next[:n] = dHs[t, :n] @ W_h.T
    return dHs, {"W_h": _sum_over_steps(Hs, dHs)}


def sum_over_steps_per_step(Hs, dZ):
    """dW_h = sum_t h_{t-1}^T dZ_t, one small product per step."""
    dW = np.zeros((Hs.shape[2], dZ.shape[2]), dtype=dZ.dtype)
    for t in range(dZ.shape[0]):
        dW += Hs[t].T @ dZ[t]
    return dW


def project_onehot(x, W_x, b, index, scale, out):
    """Input projection as a product with explicit one-hot rows."""
    if not index:
        return _PROJECT(x, W_x, b, index, scale, out)
    T, B = x.shape
    onehot = np.zeros((T * B, W_x.shape[0]), dtype=W_x.dtype)
    onehot[np.arange(T * B), x.reshape(-1)] = 1
    Zx = (onehot @ W_x + b).reshape(T, B, -1)
    return Zx if scale is None else Zx * scale


def scatter_onehot(ids, dZ2, n_inputs):
    """dW_x as the one-hot matrix's transpose times dZ."""
    onehot = np.zeros((ids.size, n_inputs), dtype=dZ2.dtype)
    onehot[np.arange(ids.size), ids.reshape(-1)] = 1
    return onehot.T @ dZ2


_PROJECT = _network._project


def log_softmax_scipy(logits):
    return logits - logsumexp(logits, axis=-1, keepdims=True)


# --------------------------------------------------------------------------- the rows


def _step_pair(w, patches=(), cell=None, dtype=np.float32):
    """(optimised step, step with ``patches`` / a replaced cell / another dtype)."""
    base = SkrnnStep(w)
    other = SkrnnStep(w, dtype=dtype)
    if cell is not None:
        other.net.cell = cell
    return base, under(patches, other)


def _fresh_arrays(w):
    """The step with its workspace (as fit runs it) vs new arrays every step."""
    base, other = SkrnnStep(w), SkrnnStep(w)
    other.workspace = None
    return base, other


def _vanilla(forward, backward):
    return Cell("rnn", 1, forward, backward, 1)


def _fused_products(w):
    """Recurrent products of T steps forward and backward: fused vs one per gate."""
    rng = np.random.default_rng(0)
    G, H, B, T = 4, w.hidden, w.batch, w.steps
    W_h = rng.standard_normal((H, G * H)).astype(np.float32)
    W_hT = np.ascontiguousarray(W_h.T)
    blocks = [np.ascontiguousarray(W_h[:, k * H : (k + 1) * H]) for k in range(G)]
    blocks_T = [np.ascontiguousarray(b.T) for b in blocks]
    h = rng.standard_normal((B, H)).astype(np.float32)
    dz = rng.standard_normal((B, G * H)).astype(np.float32)
    rec = np.empty((B, G * H), np.float32)
    dh = np.empty((B, H), np.float32)
    parts = [np.empty((B, H), np.float32) for _ in range(G)]
    dz_blocks = [np.ascontiguousarray(dz[:, k * H : (k + 1) * H]) for k in range(G)]

    def fused():
        for _ in range(T):
            np.matmul(h, W_h, out=rec)
        for _ in range(T):
            np.matmul(dz, W_hT, out=dh)

    def per_gate():
        for _ in range(T):
            for k in range(G):
                np.matmul(h, blocks[k], out=parts[k])
        for _ in range(T):
            np.matmul(dz_blocks[0], blocks_T[0], out=dh)
            for k in range(1, G):
                np.matmul(dz_blocks[k], blocks_T[k], out=parts[k])
                np.add(dh, parts[k], out=dh)  # dh_{t-1} = sum over gates

    return fused, per_gate


def _fit_pair(w, patches):
    X, y = fit_data(w)

    def fit():
        est = skrnn_fit_estimator(w)
        with warnings.catch_warnings():
            warnings.simplefilter("ignore", ConvergenceWarning)
            return est.fit(X, y)

    return fit, under(patches, fit)


M2O = {H: Step(f"m2o-rnn-{H}", "rnn", H, 64, 64, 50) for H in (32, 128, 512)}
LSTM = Step("m2o-lstm-128", "lstm", 128, 64, 64, 50)
GRU = Step("m2o-gru-128", "gru", 128, 64, 64, 50)
BIG_VOCAB = Step("m2o-rnn-128-v5000", "rnn", 128, 5000, 64, 50)


def ablations(quick=False):
    """name -> (description, workload, factory of the (with, without) callables)."""
    n_fit = 512 if quick else 2048
    fit32 = Fit("fit-rnn-32", "rnn", 32, 64, n_fit, 50, 10)
    fit128 = Fit("fit-rnn-128", "rnn", 128, 64, n_fit, 50, 10)
    gather = [(_network, "_project", project_onehot),
              (_network, "_scatter_rows", scatter_onehot)]
    rows = {
        "sigmoid": ("gates by one tanh (vs scipy expit)", LSTM,
                    lambda w: _step_pair(w, cell=Cell("lstm", 4, lstm_forward_expit,
                                                      _cells.lstm_backward, 2))),
        "fused-gates": ("one (H, 4H) recurrent product per step (vs 4 x (H, H))", LSTM,
                        _fused_products),
        "gather": ("row gather / sparse scatter for ids (vs one-hot products)", M2O[128],
                   lambda w: _step_pair(w, gather)),
        "gather-v5000": ("the same at 5,000 symbols", BIG_VOCAB,
                         lambda w: _step_pair(w, gather)),
        "one-product-dW": ("dW_h in one product over all steps (vs one per step)", M2O[128],
                           lambda w: _step_pair(w, [(_cells, "_sum_over_steps",
                                                     sum_over_steps_per_step)])),
        "one-product-dW-lstm": ("the same, LSTM", LSTM,
                                lambda w: _step_pair(w, [(_cells, "_sum_over_steps",
                                                          sum_over_steps_per_step)])),
        "workspace": ("step arrays reused across minibatches (vs new each step), LSTM",
                      LSTM, _fresh_arrays),
        "workspace-gru": ("the same, GRU", GRU, _fresh_arrays),
        "workspace-128": ("the same, vanilla H=128", M2O[128], _fresh_arrays),
        "buffers": ("preallocated (T, B, H) buffers (vs new arrays per step)", M2O[32],
                    lambda w: _step_pair(w, cell=_vanilla(rnn_forward_allocating,
                                                          rnn_backward_allocating))),
        "buffers-128": ("the same, H=128", M2O[128],
                        lambda w: _step_pair(w, cell=_vanilla(rnn_forward_allocating,
                                                              rnn_backward_allocating))),
        "in-place": ("element-wise work with out= (vs temporaries)", M2O[32],
                     lambda w: _step_pair(w, cell=_vanilla(rnn_forward_expressions,
                                                           rnn_backward_expressions))),
        "contiguous-WT": ("contiguous copy of W_h.T (vs transposed view)", LSTM,
                          lambda w: _step_pair(w, [(_cells, "_transposed", lambda W: W.T)])),
        "float32": ("float32 (vs float64)", M2O[512],
                    lambda w: _step_pair(w, dtype=np.float64)),
        "float32-lstm": ("float32 (vs float64), LSTM", LSTM,
                         lambda w: _step_pair(w, dtype=np.float64)),
        "log-softmax": ("log-softmax in NumPy (vs scipy logsumexp)", M2O[32],
                        lambda w: _step_pair(w, [(_network, "log_softmax",
                                                  log_softmax_scipy)])),
        "validation": ("validate once per fit (vs every minibatch), 16 float features",
                       fit32, _validation_pair),
        "blas-threads": ("one BLAS thread for a small model's fit (vs BLAS's count)",
                         fit32, lambda w: _fit_pair(w, [(_base, "_SMALL_STEP_PRODUCT", 0)])),
        "buckets": ("length buckets of 8 batches (not the default: see quality)", fit128,
                    lambda w: _fit_pair(w, [(RNNClassifier, "_bucket_pool", 8)])[::-1]),
    }
    return rows


def _validation_pair(w):
    """Fit as is, and a fit whose every minibatch is validated again from the raw input.

    On float sequences with 16 features (NaN end-padded), where validation has the most
    to check (finite values, whole-step NaN padding, padding only at the end).
    """
    rng = np.random.default_rng(0)
    X = rng.standard_normal((w.n_samples, w.steps, 16)).astype(np.float32)
    lengths = rng.integers(w.min_len, w.steps + 1, size=w.n_samples)
    X[np.arange(w.steps)[None, :] >= lengths[:, None]] = np.nan
    y = rng.integers(0, 2, size=w.n_samples)

    def revalidated(self, train, rng):
        seqs, b_y, b_w, idx = train
        size = self._batch_size(len(idx))
        for b in length_bucketed_batches(seqs.lengths, idx, size, rng, self._bucket_pool):
            batch = check_sequences(X[b], n_features=seqs.n_features)
            yield (batch.take(np.arange(len(b))), b_y[b], None if b_w is None else b_w[b],
                   None, None)

    def fit():
        est = skrnn_fit_estimator(w)
        with warnings.catch_warnings():
            warnings.simplefilter("ignore", ConvergenceWarning)
            return est.fit(X, y)

    return fit, under([(RNNClassifier, "_iter_batches", revalidated)], fit)


def bucket_quality(seeds=4, max_iter=60):
    """Test R^2 of RNNRegressor on a length-dependent target, plain vs bucketed batches.

    The task of ``tests/test_regressor.py``: univariate sequences of 1 to 10 steps whose
    target is their sum and their last value.
    """
    rng = np.random.RandomState(0)

    def task(n):
        lengths = rng.randint(1, 11, size=n)
        seqs = [rng.uniform(-1, 1, size=(k, 1)) for k in lengths]
        X = pad_sequences(seqs, max_len=10, dtype=np.float32)
        return X, np.column_stack([[s.sum() for s in seqs], [s[-1, 0] for s in seqs]])

    X_train, y_train = task(300)
    X_test, y_test = task(200)
    scores = {}
    for pool in (1, 8):
        with patched(RNNRegressor, "_bucket_pool", pool), warnings.catch_warnings():
            warnings.simplefilter("ignore", ConvergenceWarning)
            scores[pool] = [
                float(RNNRegressor(cell="gru", hidden_layer_sizes=(16,), max_iter=max_iter,
                                   random_state=s).fit(X_train, y_train)
                      .score(X_test, y_test)) for s in range(seeds)]
    return {"task": "ragged sums, GRU H=16, 60 epochs, test R^2 per random_state",
            "plain": scores[1], "buckets_of_8": scores[8]}


def run(quick=False, only=None, rounds=None, settle=0.05):
    rows = ablations(quick)
    results = []
    for name, (description, w, factory) in rows.items():
        if only and name not in only:
            continue
        with_opt, without = factory(w)
        n_rounds = rounds or ((3 if quick else 7) if w.kind == "fit" else (7 if quick else 15))
        times = interleaved({"with": with_opt, "without": without}, rounds=n_rounds,
                            settle=settle, min_time=0 if w.kind == "fit" else 0.05,
                            warmup=1 if w.kind == "fit" else 2)
        results.append({
            "name": name, "description": description, "workload": w.name,
            "with": time_stats(times["with"]), "without": time_stats(times["without"]),
            "speedup": ratio_stats(times["without"], times["with"]),
        })
        print(format_row(results[-1]), flush=True)
    out = {"rows": results, "threads": blas_threads()}
    if not only or "buckets" in only:
        out["bucket_quality"] = bucket_quality(seeds=2 if quick else 4)
        print("bucket quality:", json.dumps(out["bucket_quality"]), flush=True)
    return out


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
