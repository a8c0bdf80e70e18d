"""d2l's ResNet pieces by d2l's names and signatures, for ``import gluoncnn as d2l`` code.

- :class:`Residual` is the residual block of d2l's ResNet chapter (d2lzh section 5.11, d2l
  section 8.6) as d2l writes it: two 3x3 convolutions with biases, each followed by batch
  normalisation, ReLU between them and after the sum, and an optional 1x1 convolution (no
  batch normalisation) on the shortcut. He, Zhang, Ren and Sun, "Deep Residual Learning for
  Image Recognition", CVPR 2016 (their option B shortcut has batch normalisation:
  :class:`gluoncnn.models.resnet.BasicBlock`).
- :func:`resnet18` is d2l's ``resnet18(num_classes)`` (the multi-GPU chapters' "slightly
  modified ResNet-18": a 3x3 stride-1 stem without max pooling, for 28x28 or 32x32 images),
  built as gluoncnn's ``get_model('resnet18', small_input=True)``: the same layers and shapes,
  the paper's convolutions without biases and shortcuts with batch normalisation
  (tests/test_d2l_reference.py compares the two).
"""
from __future__ import annotations

from mxnet.gluon import nn

__all__ = ["Residual", "resnet18"]


class Residual(nn.HybridBlock):
    """d2l's residual block: ``Residual(num_channels, use_1x1conv=False, strides=1)``.

    Input ``(N, C, H, W)``; output ``(N, num_channels, H', W')`` with ``H' = ceil(H/strides)``.
    ``use_1x1conv`` puts a strided 1x1 convolution on the shortcut, needed whenever the channels
    or the size change. Same children as d2l's (``conv1``, ``conv2``, ``conv3``, ``bn1``,
    ``bn2``), so d2l's parameter names and counts hold.
    """

    def __init__(self, num_channels, use_1x1conv=False, strides=1, **kwargs):
        super().__init__(**kwargs)
        self.conv1 = nn.Conv2D(num_channels, kernel_size=3, padding=1, strides=strides)
        self.conv2 = nn.Conv2D(num_channels, kernel_size=3, padding=1)
        if use_1x1conv:
            self.conv3 = nn.Conv2D(num_channels, kernel_size=1, strides=strides)
        else:
            self.conv3 = None
        self.bn1 = nn.BatchNorm()
        self.bn2 = nn.BatchNorm()

    def hybrid_forward(self, F, X):
        Y = F.relu(self.bn1(self.conv1(X)))
        Y = self.bn2(self.conv2(Y))
        if self.conv3 is not None:
            X = self.conv3(X)
        return F.relu(Y + X)


def resnet18(num_classes, in_channels=1):
    """d2l's ``resnet18(num_classes)``: ResNet-18 for small images (Fashion-MNIST's 1x28x28 by
    default; ``in_channels=3`` for CIFAR's 3x32x32). Output ``(N, num_classes)``."""
    from .registry import get_model
    return get_model("resnet18", classes=num_classes, in_channels=in_channels, small_input=True)
