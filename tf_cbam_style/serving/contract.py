"""The serving contract: signature names, inputs, outputs and request options.

Shared by the client (to build requests) and the test stand-in (to check
them); the names, shapes and defaults come from `tf_cbam_style.options`,
like the exported signatures'. The exported SavedModel has two signatures:

* `serving_default`: `content_image` float32 `[batch, H, W, 3]` in [0, 1]
  and `style_image` float32 `[batch or 1, Hs, Ws, 3]` -> `stylized_image`
  float32 `[batch, H, W, 3]`.
* `stylize_with_options`: the same two images plus `alpha` float32 `[]`,
  `stroke_scales` float32 `[S]`, `num_regions` int32 `[]`, `preserve_color`
  bool `[]`, `region` int32 `[]` (0 all, 1 foreground, 2 background),
  `color_transfer` float32 `[]` in [0, 1] and
  `mask` float32 `[batch or 1, h, w, 1]` (`no_mask()`, any mask whose max is
  below 0, means "use the attention map") -> `stylized_image` and
  `attention_map` float32 `[batch, H, W, 1]`.

Arrays become images by the one rule of `tf_cbam_style.arrays` (uint8 / 255,
uint16 / 65535, floats in [0, 1]), as in the Python API.
"""

import dataclasses

from tf_cbam_style import options as opts
from tf_cbam_style.arrays import as_image, as_mask

DEFAULT_MODEL_NAME = opts.model_name("cbam")

DEFAULT_SIGNATURE = opts.SIGNATURE_DEFAULT
OPTIONS_SIGNATURE = opts.SIGNATURE_OPTIONS
SIGNATURES = opts.SIGNATURES
OUTPUTS = opts.SIGNATURE_OUTPUTS
no_mask = opts.no_mask


def check_signature(signature):
    if signature not in SIGNATURES:
        raise ValueError(
            f"`signature` must be one of {SIGNATURES}. Received: signature={signature!r}"
        )
    return signature


@dataclasses.dataclass(frozen=True, eq=False)
class StylizeOptions(opts.StylizeOptions):
    """The options of one `stylize_with_options` request.

    The knobs of `tf_cbam_style.options.StylizeOptions` (checked by the same
    rules; `method` is the served model's and is not sent), plus:

    Attributes:
        mask: optional `(H, W)`, `(H, W, 1)` or `(batch, H, W, 1)` saliency in
            [0, 1] (by the `arrays` rule) replacing the attention map; `None`
            uses the attention.
        foreground_only: deprecated alias of `region="foreground"`.
    """

    mask: object = None
    foreground_only: bool = False

    def __post_init__(self):
        super().__post_init__()
        if self.foreground_only:
            object.__setattr__(self, "region", opts.resolve_region(self.region, True))
            object.__setattr__(self, "foreground_only", False)
        if self.mask is not None:
            object.__setattr__(self, "mask", as_mask(self.mask, "mask", batch=True))

    def is_default(self):
        """Whether these options give what `serving_default` gives."""
        default = opts.StylizeOptions()
        return self.mask is None and all(
            getattr(self, field.name) == getattr(default, field.name)
            for field in dataclasses.fields(opts.StylizeOptions) if field.name != "method"
        )

    def as_inputs(self):
        """The option inputs of `stylize_with_options`, as numpy arrays."""
        return opts.option_inputs(self, self.mask)


def as_image_batch(array, name):
    """`(H, W, 3)` or `(batch, H, W, 3)` -> float32 batch in [0, 1] (the `arrays` rule)."""
    return as_image(array, name, batch=True, min_size=1)


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
