"""VGG-11/13/16/19, with and without batch normalisation.

K. Simonyan, A. Zisserman, "Very Deep Convolutional Networks for Large-Scale Image
Recognition", ICLR 2015 (configurations A, B, D, E of its Table 1).

Five stages of 3x3 stride-1 pad-1 convolutions with ReLU, each ending in a 2x2 stride-2 max
pool; the stages have 64, 128, 256, 512, 512 filters and, per configuration,

    vgg11 (A): 1, 1, 2, 2, 2 convolutions      vgg16 (D): 2, 2, 3, 3, 3
    vgg13 (B): 2, 2, 2, 2, 2                   vgg19 (E): 2, 2, 4, 4, 4

then fc 4096 -> ReLU -> dropout 0.5 -> fc 4096 -> ReLU -> dropout 0.5 -> fc classes.
At 3x224x224 the stages end at 112, 56, 28, 14 and 7 (VGG16: 64x112x112, 128x56x56,
256x28x28, 512x14x14, 512x7x7, the CS231n table of the course notes) and fc6 sees 7*7*512
values, so the ImageNet form takes exactly 224x224. Parameters with 1000 classes, equal to
torchvision's and MXNet's model zoo: vgg11 132,863,336; vgg13 133,047,848; vgg16 138,357,544;
vgg19 143,667,240. The ``_bn`` variants (batch normalisation after every convolution, before
the ReLU; the convolutions keep their biases, as in torchvision) add the trainable gamma and
beta: vgg11_bn 132,868,840; vgg13_bn 133,053,736; vgg16_bn 138,365,992; vgg19_bn 143,678,248.
The paper trained configuration A from N(0, 0.01^2) and initialised the deeper ones from it,
noting after submission that Glorot initialisation works without pre-training: the default
initialisation here is Glorot (``mx.init.Xavier()``).

``small_input=True`` is the CIFAR form of the course notes (VGG-13 on CIFAR-100): the same
five stages, with pools that round up (Keras ``padding='same'``) so that both 32x32 and 28x28
images end at 512x1x1, and the head fc 512 -> ReLU -> fc 256 -> ReLU -> fc classes (no
dropout, as in the notes). The 512x1x1 map goes through a global average pool (a no-op at 32
and 28, which lets larger images through as well); the smallest input is 17x17.
``vgg13_cifar`` is that net under its own name, with the notes' 100 classes (9,824,676
parameters at 3x32x32).

``width`` (default 1, the paper's net) multiplies the filters of every convolution and the
units of the hidden fully-connected layers, rounded (at least 1): d2l's VGG chapter trains
``conv_arch`` with the channels divided by 4 on a CPU, i.e. ``width=0.25`` (16, 32, 64, 128,
128 filters).
"""
from mxnet import init as mx_init
from mxnet.gluon import nn

from ..errors import OptionError
from .common import Classifier, scale_channels
from .registry import check_width, register_model

__all__ = ['VGG', 'vgg_stage', 'vgg11', 'vgg13', 'vgg16', 'vgg19',
           'vgg11_bn', 'vgg13_bn', 'vgg16_bn', 'vgg19_bn', 'vgg13_cifar']

#: convolutions per stage of each configuration of the paper's Table 1
VGG_SPEC = {11: (1, 1, 2, 2, 2), 13: (2, 2, 2, 2, 2), 16: (2, 2, 3, 3, 3), 19: (2, 2, 4, 4, 4)}
VGG_CHANNELS = (64, 128, 256, 512, 512)
VGG_PAPER = ('Simonyan & Zisserman, Very Deep Convolutional Networks for Large-Scale Image '
             'Recognition, ICLR 2015 (arXiv:1409.1556)')


def vgg_stage(num_convs, channels, batch_norm=False, ceil_mode=False, prefix=None):
    """One VGG stage (d2l's ``vgg_block``): ``num_convs`` 3x3 pad-1 convolutions with
    ``channels`` filters, each followed by [BatchNorm and] ReLU, then a 2x2 stride-2 max pool
    (rounding the output size up if ``ceil_mode``)."""
    stage = nn.HybridSequential(prefix=prefix)
    with stage.name_scope():
        for _ in range(num_convs):
            stage.add(nn.Conv2D(channels, kernel_size=3, padding=1))
            if batch_norm:
                stage.add(nn.BatchNorm())
            stage.add(nn.Activation('relu'))
        stage.add(nn.MaxPool2D(pool_size=2, strides=2,
                               ceil_mode=ceil_mode))
    return stage


class VGG(Classifier):
    """VGG (Simonyan & Zisserman, ICLR 2015); see the module docstring.

    ``depth`` is 11, 13, 16 or 19. Input ``(batch, in_channels, 224, 224)``, or with
    ``small_input=True`` ``(batch, in_channels, >=17, >=17)`` (made for 32x32 and 28x28);
    output ``(batch, classes)``. ``features`` holds the five stages, ``output`` the head.

    width : float, default 1 — multiplies every hidden layer's channels (all convolutions and
    the hidden fully-connected layers; d2l's width reduction, e.g. 0.25 for a laptop CPU); 1
    keeps the paper's form.
    """

    def __init__(self, depth=16, classes=1000, in_channels=3, small_input=False,
                 batch_norm=False, width=1.0, **kwargs):
        if depth not in VGG_SPEC:
            raise OptionError(f"VGG depth must be one of {sorted(VGG_SPEC)}, got {depth}")
        check_width(width)
        if small_input:
            super().__init__(in_channels=in_channels, min_size=17,
                             default_init=mx_init.Xavier(), **kwargs)
        else:
            super().__init__(in_channels=in_channels, input_size=(224, 224),
                             default_init=mx_init.Xavier(), **kwargs)
        self.depth = depth
        self.width = width
        with self.name_scope():
            self.features = nn.HybridSequential(prefix='features_')
            for i, (n, c) in enumerate(zip(VGG_SPEC[depth], VGG_CHANNELS), 1):
                self.features.add(vgg_stage(n, scale_channels(c, width), batch_norm,
                                            ceil_mode=small_input, prefix=f'stage{i}_'))
            self.output = nn.HybridSequential(prefix='output_')
            if small_input:
                self.output.add(nn.GlobalAvgPool2D(),
                                nn.Dense(scale_channels(512, width), activation='relu'),
                                nn.Dense(scale_channels(256, width), activation='relu'),
                                nn.Dense(classes))
            else:
                hidden = scale_channels(4096, width)
                self.output.add(nn.Dense(hidden, activation='relu'), nn.Dropout(0.5),
                                nn.Dense(hidden, activation='relu'), nn.Dropout(0.5),
                                nn.Dense(classes))

    def hybrid_forward(self, F, x):
        return self.output(self.features(x))


@register_model(family='vgg', paper=VGG_PAPER, input_shape=(3, 224, 224),
                params=132_863_336, macs=7_622_645_760)
def vgg11(classes: int = 1000, in_channels: int = 3, small_input: bool = False,
          width: float = 1.0) -> VGG:
    """VGG-11 (configuration A).

    ``width``: multiplies every hidden layer's channels (e.g. 0.25 for a laptop CPU; 1 is
    the paper's net).
    """
    return VGG(11, classes, in_channels, small_input, batch_norm=False, width=width)


@register_model(family='vgg', paper=VGG_PAPER, input_shape=(3, 224, 224),
                params=133_047_848, macs=11_326_838_784)
def vgg13(classes: int = 1000, in_channels: int = 3, small_input: bool = False,
          width: float = 1.0) -> VGG:
    """VGG-13 (configuration B).

    ``width``: multiplies every hidden layer's channels (e.g. 0.25 for a laptop CPU; 1 is
    the paper's net).
    """
    return VGG(13, classes, in_channels, small_input, batch_norm=False, width=width)


@register_model(family='vgg', paper=VGG_PAPER, input_shape=(3, 224, 224),
                params=138_357_544, macs=15_489_941_504)
def vgg16(classes: int = 1000, in_channels: int = 3, small_input: bool = False,
          width: float = 1.0) -> VGG:
    """VGG-16 (configuration D).

    ``width``: multiplies every hidden layer's channels (e.g. 0.25 for a laptop CPU; 1 is
    the paper's net).
    """
    return VGG(16, classes, in_channels, small_input, batch_norm=False, width=width)


@register_model(family='vgg', paper=VGG_PAPER, input_shape=(3, 224, 224),
                params=143_667_240, macs=19_653_044_224)
def vgg19(classes: int = 1000, in_channels: int = 3, small_input: bool = False,
          width: float = 1.0) -> VGG:
    """VGG-19 (configuration E).

    ``width``: multiplies every hidden layer's channels (e.g. 0.25 for a laptop CPU; 1 is
    the paper's net).
    """
    return VGG(19, classes, in_channels, small_input, batch_norm=False, width=width)


@register_model(family='vgg', paper=VGG_PAPER, input_shape=(3, 224, 224),
                params=132_868_840, macs=7_637_497_856)
def vgg11_bn(classes: int = 1000, in_channels: int = 3, small_input: bool = False,
             width: float = 1.0) -> VGG:
    """VGG-11 (configuration A) with batch normalisation.

    ``width``: multiplies every hidden layer's channels (e.g. 0.25 for a laptop CPU; 1 is
    the paper's net).
    """
    return VGG(11, classes, in_channels, small_input, batch_norm=True, width=width)


@register_model(family='vgg', paper=VGG_PAPER, input_shape=(3, 224, 224),
                params=133_053_736, macs=11_351_324_672)
def vgg13_bn(classes: int = 1000, in_channels: int = 3, small_input: bool = False,
             width: float = 1.0) -> VGG:
    """VGG-13 (configuration B) with batch normalisation.

    ``width``: multiplies every hidden layer's channels (e.g. 0.25 for a laptop CPU; 1 is
    the paper's net).
    """
    return VGG(13, classes, in_channels, small_input, batch_norm=True, width=width)


@register_model(family='vgg', paper=VGG_PAPER, input_shape=(3, 224, 224),
                params=138_365_992, macs=15_517_036_544)
def vgg16_bn(classes: int = 1000, in_channels: int = 3, small_input: bool = False,
             width: float = 1.0) -> VGG:
    """VGG-16 (configuration D) with batch normalisation.

    ``width``: multiplies every hidden layer's channels (e.g. 0.25 for a laptop CPU; 1 is
    the paper's net).
    """
    return VGG(16, classes, in_channels, small_input, batch_norm=True, width=width)


@register_model(family='vgg', paper=VGG_PAPER, input_shape=(3, 224, 224),
                params=143_678_248, macs=19_682_748_416)
def vgg19_bn(classes: int = 1000, in_channels: int = 3, small_input: bool = False,
             width: float = 1.0) -> VGG:
    """VGG-19 (configuration E) with batch normalisation.

    ``width``: multiplies every hidden layer's channels (e.g. 0.25 for a laptop CPU; 1 is
    the paper's net).
    """
    return VGG(19, classes, in_channels, small_input, batch_norm=True, width=width)


@register_model(family='vgg', paper=VGG_PAPER, input_shape=(3, 32, 32), small_only=True,
                params=9_824_676, macs=229_056_768)
def vgg13_cifar(classes: int = 100, in_channels: int = 3, small_input: bool = True,
                width: float = 1.0) -> VGG:
    """The course notes' VGG-13 for CIFAR-100: five stages, then fc 512-256-classes.

    ``width``: multiplies every hidden layer's channels (e.g. 0.25 for a laptop CPU; 1 is
    the paper's net).
    """
    return VGG(13, classes, in_channels, small_input, width=width)
