"""ResNet and its family: ResNet v1 and v2 (pre-activation), the CIFAR ResNets, Wide ResNets,
ResNeXt and stochastic depth, all built by one :class:`ResNet` class (the Wide ResNet and ResNeXt
builders are in :mod:`gluoncnn.models.resnet_variants`).

Papers
------
- ResNet v1: K. He, X. Zhang, S. Ren, J. Sun, "Deep Residual Learning for Image Recognition",
  CVPR 2016 (arXiv:1512.03385).
- ResNet v2: K. He, X. Zhang, S. Ren, J. Sun, "Identity Mappings in Deep Residual Networks",
  ECCV 2016 (arXiv:1603.05027).
- Wide ResNet: S. Zagoruyko, N. Komodakis, "Wide Residual Networks", BMVC 2016 (arXiv:1605.07146).
- ResNeXt: S. Xie, R. Girshick, P. Dollar, Z. Tu, K. He, "Aggregated Residual Transformations
  for Deep Neural Networks", CVPR 2017 (arXiv:1611.05431).
- Stochastic depth: G. Huang, Y. Sun, Z. Liu, D. Sedra, K. Q. Weinberger, "Deep Networks with
  Stochastic Depth", ECCV 2016 (arXiv:1603.09382).

How a net is put together
-------------------------
``net.features`` lists the stages, so their output shapes can be printed one by one::

    stem      conv-BN-ReLU (+ max pool in the ImageNet form)
    stage1    residual units at full resolution
    stage2..  residual units; the first unit of each halves the size (stride 2)
    post      BN-ReLU after the last unit (v2 only: a pre-activation net ends un-activated)
    pool      global average pooling

and ``net.output`` is the ``Dense(classes)`` head. Each residual unit computes
``shortcut(x) + F(x)`` where ``F`` is the residual branch (two 3x3 convs in a basic block,
1x1-3x3-1x1 in a bottleneck).

Choices made here (each is the paper's unless said otherwise)
-------------------------------------------------------------
- Convolutions have no bias (a BN follows or, in v2, precedes them), as in every reference.
- ImageNet shortcuts are option B: identity, or a 1x1 projection when the shape changes.
- Bottleneck stride. The ResNet paper (its Caffe models, and MXNet's ``resnet50_v1``) puts the
  stride-2 of a downsampling bottleneck on the first 1x1 conv; torchvision ("ResNet v1.5"),
  the ResNeXt paper and fb.resnet.torch put it on the 3x3 conv. The parameter count is the same
  either way; v1.5 costs more compute and is ~0.5% better in top-1, since a strided 1x1 conv
  skips three in four input positions. ``resnet50/101/152`` follow their paper by default and
  take ``stride_in_3x3=True`` for v1.5; ResNeXt, the Wide ResNets and v2 (whose papers used
  fb.resnet.torch) stride the 3x3 conv.
- v2 units are BN-ReLU-conv. The first unit follows the stem, which already ends with BN-ReLU,
  so it does not pre-activate again: the ECCV paper (Sec. 3.2) "adopt[s] the first activation
  right after conv1 and before splitting into two paths". MXNet's ``resnet*_v2`` pre-activate
  that unit a second time (one BatchNorm of 64 channels, 128 more trainable parameters) and also
  start with a BatchNorm of the input data (no trainable parameters: it has no scale or shift).
- CIFAR nets (the 6n+2 nets of the ResNet paper, Sec. 4.2) use option A shortcuts by default,
  as the paper: subsample and pad the new channels with zeros, no parameters. GluonCV's
  ``cifar_resnet*`` use projections (``shortcut='B'``).
- Stochastic depth drops the residual branch of unit ``l`` (of ``L``) with survival probability
  ``p_l = 1 - l / L * (1 - p_L)``: in training the branch is kept (gate 1) or dropped (gate 0),
  in inference it is scaled by ``p_l``. The gate is drawn once per mini-batch, as in the paper
  (``drop_per_sample=True`` draws one per image, as timm's ``drop_path``).
- Initialisation: He et al. (ICCV 2015), ``Xavier(rnd_type='gaussian', factor_type='in',
  magnitude=2)`` for conv and dense weights, BN gamma 1 and beta 0. ``zero_init_residual=True``
  (v1 only) starts the last BN of each unit at gamma 0, so each unit starts as the identity
  (Goyal et al., "Accurate, Large Minibatch SGD", 2017); it is not in the ResNet paper and is off
  by default.

Shapes
------
ImageNet form (``small_input=False``; 224x224, any size >= 32): stem 64x56x56, then stages of
64x56x56, 128x28x28, 256x14x14, 512x7x7 (basic units; four times the channels with
bottlenecks: 256, 512, 1024, 2048), output ``(N, classes)``. ``small_input=True`` (3x3 stem,
no max pool; any size >= 8): the stages at 32, 16, 8, 4 for 32x32 and 28, 14, 7, 4 for 28x28.
The CIFAR nets (``*_cifar*``, ``wide_resnet_cifar``, ``wrn28_10``) exist only in that form:
a 3x3 conv with 16 channels, stages of 16, 32, 64 planes (x k for WRN-n-k) at 32, 16, 8 for a
32x32 input (any input >= 4x4). ``shortcut='A'`` (their paper) pads with zeros, 'B' projects
(as GluonCV's cifar_resnet). Every builder's parameters and multiply-adds at its defaults are
in the registry (``gluoncnn list resnet*``, ``model_info(name)``).
"""
from typing import Optional

from mxnet import init as mx_init
from mxnet.gluon import nn

from ..errors import OptionError
from .common import Classifier
from .registry import register_model

__all__ = ['ResNet', 'BasicBlock', 'Bottleneck', 'PreActBasicBlock', 'PreActBottleneck',
           'ZeroPadShortcut', 'StochasticDepth', 'survival_probabilities',
           'resnet18', 'resnet34', 'resnet50', 'resnet101', 'resnet152',
           'resnet18_v2', 'resnet34_v2', 'resnet50_v2', 'resnet101_v2', 'resnet152_v2',
           'resnet20_cifar', 'resnet56_cifar', 'resnet110_cifar',
           'resnet20_cifar_v2', 'resnet56_cifar_v2', 'resnet110_cifar_v2', 'resnet164_cifar_v2']


def _conv3x3(channels, stride, in_channels, groups=1):
    return nn.Conv2D(channels, 3, strides=stride, padding=1, groups=groups, use_bias=False,
                     in_channels=in_channels)


def _conv1x1(channels, stride, in_channels):
    return nn.Conv2D(channels, 1, strides=stride, use_bias=False, in_channels=in_channels)


# ---------------------------------------------------------------------------------------------
# What the residual units share: the shortcut and the stochastic-depth gate
# ---------------------------------------------------------------------------------------------
class ZeroPadShortcut(nn.HybridBlock):
    """Shortcut option A of He et al. (CVPR 2016): keep every ``stride``-th pixel, then append
    zero channels up to ``out_channels``. It has no parameters.

    Input ``(N, in_channels, H, W)``, output ``(N, out_channels, ceil(H/stride), ceil(W/stride))``.
    """

    def __init__(self, in_channels, out_channels, stride, **kwargs):
        super().__init__(**kwargs)
        if not in_channels <= out_channels <= 2 * in_channels:
            raise OptionError(f"option A can at most double the channels (zero padding); got "
                              f"{in_channels} -> {out_channels}: use shortcut='B' (a 1x1 "
                              f"projection)")
        self.extra = out_channels - in_channels
        self.stride = stride

    def hybrid_forward(self, F, x):
        if self.stride > 1:  # a 1x1 max pool with stride s keeps x[:, :, ::s, ::s]
            x = F.Pooling(x, kernel=(1, 1), stride=(self.stride, self.stride), pool_type='max')
        if self.extra == 0:
            return x
        # Both halves of the Concat leave through slice_axis, so mixed precision gives them one
        # dtype: bfloat16 AMP runs slice_axis and zeros_like in float32, and its Concat does
        # not cast its inputs to a common type (float16 AMP's does).
        kept = F.slice_axis(x, axis=1, begin=0, end=None)
        zeros = F.zeros_like(F.slice_axis(x, axis=1, begin=0, end=self.extra))
        return F.concat(kept, zeros, dim=1)


class StochasticDepth(nn.HybridBlock):
    """The gate of stochastic depth (Huang et al., ECCV 2016) on a residual branch ``r``.

    Training: ``r`` is kept whole with probability ``survival`` and else replaced by zeros
    (a Bernoulli gate ``b`` in {0, 1}). Inference: ``survival * r``, the branch's expected value.

    ``Dropout`` whose mask is shared over all axes (or all but the batch axis when
    ``per_sample``) drops the whole branch at once and scales the kept one by 1/survival;
    multiplying by ``survival`` undoes that scale. ``Dropout`` follows the training flag when it
    runs, so this also works in a hybridized (cached) graph. Same shape in and out.
    """

    def __init__(self, survival, per_sample=False, **kwargs):
        super().__init__(**kwargs)
        if not 0.0 < survival <= 1.0:
            raise OptionError(f"survival probability must be in (0, 1], got {survival}")
        self.survival = float(survival)
        self.per_sample = per_sample

    def hybrid_forward(self, F, r):
        axes = (1, 2, 3) if self.per_sample else (0, 1, 2, 3)
        return F.Dropout(r, p=1.0 - self.survival, axes=axes) * self.survival


def survival_probabilities(num_units, final_survival):
    """Linear decay of Huang et al.: ``p_l = 1 - l / L * (1 - p_L)`` for units ``l = 1 .. L``."""
    return [1.0 - unit / num_units * (1.0 - final_survival) for unit in range(1, num_units + 1)]


class _ResidualUnit(nn.HybridBlock):
    """Base of the four units: builds the shortcut and the gate and adds the two paths."""
    expansion = 1  # output channels = planes * expansion
    version = 1    # 1: post-activation (ResNet paper), 2: pre-activation (identity mappings)

    def _add_shortcut_and_gate(self, in_channels, out_channels, stride, shortcut, survival,
                               per_sample):
        self.plain = shortcut == 'none'
        if self.plain or (stride == 1 and in_channels == out_channels):
            self.shortcut = None  # the identity (or, plain, no shortcut at all)
        elif shortcut == 'A':
            self.shortcut = ZeroPadShortcut(in_channels, out_channels, stride)
        elif shortcut == 'B':
            self.shortcut = nn.HybridSequential(prefix='shortcut_')
            with self.shortcut.name_scope():
                self.shortcut.add(_conv1x1(out_channels, stride, in_channels))
                if self.version == 1:  # in v2 the next unit's BN follows the sum
                    self.shortcut.add(nn.BatchNorm(in_channels=out_channels))
        else:
            raise OptionError(f"shortcut must be 'A' (zero padding), 'B' (projection) or "
                              f"'none' (a plain net), got {shortcut!r}")
        self.gate = StochasticDepth(survival, per_sample) if survival < 1.0 else None

    def _sum(self, x, residual):
        """``shortcut(x) + residual``, with the residual branch gated under stochastic depth."""
        if self.gate is not None:
            residual = self.gate(residual)
        if self.plain:
            return residual
        return (x if self.shortcut is None else self.shortcut(x)) + residual


def _relu(F, x):
    """ReLU as MXNet's ``Activation`` operator, as the model zoo writes it: its oneDNN kernel is
    about twice as fast as the plain ``relu`` operator (forward + backward) on the CPU build."""
    return F.Activation(x, act_type='relu')


# ---------------------------------------------------------------------------------------------
# v1 units (He et al., CVPR 2016): conv-BN-ReLU, ReLU after the sum
# ---------------------------------------------------------------------------------------------
class BasicBlock(_ResidualUnit):
    """conv3x3-BN-ReLU-conv3x3-BN, plus the shortcut, then ReLU (ResNet paper, Fig. 2 left).

    Input ``(N, in_channels, H, W)``, output ``(N, planes, H/stride, W/stride)``.
    ``dropout`` (off in the paper) goes between the two convs.
    """

    def __init__(self, in_channels, planes, stride=1, shortcut='B', survival=1.0,
                 per_sample=False, dropout=0.0, zero_init=False, **kwargs):
        super().__init__(**kwargs)
        with self.name_scope():
            self.conv1 = _conv3x3(planes, stride, in_channels)
            self.bn1 = nn.BatchNorm(in_channels=planes)
            self.dropout = nn.Dropout(dropout) if dropout > 0 else None
            self.conv2 = _conv3x3(planes, 1, planes)
            self.bn2 = nn.BatchNorm(in_channels=planes,
                                    gamma_initializer='zeros' if zero_init else 'ones')
            self._add_shortcut_and_gate(in_channels, planes, stride, shortcut, survival,
                                        per_sample)

    def hybrid_forward(self, F, x):
        out = _relu(F, self.bn1(self.conv1(x)))
        if self.dropout is not None:
            out = self.dropout(out)
        out = self.bn2(self.conv2(out))
        return _relu(F, self._sum(x, out))


class Bottleneck(_ResidualUnit):
    """conv1x1-BN-ReLU-conv3x3-BN-ReLU-conv1x1-BN, plus the shortcut, then ReLU (ResNet paper,
    Fig. 5 right). The 3x3 conv has ``groups`` groups (ResNeXt's cardinality) and
    ``width = int(planes * width_per_group / 64) * groups`` channels (``planes`` for ResNet,
    ``2 * planes`` for WRN-50-2); the unit outputs ``4 * planes`` channels.

    Input ``(N, in_channels, H, W)``, output ``(N, 4 * planes, H/stride, W/stride)``. The stride
    is on the first 1x1 conv, or on the 3x3 conv with ``stride_in_3x3`` (see the module notes).
    """
    expansion = 4

    def __init__(self, in_channels, planes, stride=1, shortcut='B', survival=1.0,
                 per_sample=False, groups=1, width_per_group=64, stride_in_3x3=False,
                 zero_init=False, **kwargs):
        super().__init__(**kwargs)
        width = int(planes * width_per_group / 64) * groups
        out_channels = planes * self.expansion
        stride_1x1, stride_3x3 = (1, stride) if stride_in_3x3 else (stride, 1)
        with self.name_scope():
            self.conv1 = _conv1x1(width, stride_1x1, in_channels)
            self.bn1 = nn.BatchNorm(in_channels=width)
            self.conv2 = _conv3x3(width, stride_3x3, width, groups)
            self.bn2 = nn.BatchNorm(in_channels=width)
            self.conv3 = _conv1x1(out_channels, 1, width)
            self.bn3 = nn.BatchNorm(in_channels=out_channels,
                                    gamma_initializer='zeros' if zero_init else 'ones')
            self._add_shortcut_and_gate(in_channels, out_channels, stride, shortcut, survival,
                                        per_sample)

    def hybrid_forward(self, F, x):
        out = _relu(F, self.bn1(self.conv1(x)))
        out = _relu(F, self.bn2(self.conv2(out)))
        out = self.bn3(self.conv3(out))
        return _relu(F, self._sum(x, out))


# ---------------------------------------------------------------------------------------------
# v2 units (He et al., ECCV 2016): BN-ReLU-conv, nothing after the sum
# ---------------------------------------------------------------------------------------------
class PreActBasicBlock(_ResidualUnit):
    """BN-ReLU-conv3x3-BN-ReLU-conv3x3, plus the shortcut (identity mappings paper, Fig. 4e).

    A projection shortcut takes the pre-activated input, an identity shortcut the input itself.
    ``preactivate=False`` is for the first unit, whose input the stem has already activated.
    ``dropout`` between the convs is the Wide ResNet paper's (Sec. 2.4, 0.3 on CIFAR).
    Input ``(N, in_channels, H, W)``, output ``(N, planes, H/stride, W/stride)``.
    """
    version = 2

    def __init__(self, in_channels, planes, stride=1, shortcut='B', survival=1.0,
                 per_sample=False, dropout=0.0, preactivate=True, **kwargs):
        super().__init__(**kwargs)
        with self.name_scope():
            self.bn1 = nn.BatchNorm(in_channels=in_channels) if preactivate else None
            self.conv1 = _conv3x3(planes, stride, in_channels)
            self.bn2 = nn.BatchNorm(in_channels=planes)
            self.dropout = nn.Dropout(dropout) if dropout > 0 else None
            self.conv2 = _conv3x3(planes, 1, planes)
            self._add_shortcut_and_gate(in_channels, planes, stride, shortcut, survival,
                                        per_sample)

    def hybrid_forward(self, F, x):
        act = x if self.bn1 is None else _relu(F, self.bn1(x))
        out = self.conv1(act)
        out = _relu(F, self.bn2(out))
        if self.dropout is not None:
            out = self.dropout(out)
        out = self.conv2(out)
        return self._sum(x if self.shortcut is None else act, out)


class PreActBottleneck(_ResidualUnit):
    """BN-ReLU-conv1x1-BN-ReLU-conv3x3-BN-ReLU-conv1x1, plus the shortcut (identity mappings
    paper). The stride is on the 3x3 conv. Input ``(N, in_channels, H, W)``, output
    ``(N, 4 * planes, H/stride, W/stride)``; ``preactivate`` as in :class:`PreActBasicBlock`.
    """
    expansion = 4
    version = 2

    def __init__(self, in_channels, planes, stride=1, shortcut='B', survival=1.0,
                 per_sample=False, groups=1, width_per_group=64, preactivate=True, **kwargs):
        super().__init__(**kwargs)
        width = int(planes * width_per_group / 64) * groups
        out_channels = planes * self.expansion
        with self.name_scope():
            self.bn1 = nn.BatchNorm(in_channels=in_channels) if preactivate else None
            self.conv1 = _conv1x1(width, 1, in_channels)
            self.bn2 = nn.BatchNorm(in_channels=width)
            self.conv2 = _conv3x3(width, stride, width, groups)
            self.bn3 = nn.BatchNorm(in_channels=width)
            self.conv3 = _conv1x1(out_channels, 1, width)
            self._add_shortcut_and_gate(in_channels, out_channels, stride, shortcut, survival,
                                        per_sample)

    def hybrid_forward(self, F, x):
        act = x if self.bn1 is None else _relu(F, self.bn1(x))
        out = self.conv1(act)
        out = self.conv2(_relu(F, self.bn2(out)))
        out = self.conv3(_relu(F, self.bn3(out)))
        return self._sum(x if self.shortcut is None else act, out)


# ---------------------------------------------------------------------------------------------
# The net
# ---------------------------------------------------------------------------------------------
class ResNet(Classifier):
    """A residual network: stem, stages of residual units, (v2: BN-ReLU), global pool, Dense.

    Parameters
    ----------
    block : BasicBlock, Bottleneck, PreActBasicBlock or PreActBottleneck (the class).
    layers : units per stage, e.g. ``(2, 2, 2, 2)`` for ResNet-18, ``(18, 18, 18)`` for ResNet-110.
    channels : ``planes`` per stage, e.g. ``(64, 128, 256, 512)``; a stage outputs
        ``planes * block.expansion`` channels.
    classes, in_channels : classes of the head, channels of the input images.
    small_input : False: the ImageNet stem, 7x7 conv stride 2 then 3x3 max pool stride 2 (total
        stride 32: 224 -> 7). True: a 3x3 conv stride 1 and no pool (total stride 8 with four
        stages: 32 -> 4, 28 -> 4), the form for CIFAR and Fashion-MNIST.
    stem_channels : output channels of the stem conv (64 on ImageNet, 16 in the CIFAR nets).
    shortcut : 'B' (identity or 1x1 projection) or 'A' (identity or subsample + zero padding);
        'none' builds the paper's plain baseline of the same layers (Sec. 4.1-4.2: the
        degradation problem), every unit its two convolutions and nothing added.
    groups, width_per_group : the bottleneck's 3x3 conv (ResNeXt cardinality and width).
    stride_in_3x3 : v1 bottleneck only: stride on the 3x3 conv ("v1.5") instead of the 1x1.
    dropout : basic blocks only: dropout rate between the two 3x3 convs (Wide ResNet).
    stochastic_depth : None, or the survival probability ``p_L`` of the last unit (0.5 in Huang
        et al.); unit ``l`` of ``L`` survives with ``1 - l / L * (1 - p_L)``.
    drop_per_sample : draw the stochastic-depth gate per image instead of per mini-batch.
    zero_init_residual : v1 only: start the last BN gamma of every unit at 0 (Goyal et al.).

    Input ``(N, in_channels, H, W)`` with ``H, W >= min_size``; output ``(N, classes)`` logits.
    """

    def __init__(self, block, layers, channels, classes=1000, in_channels=3, small_input=False,
                 stem_channels=64, shortcut='B', groups=1, width_per_group=64,
                 stride_in_3x3=False, dropout=0.0, stochastic_depth=None, drop_per_sample=False,
                 zero_init_residual=False, **kwargs):
        if len(layers) != len(channels):
            raise OptionError(f"layers {layers} and channels {channels} need one entry per stage")
        bottleneck = block.expansion > 1
        if not bottleneck and (groups != 1 or width_per_group != 64):
            raise OptionError("groups and width_per_group belong to bottleneck units; "
                              "BasicBlock has no grouped conv")
        if bottleneck and dropout > 0:
            raise OptionError("dropout between convs is for basic blocks (Wide ResNet)")
        if block.version == 2 and (zero_init_residual or stride_in_3x3):
            raise OptionError("zero_init_residual and stride_in_3x3 are options of v1 units; "
                              "v2 units end with a conv and stride their 3x3 conv already")
        if stochastic_depth is not None and not 0.0 < stochastic_depth <= 1.0:
            raise OptionError(f"stochastic_depth is the last unit's survival probability p_L, "
                              f"in (0, 1] (the paper uses 0.5); got {stochastic_depth}")
        num_stages = len(layers)
        total_stride = 2 ** (num_stages - 1) * (1 if small_input else 4)
        super().__init__(in_channels=in_channels, min_size=total_stride,
                         default_init=mx_init.Xavier(rnd_type='gaussian', factor_type='in',
                                                     magnitude=2), **kwargs)
        self.block = block
        self.layers = tuple(layers)
        self.small_input = small_input

        num_units = sum(layers)
        survival = (survival_probabilities(num_units, stochastic_depth)
                    if stochastic_depth is not None else [1.0] * num_units)
        unit_options = dict(shortcut=shortcut, per_sample=drop_per_sample)
        if bottleneck:
            unit_options.update(groups=groups, width_per_group=width_per_group)
        else:
            unit_options.update(dropout=dropout)
        if block.version == 1:
            unit_options.update(zero_init=zero_init_residual)
            if bottleneck:
                unit_options.update(stride_in_3x3=stride_in_3x3)

        with self.name_scope():
            self.features = nn.HybridSequential(prefix='')
            stem = nn.HybridSequential(prefix='stem_')
            with stem.name_scope():
                if small_input:
                    stem.add(_conv3x3(stem_channels, 1, in_channels))
                else:
                    stem.add(nn.Conv2D(stem_channels, 7, strides=2, padding=3, use_bias=False,
                                       in_channels=in_channels))
                stem.add(nn.BatchNorm(in_channels=stem_channels), nn.Activation('relu'))
                if not small_input:
                    stem.add(nn.MaxPool2D(pool_size=3, strides=2, padding=1))
            self.features.add(stem)

            width, unit = stem_channels, 0
            for i, (num, planes) in enumerate(zip(layers, channels)):
                stage = nn.HybridSequential(prefix=f'stage{i + 1}_')
                with stage.name_scope():
                    for j in range(num):
                        options = dict(unit_options)
                        if block.version == 2 and unit == 0:
                            options.update(preactivate=False)  # the stem ended with BN-ReLU
                        stage.add(block(width, planes, stride=2 if i > 0 and j == 0 else 1,
                                        survival=survival[unit], **options))
                        width, unit = planes * block.expansion, unit + 1
                self.features.add(stage)

            if block.version == 2:
                post = nn.HybridSequential(prefix='post_')
                with post.name_scope():
                    post.add(nn.BatchNorm(in_channels=width), nn.Activation('relu'))
                self.features.add(post)
            self.features.add(nn.GlobalAvgPool2D())
            self.output = nn.Dense(classes, in_units=width)

    def units(self):
        """The residual units, in order (``unit.gate.survival`` under stochastic depth)."""
        return [unit for stage in self.features if isinstance(stage, nn.HybridSequential)
                for unit in stage if isinstance(unit, _ResidualUnit)]

    def hybrid_forward(self, F, x):
        return self.output(self.features(x))


# ---------------------------------------------------------------------------------------------
# Builders
# ---------------------------------------------------------------------------------------------
_IMAGENET_PLANES = (64, 128, 256, 512)
_DEPTHS = {18: (BasicBlock, (2, 2, 2, 2)), 34: (BasicBlock, (3, 4, 6, 3)),
           50: (Bottleneck, (3, 4, 6, 3)), 101: (Bottleneck, (3, 4, 23, 3)),
           152: (Bottleneck, (3, 8, 36, 3))}
_PREACT = {BasicBlock: PreActBasicBlock, Bottleneck: PreActBottleneck}
_IMAGENET = (3, 224, 224)
_CIFAR = (3, 32, 32)
RESNET_V1 = 'He et al., Deep Residual Learning for Image Recognition, CVPR 2016 (arXiv:1512.03385)'
RESNET_V2 = 'He et al., Identity Mappings in Deep Residual Networks, ECCV 2016 (arXiv:1603.05027)'


def _imagenet_resnet(depth, version, classes, in_channels, small_input, **options):
    block, layers = _DEPTHS[depth]
    if version == 2:
        block = _PREACT[block]
    return ResNet(block, layers, _IMAGENET_PLANES, classes=classes, in_channels=in_channels,
                  small_input=small_input, **options)


@register_model(family='resnet', paper=RESNET_V1, input_shape=_IMAGENET,
                params=11_689_512, macs=1_823_932_928)
def resnet18(classes: int = 1000, in_channels: int = 3, small_input: bool = False,
             stochastic_depth: Optional[float] = None, drop_per_sample: bool = False,
             zero_init_residual: bool = False) -> ResNet:
    """ResNet-18: v1, basic blocks (2, 2, 2, 2)."""
    return _imagenet_resnet(18, 1, **locals())


@register_model(family='resnet', paper=RESNET_V1, input_shape=_IMAGENET,
                params=21_797_672, macs=3_678_011_392)
def resnet34(classes: int = 1000, in_channels: int = 3, small_input: bool = False,
             stochastic_depth: Optional[float] = None, drop_per_sample: bool = False,
             zero_init_residual: bool = False) -> ResNet:
    """ResNet-34: v1, basic blocks (3, 4, 6, 3)."""
    return _imagenet_resnet(34, 1, **locals())


@register_model(family='resnet', paper=RESNET_V1, input_shape=_IMAGENET,
                params=25_557_032, macs=3_895_655_424)
def resnet50(classes: int = 1000, in_channels: int = 3, small_input: bool = False,
             stochastic_depth: Optional[float] = None, drop_per_sample: bool = False,
             zero_init_residual: bool = False, stride_in_3x3: bool = False) -> ResNet:
    """ResNet-50: v1, bottlenecks (3, 4, 6, 3); ``stride_in_3x3=True`` is v1.5."""
    return _imagenet_resnet(50, 1, **locals())


@register_model(family='resnet', paper=RESNET_V1, input_shape=_IMAGENET,
                params=44_549_160, macs=7_626_642_432)
def resnet101(classes: int = 1000, in_channels: int = 3, small_input: bool = False,
              stochastic_depth: Optional[float] = None, drop_per_sample: bool = False,
              zero_init_residual: bool = False, stride_in_3x3: bool = False) -> ResNet:
    """ResNet-101: v1, bottlenecks (3, 4, 23, 3); ``stride_in_3x3=True`` is v1.5."""
    return _imagenet_resnet(101, 1, **locals())


@register_model(family='resnet', paper=RESNET_V1, input_shape=_IMAGENET,
                params=60_192_808, macs=11_362_044_928)
def resnet152(classes: int = 1000, in_channels: int = 3, small_input: bool = False,
              stochastic_depth: Optional[float] = None, drop_per_sample: bool = False,
              zero_init_residual: bool = False, stride_in_3x3: bool = False) -> ResNet:
    """ResNet-152: v1, bottlenecks (3, 8, 36, 3); ``stride_in_3x3=True`` is v1.5."""
    return _imagenet_resnet(152, 1, **locals())


@register_model(family='resnet', paper=RESNET_V2, input_shape=_IMAGENET,
                params=11_687_720, macs=1_823_581_696)
def resnet18_v2(classes: int = 1000, in_channels: int = 3, small_input: bool = False,
                stochastic_depth: Optional[float] = None,
                drop_per_sample: bool = False) -> ResNet:
    """ResNet-18 v2: pre-activation basic blocks (2, 2, 2, 2)."""
    return _imagenet_resnet(18, 2, **locals())


@register_model(family='resnet', paper=RESNET_V2, input_shape=_IMAGENET,
                params=21_795_880, macs=3_677_660_160)
def resnet34_v2(classes: int = 1000, in_channels: int = 3, small_input: bool = False,
                stochastic_depth: Optional[float] = None,
                drop_per_sample: bool = False) -> ResNet:
    """ResNet-34 v2: pre-activation basic blocks (3, 4, 6, 3)."""
    return _imagenet_resnet(34, 2, **locals())


@register_model(family='resnet', paper=RESNET_V2, input_shape=_IMAGENET,
                params=25_549_352, macs=4_125_436_416)
def resnet50_v2(classes: int = 1000, in_channels: int = 3, small_input: bool = False,
                stochastic_depth: Optional[float] = None,
                drop_per_sample: bool = False) -> ResNet:
    """ResNet-50 v2: pre-activation bottlenecks (3, 4, 6, 3)."""
    return _imagenet_resnet(50, 2, **locals())


@register_model(family='resnet', paper=RESNET_V2, input_shape=_IMAGENET,
                params=44_541_480, macs=7_856_423_424)
def resnet101_v2(classes: int = 1000, in_channels: int = 3, small_input: bool = False,
                 stochastic_depth: Optional[float] = None,
                 drop_per_sample: bool = False) -> ResNet:
    """ResNet-101 v2: pre-activation bottlenecks (3, 4, 23, 3)."""
    return _imagenet_resnet(101, 2, **locals())


@register_model(family='resnet', paper=RESNET_V2, input_shape=_IMAGENET,
                params=60_185_128, macs=11_591_825_920)
def resnet152_v2(classes: int = 1000, in_channels: int = 3, small_input: bool = False,
                 stochastic_depth: Optional[float] = None,
                 drop_per_sample: bool = False) -> ResNet:
    """ResNet-152 v2: pre-activation bottlenecks (3, 8, 36, 3)."""
    return _imagenet_resnet(152, 2, **locals())


# The CIFAR nets ------------------------------------------------------------------------------
def _cifar_resnet(depth, block, classes, in_channels, small_input, shortcut='B', **options):
    """The CIFAR nets of the ResNet paper (Sec. 4.2): a 3x3 conv with 16 channels, three stages
    of n units with 16/32/64 planes, global pool, Dense. Basic units: depth = 6n + 2;
    bottlenecks (ResNet-164 of the identity mappings paper): depth = 9n + 2."""
    per_unit = 3 if block.expansion > 1 else 2
    n, rest = divmod(depth - 2, 3 * per_unit)
    if rest or n < 1:
        raise OptionError(f"a CIFAR ResNet of {block.__name__} units has depth "
                          f"{3 * per_unit}n+2, got {depth}")
    return ResNet(block, (n, n, n), (16, 32, 64), classes=classes, in_channels=in_channels,
                  small_input=small_input, stem_channels=16, shortcut=shortcut, **options)


@register_model(family='resnet', paper=RESNET_V1, input_shape=_CIFAR, small_only=True,
                params=334_072, macs=41_275_904)
def resnet20_cifar(classes: int = 1000, in_channels: int = 3, small_input: bool = True,
                   shortcut: str = 'A', stochastic_depth: Optional[float] = None,
                   drop_per_sample: bool = False, zero_init_residual: bool = False) -> ResNet:
    """ResNet-20 for CIFAR: 3 stages of 3 basic units (269,722 parameters at 10 classes)."""
    return _cifar_resnet(20, BasicBlock, **locals())


@register_model(family='resnet', paper=RESNET_V1, input_shape=_CIFAR, small_only=True,
                params=917_368, macs=127_414_784)
def resnet56_cifar(classes: int = 1000, in_channels: int = 3, small_input: bool = True,
                   shortcut: str = 'A', stochastic_depth: Optional[float] = None,
                   drop_per_sample: bool = False, zero_init_residual: bool = False) -> ResNet:
    """ResNet-56 for CIFAR: 3 stages of 9 basic units (853,018 parameters at 10 classes)."""
    return _cifar_resnet(56, BasicBlock, **locals())


@register_model(family='resnet', paper=RESNET_V1, input_shape=_CIFAR, small_only=True,
                params=1_792_312, macs=256_623_104)
def resnet110_cifar(classes: int = 1000, in_channels: int = 3, small_input: bool = True,
                    shortcut: str = 'A', stochastic_depth: Optional[float] = None,
                    drop_per_sample: bool = False, zero_init_residual: bool = False) -> ResNet:
    """ResNet-110 for CIFAR: 3 stages of 18 basic units (1,727,962 parameters at 10 classes);
    with ``stochastic_depth=0.5`` the net of Huang et al., ECCV 2016."""
    return _cifar_resnet(110, BasicBlock, **locals())


@register_model(family='resnet', paper=RESNET_V2, input_shape=_CIFAR, small_only=True,
                params=336_632, macs=41_531_904)
def resnet20_cifar_v2(classes: int = 1000, in_channels: int = 3, small_input: bool = True,
                      stochastic_depth: Optional[float] = None,
                      drop_per_sample: bool = False) -> ResNet:
    """Pre-activation ResNet-20 for CIFAR: 3 stages of 3 basic units."""
    return _cifar_resnet(20, PreActBasicBlock, **locals())


@register_model(family='resnet', paper=RESNET_V2, input_shape=_CIFAR, small_only=True,
                params=919_928, macs=127_670_784)
def resnet56_cifar_v2(classes: int = 1000, in_channels: int = 3, small_input: bool = True,
                      stochastic_depth: Optional[float] = None,
                      drop_per_sample: bool = False) -> ResNet:
    """Pre-activation ResNet-56 for CIFAR: 3 stages of 9 basic units."""
    return _cifar_resnet(56, PreActBasicBlock, **locals())


@register_model(family='resnet', paper=RESNET_V2, input_shape=_CIFAR, small_only=True,
                params=1_794_872, macs=256_879_104)
def resnet110_cifar_v2(classes: int = 1000, in_channels: int = 3, small_input: bool = True,
                       stochastic_depth: Optional[float] = None,
                       drop_per_sample: bool = False) -> ResNet:
    """Pre-activation ResNet-110 for CIFAR: 3 stages of 18 basic units."""
    return _cifar_resnet(110, PreActBasicBlock, **locals())


@register_model(family='resnet', paper=RESNET_V2, input_shape=_CIFAR, small_only=True,
                params=1_957_688, macs=259_430_400)
def resnet164_cifar_v2(classes: int = 1000, in_channels: int = 3, small_input: bool = True,
                       stochastic_depth: Optional[float] = None,
                       drop_per_sample: bool = False) -> ResNet:
    """Pre-activation ResNet-164 for CIFAR: 3 stages of 18 bottlenecks (64/128/256 channels)."""
    return _cifar_resnet(164, PreActBottleneck, **locals())
