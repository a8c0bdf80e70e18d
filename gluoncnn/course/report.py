"""The recorded chapter runs of a preset as one table: what each chapter trained, how long it
took, the test accuracies it reached against the course's targets.

    python scripts/course_tables.py --preset cpu     # the README's table, in Markdown

Read from the runner's records (a results folder: the repository's ``notebooks/results``) and
the presets table, so the README and chapter 12 show the numbers the runs computed, never typed
ones. The longer single-net runs with the ``gpu`` preset's settings, recorded by
``benchmarks/full_mode.py`` (``benchmarks/results/full_mode.json``), are read the same way
(:func:`full_mode_runs`, :func:`full_mode_lines`). Every function is given its files: the
package never looks for a repository around it.
"""
import json
import os

from . import PRESETS, recorded
from .presets import _plural


def short_settings(settings):
    """One line for a table cell: each net with its options, image size, images and epochs
    (``same`` where a variant trains as the chapter's first net), then the optimizer."""
    if not settings.model:
        return "nothing trained"

    def net(s):
        options = "".join(f", {k}={v!r}" for k, v in s.options.items() if k != "small_input")
        form = " small-image form" if s.options.get("small_input") else ""
        return f"{s.model}{form}{options}"

    def data(s):
        size = s.resize or 28
        length = _plural(s.epochs, 'epoch') if s.budget is None or s.epochs else \
            f"{s.budget_minutes:g} min budget"
        return f"{size}x{size}, {_images(s.train_size)}, {length}"
    parts = [f"{net(settings)} ({data(settings)})"]
    for label in settings.variants:
        v = settings.variant(label)
        parts.append(f"{net(v)} ({'same' if data(v) == data(settings) else data(v)})")
    return "; ".join(parts) + f"; {settings.optimizer} lr {settings.lr:g}"


def _net_name(result_name):
    """'bn_lenet_test_acc' -> 'bn_lenet ', 'test_acc' -> '' (the chapter's one net), a net's
    label unchanged."""
    name = result_name.removesuffix("test_acc").rstrip("_")
    return f"{name} " if name else ""


def _images(n):
    return "all 60,000 images" if n is None else f"{n:,} images"


def result_rows(preset_name, results_dir):
    """One dict per recorded chapter, in course order: chapter, settings, minutes, accuracies
    (``'0.9012'`` for the chapter's net, ``'bn_lenet 0.9051'`` for each of several), targets
    (``'0.900 reached'``), cpu, threads, date, commit."""
    rows = []
    for chapter, r in recorded(preset_name, results_dir).items():
        rows.append({
            "chapter": chapter,
            "settings": short_settings(PRESETS[chapter][preset_name]),
            "minutes": round(r["seconds"] / 60, 1),
            "accuracies": ", ".join(f"{_net_name(t['name'])}{t['test_acc']:.4f}"
                                    for t in r.get("targets", [])),
            "targets": ", ".join(f"{t['target']:.3f} {'reached' if t['reached'] else 'MISSED'}"
                                 for t in r.get("targets", [])),
            "cpu": r.get("cpu"), "cores": r.get("cores"), "threads": r.get("threads"),
            "date": r.get("date"), "commit": (r.get("commit") or "")[:7]})
    return rows


def markdown_table(preset_name, results_dir):
    """The recorded runs of ``preset_name`` as a Markdown table, with a line saying where and
    when they ran and the course's total time."""
    rows = result_rows(preset_name, results_dir)
    if not rows:
        return f"No chapter has been recorded in the {preset_name!r} preset yet."
    lines = ["| chapter | what it trains | minutes | test accuracy | target |",
             "| --- | --- | ---: | --- | --- |"]
    for row in rows:
        lines.append(f"| `{row['chapter']}` | {row['settings']} | {row['minutes']:.1f} | "
                     f"{row['accuracies'] or '-'} | {row['targets'] or '-'} |")
    machines = sorted({f"{r['cpu']} ({r['cores']} cores, {r['threads']} OpenMP threads)"
                       for r in rows})
    dates = sorted({r["date"] for r in rows if r["date"]})
    total = sum(r["minutes"] for r in rows)
    lines += ["", f"{len(rows)} chapters, {total:.0f} minutes in all (whole chapters, "
                  f"training and everything else), run by `python -m gluoncnn.course run "
                  f"--preset {preset_name}` on {', '.join(machines)}, "
                  f"{' to '.join(dict.fromkeys([dates[0], dates[-1]])) if dates else 'no date'}."]
    return "\n".join(lines)


def full_mode_runs(path):
    """The full-mode runs ``benchmarks/full_mode.py`` recorded in ``path``, ``{model: record}``;
    each record holds the command, date, CPU, cores, threads, versions, final accuracies, target
    and the history of its epochs. ``{}`` when nothing is recorded."""
    if not os.path.exists(path):
        return {}
    with open(path) as f:
        return json.load(f).get("runs", {})


def full_mode_lines(name, path):
    """What a chapter shows of net ``name``'s full-mode run: how and where it ran, one line per
    epoch (accuracies, learning rate at the epoch's end, minutes), and the result against the
    target. One line saying how to record it when there is no such run."""
    run = full_mode_runs(path).get(name)
    if run is None:
        return [f"no full-mode run of {name} recorded: python benchmarks/full_mode.py {name}"]
    threads = run.get("threads", "an unrecorded number of")
    lines = [f"{name} on {run['device']}, {run['cpu']} ({run['cores']} cores, {threads} OpenMP "
             f"threads), {run['date']}:", f"  {run['command']}",
             "epoch  train acc  test acc        lr  minutes"]
    for h in run["history"]:
        lines.append(f"{h['epoch']:5d}  {h['train_acc']:9.4f}  {h['test_acc']:8.4f}  "
                     f"{h['lr']:8.5f}  {h['time'] / 60:7.1f}")
    target = ("" if run["target"] is None else
              f" (target {run['target']:.2f}: {'reached' if run['reached_target'] else 'missed'})")
    lines.append(f"{_plural(run['epochs'], 'epoch')}, {run['train_seconds'] / 60:,.1f} minutes of "
                 f"training; test accuracy {run['test_acc']:.4f}{target}")
    return lines


def full_mode_table(path):
    """The full-mode runs as a Markdown table (the README's): each net's chapter, epochs, final
    test accuracy against its target, training minutes and where it ran."""
    runs = full_mode_runs(path)
    if not runs:
        return "No full-mode run recorded yet: python benchmarks/full_mode.py NAME"
    lines = ["| net | chapter | epochs | test accuracy | target | training minutes | where, when |",
             "| --- | --- | ---: | ---: | --- | ---: | --- |"]
    for name, run in runs.items():
        target = ("-" if run["target"] is None else
                  f"{run['target']:.2f} {'reached' if run['reached_target'] else 'MISSED'}")
        threads = run.get("threads", "unrecorded")
        lines.append(f"| `{name}` | `{run['chapter']}` | {run['epochs']} | {run['test_acc']:.4f} | "
                     f"{target} | {run['train_seconds'] / 60:,.1f} | {run['cpu']} "
                     f"({run['cores']} cores, {threads} OpenMP threads), {run['date']} |")
    return "\n".join(lines)

