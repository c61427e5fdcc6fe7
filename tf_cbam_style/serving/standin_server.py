"""`StandInServer`: a local *test stand-in* for TensorFlow Serving.

This is not TensorFlow Serving. The real `tensorflow_model_server` (the
`tensorflow/serving` Docker image) cannot be installed on our development
and CI machines, so the tests and the load check run against this small
server instead. It speaks the same protocols on 127.0.0.1 only:

* gRPC: `tensorflow.serving.PredictionService/Predict` and
  `tensorflow.serving.ModelService/GetModelStatus`, with the
  `tensorflow-serving-api` protos;
* REST: `POST /v1/models/<name>[/versions/<v>]:predict` (the columnar
  `{"inputs": {...}}` form) and `GET /v1/models/<name>[/versions/<v>]`.

It loads each model's latest version with `tf.saved_model.load`, replays
the export's `assets.extra/tf_serving_warmup_requests` as the real server
does, checks every request against the signature (dtype, rank, empty or
non-finite tensors, missing or extra inputs) and answers bad ones with the
status codes TensorFlow Serving uses (INVALID_ARGUMENT / HTTP 400,
NOT_FOUND / HTTP 404, FAILED_PRECONDITION for an unknown signature). It
never crashes on a request. Requests run concurrently on a thread pool.
"""

import collections
import concurrent.futures
import os
import threading

import numpy as np

from tf_cbam_style.serving import codec
from tf_cbam_style.serving.errors import one_line

LOCALHOST = "127.0.0.1"
MAX_GRPC_MESSAGE_BYTES = 2**31 - 1  # what tensorflow_model_server sets
WARMUP_FILE = os.path.join("assets.extra", "tf_serving_warmup_requests")
MAX_WARMUP_RECORDS = 1000  # TensorFlow Serving's own cap

ServerAddresses = collections.namedtuple("ServerAddresses", ["grpc", "rest"])
ServerAddresses.__doc__ = """Where a started `StandInServer` listens.

Attributes:
    grpc: `"127.0.0.1:PORT"`, or `None` without gRPC.
    rest: `"http://127.0.0.1:PORT"`, or `None` without REST.
"""

# tensorflow.error.Code numbers -> names (the gRPC status names).
_CODE_NAMES = (
    "OK CANCELLED UNKNOWN INVALID_ARGUMENT DEADLINE_EXCEEDED NOT_FOUND ALREADY_EXISTS "
    "PERMISSION_DENIED RESOURCE_EXHAUSTED FAILED_PRECONDITION ABORTED OUT_OF_RANGE "
    "UNIMPLEMENTED INTERNAL UNAVAILABLE DATA_LOSS UNAUTHENTICATED"
).split()


class RequestError(Exception):
    """A request the stand-in answers with an error status.

    Attributes:
        code: the gRPC status name, such as `"INVALID_ARGUMENT"`.
        message: one line.
    """

    def __init__(self, code, message):
        super().__init__(message)
        self.code = code
        self.message = one_line(message, limit=1000)


# ---------------------------------------------------------------------------
# Models
# ---------------------------------------------------------------------------


def find_models(directory):
    """`{name: base_path}` for each subfolder of `directory` holding versions.

    A model's base path holds numbered version folders, each a SavedModel
    (`<name>/1/saved_model.pb`), as TensorFlow Serving expects.
    """
    if not os.path.isdir(directory):
        raise FileNotFoundError(
            f"`models_dir` must be a folder of exported models. Received: models_dir={directory!r}"
        )
    models = {}
    for name in sorted(os.listdir(directory)):
        base = os.path.join(directory, name)
        if os.path.isdir(base) and _versions(base):
            models[name] = base
    if not models:
        raise ValueError(
            "`models_dir` holds no exported model (<name>/<version>/saved_model.pb; see "
            f"tf_cbam_style.export.export_saved_model). Received: models_dir={directory!r}"
        )
    return models


def _versions(base):
    return sorted(
        int(entry)
        for entry in os.listdir(base)
        if entry.isdigit() and os.path.isfile(os.path.join(base, entry, "saved_model.pb"))
    )


def _resolve(path):
    """`(version, version_dir)` for a base path (latest version) or a version folder."""
    if os.path.isfile(os.path.join(path, "saved_model.pb")):
        name = os.path.basename(os.path.normpath(path))
        return (int(name) if name.isdigit() else 1), path
    if os.path.isdir(path):
        versions = _versions(path)
        if versions:
            return versions[-1], os.path.join(path, str(versions[-1]))
    raise FileNotFoundError(
        "a model path must be a SavedModel folder or a base path holding numbered versions "
        f"(<base>/1/saved_model.pb). Received: path={path!r}"
    )


class _Model:
    """One loaded SavedModel version and its signatures."""

    def __init__(self, name, path):
        import tensorflow as tf

        self.name = name
        self.version, self.path = _resolve(path)
        self.loaded = tf.saved_model.load(self.path)  # keeps the variables alive
        self.signatures = {}
        for key, function in self.loaded.signatures.items():
            _, specs = function.structured_input_signature
            outputs = sorted(function.structured_outputs)
            self.signatures[key] = (function, dict(specs), outputs)
        if not self.signatures:
            raise ValueError(
                f"`path` must be a SavedModel with signatures. Received: path={path!r}"
            )

    def run(self, signature, inputs, output_filter=()):
        """Checks `inputs` (numpy arrays), runs `signature`, returns numpy outputs."""
        import tensorflow as tf

        signature = signature or "serving_default"
        if signature not in self.signatures:
            raise RequestError(
                "FAILED_PRECONDITION", f'Serving signature key "{signature}" not found.'
            )
        function, specs, output_names = self.signatures[signature]
        check_inputs(specs, inputs)
        unknown = [name for name in output_filter if name not in output_names]
        if unknown:
            raise RequestError(
                "INVALID_ARGUMENT",
                f"output tensor alias not found in signature: {unknown[0]}. Outputs expected to be "
                f"in the set {{{','.join(output_names)}}}.",
            )
        try:
            outputs = function(**{key: tf.constant(value) for key, value in inputs.items()})
            outputs = {key: value.numpy() for key, value in outputs.items()}
        except tf.errors.OpError as error:
            code = (
                _CODE_NAMES[error.error_code]
                if 0 < error.error_code < len(_CODE_NAMES)
                else "UNKNOWN"
            )
            raise RequestError(code, error.message) from None
        except (TypeError, ValueError) as error:
            raise RequestError("INVALID_ARGUMENT", str(error)) from None
        except Exception as error:  # never let a request take the server down
            raise RequestError("INTERNAL", f"{type(error).__name__}: {error}") from None
        if output_filter:
            outputs = {key: outputs[key] for key in output_filter}
        return outputs

    def spec_dtypes(self, signature):
        """`{input name: numpy dtype}` of `signature` (for decoding JSON)."""
        signature = signature or "serving_default"
        if signature not in self.signatures:
            raise RequestError(
                "FAILED_PRECONDITION", f'Serving signature key "{signature}" not found.'
            )
        return {
            key: spec.dtype.as_numpy_dtype for key, spec in self.signatures[signature][1].items()
        }


def check_inputs(specs, inputs):
    """Raises `RequestError("INVALID_ARGUMENT", ...)` unless `inputs` fit `specs`.

    Args:
        specs: `{name: tf.TensorSpec}` of the signature.
        inputs: `{name: numpy array}` of the request.
    """
    sent, wanted = set(inputs), set(specs)
    if sent != wanted:
        raise RequestError(
            "INVALID_ARGUMENT",
            f"input size does not match signature: {len(sent)}!={len(wanted)} "
            f"len({{{','.join(sorted(sent))}}}) != len({{{','.join(sorted(wanted))}}}). "
            f"Sent extra: {{{','.join(sorted(sent - wanted))}}}. "
            f"Missing but required: {{{','.join(sorted(wanted - sent))}}}.",
        )
    for name in sorted(specs):
        spec, value = specs[name], inputs[name]
        dtype = np.dtype(spec.dtype.as_numpy_dtype)
        if value.dtype != dtype:
            raise RequestError(
                "INVALID_ARGUMENT",
                f"input '{name}' must be {dtype.name}; received {value.dtype.name}",
            )
        if not spec.shape.is_compatible_with(value.shape):
            wanted_shape = (
                "[" + ", ".join("?" if d is None else str(d) for d in spec.shape.as_list()) + "]"
            )
            raise RequestError(
                "INVALID_ARGUMENT",
                f"input '{name}' must have shape {wanted_shape} (rank {spec.shape.rank}); "
                f"received shape {list(value.shape)}",
            )
        if value.size == 0:
            raise RequestError(
                "INVALID_ARGUMENT", f"input '{name}' is empty; received shape {list(value.shape)}"
            )
        if dtype.kind == "f" and not np.isfinite(value).all():
            raise RequestError("INVALID_ARGUMENT", f"input '{name}' holds NaN or infinite values")


# ---------------------------------------------------------------------------
# The server
# ---------------------------------------------------------------------------


class StandInServer:
    """A local test stand-in for `tensorflow_model_server` on 127.0.0.1.

    ```python
    with StandInServer({"cbam_relu4_1": "saved_models/cbam_relu4_1"}) as server:
        client = StyleClient(server.addresses.grpc, model_name="cbam_relu4_1")
    ```

    Args:
        models: `{name: path}`; a path is a model's base path (its latest
            numbered version is served) or one SavedModel folder.
        grpc_port: the gRPC port; 0 picks a free one, `None` serves no gRPC.
        rest_port: the REST port; 0 picks a free one, `None` serves no REST.
        max_workers: requests served at once (per protocol).
        max_message_bytes: the largest gRPC message accepted or sent (the
            real server's 2 GiB by default) and the largest REST body.
        warmup: replay each export's `assets.extra/tf_serving_warmup_requests`
            when loading, failing the load if one fails (as the real server).
        verbose: log each REST request to stderr.
    """

    def __init__(
        self,
        models,
        *,
        grpc_port=0,
        rest_port=0,
        max_workers=8,
        max_message_bytes=MAX_GRPC_MESSAGE_BYTES,
        warmup=True,
        verbose=False,
    ):
        if not isinstance(models, dict) or not models:
            raise ValueError(
                f"`models` must be a non-empty dict of name: path. Received: models={models!r}"
            )
        if grpc_port is None and rest_port is None:
            raise ValueError("`grpc_port` and `rest_port` cannot both be None. Received: both None")
        for name, port in (("grpc_port", grpc_port), ("rest_port", rest_port)):
            if port is not None and (not isinstance(port, int) or not 0 <= port < 65536):
                raise ValueError(
                    f"`{name}` must be a port number, 0 or None. Received: {name}={port!r}"
                )
        if not isinstance(max_workers, int) or max_workers < 1:
            raise ValueError(
                f"`max_workers` must be an int >= 1. Received: max_workers={max_workers!r}"
            )
        self.models = {name: _Model(name, path) for name, path in models.items()}
        if warmup:
            for model in self.models.values():
                _warm_up(model)
        self._grpc_port, self._rest_port = grpc_port, rest_port
        self.max_workers = max_workers
        self.max_message_bytes = int(max_message_bytes)
        self.verbose = verbose
        self._grpc_server = None
        self._http_server = None
        self._http_thread = None
        self._pool = None
        self.addresses = None

    # ------------------------------------------------------------------

    def model(self, name, version=None, label=None):
        """The served `_Model`, or `RequestError("NOT_FOUND")` like the real server."""
        model = self.models.get(name)
        if label:
            raise RequestError(
                "NOT_FOUND" if model is None else "INVALID_ARGUMENT",
                f"Unrecognized servable version label: {label}"
                if model is not None
                else f"Servable not found for request: Latest({name})",
            )
        if model is None or (version is not None and version != model.version):
            spec = f"Latest({name})" if version is None else f"Specific({name}, {version})"
            raise RequestError("NOT_FOUND", f"Servable not found for request: {spec}")
        return model

    def status(self, name, version=None):
        """`[(version, state)]` of model `name`, like ModelService.GetModelStatus."""
        model = self.models.get(name)
        if model is None:
            raise RequestError("NOT_FOUND", f"Could not find any versions of model {name}")
        if version is not None and version != model.version:
            raise RequestError("NOT_FOUND", f"Could not find version {version} of model {name}")
        return [(model.version, "AVAILABLE")]

    # ------------------------------------------------------------------

    def start(self):
        """Starts listening; returns the `ServerAddresses`."""
        grpc_address = rest_address = None
        if self._grpc_port is not None:
            from tf_cbam_style.serving.standin_grpc import start_grpc_server

            self._grpc_server, port = start_grpc_server(
                self, LOCALHOST, self._grpc_port, self.max_workers, self.max_message_bytes
            )
            grpc_address = f"{LOCALHOST}:{port}"
        if self._rest_port is not None:
            from tf_cbam_style.serving.standin_rest import PooledHTTPServer, make_handler

            self._pool = concurrent.futures.ThreadPoolExecutor(self.max_workers, "standin-rest")
            try:
                self._http_server = PooledHTTPServer(
                    (LOCALHOST, self._rest_port), make_handler(self), self._pool
                )
            except OSError:
                self.stop()
                raise
            self._http_thread = threading.Thread(
                target=self._http_server.serve_forever, name="standin-rest-accept", daemon=True
            )
            self._http_thread.start()
            rest_address = f"http://{LOCALHOST}:{self._http_server.server_address[1]}"
        self.addresses = ServerAddresses(grpc_address, rest_address)
        return self.addresses

    def stop(self, grace=1.0):
        """Stops both endpoints; waits up to `grace` seconds for gRPC calls."""
        if self._grpc_server is not None:
            self._grpc_server.stop(grace).wait()
            self._grpc_server = None
        if self._http_server is not None:
            self._http_server.shutdown()
            self._http_server.server_close()
            self._http_server = None
        if self._pool is not None:
            self._pool.shutdown(wait=True, cancel_futures=True)
            self._pool = None

    def wait(self):
        """Blocks until the server stops (or Ctrl-C)."""
        if self._grpc_server is not None:
            self._grpc_server.wait_for_termination()
        elif self._http_thread is not None:
            self._http_thread.join()

    def __enter__(self):
        if self.addresses is None:
            self.start()
        return self

    def __exit__(self, *exc_info):
        self.stop()


def _warm_up(model):
    """Replays `assets.extra/tf_serving_warmup_requests` like the real server."""
    path = os.path.join(model.path, WARMUP_FILE)
    if not os.path.isfile(path):
        return 0
    import tensorflow as tf
    from tensorflow_serving.apis import prediction_log_pb2

    count = 0
    for record in tf.data.TFRecordDataset(path).take(MAX_WARMUP_RECORDS):
        log = prediction_log_pb2.PredictionLog.FromString(record.numpy())
        if not log.HasField("predict_log"):
            raise ValueError(
                f"the stand-in replays only PredictLog warmup records. Received: {path!r} "
                f"record {count} with {log.WhichOneof('log_type')}"
            )
        request = log.predict_log.request
        try:
            inputs = {key: codec.from_tensor_proto(proto) for key, proto in request.inputs.items()}
            model.run(request.model_spec.signature_name, inputs, tuple(request.output_filter))
        except (RequestError, ValueError) as error:
            message = getattr(error, "message", str(error))
            raise ValueError(
                f"warmup request {count} of model {model.name!r} failed, so the real server "
                f"would not load it either: {message}. Received: {path!r}"
            ) from None
        count += 1
    return count
