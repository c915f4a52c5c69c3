"""Data builders and checks shared by the test modules.

Sequences follow the input contract: end-padded, with all-NaN steps (float) or -1
(token ids) after each sequence's last real step.
"""

import warnings

import numpy as np
from sklearn.exceptions import ConvergenceWarning


def padding_mask(lengths, n_steps):
    """(n_samples, n_steps) booleans: True at the steps after each sequence's length."""
    return np.arange(n_steps)[None, :] >= np.asarray(lengths)[:, None]


def end_pad(X, lengths, value=np.nan):
    """Set the steps of ``X`` after each ``lengths[i]`` to ``value``, in place; return X."""
    X[padding_mask(lengths, X.shape[1])] = value
    return X


def ragged_ids(rng, n, steps=12, vocab=7):
    """Token ids padded with -1; lengths uniform in 0..steps (empty sequences included)."""
    X = rng.randint(0, vocab, size=(n, steps))
    return end_pad(X, rng.randint(0, steps + 1, size=n), -1)


def sequence_lengths(X):
    """Real steps of each sequence of a NaN end-padded float array (n, T, F)."""
    return (~np.isnan(X).all(axis=2)).sum(axis=1)


def assert_end_padded(X):
    """Every sequence of X is real steps, then all-NaN steps (no NaN in part of a step)."""
    nan_steps = np.isnan(X)
    assert np.array_equal(nan_steps.any(axis=2), nan_steps.all(axis=2))
    np.testing.assert_array_equal(nan_steps.all(axis=2),
                                  padding_mask(sequence_lengths(X), X.shape[1]))


def fit_quietly(est, X, y=None, **fit_params):
    """``est.fit`` with ConvergenceWarning silenced (short fits that stop at max_iter)."""
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", ConvergenceWarning)
        return est.fit(X, y, **fit_params)


def ragged_floats(rng, lengths, n_features):
    """Standard normal float sequences of ``lengths``, NaN end-padded to the longest."""
    lengths = np.asarray(lengths)
    return end_pad(rng.normal(size=(len(lengths), lengths.max(), n_features)), lengths)


def train_test_task(make, n_train, n_test, seed=0):
    """``(X_train, X_test, y_train, y_test)`` from ``make(n_samples, rng)``, drawn one after
    the other from ``np.random.RandomState(seed)``."""
    rng = np.random.RandomState(seed)
    X_train, y_train = make(n_train, rng)
    X_test, y_test = make(n_test, rng)
    return X_train, X_test, y_train, y_test


def sign_of_sum_task():
    """(X, y): the sign of the sum of 60 univariate series of 6 steps, "pos" or "neg":
    learnable in a few epochs."""
    rng = np.random.RandomState(0)
    X = rng.normal(size=(60, 6)).astype(np.float32)
    return X, np.where(X.sum(axis=1) > 0, "pos", "neg")
