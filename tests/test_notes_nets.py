"""The course notes' own nets, reproduced to the unit, and the notes' ``for layer in net`` loop.

Notes 000 (TensorFlow 2 / Keras): ``ResNet(layer_dims=[2, 2, 2, 2])`` on CIFAR-100 and its
printed summary; the VGG-13 for CIFAR-100 (fc 512-256-100). Notes 001 (d2lzh): the GoogLeNet
with its stage shapes at 1x96x96.
"""
import mxnet as mx
import numpy as np
import pytest
from modelcheck import stage_shapes
from mxnet import autograd, gluon, nd

from gluoncnn.models import get_model


def keras_summary(net, input_shape):
    """(output shape and parameters of each top-level stage, total, trainable, non-trainable),
    as Keras's summary counts them (BN moving statistics are non-trainable parameters)."""
    sym = net(mx.sym.var('data'))
    args, _, auxs = sym.infer_shape(data=input_shape)
    shapes = dict(zip(sym.list_arguments() + sym.list_auxiliary_states(), args + auxs))
    rows = []
    for stage in list(net):
        size = sum(int(np.prod(shapes[p.name])) for p in stage.collect_params().values())
        rows.append(size)
    trainable = sum(int(np.prod(shapes[p.name])) for p in net.collect_params().values()
                    if p.grad_req != 'null')
    total = sum(int(np.prod(shapes[p.name])) for p in net.collect_params().values())
    return rows, total, trainable, total - trainable


def test_keras_resnet_reproduces_the_notes_summary():
    net = get_model('keras_resnet')
    rows, total, trainable, frozen = keras_summary(net, (1, 3, 32, 32))
    # sequential, sequential_1, _2, _4, _6, global_average_pooling2d, dense
    assert rows == [2048, 223104, 823168, 3284736, 13123072, 0, 51300]
    assert (total, trainable, frozen) == (17_507_428, 17_495_780, 11_648)
    shapes = stage_shapes(net, (1, 3, 32, 32))
    assert shapes[:5] == [(64, 30, 30), (64, 30, 30), (128, 15, 15), (256, 8, 8), (512, 4, 4)]
    assert [len(stage) for stage in net.features[1:5]] == [3, 3, 3, 3]   # 1 + layer_dims[0]
    # the quirk: only layer_dims[0] is read
    assert keras_summary(get_model('keras_resnet', layer_dims=(2, 9, 9, 9)),
                         (1, 3, 32, 32))[1] == 17_507_428


def test_keras_resnet_quirks():
    net = get_model('keras_resnet')
    stem_conv, stem_bn, _, pool = net.features[0]
    assert stem_conv._kwargs['pad'] == (0, 0) and stem_conv.bias is not None
    assert stem_bn._kwargs['eps'] == 1e-3 and stem_bn._kwargs['momentum'] == 0.99
    unit = net.features[2][0]                     # the first unit of stage 2: strided
    assert isinstance(unit.shortcut, gluon.nn.Conv2D) and unit.shortcut.bias is not None
    assert net.features[1][0].shortcut is None    # stride 1: the identity
    # the 'same' 2x2 stride-1 max pool: bottom/right edge copied, so the max is Keras's
    pool.initialize()
    x = nd.array(np.arange(9, dtype='float32').reshape(1, 1, 3, 3))
    np.testing.assert_array_equal(pool(x).asnumpy()[0, 0],
                                  [[4, 5, 5], [7, 8, 8], [7, 8, 8]])


def test_keras_resnet_trains_a_step():
    net = get_model('keras_resnet', classes=10, in_channels=1)
    mx.random.seed(0)
    net.initialize()
    x, y = nd.random.uniform(shape=(4, 1, 28, 28)), nd.array([0, 1, 2, 3])
    loss_fn = gluon.loss.SoftmaxCrossEntropyLoss()
    trainer = gluon.Trainer(net.collect_params(), 'sgd', {'learning_rate': 0.01})
    with autograd.record():
        before = loss_fn(net(x), y).mean()
    before.backward()
    trainer.step(1)
    with autograd.train_mode():
        assert loss_fn(net(x), y).mean().asscalar() < before.asscalar()


def test_vgg13_cifar_is_the_notes_net():
    net = get_model('vgg13_cifar')
    rows, total, trainable, _ = keras_summary(net, (1, 3, 32, 32))
    assert total == trainable == 9_824_676
    assert stage_shapes(net, (1, 3, 32, 32))[-1] == (512, 1, 1)
    dense = [b for b in net.output if isinstance(b, gluon.nn.Dense)]
    assert [d._units for d in dense] == [512, 256, 100]


def test_d2l_googlenet_has_no_dropout_layer():
    for net in (get_model('googlenet_d2l'),
                get_model('googlenet', classes=10, in_channels=1, aux_logits=False, lrn=False,
                          dropout=0.0)):
        assert not any(isinstance(b, gluon.nn.Dropout) for b in _blocks(net))
        assert stage_shapes(net, (1, 1, 96, 96)) == [(64, 24, 24), (192, 12, 12), (480, 6, 6),
                                                      (832, 3, 3), (1024, 1, 1)]
        assert net.param_counts((1, 1, 96, 96)) == {'inference': 5_977_530, 'train_only': 0,
                                                    'non_trainable': 0}
    assert any(isinstance(b, gluon.nn.Dropout) for b in _blocks(get_model('googlenet')))


def _blocks(block):
    yield block
    for child in block._children.values():
        yield from _blocks(child)


@pytest.mark.parametrize('name, shape, last', [
    ('googlenet_d2l', (1, 1, 96, 96), (1, 10)),
    ('keras_resnet', (1, 3, 32, 32), (1, 100)),
    ('resnet18', (1, 1, 28, 28), (1, 10)),
    ('densenet_cifar', (1, 1, 28, 28), (1, 10)),
    ('lenet', (1, 1, 28, 28), (1, 10)),
])
def test_the_notes_loop_runs_on_gluoncnn_models(name, shape, last, capsys):
    options = dict(depth=22) if name == 'densenet_cifar' else {}
    if name in ('resnet18', 'densenet_cifar'):
        options.update(classes=10, in_channels=1, small_input=True)
    net = get_model(name, **options)
    X = nd.random.uniform(shape=shape)
    net.initialize()
    expected = net(X)
    for layer in net:                          # the notes' loop, unchanged
        X = layer(X)
        print(layer.name, 'output shape:', X.shape)
    lines = capsys.readouterr().out.splitlines()
    assert X.shape == last and len(lines) == len(net.features) + 1
    np.testing.assert_allclose(X.asnumpy(), expected.asnumpy(), rtol=1e-5, atol=1e-6)


def test_default_googlenet_counts_without_training():
    net = get_model('googlenet')
    net.initialize()
    net(nd.random.uniform(shape=(1, 3, 224, 224)))          # one inference call
    assert sum(p.data().size for p in net.collect_params().values()) == 13_378_280
    counts = net.param_counts((1, 3, 224, 224))
    assert counts == {'inference': 6_998_552, 'train_only': 6_379_728, 'non_trainable': 0}


def test_default_googlenet_counts_hybridized_and_exports(tmp_path):
    net = get_model('googlenet', classes=10, in_channels=1, small_input=True)
    net.initialize()
    net.hybridize()
    x = nd.random.uniform(shape=(2, 1, 28, 28))
    out = net(x)
    assert out.shape == (2, 10)
    assert all(0 not in p.shape for p in net.collect_params().values())
    net.export(str(tmp_path / 'g'))
    with autograd.record():
        logits, aux1, aux2 = net(x)
    assert aux1.shape == aux2.shape == (2, 10)
