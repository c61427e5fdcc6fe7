"""The local *test stand-in* for TensorFlow Serving (`StandInServer`), for tests only.

It imports TensorFlow and the serving protos when a server is made; the
client (`tf_cbam_style.serving.client`) never imports this package.
"""

from tf_cbam_style.serving.standin.model import RequestError, ServedModel, check_inputs, find_models
from tf_cbam_style.serving.standin.server import LOCALHOST, ServerAddresses, StandInServer

__all__ = ["LOCALHOST", "RequestError", "ServedModel", "ServerAddresses", "StandInServer",
           "check_inputs", "find_models"]
