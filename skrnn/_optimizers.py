"""Stochastic optimizers and global-norm gradient clipping.

Optimizer state is plain data (a dict of dicts of arrays and an int step count)
so that a fitted estimator saves with skops without any custom class.

During training, :class:`Optimizer` packs the parameters, their gradient and the
state into one vector each, and the named arrays the network reads become views of
those vectors. An update is then a dozen NumPy calls on one vector instead of a
dozen per parameter array (and the L2 term three calls on the block of penalised
weights; what that measured: ``docs/decisions.md``). Each weight's update is the same
arithmetic as per parameter; only the global norm and the L2 penalty are summed in
another order.
"""

import math

import numpy as np

SOLVERS = ("adam", "sgd", "adagrad", "rmsprop")
# The per-parameter arrays each solver keeps in its state.
_SLOTS = {"adam": ("m", "v"), "sgd": ("acc",), "adagrad": ("acc",), "rmsprop": ("acc",)}


def init_state(solver, params):
    """Fresh optimizer state for ``params``."""
    if solver not in _SLOTS:
        raise ValueError(f"solver must be one of {SOLVERS}, got {solver!r}.")
    state = {"t": 0}
    for slot in _SLOTS[solver]:
        state[slot] = {k: np.zeros_like(v) for k, v in params.items()}
    return state


def clip_by_global_norm(g, clip_norm):
    """Scale the gradient by ``clip_norm / ||g||`` when its global norm exceeds it.

    ``g`` is the packed gradient, one vector for all parameters: the norm is over all of
    them together, so the update's direction is kept (Pascanu et al., 2013), and it is
    one BLAS dot product. Returns the norm before clipping.

    Past ~1.8e19 in float32 the squares overflow, which would turn the scale into 0 (a
    skipped update) instead of ``clip_norm / ||g||``: the norm of ``g`` divided by its
    largest entry, then multiplied back, is exact there too. A gradient with an inf or
    NaN entry has no direction to keep and comes out non-finite (training stops on it).
    """
    norm = float(np.sqrt(np.dot(g, g)))
    if norm == np.inf:  # overflowed, or an inf entry
        top = float(np.max(np.abs(g)))
        if np.isfinite(top):
            u = g / top
            norm = float(np.sqrt(np.dot(u, u))) * top
    if clip_norm is not None and norm > clip_norm:
        g *= clip_norm / norm
    return norm


class Optimizer:
    """``solver``'s updates of a model's parameters, all packed in one vector.

    Parameters
    ----------
    solver : str
        One of :data:`SOLVERS`.
    params : dict of str to ndarray
        The parameters (one dtype). They are copied into the packed vector: the
        caller's arrays are never modified.
    state : dict
        The solver's state as :func:`init_state` makes it (also copied).
    hyper : dict
        ``learning_rate``, ``momentum``, ``nesterovs_momentum``, ``beta_1``,
        ``beta_2``, ``epsilon`` and ``rho`` (whichever the solver uses).
    decayed : list of str, default=()
        The parameters that L2 regularisation applies to. They are packed first, as
        one block, so that :meth:`weight_decay` is three NumPy calls however many there
        are.

    Attributes
    ----------
    params : dict of str to ndarray
        Views of the packed parameters, by name (in the order of ``params``): what the
        network reads, updated in place by :meth:`step`.
    grads : dict of str to ndarray
        Views of the packed gradient, by name; see :meth:`gradient`.
    state : dict
        The state in :func:`init_state`'s format, its arrays views of the packed ones:
        what an estimator stores after training.
    """

    def __init__(self, solver, params, state, hyper, decayed=()):
        if solver not in _SLOTS:
            raise ValueError(f"solver must be one of {SOLVERS}, got {solver!r}.")
        self.solver, self.hyper = solver, hyper
        self._order = list(params)  # the caller's order, kept in the views' dicts
        decayed = [k for k in decayed if k in params]
        self._keys = decayed + [k for k in params if k not in decayed]  # packing order
        self._shapes = [params[k].shape for k in self._keys]
        self._dtype = params[self._keys[0]].dtype
        self._size = sum(int(np.prod(shape)) for shape in self._shapes)
        self._n_decayed = sum(int(np.prod(params[k].shape)) for k in decayed)
        self.vector = self._pack(params)
        self.params = self._views(self.vector)
        self.state = {"t": int(state["t"])}
        self._slots = {}
        for slot in _SLOTS[solver]:
            self._slots[slot] = self._pack(state[slot])
            self.state[slot] = self._views(self._slots[slot])
        self._grad = np.empty_like(self.vector)
        self.grads = self._views(self._grad)
        self._scratch = (np.empty_like(self.vector), np.empty_like(self.vector))

    def _pack(self, arrays, out=None):
        if out is None:
            out = np.empty(self._size, dtype=self._dtype)
        np.concatenate([arrays[k].reshape(-1) for k in self._keys], out=out)
        return out

    def _views(self, vector):
        views, start = {}, 0
        for k, shape in zip(self._keys, self._shapes):
            size = int(np.prod(shape))
            views[k] = vector[start : start + size].reshape(shape)
            start += size
        return {k: views[k] for k in self._order}

    def gradient(self, grads):
        """``grads`` (a dict like ``params``) packed into the optimizer's gradient vector;
        returns :attr:`grads`, its views, which :meth:`step` then takes without a copy."""
        if grads is not self.grads:
            self._pack(grads, out=self._grad)
        return self.grads

    def weight_decay(self, scale):
        """Add ``scale * w`` to the packed gradient of the ``decayed`` parameters (the
        gradient of the L2 penalty ``0.5 * scale * ||w||^2``; call :meth:`gradient`
        first); returns ``||w||^2``, one dot product over all of them."""
        n = self._n_decayed
        w, s = self.vector[:n], self._scratch[0][:n]
        np.multiply(w, scale, out=s)
        self._grad[:n] += s
        return float(np.dot(w, w))

    def snapshot(self):
        """A copy of the weights and the solver's state, for :meth:`restore`."""
        return (self.vector.copy(), {k: v.copy() for k, v in self._slots.items()},
                self.state["t"])

    def snapshot_of(self, params, state):
        """A :meth:`snapshot` of other weights and solver state (dicts like ``params``)."""
        return (self._pack(params), {k: self._pack(state[k]) for k in self._slots},
                int(state["t"]))

    def unpack(self, snapshot):
        """(params, state) of a :meth:`snapshot`, as dicts of arrays of their own."""
        vector, slots, t = snapshot
        state = {"t": t, **{k: self._views(v.copy()) for k, v in slots.items()}}
        return self._views(vector.copy()), state

    def restore(self, snapshot):
        """Set the weights and the solver's state back to a :meth:`snapshot`."""
        vector, slots, t = snapshot
        self.vector[...] = vector
        for k, v in slots.items():
            self._slots[k][...] = v
        self.state["t"] = t

    def step(self, grads, clip_norm=None):
        """One update from ``grads`` (a dict like ``params``), clipped to ``clip_norm``.

        Returns the gradient's global norm before clipping, or None without
        ``clip_norm`` (it is not computed then).
        """
        self.gradient(grads)
        g = self._grad
        norm = None if clip_norm is None else clip_by_global_norm(g, clip_norm)
        self.state["t"] += 1
        _STEPS[self.solver](self.vector, g, self._slots, self.state["t"], self.hyper,
                            self._scratch)
        return norm


# Each step updates ``w`` in place from the gradient ``g``; all are flat vectors, and
# ``scratch`` holds two vectors of the same size and dtype (no temporaries). Scalars are
# Python floats, so the arithmetic stays in the parameters' dtype (float32 by default):
# a float64 scalar would widen the update to float64 and then round it back, at twice
# the memory traffic and a cast, for no accuracy that float32 weights can keep.


def _sgd(w, g, slots, t, hp, scratch):
    # velocity v <- mu v - lr g;  w <- w + v   (nesterov: w <- w + mu v - lr g)
    lr, mu = float(hp["learning_rate"]), float(hp["momentum"])
    v, (s, s2) = slots["acc"], scratch
    v *= mu
    np.multiply(g, lr, out=s)
    v -= s
    if hp["nesterovs_momentum"]:
        np.multiply(v, mu, out=s2)
        s2 -= s
        w += s2
    else:
        w += v


def _adam(w, g, slots, t, hp, scratch):
    # Kingma & Ba (2015), with the bias corrections folded into the step size.
    b1, b2, eps = float(hp["beta_1"]), float(hp["beta_2"]), float(hp["epsilon"])
    lr = float(hp["learning_rate"]) * math.sqrt(1 - b2**t) / (1 - b1**t)
    m, v = slots["m"], slots["v"]
    s, s2 = scratch
    m *= b1  # m <- b1 m + (1 - b1) g
    np.multiply(g, 1 - b1, out=s)
    m += s
    v *= b2  # v <- b2 v + (1 - b2) g^2
    np.multiply(g, g, out=s)
    s *= 1 - b2
    v += s
    np.sqrt(v, out=s)  # w <- w - lr m / (sqrt(v) + eps)
    s += eps
    np.multiply(m, lr, out=s2)
    s2 /= s
    w -= s2


def _adagrad(w, g, slots, t, hp, scratch):
    # Duchi et al. (2011): per-weight step lr / sqrt(sum of squared gradients).
    lr, eps = float(hp["learning_rate"]), float(hp["epsilon"])
    acc, (s, s2) = slots["acc"], scratch
    np.multiply(g, g, out=s)
    acc += s
    _scaled_step(w, g, acc, lr, eps, s, s2)


def _rmsprop(w, g, slots, t, hp, scratch):
    # Tieleman & Hinton (2012): a decaying average of squared gradients instead of a sum.
    lr, eps, rho = float(hp["learning_rate"]), float(hp["epsilon"]), float(hp["rho"])
    acc, (s, s2) = slots["acc"], scratch
    acc *= rho
    np.multiply(g, g, out=s)
    s *= 1 - rho
    acc += s
    _scaled_step(w, g, acc, lr, eps, s, s2)


def _scaled_step(w, g, acc, lr, eps, s, s2):
    """w <- w - lr g / (sqrt(acc) + eps)."""
    np.sqrt(acc, out=s)
    s += eps
    np.multiply(g, lr, out=s2)
    s2 /= s
    w -= s2


_STEPS = {"sgd": _sgd, "adam": _adam, "adagrad": _adagrad, "rmsprop": _rmsprop}
