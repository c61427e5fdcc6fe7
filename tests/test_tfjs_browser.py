"""The web demo in headless Chromium: the page's output against the SavedModel.

Runs tests/browser/stylize.mjs (playwright-core driving Debian's Chromium)
against `make_server`, then runs the SavedModel in Python on the page's own
input tensors (so that JPEG decoding and canvas resampling play no part)
and compares. Tolerance as in test_tfjs_node.py (float32 wasm vs
TensorFlow kernels): mean |diff| < 2/255 and PSNR > 35 dB.

Skipped without Chromium (`apt-get install chromium`), `npm ci` in
web_demo/, or a converted model (see tests/browser/support.py).
"""

import importlib.util
import json
import pathlib
import subprocess
import threading

import numpy as np
import pytest

pytestmark = pytest.mark.tfjs

_spec = importlib.util.spec_from_file_location(
    "tfjs_test_support", pathlib.Path(__file__).parent / "browser" / "support.py")
support = importlib.util.module_from_spec(_spec)
_spec.loader.exec_module(support)

MEAN_ABS_TOLERANCE = support.MEAN_ABS_TOLERANCE
MIN_PSNR_DB = support.MIN_PSNR_DB
# Where the SavedModel's foreground-only matte is below 0.1 (background),
# the page's output must stay within 0.02 of the content on average, and at
# least 4 times closer to it than the default (restyled) output.
BACKGROUND_TOLERANCE = 0.02
TEST_SIZE = 96  # ?max_content and ?max_style: small images keep the test quick


@pytest.fixture(scope="module")
def tfjs_model(tmp_path_factory, tiny_model_path):
    reason = support.missing_browser()
    if reason:
        pytest.skip(reason)
    result = support.converted_model(tmp_path_factory, tiny_model_path)
    if isinstance(result, str):
        pytest.skip(result)
    return result


@pytest.fixture(scope="module")
def demo_url(tfjs_model):
    from tf_cbam_style.tfjs.server import make_server

    server = make_server(support.WEB_DEMO, port=0, model_dir=tfjs_model[0])
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    yield f"http://127.0.0.1:{server.server_address[1]}/"
    server.shutdown()
    server.server_close()


@pytest.fixture(scope="module")
def page_report(demo_url, tmp_path_factory):
    out = tmp_path_factory.mktemp("browser")
    screenshot = str(out / "screenshot.png")
    command = ["node", str(support.REPO / "tests" / "browser" / "stylize.mjs"),
               "--url", f"{demo_url}?max_content={TEST_SIZE}&max_style={TEST_SIZE}",
               "--out", str(out), "--screenshot", screenshot]
    result = subprocess.run(command, capture_output=True, text=True, timeout=900, check=False)
    assert result.returncode == 0, result.stderr[-3000:]
    report = json.loads((out / "report.json").read_text())
    report["dir"] = out
    return report


def _tensor(report, run, key):
    entry = report["runs"][run]
    shapes = {"content": entry["contentShape"], "style": entry["styleShape"],
              "stylized": entry["contentShape"], "attention": entry["contentShape"][:3] + [1]}
    return np.fromfile(report["dir"] / entry["files"][key], "<f4").reshape(shapes[key])


def _reference(saved_model, report, run):
    from tf_cbam_style.tfjs.fidelity import run_saved_model

    return run_saved_model(saved_model, _tensor(report, run, "content"), _tensor(report, run, "style"),
                           report["runs"][run]["options"])


@pytest.mark.browser
def test_page_loads_on_wasm_without_errors(page_report):
    assert page_report["backend"] == "wasm"  # headless Chromium only has SwiftShader
    assert "software WebGL" in page_report["backendDetail"] or "no WebGL" in page_report["backendDetail"]
    assert page_report["errors"] == []
    assert "not an image" in page_report["checks"]["nonImageNotice"]
    assert "Downscaled from 1600×1200" in page_report["checks"]["downscaleNotice"]
    assert page_report["checks"]["downloadHref"].startswith("data:image/png")
    assert pathlib.Path(page_report["screenshot"]).read_bytes()[:8] == b"\x89PNG\r\n\x1a\n"


@pytest.mark.browser
def test_page_output_matches_saved_model(page_report, tfjs_model):
    from tf_cbam_style.tfjs.fidelity import compare

    image, attention = _reference(tfjs_model[1], page_report, "default")
    stylized = _tensor(page_report, "default", "stylized")
    assert stylized.shape == image.shape
    assert max(stylized.shape[1:3]) == TEST_SIZE
    _, mean_diff, db = compare(image, stylized)
    assert mean_diff < MEAN_ABS_TOLERANCE
    assert db > MIN_PSNR_DB
    _, att_mean, _ = compare(attention, _tensor(page_report, "default", "attention"))
    assert att_mean < MEAN_ABS_TOLERANCE


@pytest.mark.browser
def test_foreground_only_keeps_the_background(page_report, tfjs_model):
    from tf_cbam_style.tfjs.fidelity import compare

    assert page_report["runs"]["foreground"]["options"]["foregroundOnly"] is True
    content = _tensor(page_report, "foreground", "content")
    page = _tensor(page_report, "foreground", "stylized")
    page_default = _tensor(page_report, "default", "stylized")
    image, _ = _reference(tfjs_model[1], page_report, "foreground")
    default, _ = _reference(tfjs_model[1], page_report, "default")
    _, mean_diff, db = compare(image, page)
    assert mean_diff < MEAN_ABS_TOLERANCE and db > MIN_PSNR_DB
    # The SavedModel's matte, per pixel: image = m * default + (1 - m) * content.
    change = default - content
    energy = np.sum(change**2, axis=-1)
    matte = np.sum((image - content) * change, axis=-1) / np.maximum(energy, 1e-8)
    background = (energy > 0.05**2) & (matte < 0.1)
    assert background.mean() > 0.02, "the SavedModel's matte left no background to check"
    kept = np.abs(page - content)[background].mean()
    restyled = np.abs(page_default - content)[background].mean()
    assert kept < BACKGROUND_TOLERANCE
    assert kept < 0.25 * restyled
