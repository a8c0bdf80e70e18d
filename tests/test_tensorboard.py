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
    with pytest.raises(OptionError, match=r"pip install 'gluoncnn\[tensorboard\]'"):
        fit(tiny_net(), train_iter, test_iter, 1, ctx="cpu", log_dir=str(tmp_path), **QUIET)
    assert "epoch 1," not in capsys.readouterr().out


def test_cli_without_tensorboardx_refuses_before_run_json_and_the_rerun_works(
        tmp_path, monkeypatch, capsys):
    """Found with the other option checks: no run.json recorded as failed, so the same command
    runs once tensorboardX is there."""
    from test_cli import TRAIN

    from gluoncnn import cli
    argv = [*TRAIN, "--no-plot", "--out", str(tmp_path / "run"), "--log-dir",
            str(tmp_path / "tb")]
    with monkeypatch.context() as m:
        m.setitem(sys.modules, "tensorboardX", None)
        assert cli.main(argv) == 2
        err = capsys.readouterr().err
        assert "pip install 'gluoncnn[tensorboard]'" in err and len(err.strip().splitlines()) == 1
        assert not (tmp_path / "run" / "run.json").exists()
    assert cli.main(argv) == 0
    assert events_in(tmp_path / "tb")


def events_in(folder):
    return [f for f in os.listdir(folder) if "tfevents" in f]


def test_step_scalars_every_n_steps_continue_across_epochs(tmp_path):
    train_iter, test_iter = data()
    hist = fit(tiny_net(), train_iter, test_iter, 2, ctx="cpu", lr=0.1, schedule="step:1",
               max_batches=3, verbose=False, callbacks=[TensorBoard(tmp_path, every_n_steps=1)],
               **QUIET)
    values = scalars(read_events(tmp_path))
    assert [s for s, _ in values["step/loss"]] == [1, 2, 3, 4, 5, 6]
    assert [v for _, v in values["step/lr"]] == pytest.approx([0.1] * 3 + [0.01] * 3)
    losses = [v for _, v in values["step/loss"]]
    # the batches have the same size: the epoch's loss is the mean of its steps'
    assert [sum(losses[:3]) / 3, sum(losses[3:]) / 3] == pytest.approx(hist.column("loss"),
                                                                       rel=1e-5)
    every_two = tmp_path / "two"
    fit(tiny_net(), train_iter, test_iter, 2, ctx="cpu", max_batches=3, verbose=False,
        callbacks=[TensorBoard(every_two, every_n_steps=2)], **QUIET)
    assert [s for s, _ in scalars(read_events(every_two))["step/loss"]] == [2, 4, 6]


def plugin_data(events, tag):
    from tensorboardX.proto.plugin_hparams_pb2 import HParamsPluginData
    for e in events:
        for v in e.summary.value:
            if v.tag == tag:
                return HParamsPluginData.FromString(v.metadata.plugin_data.content)
    return None


def test_hyperparameters_and_final_metrics_for_the_hparams_dashboard(tmp_path):
    train_iter, test_iter = data()
    fit(tiny_net(), train_iter, test_iter, 2, ctx="cpu", optimizer="adam", lr=0.003, seed=3,
        max_batches=2, verbose=False, callbacks=[TensorBoard(tmp_path, hparams={
            "model": "tiny"})], **QUIET)
    events = read_events(tmp_path)
    start = plugin_data(events, "_hparams_/session_start_info").session_start_info.hparams
    assert start["optimizer"].string_value == "adam" and start["model"].string_value == "tiny"
    assert start["lr"].number_value == pytest.approx(0.003)
    assert start["batch_size"].number_value == 32 and start["seed"].number_value == 3
    assert start["epochs"].number_value == 2
    experiment = plugin_data(events, "_hparams_/experiment").experiment
    assert {m.name.tag for m in experiment.metric_infos} == \
        {"test/acc", "test/loss", "train/acc", "train/loss"}
    end = plugin_data(events, "_hparams_/session_end_info").session_end_info
    from tensorboardX.proto.api_pb2 import Status
    assert end.status == Status.Value("STATUS_SUCCESS")


def test_graph_of_a_hybrid_net_with_the_shapes_of_its_edges(tmp_path):
    from tensorboardX.proto.graph_pb2 import GraphDef
    train_iter, test_iter = data()
    fit(tiny_net(), train_iter, test_iter, 1, ctx="cpu", max_batches=1, verbose=False,
        log_dir=str(tmp_path), **QUIET)
    (raw,) = [e.graph_def for e in read_events(tmp_path) if e.graph_def]
    graph = GraphDef.FromString(raw)
    ops = [n.op for n in graph.node]
    assert ops.count("Convolution") == 1 and ops.count("FullyConnected") == 2
    shapes = {n.name: [d.size for d in n.attr["_output_shapes"].list.shape[0].dim]
              for n in graph.node if "_output_shapes" in n.attr}
    assert shapes["data"] == [32, 1, 28, 28]
    last = graph.node[-1]
    assert last.op == "FullyConnected" and shapes[last.name] == [32, 10]
    assert last.input[0] in {n.name for n in graph.node}


def test_no_graph_for_a_net_that_is_not_hybrid(tmp_path, caplog):
    from mxnet.gluon import nn
    net = nn.Sequential()
    net.add(nn.Dense(10))
    train_iter, test_iter = data()
    fit(net, train_iter, test_iter, 1, ctx="cpu", max_batches=1, hybridize=False,
        log_dir=str(tmp_path), **QUIET)
    assert not [e for e in read_events(tmp_path) if e.graph_def]
    assert "no graph for Sequential" in caplog.text
    assert scalars(read_events(tmp_path))["test/acc"]


def test_a_net_whose_symbol_fails_still_trains_without_a_graph(tmp_path, caplog):
    from mxnet.gluon import nn

    class NDArrayOnly(nn.HybridBlock):
        def __init__(self):
            super().__init__()
            self.dense = nn.Dense(10)

        def hybrid_forward(self, F, x):
            return self.dense(x.reshape((x.shape[0], -1)))   # Symbols have no .shape[0]

    train_iter, test_iter = data()
    hist = fit(NDArrayOnly(), train_iter, test_iter, 1, ctx="cpu", max_batches=1,
               hybridize=False, log_dir=str(tmp_path), **QUIET)
    assert len(hist) == 1 and not [e for e in read_events(tmp_path) if e.graph_def]
    assert "no graph for NDArrayOnly: its symbol could not be built" in caplog.text
