"""gluoncnn benchmarks: throughput (vs MXNet's model zoo) and time-to-accuracy on Fashion-MNIST.

    python benchmarks/run.py            # the default run (< 10 min on 2 cores); make benchmark
    python benchmarks/run.py --quick    # a one-minute smoke run
    python benchmarks/run.py --models resnet18,vgg11 --batch-size 64 --input 3,96,96 --ctx gpu:0
    python benchmarks/run.py --full-tta # time-to-accuracy on the full training set, no time cap

Writes ``benchmarks/results/latest.json`` and ``benchmarks/results/latest.md`` (date, device,
CPU model, versions, settings and the tables); ``--readme`` also puts the Markdown into README.md
between its ``<!-- benchmarks: ... -->`` and ``<!-- /benchmarks -->`` lines.

Default cases, chosen so that the whole run fits in 10 minutes on this 2-core CPU and every model
is compared with the same architecture from ``gluon.model_zoo.vision`` where one exists:

- lenet 1x28x28, batch 256 (no zoo twin): the course's first model at its real size;
- resnet18 3x64x64, batch 16, ImageNet stem: exactly ``resnet18_v1`` (the small-input stem differs
  from the zoo's ``thumbnail`` one by a BatchNorm, so the exact twin is compared);
- alexnet 3x99x99 batch 16 with ``lrn=False``: the zoo's AlexNet is the 64-192-384-256-256
  "one weird trick" variant, not the paper's net, so that row (flagged) compares different nets;
- squeezenet1_0 3x224x224 batch 2, hybridized only (the zoo's final 13x13 pool needs 224);
- vgg11 and densenet121 only with ``--models vgg11,densenet121 --input 3,224,224 --batch-size 4``
  (the zoo's fixed final pools need 224x224, too slow for the CPU budget).

Throughput is images/sec of synthetic batches already on the device: the model's speed, not the
data pipeline's (see throughput.py).
"""
import argparse
import datetime
import json
import os
import platform
import sys
import time

HERE = os.path.dirname(os.path.abspath(__file__))
ROOT = os.path.dirname(HERE)
for path in (ROOT, HERE):
    if path not in sys.path:
        sys.path.insert(0, path)

from argtypes import non_negative_int, positive_int  # noqa: E402
from throughput import Case, measure_case, measure_in_subprocess  # noqa: E402
from time_to_accuracy import Target, run_target  # noqa: E402

RESULTS = os.path.join(HERE, "results")


def default_cases():
    return [
        Case("lenet", (1, 28, 28), 256, note="the d2l LeNet at its real size"),
        Case("resnet18", (3, 64, 64), 16, options={"small_input": False}, zoo="resnet18_v1"),
        Case("alexnet", (3, 99, 99), 16, options={"lrn": False}, zoo="alexnet",
             note="the zoo's AlexNet is the 64-192-384-256-256 'one weird trick' variant, not "
                  "the paper's 96-256-384-384-256: the parameter counts differ and the ratio "
                  "compares two different nets"),
        Case("squeezenet1_0", (3, 224, 224), 2, zoo="squeezenet1.0", hybrid=(True,), windows=3,
             note="224x224: the zoo's final 13x13 average pool needs it; hybridized only"),
    ]


# Opt-in (--models): too slow for the 10-minute CPU budget at the 224x224 the zoo's fixed final
# pools require: vgg11 (7.6 GFLOPs/image) and densenet121 (2.9 GFLOPs/image).
ZOO_TWINS = {"resnet18": "resnet18_v1", "resnet34": "resnet34_v1", "resnet50": "resnet50_v1",
             "resnet101": "resnet101_v1", "resnet152": "resnet152_v1",
             "resnet18_v2": "resnet18_v2", "resnet34_v2": "resnet34_v2",
             "resnet50_v2": "resnet50_v2", "alexnet": "alexnet", "vgg11": "vgg11",
             "vgg13": "vgg13", "vgg16": "vgg16", "vgg19": "vgg19", "vgg11_bn": "vgg11_bn",
             "vgg13_bn": "vgg13_bn", "vgg16_bn": "vgg16_bn", "vgg19_bn": "vgg19_bn",
             "squeezenet1_0": "squeezenet1.0", "squeezenet1_1": "squeezenet1.1",
             "densenet121": "densenet121", "densenet161": "densenet161",
             "densenet169": "densenet169", "densenet201": "densenet201"}


def default_targets(full=False):
    if full:
        return [Target("lenet", 0.88, batch_size=64, lr=0.003, max_epochs=20,
                       note="full training set, make run's settings"),
                Target("resnet18", 0.90, options={"small_input": True}, batch_size=128,
                       optimizer="adam", lr=0.001, max_epochs=10, note="full training set")]
    return [
        Target("lenet", 0.85, batch_size=64, lr=0.003, max_epochs=10, max_seconds=120,
               note="full 60,000/10,000 Fashion-MNIST, make run's settings (Adam)"),
        Target("resnet18", 0.75, options={"small_input": True}, batch_size=64, optimizer="adam",
               lr=0.001, max_epochs=2, max_seconds=120, train_size=2000, test_size=500,
               note="small-input stem at 28x28 on a 2,000-image training subset and 500 test "
                    "images (the CPU budget); --full-tta: 0.90 on the full set"),
    ]


def quick_settings():
    cases = [Case("lenet", (1, 28, 28), 64),
             Case("resnet18", (3, 32, 32), 8, options={"small_input": False}, zoo="resnet18_v1")]
    targets = [Target("lenet", 0.5, batch_size=64, lr=0.01, max_epochs=3,
                      note="quick smoke run on the shipped sample")]
    return cases, targets


def parse_shape(text):
    parts = [p.strip() for p in text.replace("x", ",").split(",") if p.strip()]
    if len(parts) != 3 or not all(p.isdigit() and int(p) > 0 for p in parts):
        raise argparse.ArgumentTypeError(f"expected C,H,W such as 3,64,64, got {text!r}")
    return tuple(int(p) for p in parts)


def environment(ctx_text):
    import mxnet as mx
    import numpy as np
    try:
        import gluoncnn
        version = gluoncnn.__version__
    except Exception:
        version = "?"
    from gluoncnn.doctor import cpu_name
    cpu = cpu_name()
    device = ctx_text
    if ctx_text.startswith("gpu"):
        try:
            import subprocess
            idx = ctx_text.split(":")[1] if ":" in ctx_text else "0"
            device = subprocess.run(["nvidia-smi", "--query-gpu=name", "--format=csv,noheader",
                                     "-i", idx], capture_output=True, text=True,
                                    timeout=10).stdout.strip() or ctx_text
        except Exception:
            pass
    features = mx.runtime.Features()
    return {"date": datetime.datetime.now().isoformat(timespec="seconds"),
            "ctx": ctx_text, "device": device, "cpu": cpu, "cores": os.cpu_count(),
            "load_average": [round(x, 2) for x in os.getloadavg()],
            "mxnet": mx.__version__, "numpy": np.__version__, "gluoncnn": version,
            "python": platform.python_version(), "host_os": platform.platform(),
            "onednn": features.is_enabled("MKLDNN"), "cuda": features.is_enabled("CUDA"),
            "omp_num_threads": os.environ.get("OMP_NUM_THREADS")}


def _fmt(x, digits=0):
    if x is None:
        return "-"
    return f"{x:,.{digits}f}"


def render_markdown(results):
    """The Markdown report of ``results`` (the dict written to latest.json)."""
    env, s = results["environment"], results["settings"]
    lines = [f"Measured {env['date'][:10]} on {env['device']} ({env['cpu']}, {env['cores']} "
             f"cores, load average {env['load_average'][0]} at the start) with mxnet "
             f"{env['mxnet']} (oneDNN {'on' if env['onednn'] else 'off'}), numpy {env['numpy']}, "
             f"gluoncnn {env['gluoncnn']}, Python {env['python']}. Command: "
             f"`{results['command']}` ({results['seconds']:.0f} s in all).", ""]
    if results.get("throughput"):
        lines += ["**Throughput** (images/s, median of "
                  f"{s['windows']} windows after warm-up, `mx.nd.waitall()` at window edges; "
                  "synthetic data already on the device; hybridized = "
                  "`hybridize(static_alloc=True, static_shape=True)`; zoo = "
                  "`gluon.model_zoo.vision`, measured interleaved in the same process; ratio = "
                  "gluoncnn / zoo):", "",
                  "| model | input | batch | mode | hybridized | gluoncnn | zoo | ratio | "
                  "peak memory (MB) |",
                  "| --- | --- | --- | --- | --- | ---: | ---: | ---: | ---: |"]
        for r in results["throughput"]:
            if "error" in r:
                lines.append(f"| {r['label']} | {'x'.join(map(str, r['input_shape']))} | "
                             f"{r['batch_size']} | failed: {r['error'][:80]} | | | | | |")
                continue
            shape = "x".join(str(v) for v in r["input_shape"])
            zoo = r.get("zoo")
            if zoo and r.get("same_architecture") is False:
                zoo += ", params differ: not the same net"
            for i, row in enumerate(r["rows"]):
                g = row["gluoncnn"]["images_per_sec"]
                z = row.get("zoo", {}).get("images_per_sec")
                lines.append(
                    f"| {r['label'] if i == 0 else ''} | {shape if i == 0 else ''} | "
                    f"{r['batch_size'] if i == 0 else ''} | {row['mode']} | "
                    f"{'yes' if row['hybridized'] else 'no'} | {_fmt(g)} | "
                    f"{_fmt(z) if z else '-'}{' (' + zoo + ')' if zoo and i == 0 else ''} | "
                    f"{_fmt(row.get('ratio'), 2) if row.get('ratio') else '-'} | "
                    f"{_fmt(r.get('peak_memory_mb')) if i == 0 else ''} |")
        kinds = {r.get("peak_memory_kind") for r in results["throughput"] if "error" not in r}
        if kinds:
            lines += ["", "Peak memory: " + "; ".join(sorted(k for k in kinds if k)) + "."]
        ratios = [row["ratio"] for r in results["throughput"]
                  if "error" not in r and r.get("same_architecture") is not False
                  for row in r["rows"] if row.get("ratio")]
        if ratios:
            import statistics
            lines += [f"Median ratio gluoncnn/zoo over the {len(ratios)} measurements of "
                      f"the same architecture: "
                      f"{statistics.median(ratios):.2f} (range {min(ratios):.2f}-"
                      f"{max(ratios):.2f}; the machine is shared, so single pairs are noisy)."]
        lines.append("")
    if results.get("time_to_accuracy"):
        lines += ["**Time to accuracy** on Fashion-MNIST (`gluoncnn.train.fit`, seconds = "
                  "training + test evaluation per epoch, as d2l prints them):", "",
                  "| model | target | reached | epochs | seconds | best test acc | settings |",
                  "| --- | ---: | --- | ---: | ---: | ---: | --- |"]
        for t in results["time_to_accuracy"]:
            if "error" in t:
                lines.append(f"| {t['model']} | {t['target']} | failed: {t['error'][:80]} "
                             f"| | | | |")
                continue
            opts = ", ".join(f"{k}={v}" for k, v in t["options"].items()
                             if k not in ("classes", "in_channels"))
            sizes = ("the shipped 1,000/500 sample" if t.get("sample") else
                     f"train {t['train_size'] or 60000:,}, test {t['test_size'] or 10000:,}")
            lines.append(
                f"| {t['model']}{'(' + opts + ')' if opts else ''} | {t['target']:.2f} | "
                f"{'yes' if t['reached'] else 'no (cap)'} | {t['epochs']} | "
                f"{t['seconds']:.1f} | {t['best_test_acc']:.4f} | {t['optimizer']} lr "
                f"{t['lr']}, batch {t['batch_size']}, {sizes}, cap {t['max_epochs']} epochs"
                f"{', ' + str(t['max_seconds']) + ' s' if t['max_seconds'] else ''} |")
        lines.append("")
    return "\n".join(lines)


def update_readme(markdown, marker="benchmarks", path=None):
    """Put ``markdown`` into README.md between its ``<!-- marker`` and ``<!-- /marker -->`` lines
    (this script's ``benchmarks``, epoch.py's ``epoch-results``); a README without them stops the
    script with that one line (the results files are written before)."""
    from gluoncnn.errors import GluonCNNError
    from gluoncnn.utils import replace_marked_block
    try:
        replace_marked_block(path or os.path.join(ROOT, "README.md"), marker, markdown)
    except GluonCNNError as err:
        raise SystemExit(f"error: {err}") from None


def main(argv=None):
    p = argparse.ArgumentParser(description=__doc__.split("\n\n")[0],
                                formatter_class=argparse.RawDescriptionHelpFormatter)
    p.add_argument("--models", help="comma-separated gluoncnn model names (default: the default "
                                    "cases listed in this file's docstring)")
    p.add_argument("--batch-size", type=positive_int, help="batch size for --models (default 32)")
    p.add_argument("--input", type=parse_shape, help="C,H,W for --models (default 3,64,64)")
    p.add_argument("--ctx", default="cpu", help="cpu or gpu:N")
    p.add_argument("--windows", type=positive_int, default=5, help="timed windows per measurement")
    p.add_argument("--iters", type=positive_int,
                   help="iterations per window (default: ~0.8 s windows)")
    p.add_argument("--warmup", type=non_negative_int, default=2, help="warm-up iterations")
    p.add_argument("--no-imperative", action="store_true",
                   help="measure hybridized only (halves the time)")
    p.add_argument("--quick", action="store_true", help="a short smoke run (about a minute)")
    p.add_argument("--skip-throughput", action="store_true")
    p.add_argument("--skip-tta", action="store_true")
    p.add_argument("--full-tta", action="store_true",
                   help="time-to-accuracy on the full training set to 0.85 (LeNet) and 0.90 "
                        "(ResNet-18), no time cap (hours on a CPU, minutes on a GPU)")
    p.add_argument("--in-process", action="store_true",
                   help="measure in this process (peak RSS then accumulates over models)")
    p.add_argument("--out", default=RESULTS, help="results folder")
    p.add_argument("--readme", action="store_true", help="also update README.md's section")
    args = p.parse_args(argv)

    t0 = time.time()
    if args.quick:
        cases, targets = quick_settings()
        args.windows = min(args.windows, 3)
    else:
        cases, targets = default_cases(), default_targets(args.full_tta)
    if args.models:
        shape = args.input or (3, 64, 64)
        cases = [Case(m.strip(), shape, args.batch_size or 32, zoo=ZOO_TWINS.get(m.strip()),
                      options={"small_input": False} if m.strip() in ZOO_TWINS and
                      m.strip() not in ("alexnet", "squeezenet1_0", "squeezenet1_1") else {})
                 for m in args.models.split(",") if m.strip()]
    else:
        for c in cases:
            if args.batch_size:
                c.batch_size = args.batch_size
            if args.input:
                c.input_shape = args.input
    env = environment(args.ctx)
    print(f"gluoncnn benchmarks on {env['device']} ({env['cpu']}), mxnet {env['mxnet']}",
          flush=True)
    hybrid = (True,) if args.no_imperative else (True, False)
    results = {"environment": env, "command": "python benchmarks/run.py " + " ".join(
        argv if argv is not None else sys.argv[1:]),
        "settings": {"windows": args.windows, "iters": args.iters, "warmup": args.warmup,
                     "hybridized": list(hybrid), "quick": args.quick},
        "throughput": [], "time_to_accuracy": []}
    measure = measure_case if args.in_process else measure_in_subprocess
    if not args.skip_throughput:
        for case in cases:
            t1 = time.time()
            print(f"throughput: {case.label} {case.input_shape} batch {case.batch_size}"
                  f"{' vs zoo ' + case.zoo if case.zoo else ''} ...", flush=True)
            try:
                r = measure(case, ctx_text=args.ctx, windows=args.windows, iters=args.iters,
                            warmup=args.warmup, hybrid=hybrid)
            except Exception as err:
                r = dict(case.as_dict(), error=str(err).split("\n")[0].split(": ", 1)[-1])
                print(f"  failed: {r['error']}", flush=True)
            else:
                for row in r["rows"]:
                    z = row.get("zoo", {}).get("images_per_sec")
                    print(f"  {row['mode']:5} {'hybrid' if row['hybridized'] else 'imper.'}: "
                          f"gluoncnn {row['gluoncnn']['images_per_sec']:8.1f} img/s"
                          + (f", zoo {z:8.1f} img/s, ratio {row['ratio']:.2f}" if z else ""),
                          flush=True)
                print(f"  ({time.time() - t1:.0f} s; params {r['params']})", flush=True)
            results["throughput"].append(r)
    if not args.skip_tta:
        for t in targets:
            print(f"time to accuracy: {t.model} to {t.target} ...", flush=True)
            try:
                r = run_target(t, ctx=args.ctx, sample=args.quick)
                r["sample"] = args.quick
            except Exception as err:
                r = dict(t.as_dict(), error=str(err).splitlines()[0])
                print(f"  failed: {r['error']}", flush=True)
            results["time_to_accuracy"].append(r)
    results["seconds"] = time.time() - t0
    os.makedirs(args.out, exist_ok=True)
    name = "quick" if args.quick else "latest"
    json_path = os.path.join(args.out, f"{name}.json")
    md_path = os.path.join(args.out, f"{name}.md")
    with open(json_path, "w") as f:
        json.dump(results, f, indent=1, default=str)
    markdown = render_markdown(results)
    with open(md_path, "w") as f:
        f.write(markdown + "\n")
    print("\n" + markdown)
    print(f"written: {json_path}, {md_path} ({results['seconds']:.0f} s)")
    if args.readme:
        update_readme(markdown)
        print("README.md updated")
    return 0


if __name__ == "__main__":
    sys.exit(main())
