"""How closely the converted (and quantized) model matches the SavedModel."""

import collections
import dataclasses
import functools
import json
import math
import re

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


def stylize_options(options=None):
    """Page-style options (the camelCase keys of `options.json`, e.g.
    `{"numRegions": 3, "region": "foreground"}`) -> a checked
    `tf_cbam_style.options.StylizeOptions`; missing keys take the defaults.

    Raises:
        ValueError: for a key that is not a knob, or a bad value.
    """
    from tf_cbam_style.options import StylizeOptions

    fields = {f.name for f in dataclasses.fields(StylizeOptions)} - {"method"}
    changes = {}
    for key, value in (options or {}).items():
        name = re.sub(r"(?<!^)(?=[A-Z])", "_", key).lower()
        if name not in fields:
            raise ValueError(f"`options` has an unknown key. Received: options key {key!r}")
        changes[name] = tuple(value) if name == "stroke_scales" else value
    return StylizeOptions(**changes)


@functools.lru_cache(maxsize=2)
def _load(saved_model_dir):
    import tensorflow as tf

    return tf.saved_model.load(saved_model_dir)


def run_saved_model(saved_model_dir, content, style, options=None, mask=None,
                    signature_name="stylize_with_options"):
    """The SavedModel's `(stylized_image, attention_map)` for page-style options.

    Args:
        saved_model_dir: a SavedModel folder or an export base.
        content, style: float32 RGB `(H, W, 3)` or `(1, H, W, 3)` in [0, 1].
        options: page-style options (see `stylize_options`).
        mask: optional float32 `(1, h, w, 1)` mask in [0, 1].
        signature_name: the signature to call.

    Returns:
        numpy `(1, H, W, 3)` and `(1, H, W, 1)` arrays.
    """
    import tensorflow as tf

    from tf_cbam_style.options import SIGNATURE_INPUTS, option_inputs
    from tf_cbam_style.tfjs.convert import resolve_saved_model_dir

    inputs = {
        "content_image": np.asarray(content, np.float32),
        "style_image": np.asarray(style, np.float32),
        **option_inputs(stylize_options(options), mask),
    }
    inputs = {k: v[None] if k.endswith("_image") and v.ndim == 3 else v for k, v in inputs.items()}
    names = [spec.name for spec in SIGNATURE_INPUTS[signature_name]]
    loaded = _load(str(resolve_saved_model_dir(saved_model_dir).resolve()))
    outputs = loaded.signatures[signature_name](**{name: tf.constant(inputs[name]) for name in names})
    return outputs["stylized_image"].numpy(), outputs["attention_map"].numpy()


def psnr(a, b, peak=1.0):
    """Peak signal-to-noise ratio in dB (`inf` for identical arrays)."""
    mse = float(np.mean((np.asarray(a, np.float64) - np.asarray(b, np.float64)) ** 2))
    return math.inf if mse == 0.0 else 10.0 * math.log10(peak * peak / mse)


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
        options: page-style options (see `stylize_options`).
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


def write_report(path, reports, content_shape, style_shape, samples=None, saved_model_dir=None):
    """Writes `reports` as JSON (`psnr_db` of identical images as `null`).

    With `saved_model_dir`, the document also records that SavedModel (as in
    `conversion.json`: its path and `saved_model_digest`), so that figures
    quoted from the report can be traced to the model they measured.
    """
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
    if saved_model_dir is not None:
        from tf_cbam_style.tfjs.convert import saved_model_digest, source_path

        document["saved_model_dir"] = source_path(saved_model_dir)
        document["saved_model_sha256"] = saved_model_digest(saved_model_dir)
    with open(path, "w", encoding="utf-8") as f:
        json.dump(document, f, indent=2)
        f.write("\n")
    return path
