"""The Python snippets of README.md and docs/*.md run as written and return what their
comments say.

The blocks of one page run in order in one namespace, as a reader would run them. A block
that is a fragment of a longer experiment, or takes minutes, is marked in the page with an
HTML comment ``<!-- not run: reason -->`` on the line before it and is skipped.
"""

import re
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[1]
PAGES = [ROOT / "README.md", *sorted((ROOT / "docs").glob("*.md"))]
_BLOCK = re.compile(r"(<!-- not run: [^>]*-->\n)?```python\n(.*?)```", re.DOTALL)


def _python_blocks(page):
    """``(code, runs)`` for every Python block of ``page``."""
    return [(code, not marker) for marker, code in _BLOCK.findall(page.read_text("utf-8"))]


def _promise(line):
    """``(expression, expected repr)`` for a line like ``f(x)   # 'value'``, else None."""
    code, sep, comment = line.partition("  # ")
    if not sep or line.startswith(" "):
        return None
    expected = comment.split(": ")[0].strip()
    if not expected.startswith(("array(", "'")):
        return None
    try:
        compile(code.strip(), "<readme>", "eval")
    except SyntaxError:
        return None
    return code.strip(), expected


def test_readme_has_python_examples():
    blocks = [code for code, _ in _python_blocks(ROOT / "README.md")]
    assert len(blocks) >= 3
    assert sum(_promise(line) is not None for b in blocks for line in b.splitlines()) >= 3


@pytest.mark.parametrize("page", [p for p in PAGES if _python_blocks(p)],
                         ids=lambda p: p.relative_to(ROOT).as_posix())
def test_python_examples_run(page):
    namespace = {}
    ran = 0
    for index, (code, runs) in enumerate(_python_blocks(page)):
        if not runs:
            continue
        lines = []
        for line in code.splitlines():
            promise = _promise(line)
            if promise is not None:
                expr, expected = promise
                line = f"assert repr({expr}) == {expected!r}, repr({expr})"
            lines.append(line)
        code = compile("\n".join(lines), f"{page.name} block {index}", "exec")
        exec(code, namespace)  # noqa: S102
        ran += 1
    assert ran > 0
