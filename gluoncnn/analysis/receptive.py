"""Receptive field size, jump and start of every layer, along the traced graph."""
from __future__ import annotations

from typing import NamedTuple

from .operators import WINDOW_OPS, attr, is_global_pool
from .trace import Trace, trace, type_name

GLOBAL = "global"
"""The field of a unit that sees the whole input (after global pooling or a dense layer)."""


class Field(NamedTuple):
    """The receptive field of a unit, per axis ``(height, width)``: its size ``rf`` in input
    pixels, the ``jump`` between neighbouring units, the ``start`` (centre of the first unit's
    field; pixel 0 is the first, negative = in the padding)."""
    rf: tuple
    jump: tuple
    start: tuple


INPUT_FIELD = Field((1, 1), (1, 1), (0.0, 0.0))


def receptive_field(net, input_shape: tuple):
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
    tr = trace(net, input_shape)
    fields = node_fields(tr)
    rows = [row for call in tr.calls if (row := _row(tr, fields, call)) is not None]
    columns = ["name", "type", "depth", "kernel", "stride", "padding", "dilation",
               "output_shape", "rf", "jump", "start"]
    return pd.DataFrame(rows, columns=columns)


def node_fields(tr: Trace) -> dict:
    """Graph node id -> :class:`Field` (or ``GLOBAL``) of its output, for every node the input
    reaches."""
    fields = {}
    for k, node in enumerate(tr.nodes):
        if node["op"] == "null":
            if node["name"] == "data":
                fields[k] = INPUT_FIELD
            continue
        inputs = [fields[i] for i, *_ in node["inputs"] if i in fields]
        if inputs:
            fields[k] = _step(node, inputs)
    return fields


def _step(node, inputs):
    """The field after ``node``, following its widest input."""
    if any(f == GLOBAL for f in inputs):
        return GLOBAL
    widest = max(inputs, key=lambda f: (f.rf[0] * f.rf[1], f.jump))
    op, attrs = node["op"], node.get("attrs", {})
    if op == "FullyConnected" or (op == "Pooling" and is_global_pool(attrs)):
        return GLOBAL
    if op not in WINDOW_OPS:
        return widest
    kernel = attr(attrs, "kernel")
    if len(kernel) != 2:
        return widest
    stride = attr(attrs, "stride", (1, 1)) or (1, 1)
    pad = attr(attrs, "pad", (0, 0)) or (0, 0)
    dilate = attr(attrs, "dilate", (1, 1)) or (1, 1)
    axes = [_axis_step(op, widest.rf[a], widest.jump[a], widest.start[a],
                       dilate[a] * (kernel[a] - 1) + 1, stride[a], pad[a]) for a in range(2)]
    return Field(*(tuple(values) for values in zip(*axes)))


def _axis_step(op, rf, jump, start, span, stride, pad):
    """``(rf, jump, start)`` along one axis after a window spanning ``span`` input units."""
    if op == "Deconvolution":
        jump_out = jump / stride
        return rf + (span - 1) * jump_out, jump_out, start
    return rf + (span - 1) * jump, jump * stride, start + ((span - 1) / 2 - pad) * jump


def _row(tr, fields, call):
    """The receptive-field row of ``call``, or ``None`` for a call with no window and no
    children (an activation, a flatten)."""
    windows = [k for k in call.ops if tr.nodes[k]["op"] in WINDOW_OPS]
    if not call.children and not windows:
        return None
    last = tr.output_node(call)
    if last is None or last not in fields:
        return None
    row = {"name": call.path, "type": type_name(call.block), "kernel": "", "stride": "",
           "padding": "", "dilation": "", "output_shape": tuple(tr.entry_shapes.get((last, 0), ())),
           "rf": GLOBAL, "jump": "", "start": ""}
    if len(windows) == 1 and not call.children:
        row.update(_window_columns(tr.nodes[windows[0]]))
    field = fields[last]
    if field != GLOBAL:
        row.update(rf=_square(field.rf), jump=_square(field.jump), start=_square(field.start))
    row["depth"] = call.depth
    return row


def _window_columns(node):
    """``kernel``, ``stride``, ``padding``, ``dilation`` of one window operator."""
    attrs = node.get("attrs", {})
    if is_global_pool(attrs):
        return {"kernel": "global"}
    return {"kernel": _window_value(attrs, "kernel", 1),
            "stride": _window_value(attrs, "stride", 1),
            "padding": _window_value(attrs, "pad", 0),
            "dilation": _window_value(attrs, "dilate", 1) if node["op"] != "Pooling" else 1}


def _window_value(attrs, key, default):
    value = attr(attrs, key, None)
    if value is None or value == ():
        return default
    return value[0] if len(set(value)) == 1 else tuple(value)


def _square(pair):
    """One number for a square value, ``(height, width)`` otherwise; ints where whole."""
    a, b = (int(x) if float(x).is_integer() else x for x in pair)
    return a if a == b else (a, b)
