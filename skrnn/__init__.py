"""skrnn: recurrent neural networks for scikit-learn, written on NumPy."""

from ._classifier import RNNClassifier
from ._generator import RNNSequenceGenerator
from ._regressor import RNNRegressor
from ._scaler import SequenceScaler
from ._tagger import RNNSequenceTagger
from ._validation import pad_sequences
from ._vectorizer import SequenceVectorizer

__version__ = "0.1.0.dev0"

__all__ = [
    "RNNClassifier",
    "RNNRegressor",
    "RNNSequenceGenerator",
    "RNNSequenceTagger",
    "SequenceScaler",
    "SequenceVectorizer",
    "__version__",
    "pad_sequences",
]
