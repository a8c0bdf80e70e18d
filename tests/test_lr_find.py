"""The learning-rate range test (gluoncnn.train.lr_find) and ``gluoncnn train --find-lr``, on a
few batches of the shipped Fashion-MNIST sample."""
import numpy as np
import pytest
from mxnet import gluon, nd

import gluoncnn
from gluoncnn import cli
from gluoncnn.data import load_data_fashion_mnist
from gluoncnn.errors import OptionError
from gluoncnn.train import LRFinderResult, lr_find
from gluoncnn.train.lr_find import steepest_index


@pytest.fixture(scope="module")
def data():
    train_iter, _ = load_data_fashion_mnist(32, sample=True, train_size=128, test_size=32)
    return train_iter


def lenet_bn():
    """A net with running statistics (BatchNorm), which a forward in training mode changes."""
    net = gluoncnn.get_model("lenet_bn", classes=10, in_channels=1)
    net.initialize(ctx=gluoncnn.try_gpu())
    net(nd.zeros((1, 1, 28, 28)))
    return net


def values(net):
    return [p.data().asnumpy().copy() for p in net.collect_params().values()]


def test_the_weights_and_running_statistics_come_back_bit_exactly(data):
    net = lenet_bn()
    trainer = gluon.Trainer(net.collect_params(), "sgd", {"learning_rate": 0.05})
    before = values(net)
    result = lr_find(net, data, ctx="cpu", num_iter=6, seed=0)
    assert len(result.lrs) == 6
    after = values(net)
    assert all(np.array_equal(a, b) for a, b in zip(before, after))
    # the sweep's own Trainer does not stay registered on the parameters in the user's place
    assert all(p._trainer is trainer for p in net.collect_params().values())


def test_a_trainer_passed_in_gets_its_state_and_rate_back(data, tmp_path):
    net = lenet_bn()
    trainer = gluon.Trainer(net.collect_params(), "sgd", {"learning_rate": 0.05, "momentum": 0.9})
    lr_find(net, data, trainer=trainer, ctx="cpu", num_iter=2, seed=0)  # momentum state exists
    trainer.save_states(str(tmp_path / "before"))
    before = values(net)
    lr_find(net, data, trainer=trainer, ctx="cpu", num_iter=5, seed=1)
    trainer.save_states(str(tmp_path / "after"))
    assert trainer.learning_rate == 0.05
    assert (tmp_path / "before").read_bytes() == (tmp_path / "after").read_bytes()
    assert all(np.array_equal(a, b) for a, b in zip(before, values(net)))


def test_the_sweep_is_exponential_and_the_suggestion_is_in_it(data):
    net = gluoncnn.get_model("lenet", classes=10, in_channels=1)
    result = lr_find(net, data, ctx="cpu", start_lr=1e-4, end_lr=1.0, num_iter=9, seed=0)
    assert isinstance(result, LRFinderResult)
    assert np.allclose(result.lrs, np.logspace(-4, 0, 9)[:len(result.lrs)])
    assert result.suggestion in result.lrs and result.minimum_lr in result.lrs
    assert len(result.losses) == len(result.raw_losses) == len(result.lrs)
    # the data (4 batches) is iterated again to reach num_iter
    assert len(result.lrs) == 9 or result.stopped_early


def test_same_seed_same_sweep(data):
    runs = [lr_find(gluoncnn.get_model("lenet", classes=10, in_channels=1), data, ctx="cpu",
                    num_iter=6, seed=3) for _ in range(2)]
    assert runs[0].lrs == runs[1].lrs
    assert runs[0].losses == runs[1].losses


def test_a_diverging_loss_stops_the_sweep(data):
    net = gluoncnn.get_model("lenet", classes=10, in_channels=1)
    result = lr_find(net, data, ctx="cpu", start_lr=1.0, end_lr=1e6, num_iter=30, seed=0,
                     smooth=0.0)
    assert result.stopped_early and len(result.lrs) < 30


def test_the_smoothed_loss_is_fastais_bias_corrected_average(data):
    net = gluoncnn.get_model("lenet", classes=10, in_channels=1)
    result = lr_find(net, data, ctx="cpu", num_iter=4, seed=0, smooth=0.5)
    average = 0.0
    for i, (raw, smoothed) in enumerate(zip(result.raw_losses, result.losses)):
        average = 0.5 * average + 0.5 * raw
        assert smoothed == pytest.approx(average / (1 - 0.5 ** (i + 1)), rel=1e-12)


def test_steepest_descent_is_read_across_a_span_before_the_minimum():
    lrs = np.logspace(-5, 0, 20)
    losses = np.array([2.0] * 8 + [1.9, 1.5, 1.0, 0.9, 0.8, 0.75, 0.7, 0.69, 0.7, 1.0, 2.0,
                                   5.0])
    # span 2: the steepest is 1.9 -> 1.0 (points 8 to 10), its middle is point 9; the climb
    # after the minimum (0.7 -> 5.0) is not a descent
    assert steepest_index(lrs, losses) == 9
    assert steepest_index(lrs[:1], losses[:1]) == 0


@pytest.mark.parametrize("kwargs, words", [
    ({"start_lr": 1.0, "end_lr": 0.1}, "end_lr"),
    ({"num_iter": 1}, "num_iter"),
    ({"smooth": 1.0}, "smooth"),
    ({"optimizer": "adamw"}, "unknown optimizer"),
])
def test_bad_options_are_one_clear_error(data, kwargs, words):
    net = gluoncnn.get_model("lenet", classes=10, in_channels=1)
    with pytest.raises(OptionError, match=words):
        lr_find(net, data, ctx="cpu", **kwargs)


def test_the_plot_marks_the_suggestion(data, tmp_path):
    net = gluoncnn.get_model("lenet", classes=10, in_channels=1)
    result = lr_find(net, data, ctx="cpu", num_iter=5, seed=0)
    ax = result.plot(str(tmp_path / "lr.png"))
    assert ax.get_xscale() == "log"
    assert (tmp_path / "lr.png").read_bytes()[:8] == b"\x89PNG\r\n\x1a\n"


def test_cli_find_lr_prints_a_suggestion_and_writes_no_run(tmp_path, capsys, monkeypatch):
    monkeypatch.chdir(tmp_path)
    code = cli.main(["train", "--model", "lenet", "--sample", "--batch-size", "32",
                     "--train-size", "128", "--max-batches", "6", "--ctx", "cpu", "--seed", "0",
                     "--find-lr", "lr.png"])
    out, _ = capsys.readouterr()
    assert code == 0
    assert "suggested learning rate" in out and "6 batches from 1e-07 to 10" in out
    assert "next: gluoncnn train ... --lr " in out
    assert sorted(p.name for p in tmp_path.iterdir()) == ["lr.png"]


def test_cli_find_lr_checks_the_options_as_train_does(tmp_path, capsys, monkeypatch):
    monkeypatch.chdir(tmp_path)
    code = cli.main(["train", "--model", "lenet", "--sample", "--optimizer", "adamw",
                     "--find-lr"])
    _, err = capsys.readouterr()
    assert code == 2 and err.count("\n") == 1 and "unknown optimizer 'adamw'" in err
    assert list(tmp_path.iterdir()) == []
