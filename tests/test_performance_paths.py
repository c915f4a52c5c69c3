"""The speed machinery changes no result: chunked prediction (bounded memory), batches of
empty sequences, both dW_x paths for token ids, the minibatch plan, the BLAS thread policy.
"""

import json
import os
import subprocess
import sys
import textwrap
import tracemalloc

import numpy as np
import pytest

import skrnn
from skrnn import RNNClassifier, RNNRegressor, _base, _network, _tuning
from skrnn._base import _blas_threads_for
from skrnn._losses import sequence_cross_entropy, softmax_cross_entropy
from skrnn._network import RecurrentNetwork
from skrnn._training import shuffled_batches
from skrnn._validation import Sequences, check_sequences

from ._data import end_pad, fit_quietly, ragged_ids


@pytest.mark.parametrize("cell, bidirectional", [("rnn", False), ("lstm", True),
                                                 ("gru", False)])
def test_chunked_predict_proba_equals_one_pass(monkeypatch, cell, bidirectional):
    rng = np.random.RandomState(0)
    X = ragged_ids(rng, 300)
    y = rng.randint(0, 3, size=300)
    clf = fit_quietly(RNNClassifier(cell=cell, hidden_layer_sizes=(5, 4), bidirectional=bidirectional,
                             pooling="last", batch_size=32, max_iter=2, random_state=0, dtype=np.float64), X, y)
    whole = clf.predict_proba(X)
    # A few samples per chunk: many chunks, each sorted by length, put back in order.
    width = 5 * clf._network().cell.n_gates * (2 if bidirectional else 1)
    monkeypatch.setattr(_tuning, "PREDICT_CHUNK_ELEMENTS", 7 * X.shape[1] * width)
    chunked = clf.predict_proba(X)
    np.testing.assert_allclose(chunked, whole, rtol=1e-12, atol=1e-15)
    np.testing.assert_array_equal(clf.predict(X), clf.classes_[whole.argmax(axis=1)])


def test_chunked_regressor_predict_equals_one_pass(monkeypatch):
    rng = np.random.RandomState(1)
    X = rng.normal(size=(200, 9, 2))
    end_pad(X, rng.randint(1, 10, size=200))
    reg = fit_quietly(RNNRegressor(hidden_layer_sizes=(6,), max_iter=2, random_state=0,
                            dtype=np.float64), X, rng.normal(size=200))
    whole = reg.predict(X)
    monkeypatch.setattr(_tuning, "PREDICT_CHUNK_ELEMENTS", 9 * 6 * 5)
    np.testing.assert_allclose(reg.predict(X), whole, rtol=1e-12, atol=1e-15)


def test_predict_proba_on_many_sequences_has_bounded_memory(monkeypatch):
    """20,000 sequences: the peak stays far below one unchunked pass's buffers."""
    rng = np.random.RandomState(2)
    n, steps, hidden = 20_000, 30, 32
    clf = fit_quietly(RNNClassifier(hidden_layer_sizes=(hidden,), max_iter=1, random_state=0,
                                    cell="rnn", pooling="last", batch_size=32),
               ragged_ids(rng, 64, steps), rng.randint(0, 2, size=64))
    X = ragged_ids(rng, n, steps).astype(np.int32)
    monkeypatch.setattr(_tuning, "PREDICT_CHUNK_ELEMENTS", 2**16)
    tracemalloc.start()
    try:
        proba = clf.predict_proba(X)
        peak = tracemalloc.get_traced_memory()[1]
    finally:
        tracemalloc.stop()
    assert proba.shape == (n, 2)
    np.testing.assert_allclose(proba.sum(axis=1), 1, rtol=1e-5)
    # One pass would hold the (steps, n, hidden) gate and state buffers in float32; the
    # chunked pass holds only the O(n * steps) validated ids beside small chunk buffers.
    unchunked = 2 * steps * n * hidden * 4
    assert peak < unchunked / 4


@pytest.mark.parametrize("head", ["many_to_one", "many_to_many"])
@pytest.mark.parametrize("cell", ["rnn", "lstm", "gru"])
def test_batch_of_empty_sequences(cell, head):
    """A chunk (or a minibatch) of only empty sequences has no time step at all."""
    net = RecurrentNetwork(cell, 4, (3, 2), 3, bidirectional=True, head=head)
    params = net.init_params(np.random.RandomState(0), np.float64)
    for data in (np.zeros((2, 0), dtype=int), np.zeros((2, 0, 4))):
        seqs = Sequences(data, np.zeros(2, dtype=int), "index" if data.ndim == 2 else "dense",
                         4)
        logits, _, cache = net.forward(params, seqs, return_cache=True)
        if head == "many_to_one":
            # h_final = h_0 = 0: the logits are the output bias.
            np.testing.assert_allclose(logits, np.tile(params["b_y"], (2, 1)))
            _, dlogits = softmax_cross_entropy(logits, np.array([0, 1]))
        else:
            assert logits.shape == (2, 0, 3)
            _, dlogits = sequence_cross_entropy(logits, np.zeros((2, 0), dtype=int))
        grads = net.backward(params, cache, dlogits)
        assert set(grads) == set(params)
        assert not np.any(grads["l0.W_h"])


def test_dense_and_sparse_dW_x_paths_agree(monkeypatch):
    """dW_x of token ids: the dense one-hot product (tiny batches) and the sparse one."""
    rng = np.random.RandomState(3)
    net = RecurrentNetwork("gru", 11, (4,), 3, bidirectional=True)
    params = net.init_params(np.random.RandomState(0), np.float64)
    lengths = rng.randint(0, 9, size=6)
    data = rng.randint(0, 11, size=(6, 8))
    end_pad(data, lengths, 0)
    seqs = Sequences(data, lengths, "index", 11)
    y = rng.randint(0, 3, size=6)
    grads = {}
    for limit in (0, 2**40):
        monkeypatch.setattr(_tuning, "DENSE_SCATTER_LIMIT", limit)
        logits, _, cache = net.forward(params, seqs, return_cache=True)
        grads[limit] = net.backward(params, cache, softmax_cross_entropy(logits, y)[1])
    for k in params:
        np.testing.assert_allclose(grads[0][k], grads[2**40][k], rtol=1e-12, atol=1e-15)


@pytest.mark.parametrize("cell", ["rnn", "lstm", "gru"])
def test_both_projection_paths_of_token_ids_agree(cell):
    """The projection of ids: a gather from the table W_x + b (a vocabulary no larger
    than the batch's T * B ids) or a gather of W_x rows plus b (a larger vocabulary).
    Both give the same logits and gradients; the gradient checks cover the first."""
    rng = np.random.RandomState(5)
    V = 12  # <= the batch's 20 ids: the table path; 10 * V: the row path
    net = RecurrentNetwork(cell, V, (4,), 3, bidirectional=True)
    params = net.init_params(np.random.RandomState(0), np.float64)
    params = {k: v + rng.normal(0, 0.3, v.shape) for k, v in params.items()}
    lengths = np.array([5, 0, 3, 5])
    data = rng.randint(0, V, size=(4, 5))
    end_pad(data, lengths, 0)
    y = rng.randint(0, 3, size=4)
    results = []
    for n_inputs in (V, 10 * V):  # the larger one pads W_x with unused zero rows
        p = dict(params)
        if n_inputs > V:
            p["l0.W_x"] = np.vstack([params["l0.W_x"], np.zeros((n_inputs - V, params["l0.W_x"].shape[1]))])
            p["l0r.W_x"] = np.vstack([params["l0r.W_x"], np.zeros((n_inputs - V, params["l0r.W_x"].shape[1]))])
        n = RecurrentNetwork(cell, n_inputs, (4,), 3, bidirectional=True)
        seqs = Sequences(data, lengths, "index", n_inputs)
        logits, _, cache = n.forward(p, seqs, return_cache=True)
        grads = n.backward(p, cache, softmax_cross_entropy(logits, y)[1])
        grads["l0.W_x"] = grads["l0.W_x"][:V]
        grads["l0r.W_x"] = grads["l0r.W_x"][:V]
        results.append((logits, grads))
    (l0, g0), (l1, g1) = results
    np.testing.assert_allclose(l1, l0, rtol=1e-12, atol=1e-15)
    for k in g0:
        np.testing.assert_allclose(g1[k], g0[k], rtol=1e-12, atol=1e-15, err_msg=k)


def test_batches_cover_every_sample_once_sorted_by_length():
    rng = np.random.RandomState(4)
    lengths = rng.randint(0, 20, size=101)
    idx = np.arange(3, 101)
    batches = shuffled_batches(lengths, idx, 10, np.random.default_rng(0))
    np.testing.assert_array_equal(np.sort(np.concatenate(batches)), idx)
    assert sorted(len(b) for b in batches)[:2] == [8, 10]  # one short batch: 98 = 9 x 10 + 8
    for b in batches:
        assert np.all(np.diff(lengths[b]) <= 0)  # the order the network computes in


def test_batches_are_a_shuffle_cut_in_order():
    """The classic plan: one permutation cut into consecutive batches."""
    lengths = np.arange(50) % 7
    batches = shuffled_batches(lengths, np.arange(50), 8, np.random.default_rng(5))
    perm = np.random.default_rng(5).permutation(50)
    for k, b in enumerate(batches):
        assert set(b) == set(perm[8 * k : 8 * (k + 1)])


def test_small_models_fit_with_one_blas_thread(monkeypatch):
    threadpoolctl = pytest.importorskip("threadpoolctl")

    def blas_threads():
        return [p["num_threads"] for p in threadpoolctl.threadpool_info()
                if p["user_api"] == "blas"]

    if not blas_threads():
        pytest.skip("no BLAS library found by threadpoolctl")
    seen = []

    def spy(step_product, original=_base._blas_threads_for):
        seen.append(step_product)
        return original(step_product)

    monkeypatch.setattr(_base, "_blas_threads_for", spy)
    rng = np.random.RandomState(6)
    fit_quietly(RNNClassifier(hidden_layer_sizes=(8,), max_iter=1, random_state=0,
                              cell="rnn", batch_size=32),
                ragged_ids(rng, 40), rng.randint(0, 2, size=40))
    assert seen == [32 * 8 * 8]  # batch x H x G*H
    before = blas_threads()
    with _blas_threads_for(32 * 8 * 8):
        assert set(blas_threads()) == {1}
    assert blas_threads() == before
    with _blas_threads_for(_tuning.SMALL_STEP_PRODUCT):  # a large model: no change
        assert blas_threads() == before


# Run in a new interpreter: OpenBLAS ignores a thread count set by one thread while the
# thread that set it last is alive, and this process's main thread has set it already.
_THREADED_SEARCHES = textwrap.dedent("""
    import json, threading, warnings
    import joblib, numpy as np
    from sklearn.exceptions import ConvergenceWarning
    from sklearn.model_selection import GridSearchCV
    from threadpoolctl import threadpool_info, threadpool_limits
    from skrnn import RNNClassifier, _base

    warnings.simplefilter("ignore", ConvergenceWarning)

    def blas_threads():
        return min(p["num_threads"] for p in threadpool_info() if p["user_api"] == "blas")

    in_fits, running, overlap = [], [0], [0]
    lock = threading.Lock()
    run_epochs = _base.run_epochs

    def spy(*args, **kwargs):  # inside a fit, its BLAS limit (if any) in force
        with lock:
            running[0] += 1
            overlap[0] = max(overlap[0], running[0])
            in_fits.append(blas_threads())
        try:
            return run_epochs(*args, **kwargs)
        finally:
            with lock:
                running[0] -= 1

    _base.run_epochs = spy
    rng = np.random.RandomState(0)
    X, y = rng.randint(0, 7, size=(120, 10)), rng.randint(0, 2, size=120)

    def search(hidden):
        clf = RNNClassifier(cell="gru", hidden_layer_sizes=(hidden,), batch_size=64,
                            max_iter=3, random_state=0)
        grid = {"learning_rate_init": [0.01, 0.02, 0.03, 0.04]}
        with joblib.parallel_config(backend="threading", n_jobs=2):
            GridSearchCV(clf, grid, cv=3, refit=False).fit(X, y)

    out = {"before": blas_threads()}
    search(8)  # small models: each fit alone would run at one thread
    out.update(after=blas_threads(), small=in_fits[:], small_overlap=overlap[0])
    del in_fits[:]
    overlap[0] = 0
    with threadpool_limits(limits=1, user_api="blas"):  # one thread per fit, for 2 fits
        search(64)  # 64 x 64 x 192 multiply-adds a step: large, no limit of skrnn's
    out.update(large=in_fits[:], large_overlap=overlap[0], end=blas_threads())
    print(json.dumps(out))
""")


def test_threaded_search_leaves_blas_threads_as_they_were():
    """Fits in threads of one process share its BLAS setting; none of them changes it for
    good, and the caller's limit holds in every fit."""
    root = os.path.dirname(os.path.dirname(os.path.abspath(skrnn.__file__)))
    env = dict(os.environ, PYTHONPATH=os.pathsep.join(
        filter(None, [root, os.environ.get("PYTHONPATH")])))
    for name in ("OMP_NUM_THREADS", "OPENBLAS_NUM_THREADS", "MKL_NUM_THREADS"):
        env.pop(name, None)
    child = subprocess.run([sys.executable, "-c", _THREADED_SEARCHES], capture_output=True,
                           text=True, timeout=300, check=True, env=env)
    out = json.loads(child.stdout.splitlines()[-1])
    if out["before"] < 2:
        pytest.skip("one BLAS thread on this machine: nothing for threads to share")
    assert out["small_overlap"] == out["large_overlap"] == 2  # two fits at once
    assert len(out["small"]) == len(out["large"]) == 12
    # Before, each small fit limited BLAS to 1 and restored what it had found, which was
    # another fit's limit: the process was left at one thread (measured: 2 -> 1).
    assert out["after"] == out["end"] == out["before"]
    assert set(out["small"]) <= {1, out["before"]}
    assert set(out["large"]) == {1}  # 2 fits x 1 thread: the cores, not 2 x 2


def _poison(workspace):
    for buf in workspace._buffers.values():
        buf.fill(np.nan)


@pytest.mark.parametrize("cell", ["rnn", "lstm", "gru"])
@pytest.mark.parametrize("head, bidirectional, sizes", [
    ("many_to_one", False, (6,)), ("many_to_one", True, (5, 4)),
    ("many_to_many", False, (5, 4)), ("many_to_many", True, (6,)),
])
def test_workspace_reuse_gives_the_same_results(cell, head, bidirectional, sizes):
    """Batches of changing shapes through one workspace whose buffers hold NaN from the
    batch before: logits, states and gradients equal those of fresh arrays, bit for bit.
    A stale value that leaked into a result (a padding row not zeroed) would show as NaN.
    """
    from skrnn._workspace import Workspace

    rng = np.random.RandomState(0)
    net = RecurrentNetwork(cell, 7, sizes, 3, bidirectional=bidirectional, head=head)
    params = net.init_params(rng, np.float64)
    workspace = Workspace()
    batches = [(9, 12, False), (4, 12, True), (9, 5, True), (9, 12, True), (3, 7, False)]
    for B, T, ragged in batches:
        X = rng.randint(0, 7, size=(B, T))
        if ragged:
            lengths = rng.randint(0, T + 1, size=B)
            end_pad(X, lengths, -1)
        seqs = check_sequences(X, n_features=7, dtype=np.float64)
        y = rng.randint(0, 3, size=(B, T) if head == "many_to_many" else B)
        if head == "many_to_many":
            y[X < 0] = -1
        loss = sequence_cross_entropy if head == "many_to_many" else softmax_cross_entropy
        results = []
        for ws in (None, workspace):
            if ws is not None:
                _poison(ws)
            logits, states, cache = net.forward(params, seqs, return_cache=True,
                                                workspace=ws)
            grads = net.backward(params, cache, loss(logits, y)[1])
            results.append((logits, states, grads))
        (l0, s0, g0), (l1, s1, g1) = results
        np.testing.assert_array_equal(l1, l0)
        for k in s0:
            for a, b in zip(s0[k], s1[k]):
                np.testing.assert_array_equal(b, a)
        assert g1.keys() == g0.keys()
        for k in g0:
            np.testing.assert_array_equal(g1[k], g0[k], err_msg=k)


def test_fit_reuses_one_workspace(monkeypatch):
    """fit allocates the step buffers once per call, not once per minibatch."""
    from skrnn import _workspace

    made = []
    original = _workspace.Workspace.__init__

    def record(self):
        original(self)
        made.append(self)

    monkeypatch.setattr(_workspace.Workspace, "__init__", record)
    rng = np.random.RandomState(0)
    X = ragged_ids(rng, 64)
    y = rng.randint(0, 2, size=64)
    fit_quietly(RNNClassifier(cell="lstm", hidden_layer_sizes=(8,), batch_size=8, max_iter=3,
                       random_state=0), X, y)
    assert len(made) == 1  # 24 minibatches, one workspace
    assert made[0]._buffers and made[0].nbytes > 0


@pytest.mark.parametrize("fill_per_call", [0, 10**9])  # always block by block, always whole
@pytest.mark.parametrize("gates", [False, True])
def test_zero_padding_zeroes_every_finished_row(monkeypatch, fill_per_call, gates):
    """Both ways of zeroing a reused buffer's padding (a call per padded block, or one fill
    of a small buffer) leave every row past a sample's end zero."""
    from skrnn import _workspace

    monkeypatch.setattr(_tuning, "FILL_PER_CALL", fill_per_call)
    rng = np.random.RandomState(7)
    for lengths in ([5, 5, 3, 3, 1, 0], [4, 4, 4], [6, 2, 1]):
        lengths = np.array(lengths)
        T, B = int(lengths.max()), len(lengths)
        batch_sizes = _network._batch_sizes(lengths, T)
        for first in (0, 1):
            shape = (3, T + first, B, 4) if gates else (T + first, B, 4)
            A = _workspace.zero_padding(rng.normal(size=shape) + 5, batch_sizes, first, gates)
            for t in range(T):
                step = A[:, first + t] if gates else A[first + t]  # (..., B, 4)
                for i in range(B):
                    row = step[..., i, :]
                    if t >= lengths[i]:
                        assert not np.any(row), (lengths, t, i)
                    elif fill_per_call == 0:  # block by block: real rows are not touched
                        assert np.all(row > 0), (lengths, t, i)
