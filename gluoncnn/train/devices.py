"""Devices: which contexts exist, reading ``ctx=`` arguments, and where a net's parameters live."""
from __future__ import annotations

from collections.abc import Iterable
from typing import Union

import mxnet as mx

from ..errors import GluonCNNError

CtxArg = Union[None, str, mx.Context, Iterable[str | mx.Context]]


class ContextError(GluonCNNError, ValueError):
    """A context (device) was asked for that this machine or this MXNet build does not have."""


def _num_gpus() -> int:
    try:
        return mx.context.num_gpus()
    except Exception:  # a CPU build without CUDA can raise instead of answering 0
        return 0


def try_gpu(i: int = 0) -> mx.Context:
    """``mx.gpu(i)`` if that GPU exists, else ``mx.cpu()`` (as in d2l)."""
    return mx.gpu(i) if _num_gpus() >= i + 1 else mx.cpu()


def try_all_gpus() -> list[mx.Context]:
    """Every GPU as a list of contexts, or ``[mx.cpu()]`` when there is none (as in d2l)."""
    n = _num_gpus()
    return [mx.gpu(i) for i in range(n)] if n else [mx.cpu()]


def _parse_one_ctx(item) -> mx.Context:
    if isinstance(item, mx.Context):
        ctx = item
    elif isinstance(item, str):
        text = item.strip().lower().replace("(", ":").replace(")", "")
        kind, _, index = text.partition(":")
        if kind not in ("cpu", "gpu") or (index and not index.isdigit()):
            raise ContextError(
                f"cannot read the context {item!r}; write 'cpu', 'gpu', 'gpu:1' or a list such as "
                f"'gpu:0,gpu:1' (or pass mx.cpu(), mx.gpu(0))")
        ctx = mx.Context(kind, int(index) if index else 0)
    else:
        raise ContextError(f"cannot use {item!r} as a context; pass mx.cpu(), mx.gpu(i), a list of "
                           f"them, or a string such as 'gpu:0,gpu:1'")
    if ctx.device_type == "gpu":
        n = _num_gpus()
        if ctx.device_id >= n:
            where = ("this MXNet build has no CUDA support (install mxnet-cu112 from "
                     "requirements-gpu.txt on a GPU machine)" if not mx.runtime.Features()
                     .is_enabled("CUDA") else f"this machine has {n} GPU(s)")
            raise ContextError(f"{ctx} does not exist: {where}. Use ctx='cpu' (or "
                               f"gluoncnn.train.try_all_gpus()) to train on what is there")
    return ctx


def parse_ctx(ctx: CtxArg = None) -> list[mx.Context]:
    """Turn ``ctx`` into a list of contexts, checking that each exists.

    Accepts ``None`` or ``'auto'`` (the first GPU, else the CPU), a ``mx.Context``, a list of
    them, or strings: ``'cpu'``, ``'gpu'``, ``'gpu:1'``, ``'gpu(1)'``, ``'gpu:0,gpu:1'``,
    ``'gpu:all'``. Raises :class:`ContextError` naming what to use instead.
    """
    if ctx is None or (isinstance(ctx, str) and ctx.strip().lower() == "auto"):
        return [try_gpu()]
    if isinstance(ctx, str):
        if ctx.strip().lower() in ("gpu:all", "gpus", "all"):
            gpus = try_all_gpus()
            if gpus[0].device_type != "gpu" and ctx.strip().lower() != "all":
                raise ContextError("ctx='gpu:all' but no GPU is available; use ctx='cpu'")
            return gpus
        items = [s for s in ctx.split(",") if s.strip()]
    elif isinstance(ctx, mx.Context):
        items = [ctx]
    else:
        items = list(ctx)
    if not items:
        raise ContextError("no context given; pass ctx='cpu', ctx=mx.gpu(0) or a list of contexts")
    ctxs = [_parse_one_ctx(c) for c in items]
    if len(set(ctxs)) != len(ctxs):
        raise ContextError(f"a context is listed twice in {ctxs}; list each device once")
    return ctxs


def ctx_text(ctxs: list[mx.Context]) -> str:
    """``cpu(0)`` for one context, ``[gpu(0), gpu(1)]`` for several (d2l's 'training on' line)."""
    return str(ctxs[0]) if len(ctxs) == 1 else "[" + ", ".join(str(c) for c in ctxs) + "]"


def is_initialized(net) -> bool:
    """True when every parameter of ``net`` has been initialised (deferred ones count as done)."""
    for p in net.collect_params().values():
        try:
            p.list_ctx()
        except RuntimeError:
            return False
    return True


def net_ctx(net) -> list[mx.Context]:
    """The contexts ``net``'s parameters live on (``[cpu()]`` before initialisation)."""
    for p in net.collect_params().values():
        try:
            return p.list_ctx()
        except Exception:
            continue
    return [mx.cpu()]


def place_net(net, ctxs: list[mx.Context], initializer=None) -> None:
    """Initialise ``net`` on ``ctxs`` if it is not yet (``initializer``, else the model's own
    ``default_init``, else Xavier), or move its parameters there if they live elsewhere."""
    if not is_initialized(net):
        if initializer is not None:
            net.initialize(initializer, ctx=ctxs)
        elif hasattr(net, "default_init"):
            net.initialize(ctx=ctxs)
        else:
            net.initialize(mx.init.Xavier(), ctx=ctxs)
    elif set(net_ctx(net)) != set(ctxs):
        net.collect_params().reset_ctx(ctxs)
