"""Evaluation metrics on inputs whose answer is known."""

import math

import numpy as np
import pytest

from tf_cbam_style.evaluation import attention_metric, metrics


def test_content_loss_is_feature_mse():
    a = np.zeros((4, 5, 3))
    assert metrics.content_loss(a, a + 2.0) == pytest.approx(4.0)
    assert metrics.content_loss(a[None], a[None]) == 0.0


def test_metrics_are_float64_floats():
    a = np.ones((2, 2, 1))
    b = a + 2.0 ** -30  # lost in float32 arithmetic (1 + 2^-30 == 1), kept in float64
    assert isinstance(metrics.content_loss(a, b), float)
    assert metrics.content_loss(a, b) == 2.0 ** -60


def test_content_loss_needs_same_shape():
    with pytest.raises(ValueError, match="`content_features`.*Received: content_features.shape="):
        metrics.content_loss(np.zeros((4, 4, 3)), np.zeros((4, 5, 3)))


def test_style_loss_ignores_positions_and_size(rng):
    features = {k: rng.normal(size=(8, 8, 3)) for k in metrics.STYLE_LAYERS}
    shuffled = {k: rng.permutation(v.reshape(-1, 3)).reshape(4, 16, 3) for k, v in features.items()}
    assert metrics.style_loss(shuffled, features) == pytest.approx(0.0, abs=1e-12)
    shifted = {k: v + 1.0 for k, v in features.items()}
    # Only the mean moves by 1 in every channel: (C * 1) / C = 1 per layer.
    assert metrics.style_loss(shifted, features) == pytest.approx(1.0)


def test_gram_loss_known_values():
    ones = np.ones((3, 5, 2))
    a = {k: ones for k in metrics.STYLE_LAYERS}
    b = {k: 2.0 * ones for k in metrics.STYLE_LAYERS}
    # G(a) = 1, G(b) = 4 everywhere: mean squared entry 9.
    assert metrics.gram_loss(a, b) == pytest.approx(9.0)
    assert metrics.gram_loss(a, a) == 0.0


def test_ssim_identical_is_one_and_drops_with_noise(rng):
    image = rng.uniform(size=(40, 48, 3)).astype(np.float32)
    assert metrics.ssim(image, image) == pytest.approx(1.0, abs=1e-5)
    noisy = np.clip(image + rng.normal(0, 0.3, image.shape), 0, 1)
    assert metrics.ssim(noisy, image) < 0.9
    with pytest.raises(ValueError, match="`reference`.*Received: image.shape="):
        metrics.ssim(image, image[:30])


def test_salient_region_two_levels():
    attention = np.full((10, 10), 0.1)
    attention[:, 6:] = 0.9
    salient = attention_metric.salient_region(attention)
    assert salient[:, 6:].all() and not salient[:, :6].any()
    assert not attention_metric.salient_region(np.ones((5, 5))).any()
    with pytest.raises(ValueError, match="`attention_map`.*Received: attention_map.shape="):
        attention_metric.salient_region(np.ones(5))


def test_background_change_ratio_known_value():
    content = np.full((10, 10, 3), 0.5)
    attention = np.zeros((10, 10))
    attention[:, 5:] = 1.0
    stylized = content.copy()
    stylized[:, :5] += 0.2  # background
    stylized[:, 5:] -= 0.1  # salient
    result = attention_metric.background_change_ratio(stylized, content, attention)
    assert result.ratio == pytest.approx(2.0)
    assert result.background_change == pytest.approx(0.2)
    assert result.salient_change == pytest.approx(0.1)
    assert result.salient_fraction == pytest.approx(0.5)
    mask = attention > 0.5
    assert attention_metric.background_change_ratio(stylized, content, mask).ratio == pytest.approx(2.0)


def test_background_change_ratio_undefined_cases():
    content = np.full((6, 6, 3), 0.5)
    assert math.isnan(attention_metric.background_change_ratio(content, content, np.ones((6, 6))).ratio)
    with pytest.raises(ValueError, match="`stylized`.*Received: stylized.shape="):
        attention_metric.background_change_ratio(content[:3], content, np.ones((6, 6)))


def test_vgg_features_are_keras_vgg19_with_caffe_preprocessing(tmp_path):
    # The reference is the implementation vgg19_features had before it was
    # built on VGG19Encoder: keras.applications.VGG19 after Keras' own caffe
    # preprocessing. Random weights, saved to a file, so no download.
    import keras

    from tf_cbam_style.evaluation.vgg_features import LAYERS, vgg19_features

    keras.utils.set_random_seed(0)
    vgg = keras.applications.VGG19(include_top=False, weights=None, input_shape=(None, None, 3))
    weights = str(tmp_path / "vgg19.weights.h5")
    vgg.save_weights(weights)
    reference = keras.Model(vgg.input, {k: vgg.get_layer(f"block{k[4]}_conv1").output for k in LAYERS})
    images = np.random.default_rng(0).uniform(size=(2, 32, 48, 3)).astype(np.float32)
    expected = reference(keras.applications.vgg19.preprocess_input(images * 255.0))
    features = vgg19_features(weights)(images)
    assert LAYERS == ("relu1_1", "relu2_1", "relu3_1", "relu4_1", "relu5_1")
    assert [features[k].shape[-1] for k in LAYERS] == [64, 128, 256, 512, 512]
    assert features["relu5_1"].shape[1:3] == (2, 3)
    for k in LAYERS:
        np.testing.assert_allclose(features[k].numpy(), expected[k].numpy(), rtol=1e-5, atol=1e-4)


def test_vgg_features_weights_resolution(tmp_path, monkeypatch):
    from tf_cbam_style.evaluation.vgg_features import vgg19_features

    missing = str(tmp_path / "missing.weights.h5")
    with pytest.raises(FileNotFoundError, match="Received: weights="):
        vgg19_features(missing)
    monkeypatch.setenv("TF_CBAM_STYLE_VGG_WEIGHTS", missing)
    vgg19_features.cache_clear()
    with pytest.raises(FileNotFoundError, match="TF_CBAM_STYLE_VGG_WEIGHTS"):
        vgg19_features("auto")
    vgg19_features.cache_clear()


def test_quality_scores_of_the_content_itself(vgg_weights):
    from tf_cbam_style.evaluation.vgg_features import vgg19_features

    image = np.random.default_rng(1).uniform(size=(32, 32, 3)).astype(np.float32)
    f = {k: v.numpy()[0] for k, v in vgg19_features()(image[None]).items()}
    scores = metrics.quality_scores(f, f, f, image, image)
    assert scores.content_relu4_1 == 0.0 and scores.style_loss == pytest.approx(0.0, abs=1e-6)
    assert scores.gram_loss == pytest.approx(0.0, abs=1e-3) and scores.ssim == pytest.approx(1.0, abs=1e-5)


@pytest.mark.slow
def test_gatys_lowers_the_style_loss(vgg_weights):
    from tf_cbam_style.evaluation.gatys import gatys_stylize
    from tf_cbam_style.evaluation.vgg_features import vgg19_features

    rng = np.random.default_rng(2)
    content = rng.uniform(size=(48, 48, 3)).astype(np.float32)
    style = np.tile(np.linspace(0, 1, 48, dtype=np.float32)[:, None, None], (1, 48, 3))
    out = gatys_stylize(content, style, iterations=30, progress=False)
    assert out.shape == content.shape and 0.0 <= out.min() and out.max() <= 1.0

    def features(x):
        return {k: v.numpy()[0] for k, v in vgg19_features()(x[None]).items()}

    assert metrics.gram_loss(features(out), features(style)) < metrics.gram_loss(features(content), features(style))
    with pytest.raises(ValueError, match="`iterations`.*Received: iterations="):
        gatys_stylize(content, style, iterations=-1)


# ---------------------------------------------------------------------------
# Grid score and colour-transfer ratio (known answers on synthetic images)
# ---------------------------------------------------------------------------


def _smooth_photo(rng, h=128, w=160):
    """A random 'photo' with the 1/f amplitude spectrum of natural images, no periodic structure."""
    noise = rng.normal(size=(h, w, 3))
    spectrum = np.fft.fft2(noise, axes=(0, 1))
    fy, fx = np.fft.fftfreq(h)[:, None], np.fft.fftfreq(w)[None, :]
    spectrum /= np.maximum(np.hypot(fy, fx), 1.0 / max(h, w))[..., None]
    image = np.real(np.fft.ifft2(spectrum, axes=(0, 1)))
    image = (image - image.min()) / (image.max() - image.min())
    return 0.1 + 0.8 * image


def test_grid_score_is_one_for_the_content_itself(rng):
    from tf_cbam_style.evaluation.metrics import grid_score

    photo = _smooth_photo(rng)
    assert grid_score(photo, photo) == pytest.approx(1.0)


def test_grid_score_finds_an_8_px_grid_and_only_at_its_period(rng):
    from tf_cbam_style.evaluation.metrics import grid_score, periodic_peak_ratio

    photo = _smooth_photo(rng)
    y, x = np.mgrid[0:photo.shape[0], 0:photo.shape[1]]
    grid = 0.03 * (np.cos(2 * np.pi * x / 8) + np.cos(2 * np.pi * y / 8))[..., None]
    gridded = np.clip(photo + grid, 0, 1)
    assert grid_score(gridded, photo) > 10
    assert grid_score(gridded, photo, period=16) > 3  # 8 px is a harmonic of 16 px
    # Patterns of 5 or 13 px lie away from the harmonics of 8 px (and from
    # their neighbourhoods): no grid at 8 px.
    for period in (5, 13):
        other = np.clip(photo + 0.03 * np.cos(2 * np.pi * x / period)[..., None], 0, 1)
        assert grid_score(other, photo) == pytest.approx(1.0, abs=0.05)
    # Broadband noise has no peaks: its ratio is about 1.
    assert periodic_peak_ratio(rng.normal(size=(256, 256, 3))) == pytest.approx(1.0, abs=0.1)


def test_grid_score_bad_input(rng):
    from tf_cbam_style.evaluation.metrics import grid_score

    with pytest.raises(ValueError, match="shape of `stylized`"):
        grid_score(np.zeros((64, 64, 3)), np.zeros((64, 72, 3)))
    with pytest.raises(ValueError, match="at least 32 px"):
        grid_score(np.zeros((24, 64, 3)), np.zeros((24, 64, 3)))


def test_color_transfer_ratio_known_values(rng):
    from tf_cbam_style.evaluation.metrics import color_statistics_distance, color_transfer_ratio

    content = rng.uniform(0.2, 0.4, size=(32, 40, 3))
    style = rng.uniform(0.5, 0.9, size=(20, 30, 3))
    assert color_transfer_ratio(content, content, style) == pytest.approx(1.0)
    # The content with exactly the style's per-channel mean and std: ratio 0.
    flat_c, flat_s = content.reshape(-1, 3), style.reshape(-1, 3)
    matched = (flat_c - flat_c.mean(0)) / flat_c.std(0) * flat_s.std(0) + flat_s.mean(0)
    assert color_transfer_ratio(matched.reshape(content.shape), content, style) == pytest.approx(0.0, abs=1e-9)
    # Halfway in mean and std: ratio 0.5.
    half = (flat_c - flat_c.mean(0)) / flat_c.std(0) * (flat_c.std(0) + flat_s.std(0)) / 2 + (
        flat_c.mean(0) + flat_s.mean(0)) / 2
    assert color_transfer_ratio(half.reshape(content.shape), content, style) == pytest.approx(0.5)
    # Moving away from the style gives a ratio above 1.
    assert color_transfer_ratio(np.zeros_like(content), content, style) > 1
    # A constant image has std 0: the distance is the mean offset alone.
    assert color_statistics_distance(np.full((4, 4, 3), 0.5), np.full((4, 4, 3), 0.2)) == pytest.approx(
        np.sqrt(3 * 0.09))
    assert np.isnan(color_transfer_ratio(content, content, content))
