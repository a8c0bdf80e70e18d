"""Evaluation: top-1/top-k accuracy, loss, confusion matrix and throughput, in inference mode."""
from __future__ import annotations

import numbers
import time
from collections.abc import Iterable, Sequence
from typing import Any

import numpy as np
from mxnet import autograd, gluon, nd

from ..errors import OptionError
from .devices import CtxArg, is_initialized, net_ctx, parse_ctx
from .losses import split_outputs


def limited(data_iter: Iterable, max_batches: int | None):
    """The batches of ``data_iter``, at most ``max_batches`` of them (all when None)."""
    for i, batch in enumerate(data_iter):
        if max_batches is not None and i >= max_batches:
            break
        yield batch


def split_batch(X, y, ctxs):
    """Split a batch over the contexts (``split_and_load``); a batch smaller than the number of
    contexts uses only as many contexts as it has examples. One context: no split, no copy when
    the batch is already there."""
    if len(ctxs) == 1:
        return [X.as_in_context(ctxs[0])], [y.as_in_context(ctxs[0])]
    use = ctxs[:max(1, min(len(ctxs), X.shape[0]))]
    if len(use) == 1:
        return [X.as_in_context(use[0])], [y.as_in_context(use[0])]
    return (gluon.utils.split_and_load(X, use, even_split=False),
            gluon.utils.split_and_load(y, use, even_split=False))


def num_classes(classes: None | int | Sequence[str]) -> int | None:
    """``classes`` as a number: an int, or a list of class names."""
    if classes is None:
        return None
    if isinstance(classes, (list, tuple)):
        if not classes:
            raise OptionError("classes is an empty list; pass the number of classes or their "
                              "names")
        return len(classes)
    return int(classes)


def evaluate(net, data_iter: Iterable, ctx: CtxArg = None, topk: int | None = 5,
             loss: bool = True, confusion: bool = False,
             classes: None | int | Sequence[str] = None,
             max_batches: int | None = None) -> dict[str, Any]:
    """Evaluate ``net`` on ``data_iter`` in inference mode (dropout off, GoogLeNet → logits only).

    Returns a dict with ``acc`` (top-1), ``top{k}`` (when the net has more than ``topk``
    classes), ``loss`` (mean softmax cross-entropy, when ``loss``), ``n`` (examples),
    ``time`` (seconds) and ``examples_per_sec`` (the clock stops after ``mx.nd.waitall()``, so
    asynchronous work is counted); with ``confusion=True`` also ``confusion`` (numpy
    ``classes x classes``, rows = true class, columns = predicted) and ``per_class_acc``.
    ``classes`` (a number or the class names) sizes the confusion matrix (default: the net's
    output width). ``ctx`` may be one context or several (the batch is split over them; the net's
    parameters are moved there if they are elsewhere); by default the net's own. The sums stay
    on the devices until the end: the host waits once, not once per batch.
    """
    ctxs = parse_ctx(ctx) if ctx is not None else net_ctx(net)
    if ctx is not None and is_initialized(net) and not set(ctxs) <= set(net_ctx(net)):
        net.collect_params().reset_ctx(ctxs)
    if topk is not None and (not isinstance(topk, numbers.Integral) or topk < 1):
        raise OptionError(f"topk must be a positive integer or None, got {topk!r}")
    ce = gluon.loss.SoftmaxCrossEntropyLoss()
    correct = {c: nd.zeros((1,), ctx=c) for c in ctxs}
    correct_k = {c: nd.zeros((1,), ctx=c) for c in ctxs}
    loss_sum = {c: nd.zeros((1,), ctx=c) for c in ctxs}
    conf = None
    n, num_out = 0, None
    nd.waitall()
    start = time.time()
    with autograd.predict_mode():
        for X, y in limited(data_iter, max_batches):
            Xs, ys = split_batch(X, y, ctxs)
            for Xi, yi in zip(Xs, ys):
                logits, _ = split_outputs(net(Xi))
                logits = logits.astype("float32", copy=False)  # bfloat16 under AMP
                c = Xi.context
                num_out = logits.shape[1]
                yf = yi.astype("float32")
                pred = logits.argmax(axis=1)
                correct[c] += (pred == yf).sum()
                if topk is not None and num_out > topk:
                    idx = nd.topk(logits, k=topk, ret_typ="indices", dtype="float32")
                    correct_k[c] += (idx == yf.reshape((-1, 1))).sum()
                if loss:
                    loss_sum[c] += ce(logits, yi).sum()
                if confusion:
                    k = num_classes(classes) or num_out
                    if conf is None:
                        conf = np.zeros((k, k), dtype=np.int64)
                    t = yi.asnumpy().astype(np.int64)
                    p = pred.asnumpy().astype(np.int64)
                    conf += np.bincount(t * k + p, minlength=k * k).reshape(k, k)
            n += X.shape[0]
    nd.waitall()
    elapsed = time.time() - start
    if n == 0:
        raise OptionError("the evaluation data is empty; pass a data iterator with at least one "
                          "batch")
    result = {"acc": sum(v.asscalar() for v in correct.values()) / n}
    if topk is not None and num_out is not None and num_out > topk:
        result[f"top{topk}"] = sum(v.asscalar() for v in correct_k.values()) / n
    if loss:
        result["loss"] = sum(v.asscalar() for v in loss_sum.values()) / n
    result["n"] = n
    result["time"] = elapsed
    result["examples_per_sec"] = n / elapsed if elapsed > 0 else float("inf")
    if confusion:
        result["confusion"] = conf
        totals = conf.sum(axis=1)
        with np.errstate(invalid="ignore", divide="ignore"):
            result["per_class_acc"] = np.where(totals > 0, np.diag(conf) / np.maximum(totals, 1),
                                               np.nan)
    return result


def evaluate_accuracy(data_iter: Iterable, net, ctx: CtxArg = None) -> float:
    """Top-1 accuracy of ``net`` on ``data_iter`` (d2lzh's signature: data first)."""
    return evaluate(net, data_iter, ctx=ctx, topk=None, loss=False)["acc"]
