"""Finds the TensorFlow ops of a SavedModel signature that TF.js lacks."""

import collections
import re

# The converter strips these with `--strip_debug_ops` (the export's input
# checks); the browser page checks its inputs itself.
DEBUG_OPS = frozenset({"Assert", "CheckNumerics", "Print", "PrintV2"})

_CONVERTER_ERROR = re.compile(r"Unsupported Ops in the model (?:before|after) optimization\s*\n\s*([^\n]+)")


class UnsupportedOpsError(ValueError):
    """The graph uses ops that TensorFlow.js cannot run.

    Attributes:
        ops: dict of op name -> list of node names that use it (the node
            names carry the Keras layer scopes, e.g.
            `.../feature_transfer/resize/ResizeArea`); a list may be empty
            when only the converter's message named the op.
    """

    def __init__(self, ops, signature_name):
        self.ops = dict(ops)
        self.signature_name = signature_name
        parts = []
        for op, nodes in sorted(self.ops.items()):
            where = f" (in {', '.join(nodes[:3])}{' ...' if len(nodes) > 3 else ''})" if nodes else ""
            parts.append(f"{op}{where}")
        super().__init__(
            f"The `{signature_name}` graph uses ops that TensorFlow.js does not support: "
            f"{'; '.join(parts)}. Replace them in the layer that makes them and export again. "
            f"Received: ops={sorted(self.ops)}"
        )


def parse_converter_error(text):
    """Op names from the converter's 'Unsupported Ops in the model ...' error."""
    ops = []
    for match in _CONVERTER_ERROR.finditer(text or ""):
        ops += [op.strip() for op in match.group(1).split(",") if op.strip()]
    return sorted(set(ops))


def signature_op_nodes(saved_model_dir, signature_name):
    """Op type -> node names of the signature's frozen graph.

    The graph is frozen as the converter freezes it (variables inlined,
    control flow lowered to `Switch`/`Merge`/`Enter`/...), so that ops such
    as `_SwitchN` (from `tf.switch_case`) show up here too.
    """
    import tensorflow as tf
    from tensorflow.python.framework.convert_to_constants import (
        convert_variables_to_constants_v2,
    )

    loaded = tf.saved_model.load(str(saved_model_dir))
    if signature_name not in loaded.signatures:
        raise ValueError(
            f"`signature_name` must be one of the SavedModel's signatures {sorted(loaded.signatures)}. "
            f"Received: signature_name={signature_name!r}"
        )
    frozen = convert_variables_to_constants_v2(loaded.signatures[signature_name], lower_control_flow=True)
    graph_def = frozen.graph.as_graph_def()
    nodes = list(graph_def.node)
    for function in graph_def.library.function:
        nodes.extend(function.node_def)
    by_op = collections.defaultdict(list)
    for node in nodes:
        by_op[node.op].append(node.name)
    return dict(by_op)


def signature_output_keys(saved_model_dir, signature_name):
    """Output tensor name (e.g. `"Identity_1:0"`) -> signature key (e.g. `"matte"`).

    The converter names an output by its key only when no other output has
    the same dtype and shape; `attention_map` and `matte`, both float32
    `(batch, H, W, 1)`, come out under their tensor names. The concrete
    function's outputs are its structured outputs flattened (keys sorted),
    and their names are those of the frozen graph the converter writes.

    Raises:
        ValueError: `signature_name` is not one of the SavedModel's.
    """
    import tensorflow as tf

    loaded = tf.saved_model.load(str(saved_model_dir))
    if signature_name not in loaded.signatures:
        raise ValueError(
            f"`signature_name` must be one of the SavedModel's signatures {sorted(loaded.signatures)}. "
            f"Received: signature_name={signature_name!r}"
        )
    function = loaded.signatures[signature_name]
    structured = function.structured_outputs
    keys = sorted(structured) if isinstance(structured, dict) else []
    return {tensor.name: key for tensor, key in zip(function.outputs, keys)}


def find_unsupported_ops(op_nodes, supported, strip_debug_ops=True):
    """`{op: nodes}` restricted to ops missing from `supported`."""
    allowed = set(supported) | (DEBUG_OPS if strip_debug_ops else set())
    return {op: sorted(nodes) for op, nodes in op_nodes.items() if op not in allowed}
