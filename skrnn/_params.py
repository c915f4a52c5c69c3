"""Checks of hyperparameters and weights, with messages that name the parameter.

Every estimator and the vectorizer validate their parameters at fit with these, as
scikit-learn's own estimators do with their (private) parameter constraints. Each check
raises :class:`InvalidParameterError`, which is both a ``ValueError`` and a
``TypeError`` (as scikit-learn's is), so callers may catch either.
"""

from numbers import Integral, Real

import numpy as np


class InvalidParameterError(ValueError, TypeError):
    """A hyperparameter of the wrong type or value."""


def _is_bool(value):
    return isinstance(value, (bool, np.bool_))


def check_int(name, value, low=1, allow_none=False):
    """``value`` is an integer >= ``low`` (bool is not), or None when allowed."""
    if value is None and allow_none:
        return
    if _is_bool(value) or not isinstance(value, Integral) or value < low:
        also = " or None" if allow_none else ""
        raise InvalidParameterError(f"{name} must be an integer >= {low}{also}, got "
                                    f"{value!r}.")


def check_real(name, value, low, high=None, low_open=False, high_open=False,
               allow_none=False):
    """``value`` is a finite real number in the interval given (bool is not)."""
    if value is None and allow_none:
        return
    ok = isinstance(value, Real) and not _is_bool(value)
    ok = ok and np.isfinite(value) and (value > low if low_open else value >= low)
    if high is not None:
        ok = ok and (value < high if high_open else value <= high)
    if not ok:
        lo = "(" if low_open else "["
        hi = ")" if high_open else "]"
        interval = f"{lo}{low}, {high}{hi}" if high is not None else f"{lo}{low}, inf)"
        raise InvalidParameterError(f"{name} must be a number in {interval}, got {value!r}.")


def check_option(name, value, options):
    """``value`` is one of the strings ``options``."""
    if not isinstance(value, str) or value not in options:
        raise InvalidParameterError(
            f"{name} must be one of {', '.join(map(repr, options))}; got {value!r}.")


def check_bool(name, value):
    if not _is_bool(value):
        raise InvalidParameterError(f"{name} must be True or False, got {value!r}.")


def check_sample_weight(sample_weight, n_samples, dtype):
    """Per-sample weights as a 1-D array of ``dtype``: finite, non-negative, not all zero."""
    if sample_weight is None:
        return None
    if isinstance(sample_weight, Real):
        sample_weight = np.full(n_samples, sample_weight)
    w = np.asarray(sample_weight)
    if w.ndim != 1 or w.shape[0] != n_samples:
        raise ValueError(
            f"sample_weight must be 1-D with one weight per sample ({n_samples}), got shape "
            f"{w.shape}."
        )
    try:
        w = w.astype(dtype)
    except (TypeError, ValueError):
        raise TypeError(f"sample_weight must be numeric, got dtype {w.dtype}.") from None
    if not np.isfinite(w).all():
        raise ValueError(f"sample_weight contains NaN or infinity at index "
                         f"{int(np.nonzero(~np.isfinite(w))[0][0])}.")
    if (w < 0).any():
        raise ValueError(f"sample_weight must be non-negative; index "
                         f"{int(np.nonzero(w < 0)[0][0])} is {w[w < 0][0]}.")
    check_weight_sum(w, "sample_weight")
    return w


def check_weight_sum(w, what):
    if not w.sum() > 0:
        raise ValueError(f"{what} sums to zero: there is nothing to learn from.")
