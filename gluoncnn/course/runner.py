"""Execute the chapters in one preset, top to bottom, and save each in place.

    python -m gluoncnn.course run --preset cpu                  # every chapter, in order
    python -m gluoncnn.course run --preset cpu --chapters 01,05
    python -m gluoncnn.course run --preset cpu --force          # again, even if recorded

The chapters are the ``.ipynb`` files of ``--notebooks`` (default: ``notebooks`` in the working
folder, as ``make chapters`` runs it from the repository), their records go to ``--results``
(default: its ``results`` folder); the package never looks for a repository around it. The
README's tables of the records are the repository's ``scripts/course_tables.py``.

A chapter is saved only when its execution succeeded: a failed one leaves the saved notebook
as it was (the failed copy, with the traceback, goes to the temporary folder; its path is
printed). Each success writes ``results/<preset>/<chapter>.json``: the preset, the time, the
commit of the code that ran, the machine, and what the chapter passed to
:func:`gluoncnn.course.record`. A chapter already recorded for this preset and commit is
skipped (resuming a stopped run), unless ``--force``.
"""
import argparse
import datetime
import json
import os
import re
import subprocess
import sys
import tempfile
import time

from ..errors import OptionError
from ..utils import atomic_write_text
from . import (
    PRESET_ENV,
    PRESET_NAMES,
    QUICK_ENV,
    RECORD_ENV,
    against_targets,
)


def code_commit(path):
    """The last commit that touched the package (the code a chapter runs), ``+dirty`` when it has
    uncommitted changes; None outside a git checkout."""
    package = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))

    def git(*args):
        return subprocess.run(["git", *args], cwd=path, capture_output=True, text=True,
                              check=True).stdout.strip()
    try:
        commit = git("log", "-1", "--format=%H", "--", package)
        dirty = git("status", "--porcelain", "--", package)
    except (OSError, subprocess.CalledProcessError):
        return None
    return (commit or "uncommitted") + ("+dirty" if dirty else "")


def select_chapters(spec, available):
    """The chapters named by ``spec`` (``'01,05'`` or full names; None: all), in course order."""
    if not spec:
        return list(available)
    chosen = []
    for item in (s.strip() for s in spec.split(",") if s.strip()):
        matches = [c for c in available if c == item or c.split("-")[0] == item.zfill(2)]
        if not matches:
            raise OptionError(f"no chapter {item!r}; valid: "
                              f"{', '.join(c.split('-')[0] for c in available)} or full names")
        chosen.extend(m for m in matches if m not in chosen)
    return [c for c in available if c in chosen]


def record_path(results_dir, preset, chapter):
    return os.path.join(results_dir, preset, f"{chapter}.json")


def already_recorded(results_dir, preset, chapter, commit):
    path = record_path(results_dir, preset, chapter)
    if commit is None or not os.path.isfile(path):
        return False
    with open(path) as f:
        return json.load(f).get("commit") == commit


def execute(nb, path, preset, record_file, kernel_name=None):
    """Run the notebook ``nb`` read from ``path`` in ``preset``, in a fresh kernel whose working
    directory is the notebook's folder, filling in its outputs. Raises what the failing cell
    raised (``nbclient``'s ``CellExecutionError``)."""
    from nbclient import NotebookClient
    saved = {k: os.environ.get(k) for k in (PRESET_ENV, RECORD_ENV, QUICK_ENV)}
    os.environ.update({PRESET_ENV: preset, RECORD_ENV: record_file,
                       QUICK_ENV: "1" if preset == "quick" else "0"})
    try:
        client = NotebookClient(nb, timeout=None, kernel_name=kernel_name or "",
                                resources={"metadata": {"path": os.path.dirname(path)}})
        client.execute()
    finally:
        for key, value in saved.items():
            if value is None:
                os.environ.pop(key, None)
            else:
                os.environ[key] = value


def run_chapter(chapter, preset, notebooks_dir, results_dir, commit, kernel_name=None,
                log=print):
    """Execute one chapter; save it and its record on success. Returns the record (None if it
    failed)."""
    import nbformat

    from ..doctor import cpu_name
    path = os.path.join(notebooks_dir, f"{chapter}.ipynb")
    folder = os.path.join(results_dir, preset)
    os.makedirs(folder, exist_ok=True)
    # absolute: the kernel runs in the notebooks' folder
    reported = os.path.abspath(os.path.join(folder, f"{chapter}.reported.json"))
    if os.path.exists(reported):
        os.remove(reported)
    nb = nbformat.read(path, as_version=4)
    start = time.time()
    try:
        execute(nb, path, preset, reported, kernel_name)
    except Exception as err:  # noqa: BLE001 (any failing cell: keep the saved notebook, say why)
        failed = os.path.join(tempfile.gettempdir(), "gluoncnn-course", preset,
                              f"{chapter}.ipynb")
        os.makedirs(os.path.dirname(failed), exist_ok=True)
        atomic_write_text(failed, nbformat.writes(nb) + "\n")
        message = re.sub(r"\x1b\[[0-9;]*m", "", str(err)).strip()  # no terminal colours
        last_line = (message.splitlines() or [type(err).__name__])[-1]
        log(f"{chapter}: FAILED after {time.time() - start:.0f} s: {last_line} "
            f"(the saved notebook is unchanged; the failed run: {failed})")
        return None
    seconds = time.time() - start
    atomic_write_text(path, nbformat.writes(nb) + "\n")
    results = {}
    if os.path.exists(reported):
        with open(reported) as f:
            results = json.load(f)
        os.remove(reported)
    record = {"chapter": chapter, "preset": preset, "seconds": round(seconds, 1),
              "commit": commit, "date": datetime.date.today().isoformat(),
              "cpu": cpu_name(), "cores": os.cpu_count(),
              "threads": os.environ.get("OMP_NUM_THREADS"), "results": results,
              "targets": [{"name": name, "test_acc": acc, "target": target, "reached": reached}
                          for name, acc, target, reached in against_targets(chapter, results)]}
    atomic_write_text(record_path(results_dir, preset, chapter),
                      json.dumps(record, indent=1, sort_keys=True) + "\n")
    log(f"{chapter}: {_minutes(seconds)}")
    for t in record["targets"]:
        log(f"    {t['name']}: test accuracy {t['test_acc']:.4f}, target {t['target']:.3f} "
            f"{'reached' if t['reached'] else 'MISSED'}")
    return record


def _minutes(seconds):
    return f"{seconds / 60:.1f} min ({seconds:.0f} s)"


def run(preset, chapters=None, force=False, notebooks_dir="notebooks", results_dir=None,
        kernel_name=None, log=print):
    """Execute ``chapters`` (all of the course by default) in ``preset``, in order: the
    notebooks of ``notebooks_dir``, recorded in ``results_dir`` (default: its ``results``).
    Returns ``{chapter: record or None}`` (None: failed); skipped chapters keep their old
    record."""
    results_dir = results_dir or os.path.join(notebooks_dir, "results")
    if not os.path.isdir(notebooks_dir):
        raise OptionError(f"no notebooks folder {notebooks_dir}; run from the repository "
                          f"(make chapters) or pass --notebooks DIR")
    if preset not in PRESET_NAMES:
        raise OptionError(f"unknown preset {preset!r}; valid: {', '.join(PRESET_NAMES)}")
    # the chapters' names start with their number: sorted is the course's order
    available = sorted(f[:-len(".ipynb")] for f in os.listdir(notebooks_dir)
                       if f.endswith(".ipynb"))
    commit = code_commit(notebooks_dir)
    done, total = {}, 0.0
    for chapter in select_chapters(chapters, available):
        if not force and already_recorded(results_dir, preset, chapter, commit):
            log(f"{chapter}: already recorded for {preset} at this commit (--force to re-run)")
            continue
        done[chapter] = run_chapter(chapter, preset, notebooks_dir, results_dir, commit,
                                    kernel_name, log)
        total += done[chapter]["seconds"] if done[chapter] else 0.0
    failed = [c for c, r in done.items() if r is None]
    log(f"{len(done) - len(failed)} chapter(s) executed in {_minutes(total)}"
        + (f"; FAILED: {', '.join(failed)}" if failed else ""))
    return done


def main(argv=None):
    parser = argparse.ArgumentParser(prog="python -m gluoncnn.course",
                                     description="Execute the course's chapters in a preset.")
    sub = parser.add_subparsers(dest="command", required=True)
    p = sub.add_parser("run", help="execute chapters top to bottom and save them in place")
    p.add_argument("--preset", required=True, choices=PRESET_NAMES)
    p.add_argument("--chapters", help="comma-separated numbers or names, e.g. 01,05 (default: all)")
    p.add_argument("--force", action="store_true",
                   help="re-run chapters already recorded for this preset and commit")
    p.add_argument("--kernel", help="Jupyter kernel name (default: each notebook's own)")
    p.add_argument("--notebooks", default="notebooks",
                   help="the folder of the chapters (default: notebooks, in the working folder)")
    p.add_argument("--results", help="where the records go (default: NOTEBOOKS/results)")
    args = parser.parse_args(argv)
    try:
        done = run(args.preset, args.chapters, args.force, args.notebooks, args.results,
                   args.kernel)
    except OptionError as err:
        print(f"error: {err}", file=sys.stderr)
        return 2
    return 1 if any(r is None for r in done.values()) else 0
