"""SequenceScaler: statistics over real steps only, padding kept, in a Pipeline."""

import numpy as np
import pytest
from sklearn.base import clone
from sklearn.exceptions import NotFittedError
from sklearn.pipeline import make_pipeline

from skrnn import RNNClassifier, SequenceScaler, pad_sequences

from ._data import fit_quietly


@pytest.fixture
def ragged():
    rng = np.random.RandomState(0)
    seqs = [rng.normal([5.0, -3.0], [2.0, 0.5], size=(n, 2)) for n in (7, 3, 0, 5)]
    return seqs, pad_sequences(seqs, dtype=np.float64)


def test_statistics_are_over_the_real_steps(ragged):
    seqs, X = ragged
    steps = np.concatenate([s for s in seqs if len(s)])
    scaler = SequenceScaler().fit(X)
    np.testing.assert_allclose(scaler.mean_, steps.mean(axis=0))
    np.testing.assert_allclose(scaler.var_, steps.var(axis=0))
    np.testing.assert_allclose(scaler.scale_, steps.std(axis=0))
    assert scaler.n_steps_seen_ == len(steps) and scaler.n_features_in_ == 2


def test_padding_stays_nan_and_real_steps_are_standardised(ragged):
    _seqs, X = ragged
    Z = SequenceScaler().fit_transform(X)
    np.testing.assert_array_equal(np.isnan(Z), np.isnan(X))
    real = Z[~np.isnan(Z).all(axis=2)]
    np.testing.assert_allclose(real.mean(axis=0), 0.0, atol=1e-12)
    np.testing.assert_allclose(real.std(axis=0), 1.0)


def test_inverse_transform_round_trips(ragged):
    _, X = ragged
    scaler = SequenceScaler().fit(X)
    np.testing.assert_allclose(scaler.inverse_transform(scaler.transform(X)), X)


def test_univariate_2d_input_and_dtype_are_kept():
    X = np.array([[1.0, 2.0, np.nan], [3.0, 4.0, 5.0]], dtype=np.float32)
    Z = SequenceScaler().fit_transform(X)
    assert Z.shape == X.shape and Z.dtype == np.float32
    assert np.isnan(Z[0, 2]) and not np.isnan(Z[1]).any()


def test_options_and_constant_features():
    X = np.array([[[1.0, 7.0], [3.0, 7.0]]])
    only_mean = SequenceScaler(with_std=False).fit(X)
    assert only_mean.scale_ is None
    np.testing.assert_allclose(only_mean.transform(X)[0, :, 0], [-1.0, 1.0])
    only_std = SequenceScaler(with_mean=False).fit(X)
    assert only_std.mean_ is None
    np.testing.assert_allclose(only_std.scale_, [1.0, 1.0])  # the constant one: unscaled
    np.testing.assert_allclose(SequenceScaler().fit_transform(X)[0, :, 1], [0.0, 0.0])


def test_bad_input_is_refused(ragged):
    _, X = ragged
    scaler = SequenceScaler().fit(X)
    with pytest.raises(ValueError, match="features"):
        scaler.transform(X[:, :, :1])
    broken = X.copy()
    broken[0, 1, 0] = np.nan  # a NaN inside a real step is not padding
    with pytest.raises(ValueError, match="sample 0, step 1"):
        SequenceScaler().fit(broken)
    with pytest.raises(ValueError, match="every sequence of X is empty"):
        SequenceScaler().fit(np.full((2, 3, 1), np.nan))
    with pytest.raises(NotFittedError):
        SequenceScaler().transform(X)
    with pytest.raises(TypeError, match="integer array, which skrnn reads as token ids"):
        SequenceScaler().fit(np.array([[1, 2], [3, -1]]))
    with pytest.raises(TypeError, match="string"):
        SequenceScaler().fit("not sequences")


def test_works_first_in_a_pipeline(ragged):
    rng = np.random.RandomState(1)
    X = pad_sequences([rng.normal(100.0, 50.0, size=(n, 1)) for n in rng.randint(2, 9, 40)])
    y = (np.nanmean(X[:, :, 0], axis=1) > 100.0).astype(int)
    model = make_pipeline(SequenceScaler(), RNNClassifier(hidden_layer_sizes=(8,),
                                                          max_iter=40, random_state=0))
    fit_quietly(model, X, y)
    assert model.score(X, y) >= 0.9
    assert clone(model).get_params()["sequencescaler__with_mean"] is True
