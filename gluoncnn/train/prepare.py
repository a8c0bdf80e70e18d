"""What ``fit`` checks and builds before the first batch: its arguments, the initializer, the
Trainer, and one look at the data and the net's output."""
from __future__ import annotations

import math
import numbers

import mxnet as mx
from mxnet import autograd, gluon, nd

from ..errors import InputError, OptionError
from .losses import split_outputs

#: Optimizers ``fit`` accepts (``nesterov=True`` with ``'sgd'`` means ``'nag'``).
OPTIMIZERS = ("sgd", "nag", "adam", "rmsprop")
_INITIALIZERS = {"paper": lambda: None, "he": mx.init.MSRAPrelu, "xavier": mx.init.Xavier}
#: Initialisations ``fit(init=...)`` accepts by name: ``'paper'`` is the model's own
#: (``net.default_init``, the paper's); ``'he'`` is MXNet's ``mx.init.MSRAPrelu()``, as the
#: chapters use it (He et al., ICCV 2015: Gaussian, variance 2 / (1 + 0.25**2) over the mean of
#: fan-in and fan-out, about twice Glorot's); ``'xavier'`` is ``mx.init.Xavier()`` (uniform
#: Glorot, Glorot and Bengio, 2010).
INITIALIZERS = tuple(_INITIALIZERS)
#: float32's largest number: a larger rate overflows in the update.
FLOAT32_MAX = 3.4028234663852886e38


def make_initializer(init) -> mx.init.Initializer | None:
    """``None``/``'paper'`` -> None (the net's own default), a name of :data:`INITIALIZERS` ->
    its ``mx.init`` initializer; an ``mx.init.Initializer`` is returned as it is."""
    if init is None or isinstance(init, mx.init.Initializer):
        return init
    make = _INITIALIZERS.get(str(init).lower())
    if make is None:
        raise OptionError(f"unknown init {init!r}; valid: {', '.join(INITIALIZERS)} or an "
                          f"mx.init.Initializer")
    return make()


def _positive_int(name, v, hint):
    if isinstance(v, bool) or not isinstance(v, numbers.Integral) or v <= 0:
        raise OptionError(f"{name} must be a positive integer, got {v!r}; {hint}")


def _finite(v):
    return isinstance(v, numbers.Real) and not isinstance(v, bool) and math.isfinite(v)


def check_args(epochs, optimizer, lr, momentum, wd, warmup_epochs, label_smoothing,
               clip_gradient, aux_weight, max_batches, classes, keep_checkpoints,
               nesterov) -> str:
    """Check ``fit``'s numbers and names (one :class:`OptionError` saying what to change);
    returns the optimizer's name (``'nag'`` for SGD with ``nesterov=True``)."""
    _positive_int("epochs", epochs, "e.g. epochs=10")
    if max_batches is not None:
        _positive_int("max_batches", max_batches, "or None for whole epochs")
    if classes is not None and not isinstance(classes, (list, tuple)):
        _positive_int("classes", classes, "the number of classes of the dataset, e.g. 10, or "
                      "the list of class names")
    if keep_checkpoints is not None:
        _positive_int("keep_checkpoints", keep_checkpoints, "or None to keep every epoch")
    name = optimizer.lower() if isinstance(optimizer, str) else optimizer
    if name not in OPTIMIZERS + ("nesterov",):
        raise OptionError(f"unknown optimizer {optimizer!r}; valid: {', '.join(OPTIMIZERS)} "
                          f"(or 'sgd' with nesterov=True)")
    if not _finite(lr) or not 0 < lr < FLOAT32_MAX:
        raise OptionError(f"lr must be a positive number, finite and below 3.4e38 (float32), got "
                          f"{lr!r}; e.g. lr=0.1 for SGD, lr=0.001 for Adam")
    if not _finite(momentum) or not 0 <= momentum < 1:
        raise OptionError(f"momentum must be in [0, 1), got {momentum!r}; 0.9 is usual")
    if not _finite(wd) or not 0 <= wd < FLOAT32_MAX:
        raise OptionError(f"wd (weight decay) must be a finite number >= 0, got {wd!r}; e.g. "
                          f"wd=5e-4")
    if not _finite(warmup_epochs) or not 0 <= warmup_epochs < epochs:
        raise OptionError(f"warmup_epochs must be >= 0 and smaller than epochs={epochs}, "
                          f"got {warmup_epochs!r}")
    if not _finite(label_smoothing) or not 0 <= label_smoothing < 1:
        raise OptionError(f"label_smoothing must be in [0, 1), got {label_smoothing!r}; 0.1 is "
                          f"usual")
    if clip_gradient is not None and not (_finite(clip_gradient) and clip_gradient > 0):
        raise OptionError(f"clip_gradient must be a positive norm (e.g. 5.0) or None, "
                          f"got {clip_gradient!r}")
    if not _finite(aux_weight) or aux_weight < 0:
        raise OptionError(f"aux_weight must be >= 0, got {aux_weight!r}; GoogLeNet used 0.3")
    name = "nag" if name == "nesterov" else name
    if nesterov:
        if name not in ("sgd", "nag"):
            raise OptionError(f"nesterov=True applies to SGD; use optimizer='sgd' (or 'nag'), "
                              f"not {optimizer!r}")
        name = "nag"
    return name


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
