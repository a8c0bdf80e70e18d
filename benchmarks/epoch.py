"""What a learner waits for: one epoch of real Fashion-MNIST training plus the test evaluation,
gluoncnn ``fit`` against a bare MXNet Gluon loop and idiomatic PyTorch, same nets, data and
optimizer.

    python benchmarks/epoch.py                  # the real thing: 3 interleaved rounds
    python benchmarks/epoch.py --quick          # 1 round on small subsets: shows it works
    python benchmarks/epoch.py --rounds 5 --workloads lenet,resnet18 --variants fit,torch-eager
    python benchmarks/epoch.py --threads 2      # every process with OMP_NUM_THREADS=2

Workloads (1x28x28 Fashion-MNIST, the first N images of each set):

- ``lenet``: LeNet, Adam 0.003, batch 64, all 60,000/10,000 images (``make run``'s settings);
- ``resnet18``: ResNet-18 small-input stem, SGD 0.05 (momentum 0.9), batch 128, 1,280/512;
- ``googlenet``: d2l's GoogLeNet (no LRN, no auxiliary heads) small-input, SGD 0.05, batch 128,
  640/256;
- ``densenet121``: DenseNet-121 small-input, SGD 0.05, batch 64, 320/128.

Variants, each run in a fresh process (a process measures one epoch of one variant):

- ``fit``: ``gluoncnn.train.fit`` as a user calls it (hybridized, no progress bar, no plot),
  ``gluoncnn`` imported first, threads (and with ``amp='auto'`` the precision) measured by fit
  for the net (:mod:`gluoncnn.train.calibrate`; the parent gives every child one fresh cache
  folder, so the first round pays for measuring and the later ones read it: the JSON has each
  run's ``measuring_seconds``); ``fit-mxnet-first`` the same after ``import mxnet`` (as d2l's
  notebooks start), no variables set; ``fit-amp-auto`` with ``amp='auto'``; ``fit-bf16`` with
  ``amp='bfloat16'``;
- ``mxnet-loop``: the bare Gluon loop (hybridized with static alloc/shape, ``Trainer``, loss and
  accuracy summed on the device and read once), same threads;
- ``torch-eager``, ``torch-channels-last``, ``torch-compile`` (``torch.compile`` of the model,
  compile time included: the learner waits for it too), ``torch-bf16`` (``torch.autocast`` to
  bfloat16): ``TensorDataset`` + shuffling ``DataLoader``, PyTorch's default threads.

The time is from the first training batch to the end of the test evaluation (data loading and
building the model excluded; graph building, hybridization and compilation included). Rounds are
interleaved (every workload and variant once per round, the variant order rotating), so load on a
shared machine spreads over all; the report is the median with its range, and the load average.
PyTorch (``pip install torch==2.13.0``, CPU wheel) is optional: without it its columns say
"not installed". Writes ``results/epoch.json`` and ``results/epoch.md`` (``epoch-quick.*`` with
``--quick``); ``--readme`` also puts the table into README.md between its ``<!-- epoch-results``
lines (a test checks that the README's table is what ``results/epoch.json`` says).
"""
from __future__ import annotations

import argparse
import dataclasses
import datetime
import gzip
import json
import os
import platform
import statistics
import subprocess
import sys
import tempfile
import time

# argtypes.py beside this file (the script's folder is on sys.path): standard library only.
from argtypes import names_from, positive_int

HERE = os.path.dirname(os.path.abspath(__file__))
ROOT = os.path.dirname(HERE)
RESULTS = os.path.join(HERE, "results")
# The caller's environment before gluoncnn chose any threads in this process: the children get
# it, so each makes its own choice (or keeps the user's OMP_NUM_THREADS).
CALLER_ENV = dict(os.environ)


@dataclasses.dataclass(frozen=True)
class Workload:
    model: str
    options: dict
    optimizer: str
    lr: float
    batch_size: int
    train_size: int | None  # None: the whole set
    test_size: int | None


WORKLOADS = {
    "lenet": Workload("lenet", {}, "adam", 0.003, 64, None, None),
    "resnet18": Workload("resnet18", {"small_input": True}, "sgd", 0.05, 128, 1280, 512),
    "googlenet": Workload("googlenet", {"small_input": True, "aux_logits": False, "lrn": False},
                          "sgd", 0.05, 128, 640, 256),
    "densenet121": Workload("densenet121", {"small_input": True}, "sgd", 0.05, 64, 320, 128),
}
QUICK_SIZES = {"lenet": (2000, 500), "resnet18": (128, 128), "googlenet": (64, 64),
               "densenet121": (32, 32)}
MXNET_VARIANTS = ("fit", "fit-mxnet-first", "fit-amp-auto", "fit-bf16", "mxnet-loop")
TORCH_VARIANTS = ("torch-eager", "torch-channels-last", "torch-compile", "torch-bf16")
VARIANTS = MXNET_VARIANTS + TORCH_VARIANTS
#: The ratios of medians the table shows (seconds over seconds: below 1, the first is faster).
RATIOS = (("fit", "mxnet-loop"), ("fit-mxnet-first", "torch-eager"), ("fit-bf16", "torch-bf16"),
          ("fit-amp-auto", "best torch"))
MOMENTUM = 0.9


# --------------------------------------------------------------------------------------------
# One measurement (in a child process)
# --------------------------------------------------------------------------------------------
def measure_mxnet(workload: Workload, variant: str, data_root: str) -> dict:
    if variant == "fit-mxnet-first":
        import mxnet  # noqa: F401  (as d2l's notebooks and most MXNet code start)
    from gluoncnn import runtime
    if variant != "fit-mxnet-first":
        runtime.configure_threads(workload.model)  # before MXNet loads
    from gluoncnn.data import load_data
    from gluoncnn.models import get_model
    train_iter, test_iter = load_data("fashion-mnist", workload.batch_size, root=data_root,
                                      train_size=workload.train_size,
                                      test_size=workload.test_size)
    net = get_model(workload.model, classes=10, in_channels=1, **workload.options)
    speed = {}
    if variant == "mxnet-loop":
        seconds, test_acc = _mxnet_loop(net, workload, train_iter, test_iter)
    else:
        seconds, test_acc, speed = _fit(net, workload, variant, train_iter, test_iter)
    trainable = sum(p.data().size for p in net.collect_params().values()
                    if p.grad_req != "null")
    return {"seconds": seconds, "test_acc": test_acc, "trainable_params": int(trainable),
            "threads": dataclasses.asdict(runtime.thread_choice()),
            "worker_threads": runtime.worker_threads(), **speed}


def _fit(net, workload: Workload, variant: str, train_iter, test_iter
         ) -> tuple[float, float, dict]:
    from gluoncnn.train import fit
    options = {"fit-amp-auto": {"amp": "auto"}, "fit-bf16": {"amp": "bfloat16"}}.get(variant, {})
    start = time.perf_counter()
    try:
        history = fit(net, train_iter, test_iter, epochs=1, ctx="cpu",
                      optimizer=workload.optimizer, lr=workload.lr, momentum=MOMENTUM, seed=0,
                      progress=False, plot=False, verbose=False, **options)
    except (ValueError, TypeError) as error:
        if options and "amp" in str(error):
            raise NotAvailable(f"fit has no amp={options['amp']!r} here ({error})") from None
        raise
    speed = {"precision": history.meta.get("amp"), "speed": history.meta.get("speed"),
             "measuring_seconds": history.meta.get("speed_cost")}
    return time.perf_counter() - start, float(history.records[-1]["test_acc"]), speed


def _mxnet_loop(net, workload: Workload, train_iter, test_iter) -> tuple[float, float]:
    import mxnet as mx
    from mxnet import autograd, gluon
    ctx = mx.cpu()
    start = time.perf_counter()
    net.initialize(ctx=ctx, force_reinit=True)
    net.hybridize(static_alloc=True, static_shape=True)
    params = {"learning_rate": workload.lr}
    if workload.optimizer == "sgd":
        params["momentum"] = MOMENTUM
    trainer = gluon.Trainer(net.collect_params(), workload.optimizer, params)
    loss_fn = gluon.loss.SoftmaxCrossEntropyLoss()
    loss_sum = mx.nd.zeros(1, ctx=ctx)
    for X, y in train_iter:
        with autograd.record():
            loss = loss_fn(net(X), y)
        loss.backward()
        trainer.step(X.shape[0])
        loss_sum += loss.sum()
    correct = mx.nd.zeros(1, ctx=ctx)
    total = 0
    for X, y in test_iter:
        correct += (net(X).argmax(axis=1) == y.astype("float32")).sum()
        total += X.shape[0]
    test_acc = float(correct.asscalar()) / total  # the one wait for the host
    loss_sum.wait_to_read()
    return time.perf_counter() - start, test_acc


def read_idx(path: str):
    """A Fashion-MNIST idx file as a numpy array (images ``(N, 28, 28)``, labels ``(N,)``).
    The PyTorch processes read the files themselves: importing gluoncnn.data would load MXNet,
    and its OpenMP runtime, into the process being timed."""
    import numpy as np
    with gzip.open(path, "rb") as f:
        raw = f.read()
    if int.from_bytes(raw[:4], "big") == 2051:
        count = int.from_bytes(raw[4:8], "big")
        return np.frombuffer(raw, np.uint8, offset=16).reshape(count, 28, 28)
    return np.frombuffer(raw, np.uint8, offset=8)


def _torch_tensors(data_root: str, train: bool, size: int | None):
    import torch
    prefix = "train" if train else "t10k"
    images = read_idx(os.path.join(data_root, f"{prefix}-images-idx3-ubyte.gz"))[:size]
    labels = read_idx(os.path.join(data_root, f"{prefix}-labels-idx1-ubyte.gz"))[:size]
    X = torch.from_numpy(images.astype("float32") / 255).unsqueeze(1)
    return X, torch.from_numpy(labels.astype("int64"))


def measure_torch(workload: Workload, variant: str, data_root: str) -> dict:
    import contextlib

    import torch
    from torch.utils.data import DataLoader, TensorDataset
    from torch_nets import BUILDERS
    torch.manual_seed(0)
    train = DataLoader(TensorDataset(*_torch_tensors(data_root, True, workload.train_size)),
                       batch_size=workload.batch_size, shuffle=True)
    test = DataLoader(TensorDataset(*_torch_tensors(data_root, False, workload.test_size)),
                      batch_size=workload.batch_size)
    model = BUILDERS[workload.model]()
    trainable = sum(p.numel() for p in model.parameters())
    layout = torch.channels_last if variant == "torch-channels-last" else torch.contiguous_format
    model = model.to(memory_format=layout)
    autocast = (torch.autocast("cpu", dtype=torch.bfloat16) if variant == "torch-bf16" else
                contextlib.nullcontext())
    start = time.perf_counter()
    if workload.optimizer == "sgd":
        optimizer = torch.optim.SGD(model.parameters(), lr=workload.lr, momentum=MOMENTUM)
    else:
        optimizer = torch.optim.Adam(model.parameters(), lr=workload.lr)
    step_model = torch.compile(model) if variant == "torch-compile" else model
    loss_fn = torch.nn.CrossEntropyLoss()
    model.train()
    loss_sum = torch.zeros(())
    for X, y in train:
        X = X.to(memory_format=layout)
        optimizer.zero_grad()
        with autocast:
            loss = loss_fn(step_model(X), y)
        loss.backward()
        optimizer.step()
        loss_sum += loss.detach().float() * X.shape[0]
    model.eval()
    correct = total = 0
    with torch.no_grad(), autocast:
        for X, y in test:
            correct += int((step_model(X.to(memory_format=layout)).argmax(1) == y).sum())
            total += X.shape[0]
    return {"seconds": time.perf_counter() - start, "test_acc": correct / total,
            "trainable_params": int(trainable),
            "threads": {"count": torch.get_num_threads(), "reason": "PyTorch's default",
                        "source": "torch.get_num_threads()"}}


class NotAvailable(Exception):
    """This variant cannot run here (PyTorch missing, no amp='auto' in fit, ...)."""


def child(workload_name: str, variant: str, data_root: str, train_size: int | None,
          test_size: int | None) -> dict:
    workload = dataclasses.replace(WORKLOADS[workload_name], train_size=train_size,
                                   test_size=test_size)
    if variant in TORCH_VARIANTS:
        try:
            import torch  # noqa: F401
        except ImportError:
            raise NotAvailable("not installed") from None
        return measure_torch(workload, variant, data_root)
    return measure_mxnet(workload, variant, data_root)


# --------------------------------------------------------------------------------------------
# The rounds (in the parent process)
# --------------------------------------------------------------------------------------------
def run_child(workload: str, variant: str, data_root: str, sizes: tuple, env: dict,
              timeout: float) -> dict:
    command = [sys.executable, os.path.abspath(__file__), "--child", workload, variant,
               "--data-root", data_root, "--sizes", json.dumps(list(sizes))]
    try:
        done = subprocess.run(command, env=env, capture_output=True, text=True, timeout=timeout,
                              check=False)
    except subprocess.TimeoutExpired:
        return {"error": f"no result in {timeout:.0f} s"}
    lines = done.stdout.strip().splitlines()
    if done.returncode != 0 or not lines:
        last = [line for line in done.stderr.strip().splitlines() if line.strip()]
        return {"error": last[-1][:300] if last else f"exit code {done.returncode}"}
    return json.loads(lines[-1])


def child_env(threads: int | None) -> dict:
    env = {k: v for k, v in CALLER_ENV.items() if k != "_GLUONCNN_OMP_NUM_THREADS"}
    env["PYTHONPATH"] = os.pathsep.join(p for p in (ROOT, HERE, env.get("PYTHONPATH")) if p)
    if threads is not None:
        env["OMP_NUM_THREADS"] = str(threads)
    return env


def summarise(samples: list[dict]) -> dict:
    times = [s["seconds"] for s in samples if "seconds" in s]
    if not samples:
        return {"error": "not measured", "not_available": True}
    if not times:
        return {"error": next((s["error"] for s in samples if "error" in s), "no result"),
                "not_available": any(s.get("not_available") for s in samples)}
    return {"median": statistics.median(times), "min": min(times), "max": max(times),
            "runs": len(times), "test_acc": [round(s["test_acc"], 4) for s in samples
                                             if "test_acc" in s],
            "trainable_params": samples[0].get("trainable_params"),
            "threads": samples[0].get("threads")}


def environment(threads: int | None) -> dict:
    from gluoncnn import runtime
    versions = {}
    for name in ("mxnet", "torch", "numpy"):
        try:
            versions[name] = __import__("importlib.metadata").metadata.version(name)
        except Exception:  # noqa: BLE001 (not installed: the report says so)
            versions[name] = "not installed"
    return {"date": datetime.datetime.now().isoformat(timespec="seconds"),
            "cpu": runtime.cpu_name(), "physical_cores": runtime.physical_cores(),
            "native_bf16": runtime.cpu_has_native_bf16(),
            "cpu_flags": sorted(f for f in runtime.cpu_flags()
                                if f in ("avx2", "avx512f", "avx512_bf16", "amx_bf16",
                                         "avx512_vnni", "amx_int8")),
            "amx": str(runtime.amx_state()),
            "load_average_start": [round(x, 2) for x in os.getloadavg()],
            "python": platform.python_version(), **versions,
            "threads": threads_note(threads)}


def threads_note(threads: int | None) -> str:
    if threads is not None:
        return f"OMP_NUM_THREADS={threads} for every process"
    if CALLER_ENV.get("OMP_NUM_THREADS"):
        return f"the caller's OMP_NUM_THREADS={CALLER_ENV['OMP_NUM_THREADS']}"
    return "each framework's own choice (gluoncnn's rule, PyTorch's default)"


def _ratio(a: float | None, b: float | None) -> str:
    return f"{a / b:.2f}" if a and b else "-"


def render_markdown(report: dict) -> str:
    env, variants = report["environment"], report["variants"]
    lines = [(f"One epoch (training + test evaluation) on Fashion-MNIST, seconds: median of "
              f"{report['rounds']} interleaved round(s) in fresh processes (min-max). "
             f"{env['date'][:10]}, {env['cpu']} ({env['physical_cores']} cores, flags "
             f"{' '.join(env.get('cpu_flags', [])) or 'none of avx2/avx512/amx'}, native bf16 "
             f"{'yes' if env['native_bf16'] else 'no'}, AMX {env.get('amx', 'not recorded')}), "
             f"load average {env['load_average_start']}"
             f" at the start, {env['load_average_end']} at the end; mxnet {env['mxnet']}, torch "
             f"{env['torch']}; threads: {env['threads']}."
              + (" A --quick smoke run on tiny subsets: first-batch costs (graph building, "
                 "compilation) dominate, so these are not measurements." if report.get("quick")
                 else "")), "",
             "| workload | " + " | ".join(variants) + " | "
             + " | ".join(f"{a} / {b}" for a, b in RATIOS) + " |",
             "|---|" + "---:|" * (len(variants) + len(RATIOS))]
    for name, row in report["workloads"].items():
        w = WORKLOADS[name]
        sizes = row["sizes"]
        label = (f"{name} ({w.optimizer} {w.lr}, batch {w.batch_size}, "
                 f"{sizes[0] or 60000:,}/{sizes[1] or 10000:,})")
        cells = []
        for variant in variants:
            cell = row["results"][variant]
            if "median" in cell:
                threads = (cell.get("threads") or {}).get("count")
                cells.append(f"{cell['median']:.1f} ({cell['min']:.1f}-{cell['max']:.1f})"
                             + (f" [{threads}t]" if threads else ""))
            else:
                cells.append(cell["error"] if cell.get("not_available") else
                             f"failed: {cell['error'][:60]}")
        medians = {v: row["results"][v].get("median") for v in variants}
        medians["best torch"] = min((medians[v] for v in TORCH_VARIANTS if medians.get(v)),
                                    default=None)
        lines.append(f"| {label} | " + " | ".join(cells) + " | "
                     + " | ".join(_ratio(medians.get(a), medians.get(b)) for a, b in RATIOS)
                     + " |")
    lines += ["", ("[Nt]: the OpenMP/intra-op threads the process ran with. Accuracies and "
                   "parameter counts (equal for every variant) are in the JSON.")]
    return "\n".join(lines)


def write_report(report: dict, samples: dict, sizes: dict, stem: str) -> str:
    """Summarise ``samples`` into ``report``, write ``stem``.json and .md; the Markdown."""
    report["environment"]["load_average_end"] = [round(x, 2) for x in os.getloadavg()]
    for name, by_variant in samples.items():
        report["workloads"][name] = {
            "workload": dataclasses.asdict(WORKLOADS[name]), "sizes": list(sizes[name]),
            "results": {v: summarise(runs) for v, runs in by_variant.items()},
            "samples": by_variant}
    os.makedirs(os.path.dirname(stem), exist_ok=True)
    with open(stem + ".json", "w") as f:
        json.dump(report, f, indent=1)
    markdown = render_markdown(report)
    with open(stem + ".md", "w") as f:
        f.write(markdown + "\n")
    return markdown


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0],
                                     formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--rounds", type=positive_int, default=3,
                        help="interleaved rounds (default 3)")
    parser.add_argument("--quick", action="store_true",
                        help="1 round on small subsets (LeNet 2,000/500): shows it works, "
                             "measures little")
    parser.add_argument("--workloads", type=names_from(WORKLOADS), default=",".join(WORKLOADS),
                        help=", ".join(WORKLOADS))
    parser.add_argument("--variants", type=names_from(VARIANTS), default=",".join(VARIANTS),
                        help=", ".join(VARIANTS))
    parser.add_argument("--threads", type=positive_int,
                        help="OMP_NUM_THREADS for every process (default: each framework's own "
                             "choice)")
    parser.add_argument("--timeout", type=float, default=3600, help="seconds per process")
    parser.add_argument("--out", default=RESULTS)
    parser.add_argument("--readme", action="store_true",
                        help="also put the table into README.md between its epoch-results lines")
    parser.add_argument("--child", nargs=2, metavar=("WORKLOAD", "VARIANT"),
                        help=argparse.SUPPRESS)
    parser.add_argument("--data-root", help=argparse.SUPPRESS)
    parser.add_argument("--sizes", help=argparse.SUPPRESS)
    args = parser.parse_args(argv)
    if args.child:
        try:
            result = child(*args.child, args.data_root, *json.loads(args.sizes))
        except NotAvailable as reason:
            result = {"error": str(reason), "not_available": True}
        print(json.dumps(result))
        return 0

    if args.readme and args.quick:
        parser.error("--readme takes a measured run's table; a --quick run's is not one")
    workloads, variants = args.workloads, args.variants
    rounds = 1 if args.quick else args.rounds
    from gluoncnn.data import data_root
    root = str(data_root("fashion-mnist"))
    env = child_env(args.threads)
    if not CALLER_ENV.get("GLUONCNN_CACHE_DIR"):  # what fit measures: this run's, from nothing
        env["GLUONCNN_CACHE_DIR"] = tempfile.mkdtemp(prefix="gluoncnn-epoch-cache-")
    report = {"environment": environment(args.threads), "rounds": rounds, "quick": args.quick,
              "command": "python benchmarks/epoch.py " + " ".join(sys.argv[1:] if argv is None
                                                                  else argv),
              "variants": variants, "workloads": {}}
    samples = {w: {v: [] for v in variants} for w in workloads}
    sizes = {w: (QUICK_SIZES[w] if args.quick else
                 (WORKLOADS[w].train_size, WORKLOADS[w].test_size)) for w in workloads}
    stem = os.path.join(args.out, "epoch-quick" if args.quick else "epoch")
    for round_index in range(rounds):
        for name in workloads:
            shift = round_index % len(variants)
            for variant in variants[shift:] + variants[:shift]:
                result = run_child(name, variant, root, sizes[name], env, args.timeout)
                samples[name][variant].append(result)
                shown = (f"{result['seconds']:.1f} s, test acc {result['test_acc']:.4f}"
                         if "seconds" in result else result["error"])
                print(f"round {round_index + 1}/{rounds}  {name:11} {variant:20} {shown}",
                      flush=True)
                # Written after every measurement: an interrupted run keeps what it measured.
                markdown = write_report(report, samples, sizes, stem)
    print("\n" + markdown + f"\n\nwritten: {stem}.json, {stem}.md")
    if args.readme:
        from run import update_readme
        update_readme(markdown, "epoch-results")
        print("and into README.md")
    return 0


if __name__ == "__main__":
    sys.path[:0] = [ROOT, HERE]
    sys.exit(main())
