"""GuidedFilter (He et al. 2010) against a direct numpy implementation."""

import keras
import numpy as np
import pytest
import tensorflow as tf

from tf_cbam_style.layers import GuidedFilter
from tf_cbam_style.layers.guided_filter import box_mean


def _box(x, r):
    """Window means clipped at the border, by explicit loops: x is (H, W, c)."""
    h, w = x.shape[:2]
    out = np.zeros_like(x, dtype=np.float64)
    for y in range(h):
        for z in range(w):
            out[y, z] = x[max(0, y - r):y + r + 1, max(0, z - r):z + r + 1].reshape(-1, x.shape[-1]).mean(0)
    return out


def _guided_filter_reference(p, guide, r, eps):
    """He et al. Algorithm 1 (grey) and its colour form with np.linalg.inv."""
    p = p.astype(np.float64)
    guide = guide.astype(np.float64)
    mean_p = _box(p, r)
    mean_i = _box(guide, r)
    if guide.shape[-1] == 1:
        var = _box(guide * guide, r) - mean_i ** 2
        cov = _box(guide * p, r) - mean_i * mean_p
        a = cov / (var + eps)
        b = mean_p - a * mean_i
        return _box(a, r) * guide + _box(b, r)
    h, w, c = p.shape
    outer = (guide[..., :, None] * guide[..., None, :]).reshape(h, w, 9)
    sigma = (_box(outer, r).reshape(h, w, 3, 3) - mean_i[..., :, None] * mean_i[..., None, :]
             + eps * np.eye(3))
    cross = (guide[..., :, None] * p[..., None, :]).reshape(h, w, 3 * c)
    cov = _box(cross, r).reshape(h, w, 3, c) - mean_i[..., :, None] * mean_p[..., None, :]
    a = np.linalg.inv(sigma) @ cov  # (h, w, 3, c)
    b = mean_p - np.einsum("hwk,hwkc->hwc", mean_i, a)
    mean_a = _box(a.reshape(h, w, 3 * c), r).reshape(h, w, 3, c)
    return np.einsum("hwk,hwkc->hwc", guide, mean_a) + _box(b, r)


def test_box_mean_matches_clipped_window_means(rng):
    x = rng.uniform(size=(2, 9, 13, 2)).astype(np.float32)
    for r in (1, 3, 7):  # 7: window larger than the image
        got = box_mean(tf.constant(x), r).numpy()
        for n in range(2):
            np.testing.assert_allclose(got[n], _box(x[n], r), atol=1e-5)


@pytest.mark.parametrize("guide_channels", [1, 3])
@pytest.mark.parametrize("radius,epsilon", [(1, 1e-3), (2, 1e-2), (4, 0.1)])
def test_matches_numpy_reference(rng, guide_channels, radius, epsilon):
    guide = rng.uniform(size=(2, 11, 14, guide_channels)).astype(np.float32)
    p = rng.uniform(size=(2, 11, 14, 2)).astype(np.float32)
    got = GuidedFilter(radius=radius, epsilon=epsilon)(p, guide).numpy()
    for n in range(2):
        np.testing.assert_allclose(got[n], _guided_filter_reference(p[n], guide[n], radius, epsilon),
                                   atol=2e-4)


def test_known_answers():
    # A constant input is returned unchanged (a = 0, b = the constant).
    guide = np.random.default_rng(1).uniform(size=(1, 10, 10, 3)).astype(np.float32)
    flat = np.full((1, 10, 10, 1), 0.3, np.float32)
    np.testing.assert_allclose(GuidedFilter(radius=2)(flat, guide).numpy(), 0.3, atol=1e-5)
    # Filtering a grey image with itself as the guide and a tiny eps keeps it (a ~ 1, b ~ 0).
    grey = guide[..., :1]
    np.testing.assert_allclose(GuidedFilter(radius=2, epsilon=1e-8)(grey, grey).numpy(), grey, atol=2e-3)
    # A huge eps gives the double box mean of the input (a ~ 0, b = mean_p).
    p = np.random.default_rng(2).uniform(size=(1, 10, 10, 1)).astype(np.float32)
    smooth = GuidedFilter(radius=1, epsilon=1e6)(p, guide).numpy()
    np.testing.assert_allclose(smooth[0], _box(_box(p[0], 1), 1), atol=1e-4)


def test_edge_follows_the_guide():
    # Guide: a sharp vertical edge at column 8; input: a blurry ramp across it.
    guide = np.zeros((1, 16, 16, 3), np.float32)
    guide[:, :, 8:] = 1.0
    ramp = np.clip((np.arange(16) - 4) / 8.0, 0, 1).astype(np.float32)
    p = np.broadcast_to(ramp[None, None, :, None], (1, 16, 16, 1)).copy()
    q = GuidedFilter(radius=4, epsilon=1e-4)(p, guide).numpy()[0, 8, :, 0]
    assert q[:8].max() < 0.4 and q[8:].min() > 0.6  # the ramp became a step at the edge
    assert abs(q[7] - q[8]) > 3 * abs(p[0, 8, 7, 0] - p[0, 8, 8, 0])


def test_serialization_round_trip(tmp_path, rng):
    guide = keras.Input((None, None, 3))
    matte = keras.Input((None, None, 1))
    model = keras.Model([matte, guide], GuidedFilter(radius=3, epsilon=0.05, name="gf")(matte, guide))
    path = tmp_path / "gf.keras"
    model.save(path)
    loaded = keras.saving.load_model(path)
    layer = loaded.get_layer("gf")
    assert (layer.radius, layer.epsilon) == (3, 0.05)
    x = [rng.uniform(size=(1, 12, 12, 1)).astype(np.float32), rng.uniform(size=(1, 12, 12, 3)).astype(np.float32)]
    np.testing.assert_allclose(loaded(x).numpy(), model(x).numpy(), atol=1e-6)


def test_graph_has_no_ops_tfjs_rejects():
    fn = tf.function(lambda p, g: GuidedFilter(radius=2)(p, g)).get_concrete_function(
        tf.TensorSpec([1, None, None, 1]), tf.TensorSpec([1, None, None, 3]))
    ops = {op.type for op in fn.graph.get_operations()}
    assert not ops & {"ExtractImagePatches", "Svd", "SelfAdjointEigV2", "MatrixInverse", "MatrixDiag",
                      "MatrixDiagV3", "Eye"}
    assert "AvgPool" in ops


@pytest.mark.parametrize("kwargs", [{"radius": 0}, {"radius": 2.5}, {"radius": True},
                                    {"epsilon": 0}, {"epsilon": -1.0}, {"epsilon": "x"}])
def test_bad_arguments(kwargs):
    with pytest.raises(ValueError, match="Received"):
        GuidedFilter(**kwargs)


def test_bad_guide_channels():
    with pytest.raises(ValueError, match="guide"):
        GuidedFilter(radius=1)(tf.zeros((1, 8, 8, 1)), tf.zeros((1, 8, 8, 2)))
