"""LeNet, and LeNet with batch normalisation (including a from-scratch ``BatchNorm``).

LeNet-5: Y. LeCun, L. Bottou, Y. Bengio, P. Haffner, "Gradient-based learning applied to
document recognition", Proceedings of the IEEE, 86(11), 1998.
Batch normalisation: S. Ioffe, C. Szegedy, "Batch Normalization: Accelerating Deep Network
Training by Reducing Internal Covariate Shift", ICML 2015.

The network is the d2l form of LeNet-5 (the LeNet and batch-normalisation chapters of *Dive
into Deep Learning*)::

    conv 6@5x5 pad 2 -> sigmoid -> avgpool 2/2 -> conv 16@5x5 -> sigmoid -> avgpool 2/2
    -> dense 120 -> sigmoid -> dense 84 -> sigmoid -> dense classes

LeNet-5 read 32x32 digits (the 28x28 MNIST images centred in a 32x32 field) with an unpadded
C1; padding a 28x28 image by 2 in the first convolution is the same thing, so at the natural
input 1x28x28 the maps are 6x28x28, 6x14x14, 16x10x10, 16x5x5 and the dense part sees 400
features, exactly as in the paper. Differences from the 1998 paper: sigmoid instead of the
scaled tanh, plain average pooling instead of the trainable subsampling, C3 connected to all
six S2 maps (the paper's sparse table left out), and a dense output instead of the RBF units.
LeNet has 61,706 parameters at 1x28x28 with 10 classes (lenet_bn: 62,158 trainable).

LeNet flattens into a dense layer, so it takes one input size: ``input_size`` (default 28; 32
reproduces LeNet-5's 32x32 field padded once more, and any size >= 12 builds, e.g. 224 for
the "ImageNet" configuration every zoo model offers, though LeNet was never meant for it).
"""
import warnings
from typing import Optional

from mxnet import autograd, nd
from mxnet import init as mx_init
from mxnet.gluon import nn

from ..errors import OptionError
from .common import Classifier, InputShapeError
from .registry import register_model

__all__ = ['batch_norm', 'BatchNorm', 'LeNet', 'lenet', 'lenet_bn']

LENET_PAPER = ('LeCun et al., Gradient-Based Learning Applied to Document Recognition, '
               'Proc. IEEE 86(11) 1998')
BN_PAPER = ('Ioffe & Szegedy: Batch Normalization: Accelerating Deep Network Training by '
            'Reducing Internal Covariate Shift, ICML 2015 (arXiv:1502.03167)')


def batch_norm(X, gamma, beta, moving_mean, moving_var, eps, momentum):
    """Batch normalisation from scratch, as in d2l; returns ``(Y, moving_mean, moving_var)``.

    In training (``autograd.is_training()``) ``X`` is normalised with the mean and (biased)
    variance of the current batch, per feature for a 2-d ``X`` (batch, features) and per
    channel over batch, height and width for a 4-d ``X``, and the moving statistics are
    updated as ``moving = momentum * moving + (1 - momentum) * batch_statistic``. In
    prediction ``X`` is normalised with the moving statistics. ``gamma``, ``beta`` and the
    moving statistics are shaped to broadcast against ``X``: ``(1, C)`` or ``(1, C, 1, 1)``.
    """
    if not autograd.is_training():
        X_hat = nd.broadcast_div(nd.broadcast_sub(X, moving_mean), nd.sqrt(moving_var + eps))
    else:
        if X.ndim not in (2, 4):
            raise OptionError(f"batch_norm takes a 2-d or 4-d input, got shape {X.shape}")
        axes = (0,) if X.ndim == 2 else (0, 2, 3)
        mean = X.mean(axis=axes, keepdims=True)
        var = (nd.broadcast_sub(X, mean) ** 2).mean(axis=axes, keepdims=True)
        X_hat = nd.broadcast_div(nd.broadcast_sub(X, mean), nd.sqrt(var + eps))
        moving_mean = momentum * moving_mean + (1.0 - momentum) * mean
        moving_var = momentum * moving_var + (1.0 - momentum) * var
    Y = nd.broadcast_add(nd.broadcast_mul(gamma, X_hat), beta)
    return Y, moving_mean, moving_var


class BatchNorm(nn.HybridBlock):
    """The from-scratch batch-normalisation layer of d2l, a drop-in for ``nn.BatchNorm``.

    ``num_features`` is the number of channels (or features); ``num_dims`` is 4 after a
    convolution (input ``(batch, C, H, W)``) and 2 after a dense layer (``(batch, C)``). Its
    parameters carry ``nn.BatchNorm``'s names and shapes (``gamma``, ``beta``,
    ``running_mean``, ``running_var``, each ``(C,)``), so weights load either way, and with
    the same ``momentum=0.9, eps=1e-5`` it computes what ``nn.BatchNorm`` computes (biased
    batch variance in the moving average too). One difference in timing: this layer updates
    the moving statistics in the forward pass, as d2l; MXNet's ``nn.BatchNorm`` does it in the
    backward pass, so a training-mode forward without ``backward()`` leaves its statistics
    unchanged. After a training step both hold the same values.

    The moving statistics are updated by Python assignment, so the layer runs imperatively:
    a hybridized graph cannot update them. Traced symbolically (``export``) it gives the
    prediction-mode formula; tracing it in training mode raises ``RuntimeError``.
    """

    def __init__(self, num_features, num_dims, momentum=0.9, eps=1e-5, **kwargs):
        super().__init__(**kwargs)
        if num_dims not in (2, 4):
            raise OptionError(f"num_dims must be 2 (after a dense layer) or 4 (after a "
                              f"convolution), got {num_dims}")
        self.num_features, self.num_dims = num_features, num_dims
        self.momentum, self.eps = momentum, eps
        with self.name_scope():
            self.gamma = self.params.get('gamma', shape=(num_features,), init=mx_init.One())
            self.beta = self.params.get('beta', shape=(num_features,), init=mx_init.Zero())
            self.running_mean = self.params.get('running_mean', shape=(num_features,),
                                                init=mx_init.Zero(), grad_req='null',
                                                differentiable=False)
            self.running_var = self.params.get('running_var', shape=(num_features,),
                                               init=mx_init.One(), grad_req='null',
                                               differentiable=False)

    def hybrid_forward(self, F, x, gamma, beta, running_mean, running_var):
        shape = (1, -1) if self.num_dims == 2 else (1, -1, 1, 1)
        if F is nd:
            if x.ndim != self.num_dims:
                raise InputShapeError(f"BatchNorm(num_dims={self.num_dims}) got a {x.ndim}-d "
                                      f"input of shape {x.shape}")
            Y, mean, var = batch_norm(x, gamma.reshape(shape), beta.reshape(shape),
                                      running_mean.reshape(shape), running_var.reshape(shape),
                                      self.eps, self.momentum)
            if autograd.is_training():
                with autograd.pause():  # the statistics are state, not part of the graph
                    running_mean[:] = mean.reshape((-1,))
                    running_var[:] = var.reshape((-1,))
            return Y
        if autograd.is_training():
            raise RuntimeError("the from-scratch BatchNorm updates its moving statistics in "
                               "Python and cannot train hybridized; run it imperatively or "
                               "use mxnet.gluon.nn.BatchNorm")
        x_hat = F.broadcast_div(F.broadcast_sub(x, running_mean.reshape(shape)),
                                F.sqrt(running_var.reshape(shape) + self.eps))
        return F.broadcast_add(F.broadcast_mul(gamma.reshape(shape), x_hat),
                               beta.reshape(shape))

    def __repr__(self):
        return (f"{type(self).__name__}(num_features={self.num_features}, "
                f"num_dims={self.num_dims}, momentum={self.momentum}, eps={self.eps})")


class LeNet(Classifier):
    """LeNet-5 in the d2l form; with ``batch_norm=True`` the BN-LeNet of d2l.

    Input ``(batch, in_channels, input_size, input_size)``, output ``(batch, classes)``.
    ``features`` has two stages (conv, [BN], activation, avgpool); ``output`` is the dense
    part. ``batch_norm=True`` puts a batch-normalisation layer after every convolution and
    every hidden dense layer, before the activation; ``scratch_bn=True`` makes it the
    from-scratch :class:`BatchNorm` (the net then runs imperatively: ``hybridize()`` warns
    and does nothing). d2l's BN chapter drops the first padding (a 16x4x4 map before the
    dense part); here both nets keep it so that they differ only by the BN layers.
    """

    def __init__(self, classes=10, in_channels=1, input_size=28, activation='sigmoid',
                 batch_norm=False, scratch_bn=False, **kwargs):
        if input_size < 12:
            raise OptionError(f"LeNet needs input_size >= 12 (its maps shrink to 16x1x1 at "
                              f"12), got {input_size}")
        super().__init__(in_channels=in_channels, input_size=(input_size, input_size),
                         default_init=mx_init.Xavier(), **kwargs)
        self.scratch_bn = bool(batch_norm and scratch_bn)

        def bn(num_features, num_dims):
            if self.scratch_bn:
                return BatchNorm(num_features, num_dims)
            return nn.BatchNorm()

        with self.name_scope():
            self.features = nn.HybridSequential(prefix='features_')
            for i, (channels, padding) in enumerate(((6, 2), (16, 0)), 1):
                stage = nn.HybridSequential(prefix=f'stage{i}_')
                stage.add(nn.Conv2D(channels, kernel_size=5, padding=padding))
                if batch_norm:
                    stage.add(bn(channels, 4))
                stage.add(nn.Activation(activation), nn.AvgPool2D(pool_size=2, strides=2))
                self.features.add(stage)
            self.output = nn.HybridSequential(prefix='output_')
            for units in (120, 84):
                self.output.add(nn.Dense(units))
                if batch_norm:
                    self.output.add(bn(units, 2))
                self.output.add(nn.Activation(activation))
            self.output.add(nn.Dense(classes))

    def hybrid_forward(self, F, x):
        return self.output(self.features(x))

    def hybridize(self, active=True, **kwargs):
        if active and self.scratch_bn:
            warnings.warn("LeNet with the from-scratch BatchNorm runs imperatively (it updates "
                          "its moving statistics in Python); hybridize() is ignored",
                          stacklevel=2)
            return
        super().hybridize(active, **kwargs)


def _size(small_input, input_size):
    return input_size if input_size is not None else (28 if small_input else 224)


@register_model(family='lenet', paper=LENET_PAPER, input_shape=(1, 28, 28),
                params=61_706, macs=429_332)
def lenet(classes: int = 10, in_channels: int = 1, small_input: bool = True,
          input_size: Optional[int] = None, activation: str = 'sigmoid') -> LeNet:
    """LeNet-5 in the d2l form, for 1x28x28 images (Fashion-MNIST / MNIST).

    ``input_size`` overrides the input side (default 28, or 224 with ``small_input=False``);
    ``activation``: 'sigmoid' (d2l, close to the paper's tanh), 'tanh' or 'relu'.
    """
    return LeNet(classes, in_channels, _size(small_input, input_size), activation)


@register_model(family='lenet', paper=BN_PAPER, input_shape=(1, 28, 28),
                params=62_158, macs=442_348)
def lenet_bn(classes: int = 10, in_channels: int = 1, small_input: bool = True,
             input_size: Optional[int] = None, activation: str = 'sigmoid',
             scratch_bn: bool = False) -> LeNet:
    """LeNet with batch normalisation before every activation (d2l's BN chapter).

    ``scratch_bn=True`` uses the from-scratch :class:`BatchNorm` instead of ``nn.BatchNorm``
    (imperative only). Other options as :func:`lenet`.
    """
    return LeNet(classes, in_channels, _size(small_input, input_size), activation,
                 batch_norm=True, scratch_bn=scratch_bn)
