"""TensorFlow.js export and the in-browser web demo.

`convert_saved_model` turns an exported SavedModel into a TF.js graph model
(the converter runs in its own virtualenv), `measure_fidelity` compares the
converted model, run in Node.js, with the SavedModel, and `make_server`
serves `web_demo/`. Nothing is imported until first use.
"""

import importlib

_LAZY = {
    "QUANTIZATIONS": "tf_cbam_style.tfjs.convert",
    "ConversionResult": "tf_cbam_style.tfjs.convert",
    "convert_saved_model": "tf_cbam_style.tfjs.convert",
    "UnsupportedOpsError": "tf_cbam_style.tfjs.ops",
    "ensure_converter_venv": "tf_cbam_style.tfjs.venv",
    "FidelityReport": "tf_cbam_style.tfjs.fidelity",
    "measure_fidelity": "tf_cbam_style.tfjs.fidelity",
    "run_graph_model": "tf_cbam_style.tfjs.node",
    "demo_root": "tf_cbam_style.tfjs.node",
    "make_server": "tf_cbam_style.tfjs.server",
}

__all__ = [
    "QUANTIZATIONS",
    "ConversionResult",
    "FidelityReport",
    "UnsupportedOpsError",
    "convert_saved_model",
    "demo_root",
    "ensure_converter_venv",
    "make_server",
    "measure_fidelity",
    "run_graph_model",
]


def __getattr__(name):
    if name not in _LAZY:
        raise AttributeError(f"module 'tf_cbam_style.tfjs' has no attribute {name!r}")
    value = getattr(importlib.import_module(_LAZY[name]), name)
    globals()[name] = value
    return value


def __dir__():
    return __all__
