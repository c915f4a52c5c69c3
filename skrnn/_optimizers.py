"""Stochastic optimizers and global-norm gradient clipping.

Optimizer state is plain data (a dict of dicts of arrays and an int step count)
so that a fitted estimator saves with skops without any custom class. Every
update is in place on the parameter arrays.
"""

import numpy as np

SOLVERS = ("adam", "sgd", "adagrad", "rmsprop")


def clip_by_global_norm(grads, clip_norm):
    """Scale all gradients by ``clip_norm / ||g||`` when the global norm exceeds it.

    The global norm is over every parameter together, so the update's direction
    is kept (Pascanu et al., 2013). Returns the norm before clipping.
    """
    norm = float(np.sqrt(sum(float(np.vdot(g, g)) for g in grads.values())))
    if clip_norm is not None and norm > clip_norm:
        scale = clip_norm / norm
        for g in grads.values():
            g *= scale
    return norm


def init_state(solver, params):
    """Fresh optimizer state for ``params``."""
    zeros = {k: np.zeros_like(v) for k, v in params.items()}
    if solver == "adam":
        return {"t": 0, "m": zeros, "v": {k: np.zeros_like(v) for k, v in params.items()}}
    if solver in ("sgd", "adagrad", "rmsprop"):
        return {"t": 0, "acc": zeros}
    raise ValueError(f"solver must be one of {SOLVERS}, got {solver!r}.")


def update(solver, params, grads, state, hyper):
    """One step of ``solver`` on ``params`` (in place), updating ``state``.

    ``hyper`` holds ``learning_rate``, ``momentum``, ``nesterovs_momentum``,
    ``beta_1``, ``beta_2``, ``epsilon`` and ``rho`` (whichever the solver uses).
    """
    state["t"] += 1
    _STEPS[solver](params, grads, state, hyper)


def _sgd(params, grads, state, hp):
    # velocity v <- mu v - lr g;  w <- w + v   (nesterov: w <- w + mu v - lr g)
    lr, mu = hp["learning_rate"], hp["momentum"]
    for k, w in params.items():
        v = state["acc"][k]
        v *= mu
        v -= lr * grads[k]
        if hp["nesterovs_momentum"]:
            w += mu * v - lr * grads[k]
        else:
            w += v


def _adam(params, grads, state, hp):
    # Kingma & Ba (2015), with the bias corrections folded into the step size.
    t, b1, b2, eps = state["t"], hp["beta_1"], hp["beta_2"], hp["epsilon"]
    lr = hp["learning_rate"] * np.sqrt(1 - b2**t) / (1 - b1**t)
    for k, w in params.items():
        g, m, v = grads[k], state["m"][k], state["v"][k]
        m *= b1
        m += (1 - b1) * g
        v *= b2
        v += (1 - b2) * (g * g)
        w -= lr * m / (np.sqrt(v) + eps)


def _adagrad(params, grads, state, hp):
    # Duchi et al. (2011): per-weight step lr / sqrt(sum of squared gradients).
    lr, eps = hp["learning_rate"], hp["epsilon"]
    for k, w in params.items():
        g, acc = grads[k], state["acc"][k]
        acc += g * g
        w -= lr * g / (np.sqrt(acc) + eps)


def _rmsprop(params, grads, state, hp):
    # Tieleman & Hinton (2012): a decaying average of squared gradients instead of a sum.
    lr, eps, rho = hp["learning_rate"], hp["epsilon"], hp["rho"]
    for k, w in params.items():
        g, acc = grads[k], state["acc"][k]
        acc *= rho
        acc += (1 - rho) * (g * g)
        w -= lr * g / (np.sqrt(acc) + eps)


_STEPS = {"sgd": _sgd, "adam": _adam, "adagrad": _adagrad, "rmsprop": _rmsprop}
