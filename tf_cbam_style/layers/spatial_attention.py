import keras
import tensorflow as tf

from tf_cbam_style.layers.reflection_padding import ReflectionPadding2D


@keras.saving.register_keras_serializable(package="tf_cbam_style")
class SpatialAttention(keras.layers.Layer):
    """CBAM spatial attention: where in the image the features matter.

    Takes the channel-wise mean and max of the input, concatenates them and
    runs one `kernel_size` x `kernel_size` convolution with a sigmoid.

    Args:
        kernel_size: odd int, the convolution's size. Defaults to `7`.
        **kwargs: standard layer arguments such as `name` and `dtype`.

    Call arguments:
        inputs: float tensor `(batch, height, width, channels)`.

    Output shape:
        `(batch, height, width, 1)`: the spatial weights in (0, 1).

    Example:

    >>> layer = SpatialAttention()
    >>> layer(tf.random.normal((2, 8, 8, 16))).shape
    TensorShape([2, 8, 8, 1])

    Reference:
        - [Woo et al., 2018](https://arxiv.org/abs/1807.06521), section 3.2.
    """

    def __init__(self, kernel_size=7, **kwargs):
        super().__init__(**kwargs)
        if not isinstance(kernel_size, int) or kernel_size < 1 or kernel_size % 2 == 0:
            raise ValueError(
                "`kernel_size` must be a positive odd int. "
                f"Received: kernel_size={kernel_size!r}"
            )
        self.kernel_size = kernel_size

    def build(self, input_shape):
        # Reflection padding keeps the map free of a dark frame at the border,
        # which would otherwise read as "not salient" everywhere near edges.
        self.pad = ReflectionPadding2D(self.kernel_size // 2, name="pad")
        self.conv = keras.layers.Conv2D(
            1, self.kernel_size, padding="valid", name="conv"
        )
        self.conv.build((None, None, None, 2))

    def call(self, inputs):
        avg = tf.reduce_mean(inputs, axis=-1, keepdims=True)
        mx = tf.reduce_max(inputs, axis=-1, keepdims=True)
        x = tf.concat([avg, mx], axis=-1)
        if self.kernel_size > 1:
            x = self.pad(x)
        return tf.sigmoid(self.conv(x))

    def compute_output_shape(self, input_shape):
        return tuple(input_shape[:3]) + (1,)

    def get_config(self):
        config = super().get_config()
        config.update({"kernel_size": self.kernel_size})
        return config
