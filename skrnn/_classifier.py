"""RNNClassifier: many-to-one sequence classification."""

import numpy as np
from sklearn.base import ClassifierMixin
from sklearn.utils.class_weight import compute_class_weight
from sklearn.utils.multiclass import check_classification_targets, unique_labels
from sklearn.utils.validation import check_is_fitted, column_or_1d

from ._base import BaseRNN
from ._losses import log_softmax, softmax, softmax_cross_entropy


class RNNClassifier(ClassifierMixin, BaseRNN):
    """Recurrent neural network classifier of sequences (many-to-one).

    The network reads each sequence step by step through one or more recurrent
    layers; the final hidden state goes through a softmax layer. Trained by
    backpropagation through time with a stochastic optimizer, on minibatches.

    Parameters
    ----------
    cell : {"rnn", "lstm", "gru"}, default="gru"
        Recurrent cell: vanilla (Elman) with ``activation``, LSTM or GRU
        (PyTorch's equations; see the user guide).
    hidden_layer_sizes : tuple of int, default=(64,)
        Hidden units of each stacked recurrent layer.
    activation : {"tanh", "relu"}, default="tanh"
        Nonlinearity of the vanilla cell. Ignored by LSTM and GRU.
    solver : {"adam", "sgd", "adagrad", "rmsprop"}, default="adam"
        Optimizer. ``"sgd"`` uses ``momentum`` and ``nesterovs_momentum``.
    alpha : float, default=1e-4
        L2 penalty on the weights (not the biases), ``0.5 * alpha * ||W||^2 / n`` added to
        each batch's loss, as in :class:`~sklearn.neural_network.MLPClassifier`, where
        ``n`` is the batch's total sample weight (``class_weight`` included): its size
        when unweighted.
    batch_size : int or "auto", default="auto"
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
    learning_rate_init : float, default=0.02
        Step size of the optimizer.
    max_iter : int, default=200
        Maximum number of epochs (passes over the training data).
    clip_norm : float or None, default=1.0
        Rescale the gradient when its global norm (over all parameters) exceeds
        this; ``None`` disables clipping.
    tol : float, default=1e-4
        Improvement below which an epoch counts as no improvement.
    n_iter_no_change : int or "auto", default="auto"
        Stop after this many epochs without improvement of the training loss (or
        of the validation score with ``early_stopping``). ``"auto"`` is 10 epochs on
        the training loss and 2 on a validation score.
    early_stopping : bool or "auto", default="auto"
        Hold out ``validation_fraction`` of the data (stratified) and stop when
        its accuracy stops improving. ``"auto"`` does so from 1000 training samples
        on. Whatever is monitored, the weights of its best epoch are kept.
    validation_fraction : float, default=0.1
        Share of the training data held out for early stopping.
    warm_start : bool, default=False
        Continue from the previous fit's weights and optimizer state.
    random_state : int, RandomState instance or None, default=None
        Seed of the weight initialisation, shuffling and validation split. The
        same integer gives bit-identical models.
    verbose : int, default=0
        Print one line per epoch: loss, validation score, seconds.
    momentum : float, default=0.9
        Momentum of ``"sgd"``.
    nesterovs_momentum : bool, default=True
        Nesterov momentum for ``"sgd"``.
    beta_1, beta_2 : float, default=0.9, 0.999
        Decay rates of Adam's moment estimates.
    epsilon : float, default=1e-8
        Numerical stability term of adam, adagrad and rmsprop.
    rho : float, default=0.9
        Decay of rmsprop's average of squared gradients.
    class_weight : dict, "balanced" or None, default=None
        Weights of the classes in the loss, multiplied with ``sample_weight``.
    bidirectional : bool, default=False
        Add a reversed direction to every layer (each sequence read backwards
        from its own last real step); the two final states are concatenated.
    pooling : {"last", "mean", "max"}, default="max"
        What the output layer reads: the final hidden state (of each direction, with
        ``bidirectional``), or the mean or elementwise max of the top layer's outputs
        over each sequence's real steps (padding never counts).
    vocab_size : int or None, default=None
        For token-id input: size of the vocabulary. ``None`` learns it at fit as
        the largest id + 1. Set it when ``partial_fit`` may see larger ids later.
    dtype : {np.float32, np.float64}, default=np.float32
        Floating point type of weights and computations.

    Attributes
    ----------
    classes_ : ndarray of shape (n_classes,)
        Class labels.
    n_features_in_ : int
        Features per time step (the vocabulary size for token-id input).
    params_ : dict of str to ndarray
        Weights: ``"l{k}.W_x"`` (n_in, G*H), ``"l{k}.W_h"`` (H, G*H), ``"l{k}.b"``
        (G*H,) per layer ``k`` (``"l{k}r.*"`` for the reversed direction; ``G``
        gates: 1 rnn, 4 lstm, 3 gru; ``"l{k}.b_hn"`` (H,) for a GRU), and the
        output layer ``"W_y"`` (n_last, n_classes), ``"b_y"`` (n_classes,).
    n_iter_ : int
        Epochs run.
    t_ : int
        Training samples seen by the optimizer.
    loss_curve_ : list of float
        Mean training loss of each epoch (with the L2 term).
    best_loss_ : float or None
        Lowest training loss; ``None`` with ``early_stopping``.
    validation_scores_ : list of float or None
        Validation accuracy of each epoch with ``early_stopping``, else ``None``.
    best_validation_score_ : float or None
        Best validation accuracy with ``early_stopping``, else ``None``.

    See Also
    --------
    RNNRegressor : The regression counterpart.
    SequenceVectorizer : Turns text into the token-id sequences this takes.
    sklearn.neural_network.MLPClassifier : The feed-forward model whose API this follows.

    Notes
    -----
    ``X`` is ``(n_samples, n_timesteps, n_features)`` float sequences (2-D for
    univariate series) end-padded with NaN steps, or an integer
    ``(n_samples, n_timesteps)`` array of token ids end-padded with -1. Integer
    dtype means token ids: cast integer-valued series to float. Padding is
    skipped exactly: the state is carried through it and it gets no gradient.

    Examples
    --------
    >>> from sklearn.pipeline import make_pipeline
    >>> from skrnn import RNNClassifier, SequenceVectorizer
    >>> texts = ["good", "not good", "bad", "not bad"] * 5
    >>> labels = [1, 0, 0, 1] * 5
    >>> clf = make_pipeline(SequenceVectorizer(),
    ...                     RNNClassifier(hidden_layer_sizes=(16,), max_iter=60,
    ...                                   random_state=0))
    >>> clf.fit(texts, labels).predict(["not good", "not bad"])
    array([0, 1])
    """

    def __init__(self, cell="gru", hidden_layer_sizes=(64,), activation="tanh", solver="adam",
                 alpha=1e-4, batch_size="auto",
                 learning_rate="constant", learning_rate_init=0.02, max_iter=200,
                 clip_norm=1.0, tol=1e-4, n_iter_no_change="auto", early_stopping="auto",
                 validation_fraction=0.1, warm_start=False, random_state=None, verbose=0,
                 momentum=0.9, nesterovs_momentum=True, beta_1=0.9, beta_2=0.999,
                 epsilon=1e-8, rho=0.9, class_weight=None, bidirectional=False, pooling="max",
                 vocab_size=None, dtype=np.float32):
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
        self.class_weight = class_weight

    # ------------------------------------------------------------ head hooks

    def _prepare_targets(self, y, n_samples, continuing, partial, classes=None):
        y = np.asarray(y)
        if y.ndim == 2 and y.shape[1] == 1:
            y = column_or_1d(y, warn=True)
        elif y.ndim != 1:
            raise ValueError(f"y must be 1-D (one label per sequence), got shape {y.shape}.")
        if y.shape[0] != n_samples:
            raise ValueError(f"X has {n_samples} sequences but y has {y.shape[0]} labels.")
        check_classification_targets(y)
        # Numbers that check_classification_targets accepted are class labels as they are:
        # np.unique finds them without a second pass of scikit-learn's target inspection.
        labels = np.unique(y) if y.dtype.kind in "biuf" else unique_labels(y)
        if continuing:
            known = self.classes_
            given = classes if partial else (None if y.size == 0 else labels)
            if not partial and not np.array_equal(given, known):
                raise ValueError(f"warm_start can only continue with the same classes: fitted "
                                 f"{known!r}, got {given!r}.")
            if partial and classes is not None and not np.array_equal(unique_labels(classes),
                                                                      known):
                raise ValueError(f"classes={classes!r} is not the same as on the first call "
                                 f"to partial_fit, {known!r}.")
        elif partial:
            known = unique_labels(classes)
        else:
            known = labels
        unseen = np.setdiff1d(labels, known)
        if unseen.size:
            raise ValueError(f"y contains labels {unseen!r} that are not in classes "
                             f"{known!r}.")
        y_enc = np.searchsorted(known, y)
        w_class = None
        if self.class_weight is not None:
            if isinstance(self.class_weight, str) and self.class_weight == "balanced" and \
                    partial:
                raise ValueError("class_weight='balanced' is not supported by partial_fit: "
                                 "pass a dict of class weights.")
            cw = compute_class_weight(self.class_weight, classes=known, y=y)
            bad = ~np.isfinite(cw) | (cw < 0)
            if bad.any():
                k = int(np.nonzero(bad)[0][0])
                raise ValueError(f"class_weight must be finite and non-negative; class "
                                 f"{known[k]} has weight {cw[k]}.")
            w_class = cw[y_enc]
        attrs = {"classes_": known, "_n_outputs_": len(known)}
        return y_enc, attrs, w_class

    def _n_outputs(self):
        return len(self.classes_)

    def _loss(self, outputs, y, sample_weight):
        return softmax_cross_entropy(outputs, y, sample_weight)

    def _validation_score(self, outputs, y, sample_weight):
        return np.average(outputs.argmax(axis=1) == y, weights=sample_weight)

    def _split_for_validation(self, n_samples, y, rng):
        from sklearn.model_selection import train_test_split

        idx = np.arange(n_samples)
        try:
            train, val = train_test_split(idx, test_size=self.validation_fraction,
                                          random_state=rng, stratify=y)
        except ValueError as exc:
            raise ValueError(f"early_stopping could not make a stratified validation set "
                             f"(validation_fraction={self.validation_fraction}): {exc}") from None
        return train, val

    # ------------------------------------------------------------ public API

    def fit(self, X, y, sample_weight=None):
        """Fit the model to sequences ``X`` and labels ``y``.

        Parameters
        ----------
        X : array-like of shape (n_samples, n_timesteps[, n_features])
            Float sequences (NaN end-padded) or integer token ids (-1 end-padded).
        y : array-like of shape (n_samples,)
            Class labels (any type).
        sample_weight : array-like of shape (n_samples,) or float, default=None
            Weights of the samples in the loss: finite, non-negative, not all zero. A
            minibatch whose weights are all zero is skipped.

        Returns
        -------
        self : RNNClassifier
            The fitted classifier.
        """
        return self._fit(X, y, sample_weight=sample_weight)

    def partial_fit(self, X, y, classes=None, sample_weight=None):
        """One epoch over ``X``, continuing the current model.

        Parameters
        ----------
        X : array-like of shape (n_samples, n_timesteps[, n_features])
            Float sequences (NaN end-padded) or integer token ids (-1 end-padded).
        y : array-like of shape (n_samples,)
            Class labels, among ``classes``.
        classes : array-like of shape (n_classes,), default=None
            All classes; required on the first call, optional (and checked) later.
        sample_weight : array-like of shape (n_samples,) or float, default=None
            As in :meth:`fit`.

        Returns
        -------
        self : RNNClassifier
            The classifier, one epoch further.
        """
        first = not hasattr(self, "params_")
        if first and classes is None:
            raise ValueError("classes must be passed on the first call to partial_fit.")
        return self._fit(X, y, sample_weight=sample_weight, partial=True, classes=classes)

    def predict(self, X):
        """Most likely class of each sequence.

        Parameters
        ----------
        X : array-like of shape (n_samples, n_timesteps[, n_features])
            Float sequences (NaN end-padded) or integer token ids (-1 end-padded).

        Returns
        -------
        y : ndarray of shape (n_samples,)
            The predicted class of each sequence, one of ``classes_``.
        """
        check_is_fitted(self)
        return self.classes_[self._raw_outputs(X).argmax(axis=1)]

    def predict_proba(self, X):
        """Class probabilities; columns follow ``classes_``.

        Parameters
        ----------
        X : array-like of shape (n_samples, n_timesteps[, n_features])
            Float sequences (NaN end-padded) or integer token ids (-1 end-padded).

        Returns
        -------
        proba : ndarray of shape (n_samples, n_classes)
            The probability of each class, rows summing to 1.
        """
        check_is_fitted(self)
        return softmax(self._raw_outputs(X))

    def predict_log_proba(self, X):
        """Logarithm of :meth:`predict_proba`, computed stably.

        Parameters
        ----------
        X : array-like of shape (n_samples, n_timesteps[, n_features])
            Float sequences (NaN end-padded) or integer token ids (-1 end-padded).

        Returns
        -------
        log_proba : ndarray of shape (n_samples, n_classes)
            The log-probability of each class.
        """
        check_is_fitted(self)
        return log_softmax(self._raw_outputs(X))

    def __sklearn_tags__(self):
        tags = super().__sklearn_tags__()
        tags.classifier_tags.multi_class = True
        tags.classifier_tags.multi_label = False
        return tags
