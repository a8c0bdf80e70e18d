"""Magnitude pruning (Han, Pool, Tran, Dally, "Learning both Weights and Connections for
Efficient Neural Networks", NeurIPS 2015): exact sparsity, masks kept while training, and
iterative pruning with fine-tuning between steps."""
from collections import OrderedDict
from collections.abc import Callable

import numpy as np
from mxnet import nd
from mxnet.gluon import nn

from ..errors import InputError, OptionError
from .blocks import Layers, check_initialized, layer_weights


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
                raise OptionError(f"mask for {path} has shape {m.shape}, the weight {tuple(shape)}")
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


def sparsity_report(net: nn.Block, layers: Layers = None):
    """pandas table: layer, shape, weights, nonzero, sparsity (share of exact zeros), one row per
    compressible layer plus a ``total`` row."""
    return _sparsity_rows(layer_weights(net, layers))


def _check_sparsity(sparsity):
    if not isinstance(sparsity, (int, float, np.floating)) or not 0.0 <= sparsity < 1.0:
        raise OptionError(f"sparsity must be a number in [0, 1) (the share of weights set to "
                          f"zero), "
                          f"got {sparsity!r}")
    return float(sparsity)


def _prune_order(w, keep):
    """Indices of ``w`` (flat) from first to last to prune: already-pruned weights first, then by
    increasing |w|, ties broken by position (stable sort)."""
    key = np.abs(w.ravel()).astype(np.float64)
    return np.lexsort((key, keep.ravel()))  # primary: keep (False first), secondary: |w|; stable


def magnitude_prune(net: nn.Block, sparsity: float, scope: str = "global",
                    layers: Layers = None, mask: PruningMask | None = None) -> PruningMask:
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
        raise OptionError(f"scope must be 'global' or 'layer', got {scope!r}")
    check_initialized(net)
    if mask is not None and layers is None:
        layers = list(mask.masks)
    params = layer_weights(net, layers)
    weights = {p: prm.data().asnumpy() for p, prm in params.items()}
    keep = {p: (mask.masks[p].copy() if mask is not None and p in mask.masks
                else np.ones(w.shape, dtype=bool)) for p, w in weights.items()}
    new = (_global_masks if scope == "global" else _layer_masks)(weights, keep, sparsity)
    result = PruningMask(net, new)
    if mask is not None:
        result.history = list(mask.history)
    return result.apply()


def _smallest_pruned(w, keep, k):
    """A keep-mask of ``w``'s shape with the ``k`` first weights of :func:`_prune_order` off."""
    new_keep = np.ones(w.size, dtype=bool)
    new_keep[_prune_order(w, keep)[:k]] = False
    return new_keep.reshape(w.shape)


def _global_masks(weights, keep, sparsity):
    """One threshold over every layer: exactly ``round(sparsity * n)`` of all ``n`` weights."""
    flat_w = np.concatenate([w.ravel() for w in weights.values()])
    flat_keep = np.concatenate([k.ravel() for k in keep.values()])
    k = int(round(sparsity * flat_w.size))
    already = int((~flat_keep).sum())
    if k < already:
        raise OptionError(f"the mask already prunes {already} of {flat_w.size} weights "
                          f"(sparsity {already / flat_w.size:.4f}); asked for {sparsity} "
                          "(masks only grow: ask for at least the current sparsity)")
    flat_new = _smallest_pruned(flat_w, flat_keep, k)
    masks, start = {}, 0
    for p, w in weights.items():
        masks[p] = flat_new[start:start + w.size].reshape(w.shape)
        start += w.size
    return masks


def _layer_masks(weights, keep, sparsity):
    """Each layer alone: exactly ``round(sparsity * n_layer)`` of its weights."""
    masks = {}
    for p, w in weights.items():
        k = int(round(sparsity * w.size))
        already = int((~keep[p]).sum())
        if k < already:
            raise OptionError(f"layer {p}: the mask already prunes {already} of {w.size} "
                              f"weights; asked for sparsity {sparsity} (masks only grow)")
        masks[p] = _smallest_pruned(w, keep[p], k)
    return masks


def fine_tuner(train_iter, test_iter=None, epochs: int = 1, **fit_kwargs) -> Callable:
    """A ``fine_tune(net, on_step)`` callable that runs ``gluoncnn.train.fit`` (extra keyword
    arguments go to ``fit``, e.g. ``lr=0.01, max_batches=50``), chaining ``on_step`` after any
    ``on_step`` given here. Returns fit's ``History``."""
    user_step = fit_kwargs.pop("on_step", None)

    def fine_tune(net, on_step=None):
        from ..train import fit

        def step(n):
            if user_step is not None:
                user_step(n)
            if on_step is not None:
                on_step(n)
        return fit(net, train_iter, test_iter, epochs, on_step=step, **fit_kwargs)
    return fine_tune


def run_fine_tune(fine_tune, net, on_step):
    if fine_tune is None:
        return None
    if isinstance(fine_tune, dict):
        kw = dict(fine_tune)
        try:
            args = (kw.pop("train_iter"), kw.pop("test_iter", None), kw.pop("epochs", 1))
        except KeyError:
            raise OptionError(
                "fine_tune as a dict is the keyword arguments of gluoncnn.train.fit and must "
                "contain 'train_iter' (and usually 'test_iter', 'epochs')") from None
        return fine_tuner(*args, **kw)(net, on_step)
    if not callable(fine_tune):
        raise InputError("fine_tune must be None, a callable fine_tune(net, on_step) or a dict of "
                         "gluoncnn.train.fit keyword arguments")
    return fine_tune(net, on_step)


def prune(net: nn.Block, sparsity: float, scope: str = "global", steps: int = 1,
          fine_tune: Callable | dict | None = None, layers: Layers = None,
          schedule: str = "linear") -> PruningMask:
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
        raise OptionError(f"steps must be a positive integer, got {steps!r}")
    if schedule not in ("linear", "cubic"):
        raise OptionError(f"schedule must be 'linear' or 'cubic', got {schedule!r}")
    mask = None
    for i in range(1, steps + 1):
        frac = i / steps
        target = sparsity * (frac if schedule == "linear" else 1 - (1 - frac) ** 3)
        mask = magnitude_prune(net, target, scope=scope, layers=layers, mask=mask)
        hist = run_fine_tune(fine_tune, net, mask.apply)
        mask.apply()
        rec = {"step": i, "target_sparsity": target, "pruned": mask.pruned, "weights": mask.total,
               "sparsity": mask.sparsity}
        records = getattr(hist, "records", None)
        if records:
            rec["test_acc"] = records[-1].get("test_acc")
        mask.history.append(rec)
    actual = sum(int((p.data().asnumpy() == 0).sum()) for p in mask._params.values())
    if actual < mask.pruned:
        raise RuntimeError(f"pruned weights moved away from zero during fine-tuning ({actual} "
                           f"zeros, "
                           f"{mask.pruned} pruned): fine_tune must call on_step after each step")
    return mask
