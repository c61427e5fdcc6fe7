"""The converted TF.js model, run in Node.js (wasm backend), against the SavedModel.

Tolerance: both sides compute in float32 but with different kernels
(XNNPACK in wasm, Eigen/oneDNN in TensorFlow) and summation orders. The
whitening runs 20 Newton-Schulz matrix products, which amplify rounding to
about 1e-4, and the style swap takes an argmax over patch correlations, so a
near-tie can pick a different patch and change a few pixels by much more.
So the check bounds the mean difference and the PSNR, not the maximum:
a mean below 2/255 and a PSNR above 35 dB is far below what anyone sees,
while a wrong option, input order or kernel is off by 10-30 dB.
"""

import importlib.util
import json
import math
import pathlib

import pytest

pytestmark = pytest.mark.tfjs

_spec = importlib.util.spec_from_file_location(
    "tfjs_test_support", pathlib.Path(__file__).parent / "browser" / "support.py")
support = importlib.util.module_from_spec(_spec)
_spec.loader.exec_module(support)

MEAN_ABS_TOLERANCE = support.MEAN_ABS_TOLERANCE
MIN_PSNR_DB = support.MIN_PSNR_DB


@pytest.fixture(scope="module")
def tfjs_model(tmp_path_factory, tiny_model_path):
    reason = support.missing_node_modules()
    if reason:
        pytest.skip(reason)
    result = support.converted_model(tmp_path_factory, tiny_model_path)
    if isinstance(result, str):
        pytest.skip(result)
    return result


@pytest.mark.parametrize(
    "options",
    [
        {},
        {"alpha": 0.7, "strokeScales": [1.0, 0.5], "numRegions": 3, "preserveColor": True,
         "foregroundOnly": True},
    ],
    ids=["defaults", "all-options"],
)
def test_node_wasm_matches_saved_model(tfjs_model, options):
    from tf_cbam_style.tfjs.fidelity import compare, run_saved_model
    from tf_cbam_style.tfjs.node import run_graph_model

    model_dir, saved_model = tfjs_model
    content = support.sample("content_bird.jpg", 64)
    style = support.sample("style_candy.jpg", 48)
    image, attention = run_saved_model(saved_model, content, style, options)
    run = run_graph_model(model_dir, content, style, options)
    assert run.backend == "wasm"
    assert run.stylized_image.shape == image.shape == (1, 64, 64, 3)
    assert run.attention_map.shape == attention.shape == (1, 64, 64, 1)
    _, mean_diff, db = compare(image, run.stylized_image)
    assert mean_diff < MEAN_ABS_TOLERANCE
    assert db > MIN_PSNR_DB
    _, att_mean, _ = compare(attention, run.attention_map)
    assert att_mean < MEAN_ABS_TOLERANCE


def test_fidelity_report(tfjs_model, tmp_path):
    from tf_cbam_style.tfjs.fidelity import measure_fidelity, write_report

    model_dir, saved_model = tfjs_model
    content = support.sample("content_sailboat.jpg", 48)
    style = support.sample("style_la_muse.jpg", 48)
    reports = measure_fidelity(saved_model, {"none": str(model_dir)}, content, style, repeat=1)
    path = write_report(str(tmp_path / "fidelity.json"), reports, content.shape, style.shape)
    document = json.loads(pathlib.Path(path).read_text())
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
