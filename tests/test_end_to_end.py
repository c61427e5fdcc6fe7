"""The shipped model stylizes the shipped sample pair (measured assertions).

Thresholds (measured with the committed models, see the README):
- colour: the distance between the output's and the style's per-channel
  RGB mean/std must be under half the content's distance to the style;
- structure: SSIM between the Sobel edge maps of output and content must
  beat the edge SSIM of the content against an unrelated image (another
  sample photo) by a wide margin, and clear an absolute floor.
"""

import pathlib

import numpy as np
import pytest
import tensorflow as tf

import tf_cbam_style as tcs
from tf_cbam_style.api import default_model_path
from tf_cbam_style.io import load_image

EXAMPLES = pathlib.Path(__file__).resolve().parent.parent / "examples"
EDGE_SSIM_FLOOR = 0.35


def _resize(image, short=256):
    h, w = image.shape[:2]
    s = short / min(h, w)
    return tf.image.resize(image[None], (round(h * s), round(w * s)), method="area")[0].numpy()


def color_stats(image):
    return np.concatenate([image.reshape(-1, 3).mean(0), image.reshape(-1, 3).std(0)])


def edge_ssim(a, b):
    """SSIM of Sobel gradient magnitudes of two same-size RGB images."""
    def edges(x):
        gray = tf.image.rgb_to_grayscale(tf.constant(x[None]))
        magnitude = tf.norm(tf.image.sobel_edges(gray), axis=-1)
        return magnitude / (tf.reduce_max(magnitude) + 1e-8)

    return float(tf.image.ssim(edges(a), edges(b), max_val=1.0)[0])


@pytest.fixture(scope="module")
def sample():
    if not default_model_path("cbam").is_file():
        pytest.fail(f"the shipped model is missing: {default_model_path('cbam')}")
    content = _resize(load_image(str(EXAMPLES / "content" / "lotus.jpg")))
    style = _resize(load_image(str(EXAMPLES / "style" / "candy.jpg")))
    return content, style


@pytest.mark.parametrize("method", ["cbam", "self_attention"])
def test_shipped_model_moves_colours_and_keeps_structure(sample, method):
    content, style = sample
    result = tcs.stylize(content, style, method=method)
    out = result.image
    assert out.shape == content.shape
    before = np.linalg.norm(color_stats(content) - color_stats(style))
    after = np.linalg.norm(color_stats(out) - color_stats(style))
    assert after < 0.5 * before, (before, after)

    unrelated = tf.image.resize(
        load_image(str(EXAMPLES / "content" / "sailboat.jpg"))[None], content.shape[:2]
    )[0].numpy()
    structure = edge_ssim(out, content)
    chance = edge_ssim(unrelated, content)
    assert structure > EDGE_SSIM_FLOOR and structure > chance + 0.2, (structure, chance)


def test_foreground_only_keeps_the_background(sample):
    content, style = sample
    full = tcs.stylize(content, style)
    fg = tcs.stylize(content, style, foreground_only=True)
    background = full.attention_map < 0.1
    assert background.mean() > 0.05, "the sample has a background"
    diff_fg = np.abs(fg.image - content).mean(-1)
    diff_full = np.abs(full.image - content).mean(-1)
    assert diff_fg[background].mean() < 0.25 * diff_full[background].mean()


def test_shipped_models_run_offline_without_the_vgg_file(monkeypatch, sample):
    import keras

    from tf_cbam_style.models.vgg19_encoder import WEIGHTS_ENV_VAR

    monkeypatch.delenv(WEIGHTS_ENV_VAR, raising=False)

    def no_download(*args, **kwargs):
        raise AssertionError("the shipped model must not load VGG19 weights")

    monkeypatch.setattr(keras.applications, "VGG19", no_download)
    content, _ = sample
    for attention in ("cbam", "self_attention"):
        path = default_model_path(attention)
        model = keras.saving.load_model(str(path), compile=False)  # fresh, not the API cache
        assert model.attention_kind == attention and model.depth == "relu4_1"
        assert model.encoder.conv_layers[-1].name == "block4_conv1"
        out = model(content[None, :128, :128])["reconstruction"].numpy()
        assert out.shape == (1, 128, 128, 3) and np.isfinite(out).all()
        assert path.stat().st_size < 40 * 2 ** 20
