"""The ablation benchmark still runs against the current code, and measures the same work.

Every row of ``benchmarks/ablation.py`` times skrnn against skrnn with one optimisation
undone. Both sides are called here, untimed, and must compute the same thing: the same
losses over two training steps (the second one depends on the first step's gradients
and update), or the same loss curve over a fit. A row whose "without" side drifted from
skrnn's (or crashed, as one did after fit started checking the packed weights) would
time different work. Needs nothing beyond the test extras (no torch).
"""

import sys
from pathlib import Path

import numpy as np
import pytest

BENCHMARKS = Path(__file__).resolve().parents[1] / "benchmarks"
sys.path.insert(0, str(BENCHMARKS))

import ablation

from skrnn._base import BaseRNN

ROWS = ablation.ablations(quick=True)
# Component timings: the cells or the products alone, on made-up arrays.
COMPONENT = {"fused-gates", "gate-major", "gate-major-lstm", "one-thread-per-batch"}
# Different minibatches by design (length buckets): a different loss curve.
DIFFERENT_BATCHES = {"buckets"}


def test_every_row_is_covered():
    steps = {name for name, (_, w, _) in ROWS.items() if w.kind == "step"}
    fits = {name for name, (_, w, _) in ROWS.items() if w.kind == "fit"}
    assert steps | fits == set(ROWS)
    assert COMPONENT <= steps and DIFFERENT_BATCHES <= fits


@pytest.mark.parametrize("name", sorted(n for n, (_, w, _) in ROWS.items()
                                        if w.kind == "step" and n not in COMPONENT))
def test_step_rows_compute_the_same_steps(name):
    _, w, factory = ROWS[name]
    with_opt, without = factory(w)
    losses = [[float(with_opt()), float(with_opt())], [float(without()), float(without())]]
    assert np.all(np.isfinite(losses))
    # float32 on both sides except the float64 rows; two steps from the same weights.
    np.testing.assert_allclose(losses[1], losses[0], rtol=2e-5)


@pytest.mark.parametrize("name", ["gate-major", "gate-major-lstm"])
def test_gate_layout_rows_compute_the_same_cell(name):
    # The cell on gate-major arrays and on gates side by side: the same W_h gradient.
    _, w, factory = ROWS[name]
    gate_major, side_by_side = factory(w)
    (_, grads), (_, grads_sbs) = gate_major(), side_by_side()
    assert np.all(np.isfinite(grads["W_h"]))
    np.testing.assert_allclose(grads_sbs["W_h"], grads["W_h"], rtol=1e-4, atol=1e-6)


@pytest.mark.parametrize("name", ["fused-gates", "one-thread-per-batch"])
def test_timing_only_component_rows_run(name):
    # Products alone, or the same cell pass split over two threads: nothing to compare,
    # but both sides must still run against the current code (no exception).
    _, w, factory = ROWS[name]
    for fn in factory(w):
        fn()


@pytest.mark.parametrize("name", sorted(n for n, (_, w, _) in ROWS.items() if w.kind == "fit"))
def test_fit_rows_fit_the_same_model(name):
    _, w, factory = ROWS[name]
    with_opt, without = factory(w)
    fitted = [with_opt(), without()]
    for est in fitted:
        assert isinstance(est, BaseRNN) and est.n_iter_ == w.epochs
        assert np.all(np.isfinite(est.loss_curve_))
    if name not in DIFFERENT_BATCHES:
        np.testing.assert_allclose(fitted[1].loss_curve_, fitted[0].loss_curve_, rtol=1e-4)
