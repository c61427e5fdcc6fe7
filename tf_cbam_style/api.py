"""The Python API: `stylize()` and `load_model()`."""

import collections
import os
import pathlib
import weakref

import numpy as np

# Kept free of TensorFlow so that importing the API is cheap; the pipeline
# module checks it is the same tuple.
METHODS = ("cbam", "self_attention", "adain", "wct", "style_swap")

MODEL_ENV_VAR = "TF_CBAM_STYLE_MODEL_DIR"
# Each shipped model lives in `saved_models/<name>/`: `model.keras` for the
# Python API and the CLI, `<version>/` SavedModels for TF Serving and TF.js.
DEFAULT_MODELS = {"cbam": "cbam_relu4_1", "self_attention": "self_attention_relu4_1"}
KERAS_FILE = "model.keras"

StylizeResult = collections.namedtuple("StylizeResult", ["image", "attention_map"])
StylizeResult.__doc__ = """Result of `stylize`.

Attributes:
    image: float32 `(H, W, 3)` RGB in [0, 1], the content's size.
    attention_map: float32 `(H, W)` in [0, 1], the saliency that guided the
        strokes, or `None` when `return_attention=False`.
"""

CheckedOptions = collections.namedtuple("CheckedOptions", ["alpha", "stroke_scales", "num_regions"])


def check_options(alpha, stroke_scales, num_regions):
    """Checks and normalises the numeric stylization options (no TensorFlow).

    Shared by `stylize`, `StylizerConfig` and the serving client so that all
    three accept and reject the same values with the same messages.

    Returns:
        `CheckedOptions(alpha: float, stroke_scales: tuple of float,
        num_regions: int)`.
    """
    try:
        alpha_value = float(alpha)
    except (TypeError, ValueError):
        alpha_value = float("nan")
    if not 0.0 <= alpha_value <= 1.0:
        raise ValueError(f"`alpha` must be in [0, 1]. Received: alpha={alpha!r}")
    if isinstance(stroke_scales, (str, bytes)) or not np.iterable(stroke_scales):
        raise ValueError(
            "`stroke_scales` must be a sequence of floats in (0, 1] such as (0.5, 1.0). "
            f"Received: stroke_scales={stroke_scales!r}"
        )
    scales = tuple(float(s) for s in stroke_scales)
    if not scales or any(not 0.0 < s <= 1.0 for s in scales):
        raise ValueError(
            "`stroke_scales` must be non-empty floats in (0, 1]. "
            f"Received: stroke_scales={stroke_scales!r}"
        )
    if (
        isinstance(num_regions, (bool, np.bool_))
        or not isinstance(num_regions, (int, np.integer))
        or not 1 <= int(num_regions) <= 16
    ):
        raise ValueError(
            f"`num_regions` must be an int in [1, 16]. Received: num_regions={num_regions!r}"
        )
    return CheckedOptions(alpha_value, scales, int(num_regions))


_MODEL_CACHE = {}  # resolved path -> (modification time, model)
_PIPELINE_CACHE = weakref.WeakKeyDictionary()  # model -> {config: function}


def models_dir():
    """The folder of shipped models: `$TF_CBAM_STYLE_MODEL_DIR` or `saved_models/`."""
    env = os.environ.get(MODEL_ENV_VAR)
    if env:
        return pathlib.Path(env)
    return pathlib.Path(__file__).resolve().parent.parent / "saved_models"


def default_model_path(attention="cbam"):
    """Path of the shipped `.keras` model trained with `attention`."""
    return models_dir() / DEFAULT_MODELS[attention] / KERAS_FILE


def load_model(path=None, attention="cbam"):
    """Loads a trained `AttentionAutoencoder` from a `.keras` file.

    Args:
        path: a `.keras` file written by `tf-cbam-style train`, a shipped
            model's folder such as `saved_models/cbam_relu4_1` (its
            `model.keras`), or `None` for the shipped model with `attention`
            (`"cbam"` or `"self_attention"`).
        attention: which shipped model to use when `path` is `None`.

    Returns:
        The model; loaded models are cached per path.
    """
    import keras

    import tf_cbam_style.layers  # noqa: F401  (registers the layers)
    from tf_cbam_style.models.attention_autoencoder import AttentionAutoencoder

    path = pathlib.Path(path) if path is not None else default_model_path(attention)
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
        _MODEL_CACHE[key] = (mtime, model)
    return _MODEL_CACHE[key][1]


def _as_image(array, name):
    image = np.asarray(array)
    if image.dtype.kind in "ui":
        # Integer images are 8- or 16-bit pixel values, not [0, 1] floats.
        image = image.astype(np.float32) / (65535.0 if image.dtype.itemsize > 1 and image.max() > 255 else 255.0)
    elif image.dtype.kind != "f":
        raise ValueError(f"`{name}` must be a float or integer array. Received: {name}.dtype={image.dtype}")
    if image.ndim == 4 and image.shape[0] == 1:
        image = image[0]
    if image.ndim != 3 or image.shape[-1] != 3:
        raise ValueError(
            f"`{name}` must be an (H, W, 3) RGB array in [0, 1]. Received: {name}.shape={image.shape}"
        )
    if image.shape[0] < 32 or image.shape[1] < 32:
        raise ValueError(
            f"`{name}` must be at least 32x32 pixels. Received: {name}.shape={image.shape}"
        )
    image = image.astype(np.float32)
    if not np.isfinite(image).all():
        raise ValueError(f"`{name}` must not contain NaN or inf. Received: {name} with non-finite values")
    return np.clip(image, 0.0, 1.0)


def _resize(image, size):
    import tensorflow as tf

    return tf.image.resize(image[None], size, method="area", antialias=True)[0].numpy()


def _pipeline(model, config):
    import tensorflow as tf

    from tf_cbam_style.models.stylizer import build_stylizer

    functions = _PIPELINE_CACHE.setdefault(model, {})
    if config not in functions:
        stylizer = build_stylizer(model, config)
        signature = {
            "content_image": tf.TensorSpec([None, None, None, 3], tf.float32),
            "style_image": tf.TensorSpec([None, None, None, 3], tf.float32),
        }
        if config.use_mask:
            signature["mask"] = tf.TensorSpec([None, None, None, 1], tf.float32)
        functions[config] = tf.function(
            lambda inputs: stylizer(inputs, training=False), input_signature=[signature]
        )
    return functions[config]


def stylize(
    content,
    style,
    *,
    method="cbam",
    alpha=1.0,
    stroke_scales=(0.5, 0.7071, 1.0),
    num_regions=4,
    preserve_color=False,
    mask=None,
    foreground_only=False,
    return_attention=True,
    style_max_size=512,
    model=None,
):
    """Stylizes `content` with `style`, keeping the salient object's structure.

    Args:
        content: `(H, W, 3)` float RGB in [0, 1] (at least 32 px a side).
        style: `(Hs, Ws, 3)` float RGB in [0, 1].
        method: `"cbam"` (default), `"self_attention"` (AAMS), `"adain"`,
            `"wct"` or `"style_swap"`.
        alpha: float in [0, 1], stylization strength.
        stroke_scales: style resize factors for the strokes; 1.0 is the
            finest, smaller is coarser. Multi-stroke methods only.
        num_regions: int, saliency regions `K` for the stroke fusion.
        preserve_color: keep the content's colours.
        mask: optional `(H, W)` or `(H, W, 1)` saliency in [0, 1] that
            replaces the attention map (for fusion and `foreground_only`).
        foreground_only: stylize only the salient region and composite the
            original background back in with a soft edge.
        return_attention: also return the attention map.
        style_max_size: the style is downscaled so its longer side is at
            most this many pixels (`None` keeps it); this bounds the cost of
            the style swap and sets the stroke size.
        model: an `AttentionAutoencoder`, a `.keras` path, or `None` for the
            shipped model (`self_attention` uses the shipped AAMS model).

    Returns:
        A `StylizeResult(image, attention_map)`.
    """
    if method not in METHODS:
        import difflib

        close = difflib.get_close_matches(str(method), METHODS, n=1)
        hint = f" Did you mean {close[0]!r}?" if close else ""
        raise ValueError(f"`method` must be one of {METHODS}.{hint} Received: method={method!r}")
    content = _as_image(content, "content")
    style = _as_image(style, "style")
    if style_max_size is not None and max(style.shape[:2]) > style_max_size:
        # Same scale on both axes; never below 32 px on the shorter side.
        scale = max(style_max_size / max(style.shape[:2]), 32 / min(style.shape[:2]))
        if scale < 1.0:
            style = _resize(style, (round(style.shape[0] * scale), round(style.shape[1] * scale)))
    options = check_options(alpha, stroke_scales, num_regions)
    from tf_cbam_style.models.stylizer import StylizerConfig

    config = StylizerConfig(
        method=method,
        alpha=options.alpha,
        stroke_scales=options.stroke_scales,
        num_regions=options.num_regions,
        preserve_color=bool(preserve_color),
        foreground_only=bool(foreground_only),
        use_mask=mask is not None,
    )
    if model is None:
        model = load_model(attention="self_attention" if method == "self_attention" else "cbam")
    elif not hasattr(model, "encoder"):
        model = load_model(model)
    inputs = {"content_image": content[None], "style_image": style[None]}
    if mask is not None:
        mask = np.asarray(mask, np.float32)
        if mask.ndim == 3:
            mask = mask[..., 0]
        if mask.ndim != 2:
            raise ValueError(f"`mask` must be an (H, W) array in [0, 1]. Received: mask.shape={mask.shape}")
        if mask.shape != content.shape[:2]:
            mask = _resize(mask[..., None], content.shape[:2])[..., 0]
        inputs["mask"] = np.clip(mask, 0.0, 1.0)[None, ..., None]
    outputs = _pipeline(model, config)(inputs)
    image = outputs["stylized_image"].numpy()[0]
    attention = outputs["attention_map"].numpy()[0, ..., 0] if return_attention else None
    return StylizeResult(image, attention)
