"""Reproducibility: one call seeds every generator a run draws from."""
from __future__ import annotations

import random

import mxnet as mx
import numpy as np


def seed_everything(seed: int) -> None:
    """Seed MXNet's (every device), numpy's and Python's generators.

    numpy's global generator is also what gluon's ``DataLoader(shuffle=True)`` uses
    (``RandomSampler`` calls ``np.random.shuffle``), so the data order is fixed too.
    """
    seed = int(seed)
    mx.random.seed(seed)
    np.random.seed(seed % (2 ** 32))
    random.seed(seed)


def epoch_seed(seed: int, epoch: int) -> int:
    """The seed epoch ``epoch`` (0-based) starts from. Each epoch reseeds, so a resumed run draws
    the same shuffles and dropout masks as an uninterrupted one (MXNet's generator state cannot
    be saved)."""
    return (int(seed) * 1000003 + 7919 * (epoch + 1)) % (2 ** 31 - 1)
