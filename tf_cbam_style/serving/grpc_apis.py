"""The gRPC module and the TensorFlow Serving protos, shared by the client and the stand-in.

Both come with the serving extra; `import_grpc_apis` and
`import_serving_protos` name the pip command when they are missing.
"""

import types

from tf_cbam_style.serving.errors import missing_extra


def import_grpc_apis():
    """`(grpc, apis)`: the gRPC module and a namespace of the serving protos.

    Raises:
        ImportError: naming the pip command that installs them.
    """
    try:
        import grpc
        from tensorflow_serving.apis import (
            get_model_status_pb2,
            model_service_pb2_grpc,
            predict_pb2,
            prediction_service_pb2_grpc,
        )
    except ImportError as error:
        raise missing_extra(error) from None

    apis = types.SimpleNamespace(
        get_model_status_pb2=get_model_status_pb2,
        model_service_pb2_grpc=model_service_pb2_grpc,
        predict_pb2=predict_pb2,
        prediction_service_pb2_grpc=prediction_service_pb2_grpc,
    )
    return grpc, apis


def channel_options(max_message_bytes):
    """gRPC channel options lifting the 4 MiB default to `max_message_bytes`."""
    return [
        ("grpc.max_send_message_length", int(max_message_bytes)),
        ("grpc.max_receive_message_length", int(max_message_bytes)),
    ]


def import_serving_protos():
    """A namespace with `model_pb2`, `predict_pb2` and `prediction_log_pb2` (no gRPC needed).

    Raises:
        ImportError: naming the pip command that installs them.
    """
    try:
        from tensorflow_serving.apis import model_pb2, predict_pb2, prediction_log_pb2
    except ImportError as error:
        raise missing_extra(error) from None
    return types.SimpleNamespace(
        model_pb2=model_pb2, predict_pb2=predict_pb2, prediction_log_pb2=prediction_log_pb2
    )
