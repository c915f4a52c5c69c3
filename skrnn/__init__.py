"""skrnn: recurrent neural networks for scikit-learn, written on NumPy."""

from ._validation import pad_sequences

__version__ = "0.1.0.dev0"

__all__ = ["pad_sequences", "__version__"]
