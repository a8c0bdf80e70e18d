"""The machine gluoncnn runs on: its processor, MXNet's thread count, and importing MXNet itself.

Nothing here imports MXNet at module level, so ``import gluoncnn`` and ``gluoncnn doctor`` work
(and explain) when MXNet is missing or broken.

Threads. MXNet sizes its OpenMP pool when libmxnet loads: from ``OMP_NUM_THREADS`` if set,
otherwise half the logical processors on x86 (it assumes two hyperthreads per core), so on a
2-core machine without hyperthreads it uses one core. Each engine worker thread (the threads that
run the operators) takes its count once, when it starts (MXNet 1.9.1, src/engine/openmp.cc), so
``MXSetNumOMPThreads`` from Python changes nothing that matters. gluoncnn therefore sets the count
in two ways: before MXNet loads, in ``OMP_NUM_THREADS``; after it has loaded (a user who wrote
``import mxnet`` first), on the engine's CPU worker itself, by pushing a function that calls
``MXSetNumOMPThreads`` there through the C API's ``MXEnginePushSync`` (:func:`apply_threads`).
Either way it works whatever the import order, and the count can change per net.

- the user's own ``OMP_NUM_THREADS`` always wins, then ``GLUONCNN_THREADS``;
- ``fit`` measures, for the net it trains, which count is fastest on this machine
  (:mod:`gluoncnn.train.calibrate`, cached per processor and net) and applies it;
- until then every physical core (on the three CPUs measured so far LeNet wants one thread on
  an AVX-512 EPYC and on an AMX Xeon, two on an AVX2 EPYC, so no fixed rule is right for it:
  measuring is).

AMX. Intel's AMX tiles run bfloat16 (and int8) matrix products several times faster than
AVX-512. MXNet 1.9.1's oneDNN (2.4.4) has AMX kernels but uses them only when
``DNNL_MAX_CPU_ISA=AVX512_CORE_AMX`` is set when it creates its first primitive, and Linux (5.16
and newer) kills a process that touches the tile registers without first asking for them
(``arch_prctl(ARCH_REQ_XCOMP_PERM, XFEATURE_XTILEDATA)``), which oneDNN 2.4 does not do.
:func:`enable_amx` does both, only on processors with ``amx_bf16``. The variable stays set for
the process's life: oneDNN reads it again after its first primitive (with it taken away after
that, ResNet-18's bfloat16 step took 1.6 s instead of 0.65 s on a 2-core Xeon). Child processes
inherit it; one that imports gluoncnn asks Linux for the tiles itself, one that runs MXNet's
bfloat16 without gluoncnn must unset ``DNNL_MAX_CPU_ISA`` (or set ``GLUONCNN_AMX=0`` in the
parent).
"""
from __future__ import annotations

import functools
import json
import os
import platform
import sys
import time
import warnings
from dataclasses import dataclass
from types import ModuleType

from . import cuda_libs
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
USER_OMP = "user OMP_NUM_THREADS"
USER_GLUONCNN = "user GLUONCNN_THREADS"
RULE = "gluoncnn rule"
MEASURED = "measured"
# What gluoncnn itself put in OMP_NUM_THREADS, so that a later call (or a child process, which
# inherits both variables) can tell its own choice from the user's.
_MARK = "_GLUONCNN_OMP_NUM_THREADS"


@dataclass(frozen=True)
class ThreadChoice:
    """The OpenMP thread count MXNet runs with: ``count``, ``reason`` (one sentence) and
    ``source`` (:data:`USER_OMP`, :data:`USER_GLUONCNN`, :data:`RULE` or :data:`MEASURED`)."""
    count: int
    reason: str
    source: str

    def __str__(self) -> str:
        return f"{self.count} ({self.source}: {self.reason})"

    @property
    def user_set(self) -> bool:
        """True when the user fixed the count (gluoncnn then never changes it)."""
        return self.source in (USER_OMP, USER_GLUONCNN)


_choice: ThreadChoice | None = None


def threads_for(model: str | None = None) -> tuple[int, str]:
    """The count until ``fit`` measures ``model`` (a registry name, or None when unknown):
    every physical core; ``(count, reason)``."""
    cores = physical_cores()
    if model is None:
        return cores, f"every physical core ({cores}) until fit measures the net"
    key = model.lower().replace("-", "_")
    return cores, f"{key}: every physical core ({cores}) until fit measures it on this machine"


def thread_candidates() -> tuple[int, ...]:
    """The counts :mod:`gluoncnn.train.calibrate` compares: one thread, half the physical
    cores and all of them."""
    cores = physical_cores()
    return tuple(sorted({1, max(1, cores // 2), cores}))


def _mxnet_imported() -> bool:
    return sys.modules.get("mxnet") is not None


def _thread_count(text: str) -> int | None:
    """The count in ``text`` ('2', or OpenMP's nested list '2,1': its first level); None when
    it is not a positive whole number."""
    first = text.split(",")[0].strip()
    return int(first) if first.isdigit() and int(first) > 0 else None


def configure_threads(model: str | None = None) -> ThreadChoice:
    """Choose MXNet's OpenMP thread count for ``model`` (a registry name, or None when unknown)
    and apply it: in ``OMP_NUM_THREADS`` before MXNet loads, on the engine's CPU worker after
    (:func:`apply_threads`). The user's ``OMP_NUM_THREADS`` wins, then ``GLUONCNN_THREADS``, then
    a count ``fit`` measured for this process, then :func:`threads_for`. Returns (and records,
    for :func:`thread_choice`) the :class:`ThreadChoice`."""
    global _choice
    choice = _decide(model)
    if choice.source in (RULE, USER_GLUONCNN):
        apply_threads(choice)
    _choice = choice
    return choice


def _decide(model: str | None) -> ThreadChoice:
    user = user_thread_choice()
    if user is not None:
        return user
    if model is None and _choice is not None and not _choice.user_set:
        return _choice  # what this process chose (or measured) stays until a net is named
    omp = os.environ.get("OMP_NUM_THREADS", "").strip()
    if model is None and omp and omp == os.environ.get(_MARK):
        return ThreadChoice(int(omp), "chosen by gluoncnn in the process that started this one",
                            RULE)
    count, why = threads_for(model)
    wanted = os.environ.get("GLUONCNN_THREADS", "").strip()
    if wanted:
        why = (f"GLUONCNN_THREADS={wanted!r} is ignored (not a positive whole number); "
               f"{why}")
    return ThreadChoice(count, why, RULE)


def user_thread_choice() -> ThreadChoice | None:
    """The count the user fixed in the environment, or None."""
    env = os.environ
    omp = env.get("OMP_NUM_THREADS", "").strip()
    if omp and omp != env.get(_MARK):
        count = _thread_count(omp)
        if count is not None:
            return ThreadChoice(count, "set in the environment; gluoncnn leaves it alone",
                                USER_OMP)
        return ThreadChoice(_mxnet_default_threads(), f"OMP_NUM_THREADS={omp!r} is ignored "
                            f"(not a positive whole number): MXNet's own default applies",
                            USER_OMP)
    wanted = env.get("GLUONCNN_THREADS", "").strip()
    if wanted and _thread_count(wanted) is not None:
        return ThreadChoice(_thread_count(wanted), "set in the environment", USER_GLUONCNN)
    return None


def _mxnet_default_threads() -> int:
    logical = os.cpu_count() or 1
    return max(1, logical // 2) if platform.machine() in ("x86_64", "AMD64") else logical


def thread_choice() -> ThreadChoice:
    """The thread count MXNet runs (or will run) with, and why: the recorded choice, checked
    against the environment now (the rule for an unknown model is applied if nobody has chosen
    yet)."""
    return configure_threads()


def use_measured_threads(count: int, reason: str, cpu_devices=(0,)) -> ThreadChoice:
    """Apply ``count``, measured by :mod:`gluoncnn.train.calibrate`, unless the user fixed the
    count; returns the choice in force. The workers are started anew (:func:`restart_engine`)
    even when the count is the one recorded, since a ``fork`` since then (a DataLoader's worker
    processes) has given them MXNet's default count."""
    global _choice
    user = user_thread_choice()
    if user is not None:
        _choice = user
        return user
    choice = ThreadChoice(count, reason, MEASURED)
    if not apply_threads(choice, cpu_devices, force=True):
        choice = ThreadChoice(count, reason + "; MXNet's running workers could not be changed "
                                              "on this system (no fork): set OMP_NUM_THREADS "
                                              "before MXNet loads", MEASURED)
    _choice = choice
    return choice


# The CPU devices whose engine workers gluoncnn has set (a worker per cpu(i) in use).
_worker_devices: set[int] = {0}
_worker_counts: dict[int, int] = {}
if hasattr(os, "register_at_fork"):
    # a forked child's engine starts new workers, at MXNet's default count
    os.register_at_fork(after_in_child=_worker_counts.clear)


def apply_threads(choice: ThreadChoice, cpu_devices=(0,), force: bool = False) -> bool:
    """Give MXNet ``choice.count`` OpenMP threads: through ``OMP_NUM_THREADS`` (which MXNet reads
    when it loads, and child processes inherit), and, once MXNet is loaded, on the engine's CPU
    worker of each device in ``cpu_devices`` (and every one set before), after starting new
    workers (:func:`restart_engine`) when the count changes or ``force`` is set. False when the
    running workers could not be changed (no ``fork`` on this system)."""
    os.environ["OMP_NUM_THREADS"] = os.environ[_MARK] = str(choice.count)
    _worker_devices.update(cpu_devices)
    if not _mxnet_imported():
        return True
    if not force and all(_worker_counts.get(d) == choice.count for d in _worker_devices):
        return True
    if not restart_engine():
        return False
    for device in sorted(_worker_devices):
        _set_worker_threads(choice.count, device)
        _worker_counts[device] = choice.count
    return True


def restart_engine() -> bool:
    """Stop MXNet's engine workers and let new ones start, with empty kernel caches; False
    where this system cannot (no ``fork``).

    MXNet keeps the oneDNN kernels it creates in caches local to the worker thread that ran
    them, keyed by shapes but not by thread count, and a kernel created for one thread count
    corrupts memory when run with another (seen here with LeNet: created with 1 thread, run
    with 2). MXNet stops its workers before a ``fork`` and starts new ones after it (its
    pthread_atfork handlers, there for the DataLoader's worker processes); a child that exits
    at once is the cheapest way to ask for that. New workers take MXNet's default count, which
    is why :func:`apply_threads` sets it again after each restart."""
    _worker_counts.clear()
    if not hasattr(os, "fork"):
        return False
    try:
        pid = os.fork()
    except OSError:  # e.g. no memory for the page tables
        return False
    if pid == 0:
        os._exit(0)
    os.waitpid(pid, 0)
    return True


def worker_threads(device: int = 0) -> int | None:
    """The OpenMP thread count the engine's worker for ``cpu(device)`` runs with, read on the
    worker itself; None when MXNet is not loaded or its OpenMP library cannot be found."""
    if not _mxnet_imported():
        return None
    import ctypes
    for name in ("libgomp.so.1", "libiomp5.so", "libomp.so"):
        try:
            openmp = ctypes.CDLL(name, mode=getattr(os, "RTLD_NOLOAD", 0))
            break
        except OSError:
            continue
    else:
        return None
    seen = []
    _on_worker(lambda: seen.append(openmp.omp_get_max_threads()), device, "read_threads")
    return seen[0] if seen else None


def _set_worker_threads(count: int, device: int) -> None:
    """Run ``MXSetNumOMPThreads(count)`` on the engine's worker for ``cpu(device)`` (and on this
    thread, for the NaiveEngine): the only way to change a started worker's count (see the
    module's docstring)."""
    from mxnet.base import _LIB, check_call
    check_call(_LIB.MXSetNumOMPThreads(count))
    _on_worker(lambda: _LIB.MXSetNumOMPThreads(count), device, "set_threads")


def _on_worker(function, device: int, name: str) -> None:
    """Run ``function()`` on MXNet's engine worker for ``cpu(device)`` (the C API's
    ``MXEnginePushSync``) and wait until it has run."""
    import ctypes

    import mxnet as mx
    from mxnet.base import _LIB, check_call

    class EngineContext(ctypes.Structure):  # mxnet::Context: DeviceType (kCPU = 1), dev_id
        _fields_ = [("dev_type", ctypes.c_int), ("dev_id", ctypes.c_int)]

    sync_func = ctypes.CFUNCTYPE(None, ctypes.c_void_p, ctypes.c_void_p)
    callback = sync_func(lambda _run_context, _param: function())
    context = EngineContext(1, device)
    check_call(_LIB.MXEnginePushSync(callback, None, None, ctypes.byref(context), None, 0,
                                     None, 0, None, 0, f"gluoncnn_{name}".encode()))
    mx.nd.waitall()  # the callback must have run before it is freed


# --------------------------------------------------------------------------------------------
# AMX
# --------------------------------------------------------------------------------------------
ISA_VARIABLE = "DNNL_MAX_CPU_ISA"
ISA_VARIABLES = (ISA_VARIABLE, "MKLDNN_MAX_CPU_ISA")  # oneDNN reads either
AMX_ISA = "AVX512_CORE_AMX"
SYS_ARCH_PRCTL = 158  # x86_64 Linux
ARCH_REQ_XCOMP_PERM = 0x1023
XFEATURE_XTILEDATA = 18


@dataclass(frozen=True)
class AmxState:
    """Whether oneDNN may use AMX in this process (``on``) and why (one sentence)."""
    on: bool
    reason: str

    def __str__(self) -> str:
        return f"{'on' if self.on else 'off'} ({self.reason})"


_amx: AmxState | None = None
# Marks DNNL_MAX_CPU_ISA as gluoncnn's own setting (a child process inherits both).
_AMX_MARK = "_GLUONCNN_DNNL_MAX_CPU_ISA"


def request_amx_permission(syscall=None) -> str | None:
    """Ask Linux for the AMX tile registers (``arch_prctl(ARCH_REQ_XCOMP_PERM,
    XFEATURE_XTILEDATA)``): None when granted, else why not. ``syscall`` is libc's (injected in
    tests)."""
    import ctypes
    if syscall is None:
        try:
            syscall = ctypes.CDLL(None, use_errno=True).syscall
        except (OSError, AttributeError) as error:
            return f"no libc syscall() here ({error})"
    if syscall(SYS_ARCH_PRCTL, ARCH_REQ_XCOMP_PERM, XFEATURE_XTILEDATA) == 0:
        return None
    errno = ctypes.get_errno()
    return f"Linux refused the AMX tiles ({os.strerror(errno) if errno else 'unknown error'})"


def enable_amx(syscall=None) -> AmxState:
    """Let oneDNN use AMX where the processor has it: ask Linux for the tiles, then set
    ``DNNL_MAX_CPU_ISA=AVX512_CORE_AMX``, which oneDNN reads when it creates its primitives (see
    the module's docstring). Harmless elsewhere: on a processor without ``amx_bf16``, with the
    user's own ``DNNL_MAX_CPU_ISA``, or with ``GLUONCNN_AMX=0`` it sets nothing. Called by
    ``import gluoncnn``. Returns (and records, for :func:`amx_state`) the :class:`AmxState`."""
    global _amx
    _amx = _amx_decision(syscall)
    if _amx.on and not _user_isa():
        os.environ[ISA_VARIABLE] = os.environ[_AMX_MARK] = AMX_ISA
        if _mxnet_imported():
            _amx = AmxState(True, _amx.reason + "; set after MXNet was imported, so in effect "
                                                "only for oneDNN kernels created from now on")
    return _amx


def _user_isa() -> str | None:
    """``NAME=VALUE`` of an ISA variable the user set (not gluoncnn), or None."""
    for name in ISA_VARIABLES:
        value = os.environ.get(name)
        if value and not (name == ISA_VARIABLE and value == os.environ.get(_AMX_MARK)):
            return f"{name}={value}"
    return None


def _amx_decision(syscall) -> AmxState:
    if "amx_bf16" not in cpu_flags() or platform.system() != "Linux" \
            or platform.machine() not in ("x86_64", "AMD64"):
        return AmxState(False, "this processor has no AMX (amx_bf16)")
    if os.environ.get("GLUONCNN_AMX", "").strip() == "0":
        if os.environ.get(ISA_VARIABLE) == os.environ.get(_AMX_MARK):  # inherited: take it back
            os.environ.pop(ISA_VARIABLE, None)
            os.environ.pop(_AMX_MARK, None)
        return AmxState(False, "turned off by GLUONCNN_AMX=0")
    user = _user_isa()
    if user:
        wants_amx = "AMX" in user.upper() or user.upper().endswith("=ALL")
        refused = request_amx_permission(syscall) if wants_amx else None
        if refused:
            return AmxState(False, f"{user} set by the user, but {refused}: oneDNN will fail "
                                   f"on AMX; unset it")
        return AmxState(wants_amx, f"{user} set by the user" + (
            " (gluoncnn asked Linux for the tiles)" if wants_amx else ""))
    refused = request_amx_permission(syscall)
    if refused:
        os.environ.pop(ISA_VARIABLE, None)  # an inherited setting would die on AMX here
        os.environ.pop(_AMX_MARK, None)
        return AmxState(False, f"{refused}; oneDNN stays on AVX-512")
    return AmxState(True, f"amx_bf16 processor: tiles granted by Linux, oneDNN told "
                          f"{ISA_VARIABLE}={AMX_ISA}")


def amx_state() -> AmxState:
    """Whether oneDNN may use AMX in this process, and why."""
    return _amx if _amx is not None else enable_amx()


# --------------------------------------------------------------------------------------------
# What fit measured (gluoncnn.train.calibrate), cached per machine
# --------------------------------------------------------------------------------------------
SPEED_CACHE = "speed.json"
_speed_memory: dict = {}  # this process's entries, kept where the folder cannot be written
_speed_cache_warned = False


def measuring_enabled() -> bool:
    """Whether ``fit`` measures threads and precision per net: ``GLUONCNN_MEASURE=1`` or ``0``
    says so; unset, yes, except in quick mode (``GLUONCNN_QUICK``: CI's smoke runs, where a
    second per net would be most of the run)."""
    said = os.environ.get("GLUONCNN_MEASURE", "").strip()
    if said in ("0", "1"):
        return said == "1"
    from .utils import env_flag
    return not env_flag("GLUONCNN_QUICK")  # the runner sets it to 0 for the other presets


def cache_dir() -> str:
    """gluoncnn's cache folder: ``$GLUONCNN_CACHE_DIR``, else ``$XDG_CACHE_HOME/gluoncnn``,
    else ``~/.cache/gluoncnn``."""
    env = os.environ.get("GLUONCNN_CACHE_DIR", "").strip()
    if env:
        return os.path.expanduser(env)
    base = os.environ.get("XDG_CACHE_HOME", "").strip() or os.path.join("~", ".cache")
    return os.path.join(os.path.expanduser(base), "gluoncnn")


def speed_cache_path() -> str:
    """The file of the thread counts and precisions ``fit`` measured on this machine."""
    return os.path.join(cache_dir(), SPEED_CACHE)


def read_speed_cache() -> dict:
    """The measured choices by key ({} when there are none, or the file is unreadable)."""
    entries = dict(_speed_memory)
    try:
        with open(speed_cache_path()) as f:
            saved = json.load(f)
        if isinstance(saved, dict):
            entries.update({k: v for k, v in saved.items() if isinstance(v, dict)})
    except (OSError, ValueError):
        pass
    return entries


def write_speed_cache(key: str, entry: dict) -> None:
    """Add ``entry`` under ``key``; a cache that cannot be written is kept in memory for this
    process, with one warning (measuring again next time is the only cost)."""
    global _speed_cache_warned
    from .utils import atomic_write_text
    entry = dict(entry, cpu=cpu_name(), when=time.strftime("%Y-%m-%dT%H:%M:%S"))
    _speed_memory[key] = entry
    entries = read_speed_cache()
    try:
        os.makedirs(cache_dir(), exist_ok=True)
        atomic_write_text(speed_cache_path(), json.dumps(entries, indent=1, sort_keys=True))
    except OSError as error:
        if not _speed_cache_warned:
            warnings.warn(f"gluoncnn could not save what it measured in {speed_cache_path()} "
                          f"({error.strerror or error}); it will measure again in the next "
                          f"process (set GLUONCNN_CACHE_DIR to a writable folder)",
                          RuntimeWarning, stacklevel=3)
        _speed_cache_warned = True


def clear_speed_cache() -> int:
    """Forget every measured choice; returns how many there were."""
    count = len(read_speed_cache())
    _speed_memory.clear()
    try:
        os.remove(speed_cache_path())
    except FileNotFoundError:
        pass
    return count


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
    cuda = cuda_libs.missing_library_message(error)
    if cuda:
        return cuda
    return (f"import mxnet failed ({type(error).__name__}: {first_line(error)}): "
            + INSTALL_HINT)


def import_mxnet() -> ModuleType:
    """``mxnet``, imported after :func:`configure_threads` (so the thread choice is in place) and,
    on the GPU build, after the CUDA libraries of NVIDIA's wheels are loaded
    (:func:`gluoncnn.cuda_libs.preload`); :class:`~gluoncnn.errors.MXNetUnavailableError` with
    the fix when it cannot be imported."""
    loaded_before = _mxnet_imported()
    if not loaded_before:
        thread_choice()
        cuda_libs.preload()
    try:
        import mxnet
    except Exception as error:  # ImportError, OSError (a missing .so), AttributeError (numpy)
        raise MXNetUnavailableError(mxnet_unavailable_message(error)) from error
    if not loaded_before and _thread_count(os.environ.get("OMP_NUM_THREADS", "")):
        # MXNet read it when it loaded: its workers start with this count
        _worker_counts.update({0: _thread_count(os.environ["OMP_NUM_THREADS"])})
    return mxnet
