"""One definition of a training run: :class:`TrainConfig`, a frozen dataclass whose every field
says its type, default, help text and check once.

Everything else reads it: ``fit(net, train_iter, test_iter, config, **keywords)`` (the
``training`` fields are its options), the ``gluoncnn train`` flags (generated from the fields
by :mod:`gluoncnn.cli.parser`), ``run.json``'s ``settings`` (written with
:meth:`TrainConfig.to_dict` and read back with :meth:`TrainConfig.from_dict`, so that a resume
compares configs), and
``gluoncnn train --config FILE`` / ``--print-config`` (:func:`read_config_file`).

This module is plain Python (no MXNet): the command line builds its parser from it before MXNet
loads. The checks here are the ones that need nothing but the values (types, ranges, names, two
fields against each other); what needs the machine or MXNet (the device exists, the CPU runs
bfloat16, a schedule's text, an initializer object, tensorboardX installed) is checked by
:func:`gluoncnn.train.check_config`, which ``fit`` and the run folder call before anything runs
or is written.

Adding a training option is one field here (CONTRIBUTING.md, "A training option").
"""
from __future__ import annotations

import dataclasses
import json
import math
import numbers
import os
from collections.abc import Mapping
from typing import Any, Callable

from .errors import FileFormatError, OptionError
from .utils import did_you_mean, parse_duration

#: Optimizers ``fit`` accepts (``nesterov=True`` with ``'sgd'`` means ``'nag'``).
OPTIMIZERS = ("sgd", "nag", "adam", "rmsprop")
#: Initialisations by name (:data:`gluoncnn.train.INITIALIZERS`): the model's paper init, He's,
#: Glorot's (see :func:`gluoncnn.train.make_initializer`).
INITIALIZERS = ("paper", "he", "xavier")
#: Mixed precision (fit's ``amp``): ``'off'`` is float32; ``None``/``False`` are read as
#: ``'off'`` and ``True`` as ``'float16'`` (fit's values before the choices had names).
AMP_CHOICES = ("off", "float16", "bfloat16", "auto")
#: Progress within an epoch (fit's ``progress``): ``True``/``False`` are read as ``'on'``/``'off'``.
PROGRESS_CHOICES = ("auto", "on", "off")
#: The groups of fields, in the order the command line shows them. ``training`` fields are
#: ``fit``'s options; ``run`` fields need a run folder (:mod:`gluoncnn.runs`).
GROUPS = ("model", "data", "training", "run")
#: float32's largest number: a larger rate overflows in the update.
FLOAT32_MAX = 3.4028234663852886e38
#: ``small_input=None`` (automatic) is the small-image stem for inputs smaller than this: the
#: ImageNet stems (7x7/2 conv + 3x3/2 pool, /32 overall) leave a 3x3 map or more from 96x96 up,
#: the side d2l resizes to (:func:`gluoncnn.runs.default_small_input`).
SMALL_INPUT_BELOW = 96
#: Written beside the settings in run.json; run folders without it hold version 0's settings
#: (the same names; ``amp`` may be False/True, ``progress`` any of fit's values).
CONFIG_VERSION = 1


# ----------------------------------------------------------------------------- the checks

def _is_int(v) -> bool:
    return isinstance(v, numbers.Integral) and not isinstance(v, bool)


def _finite(v) -> bool:
    return isinstance(v, numbers.Real) and not isinstance(v, bool) and math.isfinite(v)


def positive_int(hint: str, optional: bool = False) -> Callable[[str, Any], None]:
    def check(name, v):
        if optional and v is None:
            return
        if not _is_int(v) or v <= 0:
            raise OptionError(f"{name} must be a positive integer, got {v!r}; {hint}")
    return check


def whole_number(hint: str, optional: bool = True, minimum: int | None = 0):
    def check(name, v):
        if optional and v is None:
            return
        if not _is_int(v) or (minimum is not None and v < minimum):
            what = "a whole number" + (f" >= {minimum}" if minimum is not None else "")
            raise OptionError(f"{name} must be {what}, got {v!r}; {hint}")
    return check


def number_in(low: float, high: float, hint: str, low_open: bool = False,
              optional: bool = False, label: str | None = None):
    """A finite number with ``low <= v < high`` (``low < v`` when ``low_open``); ``label`` names
    the field in the message (default its name)."""
    def check(name, v):
        if optional and v is None:
            return
        if not _finite(v) or not (v > low if low_open else v >= low) or not v < high:
            raise OptionError(f"{label or name} must be {hint}, got {v!r}")
    return check


def flag(name, v):
    if not isinstance(v, bool):
        raise OptionError(f"{name} must be true or false, got {v!r}")


def optional_flag(name, v):
    if v is not None:
        flag(name, v)


def text(optional: bool = True):
    def check(name, v):
        if optional and v is None:
            return
        if not isinstance(v, str) or not v:
            raise OptionError(f"{name} must be a non-empty text, got {v!r}")
    return check


def one_of(choices, optional: bool = False):
    def check(name, v):
        if optional and v is None:
            return
        if v not in choices:
            raise OptionError(f"{name} must be one of {', '.join(map(repr, choices))}, got {v!r}"
                              f"{did_you_mean(str(v), choices) if isinstance(v, str) else ''}")
    return check


def _optimizer(name, v):
    if not isinstance(v, str) or v.lower() not in OPTIMIZERS + ("nesterov",):
        raise OptionError(f"unknown optimizer {v!r}; valid: {', '.join(OPTIMIZERS)} (or 'sgd' "
                          f"with nesterov=True)")


def _duration(name, v):
    if v is not None:
        parse_duration(v, name)


def duration_text(text: str) -> float:
    """A ``--budget`` on the command line: seconds from ``'90s'``, ``'10m'``, ``'1h'`` or
    ``'600'`` (:func:`gluoncnn.utils.parse_duration`); a ValueError otherwise."""
    return parse_duration(text)


def _anything(name, v):
    return None


def amp_name(amp) -> Any:
    """fit's ``amp`` by its name: ``None``/``False`` -> ``'off'``, ``True`` -> ``'float16'``."""
    return {None: "off", False: "off", True: "float16"}[amp] \
        if isinstance(amp, (bool, type(None))) else amp


# ----------------------------------------------------------------------------- the fields

def option(default, help: str, group: str = "training", check: Callable = _anything,
           callback: tuple[str, str] | None = None, **cli):
    """A field of :class:`TrainConfig`: its ``default``, ``help`` (the flag's and the docs'),
    ``group`` (:data:`GROUPS`) and ``check(name, value)`` (an :class:`OptionError` saying what to
    change). ``callback=(class name, keyword)``: a training option that a callback of
    :mod:`gluoncnn.train.callbacks` carries out; fit adds ``Class(keyword=value)`` when the value
    is set (not None, 0 or False). ``cli`` refines the generated flag: ``flag`` (its name,
    default ``--field-name``), ``metavar``, ``choices``, ``const`` (``--amp`` alone),
    ``negatable`` (``--x/--no-x``), ``append`` (repeatable), ``convert`` (the text to the value,
    a ValueError when it cannot: ``--budget 10m``) with ``expects`` (what the message asks for)."""
    if isinstance(default, (list, dict)):
        raise TypeError("a frozen config's defaults are immutable: use a tuple")
    return dataclasses.field(default=default, metadata={
        "help": help, "group": group, "check": check, "callback": callback, "cli": cli})


@dataclasses.dataclass(frozen=True)
class TrainConfig:
    """A training run: the model, the data, fit's options and the run folder's, each once.

    Frozen: :meth:`replace` makes a changed copy (checked again). Every field is checked when the
    config is made (:class:`~gluoncnn.errors.OptionError` naming the field and what to give);
    ``amp`` and ``progress`` are normalised to their names (``True`` -> ``'float16'``/``'on'``,
    ``None``/``False`` -> ``'off'``), ``model_options`` to a tuple of ``(key, value)`` pairs.
    Python objects ``fit`` accepts where the command line gives text (a schedule function, an
    ``mx.init.Initializer``, contexts, a KVStore, a ``hybridize`` dict) are kept as they are;
    such a config is not written to a run folder.
    """

    # the model
    model: str | None = option(None, "model name (see 'gluoncnn list'); required unless --resume",
                               "model", text())
    pretrained: str | None = option(
        None, "an MXNet model-zoo or GluonCV .params file to load (the starting weights; another "
              "--classes re-initialises the output layer); matched by architecture, nothing is "
              "downloaded", "model", text(), metavar="PATH")
    classes: int | None = option(None, "number of classes (default: the dataset's)", "model",
                                 positive_int("the number of classes of the dataset, e.g. 10",
                                              optional=True), metavar="N")
    in_channels: int | None = option(
        None, "input channels (default: the dataset's, 1 for (fashion-)mnist, 3 for cifar; for "
              "summary/export: the --input channels)", "model",
        positive_int("e.g. 1 or 3", optional=True), metavar="C")
    small_input: bool | None = option(
        None, f"use the small-image stem (CIFAR 32x32, Fashion-MNIST 28x28). Default: on when the "
              f"input side is below {SMALL_INPUT_BELOW} (e.g. no --resize), off from "
              f"{SMALL_INPUT_BELOW} up; ignored by models without that option (lenet)", "model",
        optional_flag)
    model_options: tuple = option(
        (), "a family option of the model, repeatable, value a Python literal (e.g. "
            "--model-option stochastic_depth=0.5); 'gluoncnn list -v' shows them", "model",
        flag="--model-option", metavar="KEY=VALUE", append=True)

    # the data
    dataset: str = option("fashion-mnist", "dataset name ({dataset names})", "data", text(False))
    data_root: str | None = option(
        None, "folder holding the datasets (default: $GLUONCNN_DATA or the data module's "
              "default)", "data", text(), metavar="DIR")
    batch_size: int = option(256, "mini-batch size", "data", positive_int("e.g. 64 or 256"),
                             metavar="N")
    resize: int | None = option(
        None, "resize images to SIDE x SIDE (e.g. 96 or 224 for ImageNet-form stems)", "data",
        positive_int("e.g. 96", optional=True), metavar="SIDE")
    normalize: bool = option(False, "normalise with the dataset's channel mean/std instead of "
                                    "[0, 1]", "data", flag)
    augment: bool = option(False, "random crops/flips on the training set (as the data module "
                                  "defines)", "data", flag)
    train_size: int | None = option(None, "use only the first N training images", "data",
                                    positive_int("or None for all", optional=True), metavar="N")
    test_size: int | None = option(None, "use only the first N test images", "data",
                                   positive_int("or None for all", optional=True), metavar="N")
    sample: bool = option(False, "use the shipped 1,000/500-image Fashion-MNIST sample (no data "
                                 "folder needed)", "data", flag)
    download: bool = option(False, "download the dataset's missing files (checked against their "
                                   "sha1)", "data", flag)
    num_workers: int = option(0, "data-loading worker processes", "data",
                              whole_number("e.g. 0 (load in this process) or 2", optional=False),
                              metavar="N")

    # training: fit's options
    epochs: int | None = option(
        10, "number of epochs (default 10; a --budget without --epochs sets none, the "
            "budget ends the run; with both, whichever ends first)",
        check=positive_int("e.g. epochs=10 (None only with a budget)", optional=True),
        metavar="N")
    budget: float | None = option(
        None, "train for this long instead, evaluations included: 90s, 10m, 1h (fit's budget, "
              "seconds or such a text: --schedule linear or cosine then runs over the budget, "
              "with an evaluation every half epoch and at the end)", check=_duration,
        metavar="TIME", convert=duration_text, expects="a duration such as 90s, 10m or 1h (or "
                                                       "seconds)")
    warmup_fraction: float = option(
        0.0, "with --budget: linear learning-rate warm-up over this fraction of the budget",
        check=number_in(0, 1, "in [0, 1); e.g. 0.05 warms up over the budget's first 5%"),
        metavar="F")
    ctx: Any = option("auto", "device(s): 'cpu', 'gpu', 'gpu:1', 'gpu:0,gpu:1' (data parallel), "
                              "'gpu:all', or 'auto' (the first GPU, else the CPU)")
    optimizer: str = option("sgd", "sgd, nag, adam or rmsprop", check=_optimizer)
    lr: float = option(0.1, "(peak) learning rate", check=number_in(
        0, FLOAT32_MAX, "a positive number, finite and below 3.4e38 (float32); e.g. lr=0.1 for "
                        "SGD, lr=0.001 for Adam", low_open=True))
    momentum: float = option(0.9, "momentum (sgd/nag)",
                             check=number_in(0, 1, "in [0, 1); 0.9 is usual"))
    nesterov: bool = option(False, "Nesterov momentum (sgd)", check=flag)
    wd: float = option(0.0, "weight decay", check=number_in(
        0, FLOAT32_MAX, "a finite number >= 0 (e.g. wd=5e-4)", label="wd (weight decay)"))
    init: Any = option("paper", "initialisation: the model's paper init, he (MSRAPrelu: deep "
                                "nets without batch norm, e.g. vgg, nin, leave chance faster) or "
                                "xavier", choices=INITIALIZERS)
    schedule: Any = option(None, "learning-rate schedule: constant, step, step:E1,E2,..., "
                                 "cosine, plateau, plateau:PATIENCE (default constant); with "
                                 "--budget, over its elapsed fraction: linear, cosine, step, "
                                 "step:P1,P2,...")
    warmup_epochs: float = option(0, "linear learning-rate warm-up epochs",
                                  check=number_in(0, math.inf, "a number >= 0"))
    label_smoothing: float = option(0.0, "label smoothing epsilon",
                                    check=number_in(0, 1, "in [0, 1); 0.1 is usual"))
    clip_gradient: float | None = option(
        None, "clip the gradient to this global L2 norm", metavar="NORM",
        check=number_in(0, math.inf, "a positive norm (e.g. 5.0) or None", low_open=True,
                        optional=True))
    aux_weight: float = option(0.3, "weight of auxiliary-head losses (GoogLeNet)",
                               check=number_in(0, math.inf, ">= 0; GoogLeNet used 0.3"))
    amp: Any = option("off", "mixed precision (fit's amp): float16 on GPUs, bfloat16 on CPUs with "
                             "native bf16 (AVX512_BF16/AMX), auto for what the machine does "
                             "natively (float32 elsewhere); --amp alone is float16",
                      check=one_of(AMP_CHOICES), choices=AMP_CHOICES, const="float16")
    hybridize: Any = option(True, "run imperatively instead of hybridized (slower, easier to "
                                  "debug)", flag="--no-hybridize")
    kvstore: Any = option("device", "device, local, or dist_sync / dist_device_sync / dist_async "
                                    "for several processes (DMLC_* environment variables)")
    seed: int | None = option(None, "random seed for a repeatable run",
                              check=whole_number("e.g. 0", minimum=None))
    max_batches: int | None = option(None, "stop each epoch after N batches (a quick try)",
                                     check=positive_int("or None for whole epochs", True),
                                     metavar="N")
    progress: str = option("auto", "progress within an epoch: auto shows a bar on long epochs in "
                                   "a terminal, and elsewhere (a log, a pipe) a line on stderr "
                                   "every 10% of the epoch, at most every 30 s",
                           check=one_of(PROGRESS_CHOICES), choices=PROGRESS_CHOICES)
    keep_checkpoints: int | None = option(2, "epoch checkpoints kept in the run folder",
                                          check=positive_int("or None to keep every epoch", True),
                                          metavar="N")
    verbose: bool = option(True, "no per-epoch lines from fit", check=flag, flag="--quiet")
    log_dir: str | None = option(
        None, "also write TensorBoard event files there: loss, accuracies and learning rate per "
              "epoch, loss and learning rate every 10 steps, the run's hyperparameters and the "
              "net's graph ('tensorboard --logdir DIR' shows them; needs pip install "
              "'gluoncnn[tensorboard]')", check=text(), metavar="DIR")
    early_stop: int | None = option(
        None, "stop when the test accuracy has not improved for PATIENCE epochs (fit's "
              "EarlyStopping; 0: off)", check=whole_number("e.g. 3, or 0/None for off"),
        callback=("EarlyStopping", "patience"), metavar="PATIENCE")
    stop_at_acc: float | None = option(
        None, "stop once the test accuracy reaches ACC, e.g. 0.9: the time to an accuracy "
              "(fit's StopAtAccuracy)", check=number_in(
                  0, 1 + 1e-12, "an accuracy in (0, 1], e.g. 0.9", low_open=True, optional=True),
        callback=("StopAtAccuracy", "target"), metavar="ACC")

    # the run folder's
    save_best: bool = option(False, "keep the parameters of the epoch with the best test accuracy "
                                    "in the run folder as best.params, with best.json (fit's "
                                    "BestCheckpoint)", "run", flag, negatable=True)

    def __post_init__(self):
        set_ = object.__setattr__
        set_(self, "amp", amp_name(self.amp))
        set_(self, "progress", {True: "on", False: "off"}.get(self.progress, self.progress)
             if isinstance(self.progress, bool) else self.progress)
        if self.init is None:
            set_(self, "init", "paper")
        if isinstance(self.init, str) and self.init.lower() in INITIALIZERS:
            set_(self, "init", self.init.lower())
        elif isinstance(self.init, str):
            raise OptionError(f"unknown init {self.init!r}; valid: {', '.join(INITIALIZERS)} or "
                              f"an mx.init.Initializer")
        set_(self, "model_options", _option_pairs(self.model_options))
        for f in dataclasses.fields(self):
            f.metadata["check"](f.name, getattr(self, f.name))
        if self.budget is not None:
            set_(self, "budget", parse_duration(self.budget))  # seconds
            if self.warmup_epochs:
                raise OptionError("with budget=, give the warm-up as a fraction of the budget, "
                                  "warmup_fraction= (e.g. 0.05), not warmup_epochs=")
            if isinstance(self.schedule, str) and \
                    self.schedule.strip().lower().startswith("plateau"):
                raise OptionError("schedule='plateau' counts epochs without improvement and has "
                                  "no budget form; with budget= use 'linear' (Li et al., 2020) "
                                  "or 'cosine'")
        else:
            if self.epochs is None:
                raise OptionError("give epochs= (how many epochs) or budget= (how long, e.g. "
                                  "'10m')")
            if self.warmup_fraction:
                raise OptionError("warmup_fraction= is a fraction of budget=; without a budget, "
                                  "warm up with warmup_epochs=")
        if self.epochs is not None and self.warmup_epochs >= self.epochs:
            raise OptionError(f"warmup_epochs must be >= 0 and smaller than epochs={self.epochs}, "
                              f"got {self.warmup_epochs!r}")
        if self.nesterov and self.optimizer.lower() not in ("sgd", "nag", "nesterov"):
            raise OptionError(f"nesterov=True applies to SGD; use optimizer='sgd' (or 'nag'), "
                              f"not {self.optimizer!r}")

    # ------------------------------------------------------------------ reading and writing

    @property
    def optimizer_name(self) -> str:
        """The optimizer MXNet runs: ``'nag'`` for SGD with ``nesterov``, else its name."""
        name = self.optimizer.lower()
        return "nag" if name == "nesterov" or (self.nesterov and name == "sgd") else name

    def replace(self, **changes) -> TrainConfig:
        """A copy with ``changes`` (checked; an unknown name is an error naming the closest)."""
        check_names(changes)
        return dataclasses.replace(self, **changes)

    def to_dict(self) -> dict[str, Any]:
        """Every field, as JSON writes it (``model_options`` as ``[[key, value], ...]``);
        :meth:`from_dict` reads it back equal. A Python object (a schedule function, an
        initializer, a context) is an :class:`OptionError`: only text settings are written."""
        out = {}
        for f in dataclasses.fields(self):
            value = getattr(self, f.name)
            if f.name == "model_options":
                value = [list(pair) for pair in value]
            elif not isinstance(value, (str, int, float, bool, type(None))):
                raise OptionError(f"{f.name}={value!r} is a Python object, which a run's "
                                  f"settings cannot record; give it as text (see "
                                  f"'gluoncnn train --help')")
            out[f.name] = value
        return out

    @classmethod
    def from_dict(cls, settings: Mapping[str, Any], where: str = "the settings") -> TrainConfig:
        """The config of ``settings`` (missing fields at their defaults); an unknown key is one
        :class:`OptionError` naming ``where`` and the closest field."""
        check_names(settings, where)
        return cls(**budget_lifts_epochs(settings))

    def changes_from(self, other: TrainConfig) -> dict[str, tuple[Any, Any]]:
        """``{field: (other's value, this one's)}`` for the fields that differ."""
        return {f.name: (getattr(other, f.name), getattr(self, f.name))
                for f in dataclasses.fields(self)
                if getattr(other, f.name) != getattr(self, f.name)}

    def fit_options(self) -> dict[str, Any]:
        """The ``training`` fields: ``fit``'s options."""
        return {f.name: getattr(self, f.name) for f in fields("training")}

    def to_json(self) -> str:
        """The config as ``--config FILE`` reads it (``--print-config`` prints this)."""
        return json.dumps(self.to_dict(), indent=2) + "\n"


def budget_lifts_epochs(settings: Mapping[str, Any], given=None) -> dict[str, Any]:
    """``settings`` with ``epochs=None`` when they give a ``budget`` but not ``epochs`` (among
    ``given``, the names set explicitly; default the keys of ``settings``): a budget without
    epochs sets no epoch limit, the budget ends the run."""
    settings = dict(settings)
    given = settings.keys() if given is None else given
    if settings.get("budget") is not None and "epochs" not in given:
        settings["epochs"] = None
    return settings


def _option_pairs(options) -> tuple:
    """``{'k': v}``, ``[['k', v]]`` or ``[('k', v)]`` -> ``(('k', v), ...)``."""
    if isinstance(options, Mapping):
        options = options.items()
    try:
        pairs = tuple((str(k), v) for k, v in options or ())
    except (TypeError, ValueError):
        raise OptionError(f"model_options must be KEY=VALUE pairs, e.g. {{'width': 0.25}}, got "
                          f"{options!r}") from None
    return pairs


def fields(group: str | None = None) -> list[dataclasses.Field]:
    """The fields of :class:`TrainConfig` (of one of :data:`GROUPS`), in order."""
    return [f for f in dataclasses.fields(TrainConfig)
            if group is None or f.metadata["group"] == group]


FIELD_NAMES = tuple(f.name for f in fields())
#: fit's options: the ``training`` fields.
FIT_OPTIONS = tuple(f.name for f in fields("training"))


def check_names(settings: Mapping[str, Any], where: str = "the settings",
                valid: tuple[str, ...] = FIELD_NAMES) -> None:
    """Refuse a key of ``settings`` that is no field, naming the closest."""
    for key in settings:
        if key not in valid:
            close = did_you_mean(str(key), valid, n=1)
            raise OptionError(f"unknown run setting {key!r} in {where}" + (
                close if close else f"; the settings are {', '.join(valid)}"))


def field_type(f: dataclasses.Field) -> type:
    """The type a command line or config file gives for ``f``: int, float, bool or str."""
    name = str(f.type).split("|")[0].strip()
    return {"int": int, "float": float, "bool": bool}.get(name, str)


def read_config_file(path: str | os.PathLike) -> dict[str, Any]:
    """The settings in a ``--config`` file: JSON (what ``--print-config`` prints), or TOML
    (``.toml``, Python 3.11 and newer), one flat table of fields. Unknown keys are refused
    naming the closest field; the values are checked when the config is made."""
    path = os.fspath(path)
    try:
        with open(path, "rb") as f:
            raw = f.read()
    except OSError as err:
        raise OptionError(f"cannot read the config file {path}: {err.strerror}; pass a file "
                          f"written by 'gluoncnn train ... --print-config > FILE'") from None
    try:
        if path.endswith(".toml"):
            import tomllib  # Python 3.11+
            settings = tomllib.loads(raw.decode())
        else:
            settings = json.loads(raw)
    except ImportError:
        raise OptionError(f"{path}: TOML needs Python 3.11 or newer; write the config as JSON "
                          f"('gluoncnn train ... --print-config' prints it)") from None
    except ValueError as err:
        raise FileFormatError(f"{path} is not a readable config ({str(err).splitlines()[0]}); "
                              f"'gluoncnn train ... --print-config' prints one") from None
    if not isinstance(settings, dict):
        raise FileFormatError(f"{path} must hold one object of settings, e.g. "
                              f"{{\"model\": \"lenet\", \"epochs\": 2}}")
    check_names(settings, path)
    return settings
