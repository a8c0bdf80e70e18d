"""Progress while training: a progress bar for long epochs and the training curves.

- :func:`progress_bar` wraps a batch iterator in ``tqdm.auto`` (a widget in Jupyter, a text bar in
  a terminal) only when the epoch is long enough to need one and the output is interactive, so
  notebook outputs checked by nbval get the one printed line per epoch and nothing else.
- :class:`ProgressLines` stands in for the bar where the output is a file or a pipe (a log, a
  job's output, CI): a long epoch prints where it is on stderr now and then (see
  :data:`LINE_SECONDS`), so a log is never silent for a whole epoch.
  :func:`epoch_progress` chooses between them.
- :class:`TrainingPlot` draws train loss, train accuracy and test accuracy against the epoch, like
  d2l's ``Animator``: redrawn live in a notebook (``IPython.display`` with ``clear_output``), and
  saved as a PNG anywhere.
- :func:`plot_history` draws a finished run's records.

Nothing here picks a matplotlib backend at import: figures are ``matplotlib.figure.Figure``
objects drawn with the Agg canvas, which needs no display.
"""
import os
import sys
import time

from .utils import atomic_write, env_flag

__all__ = ["in_notebook", "want_progress_bar", "progress_bar", "want_progress_lines",
           "ProgressLines", "epoch_progress", "TrainingPlot", "plot_history"]

#: Epochs with more batches than this get a progress bar when ``progress='auto'``.
LONG_EPOCH_BATCHES = 50
#: Without a bar, a long epoch prints a line at most every ``LINE_SECONDS`` and only after
#: another ``LINE_FRACTION`` of the epoch: every 30 s for a 5-minute epoch, every 5 minutes
#: for a 50-minute one (a ResNet-18 epoch on a 2-core CPU), never for a 20-second one.
LINE_SECONDS, LINE_FRACTION = 30.0, 0.1


def in_notebook():
    """True inside a Jupyter kernel (JupyterLab, classic notebook, nbval), False in a terminal."""
    ipython = sys.modules.get("IPython")
    if ipython is None:
        return False
    try:
        shell = ipython.get_ipython()
    except Exception:  # pragma: no cover - very old IPython
        return False
    return shell is not None and type(shell).__name__ == "ZMQInteractiveShell"


def _quiet_environment():
    """CI runs, the course's quick mode and a chapter executed by the course runner to be saved
    (``GLUONCNN_RECORD`` set: a widget's state is not saved with the notebook, so a saved
    bar shows as an error in rendered pages) never get progress bars."""
    return env_flag("CI") or env_flag("GLUONCNN_QUICK") \
        or bool(os.environ.get("GLUONCNN_RECORD"))


def want_progress_bar(progress, num_batches):
    """Decide whether an epoch of ``num_batches`` batches shows a bar.

    ``progress`` is True (always), False (never) or ``'auto'``: only for epochs longer than
    :data:`LONG_EPOCH_BATCHES` batches, in a terminal or notebook, outside CI and quick mode.
    """
    if progress is True:
        return True
    if progress in (False, None):
        return False
    if progress != "auto":
        raise ValueError(f"progress must be True, False or 'auto', got {progress!r}")
    if _quiet_environment() or num_batches is None or num_batches <= LONG_EPOCH_BATCHES:
        return False
    return in_notebook() or sys.stdout.isatty()


class _NoBar:
    """Stands in for a tqdm bar when none is shown."""

    def update(self, n=1):
        pass

    def set_postfix(self, *args, **kwargs):
        pass

    def close(self):
        pass


#: Seconds between two refreshes of a progress bar in a notebook.
BAR_SECONDS = 0.5


def progress_bar(total, desc, enabled):
    """A bar object with ``update``/``set_postfix``/``close``: tqdm when enabled, else a no-op."""
    if not enabled:
        return _NoBar()
    from tqdm.auto import tqdm
    # in a notebook each refresh is a widget message: a few a second are plenty
    return tqdm(total=total, desc=desc, leave=False, dynamic_ncols=True,
                mininterval=BAR_SECONDS if in_notebook() else 0.1)


def want_progress_lines(progress, num_batches):
    """With ``progress='auto'``, progress lines instead of a bar: a long epoch (or one of unknown
    length) whose output is neither a terminal nor a notebook, outside quick mode (whose
    epochs are short, and whose notebook outputs nbval compares)."""
    if progress != "auto" or want_progress_bar(progress, num_batches) or in_notebook():
        return False
    if env_flag("GLUONCNN_QUICK"):
        return False
    return num_batches is None or num_batches > LONG_EPOCH_BATCHES


def _duration(seconds):
    return f"{seconds:.0f} s" if seconds < 120 else f"{seconds / 60:.1f} min"


class ProgressLines:
    """A progress bar's interface (``update``/``set_postfix``/``close``) that prints a line on
    ``stream`` (stderr, as tqdm's bar) at most every :data:`LINE_SECONDS` and after another
    :data:`LINE_FRACTION` of the ``total`` batches:
    ``epoch 1/10: 470/2345 batches (20%), loss 0.6123, acc 0.781, 58 s, about 3.9 min left``."""

    def __init__(self, total, desc, stream=None, clock=time.monotonic):
        self.total, self.desc, self.stream, self.clock = total, desc, stream, clock
        self.start = self.last = clock()
        self.done = self.done_at_last = 0
        self.postfix = {}

    def update(self, n=1):
        self.done += n
        now = self.clock()
        if now - self.last < LINE_SECONDS:
            return
        if self.total and (self.done - self.done_at_last < LINE_FRACTION * self.total
                           or self.done >= self.total):  # the epoch's own line comes next
            return
        self.last, self.done_at_last = now, self.done
        print(self.text(now), file=self.stream or sys.stderr, flush=True)

    def text(self, now):
        elapsed = now - self.start
        where = f"{self.done}/{self.total} batches ({100 * self.done / self.total:.0f}%)" \
            if self.total else f"{self.done} batches"
        parts = [f"{self.desc}: {where}"]
        parts += [f"{key} {value}" for key, value in self.postfix.items()]
        parts.append(_duration(elapsed))
        if self.total and self.done:
            parts.append(f"about {_duration(elapsed * (self.total - self.done) / self.done)} "
                         f"left")
        return ", ".join(parts)

    def set_postfix(self, **values):
        self.postfix = values

    def close(self):
        pass


def epoch_progress(progress, total, desc):
    """What shows an epoch's progress for ``fit(progress=...)``: a tqdm bar
    (:func:`want_progress_bar`), :class:`ProgressLines` (:func:`want_progress_lines`) or
    nothing."""
    if want_progress_bar(progress, total):
        return progress_bar(total, desc, True)
    if want_progress_lines(progress, total):
        return ProgressLines(total, desc)
    return _NoBar()


def epoch_of(record):
    """Where a record is on an epoch axis: its epoch, or in a run to a time budget the
    (fractional) epochs reached at that evaluation."""
    return record.get("epochs_reached", record["epoch"])


def _draw(fig, records):
    """Draw loss (left axis) and accuracies against epochs on ``fig``."""
    fig.clear()
    ax = fig.add_subplot(1, 1, 1)
    epochs = [epoch_of(r) for r in records]
    lines = []
    if records:
        lines += ax.plot(epochs, [r["loss"] for r in records], "-o", color="C0", ms=3,
                         label="train loss")
        lines += ax.plot(epochs, [r["train_acc"] for r in records], "--s", color="C1", ms=3,
                         label="train acc")
        test = [(epoch_of(r), r.get("test_acc")) for r in records
                if r.get("test_acc") is not None]
        if test:
            lines += ax.plot([e for e, _ in test], [a for _, a in test], "-.^", color="C2", ms=3,
                             label="test acc")
    ax.set_xlabel("epoch")
    ax.grid(True, alpha=0.3)
    if epochs and "epochs_reached" in records[0]:  # parts of epochs, from the start
        ax.set_xlim(0, max(epochs) * 1.05)
    elif epochs:
        ax.set_xlim(min(epochs) - 0.5 if len(epochs) == 1 else min(epochs), max(epochs) + 0.5)
    if lines:
        ax.legend(loc="best")
    return ax


def _new_figure(figsize):
    from matplotlib.backends.backend_agg import FigureCanvasAgg
    from matplotlib.figure import Figure
    fig = Figure(figsize=figsize, layout="tight")
    FigureCanvasAgg(fig)
    return fig


def _save(fig, path):
    """Save atomically: a half-written PNG never replaces a good one."""
    return atomic_write(path, lambda tmp: fig.savefig(tmp, format="png", dpi=100))


def plot_history(records, path=None, figsize=(5, 3.5)):
    """Draw ``records`` (dicts with ``epoch, loss, train_acc, test_acc``); save to ``path`` if
    given.

    Returns the matplotlib ``Figure`` (Jupyter shows it when it is a cell's last value).
    """
    fig = _new_figure(figsize)
    _draw(fig, list(records))
    if path is not None:
        _save(fig, path)
    return fig


class TrainingPlot:
    """Live training curves, like d2l's ``Animator``.

    ``live=True`` (in a notebook) redraws the figure in place after every epoch; ``path`` saves a
    PNG after every epoch (the file is complete at any moment, so an interrupted run keeps its
    curves).
    """

    def __init__(self, live=None, path=None, figsize=(5, 3.5)):
        self.live = in_notebook() if live is None else bool(live)
        self.path = os.fspath(path) if path is not None else None
        self.figsize = figsize
        self.records = []
        self._fig = None
        self._handle = None

    def update(self, records):
        """Redraw with the records so far (a list of per-epoch dicts)."""
        self.records = list(records)
        if self._fig is None:
            self._fig = _new_figure(self.figsize)
        _draw(self._fig, self.records)
        if self.live:
            self._show()
        if self.path is not None:
            _save(self._fig, self.path)

    def _show(self):
        from IPython import display
        if self._handle is None:
            self._handle = display.display(self._fig, display_id=True)
        else:
            self._handle.update(self._fig)

    def save(self, path=None):
        """Save the current figure as PNG to ``path`` (default: the path given at construction)."""
        path = path if path is not None else self.path
        if path is None:
            raise ValueError("TrainingPlot.save needs a path, e.g. save('curves.png')")
        if self._fig is None:
            self._fig = _new_figure(self.figsize)
            _draw(self._fig, self.records)
        return _save(self._fig, path)

    @property
    def figure(self):
        return self._fig
