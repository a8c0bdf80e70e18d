"""Model compression, made real and measured: the four methods of the SqueezeNet chapter.

The SqueezeNet paper (Iandola et al., "SqueezeNet: AlexNet-level accuracy with 50x fewer
parameters and <0.5MB model size", arXiv 2016) lists the ways to keep accuracy at a fraction
of the size; this module implements each of them on Gluon nets and measures what it buys:

- **Magnitude pruning** (Han, Pool, Tran, Dally, "Learning both Weights and Connections for
  Efficient Neural Networks", NeurIPS 2015): :func:`magnitude_prune`, :func:`prune`,
  :class:`PruningMask`, :func:`encode_sparse`.
- **Low-rank factorisation** by truncated SVD (Denton et al., "Exploiting Linear Structure
  Within Convolutional Networks for Efficient Evaluation", NeurIPS 2014):
  :func:`svd_compress`.
- **Weight sharing + Huffman coding** (Han, Mao, Dally, "Deep Compression", ICLR 2016):
  :func:`kmeans_1d`, :func:`share_weights`, :class:`SharedWeights`, :func:`huffman_encode`,
  :func:`huffman_decode`, :func:`decode_params`.
- **Post-training int8 quantization** with MXNet's own tool (``mxnet.contrib.quantization``,
  oneDNN kernels on CPU): :func:`quantize`, :func:`quantized_ops`.
- Measurements: :func:`params_nbytes`, :func:`throughput` (accuracy: ``gluoncnn.train.evaluate``),
  :func:`compression_report` (a pandas table) and :func:`plot_report` (a matplotlib figure).

Conventions used everywhere here:

- A *layer* is named by its path in the block tree, the same names ``save_parameters`` uses
  without the parameter suffix: ``'features.0'``, ``'output'``, ``'features.3.body.1'``.
- *Compressible weights* are the ``weight`` of every ``nn.Dense`` and every convolution
  (``Conv1D/2D/3D`` and their transposes). Biases, BatchNorm parameters and any other
  parameters are never pruned or shared; they are stored as float32 in every size measured.
- Pruning, weight sharing and :func:`apply <SharedWeights.apply>` change the net's weights in
  place; :func:`svd_compress` returns a copy by default (``inplace=False``) because it changes
  the net's structure; :func:`quantize` returns a new ``SymbolBlock``. Use :func:`clone` to keep
  the original.
"""
import copy
import heapq
import json
import os
import struct
import tempfile
import time
import warnings
from collections import OrderedDict

import numpy as np
import mxnet as mx
from mxnet import nd
from mxnet.gluon import nn
from mxnet.gluon.nn.conv_layers import _Conv

from .analysis import throughput

__all__ = [
    "compressible_layers", "layer_weights", "clone", "replace_block",
    "PruningMask", "magnitude_prune", "prune", "sparsity_report", "fine_tuner",
    "encode_sparse", "svd_compress",
    "kmeans_1d", "huffman_code_lengths", "canonical_codes", "huffman_encode", "huffman_decode",
    "SharedWeights", "share_weights", "decode_params",
    "quantize", "quantized_ops",
    "params_nbytes", "throughput", "compression_report", "plot_report",
]


# ----------------------------------------------------------------------------------------------
# The block tree: layers by path, copies, replacing a child
# ----------------------------------------------------------------------------------------------
def _named_blocks(block, prefix=""):
    yield prefix, block
    for name, child in block._children.items():
        yield from _named_blocks(child, f"{prefix}.{name}" if prefix else name)


def _is_compressible(block):
    return isinstance(block, (nn.Dense, _Conv))


def compressible_layers(net, layers=None):
    """``OrderedDict`` path -> block of the layers whose weights can be compressed.

    Those are every ``nn.Dense`` and every convolution (``_Conv``: Conv1D/2D/3D and the
    transposed ones), in the order of the block tree. ``layers`` (a list of paths) selects some
    of them; a path that is not a compressible layer raises ``ValueError`` listing the valid ones.
    A net with none raises ``ValueError``.
    """
    if not isinstance(net, nn.Block):
        raise TypeError(f"expected a Gluon Block, got {type(net).__name__}")
    found = OrderedDict((p, b) for p, b in _named_blocks(net) if _is_compressible(b))
    if not found:
        raise ValueError(f"{type(net).__name__} has no layer to compress: compression works on "
                         "the weights of nn.Dense and convolution layers, and this net has none")
    if layers is None:
        return found
    if isinstance(layers, str):
        layers = [layers]
    unknown = [p for p in layers if p not in found]
    if unknown:
        raise ValueError(f"not a Dense/convolution layer of this net: {', '.join(map(repr, unknown))}. "
                         f"Compressible layers: {', '.join(found)}")
    return OrderedDict((p, found[p]) for p in layers)


def layer_weights(net, layers=None):
    """``OrderedDict`` path -> weight ``Parameter`` of the compressible layers (see above)."""
    return OrderedDict((p, b.weight) for p, b in compressible_layers(net, layers).items())


def _check_initialized(net):
    for name, p in net.collect_params().items():
        if p._data is None:
            raise ValueError(f"parameter {name} is not initialised (or its shape is still "
                             "unknown): call net.initialize() and run one batch through the net "
                             "(or load trained parameters) before compressing it")


def _clear_cached(net):
    for _, b in _named_blocks(net):
        if isinstance(b, nn.HybridBlock):
            b._clear_cached_op()


def clone(net):
    """An independent deep copy of ``net`` (parameters copied, same contexts, same hybridize
    state). Trainers attached to the original are not copied."""
    _clear_cached(net)
    params = list(net.collect_params().values())
    trainers = [p._trainer for p in params]
    try:
        for p in params:
            p._trainer = None
        twin = copy.deepcopy(net)
    finally:
        for p, t in zip(params, trainers):
            p._trainer = t
    for p in twin.collect_params().values():
        if p._data is not None:
            p._init_grad()  # fresh gradient buffers, registered with autograd
    return twin


def _resolve(net, path):
    block = net
    for key in path.split("."):
        if key not in block._children:
            raise ValueError(f"{path!r} is not a block of this net (no child {key!r} in "
                             f"{type(block).__name__}; children: {', '.join(block._children)})")
        block = block._children[key]
    return block


def replace_block(net, path, new_block):
    """Put ``new_block`` in place of the block at ``path`` (e.g. ``'features.3'`` or
    ``'output'``), in place.

    Works for children of a ``HybridSequential`` (kept in order under their index key) and for
    children registered as attributes (``self.output = ...``), whatever their types. Cached
    graphs are cleared, and the new block is hybridized if the net is.
    """
    if not path:
        raise ValueError("cannot replace the net itself; give the path of one of its blocks")
    parent_path, _, key = path.rpartition(".")
    parent = _resolve(net, parent_path) if parent_path else net
    _resolve(parent, key)  # clear error if missing
    old = parent._children[key]
    parent._children[key] = new_block
    if parent.__dict__.get(key) is old:  # registered as an attribute: keep forward() in sync
        object.__setattr__(parent, key, new_block)
    _clear_cached(net)
    if isinstance(net, nn.HybridBlock) and net._active and isinstance(new_block, nn.HybridBlock):
        new_block.hybridize(True, **dict(net._flags))
    return old


# ----------------------------------------------------------------------------------------------
# Pruning
# ----------------------------------------------------------------------------------------------
class PruningMask:
    """0/1 masks over the weights of some layers, kept enforced while the net trains.

    ``masks`` maps layer path -> numpy bool array (True = kept). :meth:`apply` multiplies each
    weight (on every context it lives on) by its mask, so pruned weights are exactly 0.0.
    Pass it as ``gluoncnn.train.fit(..., on_step=mask.apply)``: it runs after every optimizer
    step. The gradients and the momentum of pruned weights are left alone (the optimizer may
    move a pruned weight during the step), but re-applying the mask after each step puts it
    back to exactly 0.0, so between steps, and after training, the pruned weights are zero.
    """

    def __init__(self, net, masks):
        self._params = layer_weights(net, list(masks))
        self.masks = OrderedDict()
        for path, m in masks.items():
            shape = self._params[path].shape
            m = np.asarray(m, dtype=bool)
            if m.shape != tuple(shape):
                raise ValueError(f"mask for {path} has shape {m.shape}, the weight {tuple(shape)}")
            self.masks[path] = m
        self._nd = {}
        self.history = []

    def _mask_nd(self, path, ctx):
        key = (path, ctx)
        if key not in self._nd:
            self._nd[key] = nd.array(self.masks[path], ctx=ctx, dtype=self._params[path].dtype)
        return self._nd[key]

    def apply(self, net=None):
        """Zero the pruned weights (in place, every context). ``net`` is accepted and ignored, so
        this can be given as ``on_step`` directly. Returns ``self``."""
        for path, p in self._params.items():
            for arr in p.list_data():
                arr *= self._mask_nd(path, arr.context)
        return self

    @property
    def total(self):
        return int(sum(m.size for m in self.masks.values()))

    @property
    def pruned(self):
        return int(sum(m.size - int(m.sum()) for m in self.masks.values()))

    @property
    def sparsity(self):
        """Fraction of the masked weights that are pruned."""
        return self.pruned / self.total if self.total else 0.0

    def report(self):
        """Per-layer table of the *net's* weights as they are now (see :func:`sparsity_report`)."""
        return _sparsity_rows(self._params)

    def __repr__(self):
        return (f"PruningMask({len(self.masks)} layers, {self.pruned}/{self.total} weights pruned, "
                f"sparsity {self.sparsity:.4f})")


def _sparsity_rows(params):
    import pandas as pd
    rows = []
    for path, p in params.items():
        w = p.data().asnumpy()
        nz = int(np.count_nonzero(w))
        rows.append({"layer": path, "shape": tuple(w.shape), "weights": w.size, "nonzero": nz,
                     "sparsity": 1.0 - nz / w.size})
    tot = sum(r["weights"] for r in rows)
    nz = sum(r["nonzero"] for r in rows)
    rows.append({"layer": "total", "shape": "", "weights": tot, "nonzero": nz,
                 "sparsity": 1.0 - nz / tot if tot else 0.0})
    return pd.DataFrame(rows)


def sparsity_report(net, layers=None):
    """pandas table: layer, shape, weights, nonzero, sparsity (share of exact zeros), one row per
    compressible layer plus a ``total`` row."""
    return _sparsity_rows(layer_weights(net, layers))


def _check_sparsity(sparsity):
    if not isinstance(sparsity, (int, float, np.floating)) or not 0.0 <= sparsity < 1.0:
        raise ValueError(f"sparsity must be a number in [0, 1) (the share of weights set to zero), "
                         f"got {sparsity!r}")
    return float(sparsity)


def _prune_order(w, keep):
    """Indices of ``w`` (flat) from first to last to prune: already-pruned weights first, then by
    increasing |w|, ties broken by position (stable sort)."""
    key = np.abs(w.ravel()).astype(np.float64)
    return np.lexsort((key, keep.ravel()))  # primary: keep (False first), secondary: |w|; stable


def magnitude_prune(net, sparsity, scope="global", layers=None, mask=None):
    """Prune the smallest-magnitude weights so that **exactly** ``round(sparsity * n)`` are zero.

    - ``scope='global'``: one threshold over all the selected layers' weights together (``n`` is
      their total count); ``scope='layer'``: each layer separately gets exactly
      ``round(sparsity * n_layer)`` pruned weights.
    - Ties (equal |w|) are broken by position in a stable sort, so the count is always exact.
    - ``mask``: a previous :class:`PruningMask`; weights it pruned stay pruned (masks only grow),
      so ``sparsity`` may not be lower than what it already pruned.

    Weights are zeroed in place and the new :class:`PruningMask` is returned.
    """
    sparsity = _check_sparsity(sparsity)
    if scope not in ("global", "layer"):
        raise ValueError(f"scope must be 'global' or 'layer', got {scope!r}")
    _check_initialized(net)
    if mask is not None and layers is None:
        layers = list(mask.masks)
    params = layer_weights(net, layers)
    weights = {p: prm.data().asnumpy() for p, prm in params.items()}
    keep = {p: (mask.masks[p].copy() if mask is not None and p in mask.masks
                else np.ones(w.shape, dtype=bool)) for p, w in weights.items()}
    new = {}
    if scope == "global":
        flat_w = np.concatenate([w.ravel() for w in weights.values()])
        flat_keep = np.concatenate([k.ravel() for k in keep.values()])
        k = int(round(sparsity * flat_w.size))
        already = int((~flat_keep).sum())
        if k < already:
            raise ValueError(f"the mask already prunes {already} of {flat_w.size} weights "
                             f"(sparsity {already / flat_w.size:.4f}); asked for {sparsity} "
                             "(masks only grow: ask for at least the current sparsity)")
        order = _prune_order(flat_w, flat_keep)
        new_keep = np.ones(flat_w.size, dtype=bool)
        new_keep[order[:k]] = False
        start = 0
        for p, w in weights.items():
            new[p] = new_keep[start:start + w.size].reshape(w.shape)
            start += w.size
    else:
        for p, w in weights.items():
            k = int(round(sparsity * w.size))
            already = int((~keep[p]).sum())
            if k < already:
                raise ValueError(f"layer {p}: the mask already prunes {already} of {w.size} "
                                 f"weights; asked for sparsity {sparsity} (masks only grow)")
            order = _prune_order(w, keep[p])
            m = np.ones(w.size, dtype=bool)
            m[order[:k]] = False
            new[p] = m.reshape(w.shape)
    result = PruningMask(net, new)
    if mask is not None:
        result.history = list(mask.history)
    return result.apply()


def fine_tuner(train_iter, test_iter=None, epochs=1, **fit_kwargs):
    """A ``fine_tune(net, on_step)`` callable that runs ``gluoncnn.train.fit`` (extra keyword
    arguments go to ``fit``, e.g. ``lr=0.01, max_batches=50``), chaining ``on_step`` after any
    ``on_step`` given here. Returns fit's ``History``."""
    user_step = fit_kwargs.pop("on_step", None)

    def fine_tune(net, on_step=None):
        from .train import fit

        def step(n):
            if user_step is not None:
                user_step(n)
            if on_step is not None:
                on_step(n)
        return fit(net, train_iter, test_iter, epochs, on_step=step, **fit_kwargs)
    return fine_tune


def _run_fine_tune(fine_tune, net, on_step):
    if fine_tune is None:
        return None
    if isinstance(fine_tune, dict):
        kw = dict(fine_tune)
        try:
            args = (kw.pop("train_iter"), kw.pop("test_iter", None), kw.pop("epochs", 1))
        except KeyError:
            raise ValueError("fine_tune as a dict is the keyword arguments of gluoncnn.train.fit "
                             "and must contain 'train_iter' (and usually 'test_iter', 'epochs')")
        return fine_tuner(*args, **kw)(net, on_step)
    if not callable(fine_tune):
        raise TypeError("fine_tune must be None, a callable fine_tune(net, on_step) or a dict of "
                        "gluoncnn.train.fit keyword arguments")
    return fine_tune(net, on_step)


def prune(net, sparsity, scope="global", steps=1, fine_tune=None, layers=None, schedule="linear"):
    """Iterative magnitude pruning with fine-tuning between steps (Han et al., NeurIPS 2015).

    For step ``i`` of ``steps`` the target sparsity is ``sparsity * i / steps``
    (``schedule='linear'``) or ``sparsity * (1 - (1 - i / steps) ** 3)`` (``'cubic'``, Zhu & Gupta,
    2017); the net is pruned to it (:func:`magnitude_prune`, masks only grow) and then, if
    ``fine_tune`` is given, trained with the mask re-applied after every optimizer step.
    ``fine_tune`` is ``fine_tune(net, on_step)`` (see :func:`fine_tuner`) or a dict of
    ``gluoncnn.train.fit`` keyword arguments with ``train_iter``/``test_iter``/``epochs``.

    The final sparsity is exact (``round(sparsity * n)`` zero weights, checked). Returns the
    :class:`PruningMask`; ``mask.history`` has one record per step (step, target sparsity,
    pruned count, and fine-tuning test accuracy when fit reported it).
    """
    sparsity = _check_sparsity(sparsity)
    if not isinstance(steps, int) or steps < 1:
        raise ValueError(f"steps must be a positive integer, got {steps!r}")
    if schedule not in ("linear", "cubic"):
        raise ValueError(f"schedule must be 'linear' or 'cubic', got {schedule!r}")
    mask = None
    for i in range(1, steps + 1):
        frac = i / steps
        target = sparsity * (frac if schedule == "linear" else 1 - (1 - frac) ** 3)
        mask = magnitude_prune(net, target, scope=scope, layers=layers, mask=mask)
        hist = _run_fine_tune(fine_tune, net, mask.apply)
        mask.apply()
        rec = {"step": i, "target_sparsity": target, "pruned": mask.pruned, "weights": mask.total,
               "sparsity": mask.sparsity}
        records = getattr(hist, "records", None)
        if records:
            rec["test_acc"] = records[-1].get("test_acc")
        mask.history.append(rec)
    actual = sum(int((p.data().asnumpy() == 0).sum()) for p in mask._params.values())
    if actual < mask.pruned:
        raise RuntimeError(f"pruned weights moved away from zero during fine-tuning ({actual} zeros, "
                           f"{mask.pruned} pruned): fine_tune must call on_step after each step")
    return mask


# ----------------------------------------------------------------------------------------------
# A small container format: real bytes, measured sizes, exact round trips
# ----------------------------------------------------------------------------------------------
_MAGIC = b"GCNNZ1\0\0"


def _pack(entries):
    """entries: list of (header dict, payload bytes) -> bytes. Layout: magic, uint32 header
    length, JSON header (per entry: its fields + payload offset/length), payloads."""
    header, blobs, off = [], [], 0
    for meta, payload in entries:
        header.append(dict(meta, offset=off, length=len(payload)))
        blobs.append(payload)
        off += len(payload)
    hjson = json.dumps(header, separators=(",", ":")).encode()
    return _MAGIC + struct.pack("<I", len(hjson)) + hjson + b"".join(blobs)


def _unpack(data):
    if data[:8] != _MAGIC:
        raise ValueError("not a gluoncnn.compress stream (bad magic bytes)")
    (hlen,) = struct.unpack("<I", data[8:12])
    header = json.loads(data[12:12 + hlen].decode())
    base = 12 + hlen
    return [(m, data[base + m["offset"]: base + m["offset"] + m["length"]]) for m in header]


def _raw_entry(name, arr):
    arr = np.ascontiguousarray(arr, dtype=np.float32)
    return {"name": name, "codec": "raw", "shape": list(arr.shape)}, arr.tobytes()


def _sparse_entry(name, arr, max_gap=255):
    """Deep Compression's relative indexing: the nonzero values (float32) and, per stored entry,
    the gap to the previous one in a uint8; a gap over 255 inserts filler zero entries."""
    flat = np.ascontiguousarray(arr, dtype=np.float32).ravel()
    pos = np.flatnonzero(flat)
    d = np.diff(np.concatenate([[-1], pos]))
    fillers = (d - 1) // max_gap
    reps = fillers + 1
    gaps = np.full(int(reps.sum()), max_gap, dtype=np.uint8)
    last = np.cumsum(reps) - 1
    gaps[last] = (d - fillers * max_gap).astype(np.uint8)
    vals = np.zeros(gaps.size, dtype=np.float32)
    vals[last] = flat[pos]
    meta = {"name": name, "codec": "sparse", "shape": list(arr.shape), "entries": int(gaps.size)}
    return meta, vals.tobytes() + gaps.tobytes()


def _decode_entry(meta, payload):
    shape = tuple(meta["shape"])
    n = int(np.prod(shape, dtype=np.int64))
    if meta["codec"] == "raw":
        return np.frombuffer(payload, dtype=np.float32).reshape(shape).copy()
    if meta["codec"] == "sparse":
        m = meta["entries"]
        vals = np.frombuffer(payload[:4 * m], dtype=np.float32)
        gaps = np.frombuffer(payload[4 * m:], dtype=np.uint8).astype(np.int64)
        out = np.zeros(n, dtype=np.float32)
        out[np.cumsum(gaps) - 1] = vals
        return out.reshape(shape)
    if meta["codec"] == "shared":
        k = meta["clusters"]
        centroids = np.frombuffer(payload[:4 * k], dtype=np.float32)
        lengths = np.frombuffer(payload[4 * k:5 * k], dtype=np.uint8)
        idx = huffman_decode(payload[5 * k:], lengths, n)
        return centroids[idx].reshape(shape)
    raise ValueError(f"unknown codec {meta['codec']!r}")


def decode_params(data, net=None):
    """Decode a stream from :func:`encode_sparse` or :meth:`SharedWeights.encode` into
    ``{structural name: numpy float32 array}``; with ``net``, also load them into it (in place,
    every context) and return ``net``."""
    arrays = OrderedDict((m["name"], _decode_entry(m, p)) for m, p in _unpack(data))
    if net is None:
        return arrays
    params = net._collect_params_with_prefix()
    missing = [k for k in params if k not in arrays]
    if missing:
        raise ValueError(f"the stream has no values for {', '.join(missing)}: it was encoded from "
                         "a different architecture")
    for k, p in params.items():
        p.set_data(nd.array(arrays[k], dtype=p.dtype))
    return net


def _float_params(net, skip):
    return [_raw_entry(k, p.data().asnumpy()) for k, p in net._collect_params_with_prefix().items()
            if k not in skip]


def encode_sparse(net, layers=None, path=None):
    """The net's parameters as one byte string, compressible weights in sparse form (nonzero
    float32 values + uint8 relative positions, as in Deep Compression), everything else float32.
    ``len()`` of it is the pruned model's size; ``path`` also writes it to disk.
    :func:`decode_params` restores the weights exactly."""
    _check_initialized(net)
    weights = {f"{p}.weight": prm for p, prm in layer_weights(net, layers).items()}
    entries = [_sparse_entry(k, prm.data().asnumpy()) for k, prm in weights.items()]
    data = _pack(entries + _float_params(net, weights))
    if path is not None:
        with open(path, "wb") as f:
            f.write(data)
    return data


# ----------------------------------------------------------------------------------------------
# Low-rank factorisation by truncated SVD
# ----------------------------------------------------------------------------------------------
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


def svd_compress(net, rank=None, energy=None, layers=None, inplace=False):
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
        raise ValueError("give exactly one of rank= (an int, or a dict layer -> int) or energy= "
                         "(the share of squared singular values to keep, in (0, 1])")
    if energy is not None and not (isinstance(energy, (int, float)) and 0 < energy <= 1):
        raise ValueError(f"energy must be in (0, 1], got {energy!r}")
    _check_initialized(net)
    explicit = layers is not None or isinstance(rank, dict)
    if isinstance(rank, dict) and layers is None:
        layers = list(rank)
    candidates = compressible_layers(net, layers)
    todo = OrderedDict()
    for path, block in candidates.items():
        shape = _svd_shape(block)
        if shape is None:
            if explicit:
                raise ValueError(f"layer {path} ({type(block).__name__}) cannot be factorised: "
                                 "only Dense layers and 1x1, ungrouped, NCHW Conv2D layers can")
            continue
        todo[path] = (block, shape)
    if not todo:
        raise ValueError(f"{type(net).__name__} has no layer to compress by SVD (no Dense layer "
                         "or 1x1 convolution)")
    if not inplace:
        net = clone(net)
    rows = []
    for path, (_, (out, inn)) in todo.items():
        block = _resolve(net, path)
        w = block.weight.data().asnumpy().reshape(out, inn).astype(np.float64)
        u, s, vt = np.linalg.svd(w, full_matrices=False)
        full = min(out, inn)
        if energy is not None:
            cum = np.cumsum(s ** 2) / max(np.sum(s ** 2), np.finfo(float).tiny)
            r = int(np.searchsorted(cum, energy - 1e-12) + 1)
            r = min(max(r, 1), full)
        else:
            r = rank[path] if isinstance(rank, dict) else rank
            if isinstance(r, bool) or not isinstance(r, (int, np.integer)) or r < 1:
                raise ValueError(f"rank must be a positive integer, got {r!r} for {path}")
            if r > full:
                raise ValueError(f"rank {r} is larger than layer {path}: its weight is {out}x{inn}, "
                                 f"so the rank is at most {full}")
        before = out * inn
        after = r * (out + inn)
        replace = explicit or after < before
        rows.append({"layer": path, "shape": (out, inn), "rank": r, "max_rank": full,
                     "energy_kept": float(np.sum(s[:r] ** 2) / np.sum(s ** 2)) if s.any() else 1.0,
                     "sigma_next": float(s[r]) if r < full else 0.0,
                     "frobenius_error": float(np.sqrt(np.sum(s[r:] ** 2))),
                     "weights_before": before, "weights_after": after if replace else before,
                     "replaced": replace})
        if replace:
            sq = np.sqrt(s[:r])
            a = (sq[:, None] * vt[:r]).astype(np.float32)
            b = (u[:, :r] * sq[None, :]).astype(np.float32)
            replace_block(net, path, _factorised(block, a, b))
    if not any(r["replaced"] for r in rows):
        raise ValueError("no layer to compress: at this rank/energy no factorisation saves "
                         "parameters (r * (in + out) >= in * out for every layer); use a lower "
                         "rank/energy or name the layers= explicitly")
    return net, pd.DataFrame(rows)


# ----------------------------------------------------------------------------------------------
# Weight sharing: k-means + canonical Huffman coding
# ----------------------------------------------------------------------------------------------
def _check_bits(bits):
    if isinstance(bits, bool) or not isinstance(bits, (int, np.integer)) or not 1 <= bits <= 16:
        raise ValueError(f"bits must be an integer in 1..16 (2**bits shared values per layer), "
                         f"got {bits!r}")
    return int(bits)


def kmeans_1d(values, k, max_iter=100):
    """Deterministic 1-D k-means (Lloyd) with the linear initialisation Deep Compression
    recommends (k centroids evenly spaced between min and max).

    Returns ``(centroids float32 sorted, indices)``; empty clusters are dropped, so there may be
    fewer than ``k`` centroids; if there are at most ``k`` distinct values they are the
    centroids (lossless).
    """
    x = np.asarray(values, dtype=np.float64).ravel()
    if x.size == 0:
        raise ValueError("kmeans_1d got no values")
    if k < 1:
        raise ValueError(f"k must be >= 1, got {k}")
    uniq = np.unique(x)
    if uniq.size <= k:
        return uniq.astype(np.float32), np.searchsorted(uniq, x)
    c = np.linspace(x.min(), x.max(), k)
    idx = None
    for _ in range(max_iter):
        new_idx = np.searchsorted((c[1:] + c[:-1]) / 2, x)  # nearest of the sorted centroids
        if idx is not None and np.array_equal(new_idx, idx):
            break
        idx = new_idx
        counts = np.bincount(idx, minlength=k)
        sums = np.bincount(idx, weights=x, minlength=k)
        nonempty = counts > 0
        c[nonempty] = sums[nonempty] / counts[nonempty]  # empty clusters keep their place
        c = np.maximum.accumulate(c)  # stays sorted (means of ordered intervals are ordered)
    used = np.unique(idx)
    remap = np.full(k, -1, dtype=np.int64)
    remap[used] = np.arange(used.size)
    return c[used].astype(np.float32), remap[idx]


def huffman_code_lengths(freqs):
    """Huffman code length per symbol from its frequency (0 for unused symbols).

    Deterministic: ties are broken by the smallest symbol in each subtree. A single used symbol
    gets length 1.
    """
    freqs = np.asarray(freqs, dtype=np.int64)
    lengths = np.zeros(freqs.size, dtype=np.int64)
    used = np.flatnonzero(freqs > 0)
    if used.size == 0:
        return lengths.astype(np.uint8)
    if used.size == 1:
        lengths[used[0]] = 1
        return lengths.astype(np.uint8)
    heap = [(int(freqs[s]), int(s), [int(s)]) for s in used]
    heapq.heapify(heap)
    while len(heap) > 1:
        f1, t1, s1 = heapq.heappop(heap)
        f2, t2, s2 = heapq.heappop(heap)
        merged = s1 + s2
        lengths[merged] += 1
        heapq.heappush(heap, (f1 + f2, min(t1, t2), merged))
    if lengths.max() > 255:
        raise ValueError("Huffman code longer than 255 bits")
    return lengths.astype(np.uint8)


def canonical_codes(lengths):
    """Canonical Huffman codes (as ints) for the given code lengths: symbols sorted by
    (length, symbol) get consecutive codes. Only the lengths need to be stored."""
    lengths = np.asarray(lengths, dtype=np.int64)
    codes = np.zeros(lengths.size, dtype=object)
    code, prev = 0, 0
    for s in sorted(np.flatnonzero(lengths > 0), key=lambda s: (lengths[s], s)):
        code <<= int(lengths[s]) - prev
        prev = int(lengths[s])
        codes[s] = code
        code += 1
    return codes


def huffman_encode(symbols, n_symbols=None):
    """Canonical Huffman coding of integer ``symbols`` (0 <= s < n_symbols).

    Returns ``(data, lengths)``: the bit stream packed MSB-first into bytes (the last byte padded
    with zeros) and the uint8 code length of each symbol (all a decoder needs, with the count).
    """
    symbols = np.asarray(symbols, dtype=np.int64).ravel()
    if n_symbols is None:
        n_symbols = int(symbols.max()) + 1 if symbols.size else 1
    if symbols.size and (symbols.min() < 0 or symbols.max() >= n_symbols):
        raise ValueError(f"symbols must be in [0, {n_symbols})")
    lengths = huffman_code_lengths(np.bincount(symbols, minlength=n_symbols))
    codes = canonical_codes(lengths)
    if symbols.size == 0:
        return b"", lengths
    lmax = int(lengths.max())
    # bit j (MSB first) of each symbol's code, vectorised in chunks
    bits_of = np.zeros((n_symbols, lmax), dtype=np.uint8)
    for s in np.flatnonzero(lengths):
        ln = int(lengths[s])
        for j in range(ln):
            bits_of[s, j] = (codes[s] >> (ln - 1 - j)) & 1
    valid_of = np.arange(lmax)[None, :] < lengths[:, None].astype(np.int64)
    pieces = []
    for start in range(0, symbols.size, 1 << 20):
        chunk = symbols[start:start + (1 << 20)]
        pieces.append(bits_of[chunk][valid_of[chunk]])
    return np.packbits(np.concatenate(pieces)).tobytes(), lengths


def huffman_decode(data, lengths, count):
    """Decode ``count`` symbols from a :func:`huffman_encode` stream given the code lengths."""
    lengths = np.asarray(lengths, dtype=np.int64)
    if count == 0:
        return np.zeros(0, dtype=np.int64)
    used = np.flatnonzero(lengths > 0)
    if used.size == 0:
        raise ValueError("no code lengths: cannot decode")
    codes = canonical_codes(lengths)
    lmax = int(lengths.max())
    tb = min(lmax, 12)  # fast table on the first tb bits; longer codes decoded canonically
    tab_sym = np.full(1 << tb, -1, dtype=np.int64)
    tab_len = np.zeros(1 << tb, dtype=np.int64)
    for s in used:
        ln = int(lengths[s])
        if ln <= tb:
            lo = int(codes[s]) << (tb - ln)
            tab_sym[lo:lo + (1 << (tb - ln))] = s
            tab_len[lo:lo + (1 << (tb - ln))] = ln
    tab_sym, tab_len = tab_sym.tolist(), tab_len.tolist()
    # canonical decoding tables for codes longer than tb: first code and symbols per length
    by_len = {}
    for s in sorted(used, key=lambda s: (lengths[s], s)):
        by_len.setdefault(int(lengths[s]), []).append(int(s))
    first = {ln: int(codes[syms[0]]) for ln, syms in by_len.items()}
    out = np.empty(count, dtype=np.int64)
    buf, nbits, pos = 0, 0, 0
    total_bits = len(data) * 8
    consumed = 0
    mask_tb = (1 << tb) - 1
    for i in range(count):
        if nbits < lmax:
            chunk = data[pos:pos + 8]
            pos += len(chunk)
            buf = (buf << (8 * len(chunk))) | int.from_bytes(chunk, "big")
            nbits += 8 * len(chunk)
            if nbits < lmax:  # end of stream: pad with zeros for the lookups
                buf <<= lmax - nbits
                nbits = lmax
        w = (buf >> (nbits - tb)) & mask_tb
        s = tab_sym[w]
        if s >= 0:
            ln = tab_len[w]
        else:
            ln, code, s = tb, w, -1
            while s < 0:
                ln += 1
                if ln > lmax or ln > nbits:
                    raise ValueError("corrupt Huffman stream")
                code = (buf >> (nbits - ln)) & ((1 << ln) - 1)
                if ln in first and 0 <= code - first[ln] < len(by_len[ln]):
                    s = by_len[ln][code - first[ln]]
        out[i] = s
        nbits -= ln
        consumed += ln
        buf &= (1 << nbits) - 1
    if consumed > total_bits:
        raise ValueError("Huffman stream ended before all symbols were decoded")
    return out


class SharedWeights:
    """Weight sharing of some layers: per layer a float32 codebook, an index per weight, and the
    Huffman-coded index stream.

    ``layers`` maps path -> dict(shape, centroids, indices, zero_cluster, lengths, stream).
    :meth:`apply` writes the shared weights (centroid of each index) into a net;
    :meth:`encode` gives the whole model as bytes (shared layers + the other parameters in
    float32), whose ``len`` is the stored size; :func:`decode_params` reverses it exactly.
    """

    def __init__(self, bits, layers, other):
        self.bits = bits
        self.layers = layers
        self._other = other  # name -> float32 array, the parameters that are not shared

    def weights(self, path):
        """The shared weight of layer ``path`` (numpy float32)."""
        d = self.layers[path]
        return d["centroids"][d["indices"]].reshape(d["shape"])

    def apply(self, net):
        """Set each shared layer's weight in ``net`` to its centroid values (in place)."""
        params = layer_weights(net, list(self.layers))
        for path, p in params.items():
            p.set_data(nd.array(self.weights(path), dtype=p.dtype))
        return net

    def encode(self, path=None):
        """The model as one byte string (optionally also written to ``path``). Per shared layer:
        centroids (float32), code length per centroid (uint8), Huffman bit stream; other
        parameters raw float32."""
        entries = []
        for p, d in self.layers.items():
            k = d["centroids"].size
            payload = d["centroids"].astype(np.float32).tobytes() + d["lengths"].tobytes() + d["stream"]
            entries.append(({"name": f"{p}.weight", "codec": "shared", "shape": list(d["shape"]),
                             "clusters": int(k)}, payload))
        entries += [_raw_entry(k, v) for k, v in self._other.items()]
        data = _pack(entries)
        if path is not None:
            with open(path, "wb") as f:
                f.write(data)
        return data

    @property
    def nbytes(self):
        return len(self.encode())

    def report(self):
        """pandas table per shared layer: weights, clusters, zero cluster, Huffman bits per
        weight, codebook + stream bytes, float32 bytes, ratio."""
        import pandas as pd
        rows = []
        for p, d in self.layers.items():
            n = int(np.prod(d["shape"]))
            stored = 5 * d["centroids"].size + len(d["stream"])
            rows.append({"layer": p, "shape": tuple(d["shape"]), "weights": n,
                         "clusters": d["centroids"].size, "zero_cluster": d["zero_cluster"],
                         "bits_per_weight": 8 * len(d["stream"]) / n, "bytes": stored,
                         "float32_bytes": 4 * n, "ratio": 4 * n / stored})
        return pd.DataFrame(rows)

    def __repr__(self):
        return f"SharedWeights({len(self.layers)} layers, bits={self.bits}, {self.nbytes} bytes)"


def share_weights(net, bits=5, layers=None, max_iter=100, apply=True):
    """Deep Compression's weight sharing + Huffman coding of the compressible layers.

    Each layer's weights are clustered (:func:`kmeans_1d`) into at most ``2**bits`` shared
    values; the cluster index of every weight is Huffman-coded (canonical code, so only the
    code lengths are stored). Pruned layers: if a layer has exact zeros, zero is its own cluster
    (centroid exactly 0.0, so pruned weights stay pruned) and the non-zeros get the other
    ``2**bits - 1`` clusters; Huffman coding then gives the frequent zero a short code.
    (Deep Compression instead stores the non-zeros with relative positions; this keeps one
    stream per layer and the same exactness.)

    ``bits``: an int in 1..16 for all layers or a dict path -> bits. With ``apply=True`` the
    net's weights are replaced by the shared ones (in place). Returns a :class:`SharedWeights`.
    """
    _check_initialized(net)
    if isinstance(bits, dict):
        if layers is None:
            layers = list(bits)
        per = {p: _check_bits(b) for p, b in bits.items()}
    else:
        per = None
        _check_bits(bits)
    params = layer_weights(net, layers)
    coded = OrderedDict()
    for path, p in params.items():
        b = per[path] if per is not None else bits
        if per is not None and path not in per:
            raise ValueError(f"no bits given for layer {path}")
        w = p.data().asnumpy().astype(np.float32)
        flat = w.ravel()
        zeros = flat == 0
        zero_cluster = bool(zeros.any()) and (1 << b) >= 2 and not zeros.all()
        if zero_cluster:
            c_nz, i_nz = kmeans_1d(flat[~zeros], (1 << b) - 1, max_iter)
            centroids = np.concatenate([[0.0], c_nz]).astype(np.float32)
            idx = np.zeros(flat.size, dtype=np.int64)
            idx[~zeros] = i_nz + 1
        else:
            centroids, idx = kmeans_1d(flat, 1 << b, max_iter)
        stream, lengths = huffman_encode(idx, centroids.size)
        coded[path] = {"shape": tuple(w.shape), "bits": b, "centroids": centroids,
                       "indices": idx.astype(np.uint16 if centroids.size <= 65536 else np.int64),
                       "zero_cluster": zero_cluster, "lengths": lengths, "stream": stream}
    skip = {f"{p}.weight" for p in coded}
    other = OrderedDict((k, prm.data().asnumpy().astype(np.float32))
                        for k, prm in net._collect_params_with_prefix().items() if k not in skip)
    shared = SharedWeights(bits, coded, other)
    if apply:
        shared.apply(net)
    return shared


# ----------------------------------------------------------------------------------------------
# int8 quantization (MXNet's own, oneDNN on CPU)
# ----------------------------------------------------------------------------------------------
_INT8_OPS = {"Convolution", "FullyConnected", "Pooling", "Flatten", "Concat", "elemwise_add",
             "_Plus", "BatchNorm", "Activation", "relu", "Dropout", "Reshape", "_copy",
             "broadcast_add", "elemwise_mul", "_contrib_quantize_v2"}


def _graph_ops(sym):
    return [(n["op"], n["name"]) for n in json.loads(sym.tojson())["nodes"] if n["op"] != "null"]


def _calib_batches(calib_data, num_calib_batches):
    batches = []
    for batch in calib_data:
        x = batch[0] if isinstance(batch, (list, tuple)) else batch
        if not isinstance(x, nd.NDArray):
            x = nd.array(np.asarray(x))
        if batches and x.shape != batches[0][0].shape:
            continue  # the calibration module is bound to one shape: skip a short last batch
        batches.append([x.as_in_context(mx.cpu())])
        if len(batches) >= num_calib_batches:
            break
    if not batches:
        raise ValueError("calib_data gave no batch: pass a DataLoader (or list) of real images")
    return batches


def quantize(net, calib_data, calib_mode="naive", num_calib_batches=5, quantized_dtype="auto",
             exclude_layers=None, exclude_operators=None, ctx=None):
    """Post-training int8 quantization of a trained Gluon HybridBlock with
    ``mxnet.contrib.quantization.quantize_net_v2`` (oneDNN backend on CPU).

    - ``calib_data``: real images (a DataLoader of ``(X, y)`` or ``X`` batches); the first
      ``num_calib_batches`` batches of one shape calibrate the activation ranges.
    - ``calib_mode``: ``'naive'`` (min/max of the layer outputs), ``'entropy'`` (KL-optimal
      thresholds, slower) or ``'none'`` (ranges computed at run time, slower inference).
    - ``quantized_dtype``: ``'auto'`` (uint8 after ReLU, int8 elsewhere), ``'int8'``, ``'uint8'``.
    - ``exclude_layers`` / ``exclude_operators``: symbol names / operator names to keep float32.

    The net is hybridized (MXNet requires it) and its parameters are moved to the CPU.
    Convolutions and Dense layers are fused with
    their BatchNorm/ReLU/residual add by oneDNN and run in int8; operators oneDNN has no int8
    kernel for (sigmoid/tanh/softrelu activations, LRN, ...) run in float32 between a
    dequantize and a quantize node (:func:`quantized_ops` lists what ran where). On disk, the
    exported int8 model stores fully-connected weights as int8 while oneDNN keeps convolution
    weights float32 and quantizes them when the model is loaded.

    Returns the quantized ``SymbolBlock`` (call it like the float net, on CPU NDArrays).
    """
    from mxnet.contrib import quantization as mxq
    from mxnet.base import MXNetError
    ctx = mx.cpu() if ctx is None else ctx
    if ctx.device_type != "cpu":
        raise ValueError(f"int8 quantization here uses oneDNN on the CPU; got ctx={ctx}. Copy the "
                         "parameters to the CPU (net.collect_params().reset_ctx(mx.cpu())) first")
    if not isinstance(net, nn.HybridBlock):
        raise TypeError(f"quantize needs a Gluon HybridBlock, got {type(net).__name__}")
    if calib_mode not in ("naive", "entropy", "none"):
        raise ValueError(f"calib_mode must be 'naive', 'entropy' or 'none', got {calib_mode!r}")
    if quantized_dtype not in ("auto", "int8", "uint8"):
        raise ValueError(f"quantized_dtype must be 'auto', 'int8' or 'uint8', got {quantized_dtype!r}")
    if not isinstance(num_calib_batches, int) or num_calib_batches < 1:
        raise ValueError(f"num_calib_batches must be a positive integer, got {num_calib_batches!r}")
    compressible_layers(net)  # a net with nothing to quantize: clear error
    batches = _calib_batches(calib_data, num_calib_batches)
    net.hybridize()
    net(batches[0][0].as_in_context(net.collect_params().list_ctx()[0]))  # ends deferred init
    _check_initialized(net)
    net.collect_params().reset_ctx(ctx)
    net(batches[0][0])
    ops = _graph_ops(net(mx.sym.var("data")))
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        try:
            qnet = mxq.quantize_net_v2(
                net, quantized_dtype=quantized_dtype, quantize_mode="full",
                exclude_layers=exclude_layers, exclude_operators=exclude_operators,
                calib_data=batches if calib_mode != "none" else None,
                data_shapes=None if calib_mode != "none" else
                [mx.io.DataDesc("data", batches[0][0].shape)],
                calib_mode=calib_mode, ctx=ctx)
            qnet(batches[0][0]).wait_to_read()
        except MXNetError as e:
            unsupported = sorted({f"{op} ({name})" for op, name in ops if op not in _INT8_OPS})
            raise RuntimeError(
                "MXNet's int8 quantization failed on this net. Operators without a known int8 "
                f"path here: {', '.join(unsupported) or 'none'}. Keep them float32 with "
                "exclude_layers=[names] or exclude_operators=[ops]. MXNet said: "
                f"{str(e).splitlines()[0]}") from e
    return qnet


def quantized_ops(qnet):
    """``(int8, float32)``: the operator nodes of a quantized net that run in int8 and those that
    run in float32 (lists of ``(op, name)``; quantize/dequantize nodes are left out)."""
    ops = _graph_ops(qnet(mx.sym.var("data")))
    q = [(op, n) for op, n in ops if n.startswith("quantized_")]
    f = [(op, n) for op, n in ops if not n.startswith("quantized_")
         and op not in ("_contrib_quantize_v2", "_contrib_dequantize", "_contrib_requantize")]
    return q, f


# ----------------------------------------------------------------------------------------------
# Measurements and the report
# ----------------------------------------------------------------------------------------------
def params_nbytes(net):
    """Size on disk in bytes of the net's parameters: ``save_parameters`` for a Gluon block,
    the ``.params`` file of ``export`` for a ``SymbolBlock`` (e.g. a quantized net)."""
    with tempfile.TemporaryDirectory() as d:
        if isinstance(net, nn.SymbolBlock):
            net.export(os.path.join(d, "model"))
            return os.path.getsize(os.path.join(d, "model-0000.params"))
        f = os.path.join(d, "model.params")
        net.save_parameters(f)
        return os.path.getsize(f)


def _batch_xy(batch):
    if isinstance(batch, (list, tuple)):
        return batch[0], batch[1]
    return batch.data[0], batch.label[0]


def _accuracy(net, data_iter):
    from .train import evaluate
    return evaluate(net, data_iter, topk=None, loss=False)["acc"]


METHODS = ("float32", "prune", "svd", "share", "prune+share", "int8")


def compression_report(net, test_iter, methods=METHODS, calib_iter=None, fine_tune=None,
                       sparsity=0.8, scope="global", prune_steps=1, energy=0.9, rank=None,
                       bits=5, calib_mode="naive", num_calib_batches=5, min_time=0.5):
    """Apply each compression method to a copy of ``net`` and measure it on ``test_iter``.

    ``methods`` (any of): ``'float32'`` (the net as is), ``'prune'`` (:func:`prune` to
    ``sparsity``, stored sparse), ``'svd'`` (:func:`svd_compress` with ``energy`` or ``rank``),
    ``'share'`` (:func:`share_weights` with ``bits``), ``'prune+share'`` (Deep Compression:
    prune, then share, zero as its own cluster) and ``'int8'`` (:func:`quantize`, calibrated
    on ``calib_iter``, default ``test_iter``'s first batches; use training images to keep the
    test set clean). ``fine_tune(net, on_step)`` (see :func:`fine_tuner`) retrains after each
    pruning step and after SVD.

    Returns a pandas DataFrame: method, size_bytes (bytes really written), ratio (float32 size /
    size), accuracy, images_per_sec (dense float32 kernels for prune/share: the zeros are
    stored, not skipped), and detail. The original net is not changed.
    """
    import pandas as pd
    unknown = [m for m in methods if m not in METHODS]
    if unknown:
        raise ValueError(f"unknown method(s) {unknown}; choose from {METHODS}")
    _check_initialized(net)
    compressible_layers(net)
    x0 = _batch_xy(next(iter(test_iter)))[0]
    rows = []

    def measure(method, model, size, detail):
        rows.append({"method": method, "size_bytes": int(size), "accuracy": _accuracy(model, test_iter),
                     "images_per_sec": throughput(model, x0, min_time=min_time), "detail": detail})

    for method in methods:
        m = clone(net)
        if isinstance(m, nn.HybridBlock):
            m.hybridize(static_alloc=True, static_shape=True)
        if method == "float32":
            measure(method, m, params_nbytes(m), "save_parameters")
        elif method in ("prune", "prune+share"):
            mask = prune(m, sparsity, scope=scope, steps=prune_steps, fine_tune=fine_tune)
            if method == "prune":
                measure(method, m, len(encode_sparse(m, list(mask.masks))),
                        f"{scope} sparsity {mask.sparsity:.2f}, sparse values + uint8 gaps")
            else:
                sh = share_weights(m, bits, layers=list(mask.masks))
                measure(method, m, sh.nbytes, f"sparsity {mask.sparsity:.2f}, {bits}-bit k-means + Huffman")
        elif method == "svd":
            m, rep = svd_compress(m, rank=rank, energy=energy if rank is None else None, inplace=True)
            _run_fine_tune(fine_tune, m, None)
            done = rep[rep.replaced]
            measure(method, m, params_nbytes(m),
                    f"{len(done)} layers, ranks {list(done['rank'])}")
        elif method == "share":
            sh = share_weights(m, bits)
            measure(method, m, sh.nbytes, f"{bits}-bit k-means + Huffman")
        elif method == "int8":
            q = quantize(m, calib_iter if calib_iter is not None else test_iter,
                         calib_mode=calib_mode, num_calib_batches=num_calib_batches)
            n_int8, n_fp = quantized_ops(q)
            measure(method, q, params_nbytes(q),
                    f"oneDNN {calib_mode} calibration, {len(n_int8)} int8 / {len(n_fp)} float32 ops")
    df = pd.DataFrame(rows)
    ref = df.loc[df.method == "float32", "size_bytes"]
    base = float(ref.iloc[0]) if len(ref) else float(params_nbytes(net))
    df.insert(2, "ratio", base / df["size_bytes"])
    return df


def plot_report(df, title=None):
    """Bar charts of a :func:`compression_report`: size (KB, with the compression ratio),
    accuracy and throughput per method. Returns the matplotlib Figure."""
    import matplotlib.pyplot as plt
    fig, axes = plt.subplots(1, 3, figsize=(13, 3.6))
    names = list(df["method"])
    colors = plt.rcParams["axes.prop_cycle"].by_key()["color"]
    col = [colors[i % len(colors)] for i in range(len(names))]
    ax = axes[0]
    bars = ax.bar(names, df["size_bytes"] / 1024, color=col)
    for b, r in zip(bars, df["ratio"]):
        ax.annotate(f"{r:.1f}x", (b.get_x() + b.get_width() / 2, b.get_height()),
                    ha="center", va="bottom", fontsize=8)
    ax.set_ylabel("size on disk (KB)")
    ax = axes[1]
    bars = ax.bar(names, 100 * df["accuracy"], color=col)
    for b, a in zip(bars, df["accuracy"]):
        ax.annotate(f"{100 * a:.1f}", (b.get_x() + b.get_width() / 2, b.get_height()),
                    ha="center", va="bottom", fontsize=8)
    lo = max(0.0, 100 * df["accuracy"].min() - 10)
    ax.set_ylim(lo, 100)
    ax.set_ylabel("test accuracy (%)")
    ax = axes[2]
    ax.bar(names, df["images_per_sec"], color=col)
    ax.set_ylabel("images / second (CPU)")
    for ax in axes:
        ax.tick_params(axis="x", rotation=30)
    if title:
        fig.suptitle(title)
    fig.tight_layout()
    return fig
