"""Zoo-wide tests over every model ``list_models()`` names.

Every model, ImageNet and small-image form, is built and checked by symbolic shape inference
(no 224x224 forward). The tests that run real batches (forward, hybridize, seeded
initialisation, one SGD step on real Fashion-MNIST images) run the small-image form of one
model per family module and kind of building blocks, the smallest one (e.g. resnet18 for the
ResNets of basic blocks): initialising the 100M-parameter nets alone would take minutes on
the course's 2-core machines, and the depths of one design share all their code.
"""
import inspect

import mxnet as mx
import numpy as np
import pytest
from mxnet import autograd, gluon, nd

from gluoncnn.errors import OptionError
from gluoncnn.models import InputShapeError, get_model, list_models, model_info, model_options
from gluoncnn.models.registry import _get_builder

MODELS = list_models()
#: the models that also have an ImageNet form (the CIFAR-only nets refuse small_input=False)
IMAGENET_MODELS = [name for name in MODELS if not model_info(name).small_only]

#: ImageNet input side where it is not 224
IMAGENET_SIZE = {'alexnet': 227}
#: small-form input side where 28 does not fit (otherwise the net's own input_size/min_size)
SMALL_SIZE = {}


def imagenet_net(name):
    return get_model(name, classes=1000, in_channels=3, small_input=False)


def small_net(name):
    return get_model(name, classes=10, in_channels=1, small_input=True)


def small_side(name, net):
    if name in SMALL_SIZE:
        return SMALL_SIZE[name]
    if net.input_size is not None:
        return net.input_size[0]
    return max(28, net.min_size)


def infer(net, shape):
    """(trainable parameter count, output shapes) by symbolic shape inference."""
    sym = net(mx.sym.var('data'))
    arg_shapes, out_shapes, _ = sym.infer_shape(data=shape)
    count = sum(int(np.prod(s)) for n, s in zip(sym.list_arguments(), arg_shapes) if n != 'data')
    return count, out_shapes


def _layer_types(block):
    """The kinds of layers and blocks inside ``block`` (not counting ``block`` itself)."""
    types = set()
    for child in block._children.values():
        types |= {type(child).__qualname__} | _layer_types(child)
    return frozenset(types)


def _small_forms():
    """Symbolic inference of every small form at batch 2: ``{name: (count, out_shapes,
    module, layer kinds)}``, or the exception it raised (reported by its own test)."""
    result = {}
    for name in MODELS:
        try:
            net = small_net(name)
            side = small_side(name, net)
            count, out_shapes = infer(net, (2, 1, side, side))
            result[name] = (count, out_shapes, type(net).__module__, _layer_types(net))
        except Exception as error:  # noqa: BLE001
            result[name] = error
    return result


def _smallest(key):
    smallest = {}
    for name, info in SMALL_FORMS.items():
        count, k = (0, name) if isinstance(info, Exception) else (info[0], key(info))
        if k not in smallest or count < smallest[k][0]:
            smallest[k] = (count, name)
    return sorted(name for _, name in smallest.values())


SMALL_FORMS = _small_forms()
#: the smallest model of each family module and kind of layers (lenet and lenet_bn, resnet
#: basic and bottleneck blocks ...): these also check hybridization (every model trains a step)
REPRESENTATIVES = _smallest(lambda info: (info[2], info[3]))
#: the smallest model of each family module
PER_MODULE = _smallest(lambda info: info[2])


@pytest.fixture(scope='module')
def real_batch():
    """16 real Fashion-MNIST test images (the subset shipped with gluoncnn), 1x28x28 in [0, 1]."""
    from gluoncnn.data import load_data
    _, test_iter = load_data('fashion-mnist', 16, sample=True)
    X, y = next(iter(test_iter))
    assert X.shape == (16, 1, 28, 28)
    return X, y


def test_registry_is_populated():
    for name in ('lenet', 'lenet_bn', 'alexnet', 'zfnet', 'vgg11', 'vgg16_bn', 'nin',
                 'googlenet'):
        assert name in MODELS
    assert MODELS == sorted(MODELS)


def test_unknown_model_lists_valid_names_closest_first():
    with pytest.raises(ValueError) as err:
        get_model('vgg17')
    message = str(err.value)
    assert "'vgg17'" in message
    listed = message.split('closest first: ')[1].split(', ')
    assert sorted(listed) == MODELS
    assert listed[0].startswith('vgg')


def test_unknown_option_names_the_valid_options():
    with pytest.raises(TypeError) as err:
        get_model('alexnet', clases=10)
    message = str(err.value)
    assert "'clases'" in message and "did you mean 'classes'" in message
    for option in model_options('alexnet'):
        assert f'{option}=' in message


@pytest.mark.parametrize('name', MODELS)
def test_builder_takes_the_common_options_first(name):
    params = inspect.signature(_get_builder(name)).parameters
    assert list(params)[:3] == ['classes', 'in_channels', 'small_input']
    assert all(p.kind in (p.POSITIONAL_OR_KEYWORD, p.KEYWORD_ONLY) for p in params.values())


@pytest.mark.parametrize('name', sorted(set(MODELS) - set(IMAGENET_MODELS)))
def test_small_only_models_refuse_the_imagenet_form(name):
    with pytest.raises(OptionError, match='small_input=True'):
        get_model(name, small_input=False)
    assert model_info(name).input_shape[1] <= 32


@pytest.mark.parametrize('name', IMAGENET_MODELS)
def test_imagenet_form_output_shape(name):
    net = imagenet_net(name)
    side = IMAGENET_SIZE.get(name, 224)
    if net.input_size is not None:
        assert net.input_size == (side, side)
    _, out_shapes = infer(net, (1, 3, side, side))
    assert out_shapes == [(1, 1000)]
    if net.input_size is None:  # the documented smallest input goes through
        _, out_shapes = infer(net, (1, 3, net.min_size, net.min_size))
        assert out_shapes == [(1, 1000)]


@pytest.mark.parametrize('name', IMAGENET_MODELS)
def test_wrong_input_raises_input_shape_error(name):
    net = imagenet_net(name)
    side = IMAGENET_SIZE.get(name, 224)
    with pytest.raises(InputShapeError) as err:
        net(nd.zeros((1, 1, side, side)))
    assert net.expected_shape() in str(err.value) and 'in_channels=1' in str(err.value)
    with pytest.raises(InputShapeError):
        net(nd.zeros((3, side, side)))
    if net.input_size is not None:
        bad = side - 1
    elif net.min_size > 1:
        bad = net.min_size - 1
    else:
        return
    with pytest.raises(InputShapeError) as err:
        net(nd.zeros((1, 3, bad, bad)))
    assert net.expected_shape() in str(err.value)


@pytest.mark.parametrize('name', MODELS)
def test_small_form_output_shape(name):
    info = SMALL_FORMS[name]
    if isinstance(info, Exception):
        raise info
    assert info[1] == [(2, 10)]


def test_every_family_has_a_representative():
    modules = {info[2] for info in SMALL_FORMS.values() if not isinstance(info, Exception)}
    assert {SMALL_FORMS[name][2] for name in PER_MODULE} == modules
    assert set(PER_MODULE) <= set(REPRESENTATIVES)


@pytest.mark.parametrize('name', PER_MODULE)
def test_seeded_initialisation_is_reproducible(name):
    def params(seed):
        net = small_net(name)
        side = small_side(name, net)
        mx.random.seed(seed)
        net.initialize()
        net(nd.zeros((1, 1, side, side)))
        return [p.data().asnumpy() for p in net.collect_params().values()
                if p._data is not None]

    first, second = params(7), params(7)
    assert len(first) == len(second) > 0
    for a, b in zip(first, second):
        np.testing.assert_array_equal(a, b)


def _loss(net, X, y, loss_fn):
    out = net(X)
    if isinstance(out, (tuple, list)):  # GoogLeNet-style auxiliary heads, weighted as the paper
        return loss_fn(out[0], y).mean() + 0.3 * sum(loss_fn(o, y).mean() for o in out[1:])
    return loss_fn(out, y).mean()


def _initialised_small_net(name, real_batch):
    X, y = real_batch
    net = small_net(name)
    side = small_side(name, net)
    if side != 28:
        X = nd.contrib.BilinearResize2D(X, height=side, width=side)
    mx.random.seed(0)
    net.initialize()
    return net, X, y, side


@pytest.mark.parametrize('name', MODELS)
def test_one_training_step_lowers_the_loss(name, real_batch):
    """Every model's small form, on 16 real Fashion-MNIST images (4 for the nets of over 1.5
    GMACs at ImageNet size, which took up to 45 s each with 16): inference gives finite
    (N, 10) scores; one SGD step (a step predicted to lower the loss by 1%) lowers it, and the
    gradient reaches the first convolution."""
    net, X, y, _ = _initialised_small_net(name, real_batch)
    if model_info(name).macs > 1.5e9:
        X, y = X[:4], y[:4]
    scores = net(X)
    assert scores.shape == (len(X), 10) and np.isfinite(scores.asnumpy()).all()

    loss_fn = gluon.loss.SoftmaxCrossEntropyLoss()
    params = [p for p in net.collect_params().values() if p.grad_req != 'null']
    mx.random.seed(1)  # the same dropout masks before and after the step
    with autograd.record():
        before = _loss(net, X, y, loss_fn)
    before.backward()
    first_conv = next(p for p in params if len(p.shape) == 4)
    assert np.abs(first_conv.grad().asnumpy()).sum() > 0, f'{first_conv.name} got no gradient'
    grad_sq = sum(float((p.grad() ** 2).sum().asscalar()) for p in params)
    lr = 0.01 * before.asscalar() / grad_sq
    trainer = gluon.Trainer(params, 'sgd', {'learning_rate': lr})
    trainer.step(1)
    mx.random.seed(1)
    with autograd.train_mode():
        after = _loss(net, X, y, loss_fn)
    assert after.asscalar() < before.asscalar()


@pytest.mark.parametrize('name', REPRESENTATIVES)
def test_small_form_hybridizes_and_checks_its_input(name, real_batch):
    """The smallest model of each family and kind of block: the hybridized net gives the
    imperative outputs, and a wrong channel count raises InputShapeError."""
    net, X, _, side = _initialised_small_net(name, real_batch)
    expected = net(X[:4]).asnumpy()
    net.hybridize()
    np.testing.assert_allclose(net(X[:4]).asnumpy(), expected, rtol=1e-4, atol=1e-5)
    with pytest.raises(InputShapeError) as err:
        net(nd.zeros((2, 3, side, side)))
    assert net.expected_shape() in str(err.value)
