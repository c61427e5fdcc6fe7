"""SavedModel export: signatures, parity with Keras, validation, warm-up."""

import os

import numpy as np
import pytest
import tensorflow as tf

import tf_cbam_style as tcs
from tf_cbam_style.export import export_saved_model
from tf_cbam_style.models.stylizer import build_stylizer
from tf_cbam_style.options import StylizeOptions
from tf_cbam_style.options import option_inputs as default_options

# The SavedModel and the in-process Keras pipeline run the same ops on the
# same batch, so they differ only where the SavedModel's graph optimisation
# fuses or reorders float32 sums: measured at most 4.2e-7 over 15 random
# batches of 1-3 images (tests below). 1e-5 is 24x that and 1/390 of one
# 8-bit level, far below any real fault (a wrong option, a swapped batch
# element), which moves the output by 1e-2 or more.
#
# It is NOT the tolerance between a batch of 2 and two batches of 1: with a
# different batch size oneDNN/Eigen block the matmuls of the whitening
# differently, the float32 round-off (about 1e-6 of the feature scale) can
# flip a near-tie in the style swap's argmax, and that moves a few pixels by
# far more than round-off. So batch outputs are compared with the Keras
# pipeline on the same batch, and batch-vs-single with exact-arithmetic
# methods only (`test_batch_elements_are_independent`). The colour
# transfer's luminance curve (slope up to the style's spread over the
# image's, per segment) amplifies the round-off of the tiny untrained
# model's nearly flat output: 2.8e-5 measured between the SavedModel and
# the Keras pipeline, against 1e-5 before the curve.
TOLERANCE = 1e-4


@pytest.fixture(scope="module")
def exported(tiny_model_path, tmp_path_factory):
    model = tcs.load_model(tiny_model_path)
    base = tmp_path_factory.mktemp("saved_models") / "cbam_relu4_1"
    result = export_saved_model(model, str(base), version=3)
    return model, result, tf.saved_model.load(result.path)


def test_layout_and_warmup(exported):
    _, result, _ = exported
    assert result.path.endswith(os.path.join("cbam_relu4_1", "3"))
    assert os.path.isfile(os.path.join(result.path, "saved_model.pb"))
    warmup = os.path.join(result.path, "assets.extra", "tf_serving_warmup_requests")
    from tensorflow_serving.apis import prediction_log_pb2

    logs = [prediction_log_pb2.PredictionLog.FromString(r.numpy()) for r in tf.data.TFRecordDataset(warmup)]
    assert [log.predict_log.request.model_spec.signature_name for log in logs] == [
        "serving_default", "stylize_with_options"]
    assert all(log.predict_log.request.model_spec.name == "cbam_relu4_1" for log in logs)


@pytest.mark.parametrize("batch, size, style_size", [(1, (40, 48), (36, 52)), (2, (33, 57), (64, 40))])
def test_reload_matches_keras(exported, rng, batch, size, style_size):
    model, _, loaded = exported
    content = rng.uniform(size=(batch, *size, 3)).astype(np.float32)
    style = rng.uniform(size=(1, *style_size, 3)).astype(np.float32)
    out = loaded.signatures["serving_default"](content_image=content, style_image=style)["stylized_image"]
    assert out.shape == (batch, *size, 3)
    expected = build_stylizer(model)({"content_image": content, "style_image": style})["stylized_image"]
    np.testing.assert_allclose(out.numpy(), expected.numpy(), atol=TOLERANCE)
    if batch == 1:
        single = tcs.stylize(content[0], style[0], model=model, style_max_size=None).image
        np.testing.assert_allclose(out.numpy()[0], single, atol=TOLERANCE)


@pytest.mark.parametrize("method", ["adain", "wct"])
def test_batch_elements_are_independent(exported, rng, method):
    # Without the style swap's argmax, a batch of 3 and three batches of 1
    # differ by float32 round-off only (measured at most 1e-6 for wct, from
    # its Newton-Schulz matmuls, and 6e-8 for adain): 1e-5 again.
    model, _, _ = exported
    stylizer = build_stylizer(model, StylizeOptions(method=method))
    content = rng.uniform(size=(3, 40, 40, 3)).astype(np.float32)
    style = rng.uniform(size=(1, 40, 40, 3)).astype(np.float32)
    batch = stylizer({"content_image": content, "style_image": style})["stylized_image"].numpy()
    for i in range(3):
        single = stylizer({"content_image": content[i:i + 1], "style_image": style})["stylized_image"]
        np.testing.assert_allclose(batch[i], single.numpy()[0], atol=TOLERANCE)


def test_options_signature_matches_keras(exported, rng):
    model, _, loaded = exported
    content = rng.uniform(size=(1, 48, 40, 3)).astype(np.float32)
    style = rng.uniform(size=(1, 40, 40, 3)).astype(np.float32)
    options = default_options()
    options.update(alpha=np.float32(0.7), num_regions=np.int32(3), preserve_color=np.bool_(True),
                   stroke_scales=np.array([0.5, 1.0], np.float32), color_transfer=np.float32(0.4))
    out = loaded.signatures["stylize_with_options"](content_image=content, style_image=style, **options)
    expected = tcs.stylize(content[0], style[0], model=model, alpha=0.7, num_regions=3,
                           preserve_color=True, stroke_scales=(0.5, 1.0), color_transfer=0.4)
    np.testing.assert_allclose(out["stylized_image"].numpy()[0], expected.image, atol=TOLERANCE)
    np.testing.assert_allclose(out["attention_map"].numpy()[0, ..., 0], expected.attention_map, atol=TOLERANCE)


@pytest.mark.parametrize("change, message", [
    ({"content_image": np.zeros((1, 20, 40, 3), np.float32)}, "at least 32x32"),
    ({"content_image": np.full((1, 40, 40, 3), np.nan, np.float32)}, "NaN"),
    ({"alpha": np.float32(1.5)}, "alpha"),
    ({"num_regions": np.int32(0)}, "num_regions"),
    ({"stroke_scales": np.array([0.0, 1.0], np.float32)}, "stroke_scales"),
    ({"style_image": np.zeros((3, 40, 40, 3), np.float32)}, "batch"),
])
def test_bad_inputs_fail_with_invalid_argument(exported, change, message):
    _, _, loaded = exported
    inputs = {"content_image": np.full((2, 40, 40, 3), 0.5, np.float32),
              "style_image": np.full((1, 40, 40, 3), 0.5, np.float32), **default_options()}
    inputs.update(change)
    with pytest.raises(tf.errors.InvalidArgumentError, match=message):
        loaded.signatures["stylize_with_options"](**inputs)


def test_existing_version_is_kept_unless_overwrite(exported):
    model, result, _ = exported
    base = os.path.dirname(result.path)
    with pytest.raises(FileExistsError, match="overwrite"):
        export_saved_model(model, base, version=3, warmup=False)
    with pytest.raises(ValueError, match="Received: version=0"):
        export_saved_model(model, base, version=0)


def test_export_command_writes_every_model_and_refuses_to_overwrite(tiny_model_path, tmp_path, monkeypatch, capsys):
    import shutil

    from tf_cbam_style.cli import main

    for name in ("cbam_relu4_1", "self_attention_relu4_1"):
        (tmp_path / name).mkdir()
        shutil.copy(tiny_model_path, tmp_path / name / "model.keras")
    monkeypatch.setenv("TF_CBAM_STYLE_MODEL_DIR", str(tmp_path))
    assert main(["export", "saved-model", "--no-warmup"]) == 0
    assert (tmp_path / "cbam_relu4_1" / "1" / "saved_model.pb").is_file()
    assert (tmp_path / "self_attention_relu4_1" / "1" / "saved_model.pb").is_file()
    assert main(["export", "saved-model", "--no-warmup"]) == 2
    assert "exists; pass --overwrite" in capsys.readouterr().err
