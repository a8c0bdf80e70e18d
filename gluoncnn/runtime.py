"""The machine gluoncnn runs on: its processor, MXNet's thread count, and importing MXNet itself.

Nothing here imports MXNet at module level, so ``import gluoncnn`` and ``gluoncnn doctor`` work
(and explain) when MXNet is missing or broken.

Threads. MXNet sizes its OpenMP pool once, when libmxnet loads: from ``OMP_NUM_THREADS`` if set,
otherwise half the logical processors on x86 (it assumes two hyperthreads per core), so on a
2-core machine without hyperthreads it uses one core. Calling ``MXSetNumOMPThreads`` later does
not help: it sets the calling thread's OpenMP count, but operators run on the engine's worker
threads, which take theirs when they start (MXNet 1.9.1, src/engine/openmp.cc and
src/c_api/c_api.cc). So the count is chosen before MXNet is imported, by setting
``OMP_NUM_THREADS`` in this process's environment:

- the user's own ``OMP_NUM_THREADS`` always wins, then ``GLUONCNN_THREADS``;
- otherwise :data:`THREAD_RULE`: one thread for the nets in :data:`ONE_THREAD_MODELS` on a
  processor with AVX-512 (there LeNet's operators finish so fast that a second thread costs more
  in synchronisation than it computes: 1.7x slower with two on a 2-core AVX-512 EPYC), every
  physical core for everything else, LeNet included on processors without AVX-512 (1.25x faster
  with two on a 2-core AVX2 EPYC); measured with ``benchmarks/threads.py``, the figures are in
  ``benchmarks/README.md``.

``import gluoncnn`` applies the rule for an unknown model (every physical core); the command line
calls ``configure_threads(model)`` before it imports MXNet, and a notebook can do the same in its
first cell. :func:`thread_choice` says what was chosen and why (``gluoncnn doctor`` prints it).
"""
from __future__ import annotations

import functools
import os
import platform
import sys
from dataclasses import dataclass
from types import ModuleType

from .errors import MXNetUnavailableError
from .utils import first_line

BF16_FLAGS = ("avx512_bf16", "amx_bf16")  # oneDNN runs bfloat16 natively with either


@functools.cache
def cpu_flags():
    """The processor's feature flags as a frozenset ('avx2', 'avx512_bf16', ...); empty where
    /proc/cpuinfo does not exist (macOS, Windows)."""
    try:
        with open("/proc/cpuinfo") as f:
            for line in f:
                if line.startswith("flags"):
                    return frozenset(line.split(":", 1)[1].split())
    except OSError:
        pass
    return frozenset()


def cpu_has_native_bf16():
    """True when the CPU computes bfloat16 natively (AVX512_BF16 or AMX), so mixed precision
    is faster than float32 there; elsewhere bfloat16 is emulated and slower."""
    return platform.machine() in ("x86_64", "AMD64") and any(f in cpu_flags() for f in BF16_FLAGS)


def cpu_has_avx512():
    """True when the processor has AVX-512 (its foundation, ``avx512f``)."""
    return "avx512f" in cpu_flags()


def cpu_name() -> str:
    """The processor's model name ('AMD EPYC', from /proc/cpuinfo on Linux), else its
    architecture ('x86_64'): what benchmark records say they ran on."""
    try:
        with open("/proc/cpuinfo") as f:
            for line in f:
                if line.startswith("model name"):
                    return line.split(":", 1)[1].strip()
    except OSError:
        pass
    return platform.processor() or platform.machine()


def usable_cpus() -> set[int]:
    """The logical processors this process may run on (its affinity mask where the OS has one)."""
    try:
        return set(os.sched_getaffinity(0))
    except AttributeError:  # macOS, Windows
        return set(range(os.cpu_count() or 1))


def physical_cores() -> int:
    """How many physical cores this process may use: hyperthread siblings count once (read from
    /sys on Linux; elsewhere every logical processor counts)."""
    cpus = usable_cpus()
    cores = set()
    for cpu in cpus:
        try:
            with open(f"/sys/devices/system/cpu/cpu{cpu}/topology/thread_siblings_list") as f:
                cores.add(f.read().strip())
        except OSError:
            return len(cpus)
    return max(1, len(cores))


# --------------------------------------------------------------------------------------------
# Threads
# --------------------------------------------------------------------------------------------
ONE_THREAD_MODELS = frozenset({"lenet", "lenet_bn"})
THREAD_RULE = ("1 thread for LeNet on processors with AVX-512 (operators too small to share), "
               "every physical core for every other net and for LeNet without AVX-512")
USER_OMP = "user OMP_NUM_THREADS"
USER_GLUONCNN = "user GLUONCNN_THREADS"
RULE = "gluoncnn rule"
TOO_LATE = "too late: mxnet already imported"
# What gluoncnn itself put in OMP_NUM_THREADS, so that a later call (or a child process, which
# inherits both variables) can tell its own choice from the user's.
_MARK = "_GLUONCNN_OMP_NUM_THREADS"


@dataclass(frozen=True)
class ThreadChoice:
    """The OpenMP thread count MXNet runs with: ``count``, ``reason`` (one sentence) and
    ``source`` (:data:`USER_OMP`, :data:`USER_GLUONCNN`, :data:`RULE` or :data:`TOO_LATE`)."""
    count: int
    reason: str
    source: str

    def __str__(self) -> str:
        return f"{self.count} ({self.source}: {self.reason})"


_choice: ThreadChoice | None = None


def threads_for(model: str | None = None) -> tuple[int, str]:
    """:data:`THREAD_RULE` for ``model`` (a registry name, or None when unknown):
    ``(count, reason)``."""
    cores = physical_cores()
    key = model.lower().replace("-", "_") if isinstance(model, str) else None
    if key in ONE_THREAD_MODELS and cpu_has_avx512():
        return 1, f"{key} on an AVX-512 processor: operators too small for a second thread"
    if key is None:
        return cores, (f"every physical core ({cores}), the default while the model is not "
                       f"known (every net gains from them but LeNet on AVX-512)")
    if key in ONE_THREAD_MODELS:
        return cores, (f"{key}: every physical core ({cores}); without AVX-512 its operators "
                       f"are slow enough for a second thread to pay off")
    return cores, f"{key}: every physical core ({cores}), as for every net but LeNet on AVX-512"


def _mxnet_imported() -> bool:
    return sys.modules.get("mxnet") is not None


def _thread_count(text: str) -> int | None:
    """The count in ``text`` ('2', or OpenMP's nested list '2,1': its first level); None when
    it is not a positive whole number."""
    first = text.split(",")[0].strip()
    return int(first) if first.isdigit() and int(first) > 0 else None


def configure_threads(model: str | None = None) -> ThreadChoice:
    """Choose MXNet's OpenMP thread count for ``model`` (a registry name, or None when unknown)
    and put it in ``OMP_NUM_THREADS``, which MXNet reads when it loads: call it before anything
    imports ``mxnet``; it may be called again (with a model) until then.

    The user's ``OMP_NUM_THREADS`` wins, then ``GLUONCNN_THREADS``, then :func:`threads_for`.
    Once MXNet is loaded nothing changes, and the choice says what MXNet runs with. Returns (and
    records, for :func:`thread_choice`) the :class:`ThreadChoice`."""
    global _choice
    _choice = _decide(model)
    if _choice.source in (RULE, USER_GLUONCNN) and not _mxnet_imported():
        os.environ["OMP_NUM_THREADS"] = os.environ[_MARK] = str(_choice.count)
    return _choice


def _decide(model: str | None) -> ThreadChoice:
    env = os.environ
    omp = env.get("OMP_NUM_THREADS", "").strip()
    ours = bool(omp) and omp == env.get(_MARK)
    loaded = _mxnet_imported()
    if omp and not ours:
        count = _thread_count(omp)
        if count is not None:
            return ThreadChoice(count, "set in the environment; gluoncnn leaves it alone",
                                USER_OMP)
        return ThreadChoice(_mxnet_default_threads(), f"OMP_NUM_THREADS={omp!r} is ignored "
                            f"(not a positive whole number): MXNet's own default applies",
                            USER_OMP)
    if loaded and not ours:
        return ThreadChoice(_mxnet_default_threads(), "MXNet's own default (half the logical "
                            "processors on x86): mxnet was imported before gluoncnn could choose; "
                            "import gluoncnn first, or set OMP_NUM_THREADS", TOO_LATE)
    if ours and (loaded or model is None):
        if _choice is not None and str(_choice.count) == omp:
            return _choice  # what MXNet loaded (or will load) with
        return ThreadChoice(int(omp), "chosen by gluoncnn in the process that started this one",
                            RULE)
    wanted = env.get("GLUONCNN_THREADS", "").strip()
    count, why = threads_for(model)
    if wanted and _thread_count(wanted) is not None:
        return ThreadChoice(_thread_count(wanted), "set in the environment", USER_GLUONCNN)
    if wanted:
        why = (f"GLUONCNN_THREADS={wanted!r} is ignored (not a positive whole number); "
               f"{why}")
    return ThreadChoice(count, why, RULE)


def _mxnet_default_threads() -> int:
    logical = os.cpu_count() or 1
    return max(1, logical // 2) if platform.machine() in ("x86_64", "AMD64") else logical


def thread_choice() -> ThreadChoice:
    """The thread count MXNet runs (or will run) with, and why: the recorded choice, checked
    against the environment and MXNet's state now (the rule for an unknown model is applied
    if nobody has chosen yet)."""
    return configure_threads()


# --------------------------------------------------------------------------------------------
# Importing MXNet
# --------------------------------------------------------------------------------------------
MXNET_VERSION = "1.9.1"
NUMPY_LIMIT = (1, 24)
def install_extra(*extras: str) -> str:
    """The command that installs the package's optional dependencies for ``extras``:
    ``install_extra('onnx')`` -> ``pip install 'gluoncnn[onnx]'`` (pyproject.toml lists them)."""
    return f"pip install 'gluoncnn[{','.join(extras)}]'"


INSTALL_HINT = (f"pip install mxnet=={MXNET_VERSION} (CPU) or mxnet-cu112=={MXNET_VERSION} "
                f"(CUDA 11.2); `gluoncnn doctor` checks the whole install")


def version_tuple(text: str) -> tuple[int, ...]:
    """``'1.23.5'`` -> ``(1, 23, 5)``; stops at the first part without digits."""
    parts = []
    for piece in text.split(".")[:3]:
        digits = ""
        for c in piece:
            if not c.isdigit():
                break
            digits += c
        if not digits:
            break
        parts.append(int(digits))
    return tuple(parts)


def numpy_too_new(error: BaseException | None = None) -> bool:
    """True when numpy is 1.24 or newer (MXNet 1.9.1 uses ``np.bool``, which 1.24 removed), or
    ``error`` is the AttributeError that causes."""
    text = str(error or "")
    if "np.bool" in text or "has no attribute 'bool'" in text:
        return True
    try:
        import numpy
    except ImportError:
        return False
    return version_tuple(numpy.__version__) >= NUMPY_LIMIT


def mxnet_unavailable_message(error: BaseException) -> str:
    """One line on why ``import mxnet`` failed with ``error``, and what to install."""
    if numpy_too_new(error):
        import numpy
        return (f"MXNet {MXNET_VERSION} does not work with numpy {numpy.__version__} (it uses "
                f"np.bool, removed in numpy 1.24): pip install 'numpy<1.24'; MXNet itself: "
                + INSTALL_HINT)
    if isinstance(error, ModuleNotFoundError) and (error.name or "mxnet").split(".")[0] == "mxnet":
        return "MXNet is not installed: " + INSTALL_HINT
    return (f"import mxnet failed ({type(error).__name__}: {first_line(error)}): "
            + INSTALL_HINT)


def import_mxnet() -> ModuleType:
    """``mxnet``, imported after :func:`configure_threads` (so the thread choice is in place);
    :class:`~gluoncnn.errors.MXNetUnavailableError` with the fix when it cannot be imported."""
    if not _mxnet_imported():
        thread_choice()
    try:
        import mxnet
    except Exception as error:  # ImportError, OSError (a missing .so), AttributeError (numpy)
        raise MXNetUnavailableError(mxnet_unavailable_message(error)) from error
    return mxnet
