import keras
import numpy as np
import tensorflow as tf

_RGB_TO_YIQ = np.array(
    [[0.299, 0.587, 0.114], [0.595716, -0.274453, -0.321263], [0.211456, -0.522591, 0.311135]],
    np.float32,
)
_YIQ_TO_RGB = np.linalg.inv(_RGB_TO_YIQ).astype(np.float32)


@keras.saving.register_keras_serializable(package="tf_cbam_style")
class ColorPreservation(keras.layers.Layer):
    """Keeps the content's colours: luminance from the stylized image only.

    Converts both images to YIQ, keeps the stylized `Y` (matched to the
    content's luminance mean and std) and the content's `I` and `Q`.

    Args:
        **kwargs: standard layer arguments such as `name` and `dtype`.

    Call arguments:
        stylized: `(batch, h, w, 3)` RGB in [0, 1].
        content: `(batch, h, w, 3)` RGB in [0, 1], same size.

    Output shape:
        `(batch, h, w, 3)`, clipped to [0, 1].

    Example:

    >>> x = tf.random.uniform((1, 4, 4, 3))
    >>> ColorPreservation()(x, x).shape
    TensorShape([1, 4, 4, 3])

    Reference:
        - [Gatys et al., 2016](https://arxiv.org/abs/1606.05897), luminance-only
          transfer.
    """

    def call(self, stylized, content):
        to_yiq = tf.constant(_RGB_TO_YIQ.T)
        s = tf.matmul(tf.reshape(stylized, [-1, 3]), to_yiq)
        c = tf.matmul(tf.reshape(content, [-1, 3]), to_yiq)
        s = tf.reshape(s, tf.shape(stylized))
        c = tf.reshape(c, tf.shape(content))
        s_mean, s_var = tf.nn.moments(s[..., :1], axes=[1, 2], keepdims=True)
        c_mean, c_var = tf.nn.moments(c[..., :1], axes=[1, 2], keepdims=True)
        luma = (s[..., :1] - s_mean) * tf.sqrt(c_var + 1e-6) / tf.sqrt(s_var + 1e-6) + c_mean
        yiq = tf.concat([luma, c[..., 1:]], axis=-1)
        rgb = tf.matmul(tf.reshape(yiq, [-1, 3]), tf.constant(_YIQ_TO_RGB.T))
        return tf.clip_by_value(tf.reshape(rgb, tf.shape(stylized)), 0.0, 1.0)
