"""Learning-rate schedules: step, cosine, linear warm-up, reduce on plateau, or any function."""
from __future__ import annotations

import math
from collections.abc import Callable, Sequence
from typing import Union

from ..errors import OptionError

#: Learning-rate schedules ``fit`` accepts, with their string forms.
SCHEDULES = ("constant", "step", "step:E1,E2,...", "cosine", "plateau", "plateau:PATIENCE")

ScheduleArg = Union[None, str, Callable[[float], float]]


class LRSchedule:
    """The learning rate as a function of (fractional) epoch, plus optional reduce-on-plateau.

    ``kind``: ``None``/``'constant'``; ``'step'`` (multiply by ``factor`` at each of
    ``milestones``, epochs counted from 1: ``'step:5,8'`` lowers the rate after epochs 5 and 8;
    plain ``'step'`` uses half and three quarters of the run); ``'cosine'`` (to ``min_lr``);
    ``'plateau'`` (multiply by ``factor`` when the monitored value has not improved for
    ``patience`` epochs: AlexNet's "divide by 10 when the validation error stops improving";
    ``'plateau:3'`` sets the patience); or a callable ``f(epoch_float) -> lr``. ``warmup_epochs``
    raises the rate linearly from about 0 over the first epochs (batch by batch).
    """

    def __init__(self, base_lr: float, epochs: int, kind: ScheduleArg = None,
                 warmup_epochs: float = 0, milestones: Sequence[int] | None = None,
                 factor: float = 0.1,
                 patience: int = 2, min_lr: float = 0.0):
        self.base_lr = float(base_lr)
        self.epochs = int(epochs)
        self.warmup_epochs = float(warmup_epochs)
        self.factor = float(factor)
        self.patience = int(patience)
        self.min_lr = float(min_lr)
        self.fn = None
        self.kind = "constant"
        self.milestones = list(milestones or [])
        if callable(kind):
            self.fn, self.kind = kind, "callable"
        elif kind is not None:
            self._parse(kind)
        # reduce-on-plateau state
        self.best = None
        self.bad_epochs = 0
        self.plateau_scale = 1.0

    def _parse(self, spec):
        if not isinstance(spec, str):
            raise OptionError(f"schedule must be a string such as 'cosine' or a function of the "
                              f"epoch, got {spec!r}; valid: {', '.join(SCHEDULES)}")
        name, _, arg = spec.strip().lower().partition(":")
        if name in ("constant", "none", "fixed"):
            self.kind = "constant"
        elif name == "step":
            self.kind = "step"
            if arg:
                try:
                    self.milestones = sorted(int(a) for a in arg.split(",") if a.strip())
                except ValueError:
                    raise OptionError(
                        f"cannot read the milestones in schedule {spec!r}; write 'step:30,60' "
                        f"(epochs after which the rate is lowered)") from None
            elif not self.milestones:
                self.milestones = sorted({max(1, self.epochs // 2), max(1, self.epochs * 3 // 4)})
            bad = [m for m in self.milestones if m < 1]
            if bad:
                raise OptionError(f"step milestones must be epochs >= 1, got {bad}")
        elif name == "cosine":
            self.kind = "cosine"
        elif name == "plateau":
            self.kind = "plateau"
            if arg:
                if not arg.isdigit():
                    raise OptionError(f"cannot read the patience in schedule {spec!r}; write "
                                      f"'plateau:2' (epochs without improvement)")
                self.patience = int(arg)
        else:
            raise OptionError(f"unknown learning-rate schedule {spec!r}; valid: "
                              f"{', '.join(SCHEDULES)} (or a function epoch -> lr)"
                              + ("; 'linear' decays over a time budget, fit(..., budget=...)"
                                 if name == "linear" else ""))

    def __call__(self, t: float, steps_per_epoch: int | None = None) -> float:
        """The rate at fractional epoch ``t`` (0-based: batch ``i`` of epoch ``e`` is
        ``e + i / steps_per_epoch``)."""
        if self.kind == "callable":
            lr = float(self.fn(t))
        elif self.kind == "step":
            lr = self.base_lr * self.factor ** sum(1 for m in self.milestones if int(t) >= m)
        elif self.kind == "cosine":
            span = max(self.epochs - self.warmup_epochs, 1e-12)
            p = min(max(t - self.warmup_epochs, 0.0) / span, 1.0)
            lr = self.min_lr + (self.base_lr - self.min_lr) * (1 + math.cos(math.pi * p)) / 2
        else:
            lr = self.base_lr
        lr *= self.plateau_scale
        if self.warmup_epochs > 0 and t < self.warmup_epochs:
            step = 1.0 / steps_per_epoch if steps_per_epoch else 1.0
            lr *= min(1.0, (t + step) / self.warmup_epochs)
        return max(lr, self.min_lr) if self.kind == "plateau" else lr

    def end_epoch(self, value: float | None) -> bool:
        """Report the monitored value (higher is better) at the end of an epoch; returns True
        when a plateau lowered the rate."""
        if self.kind != "plateau" or value is None:
            return False
        if self.best is None or value > self.best + 1e-4:
            self.best, self.bad_epochs = float(value), 0
            return False
        self.bad_epochs += 1
        if self.bad_epochs >= self.patience:
            self.plateau_scale *= self.factor
            self.bad_epochs = 0
            return True
        return False

    def state_dict(self):
        return {"kind": self.kind, "base_lr": self.base_lr, "milestones": self.milestones,
                "best": self.best, "bad_epochs": self.bad_epochs,
                "plateau_scale": self.plateau_scale}

    def load_state_dict(self, state):
        self.best = state.get("best")
        self.bad_epochs = int(state.get("bad_epochs", 0))
        self.plateau_scale = float(state.get("plateau_scale", 1.0))


def make_schedule(lr: float, epochs: int | None, schedule: ScheduleArg, warmup_epochs: float = 0,
                  budget: float | None = None, warmup_fraction: float = 0.0):
    """``fit``'s schedule: over epochs (:class:`LRSchedule`), or with a ``budget`` (seconds)
    over the budget's elapsed fraction (:class:`~gluoncnn.train.budget.BudgetSchedule`)."""
    if budget is not None:
        from .budget import BudgetSchedule
        return BudgetSchedule(lr, schedule, warmup_fraction)
    return LRSchedule(lr, epochs, schedule, warmup_epochs=warmup_epochs)

