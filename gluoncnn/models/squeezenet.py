"""SqueezeNet: AlexNet-level accuracy with 50x fewer parameters, built from Fire modules.

Iandola, Han, Moskewicz, Ashraf, Dally and Keutzer, "SqueezeNet: AlexNet-level accuracy with
50x fewer parameters and <0.5MB model size", arXiv:1602.07360, 2016. SqueezeNet 1.1 is from the
authors' repository (github.com/DeepScale/SqueezeNet, v1.1): same Fire modules, a 3x3/64 first
conv and earlier pooling, 2.4x less computation.

A Fire module squeezes its input to ``s1x1`` channels with 1x1 convs, then expands with
``e1x1`` 1x1 convs and ``e3x3`` 3x3 convs side by side (each followed by ReLU) and concatenates
them: ``e1x1 + e3x3`` channels out. There are no fully connected layers: a 1x1 conv gives one
map per class and global average pooling turns each map into a score.

Max pools are 3x3 stride 2 with *ceil* rounding, as in Caffe (MXNet ``ceil_mode=True``), so
in 1.0 a 227x227 input gives 111 (conv1) -> 55 -> 27 -> 13, and a 224x224 input
109 -> 54 -> 27 -> 13 (floor rounding would give 26 and 12 at the last two).

``bypass`` adds the paper's section-6 shortcuts (Fig. 2): ``'simple'`` an identity around
Fire 3, 5, 7 and 9 (input and output channels equal); ``'complex'`` additionally a 1x1 conv
(with bias, as Caffe's default) around Fire 2, 4, 6 and 8. The shortcut is added to the Fire
output (no ReLU after the sum). Simple bypass adds no parameters; complex bypass adds
341,248 in 1.0 (96*128 + 128*256 + 256*384 + 384*512 weights + 1,280 biases) and 337,152 in 1.1
(its Fire 2 input has 64 channels). The paper's Table 3 reports 4.8 MB -> 7.7 MB for complex
bypass, i.e. about 0.75M more 32-bit parameters, which we could not reproduce from the text;
the counts here follow from the architecture as described.

Small-image form (``small_input=True``, for 28x28 / 32x32): the first conv becomes 3x3
stride 1 (padding 1, same channels: 96 in 1.0, 64 in 1.1) and the max pool after it is dropped;
the other two max pools stay. At 32x32 the Fire modules then see 32 -> 16 -> 8 (1.0) and
the final 1x1 conv an 8x8 map; at 28x28, 28 -> 14 -> 7. Everything else (Fire widths,
dropout, the conv classifier) is unchanged, so only the first conv's parameters differ.
"""
from typing import Optional

from mxnet import init as mx_init
from mxnet.gluon import nn

from ..errors import OptionError
from .common import Classifier
from .registry import register_model

__all__ = ['Fire', 'SqueezeNet', 'squeezenet1_0', 'squeezenet1_1']

_BYPASS = (None, 'simple', 'complex')
SQUEEZENET_PAPER = ('Iandola et al.: SqueezeNet: AlexNet-level accuracy with 50x fewer '
                    'parameters and <0.5MB model size, arXiv:1602.07360 (2016)')


class Fire(nn.HybridBlock):
    """Fire module: squeeze 1x1 + ReLU, then expand 1x1 + ReLU || expand 3x3 (pad 1) + ReLU.

    Input ``(N, in_channels, H, W)``, output ``(N, expand1x1 + expand3x3, H, W)``.
    The channel numbers are attributes (``in_channels``, ``squeeze_channels``,
    ``expand1x1_channels``, ``expand3x3_channels``, ``out_channels``) for cost analyses.

    ``shortcut``: None, ``'identity'`` (needs ``in_channels == out_channels``) or ``'conv'``
    (a 1x1 conv to ``out_channels``); the shortcut is added to the concatenated output.
    """

    def __init__(self, in_channels, squeeze_channels, expand1x1_channels, expand3x3_channels,
                 shortcut=None, **kwargs):
        super().__init__(**kwargs)
        self.in_channels = in_channels
        self.squeeze_channels = squeeze_channels
        self.expand1x1_channels = expand1x1_channels
        self.expand3x3_channels = expand3x3_channels
        self.out_channels = expand1x1_channels + expand3x3_channels
        if shortcut not in (None, 'identity', 'conv'):
            raise OptionError(f"shortcut must be None, 'identity' or 'conv', got {shortcut!r}")
        if shortcut == 'identity' and in_channels != self.out_channels:
            raise OptionError(f"an identity shortcut needs in_channels == out_channels, got "
                              f"{in_channels} -> {self.out_channels}; use shortcut='conv'")
        self.shortcut = shortcut
        with self.name_scope():
            self.squeeze = nn.Conv2D(squeeze_channels, 1, in_channels=in_channels,
                                     activation='relu')
            self.expand1x1 = nn.Conv2D(expand1x1_channels, 1, in_channels=squeeze_channels,
                                       activation='relu')
            self.expand3x3 = nn.Conv2D(expand3x3_channels, 3, padding=1,
                                       in_channels=squeeze_channels, activation='relu')
            if shortcut == 'conv':
                self.bypass = nn.Conv2D(self.out_channels, 1, in_channels=in_channels)

    def hybrid_forward(self, F, x):
        s = self.squeeze(x)
        out = F.concat(self.expand1x1(s), self.expand3x3(s), dim=1)
        if self.shortcut == 'identity':
            out = out + x
        elif self.shortcut == 'conv':
            out = out + self.bypass(x)
        return out


# (squeeze, expand1x1, expand3x3) of Fire 2 ... Fire 9, both versions.
_FIRES = [(16, 64, 64), (16, 64, 64), (32, 128, 128), (32, 128, 128),
          (48, 192, 192), (48, 192, 192), (64, 256, 256), (64, 256, 256)]
# The Fire modules after which a max pool comes ('conv1' pool is in the stem).
_POOL_AFTER = {'1.0': (4, 8), '1.1': (3, 5)}


class SqueezeNet(Classifier):
    """SqueezeNet 1.0 / 1.1 (Iandola et al., arXiv:1602.07360, 2016).

    ``features``: ``stem`` (conv1 + ReLU + max pool) and three stages of Fire modules, each
    but the last ending in a max pool. 1.0 at 224x224: conv1 96x109x109, stem 96x54x54,
    Fire 2-4 + pool 256x27x27, Fire 5-8 + pool 512x13x13, Fire 9 512x13x13 (at the paper's
    227x227: 111 -> 55 -> 27 -> 13). 1.1 at 224x224: conv1 64x111x111, stem 64x55x55,
    Fire 2-3 + pool 128x27x27, Fire 4-5 + pool 256x13x13, Fire 6-9 512x13x13.
    ``output``: dropout 0.5, 1x1 conv to ``classes``, ReLU, global average pool, flatten ->
    ``(N, classes)``.

    Initialisation as the authors' Caffe models: Xavier (uniform, fan-in) everywhere, the final
    conv N(0, 0.01), biases 0. Those models take 0-255 pixels minus the mean; on images scaled
    to [0, 1] the activations shrink about 100x through the net and SGD stays at chance, so for
    Fashion-MNIST initialise with ``mx.init.MSRAPrelu()`` and train with Adam (chapter 10).
    """

    def __init__(self, version='1.0', classes=1000, in_channels=3, small_input=False,
                 bypass=None, dropout=0.5, **kwargs):
        if version not in _POOL_AFTER:
            raise OptionError(f"SqueezeNet version must be '1.0' or '1.1', got {version!r}")
        if bypass not in _BYPASS:
            raise OptionError(f"bypass must be None, 'simple' or 'complex', got {bypass!r}")
        # Smallest input every layer takes: MXNet's 3x3/2 ceil pool needs >= 3 pixels in
        # (worked back through the pools and the stem conv; checked in the tests).
        if small_input:
            min_size = 6
        else:
            min_size = 29 if version == '1.0' else 25
        super().__init__(in_channels=in_channels, min_size=min_size,
                         default_init=mx_init.Xavier(rnd_type='uniform', factor_type='in',
                                                     magnitude=3), **kwargs)
        self.version = version
        self.bypass = bypass
        self.small_input = small_input
        stem_channels = 96 if version == '1.0' else 64
        with self.name_scope():
            self.features = nn.HybridSequential(prefix='')
            stem = nn.HybridSequential(prefix='stem_')
            with stem.name_scope():
                if small_input:
                    stem.add(nn.Conv2D(stem_channels, 3, padding=1, in_channels=in_channels,
                                       activation='relu'))
                else:
                    kernel = 7 if version == '1.0' else 3
                    stem.add(nn.Conv2D(stem_channels, kernel, strides=2, in_channels=in_channels,
                                       activation='relu'),
                             nn.MaxPool2D(pool_size=3, strides=2, ceil_mode=True))
            self.features.add(stem)

            channels = stem_channels
            stage = None
            for number, (s, e1, e3) in enumerate(_FIRES, start=2):
                if stage is None:
                    stage = nn.HybridSequential(prefix=f'stage{len(self.features)}_')
                shortcut = None
                if bypass is not None and number % 2 == 1:
                    shortcut = 'identity'  # Fire 3, 5, 7, 9: in == out channels
                elif bypass == 'complex':
                    shortcut = 'conv'      # Fire 2, 4, 6, 8: channels change
                with stage.name_scope():
                    stage.add(Fire(channels, s, e1, e3, shortcut=shortcut, prefix=f'fire{number}_'))
                    channels = e1 + e3
                    if number in _POOL_AFTER[version]:
                        stage.add(nn.MaxPool2D(pool_size=3, strides=2, ceil_mode=True))
                if number in _POOL_AFTER[version] or number == 9:
                    self.features.add(stage)
                    stage = None

            self.output = nn.HybridSequential(prefix='output_')
            with self.output.name_scope():
                self.output.add(nn.Dropout(dropout),
                                nn.Conv2D(classes, 1, in_channels=channels, activation='relu',
                                          weight_initializer=mx_init.Normal(0.01)),
                                nn.GlobalAvgPool2D(), nn.Flatten())

    def fires(self):
        """The Fire modules in order (Fire 2 ... Fire 9)."""
        return [b for stage in self.features for b in stage if isinstance(b, Fire)]

    def hybrid_forward(self, F, x):
        return self.output(self.features(x))


@register_model(family='squeezenet', paper=SQUEEZENET_PAPER, input_shape=(3, 224, 224),
                params=1_248_424, macs=828_417_616)
def squeezenet1_0(classes: int = 1000, in_channels: int = 3, small_input: bool = False,
                  bypass: Optional[str] = None, dropout: float = 0.5) -> SqueezeNet:
    """SqueezeNet 1.0 (the paper's Table 1): a 7x7/2 conv of 96, eight Fire modules.

    Input ``(N, in_channels, 224, 224)`` (paper 227; any size ``>=29``; ``small_input=True``:
    ``>=6``, e.g. 28x28 / 32x32), output ``(N, classes)``. ``bypass``: None, ``'simple'``
    (+0 params) or ``'complex'`` (+341,248 params).
    """
    return SqueezeNet('1.0', classes, in_channels, small_input, bypass, dropout)


@register_model(family='squeezenet', paper=SQUEEZENET_PAPER, input_shape=(3, 224, 224),
                params=1_235_496, macs=354_881_872)
def squeezenet1_1(classes: int = 1000, in_channels: int = 3, small_input: bool = False,
                  bypass: Optional[str] = None, dropout: float = 0.5) -> SqueezeNet:
    """SqueezeNet 1.1 (DeepScale/SqueezeNet v1.1): a 3x3/2 conv of 64, earlier pooling.

    3x3/2 first conv with 64 channels, pools after conv1, Fire 3 and Fire 5.
    Input ``(N, in_channels, 224, 224)`` (any size ``>=25``; ``small_input=True``: ``>=6``),
    output ``(N, classes)``. ``bypass``: None, ``'simple'`` (+0) or ``'complex'`` (+337,152).
    """
    return SqueezeNet('1.1', classes, in_channels, small_input, bypass, dropout)
