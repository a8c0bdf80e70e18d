"""The MXNet model zoo's and GluonCV's classification names, and gluoncnn's net for each.

People arrive with the names of MXNet's model zoo (``mxnet.gluon.model_zoo.vision`` of MXNet
1.9.1: ``resnet18_v1``, ``mobilenet1.0``, ``inceptionv3`` ...) and of GluonCV
(``gluoncv.model_zoo``: ``resnet50_v1b``, ``cifar_resnet20_v1``, ``se_resnet18_v1`` ...). Many
are gluoncnn's own names already (``vgg16_bn``, ``densenet121``, ``resnet18_v2``, ``alexnet``,
``googlenet``, ``resnext50_32x4d``; ``squeezenet1.0`` too: the registry reads dots and dashes
as underscores). The others are in :data:`ZOO_NAMES`, each once:

- **the same architecture** (``same=True``): ``get_model``, ``gluoncnn summary``, ``train
  --model`` ... resolve the name to ours and say so once (``resnet18_v1 (the MXNet model
  zoo's name) is gluoncnn's resnet18``);
- **an architecture gluoncnn builds only with options, or not at all** (``same=False``):
  refused, naming our net nearest in *architecture* (not in spelling) with the options that
  bring it closest (``cifar_wideresnet16_10``: ``wide_resnet_cifar`` with ``depth=16,
  widen_factor=10``): MobileNets are
  depthwise-separable small nets, the nearest here is SqueezeNet 1.1 (Iandola et al., 2016),
  the small efficient net of this course; Inception v3 (Szegedy et al., CVPR 2016) factorises
  the convolutions of Inception v1, which is ``googlenet``.

A zoo ``.params`` file of a ``same`` name loads into ours (:mod:`gluoncnn.models.pretrained`
matches its layers by architecture and says which layouts load exactly, which with biases
folded and which are refused).
"""
from __future__ import annotations

from dataclasses import dataclass, field

__all__ = ['ZooName', 'ZOO_NAMES']

MXNET_ZOO = "the MXNet model zoo's"
GLUONCV = "GluonCV's"


@dataclass(frozen=True)
class ZooName:
    """A model-zoo name (as the zoo spells it), where it comes from, gluoncnn's net for it,
    whether that net is the same architecture, and why or how it differs (``options``: the
    keyword arguments that bring ours closest)."""
    name: str
    source: str
    ours: str
    same: bool
    note: str = ''
    options: dict = field(default_factory=dict)

    def describe_ours(self) -> str:
        """``'resnet50 with stride_in_3x3=True'`` (the net and its options)."""
        options = ', '.join(f"{k}={v!r}" for k, v in self.options.items())
        return self.ours + (f" with {options}" if options else '')


def _names():
    depths = (18, 34, 50, 101, 152)
    bottleneck = depths[2:]
    deep_stem = ("GluonCV's v1b puts a bottleneck's stride on its 3x3 conv (ResNet v1.5); "
                 "v1c, v1d, v1e and v1s also replace the 7x7 stem by three 3x3 convs (v1d, "
                 "v1e: average-pooled shortcuts)")
    input_bn = "GluonCV's also normalises the input image with a BatchNorm, gluoncnn's does not"
    small = ("MobileNets are small nets of depthwise-separable convolutions; SqueezeNet 1.1 is "
             "this course's small efficient net (1x1 squeeze convolutions)")
    folded = ("the zoo's 1x1 convs have biases, redundant before a BatchNorm, which are folded "
              "into it when a zoo file loads")
    yield from (ZooName(f'resnet{d}_v1', MXNET_ZOO, f'resnet{d}', True,
                        folded if d in bottleneck else '') for d in depths)
    yield ZooName('inceptionv3', MXNET_ZOO, 'googlenet', False,
                  "Inception v3 factorises the convolutions of Inception v1 (GoogLeNet)")
    for m in ('0.25', '0.5', '0.75', '1.0'):
        yield ZooName(f'mobilenet{m}', MXNET_ZOO, 'squeezenet1_1', False, small)
        yield ZooName(f'mobilenetv2_{m}', MXNET_ZOO, 'squeezenet1_1', False, small)
    for v in ('large', 'small'):
        yield ZooName(f'mobilenetv3_{v}', GLUONCV, 'squeezenet1_1', False, small)
    for d in depths:
        yield ZooName(f'resnet{d}_v1b', GLUONCV, f'resnet{d}',
                      d not in bottleneck, deep_stem if d in bottleneck else '',
                      {'stride_in_3x3': True} if d in bottleneck else {})
        yield ZooName(f'se_resnet{d}_v1', GLUONCV, f'resnet{d}', False,
                      "the same net without squeeze-and-excitation units")
        yield ZooName(f'se_resnet{d}_v2', GLUONCV, f'resnet{d}_v2', False,
                      "the same net without squeeze-and-excitation units")
    for d in bottleneck:
        for v in 'cdes':
            yield ZooName(f'resnet{d}_v1{v}', GLUONCV, f'resnet{d}', False, deep_stem,
                          {'stride_in_3x3': True})
    for d in (20, 56, 110):
        yield ZooName(f'cifar_resnet{d}_v1', GLUONCV, f'resnet{d}_cifar', True)
        yield ZooName(f'cifar_resnet{d}_v2', GLUONCV, f'resnet{d}_cifar_v2', True, input_bn)
    yield ZooName('cifar_wideresnet28_10', GLUONCV, 'wrn28_10', True, input_bn)
    for depth, k in ((16, 10), (40, 8)):
        yield ZooName(f'cifar_wideresnet{depth}_{k}', GLUONCV, 'wide_resnet_cifar', False,
                      input_bn, {'depth': depth, 'widen_factor': k})
    for width in ('32x4d', '16x64d'):
        yield ZooName(f'cifar_resnext29_{width}', GLUONCV, 'resnext50_32x4d', False,
                      "ResNeXt-29 is a three-stage CIFAR form of ResNeXt, ours the four-stage "
                      "ResNeXt-50 with the small-image stem", {'small_input': True})
    for name in ('resnext101_32x4d', 'resnext101_64x4d'):
        yield ZooName(name, GLUONCV, 'resnext101_32x8d', False,
                      "the same ResNeXt-101 with another cardinality and group width")
    yield ZooName('se_resnext50_32x4d', GLUONCV, 'resnext50_32x4d', False,
                  "the same net without squeeze-and-excitation units")
    for name in ('se_resnext101_32x4d', 'se_resnext101_64x4d', 'senet_154'):
        yield ZooName(name, GLUONCV, 'resnext101_32x8d', False,
                      "a ResNeXt-101 without squeeze-and-excitation units")
    for d, ours in ((50, 'resnext50_32x4d'), (101, 'resnext101_32x8d')):
        yield ZooName(f'resnest{d}', GLUONCV, ours, False,
                      "ResNeSt's split attention is ResNeXt's grouped convolution with "
                      "attention over the groups")
    yield ZooName('xception', GLUONCV, 'googlenet', False,
                  "Xception is an Inception whose modules are depthwise-separable convolutions")


#: Every zoo name that is not gluoncnn's own, by the zoo's spelling.
ZOO_NAMES: dict[str, ZooName] = {z.name: z for z in _names()}
