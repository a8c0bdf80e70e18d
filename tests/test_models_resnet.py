"""Tests of gluoncnn.models.resnet: ResNet v1/v2, CIFAR ResNets, Wide ResNet, ResNeXt and
stochastic depth.

Parameter counts and ImageNet shapes come from symbolic shape inference (no 224x224 forward);
real forwards are at 28x28/32x32 with small batches.
"""
import json

import mxnet as mx
import numpy as np
import pytest
from modelcheck import stage_shapes
from modelcheck import trainable_params as trainable_count
from mxnet import autograd, gluon, nd
from mxnet.gluon.model_zoo import vision

from gluoncnn.models import InputShapeError, get_model
from gluoncnn.models.resnet import (
    BasicBlock,
    Bottleneck,
    PreActBasicBlock,
    ResNet,
    StochasticDepth,
    ZeroPadShortcut,
    survival_probabilities,
)


def ops(block):
    """The operators of ``block`` in graph order (parameters and inputs left out)."""
    sym = block(mx.sym.var('data'))
    nodes = json.loads(sym.tojson())['nodes']
    return [n['op'] for n in nodes if n['op'] != 'null']


# --- exact parameter counts ------------------------------------------------------------------
# torchvision 0.x models (resnet.py), trainable parameters at 1000 classes.
TORCHVISION = {
    'resnet18': 11_689_512, 'resnet34': 21_797_672, 'resnet50': 25_557_032,
    'resnet101': 44_549_160, 'resnet152': 60_192_808, 'resnext50_32x4d': 25_028_904,
    'resnext101_32x8d': 88_791_336, 'wide_resnet50_2': 68_883_240,
    'wide_resnet101_2': 126_886_696,
}


@pytest.mark.parametrize('name', sorted(TORCHVISION))
def test_imagenet_parameter_counts_equal_torchvision(name):
    assert trainable_count(get_model(name), (1, 3, 224, 224)) == TORCHVISION[name]


def test_stride_in_3x3_moves_the_stride_but_not_the_parameters():
    v1, v15 = get_model('resnet50'), get_model('resnet50', stride_in_3x3=True)
    first = v1.features[2][0], v15.features[2][0]  # first unit of stage 2
    assert first[0].conv1._kwargs['stride'] == (2, 2) and first[0].conv2._kwargs['stride'] == (1, 1)
    assert first[1].conv1._kwargs['stride'] == (1, 1) and first[1].conv2._kwargs['stride'] == (2, 2)
    assert trainable_count(v15, (1, 3, 224, 224)) == TORCHVISION['resnet50']


@pytest.mark.parametrize('depth', [18, 34, 50, 101, 152])
def test_v2_counts_are_mxnet_model_zoo_minus_its_redundant_first_bn(depth):
    # MXNet's resnet*_v2 pre-activates the first unit although the stem ended with BN-ReLU:
    # one more BatchNorm of 64 channels (gamma + beta = 128). Its BatchNorm on the input data
    # has no scale or shift, so no trainable parameters.
    ours = trainable_count(get_model(f'resnet{depth}_v2'), (1, 3, 224, 224))
    theirs = trainable_count(vision.get_model(f'resnet{depth}_v2'), (1, 3, 224, 224))
    assert ours == theirs - 128
    assert ours == {18: 11_687_720, 34: 21_795_880, 50: 25_549_352, 101: 44_541_480,
                    152: 60_185_128}[depth]


@pytest.mark.parametrize('name, options, count', [
    # ResNet paper, Table 6 (0.27M, 0.85M, 1.7M); exact values as akamaster/pytorch_resnet_cifar10
    ('resnet20_cifar', {}, 269_722),
    ('resnet56_cifar', {}, 853_018),
    ('resnet110_cifar', {}, 1_727_962),
    # option B adds 1x1 projections + BN: 16*32 + 64 + 32*64 + 128 = 2,752 (GluonCV's count)
    ('resnet20_cifar', {'shortcut': 'B'}, 272_474),
    # identity mappings paper: ResNet-164 has 1.7M parameters
    ('resnet164_cifar_v2', {}, 1_703_258),
    # Wide ResNet paper, Table: WRN-28-10 has 36.5M parameters
    ('wrn28_10', {}, 36_479_194),
])
def test_cifar_parameter_counts(name, options, count):
    assert trainable_count(get_model(name, classes=10, **options), (1, 3, 32, 32)) == count


def test_resnet20_count_by_hand():
    convs = 3 * 16 * 9 + 6 * 16 * 16 * 9                      # stem + stage 1
    convs += 16 * 32 * 9 + 5 * 32 * 32 * 9                    # stage 2
    convs += 32 * 64 * 9 + 5 * 64 * 64 * 9                    # stage 3
    bns = 2 * (16 + 6 * 16 + 6 * 32 + 6 * 64)
    dense = 64 * 10 + 10
    assert trainable_count(get_model('resnet20_cifar', classes=10), (1, 3, 32, 32)) == \
        convs + bns + dense


@pytest.mark.parametrize('name, weighted', [('resnet20_cifar', 20), ('resnet56_cifar', 56),
                                            ('resnet110_cifar', 110), ('resnet18', 18),
                                            ('resnet50', 50), ('resnet164_cifar_v2', 164)])
def test_depth_counts_weighted_layers_on_the_main_path(name, weighted):
    net = get_model(name)
    main = [p for p in net.collect_params() if p.endswith('weight')
            and 'shortcut' not in p and ('conv' in p or 'dense' in p)]
    assert len(main) == weighted


# --- shapes ----------------------------------------------------------------------------------
def test_resnet18_stage_shapes_at_224():
    assert stage_shapes(get_model('resnet18'), (1, 3, 224, 224)) == [
        (64, 56, 56), (64, 56, 56), (128, 28, 28), (256, 14, 14), (512, 7, 7), (512, 1, 1)]


@pytest.mark.parametrize('name', ['resnet50', 'resnext50_32x4d', 'wide_resnet50_2',
                                  'resnet50_v2'])
def test_bottleneck_stage_shapes_at_224(name):
    shapes = stage_shapes(get_model(name), (1, 3, 224, 224))
    assert shapes[:5] == [(64, 56, 56), (256, 56, 56), (512, 28, 28), (1024, 14, 14),
                          (2048, 7, 7)]
    assert shapes[-1] == (2048, 1, 1)


def test_v2_ends_with_bn_relu_before_the_pool():
    net = get_model('resnet18_v2')
    post = net.features[5]
    assert [type(b).__name__ for b in post] == ['BatchNorm', 'Activation']
    assert stage_shapes(net, (1, 3, 224, 224))[4:] == [(512, 7, 7), (512, 7, 7), (512, 1, 1)]


def test_small_input_form_keeps_the_resolution_in_the_stem():
    net = get_model('resnet18', classes=10, in_channels=1, small_input=True)
    assert stage_shapes(net, (1, 1, 28, 28))[:5] == [
        (64, 28, 28), (64, 28, 28), (128, 14, 14), (256, 7, 7), (512, 4, 4)]
    assert stage_shapes(net, (1, 1, 32, 32))[4] == (512, 4, 4)
    assert [type(b).__name__ for b in net.features[0]] == ['Conv2D', 'BatchNorm', 'Activation']
    assert net.features[0][0]._kwargs['kernel'] == (3, 3)


def test_cifar_stage_shapes():
    assert stage_shapes(get_model('resnet20_cifar', classes=10), (1, 3, 32, 32)) == [
        (16, 32, 32), (16, 32, 32), (32, 16, 16), (64, 8, 8), (64, 1, 1)]
    assert stage_shapes(get_model('wrn28_10', classes=10), (1, 3, 32, 32))[1:4] == [
        (160, 32, 32), (320, 16, 16), (640, 8, 8)]
    # a 224 input also goes through (global pooling), so the zoo-wide 224 test applies
    assert get_model('resnet20_cifar')(mx.sym.var('data')).infer_shape(
        data=(1, 3, 224, 224))[1][0] == (1, 1000)


def test_input_checks():
    net = get_model('resnet18')
    net.initialize()
    with pytest.raises(InputShapeError, match='small_input=True'):
        net(nd.zeros((1, 3, 28, 28)))
    with pytest.raises(InputShapeError, match='in_channels=1'):
        net(nd.zeros((1, 1, 64, 64)))
    with pytest.raises(ValueError, match='6n\\+4'):
        get_model('wide_resnet_cifar', depth=27)
    with pytest.raises(ValueError, match='survival'):
        get_model('resnet18', stochastic_depth=1.5)


# --- block structure -------------------------------------------------------------------------
def test_v1_basic_block_is_conv_bn_relu_then_relu_after_the_sum():
    assert ops(BasicBlock(8, 8)) == ['Convolution', 'BatchNorm', 'Activation', 'Convolution',
                                     'BatchNorm', 'elemwise_add', 'Activation']


def test_v2_units_are_bn_relu_conv_with_nothing_after_the_sum():
    assert ops(PreActBasicBlock(8, 8)) == ['BatchNorm', 'Activation', 'Convolution', 'BatchNorm',
                                           'Activation', 'Convolution', 'elemwise_add']
    net = get_model('resnet50_v2')
    first, second = net.features[1][0], net.features[1][1]
    assert first.bn1 is None and second.bn1 is not None  # the stem already activated unit 1
    assert ops(second)[:3] == ['BatchNorm', 'Activation', 'Convolution']
    assert ops(second)[-1] == 'elemwise_add'


def test_option_a_shortcut_subsamples_and_pads_with_zeros():
    x = nd.random.uniform(shape=(2, 4, 5, 5))
    y = ZeroPadShortcut(4, 8, 2)(x)
    assert y.shape == (2, 8, 3, 3)
    np.testing.assert_array_equal(y[:, :4].asnumpy(), x.asnumpy()[:, :, ::2, ::2])
    assert (y[:, 4:] == 0).asnumpy().all()
    assert not list(ZeroPadShortcut(4, 8, 2).collect_params().keys())  # no parameters


def test_resnext_has_grouped_3x3_convs():
    unit = get_model('resnext50_32x4d').features[1][0]
    assert unit.conv2._kwargs['num_group'] == 32 and unit.conv2._channels == 128


# --- stochastic depth ------------------------------------------------------------------------
def test_survival_probabilities_decay_linearly_to_p_L():
    net = get_model('resnet110_cifar', classes=10, stochastic_depth=0.5)
    p = np.array([unit.gate.survival for unit in net.units()])
    assert len(p) == 54
    np.testing.assert_allclose(p, 1 - np.arange(1, 55) / 54 * 0.5)
    assert p[-1] == pytest.approx(0.5) and np.allclose(np.diff(p), -0.5 / 54)
    assert survival_probabilities(4, 0.5) == [0.875, 0.75, 0.625, 0.5]
    assert all(unit.gate is None for unit in get_model('resnet110_cifar').units())


def _preact_unit(survival, per_sample=False):
    mx.random.seed(0)
    unit = PreActBasicBlock(4, 4, survival=survival, per_sample=per_sample)
    unit.initialize(mx.init.Xavier())
    return unit


def _residual(unit, x):
    """F(x) of a pre-activation unit, computed layer by layer (no gate)."""
    out = unit.conv1(nd.relu(unit.bn1(x)))
    return unit.conv2(nd.relu(unit.bn2(out)))


@pytest.mark.parametrize('hybridize', [False, True])
def test_stochastic_depth_inference_scales_the_branch_by_survival(hybridize):
    unit = _preact_unit(0.7)
    x = nd.random.normal(shape=(3, 4, 6, 6))
    expected = (x + 0.7 * _residual(unit, x)).asnumpy()
    if hybridize:
        unit.hybridize()
    for _ in range(3):  # deterministic
        np.testing.assert_allclose(unit(x).asnumpy(), expected, rtol=1e-5, atol=1e-5)


@pytest.mark.parametrize('hybridize', [False, True])
def test_stochastic_depth_training_keeps_or_drops_the_whole_branch(hybridize):
    unit = _preact_unit(0.5)
    x = nd.random.normal(shape=(3, 4, 6, 6))
    with autograd.train_mode():
        full = (x + _residual(unit, x)).asnumpy()  # BN on batch statistics, as in training
    if hybridize:
        unit.hybridize()
    mx.random.seed(1)
    kept = []
    for _ in range(30):
        with autograd.record():
            y = unit(x).asnumpy()
        if np.allclose(y, x.asnumpy()):
            kept.append(False)
        else:
            np.testing.assert_allclose(y, full, rtol=1e-5, atol=1e-5)
            kept.append(True)
    assert 5 <= sum(kept) <= 25  # both outcomes, about half each


def test_stochastic_depth_gate_follows_the_train_flag_in_a_cached_graph():
    gate = StochasticDepth(0.5)
    gate.hybridize()
    r = nd.ones((4, 2, 3, 3))
    assert (gate(r) == 0.5).asnumpy().all()  # first call, inference: cached graph is built
    mx.random.seed(3)
    with autograd.record():
        seen = {float(gate(r).sum().asscalar()) for _ in range(20)}
    assert seen == {0.0, r.size}  # whole batch dropped or kept, no scaling
    assert (gate(r) == 0.5).asnumpy().all()


def test_per_sample_gate_drops_images_independently():
    gate = StochasticDepth(0.5, per_sample=True)
    gate.hybridize()
    mx.random.seed(4)
    with autograd.record():
        y = gate(nd.ones((64, 2, 3, 3))).asnumpy()
    per_image = y.reshape(64, -1)
    assert set(np.unique(per_image)) <= {0.0, 1.0}
    assert (per_image.min(1) == per_image.max(1)).all()  # one gate per image
    assert 10 < per_image[:, 0].sum() < 54


def test_stochastic_depth_net_random_in_training_deterministic_in_inference():
    net = get_model('resnet20_cifar', classes=10, in_channels=1, stochastic_depth=0.5)
    mx.random.seed(0)
    net.initialize()
    net.hybridize()
    x = nd.random.uniform(shape=(2, 1, 28, 28))
    a, b = net(x).asnumpy(), net(x).asnumpy()
    np.testing.assert_array_equal(a, b)
    mx.random.seed(5)
    with autograd.record():
        outs = [net(x).asnumpy() for _ in range(3)]
    assert not np.allclose(outs[0], outs[1]) or not np.allclose(outs[1], outs[2])


# --- init, hybridize -------------------------------------------------------------------------
def test_default_init_is_he_and_reproducible():
    def params(seed):
        mx.random.seed(seed)
        net = get_model('resnet20_cifar', classes=10, in_channels=1)
        net.initialize()
        return net
    a, b = params(7), params(7)
    wa = a.features[3][1].conv2.weight.data().asnumpy()  # 64 x 64 x 3 x 3, fan_in 576
    np.testing.assert_array_equal(wa, b.features[3][1].conv2.weight.data().asnumpy())
    assert wa.std() == pytest.approx(np.sqrt(2 / 576), rel=0.03)
    assert (a.features[3][1].bn2.gamma.data() == 1).asnumpy().all()
    z = get_model('resnet20_cifar', zero_init_residual=True)
    z.initialize()
    assert (z.features[1][0].bn2.gamma.data() == 0).asnumpy().all()
    assert (z.features[1][0].bn1.gamma.data() == 1).asnumpy().all()


@pytest.mark.parametrize('build', [
    lambda: get_model('resnet20_cifar', classes=10, in_channels=1),
    lambda: get_model('resnet20_cifar_v2', classes=10, in_channels=1),
    lambda: get_model('wide_resnet_cifar', classes=10, in_channels=1, depth=10, widen_factor=2,
                      dropout=0.3, stochastic_depth=0.5),
    lambda: ResNet(Bottleneck, (1, 1), (8, 16), classes=10, in_channels=1, small_input=True,
                   groups=4, width_per_group=8, stride_in_3x3=True),
], ids=['resnet20_cifar', 'resnet20_cifar_v2', 'wrn10_2', 'tiny_resnext'])
def test_hybridized_equals_imperative(build):
    mx.random.seed(0)
    net = build()
    net.initialize()
    x = nd.random.uniform(shape=(2, 1, 28, 28))
    imperative = net(x).asnumpy()
    net.hybridize()
    np.testing.assert_allclose(net(x).asnumpy(), imperative, rtol=1e-4, atol=1e-5)


# --- one training step on real Fashion-MNIST ---------------------------------------------------
@pytest.fixture(scope='module')
def fashion_batch():
    from gluoncnn.data import load_data
    _, test_iter = load_data('fashion-mnist', 16, sample=True)
    X, y = next(iter(test_iter))
    return X, y


@pytest.mark.parametrize('name, options', [
    ('resnet18', {'small_input': True}),
    ('resnet20_cifar', {}),
])
def test_one_sgd_step_lowers_the_loss_on_real_fashion_mnist(name, options, fashion_batch):
    X, y = fashion_batch
    mx.random.seed(0)
    net = get_model(name, classes=10, in_channels=1, **options)
    net.initialize()
    net.hybridize()
    loss_fn = gluon.loss.SoftmaxCrossEntropyLoss()
    trainer = gluon.Trainer(net.collect_params(), 'sgd', {'learning_rate': 0.05})
    with autograd.record():
        loss = loss_fn(net(X), y)
    loss.backward()
    trainer.step(X.shape[0])
    first_conv = net.features[0][0].weight
    assert float(first_conv.grad().abs().sum().asscalar()) > 0
    with autograd.train_mode():  # same BN mode as the step, so the losses compare
        after = loss_fn(net(X), y)
    assert float(after.mean().asscalar()) < float(loss.mean().asscalar())


def test_plain_baseline_has_the_same_layers_and_adds_nothing():
    """shortcut='none': the paper's plain net of the same depth (the degradation experiment)."""
    from gluoncnn import summary
    from gluoncnn.models.resnet import BasicBlock
    x = mx.nd.random.uniform(shape=(2, 16, 8, 8))
    for shortcut, expected in (("A", x), ("none", mx.nd.zeros_like(x))):
        unit = BasicBlock(16, 16, shortcut=shortcut)
        unit.initialize(mx.init.Zero())  # both convolutions give 0, BN's beta is 0
        assert (unit(x) - mx.nd.relu(expected)).abs().max().asscalar() == 0
    plain = get_model("resnet56_cifar", classes=10, in_channels=1, shortcut="none")
    residual = get_model("resnet56_cifar", classes=10, in_channels=1)
    assert summary(plain, (1, 1, 28, 28), print_table=False).total_params == \
        summary(residual, (1, 1, 28, 28), print_table=False).total_params
