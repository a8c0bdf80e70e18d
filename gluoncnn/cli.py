"""The ``gluoncnn`` command (also ``python -m gluoncnn``).

Subcommands::

    gluoncnn train   --model resnet18 --dataset fashion-mnist --epochs 10 --out runs/NAME
    gluoncnn train   --out runs/NAME --resume [--epochs 20]
    gluoncnn eval    --run runs/NAME            (or --model ... --params FILE --dataset ...)
    gluoncnn summary resnet18 --input 1,28,28
    gluoncnn list    [-v]
    gluoncnn doctor
    gluoncnn export  --run runs/NAME --out export/ [--onnx]

Every subcommand calls the package (``gluoncnn.models``, ``gluoncnn.data``, ``gluoncnn.train``,
``gluoncnn.analysis``, ``gluoncnn.doctor``); nothing here re-implements them. Errors are one line
on stderr (``gluoncnn: error: ...``) with exit code 2; ``--debug`` shows the traceback instead.
Ctrl-C during training exits with 130 after saying where the last checkpoint is.
"""
import argparse
import ast
import datetime
import difflib
import inspect
import json
import os
import platform
import shlex
import sys
import time

from . import __version__

EXIT_OK, EXIT_FAILURE, EXIT_USAGE, EXIT_INTERRUPTED = 0, 1, 2, 130

# Native image size, channels and classes of the datasets the data module serves.
DATASETS = {
    "fashion-mnist": {"size": 28, "channels": 1, "classes": 10},
    "mnist": {"size": 28, "channels": 1, "classes": 10},
    "cifar10": {"size": 32, "channels": 3, "classes": 10},
    "cifar100": {"size": 32, "channels": 3, "classes": 100},
}
# Inputs smaller than this use the models' small-image stem (small_input=True) unless told
# otherwise: the ImageNet stems (e.g. 7x7/2 conv + 3x3/2 pool, /32 overall) leave a 3x3 map or
# more from 96x96 up, the size d2l resizes Fashion-MNIST to for ResNet, GoogLeNet and DenseNet.
SMALL_INPUT_BELOW = 96

RUN_FILE = "run.json"
CHECKPOINT_DIR = "checkpoints"
FINAL_PARAMS = "model.params"


class CLIError(Exception):
    """A mistake in what the user asked for: printed as one line, exit code 2."""


class ArgumentParser(argparse.ArgumentParser):
    """argparse with one-line errors: ``gluoncnn train: error: ... (see gluoncnn train --help)``."""

    def error(self, message):
        raise CLIError(f"{message} (see '{self.prog} --help')")


class HelpFormatter(argparse.ArgumentDefaultsHelpFormatter, argparse.RawDescriptionHelpFormatter):
    def __init__(self, prog):
        super().__init__(prog, max_help_position=32, width=100)

    def _get_help_string(self, action):
        # Show defaults only where they say something.
        if action.default in (None, False, argparse.SUPPRESS, []) or action.nargs == 0 \
                or "%(default)" in (action.help or "") or "default" in (action.help or ""):
            return action.help
        return super()._get_help_string(action)


# ----------------------------------------------------------------------------- argument types

def _number(convert, ok, what):
    """An argparse type: ``convert`` the text, and accept it only when ``ok(value)``."""
    def parse(text):
        try:
            value = convert(text)
        except ValueError:
            value = None
        if value is None or not ok(value):
            raise argparse.ArgumentTypeError(f"expected {what}, got {text!r}")
        return value
    return parse


_positive_int = _number(int, lambda v: v > 0, "a positive whole number")
_nonneg_int = _number(int, lambda v: v >= 0, "a whole number >= 0")
_positive_float = _number(float, lambda v: v > 0, "a positive number")
_nonneg_float = _number(float, lambda v: v >= 0, "a number >= 0")


def _fraction(text):
    value = _nonneg_float(text)
    if value >= 1:
        raise argparse.ArgumentTypeError(f"expected a number in [0, 1), got {text!r}")
    return value


def parse_input_shape(text):
    """``'1,28,28'`` (or ``1x28x28``, ``(1, 28, 28)``) -> ``(1, 28, 28)``: channels, height, width."""
    cleaned = str(text).strip().strip("()[]").replace("x", ",").replace(" ", "")
    parts = [p for p in cleaned.split(",") if p != ""]
    try:
        shape = tuple(int(p) for p in parts)
    except ValueError:
        shape = ()
    if len(shape) != 3 or min(shape) <= 0:
        raise argparse.ArgumentTypeError(
            f"expected the input shape as C,H,W of positive numbers like 1,28,28, got {text!r}")
    return shape


def parse_model_option(text):
    """``'stochastic_depth=0.5'`` -> ``('stochastic_depth', 0.5)``; values are Python literals
    (``ast.literal_eval``), and a value that is not one is kept as a string."""
    key, sep, value = str(text).partition("=")
    key = key.strip().replace("-", "_")
    if not sep or not key.isidentifier():
        raise argparse.ArgumentTypeError(
            f"expected KEY=VALUE such as stochastic_depth=0.5, got {text!r}")
    try:
        value = ast.literal_eval(value.strip())
    except (ValueError, SyntaxError):
        value = value.strip()
    return key, value


# ----------------------------------------------------------------------------- the parser

def _add_model_args(p, classes_help):
    g = p.add_argument_group("model")
    g.add_argument("--classes", type=_positive_int, metavar="N", help=classes_help)
    g.add_argument("--in-channels", type=_positive_int, metavar="C",
                   help="input channels (default: the dataset's, 1 for (fashion-)mnist, "
                        "3 for cifar; for summary/export: the --input channels)")
    g.add_argument("--small-input", action=argparse.BooleanOptionalAction, default=None,
                   help="use the small-image stem (CIFAR 32x32, Fashion-MNIST 28x28). Default: "
                        f"on when the input side is below {SMALL_INPUT_BELOW} (e.g. no --resize), "
                        "off from 96 up; ignored by models without that option (lenet)")
    g.add_argument("--model-option", dest="model_options", action="append", default=[],
                   type=parse_model_option, metavar="KEY=VALUE",
                   help="a family option of the model, repeatable, value a Python literal "
                        "(e.g. --model-option stochastic_depth=0.5); 'gluoncnn list -v' shows them")
    return g


def _add_data_args(p, train=True):
    g = p.add_argument_group("data")
    g.add_argument("--dataset", default="fashion-mnist",
                   help=f"dataset name ({', '.join(DATASETS)})")
    g.add_argument("--data-root", metavar="DIR",
                   help="folder holding the datasets (default: $GLUONCNN_DATA or the data "
                        "module's default)")
    g.add_argument("--batch-size", type=_positive_int, default=256, metavar="N",
                   help="mini-batch size")
    g.add_argument("--resize", type=_positive_int, metavar="SIDE",
                   help="resize images to SIDE x SIDE (e.g. 96 or 224 for ImageNet-form stems)")
    g.add_argument("--normalize", action="store_true",
                   help="normalise with the dataset's channel mean/std instead of [0, 1]")
    if train:
        g.add_argument("--augment", action="store_true",
                       help="random crops/flips on the training set (as the data module defines)")
    g.add_argument("--train-size", type=_positive_int, metavar="N",
                   help="use only the first N training images")
    g.add_argument("--test-size", type=_positive_int, metavar="N",
                   help="use only the first N test images")
    g.add_argument("--sample", action="store_true",
                   help="use the shipped 1,000/500-image Fashion-MNIST sample (no data folder needed)")
    g.add_argument("--num-workers", type=_nonneg_int, default=0, metavar="N",
                   help="data-loading worker processes")
    return g


def _add_ctx_arg(g):
    g.add_argument("--ctx", default="auto",
                   help="device(s): 'cpu', 'gpu', 'gpu:1', 'gpu:0,gpu:1' (data parallel), "
                        "'gpu:all', or 'auto' (the first GPU, else the CPU)")


def _add_train_args(p):
    _add_model_args(p, "number of classes (default: the dataset's)")
    p.add_argument("--model", help="model name (see 'gluoncnn list'); required unless --resume")
    _add_data_args(p, train=True)
    g = p.add_argument_group("training (the options of gluoncnn.train.fit)")
    g.add_argument("--epochs", type=_positive_int, default=10, metavar="N", help="number of epochs")
    _add_ctx_arg(g)
    g.add_argument("--optimizer", default="sgd", help="sgd, nag, adam or rmsprop")
    g.add_argument("--lr", type=_positive_float, default=0.1, help="(peak) learning rate")
    g.add_argument("--momentum", type=_nonneg_float, default=0.9, help="momentum (sgd/nag)")
    g.add_argument("--nesterov", action="store_true", help="Nesterov momentum (sgd)")
    g.add_argument("--wd", type=_nonneg_float, default=0.0, help="weight decay")
    g.add_argument("--init", default="paper", choices=["paper", "he", "xavier"],
                   help="initialisation: the model's paper init, he (MSRAPrelu: deep nets "
                        "without batch norm, e.g. vgg, nin, leave chance faster) or xavier")
    g.add_argument("--schedule", default=None,
                   help="learning-rate schedule: constant, step, step:E1,E2,..., cosine, "
                        "plateau, plateau:PATIENCE (default constant)")
    g.add_argument("--warmup-epochs", type=_nonneg_float, default=0,
                   help="linear learning-rate warm-up epochs")
    g.add_argument("--label-smoothing", type=_fraction, default=0.0, help="label smoothing epsilon")
    g.add_argument("--clip-gradient", type=_positive_float, default=None, metavar="NORM",
                   help="clip the gradient to this global L2 norm")
    g.add_argument("--aux-weight", type=_nonneg_float, default=0.3,
                   help="weight of auxiliary-head losses (GoogLeNet)")
    g.add_argument("--amp", action="store_true",
                   help="float16 mixed precision on GPUs (on the CPU: a warning, then float32)")
    g.add_argument("--no-hybridize", dest="hybridize", action="store_false", default=True,
                   help="run imperatively instead of hybridized (slower, easier to debug)")
    g.add_argument("--kvstore", default="device",
                   help="device, local, or dist_sync / dist_device_sync / dist_async for "
                        "several processes (DMLC_* environment variables)")
    g.add_argument("--seed", type=int, default=None, help="random seed for a repeatable run")
    g.add_argument("--max-batches", type=_positive_int, default=None, metavar="N",
                   help="stop each epoch after N batches (a quick try)")
    g.add_argument("--progress", default="auto", choices=["auto", "on", "off"],
                   help="progress bar per epoch: auto shows one on long epochs in a terminal")
    g.add_argument("--keep-checkpoints", type=_positive_int, default=2, metavar="N",
                   help="epoch checkpoints kept in the run folder")
    g.add_argument("--quiet", dest="verbose", action="store_false", default=True,
                   help="no per-epoch lines from fit")
    r = p.add_argument_group("run folder")
    r.add_argument("--out", metavar="DIR",
                   help="run folder: checkpoints/, history.csv/.json, curves.png, model.params, "
                        "run.json (default: runs/MODEL-DATASET)")
    r.add_argument("--resume", action="store_true",
                   help="continue the run in --out from its last checkpoint with its saved "
                        "settings; options given now (e.g. a larger --epochs) override them")
    r.add_argument("--no-plot", dest="plot", action="store_false", default=True,
                   help="do not save curves.png")


def build_parser():
    parser = ArgumentParser(
        prog="gluoncnn", formatter_class=HelpFormatter,
        description="The classic CNNs in MXNet Gluon: train, evaluate, inspect and export them.",
        epilog="Run 'gluoncnn COMMAND --help' for the options of one command.\n"
               "Data: set GLUONCNN_DATA to the folder holding fashion-mnist/, mnist/, ... or pass "
               "--sample to use the shipped subset.")
    parser.add_argument("--version", action="version", version=_version_text())
    parser.add_argument("--debug", action="store_true", help="show tracebacks on errors")
    sub = parser.add_subparsers(dest="command", metavar="COMMAND", parser_class=ArgumentParser)

    p = sub.add_parser(
        "train", help="train a model, saving checkpoints, history and curves in a run folder",
        formatter_class=HelpFormatter,
        description="Train a model on a dataset with gluoncnn.train.fit.",
        epilog="examples:\n"
               "  gluoncnn train --model lenet --dataset fashion-mnist --epochs 10 "
               "--batch-size 256 --optimizer adam --lr 0.002 --out runs/lenet\n"
               "  gluoncnn train --model resnet18 --epochs 10 --lr 0.05 --ctx gpu:0,gpu:1 "
               "--resize 96 --out runs/resnet18\n"
               "  gluoncnn train --out runs/resnet18 --resume --epochs 20\n"
               "  gluoncnn train --model lenet --sample --epochs 1 --max-batches 3")
    _add_train_args(p)
    p.add_argument("--debug", action="store_true", default=argparse.SUPPRESS,
                   help="show tracebacks on errors")
    p.set_defaults(func=cmd_train)

    p = sub.add_parser(
        "eval", help="evaluate saved parameters: accuracy, loss, per-class, confusion matrix",
        formatter_class=HelpFormatter,
        description="Evaluate a model's parameters on a dataset's test set.",
        epilog="examples:\n"
               "  gluoncnn eval --run runs/lenet\n"
               "  gluoncnn eval --model lenet --params runs/lenet/model.params "
               "--dataset fashion-mnist")
    p.add_argument("--run", metavar="DIR",
                   help="a run folder from 'gluoncnn train': model, options, data settings and "
                        "model.params come from it (options given here override)")
    p.add_argument("--model", help="model name")
    p.add_argument("--params", metavar="FILE", help="parameters file (net.save_parameters)")
    _add_model_args(p, "number of classes (default: the dataset's)")
    _add_data_args(p, train=False)
    g = p.add_argument_group("evaluation")
    _add_ctx_arg(g)
    g.add_argument("--topk", type=_positive_int, default=5, metavar="K",
                   help="also report top-K accuracy (when there are more than K classes)")
    g.add_argument("--max-batches", type=_positive_int, metavar="N",
                   help="evaluate only the first N batches")
    g.add_argument("--no-hybridize", dest="hybridize", action="store_false", default=True,
                   help="run imperatively")
    g.add_argument("--json", dest="json_out", metavar="FILE", help="also write the results as JSON")
    p.add_argument("--debug", action="store_true", default=argparse.SUPPRESS,
                   help="show tracebacks on errors")
    p.set_defaults(func=cmd_eval)

    p = sub.add_parser(
        "summary", help="layer-by-layer output shapes, parameters and FLOPs of a model",
        formatter_class=HelpFormatter,
        description="Print gluoncnn.analysis.summary for a model and input shape.",
        epilog="examples:\n  gluoncnn summary lenet --input 1,28,28\n"
               "  gluoncnn summary resnet18 --input 3,224,224 --classes 1000")
    p.add_argument("model", help="model name (see 'gluoncnn list')")
    p.add_argument("--input", type=parse_input_shape, default=(1, 28, 28), metavar="C,H,W",
                   help="input shape of one image, e.g. 1,28,28 or 3,224,224 (default: 1,28,28)")
    _add_model_args(p, "number of classes (default: 10 for inputs up to 32x32, else 1000)")
    p.add_argument("--debug", action="store_true", default=argparse.SUPPRESS,
                   help="show tracebacks on errors")
    p.set_defaults(func=cmd_summary)

    p = sub.add_parser("list", help="the models gluoncnn can build, by family, with their figures",
                       formatter_class=HelpFormatter,
                       description="List the registered models by family: parameters and "
                                   "multiply-adds at each model's default input, input size "
                                   "and paper.",
                       epilog="examples:\n  gluoncnn list\n  gluoncnn list 'resnet*'\n"
                              "  gluoncnn list --family densenet -v\n  gluoncnn list --json")
    p.add_argument("pattern", nargs="?", help="only names matching this glob, e.g. 'resnet*'")
    p.add_argument("--family", help="only this family (e.g. resnet, densenet)")
    p.add_argument("--json", action="store_true", help="the rows as JSON, for scripts")
    p.add_argument("-v", "--verbose", action="store_true",
                   help="also show each model's description and options")
    p.add_argument("--debug", action="store_true", default=argparse.SUPPRESS,
                   help="show tracebacks on errors")
    p.set_defaults(func=cmd_list)

    p = sub.add_parser("doctor", help="check the installation: MXNet, devices, data, plotting",
                       formatter_class=HelpFormatter,
                       description="Check that everything a course run needs is in place.")
    p.add_argument("--debug", action="store_true", default=argparse.SUPPRESS,
                   help="show tracebacks on errors")
    p.set_defaults(func=cmd_doctor)

    p = sub.add_parser(
        "export", help="export to MXNet symbol JSON + params (and ONNX with --onnx)",
        formatter_class=HelpFormatter,
        description="Export a trained model for inference: MODEL-symbol.json and "
                    "MODEL-0000.params (HybridBlock.export, re-imported with "
                    "gluon.SymbolBlock.imports to check the outputs match) and, with --onnx, "
                    "MODEL.onnx through mxnet.onnx where the model's operators allow.",
        epilog="examples:\n  gluoncnn export --run runs/lenet --out export/ --onnx\n"
               "  gluoncnn export --model lenet --params model.params --input 1,28,28 "
               "--out export/")
    p.add_argument("--run", metavar="DIR",
                   help="a run folder from 'gluoncnn train' (model, options, input shape and "
                        "model.params come from it)")
    p.add_argument("--model", help="model name")
    p.add_argument("--params", metavar="FILE", help="parameters file (net.save_parameters)")
    p.add_argument("--out", metavar="DIR", required=True, help="folder to write the files to")
    p.add_argument("--name", help="file prefix (default: the model name)")
    p.add_argument("--input", type=parse_input_shape, metavar="C,H,W",
                   help="input shape of one image (default: from --run, else 1,28,28)")
    p.add_argument("--batch", type=_positive_int, default=1,
                   help="batch size baked into the ONNX graph's input shape")
    p.add_argument("--onnx", action="store_true", help="also export ONNX with mxnet.onnx")
    _add_model_args(p, "number of classes (default: from --run, else 10)")
    p.add_argument("--debug", action="store_true", default=argparse.SUPPRESS,
                   help="show tracebacks on errors")
    p.set_defaults(func=cmd_export)
    return parser


# ----------------------------------------------------------------------------- helpers

def _version_text():
    return f"gluoncnn {__version__} (python {platform.python_version()})"


def _versions():
    import mxnet as mx
    import numpy as np
    return {"gluoncnn": __version__, "mxnet": mx.__version__, "numpy": np.__version__,
            "python": platform.python_version()}


def _say(*args, **kwargs):
    print(*args, **kwargs, flush=True)


def _check_model_name(name):
    """The registry's name for ``name``, or a CLIError listing the closest valid names."""
    from .models import list_models
    from .models.registry import _get_builder
    if not name:
        raise CLIError("no model given: pass --model NAME (see 'gluoncnn list')")
    try:
        return _get_builder(name).__name__
    except ValueError:
        names = list_models()
        close = difflib.get_close_matches(str(name).lower(), names, n=5, cutoff=0.4)
        hint = f"closest: {', '.join(close)}" if close else f"valid: {', '.join(names)}"
        raise CLIError(f"unknown model {name!r}; {hint} ('gluoncnn list' shows all)") from None


def dataset_info(name):
    """Canonical name, native size, channels, classes and class names of dataset ``name``."""
    from . import data
    try:
        key = data.canonical_name(name)
    except ValueError:
        close = difflib.get_close_matches(str(name).lower(), list(data.DATASETS), n=3, cutoff=0.4)
        hint = f"; did you mean {', '.join(close)}?" if close else ""
        raise CLIError(f"unknown dataset {name!r}{hint} (known: {', '.join(data.DATASETS)})") \
            from None
    info = dict(DATASETS[key], key=key)
    try:
        info["labels"] = list(data.classes(key))
        info["classes"] = len(info["labels"])
    except Exception:
        info["labels"] = None
    return info


def model_kwargs(name, classes, in_channels, small_input, options, input_side,
                 small_input_explicit=None):
    """The keyword arguments for ``get_model(name, ...)``, keeping only options the model takes.

    ``small_input=None`` means automatic: on when ``input_side < SMALL_INPUT_BELOW``.
    """
    from .models import model_options
    valid = model_options(name)
    kwargs = {}
    if classes is not None:
        kwargs["classes"] = classes
    if in_channels is not None:
        kwargs["in_channels"] = in_channels
    if "small_input" in valid:
        kwargs["small_input"] = (input_side < SMALL_INPUT_BELOW) if small_input is None \
            else bool(small_input)
    elif small_input:
        raise CLIError(f"model {name!r} has no small_input option (it takes: "
                       f"{', '.join(valid)})")
    given = {key for key, _ in options or []}
    if "input_size" in valid and "input_size" not in given:
        kwargs["input_size"] = input_side  # nets with one fixed input size (AlexNet, ZFNet)
    for key, value in options or []:
        if key not in valid:
            close = difflib.get_close_matches(key, list(valid), n=1)
            hint = f" (did you mean {close[0]!r}?)" if close else ""
            raise CLIError(f"model {name!r} has no option {key!r}{hint}; its options are: "
                           + ", ".join(f"{k}={v!r}" for k, v in valid.items()))
        kwargs[key] = value
    return kwargs


def build_model(name, kwargs):
    from .models import get_model
    try:
        return get_model(name, **kwargs)
    except TypeError as err:
        raise CLIError(str(err)) from None


def _parse_ctx(text):
    """``'auto'`` -> None (fit/evaluate choose), else the train module's parse_ctx."""
    if text is None or str(text).lower() == "auto":
        return None
    from .train import parse_ctx
    try:
        return parse_ctx(text)
    except (ValueError, TypeError) as err:
        raise CLIError(f"--ctx {text!r}: {err}") from None


def _call_with_supported(func, kwargs, what):
    """Call ``func(**kwargs)`` after checking every keyword is in its real signature."""
    params = inspect.signature(func).parameters
    if not any(p.kind == p.VAR_KEYWORD for p in params.values()):
        unknown = [k for k in kwargs if k not in params]
        if unknown:
            raise CLIError(f"this gluoncnn's {what} does not take {', '.join(unknown)}")
    return func(**kwargs)


def _load_data(args, train=True):
    from .data import load_data
    kwargs = {"name": args.dataset, "batch_size": args.batch_size, "resize": args.resize,
              "root": args.data_root, "normalize": args.normalize,
              "augment": bool(getattr(args, "augment", False)) and train,
              "train_size": args.train_size, "test_size": args.test_size, "sample": args.sample,
              "num_workers": args.num_workers}
    return _call_with_supported(load_data, kwargs, "load_data")


def _input_side(args, info):
    return args.resize if getattr(args, "resize", None) else info["size"]


# ----------------------------------------------------------------------------- train

def _explicit_dests(argv, add_args):
    """The option names given on the command line (not left at their defaults)."""
    probe = ArgumentParser(add_help=False)
    add_args(probe)
    probe.add_argument("--debug", action="store_true")
    for action in probe._actions:
        action.default = argparse.SUPPRESS
        action.required = False
    ns, _ = probe.parse_known_args(argv)
    return set(vars(ns))


_RUN_ONLY = {"out", "resume", "plot", "func", "command", "debug"}


def _train_settings(args):
    return {k: v for k, v in vars(args).items() if k not in _RUN_ONLY}


def _write_json(path, obj):
    tmp = f"{path}.tmp"
    with open(tmp, "w") as f:
        json.dump(obj, f, indent=2, default=str)
        f.write("\n")
    os.replace(tmp, path)


def _read_run(folder):
    path = os.path.join(folder, RUN_FILE)
    if not os.path.isfile(path):
        raise CLIError(f"{folder} holds no gluoncnn run ({RUN_FILE} not found); "
                       f"start one with 'gluoncnn train --model NAME --out {folder}'")
    try:
        with open(path) as f:
            run = json.load(f)
    except (OSError, ValueError) as err:
        raise CLIError(f"cannot read {path}: {err}") from None
    settings = run.get("settings", {})
    # JSON has lists where argparse made tuples.
    if settings.get("model_options"):
        settings["model_options"] = [tuple(kv) for kv in settings["model_options"]]
    return run


def save_curves(records, path):
    """The loss and accuracy curves of ``records`` as a PNG (``gluoncnn.progress.plot_history``)."""
    from .progress import plot_history
    plot_history(records, path)
    return path


def _last_checkpoint(folder):
    """The ``.params`` of the last complete epoch in ``folder/checkpoints`` (or None)."""
    ckdir = os.path.join(folder, CHECKPOINT_DIR)
    if not os.path.isfile(os.path.join(ckdir, "last.json")):
        return None
    from .train import load_checkpoint
    try:
        return load_checkpoint(ckdir)["params_path"]
    except (OSError, ValueError, KeyError):
        return None


# fit's parameters that the run folder (or the program) sets rather than a flag of their own.
FIT_SET_BY_CLI = {"net", "train_iter", "test_iter", "checkpoint_dir", "resume", "history_file",
                  "plot", "on_step", "classes"}
_PROGRESS = {"auto": "auto", "on": True, "off": False}


def fit_kwargs_from_settings(s, ctx):
    """fit's keyword arguments from the train settings (one flag per fit option)."""
    return {"epochs": s["epochs"], "ctx": ctx, "optimizer": s["optimizer"], "lr": s["lr"],
            "momentum": s["momentum"], "nesterov": s["nesterov"], "wd": s["wd"],
            "schedule": s["schedule"], "warmup_epochs": s["warmup_epochs"],
            "label_smoothing": s["label_smoothing"], "clip_gradient": s["clip_gradient"],
            "aux_weight": s["aux_weight"], "amp": s["amp"], "hybridize": s["hybridize"],
            "kvstore": s["kvstore"], "seed": s["seed"],
            "progress": _PROGRESS.get(s["progress"], s["progress"]),
            "max_batches": s["max_batches"], "keep_checkpoints": s["keep_checkpoints"],
            "verbose": s["verbose"], "init": s["init"]}


def _describe_model(name, kwargs):
    return f"{name}({', '.join(f'{k}={v!r}' for k, v in kwargs.items())})"


def cmd_train(args, argv):
    explicit = _explicit_dests(argv, _add_train_args)
    if args.resume:
        if not args.out:
            raise CLIError("--resume needs --out DIR, the run folder to continue")
        previous = _read_run(args.out)
        settings = dict(previous.get("settings", {}))
        for key in explicit:
            if key not in _RUN_ONLY:
                settings[key] = getattr(args, key)
        for key, value in _train_settings(args).items():
            settings.setdefault(key, value)  # options added to gluoncnn since the run started
        command = previous.get("command", [])
        resumed = previous.get("resumed", []) + [
            {"argv": list(argv), "at": datetime.datetime.now().isoformat(timespec="seconds")}]
    else:
        settings = _train_settings(args)
        command = ["gluoncnn", "train"] + list(argv)
        resumed = []
    name = _check_model_name(settings.get("model"))
    settings["model"] = name
    info = dataset_info(settings["dataset"])
    settings["dataset"] = info["key"]
    from .train import OPTIMIZERS
    if str(settings["optimizer"]).lower() not in OPTIMIZERS:
        raise CLIError(f"--optimizer {settings['optimizer']!r} is not one of "
                       f"{', '.join(OPTIMIZERS)}")
    ns = argparse.Namespace(**settings)
    side = _input_side(ns, info)
    classes = settings.get("classes") or info["classes"]
    in_channels = settings.get("in_channels") or info["channels"]
    kwargs = model_kwargs(name, classes, in_channels, settings.get("small_input"),
                          settings.get("model_options"), side)
    ctx = _parse_ctx(settings["ctx"])

    out = args.out or os.path.join("runs", f"{name}-{info['key']}")
    ckdir = os.path.join(out, CHECKPOINT_DIR)
    run_path = os.path.join(out, RUN_FILE)
    net = build_model(name, kwargs)
    train_iter, test_iter = _load_data(ns, train=True)

    os.makedirs(out, exist_ok=True)
    if not args.resume and os.path.isfile(run_path):
        _say(f"note: {out} held an earlier run; starting over (--resume continues a run)")
        if os.path.isdir(ckdir):
            for f in os.listdir(ckdir):
                if os.path.isfile(os.path.join(ckdir, f)):
                    os.remove(os.path.join(ckdir, f))
    run = {"command": command, "command_line": " ".join(shlex.quote(a) for a in command),
           "settings": settings, "model": name, "model_kwargs": kwargs,
           "input_shape": [in_channels, side, side], "resumed": resumed,
           "versions": _versions(), "host": platform.node(),
           "started": datetime.datetime.now().isoformat(timespec="seconds"), "status": "running"}
    _write_json(run_path, run)

    from .train import fit
    curves = os.path.join(out, "curves.png")
    history_csv = os.path.join(out, "history.csv")
    fkw = fit_kwargs_from_settings(settings, ctx)
    fkw.update(checkpoint_dir=ckdir, resume=bool(args.resume),
               plot=curves if args.plot else False, history_file=history_csv, classes=classes)
    _say(f"{'resuming' if args.resume else 'training'} {_describe_model(name, kwargs)} on "
         f"{info['key']} ({in_channels}x{side}x{side}) for {settings['epochs']} epoch(s); "
         f"run folder: {out}")
    t0 = time.time()
    try:
        history = _call_with_supported(
            fit, dict(fkw, net=net, train_iter=train_iter, test_iter=test_iter), "fit")
    except KeyboardInterrupt:
        run.update(status="interrupted",
                   stopped=datetime.datetime.now().isoformat(timespec="seconds"))
        _write_json(run_path, run)
        where = os.path.join(ckdir, "interrupted.params")
        last = _last_checkpoint(out)
        print(f"interrupted; checkpoint at {where if os.path.isfile(where) else ckdir}"
              + (f" (last complete epoch: {last})" if last else "")
              + f"; continue with: gluoncnn train --out {shlex.quote(out)} --resume",
              file=sys.stderr)
        return EXIT_INTERRUPTED
    except BaseException:
        run.update(status="failed")
        _write_json(run_path, run)
        raise
    seconds = time.time() - t0
    records = list(history.records)
    params_path = os.path.join(out, FINAL_PARAMS)
    net.save_parameters(params_path)
    history_json = os.path.join(out, "history.json")
    history.to_csv(history_csv)
    history.to_json(history_json)
    if args.plot and records and not os.path.isfile(curves):
        save_curves(records, curves)
    files = {"params": params_path, "history_csv": history_csv, "history_json": history_json,
             "curves": curves if args.plot and os.path.isfile(curves) else None,
             "checkpoints": ckdir, "run": run_path}
    run.update(status="finished", finished=datetime.datetime.now().isoformat(timespec="seconds"),
               seconds=round(seconds, 2), epochs_done=len(records),
               final=records[-1] if records else None, files=files)
    _write_json(run_path, run)
    _say(f"saved in {out}:")
    for label, path in (("parameters", params_path), ("history", history_csv),
                        ("", history_json), ("curves", files["curves"]),
                        ("checkpoints", ckdir), ("settings", run_path)):
        if path:
            _say(f"  {label:<12}{path}")
    _say(f"next: gluoncnn eval --run {shlex.quote(out)}   |   "
         f"gluoncnn train --out {shlex.quote(out)} --resume --epochs N")
    return EXIT_OK


# ----------------------------------------------------------------------------- eval

def _merge_run(args, argv, add_args, fields):
    """Fill ``args`` from ``args.run``'s run.json where the command line did not say."""
    if not args.run:
        return None
    run = _read_run(args.run)
    settings = run.get("settings", {})
    explicit = _explicit_dests(argv, add_args)
    for key in fields:
        if key not in explicit and key in settings:
            setattr(args, key, settings[key])
    if not getattr(args, "params", None):
        args.params = os.path.join(args.run, FINAL_PARAMS)
        if not os.path.isfile(args.params):
            ck = _last_checkpoint(args.run)
            if ck is None or not ck.endswith(".params"):
                raise CLIError(f"{args.run} has no {FINAL_PARAMS} yet (the run did not finish); "
                               f"pass --params FILE")
            args.params = ck
    return run


def _eval_args(p):
    p.add_argument("--run")
    p.add_argument("--model")
    p.add_argument("--params")
    _add_model_args(p, "")
    _add_data_args(p, train=False)
    _add_ctx_arg(p)
    p.add_argument("--topk", type=_positive_int)
    p.add_argument("--max-batches", type=_positive_int)
    p.add_argument("--no-hybridize", dest="hybridize", action="store_false")
    p.add_argument("--json", dest="json_out")


def _load_params(net, path, ctx):
    if not path:
        raise CLIError("no parameters given: pass --params FILE (or --run DIR)")
    if not os.path.isfile(path):
        raise CLIError(f"parameters file {path} not found")
    try:
        net.load_parameters(path, ctx=ctx)
    except Exception as err:  # MXNet's message is long; keep its first line
        raise CLIError(f"cannot load {path} into this model: {_first_line(err)}; build it with "
                       f"the options it was trained with (--classes, --in-channels, "
                       f"--small-input, --model-option)") from None


def _format_confusion(matrix, labels):
    """The confusion matrix as text: one row per true class (index and name), one column per
    predicted class (index)."""
    n = len(matrix)
    names = [str(l)[:12] for l in (labels or [""] * n)]
    name_w = max(len(x) for x in names) if names else 0
    width = max(4, len(str(int(max((max(row) for row in matrix), default=0)))) + 1, len(str(n)) + 1)
    head = " " * (4 + name_w) + "".join(f"{i:>{width}}" for i in range(n))
    lines = [head]
    for i, row in enumerate(matrix):
        lines.append(f"{i:>3} {names[i]:<{name_w}}" + "".join(f"{int(v):>{width}}" for v in row))
    return "\n".join(lines)


def cmd_eval(args, argv):
    import numpy as np
    _merge_run(args, argv, _eval_args,
               ["model", "classes", "in_channels", "small_input", "model_options", "dataset",
                "data_root", "resize", "normalize", "sample", "test_size"])
    if args.model_options:
        args.model_options = [tuple(kv) for kv in args.model_options]
    name = _check_model_name(args.model)
    info = dataset_info(args.dataset)
    args.dataset = info["key"]
    side = _input_side(args, info)
    classes = args.classes or info["classes"]
    in_channels = args.in_channels or info["channels"]
    kwargs = model_kwargs(name, classes, in_channels, args.small_input, args.model_options, side)
    if not args.params:
        raise CLIError("no parameters given: pass --params FILE (or --run DIR)")
    if not os.path.isfile(args.params):
        raise CLIError(f"parameters file {args.params} not found")
    ctx = _parse_ctx(args.ctx)
    from .train import evaluate, parse_ctx
    ctxs = parse_ctx(ctx)
    net = build_model(name, kwargs)
    _load_params(net, args.params, ctxs)
    if args.hybridize:
        net.hybridize(static_alloc=True, static_shape=True)
    args.train_size = 1  # eval reads the test set only
    _, test_iter = _load_data(args, train=False)
    result = _call_with_supported(
        evaluate, {"net": net, "data_iter": test_iter, "ctx": ctxs, "topk": args.topk,
                   "loss": True, "confusion": True, "classes": classes,
                   "max_batches": args.max_batches}, "evaluate")
    labels = info.get("labels")
    n = result["n"]
    where = ", ".join(str(c) for c in ctxs)
    _say(f"{_describe_model(name, kwargs)} on the {info['key']} test set ({n} images)")
    _say(f"parameters {args.params}")
    _say(f"  top-1 accuracy   {result['acc']:.4f}")
    topk_key = f"top{args.topk}"
    if topk_key in result:
        _say(f"  top-{args.topk} accuracy   {result[topk_key]:.4f}")
    if result.get("loss") is not None:
        _say(f"  loss             {result['loss']:.4f}")
    _say(f"  throughput       {result['examples_per_sec']:,.0f} images/s on {where} "
         f"({result['time']:.2f} s, batch {args.batch_size}, data loading included)")
    confusion = result.get("confusion")
    per_class = result.get("per_class_acc")
    if confusion is not None:
        _say("\nper-class accuracy")
        for i, a in enumerate(per_class):
            label = labels[i] if labels and i < len(labels) else str(i)
            _say(f"  {i:>3} {label:<14}{'n/a (no images)' if np.isnan(a) else f'{a:.4f}'}")
        _say("\nconfusion matrix (rows: true class, columns: predicted class)")
        _say(_format_confusion(confusion, labels))
    if args.json_out:
        out = {"model": name, "model_kwargs": kwargs, "dataset": info["key"],
               "params": args.params, "ctx": [str(c) for c in ctxs],
               "acc": result["acc"], f"top{args.topk}": result.get(topk_key),
               "loss": result.get("loss"), "n": n, "seconds": result["time"],
               "images_per_sec": result["examples_per_sec"],
               "per_class_acc": None if per_class is None else
               [None if np.isnan(a) else float(a) for a in per_class],
               "labels": labels,
               "confusion": None if confusion is None else np.asarray(confusion).tolist()}
        _write_json(args.json_out, out)
        _say(f"\nresults written to {args.json_out}")
    return EXIT_OK


# ----------------------------------------------------------------------------- summary / list

def _summary_args(p):
    p.add_argument("model")
    p.add_argument("--input", type=parse_input_shape)
    _add_model_args(p, "")


def cmd_summary(args, argv):
    name = _check_model_name(args.model)
    c, h, w = args.input
    classes = args.classes or (10 if max(h, w) <= 32 else 1000)
    in_channels = args.in_channels or c
    if in_channels != c:
        raise CLIError(f"--in-channels {in_channels} does not match --input {c},{h},{w}")
    kwargs = model_kwargs(name, classes, in_channels, args.small_input, args.model_options,
                          min(h, w))
    net = build_model(name, kwargs)
    net.initialize()
    from .analysis import summary
    _say(f"{name}({', '.join(f'{k}={v!r}' for k, v in kwargs.items())}), input (1, {c}, {h}, {w})")
    result = summary(net, (c, h, w))
    if result is not None and not _summary_prints():
        _say(result)
    return EXIT_OK


def _summary_prints():
    """True if analysis.summary prints its table itself (as CONTRIBUTING.md says)."""
    return True


def _si(n):
    """12345678 -> '12.3M' (the figures of 'gluoncnn list')."""
    for unit, size in (("G", 1e9), ("M", 1e6), ("k", 1e3)):
        if n >= size:
            return f"{n / size:.3g}{unit}"
    return str(n)


def cmd_list(args, argv):
    from .models import model_options, model_table
    rows = model_table(args.pattern, args.family)
    if args.json:
        _say(json.dumps(rows, indent=1))
        return EXIT_OK
    if not rows:
        _say(f"no model matches {args.pattern!r}; 'gluoncnn list' shows them all")
        return EXIT_OK
    width = max(len(r["name"]) for r in rows) + 2
    family = None
    for r in rows:
        if r["family"] != family:
            family = r["family"]
            _say(f"\n# {family}\n{'name':<{width}}{'params':>8}{'MACs':>9}  {'input':<11}paper")
        size = "x".join(map(str, r["input"]))
        extra = f" (+{_si(r['train_only_params'])} in training)" if r["train_only_params"] else ""
        _say(f"{r['name']:<{width}}{_si(r['params']):>8}{_si(r['macs']):>9}  {size:<11}"
             f"{r['short_paper']}{extra}")
        if args.verbose:
            _say(f"{'':<{width}}{r['description']}")
            opts = ", ".join(f"{k}={v!r}" for k, v in model_options(r["name"]).items())
            _say(f"{'':<{width}}options: {opts}")
    _say(f"\n{len(rows)} models; params and MACs (multiply-adds per image) at each one's default "
         f"classes and input. 'gluoncnn summary NAME --input C,H,W' shows one layer by layer; "
         f"'-v' the options, '--json' everything.")
    return EXIT_OK


def cmd_doctor(args, argv):
    from .doctor import run_doctor
    code = run_doctor(file=sys.stdout)
    return int(code or 0)


# ----------------------------------------------------------------------------- export

def _export_args(p):
    p.add_argument("--run")
    p.add_argument("--model")
    p.add_argument("--params")
    p.add_argument("--out")
    p.add_argument("--name")
    p.add_argument("--input", type=parse_input_shape)
    p.add_argument("--batch", type=_positive_int)
    p.add_argument("--onnx", action="store_true")
    _add_model_args(p, "")


def symbol_ops(symbol_json_path):
    """``{op name: [node names]}`` of the operators in an exported symbol JSON."""
    with open(symbol_json_path) as f:
        graph = json.load(f)
    ops = {}
    for node in graph.get("nodes", []):
        if node.get("op") not in (None, "null"):
            ops.setdefault(node["op"], []).append(node.get("name"))
    return ops


def unsupported_onnx_ops(ops):
    """The operators of ``ops`` (from :func:`symbol_ops`) that mxnet.onnx cannot convert."""
    from mxnet.onnx import get_operator_support
    supported = set(get_operator_support())
    return {op: nodes for op, nodes in ops.items() if op not in supported}


def export_onnx(sym_path, params_path, input_shape, onnx_path):
    """Export ONNX with ``mxnet.onnx.export_model``. Returns ``(path or None, message)``;
    never raises for a model the exporter cannot convert: the message names the operators."""
    import numpy as np
    try:
        import mxnet.onnx as mxonnx
    except Exception as err:  # onnx/protobuf missing or incompatible
        return None, f"mxnet.onnx is not usable here ({_first_line(err)}); install onnx==1.14.1"
    ops = symbol_ops(sym_path)
    missing = unsupported_onnx_ops(ops)
    if missing:
        detail = "; ".join(f"{op} (layers: {', '.join(nodes[:3])}"
                           f"{', ...' if len(nodes) > 3 else ''})" for op, nodes in missing.items())
        return None, f"mxnet.onnx has no converter for operator(s): {detail}"
    try:
        import logging
        level = logging.getLogger().level
        logging.getLogger().setLevel(logging.WARNING)
        try:
            mxonnx.export_model(sym_path, params_path, in_shapes=[tuple(input_shape)],
                                in_types=[np.float32], onnx_file_path=onnx_path)
        finally:
            logging.getLogger().setLevel(level)
    except Exception as err:
        if os.path.exists(onnx_path):
            os.remove(onnx_path)
        node = _failing_node(err, ops)
        return None, (f"mxnet.onnx could not convert {node}: {_first_line(err)}" if node else
                      f"mxnet.onnx could not convert the model: {type(err).__name__}: "
                      f"{_first_line(err)}")
    try:
        import onnx
        onnx.checker.check_model(onnx.load(onnx_path))
    except Exception as err:
        return onnx_path, f"written, but onnx.checker complains: {_first_line(err)}"
    return onnx_path, "written and passes onnx.checker"


def _failing_node(err, ops):
    text = str(err)
    for op, nodes in ops.items():
        for node in nodes:
            if node and node in text:
                return f"layer {node} (operator {op})"
    for op in ops:
        if op in text:
            return f"operator {op} (layers: {', '.join(ops[op][:3])})"
    return None


def cmd_export(args, argv):
    import mxnet as mx
    import numpy as np
    from mxnet import gluon
    run = _merge_run(args, argv, _export_args,
                     ["model", "classes", "in_channels", "small_input", "model_options"])
    if args.model_options:
        args.model_options = [tuple(kv) for kv in args.model_options]
    name = _check_model_name(args.model)
    if args.input is None:
        args.input = tuple(run["input_shape"]) if run and run.get("input_shape") else (1, 28, 28)
    c, h, w = args.input
    if run is not None and args.classes is None:
        args.classes = run.get("model_kwargs", {}).get("classes")
    classes = args.classes or 10
    in_channels = args.in_channels or c
    if in_channels != c:
        raise CLIError(f"--in-channels {in_channels} does not match --input {c},{h},{w}")
    kwargs = model_kwargs(name, classes, in_channels, args.small_input, args.model_options,
                          min(h, w))
    ctx = mx.cpu()
    net = build_model(name, kwargs)
    _load_params(net, args.params, ctx)
    os.makedirs(args.out, exist_ok=True)
    prefix = os.path.join(args.out, args.name or name)
    shape = (args.batch, c, h, w)
    net.hybridize(static_alloc=True, static_shape=True)
    with mx.autograd.predict_mode():
        net(mx.nd.zeros(shape, ctx=ctx))
    net.export(prefix, epoch=0)
    sym_path, params_path = f"{prefix}-symbol.json", f"{prefix}-0000.params"
    _say(f"exported {name}({', '.join(f'{k}={v!r}' for k, v in kwargs.items())}) for input "
         f"{shape}:")
    _say(f"  symbol      {sym_path}")
    _say(f"  parameters  {params_path}")

    # Re-import and compare on a random batch.
    with _quiet_warnings():
        imported = gluon.SymbolBlock.imports(sym_path, ["data"], params_path, ctx=ctx)
    x = mx.nd.random.uniform(shape=shape, ctx=ctx)
    ref = _first_output(net(x)).asnumpy()
    got = _first_output(imported(x)).asnumpy()
    diff = float(np.abs(ref - got).max())
    if not np.allclose(ref, got, rtol=1e-4, atol=1e-5):
        raise CLIError(f"re-imported model differs from the original (max |diff| {diff:.3g})")
    _say(f"  re-imported with gluon.SymbolBlock.imports: same outputs (max |diff| {diff:.2g})")
    result = {"model": name, "model_kwargs": kwargs, "input_shape": list(shape),
              "symbol": sym_path, "params": params_path, "reimport_max_abs_diff": diff}
    if args.onnx:
        onnx_path, message = export_onnx(sym_path, params_path, shape, f"{prefix}.onnx")
        result.update(onnx=onnx_path, onnx_message=message)
        if onnx_path:
            _say(f"  onnx        {onnx_path} ({message})")
        else:
            _say(f"  onnx        not exported: {message}")
            print(f"gluoncnn: warning: ONNX export of {name} not possible: {message}",
                  file=sys.stderr)
    _write_json(f"{prefix}-export.json", result)
    return EXIT_OK


def _first_output(out):
    return out[0] if isinstance(out, (list, tuple)) else out


class _quiet_warnings:
    def __enter__(self):
        import warnings
        self._cm = warnings.catch_warnings()
        self._cm.__enter__()
        warnings.simplefilter("ignore")

    def __exit__(self, *exc):
        return self._cm.__exit__(*exc)


# ----------------------------------------------------------------------------- main

def _first_line(err):
    text = str(err).strip()
    if text.startswith(("'", '"')) and text.endswith(("'", '"')) and len(text) > 1:
        text = text[1:-1]  # KeyError('...') quoting
    for line in text.splitlines():
        line = line.strip()
        if line and not line.startswith(("Stack trace", "[bt]", "File ")):
            return line
    return type(err).__name__


def _user_errors():
    """Exception classes that mean 'what was asked cannot be done', not a gluoncnn bug."""
    classes = [CLIError, FileNotFoundError, PermissionError]
    for module, attr in (("gluoncnn.data", "DatasetNotFoundError"),
                         ("gluoncnn.models.common", "InputShapeError")):
        try:
            classes.append(getattr(__import__(module, fromlist=[attr]), attr))
        except (ImportError, AttributeError):
            pass
    return tuple(classes)


def _raised_by_gluoncnn(err):
    """True if ``err`` was raised by gluoncnn's own code (whose messages say what to do), not
    deeper inside MXNet or Python."""
    tb = err.__traceback__
    last = None
    while tb is not None:
        last = tb.tb_frame.f_code.co_filename
        tb = tb.tb_next
    package = os.path.dirname(os.path.abspath(__file__))
    return bool(last) and os.path.abspath(last).startswith(package + os.sep)


def _unknown_args_message(parser, args, extras):
    sub = None
    if getattr(args, "command", None):
        for action in parser._actions:
            if isinstance(action, argparse._SubParsersAction):
                sub = action.choices.get(args.command)
    target = sub or parser
    options = [o for a in target._actions for o in a.option_strings if o.startswith("--")]
    hints = []
    for extra in extras:
        if extra.startswith("-"):
            close = difflib.get_close_matches(extra.split("=")[0], options, n=1, cutoff=0.6)
            if close:
                hints.append(f"{extra} (did you mean {close[0]}?)")
                continue
        hints.append(extra)
    return f"unrecognized arguments: {' '.join(hints)} (see '{target.prog} --help')"


def main(argv=None):
    """Run the ``gluoncnn`` command with ``argv`` (default ``sys.argv[1:]``); return the exit code."""
    argv = list(sys.argv[1:] if argv is None else argv)
    debug = "--debug" in argv
    parser = build_parser()
    try:
        try:
            args, extras = parser.parse_known_args(argv)
        except SystemExit as exit_:  # --help / --version
            return int(exit_.code or 0)
        if extras:
            raise CLIError(_unknown_args_message(parser, args, extras))
        if not getattr(args, "command", None):
            parser.print_help()
            return EXIT_USAGE
        sub_argv = argv[argv.index(args.command) + 1:]
        sub_argv = [a for a in sub_argv if a != "--debug"]
        return int(args.func(args, sub_argv) or 0)
    except KeyboardInterrupt:
        if debug:
            raise
        print("\ninterrupted", file=sys.stderr)
        return EXIT_INTERRUPTED
    except BrokenPipeError:  # e.g. 'gluoncnn list | head': the reader has gone, that is fine
        try:
            sys.stdout = open(os.devnull, "w")
        except OSError:
            pass
        return EXIT_OK
    except Exception as err:
        if debug:
            raise
        if type(err).__name__ == "DatasetNotFoundError":
            # The data module's message is the one clear explanation: print it whole.
            print(f"gluoncnn: error: {err}\n  - on the command line: --data-root DIR, or "
                  f"--sample for the shipped Fashion-MNIST subset.", file=sys.stderr)
            return EXIT_USAGE
        if isinstance(err, _user_errors()) or (
                isinstance(err, (ValueError, TypeError, KeyError)) and _raised_by_gluoncnn(err)):
            print(f"gluoncnn: error: {_first_line(err)}", file=sys.stderr)
            return EXIT_USAGE
        if isinstance(err, (ValueError, TypeError, KeyError, RuntimeError, OSError)) or \
                type(err).__name__ == "MXNetError":
            print(f"gluoncnn: error: {_first_line(err)} (rerun with --debug for the traceback)",
                  file=sys.stderr)
            return EXIT_USAGE
        print(f"gluoncnn: error: {type(err).__name__}: {_first_line(err)} (an internal error; "
              f"rerun with --debug for the traceback)", file=sys.stderr)
        return EXIT_FAILURE


if __name__ == "__main__":
    sys.exit(main())
