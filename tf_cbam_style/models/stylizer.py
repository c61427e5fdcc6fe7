"""`build_stylizer`: the pipeline with fixed options as a Keras functional model."""

import keras

from tf_cbam_style.models.pipeline import StylizePipeline, option_tensors
from tf_cbam_style.options import StylizeOptions


@keras.saving.register_keras_serializable(package="tf_cbam_style")
class Stylizer(keras.layers.Layer):
    """`StylizePipeline` with fixed options, as one Keras layer.

    Args:
        autoencoder: a trained `AttentionAutoencoder`; its encoder,
            attention and decoder are used as they are (shared weights).
        options: a `StylizeOptions`; defaults to `StylizeOptions(method=...)`
            with the model's own attention method.
        **kwargs: standard layer arguments such as `name`.

    Call arguments:
        inputs: dict with `content_image` `(batch, H, W, 3)`, `style_image`
            `(batch or 1, Hs, Ws, 3)` (RGB in [0, 1]) and optionally `mask`
            `(batch or 1, h, w, 1)` in [0, 1].

    Returns:
        A dict with `stylized_image` `(batch, H, W, 3)` and `attention_map`
        `(batch, H, W, 1)`, both in [0, 1].

    Raises:
        ValueError: when `options.method` needs another attention than the model's.

    Example:

    >>> layer = Stylizer(model, StylizeOptions(alpha=0.5))
    >>> layer({"content_image": c, "style_image": s})["stylized_image"]
    """

    def __init__(self, autoencoder, options=None, **kwargs):
        super().__init__(**kwargs)
        self.autoencoder = autoencoder
        self.options = options or StylizeOptions(method=autoencoder.attention_kind)
        self.pipeline = StylizePipeline(autoencoder)
        self.transfer = self.pipeline.check_method(self.options.method)

    def call(self, inputs):
        out = self.pipeline.run(inputs, self.transfer, option_tensors(self.options))
        return {"stylized_image": out["stylized_image"], "attention_map": out["attention_map"]}

    def compute_output_spec(self, inputs):
        content = inputs["content_image"]
        batch, height, width = content.shape[0], content.shape[1], content.shape[2]
        return {
            "stylized_image": keras.KerasTensor((batch, height, width, 3)),
            "attention_map": keras.KerasTensor((batch, height, width, 1)),
        }


def build_stylizer(autoencoder, options=None, use_mask=False):
    """Builds the inference pipeline as a Keras functional model.

    Inputs (a dict): `content_image` `(batch, H, W, 3)` and `style_image`
    `(batch or 1, Hs, Ws, 3)`, RGB float32 in [0, 1], sizes free and
    independent; plus `mask` `(batch, H, W, 1)` when `use_mask`.

    Outputs (a dict): `stylized_image` `(batch, H, W, 3)` in [0, 1] and
    `attention_map` `(batch, H, W, 1)` in [0, 1].

    Args:
        autoencoder: a trained `AttentionAutoencoder`.
        options: a `StylizeOptions`; defaults to the model's own method
            with the default knobs.
        use_mask: add the `mask` input, which replaces the attention.

    Returns:
        A `keras.Model`.

    Raises:
        ValueError: when `options.method` needs another attention than the model's.
    """
    layer = Stylizer(autoencoder, options, name="stylizer")
    inputs = {
        "content_image": keras.Input((None, None, 3), name="content_image"),
        "style_image": keras.Input((None, None, 3), name="style_image"),
    }
    if use_mask:
        inputs["mask"] = keras.Input((None, None, 1), name="mask")
    return keras.Model(inputs, layer(inputs), name=f"stylizer_{layer.options.method}")
