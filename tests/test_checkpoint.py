"""Checkpoints that are data, never code: optimizer state as plain arrays read back without
unpickling, sha256 checks naming the file, clear errors for truncated files, resume staying
bit-identical (Adam's update counts, two devices), and divergence beyond NaN."""
import json
import os
import pickle

import mxnet as mx
import numpy as np
import pytest
from test_train import QUIET, assert_same_params, params_of, tiny_net

from gluoncnn.data import load_data
from gluoncnn.errors import FileFormatError, GluonCNNError, OptionError
from gluoncnn.models import get_model
from gluoncnn.train import TrainingDivergedError, fit, load_checkpoint, load_parameters


def data(batch_size=32, train_size=128):
    return load_data("fashion-mnist", batch_size, sample=True, train_size=train_size,
                     test_size=64)


KW = dict(ctx="cpu", lr=0.05, schedule="step:1", seed=5, max_batches=2, verbose=False, **QUIET)


def run(epochs, folder=None, **extra):
    train_iter, test_iter = data()
    net = tiny_net(dropout=0.2)
    args = dict(KW, **extra)
    if folder is not None:
        args["checkpoint_dir"] = str(folder)
    return net, fit(net, train_iter, test_iter, epochs, **args)


class Payload:
    """Unpickling this creates ``path``: evidence that a pickle was executed."""

    def __init__(self, path):
        self.path = path

    def __reduce__(self):
        return (open, (self.path, "w"))


def plant_pickle(path, marker):
    with open(path, "wb") as f:
        pickle.dump(Payload(str(marker)), f)


def edit_records(folder, change):
    for name in ("last.json", "epoch-0001.json"):
        p = folder / name
        record = json.loads(p.read_text())
        change(record)
        p.write_text(json.dumps(record))


def test_record_format_and_optimizer_state_without_pickle(tmp_path):
    run(1, tmp_path, optimizer="adam")
    record = json.loads((tmp_path / "last.json").read_text())
    assert record["states_format"] == "nd-v1" and record["states"] == "epoch-0001.states"
    assert set(record["sha256"]) == {"epoch-0001.params", "epoch-0001.states"}
    state = record["optimizer_state"]
    assert state["optimizer"] == "adam" and state["num_update"] == 2
    arrays = mx.nd.load(str(tmp_path / "epoch-0001.states"))  # a plain array file
    assert isinstance(arrays, dict) and len(arrays) == 2 * len(state["layout"])  # Adam: m, v
    with open(tmp_path / "epoch-0001.states", "rb") as f:
        assert not f.read(2).startswith(b"\x80")  # not a pickle stream


@pytest.mark.parametrize("optimizer,ctx", [("adam", "cpu"), ("sgd", ["cpu:0", "cpu:1"]),
                                           ("rmsprop", "cpu")])
def test_resume_is_bit_identical(tmp_path, optimizer, ctx):
    straight_net, straight = run(3, optimizer=optimizer, ctx=ctx)
    run(1, tmp_path, optimizer=optimizer, ctx=ctx)
    resumed_net, resumed = run(3, tmp_path, resume=True, optimizer=optimizer, ctx=ctx)
    assert_same_params(params_of(straight_net), params_of(resumed_net), rtol=0, atol=0)
    assert resumed.column("loss") == straight.column("loss")


def test_a_crafted_pickle_in_the_folder_is_never_executed(tmp_path):
    marker = tmp_path / "pwned"
    run(1, tmp_path / "ck")
    folder = tmp_path / "ck"
    plant_pickle(folder / "epoch-0001.states", marker)
    # the record's sha256 no longer matches: refused, naming the file
    with pytest.raises(FileFormatError, match="epoch-0001.states does not match the sha256"):
        run(2, folder, resume=True)
    # a record edited to drop the checksum: the file is read as arrays, and is not arrays
    edit_records(folder, lambda r: r.pop("sha256"))
    with pytest.raises(FileFormatError, match="epoch-0001.states is not a valid MXNet array"):
        run(2, folder, resume=True)
    # a record claiming the old (pickle) format: the state is skipped with a warning
    edit_records(folder, lambda r: (r.pop("states_format"), r.pop("optimizer_state")))
    with pytest.warns(RuntimeWarning, match="old pickle format.*ever unpickled"):
        _, hist = run(2, folder, resume=True)
    assert len(hist) == 2
    assert not marker.exists()


def test_changed_or_truncated_parameters_are_named(tmp_path):
    run(1, tmp_path)
    params = tmp_path / "epoch-0001.params"
    blob = bytearray(params.read_bytes())
    blob[-5] ^= 0xFF  # one flipped bit pattern in the weights
    params.write_bytes(bytes(blob))
    with pytest.raises(FileFormatError, match="epoch-0001.params does not match the sha256"):
        load_checkpoint(tmp_path)
    params.write_bytes(bytes(blob[:len(blob) // 2]))
    net = tiny_net(dropout=0.2)
    with pytest.raises(FileFormatError, match=r"epoch-0001.params is not a valid MXNet parameter "
                                              r"file \(empty, truncated or not written by "
                                              r"save_parameters\)$"):
        load_parameters(net, params)
    params.write_bytes(b"")
    with pytest.raises(GluonCNNError, match="epoch-0001.params"):
        load_parameters(net, params)
    # resuming from it (a record without the checksum): the loader's message, and what to do
    edit_records(tmp_path, lambda r: r.pop("sha256"))
    with pytest.raises(FileFormatError, match=r"epoch-0001.params is not a valid MXNet parameter "
                                              r"file .*\); resume from another checkpoint"):
        run(2, tmp_path, resume=True)


def test_resume_with_another_optimizer_is_refused(tmp_path):
    run(1, tmp_path, optimizer="sgd")
    with pytest.raises(OptionError, match="'sgd''s but this run uses 'adam'"):
        run(2, tmp_path, resume=True, optimizer="adam")


def test_growing_loss_stops_like_nan_and_keeps_the_last_good_checkpoint(tmp_path):
    """Issue 15, case 6: the sigmoid LeNet at lr 1e6 climbs to a loss of 1e8 without NaN."""
    train_iter, test_iter = data(train_size=256)
    args = dict(ctx="cpu", seed=0, checkpoint_dir=str(tmp_path), verbose=False, **QUIET)
    with pytest.raises(TrainingDivergedError, match="No checkpoint was written"):
        fit(get_model("lenet"), train_iter, test_iter, 2, lr=1e6, **args)
    assert not os.path.exists(tmp_path / "last.json")
    net = get_model("lenet")
    fit(net, train_iter, test_iter, 1, lr=0.1, **args)
    good = params_of(net)
    with pytest.warns(RuntimeWarning, match="lr=1000000.0"):
        with pytest.raises(TrainingDivergedError) as err:
            fit(net, train_iter, test_iter, 3, lr=1e6, resume=True, **args)
    e = err.value
    assert e.epoch == 2 and "grew to" in str(e) and "over 100 times its start" in str(e)
    assert e.checkpoint.endswith("epoch-0001.params")
    assert json.loads((tmp_path / "last.json").read_text())["epoch"] == 1
    assert not os.path.exists(tmp_path / "epoch-0002.params")
    assert all(np.isfinite(v).all() for v in params_of(net).values())
    assert_same_params(params_of(net), good, rtol=0, atol=0)  # put back: the last checked state


@pytest.mark.parametrize("kwargs,message", [
    ({"lr": 3.5e38}, "below 3.4e38"),
    ({"lr": float("inf")}, "lr must be a positive number"),
    ({"lr": float("nan")}, "lr must be a positive number"),
    ({"wd": float("nan")}, "wd \\(weight decay\\) must be a finite number"),
    ({"wd": float("inf")}, "wd \\(weight decay\\) must be a finite number"),
    ({"aux_weight": float("nan")}, "aux_weight"),
    ({"momentum": float("nan")}, "momentum"),
])
def test_non_finite_numbers_are_refused(kwargs, message):
    train_iter, test_iter = data()
    with pytest.raises(OptionError, match=message):
        fit(tiny_net(), train_iter, test_iter, 1, ctx="cpu", verbose=False, **QUIET, **kwargs)


def test_train_ch5_stops_on_a_nan_loss_naming_epoch_and_batch():
    from mxnet import gluon
    from test_train import PoisonedLoader

    from gluoncnn.train import train_ch5
    train_iter, test_iter = data(train_size=96)
    net = get_model("lenet")
    net.initialize()
    trainer = gluon.Trainer(net.collect_params(), "sgd", {"learning_rate": 0.1})
    poisoned = PoisonedLoader(train_iter, epoch=1, batch=2)  # its +1 is our epoch 2: no peek
    with pytest.raises(TrainingDivergedError, match="became nan in epoch 2, batch 2") as err:
        train_ch5(net, poisoned, test_iter, 32, trainer, mx.cpu(), 3)
    assert "learning rate of the trainer" in str(err.value)
    assert all(np.isfinite(v).all() for v in params_of(net).values())
