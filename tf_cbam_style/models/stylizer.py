import dataclasses

import keras

from tf_cbam_style.layers.attention_feature_transfer import AttentionFeatureTransfer
from tf_cbam_style.layers.color_preservation import ColorPreservation
from tf_cbam_style.layers.crop_like import CropLike
from tf_cbam_style.layers.foreground_composite import ForegroundComposite
from tf_cbam_style.layers.pad_to_multiple import PadToMultiple

from tf_cbam_style.api import METHODS, check_options
_TRANSFER_OF_METHOD = {
    "cbam": "multi_stroke",
    "self_attention": "multi_stroke",
    "adain": "adain",
    "wct": "wct",
    "style_swap": "style_swap",
}


@dataclasses.dataclass(frozen=True)
class StylizerConfig:
    """The options of one stylization pipeline (all fixed in the graph).

    Attributes:
        method: one of `METHODS`.
        alpha: float in [0, 1], stylization strength.
        stroke_scales: style resize factors, fine strokes come from 1.0.
        num_regions: saliency regions for multi-stroke fusion.
        preserve_color: keep the content's colours.
        foreground_only: stylize only the salient region.
        use_mask: the model takes a third input, `mask`, replacing attention.
        patch_size: style-swap patch size.
    """

    method: str = "cbam"
    alpha: float = 1.0
    stroke_scales: tuple = (0.5, 0.7071, 1.0)
    num_regions: int = 4
    preserve_color: bool = False
    foreground_only: bool = False
    use_mask: bool = False
    patch_size: int = 5

    def __post_init__(self):
        if self.method not in METHODS:
            raise ValueError(f"`method` must be one of {METHODS}. Received: method={self.method!r}")
        options = check_options(self.alpha, self.stroke_scales, self.num_regions)
        object.__setattr__(self, "alpha", options.alpha)
        object.__setattr__(self, "stroke_scales", options.stroke_scales)
        object.__setattr__(self, "num_regions", options.num_regions)


def build_stylizer(autoencoder, config=None):
    """Builds the inference pipeline as a Keras functional model.

    Inputs (a dict): `content_image` `(batch, H, W, 3)` and `style_image`
    `(batch or 1, Hs, Ws, 3)`, RGB float32 in [0, 1], sizes free and
    independent; plus `mask` `(batch, H, W, 1)` when `config.use_mask`.

    Outputs (a dict): `stylized_image` `(batch, H, W, 3)` in [0, 1] and
    `attention_map` `(batch, H, W, 1)` in [0, 1].

    The encoder and decoder are the autoencoder's own layers (shared
    weights); the attention weights are copied in.

    Args:
        autoencoder: a trained `AttentionAutoencoder`.
        config: a `StylizerConfig`; defaults to `StylizerConfig()`.

    Returns:
        A `keras.Model`.
    """
    config = config or StylizerConfig()
    if config.method in ("cbam", "self_attention") and autoencoder.attention_kind != config.method:
        raise ValueError(
            f"`method={config.method!r}` needs a model trained with that attention; this "
            f"model uses {autoencoder.attention_kind!r}. Received: method={config.method!r}"
        )
    if not autoencoder.built:
        autoencoder.build()
    encoder, decoder = autoencoder.encoder, autoencoder.decoder
    stride = encoder.stride

    content = keras.Input((None, None, 3), name="content_image")
    style = keras.Input((None, None, 3), name="style_image")
    inputs = {"content_image": content, "style_image": style}
    mask = None
    if config.use_mask:
        mask = keras.Input((None, None, 1), name="mask")
        inputs["mask"] = mask

    transfer = AttentionFeatureTransfer(
        attention=autoencoder.attention_kind,
        transfer=_TRANSFER_OF_METHOD[config.method],
        alpha=config.alpha,
        stroke_scales=config.stroke_scales,
        num_regions=config.num_regions,
        patch_size=config.patch_size,
        name="feature_transfer",
    )
    padded = PadToMultiple(stride, name="pad_content")(content)
    if mask is not None:
        mask_padded = PadToMultiple(stride, name="pad_mask")(mask)
    content_features = encoder(padded)
    style_features = encoder(PadToMultiple(stride, name="pad_style")(style))
    transferred = transfer(
        content_features, style_features, saliency_mask=mask_padded if mask is not None else None
    )
    transfer.attention.set_weights(autoencoder.attention.get_weights())

    image = CropLike(name="crop_image")(decoder(transferred["features"]), content)
    attention_map = CropLike(upsample=stride, name="attention_to_image")(
        transferred["attention_map"], content
    )
    if config.preserve_color:
        image = ColorPreservation(name="preserve_color")(image, content)
    if config.foreground_only:
        image = ForegroundComposite(feather=float(stride), name="foreground_only")(
            image, content, attention_map
        )["image"]
    outputs = {"stylized_image": image, "attention_map": attention_map}
    name = f"stylizer_{config.method}"
    return keras.Model(inputs, outputs, name=name)
