"""Model-zoo weights loaded into gluoncnn models by architecture (``load_pretrained``).

Offline: each MXNet model-zoo net is built with ``pretrained=False`` and random weights (BN
statistics and biases too, so that every array matters), saved in the file formats a user may
hold, loaded into the gluoncnn model of the same architecture, and both nets are run on the same
batch. ImageNet-size inputs only where the zoo net needs them (VGG flattens 7x7 maps, DenseNet
and SqueezeNet end in fixed 7x7 / 13x13 average pools).
"""
import logging

import mxnet as mx
import numpy as np
import pytest
from mxnet import nd
from mxnet.gluon.model_zoo import vision

from gluoncnn.errors import FileFormatError, OptionError
from gluoncnn.models import get_model, load_pretrained
from gluoncnn.models import pretrained as P


def zoo_net(zoo_name, side, seed=0, init=None):
    """A model-zoo net with random weights, run once on a random batch: (net, x, output)."""
    mx.random.seed(seed)
    net = vision.get_model(zoo_name, pretrained=False)
    net.initialize(init or mx.init.Xavier())
    x = nd.random.uniform(shape=(1, 3, side, side))
    net(x)                                         # shapes known: now randomise every array
    for name, param in net.collect_params().items():
        if name.endswith(('running_mean', 'beta', 'bias')):
            param.set_data(nd.random.uniform(-0.2, 0.2, shape=param.shape))
        elif name.endswith(('running_var', 'gamma')):
            param.set_data(nd.random.uniform(0.5, 1.5, shape=param.shape))
    return net, x, net(x).asnumpy()


def save_formats(net, x, folder, formats=('save_parameters', 'legacy', 'export')):
    """The files a user may hold: ``save_parameters`` (``features.0.weight``), the older
    ``ParameterDict.save`` (full names without the net's prefix) and ``export`` (``arg:`` /
    ``aux:`` prefixed names, in graph order)."""
    paths = {}
    if 'save_parameters' in formats:
        paths['save_parameters'] = str(folder / 'zoo.params')
        net.save_parameters(paths['save_parameters'])
    if 'legacy' in formats:
        paths['legacy'] = str(folder / 'legacy.params')
        net.collect_params().save(paths['legacy'], strip_prefix=net.prefix)
    if 'export' in formats:
        net.hybridize()
        net(x)
        net.export(str(folder / 'exported'))
        paths['export'] = str(folder / 'exported-0000.params')
    return paths


def max_diff(a, b):
    return float(np.abs(a - b).max())


#: every zoo net whose layout is gluoncnn's (the bottleneck ResNets after their biases fold)
SAME_LAYOUT = [('resnet18_v1', 'resnet18'), ('resnet34_v1', 'resnet34'),
               ('vgg11', 'vgg11'), ('vgg13', 'vgg13'), ('vgg16', 'vgg16'), ('vgg19', 'vgg19'),
               ('vgg11_bn', 'vgg11_bn'), ('vgg13_bn', 'vgg13_bn'), ('vgg16_bn', 'vgg16_bn'),
               ('vgg19_bn', 'vgg19_bn'), ('densenet121', 'densenet121'),
               ('densenet161', 'densenet161'), ('densenet169', 'densenet169'),
               ('densenet201', 'densenet201'), ('squeezenet1.0', 'squeezenet1_0'),
               ('squeezenet1.1', 'squeezenet1_1')]
FOLDED = [('resnet50_v1', 'resnet50'), ('resnet101_v1', 'resnet101'),
          ('resnet152_v1', 'resnet152')]


@pytest.mark.parametrize('zoo_name, name', SAME_LAYOUT + FOLDED)
def test_every_zoo_layout_pairs_up(zoo_name, name):
    """Symbolically, for every zoo net (nothing allocated): its layers, in registration and in
    graph order, pair with the gluoncnn model's, every shape equal; only the bottleneck
    ResNets fold biases (two per unit)."""
    zoo = vision.get_model(zoo_name, pretrained=False)
    sym = zoo(mx.sym.var('data'))
    args, _, auxs = sym.infer_shape(data=(1, 3, 224, 224))
    shapes = dict(zip(sym.list_arguments() + sym.list_auxiliary_states(), args + auxs))
    structural = zoo._collect_params_with_prefix()
    graph_order = [n for n in sym.list_inputs() if n != 'data']
    by_name = {p.name: key for key, p in structural.items()}
    net = get_model(name)
    net_shapes = P._inferred_shapes(net)
    for keys in (list(structural), [by_name[n] for n in graph_order]):
        src = P._group((*P._split(key), np.broadcast_to(np.float32(0),
                                                        shapes[structural[key].name]))
                       for key in keys)
        for order in ('collect', 'graph'):
            try:
                assignments, folded, reinitialised = P._pair(
                    src, P._net_layers(net, order), net_shapes, zoo_name)
                break
            except FileFormatError:
                continue
        else:
            raise AssertionError(f'{zoo_name} does not pair with {name}')
        assert len(assignments) == len(net.collect_params().keys()) and not reinitialised
        assert folded == (2 * len(net.units()) if (zoo_name, name) in FOLDED else 0)


@pytest.mark.parametrize('zoo_name, name, side, formats', [
    ('resnet18_v1', 'resnet18', 64, ('save_parameters', 'legacy', 'export')),
    ('resnet34_v1', 'resnet34', 64, ('export',)),
    ('densenet121', 'densenet121', 224, ('save_parameters', 'legacy', 'export')),
    ('squeezenet1.0', 'squeezenet1_0', 224, ('save_parameters', 'legacy', 'export')),
    ('squeezenet1.1', 'squeezenet1_1', 224, ('save_parameters', 'export')),
    ('vgg11_bn', 'vgg11_bn', 224, ('save_parameters',)),
])
def test_same_layout_nets_load_exactly(zoo_name, name, side, formats, tmp_path):
    """Numerically, one net per layout kind (the 133M-parameter VGGs cost the most: one)."""
    zoo, x, expected = zoo_net(zoo_name, side)
    paths = save_formats(zoo, x, tmp_path, formats)
    for kind, path in paths.items():
        net = get_model(name, pretrained=path)
        assert max_diff(net(x).asnumpy(), expected) == 0.0, kind
        net.hybridize()
        assert max_diff(net(x).asnumpy(), expected) == 0.0, kind


def test_zoo_bottleneck_biases_fold_into_batchnorm(tmp_path):
    zoo, x, expected = zoo_net('resnet50_v1', 64)
    for kind, path in save_formats(zoo, x, tmp_path).items():
        net = get_model('resnet50')
        report = load_pretrained(net, path)
        assert report['folded_biases'] == 2 * 16, kind    # two biased 1x1 convs per unit
        out = net(x).asnumpy()
        assert max_diff(out, expected) <= 1e-5 * np.abs(expected).max(), kind


def test_another_number_of_classes_keeps_the_features(tmp_path, caplog):
    zoo, x, _ = zoo_net('resnet18_v1', 64)
    path = save_formats(zoo, x, tmp_path, ('save_parameters',))['save_parameters']
    with caplog.at_level(logging.WARNING, logger='gluoncnn.models.pretrained'):
        net = get_model('resnet18', classes=10, pretrained=path)
    assert len(caplog.records) == 1 and 're-initialised' in caplog.records[0].getMessage()
    assert '\n' not in caplog.records[0].getMessage()
    assert max_diff(net.features(x).asnumpy(), zoo.features(x).asnumpy()) == 0.0
    assert net(x).shape == (1, 10) and np.isfinite(net(x).asnumpy()).all()
    assert net.output.weight.data().shape == (10, 512)
    # a convolutional head too, from an exported file
    zoo, x, _ = zoo_net('squeezenet1.1', 224)
    path = save_formats(zoo, x, tmp_path, ('export',))['export']
    net = get_model('squeezenet1_1', classes=5, pretrained=path)
    assert net(x).shape == (1, 5)


@pytest.mark.parametrize('zoo_name, name, words', [
    ('resnet18_v2', 'resnet18_v2', 'BatchNorm of the input image'),
    ('alexnet', 'alexnet', "torchvision's 64-192-384-256-256 layout"),
    ('resnet18_v1', 'resnet34', 'layers with parameters'),
    ('squeezenet1.0', 'squeezenet1_1', 'does not fit this model at layer 0'),
])
def test_what_cannot_be_converted_is_refused(zoo_name, name, words, tmp_path):
    side = 224 if zoo_name.startswith(('alexnet', 'squeeze')) else 64
    zoo, x, _ = zoo_net(zoo_name, side, init=mx.init.Zero())     # only the layout matters
    path = save_formats(zoo, x, tmp_path, ('save_parameters',))['save_parameters']
    with pytest.raises(FileFormatError, match=words) as err:
        get_model(name, pretrained=path)
    assert '\n' not in str(err.value)


def test_bad_files(tmp_path):
    zoo, x, _ = zoo_net('resnet18_v1', 64)
    path = save_formats(zoo, x, tmp_path, ('save_parameters',))['save_parameters']
    with pytest.raises(FileFormatError, match='in_channels=3'):
        get_model('resnet18', in_channels=1, pretrained=path)
    truncated = tmp_path / 'truncated.params'
    truncated.write_bytes(open(path, 'rb').read()[:1000])
    with pytest.raises(FileFormatError, match='not an MXNet parameter file'):
        get_model('resnet18', pretrained=str(truncated))
    with pytest.raises(OptionError, match='does not exist'):
        get_model('resnet18', pretrained=str(tmp_path / 'missing.params'))


def test_gluoncnn_files_load_into_an_initialised_net(tmp_path):
    source = get_model('resnet20_cifar', classes=10)
    source.initialize()
    x = nd.random.uniform(shape=(2, 3, 32, 32))
    expected = source(x).asnumpy()
    source.save_parameters(str(tmp_path / 'r20.params'))
    target = get_model('resnet20_cifar', classes=10)
    target.initialize()
    load_pretrained(target, str(tmp_path / 'r20.params'))
    assert max_diff(target(x).asnumpy(), expected) == 0.0
