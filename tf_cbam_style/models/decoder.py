import keras

from tf_cbam_style.layers.reflection_padding import ReflectionPadding2D
from tf_cbam_style.models.vgg19_encoder import DEPTHS

# Mirror of VGG19 from each cut back to RGB; "up" is nearest upsampling x2.
_DECODER_SPECS = {
    "relu5_1": (512, "up", 512, 512, 512, 256, "up", 256, 256, 256, 128, "up", 128, 64, "up", 64, 3),
    "relu4_1": (256, "up", 256, 256, 256, 128, "up", 128, 64, "up", 64, 3),
    "relu3_1": (128, "up", 128, 64, "up", 64, 3),
}


@keras.saving.register_keras_serializable(package="tf_cbam_style")
class Decoder(keras.layers.Layer):
    """Decoder symmetric to `VGG19Encoder` at a given depth.

    Every convolution is 3x3 after reflection padding, with ReLU except the
    last; upsampling is nearest-neighbour, as in the AdaIN/WCT decoders. The
    last convolution predicts 0-255 values around mid-grey (`y / 255 + 0.5`),
    as in the AAMS code.

    Args:
        depth: `"relu3_1"`, `"relu4_1"` (default) or `"relu5_1"`.
        **kwargs: standard layer arguments such as `name` and `dtype`.

    Call arguments:
        inputs: float tensor `(batch, h, w, c)` of encoder features.

    Output shape:
        `(batch, h * s, w * s, 3)`, RGB roughly in [0, 1] (not clipped), with
        `s` the encoder stride (4, 8 or 16).

    Example:

    >>> Decoder("relu3_1")(tf.zeros((1, 8, 8, 256))).shape
    TensorShape([1, 32, 32, 3])

    Reference:
        - [Huang & Belongie, 2017](https://arxiv.org/abs/1703.06868).
    """

    def __init__(self, depth="relu4_1", **kwargs):
        super().__init__(**kwargs)
        if depth not in DEPTHS:
            raise ValueError(
                f"`depth` must be one of {DEPTHS}. Received: depth={depth!r}"
            )
        self.depth = depth
        self.blocks = []
        spec = _DECODER_SPECS[depth]
        n_convs = sum(1 for s in spec if s != "up")
        conv_index = 0
        for s in spec:
            if s == "up":
                self.blocks.append(keras.layers.UpSampling2D(2, interpolation="nearest"))
                continue
            conv_index += 1
            last = conv_index == n_convs
            self.blocks.append(ReflectionPadding2D(1, name=f"pad_{conv_index}"))
            self.blocks.append(
                keras.layers.Conv2D(
                    s, 3, padding="valid", activation=None if last else "relu",
                    name=f"conv_{conv_index}",
                )
            )

    def build(self, input_shape):
        channels = input_shape[-1]
        for layer in self.blocks:
            if isinstance(layer, keras.layers.Conv2D):
                layer.build((None, None, None, channels))
                channels = layer.filters

    def call(self, inputs):
        x = inputs
        for layer in self.blocks:
            x = layer(x)
        # As in AAMS, the last convolution works in the 0-255 range of the
        # VGG preprocessing around mid-grey; this keeps the untrained
        # decoder's output near [0, 1] and the early losses sane.
        return x / 255.0 + 0.5

    def compute_output_shape(self, input_shape):
        b, h, w, _ = input_shape
        s = {"relu3_1": 4, "relu4_1": 8, "relu5_1": 16}[self.depth]
        return (b, None if h is None else h * s, None if w is None else w * s, 3)

    def get_config(self):
        config = super().get_config()
        config.update({"depth": self.depth})
        return config
