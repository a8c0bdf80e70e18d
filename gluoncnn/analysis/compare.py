"""Several models side by side, as a table and as bar charts, and the package's one timer."""
from __future__ import annotations

import time

from ..errors import OptionError
from .formatting import fmt_si
from .summary import summary


def compare(models, input_shape, names: list | None = None, options: dict | None = None,
            plot: bool = False):
    """Parameters, multiply-adds and activation memory of several models, one row each.

    ``models``: model names for :func:`gluoncnn.models.get_model` (built with ``options``,
    e.g. ``dict(classes=10, in_channels=1, small_input=True)``) or built nets (named by
    ``names``, else by class). ``input_shape`` is one shape for all, or a list of shapes (one per
    model, e.g. AlexNet at 227 and the others at 224). Returns a pandas DataFrame indexed by
    model: ``params``, ``trainable``, ``param_MB``, ``macs``, ``activations``,
    ``activation_MB`` (forward, per image), ``activation_MB_train`` and ``depth``. With
    ``plot=True`` also draws :func:`plot_comparison`.
    """
    import pandas as pd
    models = list(models)
    several = (isinstance(input_shape, list) and input_shape
               and isinstance(input_shape[0], (tuple, list)))
    shapes = input_shape if several else [input_shape] * len(models)
    if len(shapes) != len(models):
        raise OptionError(f"{len(shapes)} input shapes for {len(models)} models")
    if names is not None and len(names) != len(models):
        raise OptionError(f"{len(names)} names for {len(models)} models")
    records = []
    for i, (model, shape) in enumerate(zip(models, shapes)):
        if isinstance(model, str):
            from ..models import get_model
            net = get_model(model, **(options or {}))
            label = model
        else:
            net = model
            label = type(net).__name__
        if names is not None:
            label = names[i]
        s = summary(net, shape, print_table=False)
        records.append({"model": label, "params": s.total_params,
                        "trainable": s.trainable_params, "param_MB": s.param_bytes / 1e6,
                        "macs": s.macs, "activations": s.activations,
                        "activation_MB": s.activation_bytes_forward / 1e6,
                        "activation_MB_train": s.activation_bytes_train / 1e6,
                        "depth": s.depth})
    df = pd.DataFrame(records).set_index("model")
    if plot:
        plot_comparison(df)
    return df


def plot_comparison(df, columns=("params", "macs", "activation_MB")):
    """Bar charts (log scale) of a :func:`compare` table, one panel per column.

    Returns the matplotlib figure."""
    import matplotlib.pyplot as plt
    titles = {"params": "parameters", "macs": "multiply-adds per image",
              "activation_MB": "activation memory per image (MB, forward)",
              "activation_MB_train": "activation memory per image (MB, forward+backward)",
              "param_MB": "parameter memory (MB)", "activations": "activations per image",
              "depth": "depth (conv + dense layers)"}
    columns = list(columns)
    fig, axes = plt.subplots(1, len(columns), figsize=(4.2 * len(columns), 0.45 * len(df) + 1.6),
                             sharey=True, squeeze=False)
    labels = [str(i) for i in df.index]
    for ax, col in zip(axes[0], columns):
        vals = df[col].astype(float).values
        ax.barh(range(len(df)), vals, color="tab:blue")
        ax.set_xscale("log")
        ax.set_title(titles.get(col, col), fontsize=10)
        ax.set_yticks(range(len(df)))
        ax.set_yticklabels(labels)
        ax.invert_yaxis()
        for y, v in enumerate(vals):
            text = fmt_si(v) if abs(v) >= 1e3 else f"{v:.3g}"
            ax.text(v, y, " " + text, va="center", fontsize=8)
        ax.grid(axis="x", which="major", alpha=0.3)
    fig.tight_layout()
    return fig


def throughput(net, x, warmup: int = 3, min_time: float = 0.5, max_runs: int = 200,
               ctx=None) -> float:
    """Inference throughput in images/second on batch ``x``: after ``warmup`` runs, the batch is
    run until ``min_time`` seconds (or ``max_runs`` runs), waiting for every result
    (``mx.nd.waitall``)."""
    import mxnet as mx
    ctx = mx.cpu() if ctx is None else ctx
    x = x.as_in_context(ctx)
    for _ in range(warmup):
        net(x).wait_to_read()
    mx.nd.waitall()
    runs, t0 = 0, time.perf_counter()
    while True:
        net(x)
        runs += 1
        if runs % 5 == 0 or runs >= max_runs:
            mx.nd.waitall()
            if time.perf_counter() - t0 >= min_time or runs >= max_runs:
                break
    mx.nd.waitall()
    return runs * x.shape[0] / (time.perf_counter() - t0)
