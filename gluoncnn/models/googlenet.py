"""GoogLeNet (Inception v1), with its auxiliary classifiers.

C. Szegedy, W. Liu, Y. Jia, P. Sermanet, S. Reed, D. Anguelov, D. Erhan, V. Vanhoucke,
A. Rabinovich, "Going Deeper with Convolutions", CVPR 2015.

An Inception block runs four branches side by side and concatenates them on the channel axis:
a 1x1 convolution (``c1``); 1x1 then 3x3 (``c2``); 1x1 then 5x5 (``c3``); 3x3 max pool then 1x1
(``c4``), all with ReLU. The net, in d2l's five stages (shapes at 3x224x224 and, from the
course notes, at 1x96x96)::

    b1  conv 64@7x7/2, maxpool 3/2, LRN                     64x56x56     64x24x24
    b2  conv 64@1x1, conv 192@3x3, LRN, maxpool 3/2         192x28x28    192x12x12
    b3  inception 3a, 3b, maxpool 3/2                       480x14x14    480x6x6
    b4  inception 4a, 4b, 4c, 4d, 4e, maxpool 3/2           832x7x7      832x3x3
    b5  inception 5a, 5b, global average pool               1024x1x1     1024x1x1
    output  dropout 0.4, fully-connected classes

with the paper's Table 1 channels (3a: 64, 96->128, 16->32, 32 ... 5b: 384, 192->384,
48->128, 128). The paper's stem normalises with LRN after the first pool and after the 3x3
convolution (``lrn=True``; d2l leaves it out); its parameters are those of Caffe's
bvlc_googlenet (n=5, alpha=1e-4 in Caffe's convention, i.e. 2e-5 here, beta=0.75, k=1).

Two auxiliary classifiers, on the outputs of 4a (512 channels) and 4d (528 channels), each:
average pool 5x5/3 (4x4 at 224), 1x1 convolution 128 + ReLU, fully-connected 1024 + ReLU,
dropout 0.7, fully-connected classes. With ``aux_logits=True`` (the default) the net returns
``(logits, aux1, aux2)`` while training (``autograd.is_training()``) and ``logits`` otherwise,
hybridized or not; the paper adds the auxiliary losses with weight 0.3
(``gluoncnn.train.fit(aux_weight=0.3)``) and discards the heads at inference. The auxiliary
heads' fully-connected layers get their input size at the first call, training or inference
(the first inference call also runs the heads once, without recording), so after one call every
parameter has its shape and data; train at one input size. ``net.param_counts(shape)`` tells
the inference parameters from the training-only ones without running anything.

Parameters with 1000 classes: 6,998,552 without the auxiliary heads (the paper's Table 1 sums
to about 6.8M: it leaves out biases and counts K as 1024), 13,378,280 with them (6,379,728
used only in training).

d2l's GoogLeNet (the course notes' 001) is ``googlenet(aux_logits=False, lrn=False,
dropout=0.0)``, registered as ``googlenet_d2l``: no LRN, no dropout layer at all, a Dense
classifier after the global pool; 5,977,530 parameters for 10 classes at 1x96x96. torchvision's
googlenet has 6,624,904 (13,004,888 with the aux heads): it adds batch normalisation, drops the
convolution biases and, by a bug kept for its pretrained weights, uses a 3x3 instead of a 5x5
convolution in the third branch.

Inputs: any size with ``aux_logits=False``; with the auxiliary heads the 4a map must be at least
5x5, i.e. the input at least 65x65 (224 in the paper, 96 in d2l). ``small_input=True`` is a
stem for 28x28 / 32x32 images: b1 is a 3x3 stride-1 convolution 64 (+ LRN) without pooling,
so a 28x28 image reaches inception 3a at 14x14, 4a at 7x7 and 5a at 4x4; the smallest input
is then 17x17 with the auxiliary heads. Default initialisation: Glorot (``mx.init.Xavier()``;
the paper gives none, Caffe's bvlc_googlenet uses Xavier).

``width`` (default 1, the paper's net) multiplies the filters of every convolution (the stem's
and every branch of every Inception block) and the auxiliary heads' hidden layers (conv 128,
fc 1024), rounded (at least 1), as d2l narrows its nets for a laptop CPU: at ``width=0.25``
inception 3a has 16, 24->32, 4->8, 8 filters and 5b ends at 256 channels.
"""
import warnings
from functools import partial

from mxnet import autograd, nd
from mxnet import init as mx_init
from mxnet.gluon import nn

from .alexnet import LocalResponseNorm
from .common import Classifier, InputShapeError, scale_channels
from .registry import check_width, register_model

__all__ = ['Inception', 'InceptionAux', 'GoogLeNet', 'googlenet', 'googlenet_d2l']

GOOGLENET_PAPER = ('Szegedy et al., Going Deeper with Convolutions, CVPR 2015 '
                   '(arXiv:1409.4842)')

#: Table 1 of the paper: (#1x1, (#3x3 reduce, #3x3), (#5x5 reduce, #5x5), pool proj)
INCEPTION_SPEC = {
    '3a': (64, (96, 128), (16, 32), 32), '3b': (128, (128, 192), (32, 96), 64),
    '4a': (192, (96, 208), (16, 48), 64), '4b': (160, (112, 224), (24, 64), 64),
    '4c': (128, (128, 256), (24, 64), 64), '4d': (112, (144, 288), (32, 64), 64),
    '4e': (256, (160, 320), (32, 128), 128),
    '5a': (256, (160, 320), (32, 128), 128), '5b': (384, (192, 384), (48, 128), 128),
}


def _spec(block, width=1.0):
    """Inception ``block``'s ``(c1, c2, c3, c4)`` of Table 1, each count times ``width``."""
    c1, c2, c3, c4 = INCEPTION_SPEC[block]
    w = partial(scale_channels, width=width)
    return w(c1), (w(c2[0]), w(c2[1])), (w(c3[0]), w(c3[1])), w(c4)


def _out_channels(block, width=1.0):
    c1, c2, c3, c4 = _spec(block, width)
    return c1 + c2[1] + c3[1] + c4


class Inception(nn.HybridBlock):
    """The Inception block (d2l): four parallel branches concatenated on the channels.

    ``c1``: filters of the 1x1 branch; ``c2 = (reduce, out)``: the 1x1 -> 3x3 branch;
    ``c3 = (reduce, out)``: the 1x1 -> 5x5 branch; ``c4``: filters of the 1x1 after the 3x3
    stride-1 max pool. Output channels ``c1 + c2[1] + c3[1] + c4``; the spatial size is kept.
    """

    def __init__(self, c1, c2, c3, c4, **kwargs):
        super().__init__(**kwargs)
        self.out_channels = c1 + c2[1] + c3[1] + c4
        with self.name_scope():
            self.p1_1 = nn.Conv2D(c1, kernel_size=1, activation='relu')
            self.p2_1 = nn.Conv2D(c2[0], kernel_size=1, activation='relu')
            self.p2_2 = nn.Conv2D(c2[1], kernel_size=3, padding=1, activation='relu')
            self.p3_1 = nn.Conv2D(c3[0], kernel_size=1, activation='relu')
            self.p3_2 = nn.Conv2D(c3[1], kernel_size=5, padding=2, activation='relu')
            self.p4_1 = nn.MaxPool2D(pool_size=3, strides=1, padding=1)
            self.p4_2 = nn.Conv2D(c4, kernel_size=1, activation='relu')

    def hybrid_forward(self, F, x):
        p1 = self.p1_1(x)
        p2 = self.p2_2(self.p2_1(x))
        p3 = self.p3_2(self.p3_1(x))
        p4 = self.p4_2(self.p4_1(x))
        return F.concat(p1, p2, p3, p4, dim=1)


class InceptionAux(nn.HybridBlock):
    """An auxiliary classifier: avgpool 5x5/3, conv 128@1x1 + ReLU, fc 1024 + ReLU,
    dropout 0.7, fc classes (``channels``/``units``: the conv's filters and fc1's units, 128
    and 1024 in the paper). Input ``(batch, in_channels, >=5, >=5)``, output
    ``(batch, classes)``. Only fc1's input size depends on the image size: it is set at the
    first call."""

    def __init__(self, classes, in_channels=0, channels=128, units=1024, **kwargs):
        super().__init__(**kwargs)
        self.channels = channels
        with self.name_scope():
            self.pool = nn.AvgPool2D(pool_size=5, strides=3)
            self.conv = nn.Conv2D(channels, kernel_size=1, activation='relu',
                                  in_channels=in_channels)
            self.fc1 = nn.Dense(units, activation='relu')
            self.dropout = nn.Dropout(0.7)
            self.fc2 = nn.Dense(classes, in_units=units)

    def hybrid_forward(self, F, x):
        return self.fc2(self.dropout(self.fc1(self.conv(self.pool(x)))))


class GoogLeNet(Classifier):
    """GoogLeNet (Szegedy et al., CVPR 2015); see the module docstring.

    Input ``(batch, in_channels, H, W)`` (224 in the paper); output ``(batch, classes)``, or
    ``(logits, aux1, aux2)`` while training when ``aux_logits``. ``features`` holds the five
    stages b1..b5, ``output`` the dropout and the classifier; ``aux1``/``aux2`` are the
    auxiliary heads (``None`` without ``aux_logits``).

    width : float, default 1 — multiplies every hidden layer's channels (the stem, every
    Inception branch, the auxiliary heads' conv and fc1; d2l's width reduction, e.g. 0.25 for
    a laptop CPU); 1 keeps the paper's form.
    """

    def __init__(self, classes=1000, in_channels=3, small_input=False, aux_logits=True,
                 lrn=True, dropout=0.4, width=1.0, **kwargs):
        check_width(width)
        if aux_logits:
            min_size = 17 if small_input else 65  # the aux pool needs a 5x5 map at 4a
        else:
            min_size = 1
        super().__init__(in_channels=in_channels, min_size=min_size,
                         default_init=mx_init.Xavier(), **kwargs)
        self.aux_logits = aux_logits
        self.width = width
        w = partial(scale_channels, width=width)

        def norm():
            return LocalResponseNorm(size=5, alpha=2e-5, beta=0.75, k=1.0)

        with self.name_scope():
            self.features = nn.HybridSequential(prefix='features_')
            b1 = nn.HybridSequential(prefix='b1_')
            with b1.name_scope():
                if small_input:
                    b1.add(nn.Conv2D(w(64), kernel_size=3, padding=1, activation='relu'))
                else:
                    b1.add(nn.Conv2D(w(64), kernel_size=7, strides=2, padding=3,
                                     activation='relu'),
                           nn.MaxPool2D(pool_size=3, strides=2, padding=1))
                if lrn:
                    b1.add(norm())
            b2 = nn.HybridSequential(prefix='b2_')
            with b2.name_scope():
                b2.add(nn.Conv2D(w(64), kernel_size=1, activation='relu'),
                       nn.Conv2D(w(192), kernel_size=3, padding=1, activation='relu'))
                if lrn:
                    b2.add(norm())
                b2.add(nn.MaxPool2D(pool_size=3, strides=2, padding=1))
            self.features.add(b1, b2)
            for stage, blocks in (('b3', ('3a', '3b')), ('b4', ('4a', '4b', '4c', '4d', '4e')),
                                  ('b5', ('5a', '5b'))):
                seq = nn.HybridSequential(prefix=f'{stage}_')
                with seq.name_scope():
                    for name in blocks:
                        seq.add(Inception(*_spec(name, width), prefix=f'inception{name}_'))
                    if stage == 'b5':
                        seq.add(nn.GlobalAvgPool2D())
                    else:
                        seq.add(nn.MaxPool2D(pool_size=3, strides=2, padding=1))
                self.features.add(seq)
            self.output = nn.HybridSequential(prefix='output_')
            self.output.add(nn.Flatten())
            if dropout > 0:
                self.output.add(nn.Dropout(dropout))
            self.output.add(nn.Dense(classes))
            if aux_logits:
                self.aux1 = InceptionAux(classes, _out_channels('4a', width), w(128), w(1024),
                                         prefix='aux1_')
                self.aux2 = InceptionAux(classes, _out_channels('4d', width), w(128), w(1024),
                                         prefix='aux2_')
            else:
                self.aux1 = self.aux2 = None

    def hybrid_forward(self, F, x):
        # the inference graph (also what a hybridized net caches and exports)
        return self.output(self.features(x))

    def forward(self, x, *args):
        if self.aux_logits and isinstance(x, nd.NDArray) and autograd.is_training():
            self.check_input(x.shape)
            return self._forward_with_aux(x)
        if self.aux_logits and isinstance(x, nd.NDArray) and self._aux_shapes_unknown():
            # first call, in inference: run the heads once (not recorded) so that their
            # parameters get their shapes and data too, then the inference graph as always
            self.check_input(x.shape)
            with autograd.pause(train_mode=False):
                self._forward_with_aux(x)
        if self.aux_logits:
            # the inference graph leaves the auxiliary heads out: that is intended
            with warnings.catch_warnings():
                warnings.filterwarnings('ignore', message=r'Parameter \S*aux\d_')
                return super().forward(x, *args)
        return super().forward(x, *args)

    def _aux_shapes_unknown(self):
        return 0 in self.aux1.fc1.weight.shape or 0 in self.aux1.conv.weight.shape

    def training_graph(self, x):
        """The training outputs ``(logits, aux1, aux2)`` (called on a Symbol)."""
        return self._forward_with_aux(x) if self.aux_logits else self(x)

    def _forward_with_aux(self, x):
        """Training with auxiliary heads: stage by stage, each block hybridized if the net is,
        taking the 4a and 4d outputs to the auxiliary classifiers."""
        b1, b2, b3, b4, b5 = self.features
        x = b3(b2(b1(x)))
        x = b4[0](x)                     # inception 4a
        if isinstance(x, nd.NDArray):
            self._check_aux_input(x.shape)
        aux1 = self.aux1(x)
        x = b4[3](b4[2](b4[1](x)))       # 4b, 4c, 4d
        aux2 = self.aux2(x)
        x = b4[5](b4[4](x))              # 4e, maxpool
        return self.output(b5(x)), aux1, aux2

    def infer_shape(self, *args):
        """Deferred shape inference of a hybridized net. Its cached graph is the inference
        graph, which leaves out the auxiliary heads, so MXNet's symbolic inference cannot give
        their parameters a shape: run the training path once instead (without recording), which
        initialises every layer, the heads included, on the way."""
        if not self.aux_logits:
            return super().infer_shape(*args)
        with autograd.pause(train_mode=False):
            self._forward_with_aux(args[0])
        return None

    def _check_aux_input(self, shape):
        h, w = ((s - 5) // 3 + 1 for s in shape[2:])
        built = self.aux1.fc1.weight.shape[1]
        channels = self.aux1.channels
        if built and built != channels * h * w:
            raise InputShapeError(
                f"GoogLeNet's auxiliary heads were built for another training image size "
                f"(their first fully-connected layer takes {built} values, this batch gives "
                f"{channels * h * w}); train at one input size, or build with aux_logits=False")


@register_model(family='googlenet', paper=GOOGLENET_PAPER, input_shape=(3, 224, 224),
                params=6_998_552, macs=1_604_325_168, train_only_params=6_379_728)
def googlenet(classes: int = 1000, in_channels: int = 3, small_input: bool = False,
              aux_logits: bool = True, lrn: bool = True, dropout: float = 0.4,
              width: float = 1.0) -> GoogLeNet:
    """GoogLeNet as in the paper, with LRN and the two auxiliary classifiers.

    Input ``(batch, 3, 224, 224)`` in the paper, any size >= 65 (>= 17 with
    ``small_input=True``; any size without the auxiliary heads). ``aux_logits``: the two
    auxiliary classifiers (training returns ``(logits, aux1, aux2)``); ``lrn``: the stem's two
    local response normalisations (d2l omits them); ``dropout``: the drop rate before the
    final classifier (0: no dropout layer); ``width``: multiplies every hidden layer's channels
    (e.g. 0.25 for a laptop CPU; 1 is the paper's net).
    """
    return GoogLeNet(classes, in_channels, small_input, aux_logits, lrn, dropout, width)


@register_model(family='googlenet', paper=GOOGLENET_PAPER, input_shape=(1, 96, 96),
                params=5_977_530, macs=279_011_248)
def googlenet_d2l(classes: int = 10, in_channels: int = 1,
                  small_input: bool = False, width: float = 1.0) -> GoogLeNet:
    """d2l's GoogLeNet (the course notes' 001): no LRN, no auxiliary heads, no dropout.

    ``width``: multiplies every hidden layer's channels (e.g. 0.25 for a laptop CPU; 1 is
    d2l's net).
    """
    return GoogLeNet(classes, in_channels, small_input, aux_logits=False, lrn=False,
                     dropout=0.0, width=width)
