"""Documents as one flat array of token ids, cut into truncated-BPTT streams.

This module knows nothing of scikit-learn. Training data flow of one epoch::

    Corpus (all documents end to end)
      plan_epoch: cut every document into windows of bptt_steps predictions, deal the
                  windows to n_lanes parallel lanes (streams)
      StreamBatches.epoch: step k of every lane is one row of minibatch k; the hidden
                  state a lane ends a window with is carried into its next window, or
                  reset to zero where a new piece starts

Prediction reads each document from a zero state, in windows whose final state is
carried exactly into the next, so any length fits in bounded memory
(:func:`run_documents`).
"""

import numpy as np

from . import _tuning
from ._losses import log_softmax
from ._training import Batch
from ._validation import Sequences


class Corpus:
    """The documents of one call as a flat array of token ids. Transient: never stored.

    Document ``i`` is ``tokens[starts[i] : starts[i] + lengths[i]]``.
    """

    kind = "tokens"

    def __init__(self, tokens, lengths, n_features):
        self.tokens = np.asarray(tokens, dtype=np.intp)
        self.lengths = np.asarray(lengths, dtype=np.intp)
        self.starts = np.cumsum(self.lengths) - self.lengths
        self.n_features = int(n_features)

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
        return Corpus(tokens, self.lengths[index], self.n_features)

    def split_tails(self, fraction):
        """(corpus, holdout): every document cut in two, the last ``fraction`` of its
        tokens held out; ``holdout`` marks the tails (documents n .. 2n - 1)."""
        cut = np.round(self.lengths * (1 - fraction)).astype(np.intp)
        heads = [self.tokens[s : s + c] for s, c in zip(self.starts, cut)]
        tails = [self.tokens[s + c : s + n] for s, c, n in zip(self.starts, cut, self.lengths)]
        lengths = np.concatenate([cut, self.lengths - cut])
        split = Corpus(np.concatenate(heads + tails), lengths, self.n_features)
        return split, np.repeat([False, True], len(self))

    def largest_id(self):
        """(document, position, id) of the largest token id."""
        pos = int(np.argmax(self.tokens))
        i = int(np.searchsorted(self.starts, pos, side="right")) - 1
        return i, pos - int(self.starts[i]), int(self.tokens[pos])


# ---------------------------------------------------------------------------
# Truncated BPTT: which windows an epoch trains on, and in which lane.


def plan_epoch(lengths, bptt_steps, n_lanes, reset_proba, rng):
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


def window_arrays(tokens, flat_begin, length):
    """Inputs ``x`` (ids, padding 0) and targets ``y`` (-1 on padding) of windows."""
    T = int(length.max())
    steps = np.arange(T)
    pos = flat_begin[:, None] + steps
    real = steps < length[:, None]
    last = len(tokens) - 1
    x = np.where(real, tokens[np.minimum(pos, last)], 0)
    y = np.where(real, tokens[np.minimum(pos + 1, last)], -1)
    return x, y


def epoch_windows(corpus, bptt_steps, n_lanes, reset_proba, rng):
    """Minibatches of one epoch: ``(lanes, x, y, length, reset)`` per step.

    ``x`` (n, T) token ids padded with 0, ``y`` (n, T) next-token targets padded with
    -1, ``lanes`` the lane of each row (whose state to carry), ``reset`` the rows that
    start from a zero state.
    """
    plan = plan_epoch(corpus.lengths, bptt_steps, n_lanes, reset_proba, rng)
    bounds = plan["bounds"]
    for k in range(len(bounds) - 1):
        rows = slice(bounds[k], bounds[k + 1])
        length = plan["length"][rows]
        flat_begin = corpus.starts[plan["doc"][rows]] + plan["begin"][rows]
        x, y = window_arrays(corpus.tokens, flat_begin, length)
        yield plan["lane"][rows], x, y, length, plan["reset"][rows]


class StreamBatches:
    """Truncated-BPTT minibatches of a corpus, the state carried lane by lane.

    The batch source of the generator's training loop: :meth:`epoch` yields the windows
    of :func:`epoch_windows` as :class:`skrnn._training.Batch` es whose ``state0`` is the
    state each lane ended its previous window with (zero where a piece starts), and
    :meth:`after_step` stores the states a step ends with.
    """

    def __init__(self, corpus, bptt_steps, n_lanes, reset_proba):
        self.corpus = corpus
        self.bptt_steps = bptt_steps
        self.n_lanes = n_lanes
        self.reset_proba = reset_proba
        self.n_units = corpus.n_predictions  # what an epoch's loss counts: tokens
        self.lane_states = {}

    def epoch(self, rng):
        self.lane_states = {}
        for lanes, x, y, length, reset in epoch_windows(
            self.corpus, self.bptt_steps, self.n_lanes, self.reset_proba, rng
        ):
            state0 = None
            if not reset.all():
                keep = ~reset[:, None]
                state0 = {name: tuple(np.where(keep, s[lanes], 0) for s in states)
                          for name, states in self.lane_states.items()}
            seqs = Sequences(x, length, "index", self.corpus.n_features)
            yield Batch(seqs, y, None, state0, int((y >= 0).sum()), lanes)

    def after_step(self, batch, final_states):
        for name, states in final_states.items():
            if name not in self.lane_states:
                self.lane_states[name] = tuple(
                    np.zeros((self.n_lanes, s.shape[1]), dtype=s.dtype) for s in states)
            for stored, s in zip(self.lane_states[name], states):
                stored[batch.lanes] = s


# ---------------------------------------------------------------------------
# Reading whole documents (prediction, scoring, validation)


def run_documents(net, params, corpus, log_likelihood, window=None):
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
            x, y = window_arrays(corpus.tokens, corpus.starts[docs] + w0, length)
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
