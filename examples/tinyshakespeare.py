"""
Writing Shakespeare one character at a time
===========================================

A vanilla recurrent network learns the tinyshakespeare corpus bundled with skrnn
(1.1 million characters) as one long document, by truncated backpropagation through
time: 64-character windows, 32 streams side by side, the hidden state carried from
window to window. The first 90 % of the text is for training, the last 10 % for
validation. The example plots the loss curve (when matplotlib is installed), prints
the validation loss in nats per character read with the state carried through the
whole validation text and from fresh starts (100-character windows, each read from a
zero state, which is how ``generate`` reads a prefix), and samples at three
temperatures.

Run::

    python examples/tinyshakespeare.py                   # 120 s of training
    python examples/tinyshakespeare.py --max-time 600    # better text
    python examples/tinyshakespeare.py --threads 1       # on a busy machine

On a machine shared with other work, ``--threads 1`` is often much faster: two BLAS
threads that wait for each other cost more than they gain on these small products.
"""

# %%
import argparse
import time
from contextlib import nullcontext

import numpy as np
from threadpoolctl import threadpool_limits

from skrnn import RNNSequenceGenerator
from skrnn.datasets import load_tinyshakespeare

# Characters of the validation text scored after each round, for the curve (the full
# validation loss is computed once, at the end).
CURVE_VALID_CHARS = 10_000


def parse_args(argv=None):
    parser = argparse.ArgumentParser(description=__doc__.strip().splitlines()[0])
    parser.add_argument("--max-time", type=float, default=120.0,
                        help="seconds of training in all (default: %(default)s)")
    parser.add_argument("--rounds", type=int, default=12,
                        help="points of the loss curve: training is split in this many "
                        "equal time slices (default: %(default)s)")
    parser.add_argument("--cell", choices=("rnn", "lstm", "gru"), default="rnn")
    parser.add_argument("--hidden", type=int, default=256, help="hidden units")
    parser.add_argument("--batch-size", type=int, default=32)
    parser.add_argument("--bptt-steps", type=int, default=64)
    parser.add_argument("--lr", type=float, default=2e-3)
    parser.add_argument("--random-state", type=int, default=0)
    parser.add_argument("--threads", type=int, default=None,
                        help="BLAS threads (default: leave NumPy's setting)")
    parser.add_argument("--png", default="tinyshakespeare_loss.png",
                        help="where to save the loss curve (default: %(default)s)")
    parser.add_argument("--sample-length", type=int, default=300)
    return parser.parse_args(argv)


def fresh_start_windows(text, width=100):
    """Windows that predict every character of ``text`` but the first exactly once,
    ``width`` per window: each window repeats the last character of the one before
    as its (unpredicted) first token."""
    return [text[i : i + width + 1] for i in range(0, len(text) - 1, width)]


def train(gen, text, valid, args):
    """Fit in ``args.rounds`` time slices (warm start); return the curve's points."""
    curve = {"seconds": [], "train": [], "valid": []}
    valid_head = valid[:CURVE_VALID_CHARS]
    spent = 0.0
    gen.set_params(warm_start=True, max_time=args.max_time / args.rounds)
    for k in range(args.rounds):
        start = time.perf_counter()
        gen.fit([text])  # continues from the previous round: weights and Adam state
        spent += time.perf_counter() - start
        curve["seconds"].append(spent)
        curve["train"].append(gen.loss_curve_[-1])  # mean loss of this round's windows
        curve["valid"].append(gen.loss([valid_head]))
        print(f"round {k + 1:2d}: {spent:6.1f} s, {gen.t_:7,} windows, training loss "
              f"{curve['train'][-1]:.3f}, validation loss (first {len(valid_head):,} chars) "
              f"{curve['valid'][-1]:.3f} nats/char", flush=True)
    return curve


def plot(curve, path):
    try:
        import matplotlib

        matplotlib.use("Agg")  # no display needed
        import matplotlib.pyplot as plt
    except ImportError:
        print("matplotlib is not installed: skipping the plot (pip install matplotlib).")
        return
    fig, ax = plt.subplots(figsize=(6, 4))
    ax.plot(curve["seconds"], curve["train"], "o-", label="training windows")
    ax.plot(curve["seconds"], curve["valid"], "s-",
            label=f"validation (first {CURVE_VALID_CHARS:,} chars)")
    ax.set_xlabel("training time (s)")
    ax.set_ylabel("loss (nats per character)")
    ax.set_title("tinyshakespeare, RNNSequenceGenerator")
    ax.grid(alpha=0.3)
    ax.legend()
    fig.tight_layout()
    fig.savefig(path, dpi=100)
    plt.close(fig)
    print(f"loss curve saved to {path}")


def main(argv=None):
    args = parse_args(argv)
    text = load_tinyshakespeare()
    cut = int(0.9 * len(text))
    text, valid = text[:cut], text[cut:]
    print(f"{len(text):,} training and {len(valid):,} validation characters, "
          f"{len(set(text))} symbols; {args.max_time:g} s of training")
    limits = nullcontext() if args.threads is None else threadpool_limits(args.threads)

    with limits:
        # %%
        # One long document, learned by truncated BPTT with the state carried.
        gen = RNNSequenceGenerator(
            cell=args.cell, hidden_layer_sizes=(args.hidden,), batch_size=args.batch_size,
            bptt_steps=args.bptt_steps, learning_rate_init=args.lr, clip_norm=5.0,
            max_iter=10**6, n_iter_no_change=10**6, random_state=args.random_state)
        curve = train(gen, text, valid, args)
        plot(curve, args.png)

        # %%
        # Validation loss: the state carried through all of it, and from fresh starts.
        carried = gen.loss([valid])
        fresh = gen.loss(fresh_start_windows(valid))
        uniform = np.log(len(gen.classes_))
        print(f"\nvalidation loss, nats/char (bits/char); uniform guess {uniform:.2f}:")
        print(f"  state carried through the text: {carried:.3f} ({carried / np.log(2):.3f})")
        print(f"  fresh starts, 100-char windows: {fresh:.3f} ({fresh / np.log(2):.3f})")

        # %%
        # Samples: logits divided by the temperature before the softmax.
        for temperature in (0.5, 0.8, 1.0):
            sample = gen.generate("ROMEO:\n", n_tokens=args.sample_length,
                                  temperature=temperature, random_state=0)
            print(f"\n--- temperature {temperature} ---\n{sample}")
    return {"carried": carried, "fresh": fresh, "curve": curve}


if __name__ == "__main__":
    main()
