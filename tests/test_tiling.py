"""Tiled full-resolution stylization: plan, resampling, consistency, seams, memory."""

import numpy as np
import pytest

import tf_cbam_style as tcs
from tf_cbam_style import tiling


@pytest.fixture(scope="module")
def model(tiny_model_path):
    return tcs.load_model(tiny_model_path)


def test_plan_covers_the_photo_and_cores_partition_it():
    plan = tiling.plan_tiles(200, 336, tile_size=128, overlap=32, stride=8)
    covered = np.zeros((200, 336), int)
    cores = np.zeros((200, 336), int)
    for (y0, x0, y1, x1), (cy0, cx0, cy1, cx1) in zip(plan.tiles, plan.cores):
        assert y1 - y0 <= 128 and x1 - x0 <= 128 and y0 % 8 == 0 and x0 % 8 == 0
        assert y0 <= cy0 < cy1 <= y1 and x0 <= cx0 < cx1 <= x1  # a core lies inside its tile
        covered[y0:y1, x0:x1] += 1
        cores[cy0:cy1, cx0:cx1] += 1
    assert covered.min() >= 1 and (cores == 1).all()
    assert tiling.plan_tiles(64, 64, 128, 32).tiles == [(0, 0, 64, 64)]


def test_plan_bad_sizes():
    with pytest.raises(ValueError, match="multiple of the encoder stride"):
        tiling.plan_tiles(100, 64, 128, 32)
    with pytest.raises(ValueError, match="overlap"):
        tiling.plan_tiles(256, 256, 128, 64)


def test_resize_window_equals_tf_resize_then_crop(rng):
    import tensorflow as tf

    image = rng.uniform(size=(7, 9, 4)).astype(np.float32)
    full = tf.image.resize(image[None], (40, 57), method="bilinear").numpy()[0]
    for window in ((0, 0, 40, 57), (5, 11, 23, 50), (39, 56, 40, 57)):
        y0, x0, y1, x1 = window
        np.testing.assert_allclose(tiling.resize_window(image, (40, 57), window), full[y0:y1, x0:x1],
                                   atol=1e-5)


@pytest.mark.parametrize("window", [(0, 0, 40, 48), (8, 16, 32, 48), (24, 0, 48, 24), (32, 40, 48, 56)])
def test_matte_window_equals_the_whole_photos_refined_matte(rng, window):
    import tensorflow as tf

    from tf_cbam_style.layers import ForegroundComposite

    composite = ForegroundComposite(refine_radius=3, refine_epsilon=1e-2)
    content = rng.uniform(size=(43, 51, 3)).astype(np.float32)  # padded to 48 x 56 at stride 8
    soft = rng.uniform(size=(6, 7, 1)).astype(np.float32)
    whole = tf.image.resize(soft[None], (48, 56), method="bilinear")[:, :43, :51]
    expected = composite.refine(whole, content[None]).numpy()[0]
    y0, x0, y1, x1 = window
    got = tiling.matte_window(composite, soft, (48, 56), content, window)
    assert got.shape == (y1 - y0, x1 - x0, 1)
    inside = expected[y0:y1, x0:x1]
    np.testing.assert_allclose(got[:inside.shape[0], :inside.shape[1]], inside, atol=1e-5)
    # A user mask is used as given: resampled, not refined.
    np.testing.assert_allclose(tiling.matte_window(composite, soft, (48, 56), content, window, refine=False),
                               tiling.resize_window(soft, (48, 56), window))


def test_seam_score_known_answers(rng):
    plan = tiling.plan_tiles(128, 128, 64, 16, stride=8)
    y, x = np.mgrid[0:128, 0:128] / 128.0
    smooth = np.stack([x, y, 0.5 * (x + y)], -1)
    assert tiling.seam_score(smooth, plan) == pytest.approx(1.0, abs=0.05)
    seamed = smooth.copy()
    (_, _, cy1, _) = plan.cores[0]
    seamed[cy1:] += 0.2  # a step where two tiles meet
    assert tiling.seam_score(np.clip(seamed, 0, 1), plan) > 5


def test_tiled_matches_untiled_and_shows_no_seam(model, rng):
    from tf_cbam_style.io import load_image
    import pathlib

    examples = pathlib.Path(__file__).resolve().parent.parent / "examples"
    content = tcs.api._resize(load_image(str(examples / "content" / "lotus.jpg")), (192, 256))
    style = tcs.api._resize(load_image(str(examples / "style" / "candy.jpg")), (96, 96))
    whole = tcs.stylize(content, style, model=model, tile_size=None)
    tiled = tcs.stylize(content, style, model=model, tile_size=128)
    np.testing.assert_allclose(tiled.attention_map, whole.attention_map, atol=1e-4)
    difference = np.abs(tiled.image - whole.image)
    # Tiles see less context than the whole photo at their borders only.
    assert difference.mean() < 0.01, difference.mean()
    plan = tiling.plan_tiles(192, 256, 128, tiling.effective_overlap(128), 8)
    assert tiling.seam_score(tiled.image, plan) < 1.2 * max(tiling.seam_score(whole.image, plan), 1.0)
    # The background mode keeps the photo where the (refined) matte says so, tiled or not.
    whole_bg = tcs.stylize(content, style, model=model, tile_size=None, region="background")
    tiled_bg = tcs.stylize(content, style, model=model, tile_size=128, region="background")
    assert np.abs(tiled_bg.image - whole_bg.image).mean() < 0.01


def test_memory_check_refuses_before_work():
    with pytest.raises(MemoryError, match="tile-size"):
        tiling.check_memory(200_000, 200_000)
    assert tiling.memory_needed_mib(3000, 4000) < 4096


def test_style_scale_and_tile_size_arguments(model, rng):
    content = rng.uniform(size=(64, 64, 3)).astype(np.float32)
    style = rng.uniform(size=(40, 40, 3)).astype(np.float32)
    with pytest.raises(ValueError, match="Received: style_scale=0"):
        tcs.stylize(content, style, model=model, style_scale=0)
    with pytest.raises(ValueError, match="Received: tile_size=100"):
        tcs.stylize(content, style, model=model, tile_size=100)
    assert tcs.stylize(content, style, model=model, style_scale=1.0).image.shape == content.shape


def test_cli_refuses_a_photo_that_cannot_fit_before_any_work(write_image, tmp_path, monkeypatch, capsys):
    from tf_cbam_style.cli import main

    content = write_image("big.png", 96, 128)
    style = write_image("style.png")
    monkeypatch.setattr(tiling, "available_memory_mib", lambda: 100.0)
    out = tmp_path / "out.png"
    assert main(["stylize", content, style, "-o", str(out), "--full-resolution"]) == 2
    err = capsys.readouterr().err
    assert err.startswith("error: stylizing 128x96 px") and "GiB is available" in err
    assert not out.exists()


@pytest.mark.parametrize("flags, message", [
    (["--tile-size", "100"], "Received: tile_size=100"),
    (["--tile-size", "32"], "Received: tile_size=32"),
    (["--style-scale", "0"], "Received: style_scale=0"),
])
def test_cli_bad_tiling_flags(write_image, tmp_path, capsys, flags, message):
    from tf_cbam_style.cli import main

    content, style = write_image("c.png"), write_image("s.png")
    assert main(["stylize", content, style, "-o", str(tmp_path / "o.png"), *flags]) == 2
    assert message in capsys.readouterr().err


def test_cli_full_resolution_tiles_and_keeps_the_size(write_image, tmp_path, tiny_model_path):
    from PIL import Image

    from tf_cbam_style.cli import main

    content = write_image("c.png", 120, 200)
    style = write_image("s.png")
    out = tmp_path / "o.png"
    assert main(["stylize", content, style, "-o", str(out), "--model", tiny_model_path, "--full-resolution",
                 "--tile-size", "96", "--style-scale", "0.5", "--quiet"]) == 0
    assert Image.open(out).size == (200, 120)
