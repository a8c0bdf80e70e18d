"""Mixed precision with MXNet's AMP (``mxnet.contrib.amp``): float16 on GPUs, bfloat16 on CPUs
that compute it natively (AVX512_BF16 or AMX), float32 elsewhere.

The parameters stay float32 (AMP casts them to the low precision inside the operators it lists),
so checkpoints and exported models are float32. ``amp.init`` patches MXNet's operators for the
whole process and cannot be undone: once a run used AMP, later nets in the same Python process
run mixed precision too (evaluation included, with float32 outputs), and the process cannot
switch between float16 and bfloat16.
"""
from __future__ import annotations

import warnings
from typing import Union

import mxnet as mx

from .. import runtime
from ..config import AMP_CHOICES, amp_name
from ..errors import OptionError
from .logs import console_logger

#: What ``fit(amp=...)`` accepts: :data:`gluoncnn.config.AMP_CHOICES`, and ``None``/``False``
#: (``'off'``) and ``True`` (``'float16'``, as before bfloat16 existed).
AmpArg = Union[None, bool, str]

log = console_logger()
_initialised_dtype: str | None = None


def _warn(message: str) -> None:
    warnings.warn(message, RuntimeWarning, stacklevel=4)
    log.warning(message)


def cpu_can_emulate_bf16() -> bool:
    """True when oneDNN can run bfloat16 here at all: it emulates it on AVX-512 cores
    (avx512bw) without AVX512_BF16, and has no bfloat16 kernels below AVX-512."""
    return runtime.cpu_has_native_bf16() or "avx512bw" in runtime.cpu_flags()


def choose_amp_dtype(amp: AmpArg, ctxs: list[mx.Context]) -> str | None:
    """The low-precision type ``fit(amp=amp)`` trains in on ``ctxs``: ``'float16'``,
    ``'bfloat16'`` or None (float32).

    ``'auto'``: float16 on GPUs, bfloat16 on CPUs with native bfloat16
    (:func:`gluoncnn.runtime.cpu_has_native_bf16`), float32 otherwise. ``True``/``'float16'`` on a
    CPU warn and train in float32 (MXNet's CPU operators have no float16); ``'bfloat16'`` on a CPU
    without native support warns that it is emulated (slower than float32) and runs it on
    AVX-512 CPUs; below AVX-512 it is an :class:`OptionError` (oneDNN has no kernels there).
    """
    amp = amp_name(amp)
    if amp not in AMP_CHOICES:
        raise OptionError(f"amp must be one of 'off' (or None), 'float16', 'bfloat16' or 'auto', "
                          f"got {amp!r}")
    if amp == "off":
        return None
    on_gpus = all(c.device_type == "gpu" for c in ctxs)
    if amp == "auto":
        if on_gpus:
            return "float16"
        return "bfloat16" if runtime.cpu_has_native_bf16() else None
    if amp == "float16":
        if on_gpus:
            return "float16"
        _warn("amp='float16' needs GPU contexts (float16 with mxnet.contrib.amp); on the "
                   "CPU training continues in float32 (amp='auto' picks bfloat16 on CPUs that "
                   "have it)")
        return None
    if not on_gpus:
        if not runtime.cpu_has_native_bf16():
            if not cpu_can_emulate_bf16():
                raise OptionError(
                    "this CPU has no AVX-512, and MXNet 1.9.1's oneDNN runs bfloat16 only on "
                    "AVX-512 CPUs (it fails with 'could not create a primitive descriptor'); "
                    "use amp='auto' (float32 here) or amp=None")
            _warn("this CPU has no native bfloat16 (AVX512_BF16 or AMX): amp='bfloat16' is "
                       "emulated and slower than float32 here; amp='auto' stays in float32")
        return "bfloat16"
    raise OptionError("amp='bfloat16' runs on CPUs (oneDNN); on GPUs use amp='float16' or 'auto'")


def initialised_dtype() -> str | None:
    """The precision ``amp.init`` patched this process for (None: not patched)."""
    return _initialised_dtype


def init_amp(dtype: str | None) -> bool:
    """Patch MXNet's operators for ``dtype`` (once per process); True when AMP is on."""
    global _initialised_dtype
    if dtype is None:
        return False
    if _initialised_dtype not in (None, dtype):
        raise OptionError(f"this Python process already trains with amp={_initialised_dtype!r} "
                          f"(mxnet.contrib.amp cannot be switched); start a new process for "
                          f"amp={dtype!r}")
    if _initialised_dtype is None:
        from mxnet.contrib import amp
        amp.init(target_dtype=dtype)
        _initialised_dtype = dtype
    return True


def init_amp_trainer(trainer, dtype: str | None) -> None:
    """float16 needs dynamic loss scaling; bfloat16 has float32's range and needs none."""
    if dtype == "float16":
        from mxnet.contrib import amp
        amp.init_trainer(trainer)


def loss_scaler(trainer, dtype: str | None):
    """The trainer's AMP loss scaler (float16), else None."""
    return getattr(trainer, "_amp_loss_scaler", None) if dtype == "float16" else None


class LowPrecisionEvaluation:
    """Evaluating a net that trains in float32 through a ``dtype`` (bfloat16) copy of its graph:
    ``amp.convert_hybrid_block`` of the hybridized net, rebuilt before each evaluation (its
    parameters are copies of the net's at that moment), without ``amp.init`` (which would patch
    the training too). :func:`gluoncnn.train.calibrate.choose_eval_dtype` decides when it is
    faster; :meth:`agrees` checks that its predictions match float32's before it is trusted."""

    #: The share of one batch's predictions that must agree with float32's.
    AGREEMENT = 0.99

    def __init__(self, net, ctx: mx.Context, dtype: str = "bfloat16"):
        self.net, self.ctx, self.dtype = net, ctx, dtype
        self.checked = False  # whether :meth:`agreement` was checked on a test batch

    def block(self):
        """The net in ``dtype`` with its current weights, hybridized."""
        from mxnet.contrib import amp
        with warnings.catch_warnings():  # SymbolBlock cannot type its input before one arrives
            warnings.simplefilter("ignore", UserWarning)
            block = amp.convert_hybrid_block(self.net, target_dtype=self.dtype, ctx=self.ctx)
        block.hybridize(static_alloc=True, static_shape=True)
        return block

    def agreement(self, X) -> float:
        """The share of the images ``X`` both precisions give the same class."""
        with mx.autograd.predict_mode():
            ours = self.block()(X).astype("float32").argmax(axis=1)
            theirs = self.net(X).astype("float32").argmax(axis=1)
        return float((ours == theirs).mean().asscalar())
