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
import threading

from tf_cbam_style.serving.standin.model import RequestError, ServedModel, warm_up

LOCALHOST = "127.0.0.1"
MAX_GRPC_MESSAGE_BYTES = 2**31 - 1  # what tensorflow_model_server sets

ServerAddresses = collections.namedtuple("ServerAddresses", ["grpc", "rest"])
ServerAddresses.__doc__ = """Where a started `StandInServer` listens.

Attributes:
    grpc: `"127.0.0.1:PORT"`, or `None` without gRPC.
    rest: `"http://127.0.0.1:PORT"`, or `None` without REST.
"""



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
        self.models = {name: ServedModel(name, path) for name, path in models.items()}
        if warmup:
            for model in self.models.values():
                warm_up(model)
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
        """The `ServedModel`, or `RequestError("NOT_FOUND")` like the real server."""
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
            from tf_cbam_style.serving.standin.grpc_service import start_grpc_server

            self._grpc_server, port = start_grpc_server(
                self, LOCALHOST, self._grpc_port, self.max_workers, self.max_message_bytes
            )
            grpc_address = f"{LOCALHOST}:{port}"
        if self._rest_port is not None:
            from tf_cbam_style.serving.standin.rest_service import PooledHTTPServer, make_handler

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


