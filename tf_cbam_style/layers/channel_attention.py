import keras
import tensorflow as tf


@keras.saving.register_keras_serializable(package="tf_cbam_style")
class ChannelAttention(keras.layers.Layer):
    """CBAM channel attention: which feature channels matter.

    Average- and max-pools the input over space, passes both descriptors
    through one shared two-layer MLP, adds them and applies a sigmoid.

    Args:
        reduction: int, the MLP's hidden width is `channels // reduction`
            (at least 1). Defaults to `16`, as in the paper.
        **kwargs: standard layer arguments such as `name` and `dtype`.

    Call arguments:
        inputs: float tensor `(batch, height, width, channels)`.

    Output shape:
        `(batch, 1, 1, channels)`: the channel weights in (0, 1).

    Example:

    >>> layer = ChannelAttention(reduction=4)
    >>> layer(tf.random.normal((2, 8, 8, 16))).shape
    TensorShape([2, 1, 1, 16])

    Reference:
        - [Woo et al., 2018](https://arxiv.org/abs/1807.06521), section 3.1.
    """

    def __init__(self, reduction=16, **kwargs):
        super().__init__(**kwargs)
        if not isinstance(reduction, int) or reduction < 1:
            raise ValueError(
                "`reduction` must be a positive int. "
                f"Received: reduction={reduction!r}"
            )
        self.reduction = reduction

    def build(self, input_shape):
        channels = input_shape[-1]
        if channels is None:
            raise ValueError(
                "The channel axis of the inputs must be known. "
                f"Received: input_shape={input_shape}"
            )
        hidden = max(1, channels // self.reduction)
        self.hidden_dense = keras.layers.Dense(
            hidden, activation="relu", name="mlp_hidden"
        )
        self.output_dense = keras.layers.Dense(channels, name="mlp_output")
        self.hidden_dense.build((None, channels))
        self.output_dense.build((None, hidden))

    def call(self, inputs):
        avg = tf.reduce_mean(inputs, axis=[1, 2])
        mx = tf.reduce_max(inputs, axis=[1, 2])
        logits = self.output_dense(self.hidden_dense(avg)) + self.output_dense(
            self.hidden_dense(mx)
        )
        return tf.sigmoid(logits)[:, None, None, :]

    def compute_output_shape(self, input_shape):
        return (input_shape[0], 1, 1, input_shape[-1])

    def get_config(self):
        config = super().get_config()
        config.update({"reduction": self.reduction})
        return config
