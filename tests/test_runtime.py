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


def test_rule_one_thread_for_lenet_with_avx512_every_core_for_the_rest(fresh):
    assert runtime.threads_for("lenet")[0] == 1
    assert runtime.threads_for("LeNet-BN")[0] == 1
    for model in ("resnet18", "googlenet", "densenet121", "nin", None):
        assert runtime.threads_for(model)[0] == 4
    fresh.setattr(runtime, "cpu_flags", lambda: frozenset({"avx2"}))
    for model in ("lenet", "LeNet-BN", "resnet18", None):
        assert runtime.threads_for(model)[0] == 4
    assert "without AVX-512" in runtime.threads_for("lenet")[1]


def test_rule_sets_omp_num_threads_and_records_why(fresh):
    choice = runtime.configure_threads()
    assert (choice.count, choice.source) == (4, runtime.RULE)
    assert os.environ["OMP_NUM_THREADS"] == "4"
    assert "every physical core (4)" in choice.reason
    # The command line names its model after `import gluoncnn` chose for an unknown one.
    choice = runtime.configure_threads("lenet")
    assert (choice.count, choice.source) == (1, runtime.RULE) and "lenet" in choice.reason
    assert os.environ["OMP_NUM_THREADS"] == "1"
    assert runtime.thread_choice() == choice
    assert str(choice) == f"1 (gluoncnn rule: {choice.reason})"


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
    assert (choice.count, choice.source) == (1, runtime.RULE)
    assert choice.reason.startswith("GLUONCNN_THREADS='two' is ignored")
    fresh.setenv("OMP_NUM_THREADS", "0")
    choice = runtime.configure_threads()
    assert choice.source == runtime.USER_OMP and "OMP_NUM_THREADS='0' is ignored" in choice.reason
    fresh.setenv("OMP_NUM_THREADS", "3,1")  # OpenMP's nested form: the first level counts
    assert runtime.configure_threads().count == 3


def test_after_mxnet_loaded_nothing_changes_and_it_says_so(fresh):
    runtime.configure_threads("lenet")
    fresh.setattr(runtime, "_mxnet_imported", lambda: True)
    choice = runtime.configure_threads("resnet18")
    assert (choice.count, choice.source) == (1, runtime.RULE)  # what MXNet loaded with
    assert os.environ["OMP_NUM_THREADS"] == "1"
    fresh.delenv("OMP_NUM_THREADS")
    fresh.delenv(runtime._MARK)
    fresh.setattr(runtime.os, "cpu_count", lambda: 8)
    fresh.setattr(runtime.platform, "machine", lambda: "x86_64")
    choice = runtime.configure_threads("resnet18")
    assert (choice.count, choice.source) == (4, runtime.TOO_LATE)
    assert "import gluoncnn first" in choice.reason and "OMP_NUM_THREADS" not in os.environ


def test_a_child_process_keeps_the_parents_choice(fresh):
    runtime.configure_threads("lenet")
    fresh.setattr(runtime, "_choice", None)  # what a spawned child sees: the environment only
    choice = runtime.configure_threads()
    assert (choice.count, choice.source) == (1, runtime.RULE)
    assert "process that started this one" in choice.reason


def test_cores():
    assert 1 <= runtime.physical_cores() <= len(runtime.usable_cpus()) <= (os.cpu_count() or 1)
    assert runtime.cpu_name() and runtime.cpu_name() == runtime.cpu_name().strip()


def test_import_gluoncnn_chooses_before_mxnet_loads():
    env = {k: v for k, v in os.environ.items()
           if k not in ("OMP_NUM_THREADS", "GLUONCNN_THREADS", runtime._MARK)}
    code = ("import os, sys, gluoncnn; c = gluoncnn.runtime.thread_choice(); "
            "print('mxnet' in sys.modules, os.environ['OMP_NUM_THREADS'], c.count, c.source); "
            "import mxnet; print(gluoncnn.runtime.configure_threads('lenet').count)")
    out = subprocess.run([sys.executable, "-c", code], cwd=REPO, env=dict(env, PYTHONPATH=REPO),
                         capture_output=True, text=True, timeout=120, check=False)
    assert out.returncode == 0, out.stderr
    cores = str(runtime.physical_cores())
    assert out.stdout.split() == ["False", cores, cores, "gluoncnn", "rule", cores]


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
    """A chapter's first cell: one thread for the LeNet chapters, every core for a conv net,
    every core with no net; a misspelt chapter is a clear error."""
    from gluoncnn import course
    for name in ("GLUONCNN_QUICK", "GLUONCNN_PRESET"):
        fresh.delenv(name, raising=False)
    assert course.configure_threads("01-lenet").count == 1
    fresh.setattr(runtime, "_choice", None)
    assert course.configure_threads("07-resnet").count == 4
    fresh.setattr(runtime, "_choice", None)
    assert course.configure_threads(None).count == 4
    with pytest.raises(GluonCNNError, match="07-resnet"):
        course.configure_threads("07-resnt")
