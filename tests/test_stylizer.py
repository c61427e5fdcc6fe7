"""The functional stylizer and the stylize() API on an untrained model."""

import keras
import numpy as np
import pytest

import tf_cbam_style as tcs
from tf_cbam_style.models import build_stylizer
from tf_cbam_style.options import StylizeOptions


@pytest.fixture(scope="module")
def model(tiny_model_path):
    return tcs.load_model(tiny_model_path)


@pytest.fixture
def pair(rng):
    content = rng.uniform(size=(37, 45, 3)).astype(np.float32)
    style = rng.uniform(size=(40, 33, 3)).astype(np.float32)
    return content, style


def test_functional_model_contract(model, rng):
    stylizer = build_stylizer(model, StylizeOptions())
    assert isinstance(stylizer, keras.Model)
    assert set(stylizer.input) == {"content_image", "style_image"}
    outputs = stylizer({
        "content_image": rng.uniform(size=(2, 41, 35, 3)).astype(np.float32),
        "style_image": rng.uniform(size=(1, 48, 64, 3)).astype(np.float32),
    })
    assert outputs["stylized_image"].shape == (2, 41, 35, 3)
    assert outputs["attention_map"].shape == (2, 41, 35, 1)
    image = outputs["stylized_image"].numpy()
    assert image.min() >= 0.0 and image.max() <= 1.0


@pytest.mark.parametrize("method", ["cbam", "adain", "wct", "style_swap"])
def test_every_method_returns_content_sized_image(model, pair, method):
    content, style = pair
    result = tcs.stylize(content, style, method=method, model=model)
    assert isinstance(result, tcs.StylizeResult)
    assert result.image.shape == content.shape and result.image.dtype == np.float32
    assert result.attention_map.shape == content.shape[:2]
    assert 0.0 <= result.attention_map.min() and result.attention_map.max() <= 1.0


def test_deterministic(model, pair):
    content, style = pair
    first = tcs.stylize(content, style, model=model)
    second = tcs.stylize(content, style, model=model)
    np.testing.assert_array_equal(first.image, second.image)
    np.testing.assert_array_equal(first.attention_map, second.attention_map)


def test_mask_replaces_attention_and_foreground_only_keeps_background(model, rng):
    content = rng.uniform(size=(64, 64, 3)).astype(np.float32)
    style = rng.uniform(size=(48, 48, 3)).astype(np.float32)
    mask = np.zeros((64, 64), np.float32)
    mask[16:48, 16:48] = 1.0
    result = tcs.stylize(content, style, model=model, mask=mask, foreground_only=True)
    np.testing.assert_allclose(result.image[:6, :6], content[:6, :6], atol=0.02)
    assert np.abs(result.image[28:36, 28:36] - content[28:36, 28:36]).mean() > 0.05
    assert result.attention_map[32, 32] > 0.9 and result.attention_map[2, 2] < 0.1


def test_a_mask_of_another_aspect_ratio_is_stretched_with_a_warning(model, rng):
    import warnings

    content = rng.uniform(size=(48, 64, 3)).astype(np.float32)
    style = rng.uniform(size=(48, 48, 3)).astype(np.float32)
    with pytest.warns(UserWarning, match=r"`mask` is 30x10 px \(aspect 3.00\) but the content is 64x48"):
        tcs.stylize(content, style, model=model, mask=np.ones((10, 30), np.float32))
    with warnings.catch_warnings():
        warnings.simplefilter("error")  # the same aspect ratio at another size: no warning
        tcs.stylize(content, style, model=model, mask=np.ones((12, 16), np.float32))


def test_alpha_zero_with_adain_reconstructs_through_the_decoder(model, pair):
    content, style = pair
    zero = tcs.stylize(content, style, method="adain", alpha=0.0, model=model).image
    other_style = tcs.stylize(content, style[::-1], method="adain", alpha=0.0, model=model).image
    np.testing.assert_allclose(zero, other_style, atol=1e-5)  # the style plays no part


def test_return_attention_false(model, pair):
    content, style = pair
    assert tcs.stylize(content, style, model=model, return_attention=False).attention_map is None


@pytest.mark.parametrize("kwargs, message", [
    ({"method": "cbma"}, "Did you mean 'cbam'"),
    ({"alpha": 2.0}, "Received: alpha=2.0"),
    ({"num_regions": 0}, "Received: num_regions=0"),
    ({"stroke_scales": (0.0,)}, "stroke_scales"),
    ({"method": "self_attention"}, "needs a model trained with that attention"),
])
def test_bad_arguments(model, pair, kwargs, message):
    content, style = pair
    with pytest.raises(ValueError, match=message):
        tcs.stylize(content, style, model=model, **kwargs)


def test_bad_images(model, pair):
    content, style = pair
    with pytest.raises(ValueError, match="at least 32x32"):
        tcs.stylize(content[:20], style, model=model)
    with pytest.raises(ValueError, match=r"content.shape=\(37, 45\)"):
        tcs.stylize(content[..., 0], style, model=model)
    bad = content.copy()
    bad[0, 0, 0] = np.nan
    with pytest.raises(ValueError, match="NaN"):
        tcs.stylize(bad, style, model=model)


def test_missing_model_file(tmp_path):
    with pytest.raises(FileNotFoundError, match="Received: path="):
        tcs.load_model(tmp_path / "missing.keras")


def test_load_model_accepts_a_model_folder(tiny_model_path, tmp_path):
    import shutil

    shutil.copy(tiny_model_path, tmp_path / "model.keras")
    assert tcs.load_model(tmp_path) is tcs.load_model(tmp_path / "model.keras")
