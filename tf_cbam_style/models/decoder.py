import keras
import tensorflow as tf

from tf_cbam_style.layers.reflection_padding import ReflectionPadding2D
from tf_cbam_style.models.vgg19_encoder import DEPTHS

# Mirror of VGG19 from each cut back to RGB: an int is a 3x3 convolution
# with that many filters, "up" an x2 upsampling, and a layer name the point
# where the skip statistics of that encoder layer are applied (AAMS decoder).
_DECODER_SPECS = {
    "relu5_1": (512, "up", 512, 512, 512, "relu4_1", 256, "up", 256, 256, 256, "relu3_1", 128, "up",
                128, "relu2_1", 64, "up", 64, "relu1_1", 3),
    "relu4_1": (256, "up", 256, 256, 256, "relu3_1", 128, "up", 128, "relu2_1", 64, "up", 64,
                "relu1_1", 3),
    "relu3_1": (128, "up", 128, "relu2_1", 64, "up", 64, "relu1_1", 3),
}
UPSAMPLINGS = ("nearest", "bilinear")
_BILINEAR_UP = "bilinear x2"


def _upsample_bilinear(x):
    return tf.image.resize(x, 2 * tf.shape(x)[1:3], method="bilinear")


def skip_layers(depth):
    """The encoder layers whose statistics a skip-statistics decoder at `depth` uses."""
    return tuple(s for s in _DECODER_SPECS[depth] if isinstance(s, str) and s != "up")


def feature_statistics(features, epsilon=1e-5):
    """Per-image, per-channel `(mean, std)` over the spatial axes, each `(batch, 1, 1, c)`.

    Computed in float32 and returned in the features' dtype, so that under
    a bfloat16 compute policy (`AttentionAutoencoder.set_precision`) the
    instance statistics keep float32 accuracy.
    """
    mean, variance = tf.nn.moments(tf.cast(features, tf.float32), axes=[1, 2], keepdims=True)
    return tf.cast(mean, features.dtype), tf.cast(tf.sqrt(variance + epsilon), features.dtype)


@keras.saving.register_keras_serializable(package="tf_cbam_style")
class Decoder(keras.layers.Layer):
    """Decoder symmetric to `VGG19Encoder` at a given depth.

    Every convolution is 3x3 after reflection padding, with ReLU except the
    last. The last convolution predicts 0-255 values around mid-grey
    (`y / 255 + 0.5`), as in the AAMS code.

    With `skip_statistics=True` (the AAMS decoder, after Avatar-Net), the
    activations after the last convolution at each lower resolution are
    re-normalised to given per-channel statistics of the matching encoder
    layer (relu3_1, relu2_1, relu1_1 below a relu4_1 cut):
    `x = std * (x - mean(x)) / std(x) + mean`, per image and channel. In
    training the statistics are the photo's own, so the decoder learns to
    rely on them; at stylization time they are the style's (blended with
    the content's by alpha), which puts the style's low-level colour and
    contrast statistics into the output. Only global per-channel means and
    standard deviations pass, no spatial structure.

    Args:
        depth: `"relu3_1"`, `"relu4_1"` (default) or `"relu5_1"`.
        upsampling: `"nearest"` (default, as the AdaIN/WCT decoders) or
            `"bilinear"` x2 upsampling.
        skip_statistics: bool, use the skip statistics (see above).
            Defaults to `False`.
        **kwargs: standard layer arguments such as `name` and `dtype`.

    Call arguments:
        inputs: float tensor `(batch, h, w, c)` of encoder features.
        statistics: a dict point name -> `(mean, std)`, each `(batch or 1,
            1, 1, channels)` (see `feature_statistics`), for the points of
            `skip_layers(depth)`: required for every point with
            `skip_statistics`; optional otherwise (the activations at the
            points given are re-normalised to them).
        statistics_weight: float or scalar tensor in [0, 1]: the target is
            `weight * given + (1 - weight) * the activations' own`.

    Output shape:
        `(batch, h * s, w * s, 3)`, RGB roughly in [0, 1] (not clipped), with
        `s` the encoder stride (4, 8 or 16).

    Raises:
        ValueError: for an unknown `depth` or `upsampling`, or when
            `skip_statistics` is set and `statistics` misses a layer.

    Example:

    >>> Decoder("relu3_1")(tf.zeros((1, 8, 8, 256))).shape
    TensorShape([1, 32, 32, 3])

    Reference:
        - [Huang & Belongie, 2017](https://arxiv.org/abs/1703.06868).
        - [Sheng et al., 2018](https://arxiv.org/abs/1805.03857) (Avatar-Net)
          and [Yao et al., 2019](https://arxiv.org/abs/1901.05127) (AAMS),
          the skip statistics.
    """

    def __init__(self, depth="relu4_1", upsampling="nearest", skip_statistics=False, **kwargs):
        super().__init__(**kwargs)
        if depth not in DEPTHS:
            raise ValueError(
                f"`depth` must be one of {DEPTHS}. Received: depth={depth!r}"
            )
        if upsampling not in UPSAMPLINGS:
            raise ValueError(
                f"`upsampling` must be one of {UPSAMPLINGS}. Received: upsampling={upsampling!r}"
            )
        self.depth = depth
        self.upsampling = upsampling
        self.skip_statistics = bool(skip_statistics)
        self.blocks = []
        spec = _DECODER_SPECS[depth]
        n_convs = sum(1 for s in spec if isinstance(s, int))
        conv_index = 0
        for s in spec:
            if s == "up":
                # Keras' bilinear UpSampling2D needs static sizes; tf.image.resize does not.
                self.blocks.append(
                    keras.layers.UpSampling2D(2, interpolation="nearest") if upsampling == "nearest"
                    else _BILINEAR_UP
                )
                continue
            if isinstance(s, str):
                self.blocks.append(s)  # a statistics point (a no-op unless statistics are given)
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

    @property
    def statistics_layers(self):
        """The encoder layers whose statistics `call` needs (empty without skips)."""
        return skip_layers(self.depth) if self.skip_statistics else ()

    def call(self, inputs, statistics=None, statistics_weight=1.0):
        if self.skip_statistics:
            missing = [n for n in self.statistics_layers if not statistics or n not in statistics]
            if missing:
                raise ValueError(
                    f"`statistics` must give (mean, std) for {self.statistics_layers}. "
                    f"Received: statistics missing {missing}"
                )
        return self._run(inputs, statistics or {}, statistics_weight)[0]

    def activation_statistics(self, inputs):
        """The per-channel `(mean, std)` of this decoder's own activations at
        every statistics point (`skip_layers(depth)`) when decoding `inputs`.

        Only for decoders without skip statistics. Passing them as
        `statistics` when decoding other features (the training-free
        activation matching of `StylizePipeline(decoder_statistics=True)`)
        gives those activations the same statistics.
        """
        if self.skip_statistics:
            raise ValueError(
                "`activation_statistics` needs a decoder without skip statistics. "
                f"Received: skip_statistics={self.skip_statistics}"
            )
        return self._run(inputs, {}, 1.0)[1]

    def run_blocks(self, inputs, stop):
        """The activations after the first `stop` entries of `blocks`, raw.

        Without statistics (their points pass the activations through) and
        without the output scaling of `call`: the warm-start tool fits a
        deeper decoder's first layers with it.
        """
        x = inputs
        for layer in self.blocks[:stop]:
            if layer is _BILINEAR_UP:
                x = _upsample_bilinear(x)
            elif not isinstance(layer, str):
                x = layer(x)
        return x

    def _run(self, inputs, statistics, weight):
        x = inputs
        seen = {}
        for layer in self.blocks:
            if layer is _BILINEAR_UP:
                x = _upsample_bilinear(x)
                continue
            if isinstance(layer, str):
                mean, std = feature_statistics(x)
                seen[layer] = (mean, std)
                if layer in statistics:
                    # Re-normalise to the given statistics (weight 1), or to a
                    # blend of them with the activations' own (weight < 1).
                    target_mean, target_std = statistics[layer]
                    target_mean = weight * target_mean + (1.0 - weight) * mean
                    target_std = weight * target_std + (1.0 - weight) * std
                    x = target_std * (x - mean) / std + target_mean
                continue
            x = layer(x)
        # As in AAMS, the last convolution works in the 0-255 range of the
        # VGG preprocessing around mid-grey; this keeps the untrained
        # decoder's output near [0, 1] and the early losses sane.
        return x / 255.0 + 0.5, seen

    def compute_output_shape(self, input_shape):
        b, h, w, _ = input_shape
        s = {"relu3_1": 4, "relu4_1": 8, "relu5_1": 16}[self.depth]
        return (b, None if h is None else h * s, None if w is None else w * s, 3)

    def get_config(self):
        config = super().get_config()
        config.update(
            {"depth": self.depth, "upsampling": self.upsampling, "skip_statistics": self.skip_statistics}
        )
        return config
