"""FractalNet: very deep networks from a self-similar expansion rule, with no residuals.

Larsson, Maire and Shakhnarovich, "FractalNet: Ultra-Deep Neural Networks without Residuals",
ICLR 2017 (arXiv:1605.07648).

The expansion rule builds a block of C columns::

    f_1(z)     = conv(z)
    f_{C+1}(z) = join( f_C(f_C(z)), conv(z) )        join = element-wise mean

so column i (i = 0 ... C-1, shallowest first) is a chain of 2^i conv units (3x3 conv, BN,
ReLU), a block has 2^C - 1 conv units, and its deepest path 2^(C-1). Unrolled, the block is a
grid of 2^(C-1) rows: the deepest column has a conv in every row, column i one every
2^(C-1-i) rows, and the columns that end a conv in the same row are joined there. Joins that
meet at the same row are one multi-input mean (Fig. 1 of the paper, and the authors' Caffe
generator): for C=4 the rows 2, 4, 6, 8 hold joins of 2, 3, 2 and 4 inputs.

A network stacks B blocks, each followed by a 2x2 max pool (the paper's CIFAR net: B=5, C=4,
widths 64-128-256-512-512, 32x32 -> 1x1, 40 conv layers on the deepest path), then a linear
classifier. (The authors' Caffe nets pool each column before the block's last join "for
convenience"; here the join comes first, as the paper defines the block.)

Drop-path (paper section 3.1), only in training:

- local: every join drops each of its inputs with probability ``drop_path`` (0.15), keeping at
  least one; the mean is taken over the kept inputs;
- global: one column is chosen for the whole network, and every join keeps only that column,
  so the mini-batch trains a plain chain network (one column of every block).

Each mini-batch is global with probability ``global_drop`` (0.5: the paper's 50/50 mix) and
local otherwise. In inference every join is the plain mean.

How it works hybridized: :meth:`FractalNet.forward` (plain Python, run on every call) draws the
masks with MXNet's CPU generator (``mx.random.seed`` makes it repeatable) when
``autograd.is_training()`` is true, and passes one small array of join weights per block into
the graph as extra inputs; the cached graph only multiplies and adds. So the training flag is
read at every call, never frozen into the graph. :meth:`FractalNet.sample_drop_path` returns the
0/1 masks themselves, for inspection; ``net.eval_column = i`` makes inference use column ``i``
alone (the paper also reports the deepest column on its own).
Called on a ``Symbol`` (``net(mx.sym.var('data'))``), the joins are plain means. A hybridized
net saved with ``export()`` has 1 + B inputs: ``data0`` (the images) and ``data1`` ... ``dataB``
(each block's ``(joins, columns)`` join weights; rows of ``1/n`` over a join's n inputs give
the inference net); :func:`gluoncnn.export.export_model` (``gluoncnn export``, also to ONNX)
writes the graph called on a Symbol instead: one input, every join the plain mean. Inside
another block that is hybridized, the net is called on Symbols, so
drop-path is off there: train a FractalNet as the top-level block.
"""
from collections.abc import Sequence
from typing import Optional, Union

import numpy as np
from mxnet import autograd, cpu, nd
from mxnet import init as mx_init
from mxnet.gluon import nn

from ..errors import OptionError
from .common import Classifier
from .registry import register_model

__all__ = ['ConvUnit', 'FractalBlock', 'FractalNet', 'fractalnet', 'fractalnet34']

CIFAR_CHANNELS = (64, 128, 256, 512, 512)
FRACTALNET_PAPER = ('Larsson, Maire & Shakhnarovich: FractalNet: Ultra-Deep Neural Networks '
                    'without Residuals, ICLR 2017 (arXiv:1605.07648)')


def _uniform(*shape):
    """Samples of U[0, 1) from MXNet's generator, so ``mx.random.seed`` fixes the draws."""
    return nd.random.uniform(shape=shape, ctx=cpu()).asnumpy()


def _pick(n):
    """A random integer in 0 ... n-1."""
    return min(int(_uniform(1)[0] * n), n - 1)


class ConvUnit(nn.HybridSequential):
    """3x3 conv (stride 1, pad 1) [- dropout] - BN - ReLU, the paper's unit ("conv")."""

    def __init__(self, in_channels, channels, dropout=0.0, **kwargs):
        super().__init__(**kwargs)
        with self.name_scope():
            self.add(nn.Conv2D(channels, 3, padding=1, use_bias=False, in_channels=in_channels))
            if dropout:
                self.add(nn.Dropout(dropout))  # the authors' order: conv - dropout - BN - ReLU
            self.add(nn.BatchNorm(in_channels=channels), nn.Activation('relu'))


def join_table(columns):
    """The joins of a ``columns``-column block, in order: one tuple of column indices per join.

    >>> join_table(4)
    [(2, 3), (1, 2, 3), (2, 3), (0, 1, 2, 3)]
    """
    rows = 2 ** (columns - 1)
    table = []
    for row in range(1, rows + 1):
        ending = tuple(i for i in range(columns) if row % 2 ** (columns - 1 - i) == 0)
        if len(ending) > 1:
            table.append(ending)
    return table


class FractalBlock(nn.HybridBlock):
    """A fractal block f_C of ``columns`` columns of :class:`ConvUnit`, optionally + 2x2 max pool.

    Input ``(N, in_channels, H, W)``; output ``(N, channels, H, W)``, or ``H//2 x W//2`` with
    ``pool=True``. ``self.column_units[i]`` holds column i's 2^i units. ``hybrid_forward(x,
    weights)`` takes the join weights as a ``(joins, columns)`` array (row j: the weight of each
    column's input in join j, summing to 1); without it every join is the plain mean.
    """

    def __init__(self, in_channels, channels, columns, dropout=0.0, pool=True, **kwargs):
        super().__init__(**kwargs)
        if columns < 1:
            raise OptionError(f"a fractal block needs columns >= 1, got {columns}")
        self.columns = columns
        self.rows = 2 ** (columns - 1)
        self.joins = join_table(columns)
        with self.name_scope():
            self.column_units = nn.HybridSequential(prefix='')  # a container, not run in sequence
            for i in range(columns):
                column = nn.HybridSequential(prefix=f'column{i}_')
                with column.name_scope():
                    for k in range(2 ** i):
                        column.add(ConvUnit(in_channels if k == 0 else channels, channels,
                                            dropout))
                self.column_units.add(column)
            self.pool = nn.MaxPool2D(pool_size=2, strides=2) if pool else None

    def conv_layers(self):
        """Number of conv units in the block: 2^C - 1."""
        return sum(len(column) for column in self.column_units)

    def hybrid_forward(self, F, x, weights=None):
        latest = [x] * self.columns       # the newest signal of every column
        done = [0] * self.columns         # conv units applied so far in every column
        j = 0
        for row in range(1, self.rows + 1):
            ending = [i for i in range(self.columns) if row % 2 ** (self.columns - 1 - i) == 0]
            for i in ending:
                latest[i] = self.column_units[i][done[i]](latest[i])
                done[i] += 1
            if len(ending) > 1:           # join: a (weighted) mean of the columns ending here
                if weights is None:
                    joined = F.add_n(*[latest[i] for i in ending]) / len(ending)
                else:
                    joined = F.add_n(*[F.broadcast_mul(latest[i], F.reshape(
                        F.slice(weights, begin=(j, i), end=(j + 1, i + 1)), shape=(1, 1, 1, 1)))
                        for i in ending])
                for i in ending:
                    latest[i] = joined
                j += 1
        out = latest[0]                   # after the last row all columns are joined
        return self.pool(out) if self.pool is not None else out


class FractalNet(Classifier):
    """FractalNet of Larsson et al. (ICLR 2017), CIFAR or ImageNet layout.

    ``features``: [``stem`` (ImageNet layout only: 7x7/2 conv, BN, ReLU, 3x3/2 max pool, as in
    ResNet-34)] then one :class:`FractalBlock` per entry of ``channels``, each followed by a 2x2
    max pool (small layout: every block; ImageNet layout: all but the last). ``output``: global
    average pool, flatten, dense(``classes``); on the paper's 32x32 CIFAR input the last map is
    already 1x1, so the pool is the identity there and only lets larger inputs through.

    Shapes, ``fractalnet()`` at ``(N, 3, 32, 32)``: 64x16x16, 128x8x8, 256x4x4, 512x2x2,
    512x1x1, output ``(N, classes)``. ``fractalnet34()`` at 224: stem 64x56x56, then 64x28x28,
    128x14x14, 256x7x7, 512x7x7.

    Training behaviour (``drop_path``, ``global_drop``): see the module docstring.
    ``eval_column``: None (inference uses every column) or a column index (inference uses that
    column alone).
    """

    def __init__(self, channels=CIFAR_CHANNELS, columns=4, drop_path=0.15, global_drop=0.5,
                 dropout=0.0, classes=10, in_channels=3, small_input=True, **kwargs):
        channels = tuple(channels)
        blocks = len(channels)
        if blocks < 1:
            raise OptionError("FractalNet needs at least one block (channels=(64, ...))")
        if not 0 <= drop_path < 1:
            raise OptionError(f"drop_path must be in [0, 1), got {drop_path}")
        if not 0 <= global_drop <= 1:
            raise OptionError(f"global_drop must be in [0, 1], got {global_drop}")
        dropouts = (dropout,) * blocks if np.isscalar(dropout) else tuple(dropout)
        if len(dropouts) != blocks:
            raise OptionError(f"dropout needs one rate per block ({blocks}), got {dropout}")
        # Each 2x2 pool floors; the ImageNet stem divides the size by 4 (ceil).
        min_size = 2 ** blocks if small_input else 2 ** (blocks + 1) - 3
        # The authors' Caffe nets use the "xavier" filler: uniform, scale sqrt(3 / fan_in).
        super().__init__(in_channels=in_channels, min_size=min_size,
                         default_init=mx_init.Xavier(rnd_type='uniform', factor_type='in',
                                                     magnitude=3), **kwargs)
        self.columns = columns
        self.drop_path = drop_path
        self.global_drop = global_drop
        self.small_input = small_input
        self.eval_column = None
        with self.name_scope():
            self.features = nn.HybridSequential(prefix='')
            width = in_channels
            if not small_input:
                stem = nn.HybridSequential(prefix='stem_')
                with stem.name_scope():
                    stem.add(nn.Conv2D(channels[0], 7, strides=2, padding=3, use_bias=False,
                                       in_channels=in_channels),
                             nn.BatchNorm(in_channels=channels[0]), nn.Activation('relu'),
                             nn.MaxPool2D(pool_size=3, strides=2, padding=1))
                self.features.add(stem)
                width = channels[0]
            for b, (c, p) in enumerate(zip(channels, dropouts)):
                pool = small_input or b < blocks - 1
                self.features.add(FractalBlock(width, c, columns, p, pool=pool,
                                               prefix=f'block{b + 1}_'))
                width = c
            self.output = nn.HybridSequential(prefix='output_')
            with self.output.name_scope():
                self.output.add(nn.GlobalAvgPool2D(), nn.Flatten(),
                                nn.Dense(classes, in_units=width))

    def blocks(self):
        """The fractal blocks, in order."""
        return [s for s in self.features if isinstance(s, FractalBlock)]

    # -- drop-path -----------------------------------------------------------------------------
    def join_members(self):
        """``(joins, columns)`` 0/1 array: 1 where a column is an input of a join (no drop)."""
        table = join_table(self.columns)
        member = np.zeros((len(table), self.columns))
        for j, ending in enumerate(table):
            member[j, list(ending)] = 1
        return member

    def sample_drop_path(self):
        """Draw the drop-path masks for one training mini-batch.

        Returns ``(kind, masks)``: ``kind`` is ``'global'`` or ``'local'``; ``masks`` has one
        0/1 array of shape ``(joins, columns)`` per block (1: the column's input to that join is
        kept; entries for columns not in a join are 0). Global: every block keeps the same
        column; joins it does not pass through keep all their inputs (their output is never
        used). Local: each input kept with probability ``1 - drop_path``, at least one per join.
        """
        table = join_table(self.columns)
        blocks = len(self.blocks())
        member = self.join_members()
        if _uniform(1)[0] < self.global_drop:
            column = _pick(self.columns)
            keep = member * (np.arange(self.columns) == column)
            keep[keep.sum(axis=1) == 0] = member[keep.sum(axis=1) == 0]
            return 'global', [keep.copy() for _ in range(blocks)]
        masks = []
        for _ in range(blocks):
            keep = member * (_uniform(*member.shape) >= self.drop_path)
            for j, ending in enumerate(table):
                if keep[j].sum() == 0:  # every input dropped: keep one, chosen at random
                    keep[j, ending[_pick(len(ending))]] = 1
            masks.append(keep)
        return 'local', masks

    def column_masks(self, column):
        """Masks that keep only ``column`` (0 ... columns-1) everywhere: a plain chain network."""
        if not 0 <= column < self.columns:
            raise OptionError(f"column must be in 0..{self.columns - 1}, got {column}")
        keep = self.join_members()
        passes = keep[:, column] == 1
        keep[passes] = np.arange(self.columns) == column   # joins the column passes through
        return [keep.copy() for _ in self.blocks()]

    def forward(self, x, *weights):
        if isinstance(x, nd.NDArray) and self.columns > 1 and not weights:
            if autograd.is_training():
                masks = self.sample_drop_path()[1]
            elif self.eval_column is not None:
                masks = self.column_masks(self.eval_column)
            else:
                masks = [self.join_members()] * len(self.blocks())
            # mean over the kept inputs = weighted sum with weights keep / (number kept)
            weights = [nd.array(m / m.sum(axis=1, keepdims=True), ctx=x.context, dtype=x.dtype)
                       for m in masks]
        return super().forward(x, *weights)

    def hybrid_forward(self, F, x, *weights):
        b = 0
        for stage in self.features:
            if isinstance(stage, FractalBlock):
                x = stage(x, weights[b]) if weights else stage(x)
                b += 1
            else:
                x = stage(x)
        return self.output(x)


def _check_blocks(blocks, channels):
    if channels is None:
        if not 1 <= blocks <= len(CIFAR_CHANNELS):
            raise OptionError(f"blocks must be 1..{len(CIFAR_CHANNELS)} with the paper's widths "
                              f"{CIFAR_CHANNELS}; for more blocks give channels=(...)")
        return CIFAR_CHANNELS[:blocks]
    if len(channels) != blocks:
        raise OptionError(f"channels {tuple(channels)} must have one width per block ({blocks})")
    return tuple(channels)


@register_model(family='fractalnet', paper=FRACTALNET_PAPER, input_shape=(3, 32, 32),
                params=76_106_634, macs=2_043_198_976)
def fractalnet(classes: int = 10, in_channels: int = 3, small_input: bool = True,
               columns: int = 4, blocks: int = 5, channels: Optional[Sequence[int]] = None,
               drop_path: float = 0.15, global_drop: float = 0.5,
               dropout: Union[float, Sequence[float]] = 0.0) -> FractalNet:
    """FractalNet for CIFAR (the paper's section 4): B=5 blocks of C=4 columns.

    ``channels`` defaults to the paper's widths 64-128-256-512-512 (first ``blocks`` of them).
    Every block ends in a 2x2 max pool, so the input must be at least ``2**blocks``: 32x32 for
    B=5 (CIFAR). For 28x28 Fashion-MNIST use ``blocks=4`` (28 -> 14 -> 7 -> 3 -> 1) or resize to
    32. The paper's dropout setting is ``dropout=(0, 0.1, 0.2, 0.3, 0.4)`` (one rate per block;
    a single number applies to all). ``small_input=False`` puts the ResNet stem in front (see
    :func:`fractalnet34`). Input ``(N, in_channels, >=2**blocks, >=2**blocks)``, output
    ``(N, classes)``. Deepest path: ``blocks * 2**(columns-1)`` conv layers (40 here).
    """
    return FractalNet(_check_blocks(blocks, channels), columns, drop_path, global_drop, dropout,
                      classes=classes, in_channels=in_channels, small_input=small_input)


@register_model(family='fractalnet', paper=FRACTALNET_PAPER, input_shape=(3, 224, 224),
                params=41_359_784, macs=6_386_888_192)
def fractalnet34(classes: int = 1000, in_channels: int = 3, small_input: bool = False,
                 columns: int = 4, drop_path: float = 0.15, global_drop: float = 0.5,
                 dropout: Union[float, Sequence[float]] = 0.0) -> FractalNet:
    """FractalNet-34 for ImageNet: ResNet-34's stem and head around 4 blocks of 4 columns.

    As the paper: ResNet-34's first layer (7x7/2 conv + 3x3/2 max pool) and last layer (global
    average pool + FC), and in between B=4 blocks of C=4 columns (8 layers deep each) with
    widths 64-128-256-512: 1 + 4*8 + 1 = 34 layers on the deepest path. The paper does not
    spell out where resolution drops; here a 2x2 max pool follows each of the first three
    blocks (224 -> 56 -> 28 -> 14 -> 7, ResNet-34's stage sizes). Input ``(N, in_channels,
    224, 224)`` (any size ``>=29``), output ``(N, classes)``. ``small_input=True`` drops the
    stem and pools after every block (CIFAR layout, input ``>=16``).
    """
    return FractalNet((64, 128, 256, 512), columns, drop_path, global_drop, dropout,
                      classes=classes, in_channels=in_channels, small_input=small_input)
