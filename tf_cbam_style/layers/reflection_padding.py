import keras
import tensorflow as tf


@keras.saving.register_keras_serializable(package="tf_cbam_style")
class ReflectionPadding2D(keras.layers.Layer):
    """Reflection padding of the two spatial axes of an NHWC tensor.

    Args:
        padding: int, pixels added on each side of height and width.
        **kwargs: standard layer arguments such as `name` and `dtype`.

    Call arguments:
        inputs: float tensor `(batch, height, width, channels)`. Height and
            width must exceed `padding`.

    Output shape:
        `(batch, height + 2 * padding, width + 2 * padding, channels)`.

    Example:

    >>> layer = ReflectionPadding2D(padding=1)
    >>> layer(tf.zeros((1, 4, 4, 2))).shape
    TensorShape([1, 6, 6, 2])

    Reference:
        - [Huang & Belongie, 2017](https://arxiv.org/abs/1703.06868), whose
          decoder pads this way to avoid border artefacts.
    """

    def __init__(self, padding=1, **kwargs):
        super().__init__(**kwargs)
        if not isinstance(padding, int) or padding < 0:
            raise ValueError(
                "`padding` must be a non-negative int. "
                f"Received: padding={padding!r}"
            )
        self.padding = padding

    def call(self, inputs):
        p = self.padding
        if p == 0:
            return inputs
        return tf.pad(inputs, [[0, 0], [p, p], [p, p], [0, 0]], mode="REFLECT")

    def compute_output_shape(self, input_shape):
        b, h, w, c = input_shape
        p = 2 * self.padding
        return (b, None if h is None else h + p, None if w is None else w + p, c)

    def get_config(self):
        config = super().get_config()
        config.update({"padding": self.padding})
        return config
