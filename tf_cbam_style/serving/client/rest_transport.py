"""`RestTransport`: TensorFlow Serving's REST API (`/v1/models/...`) over HTTP."""

import http.client
import json
import re
import socket
import urllib.error
import urllib.parse
import urllib.request

from tf_cbam_style.serving import codec
from tf_cbam_style.serving.client.model_status import ModelVersionStatus
from tf_cbam_style.serving.errors import ServingError, one_line, server_message

_CODE_OF_HTTP_STATUS = {
    400: "INVALID_ARGUMENT",
    401: "UNAUTHENTICATED",
    403: "PERMISSION_DENIED",
    404: "NOT_FOUND",
    408: "DEADLINE_EXCEEDED",
    409: "ABORTED",
    413: "RESOURCE_EXHAUSTED",
    429: "RESOURCE_EXHAUSTED",
    499: "CANCELLED",
    501: "UNIMPLEMENTED",
    502: "UNAVAILABLE",
    503: "UNAVAILABLE",
    504: "DEADLINE_EXCEEDED",
}
_RETRY_HTTP_STATUS = (502, 503)

# "Serving signature key \"x\" not found." (gRPC) or "... name: \"x\" not found in
# signature def" (REST).
_UNKNOWN_SIGNATURE = re.compile(r"signature (key|name)", re.IGNORECASE)


class _Unavailable(Exception):
    """The server could not be reached or was not ready: worth a retry."""


class RestTransport:
    """Calls a TensorFlow Serving REST endpoint.

    Requests use the columnar form, `{"signature_name": ..., "inputs": {name:
    tensor, ...}}`; responses come back as `{"outputs": ...}`.

    Args:
        url: the REST base URL, such as `http://localhost:8501`.
        retry: a `RetryPolicy`.
        max_message_bytes: the largest request body this client sends.
    """

    protocol = "rest"

    def __init__(self, url, retry, max_message_bytes):
        parsed = urllib.parse.urlsplit(url) if isinstance(url, str) else None
        if parsed is None or parsed.scheme not in ("http", "https") or not parsed.netloc:
            raise ValueError(
                f"`url` must be an http(s) URL such as http://localhost:8501. Received: url={url!r}"
            )
        self.target = url.rstrip("/")
        self.retry = retry
        self.max_message_bytes = int(max_message_bytes)

    def close(self):
        pass

    def model_url(self, name, version=None):
        url = f"{self.target}/v1/models/{urllib.parse.quote(name, safe='')}"
        return url if version is None else f"{url}/versions/{int(version)}"

    # ------------------------------------------------------------------

    def predict(self, name, version, signature, inputs, timeout, output_filter=()):
        """Returns `(outputs, version)`; REST does not report the version (`None`)."""
        body = {"inputs": {key: codec.to_json_value(value) for key, value in inputs.items()}}
        if signature:
            body = {"signature_name": signature, **body}
        data = json.dumps(body).encode()
        if len(data) > self.max_message_bytes:
            raise ServingError(
                f"the JSON request is {len(data) / 2**20:.1f} MiB, over this client's limit of "
                f"{self.max_message_bytes / 2**20:.1f} MiB; raise `max_message_bytes` "
                "(--max-message-mb), use gRPC (4x smaller requests) or send a smaller image",
                code="RESOURCE_EXHAUSTED",
            )
        answer = self._call(
            "POST",
            self.model_url(name, version) + ":predict",
            data,
            timeout,
            "predict",
            name,
            version,
            len(data),
        )
        if "outputs" not in answer:
            raise ServingError(
                f"{self.target} answered without `outputs`: {one_line(json.dumps(answer))}",
                code="INTERNAL",
            )
        outputs = codec.decode_json_outputs(answer["outputs"], _default_names(answer, signature))
        if output_filter:  # REST has no output filter: drop the others here
            outputs = {key: outputs[key] for key in output_filter if key in outputs}
        return outputs, None

    def status(self, name, version, timeout):
        """Returns the `ModelVersionStatus` list of model `name`."""
        answer = self._call(
            "GET", self.model_url(name, version), None, timeout, "status", name, version, 0
        )
        return [
            ModelVersionStatus(
                int(s.get("version", 0)),
                s.get("state", "UNKNOWN"),
                (s.get("status") or {}).get("error_message", ""),
            )
            for s in answer.get("model_version_status", [])
        ]

    # ------------------------------------------------------------------

    def _call(self, method, url, data, timeout, what, name, version, size):
        def once():
            request = urllib.request.Request(url, data=data, method=method)
            if data is not None:
                request.add_header("Content-Type", "application/json")
            try:
                with urllib.request.urlopen(request, timeout=timeout) as reply:
                    return json.loads(reply.read() or b"{}")
            except urllib.error.HTTPError as error:
                if error.code in _RETRY_HTTP_STATUS:
                    raise _Unavailable(f"HTTP {error.code}: {_error_text(error)}") from None
                raise
            except (socket.timeout, TimeoutError):
                raise
            except (urllib.error.URLError, ConnectionError, http.client.HTTPException) as error:
                reason = getattr(error, "reason", error)
                if isinstance(reason, (socket.timeout, TimeoutError)):
                    raise reason from None
                raise _Unavailable(f"{type(reason).__name__}: {reason}") from None

        try:
            return self.retry.call(once, lambda error: isinstance(error, _Unavailable))[0]
        except _Unavailable as error:
            attempts = getattr(error, "attempts", 1)
            raise ServingError(
                f"cannot reach the REST server at {self.target} (UNAVAILABLE after {attempts} "
                f"attempt{'s' if attempts > 1 else ''}): {error}. Is the server running? "
                "(`docker compose -f serving/docker-compose.yml up`)",
                code="UNAVAILABLE",
            ) from None
        except (socket.timeout, TimeoutError):
            raise ServingError(
                f"the REST server at {self.target} did not answer within {timeout:g} s "
                "(DEADLINE_EXCEEDED); raise the timeout",
                code="DEADLINE_EXCEEDED",
            ) from None
        except urllib.error.HTTPError as error:
            raise self._translate(error, what, name, version, size) from None
        except ValueError as error:  # a reply that is not JSON
            raise ServingError(
                f"{self.target} answered the {what} request with something that is not JSON: "
                f"{error}",
                code="INTERNAL",
            ) from None

    def _translate(self, error, what, name, version, size):
        status = error.code
        code = _CODE_OF_HTTP_STATUS.get(status, "UNKNOWN" if status >= 500 else "INVALID_ARGUMENT")
        details = _error_text(error)
        model = f"model {name!r}" + (f" version {version}" if version is not None else "")
        where = f"the REST server at {self.target}"
        if status == 404:
            message = (
                f"{model} is not served by {where} (HTTP 404: {details}); check the model name "
                "(serving/models.config names the served models) and that it has finished loading"
            )
        elif status == 413:
            message = (
                f"{where} refused a {size / 2**20:.1f} MiB request as too large (HTTP 413: "
                f"{details}); send a smaller image or use gRPC"
            )
        elif status == 400 and _UNKNOWN_SIGNATURE.search(details):
            message = f"{model} at {self.target} rejected the signature (HTTP 400): {details}"
        elif status == 400:
            message = f"{where} rejected the {what} request for {model} (HTTP 400): {details}"
        else:
            message = f"the {what} request to {where} failed (HTTP {status} {code}): {details}"
        return ServingError(message, code=code, http_status=status, details=details)


def _error_text(error):
    """The `{"error": ...}` message of an HTTP error reply, else its body."""
    try:
        body = error.read().decode("utf-8", "replace")
    except Exception:  # the body may be gone already
        body = ""
    try:
        text = json.loads(body).get("error", body)
    except (ValueError, AttributeError):
        text = body
    return one_line(server_message(text or error.reason or f"HTTP {error.code}"))


def _default_names(answer, signature):
    from tf_cbam_style.serving.contract import DEFAULT_SIGNATURE, OUTPUTS

    outputs = answer["outputs"]
    if isinstance(outputs, dict):
        return list(outputs)
    return list(OUTPUTS.get(signature or DEFAULT_SIGNATURE, ("stylized_image",)))[:1]
