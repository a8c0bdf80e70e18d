"""What each method buys, measured: bytes, accuracy and throughput in one table and one figure."""
import os
import tempfile

from mxnet.gluon import nn

from ..analysis import throughput
from ..errors import OptionError
from .blocks import check_initialized, clone, compressible_layers
from .encoding import encode_sparse
from .int8 import quantize, quantized_ops
from .pruning import PruningMask, prune, run_fine_tune
from .sharing import share_weights
from .svd import svd_compress


def params_nbytes(net: nn.Block) -> int:
    """Size on disk in bytes of the net's parameters: ``save_parameters`` for a Gluon block,
    the ``.params`` file of ``export`` for a ``SymbolBlock`` (e.g. a quantized net)."""
    with tempfile.TemporaryDirectory() as d:
        if isinstance(net, nn.SymbolBlock):
            net.export(os.path.join(d, "model"))
            return os.path.getsize(os.path.join(d, "model-0000.params"))
        f = os.path.join(d, "model.params")
        net.save_parameters(f)
        return os.path.getsize(f)


def _batch_xy(batch):
    if isinstance(batch, (list, tuple)):
        return batch[0], batch[1]
    return batch.data[0], batch.label[0]


def _accuracy(net, data_iter):
    from ..train import evaluate
    return evaluate(net, data_iter, topk=None, loss=False)["acc"]


METHODS = ("float32", "prune", "svd", "share", "prune+share", "int8")


def compression_report(net: nn.Block, test_iter, methods=METHODS, calib_iter=None,
                       fine_tune=None, sparsity: float = 0.8, scope: str = "global",
                       prune_steps: int = 1, energy: float = 0.9, rank: int | None = None,
                       bits: int = 5, calib_mode: str = "naive", num_calib_batches: int = 5,
                       min_time: float = 0.5, pruned: tuple | None = None):
    """Apply each compression method to a copy of ``net`` and measure it on ``test_iter``.

    ``methods`` (any of): ``'float32'`` (the net as is), ``'prune'`` (:func:`prune` to
    ``sparsity``, stored sparse), ``'svd'`` (:func:`svd_compress` with ``energy`` or ``rank``),
    ``'share'`` (:func:`share_weights` with ``bits``), ``'prune+share'`` (Deep Compression:
    prune, then share, zero as its own cluster) and ``'int8'`` (:func:`quantize`, calibrated
    on ``calib_iter``, default ``test_iter``'s first batches; use training images to keep the
    test set clean). ``fine_tune(net, on_step)`` (see :func:`fine_tuner`) retrains after each
    pruning step and after SVD. The net is pruned once, for both ``'prune'`` and
    ``'prune+share'``; ``pruned=(pruned_net, mask)``, an earlier :func:`prune` of a copy of
    ``net``, is used instead of pruning again.

    Returns a pandas DataFrame: method, size_bytes (bytes really written), ratio (float32 size /
    size), accuracy, images_per_sec (dense float32 kernels for prune/share: the zeros are
    stored, not skipped), and detail. The original net is not changed.
    """
    import pandas as pd
    unknown = [m for m in methods if m not in METHODS]
    if unknown:
        raise OptionError(f"unknown method(s) {unknown}; choose from {METHODS}")
    check_initialized(net)
    compressible_layers(net)
    if pruned is not None and not (isinstance(pruned, tuple) and len(pruned) == 2
                                   and isinstance(pruned[1], PruningMask)):
        raise OptionError("pruned must be (pruned_net, mask), the net and the PruningMask of "
                          "an earlier gluoncnn.compress.prune of a copy of this net")
    x0 = _batch_xy(next(iter(test_iter)))[0]

    def pruned_copy():
        nonlocal pruned
        if pruned is None:
            m = clone(net)
            pruned = (m, prune(m, sparsity, scope=scope, steps=prune_steps, fine_tune=fine_tune))
        return _hybridized_clone(pruned[0]), pruned[1]
    settings = dict(calib_iter=calib_iter if calib_iter is not None else test_iter,
                    fine_tune=fine_tune, pruned_copy=pruned_copy, energy=energy, rank=rank,
                    bits=bits, calib_mode=calib_mode, num_calib_batches=num_calib_batches)
    rows = []
    for method in methods:
        model, size, detail = _compress(method, _hybridized_clone(net), **settings)
        rows.append({"method": method, "size_bytes": int(size),
                     "accuracy": _accuracy(model, test_iter),
                     "images_per_sec": throughput(model, x0, min_time=min_time),
                     "detail": detail})
    df = pd.DataFrame(rows)
    ref = df.loc[df.method == "float32", "size_bytes"]
    base = float(ref.iloc[0]) if len(ref) else float(params_nbytes(net))
    df.insert(2, "ratio", base / df["size_bytes"])
    return df


def _hybridized_clone(net):
    twin = clone(net)
    if isinstance(twin, nn.HybridBlock):
        twin.hybridize(static_alloc=True, static_shape=True)
    return twin


def _compress(method, m, calib_iter, fine_tune, pruned_copy, energy, rank, bits, calib_mode,
              num_calib_batches):
    """``(model, size in bytes, detail)`` of ``method`` applied to the copy ``m``
    (``pruned_copy()``: a copy of the pruned net and its mask)."""
    if method == "float32":
        return m, params_nbytes(m), "save_parameters"
    if method in ("prune", "prune+share"):
        m, mask = pruned_copy()
        if method == "prune":
            return (m, len(encode_sparse(m, list(mask.masks))),
                    f"sparsity {mask.sparsity:.2f}, sparse values + uint8 gaps")
        shared = share_weights(m, bits, layers=list(mask.masks))
        return (m, shared.nbytes,
                f"sparsity {mask.sparsity:.2f}, {bits}-bit k-means + Huffman")
    if method == "svd":
        m, rep = svd_compress(m, rank=rank, energy=energy if rank is None else None,
                              inplace=True)
        run_fine_tune(fine_tune, m, None)
        done = rep[rep.replaced]
        return m, params_nbytes(m), f"{len(done)} layers, ranks {list(done['rank'])}"
    if method == "share":
        return m, share_weights(m, bits).nbytes, f"{bits}-bit k-means + Huffman"
    q = quantize(m, calib_iter, calib_mode=calib_mode, num_calib_batches=num_calib_batches)
    n_int8, n_fp = quantized_ops(q)
    return (q, params_nbytes(q),
            f"oneDNN {calib_mode} calibration, {len(n_int8)} int8 / {len(n_fp)} float32 ops")


def plot_report(df, title: str | None = None):
    """Bar charts of a :func:`compression_report`: size (KB, with the compression ratio),
    accuracy and throughput per method. Returns the matplotlib Figure."""
    import matplotlib.pyplot as plt
    fig, axes = plt.subplots(1, 3, figsize=(13, 4))
    names = list(df["method"])
    colors = plt.rcParams["axes.prop_cycle"].by_key()["color"]
    col = [colors[i % len(colors)] for i in range(len(names))]
    ax = axes[0]
    bars = ax.bar(names, df["size_bytes"] / 1024, color=col)
    for b, r in zip(bars, df["ratio"]):
        ax.annotate(f"{r:.1f}x", (b.get_x() + b.get_width() / 2, b.get_height()),
                    ha="center", va="bottom", fontsize=8)
    ax.set_ylabel("size on disk (KB)")
    ax = axes[1]
    bars = ax.bar(names, 100 * df["accuracy"], color=col)
    for b, a in zip(bars, df["accuracy"]):
        ax.annotate(f"{100 * a:.1f}", (b.get_x() + b.get_width() / 2, b.get_height()),
                    ha="center", va="bottom", fontsize=8)
    ax.set_ylim(0, 105)  # bars compare lengths: from zero, or small gaps look large
    ax.set_ylabel("test accuracy (%)")
    ax = axes[2]
    ax.bar(names, df["images_per_sec"], color=col)
    ax.set_ylabel("images / second (CPU)")
    for ax in axes:
        ax.tick_params(axis="x", rotation=45)
        plt.setp(ax.get_xticklabels(), ha="right", rotation_mode="anchor")
    if title:
        fig.suptitle(title)
    fig.tight_layout()
    return fig
