"""Export a model for inference: MXNet's symbol JSON + parameters and, optionally, ONNX.

:func:`export_model` writes ``NAME-symbol.json``, ``NAME-0000.params`` (``HybridBlock.export``),
``NAME.onnx`` with ``onnx=True`` (``mxnet.onnx``, batch axis dynamic: any batch size runs) and
``NAME-export.json`` (what was exported and how well it matched). Every file is checked before
it is kept: the symbol is re-imported with ``gluon.SymbolBlock.imports`` and the ONNX model is run
in onnxruntime, both on a random batch of ``check_batch`` images, and compared with the model
itself (the largest absolute difference is reported). Everything is written into a temporary
folder beside ``out`` and moved into place only when all of it succeeded: a model that cannot be
exported (FractalNet: its drop-path weights are inputs of its graph; an operator without an ONNX
converter) is refused with one line and leaves nothing behind.
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
from .utils import first_line

#: Outputs of the exported model and of the model itself may differ by float rounding only.
RTOL, ATOL = 1e-4, 1e-5
#: onnxruntime logs only errors: at its default (warning) it prints about a hundred lines per
#: model about initializers that are also graph inputs, which mxnet.onnx writes for every
#: parameter and which are harmless.
ORT_LOG_SEVERITY_ERROR = 3


class ExportError(GluonCNNError, RuntimeError):
    """A model that cannot be exported as asked; nothing was written."""


@dataclasses.dataclass
class ExportResult:
    """The files written and how closely each export reproduces the model."""
    model: str
    model_kwargs: dict[str, Any]
    input_shape: tuple[int, int, int]
    symbol: str
    params: str
    reimport_max_abs_diff: float
    check_batch: int
    onnx: str | None = None
    onnx_max_abs_diff: float | None = None
    onnx_check: str | None = None
    record: str | None = None

    def as_dict(self) -> dict[str, Any]:
        return dataclasses.asdict(self)


def export_model(net, name: str, model_kwargs: dict[str, Any], input_shape: tuple[int, int, int],
                 out: str, prefix: str | None = None, onnx: bool = False,
                 check_batch: int = 3) -> ExportResult:
    """Export ``net`` (built as ``name(**model_kwargs)``, parameters loaded) for images of
    ``input_shape`` ``(C, H, W)`` into folder ``out``; see the module's docstring."""
    import mxnet as mx
    if check_batch < 1:
        raise ExportError(f"check_batch must be a positive batch size, got {check_batch!r}")
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
        net.hybridize(static_alloc=True, static_shape=True)
        with mx.autograd.predict_mode():
            net(mx.nd.zeros((1, *input_shape)))
        net.export(base, epoch=0)
        sym_path, params_path = f"{base}-symbol.json", f"{base}-0000.params"
        _check_single_input(name, sym_path, params_path)
        x = np.random.uniform(size=(check_batch, *input_shape)).astype(np.float32)
        reference = _first_output(net(mx.nd.array(x))).asnumpy()
        reimport = _reimport_diff(sym_path, params_path, x, reference)
        result = ExportResult(name, dict(model_kwargs), tuple(input_shape), sym_path,
                              params_path, reimport, check_batch)
        if onnx:
            result.onnx = export_onnx(name, sym_path, params_path, input_shape, f"{base}.onnx")
            result.onnx_max_abs_diff, result.onnx_check = check_onnx(result.onnx, x, reference)
        result.record = f"{base}-export.json"
        with open(result.record, "w") as f:
            json.dump(result.as_dict(), f, indent=2, default=str)
            f.write("\n")
        return _move_into(result, staging, out)
    finally:
        shutil.rmtree(staging, ignore_errors=True)


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
            f"not one image batch (FractalNet's drop-path join weights are graph inputs); "
            f"nothing was written")


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
                onnx_path: str) -> str:
    """``mxnet.onnx.export_model`` with a dynamic batch axis, then ``onnx.checker``; an
    ExportError naming the operators or the layer it cannot convert."""
    try:
        import mxnet.onnx as mxonnx
        import onnx
    except ImportError as err:
        raise ExportError(f"ONNX export needs the onnx package ({first_line(err)}); "
                          f"pip install onnx==1.14.1") from None
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
        onnx.checker.check_model(onnx.load(onnx_path))
    except Exception as err:  # the exporter's own failures, whatever their type
        where = _failing_node(err, ops)
        raise ExportError(f"cannot export {name} to ONNX: mxnet.onnx failed"
                          f"{' at ' + where if where else ''}: {type(err).__name__}: "
                          f"{first_line(err)}; nothing was written") from err
    finally:
        root.level = level
    return onnx_path


def _failing_node(err: BaseException, ops: dict[str, list[str]]) -> str | None:
    text = str(err)
    for op, nodes in ops.items():
        for node in nodes:
            if node and node in text:
                return f"layer {node} (operator {op})"
    return None


def onnx_session(onnx_path: str):
    """An onnxruntime CPU session that logs errors only (see :data:`ORT_LOG_SEVERITY_ERROR`)."""
    import onnxruntime as ort
    options = ort.SessionOptions()
    options.log_severity_level = ORT_LOG_SEVERITY_ERROR
    return ort.InferenceSession(onnx_path, options, providers=["CPUExecutionProvider"])


def check_onnx(onnx_path: str, x: np.ndarray, reference: np.ndarray) -> tuple[float | None, str]:
    """Run the ONNX model in onnxruntime on ``x`` and compare with ``reference``:
    ``(max |diff|, what was checked)``; an ExportError if they differ."""
    try:
        session = onnx_session(onnx_path)
    except ImportError:
        return None, "not run: onnxruntime is not installed (pip install onnxruntime)"
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
