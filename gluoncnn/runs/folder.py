"""The run folder on disk: run.json, the lock, which files are the run's, and the checks that
refuse to lose or mix them (see :mod:`gluoncnn.runs`)."""
from __future__ import annotations

import contextlib
import datetime
import hashlib
import json
import os
import platform
import re
import shlex
import socket
from typing import Any

from .. import __version__
from ..config import TrainConfig, check_names
from ..errors import FileFormatError, GluonCNNError
from ..utils import atomic_write_text, first_line

RUN_FILE = "run.json"
FINAL_PARAMS = "model.params"
CHECKPOINT_DIR = "checkpoints"
LOCK_FILE = "train.lock"
HISTORY_CSV, HISTORY_JSON, CURVES = "history.csv", "history.json", "curves.png"
#: --save-best: the parameters of the epoch with the best test accuracy, and their record.
BEST_PARAMS, BEST_RECORD = "best.params", "best.json"
#: The top-level files a run writes; --overwrite removes these (and fit's checkpoints) only.
RUN_OUTPUTS = (RUN_FILE, FINAL_PARAMS, HISTORY_CSV, HISTORY_JSON, CURVES, BEST_PARAMS,
               BEST_RECORD)
#: fit's checkpoint files: epoch-0003.params/.states/.json, last.json, interrupted.*, and the
#: temporary names of atomic writes (.epoch-0003.params.1234.tmp).
CHECKPOINT_FILE = re.compile(r"^\.?(epoch-\d+|last|interrupted)\.[A-Za-z0-9.]+$")
#: run.json format: 2 adds the lock, model_params_sha256 and the refusals above.
FORMAT = 2

#: Settings a resume cannot change: the checkpoints hold this model's weights, trained on this
#: data, and this optimizer's state.
FIXED_ON_RESUME = ("model", "model_options", "pretrained", "classes", "in_channels", "small_input",
                   "dataset",
                   "resize", "optimizer", "nesterov")


class RunFolderError(GluonCNNError, ValueError):
    """A run folder that cannot be used as asked (holds another run, locked, inconsistent)."""


# ----------------------------------------------------------------------------- run.json

def read_run(folder: str) -> dict[str, Any]:
    """The run record of ``folder`` (settings' model options as tuples again)."""
    path = os.path.join(folder, RUN_FILE)
    if not os.path.isfile(path):
        raise RunFolderError(f"{folder} holds no gluoncnn run ({RUN_FILE} not found); start one "
                             f"with 'gluoncnn train --model NAME --out {folder}'")
    try:
        with open(path) as f:
            run = json.load(f)
        settings = run["settings"]
    except (OSError, ValueError, KeyError, TypeError) as err:
        raise FileFormatError(f"{path} is not a readable run record ({first_line(err)})") \
            from None
    settings["model_options"] = [tuple(kv) for kv in settings.get("model_options") or []]
    return run


def write_run(folder: str, run: dict[str, Any]) -> None:
    atomic_write_text(os.path.join(folder, RUN_FILE),
                      json.dumps(run, indent=2, default=str) + "\n")


def sha256_of(path: str) -> str:
    digest = hashlib.sha256()
    with open(path, "rb") as f:
        for block in iter(lambda: f.read(1 << 20), b""):
            digest.update(block)
    return digest.hexdigest()


def last_checkpoint(folder: str) -> str | None:
    """The ``.params`` of the last complete epoch in ``folder/checkpoints`` (or None)."""
    ckdir = os.path.join(folder, CHECKPOINT_DIR)
    if not os.path.isfile(os.path.join(ckdir, "last.json")):
        return None
    from ..train import load_checkpoint
    try:
        return load_checkpoint(ckdir)["params_path"]
    except (OSError, ValueError, KeyError):
        return None


def check_finished(folder: str) -> str:
    """``folder``'s model.params, if run.json says the run finished and records exactly this
    file (its sha256); else a RunFolderError saying what to do."""
    run = read_run(folder)
    params = os.path.join(folder, FINAL_PARAMS)
    status = run.get("status")
    if status != "finished":
        checkpoint = last_checkpoint(folder)
        advice = f"; evaluate its last checkpoint with --params {checkpoint}" if checkpoint else ""
        raise RunFolderError(f"the run in {folder} is {status}, not finished, so it has no final "
                             f"model: continue it with 'gluoncnn train --out {folder} "
                             f"--resume'{advice}")
    if not os.path.isfile(params):
        raise RunFolderError(f"{params} is missing although {folder}/{RUN_FILE} says the run "
                             f"finished; pass --params FILE")
    expected = run.get("model_params_sha256")
    if expected is None and run.get("format", 1) < FORMAT:
        return params  # a folder from before digests were recorded
    if expected != sha256_of(params):
        raise RunFolderError(f"{params} is not the model {folder}/{RUN_FILE} records (its sha256 "
                             f"differs): the folder mixes two runs; retrain with --overwrite, "
                             f"or pass --params FILE to evaluate that file anyway")
    return params


def verify_params(path: str) -> str:
    """Check a parameter file against a digest beside it and say how it was checked: a run's
    ``model.params`` against its run.json, a checkpoint's ``.params`` against its ``.json``
    record, any file against a ``FILE.sha256`` (``sha256sum``'s format); else it is
    'unverified'. A digest that disagrees is a :class:`FileFormatError`."""
    folder, base = os.path.split(os.path.abspath(path))
    candidates = []
    if base == FINAL_PARAMS and os.path.isfile(os.path.join(folder, RUN_FILE)):
        with contextlib.suppress(GluonCNNError):
            candidates.append((os.path.join(folder, RUN_FILE),
                               read_run(folder).get("model_params_sha256")))
    record = os.path.splitext(path)[0] + ".json"
    if path.endswith(".params") and os.path.isfile(record):
        with contextlib.suppress(OSError, ValueError, AttributeError, TypeError):
            with open(record) as f:
                candidates.append((record, (json.load(f).get("sha256") or {}).get(base)))
    if os.path.isfile(path + ".sha256"):
        with contextlib.suppress(OSError, ValueError, IndexError):
            with open(path + ".sha256") as f:
                candidates.append((path + ".sha256", f.read().split()[0]))
    for source, digest in candidates:
        if not isinstance(digest, str):
            continue
        if sha256_of(path) != digest:
            raise FileFormatError(f"{path} does not match the sha256 in {source} (changed or "
                                  f"corrupted since it was saved); use another file, or move "
                                  f"{source} away to use this one unverified")
        return f"sha256 checked against {source}"
    return "unverified: no run.json, checkpoint record or .sha256 beside it holds its digest"


# ----------------------------------------------------------------------------- the lock

def _alive(pid: int) -> bool:
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return False
    except PermissionError:
        return True
    return True


def read_lock(folder: str) -> dict[str, Any] | None:
    """The lock record of ``folder``, with ``stale`` True when its process is gone."""
    path = os.path.join(folder, LOCK_FILE)
    try:
        with open(path) as f:
            lock = json.load(f)
        pid = int(lock["pid"])
    except FileNotFoundError:
        return None
    except (OSError, ValueError, KeyError, TypeError):
        return {"pid": None, "host": None, "stale": True, "path": path}
    here = lock.get("host") == socket.gethostname()
    return dict(lock, stale=here and not _alive(pid), path=path)


def check_unlocked(folder: str) -> dict[str, Any] | None:
    """Refuse a folder a live training holds; return a stale lock's record (or None)."""
    lock = read_lock(folder)
    if lock is None or lock["stale"]:
        return lock
    where = "" if lock.get("host") == socket.gethostname() else f" on {lock.get('host')}"
    raise RunFolderError(
        f"{folder} is in use by another training (process {lock['pid']}{where}, started "
        f"{lock.get('started', '?')}); wait for it to end, choose another --out, or, if no such "
        f"training runs any more, delete {lock['path']}")


class RunLock:
    """``train.lock`` in a run folder while a training runs (``with RunLock(folder):``)."""

    def __init__(self, folder: str, command: list[str] | None = None):
        self.folder, self.command = folder, command
        self.path = os.path.join(folder, LOCK_FILE)
        self.taken_over: dict[str, Any] | None = None

    def __enter__(self) -> RunLock:
        stale = check_unlocked(self.folder)
        if stale is not None:  # set aside the dead process's lock; only one taker wins
            try:
                os.rename(self.path, f"{self.path}.{os.getpid()}.stale")
                os.remove(f"{self.path}.{os.getpid()}.stale")
                self.taken_over = stale
            except FileNotFoundError:
                pass
        record = {"pid": os.getpid(), "host": socket.gethostname(), "started": now(),
                  "command": self.command}
        tmp = f"{self.path}.{os.getpid()}.tmp"
        with open(tmp, "w") as f:
            json.dump(record, f)
        try:
            os.link(tmp, self.path)  # created whole, and only if absent
        except FileExistsError:
            check_unlocked(self.folder)
            raise RunFolderError(f"{self.folder} was locked by another training just now; "
                                 f"choose another --out") from None
        finally:
            os.remove(tmp)
        return self

    def __exit__(self, *exc) -> None:
        try:
            os.remove(self.path)
        except FileNotFoundError:
            pass


# ----------------------------------------------------------------------------- folder checks

def run_files(folder: str) -> list[str]:
    """The files in ``folder`` that a run writes (what --overwrite may remove)."""
    found = [os.path.join(folder, f) for f in RUN_OUTPUTS
             if os.path.isfile(os.path.join(folder, f))]
    ckdir = os.path.join(folder, CHECKPOINT_DIR)
    if os.path.isdir(ckdir):
        found += [os.path.join(ckdir, f) for f in sorted(os.listdir(ckdir))
                  if CHECKPOINT_FILE.match(f) and os.path.isfile(os.path.join(ckdir, f))]
    return found


def remove_run_files(folder: str) -> list[str]:
    """Remove the files of ``folder``'s run, and the checkpoint folder if that leaves it empty."""
    removed = run_files(folder)
    for path in removed:
        os.remove(path)
    ckdir = os.path.join(folder, CHECKPOINT_DIR)
    if os.path.isdir(ckdir) and not os.listdir(ckdir):
        os.rmdir(ckdir)
    return removed


def describe_run(run: dict[str, Any]) -> str:
    """``lenet on fashion-mnist, 1 of 1 epochs, finished``."""
    s = run.get("settings", {})
    done = run.get("epochs_done")
    epochs = f", {done} of {s.get('epochs')} epochs" if done is not None else ""
    return f"{run.get('model', s.get('model'))} on {s.get('dataset')}{epochs}, " \
           f"{run.get('status', 'unknown status')}"


def check_new_run_folder(folder: str, overwrite: bool) -> dict[str, Any] | None:
    """A new run may use ``folder`` if it holds no run's files, or if ``overwrite``. Returns the
    run record it would replace (or None)."""
    previous = read_run(folder) if os.path.isfile(os.path.join(folder, RUN_FILE)) else None
    files = run_files(folder)
    if overwrite or not files:
        return previous
    quoted = shlex.quote(folder)
    if previous is not None:
        raise RunFolderError(
            f"{folder} holds a run ({describe_run(previous)}); continue it with 'gluoncnn train "
            f"--out {quoted} --resume', or replace it with --overwrite (which removes only that "
            f"run's files), or choose another --out")
    names = ", ".join(os.path.relpath(p, folder) for p in files[:3])
    raise RunFolderError(f"{folder} already holds {names}{', ...' if len(files) > 3 else ''} "
                         f"but no {RUN_FILE}; choose another --out, or pass --overwrite to "
                         f"replace those files")


def check_writable_folder(folder: str, option: str = "--out", file: bool = False) -> None:
    """Refuse, before anything is loaded or computed, a ``folder`` that cannot become a run
    folder (``file=True``: a path that cannot become a file): a file (a folder), a path under a
    file, a name too long, a place this user may not write (read-only). Nothing is created."""
    given = os.path.abspath(folder)
    if file and os.path.isdir(given):
        raise RunFolderError(f"{option} {folder} is a folder, not a file; name a file")
    path = given
    while True:
        try:
            if os.path.exists(path) and not os.path.isdir(path):
                if path == given and file:
                    break  # a file that is there is replaced
                what = "is a file" if path == given else f"is under the file {path}"
                raise RunFolderError(f"{option} {folder} {what}, not a folder; choose another "
                                     f"{option}")
            if os.path.isdir(path):
                break
            os.stat(path)
        except (FileNotFoundError, NotADirectoryError):
            pass  # not there yet: its parent decides
        except OSError as err:
            raise RunFolderError(f"{option} {folder} cannot be written: {err.strerror}; choose "
                                 f"another {option}") from None
        parent = os.path.dirname(path)
        if parent == path:
            break
        path = parent
    folder_to_write = os.path.dirname(path) if os.path.isfile(path) else path
    if not os.access(folder_to_write, os.W_OK | os.X_OK):
        raise RunFolderError(f"{option} {folder}: {folder_to_write} is not writable (read-only, "
                             f"or not this user's); choose another {option}")


def check_resumable(folder: str) -> None:
    """Refuse to resume ``folder`` when its last checkpoint is missing a file, changed since it
    was written or not a checkpoint record: said before anything is loaded or written."""
    ckdir = os.path.join(folder, CHECKPOINT_DIR)
    if not os.path.isfile(os.path.join(ckdir, "last.json")):
        return  # nothing to resume from yet: fit starts at epoch 1 and says so
    from ..train import load_checkpoint
    try:
        load_checkpoint(ckdir)
    except (OSError, ValueError) as err:
        raise RunFolderError(f"cannot resume {folder}: {first_line(err)}") from None


def _same(key: str, old: Any, new: Any) -> bool:
    if key == "model_options":
        return sorted(map(tuple, old or [])) == sorted(map(tuple, new or []))
    if key == "model" and isinstance(old, str) and isinstance(new, str):
        from .settings import resolve_model  # 'resnet18_v1' (the model zoo's) is resnet18
        return resolve_model(old) == resolve_model(new)
    if key in ("dataset", "optimizer") and isinstance(old, str) and isinstance(new, str):
        return old.lower().replace("_", "-") == new.lower().replace("_", "-")
    return old == new


def run_config(run: dict[str, Any], folder: str = "the run folder") -> TrainConfig:
    """The config a run record's settings hold (run.json's of every format: version 0's have
    the same names, ``amp`` possibly False/True)."""
    return TrainConfig.from_dict(run["settings"], f"{os.path.join(folder, RUN_FILE)}'s settings")


def merge_resume(previous: dict[str, Any], changes: dict[str, Any],
                 folder: str) -> tuple[TrainConfig, list[str]]:
    """The config of a resumed run: ``previous`` run's with ``changes``. Refuses a change of
    :data:`FIXED_ON_RESUME`; returns the config and the changes as text."""
    check_names(changes, "the settings to change")
    before = run_config(previous, folder)
    fixed = [k for k in FIXED_ON_RESUME if k in changes and not _same(k, getattr(before, k),
                                                                      changes[k])]
    if fixed:
        what = "; ".join(f"{k} {getattr(before, k)!r} -> {changes[k]!r}" for k in fixed)
        raise RunFolderError(
            f"cannot resume {folder} with another {', '.join(fixed)} ({what}): its checkpoints "
            f"belong to the run's own; start a new run with another --out (or --overwrite)")
    after = before.replace(**changes)
    said = [f"{k} {getattr(before, k)!r} -> {getattr(after, k)!r}" for k in changes
            if not _same(k, getattr(before, k), getattr(after, k))]
    return after, said


def now() -> str:
    return datetime.datetime.now().isoformat(timespec="seconds")


def versions() -> dict[str, str]:
    import mxnet as mx
    import numpy as np
    return {"gluoncnn": __version__, "mxnet": mx.__version__, "numpy": np.__version__,
            "python": platform.python_version()}
