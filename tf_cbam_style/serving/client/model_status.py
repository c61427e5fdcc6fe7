"""`ModelVersionStatus`: one version of a served model, as the server reports it."""

import collections

ModelVersionStatus = collections.namedtuple("ModelVersionStatus", ["version", "state", "error"])
ModelVersionStatus.__doc__ = """One served version of a model.

Attributes:
    version: int, the version folder's number.
    state: `"START"`, `"LOADING"`, `"AVAILABLE"`, `"UNLOADING"`, `"END"` or
        `"UNKNOWN"`, as TensorFlow Serving's `ModelVersionStatus.State`.
    error: the version's error message; empty when it loaded.
"""
