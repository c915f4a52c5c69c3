"""The sequence input contract: padding helpers and validation of sequence batches.

Two forms of the same thing reach the estimators:

* **float sequences**: ``(n_samples, n_timesteps, n_features)``, or 2-D
  ``(n_samples, n_timesteps)`` for univariate series. A sequence shorter than
  ``n_timesteps`` is padded at its end with steps whose features are all NaN.
* **token ids**: an *integer* ``(n_samples, n_timesteps)`` array, padded at its end
  with ``-1``. It is the compact form of one-hot float sequences over a vocabulary:
  a one-hot row times ``W_x`` is the row of ``W_x`` that the id names.

Validation returns a :class:`Sequences` record that the network consumes: the
values with padding replaced by harmless zeros (dense) or ids (index), and the
length of every sequence.
"""

from dataclasses import dataclass
from numbers import Integral

import numpy as np

__all__ = ["Sequences", "check_sequences", "pad_sequences"]


def pad_sequences(sequences, *, max_len=None, dtype=None, value=None, truncating="pre"):
    """Pad a list of ragged sequences into the end-padded array form skrnn takes.

    Parameters
    ----------
    sequences : list of array-like
        Each item is one sequence: ``(length_i, n_features)`` or ``(length_i,)``
        float values, or ``(length_i,)`` integer token ids. Lengths may differ and
        may be zero.
    max_len : int, default=None
        Number of time steps of the result. ``None`` uses the longest sequence.
        Longer sequences are truncated as ``truncating`` says.
    dtype : dtype, default=None
        Dtype of the result. ``None`` gives ``int32`` when every sequence is 1-D and
        holds integers (token ids), and ``float32`` otherwise.
    value : scalar, default=None
        Padding value; ``None`` means ``-1`` for integer output and NaN for float.
    truncating : {"pre", "post"}, default="pre"
        Which end of a too-long sequence is dropped: ``"pre"`` keeps the last
        ``max_len`` steps, ``"post"`` keeps the first ``max_len``.

    Returns
    -------
    X : ndarray of shape (n_samples, max_len) or (n_samples, max_len, n_features)
        Integer ids padded with -1 (2-D), or float values padded with NaN. Float
        sequences given as 1-D are univariate and come back 3-D with one feature.

    See Also
    --------
    SequenceVectorizer : Encodes text as the same end-padded token-id array.
    RNNClassifier : Takes the padded array as ``X``.

    Examples
    --------
    >>> from skrnn import pad_sequences
    >>> pad_sequences([[3, 1], [2]])
    array([[ 3,  1],
           [ 2, -1]], dtype=int32)
    >>> pad_sequences([[[0.5, 1.0]], []]).shape
    (2, 1, 2)
    """
    if isinstance(sequences, np.ndarray) and sequences.ndim >= 2 and sequences.dtype != object:
        sequences = list(sequences)
    if not hasattr(sequences, "__len__") or isinstance(sequences, str):
        raise TypeError("pad_sequences expects a list of sequences.")
    if truncating not in ("pre", "post"):
        raise ValueError(f"truncating must be 'pre' or 'post', got {truncating!r}.")
    arrays, n_dims = _as_arrays(sequences)
    is_int = all(
        np.issubdtype(a.dtype, np.integer) or a.size == 0 and a.dtype == np.float64
        for a in arrays
    ) and any(a.size > 0 for a in arrays)
    if dtype is None:
        dtype = np.int32 if (is_int and 2 not in n_dims) else np.float32
    dtype = np.dtype(dtype)
    lengths = np.array([a.shape[0] if a.size > 0 else 0 for a in arrays])
    if max_len is None:
        max_len = int(lengths.max())
    elif not isinstance(max_len, Integral) or isinstance(max_len, (bool, np.bool_)) or \
            max_len < 0:
        raise ValueError(f"max_len must be a non-negative integer, got {max_len!r}.")
    integer_out = np.issubdtype(dtype, np.integer)
    if value is None:
        value = -1 if integer_out else np.nan
    out = _padding(arrays, n_dims, max_len, dtype, value)
    for i, a in enumerate(arrays):
        if a.size == 0 or max_len == 0:
            continue
        a = a[-max_len:] if truncating == "pre" else a[:max_len]
        if integer_out:
            out[i, : len(a)] = a
        else:
            out[i, : len(a)] = a.reshape(len(a), -1)
    return out


def _as_arrays(sequences):
    """The sequences of pad_sequences as arrays, checked; and their set of ndims."""
    arrays = []
    for i, seq in enumerate(sequences):
        try:
            a = np.asarray(seq)
        except ValueError as exc:
            raise ValueError(f"pad_sequences: sequence {i} is not an array ({exc}).") from None
        if a.size and a.dtype.kind not in "biuf":
            what = "complex" if a.dtype.kind == "c" else f"of dtype {a.dtype}"
            raise TypeError(f"pad_sequences: sequence {i} is {what}; sequences hold real "
                            "numbers (text goes through skrnn.SequenceVectorizer).")
        arrays.append(a)
    if len(arrays) == 0:
        raise ValueError("pad_sequences got an empty list of sequences.")
    n_dims = {a.ndim for a in arrays if a.size > 0}
    if n_dims - {1, 2}:
        raise ValueError(
            "Each sequence must be 1-D (ids or a univariate series) or 2-D "
            "(length, n_features)."
        )
    return arrays, n_dims


def _padding(arrays, n_dims, max_len, dtype, value):
    """The all-padding output array of pad_sequences, of the right shape and dtype."""
    if np.issubdtype(dtype, np.integer):
        if 2 in n_dims:
            raise ValueError("Integer (token id) output needs 1-D sequences of ids.")
        info = np.iinfo(dtype)
        for i, a in enumerate(arrays):
            if a.size and (a.min() < info.min or a.max() > info.max):
                raise ValueError(f"pad_sequences: sequence {i} has values outside the range "
                                 f"of {dtype} ({a.min()} .. {a.max()}).")
        return np.full((len(arrays), max_len), value, dtype=dtype)
    widths = {a.shape[1] for a in arrays if a.ndim == 2 and a.size > 0}
    if len(widths) > 1:
        raise ValueError(f"Sequences have different numbers of features: {sorted(widths)}.")
    n_features = widths.pop() if widths else 1
    flat = [i for i, a in enumerate(arrays) if a.ndim == 1 and a.size > 0]
    if n_features > 1 and flat:
        raise ValueError(
            f"Sequence {flat[0]} is 1-D (one value per step) but others have "
            f"{n_features} features per step; give it shape (length, {n_features})."
        )
    return np.full((len(arrays), max_len, n_features), value, dtype=dtype)


@dataclass
class Sequences:
    """A validated batch of sequences, ready for the network.

    ``data`` is ``(n, T)`` int ids (padding set to 0) when ``kind == "index"``,
    or ``(n, T, F)`` floats (padding set to 0) when ``kind == "dense"``.
    ``lengths[i]`` is the number of real steps of sample ``i``.
    """

    data: np.ndarray
    lengths: np.ndarray
    kind: str
    n_features: int

    def __len__(self):
        return self.data.shape[0]

    def take(self, index):
        """Sub-batch ``index`` with its time axis cut to the longest member."""
        lengths = self.lengths[index]
        T = int(lengths.max()) if len(lengths) else 0
        return Sequences(self.data[index, :T], lengths, self.kind, self.n_features)

    def largest_id(self):
        """(sample, step, id) of the largest token id (token-id data)."""
        i, t = np.unravel_index(int(np.argmax(self.data)), self.data.shape)
        return int(i), int(t), int(self.data[i, t])


def _describe(i, t=None):
    return f"sample {i}" + ("" if t is None else f", step {t}")


def one_hot_steps(data):
    """(n, T) mask of the steps of dense (n, T, F) ``data`` that are one-hot rows."""
    ones = data == 1
    return (ones | (data == 0)).all(axis=2) & (np.add.reduce(ones, axis=2) == 1)


def token_ids(seqs, who, hint=""):
    """(n, T) token ids of token-id or one-hot ``seqs``.

    A real step of one-hot input that is not one-hot is an error naming it; ``who``
    is the caller's name in that message and ``hint`` ends it.
    """
    if seqs.kind == "index":
        return seqs.data
    real = np.arange(seqs.data.shape[1])[None, :] < np.asarray(seqs.lengths)[:, None]
    bad = real & ~one_hot_steps(seqs.data)
    if bad.any():
        i, t = np.argwhere(bad)[0]
        raise ValueError(f"{who} takes float sequences only as one-hot rows, but sample {i}, "
                         f"step {t} is not one-hot (a single 1, zeros elsewhere).{hint}")
    return seqs.data.argmax(axis=2)


def is_one_hot(seqs):
    """Whether every real step of dense ``seqs`` is a one-hot row (a token, as an id is)."""
    real = np.arange(seqs.data.shape[1])[None, :] < np.asarray(seqs.lengths)[:, None]
    return bool(one_hot_steps(seqs.data)[real].all())


def _lengths_from_mask(real, what):
    """Lengths from a (n, T) boolean 'is a real step' mask; padding must be at the end."""
    _, T = real.shape
    lengths = real.sum(axis=1)
    # A real step after padding: the mask is not a prefix of ones.
    prefix = np.arange(T)[None, :] < lengths[:, None]
    bad = real != prefix
    if bad.any():
        i, _ = np.argwhere(bad)[0]
        first_pad = int(np.argmin(real[i]))
        raise ValueError(
            f"X has a real step after padding in {_describe(i)}: step {first_pad} is "
            f"padding ({what}) but step {int(np.nonzero(real[i])[0][-1])} is not. "
            "Pad sequences at their end only (see skrnn.pad_sequences)."
        )
    return lengths.astype(np.intp)


def check_sequences(X, *, n_features=None, dtype=np.float32, estimator_name="the estimator",
                    allow_index=True):
    """Validate ``X`` against the sequence contract.

    Parameters
    ----------
    X : array-like
        Float sequences (2-D univariate or 3-D, NaN end-padded) or integer token ids
        (2-D, -1 end-padded).
    n_features : int or None
        The per-step feature count (vocabulary size for ids) fitted before, or None
        at fit time. Token ids must be smaller than it; float input must have it.
    dtype : dtype
        Float dtype of dense output.

    Returns
    -------
    Sequences
    """
    if isinstance(X, (str, bytes)):
        raise TypeError(
            f"{estimator_name} expects an array of sequences, got a string. Turn text into "
            "sequences with skrnn.SequenceVectorizer first."
        )
    if hasattr(X, "toarray") or hasattr(X, "tocsr"):
        raise TypeError(
            f"{estimator_name} does not accept sparse input: pass token ids (an integer "
            "array) or a dense float array of sequences."
        )
    if isinstance(X, np.ndarray):
        arr = np.asarray(X)  # a subclass such as np.matrix becomes a plain array
    else:
        try:
            arr = np.asarray(X)
        except ValueError as exc:
            raise ValueError(
                f"{estimator_name} could not turn X into an array ({exc}). For sequences of "
                "different lengths use skrnn.pad_sequences."
            ) from None
    if arr.dtype == object or arr.dtype.kind in "USV":
        try:
            arr = arr.astype(np.float64)
        except (TypeError, ValueError) as exc:
            raise TypeError(
                f"{estimator_name} expects numeric sequences, got an array of dtype "
                f"{arr.dtype} ({exc}). Raw text goes through skrnn.SequenceVectorizer first."
            ) from None
    if arr.dtype.kind == "c":
        raise ValueError(f"Complex data not supported by {estimator_name}.")
    if arr.ndim not in (2, 3):
        raise ValueError(
            f"{estimator_name} expects a 2-D array (n_samples, n_timesteps) or a 3-D array "
            f"(n_samples, n_timesteps, n_features), got {arr.ndim}-D with shape {arr.shape}."
            + (" Reshape your data: a single sequence is X[None]." if arr.ndim == 1 else "")
        )
    if arr.shape[0] == 0:
        raise ValueError(
            f"Found array with 0 sample(s) (shape={arr.shape}) while a minimum of 1 is "
            f"required by {estimator_name}."
        )
    if arr.dtype.kind == "b":
        arr = arr.astype(dtype)

    if arr.dtype.kind in "iu":
        if not allow_index:
            arr = arr.astype(dtype)
        elif arr.ndim != 2:
            raise ValueError(
                f"Integer X means token ids and must be 2-D (n_samples, n_timesteps), got "
                f"shape {arr.shape}. Cast integer-valued features to float."
            )
        else:
            return _check_index(arr, n_features, estimator_name)
    return _check_dense(arr, n_features, dtype, estimator_name)


_MAX_TOKEN_ID = 2**31  # ids index rows of W_x (SequenceVectorizer writes int32)


def _check_index(arr, n_features, estimator_name):
    if arr.dtype == np.uint64 and arr.size and arr.max() > np.iinfo(np.int64).max:
        i, t = np.argwhere(arr > np.iinfo(np.int64).max)[0]
        raise ValueError(f"Token id {arr[i, t]} in {_describe(i, t)} is too large for a "
                         "token id.")
    ids = arr.astype(np.int64, copy=False)
    too_large = ids >= _MAX_TOKEN_ID
    if too_large.any():  # each id up to the largest is a row of weights
        i, t = np.argwhere(too_large)[0]
        raise ValueError(
            f"Token id {ids[i, t]} in {_describe(i, t)} is too large: ids must be below "
            "2**31, and a model has a row of weights for every id up to the largest. Map "
            "the tokens to ids 0 .. n_tokens - 1 (SequenceVectorizer does)."
        )
    bad = ids < -1
    if bad.any():
        i, t = np.argwhere(bad)[0]
        raise ValueError(
            f"Token id {ids[i, t]} in {_describe(i, t)} is negative; ids are >= 0 and -1 "
            "marks padding."
        )
    lengths = _lengths_from_mask(ids != -1, "-1")
    if n_features is not None:
        bad = ids >= n_features
        if bad.any():
            i, t = np.argwhere(bad)[0]
            raise ValueError(
                f"Token id {ids[i, t]} in {_describe(i, t)} is outside the vocabulary of "
                f"{n_features} tokens that {estimator_name} was fitted with."
            )
    data = np.where(ids == -1, 0, ids).astype(np.intp)
    n_tok = int(ids.max()) + 1 if n_features is None else n_features
    return Sequences(data, lengths, "index", max(n_tok, 1))


def _check_dense(arr, n_features, dtype, estimator_name):
    if arr.ndim == 2:
        arr = arr[:, :, None]
    if arr.dtype.kind != "f":
        arr = arr.astype(dtype)
    _, _, F = arr.shape
    if n_features is not None and F != n_features:
        raise ValueError(
            f"X has {F} features per step, but {estimator_name} is expecting {n_features} "
            "features as input."
        )
    if F == 0:
        raise ValueError(f"X has 0 features per step; {estimator_name} needs at least 1.")
    if np.isinf(arr).any():
        i, t, _ = np.argwhere(np.isinf(arr))[0]
        raise ValueError(f"Input X contains infinity in {_describe(i, t)}.")
    nan = np.isnan(arr)
    nan_steps = nan.all(axis=2)
    partial = nan.any(axis=2) & ~nan_steps
    if partial.any():
        i, t = np.argwhere(partial)[0]
        k = int(np.nonzero(nan[i, t])[0][0])
        raise ValueError(
            f"Input X contains NaN in only some features of {_describe(i, t)} (feature {k}); "
            "NaN is reserved for padding, where every feature of a step is NaN."
        )
    lengths = _lengths_from_mask(~nan_steps, "all NaN")
    data = np.where(nan, 0, arr) if nan.any() else arr
    if data.dtype != dtype:
        with np.errstate(over="ignore"):
            data = data.astype(dtype)
        if np.isinf(data).any():  # finite before the cast: too large for the dtype
            i, t, k = np.argwhere(np.isinf(data))[0]
            raise ValueError(
                f"Input X contains a value too large for {np.dtype(dtype).name} in "
                f"{_describe(i, t)} (feature {k}): {float(arr[i, t, k]):g}. Scale the input."
            )
    return Sequences(data, lengths, "dense", F)
