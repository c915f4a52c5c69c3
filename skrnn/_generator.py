"""RNNSequenceGenerator: a many-to-many next-token model that learns from text and writes it.

Training data flow (one epoch)::

    texts --SequenceVectorizer analyzer--> token ids, one flat array for all documents
      _plan_epoch: cut every document into windows of bptt_steps predictions, deal the
                   windows to batch_size parallel lanes (streams)
      _iter_batches: step k of every lane is one row of minibatch k; the hidden state a
                     lane ends a window with is carried into its next window
                     (truncated BPTT), or reset to zero where a new piece starts
      network (head="many_to_many") -> sequence_cross_entropy at every real step

Prediction (``predict``, ``score``, ``generate``) reads each sequence from a zero
state, in windows whose final state is carried exactly into the next, so any length
fits in bounded memory (:func:`_run_documents`).
"""

import time
from numbers import Integral, Real

import numpy as np
from sklearn.utils import check_random_state
from sklearn.utils.validation import check_is_fitted

from . import _tuning
from ._base import BaseRNN, _check_int, _check_real
from ._losses import log_softmax, sequence_cross_entropy
from ._validation import Sequences, check_sequences, one_hot_steps
from ._vectorizer import SequenceVectorizer, _check_documents

__all__ = ["RNNSequenceGenerator"]



class _Corpus:
    """The documents of one fit as a flat array of token ids. Transient: never stored.

    Document ``i`` is ``tokens[starts[i] : starts[i] + lengths[i]]``. It quacks like
    :class:`skrnn._validation.Sequences` where :class:`BaseRNN` needs it (``len``,
    ``take``, ``n_features``, ``kind``), so the base class's epoch loop, validation
    split and warm start work on documents unchanged.
    """

    kind = "tokens"

    def __init__(self, tokens, lengths, n_features):
        self.tokens = np.asarray(tokens, dtype=np.intp)
        self.lengths = np.asarray(lengths, dtype=np.intp)
        self.starts = np.cumsum(self.lengths) - self.lengths
        self.n_features = int(n_features)
        self.monitor = None  # a _Progress during fit

    def __len__(self):
        return len(self.lengths)

    @property
    def n_predictions(self):
        """Tokens that have a token before them in their document: what the loss counts."""
        return int(np.maximum(self.lengths - 1, 0).sum())

    def take(self, index):
        index = np.asarray(index, dtype=np.intp)
        parts = [self.tokens[s : s + n] for s, n in zip(self.starts[index], self.lengths[index])]
        tokens = np.concatenate(parts) if parts else np.zeros(0, dtype=np.intp)
        sub = _Corpus(tokens, self.lengths[index], self.n_features)
        sub.monitor = self.monitor
        return sub


# ---------------------------------------------------------------------------
# Truncated BPTT: which windows an epoch trains on, and in which lane.


def _plan_epoch(lengths, bptt_steps, n_lanes, reset_proba, rng):
    """Cut documents into windows and deal them to ``n_lanes`` parallel lanes.

    A document of ``n`` tokens has ``n - 1`` predictions: the window of predictions
    ``[a, b)`` reads tokens ``a .. b-1`` and is scored on tokens ``a+1 .. b``.

    * A document with at most ``bptt_steps`` predictions is one window, learned from
      its own start.
    * A longer one starts with a window of a random length in ``[1, bptt_steps]`` (so
      window boundaries move from epoch to epoch), then windows of ``bptt_steps``.
    * A *piece* is a run of consecutive windows of one document trained with the state
      carried from window to window. A document's first window starts a piece; so does
      any other window with probability ``reset_proba``: there the state is reset to
      zero, which keeps fresh starts (what ``generate`` does) in the training
      distribution.
    * The pieces are shuffled and laid end to end, and that tape is cut into
      ``n_lanes`` lanes of (nearly) equal numbers of windows. A piece cut by a lane
      boundary continues, reset, at the head of the next lane.

    Returns a dict of arrays, one entry per window, sorted by (step, lane): ``doc``,
    ``begin`` (first prediction, within the document), ``length`` (predictions),
    ``lane``, ``step`` (the window's index in its lane: minibatch ``step`` holds it),
    ``reset`` (start from a zero state), and ``bounds``, where minibatch ``k`` is
    ``[bounds[k], bounds[k + 1])``.
    """
    S = int(bptt_steps)
    n_pred = np.maximum(np.asarray(lengths, dtype=np.intp) - 1, 0)
    docs = np.nonzero(n_pred > 0)[0]
    n_pred = n_pred[docs]
    long_doc = n_pred > S
    # first window: [0, first) with first random in [1, S] for long documents
    first = np.where(long_doc, rng.integers(1, S + 1, size=len(docs)), n_pred)
    n_windows = 1 + -(-(n_pred - first) // S)  # 1 + ceil((n_pred - first) / S)
    total = int(n_windows.sum())
    doc = np.repeat(docs, n_windows)
    k = np.arange(total) - np.repeat(np.cumsum(n_windows) - n_windows, n_windows)
    first_w = np.repeat(first, n_windows)
    begin = np.where(k == 0, 0, first_w + (k - 1) * S)
    end = np.minimum(first_w + k * S, np.repeat(n_pred, n_windows))
    reset = (k == 0) | (rng.random(total) < reset_proba)

    # pieces in a random order, each keeping its windows in document order
    piece = np.cumsum(reset) - 1
    rank = np.empty(piece[-1] + 1, dtype=np.intp)
    rank[rng.permutation(len(rank))] = np.arange(len(rank))
    tape = np.lexsort((np.arange(total), rank[piece]))
    n_lanes = max(1, min(int(n_lanes), total))
    position = np.empty(total, dtype=np.intp)
    position[tape] = np.arange(total)
    lane = position * n_lanes // total
    lane_start = -(-np.arange(n_lanes) * total // n_lanes)  # first tape position of each lane
    step = position - lane_start[lane]
    reset |= step == 0

    order = np.lexsort((lane, step))
    plan = {"doc": doc, "begin": begin, "length": end - begin, "lane": lane, "step": step,
            "reset": reset}
    plan = {key: value[order] for key, value in plan.items()}
    plan["bounds"] = np.searchsorted(plan["step"], np.arange(plan["step"][-1] + 2))
    plan["n_lanes"] = n_lanes
    return plan


def _window_arrays(tokens, flat_begin, length):
    """Inputs ``x`` (ids, padding 0) and targets ``y`` (-1 on padding) of windows."""
    T = int(length.max())
    steps = np.arange(T)
    pos = flat_begin[:, None] + steps
    real = steps < length[:, None]
    last = len(tokens) - 1
    x = np.where(real, tokens[np.minimum(pos, last)], 0)
    y = np.where(real, tokens[np.minimum(pos + 1, last)], -1)
    return x, y


def _epoch_windows(corpus, bptt_steps, n_lanes, reset_proba, rng):
    """Minibatches of one epoch: ``(lanes, x, y, length, reset)`` per step.

    ``x`` (n, T) token ids padded with 0, ``y`` (n, T) next-token targets padded with
    -1, ``lanes`` the lane of each row (whose state to carry), ``reset`` the rows that
    start from a zero state. Also used by ``benchmarks/shakespeare_vs_torch.py`` to
    feed PyTorch the very same batches.
    """
    plan = _plan_epoch(corpus.lengths, bptt_steps, n_lanes, reset_proba, rng)
    bounds = plan["bounds"]
    for k in range(len(bounds) - 1):
        rows = slice(bounds[k], bounds[k + 1])
        length = plan["length"][rows]
        flat_begin = corpus.starts[plan["doc"][rows]] + plan["begin"][rows]
        x, y = _window_arrays(corpus.tokens, flat_begin, length)
        yield plan["lane"][rows], x, y, length, plan["reset"][rows]


# ---------------------------------------------------------------------------
# Reading whole documents (prediction, scoring, validation)


def _run_documents(net, params, corpus, log_likelihood, window=None):
    """Read each document from a zero state, ``window`` steps at a time, state carried.

    With ``log_likelihood``, the documents are read up to their last-but-one token and
    the result is ``(final_states, logp)`` where ``logp`` (n_predictions,) holds
    ``log p(token_t | tokens < t)`` of every token but the first of each document, in
    document order. Otherwise every token is read and ``logp`` is None. The final
    states are a dict layer name -> tuple of (n_documents, H) arrays.

    Carrying the state from window to window makes this exact: the result does not
    depend on ``window`` (see ``test_windowed_reading_is_exact``).
    """
    lengths = corpus.lengths - 1 if log_likelihood else corpus.lengths
    lengths = np.maximum(lengths, 0)
    n_docs = len(lengths)
    dtype = params["W_y"].dtype
    finals = {name: tuple(np.zeros((n_docs, H), dtype=dtype) for _ in range(net.cell.n_states))
              for name, H in zip(net.layer_names(), net.hidden_sizes)}
    logp = np.empty(int(lengths.sum()), dtype=np.float64) if log_likelihood else None
    out_start = np.cumsum(lengths) - lengths
    T_max = int(lengths.max()) if n_docs else 0
    window = max(1, min(_tuning.EVAL_WINDOW if window is None else window, T_max))
    width = max(net.hidden_sizes) * net.cell.n_gates + (net.n_outputs if log_likelihood else 0)
    group = int(max(1, _tuning.PREDICT_CHUNK_ELEMENTS // (window * width)))
    order = np.argsort(-lengths, kind="stable")  # similar lengths share a group
    for g in range(0, n_docs, group):
        docs = order[g : g + group]
        state = None
        for w0 in range(0, int(lengths[docs[0]]), window):
            length = np.clip(lengths[docs] - w0, 0, window)
            x, y = _window_arrays(corpus.tokens, corpus.starts[docs] + w0, length)
            logits, state = net.forward(params, Sequences(x, length, "index", net.n_inputs),
                                        state)
            if log_likelihood:
                lp = log_softmax(logits.astype(np.float64))
                picked = np.take_along_axis(lp, np.maximum(y, 0)[..., None], axis=-1)[..., 0]
                real = y >= 0
                rows, cols = np.nonzero(real)
                logp[out_start[docs][rows] + w0 + cols] = picked[real]
        if state is not None:
            for name, states in state.items():
                for j, s in enumerate(states):
                    finals[name][j][docs] = s
    return finals, logp


class _Progress:
    """Progress lines (tokens/s, loss, ETA) and the time budget of one fit."""

    def __init__(self, verbose, max_time, n_epochs):
        self.verbose = verbose
        self.start = time.perf_counter()
        self.deadline = None if max_time is None else self.start + max_time
        self.max_time = max_time
        self.n_epochs = n_epochs  # epochs this fit may run
        self.epoch = 0
        self.tokens = 0  # predicted tokens trained on in this fit
        self.last_print = self.start

    def start_epoch(self, epoch_tokens):
        self.epoch += 1
        self.epoch_tokens = epoch_tokens
        self.epoch_done = 0
        self.loss_sum = 0.0

    def batch_done(self, loss, n_tokens):
        """Count a minibatch; print a line now and then; True when time is up."""
        self.epoch_done += n_tokens
        self.tokens += n_tokens
        self.loss_sum += loss * n_tokens
        now = time.perf_counter()
        out_of_time = self.deadline is not None and now >= self.deadline
        if self.verbose and (now - self.last_print >= _tuning.PROGRESS_INTERVAL or out_of_time):
            self.last_print = now
            rate = self.tokens / max(now - self.start, 1e-9)
            left = (self.n_epochs - self.epoch + 1) * self.epoch_tokens - self.epoch_done
            eta = left / max(rate, 1e-9)
            if self.deadline is not None:
                eta = min(eta, max(self.deadline - now, 0.0))
            print(f"Epoch {self.epoch}: {100 * self.epoch_done / self.epoch_tokens:5.1f}%, "
                  f"loss = {self.loss_sum / max(self.epoch_done, 1):.4f}, "
                  f"{rate:,.0f} tokens/s, ETA {_format_seconds(eta)}", flush=True)
            if out_of_time:
                print(f"Time budget max_time={self.max_time:g}s used up. Stopping.", flush=True)
        return out_of_time


def _format_seconds(seconds):
    seconds = int(seconds + 0.5)  # nearest second (seconds >= 0), a Python int for :02d
    hours, rest = divmod(seconds, 3600)
    minutes, secs = divmod(rest, 60)
    return f"{hours}h{minutes:02d}m{secs:02d}s" if hours else f"{minutes}m{secs:02d}s"


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
    cell : {"rnn", "lstm", "gru"}, default="rnn"
        Recurrent cell: vanilla (Elman) with ``activation``, LSTM or GRU.
    hidden_layer_sizes : tuple of int, default=(64,)
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
    learning_rate_init : float, default=0.01
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
        Map from token to id for a model fitted on text, else None.
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
    array(['e'], dtype='<U1')
    >>> gen.predict_proba(["good i am fin"]).shape == (1, len(gen.classes_))
    True
    >>> bool(gen.score(texts) > -0.1)  # mean log-likelihood per predicted token
    True
    """

    _head = "many_to_many"

    def __init__(self, cell="rnn", hidden_layer_sizes=(64,), activation="tanh", solver="adam",
                 alpha=0.0, batch_size=32, learning_rate_init=0.01, max_iter=200,
                 clip_norm=5.0, tol=1e-4, n_iter_no_change=10, early_stopping=False,
                 validation_fraction=0.1, warm_start=False, random_state=None, verbose=0,
                 momentum=0.9, nesterovs_momentum=True, beta_1=0.9, beta_2=0.999,
                 epsilon=1e-8, rho=0.9, bptt_steps=64, state_reset_proba=0.1, max_time=None,
                 analyzer="char", lowercase=False, token_pattern=r"(?u)\b\w+\b",
                 tokenizer=None, vocab_size=None, dtype=np.float32):
        super().__init__(
            cell=cell, hidden_layer_sizes=hidden_layer_sizes, activation=activation,
            solver=solver, alpha=alpha, batch_size=batch_size,
            learning_rate_init=learning_rate_init, max_iter=max_iter, clip_norm=clip_norm,
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

    # ------------------------------------------------------------ input

    def _vectorizer(self):
        return SequenceVectorizer(analyzer=self.analyzer, lowercase=self.lowercase,
                                  token_pattern=self.token_pattern, tokenizer=self.tokenizer)

    def _validate_generator_params(self):
        _check_int("bptt_steps", self.bptt_steps, 1)
        _check_real("state_reset_proba", self.state_reset_proba, 0, 1)
        _check_real("max_time", self.max_time, 0, low_open=True, allow_none=True)
        self._vectorizer().build_analyzer()  # validates analyzer, lowercase, token_pattern

    @staticmethod
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

    def _encode_texts(self, texts, vocabulary):
        """Token ids of each text as one flat array and the lengths; unknown tokens raise."""
        analyze = self._vectorizer().build_analyzer()
        parts, lengths = [], []
        for i, text in enumerate(texts):
            tokens = analyze(text)
            ids = np.fromiter((vocabulary.get(t, -1) for t in tokens), dtype=np.intp,
                              count=len(tokens))
            if ids.size and ids.min() < 0:
                j = int(np.argmax(ids < 0))
                raise ValueError(
                    f"Unknown token {tokens[j]!r} in text {i} (token {j}): "
                    f"{type(self).__name__} was fitted on a vocabulary of {len(vocabulary)} "
                    "tokens that does not contain it."
                )
            parts.append(ids)
            lengths.append(len(ids))
        return np.concatenate(parts), np.array(lengths, dtype=np.intp)

    def _encode_sequences(self, X, n_features):
        """Flat ids and lengths of token-id (or one-hot) sequences; (n_features, lengths)."""
        seqs = check_sequences(X, n_features=n_features, dtype=np.float64,
                               estimator_name=type(self).__name__)
        real = np.arange(seqs.data.shape[1])[None, :] < seqs.lengths[:, None]
        if seqs.kind == "index":
            ids = seqs.data
        else:
            onehot = seqs.data
            bad = real & ~one_hot_steps(onehot)
            if bad.any():
                i, t = np.argwhere(bad)[0]
                raise ValueError(
                    f"{type(self).__name__} takes float sequences only as one-hot rows, but "
                    f"sample {i}, step {t} is not one-hot (a single 1, zeros elsewhere). Pass "
                    "token ids (an integer array) or text."
                )
            ids = onehot.argmax(axis=2)
        return ids[real].astype(np.intp), seqs.lengths.astype(np.intp), seqs.n_features

    def _encode(self, X):
        """Validated input of a fitted model: (corpus, is_text)."""
        if self._is_text(X):
            texts = _check_documents(X)
            if self.vocabulary_ is None:
                raise ValueError(
                    f"This {type(self).__name__} was fitted on token-id sequences; pass token "
                    "ids (an integer array), not text."
                )
            tokens, lengths = self._encode_texts(texts, self.vocabulary_)
            return _Corpus(tokens, lengths, self.n_features_in_), True
        tokens, lengths, _ = self._encode_sequences(X, self.n_features_in_)
        return _Corpus(tokens, lengths, self.n_features_in_), False

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
        self._validate_hyperparameters()
        self._validate_generator_params()
        continuing = self.warm_start and hasattr(self, "params_")
        name = type(self).__name__
        if continuing:
            self._check_same_architecture()
        if self._is_text(X):
            texts = _check_documents(X)
            if continuing:
                if self.vocabulary_ is None:
                    raise ValueError(f"warm_start: this {name} was fitted on token ids; "
                                     "continue with token ids, not text.")
                vocabulary = self.vocabulary_
            else:
                vocabulary = self._learn_vocabulary(texts)
            tokens, lengths = self._encode_texts(texts, vocabulary)
            n_classes = len(vocabulary)
            classes = np.array(sorted(vocabulary, key=vocabulary.get), dtype=str)
        else:
            if continuing and self.vocabulary_ is not None:
                raise ValueError(f"warm_start: this {name} was fitted on text; continue with "
                                 "text, not token ids.")
            known = self.n_features_in_ if continuing else self.vocab_size
            tokens, lengths, n_classes = self._encode_sequences(X, known)
            vocabulary, classes = None, np.arange(n_classes)
        if not (lengths >= 2).any():
            raise ValueError(
                f"{name} has nothing to learn: every sequence has fewer than 2 tokens (a "
                "model learns each token from the tokens before it). Got sequence lengths "
                f"{lengths[:10].tolist()}{' ...' if len(lengths) > 10 else ''}."
            )
        corpus = _Corpus(tokens, lengths, n_classes)
        first = np.bincount(tokens[corpus.starts[lengths > 0]], minlength=n_classes)
        attrs = {"classes_": classes, "vocabulary_": vocabulary, "_n_outputs_": n_classes,
                 "first_token_proba_": first / first.sum()}
        corpus, groups = self._with_validation_split(corpus)
        corpus.monitor = _Progress(self.verbose, self.max_time, self.max_iter)
        return self._train(corpus, groups, None, attrs, continuing, incremental=False)

    def _learn_vocabulary(self, texts):
        try:
            vocabulary = self._vectorizer().fit(texts).vocabulary_
        except ValueError as exc:
            if "empty vocabulary" in str(exc):
                raise ValueError(f"{type(self).__name__} got text without any token: "
                                 f"{exc}") from None
            raise
        return {str(token): int(index) for token, index in vocabulary.items()}

    def _with_validation_split(self, corpus):
        """(corpus, groups) for the base's epoch loop; groups marks a fixed validation part.

        Without early stopping, groups is all zero and unused. With it and fewer than
        ``1 / validation_fraction`` documents, every document is cut in two, its head
        (group 0) for training and its last ``validation_fraction`` (group 1) for
        validation; otherwise :meth:`_split_for_validation` draws whole documents.
        """
        groups = np.zeros(len(corpus), dtype=np.intp)
        if not self.early_stopping or len(corpus) * self.validation_fraction >= 1:
            return corpus, groups
        cut = np.round(corpus.lengths * (1 - self.validation_fraction)).astype(np.intp)
        heads = [corpus.tokens[s : s + c] for s, c in zip(corpus.starts, cut)]
        tails = [corpus.tokens[s + c : s + n]
                 for s, c, n in zip(corpus.starts, cut, corpus.lengths)]
        lengths = np.concatenate([cut, corpus.lengths - cut])
        split = _Corpus(np.concatenate(heads + tails), lengths, corpus.n_features)
        groups = np.repeat([0, 1], len(corpus))
        return split, groups

    def _split_for_validation(self, n_samples, y, rng):
        if (y == 1).any():
            train, val = np.nonzero(y == 0)[0], np.nonzero(y == 1)[0]
        else:
            train, val = super()._split_for_validation(n_samples, y, rng)
        return train, val

    def _iter_batches(self, train, rng):
        """Truncated-BPTT minibatches of one epoch, the state carried lane by lane."""
        corpus, _, _, index = train
        if len(index) != len(corpus):
            corpus = corpus.take(index)
        monitor = corpus.monitor
        if monitor is not None:
            monitor.start_epoch(corpus.n_predictions)
        if corpus.n_predictions == 0:
            raise ValueError(
                f"{type(self).__name__}: the training part of the data has no token to "
                "predict (early_stopping held out every sequence with 2 tokens or more). "
                "Lower validation_fraction or set early_stopping=False."
            )
        n_lanes = self._batch_size(int(np.maximum(corpus.lengths - 1, 0).sum()))
        lane_states = {}

        for lanes, x, y, length, reset in _epoch_windows(
            corpus, self.bptt_steps, n_lanes, self.state_reset_proba, rng
        ):
            state0 = None
            if not reset.all():
                keep = ~reset[:, None]
                state0 = {name: tuple(np.where(keep, s[lanes], 0) for s in states)
                          for name, states in lane_states.items()}

            def carry(final, lanes=lanes):
                for name, states in final.items():
                    if name not in lane_states:
                        lane_states[name] = tuple(
                            np.zeros((n_lanes, s.shape[1]), dtype=s.dtype) for s in states)
                    for stored, s in zip(lane_states[name], states):
                        stored[lanes] = s

            yield (Sequences(x, length, "index", corpus.n_features), y, None, state0, carry)

    def _after_batch(self, train, loss, n_b):
        monitor = train[0].monitor
        return monitor is not None and monitor.batch_done(loss, n_b)

    # ------------------------------------------------------------ hooks of BaseRNN

    def _prepare_targets(self, y, n_samples, continuing, partial, classes=None):
        # Not used: fit builds the targets (X shifted by one token) itself.
        raise NotImplementedError

    def _n_outputs(self):
        return len(self.classes_)

    def _loss(self, outputs, y, sample_weight):
        return sequence_cross_entropy(outputs, y)

    def _batch_weight(self, seqs, y):
        return int((y >= 0).sum())  # the epoch loss is a mean per predicted token

    def _predict_outputs(self, seqs, params=None, net=None):
        if isinstance(seqs, _Corpus):  # validation during fit: log p of every token
            return _run_documents(net, params, seqs, log_likelihood=True)[1]
        return super()._predict_outputs(seqs, params, net)

    def _validation_score(self, outputs, y, sample_weight):
        return float(outputs.mean()) if outputs.size else -np.inf

    def _net(self, head):
        return self._network(head=head)

    def _check_validation_set(self, val):
        if val[0].n_predictions == 0:
            raise ValueError(
                f"{type(self).__name__}: early_stopping's validation part has no token to "
                "predict: every held-out sequence has fewer than 2 tokens (with fewer than "
                "1 / validation_fraction sequences, the last validation_fraction of each "
                "one is held out). Raise validation_fraction, give more or longer text, or "
                "set early_stopping=False."
            )

    # ------------------------------------------------------------ prediction

    def _next_token_log_proba(self, corpus):
        """log p(next token) after each document: (n_documents, n_classes) float64."""
        net = self._net("many_to_one")
        finals, _ = _run_documents(net, self.params_, corpus, log_likelihood=False)
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
        _, logp = _run_documents(self._net("many_to_many"), self.params_, corpus,
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
        if isinstance(n_tokens, (bool, np.bool_)) or not isinstance(n_tokens, Integral) \
                or n_tokens < 0:
            raise ValueError(f"n_tokens must be an integer >= 0, got {n_tokens!r}.")
        if isinstance(temperature, (bool, np.bool_)) or not isinstance(temperature, Real) \
                or not np.isfinite(temperature) or temperature < 0:
            raise ValueError(f"temperature must be a finite number >= 0 (0 is greedy), got "
                             f"{temperature!r}.")
        if top_k is not None and (isinstance(top_k, (bool, np.bool_))
                                  or not isinstance(top_k, Integral) or top_k < 1):
            raise ValueError(f"top_k must be None or an integer >= 1, got {top_k!r}.")
        is_text = isinstance(prefix, str)
        if is_text:
            if self.vocabulary_ is None:
                raise ValueError(f"This {type(self).__name__} was fitted on token ids: the "
                                 "prefix must be a sequence of token ids, not a string.")
            if stop is not None and (not isinstance(stop, str) or not stop):
                raise ValueError(f"stop must be None or a non-empty string, got {stop!r}.")
            ids, _ = self._encode_texts([prefix], self.vocabulary_)
        else:
            ids = self._check_prefix_ids(prefix)
            if stop is not None and (isinstance(stop, (bool, np.bool_))
                                     or not isinstance(stop, Integral)
                                     or not 0 <= stop < self.n_features_in_):
                raise ValueError(f"stop must be None or a token id in [0, "
                                 f"{self.n_features_in_}), got {stop!r}.")
        rng = check_random_state(random_state)

        net = self._net("many_to_one")
        params = self.params_
        if len(ids):
            state, _ = _run_documents(net, params, _Corpus(ids, [len(ids)], len(self.classes_)),
                                      log_likelihood=False)
            logits = state[net.layer_names()[-1]][0] @ params["W_y"] + params["b_y"]
            logits = logits[0].astype(np.float64)
        else:
            state = None
            with np.errstate(divide="ignore"):
                logits = np.log(self.first_token_proba_)
        sep = "" if self.analyzer == "char" else " "
        out, text = [], ""
        for i in range(n_tokens):
            token = _draw(logits, temperature, top_k, rng)
            out.append(token)
            if is_text:
                before = len(text)
                text += (sep if text else "") + self.classes_[token]
                if stop is not None:
                    hit = text.find(stop, max(0, before - len(stop) + 1))
                    if hit >= 0:
                        text = text[: hit + len(stop)]
                        break
            elif stop is not None and token == stop:
                break
            if i + 1 < n_tokens:
                x = Sequences(np.array([[token]]), np.array([1]), "index", net.n_inputs)
                logits, state = net.forward(params, x, state)
                logits = logits[0].astype(np.float64)
        if not is_text:
            return np.concatenate([ids, np.asarray(out, dtype=np.intp)])
        return prefix + (sep if prefix and text else "") + text

    def _check_prefix_ids(self, prefix):
        ids = np.asarray(prefix)
        if ids.ndim != 1 or (ids.size and ids.dtype.kind not in "iu"):
            raise ValueError(
                "prefix must be a string (for a model fitted on text) or a 1-D sequence of "
                f"integer token ids; got {type(prefix).__name__} of shape {ids.shape}."
            )
        ids = ids.astype(np.intp)
        bad = (ids < 0) | (ids >= self.n_features_in_)
        if bad.any():
            j = int(np.argmax(bad))
            raise ValueError(f"Unknown token id {ids[j]} at position {j} of the prefix: ids "
                             f"are in [0, {self.n_features_in_}).")
        return ids

    def __sklearn_tags__(self):
        tags = super().__sklearn_tags__()
        tags.input_tags.string = True
        tags.input_tags.two_d_array = False  # raw text: scikit-learn's common checks skip it
        tags.target_tags.required = False
        return tags


def _draw(logits, temperature, top_k, rng):
    """One token id from ``softmax(logits / temperature)``, restricted to the top k."""
    z = logits - logits.max()  # <= 0; -inf for impossible tokens
    if top_k is not None and top_k < z.size:
        keep = np.argsort(-z, kind="stable")[:top_k]
        masked = np.full_like(z, -np.inf)
        masked[keep] = z[keep]
        z = masked
    if temperature == 0:
        return int(np.argmax(z))
    p = np.exp(z / temperature)  # (z - max) / T stays <= 0: no overflow for any T > 0
    cdf = np.cumsum(p)
    return int(min(np.searchsorted(cdf, rng.random_sample() * cdf[-1], side="right"),
                   z.size - 1))
