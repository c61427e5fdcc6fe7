import keras
import tensorflow as tf

from tf_cbam_style import options as opts
from tf_cbam_style.layers.guided_filter import GuidedFilter
from tf_cbam_style.layers.multi_stroke_fusion import kmeans_1d, normalize_map, smooth_map


@keras.saving.register_keras_serializable(package="tf_cbam_style")
class ForegroundComposite(keras.layers.Layer):
    """Stylizes only the salient region; the content shows elsewhere.

    The seed paper's "chroma-key" idea with the attention map as the key.
    The matte is made in two steps:

    1. `soft_matte`: the map is smoothed, stretched to its own spread
       (mean +- 2 std, within [0, 1], to [0, 1], so that a few outlying
       pixels cannot squeeze the rest together), split into foreground and
       background by 2-means (Otsu's criterion in 1-D, deterministic),
       turned into a soft matte with a sigmoid of width `softness`,
       feathered and upsampled bilinearly to the image.
    2. `refine`: the soft matte is binarised at 0.5 and snapped to the
       photo's edges by a guided filter (He et al. 2010) with the photo as
       its colour guide, radius `refine_radius` and regularisation
       `refine_epsilon`, then clipped to [0, 1]. The attention map has one
       value per 8 (relu4_1) or more image pixels, so the soft matte's edge
       is a blurred staircase that lets the stylized image bleed into the
       part meant to stay a photo; the filtered binary matte follows the
       photo's own edges instead. On 60 SOD photos this brought the mean
       CIEDE2000 of the kept region from 5.32 to 2.22 (foreground mode)
       and from 3.35 to 1.08 (background mode); docs/results.md.
       `refine_radius=0` skips this step (the soft matte is the matte).

    Then `out = matte * stylized + (1 - matte) * content`.

    Args:
        softness: float > 0, sigmoid width in normalised saliency units;
            larger gives softer edges. Defaults to `0.08`.
        feather: float >= 0, Gaussian sigma of the soft matte in feature
            pixels (one feature pixel is 8 image pixels at relu4_1).
            Defaults to `1.0`.
        refine_radius: int >= 0, guided-filter window radius in image
            pixels; `0` = no refinement. Defaults to
            `options.MATTE_REFINE_RADIUS` (4).
        refine_epsilon: float > 0, guided-filter regularisation in squared
            guide units (the photo in [0, 1]). Defaults to
            `options.MATTE_REFINE_EPSILON` (1e-3).
        **kwargs: standard layer arguments such as `name` and `dtype`.

    Call arguments:
        stylized: `(batch, H, W, 3)` images in [0, 1].
        content: `(batch, H, W, 3)` photos in [0, 1]; also the guide of
            the refinement.
        attention_map: `(batch, h, w, 1)` saliency at any resolution.

    Returns:
        A dict with `"image"` (`(batch, H, W, 3)`) and `"matte"`
        (`(batch, H, W, 1)` in [0, 1]).

    Raises:
        ValueError: `softness` or `refine_epsilon` not positive, `feather`
            negative, or `refine_radius` not an int >= 0.

    Example:

    >>> x = tf.zeros((1, 16, 16, 3))
    >>> out = ForegroundComposite()(x, x, tf.random.uniform((1, 2, 2, 1)))
    >>> out["matte"].shape
    TensorShape([1, 16, 16, 1])

    Reference:
        - [Otsu, 1979](https://doi.org/10.1109/TSMC.1979.4310076).
        - [He, Sun & Tang, 2010](https://doi.org/10.1007/978-3-642-15549-9_1),
          "Guided Image Filtering", ECCV (section 4, feathering a binary
          mask).
    """

    def __init__(self, softness=0.08, feather=1.0, refine_radius=opts.MATTE_REFINE_RADIUS,
                 refine_epsilon=opts.MATTE_REFINE_EPSILON, **kwargs):
        super().__init__(**kwargs)
        if not float(softness) > 0:
            raise ValueError(f"`softness` must be positive. Received: softness={softness!r}")
        if not float(feather) >= 0:
            raise ValueError(f"`feather` must be >= 0. Received: feather={feather!r}")
        if isinstance(refine_radius, bool) or not isinstance(refine_radius, int) or refine_radius < 0:
            raise ValueError(f"`refine_radius` must be an int >= 0. Received: refine_radius={refine_radius!r}")
        if not float(refine_epsilon) > 0:
            raise ValueError(f"`refine_epsilon` must be positive. Received: refine_epsilon={refine_epsilon!r}")
        self.softness = float(softness)
        self.feather = float(feather)
        self.refine_radius = refine_radius
        self.refine_epsilon = float(refine_epsilon)
        self._guided_filter = (GuidedFilter(radius=refine_radius, epsilon=self.refine_epsilon, name="guided_filter")
                               if refine_radius else None)

    @property
    def reach(self):
        """How far (pixels) the refinement looks: a window of the matte needs this margin to be exact."""
        return 2 * self.refine_radius

    def soft_matte(self, attention_map, size):
        """Step 1: `(batch, h, w, 1)` saliency -> `(batch, *size, 1)` soft matte in [0, 1]."""
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

    def refine(self, soft_matte, guide):
        """Step 2: `(batch, H, W, 1)` soft matte and `(batch, H, W, 3)` photo -> refined matte in [0, 1].

        Exact on a window of a larger image when the window carries
        `reach` pixels of margin on every side that is not the image's
        border (the guided filter's box means are clipped at the border).
        """
        if self._guided_filter is None:
            return soft_matte
        hard = tf.cast(soft_matte >= 0.5, tf.float32)
        return tf.clip_by_value(self._guided_filter(hard, guide), 0.0, 1.0)

    def call(self, stylized, content, attention_map):
        matte = self.refine(self.soft_matte(attention_map, tf.shape(content)[1:3]), content)
        return {"image": matte * stylized + (1.0 - matte) * content, "matte": matte}

    def get_config(self):
        config = super().get_config()
        config.update({"softness": self.softness, "feather": self.feather, "refine_radius": self.refine_radius,
                       "refine_epsilon": self.refine_epsilon})
        return config
