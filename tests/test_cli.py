"""Tests of the command line (skrnn/__main__.py): train, generate, files, checkpoints, resume.

The models are tiny (8 to 64 units, three sentences), so each command runs in a fraction
of a second; only the tests that need a separate process (``python -m skrnn``, a process
killed with SIGKILL) start one.
"""

import json
import os
import random
import signal
import subprocess
import sys
import time
import zipfile

import joblib
import pytest
from threadpoolctl import threadpool_limits

import skrnn
from skrnn import RNNClassifier, RNNSequenceGenerator
from skrnn.__main__ import _MODEL_TYPE, main

TEXTS = ["hey how are you", "good i am fine", "have a nice day"]
# A tiny model: 17 characters, 8 units; an epoch takes about a millisecond.
TINY = ["--by-line", "--hidden-sizes", "8", "--random-state", "0", "--quiet"]


@pytest.fixture(autouse=True, scope="module")
def _one_blas_thread():
    # The matrices here are tiny; on a busy machine two BLAS threads that wait for each
    # other make every product many times slower, and the results do not depend on it.
    with threadpool_limits(limits=1, user_api="blas"):
        yield


@pytest.fixture
def text(tmp_path):
    path = tmp_path / "sentences.txt"
    path.write_text("\n".join(TEXTS) + "\n", encoding="utf-8")
    return path


def _env():
    """The environment of a child process that imports this very skrnn."""
    root = os.path.dirname(os.path.dirname(os.path.abspath(skrnn.__file__)))
    env = dict(os.environ)
    env["PYTHONPATH"] = os.pathsep.join(filter(None, [root, env.get("PYTHONPATH")]))
    return env


def _same_weights(a, b):
    return joblib.hash(a.params_) == joblib.hash(b.params_)


# --------------------------------------------------------------------------- train, generate


@pytest.fixture(scope="module")
def cli_model(tmp_path_factory):
    folder = tmp_path_factory.mktemp("cli")
    text_file = folder / "sentences.txt"
    text_file.write_text("\n".join(TEXTS) + "\n", encoding="utf-8")
    model_file = folder / "model.joblib"
    code = main(["train", str(text_file), str(model_file), "--by-line", "--hidden-sizes", "64",
                 "--lr", "0.01", "--epochs", "200", "--random-state", "0", "--quiet"])
    assert code == 0
    return model_file


def test_cli_train_then_generate(cli_model, capsys):
    assert isinstance(joblib.load(cli_model), RNNSequenceGenerator)
    code = main(["generate", str(cli_model), "--prefix", "good", "-n", "10",
                 "--temperature", "0"])
    assert code == 0
    assert capsys.readouterr().out == "good i am fine\n"
    args = ["generate", str(cli_model), "--prefix", "h", "-n", "30", "--random-state", "4",
            "--top-k", "3"]
    main(args)
    first = capsys.readouterr().out
    main(args)
    assert capsys.readouterr().out == first and len(first) == 32


def test_cli_version(capsys):
    with pytest.raises(SystemExit) as exc:
        main(["--version"])
    assert exc.value.code == 0
    assert capsys.readouterr().out == f"skrnn {skrnn.__version__}\n"


def test_cli_reports_errors(cli_model, tmp_path, capsys):
    assert main(["generate", str(cli_model), "--prefix", "hey", "--top-k", "0"]) == 1
    assert "top_k must be None or an integer >= 1" in capsys.readouterr().err
    assert main(["train", str(tmp_path / "missing.txt"), str(tmp_path / "m.joblib")]) == 1
    assert "missing.txt" in capsys.readouterr().err
    with pytest.raises(SystemExit) as exc:
        main(["train", "in.txt", "out.joblib", "--hidden-sizes", "0"])
    assert exc.value.code == 2
    with pytest.raises(SystemExit) as exc:
        main(["train", "in.txt", "out.joblib", "--checkpoint-every", "-1"])
    assert exc.value.code == 2
    assert "expected a number of seconds >= 0, got '-1'" in capsys.readouterr().err
    # A file that is not a model: a message, not a traceback.
    not_a_model = tmp_path / "notes.txt"
    not_a_model.write_text("not a model\n", encoding="utf-8")
    assert main(["generate", str(not_a_model)]) == 1
    assert "notes.txt is not a model file written by 'skrnn train'" in capsys.readouterr().err
    # The output path is checked before training, not after it.
    text = tmp_path / "t.txt"
    text.write_text("hey how are you", encoding="utf-8")
    assert main(["train", str(text), str(tmp_path / "no" / "m.joblib")]) == 1
    err = capsys.readouterr().err
    assert "cannot save the model to" in err and "does not exist" in err
    assert main(["train", str(text), str(tmp_path)]) == 1
    assert "it is a directory" in capsys.readouterr().err
    assert main(["train", str(text), str(tmp_path / "m.joblib"), "--lr", "inf"]) == 1
    expected = "skrnn: error: --lr must be a number in (0, inf), got inf.\n"
    assert capsys.readouterr() == ("", expected)  # named as the option, before any progress
    assert main(["train", str(text), str(tmp_path / "m.joblib"), "--epochs", "0"]) == 1
    assert "--epochs must be an integer >= 1, got 0." in capsys.readouterr().err
    latin = tmp_path / "latin.txt"
    latin.write_bytes("café".encode("latin-1"))
    assert main(["train", str(latin), str(tmp_path / "m.joblib")]) == 1
    assert "latin.txt is not UTF-8 text" in capsys.readouterr().err


def test_cli_ignores_a_byte_order_mark(tmp_path):
    text = tmp_path / "bom.txt"
    text.write_bytes("\ufeffhey hey".encode("utf-8"))
    model = tmp_path / "m.joblib"
    assert main(["train", str(text), str(model), "--epochs", "1", "--hidden-sizes", "4",
                 "--quiet"]) == 0
    assert "\ufeff" not in joblib.load(model).classes_


def test_cli_train_prints_progress(tmp_path, capsys):
    text_file = tmp_path / "one.txt"
    text_file.write_text("hey how are you, good i am fine " * 20, encoding="utf-8")
    code = main(["train", str(text_file), str(tmp_path / "m.joblib"), "--hidden-sizes", "8",
                 "--bptt-steps", "16", "--epochs", "3", "--random-state", "0"])
    out = capsys.readouterr().out
    assert code == 0
    assert "Training on 640 tokens in 1 document(s)" in out
    assert "Iteration 3, loss = " in out and "Done: 3 epoch(s)" in out


def test_python_dash_m_skrnn(cli_model):
    result = subprocess.run(
        [sys.executable, "-m", "skrnn", "generate", str(cli_model), "--prefix", "have",
         "--n-tokens", "11", "--temperature", "0"],
        capture_output=True, text=True, timeout=120, check=True, env=_env(),
    )
    assert result.stdout == "have a nice day\n"


# --------------------------------------------------------------------------- file formats


def test_cli_skops_round_trip(text, tmp_path, capsys):
    sio = pytest.importorskip("skops.io")
    model = tmp_path / "m.skops"  # the name picks the format
    assert main(["train", str(text), str(model), "--epochs", "5", *TINY]) == 0
    assert zipfile.is_zipfile(model)
    assert sio.get_untrusted_types(file=model) == [_MODEL_TYPE]
    reference = tmp_path / "m.joblib"
    assert main(["train", str(text), str(reference), "--epochs", "5", *TINY]) == 0
    assert not zipfile.is_zipfile(reference)
    loaded = sio.load(model, trusted=[_MODEL_TYPE])
    assert _same_weights(loaded, joblib.load(reference))
    capsys.readouterr()
    for path in (model, reference):  # generate tells the formats apart by content
        assert main(["generate", str(path), "--prefix", "good", "-n", "8",
                     "--temperature", "0"]) == 0
    skops_text, joblib_text = capsys.readouterr().out.splitlines()
    assert skops_text == joblib_text and skops_text.startswith("good")
    # --format overrides the name
    assert main(["train", str(text), str(tmp_path / "x.bin"), "--format", "skops", "--epochs",
                 "1", *TINY]) == 0
    assert zipfile.is_zipfile(tmp_path / "x.bin")
    assert main(["train", str(text), str(tmp_path / "y.skops"), "--format", "joblib",
                 "--epochs", "1", *TINY]) == 0
    assert isinstance(joblib.load(tmp_path / "y.skops"), RNNSequenceGenerator)


class Payload:
    """A type skops does not trust; records whether a load ever built one."""

    built = False

    def __setstate__(self, state):
        Payload.built = True
        self.__dict__.update(state)


def test_cli_refuses_untrusted_skops_types(tmp_path, capsys):
    sio = pytest.importorskip("skops.io")
    foreign = tmp_path / "foreign.skops"
    sio.dump({"model": Payload()}, foreign)
    assert main(["generate", str(foreign)]) == 1
    err = capsys.readouterr().err
    assert "holds types that skops does not trust: tests.test_cli.Payload" in err
    assert f"skrnn loads only {_MODEL_TYPE}" in err
    assert not Payload.built  # refused before anything was built
    # Another skrnn estimator: untrusted too, and not a generator.
    classifier = tmp_path / "classifier.skops"
    sio.dump(RNNClassifier(), classifier)
    assert main(["generate", str(classifier)]) == 1
    assert "skrnn._classifier.RNNClassifier" in capsys.readouterr().err
    # Only trusted types, but not a model.
    plain = tmp_path / "plain.skops"
    sio.dump({"weights": [1.0, 2.0]}, plain)
    assert main(["generate", str(plain)]) == 1
    assert "holds a dict, not an RNNSequenceGenerator" in capsys.readouterr().err
    damaged = tmp_path / "damaged.skops"
    damaged.write_bytes(b"PK\x03\x04 not a zip archive")
    assert main(["generate", str(damaged)]) == 1
    assert "damaged.skops is not a model file written by 'skrnn train'" in (
        capsys.readouterr().err)


def test_cli_says_when_skops_is_missing(text, tmp_path, monkeypatch, capsys):
    monkeypatch.setitem(sys.modules, "skops", None)  # import skops now raises ImportError
    monkeypatch.setitem(sys.modules, "skops.io", None)
    assert main(["train", str(text), str(tmp_path / "m.skops"), *TINY]) == 1
    assert "the skops format needs the skops package: pip install skops" in (
        capsys.readouterr().err)
    assert not (tmp_path / "m.skops").exists()  # said before training, not after


# --------------------------------------------------------------------------- atomic saves


def test_cli_save_is_atomic(text, tmp_path, monkeypatch, capsys):
    model = tmp_path / "m.joblib"
    assert main(["train", str(text), str(model), "--epochs", "2", *TINY]) == 0
    before = model.read_bytes()
    stale = tmp_path / ".m.joblib.abcd1234.tmp"  # as a run killed while saving leaves
    stale.write_bytes(b"half a model")

    def dump_then_crash(obj, f):
        f.write(b"the first bytes of a model")
        raise OSError("disk full")

    monkeypatch.setattr(joblib, "dump", dump_then_crash)
    assert main(["train", str(text), str(model), "--epochs", "3", *TINY]) == 1
    assert "disk full" in capsys.readouterr().err
    assert model.read_bytes() == before  # the old model, whole
    assert sorted(p.name for p in tmp_path.iterdir()) == [
        "m.joblib", "m.joblib.train.json", "sentences.txt"]  # no temporary file left


def test_cli_new_model_file_follows_the_umask(text, tmp_path):
    old = os.umask(0o027)
    try:
        assert main(["train", str(text), str(tmp_path / "m.joblib"), "--epochs", "1",
                     *TINY]) == 0
    finally:
        os.umask(old)
    assert (tmp_path / "m.joblib").stat().st_mode & 0o777 == 0o640


# --------------------------------------------------------------------------- checkpoints


def test_cli_checkpoints_train_the_same_model(text, tmp_path, capsys):
    # A save after every epoch (a chunk of one epoch each) against one fit of 6 epochs.
    assert main(["train", str(text), str(tmp_path / "a.joblib"), "--epochs", "6",
                 "--checkpoint-every", "1e-9", *TINY[:-1]]) == 0
    out = capsys.readouterr().out
    assert out.count("Checkpoint: ") == 5  # and the final save
    assert "Checkpoint: 3 epoch(s) saved to" in out
    assert main(["train", str(text), str(tmp_path / "b.joblib"), "--epochs", "6",
                 "--checkpoint-every", "0", *TINY]) == 0
    a, b = joblib.load(tmp_path / "a.joblib"), joblib.load(tmp_path / "b.joblib")
    assert a.n_iter_ == b.n_iter_ == 6 and a.t_ == b.t_
    assert a.loss_curve_ == b.loss_curve_
    assert _same_weights(a, b)
    # The saved model shows the run's budget, as after one fit.
    assert {**a.get_params(), "verbose": 0} == b.get_params()  # a ran without --quiet
    assert (a.max_iter, a.warm_start) == (6, False)


def test_cli_checkpoints_stop_where_one_fit_stops(text, tmp_path):
    # At lr 1 the loss stops improving by tol within 20 epochs: the fit stops on
    # n_iter_no_change, and a run in chunks of one epoch must stop at the same epoch.
    for name, every in (("a.joblib", "1e-9"), ("b.joblib", "0")):
        assert main(["train", str(text), str(tmp_path / name), "--epochs", "1000", "--lr",
                     "1", "--checkpoint-every", every, *TINY]) == 0
    a, b = joblib.load(tmp_path / "a.joblib"), joblib.load(tmp_path / "b.joblib")
    assert a.n_iter_ == b.n_iter_ < 1000
    assert _same_weights(a, b)


def test_cli_resume_continues_the_same_run(text, tmp_path, capsys):
    model = tmp_path / "m.joblib"
    assert main(["train", str(text), str(model), "--epochs", "3", *TINY]) == 0
    assert main(["train", str(text), str(model), "--resume", "--epochs", "7", "--quiet"]) == 0
    resumed = joblib.load(model)
    assert resumed.n_iter_ == 7 and len(resumed.loss_curve_) == 7
    straight = tmp_path / "straight.joblib"
    assert main(["train", str(text), str(straight), "--epochs", "7", *TINY]) == 0
    assert _same_weights(resumed, joblib.load(straight))  # optimizer state carried
    # --epochs is the run's total: without it, --resume keeps the model's 7.
    capsys.readouterr()
    assert main(["train", str(text), str(model), "--resume"]) == 0
    out = capsys.readouterr().out
    assert "Resuming" in out and "Nothing to train: the model has 7 epoch(s) of --epochs 7" in out
    assert joblib.load(model).n_iter_ == 7


def test_cli_resume_errors(text, tmp_path, capsys):
    model = tmp_path / "m.joblib"
    assert main(["train", str(text), str(model), "--resume", *TINY]) == 1
    err = capsys.readouterr().err
    assert "--resume: " in err and "does not exist, there is nothing to resume" in err
    assert main(["train", str(text), str(model), "--epochs", "1", *TINY]) == 0
    assert main(["train", str(text), str(model), "--resume", "--cell", "gru"]) == 1
    err = capsys.readouterr().err
    assert "--cell differs from the model being resumed, whose cell is 'rnn'" in err
    assert main(["train", str(text), str(model), "--resume", "--hidden-sizes", "8,8"]) == 1
    assert "--hidden-sizes differs" in capsys.readouterr().err
    # The same values as the model's are fine.
    assert main(["train", str(text), str(model), "--resume", "--hidden-sizes", "8", "--cell",
                 "rnn", "--epochs", "2", "--quiet"]) == 0
    other = tmp_path / "one_document.joblib"
    assert main(["train", str(text), str(other), "--epochs", "1", "--quiet"]) == 0
    assert main(["train", str(text), str(other), "--resume", "--by-line"]) == 1
    assert "--by-line differs from the run being resumed" in capsys.readouterr().err
    (tmp_path / "m.joblib.train.json").write_text("{", encoding="utf-8")
    assert main(["train", str(text), str(model), "--resume", "--epochs", "3"]) == 1
    assert "m.joblib.train.json is not a training record" in capsys.readouterr().err


def test_cli_time_budget_counts_resumed_runs(text, tmp_path, capsys):
    model = tmp_path / "m.joblib"
    record = tmp_path / "m.joblib.train.json"
    assert main(["train", str(text), str(model), "--epochs", "2", *TINY]) == 0
    saved = json.loads(record.read_text(encoding="utf-8"))
    assert saved["epochs"] == 2 and saved["by_line"] is True and saved["training_seconds"] > 0
    saved["training_seconds"] = 100.0  # as if the first run had trained for 100 s
    record.write_text(json.dumps(saved), encoding="utf-8")
    capsys.readouterr()
    assert main(["train", str(text), str(model), "--resume", "--epochs", "1000000",
                 "--max-time", "50"]) == 0
    assert "Nothing to train" in capsys.readouterr().out
    assert joblib.load(model).n_iter_ == 2
    # 0.2 s of budget left: it trains until they are used, not for 100.2 s.
    assert main(["train", str(text), str(model), "--resume", "--epochs", "1000000",
                 "--max-time", "100.2", "--quiet"]) == 0
    resumed = joblib.load(model)
    assert 2 < resumed.n_iter_ < 1000000
    assert resumed.max_time == 100.2
    assert json.loads(record.read_text(encoding="utf-8"))["training_seconds"] >= 100.2
    # Without a record the budget counts from now, and says so.
    record.unlink()
    assert main(["train", str(text), str(model), "--resume", "--by-line", "--epochs",
                 str(resumed.n_iter_ + 1)]) == 0
    assert "time counted from now" in capsys.readouterr().out


@pytest.mark.skipif(not hasattr(signal, "SIGKILL"), reason="needs SIGKILL (POSIX)")
def test_cli_killed_training_leaves_a_model_that_resumes(tmp_path, capsys):
    # 150 lines, 5 minibatches an epoch (~10 ms): the loss still falls by more than tol
    # every epoch when the kill comes, so the run would not have ended by itself.
    text = tmp_path / "sentences.txt"
    text.write_text("\n".join(TEXTS * 50) + "\n", encoding="utf-8")
    model = tmp_path / "m.joblib"
    child = subprocess.Popen(
        [sys.executable, "-m", "skrnn", "train", str(text), str(model), "--epochs", "1000000",
         "--checkpoint-every", "0.05", *TINY], env=_env(),
        stdout=subprocess.DEVNULL, stderr=subprocess.PIPE)
    try:
        deadline = time.monotonic() + 60
        while not model.exists():  # the first checkpoint
            assert child.poll() is None, child.stderr.read().decode()
            assert time.monotonic() < deadline, "no checkpoint within 60 s"
            time.sleep(0.01)
        time.sleep(random.Random(0).uniform(0, 0.5))  # a moment among several saves
        assert child.poll() is None, "the training process ended by itself"
    finally:
        child.kill()  # SIGKILL: no handler, no clean-up
        child.wait()
        child.stderr.close()
    assert child.returncode == -signal.SIGKILL
    # The file holds a whole model, which writes.
    assert main(["generate", str(model), "--prefix", "good", "-n", "5",
                 "--temperature", "0"]) == 0
    assert capsys.readouterr().out.startswith("good")
    checkpoint = joblib.load(model)
    k = checkpoint.n_iter_
    assert k >= 1 and len(checkpoint.loss_curve_) == k
    # --resume goes on from it, and trains what an uninterrupted run trains.
    assert main(["train", str(text), str(model), "--resume", "--epochs", str(k + 3),
                 "--by-line", "--quiet"]) == 0
    resumed = joblib.load(model)
    assert resumed.n_iter_ == k + 3
    assert not [p for p in tmp_path.iterdir() if p.name.endswith(".tmp")]
    straight = tmp_path / "straight.joblib"
    assert main(["train", str(text), str(straight), "--epochs", str(k + 3), *TINY]) == 0
    assert _same_weights(resumed, joblib.load(straight))
