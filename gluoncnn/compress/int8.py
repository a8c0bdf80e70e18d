"""Post-training int8 quantization with MXNet's own tool (``mxnet.contrib.quantization``,
oneDNN kernels on the CPU)."""
import json
import warnings

import mxnet as mx
import numpy as np
from mxnet import nd
from mxnet.gluon import nn

from ..errors import InputError, OptionError
from ..utils import first_line
from .blocks import check_initialized, compressible_layers

_INT8_OPS = {"Convolution", "FullyConnected", "Pooling", "Flatten", "Concat", "elemwise_add",
             "_Plus", "BatchNorm", "Activation", "relu", "Dropout", "Reshape", "_copy",
             "broadcast_add", "elemwise_mul", "_contrib_quantize_v2"}


def _graph_ops(sym):
    return [(n["op"], n["name"]) for n in json.loads(sym.tojson())["nodes"] if n["op"] != "null"]


def _calib_batches(calib_data, num_calib_batches):
    batches = []
    for batch in calib_data:
        x = batch[0] if isinstance(batch, (list, tuple)) else batch
        if not isinstance(x, nd.NDArray):
            x = nd.array(np.asarray(x))
        if batches and x.shape != batches[0][0].shape:
            continue  # the calibration module is bound to one shape: skip a short last batch
        batches.append([x.as_in_context(mx.cpu())])
        if len(batches) >= num_calib_batches:
            break
    if not batches:
        raise OptionError("calib_data gave no batch: pass a DataLoader (or list) of real images")
    return batches


def quantize(net: nn.HybridBlock, calib_data, calib_mode: str = "naive",
             num_calib_batches: int = 5, quantized_dtype: str = "auto",
             exclude_layers=None, exclude_operators=None, ctx=None):
    """Post-training int8 quantization of a trained Gluon HybridBlock with
    ``mxnet.contrib.quantization.quantize_net_v2`` (oneDNN backend on CPU).

    - ``calib_data``: real images (a DataLoader of ``(X, y)`` or ``X`` batches); the first
      ``num_calib_batches`` batches of one shape calibrate the activation ranges.
    - ``calib_mode``: ``'naive'`` (min/max of the layer outputs), ``'entropy'`` (KL-optimal
      thresholds, slower) or ``'none'`` (ranges computed at run time, slower inference).
    - ``quantized_dtype``: ``'auto'`` (uint8 after ReLU, int8 elsewhere), ``'int8'``, ``'uint8'``.
    - ``exclude_layers`` / ``exclude_operators``: symbol names / operator names to keep float32.

    The net is hybridized (MXNet requires it) and its parameters are moved to the CPU.
    Convolutions and Dense layers are fused with
    their BatchNorm/ReLU/residual add by oneDNN and run in int8; operators oneDNN has no int8
    kernel for (sigmoid/tanh/softrelu activations, LRN, ...) run in float32 between a
    dequantize and a quantize node (:func:`quantized_ops` lists what ran where). On disk, the
    exported int8 model stores fully-connected weights as int8 while oneDNN keeps convolution
    weights float32 and quantizes them when the model is loaded.

    Returns the quantized ``SymbolBlock`` (call it like the float net, on CPU NDArrays).
    """
    from mxnet.base import MXNetError
    from mxnet.contrib import quantization as mxq
    ctx = mx.cpu() if ctx is None else ctx
    if ctx.device_type != "cpu":
        raise OptionError(f"int8 quantization here uses oneDNN on the CPU; got ctx={ctx}. Copy the "
                          "parameters to the CPU (net.collect_params().reset_ctx(mx.cpu())) first")
    if not isinstance(net, nn.HybridBlock):
        raise InputError(f"quantize needs a Gluon HybridBlock, got {type(net).__name__}")
    if calib_mode not in ("naive", "entropy", "none"):
        raise OptionError(f"calib_mode must be 'naive', 'entropy' or 'none', got {calib_mode!r}")
    if quantized_dtype not in ("auto", "int8", "uint8"):
        raise OptionError(f"quantized_dtype must be 'auto', 'int8' or 'uint8', "
                          f"got {quantized_dtype!r}")
    if not isinstance(num_calib_batches, int) or num_calib_batches < 1:
        raise OptionError(f"num_calib_batches must be a positive integer, "
                          f"got {num_calib_batches!r}")
    compressible_layers(net)  # a net with nothing to quantize: clear error
    batches = _calib_batches(calib_data, num_calib_batches)
    net.hybridize()
    net(batches[0][0].as_in_context(net.collect_params().list_ctx()[0]))  # ends deferred init
    check_initialized(net)
    net.collect_params().reset_ctx(ctx)
    net(batches[0][0])
    ops = _graph_ops(net(mx.sym.var("data")))
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        try:
            qnet = mxq.quantize_net_v2(
                net, quantized_dtype=quantized_dtype, quantize_mode="full",
                exclude_layers=exclude_layers, exclude_operators=exclude_operators,
                calib_data=batches if calib_mode != "none" else None,
                data_shapes=None if calib_mode != "none" else
                [mx.io.DataDesc("data", batches[0][0].shape)],
                calib_mode=calib_mode, ctx=ctx)
            qnet(batches[0][0]).wait_to_read()
        except MXNetError as e:
            unsupported = sorted({f"{op} ({name})" for op, name in ops if op not in _INT8_OPS})
            raise RuntimeError(
                "MXNet's int8 quantization failed on this net. Operators without a known int8 "
                f"path here: {', '.join(unsupported) or 'none'}. Keep them float32 with "
                "exclude_layers=[names] or exclude_operators=[ops]. MXNet said: "
                f"{first_line(e)}") from e
    return qnet


def quantized_ops(qnet: nn.SymbolBlock) -> tuple[list, list]:
    """``(int8, float32)``: the operator nodes of a quantized net that run in int8 and those that
    run in float32 (lists of ``(op, name)``; quantize/dequantize nodes are left out)."""
    ops = _graph_ops(qnet(mx.sym.var("data")))
    q = [(op, n) for op, n in ops if n.startswith("quantized_")]
    f = [(op, n) for op, n in ops if not n.startswith("quantized_")
         and op not in ("_contrib_quantize_v2", "_contrib_dequantize", "_contrib_requantize")]
    return q, f
