"""The model registry: ``get_model(name, **options)``, ``list_models()`` and each model's facts.

Every builder in a family module is registered with its metadata, declared once::

    @register_model(family='resnet', paper=RESNET_V1, input_shape=(3, 224, 224),
                    params=11_689_512, macs=1_818_228_160)
    def resnet18(classes=1000, in_channels=3, small_input=False, ...): ...

The keyword arguments of a builder are the options its model takes, so an unknown option is
caught before anything is built, and the common ones (``classes``, ``in_channels``,
``small_input``, dropout rates, activation names ...) are checked here, once for every model,
with a one-line :class:`~gluoncnn.errors.OptionError` that says what to pass. ``params`` and
``macs`` are the model's figures at its builder's defaults and ``input_shape`` (trainable
parameters the inference graph uses; multiply-adds per image);
:func:`gluoncnn.analysis.compute_figures` recomputes them from the code (the analysis layer
reads the models, never the other way) and ``tests/test_models_metadata.py`` asserts that
every registered figure equals the computed one.
"""
from __future__ import annotations

import fnmatch
import functools
import inspect
import logging
import math
import numbers
import re
from dataclasses import dataclass, field
from typing import Any, Callable

from ..errors import OptionError
from ..utils import closest_names
from .zoo_names import ZOO_NAMES

log = logging.getLogger(__name__)

_MODELS: dict[str, ModelInfo] = {}

#: activation names ``nn.Activation`` takes
ACTIVATIONS = ('relu', 'sigmoid', 'tanh', 'softrelu', 'softsign')


class UnknownOptionError(OptionError, TypeError):
    """An option the model does not take (a ``TypeError``, as for any unknown keyword)."""


@dataclass(frozen=True)
class ModelInfo:
    """What the registry knows about a model, declared once where the builder is registered.

    ``input_shape`` is the default input ``(C, H, W)``; ``params`` the trainable parameters the
    inference graph uses and ``macs`` its multiply-adds per image, both at the builder's
    defaults and ``input_shape``; ``train_only_params`` the trainable parameters that only a
    training step uses (GoogLeNet's auxiliary heads); ``small_only`` is True for nets that
    exist only in the small-image (CIFAR) form.
    """
    name: str
    family: str
    paper: str
    input_shape: tuple
    params: int
    macs: int
    builder: Callable = field(repr=False, compare=False)
    train_only_params: int = 0
    small_only: bool = False

    @property
    def description(self) -> str:
        """The first paragraph of the builder's docstring, as plain text."""
        doc = (inspect.getdoc(self.builder) or '').strip().split('\n\n')[0]
        return ' '.join(doc.split()).replace('``', '')

    @property
    def default_classes(self) -> int:
        return _options_of(self.builder)['classes']

    @property
    def short_paper(self) -> str:
        """Authors and venue of ``paper`` (``'He et al., CVPR 2016 (arXiv:1512.03385)'``)."""
        authors, _, rest = self.paper.partition(': ')
        if not rest:
            authors, _, rest = self.paper.partition(', ')
        venue = rest.rsplit(', ', 1)[-1]
        return f"{authors}, {venue}" if venue != rest else self.paper


# --------------------------------------------------------------------------------------------
# Option checks shared by every builder
# --------------------------------------------------------------------------------------------
def _is_int(v):
    return isinstance(v, numbers.Integral) and not isinstance(v, bool)


def _is_real(v):
    return isinstance(v, numbers.Real) and not isinstance(v, bool)


def _positive_int(what, example):
    def check(name, v):
        if not (_is_int(v) and v > 0):
            raise OptionError(f"{name} must be a positive int ({what}, e.g. {name}={example}), "
                              f"got {v!r}")
    return check


def _optional(check):
    def optional(name, v):
        if v is not None:
            check(name, v)
    return optional


def _rate(name, v, upper_closed=False):
    ok = _is_real(v) and 0 <= v and (v <= 1 if upper_closed else v < 1)
    if not ok:
        interval = '[0, 1]' if upper_closed else '[0, 1)'
        raise OptionError(f"{name} must be a rate in {interval} (e.g. {name}=0.5; 0 turns it "
                          f"off), got {v!r}")


def _rates(name, v):
    """A rate, or one rate per block (FractalNet's ``dropout``)."""
    for r in (v if isinstance(v, (tuple, list)) else (v,)):
        _rate(name, r)


def _bool(name, v):
    if not isinstance(v, bool):
        raise OptionError(f"{name} must be True or False, got {v!r}")


def check_width(v, name='width'):
    """Raise :class:`OptionError` unless ``v`` is a finite real number > 0 (the ``width``
    multiplier of the classic nets' hidden channels)."""
    if not (_is_real(v) and math.isfinite(v) and v > 0):
        raise OptionError(f"{name} must be a positive number multiplying every hidden layer's "
                          f"channels (e.g. {name}=0.25 for a laptop CPU; {name}=1 is the "
                          f"paper's net), got {v!r}")


def _activation(name, v):
    if v not in ACTIVATIONS:
        raise OptionError(f"{name} must be one of {', '.join(map(repr, ACTIVATIONS))}, got {v!r}")


_CHECKS = {
    'classes': _positive_int('the number of classes', 10),
    'in_channels': _positive_int('channels of the input images', 1),
    'small_input': _bool,
    'input_size': _optional(_positive_int('the input side in pixels', 28)),
    'depth': _positive_int('the number of weighted layers', 100),
    'widen_factor': _positive_int('the width multiplier k', 10),
    'growth_rate': _positive_int('channels each dense layer adds', 12),
    'bn_size': _optional(_positive_int('bottleneck width factor', 4)),
    'columns': _positive_int('columns of a fractal block', 4),
    'blocks': _positive_int('the number of blocks', 5),
    'activation': _activation,
    'width': lambda name, v: check_width(v, name),
    'dropout': _rates,
    'drop_path': _rate,
    'global_drop': functools.partial(_rate, upper_closed=True),
    'aux_logits': _bool, 'lrn': _bool, 'scratch_bn': _bool, 'drop_per_sample': _bool,
    'zero_init_residual': _bool, 'stride_in_3x3': _bool,
}


def check_options(name: str, options: dict[str, Any]) -> None:
    """Raise :class:`OptionError` for a common option with a value no model can take."""
    for key, value in options.items():
        if key in _CHECKS:
            _CHECKS[key](key, value)
    info = _MODELS.get(name)
    if info is not None and info.small_only and options.get('small_input') is False:
        raise OptionError(
            f"{name} exists only in the small-image (CIFAR) form: leave small_input out or pass "
            f"small_input=True (for 224x224 images use an ImageNet model such as resnet18)")


# --------------------------------------------------------------------------------------------
# Registration and lookup
# --------------------------------------------------------------------------------------------
def register_model(*, family: str, paper: str, input_shape: tuple, params: int, macs: int,
                   train_only_params: int = 0, small_only: bool = False):
    """Register the decorated builder under its function name with its metadata (see
    :class:`ModelInfo`); the builder checks its options (:func:`check_options`) when called."""
    def register(builder):
        name = builder.__name__
        if name in _MODELS:
            raise ValueError(f"model {name!r} is registered twice")
        signature = inspect.signature(builder)

        @functools.wraps(builder)
        def checked(*args, **kwargs):
            bound = signature.bind(*args, **kwargs)
            bound.apply_defaults()
            check_options(name, bound.arguments)
            return builder(*args, **kwargs)

        _MODELS[name] = ModelInfo(name, family, paper, tuple(input_shape), params, macs,
                                  checked, train_only_params, small_only)
        return checked
    return register


def _key(name):
    return name.lower().replace("-", "_").replace(".", "_") if isinstance(name, str) else name


def _zoo_name(name):
    """The :data:`~gluoncnn.models.zoo_names.ZOO_NAMES` entry for ``name``, or None."""
    return _ZOO_KEYS.get(_key(name))


_ZOO_KEYS = {_key(zoo.name): zoo for zoo in ZOO_NAMES.values()}
_SAID: set[str] = set()     # the zoo names already said to be ours (said once per process)


def model_info(name: str) -> ModelInfo:
    """The registered facts of model ``name`` (family, paper, default input, figures); a model
    zoo or GluonCV name of the same architecture resolves to ours (and says so, once)."""
    key = _key(name)
    if key in _MODELS:
        return _MODELS[key]
    zoo = _zoo_name(name)
    if zoo is not None and zoo.same:
        if zoo.name not in _SAID:
            _SAID.add(zoo.name)
            log.warning("%s (%s name) is gluoncnn's %s%s", name, zoo.source, zoo.ours,
                        f" ({zoo.note})" if zoo.note else '')
        return _MODELS[zoo.ours]
    if zoo is not None:
        raise OptionError(f"{name!r} ({zoo.source} name) is not a gluoncnn model; the nearest "
                          f"in architecture is {zoo.describe_ours()}: {zoo.note}")
    names = closest_names(str(name), list(_MODELS), n=len(_MODELS), cutoff=0.3)
    names += [c for c in sorted(_MODELS) if c not in names]
    raise OptionError(f"unknown model {name!r}. Valid names, closest first: "
                      f"{', '.join(names)}")


def _get_builder(name):
    return model_info(name).builder


def families() -> list[str]:
    """The model families, in the order the course meets them."""
    return list(dict.fromkeys(info.family for info in _MODELS.values()))


def list_models(pattern: str | None = None, family: str | None = None) -> list[str]:
    """Names of the models ``get_model`` builds, sorted; ``pattern`` is a glob
    (``'resnet*'``), ``family`` a family name (``'densenet'``)."""
    if family is not None and family not in families():
        raise OptionError(f"unknown family {family!r}; the families are: {', '.join(families())}")
    return sorted(name for name, info in _MODELS.items()
                  if (pattern is None or fnmatch.fnmatchcase(name, _key(pattern)))
                  and (family is None or info.family == family))


def _options_of(builder):
    return {p.name: p.default for p in inspect.signature(builder).parameters.values()
            if p.kind in (p.POSITIONAL_OR_KEYWORD, p.KEYWORD_ONLY)}


def model_options(name: str) -> dict[str, Any]:
    """The options (keyword arguments and defaults) that model ``name`` takes."""
    return _options_of(_get_builder(name))


def get_model(name: str, pretrained: str | None = None, **options: Any):
    """Build model ``name`` with ``options`` (``classes=``, ``in_channels=``, ``small_input=``
    ...); ``pretrained=PATH`` then loads an MXNet model-zoo / GluonCV ``.params`` file into it
    (:func:`gluoncnn.models.load_pretrained`).

    >>> net = get_model('resnet18', classes=10, in_channels=1, small_input=True)
    """
    builder = _get_builder(name)
    valid = _options_of(builder)
    unknown = [k for k in options if k not in valid]
    if unknown:
        hints = []
        for k in unknown:
            close = closest_names(k, list(valid), n=1)
            hints.append(f"{k!r}" + (f" (did you mean {close[0]!r}?)" if close else ""))
        raise UnknownOptionError(
            f"model {builder.__name__!r} does not take option {', '.join(hints)}. "
            f"Its options are: {', '.join(f'{k}={v!r}' for k, v in valid.items())}")
    net = builder(**options)
    if pretrained is not None:
        from .pretrained import load_pretrained
        load_pretrained(net, pretrained)
    return net


# --------------------------------------------------------------------------------------------
# The table `gluoncnn list` prints
# --------------------------------------------------------------------------------------------
def model_table(pattern: str | None = None,
                family: str | None = None) -> list[dict[str, Any]]:
    """One row per model (``pattern``/``family`` as :func:`list_models`), grouped by family in
    the course's order, by depth within a family (then by name): name, family, params,
    train_only_params, macs, input (C, H, W), classes, paper, short_paper, small_only,
    description, zoo_names (the model zoo's and GluonCV's names of the same net). What
    ``gluoncnn list`` prints."""
    names = set(list_models(pattern, family))
    order = {f: i for i, f in enumerate(families())}
    rows = [{'name': i.name, 'family': i.family, 'params': i.params,
             'train_only_params': i.train_only_params, 'macs': i.macs,
             'input': list(i.input_shape), 'classes': i.default_classes, 'paper': i.paper,
             'short_paper': i.short_paper, 'small_only': i.small_only,
             'description': i.description,
             'zoo_names': [z.name for z in ZOO_NAMES.values() if z.same and z.ours == i.name]}
            for i in _MODELS.values() if i.name in names]
    return sorted(rows, key=lambda r: (order[r['family']], _depth(r['name']), r['name']))


def _depth(name: str) -> float:
    """The first number in a model's name that is not part of a word (``resnet101`` -> 101,
    ``googlenet_d2l`` -> none), its depth or version, so that ``resnet18`` comes before
    ``resnet101``; names without one last."""
    number = re.search(r'\d+(?![a-z\d])', name)
    return int(number.group()) if number else math.inf
