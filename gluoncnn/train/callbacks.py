"""Callbacks: what happens around the training loop, as small objects with a few hooks.

``fit`` calls, on every callback in order (its own first, then those passed as
``fit(..., callbacks=[...])``)::

    on_train_begin(state)            before the first epoch (after resuming)
    on_epoch_begin(state, epoch)     epoch counted from 1
    on_batch_end(state, batch)       after each optimizer step (no number is read from the
                                     device here: the loop does not wait; state.running holds
                                     (batches, loss, accuracy) as of the last read)
    on_epoch_end(state, record)      after evaluation; ``record`` is the epoch's History record
                                     (a callback may add keys, or set state.stop_training)
    on_interrupt(state)              on Ctrl-C, before KeyboardInterrupt goes on
    on_train_end(state)              always, last (state.status says how the run ended)

``state`` is the run's :class:`~gluoncnn.train.state.TrainingState` (``net``, ``trainer``,
``history``, ``epoch``, ``epochs``, ``schedule``, ``log``...). A callback overrides only the hooks
it needs; per-batch hooks are called only on callbacks that define ``on_batch_end``.

Only worker 0 of a distributed run gets the callbacks that write files.
"""
from __future__ import annotations

import os

from .. import progress as _progress
from ..errors import OptionError
from ..utils import format_duration
from .checkpoint import save_checkpoint

HOOKS = ("on_train_begin", "on_epoch_begin", "on_batch_end", "on_epoch_end", "on_interrupt",
         "on_train_end")


class Callback:
    """Base class: every hook does nothing. Subclass it and override the hooks you need."""

    def on_train_begin(self, state):
        pass

    def on_epoch_begin(self, state, epoch):
        pass

    def on_batch_end(self, state, batch):
        pass

    def on_epoch_end(self, state, record):
        pass

    def on_interrupt(self, state):
        pass

    def on_train_end(self, state):
        pass

    def wants(self, hook: str) -> bool:
        """True when this callback's class overrides ``hook``."""
        return getattr(type(self), hook) is not getattr(Callback, hook)


def call(callbacks, hook, *args):
    """Call ``hook`` on every callback that defines it."""
    for cb in callbacks:
        if cb.wants(hook):
            getattr(cb, hook)(*args)


def check_callbacks(callbacks):
    """``callbacks`` as a list of :class:`Callback` (duck-typed objects with hooks are wrapped
    so missing hooks do nothing)."""
    if callbacks is None:
        return []
    if isinstance(callbacks, Callback) or not isinstance(callbacks, (list, tuple)):
        callbacks = [callbacks]
    out = []
    for cb in callbacks:
        if isinstance(cb, Callback):
            out.append(cb)
        elif any(callable(getattr(cb, h, None)) for h in HOOKS):
            out.append(_Adapter(cb))
        else:
            raise OptionError(f"callbacks must be gluoncnn.train.Callback objects (or objects with "
                              f"some of the hooks {', '.join(HOOKS)}), got {cb!r}")
    return out


class _Adapter(Callback):
    """A user object with some hooks, seen as a Callback."""

    def __init__(self, obj):
        self.obj = obj
        for hook in HOOKS:
            if callable(getattr(obj, hook, None)):
                setattr(self, hook, getattr(obj, hook))

    def wants(self, hook):
        return hook in vars(self)


# ------------------------------------------------------------------------------ built-in ones
class StepHook(Callback):
    """``fit(on_step=f)``: ``f(net)`` after every optimizer step (pruning masks use it)."""

    def __init__(self, on_step):
        if not callable(on_step):
            raise OptionError("on_step must be a function on_step(net) or None")
        self.on_step = on_step

    def on_batch_end(self, state, batch):
        self.on_step(state.net)


class ProgressBar(Callback):
    """A tqdm bar on long epochs, or progress lines where the output is no terminal (see
    :func:`gluoncnn.progress.epoch_progress`); its loss and accuracy are those of the loop's
    last read."""

    def __init__(self, progress="auto"):
        if progress not in (True, False, None, "auto"):
            raise OptionError(f"progress must be True, False or 'auto', got {progress!r}")
        self.progress = progress
        self.bar = None
        self._shown = None

    def on_epoch_begin(self, state, epoch):
        where = (f"epoch {epoch}/{state.epochs}" if state.budget is None else
                 f"epoch {state.budget.epoch}, part {epoch}")
        self.bar = _progress.epoch_progress(self.progress, state.num_batches, where)

    def on_batch_end(self, state, batch):
        self.bar.update(1)
        if state.running is not self._shown and state.running is not None:
            self._shown = state.running
            self.bar.set_postfix(loss=f"{state.running[1]:.4f}", acc=f"{state.running[2]:.3f}")

    def _close(self):
        if self.bar is not None:
            self.bar.close()
            self.bar = None

    def on_epoch_end(self, state, record):
        self._close()

    def on_interrupt(self, state):
        self._close()

    def on_train_end(self, state):
        self._close()


class EpochLine(Callback):
    """d2l's line: ``epoch 1, loss 0.5912, train acc 0.776, test acc 0.826, time 12.3 sec``; in
    a budgeted run the epochs reached and the seconds spent: ``epoch 1.50, loss ..., time 61.2
    sec, 183 s of 10 min``."""

    def on_epoch_end(self, state, record):
        reached = record.get("epochs_reached")
        line = (f"epoch {record['epoch'] if reached is None else format(reached, '.2f')}, "
                f"loss {record['loss']:.4f}, train acc {record['train_acc']:.3f}")
        if record["test_acc"] is not None:
            line += f", test acc {record['test_acc']:.3f}"
        line += f", time {record['time']:.1f} sec"
        if reached is not None and state.budget is not None:
            line += (f", {record['elapsed']:.0f} s of "
                     f"{format_duration(state.budget.seconds)}")
        state.log(f"{state.prefix}{line}")


class LRPlateau(Callback):
    """Reduce on plateau (``schedule='plateau'``): reports test accuracy (minus the train loss
    without test data) to the schedule, which lowers the rate after ``patience`` flat epochs."""

    def on_epoch_end(self, state, record):
        sched = state.schedule
        value = record["test_acc"] if record["test_acc"] is not None else -record["loss"]
        if sched.end_epoch(value):
            state.note(f"no improvement for {sched.patience} epoch(s): learning rate lowered to "
                       f"{sched(record['epoch']):g}")


class Checkpoint(Callback):
    """``epoch-NNNN.*`` and ``last.json`` after every epoch (keeping ``keep``), and
    ``interrupted.*`` on Ctrl-C; the record carries what resuming needs (see
    :func:`gluoncnn.train.checkpoint.save_checkpoint`)."""

    def __init__(self, directory, keep: int | None = 2):
        self.directory = os.fspath(directory)
        self.keep = keep

    def on_epoch_end(self, state, record):
        saved = save_checkpoint(self.directory, record["epoch"], state.net, state.trainer,
                                state.checkpoint_meta(), keep=self.keep)
        state.last_good = os.path.join(os.path.abspath(self.directory), saved["params"])

    def on_interrupt(self, state):
        # Ctrl-C lands between two checks: weights gone NaN since the last one are not saved
        spoiled = state.watch is not None and state.watch.bad_parameters()
        if spoiled:
            state.watch.restore()
            state.interrupt_notes.append("; the parameters had become NaN or infinite since the "
                                         "last check, so those of that check are saved")
        save_checkpoint(self.directory, state.epoch - 1, state.net, state.trainer,
                        dict(state.checkpoint_meta(), interrupted_in_epoch=state.epoch,
                             interrupted_at_batch=state.batch), name="interrupted")
        note = f"; saved the parameters as they were in {self.directory}/interrupted.params"
        if state.last_good:
            note += (f"; the last complete epoch is {state.last_good}, and fit(..., "
                     f"checkpoint_dir={self.directory!r}, resume=True) continues after it")
        state.interrupt_notes.append(note)


def _better(value, best, mode, min_delta=0.0):
    if value is None:
        return False
    if best is None:
        return True
    return value > best + min_delta if mode == "max" else value < best - min_delta


def _mode(monitor):
    return "min" if "loss" in monitor else "max"


class BestCheckpoint(Callback):
    """``best.params`` and ``best.json`` whenever ``monitor`` (a History key, default
    ``'test_acc'``; keys with 'loss' are minimised) reaches its best value so far."""

    def __init__(self, directory, monitor: str = "test_acc"):
        self.directory, self.monitor, self.mode = os.fspath(directory), monitor, _mode(monitor)
        self.best = None

    def on_train_begin(self, state):  # a resumed run continues from its best so far
        for r in state.history:
            if _better(r.get(self.monitor), self.best, self.mode):
                self.best = r.get(self.monitor)

    def on_epoch_end(self, state, record):
        if _better(record.get(self.monitor), self.best, self.mode):
            self.best = record[self.monitor]
            save_checkpoint(self.directory, record["epoch"], state.net, None,
                            dict(monitor=self.monitor, value=self.best, meta=state.meta),
                            name="best")


class EarlyStopping(Callback):
    """Stop when ``monitor`` (default ``'test_acc'``; keys with 'loss' are minimised) has not
    improved by more than ``min_delta`` for ``patience`` epochs."""

    def __init__(self, monitor: str = "test_acc", patience: int = 3, min_delta: float = 0.0):
        if not isinstance(patience, int) or patience < 1:
            raise OptionError(f"patience must be a positive integer, got {patience!r}")
        self.monitor, self.patience, self.min_delta = monitor, patience, float(min_delta)
        self.mode = _mode(monitor)
        self.best, self.bad_epochs = None, 0

    def on_train_begin(self, state):
        for r in state.history:
            self._see(r)

    def _see(self, record):
        if _better(record.get(self.monitor), self.best, self.mode, self.min_delta):
            self.best, self.bad_epochs = record[self.monitor], 0
        else:
            self.bad_epochs += 1
        return self.bad_epochs >= self.patience

    def on_epoch_end(self, state, record):
        if self._see(record):
            state.stop_training = True
            state.note(f"early stopping: {self.monitor} has not improved for {self.patience} "
                       f"epoch(s) (best {self.best:.4f})")


class StopAtAccuracy(Callback):
    """Stop once ``monitor`` (default the test accuracy) reaches ``target``: the time to an
    accuracy, DAWNBench's measure of training speed (Coleman et al., NIPS ML Systems Workshop
    2017) and the course's chapter targets. ``fit(stop_at_acc=0.9)``, ``--stop-at-acc 0.9``."""

    def __init__(self, target: float, monitor: str = "test_acc"):
        if isinstance(target, bool) or not isinstance(target, (int, float)) \
                or not 0 < target <= 1:
            raise OptionError(f"target must be an accuracy in (0, 1], got {target!r}")
        self.target, self.monitor = float(target), monitor

    def on_epoch_end(self, state, record):
        value = record.get(self.monitor)
        if value is not None and value >= self.target:
            state.stop_training = True
            state.note(f"stopping: {self.monitor} {value:.4f} reached {self.target:g} in epoch "
                       f"{record['epoch']}")


class HistoryFile(Callback):
    """The History as ``.csv`` or ``.json`` after every epoch (and on Ctrl-C)."""

    def __init__(self, path):
        self.path = os.fspath(path)

    def on_epoch_end(self, state, record):
        state.history.save(self.path)

    def on_interrupt(self, state):
        if len(state.history):
            state.history.save(self.path)


class LivePlot(Callback):
    """Loss and accuracies redrawn after every epoch (live in a notebook, and/or a PNG)."""

    def __init__(self, plotter):
        self.plotter = plotter

    def on_epoch_end(self, state, record):
        self.plotter.update(state.history.records)

    def on_train_end(self, state):
        # only a plot that drew this run's epochs: a resume that failed before its first epoch
        # must not redraw the run's curves.png from nothing
        if self.plotter.records and self.plotter.path:
            try:
                self.plotter.save()
            except Exception as err:  # a plot must never hide how training ended
                state.logger.warning("could not save %s: %s", self.plotter.path, err)


def make_plot(plot, checkpoint_dir) -> LivePlot | None:
    """The :class:`LivePlot` ``fit(plot=...)`` asks for, or None."""
    if plot is False or plot is None:
        return None
    live = _progress.in_notebook()
    if plot == "auto":
        path = os.path.join(checkpoint_dir, "curves.png") if checkpoint_dir else None
    elif plot is True:
        path = None if live else (os.path.join(checkpoint_dir, "curves.png") if checkpoint_dir
                                  else "curves.png")
    elif isinstance(plot, (str, os.PathLike)):
        path = os.fspath(plot)
    else:
        raise OptionError(f"plot must be 'auto', True, False or a PNG path, got {plot!r}")
    if not live and path is None:
        return None
    return LivePlot(_progress.TrainingPlot(live=live, path=path))
