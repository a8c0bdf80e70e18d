"""What every gluoncnn model shares: input type, dtype and shape checks with a clear message,
the paper's initialisation as the default of ``initialize()``, parameters that are safe to read
right after a call (see :meth:`Classifier.__call__`), iteration over the stages (d2l's
``for layer in net: X = layer(X)``) and parameter counts split into inference and
training-only parts."""
from __future__ import annotations

from collections.abc import Iterator

import mxnet as mx
import numpy as np
from mxnet import autograd, nd
from mxnet import init as mx_init
from mxnet.gluon import nn

from ..errors import InputError


def scale_channels(channels: int, width: float, multiple: int = 1) -> int:
    """``channels`` times the ``width`` multiplier, rounded, at least 1 (d2l's width reduction):
    ``max(1, int(round(channels * width)))``; with ``multiple`` > 1, rounded to a multiple of
    it instead (grouped convolutions). ``width=1`` gives ``channels`` back."""
    return max(multiple, multiple * int(round(channels * width / multiple)))


class InputShapeError(InputError, ValueError):
    """The input's channels or size do not fit the model; the message says what it expected."""


class Classifier(nn.HybridBlock):
    """Base class of every model in the zoo.

    Subclasses build ``self.features`` (the stages, a ``HybridSequential``) and ``self.output``
    (the classifier head) inside ``self.name_scope()``, and set:

    - ``in_channels``: channels the first layer takes;
    - ``input_size``: ``(H, W)`` when the net only takes one size (it flattens into a Dense
      layer), else ``None``;
    - ``min_size``: the smallest height/width every stage can still take;
    - ``default_init``: the paper's initialiser, used by ``initialize()`` when none is given;
    - ``foreign_first_filters`` (a class attribute): ``{filters: why}``, parameter files whose
      first convolution has that many filters are another net of the same name, which
      :func:`gluoncnn.models.load_pretrained` refuses saying why.

    Inputs are checked before MXNet's own shape inference, so a wrong type, dtype or shape gives
    one sentence that says what was expected and how to get it. ``for stage in net`` runs over
    the stages of ``features`` and then ``output``; ``param_counts(shape)`` splits the
    parameters into those of the inference graph, training-only and non-trainable ones.
    """

    foreign_first_filters: dict[int, str] = {}

    def __init__(self, in_channels=3, input_size=None, min_size=1, default_init=None, **kwargs):
        super().__init__(**kwargs)
        self.in_channels = in_channels
        self.input_size = tuple(input_size) if input_size is not None else None
        self.min_size = min_size
        self.default_init = default_init if default_init is not None else mx_init.Xavier()
        self._last_mode = {}    # context -> training flag of the last call there (see __call__)
        self.param_dtype = np.dtype('float32')   # the input dtype the net takes (see cast)

    def initialize(self, init=None, ctx=None, verbose=False, force_reinit=False):
        """Initialise parameters; with no ``init``, the paper's scheme (``self.default_init``)."""
        self._last_mode.clear()     # fresh arrays: the next call may change their layout again
        return super().initialize(self.default_init if init is None else init, ctx=ctx,
                                  verbose=verbose, force_reinit=force_reinit)

    def load_parameters(self, *args, **kwargs):
        self._last_mode.clear()
        return super().load_parameters(*args, **kwargs)

    def __iter__(self) -> Iterator[nn.Block]:
        """The stages of ``features``, then ``output``: running them in turn is the net (the
        notes' ``for layer in net: X = layer(X); print(layer.name, X.shape)``)."""
        yield from self.features
        yield self.output

    def cast(self, dtype):
        """Cast the parameters to ``dtype``; the net then takes input of that dtype."""
        self.param_dtype = np.dtype(dtype)
        return super().cast(dtype)

    def check_input_type(self, x) -> None:
        """Raise :class:`InputError` unless ``x`` is an NDArray of the parameters' dtype."""
        dtype = self.param_dtype
        if isinstance(x, np.ndarray):
            raise InputError(f"{type(self).__name__} takes an mx.nd.array, got a numpy array; "
                             f"pass mx.nd.array(x, dtype='{dtype.name}')")
        if isinstance(x, nd.NDArray) and np.dtype(x.dtype) != dtype:
            raise InputError(f"{type(self).__name__} takes {dtype.name} input, got "
                             f"{np.dtype(x.dtype).name}; pass an mx.nd.array of {dtype.name} "
                             f"(x.astype('{dtype.name}'))")
        if not isinstance(x, (nd.NDArray, mx.sym.Symbol)):
            raise InputError(f"{type(self).__name__} takes an mx.nd.array of shape "
                             f"{self.expected_shape()}, got {type(x).__name__}")

    def training_graph(self, x):
        """The outputs a training step computes, called on a Symbol (default: the inference
        graph; GoogLeNet adds its auxiliary heads)."""
        return self(x)

    def param_counts(self, input_shape) -> dict[str, int]:
        """Parameters by role for an input of ``input_shape`` ``(N, C, H, W)``, from symbolic
        shape inference (nothing runs, nothing is initialised): ``inference`` (trainable
        parameters the inference graph uses), ``train_only`` (trainable parameters only a
        training step uses, e.g. auxiliary heads) and ``non_trainable`` (BN moving
        statistics)."""
        data = mx.sym.var('data')
        inference = self(data)
        training = self.training_graph(data)
        if isinstance(training, (tuple, list)):
            training = mx.sym.Group(list(training))
        arg_shapes, _, aux_shapes = training.infer_shape(data=tuple(input_shape))
        shapes = dict(zip(training.list_arguments(), arg_shapes))
        shapes.update(zip(training.list_auxiliary_states(), aux_shapes))
        used = set(inference.list_inputs())
        counts = {'inference': 0, 'train_only': 0, 'non_trainable': 0}
        for name, param in self.collect_params().items():
            if name not in shapes:
                continue
            size = int(np.prod(shapes[name]))
            if param.grad_req == 'null':
                counts['non_trainable'] += size
            else:
                counts['inference' if name in used else 'train_only'] += size
        return counts

    def __call__(self, x, *args):
        """Run the net; on the first call on a device and on every switch between training and
        inference mode there, wait until MXNet has finished all pending work before returning.

        Why: with oneDNN (MXNet's CPU build), a convolution or dense layer run in inference mode
        rewrites its weight array *in place* into oneDNN's blocked layout, and one run in
        training mode rewrites it back. MXNet queues that rewrite while the layer executes, i.e.
        after ``net(x)`` has returned, so ``param.data().asnumpy()`` (or ``save_parameters``)
        called right after the call can copy the array while it is being rewritten and get a
        mix of the two layouts: seeded initialisation then looks irreproducible although the
        values themselves are identical. Only these calls can start a rewrite (afterwards the
        weights already have the layout of the mode), so the wait costs one synchronisation
        per mode switch, not one per batch; ``net(x)`` stays asynchronous otherwise.

        The input's type and dtype are checked first (:meth:`check_input_type`); a Symbol
        (``export``, ``summary``, a hybridized parent) goes through unchecked."""
        if not isinstance(x, mx.sym.Symbol):
            self.check_input_type(x)
        out = super().__call__(x, *args)
        if isinstance(x, nd.NDArray):
            mode = autograd.is_training()
            if self._last_mode.get(x.context) is not mode:
                nd.waitall()
                self._last_mode[x.context] = mode
        return out

    def expected_shape(self):
        """The input shape as text, e.g. ``(batch, 1, 28, 28)`` or ``(batch, 3, >=32, >=32)``."""
        if self.input_size is not None:
            h, w = self.input_size
            return f"(batch, {self.in_channels}, {h}, {w})"
        return f"(batch, {self.in_channels}, >={self.min_size}, >={self.min_size})"

    def check_input(self, shape):
        """Raise :class:`InputShapeError` if an input of ``shape`` cannot go through the net."""
        name = type(self).__name__
        if len(shape) != 4:
            raise InputShapeError(
                f"{name} expects a 4-d batch {self.expected_shape()}, got shape {tuple(shape)}; "
                f"add the batch axis with x.expand_dims(0) for a single image")
        _, c, h, w = shape
        if c != self.in_channels:
            raise InputShapeError(
                f"{name} expects input {self.expected_shape()}, got {tuple(shape)} with {c} "
                f"channel(s); build the model with in_channels={c}")
        if self.input_size is not None and (h, w) != self.input_size:
            raise InputShapeError(
                f"{name} expects input {self.expected_shape()}, got {tuple(shape)}; resize the "
                f"images to {self.input_size[0]}x{self.input_size[1]} (e.g. resize= in "
                f"gluoncnn.data loaders) or build the model for that size")
        if self.input_size is None and min(h, w) < self.min_size:
            raise InputShapeError(
                f"{name} expects input {self.expected_shape()}, got {tuple(shape)}: images smaller "
                f"than {self.min_size}x{self.min_size} shrink to nothing inside the net; resize "
                f"them (resize= in gluoncnn.data loaders) or use small_input=True where offered")

    def forward(self, x, *args):
        if isinstance(x, nd.NDArray):
            self.check_input(x.shape)
        return super().forward(x, *args)
