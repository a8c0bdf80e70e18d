"""gluoncnn.doctor: the checks on this machine, and what it says when things are broken."""
import io
import os
import shutil
import sys
from types import SimpleNamespace

import gluoncnn
from gluoncnn import data as D
from gluoncnn import doctor, runtime


def run():
    out = io.StringIO()
    code = doctor.run_doctor(file=out)
    return code, out.getvalue()


def by_name(results):
    return {check.name: check for check in results}


def test_doctor_on_this_machine(shared_data, monkeypatch):
    monkeypatch.setenv("GLUONCNN_DATA", str(shared_data))
    code, text = run()
    assert code == 0, text
    for needed in ("MXNet", "1.9.1", "numpy", "1.23.5", "oneDNN (MKLDNN) yes", "0 GPUs",
                   "mxnet-cu112==1.9.1", f"GLUONCNN_DATA={shared_data}", "nothing is broken"):
        assert needed in text
    checks = by_name(doctor.checks())
    assert checks["Fashion-MNIST"].verdict == "ok"
    assert D.FASHION_MNIST_2017_08_31 in checks["Fashion-MNIST"].detail
    assert checks["MNIST"].verdict == "ok" and "verified" in checks["MNIST"].detail
    assert checks["shipped sample"].verdict == "ok"
    assert checks["CIFAR-10"].verdict == "warn"  # not in shared/data: a warning, not broken
    for check in checks.values():
        assert check.verdict in ("ok", "warn", "fail") and isinstance(check.detail, str)


def test_corrupt_dataset_and_bad_data_root_fail(tmp_path, monkeypatch):
    folder = tmp_path / "fashion-mnist"
    shutil.copytree(D.SAMPLE_DIR / "fashion-mnist", folder)
    (folder / "t10k-labels-idx1-ubyte.gz").chmod(0o644)
    (folder / "t10k-labels-idx1-ubyte.gz").write_bytes(b"garbage")
    monkeypatch.setenv("GLUONCNN_DATA", str(tmp_path))
    checks = by_name(doctor.checks())
    assert checks["Fashion-MNIST"].verdict == "fail"
    assert "t10k-labels-idx1-ubyte.gz: unknown checksum" in checks["Fashion-MNIST"].detail
    monkeypatch.setenv("GLUONCNN_DATA", str(tmp_path / "typo"))
    code, text = run()
    assert code == 1 and "is not a folder" in text and "fix:" in text


def test_doctor_still_runs_when_mxnet_does_not_import(monkeypatch):
    real_import = doctor.importlib.import_module

    def broken(name, *args):
        if name == "mxnet":
            raise OSError("libgomp.so.1: cannot open shared object file: No such file or directory")
        return real_import(name, *args)

    monkeypatch.setattr(doctor.importlib, "import_module", broken)
    monkeypatch.delattr(gluoncnn, "data")
    monkeypatch.setitem(sys.modules, "gluoncnn.data", None)  # as if it could not import mxnet
    code, text = run()
    assert code == 1
    assert "import mxnet failed: OSError: libgomp.so.1" in text
    assert "apt-get install libgomp1" in text
    assert "datasets" in text and "not checked" in text


def test_numpy_too_new_says_why(monkeypatch):
    monkeypatch.setattr("numpy.__version__", "1.26.4")
    check = doctor._check_numpy()
    assert check.verdict == "fail" and "np.bool" in check.detail and "numpy<1.24" in check.fix
    fix = doctor._import_fix(AttributeError("module 'numpy' has no attribute 'bool'"))
    assert "numpy<1.24" in fix


def test_cuda_build_whose_gpu_fails(monkeypatch):
    def zeros(*args, **kwargs):
        raise RuntimeError("CUDA: libcudnn.so.8: cannot open shared object file")

    fake = SimpleNamespace(runtime=SimpleNamespace(Features=lambda: SimpleNamespace(
                               is_enabled=lambda key: key in ("CUDA", "CUDNN"))),
                           context=SimpleNamespace(num_gpus=lambda: 1),
                           nd=SimpleNamespace(zeros=zeros), gpu=lambda i: i)
    check = doctor._check_gpu(fake)
    assert check.verdict == "fail" and "libcudnn" in check.detail and "cuDNN 8" in check.fix


def test_cpu_name_names_the_processor():
    from gluoncnn.doctor import cpu_name
    name = cpu_name()
    assert isinstance(name, str) and name.strip() == name and name
    if os.path.isfile("/proc/cpuinfo") and "model name" in open("/proc/cpuinfo").read():
        assert name not in ("x86_64", "aarch64")


def test_cpu_threads_and_plotting_are_shown(monkeypatch):
    # as in a fresh process: gluoncnn chose before MXNet loaded (in the test session, whichever
    # test module imports mxnet first decides)
    monkeypatch.setattr(runtime, "thread_choice",
                        lambda: runtime.ThreadChoice(1, "the rule's reason", runtime.RULE))
    checks = by_name(doctor.checks())
    cpu = checks["CPU"]
    assert cpu.verdict == "ok" and doctor.cpu_name() in cpu.detail
    picks = ("amp='auto' measures each net and trains in bfloat16 where that is faster"
             if runtime.cpu_has_native_bf16() else "amp='auto' stays float32 on the CPU")
    assert picks in cpu.detail and "float16 on a GPU" in cpu.detail
    threads = checks["threads"]
    choice = runtime.thread_choice()
    assert threads.verdict == "ok" and threads.detail.startswith(
        f"{choice.count} OpenMP thread(s) for MXNet, {choice.source}: {choice.reason}")
    assert checks["plotting"].verdict == "ok" and "PNG" in checks["plotting"].detail


def test_amx_and_measurements_are_shown(monkeypatch, tmp_path):
    monkeypatch.setenv("GLUONCNN_CACHE_DIR", str(tmp_path))
    monkeypatch.setattr(runtime, "_speed_memory", {})
    monkeypatch.setattr(runtime, "amx_state", lambda: runtime.AmxState(True, "tiles granted"))
    monkeypatch.setattr(runtime, "cpu_flags", lambda: frozenset({"amx_bf16"}))
    checks = by_name(doctor.checks())
    assert checks["AMX"].verdict == "ok" and checks["AMX"].detail == "on: tiles granted"
    assert checks["measured"].detail.startswith("nothing yet")
    runtime.write_speed_cache("k", {"net": "LeNet", "batch": [64, 1, 28, 28], "threads": 1,
                                    "dtype": None})
    detail = doctor._check_measured().detail
    assert "1 net(s) measured" in detail and "LeNet batch 64: 1 thread(s), float32" in detail
    out = io.StringIO()
    doctor.run_doctor(out, clear_cache=True)
    assert out.getvalue().startswith("forgot 1 measured net(s)")
    assert runtime.read_speed_cache() == {}
    monkeypatch.setattr(runtime, "amx_state", lambda: runtime.AmxState(
        False, "Linux refused the AMX tiles (Invalid argument); oneDNN stays on AVX-512"))
    check = doctor._check_amx()
    assert check.verdict == "warn" and "5.16" in check.fix


def test_bf16_cpu_says_amp_auto_picks_bfloat16(monkeypatch):
    monkeypatch.setattr(runtime, "cpu_has_native_bf16", lambda: True)
    assert "amp='auto' measures each net and trains in bfloat16" in doctor._check_cpu().detail


def test_an_ignored_thread_setting_is_a_warning(monkeypatch):
    bad = runtime.ThreadChoice(1, "OMP_NUM_THREADS='x' is ignored", runtime.USER_OMP)
    monkeypatch.setattr(runtime, "thread_choice", lambda: bad)
    check = doctor._check_threads()
    assert check.verdict == "warn" and "whole number" in check.fix


def test_plotting_without_matplotlib_is_a_warning(monkeypatch):
    monkeypatch.setitem(sys.modules, "matplotlib", None)
    monkeypatch.setitem(sys.modules, "matplotlib.figure", None)
    check = doctor._check_plotting()
    assert check.verdict == "warn" and "training itself works" in check.detail
    assert "pip install matplotlib" in check.fix


def test_doctor_can_name_this_machines_folders_instead_of_spelling_them(monkeypatch):
    """Chapter 00 saves doctor's output in a notebook other people read."""
    import io
    import sys

    from gluoncnn.doctor import run_doctor, short_paths
    monkeypatch.setenv("GLUONCNN_DATA", "/srv/data")
    home = __import__("os").path.expanduser("~")
    text = (f"at {sys.prefix}/lib/x, data in /srv/data/mnist (set GLUONCNN_DATA=/srv/data), "
            f"{home}/.cache")
    assert short_paths(text) == ("at <python>/lib/x, data in $GLUONCNN_DATA/mnist (set "
                                 "GLUONCNN_DATA=$GLUONCNN_DATA), ~/.cache")
    assert short_paths("/srv/database") == "/srv/database"  # a longer name is another folder
    out = io.StringIO()
    run_doctor(out, paths=False)
    assert sys.prefix + "/" not in out.getvalue() and "/srv/data" not in out.getvalue()
