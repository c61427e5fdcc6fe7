"""The one pipeline: fixed vs run-time options, alpha ends, masks, regions, no retracing."""

import re

import numpy as np
import pytest
import tensorflow as tf

import tf_cbam_style as tcs
from tf_cbam_style.layers import PeriodicNoiseFilter
from tf_cbam_style.models.pipeline import (PERIODIC_FILTER_CELLS, PERIODIC_FILTER_SIGMA, StylizePipeline,
                                           option_tensors)
from tf_cbam_style.options import METHOD_NAMES, StylizeOptions


@pytest.fixture(scope="module")
def model(tiny_model_path):
    return tcs.load_model(tiny_model_path)


@pytest.fixture(scope="module")
def skip_model():
    from tf_cbam_style.models import AttentionAutoencoder

    model = AttentionAutoencoder(depth="relu3_1", skip_statistics=True, decoder_upsampling="bilinear",
                                 encoder_weights=None)
    model.build()
    return model


def _images(rng, size=(40, 48), style_size=(44, 36)):
    return (rng.uniform(size=(1, *size, 3)).astype(np.float32),
            rng.uniform(size=(1, *style_size, 3)).astype(np.float32))


def test_fixed_and_runtime_stroke_scales_agree(model, rng):
    content, style = _images(rng)
    pipeline = StylizePipeline(model)
    options = StylizeOptions(alpha=0.6, stroke_scales=(0.5, 1.0), num_regions=3)
    runtime = option_tensors(options)
    fixed = dict(runtime, stroke_scales=options.stroke_scales)
    inputs = {"content_image": content, "style_image": style}
    a = pipeline.run(inputs, "multi_stroke", runtime)["stylized_image"].numpy()
    b = pipeline.run(inputs, "multi_stroke", fixed)["stylized_image"].numpy()
    np.testing.assert_allclose(a, b, atol=1e-5)


@pytest.mark.parametrize("method", [m for m in METHOD_NAMES if m != "self_attention"])
def test_alpha_zero_is_the_reconstruction_for_every_method(model, skip_model, rng, method):
    content, style = _images(rng)
    for m in (model, skip_model):
        # The decoder's output after the pipeline's PeriodicNoiseFilter (40 x 48 is a multiple of
        # the stride, so the pipeline pads nothing).
        decoded = np.clip(m(content)["reconstruction"].numpy(), 0, 1)
        reconstruction = PeriodicNoiseFilter(period=m.encoder.stride, cells=PERIODIC_FILTER_CELLS,
                                             sigma=PERIODIC_FILTER_SIGMA)(decoded).numpy()[0]
        zero = tcs.stylize(content[0], style[0], method=method, alpha=0.0, model=m).image
        np.testing.assert_allclose(zero, reconstruction, atol=1e-5)
        other_style = tcs.stylize(content[0], style[0, ::-1] * 0.5, method=method, alpha=0.0, model=m).image
        np.testing.assert_allclose(zero, other_style, atol=1e-5)


@pytest.mark.parametrize("method", [m for m in METHOD_NAMES if m != "self_attention"])
def test_alpha_one_is_full_style_and_alpha_moves_monotonically(skip_model, rng, method):
    content, style = _images(rng)
    outputs = [tcs.stylize(content[0], style[0], method=method, alpha=a, model=skip_model).image
               for a in (0.0, 0.5, 1.0)]
    full = tcs.stylize(content[0], style[0], method=method, model=skip_model).image
    np.testing.assert_array_equal(outputs[2], full)  # alpha defaults to 1
    change = [np.abs(o - outputs[0]).mean() for o in outputs]
    assert change[0] == 0 and 0 < change[1] < change[2]


def test_changing_options_and_methods_does_not_retrace(model, rng):
    from tf_cbam_style import api

    content, style = _images(rng)
    for alpha, scales, regions in ((1.0, (0.5, 1.0), 2), (0.3, (1.0,), 4), (0.7, (0.5, 0.7071, 1.0), 3)):
        tcs.stylize(content[0], style[0], alpha=alpha, stroke_scales=scales, num_regions=regions, model=model)
    tcs.stylize(content[0, :36], style[0, :40], model=model, region="background", preserve_color=True)
    function = api.pipeline_function(model, "multi_stroke")
    assert function.experimental_get_tracing_count() == 1


def test_user_mask_is_used_as_given_and_regions_keep_the_other_part(model, rng):
    content, style = _images(rng, size=(64, 64))
    mask = np.zeros((64, 64), np.float32)
    mask[16:48, 16:48] = 1.0
    full = tcs.stylize(content[0], style[0], model=model, mask=mask)
    fg = tcs.stylize(content[0], style[0], model=model, mask=mask, region="foreground")
    bg = tcs.stylize(content[0], style[0], model=model, mask=mask, region="background")
    inside, outside = mask > 0.5, mask < 0.5
    np.testing.assert_allclose(fg.image[outside], content[0][outside], atol=1e-6)
    np.testing.assert_allclose(fg.image[inside], full.image[inside], atol=1e-6)
    np.testing.assert_allclose(bg.image[inside], content[0][inside], atol=1e-6)
    np.testing.assert_allclose(bg.image[outside], full.image[outside], atol=1e-6)


def test_foreground_only_is_a_deprecated_alias(model, rng):
    content, style = _images(rng)
    with pytest.warns(DeprecationWarning, match="region='foreground'"):
        old = tcs.stylize(content[0], style[0], model=model, foreground_only=True).image
    new = tcs.stylize(content[0], style[0], model=model, region="foreground").image
    np.testing.assert_array_equal(old, new)
    with pytest.raises(ValueError, match="contradicts"):
        tcs.stylize(content[0], style[0], model=model, foreground_only=True, region="background")


def test_profiler_and_keras_model_run_the_same_pipeline(model, rng):
    from tf_cbam_style.evaluation.profile import STAGES, profile_pipeline
    from tf_cbam_style.models import build_stylizer

    content, style = _images(rng, size=(48, 40), style_size=(40, 40))
    options = StylizeOptions(alpha=0.7, num_regions=3, preserve_color=True, stroke_scales=(0.5, 1.0))
    keras_out = build_stylizer(model, options)({"content_image": content, "style_image": style})
    api_out = tcs.stylize(content[0], style[0], model=model, alpha=0.7, num_regions=3, preserve_color=True,
                          stroke_scales=(0.5, 1.0), style_max_size=None)
    # Same ops on the same inputs, but the Keras model sees static image sizes
    # and the API's tf.function dynamic ones, so oneDNN may pick other conv
    # kernels: float32 round-off, measured at most 1.1e-5 before the colour
    # transfer, which multiplies it by its gain (this untrained decoder's
    # near-grey output against a uniform-noise style: up to about 30), and
    # the luminance curve's steep segments again at a few pixels: measured
    # (three fresh models, 2026-12-03) a mean of 0.7e-4 to 1.4e-4 and a
    # maximum of 0.5e-3 to 1.4e-3. A real difference is larger: alpha 0.69
    # instead of 0.7 gives a mean of 1.7e-3 to 2.8e-3 and a maximum of
    # 8e-3 to 1.7e-2; three regions instead of two more still.
    difference = np.abs(keras_out["stylized_image"].numpy()[0] - api_out.image)
    assert difference.mean() < 5e-4 and difference.max() < 3e-3, (difference.mean(), difference.max())
    profile = profile_pipeline(model, content[0], style[0], repeats=1, options=options)
    assert list(profile.stages) == list(STAGES)


@pytest.mark.parametrize("value", [1.0, 0.99])
def test_all_one_mask_means_everything_is_foreground(model, rng, value):
    content, style = _images(rng, size=(48, 48))
    mask = np.full((48, 48), value, np.float32)
    full = tcs.stylize(content[0], style[0], model=model, mask=mask).image
    fg = tcs.stylize(content[0], style[0], model=model, mask=mask, region="foreground").image
    bg = tcs.stylize(content[0], style[0], model=model, mask=mask, region="background").image
    np.testing.assert_allclose(fg, value * full + (1 - value) * content[0], atol=1e-5)
    np.testing.assert_allclose(bg, value * content[0] + (1 - value) * full, atol=1e-5)


@pytest.mark.parametrize("value", [0.0, 0.01])
def test_all_zero_mask_means_nothing_is_foreground(model, rng, value):
    content, style = _images(rng, size=(48, 48))
    mask = np.full((48, 48), value, np.float32)
    fg = tcs.stylize(content[0], style[0], model=model, mask=mask, region="foreground").image
    np.testing.assert_allclose(fg, content[0], atol=0.011)


def test_uint8_and_float_masks_agree(model, rng):
    content, style = _images(rng, size=(48, 48))
    soft = np.linspace(0, 1, 48 * 48, dtype=np.float32).reshape(48, 48)
    as_uint8 = np.round(soft * 255).astype(np.uint8)
    a = tcs.stylize(content[0], style[0], model=model, mask=as_uint8, region="foreground").image
    b = tcs.stylize(content[0], style[0], model=model, mask=as_uint8 / 255.0, region="foreground").image
    np.testing.assert_allclose(a, b, atol=1e-6)
    rgb = np.repeat((as_uint8 / 255.0)[..., None], 3, axis=-1)  # an RGB mask is read as its luminance
    c = tcs.stylize(content[0], style[0], model=model, mask=rgb, region="foreground").image
    np.testing.assert_allclose(c, b, atol=1e-5)


def test_blank_photo_has_a_flat_attention_map(model, rng):
    grey = np.full((48, 56, 3), 0.5, np.float32)
    _, style = _images(rng)
    result = tcs.stylize(grey, style[0], model=model)
    np.testing.assert_array_equal(result.attention_map, 0.0)
    fg = tcs.stylize(grey, style[0], model=model, region="foreground").image
    np.testing.assert_allclose(fg, grey, atol=0.01)  # no object: nothing to stylize


def test_ablation_hard_salient_split_binarises_the_saliency_by_two_means(tiny_model_path):
    import tensorflow as tf

    from tf_cbam_style.api import load_model
    from tf_cbam_style.evaluation.ablation import make_method, make_pipeline

    model = load_model(tiny_model_path)
    pipeline = make_pipeline(model, "hard_salient_split")
    saliency = tf.constant([0.1, 0.2, 0.3, 0.75, 0.9, 1.0], tf.float32)[None, :, None, None]
    split = pipeline.split_saliency({"saliency": saliency, "attended": 1})
    np.testing.assert_array_equal(split["saliency"].numpy().ravel(), [0, 0, 0, 1, 1, 1])
    assert split["attended"] == 1
    rng = np.random.default_rng(0)
    image = make_method(model, "hard_salient_split").stylize(
        rng.uniform(size=(32, 40, 3)).astype(np.float32), rng.uniform(size=(32, 32, 3)).astype(np.float32))
    assert image.shape == (32, 40, 3) and np.isfinite(image).all()
    with pytest.raises(ValueError, match="Received: variant='nope'"):
        make_pipeline(model, "nope")


def test_feedback_correction_matches_numpy():
    from tf_cbam_style.models.pipeline import blend_correction, feedback_correction
    from tf_cbam_style.options import FEEDBACK_SCALE_RANGE

    rng = np.random.default_rng(3)
    f = rng.normal(2.0, 3.0, size=(2, 4, 5, 6)).astype(np.float32)
    t_mean, t_std = rng.normal(size=(2, 1, 1, 6)), rng.uniform(1, 2, size=(2, 1, 1, 6))
    m_mean, m_std = rng.normal(size=(2, 1, 1, 6)), rng.uniform(0.5, 1, size=(2, 1, 1, 6))
    m_std[0, 0, 0, 0] = 1e-3  # an (almost) empty channel: its factor is clipped
    target = (t_mean.astype(np.float32), t_std.astype(np.float32))
    measured = (m_mean.astype(np.float32), m_std.astype(np.float32))
    scale, shift = (t.numpy() for t in feedback_correction(target, measured))
    factor = np.clip(t_std / m_std, *FEEDBACK_SCALE_RANGE)
    assert factor[0, 0, 0, 0] == FEEDBACK_SCALE_RANGE[1]
    want = (f - t_mean) * factor + t_mean + (t_mean - m_mean)
    np.testing.assert_allclose(f * scale + shift, want, rtol=1e-5, atol=1e-4)
    # Nothing lost (measured == target): the identity.
    scale, shift = feedback_correction(target, target)
    np.testing.assert_allclose(scale.numpy(), 1.0, rtol=1e-6)
    np.testing.assert_allclose(shift.numpy(), 0.0, atol=1e-5)
    # A later round centres on the mean of the features it decoded.
    current = rng.normal(size=(2, 1, 1, 6)).astype(np.float32)
    scale, shift = (t.numpy() for t in feedback_correction(target, measured, current))
    want = (f - current) * factor + current + (t_mean - m_mean)
    np.testing.assert_allclose(f * scale + shift, want, rtol=1e-5, atol=1e-4)
    # Alpha blends the map toward the identity (alpha 0: the identity).
    half_scale, half_shift = blend_correction((scale, shift), 0.5)
    np.testing.assert_allclose(half_scale.numpy(), 1.0 + 0.5 * (factor - 1.0), rtol=1e-5)
    np.testing.assert_allclose(half_shift.numpy(), 0.5 * shift, rtol=1e-5)
    zero_scale, zero_shift = blend_correction((scale, shift), 0.0)
    np.testing.assert_allclose(zero_scale.numpy(), 1.0)
    np.testing.assert_allclose(zero_shift.numpy(), 0.0)


def test_pipeline_feature_feedback_decodes_the_corrected_features(tiny_model_path):
    """The decoder stage: decode, encode the output, correct, decode again."""
    from tf_cbam_style.api import load_model
    from tf_cbam_style.models.decoder import feature_statistics
    from tf_cbam_style.models.pipeline import blend_correction, feedback_correction

    model = load_model(tiny_model_path)
    pipeline = StylizePipeline(model, feature_feedback=1)
    rng = np.random.default_rng(1)
    state = {"content_image": tf.constant(rng.uniform(size=(1, 32, 40, 3)), tf.float32),
             "style_image": tf.constant(rng.uniform(size=(1, 32, 32, 3)), tf.float32),
             **option_tensors(StylizeOptions())}
    for name, stage in pipeline.stages("multi_stroke"):
        if name == "decoder":
            break
        state.update(stage(state))
    decoder, features = model.decoder, state["features"]
    first = pipeline.finish_decoded(decoder(features, statistics=state["statistics"]), state)
    scale, shift = blend_correction(feedback_correction(
        feature_statistics(features), feature_statistics(model.encoder(pipeline._pad(first)))), state["alpha"])
    want = pipeline.finish_decoded(decoder(features * scale + shift, statistics=state["statistics"]), state)
    np.testing.assert_allclose(pipeline.decode(state)["decoded"].numpy(), want.numpy(), atol=1e-5)
    assert np.abs(want.numpy() - first.numpy()).max() > 1e-4
    # The shipped pipeline decodes once; at alpha 0 the feedback is the identity.
    assert StylizePipeline(model).feature_feedback == 0
    np.testing.assert_allclose(StylizePipeline(model).decode(state)["decoded"].numpy(), first.numpy(), atol=1e-6)
    at_zero = dict(state, alpha=tf.constant(0.0))
    np.testing.assert_allclose(pipeline.decode(at_zero)["decoded"].numpy(),
                               StylizePipeline(model).decode(at_zero)["decoded"].numpy(), atol=1e-5)
    # Two rounds: the second corrects the first round's decoding again.
    twice = StylizePipeline(model, feature_feedback=2)
    second = twice.finish_decoded(decoder(features * scale + shift, statistics=state["statistics"]), state)
    step = feedback_correction(feature_statistics(features),
                               feature_statistics(model.encoder(pipeline._pad(second))),
                               feature_statistics(features * scale + shift)[0])
    want_scale, want_shift = scale * step[0], shift * step[0] + step[1]
    got_scale, got_shift = twice.feedback(features, state)
    # Two decoder and encoder passes of float32 round-off, each factor up to 4
    # on this untrained model: measured up to 1.7e-5 relative.
    np.testing.assert_allclose(got_scale.numpy(), want_scale.numpy(), rtol=1e-4)
    np.testing.assert_allclose(got_shift.numpy(), want_shift.numpy(), rtol=1e-3, atol=1e-2)
    for bad in (-1, 1.5, "2"):
        with pytest.raises(ValueError, match=re.escape(f"Received: feature_feedback={bad!r}")):
            StylizePipeline(model, feature_feedback=bad)


def test_ablation_periodic_filter_cells(tiny_model_path):
    from tf_cbam_style.api import load_model
    from tf_cbam_style.evaluation.ablation import make_pipeline

    model = load_model(tiny_model_path)
    shipped = StylizePipeline(model).periodic_noise_filter
    assert (shipped.cells, shipped.sigma) == (PERIODIC_FILTER_CELLS, PERIODIC_FILTER_SIGMA) == (3, 3.0)
    old = make_pipeline(model, "periodic_filter_cells_9").periodic_noise_filter
    assert (old.cells, old.sigma) == (9, PERIODIC_FILTER_SIGMA)
    both = make_pipeline(model, "feature_feedback+periodic_filter_sigma_2")
    assert (both.periodic_noise_filter.cells, both.periodic_noise_filter.sigma, both.feature_feedback) == (3, 2.0, 1)
    with pytest.raises(ValueError, match="same stage"):
        make_pipeline(model, "periodic_filter_cells_9+periodic_filter_sigma_2")


def test_ablation_feedback_combined_and_cascade_variants(tiny_model_path, tmp_path):
    from tf_cbam_style.api import load_model, stylize
    from tf_cbam_style.evaluation.ablation import make_method
    from tf_cbam_style.models import AttentionAutoencoder
    from tf_cbam_style.training import export_model

    model = load_model(tiny_model_path)
    rng = np.random.default_rng(0)
    content = rng.uniform(size=(32, 40, 3)).astype(np.float32)
    style = rng.uniform(size=(32, 32, 3)).astype(np.float32)
    base = make_method(model, "pipeline").stylize(content, style)
    feedback = make_method(model, "feature_feedback").stylize(content, style)
    assert feedback.shape == base.shape and np.isfinite(feedback).all()
    assert 0.0 <= feedback.min() and feedback.max() <= 1.0
    assert np.abs(feedback - base).max() > 1e-4
    assert np.abs(make_method(model, "feature_feedback_2").stylize(content, style) - feedback).max() > 1e-5
    # A combined variant changes both stages.
    both = make_method(model, "feature_feedback+salient_alpha_0.5").stylize(content, style)
    assert np.abs(both - feedback).max() > 1e-4
    for bad in ("feature_feedback+decoder_statistics", "feature_feedback+feature_feedback_2",
                "pipeline+scales_1", "scales_1+nope"):
        with pytest.raises(ValueError, match=f"Received: variant='{re.escape(bad)}'"):
            make_method(model, bad)

    shallow = AttentionAutoencoder(depth="relu3_1", attention="cbam", encoder_weights=None)
    shallow.build()
    refine = load_model(export_model(shallow, str(tmp_path / "relu3_1.keras")))
    cascade = make_method(model, "cascade_adain_relu3_1", refine).stylize(content, style)
    want = stylize(base, style, method="adain", model=refine, return_attention=False).image
    np.testing.assert_allclose(cascade, want, atol=1e-5)
    with pytest.raises(ValueError, match="Received: refine_model.depth='relu4_1'"):
        make_method(model, "cascade_wct_relu3_1", model)


def _state_before(tiny_model_path, variant, last, seed):
    """`(pipeline, state, content, style)`: the ablation `variant`'s state after
    every stage before `last`, on random images (the default options)."""
    from tf_cbam_style.api import load_model
    from tf_cbam_style.evaluation.ablation import make_pipeline
    from tf_cbam_style.models.pipeline import option_tensors
    from tf_cbam_style.options import StylizeOptions

    pipeline = make_pipeline(load_model(tiny_model_path), variant)
    rng = np.random.default_rng(seed)
    content = rng.uniform(size=(1, 32, 40, 3)).astype(np.float32)
    style = rng.uniform(size=(1, 32, 32, 3)).astype(np.float32)
    options = StylizeOptions(method="cbam")
    state = {"content_image": content, "style_image": style, **option_tensors(options)}
    for name, stage in pipeline.stages(pipeline.check_method(options.method)):
        if name == last:
            return pipeline, state, content, style
        state.update(stage(state))
    raise AssertionError(last)


def test_ablation_salient_alpha_blends_by_the_saliency(tiny_model_path):
    from tf_cbam_style.evaluation.ablation import make_method

    pipeline, state, content, style = _state_before(tiny_model_path, "salient_alpha_0.5", "blend", seed=0)
    got = pipeline.blend_by_saliency(state)
    s = state["saliency"].numpy()
    transferred, attended = state["transferred"].numpy(), state["attended"].numpy()
    want = (1 - 0.5 * s) * transferred + 0.5 * s * attended  # alpha 1
    np.testing.assert_allclose(got["features"].numpy(), want, rtol=1e-5, atol=1e-5)
    assert 0.0 <= s.min() < 0.5 < s.max() <= 1.0  # the test means something: the saliency varies
    for name, (mean, std) in pipeline.blend(state)["statistics"].items():  # statistics stay global
        np.testing.assert_array_equal(got["statistics"][name][0].numpy(), mean.numpy())
        np.testing.assert_array_equal(got["statistics"][name][1].numpy(), std.numpy())
    image = make_method(pipeline.autoencoder, "salient_alpha_0.25").stylize(content[0], style[0])
    assert image.shape == (32, 40, 3) and np.isfinite(image).all()


def test_ablation_salient_photo_keeps_a_fraction_of_the_photo_in_the_matte(tiny_model_path):
    pipeline, state, content, _ = _state_before(tiny_model_path, "salient_photo_0.3", "output", seed=1)
    base = pipeline.output(state)
    got = pipeline.output_toward_photo(state)
    keep = 0.3 * base["matte"].numpy()
    want = keep * content + (1 - keep) * base["stylized_image"].numpy()
    np.testing.assert_allclose(got["stylized_image"].numpy(), want, rtol=1e-6, atol=1e-6)
    np.testing.assert_array_equal(got["matte"].numpy(), base["matte"].numpy())


def _luma(image):
    from tf_cbam_style.arrays import LUMA

    return image @ LUMA


def test_luminance_quantiles_are_nearest_ranks_of_the_sorted_luma(rng):
    from tf_cbam_style.models.pipeline import luminance_quantiles

    image = rng.uniform(size=(2, 7, 9, 3)).astype(np.float32)
    n = 7 * 9
    for count in (2, 5, 33):
        expected = [np.sort(_luma(b).ravel())[[(k * (n - 1) + (count - 1) // 2) // (count - 1)
                                                for k in range(count)]] for b in image]
        out = luminance_quantiles(tf.constant(image), count).numpy()
        np.testing.assert_allclose(out, np.stack(expected), atol=1e-6)
        assert out[0, 0] == pytest.approx(_luma(image[0]).min(), abs=1e-6)
        assert out[0, -1] == pytest.approx(_luma(image[0]).max(), abs=1e-6)


def test_luminance_match_is_the_interpolated_curve_and_keeps_chroma(rng):
    from tf_cbam_style.models.pipeline import luminance_match, luminance_quantiles

    image = rng.uniform(0.1, 0.9, size=(1, 10, 12, 3)).astype(np.float32)
    style = (rng.uniform(size=(1, 9, 8, 3)) ** 3).astype(np.float32)  # mostly dark
    source, target = luminance_quantiles(tf.constant(image)), luminance_quantiles(tf.constant(style))
    for share in (1.0, 0.75, 0.0):
        out = luminance_match(tf.constant(image), source, target, share).numpy()
        y = _luma(image[0])
        curve = np.interp(y, source.numpy()[0], target.numpy()[0])
        np.testing.assert_allclose(_luma(out[0]), y + share * (curve - y), atol=1e-5)
        # The three channels move alike: the differences between them stay.
        np.testing.assert_allclose(np.diff(out[0], axis=-1), np.diff(image[0], axis=-1), atol=1e-5)
    # The full match gives the image the style's luma quantiles.
    matched = luminance_match(tf.constant(image), source, target, 1.0)
    np.testing.assert_allclose(luminance_quantiles(matched).numpy(), target.numpy(), atol=1e-5)
    # Tones beyond black or white (the affine map is unclipped) come back in order.
    wide = image * 1.6 - 0.3
    out = luminance_match(tf.constant(wide), luminance_quantiles(tf.constant(wide)), target, 1.0).numpy()
    y, mapped = _luma(wide[0]).ravel(), _luma(out[0]).ravel()
    assert mapped.min() >= target.numpy().min() - 1e-6 and mapped.max() <= target.numpy().max() + 1e-6
    assert np.all(np.diff(mapped[np.argsort(y)]) >= -1e-6)


def _capped_rises(source, target, max_slope):
    """numpy reference of `cap_curve_slope`'s rises: min(cap, rise + lam * width), lam by bisection."""
    width, rise = np.diff(source), np.diff(target)
    cap = max_slope * width
    if cap.sum() <= rise.sum():  # the caps cannot hold the whole rise
        return cap
    low, high = 0.0, rise.sum() / max(width.sum(), 1e-12) + max_slope
    for _ in range(200):
        lam = 0.5 * (low + high)
        low, high = (lam, high) if np.minimum(cap, rise + lam * width).sum() < rise.sum() else (low, lam)
    return np.minimum(cap, rise + low * width)


def test_cap_curve_slope_matches_a_numpy_water_filling(rng):
    from tf_cbam_style.models.pipeline import cap_curve_slope

    source = np.sort(rng.uniform(0.2, 0.7, size=(3, 9)), axis=1).astype(np.float32)
    source[1, 2:5] = source[1, 2]  # a tie: one tone
    target = np.sort(rng.uniform(size=(1, 9)) ** 3, axis=1).astype(np.float32)  # mostly dark
    for max_slope in (1.5, 3.0, 100.0):
        out = cap_curve_slope(tf.constant(source), tf.constant(target), max_slope).numpy()
        assert out.shape == source.shape
        for b in range(3):
            rises = _capped_rises(source[b].astype(np.float64), target[0].astype(np.float64), max_slope)
            np.testing.assert_allclose(np.diff(out[b]), rises, atol=2e-6)
            np.testing.assert_allclose(out[b, 0], target[0, 0])
            assert np.all(np.diff(out[b]) <= max_slope * np.diff(source[b]) + 1e-6)  # the cap holds
        assert np.all(np.diff(out[1, 2:5]) == 0)  # a single tone gets no rise
    # A cap the curve never reaches leaves it as it is; the style's black and white points stay.
    np.testing.assert_allclose(cap_curve_slope(tf.constant(source[:1]), tf.constant(target), 1e6).numpy(),
                               target, atol=1e-6)
    np.testing.assert_allclose(cap_curve_slope(tf.constant(source), tf.constant(target), 3.0).numpy()[0, -1],
                               target[0, -1], atol=1e-6)
    # None (the option's default) is no cap.
    np.testing.assert_allclose(cap_curve_slope(tf.constant(source), tf.constant(target), None).numpy(),
                               np.broadcast_to(target, source.shape))
    with pytest.raises(ValueError, match=r"`max_slope` must be > 0 or None. Received: max_slope=0"):
        cap_curve_slope(tf.constant(source), tf.constant(target), 0)


def test_pipeline_luminance_max_slope_caps_the_transform(rng, tiny_model_path):
    from tf_cbam_style.api import load_model
    from tf_cbam_style.models.pipeline import StylizePipeline, cap_curve_slope

    pipeline = StylizePipeline(load_model(tiny_model_path))
    image = (rng.random((1, 12, 16, 3)) * 0.2 + 0.4).astype(np.float32)  # narrow tones: a steep curve
    style = rng.random((1, 9, 7, 3)).astype(np.float32)
    free = pipeline.color_transform(tf.constant(image), tf.constant(style))
    pipeline.luminance_max_slope = 2.0
    capped = pipeline.color_transform(tf.constant(image), tf.constant(style))
    np.testing.assert_allclose(capped[4].numpy(), cap_curve_slope(free[3], free[4], 2.0).numpy(), atol=1e-6)
    assert np.max(np.diff(free[4].numpy()) / np.maximum(np.diff(free[3].numpy()), 1e-9)) > 2.5
    assert np.all(np.diff(capped[4].numpy()) <= 2.0 * np.diff(capped[3].numpy()) + 1e-6)


def test_luminance_match_sends_a_spike_of_one_tone_to_the_middle_of_its_targets():
    from tf_cbam_style.models.pipeline import luminance_match

    image = np.zeros((1, 4, 4, 3), np.float32)
    image[0, 0, :] = 1.0  # one row white, the rest black
    source = tf.constant([[0.0, 0.0, 0.0, 0.5, 1.0]])  # quartiles 0 and 0.5: no fade
    target = tf.constant([[0.1, 0.2, 0.4, 0.5, 0.9]])
    out = luminance_match(tf.constant(image), source, target, 1.0).numpy()[0]
    # The tied segments (0 -> 0.1 -> 0.2 -> 0.4 at tone 0) give half their rise.
    np.testing.assert_allclose(_luma(out)[1:], 0.1 + 0.5 * 0.3, atol=1e-6)
    np.testing.assert_allclose(_luma(out)[0], 0.9, atol=1e-5)


def test_luminance_match_fades_for_a_nearly_flat_image(rng):
    from tf_cbam_style.models.pipeline import luminance_match, luminance_quantiles
    from tf_cbam_style.options import LUMINANCE_MIN_SPREAD

    style = rng.uniform(size=(1, 8, 8, 3)).astype(np.float32)
    target = luminance_quantiles(tf.constant(style))
    for spread in (0.01, 0.5):
        image = (0.5 + spread * (rng.uniform(size=(1, 16, 16, 1)) - 0.5)).repeat(3, -1).astype(np.float32)
        source = luminance_quantiles(tf.constant(image))
        iqr = source.numpy()[0, 24] - source.numpy()[0, 8]
        out = luminance_match(tf.constant(image), source, target, 1.0).numpy()
        y = _luma(image[0])
        full = np.interp(y, source.numpy()[0], target.numpy()[0])
        expected = y + min(1.0, iqr / LUMINANCE_MIN_SPREAD) * (full - y)
        np.testing.assert_allclose(_luma(out[0]), expected, atol=1e-5)
        if spread == 0.01:  # a nearly flat image keeps most of its flatness
            assert _luma(out[0]).std() < 0.3 * full.std()


def test_colour_transfer_moves_the_blacks_of_a_dark_style(model, rng):
    from tf_cbam_style.models.pipeline import apply_color_transform

    pipeline = StylizePipeline(model)
    image = rng.uniform(0.0, 1.0, size=(1, 40, 40, 3)).astype(np.float32) ** 0.5  # mostly light
    style = np.full((1, 40, 40, 3), 0.05, np.float32)  # 80 % near black, 20 % light tones
    style[0, :8] = rng.uniform(0.6, 1.0, size=(8, 40, 1))
    transform = pipeline.color_transform(tf.constant(image), tf.constant(style))
    affine = np.clip(apply_color_transform(tf.constant(image), transform, 0.0).numpy(), 0, 1)
    default = np.clip(apply_color_transform(tf.constant(image), transform).numpy(), 0, 1)
    # Mean and covariance alone leave the darkest 70 % grey (or clip part of it
    # flat); the luminance step gives them the style's near-black.
    dark = lambda out: np.sort(_luma(out[0]).ravel())[: int(0.7 * out[0, ..., 0].size)]  # noqa: E731
    print("darkest 70 %: affine mean", dark(affine).mean(), "default mean", dark(default).mean())
    assert dark(affine).mean() > 0.1
    assert abs(dark(default).mean() - 0.05) < 0.02
    assert np.quantile(_luma(default[0]), 0.9) > 0.6  # and its light tones stay light


def test_ablation_luminance_match_variants(tiny_model_path):
    from tf_cbam_style.api import load_model
    from tf_cbam_style.evaluation.ablation import make_pipeline
    from tf_cbam_style.options import LUMINANCE_MATCH

    model = load_model(tiny_model_path)
    assert StylizePipeline(model).luminance_share == LUMINANCE_MATCH == 1.0
    assert make_pipeline(model, "no_luminance_match").luminance_share == 0.0
    assert make_pipeline(model, "luminance_match_0.5+periodic_filter_cells_9").luminance_share == 0.5
    with pytest.raises(ValueError, match="same stage"):
        make_pipeline(model, "no_luminance_match+luminance_match_0.5")
    # The slope cap is its own stage: off in the pipeline, combinable with the share.
    assert StylizePipeline(model).luminance_max_slope is None
    assert make_pipeline(model, "luminance_max_slope_4+luminance_match_0.5").luminance_max_slope == 4.0
    with pytest.raises(ValueError, match="same stage"):
        make_pipeline(model, "luminance_max_slope_2+luminance_max_slope_4")


def test_ablation_periodic_filter_after_color(tiny_model_path, rng):
    from tf_cbam_style.api import load_model
    from tf_cbam_style.evaluation.ablation import make_pipeline

    model = load_model(tiny_model_path)
    content, style = _images(rng)
    inputs = {"content_image": content, "style_image": style}
    transfer = StylizePipeline(model).check_method("cbam")
    shipped, after = make_pipeline(model, "pipeline"), make_pipeline(model, "periodic_filter_after_color")
    plain = option_tensors(StylizeOptions(method="cbam", color_transfer=0.0))
    # Without the colour transfer the order does not matter.
    np.testing.assert_allclose(after.run(inputs, transfer, plain)["stylized_image"].numpy(),
                               shipped.run(inputs, transfer, plain)["stylized_image"].numpy(), atol=1e-6)
    full = option_tensors(StylizeOptions(method="cbam"))
    got = after.run(inputs, transfer, full)["stylized_image"].numpy()
    # The tiny untrained model's output is nearly flat: the orders differ by about 1e-3 at most.
    assert np.abs(got - shipped.run(inputs, transfer, full)["stylized_image"].numpy()).max() > 1e-4
    assert got.shape == content.shape and got.min() >= 0.0 and got.max() <= 1.0


def test_ablation_matte_refine_radius(tiny_model_path, rng):
    from tf_cbam_style.api import load_model
    from tf_cbam_style.evaluation.ablation import make_method, make_pipeline

    model = load_model(tiny_model_path)
    assert StylizePipeline(model).composite.refine_radius == 4
    assert make_pipeline(model, "matte_refine_radius_8").composite.refine_radius == 8
    content, style = _images(rng)
    shipped = make_method(model, "pipeline", region="foreground").stylize(content[0], style[0])
    wide = make_method(model, "matte_refine_radius_8", region="foreground").stylize(content[0], style[0])
    everywhere = make_method(model, "matte_refine_radius_8").stylize(content[0], style[0])
    assert np.abs(wide - shipped).max() > 1e-4  # the region mode's matte changed
    np.testing.assert_allclose(everywhere, make_method(model, "pipeline").stylize(content[0], style[0]),
                               atol=1e-6)  # region "all" has no matte
