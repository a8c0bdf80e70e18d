"""How fast this machine trains this net: the OpenMP thread count and the precision, measured.

No rule written on one processor holds on the next. On a 2-core AVX-512 EPYC LeNet trains 1.7x
faster with one thread than with two, on a 2-core AVX2 EPYC 1.25x faster with two; on a 2-core
AMX Xeon bfloat16 trains ResNet-18 1.7x faster than float32 and ResNet-20 v2 4x slower. So before
it trains on a CPU, :func:`fit <gluoncnn.train.fit>` measures: a few forward and backward passes
of the net's own graph, at its own batch shape, for each thread count of
:func:`gluoncnn.runtime.thread_candidates` and, with ``amp='auto'`` on a processor with native
bfloat16, in float32 and in bfloat16. The fastest wins (bfloat16 only when it is at least
:data:`TRAIN_BF16_MARGIN` faster, since it costs a little accuracy and holds for the whole
process; fewer threads when within :data:`TIE`, since the Python thread feeding the engine needs
a core too).

The passes run on a copy of the graph bound to its own arrays (constant weights: the speed of a
convolution does not depend on them), so the net's parameters and the random streams are not
touched, and bfloat16 is measured on ``amp.convert_symbol``'s graph without patching MXNet for
the process (``amp.init`` cannot be undone). The result is cached per processor, MXNet version,
net structure and batch shape in the user's cache directory
(:func:`gluoncnn.runtime.speed_cache_path`), so a net is measured once per machine;
``gluoncnn doctor`` shows the cache and ``gluoncnn doctor --clear-cache`` forgets it. What it
costs: a warm-up and two samples per candidate (``SpeedChoice.cost``, in ``fit``'s
``meta['speed_cost']``).

Changing the thread count starts new engine workers (:func:`gluoncnn.runtime.restart_engine`):
MXNet caches its oneDNN kernels per worker thread, and a kernel created for one count corrupts
memory when run with another.
"""
from __future__ import annotations

import dataclasses
import functools
import hashlib
import json
import math
import time
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field

import mxnet as mx
from mxnet import autograd

from .. import runtime
from ..utils import first_line
from .precision import AmpArg, choose_amp_dtype, initialised_dtype

#: bfloat16 must train at least this much faster than float32 to be chosen: it costs a little
#: accuracy, and ``amp.init`` patches the whole process for good, so every later net of the
#: process trains in it too (in chapter 06, LeNet's 8% gain made BN-LeNet train 3x slower).
TRAIN_BF16_MARGIN = 0.15
#: bfloat16 must evaluate at least this much faster (a converted copy: nothing else pays).
BF16_MARGIN = 0.05
#: Thread counts within this fraction of the fastest count as equally fast (fewer wins).
TIE = 0.03
#: Timed rounds per candidate (the minimum counts: interference only ever adds time).
ROUNDS = 2
#: Each timed sample runs enough passes to last about this long.
SAMPLE_SECONDS = 0.05


@dataclass(frozen=True)
class Candidate:
    """One way to train: ``threads`` OpenMP threads, in ``dtype`` (None: float32)."""
    threads: int
    dtype: str | None

    @property
    def label(self) -> str:
        return f"{self.dtype or 'float32'}, {self.threads} thread{'s' * (self.threads > 1)}"


@dataclass(frozen=True)
class SpeedChoice:
    """What ``fit`` trains with: ``threads`` (None: not gluoncnn's to choose, e.g. on GPUs),
    ``amp_dtype`` (None: float32), the ``reason`` in one sentence, the measured seconds per
    pass of each candidate (``timings``, by label), what measuring cost (``cost``, seconds; 0
    when it came from the cache) and whether it did (``cached``)."""
    threads: int | None
    amp_dtype: str | None
    reason: str
    timings: dict = field(default_factory=dict)
    cost: float = 0.0
    cached: bool = False


def per_device_shape(batch_shape: tuple[int, ...], ctxs: list[mx.Context]) -> tuple[int, ...]:
    """The largest slice of a batch of ``batch_shape`` that one of ``ctxs`` computes (data
    parallel training splits the batch evenly, the first devices taking the remainder)."""
    return (max(1, math.ceil(batch_shape[0] / len(ctxs))), *batch_shape[1:])


def precision_candidates(amp: AmpArg, ctxs: list[mx.Context]) -> tuple[str | None, ...]:
    """The precisions ``fit(amp=amp)`` may train in on ``ctxs``: both float32 and bfloat16 for
    ``'auto'`` on a CPU with native bfloat16 (to be measured), else the one
    :func:`~gluoncnn.train.precision.choose_amp_dtype` decides. A process already patched by
    ``amp.init`` keeps its precision."""
    chosen = choose_amp_dtype(amp, ctxs)
    if initialised_dtype() is not None:
        return (initialised_dtype(),)
    if amp == "auto" and all(c.device_type == "cpu" for c in ctxs) \
            and runtime.cpu_has_native_bf16():
        return (None, "bfloat16")
    return (chosen,)


def choose_speed(net, batch_shape: tuple[int, ...], ctxs: list[mx.Context], amp: AmpArg,
                 threads: int | None = None, *, measure: Callable | None = None,
                 use_cache: bool = True) -> SpeedChoice:
    """The thread count and precision to train ``net`` with on ``ctxs``, a batch of
    ``batch_shape`` per step (measured, or read from the cache), with the thread count applied.

    ``threads`` fixes the count (as the user's ``OMP_NUM_THREADS`` or ``GLUONCNN_THREADS``
    do); ``measure(candidates)`` returns seconds per pass for each candidate (injected in
    tests; default: :func:`measure_candidates` on the net's graph)."""
    dtypes = precision_candidates(amp, ctxs)
    if any(c.device_type != "cpu" for c in ctxs):
        return SpeedChoice(None, dtypes[0], "on GPUs: the threads do not matter, and amp "
                                            "decides the precision")
    devices = tuple(sorted({c.device_id for c in ctxs}))
    fixed = runtime.ThreadChoice(threads, "fit(threads=...)", runtime.USER_GLUONCNN) \
        if threads else runtime.user_thread_choice()
    if threads:
        runtime.apply_threads(fixed, devices)
    if fixed is not None:
        counts: tuple[int, ...] = (fixed.count,)
    else:
        counts = runtime.thread_candidates()
    candidates = [Candidate(t, d) for d in dtypes for t in counts]
    if dtypes == ("bfloat16",) and runtime.measuring_enabled() \
            and isinstance(net, mx.gluon.HybridBlock):
        check_bfloat16_runs(net, batch_shape, ctxs[0], use_cache)
    if len(candidates) == 1:
        if fixed is None:
            runtime.use_measured_threads(counts[0], "the only candidate on this machine",
                                         devices)
        why = (f"{fixed.count} thread(s), {fixed.source}" if fixed else
               f"{counts[0]} thread(s), the only count to try")
        return SpeedChoice(counts[0], dtypes[0], f"{why}; {dtypes[0] or 'float32'} as amp="
                                                 f"{amp!r} decides here")
    if not runtime.measuring_enabled():
        return SpeedChoice(runtime.thread_choice().count, dtypes[0],
                           "not measured (GLUONCNN_MEASURE=0, or quick mode): the threads in "
                           "force, and float32 where amp='auto' would have measured bfloat16")

    def unmeasured(why: str) -> SpeedChoice:
        """Every core and the first precision (float32 where 'auto' would have measured): a
        net that cannot be measured still trains."""
        if fixed is None:
            runtime.use_measured_threads(max(counts), f"every core, not measured: {why}",
                                         devices)
        return SpeedChoice(max(counts) if fixed is None else fixed.count, dtypes[0],
                           f"not measured: {why}")

    if not isinstance(net, mx.gluon.HybridBlock):
        return unmeasured("the net is no HybridBlock")
    try:
        key = cache_key(net, batch_shape, len(ctxs), candidates)
    except Exception as error:  # e.g. a hybrid_forward that reads x.shape: imperative only
        return unmeasured(f"the net's graph cannot be built from symbols ({first_line(error)})")
    cached = runtime.read_speed_cache().get(key) if use_cache else None
    if cached is not None:
        choice = SpeedChoice(cached["threads"], cached["dtype"], cached["reason"],
                             cached["timings"], 0.0, True)
    else:
        start = time.perf_counter()
        timings, failures = (measure or measure_candidates)(net, batch_shape, ctxs[0],
                                                             candidates)
        if not timings:
            return unmeasured("no candidate ran (" + "; ".join(failures.values()) + ")")
        choice = dataclasses.replace(decide(candidates, timings, failures, batch_shape[0]),
                                     cost=round(time.perf_counter() - start, 3))
        if use_cache:
            runtime.write_speed_cache(key, {
                "threads": choice.threads, "dtype": choice.amp_dtype, "reason": choice.reason,
                "timings": choice.timings, "net": type(net).__name__,
                "batch": list(batch_shape), "cost_seconds": choice.cost})
    if fixed is None:
        runtime.use_measured_threads(choice.threads, choice.reason, devices)
    return choice


def check_bfloat16_runs(net, batch_shape: tuple[int, ...], ctx: mx.Context,
                        use_cache: bool = True) -> None:
    """Raise :class:`~gluoncnn.errors.OptionError` when a training pass of ``net`` in bfloat16
    crashes MXNet here (tried once per machine and net in a child process, the answer
    cached): ``amp='bfloat16'`` would kill the process at its first step."""
    try:
        key = "bfloat16-runs:" + cache_key(net, batch_shape, 1, [])
    except Exception:  # an imperative-only net: fit's own path will tell
        return
    def attempt():
        ok, why = in_child(lambda: _timed(_bind(net, batch_shape, ctx, "bfloat16"), 1))
        return {"runs": ok, "why": None if ok else why}
    known = cached(key, attempt, use_cache)
    if not known["runs"]:
        from ..errors import OptionError
        amx = " (its AMX kernels: GLUONCNN_AMX=0 before Python starts turns them off)" \
            if runtime.amx_state().on else ""
        raise OptionError(f"amp='bfloat16': a bfloat16 training pass of this net "
                          f"{known['why']}{amx}; train in float32 (amp='off'), or amp='auto', "
                          "which measures and keeps float32 here")


def choose_eval_dtype(net, batch_shape: tuple[int, ...], ctx: mx.Context, amp: AmpArg,
                      train_dtype: str | None, use_cache: bool = True
                      ) -> tuple[str | None, str]:
    """The precision to evaluate ``net`` in, and why: with ``amp='auto'`` on a CPU with native
    bfloat16, bfloat16 when a forward pass of the net's inference graph at ``batch_shape`` is at
    least :data:`BF16_MARGIN` faster in it (measured in a child process as training is, at the
    thread count in force; cached), though training stays float32. Inference gains more from
    bfloat16 than training does (on an AMX Xeon: ResNet-20 v2 inference 1.7x faster, training 4x
    slower). None (float32) otherwise; where training is bfloat16 the evaluation is too."""
    if train_dtype is not None or initialised_dtype() is not None:
        return train_dtype or initialised_dtype(), "as the training"
    if amp != "auto" or ctx.device_type != "cpu" or not runtime.cpu_has_native_bf16():
        return None, "float32, as the training"
    if not runtime.measuring_enabled():
        return None, "float32: not measured (GLUONCNN_MEASURE=0, or quick mode)"
    try:
        symbol = inference_symbol(net)
        if len(symbol.list_outputs()) != 1:
            return None, "float32: the net has several outputs"
        if set(net.collect_params()) - set(symbol.list_arguments()) \
                - set(symbol.list_auxiliary_states()):
            # e.g. GoogLeNet's auxiliary heads: amp.convert_hybrid_block cannot copy the net
            return None, "float32: some parameters are used in training only"
        key = "eval:" + cache_key(net, batch_shape, 1, [])
    except Exception as error:  # an imperative-only net
        return None, f"float32: the graph cannot be built from symbols ({first_line(error)})"
    def measure():
        timings = {}
        for dtype in (None, "bfloat16"):
            ok, result = in_child(functools.partial(_inference_seconds, symbol, batch_shape, ctx,
                                                    dtype))
            timings[dtype or "float32"] = result if ok else None
        fast, slow = timings["bfloat16"], timings["float32"]
        dtype = "bfloat16" if fast and slow and fast < slow * (1 - BF16_MARGIN) else None
        shown = ", ".join(f"{k} {v * 1e3:.1f} ms" if v else f"{k} failed"
                          for k, v in timings.items())
        return {"dtype": dtype, "reason": f"measured (batch {batch_shape[0]}, forward): "
                                          f"{shown} -> {dtype or 'float32'}",
                "net": type(net).__name__, "batch": list(batch_shape)}
    known = cached(key, measure, use_cache)
    return known["dtype"], known["reason"]


def cached(key: str, compute: Callable[[], dict], use_cache: bool = True) -> dict:
    """The speed cache's entry under ``key``, or ``compute()``'s, then kept there."""
    known = runtime.read_speed_cache().get(key) if use_cache else None
    if known is None:
        known = compute()
        if use_cache:
            runtime.write_speed_cache(key, known)
    return known


def inference_symbol(net) -> mx.sym.Symbol:
    """``net``'s inference graph."""
    with autograd.predict_mode():
        return net(mx.sym.var("data"))


def _inference_seconds(symbol, batch_shape, ctx, dtype) -> float:
    executor = _bind_symbol(symbol, batch_shape, ctx, dtype, train=False)
    _timed(executor, 1, train=False)  # oneDNN creates its kernels
    return min(_timed(executor, 3, train=False) / 3 for _ in range(ROUNDS))


def decide(candidates: Sequence[Candidate], timings: dict[Candidate, float],
           failures: dict[Candidate, str], batch: int) -> SpeedChoice:
    """The fastest candidate by the rules of this module's docstring, with its reason
    (``timings`` holds at least one)."""
    def best(dtype):
        timed = sorted((t, c.threads, c) for c, t in timings.items() if c.dtype == dtype)
        if not timed:
            return None
        fastest = timed[0][0]
        return min((c for t, _, c in timed if t <= fastest * (1 + TIE)),
                   key=lambda c: c.threads)

    float32 = best(None)
    low = next((best(d) for d in ("bfloat16", "float16") if best(d) is not None), None)
    pick = float32 or low
    if float32 is not None and low is not None:
        pick = low if timings[low] < timings[float32] * (1 - TRAIN_BF16_MARGIN) else float32
    shown = ", ".join(f"{c.label} {timings[c] * 1e3:.1f} ms" for c in candidates
                      if c in timings)
    shown += "".join(f"; {c.label} failed ({why})" for c, why in failures.items())
    ratio = ""
    if float32 is not None and low is not None:
        ratio = f"; {low.dtype} {timings[float32] / timings[low]:.2f}x float32's speed"
    reason = (f"measured on this machine (batch {batch}, forward and backward): {shown}"
              f"{ratio} -> {pick.label}")
    return SpeedChoice(pick.threads, pick.dtype, reason,
                       {c.label: round(t, 6) for c, t in timings.items()})


def measure_candidates(net, batch_shape: tuple[int, ...], ctx: mx.Context,
                       candidates: Sequence[Candidate]
                       ) -> tuple[dict[Candidate, float], dict[Candidate, str]]:
    """Seconds per forward-and-backward pass of ``net``'s graph for each candidate, and why any
    failed: each precision measured in a child process of its own (:func:`in_child`), so that a
    precision whose kernels crash MXNet fails as a candidate instead of killing the process
    (MXNet 1.9.1's oneDNN 2.4 AMX bfloat16 kernels corrupt memory on NiN and on GoogLeNet at
    48x48, seen on an AMX Xeon), and the process's own engine never runs this net at the
    thread counts it does not keep."""
    timings, failures = {}, {}
    for dtype in dict.fromkeys(c.dtype for c in candidates):
        mine = [c for c in candidates if c.dtype == dtype]
        ok, result = in_child(functools.partial(_measured_pairs, net, batch_shape, ctx, mine))
        if not ok:
            failures.update({c: result for c in mine})
            continue
        timed, failed = result
        timings.update({c: t for c, t in zip(mine, timed) if t is not None})
        failures.update({c: why for c, why in zip(mine, failed) if why is not None})
    return timings, failures


def _measured_pairs(net, batch_shape, ctx, candidates):
    timings, failures = measure_in_process(net, batch_shape, ctx, candidates)
    return ([timings.get(c) for c in candidates], [failures.get(c) for c in candidates])


def in_child(fn: Callable[[], object]) -> tuple[bool, object]:
    """``(True, fn())`` computed in a forked child process, or ``(False, why)`` when the child
    died (a signal: MXNet's kernels crashed) or raised; in this process where ``fork`` is
    missing. The result travels back pickled through a pipe; MXNet's own fork handlers give
    the child an engine of its own."""
    import os
    import pickle
    import signal
    if not hasattr(os, "fork"):
        try:
            return True, fn()
        except Exception as error:
            return False, first_line(error)
    read_end, write_end = os.pipe()
    try:
        pid = os.fork()
    except OSError as error:  # no memory for the page tables: measure here
        os.close(read_end)
        os.close(write_end)
        try:
            return True, fn()
        except Exception as inner:
            return False, first_line(inner) or first_line(error)
    if pid == 0:  # the child: compute, send, leave without running the parent's exit handlers
        os.close(read_end)
        import faulthandler
        faulthandler.disable()  # a crash is reported by the parent, in one line
        quiet = os.open(os.devnull, os.O_WRONLY)
        os.dup2(quiet, 2)
        try:
            payload = pickle.dumps((True, fn()))
        except BaseException as error:
            payload = pickle.dumps((False, first_line(error) or type(error).__name__))
        with os.fdopen(write_end, "wb") as out:
            out.write(payload)
        os._exit(0)
    os.close(write_end)
    with os.fdopen(read_end, "rb") as pipe:
        data = pipe.read()
    _, status = os.waitpid(pid, 0)
    if os.WIFSIGNALED(status):
        number = os.WTERMSIG(status)
        return False, (f"crashed MXNet ({signal.Signals(number).name}): a kernel bug of "
                       "MXNet 1.9.1 for this net here")
    try:
        return pickle.loads(data)
    except Exception:
        return False, f"the measuring process ended with status {os.waitstatus_to_exitcode(status)}"


def measure_in_process(net, batch_shape: tuple[int, ...], ctx: mx.Context,
                       candidates: Sequence[Candidate]
                       ) -> tuple[dict[Candidate, float], dict[Candidate, str]]:
    """:func:`measure_candidates` in this process: thread counts one after the other (each
    change starts new engine workers, see :func:`gluoncnn.runtime.restart_engine`); within one,
    the precisions interleaved, one warm-up pass each (oneDNN creates its kernels then) and the
    fastest of :data:`ROUNDS` samples (interference only ever adds time)."""
    executors, failures = {}, {}
    for dtype in dict.fromkeys(c.dtype for c in candidates):
        try:
            executors[dtype] = _bind(net, batch_shape, ctx, dtype)
        except Exception as error:  # a graph that this precision cannot run
            for c in candidates:
                if c.dtype == dtype:
                    failures[c] = first_line(error)
    timings = {}
    for count in dict.fromkeys(c.threads for c in candidates):
        live = [c for c in candidates if c.threads == count and c.dtype in executors]
        _use_threads(count, ctx)
        passes = {}
        for c in live:
            try:
                seconds = _timed(executors[c.dtype], 1)
            except Exception as error:  # a kernel this precision lacks here: not a candidate
                failures[c] = first_line(error)
                continue
            passes[c] = max(1, math.ceil(SAMPLE_SECONDS / max(seconds, 1e-6)))
        live = list(passes)
        samples = {c: [] for c in live}
        for _ in range(ROUNDS):
            for c in live:
                samples[c].append(_timed(executors[c.dtype], passes[c]) / passes[c])
        timings.update({c: min(s) for c, s in samples.items()})
    return timings, failures


def _use_threads(count: int, ctx: mx.Context) -> None:
    runtime.apply_threads(runtime.ThreadChoice(count, "measuring", runtime.MEASURED),
                          (ctx.device_id,))


def _timed(executor, passes: int, train: bool = True) -> float:
    mx.nd.waitall()
    start = time.perf_counter()
    for _ in range(passes):
        executor.forward(is_train=train)
        if train:
            executor.backward()
    mx.nd.waitall()
    return time.perf_counter() - start


def training_symbol(net) -> mx.sym.Symbol:
    """``net``'s training graph with a scalar loss per output (what backward needs)."""
    data = mx.sym.var("data")
    with autograd.train_mode():
        # gluoncnn's models give their training outputs (GoogLeNet's auxiliary heads) this way
        out = net.training_graph(data) if hasattr(net, "training_graph") else net(data)
    outs = list(out) if isinstance(out, (tuple, list)) else [out]
    return mx.sym.Group([mx.sym.MakeLoss(mx.sym.mean(o)) for o in outs])


def _bind(net, batch_shape, ctx, dtype):
    return _bind_symbol(training_symbol(net), batch_shape, ctx, dtype, train=True)


def _bind_symbol(symbol, batch_shape, ctx, dtype, train):
    if dtype is not None:
        from mxnet.contrib import amp
        symbol = amp.convert_symbol(symbol, target_dtype=dtype, data_names=["data"])
    grad_req = {name: ("null" if name == "data" or not train else "write")
                for name in symbol.list_arguments()}
    executor = symbol.simple_bind(ctx=ctx, grad_req=grad_req, data=batch_shape)
    for array in executor.arg_arrays + executor.aux_arrays:
        array[:] = 0.01  # the speed of these kernels does not depend on the values
    return executor


def cache_key(net, batch_shape, num_devices, candidates) -> str:
    """The cache's key: this machine (processor, flags, MXNet, AMX) and the net's structure
    (its graph without the layer names, which count up per process), batch and candidates."""
    graph = json.loads(training_symbol(net).tojson())
    structure = [(node["op"], sorted((k, v) for k, v in node.get("attrs", {}).items()
                                     if not k.startswith("__")), node["inputs"])
                 for node in graph["nodes"]]
    machine = [runtime.cpu_name(), sorted(runtime.cpu_flags()), mx.__version__,
               runtime.amx_state().on]
    text = json.dumps([machine, structure, list(batch_shape), num_devices,
                       [c.label for c in candidates]], sort_keys=True)
    return hashlib.sha256(text.encode()).hexdigest()[:32]
