"""Scratch memory that a training loop reuses from one minibatch to the next.

A training step of a recurrent network allocates a few arrays of ``T x B x G*H``
floats (the gates, the states, their gradients). A :class:`Workspace` keeps one flat
buffer per name and hands out views of it, so from the second step on the same warm
pages are written again instead of freshly allocated ones, which the operating system
faults in page by page (the measurement: ``docs/decisions.md``).

Lifetime rule: the array returned for a name is valid until the next request for the
same name. The network asks for a name once per forward (or backward) pass and layer,
and a training step finishes its backward pass before the next step's forward pass, so
a step's arrays are never overwritten while it uses them. Anything that outlives a
step (final states, logits, gradients) is a fresh array, not a workspace view.

Without a workspace (``FRESH``), the same calls simply allocate: this is what prediction
of a single batch and the gradient checks use.
"""

import numpy as np

from . import _tuning


class Workspace:
    """Named, reusable scratch buffers (see the module docstring for the lifetime rule)."""

    def __init__(self):
        self._buffers = {}
        self._constants = {}

    def empty(self, key, shape, dtype):
        """An uninitialised C-contiguous array of ``shape``, reusing the buffer of ``key``."""
        dtype = np.dtype(dtype)
        size = 1
        for s in shape:
            size *= int(s)
        buf = self._buffers.get(key)
        if buf is None or buf.dtype != dtype or buf.size < size:
            buf = np.empty(size, dtype=dtype)
            self._buffers[key] = buf
        return buf[:size].reshape(shape)

    def zeros(self, key, shape, dtype):
        a = self.empty(key, shape, dtype)
        a.fill(0)
        return a

    def constant(self, key, build):
        """The array ``build()`` made on the first request for ``key``, kept for every
        later one: an array that does not change (the caller must not write to it)."""
        value = self._constants.get(key)
        if value is None:
            value = self._constants[key] = build()
        return value

    def scope(self, prefix):
        """The same buffers under keys prefixed with ``prefix`` (one per layer)."""
        return _Scoped(self, prefix)

    @property
    def nbytes(self):
        return sum(b.nbytes for b in (*self._buffers.values(), *self._constants.values()))


class _Scoped:
    def __init__(self, workspace, prefix):
        self._ws = workspace
        self._prefix = prefix

    def empty(self, key, shape, dtype):
        return self._ws.empty((self._prefix, key), shape, dtype)

    def zeros(self, key, shape, dtype):
        return self._ws.zeros((self._prefix, key), shape, dtype)

    def constant(self, key, build):
        return self._ws.constant(key, build)  # shared by the layers

    def scope(self, prefix):
        return _Scoped(self._ws, (self._prefix, prefix))


class _Fresh:
    """The allocator used without a workspace: every request is a new array."""

    @staticmethod
    def empty(key, shape, dtype):
        return np.empty(shape, dtype=dtype)

    @staticmethod
    def zeros(key, shape, dtype):
        return np.zeros(shape, dtype=dtype)

    @staticmethod
    def constant(key, build):
        return build()

    def scope(self, prefix):
        return self


FRESH = _Fresh()




def zero_padding(A, batch_sizes, first=0, gates=False, keep_real=False):
    """Zero the rows of ``A[first + t]`` past ``batch_sizes[t]``, the finished samples.

    Buffers from a workspace hold the previous step's values; the cells write only the
    rows of samples still running, and the rows of finished ones must read as zeros
    (see :mod:`skrnn._cells`). ``A`` is (T', B, ...), or (G, T', B, H) with ``gates``
    (every gate at once). ``batch_sizes`` never increases, so the steps that share a
    batch size are one slice, zeroed in one call; a batch of equal lengths has no
    padding at all. A small buffer with several such slices is zeroed whole, in one
    call (the cells overwrite its real rows), unless ``keep_real``: its real rows hold
    data that must stay.
    """
    B = A.shape[2 if gates else 1]
    n_blocks = len(set(batch_sizes)) - (B in batch_sizes)  # one per batch size below B
    if n_blocks <= 0:
        return A
    if not keep_real and A.size <= _tuning.FILL_PER_CALL * n_blocks:
        A.fill(0)
        return A
    lead = (slice(None),) if gates else ()
    T = len(batch_sizes)
    t = 0
    while t < T:
        n = batch_sizes[t]
        end = t + 1
        while end < T and batch_sizes[end] == n:
            end += 1
        if n < B:
            A[lead + (slice(first + t, first + end), slice(n, None))] = 0
        t = end
    return A
