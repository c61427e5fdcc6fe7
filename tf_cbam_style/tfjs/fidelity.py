"""How closely the converted (and quantized) model matches the SavedModel."""

import collections
import json
import math

import numpy as np

FidelityReport = collections.namedtuple(
    "FidelityReport",
    ["quantization", "weight_bytes", "max_abs_diff", "mean_abs_diff", "psnr_db",
     "attention_max_abs_diff", "attention_mean_abs_diff", "node_seconds", "backend"],
)
FidelityReport.__doc__ = """One converted model against the SavedModel, on one image pair.

Attributes:
    quantization: `"none"`, `"float16"` or `"uint8"`.
    weight_bytes: the model's download size (weights).
    max_abs_diff, mean_abs_diff: of the stylized images, RGB in [0, 1].
    psnr_db: PSNR of the TF.js image against the SavedModel's (peak 1.0;
        `inf` when identical).
    attention_max_abs_diff, attention_mean_abs_diff: of the attention maps.
    node_seconds: the warm Node.js run time (the last repeat).
    backend: the TF.js backend used.
"""

# The page's option names -> the SavedModel's input names.
_OPTION_INPUTS = {
    "alpha": ("alpha", np.float32),
    "strokeScales": ("stroke_scales", np.float32),
    "numRegions": ("num_regions", np.int32),
    "preserveColor": ("preserve_color", np.bool_),
    "foregroundOnly": ("foreground_only", np.bool_),
}
DEFAULT_OPTIONS = {
    "alpha": 1.0, "strokeScales": [0.5, 0.7071, 1.0], "numRegions": 4,
    "preserveColor": False, "foregroundOnly": False,
}


def psnr(a, b, peak=1.0):
    """Peak signal-to-noise ratio in dB (`inf` for identical arrays)."""
    mse = float(np.mean((np.asarray(a, np.float64) - np.asarray(b, np.float64)) ** 2))
    return math.inf if mse == 0.0 else 10.0 * math.log10(peak * peak / mse)


def run_saved_model(saved_model_dir, content, style, options=None, signature_name="stylize_with_options"):
    """The SavedModel's `(stylized_image, attention_map)` for page-style options."""
    import tensorflow as tf

    from tf_cbam_style.tfjs.convert import resolve_saved_model_dir

    options = {**DEFAULT_OPTIONS, **(options or {})}
    unknown = sorted(set(options) - set(_OPTION_INPUTS))
    if unknown:
        raise ValueError(f"`options` has unknown keys. Received: options keys {unknown}")
    loaded = tf.saved_model.load(str(resolve_saved_model_dir(saved_model_dir)))
    function = loaded.signatures[signature_name]
    content = np.asarray(content, np.float32)
    style = np.asarray(style, np.float32)
    inputs = {
        "content_image": tf.constant(content[None] if content.ndim == 3 else content),
        "style_image": tf.constant(style[None] if style.ndim == 3 else style),
        "mask": tf.constant(-np.ones((1, 1, 1, 1), np.float32)),
    }
    for key, (name, dtype) in _OPTION_INPUTS.items():
        inputs[name] = tf.constant(np.asarray(options[key], dtype))
    outputs = function(**inputs)
    return outputs["stylized_image"].numpy(), outputs["attention_map"].numpy()


def compare(reference, candidate):
    """`(max_abs_diff, mean_abs_diff, psnr_db)` of two image arrays."""
    diff = np.abs(np.asarray(reference, np.float64) - np.asarray(candidate, np.float64))
    return float(diff.max()), float(diff.mean()), psnr(reference, candidate)


def measure_fidelity(saved_model_dir, model_dirs, content, style, options=None, backend="wasm", repeat=2):
    """Runs each converted model in Node.js and compares it with the SavedModel.

    Args:
        saved_model_dir: the SavedModel the models were converted from.
        model_dirs: dict of quantization name -> converted model folder.
        content, style: float32 RGB images in [0, 1].
        options: page-style options (see `tf_cbam_style.tfjs.node`).
        backend: TF.js backend, `"wasm"` or `"cpu"`.
        repeat: Node.js runs per model; the last one is timed warm.

    Returns:
        A list of `FidelityReport`, one per entry of `model_dirs`.
    """
    from tf_cbam_style.tfjs.node import run_graph_model

    image, attention = run_saved_model(saved_model_dir, content, style, options)
    reports = []
    for quantization, model_dir in model_dirs.items():
        with open(f"{model_dir}/conversion.json", encoding="utf-8") as f:
            weight_bytes = json.load(f)["weight_bytes"]
        run = run_graph_model(model_dir, content, style, options, backend=backend, repeat=repeat)
        max_diff, mean_diff, db = compare(image, run.stylized_image)
        att_max, att_mean, _ = compare(attention, run.attention_map)
        reports.append(FidelityReport(
            quantization, weight_bytes, max_diff, mean_diff, db, att_max, att_mean,
            float(run.seconds[-1]), run.backend,
        ))
    return reports


def write_report(path, reports, content_shape, style_shape, samples=None):
    """Writes `reports` as JSON (`psnr_db` of identical images as `null`)."""
    entries = []
    for report in reports:
        entry = report._asdict()
        entry["psnr_db"] = None if math.isinf(entry["psnr_db"]) else round(entry["psnr_db"], 2)
        entries.append(entry)
    document = {
        "content_shape": list(content_shape),
        "style_shape": list(style_shape),
        "samples": samples,
        "reports": entries,
    }
    with open(path, "w", encoding="utf-8") as f:
        json.dump(document, f, indent=2)
    return path
