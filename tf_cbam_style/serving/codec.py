"""Tensors on the wire: numpy <-> `TensorProto` (gRPC) and JSON (REST)."""

import numpy as np

# JSON leaves each numpy dtype kind accepts: TensorFlow Serving converts
# numbers to the signature's dtype but never a string or a bool to a number.
_JSON_KINDS = {"f": "fiu", "i": "iu", "u": "iu", "b": "b"}


def to_tensor_proto(array):
    """A numpy array (or scalar) -> `tensorflow.TensorProto`."""
    import tensorflow as tf

    return tf.make_tensor_proto(np.asarray(array))


def from_tensor_proto(proto, max_elements=None):
    """A `tensorflow.TensorProto` -> numpy array.

    Args:
        proto: the `TensorProto`.
        max_elements: refuse tensors whose shape claims more elements (a
            proto can declare a huge shape with one repeated value).

    Raises:
        ValueError: the proto is malformed (e.g. its content does not match
            its shape), too large or has a dtype numpy cannot hold.
    """
    import tensorflow as tf

    dims = [d.size for d in proto.tensor_shape.dim]
    if any(d < 0 for d in dims):
        raise ValueError(f"malformed tensor: negative dimension in shape {dims}")
    if max_elements is not None and int(np.prod(dims, dtype=np.float64)) > max_elements:
        raise ValueError(f"tensor of shape {dims} is over the limit of {max_elements} elements")
    try:
        return tf.make_ndarray(proto)
    except Exception as error:  # TypeError, ValueError or a TF error
        raise ValueError(f"malformed tensor: {' '.join(str(error).split())}") from None


def to_json_value(array):
    """A numpy array -> nested lists of Python numbers (NaN stays NaN)."""
    return np.asarray(array).tolist()


def from_json_value(value, dtype, name):
    """Nested JSON lists -> numpy array of `dtype`.

    Raises:
        ValueError: ragged lists, or leaves that `dtype` cannot take (a
            string, a bool for a number, a fraction for an integer).
    """
    dtype = np.dtype(dtype)
    try:
        array = np.asarray(value)
    except ValueError:
        raise ValueError(
            f"input '{name}' is a ragged list; every row must have the same length"
        ) from None
    if array.size and array.dtype.kind not in _JSON_KINDS.get(dtype.kind, dtype.kind):
        raise ValueError(
            f"input '{name}' must hold {dtype.name} values; "
            f"got JSON values of type {_json_kind_name(array.dtype)}"
        )
    if dtype.kind in "iu" and array.size:
        info = np.iinfo(dtype)
        if array.min() < info.min or array.max() > info.max:
            raise ValueError(f"input '{name}' holds values outside the {dtype.name} range")
    return array.astype(dtype)


def _json_kind_name(dtype):
    return {"b": "bool", "i": "integer", "u": "integer", "f": "number", "U": "string"}.get(
        dtype.kind, "mixed/object"
    )


def decode_json_outputs(outputs, names, dtypes=None):
    """The REST `outputs` member -> dict of numpy arrays.

    TensorFlow Serving drops the name when a signature has one output, so
    `outputs` is then the tensor itself.
    """
    dtypes = dtypes or {}
    if not isinstance(outputs, dict):
        if len(names) != 1:
            raise ValueError(f"expected outputs {list(names)}; got an unnamed tensor")
        outputs = {names[0]: outputs}
    return {
        name: np.asarray(value, dtype=dtypes.get(name, np.float32))
        for name, value in outputs.items()
    }
