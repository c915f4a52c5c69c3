"""Helpers shared by the benchmarks: thread matching, interleaved timing, statistics, memory.

Nothing here imports torch; :mod:`bench_vs_torch` does, and only there.

The machine these run on is shared (other jobs train at the same time), so absolute
times are noisy. Every comparison is therefore *interleaved*: in each round every
contender runs once, in a fresh random order, and the statistic reported is the median
over rounds of the per-round ratio, with its interquartile range. A slow moment of the
machine then hits both sides of a ratio alike.
"""

import gc
import os
import platform
import resource
import time

import numpy as np

try:
    from threadpoolctl import threadpool_info
except ImportError:  # pragma: no cover - threadpoolctl ships with scikit-learn
    threadpool_info = None


# --------------------------------------------------------------------------- threads


def _numpy_blas():
    """threadpoolctl's record of the BLAS NumPy uses (not torch's or another's)."""
    if threadpool_info is None:
        return None
    import numpy  # noqa: F401  (make sure NumPy's BLAS is loaded)

    blas = [p for p in threadpool_info() if p.get("user_api") == "blas"]
    own = [p for p in blas if "numpy" in p.get("filepath", "").lower()]
    return (own or blas or [None])[0]


def blas_threads():
    """Number of threads NumPy's BLAS uses (threadpoolctl), or None if unknown."""
    p = _numpy_blas()
    return None if p is None else p["num_threads"]


def blas_name():
    p = _numpy_blas()
    if p is None:
        return "unknown"
    return f"{p.get('internal_api')} {p.get('version')} ({p.get('architecture')})"


def machine_description():
    return {
        "python": platform.python_version(),
        "numpy": np.__version__,
        "machine": platform.machine(),
        "cpu": _cpu_name(),
        "cores": os.cpu_count(),
        "blas": blas_name(),
        "blas_threads": blas_threads(),
        "load_average": os.getloadavg() if hasattr(os, "getloadavg") else None,
    }


def _cpu_name():
    try:
        with open("/proc/cpuinfo") as f:
            for line in f:
                if line.startswith("model name"):
                    return line.split(":", 1)[1].strip()
    except OSError:
        pass
    return platform.processor() or "unknown"


# --------------------------------------------------------------------------- timing


def _calibrate(fn, min_time):
    """How many calls make one measurement last at least ``min_time`` seconds."""
    start = time.perf_counter()
    fn()
    elapsed = time.perf_counter() - start
    return max(1, int(np.ceil(min_time / max(elapsed, 1e-6))))


def interleaved(contenders, rounds=15, warmup=2, min_time=0.02, seed=0, settle=0.0,
                prime=0):
    """Time every callable of ``contenders`` (name -> fn) interleaved over ``rounds``.

    Each measurement repeats the callable enough times to last ``min_time`` (the count
    is fixed per contender after warm-up) and records seconds per call. ``settle``
    seconds of sleep before each measurement let the previous contender's idle worker
    threads (OpenBLAS and OpenMP spin a while before sleeping) go quiet, so that they
    do not steal a core from the next one; ``prime`` untimed calls after it bring the
    contender back to its steady state (worker threads awake, caches warm) before the
    clock starts, as in a training loop, where steps run back to back; a dict gives
    each contender its own count (missing names: 0). Returns name -> array of per-round
    seconds per call, one entry per round.
    """
    names = list(contenders)
    primes = prime if isinstance(prime, dict) else dict.fromkeys(names, prime)
    for name in names:
        for _ in range(warmup):
            contenders[name]()
    inner = {name: _calibrate(contenders[name], min_time) for name in names}
    times = {name: [] for name in names}
    rng = np.random.default_rng(seed)
    gc_was_enabled = gc.isenabled()
    gc.disable()
    try:
        for _ in range(rounds):
            for name in rng.permutation(names):
                fn, k = contenders[name], inner[name]
                if settle:
                    time.sleep(settle)
                for _ in range(primes.get(name, 0)):
                    fn()
                start = time.perf_counter()
                for _ in range(k):
                    fn()
                times[name].append((time.perf_counter() - start) / k)
            gc.collect()
    finally:
        if gc_was_enabled:
            gc.enable()
    return {name: np.asarray(v) for name, v in times.items()}


def ratio_stats(numerator, denominator):
    """Median and interquartile range of the per-round ratios numerator / denominator."""
    r = np.asarray(numerator) / np.asarray(denominator)
    q25, q50, q75 = np.percentile(r, [25, 50, 75])
    return {"median": float(q50), "q25": float(q25), "q75": float(q75), "n": int(r.size)}


def time_stats(t):
    q25, q50, q75 = np.percentile(t, [25, 50, 75])
    return {"median": float(q50), "q25": float(q25), "q75": float(q75), "n": len(t)}


def fmt_ratio(s):
    return f"{s['median']:.2f} [{s['q25']:.2f}-{s['q75']:.2f}]"


def fmt_ms(seconds):
    return f"{seconds * 1e3:.2f}" if seconds < 10 else f"{seconds * 1e3:.0f}"


# --------------------------------------------------------------------------- data


def token_batch(rng, n, steps, vocab, min_len=None):
    """(n, steps) int token ids, -1 end-padded when ``min_len`` < steps (lengths uniform)."""
    X = rng.integers(0, vocab, size=(n, steps))
    if min_len is not None and min_len < steps:
        lengths = rng.integers(min_len, steps + 1, size=n)
        X[np.arange(steps)[None, :] >= lengths[:, None]] = -1
    return X


# --------------------------------------------------------------------------- memory


def rss_bytes():
    """Current resident set size of this process (Linux /proc, else peak RSS)."""
    try:
        with open("/proc/self/statm") as f:
            return int(f.read().split()[1]) * os.sysconf("SC_PAGE_SIZE")
    except OSError:
        return peak_rss_bytes()


def peak_rss_bytes():
    """Peak RSS of this process so far (ru_maxrss is KiB on Linux)."""
    peak = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss
    return peak * (1 if platform.system() == "Darwin" else 1024)


def reset_peak_rss():
    """Reset the kernel's peak-RSS watermark (Linux >= 4.0); False if not possible."""
    try:
        with open("/proc/self/clear_refs", "w") as f:
            f.write("5")
        return True
    except OSError:
        return False


def hwm_bytes():
    """VmHWM (peak RSS since the last reset_peak_rss) from /proc/self/status."""
    try:
        with open("/proc/self/status") as f:
            for line in f:
                if line.startswith("VmHWM:"):
                    return int(line.split()[1]) * 1024
    except OSError:
        pass
    return peak_rss_bytes()


def mib(n_bytes):
    return n_bytes / 2**20
