"""Tests for SequenceVectorizer."""

import pickle
import re
import warnings

import joblib
import numpy as np
import pytest
from numpy.testing import assert_array_equal
from sklearn import config_context
from sklearn.base import clone
from sklearn.exceptions import ConvergenceWarning
from sklearn.linear_model import LogisticRegression
from sklearn.model_selection import GridSearchCV, cross_val_score
from sklearn.pipeline import make_pipeline
from sklearn.preprocessing import FunctionTransformer

from skrnn import RNNClassifier
from skrnn._vectorizer import SequenceVectorizer

TEXTS = ["i am not happy", "this is good", "Good day, I am happy"]

# A tiny sentiment corpus for the pipeline tests: label 1 = positive.
CORPUS = [
    "good movie", "very good film", "great and good", "Good fun", "great movie",
    "really great film", "good good", "great fun", "nice and good", "very nice movie",
    "bad movie", "very bad film", "awful and bad", "Bad fun", "awful movie",
    "really awful film", "bad bad", "awful fun", "boring and bad", "very boring movie",
]
LABELS = [1] * 10 + [0] * 10


def bag_of_tokens(X):
    """Sum one-hot steps over time (padding NaN counts as 0): a fixed-width count matrix."""
    return np.nan_to_num(X).sum(axis=1)


def make_text_pipeline(**vectorizer_params):
    return make_pipeline(
        SequenceVectorizer(output="onehot", max_len=3, **vectorizer_params),
        FunctionTransformer(bag_of_tokens),
        LogisticRegression(),
    )


# --- tokenization -----------------------------------------------------------------------------


def test_word_analyzer_vocabulary_and_ids():
    vec = SequenceVectorizer().fit(TEXTS)
    expected = ["am", "day", "good", "happy", "i", "is", "not", "this"]
    assert vec.vocabulary_ == {t: i for i, t in enumerate(expected)}
    assert vec.fixed_vocabulary_ is False
    assert_array_equal(vec.get_feature_names_out(), expected)
    assert vec.get_feature_names_out().dtype == object
    X = vec.transform(TEXTS)
    assert X.dtype == np.int32
    assert_array_equal(
        X,
        [[4, 0, 6, 3, -1], [7, 5, 2, -1, -1], [2, 1, 4, 0, 3]],
    )


def test_char_analyzer_keeps_spaces_and_punctuation():
    vec = SequenceVectorizer(analyzer="char").fit(["Hi, a!"])
    assert sorted(vec.vocabulary_) == [" ", "!", ",", "a", "h", "i"]
    names = vec.get_feature_names_out()
    assert "".join(names[vec.transform(["Hi, a!"])[0]]) == "hi, a!"


def test_callable_analyzer_does_its_own_preprocessing():
    vec = SequenceVectorizer(analyzer=lambda doc: doc.split("-")).fit(["A-b-A"])
    # lowercase is not applied for a callable analyzer, as in CountVectorizer.
    assert vec.vocabulary_ == {"A": 0, "b": 1}
    assert_array_equal(vec.transform(["b-A-c"]), [[1, 0]])
    assert vec.build_analyzer()("x-y") == ["x", "y"]


def test_callable_analyzer_returning_non_str_tokens():
    vec = SequenceVectorizer(analyzer=lambda doc: [len(doc)])
    with pytest.raises(TypeError, match="Tokens must be str, but the analyzer returned 3 "
                                        "of type int for the document 'abc'"):
        vec.fit(["abc"])
    with pytest.raises(TypeError, match="analyzer must return a list of str tokens, got "
                                        "NoneType for the document 'abc'"):
        SequenceVectorizer(analyzer=lambda doc: None).fit(["abc"])
    with pytest.raises(TypeError, match="the tokenizer returned"):
        SequenceVectorizer(tokenizer=lambda doc: [[doc]]).fit(["abc"])
    # also at transform, with a fixed vocabulary (not silently unknown tokens)
    fixed = SequenceVectorizer(analyzer=lambda doc: [len(doc)], vocabulary=["a"])
    with pytest.raises(TypeError, match="Tokens must be str"):
        fixed.fit_transform(["abc"])


def test_upper_case_fixed_vocabulary_with_lowercase_warns():
    # as CountVectorizer: such entries can never match a lowercased document
    with pytest.warns(UserWarning, match="Upper case characters found in vocabulary"):
        SequenceVectorizer(vocabulary=["A", "b"]).fit(["A b"])
    with warnings.catch_warnings():
        warnings.simplefilter("error")
        SequenceVectorizer(vocabulary=["A"], lowercase=False).fit(["A"])


def test_failed_fit_transform_leaves_the_fitted_vectorizer_unchanged():
    vec = SequenceVectorizer(handle_unknown="error").fit(["x y z"])
    vec.set_params(vocabulary=["a"])
    with pytest.raises(ValueError, match="Unknown token 'b' in document 0"):
        vec.fit_transform(["a b"])
    assert vec.vocabulary_ == {"x": 0, "y": 1, "z": 2} and not vec.fixed_vocabulary_


def test_tokenizer_overrides_token_pattern():
    vec = SequenceVectorizer(tokenizer=str.split, token_pattern="unused").fit(["It's OK."])
    assert vec.vocabulary_ == {"it's": 0, "ok.": 1}
    assert vec.build_analyzer()("A b") == ["a", "b"]


def test_lowercase():
    assert sorted(SequenceVectorizer().fit(["Hello hello"]).vocabulary_) == ["hello"]
    vec = SequenceVectorizer(lowercase=False).fit(["Hello hello"])
    assert sorted(vec.vocabulary_) == ["Hello", "hello"]
    assert_array_equal(vec.transform(["hello Hello HELLO"]), [[1, 0]])


def test_token_pattern_and_capturing_group():
    vec = SequenceVectorizer(token_pattern=r"[a-z]{2,}").fit(["a bc def"])
    assert sorted(vec.vocabulary_) == ["bc", "def"]
    # With one capturing group the group is the token.
    vec = SequenceVectorizer(token_pattern=r"#(\w+)").fit(["#tag and #other"])
    assert sorted(vec.vocabulary_) == ["other", "tag"]


def test_default_token_pattern_keeps_one_letter_words():
    assert SequenceVectorizer().build_analyzer()("I saw a cat") == ["i", "saw", "a", "cat"]


# --- vocabulary -------------------------------------------------------------------------------


def test_min_df_int_and_float():
    docs = ["a b c", "a b", "a"]
    assert sorted(SequenceVectorizer(min_df=2).fit(docs).vocabulary_) == ["a", "b"]
    assert sorted(SequenceVectorizer(min_df=3).fit(docs).vocabulary_) == ["a"]
    # A float is a proportion of the documents: 0.5 * 3 = 1.5 -> at least 2 documents.
    assert sorted(SequenceVectorizer(min_df=0.5).fit(docs).vocabulary_) == ["a", "b"]
    assert sorted(SequenceVectorizer(min_df=1.0).fit(docs).vocabulary_) == ["a"]
    assert sorted(SequenceVectorizer(min_df=0.0).fit(docs).vocabulary_) == ["a", "b", "c"]


def test_min_df_counts_documents_not_occurrences():
    vec = SequenceVectorizer(min_df=2).fit(["x x x y", "y"])
    assert sorted(vec.vocabulary_) == ["y"]


def test_max_features_keeps_most_frequent_with_alphabetical_ties():
    docs = ["d d d c c b b a a e"]
    # Counts: d=3, a=b=c=2, e=1. Two tokens: d, then a (first of the tie alphabetically).
    vec = SequenceVectorizer(max_features=2).fit(docs)
    assert vec.vocabulary_ == {"a": 0, "d": 1}
    vec = SequenceVectorizer(max_features=3).fit(docs)
    assert vec.vocabulary_ == {"a": 0, "b": 1, "d": 2}
    assert len(SequenceVectorizer(max_features=100).fit(docs).vocabulary_) == 5


def test_max_features_counts_total_occurrences_after_min_df():
    docs = ["z z z z q", "q w", "w"]
    vec = SequenceVectorizer(min_df=2, max_features=1).fit(docs)
    # z is the most frequent overall but is in one document only.
    assert vec.vocabulary_ == {"q": 0}


def test_fixed_vocabulary_mapping():
    vocabulary = {"good": 1, "bad": 0, "movie": 2}
    vec = SequenceVectorizer(vocabulary=vocabulary).fit(["something else entirely"])
    assert vec.fixed_vocabulary_ is True
    assert vec.vocabulary_ == vocabulary
    assert vec.vocabulary_ is not vocabulary
    assert vec.vocabulary is vocabulary  # fit does not rewrite a parameter
    assert_array_equal(vec.get_feature_names_out(), ["bad", "good", "movie"])
    assert_array_equal(vec.transform(["good movie bad"]), [[1, 2, 0]])


def test_fixed_vocabulary_iterable_takes_ids_in_order():
    vec = SequenceVectorizer(vocabulary=["zebra", "apple"]).fit(["apple"])
    assert vec.vocabulary_ == {"zebra": 0, "apple": 1}
    assert vec.fixed_vocabulary_ is True
    # min_df and max_features do not apply to a given vocabulary.
    vec = SequenceVectorizer(vocabulary=("b", "a"), min_df=5, max_features=1).fit(["a"])
    assert vec.vocabulary_ == {"b": 0, "a": 1}


def test_fixed_vocabulary_still_validates_documents():
    with pytest.raises(ValueError, match="string object received"):
        SequenceVectorizer(vocabulary=["a"]).fit("a b")


@pytest.mark.parametrize(
    "vocabulary, error, match",
    [
        ({"a": 0, "b": 2}, ValueError, "vocabulary ids must be 0, 1, ..., 1"),
        ({"a": 0, "b": 0}, ValueError, "each used once"),
        ({"a": "0"}, TypeError, "vocabulary ids must be integers"),
        (["a", "b", "a"], ValueError, "Duplicate token in vocabulary: 'a'"),
        ([], ValueError, "empty vocabulary"),
        ({}, ValueError, "empty vocabulary"),
        ("abc", TypeError, "got a string"),
        (5, TypeError, "vocabulary must be None, a mapping"),
        ([1, 2], TypeError, "vocabulary tokens must be str"),
    ],
)
def test_bad_fixed_vocabulary(vocabulary, error, match):
    with pytest.raises(error, match=re.escape(match)):
        SequenceVectorizer(vocabulary=vocabulary).fit(["a b"])


def test_empty_vocabulary_errors():
    with pytest.raises(ValueError, match="empty vocabulary; the documents contain no tokens"):
        SequenceVectorizer().fit(["...", "!?"])
    with pytest.raises(ValueError, match=r"empty vocabulary; .*min_df=3"):
        SequenceVectorizer(min_df=3).fit(["a b", "b c"])


# --- truncation, unknown tokens, output forms -------------------------------------------------


def test_max_len_truncating_pre_and_post():
    docs = ["a b c d e", "a b"]
    pre = SequenceVectorizer(max_len=3).fit(docs)
    assert_array_equal(pre.transform(docs), [[2, 3, 4], [0, 1, -1]])
    post = SequenceVectorizer(max_len=3, truncating="post").fit(docs)
    assert_array_equal(post.transform(docs), [[0, 1, 2], [0, 1, -1]])
    # The width is the longest sequence of the batch, not max_len.
    assert pre.transform(["a"]).shape == (1, 1)


def test_max_len_counts_known_tokens_only():
    vec = SequenceVectorizer(max_len=2, truncating="post").fit(["a b c"])
    assert_array_equal(vec.transform(["x a y b z c"]), [[0, 1]])


def test_handle_unknown_ignore_drops_tokens():
    vec = SequenceVectorizer().fit(["a b c"])
    assert_array_equal(vec.transform(["a x b", "c"]), [[0, 1], [2, -1]])


def test_all_unknown_document_is_zero_length():
    vec = SequenceVectorizer().fit(["a b c"])
    X = vec.transform(["x y z", "a"])
    assert_array_equal(X, [[-1], [0]])
    X = vec.transform(["x y", "unknown words", ""])
    assert X.shape == (3, 1)
    assert (X == -1).all()
    onehot = clone(vec).set_params(output="onehot").fit(["a b c"]).transform(["x", "a"])
    assert np.isnan(onehot[0]).all()
    assert vec.inverse_transform(X) == [[], [], []]
    assert vec._encode(["x y", "a b"])[1].tolist() == [0, 2]


def test_handle_unknown_error_names_token_and_document():
    vec = SequenceVectorizer(handle_unknown="error").fit(["a b c"])
    assert_array_equal(vec.transform(["c b a"]), [[2, 1, 0]])
    with pytest.raises(ValueError, match=r"Unknown token 'zebra' in document 1"):
        vec.transform(["a b", "a zebra b"])
    with pytest.raises(ValueError, match=r"Unknown token 'q' in document 0"):
        vec._encode(["q"])


@pytest.mark.parametrize("truncating, expected", [("pre", [[1, 2], [1], [], [0, 1]]),
                                                   ("post", [[0, 1], [1], [], [2, 0]])])
def test_encode_returns_int32_ids_end_to_end(truncating, expected):
    """Ids of all documents laid end to end with their lengths: unknown tokens dropped,
    then each document truncated to max_len (the kept tokens are what counts)."""
    vec = SequenceVectorizer(max_len=2, truncating=truncating,
                             handle_unknown="ignore").fit(["a b c"])
    ids, lengths = vec._encode(["a b c", "b", "zzz", "c zzz a zzz b"])
    assert ids.dtype == np.int32
    assert [part.tolist() for part in np.split(ids, np.cumsum(lengths)[:-1])] == expected


def test_onehot_output():
    docs = ["a b c", "c a", "zzz"]
    index = SequenceVectorizer().fit(docs[:2]).transform(docs)
    vec = SequenceVectorizer(output="onehot").fit(docs[:2])
    onehot = vec.transform(docs)
    assert onehot.shape == (3, 3, 3)
    assert onehot.dtype == np.float32
    real = index >= 0
    # Padding steps are all NaN; real steps are one-hot rows at the index form's ids.
    assert np.isnan(onehot[~real]).all()
    assert not np.isnan(onehot[real]).any()
    assert_array_equal(onehot[real].sum(axis=1), 1)
    assert_array_equal(onehot[real].argmax(axis=1), index[real])
    assert_array_equal(np.isin(onehot[real], [0, 1]), True)


def test_onehot_dtype():
    vec = SequenceVectorizer(output="onehot", dtype=np.float64).fit(["a b"])
    assert vec.transform(["a"]).dtype == np.float64


def test_inverse_transform_round_trip_both_forms():
    docs = ["the cat sat", "a dog", "the end of it all"]
    for output in ("index", "onehot"):
        vec = SequenceVectorizer(output=output).fit(docs)
        assert vec.inverse_transform(vec.transform(docs)) == [d.split() for d in docs]
    vec = SequenceVectorizer(analyzer="char", max_len=3).fit(["abcd"])
    assert vec.inverse_transform(vec.transform(["abcd", "b"])) == [["b", "c", "d"], ["b"]]


def test_inverse_transform_bad_input():
    vec = SequenceVectorizer().fit(["a b"])
    with pytest.raises(ValueError, match="Token id 5 in sample 0, step 1 is outside"):
        vec.inverse_transform(np.array([[0, 5]]))
    with pytest.raises(ValueError, match="Token id -3 in sample 0, step 0 is negative"):
        vec.inverse_transform(np.array([[-3, 0]]))
    with pytest.raises(ValueError, match="is expecting 2 features"):
        vec.inverse_transform(np.zeros((1, 2, 3)))
    with pytest.raises(ValueError, match="sample 0, step 1 is not one-hot"):
        vec.inverse_transform(np.array([[[1.0, 0.0], [0.5, 0.5]]]))


# --- input and parameter validation -----------------------------------------------------------


@pytest.mark.parametrize("method", ["fit", "fit_transform", "transform"])
def test_string_instead_of_documents(method):
    vec = SequenceVectorizer().fit(["a"])
    msg = "Iterable over raw text documents expected, string object received."
    with pytest.raises(ValueError, match=re.escape(msg)):
        getattr(vec, method)("a b c")


@pytest.mark.parametrize("method", ["fit", "transform"])
def test_non_str_document_names_index_and_type(method):
    vec = SequenceVectorizer().fit(["a"])
    with pytest.raises(TypeError, match="document 2 is of type float"):
        getattr(vec, method)(["a", "b", float("nan")])
    with pytest.raises(TypeError, match="document 0 is of type bytes"):
        getattr(vec, method)([b"a"])


@pytest.mark.parametrize("method", ["fit", "transform"])
def test_empty_document_list(method):
    vec = SequenceVectorizer().fit(["a"])
    with pytest.raises(ValueError, match="at least one text document"):
        getattr(vec, method)([])


def test_other_iterables_of_documents():
    vec = SequenceVectorizer().fit(np.array(["a b", "c"]))
    assert_array_equal(vec.transform(d for d in ["c a"]), [[2, 0]])
    with pytest.raises(TypeError, match="Iterable over raw text documents expected, got int"):
        vec.transform(3)
    with pytest.raises(ValueError, match=r"shape \(2, 1\)"):
        vec.transform(np.array([["a"], ["b"]]))


def test_unfitted():
    from sklearn.exceptions import NotFittedError

    vec = SequenceVectorizer()
    for method, arg in [
        ("transform", ["a"]), ("inverse_transform", [[0]]), ("_encode", ["a"]),
        ("get_feature_names_out", None),
    ]:
        with pytest.raises(NotFittedError):
            getattr(vec, method)(arg) if arg is not None else getattr(vec, method)()


@pytest.mark.parametrize(
    "params, error, match",
    [
        ({"analyzer": "words"}, ValueError, "analyzer must be 'word', 'char' or a callable"),
        ({"analyzer": 3}, ValueError, "analyzer must be 'word', 'char' or a callable"),
        ({"lowercase": "yes"}, TypeError, "lowercase must be True or False"),
        ({"token_pattern": 5}, TypeError, "token_pattern must be a str"),
        ({"token_pattern": "("}, ValueError, "token_pattern '(' is not a valid"),
        ({"token_pattern": r"(a)(b)"}, ValueError, "at most one is allowed"),
        ({"tokenizer": "split"}, TypeError, "tokenizer must be None or a callable"),
        ({"min_df": 0}, ValueError, "min_df must be an int >= 1 or a float in [0.0, 1.0]"),
        ({"min_df": 1.5}, ValueError, "min_df must be an int >= 1 or a float in [0.0, 1.0]"),
        ({"min_df": "2"}, TypeError, "min_df must be an int >= 1 or a float in [0.0, 1.0]"),
        ({"min_df": True}, TypeError, "min_df must be"),
        ({"max_features": 0}, ValueError, "max_features must be an integer >= 1 or None"),
        ({"max_features": 2.0}, TypeError, "max_features must be an integer >= 1 or None"),
        ({"max_len": 0}, ValueError, "max_len must be an integer >= 1 or None"),
        ({"max_len": "5"}, TypeError, "max_len must be an integer >= 1 or None"),
        ({"truncating": "middle"}, ValueError, "truncating must be one of 'pre', 'post'"),
        ({"handle_unknown": "warn"}, ValueError, "handle_unknown must be one of 'ignore', 'error'"),
        ({"output": "dense"}, ValueError, "output must be one of 'index', 'onehot'"),
        ({"dtype": np.int32}, ValueError, "dtype must be a floating-point dtype"),
        ({"dtype": "not a dtype"}, ValueError, "dtype must be a floating-point dtype"),
    ],
)
def test_bad_parameters_are_named(params, error, match):
    vec = SequenceVectorizer(**params)
    with pytest.raises(error, match=re.escape(match)):
        vec.fit(["a b"])


def test_unused_parameters_are_not_validated():
    # token_pattern is only read by the word analyzer without a tokenizer.
    SequenceVectorizer(analyzer="char", token_pattern=None).fit(["ab"])
    SequenceVectorizer(tokenizer=str.split, token_pattern=None).fit(["ab"])


# --- scikit-learn behaviour (the common checks skip text-input estimators) --------------------


def test_tags():
    tags = SequenceVectorizer().__sklearn_tags__()
    assert tags.input_tags.string
    assert not tags.input_tags.two_d_array
    assert tags.requires_fit
    assert tags.transformer_tags.preserves_dtype == []


def test_get_params_set_params_and_clone():
    vec = SequenceVectorizer(analyzer="char", max_len=7, vocabulary=["a", "b"])
    params = vec.get_params()
    assert params["analyzer"] == "char"
    assert params["max_len"] == 7
    assert params["dtype"] is np.float32
    assert set(params) == {
        "analyzer", "lowercase", "token_pattern", "tokenizer", "min_df", "max_features",
        "vocabulary", "max_len", "truncating", "handle_unknown", "output", "dtype",
    }
    assert vec.set_params(max_len=3, output="onehot") is vec
    assert vec.max_len == 3 and vec.output == "onehot"
    vec.fit(["a b"])
    cloned = clone(vec)
    assert cloned.get_params() == vec.get_params()
    assert not hasattr(cloned, "vocabulary_")


def test_fit_transform_equals_fit_then_transform():
    for params in [{}, {"analyzer": "char", "max_len": 4}, {"output": "onehot", "min_df": 2}]:
        a = SequenceVectorizer(**params).fit_transform(TEXTS)
        b = SequenceVectorizer(**params).fit(TEXTS).transform(TEXTS)
        assert a.dtype == b.dtype
        assert_array_equal(a, b)


def test_repeated_fits_are_identical():
    vec = SequenceVectorizer(max_features=5)
    first = vec.fit_transform(TEXTS)
    vocabulary = dict(vec.vocabulary_)
    vec.fit(["other words entirely"])
    assert_array_equal(vec.fit(TEXTS).transform(TEXTS), first)
    assert vec.vocabulary_ == vocabulary


def test_transform_does_not_mutate_the_estimator():
    vec = SequenceVectorizer(output="onehot").fit(TEXTS)
    state = pickle.dumps(vec.__dict__)
    before = dict(vec.__dict__)
    vec.transform(TEXTS + ["unknown words here"])
    vec._encode(TEXTS)
    vec.inverse_transform(vec.transform(TEXTS))
    vec.get_feature_names_out()
    assert vec.__dict__.keys() == before.keys()
    assert pickle.dumps(vec.__dict__) == state


def test_in_pipeline():
    pipe = make_text_pipeline().fit(CORPUS, LABELS)
    assert pipe.score(CORPUS, LABELS) == 1.0
    assert_array_equal(pipe.predict(["a good film", "an awful film"]), [1, 0])


def test_in_grid_search_over_vectorizer_parameters():
    grid = GridSearchCV(
        make_text_pipeline(),
        {"sequencevectorizer__lowercase": [True, False], "sequencevectorizer__min_df": [1, 2]},
        cv=2,
    )
    grid.fit(CORPUS, LABELS)
    assert len(grid.cv_results_["params"]) == 4
    assert np.isfinite(grid.cv_results_["mean_test_score"]).all()
    assert grid.predict(["good fun"]).tolist() == [1]


def test_cross_val_score():
    scores = cross_val_score(make_text_pipeline(), CORPUS, LABELS, cv=5)
    assert scores.shape == (5,)
    assert scores.mean() >= 0.8


def test_pickle_and_joblib_round_trips(tmp_path):
    vec = SequenceVectorizer(analyzer="char", max_len=5, output="onehot").fit(TEXTS)
    expected = vec.transform(TEXTS)
    loaded = pickle.loads(pickle.dumps(vec))
    assert_array_equal(loaded.transform(TEXTS), expected)
    path = tmp_path / "vectorizer.joblib"
    joblib.dump(vec, path)
    loaded = joblib.load(path)
    assert_array_equal(loaded.transform(TEXTS), expected)
    assert loaded.vocabulary_ == vec.vocabulary_


def test_skops_round_trip_trusts_only_the_vectorizer():
    sio = pytest.importorskip("skops.io")
    vec = SequenceVectorizer(max_len=3, vocabulary=None).fit(TEXTS)
    data = sio.dumps(vec)
    untrusted = sio.get_untrusted_types(data=data)
    assert untrusted == ["skrnn._vectorizer.SequenceVectorizer"]
    loaded = sio.loads(data, trusted=untrusted)
    assert_array_equal(loaded.transform(TEXTS), vec.transform(TEXTS))
    assert loaded.vocabulary_ == vec.vocabulary_
    assert loaded.fixed_vocabulary_ is False


def test_pipeline_set_output_keeps_the_sequences():
    # Pipeline.set_output sets every transforming step; before set_output existed here it
    # raised "Unable to configure output for SequenceVectorizer()".
    def pipeline():
        return make_pipeline(SequenceVectorizer(), RNNClassifier(max_iter=5, random_state=0))

    configured = pipeline()
    assert configured.set_output(transform="pandas") is configured
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", ConvergenceWarning)
        configured.fit(CORPUS, LABELS)
        plain = pipeline().fit(CORPUS, LABELS)
    assert_array_equal(configured.predict_proba(CORPUS), plain.predict_proba(CORPUS))
    # The vectorizer's output stays an array, whichever way pandas output is asked for.
    expected = SequenceVectorizer().fit_transform(TEXTS)
    for transform in ("pandas", "polars", "default", None):
        out = SequenceVectorizer().set_output(transform=transform).fit_transform(TEXTS)
        assert type(out) is np.ndarray
        assert_array_equal(out, expected)
    with config_context(transform_output="pandas"):
        assert type(SequenceVectorizer().fit_transform(TEXTS)) is np.ndarray
    with pytest.raises(ValueError, match="transform must be None, 'default', 'pandas' or "
                       "'polars', got 'arrow'"):
        SequenceVectorizer().set_output(transform="arrow")
