"""What each optimisation of skrnn's core buys: the same work with it switched off.

Run::

    python benchmarks/ablation.py                 # every ablation
    python benchmarks/ablation.py --quick --only sigmoid float64 --json ablation.json

Each row times skrnn as it is against skrnn with one optimisation undone, interleaved
(every round runs both, in a random order) at ``--threads`` BLAS threads, and reports the
median over rounds of ``time without / time with`` (> 1: the optimisation helps) with
its interquartile range. "Undone" means the straightforward NumPy one would write
instead, defined in this file and patched in for the measurement only:

* ``sigmoid``: gates through ``scipy.special.expit`` (plus ``np.tanh`` for the LSTM's
  g) instead of one ``np.tanh`` over the fused row with the 0.5 scale folded in.
* ``fused-gates``: four (H, H) products per step, forward and backward, instead of one
  (H, 4H) product (measured on the recurrent products alone: a component timing).
* ``gate-major``: a gated cell's forward and backward with its gate arrays laid out
  (T, B, G*H), gates side by side (skrnn's layout before), instead of (G, T, B, H): a
  component timing of the cell alone. Side by side, every per-gate element-wise
  operation works on a strided (n, H) block, and NumPy pays per row for those.
* ``one-thread-per-batch``: a gated cell's forward and backward over the whole batch
  at BLAS's threads, as skrnn runs it, instead of the batch split in two halves run by
  two Python threads at one BLAS thread each (the other way to use two cores; a
  component timing of the cell alone). A step is a few dozen small NumPy calls whose
  Python work runs under the GIL, the likely reason the threads gain nothing.
* ``gather``: the input projection of token ids as one-hot rows times ``W_x``, and
  ``dW_x`` as the one-hot matrix's transpose times ``dZ``, instead of a row gather and
  a sparse scatter-add (at the workloads' 64 symbols, and at 5,000).
* ``one-product-dW``: ``dW_h`` accumulated with one product per step instead of one
  product over all steps.
* ``workspace``: the step's arrays over all steps (gates, states, their gradients)
  allocated afresh every minibatch instead of reused from one workspace per fit. Timed
  in a new interpreter, with the page faults per step: see ``FRESH_PROCESS`` for why
  the gain depends on the process's allocation history.
* ``buffers``: a vanilla cell that allocates a new state per step (a Python list
  stacked at the end, new arrays for every intermediate of the backward pass) instead
  of writing into preallocated ``(T, B, H)`` buffers.
* ``in-place``: element-wise steps as expressions (temporaries) instead of ``out=``.
* ``contiguous-WT``: products with the transposed view ``W_h.T`` instead of a
  contiguous copy made once per backward pass.
* ``float64``: the whole step in float64 instead of float32 (the default).
* ``log-softmax``: ``scipy.special.logsumexp`` instead of three NumPy calls.
* ``validation``: every minibatch re-validated from the raw array (as a loop over the
  public ``fit`` API would) instead of validating once per fit (float sequences with 16
  features, where validation has the most to check).
* ``packed-optimizer``: the optimizer step (packing the gradient, the L2 term,
  global-norm clipping, Adam) done per parameter array, with temporaries, as skrnn did
  before, instead of on one packed vector; measured on whole fits of a small model
  (negation-sized data: 64 sequences of 3-8 steps, H=64) and of the fit-rnn-32 workload.
* ``blas-threads``: a small model's fit (per-step products below OpenBLAS's threshold
  for threading, 2**18 multiply-adds) at BLAS's own thread count instead of one thread;
  nothing to measure when the run itself uses one thread.
* ``blas-threads-786k``: the other side of that threshold, a fit at 786,432
  multiply-adds per step (GRU, H=64) at BLAS's threads, as skrnn runs it, against one
  thread: whether the threads pay just above it.
* ``buckets``: ``RNNClassifier.fit`` with length-bucketed batches (pools of 8) against
  plain shuffled batches, for speed; and the test R^2 of both on a task whose target
  depends on the sequence length, for what it does to learning.
"""

import argparse
import contextlib
import json
import sys
import warnings
from pathlib import Path

import numpy as np
from scipy.special import expit, logsumexp
from sklearn.exceptions import ConvergenceWarning

sys.path.insert(0, str(Path(__file__).resolve().parent))

from _common import blas_threads, fmt_ratio, interleaved, ratio_stats, time_stats
from _workloads import Fit, SkrnnStep, Step, fit_data, skrnn_fit_estimator

from skrnn import RNNClassifier, RNNRegressor, _base, _cells, _network, _optimizers, pad_sequences
from skrnn._base import length_bucketed_batches
from skrnn._cells import (
    CELLS,
    Cell,
    _initial_state,
    _states,
    _sum_over_steps,
    _transposed,
    gru_input_scale,
    lstm_input_scale,
)
from skrnn._validation import check_sequences
from skrnn._workspace import FRESH, Workspace, zero_padding

# --------------------------------------------------------------------------- patching


@contextlib.contextmanager
def patched(obj, name, value):
    """Temporarily replace ``obj.name`` (a module function or a class attribute)."""
    old = getattr(obj, name)
    setattr(obj, name, value)
    try:
        yield
    finally:
        setattr(obj, name, old)


def under(patches, fn):
    """``fn`` run with every (obj, name, value) of ``patches`` in place."""

    def run():
        with contextlib.ExitStack() as stack:
            for obj, name, value in patches:
                stack.enter_context(patched(obj, name, value))
            return fn()

    return run


# --------------------------------------------------------------------------- naive variants


def lstm_forward_expit(Zx, params, state0, batch_sizes, activation=None, ws=None):
    """skrnn's LSTM forward with each gate activated by its own function (expit, tanh).

    ``Zx`` (4, T, B, H) gate-major and unscaled (the cell is declared without an input
    scale).
    """
    W_h = params["W_h"]
    T, B, n_h = Zx.shape[1], Zx.shape[2], W_h.shape[0]
    Hs = np.zeros((T + 1, B, n_h), dtype=Zx.dtype)
    Cs = np.zeros_like(Hs)
    tanh_C = np.zeros((T, B, n_h), dtype=Zx.dtype)
    _initial_state((Hs, Cs), state0)
    rec = np.empty((B, 4 * n_h), dtype=Zx.dtype)
    for t in range(T):
        n = batch_sizes[t]
        z = Zx[:, t, :n]
        np.matmul(Hs[t, :n], W_h, out=rec[:n])
        z += rec[:n].reshape(n, 4, n_h).transpose(1, 0, 2)
        expit(z[:2], out=z[:2])
        np.tanh(z[2], out=z[2])
        expit(z[3], out=z[3])
        i, f, g, o = z
        np.multiply(f, Cs[t, :n], out=Cs[t + 1, :n])
        Cs[t + 1, :n] += i * g
        np.tanh(Cs[t + 1, :n], out=tanh_C[t, :n])
        np.multiply(o, tanh_C[t, :n], out=Hs[t + 1, :n])
    return Hs, {"Hs": Hs, "Cs": Cs, "gates": Zx, "tanh_C": tanh_C}


def rnn_forward_allocating(Zx, params, state0, batch_sizes, activation="tanh", ws=None):
    """Vanilla forward that makes a new state array every step and stacks them."""
    W_h, Z = params["W_h"], Zx[0]
    hs = [np.zeros(Z.shape[1:], Z.dtype) if state0 is None else state0[0]]
    for t in range(Z.shape[0]):
        n = batch_sizes[t]
        h = hs[-1].copy()
        h[:n] = np.tanh(hs[-1][:n] @ W_h + Z[t, :n])
        hs.append(h)
    Hs = np.stack(hs)
    return Hs, {"Hs": Hs}


def rnn_backward_allocating(dHs, params, cache, batch_sizes, activation="tanh", ws=None):
    """Vanilla BPTT with new arrays for every intermediate and a separate dZ."""
    W_h, Hs = params["W_h"], cache["Hs"]
    dZ = np.zeros_like(dHs)
    dh_next = np.zeros_like(dHs[0])
    for t in range(dHs.shape[0] - 1, -1, -1):
        n = batch_sizes[t]
        da = (dHs[t, :n] + dh_next[:n]) * (1 - Hs[t + 1, :n] ** 2)
        dZ[t, :n] = da
        if t:  # as skrnn, no dL/dh_0
            dh_next = dh_next.copy()
            dh_next[:n] = da @ W_h.T
    return dZ[None], {"W_h": _sum_over_steps(Hs, dZ[None])}


def rnn_forward_expressions(Zx, params, state0, batch_sizes, activation="tanh", ws=None):
    """Vanilla forward into preallocated buffers, but with temporaries (no ``out=``)."""
    W_h, Z = params["W_h"], Zx[0]
    T, B, n_h = Z.shape[0], Z.shape[1], W_h.shape[0]
    Hs = np.zeros((T + 1, B, n_h), dtype=Z.dtype)
    _initial_state((Hs,), state0)
    for t in range(T):
        n = batch_sizes[t]
        Hs[t + 1, :n] = np.tanh(Hs[t, :n] @ W_h + Z[t, :n])
    return Hs, {"Hs": Hs}


def rnn_backward_expressions(dHs, params, cache, batch_sizes, activation="tanh", ws=None):
    """Vanilla BPTT into preallocated buffers, but with temporaries (no ``out=``)."""
    W_h, Hs = params["W_h"], cache["Hs"]
    dh_next = np.zeros_like(dHs[0])
    for t in range(dHs.shape[0] - 1, -1, -1):
        n = batch_sizes[t]
        dHs[t, :n] = (dHs[t, :n] + dh_next[:n]) * (1 - Hs[t + 1, :n] * Hs[t + 1, :n])
        if t:  # as skrnn, no dL/dh_0
            dh_next[:n] = dHs[t, :n] @ W_h.T
    return dHs[None], {"W_h": _sum_over_steps(Hs, dHs[None])}


def sum_over_steps_per_step(Hs, dZ):
    """dW_h = sum_t h_{t-1}^T dZ_t, one small product per step (dZ gate-major)."""
    G, T, _, H = dZ.shape
    dW = np.zeros((Hs.shape[2], G * H), dtype=dZ.dtype)
    for t in range(T):
        dW += Hs[t].T @ dZ[:, t].transpose(1, 0, 2).reshape(-1, G * H)
    return dW


def project_onehot(x, W_x, b, index, scale, out):
    """Input projection as a product with explicit one-hot rows."""
    if not index:
        return _PROJECT(x, W_x, b, index, scale, out)
    T, B = x.shape
    G, H = out.shape[0], out.shape[3]
    onehot = np.zeros((T * B, W_x.shape[0]), dtype=W_x.dtype)
    onehot[np.arange(T * B), x.reshape(-1)] = 1
    Zx = onehot @ W_x + b
    if scale is not None:
        Zx *= scale
    out[...] = Zx.reshape(T, B, G, H).transpose(2, 0, 1, 3)
    return out


def scatter_onehot(ids, dZ3, n_inputs, ws=None):
    """dW_x as the one-hot matrix's transpose times dZ (per gate)."""
    onehot = np.zeros((ids.size, n_inputs), dtype=dZ3.dtype)
    onehot[np.arange(ids.size), ids.reshape(-1)] = 1
    return np.concatenate([onehot.T @ dZ for dZ in dZ3], axis=1)


_PROJECT = _network._project


# The previous layout of the gated cells' arrays, kept here to measure the gate-major one:
# gates fused side by side, (T, B, G*H), so that each gate is a strided (n, H) block.


def _split(a, n_h, n_gates):
    return [a[..., k * n_h : (k + 1) * n_h] for k in range(n_gates)]


def _sum_over_steps_batch_major(Hs, dZ):
    T, B, n_h = dZ.shape[0], dZ.shape[1], Hs.shape[2]
    return Hs[:T].reshape(T * B, n_h).T @ dZ.reshape(T * B, dZ.shape[2])


def lstm_forward_batch_major(Zx, params, state0, batch_sizes, activation=None, ws=FRESH):
    """LSTM forward (gates fused in the order i, f, g, o, as PyTorch).

    ::

        [i, f, g, o] = [sig, sig, tanh, sig](x_t @ W_x + b + h_{t-1} @ W_h)
        c_t = f * c_{t-1} + i * g
        h_t = o * tanh(c_t)

    ``Zx`` (T, B, 4H) comes scaled by :func:`lstm_input_scale` and is overwritten with
    the activated gates (the cache).
    """
    T, B, n_h = Zx.shape[0], Zx.shape[1], params["W_h"].shape[0]
    dtype = Zx.dtype
    # scale * tanh(scale * a) + shift is sigma(a) on i, f, o and tanh(a) on g.
    scale = lstm_input_scale(n_h, dtype)
    shift = np.where(scale == 0.5, 0.5, 0.0).astype(dtype)
    W_h = params["W_h"] * scale  # (scale * a) = (scale * Zx) + h (W_h * scale)
    Hs = _states(ws, "Hs", T, B, n_h, dtype, batch_sizes)
    # Only real rows of Cs and tanh_C are ever read: no zeroing needed.
    Cs = ws.empty("Cs", (T + 1, B, n_h), dtype)
    tanh_C = ws.empty("tanh_C", (T, B, n_h), dtype)
    _initial_state((Hs, Cs), state0)
    rec = np.empty((B, 4 * n_h), dtype=dtype)  # h_{t-1} W_h, reused every step
    ig = np.empty((B, n_h), dtype=dtype)  # i * g, reused
    for t in range(T):
        n = batch_sizes[t]
        z = Zx[t, :n]
        np.matmul(Hs[t, :n], W_h, out=rec[:n])
        z += rec[:n]
        np.tanh(z, out=z)  # all four gates at once
        z *= scale
        z += shift
        i, f, g, o = _split(z, n_h, 4)
        c = Cs[t + 1, :n]
        np.multiply(f, Cs[t, :n], out=c)
        np.multiply(i, g, out=ig[:n])
        c += ig[:n]
        np.tanh(c, out=tanh_C[t, :n])
        np.multiply(o, tanh_C[t, :n], out=Hs[t + 1, :n])
    return Hs, {"Hs": Hs, "Cs": Cs, "gates": Zx, "tanh_C": tanh_C}


def lstm_backward_batch_major(dHs, params, cache, batch_sizes, activation=None, ws=FRESH):
    """LSTM BPTT. Returns dL/dZx (T, B, 4H) in a new buffer."""
    W_hT = _transposed(params["W_h"])
    Hs, Cs, gates, tanh_C = cache["Hs"], cache["Cs"], cache["gates"], cache["tanh_C"]
    T, B, n_h = dHs.shape
    dtype = dHs.dtype
    # Through the gate nonlinearities at once: y = scale tanh(scale a) + shift has
    # dy/da = scale^2 (1 - tanh^2) = scale^2 - (y - shift)^2, which is s(1 - s) on the
    # sigmoid gates and 1 - g^2 on g.
    scale = lstm_input_scale(n_h, dtype)
    shift = np.where(scale == 0.5, 0.5, 0.0).astype(dtype)
    scale2 = scale * scale
    dZ = zero_padding(ws.empty("dZ", (T, B, 4 * n_h), dtype), batch_sizes)
    dh_next = np.zeros((B, n_h), dtype=dtype)
    dc_next = np.zeros((B, n_h), dtype=dtype)
    tmp = np.empty((B, n_h), dtype=dtype)
    tmp4 = np.empty((B, 4 * n_h), dtype=dtype)
    # Element-wise work stays inside the loop, on (n, H) slices that are still in the
    # cache: computing the factors for all steps at once before the loop was slower
    # (large strided arrays go to memory), unlike the vanilla cell's contiguous one.
    for t in range(T - 1, -1, -1):
        n = batch_sizes[t]
        y = gates[t, :n]
        i, f, g, o = _split(y, n_h, 4)
        s = tmp[:n]
        dh = dHs[t, :n]
        dh += dh_next[:n]  # total dL/dh_t
        dz = dZ[t, :n]
        di, df, dg, do = _split(dz, n_h, 4)
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
        d = tmp4[:n]
        np.subtract(y, shift, out=d)
        np.multiply(d, d, out=d)
        np.subtract(scale2, d, out=d)
        dz *= d  # dL/d pre-activations of the four gates
        if t:
            dc *= f  # dL/dc_{t-1}, carried to the previous step
            np.matmul(dz, W_hT, out=dh_next[:n])
    grads = {"W_h": _sum_over_steps_batch_major(Hs, dZ)}
    return dZ, grads


def gru_forward_batch_major(Zx, params, state0, batch_sizes, activation=None, ws=FRESH):
    """GRU forward (gates fused in the order r, z, n, as PyTorch).

    ::

        r = sig(x_t W_xr + b_r + h_{t-1} W_hr)
        z = sig(x_t W_xz + b_z + h_{t-1} W_hz)
        n = tanh(x_t W_xn + b_n + r * (h_{t-1} W_hn + b_hn))
        h_t = (1 - z) * n + z * h_{t-1}

    ``Zx`` (T, B, 3H) comes scaled by :func:`gru_input_scale` and is overwritten with
    the activated gates r, z, n.
    """
    b_hn = params["b_hn"]
    T, B, n_h = Zx.shape[0], Zx.shape[1], params["W_h"].shape[0]
    dtype = Zx.dtype
    W_h = params["W_h"] * gru_input_scale(n_h, dtype)  # r and z columns halved
    Hs = _states(ws, "Hs", T, B, n_h, dtype, batch_sizes)
    HN = ws.empty("HN", (T, B, n_h), dtype)  # h_{t-1} W_hn + b_hn (real rows only)
    _initial_state((Hs,), state0)
    rec = np.empty((B, 3 * n_h), dtype=dtype)
    tmp = np.empty((B, n_h), dtype=dtype)
    for t in range(T):
        n = batch_sizes[t]
        zx = Zx[t, :n]
        h_prev = Hs[t, :n]
        np.matmul(h_prev, W_h, out=rec[:n])
        rz = zx[:, : 2 * n_h]
        rz += rec[:n, : 2 * n_h]
        np.tanh(rz, out=rz)  # sigma(a) = 0.5 tanh(0.5 a) + 0.5, r and z together
        rz *= 0.5
        rz += 0.5
        r, z, nn = _split(zx, n_h, 3)
        hn = HN[t, :n]
        np.add(rec[:n, 2 * n_h :], b_hn, out=hn)
        np.multiply(r, hn, out=tmp[:n])
        nn += tmp[:n]
        np.tanh(nn, out=nn)
        h = Hs[t + 1, :n]
        np.subtract(h_prev, nn, out=h)  # h_t = n + z * (h_{t-1} - n)
        h *= z
        h += nn
    return Hs, {"Hs": Hs, "gates": Zx, "HN": HN}


def gru_backward_batch_major(dHs, params, cache, batch_sizes, activation=None, ws=FRESH):
    """GRU BPTT. Returns dL/dZx (T, B, 3H); grads of W_h and b_hn.

    The recurrent product ``rec = h_{t-1} W_h + [0, 0, b_hn]`` and the input
    projection ``Zx`` share the r and z columns of their gradient and differ in the
    n columns (``pre_n = Zx_n + r * rec_n``, so ``dL/d rec_n = r * dL/d pre_n``). One
    buffer ``dREC`` holds ``[dr, dz, d rec_n]`` for the recurrent products during the
    loop, and its n columns are replaced by ``dL/d pre_n`` at the end to become
    ``dZx``: no per-step copy to assemble the product's operand.
    """
    W_hT = _transposed(params["W_h"])
    Hs, gates, HN = cache["Hs"], cache["gates"], cache["HN"]
    T, B, n_h = dHs.shape
    dtype = dHs.dtype
    dREC = zero_padding(ws.empty("dREC", (T, B, 3 * n_h), dtype), batch_sizes)
    dN = zero_padding(ws.empty("dN", (T, B, n_h), dtype), batch_sizes)  # dL/d pre-act. n
    dh_next = np.zeros((B, n_h), dtype=dtype)
    tmp = np.empty((B, n_h), dtype=dtype)
    tmp2 = np.empty((B, 2 * n_h), dtype=dtype)
    for t in range(T - 1, -1, -1):
        n = batch_sizes[t]
        y = gates[t, :n]
        r, z, nn = _split(y, n_h, 3)
        s = tmp[:n]
        dh = dHs[t, :n]
        dh += dh_next[:n]  # total dL/dh_t
        drec = dREC[t, :n]
        dr, dz, drec_n = _split(drec, n_h, 3)
        dn = dN[t, :n]
        np.subtract(1, z, out=s)  # h = (1 - z) n + z h_prev
        np.multiply(dh, s, out=dn)
        np.multiply(nn, nn, out=s)  # through tanh: 1 - n^2
        np.subtract(1, s, out=s)
        dn *= s
        np.subtract(Hs[t, :n], nn, out=dz)
        dz *= dh
        np.multiply(dn, r, out=drec_n)
        np.multiply(dn, HN[t, :n], out=dr)
        d = tmp2[:n]  # through the sigmoids of r and z together: s (1 - s)
        np.subtract(1, y[:, : 2 * n_h], out=d)
        d *= y[:, : 2 * n_h]
        drec[:, : 2 * n_h] *= d
        if t:
            np.matmul(drec, W_hT, out=dh_next[:n])
            np.multiply(dh, z, out=s)  # the direct path z * h_prev
            dh_next[:n] += s
    grads = {"W_h": _sum_over_steps_batch_major(Hs, dREC),
             "b_hn": dREC[:, :, 2 * n_h :].reshape(T * B, n_h).sum(axis=0)}
    dREC[:, :, 2 * n_h :] = dN  # now dL/dZx
    return dREC, grads


BATCH_MAJOR = {"lstm": (lstm_forward_batch_major, lstm_backward_batch_major),
               "gru": (gru_forward_batch_major, gru_backward_batch_major)}


def _cell_pass(forward, backward, p, Zx0, dH0, batch_sizes):
    """A callable running one forward and backward pass of a cell on copies of ``Zx0``
    and ``dH0`` (the cell overwrites its inputs), with a workspace as fit has it."""
    ws, zx, dh = Workspace(), np.empty_like(Zx0), np.empty_like(dH0)

    def run():
        np.copyto(zx, Zx0)
        np.copyto(dh, dH0)
        _, cache = forward(zx, p, None, batch_sizes, None, ws)
        return backward(dh, p, cache, batch_sizes, None, ws)

    return run


def _gate_layout(w):
    """A gated cell's forward and backward pass at the step's shapes: gate-major arrays
    (G, T, B, H), as skrnn has them, vs batch-major (T, B, G*H) ones (a component timing:
    the cells alone, each given its input in its own layout)."""
    cell = CELLS[w.cell]
    G, H, B, T = cell.n_gates, w.hidden, w.batch, w.steps
    rng = np.random.default_rng(0)
    f32 = np.float32
    Zx_bm = (rng.standard_normal((T, B, G * H)) * 0.5).astype(f32)
    Zx_gm = np.ascontiguousarray(Zx_bm.reshape(T, B, G, H).transpose(2, 0, 1, 3))
    dH = (rng.standard_normal((T, B, H)) * 0.1).astype(f32)
    p = {"W_h": (rng.standard_normal((H, G * H)) / np.sqrt(H)).astype(f32),
         "b_hn": np.zeros(H, f32)}
    batch_sizes = [B] * T
    return (_cell_pass(cell.forward, cell.backward, p, Zx_gm, dH, batch_sizes),
            _cell_pass(*BATCH_MAJOR[w.cell], p, Zx_bm, dH, batch_sizes))


def _thread_split(w):
    """A gated cell's forward and backward pass over the whole batch at BLAS's thread
    count, as skrnn runs it, vs the batch split in two halves run by two Python threads
    at one BLAS thread each (data parallelism over the two cores; a component timing of
    the cell alone). A step is a few dozen small NumPy calls, and the Python work around
    each runs under the GIL, which is the likely reason the threads gain nothing.
    """
    from concurrent.futures import ThreadPoolExecutor

    from threadpoolctl import ThreadpoolController

    cell = CELLS[w.cell]
    G, H, B, T = cell.n_gates, w.hidden, w.batch, w.steps
    rng = np.random.default_rng(0)
    f32 = np.float32
    Zx = (rng.standard_normal((G, T, B, H)) * 0.5).astype(f32)
    dH = (rng.standard_normal((T, B, H)) * 0.1).astype(f32)
    p = {"W_h": (rng.standard_normal((H, G * H)) / np.sqrt(H)).astype(f32),
         "b_hn": np.zeros(H, f32)}

    def rows(start, stop):
        return _cell_pass(cell.forward, cell.backward, p,
                          np.ascontiguousarray(Zx[:, :, start:stop]),
                          np.ascontiguousarray(dH[:, start:stop]), [stop - start] * T)

    first, second = rows(0, B // 2), rows(B // 2, B)
    pool = ThreadPoolExecutor(1)
    controller = ThreadpoolController()

    def split():
        with controller.limit(limits=1, user_api="blas"):
            other = pool.submit(first)
            second()
            other.result()

    return rows(0, B), split


class PerParameterOptimizer:
    """skrnn's optimizer before packing: the L2 term, clipping and Adam one parameter
    array at a time, with a temporary for every intermediate. Same interface and
    arithmetic as ``_optimizers.Optimizer`` (Adam only; the global norm and the L2
    penalty are summed per array)."""

    def __init__(self, solver, params, state, hyper, decayed=()):
        assert solver == "adam"
        self.hyper = hyper
        self.params = {k: v.copy() for k, v in params.items()}
        self.state = {"t": state["t"], "m": {k: v.copy() for k, v in state["m"].items()},
                      "v": {k: v.copy() for k, v in state["v"].items()}}
        self.decayed = list(decayed)
        self.grads = None

    @property
    def vector(self):
        """What fit checks for non-finite weights after an epoch: here one sum per array
        (finite exactly when the array is, short of an overflow at ~1e38), not a copy."""
        return np.array([np.add.reduce(w, axis=None) for w in self.params.values()])

    def gradient(self, grads):
        self.grads = grads
        return grads

    def weight_decay(self, scale):
        """The L2 penalty's gradient added one weight array at a time."""
        total = 0.0
        for k in self.decayed:
            W = self.params[k]
            total += float(np.vdot(W, W))
            self.grads[k] += scale * W
        return total

    def step(self, grads, clip_norm=None):
        norm = float(np.sqrt(sum(float(np.vdot(g, g)) for g in grads.values())))
        if clip_norm is not None and norm > clip_norm:
            for g in grads.values():
                g *= clip_norm / norm
        self.state["t"] += 1
        t, hp = self.state["t"], self.hyper
        b1, b2, eps = float(hp["beta_1"]), float(hp["beta_2"]), float(hp["epsilon"])
        lr = float(hp["learning_rate"]) * float(np.sqrt(1 - b2**t)) / (1 - b1**t)
        for k, w in self.params.items():
            g, m, v = grads[k], self.state["m"][k], self.state["v"][k]
            m *= b1
            m += (1 - b1) * g
            v *= b2
            v += (1 - b2) * (g * g)
            w -= lr * m / (np.sqrt(v) + eps)
        return norm


def log_softmax_scipy(logits):
    return logits - logsumexp(logits, axis=-1, keepdims=True)


# --------------------------------------------------------------------------- the rows


def _step_pair(w, patches=(), cell=None, dtype=np.float32):
    """(optimised step, step with ``patches`` / a replaced cell / another dtype)."""
    base = SkrnnStep(w)
    other = SkrnnStep(w, dtype=dtype)
    if cell is not None:
        other.net.cell = cell
    return base, under(patches, other)


def _fresh_arrays(w):
    """The step with its workspace (as fit runs it) vs new arrays every step."""
    base, other = SkrnnStep(w), SkrnnStep(w)
    other.workspace = None
    return base, other


def _vanilla(forward, backward):
    return Cell("rnn", 1, forward, backward, 1)


def _fused_products(w):
    """Recurrent products of T steps forward and backward: fused vs one per gate."""
    rng = np.random.default_rng(0)
    G, H, B, T = 4, w.hidden, w.batch, w.steps
    W_h = rng.standard_normal((H, G * H)).astype(np.float32)
    W_hT = np.ascontiguousarray(W_h.T)
    blocks = [np.ascontiguousarray(W_h[:, k * H : (k + 1) * H]) for k in range(G)]
    blocks_T = [np.ascontiguousarray(b.T) for b in blocks]
    h = rng.standard_normal((B, H)).astype(np.float32)
    dz = rng.standard_normal((B, G * H)).astype(np.float32)
    rec = np.empty((B, G * H), np.float32)
    dh = np.empty((B, H), np.float32)
    parts = [np.empty((B, H), np.float32) for _ in range(G)]
    dz_blocks = [np.ascontiguousarray(dz[:, k * H : (k + 1) * H]) for k in range(G)]

    def fused():
        for _ in range(T):
            np.matmul(h, W_h, out=rec)
        for _ in range(T):
            np.matmul(dz, W_hT, out=dh)

    def per_gate():
        for _ in range(T):
            for k in range(G):
                np.matmul(h, blocks[k], out=parts[k])
        for _ in range(T):
            np.matmul(dz_blocks[0], blocks_T[0], out=dh)
            for k in range(1, G):
                np.matmul(dz_blocks[k], blocks_T[k], out=parts[k])
                np.add(dh, parts[k], out=dh)  # dh_{t-1} = sum over gates

    return fused, per_gate


def _fit_pair(w, patches):
    X, y = fit_data(w)

    def fit():
        est = skrnn_fit_estimator(w)
        with warnings.catch_warnings():
            warnings.simplefilter("ignore", ConvergenceWarning)
            return est.fit(X, y)

    return fit, under(patches, fit)


M2O = {H: Step(f"m2o-rnn-{H}", "rnn", H, 64, 64, 50) for H in (32, 128, 512)}
LSTM = Step("m2o-lstm-128", "lstm", 128, 64, 64, 50)
GRU = Step("m2o-gru-128", "gru", 128, 64, 64, 50)
BIG_VOCAB = Step("m2o-rnn-128-v5000", "rnn", 128, 5000, 64, 50)


def ablations(quick=False):
    """name -> (description, workload, factory of the (with, without) callables)."""
    n_fit = 512 if quick else 2048
    fit32 = Fit("fit-rnn-32", "rnn", 32, 64, n_fit, 50, 10)
    fit128 = Fit("fit-rnn-128", "rnn", 128, 64, n_fit, 50, 10)
    tiny = Fit("fit-rnn-64-tiny", "rnn", 64, 30, 64, 8, 3, epochs=40)
    gru64 = Fit("fit-gru-64", "gru", 64, 64, n_fit, 50, 10)  # 64 x 64 x 192 per step
    gather = [(_network, "_project", project_onehot),
              (_network, "_scatter_rows", scatter_onehot)]
    rows = {
        "sigmoid": ("gates by one tanh (vs scipy expit)", LSTM,
                    lambda w: _step_pair(w, cell=Cell("lstm", 4, lstm_forward_expit,
                                                      _cells.lstm_backward, 2))),
        "fused-gates": ("one (H, 4H) recurrent product per step (vs 4 x (H, H))", LSTM,
                        _fused_products),
        "gate-major": ("gate arrays (G, T, B, H) (vs (T, B, G*H)), GRU cell", GRU,
                       _gate_layout),
        "gate-major-lstm": ("the same, LSTM cell", LSTM, _gate_layout),
        "one-thread-per-batch": ("whole batch at BLAS's threads (vs halves in 2 threads)",
                                 LSTM, _thread_split),
        "gather": ("row gather / sparse scatter for ids (vs one-hot products)", M2O[128],
                   lambda w: _step_pair(w, gather)),
        "gather-v5000": ("the same at 5,000 symbols", BIG_VOCAB,
                         lambda w: _step_pair(w, gather)),
        "one-product-dW": ("dW_h in one product over all steps (vs one per step)", M2O[128],
                           lambda w: _step_pair(w, [(_cells, "_sum_over_steps",
                                                     sum_over_steps_per_step)])),
        "one-product-dW-lstm": ("the same, LSTM", LSTM,
                                lambda w: _step_pair(w, [(_cells, "_sum_over_steps",
                                                          sum_over_steps_per_step)])),
        "workspace": ("step arrays reused across minibatches (vs new each step), LSTM",
                      LSTM, _fresh_arrays),
        "workspace-gru": ("the same, GRU", GRU, _fresh_arrays),
        "workspace-128": ("the same, vanilla H=128", M2O[128], _fresh_arrays),
        "buffers": ("preallocated (T, B, H) buffers (vs new arrays per step)", M2O[32],
                    lambda w: _step_pair(w, cell=_vanilla(rnn_forward_allocating,
                                                          rnn_backward_allocating))),
        "buffers-128": ("the same, H=128", M2O[128],
                        lambda w: _step_pair(w, cell=_vanilla(rnn_forward_allocating,
                                                              rnn_backward_allocating))),
        "in-place": ("element-wise work with out= (vs temporaries)", M2O[32],
                     lambda w: _step_pair(w, cell=_vanilla(rnn_forward_expressions,
                                                           rnn_backward_expressions))),
        "contiguous-WT": ("contiguous copy of W_h.T (vs transposed view)", LSTM,
                          lambda w: _step_pair(w, [(_cells, "_transposed", lambda W: W.T)])),
        "float32": ("float32 (vs float64)", M2O[512],
                    lambda w: _step_pair(w, dtype=np.float64)),
        "float32-lstm": ("float32 (vs float64), LSTM", LSTM,
                         lambda w: _step_pair(w, dtype=np.float64)),
        "log-softmax": ("log-softmax in NumPy (vs scipy logsumexp)", M2O[32],
                        lambda w: _step_pair(w, [(_network, "log_softmax",
                                                  log_softmax_scipy)])),
        "validation": ("validate once per fit (vs every minibatch), 16 float features",
                       fit32, _validation_pair),
        "packed-optimizer": ("optimizer on one packed vector (vs per parameter), small fit",
                             tiny, lambda w: _fit_pair(w, [(_optimizers, "Optimizer",
                                                            PerParameterOptimizer)])),
        "packed-optimizer-32": ("the same, fit-rnn-32", fit32,
                                lambda w: _fit_pair(w, [(_optimizers, "Optimizer",
                                                         PerParameterOptimizer)])),
        "blas-threads": ("one BLAS thread for a small model's fit (vs BLAS's count)",
                         fit32, lambda w: _fit_pair(w, [(_base, "_SMALL_STEP_PRODUCT", 0)])),
        "blas-threads-786k": ("BLAS's threads for a fit at 786k per step (vs one thread)",
                              gru64, lambda w: _fit_pair(w, [(_base, "_SMALL_STEP_PRODUCT",
                                                              2**62)])),
        "buckets": ("length buckets of 8 batches (not the default: see quality)", fit128,
                    lambda w: _fit_pair(w, [(RNNClassifier, "_bucket_pool", 8)])[::-1]),
    }
    return rows


def _validation_pair(w):
    """Fit as is, and a fit whose every minibatch is validated again from the raw input.

    On float sequences with 16 features (NaN end-padded), where validation has the most
    to check (finite values, whole-step NaN padding, padding only at the end).
    """
    rng = np.random.default_rng(0)
    X = rng.standard_normal((w.n_samples, w.steps, 16)).astype(np.float32)
    lengths = rng.integers(w.min_len, w.steps + 1, size=w.n_samples)
    X[np.arange(w.steps)[None, :] >= lengths[:, None]] = np.nan
    y = rng.integers(0, 2, size=w.n_samples)

    def revalidated(self, train, rng):
        seqs, b_y, b_w, idx = train
        size = self._batch_size(len(idx))
        for b in length_bucketed_batches(seqs.lengths, idx, size, rng, self._bucket_pool):
            batch = check_sequences(X[b], n_features=seqs.n_features)
            yield (batch.take(np.arange(len(b))), b_y[b], None if b_w is None else b_w[b],
                   None, None)

    def fit():
        est = skrnn_fit_estimator(w)
        with warnings.catch_warnings():
            warnings.simplefilter("ignore", ConvergenceWarning)
            return est.fit(X, y)

    return fit, under([(RNNClassifier, "_iter_batches", revalidated)], fit)


def bucket_quality(seeds=4, max_iter=60):
    """Test R^2 of RNNRegressor on a length-dependent target, plain vs bucketed batches.

    The task of ``tests/test_regressor.py``: univariate sequences of 1 to 10 steps whose
    target is their sum and their last value.
    """
    rng = np.random.RandomState(0)

    def task(n):
        lengths = rng.randint(1, 11, size=n)
        seqs = [rng.uniform(-1, 1, size=(k, 1)) for k in lengths]
        X = pad_sequences(seqs, max_len=10, dtype=np.float32)
        return X, np.column_stack([[s.sum() for s in seqs], [s[-1, 0] for s in seqs]])

    X_train, y_train = task(300)
    X_test, y_test = task(200)
    scores = {}
    for pool in (1, 8):
        with patched(RNNRegressor, "_bucket_pool", pool), warnings.catch_warnings():
            warnings.simplefilter("ignore", ConvergenceWarning)
            scores[pool] = [
                float(RNNRegressor(cell="gru", hidden_layer_sizes=(16,), max_iter=max_iter,
                                   random_state=s).fit(X_train, y_train)
                      .score(X_test, y_test)) for s in range(seeds)]
    return {"task": "ragged sums, GRU H=16, 60 epochs, test R^2 per random_state",
            "plain": scores[1], "buckets_of_8": scores[8]}


# Rows timed in a new interpreter: what they measure depends on the process's history.
# glibc serves a large request with fresh pages from the OS (page faults on first write)
# until a freed block raises its adaptive mmap threshold above the request's size; in a
# process that has already freed larger arrays (this one, after the rows before it),
# new arrays cost no faults and the workspace has nothing to save.
FRESH_PROCESS = ("workspace", "workspace-gru", "workspace-128")


def _minor_faults():
    import resource

    return resource.getrusage(resource.RUSAGE_SELF).ru_minflt


def _in_fresh_process(name, quick, rounds):
    import subprocess
    import tempfile

    with tempfile.TemporaryDirectory() as tmp:
        path = Path(tmp) / "row.json"
        cmd = [sys.executable, str(Path(__file__).resolve()), "--only", name, "--json",
               str(path), "--in-process", "--threads", str(blas_threads() or 1)]
        if quick:
            cmd.append("--quick")
        if rounds:
            cmd += ["--rounds", str(rounds)]
        subprocess.run(cmd, check=True, capture_output=True, text=True)
        return json.loads(path.read_text())["rows"][0]


def run(quick=False, only=None, rounds=None, settle=0.05, in_process=False):
    rows = ablations(quick)
    results = []
    for name, (description, w, factory) in rows.items():
        if only and name not in only:
            continue
        if name in FRESH_PROCESS and not in_process:
            results.append(_in_fresh_process(name, quick, rounds))
            print(format_row(results[-1]), flush=True)
            continue
        with_opt, without = factory(w)
        n_rounds = rounds or ((3 if quick else 7) if w.kind == "fit" else (7 if quick else 15))
        times = interleaved({"with": with_opt, "without": without}, rounds=n_rounds,
                            settle=settle, min_time=0 if w.kind == "fit" else 0.05,
                            warmup=1 if w.kind == "fit" else 2)
        results.append({
            "name": name, "description": description, "workload": w.name,
            "with": time_stats(times["with"]), "without": time_stats(times["without"]),
            "speedup": ratio_stats(times["without"], times["with"]),
        })
        if name in FRESH_PROCESS:
            for side, fn in (("with", with_opt), ("without", without)):
                before = _minor_faults()
                for _ in range(10):
                    fn()
                results[-1][f"page_faults_per_call_{side}"] = (_minor_faults() - before) / 10
        print(format_row(results[-1]), flush=True)
    out = {"rows": results, "threads": blas_threads()}
    if not only or "buckets" in only:
        out["bucket_quality"] = bucket_quality(seeds=2 if quick else 4)
        print("bucket quality:", json.dumps(out["bucket_quality"]), flush=True)
    return out


HEADER = f"{'ablation':<20} {'workload':<18} {'with ms':>9} {'without ms':>10} {'gain':>17}"


def format_row(r):
    row = (f"{r['name']:<20} {r['workload']:<18} {r['with']['median'] * 1e3:>9.2f} "
           f"{r['without']['median'] * 1e3:>10.2f} {fmt_ratio(r['speedup']):>17}")
    if "page_faults_per_call_with" in r:
        row += (f"  (new process; page faults per step {r['page_faults_per_call_with']:.0f}"
                f" vs {r['page_faults_per_call_without']:.0f})")
    return row


def main(argv=None):
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--quick", action="store_true")
    parser.add_argument("--only", nargs="*", default=None)
    parser.add_argument("--rounds", type=int, default=None)
    parser.add_argument("--threads", type=int, default=None,
                        help="force BLAS to this many threads (default: BLAS's own)")
    parser.add_argument("--json", type=Path, default=None)
    parser.add_argument("--in-process", action="store_true",
                        help="time the rows of FRESH_PROCESS here, not in a new interpreter")
    args = parser.parse_args(argv)
    limiter = None
    if args.threads is not None:
        from threadpoolctl import threadpool_limits

        limiter = threadpool_limits(limits=args.threads, user_api="blas")
    print(f"# BLAS threads: {blas_threads()}")
    print(HEADER)
    out = run(args.quick, args.only, args.rounds, in_process=args.in_process)
    if args.json:
        args.json.write_text(json.dumps(out, indent=1))
    del limiter
    return out


if __name__ == "__main__":
    main()
