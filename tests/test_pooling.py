"""The pooling option of the many-to-one estimators (the head's math: test_network.py)."""

import numpy as np
import pytest

from skrnn import RNNClassifier, RNNRegressor
from skrnn._params import InvalidParameterError

from ._data import fit_quietly, ragged_floats


@pytest.mark.parametrize("pooling", ["mean", "max"])
@pytest.mark.parametrize("Estimator", [RNNClassifier, RNNRegressor])
def test_pooling_fits_predicts_and_is_kept_by_the_model(Estimator, pooling):
    rng = np.random.RandomState(0)
    X = ragged_floats(rng, rng.randint(1, 9, 40), 2)
    y = (np.nanmax(X[:, :, 0], axis=1) > 1.0).astype(int)
    est = fit_quietly(Estimator(hidden_layer_sizes=(6,), max_iter=5, random_state=0,
                                pooling=pooling, bidirectional=True), X, y)
    assert est._fitted_architecture["pooling"] == pooling
    out = est.predict(X)
    assert out.shape == (40,) and np.isfinite(out.astype(float)).all()
    last = fit_quietly(Estimator(hidden_layer_sizes=(6,), max_iter=5, random_state=0,
                                 bidirectional=True, pooling="last"), X, y)
    assert not np.allclose(getattr(est, "predict_proba", est.predict)(X),
                           getattr(last, "predict_proba", last.predict)(X))
    # warm_start continues the same network: another pooling is refused.
    est.set_params(warm_start=True, pooling="last")
    with pytest.raises(ValueError, match="pooling is '" + pooling):
        est.fit(X, y)


def test_unknown_pooling_is_refused():
    with pytest.raises(InvalidParameterError, match="pooling must be one of"):
        RNNClassifier(pooling="attention").fit(np.zeros((4, 3)), [0, 1, 0, 1])
