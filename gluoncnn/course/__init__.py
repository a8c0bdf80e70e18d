"""What the chapter notebooks share: the preset, the chapter's settings, a banner, results.

Every chapter starts with::

    import gluoncnn                    # before mxnet: gluoncnn sets MXNet's threads
    from gluoncnn import course
    course.configure_threads('07-resnet')   # the chapter's net decides MXNet's threads
    ...
    PRESET = course.preset()   # 'gpu' with a GPU, else 'cpu'; 'quick' when GLUONCNN_QUICK=1
    S = course.settings('07-resnet', PRESET)
    ctx = course.banner(PRESET)

Presets (the table is :data:`PRESETS`, in ``presets.py``): ``gpu`` the d2l / paper settings,
``cpu`` what a 2-core laptop CPU trains in at most about 10 minutes per chapter, ``quick`` CI
only. ``python -m gluoncnn.course run --preset cpu`` executes every chapter in a preset and
saves it in place (see ``runner.py``).
"""
import contextlib
import json
import os
import platform
import sys
import tempfile

from ..errors import OptionError
from ..utils import atomic_write_text, did_you_mean, env_flag
from .presets import CHAPTERS, PRESET_NAMES, PRESETS, TARGETS, MaxLoss, Settings

__all__ = [
    "CHAPTERS",
    "MaxLoss",
    "PRESETS",
    "PRESET_ENV",
    "PRESET_NAMES",
    "QUICK_ENV",
    "RECORD_ENV",
    "TARGETS",
    "Settings",
    "against_targets",
    "banner",
    "configure_threads",
    "native_logs_silenced",
    "pick",
    "preset",
    "quick_mode",
    "record",
    "recorded",
    "settings",
    "target_lines",
]

QUICK_ENV = "GLUONCNN_QUICK"
#: Selects a preset for every chapter (the runner sets it); a notebook's own line wins over it.
PRESET_ENV = "GLUONCNN_PRESET"
#: Where :func:`record` writes the chapter's results (set by the runner; unset: nowhere).
RECORD_ENV = "GLUONCNN_RECORD"



def configure_threads(chapter=None):
    """Let gluoncnn choose MXNet's OpenMP threads for the chapter's net until ``fit`` measures
    the net (:mod:`gluoncnn.train.calibrate`). Notebooks call it in their first cell, right after
    ``import gluoncnn``; it works before and after ``import mxnet``.

    The net is the chapter's model in the preset the environment selects (``GLUONCNN_QUICK``,
    ``$GLUONCNN_PRESET``), else in the ``cpu`` preset. ``gluoncnn.runtime.threads_for`` gives the
    count (every physical core until fit measures); ``chapter=None`` (or a chapter without a
    net) leaves the model unknown. Returns the ``runtime.ThreadChoice``."""
    from .. import runtime
    return runtime.configure_threads(_chapter_model(chapter))


def _chapter_model(chapter):
    """The registry name of ``chapter``'s net for :func:`configure_threads` (None: none)."""
    if chapter is None:
        return None
    name = "quick" if quick_mode() else os.environ.get(PRESET_ENV, "").strip().lower() or "cpu"
    return PRESETS[_check_chapter(chapter)][_check_preset(name)].model


def quick_mode(default=False):
    """True when the ``GLUONCNN_QUICK`` environment variable is set to 1/true/yes."""
    return env_flag(QUICK_ENV, default)


def pick(quick, full, quick_value):
    """``quick_value`` in quick mode, else ``full``: keeps a settings cell readable."""
    return quick_value if quick else full


def _check_preset(name):
    if name not in PRESET_NAMES:
        raise OptionError(f"unknown preset {name!r}{did_you_mean(str(name), PRESET_NAMES)}; "
                          f"valid: {', '.join(PRESET_NAMES)}")
    return name


def _check_chapter(name):
    if name not in PRESETS:
        raise OptionError(f"unknown chapter {name!r}{did_you_mean(str(name), CHAPTERS)}; "
                          f"valid: {', '.join(CHAPTERS)}")
    return name


def _has_gpu():
    import mxnet as mx
    try:
        return mx.context.num_gpus() > 0
    except mx.base.MXNetError:  # a CPU build of MXNet, or no CUDA driver
        return False


def preset(default=None):
    """The preset a chapter runs in: ``GLUONCNN_QUICK=1`` -> ``'quick'``, else
    ``$GLUONCNN_PRESET``, else ``default``, else ``'gpu'`` when MXNet sees a GPU and ``'cpu'``
    otherwise."""
    if quick_mode():
        return "quick"
    chosen = os.environ.get(PRESET_ENV, "").strip().lower() or default
    if chosen:
        return _check_preset(chosen)
    return "gpu" if _has_gpu() else "cpu"


def settings(chapter, preset_name):
    """The chapter's :class:`Settings` in that preset (``PRESETS[chapter][preset_name]``)."""
    return PRESETS[_check_chapter(chapter)][_check_preset(preset_name)]


_PRESET_TEXT = {
    "gpu": "the d2l / paper settings",
    "cpu": "settings a 2-core laptop CPU trains in about 10 minutes",
    "quick": f"CI only ({QUICK_ENV}=1): a few hundred images, one short epoch; "
             f"its numbers mean nothing",
}


def banner(preset_name, ctx=None):
    """Print which preset, device, CPU and versions the notebook's outputs come from; return the
    device (the first GPU, else the CPU). ``preset_name`` may also be the old quick flag."""
    import mxnet as mx
    import numpy as np

    from .. import __version__, runtime
    from ..doctor import cpu_name
    from ..train import try_gpu
    if isinstance(preset_name, bool):
        preset_name = "quick" if preset_name else "gpu"
    _check_preset(preset_name)
    ctx = ctx if ctx is not None else try_gpu()
    print(f"Outputs produced with the {preset_name!r} preset ({_PRESET_TEXT[preset_name]})")
    print(f"on {ctx}, {cpu_name()} ({os.cpu_count()} cores), python "
          f"{platform.python_version()}, mxnet {mx.__version__}, numpy {np.__version__}, "
          f"gluoncnn {__version__}")
    print(f"MXNet threads: {runtime.thread_choice()}")
    return ctx


def _jsonable(value):
    records = getattr(value, "records", None)  # a training History
    if records is not None:
        return [_jsonable(r) for r in records]
    if isinstance(value, dict):
        return {str(k): _jsonable(v) for k, v in value.items()}
    if isinstance(value, (list, tuple)):
        return [_jsonable(v) for v in value]
    if hasattr(value, "item") and getattr(value, "ndim", 1) == 0:  # numpy scalars
        return value.item()
    if isinstance(value, (str, int, float, bool)) or value is None:
        return value
    raise OptionError(f"course.record cannot store {type(value).__name__} {value!r}; pass "
                      f"numbers, strings, lists, dicts or a training History")


def record(chapter=None, /, **results):
    """Keep the chapter's final results (test accuracies as the chapter reports them, a
    History's epochs) for the course runner, which adds the preset, time and commit; the last
    chapter collects them. Outside the runner nothing is written.

    With the ``chapter`` name, also print each result against the course's target for that
    chapter (:data:`TARGETS`): reached, or missed and by how much, so the chapter states it
    from the run it shows."""
    payload = {k: _jsonable(v) for k, v in results.items()}
    if chapter is not None:
        print_targets(chapter, **payload)
    path = os.environ.get(RECORD_ENV, "").strip()
    if path:
        atomic_write_text(path, json.dumps(payload, indent=1, sort_keys=True) + "\n")


def print_targets(chapter, /, **results):
    """Print each of ``results`` against the course's target for ``chapter`` (:func:`record`
    does it too; this is for a chapter that states a target before its last cell)."""
    for line in target_lines(_check_chapter(chapter), results):
        print(line)


def target_lines(chapter, results):
    """One sentence per target of ``chapter`` that ``results`` holds: the accuracy, the target,
    reached or missed by how many points."""
    lines = []
    for key, target in TARGETS.get(chapter, {}).items():
        basis = f" ({target})" if isinstance(target, MaxLoss) else ""
        for name, acc, threshold, reached in _target_rows(key, target, results.get(key)):
            verdict = ("reached" if reached else
                       f"MISSED by {100 * (threshold - acc):.1f} points")
            lines.append(f"{name}: test accuracy {acc:.3f} against the course's target of "
                         f"{threshold:.3f}{basis} for this chapter: {verdict}")
    return lines


def recorded(preset_name, results_dir):
    """``{chapter: record}`` of every chapter recorded in that preset: the runner's JSON files in
    ``results_dir/<preset>/`` (the repository's ``notebooks/results``; the package never looks for
    a repository itself)."""
    folder = os.path.join(results_dir, _check_preset(preset_name))
    found = {}
    if os.path.isdir(folder):
        for name in sorted(os.listdir(folder)):
            if name.endswith(".json"):
                with open(os.path.join(folder, name)) as f:
                    found[name[:-len(".json")]] = json.load(f)
    return found


def against_targets(chapter, results):
    """``[(name, accuracy, target, reached)]`` for each of the chapter's :data:`TARGETS` that
    ``results`` (what the chapter recorded) holds; one row per net for a dict of accuracies."""
    return [row for key, target in TARGETS.get(chapter, {}).items()
            for row in _target_rows(key, target, results.get(key))]


def _target_rows(key, target, value):
    """The rows of one target: a :class:`MaxLoss` against a compression report's records, or a
    test accuracy against ``value`` (one accuracy, or a dict of them, one per net)."""
    if isinstance(target, MaxLoss):
        return target.rows(key, value)
    found = value.items() if isinstance(value, dict) else [(key, value)]
    return [(name, acc, target, acc >= target) for name, acc in found
            if isinstance(acc, (int, float))]


@contextlib.contextmanager
def native_logs_silenced():
    """Silence what MXNet's C++ core writes to stderr (its ``[hh:mm:ss] src/...`` log lines)
    inside the block; if the block raises, the captured lines are written out after all."""
    sys.stderr.flush()
    saved = os.dup(2)
    with tempfile.TemporaryFile(mode="w+b") as captured:
        os.dup2(captured.fileno(), 2)
        try:
            yield
        except BaseException:
            os.dup2(saved, 2)
            captured.seek(0)
            sys.stderr.write(captured.read().decode(errors="replace"))
            raise
        finally:
            os.dup2(saved, 2)
            os.close(saved)
