import keras
import tensorflow as tf


@keras.saving.register_keras_serializable(package="tf_cbam_style")
class PadToMultiple(keras.layers.Layer):
    """Reflect-pads height and width up to a multiple of `multiple`.

    The encoder halves the size at each pooling, so a decoder output only
    matches the input when its sides are multiples of the encoder stride.
    Pad before encoding, then crop the decoded image back with `CropLike`.

    Args:
        multiple: int, defaults to `8` (relu4_1's stride).
        **kwargs: standard layer arguments such as `name` and `dtype`.

    Call arguments:
        inputs: `(batch, h, w, c)`; `h` and `w` must exceed `multiple - 1`.

    Output shape:
        `(batch, ceil(h / m) * m, ceil(w / m) * m, c)`.

    Example:

    >>> PadToMultiple(8)(tf.zeros((1, 33, 40, 3))).shape
    TensorShape([1, 40, 40, 3])

    Reference:
        - [Huang & Belongie, 2017](https://arxiv.org/abs/1703.06868).
    """

    def __init__(self, multiple=8, **kwargs):
        super().__init__(**kwargs)
        if not isinstance(multiple, int) or multiple < 1:
            raise ValueError(f"`multiple` must be a positive int. Received: multiple={multiple!r}")
        self.multiple = multiple

    def call(self, inputs):
        m = self.multiple
        h, w = tf.shape(inputs)[1], tf.shape(inputs)[2]
        return tf.pad(inputs, [[0, 0], [0, (-h) % m], [0, (-w) % m], [0, 0]], mode="REFLECT")

    def get_config(self):
        config = super().get_config()
        config.update({"multiple": self.multiple})
        return config
