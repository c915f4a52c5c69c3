"""RNNClassifier behaviour: learning, determinism, the MLPClassifier-like API, failures."""

import pickle
import re

import numpy as np
import pytest
from sklearn.exceptions import ConvergenceWarning
from sklearn.pipeline import make_pipeline

from skrnn import RNNClassifier, SequenceVectorizer
from skrnn._training import Step
from skrnn.datasets import load_negation_sentiment

from ._data import ragged_floats, sign_of_sum_task
from ._gradcheck import assert_gradients_match
from ._objective import objective


@pytest.fixture(scope="module")
def negation():
    return load_negation_sentiment(return_X_y=True)


@pytest.fixture
def toy():
    return sign_of_sum_task()


def _fast(**kw):
    # Pinned to the settings these mechanics tests were written with (the defaults
    # before the defaults benchmark), so that each still tests what it says.
    params = {"hidden_layer_sizes": (8,), "max_iter": 30, "random_state": 0, "cell": "rnn",
              "pooling": "last", "batch_size": 32, "learning_rate_init": 0.01,
              "n_iter_no_change": 10, "early_stopping": False, "clip_norm": 5.0}
    params.update(kw)
    return RNNClassifier(**params)


def test_learns_negation_with_defaults(negation):
    X_train, X_test, y_train, y_test = negation
    clf = make_pipeline(SequenceVectorizer(), RNNClassifier(random_state=0))
    clf.fit(X_train, y_train)
    assert clf.score(X_train, y_train) == 1.0
    assert clf.score(X_test, y_test) >= 0.9
    assert clf.predict(["i am not at all bad"])[0] == 1
    assert clf.predict(["this is not good"])[0] == 0


def test_same_random_state_gives_bit_identical_models(negation):
    X_train, _, y_train, _ = negation
    ids = SequenceVectorizer().fit_transform(X_train)
    a = _fast(random_state=3).fit(ids, y_train)
    b = _fast(random_state=3).fit(ids, y_train)
    c = _fast(random_state=4).fit(ids, y_train)
    for k in a.params_:
        assert np.array_equal(a.params_[k], b.params_[k])
    assert a.loss_curve_ == b.loss_curve_
    assert not np.array_equal(a.params_["W_y"], c.params_["W_y"])


def test_index_and_one_hot_input_give_the_same_model(negation):
    X_train, X_test, y_train, _ = negation
    vec = SequenceVectorizer().fit(X_train)
    ids = vec.transform(X_train)
    onehot = vec.set_params(output="onehot").transform(X_train)
    a = _fast(dtype=np.float64).fit(ids, y_train)
    b = _fast(dtype=np.float64).fit(onehot, y_train)
    assert a.n_features_in_ == b.n_features_in_ == len(vec.vocabulary_)
    for k in a.params_:
        np.testing.assert_allclose(a.params_[k], b.params_[k], rtol=1e-9, atol=1e-12)
    # A model fitted on ids also predicts one-hot input of the same texts, identically.
    test_ids = vec.set_params(output="index").transform(X_test)
    test_onehot = vec.set_params(output="onehot").transform(X_test)
    np.testing.assert_allclose(a.predict_proba(test_ids), a.predict_proba(test_onehot),
                               rtol=1e-12)


def test_multiclass_string_labels_and_probabilities(toy):
    X, _ = toy
    y = np.array(["a", "b", "c"])[np.digitize(X.sum(axis=1), [-1, 1])]
    clf = _fast(max_iter=60).fit(X, y)
    assert list(clf.classes_) == ["a", "b", "c"]
    proba = clf.predict_proba(X)
    assert proba.shape == (60, 3)
    np.testing.assert_allclose(proba.sum(axis=1), 1, rtol=1e-5)
    np.testing.assert_allclose(np.exp(clf.predict_log_proba(X)), proba, rtol=1e-5)
    np.testing.assert_array_equal(clf.predict(X), clf.classes_[proba.argmax(axis=1)])
    assert clf.score(X, y) > 0.8


def test_fitted_attributes(toy):
    X, y = toy
    clf = _fast(max_iter=5)
    with pytest.warns(ConvergenceWarning, match=r"Maximum iterations \(5\) reached"):
        clf.fit(X, y)
    assert clf.n_iter_ == 5 and len(clf.loss_curve_) == 5
    assert clf.t_ == 5 * len(X)
    assert clf.n_features_in_ == 1
    assert clf.best_loss_ == min(clf.loss_curve_)
    assert clf.validation_scores_ is None and clf.best_validation_score_ is None
    assert clf.params_["W_y"].dtype == np.float32


def test_early_stopping_keeps_best_validation_weights(toy):
    X, y = toy
    # A step size at which the validation accuracy goes down again before the fit stops.
    clf = _fast(early_stopping=True, validation_fraction=0.2, n_iter_no_change=5,
                learning_rate_init=0.1, max_iter=200).fit(X, y)
    assert clf.best_loss_ is None
    assert len(clf.validation_scores_) == clf.n_iter_ < 200
    assert clf.best_validation_score_ == max(clf.validation_scores_)
    assert clf.validation_scores_[-1] < clf.best_validation_score_  # the case to test
    # The validation part, drawn as fit draws it: the kept weights score the best epoch's
    # accuracy on it, not the last epoch's.
    _, val = clf._split_for_validation(len(X), np.searchsorted(clf.classes_, y),
                                       np.random.RandomState(clf._seed))
    assert clf.score(X[val], y[val]) == clf.best_validation_score_


def test_stops_when_training_loss_plateaus(toy):
    X, y = toy
    # At 0.1 the loss halves in two epochs, so the stall is not a stuck one (is_stuck).
    clf = _fast(tol=10.0, n_iter_no_change=2, max_iter=100, learning_rate_init=0.1).fit(X, y)
    # As MLPClassifier: epoch 1 improves on inf; epochs 2, 3, 4 do not improve by tol, and
    # the fit stops once that count exceeds n_iter_no_change.
    assert clf.n_iter_ == 4


def test_verbose_prints_one_line_per_epoch(toy, capsys):
    X, y = toy
    clf = _fast(max_iter=3, verbose=1, early_stopping=True, n_iter_no_change=50).fit(X, y)
    lines = capsys.readouterr().out.strip().splitlines()
    pattern = r"Iteration \d+, loss = \d+\.\d+, validation score = \d\.\d+, time = \d+\.\d+s"
    assert all(re.fullmatch(pattern, line) for line in lines[:3]), lines
    # The best epoch's weights are kept, and a fit that ends on another says so.
    restored = [(f"Restored the weights of epoch {clf._best_epoch}, the best by validation "
                "score.")] if clf._best_epoch != 3 else []
    assert lines[3:] == restored


def test_warm_start_continues(toy):
    X, y = toy
    clf = _fast(max_iter=4, warm_start=True)
    with pytest.warns(ConvergenceWarning):
        clf.fit(X, y)
    first = {k: v.copy() for k, v in clf.params_.items()}
    with pytest.warns(ConvergenceWarning):
        clf.fit(X, y)
    assert clf.n_iter_ == 8 and len(clf.loss_curve_) == 8
    assert not np.array_equal(first["l0.W_h"], clf.params_["l0.W_h"])
    with pytest.raises(ValueError, match="same classes"):
        clf.fit(X[:10], np.array(["x"] * 10))


def test_partial_fit(toy):
    X, y = toy
    clf = _fast()
    with pytest.raises(ValueError, match="classes must be passed on the first call"):
        clf.partial_fit(X, y)
    for _ in range(20):
        clf.partial_fit(X, y, classes=["neg", "pos"])
    assert clf.n_iter_ == 20
    assert clf.score(X, y) > 0.8
    with pytest.raises(ValueError, match="is not the same as on the first call"):
        clf.partial_fit(X, y, classes=["neg", "pos", "other"])
    with pytest.raises(ValueError, match="not in classes"):
        clf.partial_fit(X[:2], ["neg", "maybe"])
    with pytest.raises(ValueError, match="partial_fit cannot be used with early_stopping"):
        _fast(early_stopping=True).partial_fit(X, y, classes=["neg", "pos"])


def test_class_weight_and_sample_weight(toy):
    X, y = toy
    heavy = _fast(class_weight={"pos": 100.0, "neg": 1.0}, max_iter=10)
    with pytest.warns(ConvergenceWarning):
        heavy.fit(X, y)
    assert (heavy.predict(X) == "pos").mean() > (y == "pos").mean()
    sw = _fast(max_iter=10)
    with pytest.warns(ConvergenceWarning):
        sw.fit(X, y, sample_weight=np.where(y == "pos", 100.0, 1.0))
    assert (sw.predict(X) == "pos").mean() > (y == "pos").mean()
    with pytest.raises(ValueError, match="sample_weight must be non-negative"):
        _fast().fit(X, y, sample_weight=-np.ones(len(y)))
    with pytest.raises(ValueError, match="one weight per sample"):
        _fast().fit(X, y, sample_weight=np.ones(3))


@pytest.mark.filterwarnings("ignore::sklearn.exceptions.ConvergenceWarning")
def test_zero_weight_samples_have_no_influence(toy):
    """Weight 0 is a mask: what those samples hold changes nothing, even in minibatches
    whose weights are all zero (which are skipped: their L2 term would divide by 0)."""
    X, y = toy
    w = np.r_[np.ones(30), np.zeros(30)]
    other_X, other_y = X.copy(), y.copy()
    other_X[30:] = np.random.RandomState(1).normal(size=(30, X.shape[1]))
    other_y[30:] = np.where(y[30:] == "pos", "neg", "pos")
    a = _fast(max_iter=3, batch_size=4).fit(X, y, sample_weight=w)
    b = _fast(max_iter=3, batch_size=4).fit(other_X, other_y, sample_weight=w)
    for k in a.params_:
        np.testing.assert_array_equal(a.params_[k], b.params_[k])
    assert np.isfinite(a.loss_curve_).all()
    assert a.t_ < 3 * len(X)  # some minibatches were all zero weight, and were skipped


def test_bad_weights_are_named(toy):
    X, y = toy
    with pytest.raises(ValueError, match="sample_weight must be non-negative"):
        _fast().fit(X, y, sample_weight=-1.0)
    with pytest.raises(ValueError, match="sample_weight sums to zero"):
        _fast().fit(X, y, sample_weight=0.0)
    with pytest.raises(ValueError, match="class_weight must be finite and non-negative; "
                                         "class neg has weight -1.0"):
        _fast(class_weight={"neg": -1.0, "pos": 1.0}).fit(X, y)
    with pytest.raises(ValueError, match="class pos has weight nan"):
        _fast(class_weight={"neg": 1.0, "pos": np.nan}).fit(X, y)
    with pytest.raises(ValueError, match="sample_weight times class_weight sums to zero"):
        _fast(class_weight={"neg": 0.0, "pos": 1.0}).fit(X, y, sample_weight=y == "neg")
    # early stopping: both of its parts must weigh something
    w = np.ones(len(y))
    clf = _fast(early_stopping=True, validation_fraction=0.5)
    seed = np.random.RandomState(0).randint(np.iinfo(np.int32).max)  # fit's, random_state=0
    _, val = clf._split_for_validation(len(X), np.searchsorted(["neg", "pos"], y),
                                       np.random.RandomState(seed))
    w[val] = 0
    with pytest.raises(ValueError, match="sample_weight of the validation part"):
        clf.fit(X, y, sample_weight=w)


@pytest.mark.filterwarnings("ignore::sklearn.exceptions.ConvergenceWarning")
def test_balanced_class_weight(toy):
    from sklearn.utils.class_weight import compute_class_weight

    X, y = toy
    classes = np.array(["neg", "pos"])
    weights = dict(zip(classes, compute_class_weight("balanced", classes=classes, y=y)))
    assert weights["neg"] != weights["pos"]
    a = _fast(max_iter=2, class_weight="balanced").fit(X, y)
    b = _fast(max_iter=2, class_weight=weights).fit(X, y)
    for k in a.params_:
        np.testing.assert_array_equal(a.params_[k], b.params_[k])
    with pytest.raises(ValueError, match="'balanced' is not supported by partial_fit"):
        _fast(class_weight="balanced").partial_fit(X, y, classes=classes)


def test_sample_weight_equals_repetition_in_loss_and_gradient():
    """A weight of k is exactly k copies of the sample, L2 term included."""
    rng = np.random.RandomState(0)
    X = rng.normal(size=(4, 5))
    y = np.array([0, 1, 2, 1])
    w = np.array([2.0, 1.0, 3.0, 1.0])
    clf = _fast(dtype=np.float64, alpha=0.1, max_iter=1)
    with pytest.warns(ConvergenceWarning):
        clf.fit(X, y)
    seqs = clf._check_X(X, fitted=True)
    rep = np.repeat(np.arange(4), w.astype(int))
    loss_w, grads_w = objective(clf, clf.params_, seqs, y, w)
    loss_r, grads_r = objective(clf, clf.params_, seqs.take(rep), y[rep])
    assert loss_w == pytest.approx(loss_r, rel=1e-12)
    for k in grads_w:
        np.testing.assert_allclose(grads_w[k], grads_r[k], rtol=1e-10, atol=1e-14)


@pytest.mark.parametrize("cell", ["rnn", "lstm", "gru"])
def test_estimator_loss_gradient_with_l2_and_weights(cell):
    """The full training objective (weighted loss + L2) against finite differences."""
    rng = np.random.RandomState(1)
    X = ragged_floats(rng, [4, 2, 4, 0, 4], 2)  # one short sequence, one empty
    y = np.array([0, 1, 1, 0, 1])
    w = rng.uniform(0.5, 2.0, 5)
    clf = RNNClassifier(cell=cell, hidden_layer_sizes=(3,), bidirectional=True, alpha=0.3,
                        dtype=np.float64, max_iter=1, random_state=0)
    with pytest.warns(ConvergenceWarning):
        clf.fit(X, y)
    seqs = clf._check_X(X, fitted=True)
    params = {k: v + rng.normal(0, 0.3, v.shape) for k, v in clf.params_.items()}
    _, grads = objective(clf, params, seqs, y, w)
    assert_gradients_match(lambda: objective(clf, params, seqs, y, w)[0], params, grads)


def test_predict_does_not_mutate(toy):
    X, y = toy
    clf = _fast(max_iter=3)
    with pytest.warns(ConvergenceWarning):
        clf.fit(X, y)
    before = pickle.dumps(clf)
    clf.predict(X)
    clf.predict_proba(X[:3])
    clf.score(X, y)
    assert pickle.dumps(clf) == before


def test_failed_calls_leave_the_model_unchanged(toy):
    X, y = toy
    clf = _fast(max_iter=3, warm_start=True)
    with pytest.warns(ConvergenceWarning):
        clf.fit(X, y)
    before = pickle.dumps(clf)
    with pytest.raises(ValueError, match="infinity"):
        clf.partial_fit(np.full_like(X, np.inf), y)
    with pytest.raises(ValueError, match="features per step"):
        clf.fit(np.ones((4, 3, 2)), y[:4])
    with pytest.raises(ValueError, match="labels"):
        clf.fit(X, y[:5])
    # Divergence: plain SGD with a huge step and no clipping overflows.
    clf.set_params(solver="sgd", learning_rate_init=1e12, clip_norm=None, momentum=0.0,
                   max_iter=50)
    with pytest.raises(ValueError, match="non-finite"), np.errstate(all="ignore"):
        clf.fit(X * 1e3, y)
    restored = pickle.loads(before)
    for k in restored.params_:
        assert np.array_equal(restored.params_[k], clf.params_[k])
    assert restored.n_iter_ == clf.n_iter_ and restored.loss_curve_ == clf.loss_curve_
    for k in restored._optimizer_state["m"]:
        assert np.array_equal(restored._optimizer_state["m"][k], clf._optimizer_state["m"][k])


@pytest.mark.parametrize("change", [{"hidden_layer_sizes": (5,)}, {"cell": "gru"},
                                    {"bidirectional": True}, {"activation": "relu"},
                                    {"hidden_layer_sizes": (8, 8)}])
def test_fitted_architecture_is_the_models_own(toy, change):
    """After set_params, a fitted model predicts with the network it was fitted with (as
    MLPClassifier does with its coefs_); continuing it with another one is an error."""
    X, y = toy
    clf = _fast(max_iter=2)
    with pytest.warns(ConvergenceWarning):
        clf.fit(X, y)
    proba = clf.predict_proba(X)
    clf.set_params(**change)
    np.testing.assert_array_equal(clf.predict_proba(X), proba)
    key = next(iter(change))
    with pytest.raises(ValueError, match=f"continue the fitted model, whose {key} is"):
        clf.partial_fit(X, y)
    with pytest.raises(ValueError, match=f"whose {key} is"):
        clf.set_params(warm_start=True).fit(X, y)
    np.testing.assert_array_equal(clf.predict_proba(X), proba)
    with pytest.warns(ConvergenceWarning):
        clf.set_params(warm_start=False).fit(X, y)  # a new fit takes the new architecture
    assert clf._fitted_architecture[key] == change[key]


@pytest.mark.filterwarnings("ignore::sklearn.exceptions.ConvergenceWarning")
def test_activation_of_a_gated_cell_is_ignored_when_continuing(toy):
    X, y = toy
    clf = _fast(cell="gru", max_iter=2, warm_start=True)
    clf.fit(X, y)
    clf.set_params(activation="relu").fit(X, y)
    assert clf.n_iter_ == 4


def test_early_stopping_can_be_switched_between_fits(toy):
    X, y = toy
    clf = _fast(max_iter=3, early_stopping=True, validation_fraction=0.5,
                n_iter_no_change=50)
    with pytest.warns(ConvergenceWarning):
        clf.fit(X, y)
    clf.set_params(early_stopping=False).partial_fit(X, y)
    assert clf.n_iter_ == 4
    assert clf.validation_scores_ is None and clf.best_validation_score_ is None
    assert clf.best_loss_ == clf.loss_curve_[-1]  # its bookkeeping started afresh
    with pytest.warns(ConvergenceWarning):
        clf.set_params(early_stopping=True, warm_start=True).fit(X, y)
    assert clf.n_iter_ == 7 and len(clf.validation_scores_) == 3
    assert clf.best_loss_ is None


@pytest.mark.filterwarnings("ignore::sklearn.exceptions.ConvergenceWarning")
def test_solver_change_under_warm_start_starts_a_new_optimizer(toy):
    X, y = toy
    clf = _fast(max_iter=2, warm_start=True)
    clf.fit(X, y)
    clf.set_params(solver="sgd").fit(X, y)
    assert clf._optimizer_solver == "sgd" and set(clf._optimizer_state) == {"t", "acc"}
    assert clf._optimizer_state["t"] == 2 * -(-len(X) // clf.batch_size)
    assert clf.n_iter_ == 4


def test_token_ids_that_cannot_be_a_vocabulary(toy, monkeypatch):
    with pytest.raises(ValueError, match="Token id 10000000000 in sample 0, step 0 is too "
                                         "large: ids must be below 2\\*\\*31"):
        RNNClassifier().fit(np.array([[10**10, 2], [3, -1]]), [0, 1])
    with pytest.raises(ValueError, match="Token id 18446744073709551615 in sample 1, step 0 "
                                         "is too large"):
        RNNClassifier().fit(np.array([[1, 2], [2**64 - 1, 0]], dtype=np.uint64), [0, 1])
    # Below 2**31, weights that do not fit in memory are named with what makes them large.
    from skrnn._network import RecurrentNetwork

    def no_memory(self, rng, dtype):
        raise MemoryError

    monkeypatch.setattr(RecurrentNetwork, "init_params", no_memory)
    with pytest.raises(ValueError, match=r"weights do not fit in memory .* rows for the "
                                         r"token ids, one per id from 0 to the largest, "
                                         r"10000000 \(sample 1, step 0\)"):
        RNNClassifier(hidden_layer_sizes=(4,)).fit(np.array([[2, -1], [10**7, 3]]), [0, 1])
    with pytest.raises(ValueError, match=r"~4,008,000 weights do not fit in memory "
                                         r"\(hidden_layer_sizes=\(2000,\), 1 inputs per "
                                         r"step\)\.$"):
        RNNClassifier(hidden_layer_sizes=(2000,), cell="rnn").fit(toy[0], toy[1])
    monkeypatch.undo()
    clf = _fast(max_iter=1)
    with pytest.warns(ConvergenceWarning):
        clf.fit(np.array([[1, 2], [0, 1]]), [0, 1])
    with pytest.raises(ValueError, match="Token id 7 in sample 0, step 1 is outside the "
                                         "vocabulary of 3 tokens"):
        clf.partial_fit(np.array([[1, 7], [0, 1]]), [0, 1])


@pytest.mark.filterwarnings("ignore::PendingDeprecationWarning")  # np.matrix itself
def test_matrix_input_is_an_array(toy):
    X, y = toy
    clf = _fast(max_iter=2)
    with pytest.warns(ConvergenceWarning):
        clf.fit(np.asmatrix(X), y)
    np.testing.assert_array_equal(clf.predict_proba(np.asmatrix(X)), clf.predict_proba(X))


def test_random_state_of_the_wrong_type(toy):
    X, y = toy
    with pytest.raises(ValueError, match="cannot be used to seed"):
        _fast(random_state=3.5).fit(X, y)


def test_keyboard_interrupt_keeps_the_model(toy, monkeypatch):
    X, y = toy
    clf = _fast(max_iter=50)
    calls = {"n": 0}
    original = Step.loss_and_gradient

    def interrupt_later(self, *args, **kwargs):
        calls["n"] += 1
        if calls["n"] > 6:
            raise KeyboardInterrupt
        return original(self, *args, **kwargs)

    monkeypatch.setattr(Step, "loss_and_gradient", interrupt_later)
    with pytest.warns(UserWarning, match="Training interrupted by user"):
        clf.fit(X, y)
    assert clf.n_iter_ == 3  # two batches per epoch: epochs 1-3 completed
    assert clf.predict(X).shape == (60,)


@pytest.mark.parametrize(
    "params, message",
    [
        ({"cell": "transformer"}, r"cell must be one of 'rnn', 'lstm', 'gru'"),
        ({"activation": "sigmoid"}, r"activation must be one of 'tanh', 'relu'"),
        ({"solver": "lbfgs"}, r"solver must be one of"),
        ({"hidden_layer_sizes": (8, 0)}, r"hidden_layer_sizes must be"),
        ({"hidden_layer_sizes": ()}, r"hidden_layer_sizes must be"),
        ({"learning_rate_init": 0}, r"learning_rate_init must be a number in \(0"),
        ({"batch_size": 0}, r"batch_size must be an integer >= 1"),
        ({"max_iter": 0}, r"max_iter must be an integer >= 1"),
        ({"clip_norm": -1.0}, r"clip_norm must be a number"),
        ({"alpha": -1.0}, r"alpha must be a number"),
        ({"validation_fraction": 1.0}, r"validation_fraction must be a number in \(0, 1\)"),
        ({"momentum": 2.0}, r"momentum must be a number in \[0, 1\]"),
        ({"dtype": np.int32}, r"dtype must be np.float32 or np.float64"),
        ({"early_stopping": "yes"}, r"early_stopping must be True or False"),
    ],
)
def test_bad_parameters_are_named(toy, params, message):
    X, y = toy
    with pytest.raises(ValueError, match=message):
        RNNClassifier(**params).fit(X, y)


def test_bool_parameter_of_wrong_type_is_also_a_type_error(toy):
    """As the vectorizer's (and scikit-learn's InvalidParameterError): callers may catch
    either ValueError or TypeError."""
    X, y = toy
    with pytest.raises(TypeError, match="bidirectional must be True or False"):
        RNNClassifier(bidirectional="yes").fit(X, y)


def test_single_class_and_regression_targets(toy):
    X, _ = toy
    # One class (as MLPClassifier): it is always the prediction, with probability 1.
    one = _fast(max_iter=2)
    with pytest.warns(ConvergenceWarning):
        one.fit(X, ["a"] * len(X))
    assert list(one.classes_) == ["a"] and (one.predict(X) == "a").all()
    np.testing.assert_array_equal(one.predict_proba(X), np.ones((len(X), 1)))
    with pytest.raises(ValueError, match="Unknown label type"):
        _fast().fit(X, X[:, 0])
    with pytest.raises(ValueError, match="y must be 1-D"):
        _fast().fit(X, np.ones((60, 2)))
