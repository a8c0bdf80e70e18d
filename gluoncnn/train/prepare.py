"""What ``fit`` checks and builds before the first batch: the config's machine checks, the
initializer, the Trainer, and one look at the data and the net's output."""
from __future__ import annotations

import contextlib
import logging
import numbers
import warnings
from typing import NamedTuple

import mxnet as mx
from mxnet import autograd, gluon, nd

from ..config import INITIALIZERS, TrainConfig
from ..errors import InputError, OptionError
from . import precision
from .budget import BudgetSchedule
from .devices import parse_ctx
from .losses import split_outputs
from .schedule import LRSchedule, make_schedule

_INITIALIZERS = dict(zip(INITIALIZERS, (lambda: None, mx.init.MSRAPrelu, mx.init.Xavier)))


def make_initializer(init) -> mx.init.Initializer | None:
    """``None``/``'paper'`` -> None (the net's own default), a name of :data:`INITIALIZERS` ->
    its ``mx.init`` initializer: ``'he'`` is MXNet's ``mx.init.MSRAPrelu()``, as the chapters
    use it (He et al., ICCV 2015: Gaussian, variance 2 / (1 + 0.25**2) over the mean of fan-in
    and fan-out, about twice Glorot's); ``'xavier'`` is ``mx.init.Xavier()`` (uniform Glorot,
    Glorot and Bengio, 2010). An ``mx.init.Initializer`` is returned as it is."""
    if init is None or isinstance(init, mx.init.Initializer):
        return init
    make = _INITIALIZERS.get(str(init).lower())
    if make is None:
        raise OptionError(f"unknown init {init!r}; valid: {', '.join(INITIALIZERS)} or an "
                          f"mx.init.Initializer")
    return make()


class CheckedConfig(NamedTuple):
    """What :func:`check_config` built from a config: fit trains with these."""
    schedule: LRSchedule | BudgetSchedule
    initializer: mx.init.Initializer | None
    ctxs: list[mx.Context]


def check_config(config: TrainConfig, amp: bool = True) -> CheckedConfig:
    """The checks of a config that need MXNet or the machine (the config checked its values
    when it was made): the schedule's text (over the budget's fraction with a budget), the
    initializer, the devices, the precision on them (``amp``), tensorboardX for ``log_dir``. A
    run folder runs them before it writes anything, the precision's warnings silenced (fit says
    them); ``fit`` runs them first, all but the precision, which its speed choice makes once for
    the net (:mod:`.calibrate`)."""
    schedule = make_schedule(config.lr, config.epochs, config.schedule, config.warmup_epochs,
                             config.budget, config.warmup_fraction)
    initializer = make_initializer(config.init)
    ctxs = parse_ctx(config.ctx)
    if amp:
        with warnings.catch_warnings(), _silenced(precision.log):
            warnings.simplefilter("ignore")
            precision.choose_amp_dtype(config.amp, ctxs)
    if config.log_dir:
        from .tensorboard import summary_writer_class
        summary_writer_class()  # a missing tensorboardX is said before anything runs
    return CheckedConfig(schedule, initializer, ctxs)


@contextlib.contextmanager
def _silenced(logger):
    level = logger.level
    logger.setLevel(logging.ERROR)
    try:
        yield
    finally:
        logger.setLevel(level)


def make_trainer(net, optimizer, lr, momentum, wd, kv, update_on_kvstore) -> gluon.Trainer:
    params = {"learning_rate": lr, "wd": wd}
    if optimizer in ("sgd", "nag"):
        params["momentum"] = momentum
    return gluon.Trainer(net.collect_params(), optimizer, params, kvstore=kv,
                         update_on_kvstore=update_on_kvstore)


def num_batches_of(train_iter, max_batches) -> int | None:
    """Batches per epoch (None when the iterator has no length)."""
    try:
        n = len(train_iter)
    except TypeError:
        return None
    return min(n, max_batches) if max_batches is not None else n


def first_batch(train_iter):
    try:
        batch = next(iter(train_iter))
    except StopIteration:
        raise OptionError("the training data is empty; check the dataset and that batch_size is "
                          "not larger than it with last_batch='discard'") from None
    except TypeError:
        raise InputError(f"train_iter must be an iterable of (X, y) batches, such as a gluon "
                         f"DataLoader, got {type(train_iter).__name__}") from None
    if not isinstance(batch, (tuple, list)) or len(batch) != 2:
        raise OptionError("each training batch must be a pair (X, y) of images and integer labels")
    X, y = batch
    if not isinstance(X, nd.NDArray):
        X, y = nd.array(X), nd.array(y)
    return X, y


def check_output_size(net, X, y, ctx, classes, dataset_classes):
    """One forward in inference mode: the net's output width must be the number of classes."""
    if y.ndim != 1:
        raise OptionError(f"labels must be class indices of shape (batch,), got shape {y.shape}; "
                          f"pass integer labels, not one-hot vectors")
    with autograd.predict_mode():
        out, _ = split_outputs(net(X[:min(2, X.shape[0])].as_in_context(ctx)))
    if out.ndim != 2:
        raise OptionError(f"the model's output has shape {out.shape}; a classifier must output "
                          f"(batch, classes) scores")
    width = out.shape[1]
    want = classes if classes is not None else dataset_classes
    if want is not None and width != want:
        raise OptionError(
            f"the model outputs {width} scores per example but the data has {want} classes; "
            f"build the model with classes={want} (e.g. get_model('lenet', classes={want}))")
    top = int(y.max().asscalar())
    if top >= width:
        raise OptionError(
            f"the labels go up to {top} but the model outputs only {width} scores per example; "
            f"build the model with classes= the number of classes of the dataset (at least "
            f"{top + 1})")
    return width


def finish_deferred_init(net, X, ctx):
    """Run one training-mode forward (no gradient) if parameters are still uninitialised after
    the inference-mode check: branches used only in training (GoogLeNet's auxiliary heads) then
    get their shapes before the Trainer and the kvstore see them. Running statistics the forward
    touched (BatchNorm) are put back."""
    params = list(net.collect_params().values())
    if not any(p._deferred_init for p in params):
        return
    kept = {p.name: p.data(ctx).copy() for p in params
            if p.grad_req == "null" and not p._deferred_init}
    with autograd.train_mode():
        net(X[:min(2, X.shape[0])].as_in_context(ctx))
    for p in params:
        if p.name in kept:
            p.set_data(kept[p.name])


def dataset_classes(train_iter):
    for obj in (train_iter, getattr(train_iter, "_dataset", None)):
        for attr in ("num_classes", "classes"):
            v = getattr(obj, attr, None)
            if isinstance(v, numbers.Integral):
                return int(v)
            if isinstance(v, (list, tuple)) and v:
                return len(v)
    return None
