"""Recurrent cells: the forward pass over time and its exact backward pass (BPTT).

Every cell works on one layer, one direction, over a *time-major* batch whose
samples are sorted by decreasing length, so that at step ``t`` the samples that
still have a real step are the first ``n_t = batch_sizes[t]`` rows. A finished
sample simply drops out of the computation: its state is carried unchanged
through its padding and its padding receives no gradient. This is exact masking
at no cost (the trick behind packed sequences).

Shapes (``T`` steps, ``B`` samples, ``H`` hidden units, ``G`` gates)::

    Zx          (T, B, G*H)   input projection x_t @ W_x + b, all steps at once
    W_h         (H, G*H)      recurrent weights, gates fused side by side
    Hs          (T + 1, B, H) Hs[0] = h_0, Hs[t + 1] = h_t (zero rows past a
                              sample's end)
    dHs         (T, B, H)     dL/dh_t coming from above (output head or the
                              next layer); overwritten in place by backward

``forward`` returns ``(Hs, cache)``; ``backward`` returns
``(dZx, grads, dh0)`` where ``dZx`` is dL/dZx (so ``dW_x = x^T dZx`` and
``db = sum dZx`` are done by the caller, once for all steps) and ``grads``
holds the cell's own recurrent parameters, each summed over all steps in a
single matrix product after the time loop.

Equations use PyTorch's formulations (``nn.RNN``, ``nn.LSTM``, ``nn.GRU``) so
weights compare one to one: ``W_x`` is ``weight_ih.T``, ``W_h`` is
``weight_hh.T``, ``b`` is ``bias_ih + bias_hh`` (for the GRU, ``b`` holds
``bias_ih`` plus ``bias_hh`` of the r and z gates, and ``b_hn`` is the n-gate
part of ``bias_hh``, which sits inside the reset gate).
"""

import numpy as np
from scipy.special import expit

# Activations applied in place, and their derivatives written in terms of the
# activation's *output* (which is what the forward pass stores).


def _tanh(a):
    return np.tanh(a, out=a)


def _relu(a):
    return np.maximum(a, 0, out=a)


def _tanh_derivative(h, delta):
    # d tanh(a)/da = 1 - tanh(a)^2 = 1 - h^2
    delta *= 1 - h * h


def _relu_derivative(h, delta):
    # d relu(a)/da = 1 where a > 0, i.e. where h > 0
    delta *= h > 0


ACTIVATIONS = {"tanh": _tanh, "relu": _relu}
DERIVATIVES = {"tanh": _tanh_derivative, "relu": _relu_derivative}


def _sum_over_steps(Hs, dZ):
    """sum_t h_{t-1}^T dZ_t for all steps in one product: (H, T*B) @ (T*B, G)."""
    T, B, n_h = dZ.shape[0], dZ.shape[1], Hs.shape[2]
    return Hs[:T].reshape(T * B, n_h).T @ dZ.reshape(T * B, -1)


# ---------------------------------------------------------------------------
# Vanilla (Elman) cell


def rnn_forward(Zx, params, state0, batch_sizes, activation="tanh"):
    """Vanilla cell forward.

    ``h_t = act(x_t @ W_x + b + h_{t-1} @ W_h)``, act in {tanh, relu}.
    ``Zx`` already holds ``x_t @ W_x + b``.
    """
    W_h = params["W_h"]
    T, B, n_h = Zx.shape[0], Zx.shape[1], W_h.shape[0]
    act = ACTIVATIONS[activation]
    Hs = np.zeros((T + 1, B, n_h), dtype=Zx.dtype)
    Hs[0] = state0[0]
    for t in range(T):
        n = batch_sizes[t]
        a = Hs[t + 1, :n]
        np.matmul(Hs[t, :n], W_h, out=a)  # h_{t-1} W_h
        a += Zx[t, :n]  # + x_t W_x + b
        act(a)  # h_t, in place
    return Hs, {"Hs": Hs}


def rnn_backward(dHs, params, cache, batch_sizes, activation="tanh"):
    """Vanilla cell BPTT. ``dHs`` (T, B, H) is overwritten with dL/da_t."""
    W_h, Hs = params["W_h"], cache["Hs"]
    T, B, n_h = dHs.shape
    derivative = DERIVATIVES[activation]
    dh_next = np.zeros((B, n_h), dtype=dHs.dtype)  # dL/dh_t through h_{t+1}
    for t in range(T - 1, -1, -1):
        n = batch_sizes[t]
        da = dHs[t, :n]
        da += dh_next[:n]  # total dL/dh_t: from above and from the future
        derivative(Hs[t + 1, :n], da)  # dh_raw: through the nonlinearity
        np.matmul(da, W_h.T, out=dh_next[:n])  # into h_{t-1}
        # rows n: (finished samples) keep dh_next unchanged: their state is carried.
    dZx = dHs  # a_t = Zx_t + h_{t-1} W_h, so dL/dZx_t = dL/da_t
    grads = {"W_h": _sum_over_steps(Hs, dZx)}
    return dZx, grads, (dh_next,)


# ---------------------------------------------------------------------------
# LSTM


def lstm_forward(Zx, params, state0, batch_sizes, activation=None):
    """LSTM forward (gates fused in the order i, f, g, o, as PyTorch).

    ::

        [i, f, g, o] = [sig, sig, tanh, sig](x_t @ W_x + b + h_{t-1} @ W_h)
        c_t = f * c_{t-1} + i * g
        h_t = o * tanh(c_t)

    ``Zx`` (T, B, 4H) is overwritten with the activated gates (the cache).
    """
    W_h = params["W_h"]
    T, B, n_h = Zx.shape[0], Zx.shape[1], W_h.shape[0]
    Hs = np.zeros((T + 1, B, n_h), dtype=Zx.dtype)
    Cs = np.zeros((T + 1, B, n_h), dtype=Zx.dtype)
    tanh_C = np.zeros((T, B, n_h), dtype=Zx.dtype)
    Hs[0], Cs[0] = state0
    rec = np.empty((B, 4 * n_h), dtype=Zx.dtype)  # h_{t-1} W_h, reused every step
    for t in range(T):
        n = batch_sizes[t]
        z = Zx[t, :n]
        np.matmul(Hs[t, :n], W_h, out=rec[:n])
        z += rec[:n]
        expit(z[:, : 2 * n_h], out=z[:, : 2 * n_h])  # i, f
        np.tanh(z[:, 2 * n_h : 3 * n_h], out=z[:, 2 * n_h : 3 * n_h])  # g
        expit(z[:, 3 * n_h :], out=z[:, 3 * n_h :])  # o
        i, f, g, o = z[:, :n_h], z[:, n_h : 2 * n_h], z[:, 2 * n_h : 3 * n_h], z[:, 3 * n_h :]
        c = Cs[t + 1, :n]
        np.multiply(f, Cs[t, :n], out=c)
        c += i * g
        np.tanh(c, out=tanh_C[t, :n])
        np.multiply(o, tanh_C[t, :n], out=Hs[t + 1, :n])
    return Hs, {"Hs": Hs, "Cs": Cs, "gates": Zx, "tanh_C": tanh_C}


def lstm_backward(dHs, params, cache, batch_sizes, activation=None):
    """LSTM BPTT. Returns dL/dZx (T, B, 4H) in a new buffer."""
    W_h = params["W_h"]
    Hs, Cs, gates, tanh_C = cache["Hs"], cache["Cs"], cache["gates"], cache["tanh_C"]
    T, B, n_h = dHs.shape
    dZ = np.zeros((T, B, 4 * n_h), dtype=dHs.dtype)
    dh_next = np.zeros((B, n_h), dtype=dHs.dtype)
    dc_next = np.zeros((B, n_h), dtype=dHs.dtype)
    for t in range(T - 1, -1, -1):
        n = batch_sizes[t]
        z = gates[t, :n]
        i, f, g, o = z[:, :n_h], z[:, n_h : 2 * n_h], z[:, 2 * n_h : 3 * n_h], z[:, 3 * n_h :]
        tc = tanh_C[t, :n]
        dh = dHs[t, :n]
        dh += dh_next[:n]
        dz = dZ[t, :n]
        di, df, dg, do = (dz[:, :n_h], dz[:, n_h : 2 * n_h], dz[:, 2 * n_h : 3 * n_h],
                          dz[:, 3 * n_h :])
        np.multiply(dh, tc, out=do)  # h = o * tanh(c)
        dc = dc_next[:n]
        dc += dh * o * (1 - tc * tc)  # plus the path through tanh(c_t)
        np.multiply(dc, g, out=di)  # c = f * c_prev + i * g
        np.multiply(dc, i, out=dg)
        np.multiply(dc, Cs[t, :n], out=df)
        dc *= f  # dL/dc_{t-1}, carried to the previous step
        # Through the gate nonlinearities, in terms of their outputs.
        di *= i * (1 - i)
        df *= f * (1 - f)
        dg *= 1 - g * g
        do *= o * (1 - o)
        np.matmul(dz, W_h.T, out=dh_next[:n])
    grads = {"W_h": _sum_over_steps(Hs, dZ)}
    return dZ, grads, (dh_next, dc_next)


# ---------------------------------------------------------------------------
# GRU


def gru_forward(Zx, params, state0, batch_sizes, activation=None):
    """GRU forward (gates fused in the order r, z, n, as PyTorch).

    ::

        r = sig(x_t W_xr + b_r + h_{t-1} W_hr)
        z = sig(x_t W_xz + b_z + h_{t-1} W_hz)
        n = tanh(x_t W_xn + b_n + r * (h_{t-1} W_hn + b_hn))
        h_t = (1 - z) * n + z * h_{t-1}

    ``Zx`` (T, B, 3H) is overwritten with the activated gates r, z, n.
    """
    W_h, b_hn = params["W_h"], params["b_hn"]
    T, B, n_h = Zx.shape[0], Zx.shape[1], W_h.shape[0]
    Hs = np.zeros((T + 1, B, n_h), dtype=Zx.dtype)
    HN = np.zeros((T, B, n_h), dtype=Zx.dtype)  # h_{t-1} W_hn + b_hn, needed by backward
    Hs[0] = state0[0]
    rec = np.empty((B, 3 * n_h), dtype=Zx.dtype)
    for t in range(T):
        n = batch_sizes[t]
        zx = Zx[t, :n]
        h_prev = Hs[t, :n]
        np.matmul(h_prev, W_h, out=rec[:n])
        rz = zx[:, : 2 * n_h]
        rz += rec[:n, : 2 * n_h]
        expit(rz, out=rz)
        r, z, nn = zx[:, :n_h], zx[:, n_h : 2 * n_h], zx[:, 2 * n_h :]
        hn = HN[t, :n]
        np.add(rec[:n, 2 * n_h :], b_hn, out=hn)
        nn += r * hn
        np.tanh(nn, out=nn)
        h = Hs[t + 1, :n]
        np.subtract(h_prev, nn, out=h)  # h_t = n + z * (h_{t-1} - n)
        h *= z
        h += nn
    return Hs, {"Hs": Hs, "gates": Zx, "HN": HN}


def gru_backward(dHs, params, cache, batch_sizes, activation=None):
    """GRU BPTT. Returns dL/dZx (T, B, 3H); grads of W_h and b_hn."""
    W_h = params["W_h"]
    Hs, gates, HN = cache["Hs"], cache["gates"], cache["HN"]
    T, B, n_h = dHs.shape
    dZ = np.zeros((T, B, 3 * n_h), dtype=dHs.dtype)  # dL/dZx
    dHN = np.zeros((T, B, n_h), dtype=dHs.dtype)  # dL/d(h W_hn + b_hn)
    dh_next = np.zeros((B, n_h), dtype=dHs.dtype)
    drec = np.empty((B, 3 * n_h), dtype=dHs.dtype)  # dL/d(h_{t-1} W_h), reused
    for t in range(T - 1, -1, -1):
        n = batch_sizes[t]
        g = gates[t, :n]
        r, z, nn = g[:, :n_h], g[:, n_h : 2 * n_h], g[:, 2 * n_h :]
        h_prev = Hs[t, :n]
        dh = dHs[t, :n]
        dh += dh_next[:n]
        dz = dZ[t, :n]
        dr, dzz, dn = dz[:, :n_h], dz[:, n_h : 2 * n_h], dz[:, 2 * n_h :]
        np.multiply(dh, 1 - z, out=dn)  # h = (1 - z) n + z h_prev
        dn *= 1 - nn * nn  # through tanh: dL/d(pre-activation of n)
        np.multiply(dh, h_prev - nn, out=dzz)
        dzz *= z * (1 - z)
        dhn = dHN[t, :n]
        np.multiply(dn, r, out=dhn)  # pre_n = Zx_n + r * hn
        np.multiply(dn, HN[t, :n], out=dr)
        dr *= r * (1 - r)
        drec[:n, : 2 * n_h] = dz[:, : 2 * n_h]
        drec[:n, 2 * n_h :] = dhn
        np.matmul(drec[:n], W_h.T, out=dh_next[:n])
        dh_next[:n] += dh * z  # the direct path z * h_prev
    T_B = T * B
    Hp = Hs[:T].reshape(T_B, n_h).T
    dW_h = np.empty_like(W_h)
    dW_h[:, : 2 * n_h] = Hp @ dZ[:, :, : 2 * n_h].reshape(T_B, 2 * n_h)
    dW_h[:, 2 * n_h :] = Hp @ dHN.reshape(T_B, n_h)
    grads = {"W_h": dW_h, "b_hn": dHN.reshape(T_B, n_h).sum(axis=0)}
    return dZ, grads, (dh_next,)


class Cell:
    """What the network needs to know about a cell type."""

    def __init__(self, name, n_gates, forward, backward, n_states, extra_params=()):
        self.name = name
        self.n_gates = n_gates
        self.forward = forward
        self.backward = backward
        self.n_states = n_states  # (h,) or (h, c)
        self.extra_params = extra_params


CELLS = {
    "rnn": Cell("rnn", 1, rnn_forward, rnn_backward, 1),
    "lstm": Cell("lstm", 4, lstm_forward, lstm_backward, 2),
    "gru": Cell("gru", 3, gru_forward, gru_backward, 1, extra_params=("b_hn",)),
}
