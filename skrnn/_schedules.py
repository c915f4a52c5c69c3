"""Learning-rate schedules: the rate of every optimizer step of one fit.

``"constant"`` keeps ``learning_rate_init``. ``"adaptive"`` divides it by
:data:`DECAY` each time the monitored value (validation score, or training loss)
stops improving for ``n_iter_no_change`` epochs, as MLP's does, and training stops
only when it stalls after :data:`MAX_DECAYS` divisions (a roll-back's count too).
``"cosine"`` anneals it along half a cosine from ``learning_rate_init`` to 0 over the
fit's budget: ``max_iter`` epochs or, when it is set, ``max_time`` seconds, whichever
ends first.

A loss that rises (:func:`is_diverging`), or a stall of the training loss that got
nowhere (:func:`is_stuck`), makes every schedule roll back to the best weights and
divide the rate by :data:`DECAY` (a stuck stall at most :data:`MAX_DECAYS` times); the
divisions are kept between ``warm_start`` calls (``History._rate_scale``).
"""

import itertools
import math

SCHEDULES = ("constant", "adaptive", "cosine")
DECAY = 5.0  # MLP's adaptive divisor
MAX_DECAYS = 2  # adaptive: stalls after this many divisions stop training
RISING_EPOCHS = 3  # consecutive rises of the training loss that count as diverging
RISE_MARGIN = 0.02  # ... and only when the loss is this much (relative) above its best
RELAPSE = 0.5  # is_stuck: the share of the first loss not shed, or of the gain given back


class LearningRate:
    """The rate of one fit: ``init * scale``, times the cosine of the budget used."""

    def __init__(self, schedule, init, scale=1.0):
        self.schedule, self.init, self.scale = schedule, float(init), float(scale)

    def at(self, used):
        """The rate after ``used`` (0 to 1) of the fit's budget."""
        rate = self.init * self.scale
        if self.schedule == "cosine":
            rate *= 0.5 * (1.0 + math.cos(math.pi * min(max(used, 0.0), 1.0)))
        return rate

    def decay(self):
        self.scale /= DECAY

    @property
    def n_decays(self):
        return round(math.log(1.0 / self.scale, DECAY)) if self.scale < 1.0 else 0


def is_diverging(loss_curve):
    """True when the training loss rose in each of the last :data:`RISING_EPOCHS` epochs
    and ends more than :data:`RISE_MARGIN` above its lowest (a plateau's noise does not
    count)."""
    k = RISING_EPOCHS
    if len(loss_curve) <= k:
        return False
    last = loss_curve[-k - 1:]
    rising = all(b > a for a, b in itertools.pairwise(last))
    return rising and last[-1] > min(loss_curve) * (1.0 + RISE_MARGIN)


def is_stuck(loss_curve):
    """True when a stalled fit got nowhere: its best training loss is not below
    ``1 - RELAPSE`` of its first epoch's (a plateau the rate cannot leave), or its last
    has given back more than :data:`RELAPSE` of the gain from the first epoch to the
    best and is more than :data:`RISE_MARGIN` above it (a spike it did not recover
    from). The noise of a converged fit is neither."""
    if len(loss_curve) < 2:
        return False
    first, best, last = loss_curve[0], min(loss_curve), loss_curve[-1]
    plateau = best > (1.0 - RELAPSE) * first
    relapse = last > best + RELAPSE * (first - best) and last > best * (1.0 + RISE_MARGIN)
    return plateau or relapse
