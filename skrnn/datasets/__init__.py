"""Small real datasets bundled with skrnn (nothing is downloaded).

Sources, licences and citations of the bundled files are in
``skrnn/datasets/data/LICENSES.md``.
"""

from ._loaders import (
    load_gunpoint,
    load_japanese_vowels,
    load_negation_sentiment,
    load_rotten_tomatoes,
    load_tinyshakespeare,
    load_turkish_web_treebank,
)

__all__ = [
    "load_gunpoint",
    "load_japanese_vowels",
    "load_negation_sentiment",
    "load_rotten_tomatoes",
    "load_tinyshakespeare",
    "load_turkish_web_treebank",
]
