"""The sequence input contract: padding helper and the errors bad input gets."""

import numpy as np
import pytest
from sklearn.exceptions import ConvergenceWarning

from skrnn import RNNClassifier, pad_sequences
from skrnn._validation import check_sequences


def test_pad_sequences_token_ids():
    X = pad_sequences([[3, 1, 4], [1], []])
    assert X.dtype == np.int32
    np.testing.assert_array_equal(X, [[3, 1, 4], [1, -1, -1], [-1, -1, -1]])


def test_pad_sequences_float_sequences_and_truncation():
    seqs = [np.ones((3, 2)), np.zeros((1, 2))]
    X = pad_sequences(seqs)
    assert X.shape == (2, 3, 2) and X.dtype == np.float32
    assert np.isnan(X[1, 1:]).all() and (X[1, 0] == 0).all()
    np.testing.assert_array_equal(pad_sequences([[1, 2, 3]], max_len=2), [[2, 3]])
    np.testing.assert_array_equal(pad_sequences([[1, 2, 3]], max_len=2, truncating="post"),
                                  [[1, 2]])
    univariate = pad_sequences([np.array([0.5, 1.5]), np.array([2.0])])
    assert univariate.shape == (2, 2, 1)


def test_pad_sequences_errors():
    with pytest.raises(ValueError, match="different numbers of features"):
        pad_sequences([np.ones((2, 3)), np.ones((2, 4))])
    with pytest.raises(ValueError, match="truncating"):
        pad_sequences([[1]], truncating="middle")
    with pytest.raises(ValueError, match="empty list"):
        pad_sequences([])
    with pytest.raises(ValueError, match=r"Sequence 1 is 1-D \(one value per step\) but "
                                         r"others have 3 features per step"):
        pad_sequences([np.zeros((2, 3)), [1.0, 2.0]])
    assert pad_sequences([np.zeros((2, 1)), [1.0, 2.0]]).shape == (2, 2, 1)  # univariate
    with pytest.raises(ValueError, match="sequence 1 has values outside the range of int32"):
        pad_sequences([[1], [2**40]])
    with pytest.raises(TypeError, match="sequence 0 is complex"):
        pad_sequences([[1j]])
    with pytest.raises(TypeError, match="sequence 1 is of dtype <U1.*SequenceVectorizer"):
        pad_sequences([[1], ["a", "b"]])
    with pytest.raises(ValueError, match="max_len must be a non-negative integer, got True"):
        pad_sequences([[1]], max_len=True)


def test_check_sequences_lengths_and_kinds():
    X = np.array([[[1.0], [2.0], [np.nan]], [[np.nan], [np.nan], [np.nan]]])
    seqs = check_sequences(X)
    assert seqs.kind == "dense" and seqs.lengths.tolist() == [2, 0]
    assert not np.isnan(seqs.data).any()
    ids = check_sequences(np.array([[2, 0, -1], [1, -1, -1]]))
    assert ids.kind == "index" and ids.lengths.tolist() == [2, 1] and ids.n_features == 3
    two_d = check_sequences(np.ones((4, 7)))
    assert two_d.data.shape == (4, 7, 1)


@pytest.mark.parametrize(
    "X, message",
    [
        (np.array([[[1.0, np.nan], [1.0, 2.0]]]),
         r"NaN in only some features of sample 0, step 0 \(feature 1\)"),
        (np.array([[1.0, 2.0], [np.nan, 3.0]]),
         r"real step after padding in sample 1: step 0 is padding \(all NaN\) but step 1"),
        (np.array([[1.0, np.inf], [1.0, 2.0]]), r"infinity in sample 0, step 1"),
        (np.array([[3, -1, 2]]), r"real step after padding in sample 0: step 1 is padding"),
        (np.array([[3, -2]]), r"Token id -2 in sample 0, step 1 is negative"),
        (np.ones(3), r"2-D array .* or a 3-D array .* got 1-D"),
        (np.ones((2, 2, 2, 2)), r"got 4-D"),
        (np.ones((0, 3)), r"0 sample\(s\)"),
        (np.ones((2, 3, 2), dtype=int), r"Integer X means token ids and must be 2-D"),
        ("some text", r"got a string"),
        (np.array([[1 + 2j]]), r"Complex data not supported"),
    ],
)
def test_bad_sequences_get_clear_errors(X, message):
    with pytest.raises((ValueError, TypeError), match=message):
        check_sequences(X)


def test_object_array_that_is_not_numeric():
    X = np.array([[1.0, "a"]], dtype=object)
    with pytest.raises(TypeError, match="expects numeric sequences"):
        check_sequences(X)


def test_fitted_estimator_rejects_wrong_features_and_unknown_ids():
    rng = np.random.RandomState(0)
    X = rng.normal(size=(10, 4, 3)).astype(np.float32)
    y = np.arange(10) % 2
    clf = RNNClassifier(hidden_layer_sizes=(4,), max_iter=2, random_state=0)
    with pytest.warns(ConvergenceWarning):
        clf.fit(X, y)
    with pytest.raises(ValueError, match="X has 2 features per step, but RNNClassifier is "
                                         "expecting 3"):
        clf.predict(X[:, :, :2])
    ids = np.array([[0, 1, 2], [2, 1, -1]])
    clf_ids = RNNClassifier(hidden_layer_sizes=(4,), max_iter=2, random_state=0)
    with pytest.warns(ConvergenceWarning):
        clf_ids.fit(ids, [0, 1])
    with pytest.raises(ValueError, match=r"Token id 7 in sample 1, step 0 is outside the "
                                         r"vocabulary of 3 tokens"):
        clf_ids.predict(np.array([[0, -1], [7, 1]]))
    # Other sequence lengths are legal: a 2-D array's width is the number of steps.
    assert clf.predict(rng.normal(size=(2, 9, 3))).shape == (2,)


def test_value_too_large_for_the_dtype_is_named():
    # Finite in float64, infinite in float32: scikit-learn's check_array names it too.
    X = np.array([[1.0, 2.0, 3.0], [1.0, 1e39, 2.0]])
    with pytest.raises(ValueError, match=r"too large for float32 in sample 1, step 1 "
                                         r"\(feature 0\): 1e\+39"):
        check_sequences(X, dtype=np.float32)
    assert np.isfinite(check_sequences(X, dtype=np.float64).data).all()
    clf = RNNClassifier(hidden_layer_sizes=(3,), max_iter=1, random_state=0)
    with pytest.raises(ValueError, match="too large for float32"):
        clf.fit(X, [0, 1])


def test_fitted_model_rejects_the_other_input_kind():
    # Integer X means token ids, float X values: a model fitted on one must not read
    # the other as its own (an integer-valued series taken for ids, say).
    rng = np.random.RandomState(0)
    X = rng.normal(size=(10, 5))
    y = np.arange(10) % 2
    clf = RNNClassifier(hidden_layer_sizes=(3,), max_iter=2, random_state=0)
    with pytest.warns(ConvergenceWarning):
        clf.fit(X, y)
    with pytest.raises(ValueError, match=r"integer array, which skrnn reads as token ids, "
                                         r"but RNNClassifier was fitted on float feature "
                                         r"values.*X.astype\(float\)"):
        clf.predict(np.zeros((2, 5), dtype=int))
    with pytest.raises(ValueError, match="fitted on float feature values; warm_start and "
                                         "partial_fit"):
        clf.partial_fit(np.zeros((2, 5), dtype=int), [0, 1])
    assert clf.predict(np.zeros((2, 5))).shape == (2,)
    # One-hot rows are tokens, as ids are: a model fitted on them takes ids.
    ids = rng.randint(0, 4, size=(10, 5))
    onehot = np.eye(4)[ids]
    clf_onehot = RNNClassifier(hidden_layer_sizes=(3,), max_iter=2, random_state=0)
    with pytest.warns(ConvergenceWarning):
        clf_onehot.fit(onehot, y)
    np.testing.assert_array_equal(clf_onehot.predict_proba(ids),
                                  clf_onehot.predict_proba(onehot))


def test_zero_length_sequence_is_legal_at_predict():
    rng = np.random.RandomState(0)
    X = rng.normal(size=(12, 5))
    y = (X[:, 0] > 0).astype(int)
    clf = RNNClassifier(hidden_layer_sizes=(4,), max_iter=3, random_state=0)
    with pytest.warns(ConvergenceWarning):
        clf.fit(X, y)
    empty = np.full((1, 5), np.nan)
    proba = clf.predict_proba(empty)
    # From h_0 = 0 alone, the logits are the output bias.
    b = clf.params_["b_y"].astype(np.float64)
    np.testing.assert_allclose(proba[0], np.exp(b) / np.exp(b).sum(), rtol=1e-5)


@pytest.mark.parametrize("X", [[[1, 2, 3], [4, 5]], [np.ones(3), np.ones(2)]])
def test_ragged_list_points_to_pad_sequences(X):
    # Not the contract, but a common first try: the error says what to do, at fit and
    # at predict.
    with pytest.raises(ValueError, match="skrnn.pad_sequences"):
        RNNClassifier(max_iter=1).fit(X, [0, 1])
    clf = RNNClassifier(max_iter=1, random_state=0).fit(pad_sequences(X), [0, 1])
    with pytest.raises(ValueError, match="skrnn.pad_sequences"):
        clf.predict(X)
