"""Shared by tests/test_tfjs_*.py: what the TF.js tests need, or why they skip.

Loaded by path (tests/ has no conftest hook for it), so it has no pytest
fixtures of its own; the test modules wrap these functions.
"""

import json
import pathlib
import shutil

REPO = pathlib.Path(__file__).resolve().parent.parent.parent
WEB_DEMO = REPO / "web_demo"
CHROMIUM = pathlib.Path("/usr/bin/chromium")

# TF.js (wasm) against the Python SavedModel on the same inputs: kernels and
# summation order differ, and the style swap's argmax can flip at near-ties,
# so the mean is bounded rather than the maximum (measured: max 0.0011,
# mean 3e-5, 84 dB; docs/web_demo.md).
MEAN_ABS_TOLERANCE = 2.0 / 255.0
MIN_PSNR_DB = 35.0


def missing_node_modules():
    """A skip reason, or None when node and `npm ci` in web_demo/ are there."""
    if shutil.which("node") is None:
        return "node is not installed"
    if not (WEB_DEMO / "node_modules" / "@tensorflow" / "tfjs-backend-wasm").is_dir():
        return "run `npm ci` in web_demo/ for the TF.js packages"
    return None


def missing_browser():
    """A skip reason, or None when Chromium and playwright-core are there."""
    reason = missing_node_modules()
    if reason:
        return reason
    if not CHROMIUM.is_file():
        return "Chromium is not installed (apt-get install chromium)"
    if not (WEB_DEMO / "node_modules" / "playwright-core").is_dir():
        return "run `npm ci` in web_demo/ for playwright-core"
    if not (WEB_DEMO / "vendor" / "tf-core.min.js").is_file():
        return "run `npm ci` in web_demo/ (it vendors TF.js into web_demo/vendor/)"
    return None


def converted_model(tmp_path_factory, tiny_model_path):
    """`(model_dir, saved_model_dir)` of a float32 TF.js model, or a skip reason (str).

    Uses `web_demo/model` when it was converted without quantization from a
    SavedModel that still exists; otherwise converts the session's tiny
    model once (needs the converter virtualenv, see `tf-cbam-style export tfjs`).
    """
    info_path = WEB_DEMO / "model" / "conversion.json"
    if info_path.is_file():
        info = json.loads(info_path.read_text())
        if info.get("quantization") == "none" and pathlib.Path(info["saved_model_dir"]).is_dir():
            return WEB_DEMO / "model", pathlib.Path(info["saved_model_dir"])
    from tf_cbam_style.tfjs.venv import is_ready

    if not is_ready():
        return ("no converted model: run `tf-cbam-style export tfjs SAVED_MODEL` (it creates the "
                "converter virtualenv) or set TF_CBAM_STYLE_TFJS_VENV")
    base = tmp_path_factory.getbasetemp() / "tfjs_tiny"
    model_dir, saved_model = base / "model", base / "saved_model" / "1"
    if not (model_dir / "model.json").is_file():
        from tf_cbam_style.api import load_model
        from tf_cbam_style.export import export_saved_model
        from tf_cbam_style.tfjs.convert import convert_saved_model

        export_saved_model(load_model(tiny_model_path), str(base / "saved_model"), warmup=False,
                           overwrite=True)
        convert_saved_model(saved_model, model_dir)
    return model_dir, saved_model


def sample(name, size):
    """A bundled sample as float32 `(h, w, 3)`, longer side `size`."""
    from tf_cbam_style.io import fit_max_size, load_image

    return fit_max_size(load_image(str(WEB_DEMO / "samples" / name)), size).image
