"""Evaluation metrics on inputs whose answer is known."""

import math

import numpy as np
import pytest

from tf_cbam_style.evaluation import attention_metric, metrics


def test_content_loss_is_feature_mse():
    a = np.zeros((4, 5, 3))
    assert metrics.content_loss(a, a + 2.0) == pytest.approx(4.0)
    assert metrics.content_loss(a[None], a[None]) == 0.0


def test_content_loss_needs_same_shape():
    with pytest.raises(ValueError, match="`content_features`.*Received: content_features.shape="):
        metrics.content_loss(np.zeros((4, 4, 3)), np.zeros((4, 5, 3)))


def test_mean_std_distance_known_value(rng):
    channels = 4
    constant = np.full((6, 6, channels), 3.0)  # mean 3, std 0
    plus_minus = np.stack([np.ones((6, channels)), -np.ones((6, channels))], 0)
    plus_minus = np.tile(plus_minus, (3, 1, 1))  # (6, 6, c): mean 0, std 1
    # (||3 - 0||^2 + ||0 - 1||^2) / C = (9 C + C) / C = 10.
    assert metrics.mean_std_distance(constant, plus_minus) == pytest.approx(10.0)


def test_style_loss_ignores_positions_and_size(rng):
    features = {k: rng.normal(size=(8, 8, 3)) for k in metrics.STYLE_LAYERS}
    shuffled = {k: rng.permutation(v.reshape(-1, 3)).reshape(4, 16, 3) for k, v in features.items()}
    assert metrics.style_loss(shuffled, features) == pytest.approx(0.0, abs=1e-12)
    shifted = {k: v + 1.0 for k, v in features.items()}
    # Only the mean moves by 1 in every channel: (C * 1) / C = 1 per layer.
    assert metrics.style_loss(shifted, features) == pytest.approx(1.0)


def test_gram_matrix_and_loss_known_values():
    ones = np.ones((3, 5, 2))
    np.testing.assert_allclose(metrics.gram_matrix(ones), np.ones((2, 2)))
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


def test_vgg_features_match_the_encoder(vgg_weights):
    from tf_cbam_style.evaluation.vgg_features import LAYERS, vgg19_features
    from tf_cbam_style.models import VGG19Encoder

    images = np.random.default_rng(0).uniform(size=(1, 32, 32, 3)).astype(np.float32)
    features = vgg19_features()(images)
    assert [features[k].shape[-1] for k in LAYERS] == [64, 128, 256, 512, 512]
    assert features["relu5_1"].shape[1:3] == (2, 2)
    encoder = VGG19Encoder(depth="relu4_1", weights=vgg_weights)
    np.testing.assert_allclose(features["relu4_1"].numpy(), encoder(images).numpy(), rtol=1e-4, atol=1e-2)


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
