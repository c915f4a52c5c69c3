"""Sphinx configuration of the skrnn documentation site.

Build it from the repository root (see README.md, "Development")::

    sphinx-build -W --keep-going -b html docs docs/_build/html

Environment variables:

``SKRNN_GALLERY_PATTERN``
    A regular expression: only the gallery examples whose path matches it are
    executed (default ``/plot_``: all of them). The others still get a page, with their
    code and text but no figures. CI sets it to run one fast example.
``SKRNN_DOCS_INTERSPHINX``
    Set to ``1`` to link numpy, scipy, scikit-learn and Python names to their own
    documentation. intersphinx downloads each project's ``objects.inv`` at build time,
    which fails (a warning, so an error under ``-W``) on a machine without internet
    access, so it is off by default: the names then render as plain code.
"""

import os
import re
import sys
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
# Document the skrnn of this checkout, whatever skrnn the interpreter has installed.
sys.path.insert(0, str(ROOT))
# This site's own small extensions (the gallery's order).
sys.path.insert(0, str(Path(__file__).resolve().parent / "sphinxext"))

import skrnn

project = "skrnn"
author = "The skrnn developers"
copyright = "the skrnn developers"
release = skrnn.__version__
version = release

extensions = [
    "sphinx.ext.autodoc",
    "sphinx.ext.autosummary",
    "sphinx.ext.intersphinx",
    "sphinx.ext.mathjax",
    "numpydoc",
    "myst_parser",
    "sphinx_gallery.gen_gallery",
]

source_suffix = {".rst": "restructuredtext", ".md": "markdown"}
root_doc = "index"
templates_path = ["_templates"]
exclude_patterns = ["_build", "auto_examples/*.ipynb", "auto_examples/*.py",
                    "auto_examples/*.zip", "auto_examples/*.md5", "auto_examples/*.json",
                    "sg_execution_times.rst"]
default_role = "literal"
# Unlabelled code blocks are the user guide's equations and shell lines: no Python
# colouring (``class`` in "classifier: class probabilities" is not a keyword).
highlight_language = "text"

# -- API pages ------------------------------------------------------------------------
autosummary_generate = True
# Signatures show defaults as written (dtype=np.float32), not as repr'd.
autodoc_preserve_defaults = True
# The page's table of contents names methods "fit()", not "RNNClassifier.fit()".
toc_object_entries_show_parents = "hide"
# numpydoc writes the members of a class itself (its Methods table and Attributes).
numpydoc_show_class_members = False
numpydoc_class_members_toctree = False
numpydoc_attributes_as_param_list = True
numpydoc_xref_param_type = False

# -- Markdown pages (the user guide stays Markdown) -----------------------------------
myst_enable_extensions = ["dollarmath", "colon_fence"]
# The pages link each other's sections as page.md#section-title.
myst_heading_anchors = 3

# -- Gallery --------------------------------------------------------------------------
sphinx_gallery_conf = {
    "examples_dirs": str(ROOT / "examples"),
    "gallery_dirs": "auto_examples",
    # "Examples using X" on every API page.
    "doc_module": ("skrnn",),
    "backreferences_dir": "generated/backreferences",
    # Only plot_*.py files are gallery examples; the other scripts in examples/ are
    # command-line programs with their own arguments (linked from the gallery header).
    "ignore_pattern": r"(^|/)(?!plot_)[^/]*\.py$",
    "filename_pattern": os.environ.get("SKRNN_GALLERY_PATTERN", "/plot_"),
    "download_all_examples": False,
    "within_subsection_order": "gallery_order.StoryOrder",
    "remove_config_comments": True,
    "matplotlib_animations": False,
    "show_memory": False,
    "min_reported_time": 1,
}

# -- Links to other projects' documentation -------------------------------------------
intersphinx_mapping = {}
if os.environ.get("SKRNN_DOCS_INTERSPHINX") == "1":
    intersphinx_mapping = {
        "python": ("https://docs.python.org/3", None),
        "numpy": ("https://numpy.org/doc/stable/", None),
        "scipy": ("https://docs.scipy.org/doc/scipy/", None),
        "sklearn": ("https://scikit-learn.org/stable/", None),
    }

# -- HTML -----------------------------------------------------------------------------
html_theme = "pydata_sphinx_theme"
html_title = f"skrnn {release}"
html_static_path = ["_static"]
html_css_files = ["skrnn.css"]
html_theme_options = {
    "navigation_with_keys": False,
    "show_toc_level": 2,
    "header_links_before_dropdown": 6,
    "secondary_sidebar_items": ["page-toc"],
    "footer_start": ["copyright"],
    "footer_end": ["sphinx-version", "theme-version"],
}
# Code, equations and signatures need the width (the user guide's code lines are up to
# 90 characters): no page has a left sidebar. The site is small enough for the header's
# tabs, the breadcrumbs, the user guide's landing page and the previous/next links.
html_sidebars = {"**": []}
html_show_sourcelink = False


# -- Inherited scikit-learn methods ---------------------------------------------------
# The API pages show the methods the estimators inherit from scikit-learn (score,
# get_params, set_output, ...), with scikit-learn's docstrings. Those cite labels and
# glossary terms of scikit-learn's own site (:ref:`metadata_routing`,
# :term:`meta-estimator`), which only intersphinx can resolve. Without it, they are
# written as plain text instead of broken references.
_SKLEARN_ROLE = re.compile(r":(?:ref|term):`([^`<]*?)\s*(?:<[^`>]*>)?`")


def _plain_sklearn_references(app, what, name, obj, options, lines):
    module = getattr(obj, "__module__", None) or ""
    if "sklearn" in intersphinx_mapping or not module.startswith("sklearn"):
        return
    lines[:] = [_SKLEARN_ROLE.sub(_plain_text, line) for line in lines]


def _plain_text(match):
    text = match.group(1) or ""
    # "check User Guide on how ...": the guide meant is scikit-learn's, not ours.
    return "scikit-learn's User Guide" if text.lower() == "user guide" else text


def setup(app):
    app.connect("autodoc-process-docstring", _plain_sklearn_references)
