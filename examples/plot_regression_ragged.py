"""
Regression on ragged series: how fast does it wave?
===================================================

:class:`~skrnn.RNNRegressor` predicts a number from a whole sequence. Here each
sequence is a noisy sine wave of 10 to 60 steps with its own frequency and phase, and
the target is the frequency (cycles per step). The series have different lengths:
:func:`~skrnn.pad_sequences` stacks them into one float array, padded at the end with
NaN steps that the network skips exactly. Everything is generated here, with a fixed
seed.
"""

# %%
# Make the data
# -------------
import matplotlib.pyplot as plt
import numpy as np

from skrnn import RNNRegressor, pad_sequences

rng = np.random.default_rng(0)
n_series = 800
lengths = rng.integers(10, 61, size=n_series)
frequency = rng.uniform(0.02, 0.2, size=n_series)
phase = rng.uniform(0, 2 * np.pi, size=n_series)
series = [np.sin(2 * np.pi * f * np.arange(n) + p) + 0.1 * rng.standard_normal(n)
          for f, p, n in zip(frequency, phase, lengths)]
X = pad_sequences(series)
print(f"X: {X.shape} {X.dtype}; {np.isnan(X).all(axis=2).sum()} of "
      f"{X.shape[0] * X.shape[1]} steps are padding")

train, test = slice(0, 600), slice(600, None)

# %%
# Three of the series, each drawn up to its own length (the NaN padding after it is
# not drawn).
fig, ax = plt.subplots(figsize=(7, 2.8), layout="constrained")
for i in range(3):
    ax.plot(X[i, :, 0], ".-", label=f"{lengths[i]} steps, frequency {frequency[i]:.3f}")
ax.set(xlabel="step", ylabel="value")
ax.legend(fontsize=8)
plt.show()

# %%
# Fit a GRU regressor
# -------------------
# 32 units, early stopping on 10% of the 600 training series; ``score`` is R^2.
reg = RNNRegressor(cell="gru", hidden_layer_sizes=(32,), early_stopping=True,
                   max_iter=100, random_state=0)
reg.fit(X[train], frequency[train])
predicted = reg.predict(X[test])
print(f"{reg.n_iter_} epochs; test R^2 {reg.score(X[test], frequency[test]):.3f} on "
      f"{len(predicted)} series")

# %%
# Predicted against true frequency
# --------------------------------
# Each dot is a test series, coloured by its length. The hardest series are those
# that hold less than one period of their wave (``frequency * length < 1``: slow
# waves in short series, dark dots at the bottom left): the right panel plots the
# error against the number of periods a series holds.
error = np.abs(predicted - frequency[test])
periods = frequency[test] * lengths[test]
short = periods < 1
print(f"median absolute error: {np.median(error[short]):.4f} for the {short.sum()} series "
      f"with less than one period, {np.median(error[~short]):.4f} for the others")

fig, (ax_fit, ax_err) = plt.subplots(1, 2, figsize=(9, 4), layout="constrained")
dots = ax_fit.scatter(frequency[test], predicted, c=lengths[test], s=12, cmap="viridis")
ax_fit.plot([0.02, 0.2], [0.02, 0.2], color="black", linewidth=1)
ax_fit.set(xlabel="true frequency (cycles per step)", ylabel="predicted frequency",
           aspect="equal")
fig.colorbar(dots, ax=ax_fit, label="length (steps)", location="top", shrink=0.8)
ax_err.scatter(periods, error, s=12, c=lengths[test], cmap="viridis")
ax_err.axvline(1, color="0.5", linewidth=1)
ax_err.set(xlabel="periods in the series (frequency x length)", ylabel="absolute error",
           xscale="log", yscale="log")
plt.show()
