"""
A character model learning to write
===================================

A character-level language model reads text one character at a time and, at every
step, predicts the next one: the char-rnn of Andrej Karpathy's *The Unreasonable
Effectiveness of Recurrent Neural Networks*, here :class:`~skrnn.RNNSequenceGenerator`
on the first 200,000 characters (by default) of Shakespeare (``skrnn.datasets.load_tinyshakespeare``).

With ``warm_start=True`` and ``max_iter=1`` every call to ``fit`` trains one more
epoch from where the previous call stopped (weights *and* Adam's state), so that we
can stop after each epoch, measure the model in *bits per character* on text it has
not seen, and let it write.

The defaults keep the run to about half a minute on two cores. For a longer run set
the environment variables ``SKRNN_EXAMPLE_CHARS`` (training characters, up to about
a million) and ``SKRNN_EXAMPLE_EPOCHS``; ``examples/tinyshakespeare.py`` is the full
study.
"""

# %%
# Data and model
# --------------
# The training text is the first ``n_chars`` characters; the validation text is the
# 10,000 characters that follow it. Bits per character is the cross-entropy in base
# 2: a model that knew nothing but the 62 symbols would score log2(62) = 5.95.
import os
import textwrap
import warnings

import matplotlib.pyplot as plt
import numpy as np
from sklearn.exceptions import ConvergenceWarning

from skrnn import RNNSequenceGenerator
from skrnn.datasets import load_tinyshakespeare

n_chars = int(os.environ.get("SKRNN_EXAMPLE_CHARS", "200000"))
n_epochs = int(os.environ.get("SKRNN_EXAMPLE_EPOCHS", "10"))
text = load_tinyshakespeare()
train, valid = text[:n_chars], text[n_chars:n_chars + 10_000]
print(f"{len(train):,} training characters ({len(set(train))} symbols), "
      f"{len(valid):,} validation characters; {n_epochs} epochs")

gen = RNNSequenceGenerator(hidden_layer_sizes=(128,), bptt_steps=64, batch_size=32,
                           learning_rate_init=0.01, max_iter=1, warm_start=True,
                           random_state=0)

# %%
# Train one epoch at a time
# -------------------------
# Each ``fit`` stops at ``max_iter=1`` on purpose, so the :class:`ConvergenceWarning`
# that says so is silenced. After each epoch the model writes 150 characters after
# the prefix ``"ROMEO:"`` at temperature 0.8, always with the same seed, so that the
# samples differ only by what the model has learned.
valid_bits, samples = [], {}
with warnings.catch_warnings():
    warnings.simplefilter("ignore", ConvergenceWarning)
    for epoch in range(1, n_epochs + 1):
        gen.fit([train])
        valid_bits.append(gen.loss([valid], unit="bits"))
        samples[epoch] = gen.generate("ROMEO:", n_tokens=150, temperature=0.8,
                                      random_state=0)
        print(f"epoch {epoch:2d}: training {gen.loss_curve_[-1] / np.log(2):.3f}, "
              f"validation {valid_bits[-1]:.3f} bits per character")

# %%
# What it writes
# --------------
# After one epoch the model has the shape of the text (names in capitals followed by
# a colon, short lines) and some frequent words; later samples have more real words
# and fewer invented ones. Long lines are wrapped here for reading.
for epoch in sorted({1, (n_epochs + 1) // 2, n_epochs}):
    print(f"--- after {epoch} epoch{'s' if epoch > 1 else ''} "
          f"({valid_bits[epoch - 1]:.2f} bits per character) ---")
    for line in samples[epoch].split("\n"):
        print(textwrap.fill(line, width=80) if line else "")
    print()

# %%
# Bits per character
# ------------------
# ``loss_curve_`` holds the mean training loss of each epoch in nats (divide by
# ln 2 for bits); :meth:`~skrnn.RNNSequenceGenerator.loss` with ``unit="bits"``
# measures the validation text. The gap between the two grows as the small model
# starts to learn its training text by heart.
epochs = np.arange(1, n_epochs + 1)
fig, ax = plt.subplots(figsize=(6, 3.5), layout="constrained")
ax.plot(epochs, np.array(gen.loss_curve_) / np.log(2), "o-",
        label="training (mean over the epoch)")
ax.plot(epochs, valid_bits, "o-", label="validation (after the epoch)")
ax.set(xlabel="epoch", ylabel="bits per character",
       title=f"RNNSequenceGenerator, 128 units, {len(train):,} characters")
ax.legend()
plt.show()
