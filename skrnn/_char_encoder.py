"""Tokens as words and characters: the tagger's network for string input.

This module knows nothing of scikit-learn. Each token (a *type*: every distinct
string once) has a word id (rare and unseen words share one unknown-word id) and a
sequence of character ids. A token's input to the word-level network is::

    x_t = [ E[word_t] , c(chars_t) ]

``E`` is a learned word embedding (a table, one row per word id) and ``c`` a
character-level recurrent network read over the token's characters, many-to-one: its
top layer's final states (both directions) through a linear layer. The word-level
network (a :class:`skrnn._network.RecurrentNetwork`, many-to-many) reads the
``x_t`` of a sentence and outputs a label's logits at every step. Everything is
trained end to end, as Lample et al. (2016) do: dL/dx_t, the word network's input
gradient, splits into the gradient of ``E``'s rows and of ``c``'s outputs, which
back-propagates through the character network.

The character network runs once per batch over the batch's *distinct* tokens (a
sentence batch of 500 tokens has about 350), not over every occurrence.
"""

import dataclasses
from dataclasses import dataclass

import numpy as np

from ._network import RecurrentNetwork, _scatter_rows
from ._training import PaddedBatches
from ._validation import Sequences
from ._workspace import FRESH

CHAR_PREFIX = "char."
EMBEDDING = "E"


@dataclass
class TokenSequences(Sequences):
    """Sentences of token types, with the table of what each type is.

    ``data`` (n, T) holds type ids (padding set to 0), ``lengths`` the tokens of each
    sentence; the type table: ``words`` (n_types,) word ids, ``chars`` (n_types, L)
    character ids (padding 0) and ``char_lengths`` (n_types,). ``n_features`` is the
    number of word ids.
    """

    words: np.ndarray = None
    chars: np.ndarray = None
    char_lengths: np.ndarray = None
    # Training noise of one batch (None at prediction), drawn by NoisyTokenBatches:
    unknown: np.ndarray = None  # (n, T) bool: steps whose word is read as the unknown word
    keep: np.ndarray = None  # (n, T, D) inverted-dropout factors of the word network's input

    def take(self, index):
        lengths = self.lengths[index]
        T = int(lengths.max()) if len(lengths) else 0
        return TokenSequences(self.data[index, :T], lengths, self.kind, self.n_features,
                              self.words, self.chars, self.char_lengths)


class CharWordNetwork:
    """A word-level recurrent network over word embeddings and character encodings.

    Parameters
    ----------
    word : RecurrentNetwork
        The word-level network; its ``n_inputs`` is ``embedding_size + char_size``.
    char : RecurrentNetwork
        The character network (many-to-one; ``n_outputs`` is ``char_size``).
    n_words : int
        Rows of the embedding table (word ids, the unknown-word id included).
    embedding_size : int
        Width of a word's embedding.
    """

    def __init__(self, word, char, n_words, embedding_size):
        self.word, self.char = word, char
        self.n_words, self.embedding_size = int(n_words), int(embedding_size)
        # what chunked prediction and the BLAS threshold read
        self.cell, self.hidden_sizes = word.cell, word.hidden_sizes
        self.directions, self.n_outputs = word.directions, word.n_outputs

    def init_params(self, rng, dtype=np.float32):
        """Initial weights of both networks and the embedding (uniform +-0.1... scaled)."""
        params = self.word.init_params(rng, dtype)
        for k, v in self.char.init_params(rng, dtype).items():
            params[CHAR_PREFIX + k] = v
        # N(0, 1/d) rows: inputs of the word network's first layer of the same scale as
        # the character part's
        E = rng.standard_normal((self.n_words, self.embedding_size))
        params[EMBEDDING] = (E / np.sqrt(self.embedding_size)).astype(dtype)
        return params

    def weight_names(self, params):
        """Parameters that L2 regularisation applies to: both networks' weights and E."""
        char_params = {k[len(CHAR_PREFIX):]: v for k, v in params.items()
                       if k.startswith(CHAR_PREFIX)}
        word_params = {k: v for k, v in params.items()
                       if not k.startswith(CHAR_PREFIX) and k != EMBEDDING}
        return (self.word.weight_names(word_params)
                + [CHAR_PREFIX + k for k in self.char.weight_names(char_params)]
                + [EMBEDDING])

    def _split(self, params):
        word = {k: v for k, v in params.items()
                if not k.startswith(CHAR_PREFIX) and k != EMBEDDING}
        char = {k[len(CHAR_PREFIX):]: v for k, v in params.items() if k.startswith(CHAR_PREFIX)}
        return word, char

    def forward(self, params, seqs, state0=None, return_cache=False, workspace=None):
        """Logits (B, T, C) of :class:`TokenSequences`, as RecurrentNetwork.forward."""
        if state0 is not None:
            raise ValueError("CharWordNetwork starts every sentence from a zero state.")
        ws = FRESH if workspace is None else workspace
        word_params, char_params = self._split(params)
        data, lengths = seqs.data, np.asarray(seqs.lengths)
        B, T = data.shape
        real = np.arange(T)[None, :] < lengths[:, None]
        # The batch's distinct types: the character network reads each one once.
        types, where = np.unique(data[real], return_inverse=True)
        L = int(seqs.char_lengths[types].max()) if types.size else 0
        char_seqs = Sequences(seqs.chars[types, :L], seqs.char_lengths[types], "index",
                              self.char.n_inputs)
        c, _, char_cache = self.char.forward(char_params, char_seqs, return_cache=True,
                                             workspace=ws.scope("char"))
        word_ids = seqs.words[types][where]  # of every real step, row-major order
        if seqs.unknown is not None:  # word dropout: the model learns the unknown word
            word_ids = np.where(seqs.unknown[real], 0, word_ids)
        D_e = self.embedding_size
        x = np.zeros((B, T, D_e + c.shape[1]), dtype=c.dtype)  # padding steps: zeros
        x[real] = np.concatenate([params[EMBEDDING][word_ids], c[where]], axis=1)
        if seqs.keep is not None:
            x *= seqs.keep  # dropout: 0 or 1 / (1 - p) per entry, so E[x] is unchanged
        x_seqs = Sequences(x, lengths, "dense", x.shape[2])
        out = self.word.forward(word_params, x_seqs, return_cache=return_cache,
                                workspace=ws.scope("word"))
        if not return_cache:
            return out
        logits, final, word_cache = out
        cache = {"word": word_cache, "char": char_cache, "real": real, "where": where,
                 "word_ids": word_ids, "n_types": types.size, "keep": seqs.keep}
        return logits, final, cache

    def backward(self, params, cache, dlogits):
        """Gradients of every parameter (both networks and ``E``) given dL/dlogits."""
        word_params, char_params = self._split(params)
        grads, dx = self.word.backward(word_params, cache["word"], dlogits, input_grad=True)
        if cache["keep"] is not None:
            dx *= cache["keep"]  # x = keep * x': dL/dx' = keep * dL/dx
        dx_real = dx[cache["real"]]  # (n_real, D_e + D_c), the order of ``where``
        D_e = self.embedding_size
        # E[w] and c[type] were copied into every step that has them: their gradients
        # are the sums over those steps (a scatter-add, one sparse product).
        grads[EMBEDDING] = _scatter_rows(cache["word_ids"], dx_real[None, :, :D_e],
                                         self.n_words)
        dc = _scatter_rows(cache["where"], dx_real[None, :, D_e:], cache["n_types"])
        for k, g in self.char.backward(char_params, cache["char"], dc).items():
            grads[CHAR_PREFIX + k] = g
        return grads


def char_table(types, max_chars, alphabet=None):
    """Character ids of the strings ``types``: (ids (n, L), lengths (n,), alphabet).

    Built with no Python loop over the strings: NumPy's fixed-width unicode array of
    the strings, viewed as its UCS-4 code points, is the (n, longest) matrix of
    characters (0 after a string's end). ``alphabet`` (sorted code points) maps a code
    point to its id + 1 (id 0: a character not in the alphabet); ``None`` learns it
    from ``types``. A string longer than ``max_chars`` keeps its first
    ``max_chars // 2`` and its last ``max_chars - max_chars // 2`` characters (its
    stem's start and its suffixes).
    """
    n = len(types)
    strings = np.asarray(types, dtype=str) if n else np.zeros(0, dtype="<U1")
    width = max(strings.dtype.itemsize // 4, 1)
    codes = strings.astype(f"<U{width}").view(np.uint32).reshape(n, width).astype(np.int64)
    # NUL cannot be a character inside a NumPy string (it ends it), so 0 is padding.
    lengths = np.add.reduce(codes != 0, axis=1)
    if alphabet is None:
        alphabet = np.unique(codes[codes != 0])
    head = max_chars // 2
    cols = np.arange(max_chars)[None, :]
    # position read into column j: j for the head, len - max_chars + j for the tail
    long = lengths[:, None] > max_chars
    pos = np.where(long & (cols >= head), lengths[:, None] - max_chars + cols, cols)
    pos = np.minimum(pos, width - 1)
    picked = np.take_along_axis(codes, pos, axis=1) if width else np.zeros((n, max_chars),
                                                                             np.int64)
    lengths = np.minimum(lengths, max_chars)
    inside = cols < lengths[:, None]
    idx = np.searchsorted(alphabet, picked)
    found = (idx < alphabet.size) & (alphabet[np.minimum(idx, max(alphabet.size - 1, 0))]
                                     == picked) if alphabet.size else np.zeros_like(inside)
    ids = np.where(inside & found, idx + 1, 0)
    L = int(lengths.max()) if n else 0
    return ids[:, :max(L, 1)].astype(np.intp), lengths.astype(np.intp), alphabet


def make_network(cell, n_words, n_chars, embedding_size, char_hidden_size, char_size,
                 hidden_sizes, n_outputs, activation, bidirectional):
    """The tagger's network for string input (see :class:`CharWordNetwork`)."""
    char = RecurrentNetwork(cell, n_chars, (char_hidden_size,), char_size,
                            activation=activation, bidirectional=True, head="many_to_one")
    word = RecurrentNetwork(cell, embedding_size + char_size, hidden_sizes, n_outputs,
                            activation=activation, bidirectional=bidirectional,
                            head="many_to_many")
    return CharWordNetwork(word, char, n_words, embedding_size)


class NoisyTokenBatches(PaddedBatches):
    """:class:`PaddedBatches` of TokenSequences with training noise drawn per batch.

    ``word_dropout``: each real step's word is read as the unknown word with this
    probability (the character encoding stays), which teaches the model what to do
    with words it has not seen. ``dropout``: each entry of the word network's input
    is zeroed with this probability and the rest scaled by ``1 / (1 - dropout)``.
    Drawn from the epoch's generator, so a fixed seed gives the same noise.
    """

    def __init__(self, seqs, y, w, index, batch_size, input_size, dropout, word_dropout):
        super().__init__(seqs, y, w, index, batch_size)
        self.input_size, self.dropout, self.word_dropout = input_size, dropout, word_dropout

    def epoch(self, rng):
        for batch in super().epoch(rng):
            seqs = batch.seqs
            B, T = seqs.data.shape
            unknown = keep = None
            if self.word_dropout:
                unknown = rng.random((B, T)) < self.word_dropout
            if self.dropout:
                dtype = batch.w.dtype if batch.w is not None else np.float32
                keep = rng.random((B, T, self.input_size)) >= self.dropout
                keep = keep.astype(dtype) * dtype.type(1 / (1 - self.dropout))
            batch.seqs = dataclasses.replace(seqs, unknown=unknown, keep=keep)
            yield batch
