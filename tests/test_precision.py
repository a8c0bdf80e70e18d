"""Mixed precision choices: amp='auto' picks float16 on GPUs, bfloat16 on CPUs with native
bfloat16 and float32 elsewhere; explicit choices the machine cannot run say so. MXNet's AMP
patches the whole process, so the one real bfloat16 run happens in a subprocess."""
import os
import subprocess
import sys
import warnings

import mxnet as mx
import pytest

from gluoncnn import runtime
from gluoncnn.errors import OptionError
from gluoncnn.train import choose_amp_dtype, precision

CPU, GPU = [mx.cpu()], [mx.gpu(0)]  # contexts are plain objects; no GPU is touched
REPO = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))


@pytest.fixture
def native_bf16(monkeypatch):
    def set_native(native, emulable=False):
        monkeypatch.setattr(runtime, "cpu_has_native_bf16", lambda: native)
        monkeypatch.setattr(precision, "cpu_can_emulate_bf16", lambda: native or emulable)
    return set_native


def test_auto_picks_what_the_machine_does_natively(native_bf16):
    native_bf16(True)
    assert choose_amp_dtype("auto", CPU) == "bfloat16"
    assert choose_amp_dtype("auto", GPU) == "float16"
    native_bf16(False)
    assert choose_amp_dtype("auto", CPU) is None
    assert choose_amp_dtype("auto", GPU) == "float16"
    assert choose_amp_dtype("auto", [mx.gpu(0), mx.cpu()]) is None  # mixed: the CPU's rule
    for off in (None, False):
        assert choose_amp_dtype(off, GPU) is None


def test_explicit_choices(native_bf16):
    native_bf16(False)
    for amp in (True, "float16"):
        assert choose_amp_dtype(amp, GPU) == "float16"
        with pytest.warns(RuntimeWarning, match="float32"):
            assert choose_amp_dtype(amp, CPU) is None
    with pytest.raises(OptionError, match="no AVX-512"):
        choose_amp_dtype("bfloat16", CPU)
    native_bf16(False, emulable=True)
    with pytest.warns(RuntimeWarning, match="emulated and slower"):
        assert choose_amp_dtype("bfloat16", CPU) == "bfloat16"
    native_bf16(True)
    with warnings.catch_warnings():
        warnings.simplefilter("error")
        assert choose_amp_dtype("bfloat16", CPU) == "bfloat16"
    with pytest.raises(OptionError, match="on GPUs use amp='float16'"):
        choose_amp_dtype("bfloat16", GPU)
    with pytest.raises(OptionError, match="amp must be one of"):
        choose_amp_dtype("fp8", CPU)


BF16_RUN = """
import sys
import numpy as np
from gluoncnn.data import load_data
from gluoncnn.models import get_model
from gluoncnn.train import fit
train_iter, test_iter = load_data("fashion-mnist", 8, sample=True, train_size=16, test_size=8)
net = get_model(sys.argv[1], classes=10, in_channels=1)
hist = fit(net, train_iter, test_iter, 1, ctx="cpu", amp="bfloat16", max_batches=2,
           progress=False, plot=False, verbose=False)
assert np.isfinite(hist.records[0]["loss"]), hist.records
assert all(p.data().dtype == np.float32 for p in net.collect_params().values())
print("ok", hist.records[0]["test_acc"])
"""


@pytest.mark.skipif(not precision.cpu_can_emulate_bf16(),
                    reason="this CPU has no AVX-512: MXNet 1.9.1's oneDNN has no bfloat16 "
                           "kernels for it ('could not create a primitive descriptor')")
@pytest.mark.parametrize("model", ["lenet", "resnet20_cifar"])  # resnet20: option-A shortcut
def test_a_bfloat16_run_trains_and_keeps_float32_parameters(model, tmp_path):
    env = dict(os.environ, PYTHONPATH=REPO + os.pathsep + os.environ.get("PYTHONPATH", ""))
    proc = subprocess.run([sys.executable, "-c", BF16_RUN, model], env=env, cwd=tmp_path,
                          capture_output=True, text=True, timeout=300)
    assert proc.returncode == 0 and "ok" in proc.stdout, proc.stderr[-2000:]


def test_bfloat16_on_this_cpu_fails_before_training_when_it_cannot_run():
    if precision.cpu_can_emulate_bf16():
        pytest.skip("this CPU runs bfloat16")
    from test_train import tiny_net

    from gluoncnn.data import load_data
    from gluoncnn.train import fit
    train_iter, test_iter = load_data("fashion-mnist", 32, sample=True, train_size=32,
                                      test_size=32)
    with pytest.raises(OptionError, match="AVX-512"):
        fit(tiny_net(), train_iter, test_iter, 1, ctx="cpu", amp="bfloat16", progress=False,
            plot=False)
