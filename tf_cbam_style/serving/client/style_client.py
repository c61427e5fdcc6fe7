"""`StyleClient`: stylize images with a model served by TensorFlow Serving."""

import collections

import numpy as np

from tf_cbam_style.serving.contract import (
    DEFAULT_MODEL_NAME,
    DEFAULT_SIGNATURE,
    OPTIONS_SIGNATURE,
    OUTPUTS,
    StylizeOptions,
    build_inputs,
    check_signature,
)
from tf_cbam_style.serving.client.retry import RetryPolicy
from tf_cbam_style.serving.errors import ServingError

PROTOCOLS = ("grpc", "rest")
DEFAULT_MAX_MESSAGE_BYTES = 64 * 1024 * 1024

StylizeResponse = collections.namedtuple(
    "StylizeResponse", ["image", "attention_map", "model_version", "signature"]
)
StylizeResponse.__doc__ = """Result of `StyleClient.stylize`.

Attributes:
    image: float32 `(H, W, 3)` in [0, 1], or `(batch, H, W, 3)` for a batch.
    attention_map: float32 `(H, W)` (or `(batch, H, W)`) in [0, 1] from
        `stylize_with_options`; `None` from `serving_default`.
    model_version: the version that answered (gRPC), else `None`.
    signature: the signature that was called.
"""


def infer_protocol(target):
    """`"rest"` for an `http(s)://` URL, else `"grpc"` (`HOST:PORT`)."""
    return "rest" if str(target).startswith(("http://", "https://")) else "grpc"


class StyleClient:
    """A client for the style-transfer models served by TensorFlow Serving.

    ```python
    with StyleClient("localhost:8500") as client:                # gRPC
        result = client.stylize(content, style)
    with StyleClient("http://localhost:8501") as client:         # REST
        result = client.stylize(content, style, StylizeOptions(alpha=0.6))
    ```

    Args:
        target: `"HOST:PORT"` of the gRPC port, or the REST base URL
            (`"http://HOST:PORT"`).
        protocol: `"grpc"` or `"rest"`; inferred from `target` when `None`.
        model_name: the served model, a name in `serving/models.config`.
        model_version: an int version to pin, or `None` for the latest.
        signature: the signature to call, or `None` to pick
            `stylize_with_options` when options are given and
            `serving_default` otherwise.
        timeout: seconds to wait for each attempt.
        retries: retries after the first attempt, for failures where the
            server never took the request (UNAVAILABLE, refused connection).
        backoff: seconds before the first retry, doubled after each one.
        max_message_bytes: the largest request or response this client sends
            or accepts (gRPC's own default is 4 MiB).

    Raises:
        ServingError: from every call, with a one-line message, when the
            server is down, the model or signature is unknown, a message is
            over the size limit or the server rejects the request.
    """

    def __init__(
        self,
        target,
        *,
        protocol=None,
        model_name=DEFAULT_MODEL_NAME,
        model_version=None,
        signature=None,
        timeout=60.0,
        retries=3,
        backoff=0.5,
        max_message_bytes=DEFAULT_MAX_MESSAGE_BYTES,
    ):
        protocol = protocol or infer_protocol(target)
        if protocol not in PROTOCOLS:
            raise ValueError(
                f"`protocol` must be one of {PROTOCOLS}. Received: protocol={protocol!r}"
            )
        if not isinstance(model_name, str) or not model_name or "/" in model_name:
            raise ValueError(
                f"`model_name` must be a non-empty name. Received: model_name={model_name!r}"
            )
        if model_version is not None and (
            isinstance(model_version, bool)
            or not isinstance(model_version, (int, np.integer))
            or model_version < 1
        ):
            raise ValueError(
                "`model_version` must be a positive int or None. "
                f"Received: model_version={model_version!r}"
            )
        if signature is not None:
            check_signature(signature)
        if not timeout > 0:
            raise ValueError(f"`timeout` must be > 0 seconds. Received: timeout={timeout!r}")
        if not max_message_bytes > 0:
            raise ValueError(
                "`max_message_bytes` must be > 0. "
                f"Received: max_message_bytes={max_message_bytes!r}"
            )
        retry = RetryPolicy(retries=retries, backoff=backoff)
        if protocol == "grpc":
            from tf_cbam_style.serving.client.grpc_transport import GrpcTransport

            self._transport = GrpcTransport(target, retry, max_message_bytes)
        else:
            from tf_cbam_style.serving.client.rest_transport import RestTransport

            self._transport = RestTransport(target, retry, max_message_bytes)
        self.protocol = protocol
        self.target = target
        self.model_name = model_name
        self.model_version = None if model_version is None else int(model_version)
        self.signature = signature
        self.timeout = float(timeout)

    # ------------------------------------------------------------------

    def predict(self, inputs, signature=None, output_filter=()):
        """Sends `inputs` as they are; returns the outputs as numpy arrays.

        No check is made on `inputs`: this is the raw Predict call.

        Args:
            inputs: dict of input name -> array (or scalar).
            signature: the signature; the client's default when `None`.
            output_filter: names of the outputs to return (all when empty).

        Returns:
            A dict of output name -> numpy array.
        """
        signature = signature or self.signature or DEFAULT_SIGNATURE
        outputs, _ = self._transport.predict(
            self.model_name,
            self.model_version,
            signature,
            dict(inputs),
            self.timeout,
            tuple(output_filter),
        )
        return outputs

    def stylize(self, content, style, options=None, *, signature=None):
        """Stylizes `content` with `style` on the server.

        Args:
            content: `(H, W, 3)` or `(batch, H, W, 3)` RGB by the one rule
                of `tf_cbam_style.arrays`: uint8 / 255, uint16 / 65535,
                floats in [0, 1] (others raise `ValueError`).
            style: `(Hs, Ws, 3)` or `(batch or 1, Hs, Ws, 3)`.
            options: a `StylizeOptions`; needs `stylize_with_options`.
            signature: overrides the client's signature for this call.

        Returns:
            A `StylizeResponse`.
        """
        signature = signature or self.signature
        if signature is None:
            signature = OPTIONS_SIGNATURE if options is not None else DEFAULT_SIGNATURE
        if options is not None and not isinstance(options, StylizeOptions):
            raise ValueError(f"`options` must be a StylizeOptions. Received: options={options!r}")
        inputs = build_inputs(content, style, signature, options)
        outputs, version = self._transport.predict(
            self.model_name, self.model_version, signature, inputs, self.timeout, ()
        )
        missing = [name for name in OUTPUTS[signature] if name not in outputs]
        if missing:
            raise ServingError(
                f"model {self.model_name!r} at {self.target} answered {signature!r} without "
                f"{missing}; is it a tf_cbam_style export?",
                code="INTERNAL",
            )
        image = np.asarray(outputs["stylized_image"], np.float32)
        attention = outputs.get("attention_map")
        if attention is not None:
            attention = np.asarray(attention, np.float32)[..., 0]
        expected = inputs["content_image"].shape
        if image.shape != expected:
            raise ServingError(
                f"model {self.model_name!r} at {self.target} returned an image of shape "
                f"{image.shape} for a content of shape {expected}",
                code="INTERNAL",
            )
        if np.ndim(content) == 3:
            image = image[0]
            attention = None if attention is None else attention[0]
        return StylizeResponse(image, attention, version, signature)

    def model_status(self):
        """The `ModelVersionStatus` list of the model (TensorFlow Serving's ModelService)."""
        return self._transport.status(self.model_name, self.model_version, self.timeout)

    def close(self):
        self._transport.close()

    def __enter__(self):
        return self

    def __exit__(self, *exc_info):
        self.close()

    def __repr__(self):
        return (
            f"StyleClient({self.target!r}, protocol={self.protocol!r}, "
            f"model_name={self.model_name!r}, signature={self.signature!r})"
        )
