import keras
import tensorflow as tf

from tf_cbam_style.layers.channel_attention import ChannelAttention
from tf_cbam_style.layers.spatial_attention import SpatialAttention


@keras.saving.register_keras_serializable(package="tf_cbam_style")
class CBAM(keras.layers.Layer):
    """Convolutional Block Attention Module used as a residual attention.

    Channel attention `M_c`, then spatial attention `M_s` on the channel-
    refined features, combined as in the seed paper:

        attention = M_c(f) * M_s(M_c(f) * f)
        A = f + f * attention

    `A` replaces the self-attended features of AAMS; the spatial map `M_s`
    is the saliency that drives multi-stroke fusion.

    Args:
        reduction: int, channel-MLP reduction ratio. Defaults to `16`.
        kernel_size: odd int, spatial attention kernel. Defaults to `7`.
        **kwargs: standard layer arguments such as `name` and `dtype`.

    Call arguments:
        inputs: float tensor `(batch, height, width, channels)`.

    Returns:
        A dict with
        - `"features"`: `(batch, height, width, channels)`, the attended `A`.
        - `"attention"`: `(batch, height, width, channels)`, the multiplicative
          attention `M_c * M_s`; the attention loss is `mean(|attention|)`.
        - `"attention_map"`: `(batch, height, width, 1)`, the channel mean of
          `|attention|`, used for fusion and shown to users.

    Example:

    >>> out = CBAM(reduction=4)(tf.random.normal((1, 8, 8, 16)))
    >>> out["features"].shape, out["attention_map"].shape
    (TensorShape([1, 8, 8, 16]), TensorShape([1, 8, 8, 1]))

    Reference:
        - [Woo et al., 2018](https://arxiv.org/abs/1807.06521).
        - [Yao et al., 2019](https://arxiv.org/abs/1901.05127), whose
          self-attention this replaces.
    """

    def __init__(self, reduction=16, kernel_size=7, **kwargs):
        super().__init__(**kwargs)
        self.reduction = reduction
        self.kernel_size = kernel_size
        self.channel_attention = ChannelAttention(reduction, name="channel_attention")
        self.spatial_attention = SpatialAttention(kernel_size, name="spatial_attention")

    def build(self, input_shape):
        self.channel_attention.build(input_shape)
        self.spatial_attention.build(input_shape)

    def call(self, inputs):
        channel = self.channel_attention(inputs)
        spatial = self.spatial_attention(inputs * channel)
        attention = channel * spatial
        return {
            "features": inputs + inputs * attention,
            "attention": attention,
            "attention_map": spatial * tf.reduce_mean(channel, axis=-1, keepdims=True),
        }

    def compute_output_shape(self, input_shape):
        return {
            "features": tuple(input_shape),
            "attention": tuple(input_shape),
            "attention_map": tuple(input_shape[:3]) + (1,),
        }

    def get_config(self):
        config = super().get_config()
        config.update({"reduction": self.reduction, "kernel_size": self.kernel_size})
        return config
