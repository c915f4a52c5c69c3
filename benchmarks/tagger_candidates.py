"""Candidate settings of RNNSequenceTagger on the Turkish Web Treebank (authors' split).

Each call fits the tagger with the given settings (on top of the defaults) for
``--seeds`` seeds and appends one JSON row to ``--out``: test token accuracy on all,
known and unknown tokens (mean, min, max over seeds), fit seconds and epochs.
This is how the tagger's defaults were chosen (docs/defaults.md).

Run::

    python benchmarks/tagger_candidates.py --name cosine --params '{"learning_rate": "cosine"}'
"""

import argparse
import json
import time

import numpy as np

from skrnn import RNNSequenceTagger
from skrnn.datasets import load_turkish_web_treebank


def main(argv=None):
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--name", required=True)
    parser.add_argument("--params", default="{}", help="JSON of tagger parameters")
    parser.add_argument("--seeds", type=int, default=3)
    parser.add_argument("--first-seed", type=int, default=0)
    parser.add_argument("--out", default="benchmarks/tagger_candidates.jsonl")
    args = parser.parse_args(argv)
    params = json.loads(args.params)
    if "hidden_layer_sizes" in params:
        params["hidden_layer_sizes"] = tuple(params["hidden_layer_sizes"])

    data = load_turkish_web_treebank()
    seen = {t for s in data.X_train for t in s}
    unknown = np.array([t not in seen for s in data.X_test for t in s])
    truth = np.concatenate([np.asarray(t) for t in data.y_test])
    rows = []
    for seed in range(args.first_seed, args.first_seed + args.seeds):
        start = time.perf_counter()
        tagger = RNNSequenceTagger(random_state=seed, **params).fit(data.X_train, data.y_train)
        seconds = time.perf_counter() - start
        right = np.concatenate(tagger.predict(data.X_test)) == truth
        rows.append((right.mean(), right[~unknown].mean(), right[unknown].mean(), seconds,
                     tagger.n_iter_))
        print(f"{args.name} seed {seed}: {rows[-1][0]:.4f} (known {rows[-1][1]:.4f}, "
              f"unknown {rows[-1][2]:.4f}) {seconds:.1f}s {tagger.n_iter_} epochs", flush=True)
    acc = np.array(rows)
    row = {"name": args.name, "params": args.params,
           "seeds": list(range(args.first_seed, args.first_seed + args.seeds)),
           "all": [round(float(v), 4) for v in (acc[:, 0].mean(), acc[:, 0].min(),
                                                 acc[:, 0].max())],
           "known": round(float(acc[:, 1].mean()), 4),
           "unknown": round(float(acc[:, 2].mean()), 4),
           "fit_s": [round(float(acc[:, 3].mean()), 1), round(float(acc[:, 3].max()), 1)],
           "epochs": [int(e) for e in acc[:, 4]]}
    with open(args.out, "a") as f:
        f.write(json.dumps(row) + "\n")
    print(json.dumps(row))


if __name__ == "__main__":
    main()
