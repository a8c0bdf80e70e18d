"""The numbers a CNN course computes by hand, computed for any Gluon model.

- :func:`summary` -- a Keras-style table of a net: one row per layer, nested blocks indented
  (Inception branches, residual bodies, dense layers, Fire modules), with output shape,
  parameters, activations and multiply-adds, and the totals; ``summary(...).row(path)`` is the
  :class:`Row` of one block.
- :func:`receptive_field` -- receptive field size, jump and start of every layer.
- :func:`compare` / :func:`plot_comparison` -- parameters, multiply-adds and activation memory
  of several models side by side (the "which architecture" chapter).
- The hand formulas as functions a chapter can show: :func:`conv_output_size`,
  :func:`conv_params`, :func:`conv_macs`, :func:`dense_params`, :func:`dense_macs`,
  :func:`inception_cost`, :func:`fire_cost`.

Modules
-------
==================  ==========================================================================
``formulas``        the hand formulas (output size, parameters, multiply-adds, Inception, Fire)
``operators``       what one MXNet operator costs (kind, multiply-adds, activation memory)
``trace``           the symbolic forward with hooks: :class:`Trace`, :class:`Call`, :func:`trace`
``summary``         :class:`Row`, :class:`Summary` (``.row(path)``), :func:`summary`,
                    :func:`compute_figures` (a registered model's figures, from its code)
``receptive``       :func:`receptive_field`
``compare``         :func:`compare`, :func:`plot_comparison`, :func:`throughput` (the timer)
``formatting``      numbers as the tables print them
==================  ==========================================================================

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
from .compare import compare, plot_comparison, throughput
from .formulas import (
    conv_macs,
    conv_output_size,
    conv_params,
    dense_macs,
    dense_params,
    fire_cost,
    inception_cost,
)
from .operators import KINDS  # noqa: F401  (the kinds of Summary.macs_by_kind)
from .receptive import receptive_field
from .summary import Row, Summary, compute_figures, summarise, summary
from .trace import Call, Trace, trace

__all__ = ["summary", "Summary", "Row", "receptive_field", "compare", "plot_comparison",
           "conv_output_size", "conv_params", "conv_macs", "dense_params", "dense_macs",
           "inception_cost", "fire_cost", "throughput", "trace", "Trace", "Call", "summarise",
           "compute_figures"]
