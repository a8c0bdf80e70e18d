"""Tests of gluoncnn.train and gluoncnn.progress, on the CPU with real Fashion-MNIST images (the
1,000/500 subset shipped in gluoncnn/sample), tiny nets and a few batches."""
import json
import os
import re
import sys
import warnings

import mxnet as mx
import numpy as np
import pytest
from mxnet import autograd, gluon, nd
from mxnet.gluon import nn

from gluoncnn import progress
from gluoncnn.data import load_data
from gluoncnn.models import get_model
from gluoncnn.train import (
    ContextError,
    History,
    LabelSmoothingLoss,
    LRSchedule,
    TrainingDivergedError,
    evaluate,
    evaluate_accuracy,
    fit,
    load_checkpoint,
    parse_ctx,
    seed_everything,
    shard_loader,
    train_ch5,
    try_all_gpus,
    try_gpu,
)

HERE = os.path.dirname(os.path.abspath(__file__))
LINE = re.compile(r"^epoch \d+, loss \d+\.\d{4}, train acc \d\.\d{3}, test acc \d\.\d{3}, "
                  r"time \d+\.\d sec$")
QUIET = dict(progress=False, plot=False)


def data(batch_size=32, train_size=128, test_size=64):
    return load_data("fashion-mnist", batch_size, sample=True, train_size=train_size,
                     test_size=test_size)


def fixed_data(batch_size=32, n=128):
    """The first ``n`` sample images in a fixed order (no shuffling)."""
    train_iter, test_iter = data(batch_size, n, 64)
    X = nd.concat(*[x for x, _ in train_iter], dim=0)
    y = nd.concat(*[y for _, y in train_iter], dim=0)
    order = np.argsort(y.asnumpy(), kind="stable")  # a deterministic order independent of shuffle
    ds = gluon.data.ArrayDataset(X[nd.array(order)], y[nd.array(order)].astype("int32"))
    return gluon.data.DataLoader(ds, batch_size=batch_size, shuffle=False), test_iter


def tiny_net(classes=10, dropout=0.0):
    net = nn.HybridSequential()
    net.add(nn.Conv2D(4, 5, strides=2, activation="relu"), nn.MaxPool2D(2))
    if dropout:
        net.add(nn.Dropout(dropout))
    net.add(nn.Dense(16, activation="relu"), nn.Dense(classes))
    return net


def params_of(net):
    return {k: v.data().asnumpy().copy() for k, v in net._collect_params_with_prefix().items()}


def assert_same_params(a, b, rtol=1e-5, atol=1e-6):
    assert a.keys() == b.keys()
    for k in a:
        np.testing.assert_allclose(a[k], b[k], rtol=rtol, atol=atol, err_msg=k)


# ------------------------------------------------------------------------------ devices
def test_try_gpu_falls_back_to_cpu():
    assert mx.context.num_gpus() == 0
    assert try_gpu() == mx.cpu() and try_gpu(3) == mx.cpu()
    assert try_all_gpus() == [mx.cpu()]


def test_parse_ctx_forms_and_missing_gpu():
    assert parse_ctx(None) == [mx.cpu()]
    assert parse_ctx("cpu") == [mx.cpu(0)]
    assert parse_ctx("cpu:0,cpu:1") == [mx.cpu(0), mx.cpu(1)]
    assert parse_ctx("cpu(1)") == [mx.cpu(1)]
    assert parse_ctx([mx.cpu(0), "cpu:1"]) == [mx.cpu(0), mx.cpu(1)]
    for bad in ("gpu", "gpu:0,gpu:1", mx.gpu(0), "gpu:all"):
        with pytest.raises(ContextError, match="ctx='cpu'"):
            parse_ctx(bad)
    with pytest.raises(ContextError, match="cannot read"):
        parse_ctx("tpu:0")
    with pytest.raises(ContextError, match="twice"):
        parse_ctx("cpu:0,cpu:0")


# ------------------------------------------------------------------------------ train_ch5
def test_train_ch5_prints_the_d2lzh_lines(capsys):
    train_iter, test_iter = data(batch_size=64, train_size=192)
    net = tiny_net()
    net.initialize(mx.init.Xavier())
    trainer = gluon.Trainer(net.collect_params(), "sgd", {"learning_rate": 0.5})
    assert train_ch5(net, train_iter, test_iter, 64, trainer, mx.cpu(), 2) is None
    lines = capsys.readouterr().out.strip().splitlines()
    assert lines[0] == "training on cpu(0)"
    assert len(lines) == 3 and all(LINE.match(l) for l in lines[1:]), lines
    with pytest.raises(ValueError, match="batch_size"):
        train_ch5(net, train_iter, test_iter, 0, trainer, mx.cpu(), 1)
    with pytest.raises(ValueError, match="num_epochs"):
        train_ch5(net, train_iter, test_iter, 64, trainer, mx.cpu(), -1)


# ------------------------------------------------------------------------------ fit basics
def test_fit_lenet_learns_and_returns_history(capsys, tmp_path):
    train_iter, test_iter = data(batch_size=50, train_size=1000, test_size=500)
    net = get_model("lenet")
    names = ["t-shirt", "trouser", "pullover", "dress", "coat", "sandal", "shirt", "sneaker",
             "bag", "ankle boot"]
    hist = fit(net, train_iter, test_iter, 3, ctx="cpu", optimizer="adam", lr=0.01, seed=0,
               history_file=str(tmp_path / "h.json"), classes=names, **QUIET)
    out = capsys.readouterr().out.strip().splitlines()
    assert out[0] == "training on cpu(0)"
    assert [bool(LINE.match(l)) for l in out[1:]] == [True] * 3, out
    assert isinstance(hist, History) and len(hist) == 3
    r = hist.records[-1]
    for key in ("epoch", "loss", "train_acc", "test_acc", "lr", "time", "examples_per_sec",
                "test_loss", "test_top5"):
        assert key in r
    assert [x["epoch"] for x in hist] == [1, 2, 3]
    assert r["examples_per_sec"] > 0 and r["lr"] == pytest.approx(0.01)
    assert hist.records[0]["loss"] > r["loss"]
    assert r["test_acc"] > 0.4, hist.records  # chance is 0.1
    assert hist.best()["test_acc"] == max(hist.column("test_acc"))
    assert History.from_json(tmp_path / "h.json").records == json.loads(
        json.dumps(hist.records))


def test_max_batches_caps_the_epoch():
    train_iter, test_iter = data(batch_size=16, train_size=160)
    net = tiny_net()
    seen = []
    fit(net, train_iter, test_iter, 1, ctx="cpu", max_batches=3, on_step=lambda n: seen.append(1),
        verbose=False, **QUIET)
    assert len(seen) == 3


def test_seed_makes_runs_repeatable():
    results = []
    for seed in (3, 3, 4):
        train_iter, test_iter = data()  # shuffling loader: the seed fixes its order too
        net = tiny_net(dropout=0.3)
        fit(net, train_iter, test_iter, 1, ctx="cpu", seed=seed, max_batches=3, verbose=False,
            **QUIET)
        results.append(params_of(net))
    assert_same_params(results[0], results[1], rtol=0, atol=0)
    assert any(not np.array_equal(results[0][k], results[2][k]) for k in results[0])


# ------------------------------------------------------------------------------ several devices
@pytest.mark.parametrize("optimizer", ["sgd", "adam"])
def test_two_devices_equal_one_device(optimizer):
    """Data parallel on [cpu(0), cpu(1)] (split_and_load + one Trainer) gives the parameters
    single-device training gives on the same batches. No BatchNorm: its batch statistics are per
    device by design."""
    train_iter, test_iter = fixed_data(batch_size=32, n=64)
    out = []
    for ctx in ([mx.cpu(0)], [mx.cpu(0), mx.cpu(1)]):
        net = tiny_net()
        seed_everything(0)
        net.initialize(mx.init.Xavier(), ctx=mx.cpu(0))
        net(nd.zeros((1, 1, 28, 28)))
        fit(net, train_iter, test_iter, 1, ctx=ctx, optimizer=optimizer, lr=0.05, verbose=False,
            **QUIET)
        p = params_of(net)
        if len(ctx) == 2:  # both copies agree
            for v in net.collect_params().values():
                np.testing.assert_array_equal(v.data(mx.cpu(0)).asnumpy(),
                                              v.data(mx.cpu(1)).asnumpy())
        out.append(p)
    assert_same_params(out[0], out[1])


# ------------------------------------------------------------------------------ distributed
# (dist_sync and the launcher: tests/test_distributed.py)
def test_shard_loader_splits_the_data():
    train_iter, _ = data(batch_size=10, train_size=100)
    parts = [shard_loader(train_iter, 2, r) for r in (0, 1)]
    xs = [nd.concat(*[x for x, _ in p], dim=0).asnumpy() for p in parts]
    assert xs[0].shape[0] == xs[1].shape[0] == 50
    flat = [x.reshape(50, -1) for x in xs]
    assert not any((flat[1] == row).all(axis=1).any() for row in flat[0][:10])
    strided = shard_loader([1, 2, 3, 4, 5], 2, 1)
    assert list(strided) == [2, 4] and len(strided) == 2


# ------------------------------------------------------------------------------ evaluation
def test_evaluate_metrics_and_inference_mode():
    train_iter, test_iter = data(batch_size=40, test_size=200)
    net = tiny_net(dropout=0.5)
    fit(net, train_iter, test_iter, 1, ctx="cpu", optimizer="adam", lr=0.01, verbose=False,
        **QUIET)
    r1 = evaluate(net, test_iter, confusion=True)
    r2 = evaluate(net, test_iter, ctx=[mx.cpu(0), mx.cpu(1)], confusion=True)
    assert r1["acc"] == r2["acc"]  # dropout is off: deterministic, and device split agrees
    np.testing.assert_array_equal(r1["confusion"], r2["confusion"])
    assert r1["n"] == 200 and r1["confusion"].sum() == 200
    assert r1["acc"] == pytest.approx(np.trace(r1["confusion"]) / 200)
    counts = r1["confusion"].sum(axis=1)
    assert r1["acc"] == pytest.approx(np.nansum(r1["per_class_acc"] * counts) / 200)
    assert r1["acc"] <= r1["top5"] <= 1.0
    assert r1["loss"] > 0 and r1["examples_per_sec"] > 0
    assert evaluate_accuracy(test_iter, net) == r1["acc"]
    assert "top5" not in evaluate(tiny_net_initialised(classes=4), four_class_data())


def tiny_net_initialised(classes):
    net = tiny_net(classes)
    net.initialize()
    return net


def four_class_data():
    X = nd.random.uniform(shape=(8, 1, 28, 28))
    return gluon.data.DataLoader(gluon.data.ArrayDataset(X, nd.array([0, 1, 2, 3] * 2)), 4)


class AuxNet(nn.HybridBlock):
    """GoogLeNet's contract: ``(logits, aux1, aux2)`` in training, logits alone in inference."""

    def __init__(self):
        super().__init__()
        with self.name_scope():
            self.body = nn.Dense(16, activation="relu")
            self.head = nn.Dense(10)
            self.aux1 = nn.Dense(10)
            self.aux2 = nn.Dense(10)

    def forward(self, x):
        h = self.body(x)
        if autograd.is_training():
            return self.head(h), self.aux1(h), self.aux2(h)
        return self.head(h)


@pytest.mark.parametrize("aux_weight", [0.0, 0.3])
def test_auxiliary_losses(aux_weight):
    train_iter, test_iter = data(batch_size=32, train_size=64)
    net = AuxNet()
    seed_everything(0)
    net.initialize(mx.init.Xavier())
    with autograd.train_mode():
        net(nd.zeros((1, 1, 28, 28)))  # training mode: the auxiliary heads exist
    before = params_of(net)
    hist = fit(net, train_iter, test_iter, 1, ctx="cpu", optimizer="sgd", momentum=0.0, lr=0.1,
               aux_weight=aux_weight, verbose=False, **QUIET)
    after = params_of(net)
    aux_moved = not np.array_equal(before["aux1.weight"], after["aux1.weight"])
    assert aux_moved == (aux_weight > 0)
    assert not np.array_equal(before["head.weight"], after["head.weight"])
    assert hist.records[0]["test_acc"] is not None  # evaluation got logits only


# ------------------------------------------------------------------------------ optimisation
def test_lr_schedules():
    s = LRSchedule(0.1, 10, "step:5,8")
    assert [round(s(e), 6) for e in (0, 4.9, 5, 7, 8, 9)] == [0.1, 0.1, 0.01, 0.01, 0.001, 0.001]
    assert LRSchedule(0.1, 8, "step").milestones == [4, 6]
    c = LRSchedule(1.0, 10, "cosine")
    assert c(0) == pytest.approx(1.0) and c(5) == pytest.approx(0.5) and c(10) == pytest.approx(0)
    w = LRSchedule(1.0, 10, "cosine", warmup_epochs=2)
    assert w(0, 4) == pytest.approx(0.125) and w(1.75, 4) == pytest.approx(1.0)
    assert w(2, 4) == pytest.approx(1.0) and w(6, 4) == pytest.approx(0.5)
    p = LRSchedule(0.1, 10, "plateau:2")
    drops = [p.end_epoch(v) for v in (0.5, 0.6, 0.6, 0.59, 0.7, 0.7, 0.7)]
    assert drops == [False, False, False, True, False, False, True]
    assert p(3) == pytest.approx(0.001)
    q = LRSchedule(0.1, 10, "plateau")
    q.load_state_dict(p.state_dict())
    assert q(0) == pytest.approx(0.001)
    assert LRSchedule(0.1, 3, lambda t: 0.1 / (1 + t))(1) == pytest.approx(0.05)


def test_fit_applies_schedule_and_warmup():
    train_iter, test_iter = data(batch_size=32, train_size=64)
    hist = fit(tiny_net(), train_iter, test_iter, 3, ctx="cpu", lr=0.2, schedule="step:2",
               warmup_epochs=1, verbose=False, **QUIET)
    assert [round(r["lr"], 6) for r in hist] == [0.2, 0.2, 0.02]  # end-of-epoch rates


@pytest.mark.parametrize("optimizer,kw", [("sgd", {"nesterov": True}), ("nag", {}),
                                          ("rmsprop", {}), ("sgd", {"wd": 1e-3})])
def test_other_optimizers_run(optimizer, kw):
    train_iter, test_iter = data(batch_size=32, train_size=64)
    hist = fit(tiny_net(), train_iter, test_iter, 1, ctx="cpu", optimizer=optimizer, lr=0.01,
               verbose=False, **kw, **QUIET)
    assert np.isfinite(hist.records[0]["loss"])


def test_label_smoothing_loss_matches_formula():
    logits = nd.array([[2.0, 0.5, -1.0], [0.1, 0.2, 0.3]])
    y = nd.array([0, 2])
    logp = logits.asnumpy() - np.log(np.exp(logits.asnumpy()).sum(1, keepdims=True))
    target = np.full((2, 3), 0.1 / 3) + 0.9 * np.eye(3)[[0, 2]]
    np.testing.assert_allclose(LabelSmoothingLoss(0.1)(logits, y).asnumpy(),
                               -(target * logp).sum(1), rtol=1e-5)
    np.testing.assert_allclose(LabelSmoothingLoss(0.0)(logits, y).asnumpy(),
                               gluon.loss.SoftmaxCrossEntropyLoss()(logits, y).asnumpy(),
                               rtol=1e-6)
    train_iter, test_iter = data(batch_size=32, train_size=64)
    hist = fit(tiny_net(), train_iter, test_iter, 1, ctx="cpu", label_smoothing=0.1,
               verbose=False, **QUIET)
    assert np.isfinite(hist.records[0]["loss"])


def test_gradient_clipping_bounds_the_step():
    train_iter, _ = fixed_data(batch_size=32, n=32)
    net = tiny_net()
    seed_everything(0)
    net.initialize(mx.init.Xavier())
    net(nd.zeros((1, 1, 28, 28)))
    before = params_of(net)
    fit(net, train_iter, None, 1, ctx=["cpu:0", "cpu:1"], optimizer="sgd", momentum=0.0, lr=1.0,
        clip_gradient=1e-3, verbose=False, **QUIET)
    after = params_of(net)
    step = np.sqrt(sum(((after[k] - before[k]) ** 2).sum() for k in before))
    assert step == pytest.approx(1e-3, rel=1e-3)  # lr * clipped norm


def test_amp_on_cpu_warns_and_trains_in_float32(capsys):
    train_iter, test_iter = data(batch_size=32, train_size=64)
    net = tiny_net()
    with warnings.catch_warnings(record=True) as caught:
        warnings.simplefilter("always")
        fit(net, train_iter, test_iter, 1, ctx="cpu", amp=True, **QUIET)
    out = capsys.readouterr().out
    assert "float32" in out or any("float32" in str(w.message) for w in caught)
    assert all(p.data().dtype == np.float32 for p in net.collect_params().values())


# ------------------------------------------------------------------------------ checkpoints
def test_resume_continues_like_an_uninterrupted_run(tmp_path):
    kw = dict(ctx="cpu", optimizer="sgd", lr=0.1, schedule="step:1", seed=7, max_batches=2,
              verbose=False, **QUIET)

    def run(epochs, **extra):
        train_iter, test_iter = data(batch_size=32, train_size=128)  # shuffled
        net = tiny_net(dropout=0.2)
        return net, fit(net, train_iter, test_iter, epochs, **kw, **extra)

    straight_net, straight = run(2)
    run(1, checkpoint_dir=str(tmp_path))
    last = load_checkpoint(str(tmp_path))
    assert last["epoch"] == 1 and os.path.exists(last["states_path"])
    resumed_net, resumed = run(2, checkpoint_dir=str(tmp_path), resume=True)
    assert [r["epoch"] for r in resumed] == [1, 2]
    assert [round(r["lr"], 6) for r in resumed] == [0.1, 0.01]  # schedule position kept
    assert_same_params(params_of(straight_net), params_of(resumed_net))
    assert resumed.records[1]["loss"] == pytest.approx(straight.records[1]["loss"], rel=1e-5)
    files = sorted(os.listdir(tmp_path))
    assert "last.json" in files and "epoch-0002.params" in files and "epoch-0002.states" in files
    assert not [f for f in files if f.endswith(".tmp")]
    assert json.load(open(tmp_path / "last.json"))["epoch"] == 2
    # loaded parameters are the saved ones
    net = tiny_net(dropout=0.2)
    net.load_parameters(str(tmp_path / "epoch-0002.params"))
    assert_same_params(params_of(net), params_of(resumed_net), rtol=0, atol=0)
    # already done: nothing to train
    again_net, again = run(2, checkpoint_dir=str(tmp_path), resume=True)
    assert len(again) == 2


class PoisonedLoader:
    """Real batches, with NaN pixels in one chosen batch of one chosen epoch."""

    def __init__(self, loader, epoch, batch):
        self.loader, self.epoch, self.batch, self.calls = loader, epoch, batch, 0

    def __len__(self):
        return len(self.loader)

    def __iter__(self):
        self.calls += 1
        for i, (X, y) in enumerate(self.loader):
            if self.calls == self.epoch + 1 and i + 1 == self.batch:  # +1: fit peeks one batch
                X = X.copy()
                X[0] = np.nan
            yield X, y


def test_nan_loss_stops_with_epoch_batch_and_keeps_checkpoint(tmp_path):
    train_iter, test_iter = data(batch_size=32, train_size=96)
    poisoned = PoisonedLoader(train_iter, epoch=2, batch=2)
    net = get_model("lenet")  # sigmoid: NaN pixels reach the loss (ReLU would map them to 0)
    with pytest.raises(TrainingDivergedError) as err:
        fit(net, poisoned, test_iter, 3, ctx="cpu", checkpoint_dir=str(tmp_path), verbose=False,
            **QUIET)
    e = err.value
    assert (e.epoch, e.batch) == (2, 2)
    assert "epoch 2, batch 2" in str(e) and "epoch-0001.params" in str(e)
    assert e.checkpoint.endswith("epoch-0001.params")
    assert json.load(open(tmp_path / "last.json"))["epoch"] == 1
    assert not os.path.exists(tmp_path / "epoch-0002.params")
    good = get_model("lenet")
    good.load_parameters(e.checkpoint)
    assert all(np.isfinite(v).all() for v in params_of(good).values())
    assert all(np.isfinite(v).all() for v in params_of(net).values())  # no NaN update applied


def test_ctrl_c_saves_and_reraises(tmp_path, capsys):
    train_iter, test_iter = data(batch_size=32, train_size=96)
    steps = []

    def on_step(net):
        steps.append(1)
        if len(steps) == 5:  # epoch 2, batch 2
            raise KeyboardInterrupt

    with pytest.raises(KeyboardInterrupt):
        fit(tiny_net(), train_iter, test_iter, 3, ctx="cpu", checkpoint_dir=str(tmp_path),
            on_step=on_step, history_file=str(tmp_path / "h.csv"), **QUIET)
    assert "interrupted in epoch 2" in capsys.readouterr().err
    info = json.load(open(tmp_path / "interrupted.json"))
    assert info["interrupted_in_epoch"] == 2 and info["interrupted_at_batch"] == 2
    assert os.path.exists(tmp_path / "interrupted.params")
    assert json.load(open(tmp_path / "last.json"))["epoch"] == 1
    assert open(tmp_path / "h.csv").read().count("\n") == 2  # header + epoch 1


# ------------------------------------------------------------------------------ history, plots
def test_history_files_and_plots(tmp_path):
    train_iter, test_iter = data(batch_size=32, train_size=64)
    png = tmp_path / "curves.png"
    hist = fit(tiny_net(), train_iter, test_iter, 2, ctx="cpu", plot=str(png), progress=False,
               history_file=str(tmp_path / "h.csv"), verbose=False)
    assert png.read_bytes()[:8] == b"\x89PNG\r\n\x1a\n"
    rows = open(tmp_path / "h.csv").read().splitlines()
    assert rows[0].startswith("epoch,loss,train_acc,test_acc") and len(rows) == 3
    hist.to_json(tmp_path / "h.json")
    assert History.from_json(tmp_path / "h.json").records == json.loads(json.dumps(hist.records))
    hist.plot(tmp_path / "again.png")
    assert (tmp_path / "again.png").stat().st_size > 1000
    assert hist.best("loss")["loss"] == min(hist.column("loss"))
    assert "2 epochs" in repr(hist) and len(hist.df) == 2
    # plot='auto' outside a notebook with a checkpoint dir saves curves.png there
    fit(tiny_net(), train_iter, test_iter, 1, ctx="cpu", checkpoint_dir=str(tmp_path / "ck"),
        progress=False, verbose=False)
    assert (tmp_path / "ck" / "curves.png").exists()


def test_live_plot_in_notebook(monkeypatch):
    shown = []

    class Handle:
        def update(self, fig):
            shown.append(("update", fig))

    import IPython.display
    monkeypatch.setattr(IPython.display, "display",
                        lambda fig, display_id=None: shown.append(("display", fig)) or Handle())
    plot = progress.TrainingPlot(live=True)
    recs = [{"epoch": 1, "loss": 1.0, "train_acc": 0.5, "test_acc": 0.6},
            {"epoch": 2, "loss": 0.8, "train_acc": 0.6, "test_acc": 0.65}]
    plot.update(recs[:1])
    plot.update(recs)
    assert [k for k, _ in shown] == ["display", "update"]
    ax = plot.figure.axes[0]
    assert [l.get_label() for l in ax.lines] == ["train loss", "train acc", "test acc"]


def test_progress_bar_only_when_useful(monkeypatch, capsys):
    monkeypatch.delenv("CI", raising=False)
    monkeypatch.delenv("GLUONCNN_QUICK", raising=False)
    assert progress.want_progress_bar(True, 3) is True
    assert progress.want_progress_bar(False, 10 ** 6) is False
    assert progress.want_progress_bar("auto", 10) is False  # short epoch
    monkeypatch.setattr(sys.stdout, "isatty", lambda: True, raising=False)
    assert progress.want_progress_bar("auto", 500) is True
    monkeypatch.setenv("CI", "true")
    assert progress.want_progress_bar("auto", 500) is False
    assert not progress.in_notebook()
    with pytest.raises(ValueError, match="progress"):
        progress.want_progress_bar("yes", 5)
    # a forced bar goes to stderr; stdout keeps the d2l lines only
    train_iter, test_iter = data(batch_size=32, train_size=64)
    fit(tiny_net(), train_iter, test_iter, 1, ctx="cpu", progress=True, plot=False)
    captured = capsys.readouterr()
    assert all(l == "training on cpu(0)" or LINE.match(l)
               for l in captured.out.strip().splitlines())
    assert "epoch 1/1" in captured.err


# ------------------------------------------------------------------------------ bad arguments
@pytest.mark.parametrize("kwargs,message", [
    ({"epochs": 0}, "epochs must be a positive integer"),
    ({"epochs": -2}, "epochs must be a positive integer"),
    ({"optimizer": "sgdd"}, "unknown optimizer 'sgdd'; valid: sgd, nag, adam"),
    ({"schedule": "linear"}, "unknown learning-rate schedule 'linear'"),
    ({"schedule": "step:x"}, "step:30,60"),
    ({"ctx": mx.gpu(0)}, "gpu\\(0\\) does not exist"),
    ({"ctx": "gpu:0,gpu:1"}, "Use ctx='cpu'"),
    ({"lr": 0}, "lr must be a positive number"),
    ({"warmup_epochs": 5}, "smaller than epochs"),
    ({"label_smoothing": 1.5}, "label_smoothing"),
    ({"clip_gradient": -1}, "clip_gradient"),
    ({"max_batches": 0}, "max_batches"),
    ({"progress": "sometimes"}, "progress must be"),
    ({"plot": 3}, "plot must be"),
    ({"kvstore": "nccl2"}, "unknown kvstore"),
    ({"optimizer": "adam", "nesterov": True}, "nesterov=True applies to SGD"),
    ({"resume": True}, "checkpoint_dir"),
    ({"classes": 12}, "classes=12"),
    ({"init": "glorot"}, "unknown init 'glorot'; valid: paper, he, xavier"),
])
def test_bad_arguments_fail_before_training(kwargs, message, capsys):
    train_iter, test_iter = data(batch_size=32, train_size=64)
    net = tiny_net()
    args = dict(epochs=1, ctx="cpu", verbose=True, **QUIET)
    args.update(kwargs)
    with pytest.raises(ValueError, match=message):
        fit(net, train_iter, test_iter, **args)
    assert "epoch 1," not in capsys.readouterr().out


def test_model_with_wrong_output_size_is_caught_before_training(capsys):
    train_iter, test_iter = data(batch_size=32, train_size=64)
    with pytest.raises(ValueError, match="build the model with classes="):
        fit(tiny_net(classes=5), train_iter, test_iter, 1, ctx="cpu", **QUIET)
    with pytest.raises(ValueError, match="outputs 7 scores per example but the data has 10 "
                                         "classes; build the model with classes=10"):
        fit(get_model("lenet", classes=7), train_iter, test_iter, 1, ctx="cpu", classes=10,
            **QUIET)
    assert "epoch 1," not in capsys.readouterr().out


@pytest.mark.slow
def test_googlenet_trains_with_auxiliary_heads():
    """The real GoogLeNet: (logits, aux1, aux2) in training, logits in evaluation, hybridized."""
    train_iter, test_iter = data(batch_size=4, train_size=4, test_size=4)
    net = get_model("googlenet", classes=10, in_channels=1, small_input=True)
    hist = fit(net, train_iter, test_iter, 1, ctx="cpu", lr=0.01, max_batches=1, verbose=False,
               **QUIET)
    assert np.isfinite(hist.records[0]["loss"]) and hist.records[0]["test_acc"] is not None
    aux = [p for name, p in net._collect_params_with_prefix().items() if "aux" in name]
    assert aux and all(p.grad().abs().sum().asscalar() > 0 for p in aux if "weight" in p.name)


# ------------------------------------------------------------------------------ initialisation
class _Recorder(mx.init.Initializer):
    """An initializer that says which weights it set (to a constant 0.01)."""

    def __init__(self):
        super().__init__()
        self.seen = []

    def _init_weight(self, name, arr):
        self.seen.append(name)
        arr[:] = 0.01


def test_init_chooses_the_initializer_of_an_uninitialised_net():
    train_iter, test_iter = data(batch_size=32, train_size=32)
    fit_args = dict(epochs=1, ctx="cpu", max_batches=1, verbose=False, lr=1e-9, **QUIET)
    recorder = _Recorder()
    net = tiny_net()
    fit(net, train_iter, test_iter, init=recorder, **fit_args)
    assert recorder.seen, "fit did not use the initializer it was given"

    # 'he' is MXNet's MSRAPrelu(): variance 2 / (1 + 0.25**2) / mean(fan-in, fan-out); LeNet's
    # first conv (6 filters of 1x5x5) has fan-in 25 and fan-out 150. Its paper init (Glorot)
    # would give 2 / (25 + 150), half that.
    he = get_model("lenet", classes=10)
    fit(he, train_iter, test_iter, init="he", seed=0, **fit_args)
    w = he.features[0][0].weight.data().asnumpy()
    expected = 2 / (1 + 0.25 ** 2) / ((25 + 150) / 2)
    assert abs(w.var() - expected) < 0.3 * expected

    # an initialised net keeps its weights whatever init says
    done = tiny_net()
    done.initialize(mx.init.Constant(0.02))
    fit(done, train_iter, test_iter, init="he", **dict(fit_args, lr=1e-12))
    assert np.allclose(done[0].weight.data().asnumpy(), 0.02, atol=1e-6)


def test_progress_lines_keep_a_log_alive_where_no_bar_is_shown(monkeypatch, capsys):
    monkeypatch.delenv("GLUONCNN_QUICK", raising=False)
    monkeypatch.setattr(sys.stdout, "isatty", lambda: False, raising=False)
    assert progress.want_progress_lines("auto", 500)
    assert progress.want_progress_lines("auto", None)
    assert not progress.want_progress_lines("auto", 50)      # a short epoch: its line is enough
    assert not progress.want_progress_lines(False, 500) and not progress.want_progress_lines(
        True, 500)
    monkeypatch.setenv("GLUONCNN_QUICK", "1")
    assert not progress.want_progress_lines("auto", 500)
    now = [0.0]
    lines = progress.ProgressLines(1000, "epoch 2/10", stream=sys.stdout, clock=lambda: now[0])
    for step in range(1000):
        now[0] = step * 0.5                 # 2 batches a second: a 500-second epoch
        lines.update(1)
        if step == 400:
            lines.set_postfix(loss="0.6123", acc="0.781")
    printed = capsys.readouterr().out.strip().splitlines()
    # every 10% of the epoch (50 s here, so 30 s never decides), with the time left
    assert len(printed) == 9
    assert printed[0] == "epoch 2/10: 100/1000 batches (10%), 50 s, about 7.4 min left"
    assert printed[4] == ("epoch 2/10: 500/1000 batches (50%), loss 0.6123, acc 0.781, "
                          "4.2 min, about 4.2 min left")
    now[0] = 0.0
    fast = progress.ProgressLines(1000, "epoch 1/1", stream=sys.stdout, clock=lambda: now[0])
    for step in range(1000):
        now[0] = step * 0.01                # a 10-second epoch: no line at all
        fast.update(1)
    assert capsys.readouterr().out == ""


def test_fit_prints_progress_lines_on_stderr_without_a_terminal(monkeypatch, capsys):
    monkeypatch.delenv("GLUONCNN_QUICK", raising=False)
    monkeypatch.setattr(sys.stdout, "isatty", lambda: False, raising=False)
    monkeypatch.setattr(progress, "LONG_EPOCH_BATCHES", 2)  # as if 4 batches were a long epoch
    monkeypatch.setattr(progress, "LINE_SECONDS", 0.0)
    train_iter, test_iter = data(batch_size=32, train_size=128)
    fit(tiny_net(), train_iter, test_iter, 1, ctx="cpu", plot=False)
    captured = capsys.readouterr()
    assert [l.split(",")[0] for l in captured.err.strip().splitlines()] == \
        ["epoch 1/1: 1/4 batches (25%)", "epoch 1/1: 2/4 batches (50%)",
         "epoch 1/1: 3/4 batches (75%)"]
    assert all(l == "training on cpu(0)" or LINE.match(l)
               for l in captured.out.strip().splitlines())


def test_nan_in_the_data_stops_a_batch_norm_net_with_its_last_good_weights(tmp_path):
    """Issue 30: two NaN images left resnet18's loss finite (ReLU and max pooling drop NaN)
    while its first convolution and batch norm turned NaN, and fit saved them as a checkpoint.
    The parameters are checked with the loss: the run stops, no checkpoint holds NaN."""
    X = np.random.RandomState(0).uniform(size=(32, 1, 28, 28)).astype("float32")
    X[19] = np.nan  # in the third batch
    y = (np.arange(32) % 10).astype("int32")
    loader = gluon.data.DataLoader(gluon.data.ArrayDataset(nd.array(X), nd.array(y)),
                                   batch_size=8)
    net = nn.HybridSequential()
    net.add(nn.Conv2D(4, 3), nn.BatchNorm(), nn.Activation("relu"), nn.MaxPool2D(2),
            nn.Dense(10))
    with pytest.raises(TrainingDivergedError, match=r"the parameters .*conv.*weight.* became "
                                                    r"NaN or infinite in epoch 1, by batch 4"):
        fit(net, loader, None, epochs=1, ctx=mx.cpu(), optimizer="adam", lr=0.001, seed=0,
            progress=False, plot=False, checkpoint_dir=str(tmp_path))
    assert not os.listdir(tmp_path)
    for name, param in net.collect_params().items():
        assert np.isfinite(param.data().asnumpy()).all(), name


def test_ctrl_c_never_saves_weights_gone_nan_since_the_last_check(tmp_path, capsys):
    train_iter, test_iter = data(batch_size=32, train_size=96)
    steps = []

    def on_step(net):
        steps.append(1)
        if len(steps) == 5:  # epoch 2, batch 2: a weight turns NaN, then Ctrl-C
            param = next(iter(net.collect_params().values()))
            param.set_data(param.data() * float("nan"))
            raise KeyboardInterrupt

    with pytest.raises(KeyboardInterrupt):
        fit(tiny_net(), train_iter, test_iter, 3, ctx="cpu", checkpoint_dir=str(tmp_path),
            on_step=on_step, **QUIET)
    assert "had become NaN or infinite since the last check" in capsys.readouterr().err
    saved = nd.load(str(tmp_path / "interrupted.params"))
    assert all(np.isfinite(v.asnumpy()).all() for v in saved.values())
