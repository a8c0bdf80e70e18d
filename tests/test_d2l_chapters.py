"""``import gluoncnn as d2l`` runs code written the way d2l's CNN chapters write it.

Each test below is one chapter's code in d2l's own idiom and calls (MXNet Gluon, NDArray mode
as d2lzh): the net built from ``nn.Sequential`` and the chapter's block (VGG's ``vgg_block``,
NiN's ``nin_block``, GoogLeNet's ``Inception``, the from-scratch ``batch_norm``, ResNet's
``d2l.Residual``, DenseNet's ``DenseBlock`` and ``transition_block``), the stage shapes printed
layer by layer, then ``d2l.load_data_fashion_mnist(batch_size, resize=...)`` and
``d2l.train_ch6(net, train_iter, test_iter, num_epochs, lr, d2l.try_gpu())`` (later d2l) or
``d2l.train_ch5`` / ``d2l.train`` (d2lzh). The book's text itself is not copied here (its
licence); the code is written in its words, with every ``d2l.`` name the chapters call. The
only shortening: widths divided by 8 to 16, the shipped sample, one batch, one epoch.
tests/test_d2l_compat.py runs the course notes' own GoogLeNet chapter the same way.
"""
import re
from pathlib import Path

import numpy as np
import pytest
from mxnet import autograd, gluon, init, nd
from mxnet.gluon import loss as gloss
from mxnet.gluon import nn

import gluoncnn as d2l
from gluoncnn import d2l_utils

BATCH = 32


def data(resize=None):
    """One training batch and one test batch of the shipped sample (d2l's loader, shortened)."""
    return d2l.load_data_fashion_mnist(BATCH, resize=resize, sample=True, train_size=BATCH,
                                       test_size=BATCH)


def print_shapes(net, size):
    X = nd.random.uniform(shape=(1, 1, size, size))
    net.initialize()
    shapes = []
    for layer in net:
        X = layer(X)
        print(layer.name, 'output shape:\t', X.shape)
        shapes.append(X.shape)
    return shapes


#: The Animators that train_ch6 drew on in the current test (it returns nothing, as d2l's).
ANIMATORS = []


@pytest.fixture(autouse=True)
def record_animators(monkeypatch):
    class Recorded(d2l_utils.Animator):
        def __init__(self, *args, **kwargs):
            super().__init__(*args, **kwargs)
            ANIMATORS.append(self)

    ANIMATORS.clear()
    assert d2l.Animator is not Recorded  # gluoncnn's top level keeps d2l_utils' own class
    monkeypatch.setattr(d2l_utils, "Animator", Recorded)


def train_ch6_lines(capsys, net, resize=None, lr=0.9):
    train_iter, test_iter = data(resize)
    assert d2l.train_ch6(net, train_iter, test_iter, 1, lr, d2l.try_gpu()) is None
    out = capsys.readouterr().out
    assert re.search(r"^loss [\d.]+, train acc [\d.]+, test acc [\d.]+$", out, flags=re.M), out
    assert re.search(r"^[\d.]+ examples/sec on [a-z]+\(0\)$", out, flags=re.M), out
    # one point per line after epoch 1: train loss, train acc, test acc
    assert len(ANIMATORS) == 1 and ANIMATORS[0].X == [[1], [1], [1]]


def test_lenet(capsys):
    net = nn.Sequential()
    net.add(nn.Conv2D(channels=6, kernel_size=5, padding=2, activation='sigmoid'),
            nn.AvgPool2D(pool_size=2, strides=2),
            nn.Conv2D(channels=16, kernel_size=5, activation='sigmoid'),
            nn.AvgPool2D(pool_size=2, strides=2),
            nn.Dense(120, activation='sigmoid'),
            nn.Dense(84, activation='sigmoid'),
            nn.Dense(10))
    shapes = print_shapes(net, 28)
    assert shapes[3] == (1, 16, 5, 5) and shapes[-1] == (1, 10)
    train_ch6_lines(capsys, net)


def test_alexnet(capsys):
    net = nn.Sequential()
    net.add(nn.Conv2D(12, kernel_size=11, strides=4, activation='relu'),
            nn.MaxPool2D(pool_size=3, strides=2),
            nn.Conv2D(32, kernel_size=5, padding=2, activation='relu'),
            nn.MaxPool2D(pool_size=3, strides=2),
            nn.Conv2D(48, kernel_size=3, padding=1, activation='relu'),
            nn.Conv2D(48, kernel_size=3, padding=1, activation='relu'),
            nn.Conv2D(32, kernel_size=3, padding=1, activation='relu'),
            nn.MaxPool2D(pool_size=3, strides=2),
            nn.Dense(64, activation='relu'), nn.Dropout(0.5),
            nn.Dense(64, activation='relu'), nn.Dropout(0.5),
            nn.Dense(10))
    shapes = print_shapes(net, 224)
    assert shapes[7] == (1, 32, 5, 5)
    train_ch6_lines(capsys, net, resize=224, lr=0.01)


def vgg_block(num_convs, num_channels):
    blk = nn.Sequential()
    for _ in range(num_convs):
        blk.add(nn.Conv2D(num_channels, kernel_size=3, padding=1, activation='relu'))
    blk.add(nn.MaxPool2D(pool_size=2, strides=2))
    return blk


def test_vgg(capsys):
    conv_arch = ((1, 8), (1, 16), (2, 32), (2, 64), (2, 64))  # VGG-11, 8 times narrower
    net = nn.Sequential()
    for (num_convs, num_channels) in conv_arch:
        net.add(vgg_block(num_convs, num_channels))
    net.add(nn.Dense(64, activation='relu'), nn.Dropout(0.5),
            nn.Dense(64, activation='relu'), nn.Dropout(0.5),
            nn.Dense(10))
    shapes = print_shapes(net, 224)
    assert shapes[4] == (1, 64, 7, 7)
    train_ch6_lines(capsys, net, resize=224, lr=0.05)


def nin_block(num_channels, kernel_size, strides, padding):
    blk = nn.Sequential()
    blk.add(nn.Conv2D(num_channels, kernel_size, strides, padding, activation='relu'),
            nn.Conv2D(num_channels, kernel_size=1, activation='relu'),
            nn.Conv2D(num_channels, kernel_size=1, activation='relu'))
    return blk


def test_nin(capsys):
    net = nn.Sequential()
    net.add(nin_block(12, kernel_size=11, strides=4, padding=0),
            nn.MaxPool2D(pool_size=3, strides=2),
            nin_block(32, kernel_size=5, strides=1, padding=2),
            nn.MaxPool2D(pool_size=3, strides=2),
            nin_block(48, kernel_size=3, strides=1, padding=1),
            nn.MaxPool2D(pool_size=3, strides=2),
            nn.Dropout(0.5),
            nin_block(10, kernel_size=3, strides=1, padding=1),
            nn.GlobalAvgPool2D(),
            nn.Flatten())
    shapes = print_shapes(net, 224)
    assert shapes[-1] == (1, 10)
    train_ch6_lines(capsys, net, resize=224, lr=0.1)


class Inception(nn.Block):
    def __init__(self, c1, c2, c3, c4, **kwargs):
        super().__init__(**kwargs)
        self.p1_1 = nn.Conv2D(c1, kernel_size=1, activation='relu')
        self.p2_1 = nn.Conv2D(c2[0], kernel_size=1, activation='relu')
        self.p2_2 = nn.Conv2D(c2[1], kernel_size=3, padding=1, activation='relu')
        self.p3_1 = nn.Conv2D(c3[0], kernel_size=1, activation='relu')
        self.p3_2 = nn.Conv2D(c3[1], kernel_size=5, padding=2, activation='relu')
        self.p4_1 = nn.MaxPool2D(pool_size=3, strides=1, padding=1)
        self.p4_2 = nn.Conv2D(c4, kernel_size=1, activation='relu')

    def forward(self, x):
        p1 = self.p1_1(x)
        p2 = self.p2_2(self.p2_1(x))
        p3 = self.p3_2(self.p3_1(x))
        p4 = self.p4_2(self.p4_1(x))
        return nd.concat(p1, p2, p3, p4, dim=1)


def test_googlenet(capsys):
    b1 = nn.Sequential()
    b1.add(nn.Conv2D(8, kernel_size=7, strides=2, padding=3, activation='relu'),
           nn.MaxPool2D(pool_size=3, strides=2, padding=1))
    b2 = nn.Sequential()
    b2.add(nn.Conv2D(8, kernel_size=1, activation='relu'),
           nn.Conv2D(24, kernel_size=3, padding=1, activation='relu'),
           nn.MaxPool2D(pool_size=3, strides=2, padding=1))
    b3 = nn.Sequential()
    b3.add(Inception(8, (12, 16), (2, 4), 4), Inception(16, (16, 24), (4, 12), 8),
           nn.MaxPool2D(pool_size=3, strides=2, padding=1))
    b5 = nn.Sequential()
    b5.add(Inception(32, (20, 40), (4, 16), 16), nn.GlobalAvgPool2D())
    net = nn.Sequential()
    net.add(b1, b2, b3, b5, nn.Dense(10))
    shapes = print_shapes(net, 96)
    assert shapes[2] == (1, 60, 6, 6) and shapes[3] == (1, 104, 1, 1)
    # d2lzh's loop, as the GoogLeNet chapter calls it
    lr, num_epochs, batch_size, ctx = 0.1, 1, BATCH, d2l.try_gpu()
    net.initialize(force_reinit=True, ctx=ctx, init=init.Xavier())
    trainer = gluon.Trainer(net.collect_params(), 'sgd', {'learning_rate': lr})
    train_iter, test_iter = data(resize=96)
    d2l.train_ch5(net, train_iter, test_iter, batch_size, trainer, ctx, num_epochs)
    out = capsys.readouterr().out
    assert re.search(r"^epoch 1, loss [\d.]+, train acc [\d.]+, test acc [\d.]+, time [\d.]+ "
                     r"sec$", out, flags=re.M), out


def batch_norm(X, gamma, beta, moving_mean, moving_var, eps, momentum):
    if not autograd.is_training():
        X_hat = (X - moving_mean) / nd.sqrt(moving_var + eps)
    else:
        assert len(X.shape) in (2, 4)
        if len(X.shape) == 2:
            mean = X.mean(axis=0)
            var = ((X - mean) ** 2).mean(axis=0)
        else:
            mean = X.mean(axis=(0, 2, 3), keepdims=True)
            var = ((X - mean) ** 2).mean(axis=(0, 2, 3), keepdims=True)
        X_hat = (X - mean) / nd.sqrt(var + eps)
        moving_mean = momentum * moving_mean + (1.0 - momentum) * mean
        moving_var = momentum * moving_var + (1.0 - momentum) * var
    Y = gamma * X_hat + beta
    return Y, moving_mean, moving_var


class BatchNorm(nn.Block):
    def __init__(self, num_features, num_dims, **kwargs):
        super().__init__(**kwargs)
        shape = (1, num_features) if num_dims == 2 else (1, num_features, 1, 1)
        self.gamma = self.params.get('gamma', shape=shape, init=init.One())
        self.beta = self.params.get('beta', shape=shape, init=init.Zero())
        self.moving_mean = nd.zeros(shape)
        self.moving_var = nd.zeros(shape)

    def forward(self, X):
        if self.moving_mean.context != X.context:
            self.moving_mean = self.moving_mean.copyto(X.context)
            self.moving_var = self.moving_var.copyto(X.context)
        Y, self.moving_mean, self.moving_var = batch_norm(
            X, self.gamma.data(), self.beta.data(), self.moving_mean, self.moving_var,
            eps=1e-5, momentum=0.9)
        return Y


def test_batch_norm(capsys):
    net = nn.Sequential()
    net.add(nn.Conv2D(6, kernel_size=5), BatchNorm(6, num_dims=4), nn.Activation('sigmoid'),
            nn.MaxPool2D(pool_size=2, strides=2),
            nn.Conv2D(16, kernel_size=5), BatchNorm(16, num_dims=4), nn.Activation('sigmoid'),
            nn.MaxPool2D(pool_size=2, strides=2),
            nn.Dense(120), BatchNorm(120, num_dims=2), nn.Activation('sigmoid'),
            nn.Dense(84), BatchNorm(84, num_dims=2), nn.Activation('sigmoid'),
            nn.Dense(10))
    train_ch6_lines(capsys, net, lr=1.0)
    assert net[1].gamma.data().shape == (1, 6, 1, 1)


def resnet_block(num_channels, num_residuals, first_block=False):
    blk = nn.Sequential()
    for i in range(num_residuals):
        if i == 0 and not first_block:
            blk.add(d2l.Residual(num_channels, use_1x1conv=True, strides=2))
        else:
            blk.add(d2l.Residual(num_channels))
    return blk


def test_resnet(capsys):
    blk = d2l.Residual(3)
    blk.initialize()
    X = nd.random.uniform(shape=(4, 3, 6, 6))
    assert blk(X).shape == (4, 3, 6, 6)
    blk = d2l.Residual(6, use_1x1conv=True, strides=2)
    blk.initialize()
    assert blk(X).shape == (4, 6, 3, 3)
    net = nn.Sequential()
    net.add(nn.Conv2D(8, kernel_size=7, strides=2, padding=3),
            nn.BatchNorm(), nn.Activation('relu'),
            nn.MaxPool2D(pool_size=3, strides=2, padding=1))
    net.add(resnet_block(8, 2, first_block=True), resnet_block(16, 2),
            resnet_block(32, 2), resnet_block(64, 2))
    net.add(nn.GlobalAvgPool2D(), nn.Dense(10))
    shapes = print_shapes(net, 224)
    assert shapes[4:8] == [(1, 8, 56, 56), (1, 16, 28, 28), (1, 32, 14, 14), (1, 64, 7, 7)]
    train_ch6_lines(capsys, net, resize=32, lr=0.05)


def test_d2l_resnet18_has_d2ls_signature_and_shapes():
    net = d2l.resnet18(10)
    net.initialize()
    assert net(nd.zeros((2, 1, 28, 28))).shape == (2, 10)
    net = d2l.resnet18(10, in_channels=3)
    net.initialize()
    assert net(nd.zeros((2, 3, 32, 32))).shape == (2, 10)


def conv_block(num_channels):
    blk = nn.Sequential()
    blk.add(nn.BatchNorm(), nn.Activation('relu'),
            nn.Conv2D(num_channels, kernel_size=3, padding=1))
    return blk


class DenseBlock(nn.Block):
    def __init__(self, num_convs, num_channels, **kwargs):
        super().__init__(**kwargs)
        self.net = nn.Sequential()
        for _ in range(num_convs):
            self.net.add(conv_block(num_channels))

    def forward(self, X):
        for blk in self.net:
            Y = blk(X)
            X = nd.concat(X, Y, dim=1)
        return X


def transition_block(num_channels):
    blk = nn.Sequential()
    blk.add(nn.BatchNorm(), nn.Activation('relu'),
            nn.Conv2D(num_channels, kernel_size=1),
            nn.AvgPool2D(pool_size=2, strides=2))
    return blk


def test_densenet(capsys):
    net = nn.Sequential()
    # channels in multiples of 16 (the chapter's are multiples of 32): with 8 channels and a
    # growth rate of 4, MXNet 1.9.1's oneDNN failed this training step on an AVX-512 CPU
    # ("could not construct a sub-memory")
    net.add(nn.Conv2D(16, kernel_size=7, strides=2, padding=3),
            nn.BatchNorm(), nn.Activation('relu'),
            nn.MaxPool2D(pool_size=3, strides=2, padding=1))
    num_channels, growth_rate = 16, 16
    num_convs_in_dense_blocks = [2, 2, 2, 2]
    for i, num_convs in enumerate(num_convs_in_dense_blocks):
        net.add(DenseBlock(num_convs, growth_rate))
        num_channels += num_convs * growth_rate
        if i != len(num_convs_in_dense_blocks) - 1:
            num_channels //= 2
            net.add(transition_block(num_channels))
    net.add(nn.BatchNorm(), nn.Activation('relu'), nn.GlobalAvgPool2D(), nn.Dense(10))
    shapes = print_shapes(net, 96)
    assert shapes[4] == (1, 48, 24, 24) and shapes[-1] == (1, 10)
    train_ch6_lines(capsys, net, resize=96, lr=0.1)


def test_fashion_mnist_helpers():
    train_iter, _ = data()
    X, y = next(iter(train_iter))
    labels = d2l.get_fashion_mnist_labels(y[:6])
    assert all(isinstance(label, str) for label in labels)
    d2l.use_svg_display()
    axes = d2l.show_images(imgs=X[:6].reshape((6, 28, 28)), num_rows=2, num_cols=3,
                           titles=labels, scale=1.5)
    assert len(axes) == 6 and axes[0].get_title() == labels[0]


def test_timer_accumulator_and_animator():
    timer = d2l.Timer()
    timer.stop()
    timer.start()
    timer.stop()
    assert len(timer.times) == 2 and timer.sum() == pytest.approx(sum(timer.cumsum()[-1:]))
    metric = d2l.Accumulator(3)
    metric.add(nd.array([1.5]), 2, np.float32(3))
    metric.add(0.5, 1, 1)
    assert metric[0] == 2.0 and metric[1] == 3.0 and metric[2] == 4.0
    metric.reset()
    assert metric.data == [0.0, 0.0, 0.0]
    animator = d2l.Animator(xlabel='epoch', xlim=[1, 3], legend=['a', 'b'])
    animator.add(1, (0.5, None))
    animator.add(2, (0.4, 0.9))
    assert animator.X == [[1, 2], [2]] and animator.Y == [[0.5, 0.4], [0.9]]
    assert animator.axes[0].get_xlabel() == 'epoch'


def test_d2lzh_train_is_gluoncnn_train_called(capsys):
    """d2lzh's ``d2l.train(train_iter, test_iter, net, loss, trainer, ctx, num_epochs)``, while
    ``gluoncnn.train`` stays the package."""
    net = nn.Sequential()
    net.add(nn.Dense(10))
    net.initialize(init=init.Normal(sigma=0.01))
    trainer = gluon.Trainer(net.collect_params(), 'sgd', {'learning_rate': 0.1})
    train_iter, test_iter = data()
    d2l.train(train_iter, test_iter, net, gloss.SoftmaxCrossEntropyLoss(), trainer,
              d2l.try_all_gpus(), 1)
    out = capsys.readouterr().out
    assert re.search(r"^epoch 1, loss [\d.]+, train acc [\d.]+, test acc [\d.]+, time [\d.]+ "
                     r"sec$", out, flags=re.M), out
    assert d2l.train.fit is d2l.fit and d2l.train.__name__ == "gluoncnn.train"


def test_numpy_mode_is_refused_with_one_line():
    from mxnet import npx
    net = nn.Sequential()
    net.add(nn.Dense(10))
    train_iter, test_iter = data()
    npx.set_np()
    try:
        with pytest.raises(d2l.errors.OptionError, match="npx.reset_np"):
            d2l.train_ch6(net, train_iter, test_iter, 1, 0.1)
    finally:
        npx.reset_np()


#: gluoncnn's name -> the definition in d2l 1.0.3's d2l/mxnet.py whose parameters it takes
#: (the last definition of a name wins, as in the module).
D2L_SIGNATURES = {
    "train_ch6": "train_ch6", "evaluate_accuracy_gpu": "evaluate_accuracy_gpu",
    "show_images": "show_images", "get_fashion_mnist_labels": "get_fashion_mnist_labels",
    "use_svg_display": "use_svg_display", "set_figsize": "set_figsize", "set_axes": "set_axes",
    "Animator": "Animator.__init__", "Timer": "Timer.__init__",
    "Accumulator": "Accumulator.__init__", "Residual": "Residual.__init__",
    "resnet18": "resnet18",
}


def d2l_parameters():
    """{definition: [(parameter, default source or None)]} read from d2l/mxnet.py's source
    (not imported: importing it builds d2l's IPython display state)."""
    import ast
    import importlib.util
    spec = importlib.util.find_spec("d2l")
    if spec is None:
        pytest.skip("d2l==1.0.3 is the reference: pip install -e '.[test]'")
    source = (Path(spec.submodule_search_locations[0]) / "mxnet.py").read_text()
    found = {}

    def params(fn):
        args = [a.arg for a in fn.args.args if a.arg != "self"]
        defaults = [None] * (len(args) - len(fn.args.defaults)) + \
            [ast.unparse(d) for d in fn.args.defaults]
        return list(zip(args, defaults))

    for node in ast.parse(source).body:
        if isinstance(node, ast.FunctionDef):
            found[node.name] = params(node)
        elif isinstance(node, ast.ClassDef):
            for item in node.body:
                if isinstance(item, ast.FunctionDef) and item.name == "__init__":
                    found[f"{node.name}.__init__"] = params(item)
    return found


def test_each_helper_takes_d2ls_parameters_with_d2ls_defaults():
    import inspect
    reference = d2l_parameters()
    for name, definition in D2L_SIGNATURES.items():
        ours = inspect.signature(getattr(d2l, name))
        ours = [(p.name, None if p.default is inspect.Parameter.empty else repr(p.default))
                for p in ours.parameters.values() if p.kind is not p.VAR_KEYWORD]
        theirs = reference[definition]
        assert [n for n, _ in ours[:len(theirs)]] == [n for n, _ in theirs], name
        for (n, default), (_, d2l_default) in zip(ours, theirs):
            # d2l's required `device` of train_ch6 may be left out here (the first GPU, else CPU)
            if d2l_default is not None:
                assert default is not None and eval(default) == eval(d2l_default), (name, n)
        assert all(default is not None for _, default in ours[len(theirs):]), name
