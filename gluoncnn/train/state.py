"""What a training run is doing, shared by ``fit``, the epoch loop and the callbacks."""
from __future__ import annotations

import functools
from collections.abc import Callable
from typing import Any

from .budget import Budget, BudgetSchedule
from .history import History
from .logs import console_logger
from .loop import DivergenceWatch, TrainingDivergedError
from .schedule import LRSchedule


class TrainingState:
    """One run of ``fit``: the objects it trains with and where it is.

    Read by callbacks: ``net``, ``trainer``, ``ctxs``, ``history``, ``schedule``, ``meta`` (the
    run's settings), ``epochs`` (None in a run to a budget without an epoch limit), ``epoch``
    (1-based, the one running; in a budgeted run the record running, a part of an epoch),
    ``batch`` (1-based), ``num_batches`` (per epoch, None if unknown; in a budgeted run the most
    a record trains), ``budget`` (a budgeted run's :class:`~gluoncnn.train.budget.Budget`, its
    clock and position in the data, else None), ``running`` (``(batches, loss, acc)`` at the
    loop's last read), ``last_good`` (the newest complete checkpoint's ``.params``), ``status``
    (``'running'``, ``'completed'``, ``'stopped'``, ``'interrupted'``, ``'diverged'``,
    ``'failed'``), ``step_loss`` (``(loss sum, batch size)`` of the last step, the sum a
    ``(1,)`` NDArray not yet read), ``input_shape`` (the first batch's ``(N, C, H, W)``),
    ``prefix`` (``'[worker r/n] '`` in distributed runs), ``log`` (prints d2l's
    lines when ``verbose``), ``note`` (an INFO message to the ``'gluoncnn'`` logger when
    ``verbose``), ``logger`` (that logger, for warnings). Written by callbacks:
    ``stop_training`` (True ends the run after this epoch), ``interrupt_notes``.
    """

    logger = console_logger()

    def __init__(self, net, trainer, ctxs, schedule: LRSchedule | BudgetSchedule | None,
                 epochs: int | None,
                 meta: dict[str, Any], verbose: bool = True, prefix: str = "",
                 seed: int | None = None, *, loss_fn=None, report_fn=None, step_scale: int = 1,
                 step_size: int | None = None, aux_weight: float = 0.3,
                 amp_dtype: str | None = None, clip_gradient: float | None = None,
                 num_batches: int | None = None, max_batches: int | None = None,
                 input_shape: tuple[int, ...] | None = None, checkpoint_dir: str | None = None,
                 watch: DivergenceWatch | None = None, current_lr: float | None = None,
                 advice: str | None = None):
        self.net, self.trainer, self.ctxs = net, trainer, ctxs
        self.schedule, self.epochs, self.meta = schedule, epochs, meta
        self.verbose, self.prefix, self.seed = bool(verbose), prefix, seed
        # flushed: to a file or a pipe, an epoch's line is in the log when the epoch ends
        self.log: Callable[..., None] = (functools.partial(print, flush=True) if verbose
                                         else (lambda *args, **kwargs: None))
        self.checkpoint_dir = checkpoint_dir
        self.advice = advice or ("Lower lr (now {lr:g}), add warmup_epochs= or clip_gradient="
                                 .format(lr=meta.get("lr", 0.0)) + ".")
        self.history = History(meta=meta)
        self.start_epoch, self.epoch, self.batch = 0, 0, 0
        self.num_batches, self.max_batches = num_batches, max_batches
        self.running = None
        self.step_loss = None
        self.input_shape = input_shape
        self.last_good: str | None = None
        self.status = "running"
        self.stop_training = False
        self.interrupt_notes: list[str] = []
        self.watch = watch
        self.current_lr = current_lr
        self.budget: Budget | None = None  # a budgeted run's clock and position
        # the step's settings (see loop.run_epoch)
        self.loss_fn, self.report_fn = loss_fn, report_fn
        self.step_size, self.step_scale = step_size, step_scale
        self.aux_weight, self.amp_dtype, self.clip_gradient = aux_weight, amp_dtype, clip_gradient

    def note(self, message: str) -> None:
        """Say ``message`` (prefixed in distributed runs) through the logger, when verbose."""
        if self.verbose:
            self.logger.info(self.prefix + message)

    def set_lr(self, i: int) -> None:
        """The schedule's rate for batch ``i`` of the running epoch (in a budgeted run, at the
        budget's elapsed fraction), given to the trainer only when it changed (no schedule: the
        trainer's own rate)."""
        if self.schedule is None:
            return
        n = self.num_batches
        lr = (self.schedule(self.budget.fraction()) if self.budget is not None
              else self.schedule(self.epoch - 1 + (i / n if n else 0), n))
        if lr != self.current_lr:
            self.trainer.set_learning_rate(lr)
            self.current_lr = lr

    def checkpoint_meta(self) -> dict[str, Any]:
        """What a checkpoint record carries so that resuming continues exactly."""
        return {"history": self.history.records,
                "schedule_state": self.schedule.state_dict() if self.schedule else {},
                "meta": self.meta, "seed": self.seed,
                "reference_loss": self.watch.reference if self.watch else None,
                "budget_state": self.budget.state_dict() if self.budget else None}

    def diverged(self, batch: int, value: float | None, parameters: list[str] | None = None
                 ) -> None:
        """Raise :class:`TrainingDivergedError` for ``batch`` of the running epoch: its loss
        ``value``, or the ``parameters`` that are no longer finite."""
        self.status = "diverged"
        where = (f"The last good checkpoint, {self.last_good}, is unchanged; resume from it with a "
                 f"lower lr." if self.last_good else
                 "No checkpoint was written" + (" (it was the first epoch)."
                                                if self.checkpoint_dir else
                                                " (pass checkpoint_dir=)."))
        lr = "" if self.current_lr is None else f" (lr {self.current_lr:g})"
        if parameters:
            names = ", ".join(parameters[:3]) + (", ..." if len(parameters) > 3 else "")
            what = (f"the parameters {names} became NaN or infinite in epoch {self.epoch}, by "
                    f"batch {batch}{lr}, while the loss stayed finite (a NaN or infinite value "
                    f"in the data does that). {where} Check the data; else: {self.advice}")
        else:
            grew = (f"became {value}" if value != value or value in (float("inf"), float("-inf"))
                    else f"grew to {value:.4g} per example (over {self.watch.factor:g} times its "
                         f"start, {max(self.watch.reference or 0, self.watch.floor):.4g})")
            what = (f"the loss {grew} in epoch {self.epoch}, batch {batch}{lr}. {where} "
                    f"{self.advice}")
        raise TrainingDivergedError(f"{self.prefix}training diverged: {what}", self.epoch, batch,
                                    self.last_good)
