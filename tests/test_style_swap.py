"""StyleSwap against a brute-force numpy reference."""

import keras
import numpy as np
import pytest

from tf_cbam_style.layers import StyleSwap


def _reference_swap(content, style, p):
    """Normalised cross-correlation argmax, then overlap-average (numpy)."""
    h, w, c = content.shape
    half = p // 2
    padded = np.pad(content, [(half, half), (half, half), (0, 0)], mode="reflect")
    hs, ws = style.shape[0] - p + 1, style.shape[1] - p + 1
    patches = np.stack([style[i:i + p, j:j + p] for i in range(hs) for j in range(ws)])
    norms = np.sqrt((patches.reshape(len(patches), -1) ** 2).sum(1)) + 1e-7
    out = np.zeros_like(content, dtype=np.float64)
    count = np.zeros((h, w, 1))
    best_ids = np.zeros((h, w), int)
    for y in range(h):
        for x in range(w):
            window = padded[y:y + p, x:x + p].reshape(-1)
            scores = patches.reshape(len(patches), -1) @ window / norms
            best = int(np.argmax(scores))
            best_ids[y, x] = best
            for dy in range(p):
                for dx in range(p):
                    yy, xx = y + dy - half, x + dx - half
                    if 0 <= yy < h and 0 <= xx < w:
                        out[yy, xx] += patches[best, dy, dx]
                        count[yy, xx] += 1
    return out / count, best_ids


def test_picks_the_best_matching_patch(rng):
    content = rng.normal(size=(7, 6, 4)).astype(np.float32)
    style = rng.normal(size=(6, 5, 4)).astype(np.float32)
    out = StyleSwap(patch_size=3, stroke_scales=(1.0,))([content[None], style[None]])
    expected, _ = _reference_swap(content, style, 3)
    np.testing.assert_allclose(out[0].numpy()[0], expected, rtol=1e-4, atol=1e-5)


def test_content_equal_to_style_reconstructs_interior(rng):
    x = rng.normal(size=(8, 8, 5)).astype(np.float32)
    out = StyleSwap(patch_size=3, stroke_scales=(1.0,))([x[None], x[None]])[0].numpy()[0]
    # Every interior 3x3 window matches itself exactly (NCC is maximal at itself).
    np.testing.assert_allclose(out[2:-2, 2:-2], x[2:-2, 2:-2], rtol=1e-4, atol=1e-4)


def test_scales_are_ordered_fine_to_coarse_and_shapes_kept(rng):
    content = rng.normal(size=(2, 9, 7, 3)).astype(np.float32)
    style = rng.normal(size=(1, 12, 12, 3)).astype(np.float32)
    layer = StyleSwap(patch_size=3, stroke_scales=(0.5, 1.0, 0.7071))
    assert layer.stroke_scales == (1.0, 0.7071, 0.5)
    outputs = layer([content, style])
    assert [o.shape for o in outputs] == [(2, 9, 7, 3)] * 3
    # Batch elements are swapped independently against the one style.
    single = layer([content[1:], style])
    np.testing.assert_allclose(outputs[0].numpy()[1], single[0].numpy()[0], rtol=1e-5, atol=1e-5)


def test_tiny_style_is_padded_up_to_one_patch(rng):
    out = StyleSwap(patch_size=5, stroke_scales=(0.5,))(
        [rng.normal(size=(1, 6, 6, 2)).astype(np.float32), rng.normal(size=(1, 4, 4, 2)).astype(np.float32)]
    )
    assert np.isfinite(out[0].numpy()).all()


def test_serialization_round_trip():
    layer = StyleSwap(patch_size=3, stroke_scales=(0.5, 1.0))
    restored = keras.saving.deserialize_keras_object(keras.saving.serialize_keras_object(layer))
    assert restored.get_config() == layer.get_config()


@pytest.mark.parametrize("kwargs, name", [({"patch_size": 4}, "patch_size"), ({"stroke_scales": (0.0,)}, "stroke_scales"),
                                          ({"stroke_scales": ()}, "stroke_scales")])
def test_bad_arguments(kwargs, name):
    with pytest.raises(ValueError, match=f"`{name}`.*Received: {name}="):
        StyleSwap(**kwargs)
