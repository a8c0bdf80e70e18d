"""DenseNet: every layer sees the feature maps of all layers before it in its block.

Huang, Liu, van der Maaten and Weinberger, "Densely Connected Convolutional Networks", CVPR 2017
(arXiv:1608.06993).

A dense block of L layers keeps one growing tensor: layer l computes k new channels (the
*growth rate*) from everything so far, and its output is concatenated to its input along the
channel axis, so after the block there are ``c_in + L*k`` channels. Between blocks a transition
layer (BN-ReLU-1x1 conv-2x2 average pool) halves the resolution and, in DenseNet-BC, multiplies
the channels by the compression factor theta = 0.5. The "B" of DenseNet-BC is the bottleneck
layer: BN-ReLU-1x1 conv (4k channels) before the BN-ReLU-3x3 conv (k channels).

Two forms, one class (``small_input`` picks the stem):

======================  ==================================================  ============
form                    stem                                                 first block
======================  ==================================================  ============
ImageNet (224x224)      7x7/2 conv, BN, ReLU, 3x3/2 max pool                 56x56
small (CIFAR, 28/32)    3x3/1 conv (no pool), as the paper's CIFAR nets      32x32
======================  ==================================================  ============

Parameter counts (trainable: conv weights, BN gamma/beta, FC; BN running statistics are not
parameters) equal torchvision's ``densenet121/169/201/161``: 7,978,856 / 14,149,480 /
20,013,928 / 28,681,000.

Builders: ``densenet`` and ``densenet_cifar`` are the generic ImageNet and CIFAR nets (every
option); the named configurations (``densenet121/161/169/201``, ``densenet_bc_100_k12``) are
fixed and take only ``classes``, ``in_channels``, ``small_input`` and ``dropout``.
Input ``(N, in_channels, 224, 224)`` for the ImageNet stem (any size ``>=29`` with four
blocks), ``>=8`` with ``small_input=True`` (28x28, 32x32). The CIFAR DenseNet-BC (L=100,
k=12): a 3x3 conv of 2k channels, three dense blocks of (L - 4) / 6 bottleneck layers,
theta = 0.5; at 32x32 24x32x32 after the stem, then 108x16x16, 150x8x8, 342x8x8.
"""
from collections.abc import Sequence
from typing import Optional

from mxnet import init as mx_init
from mxnet.gluon import nn

from ..errors import OptionError
from .common import Classifier
from .registry import register_model

__all__ = ['DenseLayer', 'DenseBlock', 'Transition', 'DenseNet',
           'densenet', 'densenet121', 'densenet161', 'densenet169', 'densenet201',
           'densenet_cifar', 'densenet_bc_100_k12']

DENSENET_PAPER = ('Huang, Liu, van der Maaten & Weinberger: Densely Connected Convolutional '
                  'Networks, CVPR 2017 (arXiv:1608.06993)')


class DenseLayer(nn.HybridBlock):
    """One layer of a dense block: ``x -> concat(x, H(x))`` with ``growth_rate`` new channels.

    H is the DenseNet-BC composite function BN-ReLU-1x1 conv (``bn_size * growth_rate``
    channels) - BN-ReLU-3x3 conv (``growth_rate`` channels); with ``bn_size=None`` it is the
    plain DenseNet BN-ReLU-3x3 conv. Dropout (paper: 0.2 on CIFAR without augmentation) follows
    each conv. Input ``(N, c, H, W)``, output ``(N, c + growth_rate, H, W)``.
    """

    def __init__(self, growth_rate, bn_size=4, dropout=0.0, **kwargs):
        super().__init__(**kwargs)
        self.growth_rate = growth_rate
        with self.name_scope():
            self.body = nn.HybridSequential(prefix='')
            if bn_size:
                self.body.add(nn.BatchNorm(), nn.Activation('relu'),
                              nn.Conv2D(bn_size * growth_rate, 1, use_bias=False))
                if dropout:
                    self.body.add(nn.Dropout(dropout))
            self.body.add(nn.BatchNorm(), nn.Activation('relu'),
                          nn.Conv2D(growth_rate, 3, padding=1, use_bias=False))
            if dropout:
                self.body.add(nn.Dropout(dropout))

    def hybrid_forward(self, F, x):
        new_features = self.body(x)
        return F.concat(x, new_features, dim=1)  # keep everything seen so far, add k channels


class DenseBlock(nn.HybridSequential):
    """``num_layers`` :class:`DenseLayer` in a row: ``c`` channels in, ``c + num_layers * k`` out.

    Layer ``l`` (from 0) takes ``c + l*k`` channels: the block input and the outputs of all
    earlier layers, concatenated.
    """

    def __init__(self, num_layers, growth_rate, bn_size=4, dropout=0.0, **kwargs):
        super().__init__(**kwargs)
        self.num_layers = num_layers
        self.growth_rate = growth_rate
        with self.name_scope():
            for _ in range(num_layers):
                self.add(DenseLayer(growth_rate, bn_size, dropout))


class Transition(nn.HybridSequential):
    """BN-ReLU-1x1 conv (``channels`` out) [-dropout] - 2x2/2 average pool: halves H and W."""

    def __init__(self, channels, dropout=0.0, **kwargs):
        super().__init__(**kwargs)
        self.channels = channels
        with self.name_scope():
            self.add(nn.BatchNorm(), nn.Activation('relu'), nn.Conv2D(channels, 1, use_bias=False))
            if dropout:
                self.add(nn.Dropout(dropout))
            self.add(nn.AvgPool2D(pool_size=2, strides=2))


class DenseNet(Classifier):
    """DenseNet(-BC) of Huang et al., CVPR 2017, for ImageNet or small images.

    ``features`` holds the stages: ``stem``, then one stage per dense block (the block and the
    transition after it; the last block is followed by the final BN-ReLU instead).
    ``output`` is global average pool - flatten - dense(``classes``).

    Shapes for ``densenet121`` at ``(N, 3, 224, 224)``: stem 64x56x56, stage 1 128x28x28,
    stage 2 256x14x14, stage 3 512x7x7, stage 4 1024x7x7, output ``(N, classes)``.
    With ``small_input=True`` at 32x32: 64x32x32, 128x16x16, 256x8x8, 512x4x4, 1024x4x4.

    Parameters
    ----------
    block_config : sequence of int
        Layers per dense block.
    growth_rate : int
        k, the channels each layer adds.
    num_init_features : int
        Channels of the stem conv (64 on ImageNet, 2k for the CIFAR DenseNet-BC).
    bn_size : int or None
        Bottleneck width factor (1x1 conv gives ``bn_size * k`` channels); None: no bottleneck.
    compression : float
        theta in (0, 1]: a transition outputs ``floor(theta * c)`` channels.
    dropout : float
        Dropout after each conv (0 disables it).
    """

    def __init__(self, block_config, growth_rate, num_init_features, bn_size=4, compression=0.5,
                 dropout=0.0, classes=1000, in_channels=3, small_input=False, **kwargs):
        if not 0 < compression <= 1:
            raise OptionError(f"compression (theta) must be in (0, 1], got {compression}")
        transitions = len(block_config) - 1
        # Every transition halves the size (floor); the ImageNet stem divides it by 4 (ceil).
        min_size = 2 ** transitions if small_input else 4 * 2 ** transitions - 3
        # He et al. (2015) init for the convs: N(0, sqrt(2 / (k*k*out_channels))), as in the
        # authors' Torch code; BN gamma 1, beta 0.
        default_init = mx_init.Xavier(rnd_type='gaussian', factor_type='out', magnitude=2)
        super().__init__(in_channels=in_channels, min_size=min_size, default_init=default_init,
                         **kwargs)
        self.block_config = tuple(block_config)
        self.growth_rate = growth_rate
        self.small_input = small_input
        with self.name_scope():
            self.features = nn.HybridSequential(prefix='')
            stem = nn.HybridSequential(prefix='stem_')
            with stem.name_scope():
                if small_input:
                    stem.add(nn.Conv2D(num_init_features, 3, padding=1, use_bias=False,
                                       in_channels=in_channels))
                else:
                    stem.add(nn.Conv2D(num_init_features, 7, strides=2, padding=3, use_bias=False,
                                       in_channels=in_channels),
                             nn.BatchNorm(), nn.Activation('relu'),
                             nn.MaxPool2D(pool_size=3, strides=2, padding=1))
            self.features.add(stem)

            channels = num_init_features
            for i, num_layers in enumerate(block_config):
                stage = nn.HybridSequential(prefix=f'stage{i + 1}_')
                with stage.name_scope():
                    stage.add(DenseBlock(num_layers, growth_rate, bn_size, dropout))
                    channels += num_layers * growth_rate
                    if i < transitions:
                        channels = int(channels * compression)
                        stage.add(Transition(channels, dropout))
                    else:
                        stage.add(nn.BatchNorm(), nn.Activation('relu'))
                self.features.add(stage)
            self.num_features = channels

            self.output = nn.HybridSequential(prefix='output_')
            with self.output.name_scope():
                # The authors' Torch code initialises only the convs (He); the classifier keeps
                # Torch's default U(-1/sqrt(fan_in), 1/sqrt(fan_in)) (torchvision does the same).
                self.output.add(nn.GlobalAvgPool2D(), nn.Flatten(),
                                nn.Dense(classes, in_units=channels,
                                         weight_initializer=mx_init.Uniform(channels ** -0.5)))

    def hybrid_forward(self, F, x):
        return self.output(self.features(x))


@register_model(family='densenet', paper=DENSENET_PAPER, input_shape=(3, 224, 224),
                params=7_978_856, macs=2_883_723_008)
def densenet(classes: int = 1000, in_channels: int = 3, small_input: bool = False,
             block_config: Sequence[int] = (6, 12, 24, 16), growth_rate: int = 32,
             num_init_features: int = 64, bn_size: Optional[int] = 4, compression: float = 0.5,
             dropout: float = 0.0) -> DenseNet:
    """A DenseNet of any configuration (the defaults are DenseNet-BC-121)."""
    return DenseNet(block_config, growth_rate, num_init_features, bn_size=bn_size,
                    compression=compression, dropout=dropout, classes=classes,
                    in_channels=in_channels, small_input=small_input)


@register_model(family='densenet', paper=DENSENET_PAPER, input_shape=(3, 224, 224),
                params=7_978_856, macs=2_883_723_008)
def densenet121(classes: int = 1000, in_channels: int = 3, small_input: bool = False,
                dropout: float = 0.0) -> DenseNet:
    """DenseNet-BC-121: k=32, dense blocks of 6-12-24-16 layers."""
    return DenseNet((6, 12, 24, 16), 32, 64, **locals())


@register_model(family='densenet', paper=DENSENET_PAPER, input_shape=(3, 224, 224),
                params=14_149_480, macs=3_419_527_680)
def densenet169(classes: int = 1000, in_channels: int = 3, small_input: bool = False,
                dropout: float = 0.0) -> DenseNet:
    """DenseNet-BC-169: k=32, dense blocks of 6-12-32-32 layers."""
    return DenseNet((6, 12, 32, 32), 32, 64, **locals())


@register_model(family='densenet', paper=DENSENET_PAPER, input_shape=(3, 224, 224),
                params=20_013_928, macs=4_368_160_256)
def densenet201(classes: int = 1000, in_channels: int = 3, small_input: bool = False,
                dropout: float = 0.0) -> DenseNet:
    """DenseNet-BC-201: k=32, dense blocks of 6-12-48-32 layers."""
    return DenseNet((6, 12, 48, 32), 32, 64, **locals())


@register_model(family='densenet', paper=DENSENET_PAPER, input_shape=(3, 224, 224),
                params=28_681_000, macs=7_820_077_248)
def densenet161(classes: int = 1000, in_channels: int = 3, small_input: bool = False,
                dropout: float = 0.0) -> DenseNet:
    """DenseNet-BC-161: k=48, a 96-channel stem, dense blocks of 6-12-36-24 layers."""
    return DenseNet((6, 12, 36, 24), 48, 96, **locals())


@register_model(family='densenet', paper=DENSENET_PAPER, input_shape=(3, 32, 32),
                params=769_162, macs=300_930_396)
def densenet_cifar(classes: int = 10, in_channels: int = 3, small_input: bool = True,
                   depth: int = 100, growth_rate: int = 12, bn_size: Optional[int] = 4,
                   compression: float = 0.5, dropout: float = 0.0) -> DenseNet:
    """The paper's CIFAR DenseNet of any depth (defaults: DenseNet-BC, L=100, k=12).

    Three dense blocks of ``(depth - 4) // 6`` bottleneck layers (``(depth - 4) // 3`` plain
    layers with ``bn_size=None``) after a 3x3 conv of ``2k`` channels. ``depth=22`` trains in
    seconds for quick runs. Known MXNet 1.9.1 oneDNN bug: DenseNet-BC of ``depth=40`` trains
    forward but its backward pass fails on the CPU build ("could not construct a
    sub-memory"); depths 22, 28, 34 and 100 train. The paper trains CIFAR without
    augmentation with ``dropout=0.2``.
    """
    convs_per_layer = 2 if bn_size else 1
    layers, rest = divmod(depth - 4, 3 * convs_per_layer)
    if rest or layers < 1:
        form = '6n+4 (e.g. 40, 100, 190)' if bn_size else '3n+4 (e.g. 40, 100)'
        raise OptionError(f"a CIFAR DenseNet{'-BC' if bn_size else ''} has depth {form}, "
                          f"got {depth}")
    return DenseNet((layers,) * 3, growth_rate, 2 * growth_rate, bn_size=bn_size,
                    compression=compression, dropout=dropout, classes=classes,
                    in_channels=in_channels, small_input=small_input)


@register_model(family='densenet', paper=DENSENET_PAPER, input_shape=(3, 32, 32),
                params=769_162, macs=300_930_396)
def densenet_bc_100_k12(classes: int = 10, in_channels: int = 3, small_input: bool = True,
                        dropout: float = 0.0) -> DenseNet:
    """DenseNet-BC (L=100, k=12) for CIFAR, the paper's Table 2 ("0.8M" parameters)."""
    return densenet_cifar(depth=100, growth_rate=12, **locals())
