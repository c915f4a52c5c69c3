"""
One label per step: which regime is a series in?
=================================================

:class:`~skrnn.RNNSequenceTagger` gives every step of a sequence its own label. Here
each sequence is a process whose mean switches between -1 and +1 at random times
(noise 0.7); the label of a step is the regime it is in. One value alone says little
(the noise is large); the steps around it say more, which a bidirectional network reads
from both sides. The series have 20 to 40 steps, padded at the end with NaN, and their
label arrays with -1 where the series is padding. Everything is generated here, with a
fixed seed. The same estimator tags words from their strings (part-of-speech tags of
Turkish: ``examples/tagging_turkish.py``).
"""

# %%
# Make the data
# -------------
import matplotlib.pyplot as plt
import numpy as np

from skrnn import RNNSequenceTagger

rng = np.random.RandomState(0)
n, T = 200, 40
regimes = np.cumsum(rng.rand(n, T) < 0.1, axis=1) % 2  # a switch at 1 step in 10
values = np.where(regimes == 1, 1.0, -1.0) + rng.normal(0, 0.7, (n, T))
lengths = rng.randint(T // 2, T + 1, n)
pad = np.arange(T)[None, :] >= lengths[:, None]
X = np.where(pad, np.nan, values)[:, :, None]  # (200, 40, 1), NaN after each end
y = np.where(pad, -1, regimes)  # (200, 40), -1 at padded steps
train, test = slice(0, 150), slice(150, None)

# %%
# Fit a bidirectional GRU tagger
# ------------------------------
# 16 units per direction, 20 epochs; ``score`` is the accuracy over every real step.
tagger = RNNSequenceTagger(hidden_layer_sizes=(16,), max_iter=20, random_state=0)
tagger.fit(X[train], y[train])
real = y[test] >= 0
by_sign = ((X[test, :, 0] > 0) == y[test])[real].mean()
print(f"test step accuracy: tagger {tagger.score(X[test], y[test]):.3f}, "
      f"the sign of each value alone {by_sign:.3f}")

# %%
# What the tagger sees
# --------------------
# ``predict_proba`` gives one ``(length, n_classes)`` array per series, each of its own
# length. Three test series: the values, the true regime, and the probability the
# tagger gives to the regime of mean +1.
proba = tagger.predict_proba(X[test])
fig, axes = plt.subplots(3, 1, figsize=(7, 5.5), sharex=True, layout="constrained")
for ax, i in zip(axes, range(3)):
    k = lengths[150 + i]
    steps = np.arange(k)
    ax.plot(steps, X[150 + i, :k, 0], ".", color="0.6", label="value")
    ax.step(steps, 2 * y[150 + i, :k] - 1, where="mid", color="k", label="true regime")
    ax.plot(steps, 2 * proba[i][:, 1] - 1, color="C1",
            label="2 P(mean +1) - 1, the tagger")
    ax.set(ylim=(-3.2, 3.2), ylabel="value")
axes[0].legend(fontsize=8, ncol=3, loc="upper left")
axes[-1].set_xlabel("step")
plt.show()

# %%
# The tagger follows the long stretches and the switches between them; where it errs
# is in short visits of a step or two to the other regime, whose few values say little
# against the steps around them.
