"""RNNSequenceTagger: one label per step (many-to-many classification)."""

import itertools
import math

import numpy as np
from sklearn.utils.class_weight import compute_class_weight
from sklearn.utils.multiclass import check_classification_targets
from sklearn.utils.validation import check_is_fitted

from ._base import BaseRNN, TrainingData, _architecture
from ._char_encoder import NoisyTokenBatches, TokenSequences, char_table, make_network
from ._losses import softmax, weighted_sequence_cross_entropy
from ._params import check_int, check_real, check_sample_weight, check_weight_sum
from ._workspace import Workspace

__all__ = ["RNNSequenceTagger"]


class RNNSequenceTagger(BaseRNN):
    """Recurrent neural network sequence tagger: one label per step (many-to-many).

    A (by default bidirectional) recurrent network reads each sequence; at every
    step its top layer's output (both directions concatenated) goes through a softmax
    layer over the labels. Trained by backpropagation through time on the weighted
    cross-entropy of all real steps.

    Given token strings (a list of sentences, each a list of str), each token's input
    is a learned embedding of its word (lowercased) beside a character-level encoding
    of it: a bidirectional recurrent network over its characters, trained end to end
    with the tagger (Lample et al., 2016). Words seen fewer than ``min_word_count``
    times in training share one unknown-word embedding, which is how the model learns
    what to do with a word it has never seen; their characters still say a lot.

    Parameters
    ----------
    cell : {"rnn", "lstm", "gru"}, default="gru"
        Recurrent cell, of the word-level and the character-level network.
    hidden_layer_sizes : tuple of int, default=(64,)
        Hidden units of each stacked word-level layer (per direction).
    activation : {"tanh", "relu"}, default="tanh"
        Nonlinearity of the vanilla cell. Ignored by LSTM and GRU.
    solver : {"adam", "sgd", "adagrad", "rmsprop"}, default="adam"
        Optimizer.
    alpha : float, default=1e-5
        L2 penalty on the weights, ``0.5 * alpha * ||W||^2 / n`` per batch, where ``n``
        is the batch's total step weight (its number of real steps when unweighted).
    batch_size : int or "auto", default=16
        Minibatch size. ``"auto"`` is 8 below 1000 samples (many updates an epoch on a
        small set) and ``n_samples // 8`` up to 1024 from there (few, cheap steps
        an epoch on a large one), ``n_samples`` at most.
    learning_rate : {"constant", "adaptive", "cosine"}, default="cosine"
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
    max_iter : int, default=12
        Maximum number of epochs.
    clip_norm : float or None, default=5.0
        Global gradient-norm clipping; ``None`` disables it.
    tol : float, default=1e-4
        Improvement below which an epoch counts as no improvement.
    n_iter_no_change : int, default=3
        Stop after this many epochs without improvement of the training loss (or of
        the validation score with ``early_stopping``).
    early_stopping : bool, default=False
        Hold out ``validation_fraction`` of the sequences and stop when their token
        accuracy stops improving; the best weights are kept.
    validation_fraction : float, default=0.1
        Share of the sequences held out for early stopping.
    warm_start : bool, default=False
        Continue from the previous fit's weights and optimizer state.
    random_state : int, RandomState instance or None, default=None
        The same integer gives bit-identical models.
    verbose : int, default=0
        Print one line per epoch: loss, validation score, seconds.
    momentum : float, default=0.9
        Momentum of ``"sgd"``.
    nesterovs_momentum : bool, default=True
        Nesterov momentum for ``"sgd"``.
    beta_1 : float, default=0.9
        Decay rate of Adam's first moment estimate.
    beta_2 : float, default=0.999
        Decay rate of Adam's second moment estimate.
    epsilon : float, default=1e-8
        Numerical stability term of adam, adagrad and rmsprop.
    rho : float, default=0.9
        Decay of rmsprop's average of squared gradients.
    class_weight : dict, "balanced" or None, default=None
        Weights of the labels in the loss (per step), multiplied with ``sample_weight``.
    bidirectional : bool, default=True
        Read every sequence in both directions; the outputs are concatenated.
    embedding_size : int, default=64
        Width of the word embedding (token-string input).
    char_hidden_size : int, default=32
        Hidden units (per direction) of the character-level network.
    char_size : int, default=64
        Width of a token's character encoding.
    max_chars : int, default=16
        Characters read of a token; a longer one keeps its first and last halves.
    min_word_count : int, default=2
        Words seen fewer times in training get the unknown-word embedding.
    dropout : float, default=0.5
        Token-string input: in training, each entry of a token's input (embedding and
        character encoding) is zeroed with this probability, the others scaled by
        ``1 / (1 - dropout)`` (inverted dropout; nothing changes at prediction).
    word_dropout : float, default=0.1
        Token-string input: in training, each token is read as the unknown word with
        this probability (its characters are still read).
    vocab_size : int or None, default=None
        For token-id input: size of the vocabulary (``None``: largest id + 1).
    dtype : {np.float32, np.float64}, default=np.float32
        Floating point type of weights and computations.

    Attributes
    ----------
    classes_ : ndarray of shape (n_classes,)
        Labels; the columns of :meth:`predict_proba`.
    n_features_in_ : int
        Features per step (the vocabulary size for token ids; the number of word ids,
        the unknown word included, for token strings).
    vocabulary_ : ndarray of str or None
        Known words (lowercased), sorted; word id ``i + 1`` is ``vocabulary_[i]``, 0 the
        unknown word. ``None`` unless fitted on token strings.
    alphabet_ : ndarray of int or None
        Code points of the known characters (char id ``i + 1``; 0 is any other).
    params_ : dict of str to ndarray
        Weights of the word-level network (``"l{k}.W_x"``, ... ``"W_y"`` (n_last,
        n_classes), ``"b_y"``), and for token strings the embedding ``"E"``
        (n_words, embedding_size) and the character network (``"char.*"``).
    n_iter_, t_, loss_curve_, best_loss_, validation_scores_, best_validation_score_
        As in :class:`RNNClassifier`; validation scores are token accuracies.

    See Also
    --------
    RNNClassifier : One label per sequence.
    SequenceVectorizer : Text to token-id sequences.

    Notes
    -----
    ``X`` is a list of token sequences (lists of str), or under the input contract of
    the other estimators: integer token ids (2-D, -1 end-padded) or float sequences
    (NaN end-padded). ``y`` is a list of label sequences, each as long as its
    sequence, or a 2-D array whose steps past each sequence's end hold -1 (integer
    labels), NaN (float), ``""`` or ``None`` (strings, objects).

    Examples
    --------
    >>> from skrnn import RNNSequenceTagger
    >>> X = [["the", "dog", "barks"], ["a", "cat", "sleeps"], ["the", "cat", "barks"]] * 8
    >>> y = [["DET", "NOUN", "VERB"]] * 24
    >>> tag = RNNSequenceTagger(max_iter=30, random_state=0).fit(X, y)
    >>> tag.predict([["a", "dog", "sleeps"]])
    [array(['DET', 'NOUN', 'VERB'], dtype='<U4')]
    """

    _head = "many_to_many"

    def __init__(self, cell="gru", hidden_layer_sizes=(64,), activation="tanh",
                 solver="adam", alpha=1e-5, batch_size=16,
                 learning_rate="cosine", learning_rate_init=0.01,
                 max_iter=12, clip_norm=5.0, tol=1e-4, n_iter_no_change=3,
                 early_stopping=False, validation_fraction=0.1, warm_start=False,
                 random_state=None, verbose=0, momentum=0.9, nesterovs_momentum=True,
                 beta_1=0.9, beta_2=0.999, epsilon=1e-8, rho=0.9, class_weight=None,
                 bidirectional=True, embedding_size=64, char_hidden_size=32, char_size=64,
                 max_chars=16, min_word_count=2, dropout=0.5, word_dropout=0.1,
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
        self.class_weight = class_weight
        self.embedding_size = embedding_size
        self.char_hidden_size = char_hidden_size
        self.char_size = char_size
        self.max_chars = max_chars
        self.min_word_count = min_word_count
        self.dropout = dropout
        self.word_dropout = word_dropout

    # ------------------------------------------------------------ validation

    def _validate_params(self):
        super()._validate_params()
        for name in ("embedding_size", "char_hidden_size", "char_size", "max_chars",
                     "min_word_count"):
            check_int(name, getattr(self, name), 1)
        check_real("dropout", self.dropout, 0, 1, high_open=True)
        check_real("word_dropout", self.word_dropout, 0, 1)

    def _check_X(self, X, *, fitted):
        """Token strings become TokenSequences (with the fitted vocabulary after fit)."""
        tokens = _token_strings(X)
        name = type(self).__name__
        if fitted:
            on_strings = "n_chars" in self._fitted_architecture
            if on_strings and tokens is None:
                raise ValueError(f"{name} was fitted on token strings (lists of str); pass "
                                 "X in the same form.")
            if tokens is not None and not on_strings:
                raise ValueError(f"{name} was fitted on arrays of sequences, not on token "
                                 "strings; pass X in the same form.")
            if tokens is None:
                return super()._check_X(X, fitted=True)
            return _encode_tokens(*tokens, self.vocabulary_, self.alphabet_,
                                  self._fitted_architecture["max_chars"])[0]
        if tokens is None:
            return super()._check_X(X, fitted=False)
        return tokens

    # ------------------------------------------------------------ fitting

    def _prepare(self, X, y, sample_weight, *, partial, classes, continuing):
        name = type(self).__name__
        seqs = self._check_X(X, fitted=False)
        vocab = {}
        if isinstance(seqs, tuple):  # token strings: (flat tokens, lengths)
            if continuing:
                if "n_chars" not in self._fitted_architecture:
                    raise ValueError(f"{name} was fitted on arrays of sequences; warm_start "
                                     "and partial_fit continue it with the same form of X.")
                vocab = {"vocabulary_": self.vocabulary_, "alphabet_": self.alphabet_}
                seqs = _encode_tokens(*seqs, self.vocabulary_, self.alphabet_,
                                      self._fitted_architecture["max_chars"])[0]
            else:
                seqs, words, alphabet = _encode_tokens(*seqs, None, None, self.max_chars,
                                                       self.min_word_count)
                vocab = {"vocabulary_": words, "alphabet_": alphabet}
        else:
            if continuing:
                if "n_chars" in self._fitted_architecture:
                    raise ValueError(f"{name} was fitted on token strings; warm_start and "
                                     "partial_fit continue it with the same form of X.")
                self._check_continuation(seqs)
            vocab = {"vocabulary_": None, "alphabet_": None}
        if y is None:
            raise ValueError(f"{name} requires y to be passed, but the target y is None.")
        y_enc, attributes, w_class = self._prepare_targets(y, seqs, continuing, partial,
                                                           classes)
        attributes.update(vocab)
        dtype = self._fitted_dtype() if continuing else np.dtype(self.dtype)
        w = check_sample_weight(sample_weight, len(seqs), dtype)
        # one weight per step: the sample's times the step's label's; 0 at padding
        w_step = (y_enc >= 0).astype(dtype)
        if w is not None:
            w_step *= w[:, None]
        if w_class is not None:
            w_step *= w_class.astype(dtype)
        if w is not None or w_class is not None:
            check_weight_sum(w_step, "sample_weight times class_weight")
        return TrainingData(seqs, y_enc, w_step, attributes)

    def _prepare_targets(self, y, seqs, continuing, partial, classes=None):
        lengths = np.asarray(seqs.lengths)
        flat = _flat_labels(y, lengths)
        check_classification_targets(flat)
        labels = _unique(flat)
        if continuing:
            known = self.classes_
        elif partial:
            known = _unique(np.asarray(classes))
        else:
            known = labels
        if partial and continuing and classes is not None and \
                not np.array_equal(_unique(np.asarray(classes)), known):
            raise ValueError(f"classes={classes!r} is not the same as on the first call to "
                             f"partial_fit, {known!r}.")
        if continuing and not partial and not np.array_equal(labels, known):
            raise ValueError(f"warm_start can only continue with the same classes: fitted "
                             f"{known!r}, got {labels!r}.")
        codes = _encode(flat, known, "y", lengths)
        T = seqs.data.shape[1]
        y_enc = np.full((len(lengths), T), -1, dtype=np.intp)
        y_enc[np.arange(T)[None, :] < lengths[:, None]] = codes
        w_class = None
        if self.class_weight is not None:
            if isinstance(self.class_weight, str) and self.class_weight == "balanced" and \
                    partial:
                raise ValueError("class_weight='balanced' is not supported by partial_fit: "
                                 "pass a dict of class weights.")
            cw = compute_class_weight(self.class_weight, classes=known, y=flat)
            bad = ~np.isfinite(cw) | (cw < 0)
            if bad.any():
                k = int(np.nonzero(bad)[0][0])
                raise ValueError(f"class_weight must be finite and non-negative; class "
                                 f"{known[k]} has weight {cw[k]}.")
            w_class = np.where(y_enc >= 0, cw[np.maximum(y_enc, 0)], 0.0)
        return y_enc, {"classes_": known, "_n_outputs_": len(known)}, w_class

    def _architecture_of(self, data):
        arch = _architecture(self)
        if isinstance(data.seqs, TokenSequences):
            arch.update(n_chars=int(data.attributes["alphabet_"].size + 1),
                        embedding_size=int(self.embedding_size),
                        char_hidden_size=int(self.char_hidden_size),
                        char_size=int(self.char_size), max_chars=int(self.max_chars))
        return arch

    def _batches(self, data, index):
        if not isinstance(data.seqs, TokenSequences) or not (self.dropout or
                                                            self.word_dropout):
            return super()._batches(data, index)
        return NoisyTokenBatches(data.seqs, data.y, data.w, index,
                                 self._batch_size(len(index)),
                                 int(self.embedding_size + self.char_size),
                                 float(self.dropout), float(self.word_dropout))

    def _network(self, n_inputs=None, n_outputs=None, architecture=None, head=None):
        arch = self._fitted_architecture if architecture is None else architecture
        if "n_chars" not in arch:
            return super()._network(n_inputs, n_outputs, architecture, head)
        return make_network(
            arch["cell"], self.n_features_in_ if n_inputs is None else n_inputs,
            arch["n_chars"], arch["embedding_size"], arch["char_hidden_size"],
            arch["char_size"], arch["hidden_layer_sizes"],
            self._n_outputs() if n_outputs is None else n_outputs, arch["activation"],
            arch["bidirectional"])

    def _step_product(self, n_samples):
        """Always small enough for one BLAS thread (see ``_base._blas_threads_for``).

        A tagger's step products are a sentence batch's (16 x 64 by default) and the
        character network's (a few hundred distinct tokens x 32); the large products
        are the weight gradients summed over all steps. Measured on this project's
        2-core machine under load: (32, 5600) @ (5600, 128) took 3 ms on one thread and
        870 ms on two; (64, 640) @ (640, 256) 1.9 ms and 187 ms.
        """
        return 0

    def _n_outputs(self):
        return len(self.classes_)

    def _loss(self, outputs, y, sample_weight):
        T = outputs.shape[1]  # the batch's longest sequence
        return weighted_sequence_cross_entropy(outputs, y[:, :T], sample_weight[:, :T])

    def _validation_score(self, outputs, y, sample_weight):
        T = outputs.shape[1]
        y, w = y[:, :T], sample_weight[:, :T]
        real = y >= 0
        return np.average(outputs.argmax(axis=2)[real] == y[real], weights=w[real])

    def _check_validation_set(self, val):
        if not val.w.any():
            raise ValueError("early_stopping: the validation sequences have no real step "
                             "with a weight; raise validation_fraction.")

    def _predict_outputs(self, seqs, params=None, net=None):
        """Logits (n, T, C) in bounded-memory chunks sorted by length (zeros past ends)."""
        params = self.params_ if params is None else params
        net = self._network() if net is None else net
        n, T = len(seqs), seqs.data.shape[1]
        width = max(net.hidden_sizes) * net.cell.n_gates * len(net.directions)
        from . import _tuning

        chunk = int(max(1, min(n, _tuning.PREDICT_CHUNK_ELEMENTS // (max(T, 1) * width))))
        if chunk >= n:
            return net.forward(params, seqs)[0]
        order = np.argsort(-seqs.lengths, kind="stable")
        workspace = Workspace()
        out = np.zeros((n, T, net.n_outputs), dtype=params["W_y"].dtype)
        for s in range(0, n, chunk):
            rows = order[s : s + chunk]
            part = net.forward(params, seqs.take(rows), workspace=workspace)[0]
            out[rows, : part.shape[1]] = part
        return out

    # ------------------------------------------------------------ public API

    def fit(self, X, y, sample_weight=None):
        """Fit the tagger to sequences ``X`` and their label sequences ``y``.

        Parameters
        ----------
        X : list of list of str, or array-like of shape (n_samples, n_timesteps[, n_features])
            Token strings, token ids (-1 end-padded) or float sequences (NaN end-padded).
        y : list of array-like, or array-like of shape (n_samples, n_timesteps)
            One label per step of every sequence (any label type).
        sample_weight : array-like of shape (n_samples,) or float, default=None
            Weight of each sequence (of each of its steps) in the loss.

        Returns
        -------
        self : RNNSequenceTagger
            The fitted tagger.
        """
        return self._fit(X, y, sample_weight=sample_weight)

    def partial_fit(self, X, y, classes=None, sample_weight=None):
        """One epoch over ``X``, continuing the current model.

        The first call learns the vocabulary (token strings) and needs ``classes``, all
        the labels.

        Parameters
        ----------
        X : list of list of str, or array-like of shape (n_samples, n_timesteps[, n_features])
            Token strings, token ids (-1 end-padded) or float sequences (NaN end-padded).
        y : list of array-like, or array-like of shape (n_samples, n_timesteps)
            One label per step of every sequence.
        classes : array-like of shape (n_classes,), default=None
            All labels; required on the first call, optional (and checked) later.
        sample_weight : array-like of shape (n_samples,) or float, default=None
            Weight of each sequence in the loss, as in :meth:`fit`.

        Returns
        -------
        self : RNNSequenceTagger
            The updated tagger.
        """
        if not hasattr(self, "params_") and classes is None:
            raise ValueError("classes must be passed on the first call to partial_fit.")
        return self._fit(X, y, sample_weight=sample_weight, partial=True, classes=classes)

    def _sequence_outputs(self, X):
        check_is_fitted(self)
        seqs = self._check_X(X, fitted=True)
        return self._predict_outputs(seqs), np.asarray(seqs.lengths)

    def predict(self, X):
        """Tag every step: one array of ``length_i`` labels per sequence.

        Parameters
        ----------
        X : list of list of str, or array-like of shape (n_samples, n_timesteps[, n_features])
            Token strings, token ids (-1 end-padded) or float sequences (NaN end-padded).

        Returns
        -------
        y : list of ndarray
            The most likely label of every real step, sequence by sequence.
        """
        check_is_fitted(self)
        logits, lengths = self._sequence_outputs(X)
        real = np.arange(logits.shape[1])[None, :] < lengths[:, None]
        labels = self.classes_[logits.argmax(axis=2)[real]]
        return np.split(labels, np.cumsum(lengths)[:-1])

    def predict_proba(self, X):
        """Label probabilities of every step: one (length_i, n_classes) array per sequence.

        Parameters
        ----------
        X : list of list of str, or array-like of shape (n_samples, n_timesteps[, n_features])
            Token strings, token ids (-1 end-padded) or float sequences (NaN end-padded).

        Returns
        -------
        proba : list of ndarray
            One (length_i, n_classes) array per sequence; columns follow ``classes_``.
        """
        check_is_fitted(self)
        logits, lengths = self._sequence_outputs(X)
        real = np.arange(logits.shape[1])[None, :] < lengths[:, None]
        return np.split(softmax(logits[real]), np.cumsum(lengths)[:-1])

    def score(self, X, y, sample_weight=None):
        """Token accuracy: the (sequence-weighted) share of real steps tagged right.

        Parameters
        ----------
        X : list of list of str, or array-like of shape (n_samples, n_timesteps[, n_features])
            Sequences, as in :meth:`predict`.
        y : list of array-like, or 2-D array-like
            True labels, as in :meth:`fit`; a label not in ``classes_`` is an error.
        sample_weight : array-like of shape (n_samples,), default=None
            Weight of each sequence (of each of its steps) in the mean.

        Returns
        -------
        score : float
            Share of the real steps whose predicted label is the true one.
        """
        check_is_fitted(self)
        logits, lengths = self._sequence_outputs(X)
        flat = _flat_labels(y, lengths)
        codes = _encode(flat, self.classes_, "y", lengths)
        real = np.arange(logits.shape[1])[None, :] < lengths[:, None]
        right = logits.argmax(axis=2)[real] == codes
        w = check_sample_weight(sample_weight, len(lengths), np.float64)
        if w is not None:
            w = np.repeat(w, lengths)
        if right.size == 0:
            raise ValueError("score needs at least one real step in X.")
        return float(np.average(right, weights=w))

    def __sklearn_tags__(self):
        tags = super().__sklearn_tags__()
        tags.input_tags.two_d_array = False  # sequences of tokens; y one label per step
        tags.input_tags.string = True
        tags.target_tags.one_d_labels = False
        tags.target_tags.two_d_labels = True
        return tags


# -------------------------------------------------------------- token strings


def _token_strings(X):
    """(flat tokens, lengths) if X is a list of token lists (str), else None."""
    if isinstance(X, np.ndarray) and X.dtype != object:
        return None
    if isinstance(X, (str, bytes)) or not hasattr(X, "__len__"):
        return None
    X = list(X)
    if not X:
        return None
    if not all(isinstance(s, (list, tuple)) for s in X):
        first = next((i for i, s in enumerate(X) if isinstance(s, str)), None)
        if first is not None and any(isinstance(s, (list, tuple)) for s in X):
            raise TypeError(f"X sample {first} is a string; each sample must be a list of "
                            "tokens (str). Split sentences into tokens first.")
        return None
    lengths = np.fromiter(map(len, X), dtype=np.intp, count=len(X))
    flat = list(itertools.chain.from_iterable(X))
    kinds = set(map(type, flat))
    if not flat or kinds == {str}:
        return (flat, lengths) if flat or lengths.size else None
    if str not in kinds and not any(issubclass(k, str) for k in kinds):
        return None  # numbers: the array forms, which check_sequences validates
    bad = next(j for j, t in enumerate(flat) if not isinstance(t, str))
    i = int(np.searchsorted(np.cumsum(lengths), bad, side="right"))
    t = bad - int(np.cumsum(lengths)[i - 1] if i else 0)
    raise TypeError(f"X sample {i}, step {t} is {flat[bad]!r} ({type(flat[bad]).__name__}); "
                    "token sequences hold strings only.")


def _encode_tokens(flat, lengths, words, alphabet, max_chars, min_word_count=None):
    """TokenSequences of the token strings (and, at fit, the vocabulary and alphabet).

    The distinct strings are the *types*; ``words`` (sorted lowercase strings) gives
    their word ids (0: unknown); ``None`` learns it: the lowercased types seen at
    least ``min_word_count`` times.
    """
    n, T = len(lengths), int(lengths.max()) if len(lengths) else 0
    tokens = np.asarray(flat, dtype=str) if flat else np.zeros(0, dtype="<U1")
    types, type_of, counts = np.unique(tokens, return_inverse=True, return_counts=True)
    lower = np.char.lower(types) if types.size else types
    if words is None:
        keys, key_of = np.unique(lower, return_inverse=True)
        key_counts = np.bincount(key_of, weights=counts, minlength=keys.size)
        words = keys[key_counts >= min_word_count]
    pos = np.searchsorted(words, lower)
    known = (pos < words.size) & (words[np.minimum(pos, max(words.size - 1, 0))] == lower) \
        if words.size else np.zeros(types.size, dtype=bool)
    word_ids = np.where(known, pos + 1, 0).astype(np.intp)
    chars, char_lengths, alphabet = char_table(types, max_chars, alphabet)
    data = np.zeros((n, T), dtype=np.intp)
    data[np.arange(T)[None, :] < lengths[:, None]] = type_of
    seqs = TokenSequences(data, lengths, "tokens", int(words.size + 1), word_ids, chars,
                          char_lengths)
    return seqs, words, alphabet


# -------------------------------------------------------------- labels


def _unique(values):
    try:
        return np.unique(values)
    except TypeError as exc:
        raise TypeError(f"labels must be of one comparable type ({exc}).") from None


def _is_padding(values):
    """Which entries of a padded label array mark padding: -1, NaN, "" or None."""
    if values.dtype.kind in "iu":
        return values == -1
    if values.dtype.kind == "f":
        return np.isnan(values)
    if values.dtype.kind in "US":
        return values == values.dtype.type("")
    return np.array([v is None or (isinstance(v, float) and math.isnan(v)) or
                     (isinstance(v, str) and v == "") for v in values.ravel()],
                    dtype=bool).reshape(values.shape)


def _flat_labels(y, lengths):
    """The labels of every real step, sample after sample, checked against ``lengths``."""
    n = len(lengths)
    if isinstance(y, np.ndarray) and y.ndim == 2 and y.dtype != object or \
            isinstance(y, np.ndarray) and y.ndim == 2 and y.shape[0] == n and \
            not any(isinstance(v, (list, tuple, np.ndarray)) for v in y[:, 0]):
        if y.shape[0] != n:
            raise ValueError(f"X has {n} sequences but y has {y.shape[0]} label sequences.")
        T = y.shape[1]
        if n and lengths.max() > T:
            i = int(np.argmax(lengths))
            raise ValueError(f"y has {T} steps, but sample {i} of X has {lengths[i]}.")
        real = np.arange(T)[None, :] < lengths[:, None]
        labelled = ~_is_padding(y)
        bad = labelled & ~real
        if bad.any():
            i, t = np.argwhere(bad)[0]
            raise ValueError(f"y has a label ({_show(y[i, t])}) at a padded step: sample {i}, "
                             f"step {t} (sample {i} has {lengths[i]} steps). Mark padding "
                             "with -1, NaN, '' or None.")
        missing = real & ~labelled
        if missing.any():
            i, t = np.argwhere(missing)[0]
            raise ValueError(f"y has no label at sample {i}, step {t}, a real step of X.")
        return y[real]
    if isinstance(y, (str, bytes)) or not hasattr(y, "__len__"):
        raise TypeError("y must be a list of label sequences, one per sequence of X.")
    y = list(y)
    if len(y) != n:
        raise ValueError(f"X has {n} sequences but y has {len(y)} label sequences.")
    for i, s in enumerate(y):
        if isinstance(s, (str, bytes)) or not hasattr(s, "__len__"):
            raise TypeError(f"y sample {i} is {s!r}, not a sequence of labels (one per "
                            "step of its sequence).")
    y_lengths = np.fromiter(map(len, y), dtype=np.intp, count=n)
    wrong = np.flatnonzero(y_lengths != lengths)
    if wrong.size:
        i = int(wrong[0])
        raise ValueError(f"y sample {i} has {y_lengths[i]} labels but its sequence in X has "
                         f"{lengths[i]} steps; give one label per step.")
    flat = list(itertools.chain.from_iterable(y))
    return np.asarray(flat) if flat else np.zeros(0)


def _encode(flat, classes, what, lengths):
    """Indices of ``flat`` in ``classes``; an unknown label names its sample and step."""
    pos = np.searchsorted(classes, flat)
    ok = (pos < len(classes))
    ok[ok] = classes[pos[ok]] == flat[ok]
    if not ok.all():
        j = int(np.flatnonzero(~ok)[0])
        ends = np.cumsum(lengths)
        i = int(np.searchsorted(ends, j, side="right"))
        t = j - (int(ends[i - 1]) if i else 0)
        raise ValueError(f"{what} has the label {_show(flat[j])} at sample {i}, step {t}, "
                         f"which is not one of the classes {classes.tolist()}.")
    return pos.astype(np.intp)


def _show(value):
    """repr of a label, as the user wrote it (a NumPy scalar as its Python value)."""
    return repr(value.item() if isinstance(value, np.generic) else value)
