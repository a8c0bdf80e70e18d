"""TensorBoard logs through tensorboardX (an optional dependency: ``pip install tensorboardX``).

``fit(..., log_dir='runs/lenet')`` writes, per epoch, the scalars ``loss``, ``train_acc``,
``test_acc``, ``test_loss``, ``test_top5``, ``lr`` and ``examples_per_sec`` (tags
``train/loss``, ``train/acc``, ``test/acc``, ...), and with ``histograms=True`` each parameter's
values and gradient. View them with ``tensorboard --logdir runs``.
"""
from __future__ import annotations

import os

from ..errors import OptionError
from .callbacks import Callback

#: History key -> TensorBoard tag.
TAGS = {"loss": "train/loss", "train_acc": "train/acc", "test_acc": "test/acc",
        "test_loss": "test/loss", "test_top5": "test/top5", "lr": "train/lr",
        "examples_per_sec": "train/examples_per_sec"}


def summary_writer_class():
    """``tensorboardX.SummaryWriter``, or a one-line error saying how to get it."""
    try:
        from tensorboardX import SummaryWriter
    except ImportError:
        raise OptionError("log_dir= writes TensorBoard logs with tensorboardX, which is not "
                          "installed; pip install tensorboardX (or leave log_dir unset)") from None
    return SummaryWriter


class TensorBoard(Callback):
    """Epoch scalars (and optionally weight/gradient histograms) as TensorBoard events."""

    def __init__(self, log_dir, histograms: bool = False):
        self.log_dir = os.fspath(log_dir)
        self.histograms = bool(histograms)
        self.writer_class = summary_writer_class()  # fails before training, not after it
        self.writer = None

    def on_train_begin(self, state):
        self.writer = self.writer_class(logdir=self.log_dir)

    def on_epoch_end(self, state, record):
        step = record["epoch"]
        for key, tag in TAGS.items():
            if record.get(key) is not None:
                self.writer.add_scalar(tag, float(record[key]), step)
        if self.histograms:
            for name, p in state.net.collect_params().items():
                self.writer.add_histogram(f"weights/{name}", p.data().asnumpy(), step)
                if p.grad_req != "null":
                    self.writer.add_histogram(f"grads/{name}", p.grad().asnumpy(), step)
        self.writer.flush()

    def on_train_end(self, state):
        if self.writer is not None:
            self.writer.close()
            self.writer = None
