"""Turn raw text into sequences of token ids, the input form of skrnn's estimators."""

import re
import warnings
from collections import Counter
from collections.abc import Iterable, Mapping
from functools import partial
from itertools import chain, repeat
from numbers import Integral, Real

import numpy as np
from sklearn.base import BaseEstimator, TransformerMixin
from sklearn.utils.validation import check_is_fitted

from ._params import check_bool, check_int, check_option
from ._validation import check_sequences, token_ids

__all__ = ["SequenceVectorizer"]


# The analyzers are module-level functions bound with ``functools.partial`` so that
# ``build_analyzer()`` returns a picklable callable.
def _analyze_words(doc, *, lowercase, pattern, tokenizer):
    if lowercase:
        doc = doc.lower()
    if tokenizer is not None:
        return _tokens_of(tokenizer(doc), doc, "tokenizer")
    return pattern.findall(doc)


def _analyze_chars(doc, *, lowercase):
    return list(doc.lower() if lowercase else doc)


def _analyze_with(doc, *, analyzer):
    # A callable analyzer does all the preprocessing itself, as in CountVectorizer.
    return _tokens_of(analyzer(doc), doc, "analyzer")


def _steps(lengths, doc_of):
    """Position of each token in its document, for tokens laid end to end document by
    document (``doc_of[k]`` is token k's document)."""
    starts = np.cumsum(lengths) - lengths
    return np.arange(doc_of.size) - starts[doc_of]


def _tokens_of(tokens, doc, what):
    """The list of str tokens a user's callable returned for ``doc``, or a clear error."""
    if isinstance(tokens, (str, bytes)) or not isinstance(tokens, Iterable):
        raise TypeError(f"The {what} must return a list of str tokens, got "
                        f"{type(tokens).__name__} for the document {doc[:40]!r}.")
    tokens = list(tokens)
    for token in tokens:
        if not isinstance(token, str):
            raise TypeError(f"Tokens must be str, but the {what} returned {token!r} of type "
                            f"{type(token).__name__} for the document {doc[:40]!r}.")
    return tokens


def _check_documents(raw_documents):
    """Return ``raw_documents`` as a non-empty list of str, or raise a clear error."""
    # ValueError, not TypeError, with CountVectorizer's message: users and tools match it.
    if isinstance(raw_documents, (str, bytes)):
        msg = "Iterable over raw text documents expected, string object received."
        raise ValueError(msg)  # noqa: TRY004
    # A 2-D array or a DataFrame would iterate over rows or column names, not documents.
    if getattr(raw_documents, "ndim", 1) != 1:
        raise ValueError(
            "Iterable over raw text documents expected, got an object with shape "
            f"{getattr(raw_documents, 'shape', None)}; pass a 1-D list of strings."
        )
    try:
        docs = list(raw_documents)
    except TypeError:
        raise TypeError(
            "Iterable over raw text documents expected, got "
            f"{type(raw_documents).__name__}."
        ) from None
    if not docs:
        raise ValueError("Expected at least one text document, got an empty iterable.")
    for i, doc in enumerate(docs):
        if not isinstance(doc, str):
            raise TypeError(
                f"Every document must be a str, but document {i} is of type "
                f"{type(doc).__name__}."
            )
    return docs


def _fixed_vocabulary(vocabulary):
    """Validate a user-given vocabulary; return it as a new dict str -> int."""
    if isinstance(vocabulary, (str, bytes)):
        raise TypeError(
            "vocabulary must be a mapping token -> id or an iterable of tokens, got a string."
        )
    if isinstance(vocabulary, Mapping):
        items = list(vocabulary.items())
        for token, index in items:
            if not isinstance(index, Integral) or isinstance(index, (bool, np.bool_)):
                raise TypeError(
                    f"vocabulary ids must be integers, got {index!r} for token {token!r}."
                )
        ids = sorted(int(index) for _, index in items)
        if ids != list(range(len(ids))):
            raise ValueError(
                f"vocabulary ids must be 0, 1, ..., {len(ids) - 1}, each used once; got ids "
                f"{ids}."
            )
    else:
        try:
            tokens = list(vocabulary)
        except TypeError:
            raise TypeError(
                "vocabulary must be None, a mapping token -> id or an iterable of tokens, "
                f"got {type(vocabulary).__name__}."
            ) from None
        duplicates = [t for t, count in Counter(tokens).items() if count > 1]
        if duplicates:
            raise ValueError(f"Duplicate token in vocabulary: {duplicates[0]!r}.")
        items = [(token, index) for index, token in enumerate(tokens)]
    if not items:
        raise ValueError("empty vocabulary passed to fit; give at least one token.")
    for token, _ in items:
        if not isinstance(token, str):
            raise TypeError(
                f"vocabulary tokens must be str, got {token!r} of type {type(token).__name__}."
            )
    # Plain str and int (not np.str_ or np.int64) keep the fitted state skops-safe.
    return {str(token): int(index) for token, index in items}


class SequenceVectorizer(TransformerMixin, BaseEstimator, auto_wrap_output_keys=None):
    """Encode text documents as sequences of token ids for recurrent networks.

    Each document is split into tokens (words or characters) and every token is
    replaced by its id in a vocabulary learned at fit. The result is the compact
    form of one-hot sequences: an integer array ``(n_documents, n_steps)`` padded
    at its end with ``-1``, which skrnn's estimators take directly. The dense
    one-hot form, NaN-padded, is available with ``output="onehot"``.

    Unlike :class:`~sklearn.feature_extraction.text.CountVectorizer`, the order of
    the tokens is kept: that order is what a recurrent network learns from.

    Parameters
    ----------
    analyzer : {"word", "char"} or callable, default="word"
        How a document is split into tokens. ``"word"`` uses ``tokenizer`` or
        ``token_pattern``; ``"char"`` makes every character a token, spaces and
        punctuation included. A callable takes a document and returns its list of
        tokens; it then does all preprocessing itself (``lowercase``,
        ``token_pattern`` and ``tokenizer`` are not used).

    lowercase : bool, default=True
        Convert documents to lowercase before tokenizing.

    token_pattern : str, default=r"(?u)\\b\\w+\\b"
        Regular expression of a word, used by ``analyzer="word"`` when
        ``tokenizer`` is None. The default keeps one-letter words such as "i" and
        "a" (CountVectorizer's default drops them). If the pattern has a capturing
        group, the group's content is the token; more than one group is an error.

    tokenizer : callable, default=None
        Splits a (lowercased) document into words, overriding ``token_pattern``.
        Only used by ``analyzer="word"``.

    min_df : int or float, default=1
        Ignore tokens found in fewer documents than this. An int is a count of
        documents (>= 1); a float in [0.0, 1.0] is a proportion of the documents.
        Not used when ``vocabulary`` is given.

    max_features : int, default=None
        Keep only this many tokens, the most frequent across the corpus (total
        count, after ``min_df``), ties broken alphabetically. None keeps all. Not
        used when ``vocabulary`` is given.

    vocabulary : mapping or iterable of str, default=None
        A fixed vocabulary: a mapping token -> id with ids ``0, ..., V - 1``, or an
        iterable of tokens that take the ids ``0, 1, ...`` in order. Fit then learns
        nothing from the documents (it still validates them).

    max_len : int, default=None
        Truncate sequences longer than this many tokens. None keeps every token.

    truncating : {"pre", "post"}, default="pre"
        Which end of a too-long sequence is dropped: ``"pre"`` drops the
        beginning and keeps the last ``max_len`` tokens, ``"post"`` drops the end.

    handle_unknown : {"ignore", "error"}, default="ignore"
        What to do at transform with a token that is not in the vocabulary:
        ``"ignore"`` drops it, so a document of unknown tokens only becomes a
        zero-length sequence (all padding); ``"error"`` raises a ValueError naming
        the token and the document.

    output : {"index", "onehot"}, default="index"
        ``"index"``: an int32 array ``(n_documents, n_steps)`` of token ids padded
        at its end with -1. ``"onehot"``: a dense float array ``(n_documents,
        n_steps, n_tokens)`` of one-hot rows, its padding steps all NaN. It needs
        ``n_tokens`` times more memory; use it for small vocabularies and for other
        tools. ``n_steps`` is the length of the longest sequence of the batch after
        truncation, at least 1.

    dtype : floating dtype, default=np.float32
        Dtype of the ``"onehot"`` output.

    Attributes
    ----------
    vocabulary_ : dict of str to int
        Map from each token to its id, in ``0, ..., n_tokens - 1``. Learned ids
        follow the sorted order of the tokens.

    fixed_vocabulary_ : bool
        True when the vocabulary was given by the ``vocabulary`` parameter.

    See Also
    --------
    sklearn.feature_extraction.text.CountVectorizer : Bag of words: token counts
        without their order.
    skrnn.pad_sequences : Pad ragged sequences into the same end-padded form.
    skrnn.RNNClassifier : A recurrent classifier that takes token ids.

    Examples
    --------
    >>> from skrnn import SequenceVectorizer
    >>> texts = ["i am not happy", "this is good"]
    >>> vectorizer = SequenceVectorizer().fit(texts)
    >>> vectorizer.vocabulary_
    {'am': 0, 'good': 1, 'happy': 2, 'i': 3, 'is': 4, 'not': 5, 'this': 6}
    >>> vectorizer.transform(texts)
    array([[ 3,  0,  5,  2],
           [ 6,  4,  1, -1]], dtype=int32)
    >>> vectorizer.transform(["this is not so good"])  # "so" is unknown: dropped
    array([[6, 4, 5, 1]], dtype=int32)
    >>> vectorizer.inverse_transform([[6, 4, 1, -1]])
    [['this', 'is', 'good']]
    >>> SequenceVectorizer(analyzer="char", output="onehot").fit_transform(["ab", "b"])
    array([[[ 1.,  0.],
            [ 0.,  1.]],
    <BLANKLINE>
           [[ 0.,  1.],
            [nan, nan]]], dtype=float32)
    """

    def __init__(
        self,
        *,
        analyzer="word",
        lowercase=True,
        token_pattern=r"(?u)\b\w+\b",
        tokenizer=None,
        min_df=1,
        max_features=None,
        vocabulary=None,
        max_len=None,
        truncating="pre",
        handle_unknown="ignore",
        output="index",
        dtype=np.float32,
    ):
        self.analyzer = analyzer
        self.lowercase = lowercase
        self.token_pattern = token_pattern
        self.tokenizer = tokenizer
        self.min_df = min_df
        self.max_features = max_features
        self.vocabulary = vocabulary
        self.max_len = max_len
        self.truncating = truncating
        self.handle_unknown = handle_unknown
        self.output = output
        self.dtype = dtype

    def build_analyzer(self):
        """Return the callable that turns a document into its list of tokens.

        Returns
        -------
        analyzer : callable
            ``analyzer(doc) -> list of str``.
        """
        if callable(self.analyzer):
            return partial(_analyze_with, analyzer=self.analyzer)
        if not isinstance(self.analyzer, str) or self.analyzer not in ("word", "char"):
            raise ValueError(
                f"analyzer must be 'word', 'char' or a callable, got {self.analyzer!r}."
            )
        check_bool("lowercase", self.lowercase)
        if self.analyzer == "char":
            return partial(_analyze_chars, lowercase=bool(self.lowercase))
        if self.tokenizer is not None:
            if not callable(self.tokenizer):
                raise TypeError(
                    f"tokenizer must be None or a callable, got {self.tokenizer!r}."
                )
            return partial(
                _analyze_words, lowercase=bool(self.lowercase), pattern=None,
                tokenizer=self.tokenizer,
            )
        return partial(
            _analyze_words, lowercase=bool(self.lowercase), pattern=self._compile_pattern(),
            tokenizer=None,
        )

    def _compile_pattern(self):
        if not isinstance(self.token_pattern, str):
            raise TypeError(
                "token_pattern must be a str (a regular expression), got "
                f"{self.token_pattern!r}."
            )
        try:
            pattern = re.compile(self.token_pattern)
        except re.error as exc:
            raise ValueError(
                f"token_pattern {self.token_pattern!r} is not a valid regular expression: "
                f"{exc}."
            ) from None
        # findall returns tuples, not tokens, when the pattern has several groups.
        if pattern.groups > 1:
            raise ValueError(
                f"token_pattern {self.token_pattern!r} has {pattern.groups} capturing groups; "
                "at most one is allowed (its content is the token)."
            )
        return pattern

    def _check_params(self):
        """Validate the parameters; return the analyzer they describe."""
        analyze = self.build_analyzer()
        if isinstance(self.min_df, Integral) and not isinstance(self.min_df, (bool, np.bool_)):
            if self.min_df < 1:
                raise ValueError(
                    "min_df must be an int >= 1 or a float in [0.0, 1.0], got "
                    f"{self.min_df!r}."
                )
        elif isinstance(self.min_df, Real) and not isinstance(self.min_df, (bool, np.bool_)):
            if not 0.0 <= self.min_df <= 1.0:
                raise ValueError(
                    "min_df must be an int >= 1 or a float in [0.0, 1.0], got "
                    f"{self.min_df!r}."
                )
        else:
            raise TypeError(
                f"min_df must be an int >= 1 or a float in [0.0, 1.0], got {self.min_df!r}."
            )
        check_int("max_features", self.max_features, allow_none=True)
        check_int("max_len", self.max_len, allow_none=True)
        check_option("truncating", self.truncating, ("pre", "post"))
        check_option("handle_unknown", self.handle_unknown, ("ignore", "error"))
        check_option("output", self.output, ("index", "onehot"))
        try:
            dtype = np.dtype(self.dtype)
        except TypeError:
            dtype = None
        # One-hot padding is NaN, so only a floating dtype can hold it.
        if dtype is None or dtype.kind != "f":
            raise ValueError(
                "dtype must be a floating-point dtype such as np.float32 or np.float64, got "
                f"{self.dtype!r}."
            )
        return analyze

    def _learn_vocabulary(self, token_lists):
        """Vocabulary from the documents' tokens, filtered by min_df and max_features."""
        total_count = Counter()
        doc_count = Counter()
        for tokens in token_lists:
            total_count.update(tokens)
            doc_count.update(set(tokens))
        if not total_count:
            raise ValueError(
                "empty vocabulary; the documents contain no tokens. Check analyzer, "
                "token_pattern and tokenizer."
            )
        # As in CountVectorizer: an int is a document count, a float a proportion.
        if isinstance(self.min_df, Integral):
            min_count = self.min_df
        else:
            min_count = self.min_df * len(token_lists)
        tokens = [t for t in total_count if doc_count[t] >= min_count]
        if not tokens:
            raise ValueError(
                f"empty vocabulary; no token occurs in at least {min_count} documents "
                f"(min_df={self.min_df!r}). Lower min_df."
            )
        if self.max_features is not None and len(tokens) > self.max_features:
            # Most frequent first; equal counts in alphabetical order, so the cut is stable.
            tokens.sort(key=lambda t: (-total_count[t], t))
            tokens = tokens[: self.max_features]
        return {str(token): index for index, token in enumerate(sorted(tokens))}

    def _fit(self, raw_documents):
        """Fit the vocabulary; return the analyzed documents for fit_transform to reuse."""
        docs = _check_documents(raw_documents)
        analyze = self._check_params()
        token_lists = [analyze(doc) for doc in docs]
        if self.vocabulary is not None:
            vocabulary = _fixed_vocabulary(self.vocabulary)
            if self.lowercase and not callable(self.analyzer) and any(
                t != t.lower() for t in vocabulary
            ):
                warnings.warn("Upper case characters found in vocabulary while 'lowercase' "
                              "is True. These entries will not be matched with any documents")
        else:
            vocabulary = self._learn_vocabulary(token_lists)
        return token_lists, vocabulary, self.vocabulary is not None

    def _set_vocabulary(self, vocabulary, fixed):
        self.vocabulary_ = vocabulary
        self.fixed_vocabulary_ = fixed

    def fit(self, raw_documents, y=None):
        """Learn the vocabulary of the documents.

        Parameters
        ----------
        raw_documents : iterable of str
            The text documents.
        y : None
            Ignored.

        Returns
        -------
        self : SequenceVectorizer
            The fitted vectorizer.
        """
        _, vocabulary, fixed = self._fit(raw_documents)
        self._set_vocabulary(vocabulary, fixed)
        return self

    def fit_transform(self, raw_documents, y=None):
        """Learn the vocabulary and return the documents as sequences.

        Equal to ``fit(raw_documents).transform(raw_documents)``, tokenizing once.

        Parameters
        ----------
        raw_documents : iterable of str
            The text documents.
        y : None
            Ignored.

        Returns
        -------
        X : ndarray of shape (n_documents, n_steps) or (n_documents, n_steps, n_tokens)
            Token ids padded with -1 (``output="index"``), or one-hot rows with
            NaN padding steps (``output="onehot"``).
        """
        token_lists, vocabulary, fixed = self._fit(raw_documents)
        # Encoded before anything is assigned: an unknown token (handle_unknown="error")
        # leaves a fitted vectorizer as it was.
        out = self._to_output(self._encode_tokens(token_lists, vocabulary), len(vocabulary))
        self._set_vocabulary(vocabulary, fixed)
        return out

    def transform(self, raw_documents):
        """Encode documents as sequences of token ids (or one-hot rows).

        Parameters
        ----------
        raw_documents : iterable of str
            The text documents.

        Returns
        -------
        X : ndarray of shape (n_documents, n_steps) or (n_documents, n_steps, n_tokens)
            Token ids padded with -1 (``output="index"``), or one-hot rows with
            NaN padding steps (``output="onehot"``). ``n_steps`` is the length of
            the longest sequence after truncation, at least 1.
        """
        check_is_fitted(self)
        return self._to_output(self._encode(raw_documents))

    def _encode(self, raw_documents):
        """Token ids of all documents laid end to end, and each one's length (truncated)."""
        check_is_fitted(self)
        docs = _check_documents(raw_documents)
        analyze = self._check_params()
        return self._encode_tokens([analyze(doc) for doc in docs])

    def _encode_tokens(self, token_lists, vocabulary=None):
        """(ids, lengths): the ids of every document's tokens laid end to end (unknown
        tokens dropped or an error, then truncated to ``max_len``), and the documents'
        lengths. One dictionary lookup per token in a single ``map``, the rest in NumPy:
        no Python loop over the documents."""
        vocabulary = self.vocabulary_ if vocabulary is None else vocabulary
        n_docs = len(token_lists)
        lengths = np.fromiter(map(len, token_lists), dtype=np.intp, count=n_docs)
        ids = np.array(list(map(vocabulary.get, chain.from_iterable(token_lists),
                                repeat(-1))), dtype=np.int32)
        doc_of = None
        unknown = ids < 0
        if unknown.any():
            first = int(np.argmax(unknown))
            doc_of = np.repeat(np.arange(n_docs), lengths)
            if self.handle_unknown == "error":
                i = int(doc_of[first])
                token = token_lists[i][first - int(lengths[:i].sum())]
                raise ValueError(
                    f"Unknown token {token!r} in document {i}: it is not in the "
                    "vocabulary. Set handle_unknown='ignore' to drop unknown tokens."
                )
            ids, doc_of = ids[~unknown], doc_of[~unknown]
            lengths = np.bincount(doc_of, minlength=n_docs)
        # Truncation counts the tokens that are kept, so it comes after dropping.
        if self.max_len is not None and lengths.size and lengths.max() > self.max_len:
            if doc_of is None:
                doc_of = np.repeat(np.arange(n_docs), lengths)
            step = _steps(lengths, doc_of)
            if self.truncating == "post":  # the first max_len tokens
                ids = ids[step < self.max_len]
            else:  # the last max_len tokens
                ids = ids[step >= (lengths - self.max_len)[doc_of]]
            lengths = np.minimum(lengths, self.max_len)
        return ids, lengths

    def _to_output(self, encoded, n_tokens=None):
        ids, lengths = encoded
        n_tokens = len(self.vocabulary_) if n_tokens is None else n_tokens
        n_steps = max(1, int(lengths.max()) if lengths.size else 0)
        X = np.full((len(lengths), n_steps), -1, dtype=np.int32)
        docs = np.repeat(np.arange(len(lengths)), lengths)
        steps = _steps(lengths, docs)
        X[docs, steps] = ids
        if self.output == "index":
            return X
        onehot = np.full((*X.shape, n_tokens), np.nan, dtype=self.dtype)
        onehot[docs, steps] = 0
        onehot[docs, steps, ids] = 1
        return onehot

    def inverse_transform(self, X):
        """Turn sequences back into lists of tokens.

        Parameters
        ----------
        X : array-like of shape (n_documents, n_steps) or (n_documents, n_steps, n_tokens)
            Integer token ids padded at the end with -1, or float one-hot rows with
            all-NaN padding steps: either output of :meth:`transform`.

        Returns
        -------
        tokens : list of list of str
            The tokens of each sequence, padding removed.
        """
        check_is_fitted(self)
        n_tokens = len(self.vocabulary_)
        sequences = check_sequences(X, n_features=n_tokens, estimator_name="SequenceVectorizer")
        ids = token_ids(sequences, "inverse_transform")
        names = self.get_feature_names_out()
        return [
            names[row[:length]].tolist() for row, length in zip(ids, sequences.lengths)
        ]

    def get_feature_names_out(self, input_features=None):
        """Get the tokens of the vocabulary, ordered by id.

        Parameters
        ----------
        input_features : None
            Not used, present for API consistency.

        Returns
        -------
        feature_names_out : ndarray of str objects of shape (n_tokens,)
            ``feature_names_out[i]`` is the token whose id is ``i``.
        """
        check_is_fitted(self)
        names = np.empty(len(self.vocabulary_), dtype=object)
        names[list(self.vocabulary_.values())] = list(self.vocabulary_.keys())
        return names

    def set_output(self, *, transform=None):
        """Accept an output container setting; the output stays NumPy arrays.

        ``Pipeline.set_output(transform="pandas")`` sets every step that transforms.
        What this vectorizer returns is a batch of sequences, not a table: the columns
        of the token-id form are time steps, as many as the batch's longest document,
        and the one-hot form is 3-D, so there is no DataFrame with the columns
        ``get_feature_names_out()`` (the tokens) that pandas and polars output stands
        for. The arrays are kept, as scikit-learn's text vectorizers keep their sparse
        matrices under ``set_config(transform_output="pandas")``; the pipeline's
        other transformers get the container asked for, and skrnn's estimators take
        the arrays.

        Parameters
        ----------
        transform : {"default", "pandas", "polars"}, default=None
            The container a pipeline asks for; ``None`` changes nothing.

        Returns
        -------
        self : SequenceVectorizer
            This vectorizer, unchanged.
        """
        if transform not in (None, "default", "pandas", "polars"):
            raise ValueError("transform must be None, 'default', 'pandas' or 'polars', got "
                             f"{transform!r}.")
        return self

    def __sklearn_tags__(self):
        tags = super().__sklearn_tags__()
        tags.input_tags.string = True
        tags.input_tags.two_d_array = False
        tags.requires_fit = True
        # The input is text: there is no input dtype to preserve.
        tags.transformer_tags.preserves_dtype = []
        return tags
