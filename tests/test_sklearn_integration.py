"""skrnn inside scikit-learn workflows: clone, Pipeline, search, CV, persistence."""

import joblib
import numpy as np
import pytest
from sklearn.base import clone
from sklearn.exceptions import ConvergenceWarning
from sklearn.model_selection import GridSearchCV, StratifiedKFold, cross_val_score
from sklearn.pipeline import make_pipeline

from skrnn import RNNClassifier, RNNRegressor, SequenceVectorizer
from skrnn.datasets import load_negation_sentiment


@pytest.fixture(scope="module")
def negation():
    return load_negation_sentiment(return_X_y=True)


def _pipeline(**kw):
    params = {"hidden_layer_sizes": (16,), "max_iter": 40, "random_state": 0}
    params.update(kw)
    return make_pipeline(SequenceVectorizer(), RNNClassifier(**params))


def test_clone_gives_an_unfitted_equal_estimator(negation):
    X, _, y, _ = negation
    clf = _pipeline()[-1].set_params(hidden_layer_sizes=(5, 3), cell="gru", random_state=1)
    vec = SequenceVectorizer().fit(X)
    with pytest.warns(ConvergenceWarning):
        clf.fit(vec.transform(X), y)
    twin = clone(clf)
    assert twin.get_params() == clf.get_params()
    assert hasattr(clf, "params_") and not hasattr(twin, "params_")
    # The two are independent: setting parameters of one leaves the other as it was.
    clf.set_params(cell="lstm", hidden_layer_sizes=(7,))
    assert clf.get_params()["cell"] == "lstm" and clf.hidden_layer_sizes == (7,)
    assert twin.cell == "gru" and twin.hidden_layer_sizes == (5, 3)
    twin.set_params(random_state=2)
    assert clf.random_state == 1


@pytest.mark.filterwarnings("ignore::sklearn.exceptions.ConvergenceWarning")
def test_grid_search_in_parallel(negation):
    X, X_test, y, y_test = negation
    search = GridSearchCV(
        _pipeline(),
        {"rnnclassifier__hidden_layer_sizes": [(8,), (16,)],
         "rnnclassifier__cell": ["rnn", "gru"]},
        cv=3, n_jobs=2,
    )
    search.fit(X, y)
    assert set(search.best_params_) == {"rnnclassifier__hidden_layer_sizes",
                                        "rnnclassifier__cell"}
    assert search.cv_results_["mean_test_score"].shape == (4,)
    assert search.score(X_test, y_test) >= 0.7


@pytest.mark.filterwarnings("ignore::sklearn.exceptions.ConvergenceWarning")
def test_cross_val_score(negation):
    # All 78 sentences, shuffled folds: the original split puts words in the first third
    # of the training list that occur nowhere else, so unshuffled folds test vocabulary.
    X, X_test, y, y_test = negation
    X, y = X + X_test, np.r_[y, y_test]
    cv = StratifiedKFold(3, shuffle=True, random_state=0)
    scores = cross_val_score(
        make_pipeline(SequenceVectorizer(), RNNClassifier(random_state=0)), X, y, cv=cv)
    assert scores.shape == (3,)
    # Chance is 0.5; measured 0.82 (0.88, 0.81, 0.77) with these settings.
    assert scores.mean() >= 0.75


@pytest.mark.filterwarnings("ignore::sklearn.exceptions.ConvergenceWarning")
def test_joblib_round_trip_of_a_fitted_pipeline(negation, tmp_path):
    X, X_test, y, _ = negation
    pipe = _pipeline().fit(X, y)
    joblib.dump(pipe, tmp_path / "model.joblib")
    loaded = joblib.load(tmp_path / "model.joblib")
    np.testing.assert_array_equal(loaded.predict_proba(X_test), pipe.predict_proba(X_test))


@pytest.mark.filterwarnings("ignore::sklearn.exceptions.ConvergenceWarning")
def test_skops_round_trip_trusts_only_skrnn_classes(negation, tmp_path):
    sio = pytest.importorskip("skops.io")
    X, X_test, y, _ = negation
    pipe = _pipeline(cell="lstm", bidirectional=True).fit(X, y)
    path = tmp_path / "model.skops"
    sio.dump(pipe, path)
    untrusted = sio.get_untrusted_types(file=path)
    assert sorted(untrusted) == ["skrnn._classifier.RNNClassifier",
                                 "skrnn._vectorizer.SequenceVectorizer"]
    loaded = sio.load(path, trusted=untrusted)
    np.testing.assert_array_equal(loaded.predict_proba(X_test), pipe.predict_proba(X_test))


@pytest.mark.filterwarnings("ignore::sklearn.exceptions.ConvergenceWarning")
def test_skops_round_trip_regressor_keeps_training_state(tmp_path):
    sio = pytest.importorskip("skops.io")
    rng = np.random.RandomState(0)
    X = rng.normal(size=(30, 5, 2))
    y = X.sum(axis=(1, 2))
    reg = RNNRegressor(hidden_layer_sizes=(6,), max_iter=5, random_state=0,
                       warm_start=True).fit(X, y)
    sio.dump(reg, tmp_path / "reg.skops")
    untrusted = sio.get_untrusted_types(file=tmp_path / "reg.skops")
    assert untrusted == ["skrnn._regressor.RNNRegressor"]
    loaded = sio.load(tmp_path / "reg.skops", trusted=untrusted)
    np.testing.assert_array_equal(loaded.predict(X), reg.predict(X))
    # Training continues identically from the saved optimizer state.
    reg.partial_fit(X, y)
    loaded.partial_fit(X, y)
    np.testing.assert_array_equal(loaded.predict(X), reg.predict(X))
