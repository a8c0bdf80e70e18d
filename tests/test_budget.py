"""Training to a time budget (``fit(..., budget=...)``, ``gluoncnn train --budget``): the schedule
over the budget's fraction, the evaluations, the final one, resuming, and the settings.

Time never comes from the machine: a fake clock advances when a batch is loaded (a second per
training batch, half a second per test batch), so every number below is exact on any CPU.
"""
import json

import numpy as np
import pytest
from mxnet.gluon import nn

from gluoncnn import cli, course
from gluoncnn.data import load_data
from gluoncnn.errors import OptionError
from gluoncnn.train import BudgetSchedule, Callback, fit, load_checkpoint, parse_budget

QUIET = dict(ctx="cpu", progress=False, plot=False, verbose=False)
TRAIN_SECONDS, TEST_SECONDS = 1.0, 0.5


class FakeClock:
    def __init__(self, now=0.0):
        self.now = now

    def __call__(self):
        return self.now


class Timed:
    """A loader whose every batch takes ``seconds`` of the fake clock to load."""

    def __init__(self, loader, clock, seconds):
        self.loader, self.clock, self.seconds = loader, clock, seconds

    def __len__(self):
        return len(self.loader)

    def __iter__(self):
        for batch in self.loader:
            self.clock.now += self.seconds
            yield batch


def timed_data(clock):
    """8 training batches of 16 sample images (4 per record), 4 test batches."""
    train_iter, test_iter = load_data("fashion-mnist", 16, sample=True, train_size=128,
                                      test_size=64)
    return Timed(train_iter, clock, TRAIN_SECONDS), Timed(test_iter, clock, TEST_SECONDS)


def tiny_net():
    net = nn.HybridSequential()
    net.add(nn.Conv2D(4, 5, strides=2, activation="relu"), nn.MaxPool2D(2), nn.Dropout(0.2),
            nn.Dense(16, activation="relu"), nn.Dense(10))
    return net


def budget_fit(budget=30, clock=None, net=None, **kwargs):
    clock = clock or FakeClock()
    train_iter, test_iter = timed_data(clock)
    net = net or tiny_net()
    history = fit(net, train_iter, test_iter, budget=budget, clock=clock, lr=0.1,
                  schedule="linear", seed=7, **QUIET, **kwargs)
    return net, history


def column(history, key):
    return [r[key] for r in history]


class StopAfter(Callback):
    def __init__(self, records):
        self.records = records

    def on_epoch_end(self, state, record):
        state.stop_training = record["epoch"] == self.records


# ------------------------------------------------------------------------------ the schedule
def test_budget_schedules_are_functions_of_the_elapsed_fraction():
    linear = BudgetSchedule(0.1, "linear")  # Li, Yumer and Ramanan (ICLR 2020)
    assert [linear(p) for p in (0, 0.25, 0.5, 1)] == pytest.approx([0.1, 0.075, 0.05, 0])
    cosine = BudgetSchedule(0.1, "cosine")
    assert [cosine(p) for p in (0, 0.5, 1)] == pytest.approx([0.1, 0.05, 0])
    warm = BudgetSchedule(0.1, "linear", warmup_fraction=0.2)  # then decays over the rest
    assert [warm(p) for p in (0, 0.1, 0.2, 0.6, 1)] == pytest.approx([0, 0.05, 0.1, 0.05, 0])
    step = BudgetSchedule(0.1, "step")
    assert [step(p) for p in (0.49, 0.5, 0.75)] == pytest.approx([0.1, 0.01, 0.001])
    assert BudgetSchedule(0.1, "step:0.3")(0.3) == pytest.approx(0.01)
    assert BudgetSchedule(0.1)(0.9) == 0.1
    assert BudgetSchedule(1.0, lambda p: 1 - p)(0.25) == 0.75


@pytest.mark.parametrize("spec, message", [
    ("plateau", "no budget form"), ("step:2", "fractions of the budget"),
    ("warp", "unknown learning-rate schedule")])
def test_bad_budget_schedules(spec, message):
    with pytest.raises(OptionError, match=message):
        BudgetSchedule(0.1, spec)


@pytest.mark.parametrize("text, seconds", [
    ("90s", 90), ("10m", 600), ("10min", 600), ("1h", 3600), ("1.5h", 5400), ("600", 600),
    (45, 45), (0.5, 0.5)])
def test_parse_budget(text, seconds):
    assert parse_budget(text) == seconds


@pytest.mark.parametrize("value", ["0", "-5m", "ten", "5d", "", "1e3", True, float("nan"), 0])
def test_bad_budgets_are_one_line(value):
    with pytest.raises(OptionError, match="budget must be a positive duration") as err:
        parse_budget(value)
    assert "\n" not in str(err.value)


# ------------------------------------------------------------------------------ fit
def test_evaluations_every_half_epoch_and_a_final_one_within_the_budget():
    # 1 s per training batch, 2 s per evaluation: records after 4 batches each; the fifth
    # stops after 2 batches, when the time left covers only an evaluation and two batches
    net, history = budget_fit(budget=30)
    assert column(history, "epoch") == [1, 2, 3, 4, 5]
    assert column(history, "epochs_reached") == [0.5, 1.0, 1.5, 2.0, 2.25]
    assert column(history, "images") == [64, 128, 192, 256, 288]
    assert column(history, "elapsed") == [6, 12, 18, 24, 28]  # evaluations included, <= 30
    assert column(history, "time") == [6, 6, 6, 6, 4]
    assert all(r["test_acc"] is not None for r in history)
    # linear decay over the budget: the rate at each record's last batch (loaded at 4, 10, ...)
    assert column(history, "lr") == pytest.approx([0.1 * (1 - t / 30) for t in (4, 10, 16, 22,
                                                                                26)])
    assert history.meta["epochs_reached"] == 2.25 and history.meta["budget"] == 30
    assert repr(history).startswith("History(5 records, 2.25 epochs; last: loss ")


def test_epochs_and_budget_whichever_ends_first():
    net, history = budget_fit(budget=1000, epochs=1)
    assert column(history, "epochs_reached") == [0.5, 1.0]
    # the schedule follows the nearer end, the epochs': lr * (1 - batches / 8) at batches 3, 7
    assert column(history, "lr") == pytest.approx([0.1 * 5 / 8, 0.1 / 8])


def test_a_budget_that_cannot_fit_one_evaluation_is_one_clear_error():
    with pytest.raises(OptionError, match="cannot fit even one evaluation") as err:
        budget_fit(budget=2)  # 4 test batches take about 2 s, the whole budget
    assert "\n" not in str(err.value)


@pytest.mark.parametrize("kwargs, message", [
    ({"epochs": None}, "give epochs= .* or budget="),  # fit's epochs default to 10
    ({"budget": "ten"}, "budget must be a positive duration"),
    ({"budget": 60, "warmup_epochs": 1}, "warmup_fraction="),
    ({"budget": 60, "warmup_fraction": 1.5}, "warmup_fraction must be in"),
    ({"budget": 60, "schedule": "plateau"}, "no budget form"),
    ({"epochs": 2, "warmup_fraction": 0.1}, "warmup_epochs="),
])
def test_bad_budget_options_fail_before_training(kwargs, message):
    clock = FakeClock()
    train_iter, test_iter = timed_data(clock)
    with pytest.raises(OptionError, match=message):
        fit(tiny_net(), train_iter, test_iter, **kwargs, **QUIET)
    assert clock.now == 0  # not a batch was loaded


@pytest.mark.parametrize("stop_after", [1, 2])  # in the middle of an epoch; at its end
def test_resume_continues_the_same_budget(tmp_path, stop_after):
    straight_net, straight = budget_fit(budget=30)
    budget_fit(budget=30, checkpoint_dir=str(tmp_path), callbacks=[StopAfter(stop_after)])
    saved = load_checkpoint(str(tmp_path))["budget_state"]
    assert saved["elapsed"] == 6 * stop_after and saved["batch"] == 4 * stop_after
    # another process, its clock elsewhere: the budget goes on from the seconds spent
    resumed_net, resumed = budget_fit(budget=30, clock=FakeClock(1000.0),
                                      checkpoint_dir=str(tmp_path), resume=True)
    for key in ("epochs_reached", "images", "elapsed", "lr"):
        assert column(resumed, key) == pytest.approx(column(straight, key)), key
    assert column(resumed, "loss") == pytest.approx(column(straight, "loss"), rel=1e-5)
    for (name, a), b in zip(straight_net.collect_params().items(),
                            resumed_net.collect_params().values()):
        np.testing.assert_allclose(a.data().asnumpy(), b.data().asnumpy(), rtol=1e-5,
                                   atol=1e-6, err_msg=name)
    # the budget spent: nothing more to train
    _, again = budget_fit(budget=30, checkpoint_dir=str(tmp_path), resume=True)
    assert len(again) == 5


# ------------------------------------------------------------------------------ command line
@pytest.mark.parametrize("text, seconds", [("90s", 90), ("10m", 600), ("1h", 3600)])
def test_cli_budget_is_seconds_and_lifts_the_epoch_default(text, seconds):
    settings = cli.train_settings(["--model", "lenet", "--budget", text])
    assert settings["budget"] == seconds and settings["epochs"] is None


def test_cli_bad_budget_is_one_line(capsys):
    code = cli.main(["train", "--model", "lenet", "--sample", "--budget", "ten"])
    err = capsys.readouterr().err.strip()
    assert code == 2 and "\n" not in err
    assert "--budget" in err and "expected a duration such as 90s, 10m or 1h" in err


def test_cli_budget_is_recorded_and_kept_on_resume(tmp_path, capsys):
    out = tmp_path / "run"
    train = ["train", "--model", "lenet", "--sample", "--max-batches", "3", "--batch-size", "64",
             "--ctx", "cpu", "--seed", "0", "--progress", "off", "--no-plot", "--out", str(out)]
    assert cli.main([*train, "--budget", "1h", "--epochs", "1"]) == 0
    assert "for 1 h (at most 1 epochs)" in capsys.readouterr().out
    run = json.loads((out / "run.json").read_text())
    assert run["settings"]["budget"] == 3600 and run["epochs_reached"] == 1.0
    assert cli.main(["train", "--out", str(out), "--resume", "--epochs", "2"]) == 0
    run = json.loads((out / "run.json").read_text())
    assert run["settings"]["budget"] == 3600 and run["settings"]["epochs"] == 2
    records = json.loads((out / "history.json").read_text())["records"]
    assert [r["epochs_reached"] for r in records] == pytest.approx([2 / 3, 1, 5 / 3, 2],
                                                                   abs=1e-4)


# ------------------------------------------------------------------------------ the course
def test_cpu_preset_gives_each_training_chapter_a_budget_of_at_most_10_minutes():
    for presets in course.PRESETS.values():
        cpu = presets["cpu"]
        if cpu.model is not None and cpu.budget is not None:  # 00, 12 train nothing; 05, 11 epochs
            assert 0 < cpu.budget_minutes <= 10 and cpu.budget == cpu.budget_minutes * 60
        assert presets["gpu"].budget is None and presets["quick"].budget is None
        for label in cpu.variants:  # a chapter shares its budget among its nets
            assert cpu.variant(label).budget == cpu.budget
    assert sum(p["cpu"].budget_minutes or 0 for p in course.PRESETS.values()) <= 100
    assert course.settings("07-resnet", "cpu").epochs is None  # the budget ends the run
