"""What ``state_reset_proba`` does to a character model read from fresh starts.

Trains ``RNNSequenceGenerator`` (vanilla cell, 128 units, Adam 2e-3) on the first 90 % of
tinyshakespeare for ``--budget`` seconds (``max_time``) with ``state_reset_proba`` 0.0
(classic truncated BPTT) and 0.1 (the default), on one BLAS thread, and reports on the
last 10 %, in nats per character: the loss with the state carried through the whole
text, from fresh starts (windows of 100 predicted characters, each read from a zero
state), and over the first 10 characters of each fresh window. Public API only.

    python benchmarks/state_reset_proba.py          # writes benchmarks/state_reset_proba.json
"""

import argparse
import json
from pathlib import Path

from threadpoolctl import threadpool_limits

from skrnn import RNNSequenceGenerator
from skrnn.datasets import load_tinyshakespeare


def main(argv=None):
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--budget", type=float, default=40.0, help="seconds of training each")
    parser.add_argument("--json", default=str(Path(__file__).with_name("state_reset_proba.json")))
    args = parser.parse_args(argv)
    text = load_tinyshakespeare()
    cut = int(0.9 * len(text))
    train, valid = text[:cut], text[cut:]
    windows = [valid[i : i + 101] for i in range(0, len(valid) - 1, 100)]
    rows = []
    with threadpool_limits(1):
        for p in (0.0, 0.1):
            gen = RNNSequenceGenerator(hidden_layer_sizes=(128,), learning_rate_init=2e-3,
                                       max_iter=10**6, n_iter_no_change=10**6,
                                       max_time=args.budget, state_reset_proba=p,
                                       random_state=0).fit([train])
            per_token = gen.loss(windows, per_token=True)
            first10 = sum(w[:10].sum() for w in per_token) / (10 * len(windows))
            rows.append({"state_reset_proba": p, "windows_trained": int(gen.t_),
                         "carried": float(gen.loss([valid])),
                         "fresh": float(gen.loss(windows)), "fresh_first_10": float(first10)})
            print(rows[-1], flush=True)
    Path(args.json).write_text(json.dumps({"budget_seconds": args.budget, "rows": rows},
                                          indent=1) + "\n")


if __name__ == "__main__":
    main()
