"""Losses and model outputs: label smoothing, and GoogLeNet's ``(logits, aux1, aux2)``."""
from __future__ import annotations

from mxnet import gluon


class LabelSmoothingLoss(gluon.loss.Loss):
    """Softmax cross-entropy against ``(1 - eps) * one_hot(y) + eps / classes`` (Szegedy et al.,
    "Rethinking the Inception Architecture for Computer Vision", CVPR 2016). ``eps=0`` is the
    plain ``SoftmaxCrossEntropyLoss``. Input: logits ``(batch, classes)``, labels ``(batch,)``;
    output: one loss per example."""

    def __init__(self, eps: float = 0.1, weight=None, batch_axis: int = 0, **kwargs):
        super().__init__(weight, batch_axis, **kwargs)
        self._eps = float(eps)

    def hybrid_forward(self, F, pred, label):
        logp = F.log_softmax(pred, axis=-1)
        nll = -F.pick(logp, label, axis=-1)
        if self._eps > 0:
            nll = (1 - self._eps) * nll - self._eps * F.mean(logp, axis=-1)
        return nll


def make_loss(label_smoothing: float):
    """``(training loss, reported loss or None)``: with smoothing, the reported loss is plain
    cross-entropy, so epoch losses compare across runs."""
    if label_smoothing > 0:
        return LabelSmoothingLoss(label_smoothing), gluon.loss.SoftmaxCrossEntropyLoss()
    return gluon.loss.SoftmaxCrossEntropyLoss(), None


def split_outputs(out):
    """``(logits, [aux...])``: GoogLeNet in training returns ``(logits, aux1, aux2)``."""
    if isinstance(out, (tuple, list)):
        return out[0], list(out[1:])
    return out, []
