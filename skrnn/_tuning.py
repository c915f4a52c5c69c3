"""Tuning constants of skrnn's speed and memory: the one place benchmarks may read.

Each is a threshold or a size that changes how fast or how large a computation is,
never its result. The code reads them as ``_tuning.NAME`` at call time, so a test or a
benchmark can set one for a run. Why each value was chosen is in ``docs/decisions.md``.
"""

# Prediction works in chunks of at most this many floats per gate buffer.
PREDICT_CHUNK_ELEMENTS = 2**23
# Below this many multiply-adds per step (batch x H x G*H), fit runs BLAS on one thread.
SMALL_STEP_PRODUCT = 2**18
# Up to this many multiply-adds, dW_x of token ids is a dense one-hot product; above,
# a sparse scatter.
DENSE_SCATTER_LIMIT = 2**21
# Steps per window when the generator reads long sequences (state carried between them).
EVAL_WINDOW = 256
# Seconds between two progress lines of a verbose generator fit.
PROGRESS_INTERVAL = 10.0
# A padding block is zeroed by one call each; a buffer up to this many floats per block
# is zeroed whole instead.
FILL_PER_CALL = 8192
