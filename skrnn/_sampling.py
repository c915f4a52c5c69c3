"""Drawing tokens from a next-token model, one at a time, each fed back in."""

from numbers import Integral, Real

import numpy as np

from ._validation import Sequences


def check_sampling(n_tokens, temperature, top_k):
    """Validate the arguments of ``generate`` that shape the draws."""
    if isinstance(n_tokens, (bool, np.bool_)) or not isinstance(n_tokens, Integral) \
            or n_tokens < 0:
        raise ValueError(f"n_tokens must be an integer >= 0, got {n_tokens!r}.")
    if isinstance(temperature, (bool, np.bool_)) or not isinstance(temperature, Real) \
            or not np.isfinite(temperature) or temperature < 0:
        raise ValueError(f"temperature must be a finite number >= 0 (0 is greedy), got "
                         f"{temperature!r}.")
    if top_k is not None and (isinstance(top_k, (bool, np.bool_))
                              or not isinstance(top_k, Integral) or top_k < 1):
        raise ValueError(f"top_k must be None or an integer >= 1, got {top_k!r}.")


def draw(logits, temperature, top_k, rng):
    """One token id from ``softmax(logits / temperature)``, restricted to the top k."""
    z = logits - logits.max()  # <= 0; -inf for impossible tokens
    if top_k is not None and top_k < z.size:
        keep = np.argsort(-z, kind="stable")[:top_k]
        masked = np.full_like(z, -np.inf)
        masked[keep] = z[keep]
        z = masked
    if temperature == 0:
        return int(np.argmax(z))
    p = np.exp(z / temperature)  # (z - max) / T stays <= 0: no overflow for any T > 0
    cdf = np.cumsum(p)
    return int(min(np.searchsorted(cdf, rng.random_sample() * cdf[-1], side="right"),
                   z.size - 1))


def sample(net, params, state, logits, n_tokens, temperature, top_k, rng, exclude=None):
    """Yield up to ``n_tokens`` token ids: each drawn from ``logits``, then read.

    ``state`` and ``logits`` are the network's after the prefix (float64 logits of one
    sequence); the token ``exclude`` (an id, or None) is never drawn. A caller that
    stops early stops the reading too.
    """
    for i in range(n_tokens):
        if exclude is not None:
            logits = logits.copy()
            logits[exclude] = -np.inf
        token = draw(logits, temperature, top_k, rng)
        yield token
        if i + 1 < n_tokens:
            x = Sequences(np.array([[token]]), np.array([1]), "index", net.n_inputs)
            logits, state = net.forward(params, x, state)
            logits = logits[0].astype(np.float64)


def join_until(words, sep, stop):
    """Join ``words`` with ``sep``, ending with the first occurrence of ``stop``.

    Consumes ``words`` only up to the word that completes ``stop``.
    """
    text = ""
    for word in words:
        before = len(text)
        text += (sep if text else "") + word
        if stop is not None:
            hit = text.find(stop, max(0, before - len(stop) + 1))
            if hit >= 0:
                return text[: hit + len(stop)]
    return text
