"""Does bfloat16 keep the accuracy? The same nets trained in float32 and in bfloat16 (MXNet's AMP),
same seed, same data, each in a fresh process (``amp.init`` patches MXNet for the whole process),
on a CPU that computes bfloat16 natively; the test accuracy after every epoch and each epoch's
time.

    python benchmarks/bf16_parity.py    # LeNet-BN 4 epochs, ResNet-20 2 epochs on 20,000 images
    python benchmarks/bf16_parity.py --nets lenet_bn --epochs 2

The threads are fixed for both precisions (``--threads``, default every physical core, given to
the children as ``OMP_NUM_THREADS``), so the times compare the precisions and nothing else.
Writes ``results/bf16_parity.json`` and ``results/bf16_parity.md`` (which names the CPU, its
flags and the AMX state).
"""
from __future__ import annotations

import argparse
import datetime
import json
import os
import subprocess
import sys
import time

from argtypes import names_from, positive_int
from epoch import child_env  # the caller's environment, this folder on the path, the threads

HERE = os.path.dirname(os.path.abspath(__file__))
RESULTS = os.path.join(HERE, "results")

#: name -> (model, options, fit options, epochs, training images (None: all 60,000)): the
#: chapters' cpu-preset recipes.
NETS = {
    "lenet_bn": ("lenet_bn", {}, {"optimizer": "adam", "lr": 0.003, "batch_size": 64}, 4, None),
    "resnet20": ("resnet20_cifar", {}, {"optimizer": "sgd", "lr": 0.1, "batch_size": 128,
                                        "schedule": "cosine", "wd": 1e-4}, 2, 20000),
}
DTYPES = ("float32", "bfloat16")


def child(name: str, dtype: str, epochs: int) -> dict:
    from gluoncnn import runtime
    from gluoncnn.data import load_data
    from gluoncnn.models import get_model
    from gluoncnn.train import fit
    model, options, fit_options, _, train_size = NETS[name]
    fit_options = dict(fit_options)
    train_iter, test_iter = load_data("fashion-mnist", fit_options.pop("batch_size"),
                                      train_size=train_size)
    net = get_model(model, classes=10, in_channels=1, **options)
    from gluoncnn.train.callbacks import Callback
    times = []

    class EpochClock(Callback):
        def on_epoch_begin(self, state, epoch):
            times.append(time.perf_counter())

        def on_epoch_end(self, state, record):
            times[-1] = time.perf_counter() - times[-1]

    history = fit(net, train_iter, test_iter, epochs, ctx="cpu", seed=0, progress=False,
                  plot=False, verbose=False, amp=None if dtype == "float32" else dtype,
                  callbacks=[EpochClock()], **fit_options)
    return {"test_acc": [round(r["test_acc"], 4) for r in history.records],
            "epoch_seconds": [round(t, 1) for t in times], "amp": history.meta["amp"],
            "threads": runtime.thread_choice().count, "amx": str(runtime.amx_state())}


def main(argv=None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--nets", type=names_from(NETS), default=",".join(NETS))
    parser.add_argument("--epochs", type=positive_int, default=None,
                        help="epochs for every net (default: each net's own)")
    parser.add_argument("--threads", type=positive_int, default=None)
    parser.add_argument("--child", nargs=3, help=argparse.SUPPRESS)
    args = parser.parse_args(argv)
    if args.child:
        name, dtype, epochs = args.child
        print(json.dumps(child(name, dtype, int(epochs))))
        return 0
    from gluoncnn import runtime
    threads = args.threads or runtime.physical_cores()
    env = child_env(threads)
    report = {"date": datetime.datetime.now().isoformat(timespec="seconds"),
              "cpu": runtime.cpu_name(), "cpu_flags": sorted(
                  f for f in runtime.cpu_flags() if f.startswith(("avx512_bf16", "amx", "avx2"))),
              "threads": threads, "nets": {}}
    for name in args.nets:
        epochs = args.epochs or NETS[name][3]
        row = {}
        for dtype in DTYPES:
            done = subprocess.run([sys.executable, os.path.abspath(__file__), "--child", name,
                                   dtype, str(epochs)], env=env, capture_output=True, text=True,
                                  check=False)
            lines = done.stdout.strip().splitlines()
            row[dtype] = json.loads(lines[-1]) if done.returncode == 0 and lines else {
                "error": (done.stderr.strip().splitlines() or ["?"])[-1][:300]}
            print(name, dtype, row[dtype], flush=True)
        report["nets"][name] = row
    os.makedirs(RESULTS, exist_ok=True)
    with open(os.path.join(RESULTS, "bf16_parity.json"), "w") as f:
        json.dump(report, f, indent=2)
    with open(os.path.join(RESULTS, "bf16_parity.md"), "w") as f:
        f.write(render(report))
    print(render(report))
    return 0


def render(report: dict) -> str:
    lines = [f"float32 against bfloat16 (MXNet AMP), {report['date'][:10]}, {report['cpu']} "
             f"(flags {' '.join(report['cpu_flags'])}), {report['threads']} OpenMP threads for "
             f"both, same seed and data: test accuracy after each epoch, seconds per epoch.", "",
             "| net | float32 test acc | bfloat16 test acc | largest gap (points) | "
             "float32 s/epoch | bfloat16 s/epoch | AMX |", "|---|---|---|---:|---|---|---|"]
    for name, row in report["nets"].items():
        f32, b16 = row.get("float32", {}), row.get("bfloat16", {})
        if "test_acc" not in f32 or "test_acc" not in b16:
            lines.append(f"| {name} | {f32.get('error', '')} | {b16.get('error', '')} | | | | |")
            continue
        gap = max(abs(a - b) for a, b in zip(f32["test_acc"], b16["test_acc"])) * 100
        lines.append(f"| {name} | {', '.join(map(str, f32['test_acc']))} | "
                     f"{', '.join(map(str, b16['test_acc']))} | {gap:.2f} | "
                     f"{', '.join(map(str, f32['epoch_seconds']))} | "
                     f"{', '.join(map(str, b16['epoch_seconds']))} | {b16['amx']} |")
    return "\n".join(lines) + "\n"


if __name__ == "__main__":
    sys.exit(main())
