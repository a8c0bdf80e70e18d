"""gluoncnn.compress: pruning, SVD, weight sharing + Huffman, int8 quantization, reports.

Everything runs on the shipped real Fashion-MNIST sample (1,000 train / 500 test images) with
LeNet (ReLU), trained once per module for 4 epochs (about a second on one core).
"""
import os

import mxnet as mx
import numpy as np
import pytest
from mxnet import nd
from mxnet.gluon import nn

from gluoncnn import compress as C
from gluoncnn.data import load_data
from gluoncnn.errors import OptionError
from gluoncnn.models import get_model
from gluoncnn.train import evaluate, fit

INT8_MARGIN = 0.02  # int8 accuracy within 2 percentage points of float32 on the 500 test images


@pytest.fixture(scope="module")
def data():
    return load_data("fashion-mnist", 100, sample=True)


@pytest.fixture(scope="module")
def trained(data):
    """LeNet (ReLU) trained on the 1,000 sample images: ~70% test accuracy."""
    train_iter, test_iter = data
    mx.random.seed(0)
    np.random.seed(0)
    net = get_model("lenet", activation="relu")
    net.initialize(mx.init.Xavier())
    fit(net, train_iter, test_iter, 4, optimizer="adam", lr=0.002, seed=0, progress=False,
        plot=False, verbose=False)
    return net


def _acc(net, it):
    return evaluate(net, it, topk=None, loss=False)["acc"]


def _small_net(dense_in=20):
    net = nn.HybridSequential()
    net.add(nn.Conv2D(8, 3, in_channels=1), nn.Conv2D(12, 1, in_channels=8, activation="relu"),
            nn.Flatten(), nn.Dense(30, in_units=12 * 26 * 26, activation="relu"),
            nn.Dense(10, in_units=30))
    net.initialize(mx.init.Xavier())
    return net


# ---- pruning --------------------------------------------------------------------------------
@pytest.mark.parametrize("scope", ["global", "layer"])
def test_prune_exact_sparsity(trained, scope):
    net = C.clone(trained)
    params = C.layer_weights(net)
    mask = C.magnitude_prune(net, 0.73, scope=scope)
    if scope == "global":
        n = sum(p.data().size for p in params.values())
        zeros = sum(int((p.data().asnumpy() == 0).sum()) for p in params.values())
        assert zeros == mask.pruned == round(0.73 * n)
    else:
        for path, p in params.items():
            w = p.data().asnumpy()
            assert (w == 0).sum() == round(0.73 * w.size), path
    rep = mask.report()
    assert list(rep.columns) == ["layer", "shape", "weights", "nonzero", "sparsity"]
    assert rep.iloc[-1]["nonzero"] == mask.total - mask.pruned
    # biases are never pruned
    assert all((b.data().asnumpy() != 0).any() for k, b in net.collect_params().items()
               if k.endswith("bias"))


def test_prune_ties_counted_exactly():
    net = _small_net()
    for p in C.layer_weights(net).values():
        p.set_data(nd.ones(p.shape))  # every |w| ties
    mask = C.magnitude_prune(net, 0.5)
    assert mask.pruned == round(0.5 * mask.total)


def test_sparsity_kept_while_fine_tuning(trained, data):
    train_iter, test_iter = data
    net = C.clone(trained)
    tune = C.fine_tuner(train_iter, test_iter, 1, optimizer="sgd", lr=0.05, momentum=0.9,
                        max_batches=4, progress=False, plot=False, verbose=False)
    mask = C.prune(net, 0.8, steps=2, fine_tune=tune)
    n = mask.total
    zeros = sum(int((p.data().asnumpy() == 0).sum()) for p in C.layer_weights(net).values())
    assert zeros == mask.pruned == round(0.8 * n)
    assert [h["step"] for h in mask.history] == [1, 2]
    assert mask.history[0]["pruned"] == round(0.4 * n)
    # more training with momentum: pruned weights stay exactly zero, the kept ones move
    before = C.layer_weights(net)["output.0"].data().asnumpy().copy()
    fit(net, train_iter, None, 1, lr=0.05, momentum=0.9, max_batches=3, on_step=mask.apply,
        progress=False, plot=False, verbose=False)
    after = C.layer_weights(net)["output.0"].data().asnumpy()
    assert np.all(after[~mask.masks["output.0"]] == 0)
    assert not np.array_equal(before, after)


def test_sparse_encoding_round_trip(trained):
    net = C.clone(trained)
    C.magnitude_prune(net, 0.9)
    data = C.encode_sparse(net)
    dense = C.params_nbytes(net)
    assert len(data) < 0.3 * dense
    fresh = C.clone(trained)
    C.decode_params(data, fresh)
    for (k, a), b in zip(net._collect_params_with_prefix().items(),
                         fresh._collect_params_with_prefix().values()):
        np.testing.assert_array_equal(a.data().asnumpy(), b.data().asnumpy(), err_msg=k)


# ---- SVD ------------------------------------------------------------------------------------
def test_svd_error_bound_dense_and_1x1(trained):
    x = nd.random.uniform(shape=(16, 1, 28, 28))
    # Dense 400 -> 120 of LeNet at rank 10: compare layer outputs sample by sample
    dense = trained.output[0]
    feat = trained.features(x)
    y = dense(feat).asnumpy()
    small, rep = C.svd_compress(trained, rank=10, layers=["output.0"])
    y_r = small.output[0](feat).asnumpy()
    row = rep.iloc[0]
    w = dense.weight.data().asnumpy().astype(np.float64)
    s = np.linalg.svd(w, compute_uv=False)
    assert row["sigma_next"] == pytest.approx(s[10], rel=1e-5)
    assert row["frobenius_error"] == pytest.approx(np.sqrt((s[10:] ** 2).sum()), rel=1e-5)
    x_norm = np.linalg.norm(feat.asnumpy().reshape(16, -1), axis=1)
    err = np.linalg.norm(y - y_r, axis=1)  # the bias cancels
    assert np.all(err <= s[10] * x_norm * (1 + 1e-4) + 1e-4)
    w_r = small.output[0][1].weight.data().asnumpy() @ small.output[0][0].weight.data().asnumpy()
    assert np.linalg.norm(w - w_r) == pytest.approx(row["frobenius_error"], rel=1e-4)
    assert row["weights_after"] == 10 * (400 + 120)
    assert trained.output[0] is dense  # the original is untouched (inplace=False)
    # a 1x1 convolution, in place
    net = _small_net()
    xs = nd.random.uniform(shape=(4, 1, 28, 28))
    h = net[0](xs)
    out = net[1](h).asnumpy()  # relu is 1-Lipschitz: the bound still holds after it
    _, rep = C.svd_compress(net, rank=3, layers=["1"], inplace=True)
    assert isinstance(net[1], nn.HybridSequential)
    out_r = net[1](h).asnumpy()
    s1 = rep.iloc[0]["sigma_next"]
    hn = np.linalg.norm(h.asnumpy(), axis=1)  # per pixel: channel vectors
    assert np.all(np.linalg.norm(out - out_r, axis=1) <= s1 * hn * (1 + 1e-4) + 1e-4)
    net.hybridize()
    assert net(xs).shape == (4, 10)


def test_svd_energy_and_accuracy(trained, data):
    _, test_iter = data
    small, rep = C.svd_compress(trained, energy=0.9)
    assert rep.replaced.any() and (rep.energy_kept[rep.replaced] >= 0.9 - 1e-9).all()
    assert C.params_nbytes(small) < C.params_nbytes(trained)
    small.hybridize()
    assert abs(_acc(small, test_iter) - _acc(trained, test_iter)) < 0.1


def test_replace_block_attribute_child():
    class Net(nn.HybridBlock):
        def __init__(self):
            super().__init__()
            with self.name_scope():
                self.body = nn.Dense(5, in_units=4)

        def hybrid_forward(self, F, x):
            return self.body(x)
    net = Net()
    net.initialize()
    net.hybridize()
    x = nd.ones((2, 4))
    net(x)
    new = nn.HybridSequential()
    new.add(nn.Dense(5, in_units=4))
    new.initialize(mx.init.Zero())
    C.replace_block(net, "body", new)
    assert net.body is new and net._children["body"] is new
    assert net(x).asnumpy().sum() == 0


# ---- weight sharing + Huffman ---------------------------------------------------------------
def test_huffman_round_trip():
    rng = np.random.RandomState(0)
    for n_sym, p in [(2, None), (32, None), (300, None), (5, [0.9, 0.05, 0.03, 0.01, 0.01])]:
        syms = rng.choice(n_sym, size=5000, p=p)
        data, lengths = C.huffman_encode(syms, n_sym)
        np.testing.assert_array_equal(C.huffman_decode(data, lengths, syms.size), syms)
        # Kraft equality of a full prefix code and near-entropy size
        used = lengths[lengths > 0].astype(float)
        assert used.size < 2 or np.isclose(np.sum(2.0 ** -used), 1.0)
        freq = np.bincount(syms, minlength=n_sym) / syms.size
        ent = -np.sum(freq[freq > 0] * np.log2(freq[freq > 0]))
        assert ent * syms.size / 8 <= len(data) <= (ent + 1) * syms.size / 8 + 1
    # one symbol only, and codes longer than the 12-bit fast table (Fibonacci frequencies)
    data, lengths = C.huffman_encode(np.zeros(10, int), 1)
    np.testing.assert_array_equal(C.huffman_decode(data, lengths, 10), np.zeros(10))
    fib = [1, 1]
    while len(fib) < 20:
        fib.append(fib[-1] + fib[-2])
    syms = np.repeat(np.arange(20), fib)
    rng.shuffle(syms)
    data, lengths = C.huffman_encode(syms, 20)
    assert lengths.max() > 12
    np.testing.assert_array_equal(C.huffman_decode(data, lengths, syms.size), syms)


def test_kmeans_linear_init_deterministic():
    x = np.random.RandomState(1).randn(2000)
    c1, i1 = C.kmeans_1d(x, 8)
    c2, i2 = C.kmeans_1d(x, 8)
    np.testing.assert_array_equal(c1, c2)
    np.testing.assert_array_equal(i1, i2)
    assert np.all(np.diff(c1) > 0) and c1.size <= 8
    # each value goes to its nearest centroid
    assert np.all(np.abs(x - c1[i1]) <= np.abs(x[:, None] - c1[None]).min(1) + 1e-6)
    c, i = C.kmeans_1d([1.0, 2.0, 2.0], 4)  # fewer distinct values than clusters: lossless
    np.testing.assert_array_equal(c[i], [1.0, 2.0, 2.0])


def test_share_weights_round_trip_and_size(trained, data):
    _, test_iter = data
    net = C.clone(trained)
    shared = C.share_weights(net, bits=5)
    for path, p in C.layer_weights(net).items():
        assert np.unique(p.data().asnumpy()).size <= 32
        d = shared.layers[path]
        n = int(np.prod(d["shape"]))
        np.testing.assert_array_equal(C.huffman_decode(d["stream"], d["lengths"], n), d["indices"])
    blob = shared.encode()
    assert shared.nbytes == len(blob) < C.params_nbytes(trained) / 5
    fresh = C.clone(trained)
    C.decode_params(blob, fresh)
    x = next(iter(test_iter))[0]
    np.testing.assert_array_equal(fresh(x).asnumpy(), net(x).asnumpy())
    assert abs(_acc(net, test_iter) - _acc(trained, test_iter)) < 0.05
    rep = shared.report()
    assert (rep.bits_per_weight <= 5.0 + 1e-9).all()


def test_deep_compression_zero_cluster(trained):
    net = C.clone(trained)
    mask = C.magnitude_prune(net, 0.9)
    shared = C.share_weights(net, bits=4)
    for path, p in C.layer_weights(net).items():
        w = p.data().asnumpy()
        assert shared.layers[path]["zero_cluster"]
        assert shared.layers[path]["centroids"].size <= 16
        assert np.all(w[~mask.masks[path]] == 0)  # pruned weights stay pruned
    assert shared.nbytes < len(C.encode_sparse(net))


# ---- int8 -----------------------------------------------------------------------------------
def test_int8_accuracy_close_to_float32(trained, data):
    train_iter, test_iter = data
    net = C.clone(trained)
    acc32 = _acc(net, test_iter)
    q = C.quantize(net, train_iter, calib_mode="naive", num_calib_batches=5)
    acc8 = _acc(q, test_iter)
    assert acc32 > 0.6
    assert abs(acc8 - acc32) <= INT8_MARGIN, (acc32, acc8)
    int8_ops, float_ops = C.quantized_ops(q)
    assert {op for op, _ in int8_ops} >= {"_sg_mkldnn_conv", "_sg_mkldnn_fully_connected"}
    assert C.params_nbytes(q) < C.params_nbytes(trained)  # the dense weights are stored in int8


def test_int8_sigmoid_lenet_runs(data):
    _, test_iter = data
    net = get_model("lenet")  # sigmoid: runs in float32 between dequantize/quantize nodes
    net.initialize()
    q = C.quantize(net, test_iter, num_calib_batches=1)
    x = next(iter(test_iter))[0]
    assert q(x).shape == (100, 10)
    _, float_ops = C.quantized_ops(q)
    assert any(op == "Activation" for op, _ in float_ops)


# ---- report ---------------------------------------------------------------------------------
def test_report_and_plot(trained, data, tmp_path):
    train_iter, test_iter = data
    test_batches = list(test_iter)[:2]  # 200 real test images keep the six methods quick
    df = C.compression_report(trained, test_batches, calib_iter=train_iter, sparsity=0.8, bits=5,
                              energy=0.9, num_calib_batches=2, min_time=0.02)
    assert list(df.method) == list(C.METHODS)
    assert list(df.columns) == ["method", "size_bytes", "ratio", "accuracy", "images_per_sec",
                                "detail"]
    by = df.set_index("method")
    assert by.loc["float32", "size_bytes"] == C.params_nbytes(trained)
    assert by.loc["prune+share", "ratio"] > by.loc["prune", "ratio"] > 2
    assert (df.images_per_sec > 0).all() and df.accuracy.between(0, 1).all()
    fig = C.plot_report(df, title="LeNet")
    fig.savefig(os.path.join(tmp_path, "report.png"))
    assert len(fig.axes) == 3


def test_report_prunes_once_or_takes_a_given_pruning(trained, data):
    test_batches = list(data[1])[:1]
    steps = []

    def count_steps(net, on_step):
        steps.append(net)
    C.compression_report(trained, test_batches, methods=("prune", "prune+share"),
                         fine_tune=count_steps, sparsity=0.8, prune_steps=2, min_time=0.02)
    assert len(steps) == 2  # two pruning steps, once for both methods
    m = C.clone(trained)
    mask = C.prune(m, 0.5)
    df = C.compression_report(trained, test_batches, methods=("prune", "prune+share"),
                              fine_tune=count_steps, pruned=(m, mask), min_time=0.02)
    assert len(steps) == 2 and list(df.detail.str[:13]) == ["sparsity 0.50"] * 2
    with pytest.raises(OptionError, match="pruned must be"):
        C.compression_report(trained, test_batches, pruned=m)


# ---- bad requests ---------------------------------------------------------------------------
def test_bad_requests(trained, data):
    net = C.clone(trained)
    for s in (-0.1, 1.0, 1.5, "half"):
        with pytest.raises(ValueError, match="sparsity must be a number in"):
            C.magnitude_prune(net, s)
    with pytest.raises(ValueError, match="sparsity must be"):
        C.prune(net, 1.0)
    with pytest.raises(ValueError, match=r"rank 200 is larger than layer output.0.*400x120|"
                                         r"rank 200 is larger than layer output.0.*120x400"):
        C.svd_compress(net, rank=200, layers=["output.0"])
    with pytest.raises(ValueError, match="exactly one of rank"):
        C.svd_compress(net)
    for b in (0, 17, 2.5):
        with pytest.raises(ValueError, match=r"bits must be an integer in 1\.\.16"):
            C.share_weights(net, bits=b)
    with pytest.raises(ValueError, match="not a Dense/convolution layer"):
        C.magnitude_prune(net, 0.5, layers=["features.9"])
    with pytest.raises(ValueError, match="cannot be factorised"):
        C.svd_compress(net, rank=2, layers=["features.0.0"])  # a 5x5 convolution
    empty = nn.HybridSequential()
    empty.add(nn.MaxPool2D(), nn.Flatten())
    empty.initialize()
    for call in (lambda: C.magnitude_prune(empty, 0.5), lambda: C.share_weights(empty),
                 lambda: C.svd_compress(empty, rank=1),
                 lambda: C.quantize(empty, data[1])):
        with pytest.raises(ValueError, match="no layer to compress"):
            call()
    with pytest.raises(ValueError, match="no layer to compress by SVD"):
        convs = nn.HybridSequential()
        convs.add(nn.Conv2D(2, 3, in_channels=1))
        convs.initialize()
        C.svd_compress(convs, rank=1)
    with pytest.raises(ValueError, match="calib_mode"):
        C.quantize(net, data[0], calib_mode="kl")
    uninit = get_model("lenet")
    with pytest.raises(ValueError, match="not initialised"):
        C.magnitude_prune(uninit, 0.5)
