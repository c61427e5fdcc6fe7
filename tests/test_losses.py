"""tf_cbam_style.losses against numpy references and known answers."""

import doctest

import numpy as np
import pytest
import tensorflow as tf

from tf_cbam_style import losses


def test_docstring_examples():
    assert doctest.testmod(losses, raise_on_error=False).failed == 0


def test_content_loss_is_feature_mse(rng):
    a, b = rng.normal(size=(2, 4, 5, 3)), rng.normal(size=(2, 4, 5, 3))
    assert float(losses.content_loss(a, b)) == pytest.approx(np.mean((a - b) ** 2), rel=1e-12)
    assert float(losses.content_loss(np.zeros((4, 5, 3)), np.full((4, 5, 3), 2.0))) == 4.0


def test_perceptual_loss_weighted_sum_of_layers():
    features = {"relu1_1": np.zeros((1, 4, 4, 2)), "relu2_1": np.zeros((1, 2, 2, 3))}
    targets = {"relu1_1": np.ones((1, 4, 4, 2)), "relu2_1": np.full((1, 2, 2, 3), 2.0)}
    # Feature MSEs 1 and 4; relu1_1 weighs 3, relu2_1 the default 1.
    value = losses.perceptual_loss(features, targets, ["relu1_1", "relu2_1"], {"relu1_1": 3.0})
    assert float(value) == 7.0
    assert float(losses.perceptual_loss(features, targets, ["relu2_1"])) == 4.0
    with pytest.raises(ValueError, match="`layers`.*Received: layers=\\[\\]"):
        losses.perceptual_loss(features, targets, [])


def test_pixel_loss_is_in_0_255_units(rng):
    x = rng.uniform(size=(2, 6, 6, 3)).astype(np.float32)
    assert float(losses.pixel_loss(x + np.float32(0.5), x)) == pytest.approx(127.5 ** 2, rel=1e-5)
    y = rng.uniform(size=x.shape).astype(np.float32)
    assert float(losses.pixel_loss(y, x)) == pytest.approx(np.mean(((y - x) * 255.0) ** 2), rel=1e-5)


def test_total_variation_loss(rng):
    ramp = np.tile(np.arange(5, dtype=np.float64)[None, None, :, None] / 4, (1, 3, 1, 1))
    # Constant down the columns (dy = 0), 1/4 between columns: 255 / 4.
    assert float(losses.total_variation_loss(ramp)) == pytest.approx(63.75)
    assert float(losses.total_variation_loss(np.full((1, 4, 4, 3), 0.3))) == 0.0
    x = rng.uniform(size=(2, 5, 7, 3))
    expected = 255 * (np.abs(np.diff(x, axis=1)).mean() + np.abs(np.diff(x, axis=2)).mean())
    assert float(losses.total_variation_loss(x)) == pytest.approx(expected, rel=1e-12)


def test_attention_loss_is_mean_absolute_value():
    assert float(losses.attention_loss(np.array([[-1.0, 2.0], [-3.0, 0.0]]))) == 1.5


def test_feature_contrast_is_the_distance_to_the_mean_feature(rng):
    f = rng.normal(size=(2, 5, 6, 4))
    expected = np.linalg.norm(f - f.mean(axis=(1, 2), keepdims=True), axis=-1, keepdims=True)
    np.testing.assert_allclose(losses.feature_contrast(tf.constant(f)).numpy(), expected, atol=1e-6)


def test_attention_contrast_loss_known_answers_and_numpy_reference(rng):
    f = rng.normal(size=(2, 5, 6, 4)).astype(np.float32)
    contrast = losses.feature_contrast(tf.constant(f))
    # A map that is an increasing affine function of the contrast: 0; decreasing: 2.
    assert float(losses.attention_contrast_loss(3.0 * contrast + 1.0, f)) == pytest.approx(0.0, abs=1e-5)
    assert float(losses.attention_contrast_loss(-contrast, f)) == pytest.approx(2.0, abs=1e-5)
    a = rng.uniform(size=(2, 5, 6, 1)).astype(np.float32)
    t = contrast.numpy().reshape(2, -1)
    expected = np.mean([1 - np.corrcoef(x, y)[0, 1] for x, y in zip(a.reshape(2, -1), t)])
    assert float(losses.attention_contrast_loss(tf.constant(a), f)) == pytest.approx(expected, abs=1e-5)
    # No gradient flows into the features' contrast, only into the map.
    features, attention_map = tf.Variable(f), tf.Variable(a)
    with tf.GradientTape() as tape:
        loss = losses.attention_contrast_loss(attention_map, features)
    grad_features, grad_map = tape.gradient(loss, [features, attention_map])
    assert grad_features is None and float(tf.norm(grad_map)) > 0


def test_gram_matrix_known_value_and_numpy_reference(rng):
    np.testing.assert_allclose(losses.gram_matrix(np.ones((3, 5, 2))).numpy(), np.ones((2, 2)))
    f = rng.normal(size=(2, 3, 4, 5))
    gram = losses.gram_matrix(f)
    assert gram.dtype == tf.float64 and gram.shape == (2, 5, 5)
    np.testing.assert_allclose(gram.numpy(), np.einsum("bhwc,bhwd->bcd", f, f) / 12, rtol=1e-12)
    # Positions do not matter, only the channel statistics.
    shuffled = rng.permutation(f[0].reshape(-1, 5)).reshape(6, 2, 5)
    np.testing.assert_allclose(losses.gram_matrix(shuffled).numpy(), gram.numpy()[0], rtol=1e-12)


def test_gram_distance_and_loss_known_values():
    ones = np.ones((3, 5, 2))
    # G(ones) = 1, G(2 ones) = 4 everywhere: mean squared entry 9, any size.
    g, g2 = losses.gram_matrix(ones), losses.gram_matrix(2.0 * np.ones((7, 2, 2)))
    assert float(losses.gram_distance(g, g2)) == 9.0
    a = {"relu1_1": ones, "relu2_1": ones}
    b = {"relu1_1": 2.0 * ones, "relu2_1": ones}
    assert float(losses.gram_loss(a, b, ["relu1_1", "relu2_1"])) == 4.5
    assert float(losses.gram_loss(a, a, ["relu1_1", "relu2_1"])) == 0.0


def test_mean_std_distance_known_value():
    channels = 4
    constant = np.full((6, 6, channels), 3.0)  # mean 3, std 0
    plus_minus = np.stack([np.ones((6, channels)), -np.ones((6, channels))], 0)
    plus_minus = np.tile(plus_minus, (3, 1, 1))  # (6, 6, c): mean 0, std 1
    # (||3 - 0||^2 + ||0 - 1||^2) / C = (9 C + C) / C = 10.
    assert float(losses.mean_std_distance(constant, plus_minus)) == pytest.approx(10.0)
    # epsilon = 3: stds sqrt(3) and 2, so (9 C + (2 - sqrt 3)^2 C) / C.
    assert float(losses.mean_std_distance(constant, plus_minus, epsilon=3.0)) == pytest.approx(
        9.0 + (2.0 - np.sqrt(3.0)) ** 2
    )


def test_mean_std_distance_numpy_reference_and_gradient(rng):
    a, b = rng.normal(size=(2, 4, 4, 3)), rng.normal(2.0, 3.0, size=(2, 5, 3, 3))
    mean = (a.mean((1, 2)) - b.mean((1, 2))) ** 2
    std = (a.std((1, 2)) - b.std((1, 2))) ** 2
    assert float(losses.mean_std_distance(a, b)) == pytest.approx(np.mean(mean + std), rel=1e-12)
    constant = tf.Variable(np.full((1, 3, 3, 3), 0.5, np.float32))
    with tf.GradientTape() as tape:
        value = losses.mean_std_distance(constant, b.astype(np.float32), epsilon=1e-5)
    assert np.isfinite(tape.gradient(value, constant).numpy()).all()


def test_mean_std_loss_averages_layers(rng):
    f = {k: rng.normal(size=(8, 8, 3)) for k in ("relu1_1", "relu2_1")}
    shifted = {"relu1_1": f["relu1_1"] + 1.0, "relu2_1": f["relu2_1"]}
    # Only relu1_1's mean moves, by 1 in every channel: (1 + 0) / 2.
    assert float(losses.mean_std_loss(shifted, f, ["relu1_1", "relu2_1"])) == pytest.approx(0.5)


def _numpy_ssim(x, y, size=11, sigma=1.5):
    """Mean SSIM of (batch, H, W, C) arrays in [0, 1]: Gaussian window, valid positions (Wang et al. 2004)."""
    from numpy.lib.stride_tricks import sliding_window_view

    offsets = np.arange(size) - (size - 1) / 2
    g = np.exp(-offsets ** 2 / (2 * sigma ** 2))
    window = np.outer(g, g) / np.outer(g, g).sum()

    def blur(a):  # (b, H, W, C) -> (b, H-10, W-10, C)
        patches = sliding_window_view(a, (size, size), axis=(1, 2))
        return np.einsum("bhwcij,ij->bhwc", patches, window)

    c1, c2 = 0.01 ** 2, 0.03 ** 2
    mx, my = blur(x), blur(y)
    vx, vy, cxy = blur(x * x) - mx ** 2, blur(y * y) - my ** 2, blur(x * y) - mx * my
    return np.mean((2 * mx * my + c1) * (2 * cxy + c2) / ((mx ** 2 + my ** 2 + c1) * (vx + vy + c2)))


def test_ssim_loss_known_answers_and_numpy_reference(rng):
    x = rng.uniform(size=(2, 24, 20, 3))
    y = np.clip(x + rng.normal(0, 0.1, x.shape), 0, 1)
    assert float(losses.ssim_loss(x.astype(np.float32), x.astype(np.float32))) == pytest.approx(0.0, abs=1e-6)
    assert float(losses.ssim_loss(y.astype(np.float32), x.astype(np.float32))) == pytest.approx(
        1 - _numpy_ssim(y, x), abs=1e-5)
    # Constant images a and b: SSIM = (2ab + C1) / (a^2 + b^2 + C1).
    a, b = np.full((1, 16, 16, 3), 0.5, np.float32), np.full((1, 16, 16, 3), 0.25, np.float32)
    assert float(losses.ssim_loss(a, b)) == pytest.approx(1 - (0.25 + 1e-4) / (0.3125 + 1e-4), abs=3e-4)  # float32 window
    # The output is clipped to [0, 1] first: 1.5 counts as 1.
    assert float(losses.ssim_loss(a * 3, np.ones_like(a))) == pytest.approx(0.0, abs=1e-6)


def test_ssim_loss_matches_scikit_image(rng):
    metrics = pytest.importorskip("skimage.metrics")
    x = rng.uniform(size=(1, 32, 32, 3))
    y = np.clip(x + rng.normal(0, 0.2, x.shape), 0, 1)
    reference = metrics.structural_similarity(y[0], x[0], gaussian_weights=True, sigma=1.5,
                                              use_sample_covariance=False, data_range=1.0, channel_axis=-1)
    assert float(losses.ssim_loss(y.astype(np.float32), x.astype(np.float32))) == pytest.approx(
        1 - reference, abs=1e-4)
