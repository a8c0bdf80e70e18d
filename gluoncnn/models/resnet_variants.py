"""The Wide ResNets and ResNeXt: ResNet made wider, or its bottleneck 3x3 convs grouped, built
by :class:`gluoncnn.models.resnet.ResNet` (whose docstring describes the family and its shapes).

Papers
------
- Wide ResNet: S. Zagoruyko, N. Komodakis, "Wide Residual Networks", BMVC 2016 (arXiv:1605.07146).
- ResNeXt: S. Xie, R. Girshick, P. Dollar, Z. Tu, K. He, "Aggregated Residual Transformations
  for Deep Neural Networks", CVPR 2017 (arXiv:1611.05431).

Shapes
------
``wide_resnet50_2``/``wide_resnet101_2`` and the ResNeXts have ResNet-50/101's stages
(256x56x56, 512x28x28, 1024x14x14, 2048x7x7 at 224x224) with wider or grouped bottleneck 3x3
convs; ``wide_resnet_cifar`` (WRN-n-k) has stages of 16k, 32k, 64k channels at 32, 16, 8 for a
32x32 input.
"""
from typing import Optional

from ..errors import OptionError
from .registry import register_model
from .resnet import _CIFAR, _IMAGENET, _IMAGENET_PLANES, Bottleneck, PreActBasicBlock, ResNet

__all__ = ['wide_resnet50_2', 'wide_resnet101_2', 'wide_resnet_cifar', 'wrn28_10',
           'resnext50_32x4d', 'resnext101_32x8d']

WRN = 'Zagoruyko & Komodakis, Wide Residual Networks, BMVC 2016 (arXiv:1605.07146)'
RESNEXT = ('Xie et al., Aggregated Residual Transformations for Deep Neural Networks, '
           'CVPR 2017 (arXiv:1611.05431)')


# Wide ResNets --------------------------------------------------------------------------------
@register_model(family='wide_resnet', paper=WRN, input_shape=_IMAGENET,
                params=68_883_240, macs=11_447_143_424)
def wide_resnet50_2(classes: int = 1000, in_channels: int = 3, small_input: bool = False,
                    stochastic_depth: Optional[float] = None, drop_per_sample: bool = False,
                    zero_init_residual: bool = False) -> ResNet:
    """WRN-50-2: ResNet-50 with bottleneck 3x3 convs twice as wide (as torchvision)."""
    return ResNet(Bottleneck, (3, 4, 6, 3), _IMAGENET_PLANES, width_per_group=128,
                  stride_in_3x3=True, **locals())


@register_model(family='wide_resnet', paper=WRN, input_shape=_IMAGENET,
                params=126_886_696, macs=22_826_056_704)
def wide_resnet101_2(classes: int = 1000, in_channels: int = 3, small_input: bool = False,
                     stochastic_depth: Optional[float] = None, drop_per_sample: bool = False,
                     zero_init_residual: bool = False) -> ResNet:
    """WRN-101-2: ResNet-101 with bottleneck 3x3 convs twice as wide (as torchvision)."""
    return ResNet(Bottleneck, (3, 4, 23, 3), _IMAGENET_PLANES, width_per_group=128,
                  stride_in_3x3=True, **locals())


@register_model(family='wide_resnet', paper=WRN, input_shape=_CIFAR, small_only=True,
                params=37_113_784, macs=5_252_080_640)
def wide_resnet_cifar(classes: int = 1000, in_channels: int = 3, small_input: bool = True,
                      depth: int = 28, widen_factor: int = 10, dropout: float = 0.0,
                      stochastic_depth: Optional[float] = None,
                      drop_per_sample: bool = False) -> ResNet:
    """WRN-depth-k for CIFAR: 3 stages of (depth - 4) / 6 pre-activation basic units with
    16k, 32k, 64k channels; ``dropout`` between the convs (the paper's 0.3)."""
    n, rest = divmod(depth - 4, 6)
    if rest or n < 1:
        raise OptionError(f"a Wide ResNet has depth 6n+4 (e.g. 16, 22, 28, 40), got {depth}")
    k = widen_factor
    return ResNet(PreActBasicBlock, (n, n, n), (16 * k, 32 * k, 64 * k), classes=classes,
                  in_channels=in_channels, small_input=small_input, stem_channels=16,
                  dropout=dropout, stochastic_depth=stochastic_depth,
                  drop_per_sample=drop_per_sample)


@register_model(family='wide_resnet', paper=WRN, input_shape=_CIFAR, small_only=True,
                params=37_113_784, macs=5_252_080_640)
def wrn28_10(classes: int = 1000, in_channels: int = 3, small_input: bool = True,
             dropout: float = 0.0, stochastic_depth: Optional[float] = None,
             drop_per_sample: bool = False) -> ResNet:
    """WRN-28-10 for CIFAR (36,479,194 parameters at 10 classes; the paper's 36.5M)."""
    return wide_resnet_cifar(depth=28, widen_factor=10, **locals())


# ResNeXt -------------------------------------------------------------------------------------
@register_model(family='resnext', paper=RESNEXT, input_shape=_IMAGENET,
                params=25_028_904, macs=4_279_602_176)
def resnext50_32x4d(classes: int = 1000, in_channels: int = 3, small_input: bool = False,
                    stochastic_depth: Optional[float] = None, drop_per_sample: bool = False,
                    zero_init_residual: bool = False) -> ResNet:
    """ResNeXt-50 (32x4d): 3x3 convs of 32 groups of 4 channels per 64 planes (Fig. 3c)."""
    return ResNet(Bottleneck, (3, 4, 6, 3), _IMAGENET_PLANES, groups=32, width_per_group=4,
                  stride_in_3x3=True, **locals())


@register_model(family='resnext', paper=RESNEXT, input_shape=_IMAGENET,
                params=88_791_336, macs=16_516_976_640)
def resnext101_32x8d(classes: int = 1000, in_channels: int = 3, small_input: bool = False,
                     stochastic_depth: Optional[float] = None, drop_per_sample: bool = False,
                     zero_init_residual: bool = False) -> ResNet:
    """ResNeXt-101 (32x8d): 3x3 convs of 32 groups of 8 channels per 64 planes."""
    return ResNet(Bottleneck, (3, 4, 23, 3), _IMAGENET_PLANES, groups=32, width_per_group=8,
                  stride_in_3x3=True, **locals())
