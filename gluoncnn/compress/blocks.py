"""The block tree: the compressible layers by path, copies of a net, replacing a child.

A *layer* is named by its path in the block tree, the same names ``save_parameters`` uses
without the parameter suffix: ``'features.0'``, ``'output'``, ``'features.3.body.1'``.
*Compressible weights* are the ``weight`` of every ``nn.Dense`` and every convolution
(``Conv1D/2D/3D`` and their transposes).
"""
import copy
from collections import OrderedDict

from mxnet.gluon import nn
from mxnet.gluon.nn.conv_layers import _Conv

from ..errors import InputError, OptionError
from ..utils import block_paths

Layers = str | list[str] | None
"""Layer paths to work on (``None``: every compressible layer)."""


def _is_compressible(block):
    return isinstance(block, (nn.Dense, _Conv))


def compressible_layers(net: nn.Block, layers: Layers = None) -> OrderedDict:
    """``OrderedDict`` path -> block of the layers whose weights can be compressed.

    Those are every ``nn.Dense`` and every convolution (``_Conv``: Conv1D/2D/3D and the
    transposed ones), in the order of the block tree. ``layers`` (a list of paths) selects some
    of them; a path that is not a compressible layer raises ``ValueError`` listing the valid ones.
    A net with none raises ``ValueError``.
    """
    if not isinstance(net, nn.Block):
        raise InputError(f"expected a Gluon Block, got {type(net).__name__}")
    found = OrderedDict((p, b) for p, b in block_paths(net) if _is_compressible(b))
    if not found:
        raise OptionError(f"{type(net).__name__} has no layer to compress: compression works on "
                          "the weights of nn.Dense and convolution layers, and this net has none")
    if layers is None:
        return found
    if isinstance(layers, str):
        layers = [layers]
    unknown = [p for p in layers if p not in found]
    if unknown:
        raise OptionError(f"not a Dense/convolution layer of this net: "
                          f"{', '.join(map(repr, unknown))}. "
                          f"Compressible layers: {', '.join(found)}")
    return OrderedDict((p, found[p]) for p in layers)


def layer_weights(net: nn.Block, layers: Layers = None) -> OrderedDict:
    """``OrderedDict`` path -> weight ``Parameter`` of the compressible layers (see above)."""
    return OrderedDict((p, b.weight) for p, b in compressible_layers(net, layers).items())


def check_initialized(net: nn.Block) -> None:
    """Raise a clear error if a parameter of ``net`` has no value yet (nothing to compress)."""
    for name, p in net.collect_params().items():
        if p._data is None:
            raise OptionError(f"parameter {name} is not initialised (or its shape is still "
                              "unknown): call net.initialize() and run one batch through the net "
                              "(or load trained parameters) before compressing it")


def clear_cached(net: nn.Block) -> None:
    """Drop the cached graph of every hybrid block of ``net`` (its structure or weights changed)."""
    for _, b in block_paths(net):
        if isinstance(b, nn.HybridBlock):
            b._clear_cached_op()


def clone(net: nn.Block) -> nn.Block:
    """An independent deep copy of ``net`` (parameters copied, same contexts, same hybridize
    state). Trainers attached to the original are not copied."""
    clear_cached(net)
    params = list(net.collect_params().values())
    trainers = [p._trainer for p in params]
    try:
        for p in params:
            p._trainer = None
        twin = copy.deepcopy(net)
    finally:
        for p, t in zip(params, trainers):
            p._trainer = t
    for p in twin.collect_params().values():
        if p._data is not None:
            p._init_grad()  # fresh gradient buffers, registered with autograd
    return twin


def block_at(net: nn.Block, path: str) -> nn.Block:
    """The block at ``path`` (``'features.3'``), or a clear error naming the children there."""
    block = net
    for key in path.split("."):
        if key not in block._children:
            raise OptionError(f"{path!r} is not a block of this net (no child {key!r} in "
                              f"{type(block).__name__}; children: {', '.join(block._children)})")
        block = block._children[key]
    return block


def replace_block(net: nn.Block, path: str, new_block: nn.Block) -> nn.Block:
    """Put ``new_block`` in place of the block at ``path`` (e.g. ``'features.3'`` or
    ``'output'``), in place.

    Works for children of a ``HybridSequential`` (kept in order under their index key) and for
    children registered as attributes (``self.output = ...``), whatever their types. Cached
    graphs are cleared, and the new block is hybridized if the net is.
    """
    if not path:
        raise OptionError("cannot replace the net itself; give the path of one of its blocks")
    parent_path, _, key = path.rpartition(".")
    parent = block_at(net, parent_path) if parent_path else net
    block_at(parent, key)  # clear error if missing
    old = parent._children[key]
    parent._children[key] = new_block
    if parent.__dict__.get(key) is old:  # registered as an attribute: keep forward() in sync
        object.__setattr__(parent, key, new_block)
    clear_cached(net)
    if isinstance(net, nn.HybridBlock) and net._active and isinstance(new_block, nn.HybridBlock):
        new_block.hybridize(True, **dict(net._flags))
    return old
