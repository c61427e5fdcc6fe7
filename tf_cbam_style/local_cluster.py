"""A multi-worker cluster on this machine: free ports and each worker's `TF_CONFIG`.

For trying `tf-cbam-style train` under `MultiWorkerMirroredStrategy` on one
host (the tests and `tools/multiworker_throughput.py` do): start one process
per worker with `TF_CONFIG=local_tf_config(ports, index)`. Imports nothing
heavy, so a launcher need not load TensorFlow.

Example:

>>> import json
>>> ports = free_ports(2)
>>> json.loads(local_tf_config(ports, 1))["task"]
{'type': 'worker', 'index': 1}
"""

import json
import socket


def free_ports(n, host="127.0.0.1"):
    """`n` distinct TCP ports of `host` that were free a moment ago.

    Each is bound to port 0 (the system picks) and released; another
    process may take one before the cluster starts, a small race that a
    retry fixes.

    Raises:
        ValueError: `n` is not a positive int.
    """
    if isinstance(n, bool) or not isinstance(n, int) or n < 1:
        raise ValueError(f"`n` must be a positive int. Received: n={n!r}")
    sockets = [socket.socket() for _ in range(n)]
    try:
        for s in sockets:
            s.bind((host, 0))
        return [s.getsockname()[1] for s in sockets]
    finally:
        for s in sockets:
            s.close()


def local_tf_config(ports, index, host="127.0.0.1"):
    """The `TF_CONFIG` JSON of worker `index` of a cluster of `host:port` workers.

    Raises:
        ValueError: `index` is not one of the workers.
    """
    if isinstance(index, bool) or not isinstance(index, int) or not 0 <= index < len(ports):
        raise ValueError(f"`index` must be an int in [0, {len(ports)}). Received: index={index!r}")
    return json.dumps({"cluster": {"worker": [f"{host}:{port}" for port in ports]},
                       "task": {"type": "worker", "index": index}})
