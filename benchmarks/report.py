"""Write docs/performance.md and docs/performance.png from a bench_vs_torch.py JSON file.

Run::

    python benchmarks/bench_vs_torch.py --json benchmarks/results.json
    python benchmarks/report.py benchmarks/results.json

Every figure of the tables and the plot comes from the JSON file (the targets are the
issue's). The prose around them (``INTRO``, ``OPTIMISATIONS``) is written here, with a few
figures measured once and named where they come from; the page is regenerated, never
edited.
"""

import argparse
import json
import sys
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent))

from _common import fmt_ratio, mib

ROOT = Path(__file__).resolve().parents[1]
COMMAND = ("python benchmarks/bench_vs_torch.py --json benchmarks/results.json && "
           "python benchmarks/report.py benchmarks/results.json")


def target(r):
    """(minimum skrnn/torch ratio, maximum skrnn/bound ratio) the issue asks for, or None."""
    if r["kind"] == "predict":
        return None, None
    hidden = int(r["name"].split("-")[-1])
    many = r["name"].startswith("m2m")
    ratio = 1.0 if (hidden >= 512 or many) else 1.5
    bound = 1.4 if (r["kind"] == "step" and hidden >= 256) else None
    return ratio, bound


def _mark(value, goal, higher_is_better=True):
    if goal is None:
        return ""
    ok = value >= goal if higher_is_better else value <= goal
    return "yes" if ok else "**no**"


def comparison_table(results):
    lines = [
        ("| workload | what | skrnn ms | PyTorch ms | skrnn/PyTorch [IQR] | target | met | "
        "bound ms | skrnn/bound [IQR] | target | met |"),
        "|---|---|---:|---:|---:|---:|:-:|---:|---:|---:|:-:|",
    ]
    for r in results:
        goal, bound_goal = target(r)
        row = [r["name"], r["describe"], f"{r['skrnn']['median'] * 1e3:.1f}",
               f"{r['torch']['median'] * 1e3:.1f}", fmt_ratio(r["ratio"]),
               "" if goal is None else f">= {goal}", _mark(r["ratio"]["median"], goal)]
        if "bound" in r:
            row += [f"{r['bound']['median'] * 1e3:.1f}", fmt_ratio(r["bound_ratio"]),
                    "" if bound_goal is None else f"<= {bound_goal}",
                    _mark(r["bound_ratio"]["median"], bound_goal, higher_is_better=False)]
        else:
            row += ["", "", "", ""]
        lines.append("| " + " | ".join(row) + " |")
    lines += ["", *missed_targets(results), ""]
    lines.append("PyTorch's variant (the fastest of its screened formulations, per workload):")
    lines.append("")
    for r in results:
        lines.append(f"- `{r['name']}`: {r['torch_variant']}")
    return "\n".join(lines)


def missed_targets(results):
    """Sentences on every missed throughput target, with what the bound says about it."""
    out = []
    for r in results:
        goal, _ = target(r)
        if goal is None or r["ratio"]["median"] >= goal:
            continue
        text = (f"- `{r['name']}` misses its target: skrnn/PyTorch "
                f"{r['ratio']['median']:.3f} < {goal}.")
        if "bound" in r:
            torch_over_bound = r["torch"]["median"] / r["bound"]["median"]
            text += (f" PyTorch's step takes {torch_over_bound:.2f}x the matrix products "
                     f"alone, skrnn's {r['bound_ratio']['median']:.2f}x.")
            if torch_over_bound < goal:
                text += (f" A ratio of {goal} would need skrnn to run faster than its own "
                         "matrix products (at the same BLAS).")
        out.append(text)
    if not out:
        out.append("Every throughput target is met in this run.")
    return out


def memory_table(rows):
    lines = ["| what | data MiB | peak MiB during the call | seconds |",
             "|---|---:|---:|---:|"]
    for r in rows:
        peak = f"{mib(r['peak_bytes']):.1f}"
        if "unchunked_bytes" in r:
            peak += (f" (chunks of {r['chunk_samples']:,} sequences; one unchunked pass: "
                     f"{mib(r['unchunked_bytes']):,.0f})")
        lines.append(f"| {r['what']} | {mib(r['input_bytes']):.1f} | {peak} | "
                     f"{r['seconds']:.2f} |")
    return "\n".join(lines)


def ablation_table(ab):
    lines = ["| optimisation | workload | ms with | ms without | gain: without / with [IQR] |",
             "|---|---|---:|---:|---:|"]
    notes = []
    for r in ab["rows"]:
        mark = ""
        if r.get("note"):  # a row measured apart from the rest of the run
            if r["note"] not in notes:
                notes.append(r["note"])
            mark = f" ({'abcdefgh'[notes.index(r['note'])]})"
        lines.append(f"| `{r['name']}`: {r['description']}{mark} | {r['workload']} | "
                     f"{r['with']['median'] * 1e3:.2f} | {r['without']['median'] * 1e3:.2f} | "
                     f"{fmt_ratio(r['speedup'])} |")
    lines += [""] * bool(notes) + [f"({'abcdefgh'[k]}) {n}" for k, n in enumerate(notes)]
    q = ab.get("bucket_quality")
    if q:
        fmt = ", ".join
        lines += ["", (f"Length buckets and learning ({q['task']}): plain batches "
                  f"{fmt(f'{v:.3f}' for v in q['plain'])}; buckets of 8 batches "
                  f"{fmt(f'{v:.3f}' for v in q['buckets_of_8'])}.")]
    return "\n".join(lines)


def negation_section(neg):
    s = neg["summary"]
    acc = lambda v: f"{min(v):.2f}-{max(v):.2f}"
    lines = [
        (f"Median over random_state 0..{s['n_seeds'] - 1} ({neg['threads']} BLAS thread(s))"
         + (f"; each skrnn time is the mean of {neg['repeats']} repeated fits:"
            if neg.get("repeats", 1) > 1 else ":")),
        "",
        "| learner | seconds | test accuracy | vs the tutorial's run |",
        "|---|---:|---:|---:|",
        (f"| tutorial loop, {s['tutorial_epochs']} epochs, one sample at a time | "
        f"{s['tutorial_seconds']:.2f} | {acc(s['tutorial_accuracy'])} | 1x |"),
        (f"| skrnn, default `fit` (stops on its training loss; epochs "
        f"{min(s['skrnn_fit_epochs'])}-{max(s['skrnn_fit_epochs'])}) | "
        f"{s['skrnn_fit_seconds']:.3f} | {acc(s['skrnn_fit_accuracy'])} | "
        f"{s['speedup_fit']:.0f}x shorter |"),
    ]
    if s["skrnn_to_target_seconds"]:
        lines.append(f"| skrnn, `fit` stopped at the first epoch with test accuracy >= "
                     f"{neg['target']} ({s['skrnn_reached']}/{s['n_seeds']} seeds) | "
                     f"{s['skrnn_to_target_seconds']:.3f} | >= {neg['target']} | "
                     f"{s['speedup_to_target']:.0f}x shorter |")
    if s["tutorial_to_target_seconds"]:
        lines.append(f"| tutorial loop, stopped at the first epoch with test accuracy >= "
                     f"{neg['target']} ({s['tutorial_reached']}/{s['n_seeds']} seeds) | "
                     f"{s['tutorial_to_target_seconds']:.2f} | >= {neg['target']} | |")
    if s["speedup_to_target_both"]:
        lines += ["", (f"Time to {neg['target']} against time to {neg['target']}: "
                  f"{s['speedup_to_target_both']:.0f}x.")]
    return "\n".join(lines)


def plot(results, path):
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    names = [r["name"] for r in results]
    med = [r["ratio"]["median"] for r in results]
    err = [[r["ratio"]["median"] - r["ratio"]["q25"] for r in results],
           [r["ratio"]["q75"] - r["ratio"]["median"] for r in results]]
    steps = [r for r in results if "bound" in r]
    fig, axes = plt.subplots(1, 2, figsize=(11, 0.35 * len(names) + 1.6),
                             gridspec_kw={"width_ratios": [3, 2]})
    ax = axes[0]
    y = range(len(names))
    ax.barh(y, med, xerr=err, color="#4477aa", capsize=3)
    for goal, style in ((1.0, "-"), (1.5, "--")):
        ax.axvline(goal, color="k", linestyle=style, linewidth=0.8)
    ax.set_yticks(list(y), names)
    ax.invert_yaxis()
    ax.set_xlabel("throughput ratio skrnn / PyTorch (> 1: skrnn faster)")
    ax.set_title("skrnn against PyTorch CPU (median, IQR)")
    ax = axes[1]
    y = range(len(steps))
    ax.barh(y, [r["bound_ratio"]["median"] for r in steps],
            xerr=[[r["bound_ratio"]["median"] - r["bound_ratio"]["q25"] for r in steps],
                  [r["bound_ratio"]["q75"] - r["bound_ratio"]["median"] for r in steps]],
            color="#cc6677", capsize=3)
    ax.axvline(1.0, color="k", linewidth=0.8)
    ax.axvline(1.4, color="k", linestyle="--", linewidth=0.8)
    ax.set_yticks(list(y), [r["name"] for r in steps])
    ax.invert_yaxis()
    ax.set_xlabel("skrnn step time / matrix products alone")
    ax.set_title("distance to the lower bound")
    fig.tight_layout()
    fig.savefig(path, dpi=120)
    plt.close(fig)


def machine_lines(m):
    load = m.get("load_average")
    load_end = m.get("load_average_end")
    lines = [
        f"- CPU: {m['cpu']} ({m['cores']} cores), {m['machine']}",
        (f"- BLAS: {m['blas']}; threads: NumPy BLAS {m['threads']}, PyTorch "
        f"{m['torch_threads']}"),
        f"- Python {m['python']}, NumPy {m['numpy']}, PyTorch {m['torch']}",
        f"- command: `{m['command']}` ({m['seconds'] / 60:.0f} minutes)",
    ]
    if load and load_end:
        lines.append(f"- load average (1 min) at start {load[0]:.2f}, at end {load_end[0]:.2f}")
        if max(load[0], load_end[0]) > 0.5 * m["cores"]:
            lines.append("- **the machine was busy during this run: other work competed for "
                         "the cores, so absolute times are inflated and ratios are noisier "
                         "than on a quiet machine.**")
    if m.get("quick"):
        lines.append("- **`--quick` run: fewer rounds and smaller data than the full "
                     "benchmark.**")
    return "\n".join(lines)


INTRO = """\
# Performance

skrnn is NumPy only. This page measures it against PyTorch CPU on the same machine, in
the same process, at the same thread count, and against the time of the matrix
products alone. It is generated from a benchmark run by one command:

```
{command}
```

How the numbers are taken (details in `benchmarks/bench_vs_torch.py`):

- **Interleaved.** In every round each contender runs once, in a random order, after a
  pause that lets the previous one's worker threads go to sleep. A training step is then
  run once untimed and timed over at least 0.25 s of back-to-back steps, as a fit runs
  them. A ratio is computed per round; the tables give the median over rounds and its
  interquartile range [IQR].
- **PyTorch at its fastest.** Several formulations are screened in the same run and the
  fastest is kept (named below the table). Same shapes, float32, same optimizer (Adam,
  clipping at global norm 5, the estimator's L2), same thread count; each formulation is
  also screened at one thread, since skrnn's fit runs small models' products on one.
  PyTorch reads symbols as one-hot floats (its recurrent layers take no token ids), so
  it does input products where skrnn gathers rows.
- **Whole fits** run the same minibatches in the same order on both sides: the PyTorch
  loop takes its batches from skrnn's own batching function.
- **Lower bound.** For a training step, the bound is the time of only the products no
  implementation can avoid, in NumPy at the same shapes: the input projection (a gather
  for token ids), `h_(t-1) W_h` and `dz_t W_h^T` at every step, `dW_h` over all steps,
  `dW_x`, and the output layer's three products, under skrnn's thread policy.
  skrnn/bound is the price of everything else (activations, BPTT's element-wise work,
  the loss, Adam, Python).
- `skrnn/PyTorch` is a throughput ratio: > 1 means skrnn is faster.
"""

OPTIMISATIONS = """\
## What makes it fast

The name in brackets is the row of the ablation table below that measures it (time with
it undone / time with it, on the named workload); the others are not ablated.

- **One time loop, no loop over samples.** Minibatches are `(batch, hidden)` matrices,
  sorted by length so that at step `t` the running samples are a leading block of rows;
  finished samples drop out (exact masking, no arithmetic on padding).
- **Fused gates** [`fused-gates`]. LSTM and GRU keep their gates side by side in one
  `W_h`, so a step's recurrent product is one product, not one per gate, forward and
  backward.
- **Gate-major gate arrays** [`gate-major`, `gate-major-lstm`]. The gates over all
  steps are stored `(G, T, B, H)`, each gate a contiguous block, so the dozen
  element-wise calls per gate and step work on contiguous `(n, H)` blocks (also when
  only `n < B` samples are still running); NumPy is 3-4x slower per element on the
  strided blocks of a `(T, B, G*H)` layout. One strided pass per step moves the fused
  product in (and the gates' gradients out, backward). That pass costs about what the
  contiguous blocks save for the LSTM, whose row has stayed within the noise of 1 (0.95
  to 1.08 in the runs recorded in `benchmarks/results.json`'s history); the GRU gains.
- **A workspace per fit** [`workspace`, `workspace-gru`, `workspace-128`]. The arrays
  over all steps (gates, states, their gradients: ~20 MB per LSTM step here) are views
  of buffers reused from one minibatch to the next. New arrays that large come from
  the operating system page by page, thousands of page faults per LSTM step, until
  glibc's adaptive threshold keeps freed blocks in the process; the workspace makes the
  cost not depend on the allocator's history. These rows are timed in a new interpreter
  (in this benchmark's own process, after its earlier work, the gain is nil).
- **Gates by one `tanh`** [`sigmoid`]. `sigmoid(a) = 0.5 tanh(0.5 a) + 0.5`, with the
  0.5 folded into the weights once per pass: the fused gate row is activated by NumPy's
  vectorised `tanh` (`scipy.special.expit` is not vectorised and was the largest single
  cost of an LSTM step).
- **Gathers, not one-hot products** [`gather`, `gather-v5000`]. Token ids select rows
  of `W_x`; `dW_x` is one sparse scatter-add (a dense one-hot product only for tiny
  batches).
- **Weight gradients in one product** [`one-product-dW`]. `dW_h = sum_t h_(t-1)^T dz_t`
  is one `(H, T*B) @ (T*B, H)` product per gate after the backward loop.
- **Preallocated buffers** [`buffers`] **and in-place element-wise work** [`in-place`].
  `(T, B, H)` buffers are allocated once per pass and every step writes into slices of
  them with `out=`.
- **A contiguous `W_h^T`** [`contiguous-WT`] for the backward products (OpenBLAS is
  faster on it than on a transposed view).
- **float32** [`float32`] by default.
- **A packed optimizer** [`packed-optimizer`, `packed-optimizer-32`]. During a fit the
  parameters, their gradient and the optimizer's state are one vector each, and the
  named arrays the network reads are views of them: the L2 term (the penalised
  weights are packed first, as one block), clipping (the global norm is one dot
  product) and the Adam update are a dozen NumPy calls on one vector, not a dozen per
  parameter array, all in the parameters' dtype (no float64 temporaries for a float32
  model). Against a per-parameter version that is as careful with dtypes, the gain is
  within the run-to-run noise (the rows below; 0.91-1.46 over several runs): what it
  buys is the few calls per step, which count only for the smallest models.
- **Nothing redundant in the loop:** input validated once per fit [`validation`], NumPy
  log-softmax [`log-softmax`], batches come pre-sorted so the network neither sorts nor
  permutes, a zero initial state is written into the state buffer rather than made as
  arrays, and the padding rows of a buffer are zeroed one run of equal batch sizes (and
  all gates) at a time, or in one fill when the buffer is small.
- **Small fits are mostly call overhead.** A negation-sized minibatch (32 sentences of
  1-10 words, H=64) is a few hundred microseconds of many small NumPy calls, most of
  it the calls' own cost rather than arithmetic. Those calls were trimmed where
  results allow: lengths handled as Python lists, the
  one-hot rows of `dW_x` gathered from a cached identity, the ufuncs' own reductions
  instead of their Python wrappers, the vectorizer encoding all documents at once.
  `benchmarks/compare_revisions.py` times that fit for two revisions side by side.
- **One BLAS thread for small models' fits** [`blas-threads`] (per-step products below
  OpenBLAS's own threshold for threading, 2^18 multiply-adds): a threaded call waits
  for its workers, and on a machine whose other cores are busy that wait can be a
  scheduler time slice. Just above the threshold [`blas-threads-786k`] neither choice
  wins clearly (0.88 to 1.12 over the recorded runs, with the machine's load), and BLAS's
  threads are kept there since they pay more as the products grow. With one BLAS thread
  in the run these rows measure nothing.
- **Factors hoisted out of the loop where that pays:** the vanilla cell's `f'(a_t)` for
  all steps in one vectorised operation before BPTT; BPTT stops at `t = 0` (the initial
  state is not trained, so `dL/dh_0` is not computed); a small vocabulary's bias is added
  to `W_x` before the gather, not to every gathered row.
- **Bounded-memory prediction**: chunks sorted by length, at most
  `_PREDICT_CHUNK_ELEMENTS` floats per gate buffer (see Memory).

Using the second core by data parallelism [`one-thread-per-batch`] does not pay: the
batch split in two halves run by two Python threads (one BLAS thread each) is slower
than the whole batch at BLAS's threads. A step is a few dozen small NumPy calls whose
Python work runs under the GIL, the likely reason. The gap to PyTorch's LSTM is
element-wise work that it fuses into one compiled kernel per step; NumPy has no such
kernel.

Length bucketing [`buckets`] (batches of similar lengths, fewer steps per epoch) is
implemented and measured, but it is not the default: it makes a batch a biased sample
when the target depends on the length, and learning was measurably worse there (the
R^2 below the ablation table).
"""


def render(data, out_dir):
    out_dir.mkdir(parents=True, exist_ok=True)
    m = data["machine"]
    parts = [INTRO.format(command=COMMAND), "## Machine", "", machine_lines(m), ""]
    if data.get("results"):
        plot(data["results"], out_dir / "performance.png")
        parts += ["## skrnn against PyTorch", "",
                  "![throughput ratios and distance to the bound](performance.png)", "",
                  comparison_table(data["results"]), ""]
    if data.get("memory"):
        parts += ["## Memory", "",
                  ("Peak of the arrays skrnn allocates during the call (tracemalloc), beside "
                  "the size of the data it was given."), "", memory_table(data["memory"]), ""]
    parts += [OPTIMISATIONS]
    if data.get("ablation"):
        parts += ["## Ablation", "", f"BLAS threads: {data['ablation']['threads']}.", "",
                  ablation_table(data["ablation"]), ""]
    if data.get("negation"):
        parts += ["## Negation sentences against the tutorial loop", "",
                  ("`benchmarks/negation_vs_tutorial.py`: skrnn's default pipeline against "
                  "the per-sample NumPy loop that introductory RNN tutorials teach, on the "
                  "bundled negation sentences. The time to 0.95 stops on the test set, an "
                  "oracle both sides get alike."), "", negation_section(data["negation"]), ""]
    (out_dir / "performance.md").write_text("\n".join(parts))


def main(argv=None):
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("results", type=Path)
    parser.add_argument("--out", type=Path, default=ROOT / "docs")
    args = parser.parse_args(argv)
    render(json.loads(args.results.read_text()), args.out)
    print(f"wrote {args.out / 'performance.md'} and {args.out / 'performance.png'}")


if __name__ == "__main__":
    main()
