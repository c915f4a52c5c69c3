"""RNNSequenceGenerator: a many-to-many next-token model that learns from text and writes it.

Text is tokenized as :class:`SequenceVectorizer` does and laid end to end as one
:class:`skrnn._tbptt.Corpus`; training streams it in truncated-BPTT windows
(:class:`skrnn._tbptt.StreamBatches`) through the same fit and epoch loop as every
estimator. Prediction (``predict``, ``score``, ``generate``) reads each sequence from a
zero state, in windows whose final state is carried exactly into the next
(:func:`skrnn._tbptt.run_documents`); ``generate`` draws with :mod:`skrnn._sampling`.
"""

from collections import Counter
from numbers import Integral

import numpy as np
from sklearn.utils import check_random_state
from sklearn.utils.validation import check_is_fitted

from . import _tuning
from ._base import BaseRNN, TrainingData
from ._losses import log_softmax, sequence_cross_entropy
from ._params import check_bool, check_int, check_option, check_real
from ._sampling import check_sampling, join_until, sample
from ._tbptt import Corpus, StreamBatches, run_documents
from ._training import Progress
from ._validation import check_sequences, token_ids
from ._vectorizer import SequenceVectorizer, _check_documents

__all__ = ["RNNSequenceGenerator"]


def _is_text(X):
    """Whether X is raw text (a list of str), rather than an array of sequences."""
    if isinstance(X, (str, bytes)):
        return True  # rejected by _check_documents with a clear message
    if isinstance(X, np.ndarray):
        return X.dtype.kind in "USO" and X.ndim == 1
    try:
        first = X[0] if len(X) else ""  # an empty list is empty text
    except (TypeError, KeyError, IndexError):
        return False
    return isinstance(first, str)


# The token every unknown token becomes under handle_unknown="unknown". No analyzer of
# skrnn makes it from text: a character token is one character, and the default word
# pattern has no "<" or ">".
UNKNOWN = "<unk>"


def _encode_texts(analyze, texts, vocabulary, name):
    """Token ids of each text as one flat array and the lengths.

    A token outside ``vocabulary`` becomes its ``UNKNOWN`` entry, or raises without one.
    """
    parts, lengths = [], []
    missing = vocabulary.get(UNKNOWN, -1)
    for i, text in enumerate(texts):
        tokens = analyze(text)
        ids = np.fromiter((vocabulary.get(t, missing) for t in tokens), dtype=np.intp,
                          count=len(tokens))
        if ids.size and ids.min() < 0:
            j = int(np.argmax(ids < 0))
            raise ValueError(
                f"Unknown token {tokens[j]!r} in text {i} (token {j}): {name} was fitted "
                f"on a vocabulary of {len(vocabulary)} tokens that does not contain it."
            )
        parts.append(ids)
        lengths.append(len(ids))
    return np.concatenate(parts), np.array(lengths, dtype=np.intp)


def _learn_vocabulary(vectorizer, texts, name, unknown, min_frequency):
    """Token -> id of the training texts; with ``unknown``, tokens rarer than
    ``min_frequency`` are left out and ``UNKNOWN`` is the last id."""
    try:
        token_lists = [vectorizer.build_analyzer()(text) for text in texts]
        counts = Counter(token for tokens in token_lists for token in tokens)
        vocabulary = vectorizer.fit(texts).vocabulary_
    except ValueError as exc:
        if "empty vocabulary" in str(exc):
            raise ValueError(f"{name} got text without any token: {exc}") from None
        raise
    if not unknown:
        return {str(token): int(index) for token, index in vocabulary.items()}
    if UNKNOWN in vocabulary:
        raise ValueError(f"{name}: the text has the token {UNKNOWN!r}, which "
                         "handle_unknown='unknown' reserves; set handle_unknown='error'.")
    kept = sorted((t for t in vocabulary if counts[t] >= min_frequency), key=vocabulary.get)
    if not kept:
        raise ValueError(f"{name}: no token occurs at least min_frequency={min_frequency} "
                         "times. Lower min_frequency.")
    return {**{str(token): i for i, token in enumerate(kept)}, UNKNOWN: len(kept)}


def _check_prefix_ids(prefix, n_features):
    ids = np.asarray(prefix)
    if ids.ndim != 1 or (ids.size and ids.dtype.kind not in "iu"):
        raise ValueError(
            "prefix must be a string (for a model fitted on text) or a 1-D sequence of "
            f"integer token ids; got {type(prefix).__name__} of shape {ids.shape}."
        )
    ids = ids.astype(np.intp)
    bad = (ids < 0) | (ids >= n_features)
    if bad.any():
        j = int(np.argmax(bad))
        raise ValueError(f"Unknown token id {ids[j]} at position {j} of the prefix: ids "
                         f"are in [0, {n_features}).")
    return ids


def _encode_sequences(X, n_features, name):
    """Flat ids, lengths and vocabulary size of token-id (or one-hot) sequences."""
    seqs = check_sequences(X, n_features=n_features, dtype=np.float64, estimator_name=name)
    real = np.arange(seqs.data.shape[1])[None, :] < seqs.lengths[:, None]
    ids = token_ids(seqs, name, " Pass token ids (an integer array) or text.")
    return ids[real].astype(np.intp), seqs.lengths.astype(np.intp), seqs.n_features


class RNNSequenceGenerator(BaseRNN):
    """Recurrent next-token model of text (or token-id sequences) that also writes it.

    A many-to-many recurrent network reads a sequence one token at a time and, at
    every step, outputs the distribution of the next token: the character-level
    language model of char-rnn and min-char-rnn, as a scikit-learn estimator. It
    learns from raw text (tokenized with the same tokenization as
    :class:`SequenceVectorizer`: characters by default, words as an option) or from
    already-encoded sequences (token ids or one-hot rows, for instance the output of a
    :class:`SequenceVectorizer` step in a :class:`~sklearn.pipeline.Pipeline`).

    Short documents (at most ``bptt_steps`` predictions) are each learned from their
    own start. Longer documents are learned by truncated backpropagation through
    time: cut into windows of ``bptt_steps`` tokens, many streams side by side as
    the minibatch, the hidden state carried from window to window within a document
    and reset between documents. A share ``state_reset_proba`` of the windows starts
    from a zero state instead, and window boundaries move from epoch to epoch, so that
    the model also does well from a fresh start, which is how :meth:`generate`,
    :meth:`predict` and :meth:`score` read every sequence. See the user guide
    (``docs/generator.md``).

    Parameters
    ----------
    cell : {"rnn", "lstm", "gru"}, default="gru"
        Recurrent cell: vanilla (Elman) with ``activation``, LSTM or GRU.
    hidden_layer_sizes : tuple of int, default=(256,)
        Hidden units of each stacked recurrent layer.
    activation : {"tanh", "relu"}, default="tanh"
        Nonlinearity of the vanilla cell. Ignored by LSTM and GRU.
    solver : {"adam", "sgd", "adagrad", "rmsprop"}, default="adam"
        Optimizer.
    alpha : float, default=0.0
        L2 penalty on the weights, ``0.5 * alpha * ||W||^2 / n_windows`` added to the
        loss of each minibatch of ``n_windows`` windows.
    batch_size : int or "auto", default=32
        Windows per minibatch: the number of parallel streams (lanes) of truncated
        BPTT. ``"auto"`` is ``min(200, n_windows)``.
    learning_rate : {"constant", "adaptive", "cosine"}, default="cosine"
        Learning-rate schedule. ``"constant"`` keeps ``learning_rate_init``;
        ``"adaptive"`` divides it by 5 each time the monitored value (validation score
        with ``early_stopping``, else training loss) does not improve by ``tol`` for
        ``n_iter_no_change`` epochs, and stops at the third such stall; ``"cosine"``
        anneals it to 0 along half a cosine over ``max_iter`` epochs or ``max_time``
        seconds when it is set, whichever ends first. With
        every schedule, a training loss that rises for 3 epochs in a row, or that
        stalls in a fit that got nowhere, rolls back to the best weights and divides
        the rate by 5.
    learning_rate_init : float, default=0.003
        Step size of the optimizer.
    max_iter : int, default=200
        Maximum number of epochs. An epoch is one pass over every predicted token of
        every document (for one long text: all of it, once).
    clip_norm : float or None, default=5.0
        Rescale the gradient when its global norm exceeds this; ``None`` disables.
    tol : float, default=1e-4
        Improvement of the epoch loss (or validation score) below which an epoch
        counts as no improvement.
    n_iter_no_change : int, default=10
        Stop after this many epochs without improvement.
    early_stopping : bool, default=False
        Hold out a validation set, score it after every epoch (mean log-likelihood per
        token, read with carried state) and stop when it stops improving; the best
        weights are kept. With at least ``1 / validation_fraction`` documents, a
        random ``validation_fraction`` of them is held out; with fewer (one long text,
        say), the last ``validation_fraction`` of the tokens of every document. A
        held-out part with no token to predict (every piece shorter than 2 tokens) is
        an error.
    validation_fraction : float, default=0.1
        Share of the documents (or tokens) held out for early stopping.
    warm_start : bool, default=False
        Continue from the previous fit's weights, optimizer state and vocabulary. New
        text must use only known tokens.
    random_state : int, RandomState instance or None, default=None
        Seed of the weight initialisation, the windows, the shuffling and the
        validation split. The same integer gives the same model, unless
        ``max_time`` ends training (which depends on the machine's speed).
    verbose : int, default=0
        Print one line per epoch (loss, validation score, seconds) and, during long
        epochs, a progress line every 10 seconds with tokens per second, the running
        loss and the estimated time left.
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
    bptt_steps : int, default=64
        Window length of truncated BPTT: gradients flow back at most this many steps,
        while the state carries context further.
    state_reset_proba : float, default=0.1
        Probability that a window of a long document starts from a zero state instead
        of the state its stream carried. ``0`` is classic truncated BPTT (the model can
        then be poor from a fresh start); ``1`` trains every window from scratch (the
        model then never learns to use context older than a window).
    max_time : float or None, default=None
        Time budget of a fit, in seconds: training ends after the first minibatch that
        finishes past it (the last epoch is then partial and counts in ``n_iter_``).
        ``None``: no limit.
    analyzer : {"char", "word"} or callable, default="char"
        Tokenization of text input, as in :class:`SequenceVectorizer`. Generated
        tokens are joined with ``""`` for ``"char"`` and with ``" "`` otherwise.
    lowercase : bool, default=False
        Lowercase text before tokenizing.
    token_pattern : str, default=r"(?u)\\b\\w+\\b"
        Regular expression of a word, for ``analyzer="word"``.
    tokenizer : callable, default=None
        Splits a document into words, overriding ``token_pattern``
        (``analyzer="word"`` only).
    handle_unknown : {"unknown", "error"}, default="unknown"
        Text only. ``"unknown"``: the vocabulary has one more token, ``"<unk>"`` (the
        last id), which every token outside the vocabulary becomes at fit (tokens
        rarer than ``min_frequency``), in warm-start fits, in ``predict``, ``score``
        and ``loss`` and in a prefix; so a held-out text with a character the
        training text lacks still gets a finite score (its likelihood is the model's
        probability of an unknown token). ``generate`` never draws it. ``"error"``:
        an unknown token raises and names it.
    min_frequency : int, default=1
        With ``handle_unknown="unknown"``, tokens that occur fewer times than this in
        the training text are trained as ``"<unk>"`` (so that its probability is
        learned from rare tokens); 1 keeps every token.
    vocab_size : int or None, default=None
        For token-id input: the size of the vocabulary. ``None`` learns it at fit as
        the largest id + 1. Ignored for text input.
    dtype : {np.float32, np.float64}, default=np.float32
        Floating point type of weights and computations.

    Attributes
    ----------
    classes_ : ndarray of shape (n_classes,)
        The tokens, ordered by id: strings for a model fitted on text, the ids
        ``0, ..., n_classes - 1`` for a model fitted on token ids.
    vocabulary_ : dict of str to int or None
        Map from token to id for a model fitted on text (with ``"<unk>"`` under
        ``handle_unknown="unknown"``), else None.
    first_token_proba_ : ndarray of shape (n_classes,)
        Share of the training documents that start with each token: the
        distribution of the next token after an empty sequence.
    n_features_in_ : int
        Size of the input vocabulary (``n_classes``).
    params_ : dict of str to ndarray
        Weights: ``"l{k}.W_x"`` (n_in, G*H), ``"l{k}.W_h"`` (H, G*H), ``"l{k}.b"``
        (G*H,) per layer ``k`` (``G`` gates: 1 rnn, 4 lstm, 3 gru; ``"l{k}.b_hn"``
        (H,) for a GRU), and the output layer ``"W_y"`` (n_last, n_classes),
        ``"b_y"`` (n_classes,).
    n_iter_ : int
        Epochs run (the last one may be partial when ``max_time`` stopped it).
    t_ : int
        Windows seen by the optimizer.
    loss_curve_ : list of float
        Mean training loss per predicted token (nats) of each epoch.
    best_loss_ : float or None
        Lowest epoch loss; ``None`` with ``early_stopping``.
    validation_scores_ : list of float or None
        Mean validation log-likelihood per token after each epoch with
        ``early_stopping``, else ``None``.
    best_validation_score_ : float or None
        Best validation score with ``early_stopping``, else ``None``.

    See Also
    --------
    SequenceVectorizer : The tokenization this estimator reuses.
    RNNClassifier : Many-to-one classification of sequences.

    Notes
    -----
    Text input is a list of strings. Sequence input is an integer array
    ``(n_samples, n_timesteps)`` of token ids end-padded with -1, or one-hot float
    rows ``(n_samples, n_timesteps, n_tokens)`` end-padded with all-NaN steps. Text in
    gives tokens out; ids (or one-hot rows) in give ids out.

    The first token of a sequence is never predicted by the network (there is nothing
    before it): losses and scores average over the other tokens, and the next token
    after an empty sequence follows ``first_token_proba_``.

    Examples
    --------
    >>> from skrnn import RNNSequenceGenerator
    >>> texts = ["hey how are you", "good i am fine", "have a nice day"]
    >>> gen = RNNSequenceGenerator(random_state=0).fit(texts)
    >>> gen.generate("good", n_tokens=10, temperature=0)
    'good i am fine'
    >>> gen.predict(["good i am fin"])
    array(['e'], dtype='<U5')
    >>> gen.predict_proba(["good i am fin"]).shape == (1, len(gen.classes_))
    True
    >>> bool(gen.score(texts) > -0.1)  # mean log-likelihood per predicted token
    True
    """

    _head = "many_to_many"

    def __init__(self, cell="gru", hidden_layer_sizes=(256,), activation="tanh", solver="adam",
                 alpha=0.0, batch_size=32,
                 learning_rate="cosine", learning_rate_init=0.003, max_iter=200,
                 clip_norm=5.0, tol=1e-4, n_iter_no_change=10, early_stopping=False,
                 validation_fraction=0.1, warm_start=False, random_state=None, verbose=0,
                 momentum=0.9, nesterovs_momentum=True, beta_1=0.9, beta_2=0.999,
                 epsilon=1e-8, rho=0.9, bptt_steps=64, state_reset_proba=0.1, max_time=None,
                 analyzer="char", lowercase=False, token_pattern=r"(?u)\b\w+\b",
                 tokenizer=None, handle_unknown="unknown", min_frequency=1, vocab_size=None,
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
        )
        self.bptt_steps = bptt_steps
        self.state_reset_proba = state_reset_proba
        self.max_time = max_time
        self.analyzer = analyzer
        self.lowercase = lowercase
        self.token_pattern = token_pattern
        self.tokenizer = tokenizer
        self.handle_unknown = handle_unknown
        self.min_frequency = min_frequency

    # ------------------------------------------------------------ input


    def _batch_size(self, n_windows):
        if isinstance(self.batch_size, str):
            return min(200, n_windows)
        return min(self.batch_size, n_windows)

    def _vectorizer(self):
        return SequenceVectorizer(analyzer=self.analyzer, lowercase=self.lowercase,
                                  token_pattern=self.token_pattern, tokenizer=self.tokenizer)


    def _validate_params(self):
        super()._validate_params()
        check_bool("early_stopping", self.early_stopping)  # no "auto": windows, not samples
        check_int("bptt_steps", self.bptt_steps, 1)
        check_real("state_reset_proba", self.state_reset_proba, 0, 1)
        check_real("max_time", self.max_time, 0, low_open=True, allow_none=True)
        check_option("handle_unknown", self.handle_unknown, ("unknown", "error"))
        check_int("min_frequency", self.min_frequency, 1)
        self._vectorizer().build_analyzer()  # validates analyzer, lowercase, token_pattern

    def _encode(self, X):
        """Validated input of a fitted model: (corpus, is_text)."""
        name = type(self).__name__
        if _is_text(X):
            texts = _check_documents(X)
            if self.vocabulary_ is None:
                raise ValueError(f"This {name} was fitted on token-id sequences; pass token "
                                 "ids (an integer array), not text.")
            analyze = self._vectorizer().build_analyzer()
            tokens, lengths = _encode_texts(analyze, texts, self.vocabulary_, name)
            return Corpus(tokens, lengths, self.n_features_in_), True
        tokens, lengths, _ = _encode_sequences(X, self.n_features_in_, name)
        return Corpus(tokens, lengths, self.n_features_in_), False

    # ------------------------------------------------------------ fit

    def fit(self, X, y=None):
        """Learn to predict every token of ``X`` from the tokens before it.

        Parameters
        ----------
        X : list of str, or array-like of shape (n_samples, n_timesteps[, n_tokens])
            Text documents, or token ids (integer, end-padded with -1), or one-hot
            rows (float, end-padded with all-NaN steps).
        y : None
            Ignored: the targets are ``X`` shifted by one token.

        Returns
        -------
        self : RNNSequenceGenerator
            The fitted model.
        """
        return self._fit(X)

    def _prepare(self, X, y, sample_weight, *, partial, classes, continuing):
        """The documents as one Corpus (the inputs are the targets), and the vocabulary."""
        if continuing:
            self._check_same_architecture()
        tokens, lengths, vocabulary, classes = self._tokens(X, continuing)
        if not (lengths >= 2).any():
            raise ValueError(
                f"{type(self).__name__} has nothing to learn: every sequence has fewer than "
                "2 tokens (a model learns each token from the tokens before it). Got "
                f"sequence lengths {lengths[:10].tolist()}"
                f"{' ...' if len(lengths) > 10 else ''}."
            )
        n_classes = len(classes)
        corpus = Corpus(tokens, lengths, n_classes)
        first = np.bincount(tokens[corpus.starts[lengths > 0]], minlength=n_classes)
        attrs = {"classes_": classes, "vocabulary_": vocabulary, "_n_outputs_": n_classes,
                 "first_token_proba_": first / first.sum()}
        # Early stopping with fewer than 1 / validation_fraction documents (one long text,
        # say) validates on the tail of every document; otherwise on whole documents.
        holdout = None
        if self.early_stopping and len(corpus) * self.validation_fraction < 1:
            corpus, holdout = corpus.split_tails(self.validation_fraction)
        return TrainingData(corpus, None, None, attrs, holdout)

    def _tokens(self, X, continuing):
        """(flat token ids, lengths, vocabulary or None, classes_) of the training input."""
        name = type(self).__name__
        if _is_text(X):
            texts = _check_documents(X)
            if continuing and self.vocabulary_ is None:
                raise ValueError(f"warm_start: this {name} was fitted on token ids; "
                                 "continue with token ids, not text.")
            vocabulary = self.vocabulary_ if continuing else _learn_vocabulary(
                self._vectorizer(), texts, name, self.handle_unknown == "unknown",
                self.min_frequency)
            analyze = self._vectorizer().build_analyzer()
            tokens, lengths = _encode_texts(analyze, texts, vocabulary, name)
            classes = np.array(sorted(vocabulary, key=vocabulary.get), dtype=str)
            return tokens, lengths, vocabulary, classes
        if continuing and self.vocabulary_ is not None:
            raise ValueError(f"warm_start: this {name} was fitted on text; continue with "
                             "text, not token ids.")
        known = self.n_features_in_ if continuing else self.vocab_size
        tokens, lengths, n_classes = _encode_sequences(X, known, name)
        return tokens, lengths, None, np.arange(n_classes)

    def _batches(self, data, index):
        corpus = data.seqs if len(index) == len(data.seqs) else data.seqs.take(index)
        if corpus.n_predictions == 0:
            raise ValueError(
                f"{type(self).__name__}: the training part of the data has no token to "
                "predict (early_stopping held out every sequence with 2 tokens or more). "
                "Lower validation_fraction or set early_stopping=False."
            )
        return StreamBatches(corpus, self.bptt_steps, self._batch_size(corpus.n_predictions),
                             self.state_reset_proba)

    def _progress(self):
        return Progress(self.verbose, self.max_time, self.max_iter, in_epoch=True,
                        interval=_tuning.PROGRESS_INTERVAL)

    def _check_validation_set(self, val):
        if val.seqs.n_predictions == 0:
            raise ValueError(
                f"{type(self).__name__}: early_stopping's validation part has no token to "
                "predict: every held-out sequence has fewer than 2 tokens (with fewer than "
                "1 / validation_fraction sequences, the last validation_fraction of each "
                "one is held out). Raise validation_fraction, give more or longer text, or "
                "set early_stopping=False."
            )

    def _score_validation(self, val, net, params):
        # log p of every held-out token, each document read from a zero state
        logp = run_documents(net, params, val.seqs, log_likelihood=True)[1]
        return self._validation_score(logp, None, None)

    def _validation_score(self, outputs, y, sample_weight):
        return float(outputs.mean()) if outputs.size else -np.inf

    def _n_outputs(self):
        return len(self.classes_)

    def _loss(self, outputs, y, sample_weight):
        return sequence_cross_entropy(outputs, y)

    def _net(self, head):
        return self._network(head=head)

    # ------------------------------------------------------------ prediction

    def _next_token_log_proba(self, corpus):
        """log p(next token) after each document: (n_documents, n_classes) float64."""
        net = self._net("many_to_one")
        finals, _ = run_documents(net, self.params_, corpus, log_likelihood=False)
        h = finals[net.layer_names()[-1]][0]
        logp = log_softmax((h @ self.params_["W_y"] + self.params_["b_y"]).astype(np.float64))
        empty = corpus.lengths == 0
        if empty.any():
            with np.errstate(divide="ignore"):
                logp[empty] = np.log(self.first_token_proba_)
        return logp

    def predict(self, X):
        """The most likely next token after each sequence.

        Parameters
        ----------
        X : list of str, or array-like of shape (n_samples, n_timesteps[, n_tokens])
            Text, or token ids (-1 end-padded), or one-hot rows (NaN end-padded).

        Returns
        -------
        y : ndarray of shape (n_samples,)
            Tokens (str) for text input, token ids for sequence input.
        """
        check_is_fitted(self)
        corpus, is_text = self._encode(X)
        best = self._next_token_log_proba(corpus).argmax(axis=1)
        return self.classes_[best] if is_text else best

    def predict_proba(self, X):
        """Distribution of the next token after each sequence.

        Parameters
        ----------
        X : list of str, or array-like of shape (n_samples, n_timesteps[, n_tokens])
            Text, or token ids (-1 end-padded), or one-hot rows (NaN end-padded).

        Returns
        -------
        proba : ndarray of shape (n_samples, n_classes)
            Columns follow ``classes_``.
        """
        check_is_fitted(self)
        corpus, _ = self._encode(X)
        return np.exp(self._next_token_log_proba(corpus))

    def predict_log_proba(self, X):
        """Logarithm of :meth:`predict_proba`, computed stably.

        Parameters
        ----------
        X : list of str, or array-like of shape (n_samples, n_timesteps[, n_tokens])
            Text, or token ids (-1 end-padded), or one-hot rows (NaN end-padded).

        Returns
        -------
        log_proba : ndarray of shape (n_samples, n_classes)
            Columns follow ``classes_``.
        """
        check_is_fitted(self)
        corpus, _ = self._encode(X)
        return self._next_token_log_proba(corpus)

    def _token_log_likelihood(self, X):
        corpus, _ = self._encode(X)
        _, logp = run_documents(self._net("many_to_many"), self.params_, corpus,
                                 log_likelihood=True)
        return corpus, logp

    def score(self, X, y=None):
        """Mean log-likelihood per predicted token, in nats (higher is better).

        Each sequence is read from a zero state; every token but its first is
        predicted from the tokens before it. ``-score`` is the cross-entropy loss
        (:meth:`loss`), so ``GridSearchCV`` and ``cross_val_score`` can use it as is.

        Parameters
        ----------
        X : list of str, or array-like of shape (n_samples, n_timesteps[, n_tokens])
            Text, or token ids (-1 end-padded), or one-hot rows (NaN end-padded).
        y : None
            Ignored.

        Returns
        -------
        score : float
            ``mean_t log p(x_t | x_<t)`` over the predicted tokens of all sequences.
        """
        check_is_fitted(self)
        _, logp = self._token_log_likelihood(X)
        if logp.size == 0:
            raise ValueError("score needs a sequence of at least 2 tokens: there is no "
                             "token to predict in X.")
        return float(logp.mean())

    def loss(self, X, *, unit="nats", per_token=False):
        """Cross-entropy of ``X`` under the model: nats or bits per predicted token.

        With ``unit="bits"`` and a character model this is the usual *bits per
        character*; ``loss(X) == -score(X)``.

        Parameters
        ----------
        X : list of str, or array-like of shape (n_samples, n_timesteps[, n_tokens])
            Text, or token ids (-1 end-padded), or one-hot rows (NaN end-padded).
        unit : {"nats", "bits"}, default="nats"
            Natural logarithm, or base 2.
        per_token : bool, default=False
            Return each token's loss instead of the mean.

        Returns
        -------
        loss : float, or list of ndarray
            The mean ``-log p(x_t | x_<t)`` over all predicted tokens; with
            ``per_token``, one array per sequence, of length ``n_tokens - 1`` (its
            ``t - 1``-th entry is the loss of token ``t``).
        """
        check_is_fitted(self)
        if unit not in ("nats", "bits"):
            raise ValueError(f"unit must be 'nats' or 'bits', got {unit!r}.")
        corpus, logp = self._token_log_likelihood(X)
        nll = -logp / (np.log(2) if unit == "bits" else 1.0)
        if per_token:
            n_pred = np.maximum(corpus.lengths - 1, 0)
            return np.split(nll, np.cumsum(n_pred)[:-1])
        if nll.size == 0:
            raise ValueError("loss needs a sequence of at least 2 tokens: there is no token "
                             "to predict in X.")
        return float(nll.mean())


    def generate(self, prefix, n_tokens, temperature=1.0, top_k=None, random_state=None,
                 stop=None):
        """Continue ``prefix`` by ``n_tokens`` tokens, each drawn from the model.

        The network reads the prefix from a fresh (zero) state, then repeatedly draws
        the next token from ``p_i = exp(z_i / T) / sum_j exp(z_j / T)``, where ``z``
        are the output logits (``log p`` of the model) and ``T`` the temperature, and
        feeds it back in.

        Parameters
        ----------
        prefix : str, or array-like of int
            Text for a model fitted on text (every token must be in the vocabulary),
            or token ids. May be empty: the first token then follows
            ``first_token_proba_`` (how the training documents start).
        n_tokens : int
            Number of tokens to add (>= 0).
        temperature : float, default=1.0
            ``T`` above: 1 samples from the model, lower is more conservative, higher
            more random; ``0`` is greedy (always the most likely token, ties to the
            lowest id).
        top_k : int or None, default=None
            Draw only among the ``top_k`` most likely tokens (ties to the lowest ids).
        random_state : int, RandomState instance or None, default=None
            Seed of the draws: the same integer gives the same text.
        stop : str or int, default=None
            End early once the generated text contains this string (text) or this
            token id is generated (ids); it is included in the output.

        Returns
        -------
        sequence : str or ndarray of int
            The prefix followed by the generated tokens: a string for a text prefix
            (character tokens joined with ``""``, word tokens with ``" "``), an array
            of ids for an id prefix.
        """
        check_is_fitted(self)
        check_sampling(n_tokens, temperature, top_k)
        is_text = isinstance(prefix, str)
        ids = self._prefix_ids(prefix, stop)
        rng = check_random_state(random_state)
        net = self._net("many_to_one")
        params = self.params_
        if len(ids):
            corpus = Corpus(ids, [len(ids)], len(self.classes_))
            state, _ = run_documents(net, params, corpus, log_likelihood=False)
            logits = state[net.layer_names()[-1]][0] @ params["W_y"] + params["b_y"]
            logits = logits[0].astype(np.float64)
        else:
            state = None
            with np.errstate(divide="ignore"):
                logits = np.log(self.first_token_proba_)
        unknown = None if self.vocabulary_ is None else self.vocabulary_.get(UNKNOWN)
        tokens = sample(net, params, state, logits, n_tokens, temperature, top_k, rng,
                        exclude=unknown)
        if not is_text:
            out = []
            for token in tokens:
                out.append(token)
                if token == stop:
                    break
            return np.concatenate([ids, np.asarray(out, dtype=np.intp)])
        sep = "" if self.analyzer == "char" else " "
        text = join_until((self.classes_[t] for t in tokens), sep, stop)
        return prefix + (sep if prefix and text else "") + text

    def _prefix_ids(self, prefix, stop):
        """The prefix as token ids, and ``stop`` checked against it; for generate."""
        if isinstance(prefix, str):
            if self.vocabulary_ is None:
                raise ValueError(f"This {type(self).__name__} was fitted on token ids: the "
                                 "prefix must be a sequence of token ids, not a string.")
            if stop is not None and (not isinstance(stop, str) or not stop):
                raise ValueError(f"stop must be None or a non-empty string, got {stop!r}.")
            analyze = self._vectorizer().build_analyzer()
            return _encode_texts(analyze, [prefix], self.vocabulary_, type(self).__name__)[0]
        ids = _check_prefix_ids(prefix, self.n_features_in_)
        if stop is not None and (isinstance(stop, (bool, np.bool_))
                                 or not isinstance(stop, Integral)
                                 or not 0 <= stop < self.n_features_in_):
            raise ValueError(f"stop must be None or a token id in [0, "
                             f"{self.n_features_in_}), got {stop!r}.")
        return ids

    def __sklearn_tags__(self):
        tags = super().__sklearn_tags__()
        tags.input_tags.string = True
        tags.input_tags.two_d_array = False  # raw text: scikit-learn's common checks skip it
        tags.target_tags.required = False
        return tags


