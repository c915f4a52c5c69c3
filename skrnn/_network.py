"""A stack of recurrent layers over a padded batch, its BPTT backward pass, and loss heads.

This module knows nothing of scikit-learn. Parameters live in a plain ``dict``
of named arrays (``"l0.W_x"``, ``"l0.W_h"``, ``"l0.b"``, ``"l0r.W_x"`` for the
reversed direction of layer 0, ..., ``"W_y"``, ``"b_y"``) so that an estimator
can store them as they are.

Data flow of :meth:`RecurrentNetwork.forward`::

    x (B, T[, F]) --transpose--> time-major (T, B, .)
      layer l, each direction d:
        Zx = x @ W_x + b           all steps at once (a row gather for ids), (G, T, B, H)
        [reverse each sample's real steps, if d is the reversed direction]
        Hs = cell.forward(Zx)      loop over time only, batch sorted by length
        [un-reverse]
      x <- concat of the directions' outputs
    head: many-to-one   logits = pool(h) @ W_y + b_y   (B, C)
                        pool: the final state ("last"), or the mean or max of the
                        top layer's outputs over each sample's real steps
          many-to-many  logits = h_t @ W_y + b_y       (B, T, C)

Samples are sorted by decreasing length inside :meth:`forward` (and put back in
the caller's order on the way out) so that, at step ``t``, the samples with a
real step are a leading block of rows: see :mod:`skrnn._cells`.
"""

from bisect import bisect_right

import numpy as np
import scipy.sparse as sp

from . import _tuning
from ._cells import CELLS
from ._workspace import FRESH, zero_padding

HEADS = ("many_to_one", "many_to_many")
POOLINGS = ("last", "mean", "max")


class RecurrentNetwork:
    """Architecture of a recurrent network: what to compute, not the weights.

    Parameters
    ----------
    cell : {"rnn", "lstm", "gru"}
    n_inputs : int
        Features per step (the vocabulary size for token-id input).
    hidden_sizes : tuple of int
        Units of each stacked layer.
    n_outputs : int
        Width of the output layer (classes, or regression targets).
    activation : {"tanh", "relu"}
        Nonlinearity of the vanilla cell (gated cells have their own).
    bidirectional : bool
        Add a reversed direction to every layer; outputs are concatenated.
    head : {"many_to_one", "many_to_many"}
        Output from the whole sequence, or at every step.
    pooling : {"last", "mean", "max"}
        What the many-to-one head reads: the final state of each direction, or the
        mean or the elementwise max of the top layer's outputs over the real steps.
    """

    def __init__(self, cell, n_inputs, hidden_sizes, n_outputs, activation="tanh",
                 bidirectional=False, head="many_to_one", pooling="last"):
        self.cell = CELLS[cell]
        self.n_inputs = int(n_inputs)
        self.hidden_sizes = tuple(int(h) for h in hidden_sizes)
        self.n_outputs = int(n_outputs)
        self.activation = activation
        self.bidirectional = bool(bidirectional)
        if head not in HEADS:
            raise ValueError(f"head must be one of {HEADS}, got {head!r}.")
        if pooling not in POOLINGS:
            raise ValueError(f"pooling must be one of {POOLINGS}, got {pooling!r}.")
        self.head = head
        self.pooling = pooling

    @property
    def directions(self):
        return ("", "r") if self.bidirectional else ("",)

    def layer_names(self):
        """Names of the (layer, direction) units, bottom to top: 'l0', 'l0r', 'l1', ..."""
        return [f"l{k}{d}" for k in range(len(self.hidden_sizes)) for d in self.directions]

    def init_params(self, rng, dtype=np.float32):
        """Initial weights.

        ``W_x`` follows PyTorch's uniform(-1/sqrt(H), 1/sqrt(H)); the biases start at
        zero;
        ``W_h`` is orthogonal per gate block, which keeps a vanilla cell's
        gradient from vanishing or exploding early; the LSTM forget-gate bias
        starts at 1 so that the cell remembers by default.
        """
        params = {}
        n_dirs = len(self.directions)
        n_in = self.n_inputs
        G = self.cell.n_gates
        for k, H in enumerate(self.hidden_sizes):
            bound = 1.0 / np.sqrt(H)
            for d in self.directions:
                name = f"l{k}{d}"
                params[name + ".W_x"] = rng.uniform(-bound, bound, (n_in, G * H))
                blocks = [_orthogonal(rng, H) for _ in range(G)]
                params[name + ".W_h"] = np.concatenate(blocks, axis=1)
                b = np.zeros(G * H)
                if self.cell.name == "lstm":
                    b[H : 2 * H] = 1.0
                params[name + ".b"] = b
                if "b_hn" in self.cell.extra_params:
                    params[name + ".b_hn"] = np.zeros(H)
            n_in = H * n_dirs
        bound = np.sqrt(6.0 / (n_in + self.n_outputs))  # Glorot uniform
        params["W_y"] = rng.uniform(-bound, bound, (n_in, self.n_outputs))
        params["b_y"] = np.zeros(self.n_outputs)
        return {k: v.astype(dtype) for k, v in params.items()}

    def weight_names(self, params):
        """Parameters that L2 regularisation applies to (weights, not biases)."""
        keys = tuple(params)
        cached = getattr(self, "_weight_names", None)
        if cached is None or cached[0] != keys:  # asked at every minibatch: kept
            cached = (keys, [k for k in keys if k.split(".")[-1] in ("W_x", "W_h", "W_y")])
            self._weight_names = cached
        return cached[1]

    # ------------------------------------------------------------------ forward

    def forward(self, params, seqs, state0=None, return_cache=False, workspace=None):
        """Logits for a batch of :class:`skrnn._validation.Sequences`.

        Returns ``logits`` ((B, C) or (B, T, C)), the final states of every
        layer (dict name -> tuple of (B, H)), and a cache for :meth:`backward`
        when ``return_cache``. With a :class:`skrnn._workspace.Workspace`, the arrays
        over all steps (the cache) are views of its buffers, valid until the next call
        with the same workspace; the returned logits and states are always new arrays.
        """
        ws = FRESH if workspace is None else workspace
        data, lengths = seqs.data, np.asarray(seqs.lengths)
        B = data.shape[0]
        dtype = params["W_y"].dtype
        # The minibatches of fit come sorted already (see length_bucketed_batches). Python
        # lists: a minibatch's lengths are a few dozen ints, and sorting sorted input is
        # one linear pass.
        as_list = lengths.tolist()
        identity = as_list == sorted(as_list, reverse=True)
        order = None
        if not identity:
            order = np.argsort(-lengths, kind="stable")
            data, lengths = data[order], lengths[order]
            if state0 is not None:
                state0 = {k: tuple(s[order] for s in v) for k, v in state0.items()}
        T = data.shape[1]
        batch_sizes = _batch_sizes(lengths if order is not None else as_list, T)
        rev = _reversal_index(lengths, T) if self.bidirectional else None

        # time-major copy: each step's rows are then contiguous
        x = np.ascontiguousarray(data.T if seqs.kind == "index" else data.transpose(1, 0, 2))
        cache = {"layers": [], "order": order, "identity": identity, "lengths": lengths,
                 "batch_sizes": batch_sizes, "rev": rev, "kind": seqs.kind, "T": T,
                 "ws": ws}
        final_states = {}
        for k in range(len(self.hidden_sizes)):
            outs = []
            layer_cache = {"x": x}
            for d in self.directions:
                name = f"l{k}{d}"
                lws = ws.scope(name)
                H, G = self.hidden_sizes[k], self.cell.n_gates
                scale = None if self.cell.input_scale is None else self.cell.input_scale(H, dtype)
                Zx = _project(x, params[name + ".W_x"], params[name + ".b"],
                              index=(k == 0 and seqs.kind == "index"), scale=scale,
                              out=lws.empty("Zx", (G, T, B, H), dtype))
                if d == "r":
                    Zx = _reverse(Zx, rev, gate_major=True)
                p = self._cell_params(params, name)
                Hs, cell_cache = self.cell.forward(Zx, p, None if state0 is None else
                                                   state0[name], batch_sizes,
                                                   self.activation, lws)
                final_states[name] = _final_states(cell_cache, lengths)
                out = Hs[1:]
                if d == "r":
                    out = _reverse(out, rev)
                outs.append(out)
                layer_cache[name] = cell_cache
            x = outs[0] if len(outs) == 1 else np.concatenate(outs, axis=2)
            cache["layers"].append(layer_cache)

        logits, cache["feats"] = self._head_forward(params, x, final_states, lengths, cache)
        if not identity:
            inverse = np.empty_like(order)
            inverse[order] = np.arange(B)
            logits = logits[inverse]
            final_states = {k: tuple(s[inverse] for s in v) for k, v in final_states.items()}
        return (logits, final_states, cache) if return_cache else (logits, final_states)

    def _cell_params(self, params, name):
        """The recurrent parameters of unit ``name`` that its cell reads, by cell name."""
        p = {"W_h": params[name + ".W_h"]}
        for extra in self.cell.extra_params:
            p[extra] = params[name + "." + extra]
        return p

    def _head_forward(self, params, x, final_states, lengths, cache=None):
        """(logits, features): the output layer on the top layer's outputs ``x`` (T, B, D).

        ``lengths`` are the (sorted) samples' real steps; a pooling head keeps what its
        backward pass needs in ``cache``.
        """
        W_y, b_y = params["W_y"], params["b_y"]
        if self.head == "many_to_one" and self.pooling != "last":
            feats = _pool_forward(x, lengths, self.pooling, cache)
            return np.dot(feats, W_y) + b_y, feats
        if self.head == "many_to_one":
            # h_final = Hs[len_i] of each direction (Hs[0] = h_0 for an empty sequence)
            k = len(self.hidden_sizes) - 1
            top = [final_states[f"l{k}{d}"][0] for d in self.directions]
            feats = top[0] if len(top) == 1 else np.concatenate(top, axis=1)
            return np.dot(feats, W_y) + b_y, feats
        T, B = x.shape[0], x.shape[1]
        logits = _unflatten(np.dot(_flatten(x), W_y) + b_y, T, B)
        return logits.transpose(1, 0, 2), x  # batch-first logits

    # ----------------------------------------------------------------- backward

    def backward(self, params, cache, dlogits, input_grad=False):
        """Gradients of every parameter given dL/dlogits (in the caller's order).

        With ``input_grad`` (dense input only), also dL/dx, the gradient of the input
        (B, T, F) in the caller's order (zero at padding): ``(grads, dx)``, for a
        model whose input is itself computed (the tagger's character encoder).
        """
        if input_grad and cache["kind"] == "index":
            raise ValueError("input_grad needs dense input: token ids have no gradient.")
        rev, ws, batch_sizes = cache["rev"], cache["ws"], cache["batch_sizes"]
        if not cache["identity"]:
            dlogits = dlogits[cache["order"]]
        grads = {}
        dx = self._head_backward(params, cache, dlogits, grads)

        index_input = cache["kind"] == "index"
        for k in range(len(self.hidden_sizes) - 1, -1, -1):
            layer_cache = cache["layers"][k]
            x = layer_cache["x"]
            H = self.hidden_sizes[k]
            dx_below = None
            for j, d in enumerate(self.directions):
                name = f"l{k}{d}"
                dHs = dx[:, :, j * H : (j + 1) * H]
                dHs = _reverse(dHs, rev) if d == "r" else np.ascontiguousarray(dHs)
                p = self._cell_params(params, name)
                dZx, cell_grads = self.cell.backward(dHs, p, layer_cache[name],
                                                     batch_sizes, self.activation,
                                                     ws.scope(name))
                if d == "r":
                    dZx = _reverse(dZx, rev, gate_major=True)
                for key, g in cell_grads.items():
                    grads[name + "." + key] = g
                need_dx = k > 0 or input_grad
                d_in = self._projection_backward(params, name, x, dZx, k == 0 and index_input,
                                                 need_dx, ws, grads)
                if need_dx:
                    dx_below = d_in if dx_below is None else dx_below + d_in
            dx = dx_below
        if not input_grad:
            return grads
        dx = dx.transpose(1, 0, 2)  # batch-first, in the sorted order
        if cache["identity"]:
            return grads, np.ascontiguousarray(dx)  # a copy: dx may be a workspace buffer
        inverse = np.empty_like(cache["order"])
        inverse[cache["order"]] = np.arange(len(inverse))
        return grads, dx[inverse]

    def _projection_backward(self, params, name, x, dZx, index_input, need_dx, ws, grads):
        """Gradients of ``Zx = x W_x + b`` from dL/dZx: sets dW_x and db of ``name``;
        returns dL/dx (T, B, F) when ``need_dx`` (a layer below), else None."""
        G, T, B, H = dZx.shape
        dZ3 = dZx.reshape(G, T * B, H)  # per gate, all steps as rows
        if index_input:
            dW_x = grads[name + ".W_x"] = _scatter_rows(x, dZ3, self.n_inputs, ws)
        else:
            dW_x = grads[name + ".W_x"] = _side_by_side(np.matmul(_flatten(x).T, dZ3))
        if index_input and self.n_inputs < T * B:
            # Every row of dZ3 went into exactly one row of dW_x (its token's), so db, the
            # sum of dZ3's rows, is the sum of dW_x's: V rows, not T*B.
            grads[name + ".b"] = np.add.reduce(dW_x, axis=0)
        else:
            grads[name + ".b"] = np.add.reduce(dZ3, axis=1).reshape(G * H)
        if not need_dx:
            return None
        # dL/dx_t = sum over gates of dZ_g W_x,g^T
        W_x = params[name + ".W_x"]
        W_xg_T = W_x.T.reshape(G, H, W_x.shape[0])  # (G, H, F) views
        per_gate = np.matmul(dZ3, W_xg_T)  # (G, T*B, F)
        d_in = ws.empty(("dx", name), (T, B, W_x.shape[0]), dZx.dtype)
        np.sum(per_gate, axis=0, out=_flatten(d_in))
        return d_in

    def _head_backward(self, params, cache, dlogits, grads):
        """dL/d(top layer outputs) (T, B, D) from dL/dlogits; sets the output layer's grads."""
        lengths, batch_sizes = cache["lengths"], cache["batch_sizes"]
        T, ws = cache["T"], cache["ws"]
        B = dlogits.shape[0]
        W_y, feats = params["W_y"], cache["feats"]
        n_top, n_dirs = self.hidden_sizes[-1], len(self.directions)
        if self.head == "many_to_one":
            grads["W_y"] = np.dot(feats.T, dlogits)
            grads["b_y"] = np.add.reduce(dlogits, axis=0)
            dfeats = np.dot(dlogits, W_y.T)  # (B, n_dirs * H)
            if self.pooling != "last":
                return _pool_backward(dfeats, cache, T, ws)
            # h_final of sample i is the forward output at step len_i - 1, and the reversed
            # direction's output at step 0 (it reads the sequence back to front): route the
            # gradient there. An empty sequence's h_final is h_0, a constant.
            dx = ws.zeros("dx", (T, B, n_dirs * n_top), dlogits.dtype)
            if B and lengths[B - 1]:  # sorted: no empty sequence (as always in fit)
                real, last = np.arange(B), lengths - 1
            else:
                real = np.flatnonzero(lengths)
                last, dfeats = lengths[real] - 1, dfeats[real]
            dx[last, real, :n_top] = dfeats[:, :n_top]
            if self.bidirectional and real.size:
                dx[0, real, n_top:] = dfeats[:, n_top:]
        else:
            dlog = _flatten(dlogits.transpose(1, 0, 2))  # time-major
            flat = _flatten(feats)
            grads["W_y"] = np.dot(flat.T, dlog)
            grads["b_y"] = dlog.sum(axis=0)
            dx = ws.empty("dx", (T, B, n_dirs * n_top), dlogits.dtype)
            np.dot(dlog, W_y.T, out=_flatten(dx))
            # A padding step's output is b_y alone (its features are zero): a loss that
            # reads it (sequence_cross_entropy does not) trains b_y, and nothing below.
            zero_padding(dx, batch_sizes, keep_real=True)
        return dx


def _pool_forward(x, lengths, pooling, cache):
    """Mean or max of ``x`` (T, B, D) over each sample's real steps: (B, D).

    An empty sequence pools to 0 (its h_0). Padding steps never count: the max is
    taken with them at -inf, and its argmax is kept for the backward pass.
    """
    T, _B, _ = x.shape
    real = np.arange(T)[:, None] < np.asarray(lengths)[None, :]  # (T, B)
    if pooling == "mean":
        scale = 1.0 / np.maximum(np.asarray(lengths), 1).astype(x.dtype)
        feats = np.add.reduce(x, axis=0) * scale[:, None]  # padding outputs are 0
        if cache is not None:
            cache["pool"] = ("mean", real, scale)
        return feats
    masked = np.where(real[:, :, None], x, -np.inf)
    arg = np.argmax(masked, axis=0)  # (B, D)
    feats = np.take_along_axis(x, arg[None], axis=0)[0]
    empty = np.asarray(lengths) == 0
    if empty.any():
        feats[empty] = 0.0
    if cache is not None:
        cache["pool"] = ("max", arg, empty)
    return feats


def _pool_backward(dfeats, cache, T, ws):
    """dL/dx (T, B, D) of the pooled features from dL/dfeats (B, D)."""
    B, D = dfeats.shape
    dx = ws.zeros("dx", (T, B, D), dfeats.dtype)
    kind, a, b = cache["pool"]
    if kind == "mean":
        real, scale = a, b
        np.multiply(real[:, :, None], (dfeats * scale[:, None])[None], out=dx)
        return dx
    arg, empty = a, b
    d = dfeats.copy()
    d[empty] = 0.0
    np.put_along_axis(dx, arg[None], d[None], axis=0)
    return dx


def _batch_sizes(lengths, T):
    """batch_sizes[t]: how many samples have a real step t, for ``lengths`` sorted in
    decreasing order (they are then a leading block of rows). A list of Python ints, read
    at every step; found by bisection, cheaper than NumPy calls on a minibatch."""
    ascending = (lengths.tolist() if isinstance(lengths, np.ndarray) else list(lengths))[::-1]
    B = len(ascending)
    return [B - bisect_right(ascending, t) for t in range(T)]


def _flatten(a):
    """(T, B, F) -> (T * B, F): all steps as the rows of one matrix, for one product.

    Shapes are spelled out (no -1) so that a batch of empty sequences (T = 0) works.
    """
    return a.reshape(a.shape[0] * a.shape[1], a.shape[2])


def _unflatten(a, T, B):
    return a.reshape(T, B, a.shape[1])


def _orthogonal(rng, n):
    q, r = np.linalg.qr(rng.standard_normal((n, n)))
    return q * np.sign(np.diag(r))  # sign fix: uniformly distributed orthogonal matrix


def _per_gate(W, n_gates):
    """(F, G*H) -> (G, F, H): the columns of each gate as a block (a copy)."""
    F, GH = W.shape
    return np.ascontiguousarray(W.reshape(F, n_gates, GH // n_gates).transpose(1, 0, 2))


def _side_by_side(per_gate):
    """(G, F, H) -> (F, G*H): gate blocks back to the fused column layout."""
    G, F, H = per_gate.shape
    return per_gate.transpose(1, 0, 2).reshape(F, G * H)


def _project(x, W_x, b, index, scale, out):
    """Input projection of all steps, ``(x_t @ W_x + b) * scale``, gate-major into ``out``.

    ``out`` is (G, T, B, H): the cells work on each gate as a contiguous block (see
    :mod:`skrnn._cells`). For token ids, x_t @ W_x with one-hot x_t is row ``x_t`` of
    ``W_x``: a gather. ``scale`` (a column scale, or None) goes on the weights.
    """
    G, H = out.shape[0], out.shape[3]
    if index and W_x.shape[0] <= x.size:
        # A small vocabulary: b (and the scale) go on the table, once, not on every row.
        table = W_x + b
        if scale is not None:
            table *= scale
        # mode="clip" lets take write straight into ``out`` (mode="raise" buffers); ids
        # are validated, and padded ids are 0, rows never read.
        return np.take(_per_gate(table, G), x, axis=1, out=out, mode="clip")
    if scale is not None:
        b = b * scale
    if index:
        # A vocabulary larger than the batch: gather the rows, then scale them.
        rows = np.take(W_x, x, axis=0, mode="clip")  # (T, B, G*H)
        if scale is not None:
            rows *= scale
        np.copyto(out, rows.reshape(rows.shape[0], rows.shape[1], G, H).transpose(2, 0, 1, 3))
    else:
        T, B = x.shape[0], x.shape[1]
        W = W_x if scale is None else W_x * scale
        np.matmul(_flatten(x), _per_gate(W, G), out=out.reshape(G, T * B, H))
    out += b.reshape(G, 1, 1, H)
    return out


def _scatter_rows(ids, dZ3, n_inputs, ws=FRESH):
    """dW_x for token-id input: X^T dZ with X the one-hot rows of ``ids``, i.e. the sum
    of the rows of ``dZ3[g]`` (T*B, H) that share an id, for every gate g; returned in
    the (V, G*H) layout of ``W_x``.

    X is built as a CSR matrix with one entry per row (its structure is just the ids, no
    sorting), and ``X.T @ dZ2`` is then a single scatter-add pass in compiled code. For
    a tiny batch, building the sparse matrix costs more than the arithmetic, and a dense
    one-hot product is used instead, its rows gathered from an identity matrix kept in
    the workspace ``ws``. Padding rows are included as they are: their id is
    0 but their gradient is exactly zero (see :mod:`skrnn._cells`), so no mask and no
    copy of ``dZ2`` is needed.
    """
    rows = ids.reshape(-1)
    G, _, H = dZ3.shape
    if rows.size * n_inputs * G * H <= _tuning.DENSE_SCATTER_LIMIT:
        eye = ws.constant(("eye", n_inputs, dZ3.dtype.str),
                          lambda: np.eye(n_inputs, dtype=dZ3.dtype))
        onehot = np.take(eye, rows, axis=0)  # (T*B, V): a gather of whole rows
        return _side_by_side(np.matmul(onehot.T, dZ3))
    onehot_T = sp.csr_matrix(
        (np.ones(rows.size, dtype=dZ3.dtype), rows, np.arange(rows.size + 1)),
        shape=(rows.size, n_inputs),
    ).T
    out = np.empty((n_inputs, G * H), dtype=dZ3.dtype)
    for g in range(G):
        out[:, g * H : (g + 1) * H] = onehot_T @ dZ3[g]
    return out


def _reversal_index(lengths, T):
    """rev[t, i]: the step read at time t by the reversed direction of sample i.

    len_i - 1 - t on real steps, t itself on padding; applying it twice is the identity,
    so the same gather reverses and un-reverses (and is its own adjoint).
    """
    t = np.arange(T)[:, None]
    return np.where(t < lengths[None, :], lengths[None, :] - 1 - t, t)


def _reverse(A, rev, gate_major=False):
    """Each sample's real steps in reverse order; ``A`` is (T, B, ...) or (G, T, B, H)."""
    if gate_major:
        return A[:, rev, np.arange(A.shape[2])[None, :]]
    return A[rev, np.arange(A.shape[1])[None, :]]


def _final_states(cell_cache, lengths):
    """State after each sample's last real step: Hs[len_i, i] (and Cs for an LSTM)."""
    cols = np.arange(len(lengths))
    states = [cell_cache["Hs"][lengths, cols]]
    if "Cs" in cell_cache:
        states.append(cell_cache["Cs"][lengths, cols])
    return tuple(states)
