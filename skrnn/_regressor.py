"""RNNRegressor: many-to-one sequence regression."""

import numpy as np
from sklearn.base import RegressorMixin
from sklearn.utils.validation import check_is_fitted, column_or_1d

from ._base import BaseRNN
from ._losses import squared_loss


class RNNRegressor(RegressorMixin, BaseRNN):
    """Recurrent neural network regressor of sequences (many-to-one).

    The final hidden state of the recurrent layers goes through a linear output
    layer; the loss is half the mean squared error, as in
    :class:`~sklearn.neural_network.MLPRegressor`. One or several targets.

    Parameters
    ----------
    cell : {"rnn", "lstm", "gru"}, default="rnn"
        Recurrent cell: vanilla (Elman) with ``activation``, LSTM or GRU.
    hidden_layer_sizes : tuple of int, default=(64,)
        Hidden units of each stacked recurrent layer.
    activation : {"tanh", "relu"}, default="tanh"
        Nonlinearity of the vanilla cell. Ignored by LSTM and GRU.
    solver : {"adam", "sgd", "adagrad", "rmsprop"}, default="adam"
        Optimizer.
    alpha : float, default=1e-4
        L2 penalty on the weights (not the biases), ``0.5 * alpha * ||W||^2 / n`` per
        batch, where ``n`` is the batch's total sample weight: its size when unweighted.
    batch_size : int or "auto", default=32
        Minibatch size. ``"auto"`` is 8 below 1000 samples (many updates an epoch on a
        small set) and ``n_samples // 8`` up to 1024 from there (few, cheap steps
        an epoch on a large one), ``n_samples`` at most.
    learning_rate : {"constant", "adaptive", "cosine"}, default="constant"
        Learning-rate schedule. ``"constant"`` keeps ``learning_rate_init``;
        ``"adaptive"`` divides it by 5 each time the monitored value (validation score
        with ``early_stopping``, else training loss) does not improve by ``tol`` for
        ``n_iter_no_change`` epochs, and stops at the third such stall; ``"cosine"``
        anneals it to 0 along half a cosine over ``max_iter`` epochs (which it then
        runs without a ``ConvergenceWarning``). With
        every schedule, a training loss that rises for 3 epochs in a row, or that
        stalls in a fit that got nowhere, rolls back to the best weights and divides
        the rate by 5.
    learning_rate_init : float, default=0.01
        Step size of the optimizer.
    max_iter : int, default=200
        Maximum number of epochs.
    clip_norm : float or None, default=5.0
        Global gradient-norm clipping threshold; ``None`` disables it.
    tol : float, default=1e-4
        Improvement below which an epoch counts as no improvement.
    n_iter_no_change : int, default=10
        Epochs without improvement before stopping.
    early_stopping : bool, default=False
        Hold out ``validation_fraction`` and stop when its R^2 stops improving.
    validation_fraction : float, default=0.1
        Share of the training data held out for early stopping.
    warm_start : bool, default=False
        Continue from the previous fit's weights and optimizer state.
    random_state : int, RandomState instance or None, default=None
        Seed of initialisation, shuffling and validation split.
    verbose : int, default=0
        Print one line per epoch.
    momentum : float, default=0.9
        Momentum of ``"sgd"``.
    nesterovs_momentum : bool, default=True
        Nesterov momentum for ``"sgd"``.
    beta_1, beta_2 : float, default=0.9, 0.999
        Adam's decay rates.
    epsilon : float, default=1e-8
        Numerical stability term of adam, adagrad and rmsprop.
    rho : float, default=0.9
        Decay of rmsprop's average of squared gradients.
    bidirectional : bool, default=False
        Add a reversed direction to every layer.
    pooling : {"last", "mean", "max"}, default="last"
        What the output layer reads: the final hidden state (of each direction, with
        ``bidirectional``), or the mean or elementwise max of the top layer's outputs
        over each sequence's real steps (padding never counts).
    vocab_size : int or None, default=None
        Vocabulary size for token-id input; ``None`` learns it at fit.
    dtype : {np.float32, np.float64}, default=np.float32
        Floating point type of weights and computations.

    Attributes
    ----------
    n_features_in_ : int
        Features per time step (vocabulary size for token ids).
    n_outputs_ : int
        Number of targets.
    params_ : dict of str to ndarray
        Weights, named as in :class:`RNNClassifier`; ``"W_y"`` is (n_last, n_outputs).
    n_iter_ : int
        Epochs run.
    t_ : int
        Training samples seen.
    loss_curve_ : list of float
        Mean training loss of each epoch.
    best_loss_ : float or None
        Lowest training loss; ``None`` with ``early_stopping``.
    validation_scores_ : list of float or None
        Validation R^2 per epoch with ``early_stopping``.
    best_validation_score_ : float or None
        Best validation R^2 with ``early_stopping``.

    See Also
    --------
    RNNClassifier : The classification counterpart.
    sklearn.neural_network.MLPRegressor : The feed-forward model whose API this follows.

    Examples
    --------
    >>> import numpy as np
    >>> from skrnn import RNNRegressor
    >>> rng = np.random.RandomState(0)
    >>> X = rng.uniform(-1, 1, size=(200, 8))      # 200 univariate series of 8 steps
    >>> y = X.sum(axis=1)
    >>> reg = RNNRegressor(hidden_layer_sizes=(16,), max_iter=100, random_state=0).fit(X, y)
    >>> reg.score(X, y) > 0.95
    True
    """

    def __init__(self, cell="rnn", hidden_layer_sizes=(64,), activation="tanh", solver="adam",
                 alpha=1e-4, batch_size=32,
                 learning_rate="constant", learning_rate_init=0.01, max_iter=200,
                 clip_norm=5.0, tol=1e-4, n_iter_no_change=10, early_stopping=False,
                 validation_fraction=0.1, warm_start=False, random_state=None, verbose=0,
                 momentum=0.9, nesterovs_momentum=True, beta_1=0.9, beta_2=0.999,
                 epsilon=1e-8, rho=0.9, bidirectional=False, pooling="last", vocab_size=None,
                 dtype=np.float32):
        super().__init__(
            cell=cell, hidden_layer_sizes=hidden_layer_sizes, activation=activation,
            solver=solver, alpha=alpha, batch_size=batch_size,
            learning_rate=learning_rate, learning_rate_init=learning_rate_init,
            max_iter=max_iter, clip_norm=clip_norm,
            tol=tol, n_iter_no_change=n_iter_no_change, early_stopping=early_stopping,
            validation_fraction=validation_fraction, warm_start=warm_start,
            random_state=random_state, verbose=verbose, momentum=momentum,
            nesterovs_momentum=nesterovs_momentum, beta_1=beta_1, beta_2=beta_2,
            epsilon=epsilon, rho=rho, vocab_size=vocab_size, dtype=dtype,
            bidirectional=bidirectional,
        )
        self.pooling = pooling

    def _prepare_targets(self, y, n_samples, continuing, partial, classes=None):
        y = np.asarray(y)
        if y.dtype.kind == "c":
            raise ValueError("Complex data not supported: y must be real for regression.")
        if y.dtype.kind not in "biuf":
            try:
                y = y.astype(np.float64)
            except (TypeError, ValueError):
                raise ValueError(f"y must be numeric for regression, got dtype {y.dtype}.") \
                    from None
        if y.ndim == 2 and y.shape[1] == 1:
            y = column_or_1d(y, warn=True)
        if y.ndim not in (1, 2):
            raise ValueError(f"y must be 1-D or 2-D (n_samples, n_outputs), got {y.ndim}-D.")
        if y.shape[0] != n_samples:
            raise ValueError(f"X has {n_samples} sequences but y has {y.shape[0]} targets.")
        if not np.isfinite(y).all():
            i = int(np.nonzero(~np.isfinite(y.reshape(n_samples, -1)).all(axis=1))[0][0])
            raise ValueError(f"y contains NaN or infinity (sample {i}).")
        y2 = y.reshape(n_samples, -1)
        n_out = y2.shape[1]
        if n_out == 0:
            raise ValueError(f"y has shape {y.shape}: at least 1 target per sample is needed.")
        dtype = self._fitted_dtype() if continuing else np.dtype(self.dtype)
        with np.errstate(over="ignore"):
            y_cast = y2.astype(dtype)
        if not np.isfinite(y_cast).all():
            i = int(np.nonzero(~np.isfinite(y_cast).all(axis=1))[0][0])
            raise ValueError(f"y of sample {i} is too large for {dtype} (the model's dtype): "
                             "scale y, or use dtype=np.float64.")
        if continuing and n_out != self.n_outputs_:
            raise ValueError(f"y has {n_out} targets but the model was fitted with "
                             f"{self.n_outputs_}.")
        attrs = {"n_outputs_": n_out, "_y_1d": y.ndim == 1, "_n_outputs_": n_out}
        return y_cast, attrs, None

    def _n_outputs(self):
        return self.n_outputs_

    def _loss(self, outputs, y, sample_weight):
        return squared_loss(outputs, y.astype(outputs.dtype, copy=False), sample_weight)

    def _check_validation_set(self, val):
        if len(val.y) < 2:
            raise ValueError(
                f"early_stopping scores the validation part with R^2, which needs at least 2 "
                f"samples; validation_fraction={self.validation_fraction} holds out "
                f"{len(val.y)}. Raise validation_fraction or set early_stopping=False."
            )

    def _validation_score(self, outputs, y, sample_weight):
        from sklearn.metrics import r2_score

        return r2_score(y, outputs, sample_weight=sample_weight)

    def fit(self, X, y, sample_weight=None):
        """Fit the model to sequences ``X`` and targets ``y``.

        Parameters
        ----------
        X : array-like of shape (n_samples, n_timesteps[, n_features])
            Float sequences (NaN end-padded) or integer token ids (-1 end-padded).
        y : array-like of shape (n_samples,) or (n_samples, n_outputs)
            Real targets.
        sample_weight : array-like of shape (n_samples,) or float, default=None
            Weights of the samples in the loss: finite, non-negative, not all zero. A
            minibatch whose weights are all zero is skipped.

        Returns
        -------
        self : RNNRegressor
            The fitted regressor.
        """
        return self._fit(X, y, sample_weight=sample_weight)

    def partial_fit(self, X, y, sample_weight=None):
        """One epoch over ``X``, continuing the current model.

        Parameters
        ----------
        X : array-like of shape (n_samples, n_timesteps[, n_features])
            Float sequences (NaN end-padded) or integer token ids (-1 end-padded).
        y : array-like of shape (n_samples,) or (n_samples, n_outputs)
            Real targets.
        sample_weight : array-like of shape (n_samples,) or float, default=None
            Weights of the samples in the loss: finite, non-negative, not all zero. A
            minibatch whose weights are all zero is skipped.

        Returns
        -------
        self : RNNRegressor
            The regressor, one epoch further.
        """
        return self._fit(X, y, sample_weight=sample_weight, partial=True)

    def predict(self, X):
        """Predicted targets.

        Parameters
        ----------
        X : array-like of shape (n_samples, n_timesteps[, n_features])
            Float sequences (NaN end-padded) or integer token ids (-1 end-padded).

        Returns
        -------
        y : ndarray of shape (n_samples,) or (n_samples, n_outputs)
            The predicted target of each sequence.
        """
        check_is_fitted(self)
        out = self._raw_outputs(X)
        return out.ravel() if self._y_1d else out
