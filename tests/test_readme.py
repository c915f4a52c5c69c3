"""The README's Python snippets run as written and return what their comments say."""

import re
from pathlib import Path

import pytest

README = Path(__file__).resolve().parents[1] / "README.md"


def _python_blocks():
    return re.findall(r"```python\n(.*?)```", README.read_text(encoding="utf-8"), re.DOTALL)


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
    blocks = _python_blocks()
    assert len(blocks) >= 3
    assert sum(_promise(line) is not None for b in blocks for line in b.splitlines()) >= 3


@pytest.mark.parametrize("index", range(len(_python_blocks())))
def test_readme_snippet_runs(index):
    lines = []
    for line in _python_blocks()[index].splitlines():
        promise = _promise(line)
        if promise is not None:
            code, expected = promise
            line = f"assert repr({code}) == {expected!r}, repr({code})"
        lines.append(line)
    exec(compile("\n".join(lines), f"README block {index}", "exec"), {})  # noqa: S102
