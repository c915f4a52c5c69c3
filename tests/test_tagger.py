"""RNNSequenceTagger: gradients of its heads, its input forms, errors, scikit-learn use."""

import itertools
import warnings

import joblib
import numpy as np
import pytest
from sklearn.base import clone
from sklearn.exceptions import ConvergenceWarning
from sklearn.model_selection import GridSearchCV, KFold, cross_val_score
from sklearn.pipeline import make_pipeline
from sklearn.preprocessing import FunctionTransformer

from skrnn import RNNSequenceTagger
from skrnn._char_encoder import TokenSequences, char_table, make_network
from skrnn._losses import sequence_cross_entropy, weighted_sequence_cross_entropy
from skrnn._network import RecurrentNetwork
from skrnn._validation import Sequences

from ._gradcheck import assert_gradients_match, numerical_gradients, relative_error

pytestmark = pytest.mark.filterwarnings("ignore::sklearn.exceptions.ConvergenceWarning")

LENGTHS = np.array([4, 2, 0, 5, 1])  # ragged, unsorted, with an empty sequence
CELLS = ["rnn", "lstm", "gru"]
STACKS = [((3,), False), ((3,), True), ((3, 2), False), ((3, 2), True)]


def _perturbed(params, rng):
    return {k: v + rng.normal(0, 0.3, v.shape) for k, v in params.items()}


def _targets(rng, n_classes=3):
    B, T = len(LENGTHS), LENGTHS.max()
    pad = np.arange(T)[None, :] >= LENGTHS[:, None]
    y = rng.randint(0, n_classes, (B, T))
    y[pad] = -1
    w = rng.uniform(0.5, 2.0, (B, T))  # a sample's weight times its label's
    w[pad] = 0
    return y, w, pad


# ---------------------------------------------------------------- gradient checks


@pytest.mark.parametrize("cell, stack", list(itertools.product(CELLS, STACKS)))
@pytest.mark.parametrize("kind", ["dense", "index"])
def test_weighted_many_to_many_head_gradients(cell, stack, kind):
    rng = np.random.RandomState(0)
    layers, bidirectional = stack
    net = RecurrentNetwork(cell, 4, layers, 3, bidirectional=bidirectional,
                           head="many_to_many")
    params = _perturbed(net.init_params(np.random.RandomState(1), np.float64), rng)
    y, w, pad = _targets(rng)
    data = rng.randint(0, 4, pad.shape) if kind == "index" else rng.normal(size=pad.shape + (4,))
    data[pad] = 0
    seqs = Sequences(data, LENGTHS.copy(), kind, 4)
    logits, _, cache = net.forward(params, seqs, return_cache=True)
    _, dlogits = weighted_sequence_cross_entropy(logits, y, w)
    grads = net.backward(params, cache, dlogits)
    assert_gradients_match(
        lambda: weighted_sequence_cross_entropy(net.forward(params, seqs)[0], y, w)[0],
        params, grads)


@pytest.mark.parametrize("cell, stack", list(itertools.product(CELLS, STACKS)))
def test_input_gradient_of_dense_input(cell, stack):
    """backward(..., input_grad=True): dL/dx of layer 0, zero at padding."""
    rng = np.random.RandomState(2)
    layers, bidirectional = stack
    net = RecurrentNetwork(cell, 4, layers, 3, bidirectional=bidirectional,
                           head="many_to_many")
    params = _perturbed(net.init_params(np.random.RandomState(1), np.float64), rng)
    y, w, pad = _targets(rng)
    x = rng.normal(size=pad.shape + (4,))
    x[pad] = 0

    def loss():
        return weighted_sequence_cross_entropy(
            net.forward(params, Sequences(x, LENGTHS.copy(), "dense", 4))[0], y, w)[0]

    logits, _, cache = net.forward(params, Sequences(x, LENGTHS.copy(), "dense", 4),
                                   return_cache=True)
    grads, dx = net.backward(params, cache,
                             weighted_sequence_cross_entropy(logits, y, w)[1],
                             input_grad=True)
    numeric = numerical_gradients(loss, {"x": x})["x"]
    assert not dx[pad].any()
    assert relative_error(numeric[~pad], dx[~pad]) < 1e-6
    assert set(grads) == set(params)


def test_input_gradient_needs_dense_input():
    net = RecurrentNetwork("rnn", 4, (3,), 2, head="many_to_many")
    params = net.init_params(np.random.RandomState(0), np.float64)
    seqs = Sequences(np.zeros((2, 3), dtype=np.intp), np.array([3, 1]), "index", 4)
    logits, _, cache = net.forward(params, seqs, return_cache=True)
    with pytest.raises(ValueError, match="dense input"):
        net.backward(params, cache, np.zeros_like(logits), input_grad=True)


def _token_batch(rng):
    types = ["ab", "b", "abcdefgh", "", "ca", "bbbbbbbb", "c"]
    chars, char_lengths, alphabet = char_table(types, 6)
    words = np.array([1, 2, 0, 3, 0, 1, 2])
    B, T = len(LENGTHS), LENGTHS.max()
    data = rng.randint(0, len(types), (B, T))
    data[np.arange(T)[None, :] >= LENGTHS[:, None]] = 0
    return TokenSequences(data, LENGTHS.copy(), "tokens", 4, words, chars, char_lengths), \
        alphabet.size + 1


@pytest.mark.parametrize("cell, stack", list(itertools.product(CELLS, STACKS)))
def test_character_encoder_trained_end_to_end_gradients(cell, stack):
    """Word embedding, character network and word network: one gradient check."""
    rng = np.random.RandomState(0)
    seqs, n_chars = _token_batch(rng)
    layers, bidirectional = stack
    net = make_network(cell, 4, n_chars, 2, 2, 3, layers, 3, "tanh", bidirectional)
    params = _perturbed(net.init_params(np.random.RandomState(1), np.float64), rng)
    y, w, _ = _targets(rng)
    logits, _, cache = net.forward(params, seqs, return_cache=True)
    grads = net.backward(params, cache, weighted_sequence_cross_entropy(logits, y, w)[1])
    assert any(k.startswith("char.") for k in grads) and "E" in grads
    assert_gradients_match(
        lambda: weighted_sequence_cross_entropy(net.forward(params, seqs)[0], y, w)[0],
        params, grads)


def test_weighted_loss_with_unit_weights_is_the_unweighted_one():
    rng = np.random.RandomState(0)
    logits = rng.normal(size=(5, 5, 3))
    y, _, pad = _targets(rng)
    a = sequence_cross_entropy(logits, y)
    b = weighted_sequence_cross_entropy(logits, y, (~pad).astype(float))
    assert np.isclose(a[0], b[0]) and np.allclose(a[1], b[1])
    # against its definition
    w = rng.uniform(0.5, 2, pad.shape) * ~pad
    logp = logits - np.log(np.exp(logits).sum(axis=2, keepdims=True))
    picked = np.take_along_axis(logp, np.maximum(y, 0)[..., None], axis=2)[..., 0]
    assert np.isclose(weighted_sequence_cross_entropy(logits, y, w)[0],
                      -(w * picked).sum() / w.sum())


def test_char_table_is_the_characters_of_each_token():
    ids, lengths, alphabet = char_table(["ab", "", "çba", "abcdefghij"], 6)
    assert list(alphabet) == sorted(map(ord, "abcdefghijç"))
    back = ["".join(chr(alphabet[i - 1]) for i in row[:n]) for row, n in zip(ids, lengths)]
    assert back == ["ab", "", "çba", "abchij"]  # long tokens: first and last halves
    ids2, _, _ = char_table(["aZ"], 6, alphabet)
    assert list(ids2[0, :2]) == [1, 0]  # an unknown character is id 0


# ---------------------------------------------------------------- estimator


def _toy(n=60, seed=0):
    """Tag a word by its last letter, except 'x' words, whose tag is the previous one's."""
    rng = np.random.RandomState(seed)
    stems = ["ka", "lo", "mi", "ru", "se", "tu", "ba", "ne"]
    X, y = [], []
    for _ in range(n):
        length = rng.randint(1, 7)
        words = [stems[rng.randint(len(stems))] + "xyz"[rng.randint(3)]
                 for _ in range(length)]
        X.append(words)
        y.append([{"x": "A", "y": "B", "z": "C"}[w[-1]] for w in words])
    return X, y


def _small(**kw):
    params = {"hidden_layer_sizes": (8,), "embedding_size": 4, "char_hidden_size": 6,
              "char_size": 6, "max_iter": 30, "learning_rate_init": 0.02, "random_state": 0}
    params.update(kw)
    return RNNSequenceTagger(**params)


@pytest.fixture(scope="module")
def toy():
    return _toy()


@pytest.fixture(scope="module")
def fitted(toy):
    X, y = toy
    return _small().fit(X, y)


def test_tags_unseen_words_from_their_characters(fitted):
    X_new = [["qqx", "wwy", "eez"], ["rrz"]]  # no stem seen in training
    pred = fitted.predict(X_new)
    assert [list(p) for p in pred] == [["A", "B", "C"], ["C"]]


def test_predict_and_proba_shapes(fitted, toy):
    X, y = toy
    pred, proba = fitted.predict(X), fitted.predict_proba(X)
    assert len(pred) == len(proba) == len(X)
    for p, q, s in zip(pred, proba, X):
        assert p.shape == (len(s),) and q.shape == (len(s), 3)
        np.testing.assert_allclose(q.sum(axis=1), 1, rtol=1e-5)
        assert (fitted.classes_[q.argmax(axis=1)] == p).all()
    assert list(fitted.classes_) == ["A", "B", "C"]
    assert fitted.score(X, y) == 1.0
    assert fitted.predict([[]])[0].shape == (0,)


def test_score_is_token_accuracy(fitted, toy):
    X, y = toy
    wrong = [list(s) for s in y]
    wrong[0] = ["A" if t != "A" else "B" for t in wrong[0]]
    n = sum(map(len, y))
    assert np.isclose(fitted.score(X, wrong), 1 - len(wrong[0]) / n)
    w = np.ones(len(X))
    w[0] = 0
    assert fitted.score(X, wrong, sample_weight=w) == 1.0


def test_same_random_state_gives_bit_identical_models(toy):
    X, y = toy
    a, b = _small(max_iter=3).fit(X, y), _small(max_iter=3).fit(X, y)
    assert a.params_.keys() == b.params_.keys()
    for k in a.params_:
        np.testing.assert_array_equal(a.params_[k], b.params_[k])
    assert a.params_["W_y"].dtype == np.float32


def test_rare_words_share_the_unknown_word(toy):
    X, y = toy
    X = [list(s) for s in X] + [["zzzzx"]]
    est = _small(max_iter=1).fit(X, y + [["A"]])
    assert "zzzzx" not in est.vocabulary_  # seen once
    assert est.params_["E"].shape[0] == len(est.vocabulary_) + 1
    assert "zzzzx" in _small(max_iter=1, min_word_count=1).fit(X, y + [["A"]]).vocabulary_


def test_token_ids_and_float_time_series():
    """Regime labels of a switching process: the regime is the sign of the drift."""
    rng = np.random.RandomState(0)
    n, T = 80, 30
    regimes = np.cumsum(rng.rand(n, T) < 0.1, axis=1) % 2
    x = np.where(regimes == 1, 1.0, -1.0) + rng.normal(0, 0.7, (n, T))
    lengths = rng.randint(10, T + 1, n)
    pad = np.arange(T)[None, :] >= lengths[:, None]
    X = np.where(pad, np.nan, x)[:, :, None]
    y = np.where(pad, -1, regimes)
    est = RNNSequenceTagger(hidden_layer_sizes=(8,), max_iter=15, learning_rate_init=0.02,
                            random_state=0).fit(X[:60], y[:60])
    assert est.n_features_in_ == 1 and est.vocabulary_ is None
    # a per-step threshold gets ~0.92; the state smooths the noise
    assert est.score(X[60:], y[60:]) > 0.93
    ids = np.where(pad, -1, (x > 0).astype(int) + 2 * regimes)  # token ids 0..3
    est = RNNSequenceTagger(hidden_layer_sizes=(8,), max_iter=10, random_state=0)
    est.fit(ids, [r[: k] for r, k in zip(regimes, lengths)])
    assert est.score(ids, [r[: k] for r, k in zip(regimes, lengths)]) > 0.95


def test_class_weight_and_sample_weight(toy):
    X, y = toy
    base = _small(max_iter=2).fit(X, y)
    heavy = _small(max_iter=2, class_weight={"A": 5.0, "B": 1.0, "C": 1.0}).fit(X, y)
    assert not np.allclose(base.params_["W_y"], heavy.params_["W_y"])
    balanced = _small(max_iter=2, class_weight="balanced").fit(X, y)
    assert not np.allclose(base.params_["W_y"], balanced.params_["W_y"])
    # weight 2 on a sequence is that sequence twice, in the loss
    w = np.ones(len(X))
    w[0] = 2
    est = _small(max_iter=1)
    d1 = est._prepare(X, y, w, partial=False, classes=None, continuing=False)
    d2 = est._prepare(X + [X[0]], y + [y[0]], None, partial=False, classes=None,
                      continuing=False)
    assert d1.w.sum() == d2.w.sum() == sum(map(len, y)) + len(y[0])


def test_zero_weight_sequences_have_no_influence(toy):
    X, y = toy
    junk = [["ka" + "x"] * 3] * 5
    w = np.r_[np.ones(len(X)), np.zeros(5)]
    a = _small(max_iter=2, batch_size=len(X) + 5).fit(X + junk, y + [["C"] * 3] * 5,
                                                     sample_weight=w)
    b = _small(max_iter=2, batch_size=len(X) + 5).fit(X + junk, y + [["A"] * 3] * 5,
                                                     sample_weight=w)
    for k in a.params_:
        np.testing.assert_allclose(a.params_[k], b.params_[k], rtol=1e-5, atol=1e-6)


def test_padded_2d_label_array(toy):
    X, y = toy
    T = max(map(len, X))
    Y = np.full((len(y), T), "", dtype=object)
    for i, s in enumerate(y):
        Y[i, : len(s)] = s
    a, b = _small(max_iter=2).fit(X, y), _small(max_iter=2).fit(X, Y)
    np.testing.assert_array_equal(a.params_["W_y"], b.params_["W_y"])
    assert b.score(X, Y) == a.score(X, y)


@pytest.mark.parametrize("make_y, message", [
    (lambda y: y[:-1], "59 label sequences"),
    (lambda y: [s[:-1] if i == 3 else s for i, s in enumerate(y)], "y sample 3 has"),
    (lambda y: [" ".join(s) if i == 2 else s for i, s in enumerate(y)], "y sample 2 is"),
])
def test_label_sequences_that_do_not_fit_are_named(toy, make_y, message):
    X, y = toy
    with pytest.raises((ValueError, TypeError), match=message):
        _small(max_iter=1).fit(X, make_y(y))


def test_labels_at_padded_steps_and_unknown_labels_are_named(fitted, toy):
    X, y = toy
    T = max(map(len, X))
    Y = np.full((len(y), T), "", dtype=object)
    for i, s in enumerate(y):
        Y[i, : len(s)] = s
    i = next(i for i, s in enumerate(X) if len(s) < T)
    Y[i, len(X[i])] = "A"
    with pytest.raises(ValueError, match=f"padded step: sample {i}, step {len(X[i])}"):
        _small(max_iter=1).fit(X, Y)
    bad = [list(s) for s in y]
    bad[4][0] = "Q"
    with pytest.raises(ValueError, match="label 'Q' at sample 4, step 0"):
        fitted.score(X, bad)


def test_bad_token_input_is_named(fitted):
    with pytest.raises(TypeError, match="sample 1, step 1"):
        fitted.predict([["a"], ["b", 3]])
    with pytest.raises(TypeError, match="sample 0 is a string"):
        fitted.predict(["a sentence", ["b"]])
    with pytest.raises(ValueError, match="token strings"):
        fitted.predict(np.zeros((2, 3), dtype=int))


def test_failed_calls_leave_the_model_unchanged(fitted, toy):
    X, y = toy
    est = clone(fitted).set_params(warm_start=True).fit(X, y)
    before = {k: v.copy() for k, v in est.params_.items()}
    vocabulary, n_iter = est.vocabulary_.copy(), est.n_iter_
    bad = [list(s) for s in y]
    bad[1] = bad[1] + ["A"]
    with pytest.raises(ValueError):
        est.fit(X, bad)
    with pytest.raises(ValueError):
        est.fit(np.zeros((3, 4)), np.zeros((3, 4)))  # another form of X
    assert est.n_iter_ == n_iter
    np.testing.assert_array_equal(est.vocabulary_, vocabulary)
    for k, value in before.items():
        np.testing.assert_array_equal(value, est.params_[k])


def test_predict_does_not_mutate(fitted, toy):
    X, _ = toy
    before = {k: v.copy() for k, v in fitted.params_.items()}
    a = fitted.predict_proba(X)
    b = fitted.predict_proba(X)
    for p, q in zip(a, b):
        np.testing.assert_array_equal(p, q)
    for k, value in before.items():
        np.testing.assert_array_equal(value, fitted.params_[k])


def test_predictions_in_chunks_equal_one_pass(fitted, toy, monkeypatch):
    from skrnn import _tuning

    X, _ = toy
    whole = fitted.predict_proba(X)
    monkeypatch.setattr(_tuning, "PREDICT_CHUNK_ELEMENTS", 2000)
    for p, q in zip(whole, fitted.predict_proba(X)):
        np.testing.assert_allclose(p, q, rtol=1e-5, atol=1e-6)


def test_partial_fit_and_warm_start(toy):
    X, y = toy
    est = _small()
    with pytest.raises(ValueError, match="classes must be passed"):
        est.partial_fit(X, y)
    est.partial_fit(X, y, classes=["A", "B", "C"])
    est.partial_fit(X, y)
    assert est.n_iter_ == 2
    with pytest.raises(ValueError, match="not the same as on the first call"):
        est.partial_fit(X, y, classes=["A", "B"])
    warm = _small(max_iter=1, warm_start=True).fit(X, y)
    warm.fit(X, y)
    assert warm.n_iter_ == 2 and len(warm.loss_curve_) == 2


def test_early_stopping_scores_token_accuracy(toy):
    X, y = toy
    est = _small(early_stopping=True, max_iter=5).fit(X, y)
    assert len(est.validation_scores_) == est.n_iter_
    assert all(0 <= s <= 1 for s in est.validation_scores_)
    assert est.best_validation_score_ == max(est.validation_scores_)


def test_verbose_prints_one_line_per_epoch(toy, capsys):
    X, y = toy
    _small(max_iter=2, verbose=1).fit(X, y)
    lines = capsys.readouterr().out.strip().splitlines()
    assert len(lines) == 2 and lines[0].startswith("Iteration 1, loss = ")


def test_bad_parameters_are_named(toy):
    X, y = toy
    with pytest.raises(ValueError, match="char_hidden_size"):
        _small(char_hidden_size=0).fit(X, y)
    with pytest.raises(ValueError, match="min_word_count"):
        _small(min_word_count=0).fit(X, y)


# ---------------------------------------------------------------- scikit-learn


def test_clone_get_and_set_params():
    est = RNNSequenceTagger(char_size=7, random_state=3)
    twin = clone(est)
    assert twin.get_params() == est.get_params() and not hasattr(twin, "params_")
    assert est.get_params()["bidirectional"] is True
    est.set_params(cell="gru", hidden_layer_sizes=(5, 4))
    assert est.cell == "gru" and est.hidden_layer_sizes == (5, 4)


def test_pipeline_grid_search_and_cross_val_score(toy):
    X, y = toy
    lower = FunctionTransformer(lambda X: [[t.lower() for t in s] for s in X])
    pipe = make_pipeline(lower, _small(max_iter=15))
    pipe.fit(X, y)
    assert pipe.score(X, y) > 0.9
    search = GridSearchCV(_small(max_iter=10), {"char_size": [4, 6]}, cv=2)
    search.fit(X, y)
    assert search.cv_results_["mean_test_score"].shape == (2,)
    scores = cross_val_score(_small(max_iter=15), X, y, cv=KFold(3))
    assert scores.shape == (3,) and scores.mean() > 0.9


def test_joblib_and_skops_round_trips(fitted, toy, tmp_path):
    X, _ = toy
    path = tmp_path / "tagger.joblib"
    joblib.dump(fitted, path)
    loaded = joblib.load(path)
    for p, q in zip(fitted.predict_proba(X), loaded.predict_proba(X)):
        np.testing.assert_array_equal(p, q)
    sio = pytest.importorskip("skops.io")
    path = tmp_path / "tagger.skops"
    sio.dump(fitted, path)
    untrusted = sio.get_untrusted_types(file=path)
    assert all(t.startswith("skrnn.") for t in untrusted), untrusted
    loaded = sio.load(path, trusted=untrusted)
    for p, q in zip(fitted.predict(X), loaded.predict(X)):
        np.testing.assert_array_equal(p, q)


def test_no_warning_but_convergence(toy):
    X, y = toy
    with warnings.catch_warnings():
        warnings.simplefilter("error")
        warnings.simplefilter("ignore", ConvergenceWarning)
        _small(max_iter=2).fit(X, y).predict(X)
