"""Finite-difference gradient checking shared by the test modules."""

import numpy as np


def relative_error(a, b):
    """||a - b|| / (||a|| + ||b||), the usual scale-free gradient-check error."""
    denom = np.linalg.norm(a) + np.linalg.norm(b)
    return 0.0 if denom == 0 else float(np.linalg.norm(a - b) / denom)


def numerical_gradients(loss_fn, params, eps=1e-5):
    """Central differences (L(w + eps) - L(w - eps)) / 2 eps for every entry of every array."""
    numeric = {}
    for name, w in params.items():
        g = np.zeros_like(w)
        for idx in np.ndindex(w.shape):
            old = w[idx]
            w[idx] = old + eps
            plus = loss_fn()
            w[idx] = old - eps
            minus = loss_fn()
            w[idx] = old
            g[idx] = (plus - minus) / (2 * eps)
        numeric[name] = g
    return numeric


def assert_gradients_match(loss_fn, params, analytic, tol=1e-6):
    numeric = numerical_gradients(loss_fn, params)
    assert set(analytic) == set(params), set(params) ^ set(analytic)
    # A gradient of another shape could still broadcast against the numeric one.
    shapes = {k: (np.shape(analytic[k]), params[k].shape) for k in params
              if np.shape(analytic[k]) != params[k].shape}
    assert not shapes, f"gradient shapes (analytic, parameter) differ: {shapes}"
    errors = {k: relative_error(numeric[k], analytic[k]) for k in params}
    bad = {k: e for k, e in errors.items() if e >= tol}
    assert not bad, f"relative errors >= {tol}: {bad}"
    # A check that compares zeros with zeros proves nothing: every parameter must matter.
    flat = [k for k in params if not np.any(numeric[k])]
    assert not flat, f"parameters with an all-zero gradient: {flat}"
    return errors
