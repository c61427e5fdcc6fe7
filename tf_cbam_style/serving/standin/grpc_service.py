"""The gRPC side of the test stand-in: PredictionService and ModelService."""

import concurrent.futures

from tf_cbam_style.serving import codec
from tf_cbam_style.serving.errors import one_line
from tf_cbam_style.serving.grpc_apis import channel_options, import_grpc_apis
from tf_cbam_style.serving.standin.model import RequestError


def start_grpc_server(standin, host, port, max_workers, max_message_bytes):
    """Starts the gRPC server of `standin`; returns `(server, port)`."""
    grpc, apis = import_grpc_apis()
    # A valid tensor fits in its message; shapes claiming more are refused.
    max_elements = max_message_bytes
    from tensorflow_serving.apis import get_model_status_pb2

    def abort(context, code, message):
        context.set_code(getattr(grpc.StatusCode, code, grpc.StatusCode.UNKNOWN))
        context.set_details(one_line(message, limit=1000))

    class PredictionService(apis.prediction_service_pb2_grpc.PredictionServiceServicer):
        def Predict(self, request, context):  # noqa: N802  (the gRPC method name)
            response = apis.predict_pb2.PredictResponse()
            try:
                spec = request.model_spec
                version = spec.version.value if spec.HasField("version") else None
                model = standin.model(spec.name, version, spec.version_label or None)
                inputs = {}
                for key, proto in request.inputs.items():
                    try:
                        inputs[key] = codec.from_tensor_proto(proto, max_elements)
                    except ValueError as error:
                        raise RequestError("INVALID_ARGUMENT", f"input '{key}': {error}") from None
                outputs = model.run(spec.signature_name, inputs, tuple(request.output_filter))
                for key, value in outputs.items():
                    response.outputs[key].CopyFrom(codec.to_tensor_proto(value))
                response.model_spec.name = model.name
                response.model_spec.version.value = model.version
                response.model_spec.signature_name = spec.signature_name or "serving_default"
            except RequestError as error:
                abort(context, error.code, error.message)
                return apis.predict_pb2.PredictResponse()
            except Exception as error:  # never crash on a request
                abort(context, "INTERNAL", f"{type(error).__name__}: {error}")
                return apis.predict_pb2.PredictResponse()
            return response

    class ModelService(apis.model_service_pb2_grpc.ModelServiceServicer):
        def GetModelStatus(self, request, context):  # noqa: N802
            response = get_model_status_pb2.GetModelStatusResponse()
            try:
                spec = request.model_spec
                version = spec.version.value if spec.HasField("version") else None
                for number, state in standin.status(spec.name, version):
                    entry = response.model_version_status.add()
                    entry.version = number
                    entry.state = get_model_status_pb2.ModelVersionStatus.State.Value(state)
            except RequestError as error:
                abort(context, error.code, error.message)
                return get_model_status_pb2.GetModelStatusResponse()
            except Exception as error:
                abort(context, "INTERNAL", f"{type(error).__name__}: {error}")
                return get_model_status_pb2.GetModelStatusResponse()
            return response

    server = grpc.server(
        concurrent.futures.ThreadPoolExecutor(max_workers, thread_name_prefix="standin-grpc"),
        options=channel_options(max_message_bytes),
    )
    apis.prediction_service_pb2_grpc.add_PredictionServiceServicer_to_server(
        PredictionService(), server
    )
    apis.model_service_pb2_grpc.add_ModelServiceServicer_to_server(ModelService(), server)
    bound = server.add_insecure_port(f"{host}:{port}")
    if not bound:
        raise OSError(
            f"cannot listen for gRPC on {host}:{port}; is the port in use? Received: port={port}"
        )
    server.start()
    return server, bound
