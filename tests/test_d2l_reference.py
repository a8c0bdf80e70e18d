"""gluoncnn against d2l's own MXNet code (d2l 1.0.3), the course this one follows.

d2l's reference (``tests/d2l_reference.py``) runs once, in a process of its own (its functions
need MXNet's numpy mode; see that file), on the shipped Fashion-MNIST sample. The tests then
check here, in gluoncnn's ordinary NDArray mode, that

- ``lenet`` is d2l's ``LeNet``: the same parameters in the same order, and the same logits with
  the same weights;
- ``train_ch5`` is d2l's ``train_ch6`` (the d2lzh loop: softmax cross-entropy, plain SGD, one
  ``trainer.step`` per batch): from the same initial weights on the same batches, one epoch
  ends with the same weights and reports the same loss and accuracies;
- ``evaluate_accuracy`` gives ``evaluate_accuracy_gpu``'s number;
- ``resnet18(small_input=True)`` is d2l's ``resnet18``: the same convolutions and classifier,
  the differences being d2l's biases on every convolution and its 1x1 shortcuts without
  batch normalisation (gluoncnn follows the paper and torchvision there).
"""
import json
import os
import re
import subprocess
import sys
from collections import Counter
from pathlib import Path

import numpy as np
import pytest

pytest.importorskip("d2l", reason="d2l==1.0.3 is the reference: pip install -e '.[test]'")

import mxnet as mx  # noqa: E402
from mxnet import gluon, nd  # noqa: E402

import gluoncnn  # noqa: E402
from gluoncnn.train import evaluate_accuracy, train_ch5  # noqa: E402

REPO = Path(__file__).resolve().parents[1]
pytestmark = pytest.mark.slow


@pytest.fixture(scope="module")
def reference(tmp_path_factory):
    """Runs d2l's code once; returns (report dict, batches npz, lenet npz)."""
    out = tmp_path_factory.mktemp("d2l")
    path = os.pathsep.join([str(REPO), os.environ.get("PYTHONPATH", "")])
    env = dict(os.environ, PYTHONPATH=path, MPLBACKEND="Agg")
    done = subprocess.run([sys.executable, str(REPO / "tests" / "d2l_reference.py"), str(out)],
                          env=env, capture_output=True, text=True, timeout=600)
    assert done.returncode == 0, f"d2l's reference run failed:\n{done.stderr[-3000:]}"
    report = json.loads((out / "reference.json").read_text())
    return report, np.load(out / "batches.npz"), np.load(out / "lenet.npz")


def batches(data, split):
    return [(nd.array(X), nd.array(y, dtype=y.dtype))
            for X, y in zip(data[f"{split}_X"], data[f"{split}_y"])]


def lenet_with(lenet_npz, which):
    net = gluoncnn.get_model("lenet", classes=10, in_channels=1)
    net.initialize()
    params = list(net.collect_params().values())
    for i, param in enumerate(params):
        param.set_data(nd.array(lenet_npz[f"{which}_{i}"]))
    return net


def test_lenet_has_d2l_lenets_parameters_in_order(reference):
    report, data, _ = reference
    net = gluoncnn.get_model("lenet", classes=10, in_channels=1)
    net.initialize()
    net(nd.array(data["test_X"][0]))
    shapes = [list(p.shape) for p in net.collect_params().values()]
    assert shapes == report["lenet_shapes"]
    assert sum(int(np.prod(s)) for s in shapes) == 61_706


def test_lenet_computes_d2l_lenets_logits(reference):
    _, data, lenet_npz = reference
    X = nd.array(data["test_X"][0])
    logits = lenet_with(lenet_npz, "w0")(X).asnumpy()
    np.testing.assert_allclose(logits, lenet_npz["logits0"], rtol=1e-5, atol=1e-6)


def test_train_ch5_is_d2l_train_ch6(reference, capsys):
    report, data, lenet_npz = reference
    net = lenet_with(lenet_npz, "w0")
    trainer = gluon.Trainer(net.collect_params(), "sgd", {"learning_rate": report["lr"]})
    train_ch5(net, batches(data, "train"), batches(data, "test"), batch_size=100,
              trainer=trainer, ctx=mx.cpu(), num_epochs=1)
    for i, param in enumerate(net.collect_params().values()):
        np.testing.assert_allclose(param.data().asnumpy(), lenet_npz[f"w1_{i}"],
                                   rtol=1e-4, atol=1e-6, err_msg=param.name)
    line = capsys.readouterr().out.splitlines()[-1]
    match = re.match(r"epoch 1, loss ([\d.]+), train acc ([\d.]+), test acc ([\d.]+), time", line)
    assert match, line
    d2l_epoch = report["train_ch6"]
    assert float(match[1]) == pytest.approx(d2l_epoch["loss"], abs=1e-4)
    assert float(match[2]) == pytest.approx(d2l_epoch["train_acc"], abs=1e-3)
    assert float(match[3]) == pytest.approx(d2l_epoch["test_acc"], abs=1e-3)


def test_evaluate_accuracy_is_d2l_evaluate_accuracy_gpu(reference):
    report, data, lenet_npz = reference
    net = lenet_with(lenet_npz, "w1")
    test = batches(data, "test")
    # 500 test images: one image is 0.002, so abs=1e-6 means the same count of correct ones.
    assert evaluate_accuracy(test, net) == pytest.approx(report["evaluate_accuracy_gpu"], abs=1e-6)
    assert gluoncnn.evaluate(net, test)["acc"] == pytest.approx(report["evaluate_accuracy_gpu"],
                                                                abs=1e-6)


def _count(shapes):
    return sum(int(np.prod(shape)) for shape in shapes)


def test_resnet18_small_input_is_d2l_resnet18_up_to_biases_and_shortcut_bn(reference):
    report, data, _ = reference
    net = gluoncnn.get_model("resnet18", classes=10, in_channels=1, small_input=True)
    net.initialize()
    out = net(nd.array(data["test_X"][0][:2]))
    assert list(out.shape) == report["resnet18_output_shape"] == [2, 10]
    ours = [tuple(p.shape) for p in net.collect_params().values()]
    theirs = [tuple(shape) for _, shape in report["resnet18_params"]]
    # The same convolutions (4-d weights) and the same classifier (2-d weight).
    convs = Counter(s for s in ours if len(s) == 4)
    assert convs == Counter(s for s in theirs if len(s) == 4)
    assert Counter(s for s in ours if len(s) == 2) == Counter(s for s in theirs if len(s) == 2)
    # The whole difference: a bias on each of d2l's convolutions (one per output channel),
    # and gluoncnn's batch norm (gamma, beta, running mean and variance) after each 1x1
    # shortcut convolution.
    conv_biases = sum(s[0] * n for s, n in convs.items())
    shortcut_bn = sum(4 * s[0] * n for s, n in convs.items() if s[2:] == (1, 1))
    assert (conv_biases, shortcut_bn) == (4_800, 3_584)
    assert _count(theirs) == 11_183_626 and _count(ours) == 11_182_410
    assert _count(theirs) - _count(ours) == conv_biases - shortcut_bn
