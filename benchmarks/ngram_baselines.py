"""Character n-gram baselines on tinyshakespeare: the yardsticks of docs/generator.md.

Trains on the first 90 % of ``skrnn.datasets.load_tinyshakespeare()`` and reports nats per
character on the last 10 %, over the characters the generator's ``loss([valid])`` averages
(every validation character but the first, each given up to ``n - 1`` validation
characters before it):

* **uniform**: ``ln 65``, one guess over the corpus's 65 symbols;
* **n-gram, n = 1 .. 5**: interpolated absolute discounting (discount 0.75, the usual
  value) of the order-``n`` counts down to an add-one unigram over the 65 symbols:
  ``p(c | h) = max(N(h c) - D, 0) / N(h) + D * T(h) / N(h) * p(c | h')``, with ``T(h)``
  the number of distinct characters seen after ``h`` and ``h'`` the context one shorter;
  an unseen context uses ``p(c | h')``.

Pure Python, about ten seconds. Run::

    python benchmarks/ngram_baselines.py      # writes benchmarks/ngram_baselines.json
"""

import json
import math
from collections import Counter, defaultdict
from pathlib import Path

from skrnn.datasets import load_tinyshakespeare

MAX_ORDER = 5
DISCOUNT = 0.75


def count_contexts(train, order):
    """{context of order - 1 characters: Counter of the next character}."""
    k = order - 1
    table = defaultdict(Counter)
    for i in range(k, len(train)):
        table[train[i - k : i]][train[i]] += 1
    return table


def conditional(tables, unigram, history, char):
    """Interpolated absolute-discounting p(char | history), history of len(tables) - 1."""
    p = unigram[char]
    for k, table in enumerate(tables[1:], start=1):
        counts = table.get(history[len(history) - k :]) if len(history) >= k else None
        if not counts:
            continue  # an unseen (or too short) context: keep the lower order's p
        total = sum(counts.values())
        p = (max(counts[char] - DISCOUNT, 0) + DISCOUNT * len(counts) * p) / total
    return p


def nats_per_char(valid, tables, unigram):
    n = len(tables)
    total = 0.0
    for i in range(1, len(valid)):
        total -= math.log(conditional(tables, unigram, valid[max(0, i - n + 1) : i], valid[i]))
    return total / (len(valid) - 1)


def main():
    text = load_tinyshakespeare()
    cut = int(0.9 * len(text))
    train, valid = text[:cut], text[cut:]
    symbols = sorted(set(text))
    counts = Counter(train)
    unigram = {c: (counts[c] + 1) / (len(train) + len(symbols)) for c in symbols}
    results = {"uniform": math.log(len(symbols))}
    tables = [None]  # tables[k]: contexts of k characters
    for order in range(1, MAX_ORDER + 1):
        if order > 1:
            tables.append(count_contexts(train, order))
        results[f"{order}-gram"] = nats_per_char(valid, tables, unigram)
    out = {"train_chars": len(train), "valid_chars": len(valid), "symbols": len(symbols),
           "discount": DISCOUNT, "nats_per_char": results}
    path = Path(__file__).with_name("ngram_baselines.json")
    path.write_text(json.dumps(out, indent=1) + "\n")
    for name, nats in results.items():
        print(f"{name:8s} {nats:.3f} nats/char")


if __name__ == "__main__":
    main()
