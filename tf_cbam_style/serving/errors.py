"""Errors shared by the client and the stand-in: `ServingError`, the status codes, the missing extra."""

# TensorFlow Serving's mapping of status codes to HTTP (http_server.cc).
HTTP_STATUS_OF_CODE = {
    "INVALID_ARGUMENT": 400,
    "FAILED_PRECONDITION": 400,
    "OUT_OF_RANGE": 400,
    "UNAUTHENTICATED": 401,
    "PERMISSION_DENIED": 403,
    "NOT_FOUND": 404,
    "ALREADY_EXISTS": 409,
    "ABORTED": 409,
    "RESOURCE_EXHAUSTED": 429,
    "CANCELLED": 499,
    "UNKNOWN": 500,
    "INTERNAL": 500,
    "DATA_LOSS": 500,
    "UNIMPLEMENTED": 501,
    "UNAVAILABLE": 503,
    "DEADLINE_EXCEEDED": 504,
}

SERVING_EXTRA_HINT = (
    'pip install -e ".[serving]" && pip install --no-deps "tensorflow-serving-api==2.21.*"'
)


class ServingError(OSError):
    """A request to a model server failed.

    An `OSError`, so the command line prints it as one `error:` line.

    Attributes:
        code: the gRPC status name (`"UNAVAILABLE"`, `"NOT_FOUND"`,
            `"INVALID_ARGUMENT"`, `"RESOURCE_EXHAUSTED"`, ...) or, over
            REST, the name matching the HTTP status.
        http_status: the HTTP status code over REST, else `None`.
        details: the server's own message, on one line.
    """

    def __init__(self, message, code="UNKNOWN", http_status=None, details=""):
        super().__init__(one_line(message))
        self.code = code
        self.http_status = http_status
        self.details = one_line(details)

    def __str__(self):
        return self.args[0]


def one_line(text, limit=400):
    """`text` with its whitespace collapsed, cut to `limit` characters."""
    text = " ".join(str(text).split())
    return text if len(text) <= limit else text[: limit - 3] + "..."


def server_message(details):
    """The part of a server's error message that tells what was wrong.

    A failed in-graph check reads "Graph execution error: Detected at node
    ... assertion failed: [`content_image` must be ...] ..."; the node path
    before "assertion failed:" is dropped.
    """
    text = " ".join(str(details).split())
    marker = text.find("assertion failed:")
    return text[marker:] if marker > 0 else text


def missing_extra(error):
    """The `ImportError` to raise when an optional serving dependency is absent."""
    return ImportError(
        "Serving needs gRPC and the TensorFlow Serving protos; install them with "
        f"`{SERVING_EXTRA_HINT}` (`--no-deps` because tensorflow-serving-api would "
        f"otherwise pull the full `tensorflow` beside tensorflow-cpu). "
        f"Received: {one_line(error)}"
    )
