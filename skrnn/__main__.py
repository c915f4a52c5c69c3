"""Command line of skrnn: train a next-token model on a text file, then write with it.

Usage::

    skrnn train input.txt model.skops --hidden-sizes 256 --epochs 50 --max-time 600
    skrnn train input.txt model.skops --resume      # go on after a crash or a kill
    skrnn generate model.skops --prefix "ROMEO:" --n-tokens 300 --temperature 0.8
    skrnn --version

``python -m skrnn`` is the same program. ``train`` fits an
:class:`~skrnn.RNNSequenceGenerator` (progress lines with tokens/s, loss and ETA go to
stdout) and saves it; ``generate`` loads such a file and prints the prefix followed by
the generated text. Run ``skrnn train --help`` for every option.

Files. A model whose name ends in ``.skops`` is saved with skops (``pip install
skops``), any other with joblib; ``--format`` overrides the name. ``generate`` and
``--resume`` tell the two formats apart by their content. A skops file is loaded only
if the one type in it that skops does not trust is :class:`~skrnn.RNNSequenceGenerator`;
a joblib file is a pickle, which can run any code when loaded: load only joblib files
you trust.

A long run loses nothing. The model file is replaced atomically (written to a
temporary file in the same folder, synced to the disk, then renamed over the old one),
so it always holds a whole model. ``train`` saves it every ``--checkpoint-every``
seconds, between epochs, and at the end; ``train --resume`` continues from it with the
weights and optimizer state, as ``warm_start`` does. Beside the model,
``MODEL.train.json`` records the training time so far, so that ``--max-time`` (like
``--epochs``) is a budget for the whole run, resumes included.
"""

import argparse
import contextlib
import glob
import json
import math
import os
import stat
import sys
import tempfile
import time
import warnings
from numbers import Integral

import joblib
from sklearn.exceptions import ConvergenceWarning

from . import __version__
from ._generator import RNNSequenceGenerator

__all__ = ["main"]

# The one type of a model file that skops does not trust and generate/--resume accept.
_MODEL_TYPE = f"{RNNSequenceGenerator.__module__}.{RNNSequenceGenerator.__qualname__}"

# Options that set the model, by argparse dest: (estimator parameter, default of a new
# model). Their argparse default is None, meaning "not given": --resume takes the saved
# model's value, and an option given with --resume must agree with it.
_MODEL_OPTIONS = {
    "analyzer": ("analyzer", "char"),
    "lowercase": ("lowercase", False),
    "cell": ("cell", "rnn"),
    "hidden_sizes": ("hidden_layer_sizes", (128,)),
    "bptt_steps": ("bptt_steps", 64),
    "state_reset_proba": ("state_reset_proba", 0.1),
    "batch_size": ("batch_size", 32),
    "lr": ("learning_rate_init", 2e-3),
    "clip_norm": ("clip_norm", 5.0),
    "random_state": ("random_state", None),
}
_DEFAULT_EPOCHS = 10
_DEFAULT_CHECKPOINT_EVERY = 300.0


def _option(dest):
    return "--" + dest.replace("_", "-")


# The estimator's parameters that train's options set, by option name (for messages).
_OPTIONS = {param: _option(dest) for dest, (param, _) in _MODEL_OPTIONS.items()}
_OPTIONS.update(max_iter="--epochs", max_time="--max-time")


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


def _seconds(value):
    try:
        seconds = float(value)
    except ValueError:
        seconds = math.nan
    if not (math.isfinite(seconds) and seconds >= 0):
        raise argparse.ArgumentTypeError(f"expected a number of seconds >= 0, got {value!r}")
    return seconds


def _build_parser():
    parser = argparse.ArgumentParser(
        prog="skrnn", description="Train a recurrent next-token model on text, or write "
        "text with one.")
    parser.add_argument("--version", action="version", version=f"skrnn {__version__}")
    commands = parser.add_subparsers(dest="command", required=True)
    _add_train(commands)
    _add_generate(commands)
    return parser


def _add_train(commands):
    train = commands.add_parser(
        "train", help="fit an RNNSequenceGenerator on a text file and save it",
        description="Fit an RNNSequenceGenerator on a text file and save it (joblib or "
        "skops). By default the whole file is one document, learned by truncated BPTT. "
        "The model file is replaced atomically, every --checkpoint-every seconds and at "
        "the end, so that a killed run leaves a whole model; --resume goes on from it.")
    train.add_argument("text", help="UTF-8 text file to learn from")
    train.add_argument("model", help="where to save the model: a name ending in .skops is "
                       "saved with skops, any other with joblib")
    train.add_argument("--format", choices=("joblib", "skops"), default=None,
                       help="file format of the model (default: skops for a .skops name, "
                       "else joblib; with --resume, the format of the existing file)")
    train.add_argument("--resume", action="store_true",
                       help="continue training the model saved in MODEL (a checkpoint, or a "
                       "finished model) with its weights, optimizer state and options, up to "
                       "--epochs epochs and --max-time seconds in all")
    train.add_argument("--checkpoint-every", type=_seconds, default=_DEFAULT_CHECKPOINT_EVERY,
                       metavar="SECONDS", help="save the model this often during training, "
                       "between two epochs (default: %(default)g; 0: only at the end)")
    train.add_argument("--by-line", action="store_true", default=None,
                       help="each non-empty line is a separate document (short texts)")
    train.add_argument("--analyzer", choices=("char", "word"), default=None,
                       help="tokens: characters or words (default: char)")
    train.add_argument("--lowercase", action="store_true", default=None,
                       help="lowercase the text first")
    train.add_argument("--cell", choices=("rnn", "lstm", "gru"), default=None,
                       help="recurrent cell (default: rnn)")
    train.add_argument("--hidden-sizes", type=_hidden_sizes, default=None, metavar="H[,H...]",
                       help="units per stacked layer, e.g. 256 or 256,256 (default: 128)")
    train.add_argument("--bptt-steps", type=int, default=None,
                       help="truncated-BPTT window in tokens (default: 64)")
    train.add_argument("--state-reset-proba", type=float, default=None,
                       help="share of windows trained from a zero state (default: 0.1)")
    train.add_argument("--batch-size", type=int, default=None,
                       help="parallel streams per minibatch (default: 32)")
    train.add_argument("--lr", type=float, default=None,
                       help="Adam learning rate (default: 0.002)")
    train.add_argument("--clip-norm", type=float, default=None,
                       help="global gradient-norm clipping (default: 5.0)")
    train.add_argument("--epochs", type=int, default=None,
                       help=f"epochs (passes over the text) in all, those of the runs it "
                       f"resumes included (default: {_DEFAULT_EPOCHS}; with --resume, the "
                       "saved model's)")
    train.add_argument("--max-time", type=float, default=None, metavar="SECONDS",
                       help="stop training after this many seconds in all, resumed runs "
                       "included; the last epoch is then partial (default: no limit; with "
                       "--resume, the saved model's)")
    train.add_argument("--random-state", type=int, default=None,
                       help="seed: the same seed gives the same model (without --max-time)")
    train.add_argument("--quiet", action="store_true", help="no progress lines")


def _add_generate(commands):
    gen = commands.add_parser(
        "generate", help="continue a prefix with a saved model",
        description="Load a model saved by 'skrnn train' (joblib or skops) and print the "
        "prefix followed by the generated tokens.")
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


# --------------------------------------------------------------------------- files


def _skops_io():
    try:
        import skops.io
    except ImportError:
        raise ValueError("the skops format needs the skops package: pip install skops (or "
                         "use the joblib format).") from None
    return skops.io


def _file_format(path):
    """'skops' or 'joblib', from the content: a skops file is a zip archive."""
    with open(path, "rb") as f:
        return "skops" if f.read(4) == b"PK\x03\x04" else "joblib"


def _replace_atomically(path, write):
    """Write ``path`` with ``write(f)`` so that it always holds a whole file.

    The bytes go to a temporary file in the same folder, are synced to the disk, and the
    temporary file is renamed over ``path`` (a rename within a file system is atomic):
    a crash at any moment leaves the old file or the new one, never a part of one. The
    folder is synced too, so that the rename itself survives a power cut.
    """
    folder = os.path.dirname(os.path.abspath(path))
    fd, tmp = tempfile.mkstemp(dir=folder, prefix=f".{os.path.basename(path)}.", suffix=".tmp")
    try:
        with os.fdopen(fd, "wb") as f:
            write(f)
            f.flush()
            os.fsync(f.fileno())
        os.chmod(tmp, _file_mode(path))  # mkstemp makes it private (0600)
        os.replace(tmp, path)
    except BaseException:
        with contextlib.suppress(OSError):
            os.unlink(tmp)
        raise
    if os.name == "posix":  # Windows cannot open a folder
        fd = os.open(folder, os.O_RDONLY)
        try:
            os.fsync(fd)
        finally:
            os.close(fd)


def _file_mode(path):
    """The permissions of the file being replaced, else what open() would give."""
    try:
        return stat.S_IMODE(os.stat(path).st_mode)
    except FileNotFoundError:
        umask = os.umask(0)
        os.umask(umask)
        return 0o666 & ~umask


def _remove_stale_temporary_files(path):
    """Temporary files of ``path`` left by a run killed while it was saving."""
    folder = os.path.dirname(os.path.abspath(path))
    pattern = os.path.join(glob.escape(folder), f".{glob.escape(os.path.basename(path))}.*.tmp")
    for leftover in glob.glob(pattern):
        with contextlib.suppress(OSError):
            os.unlink(leftover)


def _save_model(model, path, fmt):
    if fmt == "skops":
        sio = _skops_io()
        _replace_atomically(path, lambda f: sio.dump(model, f))
    else:
        _replace_atomically(path, lambda f: joblib.dump(model, f))


def _load_model(path):
    """The RNNSequenceGenerator saved in ``path``, a joblib or a skops file."""
    if not os.path.isfile(path):
        raise ValueError(f"{path} is not a file.")
    not_a_model = f"{path} is not a model file written by 'skrnn train'"
    if _file_format(path) == "skops":
        sio = _skops_io()
        try:
            untrusted = sio.get_untrusted_types(file=path)
        except Exception as exc:  # noqa: BLE001 (a damaged archive can raise anything)
            raise ValueError(f"{not_a_model} ({type(exc).__name__}: {exc}).") from None
        unexpected = [name for name in untrusted if name != _MODEL_TYPE]
        if unexpected:
            raise ValueError(
                f"{path} holds types that skops does not trust: {', '.join(unexpected)}. "
                f"skrnn loads only {_MODEL_TYPE} from a skops file; if you trust this file, "
                "load it in Python with skops.io.load(file, trusted=[...]).")
        try:
            model = sio.load(path, trusted=untrusted)
        except Exception as exc:  # noqa: BLE001
            raise ValueError(f"{not_a_model} ({type(exc).__name__}: {exc}).") from None
    else:
        try:
            model = joblib.load(path)
        except Exception as exc:  # noqa: BLE001 (unpickling a foreign file can raise anything)
            raise ValueError(f"{not_a_model} ({type(exc).__name__}: {exc}).") from None
    if not isinstance(model, RNNSequenceGenerator):  # a bad file, as the errors above
        raise ValueError(f"{path} holds a {type(model).__name__}, not an "  # noqa: TRY004
                         "RNNSequenceGenerator written by 'skrnn train'.")
    return model


def _record_path(model_path):
    return f"{model_path}.train.json"


def _read_record(model_path):
    """The training record beside a model (None if there is none)."""
    path = _record_path(model_path)
    try:
        with open(path, encoding="utf-8") as f:
            record = json.load(f)
        float(record["training_seconds"])
    except FileNotFoundError:
        return None
    except (ValueError, KeyError, TypeError) as exc:
        raise ValueError(f"{path} is not a training record written by 'skrnn train' "
                         f"({type(exc).__name__}: {exc}); delete it to resume without "
                         "it.") from None
    return record


def _check_writable(path):
    """Fail before training, not after it, if the model cannot be saved to ``path``."""
    if os.path.isdir(path):
        raise ValueError(f"cannot save the model to {path}: it is a directory.")
    folder = os.path.dirname(os.path.abspath(path))
    if not os.path.isdir(folder):
        raise ValueError(f"cannot save the model to {path}: folder {folder} does not exist.")
    if not os.access(folder, os.W_OK) or (os.path.exists(path) and not os.access(path, os.W_OK)):
        raise ValueError(f"cannot save the model to {path}: no permission to write there.")


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


# --------------------------------------------------------------------------- train


def _sizes(value):
    return (value,) if isinstance(value, Integral) else tuple(value)


def _resumed_model(args):
    """The model saved in args.model, checked against the options given with --resume."""
    if not os.path.exists(args.model):
        raise ValueError(f"--resume: {args.model} does not exist, there is nothing to "
                         "resume. Leave out --resume to train a new model.")
    model = _load_model(args.model)
    params = model.get_params()
    for dest, (param, _) in _MODEL_OPTIONS.items():
        given, saved = getattr(args, dest), params[param]
        if given is None:
            continue
        if param == "hidden_layer_sizes":
            given, saved = _sizes(given), _sizes(saved)
        if given != saved:
            raise ValueError(
                f"{_option(dest)} differs from the model being resumed, whose {param} is "
                f"{saved!r}: --resume continues that model with its own options. Leave "
                f"out {_option(dest)}, or train a new model.")
    return model


def _new_model(args):
    options = {param: default if getattr(args, dest) is None else getattr(args, dest)
               for dest, (param, default) in _MODEL_OPTIONS.items()}
    # One constant rate: a run in checkpointed chunks is then the same fit as one call
    # (a schedule over the budget would restart with every chunk).
    return RNNSequenceGenerator(learning_rate="constant", **options)


def _check_options(model):
    """A bad option fails now, not after reading the text; named as the option."""
    try:
        model._validate_params()
    except ValueError as exc:
        message = str(exc)
        for parameter, option in _OPTIONS.items():
            if message.startswith(parameter + " "):
                message = option + message[len(parameter):]
        raise ValueError(message) from None


def _run_settings(args):
    """(model, file format, epochs, max_time, by_line, record) of a new or resumed run."""
    record = None
    if args.resume:
        model = _resumed_model(args)
        record = _read_record(args.model)
        fmt = args.format or _file_format(args.model)
        epochs = model.max_iter if args.epochs is None else args.epochs
        max_time = model.max_time if args.max_time is None else args.max_time
        recorded_by_line = None if record is None else record.get("by_line")
        if args.by_line is not None and recorded_by_line is False:
            raise ValueError("--by-line differs from the run being resumed, which read the "
                             "text as one document. Leave out --by-line.")
        by_line = bool(args.by_line or recorded_by_line)
    else:
        model = _new_model(args)
        fmt = args.format or ("skops" if args.model.lower().endswith(".skops") else "joblib")
        epochs = _DEFAULT_EPOCHS if args.epochs is None else args.epochs
        max_time, by_line = args.max_time, bool(args.by_line)
    model.set_params(max_iter=epochs, max_time=max_time, warm_start=False,
                     verbose=0 if args.quiet else 1)
    _check_options(model)
    return model, fmt, epochs, max_time, by_line, record


def _train(args):
    model, fmt, epochs, max_time, by_line, record = _run_settings(args)
    if fmt == "skops":
        _skops_io()  # missing skops is said now, not after training
    _check_writable(args.model)
    _remove_stale_temporary_files(args.model)
    documents = _read_documents(args.text, by_line)

    say = (lambda *_: None) if args.quiet else (lambda line: print(line, flush=True))
    spent_before = 0.0 if record is None else float(record["training_seconds"])
    epochs_before = getattr(model, "n_iter_", 0)
    if args.resume:
        say(f"Resuming {args.model}: {epochs_before} epoch(s) and {spent_before:.1f}s of "
            "training so far" + ("" if record is not None else
                                 f" (no {_record_path(args.model)}: time counted from now)"))
        if record is not None and record.get("epochs") != epochs_before:
            say(f"Note: {_record_path(args.model)} is from {record.get('epochs')} epoch(s); "
                "its time is counted anyway.")
    if epochs_before >= epochs or (max_time is not None and spent_before >= max_time):
        say(f"Nothing to train: the model has {epochs_before} epoch(s) of --epochs {epochs}"
            + ("" if max_time is None else
               f", {spent_before:.1f}s of --max-time {max_time:g}") + ".")
        return 0
    n_tokens = sum(len(model._vectorizer().build_analyzer()(doc)) for doc in documents)
    say(f"Training on {n_tokens:,} tokens in {len(documents):,} document(s) from {args.text}")

    start = time.perf_counter()

    def clock():  # seconds of training in this run
        return time.perf_counter() - start

    def save():  # the model, then the record of its training time
        _save_model(model, args.model, fmt)
        record = {"skrnn": __version__, "text": os.path.abspath(args.text), "by_line": by_line,
                  "epochs": int(model.n_iter_), "training_seconds": spent_before + clock()}
        _replace_atomically(_record_path(args.model),
                            lambda f: f.write(json.dumps(record, indent=2).encode()))

    with warnings.catch_warnings():
        # Running all --epochs is the normal end of a command-line run, not a problem.
        warnings.simplefilter("ignore", ConvergenceWarning)
        _fit_with_checkpoints(
            model, documents, save, clock, epochs=epochs, max_time=max_time,
            spent_before=spent_before, every=args.checkpoint_every,
            say=lambda n: say(f"Checkpoint: {n} epoch(s) saved to {args.model}"))
    save()
    seconds = clock()
    this_run = "" if not args.resume else (
        f" ({model.n_iter_ - epochs_before} in this run, {spent_before + seconds:.1f}s in all)")
    if model.n_iter_ < epochs and max_time is not None and spent_before + seconds >= max_time:
        this_run += ", stopped by --max-time (the last epoch may be partial)"
    say(f"Done: {model.n_iter_} epoch(s) in {seconds:.1f}s{this_run}, last epoch's loss "
        f"{model.loss_curve_[-1]:.4f} nats/token, vocabulary of {len(model.classes_)} tokens. "
        f"Saved to {args.model}")
    return 0


def _fit_with_checkpoints(model, documents, save, clock, *, epochs, max_time, spent_before,
                          every, say):
    """Fit ``model`` up to ``epochs`` epochs in all, calling ``save()`` every ``every`` s.

    Training runs in chunks of whole epochs, each a ``warm_start`` fit that continues
    with the weights and the optimizer state; every epoch draws its windows from the
    seed and the epoch's number alone. So a fit in chunks, or killed and resumed from a
    checkpoint, trains the same model as one fit, and ``n_iter_`` counts whole epochs:
    only the time budget (``max_time`` seconds in all, ``spent_before`` of them in
    earlier runs, ``clock()`` in this one) can end the last one early, as ``max_time``
    does in one fit. A chunk holds the epochs expected to fill the time to the next
    checkpoint, from the epochs timed so far: a checkpoint is at most ``every`` seconds
    or one epoch old, whichever is longer.
    """
    last_save, per_epoch = clock(), None
    while True:
        done, now = getattr(model, "n_iter_", 0), clock()
        left = None if max_time is None else max_time - spent_before - now
        if done >= epochs or (left is not None and left <= 0):
            return
        chunk = epochs - done
        if every:
            ahead = last_save + every - now
            chunk = min(chunk, 1 if per_epoch is None else max(1, int(ahead / per_epoch)))
        model.set_params(warm_start=done > 0, max_iter=chunk, max_time=left)
        try:
            model.fit(documents)
        finally:  # the saved model shows the whole run's budget, as after one fit
            model.set_params(warm_start=False, max_iter=epochs, max_time=max_time)
        ran = model.n_iter_ - done
        per_epoch = (clock() - now) / max(ran, 1)
        # A fit that ran fewer epochs than asked stopped by itself (Ctrl-C, or no
        # improvement for n_iter_no_change epochs); and one long fit would have stopped
        # where the no-improvement count passed n_iter_no_change at a chunk's last epoch.
        if ran < chunk or model._no_improvement_count > model.n_iter_no_change:
            return
        if every and clock() - last_save >= every and model.n_iter_ < epochs:
            save()
            last_save = clock()
            say(model.n_iter_)


# --------------------------------------------------------------------------- generate


def _generate(args):
    model = _load_model(args.model)
    text = model.generate(args.prefix, args.n_tokens, temperature=args.temperature,
                          top_k=args.top_k, random_state=args.random_state, stop=args.stop)
    print(text)
    return 0


def main(argv=None):
    """Run the command line with ``argv`` (default: ``sys.argv[1:]``); return the exit code.

    Invalid options exit with code 2 (argparse); a file that cannot be read and an
    invalid value (an unknown token in the prefix, say) print ``skrnn: error: ...`` to
    stderr and return 1. Ctrl-C during training stops it and saves the model, as
    ``fit`` keeps it; in the first epoch of a new model, or while saving, it returns 130
    and the model file holds the last checkpoint.
    """
    args = _build_parser().parse_args(argv)
    command = _train if args.command == "train" else _generate
    try:
        return command(args)
    except (OSError, ValueError) as exc:
        print(f"skrnn: error: {exc}", file=sys.stderr)
        return 1
    except KeyboardInterrupt:
        print("skrnn: interrupted", file=sys.stderr)
        return 130


if __name__ == "__main__":
    sys.exit(main())
