"""The client side of serving: `StyleClient` (gRPC or REST), retries and the load check.

A client user imports only this package and the shared `serving.contract`,
`serving.codec` and `serving.errors`; nothing here imports the stand-in.
gRPC and the TensorFlow Serving protos load on the first gRPC call (REST
needs neither).
"""

from tf_cbam_style.serving.client.style_client import (
    DEFAULT_MAX_MESSAGE_BYTES,
    PROTOCOLS,
    StyleClient,
    StylizeResponse,
    infer_protocol,
)

__all__ = ["DEFAULT_MAX_MESSAGE_BYTES", "PROTOCOLS", "StyleClient", "StylizeResponse", "infer_protocol"]
