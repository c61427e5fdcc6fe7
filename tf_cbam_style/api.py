"""The Python API: `stylize()` and `load_model()`."""

import collections
import os
import pathlib
import warnings
import weakref

import numpy as np

from tf_cbam_style import options as opts
from tf_cbam_style.arrays import as_image, as_mask

METHODS = opts.METHOD_NAMES

MODEL_ENV_VAR = "TF_CBAM_STYLE_MODEL_DIR"
# Each shipped model lives in `saved_models/<name>/`: `model.keras` for the
# Python API and the CLI, `<version>/` SavedModels for TF Serving and TF.js.
KERAS_FILE = "model.keras"

StylizeResult = collections.namedtuple("StylizeResult", ["image", "attention_map"])
StylizeResult.__doc__ = """Result of `stylize`.

Attributes:
    image: float32 `(H, W, 3)` RGB in [0, 1], the content's size.
    attention_map: float32 `(H, W)` in [0, 1], the saliency that guided the
        strokes, or `None` when `return_attention=False`.
"""

_MODEL_CACHE = {}  # resolved path -> (modification time, model)
_PIPELINE_CACHE = weakref.WeakKeyDictionary()  # model -> traced pipeline function


def models_dir():
    """The folder of shipped models: `$TF_CBAM_STYLE_MODEL_DIR` or `saved_models/`."""
    env = os.environ.get(MODEL_ENV_VAR)
    if env:
        return pathlib.Path(env)
    return pathlib.Path(__file__).resolve().parent.parent / "saved_models"


def default_model_path(attention="cbam", depth=opts.DEFAULT_DEPTH):
    """Path of the shipped `.keras` model trained with `attention` at `depth`."""
    return models_dir() / opts.model_name(attention, depth) / KERAS_FILE


def load_model(path=None, attention="cbam", depth=opts.DEFAULT_DEPTH):
    """Loads a trained `AttentionAutoencoder` from a `.keras` file.

    Args:
        path: a `.keras` file written by `tf-cbam-style train`, a shipped
            model's folder such as `saved_models/cbam_relu4_1` (its
            `model.keras`), or `None` for the shipped model with `attention`
            (`"cbam"` or `"self_attention"`).
        attention: which shipped model to use when `path` is `None`.
        depth: the shipped model's encoder depth when `path` is `None`.

    Returns:
        The model; loaded models are cached per path.

    Raises:
        FileNotFoundError: `path` is not a model file or folder; or its
            archive leaves out the VGG19 weights (the relu5_1 models) and
            the weights file cannot be found (nor downloaded).
        ValueError: the file holds another kind of model.
    """
    import keras

    import tf_cbam_style.layers  # noqa: F401  (registers the layers)
    from tf_cbam_style.models.attention_autoencoder import AttentionAutoencoder

    path = pathlib.Path(path) if path is not None else default_model_path(attention, depth)
    if path.is_dir():
        path = path / KERAS_FILE
    if not path.is_file():
        raise FileNotFoundError(
            "`path` must be a .keras model file or a folder holding model.keras "
            "(see `tf-cbam-style train`). "
            f"Received: path='{path}'"
        )
    key = str(path.resolve())
    mtime = path.stat().st_mtime_ns
    cached = _MODEL_CACHE.get(key)
    if cached is None or cached[0] != mtime:
        model = keras.saving.load_model(str(path), compile=False)
        if not isinstance(model, AttentionAutoencoder):
            raise ValueError(
                "`path` must hold an AttentionAutoencoder. "
                f"Received: path='{path}' holding {type(model).__name__}"
            )
        if not model.encoder.built:
            # An archive without the VGG19 weights (store_encoder_weights=False)
            # builds its encoder from the weights file; Keras turns a failure
            # there into a warning and an unbuilt model.
            from tf_cbam_style.models.vgg19_encoder import WEIGHTS_ENV_VAR

            raise FileNotFoundError(
                "`path` holds a model whose archive leaves out the VGG19 encoder weights, and they "
                f"could not be loaded: set ${WEIGHTS_ENV_VAR} to the Keras weights file of "
                "keras.applications.VGG19(include_top=False), or load it once online. "
                f"Received: path='{path}'"
            )
        _MODEL_CACHE[key] = (mtime, model)
    return _MODEL_CACHE[key][1]


def _resize(image, size):
    import tensorflow as tf

    return tf.image.resize(image[None], size, method="area", antialias=True)[0].numpy()


def fit_style(style, style_max_size):
    """Downscales `style` (same scale on both axes) so its longer side is at
    most `style_max_size` px, never below 32 px on the shorter side; `None`
    keeps it."""
    if style_max_size is None or max(style.shape[:2]) <= style_max_size:
        return style
    scale = max(style_max_size / max(style.shape[:2]), opts.MIN_IMAGE_SIZE / min(style.shape[:2]))
    if scale >= 1.0:
        return style
    return _resize(style, (round(style.shape[0] * scale), round(style.shape[1] * scale)))


def pipeline_function(model, transfer):
    """The model's pipeline for one transfer kind as a `tf.function`, traced once.

    Its argument is a dict of tensors: `content_image` `(1, H, W, 3)`,
    `style_image` `(1, Hs, Ws, 3)`, `mask` `(1, h, w, 1)` (max < 0: none)
    and the run-time options, so new sizes or knobs never retrace. Cached
    per model and transfer.
    """
    functions = _PIPELINE_CACHE.setdefault(model, {})
    if transfer not in functions:
        import tensorflow as tf

        from tf_cbam_style.models.pipeline import RUNTIME_OPTIONS, StylizePipeline

        pipeline = functions.get("pipeline") or StylizePipeline(model)
        functions["pipeline"] = pipeline
        signature = {
            "content_image": tf.TensorSpec([1, None, None, 3], tf.float32),
            "style_image": tf.TensorSpec([1, None, None, 3], tf.float32),
            "mask": tf.TensorSpec([1, None, None, 1], tf.float32),
        }
        for name, dtype in RUNTIME_OPTIONS.items():
            signature[name] = tf.TensorSpec([None] if name == "stroke_scales" else [], dtype)

        def run(inputs):
            images = {k: inputs[k] for k in ("content_image", "style_image", "mask")}
            return pipeline.run(images, transfer, {k: inputs[k] for k in RUNTIME_OPTIONS})

        # No AutoGraph: the pipeline has no data-dependent Python control flow,
        # and converting it (and every Keras layer it calls) was most of the
        # tracing time.
        functions[transfer] = tf.function(run, input_signature=[signature], autograph=False)
    return functions[transfer]


MASK_ASPECT_TOLERANCE = 0.02  # relative; a mask of another aspect ratio is stretched, with a warning


def _warn_if_stretched(mask, content):
    """Warns when the mask's aspect ratio differs from the content's by more than `MASK_ASPECT_TOLERANCE`."""
    (mh, mw), (h, w) = mask.shape[:2], content.shape[:2]
    if abs((mw / mh) / (w / h) - 1.0) > MASK_ASPECT_TOLERANCE:
        warnings.warn(f"`mask` is {mw}x{mh} px (aspect {mw / mh:.2f}) but the content is {w}x{h} "
                      f"(aspect {w / h:.2f}): the mask is stretched to the content; give it the content's "
                      "aspect ratio to avoid this.", UserWarning, stacklevel=3)


def stylize(
    content,
    style,
    *,
    method="cbam",
    alpha=opts.DEFAULT_ALPHA,
    stroke_scales=opts.DEFAULT_STROKE_SCALES,
    num_regions=opts.DEFAULT_NUM_REGIONS,
    preserve_color=False,
    mask=None,
    region="all",
    color_transfer=opts.DEFAULT_COLOR_TRANSFER,
    foreground_only=None,
    return_attention=True,
    style_max_size=opts.DEFAULT_STYLE_MAX_SIZE,
    style_scale=None,
    model=None,
    depth=opts.DEFAULT_DEPTH,
    tile_size="auto",
    progress=False,
):
    """Stylizes `content` with `style`, keeping the salient object's structure.

    Images and masks follow one rule by dtype (`tf_cbam_style.arrays`):
    uint8 / 255, uint16 / 65535, floats must be in [0, 1].

    Args:
        content: `(H, W, 3)` RGB (at least 32 px a side).
        style: `(Hs, Ws, 3)` RGB.
        method: `"cbam"` (default), `"self_attention"` (AAMS), `"adain"`,
            `"wct"` or `"style_swap"` (see `options.METHODS`).
        alpha: float in [0, 1], stylization strength: 0 gives the decoder's
            reconstruction of the content, 1 full style.
        stroke_scales: style resize factors for the strokes; 1.0 is the
            finest, smaller is coarser. Multi-stroke methods only.
        num_regions: int in [1, 16], saliency regions `K` of the stroke fusion.
        preserve_color: keep the content's colours.
        mask: optional `(H, W)` saliency in [0, 1] (1 = object) replacing the
            attention map for the fusion and the region composite; any size
            (resized bilinearly; a `UserWarning` when its aspect ratio is
            more than 2% off the content's, which stretches it); RGB masks
            are converted to luminance.
        region: `"all"` (default), `"foreground"` (stylize only the salient
            object) or `"background"` (keep the object as the photo).
        color_transfer: float in [0, 1], how far the decoded image's RGB
            mean and covariance move to the style image's (times `alpha`);
            0 keeps the decoder's own colours. Defaults to 1.
        foreground_only: deprecated alias of `region="foreground"`.
        return_attention: also return the attention map.
        style_max_size: the style is downscaled so its longer side is at
            most this many pixels (`None` keeps it); this bounds the cost of
            the style swap and sets the stroke size: a stroke is as many
            output pixels wide as it is wide in the resized style.
        style_scale: optional float in (0, 4]: resize the style so its longer
            side is this fraction of the content's longer side instead (up or
            down; `style_max_size` is then ignored). Strokes then keep their
            size relative to the picture: for a 4000 px print, 0.25 gives
            the strokes a 1000 px style has. The style swap's cost grows
            with the square of the style's size.
        model: an `AttentionAutoencoder`, a `.keras` path or model folder, or
            `None` for the shipped model (`self_attention` uses the shipped
            AAMS model, the others the CBAM one) at `depth`.
        depth: `"relu3_1"`, `"relu4_1"` (default) or `"relu5_1"`, the shipped
            model to use when `model` is `None`.
        tile_size: `"auto"` (default: photos over 1536 px on their longer
            side are processed in 512 px tiles, see `tiling`), `None` (never
            tile) or a tile side in pixels (a multiple of 16). Tiling bounds
            the memory by the tile size; every tile shares the photo's
            attention, saliency and transforms, so no seam shows.
        progress: show a progress bar over the tiles.

    Returns:
        A `StylizeResult(image, attention_map)`.

    Raises:
        ValueError: naming the argument, for any bad input.

    Example:

    >>> result = stylize(content, style, alpha=0.8)
    >>> result.image.shape == content.shape
    True
    """
    region = opts.resolve_region(region, foreground_only)
    options = opts.StylizeOptions(method=method, alpha=alpha, stroke_scales=stroke_scales,
                                  num_regions=num_regions, preserve_color=preserve_color, region=region,
                                  color_transfer=color_transfer)
    content = as_image(content, "content")
    style = as_image(style, "style")
    if style_scale is not None:
        if isinstance(style_scale, bool) or not isinstance(style_scale, (int, float)) or not 0 < style_scale <= 4:
            raise ValueError(f"`style_scale` must be a number in (0, 4]. Received: style_scale={style_scale!r}")
        target = max(opts.MIN_IMAGE_SIZE, round(style_scale * max(content.shape[:2])))
        factor = max(target / max(style.shape[:2]), opts.MIN_IMAGE_SIZE / min(style.shape[:2]))
        style = _resize(style, (round(style.shape[0] * factor), round(style.shape[1] * factor)))
    else:
        style = fit_style(style, style_max_size)
    if mask is not None:
        mask = as_mask(mask, "mask")
        _warn_if_stretched(mask, content)
    if depth not in opts.DEPTHS:
        raise ValueError(f"`depth` must be one of {opts.DEPTHS}. Received: depth={depth!r}")
    if model is None:
        model = load_model(attention=opts.model_attention(options.method), depth=depth)
    elif not hasattr(model, "encoder"):
        model = load_model(model)
    transfer = opts.transfer_for(options.method, model.attention_kind)
    from tf_cbam_style import tiling

    if tile_size == "auto":
        tile_size = tiling.default_tile_size(*content.shape[:2])
    if tile_size is not None:
        if isinstance(tile_size, bool) or not isinstance(tile_size, int) or tile_size < 64 or tile_size % 16:
            raise ValueError(
                f"`tile_size` must be 'auto', None or an int >= 64 that is a multiple of 16. "
                f"Received: tile_size={tile_size!r}"
            )
        image, attention = tiling.stylize_tiled(model, content, style, options, mask=mask,
                                                tile_size=tile_size, progress=progress)
        return StylizeResult(image, attention if return_attention else None)
    function = pipeline_function(model, transfer)
    inputs = {
        "content_image": content[None],
        "style_image": style[None],
        **opts.option_inputs(options, mask=None if mask is None else mask[None, :, :, None]),
    }
    outputs = function(inputs)
    image = outputs["stylized_image"].numpy()[0]
    attention = outputs["attention_map"].numpy()[0, ..., 0] if return_attention else None
    return StylizeResult(image, attention)
