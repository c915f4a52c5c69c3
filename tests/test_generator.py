"""Tests of RNNSequenceGenerator (skrnn/_generator.py); its command line is in test_cli.py.

The generator's text mode is skipped by scikit-learn's common checks (its input is raw
text), so the equivalent checks are written here by hand: clone, get/set_params,
Pipeline, GridSearchCV, joblib and skops round trips, repeatability. The many-to-many
gradient checks of the network it trains are in test_network.py.
"""

import copy
import time
import warnings
from collections import Counter

import joblib
import numpy as np
import pytest
from sklearn.base import clone
from sklearn.exceptions import ConvergenceWarning, NotFittedError
from sklearn.model_selection import GridSearchCV, KFold, cross_val_score
from sklearn.pipeline import make_pipeline
from threadpoolctl import threadpool_limits

from skrnn import RNNSequenceGenerator, SequenceVectorizer
from skrnn._sampling import draw
from skrnn._tbptt import Corpus, plan_epoch, run_documents
from skrnn.datasets import load_tinyshakespeare

TEXTS = ["hey how are you", "good i am fine", "have a nice day"]
PREFIXES = ["hey", "good", "have"]


# The settings these tests were written with (the defaults before the defaults
# benchmark): small and fast, and what each test's figures were measured at.
PINNED = {"cell": "rnn", "hidden_layer_sizes": (64,), "learning_rate": "constant",
          "learning_rate_init": 0.01}


def _gen(**kw):
    return RNNSequenceGenerator(**{**PINNED, **kw})


@pytest.fixture(autouse=True, scope="module")
def _one_blas_thread():
    # The matrices here are tiny; on a busy machine two BLAS threads that wait for each
    # other make every product many times slower, and the results do not depend on it.
    with threadpool_limits(limits=1, user_api="blas"):
        yield


@pytest.fixture(scope="module")
def fitted():
    """The README's model; tests that change it work on a copy."""
    return _gen(random_state=0).fit(TEXTS)


@pytest.fixture(scope="module")
def strict():
    """The README's model with handle_unknown="error": unknown tokens raise."""
    return _gen(random_state=0, handle_unknown="error").fit(TEXTS)


def _greedy(gen, prefix, text):
    return gen.generate(prefix, n_tokens=len(text) - len(prefix), temperature=0)


# --------------------------------------------------------------------------- learning


@pytest.mark.parametrize("random_state", range(5))
def test_greedy_generation_reproduces_the_sentences(random_state):
    gen = _gen(random_state=random_state).fit(TEXTS)
    for prefix, text in zip(PREFIXES, TEXTS):
        assert _greedy(gen, prefix, text) == text


def test_predict_and_predict_proba_follow_classes(fitted):
    X = ["good i am fin", "hey how are yo", "h"]
    proba = fitted.predict_proba(X)
    assert proba.shape == (3, len(fitted.classes_))
    np.testing.assert_allclose(proba.sum(axis=1), 1, rtol=1e-6)
    pred = fitted.predict(X)
    assert pred.shape == (3,)
    assert list(pred[:2]) == ["e", "u"]
    assert list(fitted.classes_[proba.argmax(axis=1)]) == list(pred)
    np.testing.assert_allclose(fitted.predict_log_proba(X), np.log(proba), atol=1e-6)
    # classes_ are the tokens ordered by id
    assert [fitted.vocabulary_[c] for c in fitted.classes_] == list(range(len(fitted.classes_)))


def test_empty_sequence_follows_first_token_proba(fitted):
    # the training texts start with h, g, h
    proba = fitted.predict_proba([""])[0]
    np.testing.assert_allclose(proba, fitted.first_token_proba_)
    assert proba[fitted.vocabulary_["h"]] == pytest.approx(2 / 3)
    assert fitted.generate("", n_tokens=5, temperature=0).startswith("h")


def test_score_is_minus_mean_token_loss_and_bits_are_nats_over_ln2(fitted):
    X = ["hey how are you", "good i am fine", "have a nice dey"]
    per_token = fitted.loss(X, per_token=True)
    assert [len(p) for p in per_token] == [len(t) - 1 for t in X]
    mean_nats = np.concatenate(per_token).mean()
    assert fitted.score(X) == pytest.approx(-mean_nats)
    assert fitted.loss(X) == pytest.approx(mean_nats)
    assert fitted.loss(X, unit="bits") == pytest.approx(mean_nats / np.log(2))
    bits = fitted.loss(X, unit="bits", per_token=True)
    np.testing.assert_allclose(np.concatenate(bits), np.concatenate(per_token) / np.log(2))
    # the typo "dey" costs more than "day"
    assert per_token[2][-2] > fitted.loss(["have a nice day"], per_token=True)[0][-2]
    # the per-token loss is -log predict_proba of that token given the text before it
    p = fitted.predict_proba(["good i am fin"])[0, fitted.vocabulary_["e"]]
    assert per_token[1][-1] == pytest.approx(-np.log(p), rel=1e-5)


def test_long_document_learns_and_predicts_well_from_a_fresh_start():
    # One text of 3,000 characters, a 200-character random pattern repeated: much longer
    # than bptt_steps, so it is learned by truncated BPTT with carried state.
    pattern = "".join(np.random.default_rng(0).choice(list("abcdefgh"), 200))
    doc = pattern * 15
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", ConvergenceWarning)
        gen = _gen(batch_size=8, bptt_steps=32, max_iter=60,
                                   random_state=0).fit([doc])
    uniform = np.log(len(gen.classes_))
    carried = gen.loss([doc])
    # 100-character windows, each read from a zero state, as generate() reads a prefix
    fresh = gen.loss([doc[i : i + 101] for i in range(0, len(doc) - 1, 100)])
    assert carried < 0.05 * uniform
    assert fresh < 0.1 * uniform
    assert fresh - carried < 0.15  # the first few characters of a window cost the gap
    # from a fresh state, 20 characters locate the model in the pattern: it predicts the
    # next character and greedily writes the next 30 as the pattern continues
    starts = range(1000, 1200, 40)
    pred = gen.predict([doc[s : s + 20] for s in range(1000, 1200)])
    assert np.mean(pred == np.array(list(doc[1020:1220]))) > 0.95
    for s in starts:
        assert gen.generate(doc[s : s + 20], n_tokens=30, temperature=0) == doc[s : s + 50]


def test_word_analyzer():
    gen = _gen(analyzer="word", random_state=0).fit(TEXTS)
    assert set(gen.classes_) == set(" ".join(TEXTS).split()) | {"<unk>"}
    assert gen.generate("good", n_tokens=3, temperature=0) == "good i am fine"
    assert gen.predict(["have a nice"])[0] == "day"
    assert len(gen.loss(["have a nice day"], per_token=True)[0]) == 3


def test_token_ids_in_give_token_ids_out():
    ids = SequenceVectorizer(analyzer="char", lowercase=False).fit_transform(TEXTS)
    gen = _gen(random_state=0).fit(ids)
    assert gen.vocabulary_ is None
    np.testing.assert_array_equal(gen.classes_, np.arange(gen.n_features_in_))
    pred = gen.predict(ids[:, :5])
    assert pred.dtype.kind == "i"
    np.testing.assert_array_equal(pred, ids[:, 5])
    out = gen.generate(ids[1, :4], n_tokens=10, temperature=0)
    assert out.dtype.kind == "i"
    np.testing.assert_array_equal(out, ids[1, :14])
    # one-hot rows are the same input as ids
    onehot = SequenceVectorizer(analyzer="char", lowercase=False, output="onehot")
    onehot = onehot.fit_transform(TEXTS)
    assert gen.score(onehot) == pytest.approx(gen.score(ids))
    np.testing.assert_array_equal(gen.predict(onehot[:, :5]), pred)
    # text and ids are the same model: same vocabulary order, same weights, same score
    text_gen = _gen(random_state=0, handle_unknown="error").fit(TEXTS)
    assert gen.score(ids) == pytest.approx(text_gen.score(TEXTS))


def test_pipeline_with_a_vectorizer_step():
    pipe = make_pipeline(SequenceVectorizer(analyzer="char"), _gen(random_state=0))
    pipe.fit(TEXTS)
    vec = pipe[0]
    pred = pipe.predict(["good i am fin", "hey how are yo"])
    np.testing.assert_array_equal(pred, [vec.vocabulary_["e"], vec.vocabulary_["u"]])
    assert pipe.predict_proba(["good"]).shape == (1, len(vec.vocabulary_))
    assert pipe.score(TEXTS) > -0.1
    ids = pipe[-1].generate(vec.transform(["good"])[0], n_tokens=10, temperature=0)
    assert "".join(vec.inverse_transform(ids[None])[0]) == "good i am fine"


def _unigram_score(train, test):
    """Mean log-likelihood of the test texts' predicted characters under the training
    texts' character frequencies: a model that learned nothing about order."""
    counts = Counter("".join(train))
    total = sum(counts.values())
    return float(np.mean([np.log(counts[c] / total) for t in test for c in t[1:]]))


def test_grid_search_and_cross_val_score_on_texts():
    rng = np.random.default_rng(0)
    words = ["the", "cat", "sat", "on", "a", "mat"]
    texts = [" ".join(rng.permutation(words)) for _ in range(9)]  # every fold has every char
    gen = _gen(max_iter=15, random_state=0, handle_unknown="error")
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", ConvergenceWarning)
        search = GridSearchCV(gen, {"hidden_layer_sizes": [(4,), (32,)]}, cv=3,
                              error_score="raise").fit(texts)
        scores = cross_val_score(gen, texts, cv=3, error_score="raise")
        # The same folds by hand: fit on two thirds, score the held-out third.
        folds = [(train, test) for train, test in KFold(3).split(texts)]
        manual = [clone(gen).fit([texts[i] for i in train]).score([texts[i] for i in test])
                  for train, test in folds]
    np.testing.assert_allclose(scores, manual, rtol=1e-12)
    test_scores = search.cv_results_["mean_test_score"]
    assert search.best_params_ == {"hidden_layer_sizes": (32,)}
    assert search.best_score_ == pytest.approx(test_scores.max())
    # Held out, the models know more than the characters' frequencies (measured: best
    # -1.24 and cross_val_score mean -1.43 against -2.01 for the unigram model).
    unigram = np.mean([_unigram_score([texts[i] for i in train], [texts[i] for i in test])
                       for train, test in folds])
    assert search.best_score_ > unigram + 0.5
    assert scores.mean() > unigram + 0.3


def test_warm_start_continues_training():
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", ConvergenceWarning)
        gen = _gen(max_iter=5, random_state=0,
                                   handle_unknown="error").fit(TEXTS)
        first = gen.loss_curve_[:]
        gen.set_params(warm_start=True).fit(TEXTS)
        straight = _gen(max_iter=10, random_state=0,
                                        handle_unknown="error").fit(TEXTS)
    assert gen.n_iter_ == 10 and gen.loss_curve_[:5] == first
    assert gen.loss_curve_[5] < first[0]
    # optimizer state and epoch seeds carry over: 5 + 5 epochs are the 10 epochs of one fit
    for k in straight.params_:
        np.testing.assert_array_equal(gen.params_[k], straight.params_[k])
    with pytest.raises(ValueError, match="Unknown token 'z'"):
        gen.fit(["zzz"])  # warm start keeps the vocabulary


def test_early_stopping_on_held_out_documents():
    """With 1 / validation_fraction documents or more, whole documents are held out, and
    the kept weights are the best epoch's: they score its validation score on them."""
    docs = TEXTS + ["hey how is it", "good and you", "have a good one"]
    gen = _gen(hidden_layer_sizes=(16,), early_stopping=True,
                               validation_fraction=0.5, n_iter_no_change=3, max_iter=300,
                               learning_rate_init=0.05, random_state=0).fit(docs)
    assert len(gen.validation_scores_) == gen.n_iter_ < 300
    assert gen.best_validation_score_ == max(gen.validation_scores_)
    assert gen.validation_scores_[-1] < gen.best_validation_score_
    _, val = gen._split_for_validation(len(docs), np.zeros(len(docs), dtype=int),
                                       np.random.RandomState(gen._seed))
    assert len(val) == 3
    assert gen.score([docs[i] for i in val]) == pytest.approx(gen.best_validation_score_,
                                                              rel=1e-6)


def test_early_stopping_on_the_end_of_each_document():
    # Fewer than 1 / validation_fraction documents: each one's last 30 % is held out.
    gen = _gen(early_stopping=True, validation_fraction=0.3, max_iter=20,
                               n_iter_no_change=50, random_state=0)
    with pytest.warns(ConvergenceWarning):
        gen.fit(TEXTS)
    assert len(gen.validation_scores_) == 20 and np.isfinite(gen.validation_scores_).all()
    cut = np.round(np.array([len(t) for t in TEXTS]) * 0.7).astype(int)
    tails = [t[c:] for t, c in zip(TEXTS, cut)]
    assert [len(t) for t in tails] == [5, 4, 5]
    assert gen.score(tails) == pytest.approx(gen.best_validation_score_, rel=1e-6)
    # The last 10 % of these sentences is one character: nothing to predict, nothing to score.
    with pytest.raises(ValueError, match="early_stopping's validation part has no token to "
                                         "predict"):
        _gen(early_stopping=True).fit(TEXTS)


def test_fitted_architecture_is_the_models_own(fitted):
    gen = copy.deepcopy(fitted)
    proba = gen.predict_proba(["good i am fin"])
    gen.set_params(cell="gru", hidden_layer_sizes=(5,))
    np.testing.assert_array_equal(gen.predict_proba(["good i am fin"]), proba)
    assert gen.generate("good", n_tokens=10, temperature=0) == "good i am fine"
    with pytest.raises(ValueError, match="continue the fitted model, whose cell is 'rnn'"):
        gen.set_params(warm_start=True).fit(TEXTS)


def test_max_time_stops_training(capsys):
    # 20,000 epochs would take ~14 s here (1,500 per second): only the budget ends it.
    gen = _gen(max_iter=20_000, n_iter_no_change=10**6, max_time=0.2,
                               verbose=1, random_state=0)
    start = time.perf_counter()
    with warnings.catch_warnings():
        warnings.simplefilter("error", ConvergenceWarning)  # a time stop is not max_iter
        gen.fit(TEXTS)
    assert time.perf_counter() - start >= 0.2  # not before the budget is used up
    assert 1 <= gen.n_iter_ < 20_000
    assert len(gen.loss_curve_) == gen.n_iter_
    out = capsys.readouterr().out
    assert "max_time=0.2s used up" in out
    assert "tokens/s" in out and "ETA" in out


# --------------------------------------------------------------------------- generate


def test_same_random_state_same_text_also_after_joblib(fitted, tmp_path):
    kwargs = {"n_tokens": 40, "temperature": 1.0, "random_state": 3}
    text = fitted.generate("h", **kwargs)
    assert len(text) == 41 and text.startswith("h")
    assert fitted.generate("h", **kwargs) == text
    texts = {fitted.generate("h", n_tokens=40, temperature=2.0, random_state=s)
             for s in range(5)}
    assert len(texts) > 1  # the seed matters at a high temperature
    joblib.dump(fitted, tmp_path / "gen.joblib")
    loaded = joblib.load(tmp_path / "gen.joblib")
    assert loaded.generate("h", **kwargs) == text
    assert loaded.score(TEXTS) == fitted.score(TEXTS)


def test_generate_from_an_unseen_context_and_n_tokens_zero(fitted):
    assert fitted.generate("hey", n_tokens=0) == "hey"
    assert fitted.generate("", n_tokens=0) == ""
    out = fitted.generate("you are fine", n_tokens=12, temperature=0.5, random_state=0)
    assert out.startswith("you are fine") and len(out) == 24


def test_top_k_one_is_greedy_at_any_temperature(fitted):
    greedy = fitted.generate("ha", n_tokens=13, temperature=0)
    for seed in range(3):
        assert fitted.generate("ha", n_tokens=13, temperature=5.0, top_k=1,
                               random_state=seed) == greedy


def test_temperature_divides_the_logits():
    # p_i proportional to exp(z_i / T): with z = log p, T = 0.5 squares and renormalizes p
    p = np.array([0.5, 0.3, 0.2])
    rng = np.random.RandomState(0)
    n = 20000
    for T, expected in [(1.0, p), (0.5, p**2 / (p**2).sum())]:
        draws = [draw(np.log(p), T, None, rng) for _ in range(n)]
        np.testing.assert_allclose(np.bincount(draws, minlength=3) / n, expected, atol=0.015)
    assert draw(np.log(p), 0, None, rng) == 0
    draws = {draw(np.log(p), 3.0, 2, rng) for _ in range(200)}
    assert draws == {0, 1}  # top_k=2 never draws the third token


def test_stop_ends_generation(fitted):
    assert fitted.generate("hey", n_tokens=50, temperature=0, stop="are") == "hey how are"
    assert fitted.generate("good", n_tokens=50, temperature=0, stop=" ") == "good "
    word = _gen(analyzer="word", random_state=0).fit(TEXTS)
    assert word.generate("hey", n_tokens=10, temperature=0, stop="are") == "hey how are"
    ids = SequenceVectorizer(analyzer="char", lowercase=False).fit(TEXTS)
    space = ids.vocabulary_[" "]
    id_gen = _gen(random_state=0).fit(ids.transform(TEXTS))
    out = id_gen.generate(ids.transform(["good"])[0], n_tokens=50, temperature=0, stop=space)
    np.testing.assert_array_equal(out, ids.transform(["good "])[0][:5])


# --------------------------------------------------------------------------- errors


@pytest.mark.parametrize(
    "X, error, match",
    [
        ([], ValueError, "at least one text"),
        ("hey how are you", ValueError, "string object received"),
        ([""], ValueError, "without any token"),
        (["a", "b"], ValueError, "fewer than 2 tokens"),
        (["hey", 3], TypeError, "document 1"),
        (np.full((2, 3, 4), 0.5), ValueError, "one-hot"),
    ],
)
def test_fit_rejects_bad_input(X, error, match):
    with pytest.raises(error, match=match):
        _gen().fit(X)


@pytest.mark.parametrize(
    "kwargs, match",
    [
        ({"prefix": "hez"}, "Unknown token 'z'"),
        ({"prefix": None}, "prefix"),
        ({"prefix": 3.5}, "prefix"),
        ({"prefix": [[1, 2]]}, "prefix"),
        ({"prefix": [1, 99]}, "Unknown token id 99"),
        ({"n_tokens": -1}, "n_tokens"),
        ({"n_tokens": 2.5}, "n_tokens"),
        ({"n_tokens": "3"}, "n_tokens"),
        ({"temperature": -0.5}, "temperature"),
        ({"temperature": float("nan")}, "temperature"),
        ({"temperature": "hot"}, "temperature"),
        ({"top_k": 0}, "top_k"),
        ({"top_k": 1.5}, "top_k"),
        ({"stop": 3}, "stop"),
        ({"stop": ""}, "stop"),
    ],
)
def test_generate_rejects_bad_arguments(strict, kwargs, match):
    kwargs = {"prefix": "hey", "n_tokens": 5, **kwargs}
    with pytest.raises(ValueError, match=match):
        strict.generate(**kwargs)


def test_predict_score_loss_reject_bad_input(fitted, strict):
    with pytest.raises(ValueError, match="Unknown token 'z' in text 1"):
        strict.predict(["hey", "zoo"])
    with pytest.raises(ValueError, match="at least one text"):
        fitted.predict_proba([])
    with pytest.raises(ValueError, match="no token to predict"):
        fitted.score(["h", ""])
    with pytest.raises(ValueError, match="unit"):
        fitted.loss(TEXTS, unit="dB")
    with pytest.raises(ValueError, match="Token id 17 in sample 0, step 1"):
        strict.predict(np.array([[0, 17]]))
    with pytest.raises(NotFittedError):
        _gen().generate("hey", 3)
    with pytest.raises(NotFittedError):
        _gen().predict(["hey"])


@pytest.mark.parametrize(
    "params, match",
    [({"bptt_steps": 0}, "bptt_steps"), ({"state_reset_proba": 1.5}, "state_reset_proba"),
     ({"max_time": 0}, "max_time"), ({"analyzer": "letters"}, "analyzer")],
)
def test_bad_parameters_are_named(params, match):
    with pytest.raises(ValueError, match=match):
        _gen(**params).fit(TEXTS)


def test_failed_calls_leave_a_fitted_model_unchanged(strict):
    gen = copy.deepcopy(strict)
    before = joblib.hash(gen)
    text = gen.generate("h", n_tokens=20, random_state=0)
    calls = [
        (lambda: gen.predict(["hez"]), "Unknown token 'z' in text 0"),
        (lambda: gen.generate("hez", 3), "Unknown token 'z' in text 0"),
        (lambda: gen.score(["h"]), "no token to predict"),
        (lambda: gen.fit([]), "at least one text"),
        (lambda: gen.set_params(bptt_steps=0).fit(TEXTS), "bptt_steps must be"),
        (lambda: gen.set_params(bptt_steps=64, warm_start=True).fit(["zzz"]),
         "Unknown token 'z'"),
        (lambda: gen.set_params(warm_start=True).fit(np.array([[0, 1, 2]])),
         "fitted on text; continue with text"),
    ]
    for call, match in calls:
        with pytest.raises(ValueError, match=match):
            call()
    gen.set_params(warm_start=False)
    assert joblib.hash(gen) == before
    assert gen.generate("h", n_tokens=20, random_state=0) == text


def test_prediction_does_not_mutate(fitted):
    before = joblib.hash(fitted)
    fitted.predict(TEXTS)
    fitted.predict_proba(TEXTS)
    fitted.score(TEXTS)
    fitted.loss(TEXTS, per_token=True)
    fitted.generate("h", n_tokens=10, random_state=0)
    assert joblib.hash(fitted) == before


# --------------------------------------------------------------------------- scikit-learn


def test_clone_and_params():
    gen = _gen(hidden_layer_sizes=(8,), bptt_steps=16, analyzer="word")
    params = gen.get_params()
    assert params["bptt_steps"] == 16 and params["analyzer"] == "word"
    assert {"state_reset_proba", "max_time", "lowercase", "token_pattern"} <= set(params)
    copy_ = clone(gen)
    assert copy_.get_params() == params
    copy_.set_params(bptt_steps=32, state_reset_proba=0.0)
    assert copy_.bptt_steps == 32 and gen.bptt_steps == 16
    fitted_clone = clone(_gen(random_state=0).fit(TEXTS))
    assert not hasattr(fitted_clone, "params_")


def test_repeated_fits_are_identical():
    a = _gen(random_state=1).fit(TEXTS)
    b = _gen(random_state=1).fit(TEXTS)
    assert joblib.hash(a.params_) == joblib.hash(b.params_)
    assert a.loss_curve_ == b.loss_curve_


def test_skops_round_trip(fitted):
    sio = pytest.importorskip("skops.io")
    data = sio.dumps(fitted)
    assert sio.get_untrusted_types(data=data) == ["skrnn._generator.RNNSequenceGenerator"]
    loaded = sio.loads(data, trusted=["skrnn._generator.RNNSequenceGenerator"])
    assert loaded.generate("good", n_tokens=10, temperature=0) == "good i am fine"
    assert loaded.score(TEXTS) == fitted.score(TEXTS)


# --------------------------------------------------------------------------- internals


def test_windowed_reading_is_exact():
    # float64, so that only the algorithm (not float32 rounding) can make a difference
    gen = _gen(cell="lstm", hidden_layer_sizes=(8, 8), max_iter=3,
                               dtype=np.float64, random_state=0)
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", ConvergenceWarning)
        gen.fit(TEXTS)
    corpus = gen._encode(TEXTS + ["hey how are you good i am fine have a nice day"])[0]
    net = gen._net("many_to_many")
    finals, logp = run_documents(net, gen.params_, corpus, log_likelihood=True)
    finals_3, logp_3 = run_documents(net, gen.params_, corpus, log_likelihood=True, window=3)
    np.testing.assert_allclose(logp_3, logp, rtol=1e-12)
    for name in finals:
        for state_3, state in zip(finals_3[name], finals[name]):  # (h, c) of every layer
            np.testing.assert_allclose(state_3, state, rtol=1e-12, atol=1e-14)


def test_epoch_plan_covers_every_prediction_once():
    lengths = np.array([1, 5, 40, 0, 300, 64, 65])
    rng = np.random.default_rng(0)
    plan = plan_epoch(lengths, bptt_steps=16, n_lanes=4, reset_proba=0.25, rng=rng)
    assert plan["length"].min() >= 1 and plan["length"].max() <= 16
    covered = np.zeros((len(lengths), lengths.max()), dtype=int)
    for d, b, n in zip(plan["doc"], plan["begin"], plan["length"]):
        covered[d, b : b + n] += 1
    expected = np.arange(lengths.max())[None, :] < np.maximum(lengths - 1, 0)[:, None]
    np.testing.assert_array_equal(covered, expected.astype(int))
    # minibatch k holds step k of each lane, one window per lane
    for k in range(len(plan["bounds"]) - 1):
        rows = slice(plan["bounds"][k], plan["bounds"][k + 1])
        assert np.all(plan["step"][rows] == k)
        assert len(set(plan["lane"][rows])) == plan["bounds"][k + 1] - plan["bounds"][k]
    # a window that keeps its lane's state continues that lane's previous window exactly
    last = {}
    for i in range(len(plan["doc"])):
        lane = plan["lane"][i]
        if not plan["reset"][i]:
            j = last[lane]
            assert plan["doc"][j] == plan["doc"][i]
            assert plan["begin"][j] + plan["length"][j] == plan["begin"][i]
        last[lane] = i
    # every document's first window starts from a zero state
    assert np.all(plan["reset"][plan["begin"] == 0])


def test_corpus_take_keeps_documents():
    corpus = Corpus([1, 2, 3, 4, 5, 6], [2, 0, 4], n_features=7)
    sub = corpus.take([2, 0])
    np.testing.assert_array_equal(sub.tokens, [3, 4, 5, 6, 1, 2])
    np.testing.assert_array_equal(sub.lengths, [4, 2])
    assert sub.n_predictions == 4 and corpus.n_predictions == 4


# --------------------------------------------------------------------------- unknown tokens


def test_unknown_tokens_become_the_unknown_token(fitted, strict):
    assert fitted.classes_[-1] == "<unk>" and fitted.vocabulary_["<unk>"] == 17
    assert "<unk>" not in strict.vocabulary_
    # "z" and "q" are not in the training text: each is read, and scored, as <unk>
    p_unk = fitted.predict_proba(["hey ho"])[0, -1]
    logp = -fitted.loss(["hey hoz"], per_token=True)[0]
    np.testing.assert_allclose(logp[-1], np.log(p_unk), rtol=1e-5)
    assert np.isfinite(fitted.score(["zq zq", "hey"]))
    np.testing.assert_allclose(fitted.predict_proba(["hez"]), fitted.predict_proba(["heq"]))
    # generate reads an unknown prefix token but never writes one
    text = fitted.generate("zhe", n_tokens=200, temperature=5.0, random_state=0)
    assert text.startswith("zhe") and "<unk>" not in text[3:] and len(text) == 203


def test_min_frequency_trains_the_unknown_token_from_rare_tokens():
    texts = ["abab abab", "abab abab", "abab abxb"]  # x occurs once
    gen = _gen(min_frequency=2, max_iter=30, random_state=0).fit(texts)
    assert "x" not in gen.vocabulary_ and "<unk>" in gen.vocabulary_
    plain = _gen(max_iter=30, random_state=0).fit(texts)
    # trained on "x" as <unk>: an unknown token after "ab" is far more likely
    assert gen.predict_proba(["abab ab"])[0, -1] > 10 * plain.predict_proba(["abab ab"])[0, -1]
    with pytest.raises(ValueError, match="min_frequency=100"):
        _gen(min_frequency=100).fit(texts)
    with pytest.raises(ValueError, match="handle_unknown must be one of"):
        _gen(handle_unknown="ignore").fit(texts)
    with pytest.raises(ValueError, match="reserves"):
        _gen(analyzer=lambda t: t.split()).fit(["a <unk> b"])


def test_cross_validation_on_real_text_scores_every_fold():
    """Folds of tinyshakespeare hold characters the other folds lack; every fold gets a
    finite score by default (and none with handle_unknown="error")."""
    from sklearn.model_selection import KFold, cross_val_score

    text = load_tinyshakespeare()[:6000]
    texts = [text[i : i + 500] for i in range(0, len(text), 500)]
    cv = KFold(3)
    unseen = [set("".join(texts[j] for j in te)) - set("".join(texts[j] for j in tr))
              for tr, te in cv.split(texts)]
    assert any(unseen)  # the premise: some fold has a character its training part lacks
    gen = _gen(hidden_layer_sizes=(16,), max_iter=2, random_state=0)
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        scores = cross_val_score(gen, texts, cv=cv)
        strict_scores = cross_val_score(gen.set_params(handle_unknown="error"), texts, cv=cv)
    assert np.isfinite(scores).all()
    assert np.isnan(strict_scores[[bool(u) for u in unseen]]).all()
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        search = GridSearchCV(gen.set_params(handle_unknown="unknown"),
                              {"cell": ["rnn", "gru"]}, cv=cv, error_score="raise").fit(texts)
    splits = [search.cv_results_[f"split{k}_test_score"] for k in range(3)]
    assert np.isfinite(splits).all()
