"""The registry's metadata and the option and input checks every model shares.

Every figure registered with a builder (parameters, training-only parameters, multiply-adds at
the default input) is recomputed from the code here, so none can go stale.
"""
import json

import mxnet as mx
import numpy as np
import pytest
from mxnet import nd

from gluoncnn import cli
from gluoncnn.analysis import compute_figures
from gluoncnn.errors import GluonCNNError, InputError, OptionError
from gluoncnn.models import (
    families,
    get_model,
    list_models,
    model_info,
    model_table,
)

MODELS = list_models()


@pytest.mark.parametrize('name', MODELS)
def test_registered_figures_equal_the_computed_ones(name):
    info = model_info(name)
    assert compute_figures(name) == {'params': info.params, 'macs': info.macs,
                                     'train_only_params': info.train_only_params}


def test_known_figures():
    # the papers' and torchvision's counts, and the notes' printed figures
    assert model_info('resnet18').params == 11_689_512
    assert model_info('vgg16').params == 138_357_544
    assert model_info('densenet121').params == 7_978_856
    assert model_info('lenet').params == 61_706
    assert model_info('keras_resnet').params == 17_495_780
    assert model_info('vgg13_cifar').params == 9_824_676
    assert model_info('googlenet_d2l').params == 5_977_530
    googlenet = model_info('googlenet')
    assert googlenet.params + googlenet.train_only_params == 13_378_280


def test_every_model_has_its_facts():
    for name in MODELS:
        info = model_info(name)
        assert info.family in families() and info.paper and info.description
        assert len(info.input_shape) == 3 and info.params > 0 and info.macs > 0
        assert info.short_paper.count(',') >= 1


def test_list_filters():
    assert list_models('resnet1*') == ['resnet101', 'resnet101_v2', 'resnet110_cifar',
                                       'resnet110_cifar_v2', 'resnet152', 'resnet152_v2',
                                       'resnet164_cifar_v2', 'resnet18', 'resnet18_v2']
    assert list_models(family='densenet') == ['densenet', 'densenet121', 'densenet161',
                                              'densenet169', 'densenet201',
                                              'densenet_bc_100_k12', 'densenet_cifar']
    assert list_models('vgg*', family='resnet') == []
    with pytest.raises(OptionError, match='families are: lenet, alexnet'):
        list_models(family='resnets')


def test_model_table_is_grouped_by_family_in_course_order():
    rows = model_table()
    assert [r['name'] for r in rows][:4] == ['lenet', 'lenet_bn', 'alexnet', 'zfnet']
    order = [r['family'] for r in rows]
    assert order == sorted(order, key=families().index)
    assert {r['name'] for r in rows} == set(MODELS)
    row = next(r for r in rows if r['name'] == 'resnet18')
    assert row['params'] == 11_689_512 and row['input'] == [3, 224, 224]
    assert row['short_paper'] == 'He et al., CVPR 2016 (arXiv:1512.03385)'


def test_cli_list(capsys):
    assert cli.main(['list']) == 0
    out = capsys.readouterr().out
    assert '# lenet' in out and '# densenet' in out
    line = next(line for line in out.splitlines() if line.startswith('resnet18 '))
    assert line.split()[1:4] == ['11.7M', '1.82G', '3x224x224']
    assert cli.main(['list', 'resnet*', '--family', 'resnet']) == 0
    out = capsys.readouterr().out
    assert 'densenet' not in out and 'resnet50 ' in out and 'wide_resnet' not in out
    assert cli.main(['list', 'googlenet*', '--json']) == 0
    rows = json.loads(capsys.readouterr().out)
    assert [r['name'] for r in rows] == ['googlenet', 'googlenet_d2l']
    assert rows[0]['train_only_params'] == 6_379_728


# ------------------------------------------------------------------------- option checks
@pytest.mark.parametrize('options, words', [
    (dict(classes=0), 'classes must be a positive int'),
    (dict(classes=-3), 'classes must be a positive int'),
    (dict(classes=2.5), 'classes must be a positive int'),
    (dict(classes='10'), "got '10'"),
    (dict(classes=True), 'got True'),
    (dict(in_channels=0), 'in_channels must be a positive int'),
    (dict(small_input='yes'), 'small_input must be True or False'),
])
def test_bad_common_options(options, words):
    with pytest.raises(OptionError, match=words) as err:
        get_model('resnet18', **options)
    assert '\n' not in str(err.value)


@pytest.mark.parametrize('name, options, words', [
    ('nin', dict(dropout=5), r'dropout must be a rate in \[0, 1\)'),
    ('nin', dict(dropout=-1), 'dropout must be a rate'),
    ('googlenet', dict(dropout=1.0), 'dropout must be a rate'),
    ('fractalnet', dict(dropout=(0, 0.1, 2, 0, 0)), 'dropout must be a rate'),
    ('fractalnet', dict(drop_path=1.5), 'drop_path must be a rate'),
    ('lenet', dict(activation='bogus'), "'relu', 'sigmoid', 'tanh'"),
    ('lenet', dict(input_size=0), 'input_size must be a positive int'),
    ('wide_resnet_cifar', dict(depth=2.5), 'depth must be a positive int'),
    ('resnet20_cifar', dict(small_input=False), 'only in the small-image'),
    ('densenet_bc_100_k12', dict(classes=0), 'classes must be'),
])
def test_bad_model_options(name, options, words):
    with pytest.raises(OptionError, match=words):
        get_model(name, **options)


def test_builders_check_their_options_when_called_directly():
    from gluoncnn.models import resnet18, wrn28_10
    with pytest.raises(OptionError):
        resnet18(classes=0)
    with pytest.raises(OptionError, match='small-image'):
        wrn28_10(small_input=False)


def test_unknown_model_and_option_are_gluoncnn_errors():
    with pytest.raises(GluonCNNError):
        get_model('resnet19')
    with pytest.raises(TypeError) as err:
        get_model('resnet18', clases=10)
    assert isinstance(err.value, GluonCNNError)


# --------------------------------------------------------------------------- input checks
@pytest.fixture(scope='module')
def lenet():
    net = get_model('lenet')
    net.initialize()
    return net


@pytest.mark.parametrize('x, words', [
    (np.zeros((1, 1, 28, 28), dtype='float32'), "mx.nd.array\\(x, dtype='float32'\\)"),
    (nd.zeros((1, 1, 28, 28), dtype='float64'), r"x.astype\('float32'\)"),
    (nd.zeros((1, 1, 28, 28), dtype='float16'), 'got float16'),
    (nd.zeros((1, 1, 28, 28), dtype='uint8'), 'got uint8'),
    ([[0.0]], 'got list'),
])
def test_bad_input_type(lenet, x, words):
    with pytest.raises(InputError, match=words) as err:
        lenet(x)
    assert '\n' not in str(err.value)


def test_inputs_that_work(lenet, tmp_path):
    x = nd.random.uniform(shape=(2, 1, 28, 28))
    expected = lenet(x).asnumpy()
    lenet.hybridize()
    np.testing.assert_allclose(lenet(x).asnumpy(), expected, rtol=1e-5, atol=1e-6)
    lenet.export(str(tmp_path / 'lenet'))                  # the symbolic graph is untouched
    sym = lenet(mx.sym.var('data'))
    assert sym.infer_shape(data=(2, 1, 28, 28))[1] == [(2, 10)]
    double = get_model('lenet')                            # (float16 has no CPU gemm)
    double.initialize()
    double.cast('float64')                                 # a cast net takes its dtype
    assert double(x.astype('float64')).dtype == np.float64
    with pytest.raises(InputError, match="x.astype\\('float64'\\)"):
        double(x)
