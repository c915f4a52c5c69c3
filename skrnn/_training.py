"""The training loop: epochs of minibatches from a batch source, and what goes around it.

This module knows nothing of scikit-learn. One step::

    Batch (from a batch source) -> network forward -> loss -> backward -> L2
        -> source.after_step(final states) -> optimizer step (clipped)

A *batch source* has ``epoch(rng)``, which yields the :class:`Batch` es of one epoch,
``after_step(batch, final_states)``, which sees the states a step ends with (a source
that carries state between batches keeps them), and ``n_units``, what one epoch's loss
counts (for progress lines). :class:`PaddedBatches` serves padded sequences, shuffled;
:class:`skrnn._tbptt.StreamBatches` serves truncated-BPTT streams.

:func:`run_epochs` runs the epochs. Around it: :class:`History` (the per-epoch record
and the no-improvement count, plain data that an estimator stores as it is),
:class:`Progress` (verbose lines and a time budget) and interruption by Ctrl-C.
"""

import dataclasses
import time
import warnings

import numpy as np

from . import _schedules
from ._workspace import Workspace


@dataclasses.dataclass
class Batch:
    """One minibatch: inputs, targets, weights, initial states, and its loss's weight."""

    seqs: object  # skrnn._validation.Sequences
    y: np.ndarray
    w: np.ndarray | None = None  # per-sample weights, or None
    state0: dict | None = None  # initial state of every layer, or None for zeros
    size: int = 0  # what the epoch's mean loss counts: samples, or predicted tokens
    lanes: np.ndarray | None = None  # the stream each row continues (carried state)


def shuffled_batches(lengths, idx, batch_size, rng):
    """``idx`` shuffled and cut into minibatches, each sorted by decreasing length.

    Sorted is the order the network computes in, so it has nothing to permute; the
    batch's composition is unchanged.
    """
    idx = rng.permutation(idx)
    batches = []
    for start in range(0, len(idx), batch_size):
        b = idx[start : start + batch_size]
        batches.append(b[np.argsort(-lengths[b], kind="stable")])
    return batches


class PaddedBatches:
    """Shuffled minibatches of the samples ``index`` of padded sequences ``seqs``."""

    def __init__(self, seqs, y, w, index, batch_size):
        self.seqs, self.y, self.w = seqs, y, w
        self.index = index
        self.batch_size = batch_size
        self.n_units = len(index)

    def epoch(self, rng):
        for b in shuffled_batches(self.seqs.lengths, self.index, self.batch_size, rng):
            w = None if self.w is None else self.w[b]
            yield Batch(self.seqs.take(b), self.y[b], w, None, len(b))

    def after_step(self, batch, final_states):
        """Nothing to carry: every batch starts from a zero state."""


class Step:
    """Optimizer steps of ``net``: forward, ``loss``, backward, L2, clipped update.

    The L2 penalty is ``0.5 * alpha * ||W||^2 / n`` on the weights (not the biases), as
    MLP's, where ``n`` is the batch's total sample weight (its size when unweighted), so
    that a weight of 2 is the same as a repeated sample. It is computed on the
    optimizer's packed block of weights: three NumPy calls however many arrays.
    """

    def __init__(self, net, optimizer, loss, alpha, clip_norm):
        self.net, self.optimizer, self.loss = net, optimizer, loss
        self.alpha, self.clip_norm = alpha, clip_norm
        self.workspace = Workspace()  # scratch arrays reused by every minibatch

    def loss_and_gradient(self, batch):
        """(loss, gradients, final states) of ``batch`` at the current weights."""
        params = self.optimizer.params
        logits, final, cache = self.net.forward(params, batch.seqs, batch.state0,
                                                return_cache=True, workspace=self.workspace)
        loss, dlogits = self.loss(logits, batch.y, batch.w)
        grads = self.net.backward(params, cache, dlogits)
        if self.alpha:
            n = len(batch.seqs) if batch.w is None else float(batch.w.sum())
            scale = self.alpha / n
            grads = self.optimizer.gradient(grads)
            loss += 0.5 * scale * self.optimizer.weight_decay(scale)
        return loss, grads, final

    def update(self, grads):
        self.optimizer.step(grads, self.clip_norm)


@dataclasses.dataclass
class History:
    """What training records epoch by epoch; stored on the estimator as it is."""

    loss_curve_: list
    n_iter_: int
    t_: int
    validation_scores_: list | None
    best_loss_: float | None
    best_validation_score_: float | None
    _no_improvement_count: int
    _seed: int
    _rate_scale: float = 1.0  # the learning rate's divisions so far (schedules)
    _best_epoch: int = 0  # the epoch whose weights the model holds (0: none yet)
    _since: int = 0  # the first epoch of loss_curve_ on the data of the last fit
    _data_key: str | None = None  # what the last fit trained on (a hash)

    @classmethod
    def start(cls, seed, validation, data_key=None):
        """A new record; ``validation``: a validation score is monitored, not the loss."""
        return cls([], 0, 0, [] if validation else None, None if validation else np.inf,
                   -np.inf if validation else None, 0, seed, _data_key=data_key)

    @classmethod
    def resume(cls, attributes, validation, data_key=None):
        """The record of a fitted model (a copy); the monitored value may have changed.

        The best value seen counts only on the same training data (``data_key``): on
        other data the first epoch is the new best, so a model fine-tuned on new data
        is never rolled back to its old weights.
        """
        fields = {f.name: attributes[f.name] for f in dataclasses.fields(cls)
                  if f.name in attributes}
        history = cls(**fields)
        history.loss_curve_ = list(history.loss_curve_)
        if history.validation_scores_ is not None:
            history.validation_scores_ = list(history.validation_scores_)
        fresh = data_key is None or data_key != history._data_key
        if validation and (history.validation_scores_ is None or fresh):
            if history.validation_scores_ is None:
                history.validation_scores_ = []
            history.best_validation_score_ = -np.inf
            history.best_loss_, history._no_improvement_count = None, 0
        elif not validation and (history.best_loss_ is None or fresh):
            history.validation_scores_, history.best_validation_score_ = None, None
            history.best_loss_, history._no_improvement_count = np.inf, 0
        if fresh:
            history._since, history._best_epoch = history.n_iter_, 0
            history._data_key = data_key
        return history

    def record(self, loss, score, tol):
        """Count an epoch's loss (and validation score); True when it is the best yet."""
        self.n_iter_ += 1
        self.loss_curve_.append(loss)
        if score is None:
            stalled = loss > self.best_loss_ - tol
            self._no_improvement_count = self._no_improvement_count + 1 if stalled else 0
            best = loss < self.best_loss_
            self.best_loss_ = min(self.best_loss_, loss)
            return best
        self.validation_scores_.append(score)
        stalled = score < self.best_validation_score_ + tol
        self._no_improvement_count = self._no_improvement_count + 1 if stalled else 0
        if score > self.best_validation_score_:
            self.best_validation_score_ = score
            return True
        return False

    def attributes(self):
        return dataclasses.asdict(self)


class Progress:
    """Verbose lines and the time budget of one fit.

    Every estimator prints one line per epoch, as MLP does. With ``in_epoch``, long
    epochs also get a line every ``interval`` seconds (units per second, running loss,
    time left): the generator's, whose one epoch may be a whole novel.
    """

    def __init__(self, verbose, max_time=None, n_epochs=None, in_epoch=False, interval=10.0):
        self.verbose = verbose
        self.start = self.last_print = time.perf_counter()
        self.deadline = None if max_time is None else self.start + max_time
        self.max_time, self.n_epochs = max_time, n_epochs
        self.in_epoch = in_epoch
        self.interval = interval
        self.epoch = 0  # epochs of this fit
        self.units = 0  # units trained on in this fit

    def start_epoch(self, epoch_units):
        self.epoch += 1
        self.epoch_units, self.epoch_done, self.loss_sum = epoch_units, 0, 0.0

    def used(self, n_epochs):
        """The fraction of the fit's budget used: of ``n_epochs``, or of ``max_time``."""
        used = (self.epoch - 1 + self.epoch_done / max(self.epoch_units, 1)) / n_epochs
        if self.deadline is not None:
            used = max(used, (time.perf_counter() - self.start) / self.max_time)
        return used

    def batch_done(self, loss, n_units):
        """Count a minibatch; print a line now and then; True when time is up."""
        self.epoch_done += n_units
        if not self.in_epoch:
            return False
        self.units += n_units
        self.loss_sum += loss * n_units
        now = time.perf_counter()
        out_of_time = self.deadline is not None and now >= self.deadline
        if self.verbose and (now - self.last_print >= self.interval or out_of_time):
            self.last_print = now
            self._print_progress(now)
            if out_of_time:
                print(f"Time budget max_time={self.max_time:g}s used up. Stopping.", flush=True)
        return out_of_time

    def _print_progress(self, now):
        rate = self.units / max(now - self.start, 1e-9)
        left = (self.n_epochs - self.epoch + 1) * self.epoch_units - self.epoch_done
        eta = left / max(rate, 1e-9)
        if self.deadline is not None:
            eta = min(eta, max(self.deadline - now, 0.0))
        print(f"Epoch {self.epoch}: {100 * self.epoch_done / self.epoch_units:5.1f}%, "
              f"loss = {self.loss_sum / max(self.epoch_done, 1):.4f}, "
              f"{rate:,.0f} tokens/s, ETA {format_seconds(eta)}", flush=True)

    def end_epoch(self, history, seconds):
        if self.verbose:
            msg = f"Iteration {history.n_iter_}, loss = {history.loss_curve_[-1]:.8f}"
            if history.validation_scores_ is not None:
                msg += f", validation score = {history.validation_scores_[-1]:.6f}"
            print(f"{msg}, time = {seconds:.2f}s")

    def stalled(self, validation, tol, patience, then="Stopping."):
        if self.verbose:
            what = "Validation score" if validation else "Training loss"
            print(f"{what} did not improve more than tol={tol} for {patience} consecutive "
                  f"epochs. {then}")

    def say(self, message):
        if self.verbose:
            print(message, flush=True)


def format_seconds(seconds):
    seconds = int(seconds + 0.5)  # nearest second (seconds >= 0), a Python int for :02d
    hours, rest = divmod(seconds, 3600)
    minutes, secs = divmod(rest, 60)
    return f"{hours}h{minutes:02d}m{secs:02d}s" if hours else f"{minutes}m{secs:02d}s"


def check_finite_weights(vector, epoch, name):
    """The loss is checked before every step; the weights after the last one, here."""
    if not np.isfinite(vector).all():
        raise ValueError(
            f"{name}: the weights became non-finite in epoch {epoch + 1}; the model was left "
            "as it was before this call. Lower learning_rate_init, set clip_norm, or scale "
            "the input."
        )


def _run_epoch(step, source, history, progress, name, rate, n_epochs):
    """One pass over ``source``; returns (mean loss per unit, whether time is up)."""
    epoch = history.n_iter_
    rng = np.random.default_rng([history._seed, epoch])
    progress.start_epoch(source.n_units)
    hyper = step.optimizer.hyper
    scheduled = rate.schedule == "cosine"
    hyper["learning_rate"] = rate.at(progress.used(n_epochs))
    total, n_seen = 0.0, 0
    for batch in source.epoch(rng):
        if batch.w is not None and not batch.w.any():
            continue  # all weights zero: no loss, nothing to learn (and n = 0)
        loss, grads, final = step.loss_and_gradient(batch)
        if not np.isfinite(loss):
            raise ValueError(
                f"{name}: the loss became non-finite in epoch {epoch + 1}; the model was "
                "left as it was before this call. Lower learning_rate_init, set clip_norm, "
                "or scale the input."
            )
        source.after_step(batch, final)
        step.update(grads)
        total += loss * batch.size
        n_seen += batch.size
        history.t_ += len(batch.seqs)
        if progress.batch_done(loss, batch.size):
            return total / max(n_seen, 1), True
        if scheduled:
            hyper["learning_rate"] = rate.at(progress.used(n_epochs))
    return total / max(n_seen, 1), False


def run_epochs(step, source, history, *, n_epochs, tol, patience, validate, progress,
               name, rate, keep_best=True, best=None):
    """Train for up to ``n_epochs`` epochs; return (stopped early, last weights).

    ``validate(params)`` scores the weights on held-out data (higher is better), or is
    None: then the training loss is monitored. Training stops after ``patience``
    epochs without improvement (never with ``patience=None``; the ``"adaptive"``
    ``rate`` first divides itself), when ``progress`` says time is up, or at Ctrl-C
    (with a warning). With ``keep_best``, the weights (and optimizer state) of the best
    epoch by the monitored value are restored at the end, and a training loss that
    rises (:func:`skrnn._schedules.is_diverging`), or stalls having got nowhere
    (:func:`skrnn._schedules.is_stuck`), rolls back to them with the rate divided.
    ``best`` is a snapshot of the best weights so far (None: those training starts
    from). ``history`` and ``rate`` are updated in place; the weights are the
    optimizer's. The last weights are returned as a snapshot when the best replaced
    them (None otherwise), so that a ``warm_start`` fit can go on from them.
    """
    optimizer = step.optimizer
    if keep_best and best is None:
        best = optimizer.snapshot()
    stopped, last = False, None
    try:
        for _ in range(n_epochs):
            start = time.perf_counter()
            loss, out_of_time = _run_epoch(step, source, history, progress, name, rate,
                                           n_epochs)
            check_finite_weights(optimizer.vector, history.n_iter_, name)
            score = None if validate is None else float(validate(optimizer.params))
            if history.record(loss, score, tol) and keep_best:
                best, history._best_epoch = optimizer.snapshot(), history.n_iter_
            progress.end_epoch(history, time.perf_counter() - start)
            if out_of_time:
                stopped = True
                break
            if keep_best and _schedules.is_diverging(history.loss_curve_[history._since:]):
                optimizer.restore(best)
                rate.decay()
                history._rate_scale, history._no_improvement_count = rate.scale, 0
                progress.say(
                    f"Training loss rose for {_schedules.RISING_EPOCHS} epochs: restored "
                    f"the weights of epoch {history._best_epoch} and divided the learning "
                    f"rate by {_schedules.DECAY:g} (now {rate.at(0):.3g}).")
                continue
            if patience is not None and history._no_improvement_count > patience:
                if keep_best and validate is None and rate.n_decays < _schedules.MAX_DECAYS \
                        and _schedules.is_stuck(history.loss_curve_[history._since:]):
                    optimizer.restore(best)
                    rate.decay()
                    history._rate_scale, history._no_improvement_count = rate.scale, 0
                    progress.stalled(validate is not None, tol, patience,
                                     f"The fit is stuck: restored the weights "
                                     f"of epoch {history._best_epoch} and divided the "
                                     f"learning rate by {_schedules.DECAY:g} (now "
                                     f"{rate.at(0):.3g}).")
                    continue
                if rate.schedule == "adaptive" and rate.n_decays < _schedules.MAX_DECAYS:
                    rate.decay()
                    history._rate_scale, history._no_improvement_count = rate.scale, 0
                    progress.stalled(validate is not None, tol, patience,
                                     f"Learning rate divided by {_schedules.DECAY:g} "
                                     f"(now {rate.at(0):.3g}).")
                    continue
                progress.stalled(validate is not None, tol, patience)
                stopped = True
                break
    except KeyboardInterrupt:
        warnings.warn("Training interrupted by user.")
        stopped = True
    if keep_best and history.n_iter_ and history._best_epoch != history.n_iter_:
        last = optimizer.snapshot()
        optimizer.restore(best)
        what = "validation score" if validate is not None else "training loss"
        held = (f"epoch {history._best_epoch}" if history._best_epoch > history._since
                else "the start of this fit")
        progress.say(f"Restored the weights of {held}, the best by {what}.")
    return stopped, last
