"""FractalNet (Larsson et al., ICLR 2017): the expansion rule's structure, parameter counts,
shapes, drop-path (training vs inference, hybridized), and one training step on real data."""
import mxnet as mx
import numpy as np
import pytest
from modelcheck import stage_shapes, trainable_params
from mxnet import autograd, gluon, nd

from gluoncnn.models import InputShapeError, get_model
from gluoncnn.models.fractalnet import FractalBlock, FractalNet, join_table


def expected_params(in_channels, widths, columns, classes, stem=False):
    """Count from the expansion rule: column i has 2^i units (3x3 conv, no bias + BN)."""
    total, c_in = 0, in_channels
    if stem:
        total += 7 * 7 * in_channels * widths[0] + 2 * widths[0]
        c_in = widths[0]
    for w in widths:
        for i in range(columns):
            total += 9 * c_in * w + 2 * w + (2 ** i - 1) * (9 * w * w + 2 * w)
        c_in = w
    return total + c_in * classes + classes


@pytest.mark.parametrize('columns', [1, 2, 3, 4])
def test_expansion_rule_structure(columns):
    block = FractalBlock(3, 8, columns)
    assert block.conv_layers() == 2 ** columns - 1                 # units in a block
    assert [len(c) for c in block.column_units] == [2 ** i for i in range(columns)]
    assert max(len(c) for c in block.column_units) == 2 ** (columns - 1)   # deepest path
    joins = join_table(columns)
    assert len(joins) == (2 ** (columns - 2) if columns > 1 else 0)
    if columns > 1:
        assert joins[-1] == tuple(range(columns))                 # the block ends joining all
    # each unit of a shallower column ends in a join; the deepest column joins every 2nd unit
    for i in range(columns - 1):
        assert sum(i in j for j in joins) == 2 ** i
    assert sum(columns - 1 in j for j in joins) == len(joins)


def test_join_table_c4():
    # rows 2, 4, 6, 8 of the 8-row grid; column 3 is the deepest (a conv in every row)
    assert join_table(4) == [(2, 3), (1, 2, 3), (2, 3), (0, 1, 2, 3)]


def test_paper_cifar_config_counts_and_depth():
    net = get_model('fractalnet')                                  # B=5, C=4, 64..512
    assert len(net.blocks()) == 5 and net.columns == 4
    depth = sum(max(len(c) for c in b.column_units) for b in net.blocks())
    assert depth == 40                                             # "40 layers" of the paper
    assert trainable_params(net, (1, 3, 32, 32)) == 76106634
    assert 76106634 == expected_params(3, (64, 128, 256, 512, 512), 4, 10)
    net20 = get_model('fractalnet', columns=3, classes=100)        # the 20-layer net
    assert trainable_params(net20, (1, 3, 32, 32)) == expected_params(
        3, (64, 128, 256, 512, 512), 3, 100) == 33770788
    assert stage_shapes(net, (1, 3, 32, 32)) == [(64, 16, 16), (128, 8, 8), (256, 4, 4),
                                                 (512, 2, 2), (512, 1, 1)]


def test_imagenet_fractalnet34():
    net = get_model('fractalnet34')
    assert stage_shapes(net, (1, 3, 224, 224)) == [(64, 56, 56), (64, 28, 28), (128, 14, 14),
                                                   (256, 7, 7), (512, 7, 7)]
    assert trainable_params(net, (1, 3, 224, 224)) == expected_params(
        3, (64, 128, 256, 512), 4, 1000, stem=True) == 41359784
    depth = 1 + sum(max(len(c) for c in b.column_units) for b in net.blocks()) + 1
    assert depth == 34
    assert net(mx.sym.var('data')).infer_shape(data=(1, 3, 224, 224))[1] == [(1, 1000)]


def test_input_size_checks():
    net = get_model('fractalnet', in_channels=1, columns=1)
    net.initialize()
    with pytest.raises(InputShapeError, match='>=32'):
        net(nd.ones((1, 1, 28, 28)))                              # 28 -> ... -> 1 -> 0
    net = get_model('fractalnet', in_channels=1, columns=1, blocks=4)
    net.initialize()
    assert net(nd.ones((1, 1, 28, 28))).shape == (1, 10)          # 28 -> 14 -> 7 -> 3 -> 1
    with pytest.raises(ValueError, match='blocks'):
        get_model('fractalnet', blocks=6)
    with pytest.raises(ValueError, match='one rate per block'):
        get_model('fractalnet', dropout=(0.1, 0.2))


def small_net(**kw):
    return FractalNet(channels=(8, 16), columns=3, classes=5, in_channels=1, **kw)


def test_sample_drop_path_masks():
    mx.random.seed(0)
    net = small_net()
    member = np.array([[i in j for i in range(3)] for j in join_table(3)], dtype=float)
    kinds, dropped, inputs = [], 0, 0
    for _ in range(400):
        kind, masks = net.sample_drop_path()
        kinds.append(kind)
        assert len(masks) == 2
        for m in masks:
            assert ((m == 0) | (m == 1)).all() and (m <= member).all()
            assert (m.sum(axis=1) >= 1).all()                     # at least one path survives
        if kind == 'global':                                      # one column, every block
            keep = {tuple(np.flatnonzero(m[-1])) for m in masks}
            assert len(keep) == 1 and len(keep.pop()) == 1
            column = np.flatnonzero(masks[0][-1])[0]
            for m in masks:
                for j, row in enumerate(m):
                    if member[j, column]:
                        assert np.flatnonzero(row).tolist() == [column]
        else:
            dropped += (member - np.stack(masks)).sum()
            inputs += member.sum() * len(masks)
    assert 0.4 < kinds.count('global') / len(kinds) < 0.6         # 50/50 per mini-batch
    assert 0.10 < dropped / inputs < 0.18                         # ~15%, a bit less after refills


def test_masks_follow_mxnet_seed():
    net = small_net()
    draws = []
    for _ in range(2):
        mx.random.seed(42)
        draws.append([net.sample_drop_path() for _ in range(5)])
    for (k1, m1), (k2, m2) in zip(*draws):
        assert k1 == k2 and all(np.array_equal(a, b) for a, b in zip(m1, m2))


def test_local_drop_keeps_at_least_one_path():
    mx.random.seed(1)
    net = small_net(drop_path=0.99, global_drop=0.0)
    net.initialize()
    for _ in range(20):
        kind, masks = net.sample_drop_path()
        assert kind == 'local'
        assert all((m.sum(axis=1) >= 1).all() for m in masks)
    assert (np.stack(masks).sum(axis=2) == 1).mean() > 0.9          # nearly all: exactly one
    x = nd.random.uniform(shape=(4, 1, 8, 8))
    with autograd.record():
        out = net(x)
    assert np.isfinite(out.asnumpy()).all()


@pytest.mark.parametrize('hybridize', [False, True])
def test_drop_path_only_in_training(hybridize):
    mx.random.seed(0)
    net = small_net()
    net.initialize()
    x = nd.random.uniform(shape=(4, 1, 8, 8))
    reference = net(x).asnumpy()                    # inference before any hybridization
    if hybridize:
        net.hybridize()
    # first call in training: must not freeze training behaviour into the cached graph
    with autograd.record():
        train_outs = [net(x).asnumpy() for _ in range(8)]
    assert any(not np.allclose(train_outs[0], t) for t in train_outs[1:])   # masks vary
    for _ in range(2):                               # inference: deterministic, plain means
        assert np.allclose(net(x).asnumpy(), reference, atol=1e-6)
    with autograd.record():                          # back in training: random again
        again = [net(x).asnumpy() for _ in range(4)]
    assert any(not np.allclose(again[0], t) for t in again[1:])


def test_same_masks_same_output_in_training():
    net = small_net()
    net.initialize()
    net.hybridize()
    x = nd.random.uniform(shape=(4, 1, 8, 8))
    mean = [np.array([[0, .5, .5], [1 / 3, 1 / 3, 1 / 3]])] * 2
    deep = [np.array([[0, 0, 1.], [0, 0, 1.]])] * 2
    as_nd = lambda ws: [nd.array(w) for w in ws]   # noqa: E731
    with autograd.record():
        a, b = net(x, *as_nd(mean)), net(x, *as_nd(mean))
        c = net(x, *as_nd(deep))
    assert np.allclose(a.asnumpy(), b.asnumpy())
    assert not np.allclose(a.asnumpy(), c.asnumpy())


@pytest.mark.parametrize('column', [0, 1, 2])
def test_eval_column_is_the_plain_chain(column):
    net = small_net()
    net.initialize()
    x = nd.random.uniform(shape=(2, 1, 8, 8))
    h = x
    for block in net.blocks():                      # that column's units, then the pool
        for unit in block.column_units[column]:
            h = unit(h)
        h = block.pool(h)
    chain = net.output(h).asnumpy()
    net.eval_column = column
    assert np.allclose(net(x).asnumpy(), chain, atol=1e-5)
    net.hybridize()
    assert np.allclose(net(x).asnumpy(), chain, atol=1e-5)
    net.eval_column = None
    assert not np.allclose(net(x).asnumpy(), chain, atol=1e-5)


def test_one_training_step_on_fashion_mnist():
    from gluoncnn.data import load_data
    np.random.seed(0)
    X, y = next(iter(load_data('fashion-mnist', 16, sample=True)[0]))
    net = get_model('fractalnet', in_channels=1, columns=2, blocks=3, channels=(16, 32, 64))
    net.initialize()
    net.hybridize()
    loss = gluon.loss.SoftmaxCrossEntropyLoss()
    trainer = gluon.Trainer(net.collect_params(), 'sgd', {'learning_rate': 0.05})
    mx.random.seed(3)
    kind, masks = net.sample_drop_path()         # one draw, kept fixed to compare the losses
    weights = [nd.array(m / m.sum(axis=1, keepdims=True)) for m in masks]
    with autograd.record():
        before = loss(net(X, *weights), y).mean()
    before.backward()
    first = net.blocks()[0].column_units[0][0][0].weight
    assert nd.abs(first.grad()).sum().asscalar() > 0
    trainer.step(1)
    with autograd.record():
        after = loss(net(X, *weights), y).mean()
    assert after.asscalar() < before.asscalar()
    with autograd.record():                      # and the usual call samples its own paths
        assert np.isfinite(loss(net(X), y).mean().asscalar())
