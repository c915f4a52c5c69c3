"""The finite-difference checker of tests/_gradcheck.py catches what it must."""

import numpy as np
import pytest

from ._gradcheck import assert_gradients_match


def _quadratic():
    """L = sum(W**2) + sum(b**3): dL/dW = 2W, dL/db = 3b^2."""
    params = {"W": np.arange(1.0, 7.0).reshape(2, 3), "b": np.array([0.5, -1.0, 2.0])}

    def loss():
        return float(np.sum(params["W"] ** 2) + np.sum(params["b"] ** 3))

    return loss, params, {"W": 2 * params["W"], "b": 3 * params["b"] ** 2}


def test_right_gradients_pass():
    loss, params, grads = _quadratic()
    errors = assert_gradients_match(loss, params, grads)
    assert set(errors) == {"W", "b"} and max(errors.values()) < 1e-8


def test_a_wrong_value_fails():
    loss, params, grads = _quadratic()
    grads["b"] = grads["b"] * 1.01
    with pytest.raises(AssertionError, match=r"relative errors >= 1e-06: \{'b'"):
        assert_gradients_match(loss, params, grads)


def test_a_broadcastable_wrong_shape_fails():
    # (1, 3) broadcasts against (3,) and has the right values: only the shape is wrong.
    loss, params, grads = _quadratic()
    grads["b"] = grads["b"][None, :]
    with pytest.raises(AssertionError, match=r"gradient shapes .* \{'b': \(\(1, 3\), \(3,\)\)"):
        assert_gradients_match(loss, params, grads)


def test_a_missing_or_flat_gradient_fails():
    loss, params, grads = _quadratic()
    with pytest.raises(AssertionError, match="'b'"):
        assert_gradients_match(loss, params, {"W": grads["W"]})
    params["b"][:] = 0.0  # dL/db = 3b^2 = 0 everywhere: the check would prove nothing
    with pytest.raises(AssertionError, match=r"all-zero gradient: \['b'\]"):
        assert_gradients_match(loss, params, {"W": grads["W"], "b": np.zeros(3)})
