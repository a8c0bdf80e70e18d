"""gluoncnn: the classic convolutional networks in MXNet Gluon, for a runnable course.

    import gluoncnn
    net = gluoncnn.get_model('resnet18', classes=10, in_channels=1, small_input=True)
    gluoncnn.summary(net, (1, 28, 28))
    train_iter, test_iter = gluoncnn.load_data_fashion_mnist(batch_size=256)
    gluoncnn.fit(net, train_iter, test_iter, epochs=10, ctx=gluoncnn.try_gpu())

``import gluoncnn`` does not import MXNet: it chooses MXNet's thread count, on processors with
AMX lets oneDNN use it, and on the GPU build loads the CUDA libraries of NVIDIA's wheels, all
best done before MXNet loads (see :mod:`gluoncnn.runtime` and :mod:`gluoncnn.cuda_libs`; the
threads and AMX also work when MXNet was imported first). The submodules (``gluoncnn.models``,
``.data``, ``.train``, ``.analysis``, ``.compress``, ...) and the names above are imported on first
use, so ``gluoncnn doctor`` can still explain a broken MXNet install, and anything that needs a
missing or broken MXNet raises one :class:`~gluoncnn.errors.MXNetUnavailableError` that says what
to install.
"""
from __future__ import annotations

import importlib
from types import ModuleType
from typing import Any

from . import cuda_libs, runtime

__version__ = "0.1.0"

_EXPORTS = {
    "get_model": "models", "list_models": "models", "model_options": "models",
    "load_data": "data", "load_data_fashion_mnist": "data",
    "try_gpu": "train", "try_all_gpus": "train", "train_ch5": "train", "fit": "train",
    "evaluate": "train", "evaluate_accuracy": "train", "lr_find": "train",
    "TrainConfig": "config",
    "summary": "analysis", "receptive_field": "analysis", "compare": "analysis",
    # d2l's helpers, so that ``import gluoncnn as d2l`` runs d2l's CNN chapters' code
    "train_ch6": "train", "evaluate_accuracy_gpu": "train",
    "show_images": "data", "get_fashion_mnist_labels": "data",
    "use_svg_display": "d2l_utils", "set_figsize": "d2l_utils", "set_axes": "d2l_utils",
    "Animator": "d2l_utils", "Timer": "d2l_utils", "Accumulator": "d2l_utils",
    "Residual": "models.d2l", "resnet18": "models.d2l",
}
# models, data, train and compress import MXNet when they load (each checks it first, with
# runtime.import_mxnet); the others work without it.
_SUBMODULES = ("models", "data", "train", "compress", "analysis", "cli", "config", "course",
               "cuda_libs", "d2l_utils", "doctor", "errors", "progress", "runtime", "utils")
__all__ = ["__version__", *sorted(_EXPORTS)]

runtime.configure_threads()
runtime.enable_amx()
cuda_libs.preload()


def _submodule(name: str) -> ModuleType:
    return importlib.import_module(f"{__name__}.{name}")


def __getattr__(name: str) -> Any:
    if name in _SUBMODULES:
        return _submodule(name)
    if name in _EXPORTS:
        value = getattr(_submodule(_EXPORTS[name]), name)
        globals()[name] = value
        return value
    raise AttributeError(f"module 'gluoncnn' has no attribute {name!r}")


def __dir__() -> list[str]:
    return sorted(set(globals()) | set(_EXPORTS) | set(_SUBMODULES))
