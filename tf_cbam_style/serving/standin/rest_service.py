"""The REST side of the test stand-in: `/v1/models/...` on `http.server`."""

import http.server
import json
import re

from tf_cbam_style.serving import codec
from tf_cbam_style.serving.errors import HTTP_STATUS_OF_CODE
from tf_cbam_style.serving.standin.model import RequestError

_ROUTE = re.compile(
    r"^/v1/models/(?P<name>[^/:]+)"
    r"(?:/versions/(?P<version>[^/:]+)|/labels/(?P<label>[^/:]+))?"
    r"(?::(?P<verb>[A-Za-z]+)|/(?P<metadata>metadata))?$"
)


class PooledHTTPServer(http.server.HTTPServer):
    """An `HTTPServer` that handles each connection on a bounded thread pool."""

    daemon_threads = True

    def __init__(self, address, handler, pool):
        self._pool = pool
        super().__init__(address, handler)

    def process_request(self, request, client_address):
        self._pool.submit(self._process, request, client_address)

    def _process(self, request, client_address):
        try:
            self.finish_request(request, client_address)
        except Exception:  # a broken connection must not stop the server
            self.handle_error(request, client_address)
        finally:
            self.shutdown_request(request)

    def handle_error(self, request, client_address):
        pass


def make_handler(standin):
    """The `BaseHTTPRequestHandler` class serving `standin`."""

    class Handler(http.server.BaseHTTPRequestHandler):
        server_version = "tf-cbam-style-test-standin"
        # One request per connection, so an idle keep-alive connection never
        # holds a pool thread; `timeout` drops clients that stall mid-request.
        protocol_version = "HTTP/1.0"
        timeout = 60

        def log_message(self, format, *args):  # noqa: A002
            if standin.verbose:
                super().log_message(format, *args)

        def do_GET(self):  # noqa: N802
            self._respond(self._get)

        def do_POST(self):  # noqa: N802
            self._respond(self._post)

        # --------------------------------------------------------------

        def _respond(self, handler):
            try:
                status, body = 200, handler()
            except _TooLarge as error:
                status, body = 413, {"error": error.message}
            except RequestError as error:
                status, body = HTTP_STATUS_OF_CODE.get(error.code, 500), {"error": error.message}
            except Exception as error:  # never crash on a request
                status, body = 500, {"error": f"{type(error).__name__}: {error}"}
            try:
                data = json.dumps(body).encode()
            except (TypeError, ValueError) as error:
                status, data = (
                    500,
                    json.dumps({"error": f"cannot encode the reply: {error}"}).encode(),
                )
            self.send_response(status)
            self.send_header("Content-Type", "application/json")
            self.send_header("Content-Length", str(len(data)))
            self.end_headers()
            self.wfile.write(data)

        def _route(self):
            match = _ROUTE.match(self.path.split("?", 1)[0])
            if match is None:
                raise RequestError("NOT_FOUND", f"Malformed request: {self.command} {self.path}")
            version = match["version"]
            if version is not None:
                if not version.isdigit():
                    raise RequestError("INVALID_ARGUMENT", f"Invalid version: {version}")
                version = int(version)
            return match, version

        def _get(self):
            match, version = self._route()
            if match["verb"] or match["metadata"]:
                raise RequestError(
                    "UNIMPLEMENTED", "the test stand-in serves only model status and :predict"
                )
            states = standin.status(match["name"], version)
            return {
                "model_version_status": [
                    {
                        "version": str(v),
                        "state": state,
                        "status": {"error_code": "OK", "error_message": ""},
                    }
                    for v, state in states
                ]
            }

        def _post(self):
            match, version = self._route()
            body = self._read_body()
            if match["verb"] != "predict":
                raise RequestError(
                    "UNIMPLEMENTED" if match["verb"] else "NOT_FOUND",
                    f"the test stand-in serves only :predict. Received: {self.command} {self.path}",
                )
            model = standin.model(match["name"], version, match["label"])
            try:
                request = json.loads(body)
            except ValueError as error:
                raise RequestError("INVALID_ARGUMENT", f"JSON Parse error: {error}") from None
            if not isinstance(request, dict):
                raise RequestError("INVALID_ARGUMENT", "the request body must be a JSON object")
            if "instances" in request:
                raise RequestError(
                    "INVALID_ARGUMENT",
                    'the test stand-in takes only the columnar form {"inputs": {name: tensor}}',
                )
            if not isinstance(request.get("inputs"), dict):
                raise RequestError(
                    "INVALID_ARGUMENT",
                    "Missing 'inputs' key: send {\"inputs\": {name: tensor, ...}}",
                )
            signature = request.get("signature_name") or "serving_default"
            if not isinstance(signature, str):
                raise RequestError("INVALID_ARGUMENT", "'signature_name' must be a string")
            dtypes = model.spec_dtypes(signature)
            inputs = {}
            for key, value in request["inputs"].items():
                if key not in dtypes:
                    inputs[key] = None  # `check_inputs` names the extra input
                    continue
                try:
                    inputs[key] = codec.from_json_value(value, dtypes[key], key)
                except ValueError as error:
                    raise RequestError("INVALID_ARGUMENT", str(error)) from None
            outputs = model.run(signature, inputs)
            names = sorted(outputs)
            if len(names) == 1:  # TensorFlow Serving drops the name of a lone output
                return {"outputs": codec.to_json_value(outputs[names[0]])}
            return {"outputs": {key: codec.to_json_value(outputs[key]) for key in names}}

        def _read_body(self):
            length = self.headers.get("Content-Length")
            if length is None or not length.isdigit():
                raise RequestError("INVALID_ARGUMENT", "the request needs a Content-Length header")
            length = int(length)
            if length > standin.max_message_bytes:
                while length > 0:  # drain it, so the client reads the 413 reply
                    length -= len(self.rfile.read(min(length, 1 << 20)) or b"x" * length)
                raise _TooLarge(int(self.headers["Content-Length"]), standin.max_message_bytes)
            return self.rfile.read(length)

    return Handler


class _TooLarge(RequestError):
    def __init__(self, size, limit):
        super().__init__(
            "RESOURCE_EXHAUSTED",
            f"the request body is {size} bytes, over this server's limit of {limit} bytes",
        )
