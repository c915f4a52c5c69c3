"""The Python snippets of README.md and docs/*.md run as written and give what their
comments say.

The blocks of one page run in order in one namespace, as a reader would run them. A block
that is a fragment of a longer experiment, or takes minutes, is marked in the page with an
HTML comment ``<!-- not run: reason -->`` on the line before it and is skipped.

A comment after code on a line (``gen.predict(X)   # array(['e'], dtype='<U1')``) states
what that line gives, and every one is checked: a repr (``array(...)`` or a quoted
string) against the repr of the line's value, any other statement by its entry in
``CLAIMS`` below. A stated result with neither fails the test, so a new claim in a page
comes with its check. Every estimator a run block builds is seeded.
"""

import ast
import io
import re
import tokenize
from pathlib import Path

import numpy as np
import pytest

from ._data import assert_end_padded

ROOT = Path(__file__).resolve().parents[1]
PAGES = [ROOT / "README.md", *sorted((ROOT / "docs").glob("*.md"))]
_BLOCK = re.compile(r"(<!-- not run: [^>]*-->\n)?```python\n(.*?)```", re.DOTALL)


def _python_blocks(page):
    """``(code, runs)`` for every Python block of ``page``."""
    return [(code, not marker) for marker, code in _BLOCK.findall(page.read_text("utf-8"))]


def _trailing_comments(code):
    """``{line number: comment text}`` for comments that follow code on their line."""
    out = {}
    for tok in tokenize.generate_tokens(io.StringIO(code).readline):
        if tok.type == tokenize.COMMENT and tok.line[: tok.start[1]].strip():
            out[tok.start[0]] = tok.string.lstrip("#").strip()
    return out


def _next_token_log_likelihood(gen, text):
    """Mean log predict_proba of each character of ``text`` after the ones before it."""
    proba = gen.predict_proba([text[:i] for i in range(1, len(text))])
    ids = [gen.vocabulary_[c] for c in text[1:]]
    return float(np.mean(np.log(proba[np.arange(len(ids)), ids])))


def _padded_example(X, ns):
    assert X.shape == (2, 5, 2)
    assert np.isnan(X[0, 3:]).all() and not np.isnan(X[0, :3]).any()
    assert not np.isnan(X[1]).any()


def _proba_of_classes(proba, ns):
    gen = ns["gen"]
    assert proba.shape == (1, len(gen.classes_))
    np.testing.assert_allclose(proba.sum(), 1, rtol=1e-6)
    assert gen.classes_[proba.argmax()] == gen.predict(["good i am fin"])[0]


def _score_in_nats(score, ns):
    expected = _next_token_log_likelihood(ns["gen"], "have a nice day")
    assert score == pytest.approx(expected, rel=1e-5)


def _loss_in_bits(bits, ns):
    nats = -_next_token_log_likelihood(ns["gen"], "have a nice day")
    assert bits == pytest.approx(nats / np.log(2), rel=1e-5)


def _id_of_e(pred, ns):
    np.testing.assert_array_equal(pred, [ns["pipe"][0].vocabulary_["e"]])


def _token_accuracy(score, ns):
    X, y = ns["X"], ns["y"]
    pred = ns["tag"].predict(X)
    expected = np.mean(np.concatenate([np.asarray(p) == np.asarray(t) for p, t in zip(pred, y)]))
    assert score == pytest.approx(expected) and score == 1.0


def _japanese_vowels_end_padded(_, ns):
    for X in (ns["X_train"], ns["X_test"]):
        assert_end_padded(X)
        assert np.isnan(X).all(axis=2).any()  # and some sequences are padded
    assert ns["X_train"].shape[2] == ns["X_test"].shape[2] == 12


# Stated results that are not reprs: (page, comment) -> check(value of the line, namespace).
CLAIMS = {
    ("README.md", "NaN end-padded"): _japanese_vowels_end_padded,
    ("README.md", "token accuracy: 1.0"): _token_accuracy,
    ("user_guide.md", "(2, 5, 2), X[0, 3:] is NaN"): _padded_example,
    ("generator.md", "(1, n_classes), columns follow classes_"): _proba_of_classes,
    ("generator.md", "mean log-likelihood per token, nats"): _score_in_nats,
    ("generator.md", "bits per character"): _loss_in_bits,
    ("generator.md", 'the id of "e" in pipe[0].vocabulary_'): _id_of_e,
}


def _check_claim(page, comment, value, ns):
    stated = comment.split(": ")[0].strip()
    if stated.startswith(("array(", "'")):
        assert repr(value) == stated, f"{page}: {value!r} where the page says {stated}"
        return
    check = CLAIMS.get((page, comment))
    assert check is not None, f"{page}: no check for the stated result {comment!r}"
    check(value, ns)


def _run_block(code, page, index, ns):
    """Run ``code`` statement by statement in ``ns``, checking each stated result.

    Returns the comments checked."""
    comments = _trailing_comments(code)
    checked = []
    for stmt in ast.parse(code).body:
        mine = [c for line, c in comments.items() if stmt.lineno <= line <= stmt.end_lineno]
        name = f"{page} block {index}, line {stmt.lineno}"
        if isinstance(stmt, ast.Expr):
            value = eval(compile(ast.Expression(stmt.value), name, "eval"), ns)
        else:
            exec(compile(ast.Module([stmt], []), name, "exec"), ns)  # noqa: S102
            targets = stmt.targets if isinstance(stmt, ast.Assign) else []
            value = ns[targets[0].id] if len(targets) == 1 and isinstance(
                targets[0], ast.Name) else None
        for comment in mine:
            _check_claim(page, comment, value, ns)
            checked.append(comment)
    return checked


def _run_pages():
    return [p for p in PAGES if any(runs for _, runs in _python_blocks(p))]


def test_readme_has_python_examples():
    blocks = [code for code, _ in _python_blocks(ROOT / "README.md")]
    assert len(blocks) >= 3
    assert sum(len(_trailing_comments(b)) for b in blocks) >= 3


def test_every_claim_has_a_check_and_every_check_a_claim():
    stated = {(p.name, c) for p in PAGES for code, runs in _python_blocks(p) if runs
              for c in _trailing_comments(code).values()}
    assert set(CLAIMS) <= stated, set(CLAIMS) - stated  # a check whose claim has gone


@pytest.mark.parametrize("page", _run_pages(), ids=lambda p: p.relative_to(ROOT).as_posix())
def test_snippets_seed_every_estimator(page):
    for code, runs in _python_blocks(page):
        if not runs:
            continue
        for node in ast.walk(ast.parse(code)):
            if isinstance(node, ast.Call) and getattr(node.func, "id", "").startswith("RNN"):
                keywords = {k.arg for k in node.keywords}
                assert "random_state" in keywords, f"{page.name}: {ast.unparse(node)}"


@pytest.mark.parametrize("page", _run_pages(), ids=lambda p: p.relative_to(ROOT).as_posix())
def test_python_examples_run(page):
    namespace = {}
    ran = 0
    for index, (code, runs) in enumerate(_python_blocks(page)):
        if runs:
            _run_block(code, page.name, index, namespace)
            ran += 1
    assert ran > 0
