"""Progress while training: a progress bar for long epochs and the training curves.

- :func:`progress_bar` wraps a batch iterator in ``tqdm.auto`` (a widget in Jupyter, a text bar in
  a terminal) only when the epoch is long enough to need one and the output is interactive, so
  notebook outputs checked by nbval and CI logs get the one printed line per epoch and nothing else.
- :class:`TrainingPlot` draws train loss, train accuracy and test accuracy against the epoch, like
  d2l's ``Animator``: redrawn live in a notebook (``IPython.display`` with ``clear_output``), and
  saved as a PNG anywhere.
- :func:`plot_history` draws a finished run's records.

Nothing here picks a matplotlib backend at import: figures are ``matplotlib.figure.Figure``
objects drawn with the Agg canvas, which needs no display.
"""
import os
import sys

from .utils import atomic_write

__all__ = ["in_notebook", "want_progress_bar", "progress_bar", "TrainingPlot", "plot_history"]

#: Epochs with more batches than this get a progress bar when ``progress='auto'``.
LONG_EPOCH_BATCHES = 50


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
    """CI runs and the course's quick mode never get progress bars."""
    return bool(os.environ.get("CI")) or bool(os.environ.get("GLUONCNN_QUICK"))


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


def progress_bar(total, desc, enabled):
    """A bar object with ``update``/``set_postfix``/``close``: tqdm when enabled, else a no-op."""
    if not enabled:
        return _NoBar()
    from tqdm.auto import tqdm
    return tqdm(total=total, desc=desc, leave=False, dynamic_ncols=True)


def _draw(fig, records):
    """Draw loss (left axis) and accuracies against epochs on ``fig``."""
    fig.clear()
    ax = fig.add_subplot(1, 1, 1)
    epochs = [r["epoch"] for r in records]
    lines = []
    if records:
        lines += ax.plot(epochs, [r["loss"] for r in records], "-o", color="C0", ms=3,
                         label="train loss")
        lines += ax.plot(epochs, [r["train_acc"] for r in records], "--s", color="C1", ms=3,
                         label="train acc")
        test = [(r["epoch"], r.get("test_acc")) for r in records if r.get("test_acc") is not None]
        if test:
            lines += ax.plot([e for e, _ in test], [a for _, a in test], "-.^", color="C2", ms=3,
                             label="test acc")
    ax.set_xlabel("epoch")
    ax.grid(True, alpha=0.3)
    if epochs:
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
