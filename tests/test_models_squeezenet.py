"""SqueezeNet (Iandola et al., 2016): exact counts, ceil-mode pooling sizes, Fire modules,
the bypass variants, the small-image form, and one training step on real Fashion-MNIST."""
import mxnet as mx
import numpy as np
import pytest
from modelcheck import stage_shapes, trainable_params
from mxnet import autograd, gluon, nd

from gluoncnn.models import InputShapeError, get_model
from gluoncnn.models.squeezenet import Fire


def out_size(block, shape):
    return block(mx.sym.var('data')).infer_shape(data=shape)[1][0][1:]


# torchvision squeezenet1_0 / squeezenet1_1 and the MXNet model zoo have the same counts.
@pytest.mark.parametrize('name, count', [('squeezenet1_0', 1248424), ('squeezenet1_1', 1235496)])
def test_counts_equal_reference(name, count):
    assert trainable_params(get_model(name), (1, 3, 224, 224)) == count


def test_ceil_mode_pooling_sizes():
    net = get_model('squeezenet1_0')
    # the paper's 227x227 input: conv1 111, then 55 -> 27 -> 13 with ceil rounding
    assert out_size(net.features[0][0], (1, 3, 227, 227)) == (96, 111, 111)
    assert stage_shapes(net, (1, 3, 227, 227)) == [(96, 55, 55), (256, 27, 27), (512, 13, 13),
                                                   (512, 13, 13)]
    # 224x224: 109 -> 54 (floor rounding would give 54 too) -> 27 (floor: 26) -> 13
    assert out_size(net.features[0][0], (1, 3, 224, 224)) == (96, 109, 109)
    assert stage_shapes(net, (1, 3, 224, 224)) == [(96, 54, 54), (256, 27, 27), (512, 13, 13),
                                                   (512, 13, 13)]
    floor_pool = mx.gluon.nn.MaxPool2D(3, 2)
    assert out_size(floor_pool, (1, 256, 54, 54))[1] == 26
    net = get_model('squeezenet1_1')
    assert out_size(net.features[0][0], (1, 3, 224, 224)) == (64, 111, 111)
    assert stage_shapes(net, (1, 3, 224, 224)) == [(64, 55, 55), (128, 27, 27), (256, 13, 13),
                                                   (512, 13, 13)]
    assert net(mx.sym.var('data')).infer_shape(data=(1, 3, 224, 224))[1] == [(1, 1000)]


def test_fire_concatenates_expand_branches():
    fire = Fire(8, 4, 6, 10)
    assert (fire.in_channels, fire.squeeze_channels, fire.expand1x1_channels,
            fire.expand3x3_channels, fire.out_channels) == (8, 4, 6, 10, 16)
    fire.initialize(mx.init.Xavier())
    x = nd.random.uniform(shape=(2, 8, 5, 5))
    out = fire(x)
    assert out.shape == (2, 16, 5, 5)                  # 3x3 expand is padded: same H, W
    s = fire.squeeze(x)
    assert np.allclose(out[:, :6].asnumpy(), fire.expand1x1(s).asnumpy())
    assert np.allclose(out[:, 6:].asnumpy(), fire.expand3x3(s).asnumpy())
    assert (out.asnumpy() >= 0).all()                  # both branches end in ReLU
    # the Fire widths of the paper's Table 1 (1.0), read from the modules
    fires = get_model('squeezenet1_0').fires()
    assert [(f.squeeze_channels, f.expand1x1_channels, f.expand3x3_channels) for f in fires] == [
        (16, 64, 64), (16, 64, 64), (32, 128, 128), (32, 128, 128),
        (48, 192, 192), (48, 192, 192), (64, 256, 256), (64, 256, 256)]
    assert [f.in_channels for f in fires] == [96, 128, 128, 256, 256, 384, 384, 512]


@pytest.mark.parametrize('name, extra', [('squeezenet1_0', 341248), ('squeezenet1_1', 337152)])
def test_bypass_variants(name, extra):
    base = trainable_params(get_model(name), (1, 3, 224, 224))
    simple = get_model(name, bypass='simple')
    complex_ = get_model(name, bypass='complex')
    assert [f.shortcut for f in simple.fires()] == [None, 'identity'] * 4     # Fire 3, 5, 7, 9
    assert [f.shortcut for f in complex_.fires()] == ['conv', 'identity'] * 4
    assert trainable_params(simple, (1, 3, 224, 224)) == base                 # identity: free
    # complex: a 1x1 conv (weights + bias) around Fire 2, 4, 6, 8
    expected = sum(f.in_channels * f.out_channels + f.out_channels
                   for f in complex_.fires() if f.shortcut == 'conv')
    assert expected == extra
    assert trainable_params(complex_, (1, 3, 224, 224)) == base + extra


def test_identity_shortcut_adds_the_input():
    fire = Fire(16, 4, 8, 8, shortcut='identity')
    plain = Fire(16, 4, 8, 8)
    fire.initialize()
    plain.initialize()
    for p, q in zip(plain.collect_params().values(), fire.collect_params().values()):
        p.set_data(q.data())
    x = nd.random.uniform(shape=(1, 16, 4, 4))
    assert np.allclose(fire(x).asnumpy(), (plain(x) + x).asnumpy())
    with pytest.raises(ValueError, match='in_channels == out_channels'):
        Fire(8, 4, 8, 8, shortcut='identity')
    with pytest.raises(ValueError, match='bypass'):
        get_model('squeezenet1_0', bypass='residual')


@pytest.mark.parametrize('name', ['squeezenet1_0', 'squeezenet1_1'])
@pytest.mark.parametrize('small', [False, True])
def test_min_size_is_exact(name, small):
    net = get_model(name, small_input=small)
    m = net.min_size
    net(mx.sym.var('data')).infer_shape(data=(1, 3, m, m))
    with pytest.raises(mx.MXNetError):
        net(mx.sym.var('data')).infer_shape(data=(1, 3, m - 1, m - 1))
    net.initialize()
    with pytest.raises(InputShapeError, match=f'>={m}'):
        net(nd.ones((1, 3, m - 1, m - 1)))


def test_small_input_form():
    net = get_model('squeezenet1_0', small_input=True, classes=10, in_channels=1)
    assert stage_shapes(net, (1, 1, 28, 28)) == [(96, 28, 28), (256, 14, 14), (512, 7, 7),
                                                 (512, 7, 7)]
    assert stage_shapes(net, (1, 1, 32, 32))[-1] == (512, 8, 8)
    big = get_model('squeezenet1_0', classes=10, in_channels=1)
    # only conv1 differs: 3x3x1x96 instead of 7x7x1x96 weights
    assert (trainable_params(big, (1, 1, 224, 224)) - trainable_params(net, (1, 1, 28, 28))
            == (49 - 9) * 96)
    net.initialize()
    assert net(nd.ones((2, 1, 28, 28))).shape == (2, 10)


def test_one_training_step_on_fashion_mnist():
    from gluoncnn.data import load_data
    np.random.seed(0)
    X, y = next(iter(load_data('fashion-mnist', 16, sample=True)[0]))
    net = get_model('squeezenet1_1', classes=10, in_channels=1, small_input=True, dropout=0.0)
    net.initialize()
    net.hybridize()
    loss = gluon.loss.SoftmaxCrossEntropyLoss()
    trainer = gluon.Trainer(net.collect_params(), 'sgd', {'learning_rate': 0.05})
    with autograd.record():
        before = loss(net(X), y).mean()
    before.backward()
    assert nd.abs(net.features[0][0].weight.grad()).sum().asscalar() > 0
    trainer.step(1)
    with autograd.record():
        after = loss(net(X), y).mean()
    assert after.asscalar() < before.asscalar()
