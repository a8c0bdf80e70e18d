"""d2l's small helpers by d2l's names and signatures, for ``import gluoncnn as d2l`` code:
``use_svg_display``, ``set_figsize``, ``set_axes``, ``Animator`` (the live plot its training
loops draw), ``Timer`` and ``Accumulator`` (Zhang, Lipton, Li and Smola, *Dive into Deep
Learning*, d2l 1.0.3's ``d2l/mxnet.py``).

They behave as d2l's, except where d2l's would take over a plain Python process: nothing here
starts an IPython shell or changes matplotlib's backend, and ``Animator`` draws on its own
figure (the Agg canvas, no pyplot state), shown in a notebook and kept quiet in a terminal or a
test, as :class:`gluoncnn.progress.TrainingPlot` is.
"""
from __future__ import annotations

import time

import numpy as np

from .progress import _new_figure, in_notebook

__all__ = ["use_svg_display", "set_figsize", "set_axes", "Animator", "Timer", "Accumulator"]


def use_svg_display():
    """Show plots as SVG in Jupyter (d2l's ``use_svg_display``); nothing outside a notebook."""
    if in_notebook():
        from matplotlib_inline import backend_inline
        backend_inline.set_matplotlib_formats("svg")


def set_figsize(figsize=(3.5, 2.5)):
    """matplotlib's default figure size (d2l's ``set_figsize``)."""
    import matplotlib.pyplot as plt
    use_svg_display()
    plt.rcParams["figure.figsize"] = figsize


def set_axes(axes, xlabel, ylabel, xlim, ylim, xscale, yscale, legend):
    """Labels, limits, scales, legend and grid of ``axes`` (d2l's ``set_axes``)."""
    axes.set_xlabel(xlabel), axes.set_ylabel(ylabel)
    axes.set_xscale(xscale), axes.set_yscale(yscale)
    axes.set_xlim(xlim), axes.set_ylim(ylim)
    if legend:
        axes.legend(legend)
    axes.grid()


class Animator:
    """Plots lines point by point, redrawn at each :meth:`add` (d2l's ``Animator``).

    ``animator.add(x, (y1, y2, ...))`` appends one point to each line; a ``None`` skips that
    line. ``fig`` and ``axes`` are the figure and its list of axes, as d2l's;
    ``X`` and ``Y`` the points so far."""

    def __init__(self, xlabel=None, ylabel=None, legend=None, xlim=None, ylim=None,
                 xscale="linear", yscale="linear", fmts=("-", "m--", "g-.", "r:"), nrows=1,
                 ncols=1, figsize=(3.5, 2.5)):
        use_svg_display()
        self.fig = _new_figure(figsize)
        self.axes = list(np.ravel(self.fig.subplots(nrows, ncols, squeeze=False)))
        self._config = (xlabel, ylabel, xlim, ylim, xscale, yscale, legend or [])
        self.X, self.Y, self.fmts = None, None, fmts
        self._display = None

    def config_axes(self):
        set_axes(self.axes[0], *self._config)

    def add(self, x, y):
        if not hasattr(y, "__len__"):
            y = [y]
        n = len(y)
        if not hasattr(x, "__len__"):
            x = [x] * n
        if not self.X:
            self.X = [[] for _ in range(n)]
        if not self.Y:
            self.Y = [[] for _ in range(n)]
        for i, (a, b) in enumerate(zip(x, y)):
            if a is not None and b is not None:
                self.X[i].append(a)
                self.Y[i].append(b)
        self.axes[0].cla()
        for xs, ys, fmt in zip(self.X, self.Y, self.fmts):
            self.axes[0].plot(xs, ys, fmt)
        self.config_axes()
        if in_notebook():
            from IPython import display
            if self._display is None:
                self._display = display.display(self.fig, display_id=True)
            else:
                self._display.update(self.fig)


class Timer:
    """Records running times (d2l's ``Timer``): ``start()``, ``stop()`` (returns the time and
    records it), ``avg()``, ``sum()``, ``cumsum()``; starts when created."""

    def __init__(self):
        self.times = []
        self.start()

    def start(self):
        self.tik = time.time()

    def stop(self):
        self.times.append(time.time() - self.tik)
        return self.times[-1]

    def avg(self):
        return sum(self.times) / len(self.times)

    def sum(self):
        return sum(self.times)

    def cumsum(self):
        return np.array(self.times).cumsum().tolist()


class Accumulator:
    """Sums over ``n`` variables (d2l's ``Accumulator``): ``add(*values)`` adds one value to
    each (NDArrays of one element too), ``metric[i]`` reads a sum, ``reset()`` zeroes them."""

    def __init__(self, n):
        self.data = [0.0] * n

    def add(self, *args):
        self.data = [a + float(b.asscalar() if hasattr(b, "asscalar") else b)
                     for a, b in zip(self.data, args)]

    def reset(self):
        self.data = [0.0] * len(self.data)

    def __getitem__(self, idx):
        return self.data[idx]
