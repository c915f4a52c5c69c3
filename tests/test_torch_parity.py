"""Parity of skrnn's recurrent core with PyTorch's ``nn.RNN``, ``nn.LSTM`` and ``nn.GRU``.

skrnn uses PyTorch's equations, so the same weights on the same ragged batch must give the
same outputs, final states and gradients, up to float64 rounding. The batch is end-padded:
skrnn reads it through its NaN / -1 padding contract, PyTorch through
``pack_padded_sequence(enforce_sorted=False)``, which also checks that the reversed direction
reads each sequence back from its own last real step.

Weight mapping (``G`` gates of ``H`` units, ``d`` is ``""`` or ``"_reverse"``)::

    l{k}.W_x  = weight_ih_l{k}{d}.T           (n_in, G*H)
    l{k}.W_h  = weight_hh_l{k}{d}.T           (H, G*H)
    l{k}.b    = bias_ih_l{k}{d} + bias_hh_l{k}{d}      (GRU: bias_hh of r and z only)
    l{k}.b_hn = bias_hh_l{k}{d}[2H:]          (GRU only: the n-gate's recurrent bias)
    W_y, b_y  = head.weight.T, head.bias      (an ``nn.Linear`` on the top layer)

Skipped when torch is not installed, unless ``SKRNN_REQUIRE_TORCH=1`` (``.ci/run`` sets
it): then a missing torch is an error, so CI cannot pass without these checks.
"""

import itertools
import os

import numpy as np
import pytest

from skrnn._network import RecurrentNetwork
from skrnn._validation import check_sequences

from ._data import end_pad, padding_mask, ragged_floats

try:
    import torch
except ImportError as exc:
    if os.environ.get("SKRNN_REQUIRE_TORCH") == "1":
        raise ImportError("SKRNN_REQUIRE_TORCH=1 (as .ci/run sets it) but torch cannot be "
                          "imported: the PyTorch parity tests must run here") from exc
    pytest.skip(f"torch is not installed ({exc})", allow_module_level=True)
nn = torch.nn
pack_padded_sequence = nn.utils.rnn.pack_padded_sequence
pad_packed_sequence = nn.utils.rnn.pad_packed_sequence

pytestmark = pytest.mark.torch

ATOL = RTOL = 1e-8
N_FEATURES, HIDDEN, N_OUTPUTS = 4, 5, 3
# Ragged lengths, unsorted, with a very short one and one of full length.
LENGTHS = np.array([4, 7, 1, 6, 2])
T = int(LENGTHS.max())

# (skrnn cell, activation): the vanilla cell with both nonlinearities, then the gated cells.
CELLS = [("rnn", "tanh"), ("rnn", "relu"), ("lstm", "tanh"), ("gru", "tanh")]
TORCH_MODULES = {"rnn": nn.RNN, "lstm": nn.LSTM, "gru": nn.GRU}


def _torch_rnn(cell, activation, n_inputs, n_layers, bidirectional, seed=0):
    torch.manual_seed(seed)
    kwargs = {"nonlinearity": activation} if cell == "rnn" else {}
    module = TORCH_MODULES[cell](n_inputs, HIDDEN, num_layers=n_layers, batch_first=True,
                                 bidirectional=bidirectional, dtype=torch.float64, **kwargs)
    # Biases away from their small uniform init, so that a misplaced bias shows.
    with torch.no_grad():
        for name, p in module.named_parameters():
            if name.startswith("bias"):
                p.uniform_(-0.5, 0.5)
    return module


def _to_skrnn(module, head, cell, n_layers, bidirectional):
    """Copy a torch recurrent module (and its linear head) into a skrnn params dict."""
    params = {}
    for k in range(n_layers):
        for d, suffix in [("", ""), ("r", "_reverse")][: 1 + bidirectional]:
            W_ih = getattr(module, f"weight_ih_l{k}{suffix}").detach().numpy()
            W_hh = getattr(module, f"weight_hh_l{k}{suffix}").detach().numpy()
            b_ih = getattr(module, f"bias_ih_l{k}{suffix}").detach().numpy()
            b_hh = getattr(module, f"bias_hh_l{k}{suffix}").detach().numpy()
            name = f"l{k}{d}"
            params[name + ".W_x"] = W_ih.T.copy()
            params[name + ".W_h"] = W_hh.T.copy()
            if cell == "gru":
                # The n gate's recurrent bias sits inside the reset gate: r * (h W_hn + b_hn).
                params[name + ".b"] = b_ih + np.concatenate([b_hh[: 2 * HIDDEN],
                                                             np.zeros(HIDDEN)])
                params[name + ".b_hn"] = b_hh[2 * HIDDEN :].copy()
            else:
                params[name + ".b"] = b_ih + b_hh
    params["W_y"] = head.weight.detach().numpy().T.copy()
    params["b_y"] = head.bias.detach().numpy().copy()
    return params


def _grads_from_torch(module, head, cell, n_layers, bidirectional):
    """Torch's gradients in skrnn's names (dL/db is dL/dbias_ih since b = bias_ih + ...)."""
    grads = {}
    for k in range(n_layers):
        for d, suffix in [("", ""), ("r", "_reverse")][: 1 + bidirectional]:
            name = f"l{k}{d}"
            grads[name + ".W_x"] = getattr(module, f"weight_ih_l{k}{suffix}").grad.numpy().T
            grads[name + ".W_h"] = getattr(module, f"weight_hh_l{k}{suffix}").grad.numpy().T
            grads[name + ".b"] = getattr(module, f"bias_ih_l{k}{suffix}").grad.numpy()
            b_hh = getattr(module, f"bias_hh_l{k}{suffix}").grad.numpy()
            if cell == "gru":
                grads[name + ".b_hn"] = b_hh[2 * HIDDEN :]
                grads[name + ".b_hh_rz"] = b_hh[: 2 * HIDDEN]
            else:
                grads[name + ".b_hh"] = b_hh
    grads["W_y"] = head.weight.grad.numpy().T
    grads["b_y"] = head.bias.grad.numpy()
    return grads


def _ragged_batch(rng, n_features=N_FEATURES):
    """NaN end-padded float batch (skrnn's form) and its zero-padded twin (torch's form)."""
    X = ragged_floats(rng, LENGTHS, n_features)
    return X, np.nan_to_num(X, nan=0.0)


def _run_torch(module, head, x, many_to_one, R, h0=None):
    """Forward and backward of loss = sum(logits * R) through a packed batch."""
    packed = pack_padded_sequence(torch.from_numpy(x), torch.from_numpy(LENGTHS),
                                  batch_first=True, enforce_sorted=False)
    out, state = module(packed, h0)
    out, _ = pad_packed_sequence(out, batch_first=True, total_length=T)
    h_n = state[0] if isinstance(state, tuple) else state
    if many_to_one:
        # The top layer's final states: forward, then reverse (which ends at step 0).
        n_dirs = 2 if module.bidirectional else 1
        feats = torch.cat([h_n[-n_dirs + j] for j in range(n_dirs)], dim=1)
    else:
        feats = out
    logits = head(feats)
    loss = (logits * torch.from_numpy(R)).sum()
    loss.backward()
    states = tuple(s.detach().numpy() for s in state) if isinstance(state, tuple) \
        else (state.detach().numpy(),)
    return logits.detach().numpy(), out.detach().numpy(), states


def _assert_close(actual, desired, what):
    np.testing.assert_allclose(actual, desired, rtol=RTOL, atol=ATOL, err_msg=what)


def _check_parity(cell, activation, n_layers, bidirectional, head_kind, seqs, x_torch,
                  n_inputs, rng):
    many_to_one = head_kind == "many_to_one"
    n_dirs = 2 if bidirectional else 1
    module = _torch_rnn(cell, activation, n_inputs, n_layers, bidirectional)
    head = nn.Linear(n_dirs * HIDDEN, N_OUTPUTS, dtype=torch.float64)
    params = _to_skrnn(module, head, cell, n_layers, bidirectional)

    # dL/dlogits = R; for many-to-many only the real steps carry a loss.
    if many_to_one:
        R = rng.normal(size=(len(LENGTHS), N_OUTPUTS))
    else:
        R = rng.normal(size=(len(LENGTHS), T, N_OUTPUTS))
        end_pad(R, LENGTHS, 0.0)
    t_logits, t_out, t_states = _run_torch(module, head, x_torch, many_to_one, R)
    t_grads = _grads_from_torch(module, head, cell, n_layers, bidirectional)

    net = RecurrentNetwork(cell, n_inputs, (HIDDEN,) * n_layers, N_OUTPUTS,
                           activation=activation, bidirectional=bidirectional, head=head_kind)
    logits, states, cache = net.forward(params, seqs, return_cache=True)
    grads = net.backward(params, cache, R)

    real = ~padding_mask(LENGTHS, T)
    if many_to_one:
        _assert_close(logits, t_logits, "many-to-one logits")
    else:
        _assert_close(logits[real], t_logits[real], "many-to-many logits at real steps")

    # Final (h, c) of every layer and direction; torch orders them layer-major. Both
    # sides must have them all (h and c for an LSTM, h otherwise): zip would drop one.
    n_states = 2 if cell == "lstm" else 1
    assert len(t_states) == n_states
    for k, j in itertools.product(range(n_layers), range(n_dirs)):
        name = f"l{k}{'r' if j else ''}"
        assert len(states[name]) == n_states, (name, len(states[name]))
        for s, (ours, theirs) in enumerate(zip(states[name], t_states)):
            _assert_close(ours, theirs[k * n_dirs + j], f"final state {s} of {name}")

    # Per-step outputs of the top layer: the same network with an identity head.
    top = RecurrentNetwork(cell, n_inputs, (HIDDEN,) * n_layers, n_dirs * HIDDEN,
                           activation=activation, bidirectional=bidirectional,
                           head="many_to_many")
    identity = dict(params, W_y=np.eye(n_dirs * HIDDEN), b_y=np.zeros(n_dirs * HIDDEN))
    out = top.forward(identity, seqs)[0]
    _assert_close(out[real], t_out[real], "top-layer outputs at real steps")

    expected = dict(t_grads)
    extra_b = {k: expected.pop(k) for k in list(expected) if ".b_hh" in k}
    assert set(grads) == set(params) == set(expected)
    for key in params:
        assert grads[key].shape == params[key].shape, key
        _assert_close(grads[key], expected[key], f"gradient of {key}")
    # b = bias_ih + bias_hh: torch's bias_hh gets the same gradient as b (its r, z part
    # for the GRU), a check that the two biases really are summed.
    for key, g in extra_b.items():
        name = key.split(".")[0]
        width = 2 * HIDDEN if cell == "gru" else g.shape[0]
        _assert_close(grads[name + ".b"][:width], g, f"gradient of {key}")


@pytest.mark.parametrize("head_kind", ["many_to_one", "many_to_many"])
@pytest.mark.parametrize("bidirectional", [False, True], ids=["uni", "bi"])
@pytest.mark.parametrize("n_layers", [1, 2])
@pytest.mark.parametrize("cell, activation", CELLS, ids=["rnn-tanh", "rnn-relu", "lstm", "gru"])
def test_dense_parity(cell, activation, n_layers, bidirectional, head_kind):
    rng = np.random.RandomState(0)
    X, x_torch = _ragged_batch(rng)
    seqs = check_sequences(X, dtype=np.float64)
    np.testing.assert_array_equal(seqs.lengths, LENGTHS)
    _check_parity(cell, activation, n_layers, bidirectional, head_kind, seqs, x_torch,
                  N_FEATURES, rng)


@pytest.mark.parametrize("head_kind", ["many_to_one", "many_to_many"])
@pytest.mark.parametrize("bidirectional", [False, True], ids=["uni", "bi"])
@pytest.mark.parametrize("cell, activation", CELLS, ids=["rnn-tanh", "rnn-relu", "lstm", "gru"])
def test_token_id_parity(cell, activation, bidirectional, head_kind):
    """Token ids (skrnn's row gather) against their one-hot rows fed to torch."""
    vocab = 9
    rng = np.random.RandomState(1)
    ids = rng.randint(0, vocab, size=(len(LENGTHS), T))
    end_pad(ids, LENGTHS, -1)
    ids[0, 0] = ids[3, 0]  # a token repeated across samples: its W_x row sums both
    seqs = check_sequences(ids, n_features=vocab)
    assert seqs.kind == "index"
    onehot = np.zeros((len(LENGTHS), T, vocab))
    b, t = np.nonzero(ids >= 0)
    onehot[b, t, ids[b, t]] = 1.0
    _check_parity(cell, activation, 2, bidirectional, head_kind, seqs, onehot, vocab, rng)


@pytest.mark.parametrize("cell, activation", CELLS, ids=["rnn-tanh", "rnn-relu", "lstm", "gru"])
def test_initial_state_parity(cell, activation):
    """A given initial state (what truncated BPTT carries over) is torch's h0 / (h0, c0)."""
    rng = np.random.RandomState(2)
    X, x_torch = _ragged_batch(rng)
    seqs = check_sequences(X, dtype=np.float64)
    n_layers, n_dirs = 2, 2
    module = _torch_rnn(cell, activation, N_FEATURES, n_layers, True)
    head = nn.Linear(n_dirs * HIDDEN, N_OUTPUTS, dtype=torch.float64)
    params = _to_skrnn(module, head, cell, n_layers, True)
    n_states = 2 if cell == "lstm" else 1
    init = [rng.normal(size=(n_layers * n_dirs, len(LENGTHS), HIDDEN)) for _ in range(n_states)]
    h0 = tuple(torch.from_numpy(s) for s in init) if cell == "lstm" \
        else torch.from_numpy(init[0])
    R = rng.normal(size=(len(LENGTHS), N_OUTPUTS))
    t_logits, _, t_states = _run_torch(module, head, x_torch, True, R, h0=h0)

    net = RecurrentNetwork(cell, N_FEATURES, (HIDDEN,) * n_layers, N_OUTPUTS,
                           activation=activation, bidirectional=True)
    names = net.layer_names()  # l0, l0r, l1, l1r: torch's layer-major order
    state0 = {name: tuple(s[i] for s in init) for i, name in enumerate(names)}
    logits, states = net.forward(params, seqs, state0=state0)
    _assert_close(logits, t_logits, "logits from a given initial state")
    for i, name in enumerate(names):
        for s in range(n_states):
            _assert_close(states[name][s], t_states[s][i], f"final state {s} of {name}")
