import keras
import tensorflow as tf


@keras.saving.register_keras_serializable(package="tf_cbam_style")
class CropLike(keras.layers.Layer):
    """Fits `inputs` to the height and width of `reference`.

    Images are cropped (the padding `PadToMultiple` added is removed) and
    clipped to [0, 1]. Maps at feature resolution (`upsample > 1`) are first
    resized bilinearly by `upsample`, then cropped.

    Args:
        upsample: int, resize factor applied before cropping. Defaults to `1`.
        **kwargs: standard layer arguments such as `name` and `dtype`.

    Call arguments:
        inputs: `(batch, H, W, c)` with `H * upsample >= h`, `W * upsample >= w`.
        reference: `(batch, h, w, ...)`.

    Output shape:
        `(batch, h, w, c)`.

    Example:

    >>> CropLike()(tf.zeros((1, 40, 40, 3)), tf.zeros((1, 33, 40, 3))).shape
    TensorShape([1, 33, 40, 3])

    Reference:
        - None; a plumbing layer of `build_stylizer`.
    """

    def __init__(self, upsample=1, **kwargs):
        super().__init__(**kwargs)
        if not isinstance(upsample, int) or upsample < 1:
            raise ValueError(f"`upsample` must be a positive int. Received: upsample={upsample!r}")
        self.upsample = upsample

    def call(self, inputs, reference):
        if self.upsample > 1:
            size = tf.shape(inputs)[1:3] * self.upsample
            inputs = tf.image.resize(inputs, size, method="bilinear")
        h, w = tf.shape(reference)[1], tf.shape(reference)[2]
        return tf.clip_by_value(inputs[:, :h, :w, :], 0.0, 1.0)

    def get_config(self):
        config = super().get_config()
        config.update({"upsample": self.upsample})
        return config
