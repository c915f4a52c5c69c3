"""Recurrent cells: the forward pass over time and its exact backward pass (BPTT).

Every cell works on one layer, one direction, over a *time-major* batch whose
samples are sorted by decreasing length, so that at step ``t`` the samples that
still have a real step are the first ``n_t = batch_sizes[t]`` rows. A finished
sample simply drops out of the computation: its state is carried unchanged
through its padding and its padding receives no gradient. This is exact masking
at no cost (the trick behind packed sequences).

Shapes (``T`` steps, ``B`` samples, ``H`` hidden units, ``G`` gates)::

    Zx          (G, T, B, H)  input projection x_t @ W_x + b, all steps at once,
                              gate-major (times ``Cell.input_scale`` for the
                              gated cells); overwritten with the gates
    W_h         (H, G*H)      recurrent weights, gates fused side by side
    Hs          (T + 1, B, H) Hs[0] = h_0, Hs[t + 1] = h_t (zero rows past a
                              sample's end)
    dHs         (T, B, H)     dL/dh_t coming from above (output head or the
                              next layer); overwritten in place by backward

Gate-major. The recurrent product of a step is one fused (n, H) @ (H, G*H) product,
but the gate arrays keep each gate as its own (T, B, H) block, so that the
element-wise work of a step runs on contiguous (n, H) blocks, also when only the first
n < B samples are still running; one strided pass per step adds the fused product into
the gates (and, backward, gathers the gates' gradients for the fused product).

``forward`` returns ``(Hs, cache)``; ``backward`` returns ``(dZx, grads)``
where ``dZx`` is dL/dZx, gate-major like ``Zx`` (``dW_x = x^T dZx`` and
``db = sum dZx`` are done by the caller, once for all steps) and ``grads`` holds
the cell's own recurrent parameters, each summed over all steps in one product
per gate after the time loop. The initial state is not trained (zeros, or a state carried from the
previous window of a truncated BPTT), so BPTT stops at ``t = 0`` without
computing dL/dh_0: one recurrent product fewer per pass.

Memory. The arrays over all steps come from ``ws``, a
:class:`skrnn._workspace.Workspace` during training and chunked prediction (the same
pages every minibatch, not freshly faulted-in ones) or plain new arrays (``FRESH``).

Speed. The time loop is the only Python loop, and each step is a handful of
NumPy calls on preallocated ``(n_t, .)`` slices: one fused matrix product for all
gates (``np.dot`` into a contiguous slice), element-wise work in place (``out=``) into
buffers allocated once per call (or reused from the workspace), no temporaries. Rows of
padding in ``dZx`` stay exactly zero, which lets the caller sum ``dW_x`` and ``db`` over
all ``T * B`` rows without a mask. What each of these choices measured, and what was
tried and not used, is in ``docs/decisions.md``.

Equations use PyTorch's formulations (``nn.RNN``, ``nn.LSTM``, ``nn.GRU``) so
weights compare one to one: ``W_x`` is ``weight_ih.T``, ``W_h`` is
``weight_hh.T``, ``b`` is ``bias_ih + bias_hh`` (for the GRU, ``b`` holds
``bias_ih`` plus ``bias_hh`` of the r and z gates, and ``b_hn`` is the n-gate
part of ``bias_hh``, which sits inside the reset gate).
"""

import numpy as np

from ._workspace import FRESH, zero_padding

# Activations applied in place, and their derivatives written in terms of the
# activation's *output* (which is what the forward pass stores).


def _tanh(a):
    return np.tanh(a, out=a)


def _relu(a):
    return np.maximum(a, 0, out=a)


def _tanh_factor(h, out):
    # d tanh(a)/da = 1 - tanh(a)^2 = 1 - h^2
    np.multiply(h, h, out=out)
    return np.subtract(1, out, out=out)


def _relu_factor(h, out):
    # d relu(a)/da = 1 where a > 0, i.e. where h > 0 (h >= 0, so sign(h) is that)
    return np.sign(h, out=out)


ACTIVATIONS = {"tanh": _tanh, "relu": _relu}
# Each returns f'(a) for all steps at once, from the stored outputs h = f(a). BPTT
# multiplies by it inside the time loop; computing it before the loop, as one large
# vectorised operation, costs less than a few small ones at every step.
DERIVATIVES = {"tanh": _tanh_factor, "relu": _relu_factor}


def _sum_over_steps(Hs, dZ):
    """sum_t h_{t-1}^T dZ_t over all steps, as the (H, G*H) gradient of ``W_h``.

    One product per gate over all steps, (H, T*B) @ (T*B, H), instead of T small ones:
    BLAS runs near its peak on them, and rows of finished samples (zeros in ``dZ``)
    cost nothing extra to include.
    """
    G, T, B, n_g = dZ.shape
    n_h = Hs.shape[2]
    per_gate = np.matmul(Hs[:T].reshape(T * B, n_h).T, dZ.reshape(G, T * B, n_g))
    return per_gate.transpose(1, 0, 2).reshape(n_h, G * n_g)


def _transposed(W):
    """A C-contiguous copy of ``W.T`` for the backward products ``dZ_t @ W.T``.

    Made once per backward pass and reused at every step (OpenBLAS is faster on a
    contiguous operand than on a transposed view: ``docs/decisions.md``).
    """
    return np.ascontiguousarray(W.T)


def _gate_major(a, n_gates):
    """The (n, G*H) result of a fused product as a (G, n, H) view, gate blocks first."""
    n = a.shape[0]
    return a.reshape(n, n_gates, a.shape[1] // n_gates).transpose(1, 0, 2)


def _states(ws, key, T, B, n_h, dtype, batch_sizes):
    """The (T + 1, B, H) state buffer: row 0 is set by the caller, padding rows are zero.

    Rows of finished samples must read as zeros: the output head and the next layer
    read every row (and multiply the padding by zero gradients, which a stale NaN
    or inf from an earlier use of the buffer would spoil).
    """
    return zero_padding(ws.empty(key, (T + 1, B, n_h), dtype), batch_sizes, first=1)


def _initial_state(buffers, state0):
    """Row 0 of each state buffer (Hs, and Cs for an LSTM): ``state0``, or zeros if None."""
    for k, buf in enumerate(buffers):
        buf[0] = 0 if state0 is None else state0[k]


def _gate_grads(ws, key, G, T, B, n_h, dtype, batch_sizes):
    """A (G, T, B, H) gradient buffer whose padding rows are zero (see the module doc)."""
    return zero_padding(ws.empty(key, (G, T, B, n_h), dtype), batch_sizes, gates=True)


def _presigmoid_scale(n_h, sigmoid_blocks, n_gates, dtype):
    """Column scale that lets one tanh evaluate sigmoid gates: 0.5 on them, 1 elsewhere.

    sigma(a) = 0.5 tanh(0.5 a) + 0.5, exactly, so one vectorised ``np.tanh`` activates
    the whole fused gate row (why not ``scipy.special.expit``: ``docs/decisions.md``).
    The 0.5 inside is folded into the recurrent weights once per call and into the input
    projection by the caller (``Cell.input_scale``), so a step pays one tanh and an
    affine map.
    """
    scale = np.ones(n_gates * n_h, dtype=dtype)
    for k in sigmoid_blocks:
        scale[k * n_h : (k + 1) * n_h] = 0.5
    return scale


def _to_sigmoid(y):
    """0.5 tanh(a / 2) + 0.5 = sigma(a), in place on the tanh of the halved input."""
    y *= 0.5
    y += 0.5


# ---------------------------------------------------------------------------
# Vanilla (Elman) cell


def rnn_forward(Zx, params, state0, batch_sizes, activation="tanh", ws=FRESH):
    """Vanilla cell forward.

    ``h_t = act(x_t @ W_x + b + h_{t-1} @ W_h)``, act in {tanh, relu}.
    ``Zx`` (1, T, B, H) already holds ``x_t @ W_x + b``.
    """
    W_h = params["W_h"]
    Z = Zx[0]
    T, B, n_h = Z.shape[0], Z.shape[1], W_h.shape[0]
    act = ACTIVATIONS[activation]
    Hs = _states(ws, "Hs", T, B, n_h, Zx.dtype, batch_sizes)
    _initial_state((Hs,), state0)
    for t in range(T):
        n = batch_sizes[t]
        a = Hs[t + 1, :n]
        np.dot(Hs[t, :n], W_h, out=a)  # h_{t-1} W_h
        a += Z[t, :n]  # + x_t W_x + b
        act(a)  # h_t, in place
    return Hs, {"Hs": Hs}


def rnn_backward(dHs, params, cache, batch_sizes, activation="tanh", ws=FRESH):
    """Vanilla cell BPTT. ``dHs`` (T, B, H) is overwritten with dL/da_t.

    ``dHs`` is returned as ``dZx`` whole, so its padding rows must come in zero, as the
    network makes them (no gradient reaches a step past a sample's end).
    """
    W_h, Hs = params["W_h"], cache["Hs"]
    T, B, n_h = dHs.shape
    W_hT = _transposed(W_h)
    D = DERIVATIVES[activation](Hs[1:], ws.empty("D", (T, B, n_h), dHs.dtype))  # f'(a_t)
    dh_next = np.zeros((B, n_h), dtype=dHs.dtype)  # dL/dh_t through h_{t+1}
    for t in range(T - 1, -1, -1):
        n = batch_sizes[t]
        da = dHs[t, :n]
        da += dh_next[:n]  # total dL/dh_t: from above and from the future
        da *= D[t, :n]  # dh_raw: through the nonlinearity
        if t:  # into h_{t-1}; rows n: (finished samples) keep theirs: their state is carried
            np.dot(da, W_hT, out=dh_next[:n])
    dZx = dHs[None]  # a_t = Zx_t + h_{t-1} W_h, so dL/dZx_t = dL/da_t
    grads = {"W_h": _sum_over_steps(Hs, dZx)}
    return dZx, grads


# ---------------------------------------------------------------------------
# LSTM


def lstm_forward(Zx, params, state0, batch_sizes, activation=None, ws=FRESH):
    """LSTM forward (gates i, f, g, o, as PyTorch).

    ::

        [i, f, g, o] = [sig, sig, tanh, sig](x_t @ W_x + b + h_{t-1} @ W_h)
        c_t = f * c_{t-1} + i * g
        h_t = o * tanh(c_t)

    ``Zx`` (4, T, B, H) comes scaled by :func:`lstm_input_scale` and is overwritten with
    the activated gates (the cache).
    """
    T, B, n_h = Zx.shape[1], Zx.shape[2], params["W_h"].shape[0]
    dtype = Zx.dtype
    W_h = params["W_h"] * lstm_input_scale(n_h, dtype)  # 0.5 on the sigmoid gates
    Hs = _states(ws, "Hs", T, B, n_h, dtype, batch_sizes)
    # Only real rows of Cs and tanh_C are ever read: no zeroing needed.
    Cs = ws.empty("Cs", (T + 1, B, n_h), dtype)
    tanh_C = ws.empty("tanh_C", (T, B, n_h), dtype)
    _initial_state((Hs, Cs), state0)
    rec = np.empty((B, 4 * n_h), dtype=dtype)  # h_{t-1} W_h, reused every step
    ig = np.empty((B, n_h), dtype=dtype)  # i * g, reused
    for t in range(T):
        n = batch_sizes[t]
        z = Zx[:, t, :n]  # (4, n, H)
        np.dot(Hs[t, :n], W_h, out=rec[:n])
        z += _gate_major(rec[:n], 4)
        np.tanh(z, out=z)  # all four gates at once
        _to_sigmoid(z[:2])  # i, f
        _to_sigmoid(z[3])  # o
        i, f, g, o = z
        c = Cs[t + 1, :n]
        np.multiply(f, Cs[t, :n], out=c)
        np.multiply(i, g, out=ig[:n])
        c += ig[:n]
        np.tanh(c, out=tanh_C[t, :n])
        np.multiply(o, tanh_C[t, :n], out=Hs[t + 1, :n])
    return Hs, {"Hs": Hs, "Cs": Cs, "gates": Zx, "tanh_C": tanh_C}


def lstm_backward(dHs, params, cache, batch_sizes, activation=None, ws=FRESH):
    """LSTM BPTT. Returns dL/dZx (4, T, B, H)."""
    W_hT = _transposed(params["W_h"])
    Hs, Cs, gates, tanh_C = cache["Hs"], cache["Cs"], cache["gates"], cache["tanh_C"]
    T, B, n_h = dHs.shape
    dtype = dHs.dtype
    dZ = _gate_grads(ws, "dZ", 4, T, B, n_h, dtype, batch_sizes)
    dh_next = np.zeros((B, n_h), dtype=dtype)
    dc_next = np.zeros((B, n_h), dtype=dtype)
    tmp = np.empty((B, n_h), dtype=dtype)
    tmp2 = np.empty((2, B, n_h), dtype=dtype)
    dz_fused = np.empty((B, 4 * n_h), dtype=dtype)  # the operand of the recurrent product
    for t in range(T - 1, -1, -1):
        n = batch_sizes[t]
        y = gates[:, t, :n]
        i, f, g, o = y
        s = tmp[:n]
        dh = dHs[t, :n]
        dh += dh_next[:n]  # total dL/dh_t
        dz = dZ[:, t, :n]
        di, df, dg, do = dz
        np.multiply(dh, tanh_C[t, :n], out=do)  # h = o * tanh(c)
        # Path through tanh(c_t): dh o (1 - tanh^2 c) = dh o - (dh tanh c)(o tanh c)
        #                                              = dh o - do h_t
        dc = dc_next[:n]
        np.multiply(dh, o, out=s)
        dc += s
        np.multiply(do, Hs[t + 1, :n], out=s)
        dc -= s  # total dL/dc_t
        np.multiply(dc, g, out=di)  # c = f * c_prev + i * g
        np.multiply(dc, Cs[t, :n], out=df)
        np.multiply(dc, i, out=dg)
        # Through the gate nonlinearities: s (1 - s) on i, f, o and 1 - g^2 on g.
        d = tmp2[:, :n]
        np.subtract(1, y[:2], out=d)
        d *= y[:2]
        dz[:2] *= d
        np.subtract(1, o, out=s)
        s *= o
        do *= s
        np.multiply(g, g, out=s)
        np.subtract(1, s, out=s)
        dg *= s
        if t:
            dc *= f  # dL/dc_{t-1}, carried to the previous step
            # One fused product for all gates: gather the blocks side by side first.
            np.copyto(_gate_major(dz_fused[:n], 4), dz)
            np.dot(dz_fused[:n], W_hT, out=dh_next[:n])
    grads = {"W_h": _sum_over_steps(Hs, dZ)}
    return dZ, grads


# ---------------------------------------------------------------------------
# GRU


def gru_forward(Zx, params, state0, batch_sizes, activation=None, ws=FRESH):
    """GRU forward (gates r, z, n, as PyTorch).

    ::

        r = sig(x_t W_xr + b_r + h_{t-1} W_hr)
        z = sig(x_t W_xz + b_z + h_{t-1} W_hz)
        n = tanh(x_t W_xn + b_n + r * (h_{t-1} W_hn + b_hn))
        h_t = (1 - z) * n + z * h_{t-1}

    ``Zx`` (3, T, B, H) comes scaled by :func:`gru_input_scale` and is overwritten with
    the activated gates r, z, n.
    """
    b_hn = params["b_hn"]
    T, B, n_h = Zx.shape[1], Zx.shape[2], params["W_h"].shape[0]
    dtype = Zx.dtype
    W_h = params["W_h"] * gru_input_scale(n_h, dtype)  # r and z columns halved
    Hs = _states(ws, "Hs", T, B, n_h, dtype, batch_sizes)
    HN = ws.empty("HN", (T, B, n_h), dtype)  # h_{t-1} W_hn + b_hn (real rows only)
    _initial_state((Hs,), state0)
    rec = np.empty((B, 3 * n_h), dtype=dtype)
    tmp = np.empty((B, n_h), dtype=dtype)
    for t in range(T):
        n = batch_sizes[t]
        zx = Zx[:, t, :n]  # (3, n, H)
        h_prev = Hs[t, :n]
        np.dot(h_prev, W_h, out=rec[:n])
        rec_g = _gate_major(rec[:n], 3)
        rz = zx[:2]
        rz += rec_g[:2]
        np.tanh(rz, out=rz)  # sigma(a) = 0.5 tanh(0.5 a) + 0.5, r and z together
        _to_sigmoid(rz)
        r, z, nn = zx
        hn = HN[t, :n]
        np.add(rec_g[2], b_hn, out=hn)
        np.multiply(r, hn, out=tmp[:n])
        nn += tmp[:n]
        np.tanh(nn, out=nn)
        h = Hs[t + 1, :n]
        np.subtract(h_prev, nn, out=h)  # h_t = n + z * (h_{t-1} - n)
        h *= z
        h += nn
    return Hs, {"Hs": Hs, "gates": Zx, "HN": HN}


def gru_backward(dHs, params, cache, batch_sizes, activation=None, ws=FRESH):
    """GRU BPTT. Returns dL/dZx (3, T, B, H); grads of W_h and b_hn.

    The recurrent product ``rec = h_{t-1} W_h + [0, 0, b_hn]`` and the input
    projection ``Zx`` share the r and z blocks of their gradient and differ in the
    n block (``pre_n = Zx_n + r * rec_n``, so ``dL/d rec_n = r * dL/d pre_n``). One
    buffer ``dREC`` holds ``[dr, dz, d rec_n]`` for the recurrent products during the
    loop, and its n block is replaced by ``dL/d pre_n`` at the end to become ``dZx``.
    """
    W_hT = _transposed(params["W_h"])
    Hs, gates, HN = cache["Hs"], cache["gates"], cache["HN"]
    T, B, n_h = dHs.shape
    dtype = dHs.dtype
    dREC = _gate_grads(ws, "dREC", 3, T, B, n_h, dtype, batch_sizes)
    dN = zero_padding(ws.empty("dN", (T, B, n_h), dtype), batch_sizes)  # dL/d pre-act. n
    dh_next = np.zeros((B, n_h), dtype=dtype)
    tmp = np.empty((B, n_h), dtype=dtype)
    tmp2 = np.empty((2, B, n_h), dtype=dtype)
    dhz_buf = np.empty((B, n_h), dtype=dtype)
    drec_fused = np.empty((B, 3 * n_h), dtype=dtype)
    for t in range(T - 1, -1, -1):
        n = batch_sizes[t]
        y = gates[:, t, :n]
        r, z, nn = y
        s = tmp[:n]
        dh = dHs[t, :n]
        dh += dh_next[:n]  # total dL/dh_t
        drec = dREC[:, t, :n]
        dr, dz, drec_n = drec
        dn = dN[t, :n]
        dhz = dhz_buf[:n]
        np.multiply(dh, z, out=dhz)  # h = (1 - z) n + z h_prev: dL/dh_prev gets dh z
        np.subtract(dh, dhz, out=dn)  # and dL/dn = dh (1 - z)
        np.multiply(nn, nn, out=s)  # through tanh: 1 - n^2
        np.subtract(1, s, out=s)
        dn *= s
        np.subtract(Hs[t, :n], nn, out=dz)
        dz *= dh
        np.multiply(dn, r, out=drec_n)
        np.multiply(dn, HN[t, :n], out=dr)
        d = tmp2[:, :n]  # through the sigmoids of r and z together: s (1 - s)
        np.subtract(1, y[:2], out=d)
        d *= y[:2]
        drec[:2] *= d
        if t:
            np.copyto(_gate_major(drec_fused[:n], 3), drec)
            np.dot(drec_fused[:n], W_hT, out=dh_next[:n])
            dh_next[:n] += dhz  # the direct path z * h_prev
    grads = {"W_h": _sum_over_steps(Hs, dREC),
             "b_hn": dREC[2].reshape(T * B, n_h).sum(axis=0)}
    dREC[2] = dN  # now dL/dZx
    return dREC, grads


def lstm_input_scale(n_h, dtype):
    """Scale of the LSTM's input projection columns: 0.5 on i, f, o (sigmoid gates)."""
    return _presigmoid_scale(n_h, (0, 1, 3), 4, dtype)


def gru_input_scale(n_h, dtype):
    """Scale of the GRU's input projection columns: 0.5 on r, z (sigmoid gates)."""
    return _presigmoid_scale(n_h, (0, 1), 3, dtype)


class Cell:
    """What the network needs to know about a cell type.

    ``input_scale(H, dtype)``, if given, is a column scale the caller applies to the
    input projection before ``forward`` (to ``W_x`` and ``b``, or to the gathered rows,
    whichever is smaller), so that the cell does not make a pass over all of ``Zx``
    for it; ``backward`` returns the gradient of the unscaled projection.
    """

    def __init__(self, name, n_gates, forward, backward, n_states, extra_params=(),
                 input_scale=None):
        self.name = name
        self.n_gates = n_gates
        self.forward = forward
        self.backward = backward
        self.n_states = n_states  # (h,) or (h, c)
        self.extra_params = extra_params
        self.input_scale = input_scale


CELLS = {
    "rnn": Cell("rnn", 1, rnn_forward, rnn_backward, 1),
    "lstm": Cell("lstm", 4, lstm_forward, lstm_backward, 2, input_scale=lstm_input_scale),
    "gru": Cell("gru", 3, gru_forward, gru_backward, 1, extra_params=("b_hn",),
                input_scale=gru_input_scale),
}
