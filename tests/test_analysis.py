"""gluoncnn.analysis: exact figures against hand-derived values and the course notes' examples.

Every figure below is derived by hand in the comment next to it. Where the notes (CS231n
lecture 9, course-notes/004) are wrong, the test pins the true value and says so.
"""
import matplotlib

matplotlib.use("Agg")

import mxnet as mx  # noqa: E402
import numpy as np  # noqa: E402
import pytest  # noqa: E402
from mxnet import gluon, nd  # noqa: E402
from mxnet.gluon import nn  # noqa: E402

from gluoncnn import analysis  # noqa: E402
from gluoncnn.analysis import (  # noqa: E402
    compare,
    conv_macs,
    conv_output_size,
    conv_params,
    dense_macs,
    dense_params,
    fire_cost,
    inception_cost,
    plot_comparison,
    receptive_field,
    summary,
)
from gluoncnn.models import get_model, list_models, model_options  # noqa: E402
from gluoncnn.models.common import InputShapeError  # noqa: E402
from gluoncnn.models.googlenet import Inception  # noqa: E402
from gluoncnn.models.squeezenet import Fire  # noqa: E402


def rows_by_name(s):
    return {r["name"]: r for r in s.rows}


def seq(*layers):
    net = nn.HybridSequential()
    net.add(*layers)
    return net


# ------------------------------------------------------------------ the hand formulas
def test_alexnet_first_layer_arithmetic():
    # (227 - 11) / 4 + 1 = 55; 11*11*3 weights per filter, 96 filters, + 96 biases
    assert conv_output_size(227, 11, p=0, s=4) == 55
    assert conv_params(3, 96, 11, bias=False) == 11 * 11 * 3 * 96 == 34_848
    assert conv_params(3, 96, 11) == 34_944          # "35K" in the lecture
    assert conv_output_size(224, 3, p=1) == 224
    assert conv_output_size(7, 3, s=2) == 3             # (7-3)/2+1
    assert conv_output_size(6, 3, s=2, ceil_mode=True) == 3
    with pytest.raises(ValueError, match="does not fit"):
        conv_output_size(7, 3, s=3, strict=True)         # (7-3)/3+1 = 2.33
    with pytest.raises(ValueError, match="does not fit"):
        conv_output_size(3, 5)


def test_conv_and_dense_formulas():
    # grouped conv: 128 filters of 3x3x(64/32) + 128 biases
    assert conv_params(64, 128, 3, groups=32) == 128 * 2 * 9 + 128 == 2_432
    assert conv_macs(28, 28, 256, 192, 3, p=1) == 28 * 28 * 192 * 3 * 3 * 256
    assert conv_macs(8, 8, 64, 128, 3, s=2, p=1, groups=32) == 4 * 4 * 128 * 9 * 2
    assert dense_params(7 * 7 * 512, 4096, bias=False) == 102_760_448
    assert dense_macs(4096, 1000) == 4_096_000
    with pytest.raises(ValueError, match="groups"):
        conv_params(30, 64, 3, groups=4)


def test_inception_cost_naive_and_bottleneck():
    naive = inception_cost(28, 28, 256, 128, 192, 96, bottleneck=False)
    # 28x28x128x1x1x256 + 28x28x192x3x3x256 + 28x28x96x5x5x256
    assert [b["macs"] for b in naive["branches"]] == [25_690_112, 346_816_512, 481_689_600]
    assert naive["macs"] == 854_196_224                  # the lecture's "854M ops": right
    assert naive["out_channels"] == 128 + 192 + 96 + 256 == 672
    assert naive["params"] == 256 * 128 + 9 * 256 * 192 + 25 * 256 * 96 == 1_089_536
    bottle = inception_cost(28, 28, 256, 128, (64, 192), (64, 96), 64)
    # 2 x 28x28x64x1x1x256 + 28x28x128x1x1x256 + 28x28x192x3x3x64 + 28x28x96x5x5x64
    #   + 28x28x64x1x1x256 (pool projection)
    parts = [12_845_056, 86_704_128, 12_845_056, 120_422_400, 12_845_056]
    assert bottle["macs"] == 25_690_112 + sum(parts) == 271_351_808
    # The lecture says 358M: that is 271.35M + 86.70M, the 3x3 conv counted twice. Wrong.
    assert bottle["macs"] + 86_704_128 == 358_055_936
    assert bottle["out_channels"] == 480
    with pytest.raises(ValueError, match="pair"):
        inception_cost(28, 28, 256, 128, 192, 96, 64)


def test_fire_cost_matches_the_notes_formulas():
    for c in (3, 64, 96, 128, 512):
        fire = fire_cost(c, 16, 64, 64)
        assert fire["params"] == 10240 + 16 * c             # 16*1*1*C + 64*1*1*16 + 64*3*3*16
        plain = conv_params(c, 16, 3, bias=False) + conv_params(16, 128, 3, bias=False)
        assert plain == 18432 + 144 * c                     # conv3-16 + conv3-128
        at = fire_cost(c, 16, 64, 64, h=13, w=13)
        assert at["macs"] == 13 * 13 * (10240 + 16 * c)     # HW(10240 + 16C)
        assert fire_cost(c, 16, 64, 64, bias=True)["params"] == 10240 + 16 * c + 16 + 64 + 64


# ------------------------------------------------------------------ exact per-layer counts
def test_exact_counts_conv_groups_dense_pool_bn():
    net = seq(nn.Conv2D(64, 3, padding=1, groups=4, in_channels=32),  # 0
              nn.BatchNorm(),                                          # 1
              nn.Activation("relu"),                                   # 2
              nn.MaxPool2D(2, 2),                                      # 3
              nn.AvgPool2D(3, 1, 1),                                   # 4
              nn.GlobalAvgPool2D(),                                    # 5
              nn.Dense(10))                                            # 6
    s = summary(net, (1, 32, 8, 8), print_table=False)
    r = rows_by_name(s)
    assert r["0"]["params"] == 64 * (32 // 4) * 9 + 64 == 4_672
    assert r["0"]["macs"] == 8 * 8 * 64 * 9 * (32 // 4) == 294_912
    assert r["0"]["activations"] == 64 * 8 * 8
    assert (r["1"]["params"], r["1"]["trainable"], r["1"]["non_trainable"]) == (256, 128, 128)
    assert r["1"]["macs"] == 2 * 64 * 8 * 8                  # 2 per element
    assert r["2"]["macs"] == 64 * 8 * 8 and r["2"]["activations"] == 0   # in place
    assert r["3"]["output_shape"] == [(1, 64, 4, 4)] and r["3"]["macs"] == 64 * 4 * 4 * 4
    assert r["4"]["macs"] == 64 * 4 * 4 * 9
    assert r["5"]["macs"] == 64 * 16
    assert r["6"]["params"] == 64 * 10 + 10 and r["6"]["macs"] == 640
    assert s.macs == sum(x["macs"] for x in s.rows if not x["container"])
    assert s.total_params == 4_672 + 256 + 650
    assert (s.trainable_params, s.non_trainable_params) == (4_672 + 128 + 650, 128)
    assert s.macs_by_kind == {"conv": 294_912, "dense": 640, "pool": 4096 + 9216 + 1024,
                              "norm": 8192, "elementwise": 4096}
    assert s.param_bytes == 4 * s.total_params


def test_alexnet_layer_table_of_the_lecture():
    net = get_model("alexnet")
    s = summary(net, (1, 3, 227, 227), print_table=False)
    # CONV1 [55x55x96] with 34,944 parameters (35K)
    conv1 = next(r for r in s.rows if r["type"] == "Conv2D")
    assert conv1["output_shape"] == [(1, 96, 55, 55)] and conv1["params"] == 34_944
    shapes = [r["output_shape"][0][1:] for r in s.rows
              if r["type"] in ("Conv2D", "MaxPool2D", "Dense")]
    assert shapes == [(96, 55, 55), (96, 27, 27), (256, 27, 27), (256, 13, 13),
                      (384, 13, 13), (384, 13, 13), (256, 13, 13), (256, 6, 6),
                      (4096,), (4096,), (1000,)]


def test_vgg16_table_of_the_lecture():
    s = summary(get_model("vgg16"), (1, 3, 224, 224), print_table=False)
    # (memory = activations, params without biases) row by row, as in CS231n's table
    table = [(224 * 224 * 64, 1_728), (224 * 224 * 64, 36_864), (112 * 112 * 64, 0),
             (112 * 112 * 128, 73_728), (112 * 112 * 128, 147_456), (56 * 56 * 128, 0),
             (56 * 56 * 256, 294_912), (56 * 56 * 256, 589_824), (56 * 56 * 256, 589_824),
             (28 * 28 * 256, 0),
             (28 * 28 * 512, 1_179_648), (28 * 28 * 512, 2_359_296), (28 * 28 * 512, 2_359_296),
             (14 * 14 * 512, 0),
             (14 * 14 * 512, 2_359_296), (14 * 14 * 512, 2_359_296), (14 * 14 * 512, 2_359_296),
             (7 * 7 * 512, 0),
             (4096, 102_760_448), (4096, 16_777_216), (1000, 4_096_000)]
    got = []
    for r in s.rows:
        if r["type"] in ("Conv2D", "MaxPool2D", "Dense"):
            out_channels = r["output_shape"][0][1]
            biases = out_channels if r["params"] else 0
            got.append((r["activations"], r["params"] - biases))
    assert got == table
    assert s.rows[0]["activations"] == 150_528                   # INPUT: 224x224x3 = 150K
    assert s.total_params == 138_357_544                         # "138M parameters": right
    assert sum(p for _, p in table) == 138_344_128               # the table's rows omit biases
    # "TOTAL memory: 24M * 4 bytes ~= 96MB / image": wrong. The rows add up to 15.2M values.
    assert s.activations == 150_528 + sum(a for a, _ in table) == 15_237_608
    assert s.activation_bytes_forward == 60_950_432              # 61 MB, not 96 MB
    assert s.activation_bytes_train == 2 * 60_950_432
    assert s.macs_by_kind["conv"] == 15_346_630_656
    assert s.macs_by_kind["dense"] == 102_760_448 + 16_777_216 + 4_096_000
    assert s.depth == 16


class NaiveInception(nn.HybridBlock):
    """The lecture's naive module: 1x1 128, 3x3 192, 5x5 96 and a 3x3 max pool, concatenated."""

    def __init__(self, **kwargs):
        super().__init__(**kwargs)
        with self.name_scope():
            self.b1 = nn.Conv2D(128, 1, activation="relu")
            self.b2 = nn.Conv2D(192, 3, padding=1, activation="relu")
            self.b3 = nn.Conv2D(96, 5, padding=2, activation="relu")
            self.b4 = nn.MaxPool2D(3, 1, 1)

    def hybrid_forward(self, F, x):
        return F.concat(self.b1(x), self.b2(x), self.b3(x), self.b4(x), dim=1)


def test_summary_of_real_inception_blocks_matches_the_formula():
    shape = (1, 256, 28, 28)
    naive = summary(NaiveInception(), shape, print_table=False)
    assert naive.output_shape == [(1, 672, 28, 28)]
    assert naive.macs_by_kind["conv"] == inception_cost(28, 28, 256, 128, 192, 96,
                                                        bottleneck=False)["macs"] == 854_196_224
    block = Inception(128, (64, 192), (64, 96), 64)
    s = summary(block, shape, print_table=False)
    cost = inception_cost(28, 28, 256, 128, (64, 192), (64, 96), 64)
    assert s.output_shape == [(1, 480, 28, 28)]
    assert s.macs_by_kind["conv"] == cost["macs"] == 271_351_808
    n_biases = 128 + 64 + 192 + 64 + 96 + 64
    assert s.total_params == cost["params"] + n_biases
    own = rows_by_name(s)["(own ops)"]                           # the concatenation
    assert own["type"] == "Concat" and own["macs"] == 0 and own["activations"] == 480 * 28 * 28


def test_summary_of_fire_block_matches_fire_cost():
    fire = Fire(96, 16, 64, 64)
    s = summary(fire, (1, 96, 55, 55), print_table=False)
    cost = fire_cost(96, 16, 64, 64, h=55, w=55, bias=True)
    assert s.total_params == cost["params"] == 10240 + 16 * 96 + 144
    assert s.macs_by_kind["conv"] == cost["macs"] == 55 * 55 * (10240 + 16 * 96)
    assert s.output_shape == [(1, 128, 55, 55)]


class KerasBasicBlock(nn.HybridBlock):
    """The notes' Keras BasicBlock (course-notes/000), in Gluon."""

    def __init__(self, channels, stride=1, **kwargs):
        super().__init__(**kwargs)
        with self.name_scope():
            self.conv1 = nn.Conv2D(channels, 3, stride, 1)
            self.bn1 = nn.BatchNorm()
            self.conv2 = nn.Conv2D(channels, 3, 1, 1)
            self.bn2 = nn.BatchNorm()
            self.identity = nn.Conv2D(channels, 1, stride) if stride != 1 else None

    def hybrid_forward(self, F, x):
        out = self.bn2(self.conv2(F.relu(self.bn1(self.conv1(x)))))
        shortcut = self.identity(x) if self.identity is not None else x
        return F.relu(out + shortcut)


def test_keras_resnet_summary_of_the_notes():
    # ResNet(layer_dims=[2, 2, 2, 2]) of course-notes/000: build_resblock makes 1 + blocks
    # BasicBlocks, and every stage uses layer_dims[0], so 3 blocks a stage.
    net = nn.HybridSequential()
    stem = seq(nn.Conv2D(64, 3), nn.BatchNorm(), nn.Activation("relu"), nn.MaxPool2D(2, 1, 0))
    net.add(stem)
    for channels, stride in ((64, 1), (128, 2), (256, 2), (512, 2)):
        net.add(seq(KerasBasicBlock(channels, stride), KerasBasicBlock(channels),
                    KerasBasicBlock(channels)))
    net.add(nn.GlobalAvgPool2D(), nn.Dense(100))
    # Keras' MaxPool2D(2, strides=1, padding='same') keeps 30x30; Gluon pads symmetrically, so
    # a 3x3 stride-1 pad-1 pool stands in: no parameters either, and the same output shape.
    stem._children["3"]._kwargs.update(kernel=(3, 3), pad=(1, 1))
    s = summary(net, (1, 3, 32, 32), print_table=False)
    r = rows_by_name(s)
    assert [r[str(i)]["params"] for i in range(7)] == [2048, 223104, 823168, 3284736,
                                                      13123072, 0, 51300]
    assert [r[str(i)]["output_shape"][0][1:] for i in range(5)] == [
        (64, 30, 30), (64, 30, 30), (128, 15, 15), (256, 8, 8), (512, 4, 4)]
    assert (s.total_params, s.trainable_params, s.non_trainable_params) == (
        17_507_428, 17_495_780, 11_648)
    # the block's own F ops: the ReLU between the convs, the residual add, the final ReLU
    own = r["1.0.(own ops)"]
    assert own["ops"] == "relu, elemwise_add" and own["macs"] == 3 * 64 * 30 * 30
    assert own["activations"] == 64 * 30 * 30                     # the sum; ReLUs in place


# ------------------------------------------------------------------ receptive field
def test_receptive_field_three_3x3_is_7_and_vgg16_pool5_is_212():
    net = seq(nn.Conv2D(8, 3, padding=1), nn.Conv2D(8, 3, padding=1), nn.Conv2D(8, 3, padding=1))
    rf = receptive_field(net, (1, 3, 16, 16))
    assert list(rf["rf"]) == [3, 5, 7]
    assert list(rf["jump"]) == [1, 1, 1] and list(rf["start"]) == [0, 0, 0]
    assert list(rf["kernel"]) == [3, 3, 3]
    one = receptive_field(seq(nn.Conv2D(8, 7, padding=3)), (1, 3, 16, 16))
    assert list(one["rf"]) == [7]                                 # same field as one 7x7
    vgg = receptive_field(get_model("vgg16"), (1, 3, 224, 224))
    pools = vgg[vgg["type"] == "MaxPool2D"]
    assert list(pools["rf"]) == [6, 16, 44, 100, 212]
    assert list(pools["jump"]) == [2, 4, 8, 16, 32]
    assert vgg[vgg["type"] == "Dense"]["rf"].eq("global").all()
    # dilation and stride: a 3x3 conv with dilation 2 spans 5 pixels
    dil = receptive_field(seq(nn.Conv2D(4, 3, strides=2, padding=1),
                              nn.Conv2D(4, 3, padding=2, dilation=2)), (1, 1, 16, 16))
    assert list(dil["rf"]) == [3, 3 + 4 * 2]
    assert list(dil["start"]) == [0, 0]


def test_receptive_field_through_branches_takes_the_largest():
    net = seq(nn.Conv2D(192, 3, padding=1), Inception(64, (96, 128), (16, 32), 32))
    rf = receptive_field(net, (1, 3, 28, 28)).set_index("name")
    assert rf.loc["1.p3_2", "rf"] == 3 + 4                         # the 5x5 branch
    assert rf.loc["1.p4_1", "rf"] == 3 + 2                         # the 3x3 pool branch
    assert rf.loc["1", "rf"] == 7 and rf.loc["1", "kernel"] == ""  # the block: the largest


# ------------------------------------------------------------------ behaviour
def test_hybridized_and_unhybridized_give_the_same_table_and_nothing_changes():
    net = get_model("resnet18", classes=10, in_channels=1, small_input=True)
    text_deferred = str(summary(net, (1, 1, 28, 28), print_table=False))
    net.initialize()
    x = nd.random.uniform(shape=(2, 1, 28, 28))
    y0 = net(x)
    mx.nd.waitall()
    before = {k: v.data().asnumpy().copy() for k, v in net.collect_params().items()}
    text_plain = str(summary(net, (1, 1, 28, 28), print_table=False))
    np.testing.assert_array_equal(net(x).asnumpy(), y0.asnumpy())
    net.hybridize()
    y1 = net(x).asnumpy()
    cached = net._cached_op
    text_hybrid = str(summary(net, (1, 1, 28, 28), print_table=False))
    assert text_plain == text_hybrid == text_deferred
    assert net._active and net._cached_op is cached               # still hybridized, same graph
    mx.nd.waitall()
    after = {k: v.data().asnumpy() for k, v in net.collect_params().items()}
    assert [k for k in before if not np.array_equal(before[k], after[k])] == []
    np.testing.assert_array_equal(net(x).asnumpy(), y1)


def test_text_is_deterministic_across_separately_built_nets(capsys):
    a = summary(get_model("densenet121", classes=10, in_channels=1, small_input=True),
                (1, 1, 28, 28))
    printed = capsys.readouterr().out
    b = summary(get_model("densenet121", classes=10, in_channels=1, small_input=True),
                (1, 1, 28, 28), print_table=False)
    assert printed.strip() == str(a) == str(b)
    assert "0x" not in printed and "densenet0" not in printed
    assert "features.1.0" in printed                               # attribute paths
    assert repr(a).startswith("<Summary of DenseNet:")
    assert a.df.shape[0] == len(a.rows)
    assert a.df.loc[~a.df.container, "macs"].sum() == a.macs
    assert a.df.loc[~a.df.container, "params"].sum() == a.total_params


def test_shapes_agree_with_a_real_forward():
    net = get_model("squeezenet1_1", classes=10, in_channels=1, small_input=True)
    net.initialize()
    s = summary(net, (1, 1, 28, 28), print_table=False)
    assert s.output_shape == [net(nd.zeros((1, 1, 28, 28))).shape]
    # the stages one by one
    x = nd.zeros((1, 1, 28, 28))
    r = rows_by_name(s)
    for i, stage in enumerate(net.features):
        x = stage(x)
        assert r[f"features.{i}"]["output_shape"] == [x.shape]


def test_auxiliary_heads_are_counted_as_not_called():
    net = get_model("googlenet", classes=10, in_channels=1, small_input=True)
    net.initialize()
    with mx.autograd.record():
        net(nd.zeros((2, 1, 28, 28)))                              # builds the aux heads
    s = summary(net, (1, 1, 28, 28), print_table=False)
    r = rows_by_name(s)
    assert r["aux1"]["type"] == "InceptionAux (not called)" and r["aux1"]["params"] > 0
    assert s.total_params == sum(p.data().size for p in net.collect_params().values())
    assert s.depth == 22                                           # "22 layers"


def test_clear_errors():
    class Plain(gluon.Block):
        def forward(self, x):
            return nd.relu(x)

    with pytest.raises(TypeError, match="HybridBlock"):
        summary(Plain(), (1, 3, 8, 8), print_table=False)
    with pytest.raises(InputShapeError, match="channel"):
        summary(get_model("lenet"), (1, 3, 28, 28), print_table=False)
    with pytest.raises(ValueError, match="cannot take an input"):
        summary(seq(nn.Conv2D(4, 5)), (1, 3, 3, 3), print_table=False)


def test_compare_and_plot():
    opts = dict(classes=10, in_channels=1, small_input=True)
    df = compare(["lenet", "nin"], (1, 1, 28, 28), options=opts)
    s = summary(get_model("nin", **opts), (1, 1, 28, 28), print_table=False)
    assert list(df.index) == ["lenet", "nin"]
    assert df.loc["nin", "params"] == s.total_params and df.loc["nin", "macs"] == s.macs
    assert df.loc["lenet", "params"] == 61_706
    assert set(["activation_MB", "depth", "param_MB"]) <= set(df.columns)
    nets = compare([seq(nn.Dense(3, in_units=4))], (1, 4), names=["tiny"])
    assert nets.loc["tiny", "params"] == 15
    fig = plot_comparison(df)
    assert all(ax.get_xscale() == "log" for ax in fig.axes)


# ------------------------------------------------------------------ the whole zoo
def _size(net, imagenet):
    if net.input_size is not None:
        return net.input_size
    side = 224 if imagenet else max(net.min_size, 28)
    return (side, side)


@pytest.mark.parametrize("name", list_models())
def test_every_model_small_configuration(name):
    net = get_model(name, classes=10, in_channels=1, small_input=True)
    s = summary(net, (1, 1) + tuple(_size(net, False)), print_table=False)
    assert s.total_params > 0 and s.macs > 0 and not s.uncounted_ops
    assert s.output_shape == [(1, 10)]


@pytest.mark.slow
@pytest.mark.parametrize("name", list_models())
def test_every_model_imagenet_configuration(name):
    net = get_model(name)
    s = summary(net, (1, net.in_channels) + tuple(_size(net, True)), print_table=False)
    assert s.total_params > 0 and s.macs > 0 and not s.uncounted_ops
    assert s.output_shape == [(1, model_options(name)["classes"])]
    receptive_field(net, (1, net.in_channels) + tuple(_size(net, True)))


def test_module_exports():
    for name in analysis.__all__:
        assert getattr(analysis, name).__doc__


# ------------------------------------------------------------------ rows, Summary.row, the trace
def test_summary_row_looks_up_one_block_path():
    net = get_model("alexnet")
    s = summary(net, (1, 3, 227, 227), print_table=False)
    fc8 = s.row("output.4")
    assert fc8.params == fc8["params"] == 4_097_000 and fc8.type == "Dense"
    assert fc8.block is net.output[4] and fc8.output_shape == [(1, 1000)]
    head = s.row("output")                                   # FC6-FC8: a container's totals
    assert head.container and head.params == 37_752_832 + 16_781_312 + 4_097_000
    assert s.row("input").activations == 3 * 227 * 227 and s.row("input").block is None
    assert dict(fc8) == fc8.as_dict() and set(fc8.keys()) == set(s.df.columns)
    assert s.df.set_index("name").loc["output.4", "params"] == fc8.params
    with pytest.raises(ValueError, match="no row 'outptu'.*did you mean output"):
        s.row("outptu")


def test_trace_attributes_operators_to_calls():
    net = seq(nn.Conv2D(4, 3, in_channels=1, activation="relu"), nn.Flatten(), nn.Dense(2))
    tr = analysis.trace(net, (1, 28, 28))
    assert tr.input_shape == (1, 1, 28, 28)
    assert [c.path for c in tr.calls] == ["0", "1", "2"]
    conv = tr.calls[0]
    assert [tr.nodes[k]["op"] for k in conv.ops] == ["Convolution", "Activation"]  # merged
    assert tr.node_shape(tr.output_node(conv)) == (1, 4, 26, 26)
    assert analysis.summarise(tr).macs == summary(net, (1, 28, 28), print_table=False).macs
