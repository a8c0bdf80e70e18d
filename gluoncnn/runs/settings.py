"""What a run's config builds: the model and the data (a :class:`~gluoncnn.config.TrainConfig`
is the run's settings; fit reads its training options itself).

The dataset facts come from the catalogue (:data:`gluoncnn.data.DATASETS`); the small-input rule
(:func:`default_small_input`) lives here, in one place.
"""
from __future__ import annotations

import os
from collections.abc import Iterable
from typing import Any

from ..config import SMALL_INPUT_BELOW, TrainConfig
from ..errors import GluonCNNError, OptionError
from ..utils import first_line, format_duration


def default_small_input(input_side: int) -> bool:
    """The small-input rule: the small-image stem below :data:`SMALL_INPUT_BELOW` pixels."""
    return input_side < SMALL_INPUT_BELOW


def describe_length(config: TrainConfig) -> str:
    """``'10 epoch(s)'``, ``'10 min'``, or ``'10 min (at most 5 epochs)'``."""
    if config.budget is None:
        return f"{config.epochs} epoch(s)"
    text = format_duration(config.budget)
    return text + (f" (at most {config.epochs} epochs)" if config.epochs else "")


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


def resolve_model_settings(config: TrainConfig) -> tuple[str, dict[str, Any], dict[str, Any],
                                                         tuple[int, int, int]]:
    """``(model name, get_model kwargs, dataset info, input shape C,H,W)`` of a run's config."""
    name = resolve_model(config.model)
    info = dataset_info(config.dataset)
    side = config.resize or info["size"]
    classes = config.classes or info["classes"]
    in_channels = config.in_channels or info["channels"]
    kwargs = model_kwargs(name, classes, in_channels, config.small_input, config.model_options,
                          side)
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


def load_data(config: TrainConfig, train: bool = True):
    """``data.load_data`` with a run's data settings; ``(train_iter, test_iter)``."""
    from .. import data
    try:
        return data.load_data(
            config.dataset, config.batch_size, resize=config.resize, root=config.data_root,
            normalize=config.normalize, augment=config.augment and train,
            train_size=config.train_size if train else 1, test_size=config.test_size,
            sample=config.sample, num_workers=config.num_workers, download=config.download)
    except data.DatasetNotFoundError as err:
        raise DatasetMissingError(str(err)) from err


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


def describe_model(name: str, kwargs: dict[str, Any]) -> str:
    """``resnet18(classes=10, small_input=True)``."""
    return f"{name}({', '.join(f'{k}={v!r}' for k, v in kwargs.items())})"
