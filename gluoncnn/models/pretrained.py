"""Pretrained weights: MXNet model-zoo and GluonCV ``.params`` files loaded into gluoncnn models.

``get_model(name, pretrained=PATH)`` or ``load_pretrained(net, PATH)``. Nothing is downloaded:
the file is one a user holds (``mxnet.gluon.model_zoo.vision.get_model(..., pretrained=True)``
saves it under ``~/.mxnet/models``). ``name`` may be the zoo's (``resnet18_v1``): which zoo
and GluonCV names are which of gluoncnn's nets is :data:`gluoncnn.models.zoo_names.ZOO_NAMES`.

Parameters are matched by architecture, not by name. The file and the model are both read as
a sequence of layers (a convolution, a BatchNorm, a Dense ...), each with its kinds of
parameters (``weight``, ``bias``, ``gamma`` ...) and their shapes, and the layers are paired in
order; every shape must agree. The file's layer order is the order of its keys, which is the
model's registration order for ``save_parameters`` files (keys such as ``features.0.weight``)
and for the older files of ``ParameterDict.save`` / pre-1.0 ``save_params`` (full names such as
``resnetv10_conv0_weight``), and the graph order for ``export`` and Module checkpoints (keys
prefixed ``arg:`` / ``aux:``); both orders of the model are tried.

Exact where the layouts agree: resnet18/34 (v1), vgg11/13/16/19 with and without BN,
densenet121/161/169/201, squeezenet1.0/1.1 give the zoo net's outputs. The zoo's resnet50_v1
and deeper give their 1x1 convolutions a bias that the paper's net (and gluoncnn's) has not; a
bias followed by a BatchNorm only shifts the mean the BN subtracts, so it is folded into the
BN's running mean (``mean - bias``: the outputs agree to float rounding, in training too,
where the batch mean removes the bias anyway). Refused, with the reason: the zoo's resnet*_v2
(a BatchNorm of the input image and a second pre-activation of the first unit, which
gluoncnn's v2 has not and which cannot be folded exactly into the padded first convolution),
the zoo's AlexNet (torchvision's 64-192-384-256-256 layout, not the paper's), and any file
whose layers do not pair up.

A model built with another number of ``classes`` than the file's keeps every layer but the
last and re-initialises that one (fine-tuning, as in d2l's chapter on it); this is logged.
"""
from __future__ import annotations

import logging
import os
from dataclasses import dataclass, field

import mxnet as mx
from mxnet.base import MXNetError

from ..errors import FileFormatError, OptionError
from ..utils import first_line
from .common import Classifier

__all__ = ['load_pretrained', 'file_layers']

log = logging.getLogger(__name__)

_KINDS = ('running_mean', 'running_var', 'weight', 'bias', 'gamma', 'beta')
_BN_KINDS = frozenset({'gamma', 'beta', 'running_mean', 'running_var'})


@dataclass
class Layer:
    """One layer with parameters: its name and ``{kind: array or Parameter}``."""
    name: str
    items: dict = field(default_factory=dict)

    @property
    def kinds(self):
        return frozenset(self.items)

    def shape(self, kind, shapes=None):
        item = self.items[kind]
        if shapes is not None:      # a Parameter: its shape from symbolic inference
            return tuple(shapes.get(item.name, item.shape))
        return tuple(item.shape)

    def describe(self, shapes=None):
        kinds = ', '.join(f"{k} {self.shape(k, shapes)}" for k in _KINDS if k in self.items)
        return f"{self.name} ({kinds})"


def _split(key):
    """``'features.0.weight'``, ``'arg:resnetv10_conv0_weight'`` -> (layer, kind)."""
    key = key[4:] if key.startswith(('arg:', 'aux:')) else key
    if '.' in key:
        return tuple(key.rsplit('.', 1))
    for kind in _KINDS:
        if key.endswith('_' + kind):
            return key[:-len(kind) - 1], kind
    raise FileFormatError(f"parameter {key!r} is not a weight, bias, gamma, beta or running "
                          f"statistic: not a model-zoo parameter file")


def _group(pairs):
    layers = {}
    for layer, kind, item in pairs:
        layers.setdefault(layer, Layer(layer)).items[kind] = item
    return list(layers.values())


def file_layers(path: str) -> list[Layer]:
    """The layers of a ``.params`` file, in the file's order."""
    path = os.path.expanduser(os.fspath(path))
    if not os.path.isfile(path):
        raise OptionError(f"pretrained file {path!r} does not exist; give the path of a "
                          f".params file (nothing is downloaded)")
    try:
        loaded = mx.nd.load(path)
    except MXNetError as err:
        raise FileFormatError(f"{path} is not an MXNet parameter file "
                              f"({first_line(err)})") from None
    if not isinstance(loaded, dict) or not loaded:
        raise FileFormatError(f"{path} holds no named parameters: not a model-zoo .params file")
    return _group((*_split(key), array) for key, array in loaded.items())


def _net_layers(net, order):
    """The model's layers in registration order (``'collect'``) or graph order (``'graph'``)."""
    structural = net._collect_params_with_prefix()
    path_of = {param.name: path for path, param in structural.items()}
    if order == 'collect':
        names = [param.name for param in structural.values()]
    else:
        graph = net(mx.sym.var('data')).list_inputs()
        names = [n for n in graph if n in path_of]
        names += [p.name for p in structural.values() if p.name not in set(names)]
    params = {p.name: p for p in structural.values()}
    return _group((*path_of[n].rsplit('.', 1), params[n]) for n in names)


def _inferred_shapes(net):
    """Every parameter's shape, from symbolic inference at an input the net takes."""
    side = net.input_size or (max(net.min_size, 224),) * 2
    sym = net.training_graph(mx.sym.var('data'))
    if isinstance(sym, (tuple, list)):
        sym = mx.sym.Group(list(sym))
    args, _, auxs = sym.infer_shape(data=(1, net.in_channels) + tuple(side))
    shapes = dict(zip(sym.list_arguments(), args))
    shapes.update(zip(sym.list_auxiliary_states(), auxs))
    return shapes


def _refuse_known_layouts(net, src, dst, shapes, path):
    first = src[0]
    if first.kinds == _BN_KINDS and dst[0].kinds != _BN_KINDS:
        raise FileFormatError(
            f"{path} starts with a BatchNorm of the input image (the model zoo's resnet*_v2): "
            f"gluoncnn's ResNet v2 has none and it cannot be folded exactly into the padded "
            f"first convolution; load a v1 file (resnet*_v1) or train from scratch")
    why = getattr(net, "foreign_first_filters", {}).get(
        first.shape('weight')[0] if 'weight' in first.items else None)
    if why:
        raise FileFormatError(f"{path} {why}")


def _pair(src, dst, shapes, path):
    """``(assignments, folded, reinitialised)``: (Parameter, array) pairs to load, how many
    biases were folded into a BatchNorm, and the Parameters of an output layer left out."""
    if len(src) != len(dst):
        raise FileFormatError(f"{path} has {len(src)} layers with parameters, the model "
                              f"{len(dst)}: not this architecture")
    assignments, folded, reinitialised, pending_bias = [], 0, [], None
    for k, (s, d) in enumerate(zip(src, dst)):
        last = k == len(dst) - 1
        fold = s.kinds - d.kinds == {'bias'} and d.kinds <= s.kinds
        if s.kinds != d.kinds and not fold:
            raise FileFormatError(f"{path} does not fit this model at layer {k}: the file has "
                                  f"{s.describe()}, the model {d.describe(shapes)}")
        mismatched = [kind for kind in d.items if s.shape(kind) != d.shape(kind, shapes)]
        if mismatched and last and all(s.shape(kind)[1:] == d.shape(kind, shapes)[1:]
                                       for kind in d.items):
            reinitialised = list(d.items.values())       # another number of classes
            continue
        if mismatched:
            if k == 0 and 'weight' in d.items and len(d.shape('weight', shapes)) > 1 and \
                    s.shape('weight')[1] != d.shape('weight', shapes)[1]:
                raise FileFormatError(
                    f"{path} takes images of {s.shape('weight')[1]} channels, the model "
                    f"{d.shape('weight', shapes)[1]}: build it with "
                    f"in_channels={s.shape('weight')[1]}")
            raise FileFormatError(f"{path} does not fit this model at layer {k}: the file has "
                                  f"{s.describe()}, the model {d.describe(shapes)}")
        arrays = {kind: s.items[kind] for kind in d.items}
        if pending_bias is not None:
            if d.kinds != _BN_KINDS:
                raise FileFormatError(f"{path}: layer {k - 1} has a bias the model's layer "
                                      f"lacks and no BatchNorm follows to take it")
            arrays['running_mean'] = arrays['running_mean'] - pending_bias
            pending_bias, folded = None, folded + 1
        if fold:
            pending_bias = s.items['bias']
        assignments += [(d.items[kind], arrays[kind]) for kind in d.items]
    if pending_bias is not None:
        raise FileFormatError(f"{path}: its last layer has a bias the model's has not")
    return assignments, folded, reinitialised


def load_pretrained(net: Classifier, path: str, ctx=None) -> dict:
    """Load an MXNet model-zoo / GluonCV ``.params`` file (``save_parameters`` or the older
    ``arg:``/``aux:`` format) into ``net``, matching layers by order and shape (module
    docstring). Returns ``{'layers', 'folded_biases', 'reinitialised'}``; raises
    :class:`~gluoncnn.errors.FileFormatError` with the reason when the file does not fit."""
    ctx = ctx or mx.cpu()
    src = file_layers(path)
    shapes = _inferred_shapes(net)
    first_error = None
    for order in ('collect', 'graph'):
        dst = _net_layers(net, order)
        _refuse_known_layouts(net, src, dst, shapes, path)
        try:
            assignments, folded, reinitialised = _pair(src, dst, shapes, path)
            break
        except FileFormatError as err:
            first_error = first_error or err
    else:
        raise first_error
    net.collect_params().load_dict({param.name: array for param, array in assignments},
                                   ctx=ctx, allow_missing=True)
    for param in reinitialised:
        param.shape = tuple(shapes[param.name])
        param.initialize(ctx=ctx, default_init=getattr(net, 'default_init', mx.init.Uniform()),
                         force_reinit=True)
    if reinitialised:
        log.warning("%s: the output layer (%s) is for another number of classes than the file's; "
                    "it was re-initialised, every other layer loaded", os.path.basename(path),
                    ', '.join(f"{p.name} {p.shape}" for p in reinitialised))
    if isinstance(net, Classifier):
        net._last_mode.clear()      # fresh arrays (see Classifier.__call__)
    return {'layers': len(src), 'folded_biases': folded,
            'reinitialised': [p.name for p in reinitialised]}
