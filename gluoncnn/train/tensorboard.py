"""TensorBoard logs through tensorboardX (an optional dependency: ``pip install
'gluoncnn[tensorboard]'``).

``fit(..., log_dir='runs/lenet/tb')`` (``gluoncnn train --log-dir DIR``) writes, in that folder:

- **per epoch** (step = the epoch), the History's scalars: ``train/loss``, ``train/acc``,
  ``test/acc``, ``test/loss``, ``test/top5``, ``train/lr``, ``train/examples_per_sec``;
- **per step**, every ``every_n_steps`` optimizer steps (step = the global step, counted from
  the first epoch, so a resumed run continues the curve): ``step/loss`` (that batch's mean loss)
  and ``step/lr`` (the rate it was trained with), as Lightning's ``log_every_n_steps`` does;
- **the hyperparameters** of the run (the HParams dashboard): fit's settings (optimizer, lr,
  momentum, wd, schedule, epochs, batch size, seed, amp, ...) and, for ``gluoncnn train``, the
  model and the dataset, with the final metrics (``test/acc``, ``train/loss``, ... as the
  per-epoch scalars end) and whether the run completed;
- **the graph** of the net (the Graphs dashboard): the MXNet symbol of a ``HybridBlock``
  (``net(mx.sym.var('data'))``, the graph ``hybridize`` caches), one node per operator and
  parameter, each edge with its shape for the run's input. tensorboardX's ``add_graph`` traces
  PyTorch modules only, so the symbol's JSON is converted here into TensorBoard's ``GraphDef``
  (as MXBoard did); a net that is not a HybridBlock (an ``nn.Sequential``) has no symbol, and
  that is said once, with nothing written.
- with ``histograms=True``, each parameter's values and gradient per epoch.

View them with ``tensorboard --logdir runs`` (``pip install tensorboard``).
"""
from __future__ import annotations

import json
import os
from typing import Any

from ..errors import OptionError
from ..runtime import install_extra
from ..utils import first_line
from .callbacks import Callback

#: History key -> TensorBoard tag of the per-epoch scalars.
TAGS = {"loss": "train/loss", "train_acc": "train/acc", "test_acc": "test/acc",
        "test_loss": "test/loss", "test_top5": "test/top5", "lr": "train/lr",
        "examples_per_sec": "train/examples_per_sec"}
#: Per-step scalars.
STEP_LOSS, STEP_LR = "step/loss", "step/lr"
#: The per-epoch tags the HParams dashboard shows as the run's metrics (their last values).
HPARAM_METRICS = ("test/acc", "test/loss", "train/acc", "train/loss")
#: fit's settings (``TrainingState.meta``) shown as hyperparameters.
HPARAM_KEYS = ("net", "optimizer", "lr", "momentum", "wd", "schedule", "warmup_epochs",
               "label_smoothing", "clip_gradient", "epochs", "batch_size", "seed", "amp",
               "classes", "num_workers")


def summary_writer_class():
    """``tensorboardX.SummaryWriter``, or a one-line error saying how to get it."""
    try:
        from tensorboardX import SummaryWriter
    except ImportError:
        raise OptionError(f"log_dir= (--log-dir) writes TensorBoard logs with tensorboardX, which "
                          f"is not installed: {install_extra('tensorboard')} (or leave the log "
                          f"folder unset)") from None
    return SummaryWriter


class TensorBoard(Callback):
    """Epoch and step scalars, the run's hyperparameters and the net's graph as TensorBoard
    events in ``log_dir`` (see the module's docstring for the tags).

    ``every_n_steps``: optimizer steps between two per-step points (None or 0: none; each point
    waits for that batch's loss, one host wait); ``hparams``: more hyperparameters to record
    (``{'model': 'resnet18', 'dataset': 'fashion-mnist'}``), beside fit's own; ``graph``: write
    the net's graph; ``histograms``: weights and gradients per epoch."""

    def __init__(self, log_dir, histograms: bool = False, every_n_steps: int | None = 10,
                 hparams: dict[str, Any] | None = None, graph: bool = True):
        if every_n_steps is not None and (isinstance(every_n_steps, bool) or
                                          not isinstance(every_n_steps, int) or every_n_steps < 0):
            raise OptionError(f"every_n_steps must be a whole number >= 0 or None, got "
                              f"{every_n_steps!r}")
        self.log_dir = os.fspath(log_dir)
        self.histograms, self.graph = bool(histograms), bool(graph)
        self.every_n_steps = every_n_steps or 0
        self.hparams = dict(hparams or {})
        self.writer_class = summary_writer_class()  # fails before training, not after it
        self.writer = None
        self.steps_done = 0  # when the epoch's length is unknown

    def on_train_begin(self, state):
        self.writer = self.writer_class(logdir=self.log_dir)
        if self.graph and state.start_epoch == 0:
            self.write_graph(state)

    def global_step(self, state, batch: int) -> int:
        """Optimizer steps since the run's first batch (epochs before a resume included)."""
        if state.num_batches:
            return (state.epoch - 1) * state.num_batches + batch
        self.steps_done += 1
        return self.steps_done

    def on_batch_end(self, state, batch):
        if not self.every_n_steps or state.step_loss is None:
            return
        step = self.global_step(state, batch)
        if step % self.every_n_steps:
            return
        loss_sum, n = state.step_loss
        self.writer.add_scalar(STEP_LOSS, float(loss_sum.asscalar()) / n, step)
        lr = state.current_lr if state.current_lr is not None else state.trainer.learning_rate
        self.writer.add_scalar(STEP_LR, float(lr), step)

    def on_epoch_end(self, state, record):
        step = record["epoch"]
        for key, tag in TAGS.items():
            if record.get(key) is not None:
                self.writer.add_scalar(tag, float(record[key]), step)
        if self.histograms:
            for name, p in state.net.collect_params().items():
                self.writer.add_histogram(f"weights/{name}", p.data().asnumpy(), step)
                if p.grad_req != "null":
                    self.writer.add_histogram(f"grads/{name}", p.grad().asnumpy(), step)
        self.writer.flush()

    def on_train_end(self, state):
        if self.writer is None:
            return
        if len(state.history):
            self.write_hparams(state)
        self.writer.close()
        self.writer = None

    # ------------------------------------------------------------------ hparams and graph
    def run_hparams(self, state) -> dict[str, Any]:
        """The hyperparameters recorded: fit's settings and ``hparams=``, as numbers, text or
        flags (a list as its text; unset ones left out)."""
        found = {k: state.meta.get(k) for k in HPARAM_KEYS}
        found.update(self.hparams)
        return {k: v if isinstance(v, (bool, int, float, str)) else str(v)
                for k, v in found.items() if v is not None}

    def write_hparams(self, state) -> None:
        """The HParams plugin's experiment, session start (the hyperparameters) and session end
        (completed, or the run's status) summaries; its metrics are the per-epoch tags of
        :data:`HPARAM_METRICS`, whose last values the dashboard shows."""
        from tensorboardX.proto.api_pb2 import Status
        from tensorboardX.proto.plugin_hparams_pb2 import HParamsPluginData
        from tensorboardX.summary import hparams
        last = state.history.records[-1]
        metrics = {tag: last[key] for key, tag in TAGS.items()
                   if tag in HPARAM_METRICS and last.get(key) is not None}
        experiment, start, end = hparams(self.run_hparams(state), metrics)
        if state.status not in ("completed", "stopped"):
            status = "STATUS_ABORTED" if state.status == "interrupted" else "STATUS_FAILURE"
            data = HParamsPluginData.FromString(end.value[0].metadata.plugin_data.content)
            data.session_end_info.status = Status.Value(status)
            end.value[0].metadata.plugin_data.content = data.SerializeToString()
        writer = self.writer._get_file_writer()
        for summary in (experiment, start, end):
            writer.add_summary(summary, last["epoch"])
        self.writer.flush()

    def write_graph(self, state) -> None:
        """The net's symbol as a GraphDef (nothing, and a note, for a net without one: a graph
        must never stop a training)."""
        try:
            graph = net_graph_def(state.net, getattr(state, "input_shape", None))
        except Exception as err:  # e.g. a hybrid_forward that works on NDArrays only
            state.logger.warning("TensorBoard: no graph for %s: its symbol could not be built "
                                 "(%s: %s)", type(state.net).__name__, type(err).__name__,
                                 first_line(err))
            return
        if graph is None:
            state.note(f"TensorBoard: no graph for {type(state.net).__name__}, which is not a "
                       f"HybridBlock (only a HybridBlock has an MXNet symbol to draw)")
            return
        self.writer._get_file_writer().add_onnx_graph(graph)  # writes any GraphDef as it is


def net_graph_def(net, input_shape=None):
    """TensorBoard's ``GraphDef`` of ``net``'s MXNet symbol, or None when ``net`` is not a
    HybridBlock. ``input_shape`` (``(N, C, H, W)``, optional) gives every edge its shape."""
    import mxnet as mx
    if not isinstance(net, mx.gluon.HybridBlock):
        return None
    out = net(mx.sym.var("data"))
    sym = mx.sym.Group(list(out)) if isinstance(out, (list, tuple)) else out
    return symbol_graph_def(sym, input_shape)


def symbol_graph_def(sym, input_shape=None):
    """``sym`` (an MXNet Symbol) as TensorBoard's ``GraphDef``: a node per operator (its op
    name, its attributes as text) and per input or parameter (op ``Variable``), with the
    ``_output_shapes`` TensorBoard draws on the edges when ``input_shape`` is given."""
    from tensorboardX.proto.attr_value_pb2 import AttrValue
    from tensorboardX.proto.graph_pb2 import GraphDef
    from tensorboardX.proto.node_def_pb2 import NodeDef
    from tensorboardX.proto.tensor_shape_pb2 import TensorShapeProto
    from tensorboardX.proto.versions_pb2 import VersionDef
    nodes = json.loads(sym.tojson())["nodes"]
    shapes = {}
    if input_shape is not None:
        internals = sym.get_internals()
        _, out_shapes, _ = internals.infer_shape_partial(data=tuple(input_shape))
        shapes = dict(zip(internals.list_outputs(), out_shapes or []))
    graph = GraphDef(versions=VersionDef(producer=22))
    for node in nodes:
        name, op = node["name"], node["op"]
        attrs = {k: AttrValue(s=str(v).encode()) for k, v in (node.get("attrs") or {}).items()}
        shape = shapes.get(name if op == "null" else f"{name}_output")
        if shape:
            attrs["_output_shapes"] = AttrValue(list=AttrValue.ListValue(shape=[
                TensorShapeProto(dim=[TensorShapeProto.Dim(size=int(d)) for d in shape])]))
        graph.node.append(NodeDef(name=name, op="Variable" if op == "null" else op,
                                  input=[nodes[i[0]]["name"] for i in node["inputs"]],
                                  attr=attrs))
    return graph
