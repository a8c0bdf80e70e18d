"""DenseNet (Huang et al., CVPR 2017): exact parameter counts, stage shapes, the dense
connectivity, and one training step on real Fashion-MNIST images.

Counts and ImageNet shapes come from symbolic shape inference (no 224x224 forward pass)."""
import mxnet as mx
import numpy as np
import pytest
from modelcheck import stage_shapes, trainable_params
from mxnet import autograd, gluon, nd

from gluoncnn.errors import OptionError
from gluoncnn.models import InputShapeError, get_model
from gluoncnn.models.densenet import DenseBlock, DenseLayer, Transition


# torchvision.models.densenet121/169/201/161 (sum of p.numel() over parameters()).
@pytest.mark.parametrize('name, count', [('densenet121', 7978856), ('densenet169', 14149480),
                                         ('densenet201', 20013928), ('densenet161', 28681000)])
def test_imagenet_counts_equal_torchvision(name, count):
    net = get_model(name)
    assert trainable_params(net, (1, 3, 224, 224)) == count
    assert net(mx.sym.var('data')).infer_shape(data=(1, 3, 224, 224))[1] == [(1, 1000)]


def test_densenet_bc_100_k12_count():
    # Paper Table 2: "0.8M" for DenseNet-BC (L=100, k=12); exactly 769,162 on CIFAR-10.
    assert trainable_params(get_model('densenet_bc_100_k12'), (1, 3, 32, 32)) == 769162
    assert trainable_params(get_model('densenet_bc_100_k12', classes=100), (1, 3, 32, 32)) == 800032


def test_densenet121_stage_shapes_at_224():
    shapes = stage_shapes(get_model('densenet121'), (1, 3, 224, 224))
    assert shapes == [(64, 56, 56), (128, 28, 28), (256, 14, 14), (512, 7, 7), (1024, 7, 7)]


def test_densenet161_stem_and_final_width():
    net = get_model('densenet161')
    shapes = stage_shapes(net, (1, 3, 224, 224))
    assert shapes[0] == (96, 56, 56) and shapes[-1] == (2208, 7, 7) and net.num_features == 2208


def test_small_input_stem_keeps_resolution():
    shapes = stage_shapes(get_model('densenet121', small_input=True), (1, 3, 32, 32))
    assert shapes == [(64, 32, 32), (128, 16, 16), (256, 8, 8), (512, 4, 4), (1024, 4, 4)]
    shapes = stage_shapes(get_model('densenet_bc_100_k12'), (1, 3, 32, 32))
    assert shapes == [(24, 32, 32), (108, 16, 16), (150, 8, 8), (342, 8, 8)]


def test_dense_block_concatenates_each_layer_to_its_input():
    x = nd.random.uniform(shape=(2, 8, 6, 6))
    layer = DenseLayer(growth_rate=4, bn_size=4)
    layer.initialize()
    out = layer(x)
    assert out.shape == (2, 12, 6, 6)
    assert np.array_equal(out[:, :8].asnumpy(), x.asnumpy())   # the input passes unchanged

    block = DenseBlock(num_layers=3, growth_rate=4)
    block.initialize()
    out, seen = block(x), x
    assert out.shape == (2, 8 + 3 * 4, 6, 6)
    for layer in block:          # layer l sees 8 + 4l channels and appends 4
        assert seen.shape[1] == 8 + 4 * list(block).index(layer)
        seen = layer(seen)
    assert np.allclose(out.asnumpy(), seen.asnumpy())
    assert np.array_equal(out[:, :8].asnumpy(), x.asnumpy())


def test_transition_compresses_and_halves():
    t = Transition(6)
    t.initialize()
    assert t(nd.ones((1, 12, 8, 8))).shape == (1, 6, 4, 4)
    net = get_model('densenet', compression=1.0)   # DenseNet-B-121: no compression
    assert stage_shapes(net, (1, 3, 224, 224))[1] == (256, 28, 28)


def test_options_and_errors():
    with pytest.raises(OptionError, match='6n\\+4'):
        get_model('densenet_cifar', depth=101)
    with pytest.raises(OptionError, match='3n\\+4'):
        get_model('densenet_cifar', depth=42, bn_size=None)
    with pytest.raises(OptionError, match='compression'):
        get_model('densenet', compression=0)
    with pytest.raises(TypeError):
        get_model('densenet121', theta=0.5)
    # a named configuration is fixed: its depth and growth rate are not options
    for option in ('depth', 'growth_rate', 'block_config', 'bn_size', 'compression'):
        with pytest.raises(TypeError, match="does not take option"):
            get_model('densenet_bc_100_k12' if option in ('depth', 'growth_rate')
                      else 'densenet121', **{option: 40})
    plain40 = get_model('densenet_cifar', depth=40, bn_size=None, compression=1.0)
    assert plain40.block_config == (12, 12, 12)     # the paper's DenseNet (L=40, k=12)
    net = get_model('densenet121', small_input=True)
    net.initialize()
    with pytest.raises(InputShapeError, match='>=8'):
        net(nd.ones((1, 3, 7, 7)))
    net = get_model('densenet121')
    assert net.min_size == 29
    net(mx.sym.var('data')).infer_shape(data=(1, 3, 29, 29))       # smallest size that fits


def fashion_batch(batch_size=16, resize=None):
    from gluoncnn.data import load_data
    np.random.seed(0)
    train_iter, _ = load_data('fashion-mnist', batch_size, resize=resize, sample=True)
    return next(iter(train_iter))


def one_step_lowers_loss(net, X, y, lr=0.1):
    """One SGD step on (X, y): the training-mode loss on the same batch goes down, and the first
    conv gets a non-zero gradient."""
    net.initialize()
    net.hybridize()
    loss = gluon.loss.SoftmaxCrossEntropyLoss()
    trainer = gluon.Trainer(net.collect_params(), 'sgd', {'learning_rate': lr})
    with autograd.record():
        before = loss(net(X), y).mean()
    before.backward()
    first = next(p for p in net.collect_params().values() if p.name.endswith('weight'))
    assert nd.abs(first.grad()).sum().asscalar() > 0
    trainer.step(1)
    with autograd.record():
        after = loss(net(X), y).mean()
    assert after.asscalar() < before.asscalar()


def test_one_training_step_on_fashion_mnist():
    X, y = fashion_batch()
    net = get_model('densenet_cifar', in_channels=1, depth=22)   # 3 layers per block
    one_step_lowers_loss(net, X, y)
