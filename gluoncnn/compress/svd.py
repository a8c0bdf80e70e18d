"""Low-rank factorisation by truncated SVD (Denton et al., "Exploiting Linear Structure Within
Convolutional Networks for Efficient Evaluation", NeurIPS 2014)."""
from collections import OrderedDict

import mxnet as mx
import numpy as np
from mxnet import nd
from mxnet.gluon import nn
from mxnet.gluon.nn.conv_layers import _Conv

from ..errors import OptionError
from .blocks import Layers, block_at, check_initialized, clone, compressible_layers, replace_block


def _svd_shape(block):
    """(out, in) of the weight matrix, or None if the layer cannot be factorised."""
    if isinstance(block, nn.Dense):
        w = block.weight.shape
        return (w[0], w[1]) if len(w) == 2 and w[1] else None
    if isinstance(block, _Conv) and block._op_name == "Convolution":
        kw = block._kwargs
        if (tuple(kw["kernel"]) == (1, 1) and kw["num_group"] == 1
                and kw["layout"] == "NCHW" and tuple(kw["dilate"]) == (1, 1)):
            w = block.weight.shape
            return (w[0], w[1]) if w[1] else None
    return None


def _factorised(block, a, b):
    """HybridSequential of two layers computing ``b @ (a @ x)`` (+ bias, activation)."""
    act = block.act._act_type if block.act is not None else None
    bias = block.bias.data().asnumpy() if block.bias is not None else None
    r = a.shape[0]
    seq = nn.HybridSequential(prefix=block.prefix + "svd_")
    with seq.name_scope():
        if isinstance(block, nn.Dense):
            first = nn.Dense(r, use_bias=False, flatten=block._flatten, in_units=a.shape[1])
            second = nn.Dense(b.shape[0], activation=act, use_bias=bias is not None,
                              flatten=block._flatten, in_units=r)
        else:
            kw = block._kwargs
            first = nn.Conv2D(r, 1, strides=kw["stride"], padding=kw["pad"], use_bias=False,
                              in_channels=a.shape[1])
            second = nn.Conv2D(b.shape[0], 1, activation=act, use_bias=bias is not None,
                               in_channels=r)
            a, b = a[:, :, None, None], b[:, :, None, None]
        seq.add(first, second)
    ctxs = block.weight.list_ctx()
    seq.initialize(mx.init.Zero(), ctx=ctxs)
    first.weight.set_data(nd.array(a))
    second.weight.set_data(nd.array(b))
    if bias is not None:
        second.bias.set_data(nd.array(bias))
    return seq


def svd_compress(net: nn.Block, rank: int | dict | None = None, energy: float | None = None,
                 layers: Layers = None, inplace: bool = False):
    """Replace Dense layers (and 1x1 convolutions) by two thinner ones via truncated SVD.

    A weight ``W`` (out x in) = ``U S V^T`` becomes ``B @ A`` with ``A = sqrt(S_r) V_r^T``
    (r x in, no bias) and ``B = U_r sqrt(S_r)`` (out x r, the old bias and activation): a
    ``Dense(r)`` then a ``Dense(out)``, or two 1x1 ``Conv2D``. For every input ``x``,
    ``||W x - B A x|| <= sigma_{r+1} ||x||`` and ``||W - B A||_F = sqrt(sum_{i>r} sigma_i^2)``.

    - ``rank``: an int for every layer, or a dict path -> int; ``energy`` (0 < e <= 1): per layer
      the smallest r keeping ``sum_{i<=r} sigma_i^2 >= energy * sum sigma^2``. Give one of them.
    - ``layers``: paths to factorise; a rank larger than ``min(out, in)`` of a listed layer is an
      error. With ``layers=None`` every Dense/1x1 conv is considered and those where the
      factorisation would not save parameters (``r (in + out) >= in * out``) are skipped.
    - ``inplace=False`` works on a :func:`clone`; the original net is untouched.

    Returns ``(net, report)``: the factorised net and a pandas table per layer (layer, shape,
    rank, energy kept, sigma_{r+1}, Frobenius error, params before/after, replaced).
    """
    import pandas as pd
    if (rank is None) == (energy is None):
        raise OptionError("give exactly one of rank= (an int, or a dict layer -> int) or energy= "
                          "(the share of squared singular values to keep, in (0, 1])")
    if energy is not None and not (isinstance(energy, (int, float)) and 0 < energy <= 1):
        raise OptionError(f"energy must be in (0, 1], got {energy!r}")
    check_initialized(net)
    explicit = layers is not None or isinstance(rank, dict)
    if isinstance(rank, dict) and layers is None:
        layers = list(rank)
    todo = _factorisable(net, layers, explicit)
    if not inplace:
        net = clone(net)
    rows = [_factorise(net, path, shape, rank, energy, explicit) for path, shape in todo.items()]
    if not any(r["replaced"] for r in rows):
        raise OptionError("no layer to compress: at this rank/energy no factorisation saves "
                          "parameters (r * (in + out) >= in * out for every layer); use a lower "
                          "rank/energy or name the layers= explicitly")
    return net, pd.DataFrame(rows)


def _factorisable(net, layers, explicit):
    """``OrderedDict`` path -> (out, in) of the layers to factorise; with ``explicit`` (layers
    named by the caller) a layer that cannot be factorised is an error, else it is skipped."""
    todo = OrderedDict()
    for path, block in compressible_layers(net, layers).items():
        shape = _svd_shape(block)
        if shape is None:
            if explicit:
                raise OptionError(f"layer {path} ({type(block).__name__}) cannot be factorised: "
                                  "only Dense layers and 1x1, ungrouped, NCHW Conv2D layers can")
            continue
        todo[path] = shape
    if not todo:
        raise OptionError(f"{type(net).__name__} has no layer to compress by SVD (no Dense layer "
                          "or 1x1 convolution)")
    return todo


def _rank(path, s, shape, rank, energy):
    """The rank kept for layer ``path`` with singular values ``s``."""
    full = min(shape)
    if energy is not None:
        cum = np.cumsum(s ** 2) / max(np.sum(s ** 2), np.finfo(float).tiny)
        return min(max(int(np.searchsorted(cum, energy - 1e-12) + 1), 1), full)
    r = rank[path] if isinstance(rank, dict) else rank
    if isinstance(r, bool) or not isinstance(r, (int, np.integer)) or r < 1:
        raise OptionError(f"rank must be a positive integer, got {r!r} for {path}")
    if r > full:
        raise OptionError(f"rank {r} is larger than layer {path}: its weight is "
                          f"{shape[0]}x{shape[1]}, so the rank is at most {full}")
    return r


def _factorise(net, path, shape, rank, energy, explicit):
    """Factorise layer ``path`` of ``net`` if it saves weights (or ``explicit``); its report
    row."""
    (out, inn), block = shape, block_at(net, path)
    w = block.weight.data().asnumpy().reshape(out, inn).astype(np.float64)
    u, s, vt = np.linalg.svd(w, full_matrices=False)
    r, full = _rank(path, s, shape, rank, energy), min(out, inn)
    before, after = out * inn, r * (out + inn)
    replace = explicit or after < before
    if replace:
        sq = np.sqrt(s[:r])
        a = (sq[:, None] * vt[:r]).astype(np.float32)
        b = (u[:, :r] * sq[None, :]).astype(np.float32)
        replace_block(net, path, _factorised(block, a, b))
    return {"layer": path, "shape": (out, inn), "rank": r, "max_rank": full,
            "energy_kept": float(np.sum(s[:r] ** 2) / np.sum(s ** 2)) if s.any() else 1.0,
            "sigma_next": float(s[r]) if r < full else 0.0,
            "frobenius_error": float(np.sqrt(np.sum(s[r:] ** 2))),
            "weights_before": before, "weights_after": after if replace else before,
            "replaced": replace}
