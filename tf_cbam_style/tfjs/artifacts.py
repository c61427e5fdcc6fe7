"""Reads and writes a TF.js graph model folder (`model.json` + weight shards)."""

import collections
import json
import os

import numpy as np

MODEL_JSON = "model.json"

GraphModelArtifacts = collections.namedtuple("GraphModelArtifacts", ["manifest", "weights"])
GraphModelArtifacts.__doc__ = """A TF.js graph model in memory.

Attributes:
    manifest: the parsed `model.json` (its `weightsManifest` is rewritten
        on writing).
    weights: list of `(spec, data)`: each weight's manifest entry (`name`,
        `shape`, `dtype`, optional `quantization`) and its raw bytes.
"""

WrittenModel = collections.namedtuple("WrittenModel", ["model_json", "shards", "weight_bytes"])
WrittenModel.__doc__ = """What `write_artifacts` wrote.

Attributes:
    model_json: path of `model.json`.
    shards: paths of the weight shard files, in order.
    weight_bytes: total size of the shards.
"""

_ITEM_BYTES = {"float32": 4, "int32": 4, "bool": 1, "uint8": 1, "uint16": 2, "float16": 2}


def weight_nbytes(spec):
    """Bytes that one manifest entry takes in the shards."""
    dtype = spec.get("quantization", {}).get("dtype", spec["dtype"])
    if dtype not in _ITEM_BYTES:
        raise ValueError(
            "Only numeric and bool weights can be rewritten. "
            f"Received: weight {spec['name']!r} with dtype={dtype!r}"
        )
    return int(np.prod(spec["shape"], dtype=np.int64)) * _ITEM_BYTES[dtype]


def read_artifacts(model_dir):
    """Loads `model_dir/model.json` and its weight shards.

    Returns:
        A `GraphModelArtifacts`.
    """
    path = os.path.join(model_dir, MODEL_JSON)
    if not os.path.isfile(path):
        raise FileNotFoundError(
            f"`model_dir` must hold a TF.js graph model ({MODEL_JSON}). Received: model_dir={model_dir!r}"
        )
    with open(path, encoding="utf-8") as f:
        manifest = json.load(f)
    weights = []
    for group in manifest.get("weightsManifest", []):
        data = b"".join(_read(os.path.join(model_dir, shard)) for shard in group["paths"])
        offset = 0
        for spec in group["weights"]:
            size = weight_nbytes(spec)
            weights.append((spec, data[offset:offset + size]))
            offset += size
        if offset != len(data):
            raise ValueError(
                "The weight shards do not match the manifest. "
                f"Received: {len(data)} bytes for {offset} bytes of weights in {model_dir!r}"
            )
    return GraphModelArtifacts(manifest, weights)


def _read(path):
    with open(path, "rb") as f:
        return f.read()


def write_artifacts(model_dir, artifacts, shard_size_bytes=4 * 1024 * 1024):
    """Writes `artifacts` to `model_dir`, replacing its model and shards.

    Weights go into one group of `group1-shard{i}of{n}.bin` files of at most
    `shard_size_bytes` each, as the TF.js converter names them.

    Returns:
        A `WrittenModel`.
    """
    if not isinstance(shard_size_bytes, int) or shard_size_bytes < 1:
        raise ValueError(
            f"`shard_size_bytes` must be a positive int. Received: shard_size_bytes={shard_size_bytes!r}"
        )
    os.makedirs(model_dir, exist_ok=True)
    for name in os.listdir(model_dir):
        if name.startswith("group") and name.endswith(".bin"):
            os.remove(os.path.join(model_dir, name))
    data = b"".join(blob for _, blob in artifacts.weights)
    count = -(-len(data) // shard_size_bytes) if artifacts.weights else 0
    shards = [f"group1-shard{i + 1}of{count}.bin" for i in range(count)]
    for i, name in enumerate(shards):
        with open(os.path.join(model_dir, name), "wb") as f:
            f.write(data[i * shard_size_bytes:(i + 1) * shard_size_bytes])
    manifest = dict(artifacts.manifest)
    manifest["weightsManifest"] = [
        {"paths": shards, "weights": [spec for spec, _ in artifacts.weights]}
    ] if artifacts.weights else []
    path = os.path.join(model_dir, MODEL_JSON)
    tmp = path + ".tmp"
    with open(tmp, "w", encoding="utf-8") as f:
        json.dump(manifest, f, separators=(",", ":"))
    os.replace(tmp, path)
    return WrittenModel(path, [os.path.join(model_dir, s) for s in shards], len(data))
