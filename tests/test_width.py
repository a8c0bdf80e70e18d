"""The ``width`` option of AlexNet/ZFNet, VGG, NiN and GoogLeNet (d2l's width reduction): every
hidden layer's channels times ``width``, the classifier and the input untouched, the paper's net
at ``width=1``, and a one-line OptionError for a width that is not a positive number.

Parameter counts come from symbolic shape inference; real forwards are one 2x1x28x28 batch.
"""
import math

import mxnet as mx
import numpy as np
import pytest
from mxnet import autograd, nd

from gluoncnn.errors import OptionError
from gluoncnn.models import get_model, list_models, model_options
from gluoncnn.models.alexnet import AlexNet
from gluoncnn.models.googlenet import GoogLeNet
from gluoncnn.models.nin import NiN
from gluoncnn.models.vgg import VGG

SHAPE = (2, 1, 28, 28)
# (model, options) at small_input=True, 10 classes, 1 channel
SMALL = [('alexnet', {}), ('vgg11', {}), ('nin', {}), ('googlenet', {'aux_logits': False})]
FAMILIES = ('alexnet', 'vgg', 'nin', 'googlenet')


def build(name, width=None, **options):
    options = dict(classes=10, in_channels=1, small_input=True, **options)
    if width is not None:
        options['width'] = width
    return get_model(name, **options)


def conv_weights(net, shape=SHAPE):
    """Entries of the inference graph's convolution kernels (4-d weights)."""
    sym = net(mx.sym.var('data'))
    arg_shapes, _, _ = sym.infer_shape(data=shape)
    return sum(int(np.prod(s)) for n, s in zip(sym.list_arguments(), arg_shapes)
               if n != 'data' and len(s) == 4)


@pytest.mark.parametrize('name, options', SMALL)
def test_quarter_width_forward(name, options):
    net = build(name, 0.25, **options)
    net.initialize()
    out = net(nd.random.uniform(shape=SHAPE))
    assert out.shape == (2, 10)
    assert np.isfinite(out.asnumpy()).all()


@pytest.mark.parametrize('name, options', SMALL)
def test_width_scales_the_parameters(name, options):
    default = build(name, **options).param_counts(SHAPE)
    assert build(name, 1.0, **options).param_counts(SHAPE) == default
    assert build(name, 1, **options).param_counts(SHAPE) == default
    full = conv_weights(build(name, **options))
    for width in (0.25, 0.5):
        narrow = build(name, width, **options)
        assert narrow.param_counts(SHAPE)['inference'] < default['inference']
        # a kernel scales with its input and its output channels: about width^2
        assert conv_weights(narrow) / full == pytest.approx(width ** 2, rel=0.15)


@pytest.mark.parametrize('name', [n for f in FAMILIES for n in list_models(family=f)])
def test_every_builder_of_the_families_takes_width(name):
    assert model_options(name)['width'] == 1.0
    net = get_model(name)
    shape = (1, net.in_channels) + (net.input_size or (224, 224))
    counts = net.param_counts(shape)
    narrow = get_model(name, width=0.5)
    assert narrow.width == 0.5
    assert narrow.param_counts(shape)['inference'] < counts['inference']


def test_classifier_and_input_are_not_scaled():
    net = build('nin', 0.25)
    # the class mlpconv keeps one map per class; the first convolution takes 1 channel
    sym = net(mx.sym.var('data'))
    shapes = dict(zip(sym.list_arguments(), sym.infer_shape(data=SHAPE)[0]))
    weights = [s for n, s in shapes.items() if n.endswith('weight')]
    assert weights[0] == (24, 1, 3, 3)
    assert weights[-1] == (10, 10, 1, 1)
    vgg = build('vgg11', 0.25)
    dense = [p.shape for n, p in vgg.output.collect_params().items() if n.endswith('weight')]
    assert [s[0] for s in dense] == [128, 64, 10]


def test_googlenet_auxiliary_heads_scale_too():
    net = build('googlenet', 0.25)
    full = build('googlenet').param_counts(SHAPE)
    counts = net.param_counts(SHAPE)
    assert counts['train_only'] < full['train_only'] / 10
    assert net.aux1.channels == 32 and net.aux1.fc1._units == 256
    net.initialize()
    with autograd.record():
        outs = net(nd.random.uniform(shape=SHAPE))
    assert [o.shape for o in outs] == [(2, 10)] * 3


def test_alexnet_groups_keep_even_channels():
    net = build('alexnet', 0.3, groups=2)
    filters = [stage[0]._channels for stage in net.features]
    assert all(c % 2 == 0 for c in filters)
    net.initialize()
    assert net(nd.random.uniform(shape=SHAPE)).shape == (2, 10)


@pytest.mark.parametrize('width', [0, -0.5, '0.25', None, True, math.nan, math.inf, [0.5]])
@pytest.mark.parametrize('name', ['alexnet', 'zfnet', 'vgg11_bn', 'nin', 'googlenet'])
def test_bad_width(name, width):
    with pytest.raises(OptionError, match='width must be a positive number') as err:
        get_model(name, width=width)
    message = str(err.value)
    assert '\n' not in message and 'width=0.25' in message


@pytest.mark.parametrize('cls, args', [(AlexNet, {}), (VGG, {'depth': 11}), (NiN, {}),
                                       (GoogLeNet, {})])
def test_classes_check_width_when_built_directly(cls, args):
    with pytest.raises(OptionError, match='width must be a positive number'):
        cls(width=0, **args)


def test_width_as_a_model_option_of_a_run():
    from gluoncnn.runs import model_kwargs
    kwargs = model_kwargs('vgg11', 10, 1, True, [('width', 0.25)], 28)
    assert kwargs['width'] == 0.25
    assert get_model('vgg11', **kwargs).width == 0.25
