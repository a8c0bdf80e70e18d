"""d2lzh's ``train_ch5``, same signature and printed lines, on the shared training step."""
from __future__ import annotations

import math
import numbers
import time

from mxnet import gluon, nd

from ..errors import OptionError
from .devices import CtxArg, ctx_text, parse_ctx
from .evaluate import evaluate_accuracy
from .loop import DivergenceWatch, run_epoch
from .state import TrainingState


def train_ch5(net, train_iter, test_iter, batch_size: int, trainer: gluon.Trainer, ctx: CtxArg,
              num_epochs: int) -> None:
    """Train and evaluate like the d2lzh course's ``train_ch5`` (softmax cross-entropy, one
    ``trainer.step(batch_size)`` per batch), printing ``training on <ctx>`` and one line per
    epoch: ``epoch N, loss L, train acc A, test acc B, time T sec``. ``ctx`` may also be a list of
    contexts (data parallel). Returns nothing, as in the course."""
    if isinstance(batch_size, bool) or not isinstance(batch_size, numbers.Integral) \
            or batch_size <= 0:
        raise OptionError(f"batch_size must be a positive integer, got {batch_size!r}; use the "
                          f"batch size the data iterators were built with (e.g. 256)")
    if isinstance(num_epochs, bool) or not isinstance(num_epochs, numbers.Integral) \
            or num_epochs <= 0:
        raise OptionError(f"num_epochs must be a positive integer, got {num_epochs!r}")
    ctxs = parse_ctx(ctx)
    print("training on", ctx_text(ctxs))
    state = TrainingState(net, trainer, ctxs, None, num_epochs, {"lr": trainer.learning_rate})
    state.current_lr = trainer.learning_rate
    state.loss_fn = gluon.loss.SoftmaxCrossEntropyLoss()
    state.step_size = batch_size
    state.watch = DivergenceWatch(net, floor=math.log(10))
    state.advice = "Lower the learning rate of the trainer."
    for epoch in range(1, num_epochs + 1):
        state.epoch, start = epoch, time.time()
        train_l_sum, train_acc_sum, n = run_epoch(state, train_iter, [])
        nd.waitall()
        test_acc = evaluate_accuracy(test_iter, net, ctxs)
        print('epoch %d, loss %.4f, train acc %.3f, test acc %.3f, time %.1f sec'  # noqa: UP031 (d2lzh's line)
              % (epoch, train_l_sum / n, train_acc_sum / n, test_acc, time.time() - start))
