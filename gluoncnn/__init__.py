"""gluoncnn: the classic convolutional networks in MXNet Gluon, for a runnable course.

    import gluoncnn
    net = gluoncnn.get_model('resnet18', classes=10, in_channels=1, small_input=True)
    gluoncnn.summary(net, (1, 28, 28))
    train_iter, test_iter = gluoncnn.load_data_fashion_mnist(batch_size=256)
    gluoncnn.fit(net, train_iter, test_iter, epochs=10, ctx=gluoncnn.try_gpu())

Names are imported on first use, so ``gluoncnn doctor`` can still explain a broken MXNet install.
"""
import importlib

__version__ = "0.1.0"

_EXPORTS = {
    "get_model": "models", "list_models": "models", "model_options": "models",
    "load_data": "data", "load_data_fashion_mnist": "data",
    "try_gpu": "train", "try_all_gpus": "train", "train_ch5": "train", "fit": "train",
    "evaluate": "train",
    "summary": "analysis", "receptive_field": "analysis", "compare": "analysis",
}
__all__ = sorted(_EXPORTS) + ["__version__"]


def __getattr__(name):
    if name in _EXPORTS:
        value = getattr(importlib.import_module(f"{__name__}.{_EXPORTS[name]}"), name)
        globals()[name] = value
        return value
    raise AttributeError(f"module 'gluoncnn' has no attribute {name!r}")


def __dir__():
    return sorted(set(globals()) | set(_EXPORTS))
