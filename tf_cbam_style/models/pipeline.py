"""The one stylization pipeline, as an ordered list of stages.

Everything that stylizes goes through `StylizePipeline`: the Python API
(`api.stylize`, one `tf.function` traced once per model, options and method
as run-time tensors), the Keras functional model of `build_stylizer`
(options fixed), the SavedModel signatures and the TF.js graph (options as
run-time inputs), and the profiler (each stage timed on its own). The stages:

1. `encoder`: pad content and style to the encoder stride and encode both
   (relu1_1 .. the depth);
2. `attention`: the trained attention on the instance-normalised content
   features, exactly as in training, giving the attended features `A` (what
   the decoder was trained to reconstruct) and the saliency map; a user
   mask replaces the map;
3. the method's transfer stages (`tf_cbam_style.transfers`), giving the
   fully stylized features `T`;
4. `blend`: `alpha * T + (1 - alpha) * A`, and the decoder's skip statistics
   `alpha * style + (1 - alpha) * content`; so alpha 0 is the autoencoder's
   reconstruction of the content for every method;
5. `decoder`: decode, remove the stride-periodic pattern
   (`PeriodicNoiseFilter`), crop to the content's size and transfer the
   style's colours: the decoded image's RGB mean and covariance are matched
   to the style image's (the colouring transform on the three channels),
   then its luminance histogram is moved toward the style's (blended by
   alpha times the `color_transfer` option), because the
   decoder reproduces the colours of the coloured features only in part
   (docs/ablation.md). With the optional feature feedback
   (`feature_feedback`, off by default) this first output is encoded
   again, the features get back the per-channel mean and spread the
   decoding lost (`feedback_correction`, blended by alpha) and are decoded
   again, the final output;
6. `output`: colour preservation, the region composite (`region`
   foreground / background, with the attention-derived matte snapped to the
   photo's edges by a guided filter, or the user's mask as given) and the
   attention map at image resolution.
"""

import numpy as np
import tensorflow as tf

from tf_cbam_style import options as opts
from tf_cbam_style.arrays import LUMA
from tf_cbam_style.layers.adain import AdaIN
from tf_cbam_style.layers.color_preservation import ColorPreservation
from tf_cbam_style.layers.foreground_composite import ForegroundComposite
from tf_cbam_style.layers.multi_stroke_fusion import MultiStrokeFusion
from tf_cbam_style.layers.periodic_noise_filter import PeriodicNoiseFilter
from tf_cbam_style.layers.style_swap import StyleSwap
from tf_cbam_style.layers.whitening_coloring import WhiteningColoring
from tf_cbam_style.models.decoder import feature_statistics
from tf_cbam_style.transfers import transfer_stages

FLAT_CONTENT_STD = 1e-3  # below one 8-bit level: a blank photo
# The Gaussian (pixels) that separates the periodic filter's high-pass
# residual: 3 px leaves 6 % of the 8 px pattern's fundamental in the image
# (the layer's default of 2 px leaves 29 %, which kept the style swap's grid
# score above 1.1; docs/ablation.md).
PERIODIC_FILTER_SIGMA = 3.0
# The same-phase neighbourhood (per axis) over which the filter estimates
# the pattern: 3 (a 24 px window at relu4_1) follows the pattern's changes
# in amplitude across the image, which the layer's default of 9 (72 px)
# averages away. A blind judge preferred it on 16 of 16 pairs for its
# weaker fine grid; its grid score is higher, because a local estimate
# notches the exact harmonics less (docs/ablation.md §8).
PERIODIC_FILTER_CELLS = 3
# Inputs of `StylizePipeline.run` besides the images, with their dtypes.
RUNTIME_OPTIONS = {
    "alpha": tf.float32,
    "stroke_scales": tf.float32,
    "num_regions": tf.int32,
    "preserve_color": tf.bool,
    "region": tf.int32,
    "color_transfer": tf.float32,
}


def option_tensors(options):
    """`StylizeOptions` -> the run-time option tensors of `StylizePipeline.run`."""
    return {
        "alpha": tf.constant(options.alpha, tf.float32),
        "stroke_scales": tf.constant(options.stroke_scales, tf.float32),
        "num_regions": tf.constant(options.num_regions, tf.int32),
        "preserve_color": tf.constant(options.preserve_color),
        "region": tf.constant(opts.REGIONS.index(options.region), tf.int32),
        "color_transfer": tf.constant(options.color_transfer, tf.float32),
    }


def affine_color_map(image, mean, matrix, style_mean):
    """`(image - mean) @ matrix + style_mean` per pixel, unclipped (the colour transfer's first step)."""
    shape = tf.shape(image)
    flat = tf.reshape(image, [shape[0], -1, 3])
    return tf.reshape(tf.matmul(flat - mean, matrix) + style_mean, shape)


def luma(image):
    """The BT.601 luma `(batch, H, W, 1)` of RGB `image` `(batch, H, W, 3)`."""
    return tf.reduce_sum(image * tf.constant(LUMA, image.dtype), axis=-1, keepdims=True)


def luminance_quantiles(image, count=None):
    """`count` evenly spaced quantiles `(batch, count)` of the luma of `image`.

    The k-th of `n` sorted luma values is taken at the index
    `floor((k (n - 1) + (count - 1) // 2) / (count - 1))` (the nearest rank,
    in integers, so web_demo/js/tiling.js takes the same values); the first
    is the minimum, the last the maximum.

    Args:
        image: `(batch, H, W, 3)` RGB (in [0, 1], or the affine colour
            map's output, which may leave it).
        count: int >= 2, the number of quantiles. Defaults to
            `options.LUMINANCE_QUANTILES`.
    """
    count = opts.LUMINANCE_QUANTILES if count is None else int(count)
    values = tf.sort(tf.reshape(luma(image), [tf.shape(image)[0], -1]), axis=-1)
    last = tf.shape(values)[1] - 1
    index = (tf.range(count) * last + (count - 1) // 2) // (count - 1)
    return tf.gather(values, index, axis=1)


def luminance_match(image, source_quantiles, target_quantiles, share=None):
    """Moves the luma of `image` toward the curve that sends `source_quantiles` to `target_quantiles`.

    Histogram matching of the luminance by quantiles: the luma `y` of each
    pixel goes through the piecewise-linear curve through the points
    `(source_quantiles[k], target_quantiles[k])` (flat beyond the ends; a
    run of equal source quantiles, a spike of one tone, sends that tone to
    the middle of its target values), and the pixel's three channels move
    by `s * (curve(y) - y)`, which keeps its chroma. `s` is `share` times
    `min(1, iqr / options.LUMINANCE_MIN_SPREAD)`, with `iqr` the distance
    between the source's quartiles: a nearly flat image is not stretched
    into its noise.

    Args:
        image: `(batch, H, W, 3)` RGB (the affine map's output, which may
            leave [0, 1]).
        source_quantiles: `(batch, q)`, ascending (`luminance_quantiles` of
            the image, or of the whole photo a tile belongs to); q >= 5.
        target_quantiles: `(batch or 1, q)`, ascending (the style's).
        share: float in [0, 1], how far to move. Defaults to
            `options.LUMINANCE_MATCH`.

    Returns:
        `(batch, H, W, 3)`, unclipped.

    Example:

    >>> styled = luminance_match(image, luminance_quantiles(image), luminance_quantiles(style))
    """
    share = opts.LUMINANCE_MATCH if share is None else share
    y = luma(image)
    source = tf.cast(source_quantiles, image.dtype)
    target = tf.cast(target_quantiles, image.dtype)
    count = source.shape[-1]
    iqr = source[:, 3 * (count - 1) // 4] - source[:, (count - 1) // 4]
    strength = tf.cast(share, image.dtype) * tf.minimum(1.0, iqr / opts.LUMINANCE_MIN_SPREAD)
    curve = tf.broadcast_to(target[:, :1], tf.shape(source[:, :1]))[:, None, None, :]
    for k in range(count - 1):  # one segment at a time: no (H, W, q) tensor
        low = source[:, k:k + 1][:, None, None, :]
        width = (source[:, k + 1:k + 2] - source[:, k:k + 1])[:, None, None, :]
        rise = (target[:, k + 1:k + 2] - target[:, k:k + 1])[:, None, None, :]
        tie = tf.cast(width < 1e-6, image.dtype)
        curve += rise * tf.clip_by_value((y - low) / tf.maximum(width, 1e-6) + 0.5 * tie, 0.0, 1.0)
    return image + strength[:, None, None, None] * (curve - y)


def cap_curve_slope(source_quantiles, target_quantiles, max_slope, iterations=None):
    """Target quantiles whose curve from `source_quantiles` rises at most `max_slope` per segment.

    The luminance curve (`luminance_match`) rises `target[k+1] - target[k]`
    over `source[k+1] - source[k]`; where the image has few tones in a
    range the style spreads wide, that slope is steep and stretches the
    decoder's fine rounding and pattern in those tones. Each segment's rise
    is capped at `max_slope` times its width, and what the caps remove is
    given back to the uncapped segments in proportion to their width (a
    constant slope added, as contrast-limited equalisation redistributes a
    clipped histogram), found by `iterations` rounds of water filling, so
    the curve keeps the style's black and white points wherever the slopes
    allow. A run of equal source quantiles (one tone) gets no rise.

    Args:
        source_quantiles: `(batch, q)`, ascending (the mapped image's).
        target_quantiles: `(batch or 1, q)`, ascending (the style's).
        max_slope: float > 0, or None for no cap (the pipeline passes
            its `luminance_max_slope`, `options.LUMINANCE_MAX_SLOPE`).
        iterations: int >= 1, water-filling rounds. Defaults to
            `options.LUMINANCE_SLOPE_ITERATIONS`.

    Returns:
        `(batch, q)`: ascending, starting at `target[:, 0]`.

    Raises:
        ValueError: `max_slope` is not None and not > 0.

    Example:

    >>> target = cap_curve_slope(luminance_quantiles(image), luminance_quantiles(style), 4.0)
    """
    source = tf.convert_to_tensor(source_quantiles, tf.float32)
    target = tf.broadcast_to(tf.convert_to_tensor(target_quantiles, tf.float32), tf.shape(source))
    if max_slope is None:
        return target
    if not float(max_slope) > 0:
        raise ValueError(f"`max_slope` must be > 0 or None. Received: max_slope={max_slope!r}")
    iterations = opts.LUMINANCE_SLOPE_ITERATIONS if iterations is None else int(iterations)
    width = source[:, 1:] - source[:, :-1]
    rise = target[:, 1:] - target[:, :-1]
    cap = float(max_slope) * width
    total = tf.reduce_sum(rise, axis=-1, keepdims=True)
    added = tf.zeros_like(total)  # the slope given back to the uncapped segments
    for _ in range(iterations):
        raised = rise + added * width
        free = tf.reduce_sum(tf.where(raised < cap, width, 0.0), axis=-1, keepdims=True)
        excess = total - tf.reduce_sum(tf.minimum(cap, raised), axis=-1, keepdims=True)
        added += tf.where(free > 1e-6, excess / tf.maximum(free, 1e-6), 0.0)
    capped = tf.minimum(cap, rise + added * width)
    return tf.concat([target[:, :1], target[:, :1] + tf.cumsum(capped, axis=-1)], axis=-1)


def apply_color_transform(image, transform, luminance_share=None):
    """Applies `StylizePipeline.color_transform`'s map to `image` (the full transfer, unclipped).

    `transform` is `(mean, matrix, style_mean, source_quantiles,
    style_quantiles)`: the affine map (`affine_color_map`), then the
    luminance step (`luminance_match`, a share `luminance_share`, default
    `options.LUMINANCE_MATCH`, of the way).
    """
    mean, matrix, style_mean, source_quantiles, style_quantiles = transform
    return luminance_match(affine_color_map(image, mean, matrix, style_mean), source_quantiles,
                           style_quantiles, luminance_share)


def feedback_correction(target, measured, current_mean=None):
    """The per-channel affine map that gives back the feature statistics a decoder lost.

    The decoder, trained only to reconstruct photos, gives the stylized
    features' statistics back only in part: encoding its output again, the
    features' spread and means fall short of those it was asked for (the
    style's, after colouring). With `(mu_t, sigma_t)` the statistics asked
    for, `f` the features just decoded (mean `mu_f`) and `(mu_m, sigma_m)`
    the statistics of the decoded image's features, the corrected features
    are `(f - mu_f) * s + mu_f + (mu_t - mu_m)`, `s = sigma_t / sigma_m`
    clipped to `options.FEEDBACK_SCALE_RANGE`: the spread scaled by what
    the output lacked, the mean moved by what it missed; as an affine map
    `f * scale + shift`. docs/ablation.md §7 has the measured effect.

    Args:
        target: `(mean, std)`, each `(batch, 1, 1, c)`: the statistics asked
            for (`feature_statistics` of the features the blend gave).
        measured: `(mean, std)` of the decoded image's features, the same shapes.
        current_mean: `(batch, 1, 1, c)`, the mean of the features that were
            decoded; defaults to the target's mean (the first round).

    Returns:
        `(scale, shift)`, each `(batch, 1, 1, c)` float32.

    Example:

    >>> scale, shift = feedback_correction(feature_statistics(f), feature_statistics(encoder(first)))
    >>> corrected = f * scale + shift
    """
    (target_mean, target_std), (measured_mean, measured_std) = (
        tuple(tf.cast(t, tf.float32) for t in pair) for pair in (target, measured))
    current_mean = target_mean if current_mean is None else tf.cast(current_mean, tf.float32)
    low, high = opts.FEEDBACK_SCALE_RANGE
    scale = tf.clip_by_value(target_std / tf.maximum(measured_std, 1e-5), low, high)
    return scale, current_mean * (1.0 - scale) + target_mean - measured_mean


def blend_correction(correction, alpha):
    """`(scale, shift)` blended toward the identity by `alpha` (alpha 0: the identity)."""
    scale, shift = correction
    alpha = tf.cast(alpha, tf.float32)
    return 1.0 + alpha * (scale - 1.0), alpha * shift


class StylizePipeline:
    """The stylization pipeline of one trained `AttentionAutoencoder`.

    The encoder, attention and decoder are the model's own layers (shared
    weights); the transfer layers have no weights.

    Args:
        autoencoder: a built `AttentionAutoencoder`.
        remove_periodic_noise: bool, whether the decoder's output goes
            through `PeriodicNoiseFilter` with the encoder's stride as its
            period (removes the stride-periodic "grid" a briefly trained
            decoder leaves; see docs/ablation.md). Defaults to `True`.
        transfer_colors: bool, whether the colour transfer stage is in the
            graph at all (its strength is the run-time `color_transfer`
            option times alpha; see `color_transform`). Defaults to `True`.
        feature_feedback: int >= 0, the rounds of feature feedback before
            the final decoding: in each, the features are decoded, the
            output is encoded again and the decoder's input features get the
            per-channel statistics it lost back (`feedback_correction`);
            each round is one more decoder and encoder pass (lower style
            loss, but more fine texture, which a blind judge saw as a
            grid; docs/ablation.md §7). Defaults to 0: one decoding (the
            API, the exports and the tiled mode all decode once).

    Example:

    >>> pipeline = StylizePipeline(model)
    >>> out = pipeline.run({"content_image": c, "style_image": s}, "multi_stroke",
    ...                    option_tensors(StylizeOptions()))
    >>> out["stylized_image"].shape  # (1, H, W, 3) in [0, 1]
    """

    def __init__(self, autoencoder, remove_periodic_noise=True, transfer_colors=True,
                 feature_feedback=0):
        if not autoencoder.built:
            autoencoder.build()
        self.autoencoder = autoencoder
        self.depth = autoencoder.depth
        self.stride = autoencoder.encoder.stride
        self.wct = WhiteningColoring(name="whitening_coloring")
        self.swap = StyleSwap(patch_size=opts.PATCH_SIZE, stroke_scales=(1.0,), name="style_swap")
        self.fusion = MultiStrokeFusion(num_regions=opts.DEFAULT_NUM_REGIONS, theta=opts.FUSION_THETA,
                                        name="fusion")
        self.adain = AdaIN(name="adain")
        self.color_preservation = ColorPreservation(name="preserve_color")
        self.composite = ForegroundComposite(feather=1.0, name="region_composite")
        self.remove_periodic_noise = bool(remove_periodic_noise)
        self.periodic_noise_filter = (
            PeriodicNoiseFilter(period=self.stride, cells=PERIODIC_FILTER_CELLS, sigma=PERIODIC_FILTER_SIGMA,
                                name="periodic_noise_filter")
            if remove_periodic_noise else None)
        self.transfer_colors = bool(transfer_colors)
        if isinstance(feature_feedback, bool):
            feature_feedback = int(feature_feedback)
        if not isinstance(feature_feedback, (int, np.integer)) or feature_feedback < 0:
            raise ValueError("`feature_feedback` must be an int >= 0 (the feedback rounds). "
                             f"Received: feature_feedback={feature_feedback!r}")
        self.feature_feedback = int(feature_feedback)
        # The colour transfer's luminance step, a share of the way
        # (`luminance_match`); the ablation varies it.
        self.luminance_share = opts.LUMINANCE_MATCH
        # Its curve's steepest slope (`cap_curve_slope`; None: no cap).
        self.luminance_max_slope = opts.LUMINANCE_MAX_SLOPE
        self.color_wct = WhiteningColoring(epsilon=opts.COLOR_TRANSFER_EPSILON,
                                           iterations=opts.COLOR_TRANSFER_ITERATIONS, name="color_transfer")
        # Imported here, not while tracing (AutoGraph cannot convert importlib).
        self._transfer_stages = {kind: transfer_stages(kind) for kind in opts.TRANSFERS}

    # -- which transfers this model can run ------------------------------

    def check_method(self, method):
        """The transfer kind of `method` (see `options.transfer_for`)."""
        return opts.transfer_for(method, self.autoencoder.attention_kind)

    # -- the stages -------------------------------------------------------

    def _pad(self, images):
        m = self.stride
        h, w = tf.shape(images)[1], tf.shape(images)[2]
        return tf.pad(images, [[0, 0], [0, (-h) % m], [0, (-w) % m], [0, 0]], mode="REFLECT")

    def encode(self, state):
        encoder = self.autoencoder.encoder
        new = {}
        if "content_features" not in state:
            new["content_features"] = encoder(self._pad(state["content_image"]), return_intermediate=True)
        if "style_features" not in state:
            new["style_features"] = encoder(self._pad(state["style_image"]), return_intermediate=True)
        return new

    def attend(self, state):
        # A tile of a larger photo (`tiling`) brings the whole photo's
        # instance statistics, attention and saliency in `state`.
        attended = self.autoencoder.attend(state["content_features"][self.depth],
                                           statistics=state.get("content_statistics"),
                                           attention=state.get("attention"))
        new = {"attended": attended["features"]}
        if "saliency" in state:
            return new
        saliency = self.fusion.saliency(attended["attention_map"])
        # A blank photo has no salient object: its raw map varies only at the
        # borders (VGG's zero padding), which min-max normalisation would
        # stretch to [0, 1]. Photos whose pixels vary by less than
        # FLAT_CONTENT_STD (RGB std in [0, 1]) get a flat zero map.
        _, variance = tf.nn.moments(state["content_image"], axes=[1, 2, 3], keepdims=True)
        flat = tf.sqrt(variance) < FLAT_CONTENT_STD
        saliency = tf.where(flat, tf.zeros_like(saliency), saliency)
        mask = state.get("mask")
        if mask is not None:
            # A user mask (max >= 0) replaces the attention map as it is,
            # without min-max normalisation; max < 0 means "no mask".
            content = state["content_image"]
            size = tf.shape(content)[1:3]
            mask = tf.cast(mask, saliency.dtype)
            mask_image = tf.clip_by_value(tf.image.resize(mask, size, method="bilinear"), 0.0, 1.0)
            mask_image = tf.broadcast_to(mask_image, tf.shape(content[..., :1]))
            padded = self._pad_to(mask_image, tf.shape(state["content_features"]["relu1_1"])[1:3])
            # The padded size is exactly the stride times the map's size, so
            # this is the area resize (TF.js has no ResizeArea op).
            resized = tf.nn.avg_pool2d(padded, self.stride, self.stride, "VALID")
            use_mask = tf.reduce_max(mask) >= 0.0
            saliency = tf.where(use_mask, tf.clip_by_value(resized, 0.0, 1.0), saliency)
            new["mask_image"] = mask_image
            new["use_mask"] = use_mask
        new["saliency"] = saliency
        return new

    @staticmethod
    def _pad_to(images, size):
        h, w = tf.shape(images)[1], tf.shape(images)[2]
        return tf.pad(images, [[0, 0], [0, size[0] - h], [0, size[1] - w], [0, 0]], mode="SYMMETRIC")

    def blend(self, state):
        alpha = tf.cast(state["alpha"], tf.float32)
        features = alpha * state["transferred"] + (1.0 - alpha) * state["attended"]
        statistics = {}
        given = state.get("content_skip_statistics", {})
        for name in self.autoencoder.decoder.statistics_layers:
            content_mean, content_std = given.get(name) or feature_statistics(state["content_features"][name])
            style_mean, style_std = feature_statistics(state["style_features"][name])
            statistics[name] = (alpha * style_mean + (1.0 - alpha) * content_mean,
                                alpha * style_std + (1.0 - alpha) * content_std)
        return {"features": features, "statistics": statistics}

    def decode(self, state):
        decoder = self.autoencoder.decoder
        features, statistics = state["features"], state["statistics"]
        if self.feature_feedback:
            scale, shift = blend_correction(self.feedback(features, state), state["alpha"])
            features = features * tf.cast(scale, features.dtype) + tf.cast(shift, features.dtype)
        return {"decoded": self.finish_decoded(decoder(features, statistics=statistics), state)}

    def feedback(self, features, state):
        """The feature feedback's `(scale, shift)` for `features`, before the alpha blend.

        Each of the `feature_feedback` rounds decodes the features corrected
        so far, encodes the output again and composes one more
        `feedback_correction` toward the statistics of `features`.
        """
        decoder, encoder = self.autoencoder.decoder, self.autoencoder.encoder
        target = feature_statistics(features)
        scale = tf.ones_like(target[1], tf.float32)
        shift = tf.zeros_like(target[0], tf.float32)
        current = features
        for _ in range(self.feature_feedback):
            decoded = self.finish_decoded(decoder(current, statistics=state["statistics"]), state)
            measured = feature_statistics(encoder(self._pad(decoded)))
            step_scale, step_shift = feedback_correction(target, measured, feature_statistics(current)[0])
            scale, shift = scale * step_scale, shift * step_scale + step_shift
            current = features * tf.cast(scale, features.dtype) + tf.cast(shift, features.dtype)
        return scale, shift

    def finish_decoded(self, image, state):
        """The decoder's raw output -> the periodic filter, the crop and the colour transfer."""
        if self.periodic_noise_filter is not None:
            # On the padded output, whose grid is the feature grid.
            image = self.periodic_noise_filter(tf.clip_by_value(image, 0.0, 1.0))
        h, w = tf.shape(state["content_image"])[1], tf.shape(state["content_image"])[2]
        image = tf.clip_by_value(image[:, :h, :w, :], 0.0, 1.0)
        if self.transfer_colors:
            # A tile of a larger photo brings the whole photo's transform.
            transform = state.get("color_transform")
            if transform is None:
                transform = self.color_transform(image, state["style_image"])
            image = self.transfer_color(image, transform, state)
        return image

    def transfer_color(self, image, transform, state):
        """`image` moved by `transform` (`color_transform`) by alpha times the `color_transfer` option, in [0, 1]."""
        strength = tf.cast(state["alpha"], tf.float32) * tf.cast(state["color_transfer"], tf.float32)
        return tf.clip_by_value(
            strength * apply_color_transform(image, transform, self.luminance_share) + (1.0 - strength) * image,
            0.0, 1.0)

    def color_transform(self, image, style):
        """The colour map giving `image` the colours and tones of `style`.

        Two steps. The affine RGB map that matches the mean and covariance:
        the colouring transform of WCT on the three colour channels (a
        linear colour transfer, as in Reinhard et al. 2001 but with the full
        covariance), both covariances regularised as
        `options.COLOR_TRANSFER_MIN_VARIANCE` and `COLOR_TRANSFER_EPSILON`
        say (a flat style then leaves a faint copy of the image's
        structure). Then the luminance step (`luminance_match`): the mapped
        image's luma goes through the curve from its quantiles to the
        style's, a share `options.LUMINANCE_MATCH` of the way; this gives
        a mostly black style its blacks where mean and covariance leave a
        grey haze, and brings the tones the affine map pushed beyond black
        or white back in order instead of clipping them flat
        (docs/ablation.md §9). web_demo/js/tiling.js has the same map in
        JavaScript.

        Args:
            image: `(batch, H, W, 3)` RGB in [0, 1].
            style: `(batch or 1, Hs, Ws, 3)` RGB in [0, 1].

        Returns:
            `(mean, matrix, style_mean, source_quantiles, style_quantiles)`:
            `(batch, 1, 3)`, `(batch, 3, 3)`, `(batch or 1, 1, 3)`,
            `(batch, q)` and `(batch or 1, q)`, for `apply_color_transform`
            (q is `options.LUMINANCE_QUANTILES`).
        """
        mean, covariance = self.color_wct.statistics(image)
        floor = tf.constant(opts.COLOR_TRANSFER_MIN_VARIANCE * np.eye(3, dtype=np.float32))
        _, inverse_sqrt = self.color_wct.matrix_roots(covariance + floor)
        style_mean, style_covariance = self.color_wct.statistics(style)
        style_sqrt, _ = self.color_wct.matrix_roots(style_covariance + floor)  # a flat style too
        matrix = tf.matmul(inverse_sqrt, style_sqrt)
        source_quantiles = luminance_quantiles(affine_color_map(image, mean, matrix, style_mean))
        target_quantiles = luminance_quantiles(style)
        if self.luminance_max_slope is not None:
            target_quantiles = cap_curve_slope(source_quantiles, target_quantiles, self.luminance_max_slope)
        return mean, matrix, style_mean, source_quantiles, target_quantiles

    def output(self, state):
        content = state["content_image"]
        image = state["decoded"]
        image = tf.where(tf.cast(state["preserve_color"], tf.bool),
                         self.color_preservation(image, content), image)
        h, w = tf.shape(content)[1], tf.shape(content)[2]
        padded_size = tf.shape(state["saliency"])[1:3] * self.stride
        saliency = tf.image.resize(state["saliency"], padded_size, method="bilinear")
        attention_map = tf.clip_by_value(saliency[:, :h, :w, :], 0.0, 1.0)
        if "matte" in state:  # a tile's crop of the whole photo's matte
            matte = state["matte"]
        else:
            soft = self.composite.soft_matte(state["saliency"], padded_size)[:, :h, :w, :]
            matte = self.composite.refine(soft, content)
        if "mask_image" in state:
            matte = tf.where(state["use_mask"], state["mask_image"], matte)
        region = tf.cast(state["region"], tf.int32)
        foreground = matte * image + (1.0 - matte) * content
        background = matte * content + (1.0 - matte) * image
        image = tf.where(tf.equal(region, 1), foreground, tf.where(tf.equal(region, 2), background, image))
        return {"stylized_image": image, "attention_map": attention_map, "matte": matte}

    def stages(self, transfer):
        """The ordered `(name, function)` stages for the transfer kind `transfer`.

        Each function takes the state dict and returns new entries.
        """
        if transfer not in opts.TRANSFERS:
            raise ValueError(f"`transfer` must be one of {opts.TRANSFERS}. Received: transfer={transfer!r}")
        inner = [(name, (lambda state, f=f: f(self, state))) for name, f in self._transfer_stages[transfer]]
        return ([("encoder", self.encode), ("attention", self.attend)] + inner
                + [("blend", self.blend), ("decoder", self.decode), ("output", self.output)])

    # -- running ------------------------------------------------------------

    def run(self, inputs, transfer, options):
        """Runs the pipeline; works eagerly, in a `tf.function` and in Keras.

        Args:
            inputs: dict with `content_image` `(batch, H, W, 3)`,
                `style_image` `(batch or 1, Hs, Ws, 3)` (RGB float32 in
                [0, 1], at least 32 px a side), and optionally `mask`
                `(batch or 1, h, w, 1)` in [0, 1] (max < 0: no mask).
            transfer: a transfer kind of `options.TRANSFERS` (see
                `check_method`); it shapes the graph.
            options: dict of run-time option tensors (`option_tensors`);
                `stroke_scales` may also be a Python tuple (fixed scales).

        Returns:
            A dict with `stylized_image` `(batch, H, W, 3)` in [0, 1],
            `attention_map` `(batch, H, W, 1)` in [0, 1] and `matte`
            `(batch, H, W, 1)`, the region composite's matte.
        """
        state = dict(inputs)
        state.update(options)
        for _, stage in self.stages(transfer):
            state.update(stage(state))
        return {k: state[k] for k in ("stylized_image", "attention_map", "matte")}
