"""`GrpcTransport`: PredictionService and ModelService calls over gRPC."""

import re

from tf_cbam_style.serving import codec
from tf_cbam_style.serving.client.model_status import ModelVersionStatus
from tf_cbam_style.serving.errors import ServingError, one_line, server_message
from tf_cbam_style.serving.grpc_apis import channel_options, import_grpc_apis

_MIB = 1024 * 1024


def _mib(size):
    return f"{size / _MIB:.1f} MiB"


# "Serving signature key \"x\" not found." (gRPC) or "... name: \"x\" not found in
# signature def" (REST).
_UNKNOWN_SIGNATURE = re.compile(r"signature (key|name)", re.IGNORECASE)


class GrpcTransport:
    """Calls a TensorFlow Serving gRPC endpoint.

    Args:
        target: `"HOST:PORT"` of the gRPC port (8500 by default).
        retry: a `RetryPolicy`.
        max_message_bytes: the largest request and response this client
            sends or accepts; gRPC's own default is 4 MiB.
    """

    protocol = "grpc"

    def __init__(self, target, retry, max_message_bytes):
        if not isinstance(target, str) or ":" not in target or "/" in target:
            raise ValueError(
                "`target` must be HOST:PORT for gRPC, such as localhost:8500. "
                f"Received: target={target!r}"
            )
        self._grpc, self._apis = import_grpc_apis()
        self.target = target
        self.retry = retry
        self.max_message_bytes = int(max_message_bytes)
        self._channel = self._grpc.insecure_channel(
            target, options=channel_options(max_message_bytes)
        )
        self._predict = self._apis.prediction_service_pb2_grpc.PredictionServiceStub(
            self._channel
        ).Predict
        self._status = self._apis.model_service_pb2_grpc.ModelServiceStub(
            self._channel
        ).GetModelStatus

    def close(self):
        self._channel.close()

    # ------------------------------------------------------------------

    def predict(self, name, version, signature, inputs, timeout, output_filter=()):
        """Returns `(outputs, version)`: a dict of numpy arrays and the served version."""
        request = self._apis.predict_pb2.PredictRequest()
        _set_model_spec(request.model_spec, name, version, signature)
        for key, value in inputs.items():
            request.inputs[key].CopyFrom(codec.to_tensor_proto(value))
        request.output_filter.extend(output_filter)
        size = request.ByteSize()
        if size > self.max_message_bytes:
            raise ServingError(
                f"the request is {_mib(size)}, over this client's gRPC message limit of "
                f"{_mib(self.max_message_bytes)}; raise `max_message_bytes` (--max-message-mb) "
                "or send a smaller image",
                code="RESOURCE_EXHAUSTED",
            )
        response = self._call(
            lambda: self._predict(request, timeout=timeout), "predict", name, version, timeout, size
        )
        outputs = {key: codec.from_tensor_proto(proto) for key, proto in response.outputs.items()}
        served = (
            response.model_spec.version.value if response.model_spec.HasField("version") else None
        )
        return outputs, served

    def status(self, name, version, timeout):
        """Returns the `ModelVersionStatus` list of model `name`."""
        apis = self._apis
        request = apis.get_model_status_pb2.GetModelStatusRequest()
        _set_model_spec(request.model_spec, name, version, None)
        response = self._call(
            lambda: self._status(request, timeout=timeout), "status", name, version, timeout, 0
        )
        state_name = apis.get_model_status_pb2.ModelVersionStatus.State.Name
        return [
            ModelVersionStatus(int(s.version), state_name(s.state), s.status.error_message)
            for s in response.model_version_status
        ]

    # ------------------------------------------------------------------

    def _call(self, function, what, name, version, timeout, size):
        grpc = self._grpc
        try:
            return self.retry.call(function, _is_retryable)[0]
        except grpc.RpcError as error:
            attempts = getattr(error, "attempts", 1)
            raise self._translate(error, what, name, version, timeout, size, attempts) from None

    def _translate(self, error, what, name, version, timeout, size, attempts):
        code = error.code().name if error.code() is not None else "UNKNOWN"
        details = one_line(server_message(error.details() or ""))
        model = f"model {name!r}" + (f" version {version}" if version is not None else "")
        where = f"the gRPC server at {self.target}"
        if code == "UNAVAILABLE":
            message = (
                f"cannot reach {where} (UNAVAILABLE after {attempts} attempt"
                f"{'s' if attempts > 1 else ''}): {details}. Is the server running? "
                "(`docker compose -f serving/docker-compose.yml up`)"
            )
        elif code == "DEADLINE_EXCEEDED":
            message = (
                f"{where} did not answer within {timeout:g} s (DEADLINE_EXCEEDED); "
                "raise the timeout"
            )
        elif code == "NOT_FOUND":
            message = (
                f"{model} is not served by {where} (NOT_FOUND: {details}); check the model name "
                "(serving/models.config names the served models) and that it has finished loading"
            )
        elif code == "RESOURCE_EXHAUSTED" and "message larger than max" in details.lower():
            message = (
                f"a gRPC message went over a message-size limit (request {_mib(size)}, this "
                f"client's limit {_mib(self.max_message_bytes)}): {details}. Raise the server's "
                "limit (tensorflow_model_server accepts up to 2 GiB unless "
                "--grpc_channel_arguments lowers it) or this client's `max_message_bytes` "
                "(--max-message-mb), or send a smaller image"
            )
        elif code in ("INVALID_ARGUMENT", "FAILED_PRECONDITION") and _UNKNOWN_SIGNATURE.search(
            details
        ):
            message = f"{model} at {self.target} rejected the signature ({code}): {details}"
        elif code in ("INVALID_ARGUMENT", "FAILED_PRECONDITION"):
            message = f"{where} rejected the {what} request for {model} ({code}): {details}"
        else:
            message = f"the {what} request to {where} failed ({code}): {details}"
        return ServingError(message, code=code, details=details)


def _set_model_spec(spec, name, version, signature):
    spec.name = name
    if version is not None:
        spec.version.value = int(version)
    if signature:
        spec.signature_name = signature


def _is_retryable(error):
    import grpc

    return isinstance(error, grpc.RpcError) and error.code() == grpc.StatusCode.UNAVAILABLE
