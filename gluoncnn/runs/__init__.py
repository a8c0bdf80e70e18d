"""The run folder: what ``gluoncnn train --out DIR`` writes, and the rules that keep it whole.

A run folder holds::

    run.json        the run's record: format, command, settings, model and its keyword arguments,
                    input shape, status (running / interrupted / failed / finished), resumes,
                    versions, and once finished the files and the sha256 of model.params
    model.params    the final parameters (written atomically; run.json's model_params_sha256)
    history.csv, history.json, curves.png
    best.params     with save_best (--save-best): the epoch of the best test accuracy, and
                    best.json, its record
    checkpoints/    fit's epoch-0003.* and last.json (interrupted.* after Ctrl-C)
    train.lock      while a training runs: its pid, host, start time and command

Rules (each a one-line :class:`RunFolderError` that leaves the folder as it was):

- Everything is checked before anything is written, the options before the folder: the model
  and its options, fit's options, the device, then the folder (writable, not locked, holding no
  other run; a resume's checkpoint whole), then the dataset and its files. Nothing in the folder
  changes until fit starts its first epoch (the checkpoint loaded into the model): a failure
  before that leaves it byte for byte, and a resume that fails before completing an epoch puts
  its run.json back.
- A folder that holds a run is continued (``resume=True``) or replaced (``overwrite=True``);
  replacing removes only the files a run writes (above), never a user's other files.
- One training per folder: a live ``train.lock`` refuses a second; a lock left by a process that
  no longer runs is taken over, and said. The folder is checked again under the lock, so two
  commands planned on one new folder never share it.
- A resume keeps what its checkpoints depend on (:data:`FIXED_ON_RESUME`); other changes (more
  epochs, another lr) are stated.
- ``check_finished`` refuses a folder whose model.params is not the one run.json records.

The run's settings are a :class:`~gluoncnn.config.TrainConfig` (run.json's ``settings``, with
its ``config_version``). The modules: :mod:`.settings` (what a config builds: the model, the
data) and :mod:`.folder` (the folder on disk: run.json, the lock, the checks).
"""
from __future__ import annotations

import contextlib
import dataclasses
import os
import platform
import shlex
from typing import Any, Callable

from ..config import CONFIG_VERSION, TrainConfig, budget_lifts_epochs, check_names
from ..errors import OptionError
from ..utils import atomic_write, atomic_write_text, first_line
from .folder import (
    BEST_PARAMS,
    CHECKPOINT_DIR,
    CHECKPOINT_FILE,
    CURVES,
    FINAL_PARAMS,
    FIXED_ON_RESUME,
    FORMAT,
    HISTORY_CSV,
    HISTORY_JSON,
    LOCK_FILE,
    RUN_FILE,
    RUN_OUTPUTS,
    RunFolderError,
    RunLock,
    check_finished,
    check_new_run_folder,
    check_resumable,
    check_unlocked,
    check_writable_folder,
    describe_run,
    last_checkpoint,
    merge_resume,
    now,
    read_lock,
    read_run,
    remove_run_files,
    run_config,
    run_files,
    sha256_of,
    verify_params,
    versions,
    write_run,
)
from .settings import (
    SMALL_INPUT_BELOW,
    DatasetMissingError,
    build_model,
    dataset_info,
    default_small_input,
    describe_length,
    describe_model,
    load_data,
    load_parameters,
    model_kwargs,
    resolve_model,
    resolve_model_settings,
)

__all__ = [
    "BEST_PARAMS", "CHECKPOINT_DIR", "CHECKPOINT_FILE", "CURVES", "FINAL_PARAMS",
    "FIXED_ON_RESUME", "FORMAT", "HISTORY_CSV", "HISTORY_JSON", "LOCK_FILE",
    "RUN_FILE", "RUN_OUTPUTS", "SMALL_INPUT_BELOW", "DatasetMissingError",
    "RunFolderError", "RunLock", "RunResult", "TrainConfig", "TrainingPlan", "build_model",
    "check_finished", "check_new_run_folder", "check_resumable", "check_unlocked",
    "check_writable_folder", "dataset_info",
    "default_small_input", "describe_model", "describe_run", "first_line",
    "last_checkpoint", "load_data", "load_parameters",
    "merge_resume", "model_kwargs", "plan_training", "read_lock", "read_run",
    "remove_run_files", "resolve_model", "resolve_model_settings", "run_config", "run_files",
    "run_training", "sha256_of", "train", "verify_params", "find_lr",
    "versions", "write_run", "describe_length",
]

# ----------------------------------------------------------------------------- training a run

@dataclasses.dataclass
class TrainingPlan:
    """A checked training of a run folder: nothing has been written yet."""
    folder: str
    config: TrainConfig
    model: str
    model_kwargs: dict[str, Any]
    dataset: dict[str, Any]
    input_shape: tuple[int, int, int]
    resume: bool
    previous: dict[str, Any] | None
    changes: list[str]
    classes: int                    # what fit checks the net's output against
    command: list[str]
    net: Any = None
    train_iter: Any = None
    test_iter: Any = None
    kvstore: Any = None             # a distributed run's KVStore (its rank says who writes)
    overwrite: bool = False         # --overwrite: a run found in the folder is replaced

    @property
    def chief(self) -> bool:
        """False on the other workers of a distributed run: worker 0 keeps the folder."""
        return self.kvstore is None or self.kvstore.rank == 0

    def describe(self) -> str:
        c, h, w = self.input_shape
        text = (f"{'resuming' if self.resume else 'training'} "
                f"{describe_model(self.model, self.model_kwargs)} on {self.dataset['key']} "
                f"({c}x{h}x{w}) for {describe_length(self.config)}")
        if self.chief:
            return f"{text}; run folder: {self.folder}"
        kv = self.kvstore
        return f"[worker {kv.rank}/{kv.num_workers}] {text}; worker 0 writes the run folder"

    def fit(self, **arguments):
        """``fit`` on the plan's net and data with its config (and its distributed KVStore);
        ``arguments`` are fit's other keywords (the run folder's)."""
        from .. import train
        config = self.config if self.kvstore is None else self.config.replace(
            kvstore=self.kvstore)
        return train.fit(self.net, self.train_iter, self.test_iter, config,
                         classes=self.classes, **arguments)


def plan_training(folder: str | None, settings: TrainConfig | dict[str, Any],
                  resume: bool = False, overwrite: bool = False,
                  command: list[str] | None = None) -> TrainingPlan:
    """Check everything a training of ``folder`` needs, writing nothing.

    ``settings``: for a new run, its :class:`~gluoncnn.config.TrainConfig` (or a dict of the
    settings that differ from the defaults); with ``resume``, a dict of only the settings to
    change. Raises a GluonCNNError saying what is wrong.

    In a server or scheduler process of a distributed job (``DMLC_ROLE``), this serves that role
    and exits, touching no folder: such a job may start every process with the same command."""
    _serve_if_server_or_scheduler(folder, resume, overwrite)
    if not isinstance(settings, TrainConfig):
        check_names(settings, "the run's settings")
    if resume and overwrite:
        raise OptionError("--resume continues the run and --overwrite replaces it: pass one")
    previous, changes = None, []
    if resume:
        if not folder:
            raise OptionError("--resume needs --out DIR, the run folder to continue")
        if isinstance(settings, TrainConfig):
            raise OptionError("a resume continues the run's own config: pass only the settings "
                              "to change, as a dict")
        previous = read_run(folder)
        config, changes = merge_resume(previous, settings, folder)
        command = previous.get("command") or []
    else:
        config = settings if isinstance(settings, TrainConfig) else TrainConfig(
            **budget_lifts_epochs(settings))
    name, kwargs, info, input_shape = resolve_model_settings(config)
    config = config.replace(model=name, dataset=info["key"])
    config.to_dict()  # a setting run.json cannot record (a Python object) is said now
    from ..train import check_config
    check_config(config)  # the device, the precision on it, the schedule, the init
    folder = folder or os.path.join("runs", f"{name}-{info['key']}")
    # every option is checked, the model built too, before the folder is looked at; a resumed
    # run continues from its checkpoint, not from the pretrained file it started with
    net = build_model(name, kwargs, pretrained=None if resume else config.pretrained)
    check_writable_folder(folder)
    # every worker checks the folder before it joins a distributed job: a refusal after joining
    # would leave the others waiting for it
    check_unlocked(folder)  # a live training refuses; a stale lock is taken over later
    if not resume:
        previous = check_new_run_folder(folder, overwrite)
    else:
        check_resumable(folder)
    kvstore = _distributed_kvstore(config.kvstore)
    train_iter, test_iter = load_data(config, train=True)
    return TrainingPlan(folder, config, name, kwargs, info, input_shape, resume, previous,
                        changes, kwargs.get("classes", info["classes"]), list(command or []),
                        net, train_iter, test_iter, kvstore, overwrite)


def _serve_if_server_or_scheduler(folder: str | None, resume: bool, overwrite: bool) -> None:
    """Importing MXNet in a process whose ``DMLC_ROLE`` is ``server`` or ``scheduler`` runs that
    role of ps-lite until the job ends, then exits the process (MXNet's kvstore_server). A
    folder here that the workers will refuse (it holds a run) is refused first, so that a job
    started by hand with one command ends instead of serving workers that never come."""
    if os.environ.get("DMLC_ROLE") in ("server", "scheduler"):
        if folder and not resume and os.path.isdir(folder):
            check_new_run_folder(folder, overwrite)
        import mxnet  # noqa: F401  (serves, then exits)
        raise SystemExit(0)  # not reached with an MXNet built with the distributed kvstore


def _distributed_kvstore(kvstore: str):
    """For ``dist_*`` kvstores, the kvstore itself (its rank says who keeps the run folder: only
    worker 0 checks, locks and writes it, as fit writes checkpoints only there); else None."""
    if not (isinstance(kvstore, str) and kvstore.startswith("dist")):
        return None
    import mxnet as mx
    return mx.kv.create(kvstore)


@dataclasses.dataclass
class RunResult:
    """What a training left in its run folder."""
    folder: str
    status: str                     # 'finished' or 'interrupted'
    history: Any = None
    files: dict[str, str | None] = dataclasses.field(default_factory=dict)
    checkpoint: str | None = None   # where to continue from after an interruption


def run_training(plan: TrainingPlan, plot: bool = True,
                 say: Callable[[str], None] = print) -> RunResult:
    """Train ``plan`` in its folder under the lock: check the folder again there, call fit, and
    only once fit starts its first epoch (the checkpoint loaded and checked, the model and the
    data fitting it) replace or continue the run and write run.json; then model.params and
    run.json (with its digest) atomically. A failure before that leaves the folder as it was;
    a resume that fails before it completes an epoch puts its run.json back."""
    folder = plan.folder
    if not plan.chief:  # another worker of a distributed run: worker 0 keeps the folder
        history = plan.fit(checkpoint_dir=os.path.join(folder, CHECKPOINT_DIR),
                           resume=plan.resume, plot=False)
        return RunResult(folder, "finished", history)
    created = _make_folders(folder)
    try:
        with RunLock(folder, plan.command) as lock:
            if lock.taken_over:
                say(f"note: took over {LOCK_FILE} of process {lock.taken_over.get('pid')}, which "
                    f"no longer runs")
            _check_again_under_lock(plan)
            if plan.changes:
                say(f"resuming with changes: {'; '.join(plan.changes)}")
            return _train_in_folder(plan, plot, say)
    finally:
        _remove_if_empty(created)


def _train_in_folder(plan: TrainingPlan, plot: bool, say: Callable[[str], None]) -> RunResult:
    folder = plan.folder
    start = _RunStart(plan, say)
    ckdir = os.path.join(folder, CHECKPOINT_DIR)
    try:
        # the run's TensorBoard callback (with the model among its hyperparameters) is the
        # folder's: fit's own is off
        history = plan.fit(checkpoint_dir=ckdir, resume=plan.resume,
                           plot=os.path.join(folder, CURVES) if plot else False,
                           history_file=os.path.join(folder, HISTORY_CSV),
                           callbacks=[start, *_folder_callbacks(plan)], log_dir=None)
        if start.run is None:  # a resume with every epoch done: fit trained nothing
            start.on_train_begin(None)
        return _finish(plan, start.run, history, plot)
    except KeyboardInterrupt:
        if start.run is None:  # before the first epoch: nothing was written
            return RunResult(folder, "interrupted", checkpoint=last_checkpoint(folder))
        start.run.update(status="interrupted", stopped=now())
        write_run(folder, start.run)
        interrupted = os.path.join(ckdir, "interrupted.params")
        return RunResult(folder, "interrupted", checkpoint=interrupted if
                         os.path.isfile(interrupted) else last_checkpoint(folder))
    except BaseException:
        with contextlib.suppress(OSError):  # a full disk: the error that stopped fit says it
            start.failed()
        raise


def _folder_callbacks(plan: TrainingPlan) -> list:
    """The callbacks that write files, which only worker 0 runs: ``--save-best``'s
    ``BestCheckpoint`` (``best.params`` and ``best.json`` in the run folder, whenever the test
    accuracy is the best so far; a resumed run keeps its best) and, for ``--log-dir``,
    ``TensorBoard`` with the model and the dataset among the run's hyperparameters."""
    from ..train import BestCheckpoint, TensorBoard
    found: list = []
    if plan.config.save_best:
        found.append(BestCheckpoint(plan.folder))
    if plan.config.log_dir:
        found.append(TensorBoard(plan.config.log_dir, hparams={
            "model": describe_model(plan.model, plan.model_kwargs),
            "dataset": plan.dataset["key"]}))
    return found


class _RunStart:
    """fit's first callback in a run folder: when training starts (after the checkpoint was
    loaded), replace the earlier run (--overwrite) and write the running record; on a failure,
    say in run.json what happened, or put a resumed run's record back when no epoch was done."""

    def __init__(self, plan: TrainingPlan, say: Callable[[str], None]):
        self.plan, self.say = plan, say
        self.run: dict[str, Any] | None = None
        self.state = None
        self.epochs_before = 0
        path = os.path.join(plan.folder, RUN_FILE)
        self.previous_text = None
        if plan.resume:
            with open(path) as f:
                self.previous_text = f.read()

    def on_train_begin(self, state) -> None:
        plan = self.plan
        if plan.previous is not None and not plan.resume:
            remove_run_files(plan.folder)
            self.say(f"note: replaced the earlier run in {plan.folder} (--overwrite)")
        self.state = state
        self.epochs_before = len(state.history) if state is not None else 0
        self.run = _start_record(plan)
        write_run(plan.folder, self.run)

    def failed(self) -> None:
        if self.run is None:
            return  # fit stopped before training: the folder is as it was
        done = len(self.state.history) - self.epochs_before if self.state is not None else 0
        if self.previous_text is not None and done == 0:
            atomic_write_text(os.path.join(self.plan.folder, RUN_FILE), self.previous_text)
            return  # the resume did no epoch: the run is what it was before
        self.run.update(status="failed", stopped=now())
        write_run(self.plan.folder, self.run)


def _check_again_under_lock(plan: TrainingPlan) -> None:
    """The folder as planned, checked again now that this process holds its lock: another
    command may have used it since (a new run there, or the run resumed)."""
    if not plan.resume:
        plan.previous = check_new_run_folder(plan.folder, plan.overwrite)
        return
    if read_run(plan.folder) != plan.previous:
        raise RunFolderError(f"the run in {plan.folder} changed while this command was "
                             f"preparing (another training?); run the command again")


def _make_folders(folder: str) -> list[str]:
    """Create ``folder`` and its missing parents; return those created, deepest last."""
    created, path = [], os.path.abspath(folder)
    while not os.path.isdir(path):
        created.append(path)
        parent = os.path.dirname(path)
        if parent == path:
            break
        path = parent
    try:
        os.makedirs(folder, exist_ok=True)
    except OSError as err:  # e.g. under /proc or /sys, which the up-front check cannot tell
        _remove_if_empty(created[::-1])
        raise RunFolderError(f"cannot create the run folder {folder}: {err.strerror}; choose "
                             f"another --out") from None
    return created[::-1]


def _remove_if_empty(created: list[str]) -> None:
    """Remove the folders :func:`_make_folders` created, if a failure left them empty."""
    for path in reversed(created):
        try:
            os.rmdir(path)
        except FileNotFoundError:
            continue  # never made (makedirs failed below it)
        except OSError:
            return  # not empty: what is in it stays


def _start_record(plan: TrainingPlan) -> dict[str, Any]:
    previous = plan.previous if plan.resume else None
    resumed = (previous or {}).get("resumed", [])
    if plan.resume:
        resumed = resumed + [{"at": now(), "changes": plan.changes}]
    return {"format": FORMAT, "command": plan.command,
            "command_line": " ".join(shlex.quote(a) for a in plan.command),
            "config_version": CONFIG_VERSION, "settings": plan.config.to_dict(),
            "model": plan.model, "model_kwargs": plan.model_kwargs,
            "input_shape": list(plan.input_shape), "resumed": resumed, "versions": versions(),
            "host": platform.node(),
            "started": (previous or {}).get("started", now()), "status": "running"}


def _finish(plan: TrainingPlan, run: dict[str, Any], history, plot: bool) -> RunResult:
    folder = plan.folder
    path = lambda name: os.path.join(folder, name)  # noqa: E731
    records = list(history.records)
    atomic_write(path(FINAL_PARAMS), plan.net.save_parameters)
    history.to_csv(path(HISTORY_CSV))
    history.to_json(path(HISTORY_JSON))
    if plot and records and not os.path.isfile(path(CURVES)):
        from ..progress import plot_history
        plot_history(records, path(CURVES))
    files = {"params": path(FINAL_PARAMS), "history_csv": path(HISTORY_CSV),
             "history_json": path(HISTORY_JSON),
             "curves": path(CURVES) if plot and os.path.isfile(path(CURVES)) else None,
             "checkpoints": path(CHECKPOINT_DIR), "run": path(RUN_FILE),
             "best": path(BEST_PARAMS) if os.path.isfile(path(BEST_PARAMS)) else None}
    run.update(status="finished", finished=now(), epochs_done=len(records),
               epochs_reached=history.meta.get("epochs_reached"),
               seconds=round(sum(r.get("time", 0) for r in records), 2),
               final=records[-1] if records else None, files=files,
               model_params_sha256=sha256_of(path(FINAL_PARAMS)))
    write_run(folder, run)
    return RunResult(folder, "finished", history, files)


def train(folder: str | None, settings: TrainConfig | dict[str, Any], resume: bool = False,
          overwrite: bool = False, command: list[str] | None = None, plot: bool = True,
          say: Callable[[str], None] = print) -> RunResult:
    """Train a run in ``folder``: :func:`plan_training`, then :func:`run_training`.

    >>> train('runs/lenet', {'model': 'lenet', 'sample': True, 'epochs': 1})  # doctest: +SKIP
    >>> train('runs/lenet', TrainConfig(model='lenet', sample=True))          # doctest: +SKIP
    >>> train('runs/lenet', {'epochs': 2}, resume=True)                      # doctest: +SKIP
    """
    plan = plan_training(folder, settings, resume=resume, overwrite=overwrite,
                         command=command or ["gluoncnn.runs.train", repr(settings)])
    say(plan.describe())
    return run_training(plan, plot=plot, say=say)


def find_lr(settings: TrainConfig | dict[str, Any], num_iter: int | None = None):
    """The learning-rate range test (:func:`gluoncnn.train.lr_find`) of a run's config: the
    model, data, device, optimizer, momentum, weight decay, init and seed it names, over
    ``num_iter`` batches (default: ``max_batches``, else 100). Writes nothing; returns the
    :class:`~gluoncnn.train.LRFinderResult`."""
    from ..train import check_config, lr_find
    if not isinstance(settings, TrainConfig):
        check_names(settings, "the run's settings")
    config = settings if isinstance(settings, TrainConfig) else TrainConfig(**settings)
    name, kwargs, info, _ = resolve_model_settings(config)
    checked = check_config(config)
    net = build_model(name, kwargs, pretrained=config.pretrained)
    train_iter, _ = load_data(config, train=True)
    return lr_find(net, train_iter, ctx=checked.ctxs,
                   num_iter=num_iter or config.max_batches or 100, optimizer=config.optimizer,
                   momentum=config.momentum, wd=config.wd, init=config.init, seed=config.seed)
