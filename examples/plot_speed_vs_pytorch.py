"""
Speed against PyTorch
=====================

How fast skrnn trains and predicts next to PyTorch on the CPU, from the benchmark
results stored in the repository (``benchmarks/results.json``). Nothing is timed
here: this example only reads the file and draws it. The numbers come from::

    python benchmarks/bench_vs_torch.py --json benchmarks/results.json

which interleaves skrnn and PyTorch round by round on the same machine, at the same
thread count, with the fastest of several PyTorch formulations (see the
:doc:`performance page <../performance>` for how they are taken).
"""

# %%
# The stored run
# --------------
# Every workload has the median time of each side over the rounds, and the median
# and interquartile range of the per-round throughput ratio ``PyTorch time / skrnn
# time``: above 1, skrnn is faster.
import json
from pathlib import Path

import matplotlib.pyplot as plt
import numpy as np
from matplotlib.patches import Patch

try:
    EXAMPLES = Path(__file__).resolve().parent
except NameError:  # the docs build runs examples in their folder, without __file__
    EXAMPLES = Path.cwd()
RESULTS = EXAMPLES.parent / "benchmarks" / "results.json"
run = json.loads(RESULTS.read_text(encoding="utf-8"))
machine = run["machine"]
print(f"{machine['cpu']}, {machine['cores']} cores, {machine['blas']}; "
      f"NumPy {machine['numpy']}, PyTorch {machine['torch']}, {machine['threads']} threads")
print(f"command: {machine['command']} ({machine['seconds'] / 60:.0f} minutes)")
# A load average above 1 on two cores means other work shared the machine during the
# run: absolute times are then inflated, and the ratios noisier.
print(f"load average (1 min): {machine['load_average'][0]:.2f} at the start, "
      f"{machine['load_average_end'][0]:.2f} at the end")

results = run["results"]
for r in results:
    print(f"{r['name']:>16}: skrnn {1e3 * r['skrnn']['median']:8.1f} ms, "
          f"PyTorch {1e3 * r['torch']['median']:8.1f} ms, "
          f"ratio {r['ratio']['median']:.2f}  ({r['describe']})")

# %%
# Throughput ratio per workload
# -----------------------------
# One training step of a many-to-one or many-to-many model (``step``), a whole
# ``predict_proba`` over 10,000 sequences (``predict``), and whole fits of three
# epochs over 2,048 ragged sequences (``fit``). The bars are the median ratio, the
# whiskers its interquartile range over the rounds.
kinds = {"step": "tab:blue", "predict": "tab:orange", "fit": "tab:green"}
names = [r["name"] for r in results]
ratio = np.array([r["ratio"]["median"] for r in results])
low = ratio - np.array([r["ratio"]["q25"] for r in results])
high = np.array([r["ratio"]["q75"] for r in results]) - ratio
y = np.arange(len(results))[::-1]

fig, ax = plt.subplots(figsize=(7, 5.5), layout="constrained")
ax.barh(y, ratio, xerr=[low, high], color=[kinds[r["kind"]] for r in results],
        capsize=3)
ax.axvline(1.0, color="black", linewidth=1)
ax.set_yticks(y, names)
ax.set_xlabel("PyTorch time / skrnn time (> 1: skrnn is faster)")
ax.set_title("skrnn against PyTorch CPU, same machine and threads")
ax.legend(handles=[Patch(color=color, label=kind) for kind, color in kinds.items()],
          title="workload", loc="lower right")
plt.show()

# %%
# Time of a training step, and the lower bound
# --------------------------------------------
# For a training step the benchmark also times the matrix products that no
# implementation can avoid at these shapes (the *bound*). The gap between skrnn and
# the bound is everything else: the element-wise work of BPTT, the loss, Adam and
# Python itself.
steps = [r for r in results if r["kind"] == "step"]
x = np.arange(len(steps))
width = 0.27
fig, ax = plt.subplots(figsize=(7, 4), layout="constrained")
for k, (key, label, color) in enumerate([("bound", "bound (products only)", "0.6"),
                                         ("skrnn", "skrnn", "tab:blue"),
                                         ("torch", "PyTorch", "tab:red")]):
    ms = [1e3 * r[key]["median"] for r in steps]
    ax.bar(x + (k - 1) * width, ms, width, label=label, color=color)
ax.set_xticks(x, [r["name"] for r in steps], rotation=30, ha="right")
ax.set_yscale("log")
ax.set_ylabel("ms per training step (log scale)")
ax.legend()
plt.show()
