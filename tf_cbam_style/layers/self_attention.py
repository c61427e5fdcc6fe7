import keras
import tensorflow as tf


@keras.saving.register_keras_serializable(package="tf_cbam_style")
class SelfAttention(keras.layers.Layer):
    """SAGAN-style self-attention as used by AAMS (the baseline to CBAM).

    Three 1x1 convolutions give queries `g`, keys `f` and values `h`; every
    position attends to every other, `o = softmax(g f^T) h`, and the output is
    used multiplicatively, exactly as in the AAMS code:

        A = f + f * o

    Memory grows with `(height * width) ** 2`, so keep feature maps modest
    (a 512 px image gives 64 x 64 features at relu4_1).

    Args:
        key_reduction: int, queries and keys have `channels // key_reduction`
            channels. Defaults to `2` (AAMS); SAGAN uses `8`.
        **kwargs: standard layer arguments such as `name` and `dtype`.

    Call arguments:
        inputs: float tensor `(batch, height, width, channels)`.

    Returns:
        A dict with `"features"` (`A`), `"attention"` (`o`, same shape as the
        input) and `"attention_map"` (`(batch, height, width, 1)`, the channel
        mean of `|o|`).

    Example:

    >>> out = SelfAttention()(tf.random.normal((1, 4, 4, 8)))
    >>> out["features"].shape
    TensorShape([1, 4, 4, 8])

    Reference:
        - [Zhang et al., 2019](https://arxiv.org/abs/1805.08318).
        - [Yao et al., 2019](https://arxiv.org/abs/1901.05127).
    """

    def __init__(self, key_reduction=2, **kwargs):
        super().__init__(**kwargs)
        if not isinstance(key_reduction, int) or key_reduction < 1:
            raise ValueError(
                "`key_reduction` must be a positive int. "
                f"Received: key_reduction={key_reduction!r}"
            )
        self.key_reduction = key_reduction

    def build(self, input_shape):
        channels = input_shape[-1]
        if channels is None:
            raise ValueError(
                "The channel axis of the inputs must be known. "
                f"Received: input_shape={input_shape}"
            )
        keys = max(1, channels // self.key_reduction)
        self.key_conv = keras.layers.Conv2D(keys, 1, name="key_conv")
        self.query_conv = keras.layers.Conv2D(keys, 1, name="query_conv")
        self.value_conv = keras.layers.Conv2D(channels, 1, name="value_conv")
        for conv in (self.key_conv, self.query_conv, self.value_conv):
            conv.build((None, None, None, channels))

    def call(self, inputs):
        shape = tf.shape(inputs)
        batch, height, width = shape[0], shape[1], shape[2]
        channels = inputs.shape[-1]
        n = height * width
        keys = tf.reshape(self.key_conv(inputs), [batch, n, -1])
        queries = tf.reshape(self.query_conv(inputs), [batch, n, -1])
        values = tf.reshape(self.value_conv(inputs), [batch, n, channels])
        weights = tf.nn.softmax(tf.matmul(queries, keys, transpose_b=True), axis=-1)
        attention = tf.reshape(tf.matmul(weights, values), shape)
        return {
            "features": inputs + inputs * attention,
            "attention": attention,
            "attention_map": tf.reduce_mean(tf.abs(attention), axis=-1, keepdims=True),
        }

    def compute_output_shape(self, input_shape):
        return {
            "features": tuple(input_shape),
            "attention": tuple(input_shape),
            "attention_map": tuple(input_shape[:3]) + (1,),
        }

    def get_config(self):
        config = super().get_config()
        config.update({"key_reduction": self.key_reduction})
        return config
