"""RNNRegressor behaviour: learning, targets, weights, incremental fits, failures."""

import pickle
import warnings

import numpy as np
import pytest
from sklearn.exceptions import ConvergenceWarning, DataConversionWarning
from sklearn.metrics import r2_score

from skrnn import RNNRegressor, pad_sequences

from ._data import fit_quietly, ragged_floats, train_test_task
from ._gradcheck import assert_gradients_match
from ._objective import objective

MAX_LEN = 10


def _ragged_task(n_samples, rng):
    """Univariate sequences of 1 to 10 steps; targets: their sum and their last value.

    The last value needs the network to know where each sequence ends (padding must not
    move the state), and the sum needs it to accumulate over every real step.
    """
    lengths = rng.randint(1, MAX_LEN + 1, size=n_samples)
    seqs = [rng.uniform(-1, 1, size=(n, 1)) for n in lengths]
    X = pad_sequences(seqs, max_len=MAX_LEN, dtype=np.float32)
    y = np.column_stack([[s.sum() for s in seqs], [s[-1, 0] for s in seqs]])
    return X, y


@pytest.fixture(scope="module")
def ragged():
    return train_test_task(_ragged_task, 300, 200)


def _fit(X, y, sample_weight=None, **kw):
    params = {"hidden_layer_sizes": (16,), "max_iter": 60, "random_state": 0}
    params.update(kw)
    return fit_quietly(RNNRegressor(**params), X, y, sample_weight=sample_weight)


# Test R^2 measured with these settings (random_state 0, 1, 2; at most 60 epochs), one
# direction. The sum alone: rnn 0.979-0.990, lstm 0.998-0.999, gru 0.998-0.999. Sum and
# last value together (gru, per target): 0.998-0.999 and 0.999; bidirectional 0.998-0.999
# and 0.999. Partial fit, 15 epochs of the vanilla cell: 0.991. The thresholds leave a
# margin for other platforms' rounding.
@pytest.mark.parametrize("cell, threshold", [("rnn", 0.95), ("lstm", 0.98), ("gru", 0.98)])
def test_learns_the_sum_of_ragged_sequences(ragged, cell, threshold):
    X_train, X_test, y_train, y_test = ragged
    reg = _fit(X_train, y_train[:, 0], cell=cell)
    assert reg.predict(X_test).shape == (len(X_test),)
    assert reg.score(X_test, y_test[:, 0]) >= threshold


def test_multi_output(ragged):
    X_train, X_test, y_train, y_test = ragged
    reg = _fit(X_train, y_train, cell="gru")
    assert reg.n_outputs_ == 2
    assert reg.params_["W_y"].shape == (16, 2)
    pred = reg.predict(X_test)
    assert pred.shape == (len(X_test), 2)
    # Both targets are learned, not just their average.
    assert r2_score(y_test, pred, multioutput="raw_values").min() >= 0.98


def test_score_is_r2(ragged):
    X_train, X_test, y_train, y_test = ragged
    reg = _fit(X_train, y_train, max_iter=5)
    pred = reg.predict(X_test)
    assert reg.score(X_test, y_test) == pytest.approx(r2_score(y_test, pred))
    w = np.linspace(0.5, 2.0, len(X_test))
    assert reg.score(X_test, y_test, sample_weight=w) == pytest.approx(
        r2_score(y_test, pred, sample_weight=w))


def test_bidirectional(ragged):
    X_train, X_test, y_train, y_test = ragged
    reg = _fit(X_train, y_train, cell="gru", bidirectional=True)
    assert {"l0.W_h", "l0r.W_h"} <= set(reg.params_)
    assert reg.params_["W_y"].shape == (32, 2)  # [forward, reverse] final states
    assert reg.score(X_test, y_test) >= 0.98


def test_padding_is_skipped_exactly(ragged):
    """More padding, or a batch of another composition, does not change a prediction."""
    X_train, X_test, y_train, _ = ragged
    reg = _fit(X_train, y_train, max_iter=5, dtype=np.float64)
    longer = np.concatenate([X_test, np.full((len(X_test), 7, 1), np.nan)], axis=1)
    np.testing.assert_allclose(reg.predict(longer), reg.predict(X_test), rtol=1e-12)
    one_by_one = np.vstack([reg.predict(X_test[i : i + 1]) for i in range(5)])
    np.testing.assert_allclose(one_by_one, reg.predict(X_test)[:5], rtol=1e-12)
    # 2-D input is a batch of univariate sequences, the same as 3-D with one feature.
    np.testing.assert_array_equal(reg.predict(X_test[:, :, 0]), reg.predict(X_test))


def test_zero_length_sequence_predicts_from_the_initial_state(ragged):
    X_train, _, y_train, _ = ragged
    reg = _fit(X_train, y_train[:, 0], max_iter=3, dtype=np.float64)
    empty = np.full((2, MAX_LEN, 1), np.nan)
    # The state stays h_0 = 0, so the output is the output layer's bias.
    np.testing.assert_allclose(reg.predict(empty), reg.params_["b_y"][0], rtol=1e-12)


def test_sample_weight_equals_repetition_in_loss_and_gradient():
    rng = np.random.RandomState(0)
    X = rng.normal(size=(4, 5, 2))
    y = rng.normal(size=(4, 2))
    w = np.array([2.0, 1.0, 3.0, 1.0])
    reg = _fit(X, y, max_iter=1, alpha=0.1, dtype=np.float64, hidden_layer_sizes=(3,))
    seqs = reg._check_X(X, fitted=True)
    rep = np.repeat(np.arange(4), w.astype(int))
    loss_w, grads_w = objective(reg, reg.params_, seqs, y, w)
    loss_r, grads_r = objective(reg, reg.params_, seqs.take(rep), y[rep])
    assert loss_w == pytest.approx(loss_r, rel=1e-12)
    for k in grads_w:
        np.testing.assert_allclose(grads_w[k], grads_r[k], rtol=1e-10, atol=1e-14)


def test_sample_weight_pulls_predictions(ragged):
    # Two copies of the data with targets +1 and -1: the heavier copy wins.
    X_train, _, _, _ = ragged
    X = np.concatenate([X_train, X_train])
    y = np.r_[np.ones(len(X_train)), -np.ones(len(X_train))]
    w = np.r_[np.full(len(X_train), 3.0), np.ones(len(X_train))]
    reg = _fit(X, y, sample_weight=w, max_iter=20)
    # The weighted least-squares optimum is (3 - 1) / (3 + 1) = 0.5 for every sequence.
    assert np.mean(reg.predict(X_train)) == pytest.approx(0.5, abs=0.1)


@pytest.mark.parametrize("cell", ["rnn", "lstm", "gru"])
def test_estimator_loss_gradient_with_l2_and_weights(cell):
    """The full training objective (weighted squared loss + L2) against finite differences."""
    rng = np.random.RandomState(1)
    X = ragged_floats(rng, [4, 2, 4, 0, 4], 2)  # one short sequence, one empty
    y = rng.normal(size=(5, 2))
    w = rng.uniform(0.5, 2.0, 5)
    reg = _fit(X, y, cell=cell, hidden_layer_sizes=(3,), bidirectional=True, alpha=0.3,
               dtype=np.float64, max_iter=1)
    seqs = reg._check_X(X, fitted=True)
    params = {k: v + rng.normal(0, 0.3, v.shape) for k, v in reg.params_.items()}
    _, grads = objective(reg, params, seqs, y, w)
    assert_gradients_match(lambda: objective(reg, params, seqs, y, w)[0], params, grads)


def test_partial_fit(ragged):
    X_train, X_test, y_train, y_test = ragged
    reg = RNNRegressor(hidden_layer_sizes=(16,), random_state=0)
    scores = []
    for _ in range(15):
        reg.partial_fit(X_train, y_train)
        scores.append(reg.score(X_test, y_test))
    assert reg.n_iter_ == 15 and len(reg.loss_curve_) == 15
    assert reg.t_ == 15 * len(X_train)
    assert scores[-1] > scores[0] and scores[-1] >= 0.9
    with pytest.raises(ValueError, match="y has 1 targets but the model was fitted with 2"):
        reg.partial_fit(X_train, y_train[:, 0])
    with pytest.raises(ValueError, match="features per step"):
        reg.partial_fit(np.ones((3, 4, 2)), np.ones((3, 2)))
    with pytest.raises(ValueError, match="partial_fit cannot be used with early_stopping"):
        RNNRegressor(early_stopping=True).partial_fit(X_train, y_train)


def test_partial_fit_equals_one_epoch_of_fit(ragged):
    X_train, _, y_train, _ = ragged
    a = RNNRegressor(hidden_layer_sizes=(8,), random_state=3).partial_fit(X_train, y_train)
    b = _fit(X_train, y_train, hidden_layer_sizes=(8,), random_state=3, max_iter=1)
    for k in a.params_:
        np.testing.assert_array_equal(a.params_[k], b.params_[k])


def test_early_stopping_scores_r2(ragged):
    X_train, _, y_train, _ = ragged
    reg = _fit(X_train, y_train, early_stopping=True, n_iter_no_change=3, max_iter=100)
    assert reg.best_loss_ is None
    assert len(reg.validation_scores_) == reg.n_iter_ < 100
    assert reg.best_validation_score_ == max(reg.validation_scores_)
    assert 0.9 < reg.best_validation_score_ <= 1.0


def test_early_stopping_needs_two_validation_samples(ragged):
    X_train, _, y_train, _ = ragged
    with pytest.raises(ValueError, match="R\\^2, which needs at least 2 samples; "
                                         "validation_fraction=0.1 holds out 1"):
        RNNRegressor(early_stopping=True).fit(X_train[:10], y_train[:10])


def test_fitted_attributes_and_determinism(ragged):
    X_train, _, y_train, _ = ragged
    reg = RNNRegressor(hidden_layer_sizes=(4,), max_iter=3, random_state=0)
    with pytest.warns(ConvergenceWarning, match=r"Maximum iterations \(3\) reached"):
        reg.fit(X_train, y_train)
    assert reg.n_features_in_ == 1 and reg.n_outputs_ == 2
    assert reg.n_iter_ == 3 and reg.t_ == 3 * len(X_train)
    assert reg.best_loss_ == min(reg.loss_curve_)
    assert reg.validation_scores_ is None and reg.best_validation_score_ is None
    again = _fit(X_train, y_train, hidden_layer_sizes=(4,), max_iter=3, random_state=0)
    assert pickle.dumps(again.params_) == pickle.dumps(reg.params_)


def test_column_target_is_raveled_with_a_warning(ragged):
    X_train, _, y_train, _ = ragged
    with pytest.warns(DataConversionWarning):
        reg = _fit(X_train[:40], y_train[:40, :1], max_iter=2)
    assert reg.n_outputs_ == 1
    assert reg.predict(X_train[:3]).shape == (3,)


def test_integer_targets_are_numbers(ragged):
    X_train, _, _, _ = ragged
    y = np.arange(len(X_train)) % 3
    reg = _fit(X_train, y, max_iter=2)
    assert reg.predict(X_train[:2]).dtype.kind == "f"


@pytest.mark.parametrize(
    "y, message",
    [
        (np.array(["a", "b"] * 20), r"y must be numeric"),
        (np.ones(39), r"X has 40 sequences but y has 39 targets"),
        (np.ones((40, 2, 2)), r"y must be 1-D or 2-D"),
        (np.r_[np.ones(39), np.nan], r"y contains NaN or infinity \(sample 39\)"),
        (np.r_[np.inf, np.ones(39)], r"y contains NaN or infinity \(sample 0\)"),
        (None, r"requires y to be passed"),
        (np.ones(40) + 1j, r"Complex data not supported"),
        (np.ones((40, 0)), r"y has shape \(40, 0\): at least 1 target"),
        (np.r_[np.ones(5), 1e39, np.ones(34)],
         r"y of sample 5 is too large for float32 \(the model's dtype\)"),
    ],
)
def test_bad_targets(ragged, y, message):
    X_train = ragged[0][:40]
    with pytest.raises(ValueError, match=message):
        RNNRegressor(max_iter=1).fit(X_train, y)


def test_bad_sequences(ragged):
    X_train, _, y_train, _ = ragged
    X, y = X_train[:20].copy(), y_train[:20]
    bad = X.copy()
    bad[2, 0, 0] = np.inf
    with pytest.raises(ValueError, match="infinity"):
        RNNRegressor(max_iter=1).fit(bad, y)
    gap = np.full((2, 4, 1), 1.0)
    gap[1, 1] = np.nan  # a real step after a padding step
    with pytest.raises(ValueError, match="padding"):
        RNNRegressor(max_iter=1).fit(gap, np.ones(2))
    with pytest.raises(ValueError, match="got 4-D"):
        RNNRegressor(max_iter=1).fit(np.ones((2, 3, 1, 1)), np.ones(2))
    reg = _fit(X, y, max_iter=1)
    with pytest.raises(ValueError, match="features"):
        reg.predict(np.ones((2, 3, 2)))
    with pytest.raises(ValueError, match="0 sample"):
        reg.predict(np.ones((0, 3, 1)))
    with pytest.raises(ValueError, match="sample_weight must be non-negative"):
        RNNRegressor(max_iter=1).fit(X, y, sample_weight=-np.ones(len(X)))


def test_predict_does_not_mutate(ragged):
    X_train, X_test, y_train, _ = ragged
    reg = _fit(X_train[:50], y_train[:50], max_iter=2)
    before = pickle.dumps(reg)
    reg.predict(X_test)
    reg.score(X_test, reg.predict(X_test))
    assert pickle.dumps(reg) == before


def test_weights_made_non_finite_by_the_last_step_are_not_committed():
    # The loss is finite before every step; the very last step overflows the weights.
    rng = np.random.RandomState(0)
    X = rng.normal(size=(20, 4, 2))
    y = 1000 * X.sum(axis=(1, 2))
    reg = RNNRegressor(solver="sgd", learning_rate_init=1e38, clip_norm=None, max_iter=1,
                       batch_size=1000, momentum=0.0, random_state=0)
    with pytest.raises(ValueError, match="weights became non-finite in epoch 1"), \
            np.errstate(all="ignore"), warnings.catch_warnings():
        warnings.simplefilter("ignore")
        reg.fit(X, y)
    assert not hasattr(reg, "params_")
    fitted = RNNRegressor(max_iter=2, random_state=0)
    with pytest.warns(ConvergenceWarning):
        fitted.fit(X, y)
    before = {k: v.copy() for k, v in fitted.params_.items()}
    state = (fitted.n_iter_, fitted.t_, list(fitted.loss_curve_))
    fitted.set_params(solver="sgd", learning_rate_init=1e38, clip_norm=None, momentum=0.0,
                      batch_size=1000)
    with pytest.raises(ValueError, match="weights became non-finite"), \
            np.errstate(all="ignore"), warnings.catch_warnings():
        warnings.simplefilter("ignore")
        fitted.partial_fit(X, y)
    assert (fitted.n_iter_, fitted.t_, fitted.loss_curve_) == state
    for k, v in before.items():
        np.testing.assert_array_equal(fitted.params_[k], v)
