"""Loss heads and the softmax: each loss returns ``(loss, dL/dlogits)``.

This module knows nothing of scikit-learn. The many-to-one losses take one row of
outputs per sequence; :func:`sequence_cross_entropy` takes one per step, -1 marking
the steps with no target (padding).
"""

import numpy as np


def softmax(logits):
    """Row-wise softmax along the last axis, stable for large logits."""
    z = logits - logits.max(axis=-1, keepdims=True)
    np.exp(z, out=z)
    z /= z.sum(axis=-1, keepdims=True)
    return z


def log_softmax(logits):
    """Row-wise log-softmax along the last axis, stable for large finite logits.

    Plain NumPy rather than ``scipy.special.logsumexp``, whose array-API dispatch cost
    more than the arithmetic on a minibatch's logits.
    """
    # The ufuncs' own reductions: the same arithmetic as .max() and .sum() without their
    # Python wrappers, which cost as much as the work on a minibatch's logits.
    z = logits - np.maximum.reduce(logits, axis=-1, keepdims=True)
    z -= np.log(np.add.reduce(np.exp(z), axis=-1, keepdims=True))
    return z


def softmax_cross_entropy(logits, y, sample_weight=None):
    """Mean (sample-weighted) cross-entropy of integer targets ``y`` (B,).

    With p = softmax(z), L = -log p_y and dL/dz = p - onehot(y): the softmax
    Jacobian and the log's 1/p cancel, which is also why this is stable.
    """
    B = logits.shape[0]
    rows = np.arange(B)
    logp = log_softmax(logits)
    picked = logp[rows, y]
    dlogits = np.exp(logp)
    dlogits[rows, y] -= 1
    if sample_weight is None:
        n = logits.dtype.type(B)  # the same float arithmetic as weights of one
        loss = -(picked.sum() / n)
        dlogits *= logits.dtype.type(1) / n
    else:
        w_sum = sample_weight.sum()
        loss = -(sample_weight * picked).sum() / w_sum
        dlogits *= (sample_weight / w_sum)[:, None]
    return float(loss), dlogits


def sequence_cross_entropy(logits, y):
    """Mean cross-entropy over the real steps of a many-to-many batch.

    ``logits`` (B, T, C); ``y`` (B, T) integer targets, -1 where there is none
    (padding). Same p - onehot gradient as above, zero where y is -1. The logits of a
    character model are large ((32, 64, 65) in the benchmark), so the exponentials are
    taken once: ``log p = z - log(sum(exp z))`` and ``p = exp(z) / sum(exp z)`` share
    them (z: the logits minus their row maximum).
    """
    B, T, C = logits.shape
    real = (y >= 0).reshape(B * T)
    n_real = max(int(real.sum()), 1)
    z = (logits - np.maximum.reduce(logits, axis=-1, keepdims=True)).reshape(B * T, C)
    p = np.exp(z)
    total = np.add.reduce(p, axis=-1)
    rows = np.flatnonzero(real)
    target = y.reshape(B * T)[rows]
    loss = -float(np.add.reduce(z[rows, target] - np.log(total[rows]))) / n_real
    # dL/dz = (p - onehot(y)) / n on real steps, 0 on padding
    p *= (real / (n_real * total)).astype(p.dtype)[:, None]
    p[rows, target] -= p.dtype.type(1 / n_real)
    return loss, p.reshape(B, T, C)


def weighted_sequence_cross_entropy(logits, y, step_weight):
    """Weighted mean cross-entropy over the steps of a many-to-many batch.

    ``logits`` (B, T, C); ``y`` (B, T) integer targets, -1 where there is none
    (padding); ``step_weight`` (B, T) non-negative weights, zero at padding (a sample's
    weight times its step's class weight). ``L = -sum w_it log p_it[y_it] / sum w``;
    its gradient is ``w_it (p_it - onehot(y_it)) / sum w`` (the p - onehot of
    :func:`softmax_cross_entropy`, scaled by the step's share of the weight).
    """
    B, T, C = logits.shape
    w = step_weight.reshape(B * T)
    w_sum = float(np.add.reduce(w))
    rows = np.flatnonzero(w)  # real steps with a weight (padding has weight 0)
    target = y.reshape(B * T)[rows]
    z = (logits - np.maximum.reduce(logits, axis=-1, keepdims=True)).reshape(B * T, C)
    p = np.exp(z)
    total = np.add.reduce(p, axis=-1)
    log_p = z[rows, target] - np.log(total[rows])  # log p of each target
    loss = -float(np.add.reduce(w[rows] * log_p)) / w_sum
    scale = (w / w_sum).astype(p.dtype)
    p *= (scale / total)[:, None]  # w/sum(w) * p
    p[rows, target] -= scale[rows]
    return loss, p.reshape(B, T, C)


def squared_loss(outputs, y, sample_weight=None):
    """0.5 * mean squared error (as MLPRegressor), sample-weighted over rows."""
    B, K = outputs.shape
    w = np.ones(B, dtype=outputs.dtype) if sample_weight is None else sample_weight
    w_sum = w.sum()
    diff = outputs - y
    loss = 0.5 * (w[:, None] * diff * diff).sum() / (w_sum * K)
    return float(loss), diff * (w / (w_sum * K))[:, None]
