"""Serving: clients for TensorFlow Serving and a local test stand-in.

The models are exported with `tf_cbam_style.export.export_saved_model` in
TensorFlow Serving's layout (`<base>/<version>/saved_model.pb`) and served
by the real `tensorflow/serving` image (see `serving/docker-compose.yml`).

* `serving.client`: `StyleClient` calls a server over gRPC or REST;
  `run_load_check` sends concurrent requests and checks every response.
* `serving.standin`: `StandInServer` is a *test stand-in* for
  `tensorflow_model_server`: a small gRPC + REST server on 127.0.0.1 built on
  `tf.saved_model.load`, used by our tests because the real server cannot be
  installed on our machines. The client never imports it.
* Shared by both: `serving.contract` (signatures, `StylizeOptions`, request
  inputs), `serving.codec` (tensors on the wire), `serving.errors` and
  `serving.grpc_apis`.

Importing this package loads nothing: gRPC, TensorFlow and the
`tensorflow-serving-api` protos are imported on first use. They come with
`pip install -e ".[serving]"`.
"""

import importlib

_LAZY = {
    "ServingError": ("tf_cbam_style.serving.errors", "ServingError"),
    "StylizeOptions": ("tf_cbam_style.serving.contract", "StylizeOptions"),
    "StyleClient": ("tf_cbam_style.serving.client", "StyleClient"),
    "StylizeResponse": ("tf_cbam_style.serving.client", "StylizeResponse"),
    "RetryPolicy": ("tf_cbam_style.serving.client.retry", "RetryPolicy"),
    "StandInServer": ("tf_cbam_style.serving.standin", "StandInServer"),
    "run_load_check": ("tf_cbam_style.serving.client.load", "run_load_check"),
    "LoadReport": ("tf_cbam_style.serving.client.load", "LoadReport"),
    # The `client`, `serve-standin` and `load-test` commands (kept for callers
    # of the old `serving.register_cli`).
    "register_cli": ("tf_cbam_style.cli.serving", "register"),
}

__all__ = sorted(_LAZY)


def __getattr__(name):
    if name not in _LAZY:
        raise AttributeError(f"module 'tf_cbam_style.serving' has no attribute {name!r}")
    module_name, attribute = _LAZY[name]
    value = getattr(importlib.import_module(module_name), attribute)
    globals()[name] = value
    return value


def __dir__():
    return __all__
