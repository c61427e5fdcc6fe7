"""The web demo in headless Chromium: the page's output against the SavedModel.

Runs tests/browser/stylize.mjs (playwright-core driving Debian's Chromium)
against `make_server`, then runs the SavedModel in Python on the page's own
input tensors (so that JPEG decoding and canvas resampling play no part)
and compares. Tolerance as in test_tfjs_node.py (float32 wasm vs
TensorFlow kernels): mean |diff| < 2/255 and PSNR > 35 dB.

It serves the committed web_demo/model when it matches the committed
SavedModel (what visitors get), else the test suite's tiny model converted
afresh. Skipped without Chromium (`apt-get install chromium`), `npm ci` in
web_demo/, or any model (see tests/browser/support.py).
"""

import json
import pathlib
import subprocess
import threading

import numpy as np
import pytest
from browser import support  # tests/browser/support.py

pytestmark = pytest.mark.tfjs


MEAN_ABS_TOLERANCE = support.MEAN_ABS_TOLERANCE
MIN_PSNR_DB = support.MIN_PSNR_DB
# Where the SavedModel's matte (estimated from its foreground-only output)
# says background (below 0.1), the page's foreground-only output must stay
# within 0.02 of the content on average, and at least 4 times closer to it
# than the default (restyled) output; where it says object (above 0.9), the
# background-only output must do the same.
KEPT_TOLERANCE = 0.02
TEST_SIZE = 96  # ?max_content and ?max_style: small images keep the test quick


@pytest.fixture(scope="module")
def tfjs_model(tmp_path_factory, tiny_model_path):
    reason = support.missing_browser()
    if reason:
        pytest.skip(reason)
    result = support.page_model(tmp_path_factory, tiny_model_path)
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


def _drive_page(url, out, screenshot=None):
    """Runs tests/browser/stylize.mjs on `url` into `out`; its report.json, with `dir`."""
    command = ["node", str(support.REPO / "tests" / "browser" / "stylize.mjs"), "--url", url, "--out", str(out)]
    if screenshot:
        command += ["--screenshot", screenshot]
    result = subprocess.run(command, capture_output=True, text=True, timeout=900, check=False)
    assert result.returncode == 0, result.stderr[-3000:]
    report = json.loads((out / "report.json").read_text())
    report["dir"] = out
    return report


@pytest.fixture(scope="module")
def page_report(demo_url, tmp_path_factory):
    out = tmp_path_factory.mktemp("browser")
    return _drive_page(f"{demo_url}?max_content={TEST_SIZE}&max_style={TEST_SIZE}", out,
                       screenshot=str(out / "screenshot.png"))


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
def test_model_menu_lists_models_json_with_the_default_selected(page_report):
    menu = page_report["modelMenu"]
    entries = support.menu_models()
    assert [(o["name"], o["url"]) for o in menu["options"]] == [(e["name"], e["url"]) for e in entries]
    assert [o["selected"] for o in menu["options"]] == [True] + [False] * (len(entries) - 1)
    assert menu["model"]["name"] == "cbam_relu4_1" and menu["model"]["url"].endswith("/model/model.json")
    assert not menu["disabled"]


@pytest.fixture(scope="module")
def other_depth_report(demo_url, tmp_path_factory):
    """The page opened with ?model= the menu's second entry (another encoder
    depth, served from web_demo/ by the same server) and its three runs,
    with that entry; skipped when its committed conversion does not match
    its SavedModel."""
    entry = support.menu_models()[1]
    problem = support.committed_model_problem(entry["dir"], entry["saved_model"])
    if problem:
        pytest.skip(problem)
    url = f"{demo_url}?model={entry['url']}&max_content={TEST_SIZE}&max_style={TEST_SIZE}"
    return _drive_page(url, tmp_path_factory.mktemp("browser_depth")), entry


def _assert_default_run_matches(saved_model, report):
    """The page's default run against `saved_model` on the page's own input tensors."""
    from tf_cbam_style.tfjs.fidelity import compare

    image, attention = _reference(saved_model, report, "default")
    stylized = _tensor(report, "default", "stylized")
    assert stylized.shape == image.shape
    assert max(stylized.shape[1:3]) == TEST_SIZE
    _, mean_diff, db = compare(image, stylized)
    assert mean_diff < MEAN_ABS_TOLERANCE
    assert db > MIN_PSNR_DB
    _, att_mean, _ = compare(attention, _tensor(report, "default", "attention"))
    assert att_mean < MEAN_ABS_TOLERANCE


@pytest.mark.browser
def test_model_menu_runs_the_other_depth_like_its_saved_model(other_depth_report):
    report, entry = other_depth_report
    assert report["errors"] == []
    assert report["modelMenu"]["model"]["name"] == entry["name"]
    assert [o["selected"] for o in report["modelMenu"]["options"]][1]
    _assert_default_run_matches(support.REPO / entry["saved_model"], report)


@pytest.mark.browser
def test_page_output_matches_saved_model(page_report, tfjs_model):
    _assert_default_run_matches(tfjs_model[1], page_report)


def _matte(saved_model, report):
    """The SavedModel's matte per pixel, from its foreground-only and default
    outputs (foreground = m * default + (1 - m) * content), where the default
    run changes the pixel enough to tell; NaN elsewhere."""
    content = _tensor(report, "foreground", "content")
    foreground, _ = _reference(saved_model, report, "foreground")
    default, _ = _reference(saved_model, report, "default")
    change = default - content
    energy = np.sum(change**2, axis=-1)
    matte = np.sum((foreground - content) * change, axis=-1) / np.maximum(energy, 1e-8)
    return np.where(energy > 0.05**2, matte, np.nan)


@pytest.mark.browser
def test_page_defaults_are_options_py(page_report):
    from tf_cbam_style.options import web_demo_options
    from tf_cbam_style.tfjs.page import page_options

    expected = web_demo_options()
    assert page_report["config"] == page_options()
    defaults = dict(page_report["pageDefaults"])
    # The check boxes list the scales fine to coarse; their order does not matter.
    assert sorted(defaults.pop("strokeScales")) == sorted(expected["strokeScales"])
    assert defaults == {key: expected[key] for key in ("alpha", "numRegions", "preserveColor", "region",
                                                        "colorTransfer")}
    controls = page_report["controls"]
    assert (controls["alphaMin"], controls["alphaMax"]) == (0, 1)
    assert (controls["numRegionsMin"], controls["numRegionsMax"]) == (1, expected["maxNumRegions"])
    assert controls["regionChoices"] == expected["regions"]
    assert set(expected["strokeScales"]) <= set(controls["strokeChoices"])
    assert f"at least {expected['minImageSize']} px" in page_report["checks"]["tooSmallNotice"]


@pytest.mark.browser
@pytest.mark.parametrize("run, kept_where", [("foreground", "background"), ("background", "object")])
def test_region_modes_keep_the_other_part(page_report, tfjs_model, run, kept_where):
    from tf_cbam_style.tfjs.fidelity import compare

    assert page_report["runs"][run]["options"]["region"] == run
    content = _tensor(page_report, run, "content")
    page = _tensor(page_report, run, "stylized")
    page_default = _tensor(page_report, "default", "stylized")
    image, _ = _reference(tfjs_model[1], page_report, run)
    _, mean_diff, db = compare(image, page)
    assert mean_diff < MEAN_ABS_TOLERANCE and db > MIN_PSNR_DB
    matte = _matte(tfjs_model[1], page_report)
    with np.errstate(invalid="ignore"):
        kept = matte < 0.1 if kept_where == "background" else matte > 0.9
    assert kept.mean() > 0.02, f"the SavedModel's matte left no {kept_where} to check"
    distance = np.abs(page - content)[kept].mean()
    restyled = np.abs(page_default - content)[kept].mean()
    assert distance < KEPT_TOLERANCE
    assert distance < 0.25 * restyled


# ---------------------------------------------------------------------------
# "Full resolution": an upload larger than the page limit, stylized in tiles
# ---------------------------------------------------------------------------

# The page limit and tile side lowered (?max_content, ?tile_size) so that a
# small upload takes a dozen tiles: the test suite's model is full VGG19
# size, about 3.6 s per 64-px tile on wasm on one core here, so a
# multi-megapixel upload would take many minutes.
TILED_LIMIT = 64
TILED_UPLOAD = (128, 192)  # height, width: 3 x 4 tiles of 64 px


@pytest.fixture(scope="module")
def tiled_report(demo_url, tmp_path_factory):
    from PIL import Image

    out = tmp_path_factory.mktemp("browser_tiled")
    height, width = TILED_UPLOAD
    photo = Image.open(support.WEB_DEMO / "samples" / "content_bird.jpg").convert("RGB")
    upload = out / "upload.png"
    photo.resize((width, height), Image.BILINEAR).save(upload)
    url = f"{demo_url}?max_content={TILED_LIMIT}&max_style={TILED_LIMIT}&tile_size={TILED_LIMIT}"
    command = ["node", str(support.REPO / "tests" / "browser" / "tiled.mjs"), "--url", url,
               "--upload", str(upload), "--out", str(out)]
    result = subprocess.run(command, capture_output=True, text=True, timeout=1200, check=False)
    assert result.returncode == 0, result.stderr[-3000:]
    report = json.loads((out / "report.json").read_text())
    report["dir"] = out
    report["upload"] = np.asarray(Image.open(upload), np.float32) / 255.0
    return report


@pytest.mark.browser
@pytest.mark.slow
def test_full_resolution_runs_in_tiles_with_progress(tiled_report):
    report = tiled_report
    height, width = TILED_UPLOAD
    assert report["errors"] == []
    assert report["tiles"] == {"size": TILED_LIMIT, "overlap": TILED_LIMIT // 4}
    assert f"stylize all {width}×{height} px in 12 tiles" in report["uploadNotice"]
    assert report["checkboxEnabled"] and "12 tiles" in report["checkboxInfo"]
    run = report["run"]
    assert (run["width"], run["height"], run["tiles"]) == (width, height, 12)
    assert report["resultCanvas"] == [width, height]
    assert report["finalText"].startswith("Done in") and "12 tiles" in report["finalText"]
    # The worker reported the global pass and every tile, in order.
    assert run["progress"] == [{"done": i, "total": 13} for i in range(1, 14)]
    # The bar showed the tiles' progress, rising, with the cancel button on.
    values = [s["value"] for s in report["seen"][:-1] if "tiles done" in s["text"]]
    assert len(set(values)) >= 3 and values == sorted(values) and 0 < values[0] < 1
    assert all(s["cancelEnabled"] for s in report["seen"][:-1] if "tiles done" in s["text"])
    # The page's timers kept ticking while the worker ran (max gap: a figure, not a bound).
    print(f"full resolution in Chromium: {run['seconds']:.1f} s for 12 tiles; "
          f"page timer {report['ticks']['count']} ticks, max gap {report['ticks']['maxGap']:.0f} ms")
    assert report["ticks"]["count"] >= 13
    assert report["downloadHref"] == "blob:"


@pytest.mark.browser
@pytest.mark.slow
def test_full_resolution_matches_the_node_tiled_run(tiled_report, tfjs_model):
    from tf_cbam_style.tfjs.fidelity import compare
    from tf_cbam_style.tfjs.node import run_tiled_graph_model

    report, run = tiled_report, tiled_report["run"]
    height, width = TILED_UPLOAD

    def read(key, shape, dtype="<f4"):
        return np.fromfile(report["dir"] / run["files"][key], dtype).reshape(shape)

    page = read("rgba", (height, width, 4), np.uint8)[..., :3].astype(np.float32) / 255.0
    node = run_tiled_graph_model(tfjs_model[0], report["upload"], read("style", run["styleShape"]), TILED_LIMIT,
                                 options=run["options"], overlap=TILED_LIMIT // 4,
                                 global_content=read("content", run["contentShape"]))
    _, mean_diff, db = compare(node.stylized_image[0], page)
    # The page's result is rounded to bytes (at most 0.5/255 more).
    assert mean_diff < MEAN_ABS_TOLERANCE + 0.5 / 255 and db > MIN_PSNR_DB
    attention = read("attention", run["contentShape"][:3] + [1])
    np.testing.assert_allclose(attention, node.global_attention_map, atol=MEAN_ABS_TOLERANCE)


@pytest.mark.browser
@pytest.mark.slow
def test_full_resolution_cancel_and_oversize_refusal(tiled_report):
    from tf_cbam_style.tfjs.page import page_options

    report = tiled_report
    assert report["cancelText"].startswith("Cancelled after") and "of 12 tiles" in report["cancelText"]
    assert report["runEnabledAfterCancel"]
    oversize = report["oversize"]
    limit = page_options()["maxTiledPixels"]
    assert "Downscaled from 4097×4097" in oversize["notice"]
    assert f"maxTiledPixels={limit}" in oversize["notice"] and "Full resolution is not available" in oversize["notice"]
    assert not oversize["checkboxEnabled"]
    assert f"maxTiledPixels={limit}" in oversize["runError"]
