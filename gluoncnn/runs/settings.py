"""A run's settings: their defaults, and what they build -- the model, the data, fit's options.

The dataset facts come from the catalogue (:data:`gluoncnn.data.DATASETS`); the small-input rule
(:func:`default_small_input`) lives here, in one place.
"""
from __future__ import annotations

import contextlib
import logging
import os
import warnings
from collections.abc import Iterable
from typing import Any

from ..errors import GluonCNNError, OptionError
from ..utils import first_line

#: The settings of a run and their defaults (the ``gluoncnn train`` flags read these).
TRAIN_DEFAULTS: dict[str, Any] = {
    "model": None, "classes": None, "in_channels": None, "small_input": None,
    "model_options": [], "pretrained": None,
    "dataset": "fashion-mnist", "data_root": None, "batch_size": 256, "resize": None,
    "normalize": False, "augment": False, "train_size": None, "test_size": None,
    "sample": False, "download": False, "num_workers": 0,
    "epochs": 10, "ctx": "auto", "optimizer": "sgd", "lr": 0.1, "momentum": 0.9,
    "nesterov": False, "wd": 0.0, "init": "paper", "schedule": None, "warmup_epochs": 0,
    "label_smoothing": 0.0, "clip_gradient": None, "aux_weight": 0.3, "amp": "off",
    "hybridize": True, "kvstore": "device", "seed": None, "max_batches": None,
    "progress": "auto", "keep_checkpoints": 2, "verbose": True, "log_dir": None,
    "early_stop": None, "save_best": False,
}
_PROGRESS = {"auto": "auto", "on": True, "off": False}
#: ``--amp``'s choices as fit's ``amp`` (runs recorded before the choices hold False or True).
AMP_CHOICES = ("off", "float16", "bfloat16", "auto")
_AMP = {"off": None, False: None}

#: Inputs smaller than this use the small-image stem: the ImageNet stems (7x7/2 conv + 3x3/2
#: pool, /32 overall) leave a 3x3 map or more from 96x96 up, the side d2l resizes to.
SMALL_INPUT_BELOW = 96


def default_small_input(input_side: int) -> bool:
    """The small-input rule: the small-image stem below :data:`SMALL_INPUT_BELOW` pixels."""
    return input_side < SMALL_INPUT_BELOW


class DatasetMissingError(GluonCNNError, FileNotFoundError):
    """The data module's explanation of missing or corrupt dataset files, whole."""

# ----------------------------------------------------------------------------- model and data

def resolve_model(name: str | None) -> str:
    """The registry's name for ``name`` (the registry says what is wrong with a bad one)."""
    if not name:
        raise OptionError("no model given: pass --model NAME (see 'gluoncnn list')")
    from ..models.registry import _get_builder
    return _get_builder(name).__name__


def dataset_info(name: str) -> dict[str, Any]:
    """Canonical name, native side, channels, classes and class names of dataset ``name``, from
    the catalogue (an unknown name is the catalogue's OptionError, with "did you mean")."""
    from .. import data
    key = data.canonical_name(name)
    spec = data.DATASETS[key]
    return {"key": key, "size": spec.image_size, "channels": spec.channels,
            "classes": spec.num_classes, "labels": list(spec.class_names)}


def model_kwargs(name: str, classes: int | None, in_channels: int | None,
                 small_input: bool | None, options: Iterable | None,
                 input_side: int) -> dict[str, Any]:
    """``get_model(name, **kwargs)``'s arguments: the dataset's classes and channels, the
    small-input rule where the model has that option (``small_input=None``: automatic; not for
    models that exist only in the small form, which take any input side),
    ``input_size`` for fixed-size nets (AlexNet), then the user's model options. Unknown options
    are passed on for the registry to refuse."""
    from ..models import model_info, model_options
    valid = model_options(name)
    kwargs: dict[str, Any] = {}
    if classes is not None:
        kwargs["classes"] = classes
    if in_channels is not None:
        kwargs["in_channels"] = in_channels
    if "small_input" in valid and small_input is not None:
        kwargs["small_input"] = bool(small_input)
    elif "small_input" in valid and not model_info(name).small_only:
        kwargs["small_input"] = default_small_input(input_side)
    elif small_input:
        kwargs["small_input"] = True  # the registry says the model has no such option
    given = dict(options or [])
    if "input_size" in valid and "input_size" not in given:
        kwargs["input_size"] = input_side
    for key, value in given.items():
        _check_option_type(name, key, value, valid.get(key))
        kwargs[key] = value
    return kwargs


def _check_option_type(model: str, key: str, value: Any, default: Any) -> None:
    """A model option given as text where the model expects a number or a flag."""
    if not isinstance(value, str) or default is None or isinstance(default, str):
        return
    kind = "True or False" if isinstance(default, bool) else \
        "a number" if isinstance(default, (int, float)) else type(default).__name__
    raise OptionError(f"model option {key}={value!r}: {model} expects {kind} (its default is "
                      f"{default!r}), e.g. --model-option {key}={default!r}")


def resolve_model_settings(settings: dict[str, Any]) -> tuple[str, dict[str, Any],
                                                              dict[str, Any], tuple[int, int, int]]:
    """``(model name, get_model kwargs, dataset info, input shape C,H,W)`` of run settings."""
    name = resolve_model(settings["model"])
    info = dataset_info(settings["dataset"])
    side = settings.get("resize") or info["size"]
    classes = settings.get("classes") or info["classes"]
    in_channels = settings.get("in_channels") or info["channels"]
    kwargs = model_kwargs(name, classes, in_channels, settings.get("small_input"),
                          settings.get("model_options"), side)
    return name, kwargs, info, (in_channels, side, side)


def build_model(name: str, kwargs: dict[str, Any], pretrained: str | None = None):
    """``get_model(name, pretrained=pretrained, **kwargs)``; a builder's TypeError/ValueError (an
    option of the wrong type or range that the builder does not check itself) as an OptionError
    naming the options. A ``pretrained`` file that does not fit is the loader's one-line error."""
    from ..models import get_model
    try:
        return get_model(name, pretrained=pretrained, **kwargs)
    except GluonCNNError:
        raise
    except (TypeError, ValueError) as err:
        text = [f"{k}={v!r}" for k, v in kwargs.items() if isinstance(v, str)]
        hint = f"; {', '.join(text)} {'is' if len(text) == 1 else 'are'} text: give a number or " \
               f"another Python literal where the model expects one" if text else ""
        raise OptionError(f"cannot build {describe_model(name, kwargs)}: {first_line(err)}"
                          f"{hint}") from err


def load_data(settings: dict[str, Any], train: bool = True):
    """``data.load_data`` with a run's data settings; ``(train_iter, test_iter)``."""
    from .. import data
    try:
        return data.load_data(
            settings["dataset"], settings["batch_size"], resize=settings.get("resize"),
            root=settings.get("data_root"), normalize=settings.get("normalize", False),
            augment=bool(settings.get("augment")) and train,
            train_size=settings.get("train_size") if train else 1,
            test_size=settings.get("test_size"), sample=settings.get("sample", False),
            num_workers=settings.get("num_workers", 0),
            download=settings.get("download", False))
    except data.DatasetNotFoundError as err:
        raise DatasetMissingError(str(err)) from err


def parse_ctx(text: str | None):
    """``'auto'`` -> None (fit and evaluate choose), else the train module's ``parse_ctx``."""
    if text is None or str(text).lower() == "auto":
        return None
    from ..train import parse_ctx as train_parse_ctx
    return train_parse_ctx(text)


def load_parameters(net, path: str, ctx=None) -> None:
    """Load ``path`` into ``net`` (:func:`gluoncnn.train.load_parameters`): a missing file, a file
    that is no MXNet parameter file (empty, truncated, foreign) and parameters of another model
    are each one clear error."""
    import mxnet as mx

    from ..train import load_parameters as train_load_parameters
    if not path:
        raise OptionError("no parameters given: pass --params FILE (or --run DIR)")
    if not os.path.isfile(path):
        raise OptionError(f"parameters file {path} not found")
    try:
        train_load_parameters(net, path, ctx=ctx)
    except GluonCNNError:
        raise
    except (AssertionError, ValueError, mx.base.MXNetError) as err:
        raise OptionError(f"cannot load {path} into this model: {first_line(err).rstrip('.')}; "
                          f"build it with the options it was trained with (--classes, "
                          f"--in-channels, --small-input, --model-option)") from None


def check_fit_options(fit_kwargs: dict[str, Any]) -> None:
    """fit's own checks of its options, run before anything is written: the checks fit runs
    first (argument ranges, schedule, initializer, device)."""
    import inspect

    from .. import train
    from ..train.prepare import check_args
    inspect.signature(train.fit).bind_partial(**fit_kwargs)
    keys = inspect.signature(check_args).parameters
    check_args(**{k: fit_kwargs[k] for k in keys})
    train.LRSchedule(fit_kwargs["lr"], fit_kwargs["epochs"], fit_kwargs["schedule"],
                     warmup_epochs=fit_kwargs["warmup_epochs"])
    train.make_initializer(fit_kwargs["init"])
    if fit_kwargs.get("log_dir"):
        from ..train.tensorboard import summary_writer_class
        summary_writer_class()  # a missing tensorboardX is said before run.json is written
    ctxs = train.parse_ctx(fit_kwargs["ctx"])
    with warnings.catch_warnings(), _quiet(train.precision.log):
        warnings.simplefilter("ignore")  # fit says them when it starts
        train.choose_amp_dtype(fit_kwargs["amp"], ctxs)  # e.g. bfloat16 below AVX-512


@contextlib.contextmanager
def _quiet(logger):
    level = logger.level
    logger.setLevel(logging.ERROR)
    try:
        yield
    finally:
        logger.setLevel(level)


def fit_kwargs_from_settings(s: dict[str, Any], ctx) -> dict[str, Any]:
    """fit's keyword arguments from a run's settings (one setting per fit option; ``log_dir``,
    TensorBoard's folder, only when one is given; ``early_stop`` as fit's ``EarlyStopping``
    callback: stop when the test accuracy has not improved for that many epochs). ``save_best``
    needs the run folder: :func:`gluoncnn.runs.run_training` adds its callback."""
    kwargs = {"epochs": s["epochs"], "ctx": ctx, "optimizer": s["optimizer"], "lr": s["lr"],
            "momentum": s["momentum"], "nesterov": s["nesterov"], "wd": s["wd"],
            "schedule": s["schedule"], "warmup_epochs": s["warmup_epochs"],
            "label_smoothing": s["label_smoothing"], "clip_gradient": s["clip_gradient"],
            "aux_weight": s["aux_weight"], "amp": _AMP.get(s["amp"], s["amp"]),
            "hybridize": s["hybridize"],
            "kvstore": s["kvstore"], "seed": s["seed"],
            "progress": _PROGRESS.get(s["progress"], s["progress"]),
            "max_batches": s["max_batches"], "keep_checkpoints": s["keep_checkpoints"],
            "verbose": s["verbose"], "init": s["init"]}
    if s.get("log_dir"):
        kwargs["log_dir"] = s["log_dir"]
    if s.get("early_stop"):
        from ..train import EarlyStopping
        kwargs["callbacks"] = [EarlyStopping(patience=s["early_stop"])]
    return kwargs


#: fit's parameters that the run folder sets rather than a setting of their own (``callbacks``
#: and ``on_step`` are Python objects, for the API only; ``threads`` belongs to the machine, not
#: the run: the command line takes the user's OMP_NUM_THREADS or GLUONCNN_THREADS, else fit
#: measures).
FIT_SET_BY_RUN = {"net", "train_iter", "test_iter", "checkpoint_dir", "resume", "history_file",
                  "plot", "on_step", "classes", "callbacks", "threads"}



def describe_model(name: str, kwargs: dict[str, Any]) -> str:
    """``resnet18(classes=10, small_input=True)``."""
    return f"{name}({', '.join(f'{k}={v!r}' for k, v in kwargs.items())})"
