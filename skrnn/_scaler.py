"""SequenceScaler: per-feature standardisation of float sequences, padding kept."""

import numpy as np
from sklearn.base import BaseEstimator, OneToOneFeatureMixin, TransformerMixin
from sklearn.utils.validation import check_is_fitted

from ._params import check_bool
from ._validation import check_sequences

__all__ = ["SequenceScaler"]


class SequenceScaler(OneToOneFeatureMixin, TransformerMixin, BaseEstimator):
    """Standardise each feature of float sequences over their real steps.

    The time-series counterpart of :class:`~sklearn.preprocessing.StandardScaler`:
    the mean and standard deviation of every feature are computed over all real steps
    of all training sequences (NaN padding steps ignored) and each step becomes
    ``(x - mean_) / scale_``; padding stays NaN, so the output is valid input for the
    skrnn estimators. Put it first in a :class:`~sklearn.pipeline.Pipeline` of time
    series: recurrent cells saturate on inputs far from unit scale.

    Parameters
    ----------
    with_mean : bool, default=True
        Subtract the mean of each feature.
    with_std : bool, default=True
        Divide by the standard deviation of each feature (a constant feature is left
        unscaled, as StandardScaler does).

    Attributes
    ----------
    mean_ : ndarray of shape (n_features,) or None
        Mean of each feature over the real steps (None when ``with_mean=False``).
    var_ : ndarray of shape (n_features,) or None
        Variance of each feature (None when ``with_std=False``).
    scale_ : ndarray of shape (n_features,) or None
        What each feature is divided by (None when ``with_std=False``).
    n_features_in_ : int
        Features per step.
    n_steps_seen_ : int
        Real steps the statistics were computed over.

    See Also
    --------
    sklearn.preprocessing.StandardScaler : The same for tabular data.
    skrnn.pad_sequences : Builds the padded array form from ragged sequences.

    Examples
    --------
    >>> import numpy as np
    >>> from skrnn import SequenceScaler
    >>> X = np.array([[[1.0, 10.0], [3.0, 30.0]], [[5.0, 50.0], [np.nan, np.nan]]])
    >>> scaler = SequenceScaler().fit(X)
    >>> scaler.mean_
    array([ 3., 30.])
    >>> scaler.transform(X)[1]
    array([[1.22474487, 1.22474487],
           [       nan,        nan]])
    """

    def __init__(self, *, with_mean=True, with_std=True):
        self.with_mean = with_mean
        self.with_std = with_std

    def _steps(self, X, fitted):
        """(array as given, float, 3-D view; real-step mask (n, T)), validated."""
        name = type(self).__name__
        dtype = getattr(X, "dtype", None)
        if dtype is not None and np.dtype(dtype).kind in "iu":
            raise TypeError(
                f"{name} scales float feature values, but X is an integer array, which "
                "skrnn reads as token ids. Cast an integer-valued series to float "
                "(X.astype(float)); token ids need no scaling.")
        seqs = check_sequences(X, n_features=self.n_features_in_ if fitted else None,
                               dtype=np.float64, estimator_name=name, allow_index=False)
        arr = np.asarray(X)
        if seqs.data.shape[1] == 0:
            raise ValueError(
                f"Found array with 0 feature(s) (shape={arr.shape}) while a minimum of 1 is "
                f"required by {name}: X has no time steps.")
        if arr.dtype.kind != "f":
            arr = arr.astype(np.float64)
        arr3 = arr[:, :, None] if arr.ndim == 2 else arr
        real = np.arange(arr3.shape[1])[None, :] < seqs.lengths[:, None]
        return arr, arr3, real

    def fit(self, X, y=None):
        """Compute each feature's mean and standard deviation over the real steps.

        Parameters
        ----------
        X : array-like of shape (n_samples, n_timesteps[, n_features])
            Float sequences, shorter ones end-padded with all-NaN steps.
        y : None
            Ignored.

        Returns
        -------
        self : SequenceScaler
            The fitted scaler.
        """
        check_bool("with_mean", self.with_mean)
        check_bool("with_std", self.with_std)
        _arr, arr3, real = self._steps(X, fitted=False)
        steps = arr3[real].astype(np.float64)  # (n_real_steps, F)
        if len(steps) == 0:
            raise ValueError("SequenceScaler needs at least one real step to fit; every "
                             "sequence of X is empty.")
        self.n_features_in_ = arr3.shape[2]
        self.n_steps_seen_ = len(steps)
        mean = steps.mean(axis=0)
        self.mean_ = mean if self.with_mean else None
        if self.with_std:
            self.var_ = steps.var(axis=0)
            scale = np.sqrt(self.var_)
            # Constant features (up to rounding) are left as they are, as StandardScaler.
            tiny = scale < 10 * np.finfo(np.float64).eps * np.maximum(np.abs(mean), 1.0)
            self.scale_ = np.where(tiny, 1.0, scale)
        else:
            self.var_ = self.scale_ = None
        return self

    def transform(self, X):
        """Standardise the real steps of ``X``; padding steps stay NaN.

        Parameters
        ----------
        X : array-like of shape (n_samples, n_timesteps[, n_features])
            Float sequences with the fitted number of features.

        Returns
        -------
        X_scaled : ndarray of the shape of ``X``
            In ``X``'s float dtype (float64 for other input).
        """
        return self._apply(X, inverse=False)

    def inverse_transform(self, X):
        """Undo :meth:`transform`: back to the original units; padding stays NaN.

        Parameters
        ----------
        X : array-like of shape (n_samples, n_timesteps[, n_features])
            Scaled float sequences.

        Returns
        -------
        X_original : ndarray of the shape of ``X``
            In ``X``'s float dtype (float64 for other input).
        """
        return self._apply(X, inverse=True)

    def _apply(self, X, inverse):
        check_is_fitted(self, "n_features_in_")
        arr, arr3, real = self._steps(X, fitted=True)
        out = np.array(arr3, dtype=arr.dtype, copy=True)
        mean = 0.0 if self.mean_ is None else self.mean_.astype(arr.dtype)
        scale = 1.0 if self.scale_ is None else self.scale_.astype(arr.dtype)
        if inverse:
            out = out * scale + mean
        else:
            out = (out - mean) / scale
        out[~real] = np.nan  # padding stays padding (whatever it held, NaN)
        return out[:, :, 0] if arr.ndim == 2 else out

    def __sklearn_tags__(self):
        tags = super().__sklearn_tags__()
        tags.input_tags.three_d_array = True
        # NaN only as whole padding steps at a sequence's end, not anywhere (allow_nan).
        return tags
