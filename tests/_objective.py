"""The training objective of a fitted estimator, computed as fit computes it."""

from skrnn._optimizers import Optimizer, init_state
from skrnn._training import Batch, Step


def objective(est, params, seqs, y, w=None):
    """(loss, gradients) of ``est``'s loss plus its L2 term at weights ``params``.

    Through fit's own step (:class:`skrnn._training.Step`: the L2 term on the optimizer's
    packed block of weights). ``params`` is read afresh at every call, so a finite-
    difference check may perturb it in place; the gradients returned are copies.
    """
    net = est._network()
    optimizer = Optimizer("adam", params, init_state("adam", params), est._hyper(),
                          decayed=net.weight_names(params))
    step = Step(net, optimizer, est._loss, est.alpha, est.clip_norm)
    loss, grads, _ = step.loss_and_gradient(Batch(seqs, y, w))
    return loss, {k: g.copy() for k, g in grads.items()}
