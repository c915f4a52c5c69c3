"""The benchmark workloads, skrnn's side of them, and their matrix-product lower bound.

Everything here is NumPy and skrnn's public API (no torch), so other scripts reuse it;
:mod:`bench_vs_torch` adds the PyTorch side. The only package module read besides the
public one is :mod:`skrnn._tuning` (the documented tuning constants).

Workloads:

* training step, many-to-one, token ids over 64 symbols, batch 64, 50 steps: vanilla at
  hidden 32, 128, 512; LSTM and GRU at hidden 128;
* training step, many-to-many next-character, 65 symbols, batch 32, 64 steps, vanilla
  at hidden 128 and 256;
* ``predict_proba`` on 10,000 sequences of 50 steps;
* a whole ``RNNClassifier.fit``.

A *training step* of skrnn is timed through the public ``fit``: the data is an exact
number of minibatches of the step's shape, and two fits that differ only in
``max_iter`` run side by side; their time difference divided by the number of extra
minibatches is one step as fit runs it (forward, loss, backward, clipping, Adam, under
fit's BLAS thread policy, plus each minibatch's share of the epoch's batching). What
both fits do once (validation, initialisation, packing the parameters) cancels. Many-to-one
steps are ``RNNClassifier``'s (L2 ``alpha=1e-4``, its default); many-to-many steps are
``RNNSequenceGenerator``'s on documents of ``steps + 1`` tokens, one truncated-BPTT
window each (next-token cross-entropy over every step, ``alpha=0``, its default).
"""

import contextlib
import time
import warnings
from dataclasses import dataclass, field

import numpy as np
import scipy.sparse as sp
from sklearn.exceptions import ConvergenceWarning

from skrnn import RNNClassifier, RNNSequenceGenerator, _tuning

N_GATES = {"rnn": 1, "lstm": 4, "gru": 3}
ALPHA = 1e-4  # RNNClassifier's default L2 (RNNSequenceGenerator's is 0)
CLIP = 5.0  # RNNClassifier's default clip_norm
LR = 1e-3


@dataclass
class Step:
    """One training step (forward, backward, update) at fixed shapes."""

    name: str
    cell: str
    hidden: int
    vocab: int
    batch: int
    steps: int
    head: str = "many_to_one"
    n_classes: int = 2

    @property
    def kind(self):
        return "step"

    @property
    def alpha(self):
        """L2 of the estimator whose step this is (the classifier's or the generator's)."""
        return ALPHA if self.head == "many_to_one" else 0.0

    @property
    def step_product(self):
        """Multiply-adds of one step's recurrent product (what fit's thread policy reads)."""
        return self.batch * self.hidden * self.hidden * N_GATES[self.cell]

    def describe(self):
        head = "many-to-one" if self.head == "many_to_one" else "many-to-many"
        return (f"{head} {self.cell} H={self.hidden}, {self.vocab} ids, "
                f"B={self.batch}, T={self.steps}")


@dataclass
class Predict:
    name: str
    cell: str
    hidden: int
    vocab: int
    n_samples: int
    steps: int
    n_classes: int = 2

    @property
    def kind(self):
        return "predict"

    def describe(self):
        return (f"predict_proba {self.cell} H={self.hidden}, {self.n_samples:,} seqs x "
                f"{self.steps} steps")


@dataclass
class Fit:
    name: str
    cell: str
    hidden: int
    vocab: int
    n_samples: int
    steps: int
    min_len: int
    batch: int = 64
    epochs: int = 3
    n_classes: int = 2
    extra: dict = field(default_factory=dict)

    @property
    def kind(self):
        return "fit"

    def describe(self):
        return (f"fit {self.cell} H={self.hidden}: {self.n_samples} seqs, lengths "
                f"{self.min_len}-{self.steps}, batch {self.batch}, {self.epochs} epochs")


def default_workloads(quick=False):
    steps = [
        Step("m2o-rnn-32", "rnn", 32, 64, 64, 50),
        Step("m2o-rnn-128", "rnn", 128, 64, 64, 50),
        Step("m2o-rnn-512", "rnn", 512, 64, 64, 50),
        Step("m2o-lstm-128", "lstm", 128, 64, 64, 50),
        Step("m2o-gru-128", "gru", 128, 64, 64, 50),
        Step("m2m-rnn-128", "rnn", 128, 65, 32, 64, head="many_to_many", n_classes=65),
        Step("m2m-rnn-256", "rnn", 256, 65, 32, 64, head="many_to_many", n_classes=65),
    ]
    predict = [Predict("predict-rnn-128", "rnn", 128, 64, 10_000, 50)]
    n_fit = 512 if quick else 2048
    fits = [
        Fit("fit-rnn-32", "rnn", 32, 64, n_fit, 50, 10),
        Fit("fit-rnn-128", "rnn", 128, 64, n_fit, 50, 10),
        Fit("fit-rnn-512", "rnn", 512, 64, n_fit, 50, 10),
        Fit("fit-lstm-128", "lstm", 128, 64, n_fit, 50, 10),
        Fit("fit-gru-128", "gru", 128, 64, n_fit, 50, 10),
    ]
    return steps + predict + fits


# --------------------------------------------------------------------------- data


def step_data(w, seed=0):
    """Token ids (B, T) (all full length), and targets: (B,) classes or (B, T) next ids."""
    rng = np.random.default_rng(seed)
    ids = rng.integers(0, w.vocab, size=(w.batch, w.steps))
    if w.head == "many_to_one":
        y = rng.integers(0, w.n_classes, size=w.batch)
    else:
        y = np.concatenate([ids[:, 1:], rng.integers(0, w.vocab, size=(w.batch, 1))], axis=1)
    return ids, y


def step_fit_data(w, n_batches, seed=0):
    """Data that ``fit`` cuts into exactly ``n_batches`` minibatches of the step's shape.

    Many-to-one: ``n_batches * B`` full-length sequences of ``T`` ids and their classes.
    Many-to-many: ``n_batches * B`` documents of ``T + 1`` ids, each one window of ``T``
    predictions (``bptt_steps=T``), so every minibatch is ``B`` windows of ``T`` steps
    from a zero state; ``y`` is None.
    """
    rng = np.random.default_rng(seed)
    n = n_batches * w.batch
    if w.head == "many_to_one":
        X = rng.integers(0, w.vocab, size=(n, w.steps))
        y = rng.integers(0, w.n_classes, size=n)
        y[: w.n_classes] = np.arange(w.n_classes)  # every class present
        return X, y
    X = rng.integers(0, w.vocab, size=(n, w.steps + 1))
    return X, None


def fit_data(w, seed=0):
    rng = np.random.default_rng(seed)
    X = rng.integers(0, w.vocab, size=(w.n_samples, w.steps))
    lengths = rng.integers(w.min_len, w.steps + 1, size=w.n_samples)
    X[np.arange(w.steps)[None, :] >= lengths[:, None]] = -1
    y = rng.integers(0, w.n_classes, size=w.n_samples)
    return X, y


def predict_data(w, seed=0):
    rng = np.random.default_rng(seed)
    return rng.integers(0, w.vocab, size=(w.n_samples, w.steps))


# --------------------------------------------------------------------------- skrnn


def skrnn_estimator(cell, hidden, **kw):
    params = {"cell": cell, "hidden_layer_sizes": (hidden,), "alpha": ALPHA, "clip_norm": CLIP,
              "learning_rate_init": LR, "random_state": 0}
    params.update(kw)
    return RNNClassifier(**params)


def quiet_fit(est, X, y=None):
    """``est.fit(X, y)`` without the ConvergenceWarning a fixed ``max_iter`` raises."""
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", ConvergenceWarning)
        return est.fit(X, y)


class SkrnnStep:
    """skrnn's training step, timed through the public ``fit`` as a difference of fits.

    ``short`` fits ``short_epochs`` epochs of ``n_batches`` minibatches of the step's
    shape; ``long`` fits ``extra_epochs`` more on the same data, from the same
    ``random_state``. Per round, ``per_step(t_short, t_long)`` is the step time.
    ``extra_epochs=None`` picks enough extra steps to last about ``min_time`` seconds.
    """

    def __init__(self, w, n_batches=4, short_epochs=1, extra_epochs=None, min_time=0.25,
                 seed=0, dtype=np.float32):
        self.w = w
        self.n_batches = n_batches
        self.short_epochs = short_epochs
        self.X, self.y = step_fit_data(w, n_batches, seed)
        self.dtype = dtype
        if extra_epochs is None:
            extra_epochs = self._epochs_for(min_time)
        self.extra_epochs = extra_epochs
        self.extra_steps = extra_epochs * n_batches

    def estimator(self, epochs):
        w = self.w
        common = {"cell": w.cell, "hidden_layer_sizes": (w.hidden,), "alpha": w.alpha,
                  "clip_norm": CLIP, "learning_rate_init": LR, "batch_size": w.batch,
                  "max_iter": epochs, "tol": 0.0, "n_iter_no_change": epochs + 1,
                  "random_state": 0, "dtype": self.dtype, "learning_rate": "constant",
                  "early_stopping": False}
        if w.head == "many_to_one":
            return RNNClassifier(pooling="last", **common)
        return RNNSequenceGenerator(bptt_steps=w.steps, vocab_size=w.vocab, **common)

    def fit(self, epochs):
        est = quiet_fit(self.estimator(epochs), self.X, self.y)
        assert est.n_iter_ == epochs
        return est

    def short(self):
        return self.fit(self.short_epochs)

    def long(self):
        return self.fit(self.short_epochs + self.extra_epochs)

    def per_step(self, t_short, t_long):
        """Seconds per training step from the two fits' times (arrays: per round)."""
        return (np.asarray(t_long) - np.asarray(t_short)) / self.extra_steps

    def _epochs_for(self, min_time):
        """Extra epochs whose steps last about ``min_time`` seconds (one rough estimate)."""
        self.fit(self.short_epochs)  # warm up
        times = []
        for epochs in (self.short_epochs, self.short_epochs + 2):
            start = time.perf_counter()
            self.fit(epochs)
            times.append(time.perf_counter() - start)
        per_epoch = max((times[1] - times[0]) / 2, times[0] / (10 * self.short_epochs), 1e-6)
        return max(1, int(np.ceil(min_time / per_epoch)))


def skrnn_fitted_for_predict(w, seed=0):
    """An RNNClassifier fitted (one quick epoch) at the workload's shapes."""
    rng = np.random.default_rng(seed + 1)
    X = rng.integers(0, w.vocab, size=(256, w.steps))
    y = rng.integers(0, w.n_classes, size=256)
    return quiet_fit(skrnn_estimator(w.cell, w.hidden, max_iter=1), X, y)


def skrnn_fit_estimator(w, **kw):
    return skrnn_estimator(w.cell, w.hidden, batch_size=w.batch, max_iter=w.epochs,
                           n_iter_no_change=10 * w.epochs + 10, tol=0.0, **{**w.extra, **kw})


def run_skrnn_fit(w, X, y, **kw):
    est = quiet_fit(skrnn_fit_estimator(w, **kw), X, y)
    assert est.n_iter_ == w.epochs
    return est


# --------------------------------------------------------------------------- threads


_CONTROLLER = None


def fit_thread_policy(step_product):
    """The BLAS thread count skrnn's fit uses for a model of ``step_product``.

    One thread below ``_tuning.SMALL_STEP_PRODUCT`` multiply-adds per step, else BLAS's
    own count (as ``fit`` does), so that the lower bound is timed as skrnn runs.
    """
    global _CONTROLLER
    if step_product >= _tuning.SMALL_STEP_PRODUCT:
        return contextlib.nullcontext()
    if _CONTROLLER is None:
        from threadpoolctl import ThreadpoolController

        _CONTROLLER = ThreadpoolController()
    return _CONTROLLER.limit(limits=1, user_api="blas")


# --------------------------------------------------------------------------- lower bound


class LowerBound:
    """Only the matrix products a training step cannot avoid, in NumPy, float32.

    Forward: the input projection (a row gather of W_x for token ids, or the one-hot
    product if that is faster), ``h_{t-1} @ W_h`` at every step, the output projection.
    Backward: the output layer's two products, ``dz_t @ W_h.T`` at steps T-1..1 (with a
    contiguous ``W_h.T``, the faster form; dL/dh_0 is not needed), ``dW_h`` over all steps
    in one product, and ``dW_x`` (one-hot product or sparse product,
    whichever is faster). No activations, no loss, no optimizer, no clipping: skrnn's
    time over this is the cost of everything that is not a matrix product.

    The per-step products are also timed transposed, on feature-major arrays
    (``W_h.T @ h_{t-1}.T`` into a (G*H, B) result, and ``W_h @ dz_t.T``): the same
    arithmetic, which OpenBLAS runs faster at some of these shapes with two threads
    (skrnn's arrays are batch-major). The bound takes the faster form of each loop,
    forward and backward.

    The products run under the BLAS thread policy of skrnn's fit
    (:func:`fit_thread_policy`), so that both are timed at the same thread count.
    """

    def __init__(self, w, dtype=np.float32, seed=0):
        rng = np.random.default_rng(seed)
        G, H, V, B, T = N_GATES[w.cell], w.hidden, w.vocab, w.batch, w.steps
        C = w.n_classes
        self.w = w
        self.T = T
        ids, _ = step_data(w, seed)
        self.ids_tm = np.ascontiguousarray(ids.T)  # time-major
        r = lambda *s: rng.standard_normal(s).astype(dtype) * 0.1
        self.W_x, self.W_h, self.W_y = r(V, G * H), r(H, G * H), r(H, C)
        self.W_hT = np.ascontiguousarray(self.W_h.T)
        self.Zx = np.empty((T, B, G * H), dtype)
        self.Hs = r(T + 1, B, H)
        self.rec = np.empty((B, G * H), dtype)
        self.dZ = r(T, B, G * H)
        self.dh = np.empty((B, H), dtype)
        # The same products, feature-major: (features, batch) per step.
        self.Hs_fm = np.ascontiguousarray(self.Hs.transpose(0, 2, 1))
        self.dZ_fm = np.ascontiguousarray(self.dZ.transpose(0, 2, 1))
        self.rec_fm = np.empty((G * H, B), dtype)
        self.dh_fm = np.empty((H, B), dtype)
        self.many = w.head == "many_to_many"
        self.dlog = r(T * B, C) if self.many else r(B, C)
        flat = self.ids_tm.reshape(-1)
        self.onehot = np.zeros((T * B, V), dtype)
        self.onehot[np.arange(T * B), flat] = 1
        self.onehot_T = np.ascontiguousarray(self.onehot.T)
        self.sparse_T = sp.csr_matrix(self.onehot_T)
        self.step_product = B * H * H * G
        with fit_thread_policy(self.step_product):
            self.proj = self._fastest([self._project_gather, self._project_product])
            self.dWx = self._fastest([self._dWx_product, self._dWx_sparse])
            self.forward_loop = self._fastest([self._forward_loop, self._forward_loop_fm])
            self.backward_loop = self._fastest([self._backward_loop,
                                                self._backward_loop_fm])

    @staticmethod
    def _fastest(fns, n=15):
        best, best_t = None, np.inf
        for fn in fns:
            fn()
            ts = []
            for _ in range(n):
                t0 = time.perf_counter()
                fn()
                ts.append(time.perf_counter() - t0)
            if np.median(ts) < best_t:
                best, best_t = fn, np.median(ts)
        return best

    def _project_gather(self):
        # mode="clip" writes straight into ``out``; the default "raise" fills a temporary
        # first and copies it.
        np.take(self.W_x, self.ids_tm, axis=0, out=self.Zx, mode="clip")

    def _project_product(self):
        np.matmul(self.onehot, self.W_x, out=self.Zx.reshape(self.T * self.w.batch, -1))

    def _dWx_product(self):
        return self.onehot_T @ self.dZ.reshape(-1, self.dZ.shape[2])

    def _dWx_sparse(self):
        return self.sparse_T @ self.dZ.reshape(-1, self.dZ.shape[2])

    def __call__(self):
        with fit_thread_policy(self.step_product):
            self._products()

    def _forward_loop(self):
        Hs, W_h, rec = self.Hs, self.W_h, self.rec
        for t in range(self.T):
            np.dot(Hs[t], W_h, out=rec)  # np.dot: less dispatch than np.matmul

    def _forward_loop_fm(self):
        Hs, W_hT, rec = self.Hs_fm, self.W_hT, self.rec_fm
        for t in range(self.T):
            np.dot(W_hT, Hs[t], out=rec)

    def _backward_loop(self):
        dZ, W_hT, dh = self.dZ, self.W_hT, self.dh
        for t in range(self.T - 1, 0, -1):  # dL/dh_0 is not needed (h_0 is not trained)
            np.dot(dZ[t], W_hT, out=dh)

    def _backward_loop_fm(self):
        dZ, W_h, dh = self.dZ_fm, self.W_h, self.dh_fm
        for t in range(self.T - 1, 0, -1):
            np.dot(W_h, dZ[t], out=dh)

    def _products(self):
        T, Hs, H = self.T, self.Hs, self.W_h.shape[0]
        self.proj()
        self.forward_loop()
        feats = Hs[1:].reshape(-1, H) if self.many else Hs[T]
        feats @ self.W_y
        # backward
        feats.T @ self.dlog
        self.dlog @ self.W_y.T
        self.backward_loop()
        Hs[:T].reshape(-1, H).T @ self.dZ.reshape(-1, self.dZ.shape[2])
        self.dWx()
