"""
Time series: who is speaking?
=============================

Nine men said the Japanese vowels "a" and "e" in a row; each recording is a
multivariate time series of 12 LPC cepstrum coefficients, 7 to 29 steps long (the
UEA/UCR archive's *JapaneseVowels*, bundled with skrnn). The task is to tell from a
recording who spoke it. The recordings have different lengths: skrnn takes them as
one float array ``(n_samples, n_timesteps, 12)`` in which shorter series are padded
at their end with all-NaN steps, which the network skips exactly.

A GRU classifier is fitted on the official 270 training recordings and scored on the
370 test recordings; a confusion matrix shows which speakers it mixes up. The
:doc:`time series page <../time_series>` compares it with nearest-neighbour
baselines over several seeds.
"""

# %%
# The data
# --------
# sphinx_gallery_thumbnail_number = 2
import matplotlib.pyplot as plt
import numpy as np
from sklearn.metrics import ConfusionMatrixDisplay

from skrnn import RNNClassifier
from skrnn.datasets import load_japanese_vowels

data = load_japanese_vowels()
X_train, X_test, y_train, y_test = data.X_train, data.X_test, data.y_train, data.y_test
lengths = (~np.isnan(X_train[:, :, 0])).sum(axis=1)
print(f"train {X_train.shape}, test {X_test.shape}; lengths {lengths.min()} to "
      f"{lengths.max()} steps")

# %%
# Two recordings, drawn channel by channel: the NaN padding after the end of the
# shorter one is simply not drawn.
fig, axes = plt.subplots(1, 2, figsize=(9, 3), sharey=True, layout="constrained")
for ax, i in zip(axes, [0, int(np.argmin(lengths))]):
    ax.plot(X_train[i], linewidth=1)
    ax.set(title=f"speaker {y_train[i]}, {lengths[i]} steps", xlabel="step")
axes[0].set_ylabel("LPC coefficient")
plt.show()

# %%
# Fit and score
# -------------
# One GRU layer of 64 units with the estimator's defaults otherwise (Adam, learning
# rate 0.01, batches of 32), and early stopping on a stratified 20% of the training
# set so that the number of epochs needs no tuning.
clf = RNNClassifier(cell="gru", hidden_layer_sizes=(64,), early_stopping=True,
                    validation_fraction=0.2, max_iter=100, random_state=0)
clf.fit(X_train, y_train)
print(f"{clf.n_iter_} epochs; test accuracy {clf.score(X_test, y_test):.3f} "
      f"on {len(y_test)} recordings")

# %%
# The confusion matrix
# --------------------
# Rows are the true speakers, columns the predicted ones, each row normalised to
# sum to 1: the diagonal is the share of a speaker's recordings recognised.
fig, ax = plt.subplots(figsize=(5.5, 5), layout="constrained")
ConfusionMatrixDisplay.from_estimator(clf, X_test, y_test, normalize="true",
                                      values_format=".2f", cmap="Blues", colorbar=False,
                                      ax=ax)
ax.set(title="JapaneseVowels test set, GRU (64 units)", xlabel="predicted speaker",
       ylabel="true speaker")
plt.show()
