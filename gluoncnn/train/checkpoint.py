"""Checkpoints: parameters, optimizer state and a JSON record, written atomically, read back
without unpickling anything, each file checked against the sha256 its record carries.

A checkpoint named ``epoch-0003`` in a folder is three files plus the folder's pointer:

- ``epoch-0003.params``: the net's parameters (``net.save_parameters``, float32);
- ``epoch-0003.states``: the optimizer's per-parameter state (momentum, Adam's moments) as an
  ``mx.nd.save`` dict of plain arrays, keys ``"<param index>/<position>"``;
- ``epoch-0003.json``: the record: ``epoch``, ``params``, ``states``, ``states_format``
  (``"nd-v1"``), ``optimizer_state`` (the state's layout and the optimizer's update counts as
  JSON), ``sha256`` (file name -> hex digest of ``.params`` and ``.states``), ``created``, and
  whatever the caller adds (``fit`` adds ``history``, ``schedule_state``, ``meta``, ``seed``,
  ``reference_loss``);
- ``last.json``: a copy of the newest epoch record.

Nothing here calls ``pickle`` or ``Trainer.load_states`` (which unpickles): a run folder is data,
never code. Older checkpoints whose ``.states`` is a pickle are read without their optimizer
state (a warning says so).
"""
from __future__ import annotations

import hashlib
import json
import os
import time
import warnings
from typing import Any

import mxnet as mx

from ..errors import FileFormatError, OptionError
from ..utils import atomic_write, atomic_write_text, first_line
from .history import to_json_text

STATES_FORMAT = "nd-v1"


def checkpoint_name(epoch: int) -> str:
    return f"epoch-{epoch:04d}"


def sha256_of(path) -> str:
    h = hashlib.sha256()
    with open(path, "rb") as f:
        for block in iter(lambda: f.read(1 << 20), b""):
            h.update(block)
    return h.hexdigest()


# ------------------------------------------------------------------------------ optimizer state
def _updaters(trainer):
    """The updaters holding the optimizer state: the kvstore's when it updates, else one per
    device (each holds the same values); none when the servers update (``dist_async``)."""
    if not trainer._kv_initialized:
        trainer._init_kvstore()
    if trainer._params_to_init:
        trainer._init_params()
    if trainer._update_on_kvstore:
        updater = getattr(trainer._kvstore, "_updater", None)
        return [updater] if updater is not None else []
    return trainer._updaters


def _flatten(state, index, arrays):
    """The JSON layout of one parameter's state (None, an array, or nested tuples of them); its
    arrays go into ``arrays`` under names ``"<index>/<n>"``, which the layout holds."""
    if state is None:
        return None
    if isinstance(state, mx.nd.NDArray):
        name = f"{index}/{len(arrays)}"
        arrays[name] = state
        return name
    if isinstance(state, (tuple, list)):
        return [_flatten(s, index, arrays) for s in state]
    raise FileFormatError(f"cannot save an optimizer state of type {type(state).__name__}")


def _unflatten(layout, arrays):
    if layout is None:
        return None
    if isinstance(layout, str):
        return arrays[layout]
    return tuple(_unflatten(item, arrays) for item in layout)


def save_optimizer_state(trainer, path) -> dict[str, Any] | None:
    """Write the trainer's optimizer state to ``path`` as plain arrays; return the JSON part
    (layout, optimizer name and update counts) for the checkpoint record. None (and no file)
    when the state is not in this process (``dist_async``: the servers hold it)."""
    updaters = _updaters(trainer)
    if not updaters:
        return None
    updater = updaters[0]
    opt = updater.optimizer
    arrays: dict[str, Any] = {}
    layout = {str(index): _flatten(state, index, arrays)
              for index, state in updater.states.items()}
    atomic_write(path, lambda tmp: mx.nd.save(tmp, arrays))
    return {"optimizer": type(opt).__name__.lower(), "layout": layout,
            "num_update": int(opt.num_update), "begin_num_update": int(opt.begin_num_update),
            "index_update_counts": {str(dev): {str(i): int(c) for i, c in counts.items()}
                                    for dev, counts in opt._all_index_update_counts.items()}}


def _index(key: str):
    return int(key) if key.lstrip("-").isdigit() else key


def load_optimizer_state(trainer, path, info: dict[str, Any]) -> None:
    """Put the state saved by :func:`save_optimizer_state` back into ``trainer`` (every device's
    updater, and the optimizer's update counts, which Adam's bias correction reads)."""
    updaters = _updaters(trainer)
    if not updaters:
        raise OptionError("this run's optimizer state lives on the servers (kvstore="
                          "'dist_async'); resume it with the servers it ran with")
    opt = updaters[0].optimizer
    if info.get("optimizer") != type(opt).__name__.lower():
        raise OptionError(
            f"the checkpoint's optimizer state is {info.get('optimizer')!r}'s but this run uses "
            f"{type(opt).__name__.lower()!r}; resume with the optimizer the run was started with, "
            f"or start a new run")
    for updater in updaters:
        arrays = load_arrays(path)
        updater.states = {_index(k): _unflatten(v, arrays) for k, v in info["layout"].items()}
        updater.states_synced = dict.fromkeys(updater.states, False)
    opt.num_update = int(info["num_update"])
    opt.begin_num_update = int(info.get("begin_num_update", 0))
    opt._all_index_update_counts = {
        int(dev): {_index(i): int(c) for i, c in counts.items()}
        for dev, counts in info["index_update_counts"].items()} or {0: {}}
    opt._index_update_count = opt._all_index_update_counts.setdefault(0, {})


def _read_nd_file(path, failure: str):
    """``mx.nd.load(path)``; a file MXNet cannot read raises :class:`FileFormatError` with
    ``f"{path} is not a valid MXNet {failure}"`` instead of MXNet's traceback."""
    try:
        return mx.nd.load(os.fspath(path))
    except mx.base.MXNetError:
        raise FileFormatError(f"{path} is not a valid MXNet {failure}") from None


def load_arrays(path) -> dict[str, mx.nd.NDArray]:
    """``mx.nd.load(path)`` as a dict, with a one-line error naming the file when it is not an
    NDArray file (truncated, corrupt, or something else, such as a pickle)."""
    arrays = _read_nd_file(path, "array file (truncated or corrupt); resume from another "
                                 "checkpoint or start a new run")
    return arrays if isinstance(arrays, dict) else dict(enumerate(arrays))


def load_parameters(net, path, ctx=None) -> None:
    """``net.load_parameters(path, ctx)``, with a one-line :class:`FileFormatError` naming the
    file when it is empty, truncated or corrupt, instead of MXNet's traceback."""
    # Gluon 1.9's load_parameters takes only a file name, so the file is read once to check it.
    _read_nd_file(path, "parameter file (empty, truncated or not written by save_parameters)")
    net.load_parameters(os.fspath(path), ctx=ctx)


# ------------------------------------------------------------------------------ checkpoints
def save_checkpoint(directory, epoch: int, net, trainer=None, meta: dict | None = None,
                    name: str | None = None, keep: int | None = None) -> dict[str, Any]:
    """Write ``<name>.params``, ``<name>.states`` (trainer) and ``<name>.json`` atomically, then
    ``last.json`` pointing at them (``name`` defaults to ``epoch-0003``); ``keep`` old epoch
    checkpoints are kept (all when None). Returns the JSON record written."""
    directory = os.fspath(directory)
    os.makedirs(directory, exist_ok=True)
    name = name or checkpoint_name(epoch)
    record = dict(meta or {})
    record.update(epoch=int(epoch), params=name + ".params", created=time.time())
    params_path = os.path.join(directory, name + ".params")
    atomic_write(params_path, net.save_parameters)
    record["sha256"] = {record["params"]: sha256_of(params_path)}
    if trainer is not None:
        states_path = os.path.join(directory, name + ".states")
        state = save_optimizer_state(trainer, states_path)
        if state is not None:
            record.update(states=name + ".states", states_format=STATES_FORMAT,
                          optimizer_state=state)
            record["sha256"][record["states"]] = sha256_of(states_path)
    atomic_write_text(os.path.join(directory, name + ".json"), to_json_text(record))
    if name.startswith("epoch-"):
        atomic_write_text(os.path.join(directory, "last.json"), to_json_text(record))
        if keep:
            _prune_checkpoints(directory, keep)
    return record


def _prune_checkpoints(directory, keep):
    epochs = sorted(int(f[6:10]) for f in os.listdir(directory)
                    if f.startswith("epoch-") and f.endswith(".json") and f[6:10].isdigit())
    for e in epochs[:-keep]:
        for ext in (".params", ".states", ".json"):
            p = os.path.join(directory, checkpoint_name(e) + ext)
            if os.path.exists(p):
                os.remove(p)


def load_checkpoint(path) -> dict[str, Any]:
    """Read a checkpoint's JSON record: ``path`` is a checkpoint folder (its ``last.json``), a
    ``.json`` file, or a ``.params`` file with its ``.json`` beside it. Adds absolute
    ``params_path`` (and ``states_path``), and checks each file against its sha256. Raises
    ``FileNotFoundError`` saying what is missing, :class:`FileFormatError` naming a file that
    does not match its record."""
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
    try:
        with open(js) as f:
            record = json.load(f)
        folder = os.path.dirname(os.path.abspath(js))
        record["params_path"] = os.path.join(folder, record["params"])
    except (ValueError, KeyError, TypeError):
        raise FileFormatError(f"{js} is not a checkpoint record (truncated or not written by "
                              f"gluoncnn); resume from another checkpoint") from None
    _check_progress(record, js)
    if record.get("states"):
        record["states_path"] = os.path.join(folder, record["states"])
    for key in ("params_path", "states_path"):
        if key in record and not os.path.exists(record[key]):
            raise FileNotFoundError(f"checkpoint {js} names {record[key]}, which is missing")
    for file, digest in (record.get("sha256") or {}).items():
        if sha256_of(os.path.join(folder, file)) != digest:
            raise FileFormatError(f"{os.path.join(folder, file)} does not match the sha256 in "
                                  f"{js} (changed or corrupted since it was saved); resume from "
                                  f"another checkpoint or start a new run")
    return record


def _check_progress(record: dict[str, Any], js: str) -> None:
    """A record's ``epoch`` is the count of epochs done (0 or more) and its ``history``, when
    there is one, holds exactly those epochs, numbered from 1."""
    epoch, history = record.get("epoch"), record.get("history")
    if isinstance(epoch, bool) or not isinstance(epoch, int) or epoch < 0:
        raise FileFormatError(f"{js} gives epoch {epoch!r}, not a number of epochs done (0 or "
                              f"more); resume from another checkpoint or start a new run")
    if history is None:
        return
    numbers = [r.get("epoch") if isinstance(r, dict) else None
               for r in (history if isinstance(history, list) else [None])]
    if numbers != list(range(1, epoch + 1)):
        raise FileFormatError(f"{js} says {epoch} epoch(s) were done but its history holds "
                              f"epochs {numbers[:6]}{' ...' if len(numbers) > 6 else ''}; "
                              f"resume from another checkpoint or start a new run")


def restore(record: dict[str, Any], net, trainer, ctxs) -> None:
    """Load a checkpoint record's parameters into ``net`` and its optimizer state into
    ``trainer``; a state in the old pickle format is skipped with a warning, never unpickled."""
    try:
        load_parameters(net, record["params_path"], ctx=ctxs)
    except FileFormatError as err:
        raise FileFormatError(f"{err}; resume from another checkpoint or start a new run") \
            from None
    except (AssertionError, ValueError, mx.base.MXNetError) as err:  # Gluon's name/shape checks
        raise FileFormatError(f"{record['params_path']} holds the parameters of another model "
                              f"({first_line(err).rstrip('.')}); resume with the model the run "
                              f"was started with, or start a new run") from None
    if not record.get("states_path") or trainer is None:
        return
    if record.get("states_format") != STATES_FORMAT or "optimizer_state" not in record:
        warnings.warn(f"{record['states_path']} is in the old pickle format, which gluoncnn does "
                      f"not load (no file of a run folder is ever unpickled); the optimizer "
                      f"state (momentum, Adam's moments) restarts from zero",
                      RuntimeWarning, stacklevel=4)
        return
    load_optimizer_state(trainer, record["states_path"], record["optimizer_state"])
