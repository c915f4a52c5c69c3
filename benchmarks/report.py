"""Write docs/performance.md and docs/performance.png from a bench_vs_torch.py JSON file.

Run::

    python benchmarks/bench_vs_torch.py --json benchmarks/results.json
    python benchmarks/report.py benchmarks/results.json

The page is ``performance_template.md`` (prose, no figures) with its ``$placeholders``
filled from the JSON file: every figure of the tables and the plot comes from it (the
targets are the issue's). The page is regenerated, never edited; the measurements behind
the design choices are in ``docs/decisions.md``.
"""

import argparse
import json
import string
import sys
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent))

from _common import fmt_ratio, mib

from skrnn import _tuning

HERE = Path(__file__).resolve().parent
ROOT = HERE.parent
TEMPLATE = HERE / "performance_template.md"
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


def ablation_table(ab, live):
    """The rows of ``ab`` that ``benchmarks/ablation.py`` still has (names in ``live``),
    and a line on the others: settled rows of an older run, live rows it lacks."""
    rows = [r for r in ab["rows"] if r["name"] in live]
    lines = [f"BLAS threads: {ab['threads']}.", ""]
    if rows:
        lines += ["| threshold | workload | ms with | ms without | gain: without / with [IQR] |",
                  "|---|---|---:|---:|---:|"]
        lines += [f"| `{r['name']}`: {r['description']} | {r['workload']} | "
                  f"{r['with']['median'] * 1e3:.2f} | {r['without']['median'] * 1e3:.2f} | "
                  f"{fmt_ratio(r['speedup'])} |" for r in rows]
    settled = [r["name"] for r in ab["rows"] if r["name"] not in live]
    missing = [name for name in live if name not in {r["name"] for r in ab["rows"]}]
    if settled:
        lines += ["", ("Rows of this results file that `benchmarks/ablation.py` no longer "
                       "times (settled; their figures are in [decisions](decisions.md)): "
                       + ", ".join(f"`{n}`" for n in settled) + ".")]
    if missing:
        lines += ["", ("Rows not in this results file (added to `benchmarks/ablation.py` "
                       "after it was run): " + ", ".join(f"`{n}`" for n in missing) + ".")]
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


def method_note(results):
    """A warning when the step rows were timed before skrnn was timed through ``fit``."""
    steps = [r for r in results if r["kind"] == "step"]
    if steps and not all("skrnn_method" in r for r in steps):
        return ("\n**This results file predates the benchmarks' public-API method: its "
                "training steps were timed on skrnn's internal step function, and its "
                "whole fits gave PyTorch skrnn's own minibatches. The next full run "
                "replaces it.**\n")
    return ""


def _power_of_two(n):
    """``2^k`` for a power of two, else the number with thousands separators."""
    return f"2^{n.bit_length() - 1}" if n > 0 and n & (n - 1) == 0 else f"{n:,}"


def render(data, out_dir, template=TEMPLATE):
    out_dir.mkdir(parents=True, exist_ok=True)
    import ablation

    absent = "(not in this results file)"
    results = data.get("results") or []
    if results:
        plot(results, out_dir / "performance.png")
        comparison = ("![throughput ratios and distance to the bound](performance.png)\n\n"
                      + comparison_table(results))
    else:
        comparison = absent
    fields = {
        "command": COMMAND,
        "method_note": method_note(results),
        "machine": machine_lines(data["machine"]),
        "comparison": comparison,
        "memory": memory_table(data["memory"]) if data.get("memory") else absent,
        "ablation": (ablation_table(data["ablation"], list(ablation.ablations()))
                     if data.get("ablation") else absent),
        "negation": negation_section(data["negation"]) if data.get("negation") else absent,
        "small_step_product": _power_of_two(_tuning.SMALL_STEP_PRODUCT),
    }
    page = string.Template(template.read_text()).substitute(fields)
    (out_dir / "performance.md").write_text(page)


def main(argv=None):
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("results", type=Path)
    parser.add_argument("--out", type=Path, default=ROOT / "docs")
    args = parser.parse_args(argv)
    render(json.loads(args.results.read_text()), args.out)
    print(f"wrote {args.out / 'performance.md'} and {args.out / 'performance.png'}")


if __name__ == "__main__":
    main()
