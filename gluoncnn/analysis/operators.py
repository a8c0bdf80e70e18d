"""What one MXNet operator costs: its kind, its multiply-adds, whether it stores activations.

The conventions are those of the package docstring (:mod:`gluoncnn.analysis`).
"""
import ast

import numpy as np

_ELEMENTWISE = {
    "Activation", "LeakyReLU", "relu", "sigmoid", "tanh", "softsign", "softrelu", "log_sigmoid",
    "mish", "erf", "exp", "log", "sqrt", "rsqrt", "square", "abs", "negative", "reciprocal",
    "clip", "hard_sigmoid", "softmax", "log_softmax", "SoftmaxActivation", "SoftmaxOutput",
    "elemwise_add", "elemwise_sub", "elemwise_mul", "elemwise_div", "_plus", "_Plus", "_add",
    "_minus", "_Minus", "_sub", "_mul", "_Mul", "_div", "_Div", "_grad_add", "_maximum",
    "_Maximum", "_minimum", "_Minimum", "_power", "_Power", "broadcast_add", "broadcast_plus",
    "broadcast_sub", "broadcast_minus", "broadcast_mul", "broadcast_div", "broadcast_maximum",
    "broadcast_minimum", "broadcast_power", "_plus_scalar", "_PlusScalar", "_minus_scalar",
    "_MinusScalar", "_rminus_scalar", "_RMinusScalar", "_mul_scalar", "_MulScalar",
    "_div_scalar", "_DivScalar", "_rdiv_scalar", "_RDivScalar", "_maximum_scalar",
    "_MaximumScalar", "_minimum_scalar", "_MinimumScalar", "_power_scalar", "_PowerScalar",
    "where",
}
# Operators that run in place or are views: they add no activation memory.
IN_PLACE = {
    "Activation", "LeakyReLU", "relu", "sigmoid", "tanh", "softsign", "softrelu", "clip",
    "hard_sigmoid", "Dropout", "Flatten", "flatten", "Reshape", "reshape", "reshape_like",
    "expand_dims", "squeeze", "_copy", "identity", "BlockGrad", "stop_gradient",
}
_DATA_MOVEMENT = {
    "Concat", "concat", "Flatten", "flatten", "Reshape", "reshape", "reshape_like", "Dropout",
    "expand_dims", "squeeze", "_copy", "identity", "BlockGrad", "stop_gradient", "transpose",
    "SwapAxis", "swapaxes", "slice", "slice_axis", "slice_like", "crop", "Crop", "SliceChannel",
    "split", "stack", "tile", "repeat", "Pad", "pad", "Cast", "cast", "zeros_like", "ones_like",
    "_zeros", "_ones", "_full", "Embedding", "take", "pick", "one_hot", "shape_array",
    "size_array", "_contrib_quantize_v2", "UpSampling",
}
_NORM = {"BatchNorm", "_contrib_SyncBatchNorm", "InstanceNorm", "LayerNorm", "GroupNorm",
         "L2Normalization"}
_REDUCE = {"mean", "sum", "max", "min", "prod", "nansum", "norm"}
KINDS = ("conv", "dense", "pool", "norm", "elementwise")


def attr(attrs, key, default=None):
    v = attrs.get(key)
    if v is None:
        return default
    try:
        return ast.literal_eval(v)
    except (ValueError, SyntaxError):
        return v


def prod(shape):
    return int(np.prod(shape, dtype=np.int64)) if shape else 1


def op_cost(op, attrs, in_shapes, out_shape):
    """(kind, MACs) of one operator for its (batched) input and output shapes."""
    out = prod(out_shape)
    if op == "Convolution":
        k = prod(attr(attrs, "kernel"))
        groups = int(attr(attrs, "num_group", 1))
        return "conv", out * k * (in_shapes[0][1] // groups)
    if op == "Deconvolution":
        k = prod(attr(attrs, "kernel"))
        groups = int(attr(attrs, "num_group", 1))
        return "conv", prod(in_shapes[0]) * k * int(attr(attrs, "num_filter")) // groups
    if op == "FullyConnected":
        flatten = attr(attrs, "flatten", True) in (True, "True", "true", 1)
        n_in = prod(in_shapes[0][1:]) if flatten else in_shapes[0][-1]
        return "dense", out * n_in
    if op == "Pooling":
        if attr(attrs, "global_pool", False) in (True, "True", "true", 1):
            return "pool", out * prod(in_shapes[0][2:])
        return "pool", out * prod(attr(attrs, "kernel"))
    if op in _NORM:
        return "norm", 2 * out
    if op == "LRN":
        return "norm", out * (int(attr(attrs, "nsize", 5)) + 2)
    if op in ("add_n", "ElementWiseSum"):
        return "elementwise", out * max(len(in_shapes) - 1, 0)
    if op in _ELEMENTWISE:
        return "elementwise", out
    if op in _REDUCE:
        return "pool", prod(in_shapes[0]) if in_shapes else 0
    if op in _DATA_MOVEMENT:
        return None, 0
    return "unknown", 0




WEIGHTED_OPS = ("Convolution", "Deconvolution", "FullyConnected")
"""The operators that count in a net's depth (convolution and dense layers)."""
WINDOW_OPS = ("Convolution", "Pooling", "Deconvolution")
"""The operators with a sliding window (kernel, stride, padding, dilation)."""


def is_global_pool(attrs) -> bool:
    """True for a global pooling operator's attributes."""
    return attr(attrs, "global_pool", False) in (True, "True", "true", 1)
