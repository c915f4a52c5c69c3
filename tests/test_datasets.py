"""Tests of the bundled datasets in ``skrnn.datasets``."""

import io
from importlib import resources

import numpy as np
import pytest

import skrnn.datasets
from skrnn.datasets import (
    load_gunpoint,
    load_japanese_vowels,
    load_negation_sentiment,
    load_rotten_tomatoes,
    load_tinyshakespeare,
    load_turkish_web_treebank,
)
from skrnn.datasets._loaders import _read_conllu, _read_ts

from ._data import assert_end_padded, sequence_lengths

BUNDLED = [
    "negation_sentiment.json",
    "rotten_tomatoes_corpus_full.csv.bz2",
    "tinyshakespeare.txt.gz",
    "JapaneseVowels_TRAIN.ts.gz",
    "JapaneseVowels_TEST.ts.gz",
    "GunPoint_TRAIN.ts.gz",
    "GunPoint_TEST.ts.gz",
    "turkish_web_treebank_web.conllu.gz",
    "turkish_web_treebank_wiki.conllu.gz",
    "turkish_web_treebank_LICENSE",
    "LICENSES.md",
]


@pytest.fixture(scope="module")
def rotten():
    return load_rotten_tomatoes()


@pytest.fixture(scope="module")
def vowels():
    return load_japanese_vowels()


@pytest.fixture(scope="module")
def gunpoint():
    return load_gunpoint()


def test_public_api():
    assert sorted(skrnn.datasets.__all__) == sorted(
        [
            "load_negation_sentiment",
            "load_rotten_tomatoes",
            "load_tinyshakespeare",
            "load_japanese_vowels",
            "load_gunpoint",
            "load_turkish_web_treebank",
        ]
    )
    for name in skrnn.datasets.__all__:
        doc = getattr(skrnn.datasets, name).__doc__
        for section in ("Returns", "Examples"):
            assert section in doc, (name, section)


@pytest.mark.parametrize("name", BUNDLED)
def test_files_are_bundled_in_the_package(name):
    resource = resources.files("skrnn.datasets").joinpath("data", name)
    assert resource.is_file()


def test_licenses_name_every_data_file():
    text = resources.files("skrnn.datasets").joinpath("data", "LICENSES.md").read_text("utf-8")
    for name in BUNDLED[:-1]:
        assert name in text
    for needle in ("MIT License", "Apache", "Dau", "Bagnall", "Kudo", "Pang", "Kayadelen"):
        assert needle in text


def test_negation_sentiment():
    data = load_negation_sentiment()
    assert len(data.X_train) == 58
    assert len(data.X_test) == 20
    assert all(isinstance(s, str) for s in data.X_train + data.X_test)
    for y, n in ((data.y_train, 58), (data.y_test, 20)):
        assert y.dtype == np.int64
        assert y.shape == (n,)
        assert set(y.tolist()) == {0, 1}
    assert data.target_names.tolist() == ["negative", "positive"]
    # Original dictionary order is kept.
    assert data.X_train[:4] == ["good", "bad", "happy", "sad"]
    assert data.y_train[:4].tolist() == [1, 0, 1, 0]
    assert data.X_test[0] == "this is happy"
    label = dict(zip(data.X_train, data.y_train.tolist()))
    assert label["not bad"] == 1
    assert label["not good"] == 0
    assert isinstance(data.DESCR, str) and data.DESCR

    X_train, X_test, y_train, y_test = load_negation_sentiment(return_X_y=True)
    assert X_train == data.X_train
    assert X_test == data.X_test
    np.testing.assert_array_equal(y_train, data.y_train)
    np.testing.assert_array_equal(y_test, data.y_test)


def test_rotten_tomatoes(rotten):
    assert len(rotten.data) == 12808
    assert len(rotten.movie_name) == 12808
    assert rotten.target.dtype == np.int64
    assert rotten.target.shape == (12808,)
    assert int(rotten.target.sum()) == 7403
    assert int((rotten.target == 0).sum()) == 5405
    assert rotten.target_names.tolist() == ["rotten", "fresh"]
    assert all(isinstance(s, str) and s for s in rotten.data)
    assert all(isinstance(s, str) and s for s in rotten.movie_name)
    # Quoted CSV fields containing commas are parsed whole.
    assert any("," in s for s in rotten.data)
    assert rotten.data[0] == "A three-hour cinema master class."
    assert rotten.movie_name[0] == "a_grin_without_a_cat"
    assert isinstance(rotten.DESCR, str) and rotten.DESCR


def test_rotten_tomatoes_return_X_y(rotten):
    X, y = load_rotten_tomatoes(return_X_y=True)
    assert X == rotten.data
    np.testing.assert_array_equal(y, rotten.target)


def test_tinyshakespeare():
    text = load_tinyshakespeare()
    assert isinstance(text, str)
    assert len(text) == 1115394
    assert len(set(text)) == 65
    assert text.startswith("First Citizen:\nBefore we proceed any further")
    assert "\r" not in text


def test_japanese_vowels(vowels):
    X_train, X_test = vowels.X_train, vowels.X_test
    assert X_train.dtype == np.float32 and X_test.dtype == np.float32
    assert X_train.shape == (270, 29, 12)
    assert X_test.shape == (370, 29, 12)
    assert vowels.y_train.shape == (270,)
    assert vowels.y_test.shape == (370,)
    assert vowels.y_train.dtype.kind == "U"
    assert vowels.target_names.tolist() == [str(i) for i in range(1, 10)]
    assert set(vowels.y_train.tolist()) == set(vowels.target_names.tolist())
    assert set(vowels.y_test.tolist()) == set(vowels.target_names.tolist())
    # 30 training utterances per speaker.
    assert np.unique(vowels.y_train, return_counts=True)[1].tolist() == [30] * 9
    for X in (X_train, X_test):
        assert_end_padded(X)
    lengths = np.concatenate([sequence_lengths(X_train), sequence_lengths(X_test)])
    assert lengths.min() == 7
    assert lengths.max() == 29
    # First value of the first training case, as written in the file.
    assert X_train[0, 0, 0] == pytest.approx(1.860936)
    assert isinstance(vowels.DESCR, str) and vowels.DESCR


def test_japanese_vowels_return_X_y(vowels):
    X_train, X_test, y_train, y_test = load_japanese_vowels(return_X_y=True)
    np.testing.assert_array_equal(X_train, vowels.X_train)
    np.testing.assert_array_equal(X_test, vowels.X_test)
    np.testing.assert_array_equal(y_train, vowels.y_train)
    np.testing.assert_array_equal(y_test, vowels.y_test)


def test_gunpoint(gunpoint):
    assert gunpoint.X_train.shape == (50, 150, 1)
    assert gunpoint.X_test.shape == (150, 150, 1)
    assert gunpoint.X_train.dtype == np.float32
    assert not np.isnan(gunpoint.X_train).any()
    assert not np.isnan(gunpoint.X_test).any()
    assert gunpoint.target_names.tolist() == ["1", "2"]
    assert set(gunpoint.y_train.tolist()) == {"1", "2"}
    assert set(gunpoint.y_test.tolist()) == {"1", "2"}
    assert gunpoint.y_train.shape == (50,)
    assert gunpoint.y_test.shape == (150,)
    assert isinstance(gunpoint.DESCR, str) and gunpoint.DESCR

    X_train, X_test, y_train, y_test = load_gunpoint(return_X_y=True)
    np.testing.assert_array_equal(X_train, gunpoint.X_train)
    np.testing.assert_array_equal(X_test, gunpoint.X_test)
    np.testing.assert_array_equal(y_train, gunpoint.y_train)
    np.testing.assert_array_equal(y_test, gunpoint.y_test)


TS_HEADER = """\
# a comment
@problemName Toy
@univariate false
@dimensions 2
@equalLength false
@classLabel true a b
@data
"""


def test_read_ts_small_file():
    text = TS_HEADER + "1,2,3:4,5,6:a\n\n0.5,?:1e-3,-2:b\n"
    series, labels = _read_ts(io.StringIO(text))
    assert labels == ["a", "b"]
    assert [s.shape for s in series] == [(3, 2), (2, 2)]
    np.testing.assert_array_equal(series[0], [[1, 4], [2, 5], [3, 6]])
    assert np.isnan(series[1][1, 0])
    assert series[1][0, 1] == pytest.approx(1e-3)


@pytest.mark.parametrize(
    "data_lines, match",
    [
        ("1,2:3,4:a\n1,x:3,4:b\n", "line 9: non-numeric"),
        ("1,2:3,4:a\n1,2\n", "line 9: expected channels"),
        ("1,2:3,4:a\n1,2:3:b\n", "line 9: channels have different lengths"),
        ("1,2:3,4:a\n1,2:b\n", "line 9: 1 channels"),
        ("1,2:3,4:a\n1,2:3,4:c\n", "line 9: class label 'c'"),
        ("1,2:3,4:\n", "line 8: empty class label"),
    ],
)
def test_read_ts_malformed_line(data_lines, match):
    with pytest.raises(ValueError, match=match):
        _read_ts(io.StringIO(TS_HEADER + data_lines))


def test_read_ts_rejects_bad_files():
    with pytest.raises(ValueError, match="line 1: data found before"):
        _read_ts(io.StringIO("1,2:a\n@data\n"))
    with pytest.raises(ValueError, match="no cases"):
        _read_ts(io.StringIO(TS_HEADER))
    with pytest.raises(ValueError, match="no class labels"):
        _read_ts(io.StringIO("@classLabel false\n@data\n1,2\n"))


def test_turkish_web_treebank_is_the_authors_split():
    data = load_turkish_web_treebank()
    assert (len(data.X_train), len(data.X_dev), len(data.X_test)) == (3881, 485, 485)
    assert sum(map(len, data.X_test)) == 8025
    assert sum(map(len, data.X_train + data.X_dev + data.X_test)) == 81370
    for X, y in [(data.X_train, data.y_train), (data.X_test, data.y_test)]:
        assert [len(s) for s in X] == [len(s) for s in y]
    assert len(data.tag_names) == 14 and "NOUN" in data.tag_names
    # web then wiki, each file split by sentence index: i % 10 == 9 test, == 8 dev
    web, _ = _read_conllu("turkish_web_treebank_web.conllu.gz", 3)
    wiki, _ = _read_conllu("turkish_web_treebank_wiki.conllu.gz", 3)
    assert (len(web), len(wiki)) == (2541, 2310)
    assert data.X_test == web[9::10] + wiki[9::10]
    assert data.X_dev == web[8::10] + wiki[8::10]
    assert data.X_train[:8] == web[:8] and data.X_train[-1] == wiki[2307]  # 2308, 2309: dev, test
    _, X_test, y_train, _ = load_turkish_web_treebank(return_X_y=True)
    assert X_test == data.X_test and y_train == data.y_train
    fine = load_turkish_web_treebank(tagset="fine")
    assert fine.X_test == data.X_test and len(fine.tag_names) > 14
    with pytest.raises(ValueError, match="tagset"):
        load_turkish_web_treebank(tagset="xpos")
