"""Training and evaluation: what every chapter and the ``gluoncnn train`` command train with.

Two entry points share one inner training step and one evaluation loop:

- :func:`train_ch5` is the d2lzh course's loop, same signature and printed lines
  (``training on gpu(0)``, then ``epoch 1, loss 2.1157, train acc 0.210, test acc 0.511,
  time 154.6 sec``), so the seed chapters' code runs as is.
- :func:`fit` is the full engine: one context or several (data parallel), MXNet's distributed
  KVStore, SGD with momentum / Nesterov / Adam / RMSProp, weight decay, learning-rate schedules,
  training for epochs or to a time budget (``budget='10m'``),
  label smoothing, gradient clipping, GoogLeNet's auxiliary losses, mixed precision (float16 on
  GPUs, bfloat16 on CPUs that have it), atomic checkpoints with ``resume=``, a clear stop when the
  loss diverges, and callbacks for everything around the loop (progress bar, live curves,
  history file, TensorBoard, early stopping, best checkpoint, your own).

The package, one job per module:

=================  ==========================================================================
``devices``        contexts: ``try_gpu``, ``try_all_gpus``, ``parse_ctx``, ``ContextError``
``prepare``        the config's machine checks (``check_config``), initializers, the Trainer,
                   the first batch's checks
``engine``         ``fit``: prepare, resume, then per epoch run it, evaluate it, end it
``loop``           the training step and one epoch of it, no host wait per batch; divergence
``evaluate``       ``evaluate``, ``evaluate_accuracy``
``d2l``            d2l's loops: ``train_ch5``, ``train_ch6``, d2lzh's ``train`` (this package,
                   called: ``gluoncnn.train(...)``), ``evaluate_accuracy_gpu``
``lr_find``        ``lr_find``: the learning-rate range test (fastai's, Lightning's)
``state``          ``TrainingState``: what a run is doing, as callbacks see it
``callbacks``      ``Callback`` and the built-in ones (checkpoint, history file, plot, ...)
``tensorboard``    the ``TensorBoard`` callback (tensorboardX)
``schedule``       ``LRSchedule``
``budget``         ``fit(budget=...)``: ``Budget``, ``BudgetSchedule``, ``parse_budget``
``checkpoint``     ``save_checkpoint``, ``load_checkpoint``: no pickle, sha256-checked
``history``        ``History``
``losses``         ``LabelSmoothingLoss``
``precision``      mixed precision: which dtype, and MXNet's AMP
``distributed``    ``shard_loader``, ``dist_env``, ``launch``, the KVStore
``seeding``        ``seed_everything``
``logs``           the ``'gluoncnn'`` logger
=================  ==========================================================================

Several machines (MXNet's ps-lite parameter server, shipped in the mxnet wheel): run the same
``fit(..., kvstore='dist_sync')`` script in every process with the ``DMLC_*`` environment variables
set (see :func:`dist_env`); each worker trains on its ``1/num_workers`` shard of the training set.
"""
import sys
import types

from .. import runtime

runtime.import_mxnet()  # before this package's modules import mxnet: one clear error without it

from ..config import OPTIMIZERS, TrainConfig
from .budget import BUDGET_SCHEDULES, Budget, BudgetSchedule, parse_budget
from .callbacks import (
                        BestCheckpoint,
                        Callback,
                        Checkpoint,
                        EarlyStopping,
                        HistoryFile,
                        LivePlot,
                        LRPlateau,
                        ProgressBar,
                        StepHook,
                        StopAtAccuracy,
)
from .checkpoint import load_checkpoint, load_parameters, save_checkpoint
from .d2l import evaluate_accuracy_gpu, train_ch5, train_ch6, train_d2lzh
from .devices import ContextError, parse_ctx, try_all_gpus, try_gpu
from .distributed import dist_env, launch, shard_loader
from .engine import fit
from .evaluate import evaluate, evaluate_accuracy
from .history import History
from .loop import TrainingDivergedError
from .losses import LabelSmoothingLoss
from .lr_find import LRFinderResult, lr_find
from .precision import AMP_CHOICES, choose_amp_dtype
from .prepare import INITIALIZERS, check_config, make_initializer
from .schedule import SCHEDULES, LRSchedule
from .seeding import seed_everything
from .state import TrainingState
from .tensorboard import TensorBoard

__all__ = [
    "try_gpu", "try_all_gpus", "parse_ctx", "train_ch5", "evaluate_accuracy", "evaluate", "fit",
    "History", "LRSchedule", "TrainingDivergedError", "ContextError", "LabelSmoothingLoss",
    "save_checkpoint", "load_checkpoint", "load_parameters", "seed_everything", "shard_loader",
    "dist_env", "launch", "OPTIMIZERS", "SCHEDULES", "INITIALIZERS", "make_initializer",
    "AMP_CHOICES", "choose_amp_dtype", "Callback", "Checkpoint", "BestCheckpoint",
    "EarlyStopping", "HistoryFile", "LivePlot", "LRPlateau", "ProgressBar", "StepHook",
    "StopAtAccuracy",
    "TensorBoard", "TrainingState", "lr_find", "LRFinderResult", "train_ch6", "train_d2lzh",
    "evaluate_accuracy_gpu", "TrainConfig", "check_config",
    "Budget", "BudgetSchedule", "parse_budget", "BUDGET_SCHEDULES",
]


class _CallablePackage(types.ModuleType):
    """``gluoncnn.train`` stays this package and, called, is d2lzh's ``train()``: code written
    for ``import d2lzh as d2l`` calls ``d2l.train(train_iter, test_iter, net, loss, trainer,
    ctx, num_epochs)`` (chapter 9), and ``import gluoncnn as d2l`` runs it unchanged."""

    def __call__(self, train_iter, test_iter, net, loss, trainer, ctx, num_epochs):
        return train_d2lzh(train_iter, test_iter, net, loss, trainer, ctx, num_epochs)


sys.modules[__name__].__class__ = _CallablePackage
