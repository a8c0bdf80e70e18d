"""LeNet (and the from-scratch BatchNorm), AlexNet, ZFNet, VGG, NiN, GoogLeNet: exact parameter
counts, the stage shapes the course notes print, the smallest inputs, the paper's
initialisation, and training-only behaviour (dropout, auxiliary heads), hybridized or not.

ImageNet-size nets are checked by symbolic shape inference; real forwards stay small.
"""
import mxnet as mx
import numpy as np
import pytest
from mxnet import autograd, gluon, nd
from mxnet.gluon import nn

from gluoncnn.models import InputShapeError, get_model
from gluoncnn.models.alexnet import AlexNetInit, LocalResponseNorm, PaperBias
from gluoncnn.models.googlenet import Inception
from gluoncnn.models.lenet import BatchNorm, batch_norm


def infer(net, shape):
    """(trainable parameter count, output shapes) by symbolic shape inference."""
    sym = net(mx.sym.var('data'))
    arg_shapes, out_shapes, _ = sym.infer_shape(data=shape)
    count = sum(int(np.prod(s)) for n, s in zip(sym.list_arguments(), arg_shapes) if n != 'data')
    return count, out_shapes


def stage_shapes(net, shape):
    """Output shape of each stage of ``net.features``, by symbolic inference."""
    x, shapes = mx.sym.var('data'), []
    for stage in net.features:
        x = stage(x)
        shapes.append(x.infer_shape(data=shape)[1][0])
    return shapes


# (model, options, input side, trainable parameters): the docstrings state these numbers
PARAMETER_COUNTS = [
    ('lenet', {}, 28, 61_706),
    ('lenet_bn', {}, 28, 62_158),
    ('alexnet', {}, 227, 62_378_344),
    ('alexnet', {'groups': 2}, 227, 60_965_224),    # the paper's two-GPU layout, "60 million"
    ('zfnet', {}, 224, 62_357_608),
    ('vgg11', {}, 224, 132_863_336),                # torchvision and MXNet's model zoo
    ('vgg13', {}, 224, 133_047_848),
    ('vgg16', {}, 224, 138_357_544),
    ('vgg19', {}, 224, 143_667_240),
    ('vgg11_bn', {}, 224, 132_868_840),
    ('vgg13_bn', {}, 224, 133_053_736),
    ('vgg16_bn', {}, 224, 138_365_992),
    ('vgg19_bn', {}, 224, 143_678_248),
    ('nin', {}, 224, 7_439_608),
    ('nin', {'classes': 10}, 224, 2_015_398),
    ('googlenet', {}, 224, 6_998_552),              # without the auxiliary heads
]


@pytest.mark.parametrize('name, options, side, expected', PARAMETER_COUNTS)
def test_parameter_count(name, options, side, expected):
    net = get_model(name, **options)
    count, _ = infer(net, (1, net.in_channels, side, side))
    assert count == expected


@pytest.mark.parametrize('name', ['vgg11', 'vgg13', 'vgg16', 'vgg19',
                                  'vgg11_bn', 'vgg13_bn', 'vgg16_bn', 'vgg19_bn', 'alexnet'])
def test_counts_against_mxnet_model_zoo(name):
    """VGG equals MXNet's model-zoo VGG (the torchvision architecture); MXNet's AlexNet is the
    64-192-384-256-256 variant with 61,100,840 parameters, not the paper's."""
    from mxnet.gluon.model_zoo import vision
    zoo_count, _ = infer(vision.get_model(name), (1, 3, 224, 224))
    if name == 'alexnet':
        assert zoo_count == 61_100_840
    else:
        assert zoo_count == infer(get_model(name), (1, 3, 224, 224))[0]


def test_googlenet_parameters_with_auxiliary_heads():
    net = get_model('googlenet')
    net.initialize()
    with autograd.train_mode():
        net(nd.zeros((1, 3, 224, 224)))
    assert sum(p.data().size for p in net.collect_params().values()) == 13_378_280


# -- shapes ---------------------------------------------------------------------------------

def test_alexnet_layers_match_the_cs231n_table():
    net = get_model('alexnet')
    net.initialize()
    x = nd.zeros((1, 3, 227, 227))
    assert net.features[0][0](x).shape == (1, 96, 55, 55)          # CONV1
    assert [s[1:] for s in stage_shapes(net, x.shape)] == [
        (96, 27, 27), (256, 13, 13), (384, 13, 13), (384, 13, 13), (256, 6, 6)]
    assert net(x).shape == (1, 1000)
    # groups=2: conv2, conv4 and conv5 see half of the previous layer's channels
    grouped = get_model('alexnet', groups=2)
    sym = grouped(mx.sym.var('data'))
    shapes = {n.split('_', 1)[1]: s for n, s in
              zip(sym.list_arguments(), sym.infer_shape(data=(1, 3, 227, 227))[0])
              if n != 'data'}
    assert shapes['conv2_weight'] == (256, 48, 5, 5)
    assert shapes['conv3_weight'] == (384, 256, 3, 3)
    assert shapes['conv4_weight'] == (384, 192, 3, 3)
    assert shapes['conv5_weight'] == (256, 192, 3, 3)


def test_zfnet_sizes_match_the_paper_figure():
    net = get_model('zfnet')
    net.initialize()
    x = nd.zeros((1, 3, 224, 224))
    assert net.features[0][0](x).shape == (1, 96, 110, 110)
    assert [s[1:] for s in stage_shapes(net, x.shape)] == [
        (96, 55, 55), (256, 13, 13), (384, 13, 13), (384, 13, 13), (256, 6, 6)]
    conv2 = net.features[1][0](net.features[0](x))
    assert conv2.shape == (1, 256, 26, 26)


def test_vgg16_stage_shapes():
    assert stage_shapes(get_model('vgg16'), (1, 3, 224, 224)) == [
        (1, 64, 112, 112), (1, 128, 56, 56), (1, 256, 28, 28), (1, 512, 14, 14),
        (1, 512, 7, 7)]


def test_vgg13_cifar_form_of_the_notes():
    net = get_model('vgg13', classes=100, small_input=True)
    for side in (32, 28):
        assert stage_shapes(net, (1, 3, side, side))[-1] == (1, 512, 1, 1)
    assert [layer._units for layer in net.output if isinstance(layer, nn.Dense)] == [512, 256, 100]
    assert infer(net, (1, 3, 32, 32))[1] == [(1, 100)]


def test_nin_stage_shapes():
    assert stage_shapes(get_model('nin', classes=10, in_channels=1), (1, 1, 224, 224)) == [
        (1, 96, 26, 26), (1, 256, 12, 12), (1, 384, 5, 5), (1, 10, 5, 5)]
    assert stage_shapes(get_model('nin', classes=10, in_channels=1, small_input=True),
                        (1, 1, 28, 28)) == [
        (1, 96, 13, 13), (1, 256, 6, 6), (1, 384, 2, 2), (1, 10, 2, 2)]


def test_googlenet_stage_shapes_of_the_course_notes():
    """Notes 001 (d2l): at 1x96x96 the five stages give these shapes."""
    net = get_model('googlenet', classes=10, in_channels=1)
    net.initialize()
    x = nd.random.uniform(shape=(1, 1, 96, 96))
    shapes = []
    for stage in net.features:
        x = stage(x)
        shapes.append(x.shape)
    assert shapes == [(1, 64, 24, 24), (1, 192, 12, 12), (1, 480, 6, 6), (1, 832, 3, 3),
                      (1, 1024, 1, 1)]
    assert net(nd.zeros((1, 1, 96, 96))).shape == (1, 10)
    assert stage_shapes(net, (1, 1, 224, 224)) == [
        (1, 64, 56, 56), (1, 192, 28, 28), (1, 480, 14, 14), (1, 832, 7, 7), (1, 1024, 1, 1)]


def test_inception_block_channels():
    block = Inception(64, (96, 128), (16, 32), 32)
    block.initialize()
    assert block(nd.zeros((1, 192, 7, 7))).shape == (1, 256, 7, 7)


# -- smallest inputs ------------------------------------------------------------------------

MIN_SIZES = [('alexnet', {}, 67), ('alexnet', {'small_input': True}, 15),
             ('zfnet', {}, 53), ('zfnet', {'small_input': True}, 9),
             ('vgg11', {'small_input': True}, 17), ('nin', {}, 67),
             ('nin', {'small_input': True}, 15), ('lenet', {}, 12)]


@pytest.mark.parametrize('name, options, side', MIN_SIZES)
def test_smallest_input_is_exact(name, options, side):
    """The documented smallest input goes through MXNet's own shape inference; one less does
    not, and the models refuse it with InputShapeError (or ValueError when building a
    fixed-size net for it)."""
    fixed = name in ('alexnet', 'zfnet', 'lenet')
    net = get_model(name, input_size=side, **options) if fixed else get_model(name, **options)
    assert infer(net, (1, net.in_channels, side, side))[1][0][1] in (10, 1000)
    with pytest.raises(mx.base.MXNetError):
        infer(net, (1, net.in_channels, side - 1, side - 1))
    if fixed:
        with pytest.raises(ValueError, match=f'input_size >= {side}'):
            get_model(name, input_size=side - 1, **options)
    else:
        assert net.min_size == side
        with pytest.raises(InputShapeError):
            net(nd.zeros((1, net.in_channels, side - 1, side - 1)))


def test_googlenet_smallest_input_with_auxiliary_heads():
    assert get_model('googlenet').min_size == 65
    assert get_model('googlenet', small_input=True).min_size == 17
    assert get_model('googlenet', aux_logits=False).min_size == 1
    net = get_model('googlenet', classes=10, in_channels=1, small_input=True)
    net.initialize()
    with autograd.train_mode():
        assert [o.shape for o in net(nd.zeros((1, 1, 17, 17)))] == [(1, 10)] * 3
    with pytest.raises(InputShapeError, match='>=17'):
        net(nd.zeros((1, 1, 16, 16)))


def test_lenet_input_size_and_defaults():
    net = get_model('lenet')
    assert net.input_size == (28, 28) and net.in_channels == 1
    assert get_model('lenet', small_input=False, in_channels=3).input_size == (224, 224)
    assert infer(get_model('lenet', input_size=32), (1, 1, 32, 32))[1] == [(1, 10)]
    with pytest.raises(InputShapeError, match=r'\(batch, 1, 28, 28\)'):
        net(nd.zeros((1, 1, 32, 32)))


# -- initialisation, normalisation ----------------------------------------------------------

def test_alexnet_paper_initialisation():
    mx.random.seed(0)
    net = get_model('alexnet', small_input=True, input_size=15)  # small fc6, same scheme
    net.initialize()  # the default: AlexNetInit
    assert isinstance(net.default_init, AlexNetInit)
    net(nd.zeros((1, 3, 15, 15)))
    params = {n.split('_', 1)[1]: p.data() for n, p in net.collect_params().items()}
    for layer in ('conv1', 'conv2', 'conv3', 'conv4', 'conv5', 'fc6', 'fc7', 'fc8'):
        weight = params[f'{layer}_weight'].reshape((-1,))[:100_000].asnumpy()
        assert abs(weight.std() - 0.01) < 5e-4 and abs(weight.mean()) < 5e-4, layer
        one = layer in ('conv2', 'conv4', 'conv5', 'fc6', 'fc7')
        assert (params[f'{layer}_bias'].asnumpy() == (1.0 if one else 0.0)).all(), layer
    # under any other scheme those biases are 0
    for init, value in ((AlexNetInit(), 1.0), (mx.init.Xavier(), 0.0), (mx.init.Normal(), 0.0)):
        layer = nn.Dense(3, in_units=2, bias_initializer=PaperBias())
        layer.initialize(init)
        assert (layer.bias.data().asnumpy() == value).all()


def test_local_response_norm_uses_the_papers_alpha():
    x = nd.random.normal(shape=(2, 7, 3, 3))
    y = LocalResponseNorm(size=5, alpha=1e-2, beta=0.75, k=2.0)(x).asnumpy()
    a = x.asnumpy()
    expected = np.empty_like(a)
    for c in range(7):
        window = (a[:, max(0, c - 2):c + 3] ** 2).sum(axis=1)
        expected[:, c] = a[:, c] / (2.0 + 1e-2 * window) ** 0.75
    np.testing.assert_allclose(y, expected, rtol=1e-5)


@pytest.mark.parametrize('shape', [(8, 5), (4, 3, 6, 6)])
def test_scratch_batch_norm_matches_nn_batchnorm(shape):
    num_dims, channels = len(shape), shape[1]
    ours, theirs = BatchNorm(channels, num_dims), nn.BatchNorm()
    ours.initialize()
    theirs.initialize()
    for _step in range(3):
        x = nd.random.normal(2.0, 3.0, shape=shape)
        outs, grads = [], []
        for layer in (ours, theirs):
            x.attach_grad()
            with autograd.record():
                y = layer(x)
                (y * nd.arange(y.size).reshape(y.shape)).sum().backward()
            outs.append(y.asnumpy())
            grads.append(x.grad.asnumpy())
        np.testing.assert_allclose(outs[0], outs[1], rtol=1e-4, atol=1e-4)
        np.testing.assert_allclose(grads[0], grads[1], rtol=1e-3, atol=1e-3)
    for stat in ('running_mean', 'running_var'):
        np.testing.assert_allclose(getattr(ours, stat).data().asnumpy(),
                                   theirs.params.get(stat).data().asnumpy(), rtol=1e-4)
    x = nd.random.normal(shape=shape)
    np.testing.assert_allclose(ours(x).asnumpy(), theirs(x).asnumpy(), rtol=1e-4, atol=1e-4)


def test_batch_norm_function_shapes():
    X = nd.random.normal(shape=(4, 3, 2, 2))
    ones, zeros = nd.ones((1, 3, 1, 1)), nd.zeros((1, 3, 1, 1))
    with autograd.train_mode():
        Y, mean, var = batch_norm(X, ones, zeros, zeros, ones, eps=1e-5, momentum=0.9)
    assert Y.shape == X.shape and mean.shape == var.shape == (1, 3, 1, 1)
    np.testing.assert_allclose(Y.mean(axis=(0, 2, 3)).asnumpy(), 0, atol=1e-5)


def test_scratch_bn_lenet_equals_nn_bn_lenet():
    X = nd.random.uniform(shape=(8, 1, 28, 28))
    scratch, builtin = get_model('lenet_bn', scratch_bn=True), get_model('lenet_bn')
    for net in (scratch, builtin):
        net.initialize()
        net(X)
    for p, q in zip(scratch.collect_params().values(), builtin.collect_params().values()):
        assert p.shape == q.shape
        p.set_data(q.data())
    outs = []
    for net in (scratch, builtin):  # nn.BatchNorm updates its statistics in backward
        with autograd.record():
            y = net(X)
        y.backward()
        outs.append(y.asnumpy())
    np.testing.assert_allclose(outs[0], outs[1], rtol=1e-4, atol=1e-4)
    np.testing.assert_allclose(scratch(X).asnumpy(), builtin(X).asnumpy(), rtol=1e-4, atol=1e-4)
    with pytest.warns(UserWarning, match='imperatively'):
        scratch.hybridize()
    with pytest.raises(ValueError, match='num_dims'):
        BatchNorm(6, 3)


# -- training-only behaviour ----------------------------------------------------------------

@pytest.mark.parametrize('hybridize', [False, True])
def test_dropout_only_in_training(hybridize):
    net = get_model('alexnet', classes=10, in_channels=1, small_input=True)
    net.initialize(mx.init.Xavier())
    if hybridize:
        net.hybridize()
    x = nd.random.uniform(shape=(2, 1, 28, 28))
    np.testing.assert_array_equal(net(x).asnumpy(), net(x).asnumpy())
    with autograd.train_mode():
        a, b = net(x).asnumpy(), net(x).asnumpy()
    assert not np.allclose(a, b)


@pytest.mark.parametrize('hybridize', [False, True])
def test_googlenet_auxiliary_heads_only_in_training(hybridize):
    net = get_model('googlenet', classes=10, in_channels=1, small_input=True, dropout=0.0)
    net.initialize()
    if hybridize:
        net.hybridize()
    x = nd.random.uniform(shape=(2, 1, 28, 28))
    for _ in range(2):  # the second call runs the cached graphs when hybridized
        with autograd.record():
            out = net(x)
        assert isinstance(out, tuple) and [o.shape for o in out] == [(2, 10)] * 3
        logits = net(x)
        assert isinstance(logits, nd.NDArray) and logits.shape == (2, 10)
        # without dropout the training path computes the same logits as the inference graph
        np.testing.assert_allclose(out[0].asnumpy(), logits.asnumpy(), rtol=1e-4, atol=1e-5)
    # gradients reach the stem through the auxiliary heads too
    loss = gluon.loss.SoftmaxCrossEntropyLoss()
    y = nd.array([1, 2])
    with autograd.record():
        l = sum(w * loss(o, y).mean() for w, o in zip((1.0, 0.3, 0.3), net(x)))
    l.backward()
    assert net.aux1.fc2.weight.grad().abs().sum().asscalar() > 0
    # a different training size does not fit the auxiliary heads: one clear error
    with pytest.raises(InputShapeError, match='auxiliary'):
        with autograd.record():
            net(nd.zeros((2, 1, 40, 40)))


def test_googlenet_without_auxiliary_heads_and_export(tmp_path):
    net = get_model('googlenet', classes=10, in_channels=1, small_input=True, aux_logits=False)
    net.initialize()
    net.hybridize()
    with autograd.record():
        assert net(nd.zeros((1, 1, 28, 28))).shape == (1, 10)
    assert net.aux1 is None
    with_aux = get_model('googlenet', classes=10, in_channels=1, small_input=True)
    with_aux.initialize()
    with_aux.hybridize()
    with_aux(nd.zeros((1, 1, 28, 28)))
    with_aux.export(str(tmp_path / 'googlenet'))   # the inference graph: logits only
    sym = mx.sym.load(str(tmp_path / 'googlenet-symbol.json'))
    assert len(sym.list_outputs()) == 1
