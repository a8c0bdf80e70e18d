"""TensorBoard logs from fit(log_dir=...), read back from the event files (TFRecord framing,
checked with its CRCs, and tensorboardX's Event protobuf)."""
import os
import struct
import sys

import pytest
from test_train import QUIET, tiny_net

from gluoncnn.data import load_data
from gluoncnn.errors import OptionError
from gluoncnn.train import TensorBoard, fit

tensorboardX = pytest.importorskip("tensorboardX")
from tensorboardX.proto import event_pb2  # noqa: E402
from tensorboardX.record_writer import masked_crc32c  # noqa: E402


def read_events(folder):
    """Every Event in the folder's event files, in order."""
    events = []
    for name in sorted(os.listdir(folder)):
        if "tfevents" not in name:
            continue
        data = open(os.path.join(folder, name), "rb").read()
        pos = 0
        while pos < len(data):
            header = data[pos:pos + 8]
            (length,) = struct.unpack("<Q", header)
            assert struct.unpack("<I", data[pos + 8:pos + 12])[0] == masked_crc32c(header)
            body = data[pos + 12:pos + 12 + length]
            assert struct.unpack("<I", data[pos + 12 + length:pos + 16 + length])[0] == \
                masked_crc32c(body)
            event = event_pb2.Event()
            event.ParseFromString(body)
            events.append(event)
            pos += 16 + length
    return events


def scalars(events):
    out = {}
    for e in events:
        for v in e.summary.value:
            if v.HasField("simple_value"):
                out.setdefault(v.tag, []).append((e.step, v.simple_value))
    return out


def data():
    return load_data("fashion-mnist", 32, sample=True, train_size=96, test_size=64)


def test_fit_writes_epoch_scalars_that_read_back(tmp_path):
    train_iter, test_iter = data()
    hist = fit(tiny_net(), train_iter, test_iter, 2, ctx="cpu", lr=0.1, schedule="step:1",
               max_batches=2, log_dir=str(tmp_path), verbose=False, **QUIET)
    values = scalars(read_events(tmp_path))
    for key, tag in [("loss", "train/loss"), ("train_acc", "train/acc"),
                     ("test_acc", "test/acc"), ("test_loss", "test/loss"), ("lr", "train/lr")]:
        assert [s for s, _ in values[tag]] == [1, 2], tag
        assert [v for _, v in values[tag]] == pytest.approx(hist.column(key), rel=1e-6), tag
    assert [v for _, v in values["train/lr"]] == pytest.approx([0.1, 0.01])


def test_weight_and_gradient_histograms(tmp_path):
    train_iter, test_iter = data()
    net = tiny_net()
    fit(net, train_iter, test_iter, 1, ctx="cpu", max_batches=1, verbose=False,
        callbacks=[TensorBoard(tmp_path, histograms=True)], **QUIET)
    tags = {v.tag for e in read_events(tmp_path) for v in e.summary.value if v.HasField("histo")}
    names = list(net.collect_params())
    assert {f"weights/{n}" for n in names} <= tags and {f"grads/{n}" for n in names} <= tags


def test_without_tensorboardx_log_dir_says_what_to_install(tmp_path, monkeypatch, capsys):
    monkeypatch.setitem(sys.modules, "tensorboardX", None)  # import fails
    train_iter, test_iter = data()
    with pytest.raises(OptionError, match="pip install tensorboardX"):
        fit(tiny_net(), train_iter, test_iter, 1, ctx="cpu", log_dir=str(tmp_path), **QUIET)
    assert "epoch 1," not in capsys.readouterr().out
