"""The serving contract: signature names, inputs, outputs and options.

Shared by the client (to build requests) and the test stand-in (to check
them). The exported SavedModel has two signatures:

* `serving_default`: `content_image` float32 `[batch, H, W, 3]` in [0, 1]
  and `style_image` float32 `[batch or 1, Hs, Ws, 3]` -> `stylized_image`
  float32 `[batch, H, W, 3]`.
* `stylize_with_options`: the same two images plus `alpha` float32 `[]`,
  `stroke_scales` float32 `[S]`, `num_regions` int32 `[]`, `preserve_color`
  bool `[]`, `foreground_only` bool `[]` and `mask` float32
  `[batch or 1, h, w, 1]` (`no_mask()`, any mask whose max is below 0, means "use
  the attention map") -> `stylized_image` and `attention_map` float32
  `[batch, H, W, 1]`.
"""

import collections
import dataclasses

import numpy as np

DEFAULT_MODEL_NAME = "cbam_relu4_1"
MODEL_NAMES = ("cbam_relu4_1", "self_attention_relu4_1")

DEFAULT_SIGNATURE = "serving_default"
OPTIONS_SIGNATURE = "stylize_with_options"
SIGNATURES = (DEFAULT_SIGNATURE, OPTIONS_SIGNATURE)

InputSpec = collections.namedtuple("InputSpec", ["name", "dtype", "shape"])
InputSpec.__doc__ = """One input of a signature: name, numpy dtype name, shape (`None`: any)."""

_IMAGES = (
    InputSpec("content_image", "float32", (None, None, None, 3)),
    InputSpec("style_image", "float32", (None, None, None, 3)),
)
INPUTS = {
    DEFAULT_SIGNATURE: _IMAGES,
    OPTIONS_SIGNATURE: _IMAGES
    + (
        InputSpec("alpha", "float32", ()),
        InputSpec("stroke_scales", "float32", (None,)),
        InputSpec("num_regions", "int32", ()),
        InputSpec("preserve_color", "bool", ()),
        InputSpec("foreground_only", "bool", ()),
        InputSpec("mask", "float32", (None, None, None, 1)),
    ),
}
OUTPUTS = {
    DEFAULT_SIGNATURE: ("stylized_image",),
    OPTIONS_SIGNATURE: ("stylized_image", "attention_map"),
}


def no_mask():
    """The `mask` input meaning "no mask": `[1, 1, 1, 1]` holding -1."""
    return np.full((1, 1, 1, 1), -1.0, np.float32)


def check_signature(signature):
    if signature not in SIGNATURES:
        raise ValueError(
            f"`signature` must be one of {SIGNATURES}. Received: signature={signature!r}"
        )
    return signature


@dataclasses.dataclass(frozen=True, eq=False)
class StylizeOptions:
    """The options of the `stylize_with_options` signature.

    Attributes:
        alpha: float in [0, 1], stylization strength.
        stroke_scales: floats in (0, 1], the style resize factors (1.0 gives
            the finest strokes).
        num_regions: int in [1, 16], saliency regions for the stroke fusion.
        preserve_color: keep the content's colours.
        foreground_only: stylize only the salient region.
        mask: optional `(H, W)`, `(H, W, 1)` or `(batch, H, W, 1)` saliency in
            [0, 1] replacing the attention map; `None` uses the attention.
    """

    alpha: float = 1.0
    stroke_scales: tuple = (0.5, 0.7071, 1.0)
    num_regions: int = 4
    preserve_color: bool = False
    foreground_only: bool = False
    mask: object = None

    def __post_init__(self):
        from tf_cbam_style.api import check_options

        options = check_options(self.alpha, self.stroke_scales, self.num_regions)
        object.__setattr__(self, "alpha", options.alpha)
        object.__setattr__(self, "stroke_scales", options.stroke_scales)
        object.__setattr__(self, "num_regions", options.num_regions)
        if self.mask is not None:
            mask = np.asarray(self.mask, np.float32)
            if mask.ndim == 2:
                mask = mask[None, :, :, None]
            elif mask.ndim == 3 and mask.shape[-1] == 1:
                mask = mask[None]
            if mask.ndim != 4 or mask.shape[-1] != 1 or mask.size == 0:
                raise ValueError(
                    "`mask` must be an (H, W), (H, W, 1) or (batch, H, W, 1) array in [0, 1]. "
                    f"Received: mask.shape={np.shape(self.mask)}"
                )
            if not np.isfinite(mask).all():
                raise ValueError(
                    "`mask` must not contain NaN or inf. Received: mask with non-finite values"
                )
            object.__setattr__(self, "mask", np.clip(mask, 0.0, 1.0))

    def is_default(self):
        """Whether these options give what `serving_default` gives."""
        default = StylizeOptions()
        return self.mask is None and all(
            getattr(self, field.name) == getattr(default, field.name)
            for field in dataclasses.fields(self)
            if field.name != "mask"
        )

    def as_inputs(self):
        """The option inputs of `stylize_with_options`, as numpy arrays."""
        return {
            "alpha": np.float32(self.alpha),
            "stroke_scales": np.asarray(self.stroke_scales, np.float32),
            "num_regions": np.int32(self.num_regions),
            "preserve_color": np.bool_(self.preserve_color),
            "foreground_only": np.bool_(self.foreground_only),
            "mask": no_mask() if self.mask is None else self.mask,
        }


def as_image_batch(array, name):
    """`(H, W, 3)` or `(batch, H, W, 3)` floats in [0, 1] -> float32 batch.

    Integer arrays are read as 8-bit pixels. Raises a `ValueError` naming
    `name` for other shapes, empty images and non-finite values.
    """
    image = np.asarray(array)
    if image.dtype.kind in "ui":
        image = image.astype(np.float32) / 255.0
    elif image.dtype.kind != "f":
        raise ValueError(
            f"`{name}` must be a float or integer array. Received: {name}.dtype={image.dtype}"
        )
    if image.ndim == 3:
        image = image[None]
    if image.ndim != 4 or image.shape[-1] != 3 or image.size == 0:
        raise ValueError(
            f"`{name}` must be an (H, W, 3) or (batch, H, W, 3) RGB array. "
            f"Received: {name}.shape={image.shape}"
        )
    image = image.astype(np.float32, copy=False)
    if not np.isfinite(image).all():
        raise ValueError(
            f"`{name}` must not contain NaN or inf. Received: {name} with non-finite values"
        )
    return np.clip(image, 0.0, 1.0)


def build_inputs(content, style, signature=DEFAULT_SIGNATURE, options=None):
    """The inputs of `signature` for `content` and `style`, checked.

    Args:
        content: `(H, W, 3)` or `(batch, H, W, 3)` floats in [0, 1].
        style: `(Hs, Ws, 3)` or `(batch or 1, Hs, Ws, 3)` floats in [0, 1].
        signature: `"serving_default"` or `"stylize_with_options"`.
        options: a `StylizeOptions` (only with `stylize_with_options`).

    Returns:
        A dict of numpy arrays keyed by input name.
    """
    check_signature(signature)
    content = as_image_batch(content, "content")
    style = as_image_batch(style, "style")
    if style.shape[0] not in (1, content.shape[0]):
        raise ValueError(
            f"`style` must hold 1 image or as many as `content` ({content.shape[0]}). "
            f"Received: style.shape={style.shape}"
        )
    inputs = {"content_image": content, "style_image": style}
    if signature == DEFAULT_SIGNATURE:
        if options is not None and not options.is_default():
            raise ValueError(
                f"`options` need signature={OPTIONS_SIGNATURE!r}. Received: signature={signature!r}"
            )
        return inputs
    options = options if options is not None else StylizeOptions()
    inputs.update(options.as_inputs())
    if options.mask is not None and options.mask.shape[0] not in (1, content.shape[0]):
        raise ValueError(
            f"`mask` must hold 1 map or as many as `content` ({content.shape[0]}). "
            f"Received: mask.shape={options.mask.shape}"
        )
    return inputs
