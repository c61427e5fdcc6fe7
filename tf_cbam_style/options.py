"""The stylization knobs, their defaults and checks, and the method registry.

This module is the one home of these facts: the Python API, the command
line, the pipeline, the SavedModel signatures, the serving client and the
test stand-in all read them from here, and `tf-cbam-style export tfjs`
writes them for the web demo (`web_demo/model/options.json`). It imports
neither TensorFlow nor Keras, so the command line can check its arguments
before loading either.

A new transfer method is one file under `tf_cbam_style/transfers/` (a
function `transfer(pipeline, content, style, options)`) plus one line in
`METHODS` here.
"""

import collections
import dataclasses
import difflib
import warnings

import numpy as np

MethodSpec = collections.namedtuple("MethodSpec", ["transfer", "attention", "description"])
MethodSpec.__doc__ = """One stylization method.

Attributes:
    transfer: the feature transfer, a module name under
        `tf_cbam_style.transfers`.
    attention: the attention kind the method needs its model trained with
        (`"cbam"` or `"self_attention"`), or `None`: any model's decoder
        (the shipped CBAM model by default), with its attention used only
        for the map.
    description: one line for help texts and reports.
"""

# The method registry: name -> MethodSpec, in the order of tables and help.
METHODS = {
    "cbam": MethodSpec("multi_stroke", "cbam", "CBAM attention, multi-stroke style swap (ours)"),
    "self_attention": MethodSpec("multi_stroke", "self_attention",
                                 "AAMS self-attention, multi-stroke style swap (Yao et al. 2019)"),
    "adain": MethodSpec("adain", None, "AdaIN at the encoder depth (Huang & Belongie 2017)"),
    "wct": MethodSpec("wct", None, "whitening and colouring (Li et al. 2017)"),
    "style_swap": MethodSpec("style_swap", None, "single-scale style swap (Chen & Schmidt 2016)"),
}
METHOD_NAMES = tuple(METHODS)
TRANSFERS = tuple(dict.fromkeys(spec.transfer for spec in METHODS.values()))
ATTENTIONS = ("cbam", "self_attention")
# Compute precisions of training (`AttentionAutoencoder.set_precision`; weights stay float32).
PRECISIONS = ("float32", "mixed_bfloat16")
DEPTHS = ("relu3_1", "relu4_1", "relu5_1")
DEFAULT_DEPTH = "relu4_1"
STRIDES = {"relu3_1": 4, "relu4_1": 8, "relu5_1": 16}

# Which part of the photo is stylized; the other part stays the photo.
REGIONS = ("all", "foreground", "background")

DEFAULT_ALPHA = 1.0
DEFAULT_STROKE_SCALES = (0.5, 0.7071, 1.0)  # AAMS: 1/2, 1/sqrt(2), 1
DEFAULT_NUM_REGIONS = 4  # AAMS: K = 4
DEFAULT_COLOR_TRANSFER = 1.0  # the decoded image takes the style's colour statistics in full
# The colour transfer's regularisation (`StylizePipeline.color_transform`):
# the RGB covariances of the decoded image and of the style get
# COLOR_TRANSFER_MIN_VARIANCE (a std of 0.03, about 8 levels of 8 bits) in
# every direction, then, like every covariance of the WCT,
# COLOR_TRANSFER_EPSILON of their mean eigenvalue; so a direction in which
# the output hardly varies (a nearly flat output) is not blown up into
# noise, and a flat style is defined. Its matrix roots take
# COLOR_TRANSFER_ITERATIONS Newton-Schulz steps.
COLOR_TRANSFER_MIN_VARIANCE = 1e-3
COLOR_TRANSFER_EPSILON = 0.05
COLOR_TRANSFER_ITERATIONS = 20
# The colour transfer's luminance step (`models.pipeline.luminance_match`):
# after the affine map (unclipped), the image's BT.601 luma goes through the
# piecewise-linear curve between LUMINANCE_QUANTILES evenly spaced quantiles
# of it and of the style's luma (histogram matching), a share
# LUMINANCE_MATCH of the way. The affine map matches only mean and
# covariance, which leaves the blacks of a mostly black style grey, and
# clips what it pushes beyond black or white into flat patches; the curve
# brings those tones into the style's range in order. An image whose luma
# has an interquartile range under LUMINANCE_MIN_SPREAD (nearly flat) gets
# the step in proportion, so that its noise is not stretched to the
# style's range (docs/ablation.md §9).
LUMINANCE_QUANTILES = 33
LUMINANCE_MATCH = 1.0
LUMINANCE_MIN_SPREAD = 0.05
# The curve's steepest segment (`models.pipeline.cap_curve_slope`): a rise of
# at most LUMINANCE_MAX_SLOPE times its width, the rest given back to the
# other segments in LUMINANCE_SLOPE_ITERATIONS rounds; None: no cap. Off:
# caps of 2 and 4 changed no score on the 20 ablation pairs, the curve's
# stretch being its overall gain (docs/ablation.md §13).
LUMINANCE_MAX_SLOPE = None
LUMINANCE_SLOPE_ITERATIONS = 8
MAX_NUM_REGIONS = 16
# The per-channel spread factor of the pipeline's feature feedback
# (`models.pipeline.feedback_correction`) is clipped to this range, so that
# a channel the first decoding left (almost) empty is not blown up.
FEEDBACK_SCALE_RANGE = (0.25, 4.0)
PATCH_SIZE = 5  # style-swap patch, AAMS
FUSION_THETA = 50.0  # softmax sharpness of the stroke fusion, AAMS
# The region composite's matte edge (`ForegroundComposite.refine`): the
# attention-derived matte is binarised at 0.5 and snapped to the photo's
# edges by a guided filter (He et al. 2010) with the photo as its colour
# guide, of radius MATTE_REFINE_RADIUS image pixels and regularisation
# MATTE_REFINE_EPSILON. Chosen on 60 SOD photos among radii 2-16 and
# epsilons 1e-6-1e-2 (docs/results.md): the kept region's mean CIEDE2000
# from the photo fell from 5.32 / 3.35 (foreground / background mode) with
# the soft matte to 2.22 / 1.08, within the target of 3, with the edge
# still a soft feather (radius 8). With the stronger colours of the
# luminance step (stop 24) radius 8 blended them into the kept region
# (foreground mode 3.18, over the target) and radius 4 measured 1.73 / 0.40;
# a blind judge found its edge crisper, with less halo, on 16 of 16 pairs
# (docs/ablation.md §11). web_demo/js/tiling.js has the same filter.
MATTE_REFINE_RADIUS = 4
MATTE_REFINE_EPSILON = 1e-3
MIN_IMAGE_SIZE = 32  # pixels, shorter side of any content or style
DEFAULT_STYLE_MAX_SIZE = 512  # pixels, longer side of the style
# The web demo's full-resolution (tiled) mode, web_demo/js/tiling.js: the
# largest photo it takes, 4096 x 4096 = 16.8 megapixels (the canvas area
# limit of Safari on iOS, the smallest of the major browsers'), and the bytes
# per photo pixel that the page and its worker allocate for a run (a bound:
# not all are alive at once): the decoded upload (4), the canvas it is read
# through (4), its RGBA pixels in the worker (4), the float32 RGB
# accumulator (12), the RGBA result (4) and the result canvas (4); 537 MB at
# the limit.
WEB_MAX_TILED_PIXELS = 4096 * 4096
WEB_TILED_BYTES_PER_PIXEL = 4 + 4 + 4 + 12 + 4 + 4


def model_name(attention, depth=DEFAULT_DEPTH):
    """The shipped model folder name, e.g. `cbam_relu4_1`."""
    return f"{attention}_{depth}"


def check_method(method):
    """Returns `method` if registered, else raises a `ValueError` naming the closest one."""
    if method not in METHODS:
        close = difflib.get_close_matches(str(method), METHOD_NAMES, n=1)
        hint = f" Did you mean {close[0]!r}?" if close else ""
        raise ValueError(f"`method` must be one of {METHOD_NAMES}.{hint} Received: method={method!r}")
    return method


def model_attention(method):
    """The attention of the shipped model that `method` runs on.

    A method with an attention of its own (`self_attention`) needs a model
    trained with it; the others (`cbam`, `adain`, `wct`, `style_swap`) run
    on the CBAM model (its encoder and decoder).
    """
    return METHODS[check_method(method)].attention or "cbam"


def transfer_for(method, attention_kind):
    """The transfer kind of `method` for a model trained with `attention_kind`.

    Raises:
        ValueError: for an unknown method, or one that needs a model trained
            with another attention.
    """
    spec = METHODS[check_method(method)]
    if spec.attention is not None and spec.attention != attention_kind:
        raise ValueError(
            f"`method={method!r}` needs a model trained with that attention ({spec.attention!r}); "
            f"this model uses {attention_kind!r}. Received: method={method!r}"
        )
    return spec.transfer


def _check_unit_float(value, name):
    """`value` as a float in [0, 1] (not a bool); else `ValueError` naming `name`."""
    try:
        number = float(value)
    except (TypeError, ValueError):
        number = float("nan")
    if isinstance(value, (bool, np.bool_)) or not 0.0 <= number <= 1.0:
        raise ValueError(f"`{name}` must be a float in [0, 1]. Received: {name}={value!r}")
    return number


def _check_stroke_scales(stroke_scales):
    if isinstance(stroke_scales, (str, bytes)) or not np.iterable(stroke_scales):
        raise ValueError(
            "`stroke_scales` must be a sequence of floats in (0, 1] such as (0.5, 1.0). "
            f"Received: stroke_scales={stroke_scales!r}"
        )
    try:
        scales = tuple(float(s) for s in stroke_scales)
    except (TypeError, ValueError):
        scales = ()
    if not scales or any(not 0.0 < s <= 1.0 for s in scales):
        raise ValueError(
            "`stroke_scales` must be a non-empty sequence of floats in (0, 1]. "
            f"Received: stroke_scales={stroke_scales!r}"
        )
    return scales


def _check_num_regions(num_regions):
    if (
        isinstance(num_regions, (bool, np.bool_))
        or not isinstance(num_regions, (int, np.integer))
        or not 1 <= int(num_regions) <= MAX_NUM_REGIONS
    ):
        raise ValueError(
            f"`num_regions` must be an int in [1, {MAX_NUM_REGIONS}]. Received: num_regions={num_regions!r}"
        )
    return int(num_regions)


def _check_region(region):
    if region not in REGIONS:
        raise ValueError(f"`region` must be one of {REGIONS}. Received: region={region!r}")
    return region


@dataclasses.dataclass(frozen=True)
class StylizeOptions:
    """The run-time knobs of one stylization, checked once when made.

    Attributes:
        method: a name of `METHODS`. Defaults to `"cbam"`.
        alpha: float in [0, 1], stylization strength: 0 gives the decoder's
            reconstruction of the content (no style at all), 1 full style.
        stroke_scales: floats in (0, 1], the style resize factors of the
            multi-stroke swap; 1.0 gives the finest strokes. The order does
            not matter (the swap sorts them from fine to coarse).
        num_regions: int in [1, 16], saliency levels `K` of the stroke fusion.
        preserve_color: keep the content's colours (luminance transfer).
        color_transfer: float in [0, 1], how far the decoded image's RGB
            mean and covariance are moved to the style image's (times
            alpha); 0 keeps the decoder's own colours. Defaults to 1.
        region: `"all"` (default), `"foreground"` (only the salient object
            is stylized) or `"background"` (the object stays the photo).

    Raises:
        ValueError: naming the first bad field and its value.

    Example:

    >>> StylizeOptions(alpha=0.5, stroke_scales=[0.5, 1]).stroke_scales
    (0.5, 1.0)
    """

    method: str = "cbam"
    alpha: float = DEFAULT_ALPHA
    stroke_scales: tuple = DEFAULT_STROKE_SCALES
    num_regions: int = DEFAULT_NUM_REGIONS
    preserve_color: bool = False
    region: str = "all"
    color_transfer: float = DEFAULT_COLOR_TRANSFER

    def __post_init__(self):
        check_method(self.method)
        object.__setattr__(self, "alpha", _check_unit_float(self.alpha, "alpha"))
        object.__setattr__(self, "stroke_scales", _check_stroke_scales(self.stroke_scales))
        object.__setattr__(self, "num_regions", _check_num_regions(self.num_regions))
        if not isinstance(self.preserve_color, (bool, np.bool_)):
            raise ValueError(
                f"`preserve_color` must be a bool. Received: preserve_color={self.preserve_color!r}"
            )
        object.__setattr__(self, "preserve_color", bool(self.preserve_color))
        _check_region(self.region)
        object.__setattr__(self, "color_transfer", _check_unit_float(self.color_transfer, "color_transfer"))

    @property
    def spec(self):
        """The method's `MethodSpec`."""
        return METHODS[self.method]

    def replace(self, **changes):
        """A copy with `changes` applied (and checked)."""
        return dataclasses.replace(self, **changes)


def resolve_region(region="all", foreground_only=None):
    """The region from the `region` knob and the deprecated `foreground_only` flag.

    `foreground_only=True` means `region="foreground"` and warns with a
    `DeprecationWarning`; combining it with another region is an error.
    """
    _check_region(region)
    if foreground_only is None or foreground_only is False:
        return region
    warnings.warn(
        "`foreground_only` is deprecated; use region='foreground'.", DeprecationWarning, stacklevel=3
    )
    if region not in ("all", "foreground"):
        raise ValueError(
            "`foreground_only=True` contradicts `region`. "
            f"Received: foreground_only=True, region={region!r}"
        )
    return "foreground"


# ---------------------------------------------------------------------------
# The serving signatures (also the TF.js graph's inputs)
# ---------------------------------------------------------------------------

SIGNATURE_DEFAULT = "serving_default"
SIGNATURE_OPTIONS = "stylize_with_options"
SIGNATURES = (SIGNATURE_DEFAULT, SIGNATURE_OPTIONS)

InputSpec = collections.namedtuple("InputSpec", ["name", "dtype", "shape"])
InputSpec.__doc__ = """One signature input: name, numpy dtype name, shape (`None`: any size)."""

IMAGE_INPUTS = (
    InputSpec("content_image", "float32", (None, None, None, 3)),
    InputSpec("style_image", "float32", (None, None, None, 3)),
)
OPTION_INPUTS = (
    InputSpec("alpha", "float32", ()),
    InputSpec("stroke_scales", "float32", (None,)),
    InputSpec("num_regions", "int32", ()),
    InputSpec("preserve_color", "bool", ()),
    InputSpec("region", "int32", ()),  # index into REGIONS
    InputSpec("color_transfer", "float32", ()),
    InputSpec("mask", "float32", (None, None, None, 1)),  # max < 0: no mask
)
SIGNATURE_INPUTS = {
    SIGNATURE_DEFAULT: IMAGE_INPUTS,
    SIGNATURE_OPTIONS: IMAGE_INPUTS + OPTION_INPUTS,
}
SIGNATURE_OUTPUTS = {
    SIGNATURE_DEFAULT: ("stylized_image",),
    SIGNATURE_OPTIONS: ("stylized_image", "attention_map"),
}
# Also returned (clients need not read them): the region composite's matte,
# `(batch, H, W, 1)` in [0, 1], which the web demo's tiles share.
SIGNATURE_EXTRA_OUTPUTS = {SIGNATURE_DEFAULT: (), SIGNATURE_OPTIONS: ("matte",)}


def no_mask():
    """The `mask` input meaning "no mask, use the attention": `(1, 1, 1, 1)` of -1."""
    return np.full((1, 1, 1, 1), -1.0, np.float32)


def option_inputs(options=None, mask=None):
    """The option inputs of `stylize_with_options` as numpy arrays.

    Args:
        options: a `StylizeOptions` (the defaults when `None`).
        mask: `None`, or a float32 `(batch or 1, H, W, 1)` mask in [0, 1].
    """
    options = options if options is not None else StylizeOptions()
    return {
        "alpha": np.float32(options.alpha),
        "stroke_scales": np.asarray(options.stroke_scales, np.float32),
        "num_regions": np.int32(options.num_regions),
        "preserve_color": np.bool_(options.preserve_color),
        "region": np.int32(REGIONS.index(options.region)),
        "color_transfer": np.float32(options.color_transfer),
        "mask": no_mask() if mask is None else np.asarray(mask, np.float32),
    }


def web_demo_options():
    """The defaults and ranges the web demo shows, as a JSON-ready dict."""
    return {
        "alpha": DEFAULT_ALPHA,
        "strokeScales": list(DEFAULT_STROKE_SCALES),
        "numRegions": DEFAULT_NUM_REGIONS,
        "maxNumRegions": MAX_NUM_REGIONS,
        "preserveColor": False,
        "region": "all",
        "regions": list(REGIONS),
        "colorTransfer": DEFAULT_COLOR_TRANSFER,
        "colorTransferMinVariance": COLOR_TRANSFER_MIN_VARIANCE,
        "colorTransferEpsilon": COLOR_TRANSFER_EPSILON,
        "colorTransferIterations": COLOR_TRANSFER_ITERATIONS,
        "luminanceQuantiles": LUMINANCE_QUANTILES,
        "luminanceMatch": LUMINANCE_MATCH,
        "luminanceMinSpread": LUMINANCE_MIN_SPREAD,
        "matteRefineRadius": MATTE_REFINE_RADIUS,
        "matteRefineEpsilon": MATTE_REFINE_EPSILON,
        "minImageSize": MIN_IMAGE_SIZE,
        "styleMaxSize": DEFAULT_STYLE_MAX_SIZE,
        "maxTiledPixels": WEB_MAX_TILED_PIXELS,
        "tiledBytesPerPixel": WEB_TILED_BYTES_PER_PIXEL,
    }
