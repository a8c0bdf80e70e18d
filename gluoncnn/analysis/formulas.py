"""The hand formulas of a CNN course, as functions a chapter can show and a student can check.

Each is the lecture's formula, written out: output size ``(W - F + 2P) / S + 1``, parameters
and multiply-adds of a convolution and of a dense layer, and the cost of an Inception and of a
Fire module. :func:`~gluoncnn.analysis.summary` computes the same numbers for whole nets.
"""
from ..errors import OptionError

Size = int | tuple[int, int]
"""A window size, stride or padding: one int for both axes, or ``(height, width)``."""


def _pair(v, what):
    if isinstance(v, (tuple, list)):
        if len(v) != 2:
            raise OptionError(f"{what} must be an int or a pair (height, width), got {v!r}")
        return int(v[0]), int(v[1])
    return int(v), int(v)


def conv_output_size(w: int, f: int, p: int = 0, s: int = 1, dilation: int = 1,
                     ceil_mode: bool = False, strict: bool = False) -> int:
    """Output width of a convolution or pooling window: ``(W - F + 2P) / S + 1``.

    ``w`` input size, ``f`` filter (window) size, ``p`` zero padding on each side, ``s`` stride,
    ``dilation`` spacing of the filter taps (the filter then spans ``dilation * (f - 1) + 1``
    pixels). The division is rounded down, as every framework does (``ceil_mode=True`` rounds up,
    MXNet's ``pooling_convention='full'``). ``strict=True`` raises when the filter does not tile
    the input exactly, the lecture's "doesn't fit" case.

    >>> conv_output_size(227, 11, p=0, s=4)     # AlexNet CONV1
    55
    >>> conv_output_size(224, 3, p=1, s=1)      # VGG: 3x3, pad 1 keeps the size
    224
    """
    span = dilation * (f - 1) + 1
    room = w + 2 * p - span
    if room < 0:
        raise OptionError(f"a {f}x{f} window (dilation {dilation}) does not fit an input of size "
                          f"{w} with padding {p}: it spans {span} pixels but only {w + 2 * p} "
                          f"are there")
    if strict and room % s:
        raise OptionError(f"(W - F + 2P) / S + 1 = ({w} - {span} + 2*{p}) / {s} + 1 = "
                          f"{room / s + 1:g} is not an integer: the filter does not fit; change "
                          f"the padding or the stride")
    return (-(-room // s) if ceil_mode else room // s) + 1


def conv_params(c_in: int, c_out: int, k: Size, groups: int = 1, bias: bool = True) -> int:
    """Parameters of a convolution: ``c_out * (c_in / groups) * k_h * k_w`` weights (+ ``c_out``
    biases).

    >>> conv_params(3, 96, 11)                  # AlexNet CONV1: 11*11*3*96 + 96
    34944
    >>> conv_params(3, 96, 11, bias=False)      # the lecture's count, weights only
    34848
    """
    kh, kw = _pair(k, "k")
    if c_in % groups or c_out % groups:
        raise OptionError(f"groups={groups} must divide both c_in={c_in} and c_out={c_out}")
    return c_out * (c_in // groups) * kh * kw + (c_out if bias else 0)


def conv_macs(h_in: int, w_in: int, c_in: int, c_out: int, k: Size, s: Size = 1, p: Size = 0,
              groups: int = 1, dilation: int = 1) -> int:
    """Multiply-adds of a convolution on an ``h_in x w_in x c_in`` input:
    ``out_h * out_w * c_out * (k_h * k_w * c_in / groups)`` (bias additions not counted).

    >>> conv_macs(28, 28, 256, 192, 3, p=1)     # Inception's 3x3 branch, naive: 28x28x192x3x3x256
    346816512
    """
    kh, kw = _pair(k, "k")
    sh, sw = _pair(s, "s")
    ph, pw = _pair(p, "p")
    if c_in % groups or c_out % groups:
        raise OptionError(f"groups={groups} must divide both c_in={c_in} and c_out={c_out}")
    oh = conv_output_size(h_in, kh, ph, sh, dilation)
    ow = conv_output_size(w_in, kw, pw, sw, dilation)
    return oh * ow * c_out * kh * kw * (c_in // groups)


def dense_params(n_in: int, n_out: int, bias: bool = True) -> int:
    """Parameters of a fully connected layer: ``n_in * n_out`` (+ ``n_out`` biases).

    >>> dense_params(7 * 7 * 512, 4096, bias=False)   # VGG16 FC6: 102,760,448
    102760448
    """
    return n_in * n_out + (n_out if bias else 0)


def dense_macs(n_in: int, n_out: int) -> int:
    """Multiply-adds of a fully connected layer for one input: ``n_in * n_out``."""
    return n_in * n_out


def _branch(name, h, w, c_in, c_out, k):
    return {"branch": name, "layer": f"{k}x{k} conv, {c_out}",
            "shape": f"{h}x{w}x{c_out}x{k}x{k}x{c_in}",
            "macs": conv_macs(h, w, c_in, c_out, k, p=k // 2),
            "params": conv_params(c_in, c_out, k, bias=False)}


def inception_cost(h: int, w: int, c_in: int, c1: int, c2: int | tuple[int, int],
                   c3: int | tuple[int, int], c4: int | None = None,
                   bottleneck: bool = True) -> dict:
    """Convolution multiply-adds and parameters of an Inception module on an ``h x w x c_in`` input.

    Branches, as in GoogLeNet and d2l's ``Inception(c1, c2, c3, c4)``: ``c1`` 1x1 convs; ``c2 =
    (r3, n3)`` a 1x1 reduction to ``r3`` channels then ``n3`` 3x3 convs; ``c3 = (r5, n5)`` the
    same with 5x5; ``c4`` 1x1 convs after the 3x3 max pool. With ``bottleneck=False`` (the naive
    module) the 1x1 reductions and the pool projection are left out (``c2``/``c3`` may then be
    plain ints, ``c4`` is ignored): the 3x3 and 5x5 convs see all ``c_in`` channels and the pool
    passes them through.

    The lecture's convention: only convolution multiply-adds (``28x28x192x3x3x256`` ...), no
    biases, no pooling. All convs are stride 1 with "same" padding. Returns a dict: ``macs``,
    ``params``, ``out_channels`` and ``branches`` (one dict per convolution, with the product
    written out as in the lecture).

    >>> inception_cost(28, 28, 256, 128, 192, 96, bottleneck=False)['macs']          # 854M
    854196224
    >>> inception_cost(28, 28, 256, 128, (64, 192), (64, 96), 64)['macs']            # 271M
    271351808
    """
    def out_of(c):
        return c[1] if isinstance(c, (tuple, list)) else c

    rows = [_branch("1x1", h, w, c_in, c1, 1)]
    if bottleneck:
        for c, name in ((c2, "3x3"), (c3, "5x5")):
            if not isinstance(c, (tuple, list)) or len(c) != 2:
                raise OptionError(f"with bottleneck=True the {name} branch takes a pair "
                                  f"(1x1 reduction channels, {name} channels), got {c!r}")
        if c4 is None:
            raise OptionError("with bottleneck=True, c4 (the 1x1 convs after the pool) is needed")
        rows.append(_branch("3x3 reduce", h, w, c_in, c2[0], 1))
        rows.append(_branch("3x3", h, w, c2[0], c2[1], 3))
        rows.append(_branch("5x5 reduce", h, w, c_in, c3[0], 1))
        rows.append(_branch("5x5", h, w, c3[0], c3[1], 5))
        rows.append(_branch("pool proj", h, w, c_in, c4, 1))
        out_channels = c1 + c2[1] + c3[1] + c4
    else:
        rows.append(_branch("3x3", h, w, c_in, out_of(c2), 3))
        rows.append(_branch("5x5", h, w, c_in, out_of(c3), 5))
        out_channels = c1 + out_of(c2) + out_of(c3) + c_in
    return {"macs": sum(r["macs"] for r in rows), "params": sum(r["params"] for r in rows),
            "out_channels": out_channels, "output_shape": (h, w, out_channels), "branches": rows}


def fire_cost(c_in: int, s1x1: int, e1x1: int, e3x3: int, h: int = 1, w: int = 1,
              bias: bool = False) -> dict:
    """Parameters and multiply-adds of SqueezeNet's Fire module on an ``h x w x c_in`` input.

    A 1x1 squeeze to ``s1x1`` channels, then ``e1x1`` 1x1 and ``e3x3`` 3x3 (pad 1) expand convs
    concatenated: ``params = s1x1*c_in + e1x1*s1x1 + 9*e3x3*s1x1`` weights (+ ``s1x1 + e1x1 +
    e3x3`` biases with ``bias=True``); ``macs = h * w * (the weights)``, since every conv keeps
    the size (the concatenation is free). The notes' formulas count weights only: for
    ``fire_cost(C, 16, 64, 64)`` they are ``10240 + 16C`` parameters and ``HW(10240 + 16C)``
    multiply-adds, against ``18432 + 144C`` for conv3-16 + conv3-128 (``conv_params``).

    >>> fire_cost(96, 16, 64, 64)['params']        # 10240 + 16 * 96
    11776
    """
    rows = [{"layer": "squeeze 1x1", "params": conv_params(c_in, s1x1, 1, bias=bias)},
            {"layer": "expand 1x1", "params": conv_params(s1x1, e1x1, 1, bias=bias)},
            {"layer": "expand 3x3", "params": conv_params(s1x1, e3x3, 3, bias=bias)}]
    rows[0]["macs"] = conv_macs(h, w, c_in, s1x1, 1)
    rows[1]["macs"] = conv_macs(h, w, s1x1, e1x1, 1)
    rows[2]["macs"] = conv_macs(h, w, s1x1, e3x3, 3, p=1)
    return {"params": sum(r["params"] for r in rows), "macs": sum(r["macs"] for r in rows),
            "out_channels": e1x1 + e3x3, "layers": rows}

