"""Training and inference throughput of gluoncnn models and their MXNet model-zoo twins.

What is measured, for one model at one batch size and input shape on one device:

- ``train``: one optimisation step per iteration: forward under ``autograd.record``, softmax
  cross-entropy, ``backward``, ``Trainer.step`` (SGD with momentum);
- ``infer``: one forward pass in predict mode per iteration;

each imperatively and hybridized (``hybridize(static_alloc=True, static_shape=True)``). The
input is a fixed random batch already on the device, so the figure is the model's speed, not the
data pipeline's. After ``warmup`` iterations (graph building, memory allocation, oneDNN
primitive creation), ``windows`` windows of ``iters`` iterations are timed, each closed by
``mx.nd.waitall()`` so that MXNet's asynchronous engine has really finished the work; the figure
is the median of the windows' images/sec.

The gluoncnn model and its ``gluon.model_zoo.vision`` twin (built to the same architecture: same
parameter count, checked and reported) are measured in the same process, window by window in
turn, so a load change on a shared machine hits both alike; ``ratio = gluoncnn / zoo``.

Peak memory: on a GPU, ``mx.context.gpu_memory_info`` sampled after every window (device-wide
memory in use, so other processes on that GPU count too); on the CPU MXNet reports nothing, and
the figure is the peak resident set size of the process that measured this model (both twins
and the MXNet runtime included: each model runs in a fresh process).
"""
import gc
import multiprocessing
import os
import resource
import statistics
import sys
import time

ROOT = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
if ROOT not in sys.path:
    sys.path.insert(0, ROOT)


class Case:
    """One benchmark case: a gluoncnn model, its options, the zoo twin and the input shape."""

    def __init__(self, model, input_shape, batch_size, options=None, zoo=None, zoo_options=None,
                 note="", hybrid=None, windows=None):
        self.model = model
        self.input_shape = tuple(input_shape)
        self.batch_size = int(batch_size)
        self.options = dict(options or {})
        self.zoo = zoo
        self.zoo_options = dict(zoo_options or {})
        self.note = note
        self.hybrid = tuple(hybrid) if hybrid is not None else None  # overrides the run's
        self.windows = windows

    @property
    def label(self):
        opts = ",".join(f"{k}={v}" for k, v in self.options.items()
                        if k not in ("classes", "in_channels"))
        return f"{self.model}({opts})" if opts else self.model

    def as_dict(self):
        return {"model": self.model, "label": self.label, "input_shape": list(self.input_shape),
                "batch_size": self.batch_size, "options": self.options, "zoo": self.zoo,
                "zoo_options": self.zoo_options, "note": self.note}


def build_gluoncnn(case):
    from gluoncnn.models import get_model, model_options
    opts = dict(case.options)
    opts.setdefault("classes", 10)
    opts.setdefault("in_channels", case.input_shape[0])
    valid = model_options(case.model)
    if "input_size" in valid and "input_size" not in opts:
        opts["input_size"] = case.input_shape[1]
    return get_model(case.model, **opts)


def build_zoo(case):
    if not case.zoo:
        return None
    from mxnet.gluon.model_zoo import vision
    opts = dict(case.zoo_options)
    opts.setdefault("classes", case.options.get("classes", 10))
    return vision.get_model(case.zoo, **opts)


def param_count(net):
    import numpy as np
    return int(sum(np.prod(p.shape) for p in net.collect_params().values()))


def _init(net, ctx, shape):
    import mxnet as mx
    from mxnet import init
    # Xavier for both twins: initialisers change no speed, and this keeps them comparable.
    net.initialize(init.Xavier(), ctx=ctx, force_reinit=True)
    net(mx.nd.zeros((1,) + tuple(shape[1:]), ctx=ctx))  # resolve deferred shapes (zoo)


class _Runner:
    """Runs windows of one mode (train/infer) for one net."""

    def __init__(self, net, ctx, shape, mode, hybridize, classes):
        import mxnet as mx
        from mxnet import gluon
        self.net, self.ctx, self.mode = net, ctx, mode
        _init(net, ctx, shape)
        if hybridize:
            net.hybridize(static_alloc=True, static_shape=True)
        self.x = mx.nd.random.uniform(shape=shape, ctx=ctx)
        self.y = mx.nd.random.randint(0, classes, shape=(shape[0],), ctx=ctx).astype("int32")
        self.loss = gluon.loss.SoftmaxCrossEntropyLoss()
        if mode == "train":
            self.trainer = gluon.Trainer(net.collect_params(), "sgd",
                                         {"learning_rate": 0.01, "momentum": 0.9})

    def step(self):
        """One training step: forward and loss under ``autograd.record``, backward, update."""
        from mxnet import autograd
        with autograd.record():
            out = self.net(self.x)
            out = out[0] if isinstance(out, (list, tuple)) else out
            loss = self.loss(out, self.y)
        loss.backward()
        self.trainer.step(self.x.shape[0])

    def window(self, iters):
        """Seconds for ``iters`` iterations, waited for (``mx.nd.waitall()``) at both ends.
        Inference is timed by ``gluoncnn.analysis.throughput`` (the package's one inference
        timer); a training step has no such timer in the package, so it is timed here."""
        import mxnet as mx
        if self.mode != "train":
            from gluoncnn.analysis import throughput
            per_second = throughput(self.net, self.x, warmup=0, min_time=float("inf"),
                                    max_runs=iters, ctx=self.ctx)
            return iters * self.x.shape[0] / per_second
        mx.nd.waitall()
        t0 = time.perf_counter()
        for _ in range(iters):
            self.step()
        mx.nd.waitall()
        return time.perf_counter() - t0


def _gpu_in_use(ctx):
    import mxnet as mx
    if ctx.device_type != "gpu":
        return None
    free, total = mx.context.gpu_memory_info(ctx.device_id)
    return total - free


def measure_case(case, ctx_text="cpu", windows=5, iters=None, warmup=3, modes=("train", "infer"),
                 hybrid=(True, False), seconds_per_window=0.5):
    """Measure ``case`` (and its zoo twin) in this process. Returns a dict of results."""
    from gluoncnn.train import parse_ctx
    ctx = parse_ctx(ctx_text or "cpu")[0]  # one device: the figures are per device
    hybrid = case.hybrid or hybrid
    windows = case.windows or windows
    shape = (case.batch_size,) + case.input_shape
    classes = case.options.get("classes", 10)
    result = case.as_dict()
    result["ctx"] = str(ctx)
    nets = {"gluoncnn": build_gluoncnn, "zoo": build_zoo}
    counts = {}
    for impl, build in nets.items():
        net = build(case)
        if net is not None:
            _init(net, ctx, shape)
            counts[impl] = param_count(net)
    result["params"] = counts
    result["same_architecture"] = (counts.get("gluoncnn") == counts.get("zoo")
                                   if "zoo" in counts else None)
    peak_gpu = 0
    rows = []
    for mode in modes:
        for hybridize in hybrid:
            runners = {}
            for impl, build in nets.items():
                net = build(case)
                if net is None:
                    continue
                runners[impl] = _Runner(net, ctx, shape, mode, hybridize, classes)
            # Warm-up, and pick the iterations per window from the warm-up speed.
            n_iters = iters
            for runner in runners.values():
                runner.window(max(1, warmup))
                if n_iters is None:
                    dt = runner.window(1)
                    n_iters = max(1, min(50, int(seconds_per_window / max(dt, 1e-6))))
            times = {impl: [] for impl in runners}
            order = list(runners.items())
            for w in range(windows):
                # Interleaved, in ABBA order: both twins see the same load and neither always
                # runs first.
                for impl, runner in (order if w % 2 == 0 else order[::-1]):
                    times[impl].append(runner.window(n_iters))
                    used = _gpu_in_use(ctx)
                    if used is not None:
                        peak_gpu = max(peak_gpu, used)
            row = {"mode": mode, "hybridized": hybridize, "iters_per_window": n_iters,
                   "windows": windows}
            for impl, ts in times.items():
                ips = [shape[0] * n_iters / t for t in ts]
                row[impl] = {"images_per_sec": statistics.median(ips),
                             "min": min(ips), "max": max(ips)}
            if "zoo" in row:
                row["ratio"] = row["gluoncnn"]["images_per_sec"] / row["zoo"]["images_per_sec"]
            rows.append(row)
            del runners
            gc.collect()
    result["rows"] = rows
    if ctx.device_type == "gpu":
        result["peak_memory_mb"] = peak_gpu / 2 ** 20
        result["peak_memory_kind"] = "GPU memory in use, device-wide (gpu_memory_info)"
    else:
        result["peak_memory_mb"] = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024
        result["peak_memory_kind"] = "CPU: peak RSS of the measuring process (MXNet runtime " \
                                     "and both twins included)"
    return result


def _child(conn, case, kwargs):
    try:
        conn.send(("ok", measure_case(case, **kwargs)))
    except BaseException as err:  # report, never hang the parent
        import traceback
        lines = [l.strip() for l in str(err).splitlines() if l.strip()]
        message = next((l for l in reversed(lines) if "Error" in l or "failed" in l),
                       lines[-1] if lines else "")
        conn.send(("error", f"{type(err).__name__}: {message}\n{traceback.format_exc()}"))
    finally:
        conn.close()


def measure_in_subprocess(case, **kwargs):
    """:func:`measure_case` in a fresh process (honest per-model peak RSS)."""
    ctx = multiprocessing.get_context("spawn")
    parent, child = ctx.Pipe(duplex=False)
    proc = ctx.Process(target=_child, args=(child, case, kwargs))
    proc.start()
    child.close()
    try:
        status, payload = parent.recv()
    except EOFError:
        status, payload = "error", f"the measuring process died (exit code {proc.exitcode})"
    proc.join()
    if status != "ok":
        raise RuntimeError(f"{case.label}: {payload}")
    return payload
