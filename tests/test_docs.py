"""The documentation site: its API page lists every public name, the gallery examples
have the shape sphinx-gallery needs, and (when Sphinx and the docs extras are
installed) the site builds with no warning.

The build test is marked ``docs`` and skipped without the docs extras
(``pip install -e ".[docs]"``); ``python -m pytest -m "not docs"`` leaves it out.
It executes no gallery example: ``.ci/run`` builds the site with one executed.
"""

import ast
import os
import re
import shutil
import subprocess
import sys
from pathlib import Path

import pytest

import skrnn
import skrnn.datasets

ROOT = Path(__file__).resolve().parents[1]
GALLERY = sorted((ROOT / "examples").glob("plot_*.py"))
DOCS_COMMAND = ('pip install -e ".[docs]" && '
                'sphinx-build -W --keep-going -b html docs docs/_build/html')


def test_api_page_lists_every_public_name():
    api = (ROOT / "docs" / "api.rst").read_text("utf-8")
    listed = set(re.findall(r"^   (\w+)$", api, flags=re.MULTILINE))
    public = {n for n in skrnn.__all__ if not n.startswith("__")}
    assert public | set(skrnn.datasets.__all__) <= listed


def test_gallery_has_five_examples_with_figures():
    assert len(GALLERY) >= 5
    for path in GALLERY:
        source = path.read_text("utf-8")
        docstring = ast.get_docstring(ast.parse(source))
        assert docstring, f"{path.name} has no docstring: sphinx-gallery needs its title"
        title, underline = docstring.splitlines()[:2]
        assert title and set(underline) == {"="} and len(underline) >= len(title), path.name
        assert "\n# %%\n" in source, f"{path.name} has no # %% cell"
        assert "plt.show()" in source, f"{path.name} draws no figure"


def test_readme_has_the_docs_command_and_ci_runs_it():
    readme = (ROOT / "README.md").read_text("utf-8")
    development = readme[readme.index("## Development"):]
    assert DOCS_COMMAND in development
    assert DOCS_COMMAND in (ROOT / ".ci" / "run").read_text("utf-8")


def _missing_docs_tools():
    import importlib.util

    modules = ["sphinx", "numpydoc", "myst_parser", "sphinx_gallery", "pydata_sphinx_theme",
               "matplotlib"]
    return [m for m in modules if importlib.util.find_spec(m) is None]


@pytest.mark.docs
@pytest.mark.skipif(bool(_missing_docs_tools()),
                    reason=f"docs extras not installed: {', '.join(_missing_docs_tools())}")
def test_docs_build_without_warnings(tmp_path):
    # Build a copy, so that the generated pages and gallery stay out of the checkout.
    for name in ["docs", "examples"]:
        shutil.copytree(ROOT / name, tmp_path / name,
                        ignore=shutil.ignore_patterns("_build", "auto_examples", "generated",
                                                      "__pycache__"))
    for name in ["README.md", "CHANGELOG.md"]:
        shutil.copy(ROOT / name, tmp_path / name)
    env = dict(os.environ, SKRNN_GALLERY_PATTERN="execute no example",
               PYTHONPATH=os.pathsep.join([str(ROOT), os.environ.get("PYTHONPATH", "")]))
    env.pop("SKRNN_DOCS_INTERSPHINX", None)
    result = subprocess.run(
        [sys.executable, "-m", "sphinx", "-W", "--keep-going", "-q", "-b", "html", "docs",
         "docs/_build/html"],
        cwd=tmp_path, env=env, capture_output=True, text=True, timeout=600, check=False)
    assert result.returncode == 0, result.stdout[-3000:] + result.stderr[-3000:]
    html = tmp_path / "docs" / "_build" / "html"
    assert (html / "generated" / "skrnn.RNNClassifier.html").exists()
    assert (html / "auto_examples" / "plot_negation_hidden_state.html").exists()
