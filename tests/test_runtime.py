"""gluoncnn.runtime: the thread rule, who wins over it, and what it says once MXNet is loaded."""
import os
import subprocess
import sys

import pytest

from gluoncnn import runtime
from gluoncnn.errors import GluonCNNError

REPO = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))


@pytest.fixture
def fresh(monkeypatch):
    """A process as it is before anything chose threads or imported MXNet: no OMP_NUM_THREADS,
    no GLUONCNN_THREADS, no recorded choice (all restored afterwards)."""
    for name in ("OMP_NUM_THREADS", "GLUONCNN_THREADS", runtime._MARK):
        monkeypatch.delenv(name, raising=False)
    monkeypatch.setattr(runtime, "_choice", None)
    monkeypatch.setattr(runtime, "_mxnet_imported", lambda: False)
    monkeypatch.setattr(runtime, "physical_cores", lambda: 4)
    # an AVX-512 processor, where the rule gives LeNet one thread (unless a test says otherwise)
    monkeypatch.setattr(runtime, "cpu_flags", lambda: frozenset({"avx2", "avx512f"}))
    return monkeypatch


def test_rule_every_physical_core_until_fit_measures(fresh):
    for model in ("lenet", "LeNet-BN", "resnet18", "googlenet", None):
        assert runtime.threads_for(model)[0] == 4
    assert "until fit measures" in runtime.threads_for("lenet")[1]
    assert runtime.thread_candidates() == (1, 2, 4)
    fresh.setattr(runtime, "physical_cores", lambda: 2)
    assert runtime.thread_candidates() == (1, 2)


def test_rule_sets_omp_num_threads_and_records_why(fresh):
    choice = runtime.configure_threads()
    assert (choice.count, choice.source) == (4, runtime.RULE)
    assert os.environ["OMP_NUM_THREADS"] == "4"
    assert "every physical core (4)" in choice.reason
    choice = runtime.configure_threads("lenet")
    assert (choice.count, choice.source) == (4, runtime.RULE) and "lenet" in choice.reason
    assert runtime.thread_choice() == choice
    assert str(choice) == f"4 (gluoncnn rule: {choice.reason})"


def test_a_measured_count_stays_until_a_net_is_named(fresh):
    fresh.setattr(runtime, "apply_threads", lambda *a, **k: True)
    choice = runtime.use_measured_threads(1, "fastest here")
    assert (choice.count, choice.source) == (1, runtime.MEASURED)
    assert runtime.thread_choice() == choice
    assert runtime.configure_threads("resnet18").source == runtime.RULE
    fresh.setenv("OMP_NUM_THREADS", "3")  # the user's word wins over a measurement
    assert runtime.use_measured_threads(1, "fastest here").source == runtime.USER_OMP


def test_users_omp_num_threads_always_wins(fresh):
    fresh.setenv("OMP_NUM_THREADS", "3")
    fresh.setenv("GLUONCNN_THREADS", "2")
    choice = runtime.configure_threads("lenet")
    assert (choice.count, choice.source) == (3, runtime.USER_OMP)
    assert os.environ["OMP_NUM_THREADS"] == "3"


def test_gluoncnn_threads_overrides_the_rule(fresh):
    fresh.setenv("GLUONCNN_THREADS", "2")
    choice = runtime.configure_threads("lenet")
    assert (choice.count, choice.source) == (2, runtime.USER_GLUONCNN)
    assert os.environ["OMP_NUM_THREADS"] == "2"
    assert runtime.configure_threads("resnet18").count == 2


def test_a_user_changing_omp_after_import_gluoncnn_is_seen(fresh):
    runtime.configure_threads()
    os.environ["OMP_NUM_THREADS"] = "1"  # a notebook cell after `import gluoncnn`
    assert runtime.thread_choice().source == runtime.USER_OMP


def test_bad_thread_counts_are_ignored_and_said_so(fresh):
    # `import gluoncnn` must not fail on them: doctor has to be able to explain.
    fresh.setenv("GLUONCNN_THREADS", "two")
    choice = runtime.configure_threads("lenet")
    assert (choice.count, choice.source) == (4, runtime.RULE)
    assert choice.reason.startswith("GLUONCNN_THREADS='two' is ignored")
    fresh.setenv("OMP_NUM_THREADS", "0")
    choice = runtime.configure_threads()
    assert choice.source == runtime.USER_OMP and "OMP_NUM_THREADS='0' is ignored" in choice.reason
    fresh.setenv("OMP_NUM_THREADS", "3,1")  # OpenMP's nested form: the first level counts
    assert runtime.configure_threads().count == 3


def test_after_mxnet_loaded_the_count_goes_to_the_engine_worker(fresh):
    """With MXNet loaded, a changed count starts new engine workers and sets it on them."""
    fresh.setattr(runtime, "_mxnet_imported", lambda: True)
    fresh.setattr(runtime, "_worker_counts", {})
    fresh.setattr(runtime, "_worker_devices", {0})
    calls = []
    fresh.setattr(runtime, "restart_engine", lambda: calls.append("restart") or True)
    fresh.setattr(runtime, "_set_worker_threads", lambda n, d: calls.append((n, d)))
    runtime.configure_threads("resnet18")
    assert calls == ["restart", (4, 0)]
    runtime.configure_threads("resnet18")  # the same count: nothing to do
    assert calls == ["restart", (4, 0)]
    runtime.apply_threads(runtime.ThreadChoice(1, "x", runtime.MEASURED), (0, 2))
    assert calls[2:] == ["restart", (1, 0), (1, 2)]
    fresh.setattr(runtime, "restart_engine", lambda: False)  # no fork: MXNet's count stays
    assert not runtime.apply_threads(runtime.ThreadChoice(2, "x", runtime.MEASURED))


def test_a_child_process_keeps_the_parents_choice(fresh):
    fresh.setattr(runtime, "physical_cores", lambda: 3)
    runtime.configure_threads("lenet")
    fresh.setattr(runtime, "physical_cores", lambda: 4)
    fresh.setattr(runtime, "_choice", None)  # what a spawned child sees: the environment only
    choice = runtime.configure_threads()
    assert (choice.count, choice.source) == (3, runtime.RULE)
    assert "process that started this one" in choice.reason


def test_cores():
    assert 1 <= runtime.physical_cores() <= len(runtime.usable_cpus()) <= (os.cpu_count() or 1)
    assert runtime.cpu_name() and runtime.cpu_name() == runtime.cpu_name().strip()


def _clean_env():
    return {k: v for k, v in os.environ.items()
            if k not in ("OMP_NUM_THREADS", "GLUONCNN_THREADS", runtime._MARK)}


def test_import_gluoncnn_chooses_before_mxnet_loads():
    code = ("import os, sys, gluoncnn; c = gluoncnn.runtime.thread_choice(); "
            "print('mxnet' in sys.modules, os.environ['OMP_NUM_THREADS'], c.count, c.source); "
            "import gluoncnn.models; print(gluoncnn.runtime.worker_threads())")
    out = subprocess.run([sys.executable, "-c", code], cwd=REPO,
                         env=dict(_clean_env(), PYTHONPATH=REPO),
                         capture_output=True, text=True, timeout=120, check=False)
    assert out.returncode == 0, out.stderr
    cores = str(runtime.physical_cores())
    assert out.stdout.split() == ["False", cores, cores, "gluoncnn", "rule", cores]


def test_mxnet_imported_first_still_gets_the_count_and_can_change_it():
    """`import mxnet` before `import gluoncnn` (as d2l's notebooks do): MXNet's worker has its
    own default (half the logical processors on x86), gluoncnn sets its count on the worker,
    and a later change (after kernels exist) starts new workers instead of corrupting memory."""
    code = ("import mxnet as mx, gluoncnn\n"
            "from gluoncnn import runtime\n"
            "x = mx.nd.ones((8, 4, 6, 6)); w = mx.nd.ones((5, 4, 3, 3))\n"
            "conv = lambda: mx.nd.Convolution(x, w, kernel=(3, 3), num_filter=5, no_bias=True)\n"
            "first = conv().asnumpy()\n"
            "seen = [runtime.worker_threads()]\n"
            "for n in (1, 2, 1):\n"
            "    runtime.use_measured_threads(n, 'test')\n"
            "    assert (conv().asnumpy() == first).all()\n"
            "    seen.append(runtime.worker_threads())\n"
            "print(*seen)\n")
    out = subprocess.run([sys.executable, "-c", code], cwd=REPO,
                         env=dict(_clean_env(), PYTHONPATH=REPO),
                         capture_output=True, text=True, timeout=120, check=False)
    assert out.returncode == 0, out.stderr
    assert out.stdout.split() == [str(runtime.physical_cores()), "1", "2", "1"]


def test_mxnet_unavailable_messages():
    missing = ModuleNotFoundError("No module named 'mxnet'", name="mxnet")
    text = runtime.mxnet_unavailable_message(missing)
    assert text.startswith("MXNet is not installed: pip install mxnet==1.9.1 (CPU) or "
                           "mxnet-cu112==1.9.1 (CUDA 11.2); `gluoncnn doctor`")
    numpy_error = AttributeError("module 'numpy' has no attribute 'bool'.\n`np.bool` was a "
                                 "deprecated alias")
    text = runtime.mxnet_unavailable_message(numpy_error)
    assert "pip install 'numpy<1.24'" in text and "mxnet==1.9.1" in text and "\n" not in text
    text = runtime.mxnet_unavailable_message(OSError("libgomp.so.1: cannot open shared object"))
    assert text.startswith("import mxnet failed (OSError: libgomp.so.1") and "doctor" in text
    assert issubclass(runtime.MXNetUnavailableError, (GluonCNNError, ImportError))


def test_first_line_is_the_message_without_mxnets_trace():
    """One helper (gluoncnn.utils.first_line) for every one-line error, the MXNet ones included."""
    from gluoncnn.utils import first_line
    mxnet_error = RuntimeError("\n  Check failed: shape mismatch\nStack trace:\n  [bt] (0) lib")
    assert first_line(mxnet_error) == "Check failed: shape mismatch"
    assert first_line(KeyError("resnet")) == "resnet" and first_line(OSError()) == "OSError"
    text = runtime.mxnet_unavailable_message(OSError("\nlibgomp.so.1: cannot open\n[bt] (0) x"))
    assert text.startswith("import mxnet failed (OSError: libgomp.so.1: cannot open): pip")


def test_numpy_too_new_by_version(monkeypatch):
    monkeypatch.setattr("numpy.__version__", "1.26.4")
    assert runtime.numpy_too_new()
    monkeypatch.setattr("numpy.__version__", "1.23.5")
    assert not runtime.numpy_too_new()
    assert runtime.version_tuple("1.24.0rc1") == (1, 24, 0)


def test_chapters_choose_threads_for_their_net(fresh):
    """A chapter's first cell: every core until fit measures the chapter's net; a misspelt
    chapter is a clear error."""
    from gluoncnn import course
    for name in ("GLUONCNN_QUICK", "GLUONCNN_PRESET"):
        fresh.delenv(name, raising=False)
    choice = course.configure_threads("01-lenet")
    assert choice.count == 4 and "lenet" in choice.reason
    fresh.setattr(runtime, "_choice", None)
    assert course.configure_threads("07-resnet").count == 4
    fresh.setattr(runtime, "_choice", None)
    assert course.configure_threads(None).count == 4
    with pytest.raises(GluonCNNError, match="07-resnet"):
        course.configure_threads("07-resnt")




# ---------------------------------------------------------------------------------------------
# AMX: which request is made, when the variable is set, on any CPU (flags and syscall injected)
# ---------------------------------------------------------------------------------------------
@pytest.fixture
def amx(monkeypatch):
    """A Linux x86_64 process with no DNNL variables, MXNet not loaded, nothing decided."""
    for name in (*runtime.ISA_VARIABLES, runtime._AMX_MARK, "GLUONCNN_AMX"):
        monkeypatch.delenv(name, raising=False)
    monkeypatch.setattr(runtime, "_amx", None)
    monkeypatch.setattr(runtime, "_mxnet_imported", lambda: False)
    monkeypatch.setattr(runtime.platform, "system", lambda: "Linux")
    monkeypatch.setattr(runtime.platform, "machine", lambda: "x86_64")
    calls = []

    def granted(*args):
        calls.append(args)
        return 0
    monkeypatch.calls, monkeypatch.granted = calls, granted
    return monkeypatch


def _refused(*args):
    import ctypes
    ctypes.set_errno(22)  # EINVAL: what a CPU without AMX (or a kernel before 5.16) answers
    return -1


def test_amx_asked_for_and_enabled_only_on_amx_processors(amx):
    amx.setattr(runtime, "cpu_flags", lambda: frozenset({"avx512f", "avx512_bf16"}))
    state = runtime.enable_amx(syscall=amx.granted)
    assert not state.on and "no AMX" in state.reason
    assert amx.calls == [] and runtime.ISA_VARIABLE not in os.environ
    amx.setattr(runtime, "cpu_flags", lambda: frozenset({"avx512f", "amx_bf16", "amx_tile"}))
    state = runtime.enable_amx(syscall=amx.granted)
    assert state.on and amx.calls == [(158, 0x1023, 18)]
    assert os.environ[runtime.ISA_VARIABLE] == "AVX512_CORE_AMX"
    assert runtime.amx_state() == state
    # a child process inherits gluoncnn's setting as gluoncnn's, and asks for the tiles itself
    amx.setattr(runtime, "_amx", None)
    state = runtime.enable_amx(syscall=amx.granted)
    assert state.on and "set by the user" not in state.reason and len(amx.calls) == 2


def test_amx_refused_by_linux_sets_nothing(amx):
    amx.setattr(runtime, "cpu_flags", lambda: frozenset({"amx_bf16"}))
    state = runtime.enable_amx(syscall=_refused)
    assert not state.on and "Linux refused the AMX tiles (Invalid argument)" in state.reason
    assert runtime.ISA_VARIABLE not in os.environ  # the variable alone would die with SIGILL
    amx.setenv(runtime.ISA_VARIABLE, "AVX512_CORE_AMX")  # inherited from a granted parent
    amx.setenv(runtime._AMX_MARK, "AVX512_CORE_AMX")
    assert not runtime.enable_amx(syscall=_refused).on
    assert runtime.ISA_VARIABLE not in os.environ


def test_amx_the_users_word_wins(amx):
    amx.setattr(runtime, "cpu_flags", lambda: frozenset({"amx_bf16"}))
    amx.setenv("GLUONCNN_AMX", "0")
    state = runtime.enable_amx(syscall=amx.granted)
    assert not state.on and "GLUONCNN_AMX=0" in state.reason and amx.calls == []
    amx.delenv("GLUONCNN_AMX")
    amx.setenv("DNNL_MAX_CPU_ISA", "AVX512_CORE")
    state = runtime.enable_amx(syscall=amx.granted)
    assert not state.on and "DNNL_MAX_CPU_ISA=AVX512_CORE set by the user" in state.reason
    assert os.environ["DNNL_MAX_CPU_ISA"] == "AVX512_CORE" and amx.calls == []
    amx.setenv("DNNL_MAX_CPU_ISA", "AVX512_CORE_AMX")  # theirs, but the tiles must be asked for
    state = runtime.enable_amx(syscall=amx.granted)
    assert state.on and amx.calls == [(158, 0x1023, 18)]


def test_amx_permission_request_is_harmless_on_any_cpu():
    """The real request: granted on an AMX processor, a plain refusal elsewhere, never a crash."""
    refused = runtime.request_amx_permission()
    if "amx_tile" in runtime.cpu_flags():
        assert refused is None
    else:
        assert refused is None or refused.startswith("Linux refused the AMX tiles") \
            or refused.startswith("no libc")


def test_amx_kernels_where_the_cpu_has_them_and_a_child_asks_for_the_tiles_itself():
    """On an AMX processor oneDNN reports AMX after `import gluoncnn` (elsewhere nothing is
    set), and a child process that inherits the setting asks Linux for the tiles itself."""
    code = ("import os, subprocess, sys, gluoncnn, mxnet as mx; from gluoncnn import runtime; "
            "mx.nd.Pooling(mx.nd.ones((1, 1, 4, 4)), kernel=(2, 2)).wait_to_read(); "
            "print(runtime.amx_state().on, os.environ.get('DNNL_MAX_CPU_ISA'), flush=True); "
            "subprocess.run([sys.executable, '-c', 'import gluoncnn; "
            "print(gluoncnn.runtime.amx_state())'], check=True)")
    env = {k: v for k, v in os.environ.items()
           if k not in (*runtime.ISA_VARIABLES, runtime._AMX_MARK)}
    out = subprocess.run([sys.executable, "-c", code], cwd=REPO,
                         env=dict(env, PYTHONPATH=REPO, DNNL_VERBOSE="1"),
                         capture_output=True, text=True, timeout=120, check=False)
    assert out.returncode == 0, out.stderr
    on = "amx_bf16" in runtime.cpu_flags() and runtime.request_amx_permission() is None
    lines = [line for line in out.stdout.splitlines() if not line.startswith("dnnl_verbose")]
    assert lines[0] == (f"True {runtime.AMX_ISA}" if on else "False None")
    assert lines[1].startswith("on (amx_bf16 processor" if on else "off (")
    assert ("Intel AMX" in out.stdout) == on
