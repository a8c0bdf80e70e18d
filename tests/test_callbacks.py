"""Callbacks around fit's loop: the hook set in order, a user-written callback, early stopping,
the best checkpoint, on_step (pruning masks use it) and the 'gluoncnn' logger."""
import json
import logging

import pytest
from test_train import QUIET, assert_same_params, params_of, tiny_net

from gluoncnn.data import load_data
from gluoncnn.errors import OptionError
from gluoncnn.train import (
    BestCheckpoint,
    Callback,
    EarlyStopping,
    History,
    TrainingState,
    fit,
    load_parameters,
)


def data(batch_size=32, train_size=96):
    return load_data("fashion-mnist", batch_size, sample=True, train_size=train_size,
                     test_size=64)


class Recorder(Callback):
    """A user-written callback: notes every hook it sees, and stops after ``stop_after``."""

    def __init__(self, stop_after=None):
        self.calls, self.stop_after = [], stop_after

    def on_train_begin(self, state):
        assert isinstance(state, TrainingState)
        self.calls.append("train_begin")

    def on_epoch_begin(self, state, epoch):
        self.calls.append(f"epoch_begin {epoch}")

    def on_batch_end(self, state, batch):
        self.calls.append(f"batch {state.epoch}.{batch}")

    def on_epoch_end(self, state, record):
        self.calls.append(f"epoch_end {record['epoch']} {record['test_acc'] is not None}")
        record["weight_norm"] = float(sum((p.data() ** 2).sum().asscalar()
                                          for p in state.net.collect_params().values()))
        if record["epoch"] == self.stop_after:
            state.stop_training = True

    def on_train_end(self, state):
        self.calls.append(f"train_end {state.status}")


def test_a_user_callback_sees_every_hook_in_order_and_can_stop_the_run():
    train_iter, test_iter = data()
    rec = Recorder(stop_after=2)
    hist = fit(tiny_net(), train_iter, test_iter, 5, ctx="cpu", max_batches=2, callbacks=[rec],
               verbose=False, **QUIET)
    assert rec.calls == ["train_begin",
                         "epoch_begin 1", "batch 1.1", "batch 1.2", "epoch_end 1 True",
                         "epoch_begin 2", "batch 2.1", "batch 2.2", "epoch_end 2 True",
                         "train_end stopped"]
    assert len(hist) == 2 and all(r["weight_norm"] > 0 for r in hist)  # keys it added


def test_an_object_with_some_hooks_is_a_callback_too():
    seen = []

    class EpochsOnly:
        def on_epoch_end(self, state, record):
            seen.append(record["epoch"])

    train_iter, test_iter = data()
    fit(tiny_net(), train_iter, test_iter, 2, ctx="cpu", max_batches=1, callbacks=EpochsOnly(),
        verbose=False, **QUIET)
    assert seen == [1, 2]
    with pytest.raises(OptionError, match="callbacks must be gluoncnn.train.Callback"):
        fit(tiny_net(), train_iter, test_iter, 1, ctx="cpu", callbacks=[print], **QUIET)


def test_interrupt_hooks_run_before_keyboard_interrupt_goes_on():
    class Stopper(Callback):
        def __init__(self):
            self.status = None

        def on_batch_end(self, state, batch):
            if state.epoch == 2:
                raise KeyboardInterrupt

        def on_interrupt(self, state):
            state.interrupt_notes.append("; noted by Stopper")

        def on_train_end(self, state):
            self.status = state.status

    train_iter, test_iter = data()
    stopper = Stopper()
    with pytest.raises(KeyboardInterrupt):
        fit(tiny_net(), train_iter, test_iter, 3, ctx="cpu", callbacks=[stopper], **QUIET)
    assert stopper.status == "interrupted"


def test_early_stopping_and_best_checkpoint(tmp_path, capsys):
    train_iter, test_iter = data()
    net = tiny_net()
    best = BestCheckpoint(tmp_path, monitor="test_acc")
    hist = fit(net, train_iter, test_iter, 6, ctx="cpu", lr=1e-12, max_batches=2,
               callbacks=[EarlyStopping("test_acc", patience=2), best], **QUIET)
    assert len(hist) == 3  # no improvement in epochs 2 and 3 (lr ~ 0)
    assert "early stopping: test_acc has not improved for 2 epoch(s)" in capsys.readouterr().out
    record = json.loads((tmp_path / "best.json").read_text())
    assert record["epoch"] == 1 and record["value"] == hist.best("test_acc")["test_acc"]
    again = tiny_net()
    load_parameters(again, tmp_path / "best.params")
    assert_same_params(params_of(again), params_of(net), rtol=1e-6, atol=1e-7)
    with pytest.raises(OptionError, match="patience"):
        EarlyStopping(patience=0)


def test_on_step_still_runs_after_every_step():
    train_iter, test_iter = data(batch_size=16, train_size=160)
    steps = []
    fit(tiny_net(), train_iter, test_iter, 2, ctx="cpu", max_batches=3, verbose=False,
        on_step=lambda net: steps.append(net is not None), **QUIET)
    assert steps == [True] * 6


def test_messages_go_through_the_gluoncnn_logger(caplog, tmp_path):
    train_iter, test_iter = data()
    logger = logging.getLogger("gluoncnn")
    logger.addHandler(caplog.handler)
    try:
        fit(tiny_net(), train_iter, test_iter, 1, ctx="cpu", max_batches=1, resume=True,
            checkpoint_dir=str(tmp_path), **QUIET)
    finally:
        logger.removeHandler(caplog.handler)
    assert any("no checkpoint in" in r.getMessage() and r.name == "gluoncnn"
               for r in caplog.records)


def test_history_is_still_a_history():
    train_iter, test_iter = data()
    hist = fit(tiny_net(), train_iter, test_iter, 1, ctx="cpu", max_batches=1, verbose=False,
               **QUIET)
    assert isinstance(hist, History) and hist.records[0]["epoch"] == 1
