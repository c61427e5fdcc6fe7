import keras
import tensorflow as tf

from tf_cbam_style.layers.multi_stroke_fusion import kmeans_1d, normalize_map, smooth_map


@keras.saving.register_keras_serializable(package="tf_cbam_style")
class ForegroundComposite(keras.layers.Layer):
    """Stylizes only the salient region; the content shows elsewhere.

    The seed paper's "chroma-key" idea with the attention map as the key:
    the map is smoothed, stretched to its own spread (mean +- 2 std,
    within [0, 1], to [0, 1], so that a few outlying pixels cannot squeeze
    the rest together),
    split into foreground and background by 2-means (Otsu's criterion in
    1-D, deterministic), turned into a soft matte with
    a sigmoid of width `softness`, upsampled bilinearly to the image and
    feathered, then `out = matte * stylized + (1 - matte) * content`.

    Args:
        softness: float, sigmoid width in normalised saliency units; larger
            gives softer edges. Defaults to `0.08`.
        feather: float, Gaussian sigma of the matte in feature pixels (one
            feature pixel is 8 image pixels at relu4_1). Defaults to `1.0`.
        **kwargs: standard layer arguments such as `name` and `dtype`.

    Call arguments:
        stylized: `(batch, H, W, 3)` images.
        content: `(batch, H, W, 3)` images.
        attention_map: `(batch, h, w, 1)` saliency at any resolution.

    Returns:
        A dict with `"image"` (`(batch, H, W, 3)`) and `"matte"`
        (`(batch, H, W, 1)` in [0, 1]).

    Example:

    >>> x = tf.zeros((1, 16, 16, 3))
    >>> out = ForegroundComposite()(x, x, tf.random.uniform((1, 2, 2, 1)))
    >>> out["matte"].shape
    TensorShape([1, 16, 16, 1])

    Reference:
        - [Otsu, 1979](https://doi.org/10.1109/TSMC.1979.4310076).
    """

    def __init__(self, softness=0.08, feather=1.0, **kwargs):
        super().__init__(**kwargs)
        if float(softness) <= 0:
            raise ValueError(f"`softness` must be positive. Received: softness={softness!r}")
        self.softness = float(softness)
        self.feather = float(feather)

    def matte(self, attention_map, size):
        saliency = normalize_map(smooth_map(normalize_map(attention_map), self.feather))
        # Min-max normalisation lets a few outlying pixels squeeze the rest
        # of a map into a narrow band near 1, where 2-means would cut off
        # only the outliers. The split is made on the map stretched to its
        # own spread instead: [mean - 2 std, mean + 2 std], within [0, 1],
        # to [0, 1], clipped. A map that already spans [0, 1] (e.g. two
        # levels) is unchanged; a constant map is used as it is.
        mean, variance = tf.nn.moments(saliency, axes=[1, 2, 3], keepdims=True)
        std = tf.sqrt(variance)
        low, high = tf.maximum(mean - 2.0 * std, 0.0), tf.minimum(mean + 2.0 * std, 1.0)
        stretched = tf.clip_by_value((saliency - low) / tf.maximum(high - low, 1e-6), 0.0, 1.0)
        saliency = tf.where(high - low > 1e-4, stretched, saliency)
        shape = tf.shape(saliency)
        centroids = kmeans_1d(tf.reshape(saliency, [shape[0], -1]), 2, 10)
        threshold = tf.reduce_mean(centroids, axis=-1)[:, None, None, None]
        soft = tf.sigmoid((saliency - threshold) / self.softness)
        soft = smooth_map(soft, self.feather)
        return tf.clip_by_value(tf.image.resize(soft, size, method="bilinear"), 0.0, 1.0)

    def call(self, stylized, content, attention_map):
        matte = self.matte(attention_map, tf.shape(content)[1:3])
        return {"image": matte * stylized + (1.0 - matte) * content, "matte": matte}

    def get_config(self):
        config = super().get_config()
        config.update({"softness": self.softness, "feather": self.feather})
        return config
