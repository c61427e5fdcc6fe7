"""WhiteningColoring (Newton-Schulz WCT) and AdaIN against numpy."""

import keras
import numpy as np
import pytest

from tf_cbam_style.layers import AdaIN, WhiteningColoring


def _correlated(rng, n, c, scale=1.0):
    mix = rng.normal(size=(c, c)) * scale
    return (rng.normal(size=(n, c)) @ mix + rng.normal(size=c) * 3).astype(np.float32)


def _cov(x):
    x = x.reshape(-1, x.shape[-1]).astype(np.float64)
    x = x - x.mean(0)
    return x.T @ x / len(x)


def test_whitened_features_have_identity_covariance(rng):
    x = _correlated(rng, 16 * 16, 8).reshape(1, 16, 16, 8)
    out = WhiteningColoring(epsilon=1e-7, iterations=30).whiten(x)
    whitened = out.whitened.numpy()
    # float32 covariance of a condition-number ~1e3 mix: 5e-3 is its noise floor.
    np.testing.assert_allclose(_cov(whitened), np.eye(8), atol=5e-3)
    np.testing.assert_allclose(whitened.reshape(-1, 8).mean(0), 0, atol=1e-4)


def test_square_root_matches_eigendecomposition(rng):
    x = _correlated(rng, 400, 6).reshape(1, 20, 20, 6)
    out = WhiteningColoring(epsilon=1e-7, iterations=30).whiten(x)
    vals, vecs = np.linalg.eigh(_cov(x))
    expected = vecs @ np.diag(np.sqrt(vals)) @ vecs.T
    np.testing.assert_allclose(out.sqrt_covariance.numpy()[0], expected, rtol=1e-3, atol=1e-3)


def test_coloring_gives_style_mean_and_covariance(rng):
    content = _correlated(rng, 144, 5).reshape(1, 12, 12, 5)
    style = _correlated(np.random.default_rng(7), 100, 5, scale=2.0).reshape(1, 10, 10, 5)
    out = WhiteningColoring(epsilon=1e-7, iterations=30)([content, style]).numpy()
    assert out.shape == content.shape
    np.testing.assert_allclose(_cov(out), _cov(style), rtol=2e-3, atol=2e-2)
    np.testing.assert_allclose(out.reshape(-1, 5).mean(0), style.reshape(-1, 5).mean(0), atol=1e-3)


def test_alpha_zero_returns_content(rng):
    content = rng.normal(size=(1, 6, 6, 3)).astype(np.float32)
    style = rng.normal(size=(1, 5, 5, 3)).astype(np.float32)
    np.testing.assert_allclose(WhiteningColoring(alpha=0.0)([content, style]).numpy(), content, atol=1e-6)


def test_rank_deficient_features_stay_finite():
    x = np.zeros((1, 4, 4, 16), np.float32)
    x[..., 0] = np.arange(16).reshape(4, 4)  # 15 dead channels
    out = WhiteningColoring().whiten(x)
    assert np.isfinite(out.whitened.numpy()).all()


def test_adain_matches_numpy(rng):
    content = rng.normal(size=(2, 6, 5, 4)).astype(np.float32)
    style = (rng.normal(size=(2, 4, 4, 4)) * 3 + 1).astype(np.float32)
    out = AdaIN(epsilon=0.0)([content, style]).numpy()
    cm, cs = content.mean((1, 2), keepdims=True), content.std((1, 2), keepdims=True)
    sm, ss = style.mean((1, 2), keepdims=True), style.std((1, 2), keepdims=True)
    np.testing.assert_allclose(out, ss * (content - cm) / cs + sm, rtol=1e-4, atol=1e-4)


@pytest.mark.parametrize("layer", [WhiteningColoring(alpha=0.3, iterations=12, epsilon=1e-4), AdaIN(alpha=0.5)],
                         ids=lambda layer: type(layer).__name__)
def test_serialization_round_trip(layer):
    restored = keras.saving.deserialize_keras_object(keras.saving.serialize_keras_object(layer))
    assert type(restored) is type(layer)
    assert restored.get_config() == layer.get_config()


def test_bad_alpha_is_rejected():
    with pytest.raises(ValueError, match="Received: alpha=1.5"):
        WhiteningColoring(alpha=1.5)
