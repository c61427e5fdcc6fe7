"""The stand-in's models: finding, loading and checking requests against SavedModels.

`ServedModel` loads one SavedModel version with `tf.saved_model.load`;
`check_inputs` checks a request against its signature as TensorFlow Serving
does (dtype, rank, empty or non-finite tensors, missing or extra inputs)
and, for `content_image` and `style_image`, the one rule of
`tf_cbam_style.arrays` (floats in [0, 1]); `warm_up` replays an export's
warmup requests. Errors are `RequestError`s with TensorFlow Serving's codes.
"""

import os

import numpy as np

from tf_cbam_style import options as opts
from tf_cbam_style.arrays import to_unit_range
from tf_cbam_style.serving import codec
from tf_cbam_style.serving.errors import one_line
from tf_cbam_style.serving.grpc_apis import import_serving_protos

WARMUP_FILE = os.path.join("assets.extra", "tf_serving_warmup_requests")
MAX_WARMUP_RECORDS = 1000  # TensorFlow Serving's own cap
IMAGE_INPUTS = tuple(spec.name for spec in opts.IMAGE_INPUTS)

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


class ServedModel:
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
        if name in IMAGE_INPUTS:
            # The one rule of `arrays` (the exported graph asserts it too), so
            # that 0-255 values get a clear INVALID_ARGUMENT / HTTP 400.
            try:
                to_unit_range(value, name)
            except ValueError as error:
                raise RequestError("INVALID_ARGUMENT", f"input '{name}': {error}") from None


def warm_up(model):
    """Replays `assets.extra/tf_serving_warmup_requests` like the real server."""
    path = os.path.join(model.path, WARMUP_FILE)
    if not os.path.isfile(path):
        return 0
    import tensorflow as tf

    prediction_log_pb2 = import_serving_protos().prediction_log_pb2

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

