"""The training step and one epoch of it, with no host wait per batch.

MXNet runs operators asynchronously: Python queues a batch's forward, backward and update and
moves on to the next batch while the device computes. Reading a number on the host (``asscalar``)
waits for the device, so the loop reads nothing per batch. Each batch's loss sum and correct count
stay on the device and are read together every ``check_every`` batches and at the end of the
epoch: one wait instead of two or three per batch.

The same read is the divergence check (:class:`DivergenceWatch`): a NaN/inf loss, or one that
grew past ``factor`` times its starting value, or a parameter (or batch norm running statistic)
that is no longer finite, stops the run, naming the first bad batch (the last batch read, for
parameters). Its
update has already been applied by then, so the watch keeps a copy of the parameters from the
previous check and puts it back: the net in memory is the last checked good state, and no
checkpoint is ever written from bad weights (checkpoints are written after the epoch's check).
"""
from __future__ import annotations

import math
from typing import Any

import numpy as np
from mxnet import autograd, nd

from ..errors import GluonCNNError
from .evaluate import limited, split_batch
from .losses import split_outputs

#: Batches between two reads of the loss (divergence check, progress bar).
CHECK_EVERY = 50
#: A loss this many times above its start (or above chance level, whichever is larger) is
#: divergence, like NaN.
DIVERGENCE_FACTOR = 100.0


class TrainingDivergedError(GluonCNNError, RuntimeError):
    """The loss became NaN, infinite, or grew far past its start; ``epoch``, ``batch`` and
    ``checkpoint`` say where and what is left (``checkpoint`` is the last good checkpoint's
    ``.params`` path, or ``None``)."""

    def __init__(self, message, epoch=None, batch=None, checkpoint=None):
        super().__init__(message)
        self.epoch = epoch
        self.batch = batch
        self.checkpoint = checkpoint


# ------------------------------------------------------------------------------ the step
def _on(ctx0, parts):
    """The sum of per-device values, on the first device."""
    return parts[0] if len(parts) == 1 else nd.add_n(*[p.as_in_context(ctx0) for p in parts])


def train_step(net, X, y, ctxs, loss_fn, trainer, step_size, aux_weight=0.3, amp_dtype=None,
               clip=None, report_loss_fn=None):
    """One optimizer step on batch ``(X, y)``; the inner loop of both ``train_ch5`` and ``fit``.

    Returns ``(loss_sum, total_sum, correct)`` as ``(1,)`` NDArrays on the first device, not yet
    computed: ``loss_sum`` is the (reported) loss of the main output summed over the batch,
    ``total_sum`` the loss that was differentiated (auxiliary heads included; the same array when
    there are none), ``correct`` the number of right top-1 predictions.
    """
    Xs, ys = split_batch(X, y, ctxs)
    totals, mains, logits_all = [], [], []
    with autograd.record():
        for Xi, yi in zip(Xs, ys):
            logits, aux = split_outputs(net(Xi))
            main = loss_fn(logits, yi)
            total = main
            for a in aux:
                total = total + aux_weight * loss_fn(a, yi)
            totals.append(total)
            mains.append(main)
            logits_all.append(logits)
    if amp_dtype == "float16":
        from mxnet.contrib import amp
        with amp.scale_loss(totals, trainer) as scaled:
            autograd.backward(scaled)
    else:
        autograd.backward(totals)
    if report_loss_fn is not None:  # e.g. plain cross-entropy while training with smoothing
        with autograd.pause():
            mains = [report_loss_fn(lg, yi) for lg, yi in zip(logits_all, ys)]
    if clip is not None:
        clipped_update(trainer, ctxs, step_size, clip, amp_dtype)
    else:
        trainer.step(step_size)
    ctx0 = Xs[0].context
    loss_sum = _on(ctx0, [m.sum() for m in mains])
    total_sum = loss_sum if totals[0] is mains[0] else _on(ctx0, [t.sum() for t in totals])
    # float32 before argmax: under bfloat16 AMP the logits are bfloat16, whose integers are
    # exact only up to 256 (class 257 would read as 256)
    correct = _on(ctx0, [(lg.astype("float32", copy=False).argmax(axis=1)
                          == yi.astype("float32")).sum() for lg, yi in zip(logits_all, ys)])
    return loss_sum, total_sum, correct


def clipped_update(trainer, ctxs, step_size, max_norm, amp_dtype=None):
    """Sum gradients over devices/workers, clip their global L2 norm (of the per-example-averaged
    gradient, the one the optimizer uses) to ``max_norm``, then update. The norm and the factor
    stay on the device."""
    trainer.allreduce_grads()
    params = [p for p in trainer._params if p.grad_req != "null"]
    scale = float(step_size)
    scaler = getattr(trainer, "_amp_loss_scaler", None) if amp_dtype == "float16" else None
    if scaler is not None:
        scale *= scaler.loss_scale
    ctx0 = params[0].list_ctx()[0]
    sq = nd.add_n(*[(p.grad(ctx0).astype("float32") ** 2).sum() for p in params])
    norm = nd.sqrt(sq) / scale
    factor = max_norm / nd.maximum(norm, max_norm)  # 1 when the norm is within bounds
    factors = {c: factor.as_in_context(c) for c in params[0].list_ctx()}
    for p in params:
        for g in p.list_grad():
            nd.broadcast_mul(g, factors[g.context].astype(g.dtype, copy=False), out=g)
    trainer.update(step_size)


# ------------------------------------------------------------------------------ sums and checks
class BatchSums:
    """Each batch's loss, differentiated loss and correct count, on the device until read."""

    def __init__(self):
        self.loss, self.total, self.correct, self.sizes = [], [], [], []

    def add(self, loss_sum, total_sum, correct, n):
        self.loss.append(loss_sum)
        self.total.append(total_sum)
        self.correct.append(correct)
        self.sizes.append(n)

    def __len__(self):
        return len(self.sizes)

    def read(self):
        """``(loss, total, correct, sizes)`` as numpy arrays, one entry per batch, in one host
        wait; the ledger is emptied."""
        if not self.sizes:
            empty = np.zeros(0)
            return empty, empty, empty, empty
        same = all(t is m for t, m in zip(self.total, self.loss))
        parts = self.loss + self.correct + ([] if same else self.total)
        values = nd.concat(*parts, dim=0).asnumpy().astype(np.float64)
        k = len(self.sizes)
        loss, correct = values[:k], values[k:2 * k]
        total = loss if same else values[2 * k:]
        sizes = np.asarray(self.sizes, dtype=np.float64)
        self.loss, self.total, self.correct, self.sizes = [], [], [], []
        return loss, total, correct, sizes


class DivergenceWatch:
    """Finds the first batch whose loss per example is NaN/inf or above ``factor`` times the
    larger of the run's first batch loss (``reference``) and chance level (``floor``, the loss of
    a uniform guess, ln(classes)); keeps the parameters of the last good check to put back."""

    def __init__(self, net, factor: float = DIVERGENCE_FACTOR, reference: float | None = None,
                 floor: float = 0.0):
        self.params = list(net.collect_params().values())
        self.factor, self.reference, self.floor = factor, reference, floor
        self._saved = None

    def limit(self) -> float:
        return self.factor * max(self.reference or 0.0, self.floor)

    def first_bad(self, per_example: np.ndarray):
        """``(index, value)`` of the first diverged batch among ``per_example`` losses, or
        None; the first ever value becomes the reference."""
        if self.reference is None and per_example.size and math.isfinite(per_example[0]):
            self.reference = float(per_example[0])
        bad = ~np.isfinite(per_example) | (per_example > self.limit())
        if not bad.any():
            return None
        i = int(np.argmax(bad))
        return i, float(per_example[i])

    def bad_parameters(self) -> list[str]:
        """The names of the parameters (batch norm's running statistics included) holding a NaN
        or an infinite value. When all are finite this costs one fused sum of squares per device
        (``multi_sum_sq``, which LAMB's update uses) and one host wait: a fraction of one
        training step, once every :data:`CHECK_EVERY` batches."""
        by_ctx: dict[Any, list] = {}
        for p in self.params:
            for d in p.list_data():
                by_ctx.setdefault(d.context, []).append(d)
        sums = [nd.multi_sum_sq(*arrays, num_arrays=len(arrays)).sum()
                for arrays in by_ctx.values()]
        first = next(iter(by_ctx), None)
        if not sums or math.isfinite(float(_on(first, sums).asscalar())):
            return []
        return [p.name for p in self.params
                if not all(math.isfinite(float(d.norm().asscalar())) for d in p.list_data())]

    def snapshot(self) -> None:
        """Remember the parameters as they are now (a copy on each device, no host wait); not
        before their shapes are known (deferred initialisation)."""
        if any(p._deferred_init for p in self.params):
            self._saved = None
            return
        self._saved = [[d.copy() for d in p.list_data()] for p in self.params]

    def restore(self) -> None:
        """Put the remembered parameters back (no-op before the first snapshot)."""
        if self._saved is None:
            return
        for p, copies in zip(self.params, self._saved):
            for d, c in zip(p.list_data(), copies):
                c.copyto(d)


def run_epoch(run, data, callbacks, check_every: int = CHECK_EVERY):
    """Train one epoch of ``run`` on ``data`` (hooks: ``on_batch_end`` after each step).

    ``run`` supplies ``net, trainer, ctxs, loss_fn, report_fn, step_size`` (None: the batch
    size times ``step_scale``), ``aux_weight, amp_dtype, clip_gradient, set_lr(i)`` and
    ``watch`` (a :class:`DivergenceWatch`, or None to skip the check); ``run.running`` gets
    ``(batches, mean loss, accuracy)`` at every read, ``run.step_loss`` ``(loss sum, batch
    size)`` of each step (the sum an NDArray still on the device).
    Returns ``(loss_sum, correct, n)`` over the epoch (Python floats, the loss summed in float64
    from each batch's float32 sum). Raises :class:`TrainingDivergedError` (through
    ``run.diverged``) after restoring the last good parameters.
    """
    sums, totals = BatchSums(), [0.0, 0.0, 0.0]
    done = 0
    on_batch = [cb.on_batch_end for cb in callbacks if cb.wants("on_batch_end")]
    if run.watch is not None:
        run.watch.snapshot()
    for i, (X, y) in enumerate(limited(data, run.max_batches)):
        run.batch = i + 1
        run.set_lr(i)
        step = train_step(run.net, X, y, run.ctxs, run.loss_fn, run.trainer,
                          run.step_size or X.shape[0] * run.step_scale, run.aux_weight,
                          run.amp_dtype, run.clip_gradient, run.report_fn)
        sums.add(*step, X.shape[0])
        run.step_loss = (step[0], X.shape[0])  # for callbacks; reading it waits for the step
        for hook in on_batch:
            hook(run, i + 1)
        if len(sums) >= check_every:
            done = _read(run, sums, totals, done)
            if run.watch is not None:
                run.watch.snapshot()
    _read(run, sums, totals, done)
    return totals[0], totals[1], int(totals[2])


def _read(run, sums, totals, done):
    """Read the pending sums (one host wait), check them, add them to ``totals``."""
    loss, total, correct, sizes = sums.read()
    if not sizes.size:
        return done
    if run.watch is not None:
        bad = run.watch.first_bad(total / sizes)
        if bad is not None:
            run.watch.restore()
            run.diverged(done + bad[0] + 1, bad[1])
        # a NaN in the data can leave the loss finite (ReLU and max pooling drop it) while the
        # weights and batch norm's statistics turn NaN: they are checked with the loss
        names = run.watch.bad_parameters()
        if names:
            run.watch.restore()
            run.diverged(done + int(sizes.size), None, names)
    totals[0] += float(loss.sum())
    totals[1] += float(correct.sum())
    totals[2] += float(sizes.sum())
    done += int(sizes.size)
    run.running = (done, totals[0] / totals[2], totals[1] / totals[2])
    return done
