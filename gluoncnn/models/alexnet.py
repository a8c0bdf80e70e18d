"""AlexNet and ZFNet, with the local response normalisation they share.

AlexNet: A. Krizhevsky, I. Sutskever, G. E. Hinton, "ImageNet Classification with Deep
Convolutional Neural Networks", NIPS 2012.
ZFNet: M. D. Zeiler, R. Fergus, "Visualizing and Understanding Convolutional Networks",
ECCV 2014.

AlexNet as in the paper, input 3x227x227 (the paper says 224, but 11x11 filters at stride 4
only tile 227; CS231n's table, in the course notes, uses 227)::

    conv1 96@11x11/4 -> ReLU -> LRN -> maxpool 3/2       55x55x96 -> 27x27x96
    conv2 256@5x5 pad 2 -> ReLU -> LRN -> maxpool 3/2    27x27x256 -> 13x13x256
    conv3 384@3x3 pad 1 -> ReLU                          13x13x384
    conv4 384@3x3 pad 1 -> ReLU                          13x13x384
    conv5 256@3x3 pad 1 -> ReLU -> maxpool 3/2           13x13x256 -> 6x6x256
    fc6 4096 -> ReLU -> dropout 0.5 -> fc7 4096 -> ReLU -> dropout 0.5 -> fc8 classes

The paper normalises before pooling (CS231n's table and Caffe's CaffeNet pool first; the
shapes are the same). Parameters with 1000 classes: 62,378,344 with ``groups=1``;
60,965,224 with ``groups=2``, the paper's two-GPU layout in which conv2, conv4 and conv5 only
see the half of the previous layer on their own GPU (the paper's "60 million"). The AlexNet of
torchvision and of MXNet's model zoo is the later "one weird trick" variant (64-192-384-256-256
filters, no LRN, no grouping): 61,100,840 parameters.

ZFNet (224x224 input) keeps AlexNet's layout with a 7x7 stride-2 first layer and a stride-2
second layer, contrast (response) normalisation after pooling, and no grouping::

    conv1 96@7x7/2 pad 1 -> ReLU -> maxpool 3/2 pad 1 -> LRN      110 -> 55
    conv2 256@5x5/2 -> ReLU -> maxpool 3/2 pad 1 -> LRN           26 -> 13
    conv3 384, conv4 384, conv5 256 (3x3 pad 1, ReLU) -> maxpool 3/2    13 -> 6
    fc6 4096 -> fc7 4096 -> classes (ReLU and dropout 0.5 as AlexNet)

The paddings reproduce the paper's Figure 3 (110, 55, 26, 13, 6). ZFNet has 62,357,608
parameters with 1000 classes. Its paper initialises weights to N(0, 0.01^2) and biases to 0,
and renormalises any first-layer filter whose RMS exceeds 0.1 (a training rule, not done here).

Both take one input size (they flatten into fc6): 227 (AlexNet) / 224 (ZFNet), or
``input_size``. ``small_input=True`` gives the small-image form for 28x28 / 32x32 images: the
same layers and head, with a 3x3 stride-1 first convolution (and, for ZFNet, a stride-1
second one), so that a 28x28 image ends at 256x2x2 (AlexNet) / 256x3x3 (ZFNet) before fc6.
d2l instead trains the ImageNet form on Fashion-MNIST resized to 224
(``alexnet(classes=10, in_channels=1, input_size=224, lrn=False)`` is d2l's AlexNet).

``width`` (default 1, the paper's net) multiplies the filters of conv1-conv5 and the units of
fc6 and fc7, rounded (at least 1; even with ``groups=2``), as d2l narrows its nets for a
laptop CPU: ``width=0.25`` gives 24-64-96-96-64 filters and fc 1024.
"""
from typing import Optional

from mxnet import init as mx_init
from mxnet.gluon import nn

from ..errors import OptionError
from .common import Classifier, scale_channels
from .registry import check_width, register_model

__all__ = ['LocalResponseNorm', 'AlexNetInit', 'PaperBias', 'AlexNet', 'ZFNet', 'alexnet', 'zfnet']

ALEXNET_PAPER = ('Krizhevsky, Sutskever & Hinton: ImageNet Classification with Deep '
                 'Convolutional Neural Networks, NIPS 2012')
ZFNET_PAPER = ('Zeiler & Fergus, Visualizing and Understanding Convolutional Networks, '
               'ECCV 2014 (arXiv:1311.2901)')


class LocalResponseNorm(nn.HybridBlock):
    """Local response normalisation across channels, in the AlexNet paper's convention.

    ``b[c] = a[c] / (k + alpha * sum(a[c']**2 for c' in the size channels around c))**beta``.
    MXNet's ``LRN`` operator (like Caffe's) divides ``alpha`` by ``size``; this block passes
    ``alpha * size`` so that ``alpha`` means what the paper says (AlexNet: k=2, n=5,
    alpha=1e-4, beta=0.75).
    """

    def __init__(self, size=5, alpha=1e-4, beta=0.75, k=2.0, **kwargs):
        super().__init__(**kwargs)
        self.size, self.alpha, self.beta, self.k = size, alpha, beta, k

    def hybrid_forward(self, F, x):
        return F.LRN(x, alpha=self.alpha * self.size, beta=self.beta, knorm=self.k,
                     nsize=self.size)

    def __repr__(self):
        return (f"{type(self).__name__}(size={self.size}, alpha={self.alpha}, "
                f"beta={self.beta}, k={self.k})")


class AlexNetInit(mx_init.Normal):
    """AlexNet's initialisation: every weight from N(0, sigma^2), sigma = 0.01.

    The biases of conv2, conv4, conv5 and of the hidden fully-connected layers fc6, fc7 carry a
    :class:`PaperBias` initialiser, which sets them to 1 under this scheme ("to accelerate the
    early stages of learning by providing the ReLUs with positive inputs"); all other biases
    are 0. Under any other scheme (``net.initialize(mx.init.Xavier())``) every bias is 0.
    """

    def __init__(self, sigma=0.01):
        super().__init__(sigma=sigma)


class PaperBias(mx_init.Initializer):
    """A bias initialiser that follows the global scheme: ``value`` when the net is initialised
    with ``paper_init`` (a class, :class:`AlexNetInit` by default), 0 otherwise."""

    def __init__(self, value=1.0, paper_init=AlexNetInit):
        super().__init__(value=value)
        self.value, self.paper_init = value, paper_init

    def _init_weight(self, desc, arr):
        # Gluon calls the layer's initialiser with a descriptor naming the global one
        paper = isinstance(getattr(desc, 'global_init', None), self.paper_init)
        arr[:] = self.value if paper else 0.0


def _out(size, kernel, stride=1, padding=0):
    """Output side of a convolution or pooling window (MXNet's floor convention)."""
    return (size + 2 * padding - kernel) // stride + 1


def _fixed_size(name, input_size, min_size):
    if input_size < min_size:
        raise OptionError(f"{name} needs input_size >= {min_size} (smaller images shrink to "
                          f"nothing before fc6), got {input_size}")
    return input_size


class AlexNet(Classifier):
    """AlexNet (Krizhevsky et al., NIPS 2012); see the module docstring for the layers.

    Input ``(batch, in_channels, input_size, input_size)``, output ``(batch, classes)``.
    ``features`` holds five stages, one per convolution (the paper's layers 1-5), so that
    printing them gives the CS231n table; ``output`` is fc6-fc8. ``lrn=False`` drops the
    response normalisation (d2l, torchvision), ``groups=2`` splits conv2, conv4 and conv5 in
    two groups as on the paper's two GPUs. ``small_input=True``: a 3x3 stride-1 conv1 for
    28x28 / 32x32 images. Default initialisation: :class:`AlexNetInit`.

    width : float, default 1 — multiplies every hidden layer's channels (conv1-conv5, fc6,
    fc7; d2l's width reduction, e.g. 0.25 for a laptop CPU); 1 keeps the paper's form.
    """

    foreign_first_filters = {64: "is the model zoo's AlexNet (torchvision's 64-192-384-256-256 "
                                 "layout without LRN), not the paper's 96-256-384-384-256 net "
                                 "gluoncnn builds: its weights do not map"}

    def __init__(self, classes=1000, in_channels=3, small_input=False, input_size=None,
                 lrn=True, groups=1, width=1.0, **kwargs):
        if groups not in (1, 2):
            raise OptionError(f"groups must be 1 or 2 (the paper's two GPUs), got {groups}")
        check_width(width)
        stem = (3, 1, 1) if small_input else (11, 4, 0)  # conv1 kernel, stride, padding
        size = input_size if input_size is not None else (28 if small_input else 227)
        min_size = 15 if small_input else 67  # the last maxpool needs a 3x3 map
        super().__init__(in_channels=in_channels,
                         input_size=(_fixed_size('AlexNet', size, min_size),) * 2,
                         default_init=AlexNetInit(), **kwargs)
        self.conv1_size = _out(size, *stem)
        self.width = width
        with self.name_scope():
            self.features = nn.HybridSequential(prefix='features_')
            # (filters, kernel, stride, padding, groups, LRN, maxpool) of conv1..conv5
            layers = [(96, *stem, 1, lrn, True), (256, 5, 1, 2, groups, lrn, True),
                      (384, 3, 1, 1, 1, False, False), (384, 3, 1, 1, groups, False, False),
                      (256, 3, 1, 1, groups, False, True)]
            for i, (filters, kernel, stride, padding, g, norm, pool) in enumerate(layers, 1):
                stage = nn.HybridSequential(prefix=f'stage{i}_')
                stage.add(nn.Conv2D(scale_channels(filters, width, groups), kernel, stride,
                                    padding, groups=g, activation='relu', prefix=f'conv{i}_',
                                    bias_initializer=PaperBias() if i in (2, 4, 5) else 'zeros'))
                if norm:
                    stage.add(LocalResponseNorm(size=5, alpha=1e-4, beta=0.75, k=2.0))
                if pool:
                    stage.add(nn.MaxPool2D(pool_size=3, strides=2))
                self.features.add(stage)
            self.output = nn.HybridSequential(prefix='output_')
            hidden = scale_channels(4096, width)
            self.output.add(nn.Dense(hidden, activation='relu', bias_initializer=PaperBias(),
                                     prefix='fc6_'),
                            nn.Dropout(0.5),
                            nn.Dense(hidden, activation='relu', bias_initializer=PaperBias(),
                                     prefix='fc7_'),
                            nn.Dropout(0.5),
                            nn.Dense(classes, prefix='fc8_'))

    def hybrid_forward(self, F, x):
        return self.output(self.features(x))


class ZFNet(Classifier):
    """ZFNet (Zeiler & Fergus, ECCV 2014); see the module docstring for the layers.

    Input ``(batch, in_channels, input_size, input_size)`` (224 by default), output
    ``(batch, classes)``. ``features`` holds five stages, one per convolution; ``output`` is
    fc6-fc8. ``lrn=False`` drops the contrast normalisation. ``small_input=True``: 3x3
    stride-1 conv1 and stride-1 conv2 (padding 2) for 28x28 / 32x32 images. Default
    initialisation: weights N(0, 0.01^2), biases 0 (the paper).

    width : float, default 1 — multiplies every hidden layer's channels (conv1-conv5, fc6,
    fc7; d2l's width reduction, e.g. 0.25 for a laptop CPU); 1 keeps the paper's form.
    """

    def __init__(self, classes=1000, in_channels=3, small_input=False, input_size=None,
                 lrn=True, width=1.0, **kwargs):
        check_width(width)
        conv1 = (3, 1, 1) if small_input else (7, 2, 1)
        conv2 = (5, 1, 2) if small_input else (5, 2, 0)
        size = input_size if input_size is not None else (28 if small_input else 224)
        min_size = 9 if small_input else 53  # the last maxpool needs a 3x3 map
        super().__init__(in_channels=in_channels,
                         input_size=(_fixed_size('ZFNet', size, min_size),) * 2,
                         default_init=mx_init.Normal(0.01), **kwargs)
        self.width = width
        with self.name_scope():
            self.features = nn.HybridSequential(prefix='features_')
            layers = [(96, *conv1, lrn, 1), (256, *conv2, lrn, 1), (384, 3, 1, 1, False, None),
                      (384, 3, 1, 1, False, None), (256, 3, 1, 1, False, 0)]
            for i, (filters, kernel, stride, padding, norm, pool_pad) in enumerate(layers, 1):
                stage = nn.HybridSequential(prefix=f'stage{i}_')
                stage.add(nn.Conv2D(scale_channels(filters, width), kernel, stride, padding,
                                    activation='relu', prefix=f'conv{i}_'))
                if pool_pad is not None:
                    stage.add(nn.MaxPool2D(pool_size=3, strides=2, padding=pool_pad))
                if norm:
                    stage.add(LocalResponseNorm(size=5, alpha=1e-4, beta=0.75, k=2.0))
                self.features.add(stage)
            self.output = nn.HybridSequential(prefix='output_')
            hidden = scale_channels(4096, width)
            self.output.add(nn.Dense(hidden, activation='relu', prefix='fc6_'), nn.Dropout(0.5),
                            nn.Dense(hidden, activation='relu', prefix='fc7_'), nn.Dropout(0.5),
                            nn.Dense(classes, prefix='fc8_'))

    def hybrid_forward(self, F, x):
        return self.output(self.features(x))


@register_model(family='alexnet', paper=ALEXNET_PAPER, input_shape=(3, 227, 227),
                params=62_378_344, macs=1_140_355_712)
def alexnet(classes: int = 1000, in_channels: int = 3, small_input: bool = False,
            input_size: Optional[int] = None, lrn: bool = True, groups: int = 1,
            width: float = 1.0) -> AlexNet:
    """AlexNet as in the paper (96-256-384-384-256 filters, LRN), for 3x227x227 images.

    ``input_size``: the one input side the net takes (default 227, or 28 with
    ``small_input=True``); ``lrn``: local response normalisation after conv1 and conv2;
    ``groups``: 2 for the paper's two-GPU grouping of conv2, conv4, conv5; ``width``: multiplies
    every hidden layer's channels (e.g. 0.25 for a laptop CPU; 1 is the paper's net).
    """
    return AlexNet(classes, in_channels, small_input, input_size, lrn, groups, width)


@register_model(family='alexnet', paper=ZFNET_PAPER, input_shape=(3, 224, 224),
                params=62_357_608, macs=1_174_970_368)
def zfnet(classes: int = 1000, in_channels: int = 3, small_input: bool = False,
          input_size: Optional[int] = None, lrn: bool = True, width: float = 1.0) -> ZFNet:
    """ZFNet: AlexNet with a 7x7/2 first layer and a stride-2 second one, for 3x224x224.

    ``input_size``: the one input side the net takes (default 224, or 28 with
    ``small_input=True``); ``lrn``: contrast normalisation after the first two stages;
    ``width``: multiplies every hidden layer's channels (e.g. 0.25; 1 is the paper's net).
    """
    return ZFNet(classes, in_channels, small_input, input_size, lrn, width)
