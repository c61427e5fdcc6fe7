import keras
import tensorflow as tf


@keras.saving.register_keras_serializable(package="tf_cbam_style")
class AdaIN(keras.layers.Layer):
    """Adaptive instance normalisation: content features, style mean and std.

        AdaIN(c, s) = std(s) * (c - mean(c)) / std(c) + mean(s)

    per image and channel over the spatial axes.

    Args:
        alpha: float in [0, 1], blend with the content features. Defaults to `1.0`.
        epsilon: float added to the variances. Defaults to `1e-5`.
        **kwargs: standard layer arguments such as `name` and `dtype`.

    Call arguments:
        inputs: list `[content_features, style_features]`, `(batch, h, w, c)`.

    Output shape:
        Same as `content_features`.

    Example:

    >>> AdaIN()([tf.random.normal((1, 4, 4, 3)), tf.random.normal((1, 2, 2, 3))]).shape
    TensorShape([1, 4, 4, 3])

    Reference:
        - [Huang & Belongie, 2017](https://arxiv.org/abs/1703.06868).
    """

    def __init__(self, alpha=1.0, epsilon=1e-5, **kwargs):
        super().__init__(**kwargs)
        if not 0.0 <= float(alpha) <= 1.0:
            raise ValueError(f"`alpha` must be in [0, 1]. Received: alpha={alpha!r}")
        self.alpha = float(alpha)
        self.epsilon = float(epsilon)

    def transfer(self, content, style):
        """AdaIN without the alpha blend."""
        c_mean, c_var = tf.nn.moments(content, axes=[1, 2], keepdims=True)
        s_mean, s_var = tf.nn.moments(style, axes=[1, 2], keepdims=True)
        return tf.sqrt(s_var + self.epsilon) * (content - c_mean) / tf.sqrt(
            c_var + self.epsilon
        ) + s_mean

    def call(self, inputs):
        content, style = inputs
        out = self.transfer(content, style)
        if self.alpha == 1.0:
            return out
        return self.alpha * out + (1.0 - self.alpha) * content

    def compute_output_shape(self, input_shape):
        return tuple(input_shape[0])

    def get_config(self):
        config = super().get_config()
        config.update({"alpha": self.alpha, "epsilon": self.epsilon})
        return config
