"""Learning-rate schedules, keeping the best weights, and rolling back a rising loss."""

import contextlib
import io
import itertools
import math
import warnings

import numpy as np
import pytest
from sklearn.exceptions import ConvergenceWarning

from skrnn import RNNClassifier
from skrnn._params import InvalidParameterError
from skrnn._schedules import DECAY, MAX_DECAYS, LearningRate, is_diverging, is_stuck
from skrnn._training import Progress, Step

from ._data import fit_quietly, sign_of_sum_task


@pytest.fixture
def toy():
    return sign_of_sum_task()


# The settings these tests were written with (not the defaults, which may change).
PINNED = {"cell": "rnn", "pooling": "last", "batch_size": 32, "learning_rate_init": 0.01,
          "early_stopping": False, "clip_norm": 5.0}


def _fit(X, y, **kw):
    params = {"hidden_layer_sizes": (8,), "max_iter": 30, "random_state": 0,
              "n_iter_no_change": 100, "verbose": 1, **PINNED, **kw}
    clf = RNNClassifier(**params)
    out = io.StringIO()
    with contextlib.redirect_stdout(out):
        fit_quietly(clf, X, y)
    return clf, out.getvalue()


def test_cosine_anneals_from_the_initial_rate_to_zero():
    rate = LearningRate("cosine", 0.01)
    assert rate.at(0.0) == pytest.approx(0.01)
    assert rate.at(0.5) == pytest.approx(0.005)
    assert rate.at(1.0) == pytest.approx(0.0, abs=1e-18)
    assert rate.at(2.0) == pytest.approx(0.0, abs=1e-18)  # past the budget: stays at 0
    assert LearningRate("constant", 0.01).at(0.7) == 0.01
    rate.decay()
    assert rate.at(0.0) == pytest.approx(0.01 / DECAY) and rate.n_decays == 1


def test_progress_counts_the_budget_in_epochs_and_in_seconds():
    progress = Progress(0)
    progress.start_epoch(100)
    progress.batch_done(1.0, 50)
    assert progress.used(4) == pytest.approx(0.5 / 4)  # half of the first of 4 epochs
    timed = Progress(0, max_time=1e-9)
    timed.start_epoch(100)
    assert timed.used(1000) >= 1.0  # the time budget is used up before the epochs


def test_rising_loss_is_told_from_a_noisy_plateau():
    assert is_diverging([1.0, 0.8, 0.85, 0.9, 0.95])  # 3 rises, 19% above its lowest
    assert not is_diverging([1.0, 0.8, 0.801, 0.802, 0.803])  # rises within 2%
    assert not is_diverging([1.0, 0.8, 0.9, 0.85, 0.95])  # not three in a row
    assert not is_diverging([0.8, 0.9, 1.0])  # too short to tell


def test_a_stuck_stall_is_told_from_a_converged_one():
    assert is_stuck([0.78, 0.69, 0.72, 0.70])  # never below half its first loss: a plateau
    assert is_stuck([0.78, 0.30, 0.62, 0.60])  # gave back more than half its gain
    assert not is_stuck([0.78, 0.30, 0.40, 0.35])  # kept most of it
    assert not is_stuck([0.78, 0.010, 0.020])  # the noise of a converged fit
    assert not is_stuck([0.78, 0.20, 0.203])  # within 2 % of the best
    assert not is_stuck([0.78])


def test_a_stuck_stall_rolls_back_and_lowers_the_rate(toy):
    X, y = toy
    # At this rate the loss jumps away from its best and stays up: the stall rolls back
    # to the best weights at a fifth of the rate, at most MAX_DECAYS times, and the fit
    # goes on from them.
    clf, out = _fit(X, y, learning_rate_init=0.3, n_iter_no_change=3, max_iter=60)
    stuck = out.count("The fit is stuck: restored the weights of epoch")
    assert 1 <= stuck <= MAX_DECAYS
    assert clf._rate_scale <= DECAY ** -stuck
    assert clf.loss_curve_[clf._best_epoch - 1] == min(clf.loss_curve_)


def test_the_weights_of_the_best_epoch_are_kept(toy):
    X, y = toy
    # At this rate the training loss bounces: its best epoch is not the last.
    clf, out = _fit(X, y, learning_rate_init=0.3)
    best = int(np.argmin(clf.loss_curve_)) + 1
    assert clf._best_epoch == best < clf.n_iter_
    assert f"Restored the weights of epoch {best}, the best by training loss." in out
    # The same fit stopped at the best epoch ends with the same weights: the kept ones.
    short, _ = _fit(X, y, learning_rate_init=0.3, max_iter=best)
    for k, v in short.params_.items():
        np.testing.assert_array_equal(clf.params_[k], v)
    # ... and warm_start goes on from the last weights, not the kept ones, so a fit in
    # chunks is the same fit as one call.
    chunked = RNNClassifier(hidden_layer_sizes=(8,), max_iter=10, random_state=0,
                            n_iter_no_change=100, warm_start=True,
                            **{**PINNED, "learning_rate_init": 0.3})
    for _ in range(3):
        fit_quietly(chunked, X, y)
    assert chunked.n_iter_ == 30 and chunked._best_epoch == best
    for k, v in clf.params_.items():
        np.testing.assert_array_equal(chunked.params_[k], v)


def test_a_rising_loss_rolls_back_and_lowers_the_rate(toy):
    X, y = toy
    clf, out = _fit(X, y, solver="sgd", learning_rate_init=1.0)
    rollbacks = out.count("Training loss rose for 3 epochs: restored the weights of epoch")
    assert rollbacks >= 1
    assert clf._rate_scale == pytest.approx(DECAY ** -rollbacks)  # one division each
    # After the roll-back the loss went on from the best weights at the lower rate.
    k = next(i for i in range(3, len(clf.loss_curve_))
             if is_diverging(clf.loss_curve_[: i + 1]))
    assert clf.loss_curve_[k + 1] < clf.loss_curve_[k]
    assert clf.loss_curve_[clf._best_epoch - 1] == min(clf.loss_curve_)


def test_adaptive_divides_the_rate_at_each_stall_then_stops(toy):
    X, y = toy
    # tol=10: no epoch improves by it, so every n_iter_no_change + 1 epochs are a stall.
    # At 0.1 the loss halves in two epochs: the stalls are not stuck (is_stuck).
    const, _ = _fit(X, y, tol=10.0, n_iter_no_change=1, learning_rate_init=0.1)
    adaptive, out = _fit(X, y, tol=10.0, n_iter_no_change=1, learning_rate="adaptive",
                         learning_rate_init=0.1)
    assert const.n_iter_ == 3  # epoch 1 improves on inf; 2 and 3 stall: stop
    assert adaptive.n_iter_ == 3 + 2 * MAX_DECAYS
    assert adaptive._rate_scale == pytest.approx(DECAY ** -MAX_DECAYS)
    assert out.count("Learning rate divided by 5") == MAX_DECAYS
    assert out.rstrip().endswith(("Stopping.", "the best by training loss."))


def test_the_rate_divisions_carry_over_warm_start(toy):
    X, y = toy
    clf, _ = _fit(X, y, tol=10.0, n_iter_no_change=1, learning_rate="adaptive", max_iter=4,
                  learning_rate_init=0.1)
    assert clf._rate_scale == pytest.approx(1 / DECAY)
    clf.set_params(max_iter=1, warm_start=True)
    fit_quietly(clf, X, y)
    # Epoch 5 is the second stall in a row after the decay of epoch 3, as in one fit:
    # the division and the no-improvement count both carried over.
    assert clf._rate_scale == pytest.approx(DECAY ** -2)
    one, _ = _fit(X, y, tol=10.0, n_iter_no_change=1, learning_rate="adaptive", max_iter=5,
                  learning_rate_init=0.1)
    for k, v in one.params_.items():
        np.testing.assert_array_equal(clf.params_[k], v)


def test_cosine_steps_anneal_over_max_iter(toy, monkeypatch):
    X, y = toy
    rates = []
    update = Step.update

    def recording(self, grads):
        rates.append(self.optimizer.hyper["learning_rate"])
        update(self, grads)

    monkeypatch.setattr(Step, "update", recording)
    _fit(X, y, learning_rate="cosine", max_iter=10, batch_size=20)  # 3 steps an epoch
    assert len(rates) == 30
    assert rates[0] == pytest.approx(0.01)
    assert all(b < a for a, b in itertools.pairwise(rates))
    # The step after 15 of the 30 is half way: cos(pi / 2) = 0.
    assert rates[15] == pytest.approx(0.005)
    assert rates[-1] == pytest.approx(0.01 * 0.5 * (1 + math.cos(math.pi * 29 / 30)))
    rates.clear()
    _fit(X, y, max_iter=2, batch_size=20)
    assert rates == [0.01] * 6


def test_cosine_runs_its_planned_epochs_without_a_convergence_warning(toy):
    X, y = toy
    params = {"hidden_layer_sizes": (4,), "max_iter": 2, "random_state": 0, **PINNED}
    with pytest.warns(ConvergenceWarning, match="Maximum iterations"):
        RNNClassifier(**params).fit(X, y)
    with warnings.catch_warnings():
        warnings.simplefilter("error", ConvergenceWarning)
        clf = RNNClassifier(learning_rate="cosine", **params).fit(X, y)
    assert clf.n_iter_ == 2


def test_fine_tuning_on_new_data_is_not_rolled_back(toy):
    X, y = toy
    clf, _ = _fit(X, y, max_iter=20)
    before = clf.params_["W_y"].copy()
    rng = np.random.RandomState(1)
    X2 = rng.normal(2.0, 3.0, size=(40, 6)).astype(np.float32)  # a harder task
    y2 = np.where(X2[:, 0] > 2.0, "pos", "neg")
    clf.set_params(warm_start=True, max_iter=1)
    fit_quietly(clf, X2, y2)
    # Its one epoch is the best on this data (its loss is not compared with the old).
    assert clf._best_epoch == clf.n_iter_ == 21
    assert not np.array_equal(clf.params_["W_y"], before)


def test_partial_fit_keeps_the_last_weights(toy):
    X, y = toy
    clf = RNNClassifier(hidden_layer_sizes=(8,), random_state=0,
                        **{**PINNED, "learning_rate_init": 0.3})
    for _ in range(15):
        clf.partial_fit(X, y, classes=["neg", "pos"])
    assert clf._last_state is None  # nothing was restored: the last weights are the model


def test_unknown_schedule_is_refused(toy):
    X, y = toy
    with pytest.raises(InvalidParameterError, match="learning_rate must be one of"):
        RNNClassifier(learning_rate="invscaling").fit(X, y)


def test_auto_settings_follow_the_size_of_the_data():
    small, large = RNNClassifier(), RNNClassifier()
    assert small._batch_size(50) == 8 and small._batch_size(5) == 5
    assert large._batch_size(7377) == 922 and large._batch_size(100_000) == 1024
    assert not small._early_stopping(999) and small._early_stopping(1000)
    assert small._patience(False) == 10 and small._patience(True) == 2
    rng = np.random.RandomState(0)
    X = rng.normal(size=(1000, 3)).astype(np.float32)
    y = (X.sum(axis=1) > 0).astype(int)
    clf = fit_quietly(RNNClassifier(hidden_layer_sizes=(4,), max_iter=2, random_state=0),
                      X, y)
    assert len(clf.validation_scores_) == 2 and clf.best_loss_ is None  # held out
    clf = fit_quietly(RNNClassifier(hidden_layer_sizes=(4,), max_iter=2, random_state=0),
                      X[:999], y[:999])
    assert clf.validation_scores_ is None  # below 1000 samples: the training loss


@pytest.mark.parametrize("params, match", [
    ({"n_iter_no_change": "never"}, "n_iter_no_change"),
    ({"early_stopping": "yes"}, "early_stopping"),
    ({"batch_size": "big"}, "batch_size"),
])
def test_bad_auto_values_are_refused(toy, params, match):
    X, y = toy
    with pytest.raises(InvalidParameterError, match=match):
        RNNClassifier(**params).fit(X, y)


def test_the_generator_has_no_auto_early_stopping():
    from skrnn import RNNSequenceGenerator

    with pytest.raises(InvalidParameterError, match="early_stopping"):
        RNNSequenceGenerator(early_stopping="auto").fit(["some text", "more text"])
