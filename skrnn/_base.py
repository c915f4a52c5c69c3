"""The estimator machinery shared by every skrnn model.

:class:`BaseRNN` owns parameter validation, input validation, minibatching, the
epoch loop (early stopping, warm start, partial fit, verbose progress,
interruption) and chunked prediction. Subclasses say what the head is (its loss,
how targets are encoded, how a validation set is scored).

Fitted state is plain data only (a dict of arrays for the weights, a dict of
dicts of arrays for the optimizer, lists and numbers) so that a model saves with
skops without trusting anything but skrnn's own estimator class.
"""

import contextlib
import time
import warnings
from abc import ABCMeta, abstractmethod
from numbers import Integral, Real

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
from ._network import RecurrentNetwork
from ._validation import check_sequences, is_one_hot
from ._workspace import Workspace

_THREADPOOLS = None  # a threadpoolctl.ThreadpoolController, made on first use


class InvalidParameterError(ValueError, TypeError):
    """A hyperparameter of the wrong type or value (both a ValueError and a TypeError,
    as scikit-learn's own parameter validation error is)."""


def _check_int(name, value, low, allow_none=False):
    if value is None and allow_none:
        return
    if isinstance(value, (bool, np.bool_)) or not isinstance(value, Integral) or value < low:
        raise ValueError(f"{name} must be an integer >= {low}, got {value!r}.")


def _check_real(name, value, low, high=None, low_open=False, high_open=False,
                allow_none=False):
    if value is None and allow_none:
        return
    ok = isinstance(value, Real) and not isinstance(value, (bool, np.bool_))
    ok = ok and np.isfinite(value) and (value > low if low_open else value >= low)
    if high is not None:
        ok = ok and (value < high if high_open else value <= high)
    if not ok:
        lo = "(" if low_open else "["
        hi = ")" if high_open else "]"
        interval = f"{lo}{low}, {high}{hi}" if high is not None else f"{lo}{low}, inf)"
        raise ValueError(f"{name} must be a number in {interval}, got {value!r}.")


def _check_option(name, value, options):
    if not isinstance(value, str) or value not in options:
        raise ValueError(f"{name} must be one of {', '.join(map(repr, options))}; got {value!r}.")


def _check_sample_weight(sample_weight, n_samples, dtype):
    if sample_weight is None:
        return None
    if isinstance(sample_weight, Real):
        sample_weight = np.full(n_samples, sample_weight)
    w = np.asarray(sample_weight)
    if w.ndim != 1 or w.shape[0] != n_samples:
        raise ValueError(
            f"sample_weight must be 1-D with one weight per sample ({n_samples}), got shape "
            f"{w.shape}."
        )
    try:
        w = w.astype(dtype)
    except (TypeError, ValueError):
        raise TypeError(f"sample_weight must be numeric, got dtype {w.dtype}.") from None
    if not np.isfinite(w).all():
        raise ValueError(f"sample_weight contains NaN or infinity at index "
                         f"{int(np.nonzero(~np.isfinite(w))[0][0])}.")
    if (w < 0).any():
        raise ValueError(f"sample_weight must be non-negative; index "
                         f"{int(np.nonzero(w < 0)[0][0])} is {w[w < 0][0]}.")
    _check_weight_sum(w, "sample_weight")
    return w


def _check_weight_sum(w, what):
    if not w.sum() > 0:
        raise ValueError(f"{what} sums to zero: there is nothing to learn from.")


def _architecture(estimator):
    """The network's shape as ``estimator``'s parameters set it now (validated before)."""
    sizes = estimator.hidden_layer_sizes
    sizes = (sizes,) if isinstance(sizes, Integral) else tuple(sizes)
    return {"cell": estimator.cell, "hidden_layer_sizes": tuple(int(h) for h in sizes),
            "activation": estimator.activation,
            "bidirectional": bool(getattr(estimator, "bidirectional", False))}


class BaseRNN(BaseEstimator, metaclass=ABCMeta):
    """Base class of the skrnn estimators. Do not use it directly."""

    _head = "many_to_one"
    # Batches per length bucket (see length_bucketed_batches); 1 = no bucketing.
    _bucket_pool = 1

    @abstractmethod
    def __init__(self, *, cell, hidden_layer_sizes, activation, solver, alpha, batch_size,
                 learning_rate_init, max_iter, clip_norm, tol, n_iter_no_change,
                 early_stopping, validation_fraction, warm_start, random_state, verbose,
                 momentum, nesterovs_momentum, beta_1, beta_2, epsilon, rho, vocab_size,
                 dtype, bidirectional=False):
        self.cell = cell
        self.hidden_layer_sizes = hidden_layer_sizes
        self.activation = activation
        self.solver = solver
        self.alpha = alpha
        self.batch_size = batch_size
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

    @abstractmethod
    def _prepare_targets(self, y, n_samples, continuing, partial, classes=None):
        """Validate ``y`` without touching ``self``.

        Returns ``(y_encoded, attributes, class_weights)``: the encoded targets, the
        fitted attributes to set once training succeeds (including ``_n_outputs_``),
        and per-sample weights from the targets (or None).
        """

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

    # ------------------------------------------------------------ validation

    def _validate_hyperparameters(self):
        _check_option("cell", self.cell, tuple(CELLS))
        _check_option("activation", self.activation, tuple(ACTIVATIONS))
        _check_option("solver", self.solver, _optimizers.SOLVERS)
        sizes = self.hidden_layer_sizes
        if isinstance(sizes, Integral) and not isinstance(sizes, bool):
            sizes = (sizes,)
        try:
            sizes = tuple(sizes)
        except TypeError:
            raise ValueError(f"hidden_layer_sizes must be a tuple of positive integers, got "
                             f"{self.hidden_layer_sizes!r}.") from None
        if len(sizes) == 0 or not all(
            isinstance(h, Integral) and not isinstance(h, bool) and h > 0 for h in sizes
        ):
            raise ValueError(f"hidden_layer_sizes must be a non-empty tuple of positive integers,"
                             f" got {self.hidden_layer_sizes!r}.")
        _check_real("alpha", self.alpha, 0)
        if not (isinstance(self.batch_size, str) and self.batch_size == "auto"):
            _check_int("batch_size", self.batch_size, 1)
        _check_real("learning_rate_init", self.learning_rate_init, 0, low_open=True)
        _check_int("max_iter", self.max_iter, 1)
        _check_real("clip_norm", self.clip_norm, 0, low_open=True, allow_none=True)
        _check_real("tol", self.tol, 0)
        _check_int("n_iter_no_change", self.n_iter_no_change, 1)
        _check_real("validation_fraction", self.validation_fraction, 0, 1, low_open=True,
                    high_open=True)
        _check_real("momentum", self.momentum, 0, 1)
        _check_real("beta_1", self.beta_1, 0, 1, high_open=True)
        _check_real("beta_2", self.beta_2, 0, 1, high_open=True)
        _check_real("epsilon", self.epsilon, 0, low_open=True)
        _check_real("rho", self.rho, 0, 1, high_open=True)
        _check_int("vocab_size", self.vocab_size, 1, allow_none=True)
        _check_int("verbose", int(self.verbose) if isinstance(self.verbose, bool) else
                   self.verbose, 0)
        for name in ("early_stopping", "warm_start", "nesterovs_momentum", "bidirectional"):
            if not isinstance(getattr(self, name), (bool, np.bool_)):
                raise InvalidParameterError(
                    f"{name} must be True or False, got {getattr(self, name)!r}.")
        try:
            dtype = np.dtype(self.dtype)
        except TypeError:
            dtype = None
        if dtype not in (np.dtype(np.float32), np.dtype(np.float64)):
            raise ValueError(f"dtype must be np.float32 or np.float64, got {self.dtype!r}.")
        return sizes, dtype

    def _check_X(self, X, *, fitted):
        """Validate X against the contract; after fit, against the fitted feature count."""
        name = type(self).__name__
        if fitted:
            self._check_input_kind(X)
            return check_sequences(X, n_features=self.n_features_in_,
                                   dtype=self._fitted_dtype(), estimator_name=name)
        seqs = check_sequences(X, n_features=self.vocab_size if self._is_index(X) else None,
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
        dtype = self._dtype_of(X)
        if dtype is not None and dtype.kind in "iu":
            raise ValueError(
                f"X is an integer array, which skrnn reads as token ids, but "
                f"{type(self).__name__} was fitted on float feature values. To pass the "
                "values of an integer-valued series, cast X to float (X.astype(float))."
            )

    @staticmethod
    def _dtype_of(X):
        dtype = getattr(X, "dtype", None)
        if dtype is None:
            try:
                dtype = np.asarray(X).dtype
            except (TypeError, ValueError):  # e.g. a ragged list: check_sequences explains
                return None
        return dtype

    @classmethod
    def _is_index(cls, X):
        dtype = cls._dtype_of(X)
        return dtype is not None and dtype.kind in "iu"

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
            head=self._head if head is None else head,
        )

    def _hyper(self):
        return {
            "learning_rate": self.learning_rate_init, "momentum": self.momentum,
            "nesterovs_momentum": self.nesterovs_momentum, "beta_1": self.beta_1,
            "beta_2": self.beta_2, "epsilon": self.epsilon, "rho": self.rho,
        }

    # ------------------------------------------------------------ fitting

    def _fit(self, X, y, sample_weight=None, incremental=False, classes=None):
        self._validate_hyperparameters()
        if incremental and self.early_stopping:
            raise ValueError("partial_fit cannot be used with early_stopping=True: there is "
                             "no validation set to stop on. Set early_stopping=False.")
        continuing = (incremental or self.warm_start) and hasattr(self, "params_")
        seqs = self._check_X(X, fitted=False)
        if continuing:
            self._check_continuation(seqs)
        n_samples = len(seqs)
        if y is None:
            raise ValueError(f"{type(self).__name__} requires y to be passed, but the target "
                             "y is None.")
        dtype = self._fitted_dtype() if continuing else np.dtype(self.dtype)
        w = _check_sample_weight(sample_weight, n_samples, dtype)
        # _prepare_targets validates y and returns the attributes it would set: nothing is
        # assigned to self before training has succeeded.
        y_enc, target_attrs, w_class = self._prepare_targets(
            y, n_samples, continuing=continuing, partial=incremental, classes=classes)
        if w_class is not None:
            w = w_class.astype(dtype) if w is None else w * w_class
            _check_weight_sum(w, "sample_weight times class_weight")
        return self._train(seqs, y_enc, w, target_attrs, continuing, incremental)

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

    def _check_finite_weights(self, vector, epoch):
        """The loss is checked before every step; the weights after the last one, here."""
        if not np.isfinite(vector).all():
            raise ValueError(
                f"{type(self).__name__}: the weights became non-finite in epoch {epoch + 1}; "
                "the model was left as it was before this call. Lower learning_rate_init, "
                "set clip_norm, or scale the input."
            )

    def _check_same_architecture(self):
        now, fitted = _architecture(self), self._fitted_architecture
        for key in ("cell", "hidden_layer_sizes", "bidirectional", "activation"):
            if key == "activation" and fitted["cell"] != "rnn":
                continue  # only the vanilla cell has one
            if now[key] != fitted[key]:
                raise ValueError(
                    f"warm_start and partial_fit continue the fitted model, whose {key} is "
                    f"{fitted[key]!r}; got {key}={now[key]!r}. Set it back, or fit a new "
                    "model (warm_start=False)."
                )

    def _initial_state(self, seqs, target_attrs, continuing):
        """Working copies of (params, optimizer state, history): never the fitted objects."""
        if continuing:
            params = {k: v.copy() for k, v in self.params_.items()}
            opt = _copy_state(self._optimizer_state)
            if self.solver != self._optimizer_solver:
                opt = _optimizers.init_state(self.solver, params)
            history = {
                "loss_curve_": list(self.loss_curve_), "n_iter_": self.n_iter_, "t_": self.t_,
                "validation_scores_": None if self.validation_scores_ is None
                else list(self.validation_scores_),
                "best_loss_": self.best_loss_,
                "best_validation_score_": self.best_validation_score_,
                "_no_improvement_count": self._no_improvement_count,
                "_seed": self._seed,
                "n_features_in_": self.n_features_in_,
                "_fitted_architecture": self._fitted_architecture,
                "_input_kind": getattr(self, "_input_kind", None),
            }
            # early_stopping may have been switched since: its bookkeeping starts afresh.
            if self.early_stopping and history["validation_scores_"] is None:
                history.update(validation_scores_=[], best_validation_score_=-np.inf,
                               best_loss_=None, _no_improvement_count=0)
            elif not self.early_stopping and history["best_loss_"] is None:
                history.update(validation_scores_=None, best_validation_score_=None,
                               best_loss_=np.inf, _no_improvement_count=0)
            return params, opt, history
        seed = int(check_random_state(self.random_state).randint(np.iinfo(np.int32).max))
        n_inputs = seqs.n_features
        if seqs.kind == "index" and self.vocab_size is not None:
            n_inputs = self.vocab_size
        architecture = _architecture(self)
        net = self._network(n_inputs=n_inputs, n_outputs=target_attrs["_n_outputs_"],
                            architecture=architecture)
        try:
            params = net.init_params(np.random.RandomState(seed), np.dtype(self.dtype))
        except MemoryError:
            raise ValueError(_weights_do_not_fit(self, seqs, net)) from None
        opt = _optimizers.init_state(self.solver, params)
        history = {
            "loss_curve_": [], "n_iter_": 0, "t_": 0,
            "validation_scores_": [] if self.early_stopping else None,
            "best_loss_": None if self.early_stopping else np.inf,
            "best_validation_score_": -np.inf if self.early_stopping else None,
            "_no_improvement_count": 0, "_seed": seed, "n_features_in_": n_inputs,
            "_fitted_architecture": architecture,
            # Feature values, or tokens (ids, or one-hot rows: the same model, see
            # _check_input_kind).
            "_input_kind": "values" if seqs.kind == "dense" and not is_one_hot(seqs)
            else "tokens",
        }
        return params, opt, history

    def _train(self, seqs, y, w, target_attrs, continuing, incremental):
        sizes = self.hidden_layer_sizes
        widest = max((sizes,) if isinstance(sizes, Integral) else sizes)
        step_product = self._batch_size(len(seqs)) * widest * widest * CELLS[self.cell].n_gates
        with _blas_threads_for(step_product):
            return self._train_epochs(seqs, y, w, target_attrs, continuing, incremental)

    def _train_epochs(self, seqs, y, w, target_attrs, continuing, incremental):
        params, opt, hist = self._initial_state(seqs, target_attrs, continuing)
        net = self._network(n_inputs=hist["n_features_in_"],
                            n_outputs=target_attrs["_n_outputs_"],
                            architecture=hist["_fitted_architecture"])
        # Parameters, gradient and optimizer state packed in one vector each; ``params``
        # are views. The L2-penalised weights are one block of it (see _loss_grad).
        optimizer = _optimizers.Optimizer(self.solver, params, opt, self._hyper(),
                                          decayed=net.weight_names(params))
        params = optimizer.params
        n_epochs = 1 if incremental else self.max_iter
        train_idx = np.arange(len(seqs))
        val = None
        if self.early_stopping and not incremental:
            rng = np.random.RandomState(hist["_seed"])
            train_idx, val_idx = self._split_for_validation(len(seqs), y, rng)
            val = (seqs.take(val_idx), y[val_idx], None if w is None else w[val_idx])
            if w is not None:
                _check_weight_sum(w[train_idx], "sample_weight of the training part "
                                  "(early_stopping holds the rest out)")
                _check_weight_sum(val[2], "sample_weight of the validation part "
                                  "(early_stopping scores it)")
            self._check_validation_set(val)
        train = (seqs, y, w, train_idx)
        best_params = None
        workspace = Workspace()  # scratch arrays reused by every minibatch of this call
        stopped_early = False
        stop_requested = False
        try:
            for _ in range(n_epochs):
                start = time.perf_counter()
                epoch = hist["n_iter_"]
                rng = np.random.default_rng([hist["_seed"], epoch])
                total, n_seen = 0.0, 0
                for batch in self._iter_batches(train, rng):
                    b_seqs, b_y, b_w, state0, carry = batch
                    if b_w is not None and not b_w.any():
                        continue  # all weights zero: no loss, nothing to learn (and n = 0)
                    loss, grads, final = self._loss_grad(net, params, b_seqs, b_y, b_w, state0,
                                                         workspace, optimizer)
                    if not np.isfinite(loss):
                        raise ValueError(
                            f"{type(self).__name__}: the loss became non-finite in epoch "
                            f"{epoch + 1}; the model was left as it was before this call. "
                            "Lower learning_rate_init, set clip_norm, or scale the input."
                        )
                    if carry is not None:
                        carry(final)
                    optimizer.step(grads, self.clip_norm)
                    n_b = self._batch_weight(b_seqs, b_y)
                    total += loss * n_b
                    n_seen += n_b
                    hist["t_"] += len(b_seqs)
                    if self._after_batch(train, loss, n_b):
                        stop_requested = True
                        break
                self._check_finite_weights(optimizer.vector, epoch)
                hist["n_iter_"] += 1
                epoch_loss = total / max(n_seen, 1)
                hist["loss_curve_"].append(epoch_loss)
                msg = f"Iteration {hist['n_iter_']}, loss = {epoch_loss:.8f}"
                if val is not None:
                    outputs = self._predict_outputs(val[0], params, net)
                    score = float(self._validation_score(outputs, val[1], val[2]))
                    hist["validation_scores_"].append(score)
                    msg += f", validation score = {score:.6f}"
                    if score < hist["best_validation_score_"] + self.tol:
                        hist["_no_improvement_count"] += 1
                    else:
                        hist["_no_improvement_count"] = 0
                    if score > hist["best_validation_score_"]:
                        hist["best_validation_score_"] = score
                        best_params = {k: v.copy() for k, v in params.items()}
                else:
                    if epoch_loss > hist["best_loss_"] - self.tol:
                        hist["_no_improvement_count"] += 1
                    else:
                        hist["_no_improvement_count"] = 0
                    hist["best_loss_"] = min(hist["best_loss_"], epoch_loss)
                if self.verbose:
                    print(f"{msg}, time = {time.perf_counter() - start:.2f}s")
                if not incremental and hist["_no_improvement_count"] > self.n_iter_no_change:
                    what = "Validation score" if val is not None else "Training loss"
                    if self.verbose:
                        print(f"{what} did not improve more than tol={self.tol} for "
                              f"{self.n_iter_no_change} consecutive epochs. Stopping.")
                    stopped_early = True
                    break
                if stop_requested:
                    stopped_early = True
                    break
        except KeyboardInterrupt:
            warnings.warn("Training interrupted by user.")
            stopped_early = True
        if best_params is not None:
            params = best_params
        if hist["n_iter_"] == 0:
            # Interrupted before the first epoch ended: nothing usable to commit.
            if not continuing:
                raise KeyboardInterrupt
            return self
        if best_params is None:  # interrupted mid-epoch: the last steps were not checked
            self._check_finite_weights(optimizer.vector, hist["n_iter_"])
        # Commit: everything at once, only now that training has succeeded.
        for k, v in target_attrs.items():
            setattr(self, k, v)
        self.params_ = params
        self._optimizer_state = optimizer.state
        self._optimizer_solver = self.solver
        for k, v in hist.items():
            setattr(self, k, v)
        if not incremental and not stopped_early and hist["n_iter_"] >= self.max_iter and (
            not continuing or n_epochs == self.max_iter
        ):
            warnings.warn(
                f"Stochastic Optimizer: Maximum iterations ({self.max_iter}) reached and the "
                "optimization hasn't converged yet.",
                ConvergenceWarning,
            )
        return self

    def _check_validation_set(self, val):
        """Raise if early stopping's validation part ``(seqs, y, w)`` cannot be scored."""

    def _after_batch(self, train, loss, n_b):
        """Called after every optimizer step; True ends training after the current epoch.

        A subclass reports progress or enforces a time budget here; the base does nothing.
        """
        return False

    def _batch_weight(self, seqs, y):
        return len(seqs)

    def _batch_size(self, n_samples):
        if isinstance(self.batch_size, str):
            return min(200, n_samples)
        return min(self.batch_size, n_samples)

    def _iter_batches(self, train, rng):
        """Shuffled minibatches: (seqs, y, w, state0, carry).

        See :func:`length_bucketed_batches`; each batch's time axis is cut to its
        longest member.
        """
        seqs, y, w, idx = train
        size = self._batch_size(len(idx))
        for b in length_bucketed_batches(seqs.lengths, idx, size, rng, self._bucket_pool):
            yield seqs.take(b), y[b], None if w is None else w[b], None, None

    def _loss_grad(self, net, params, seqs, y, w, state0=None, workspace=None,
                   optimizer=None):
        """(loss, gradients, final states) of a minibatch, the L2 penalty included.

        With fit's ``optimizer`` (whose ``params`` are ``params``), the gradients are
        its packed gradient's views, and the penalty is computed on its block of
        weights: three NumPy calls instead of three per weight array, which was 5% of
        a negation-sized fit.
        """
        logits, final, cache = net.forward(params, seqs, state0, return_cache=True,
                                           workspace=workspace)
        loss, dlogits = self._loss(logits, y, w)
        grads = net.backward(params, cache, dlogits)
        # L2 penalty 0.5 * alpha * ||W||^2 / n on weights (not biases), as MLP, where n is
        # the batch's total sample weight (its size when unweighted), so that a weight of 2
        # is the same as a repeated sample.
        if self.alpha:
            scale = self.alpha / (len(seqs) if w is None else float(w.sum()))
            if optimizer is not None:
                grads = optimizer.gradient(grads)
                loss += 0.5 * scale * optimizer.weight_decay(scale)
            else:
                for k in net.weight_names(params):
                    W = params[k]
                    loss += 0.5 * scale * float(np.vdot(W, W))
                    grads[k] += scale * W
        return loss, grads, final

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


def _blas_threads_for(step_product):
    """One BLAS thread for a model whose per-step products are small, else no change.

    ``step_product`` is the multiply-adds of one step's recurrent product (batch x H x
    G*H). Below ``_tuning.SMALL_STEP_PRODUCT`` (OpenBLAS's own threshold for splitting a
    product) the time loop's products run on one thread anyway, and the few products
    over all steps are too small for threads to pay off; but every threaded call waits
    for its worker threads, and on a machine whose other cores are busy that wait is a
    scheduler time slice: the negation example's fit took 3.6 s with two threads on a
    busy 2-core machine, 0.2 s with one. (scikit-learn's KMeans limits BLAS the same way
    around its own loops.) Above it, BLAS's threads pay on a quiet machine, if little: a
    fit at 786k multiply-adds per step was 1.01-1.15x faster with two threads than with
    one in four of five runs, 1.16x slower in the fifth (``benchmarks/ablation.py``, row
    ``blas-threads-786k``).
    """
    if step_product >= _tuning.SMALL_STEP_PRODUCT:
        return contextlib.nullcontext()
    global _THREADPOOLS
    if _THREADPOOLS is None:
        _THREADPOOLS = ThreadpoolController()  # inspects the loaded libraries once
    return _THREADPOOLS.limit(limits=1, user_api="blas")


def length_bucketed_batches(lengths, idx, batch_size, rng, pool=1):
    """Split ``idx`` into shuffled minibatches, each sorted by decreasing length.

    The samples are shuffled and cut into batches. Each batch comes sorted by
    decreasing length, the order the network computes in, so the network has nothing
    to permute (and the batch's composition is unchanged).

    With ``pool > 1`` the batches are also *bucketed by length*: the shuffled samples
    are cut into pools of ``pool`` batches, each pool is sorted by length before it is
    cut, and the order of all batches is shuffled. A batch's time loop runs to its
    longest member and a step costs nearly the same however many samples still run, so
    such batches do the same work in fewer steps: 1.28x faster fits with pools of 8 in
    ``benchmarks/ablation.py``. But a batch of equal lengths is also a biased sample
    when the target depends on the length, and there it learned measurably worse
    (``docs/performance.md``, with both figures), so estimators use ``pool=1``: exact
    masking of padding (see :mod:`skrnn._cells`) already makes padding free of arithmetic.

    Parameters
    ----------
    lengths : ndarray of shape (n_samples,)
        Length of every sample.
    idx : ndarray of int
        The samples to batch (indices into ``lengths``).
    batch_size : int
    rng : numpy.random.Generator
    pool : int, default=1
        Batches per pool; 1 gives plain shuffled batches.

    Returns
    -------
    batches : list of ndarray of int
    """
    idx = rng.permutation(idx)
    span = batch_size * pool
    batches = []
    for start in range(0, len(idx), span):
        chunk = idx[start : start + span]
        if pool > 1:
            chunk = chunk[np.argsort(-lengths[chunk], kind="stable")]
        for k in range(0, len(chunk), batch_size):
            b = chunk[k : k + batch_size]
            batches.append(b[np.argsort(-lengths[b], kind="stable")])
    if pool > 1:
        batches = [batches[k] for k in rng.permutation(len(batches))]
    return batches


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
    if hasattr(seqs, "tokens"):  # a generator's corpus: documents laid end to end
        pos = int(np.argmax(seqs.tokens))
        i = int(np.searchsorted(seqs.starts, pos, side="right")) - 1
        t, largest = pos - int(seqs.starts[i]), int(seqs.tokens[pos])
    else:
        i, t = np.unravel_index(int(np.argmax(seqs.data)), seqs.data.shape)
        largest = int(seqs.data[i, t])
    return msg + (f" Most of them are rows for the token ids, one per id from 0 to the "
                  f"largest, {largest} (sample {i}, step {t}): map the tokens to ids "
                  "0 .. n_tokens - 1 (SequenceVectorizer does).")
