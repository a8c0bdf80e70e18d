"""The recorded chapter runs of a preset as one table: what each chapter trained, how long it
took, the test accuracies it reached against the course's targets.

    python -m gluoncnn.course table --preset cpu     # the README's table, in Markdown

Read from the runner's records (``notebooks/results/<preset>/*.json``) and the presets table,
so the README and chapter 12 show the numbers the runs computed, never typed ones.
"""
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
        return f"{size}x{size}, {_images(s.train_size)}, {_plural(s.epochs, 'epoch')}"
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


def result_rows(preset_name, results_dir=None):
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


def markdown_table(preset_name, results_dir=None):
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
