"""The model registry: ``get_model(name, **options)`` and ``list_models()``.

Every builder function in a family module is decorated with :func:`register_model`; its keyword
arguments are the options the model takes, so an unknown option is caught before anything is built.
"""
import difflib
import inspect

_MODELS = {}


def register_model(builder):
    """Add ``builder`` to the registry under its function name and return it unchanged."""
    name = builder.__name__
    if name in _MODELS:
        raise ValueError(f"model {name!r} is registered twice")
    _MODELS[name] = builder
    return builder


def list_models():
    """Names of every model ``get_model`` can build, sorted."""
    return sorted(_MODELS)


def _closest_first(word, choices):
    close = difflib.get_close_matches(word, choices, n=len(choices), cutoff=0.3)
    return close + [c for c in sorted(choices) if c not in close]


def model_options(name):
    """The options (keyword arguments and defaults) that model ``name`` takes."""
    builder = _get_builder(name)
    return {p.name: p.default for p in inspect.signature(builder).parameters.values()
            if p.kind in (p.POSITIONAL_OR_KEYWORD, p.KEYWORD_ONLY)}


def _get_builder(name):
    key = name.lower().replace("-", "_").replace(".", "_") if isinstance(name, str) else name
    if key not in _MODELS:
        names = _closest_first(str(name), list(_MODELS))
        raise ValueError(f"unknown model {name!r}. Valid names, closest first: {', '.join(names)}")
    return _MODELS[key]


def get_model(name, **options):
    """Build model ``name`` with ``options`` (``classes=``, ``in_channels=``, ``small_input=`` ...).

    >>> net = get_model('resnet18', classes=10, in_channels=1, small_input=True)
    """
    builder = _get_builder(name)
    valid = model_options(name)
    unknown = [k for k in options if k not in valid]
    if unknown:
        hints = []
        for k in unknown:
            close = difflib.get_close_matches(k, list(valid), n=1)
            hints.append(f"{k!r}" + (f" (did you mean {close[0]!r}?)" if close else ""))
        raise TypeError(
            f"model {builder.__name__!r} does not take option {', '.join(hints)}. "
            f"Its options are: {', '.join(f'{k}={v!r}' for k, v in valid.items())}")
    return builder(**options)
