"""Finite-difference gradient checks of the BPTT core (float64, relative error < 1e-6).

Every cell x {1, 2 layers} x {uni, bidirectional} x {many-to-one, many-to-many} x
{float, token-id input}, on a ragged batch that includes a zero-length sequence and is
not sorted by length.
"""

import itertools

import numpy as np
import pytest

from skrnn._losses import sequence_cross_entropy, softmax_cross_entropy, squared_loss
from skrnn._network import RecurrentNetwork
from skrnn._validation import Sequences

from ._data import end_pad, padding_mask
from ._gradcheck import assert_gradients_match

LENGTHS = np.array([6, 3, 0, 5, 1])  # ragged, unsorted, with an empty sequence
N_FEATURES, N_CLASSES = 4, 3


def _batch(kind, rng, n_features=N_FEATURES):
    B, T = len(LENGTHS), LENGTHS.max()
    pad = padding_mask(LENGTHS, T)
    if kind == "index":
        data = rng.randint(0, n_features, (B, T))
    else:
        data = rng.normal(size=(B, T, n_features))
    data[pad] = 0
    return Sequences(data, LENGTHS.copy(), kind, n_features), pad


def _perturbed_params(net, rng):
    params = net.init_params(np.random.RandomState(1), np.float64)
    # Move off the initialisation (zero biases, etc.) so every term is exercised.
    return {k: v + rng.normal(0, 0.3, v.shape) for k, v in params.items()}


def _check(cell, layers, bidirectional, head, kind, activation="tanh", pooling="last"):
    rng = np.random.RandomState(0)
    net = RecurrentNetwork(cell, N_FEATURES, layers, N_CLASSES, activation=activation,
                           bidirectional=bidirectional, head=head, pooling=pooling)
    params = _perturbed_params(net, rng)
    seqs, pad = _batch(kind, rng)
    if head == "many_to_one":
        y = rng.randint(0, N_CLASSES, len(LENGTHS))
        w = rng.uniform(0.5, 2.0, len(LENGTHS))

        def loss_of(logits):
            return softmax_cross_entropy(logits, y, w)
    else:
        y = rng.randint(0, N_CLASSES, pad.shape)
        y[pad] = -1

        def loss_of(logits):
            return sequence_cross_entropy(logits, y)

    logits, _, cache = net.forward(params, seqs, return_cache=True)
    _, dlogits = loss_of(logits)
    grads = net.backward(params, cache, dlogits)
    assert_gradients_match(lambda: loss_of(net.forward(params, seqs)[0])[0], params, grads)


@pytest.mark.parametrize(
    "cell, layers, bidirectional, head, kind",
    list(itertools.product(["rnn", "lstm", "gru"], [(3,), (3, 2)], [False, True],
                           ["many_to_one", "many_to_many"], ["dense", "index"])),
)
def test_gradients_match_finite_differences(cell, layers, bidirectional, head, kind):
    _check(cell, layers, bidirectional, head, kind)


@pytest.mark.parametrize(
    "cell, pooling, layers, bidirectional, kind",
    list(itertools.product(["rnn", "lstm", "gru"], ["mean", "max"], [(3,), (3, 2)],
                           [False, True], ["dense", "index"])),
)
def test_gradients_of_pooling_heads_match_finite_differences(cell, pooling, layers,
                                                             bidirectional, kind):
    """Mean and max over the real steps of a ragged batch with an empty sequence."""
    _check(cell, layers, bidirectional, "many_to_one", kind, pooling=pooling)


@pytest.mark.parametrize("pooling", ["mean", "max"])
def test_pooling_reads_only_real_steps(pooling):
    """Changing what sits in the padding changes nothing; the pooled value is exact."""
    rng = np.random.RandomState(2)
    net = RecurrentNetwork("gru", N_FEATURES, (3,), N_CLASSES, bidirectional=True,
                           pooling=pooling)
    params = _perturbed_params(net, rng)
    seqs, pad = _batch("dense", rng)
    noisy = Sequences(seqs.data.copy(), seqs.lengths, "dense", N_FEATURES)
    noisy.data[pad] = 50.0
    logits, _, _cache = net.forward(params, seqs, return_cache=True)
    np.testing.assert_array_equal(logits, net.forward(params, noisy)[0])
    # Each sample alone, unpadded: the pooled outputs of its steps (read through an
    # identity output layer) are what the batch computed.
    top = RecurrentNetwork("gru", N_FEATURES, (3,), 6, bidirectional=True,
                           head="many_to_many")
    identity = {**params, "W_y": np.eye(6), "b_y": np.zeros(6)}
    for i, n in enumerate(LENGTHS):
        if n == 0:
            expected = params["b_y"]
        else:
            one = Sequences(seqs.data[i : i + 1, :n], np.array([n]), "dense", N_FEATURES)
            hs = top.forward(identity, one)[0][0]  # (n, 2H): both directions' outputs
            pooled = hs.mean(axis=0) if pooling == "mean" else hs.max(axis=0)
            expected = pooled @ params["W_y"] + params["b_y"]
        np.testing.assert_allclose(logits[i], expected, rtol=1e-8, atol=1e-10)


@pytest.mark.parametrize("cell", ["rnn", "lstm", "gru"])
@pytest.mark.parametrize("n_words", [4, 40])
def test_gradients_of_token_ids_either_side_of_the_bias_shortcut(cell, n_words):
    """The first layer's bias gradient of token-id input is summed over the rows of dW_x
    when the vocabulary is smaller than the batch's T*B = 30 rows, over dZ's otherwise."""
    rng = np.random.RandomState(3)
    net = RecurrentNetwork(cell, n_words, (3,), N_CLASSES)
    params = _perturbed_params(net, rng)
    seqs, _ = _batch("index", rng, n_features=n_words)
    y = rng.randint(0, N_CLASSES, len(LENGTHS))
    logits, _, cache = net.forward(params, seqs, return_cache=True)
    _, dlogits = softmax_cross_entropy(logits, y)
    grads = net.backward(params, cache, dlogits)
    assert_gradients_match(
        lambda: softmax_cross_entropy(net.forward(params, seqs)[0], y)[0], params, grads)


@pytest.mark.parametrize("head", ["many_to_one", "many_to_many"])
def test_relu_vanilla_gradients(head):
    _check("rnn", (3, 2), True, head, "dense", activation="relu")


@pytest.mark.parametrize(
    "cell, head, order, with_state",
    list(itertools.product(["rnn", "lstm", "gru"], ["many_to_one", "many_to_many"],
                           ["sorted", "unsorted"], [False, True])),
)
def test_gradients_sorted_batches_and_carried_state(cell, head, order, with_state):
    """The paths the main grid does not take: a batch already sorted by decreasing length
    (fit's minibatches, which the network computes in place, through a reused workspace)
    and a non-zero initial state (the state a generator carries between windows).
    """
    from skrnn._workspace import Workspace

    rng = np.random.RandomState(11)
    net = RecurrentNetwork(cell, N_FEATURES, (3, 2), N_CLASSES, head=head)
    params = _perturbed_params(net, rng)
    seqs, pad = _batch("index", rng)
    if order == "sorted":
        by_length = np.argsort(-LENGTHS, kind="stable")
        seqs, pad = seqs.take(by_length), pad[by_length]
        assert (np.diff(seqs.lengths) <= 0).all()
    state0 = None
    if with_state:  # random (h_0, c_0) for the LSTM, h_0 otherwise, in every layer
        _, final = net.forward(params, seqs)
        state0 = {name: tuple(rng.normal(0, 0.5, s.shape) for s in states)
                  for name, states in final.items()}
        assert sum(len(v) for v in state0.values()) == (4 if cell == "lstm" else 2)
    if head == "many_to_one":
        y = rng.randint(0, N_CLASSES, len(LENGTHS))

        def loss_of(logits):
            return softmax_cross_entropy(logits, y)
    else:
        y = rng.randint(0, N_CLASSES, pad.shape)
        y[pad] = -1

        def loss_of(logits):
            return sequence_cross_entropy(logits, y)

    workspace = Workspace()
    logits, _, cache = net.forward(params, seqs, state0, return_cache=True,
                                   workspace=workspace)
    _, dlogits = loss_of(logits)
    grads = net.backward(params, cache, dlogits)
    assert_gradients_match(lambda: loss_of(net.forward(params, seqs, state0)[0])[0],
                           params, grads)


@pytest.mark.parametrize("cell, bidirectional",
                         list(itertools.product(["rnn", "lstm", "gru"], [False, True])))
def test_many_to_one_gradients_without_empty_sequences(cell, bidirectional):
    """A batch with no empty sequence (as fit's always are) routes dL/dh_final to every
    sample's last step directly; the main grid's batch has an empty one."""
    rng = np.random.RandomState(12)
    net = RecurrentNetwork(cell, N_FEATURES, (3, 2), N_CLASSES, bidirectional=bidirectional)
    params = _perturbed_params(net, rng)
    lengths = np.array([6, 3, 5, 1, 2])
    data = rng.randint(0, N_FEATURES, (5, 6))
    end_pad(data, lengths, 0)
    seqs = Sequences(data, lengths, "index", N_FEATURES)
    y = rng.randint(0, N_CLASSES, 5)
    logits, _, cache = net.forward(params, seqs, return_cache=True)
    grads = net.backward(params, cache, softmax_cross_entropy(logits, y)[1])
    assert_gradients_match(
        lambda: softmax_cross_entropy(net.forward(params, seqs)[0], y)[0], params, grads)


def test_squared_loss_head_gradients():
    rng = np.random.RandomState(2)
    net = RecurrentNetwork("gru", N_FEATURES, (3,), 2, head="many_to_one")
    params = _perturbed_params(net, rng)
    seqs, _ = _batch("dense", rng)
    y = rng.normal(size=(len(LENGTHS), 2))
    w = rng.uniform(0.5, 2.0, len(LENGTHS))
    logits, _, cache = net.forward(params, seqs, return_cache=True)
    _, dout = squared_loss(logits, y, w)
    grads = net.backward(params, cache, dout)
    assert_gradients_match(lambda: squared_loss(net.forward(params, seqs)[0], y, w)[0],
                           params, grads)


@pytest.mark.parametrize("cell", ["rnn", "lstm", "gru"])
def test_padding_is_skipped_exactly(cell):
    """Appending padding steps changes neither the outputs nor the final states."""
    rng = np.random.RandomState(3)
    net = RecurrentNetwork(cell, N_FEATURES, (4, 3), N_CLASSES, bidirectional=True)
    params = _perturbed_params(net, rng)
    seqs, _ = _batch("dense", rng)
    longer = Sequences(np.concatenate([seqs.data, rng.normal(size=(5, 4, N_FEATURES))], 1),
                       seqs.lengths, "dense", N_FEATURES)
    a, states_a = net.forward(params, seqs)
    b, states_b = net.forward(params, longer)
    np.testing.assert_allclose(a, b, rtol=1e-12, atol=1e-12)
    for k in states_a:
        for sa, sb in zip(states_a[k], states_b[k]):
            np.testing.assert_allclose(sa, sb, rtol=1e-12, atol=1e-12)


def test_batch_sizes_count_the_samples_with_a_real_step():
    """batch_sizes[t] = #{i : len_i > t}: a sample whose last step was t - 1 is not run at
    step t (an off-by-one here ran each finished sample one step too many)."""
    from skrnn._network import _batch_sizes

    for lengths in ([6, 5, 3, 1, 0], [4, 4, 4], [1], [0, 0], [9, 2, 2, 2, 1, 1]):
        lengths = np.array(lengths)
        T = int(lengths.max()) + 1
        assert _batch_sizes(lengths, T) == [int((lengths > t).sum()) for t in range(T)]


@pytest.mark.parametrize("cell", ["rnn", "lstm", "gru"])
@pytest.mark.parametrize("with_workspace", [False, True])
def test_states_are_zero_past_each_samples_end(cell, with_workspace):
    """Hs[t + 1, i] = 0 once sample i has ended (t >= len_i), as the cells' docs promise,
    also in a reused workspace whose buffers hold an earlier batch's values."""
    from skrnn._workspace import Workspace

    rng = np.random.RandomState(8)
    net = RecurrentNetwork(cell, N_FEATURES, (4, 3), N_CLASSES, head="many_to_many")
    params = _perturbed_params(net, rng)
    seqs, _ = _batch("dense", rng)
    ws = Workspace() if with_workspace else None
    if with_workspace:  # fill the buffers with non-zero states first
        full = Sequences(rng.normal(size=seqs.data.shape), np.full(len(LENGTHS), 6), "dense",
                         N_FEATURES)
        net.forward(params, full, return_cache=True, workspace=ws)
    _, _, cache = net.forward(params, seqs, return_cache=True, workspace=ws)
    lengths = cache["lengths"]  # the order the network computed in
    for layer, name in zip(cache["layers"], ("l0", "l1")):
        Hs = layer[name]["Hs"]
        for i, n in enumerate(lengths):
            assert np.any(Hs[1 : n + 1, i] != 0) or n == 0
            assert not np.any(Hs[n + 1 :, i]), (name, i, n)


@pytest.mark.parametrize("cell", ["rnn", "lstm", "gru"])
def test_each_sample_is_independent_of_the_batch(cell):
    """A sample's output is the same alone as inside a ragged batch (no leakage via padding)."""
    rng = np.random.RandomState(4)
    net = RecurrentNetwork(cell, N_FEATURES, (4,), N_CLASSES, bidirectional=True)
    params = _perturbed_params(net, rng)
    seqs, _ = _batch("index", rng)
    together = net.forward(params, seqs)[0]
    for i in range(len(LENGTHS)):
        alone = net.forward(params, seqs.take(np.array([i])))[0]
        np.testing.assert_allclose(together[i], alone[0], rtol=1e-12, atol=1e-12)


def test_empty_sequence_predicts_from_initial_state():
    rng = np.random.RandomState(5)
    net = RecurrentNetwork("lstm", N_FEATURES, (4,), N_CLASSES)
    params = _perturbed_params(net, rng)
    seqs, _ = _batch("dense", rng)
    logits = net.forward(params, seqs)[0]
    # h_0 = 0, so the logits of the empty sequence (index 2) are the output bias.
    np.testing.assert_allclose(logits[2], params["b_y"], rtol=1e-12)


def test_index_input_equals_one_hot_input():
    rng = np.random.RandomState(6)
    net = RecurrentNetwork("gru", N_FEATURES, (3, 2), N_CLASSES, bidirectional=True)
    params = _perturbed_params(net, rng)
    seqs, pad = _batch("index", rng)
    onehot = np.eye(N_FEATURES)[seqs.data]
    onehot[pad] = 0
    dense = Sequences(onehot, seqs.lengths, "dense", N_FEATURES)
    y = rng.randint(0, N_CLASSES, len(LENGTHS))
    out = {}
    for name, s in [("index", seqs), ("dense", dense)]:
        logits, _, cache = net.forward(params, s, return_cache=True)
        _, dl = softmax_cross_entropy(logits, y)
        out[name] = (logits, net.backward(params, cache, dl))
    np.testing.assert_allclose(out["index"][0], out["dense"][0], rtol=1e-12)
    for k in params:
        np.testing.assert_allclose(out["index"][1][k], out["dense"][1][k], rtol=1e-10,
                                   atol=1e-12)


def test_carried_state_equals_one_long_pass():
    """Two halves with the state carried over give the outputs of the whole sequence."""
    rng = np.random.RandomState(7)
    net = RecurrentNetwork("lstm", N_FEATURES, (4, 3), N_CLASSES, head="many_to_many")
    params = _perturbed_params(net, rng)
    data = rng.normal(size=(3, 8, N_FEATURES))
    full = Sequences(data, np.full(3, 8), "dense", N_FEATURES)
    first = Sequences(data[:, :5], np.full(3, 5), "dense", N_FEATURES)
    second = Sequences(data[:, 5:], np.full(3, 3), "dense", N_FEATURES)
    whole, _ = net.forward(params, full)
    a, state = net.forward(params, first)
    b, _ = net.forward(params, second, state0=state)
    np.testing.assert_allclose(np.concatenate([a, b], axis=1), whole, rtol=1e-12)


@pytest.mark.parametrize("dtype", [np.float32, np.float64])
def test_sequence_cross_entropy_against_its_definition(dtype):
    """Mean of -log softmax(z)_y over the real steps, and its gradient (p - onehot) / n
    there, zero on padding: against the definition written plainly, in float64 (with a
    sequence that is all padding, and logits large enough to need the max shift)."""
    rng = np.random.RandomState(9)
    logits = (30 * rng.normal(size=(4, 6, 5))).astype(dtype)
    y = rng.randint(0, 5, (4, 6))
    y[1, 3:] = -1
    y[2, :] = -1
    loss, dlogits = sequence_cross_entropy(logits, y)
    z = logits.astype(np.float64)
    logp = z - z.max(-1, keepdims=True)
    logp -= np.log(np.exp(logp).sum(-1, keepdims=True))
    real = y >= 0
    n = real.sum()
    expected = -sum(logp[b, t, y[b, t]] for b, t in zip(*np.nonzero(real))) / n
    grad = np.exp(logp)
    for b, t in zip(*np.nonzero(real)):
        grad[b, t, y[b, t]] -= 1
    grad *= real[..., None] / n
    tol = 1e-5 if dtype == np.float32 else 1e-12
    assert dlogits.dtype == dtype and dlogits.shape == logits.shape
    assert loss == pytest.approx(expected, rel=tol)
    np.testing.assert_allclose(dlogits, grad, rtol=tol, atol=tol / n)
    assert not dlogits[2].any() and not dlogits[1, 3:].any()


@pytest.mark.parametrize("cell, activation", [("rnn", "tanh"), ("rnn", "relu"),
                                              ("lstm", "tanh"), ("gru", "tanh")])
@pytest.mark.parametrize("bidirectional", [False, True])
@pytest.mark.parametrize("kind", ["float", "index"])
def test_loss_on_padding_outputs_trains_only_the_output_bias(cell, activation,
                                                              bidirectional, kind):
    # A padding step's output is b_y alone (its features are zero). A loss that reads it
    # must train b_y and nothing else: the vanilla cell once passed the padding rows of
    # dL/dh into its recurrent and input gradients.
    rng = np.random.RandomState(1)
    net = RecurrentNetwork(cell, N_FEATURES, (3, 2), N_CLASSES, activation=activation,
                           bidirectional=bidirectional, head="many_to_many")
    params = _perturbed_params(net, rng)
    seqs, pad = _batch(kind, rng)
    R = rng.normal(size=pad.shape + (N_CLASSES,))  # non-zero on padding steps too

    def loss():
        return float((R * net.forward(params, seqs)[0]).sum())

    logits, _, cache = net.forward(params, seqs, return_cache=True)
    np.testing.assert_array_equal(logits[pad], np.broadcast_to(params["b_y"], logits[pad].shape))
    grads = net.backward(params, cache, R.copy())
    assert_gradients_match(loss, params, grads)
    # Only the padding part of R: every gradient but b_y's is exactly zero.
    R_pad = np.where(pad[..., None], R, 0.0)
    grads_pad = net.backward(params, net.forward(params, seqs, return_cache=True)[2], R_pad)
    for name, g in grads_pad.items():
        if name == "b_y":
            np.testing.assert_allclose(g, R_pad.sum(axis=(0, 1)))
        else:
            assert not g.any(), name
