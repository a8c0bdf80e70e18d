"""The learning-rate range test: train a few batches while the learning rate grows
exponentially, and read a good rate off the loss curve.

Smith, "Cyclical Learning Rates for Training Neural Networks", WACV 2017 (the range test); as
fastai's ``Learner.lr_find`` and Lightning's ``Tuner.lr_find`` run it: the rate goes from
``start_lr`` to ``end_lr`` geometrically over ``num_iter`` batches (the data is iterated again
if it has fewer), the loss is smoothed with an exponential moving average (bias-corrected, as
fastai), and the sweep stops early once the smoothed loss exceeds ``diverge`` times its best.

The suggestion is the rate where the smoothed loss falls fastest (the steepest negative slope
against log10 of the rate, before the minimum: fastai's ``steep``, Lightning's suggestion,
measured across a tenth of the sweep rather than between neighbouring batches);
``minimum_lr / 10`` (fastai's ``minimum``) is reported beside it. Both are read without the
sweep's first tenth and last 5 points, as fastai reads them.

The net's parameters (running statistics included) are put back bit-exactly afterwards, and a
``trainer`` passed in gets its optimizer state and learning rate back: the test trains nothing
for good.
"""
from __future__ import annotations

import math
import os
import tempfile
from dataclasses import dataclass

import numpy as np
from mxnet import autograd, gluon

from ..config import OPTIMIZERS
from ..errors import OptionError
from .devices import CtxArg, parse_ctx
from .prepare import first_batch, make_initializer, make_trainer
from .seeding import seed_everything

__all__ = ["LRFinderResult", "lr_find"]


@dataclass
class LRFinderResult:
    """What :func:`lr_find` swept: ``lrs[i]`` was used for batch ``i``, whose smoothed loss is
    ``losses[i]`` (``raw_losses[i]`` unsmoothed). ``suggestion`` is the steepest-descent rate,
    ``minimum_lr`` the rate of the lowest smoothed loss; ``stopped_early`` says the loss
    diverged before ``num_iter`` batches."""

    lrs: list[float]
    losses: list[float]
    raw_losses: list[float]
    suggestion: float
    minimum_lr: float
    stopped_early: bool

    def plot(self, path: str | None = None, ax=None, figsize=(5, 3.5)):
        """Smoothed loss against the learning rate (log scale), the suggestion marked. Draws on
        ``ax`` if given, else on a new figure (shown in a notebook); saves a PNG at ``path`` if
        given. Returns the axes."""
        from ..progress import _new_figure, _save, in_notebook
        fig = None
        if ax is None:
            fig = _new_figure(figsize)
            ax = fig.add_subplot(1, 1, 1)
        ax.plot(self.lrs, self.losses, "-", label="smoothed loss")
        ax.set_xscale("log")
        ax.set_xlabel("learning rate")
        ax.set_ylabel("training loss")
        at = self.lrs.index(self.suggestion)
        ax.plot([self.suggestion], [self.losses[at]], "o", color="tab:red",
                label=f"suggestion {self.suggestion:.2g}")
        ax.legend(loc="best")
        if path is not None:
            _save(fig if fig is not None else ax.figure, path)
        if fig is not None and in_notebook():
            from IPython import display
            display.display(fig)
        return ax

    def __str__(self) -> str:
        return (f"suggested learning rate {self.suggestion:.3g} (steepest descent of the loss); "
                f"minimum/10 {self.minimum_lr / 10:.3g}; {len(self.lrs)} batches from "
                f"{self.lrs[0]:.3g} to {self.lrs[-1]:.3g}"
                + (" (stopped: the loss diverged)" if self.stopped_early else ""))


def _batches(train_iter, count):
    """``count`` batches of ``train_iter``, iterating it again when it ends (fewer when it is
    a one-pass iterator that has ended)."""
    done = 0
    while done < count:
        started = done
        for batch in train_iter:
            yield batch
            done += 1
            if done == count:
                return
        if done == started:
            return


def _check_range(start_lr, end_lr, num_iter, smooth, diverge):
    for name, value in (("start_lr", start_lr), ("end_lr", end_lr), ("diverge", diverge)):
        if isinstance(value, bool) or not isinstance(value, (int, float)) \
                or not math.isfinite(value) or value <= 0:
            raise OptionError(f"{name} must be a positive number, got {value!r}")
    if end_lr <= start_lr:
        raise OptionError(f"end_lr ({end_lr}) must be larger than start_lr ({start_lr}): the "
                          f"sweep goes up, e.g. start_lr=1e-7, end_lr=10")
    if isinstance(num_iter, bool) or not isinstance(num_iter, int) or num_iter < 2:
        raise OptionError(f"num_iter must be an integer of at least 2, got {num_iter!r} "
                          f"(100 is fastai's default)")
    if not 0 <= smooth < 1:
        raise OptionError(f"smooth must be in [0, 1), got {smooth!r} (0.98 is fastai's)")


def suggestion_window(count: int, num_iter: int) -> slice:
    """The points suggestions are read from: without the first ``num_iter // 10`` (the
    moving average is still settling) and the last 5 (the climb), as fastai; all when that
    leaves fewer than 2."""
    window = slice(num_iter // 10, count - 5)
    return window if len(range(count)[window]) >= 2 else slice(0, count)


def steepest_index(lrs, losses) -> int:
    """Index of the steepest descent of ``losses`` against log10(``lrs``), up to the minimum
    (after it the loss only climbs). The slope is taken across a span of a tenth of the
    points, not between neighbours, whose differences are mostly batch-to-batch noise; the
    index is the middle of the steepest span. 0 when there are fewer than 2 points."""
    end = int(np.argmin(losses)) + 1
    if end < 2:
        return 0
    span = max(1, min(end - 1, len(losses) // 10))
    logs = np.log10(lrs[:end])
    slopes = (losses[span:end] - losses[:end - span]) / (logs[span:] - logs[:-span])
    return int(np.argmin(slopes)) + span // 2


def lr_find(net, train_iter, trainer: gluon.Trainer | None = None, loss=None,
            ctx: CtxArg = None, start_lr: float = 1e-7, end_lr: float = 10.0,
            num_iter: int = 100, optimizer: str = "sgd", momentum: float = 0.9,
            wd: float = 0.0, smooth: float = 0.98, diverge: float = 4.0, init=None,
            seed: int | None = None) -> LRFinderResult:
    """Run the learning-rate range test on ``net`` and put its parameters back.

    ``train_iter`` yields ``(X, y)`` batches (NCHW images, integer labels). ``trainer``: a
    ``gluon.Trainer`` of the net to sweep with (its state is restored afterwards); without one,
    a new one with ``optimizer``, ``momentum`` and ``wd`` (fit's meanings). ``loss``: default
    softmax cross-entropy. ``ctx``: as fit's (default: the first GPU, else the CPU). A net not
    yet initialised is initialised with ``init`` (fit's meanings: its paper init by default) and
    stays initialised. ``seed`` seeds MXNet, numpy and Python first for a repeatable sweep.

    Returns an :class:`LRFinderResult` (``lrs``, ``losses``, ``suggestion``, ``plot()``).
    """
    from .loop import train_step
    _check_range(start_lr, end_lr, num_iter, smooth, diverge)
    if trainer is None and optimizer not in OPTIMIZERS:
        raise OptionError(f"unknown optimizer {optimizer!r}; valid: {', '.join(OPTIMIZERS)}, or "
                          f"pass trainer= a gluon.Trainer of the net")
    ctxs = parse_ctx(ctx)
    if seed is not None:
        seed_everything(seed)
    X0, _ = first_batch(train_iter)
    params = list(net.collect_params().values())
    if any(p._data is None and not p._deferred_init for p in params):
        net.initialize(make_initializer(init) or getattr(net, "default_init", None), ctx=ctxs)
    with autograd.predict_mode():
        net(X0[:1].as_in_context(ctxs[0]))  # ends deferred initialisation
    saved = [[d.copy() for d in p.list_data()] for p in params]
    # a Trainer registers itself on each parameter (MXNet resets its kvstore through that
    # link when parameters are set); the user's link comes back after the sweep
    links = [p._trainer for p in params]
    saved_state, saved_lr = None, None
    if trainer is not None:
        saved_lr = trainer.learning_rate
        fd, saved_state = tempfile.mkstemp(suffix=".states")
        os.close(fd)
        trainer.save_states(saved_state)
    sweep = trainer or make_trainer(net, optimizer, start_lr, momentum, wd, "device", None)
    loss_fn = loss or gluon.loss.SoftmaxCrossEntropyLoss()
    ratio = end_lr / start_lr
    lrs, losses, raw = [], [], []
    average, best, stopped = 0.0, math.inf, False
    try:
        for i, (X, y) in enumerate(_batches(train_iter, num_iter)):
            lr = start_lr * ratio ** (i / (num_iter - 1))
            sweep.set_learning_rate(lr)
            loss_sum, _, _ = train_step(net, X, y, ctxs, loss_fn, sweep, X.shape[0])
            value = float(loss_sum.asscalar()) / X.shape[0]
            average = smooth * average + (1 - smooth) * value
            smoothed = average / (1 - smooth ** (i + 1))
            if not math.isfinite(smoothed):
                stopped = True
                break
            lrs.append(lr)
            raw.append(value)
            losses.append(smoothed)
            best = min(best, smoothed)
            if smoothed > diverge * best:
                stopped = True
                break
    finally:
        for p, copies, link in zip(params, saved, links):
            for d, c in zip(p.list_data(), copies):
                c.copyto(d)
            p._trainer = link
            if p.grad_req != "null":
                for g in p.list_grad():
                    g[:] = 0
        if saved_state is not None:
            trainer.load_states(saved_state)
            trainer.set_learning_rate(saved_lr)
            os.remove(saved_state)
    if not lrs:
        raise OptionError(f"the loss was not finite from the first batch at learning rate "
                          f"{start_lr:g}; lower start_lr or check the data and the model")
    window = suggestion_window(len(lrs), num_iter)
    lrs_in, losses_in = np.array(lrs[window]), np.array(losses[window])
    suggestion = float(lrs_in[steepest_index(lrs_in, losses_in)])
    minimum = float(lrs_in[int(np.argmin(losses_in))])
    return LRFinderResult(lrs, losses, raw, suggestion, minimum, stopped)
