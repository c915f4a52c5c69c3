"""The packed optimizer against the textbook updates, written per parameter."""

import numpy as np
import pytest

from skrnn import _optimizers

HYPER = {"learning_rate": 0.01, "momentum": 0.9, "nesterovs_momentum": True,
         "beta_1": 0.9, "beta_2": 0.999, "epsilon": 1e-8, "rho": 0.95}


def _textbook(solver, params, grads, state, hp):
    """One step, each parameter on its own, in float64: (new params, new state)."""
    t = state["t"] + 1
    lr, eps = hp["learning_rate"], hp["epsilon"]
    new, slots = {}, {}
    for k, w in params.items():
        g = grads[k].astype(np.float64)
        if solver == "adam":
            b1, b2 = hp["beta_1"], hp["beta_2"]
            m = b1 * state["m"][k] + (1 - b1) * g
            v = b2 * state["v"][k] + (1 - b2) * g * g
            slots.setdefault("m", {})[k], slots.setdefault("v", {})[k] = m, v
            # Kingma & Ba's epsilon sits on sqrt(v_hat); skrnn (as MLP) puts the bias
            # corrections on the step size, where epsilon meets sqrt(v) instead.
            m_hat, v_hat = m / (1 - b1**t), v / (1 - b2**t)
            new[k] = w - lr * m_hat / (np.sqrt(v_hat) + eps / np.sqrt(1 - b2**t))
            continue
        if solver == "sgd":  # momentum: Nesterov's, or the classical heavy ball
            acc = hp["momentum"] * state["acc"][k] - lr * g
            if hp["nesterovs_momentum"]:
                new[k] = w + hp["momentum"] * acc - lr * g
            else:
                new[k] = w + acc
        elif solver == "adagrad":
            acc = state["acc"][k] + g * g
            new[k] = w - lr * g / (np.sqrt(acc) + eps)
        else:  # rmsprop
            acc = hp["rho"] * state["acc"][k] + (1 - hp["rho"]) * g * g
            new[k] = w - lr * g / (np.sqrt(acc) + eps)
        slots.setdefault("acc", {})[k] = acc
    return new, {"t": t, **slots}


@pytest.mark.parametrize("solver, nesterov", [(s, True) for s in _optimizers.SOLVERS]
                         + [("sgd", False)])
@pytest.mark.parametrize("dtype", [np.float32, np.float64])
def test_packed_steps_match_the_textbook(solver, nesterov, dtype):
    hyper = {**HYPER, "nesterovs_momentum": nesterov}
    rng = np.random.default_rng(0)
    shapes = {"W_x": (5, 12), "W_h": (4, 12), "b": (12,), "W_y": (4, 3)}
    params = {k: rng.standard_normal(s).astype(dtype) for k, s in shapes.items()}
    original = {k: v.copy() for k, v in params.items()}
    opt = _optimizers.Optimizer(solver, params, _optimizers.init_state(solver, params),
                                hyper)
    expected = {k: v.astype(np.float64) for k, v in params.items()}
    ref_state = _optimizers.init_state(solver, expected)
    tol = 1e-5 if dtype == np.float32 else 1e-12
    for _ in range(3):
        grads = {k: rng.standard_normal(s).astype(dtype) for k, s in shapes.items()}
        expected, ref_state = _textbook(solver, expected, grads, ref_state, hyper)
        opt.step(grads)
        for k in params:
            np.testing.assert_allclose(opt.params[k], expected[k], rtol=tol, atol=tol)
    assert opt.state["t"] == 3
    for k, value in params.items():
        np.testing.assert_array_equal(value, original[k])  # the caller's: untouched
        assert opt.params[k].dtype == dtype and opt.params[k].shape == value.shape
        assert np.shares_memory(opt.params[k], opt.vector)
        for slot in set(opt.state) - {"t"}:  # what an estimator stores
            np.testing.assert_allclose(opt.state[slot][k], ref_state[slot][k],
                                       rtol=tol, atol=tol)


def test_clipping_scales_all_gradients_together():
    params = {"a": np.zeros(3), "b": np.zeros((2, 2))}
    opt = _optimizers.Optimizer("sgd", params, _optimizers.init_state("sgd", params),
                                dict(HYPER, momentum=0.0, nesterovs_momentum=False,
                                     learning_rate=1.0))
    grads = {"a": np.array([3.0, 0.0, 0.0]), "b": np.array([[0.0, 4.0], [0.0, 0.0]])}
    norm = opt.step(grads, clip_norm=1.0)
    assert norm == pytest.approx(5.0)
    # the update is -g * (1 / 5): direction kept, global norm 1
    np.testing.assert_allclose(opt.params["a"], [-0.6, 0, 0])
    np.testing.assert_allclose(opt.params["b"], [[0, -0.8], [0, 0]])
    assert opt.step(grads, clip_norm=10.0) == pytest.approx(5.0)  # below: unchanged
    np.testing.assert_allclose(opt.params["a"], [-3.6, 0, 0])


def test_clipping_a_float32_gradient_whose_squares_overflow():
    # ||g|| = 2e20: g . g overflows float32, and a scale of clip / inf would be 0.
    g = np.full(4, 1e20, dtype=np.float32)
    norm = _optimizers.clip_by_global_norm(g, 5.0)
    assert norm == pytest.approx(2e20, rel=1e-6)
    np.testing.assert_allclose(g, np.full(4, 2.5), rtol=1e-6)
    assert g.dtype == np.float32
