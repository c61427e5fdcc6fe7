"""The converted TF.js model, run in Node.js (wasm backend), against the SavedModel.

Tolerance (tests/browser/support.py): both sides compute in float32 but with
different kernels (XNNPACK in wasm, Eigen/oneDNN in TensorFlow) and
summation orders. The whitening runs 20 Newton-Schulz matrix products, which
amplify rounding to about 1e-4, and the style swap takes an argmax over patch
correlations, so a near-tie can pick a different patch and change a few
pixels by much more. So the check bounds the mean difference and the PSNR,
not the maximum: a mean below 2/255 and a PSNR above 35 dB is far below what
anyone sees, while a wrong option, input order or kernel is off by 10-30 dB.
The committed model's float16 weights add rounding well inside these bounds.

Two models are checked: the test suite's tiny model, exported and converted
afresh (so the exporter and converter of this checkout are tested), and the
committed `web_demo/model` against the committed SavedModel it records (so
the two never drift apart; a mismatch fails, naming the script that fixes it).
"""

import json
import math
import pathlib
import shutil
import subprocess

import numpy as np
import pytest
from browser import support  # tests/browser/support.py

pytestmark = pytest.mark.tfjs


MEAN_ABS_TOLERANCE = support.MEAN_ABS_TOLERANCE
MIN_PSNR_DB = support.MIN_PSNR_DB
OPTION_SETS = {
    "defaults": {},
    "foreground": {"alpha": 0.7, "strokeScales": [1.0, 0.5], "numRegions": 3, "preserveColor": True,
                   "region": "foreground"},
    "background": {"numRegions": 2, "region": "background"},
}


@pytest.fixture(scope="module")
def tfjs_model(tmp_path_factory, tiny_model_path):
    return support.node_model_or_skip(tmp_path_factory, tiny_model_path)


def _check_close(saved_model, model_dir, content, style, options, mask=None):
    from tf_cbam_style.tfjs.fidelity import compare, run_saved_model
    from tf_cbam_style.tfjs.node import run_graph_model

    image, attention = run_saved_model(saved_model, content, style, options, mask=mask)
    run = run_graph_model(model_dir, content, style, options, mask=mask)
    assert run.backend == "wasm"
    assert run.stylized_image.shape == image.shape == (1, *content.shape[:2], 3)
    assert run.attention_map.shape == attention.shape == (1, *content.shape[:2], 1)
    _, mean_diff, db = compare(image, run.stylized_image)
    assert mean_diff < MEAN_ABS_TOLERANCE
    assert db > MIN_PSNR_DB
    _, att_mean, _ = compare(attention, run.attention_map)
    assert att_mean < MEAN_ABS_TOLERANCE
    return image, run


@pytest.mark.parametrize("options", OPTION_SETS.values(), ids=OPTION_SETS.keys())
def test_node_wasm_matches_saved_model(tfjs_model, options):
    model_dir, saved_model = tfjs_model
    _check_close(saved_model, model_dir, support.sample("content_bird.jpg", 64),
                 support.sample("style_candy.jpg", 48), options)


def test_user_mask_replaces_the_attention_in_node(tfjs_model):
    model_dir, saved_model = tfjs_model
    content = support.sample("content_bird.jpg", 64)
    mask = np.zeros((1, 64, 64, 1), np.float32)
    mask[:, :, 32:] = 1.0  # right half is the "object"
    image, run = _check_close(saved_model, model_dir, content, support.sample("style_candy.jpg", 48),
                              {"region": "foreground"}, mask=mask)
    # The left half is background by the mask: it stays the photo.
    assert np.abs(run.stylized_image[0, :, :24] - content[:, :24]).mean() < 0.01
    assert np.abs(image[0, :, :24] - content[:, :24]).mean() < 0.01


def test_converted_signature_and_options_json(tfjs_model):
    from tf_cbam_style.options import (SIGNATURE_EXTRA_OUTPUTS, SIGNATURE_INPUTS, SIGNATURE_OPTIONS,
                                       SIGNATURE_OUTPUTS)
    from tf_cbam_style.tfjs.page import page_options

    model_dir, _ = tfjs_model
    manifest = json.loads((pathlib.Path(model_dir) / "model.json").read_text())
    dtypes = {"DT_FLOAT": "float32", "DT_INT32": "int32", "DT_BOOL": "bool"}
    inputs = {key.split(":")[0]: dtypes[value["dtype"]] for key, value in manifest["signature"]["inputs"].items()}
    assert inputs == {spec.name: spec.dtype for spec in SIGNATURE_INPUTS[SIGNATURE_OPTIONS]}
    # Outputs keyed by the signature's names (rewrite.rename_signature_outputs), matte included.
    outputs = set(manifest["signature"]["outputs"])
    assert outputs == set(SIGNATURE_OUTPUTS[SIGNATURE_OPTIONS]) | set(SIGNATURE_EXTRA_OUTPUTS[SIGNATURE_OPTIONS])
    assert json.loads((pathlib.Path(model_dir) / "options.json").read_text()) == page_options()


def test_fidelity_report(tfjs_model, tmp_path):
    from tf_cbam_style.tfjs.convert import saved_model_digest
    from tf_cbam_style.tfjs.fidelity import measure_fidelity, write_report

    model_dir, saved_model = tfjs_model
    content = support.sample("content_sailboat.jpg", 48)
    style = support.sample("style_la_muse.jpg", 48)
    reports = measure_fidelity(saved_model, {"none": str(model_dir)}, content, style, repeat=1)
    path = write_report(str(tmp_path / "fidelity.json"), reports, content.shape, style.shape,
                        saved_model_dir=saved_model)
    document = json.loads(pathlib.Path(path).read_text())
    assert document["saved_model_sha256"] == saved_model_digest(saved_model)
    entry = document["reports"][0]
    assert entry["quantization"] == "none"
    assert entry["weight_bytes"] > 0
    assert entry["backend"] == "wasm"
    assert entry["psnr_db"] is None or entry["psnr_db"] > MIN_PSNR_DB
    assert math.isfinite(entry["mean_abs_diff"]) and entry["mean_abs_diff"] < MEAN_ABS_TOLERANCE


def test_weight_shards_respect_the_limit(tfjs_model):
    model_dir, _ = tfjs_model
    manifest = json.loads((pathlib.Path(model_dir) / "model.json").read_text())
    shards = [pathlib.Path(model_dir) / p for group in manifest["weightsManifest"] for p in group["paths"]]
    assert shards and all(p.stat().st_size <= 4 * 1024 * 1024 for p in shards)
    ops = {node["op"] for node in manifest["modelTopology"]["node"]}
    # Fused nodes whose bias is not a vector fail on the wasm backend.
    consts = {n["name"] for n in manifest["modelTopology"]["node"] if n["op"] == "Const"}
    for node in manifest["modelTopology"]["node"]:
        if node["op"] in ("_FusedMatMul", "_FusedConv2D"):
            assert node["input"][2].split(":")[0] in consts
    assert {"Placeholder", "Conv2D"} <= ops or {"Placeholder", "_FusedConv2D"} <= ops


# ---------------------------------------------------------------------------
# The committed model (web_demo/model) against the committed SavedModel
# ---------------------------------------------------------------------------


@pytest.fixture(scope="module")
def committed_model():
    reason = support.missing_node_modules()
    if reason:
        pytest.skip(reason)
    problem = support.committed_model_problem()
    assert problem is None, problem
    return support.COMMITTED_MODEL, support.REPO / support.COMMITTED_SAVED_MODEL


@pytest.mark.parametrize("options", [OPTION_SETS["defaults"], OPTION_SETS["background"]],
                         ids=["defaults", "background"])
def test_committed_model_matches_committed_saved_model(committed_model, options):
    model_dir, saved_model = committed_model
    _check_close(saved_model, model_dir, support.sample("content_bird.jpg", 96),
                 support.sample("style_candy.jpg", 96), options)


# ---------------------------------------------------------------------------
# web_demo/js/stylizer.js's option checks (Node.js only, no model)
# ---------------------------------------------------------------------------


def _resolve_in_node(options):
    from tf_cbam_style.tfjs.page import page_options

    node = shutil.which("node")
    if node is None:
        pytest.skip("node is not installed")
    script = (
        "import { resolveOptions } from './js/stylizer.js';\n"
        "const [config, options] = JSON.parse(process.argv[1]);\n"
        "try { console.log(JSON.stringify(resolveOptions(config, options))); }\n"
        "catch (error) { console.log(JSON.stringify({ error: error.message })); }\n"
    )
    out = subprocess.run([node, "--input-type=module", "-e", script, json.dumps([page_options(), options])],
                         cwd=support.WEB_DEMO, capture_output=True, text=True, check=True)
    return json.loads(out.stdout)


def test_stylizer_defaults_come_from_options_json():
    from tf_cbam_style.options import web_demo_options

    expected = web_demo_options()
    resolved = _resolve_in_node({"region": "background"})
    assert resolved == {"alpha": expected["alpha"], "strokeScales": expected["strokeScales"],
                        "numRegions": expected["numRegions"], "preserveColor": expected["preserveColor"],
                        "region": "background", "colorTransfer": expected["colorTransfer"]}


@pytest.mark.parametrize(
    "options, message",
    [
        ({"region": "sky"}, "Received: region=sky"),
        ({"alpha": 1.5}, "Received: alpha=1.5"),
        ({"numRegions": 17}, "Received: numRegions=17"),
        ({"strokeScales": []}, "Received: strokeScales="),
        ({"foregroundOnly": True}, "Received: foregroundOnly"),
        ({"colorTransfer": -0.1}, "Received: colorTransfer=-0.1"),
        ({"colorTransfer": "1"}, "Received: colorTransfer=1"),
    ],
)
def test_stylizer_refuses_bad_options(options, message):
    assert message in _resolve_in_node(options)["error"]
