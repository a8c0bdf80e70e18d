"""``gluoncnn doctor``: check what most often breaks an MXNet install, and say how to fix it.

Besides the install (Python, numpy, MXNet and its build, GPUs, datasets, plotting) it shows the
choices gluoncnn makes for speed on this machine: the processor, whether it computes bfloat16
natively (and so what ``amp='auto'`` picks), and MXNet's thread count with the reason.

:func:`checks` returns the checks as data, :func:`run_doctor` prints them and returns the exit
code (0 when no check fails; warnings do not count). MXNet is imported inside a ``try``, so the
doctor still runs, and says why, when ``import mxnet`` itself fails.
"""
from __future__ import annotations

import importlib
import importlib.metadata
import io
import os
import platform
import re
import sys
from collections import namedtuple
from types import ModuleType
from typing import TextIO

from . import cuda_libs, runtime
from .runtime import MXNET_VERSION, NUMPY_LIMIT, cpu_name
from .utils import first_line

Check = namedtuple("Check", "name verdict detail fix")
Check.__doc__ = """A check: ``verdict`` is 'ok', 'warn' or 'fail'; ``fix`` is '' if all is well."""

PIP_CPU = f"{runtime.install_extra('cpu')} (mxnet=={MXNET_VERSION}, numpy<1.24)"
PIP_GPU = (f"{runtime.install_extra('gpu')} (mxnet-cu112=={MXNET_VERSION} and the CUDA 11 "
           f"libraries as wheels)")
GPU_HINT = f"CPU build: for a GPU, {PIP_GPU}, needs only the NVIDIA driver"
FEATURES = (("MKLDNN", "oneDNN (MKLDNN)"), ("CUDA", "CUDA"), ("CUDNN", "cuDNN"),
            ("OPENMP", "OpenMP"), ("DIST_KVSTORE", "distributed kvstore"))


def _check_python() -> Check:
    version = platform.python_version()
    info = sys.version_info[:2]
    if info < (3, 8):
        return Check("Python", "fail", version,
                     "use Python 3.8-3.11 (the course is tested on 3.11)")
    if info >= (3, 12):
        return Check("Python", "fail", f"{version}: numpy < 1.24, which MXNet 1.9.1 needs, has "
                     "no wheels for Python 3.12+",
                     "make a venv with Python 3.11: python3.11 -m venv .venv")
    return Check("Python", "ok", f"{version} ({sys.executable})", "")


def _check_numpy() -> Check:
    try:
        import numpy
    except ImportError as error:
        return Check("numpy", "fail", f"not importable: {error}", PIP_CPU)
    version = numpy.__version__
    if runtime.version_tuple(version) >= NUMPY_LIMIT:
        return Check("numpy", "fail",
                     f"{version}: MXNet 1.9.1 uses np.bool, which numpy 1.24 removed, so "
                     "`import mxnet` fails with AttributeError",
                     "pip install 'numpy<1.24' (requirements.txt pins numpy==1.23.5)")
    return Check("numpy", "ok", f"{version} (< 1.24, as MXNet 1.9.1 needs: it uses np.bool)", "")


def _import_fix(error: BaseException) -> str:
    text = str(error)
    if "np.bool" in text or "has no attribute 'bool'" in text:
        return "pip install 'numpy<1.24' (MXNet 1.9.1 uses np.bool, removed in numpy 1.24)"
    for lib, package in (("libgomp", "libgomp1"), ("libquadmath", "libquadmath0"),
                         ("libgfortran", "libgfortran5")):
        if lib in text:
            return (f"install the system library: sudo apt-get install {package} (Debian/Ubuntu;"
                    f" {lib} is the GCC runtime MXNet's wheel links against)")
    cuda = cuda_libs.missing_library_message(error)
    if cuda:
        return cuda
    if isinstance(error, ModuleNotFoundError):
        return f"{PIP_CPU}; GPU: {PIP_GPU}"
    return "reinstall: " + PIP_CPU


def _import_mxnet() -> tuple[ModuleType | None, Check]:
    """``(mxnet module or None, Check)``."""
    try:
        mx = importlib.import_module("mxnet")
    except Exception as error:  # ImportError, OSError (missing .so), AttributeError (numpy)
        return None, Check("MXNet", "fail", f"import mxnet failed: {type(error).__name__}: "
                                            f"{first_line(error)}", _import_fix(error))
    version = getattr(mx, "__version__", "?")
    if version != MXNET_VERSION:
        return mx, Check("MXNet", "warn", f"{version} at {os.path.dirname(mx.__file__)}; the "
                                          f"course is tested with {MXNET_VERSION}", PIP_CPU)
    return mx, Check("MXNet", "ok", f"{version} at {os.path.dirname(mx.__file__)}", "")


def _check_features(mx: ModuleType) -> Check:
    try:
        features = mx.runtime.Features()
    except Exception as error:
        return Check("MXNet build", "warn", f"cannot read build features: {error}", "")
    flags = ", ".join(f"{label} {'yes' if features.is_enabled(key) else 'no'}"
                      for key, label in FEATURES)
    cuda = features.is_enabled("CUDA")
    if not features.is_enabled("MKLDNN") and not cuda:
        return Check("MXNet build", "warn", flags + ": a CPU build without oneDNN is several "
                     "times slower", "pip install mxnet==1.9.1 (the PyPI CPU wheel has oneDNN)")
    if not features.is_enabled("OPENMP"):
        return Check("MXNet build", "warn", flags + ": without OpenMP operators use one core",
                     "pip install mxnet==1.9.1")
    return Check("MXNet build", "ok", flags, "")


def _check_gpu(mx: ModuleType) -> Check:
    try:
        cuda = mx.runtime.Features().is_enabled("CUDA")
        count = mx.context.num_gpus()
    except Exception as error:
        return Check("GPU", "fail", f"cannot query GPUs: {type(error).__name__}: {error}",
                     "check the NVIDIA driver (nvidia-smi) and CUDA 11.2 + cuDNN 8 libraries")
    if not cuda:
        return Check("GPU", "ok", f"{count} GPUs; {GPU_HINT}", "")
    if count == 0:
        return Check("GPU", "warn", "CUDA build but 0 GPUs visible: training runs on the CPU",
                     "check nvidia-smi and CUDA_VISIBLE_DEVICES, or install the CPU build: "
                     + PIP_CPU)
    try:
        mx.nd.zeros(1, ctx=mx.gpu(0)).asnumpy()
    except Exception as error:
        return Check("GPU", "fail", f"{count} GPUs, but computing on gpu(0) failed: "
                                    f"{first_line(error)}",
                     "mxnet-cu112 needs the CUDA 11 libraries and cuDNN 8 (the CUDA checks above;"
                     " pip install -r requirements-gpu.txt) and a driver for CUDA 11 or newer")
    return Check("GPU", "ok", f"{count} GPUs; CUDA works on gpu(0)", "")


def _check_cuda() -> list[Check]:
    """The GPU build only: the NVIDIA driver, and each CUDA library MXNet needs with where it was
    loaded from (:mod:`gluoncnn.cuda_libs`), before MXNet is imported."""
    if not cuda_libs.gpu_build_installed():
        return []
    results = [_check_driver(cuda_libs.driver_status())]
    for entry in cuda_libs.preload():
        if entry.source == cuda_libs.MISSING:
            results.append(Check(entry.library.soname, "fail", str(entry),
                                 cuda_libs.fix_for(entry)))
            continue
        wheel = ""
        if entry.source == cuda_libs.WHEEL:
            try:
                wheel = f", {entry.library.wheel} {importlib.metadata.version(entry.library.wheel)}"
            except importlib.metadata.PackageNotFoundError:
                wheel = f", {entry.library.wheel}"
        results.append(Check(entry.library.soname, "ok",
                             f"{entry.path} ({entry.source}{wheel})", ""))
    return results


DRIVER_FIX = cuda_libs.DRIVER_ADVICE + "; on a machine without a GPU use the CPU build: " + PIP_CPU


def _check_driver(status: cuda_libs.DriverStatus) -> Check:
    name = "NVIDIA driver"
    module = (f"kernel module {status.kernel_module}" if status.kernel_module else
              f"no NVIDIA kernel module loaded ({cuda_libs.KERNEL_MODULE_VERSION} absent)")
    if status.path is None:
        return Check(name, "fail", f"missing: {cuda_libs.DRIVER}, the driver's CUDA library, is "
                                   f"not on this machine; {module}", DRIVER_FIX)
    if status.version_error == "CUDA_ERROR_STUB_LIBRARY":
        return Check(name, "fail", f"missing: {status.path} is the CUDA toolkit's stub "
                                   f"library, not a driver", "take its folder (…/stubs) out of "
                                   "LD_LIBRARY_PATH, and " + DRIVER_FIX)
    if status.version_error:
        return Check(name, "fail", f"missing: {status.path} is no working driver "
                                   f"(cuDriverGetVersion: {status.version_error}); {module}",
                     DRIVER_FIX)
    version = f"{status.kernel_module} (CUDA {status.cuda})" if status.kernel_module else \
        f"CUDA {status.cuda}"
    found = f"{version} at {status.path}"
    if status.cuda_version < cuda_libs.MIN_DRIVER_CUDA:
        return Check(name, "fail", f"{found}: too old, the CUDA 11 build needs a driver for "
                                   f"CUDA 11.0 or newer", DRIVER_FIX)
    if status.init_error:
        return Check(name, "warn", f"{found}, but cuInit says {status.init_error}: no GPU is "
                                   f"usable", "check nvidia-smi and CUDA_VISIBLE_DEVICES")
    return Check(name, "ok", found, "")


def _check_cpu() -> Check:
    flags = runtime.cpu_flags()
    vector = next((label for flag, label in (("avx512f", "AVX-512"), ("avx2", "AVX2"),
                                             ("avx", "AVX"), ("asimd", "NEON")) if flag in flags),
                  "no AVX")
    logical = len(runtime.usable_cpus())
    cores = f"{runtime.physical_cores()} physical cores ({logical} logical)"
    return Check("CPU", "ok", f"{cpu_name()}, {cores}, {vector}; {precision_rule()}, float16 "
                              f"on a GPU", "")


def precision_rule() -> str:
    """What ``amp='auto'`` does on this CPU, in a few words."""
    if runtime.cpu_has_native_bf16():
        return ("native bfloat16 (AVX512_BF16/AMX): amp='auto' measures each net and trains in "
                "bfloat16 where that is faster on the CPU")
    return "no native bfloat16 (needs AVX512_BF16 or AMX): amp='auto' stays float32 on the CPU"


def _check_amx() -> Check:
    state = runtime.amx_state()
    if not state.on and "refused" in state.reason:
        return Check("AMX", "warn", f"off: {state.reason}",
                     "a Linux kernel 5.16 or newer grants the tiles; bfloat16 runs on "
                     "AVX512_BF16 meanwhile")
    return Check("AMX", "ok", f"{'on' if state.on else 'off'}: {state.reason}", "")


def _check_threads() -> Check:
    choice = runtime.thread_choice()
    cores = runtime.physical_cores()
    detail = f"{choice.count} OpenMP thread(s) for MXNet, {choice.source}: {choice.reason}"
    if "is ignored" in choice.reason:
        return Check("threads", "warn", detail, f"set it to a whole number such as {cores}, "
                                                f"or unset it")
    if choice.count > len(runtime.usable_cpus()):
        return Check("threads", "warn", detail + f": more threads than this process has "
                     f"processors ({len(runtime.usable_cpus())}), so they wait for each other",
                     f"set OMP_NUM_THREADS={cores}")
    return Check("threads", "ok", detail, "")


def _check_measured() -> Check:
    """What fit measured on this machine (threads and precision per net), from the cache."""
    entries = runtime.read_speed_cache()
    path = runtime.speed_cache_path()
    if not entries:
        return Check("measured", "ok", f"nothing yet: fit measures each net's fastest threads "
                                       f"and precision on its first run and keeps them in {path}",
                     "")
    measured = {k: e for k, e in entries.items()
                if not k.startswith(("bfloat16-runs:", "eval:"))}
    lines = sorted({f"{e.get('net', '?')} batch {e.get('batch', ['?'])[0]}: "
                    f"{e.get('threads')} thread(s), {e.get('dtype') or 'float32'}"
                    for e in measured.values()})
    crashed = sum(1 for k, e in entries.items()
                  if k.startswith("bfloat16-runs:") and not e.get("runs"))
    evaluated = sorted({f"{e.get('net', '?')} batch {e.get('batch', ['?'])[0]}"
                        for k, e in entries.items() if k.startswith("eval:") and e.get("dtype")})
    if evaluated:
        lines.append("evaluated in bfloat16 (faster here, training float32): "
                     + ", ".join(evaluated))
    if crashed:
        lines.append(f"{crashed} net(s) whose bfloat16 training crashes MXNet here "
                     "(amp='bfloat16' refused, amp='auto' keeps float32)")
    return Check("measured", "ok", f"{len(measured)} net(s) measured on this machine ({path}; "
                                   f"'gluoncnn doctor --clear-cache' forgets them): "
                                   + "; ".join(lines), "")


def _check_plotting() -> Check:
    """Draw and save the training-curve figure gluoncnn draws (Agg canvas, PNG)."""
    try:
        import matplotlib

        from .progress import plot_history
        fig = plot_history([{"epoch": 1, "loss": 1.0, "train_acc": 0.5, "test_acc": 0.5},
                            {"epoch": 2, "loss": 0.5, "train_acc": 0.7, "test_acc": 0.6}])
        fig.savefig(io.BytesIO(), format="png")
    except Exception as error:
        return Check("plotting", "warn", f"training curves cannot be drawn: "
                     f"{type(error).__name__}: {first_line(error)}; training itself works",
                     "pip install matplotlib==3.7.2 (requirements.txt)")
    return Check("plotting", "ok", f"matplotlib {matplotlib.__version__}: training curves draw "
                                   f"and save as PNG (Agg, no display needed)", "")


def _check_data() -> list[Check]:
    try:
        from gluoncnn import data
    except Exception as error:
        return [Check("datasets", "warn", f"not checked: gluoncnn.data does not import "
                                          f"({type(error).__name__}: {error})",
                      "fix the MXNet checks above first")]
    results = []
    env = os.environ.get("GLUONCNN_DATA", "").strip()
    root, how = data.resolve_data_root("fashion-mnist")
    if env and not os.path.isdir(os.path.expanduser(env)):
        results.append(Check("data root", "fail", f"GLUONCNN_DATA={env} is not a folder",
                             "set GLUONCNN_DATA to a folder holding fashion-mnist/, mnist/, ... "
                             "(e.g. the course's shared/data), or unset it"))
    else:
        results.append(Check("data root", "ok", f"{root.parent} (chosen by {how})", ""))
    for status in data.dataset_status():
        title = status.title
        if status.state == "verified":
            results.append(Check(title, "ok", f"verified, {'; '.join(status.releases)}, in "
                                              f"{status.folder}", ""))
            continue
        fix = (f"put the files in {status.folder} (or set GLUONCNN_DATA), or load it once online "
               f"with download=True")
        if status.state == "missing":
            extra = "; sample=True still works" if data.DATASETS[status.name].sample else ""
            results.append(Check(title, "warn", f"not found in {status.folder}{extra}", fix))
        elif status.state == "partial":
            missing = [f.file for f in status.files if f.state == "missing"]
            results.append(Check(title, "warn", f"verified ({'; '.join(status.releases)}) but "
                                                f"missing {', '.join(missing)} in {status.folder}",
                                 fix))
        else:
            bad = [f"{f.file}: {f.problem}" for f in status.files if f.problem]
            bad += [f"{f.file}: {p}" for f, p in _mixed(data, status)]
            results.append(Check(title, "fail", f"in {status.folder}: " + "; ".join(bad),
                                 "replace the files listed with the official ones (sha1s in "
                                 "gluoncnn.data.DATASETS[name].known_files)"))
    for spec in data.DATASETS.values():
        if spec.sample is None:
            continue
        sample = data.folder_status(spec.name, spec.sample)
        if sample.state == "verified":
            results.append(Check("shipped sample", "ok", f"{spec.title} subset verified in "
                                                         f"{sample.folder}", ""))
        else:
            results.append(Check("shipped sample", "fail", f"{spec.title}: {sample.state} in "
                                 f"{sample.folder}", "reinstall gluoncnn (pip install -e .)"))
    return results


def _mixed(data, status):
    problems = data.mixed_releases(status.files)
    return [(f, problems[f.file]) for f in status.files if f.file in problems]


def checks() -> list[Check]:
    """Run every check; a list of :class:`Check` ``(name, verdict, detail, fix)``."""
    results = [_check_python(), _check_numpy(), _check_cpu(), _check_amx(), _check_threads(),
               _check_measured(), *_check_cuda()]
    mx, mx_check = _import_mxnet()
    results.append(mx_check)
    if mx is not None:
        results += [_check_features(mx), _check_gpu(mx)]
    return results + _check_data() + [_check_plotting()]


def short_paths(text: str) -> str:
    """``text`` with this machine's folders named, not spelled out: the data folders of
    ``GLUONCNN_DATA``/``MXNET_HOME`` by their variable, the Python environment as ``<python>``,
    the home folder as ``~`` (for output saved in a notebook that others read)."""
    folders = [(os.environ.get(v, ""), f"${v}") for v in ("GLUONCNN_DATA", "MXNET_HOME")]
    folders += [(sys.prefix, "<python>"), (os.path.expanduser("~"), "~")]
    for folder, name in folders:
        folder = folder.rstrip(os.sep)
        if folder and folder != "~":
            text = re.sub(re.escape(folder) + r"(?=[/\s);,]|$)", name.replace("\\", r"\\"),
                          text, flags=re.M)
    return text


def run_doctor(file: TextIO = sys.stdout, clear_cache: bool = False,
               paths: bool = True) -> int:
    """Print every check with its verdict and fix; return 0 if none failed, else 1.
    ``clear_cache`` first forgets what fit measured on this machine; ``paths=False`` names the
    Python environment and the home folder instead of spelling them out (:func:`short_paths`,
    for a chapter's saved output)."""
    if not paths:
        buffer = io.StringIO()
        code = run_doctor(buffer, clear_cache)
        print(short_paths(buffer.getvalue()), end="", file=file)
        return code
    if clear_cache:
        count = runtime.clear_speed_cache()
        print(f"forgot {count} measured net(s) ({runtime.speed_cache_path()})", file=file)
    results = checks()
    width = max(len(c.name) for c in results)
    print("gluoncnn doctor", file=file)
    for check in results:
        print(f"  {check.verdict.upper():4}  {check.name:{width}}  {check.detail}", file=file)
        if check.fix and check.verdict != "ok":
            print(f"  {'':4}  {'':{width}}  fix: {check.fix}", file=file)
    failed = [c.name for c in results if c.verdict == "fail"]
    warned = [c.name for c in results if c.verdict == "warn"]
    summary = (f"{len(failed)} check(s) failed: {', '.join(failed)}" if failed else
               "nothing is broken" + (f" ({len(warned)} warning(s))" if warned else ""))
    print(summary, file=file)
    return 1 if failed else 0


if __name__ == "__main__":
    sys.exit(run_doctor())
