"""The estimator machinery shared by every skrnn model.

:class:`BaseRNN` owns parameter validation, input validation, the fit (warm start,
partial fit, early stopping's split, weight initialisation, the commit of a trained
model) and chunked prediction; the epoch loop itself is :func:`skrnn._training.
run_epochs`. Subclasses say what the head is: how targets are encoded
(:meth:`BaseRNN._prepare_targets`), its loss and validation score; the generator
also says how its data is prepared and batched.

Fitted state is plain data only (a dict of arrays for the weights, a dict of
dicts of arrays for the optimizer, lists and numbers) so that a model saves with
skops without trusting anything but skrnn's own estimator class.
"""

import contextlib
import dataclasses
import functools
import threading
import warnings
from abc import ABCMeta, abstractmethod
from numbers import Integral

import joblib
import numpy as np
from sklearn.base import BaseEstimator
from sklearn.exceptions import ConvergenceWarning
from sklearn.utils import check_random_state
from sklearn.utils.validation import check_is_fitted

# threadpoolctl is a dependency of scikit-learn itself (not one skrnn adds): it is always
# installed beside scikit-learn, which uses it the same way.
from threadpoolctl import ThreadpoolController

from . import _optimizers, _tuning
from ._cells import ACTIVATIONS, CELLS
from ._network import POOLINGS, RecurrentNetwork
from ._params import (
    InvalidParameterError,
    check_bool,
    check_int,
    check_option,
    check_real,
    check_sample_weight,
    check_weight_sum,
)
from ._schedules import SCHEDULES, LearningRate
from ._training import History, PaddedBatches, Progress, Step, check_finite_weights, run_epochs
from ._validation import check_sequences, is_one_hot
from ._workspace import Workspace

__all__ = ["BaseRNN", "InvalidParameterError", "TrainingData"]

_THREADPOOLS = None  # a threadpoolctl.ThreadpoolController, made on first use
_RUNNING_FITS = 0  # fits running now in this process's threads (see _blas_threads_for)
_RUNNING_FITS_LOCK = threading.Lock()

# What the "auto" defaults resolve to, chosen by benchmarks/defaults.py (the table and
# the reasons: docs/defaults.md). early_stopping="auto" holds out a validation set from
# this many training samples on; n_iter_no_change="auto" is a patience of so many epochs
# on the training loss (which plateaus for a while on small series sets) or on a
# validation score (the best epoch's weights are restored, and epochs of a set large
# enough to hold one out are costly); batch_size="auto" is AUTO_SMALL_BATCH below
# AUTO_EARLY_STOPPING_SAMPLES samples (many updates an epoch), and above it
# 1/AUTO_BATCH_DIVISOR of the samples up to AUTO_LARGEST_BATCH (cheap epochs).
AUTO_EARLY_STOPPING_SAMPLES = 1000
AUTO_PATIENCE = {"loss": 10, "validation": 2}
AUTO_SMALL_BATCH = 8
AUTO_BATCH_DIVISOR = 8
AUTO_LARGEST_BATCH = 1024


@dataclasses.dataclass
class TrainingData:
    """Validated training data of one fit, and what the fit sets once it succeeds."""

    seqs: object  # skrnn._validation.Sequences, or the generator's skrnn._tbptt.Corpus
    y: np.ndarray | None  # encoded targets (None: the inputs are the targets)
    w: np.ndarray | None  # per-sample weights, or None
    attributes: dict  # fitted attributes of the targets (classes_, ...), _n_outputs_
    holdout: np.ndarray | None = None  # boolean: samples fixed for validation


def _architecture(estimator):
    """The network's shape as ``estimator``'s parameters set it now (validated before)."""
    sizes = estimator.hidden_layer_sizes
    sizes = (sizes,) if isinstance(sizes, Integral) else tuple(sizes)
    return {"cell": estimator.cell, "hidden_layer_sizes": tuple(int(h) for h in sizes),
            "activation": estimator.activation,
            "bidirectional": bool(getattr(estimator, "bidirectional", False)),
            "pooling": getattr(estimator, "pooling", "last")}


class BaseRNN(BaseEstimator, metaclass=ABCMeta):
    """Base class of the skrnn estimators. Do not use it directly."""

    _head = "many_to_one"

    @abstractmethod
    def __init__(self, *, cell, hidden_layer_sizes, activation, solver, alpha, batch_size,
                 learning_rate, learning_rate_init, max_iter, clip_norm, tol, n_iter_no_change,
                 early_stopping, validation_fraction, warm_start, random_state, verbose,
                 momentum, nesterovs_momentum, beta_1, beta_2, epsilon, rho, vocab_size,
                 dtype, bidirectional=False):
        self.cell = cell
        self.hidden_layer_sizes = hidden_layer_sizes
        self.activation = activation
        self.solver = solver
        self.alpha = alpha
        self.batch_size = batch_size
        self.learning_rate = learning_rate
        self.learning_rate_init = learning_rate_init
        self.max_iter = max_iter
        self.clip_norm = clip_norm
        self.tol = tol
        self.n_iter_no_change = n_iter_no_change
        self.early_stopping = early_stopping
        self.validation_fraction = validation_fraction
        self.warm_start = warm_start
        self.random_state = random_state
        self.verbose = verbose
        self.momentum = momentum
        self.nesterovs_momentum = nesterovs_momentum
        self.beta_1 = beta_1
        self.beta_2 = beta_2
        self.epsilon = epsilon
        self.rho = rho
        self.vocab_size = vocab_size
        self.dtype = dtype
        self.bidirectional = bidirectional

    # ------------------------------------------------------------ hooks

    def _prepare_targets(self, y, n_samples, continuing, partial, classes=None):
        """Validate ``y`` without touching ``self`` (for :meth:`_prepare`'s sequences).

        Returns ``(y_encoded, attributes, class_weights)``: the encoded targets, the
        fitted attributes to set once training succeeds (including ``_n_outputs_``),
        and per-sample weights from the targets (or None). A model that prepares its
        data otherwise (the generator) overrides :meth:`_prepare` instead.
        """
        raise NotImplementedError

    @abstractmethod
    def _n_outputs(self):
        """Width of the output layer."""

    @abstractmethod
    def _loss(self, outputs, y, sample_weight):
        """(loss, dL/doutputs) of a batch."""

    @abstractmethod
    def _validation_score(self, outputs, y, sample_weight):
        """Score (higher is better) of outputs on the validation set."""

    def _split_for_validation(self, n_samples, y, rng):
        """Indices (train, validation) for early stopping."""
        n_val = int(np.ceil(self.validation_fraction * n_samples))
        if n_val < 1 or n_val >= n_samples:
            raise ValueError(
                f"early_stopping needs a validation set and a training set: validation_fraction="
                f"{self.validation_fraction} of {n_samples} samples leaves {n_val} for validation."
            )
        perm = rng.permutation(n_samples)
        return perm[n_val:], perm[:n_val]

    def _check_validation_set(self, val):
        """Raise if early stopping's validation part (a TrainingData) cannot be scored."""

    def _batches(self, data, index):
        """The batch source of the samples ``index`` of ``data``."""
        return PaddedBatches(data.seqs, data.y, data.w, index, self._batch_size(len(index)))

    def _score_validation(self, val, net, params):
        """Validation score of the weights ``params`` on ``val`` (a TrainingData)."""
        outputs = self._predict_outputs(val.seqs, params, net)
        return self._validation_score(outputs, val.y, val.w)

    def _architecture_of(self, data):
        """The new model's architecture (the tagger adds its character encoder's)."""
        return _architecture(self)

    def _progress(self):
        return Progress(self.verbose)

    # ------------------------------------------------------------ validation

    def _validate_params(self):
        """Validate the hyperparameters (at fit: ``__init__`` stores them unchecked)."""
        check_option("cell", self.cell, tuple(CELLS))
        check_option("activation", self.activation, tuple(ACTIVATIONS))
        check_option("solver", self.solver, _optimizers.SOLVERS)
        check_option("learning_rate", self.learning_rate, SCHEDULES)
        if hasattr(self, "pooling"):
            check_option("pooling", self.pooling, POOLINGS)
        _check_sizes(self.hidden_layer_sizes)
        check_real("alpha", self.alpha, 0)
        if not (isinstance(self.batch_size, str) and self.batch_size == "auto"):
            check_int("batch_size", self.batch_size, 1)
        check_real("learning_rate_init", self.learning_rate_init, 0, low_open=True)
        check_int("max_iter", self.max_iter, 1)
        check_real("clip_norm", self.clip_norm, 0, low_open=True, allow_none=True)
        check_real("tol", self.tol, 0)
        if not (isinstance(self.n_iter_no_change, str) and self.n_iter_no_change == "auto"):
            check_int("n_iter_no_change", self.n_iter_no_change, 1)
        if not (isinstance(self.early_stopping, str) and self.early_stopping == "auto"):
            check_bool("early_stopping", self.early_stopping)
        check_real("validation_fraction", self.validation_fraction, 0, 1, low_open=True,
                   high_open=True)
        check_real("momentum", self.momentum, 0, 1)
        check_real("beta_1", self.beta_1, 0, 1, high_open=True)
        check_real("beta_2", self.beta_2, 0, 1, high_open=True)
        check_real("epsilon", self.epsilon, 0, low_open=True)
        check_real("rho", self.rho, 0, 1, high_open=True)
        check_int("vocab_size", self.vocab_size, 1, allow_none=True)
        check_int("verbose", int(self.verbose) if isinstance(self.verbose, bool) else
                  self.verbose, 0)
        for name in ("warm_start", "nesterovs_momentum", "bidirectional"):
            check_bool(name, getattr(self, name))
        try:
            dtype = np.dtype(self.dtype)
        except TypeError:
            dtype = None
        if dtype not in (np.dtype(np.float32), np.dtype(np.float64)):
            raise InvalidParameterError(
                f"dtype must be np.float32 or np.float64, got {self.dtype!r}.")

    def _check_X(self, X, *, fitted):
        """Validate X against the contract; after fit, against the fitted feature count."""
        name = type(self).__name__
        if fitted:
            self._check_input_kind(X)
            return check_sequences(X, n_features=self.n_features_in_,
                                   dtype=self._fitted_dtype(), estimator_name=name)
        seqs = check_sequences(X, n_features=self.vocab_size if _is_index(X) else None,
                               dtype=np.dtype(self.dtype), estimator_name=name)
        if seqs.data.shape[1] == 0:
            raise ValueError(
                f"Found array with 0 feature(s) (shape={np.shape(X)}) while a minimum of 1 is "
                f"required by {name}: X has no time steps."
            )
        return seqs

    def _check_input_kind(self, X):
        """Integer X, read as token ids, only for a model that has been fed tokens.

        Integer X means token ids, float X feature values (the input contract), and
        one-hot rows are the same tokens as ids. A model fitted on feature values that
        are not one-hot would read an integer-valued series as ids (with one feature per
        step, zeros as the value 1.0), so that is refused with a pointer to the cast.
        """
        if getattr(self, "_input_kind", None) != "values":  # None: not recorded
            return
        dtype = _dtype_of(X)
        if dtype is not None and dtype.kind in "iu":
            raise ValueError(
                f"X is an integer array, which skrnn reads as token ids, but "
                f"{type(self).__name__} was fitted on float feature values. To pass the "
                "values of an integer-valued series, cast X to float (X.astype(float))."
            )

    def _fitted_dtype(self):
        return self.params_["W_y"].dtype

    def _network(self, n_inputs=None, n_outputs=None, architecture=None, head=None):
        """The network of the fitted model, or of ``architecture`` (a fit's own).

        Prediction and continued training use the architecture the model was fitted
        with, never the current parameters: after ``set_params(cell="lstm")`` a fitted
        model still predicts with its own cell (as MLPClassifier does with its coefs_).
        """
        arch = self._fitted_architecture if architecture is None else architecture
        return RecurrentNetwork(
            arch["cell"], self.n_features_in_ if n_inputs is None else n_inputs,
            arch["hidden_layer_sizes"], self._n_outputs() if n_outputs is None else n_outputs,
            activation=arch["activation"], bidirectional=arch["bidirectional"],
            head=self._head if head is None else head, pooling=arch.get("pooling", "last"),
        )

    def _hyper(self):
        return {
            "learning_rate": self.learning_rate_init, "momentum": self.momentum,
            "nesterovs_momentum": self.nesterovs_momentum, "beta_1": self.beta_1,
            "beta_2": self.beta_2, "epsilon": self.epsilon, "rho": self.rho,
        }

    # ------------------------------------------------------------ fitting

    def _fit(self, X, y=None, sample_weight=None, *, partial=False, classes=None):
        """Fit (``partial``: one epoch of partial_fit), then commit; every estimator's."""
        self._validate_params()
        if partial and self.early_stopping is True:
            raise ValueError("partial_fit cannot be used with early_stopping=True: there is "
                             "no validation set to stop on. Set early_stopping=False.")
        continuing = (partial or self.warm_start) and hasattr(self, "params_")
        data = self._prepare(X, y, sample_weight, partial=partial, classes=classes,
                             continuing=continuing)
        with _blas_threads_for(self._step_product(len(data.seqs))):
            return self._train(data, continuing, partial)

    def _prepare(self, X, y, sample_weight, *, partial, classes, continuing):
        """Validated sequences, encoded targets and weights: a TrainingData."""
        seqs = self._check_X(X, fitted=False)
        if continuing:
            self._check_continuation(seqs)
        n_samples = len(seqs)
        if y is None:
            raise ValueError(f"{type(self).__name__} requires y to be passed, but the target "
                             "y is None.")
        dtype = self._fitted_dtype() if continuing else np.dtype(self.dtype)
        y_enc, attributes, w_class = self._prepare_targets(y, n_samples, continuing, partial,
                                                           classes)
        w = check_sample_weight(sample_weight, n_samples, dtype)
        if w_class is not None:
            w = w_class.astype(dtype) if w is None else w * w_class
            check_weight_sum(w, "sample_weight times class_weight")
        return TrainingData(seqs, y_enc, w, attributes)

    def _check_continuation(self, seqs):
        """warm_start and partial_fit continue the fitted model: the same network and input."""
        self._check_same_architecture()
        name = type(self).__name__
        if seqs.kind == "index" and getattr(self, "_input_kind", None) == "values":
            raise ValueError(
                f"X is an integer array of token ids, but {name} was fitted on float "
                "feature values; warm_start and partial_fit continue the same model. Cast "
                "an integer-valued series to float."
            )
        if seqs.kind == "index" and seqs.n_features > self.n_features_in_:
            i, t = np.argwhere(seqs.data >= self.n_features_in_)[0]
            raise ValueError(
                f"Token id {seqs.data[i, t]} in sample {i}, step {t} is outside the vocabulary "
                f"of {self.n_features_in_} tokens that {name} was fitted with; warm_start "
                "and partial_fit continue the same model."
            )
        if seqs.n_features != self.n_features_in_ and seqs.kind != "index":
            raise ValueError(
                f"X has {seqs.n_features} features per step, but {type(self).__name__} was "
                f"fitted with {self.n_features_in_}; warm_start and partial_fit continue the "
                "same model."
            )

    def _check_same_architecture(self):
        now, fitted = _architecture(self), self._fitted_architecture
        for key in ("cell", "hidden_layer_sizes", "bidirectional", "activation", "pooling"):
            if key == "activation" and fitted["cell"] != "rnn":
                continue  # only the vanilla cell has one
            if now[key] != fitted.get(key, "last"):
                raise ValueError(
                    f"warm_start and partial_fit continue the fitted model, whose {key} is "
                    f"{fitted[key]!r}; got {key}={now[key]!r}. Set it back, or fit a new "
                    "model (warm_start=False)."
                )

    def _train(self, data, continuing, partial):
        name = type(self).__name__
        progress = self._progress()
        early_stopping = not partial and self._early_stopping(len(data.seqs))
        params, opt, history, model, last = self._initial_state(data, continuing,
                                                                early_stopping)
        net = self._network(n_inputs=model["n_features_in_"],
                            n_outputs=data.attributes["_n_outputs_"],
                            architecture=model["_fitted_architecture"])
        # Parameters, gradient and optimizer state packed in one vector each; the
        # optimizer's ``params`` are views. The L2-penalised weights are one block of it.
        optimizer = _optimizers.Optimizer(self.solver, params, opt, self._hyper(),
                                          decayed=net.weight_names(params))
        best = None if partial else optimizer.snapshot()
        if last is not None:  # the same fit going on: from its last weights, not its best
            optimizer.restore(optimizer.snapshot_of(last["params"], last["optimizer"]))
        train_idx, validate = np.arange(len(data.seqs)), None
        if early_stopping:
            train_idx, val = self._split(data, np.random.RandomState(history._seed))
            validate = functools.partial(self._score_validation, val, net)
        source = self._batches(data, train_idx)
        step = Step(net, optimizer, self._loss, self.alpha, self.clip_norm)
        rate = LearningRate(self.learning_rate, self.learning_rate_init, history._rate_scale)
        stopped, last = run_epochs(
            step, source, history, n_epochs=1 if partial else self.max_iter, tol=self.tol,
            patience=None if partial else self._patience(early_stopping), validate=validate,
            progress=progress, name=name, rate=rate, keep_best=not partial, best=best)
        if history.n_iter_ == 0:
            # Interrupted before the first epoch ended: nothing usable to commit.
            if not continuing:
                raise KeyboardInterrupt
            return self
        # The last steps' weights when none were restored (interrupted mid-epoch).
        check_finite_weights(optimizer.vector, history.n_iter_, name)
        if last is not None:
            last_params, last_state = optimizer.unpack(last)
            last = {"params": last_params, "optimizer": last_state}
        self._commit(data.attributes, optimizer.params, optimizer,
                     {**history.attributes(), **model, "_last_state": last})
        # The cosine schedule plans max_iter epochs: reaching them is its end, not a fit
        # cut short.
        if not partial and not stopped and history.n_iter_ >= self.max_iter and \
                self.learning_rate != "cosine":
            warnings.warn(
                f"Stochastic Optimizer: Maximum iterations ({self.max_iter}) reached and the "
                "optimization hasn't converged yet.",
                ConvergenceWarning,
            )
        return self

    def _commit(self, target_attributes, params, optimizer, attributes):
        """Everything at once, only now that training has succeeded."""
        for k, v in target_attributes.items():
            setattr(self, k, v)
        self.params_ = params
        self._optimizer_state = optimizer.state
        self._optimizer_solver = self.solver
        for k, v in attributes.items():
            setattr(self, k, v)

    def _split(self, data, rng):
        """(training indices, validation TrainingData) for early stopping."""
        if data.holdout is not None:
            train_idx, val_idx = np.flatnonzero(~data.holdout), np.flatnonzero(data.holdout)
        else:
            train_idx, val_idx = self._split_for_validation(len(data.seqs), data.y, rng)
        w = data.w
        val = TrainingData(data.seqs.take(val_idx), None if data.y is None else
                           data.y[val_idx], None if w is None else w[val_idx], {})
        if w is not None:
            check_weight_sum(w[train_idx], "sample_weight of the training part "
                             "(early_stopping holds the rest out)")
            check_weight_sum(val.w, "sample_weight of the validation part "
                             "(early_stopping scores it)")
        self._check_validation_set(val)
        return train_idx, val

    def _early_stopping(self, n_samples):
        """Whether this fit holds out a validation set (``"auto"``: a large enough one)."""
        if isinstance(self.early_stopping, str):
            return n_samples >= AUTO_EARLY_STOPPING_SAMPLES
        return bool(self.early_stopping)

    def _patience(self, early_stopping):
        if isinstance(self.n_iter_no_change, str):
            return AUTO_PATIENCE["validation" if early_stopping else "loss"]
        return self.n_iter_no_change

    def _initial_state(self, data, continuing, early_stopping):
        """Working copies of (params, optimizer state, History, model facts, last state):
        never the fitted objects. ``last`` is the last weights and optimizer state of a
        fit that restored its best at the end, when this fit continues it (same data)."""
        if continuing:
            params = {k: v.copy() for k, v in self.params_.items()}
            opt = _copy_state(self._optimizer_state)
            if self.solver != self._optimizer_solver:
                opt = _optimizers.init_state(self.solver, params)
            model = {"n_features_in_": self.n_features_in_,
                     "_fitted_architecture": self._fitted_architecture,
                     "_input_kind": getattr(self, "_input_kind", None)}
            key = _data_key(data)
            last = getattr(self, "_last_state", None)
            if key != getattr(self, "_data_key", None) or self.solver != self._optimizer_solver:
                last = None  # new data, or a new solver: go on from the model as it is
            history = History.resume(vars(self), early_stopping, key)
            return params, opt, history, model, last
        seqs = data.seqs
        seed = int(check_random_state(self.random_state).randint(np.iinfo(np.int32).max))
        n_inputs = seqs.n_features
        if seqs.kind == "index" and self.vocab_size is not None:
            n_inputs = self.vocab_size
        architecture = self._architecture_of(data)
        net = self._network(n_inputs=n_inputs, n_outputs=data.attributes["_n_outputs_"],
                            architecture=architecture)
        try:
            params = net.init_params(np.random.RandomState(seed), np.dtype(self.dtype))
        except MemoryError:
            raise ValueError(_weights_do_not_fit(self, seqs, net)) from None
        opt = _optimizers.init_state(self.solver, params)
        # Feature values, or tokens (ids, or one-hot rows: the same model, see
        # _check_input_kind).
        kind = "values" if seqs.kind == "dense" and not is_one_hot(seqs) else "tokens"
        model = {"n_features_in_": n_inputs, "_fitted_architecture": architecture,
                 "_input_kind": kind}
        history = History.start(seed, early_stopping, _data_key(data))
        return params, opt, history, model, None

    def _step_product(self, n_samples):
        """Multiply-adds of one step's recurrent product (batch x H x G*H)."""
        sizes = self.hidden_layer_sizes
        widest = max((sizes,) if isinstance(sizes, Integral) else sizes)
        return self._batch_size(n_samples) * widest * widest * CELLS[self.cell].n_gates

    def _batch_size(self, n_samples):
        if isinstance(self.batch_size, str):
            if n_samples < AUTO_EARLY_STOPPING_SAMPLES:
                return min(AUTO_SMALL_BATCH, n_samples)
            return min(n_samples // AUTO_BATCH_DIVISOR, AUTO_LARGEST_BATCH)
        return min(self.batch_size, n_samples)

    # ------------------------------------------------------------ prediction

    def _predict_outputs(self, seqs, params=None, net=None):
        """Network outputs for validated sequences, in bounded-memory chunks sorted by length."""
        params = self.params_ if params is None else params
        net = self._network() if net is None else net
        n = len(seqs)
        T = max(seqs.data.shape[1], 1)
        width = max(net.hidden_sizes) * net.cell.n_gates * len(net.directions)
        chunk = int(max(1, min(n, _tuning.PREDICT_CHUNK_ELEMENTS // (T * width))))
        if chunk >= n:
            return net.forward(params, seqs)[0]
        order = np.argsort(-seqs.lengths, kind="stable")
        workspace = Workspace()  # the chunks reuse one set of scratch arrays
        parts = [net.forward(params, seqs.take(order[s : s + chunk]), workspace=workspace)[0]
                 for s in range(0, n, chunk)]
        out = np.empty((n,) + parts[0].shape[1:], dtype=parts[0].dtype)
        start = 0
        for part in parts:
            out[order[start : start + len(part)]] = part
            start += len(part)
        return out

    def _raw_outputs(self, X):
        check_is_fitted(self)
        return self._predict_outputs(self._check_X(X, fitted=True))

    def __sklearn_tags__(self):
        tags = super().__sklearn_tags__()
        tags.input_tags.three_d_array = True
        # NaN is allowed only as whole padding steps at a sequence's end, which is not what
        # the allow_nan tag means (NaN anywhere), so the tag stays False.
        tags.non_deterministic = False
        return tags


def _dtype_of(X):
    """The dtype X has or would have as an array; None if it cannot be one."""
    dtype = getattr(X, "dtype", None)
    if dtype is None:
        try:
            dtype = np.asarray(X).dtype
        except (TypeError, ValueError):  # e.g. a ragged list: check_sequences explains
            return None
    return dtype


def _is_index(X):
    """Whether X holds integers: token ids under the input contract."""
    dtype = _dtype_of(X)
    return dtype is not None and dtype.kind in "iu"


def _check_sizes(sizes):
    value = sizes
    if isinstance(sizes, Integral) and not isinstance(sizes, bool):
        sizes = (sizes,)
    try:
        sizes = tuple(sizes)
    except TypeError:
        raise InvalidParameterError(f"hidden_layer_sizes must be a tuple of positive "
                                    f"integers, got {value!r}.") from None
    if len(sizes) == 0 or not all(
        isinstance(h, Integral) and not isinstance(h, bool) and h > 0 for h in sizes
    ):
        raise InvalidParameterError(f"hidden_layer_sizes must be a non-empty tuple of "
                                    f"positive integers, got {value!r}.")


@contextlib.contextmanager
def _blas_threads_for(step_product):
    """One BLAS thread for a fit whose per-step products are small, else no change.

    ``step_product`` is the multiply-adds of one step's recurrent product (batch x H x
    G*H). Below ``_tuning.SMALL_STEP_PRODUCT`` (OpenBLAS's own threshold for splitting
    a product) the time loop's products run on one thread anyway, and every threaded
    call would wait for its worker threads, which on a busy machine costs a scheduler
    time slice (scikit-learn's KMeans limits BLAS around its loops the same way). The
    measurements behind the threshold are in ``docs/decisions.md``.

    Only a fit that starts alone in its process sets a limit. BLAS's thread count is one
    setting per process, so fits running in several threads share it (a threaded search
    limits it around the search, ``docs/scaling.md``): one fit's limit and its restore
    would change the others' mid-fit, and could leave the process at the limit after
    they end. OpenBLAS also ignores a change while another living thread holds the
    count it set last.
    """
    global _RUNNING_FITS
    with _RUNNING_FITS_LOCK:
        _RUNNING_FITS += 1
        alone = _RUNNING_FITS == 1
    try:
        if alone and step_product < _tuning.SMALL_STEP_PRODUCT:
            with _blas_controller().limit(limits=1, user_api="blas"):
                yield
        else:
            yield
    finally:
        with _RUNNING_FITS_LOCK:
            _RUNNING_FITS -= 1


def _blas_controller():
    global _THREADPOOLS
    if _THREADPOOLS is None:
        _THREADPOOLS = ThreadpoolController()  # inspects the loaded libraries once
    return _THREADPOOLS


def _data_key(data):
    """A hash of the training data of a fit: continued fits compare best values on it."""
    seqs = data.seqs
    parts = [getattr(seqs, name, None) for name in ("data", "tokens", "lengths")]
    return joblib.hash([type(seqs).__name__, len(seqs), parts, data.y, data.w])


def _copy_state(state):
    if isinstance(state, dict):
        return {k: _copy_state(v) for k, v in state.items()}
    if isinstance(state, np.ndarray):
        return state.copy()
    return state


def _weights_do_not_fit(estimator, seqs, net):
    """The message when a new model's weights cannot be allocated: what makes them large."""
    name = type(estimator).__name__
    G, n_dirs = net.cell.n_gates, len(net.directions)
    n_in, sizes = net.n_inputs, net.hidden_sizes
    per_token = (n_in * G * sizes[0] + net.n_outputs * sizes[-1]) * n_dirs  # W_x[0], W_y
    total, width = net.n_outputs * sizes[-1] * n_dirs, n_in
    for H in sizes:
        total += (width * G * H + H * G * H + G * H) * n_dirs
        width = H * n_dirs
    msg = (f"{name}: the model's ~{total:,} weights do not fit in memory "
           f"(hidden_layer_sizes={sizes}, {n_in:,} inputs per step).")
    if seqs.kind == "dense" or per_token < total / 2:
        return msg
    if estimator.vocab_size is not None and n_in == estimator.vocab_size:
        return msg + " Most of them are rows for the vocab_size tokens."
    i, t, largest = seqs.largest_id()
    return msg + (f" Most of them are rows for the token ids, one per id from 0 to the "
                  f"largest, {largest} (sample {i}, step {t}): map the tokens to ids "
                  "0 .. n_tokens - 1 (SequenceVectorizer does).")
