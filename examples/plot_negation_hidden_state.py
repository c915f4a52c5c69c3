"""
Reading "not": the hidden state word by word
============================================

"this is not good" is negative and "this is not bad" positive: the two sentences
share three words and differ in one, and the word that decides is read *last*, after
"not" has changed what it means. A bag of words cannot tell such pairs apart; a
recurrent network carries what it has read in its hidden state ``h_t``. This example
trains ``SequenceVectorizer(analyzer="word") + RNNClassifier`` (a vanilla cell, 64
units, the defaults) on the 58 training sentences bundled with skrnn and draws
``h_t`` after each word of the two sentences.
"""

# %%
# Train the classifier
# --------------------
import matplotlib.pyplot as plt
import numpy as np
from sklearn.pipeline import make_pipeline

from skrnn import RNNClassifier, SequenceVectorizer
from skrnn.datasets import load_negation_sentiment

data = load_negation_sentiment()
# The vanilla cell, read from its final state: the model whose hidden state the code
# below recomputes by hand (the default is a GRU read through max pooling).
model = make_pipeline(SequenceVectorizer(analyzer="word"),
                      RNNClassifier(cell="rnn", pooling="last", batch_size=32,
                                    learning_rate_init=0.01, random_state=0))
model.fit(data.X_train, data.y_train)
vectorizer, clf = model[0], model[-1]
print(f"{clf.n_iter_} epochs; test accuracy {model.score(data.X_test, data.y_test):.2f} "
      f"on {len(data.X_test)} sentences; vocabulary of {len(vectorizer.vocabulary_)} words")

sentences = ["this is not good", "this is not bad"]
for sentence, label in zip(sentences, data.target_names[model.predict(sentences)]):
    print(f"{sentence!r} -> {label}")

# %%
# The hidden state after every word
# ---------------------------------
# skrnn has no public method that returns the hidden state of every step (its
# ``predict_proba`` returns what the softmax layer makes of the last one). The
# fitted weights are public, though (``params_``, shapes in the
# :class:`~skrnn.RNNClassifier` docstring), and the vanilla cell is two lines (see
# the :doc:`user guide <../user_guide>`): with token ids, ``x_t @ W_x`` is row
# ``x_t`` of ``W_x``, so
#
# .. code-block:: text
#
#     h_t = tanh(W_x[x_t] + b + h_{t-1} @ W_h),     h_0 = 0
#     P(class) = softmax(h_T @ W_y + b_y)
#
# The check below shows that these lines are the model: their probabilities equal
# ``predict_proba`` to float32 precision.
p = clf.params_
W_x, W_h, b, W_y, b_y = (p[k].astype(np.float64)
                         for k in ["l0.W_x", "l0.W_h", "l0.b", "W_y", "b_y"])


def hidden_states(sentence):
    """``(n_words, n_units)``: the state after each word, from a zero start."""
    ids = vectorizer.transform([sentence])[0]
    h = np.zeros(W_h.shape[0])
    states = []
    for token in ids[ids >= 0]:
        h = np.tanh(W_x[token] + b + h @ W_h)
        states.append(h)
    return np.array(states)


states = {s: hidden_states(s) for s in sentences}
for s in sentences:
    logits = states[s][-1] @ W_y + b_y
    proba = np.exp(logits - logits.max()) / np.exp(logits - logits.max()).sum()
    np.testing.assert_allclose(proba, model.predict_proba([s])[0], atol=1e-5)
print("the recomputed final states give predict_proba's probabilities")

# %%
# Draw them
# ---------
# One row per word, one column per hidden unit. The first three words of the two
# sentences are the same, and so are their states. The units are sorted by how
# differently the two sentences leave them after the last word (``h_T`` after "bad"
# minus ``h_T`` after "good"), so the last rows show where the sentences part.
# The column on the right adds up what the units say at each word:
# ``h_t @ (W_y[:, 1] - W_y[:, 0])`` is the evidence for "positive" (the log-odds
# less a constant bias) had the sentence ended there.
vote = W_y[:, 1] - W_y[:, 0]
order = np.argsort(states[sentences[1]][-1] - states[sentences[0]][-1])
limit = np.abs(np.concatenate([states[s] @ vote for s in sentences])).max()
fig, axes = plt.subplots(2, 2, figsize=(9, 4.6), layout="constrained",
                         gridspec_kw={"width_ratios": [14, 1]})
for (ax_h, ax_v), sentence in zip(axes, sentences):
    H = states[sentence]
    words = sentence.split()
    image = ax_h.imshow(H[:, order], aspect="auto", cmap="RdBu_r", vmin=-1, vmax=1,
                        interpolation="nearest")
    ax_h.set_yticks(range(len(words)), words)
    ax_h.set_xticks([])
    ax_h.set_title(f'"{sentence}"', loc="left")
    evidence = H @ vote
    ax_v.imshow(evidence[:, None], aspect="auto", cmap="PiYG", vmin=-limit, vmax=limit)
    for t, value in enumerate(evidence):
        ax_v.text(0, t, f"{value:+.1f}", ha="center", va="center", fontsize=9,
                  color="white" if abs(value) > 0.6 * limit else "black")
    ax_v.set_xticks([])
    ax_v.set_yticks([])
axes[0, 1].set_title("evidence")
axes[1, 0].set_xlabel("hidden units (64), sorted by h_T(not bad) - h_T(not good)")
fig.colorbar(image, ax=axes, label="h_t", shrink=0.7, pad=0.02)
plt.show()

# %%
# The probability after each prefix
# ---------------------------------
# The same story through the public API alone: ``predict_proba`` on each prefix of a
# sentence reads it from a zero state up to that word, so it gives P(positive)
# after every word. Until the last word the model hedges; the last word decides,
# and "good" and "bad" push it to opposite ends in the direction "not" has set.
fig, ax = plt.subplots(figsize=(6, 3.2), layout="constrained")
for sentence in sentences:
    words = sentence.split()
    prefixes = [" ".join(words[: t + 1]) for t in range(len(words))]
    ax.plot(range(len(words)), model.predict_proba(prefixes)[:, 1], "o-", label=sentence)
ax.set_xticks(range(4), ["this", "is", "not", "good / bad"])
ax.set_ylim(0, 1)
ax.axhline(0.5, color="0.7", linewidth=1)
ax.set_ylabel("P(positive)")
ax.legend()
plt.show()
