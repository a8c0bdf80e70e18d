"""The ResNet of the course notes' TensorFlow 2 / Keras chapter (notes 000), as it is written.

The notes build ``ResNet(layer_dims=[2, 2, 2, 2])`` for CIFAR-100 and print its Keras summary::

    sequential   (None, 30, 30, 64)       2,048     stem
    sequential_1 (None, 30, 30, 64)     223,104     stage 1
    sequential_2 (None, 15, 15, 128)    823,168     stage 2
    sequential_4 (None, 8, 8, 256)    3,284,736     stage 3
    sequential_6 (None, 4, 4, 512)   13,123,072     stage 4
    dense                                51,300
    Total params: 17,507,428   Trainable params: 17,495,780   Non-trainable params: 11,648

``keras_resnet()`` reproduces it to the unit (the non-trainable parameters are the BatchNorm
moving statistics). Its quirks, kept because they are the point of an exercise, each differ from
the ResNet paper (:mod:`gluoncnn.models.resnet`):

- the stem is an *unpadded* 3x3 convolution with a bias (32 -> 30), BN, ReLU and a 2x2
  stride-1 max pool with Keras ``padding='same'`` (one row and column added at the bottom and
  right, so the size stays 30);
- every convolution has a bias (the BN after it makes the bias redundant);
- a strided unit's shortcut is a bare 1x1 convolution with a bias and no BN;
- ``build_resblock(filter_num, blocks)`` adds one unit and then ``blocks`` more, so a stage has
  ``1 + blocks`` units (3 for ``[2, 2, 2, 2]``: 26 weighted layers, not 18);
- every stage is built from ``layer_dims[0]``; the other entries are never read.

BatchNorm keeps Keras's defaults (``momentum=0.99, epsilon=1e-3``) and the default
initialisation is Keras's (Glorot uniform, biases 0). One difference cannot be written with
MXNet's symmetric padding: a stride-2 3x3 ``'same'`` convolution on an even-sized map pads
only at the bottom and right in TensorFlow, here on all four sides; the output sizes (15, 8, 4)
and the parameters are the same, the sampling grid is shifted by one pixel.
"""
from collections.abc import Sequence

from mxnet import init as mx_init
from mxnet.gluon import nn

from ..errors import OptionError
from .common import Classifier
from .registry import register_model

__all__ = ['SamePadMaxPool', 'KerasBasicBlock', 'KerasResNet', 'keras_resnet']

_BN = dict(momentum=0.99, epsilon=1e-3)   # Keras BatchNormalization defaults


class SamePadMaxPool(nn.HybridBlock):
    """Keras ``MaxPool2D(pool_size=2, strides=1, padding='same')``: the map is extended by one
    row and column at the bottom and right (a copy of the last, which cannot change a max),
    then pooled 2x2 with stride 1. Same shape in and out."""

    def hybrid_forward(self, F, x):
        x = F.pad(x, mode='edge', pad_width=(0, 0, 0, 0, 0, 1, 0, 1))
        return F.Pooling(x, kernel=(2, 2), stride=(1, 1), pool_type='max')


class KerasBasicBlock(nn.HybridBlock):
    """The notes' BasicBlock: conv3x3-BN-ReLU-conv3x3-BN (convs with biases), plus the input,
    or with ``stride > 1`` a bare strided 1x1 conv of it, then ReLU.
    Input ``(N, in_channels, H, W)``, output ``(N, filters, ceil(H/stride), ceil(W/stride))``."""

    def __init__(self, in_channels, filters, stride=1, **kwargs):
        super().__init__(**kwargs)
        with self.name_scope():
            self.conv1 = nn.Conv2D(filters, 3, strides=stride, padding=1, in_channels=in_channels)
            self.bn1 = nn.BatchNorm(in_channels=filters, **_BN)
            self.conv2 = nn.Conv2D(filters, 3, padding=1, in_channels=filters)
            self.bn2 = nn.BatchNorm(in_channels=filters, **_BN)
            self.shortcut = (nn.Conv2D(filters, 1, strides=stride, in_channels=in_channels)
                             if stride != 1 else None)

    def hybrid_forward(self, F, x):
        out = F.Activation(self.bn1(self.conv1(x)), act_type='relu')
        out = self.bn2(self.conv2(out))
        identity = x if self.shortcut is None else self.shortcut(x)
        return F.Activation(out + identity, act_type='relu')


class KerasResNet(Classifier):
    """The notes' Keras ResNet (see the module docstring). ``features``: stem, four stages of
    ``1 + layer_dims[0]`` units with 64, 128, 256, 512 filters (stride 2 from the second),
    global average pool; ``output``: Dense(classes). Input ``(N, in_channels, >=10, >=10)``
    (32x32 CIFAR): stages at 30, 30, 15, 8, 4; output ``(N, classes)``."""

    def __init__(self, layer_dims=(2, 2, 2, 2), classes=100, in_channels=3, **kwargs):
        if len(layer_dims) < 1 or not all(isinstance(n, int) and n >= 0 for n in layer_dims):
            raise OptionError(f"layer_dims must be a list of block counts >= 0 such as "
                              f"[2, 2, 2, 2], got {layer_dims!r}")
        super().__init__(in_channels=in_channels, min_size=10,
                         default_init=mx_init.Xavier(), **kwargs)
        self.layer_dims = tuple(layer_dims)
        blocks = layer_dims[0]   # as the notes: every stage reads layer_dims[0]
        with self.name_scope():
            self.features = nn.HybridSequential(prefix='')
            stem = nn.HybridSequential(prefix='stem_')
            with stem.name_scope():
                stem.add(nn.Conv2D(64, 3, in_channels=in_channels),
                         nn.BatchNorm(in_channels=64, **_BN), nn.Activation('relu'),
                         SamePadMaxPool())
            self.features.add(stem)
            width = 64
            for i, filters in enumerate((64, 128, 256, 512)):
                stage = nn.HybridSequential(prefix=f'stage{i + 1}_')
                with stage.name_scope():
                    for j in range(1 + blocks):
                        stride = 2 if i > 0 and j == 0 else 1
                        stage.add(KerasBasicBlock(width, filters, stride))
                        width = filters
                self.features.add(stage)
            self.features.add(nn.GlobalAvgPool2D())
            self.output = nn.Dense(classes, in_units=width)

    def hybrid_forward(self, F, x):
        return self.output(self.features(x))


@register_model(family='resnet', paper='course notes 000, the TensorFlow 2 / Keras chapter, '
                'after He et al. (CVPR 2016)', input_shape=(3, 32, 32), small_only=True,
                params=17_495_780, macs=807_164_288)
def keras_resnet(classes: int = 100, in_channels: int = 3, small_input: bool = True,
                 layer_dims: Sequence[int] = (2, 2, 2, 2)) -> KerasResNet:
    """The course notes' Keras ResNet for CIFAR-100, quirks and all (17,507,428 parameters)."""
    return KerasResNet(layer_dims, classes, in_channels)
