"""Full-mode results of the chapters: train a chapter's network with its real settings on the
whole of Fashion-MNIST and record the result, with the date, settings, device and versions.

    .venv/bin/python benchmarks/full_mode.py lenet lenet_bn      # the runs that fit a CPU
    .venv/bin/python benchmarks/full_mode.py resnet18 --ctx gpu:0
    .venv/bin/python benchmarks/full_mode.py resnet18 --resume   # continue a stopped run

Each run is a chapter's config (gluoncnn.config.TrainConfig, from the preset table), trained by
the library behind `gluoncnn train` (`gluoncnn.runs.train`, the run folder `runs/full/<name>/`),
its `gluoncnn train` command line recorded; the results are merged into
`benchmarks/results/full_mode.json` (the last chapter's tables read it). MXNet's threads are
measured per net by fit (gluoncnn.train.calibrate), so several nets can share a command; each
result records its thread count.
"""
import argparse
import datetime
import json
import os
import sys
import time

ROOT = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
#: {"runs": {model: record}}, read by chapters 7 and 12 and by scripts/course_tables.py.
RESULTS = os.path.join(ROOT, "benchmarks", "results", "full_mode.json")


def _preset(chapter, variant=None):
    """The config of a chapter's ``gpu`` preset (gluoncnn.course's table)."""
    from gluoncnn import course
    return course.settings(chapter, "gpu").config(variant)


#: name -> (chapter, target test accuracy, TrainConfig). The configs are the chapters'
#: gpu-preset settings, read from the preset table (gluoncnn/course/presets.py), so nothing
#: here is copied by hand.
RUNS = {
    "lenet": ("01-lenet", 0.88, _preset("01-lenet")),
    "lenet_bn": ("06-batch-norm", 0.90, _preset("06-batch-norm", "BN-LeNet")),
    # Chapter 04's gpu preset is d2l's 224x224 ImageNet form, which a CPU cannot afford; this
    # run trains the small-input form on the 28x28 images with the same training settings.
    "nin": ("04-nin", None, _preset("04-nin").replace(small_input=True, model_options=(),
                                                     resize=None)),
    "resnet18": ("07-resnet", 0.93, _preset("07-resnet")),
}


def _load():
    if os.path.exists(RESULTS):
        with open(RESULTS) as f:
            return json.load(f)
    return {"about": __doc__.strip().splitlines()[0], "runs": {}}


def _save(results):
    from gluoncnn.utils import atomic_write_text
    atomic_write_text(RESULTS, json.dumps(results, indent=2, sort_keys=True) + "\n")


def _device_text(ctx):
    from gluoncnn.train import parse_ctx, try_gpu
    contexts = [try_gpu()] if ctx == "auto" else parse_ctx(ctx)
    return ",".join(str(c) for c in contexts)


def train_run(name, ctx="auto", seed=0, resume=False, say=print):
    """Train full-mode run ``name`` in ``runs/full/<name>/``: continue it when ``resume`` and the
    folder holds it, else start it anew (replacing only an earlier run's own files). Returns
    ``(gluoncnn.runs.RunResult, the command line, resumed)``."""
    from gluoncnn import runs
    from gluoncnn.cli import command_line
    out = os.path.join(ROOT, "runs", "full", name)
    config = RUNS[name][2].replace(ctx=ctx, seed=seed, progress="off")
    argv = [*command_line(config), "--out", out]
    resumed = resume and os.path.isfile(os.path.join(out, runs.RUN_FILE))
    if resumed:
        result = runs.train(out, {"progress": "off"}, resume=True, say=say)
    else:
        result = runs.train(out, config, overwrite=True, command=["gluoncnn", "train", *argv],
                            say=say)
    if result.status != "finished":
        raise SystemExit(f"{name}: training {result.status}; continue with "
                         f"benchmarks/full_mode.py {name} --resume")
    return result, "gluoncnn train " + " ".join(argv).replace(ROOT + os.sep, ""), resumed


def run(name, ctx, seed, resume=False):
    import mxnet as mx
    import numpy as np

    from gluoncnn import __version__, runtime
    from gluoncnn.doctor import cpu_name
    chapter, target, _ = RUNS[name]
    start = time.time()
    result, command, resumed = train_run(name, ctx, seed, resume)
    out = result.folder
    with open(os.path.join(out, "history.json")) as f:
        history = json.load(f)
    records = history["records"] if isinstance(history, dict) else history
    last = records[-1]
    return {
        "chapter": chapter, "model": name, "command": command,
        "date": datetime.date.today().isoformat(), "device": _device_text(ctx),
        "cpu": cpu_name(), "cores": os.cpu_count(), "threads": runtime.thread_choice().count,
        "versions": {"mxnet": mx.__version__, "numpy": np.__version__, "gluoncnn": __version__},
        "epochs": len(records), "test_acc": last["test_acc"], "train_acc": last["train_acc"],
        "loss": last["loss"], "target": target,
        "reached_target": None if target is None else last["test_acc"] >= target,
        "train_seconds": round(sum(r["time"] for r in records), 1),
        # a resumed run's wall time would cover only its last part
        "wall_seconds": None if resumed else round(time.time() - start, 1),
        "history": records,
    }


def main(argv=None):
    parser = argparse.ArgumentParser(description=__doc__.strip().splitlines()[0])
    parser.add_argument("models", nargs="+", choices=sorted(RUNS))
    parser.add_argument("--ctx", default="auto", help="cpu, gpu:0, gpu:0,gpu:1 (default: best)")
    parser.add_argument("--seed", type=int, default=0)
    parser.add_argument("--resume", action="store_true",
                        help="continue each run from its last complete epoch in runs/full/<name>/")
    args = parser.parse_args(argv)
    for name in args.models:
        result = run(name, args.ctx, args.seed, args.resume)
        results = _load()
        results["runs"][name] = result
        _save(results)
        print(f"{name}: test acc {result['test_acc']:.4f} after {result['epochs']} epochs "
              f"({result['train_seconds']} s) -> {os.path.relpath(RESULTS, ROOT)}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
