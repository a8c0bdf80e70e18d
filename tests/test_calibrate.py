"""gluoncnn.train.calibrate: fit's measured choice of threads and precision, decided from injected
timings (so on any CPU), cached per machine and net, and measured for real on a tiny net."""
import mxnet as mx
import pytest

import gluoncnn
from gluoncnn import runtime
from gluoncnn.train import calibrate, precision
from gluoncnn.train.calibrate import Candidate

CPU = [mx.cpu()]
F1, F2, B1, B2 = Candidate(1, None), Candidate(2, None), Candidate(1, "bfloat16"), \
    Candidate(2, "bfloat16")


def decided(timings, failures=None):
    return calibrate.decide(list(timings) + list(failures or {}), timings, failures or {}, 64)


def test_the_fastest_wins_fewer_threads_on_a_tie_bfloat16_only_when_clearly_faster():
    assert decided({F1: 0.010, F2: 0.006}).threads == 2
    # within 3%: fewer threads (the Python thread feeding the engine needs a core too)
    assert decided({F1: 0.010, F2: 0.0098}).threads == 1
    assert decided({F1: 0.010, F2: 0.006, B1: 0.008, B2: 0.003}).amp_dtype == "bfloat16"
    choice = decided({F1: 0.010, F2: 0.006, B2: 0.0058})  # 3% faster: not worth bfloat16
    # 8% faster (LeNet on the AMX Xeon): not worth patching the whole process for
    assert decided({F1: 0.0069, F2: 0.0075, B1: 0.0064}).amp_dtype is None
    assert decided({F1: 0.0069, B1: 0.0058}).amp_dtype == "bfloat16"  # 16% faster
    assert (choice.threads, choice.amp_dtype) == (2, None)
    assert "bfloat16 1.03x float32's speed -> float32, 2 threads" in choice.reason
    choice = decided({F1: 0.010, F2: 0.020}, {B1: "Non-uniform data type in Concat"})
    assert (choice.threads, choice.amp_dtype) == (1, None)
    assert "bfloat16, 1 thread failed (Non-uniform data type in Concat)" in choice.reason
    assert choice.timings == {"float32, 1 thread": 0.01, "float32, 2 threads": 0.02}


def test_precision_candidates(monkeypatch):
    monkeypatch.setattr(precision, "_initialised_dtype", None)
    monkeypatch.setattr(runtime, "cpu_has_native_bf16", lambda: True)
    assert calibrate.precision_candidates("auto", CPU) == (None, "bfloat16")
    assert calibrate.precision_candidates(None, CPU) == (None,)
    assert calibrate.precision_candidates("bfloat16", CPU) == ("bfloat16",)
    assert calibrate.precision_candidates("auto", [mx.gpu(0)]) == ("float16",)
    monkeypatch.setattr(runtime, "cpu_has_native_bf16", lambda: False)
    assert calibrate.precision_candidates("auto", CPU) == (None,)
    monkeypatch.setattr(precision, "_initialised_dtype", "bfloat16")  # amp.init cannot be undone
    assert calibrate.precision_candidates(None, CPU) == ("bfloat16",)


@pytest.fixture
def machine(monkeypatch, tmp_path):
    """A 2-core CPU with native bfloat16, an empty cache, no thread setting of the user's, and
    thread changes recorded instead of made."""
    monkeypatch.setenv("GLUONCNN_CACHE_DIR", str(tmp_path))
    monkeypatch.setenv("GLUONCNN_MEASURE", "1")
    monkeypatch.setattr(runtime, "_speed_memory", {})
    for name in ("OMP_NUM_THREADS", "GLUONCNN_THREADS", runtime._MARK):
        monkeypatch.delenv(name, raising=False)
    monkeypatch.setattr(runtime, "physical_cores", lambda: 2)
    monkeypatch.setattr(runtime, "cpu_has_native_bf16", lambda: True)
    monkeypatch.setattr(precision, "_initialised_dtype", None)
    applied = []
    monkeypatch.setattr(runtime, "apply_threads",
                        lambda choice, devices=(0,), force=False: applied.append(choice.count)
                        or True)
    monkeypatch.applied = applied
    return monkeypatch


def fake_measure(timings, calls):
    def measure(net, shape, ctx, candidates):
        calls.append([c.label for c in candidates])
        return {c: timings[c] for c in candidates}, {}
    return measure


def tiny_lenet():
    return gluoncnn.get_model("lenet", classes=10, in_channels=1)


def test_measured_once_then_read_from_the_cache(machine):
    calls = []
    measure = fake_measure({F1: 0.01, F2: 0.006, B1: 0.009, B2: 0.002}, calls)
    choice = calibrate.choose_speed(tiny_lenet(), (64, 1, 28, 28), CPU, "auto", measure=measure)
    assert (choice.threads, choice.amp_dtype, choice.cached) == (2, "bfloat16", False)
    assert calls == [["float32, 1 thread", "float32, 2 threads", "bfloat16, 1 thread",
                      "bfloat16, 2 threads"]]
    assert machine.applied == [2] and runtime.thread_choice().source == runtime.MEASURED
    again = calibrate.choose_speed(tiny_lenet(), (64, 1, 28, 28), CPU, "auto", measure=measure)
    assert (again.threads, again.amp_dtype, again.cached, again.cost) == (2, "bfloat16", True, 0)
    assert len(calls) == 1  # another instance of the same net: its layer names differ, not its key
    calibrate.choose_speed(tiny_lenet(), (32, 1, 28, 28), CPU, "auto", measure=measure)
    assert len(calls) == 2  # another batch is another measurement
    assert len(runtime.read_speed_cache()) == 2


def test_a_count_the_user_fixed_is_kept_and_only_precision_measured(machine):
    calls = []
    measure = fake_measure({F2: 0.01, B2: 0.02}, calls)
    machine.setenv("GLUONCNN_THREADS", "2")
    choice = calibrate.choose_speed(tiny_lenet(), (64, 1, 28, 28), CPU, "auto", measure=measure)
    assert calls == [["float32, 2 threads", "bfloat16, 2 threads"]]
    assert (choice.threads, choice.amp_dtype) == (2, None) and machine.applied == []
    choice = calibrate.choose_speed(tiny_lenet(), (64, 1, 28, 28), CPU, None, threads=1,
                                    measure=measure)
    assert (choice.threads, choice.amp_dtype, len(calls)) == (1, None, 1)  # one candidate
    assert machine.applied == [1]


def test_gpus_are_not_measured(machine):
    def measure(*args):
        raise AssertionError("measured")
    choice = calibrate.choose_speed(tiny_lenet(), (64, 1, 28, 28), [mx.gpu(0)], "auto",
                                    measure=measure)
    assert (choice.threads, choice.amp_dtype) == (None, "float16")


def test_an_unwritable_cache_warns_once_and_keeps_the_choice(machine, tmp_path):
    blocker = tmp_path / "file"
    blocker.write_text("")
    machine.setenv("GLUONCNN_CACHE_DIR", str(blocker / "cache"))
    calls = []
    measure = fake_measure({F1: 0.01, F2: 0.006}, calls)
    machine.setattr(runtime, "cpu_has_native_bf16", lambda: False)
    machine.setattr(runtime, "_speed_cache_warned", False)
    with pytest.warns(RuntimeWarning, match="could not save what it measured"):
        calibrate.choose_speed(tiny_lenet(), (8, 1, 28, 28), CPU, None, measure=measure)
    calibrate.choose_speed(tiny_lenet(), (8, 1, 28, 28), CPU, None, measure=measure)
    assert len(calls) == 1


def test_real_measurement_on_a_tiny_net_switches_threads_safely():
    """Real passes at 1 and 2 threads and both precisions: every thread change starts new engine
    workers (a kernel created for one count corrupts memory when run with another)."""
    net = gluoncnn.get_model("lenet", classes=10, in_channels=1)
    candidates = [F1, F2]
    if precision.cpu_can_emulate_bf16():
        candidates += [B1, B2]
    timings, failures = calibrate.measure_candidates(net, (4, 1, 28, 28), mx.cpu(), candidates)
    assert failures == {} and set(timings) == set(candidates)
    assert all(t > 0 for t in timings.values())


def test_training_graph_has_every_output_and_a_structure_key():
    net = gluoncnn.get_model("googlenet", classes=10, in_channels=1, small_input=True,
                             width=0.25, aux_logits=True)
    assert len(calibrate.training_symbol(net).list_outputs()) == 3  # logits and two aux heads
    a = calibrate.cache_key(tiny_lenet(), (8, 1, 28, 28), 1, [F1, F2])
    assert a == calibrate.cache_key(tiny_lenet(), (8, 1, 28, 28), 1, [F1, F2])
    assert a != calibrate.cache_key(gluoncnn.get_model("lenet_bn", classes=10, in_channels=1),
                                    (8, 1, 28, 28), 1, [F1, F2])


def test_fit_records_what_it_chose(tmp_path, monkeypatch):
    monkeypatch.setenv("GLUONCNN_CACHE_DIR", str(tmp_path))
    monkeypatch.setenv("GLUONCNN_MEASURE", "1")
    monkeypatch.setattr(runtime, "_speed_memory", {})
    train_iter, test_iter = gluoncnn.load_data("fashion-mnist", 16, sample=True)
    history = gluoncnn.fit(tiny_lenet(), train_iter, test_iter, epochs=1, max_batches=2,
                           progress=False, plot=False, verbose=False, amp=None, seed=0)
    assert history.meta["threads"] in runtime.thread_candidates()
    assert history.meta["speed"].startswith("measured on this machine (batch 16")
    assert len(runtime.read_speed_cache()) == 1


def test_quick_mode_and_measure_0_do_not_measure(machine):
    def measure(*args):
        raise AssertionError("measured")
    machine.setenv("GLUONCNN_MEASURE", "0")
    choice = calibrate.choose_speed(tiny_lenet(), (8, 1, 28, 28), CPU, "auto", measure=measure)
    assert choice.amp_dtype is None and "not measured" in choice.reason
    machine.delenv("GLUONCNN_MEASURE")
    machine.setenv("GLUONCNN_QUICK", "1")
    assert not runtime.measuring_enabled()
    machine.setenv("GLUONCNN_MEASURE", "1")
    assert runtime.measuring_enabled()


def test_a_net_no_candidate_can_run_still_trains_unmeasured(machine):
    """Measuring is a speed-up: when every candidate fails (a kernel missing for the graph),
    fit gets every core and float32 instead of an error, and nothing is cached."""
    def measure(net, shape, ctx, candidates):
        return {}, {c: "could not create a primitive" for c in candidates}
    choice = calibrate.choose_speed(tiny_lenet(), (8, 1, 28, 28), CPU, "auto", measure=measure)
    assert (choice.threads, choice.amp_dtype) == (2, None)
    assert choice.reason.startswith("not measured: no candidate ran (could not create")
    assert machine.applied == [2] and runtime.read_speed_cache() == {}


def _abort():
    import os
    import signal
    os.kill(os.getpid(), signal.SIGABRT)


def test_in_child_returns_results_and_survives_a_crashing_kernel():
    """Each precision is measured in a child process: a kernel that corrupts memory (MXNet 1.9.1's
    AMX bfloat16 kernels on NiN) fails as a candidate instead of killing the caller."""
    assert calibrate.in_child(lambda: (1, "two")) == (True, (1, "two"))
    ok, why = calibrate.in_child(_abort)
    assert not ok and "crashed MXNet (SIGABRT)" in why
    ok, why = calibrate.in_child(lambda: 1 / 0)
    assert not ok and "division by zero" in why


def test_a_precision_that_crashes_is_a_failed_candidate(monkeypatch):
    original = calibrate._measured_pairs

    def pairs(net, shape, ctx, mine):  # runs in the child: bfloat16's "kernels" crash
        if mine[0].dtype == "bfloat16":
            _abort()
        return original(net, shape, ctx, mine)
    monkeypatch.setattr(calibrate, "_measured_pairs", pairs)
    net = gluoncnn.get_model("lenet", classes=10, in_channels=1)
    timings, failures = calibrate.measure_candidates(net, (4, 1, 28, 28), mx.cpu(), [F1, B1])
    assert set(timings) == {F1} and "crashed MXNet (SIGABRT)" in failures[B1]
    choice = calibrate.decide([F1, B1], timings, failures, 4)
    assert choice.amp_dtype is None and "bfloat16, 1 thread failed (crashed MXNet" in choice.reason


def test_amp_bfloat16_is_refused_with_one_line_when_it_crashes_here(monkeypatch, tmp_path):
    monkeypatch.setenv("GLUONCNN_CACHE_DIR", str(tmp_path))
    monkeypatch.setattr(calibrate, "in_child", lambda fn: (False, "crashed MXNet (SIGSEGV): "
                                                          "a kernel bug of MXNet 1.9.1"))
    from gluoncnn.errors import OptionError
    with pytest.raises(OptionError, match=r"amp='bfloat16': a bfloat16 training pass of this "
                                          r"net crashed MXNet \(SIGSEGV\).*amp='off'"):
        calibrate.check_bfloat16_runs(tiny_lenet(), (8, 1, 28, 28), mx.cpu())
    # remembered: no second child
    monkeypatch.setattr(calibrate, "in_child", lambda fn: pytest.fail("measured twice"))
    with pytest.raises(OptionError):
        calibrate.check_bfloat16_runs(tiny_lenet(), (8, 1, 28, 28), mx.cpu())


def test_evaluation_precision_is_measured_apart_from_training(monkeypatch, tmp_path):
    """Issue 28: amp='auto' evaluates in bfloat16 where a forward pass is clearly faster in it,
    though training stays float32; the decision is cached, and follows the training otherwise."""
    monkeypatch.setenv("GLUONCNN_CACHE_DIR", str(tmp_path))
    monkeypatch.delenv("GLUONCNN_MEASURE", raising=False)
    monkeypatch.delenv("GLUONCNN_QUICK", raising=False)
    monkeypatch.setattr(runtime, "cpu_has_native_bf16", lambda: True)
    seconds = {None: 0.010, "bfloat16": 0.006}
    monkeypatch.setattr(calibrate, "in_child", lambda fn: (True, seconds[fn.args[3]]))
    net, shape = tiny_lenet(), (8, 1, 28, 28)
    dtype, why = calibrate.choose_eval_dtype(net, shape, mx.cpu(), "auto", None)
    assert dtype == "bfloat16" and "float32 10.0 ms, bfloat16 6.0 ms -> bfloat16" in why
    seconds["bfloat16"] = 0.0098  # 2% faster: not worth it, but cached: the first answer stays
    assert calibrate.choose_eval_dtype(net, shape, mx.cpu(), "auto", None)[0] == "bfloat16"
    assert calibrate.choose_eval_dtype(net, shape, mx.cpu(), "auto", None,
                                       use_cache=False)[0] is None
    assert calibrate.choose_eval_dtype(net, shape, mx.cpu(), "auto", "bfloat16") == \
        ("bfloat16", "as the training")
    assert calibrate.choose_eval_dtype(net, shape, mx.cpu(), "off", None)[0] is None
    monkeypatch.setattr(runtime, "cpu_has_native_bf16", lambda: False)
    assert calibrate.choose_eval_dtype(net, shape, mx.cpu(), "auto", None,
                                       use_cache=False)[0] is None


@pytest.mark.skipif(not precision.cpu_can_emulate_bf16(), reason="no bfloat16 on this CPU")
def test_a_bfloat16_evaluation_copy_agrees_and_a_disagreeing_one_is_dropped(monkeypatch):
    from gluoncnn.train import engine
    net = tiny_lenet()
    net.initialize(mx.init.Xavier())
    net.hybridize()
    X = mx.nd.random.uniform(shape=(16, 1, 28, 28))
    net(X)
    low = precision.LowPrecisionEvaluation(net, mx.cpu())
    assert low.block()(X).shape == (16, 10) and low.agreement(X) >= 0.9

    class State:
        pass
    state = State()
    state.net, state.ctxs, state.low_precision_eval = net, [mx.cpu()], low
    state.history = gluoncnn.train.History(meta={})
    monkeypatch.setattr(low, "agreement", lambda X: 0.5)
    assert engine.evaluated_net(state, [(X, mx.nd.zeros(16))]) is net
    assert state.low_precision_eval is None
    assert "agreed with it on 50.0% of a test batch" in state.history.meta["eval_precision"]


def test_a_net_with_training_only_parameters_evaluates_in_float32(monkeypatch, tmp_path):
    """GoogLeNet's auxiliary heads are not in its inference graph: amp.convert_hybrid_block
    cannot copy such a net (it asserts), so it is evaluated in float32."""
    monkeypatch.setenv("GLUONCNN_CACHE_DIR", str(tmp_path))
    monkeypatch.delenv("GLUONCNN_MEASURE", raising=False)
    monkeypatch.delenv("GLUONCNN_QUICK", raising=False)
    monkeypatch.setattr(runtime, "cpu_has_native_bf16", lambda: True)
    monkeypatch.setattr(calibrate, "in_child", lambda fn: pytest.fail("nothing to measure"))
    net = gluoncnn.get_model("googlenet", classes=10, in_channels=1, width=0.25, aux_logits=True)
    assert calibrate.choose_eval_dtype(net, (4, 1, 72, 72), mx.cpu(), "auto", None) == \
        (None, "float32: some parameters are used in training only")
