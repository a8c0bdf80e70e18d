"""How many OpenMP threads each kind of model trains fastest with: the measurement behind
``gluoncnn.runtime``'s thread rule.

    python benchmarks/threads.py                      # 3 rounds, threads 1 and every core
    python benchmarks/threads.py --rounds 1 --threads 1,2 --cases lenet64,resnet18

Every (case, thread count) is measured in a fresh process started with ``OMP_NUM_THREADS`` set
(MXNet reads it once, when libmxnet loads), by ``throughput.measure_case``: hybridized training
steps (forward, loss, backward, ``Trainer.step``) on a fixed synthetic 1x28x28 batch, median of its
windows. Rounds are interleaved (every case at every thread count once per round, the thread order
alternating), so a shared machine's load hits all alike; the report is the median over rounds
with the range. Writes ``results/threads.json``.
"""
import argparse
import datetime
import json
import os
import statistics
import subprocess
import sys

# argtypes.py beside this file (the script's folder is on sys.path): standard library only.
from argtypes import names_from, positive_int, positive_int_list

HERE = os.path.dirname(os.path.abspath(__file__))
ROOT = os.path.dirname(HERE)
RESULTS = os.path.join(HERE, "results")

# name: (model, batch size, options); every input is Fashion-MNIST's 1x28x28.
CASES = {
    "lenet64": ("lenet", 64, {}),
    "lenet256": ("lenet", 256, {}),
    "nin": ("nin", 64, {"small_input": True}),
    "googlenet": ("googlenet", 64, {"small_input": True, "aux_logits": False}),
    "densenet121": ("densenet121", 32, {"small_input": True}),
    "resnet18": ("resnet18", 128, {"small_input": True}),
}

CHILD = """
import json, sys
sys.path[:0] = [{root!r}, {here!r}]
from throughput import Case, measure_case
case = Case({model!r}, (1, 28, 28), {batch}, options=dict({options!r}, classes=10, in_channels=1))
result = measure_case(case, windows=3, modes=("train",), hybrid=(True,))
print(json.dumps(result["rows"][0]["gluoncnn"]["images_per_sec"]))
"""


def measure(case_name, threads, timeout=600):
    """Training images/s of ``case_name`` in a fresh process with ``OMP_NUM_THREADS=threads``."""
    model, batch, options = CASES[case_name]
    env = dict(os.environ, OMP_NUM_THREADS=str(threads), PYTHONPATH=ROOT)
    code = CHILD.format(root=ROOT, here=HERE, model=model, batch=batch, options=options)
    done = subprocess.run([sys.executable, "-c", code], env=env, capture_output=True, text=True,
                          timeout=timeout, check=False)
    if done.returncode != 0:
        raise RuntimeError(f"{case_name} at {threads} threads: {done.stderr.strip()[-500:]}")
    return float(done.stdout.strip().splitlines()[-1])


def main(argv=None):
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--rounds", type=positive_int, default=3)
    parser.add_argument("--threads", type=positive_int_list, default=f"1,{os.cpu_count()}",
                        help="comma-separated thread counts (default: 1 and every core)")
    parser.add_argument("--cases", type=names_from(CASES), default=",".join(CASES),
                        help=", ".join(CASES))
    parser.add_argument("--out", default=os.path.join(RESULTS, "threads.json"))
    args = parser.parse_args(argv)
    thread_counts, cases = args.threads, args.cases
    samples = {c: {t: [] for t in thread_counts} for c in cases}
    for round_index in range(args.rounds):
        for case_name in cases:
            order = thread_counts if round_index % 2 == 0 else thread_counts[::-1]
            for threads in order:
                speed = measure(case_name, threads)
                samples[case_name][threads].append(speed)
                print(f"round {round_index + 1}: {case_name:12} {threads} threads "
                      f"{speed:9.1f} img/s", flush=True)
    from gluoncnn.doctor import cpu_name
    report = {"date": datetime.datetime.now().isoformat(timespec="seconds"), "cpu": cpu_name(),
              "cores": os.cpu_count(), "load_average": os.getloadavg(), "rounds": args.rounds,
              "cases": {c: {"model": CASES[c][0], "batch_size": CASES[c][1],
                            "options": CASES[c][2],
                            "images_per_sec": {str(t): {"median": statistics.median(s),
                                                        "min": min(s), "max": max(s)}
                                               for t, s in samples[c].items()}}
                        for c in cases}}
    os.makedirs(os.path.dirname(args.out), exist_ok=True)
    with open(args.out, "w") as f:
        json.dump(report, f, indent=1)
    print(f"\n| case | {' | '.join(f'{t} thread(s), img/s' for t in thread_counts)} |")
    print(f"|---|{'---:|' * len(thread_counts)}")
    for c in cases:
        cells = [f"{statistics.median(s):.0f} ({min(s):.0f}-{max(s):.0f})"
                 for s in samples[c].values()]
        print(f"| {c} | {' | '.join(cells)} |")
    print(f"written: {args.out}")
    return 0


if __name__ == "__main__":
    sys.path.insert(0, ROOT)
    sys.exit(main())
