"""Where a LeNet training step's time goes, MXNet against PyTorch: the profile behind the LeNet
row of ``epoch.py`` (issue 14).

    python benchmarks/profile_lenet.py                 # batch 64, 300 steps, 3 rounds
    python benchmarks/profile_lenet.py --batch-size 256 --steps 100

A step is what ``fit`` and a PyTorch loop do per batch: forward, loss, backward, Adam (lr 0.003),
on one fixed batch of real Fashion-MNIST images, so data loading is left out. Each framework runs
in a fresh process with its own threads (gluoncnn's rule for MXNet, PyTorch's default). For each:

- ``wall_ms``: milliseconds per step, unprofiled (after 30 warm-up steps);
- ``op_ms``: the operators' own time per step, from the framework's profiler (MXNet's aggregate
  ``operator`` statistics; PyTorch's ``aten::`` self CPU time) as a share of the profiled step,
  applied to the unprofiled one (the profiler slows each operator call);
- ``op_calls``: operator calls per step, and the operators that take most of the time;
- ``python_cpu_ms`` (MXNet): the CPU time per step of the Python thread, which queues the
  operators while MXNet's engine threads run them: on a machine with no spare core it competes
  with them.

``wall_ms - op_ms`` is what the framework costs around its kernels per step (Python, dispatch,
MXNet's engine queue); ``op_ms`` is the kernels. MXNet runs twice: as ``fit`` does (its engine
bulks a step's operators into a few segments, each one profiler entry) and with bulking off
(``MXNET_EXEC_BULK_EXEC_TRAIN=0``), which names every operator's time. Writes
``results/profile_lenet.{json,md}``. The three processes run in interleaved rounds (``--rounds``,
default 3): each framework's row is its round with the median wall time, shown with the range
over the rounds (a shared machine's load moves single runs by half their time).
PyTorch (``pip install torch==2.13.0``, CPU wheel) is optional: without it its row says so.
"""
from __future__ import annotations

import argparse
import datetime
import json
import os
import subprocess
import sys
import tempfile
import time

# epoch.py beside this file (the script's folder is on sys.path): imported before gluoncnn
# chooses threads in this process, so its child_env hands each child the caller's environment.
from argtypes import positive_int
from epoch import child_env, read_idx

HERE = os.path.dirname(os.path.abspath(__file__))
ROOT = os.path.dirname(HERE)
RESULTS = os.path.join(HERE, "results")
LR, WARMUP = 0.003, 30
UNBULKED = {"MXNET_EXEC_BULK_EXEC_TRAIN": "0", "MXNET_EXEC_BULK_EXEC_INFERENCE": "0"}


def real_batch(root: str, batch_size: int):
    """The first ``batch_size`` Fashion-MNIST training images (N, 1, 28, 28) in [0, 1] and
    their labels, as numpy arrays, read from ``root`` without loading MXNet (whose OpenMP
    runtime would then sit in the PyTorch process)."""
    images = read_idx(os.path.join(root, "train-images-idx3-ubyte.gz"))[:batch_size]
    labels = read_idx(os.path.join(root, "train-labels-idx1-ubyte.gz"))[:batch_size]
    return (images.astype("float32") / 255)[:, None], labels.astype("int64")


def timed(step, steps: int, sync) -> tuple[float, float]:
    """Milliseconds per call of ``step`` over ``steps`` calls, after the warm-up: the wall
    clock's, and the CPU time of the calling (Python) thread."""
    for _ in range(WARMUP):
        step()
    sync()
    start, start_cpu = time.perf_counter(), time.thread_time()
    for _ in range(steps):
        step()
    sync()
    return (1000 * (time.perf_counter() - start) / steps,
            1000 * (time.thread_time() - start_cpu) / steps)


def profile_mxnet(root: str, batch_size: int, steps: int) -> dict:
    from gluoncnn import runtime
    choice = runtime.configure_threads("lenet")  # before MXNet loads
    import mxnet as mx
    from mxnet import autograd, gluon

    from gluoncnn.models import get_model
    images, labels = real_batch(root, batch_size)
    X, y = mx.nd.array(images), mx.nd.array(labels)
    net = get_model("lenet", classes=10, in_channels=1)
    net.initialize(mx.init.Xavier())
    net.hybridize(static_alloc=True, static_shape=True)
    trainer = gluon.Trainer(net.collect_params(), "adam", {"learning_rate": LR})
    loss_fn = gluon.loss.SoftmaxCrossEntropyLoss()

    def step():
        with autograd.record():
            loss = loss_fn(net(X), y)
        loss.backward()
        trainer.step(batch_size)
    wall_ms, python_cpu_ms = timed(step, steps, mx.nd.waitall)
    # MXNet writes its trace file when the process ends: a folder left to the system's /tmp
    mx.profiler.set_config(profile_symbolic=True, profile_imperative=True, aggregate_stats=True,
                           filename=os.path.join(tempfile.mkdtemp(), "profile.json"))
    start = time.perf_counter()
    mx.profiler.set_state("run")
    for _ in range(steps):
        step()
    mx.nd.waitall()
    mx.profiler.set_state("stop")
    profiled_ms = 1000 * (time.perf_counter() - start) / steps
    stats = json.loads(mx.profiler.dumps(format="json", reset=True))
    ops = {name: (s["Count"] / steps, s["Total"] / steps)
           for name, s in stats["Time"].get("operator", {}).items()
           if name != "WaitForVar"}  # the host waiting, not an operator
    bulked = os.environ.get("MXNET_EXEC_BULK_EXEC_TRAIN", "1") != "0"
    label = "MXNet " + mx.__version__ + ("" if bulked else ", operators not bulked")
    return summary(label, wall_ms, profiled_ms, ops, f"{choice.count} ({choice.reason})",
                   python_cpu_ms)


def profile_torch(root: str, batch_size: int, steps: int) -> dict:
    import torch
    from torch.profiler import ProfilerActivity, profile
    from torch_nets import BUILDERS
    images, labels = real_batch(root, batch_size)
    X, y = torch.from_numpy(images), torch.from_numpy(labels)
    model = BUILDERS["lenet"]()
    optimizer = torch.optim.Adam(model.parameters(), lr=LR)
    loss_fn = torch.nn.CrossEntropyLoss()

    def step():
        optimizer.zero_grad()
        loss_fn(model(X), y).backward()
        optimizer.step()
    wall_ms, _ = timed(step, steps, lambda: None)  # eager on the CPU: each call has finished
    start = time.perf_counter()
    with profile(activities=[ProfilerActivity.CPU]) as prof:
        for _ in range(steps):
            step()
    profiled_ms = 1000 * (time.perf_counter() - start) / steps
    ops = {e.key: (e.count / steps, e.self_cpu_time_total / 1000 / steps)
           for e in prof.key_averages() if e.key.startswith("aten::")}
    return summary("PyTorch " + torch.__version__, wall_ms, profiled_ms, ops,
                   f"{torch.get_num_threads()} (PyTorch's default)")


def summary(framework: str, wall_ms: float, profiled_ms: float, ops: dict, threads: str,
            python_cpu_ms: float | None = None) -> dict:
    """``ops``: name -> (calls per step, ms per step, profiled). The profiler slows every step
    (PyTorch's by about 20 us per operator call), so the operators' share of the profiled step
    is applied to the unprofiled one: ``op_ms`` and ``overhead_ms`` are at unprofiled speed.
    ``python_cpu_ms``: the Python thread's CPU time per step where it is not the thread that
    runs the kernels (MXNet's engine runs them on its own threads)."""
    share = min(1.0, sum(ms for _, ms in ops.values()) / profiled_ms)
    top = sorted(ops.items(), key=lambda item: -item[1][1])[:8]
    return {"framework": framework, "threads": threads, "wall_ms": wall_ms,
            "profiled_ms": profiled_ms, "op_share": share, "op_ms": wall_ms * share,
            "overhead_ms": wall_ms * (1 - share), "python_cpu_ms": python_cpu_ms,
            "op_calls": sum(calls for calls, _ in ops.values()),
            "top_ops": [{"op": name, "calls": calls, "ms": ms} for name, (calls, ms) in top]}


def run_child(framework: str, root: str, batch_size: int, steps: int, extra_env=()) -> dict:
    env = {**child_env(None), **extra_env}
    done = subprocess.run([sys.executable, os.path.abspath(__file__), "--child", framework,
                           "--data-root", root, "--batch-size", str(batch_size),
                           "--steps", str(steps)],
                          env=env, capture_output=True, text=True, check=False)
    lines = done.stdout.strip().splitlines()
    if done.returncode != 0 or not lines:
        error = [line for line in done.stderr.splitlines() if line.strip()]
        return {"framework": framework, "error": error[-1][:200] if error else "no output"}
    return json.loads(lines[-1])


def _short(op: str) -> str:
    """A bulked segment's name lists its operators: the first two, and how many more."""
    names = op.split(",")
    return op if len(names) <= 2 else f"[{names[0]}, {names[1]} + {len(names) - 2} more]"


def median_row(runs: list[dict]) -> dict:
    """The run with the median wall time, with every round's wall time (``walls_ms``); the
    first error when no run succeeded."""
    done = sorted((r for r in runs if "error" not in r), key=lambda r: r["wall_ms"])
    if not done:
        return runs[0]
    return {**done[(len(done) - 1) // 2], "walls_ms": [r["wall_ms"] for r in done]}


def render_markdown(report: dict) -> str:
    lines = [f"LeNet training step (forward, loss, backward, Adam) at batch "
             f"{report['batch_size']}, {report['steps']} steps, milliseconds per step; each "
             f"row the median of {report.get('rounds', 1)} interleaved round(s) in fresh "
             f"processes (wall: min-max). "
             f"{report['date'][:10]}, {report['cpu']}.", "",
             "| framework | threads | wall | operators | around the operators | Python "
             "thread's CPU | operator calls | top operators (ms per profiled step) |",
             "|---|---|---:|---:|---:|---:|---:|---|"]
    for row in report["frameworks"]:
        if "error" in row:
            lines.append(f"| {row['framework']} | - | {row['error']} | | | | | |")
            continue
        top = ", ".join(f"{_short(o['op'])} {o['ms']:.2f}" for o in row["top_ops"][:5])
        python_cpu = row.get("python_cpu_ms")
        walls = row.get("walls_ms") or [row["wall_ms"]]
        lines.append(f"| {row['framework']} | {row['threads']} | {row['wall_ms']:.2f} "
                     f"({min(walls):.2f}-{max(walls):.2f}) | "
                     f"{row['op_ms']:.2f} | {row['overhead_ms']:.2f} | "
                     f"{'-' if python_cpu is None else f'{python_cpu:.2f}'} | "
                     f"{row['op_calls']:.0f} | {top} |")
    lines += ["", "Python thread's CPU: MXNet's Python thread queues each step's operators while "
              "the engine's threads run them; on a machine with no core to spare, this time "
              "comes out of the kernels' cores. PyTorch's Python thread runs its kernels itself "
              "(its share is the 'around the operators' column)."]
    return "\n".join(lines)


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--batch-size", type=positive_int, default=64)
    parser.add_argument("--steps", type=positive_int, default=300)
    parser.add_argument("--rounds", type=positive_int, default=3,
                        help="interleaved rounds (default 3)")
    parser.add_argument("--out", default=RESULTS)
    parser.add_argument("--child", choices=("mxnet", "torch"), help=argparse.SUPPRESS)
    parser.add_argument("--data-root", help=argparse.SUPPRESS)
    args = parser.parse_args(argv)
    if args.child:
        measure = profile_mxnet if args.child == "mxnet" else profile_torch
        print(json.dumps(measure(args.data_root, args.batch_size, args.steps)))
        return 0
    from gluoncnn import runtime
    from gluoncnn.data import data_root
    root = str(data_root("fashion-mnist"))
    report = {"date": datetime.datetime.now().isoformat(timespec="seconds"),
              "cpu": f"{runtime.cpu_name()} ({runtime.physical_cores()} cores, AVX-512 "
                     f"{'yes' if runtime.cpu_has_avx512() else 'no'})",
              "batch_size": args.batch_size, "steps": args.steps, "rounds": args.rounds}
    # MXNet's engine runs a training step's operators in bulked segments (one profiler entry
    # per segment); the second MXNet run turns bulking off to attribute the time per operator.
    configs = (("mxnet", {}), ("mxnet", UNBULKED), ("torch", {}))
    rows = [[] for _ in configs]
    for _ in range(args.rounds):
        for runs, (framework, extra_env) in zip(rows, configs):
            runs.append(run_child(framework, root, args.batch_size, args.steps, extra_env))
    report["frameworks"] = [median_row(runs) for runs in rows]
    os.makedirs(args.out, exist_ok=True)
    stem = os.path.join(args.out, "profile_lenet")
    with open(stem + ".json", "w") as f:
        json.dump(report, f, indent=1)
    markdown = render_markdown(report)
    with open(stem + ".md", "w") as f:
        f.write(markdown + "\n")
    print(markdown + f"\n\nwritten: {stem}.json, {stem}.md")
    return 0


if __name__ == "__main__":
    sys.path[:0] = [ROOT, HERE]
    sys.exit(main())
