"""MultiStrokeFusion, k-means, ColorPreservation, ForegroundComposite, padding."""

import keras
import numpy as np
import pytest
import tensorflow as tf

from tf_cbam_style.layers import (
    ColorPreservation, CropLike, ForegroundComposite, MultiStrokeFusion, PadToMultiple,
)
from tf_cbam_style.layers.color_preservation import _RGB_TO_YIQ
from tf_cbam_style.layers.multi_stroke_fusion import kmeans_1d


def _two_level_map(h=12, w=12):
    m = np.full((1, h, w, 1), 0.1, np.float32)
    m[:, 3:9, 3:9] = 0.9  # a salient square in the middle
    return m


def test_weights_sum_to_one_and_are_deterministic(rng):
    features = [rng.normal(size=(2, 8, 8, 3)).astype(np.float32) for _ in range(4)]
    attention = rng.uniform(size=(2, 8, 8, 1)).astype(np.float32)
    fusion = MultiStrokeFusion(num_regions=4)
    first = fusion(features, attention)
    second = fusion(features, attention)
    weights = first["weights"].numpy()
    assert weights.shape == (2, 8, 8, 4)
    np.testing.assert_allclose(weights.sum(-1), 1.0, atol=1e-5)
    assert np.all(weights >= 0)
    np.testing.assert_array_equal(first["features"].numpy(), second["features"].numpy())
    centroids = first["centroids"].numpy()
    assert np.all(np.diff(centroids, axis=-1) <= 0), "centroids sorted most salient first"


def test_salient_region_keeps_first_map_background_gets_last():
    fine = np.zeros((1, 12, 12, 2), np.float32)
    coarse = np.ones((1, 12, 12, 2), np.float32)
    out = MultiStrokeFusion(num_regions=2, smoothing=0.0)([fine, coarse], _two_level_map())["features"].numpy()
    np.testing.assert_allclose(out[0, 5, 5], 0.0, atol=1e-6)   # salient: fine strokes
    np.testing.assert_allclose(out[0, 0, 0], 1.0, atol=1e-6)   # background: coarse strokes


def test_region_sources_map_regions_to_feature_maps():
    assert MultiStrokeFusion(num_regions=4).region_sources(4) == [0, 1, 2, 3]
    assert MultiStrokeFusion(num_regions=2).region_sources(4) == [0, 3]
    assert MultiStrokeFusion(num_regions=3).region_sources(4) == [0, 2, 3]
    assert MultiStrokeFusion(num_regions=1).region_sources(4) == [0]


def _numpy_kmeans(values, k, iterations):
    c = np.array([(i + 0.5) / k for i in range(k)])
    for _ in range(iterations):
        assign = np.argmin(np.abs(values[:, None] - c[None]), axis=1)
        for j in range(k):
            if np.any(assign == j):
                c[j] = values[assign == j].mean()
    return np.sort(c)[::-1]


def test_kmeans_matches_numpy(rng):
    values = np.concatenate([rng.normal(m, 0.03, 50) for m in (0.1, 0.4, 0.8)]).clip(0, 1).astype(np.float32)
    got = kmeans_1d(values[None], 3, 10).numpy()[0]
    np.testing.assert_allclose(got, _numpy_kmeans(values, 3, 10), atol=1e-5)
    np.testing.assert_allclose(sorted(got), [0.1, 0.4, 0.8], atol=0.02)


def test_color_preservation_keeps_content_chroma(rng):
    content = rng.uniform(0.3, 0.7, size=(1, 6, 6, 3)).astype(np.float32)
    stylized = rng.uniform(0.3, 0.7, size=(1, 6, 6, 3)).astype(np.float32)
    out = ColorPreservation()(stylized, content).numpy()
    yiq = lambda x: x.reshape(-1, 3) @ _RGB_TO_YIQ.T  # noqa: E731
    np.testing.assert_allclose(yiq(out)[:, 1:], yiq(content)[:, 1:], atol=1e-5)
    # Luminance follows the stylized image (correlation 1 after mean/std matching).
    assert np.corrcoef(yiq(out)[:, 0], yiq(stylized)[:, 0])[0, 1] > 0.999


def test_foreground_composite_keeps_background(rng):
    content = rng.uniform(size=(1, 96, 96, 3)).astype(np.float32)
    stylized = rng.uniform(size=(1, 96, 96, 3)).astype(np.float32)
    attention = np.kron(_two_level_map(), np.ones((1, 8, 8, 1), np.float32))
    out = ForegroundComposite(feather=2.0)(stylized, content, attention)
    matte = out["matte"].numpy()
    assert matte.shape == (1, 96, 96, 1) and matte.min() >= 0 and matte.max() <= 1
    assert matte[0, 48, 48, 0] > 0.99 and matte[0, 2, 2, 0] < 0.01
    np.testing.assert_allclose(out["image"].numpy()[0, :8, :8], content[0, :8, :8], atol=1e-2)
    np.testing.assert_allclose(out["image"].numpy()[0, 40:56, 40:56], stylized[0, 40:56, 40:56], atol=1e-2)


def _disc_scene(size=128, radius=37, center=(61, 70)):
    """A photo with a known object (a red disc on grey) and a blocky attention map of it, one value per 8 px."""
    y, x = np.mgrid[0:size, 0:size]
    distance = np.hypot(y - center[0], x - center[1]) - radius  # < 0 inside
    disc = (distance <= 0).astype(np.float32)
    photo = np.where(disc[..., None] > 0, [[[0.8, 0.1, 0.1]]], [[[0.4, 0.4, 0.4]]]).astype(np.float32)
    attention = disc.reshape(size // 8, 8, size // 8, 8).mean(axis=(1, 3))
    return photo[None], disc, distance, attention[None, ..., None]


def test_refined_matte_follows_the_object_and_keeps_the_photo():
    photo, disc, distance, attention = _disc_scene()
    stylized = np.full_like(photo, 0.9)
    soft_layer = ForegroundComposite(refine_radius=0)
    refined = ForegroundComposite()(stylized, photo, attention)
    soft = soft_layer(stylized, photo, attention)
    m, s = refined["matte"].numpy()[0, ..., 0], soft["matte"].numpy()[0, ..., 0]
    iou = lambda a: ((a >= 0.5) & (disc > 0)).sum() / ((a >= 0.5) | (disc > 0)).sum()  # noqa: E731
    assert iou(m) > 0.97 and iou(m) > iou(s)
    # The background, meant to stay the photo: the soft matte leaks the
    # stylized image into it, the refined one hardly at all.
    outside = disc == 0
    leak = lambda out: np.abs(out["image"].numpy()[0] - photo[0]).max(-1)[outside].mean()  # noqa: E731
    assert leak(refined) < 0.2 * leak(soft)
    # Farther from the object's edge than the filter's reach (16 px) plus the
    # blocky attention's error (one feature pixel, 8 px), the matte is exact.
    far_inside, far_outside = distance < -24, distance > 24
    np.testing.assert_allclose(m[far_inside], 1.0, atol=1e-4)
    np.testing.assert_allclose(m[far_outside], 0.0, atol=1e-4)
    np.testing.assert_allclose(refined["image"].numpy()[0][far_outside], photo[0][far_outside], atol=1e-4)


def test_refine_is_the_guided_filter_of_the_binarised_soft_matte(rng):
    from tf_cbam_style.layers import GuidedFilter

    photo = rng.uniform(size=(1, 40, 48, 3)).astype(np.float32)
    attention = rng.uniform(size=(1, 5, 6, 1)).astype(np.float32)
    layer = ForegroundComposite(refine_radius=3, refine_epsilon=1e-2)
    soft = layer.soft_matte(attention, (40, 48))
    expected = np.clip(GuidedFilter(radius=3, epsilon=1e-2)(tf.cast(soft >= 0.5, tf.float32), photo).numpy(), 0, 1)
    np.testing.assert_allclose(layer.refine(soft, photo).numpy(), expected, atol=1e-6)
    out = layer(photo * 0.5, photo, attention)  # the content is the guide
    np.testing.assert_allclose(out["matte"].numpy(), expected, atol=1e-6)
    # refine_radius=0: the soft matte is the matte.
    unrefined = ForegroundComposite(refine_radius=0)
    np.testing.assert_array_equal(unrefined.refine(soft, photo).numpy(), soft.numpy())


def test_pad_and_crop_restore_the_size():
    x = tf.random.uniform((1, 33, 41, 3))
    padded = PadToMultiple(8)(x)
    assert padded.shape == (1, 40, 48, 3)
    np.testing.assert_array_equal(CropLike()(padded, x).numpy(), x.numpy())
    assert CropLike(upsample=8)(tf.zeros((1, 5, 6, 1)), x).shape == (1, 33, 41, 1)


@pytest.mark.parametrize("layer", [MultiStrokeFusion(num_regions=3, theta=20.0),
                                   ForegroundComposite(softness=0.1, refine_radius=4, refine_epsilon=1e-2),
                                   ColorPreservation(), PadToMultiple(4), CropLike(upsample=2)],
                         ids=lambda layer: type(layer).__name__)
def test_serialization_round_trip(layer):
    restored = keras.saving.deserialize_keras_object(keras.saving.serialize_keras_object(layer))
    assert type(restored) is type(layer)
    assert restored.get_config() == layer.get_config()


@pytest.mark.parametrize("kwargs,message", [
    ({"softness": 0}, "Received: softness=0"), ({"feather": -1.0}, "Received: feather=-1.0"),
    ({"refine_radius": 2.5}, "Received: refine_radius=2.5"), ({"refine_radius": -1}, "Received: refine_radius=-1"),
    ({"refine_epsilon": 0.0}, "Received: refine_epsilon=0.0"),
])
def test_foreground_composite_bad_arguments(kwargs, message):
    with pytest.raises(ValueError, match=message):
        ForegroundComposite(**kwargs)


def test_bad_arguments():
    with pytest.raises(ValueError, match="Received: num_regions=0"):
        MultiStrokeFusion(num_regions=0)
    with pytest.raises(ValueError, match="`features`"):
        MultiStrokeFusion()(tf.zeros((1, 4, 4, 1)), tf.zeros((1, 4, 4, 1)))
