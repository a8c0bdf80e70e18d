"""gluoncnn.cuda_libs and doctor's CUDA checks: the GPU build's libraries loaded from NVIDIA's
wheels in dependency order, a system install first, and what is said when one is missing.

Fake wheel folders (``<site>/nvidia/<folder>/lib/<soname>``) stand for the real ones; the loader
is injected, except where a tiny library built with gcc checks the real ``dlopen`` path."""
import json
import os
import shutil
import subprocess
import sys
import textwrap

import pytest

from gluoncnn import cuda_libs, doctor, runtime
from gluoncnn.cuda_libs import CUDA_LIBRARIES, MISSING, SYSTEM, WHEEL, DriverStatus

SONAMES = [library.soname for library in CUDA_LIBRARIES]


def fake_site(tmp_path, skip=(), extra=()):
    """A site-packages with every wheel's library file but those in ``skip``, plus ``extra``
    files (``(folder, name)``); its path."""
    site = tmp_path / "site-packages"
    for library in CUDA_LIBRARIES:
        folder = site / "nvidia" / library.folder / "lib"
        folder.mkdir(parents=True, exist_ok=True)
        if library.soname not in skip:
            (folder / library.soname).write_bytes(b"\x7fELF")
    for folder, name in extra:
        (site / "nvidia" / folder / "lib" / name).write_bytes(b"\x7fELF")
    return site


class Loader:
    """Records every name it is asked to load; ``system`` maps sonames the system loader
    finds to their paths, any other soname raises OSError as dlopen does."""
    def __init__(self, system=None):
        self.system, self.calls = system or {}, []

    def __call__(self, name):
        self.calls.append(name)
        if "/" in name:
            return name
        if name in self.system:
            return self.system[name]
        raise OSError(f"{name}: cannot open shared object file: No such file or directory")


def test_the_list_is_what_libmxnet_needs_in_dependency_order():
    # readelf -d mxnet/libmxnet.so (mxnet-cu112 1.9.1), less the driver's libcuda.so.1, plus
    # libcublasLt, which libcublas needs
    assert set(SONAMES) == {"libcudart.so.11.0", "libcublas.so.11", "libcublasLt.so.11",
                            "libcufft.so.10", "libcurand.so.10", "libcusolver.so.11",
                            "libnvrtc.so.11.2", "libnvToolsExt.so.1", "libcudnn.so.8",
                            "libnccl.so.2"}
    position = SONAMES.index
    assert position("libcublasLt.so.11") < position("libcublas.so.11")
    assert position("libcublas.so.11") < position("libcusolver.so.11")
    assert position("libcublas.so.11") < position("libcudnn.so.8")


def test_wheels_are_loaded_in_order_when_the_system_has_none(tmp_path):
    site = fake_site(tmp_path)
    load = Loader()
    report = cuda_libs.load_libraries([str(tmp_path / "elsewhere"), str(site)], load)
    paths = [str(site / "nvidia" / lib.folder / "lib" / lib.soname) for lib in CUDA_LIBRARIES]
    # each soname is asked of the system first, then its wheel's file is loaded
    assert load.calls == [name for pair in zip(SONAMES, paths) for name in pair]
    assert [(e.source, e.path) for e in report] == [(WHEEL, p) for p in paths]
    assert str(report[0]) == f"libcudart.so.11.0 from {paths[0]} (wheel)"


def test_a_system_install_or_ld_library_path_wins(tmp_path):
    site = fake_site(tmp_path)
    system = {"libcudart.so.11.0": "/usr/local/cuda-11.2/lib64/libcudart.so.11.0",
              "libcudnn.so.8": "/opt/cudnn/lib/libcudnn.so.8"}
    load = Loader(system)
    report = {e.library.soname: e for e in cuda_libs.load_libraries([str(site)], load)}
    for soname, path in system.items():
        assert (report[soname].source, report[soname].path) == (SYSTEM, path)
        assert not any(call.endswith("/" + soname) for call in load.calls)  # wheel left alone
    assert report["libcublas.so.11"].source == WHEEL


def test_a_missing_wheel_and_cudnn_9_from_another_package_are_named_with_the_fix(tmp_path):
    site = fake_site(tmp_path, skip=("libnccl.so.2", "libcudnn.so.8"),
                     extra=[("cudnn", "libcudnn.so.9"), ("cudnn", "libcudnn.so.9.1.0")])
    report = {e.library.soname: e for e in cuda_libs.load_libraries([str(site)], Loader())}
    nccl, cudnn = report["libnccl.so.2"], report["libcudnn.so.8"]
    assert nccl.source == cudnn.source == MISSING and nccl.path is None
    assert cudnn.other_versions == ("libcudnn.so.9",)
    assert "found only libcudnn.so.9, another major version" in str(cudnn)
    fix = cuda_libs.fix_for(cudnn)
    assert "MXNet 1.9.1 needs libcudnn.so.8, not libcudnn.so.9" in fix
    assert "pip install -r requirements-gpu.txt" in fix and "own venv" in fix
    assert cuda_libs.fix_for(nccl) == ("pip install -r requirements-gpu.txt (or '.[gpu]') "
                                       "installs nvidia-nccl-cu11")


def test_the_first_site_folder_that_holds_the_library_is_taken(tmp_path):
    user_site = fake_site(tmp_path / "user", skip=("libcudnn.so.8",),
                          extra=[("cudnn", "libcudnn.so.9")])
    venv_site = fake_site(tmp_path / "venv")
    report = {e.library.soname: e for e in
              cuda_libs.load_libraries([str(user_site), str(venv_site)], Loader())}
    assert report["libcudnn.so.8"].path == str(venv_site / "nvidia/cudnn/lib/libcudnn.so.8")
    assert report["libcudart.so.11.0"].path == str(
        user_site / "nvidia/cuda_runtime/lib/libcudart.so.11.0")


def test_a_wheel_file_that_does_not_load_says_why(tmp_path):
    site = fake_site(tmp_path)

    def load(name):
        if name.endswith("/libcusolver.so.11"):
            raise OSError("libcublas.so.11: cannot open shared object file")
        return Loader()(name)

    entry = {e.library.soname: e for e in cuda_libs.load_libraries([str(site)], load)}
    assert str(entry["libcusolver.so.11"]) == ("libcusolver.so.11 does not load: "
                                               "libcublas.so.11: cannot open shared object file")


def test_the_cpu_build_loads_nothing(monkeypatch):
    monkeypatch.setattr(cuda_libs, "_report", None)
    monkeypatch.setattr(cuda_libs, "gpu_build_installed", lambda: False)
    monkeypatch.setattr(cuda_libs, "load_libraries", lambda *a: pytest.fail("loaded on CPU"))
    assert cuda_libs.preload() == ()
    assert doctor._check_cuda() == []


def test_preload_loads_once_per_process(monkeypatch):
    calls = []
    monkeypatch.setattr(cuda_libs, "_report", None)
    monkeypatch.setattr(cuda_libs, "gpu_build_installed", lambda: True)
    monkeypatch.setattr(cuda_libs, "load_libraries", lambda: calls.append(1) or ("report",))
    assert cuda_libs.preload() == cuda_libs.preload() == ("report",) and calls == [1]


def test_import_mxnet_loads_them_first(monkeypatch):
    calls = []
    monkeypatch.setattr(runtime, "_mxnet_imported", lambda: False)
    monkeypatch.setattr(cuda_libs, "preload", lambda: calls.append("preload"))
    runtime.import_mxnet()
    assert calls == ["preload"]


def test_import_errors_name_the_missing_library_and_the_fix():
    driver = OSError("libcuda.so.1: cannot open shared object file: No such file or directory")
    text = runtime.mxnet_unavailable_message(driver)
    assert text.startswith("the GPU build of MXNet (mxnet-cu112) needs the NVIDIA driver, and "
                           "libcuda.so.1 (its CUDA library) is not on this machine")
    assert "pip install mxnet==1.9.1" in text
    cudnn = OSError("libcudnn.so.8: cannot open shared object file: No such file or directory")
    text = runtime.mxnet_unavailable_message(cudnn)
    assert text.startswith("the GPU build of MXNet (mxnet-cu112) cannot find libcudnn.so.8: "
                           "pip install -r requirements-gpu.txt")
    assert "nvidia-cudnn-cu11" in text and "import gluoncnn before mxnet" in text
    assert doctor._import_fix(cudnn) == cuda_libs.missing_library_message(cudnn)
    assert cuda_libs.missing_library_message(OSError("libgomp.so.1: cannot open")) is None


# --------------------------------------------------------------------------------------------
# doctor
# --------------------------------------------------------------------------------------------
@pytest.mark.parametrize("status, verdict, detail", [
    (DriverStatus(None), "fail", "missing: libcuda.so.1, the driver's CUDA library, is not on "
     "this machine; no NVIDIA kernel module loaded (/proc/driver/nvidia/version absent)"),
    (DriverStatus("/stand-in/libcuda.so.1", version_error="CUDA_ERROR_NO_DEVICE"), "fail",
     "missing: /stand-in/libcuda.so.1 is no working driver (cuDriverGetVersion: "
     "CUDA_ERROR_NO_DEVICE); no NVIDIA kernel module loaded (/proc/driver/nvidia/version "
     "absent)"),
    (DriverStatus("/cuda/lib64/stubs/libcuda.so.1", version_error="CUDA_ERROR_STUB_LIBRARY"),
     "fail", "missing: /cuda/lib64/stubs/libcuda.so.1 is the CUDA toolkit's stub library, not a "
     "driver"),
    (DriverStatus("/usr/lib/libcuda.so.1", 10020, kernel_module="440.33.01"), "fail",
     "440.33.01 (CUDA 10.2) at /usr/lib/libcuda.so.1: too old, the CUDA 11 build needs a driver "
     "for CUDA 11.0 or newer"),
    (DriverStatus("/usr/lib/libcuda.so.1", 12020, init_error="CUDA_ERROR_NO_DEVICE",
                  kernel_module="535.104.05"), "warn",
     "535.104.05 (CUDA 12.2) at /usr/lib/libcuda.so.1, but cuInit says CUDA_ERROR_NO_DEVICE: no "
     "GPU is usable"),
    (DriverStatus("/usr/lib/libcuda.so.1", 12020, kernel_module="535.104.05"), "ok",
     "535.104.05 (CUDA 12.2) at /usr/lib/libcuda.so.1"),
])
def test_doctor_says_what_the_driver_is(status, verdict, detail):
    check = doctor._check_driver(status)
    assert (check.name, check.verdict, check.detail) == ("NVIDIA driver", verdict, detail)
    assert bool(check.fix) == (verdict != "ok")
    if status.path is None or status.version_error:
        assert "install the NVIDIA driver" in check.fix


def test_doctor_lists_each_library_with_its_origin(tmp_path, monkeypatch):
    site = fake_site(tmp_path, skip=("libcudnn.so.8",), extra=[("cudnn", "libcudnn.so.9")])
    report = cuda_libs.load_libraries([str(site)], Loader(
        {"libcudart.so.11.0": "/usr/local/cuda-11.2/lib64/libcudart.so.11.0"}))
    monkeypatch.setattr(cuda_libs, "gpu_build_installed", lambda: True)
    monkeypatch.setattr(cuda_libs, "preload", lambda: report)
    monkeypatch.setattr(cuda_libs, "driver_status", lambda: DriverStatus(None))
    checks = {c.name: c for c in doctor._check_cuda()}
    assert list(checks) == ["NVIDIA driver", *SONAMES]
    assert checks["libcudart.so.11.0"] == doctor.Check(
        "libcudart.so.11.0", "ok", "/usr/local/cuda-11.2/lib64/libcudart.so.11.0 (system)", "")
    nccl = checks["libnccl.so.2"]
    assert nccl.verdict == "ok" and nccl.detail.startswith(
        f"{site}/nvidia/nccl/lib/libnccl.so.2 (wheel, nvidia-nccl-cu11")
    cudnn = checks["libcudnn.so.8"]
    assert cudnn.verdict == "fail" and "libcudnn.so.9" in cudnn.detail
    assert "needs libcudnn.so.8, not libcudnn.so.9" in cudnn.fix


# --------------------------------------------------------------------------------------------
# The real dynamic loader, with tiny libraries built by gcc
# --------------------------------------------------------------------------------------------
needs_gcc = pytest.mark.skipif(shutil.which("gcc") is None or not sys.platform.startswith("linux"),
                               reason="builds tiny shared libraries with gcc (Linux)")


def build_library(path, source, soname=None):
    c_file = path.with_suffix(".c")
    c_file.write_text(source)
    soname_flag = [f"-Wl,-soname,{soname}"] if soname else []
    subprocess.run(["gcc", "-shared", "-fPIC", *soname_flag, "-o", str(path), str(c_file)],
                   check=True, capture_output=True)
    return path


@needs_gcc
def test_real_dlopen_takes_ld_library_path_first_then_the_wheels(tmp_path):
    site = tmp_path / "site-packages"
    for library in CUDA_LIBRARIES:
        folder = site / "nvidia" / library.folder / "lib"
        folder.mkdir(parents=True, exist_ok=True)
        build_library(folder / library.soname, "int gluoncnn_fake(void) { return 1; }\n",
                      library.soname)
    system = tmp_path / "cuda-11.2" / "lib64"
    system.mkdir(parents=True)
    build_library(system / "libcudart.so.11.0", "int gluoncnn_fake(void) { return 2; }\n",
                  "libcudart.so.11.0")
    code = textwrap.dedent(f"""
        import json
        from gluoncnn import cuda_libs
        report = cuda_libs.load_libraries([{str(site)!r}])
        print(json.dumps([[e.library.soname, e.source, e.path] for e in report]))
    """)
    env = {**os.environ, "LD_LIBRARY_PATH": str(system)}
    out = subprocess.run([sys.executable, "-c", code], env=env, capture_output=True, text=True,
                         check=True).stdout
    report = json.loads(out.splitlines()[-1])
    assert report[0] == ["libcudart.so.11.0", "system", str(system / "libcudart.so.11.0")]
    assert report[1:] == [[lib.soname, "wheel", str(site / "nvidia" / lib.folder / "lib" /
                                                      lib.soname)] for lib in CUDA_LIBRARIES[1:]]


@needs_gcc
def test_driver_status_asks_libcuda_its_version(tmp_path):
    working = build_library(tmp_path / "libworking-cuda.so", textwrap.dedent("""
        int cuDriverGetVersion(int *v) { *v = 12020; return 0; }
        int cuInit(unsigned int flags) { return 0; }
    """))
    module = tmp_path / "version"
    module.write_text("NVRM version: NVIDIA UNIX x86_64 Kernel Module  535.104.05  Sat Aug 19 "
                      "01:15:15 UTC 2023\nGCC version:  gcc version 12.3.0\n")
    status = cuda_libs.driver_status(str(working), str(module))
    assert status == DriverStatus(str(working), 12020, "", "", "535.104.05")
    assert status.cuda == "12.2"
    stand_in = build_library(tmp_path / "libstand-in-cuda.so", textwrap.dedent("""
        int cuDriverGetVersion(int *v) { *v = 0; return 100; }
        int cuInit(unsigned int flags) { return 100; }
    """))
    assert cuda_libs.driver_status(str(stand_in), str(tmp_path / "absent")) == DriverStatus(
        str(stand_in), 0, "CUDA_ERROR_NO_DEVICE", "", "")
    assert cuda_libs.driver_status(str(tmp_path / "none.so")) == DriverStatus(
        None, kernel_module=cuda_libs._kernel_module_version())
