"""Run d2l's own MXNet code (d2l 1.0.3, ``from d2l import mxnet as d2l``) on the shipped sample.

    python tests/d2l_reference.py OUT_DIR

tests/test_d2l_reference.py runs this in a process of its own, because d2l's functions need
MXNet's numpy mode (``npx.set_np()``, a process-wide switch that gluoncnn's legacy-NDArray
code must not see) and its plotting creates an IPython shell that would change how matplotlib
and gluoncnn's progress display behave in the other tests. It writes to OUT_DIR:

- ``batches.npz``: the ten training batches and five test batches of 100 sample images used on
  both sides (fixed order: the comparison must not depend on shuffling);
- ``lenet.npz``: d2l's LeNet weights after its Xavier initialisation (``w0_*``) and after one
  epoch of ``d2l.train_ch6`` (``w1_*``), in parameter order, and its logits on the first test
  batch with the initial weights;
- ``reference.json``: LeNet's parameter shapes, what ``train_ch6`` reported for the epoch
  (loss, train accuracy, test accuracy), ``evaluate_accuracy_gpu`` after training, and
  ``d2l.resnet18(10)``'s parameter names and shapes and its output shape on a 28x28 batch.
"""
import json
import sys
from pathlib import Path

import mxnet as mx
import numpy as np
from d2l import mxnet as d2l
from mxnet import init, npx

from gluoncnn.data import load_data_fashion_mnist

SEED, LR, BATCH = 0, 0.9, 100   # d2l's LeNet chapter trains with lr 0.9


class EpochRecorder:
    """Stands in for ``d2l.Animator`` in ``train_ch6``: keeps the points it would plot."""

    points = []

    def __init__(self, **kwargs):
        pass

    def add(self, x, y):
        EpochRecorder.points.append((float(x), list(y)))


def sample_batches():
    """The sample's training and test sets as fixed lists of (X, y) numpy batches."""
    train_iter, test_iter = load_data_fashion_mnist(BATCH, sample=True)

    def stack(data_iter):
        pairs = [(X.asnumpy(), y.asnumpy()) for X, y in data_iter]
        return np.stack([X for X, _ in pairs]), np.stack([y for _, y in pairs])

    (train_X, train_y), (test_X, test_y) = stack(train_iter), stack(test_iter)
    return train_X, train_y, test_X, test_y


def weights(net):
    return [p.data().asnumpy().copy() for p in net.collect_params().values()]


def main(out):
    out = Path(out)
    train_X, train_y, test_X, test_y = sample_batches()
    np.savez(out / "batches.npz", train_X=train_X, train_y=train_y, test_X=test_X, test_y=test_y)
    npx.set_np()
    train = [(mx.np.array(X), mx.np.array(y, dtype=y.dtype)) for X, y in zip(train_X, train_y)]
    test = [(mx.np.array(X), mx.np.array(y, dtype=y.dtype)) for X, y in zip(test_X, test_y)]

    lenet = d2l.LeNet()
    lenet(test[0][0])                       # finish the deferred initialisation
    mx.random.seed(SEED)
    lenet.initialize(force_reinit=True, init=init.Xavier())
    w0, logits0 = weights(lenet), lenet(test[0][0]).asnumpy()
    d2l.Animator = EpochRecorder
    mx.random.seed(SEED)                    # train_ch6 re-initialises: the same draws again
    d2l.train_ch6(lenet, train, test, 1, LR, mx.cpu())
    w1 = weights(lenet)
    np.savez(out / "lenet.npz", logits0=logits0,
             **{f"w0_{i}": w for i, w in enumerate(w0)}, **{f"w1_{i}": w for i, w in enumerate(w1)})
    (epoch_end, (loss, train_acc, _)), (_, (_, _, test_acc)) = EpochRecorder.points[-2:]

    resnet = d2l.resnet18(10)
    resnet.initialize()
    resnet_out = resnet(test[0][0][:2])
    report = {
        "lenet_shapes": [list(w.shape) for w in w0],
        "train_ch6": {"epoch": epoch_end, "loss": loss, "train_acc": train_acc,
                      "test_acc": test_acc},
        "evaluate_accuracy_gpu": d2l.evaluate_accuracy_gpu(lenet, test),
        "resnet18_params": [[p.name, list(p.shape)] for p in resnet.collect_params().values()],
        "resnet18_output_shape": list(resnet_out.shape),
        "lr": LR, "seed": SEED,
    }
    (out / "reference.json").write_text(json.dumps(report, indent=1))


if __name__ == "__main__":
    main(sys.argv[1])
