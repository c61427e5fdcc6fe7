"""Graph rewrites applied to a converted model so that it runs, and loads
fast, in the browser.

- `dedupe_constants`: the converter freezes every read of a variable, and
  every constant-folded tensor, into its own weight. The encoder runs twice
  (content and style) and the Newton-Schulz loop folds `3 * I` once per
  iteration, so identical weights would otherwise make up most of the
  download.
- `unfuse_tensor_bias`: Grappler fuses `MatMul`/`Conv2D` + `Add` into
  `_FusedMatMul`/`_FusedConv2D` even when the addend is not a per-channel
  vector (e.g. CBAM's `mlp(avg) + mlp(max)`, or a scalar), but the TF.js
  wasm backend only accepts rank-1 biases there. Such nodes are split back
  into the plain op, `AddV2` and the activation.
- `rename_signature_outputs`: the converter keys outputs that share a
  dtype and shape (`attention_map`, `matte`) by their tensor names; the
  signature's own keys are put back.
"""

import base64
import collections
import hashlib

from tf_cbam_style.tfjs.artifacts import GraphModelArtifacts

RewriteStats = collections.namedtuple("RewriteStats", ["removed_weights", "removed_bytes", "unfused_nodes"])
RewriteStats.__doc__ = """What `optimize_artifacts` changed.

Attributes:
    removed_weights: number of duplicate weights dropped.
    removed_bytes: their size in bytes.
    unfused_nodes: names of the fused nodes that were split.
"""

_FUSED_BASE = {"_FusedMatMul": "MatMul", "_FusedConv2D": "Conv2D",
               "FusedDepthwiseConv2dNative": "DepthwiseConv2dNative"}
_BASE_ATTRS = {
    "MatMul": ("transpose_a", "transpose_b", "T"),
    "Conv2D": ("strides", "padding", "data_format", "dilations", "explicit_paddings", "T"),
    "DepthwiseConv2dNative": ("strides", "padding", "data_format", "dilations", "explicit_paddings", "T"),
}
_ACTIVATIONS = ("Relu", "Relu6", "Elu", "Sigmoid", "Tanh", "LeakyRelu")


def _base_name(reference):
    return reference.lstrip("^").split(":")[0]


def _rename_input(reference, mapping):
    control = reference.startswith("^")
    name, sep, port = reference.lstrip("^").partition(":")
    name = mapping.get(name, name)
    return ("^" if control else "") + name + (sep + port if sep else "")


def _all_nodes(topology):
    nodes = list(topology.get("node", []))
    for function in topology.get("library", {}).get("function", []):
        nodes.extend(function.get("nodeDef", []))
    return nodes


def dedupe_constants(artifacts):
    """Drops weights whose dtype, shape, quantization, bytes and control
    inputs repeat an earlier one and points their users at the first copy.

    Returns:
        `(artifacts, removed_weights, removed_bytes)`.
    """
    topology = artifacts.manifest["modelTopology"]
    # Constants inside a loop carry a control input from its frame; only
    # merge constants with the same control inputs so that none leaves it.
    controls = {node["name"]: tuple(sorted(node.get("input", []))) for node in topology.get("node", [])}
    keep = {}
    mapping = {}
    weights = []
    removed_bytes = 0
    for spec, data in artifacts.weights:
        key = (spec["dtype"], tuple(spec["shape"]), repr(sorted(spec.get("quantization", {}).items())),
               hashlib.sha256(data).digest(), controls.get(spec["name"], ()))
        if key in keep:
            mapping[spec["name"]] = keep[key]
            removed_bytes += len(data)
        else:
            keep[key] = spec["name"]
            weights.append((spec, data))
    if not mapping:
        return artifacts, 0, 0
    topology = dict(topology)
    topology["node"] = [node for node in topology.get("node", []) if node["name"] not in mapping]
    for node in _all_nodes(topology):
        if "input" in node:
            node["input"] = [_rename_input(ref, mapping) for ref in node["input"]]
    manifest = dict(artifacts.manifest, modelTopology=topology)
    signature = manifest.get("signature", {})
    for output in signature.get("outputs", {}).values():
        output["name"] = _rename_input(output["name"], mapping)
    return GraphModelArtifacts(manifest, weights), len(mapping), removed_bytes


def _rank1_constant(name, nodes, shapes):
    node = nodes.get(_base_name(name))
    return node is not None and node["op"] == "Const" and len(shapes.get(node["name"], ())) == 1


def unfuse_tensor_bias(artifacts):
    """Splits fused nodes whose bias is not a rank-1 constant.

    Returns:
        `(artifacts, names of the split nodes)`.
    """
    topology = dict(artifacts.manifest["modelTopology"])
    nodes = {node["name"]: node for node in topology.get("node", [])}
    shapes = {spec["name"]: spec["shape"] for spec, _ in artifacts.weights}
    for node in nodes.values():
        tensor = node.get("attr", {}).get("value", {}).get("tensor")
        if node["op"] == "Const" and tensor is not None and node["name"] not in shapes:
            shapes[node["name"]] = [int(d["size"]) for d in tensor.get("tensorShape", {}).get("dim", [])]
    new_nodes = []
    unfused = []
    for node in topology.get("node", []):
        base_op = _FUSED_BASE.get(node["op"])
        fused_ops = [base64.b64decode(s).decode() for s in
                     node.get("attr", {}).get("fused_ops", {}).get("list", {}).get("s", [])]
        inputs = [ref for ref in node.get("input", []) if not ref.startswith("^")]
        controls = [ref for ref in node.get("input", []) if ref.startswith("^")]
        if (base_op is None or not fused_ops or fused_ops[0] != "BiasAdd" or len(inputs) != 3
                or _rank1_constant(inputs[2], nodes, shapes)):
            new_nodes.append(node)
            continue
        activation = fused_ops[1] if len(fused_ops) > 1 else None
        if len(fused_ops) > 2 or (activation is not None and activation not in _ACTIVATIONS):
            raise ValueError(
                "Cannot split a fused node with these fused ops. "
                f"Received: node={node['name']!r}, fused_ops={fused_ops}"
            )
        name = node["name"]
        attr = node.get("attr", {})
        base = {
            "name": f"{name}/unfused_{base_op}",
            "op": base_op,
            "input": inputs[:2] + controls,
            "attr": {k: attr[k] for k in _BASE_ATTRS[base_op] if k in attr},
        }
        add = {
            "name": name if activation is None else f"{name}/unfused_add",
            "op": "AddV2",
            "input": [base["name"], inputs[2]],
            "attr": {k: attr[k] for k in ("T",) if k in attr},
        }
        new_nodes += [base, add]
        if activation is not None:
            act_attr = {k: attr[k] for k in ("T",) if k in attr}
            if activation == "LeakyRelu" and "leakyrelu_alpha" in attr:
                act_attr["alpha"] = attr["leakyrelu_alpha"]
            new_nodes.append({"name": name, "op": activation, "input": [add["name"]], "attr": act_attr})
        unfused.append(name)
    if not unfused:
        return artifacts, []
    topology["node"] = new_nodes
    return GraphModelArtifacts(dict(artifacts.manifest, modelTopology=topology), artifacts.weights), unfused


def rename_signature_outputs(artifacts, keys):
    """Keys the manifest's signature outputs by `keys` (tensor name -> key).

    Outputs already keyed by a signature key, or whose tensor is not in
    `keys`, are kept as they are.

    Returns:
        `(artifacts, renamed keys)`.
    """
    signature = artifacts.manifest.get("signature", {})
    outputs = signature.get("outputs", {})
    wanted = set(keys.values())
    renamed, new = [], {}
    for key, output in outputs.items():
        target = keys.get(output.get("name"))
        if key not in wanted and target is not None and target not in outputs:
            new[target] = output
            renamed.append(target)
        else:
            new[key] = output
    if not renamed:
        return artifacts, []
    manifest = dict(artifacts.manifest, signature=dict(signature, outputs=new))
    return GraphModelArtifacts(manifest, artifacts.weights), sorted(renamed)


def optimize_artifacts(artifacts):
    """Applies `dedupe_constants` and `unfuse_tensor_bias`.

    Returns:
        `(artifacts, RewriteStats)`.
    """
    artifacts, removed, removed_bytes = dedupe_constants(artifacts)
    artifacts, unfused = unfuse_tensor_bias(artifacts)
    return artifacts, RewriteStats(removed, removed_bytes, unfused)
