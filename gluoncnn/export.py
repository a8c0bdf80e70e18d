"""Export a model for inference: MXNet's symbol JSON + parameters and ONNX.

:func:`export_model` writes ``NAME-symbol.json`` and ``NAME-0000.params`` (the inference graph,
as ``HybridBlock.export`` writes it), ``NAME.onnx`` with ``onnx=True`` (``symbol=False``: the ONNX
file alone) and ``NAME-export.json`` (what was exported and how well it matched). Every file is
checked before it is kept: the symbol is re-imported with ``gluon.SymbolBlock.imports`` and the
ONNX model is run in onnxruntime, both on a random batch of ``check_batch`` images, and compared
with the model itself (the largest absolute difference is reported). Everything is written into a
temporary folder beside ``out`` and moved into place only when all of it succeeded: a model that
cannot be exported (an operator without an ONNX converter) is refused with one line and leaves
nothing behind.

The graph exported is the one the net computes in inference, taken by calling the net on a
Symbol in predict mode: dropout is off, and FractalNet's joins are the plain means of the paper
(its drop-path join weights are inputs only of the graph its training calls cache).

The ONNX file is for other tools (onnxruntime, Netron, TensorRT, OpenCV's dnn): ``mxnet.onnx``
writes it, then it is tidied with the ``onnx`` package: the weights are initializers only, not
graph inputs too (onnxruntime warned about each of them and could not fold them as constants),
the input is ``images`` of shape ``(batch, C, H, W)`` and the output ``logits`` of shape
``(batch, classes)`` (:data:`ONNX_INPUT`, :data:`ONNX_OUTPUT`; ``batch`` is a symbolic axis, any
batch size runs), and ``metadata_props`` say what the model is (:func:`onnx_metadata`: the model
and its options, the classes and their names, the input shape, the preprocessing with the
dataset's mean and std when the model was trained on normalised images, the opset).
"""
from __future__ import annotations

import dataclasses
import json
import logging
import os
import shutil
import tempfile
import warnings
from typing import Any

import numpy as np

from .errors import GluonCNNError
from .runs.settings import describe_model
from .runtime import install_extra
from .utils import first_line

#: Outputs of the exported model and of the model itself may differ by float rounding only.
RTOL, ATOL = 1e-4, 1e-5
#: The names of the ONNX graph's input and output (mxnet.onnx writes ``data`` and the last
#: layer's internal name, such as ``resnet0_dense0_fwd``), and of its symbolic batch axis.
ONNX_INPUT, ONNX_OUTPUT, ONNX_BATCH = "images", "logits", "batch"
#: The export formats: MXNet's symbol JSON + parameters, and ONNX.
FORMATS = ("symbol", "onnx")


class ExportError(GluonCNNError, RuntimeError):
    """A model that cannot be exported as asked; nothing was written."""


@dataclasses.dataclass
class ExportResult:
    """The files written and how closely each export reproduces the model."""
    model: str
    model_kwargs: dict[str, Any]
    input_shape: tuple[int, int, int]
    symbol: str | None
    params: str | None
    reimport_max_abs_diff: float
    check_batch: int
    onnx: str | None = None
    onnx_opset: int | None = None
    onnx_max_abs_diff: float | None = None
    onnx_check: str | None = None
    record: str | None = None

    def as_dict(self) -> dict[str, Any]:
        return dataclasses.asdict(self)


def export_model(net, name: str, model_kwargs: dict[str, Any], input_shape: tuple[int, int, int],
                 out: str, prefix: str | None = None, onnx: bool = False,
                 check_batch: int = 3, symbol: bool = True, dataset: str | None = None,
                 normalize=False) -> ExportResult:
    """Export ``net`` (built as ``name(**model_kwargs)``, parameters loaded) for images of
    ``input_shape`` ``(C, H, W)`` into folder ``out``: the symbol + params unless
    ``symbol=False``, ONNX with ``onnx=True``; ``dataset`` and ``normalize`` (as ``load_data``
    took them in training) go into the ONNX metadata. See the module's docstring."""
    import mxnet as mx
    if check_batch < 1:
        raise ExportError(f"check_batch must be a positive batch size, got {check_batch!r}")
    if not (symbol or onnx):
        raise ExportError(f"nothing to export: ask for one of the formats {', '.join(FORMATS)}")
    if getattr(net, "eval_column", None) is not None:
        raise ExportError(f"cannot export {name} with eval_column={net.eval_column}: the "
                          f"exported graph joins every column; set net.eval_column = None")
    prefix = prefix or name
    if os.path.basename(prefix) != prefix or prefix in (".", "..") or "\\" in prefix:
        raise ExportError(f"the export name {prefix!r} is a path, not a file name: the files go "
                          f"into the out folder ({out}); pass a plain name such as "
                          f"{name!r}, or another --out; nothing was written")
    parent = os.path.dirname(os.path.abspath(out))
    os.makedirs(parent, exist_ok=True)
    staging = tempfile.mkdtemp(prefix=".gluoncnn-export-", dir=parent)
    try:
        base = os.path.join(staging, prefix)
        sym_path, params_path = write_inference_graph(net, base)
        _check_single_input(name, sym_path, params_path)
        x = np.random.uniform(size=(check_batch, *input_shape)).astype(np.float32)
        with mx.autograd.predict_mode():
            reference = _first_output(net(mx.nd.array(x))).asnumpy()
        reimport = _reimport_diff(sym_path, params_path, x, reference)
        result = ExportResult(name, dict(model_kwargs), tuple(input_shape), sym_path,
                              params_path, reimport, check_batch)
        if onnx:
            metadata = onnx_metadata(name, model_kwargs, input_shape, reference.shape[1],
                                     dataset, normalize)
            result.onnx = export_onnx(name, sym_path, params_path, input_shape,
                                      f"{base}.onnx", metadata)
            result.onnx_opset = onnx_opset(result.onnx)
            result.onnx_max_abs_diff, result.onnx_check = check_onnx(result.onnx, x, reference)
        if not symbol:
            result.symbol = result.params = None    # left in the staging folder, removed
        result.record = f"{base}-export.json"
        with open(result.record, "w") as f:
            json.dump(result.as_dict(), f, indent=2, default=str)
            f.write("\n")
        return _move_into(result, staging, out)
    finally:
        shutil.rmtree(staging, ignore_errors=True)


def write_inference_graph(net, base: str) -> tuple[str, str]:
    """Write ``BASE-symbol.json`` and ``BASE-0000.params`` as ``HybridBlock.export`` does (one
    input, ``data``; parameters keyed ``arg:``/``aux:``), from the graph of the net called on a
    Symbol in predict mode; return their paths."""
    import mxnet as mx
    with mx.autograd.predict_mode():
        sym = _first_output(net(mx.sym.var("data")))
    sym_path, params_path = f"{base}-symbol.json", f"{base}-0000.params"
    sym.save(sym_path)
    args, auxs = set(sym.list_arguments()), set(sym.list_auxiliary_states())
    mx.nd.save(params_path, {("arg:" if p.name in args else "aux:") + p.name: p._reduce()
                             for p in net.collect_params().values() if p.name in args | auxs})
    return sym_path, params_path


def _first_output(out):
    return out[0] if isinstance(out, (list, tuple)) else out


def _check_single_input(name: str, sym_path: str, params_path: str) -> None:
    """The exported graph must take one input, the images."""
    import mxnet as mx
    stored = {k.split(":", 1)[-1] for k in mx.nd.load(params_path)}
    inputs = [n for n in mx.sym.load(sym_path).list_inputs() if n not in stored]
    if len(inputs) != 1:
        raise ExportError(
            f"cannot export {name}: its graph takes {len(inputs)} inputs ({', '.join(inputs)}), "
            f"not one image batch; nothing was written")


def _reimport_diff(sym_path: str, params_path: str, x: np.ndarray,
                   reference: np.ndarray) -> float:
    import mxnet as mx
    from mxnet import gluon
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        imported = gluon.SymbolBlock.imports(sym_path, ["data"], params_path)
    got = _first_output(imported(mx.nd.array(x))).asnumpy()
    diff = float(np.abs(reference - got).max())
    if not np.allclose(reference, got, rtol=RTOL, atol=ATOL):
        raise ExportError(f"the re-imported symbol's outputs differ from the model's (max |diff| "
                          f"{diff:.3g}); nothing was written")
    return diff


def symbol_ops(symbol_json_path: str) -> dict[str, list[str]]:
    """``{operator: [node names]}`` of an exported symbol JSON."""
    with open(symbol_json_path) as f:
        graph = json.load(f)
    ops: dict[str, list[str]] = {}
    for node in graph.get("nodes", []):
        if node.get("op") not in (None, "null"):
            ops.setdefault(node["op"], []).append(node.get("name"))
    return ops


def unsupported_onnx_ops(ops: dict[str, list[str]]) -> dict[str, list[str]]:
    """The operators of ``ops`` (from :func:`symbol_ops`) that mxnet.onnx cannot convert."""
    from mxnet.onnx import get_operator_support
    supported = set(get_operator_support())
    return {op: nodes for op, nodes in ops.items() if op not in supported}


def export_onnx(name: str, sym_path: str, params_path: str, input_shape: tuple[int, int, int],
                onnx_path: str, metadata: dict[str, str] | None = None) -> str:
    """``mxnet.onnx.export_model`` with a dynamic batch axis, tidied for other tools
    (:func:`tidy_onnx`, with ``metadata``), then ``onnx.checker``; an ExportError naming the
    operators or the layer it cannot convert."""
    try:
        import mxnet.onnx as mxonnx
        import onnx
    except ImportError as err:
        raise ExportError(f"ONNX export needs the onnx package ({first_line(err)}); "
                          f"{install_extra('onnx')}") from None
    ops = symbol_ops(sym_path)
    missing = unsupported_onnx_ops(ops)
    if missing:
        detail = "; ".join(f"{op} (layers {', '.join(nodes[:3])}"
                           f"{', ...' if len(nodes) > 3 else ''})" for op, nodes in missing.items())
        raise ExportError(f"cannot export {name} to ONNX: mxnet.onnx has no converter for "
                          f"{detail}; nothing was written")
    root = logging.getLogger()
    level, root.level = root.level, logging.WARNING  # the exporter logs every node at INFO
    try:
        mxonnx.export_model(sym_path, params_path, in_shapes=[(1, *input_shape)],
                            in_types=[np.float32], onnx_file_path=onnx_path, dynamic=True,
                            dynamic_input_shapes=[(None, *input_shape)])
        model = tidy_onnx(onnx.load(onnx_path), metadata or {})
        onnx.checker.check_model(model)
        onnx.save(model, onnx_path)
    except Exception as err:  # the exporter's own failures, whatever their type
        where = _failing_node(err, ops)
        raise ExportError(f"cannot export {name} to ONNX: mxnet.onnx failed"
                          f"{' at ' + where if where else ''}: {type(err).__name__}: "
                          f"{first_line(err)}; nothing was written") from err
    finally:
        root.level = level
    return onnx_path


def tidy_onnx(model, metadata: dict[str, str]):
    """The ModelProto that ``mxnet.onnx`` wrote, made clean for other tools: weights are
    initializers only (not graph inputs too), the input is :data:`ONNX_INPUT` ``(batch, C, H,
    W)``, the output :data:`ONNX_OUTPUT` ``(batch, classes)``, ``metadata`` goes into
    ``metadata_props`` with the ``opset``, and gluoncnn is the producer. Returns ``model``,
    changed in place."""
    from . import __version__
    graph = model.graph
    weights = {t.name for t in graph.initializer}
    inputs = [i for i in graph.input if i.name not in weights]
    del graph.input[:]
    graph.input.extend(inputs)
    if len(graph.input) != 1 or len(graph.output) != 1:
        raise ExportError(f"the ONNX graph has {len(graph.input)} inputs and "
                          f"{len(graph.output)} outputs, not one of each")
    _rename(graph, graph.input[0].name, ONNX_INPUT)
    _rename(graph, graph.output[0].name, ONNX_OUTPUT)
    graph.input[0].type.tensor_type.shape.dim[0].dim_param = ONNX_BATCH
    output_dims = graph.output[0].type.tensor_type.shape.dim
    if len(output_dims) == 2 and "classes" in metadata:
        output_dims[0].dim_param = ONNX_BATCH
        output_dims[1].dim_value = int(metadata["classes"])
    graph.name = metadata.get("model", graph.name)
    model.producer_name, model.producer_version = "gluoncnn", __version__
    model.doc_string = metadata.get("description", "")
    del model.metadata_props[:]
    for key, value in {**metadata, "opset": onnx_opset(model)}.items():
        entry = model.metadata_props.add()
        entry.key, entry.value = key, str(value)
    return model


def _rename(graph, old: str, new: str) -> None:
    """Rename value ``old`` to ``new`` wherever the graph names it."""
    for node in graph.node:
        node.input[:] = [new if n == old else n for n in node.input]
        node.output[:] = [new if n == old else n for n in node.output]
    for value in (*graph.input, *graph.output, *graph.value_info):
        if value.name == old:
            value.name = new


def onnx_metadata(name: str, model_kwargs: dict[str, Any], input_shape: tuple[int, int, int],
                  classes: int, dataset: str | None = None, normalize=False) -> dict[str, str]:
    """What an ONNX file says about its model in ``metadata_props`` (strings, lists as JSON):
    ``model``, ``model_options``, ``description``, ``classes``, ``input_shape`` ``[C, H, W]``,
    ``input_name``/``output_name``, ``preprocessing`` and, when known, ``dataset``,
    ``class_names`` and the ``mean``/``std`` the training images were normalised with (from the
    dataset catalogue for ``normalize=True``). :func:`tidy_onnx` adds the ``opset``."""
    from .data.catalogue import DATASETS, canonical_name
    from .data.transforms import mean_std
    c, h, w = input_shape
    metadata = {"model": name, "model_options": json.dumps(model_kwargs, default=str),
                "description": f"{describe_model(name, model_kwargs)} for images "
                               f"({ONNX_BATCH}, {c}, {h}, {w}), exported by gluoncnn",
                "classes": str(classes), "input_shape": json.dumps([c, h, w]),
                "input_name": ONNX_INPUT, "output_name": ONNX_OUTPUT}
    if dataset is not None:
        dataset = canonical_name(dataset)
        metadata["dataset"] = dataset
        names = list(DATASETS[dataset].class_names)
        if len(names) == classes:
            metadata["class_names"] = json.dumps(names)
    pixels = "float32 pixels divided by 255 (in [0, 1])"
    if normalize is not False and normalize is not None and dataset is not None:
        mean, std = mean_std(dataset, normalize)
        metadata.update(mean=json.dumps(list(mean)), std=json.dumps(list(std)),
                        preprocessing=f"{pixels}, then (x - mean) / std per channel")
    else:
        metadata["preprocessing"] = f"{pixels}, not normalised"
    return metadata


def onnx_opset(model) -> int:
    """The ONNX opset (of the default domain) a ModelProto, or the file at that path, uses."""
    if isinstance(model, (str, os.PathLike)):
        import onnx
        model = onnx.load(model, load_external_data=False)
    return next(o.version for o in model.opset_import if o.domain in ("", "ai.onnx"))


def _failing_node(err: BaseException, ops: dict[str, list[str]]) -> str | None:
    text = str(err)
    for op, nodes in ops.items():
        for node in nodes:
            if node and node in text:
                return f"layer {node} (operator {op})"
    return None


def onnx_session(onnx_path: str):
    """An onnxruntime CPU session of the file, at onnxruntime's own log level (warnings)."""
    import onnxruntime as ort
    return ort.InferenceSession(onnx_path, providers=["CPUExecutionProvider"])


def check_onnx(onnx_path: str, x: np.ndarray, reference: np.ndarray) -> tuple[float | None, str]:
    """Run the ONNX model in onnxruntime on ``x`` and compare with ``reference``:
    ``(max |diff|, what was checked)``; an ExportError if they differ."""
    try:
        session = onnx_session(onnx_path)
    except ImportError:
        return None, f"not run: onnxruntime is not installed ({install_extra('onnx')})"
    got = session.run(None, {session.get_inputs()[0].name: x})[0]
    if got.shape != reference.shape:
        raise ExportError(f"the ONNX model gives outputs of shape {got.shape} for a batch of "
                          f"{len(x)}, the model {reference.shape}; nothing was written")
    diff = float(np.abs(reference - got).max())
    if not np.allclose(reference, got, rtol=RTOL, atol=ATOL):
        raise ExportError(f"the ONNX model's outputs differ from the model's by up to {diff:.3g} "
                          f"(batch {len(x)}, onnxruntime); nothing was written")
    return diff, f"onnxruntime at batch {len(x)}: max |diff| {diff:.2g}"


def _move_into(result: ExportResult, staging: str, out: str) -> ExportResult:
    """Move the staged files into ``out`` (the record last) and point ``result`` at them."""
    os.makedirs(out, exist_ok=True)
    moved = {}
    for field in ("symbol", "params", "onnx", "record"):
        path = getattr(result, field)
        if path:
            moved[field] = os.path.join(out, os.path.basename(path))
    record = result.as_dict()
    record.update(moved)
    with open(result.record, "w") as f:
        json.dump(record, f, indent=2, default=str)
        f.write("\n")
    for field, target in moved.items():
        os.replace(getattr(result, field), target)
        setattr(result, field, target)
    return result


def describe(result: ExportResult) -> str:
    """``lenet(classes=10) for input (N, 1, 28, 28)``."""
    c, h, w = result.input_shape
    return f"{describe_model(result.model, result.model_kwargs)} for input (N, {c}, {h}, {w})"
