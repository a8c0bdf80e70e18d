"""``fit``: the full training engine, written as the algorithm it runs (prepare, resume, then
for each epoch, or each part of an epoch in a budgeted run: run it, evaluate, end it); the duties
around the loop are callbacks."""
from __future__ import annotations

import math
import numbers
import os
import time
import warnings
from collections.abc import Callable, Iterable, Sequence
from typing import Any

from mxnet import nd

from ..config import FIT_OPTIONS, TrainConfig, budget_lifts_epochs, check_names
from ..config import fields as config_fields
from ..errors import InputError, OptionError
from ..utils import first_line
from .budget import Budget, format_duration
from .calibrate import choose_eval_dtype, choose_speed, per_device_shape
from .callbacks import (
    Callback,
    Checkpoint,
    EpochLine,
    HistoryFile,
    LRPlateau,
    ProgressBar,
    StepHook,
    call,
    check_callbacks,
    make_plot,
)
from .checkpoint import load_checkpoint, restore
from .devices import ctx_text, place_net
from .distributed import (
    average_over_workers,
    create_kvstore,
    init_dist_kvstore,
    shard_loader,
    update_on_kvstore,
)
from .evaluate import evaluate, limited, num_classes
from .history import History
from .loop import DivergenceWatch, run_epoch
from .losses import make_loss
from .precision import LowPrecisionEvaluation, init_amp, init_amp_trainer
from .prepare import (
    check_config,
    check_output_size,
    dataset_classes,
    finish_deferred_init,
    first_batch,
    make_trainer,
    num_batches_of,
)
from .seeding import epoch_seed, seed_everything
from .state import TrainingState


def fit(net, train_iter: Iterable, test_iter: Iterable | None,
        config: TrainConfig | int | None = None, *, checkpoint_dir: str | None = None,
        resume: bool | str | os.PathLike = False, plot: bool | str = "auto",
        history_file: str | None = None, on_step: Callable | None = None,
        classes: None | int | Sequence[str] = None, callbacks: list[Callback] | None = None,
        threads: int | None = None, clock: Callable[[], float] | None = None,
        **options: Any) -> History:
    """Train ``net`` on ``train_iter`` for ``epochs`` epochs, or for a time ``budget``,
    evaluating on ``test_iter``.

    Prints ``training on cpu(0)`` and then, per epoch, the d2l line
    ``epoch 1, loss 0.5912, train acc 0.776, test acc 0.826, time 12.3 sec``. Returns a
    :class:`History`.

    The training's options are a :class:`~gluoncnn.config.TrainConfig` (its ``training``
    fields: ``fit(net, train_iter, test_iter, config)``), or keywords, as a notebook writes them
    (``fit(net, train_iter, test_iter, 10, lr=0.05)``: the fourth argument may be the number of
    epochs), or both (the keywords change the config). All are checked before training starts; a
    bad one raises ``ValueError`` saying what to change. The options (defaults in
    :class:`~gluoncnn.config.TrainConfig`):

    - ``epochs``: the number of epochs (default 10; None with a ``budget``: no epoch limit;
      a ``budget`` given as a keyword without ``epochs`` sets none).
    - ``budget``: train for this long instead (seconds, or ``'90s'``, ``'10m'``, ``'1h'``),
      evaluation time included; see :mod:`gluoncnn.train.budget`. The schedule is then a
      function of the budget's elapsed fraction (``'linear'``, the budget-aware decay to zero
      of Li, Yumer and Ramanan, ICLR 2020; ``'cosine'``; ``'step'``; ``'step:0.5,0.75'``;
      ``None`` constant), with a linear warm-up over ``warmup_fraction`` of the budget; every
      half epoch, and when the budget ends (at a batch boundary, leaving time for it), an
      evaluation adds a History record (``epoch`` then counts records; ``images``,
      ``epochs_reached`` and ``elapsed`` say how far the run got, and ``History.meta`` keeps
      the last ``epochs_reached``). With ``epochs`` too, whichever ends first ends the run (the
      schedule follows the nearer end). Resuming continues the same budget from the seconds
      already spent. ``clock`` (a keyword outside the config, as ``callbacks``): the budget's
      clock, a function returning seconds (default ``time.monotonic``; tests pass a fake one).
      Needs training data with a length, and one process (not ``kvstore='dist_*'``). A budget
      that cannot fit one evaluation is an :class:`~gluoncnn.errors.OptionError`, raised once
      a few batches have been timed.

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
    - ``amp``: mixed precision with ``mxnet.contrib.amp`` (see :mod:`.precision`): ``'auto'``
      is float16 on GPUs, float32 on CPUs without native bfloat16, and on CPUs with it
      bfloat16 where a short measurement shows it faster for this net (:mod:`.calibrate`);
      ``'float16'`` (or ``True``) on GPUs; ``'bfloat16'`` on CPUs; ``'off'`` (``None``,
      ``False``) float32. Parameters, checkpoints and exports stay float32.
    - ``hybridize``: True (``static_alloc=True, static_shape=True``), False, or a dict of
      ``net.hybridize`` arguments.
    - ``kvstore``: ``'device'`` (default; several devices on one machine), ``'local'``, or
      ``'dist_sync'``/``'dist_device_sync'``/``'dist_async'`` for several processes or machines
      (ps-lite, started with ``DMLC_*`` environment variables); the training data is sharded by
      worker rank and only worker 0 writes checkpoints, history and plots.
    - ``checkpoint_dir``: writes ``epoch-0003.params``/``.states``/``.json`` and ``last.json``
      atomically after each epoch (keeping ``keep_checkpoints`` of them) and
      ``interrupted.*`` on Ctrl-C; ``resume=True`` (or a checkpoint path) continues after the
      last complete epoch with the same schedule.
    - ``seed``: seeds MXNet, numpy (and so the DataLoader's shuffling) and Python, and each
      epoch again from ``(seed, epoch)``, so a resumed run matches an uninterrupted one.
    - ``progress``: ``'auto'`` shows a tqdm bar only on long epochs (> 50 batches) in a
      terminal or notebook, never in CI or quick mode; where the output is a file or a pipe, a
      long epoch prints a progress line on stderr at most every 30 s and every 10% of the
      epoch instead (:class:`gluoncnn.progress.ProgressLines`); ``'on'``/``'off'`` (``True``/
      ``False``) force the bar or nothing.
    - ``plot``: ``'auto'`` draws live curves in notebooks and, outside them, saves
      ``<checkpoint_dir>/curves.png`` when there is a checkpoint dir; a path saves the PNG
      there (after every epoch); ``True`` live in notebooks, else ``curves.png``; ``False`` none.
    - ``history_file``: a ``.csv`` or ``.json`` path written after every epoch.
    - ``on_step(net)``: called after every optimizer step (pruning masks use it).
    - ``callbacks``: more :class:`~gluoncnn.train.callbacks.Callback` objects (hooks
      ``on_train_begin``, ``on_epoch_begin``, ``on_batch_end``, ``on_epoch_end``,
      ``on_interrupt``, ``on_train_end``), called after fit's own: e.g. ``EarlyStopping()``,
      ``BestCheckpoint('runs/x')``, ``TensorBoard('logs', histograms=True)`` or your own.
    - ``log_dir``: TensorBoard event files there (loss, accuracies, learning rate per epoch,
      loss and learning rate every 10 steps, the hyperparameters, the graph; see
      :mod:`gluoncnn.train.tensorboard`; needs ``pip install 'gluoncnn[tensorboard]'``).
    - ``max_batches``: at most this many batches per epoch, for training and evaluation.
    - ``init``: how to initialise a net that is not initialised yet: ``None``/``'paper'`` its
      own default (gluoncnn models: the paper's), ``'he'``, ``'xavier'`` or an
      ``mx.init.Initializer``. An initialised net keeps its weights.
    - ``early_stop``: stop when the test accuracy has not improved for that many epochs
      (:class:`~gluoncnn.train.callbacks.EarlyStopping`; None or 0: never).
    - ``stop_at_acc``: stop once the test accuracy reaches it
      (:class:`~gluoncnn.train.callbacks.StopAtAccuracy`; None: never).

    The keywords that are not options of a run (objects, or set by the run folder):

    - ``classes``: the number of classes (or the list of their names), checked against the net's
      output before training (default: the config's ``classes``).
    - ``threads``: MXNet's OpenMP threads on the CPU, the machine's setting rather than the
      run's; default: the user's ``OMP_NUM_THREADS`` or ``GLUONCNN_THREADS``, else the count
      measured fastest for this net on this machine (:mod:`.calibrate`, cached per machine and
      net).

    A NaN or infinite loss, one over 100 times its start (or chance level), or a parameter
    (batch norm statistics too) that is no longer finite, raises
    :class:`TrainingDivergedError` naming the epoch and batch and the last good checkpoint,
    which stays as it was; the net in memory is put back to its last checked good weights (the
    loop reads the loss every 50 batches, not after each one).
    """
    config = fit_config(config, options)
    if classes is not None and not isinstance(classes, (list, tuple)):
        config = config.replace(classes=classes)  # a number of classes, checked as the config's
    classes = classes if classes is not None else config.classes
    # a bad schedule, init or device fails here; a bad amp in choose_speed, before any step
    checked = check_config(config, amp=False)
    seconds = config.budget
    if resume and not checkpoint_dir and not isinstance(resume, (str, os.PathLike)):
        raise OptionError("resume=True needs checkpoint_dir= (the folder of the run to continue), "
                          "or pass the checkpoint path as resume='runs/x/last.json'")
    ctxs, sched = checked.ctxs, checked.schedule
    dist = create_kvstore(config.kvstore)
    distributed = dist.num_workers > 1
    if distributed and seconds is not None:
        raise OptionError("budget= follows this process's clock, so the workers of a "
                          "distributed run would stop at different batches; give epochs= instead")
    if distributed:
        train_iter = shard_loader(train_iter, dist.num_workers, dist.rank)
    writes = dist.rank == 0  # only worker 0 writes files
    callbacks = own_callbacks(config, on_step, sched, checkpoint_dir if writes else None,
                              history_file if writes else None, plot if writes else False,
                              writes) + check_callbacks(callbacks)

    # prepare: threads and precision measured for this net (before seeding: measuring runs the
    # net's graph), the net on its devices, one look at the data, the trainer
    X0, y0 = first_batch(train_iter)  # each epoch reseeds: taking it before seeding is harmless
    speed = choose_speed(net, per_device_shape(X0.shape, ctxs), ctxs, config.amp, threads)
    amp_dtype = speed.amp_dtype
    if config.seed is not None:
        seed_everything(config.seed)
    place_net(net, ctxs, checked.initializer)
    init_amp(amp_dtype)
    if config.hybridize:
        net.hybridize(**(config.hybridize if isinstance(config.hybridize, dict)
                         else {"static_alloc": True, "static_shape": True}))
    num_out = check_output_size(net, X0, y0, ctxs[0], num_classes(classes),
                                dataset_classes(train_iter))
    finish_deferred_init(net, X0, ctxs[0])
    update_on_kv = update_on_kvstore(dist.kv, distributed, config.clip_gradient)
    trainer = make_trainer(net, config.optimizer_name, config.lr, config.momentum, config.wd,
                           dist.kv, update_on_kv)
    init_amp_trainer(trainer, amp_dtype)
    eval_dtype, eval_why = None, "float32, as the training"
    if test_iter is not None and len(ctxs) == 1 and config.hybridize:
        eval_dtype, eval_why = choose_eval_dtype(net, tuple(X0.shape), ctxs[0], config.amp,
                                                 amp_dtype)
    c = config
    meta = {"net": type(net).__name__, "net_name": net.name, "optimizer": c.optimizer_name,
            "lr": c.lr, "momentum": c.momentum, "wd": c.wd,
            "schedule": c.schedule if isinstance(c.schedule, str)
            else (None if c.schedule is None else "callable"), "warmup_epochs": c.warmup_epochs,
            "label_smoothing": c.label_smoothing, "clip_gradient": c.clip_gradient,
            "epochs": c.epochs, "seed": c.seed, "ctx": [str(x) for x in ctxs],
            "num_workers": dist.num_workers,
            "classes": num_out, "rank": dist.rank, "amp": amp_dtype or "float32",
            "threads": speed.threads, "speed": speed.reason, "speed_cost": speed.cost,
            "eval_precision": f"{eval_dtype or 'float32'} ({eval_why})",
            "batch_size": X0.shape[0], "budget": seconds,
            "warmup_fraction": c.warmup_fraction}
    loss_fn, report_fn = make_loss(config.label_smoothing)
    state = TrainingState(
        net, trainer, ctxs, sched, config.epochs, meta, config.verbose,
        f"[worker {dist.rank}/{dist.num_workers}] " if distributed else "", config.seed,
        loss_fn=loss_fn, report_fn=report_fn,
        step_scale=dist.num_workers,  # dist_sync sums gradients over workers
        # dist_async: the servers apply each worker's gradient on its own, normalised once
        step_size=X0.shape[0] if distributed and update_on_kv else None,
        aux_weight=config.aux_weight, amp_dtype=amp_dtype, clip_gradient=config.clip_gradient,
        num_batches=num_batches_of(train_iter, config.max_batches),
        max_batches=config.max_batches, input_shape=tuple(X0.shape),
        checkpoint_dir=checkpoint_dir if writes else None,
        watch=DivergenceWatch(net, floor=math.log(max(num_out, 2))))
    if seconds is not None:
        state.budget = make_budget(state, seconds, clock, test_iter)
    state.low_precision_eval = LowPrecisionEvaluation(net, ctxs[0], eval_dtype) \
        if eval_dtype is not None and amp_dtype is None else None

    if resume and resume_from(state, resume, checkpoint_dir):
        return state.history
    if distributed:
        init_dist_kvstore(trainer, state.step_size or X0.shape[0] * dist.num_workers)
    return train(state, train_iter, test_iter, callbacks)


def make_budget(state: TrainingState, seconds: float, clock, test_iter) -> Budget:
    """The :class:`Budget` of a run whose training data has a length; ``state.num_batches``
    becomes the batches of one record (half an epoch at most)."""
    if state.num_batches is None:
        raise OptionError("budget= needs training data whose length is known (len(train_iter)), "
                          "such as a gluon DataLoader, to evaluate every half epoch")
    test_batches = num_batches_of(test_iter, state.max_batches) if test_iter is not None else 0
    budget = Budget(seconds, clock, state.epochs, state.num_batches, test_batches or 0)
    state.num_batches = budget.part_batches
    return budget


def own_callbacks(config: TrainConfig, on_step, schedule, checkpoint_dir, history_file, plot,
                  writes: bool) -> list[Callback]:
    """The callbacks ``fit``'s config and arguments ask for, in the order they run (only worker
    0, which ``writes``, keeps TensorBoard's files)."""
    own = [StepHook(on_step)] if on_step is not None else []
    own += [ProgressBar({"on": True, "off": False}.get(config.progress, config.progress)),
            EpochLine()]
    if schedule.kind == "plateau":
        own.append(LRPlateau())
    own += config_callbacks(config)
    if checkpoint_dir:
        own.append(Checkpoint(checkpoint_dir, config.keep_checkpoints))
    if history_file:
        own.append(HistoryFile(history_file))
    if config.log_dir and writes:
        from .tensorboard import TensorBoard
        own.append(TensorBoard(config.log_dir))
    live_plot = make_plot(plot, checkpoint_dir)
    return own + ([live_plot] if live_plot else [])


def config_callbacks(config: TrainConfig) -> list[Callback]:
    """The callbacks that carry out the config's options (a field's ``callback``: e.g.
    ``early_stop=3`` is ``EarlyStopping(patience=3)``), for the options that are set."""
    from . import callbacks as builtin
    made = []
    for f in config_fields("training"):
        value = getattr(config, f.name)
        if f.metadata["callback"] and value not in (None, 0, False):
            name, keyword = f.metadata["callback"]
            made.append(getattr(builtin, name)(**{keyword: value}))
    return made


def fit_config(config: TrainConfig | int | None, options: dict[str, Any]) -> TrainConfig:
    """The config ``fit`` trains with: ``config`` (or the defaults; an int is the number of
    epochs) changed by the keyword ``options``, which must be fit's (the ``training`` fields)."""
    if isinstance(config, numbers.Integral) and not isinstance(config, bool):
        options = {"epochs": int(config), **options}
        config = None
    elif config is not None and not isinstance(config, TrainConfig):
        raise InputError(f"fit's fourth argument is the number of epochs or a TrainConfig, got "
                         f"{type(config).__name__} {config!r}")
    check_names(options, "fit's keyword arguments", valid=FIT_OPTIONS)
    if config is None:  # a budget given without epochs sets no epoch limit
        return TrainConfig(**budget_lifts_epochs(options))
    return config.replace(**options)


def resume_from(state: TrainingState, resume, checkpoint_dir) -> bool:
    """Continue after the checkpoint ``resume`` names (or ``checkpoint_dir``'s last one); True
    when it already did every epoch."""
    source = resume if isinstance(resume, (str, os.PathLike)) else checkpoint_dir
    if resume is True and not os.path.exists(os.path.join(checkpoint_dir, "last.json")):
        state.note(f"no checkpoint in {checkpoint_dir} yet; starting at epoch 1")
        return False
    record = load_checkpoint(source)
    restore(record, state.net, state.trainer, state.ctxs)
    state.history = History(record.get("history", []), state.meta)
    state.schedule.load_state_dict(record.get("schedule_state", {}))
    state.watch.reference = record.get("reference_loss")
    state.start_epoch = int(record["epoch"])
    state.last_good = record["params_path"]
    for key in ("optimizer", "lr", "schedule"):
        if key in record.get("meta", {}) and record["meta"][key] != state.meta[key]:
            warnings.warn(f"resuming a run that used {key}={record['meta'][key]!r} with "
                          f"{key}={state.meta[key]!r}", RuntimeWarning, stacklevel=3)
    state.log(f"{state.prefix}resuming from {record['params_path']} after "
              f"{'part' if record.get('budget_state') else 'epoch'} {state.start_epoch}")
    if state.budget is not None:
        return resume_budget(state, record)
    if record.get("budget_state"):
        raise OptionError("this run trains to a time budget: resume it with budget= (the "
                          "command line's --resume keeps the run's --budget)")
    if state.start_epoch >= state.epochs:
        state.log(f"{state.prefix}the checkpoint has already done {state.start_epoch} epoch(s) "
                  f"of {state.epochs}; nothing to train (raise epochs= to train longer)")
        return True
    return False


def resume_budget(state: TrainingState, record: dict[str, Any]) -> bool:
    """Continue a budgeted run from the position and the seconds its checkpoint holds (a run of
    epochs continues after its last epoch, the time of its epochs spent); True when the budget
    is already spent."""
    budget = state.budget
    saved = record.get("budget_state")
    if saved is None:
        done = state.start_epoch
        saved = {"elapsed": sum(r.get("time", 0.0) for r in state.history),
                 "epoch": max(done, 1), "batch": budget.batches_per_epoch if done else 0}
    elif saved.get("seconds") != budget.seconds:
        warnings.warn(f"resuming a run with a budget of {format_duration(saved['seconds'])} "
                      f"with budget={format_duration(budget.seconds)}: its learning rate "
                      f"follows the new budget", RuntimeWarning, stacklevel=4)
    budget.load_state_dict(saved)
    state.history.meta.update(epochs_reached=round(budget.epochs_reached(), 4),
                              images=budget.images)
    if budget.spent():
        state.log(f"{state.prefix}the checkpoint has already spent {budget.elapsed():.0f} s of "
                  f"its budget of {format_duration(budget.seconds)} "
                  f"({budget.epochs_reached():.2f} epochs); nothing to train (raise budget= to "
                  f"train longer)")
        return True
    return False


def train(state: TrainingState, train_iter, test_iter, callbacks) -> History:
    """The epochs, or the parts of a budget, with the callbacks around them."""
    state.log(f"{state.prefix}training on {ctx_text(state.ctxs)}"
              + (f" for {format_duration(state.budget.seconds)}" if state.budget else ""))
    records = epoch_records if state.budget is None else budget_records
    try:
        call(callbacks, "on_train_begin", state)
        for new in records(state, train_iter, test_iter, callbacks):
            state.history.append(new)
            record = state.history.records[-1]  # what callbacks add to it is kept
            call(callbacks, "on_epoch_end", state, record)
            if state.stop_training:
                state.status = "stopped"
                break
        else:
            state.status = "completed"
    except KeyboardInterrupt:
        state.status = "interrupted"
        call(callbacks, "on_interrupt", state)
        state.logger.warning("%sinterrupted in epoch %d%s", state.prefix, state.epoch,
                             "".join(state.interrupt_notes))
        raise
    except BaseException:
        if state.status == "running":
            state.status = "failed"
        raise
    finally:
        call(callbacks, "on_train_end", state)
    return state.history


def epoch_records(state: TrainingState, train_iter, test_iter, callbacks):
    """One History record per epoch, to ``state.epochs``."""
    for epoch in range(state.start_epoch + 1, state.epochs + 1):
        yield train_epoch(state, train_iter, test_iter, callbacks, epoch)


def train_epoch(state: TrainingState, train_iter, test_iter, callbacks, epoch: int
                ) -> dict[str, Any]:
    """Train epoch ``epoch`` (1-based), evaluate, and return its History record."""
    state.epoch, state.batch, state.running = epoch, 0, None
    if state.seed is not None:
        seed_everything(epoch_seed(state.seed, epoch - 1))
    call(callbacks, "on_epoch_begin", state, epoch)
    start = time.time()
    loss_sum, correct, n = run_epoch(state, train_iter, callbacks)
    if n == 0:
        raise OptionError(f"{state.prefix}epoch {epoch} had no training batch; the training data "
                          f"(or this worker's shard) is empty")
    if state.meta["num_workers"] > 1:
        average_over_workers(state.trainer)
    nd.waitall()
    record, _ = evaluated_record(state, test_iter, epoch, (loss_sum, correct, n), start,
                                 time.time)
    return record


def evaluated_record(state: TrainingState, test_iter, index: int, sums: tuple, start: float,
                     clock: Callable[[], float]) -> tuple[dict[str, Any], float]:
    """The History record of training that began at ``start`` (on ``clock``) and summed
    ``sums = (loss_sum, correct, n)``, evaluated on ``test_iter``; and the evaluation's
    seconds."""
    loss_sum, correct, n = sums
    train_time = clock() - start
    record = {"epoch": index, "loss": loss_sum / n, "train_acc": correct / n, "test_acc": None}
    evaluation_start = clock()
    add_evaluation(state, test_iter, record)
    eval_seconds = clock() - evaluation_start
    record["lr"] = state.trainer.learning_rate
    record["time"] = clock() - start
    record["examples_per_sec"] = n / train_time if train_time > 0 else float("inf")
    return record, eval_seconds


def add_evaluation(state: TrainingState, test_iter, record: dict[str, Any]) -> None:
    """The test accuracy, loss and top-5 accuracy of the net as it is, into ``record``."""
    if test_iter is None:
        return
    ev = evaluate(evaluated_net(state, test_iter), test_iter, state.ctxs, topk=5, loss=True,
                  max_batches=state.max_batches)
    record["test_acc"], record["test_loss"] = ev["acc"], ev["loss"]
    if "top5" in ev:
        record["test_top5"] = ev["top5"]


def evaluated_net(state: TrainingState, test_iter):
    """The net to evaluate: a bfloat16 copy where that was measured faster, once its
    predictions on the first test batch agree with float32's (else float32 from then on)."""
    low = state.low_precision_eval
    if low is None:
        return state.net
    try:
        if not low.checked:
            X, _ = first_batch(test_iter)
            agreement = low.agreement(X.as_in_context(state.ctxs[0]))
            low.checked = True
            if agreement < low.AGREEMENT:
                raise ValueError(f"bfloat16 agreed with it on {agreement:.1%} of a test batch")
        return low.block()
    except Exception as error:  # a net amp cannot convert, or predictions that disagree
        state.low_precision_eval = None
        state.history.meta["eval_precision"] = \
            f"float32 ({first_line(error) or type(error).__name__})"
        return state.net


# ------------------------------------------------------------------------------ to a budget
def budget_records(state: TrainingState, train_iter, test_iter, callbacks):
    """A budgeted run's History records: parts of epochs, each evaluated, until the budget is
    spent or the epoch limit reached (:mod:`.budget`)."""
    budget = state.budget
    if budget.epoch_done():  # a run resumed after a whole epoch
        budget.next_epoch()
    batches = open_epoch(state, train_iter)  # skipping what a resumed epoch did is not counted
    budget.start()
    while not budget.spent():
        if budget.epoch_done():
            budget.next_epoch()
            batches = open_epoch(state, train_iter)
        record = train_part(state, batches, test_iter, callbacks)
        if record is None:  # the budget ended before the part's first batch
            break
        yield record
    reached = budget.epochs_reached()
    ended = (f"reached {reached:g} epoch(s)" if budget.epochs and reached >= budget.epochs
             else f"spent its budget of {format_duration(budget.seconds)}")
    state.log(f"{state.prefix}the run {ended}: {reached:.2f} epochs, {budget.images:,} images, "
              f"{budget.elapsed():.1f} s")


def open_epoch(state: TrainingState, train_iter):
    """The running epoch's batches after those already done (a resumed run's position); its
    data order is drawn under the seed of its first part, as in an uninterrupted run."""
    budget = state.budget
    if state.seed is not None:
        seed_everything(budget.part_seed(state.seed, batch=0))
    batches = iter(limited(train_iter, state.max_batches))
    for _ in range(budget.batch):
        next(batches, None)
    return batches


def train_part(state: TrainingState, batches, test_iter, callbacks) -> dict[str, Any] | None:
    """Train the next part of the running epoch (:meth:`Budget.part`), evaluate, and return its
    History record; None when the budget left no time for one batch."""
    budget = state.budget
    index = len(state.history) + 1
    state.epoch, state.batch, state.running = index, 0, None
    if state.seed is not None:
        seed_everything(budget.part_seed(state.seed))
    call(callbacks, "on_epoch_begin", state, index)
    start = budget.clock()
    loss_sum, correct, n = run_epoch(state, budget.part(batches, state), callbacks)
    if n == 0:
        return None
    nd.waitall()
    record, eval_seconds = evaluated_record(state, test_iter, index, (loss_sum, correct, n),
                                            start, budget.clock)
    if test_iter is not None:
        budget.eval_seconds = eval_seconds
    record.update(images=budget.images, epochs_reached=round(budget.epochs_reached(), 4),
                  elapsed=round(budget.elapsed(), 3))
    state.history.meta.update(epochs_reached=record["epochs_reached"], images=budget.images)
    return record
