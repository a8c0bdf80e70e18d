"""Symbolic checks the model tests share: nothing runs, MXNet only infers shapes."""
import mxnet as mx
import numpy as np


def trainable_params(net, shape):
    """Parameters a trainer updates (``grad_req != 'null'``: BN gamma/beta yes, running mean/var
    and fixed scales no) that the inference graph for input ``shape`` uses."""
    sym = net(mx.sym.var('data'))
    arg_shapes, _, _ = sym.infer_shape(data=shape)
    shapes = dict(zip(sym.list_arguments(), arg_shapes))
    return sum(int(np.prod(shapes[name])) for name, p in net.collect_params().items()
               if p.grad_req != 'null' and name in shapes)


def stage_shapes(net, shape):
    """Output shape (without the batch axis) after every stage of ``net.features``."""
    x, shapes = mx.sym.var('data'), []
    for stage in net.features:
        x = stage(x)
        shapes.append(x.infer_shape(data=shape)[1][0][1:])
    return shapes
