"""The ``gluoncnn`` command line: argument types, the parser, and reading settings from argv."""
from __future__ import annotations

import argparse
import ast
import platform
from typing import Any, Callable

from .. import __version__, config
from ..errors import OptionError

#: In a help text, where the catalogue's dataset names go.
DATASET_NAMES_HERE = "{dataset names}"


class CLIError(OptionError):
    """A mistake in the command line: printed as one line, exit code 2."""


class ArgumentParser(argparse.ArgumentParser):
    """argparse with one-line errors: ``gluoncnn train: error: ... (see gluoncnn train --help)``."""

    def error(self, message):
        raise CLIError(f"{message} (see '{self.prog} --help')")


class HelpFormatter(argparse.ArgumentDefaultsHelpFormatter, argparse.RawDescriptionHelpFormatter):
    def __init__(self, prog):
        super().__init__(prog, max_help_position=32, width=100)

    def _get_help_string(self, action):
        if action.help and DATASET_NAMES_HERE in action.help:
            # read when help is printed: importing gluoncnn.data imports MXNet, which 'gluoncnn
            # doctor' must be able to do without
            from ..data import DATASET_NAMES
            action.help = action.help.replace(DATASET_NAMES_HERE, ", ".join(DATASET_NAMES))
        # Show defaults only where they say something.
        if action.default in (None, False, argparse.SUPPRESS, []) or action.nargs == 0 \
                or "%(default)" in (action.help or "") or "default" in (action.help or ""):
            return action.help
        return super()._get_help_string(action)


# ----------------------------------------------------------------------------- argument types

def _number(convert: Callable[[str], Any], ok: Callable[[Any], bool], what: str):
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


def parse_formats(text: str) -> tuple[str, ...]:
    """``'onnx'``, ``'symbol,onnx'`` -> the export formats, each checked."""
    from ..export import FORMATS
    formats = tuple(dict.fromkeys(f.strip().lower() for f in str(text).split(",") if f.strip()))
    if not formats or not set(formats) <= set(FORMATS):
        raise argparse.ArgumentTypeError(
            f"expected {', '.join(FORMATS)} or both as {','.join(FORMATS)}, got {text!r}")
    return formats


def parse_input_shape(text: str) -> tuple[int, int, int]:
    """``'1,28,28'`` (or ``1x28x28``, ``(1, 28, 28)``) -> ``(1, 28, 28)``: channels, height,
    width."""
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


def parse_model_option(text: str) -> tuple[str, Any]:
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

def _field_type(f):
    """An argparse type for config field ``f``: the text as the field's type, then the field's
    own check (its message, one line)."""
    cli = f.metadata["cli"]
    convert = cli.get("convert") or config.field_type(f)
    what = cli.get("expects") or {int: "a whole number", float: "a number"}.get(convert, "a text")

    def parse(text):
        try:
            value = convert(text)
        except ValueError:
            raise argparse.ArgumentTypeError(f"expected {what}, got {text!r}") from None
        try:
            f.metadata["check"](f.name, value)
        except OptionError as err:
            raise argparse.ArgumentTypeError(str(err)) from None
        return value
    return parse


def add_config_flags(group, names, help: dict[str, str] | None = None) -> None:
    """The flags of the config fields ``names`` (:class:`gluoncnn.config.TrainConfig`), each
    generated from its field: name, default, help, type and check, choices. ``help`` replaces a
    field's help text for one command."""
    by_name = {f.name: f for f in config.fields()}
    for name in names:
        f = by_name[name]
        cli = f.metadata["cli"]
        option = cli.get("flag") or "--" + name.replace("_", "-")
        text = (help or {}).get(name, f.metadata["help"].replace("%", "%%"))
        kwargs: dict[str, Any] = {"dest": name, "help": text}
        if cli.get("metavar"):
            kwargs["metavar"] = cli["metavar"]
        if cli.get("append"):
            kwargs.update(action="append", default=list(f.default), type=parse_model_option)
        elif f.default is None and config.field_type(f) is bool or cli.get("negatable"):
            kwargs.update(action=argparse.BooleanOptionalAction, default=f.default)
        elif isinstance(f.default, bool):
            kwargs.update(action="store_false" if f.default else "store_true", default=f.default)
        else:
            kwargs["default"] = f.default
            if cli.get("choices"):
                kwargs["choices"] = cli["choices"]
            else:
                kwargs["type"] = _field_type(f)
            if cli.get("const"):
                kwargs.update(nargs="?", const=cli["const"])
        group.add_argument(option, **kwargs)


#: The titles of ``gluoncnn train``'s flag groups, one per group of config fields.
_GROUP_TITLES = {"model": "model", "data": "data",
                 "training": "training (the options of gluoncnn.train.fit)",
                 "run": "run folder"}


def _add_model_args(p: argparse.ArgumentParser, classes_help: str):
    g = p.add_argument_group("model")
    add_config_flags(g, ("classes", "in_channels", "small_input", "model_options"),
                     help={"classes": classes_help})
    return g


def _pretrained_help(what: str) -> dict[str, str]:
    return {"pretrained": f"an MXNet model-zoo or GluonCV .params file to load ({what}); "
                          f"matched by architecture, nothing is downloaded"}


def _add_data_args(p: argparse.ArgumentParser, train: bool = True):
    g = p.add_argument_group("data")
    add_config_flags(g, [f.name for f in config.fields("data") if train or f.name != "augment"])
    return g


def _add_train_args(p: argparse.ArgumentParser) -> None:
    groups = {name: p.add_argument_group(title) for name, title in _GROUP_TITLES.items()}
    for name in config.GROUPS:
        add_config_flags(groups[name], [f.name for f in config.fields(name)])
    g = groups["training"]
    g.add_argument("--find-lr", nargs="?", const="lr-find.png", default=None, metavar="PNG",
                   help="instead of training, run the learning-rate range test (lr 1e-7 to 10 "
                        "over --max-batches batches, default 100) with these settings, print "
                        "the suggested --lr and save the loss-against-lr plot as PNG (default "
                        "lr-find.png); writes no run folder and leaves no weights")
    c = p.add_argument_group("config file")
    c.add_argument("--config", metavar="FILE",
                   help="read the run's settings from FILE (JSON, as --print-config prints them, "
                        "or TOML on Python 3.11+); flags given as well override it")
    c.add_argument("--print-config", action="store_true",
                   help="print the run's settings as JSON (the file --config reads) and stop: "
                        "nothing is trained or written")
    r = groups["run"]
    r.add_argument("--out", metavar="DIR",
                   help="run folder: checkpoints/, history.csv/.json, curves.png, model.params, "
                        "run.json (default: runs/MODEL-DATASET)")
    r.add_argument("--resume", action="store_true",
                   help="continue the run in --out from its last checkpoint with its saved "
                        "settings; options given now (e.g. a larger --epochs, another --lr) "
                        "override them, except the model, its options, the dataset and the "
                        "optimizer, which the checkpoints depend on")
    r.add_argument("--overwrite", action="store_true",
                   help="replace the run that --out holds: removes only that run's files "
                        "(run.json, model.params, history, curves, checkpoints), nothing else")
    r.add_argument("--no-plot", dest="plot", action="store_false", default=True,
                   help="do not save curves.png")


def build_parser() -> ArgumentParser:
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
    add_config_flags(p, ("pretrained",), help=_pretrained_help("instead of --params"))
    _add_model_args(p, "number of classes (default: the dataset's)")
    _add_data_args(p, train=False)
    g = p.add_argument_group("evaluation")
    add_config_flags(g, ("ctx",))
    g.add_argument("--topk", type=_positive_int, default=5, metavar="K",
                   help="also report top-K accuracy (when there are more than K classes)")
    g.add_argument("--max-batches", type=_positive_int, metavar="N",
                   help="evaluate only the first N batches")
    g.add_argument("--no-hybridize", dest="hybridize", action="store_false", default=True,
                   help="run imperatively")
    g.add_argument("--json", dest="json_out", metavar="FILE", help="also write the results as JSON")
    p.add_argument("--debug", action="store_true", default=argparse.SUPPRESS,
                   help="show tracebacks on errors")

    p = sub.add_parser(
        "summary", help="layer-by-layer output shapes, parameters and FLOPs of a model",
        formatter_class=HelpFormatter,
        description="Print gluoncnn.analysis.summary for a model and input shape.",
        epilog="examples:\n  gluoncnn summary lenet --input 1,28,28\n"
               "  gluoncnn summary resnet18 --input 3,224,224 --classes 1000")
    p.add_argument("model", help="model name (see 'gluoncnn list')")
    p.add_argument("--input", type=parse_input_shape, default=(1, 28, 28), metavar="C,H,W",
                   help="input shape of one image, e.g. 1,28,28 or 3,224,224 (default: 1,28,28)")
    p.add_argument("--max-depth", type=_nonneg_int, metavar="N",
                   help="show blocks nested at most N deep (0: the top-level stages only)")
    add_config_flags(p, ("pretrained",), help=_pretrained_help("checks that it fits the model"))
    _add_model_args(p, "number of classes (default: 10 for inputs up to 32x32, else 1000)")
    p.add_argument("--debug", action="store_true", default=argparse.SUPPRESS,
                   help="show tracebacks on errors")

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

    p = sub.add_parser("doctor", help="check the installation (Python, numpy, MXNet, GPUs, data, "
                                      "plotting) and show the CPU, AMX, bf16 and threads "
                                      "gluoncnn chooses",
                       formatter_class=HelpFormatter,
                       description="Check that everything a course run needs is in place: the "
                                   "Python, numpy and MXNet versions, MXNet's import, the GPUs "
                                   "MXNet sees, the datasets' files and plotting; show the CPU, "
                                   "whether it computes bfloat16 natively, and the threads "
                                   "gluoncnn chooses (and why).")
    p.add_argument("--clear-cache", action="store_true",
                   help="forget the threads and precision fit measured for each net on this "
                        "machine (it measures again on the next run)")
    p.add_argument("--debug", action="store_true", default=argparse.SUPPRESS,
                   help="show tracebacks on errors")

    p = sub.add_parser(
        "export", help="export to MXNet symbol JSON + params, or ONNX (--format onnx)",
        formatter_class=HelpFormatter,
        description="Export a trained model for inference: MODEL-symbol.json and "
                    "MODEL-0000.params (the inference graph, re-imported with "
                    "gluon.SymbolBlock.imports) and/or MODEL.onnx (mxnet.onnx, then tidied: "
                    "input 'images' of any batch size, output 'logits', weights as "
                    "initializers, metadata; run in onnxruntime). Each is compared with the "
                    "model on a random batch; a model that cannot be exported leaves nothing "
                    "behind.",
        epilog="examples:\n  gluoncnn export --run runs/lenet --out export/ --format onnx\n"
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
    p.add_argument("--batch", type=_positive_int, default=3,
                   help="batch size of the random batch the exports are checked on (the ONNX "
                        "model's batch axis is dynamic)")
    p.add_argument("--format", type=parse_formats, metavar="FORMAT",
                   help="symbol (MXNet's symbol JSON + params, the default), onnx, or both as "
                        "symbol,onnx")
    p.add_argument("--onnx", action="store_true",
                   help="also export ONNX (= --format symbol,onnx)")
    _add_model_args(p, "number of classes (default: from --run, else 10)")
    p.add_argument("--debug", action="store_true", default=argparse.SUPPRESS,
                   help="show tracebacks on errors")
    return parser


# ----------------------------------------------------------------------------- reading argv

def _version_text() -> str:
    return f"gluoncnn {__version__} (python {platform.python_version()})"


def _explicit_dests(argv: list[str], add_args: Callable) -> set[str]:
    """The option names given on the command line (not left at their defaults)."""
    probe = ArgumentParser(add_help=False)
    add_args(probe)
    probe.add_argument("--debug", action="store_true")
    for action in probe._actions:
        action.default = argparse.SUPPRESS
        action.required = False
    ns, _ = probe.parse_known_args(argv)
    return set(vars(ns))


def _settings(args: argparse.Namespace, keys: set[str] | None = None) -> dict[str, Any]:
    """The run settings among ``args`` (only ``keys`` when given)."""
    return {k: v for k, v in vars(args).items()
            if k in config.FIELD_NAMES and (keys is None or k in keys)}


def train_config(args: argparse.Namespace, argv: list[str]) -> config.TrainConfig:
    """The config of a ``gluoncnn train`` command line (``argv`` without ``train``): the
    ``--config`` file's settings (or the defaults), and the flags given on top of them."""
    given = _explicit_dests(argv, _add_train_args)
    if not args.config:
        return config.TrainConfig(**config.budget_lifts_epochs(_settings(args), given))
    settings = config.read_config_file(args.config)
    return config.TrainConfig.from_dict(dict(settings, **_settings(args, given)), args.config)


def command_line(cfg: config.TrainConfig) -> list[str]:
    """The ``gluoncnn train`` flags of ``cfg``, one for each field that differs from its
    default (what a run records as its command; :func:`train_config` reads them back equal). A
    setting with no text form (a schedule function, ``None`` where the default is a number) is
    an :class:`OptionError`."""
    argv: list[str] = []
    for f in config.fields():
        value = getattr(cfg, f.name)
        if value == f.default or (f.name == "epochs" and value is None and cfg.budget):
            continue  # (a --budget without --epochs sets no epoch limit)
        cli = f.metadata["cli"]
        option = cli.get("flag") or "--" + f.name.replace("_", "-")
        if cli.get("append"):
            argv += [a for k, v in value for a in (option, f"{k}={v!r}")]
        elif isinstance(value, bool) and (f.default is None or cli.get("negatable")):
            argv.append(option if value else "--no-" + option[2:])
        elif isinstance(value, bool):
            argv.append(option)  # a store_true or store_false flag: given, it flips the default
        elif isinstance(value, (str, int, float)):
            argv += [option, str(value)]
        else:
            raise OptionError(f"{f.name}={value!r} has no 'gluoncnn train' form; train it with "
                              f"gluoncnn.train.fit")
    return argv


def train_settings(argv: list[str]) -> dict[str, Any]:
    """The run settings of a ``gluoncnn train`` command line (without ``train``)."""
    given = _explicit_dests(argv, _add_train_args)
    return config.budget_lifts_epochs(_settings(build_parser().parse_args(["train", *argv])),
                                      given)
