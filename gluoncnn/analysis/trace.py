"""Reading a net: one symbolic forward with hooks, every operator attributed to a block call.

:func:`trace` calls the net once on ``mx.sym.var('data')`` with forward pre-hooks and hooks on
every block, and gives every operator MXNet creates a unique name that says which block call
created it. ``Symbol.infer_shape`` then gives every shape for the input shape. Nothing is
computed, the parameters and the hybridization state are left as they were.
"""
from __future__ import annotations

import itertools
import json
import warnings
from dataclasses import dataclass, field
from functools import cached_property

from ..errors import InputError, OptionError
from ..utils import block_paths, first_line


@dataclass(eq=False)
class Call:
    """One call of one block during the symbolic forward (a row of the summary).

    ``ops`` are the ids of the graph nodes this call's own ``forward`` created (its children's
    are theirs); ``inputs``/``outputs`` the names of the symbols it took and returned;
    ``repeat`` marks a block called a second time (shared weights); ``absorbed`` lists the
    sub-blocks of a Gluon built-in layer (e.g. ``Dense``'s activation), merged into its call.
    """
    block: object = field(repr=False)
    path: str
    depth: int
    parent: Call | None = field(default=None, repr=False)
    children: list = field(default_factory=list, repr=False)
    ops: list = field(default_factory=list)
    inputs: list = field(default_factory=list)
    outputs: list = field(default_factory=list)
    repeat: bool = False
    absorbed: list = field(default_factory=list, repr=False)

    @property
    def type_name(self) -> str:
        """The block's class name (``HybridLambda(relu)`` for a named lambda)."""
        return type_name(self.block)

    def descendants(self):
        """Every call under this one, parents before children."""
        for child in self.children:
            yield child
            yield from child.descendants()


@dataclass(eq=False)
class Trace:
    """The inference graph of ``net`` for ``input_shape``, each operator attributed to a call.

    - ``root``: the net's own call (depth -1); ``calls``: the calls shown, parents before
      children, with Gluon's built-in layers (``Dense``/``Conv2D`` with ``activation=``) merged
      into one call; ``called``: the ids of every block called at all;
    - ``paths``: block id -> attribute path, ``blocks``: every block once, in tree order;
    - ``nodes``: MXNet's graph nodes (JSON dicts, topological order), ``head_nodes``: the ids
      of the output nodes, ``outputs``: the output names;
    - ``shape_of``: output name -> shape, for every operator and variable;
      ``entry_shapes``/``entry_names``: ``(node id, output index)`` -> shape / name;
      ``param_shapes``: parameter (argument or auxiliary) name -> inferred shape.
    """
    net: object = field(repr=False)
    input_shape: tuple
    root: Call = field(repr=False)
    calls: list = field(repr=False)
    called: set = field(repr=False)
    paths: dict = field(repr=False)
    blocks: list = field(repr=False)
    nodes: list = field(repr=False)
    head_nodes: list = field(repr=False)
    outputs: list = field(repr=False)
    shape_of: dict = field(repr=False)
    entry_shapes: dict = field(repr=False)
    entry_names: dict = field(repr=False)
    param_shapes: dict = field(repr=False)

    @property
    def batch(self) -> int:
        return self.input_shape[0]

    def node_shape(self, node: int) -> tuple:
        """The shape of the first output of graph node ``node`` (``()`` if unknown)."""
        return self.entry_shapes.get((node, 0), ())

    def input_shapes(self, node: int) -> list:
        """The known shapes of the inputs of graph node ``node``."""
        shapes = [self.entry_shapes.get((i, j)) for i, j, *_ in self.nodes[node]["inputs"]]
        return [s for s in shapes if s is not None]

    def shapes(self, names) -> list:
        """The shapes of the symbols ``names`` (those the graph knows)."""
        return [self.shape_of[n] for n in names if n in self.shape_of]

    def output_node(self, call: Call) -> int | None:
        """The graph node of the last of ``call``'s outputs (``None`` if none is in the graph)."""
        found = [self._node_of[name] for name in call.outputs if name in self._node_of]
        return found[-1] if found else None

    @cached_property
    def _node_of(self):
        return {name: k for (k, _), name in self.entry_names.items()}


def normalise_input_shape(net, input_shape) -> tuple:
    """``input_shape`` as a batched tuple of positive ints, checked by the net if it can."""
    shape = tuple(int(s) for s in input_shape)
    if len(shape) == 3:
        shape = (1,) + shape
    if hasattr(net, "check_input") and len(shape) == 4:
        net.check_input(shape)
    if any(s <= 0 for s in shape):
        raise OptionError(f"input_shape must hold positive sizes, got {tuple(input_shape)}")
    return shape


def trace(net, input_shape) -> Trace:
    """Call ``net`` on a symbol with hooks on every block and infer every shape for
    ``input_shape`` (``(N, C, H, W)`` or ``(C, H, W)``); a :class:`Trace`."""
    shape = normalise_input_shape(net, input_shape)
    walk = list(block_paths(net, unique=True))
    paths = {id(block): path for path, block in walk}
    blocks = [block for _, block in walk]
    recorder = _Recorder(net, paths)
    out = recorder.run(blocks[1:])
    shape_of, param_shapes = _infer_shapes(net, out, shape)
    graph = json.loads(out.tojson())
    entry_shapes, entry_names = _node_entries(graph, shape_of)
    _attribute_ops(graph["nodes"], recorder.owner, recorder.root)
    _merge_builtin_layers(recorder.root)
    return Trace(net=net, input_shape=shape, root=recorder.root,
                 calls=list(recorder.root.descendants()),
                 called={id(c.block) for c in recorder.calls} | {id(net)}, paths=paths,
                 blocks=blocks, nodes=graph["nodes"], head_nodes=[h[0] for h in graph["heads"]],
                 outputs=out.list_outputs(), shape_of=shape_of, entry_shapes=entry_shapes,
                 entry_names=entry_names, param_shapes=param_shapes)


class _Recorder:
    """The hooks of one symbolic forward: the tree of calls, and which call made each op."""

    def __init__(self, net, paths):
        self.net, self.paths = net, paths
        self.root = Call(net, "", -1)
        self.calls, self.stack, self.owner, self.seen = [], [self.root], {}, set()
        self.counter = itertools.count()

    def pre(self, block, args):
        parent = self.stack[-1]
        call = Call(block, self.paths.get(id(block), type(block).__name__), parent.depth + 1,
                    parent, repeat=id(block) in self.seen, inputs=_symbol_names(args))
        self.seen.add(id(block))
        parent.children.append(call)
        self.calls.append(call)
        self.stack.append(call)

    def post(self, block, args, out):
        self.stack.pop().outputs = _symbol_names(out)

    def run(self, blocks):
        """The net's output symbol, every operator named ``<name>@<uid>@`` by its call."""
        import mxnet as mx
        from mxnet import name as mx_name
        from mxnet import symbol
        original_get = mx_name.NameManager.get

        def tagged_get(manager, name, hint):
            uid = next(self.counter)
            self.owner[uid] = self.stack[-1]
            return f"{original_get(manager, name, hint)}@{uid}@"

        handles = [h for block in blocks for h in (block.register_forward_pre_hook(self.pre),
                                                    block.register_forward_hook(self.post))]
        mx_name.NameManager.get = tagged_get
        try:
            with mx_name.NameManager():
                out = self.net(mx.sym.var("data"))
        except Exception as err:  # a block that only runs on NDArrays
            raise InputError(
                f"summary() reads the net's graph with a symbolic input, and "
                f"{type(self.net).__name__} could not build one ({type(err).__name__}: "
                f"{first_line(err)}). Every block must be a HybridBlock whose hybrid_forward "
                f"uses F (not nd) operators") from err
        finally:
            mx_name.NameManager.get = original_get
            for handle in handles:
                handle.detach()
        if isinstance(out, (list, tuple)):
            out = symbol.Group(list(_flatten_symbols(out)))
        return out


def _infer_shapes(net, out, shape):
    """``(shape of every output name, shape of every parameter)`` for input ``shape``."""
    internals = out.get_internals()
    try:
        with warnings.catch_warnings():
            warnings.simplefilter("ignore")
            arg_shapes, out_shapes, aux_shapes = internals.infer_shape(data=tuple(shape))
    except Exception as err:
        raise OptionError(f"{type(net).__name__} cannot take an input of shape "
                          f"{tuple(shape)}: {first_line(err)}") from err
    if out_shapes is None or any(s is None for s in out_shapes):
        raise OptionError(f"could not infer every shape of {type(net).__name__} for input "
                          f"{tuple(shape)}")
    shape_of = dict(zip(internals.list_outputs(), (tuple(s) for s in out_shapes)))
    param_shapes = dict(zip(internals.list_arguments(), (tuple(s) for s in arg_shapes)))
    param_shapes.update(zip(internals.list_auxiliary_states(), (tuple(s) for s in aux_shapes)))
    return shape_of, param_shapes


def _symbol_names(obj):
    """Output names of a Symbol, or of a (nested) tuple/list of Symbols."""
    from mxnet import symbol
    if isinstance(obj, symbol.Symbol):
        return list(obj.list_outputs())
    if isinstance(obj, (list, tuple)):
        return [n for o in obj for n in _symbol_names(o)]
    return []


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


def _attribute_ops(nodes, owner, root):
    """Give every operator node to the call whose forward created it (the net's own if none)."""
    for k, node in enumerate(nodes):
        if node["op"] != "null":
            owner.get(_node_uid(node["name"]), root).ops.append(k)


def _is_builtin_layer(block):
    """A layer from ``mxnet.gluon.nn`` (not a container): shown as one row."""
    from mxnet.gluon import nn
    return (type(block).__module__.startswith("mxnet.gluon.nn")
            and not isinstance(block, (nn.Sequential, nn.HybridSequential)))


def _absorb_children(call):
    for child in call.children:
        _absorb_children(child)
        call.ops.extend(child.ops)
        call.absorbed.extend([child.block] + child.absorbed)
    call.children = []


def _merge_builtin_layers(call):
    """Gluon's own layers (Dense/Conv2D with activation=...) are one row: merge their
    sub-blocks into them."""
    if call.depth >= 0 and _is_builtin_layer(call.block):
        _absorb_children(call)
        return
    for child in call.children:
        _merge_builtin_layers(child)


def type_name(block) -> str:
    """A block's class name as the summary prints it (``HybridLambda(relu)`` for a lambda)."""
    name = type(block).__name__
    func = getattr(block, "_func_name", None)
    if func and name in ("HybridLambda", "Lambda"):
        return f"{name}({func})"
    return name
