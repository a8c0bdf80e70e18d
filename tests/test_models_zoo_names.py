"""MXNet model-zoo and GluonCV names (gluoncnn.models.zoo_names): the same architecture resolves
to ours and says so once; another one is refused naming our nearest net in architecture."""
import logging
import re

import pytest
from mxnet.gluon.model_zoo import vision

from gluoncnn import cli
from gluoncnn.errors import OptionError
from gluoncnn.models import get_model, list_models, model_info, model_options, model_table, registry
from gluoncnn.models.zoo_names import ZOO_NAMES


def mxnet_zoo_names():
    """The names MXNet's own ``vision.get_model`` takes (its error message lists them all)."""
    with pytest.raises(ValueError) as err:
        vision.get_model('no such net')
    return str(err.value).split('Available options are')[1].split()


@pytest.fixture
def said(monkeypatch):
    """What the registry says from now on (each zoo name unsaid so far), as a list of lines."""
    monkeypatch.setattr(registry, '_SAID', set())
    lines = []
    handler = logging.Handler()
    handler.emit = lambda record: lines.append(record.getMessage())
    registry.log.addHandler(handler)
    yield lines
    registry.log.removeHandler(handler)


def test_every_name_of_mxnets_zoo_is_ours_or_says_our_nearest():
    names = mxnet_zoo_names()
    assert len(names) == 34 and 'resnet18_v1' in names and 'mobilenetv2_1.0' in names
    for name in names:
        try:
            model_info(name)
        except OptionError as err:
            assert 'the nearest in architecture is ' in str(err), name


@pytest.mark.parametrize('zoo, ours', [
    ('resnet18_v1', 'resnet18'), ('resnet152_v1', 'resnet152'), ('resnet34_v1b', 'resnet34'),
    ('cifar_resnet56_v1', 'resnet56_cifar'), ('cifar_resnet20_v2', 'resnet20_cifar_v2'),
    ('cifar_wideresnet28_10', 'wrn28_10'), ('squeezenet1.0', 'squeezenet1_0'),
    ('vgg16_bn', 'vgg16_bn'), ('densenet121', 'densenet121'), ('RESNET50_V1', 'resnet50')])
def test_a_zoo_name_of_the_same_architecture_builds_ours(zoo, ours):
    assert model_info(zoo).name == ours
    assert type(get_model(zoo, classes=10)) is type(get_model(ours, classes=10))


def test_a_resolved_zoo_name_is_said_once(said):
    get_model('resnet18_v1', classes=10)
    get_model('resnet18_v1', classes=10)
    assert said == ["resnet18_v1 (the MXNet model zoo's name) is gluoncnn's resnet18"]


@pytest.mark.parametrize('zoo, nearest', [
    ('mobilenet1.0', 'squeezenet1_1'), ('mobilenetv2_0.25', 'squeezenet1_1'),
    ('mobilenetv3_small', 'squeezenet1_1'), ('inceptionv3', 'googlenet'),
    ('resnet50_v1b', 'resnet50 with stride_in_3x3=True'),
    ('resnet101_v1d', 'resnet101 with stride_in_3x3=True'),
    ('se_resnet18_v1', 'resnet18'), ('resnext101_64x4d', 'resnext101_32x8d'),
    ('cifar_wideresnet16_10', 'wide_resnet_cifar with depth=16, widen_factor=10')])
def test_another_architecture_names_our_nearest_not_the_closest_spelling(zoo, nearest):
    with pytest.raises(OptionError, match=re.escape(
            f"{zoo!r} (") + r".* is not a gluoncnn model; the nearest in architecture is "
            + re.escape(nearest + ':')):
        get_model(zoo)


def test_every_entry_names_a_model_and_options_it_takes():
    for zoo in ZOO_NAMES.values():
        assert zoo.ours in list_models(), zoo.name
        assert set(zoo.options) <= set(model_options(zoo.ours)), zoo.name
        assert zoo.same or zoo.note, f"{zoo.name}: say why ours is only the nearest"
        assert zoo.name not in list_models(), f"{zoo.name} is gluoncnn's own name"


def test_the_cli_takes_zoo_names(said, capsys):
    assert cli.main(['summary', 'resnet18_v1', '--input', '1,28,28', '--max-depth', '1']) == 0
    assert capsys.readouterr().out.startswith(
        'resnet18(classes=10, in_channels=1, small_input=True)')
    assert said == ["resnet18_v1 (the MXNet model zoo's name) is gluoncnn's resnet18"]
    assert cli.main(['summary', 'mobilenet1.0', '--input', '1,28,28']) == 2
    assert 'the nearest in architecture is squeezenet1_1' in capsys.readouterr().err


def test_list_sorts_a_family_by_depth_then_name():
    names = [r['name'] for r in model_table('resnet*', family='resnet')]
    assert names[:7] == ['resnet18', 'resnet18_v2', 'resnet20_cifar', 'resnet20_cifar_v2',
                         'resnet34', 'resnet34_v2', 'resnet50']
    v1 = [n for n in names if re.fullmatch(r'resnet\d+', n)]
    assert v1 == ['resnet18', 'resnet34', 'resnet50', 'resnet101', 'resnet152']
    assert [r['name'] for r in model_table(family='densenet')] == [
        'densenet_bc_100_k12', 'densenet121', 'densenet161', 'densenet169', 'densenet201',
        'densenet', 'densenet_cifar']
    assert [r['name'] for r in model_table('googlenet*')] == ['googlenet', 'googlenet_d2l']


def test_list_verbose_shows_the_zoo_names_of_a_model(capsys):
    assert [r['zoo_names'] for r in model_table('resnet18')] == [['resnet18_v1', 'resnet18_v1b']]
    assert cli.main(['list', 'resnet18', '-v']) == 0
    assert 'also named (model zoo, GluonCV): resnet18_v1, resnet18_v1b' in capsys.readouterr().out
