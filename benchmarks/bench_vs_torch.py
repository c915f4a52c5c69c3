"""skrnn against PyTorch CPU, side by side, interleaved, plus a NumPy matrix-product bound.

Run::

    python benchmarks/bench_vs_torch.py --json benchmarks/results.json   # everything
    python benchmarks/report.py benchmarks/results.json  # -> docs/performance.{md,png}

    python benchmarks/bench_vs_torch.py --quick         # fewer rounds, smaller data
    python benchmarks/bench_vs_torch.py --only m2o-rnn-128 fit-rnn-32 --skip extras
    python benchmarks/bench_vs_torch.py --threads 1 --json out.json

Sections: training steps, prediction and whole fits against PyTorch (the table), then
``extras``: memory (``memory.py``), the live tuning thresholds, each timed on both
sides (``ablation.py``), and the negation sentences against the tutorial loop
(``negation_vs_tutorial.py``).
torch is imported by this script only (``pip install -e .[bench]``); skrnn does not
need it.

Fairness rules
--------------
* Same thread count: NumPy's BLAS count (threadpoolctl) is read, or forced with
  ``--threads``, and ``torch.set_num_threads`` is set to it. skrnn's ``fit`` runs BLAS
  on one thread when its per-step products are below ``skrnn._tuning.SMALL_STEP_PRODUCT``
  multiply-adds; torch gets the same choice: every variant below is screened at the
  run's count and at one thread. The lower bound runs under skrnn's thread policy.
* skrnn through its public API only: a training step is the difference of two
  ``fit`` calls that differ only in ``max_iter``, divided by the extra minibatches
  (see ``_workloads.SkrnnStep``); prediction is ``predict_proba``; a whole fit is
  ``fit``.
* Same shapes, float32, Adam (lr 1e-3), global-norm clipping at 5, and the same L2
  penalty as the estimator whose step it is (RNNClassifier: ``alpha=1e-4``; torch: Adam
  ``weight_decay=alpha / batch`` on the weight matrices only, the same gradient term;
  RNNSequenceGenerator: none).
* PyTorch gets its fastest formulation, chosen *in the same run*: its variants are
  screened (interleaved) first, and the fastest one is then timed interleaved with
  skrnn. Variants: token ids as one-hot floats into ``nn.RNN/LSTM/GRU`` (time-major;
  the one-hot tensor built once outside the timed step, in torch's favour) or, for the
  vanilla cell, ``F.embedding`` rows of ``weight_ih.T`` plus a Python loop of ``addmm``
  + ``tanh`` (skrnn's algorithm); Adam as the for-loop, ``foreach`` or ``fused``
  implementation. Fits: shuffled minibatches of the same size, drawn here as skrnn
  draws its own (a fresh permutation per epoch, each batch sorted by decreasing length
  and cut to its longest member): not skrnn's very batches, but the same shapes from the
  same distribution, which is what makes the times comparable. Padded with the last
  real step gathered (exact for a unidirectional many-to-one model) or
  ``pack_padded_sequence``; the one-hot
  tensor of the data is built inside the timed fit, as skrnn validates its input there.
  One-hot floats are how ``nn.RNN/LSTM/GRU`` read symbols (``nn.Embedding`` in front
  would be another model, with one more layer). Where skrnn gathers and scatters rows,
  torch's training step then does two input products (forward, and the weight
  gradient) for three recurrent ones, 2V/(3H) of their multiply-adds (V=64: 1.3x at
  H=32, 0.33x at H=128, 0.08x at H=512); as large products over all steps they cost
  less than that share of the time.
* Interleaving: in every round each contender runs once, in a random order, after a
  pause (``--settle``) so that the previous one's spinning worker threads (OpenBLAS and
  OpenMP spin a while before they sleep) are asleep. A training step is then run once
  untimed (its threads wake, its caches warm), and timed over ``--min-time`` seconds of
  back-to-back steps (0.25 s: 12 LSTM steps), as a fit runs them; skrnn's longer fit
  runs at least that long in extra steps. The table gives the median over
  rounds of the per-round ratio, and its interquartile range.

Ratios: ``skrnn/torch`` is a throughput ratio (torch time / skrnn time: > 1 means skrnn
is faster); ``skrnn/bound`` is skrnn time / the NumPy matrix-product lower bound.
"""

import argparse
import json
import os
import sys
import time
import warnings
from pathlib import Path

import numpy as np

sys.path.insert(0, str(Path(__file__).resolve().parent))

import torch
import torch.nn.functional as F
from _common import (
    blas_threads,
    fmt_ms,
    fmt_ratio,
    interleaved,
    machine_description,
    ratio_stats,
    time_stats,
)
from _workloads import (
    ALPHA,
    CLIP,
    LR,
    Fit,
    LowerBound,
    SkrnnStep,
    default_workloads,
    fit_data,
    predict_data,
    run_skrnn_fit,
    skrnn_fitted_for_predict,
    step_data,
)
from torch import nn

TORCH_RNN = {"rnn": nn.RNN, "lstm": nn.LSTM, "gru": nn.GRU}
ADAM_IMPLS = {"loop": {"foreach": False}, "foreach": {"foreach": True}, "fused": {"fused": True}}


# --------------------------------------------------------------------------- torch models


class TorchModel(nn.Module):
    """nn.RNN/LSTM/GRU (time-major) + linear head, as skrnn's network."""

    def __init__(self, cell, n_in, hidden, n_out):
        super().__init__()
        self.cell = cell
        self.rnn = TORCH_RNN[cell](n_in, hidden)
        self.out = nn.Linear(hidden, n_out)

    def final_state(self, x):
        """h after the last step for a full-length (T, B, n_in) batch."""
        _, h = self.rnn(x)
        return (h[0] if self.cell == "lstm" else h)[-1]


def one_hot(ids, vocab):
    """float32 one-hot rows of ``ids`` (a LongTensor), written straight into float32 (no
    int64 one-hot tensor first, as ``F.one_hot(...).float()`` makes)."""
    out = torch.zeros(*ids.shape, vocab)
    return out.scatter_(-1, ids.unsqueeze(-1), 1.0)


THREAD_CHOICES = [None]  # torch thread counts each variant is screened at (set by main)


def at_threads(fn, n):
    """``fn`` with torch on ``n`` intra-op threads. Every torch contender sets its own count
    (only when it differs), so back-to-back calls of one contender do not toggle it."""
    def run():
        if torch.get_num_threads() != n:
            torch.set_num_threads(n)
        return fn()
    return run


def thread_choices(variants):
    """Every variant at each of ``THREAD_CHOICES``: torch may use fewer threads than the
    run's count, as skrnn's fit does for small models."""
    counts = [n for n in THREAD_CHOICES if n is not None]
    if not counts:
        return variants
    return {f"{name[:-1]}, {n} thread{'s' if n > 1 else ''}]": at_threads(fn, n)
            for name, fn in variants.items() for n in counts}


def _adam(model, impl, weight_decay):
    weights = [p for n, p in model.named_parameters() if "weight" in n]
    biases = [p for n, p in model.named_parameters() if "weight" not in n]
    groups = [{"params": weights, "weight_decay": weight_decay},
              {"params": biases, "weight_decay": 0.0}]
    return torch.optim.Adam(groups, lr=LR, **ADAM_IMPLS[impl])


def torch_step_onehot(w, impl, seed=0):
    torch.manual_seed(seed)
    ids, y = step_data(w, seed)
    x = one_hot(torch.from_numpy(ids.T.copy()), w.vocab)  # (T, B, V)
    model = TorchModel(w.cell, w.vocab, w.hidden, w.n_classes)
    params = list(model.parameters())
    if w.head == "many_to_one":
        yt = torch.from_numpy(y)
        opt = _adam(model, impl, ALPHA / w.batch)

        def step():
            opt.zero_grad()
            loss = F.cross_entropy(model.out(model.final_state(x)), yt)
            loss.backward()
            nn.utils.clip_grad_norm_(params, CLIP)
            opt.step()
            return loss
    else:
        yt = torch.from_numpy(np.ascontiguousarray(y.T)).reshape(-1)  # time-major targets
        opt = _adam(model, impl, 0.0)

        def step():
            opt.zero_grad()
            out, _ = model.rnn(x)
            logits = model.out(out.reshape(-1, w.hidden))
            loss = F.cross_entropy(logits, yt)
            loss.backward()
            nn.utils.clip_grad_norm_(params, CLIP)
            opt.step()
            return loss
    return step


def torch_step_gather(w, impl, seed=0):
    """Vanilla cell only: Zx = rows of W_ih^T (a gather) + b, then a loop of addmm + tanh."""
    torch.manual_seed(seed)
    ids, y = step_data(w, seed)
    idt = torch.from_numpy(ids.T.copy())
    H = w.hidden
    bound = 1 / np.sqrt(H)
    model = nn.Module()
    model.W_x = nn.Parameter(torch.empty(w.vocab, H).uniform_(-bound, bound))
    model.W_h = nn.Parameter(torch.empty(H, H).uniform_(-bound, bound))
    model.b = nn.Parameter(torch.zeros(H))
    model.out = nn.Linear(H, w.n_classes)
    params = list(model.parameters())
    weights = [model.W_x, model.W_h, model.out.weight]
    opt = torch.optim.Adam(
        [{"params": weights, "weight_decay": ALPHA / w.batch if w.head == "many_to_one"
          else 0.0}, {"params": [model.b, model.out.bias], "weight_decay": 0.0}],
        lr=LR, **ADAM_IMPLS[impl])
    many = w.head == "many_to_many"
    yt = torch.from_numpy(np.ascontiguousarray(y.T)).reshape(-1) if many else \
        torch.from_numpy(y)

    def step():
        opt.zero_grad()
        Zx = F.embedding(idt, model.W_x) + model.b
        h = torch.zeros(w.batch, H)
        hs = []
        for t in range(w.steps):
            h = torch.tanh(torch.addmm(Zx[t], h, model.W_h))
            hs.append(h)
        feats = torch.cat(hs) if many else h
        loss = F.cross_entropy(model.out(feats), yt)
        loss.backward()
        nn.utils.clip_grad_norm_(params, CLIP)
        opt.step()
        return loss
    return step


def torch_step_variants(w):
    variants = {}
    for impl in ADAM_IMPLS:
        variants[f"torch[one-hot nn.{TORCH_RNN[w.cell].__name__}, adam {impl}]"] = \
            torch_step_onehot(w, impl)
    if w.cell == "rnn":
        for impl in ("foreach", "fused"):
            variants[f"torch[gather + addmm loop, adam {impl}]"] = torch_step_gather(w, impl)
    return thread_choices(variants)


def torch_predict_variants(w, X):
    torch.manual_seed(0)
    model = TorchModel(w.cell, w.vocab, w.hidden, w.n_classes).eval()
    ids_all = torch.from_numpy(X)

    def onehot(chunk):
        def run():
            with torch.no_grad():
                out = []
                for s in range(0, len(ids_all), chunk):
                    x = one_hot(ids_all[s : s + chunk].T, w.vocab)
                    out.append(torch.softmax(model.out(model.final_state(x)), dim=1))
                return torch.cat(out).numpy()
        return run

    variants = {f"torch[one-hot nn.{TORCH_RNN[w.cell].__name__}, chunks of {c}]": onehot(c)
                for c in (1000, 10_000)}
    if w.cell == "rnn":
        W_x = model.rnn.weight_ih_l0.detach().T.contiguous()
        W_h = model.rnn.weight_hh_l0.detach().T.contiguous()
        b = (model.rnn.bias_ih_l0 + model.rnn.bias_hh_l0).detach()

        def gather(chunk=2000):
            with torch.no_grad():
                out = []
                for s in range(0, len(ids_all), chunk):
                    idt = ids_all[s : s + chunk].T
                    Zx = F.embedding(idt, W_x)
                    Zx += b
                    h = torch.zeros(idt.shape[1], w.hidden)
                    for t in range(idt.shape[0]):
                        h = torch.tanh(torch.addmm(Zx[t], h, W_h))
                    out.append(torch.softmax(model.out(h), dim=1))
                return torch.cat(out).numpy()
        variants["torch[gather + addmm loop, chunks of 2000]"] = gather
    return thread_choices(variants)


def shuffled_batches(lengths, batch, rng):
    """Minibatches of one epoch: a permutation cut into ``batch``-sized pieces, each
    sorted by decreasing length (as skrnn's fit draws its own, from its own seed)."""
    idx = rng.permutation(len(lengths))
    batches = [idx[k : k + batch] for k in range(0, len(idx), batch)]
    return [b[np.argsort(-lengths[b], kind="stable")] for b in batches]


def torch_fit(w, X, y, impl, packed):
    """The equivalent of RNNClassifier.fit in PyTorch: shuffled minibatches of the same
    size, each cut to its longest member, L2 on the weights, global-norm clipping, Adam;
    ``w.epochs`` full passes."""

    def run():
        torch.manual_seed(0)
        rng = np.random.default_rng(0)
        model = TorchModel(w.cell, w.vocab, w.hidden, w.n_classes)
        params = list(model.parameters())
        opt = _adam(model, impl, ALPHA / w.batch)
        lengths_np = (X >= 0).sum(axis=1)
        lengths = torch.from_numpy(lengths_np)
        onehot = one_hot(torch.from_numpy(X).clamp(min=0), w.vocab)  # (n, T, V)
        yt = torch.from_numpy(y)
        for _ in range(w.epochs):
            for b_np in shuffled_batches(lengths_np, w.batch, rng):
                b = torch.from_numpy(b_np)
                lb = lengths[b]  # decreasing
                xb = onehot[b, : int(lb[0])].transpose(0, 1)
                opt.param_groups[0]["weight_decay"] = ALPHA / len(b)  # skrnn's L2 / batch
                opt.zero_grad()
                if packed:
                    pk = nn.utils.rnn.pack_padded_sequence(xb, lb, enforce_sorted=True)
                    _, h = model.rnn(pk)
                    h = (h[0] if w.cell == "lstm" else h)[-1]
                else:
                    out, _ = model.rnn(xb)
                    h = out[lb - 1, torch.arange(len(b))]
                loss = F.cross_entropy(model.out(h), yt[b])
                loss.backward()
                nn.utils.clip_grad_norm_(params, CLIP)
                opt.step()
        return model
    return run


def torch_fit_variants(w, X, y):
    variants = {}
    for impl in ("foreach", "fused"):
        for packed in (False, True):
            label = "packed" if packed else "padded + gather last step"
            variants[f"torch[{label}, adam {impl}]"] = torch_fit(w, X, y, impl, packed)
    return thread_choices(variants)


# --------------------------------------------------------------------------- running


def fastest(variants, rounds, settle, min_time, warmup=1):
    """Screen PyTorch's variants (interleaved) and keep the fastest: name, screening times."""
    if len(variants) == 1:
        return next(iter(variants)), {}
    times = interleaved(variants, rounds=rounds, settle=settle, warmup=warmup,
                        min_time=min_time)
    best = min(times, key=lambda k: np.median(times[k]))
    return best, {k: time_stats(v) for k, v in times.items()}


def run_workload(w, rounds, settle, fit_rounds, min_time=0.25):
    """Time one workload: screen torch's variants, then interleave skrnn, the bound and the
    fastest torch variant over ``rounds``. Returns a result dict."""
    contenders = {}
    if w.kind == "step":
        variants = torch_step_variants(w)
        best, screening = fastest(variants, 3, settle, min_time=0.05, warmup=2)
        skrnn = SkrnnStep(w, min_time=min_time)
        contenders["skrnn_short"] = skrnn.short
        contenders["skrnn_long"] = skrnn.long
        contenders["bound"] = LowerBound(w)
        contenders["torch"] = variants[best]
        times = interleaved(contenders, rounds=rounds, settle=settle, min_time=min_time,
                            warmup=1, prime={"bound": 1, "torch": 1})
        times["skrnn"] = skrnn.per_step(times.pop("skrnn_short"), times.pop("skrnn_long"))
    elif w.kind == "predict":
        X = predict_data(w)
        variants = torch_predict_variants(w, X)
        best, screening = fastest(variants, 1, settle, min_time=0)
        est = skrnn_fitted_for_predict(w)
        contenders["skrnn"] = lambda: est.predict_proba(X)
        contenders["torch"] = variants[best]
        times = interleaved(contenders, rounds=fit_rounds, settle=settle, warmup=1,
                            min_time=0)
    else:
        X, y = fit_data(w)
        short = Fit(**{**w.__dict__, "epochs": 1})
        best, screening = fastest(torch_fit_variants(short, X, y), 1, settle, min_time=0)
        contenders["skrnn"] = lambda: run_skrnn_fit(w, X, y)
        contenders["torch"] = torch_fit_variants(w, X, y)[best]
        times = interleaved(contenders, rounds=fit_rounds, settle=settle, warmup=1,
                            min_time=0)

    result = {
        "name": w.name, "kind": w.kind, "describe": w.describe(),
        "skrnn": time_stats(times["skrnn"]),
        "torch": time_stats(times["torch"]), "torch_variant": best,
        "ratio": ratio_stats(times["torch"], times["skrnn"]),
        "torch_screening": screening,
    }
    if w.kind == "step":
        result["skrnn_method"] = (f"(fit of {skrnn.short_epochs + skrnn.extra_epochs} epochs "
                                  f"- fit of {skrnn.short_epochs}) / {skrnn.extra_steps} "
                                  f"steps, {skrnn.n_batches} minibatches per epoch")
    if "bound" in times:
        result["bound"] = time_stats(times["bound"])
        result["bound_ratio"] = ratio_stats(times["skrnn"], times["bound"])
    return result


def format_row(r):
    bound = (f"{fmt_ms(r['bound']['median']):>8} {fmt_ratio(r['bound_ratio']):>17}"
             if "bound" in r else f"{'':>8} {'':>17}")
    return (f"{r['name']:<16} {fmt_ms(r['skrnn']['median']):>9} "
            f"{fmt_ms(r['torch']['median']):>9} {fmt_ratio(r['ratio']):>17} {bound}")


HEADER = (f"{'workload':<16} {'skrnn ms':>9} {'torch ms':>9} {'skrnn/torch [IQR]':>17} "
          f"{'bound ms':>8} {'skrnn/bound [IQR]':>17}")


def set_threads(n):
    """Force NumPy's BLAS to ``n`` threads (if given) and give torch the same count."""
    limiter = None
    if n is not None:
        from threadpoolctl import threadpool_limits

        limiter = threadpool_limits(limits=n, user_api="blas")
    n_blas = blas_threads()
    torch.set_num_threads(n_blas)
    return n_blas, limiter


def run_extras(args, extras):
    """Memory, ablation and negation sections (their own scripts).

    Memory and ablation run in this process. The negation comparison runs in a new one:
    it times ~40 ms fits of skrnn against a pure-NumPy loop, neither using torch, and
    is better not to inherit this process's state (torch loaded, its threads, the heap
    after the large benchmarks): in one full run its skrnn fits took 0.046 s here against
    0.036-0.039 s in three runs of the script on its own, the tutorial's times alike.
    """
    import ablation
    import memory

    out = {}
    if "memory" in extras:
        print("\n# memory", flush=True)
        out["memory"] = memory.run(args.quick)
        print(memory.format_rows(out["memory"]), flush=True)
    if "ablation" in extras:
        print("\n# ablation (time without / time with the shipped threshold)", flush=True)
        print(ablation.HEADER, flush=True)
        out["ablation"] = ablation.run(args.quick, settle=args.settle)
    if "negation" in extras:
        print("\n# negation sentences: skrnn against the tutorial loop", flush=True)
        out["negation"] = _negation_in_new_process(args.quick)  # prints its own lines
    return out


def _negation_in_new_process(quick):
    import subprocess
    import tempfile

    with tempfile.TemporaryDirectory() as tmp:
        path = Path(tmp) / "negation.json"
        cmd = [sys.executable, str(Path(__file__).resolve().parent / "negation_vs_tutorial.py"),
               "--json", str(path)] + (["--seeds", "2"] if quick else [])
        # The same BLAS thread count as this run's (a --threads limit included).
        n = str(blas_threads())
        env = dict(os.environ, OPENBLAS_NUM_THREADS=n, OMP_NUM_THREADS=n, MKL_NUM_THREADS=n)
        subprocess.run(cmd, check=True, env=env)
        return json.loads(path.read_text())


EXTRAS = ("memory", "ablation", "negation")


def main(argv=None):
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--quick", action="store_true", help="fewer rounds, smaller data")
    parser.add_argument("--rounds", type=int, default=None, help="rounds per step workload")
    parser.add_argument("--fit-rounds", type=int, default=None,
                        help="rounds per fit and prediction workload")
    parser.add_argument("--threads", type=int, default=None,
                        help="force BLAS and torch to this many threads (default: BLAS's)")
    parser.add_argument("--settle", type=float, default=0.25,
                        help="seconds of pause before each measurement")
    parser.add_argument("--min-time", type=float, default=0.25,
                        help="seconds of back-to-back training steps per measurement")
    parser.add_argument("--only", nargs="*", default=None,
                        help="workload names to run (the extras run unless skipped)")
    parser.add_argument("--skip", nargs="*", default=(),
                        choices=("torch",) + EXTRAS + ("extras",),
                        help="sections to leave out")
    parser.add_argument("--json", type=Path, default=None, help="write results here")
    args = parser.parse_args(argv)
    rounds = args.rounds or (5 if args.quick else 15)
    fit_rounds = args.fit_rounds or (3 if args.quick else 5)
    n_threads, _limiter = set_threads(args.threads)
    THREAD_CHOICES[:] = sorted({n_threads, 1}, reverse=True)
    workloads = [] if "torch" in args.skip else default_workloads(quick=args.quick)
    if args.only:
        workloads = [w for w in workloads if w.name in args.only]
    extras = [] if "extras" in args.skip else [e for e in EXTRAS if e not in args.skip]
    info = machine_description()
    info.update(torch=torch.__version__, torch_threads=torch.get_num_threads(),
                threads=n_threads, quick=args.quick, command="python " + " ".join(
                    ["benchmarks/bench_vs_torch.py"] + (argv if argv is not None
                                                       else sys.argv[1:])))
    print(f"# threads: NumPy BLAS {n_threads}, torch {torch.get_num_threads()}; "
          f"load average {info['load_average']}", flush=True)
    results = []
    start = time.perf_counter()
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", UserWarning)
        if workloads:
            print(HEADER, flush=True)
        for w in workloads:
            r = run_workload(w, rounds, args.settle, fit_rounds, args.min_time)
            results.append(r)
            print(format_row(r), f"  # {r['torch_variant']}", flush=True)
        out = {"machine": info, "results": results, **run_extras(args, extras)}
    info["seconds"] = time.perf_counter() - start
    info["load_average_end"] = machine_description()["load_average"]
    if args.json:
        args.json.write_text(json.dumps(out, indent=1))
    return out


if __name__ == "__main__":
    main()
