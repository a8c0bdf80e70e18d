"""d2l's training loops by d2l's names and signatures, on the shared training step.

- ``train_ch5(net, train_iter, test_iter, batch_size, trainer, ctx, num_epochs)``: d2lzh's
  (chapter 5), printing ``training on <ctx>`` and ``epoch N, loss L, train acc A, test acc B,
  time T sec``;
- ``train_d2lzh(train_iter, test_iter, net, loss, trainer, ctx, num_epochs)``: d2lzh's
  ``train`` (chapter 9, image augmentation: any loss, one or several devices), the same lines;
  ``d2l.train(...)`` calls it (``gluoncnn.train`` is a package that can be called);
- ``train_ch6(net, train_iter, test_iter, num_epochs, lr, device)``: later d2l's name and
  signature for the same loop (Xavier initialisation, plain SGD at ``lr``, an ``Animator`` of
  loss and accuracies), printing d2l's two closing lines ``loss L, train acc A, test acc B`` and
  ``E examples/sec on <device>``;
- ``evaluate_accuracy_gpu(net, data_iter, device=None)``: d2l's.

All of them run in MXNet's NDArray mode (d2lzh's); d2l's numpy mode (``npx.set_np()``) is
refused with one line saying so.
"""
from __future__ import annotations

import math
import numbers
import time
from typing import NamedTuple

import mxnet as mx
from mxnet import gluon, init, nd

from ..errors import OptionError
from .devices import CtxArg, ctx_text, parse_ctx
from .evaluate import evaluate_accuracy
from .loop import DivergenceWatch, run_epoch
from .state import TrainingState

__all__ = ["train_ch5", "train_d2lzh", "train_ch6", "evaluate_accuracy_gpu"]


def _positive(name, value, hint=""):
    if isinstance(value, bool) or not isinstance(value, numbers.Integral) or value <= 0:
        raise OptionError(f"{name} must be a positive integer, got {value!r}{hint}")


def _check_ndarray_mode():
    if mx.util.is_np_array():
        raise OptionError("gluoncnn trains in MXNet's NDArray mode (d2lzh's), but this code "
                          "switched on MXNet's numpy mode (npx.set_np(), d2l 1.0's): remove that "
                          "line, or call npx.reset_np() before building the net")


class _Epoch(NamedTuple):
    epoch: int
    loss: float
    train_acc: float
    test_acc: float
    examples: int
    train_seconds: float    # the training batches only (d2l's Timer)
    seconds: float          # with the test pass (d2lzh's printed time)


def _epochs(net, train_iter, test_iter, loss_fn, trainer, ctxs, num_epochs, step_size):
    """Train ``num_epochs`` epochs, yielding an :class:`_Epoch` after each (``step_size`` None:
    each batch's size)."""
    state = TrainingState(net, trainer, ctxs, None, num_epochs, {"lr": trainer.learning_rate},
                          current_lr=trainer.learning_rate, loss_fn=loss_fn,
                          step_size=step_size, watch=DivergenceWatch(net, floor=math.log(10)),
                          advice="Lower the learning rate of the trainer.")
    for epoch in range(1, num_epochs + 1):
        state.epoch, start = epoch, time.time()
        train_l_sum, train_acc_sum, n = run_epoch(state, train_iter, [])
        nd.waitall()
        trained = time.time() - start
        test_acc = evaluate_accuracy(test_iter, net, ctxs)
        yield _Epoch(epoch, train_l_sum / n, train_acc_sum / n, test_acc, n, trained,
                     time.time() - start)


def _train_printing_d2lzh_lines(train_iter, test_iter, net, loss, trainer, ctx, num_epochs,
                                step_size):
    _check_ndarray_mode()
    _positive("num_epochs", num_epochs)
    ctxs = parse_ctx(ctx)
    print("training on", ctx_text(ctxs))
    for e in _epochs(net, train_iter, test_iter, loss, trainer, ctxs, num_epochs, step_size):
        print('epoch %d, loss %.4f, train acc %.3f, test acc %.3f, time %.1f sec'  # noqa: UP031 (d2lzh's line)
              % (e.epoch, e.loss, e.train_acc, e.test_acc, e.seconds))


def train_ch5(net, train_iter, test_iter, batch_size: int, trainer: gluon.Trainer, ctx: CtxArg,
              num_epochs: int) -> None:
    """Train and evaluate like the d2lzh course's ``train_ch5`` (softmax cross-entropy, one
    ``trainer.step(batch_size)`` per batch), printing ``training on <ctx>`` and one line per
    epoch: ``epoch N, loss L, train acc A, test acc B, time T sec`` (the time includes the test
    pass, as d2lzh's). ``ctx`` may also be a list of contexts (data parallel). Returns nothing,
    as in the course."""
    _positive("batch_size", batch_size, "; use the batch size the data iterators were built "
                                        "with (e.g. 256)")
    _train_printing_d2lzh_lines(train_iter, test_iter, net, gluon.loss.SoftmaxCrossEntropyLoss(),
                                trainer, ctx, num_epochs, batch_size)


def train_d2lzh(train_iter, test_iter, net, loss, trainer: gluon.Trainer, ctx: CtxArg,
                num_epochs: int) -> None:
    """d2lzh's ``train`` (``d2l.train(train_iter, test_iter, net, loss, trainer, ctx,
    num_epochs)``, chapter 9): ``train_ch5`` with the given ``loss`` and one
    ``trainer.step`` per batch of that batch's size; ``ctx`` one context or a list (each batch
    split across them). Prints d2lzh's lines; returns nothing."""
    _train_printing_d2lzh_lines(train_iter, test_iter, net, loss, trainer, ctx, num_epochs,
                                None)


def train_ch6(net, train_iter, test_iter, num_epochs: int, lr: float, device: CtxArg = None):
    """d2l's ``train_ch6``: (re)initialise ``net`` with Xavier on ``device`` (default: the first
    GPU, else the CPU), train it with softmax cross-entropy and plain SGD at ``lr``, plot train
    loss, train accuracy and test accuracy per epoch on an :class:`~gluoncnn.d2l_utils.Animator`
    and print d2l's two lines: ``loss L, train acc A, test acc B`` and ``E examples/sec on
    <device>`` (training examples per second of training time). Returns nothing, as d2l's."""
    from ..d2l_utils import Animator
    _check_ndarray_mode()
    _positive("num_epochs", num_epochs)
    if isinstance(lr, bool) or not isinstance(lr, numbers.Real) or not lr > 0:
        raise OptionError(f"lr must be a positive number, got {lr!r} (d2l's LeNet uses 0.9)")
    ctxs = parse_ctx(device)
    net.initialize(force_reinit=True, ctx=ctxs, init=init.Xavier())
    trainer = gluon.Trainer(net.collect_params(), "sgd", {"learning_rate": lr})
    animator = Animator(xlabel="epoch", xlim=[1, max(num_epochs, 2)],  # one epoch: no 0-wide axis
                        legend=["train loss", "train acc", "test acc"])
    seconds = examples = 0
    for e in _epochs(net, train_iter, test_iter, gluon.loss.SoftmaxCrossEntropyLoss(), trainer,
                     ctxs, num_epochs, None):
        animator.add(e.epoch, (e.loss, e.train_acc, e.test_acc))
        seconds, examples = seconds + e.train_seconds, examples + e.examples
    print(f"loss {e.loss:.3f}, train acc {e.train_acc:.3f}, test acc {e.test_acc:.3f}")
    print(f"{examples / seconds:.1f} examples/sec on {ctx_text(ctxs)}")


def evaluate_accuracy_gpu(net, data_iter, device: CtxArg = None) -> float:
    """d2l's ``evaluate_accuracy_gpu``: top-1 accuracy of ``net`` on ``data_iter``, on
    ``device`` (default: where the net's first parameter is)."""
    if device is None:
        device = next(iter(net.collect_params().values())).list_ctx()[0]
    return evaluate_accuracy(data_iter, net, device)
