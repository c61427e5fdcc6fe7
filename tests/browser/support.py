"""Shared by tests/test_tfjs_*.py: what the TF.js tests need, or why they skip.

Imported as `from browser import support` (pytest puts tests/ on the path);
it has no pytest fixtures of its own: the test modules wrap these functions.
"""

import pathlib
import shutil

REPO = pathlib.Path(__file__).resolve().parent.parent.parent
WEB_DEMO = REPO / "web_demo"
CHROMIUM = pathlib.Path("/usr/bin/chromium")
# The committed TF.js model and the committed SavedModel it must match
# (tools/regenerate_web_demo.sh makes the one from the other).
COMMITTED_MODEL = WEB_DEMO / "model"
COMMITTED_SAVED_MODEL = "saved_models/cbam_relu4_1/1"
COMMITTED_QUANTIZATION = "float16"
REGENERATE = "tools/regenerate_web_demo.sh"

# TF.js (wasm) against the Python SavedModel on the same inputs. Both compute
# in float32, but the kernels (XNNPACK, Eigen/oneDNN) sum in different
# orders, the 20-step Newton-Schulz whitening amplifies that to about 1e-4,
# and the style swap's argmax can flip at near-ties, changing a few pixels
# by much more; so the mean is bounded rather than the maximum (measured on
# bird/candy at 256 px: max 0.0011, mean 3e-5, 84 dB; web_demo/fidelity.json).
# The committed model has float16 weights (relative rounding 2^-11 per
# weight): measured max 0.069, mean 0.0011, 50.9 dB on the same pair, still
# well inside these bounds, while a wrong option, input order or kernel is
# off by 10-30 dB.
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
    return None


def committed_model_problem(model_dir=COMMITTED_MODEL, saved_model=COMMITTED_SAVED_MODEL):
    """Why `model_dir` (default `web_demo/model`) is not the float16
    conversion of the committed SavedModel `saved_model`, or None.

    Checks what `conversion.json` records: the source folder, the digest of
    its graph and weights (`saved_model_digest`) and the quantization.
    """
    from tf_cbam_style.tfjs.convert import read_conversion, saved_model_digest

    fix = f"run {REGENERATE} and commit its output"
    name = pathlib.Path(model_dir).relative_to(REPO).as_posix()
    if not (model_dir / "model.json").is_file():
        return f"{name}/model.json is missing: {fix}"
    info = read_conversion(model_dir)
    if info["saved_model_dir"] != REPO / saved_model:
        return f"{name} was converted from {info['saved_model_dir']}, not {saved_model}: {fix}"
    if info.get("quantization") != COMMITTED_QUANTIZATION:
        return f"{name} has quantization {info.get('quantization')!r}, not float16: {fix}"
    digest = saved_model_digest(REPO / saved_model)
    if info.get("saved_model_sha256") != digest:
        return (f"{saved_model} changed since {name} was converted "
                f"(sha256 {digest[:12]}..., recorded {str(info.get('saved_model_sha256'))[:12]}...): {fix}")
    return None


def menu_models():
    """The entries of web_demo/models.json (the page's Model menu), each with
    `dir` (its converted model folder) and `saved_model` (the committed
    SavedModel it must be the conversion of, `saved_models/<name>/1`)."""
    import json

    entries = json.loads((WEB_DEMO / "models.json").read_text())["models"]
    for entry in entries:
        entry["dir"] = (WEB_DEMO / entry["url"]).parent
        entry["saved_model"] = f"saved_models/{entry['name']}/1"
    return entries


def tiny_converted_model(tmp_path_factory, tiny_model_path):
    """`(model_dir, saved_model_dir)` of the test suite's tiny untrained model,
    exported and converted (float32) once per session, or a skip reason (str)."""
    from tf_cbam_style.tfjs.venv import is_ready

    if not is_ready():
        return ("the TF.js converter virtualenv is missing: run `tf-cbam-style export tfjs SAVED_MODEL` "
                "once (it creates it) or set TF_CBAM_STYLE_TFJS_VENV")
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


def node_model_or_skip(tmp_path_factory, tiny_model_path):
    """`tiny_converted_model`'s `(model_dir, saved_model_dir)` for the Node.js
    runner, or `pytest.skip` with the reason (no `npm ci`, no converter)."""
    import pytest

    reason = missing_node_modules()
    if reason:
        pytest.skip(reason)
    result = tiny_converted_model(tmp_path_factory, tiny_model_path)
    if isinstance(result, str):
        pytest.skip(result)
    return result


def page_model(tmp_path_factory, tiny_model_path):
    """The model the browser tests serve: the committed one when it matches
    the committed SavedModel (what visitors get), else the tiny one.

    Returns `(model_dir, saved_model_dir)` or a skip reason (str).
    """
    if committed_model_problem() is None:
        return COMMITTED_MODEL, REPO / COMMITTED_SAVED_MODEL
    return tiny_converted_model(tmp_path_factory, tiny_model_path)


def sample(name, size):
    """A bundled sample as float32 `(h, w, 3)`, longer side `size`."""
    from tf_cbam_style.io import fit_max_size, load_image

    return fit_max_size(load_image(str(WEB_DEMO / "samples" / name)), size).image
