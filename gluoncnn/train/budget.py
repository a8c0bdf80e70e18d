"""Training to a time budget: ``fit(..., budget='10m')`` trains for ten minutes, not N epochs.

The course promises minutes, not epochs: in the same wait a faster CPU reaches more epochs and a
better result, and a slower one never waits longer. As in Li, Yumer and Ramanan, "Budgeted
Training: Rethinking Deep Neural Network Optimization Under Resource Constraints" (ICLR 2020),
the learning rate is a function of the budget's elapsed fraction ``p`` in [0, 1] that reaches
zero when the budget ends (:class:`BudgetSchedule`: their budget-aware linear decay
``lr * (1 - p)``, or a cosine over ``p``), after an optional linear warm-up over its first
``warmup_fraction``. How :func:`gluoncnn.train.fit` spends a budget (:class:`Budget`):

- the clock starts at the first training batch (the net's preparation, and a resumed run's skipping
  of the batches its epoch already trained, are not counted) and keeps running through every
  evaluation: evaluation time is spent from the budget;
- the run is cut into parts of at most :data:`EVAL_EVERY_EPOCHS` of an epoch, each ending with an
  evaluation and a History record, so a curve has points however few epochs the budget reaches
  (a record is then a part of an epoch: ``images`` and ``epochs_reached`` say how far it got);
- training stops at a batch boundary once the time left covers only the final evaluation, the
  batch still computing and one more batch (the evaluation: the last one's duration; before the
  first one, an estimate from the training speed, :data:`EVALUATION_COST`), so the run ends
  within its budget with an evaluation of its final weights;
- the checkpoint after each record holds the seconds spent and the position (epoch, batch,
  images): a resumed run continues the same schedule from there, its data order and dropout
  masks those of an uninterrupted run (each part reseeds from its position);
- with ``epochs=`` too, whichever ends first ends the run, and the schedule's fraction is the
  larger of the budget's and the epochs' (the rate reaches zero either way).

MXNet computes asynchronously; so that the clock sees the work done, a budgeted run waits at
each batch for the one before it (one batch stays queued, so loading the next batch still
overlaps the computation).
"""
from __future__ import annotations

import math
import time
from collections.abc import Callable, Sequence
from typing import Any, Union

from ..errors import OptionError
from ..utils import format_duration, parse_duration
from .seeding import epoch_seed

#: A budgeted run evaluates at least this often, in epochs (two points per epoch).
EVAL_EVERY_EPOCHS = 0.5
#: Before its first evaluation, a run expects a test batch to cost this fraction of a training
#: batch (a forward pass is about a third of a training step; a half leaves a margin).
EVALUATION_COST = 0.5
#: Budget schedules: functions of the budget's elapsed fraction ``p``.
BUDGET_SCHEDULES = ("constant", "linear", "cosine", "step", "step:P1,P2,...")

BudgetArg = Union[None, float, int, str]


def parse_budget(value: BudgetArg) -> float | None:
    """A budget in seconds: a positive number of seconds, or ``'90s'``, ``'10m'``, ``'1h'``
    (:func:`gluoncnn.utils.parse_duration`). None stays None."""
    return parse_duration(value, "budget")


class BudgetSchedule:
    """The learning rate as a function of the budget's elapsed fraction ``p`` (0 to 1).

    ``kind``: ``None``/``'constant'``; ``'linear'``, ``base_lr * (1 - q)``, the budget-aware
    linear schedule of Li, Yumer and Ramanan (ICLR 2020); ``'cosine'``, ``base_lr * (1 +
    cos(pi q)) / 2``; ``'step'`` (times ``factor`` at half and three quarters of the budget;
    ``'step:0.3,0.6'`` chooses the fractions); or a function ``f(p) -> lr``. ``q`` is the
    fraction of the budget after the warm-up, which raises the rate linearly from 0 over the
    first ``warmup_fraction`` of the budget. Reduce-on-plateau counts epochs without
    improvement and has no budget form.
    """

    def __init__(self, base_lr: float, kind: Any = None, warmup_fraction: float = 0.0,
                 milestones: Sequence[float] = (0.5, 0.75), factor: float = 0.1):
        self.base_lr, self.warmup_fraction = float(base_lr), float(warmup_fraction)
        self.milestones, self.factor = list(milestones), float(factor)
        self.fn: Callable[[float], float] | None = None
        self.kind = "constant"
        if callable(kind):
            self.fn, self.kind = kind, "callable"
        elif kind is not None:
            self._parse(kind)

    def _parse(self, spec):
        name, _, arg = str(spec).strip().lower().partition(":")
        if name in ("constant", "none", "fixed", "linear", "cosine"):
            self.kind = "constant" if name in ("none", "fixed") else name
        elif name == "step":
            self.kind = "step"
            if arg:
                try:
                    self.milestones = sorted(float(a) for a in arg.split(",") if a.strip())
                except ValueError:
                    self.milestones = []
                if not self.milestones or not all(0 < m < 1 for m in self.milestones):
                    raise OptionError(f"with a budget, the step schedule's milestones are "
                                      f"fractions of the budget between 0 and 1, e.g. "
                                      f"'step:0.5,0.75', got {spec!r}")
        elif name == "plateau":
            raise OptionError("schedule='plateau' counts epochs without improvement and has no "
                              "budget form; with budget= use 'linear' (Li et al., 2020) or "
                              "'cosine'")
        else:
            raise OptionError(f"unknown learning-rate schedule {spec!r}; with a budget: "
                              f"{', '.join(BUDGET_SCHEDULES)} (or a function fraction -> lr)")

    def __call__(self, p: float) -> float:
        """The rate at fraction ``p`` of the budget."""
        p = min(max(float(p), 0.0), 1.0)
        w = self.warmup_fraction
        q = min(max(p - w, 0.0) / max(1.0 - w, 1e-12), 1.0)
        if self.kind == "callable":
            return float(self.fn(p))
        if self.kind == "linear":
            lr = self.base_lr * (1.0 - q)
        elif self.kind == "cosine":
            lr = self.base_lr * (1.0 + math.cos(math.pi * q)) / 2.0
        elif self.kind == "step":
            lr = self.base_lr * self.factor ** sum(1 for m in self.milestones if p >= m)
        else:
            lr = self.base_lr
        return lr * (p / w) if p < w else lr

    def state_dict(self) -> dict[str, Any]:
        return {"kind": self.kind, "base_lr": self.base_lr, "milestones": self.milestones,
                "warmup_fraction": self.warmup_fraction}

    def load_state_dict(self, state: dict[str, Any]) -> None:
        """Nothing to restore: the rate is a function of the budget's position alone."""


class Budget:
    """A budgeted run's clock and position (see the module's docstring).

    ``seconds``: the budget; ``clock``: a function returning seconds (default
    ``time.monotonic``; tests pass a fake one); ``epochs``: an epoch limit too, or None;
    ``batches_per_epoch``, ``test_batches``: the sizes of the data. The position: ``epoch``
    (1-based, the one running or last run), ``batch`` (batches done in it), ``images`` (trained
    since the run began). ``eval_seconds``, ``batch_seconds``: the last evaluation's and
    training batch's durations.
    """

    def __init__(self, seconds: float, clock: Callable[[], float] | None = None,
                 epochs: int | None = None, batches_per_epoch: int = 1, test_batches: int = 0):
        self.seconds, self.clock = float(seconds), clock or time.monotonic
        self.epochs, self.batches_per_epoch = epochs, int(batches_per_epoch)
        self.test_batches = int(test_batches)
        self.part_batches = max(1, math.ceil(self.batches_per_epoch * EVAL_EVERY_EPOCHS))
        self.epoch, self.batch, self.images = 1, 0, 0
        self.elapsed_before = 0.0
        self.eval_seconds: float | None = None
        self.batch_seconds: float | None = None
        self.started: float | None = None
        self._pending = None   # the loss of the batch before, waited for at the next batch
        self._last_tick: float | None = None

    # -------------------------------------------------------------------- time
    def start(self) -> None:
        self.started = self.clock()
        self._pending = self._last_tick = None

    def elapsed(self) -> float:
        """Seconds spent, evaluations included (and those before a resume)."""
        return self.elapsed_before + (self.clock() - self.started if self.started is not None
                                      else 0.0)

    def epochs_reached(self) -> float:
        """Epochs trained, fractional: 1.5 is an epoch and a half."""
        return self.epoch - 1 + self.batch / self.batches_per_epoch

    def fraction(self) -> float:
        """How much of the run is done, 0 to 1: the budget's fraction, or the epochs' when an
        epoch limit is nearer."""
        p = self.elapsed() / self.seconds
        if self.epochs:
            p = max(p, self.epochs_reached() / self.epochs)
        return min(p, 1.0)

    def evaluation_estimate(self) -> float:
        """Seconds the next evaluation should take: the last one's, else an estimate from the
        training speed (0 before a batch was timed)."""
        if self.eval_seconds is not None:
            return self.eval_seconds
        return self.test_batches * (self.batch_seconds or 0.0) * EVALUATION_COST

    def spent(self) -> bool:
        """True when the run must stop: the epoch limit reached, or no time left for the batch it
        would start, the one still computing and the final evaluation."""
        if self.epochs and self.epochs_reached() >= self.epochs:
            return True
        reserve = self.evaluation_estimate() + 2 * (self.batch_seconds or 0.0)
        return self.elapsed() + reserve >= self.seconds

    def tick(self, step_loss) -> None:
        """After each training batch: wait for the batch before it (``step_loss``, the one just
        queued, is waited for at the next tick) and time one batch."""
        pending, self._pending = self._pending, step_loss
        if pending is not None:
            pending.wait_to_read()
        now = self.clock()
        if self._last_tick is not None:
            self.batch_seconds = now - self._last_tick
        self._last_tick = now

    def check_one_evaluation_fits(self) -> None:
        """Before a run's first evaluation: an evaluation that alone would take the whole
        budget is an :class:`OptionError`."""
        if self.eval_seconds is None and self.evaluation_estimate() >= self.seconds:
            raise OptionError(
                f"a budget of {format_duration(self.seconds)} cannot fit even one evaluation of "
                f"the test data ({self.test_batches} batches, about "
                f"{self.evaluation_estimate():.0f} s on this machine); give a larger budget= or "
                f"fewer test images")

    # -------------------------------------------------------------------- position
    def part(self, epoch_iter, state):
        """The batches of the running epoch up to the next evaluation: the next multiple of
        :attr:`part_batches`, the epoch's end, or the budget's end (checked before each batch);
        each is counted, and timed (:meth:`tick`), once ``state`` has trained it."""
        self._last_tick = None  # the time since the last part's last batch includes its evaluation
        end = min(self.batches_per_epoch, (self.batch // self.part_batches + 1)
                  * self.part_batches)
        while self.batch < end:
            if self.spent():
                self.check_one_evaluation_fits()
                return
            batch = next(epoch_iter, None)
            if batch is None:  # the loader gave fewer batches than its length said
                self.batches_per_epoch = max(self.batch, 1)
                return
            yield batch
            self.batch += 1
            self.images += batch[0].shape[0]
            self.tick(state.step_loss[0])

    def epoch_done(self) -> bool:
        return self.batch >= self.batches_per_epoch

    def next_epoch(self) -> None:
        self.epoch, self.batch = self.epoch + 1, 0

    def part_seed(self, seed: int, batch: int | None = None) -> int:
        """The seed of the part starting at ``batch`` (default: the position) of the running
        epoch; the epoch's data order is drawn under its first part's."""
        return epoch_seed(epoch_seed(seed, self.epoch - 1), self.batch if batch is None
                          else batch)

    def state_dict(self) -> dict[str, Any]:
        """What a checkpoint keeps so that resuming continues the same run."""
        return {"seconds": self.seconds, "elapsed": self.elapsed(), "epoch": self.epoch,
                "batch": self.batch, "images": self.images, "eval_seconds": self.eval_seconds,
                "batch_seconds": self.batch_seconds}

    def load_state_dict(self, state: dict[str, Any]) -> None:
        self.elapsed_before = float(state.get("elapsed", 0.0))
        self.epoch, self.batch = int(state.get("epoch", 1)), int(state.get("batch", 0))
        self.images = int(state.get("images", 0))
        self.eval_seconds, self.batch_seconds = state.get("eval_seconds"), \
            state.get("batch_seconds")
