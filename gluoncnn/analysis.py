"""The numbers a CNN course computes by hand, computed for any Gluon model.

- :func:`summary` -- a Keras-style table of a net: one row per layer, nested blocks indented
  (Inception branches, residual bodies, dense layers, Fire modules), with output shape,
  parameters, activations and multiply-adds, and the totals.
- :func:`receptive_field` -- receptive field size, jump and start of every layer.
- :func:`compare` / :func:`plot_comparison` -- parameters, multiply-adds and activation memory
  of several models side by side (the "which architecture" chapter).
- The hand formulas as functions a chapter can show: :func:`conv_output_size`,
  :func:`conv_params`, :func:`conv_macs`, :func:`dense_params`, :func:`dense_macs`,
  :func:`inception_cost`, :func:`fire_cost`.

How the net is read
-------------------
:func:`summary` never runs the net and never touches its parameters: it calls the net once on a
symbolic input (``mx.sym.var('data')``) with forward pre-hooks/hooks on every block, then lets
MXNet infer every shape (``Symbol.infer_shape``) for ``input_shape``. Every operator of the
resulting graph is attributed to the block whose ``forward`` created it, so operators written in
a custom ``hybrid_forward`` (the residual addition, the Inception concatenation, an
``F.Activation``) are counted exactly, on an ``(own ops)`` row under their block. It works the
same on hybridized and unhybridized nets, on initialised nets and on nets whose parameters are
still waiting for deferred initialisation; the hybridization state, the cached graph and the
parameters are left as they were. The graph is the inference graph (``autograd`` not
recording): dropout is the identity and auxiliary heads used only in training are not called
(their parameters are still counted, on a ``(not called)`` row). Only ``HybridBlock`` nets (and
``Sequential`` containers of them) can be read; a plain ``Block`` that computes with NDArrays
raises a clear error.

Conventions (the same everywhere in this module)
------------------------------------------------
- **Names** are attribute paths inside the net (``features.3.b2.0``), like torchinfo and
  torchvision print them; they do not depend on Gluon's global name counter, so the text is
  the same on every run.
- **Multiply-adds (MACs)**: one multiply followed by one add counts 1. Per image:

  * convolution: ``out_h * out_w * c_out * (k_h * k_w * c_in / groups)``; the bias additions are
    not counted (as in the CS231n lecture); transposed convolution: ``in_h * in_w * c_in *
    k_h * k_w * c_out / groups``;
  * dense (fully connected): ``in_features * out_features`` (bias not counted);
  * pooling: one operation (comparison or addition) per window element per output value,
    ``out_elements * k_h * k_w``; global pooling: ``out_elements * in_h * in_w``;
  * batch normalisation (inference): 2 per element, ``(x - mean) * (1/std)`` then ``* gamma +
    beta``; the same for instance/layer/group normalisation;
  * local response normalisation (AlexNet): ``nsize + 2`` per element (the window's sum of
    squares, the scaling and the division);
  * element-wise operations -- activation functions of every kind, softmax, residual addition,
    scalar arithmetic: 1 per output element (``add_n`` of n inputs: n - 1);
  * data movement -- concatenation, reshape/flatten, slicing, dropout at inference: 0.

  ``Summary.macs_by_kind`` splits the total into ``conv``, ``dense``, ``pool``, ``norm``,
  ``elementwise``; the lecture's "ops" count only ``conv`` (and ``dense``). Operators this module
  does not know are counted 0 and listed in ``Summary.uncounted_ops``.
- **Memory**: float32, 4 bytes a value (``dtype`` changes it); MB = 10**6 bytes, as in the
  lecture's "24M * 4 bytes ~= 96MB". Activation memory per image (forward) = the input image +
  every tensor an operator creates: convolution, dense, pooling, normalisation, concatenation and
  addition outputs count; element-wise activation functions, dropout and reshapes count 0
  because they run in place or are views (so ``Conv2D(activation='relu')`` counts its output
  once, as the CS231n VGG16 table does for CONV3-64). Forward+backward = 2 x forward: each stored
  activation gets a gradient of the same size. Parameter memory is ``total_params * 4`` bytes
  (training adds as much again for the gradients, plus the optimizer's state).
- **Parameters** are counted once each, however many blocks share them; trainable means
  ``grad_req != 'null'`` (BatchNorm's running mean and variance are not trainable).
"""
import ast
import itertools
import json
import time
import warnings

import numpy as np

__all__ = ["summary", "Summary", "receptive_field", "compare", "plot_comparison",
           "conv_output_size", "conv_params", "conv_macs", "dense_params", "dense_macs",
           "inception_cost", "fire_cost", "throughput"]


# --------------------------------------------------------------------------------------------
# The hand formulas
# --------------------------------------------------------------------------------------------
def _pair(v, what):
    if isinstance(v, (tuple, list)):
        if len(v) != 2:
            raise ValueError(f"{what} must be an int or a pair (height, width), got {v!r}")
        return int(v[0]), int(v[1])
    return int(v), int(v)


def conv_output_size(w, f, p=0, s=1, dilation=1, ceil_mode=False, strict=False):
    """Output width of a convolution or pooling window: ``(W - F + 2P) / S + 1``.

    ``w`` input size, ``f`` filter (window) size, ``p`` zero padding on each side, ``s`` stride,
    ``dilation`` spacing of the filter taps (the filter then spans ``dilation * (f - 1) + 1``
    pixels). The division is rounded down, as every framework does (``ceil_mode=True`` rounds up,
    MXNet's ``pooling_convention='full'``). ``strict=True`` raises when the filter does not tile
    the input exactly, the lecture's "doesn't fit" case.

    >>> conv_output_size(227, 11, p=0, s=4)     # AlexNet CONV1
    55
    >>> conv_output_size(224, 3, p=1, s=1)      # VGG: 3x3, pad 1 keeps the size
    224
    """
    span = dilation * (f - 1) + 1
    room = w + 2 * p - span
    if room < 0:
        raise ValueError(f"a {f}x{f} window (dilation {dilation}) does not fit an input of size "
                         f"{w} with padding {p}: it spans {span} pixels but only {w + 2 * p} "
                         f"are there")
    if strict and room % s:
        raise ValueError(f"(W - F + 2P) / S + 1 = ({w} - {span} + 2*{p}) / {s} + 1 = "
                         f"{room / s + 1:g} is not an integer: the filter does not fit; change "
                         f"the padding or the stride")
    return (-(-room // s) if ceil_mode else room // s) + 1


def conv_params(c_in, c_out, k, groups=1, bias=True):
    """Parameters of a convolution: ``c_out * (c_in / groups) * k_h * k_w`` weights (+ ``c_out``
    biases).

    >>> conv_params(3, 96, 11)                  # AlexNet CONV1: 11*11*3*96 + 96
    34944
    >>> conv_params(3, 96, 11, bias=False)      # the lecture's count, weights only
    34848
    """
    kh, kw = _pair(k, "k")
    if c_in % groups or c_out % groups:
        raise ValueError(f"groups={groups} must divide both c_in={c_in} and c_out={c_out}")
    return c_out * (c_in // groups) * kh * kw + (c_out if bias else 0)


def conv_macs(h_in, w_in, c_in, c_out, k, s=1, p=0, groups=1, dilation=1):
    """Multiply-adds of a convolution on an ``h_in x w_in x c_in`` input:
    ``out_h * out_w * c_out * (k_h * k_w * c_in / groups)`` (bias additions not counted).

    >>> conv_macs(28, 28, 256, 192, 3, p=1)     # Inception's 3x3 branch, naive: 28x28x192x3x3x256
    346816512
    """
    kh, kw = _pair(k, "k")
    sh, sw = _pair(s, "s")
    ph, pw = _pair(p, "p")
    if c_in % groups or c_out % groups:
        raise ValueError(f"groups={groups} must divide both c_in={c_in} and c_out={c_out}")
    oh = conv_output_size(h_in, kh, ph, sh, dilation)
    ow = conv_output_size(w_in, kw, pw, sw, dilation)
    return oh * ow * c_out * kh * kw * (c_in // groups)


def dense_params(n_in, n_out, bias=True):
    """Parameters of a fully connected layer: ``n_in * n_out`` (+ ``n_out`` biases).

    >>> dense_params(7 * 7 * 512, 4096, bias=False)   # VGG16 FC6: 102,760,448
    102760448
    """
    return n_in * n_out + (n_out if bias else 0)


def dense_macs(n_in, n_out):
    """Multiply-adds of a fully connected layer for one input: ``n_in * n_out``."""
    return n_in * n_out


def _branch(name, h, w, c_in, c_out, k):
    return {"branch": name, "layer": f"{k}x{k} conv, {c_out}",
            "shape": f"{h}x{w}x{c_out}x{k}x{k}x{c_in}",
            "macs": conv_macs(h, w, c_in, c_out, k, p=k // 2),
            "params": conv_params(c_in, c_out, k, bias=False)}


def inception_cost(h, w, c_in, c1, c2, c3, c4=None, bottleneck=True):
    """Convolution multiply-adds and parameters of an Inception module on an ``h x w x c_in`` input.

    Branches, as in GoogLeNet and d2l's ``Inception(c1, c2, c3, c4)``: ``c1`` 1x1 convs; ``c2 =
    (r3, n3)`` a 1x1 reduction to ``r3`` channels then ``n3`` 3x3 convs; ``c3 = (r5, n5)`` the
    same with 5x5; ``c4`` 1x1 convs after the 3x3 max pool. With ``bottleneck=False`` (the naive
    module) the 1x1 reductions and the pool projection are left out (``c2``/``c3`` may then be
    plain ints, ``c4`` is ignored): the 3x3 and 5x5 convs see all ``c_in`` channels and the pool
    passes them through.

    The lecture's convention: only convolution multiply-adds (``28x28x192x3x3x256`` ...), no
    biases, no pooling. All convs are stride 1 with "same" padding. Returns a dict: ``macs``,
    ``params``, ``out_channels`` and ``branches`` (one dict per convolution, with the product
    written out as in the lecture).

    >>> inception_cost(28, 28, 256, 128, 192, 96, bottleneck=False)['macs']          # 854M
    854196224
    >>> inception_cost(28, 28, 256, 128, (64, 192), (64, 96), 64)['macs']            # 271M
    271351808
    """
    def out_of(c):
        return c[1] if isinstance(c, (tuple, list)) else c

    rows = [_branch("1x1", h, w, c_in, c1, 1)]
    if bottleneck:
        for c, name in ((c2, "3x3"), (c3, "5x5")):
            if not isinstance(c, (tuple, list)) or len(c) != 2:
                raise ValueError(f"with bottleneck=True the {name} branch takes a pair "
                                 f"(1x1 reduction channels, {name} channels), got {c!r}")
        if c4 is None:
            raise ValueError("with bottleneck=True, c4 (the 1x1 convs after the pool) is needed")
        rows.append(_branch("3x3 reduce", h, w, c_in, c2[0], 1))
        rows.append(_branch("3x3", h, w, c2[0], c2[1], 3))
        rows.append(_branch("5x5 reduce", h, w, c_in, c3[0], 1))
        rows.append(_branch("5x5", h, w, c3[0], c3[1], 5))
        rows.append(_branch("pool proj", h, w, c_in, c4, 1))
        out_channels = c1 + c2[1] + c3[1] + c4
    else:
        rows.append(_branch("3x3", h, w, c_in, out_of(c2), 3))
        rows.append(_branch("5x5", h, w, c_in, out_of(c3), 5))
        out_channels = c1 + out_of(c2) + out_of(c3) + c_in
    return {"macs": sum(r["macs"] for r in rows), "params": sum(r["params"] for r in rows),
            "out_channels": out_channels, "output_shape": (h, w, out_channels), "branches": rows}


def fire_cost(c_in, s1x1, e1x1, e3x3, h=1, w=1, bias=False):
    """Parameters and multiply-adds of SqueezeNet's Fire module on an ``h x w x c_in`` input.

    A 1x1 squeeze to ``s1x1`` channels, then ``e1x1`` 1x1 and ``e3x3`` 3x3 (pad 1) expand convs
    concatenated: ``params = s1x1*c_in + e1x1*s1x1 + 9*e3x3*s1x1`` weights (+ ``s1x1 + e1x1 +
    e3x3`` biases with ``bias=True``); ``macs = h * w * (the weights)``, since every conv keeps
    the size (the concatenation is free). The notes' formulas count weights only: for
    ``fire_cost(C, 16, 64, 64)`` they are ``10240 + 16C`` parameters and ``HW(10240 + 16C)``
    multiply-adds, against ``18432 + 144C`` for conv3-16 + conv3-128 (``conv_params``).

    >>> fire_cost(96, 16, 64, 64)['params']        # 10240 + 16 * 96
    11776
    """
    rows = [{"layer": "squeeze 1x1", "params": conv_params(c_in, s1x1, 1, bias=bias)},
            {"layer": "expand 1x1", "params": conv_params(s1x1, e1x1, 1, bias=bias)},
            {"layer": "expand 3x3", "params": conv_params(s1x1, e3x3, 3, bias=bias)}]
    rows[0]["macs"] = conv_macs(h, w, c_in, s1x1, 1)
    rows[1]["macs"] = conv_macs(h, w, s1x1, e1x1, 1)
    rows[2]["macs"] = conv_macs(h, w, s1x1, e3x3, 3, p=1)
    return {"params": sum(r["params"] for r in rows), "macs": sum(r["macs"] for r in rows),
            "out_channels": e1x1 + e3x3, "layers": rows}


# --------------------------------------------------------------------------------------------
# Operator costs
# --------------------------------------------------------------------------------------------
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
_IN_PLACE = {
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


def _attr(attrs, key, default=None):
    v = attrs.get(key)
    if v is None:
        return default
    try:
        return ast.literal_eval(v)
    except (ValueError, SyntaxError):
        return v


def _prod(shape):
    return int(np.prod(shape, dtype=np.int64)) if shape else 1


def _op_cost(op, attrs, in_shapes, out_shape):
    """(kind, MACs) of one operator for its (batched) input and output shapes."""
    out = _prod(out_shape)
    if op == "Convolution":
        k = _prod(_attr(attrs, "kernel"))
        groups = int(_attr(attrs, "num_group", 1))
        return "conv", out * k * (in_shapes[0][1] // groups)
    if op == "Deconvolution":
        k = _prod(_attr(attrs, "kernel"))
        groups = int(_attr(attrs, "num_group", 1))
        return "conv", _prod(in_shapes[0]) * k * int(_attr(attrs, "num_filter")) // groups
    if op == "FullyConnected":
        flatten = _attr(attrs, "flatten", True) in (True, "True", "true", 1)
        n_in = _prod(in_shapes[0][1:]) if flatten else in_shapes[0][-1]
        return "dense", out * n_in
    if op == "Pooling":
        if _attr(attrs, "global_pool", False) in (True, "True", "true", 1):
            return "pool", out * _prod(in_shapes[0][2:])
        return "pool", out * _prod(_attr(attrs, "kernel"))
    if op in _NORM:
        return "norm", 2 * out
    if op == "LRN":
        return "norm", out * (int(_attr(attrs, "nsize", 5)) + 2)
    if op in ("add_n", "ElementWiseSum"):
        return "elementwise", out * max(len(in_shapes) - 1, 0)
    if op in _ELEMENTWISE:
        return "elementwise", out
    if op in _REDUCE:
        return "pool", _prod(in_shapes[0]) if in_shapes else 0
    if op in _DATA_MOVEMENT:
        return None, 0
    return "unknown", 0


def _fmt_int(n):
    return f"{int(n):,}"


def _fmt_si(n, unit=""):
    for factor, prefix in ((1e12, "T"), (1e9, "G"), (1e6, "M"), (1e3, "K")):
        if abs(n) >= factor:
            return f"{n / factor:.2f} {prefix}{unit}"
    return f"{n:g} {unit}".rstrip()


def _fmt_bytes(n):
    return f"{n / 1e6:,.2f} MB"


def _fmt_shape(shapes):
    if not shapes:
        return "-"
    if len(shapes) == 1:
        return str(tuple(shapes[0]))
    return "[" + ", ".join(str(tuple(s)) for s in shapes) + "]"


# --------------------------------------------------------------------------------------------
# Reading a net: symbolic forward with hooks, operators attributed to blocks
# --------------------------------------------------------------------------------------------
class _Call:
    """One call of one block during the symbolic forward (a row of the summary)."""

    def __init__(self, block, path, depth, parent):
        self.block, self.path, self.depth, self.parent = block, path, depth, parent
        self.children = []
        self.ops = []            # graph node ids this call's own forward created
        self.inputs, self.outputs = [], []
        self.repeat = False      # a block called a second time (shared weights)
        self.absorbed = []       # sub-blocks of a built-in layer (Dense's ``act``), merged in


def _block_paths(net):
    paths = {id(net): ""}
    order = [net]

    def walk(block, prefix):
        for name, child in block._children.items():
            if id(child) in paths:
                continue
            path = f"{prefix}.{name}" if prefix else str(name)
            paths[id(child)] = path
            order.append(child)
            walk(child, path)

    walk(net, "")
    return paths, order


def _symbol_names(obj):
    """Output names of a Symbol, or of a (nested) tuple/list of Symbols."""
    from mxnet import symbol
    if isinstance(obj, symbol.Symbol):
        return list(obj.list_outputs())
    if isinstance(obj, (list, tuple)):
        return [n for o in obj for n in _symbol_names(o)]
    return []


def _trace(net, input_shape):
    """Call ``net`` on a symbol with hooks on every block; return calls, the graph, shapes."""
    import mxnet as mx
    from mxnet import name as mx_name
    from mxnet import symbol

    paths, blocks = _block_paths(net)
    root = _Call(net, "", -1, None)
    calls, stack, owner = [], [root], {}
    seen_calls = set()

    def pre(block, args):
        parent = stack[-1]
        call = _Call(block, paths.get(id(block), type(block).__name__), parent.depth + 1, parent)
        call.repeat = id(block) in seen_calls
        seen_calls.add(id(block))
        call.inputs = _symbol_names(args)
        parent.children.append(call)
        calls.append(call)
        stack.append(call)

    def post(block, args, out):
        call = stack.pop()
        call.outputs = _symbol_names(out)

    counter = itertools.count()
    original_get = mx_name.NameManager.get

    def tagged_get(self, name, hint):
        # Every operator gets a unique name that says which call created it.
        uid = next(counter)
        owner[uid] = stack[-1]
        return f"{original_get(self, name, hint)}@{uid}@"

    handles = []
    for block in blocks[1:]:
        handles.append(block.register_forward_pre_hook(pre))
        handles.append(block.register_forward_hook(post))
    mx_name.NameManager.get = tagged_get
    try:
        with mx_name.NameManager():
            out = net(mx.sym.var("data"))
    except Exception as err:  # a block that only runs on NDArrays
        raise TypeError(
            f"summary() reads the net's graph with a symbolic input, and "
            f"{type(net).__name__} could not build one ({type(err).__name__}: "
            f"{str(err).splitlines()[0] if str(err) else ''}). Every block must be a "
            f"HybridBlock whose hybrid_forward uses F (not nd) operators") from err
    finally:
        mx_name.NameManager.get = original_get
        for h in handles:
            h.detach()
    if isinstance(out, (list, tuple)):
        out = symbol.Group(list(_flatten_symbols(out)))
    internals = out.get_internals()
    try:
        with warnings.catch_warnings():
            warnings.simplefilter("ignore")
            arg_shapes, out_shapes, aux_shapes = internals.infer_shape(data=tuple(input_shape))
    except Exception as err:
        raise ValueError(f"{type(net).__name__} cannot take an input of shape "
                         f"{tuple(input_shape)}: {str(err).splitlines()[0]}") from err
    if out_shapes is None or any(s is None for s in out_shapes):
        raise ValueError(f"could not infer every shape of {type(net).__name__} for input "
                         f"{tuple(input_shape)}")
    shape_of = dict(zip(internals.list_outputs(), (tuple(s) for s in out_shapes)))
    var_shape = dict(zip(internals.list_arguments(), (tuple(s) for s in arg_shapes)))
    var_shape.update(zip(internals.list_auxiliary_states(), (tuple(s) for s in aux_shapes)))
    graph = json.loads(out.tojson())
    return root, calls, owner, graph, shape_of, var_shape, out.list_outputs()


def _flatten_symbols(obj):
    if isinstance(obj, (list, tuple)):
        for o in obj:
            yield from _flatten_symbols(o)
    else:
        yield obj


def _node_entries(graph, shape_of):
    """Shapes of every node's outputs: ``{(node_id, index): shape}`` and the entry names."""
    entries, names = {}, {}
    ordered = list(shape_of.keys())
    p = 0
    for k, node in enumerate(graph["nodes"]):
        name = node["name"]
        if node["op"] == "null":
            while p < len(ordered) and ordered[p] != name:
                p += 1
            if p < len(ordered):
                entries[(k, 0)] = shape_of[ordered[p]]
                names[(k, 0)] = ordered[p]
                p += 1
            continue
        i = 0
        while p < len(ordered) and ordered[p].startswith(name + "_"):
            entries[(k, i)] = shape_of[ordered[p]]
            names[(k, i)] = ordered[p]
            i += 1
            p += 1
    return entries, names


def _node_uid(name):
    parts = name.rsplit("@", 2)
    if len(parts) == 3 and parts[2] == "" and parts[1].isdigit():
        return int(parts[1])
    return None


def _is_builtin_layer(block):
    """A layer from ``mxnet.gluon.nn`` (not a container): shown as one row."""
    from mxnet.gluon import nn
    return (type(block).__module__.startswith("mxnet.gluon.nn")
            and not isinstance(block, (nn.Sequential, nn.HybridSequential)))


def _type_name(block):
    name = type(block).__name__
    func = getattr(block, "_func_name", None)
    if func and name in ("HybridLambda", "Lambda"):
        return f"{name}({func})"
    return name


class Summary:
    """The table :func:`summary` prints, as data.

    Attributes: ``rows`` (list of dicts, one per layer, in call order), ``df`` (the same as a
    pandas DataFrame), ``total_params``, ``trainable_params``, ``non_trainable_params``,
    ``param_bytes``, ``activations`` (values per image, input included),
    ``activation_bytes_forward``, ``activation_bytes_train`` (forward+backward), ``macs`` (per
    image), ``macs_by_kind`` (``conv``, ``dense``, ``pool``, ``norm``, ``elementwise``),
    ``depth`` (convolution and dense layers on the longest path), ``input_shape``,
    ``output_shape``, ``uncounted_ops``.

    Row keys: ``name`` (attribute path; ``(own ops)`` rows hold the operators a container's own
    ``hybrid_forward`` runs, e.g. the residual addition), ``type``, ``depth`` (nesting level),
    ``container`` (True for a block with children: its ``params``/``macs``/``act_bytes`` are the
    totals of its contents, so sum the rows with ``container == False`` to get the net's totals),
    ``output_shape``, ``params``, ``trainable``, ``non_trainable``, ``activations`` (values in
    the output, per image), ``act_bytes`` (activation memory the row's operators add, per image),
    ``macs`` (per image), ``ops`` (the MXNet operators of the row).
    """

    def __init__(self, name, input_shape, rows, totals):
        self.name = name
        self.input_shape = tuple(input_shape)
        self.rows = rows
        for k, v in totals.items():
            setattr(self, k, v)
        self._df = None

    @property
    def df(self):
        """The rows as a pandas DataFrame (one row per layer)."""
        if self._df is None:
            import pandas as pd
            cols = ["name", "type", "depth", "container", "output_shape", "params", "trainable",
                    "non_trainable", "activations", "act_bytes", "macs", "ops"]
            self._df = pd.DataFrame([{c: r[c] for c in cols} for r in self.rows], columns=cols)
        return self._df

    def totals(self):
        """The totals as a dict."""
        keys = ["total_params", "trainable_params", "non_trainable_params", "param_bytes",
                "activations", "activation_bytes_forward", "activation_bytes_train", "macs",
                "depth"]
        out = {k: getattr(self, k) for k in keys}
        out.update({f"macs_{k}": v for k, v in self.macs_by_kind.items()})
        return out

    def to_text(self, max_depth=None):
        """The Keras-style table; ``max_depth=0`` shows only the top-level stages."""
        rows = [r for r in self.rows if max_depth is None or r["depth"] <= max_depth]
        head = ["Layer (type)", "Output shape", "Param #", "Activations", "MACs"]
        body = []
        for r in rows:
            label = "  " * r["depth"] + (r["name"] + f" ({r['type']})" if r["type"] else r["name"])
            body.append([label, _fmt_shape(r["output_shape"]), _fmt_int(r["params"]),
                         _fmt_int(r["activations"]), _fmt_int(r["macs"])])
        widths = [max(len(head[i]), *(len(b[i]) for b in body)) for i in range(len(head))]
        widths[0] = max(widths[0], 28)

        def line(cells):
            return "  ".join([cells[0].ljust(widths[0]), cells[1].ljust(widths[1])]
                             + [c.rjust(w) for c, w in zip(cells[2:], widths[2:])])

        width = sum(widths) + 2 * (len(widths) - 1)
        kinds = ", ".join(f"{k} {_fmt_si(v)}" for k, v in self.macs_by_kind.items() if v)
        out = [f'Model: "{self.name}"  input {self.input_shape}, float32 '
               f'({self.dtype_bytes} bytes a value)', "=" * width, line(head), "=" * width]
        out += [line(b) for b in body]
        out += ["=" * width,
                f"Total params: {_fmt_int(self.total_params)} ({_fmt_bytes(self.param_bytes)})",
                f"Trainable params: {_fmt_int(self.trainable_params)}",
                f"Non-trainable params: {_fmt_int(self.non_trainable_params)}",
                f"Multiply-adds per image: {_fmt_int(self.macs)} ({_fmt_si(self.macs)})"
                + (f" = {kinds}" if kinds else ""),
                f"Activations per image: {_fmt_int(self.activations)} values incl. the input: "
                f"{_fmt_bytes(self.activation_bytes_forward)} forward, "
                f"{_fmt_bytes(self.activation_bytes_train)} forward+backward",
                f"Depth (conv + dense layers on the longest path): {self.depth}"]
        if self.uncounted_ops:
            out.append("Not counted (unknown operators): " + ", ".join(self.uncounted_ops))
        if self.unknown_params:
            out.append("Not counted (shape unknown until the net is initialised and run): "
                       + ", ".join(self.unknown_params))
        out.append("-" * width)
        out.append("Activations: values a layer stores per image (in-place activation functions, "
                   "dropout and reshapes store none).")
        out.append("Container rows show the totals of their contents; MB = 10^6 bytes.")
        return "\n".join(out)

    def __str__(self):
        return self.to_text()

    def __repr__(self):
        return (f"<Summary of {self.name}: {_fmt_int(self.total_params)} params, "
                f"{_fmt_si(self.macs)} MACs, {_fmt_bytes(self.activation_bytes_forward)} "
                f"activations per image (forward)>")

    def print(self, max_depth=None):
        print(self.to_text(max_depth))


def _normalise_shape(net, input_shape):
    shape = tuple(int(s) for s in input_shape)
    if len(shape) == 3:
        shape = (1,) + shape
    if hasattr(net, "check_input") and len(shape) == 4:
        net.check_input(shape)
    if any(s <= 0 for s in shape):
        raise ValueError(f"input_shape must hold positive sizes, got {tuple(input_shape)}")
    return shape


def _analyse(net, input_shape, dtype_bytes=4):
    shape = _normalise_shape(net, input_shape)
    batch = shape[0]
    root, calls, owner, graph, shape_of, var_shape, heads = _trace(net, shape)
    entries, entry_names = _node_entries(graph, shape_of)
    nodes = graph["nodes"]

    # Operators -> calls
    node_cost = {}
    uncounted = set()
    for k, node in enumerate(nodes):
        if node["op"] == "null":
            continue
        uid = _node_uid(node["name"])
        call = owner.get(uid, root)
        call.ops.append(k)
        in_shapes = [entries.get((i, j)) for i, j, *_ in node["inputs"]]
        in_shapes = [s for s in in_shapes if s is not None]
        kind, macs = _op_cost(node["op"], node.get("attrs", {}), in_shapes,
                              entries.get((k, 0), ()))
        if kind == "unknown":
            uncounted.add(node["op"])
            kind = None
        mem = 0 if node["op"] in _IN_PLACE else _prod(entries.get((k, 0), ()))
        node_cost[k] = (kind, macs, mem)

    # Depth: convolution / dense layers on the longest path
    depth = {}
    for k, node in enumerate(nodes):
        d = max((depth.get(i, 0) for i, *_ in node["inputs"]), default=0)
        depth[k] = d + (1 if node["op"] in ("Convolution", "Deconvolution",
                                            "FullyConnected") else 0)
    head_ids = [h[0] for h in graph["heads"]]
    net_depth = max((depth[h] for h in head_ids), default=0)

    counted_params = set()
    param_path = {}
    _paths, _blocks = _block_paths(net)
    for _b in _blocks:
        for _key, _p in _b._reg_params.items():
            _where = _paths[id(_b)]
            param_path.setdefault(id(_p), f"{_where}.{_key}" if _where else _key)

    def param_counts(blocks):
        total = trainable = 0
        for block in blocks:
            for p in block._reg_params.values():
                if id(p) in counted_params:
                    continue
                counted_params.add(id(p))
                pshape = var_shape.get(p.name)
                if pshape is None or 0 in pshape:
                    pshape = p.shape
                if pshape is None or any(s == 0 for s in pshape):
                    unknown_params.append(param_path.get(id(p), p.name))
                    continue
                n = _prod(pshape)
                total += n
                if p.grad_req != "null":
                    trainable += n
        return total, trainable

    def ops_stats(op_ids):
        macs = sum(node_cost[k][1] for k in op_ids)
        mem = sum(node_cost[k][2] for k in op_ids)
        by_kind = {}
        for k in op_ids:
            kind = node_cost[k][0]
            if kind:
                by_kind[kind] = by_kind.get(kind, 0) + node_cost[k][1]
        names = []
        for k in op_ids:
            if nodes[k]["op"] not in names:
                names.append(nodes[k]["op"])
        return macs, mem, by_kind, names

    def shapes(names):
        return [shape_of[n] for n in names if n in shape_of]

    rows = []
    macs_by_kind = {k: 0 for k in KINDS}
    unknown_params = []

    def emit(call):
        """Append the rows of ``call`` and its children; return its totals."""
        is_container = bool(call.children)
        n_params, n_train = param_counts([call.block] + call.absorbed)
        macs, mem, by_kind, op_names = ops_stats(call.ops)
        out_shapes = shapes(call.outputs)
        row = {"name": call.path + (" (repeat)" if call.repeat else ""),
               "type": _type_name(call.block), "depth": call.depth, "container": is_container,
               "output_shape": out_shapes, "ops": "" if is_container else ", ".join(op_names)}
        if call.depth >= 0:
            rows.append(row)
        tot = {"params": 0, "trainable": 0, "macs": 0, "mem": 0}
        for child in call.children:
            sub = emit(child)
            for k in tot:
                tot[k] += sub[k]
        own = {"params": n_params, "trainable": n_train, "macs": macs // batch,
               "mem": mem // batch}
        for kind, v in by_kind.items():
            macs_by_kind[kind] += v // batch
        if (is_container or call.depth < 0) and (call.ops or n_params):
            own_outputs = {entry_names.get((k, 0)) for k in call.ops}
            own_shapes = ([s for o, s in zip(call.outputs, out_shapes) if o in own_outputs]
                          or shapes([entry_names.get((call.ops[-1], 0))] if call.ops else []))
            rows.append({"name": (call.path + "." if call.path else "") + "(own ops)",
                         "type": "+".join(op_names), "depth": call.depth + 1,
                         "container": False, "output_shape": own_shapes,
                         "params": n_params, "trainable": n_train,
                         "non_trainable": n_params - n_train, "activations": own["mem"],
                         "act_bytes": own["mem"] * dtype_bytes, "macs": own["macs"],
                         "ops": ", ".join(op_names)})
        for k in tot:
            tot[k] += own[k]
        row.update(params=tot["params"], trainable=tot["trainable"],
                   non_trainable=tot["params"] - tot["trainable"], macs=tot["macs"],
                   activations=tot["mem"], act_bytes=tot["mem"] * dtype_bytes)
        return tot


    # Gluon's own layers (Dense/Conv2D with activation=...) are one row: merge their sub-blocks.
    def absorb(call):
        for child in call.children:
            absorb(child)
            call.ops.extend(child.ops)
            call.absorbed.extend([child.block] + child.absorbed)
        call.children = []

    def merge_builtin(call):
        if call.depth >= 0 and _is_builtin_layer(call.block):
            absorb(call)
            return
        for child in call.children:
            merge_builtin(child)

    merge_builtin(root)
    all_calls = calls
    calls = []

    def collect(call):
        for child in call.children:
            calls.append(child)
            collect(child)

    collect(root)
    input_elems = _prod(shape) // batch
    rows.append({"name": "input", "type": "", "depth": 0, "container": False,
                 "output_shape": [shape], "params": 0, "trainable": 0, "non_trainable": 0,
                 "activations": input_elems, "act_bytes": input_elems * dtype_bytes,
                 "macs": 0, "ops": ""})
    tot = emit(root)

    # Blocks never called in the inference graph (e.g. auxiliary heads used only in training):
    # one row per top-most such block; their parameters count in the totals.
    called = {id(c.block) for c in all_calls} | {id(net)}
    paths, blocks = _block_paths(net)

    def subtree(block):
        out = [block]
        for child in block._children.values():
            out.extend(subtree(child))
        return out

    skip = set()
    for block in blocks:
        if id(block) in called or id(block) in skip:
            continue
        members = subtree(block)
        skip.update(id(b) for b in members)
        n, t = param_counts(members)
        rows.append({"name": paths[id(block)], "type": _type_name(block) + " (not called)",
                     "depth": 0, "container": False, "output_shape": [], "params": n,
                     "trainable": t, "non_trainable": n - t, "activations": 0, "act_bytes": 0,
                     "macs": 0, "ops": ""})
        tot["params"] += n
        tot["trainable"] += t

    activations = input_elems + tot["mem"]
    param_bytes = 0
    counted = set()
    for p in net.collect_params().values():
        if id(p) in counted:
            continue
        counted.add(id(p))
        pshape = var_shape.get(p.name) or p.shape
        if pshape and all(s > 0 for s in pshape):
            param_bytes += _prod(pshape) * np.dtype(p.dtype).itemsize
    totals = {
        "total_params": tot["params"], "trainable_params": tot["trainable"],
        "non_trainable_params": tot["params"] - tot["trainable"], "param_bytes": param_bytes,
        "activations": activations, "activation_bytes_forward": activations * dtype_bytes,
        "activation_bytes_train": 2 * activations * dtype_bytes, "macs": tot["macs"],
        "macs_by_kind": macs_by_kind, "depth": net_depth, "dtype_bytes": dtype_bytes,
        "output_shape": [tuple(shape_of[h]) for h in heads if h in shape_of],
        "uncounted_ops": sorted(uncounted), "unknown_params": sorted(unknown_params),
    }
    return (Summary(type(net).__name__, shape, rows, totals),
            (calls, graph, entries, nodes, entry_names))


def summary(net, input_shape, print_table=True, max_depth=None, dtype_bytes=4):
    """Keras-style summary of ``net`` for one input of ``input_shape`` (``(N, C, H, W)`` or
    ``(C, H, W)``): one row per layer, nested blocks indented under their container, with the
    output shape, parameters, activations and multiply-adds, then the totals.

    Prints the table (``print_table=False`` to skip; ``max_depth=0`` prints only the top-level
    stages) and returns a :class:`Summary` (``.rows``, ``.df``, ``.total_params``, ``.macs`` ...).
    The net is read symbolically: nothing is computed, the parameters and the hybridization
    state are untouched, and uninitialised (deferred) parameters are fine. See the module
    docstring for the counting conventions (MACs, memory).

    >>> from mxnet.gluon.model_zoo import vision
    >>> s = summary(vision.vgg16(), (1, 3, 224, 224), print_table=False)
    >>> s.total_params
    138357544
    """
    result, _ = _analyse(net, input_shape, dtype_bytes=dtype_bytes)
    if print_table:
        result.print(max_depth)
    return result


# --------------------------------------------------------------------------------------------
# Receptive field
# --------------------------------------------------------------------------------------------
def receptive_field(net, input_shape):
    """Receptive field of every convolution and pooling layer (and every block) of ``net``.

    Returns a pandas DataFrame with one row per layer along the net: ``name``, ``type``,
    ``kernel``, ``stride``, ``padding``, ``dilation`` (of the layer's window, blank for blocks),
    ``output_shape``, ``rf`` (receptive field size in input pixels), ``jump`` (distance in input
    pixels between two neighbouring output units) and ``start`` (input coordinate of the centre of
    the first output unit's field; pixel 0 is the first, negative = in the padding). For
    non-square values the column holds ``(height, width)``.

    The recurrence, per axis, with ``k' = dilation * (k - 1) + 1``: ``jump_out = jump_in *
    stride``, ``rf_out = rf_in + (k' - 1) * jump_in``, ``start_out = start_in + ((k' - 1) / 2 -
    pad) * jump_in``. Where branches meet (Inception concatenation, residual addition, dense
    concatenation) the branch with the largest field is followed. Global pooling and dense
    layers see the whole input (``rf`` = ``'global'``). These are theoretical fields: they may
    exceed the input. Three stacked 3x3 stride-1 convolutions give 7, VGG16's pool5 212.
    """
    import pandas as pd
    s, (calls, graph, entries, nodes, entry_names) = _analyse(net, input_shape)
    entry_ids = {name: k for (k, _), name in entry_names.items()}
    state = {}   # node id -> (rf, jump, start) per axis, or "global"
    for k, node in enumerate(nodes):
        op = node["op"]
        if op == "null":
            if node["name"] == "data":
                state[k] = ((1, 1), (1, 1), (0.0, 0.0))
            continue
        ins = [state[i] for i, *_ in node["inputs"] if i in state]
        if not ins:
            continue
        if any(x == "global" for x in ins):
            state[k] = "global"
            continue
        best = max(ins, key=lambda x: (x[0][0] * x[0][1], x[1]))
        attrs = node.get("attrs", {})
        if op == "FullyConnected" or (op == "Pooling" and _attr(attrs, "global_pool", False)
                                      in (True, "True")):
            state[k] = "global"
            continue
        if op in ("Convolution", "Pooling", "Deconvolution"):
            kern = _attr(attrs, "kernel")
            nd_ = len(kern)
            stride = _attr(attrs, "stride", (1,) * nd_) or (1,) * nd_
            pad = _attr(attrs, "pad", (0,) * nd_) or (0,) * nd_
            dil = _attr(attrs, "dilate", (1,) * nd_) or (1,) * nd_
            if nd_ != 2:
                state[k] = best
                continue
            rf, jump, start = [], [], []
            for a in range(2):
                keff = dil[a] * (kern[a] - 1) + 1
                r, j, st = best[0][a], best[1][a], best[2][a]
                if op == "Deconvolution":
                    j_out = j / stride[a]
                    rf.append(r + (keff - 1) * j_out)
                    jump.append(j_out)
                    start.append(st)
                else:
                    rf.append(r + (keff - 1) * j)
                    jump.append(j * stride[a])
                    start.append(st + ((keff - 1) / 2 - pad[a]) * j)
            state[k] = (tuple(rf), tuple(jump), tuple(start))
        else:
            state[k] = best

    def val(pair):
        a, b = (int(x) if float(x).is_integer() else x for x in pair)
        return a if a == b else (a, b)

    def window(attrs, key, default):
        v = _attr(attrs, key, None)
        if v is None or v == ():
            return default
        return v[0] if len(set(v)) == 1 else tuple(v)

    out = []
    for call in calls:
        windows = [k for k in call.ops if nodes[k]["op"] in ("Convolution", "Pooling",
                                                              "Deconvolution")]
        if not call.children and not windows:
            continue
        last = None
        for name in call.outputs:
            if name in entry_ids:
                last = entry_ids[name]
        if last is None or last not in state:
            continue
        st = state[last]
        row = {"name": call.path, "type": _type_name(call.block), "kernel": "", "stride": "",
               "padding": "", "dilation": "", "output_shape": tuple(entries.get((last, 0), ())),
               "rf": "global", "jump": "", "start": ""}
        if len(windows) == 1 and not call.children:
            attrs = nodes[windows[0]].get("attrs", {})
            if _attr(attrs, "global_pool", False) in (True, "True"):
                row.update(kernel="global")
            else:
                row.update(kernel=window(attrs, "kernel", 1),
                           stride=window(attrs, "stride", 1),
                           padding=window(attrs, "pad", 0),
                           dilation=window(attrs, "dilate", 1) if nodes[windows[0]]["op"]
                           != "Pooling" else 1)
        if st != "global":
            row.update(rf=val(st[0]), jump=val(st[1]), start=val(st[2]))
        row["depth"] = call.depth
        out.append(row)
    cols = ["name", "type", "depth", "kernel", "stride", "padding", "dilation", "output_shape",
            "rf", "jump", "start"]
    return pd.DataFrame(out, columns=cols)


# --------------------------------------------------------------------------------------------
# Comparing models
# --------------------------------------------------------------------------------------------
def compare(models, input_shape, names=None, options=None, plot=False):
    """Parameters, multiply-adds and activation memory of several models, one row each.

    ``models``: model names for :func:`gluoncnn.models.get_model` (built with ``options``,
    e.g. ``dict(classes=10, in_channels=1, small_input=True)``) or built nets (named by
    ``names``, else by class). ``input_shape`` is one shape for all, or a list of shapes (one per
    model, e.g. AlexNet at 227 and the others at 224). Returns a pandas DataFrame indexed by
    model: ``params``, ``trainable``, ``param_MB``, ``macs``, ``activations``,
    ``activation_MB`` (forward, per image), ``activation_MB_train`` and ``depth``. With
    ``plot=True`` also draws :func:`plot_comparison`.
    """
    import pandas as pd
    models = list(models)
    several = (isinstance(input_shape, list) and input_shape
               and isinstance(input_shape[0], (tuple, list)))
    shapes = input_shape if several else [input_shape] * len(models)
    if len(shapes) != len(models):
        raise ValueError(f"{len(shapes)} input shapes for {len(models)} models")
    if names is not None and len(names) != len(models):
        raise ValueError(f"{len(names)} names for {len(models)} models")
    records = []
    for i, (model, shape) in enumerate(zip(models, shapes)):
        if isinstance(model, str):
            from .models import get_model
            net = get_model(model, **(options or {}))
            label = model
        else:
            net = model
            label = type(net).__name__
        if names is not None:
            label = names[i]
        s = summary(net, shape, print_table=False)
        records.append({"model": label, "params": s.total_params,
                        "trainable": s.trainable_params, "param_MB": s.param_bytes / 1e6,
                        "macs": s.macs, "activations": s.activations,
                        "activation_MB": s.activation_bytes_forward / 1e6,
                        "activation_MB_train": s.activation_bytes_train / 1e6,
                        "depth": s.depth})
    df = pd.DataFrame(records).set_index("model")
    if plot:
        plot_comparison(df)
    return df


def plot_comparison(df, columns=("params", "macs", "activation_MB")):
    """Bar charts (log scale) of a :func:`compare` table, one panel per column.

    Returns the matplotlib figure."""
    import matplotlib.pyplot as plt
    titles = {"params": "parameters", "macs": "multiply-adds per image",
              "activation_MB": "activation memory per image (MB, forward)",
              "activation_MB_train": "activation memory per image (MB, forward+backward)",
              "param_MB": "parameter memory (MB)", "activations": "activations per image",
              "depth": "depth (conv + dense layers)"}
    columns = list(columns)
    fig, axes = plt.subplots(1, len(columns), figsize=(4.2 * len(columns), 0.45 * len(df) + 1.6),
                             sharey=True, squeeze=False)
    labels = [str(i) for i in df.index]
    for ax, col in zip(axes[0], columns):
        vals = df[col].astype(float).values
        ax.barh(range(len(df)), vals, color="tab:blue")
        ax.set_xscale("log")
        ax.set_title(titles.get(col, col), fontsize=10)
        ax.set_yticks(range(len(df)))
        ax.set_yticklabels(labels)
        ax.invert_yaxis()
        for y, v in enumerate(vals):
            text = _fmt_si(v) if abs(v) >= 1e3 else f"{v:.3g}"
            ax.text(v, y, " " + text, va="center", fontsize=8)
        ax.grid(axis="x", which="major", alpha=0.3)
    fig.tight_layout()
    return fig


def throughput(net, x, warmup=3, min_time=0.5, max_runs=200, ctx=None):
    """Inference throughput in images/second on batch ``x``: after ``warmup`` runs, the batch is
    run until ``min_time`` seconds (or ``max_runs`` runs), waiting for every result
    (``mx.nd.waitall``)."""
    import mxnet as mx
    ctx = mx.cpu() if ctx is None else ctx
    x = x.as_in_context(ctx)
    for _ in range(warmup):
        net(x).wait_to_read()
    mx.nd.waitall()
    runs, t0 = 0, time.perf_counter()
    while True:
        net(x)
        runs += 1
        if runs % 5 == 0 or runs >= max_runs:
            mx.nd.waitall()
            if time.perf_counter() - t0 >= min_time or runs >= max_runs:
                break
    mx.nd.waitall()
    return runs * x.shape[0] / (time.perf_counter() - t0)
