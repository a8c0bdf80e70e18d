"""The Keras-style summary of a net: one :class:`Row` per layer, and the totals.

The rows are read off a :class:`~gluoncnn.analysis.trace.Trace`: each call of a block gives a
row holding the totals of everything under it; a container whose own ``hybrid_forward`` runs
operators (the residual addition, the Inception concatenation) gets an ``(own ops)`` row under
it; blocks never called (auxiliary heads used only in training) get a ``(not called)`` row.
"""
from __future__ import annotations

from dataclasses import dataclass, field
from functools import cached_property

import numpy as np

from ..errors import OptionError
from ..utils import block_paths, did_you_mean
from .formatting import fmt_bytes, fmt_int, fmt_shape, fmt_si
from .operators import IN_PLACE, KINDS, WEIGHTED_OPS, op_cost, prod
from .trace import Trace, trace, type_name

ROW_COLUMNS = ("name", "type", "depth", "container", "output_shape", "params", "trainable",
               "non_trainable", "activations", "act_bytes", "macs", "ops")


@dataclass(frozen=True)
class Row:
    """One row of a :class:`Summary`.

    - ``name``: the block's attribute path (``features.3.b2.0``); ``(own ops)`` rows hold the
      operators a container's own ``hybrid_forward`` runs, ``' (repeat)'`` marks a block called
      again; ``type``: the block's class (``''`` for the input row);
    - ``depth``: nesting level; ``container``: True for a block with children -- its numbers
      are the totals of its contents, so sum the rows with ``container == False`` to get the
      net's totals;
    - ``output_shape``: list of output shapes (batched); ``params``, ``trainable``,
      ``non_trainable``; ``activations`` (values the row stores, per image); ``act_bytes``
      (their memory); ``macs`` (multiply-adds per image); ``ops``: the MXNet operators;
    - ``block``: the Gluon block itself (``None`` for the input and ``(own ops)`` rows).

    Read as attributes (``row.params``) or, like the dicts rows once were, as ``row['params']``.
    """
    name: str
    type: str
    depth: int
    container: bool
    output_shape: list
    params: int = 0
    trainable: int = 0
    non_trainable: int = 0
    activations: int = 0
    act_bytes: int = 0
    macs: int = 0
    ops: str = ""
    block: object = field(default=None, repr=False, compare=False)

    def __getitem__(self, key):
        if key not in ROW_COLUMNS:
            raise KeyError(key)
        return getattr(self, key)

    def keys(self):
        return ROW_COLUMNS

    def get(self, key, default=None):
        return self[key] if key in ROW_COLUMNS else default

    def as_dict(self) -> dict:
        """The row's columns as a dict (no ``block``)."""
        return {column: getattr(self, column) for column in ROW_COLUMNS}


@dataclass(eq=False)
class Summary:
    """The table :func:`summary` prints, as data.

    ``rows`` (:class:`Row` s, in call order), ``df`` (the same as a pandas DataFrame),
    :meth:`row` (the row of one block path), ``total_params``, ``trainable_params``,
    ``non_trainable_params``, ``param_bytes``, ``activations`` (values per image, input
    included), ``activation_bytes_forward``, ``activation_bytes_train`` (forward+backward),
    ``macs`` (per image), ``macs_by_kind`` (``conv``, ``dense``, ``pool``, ``norm``,
    ``elementwise``), ``depth`` (convolution and dense layers on the longest path),
    ``input_shape``, ``output_shape``, ``uncounted_ops``, ``unknown_params``.
    """
    name: str
    input_shape: tuple
    rows: list
    total_params: int
    trainable_params: int
    param_bytes: int
    activations: int
    macs: int
    macs_by_kind: dict
    depth: int
    dtype_bytes: int
    output_shape: list
    uncounted_ops: list
    unknown_params: list

    @property
    def non_trainable_params(self) -> int:
        return self.total_params - self.trainable_params

    @property
    def activation_bytes_forward(self) -> int:
        return self.activations * self.dtype_bytes

    @property
    def activation_bytes_train(self) -> int:
        return 2 * self.activations * self.dtype_bytes

    def row(self, path: str) -> Row:
        """The row of the block at ``path`` (``'features.0'``, ``'output'``,
        ``'features.3.(own ops)'``, ``'input'``): the first one, if the block is called twice."""
        for row in self.rows:
            if row.name == path:
                return row
        names = [row.name for row in self.rows]
        raise OptionError(f"no row {path!r} in the summary of {self.name}"
                          f"{did_you_mean(path, names)}; the rows are named by block path, "
                          f"e.g. {', '.join(repr(n) for n in names[1:4])}")

    @cached_property
    def df(self):
        """The rows as a pandas DataFrame (one row per layer)."""
        import pandas as pd
        return pd.DataFrame([row.as_dict() for row in self.rows], columns=list(ROW_COLUMNS))

    def totals(self) -> dict:
        """The totals as a dict."""
        keys = ["total_params", "trainable_params", "non_trainable_params", "param_bytes",
                "activations", "activation_bytes_forward", "activation_bytes_train", "macs",
                "depth"]
        out = {k: getattr(self, k) for k in keys}
        out.update({f"macs_{k}": v for k, v in self.macs_by_kind.items()})
        return out

    def to_text(self, max_depth: int | None = None) -> str:
        """The Keras-style table; ``max_depth=0`` shows only the top-level stages."""
        rows = [r for r in self.rows if max_depth is None or r.depth <= max_depth]
        head = ["Layer (type)", "Output shape", "Param #", "Activations", "MACs"]
        body = [["  " * r.depth + (f"{r.name} ({r.type})" if r.type else r.name),
                 fmt_shape(r.output_shape), fmt_int(r.params), fmt_int(r.activations),
                 fmt_int(r.macs)] for r in rows]
        widths = [max(len(head[i]), *(len(b[i]) for b in body)) for i in range(len(head))]
        widths[0] = max(widths[0], 28)

        def line(cells):
            return "  ".join([cells[0].ljust(widths[0]), cells[1].ljust(widths[1])]
                             + [c.rjust(w) for c, w in zip(cells[2:], widths[2:])])

        width = sum(widths) + 2 * (len(widths) - 1)
        out = [f'Model: "{self.name}"  input {self.input_shape}, float32 '
               f'({self.dtype_bytes} bytes a value)', "=" * width, line(head), "=" * width]
        out += [line(b) for b in body]
        out += ["=" * width] + self._totals_text()
        out += ["-" * width,
                "Activations: values a layer stores per image (in-place activation functions, "
                "dropout and reshapes store none).",
                "Container rows show the totals of their contents; MB = 10^6 bytes."]
        return "\n".join(out)

    def _totals_text(self):
        kinds = ", ".join(f"{k} {fmt_si(v)}" for k, v in self.macs_by_kind.items() if v)
        out = [f"Total params: {fmt_int(self.total_params)} ({fmt_bytes(self.param_bytes)})",
               f"Trainable params: {fmt_int(self.trainable_params)}",
               f"Non-trainable params: {fmt_int(self.non_trainable_params)}",
               f"Multiply-adds per image: {fmt_int(self.macs)} ({fmt_si(self.macs)})"
               + (f" = {kinds}" if kinds else ""),
               f"Activations per image: {fmt_int(self.activations)} values incl. the input: "
               f"{fmt_bytes(self.activation_bytes_forward)} forward, "
               f"{fmt_bytes(self.activation_bytes_train)} forward+backward",
               f"Depth (conv + dense layers on the longest path): {self.depth}"]
        if self.uncounted_ops:
            out.append("Not counted (unknown operators): " + ", ".join(self.uncounted_ops))
        if self.unknown_params:
            out.append("Not counted (shape unknown until the net is initialised and run): "
                       + ", ".join(self.unknown_params))
        return out

    def __str__(self):
        return self.to_text()

    def __repr__(self):
        return (f"<Summary of {self.name}: {fmt_int(self.total_params)} params, "
                f"{fmt_si(self.macs)} MACs, {fmt_bytes(self.activation_bytes_forward)} "
                f"activations per image (forward)>")

    def print(self, max_depth: int | None = None) -> None:
        print(self.to_text(max_depth))


def summary(net, input_shape, print_table: bool = True, max_depth: int | None = None,
            dtype_bytes: int = 4) -> Summary:
    """Keras-style summary of ``net`` for one input of ``input_shape`` (``(N, C, H, W)`` or
    ``(C, H, W)``): one row per layer, nested blocks indented under their container, with the
    output shape, parameters, activations and multiply-adds, then the totals.

    Prints the table (``print_table=False`` to skip; ``max_depth=0`` prints only the top-level
    stages) and returns a :class:`Summary` (``.rows``, ``.row(path)``, ``.df``,
    ``.total_params``, ``.macs`` ...). The net is read symbolically: nothing is computed, the
    parameters and the hybridization state are untouched, and uninitialised (deferred)
    parameters are fine. See the package docstring for the counting conventions (MACs, memory).

    >>> from mxnet.gluon.model_zoo import vision
    >>> s = summary(vision.vgg16(), (1, 3, 224, 224), print_table=False)
    >>> s.total_params
    138357544
    """
    result = summarise(trace(net, input_shape), dtype_bytes)
    if print_table:
        result.print(max_depth)
    return result


# --------------------------------------------------------------------------- building the rows
@dataclass
class _Tally:
    """What a call and everything under it add up to (per image)."""
    params: int = 0
    trainable: int = 0
    macs: int = 0
    memory: int = 0

    def __add__(self, other):
        return _Tally(self.params + other.params, self.trainable + other.trainable,
                      self.macs + other.macs, self.memory + other.memory)


class _ParamCounter:
    """Counts each parameter once, for the first row that meets it, and names those whose
    shape is still unknown."""

    def __init__(self, tr: Trace):
        self.param_shapes = tr.param_shapes
        self.seen, self.unknown, self.path_of = set(), [], {}
        for block in tr.blocks:
            where = tr.paths[id(block)]
            for key, param in block._reg_params.items():
                self.path_of.setdefault(id(param), f"{where}.{key}" if where else key)

    def count(self, blocks) -> _Tally:
        tally = _Tally()
        for block in blocks:
            for param in block._reg_params.values():
                if id(param) in self.seen:
                    continue
                self.seen.add(id(param))
                shape = self._shape(param)
                if shape is None:
                    self.unknown.append(self.path_of.get(id(param), param.name))
                    continue
                tally.params += prod(shape)
                tally.trainable += prod(shape) if param.grad_req != "null" else 0
        return tally

    def _shape(self, param):
        shape = self.param_shapes.get(param.name)
        if shape is None or 0 in shape:
            shape = param.shape
        return None if shape is None or 0 in shape else shape


@dataclass(frozen=True)
class _OpCost:
    kind: str | None
    macs: int
    memory: int


class _RowBuilder:
    """Turns a trace into rows: every call's row, its ``(own ops)`` row, the totals."""

    def __init__(self, tr: Trace, dtype_bytes: int):
        self.trace, self.dtype_bytes = tr, dtype_bytes
        self.params = _ParamCounter(tr)
        self.uncounted = set()
        self.costs = {k: self._cost(k) for k, node in enumerate(tr.nodes) if node["op"] != "null"}
        self.macs_by_kind = dict.fromkeys(KINDS, 0)

    def _cost(self, k):
        node, tr = self.trace.nodes[k], self.trace
        kind, macs = op_cost(node["op"], node.get("attrs", {}), tr.input_shapes(k),
                             tr.node_shape(k))
        if kind == "unknown":
            self.uncounted.add(node["op"])
            kind = None
        memory = 0 if node["op"] in IN_PLACE else prod(tr.node_shape(k))
        return _OpCost(kind, macs, memory)

    def _own(self, call) -> tuple[_Tally, list]:
        """The call's own parameters and operators (not its children's), and the op names."""
        batch = self.trace.batch
        tally = self.params.count([call.block] + call.absorbed)
        costs = [self.costs[k] for k in call.ops]
        tally.macs = sum(c.macs for c in costs) // batch
        tally.memory = sum(c.memory for c in costs) // batch
        for kind in KINDS:
            self.macs_by_kind[kind] += sum(c.macs for c in costs if c.kind == kind) // batch
        names = list(dict.fromkeys(self.trace.nodes[k]["op"] for k in call.ops))
        return tally, names

    def rows(self, call) -> tuple[list, _Tally]:
        """The rows of ``call`` and everything under it, and their total."""
        own, op_names = self._own(call)
        rows, total = [], own
        for child in call.children:
            child_rows, child_total = self.rows(child)
            rows += child_rows
            total = total + child_total
        container = bool(call.children)
        if (container or call.depth < 0) and (call.ops or own.params):
            rows.append(self._own_ops_row(call, own, op_names))
        if call.depth >= 0:
            rows.insert(0, self._row(call.path + (" (repeat)" if call.repeat else ""),
                                     type_name(call.block), call.depth, container,
                                     self.trace.shapes(call.outputs), total,
                                     "" if container else ", ".join(op_names), call.block))
        return rows, total

    def _row(self, name, type_, depth, container, shapes, tally, ops, block=None):
        return Row(name, type_, depth, container, shapes, tally.params, tally.trainable,
                   tally.params - tally.trainable, tally.memory, tally.memory * self.dtype_bytes,
                   tally.macs, ops, block)

    def _own_ops_row(self, call, own, op_names):
        tr = self.trace
        own_outputs = {tr.entry_names.get((k, 0)) for k in call.ops}
        out_shapes = tr.shapes(call.outputs)
        shapes = ([s for o, s in zip(call.outputs, out_shapes) if o in own_outputs]
                  or tr.shapes([tr.entry_names.get((call.ops[-1], 0))] if call.ops else []))
        return self._row((call.path + "." if call.path else "") + "(own ops)", "+".join(op_names),
                         call.depth + 1, False, shapes, own, ", ".join(op_names))

    def input_row(self):
        elements = prod(self.trace.input_shape) // self.trace.batch
        return self._row("input", "", 0, False, [self.trace.input_shape],
                         _Tally(memory=elements), "")

    def not_called_rows(self) -> tuple[list, _Tally]:
        """One row per top-most block never called in the inference graph (e.g. auxiliary
        heads used only in training); their parameters count in the totals."""
        tr, rows, total, skip = self.trace, [], _Tally(), set()
        for block in tr.blocks:
            if id(block) in tr.called or id(block) in skip:
                continue
            members = [b for _, b in block_paths(block)]
            skip.update(id(b) for b in members)
            tally = self.params.count(members)
            rows.append(self._row(tr.paths[id(block)], type_name(block) + " (not called)", 0,
                                  False, [], _Tally(tally.params, tally.trainable), "", block))
            total = total + _Tally(tally.params, tally.trainable)
        return rows, total


def _graph_depth(tr: Trace) -> int:
    """Convolution and dense layers on the longest path of the graph."""
    depth = {}
    for k, node in enumerate(tr.nodes):
        below = max((depth.get(i, 0) for i, *_ in node["inputs"]), default=0)
        depth[k] = below + (node["op"] in WEIGHTED_OPS)
    return max((depth[h] for h in tr.head_nodes), default=0)


def _param_bytes(tr: Trace) -> int:
    """Bytes of every parameter of known shape, each counted once."""
    total, counted = 0, set()
    for param in tr.net.collect_params().values():
        if id(param) in counted:
            continue
        counted.add(id(param))
        shape = tr.param_shapes.get(param.name) or param.shape
        if shape and all(s > 0 for s in shape):
            total += prod(shape) * np.dtype(param.dtype).itemsize
    return total


def summarise(tr: Trace, dtype_bytes: int = 4) -> Summary:
    """The :class:`Summary` of a traced net."""
    builder = _RowBuilder(tr, dtype_bytes)
    input_row = builder.input_row()
    call_rows, called = builder.rows(tr.root)
    idle_rows, idle = builder.not_called_rows()
    total = called + idle
    return Summary(
        name=type(tr.net).__name__, input_shape=tuple(tr.input_shape),
        rows=[input_row] + call_rows + idle_rows, total_params=total.params,
        trainable_params=total.trainable, param_bytes=_param_bytes(tr),
        activations=input_row.activations + called.memory, macs=called.macs,
        macs_by_kind=builder.macs_by_kind, depth=_graph_depth(tr), dtype_bytes=dtype_bytes,
        output_shape=tr.shapes(tr.outputs), uncounted_ops=sorted(builder.uncounted),
        unknown_params=sorted(builder.params.unknown))


def compute_figures(name: str) -> dict[str, int]:
    """``params``, ``train_only_params`` and ``macs`` of registered model ``name`` at its
    builder's defaults and default input, computed from the code (symbolically: nothing runs).
    These are what :func:`gluoncnn.models.register_model` records; a test asserts they agree."""
    from ..models import model_info
    info = model_info(name)
    net = info.builder()
    counts = net.param_counts((1,) + info.input_shape)
    macs = summary(net, (1,) + info.input_shape, print_table=False).macs
    return {'params': counts['inference'], 'train_only_params': counts['train_only'],
            'macs': int(macs)}
