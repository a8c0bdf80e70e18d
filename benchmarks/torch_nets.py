"""PyTorch twins of the gluoncnn nets the epoch benchmark trains, layer for layer.

Each builder mirrors the gluoncnn model with the options ``epoch.py`` uses (1x28x28 inputs, 10
classes); ``epoch.py`` checks that both have the same number of parameters and reports it.
Imported only in the PyTorch benchmark processes (never with MXNet in the same process).
"""
from __future__ import annotations

import torch
from torch import nn


def lenet(in_channels: int = 1, classes: int = 10) -> nn.Module:
    """gluoncnn ``lenet()``: d2l's LeNet-5 with sigmoids and average pooling."""
    return nn.Sequential(
        nn.Conv2d(in_channels, 6, 5, padding=2), nn.Sigmoid(), nn.AvgPool2d(2, 2),
        nn.Conv2d(6, 16, 5), nn.Sigmoid(), nn.AvgPool2d(2, 2), nn.Flatten(),
        nn.Linear(16 * 5 * 5, 120), nn.Sigmoid(), nn.Linear(120, 84), nn.Sigmoid(),
        nn.Linear(84, classes))


class BasicBlock(nn.Module):
    """gluoncnn ``resnet.BasicBlock`` with the 'B' shortcut (1x1 conv + BN when the shape
    changes)."""

    def __init__(self, in_channels: int, planes: int, stride: int = 1) -> None:
        super().__init__()
        self.body = nn.Sequential(
            nn.Conv2d(in_channels, planes, 3, stride, 1, bias=False), nn.BatchNorm2d(planes),
            nn.ReLU(inplace=True), nn.Conv2d(planes, planes, 3, 1, 1, bias=False),
            nn.BatchNorm2d(planes))
        self.shortcut = (nn.Identity() if stride == 1 and in_channels == planes else
                         nn.Sequential(nn.Conv2d(in_channels, planes, 1, stride, bias=False),
                                       nn.BatchNorm2d(planes)))

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        return torch.relu(self.body(x) + self.shortcut(x))


def resnet18(in_channels: int = 1, classes: int = 10) -> nn.Module:
    """gluoncnn ``resnet18(small_input=True)``: a 3x3 stride-1 stem, no pool."""
    layers: list[nn.Module] = [nn.Conv2d(in_channels, 64, 3, 1, 1, bias=False),
                               nn.BatchNorm2d(64), nn.ReLU(inplace=True)]
    width = 64
    for i, planes in enumerate((64, 128, 256, 512)):
        layers += [BasicBlock(width, planes, 1 if i == 0 else 2), BasicBlock(planes, planes)]
        width = planes
    return nn.Sequential(*layers, nn.AdaptiveAvgPool2d(1), nn.Flatten(), nn.Linear(512, classes))


INCEPTION_SPEC = (  # gluoncnn.models.googlenet.INCEPTION_SPEC, stage by stage
    ((64, (96, 128), (16, 32), 32), (128, (128, 192), (32, 96), 64)),
    ((192, (96, 208), (16, 48), 64), (160, (112, 224), (24, 64), 64),
     (128, (128, 256), (24, 64), 64), (112, (144, 288), (32, 64), 64),
     (256, (160, 320), (32, 128), 128)),
    ((256, (160, 320), (32, 128), 128), (384, (192, 384), (48, 128), 128)),
)


class Inception(nn.Module):
    def __init__(self, in_channels: int, c1: int, c2: tuple, c3: tuple, c4: int) -> None:
        super().__init__()
        relu = nn.ReLU(inplace=True)
        self.p1 = nn.Sequential(nn.Conv2d(in_channels, c1, 1), relu)
        self.p2 = nn.Sequential(nn.Conv2d(in_channels, c2[0], 1), relu,
                                nn.Conv2d(c2[0], c2[1], 3, padding=1), relu)
        self.p3 = nn.Sequential(nn.Conv2d(in_channels, c3[0], 1), relu,
                                nn.Conv2d(c3[0], c3[1], 5, padding=2), relu)
        self.p4 = nn.Sequential(nn.MaxPool2d(3, 1, 1), nn.Conv2d(in_channels, c4, 1), relu)
        self.out_channels = c1 + c2[1] + c3[1] + c4

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        return torch.cat((self.p1(x), self.p2(x), self.p3(x), self.p4(x)), dim=1)


def googlenet(in_channels: int = 1, classes: int = 10) -> nn.Module:
    """gluoncnn ``googlenet(small_input=True, aux_logits=False, lrn=False)``: d2l's GoogLeNet
    with a 3x3 stride-1 stem and no first pool."""
    relu = nn.ReLU(inplace=True)
    layers: list[nn.Module] = [nn.Conv2d(in_channels, 64, 3, padding=1), relu,
                               nn.Conv2d(64, 64, 1), relu, nn.Conv2d(64, 192, 3, padding=1),
                               relu, nn.MaxPool2d(3, 2, 1)]
    width = 192
    for stage, specs in enumerate(INCEPTION_SPEC):
        for spec in specs:
            block = Inception(width, *spec)
            layers.append(block)
            width = block.out_channels
        layers.append(nn.AdaptiveAvgPool2d(1) if stage == 2 else nn.MaxPool2d(3, 2, 1))
    return nn.Sequential(*layers, nn.Flatten(), nn.Dropout(0.4), nn.Linear(width, classes))


class DenseLayer(nn.Module):
    def __init__(self, in_channels: int, growth_rate: int, bn_size: int = 4) -> None:
        super().__init__()
        self.body = nn.Sequential(
            nn.BatchNorm2d(in_channels), nn.ReLU(inplace=True),
            nn.Conv2d(in_channels, bn_size * growth_rate, 1, bias=False),
            nn.BatchNorm2d(bn_size * growth_rate), nn.ReLU(inplace=True),
            nn.Conv2d(bn_size * growth_rate, growth_rate, 3, padding=1, bias=False))

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        return torch.cat((x, self.body(x)), dim=1)


def densenet121(in_channels: int = 1, classes: int = 10) -> nn.Module:
    """gluoncnn ``densenet121(small_input=True)``: a 3x3 stride-1 stem conv, then BN-ReLU-conv
    dense layers (k=32), transitions halving channels and size, a final BN-ReLU."""
    width, growth = 64, 32
    layers: list[nn.Module] = [nn.Conv2d(in_channels, width, 3, padding=1, bias=False)]
    for i, count in enumerate((6, 12, 24, 16)):
        for _ in range(count):
            layers.append(DenseLayer(width, growth))
            width += growth
        if i < 3:
            layers += [nn.BatchNorm2d(width), nn.ReLU(inplace=True),
                       nn.Conv2d(width, width // 2, 1, bias=False), nn.AvgPool2d(2, 2)]
            width //= 2
        else:
            layers += [nn.BatchNorm2d(width), nn.ReLU(inplace=True)]
    return nn.Sequential(*layers, nn.AdaptiveAvgPool2d(1), nn.Flatten(), nn.Linear(width, classes))


BUILDERS = {"lenet": lenet, "resnet18": resnet18, "googlenet": googlenet,
            "densenet121": densenet121}
