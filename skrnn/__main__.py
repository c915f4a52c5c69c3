"""Command line of skrnn: train a next-token model on a text file, then write with it.

Usage::

    python -m skrnn train input.txt model.joblib --hidden-sizes 256 --epochs 50 \
        --max-time 600
    python -m skrnn generate model.joblib --prefix "ROMEO:" --n-tokens 300 --temperature 0.8

The installed ``skrnn`` command is the same program. ``train`` fits an
:class:`~skrnn.RNNSequenceGenerator` (progress lines with tokens/s, loss and ETA
go to stdout) and saves it with joblib; ``generate`` loads such a file and prints
the prefix followed by the generated text. Run ``python -m skrnn train --help``
for every option.

A joblib file is a pickle: load only model files you trust.
"""

import argparse
import os
import sys
import time
import warnings

import joblib
from sklearn.exceptions import ConvergenceWarning

from ._generator import RNNSequenceGenerator

__all__ = ["main"]


def _hidden_sizes(value):
    """'256' -> (256,); '256,128' -> (256, 128): one entry per stacked layer."""
    try:
        sizes = tuple(int(part) for part in value.split(","))
    except ValueError:
        raise argparse.ArgumentTypeError(
            f"expected positive integers separated by commas (e.g. 256 or 256,128), got "
            f"{value!r}") from None
    if not sizes or min(sizes) < 1:
        raise argparse.ArgumentTypeError(f"hidden sizes must be positive, got {value!r}")
    return sizes


def _build_parser():
    parser = argparse.ArgumentParser(
        prog="skrnn", description="Train a recurrent next-token model on text, or write "
        "text with one.")
    commands = parser.add_subparsers(dest="command", required=True)

    train = commands.add_parser(
        "train", help="fit an RNNSequenceGenerator on a text file and save it",
        description="Fit an RNNSequenceGenerator on a text file and save it with joblib. "
        "By default the whole file is one document, learned by truncated BPTT.")
    train.add_argument("text", help="UTF-8 text file to learn from")
    train.add_argument("model", help="where to save the fitted model (joblib file)")
    train.add_argument("--by-line", action="store_true",
                       help="each non-empty line is a separate document (short texts)")
    train.add_argument("--analyzer", choices=("char", "word"), default="char",
                       help="tokens: characters or words (default: %(default)s)")
    train.add_argument("--lowercase", action="store_true", help="lowercase the text first")
    train.add_argument("--cell", choices=("rnn", "lstm", "gru"), default="rnn",
                       help="recurrent cell (default: %(default)s)")
    train.add_argument("--hidden-sizes", type=_hidden_sizes, default=(128,), metavar="H[,H...]",
                       help="units per stacked layer, e.g. 256 or 256,256 (default: 128)")
    train.add_argument("--bptt-steps", type=int, default=64,
                       help="truncated-BPTT window in tokens (default: %(default)s)")
    train.add_argument("--state-reset-proba", type=float, default=0.1,
                       help="share of windows trained from a zero state (default: "
                       "%(default)s)")
    train.add_argument("--batch-size", type=int, default=32,
                       help="parallel streams per minibatch (default: %(default)s)")
    train.add_argument("--lr", type=float, default=2e-3,
                       help="Adam learning rate (default: %(default)s)")
    train.add_argument("--clip-norm", type=float, default=5.0,
                       help="global gradient-norm clipping (default: %(default)s)")
    train.add_argument("--epochs", type=int, default=10,
                       help="maximum passes over the text (default: %(default)s)")
    train.add_argument("--max-time", type=float, default=None, metavar="SECONDS",
                       help="stop training after this many seconds (default: no limit)")
    train.add_argument("--random-state", type=int, default=None,
                       help="seed: the same seed gives the same model (without --max-time)")
    train.add_argument("--quiet", action="store_true", help="no progress lines")

    gen = commands.add_parser(
        "generate", help="continue a prefix with a saved model",
        description="Load a model saved by 'skrnn train' and print the prefix followed by "
        "the generated tokens.")
    gen.add_argument("model", help="model file written by 'skrnn train'")
    gen.add_argument("--prefix", default="", help="text to continue (default: empty)")
    gen.add_argument("-n", "--n-tokens", type=int, default=200,
                     help="tokens to generate (default: %(default)s)")
    gen.add_argument("--temperature", type=float, default=1.0,
                     help="logits are divided by it before the softmax; 0 is greedy "
                     "(default: %(default)s)")
    gen.add_argument("--top-k", type=int, default=None,
                     help="draw only among the k most likely tokens (default: all)")
    gen.add_argument("--random-state", type=int, default=None,
                     help="seed of the draws: the same seed gives the same text")
    gen.add_argument("--stop", default=None,
                     help="end early once the generated text contains this string")
    return parser


def _read_documents(path, by_line):
    try:
        # utf-8-sig: a byte-order mark (as Windows editors write) is not a token
        with open(path, encoding="utf-8-sig") as f:
            text = f.read()
    except UnicodeDecodeError as exc:
        raise ValueError(f"{path} is not UTF-8 text ({exc}). Convert it to UTF-8 first, "
                         "e.g. with iconv.") from None
    if by_line:
        return [line for line in text.splitlines() if line.strip()]
    return [text]


# The estimator's parameters that train's options set, by option name.
_OPTIONS = {"hidden_layer_sizes": "--hidden-sizes", "batch_size": "--batch-size",
            "learning_rate_init": "--lr", "clip_norm": "--clip-norm", "max_iter": "--epochs",
            "bptt_steps": "--bptt-steps", "state_reset_proba": "--state-reset-proba",
            "max_time": "--max-time"}


def _check_writable(path):
    """Fail before training, not after it, if the model cannot be saved to ``path``."""
    if os.path.isdir(path):
        raise ValueError(f"cannot save the model to {path}: it is a directory.")
    folder = os.path.dirname(os.path.abspath(path))
    if not os.path.isdir(folder):
        raise ValueError(f"cannot save the model to {path}: folder {folder} does not exist.")
    if not os.access(folder, os.W_OK) or (os.path.exists(path) and not os.access(path, os.W_OK)):
        raise ValueError(f"cannot save the model to {path}: no permission to write there.")


def _train(args):
    _check_writable(args.model)
    documents = _read_documents(args.text, args.by_line)
    model = RNNSequenceGenerator(
        cell=args.cell, hidden_layer_sizes=args.hidden_sizes, batch_size=args.batch_size,
        learning_rate_init=args.lr, clip_norm=args.clip_norm, max_iter=args.epochs,
        bptt_steps=args.bptt_steps, state_reset_proba=args.state_reset_proba,
        max_time=args.max_time, analyzer=args.analyzer, lowercase=args.lowercase,
        random_state=args.random_state, verbose=0 if args.quiet else 1)
    try:  # a bad option fails now, not after reading the text; named as an option
        model._validate_params()
    except ValueError as exc:
        message = str(exc)
        for parameter, option in _OPTIONS.items():
            if message.startswith(parameter + " "):
                message = option + message[len(parameter):]
        raise ValueError(message) from None
    n_tokens = sum(len(model._vectorizer().build_analyzer()(doc)) for doc in documents)
    if not args.quiet:
        print(f"Training on {n_tokens:,} tokens in {len(documents):,} document(s) from "
              f"{args.text}", flush=True)
    start = time.perf_counter()
    with warnings.catch_warnings():
        # Running all --epochs is the normal end of a command-line run, not a problem.
        warnings.simplefilter("ignore", ConvergenceWarning)
        model.fit(documents)
    seconds = time.perf_counter() - start
    joblib.dump(model, args.model)
    if not args.quiet:
        # the last epoch is partial when --max-time stopped it
        print(f"Done: {model.n_iter_} epoch(s) in {seconds:.1f}s, last epoch's loss "
              f"{model.loss_curve_[-1]:.4f} nats/token, vocabulary of {len(model.classes_)} "
              f"tokens. Saved to {args.model}", flush=True)
    return 0


def _generate(args):
    if not os.path.isfile(args.model):
        raise ValueError(f"{args.model} is not a file.")
    try:
        model = joblib.load(args.model)
    except Exception as exc:  # noqa: BLE001 (unpickling a foreign file can raise anything)
        raise ValueError(f"{args.model} is not a model file written by 'skrnn train' "
                         f"({type(exc).__name__}: {exc}).") from None
    if not isinstance(model, RNNSequenceGenerator):
        print(f"skrnn: error: {args.model} holds a {type(model).__name__}, not an "
              "RNNSequenceGenerator written by 'skrnn train'.", file=sys.stderr)
        return 1
    text = model.generate(args.prefix, args.n_tokens, temperature=args.temperature,
                          top_k=args.top_k, random_state=args.random_state, stop=args.stop)
    print(text)
    return 0


def main(argv=None):
    """Run the command line with ``argv`` (default: ``sys.argv[1:]``); return the exit code.

    Invalid options exit with code 2 (argparse); a file that cannot be read and an
    invalid value (an unknown token in the prefix, say) print ``skrnn: error: ...`` to
    stderr and return 1.
    """
    args = _build_parser().parse_args(argv)
    command = _train if args.command == "train" else _generate
    try:
        return command(args)
    except (OSError, ValueError) as exc:
        print(f"skrnn: error: {exc}", file=sys.stderr)
        return 1


if __name__ == "__main__":
    sys.exit(main())
