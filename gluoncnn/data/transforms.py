"""The per-image transforms ``load_data`` applies, and the checks of their arguments."""
from __future__ import annotations

from collections.abc import Sequence

import numpy as np
from mxnet import gluon, nd
from mxnet.gluon.data.vision import transforms

from ..errors import OptionError
from .catalogue import dataset_spec

Resize = None | int | tuple[int, int]
Normalize = bool | None | tuple[Sequence[float], Sequence[float]]


class RandomCrop(gluon.Block):
    """Random ``size`` crop of an HWC image after zero-padding ``padding`` pixels on each side
    (the CIFAR "pad 4, crop 32" augmentation). Offsets come from ``numpy.random``."""

    def __init__(self, size, padding=0):
        super().__init__()
        self.size = (size, size) if isinstance(size, int) else tuple(size)
        self.padding = padding

    def forward(self, x):
        height, width, channels = x.shape
        pad = self.padding
        if pad:
            canvas = nd.zeros((height + 2 * pad, width + 2 * pad, channels), dtype=x.dtype,
                              ctx=x.context)
            canvas[pad:pad + height, pad:pad + width, :] = x
            x, height, width = canvas, height + 2 * pad, width + 2 * pad
        crop_h, crop_w = self.size
        if crop_h > height or crop_w > width:
            raise OptionError(f"crop {crop_h}x{crop_w} is larger than the padded image "
                              f"{height}x{width}")
        top = np.random.randint(0, height - crop_h + 1)
        left = np.random.randint(0, width - crop_w + 1)
        return x[top:top + crop_h, left:left + crop_w, :]

    def __repr__(self):
        return f"RandomCrop(size={self.size}, padding={self.padding})"


def positive_int(what: str, value) -> int:
    """``value`` as an int, or an :class:`~gluoncnn.errors.OptionError` naming ``what``."""
    if isinstance(value, bool) or not isinstance(value, (int, np.integer)) or value <= 0:
        raise OptionError(f"{what} must be a positive integer, got {value!r}")
    return int(value)


def resize_hw(resize: Resize) -> tuple[int, int] | None:
    """``resize`` as ``(height, width)`` (``None`` stays ``None``), checked."""
    if resize is None:
        return None
    if isinstance(resize, (int, np.integer)) and not isinstance(resize, bool):
        return (positive_int("resize", resize),) * 2
    if isinstance(resize, (tuple, list)) and len(resize) == 2:
        return tuple(positive_int("resize", v) for v in resize)
    raise OptionError(f"resize must be a positive int or a (height, width) pair, got {resize!r}")


def mean_std(name: str, normalize: Normalize) -> tuple:
    """The ``(mean, std)`` ``normalize`` asks for: the dataset's own for ``True``, else the
    given pair, checked (1 or ``channels`` values each, std > 0)."""
    spec = dataset_spec(name)
    if normalize is True:
        return spec.mean, spec.std
    try:
        mean, std = normalize
        mean = tuple(float(m) for m in np.atleast_1d(mean))
        std = tuple(float(s) for s in np.atleast_1d(std))
    except (TypeError, ValueError):
        mean = std = ()
    if not (len(mean) in (1, spec.channels) and len(std) in (1, spec.channels) and min(std) > 0):
        raise OptionError(f"normalize must be True, False or (mean, std) with 1 or "
                          f"{spec.channels} value(s) each and std > 0, got {normalize!r}")
    return mean, std


def get_transform(name: str, train: bool = True, resize: Resize = None,
                  normalize: Normalize = False, augment: bool = False) -> transforms.Compose:
    """The per-image transform ``load_data`` applies (HWC uint8 -> CHW float32).

    Order: augmentation (training only, the dataset's ``augmentation``: CIFAR random 32x32 crop
    of the image zero-padded by 4 plus horizontal flip; Fashion-MNIST random 28x28 crop with
    padding 2 plus horizontal flip; MNIST the crop only, since a mirrored digit is another
    symbol), then ``Resize``, then ``ToTensor`` (to [0, 1]), then ``Normalize`` when
    ``normalize`` is set.
    """
    spec = dataset_spec(name)
    steps = []
    if augment and train:
        steps.append(RandomCrop(spec.augmentation.crop, padding=spec.augmentation.padding))
        if spec.augmentation.flip:
            steps.append(transforms.RandomFlipLeftRight())
    hw = resize_hw(resize)
    if hw is not None:
        steps.append(transforms.Resize((hw[1], hw[0])))  # gluon's Resize takes (width, height)
    steps.append(transforms.ToTensor())
    if normalize is not None and normalize is not False:
        steps.append(transforms.Normalize(*mean_std(spec.name, normalize)))
    return transforms.Compose(steps)
