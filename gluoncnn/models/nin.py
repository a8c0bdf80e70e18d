"""Network in Network (NiN).

M. Lin, Q. Chen, S. Yan, "Network In Network", ICLR 2014.

An mlpconv block is a convolution followed by two 1x1 convolutions (a small multilayer
perceptron shared across positions), each with ReLU. The net is d2l's NiN, the paper's
ImageNet model with AlexNet's filter sizes::

    mlpconv 96 (11x11/4)          -> maxpool 3/2     54 -> 26    (at 3x224x224)
    mlpconv 256 (5x5 pad 2)       -> maxpool 3/2     26 -> 12
    mlpconv 384 (3x3 pad 1)       -> maxpool 3/2     12 -> 5
    dropout 0.5 -> mlpconv classes (3x3 pad 1)       5
    global average pool -> flatten                   classes

There is no fully-connected layer: the last mlpconv gives one map per class and global
average pooling turns each map into the class score (the final ReLU of d2l is kept). NiN has
2,015,398 parameters with 10 classes and 7,439,608 with 1000 classes (the three 1000x1000
1x1 convolutions are most of them). It takes any size >= 67x67 (224 in the paper).

``small_input=True`` replaces the first mlpconv's 11x11 stride-4 convolution by a 3x3
stride-1 one for 28x28 / 32x32 images (28 -> 13 -> 6 -> 2 before the class maps); the
smallest input is then 15x15. d2l instead trains the ImageNet form on Fashion-MNIST resized
to 224. Default initialisation: Glorot (``mx.init.Xavier()``), as d2l.

``width`` (default 1, the paper's net) multiplies the filters of the three hidden mlpconv
blocks, rounded (at least 1): ``width=0.25`` gives 24, 64, 96 (d2l's width reduction for a
laptop CPU). The class mlpconv keeps one map per class.
"""
from mxnet import init as mx_init
from mxnet.gluon import nn

from .common import Classifier, scale_channels
from .registry import check_width, register_model

__all__ = ['nin_block', 'NiN', 'nin']

NIN_PAPER = 'Lin, Chen & Yan: Network In Network, ICLR 2014 (arXiv:1312.4400)'


def nin_block(channels, kernel_size, strides=1, padding=0, prefix=None):
    """An mlpconv block: a ``kernel_size`` convolution and two 1x1 convolutions, all with
    ``channels`` filters and ReLU (d2l's ``nin_block``)."""
    block = nn.HybridSequential(prefix=prefix)
    with block.name_scope():
        block.add(nn.Conv2D(channels, kernel_size, strides, padding, activation='relu'),
                  nn.Conv2D(channels, kernel_size=1, activation='relu'),
                  nn.Conv2D(channels, kernel_size=1, activation='relu'))
    return block


class NiN(Classifier):
    """Network in Network (Lin, Chen, Yan, ICLR 2014); see the module docstring.

    Input ``(batch, in_channels, >=67, >=67)`` (224 in the paper), or ``>=15`` with
    ``small_input=True``; output ``(batch, classes)``. ``features`` holds four stages (three
    mlpconv + maxpool, then dropout + the class mlpconv); ``output`` is the global average
    pool and flatten.

    width : float, default 1 — multiplies every hidden layer's channels (the three hidden
    mlpconv blocks; d2l's width reduction, e.g. 0.25 for a laptop CPU); 1 keeps the paper's
    form.
    """

    def __init__(self, classes=1000, in_channels=3, small_input=False, dropout=0.5, width=1.0,
                 **kwargs):
        check_width(width)
        super().__init__(in_channels=in_channels, min_size=15 if small_input else 67,
                         default_init=mx_init.Xavier(), **kwargs)
        stem = (3, 1, 1) if small_input else (11, 4, 0)
        self.width = width
        with self.name_scope():
            self.features = nn.HybridSequential(prefix='features_')
            for i, (channels, kernel, stride, pad) in enumerate(
                    [(96, *stem), (256, 5, 1, 2), (384, 3, 1, 1)], 1):
                stage = nn.HybridSequential(prefix=f'stage{i}_')
                with stage.name_scope():
                    stage.add(nin_block(scale_channels(channels, width), kernel, stride, pad),
                              nn.MaxPool2D(pool_size=3, strides=2))
                self.features.add(stage)
            stage = nn.HybridSequential(prefix='stage4_')
            with stage.name_scope():
                stage.add(nn.Dropout(dropout), nin_block(classes, 3, 1, 1))
            self.features.add(stage)
            self.output = nn.HybridSequential(prefix='output_')
            self.output.add(nn.GlobalAvgPool2D(), nn.Flatten())

    def hybrid_forward(self, F, x):
        return self.output(self.features(x))


@register_model(family='nin', paper=NIN_PAPER, input_shape=(3, 224, 224),
                params=7_439_608, macs=968_199_968)
def nin(classes: int = 1000, in_channels: int = 3, small_input: bool = False,
        dropout: float = 0.5, width: float = 1.0) -> NiN:
    """Network in Network as in d2l: three mlpconv blocks, then one class map per class.

    Input ``(batch, 3, >=67, >=67)`` (224 in the paper), or ``>=15`` with ``small_input=True``;
    ``dropout``: the drop rate before the class mlpconv; ``width``: multiplies every hidden
    layer's channels (e.g. 0.25 for a laptop CPU; 1 is the paper's net)."""
    return NiN(classes, in_channels, small_input, dropout, width)
