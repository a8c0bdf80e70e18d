"""Training and evaluation: what every chapter and the ``gluoncnn train`` command train with.

Two entry points share one inner training step and one evaluation loop:

- :func:`train_ch5` is the d2lzh course's loop, same signature and printed lines
  (``training on gpu(0)``, then ``epoch 1, loss 2.1157, train acc 0.210, test acc 0.511,
  time 154.6 sec``), so the seed chapters' code runs as is.
- :func:`fit` is the full engine: one context or several (data parallel with
  ``gluon.utils.split_and_load`` and one ``Trainer``), MXNet's distributed KVStore
  (``kvstore='dist_sync'``, data sharded by worker rank), SGD with momentum / Nesterov / Adam /
  RMSProp, weight decay, learning-rate schedules (step, cosine, linear warm-up, reduce on
  plateau), label smoothing, gradient clipping by global norm, GoogLeNet's auxiliary losses,
  mixed precision on GPUs (``mxnet.contrib.amp``), atomic checkpoints with ``resume=``, a clear
  stop on a NaN/inf loss, a progress bar on long epochs, live curves in notebooks and a saved PNG,
  and a :class:`History` of the run.

:func:`evaluate` measures top-1/top-k accuracy, loss, the confusion matrix, per-class accuracy and
throughput (examples/sec, the clock stopped after ``mx.nd.waitall()``), always in inference mode.

Several machines (MXNet's ps-lite parameter server, shipped in the mxnet wheel): run the same
``fit(..., kvstore='dist_sync')`` script in every process with the ``DMLC_*`` environment variables
set (see :func:`dist_env`); each worker trains on its ``1/num_workers`` shard of the training set.
"""
import contextlib
import csv
import json
import math
import numbers
import os
import random
import sys
import time
import warnings

import numpy as np
import mxnet as mx
from mxnet import autograd, gluon, nd

from . import progress as _progress

__all__ = [
    "try_gpu", "try_all_gpus", "parse_ctx", "train_ch5", "evaluate_accuracy", "evaluate", "fit",
    "History", "LRSchedule", "TrainingDivergedError", "ContextError", "LabelSmoothingLoss",
    "save_checkpoint", "load_checkpoint", "seed_everything", "shard_loader", "dist_env", "launch",
    "OPTIMIZERS", "SCHEDULES", "INITIALIZERS",
]

#: Optimizers ``fit`` accepts (``nesterov=True`` with ``'sgd'`` means ``'nag'``).
OPTIMIZERS = ("sgd", "nag", "adam", "rmsprop")
#: Learning-rate schedules ``fit`` accepts, with their string forms.
SCHEDULES = ("constant", "step", "step:E1,E2,...", "cosine", "plateau", "plateau:PATIENCE")
_INITIALIZERS = {"paper": lambda: None, "he": mx.init.MSRAPrelu, "xavier": mx.init.Xavier}
#: Initialisations ``fit(init=...)`` accepts by name: ``'paper'`` is the model's own
#: (``net.default_init``, the paper's); ``'he'`` is MXNet's ``mx.init.MSRAPrelu()``, as the
#: chapters use it (He et al., ICCV 2015: Gaussian, variance 2 / (1 + 0.25**2) over the mean of
#: fan-in and fan-out, about twice Glorot's); ``'xavier'`` is ``mx.init.Xavier()`` (uniform
#: Glorot, Glorot and Bengio, 2010).
INITIALIZERS = tuple(_INITIALIZERS)


def make_initializer(init):
    """``None``/``'paper'`` -> None (the net's own default), a name of :data:`INITIALIZERS` ->
    its ``mx.init`` initializer; an ``mx.init.Initializer`` is returned as it is."""
    if init is None or isinstance(init, mx.init.Initializer):
        return init
    make = _INITIALIZERS.get(str(init).lower())
    if make is None:
        raise ValueError(f"unknown init {init!r}; valid: {', '.join(INITIALIZERS)} or an "
                         f"mx.init.Initializer")
    return make()


class TrainingDivergedError(RuntimeError):
    """The loss became NaN or infinite; ``epoch``, ``batch`` and ``checkpoint`` say where and what
    is left (``checkpoint`` is the last good checkpoint's ``.params`` path, or ``None``)."""

    def __init__(self, message, epoch=None, batch=None, checkpoint=None):
        super().__init__(message)
        self.epoch = epoch
        self.batch = batch
        self.checkpoint = checkpoint


class ContextError(ValueError):
    """A context (device) was asked for that this machine or this MXNet build does not have."""


# --------------------------------------------------------------------------------------------
# Devices
# --------------------------------------------------------------------------------------------
def _num_gpus():
    try:
        return mx.context.num_gpus()
    except Exception:  # a CPU build without CUDA can raise instead of answering 0
        return 0


def try_gpu(i=0):
    """``mx.gpu(i)`` if that GPU exists, else ``mx.cpu()`` (as in d2l)."""
    return mx.gpu(i) if _num_gpus() >= i + 1 else mx.cpu()


def try_all_gpus():
    """Every GPU as a list of contexts, or ``[mx.cpu()]`` when there is none (as in d2l)."""
    n = _num_gpus()
    return [mx.gpu(i) for i in range(n)] if n else [mx.cpu()]


def _parse_one_ctx(item):
    if isinstance(item, mx.Context):
        ctx = item
    elif isinstance(item, str):
        text = item.strip().lower().replace("(", ":").replace(")", "")
        kind, _, index = text.partition(":")
        if kind not in ("cpu", "gpu") or (index and not index.isdigit()):
            raise ContextError(
                f"cannot read the context {item!r}; write 'cpu', 'gpu', 'gpu:1' or a list such as "
                f"'gpu:0,gpu:1' (or pass mx.cpu(), mx.gpu(0))")
        ctx = mx.Context(kind, int(index) if index else 0)
    else:
        raise ContextError(f"cannot use {item!r} as a context; pass mx.cpu(), mx.gpu(i), a list of "
                           f"them, or a string such as 'gpu:0,gpu:1'")
    if ctx.device_type == "gpu":
        n = _num_gpus()
        if ctx.device_id >= n:
            where = ("this MXNet build has no CUDA support (install mxnet-cu112 from "
                     "requirements-gpu.txt on a GPU machine)" if not mx.runtime.Features()
                     .is_enabled("CUDA") else f"this machine has {n} GPU(s)")
            raise ContextError(f"{ctx} does not exist: {where}. Use ctx='cpu' (or "
                               f"gluoncnn.train.try_all_gpus()) to train on what is there")
    return ctx


def parse_ctx(ctx=None):
    """Turn ``ctx`` into a list of contexts, checking that each exists.

    Accepts ``None`` (the first GPU, else the CPU), a ``mx.Context``, a list of them, or strings:
    ``'cpu'``, ``'gpu'``, ``'gpu:1'``, ``'gpu(1)'``, ``'gpu:0,gpu:1'``, ``'gpu:all'``.
    Raises :class:`ContextError` naming what to use instead.
    """
    if ctx is None:
        return [try_gpu()]
    if isinstance(ctx, str):
        if ctx.strip().lower() in ("gpu:all", "gpus", "all"):
            gpus = try_all_gpus()
            if gpus[0].device_type != "gpu" and ctx.strip().lower() != "all":
                raise ContextError("ctx='gpu:all' but no GPU is available; use ctx='cpu'")
            return gpus
        items = [s for s in ctx.split(",") if s.strip()]
    elif isinstance(ctx, mx.Context):
        items = [ctx]
    else:
        items = list(ctx)
    if not items:
        raise ContextError("no context given; pass ctx='cpu', ctx=mx.gpu(0) or a list of contexts")
    ctxs = [_parse_one_ctx(c) for c in items]
    if len(set(ctxs)) != len(ctxs):
        raise ContextError(f"a context is listed twice in {ctxs}; list each device once")
    return ctxs


def _ctx_text(ctxs):
    return str(ctxs[0]) if len(ctxs) == 1 else "[" + ", ".join(str(c) for c in ctxs) + "]"


# --------------------------------------------------------------------------------------------
# Reproducibility
# --------------------------------------------------------------------------------------------
def seed_everything(seed):
    """Seed MXNet's (every device), numpy's and Python's generators.

    numpy's global generator is also what gluon's ``DataLoader(shuffle=True)`` uses
    (``RandomSampler`` calls ``np.random.shuffle``), so the data order is fixed too.
    """
    seed = int(seed)
    mx.random.seed(seed)
    np.random.seed(seed % (2 ** 32))
    random.seed(seed)


def _epoch_seed(seed, epoch):
    # Each epoch starts from a seed of its own, so a resumed run draws the same shuffles and
    # dropout masks as an uninterrupted one (MXNet's generator state cannot be saved).
    return (int(seed) * 1000003 + 7919 * (epoch + 1)) % (2 ** 31 - 1)


# --------------------------------------------------------------------------------------------
# Losses and the shared training step
# --------------------------------------------------------------------------------------------
class LabelSmoothingLoss(gluon.loss.Loss):
    """Softmax cross-entropy against ``(1 - eps) * one_hot(y) + eps / classes`` (Szegedy et al.,
    "Rethinking the Inception Architecture for Computer Vision", CVPR 2016). ``eps=0`` is the
    plain ``SoftmaxCrossEntropyLoss``. Input: logits ``(batch, classes)``, labels ``(batch,)``;
    output: one loss per example."""

    def __init__(self, eps=0.1, weight=None, batch_axis=0, **kwargs):
        super().__init__(weight, batch_axis, **kwargs)
        self._eps = float(eps)

    def hybrid_forward(self, F, pred, label):
        logp = F.log_softmax(pred, axis=-1)
        nll = -F.pick(logp, label, axis=-1)
        if self._eps > 0:
            nll = (1 - self._eps) * nll - self._eps * F.mean(logp, axis=-1)
        return nll


def _split_outputs(out):
    """``(logits, [aux...])``: GoogLeNet in training returns ``(logits, aux1, aux2)``."""
    if isinstance(out, (tuple, list)):
        return out[0], list(out[1:])
    return out, []


def _split_batch(X, y, ctxs):
    """Split a batch over the contexts (``split_and_load``); a batch smaller than the number of
    contexts uses only as many contexts as it has examples."""
    n = X.shape[0]
    use = ctxs[:max(1, min(len(ctxs), n))]
    if len(use) == 1:
        return [X.as_in_context(use[0])], [y.as_in_context(use[0])]
    return (gluon.utils.split_and_load(X, use, even_split=False),
            gluon.utils.split_and_load(y, use, even_split=False))


class _NonFiniteLoss(Exception):
    def __init__(self, value):
        super().__init__(value)
        self.value = value


def _train_step(net, X, y, ctxs, loss_fn, trainer, step_size, aux_weight=0.3, amp_on=False,
                clip=None, report_loss_fn=None):
    """One optimizer step on batch ``(X, y)``; the inner loop of both ``train_ch5`` and ``fit``.

    Returns ``(loss_sum, correct, n)`` as Python numbers (``loss_sum`` of the main output's loss
    over the batch). Raises ``_NonFiniteLoss`` *before* the update when the loss is NaN/inf, so
    the parameters in memory stay the last good ones.
    """
    Xs, ys = _split_batch(X, y, ctxs)
    losses, mains, logits_all = [], [], []
    with autograd.record():
        for Xi, yi in zip(Xs, ys):
            logits, aux = _split_outputs(net(Xi))
            main = loss_fn(logits, yi)
            total = main
            for a in aux:
                total = total + aux_weight * loss_fn(a, yi)
            losses.append(total)
            mains.append(main)
            logits_all.append(logits)
    if amp_on:
        from mxnet.contrib import amp
        with amp.scale_loss(losses, trainer) as scaled:
            autograd.backward(scaled)
    else:
        autograd.backward(losses)
    if report_loss_fn is not None:  # e.g. plain cross-entropy while training with smoothing
        with autograd.pause():
            mains = [report_loss_fn(lg, yi) for lg, yi in zip(logits_all, ys)]
    loss_sum = sum(m.sum().asscalar() for m in mains)
    total_sum = sum(t.sum().asscalar() for t in losses) if losses[0] is not mains[0] else loss_sum
    if not (math.isfinite(loss_sum) and math.isfinite(total_sum)):
        raise _NonFiniteLoss(loss_sum if not math.isfinite(loss_sum) else total_sum)
    if clip is not None:
        _clipped_update(trainer, ctxs, step_size, clip, amp_on)
    else:
        trainer.step(step_size)
    correct = sum((lg.argmax(axis=1) == yi.astype(lg.dtype)).sum().asscalar()
                  for lg, yi in zip(logits_all, ys))
    return float(loss_sum), float(correct), int(X.shape[0])


def _clipped_update(trainer, ctxs, step_size, max_norm, amp_on):
    """Sum gradients over devices/workers, clip their global L2 norm (of the per-example-averaged
    gradient, the one the optimizer uses) to ``max_norm``, then update."""
    trainer.allreduce_grads()
    params = [p for p in trainer._params if p.grad_req != "null"]
    scale = float(step_size)
    if amp_on and getattr(trainer, "_amp_loss_scaler", None) is not None:
        scale *= trainer._amp_loss_scaler.loss_scale
    ctx0 = params[0].list_ctx()[0]
    sq = nd.add_n(*[(p.grad(ctx0).astype("float32") ** 2).sum() for p in params])
    norm = math.sqrt(sq.asscalar()) / scale
    if math.isfinite(norm) and norm > max_norm:
        factor = max_norm / norm
        for p in params:
            for g in p.list_grad():
                g *= factor
    trainer.update(step_size)


# --------------------------------------------------------------------------------------------
# Evaluation
# --------------------------------------------------------------------------------------------
def _net_ctx(net):
    for p in net.collect_params().values():
        try:
            return p.list_ctx()
        except Exception:
            continue
    return [mx.cpu()]


def _limited(data_iter, max_batches):
    for i, batch in enumerate(data_iter):
        if max_batches is not None and i >= max_batches:
            break
        yield batch


def evaluate(net, data_iter, ctx=None, topk=5, loss=True, confusion=False, classes=None,
             max_batches=None):
    """Evaluate ``net`` on ``data_iter`` in inference mode (dropout off, GoogLeNet → logits only).

    Returns a dict with ``acc`` (top-1), ``top{k}`` (when the net has more than ``topk``
    classes), ``loss`` (mean softmax cross-entropy, when ``loss``), ``n`` (examples),
    ``time`` (seconds) and ``examples_per_sec`` (the clock stops after ``mx.nd.waitall()``, so
    asynchronous work is counted); with ``confusion=True`` also ``confusion`` (numpy
    ``classes x classes``, rows = true class, columns = predicted) and ``per_class_acc``.
    ``classes`` (a number or the class names) sizes the confusion matrix (default: the net's
    output width). ``ctx`` may be one context or several (the batch is split over them; the net's parameters
    are moved there if they are elsewhere); by default the net's own.
    """
    ctxs = parse_ctx(ctx) if ctx is not None else _net_ctx(net)
    if ctx is not None and _is_initialized(net) and not set(ctxs) <= set(_net_ctx(net)):
        net.collect_params().reset_ctx(ctxs)
    if topk is not None and (not isinstance(topk, numbers.Integral) or topk < 1):
        raise ValueError(f"topk must be a positive integer or None, got {topk!r}")
    ce = gluon.loss.SoftmaxCrossEntropyLoss()
    correct = {c: nd.zeros((1,), ctx=c) for c in ctxs}
    correct_k = {c: nd.zeros((1,), ctx=c) for c in ctxs}
    loss_sum = {c: nd.zeros((1,), ctx=c) for c in ctxs}
    conf = None
    n, num_out = 0, None
    nd.waitall()
    start = time.time()
    with autograd.predict_mode():
        for X, y in _limited(data_iter, max_batches):
            Xs, ys = _split_batch(X, y, ctxs)
            for Xi, yi in zip(Xs, ys):
                logits, _ = _split_outputs(net(Xi))
                c = Xi.context
                num_out = logits.shape[1]
                yf = yi.astype("float32")
                pred = logits.argmax(axis=1)
                correct[c] += (pred == yf).sum()
                if topk is not None and num_out > topk:
                    idx = nd.topk(logits, k=topk, ret_typ="indices", dtype="float32")
                    correct_k[c] += (idx == yf.reshape((-1, 1))).sum()
                if loss:
                    loss_sum[c] += ce(logits, yi).sum()
                if confusion:
                    k = _num_classes(classes) or num_out
                    if conf is None:
                        conf = np.zeros((k, k), dtype=np.int64)
                    t = yi.asnumpy().astype(np.int64)
                    p = pred.asnumpy().astype(np.int64)
                    conf += np.bincount(t * k + p, minlength=k * k).reshape(k, k)
            n += X.shape[0]
    nd.waitall()
    elapsed = time.time() - start
    if n == 0:
        raise ValueError("the evaluation data is empty; pass a data iterator with at least one "
                         "batch")
    result = {"acc": sum(v.asscalar() for v in correct.values()) / n}
    if topk is not None and num_out is not None and num_out > topk:
        result[f"top{topk}"] = sum(v.asscalar() for v in correct_k.values()) / n
    if loss:
        result["loss"] = sum(v.asscalar() for v in loss_sum.values()) / n
    result["n"] = n
    result["time"] = elapsed
    result["examples_per_sec"] = n / elapsed if elapsed > 0 else float("inf")
    if confusion:
        result["confusion"] = conf
        totals = conf.sum(axis=1)
        with np.errstate(invalid="ignore", divide="ignore"):
            result["per_class_acc"] = np.where(totals > 0, np.diag(conf) / np.maximum(totals, 1),
                                               np.nan)
    return result


def evaluate_accuracy(data_iter, net, ctx=None):
    """Top-1 accuracy of ``net`` on ``data_iter`` (d2lzh's signature: data first)."""
    return evaluate(net, data_iter, ctx=ctx, topk=None, loss=False)["acc"]


# --------------------------------------------------------------------------------------------
# d2lzh's train_ch5
# --------------------------------------------------------------------------------------------
def train_ch5(net, train_iter, test_iter, batch_size, trainer, ctx, num_epochs):
    """Train and evaluate like the d2lzh course's ``train_ch5`` (softmax cross-entropy, one
    ``trainer.step(batch_size)`` per batch), printing ``training on <ctx>`` and one line per
    epoch: ``epoch N, loss L, train acc A, test acc B, time T sec``. ``ctx`` may also be a list of
    contexts (data parallel). Returns nothing, as in the course."""
    if not isinstance(batch_size, numbers.Integral) or batch_size <= 0:
        raise ValueError(f"batch_size must be a positive integer, got {batch_size!r}; use the "
                         f"batch size the data iterators were built with (e.g. 256)")
    if not isinstance(num_epochs, numbers.Integral) or num_epochs <= 0:
        raise ValueError(f"num_epochs must be a positive integer, got {num_epochs!r}")
    ctxs = parse_ctx(ctx)
    print("training on", _ctx_text(ctxs))
    loss = gluon.loss.SoftmaxCrossEntropyLoss()
    for epoch in range(num_epochs):
        train_l_sum, train_acc_sum, n, start = 0.0, 0.0, 0, time.time()
        for i, (X, y) in enumerate(train_iter):
            try:
                l_sum, acc_sum, m = _train_step(net, X, y, ctxs, loss, trainer, batch_size)
            except _NonFiniteLoss as err:
                raise TrainingDivergedError(
                    f"the loss became {err.value} in epoch {epoch + 1}, batch {i + 1}; lower the "
                    f"learning rate of the trainer", epoch + 1, i + 1) from None
            train_l_sum += l_sum
            train_acc_sum += acc_sum
            n += m
        test_acc = evaluate_accuracy(test_iter, net, ctxs)
        print('epoch %d, loss %.4f, train acc %.3f, test acc %.3f, time %.1f sec'
              % (epoch + 1, train_l_sum / n, train_acc_sum / n, test_acc, time.time() - start))


# --------------------------------------------------------------------------------------------
# History
# --------------------------------------------------------------------------------------------
class History:
    """What a run did, one record (a dict) per epoch.

    Keys: ``epoch`` (1-based), ``loss`` (mean train loss), ``train_acc``, ``test_acc`` (None
    without test data), ``test_loss``, ``test_top5`` (when the net has more than 5 classes),
    ``lr`` (at the end of the epoch), ``time`` (seconds for the epoch, evaluation included, as in
    d2l), ``examples_per_sec`` (training throughput). ``meta`` holds the run's settings.
    """

    FIELDS = ("epoch", "loss", "train_acc", "test_acc", "test_loss", "test_top5", "lr", "time",
              "examples_per_sec")

    def __init__(self, records=None, meta=None):
        self.records = [dict(r) for r in (records or [])]
        self.meta = dict(meta or {})

    def append(self, record):
        self.records.append(dict(record))

    def __len__(self):
        return len(self.records)

    def __iter__(self):
        return iter(self.records)

    def __getitem__(self, i):
        return self.records[i]

    def __repr__(self):
        if not self.records:
            return "History(no epochs)"
        last = self.records[-1]
        test = f", test acc {last['test_acc']:.3f}" if last.get("test_acc") is not None else ""
        return (f"History({len(self.records)} epochs; last: loss {last['loss']:.4f}, "
                f"train acc {last['train_acc']:.3f}{test})")

    def column(self, key):
        """One value per epoch, e.g. ``history.column('test_acc')``."""
        return [r.get(key) for r in self.records]

    def best(self, key="test_acc"):
        """The record with the highest ``key`` (lowest for keys containing 'loss'/'time')."""
        rows = [r for r in self.records if r.get(key) is not None]
        if not rows:
            raise ValueError(f"no epoch has a value for {key!r}; keys are "
                             f"{', '.join(self.FIELDS)}")
        lower = "loss" in key or key == "time"
        return (min if lower else max)(rows, key=lambda r: r[key])

    @property
    def df(self):
        """The records as a pandas ``DataFrame``."""
        import pandas as pd
        return pd.DataFrame(self.records)

    def _fields(self):
        extra = [k for r in self.records for k in r if k not in self.FIELDS]
        return [k for k in self.FIELDS if any(k in r for r in self.records)] + \
            sorted(set(extra), key=extra.index)

    def to_csv(self, path):
        """Write one row per epoch (atomically); returns the path."""
        def write(f):
            w = csv.DictWriter(f, fieldnames=self._fields())
            w.writeheader()
            for r in self.records:
                w.writerow({k: ("" if r.get(k) is None else r.get(k)) for k in self._fields()})
        _atomic_text(path, write)
        return path

    def to_json(self, path):
        """Write ``{"meta": ..., "records": [...]}`` (atomically); returns the path."""
        _atomic_text(path, lambda f: json.dump({"meta": self.meta, "records": self.records}, f,
                                               indent=1, default=_json_default))
        return path

    def save(self, path):
        """Write CSV or JSON according to the file's extension."""
        return self.to_csv(path) if str(path).lower().endswith(".csv") else self.to_json(path)

    @classmethod
    def from_json(cls, path):
        with open(path) as f:
            data = json.load(f)
        return cls(data.get("records", []), data.get("meta", {}))

    def plot(self, path=None):
        """Loss and accuracies against epochs (a matplotlib Figure); saved as PNG if ``path``."""
        return _progress.plot_history(self.records, path)


def _json_default(obj):
    if isinstance(obj, (np.integer,)):
        return int(obj)
    if isinstance(obj, (np.floating,)):
        return float(obj)
    if isinstance(obj, np.ndarray):
        return obj.tolist()
    return str(obj)


# --------------------------------------------------------------------------------------------
# Atomic files and checkpoints
# --------------------------------------------------------------------------------------------
def _fsync_dir(folder):
    try:
        fd = os.open(folder, os.O_RDONLY)
    except OSError:
        return
    try:
        os.fsync(fd)
    except OSError:
        pass
    finally:
        os.close(fd)


def _atomic_file(path, write_to):
    """Call ``write_to(tmp_path)``, fsync, then rename over ``path`` (same folder)."""
    path = os.fspath(path)
    folder = os.path.dirname(os.path.abspath(path))
    os.makedirs(folder, exist_ok=True)
    tmp = os.path.join(folder, f".{os.path.basename(path)}.{os.getpid()}.tmp")
    try:
        write_to(tmp)
        with open(tmp, "rb+") as f:
            os.fsync(f.fileno())
        os.replace(tmp, path)
    finally:
        if os.path.exists(tmp):
            os.remove(tmp)
    _fsync_dir(folder)
    return path


def _atomic_text(path, write):
    def write_to(tmp):
        with open(tmp, "w", newline="") as f:
            write(f)
    return _atomic_file(path, write_to)


def _ckpt_name(epoch):
    return f"epoch-{epoch:04d}"


def save_checkpoint(directory, epoch, net, trainer=None, meta=None, name=None, keep=None):
    """Write ``<name>.params``, ``<name>.states`` (trainer) and ``<name>.json`` atomically, then
    ``last.json`` pointing at them (``name`` defaults to ``epoch-0003``); ``keep`` old epoch
    checkpoints are kept (all when None). Returns the JSON record written."""
    directory = os.fspath(directory)
    os.makedirs(directory, exist_ok=True)
    name = name or _ckpt_name(epoch)
    record = dict(meta or {})
    record.update(epoch=int(epoch), params=name + ".params", created=time.time())
    _atomic_file(os.path.join(directory, name + ".params"), net.save_parameters)
    if trainer is not None:
        _atomic_file(os.path.join(directory, name + ".states"), trainer.save_states)
        record["states"] = name + ".states"
    _atomic_text(os.path.join(directory, name + ".json"),
                 lambda f: json.dump(record, f, indent=1, default=_json_default))
    if name.startswith("epoch-"):
        _atomic_text(os.path.join(directory, "last.json"),
                     lambda f: json.dump(record, f, indent=1, default=_json_default))
        if keep:
            _prune_checkpoints(directory, keep)
    return record


def _prune_checkpoints(directory, keep):
    epochs = sorted(int(f[6:10]) for f in os.listdir(directory)
                    if f.startswith("epoch-") and f.endswith(".json") and f[6:10].isdigit())
    for e in epochs[:-keep]:
        for ext in (".params", ".states", ".json"):
            p = os.path.join(directory, _ckpt_name(e) + ext)
            if os.path.exists(p):
                os.remove(p)


def load_checkpoint(path):
    """Read a checkpoint's JSON record: ``path`` is a checkpoint folder (its ``last.json``), a
    ``.json`` file, or a ``.params`` file with its ``.json`` beside it. Adds absolute
    ``params_path`` (and ``states_path``). Raises ``FileNotFoundError`` saying what is missing."""
    path = os.fspath(path)
    if os.path.isdir(path):
        js = os.path.join(path, "last.json")
    elif path.endswith(".params"):
        js = path[:-len(".params")] + ".json"
    else:
        js = path
    if not os.path.exists(js):
        raise FileNotFoundError(
            f"no checkpoint at {path!r} ({js} does not exist); pass the checkpoint_dir= of an "
            f"earlier run, or resume=False to start from scratch")
    with open(js) as f:
        record = json.load(f)
    folder = os.path.dirname(os.path.abspath(js))
    record["params_path"] = os.path.join(folder, record["params"])
    if record.get("states"):
        record["states_path"] = os.path.join(folder, record["states"])
    for key in ("params_path", "states_path"):
        if key in record and not os.path.exists(record[key]):
            raise FileNotFoundError(f"checkpoint {js} names {record[key]}, which is missing")
    return record


# --------------------------------------------------------------------------------------------
# Learning-rate schedules
# --------------------------------------------------------------------------------------------
class LRSchedule:
    """The learning rate as a function of (fractional) epoch, plus optional reduce-on-plateau.

    ``kind``: ``None``/``'constant'``; ``'step'`` (multiply by ``factor`` at each of
    ``milestones``, epochs counted from 1: ``'step:5,8'`` lowers the rate after epochs 5 and 8;
    plain ``'step'`` uses half and three quarters of the run); ``'cosine'`` (to ``min_lr``);
    ``'plateau'`` (multiply by ``factor`` when the monitored value has not improved for
    ``patience`` epochs: AlexNet's "divide by 10 when the validation error stops improving";
    ``'plateau:3'`` sets the patience); or a callable ``f(epoch_float) -> lr``. ``warmup_epochs``
    raises the rate linearly from about 0 over the first epochs (batch by batch).
    """

    def __init__(self, base_lr, epochs, kind=None, warmup_epochs=0, milestones=None, factor=0.1,
                 patience=2, min_lr=0.0):
        self.base_lr = float(base_lr)
        self.epochs = int(epochs)
        self.warmup_epochs = float(warmup_epochs)
        self.factor = float(factor)
        self.patience = int(patience)
        self.min_lr = float(min_lr)
        self.fn = None
        self.kind = "constant"
        self.milestones = list(milestones or [])
        if callable(kind):
            self.fn, self.kind = kind, "callable"
        elif kind is not None:
            self._parse(kind)
        # reduce-on-plateau state
        self.best = None
        self.bad_epochs = 0
        self.plateau_scale = 1.0

    def _parse(self, spec):
        if not isinstance(spec, str):
            raise ValueError(f"schedule must be a string such as 'cosine' or a function of the "
                             f"epoch, got {spec!r}; valid: {', '.join(SCHEDULES)}")
        name, _, arg = spec.strip().lower().partition(":")
        if name in ("constant", "none", "fixed"):
            self.kind = "constant"
        elif name == "step":
            self.kind = "step"
            if arg:
                try:
                    self.milestones = sorted(int(a) for a in arg.split(",") if a.strip())
                except ValueError:
                    raise ValueError(f"cannot read the milestones in schedule {spec!r}; write "
                                     f"'step:30,60' (epochs after which the rate is lowered)")
            elif not self.milestones:
                self.milestones = sorted({max(1, self.epochs // 2), max(1, self.epochs * 3 // 4)})
            bad = [m for m in self.milestones if m < 1]
            if bad:
                raise ValueError(f"step milestones must be epochs >= 1, got {bad}")
        elif name == "cosine":
            self.kind = "cosine"
        elif name == "plateau":
            self.kind = "plateau"
            if arg:
                if not arg.isdigit():
                    raise ValueError(f"cannot read the patience in schedule {spec!r}; write "
                                     f"'plateau:2' (epochs without improvement)")
                self.patience = int(arg)
        else:
            raise ValueError(f"unknown learning-rate schedule {spec!r}; valid: "
                             f"{', '.join(SCHEDULES)} (or a function epoch -> lr)")

    def __call__(self, t, steps_per_epoch=None):
        """The rate at fractional epoch ``t`` (0-based: batch ``i`` of epoch ``e`` is
        ``e + i / steps_per_epoch``)."""
        if self.kind == "callable":
            lr = float(self.fn(t))
        elif self.kind == "step":
            lr = self.base_lr * self.factor ** sum(1 for m in self.milestones if int(t) >= m)
        elif self.kind == "cosine":
            span = max(self.epochs - self.warmup_epochs, 1e-12)
            p = min(max(t - self.warmup_epochs, 0.0) / span, 1.0)
            lr = self.min_lr + (self.base_lr - self.min_lr) * (1 + math.cos(math.pi * p)) / 2
        else:
            lr = self.base_lr
        lr *= self.plateau_scale
        if self.warmup_epochs > 0 and t < self.warmup_epochs:
            step = 1.0 / steps_per_epoch if steps_per_epoch else 1.0
            lr *= min(1.0, (t + step) / self.warmup_epochs)
        return max(lr, self.min_lr) if self.kind == "plateau" else lr

    def end_epoch(self, value):
        """Report the monitored value (higher is better) at the end of an epoch; returns True
        when a plateau lowered the rate."""
        if self.kind != "plateau" or value is None:
            return False
        if self.best is None or value > self.best + 1e-4:
            self.best, self.bad_epochs = float(value), 0
            return False
        self.bad_epochs += 1
        if self.bad_epochs >= self.patience:
            self.plateau_scale *= self.factor
            self.bad_epochs = 0
            return True
        return False

    def state_dict(self):
        return {"kind": self.kind, "base_lr": self.base_lr, "milestones": self.milestones,
                "best": self.best, "bad_epochs": self.bad_epochs,
                "plateau_scale": self.plateau_scale}

    def load_state_dict(self, state):
        self.best = state.get("best")
        self.bad_epochs = int(state.get("bad_epochs", 0))
        self.plateau_scale = float(state.get("plateau_scale", 1.0))


# --------------------------------------------------------------------------------------------
# Distributed helpers
# --------------------------------------------------------------------------------------------
class _StridedBatches:
    """Every ``num_parts``-th batch of ``data_iter`` starting at ``index`` (for iterators that
    are not gluon DataLoaders)."""

    def __init__(self, data_iter, num_parts, index):
        self.data_iter, self.num_parts, self.index = data_iter, num_parts, index

    def __iter__(self):
        for i, batch in enumerate(self.data_iter):
            if i % self.num_parts == self.index:
                yield batch

    def __len__(self):
        n = len(self.data_iter)
        return len(range(self.index, n, self.num_parts))


def shard_loader(data_iter, num_parts, index):
    """The ``index``-th of ``num_parts`` shards of a training iterator.

    A gluon ``DataLoader`` is rebuilt over ``dataset.shard(num_parts, index)`` with the same batch
    size, shuffling, last-batch rule and batchify function; any other iterable keeps every
    ``num_parts``-th batch (give every worker the same seed so they draw the same order).
    """
    if num_parts == 1:
        return data_iter
    if isinstance(data_iter, gluon.data.DataLoader) and hasattr(data_iter, "_batch_sampler"):
        bs = data_iter._batch_sampler
        sampler = getattr(bs, "_sampler", None)
        if hasattr(bs, "_batch_size") and sampler is not None:
            return gluon.data.DataLoader(
                data_iter._dataset.shard(num_parts, index), batch_size=bs._batch_size,
                shuffle=isinstance(sampler, gluon.data.RandomSampler),
                last_batch=getattr(bs, "_last_batch", "keep"),
                batchify_fn=getattr(data_iter, "_batchify_fn", None),
                num_workers=getattr(data_iter, "_num_workers", 0))
    return _StridedBatches(data_iter, num_parts, index)


def dist_env(role, root_port, num_workers, num_servers=1, root_uri="127.0.0.1", base=None,
             node_host=None):
    """The environment a ps-lite process needs: ``role`` is 'scheduler', 'server' or 'worker'.

    Every process (on every machine) gets the same ``DMLC_PS_ROOT_URI``/``PORT`` (the scheduler's
    address) and counts; then workers run the training script with ``fit(...,
    kvstore='dist_sync')``, servers and the scheduler run ``python -c "import mxnet"``.
    ``node_host`` (``DMLC_NODE_HOST``) is the address this process listens on; by default
    127.0.0.1 when the scheduler is on a loopback address, so that a one-machine job stays on
    the loopback interface (ps-lite otherwise picks the first non-loopback interface), and
    ps-lite's own choice (or ``DMLC_INTERFACE``) otherwise.
    """
    env = dict(os.environ if base is None else base)
    env.update(DMLC_ROLE=role, DMLC_PS_ROOT_URI=str(root_uri), DMLC_PS_ROOT_PORT=str(root_port),
               DMLC_NUM_SERVER=str(num_servers), DMLC_NUM_WORKER=str(num_workers))
    if node_host is None and str(root_uri) in ("127.0.0.1", "localhost"):
        node_host = "127.0.0.1"
    if node_host is not None:
        env["DMLC_NODE_HOST"] = str(node_host)
    return env


def init_dist_kvstore(trainer, step_size):
    """Create ``trainer``'s distributed kvstore and give every worker worker 0's parameters
    before the first gradient is pushed (what ``Trainer`` does lazily at its first step, done
    here so that it cannot fail and cannot race).

    - The values pushed are copies of the parameters. MXNet's CPU build (oneDNN) keeps a
      convolution weight in oneDNN's blocked layout after an inference-mode forward (fit's
      output check makes one), and the dist kvstore cannot send that layout: the push dies
      inside MXNet's engine without a word (``PushDefault`` -> ``NDArray::data()`` -> "Check
      failed: !IsMKLDNNData()"), the key never reaches the server, and the first pull of it
      aborts the server with "init N first". A copy is always in the plain layout.
    - Trainer's lazy broadcast would come at the first step, where with
      ``update_on_kvstore=False`` one worker's pull of the initial weights can race with the
      other workers' gradients on the same key (workers then end with different weights).
    - ``nd.waitall()`` surfaces any failed push here, with MXNet's message, instead of as a
      server abort later; the barrier starts every worker's first step together.

    ``step_size`` is what ``trainer.step`` will be given (examples per update): when the
    servers update (``dist_async``) they get the optimizer now, normalised by it once for all.
    """
    trainer._optimizer.rescale_grad = trainer._scale / step_size
    trainer._init_kvstore()
    kv = trainer._kvstore
    for param in trainer._params:  # every worker has them in the same (sorted-name) order
        if param._deferred_init:
            raise RuntimeError(f"parameter {param.name} has no shape yet; run one forward pass "
                               f"before distributed training")
        idx = trainer._param2idx[param.name]
        arrays = param.list_data()
        if param._stype != "default":
            kv.init(idx, arrays[0].copy())
        else:
            kv.broadcast(idx, arrays[0].copy(), arrays)
    trainer._params_to_init = []
    nd.waitall()
    kv._barrier()


def average_over_workers(trainer):
    """Average the state gradients do not train (``grad_req='null'``: BatchNorm's running mean
    and variance) over every device of every worker, so that all workers end an epoch with the
    same parameters; each worker's statistics otherwise describe only its own shard.

    Uses the parameters' own kvstore keys (``dist_sync`` sums what the workers push). With
    ``update_on_kvstore`` (``dist_async``) the servers would treat the values as gradients, so
    nothing is averaged there.
    """
    kv = trainer._kvstore
    if kv is None or trainer._update_on_kvstore:
        return
    for param in trainer._params:
        if param.grad_req != "null":
            continue
        idx = trainer._param2idx[param.name]
        local = [a.copy() for a in param.list_data()]
        kv.pushpull(idx, local, out=local)
        param.set_data(local[0] / (kv.num_workers * len(local)))


# --------------------------------------------------------------------------------------------
# fit
# --------------------------------------------------------------------------------------------
_AMP_INITIALISED = False
_AMP_CPU_WARNED = False


def _check_args(epochs, optimizer, lr, momentum, wd, warmup_epochs, label_smoothing,
                clip_gradient, aux_weight, max_batches, progress, classes, keep_checkpoints):
    def positive_int(name, v, hint):
        if isinstance(v, bool) or not isinstance(v, numbers.Integral) or v <= 0:
            raise ValueError(f"{name} must be a positive integer, got {v!r}; {hint}")
    positive_int("epochs", epochs, "e.g. epochs=10")
    if max_batches is not None:
        positive_int("max_batches", max_batches, "or None for whole epochs")
    if classes is not None and not isinstance(classes, (list, tuple)):
        positive_int("classes", classes, "the number of classes of the dataset, e.g. 10, or "
                     "the list of class names")
    if keep_checkpoints is not None:
        positive_int("keep_checkpoints", keep_checkpoints, "or None to keep every epoch")
    name = optimizer.lower() if isinstance(optimizer, str) else optimizer
    if name not in OPTIMIZERS + ("nesterov",):
        raise ValueError(f"unknown optimizer {optimizer!r}; valid: {', '.join(OPTIMIZERS)} "
                         f"(or 'sgd' with nesterov=True)")
    if not isinstance(lr, numbers.Real) or not lr > 0 or not math.isfinite(lr):
        raise ValueError(f"lr must be a positive number, got {lr!r}; e.g. lr=0.1 for SGD, "
                         f"lr=0.001 for Adam")
    if not 0 <= momentum < 1:
        raise ValueError(f"momentum must be in [0, 1), got {momentum!r}; 0.9 is usual")
    if wd < 0:
        raise ValueError(f"wd (weight decay) must be >= 0, got {wd!r}; e.g. wd=5e-4")
    if not isinstance(warmup_epochs, numbers.Real) or not 0 <= warmup_epochs < epochs:
        raise ValueError(f"warmup_epochs must be >= 0 and smaller than epochs={epochs}, "
                         f"got {warmup_epochs!r}")
    if not 0 <= label_smoothing < 1:
        raise ValueError(f"label_smoothing must be in [0, 1), got {label_smoothing!r}; 0.1 is "
                         f"usual")
    if clip_gradient is not None and not clip_gradient > 0:
        raise ValueError(f"clip_gradient must be a positive norm (e.g. 5.0) or None, "
                         f"got {clip_gradient!r}")
    if aux_weight < 0:
        raise ValueError(f"aux_weight must be >= 0, got {aux_weight!r}; GoogLeNet used 0.3")
    if progress not in (True, False, None, "auto"):
        raise ValueError(f"progress must be True, False or 'auto', got {progress!r}")
    return "nag" if name == "nesterov" else name


def _num_classes(classes):
    """``classes`` as a number: an int, or a list of class names."""
    if classes is None:
        return None
    if isinstance(classes, (list, tuple)):
        if not classes:
            raise ValueError("classes is an empty list; pass the number of classes or their names")
        return len(classes)
    return int(classes)


def _is_initialized(net):
    for p in net.collect_params().values():
        try:
            p.list_ctx()
        except RuntimeError:
            return False
    return True


def _first_batch(train_iter):
    try:
        batch = next(iter(train_iter))
    except StopIteration:
        raise ValueError("the training data is empty; check the dataset and that batch_size is "
                         "not larger than it with last_batch='discard'") from None
    except TypeError:
        raise TypeError(f"train_iter must be an iterable of (X, y) batches, such as a gluon "
                        f"DataLoader, got {type(train_iter).__name__}") from None
    if not isinstance(batch, (tuple, list)) or len(batch) != 2:
        raise ValueError("each training batch must be a pair (X, y) of images and integer labels")
    X, y = batch
    if not isinstance(X, nd.NDArray):
        X, y = nd.array(X), nd.array(y)
    return X, y


def _check_output_size(net, X, y, ctx, classes, dataset_classes):
    """One forward in inference mode: the net's output width must be the number of classes."""
    if y.ndim != 1:
        raise ValueError(f"labels must be class indices of shape (batch,), got shape {y.shape}; "
                         f"pass integer labels, not one-hot vectors")
    with autograd.predict_mode():
        out, _ = _split_outputs(net(X[:min(2, X.shape[0])].as_in_context(ctx)))
    if out.ndim != 2:
        raise ValueError(f"the model's output has shape {out.shape}; a classifier must output "
                         f"(batch, classes) scores")
    width = out.shape[1]
    want = classes if classes is not None else dataset_classes
    if want is not None and width != want:
        raise ValueError(
            f"the model outputs {width} scores per example but the data has {want} classes; "
            f"build the model with classes={want} (e.g. get_model('lenet', classes={want}))")
    top = int(y.max().asscalar())
    if top >= width:
        raise ValueError(
            f"the labels go up to {top} but the model outputs only {width} scores per example; "
            f"build the model with classes= the number of classes of the dataset (at least "
            f"{top + 1})")
    return width


def _finish_deferred_init(net, X, ctx):
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


def _dataset_classes(train_iter):
    for obj in (train_iter, getattr(train_iter, "_dataset", None)):
        for attr in ("num_classes", "classes"):
            v = getattr(obj, attr, None)
            if isinstance(v, numbers.Integral):
                return int(v)
            if isinstance(v, (list, tuple)) and v:
                return len(v)
    return None


def _make_trainer(net, optimizer, lr, momentum, wd, kv, update_on_kvstore):
    params = {"learning_rate": lr, "wd": wd}
    if optimizer in ("sgd", "nag"):
        params["momentum"] = momentum
    return gluon.Trainer(net.collect_params(), optimizer, params, kvstore=kv,
                         update_on_kvstore=update_on_kvstore)


def _setup_amp(amp, ctxs, log):
    """True when mixed precision is on (GPU contexts only)."""
    global _AMP_INITIALISED, _AMP_CPU_WARNED
    if not amp:
        return False
    if any(c.device_type != "gpu" for c in ctxs):
        if not _AMP_CPU_WARNED:
            msg = ("amp=True needs GPU contexts (float16 with mxnet.contrib.amp); on the CPU "
                   "training continues in float32")
            warnings.warn(msg, RuntimeWarning, stacklevel=3)
            log("note: " + msg)
            _AMP_CPU_WARNED = True
        return False
    from mxnet.contrib import amp as mx_amp
    if not _AMP_INITIALISED:
        mx_amp.init()
        _AMP_INITIALISED = True
    return True


def fit(net, train_iter, test_iter, epochs, ctx=None, optimizer="sgd", lr=0.1, momentum=0.9,
        nesterov=False, wd=0.0, schedule=None, warmup_epochs=0, label_smoothing=0.0,
        clip_gradient=None, aux_weight=0.3, amp=False, hybridize=True, kvstore="device",
        checkpoint_dir=None, resume=False, seed=None, progress="auto", plot="auto",
        history_file=None, on_step=None, max_batches=None, classes=None, keep_checkpoints=2,
        verbose=True, init=None):
    """Train ``net`` on ``train_iter`` for ``epochs`` epochs, evaluating on ``test_iter``.

    Prints ``training on cpu(0)`` and then, per epoch, the d2l line
    ``epoch 1, loss 0.5912, train acc 0.776, test acc 0.826, time 12.3 sec``. Returns a
    :class:`History`.

    Parameters (all checked before training starts; a bad one raises ``ValueError`` saying
    what to change):

    - ``ctx``: a context, a list (data parallel), or ``'cpu'``, ``'gpu:0,gpu:1'``; default the
      first GPU, else the CPU.
    - ``optimizer``: ``'sgd'`` (with ``momentum``; ``nesterov=True`` → ``'nag'``), ``'nag'``,
      ``'adam'``, ``'rmsprop'``; ``lr``, ``wd`` (weight decay).
    - ``schedule``: ``None``, ``'step'``, ``'step:5,8'``, ``'cosine'``, ``'plateau'``,
      ``'plateau:2'`` or a function ``epoch_float -> lr``; ``warmup_epochs``: linear warm-up.
      ``'plateau'`` watches test accuracy (train loss without test data).
    - ``label_smoothing``: epsilon; ``clip_gradient``: max global L2 norm of the gradient;
      ``aux_weight``: weight of auxiliary outputs (GoogLeNet returns ``(logits, aux1, aux2)``
      in training).
    - ``amp``: float16 mixed precision with ``mxnet.contrib.amp`` on GPUs; on the CPU a
      warning, then float32.
    - ``hybridize``: True (``static_alloc=True, static_shape=True``), False, or a dict of
      ``net.hybridize`` arguments.
    - ``kvstore``: ``'device'`` (default; several devices on one machine), ``'local'``, or
      ``'dist_sync'``/``'dist_device_sync'``/``'dist_async'`` for several processes or machines
      (ps-lite, started with ``DMLC_*`` environment variables, e.g. by ``python -m
      gluoncnn.train launch``); the training data is sharded by worker rank, only worker 0
      writes checkpoints, history and plots, and with ``'dist_sync'`` every worker ends each
      epoch with the same parameters (BatchNorm's running statistics are averaged over the
      workers).
    - ``checkpoint_dir``: writes ``epoch-0003.params``/``.states``/``.json`` and ``last.json``
      atomically after each epoch (keeping ``keep_checkpoints`` of them) and
      ``interrupted.*`` on Ctrl-C; ``resume=True`` (or a checkpoint path) continues after the
      last complete epoch with the same schedule.
    - ``seed``: seeds MXNet, numpy (and so the DataLoader's shuffling) and Python, and each
      epoch again from ``(seed, epoch)``, so a resumed run matches an uninterrupted one.
    - ``progress``: ``'auto'`` shows a tqdm bar only on long epochs (> 50 batches) in a
      terminal or notebook, never in CI or quick mode; ``True``/``False`` force it.
    - ``plot``: ``'auto'`` draws live curves in notebooks and, outside them, saves
      ``<checkpoint_dir>/curves.png`` when there is a checkpoint dir; a path saves the PNG
      there (after every epoch); ``True`` live in notebooks, else ``curves.png``; ``False`` none.
    - ``history_file``: a ``.csv`` or ``.json`` path written after every epoch.
    - ``on_step(net)``: called after every optimizer step (pruning masks use it).
    - ``max_batches``: at most this many batches per epoch, for training and evaluation.
    - ``classes``: the number of classes (or the list of their names), checked against the net's
      output before training.
    - ``init``: how to initialise a net that is not initialised yet: ``None``/``'paper'`` its
      own default (gluoncnn models: the paper's), ``'he'``, ``'xavier'`` or an
      ``mx.init.Initializer``. An initialised net keeps its weights.

    A NaN or infinite loss raises :class:`TrainingDivergedError` naming the epoch and batch and
    the last good checkpoint, which stays as it was.
    """
    log = print if verbose else (lambda *a, **k: None)
    opt_name = _check_args(epochs, optimizer, lr, momentum, wd, warmup_epochs, label_smoothing,
                           clip_gradient, aux_weight, max_batches, progress, classes,
                           keep_checkpoints)
    if nesterov:
        if opt_name not in ("sgd", "nag"):
            raise ValueError(f"nesterov=True applies to SGD; use optimizer='sgd' (or 'nag'), not "
                             f"{optimizer!r}")
        opt_name = "nag"
    sched = LRSchedule(lr, epochs, schedule, warmup_epochs=warmup_epochs)
    initializer = make_initializer(init)
    ctxs = parse_ctx(ctx)
    if on_step is not None and not callable(on_step):
        raise ValueError("on_step must be a function on_step(net) or None")
    if resume and not checkpoint_dir and not isinstance(resume, (str, os.PathLike)):
        raise ValueError("resume=True needs checkpoint_dir= (the folder of the run to continue), "
                         "or pass the checkpoint path as resume='runs/x/last.json'")

    # kvstore: several processes shard the data by rank
    kv, rank, num_workers = kvstore, 0, 1
    if isinstance(kvstore, str) and kvstore.startswith("dist"):
        kv = mx.kv.create(kvstore)
    if isinstance(kv, mx.kvstore.KVStore):
        rank, num_workers = kv.rank, kv.num_workers
    elif kvstore not in ("device", "local", None) and not (isinstance(kvstore, str)
                                                           and kvstore.startswith("local")):
        raise ValueError(f"unknown kvstore {kvstore!r}; use 'device', 'local', 'dist_sync', "
                         f"'dist_device_sync' or 'dist_async'")
    distributed = num_workers > 1
    is_chief = rank == 0
    if distributed:
        train_iter = shard_loader(train_iter, num_workers, rank)
    checkpoint_dir_write = checkpoint_dir if is_chief else None
    if not is_chief:
        plot, history_file = False, None
    prefix = f"[worker {rank}/{num_workers}] " if distributed else ""

    if seed is not None:
        seed_everything(seed)

    # the net: initialise (paper init for gluoncnn models), place on the devices
    if not _is_initialized(net):
        if initializer is not None:
            net.initialize(initializer, ctx=ctxs)
        elif hasattr(net, "default_init"):
            net.initialize(ctx=ctxs)
        else:
            net.initialize(mx.init.Xavier(), ctx=ctxs)
    else:
        have = _net_ctx(net)
        if set(have) != set(ctxs):
            net.collect_params().reset_ctx(ctxs)
    amp_on = _setup_amp(amp, ctxs, log)
    if hybridize:
        kwargs = hybridize if isinstance(hybridize, dict) else {"static_alloc": True,
                                                                 "static_shape": True}
        net.hybridize(**kwargs)

    X0, y0 = _first_batch(train_iter)
    num_out = _check_output_size(net, X0, y0, ctxs[0], _num_classes(classes),
                                 _dataset_classes(train_iter))
    _finish_deferred_init(net, X0, ctxs[0])
    try:
        num_batches = len(train_iter)
    except TypeError:
        num_batches = None
    if num_batches is not None and max_batches is not None:
        num_batches = min(num_batches, max_batches)

    update_on_kv = False if (clip_gradient is not None or distributed) else None
    if distributed and "async" in kv.type:
        if clip_gradient is not None:
            raise ValueError("clip_gradient does not work with kvstore='dist_async' (updates "
                             "happen on the servers); use 'dist_sync'")
        update_on_kv = True
    trainer = _make_trainer(net, opt_name, lr, momentum, wd, kv, update_on_kv)
    if amp_on:
        from mxnet.contrib import amp as mx_amp
        mx_amp.init_trainer(trainer)
    loss_fn = LabelSmoothingLoss(label_smoothing) if label_smoothing > 0 else \
        gluon.loss.SoftmaxCrossEntropyLoss()
    report_fn = gluon.loss.SoftmaxCrossEntropyLoss() if label_smoothing > 0 else None

    meta = {"net": type(net).__name__, "net_name": net.name, "optimizer": opt_name, "lr": lr,
            "momentum": momentum, "wd": wd, "schedule": schedule if isinstance(schedule, str)
            else (None if schedule is None else "callable"), "warmup_epochs": warmup_epochs,
            "label_smoothing": label_smoothing, "clip_gradient": clip_gradient, "epochs": epochs,
            "seed": seed, "ctx": [str(c) for c in ctxs], "num_workers": num_workers,
            "classes": num_out, "rank": rank}
    history = History(meta=meta)
    start_epoch = 0
    last_good = None

    # resume
    if resume:
        source = resume if isinstance(resume, (str, os.PathLike)) else checkpoint_dir
        if resume is True and not os.path.exists(os.path.join(checkpoint_dir, "last.json")):
            log(f"{prefix}no checkpoint in {checkpoint_dir} yet; starting at epoch 1")
        else:
            record = load_checkpoint(source)
            net.load_parameters(record["params_path"], ctx=ctxs)
            if record.get("states_path"):
                trainer.load_states(record["states_path"])
            history = History(record.get("history", []), meta)
            sched.load_state_dict(record.get("schedule_state", {}))
            start_epoch = int(record["epoch"])
            last_good = record["params_path"]
            for key in ("optimizer", "lr", "schedule"):
                if key in record.get("meta", {}) and record["meta"][key] != meta[key]:
                    warnings.warn(f"resuming a run that used {key}={record['meta'][key]!r} with "
                                  f"{key}={meta[key]!r}", RuntimeWarning, stacklevel=2)
            log(f"{prefix}resuming from {record['params_path']} after epoch {start_epoch}")
            if start_epoch >= epochs:
                log(f"{prefix}the checkpoint has already done {start_epoch} epoch(s) of "
                    f"{epochs}; nothing to train (raise epochs= to train longer)")
                return history

    # dist_sync sums the workers' gradients; dist_async has the servers apply each worker's
    # gradient on its own, normalised once for all by the first batch's size
    fixed_step = X0.shape[0] if distributed and update_on_kv else None
    if distributed:
        init_dist_kvstore(trainer, fixed_step or X0.shape[0] * num_workers)

    plotter = _make_plotter(plot, checkpoint_dir_write)
    log(f"{prefix}training on {_ctx_text(ctxs)}")
    epoch, i = start_epoch, -1
    try:
        for epoch in range(start_epoch, epochs):
            if seed is not None:
                seed_everything(_epoch_seed(seed, epoch))
            start = time.time()
            bar = _progress.progress_bar(num_batches, f"epoch {epoch + 1}/{epochs}",
                                         _progress.want_progress_bar(progress, num_batches))
            l_sum, acc_sum, n, i = 0.0, 0.0, 0, -1
            try:
                for i, (X, y) in enumerate(_limited(train_iter, max_batches)):
                    cur_lr = sched(epoch + (i / num_batches if num_batches else 0), num_batches)
                    trainer.set_learning_rate(cur_lr)
                    try:
                        ls, ac, m = _train_step(net, X, y, ctxs, loss_fn, trainer,
                                                fixed_step or X.shape[0] * num_workers,
                                                aux_weight, amp_on,
                                                clip_gradient, report_fn)
                    except _NonFiniteLoss as err:
                        nd.waitall()
                        where = (f"The last good checkpoint, {last_good}, is unchanged; "
                                 f"resume from it with a lower lr." if last_good else
                                 "No checkpoint was written" + (" (it was the first epoch)."
                                                                if checkpoint_dir else
                                                                " (pass checkpoint_dir=)."))
                        raise TrainingDivergedError(
                            f"{prefix}training diverged: the loss became {err.value} in epoch "
                            f"{epoch + 1}, batch {i + 1} (lr {cur_lr:g}). {where} Lower lr "
                            f"(now {lr:g}), add warmup_epochs= or clip_gradient=.",
                            epoch + 1, i + 1, last_good) from None
                    if on_step is not None:
                        on_step(net)
                    l_sum, acc_sum, n = l_sum + ls, acc_sum + ac, n + m
                    bar.update(1)
                    bar.set_postfix(loss=f"{l_sum / n:.4f}", acc=f"{acc_sum / n:.3f}")
            finally:
                bar.close()
            if n == 0:
                raise ValueError(f"{prefix}epoch {epoch + 1} had no training batch; the "
                                 f"training data (or this worker's shard) is empty")
            if distributed:
                average_over_workers(trainer)
            nd.waitall()
            train_time = time.time() - start
            rec = {"epoch": epoch + 1, "loss": l_sum / n, "train_acc": acc_sum / n,
                   "test_acc": None}
            if test_iter is not None:
                ev = evaluate(net, test_iter, ctxs, topk=5, loss=True, max_batches=max_batches)
                rec["test_acc"], rec["test_loss"] = ev["acc"], ev["loss"]
                if "top5" in ev:
                    rec["test_top5"] = ev["top5"]
            rec["lr"] = trainer.learning_rate
            rec["time"] = time.time() - start
            rec["examples_per_sec"] = n / train_time if train_time > 0 else float("inf")
            history.append(rec)
            line = "epoch %d, loss %.4f, train acc %.3f" % (rec["epoch"], rec["loss"],
                                                             rec["train_acc"])
            if rec["test_acc"] is not None:
                line += ", test acc %.3f" % rec["test_acc"]
            log(f"{prefix}{line}, time {rec['time']:.1f} sec")
            if sched.end_epoch(rec["test_acc"] if rec["test_acc"] is not None else -rec["loss"]):
                log(f"{prefix}no improvement for {sched.patience} epoch(s): learning rate "
                    f"lowered to {sched(epoch + 1):g}")
            if checkpoint_dir_write:
                saved = save_checkpoint(checkpoint_dir_write, epoch + 1, net, trainer,
                                        _ckpt_meta(history, sched, meta, seed),
                                        keep=keep_checkpoints)
                last_good = os.path.join(os.path.abspath(checkpoint_dir_write), saved["params"])
            if history_file:
                history.save(history_file)
            if plotter is not None:
                plotter.update(history.records)
    except KeyboardInterrupt:
        msg = f"{prefix}interrupted in epoch {epoch + 1}"
        if checkpoint_dir_write:
            save_checkpoint(checkpoint_dir_write, epoch, net, trainer,
                            dict(_ckpt_meta(history, sched, meta, seed),
                                 interrupted_in_epoch=epoch + 1, interrupted_at_batch=i + 1),
                            name="interrupted")
            msg += (f"; saved the parameters as they were in {checkpoint_dir_write}/"
                    f"interrupted.params")
            if last_good:
                msg += (f"; the last complete epoch is {last_good}, and fit(..., "
                        f"checkpoint_dir={checkpoint_dir_write!r}, resume=True) continues "
                        f"after it")
        if history_file and len(history):
            history.save(history_file)
        log(msg, file=sys.stderr)
        raise
    finally:
        if plotter is not None and len(history) and plotter.path:
            with contextlib.suppress(Exception):
                plotter.save()
    return history


def _ckpt_meta(history, sched, meta, seed):
    return {"history": history.records, "schedule_state": sched.state_dict(), "meta": meta,
            "seed": seed}


def _make_plotter(plot, checkpoint_dir):
    if plot is False or plot is None:
        return None
    live = _progress.in_notebook()
    if plot == "auto":
        path = os.path.join(checkpoint_dir, "curves.png") if checkpoint_dir else None
    elif plot is True:
        path = None if live else (os.path.join(checkpoint_dir, "curves.png") if checkpoint_dir
                                  else "curves.png")
    elif isinstance(plot, (str, os.PathLike)):
        path = os.fspath(plot)
    else:
        raise ValueError(f"plot must be 'auto', True, False or a PNG path, got {plot!r}")
    if not live and path is None:
        return None
    return _progress.TrainingPlot(live=live, path=path)


# --------------------------------------------------------------------------------------------
# The launcher
# --------------------------------------------------------------------------------------------
def launch(argv):
    """Start a distributed job and watch it (:mod:`gluoncnn.launcher`): ``argv`` are the
    launcher's arguments, MXNet's ``tools/launch.py`` ones. Returns the exit status; a process
    that dies stops the others, with a message naming it. From a shell::

        python -m gluoncnn.train launch -n 2 -s 2 -H hosts --launcher ssh \\
            gluoncnn train --model resnet18 --dataset fashion-mnist --kvstore dist_sync
    """
    from .launcher import launch as run_job
    return run_job(argv)


if __name__ == "__main__":
    if len(sys.argv) < 2 or sys.argv[1] != "launch":
        sys.exit("usage: python -m gluoncnn.train launch -n WORKERS [-s SERVERS] [-H HOSTFILE] "
                 "[--launcher local|ssh] COMMAND...  (--help: every option)")
    from .launcher import main as launcher_main
    sys.exit(launcher_main(sys.argv[2:]))
