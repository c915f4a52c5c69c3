"""The benchmarks still run against the current code, at tiny sizes, and time what they say.

Smoke tests of every code path of ``benchmarks/``: a training step timed as the
difference of two public fits, the lower bound, the ablation rows (both sides of a
threshold must fit the same model, or they would time different work), the memory
table, the report, and (when torch is installed) PyTorch's side. Also: the benchmarks
import no private name of the package but ``skrnn._tuning``.
"""

import ast
import json
import sys
from pathlib import Path

import numpy as np
import pytest

BENCHMARKS = Path(__file__).resolve().parents[1] / "benchmarks"
sys.path.insert(0, str(BENCHMARKS))

import ablation
import memory
from _workloads import (
    Fit,
    LowerBound,
    SkrnnStep,
    Step,
    default_workloads,
    fit_thread_policy,
    run_skrnn_fit,
)

from skrnn import _tuning

TINY_STEPS = [Step("m2o-tiny", "lstm", 4, 6, 8, 5),
              Step("m2m-tiny", "rnn", 4, 7, 8, 5, head="many_to_many", n_classes=7)]


def _imported_modules(path):
    for node in ast.walk(ast.parse(path.read_text())):
        if isinstance(node, ast.Import):
            yield from (alias.name for alias in node.names)
        elif isinstance(node, ast.ImportFrom) and node.module:
            yield node.module
            yield from (f"{node.module}.{alias.name}" for alias in node.names)


@pytest.mark.parametrize("path", sorted(BENCHMARKS.glob("*.py")), ids=lambda p: p.name)
def test_benchmarks_import_only_public_names_and_tuning(path):
    private = [name for name in _imported_modules(path) if name.startswith("skrnn")
               and any(part.startswith("_") for part in name.split(".")[1:])
               and name != "skrnn._tuning"]
    assert private == []


@pytest.mark.parametrize("w", TINY_STEPS, ids=lambda w: w.name)
def test_step_is_the_difference_of_two_public_fits(w):
    step = SkrnnStep(w, n_batches=3, extra_epochs=2)
    short, long = step.short(), step.long()
    assert (short.n_iter_, long.n_iter_) == (1, 3)
    # Every minibatch has the step's shape: t_ counts sequences (windows) seen.
    assert short.t_ == 3 * w.batch and long.t_ == 9 * w.batch
    assert step.extra_steps == 6
    assert np.all(np.isfinite(long.loss_curve_))
    np.testing.assert_allclose(step.per_step([1.0, 2.0], [4.0, 5.0]), [0.5, 0.5])
    # The same first epoch: the two fits differ only in max_iter.
    assert long.loss_curve_[0] == short.loss_curve_[0]


def test_step_picks_extra_epochs_for_its_time():
    step = SkrnnStep(TINY_STEPS[0], n_batches=2, min_time=0.0)
    assert step.extra_epochs == 1
    assert SkrnnStep(TINY_STEPS[0], n_batches=2, min_time=0.05).extra_epochs >= 1


def test_default_workloads_keep_their_names():
    names = [w.name for w in default_workloads()]
    assert {"m2o-rnn-32", "m2o-lstm-128", "m2m-rnn-256", "predict-rnn-128",
            "fit-lstm-128"} <= set(names)


@pytest.mark.parametrize("w", TINY_STEPS, ids=lambda w: w.name)
def test_lower_bound_runs(w):
    LowerBound(w)()


def test_fit_thread_policy_follows_the_tuning_threshold():
    threadpoolctl = pytest.importorskip("threadpoolctl")
    before = [p["num_threads"] for p in threadpoolctl.threadpool_info()
              if p["user_api"] == "blas"]
    with fit_thread_policy(_tuning.SMALL_STEP_PRODUCT - 1):
        inside = [p["num_threads"] for p in threadpoolctl.threadpool_info()
                  if p["user_api"] == "blas"]
    assert all(n == 1 for n in inside)
    with fit_thread_policy(_tuning.SMALL_STEP_PRODUCT):
        inside = [p["num_threads"] for p in threadpoolctl.threadpool_info()
                  if p["user_api"] == "blas"]
    assert inside == before


ROWS = ablation.ablations(quick=True)


@pytest.mark.parametrize("name", sorted(ROWS))
def test_ablation_rows_fit_the_same_model(name):
    _, w, constants = ROWS[name]
    assert set(constants) <= set(vars(_tuning))
    w = Fit(**{**w.__dict__, "n_samples": min(w.n_samples, 128), "epochs": 2})
    shipped, other = ablation.fit_pair(w, constants)
    before = {k: getattr(_tuning, k) for k in constants}
    a, b = shipped(), other()
    assert {k: getattr(_tuning, k) for k in constants} == before  # restored
    assert a.n_iter_ == b.n_iter_ == 2
    np.testing.assert_allclose(b.loss_curve_, a.loss_curve_, rtol=1e-4)


def test_ablation_run_reports_a_ratio():
    row = next(iter(ROWS))
    out = ablation.run(quick=True, only=[row], rounds=1, settle=0)
    (r,) = out["rows"]
    assert r["name"] == row and r["speedup"]["median"] > 0


def test_memory_rows():
    r = memory.predict_memory(n=300, steps=12, vocab=5, hidden=4)
    assert r["peak_bytes"] > 0 and r["chunk_samples"] >= 1
    r = memory.fit_memory(n=64, steps=12, vocab=5, hidden=4, epochs=1, batch=16)
    assert r["peak_bytes"] > 0 and r["params_bytes"] > 0


def test_scaling_quick_run():
    """benchmarks/scaling.py on small LocalClusters: every figure docs/scaling.md quotes
    is there, the sequential and the 2-worker searches give the same cv_results_, and
    the worker environment without MALLOC_TRIM_THRESHOLD_ keeps one BLAS thread."""
    pytest.importorskip("distributed")
    import scaling

    out = scaling.run(quick=True)
    s = out["searches"]
    assert set(s) == {"grid-sequential", "grid-2-workers-dask-default-env",
                      "grid-2-workers-no-malloc-trim", "halving-2-workers-no-malloc-trim"}
    assert out["same_cv_results_sequential_and_2_workers"]
    assert out["speedup_2_workers_over_sequential"] > 0
    assert out["halving_time_over_grid_time"] > 0
    assert s["grid-2-workers-no-malloc-trim"]["n_fits"] == 24
    assert 0 <= s["halving-2-workers-no-malloc-trim"]["held_out_accuracy"] <= 1
    assert all(threads == [1] for r in s.values() if r["worker_blas_threads"]
               for threads in r["worker_blas_threads"].values())
    assert "MALLOC_TRIM_THRESHOLD_" not in scaling.nanny_environ(keep_malloc_trim=False)


def test_report_fills_every_placeholder(tmp_path):
    pytest.importorskip("matplotlib")
    import report

    data = json.loads((BENCHMARKS / "results.json").read_text())
    report.render(data, tmp_path)
    page = (tmp_path / "performance.md").read_text()
    assert "$" not in page and "(not in this results file)" not in page
    # Figures come from the results file: a stored ratio is on the page.
    r = data["results"][0]
    assert f"{r['ratio']['median']:.2f}" in page
    # The ablation table keeps only rows ablation.py still times.
    table = page.split("## Ablation")[1].split("## Negation")[0]
    assert "`blas-threads`:" in table and "`sigmoid`:" not in table
    assert "`sigmoid`" in table  # named among the settled ones


def test_report_without_sections(tmp_path):
    import report

    data = json.loads((BENCHMARKS / "results.json").read_text())
    report.render({"machine": data["machine"]}, tmp_path)
    page = (tmp_path / "performance.md").read_text()
    assert "$" not in page and page.count("(not in this results file)") == 4


# --------------------------------------------------------------------------- torch


def test_torch_step_and_fit_run():
    pytest.importorskip("torch")
    import bench_vs_torch as b

    for w in TINY_STEPS:
        for step in b.torch_step_variants(w).values():
            assert np.isfinite(float(step().detach()))
    w = Fit("fit-tiny", "gru", 4, 6, 40, 7, 2, batch=16, epochs=1)
    X, y = b.fit_data(w)
    for run in b.torch_fit_variants(w, X, y).values():
        run()


def test_shuffled_batches_partition_the_data():
    pytest.importorskip("torch")
    import bench_vs_torch as b

    lengths = np.random.default_rng(0).integers(1, 9, size=50)
    batches = b.shuffled_batches(lengths, 16, np.random.default_rng(1))
    assert [len(x) for x in batches] == [16, 16, 16, 2]
    assert sorted(np.concatenate(batches).tolist()) == list(range(50))
    assert all(np.all(np.diff(lengths[x]) <= 0) for x in batches)


def test_shakespeare_torch_windows():
    pytest.importorskip("torch")
    import shakespeare_vs_torch as s

    tokens = np.arange(1000) % 17
    batches = list(s.torch_epoch(tokens, 8, 4, 0.5, np.random.default_rng(0)))
    per_lane = 999 // 4
    assert sum(x.shape[1] for x, _, _ in batches) == per_lane
    assert all(x.shape[0] == 4 and x.shape[1] <= 8 for x, _, _ in batches)
    assert batches[0][2].all()  # every lane starts from a zero state
    for x, y, _ in batches:  # targets are the next tokens
        np.testing.assert_array_equal(y, (x + 1) % 17)
    x, y = s.window_arrays(tokens, np.array([0, 990]), np.array([5, 3]))
    np.testing.assert_array_equal(y[1, :3], tokens[991:994])
    assert (y[1, 3:] == -1).all() and (x[1, 3:] == 0).all()


def test_run_skrnn_fit_runs_every_epoch():
    w = Fit("fit-tiny", "rnn", 4, 6, 40, 7, 2, batch=16, epochs=2)
    from _workloads import fit_data

    X, y = fit_data(w)
    assert run_skrnn_fit(w, X, y).n_iter_ == 2
