"""The CUDA 11 libraries of the GPU build of MXNet, loaded from NVIDIA's wheels before MXNet.

``libmxnet.so`` of ``mxnet-cu112`` 1.9.1 needs (``readelf -d``): ``libcudart.so.11.0``,
``libcublas.so.11``, ``libcufft.so.10``, ``libcurand.so.10``, ``libcusolver.so.11``,
``libnvrtc.so.11.2``, ``libnvToolsExt.so.1``, ``libnccl.so.2``, ``libcudnn.so.8`` and the
driver's ``libcuda.so.1``. Every one but the driver is published as a wheel (``nvidia-*-cu11``,
pinned in ``requirements-gpu.txt`` and the ``[gpu]`` extra), which puts it in
``site-packages/nvidia/<folder>/lib``, where the dynamic loader never looks. So, as PyTorch does
for its own CUDA wheels (``torch/__init__.py``, ``_load_global_deps`` / ``_preload_cuda_deps``),
:func:`preload` loads each of them with ``RTLD_GLOBAL`` in :data:`CUDA_LIBRARIES`'s dependency
order before MXNet is imported: the loader then resolves ``libmxnet.so``'s entries with the
libraries already in the process (it matches them by soname).

A system install wins: each library is first asked of the system loader by its soname
(``LD_LIBRARY_PATH``, ``ld.so.cache``, ``/usr/lib``, or one already loaded), and the wheel's file
is loaded only when it finds none. Their own dependencies need nothing more: ``libcublas``,
``libcusolver``, ``libcudnn`` (whose ``libcudnn_cnn_infer.so.8`` and the like it opens at its
first convolution) and ``libnvrtc`` find theirs through their RUNPATH (``$ORIGIN``,
``$ORIGIN/../../cublas/lib``); ``libcublasLt`` is still loaded before ``libcublas``.

The CPU build (``mxnet``) needs none of this: there :func:`preload` returns at once. Only the
driver (``libcuda.so.1``) must come from the machine; :func:`driver_status` says whether it is
there and which CUDA version it runs (a CUDA 12 driver runs this CUDA 11 build).
"""
from __future__ import annotations

import ctypes
import functools
import importlib.metadata
import os
import sys
from collections.abc import Callable, Iterable
from dataclasses import dataclass
from pathlib import Path

GPU_DISTRIBUTION = "mxnet-cu112"
DRIVER = "libcuda.so.1"
GPU_REQUIREMENTS = "pip install -r requirements-gpu.txt (or '.[gpu]')"
# CUDA 11's minor-version compatibility: a driver of 450.80.02 or later runs every CUDA 11.x
# runtime, and newer drivers run older CUDA (a CUDA 12 driver runs this build).
DRIVER_ADVICE = ("install the NVIDIA driver (any for CUDA 11 or newer: 450.80.02 or later; "
                 "nvidia-smi shows it)")


@dataclass(frozen=True)
class CudaLibrary:
    """A library ``libmxnet.so`` needs: its ``soname``, the ``wheel`` that ships it and the
    ``folder`` of ``site-packages/nvidia/`` the wheel puts it in."""
    soname: str
    wheel: str
    folder: str

    @property
    def stem(self) -> str:
        """``'libcudnn.so'`` for ``libcudnn.so.8``: what every major version's file starts with."""
        return self.soname.split(".so")[0] + ".so"


# Dependency order: libcublasLt before libcublas, cuBLAS before cuSOLVER and cuDNN.
CUDA_LIBRARIES = (
    CudaLibrary("libcudart.so.11.0", "nvidia-cuda-runtime-cu11", "cuda_runtime"),
    CudaLibrary("libcublasLt.so.11", "nvidia-cublas-cu11", "cublas"),
    CudaLibrary("libcublas.so.11", "nvidia-cublas-cu11", "cublas"),
    CudaLibrary("libcufft.so.10", "nvidia-cufft-cu11", "cufft"),
    CudaLibrary("libcurand.so.10", "nvidia-curand-cu11", "curand"),
    CudaLibrary("libcusolver.so.11", "nvidia-cusolver-cu11", "cusolver"),
    CudaLibrary("libnvrtc.so.11.2", "nvidia-cuda-nvrtc-cu11", "cuda_nvrtc"),
    CudaLibrary("libnvToolsExt.so.1", "nvidia-nvtx-cu11", "nvtx"),
    CudaLibrary("libnccl.so.2", "nvidia-nccl-cu11", "nccl"),
    CudaLibrary("libcudnn.so.8", "nvidia-cudnn-cu11", "cudnn"),
)

SYSTEM = "system"  # found by the system loader (or already in the process)
WHEEL = "wheel"
MISSING = "missing"


@dataclass(frozen=True)
class LoadedLibrary:
    """Where one of :data:`CUDA_LIBRARIES` came from: ``source`` is :data:`SYSTEM`,
    :data:`WHEEL` or :data:`MISSING`; ``path`` the file loaded (None when missing);
    ``other_versions`` the files of another major version found instead (``libcudnn.so.9``)."""
    library: CudaLibrary
    source: str
    path: str | None = None
    other_versions: tuple[str, ...] = ()
    error: str = ""

    def __str__(self) -> str:
        if self.source == MISSING and self.error:
            return f"{self.library.soname} does not load: {self.error}"
        if self.source == MISSING:
            found = (f"; found only {', '.join(self.other_versions)}, another major version"
                     if self.other_versions else "")
            return (f"{self.library.soname} not found by the system loader nor in "
                    f"{self.library.wheel}'s folder{found}")
        return f"{self.library.soname} from {self.path} ({self.source})"


# --------------------------------------------------------------------------------------------
# Loading
# --------------------------------------------------------------------------------------------
class _LinkMap(ctypes.Structure):
    # The head of glibc's struct link_map (<link.h>): the load address, then the file's path.
    _fields_ = [("l_addr", ctypes.c_void_p), ("l_name", ctypes.c_char_p)]


_RTLD_DI_LINKMAP = 2


@functools.cache
def _dlinfo():
    try:
        return ctypes.CDLL(None).dlinfo  # in libc since glibc 2.34
    except AttributeError:
        return ctypes.CDLL("libdl.so.2").dlinfo


def loaded_path(library: ctypes.CDLL) -> str:
    """The file the dynamic loader opened for ``library`` (``dlinfo(RTLD_DI_LINKMAP)``), which a
    soname alone does not say."""
    link_map = ctypes.POINTER(_LinkMap)()
    if _dlinfo()(ctypes.c_void_p(library._handle), _RTLD_DI_LINKMAP, ctypes.byref(link_map)) != 0:
        return library._name
    return os.fsdecode(link_map.contents.l_name) or library._name


def dlopen_global(name: str) -> str:
    """Load ``name`` (a soname, searched as the system loader does, or a path) for the whole
    process (``RTLD_GLOBAL``); its path. OSError when it, or a library it needs, is missing."""
    return loaded_path(ctypes.CDLL(name, mode=ctypes.RTLD_GLOBAL))


@functools.cache
def gpu_build_installed() -> bool:
    """True when the CUDA build of MXNet (``mxnet-cu112``) is installed."""
    try:
        importlib.metadata.distribution(GPU_DISTRIBUTION)
    except importlib.metadata.PackageNotFoundError:
        return False
    return True


def wheel_folder(library: CudaLibrary, search_paths: Iterable[str] | None = None) -> Path | None:
    """``<site-packages>/nvidia/<folder>/lib`` of the first entry of ``search_paths``
    (``sys.path``) whose folder holds ``library``, else the first that has the folder (for what
    it holds instead); None when no wheel put it anywhere."""
    folders = [Path(entry or ".") / "nvidia" / library.folder / "lib"
               for entry in (sys.path if search_paths is None else search_paths)]
    folders = [folder for folder in folders if folder.is_dir()]
    return next((f for f in folders if (f / library.soname).is_file()), next(iter(folders), None))


def _other_versions(library: CudaLibrary, folder: Path | None) -> tuple[str, ...]:
    if folder is None:
        return ()
    return tuple(sorted(p.name for p in folder.glob(library.stem + ".*")
                        if p.name != library.soname and p.name.count(".") == 2))


def load_libraries(search_paths: Iterable[str] | None = None,
                   load: Callable[[str], str] = dlopen_global) -> tuple[LoadedLibrary, ...]:
    """Load every one of :data:`CUDA_LIBRARIES` in order, each from the system loader if it
    finds it, else from its wheel's folder in ``search_paths`` (``sys.path``); ``load(name)``
    returns the path it loaded or raises OSError. What came from where, in order."""
    search_paths = list(sys.path if search_paths is None else search_paths)
    report = []
    for library in CUDA_LIBRARIES:
        try:
            report.append(LoadedLibrary(library, SYSTEM, load(library.soname)))
            continue
        except OSError:
            pass
        folder = wheel_folder(library, search_paths)
        candidate = folder / library.soname if folder is not None else None
        error = ""
        if candidate is not None and candidate.is_file():
            try:
                report.append(LoadedLibrary(library, WHEEL, load(str(candidate))))
                continue
            except OSError as failure:  # a file that is not a library, or lacks one it needs
                error = str(failure)
        report.append(LoadedLibrary(library, MISSING,
                                    other_versions=_other_versions(library, folder),
                                    error=error))
    return tuple(report)


_report: tuple[LoadedLibrary, ...] | None = None


def preload() -> tuple[LoadedLibrary, ...]:
    """Load the CUDA libraries the GPU build needs (:func:`load_libraries`) once per process,
    before MXNet is imported; what came from where. Empty, at no cost, on the CPU build."""
    global _report
    if _report is None:
        _report = load_libraries() if gpu_build_installed() else ()
    return _report


def fix_for(entry: LoadedLibrary) -> str:
    """What to do about a missing library (or one of another major version)."""
    if entry.other_versions:
        return (f"MXNet 1.9.1 needs {entry.library.soname}, not {entry.other_versions[-1]} "
                f"(another package, torch for instance, installed a newer {entry.library.wheel}): "
                f"{GPU_REQUIREMENTS} puts back the version it pins, and a package that needs the "
                f"newer one belongs in its own venv")
    return f"{GPU_REQUIREMENTS} installs {entry.library.wheel}"


def missing_library_message(error: BaseException) -> str | None:
    """One line on an ``import mxnet`` error that names a missing CUDA library (the driver or
    one of :data:`CUDA_LIBRARIES`) and what to do; None for any other error."""
    text = str(error)
    if DRIVER in text:
        return (f"the GPU build of MXNet ({GPU_DISTRIBUTION}) needs the NVIDIA driver, and "
                f"{DRIVER} (its CUDA library) is not on this machine: {DRIVER_ADVICE}, or on a "
                f"machine without a GPU the CPU build: pip uninstall {GPU_DISTRIBUTION} && "
                f"pip install mxnet==1.9.1")
    for library in CUDA_LIBRARIES:
        if library.soname in text:
            return (f"the GPU build of MXNet ({GPU_DISTRIBUTION}) cannot find {library.soname}: "
                    f"{GPU_REQUIREMENTS} installs it ({library.wheel}), and gluoncnn loads it "
                    f"when it imports MXNet (import gluoncnn before mxnet); `gluoncnn doctor` "
                    f"lists every CUDA library and where it was loaded from")
    return None


# --------------------------------------------------------------------------------------------
# The driver
# --------------------------------------------------------------------------------------------
# CUresult codes (cuda.h) a machine without a working driver answers with.
CU_ERRORS = {3: "CUDA_ERROR_NOT_INITIALIZED", 34: "CUDA_ERROR_STUB_LIBRARY",
             100: "CUDA_ERROR_NO_DEVICE", 999: "CUDA_ERROR_UNKNOWN"}
MIN_DRIVER_CUDA = 11000  # CUDA 11 minor-version compatibility: any CUDA 11.x or newer driver
KERNEL_MODULE_VERSION = "/proc/driver/nvidia/version"


def cu_error_name(code: int) -> str:
    return CU_ERRORS.get(code, f"CUresult {code}")


@dataclass(frozen=True)
class DriverStatus:
    """The NVIDIA driver as the CUDA build sees it: ``path`` of ``libcuda.so.1`` (None when it is
    not found), ``cuda_version`` (``cuDriverGetVersion``, 12020 for CUDA 12.2; 0 when it fails),
    ``version_error`` and ``init_error`` (CUresult names, '' when they succeed),
    ``kernel_module`` (the kernel module's version line, '' when none is loaded)."""
    path: str | None
    cuda_version: int = 0
    version_error: str = ""
    init_error: str = ""
    kernel_module: str = ""

    @property
    def cuda(self) -> str:
        """``'12.2'`` for 12020."""
        return f"{self.cuda_version // 1000}.{self.cuda_version % 1000 // 10}"


def _kernel_module_version(path: str = KERNEL_MODULE_VERSION) -> str:
    try:
        with open(path) as f:
            first = f.readline()
    except OSError:
        return ""
    # "NVRM version: NVIDIA UNIX x86_64 Kernel Module  535.104.05  Sat Aug 19 ..." -> 535.104.05
    words = first.split("Kernel Module", 1)[-1].split()
    return words[0] if words else first.strip()


def driver_status(library: str = DRIVER,
                  kernel_module_file: str = KERNEL_MODULE_VERSION) -> DriverStatus:
    """Load the driver's ``library`` (``libcuda.so.1``) and ask it its CUDA version
    (``cuDriverGetVersion``) and whether it starts (``cuInit``)."""
    module = _kernel_module_version(kernel_module_file)
    try:
        cuda = ctypes.CDLL(library)
    except OSError:
        return DriverStatus(None, kernel_module=module)
    version = ctypes.c_int(0)
    code = cuda.cuDriverGetVersion(ctypes.byref(version))
    init = cuda.cuInit(0) if code == 0 else 0
    return DriverStatus(loaded_path(cuda), version.value if code == 0 else 0,
                        cu_error_name(code) if code else "", cu_error_name(init) if init else "",
                        module)
