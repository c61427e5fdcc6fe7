"""tf_cbam_style: attention-aware arbitrary neural style transfer in Keras.

Importing the package only defines names: TensorFlow, models, weights and
optional extras (serving, tfjs) load on first use, so the command line
answers `--help` and argument errors at once.
"""

import importlib

__version__ = "0.1.0"  # the one place of the version (setup.py reads it)

_LAZY = {
    "layers": ("tf_cbam_style.layers", None),
    "models": ("tf_cbam_style.models", None),
    "METHODS": ("tf_cbam_style.api", "METHODS"),
    "StylizeResult": ("tf_cbam_style.api", "StylizeResult"),
    "load_model": ("tf_cbam_style.api", "load_model"),
    "stylize": ("tf_cbam_style.api", "stylize"),
}

__all__ = sorted(_LAZY) + ["__version__"]


def __getattr__(name):
    if name not in _LAZY:
        raise AttributeError(f"module 'tf_cbam_style' has no attribute {name!r}")
    module_name, attribute = _LAZY[name]
    module = importlib.import_module(module_name)
    value = module if attribute is None else getattr(module, attribute)
    globals()[name] = value
    return value


def __dir__():
    return __all__
