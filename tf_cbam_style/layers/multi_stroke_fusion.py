import keras
import numpy as np
import tensorflow as tf


def gaussian_kernel(sigma, radius=None):
    """A normalised 2-D Gaussian as a numpy `(k, k, 1, 1)` conv kernel."""
    radius = radius if radius is not None else max(1, int(round(2 * sigma)))
    x = np.arange(-radius, radius + 1, dtype=np.float32)
    g = np.exp(-(x ** 2) / (2.0 * sigma ** 2))
    k = np.outer(g, g)
    return (k / k.sum()).astype(np.float32)[:, :, None, None]


def smooth_map(attention_map, sigma):
    """Gaussian-blurs a `(batch, h, w, 1)` map with reflection padding."""
    if sigma <= 0:
        return attention_map
    kernel = gaussian_kernel(sigma)
    r = kernel.shape[0] // 2
    # Reflection needs r < size; replicate-free fallback for tiny maps.
    h, w = tf.shape(attention_map)[1], tf.shape(attention_map)[2]
    r_eff = tf.minimum(r, tf.minimum(h, w) - 1)
    padded = tf.pad(attention_map, [[0, 0], [r_eff, r_eff], [r_eff, r_eff], [0, 0]], mode="REFLECT")
    padded = tf.pad(padded, [[0, 0], [r - r_eff, r - r_eff], [r - r_eff, r - r_eff], [0, 0]], mode="SYMMETRIC")
    return tf.nn.conv2d(padded, tf.constant(kernel), strides=1, padding="VALID")


def normalize_map(attention_map):
    """Min-max normalises each map of a `(batch, h, w, 1)` batch to [0, 1]."""
    lo = tf.reduce_min(attention_map, axis=[1, 2, 3], keepdims=True)
    hi = tf.reduce_max(attention_map, axis=[1, 2, 3], keepdims=True)
    return (attention_map - lo) / tf.maximum(hi - lo, 1e-8)


def kmeans_1d(values, clusters, iterations):
    """Deterministic 1-D k-means per image.

    `values` is `(batch, n)` in [0, 1]. Centroids start evenly spaced at
    `(k + 0.5) / clusters` (no random init), empty clusters keep their
    centroid, and the result is sorted from most to least salient.
    `clusters` may be a Python int or a scalar int tensor.

    Returns:
        `(batch, clusters)` centroids, descending.
    """
    k = tf.cast(clusters, tf.int32)
    init = (tf.cast(tf.range(k), values.dtype) + 0.5) / tf.cast(k, values.dtype)
    centroids = tf.tile(init[None], [tf.shape(values)[0], 1])
    for _ in range(iterations):
        distance = tf.abs(values[:, :, None] - centroids[:, None, :])
        assign = tf.argmin(distance, axis=-1, output_type=tf.int32)
        # One-hot as int32, then cast: float one_hot is wrong on TF.js wasm.
        onehot = tf.cast(tf.one_hot(assign, k, dtype=tf.int32), values.dtype)
        counts = tf.reduce_sum(onehot, axis=1)
        sums = tf.reduce_sum(onehot * values[:, :, None], axis=1)
        centroids = tf.where(counts > 0, sums / tf.maximum(counts, 1.0), centroids)
    return -tf.sort(-centroids, axis=-1)


def region_sources(num_regions, num_features):
    """Feature-map index of each region, most salient first (int32 tensor).

    Region `k` of `K` takes map `round(k * (F - 1) / (K - 1))`, so the most
    salient region gets the first map and the least salient the last.
    """
    k = tf.cast(num_regions, tf.float32)
    f = tf.cast(num_features, tf.float32)
    steps = tf.range(k) * (f - 1.0) / tf.maximum(k - 1.0, 1.0)
    return tf.cast(tf.round(steps), tf.int32)


@keras.saving.register_keras_serializable(package="tf_cbam_style")
class MultiStrokeFusion(keras.layers.Layer):
    """Fuses stroke-size feature maps per pixel according to saliency.

    The attention map is min-max normalised and smoothed with a fixed
    Gaussian, split into `num_regions` saliency levels by deterministic 1-D
    k-means, and each pixel gets soft weights
    `softmax_k(theta * (1 - |a - c_k|))`, which sum to 1. Region `k` (0 =
    most salient) takes feature map `round(k * (F - 1) / (K - 1))` of the `F`
    given maps, so with the maps ordered fine to coarse the most salient
    region keeps the first (finest) one and the least salient gets the last.

    AAMS binarises the map at twice its mean and blurs it with a random
    kernel, and seeds k-means randomly; here both steps are deterministic,
    so the same inputs always give the same output.

    Args:
        num_regions: int >= 1, `K`. Defaults to `4`.
        theta: float, softmax sharpness. Defaults to `50.0` (AAMS).
        iterations: int, k-means iterations. Defaults to `10`.
        smoothing: float, Gaussian sigma in feature pixels. Defaults to `1.0`.
        **kwargs: standard layer arguments such as `name` and `dtype`.

    Call arguments:
        features: list of `F` tensors `(batch, h, w, c)`, fine to coarse, or
            one stacked `(F, batch, h, w, c)` tensor.
        attention_map: `(batch, h, w, 1)`, any non-negative scale.
        num_regions: optional int or scalar int tensor overriding the
            configured `num_regions` at run time (used by serving).

    Returns:
        A dict with `"features"` (fused, `(batch, h, w, c)`), `"weights"`
        (`(batch, h, w, K)`), `"centroids"` (`(batch, K)`, descending) and
        `"attention_map"` (the normalised, smoothed map).

    Example:

    >>> fusion = MultiStrokeFusion(num_regions=2)
    >>> maps = [tf.zeros((1, 4, 4, 3)), tf.ones((1, 4, 4, 3))]
    >>> fusion(maps, tf.random.uniform((1, 4, 4, 1)))["features"].shape
    TensorShape([1, 4, 4, 3])

    Reference:
        - [Yao et al., 2019](https://arxiv.org/abs/1901.05127), section 3.3.
    """

    def __init__(self, num_regions=4, theta=50.0, iterations=10, smoothing=1.0, **kwargs):
        super().__init__(**kwargs)
        if not isinstance(num_regions, int) or num_regions < 1:
            raise ValueError(
                f"`num_regions` must be a positive int. Received: num_regions={num_regions!r}"
            )
        if not isinstance(iterations, int) or iterations < 1:
            raise ValueError(
                f"`iterations` must be a positive int. Received: iterations={iterations!r}"
            )
        self.num_regions = num_regions
        self.theta = float(theta)
        self.iterations = iterations
        self.smoothing = float(smoothing)

    def region_sources(self, num_features):
        """Index of the feature map used by each region, most salient first."""
        return [int(i) for i in region_sources(self.num_regions, num_features).numpy()]

    def call(self, features, attention_map, num_regions=None):
        if isinstance(features, (list, tuple)):
            if not features:
                raise ValueError("`features` must be a non-empty list of feature maps. Received: features=[]")
            features = tf.stack(features)
        elif not tf.is_tensor(features) or features.shape.rank != 5:
            raise ValueError(
                "`features` must be a list of (batch, h, w, c) maps or one stacked "
                f"(F, batch, h, w, c) tensor. Received: features={type(features).__name__}"
            )
        saliency = normalize_map(smooth_map(normalize_map(attention_map), self.smoothing))
        return self.fuse(features, saliency, num_regions=num_regions)

    def saliency(self, attention_map):
        """The normalised, smoothed map `fuse` expects: `(batch, h, w, 1)` in [0, 1]."""
        return normalize_map(smooth_map(normalize_map(attention_map), self.smoothing))

    def centroids(self, saliency, num_regions=None):
        """The k-means centroids `(batch, K)` (descending) of a saliency in [0, 1]."""
        k = self.num_regions if num_regions is None else num_regions
        shape = tf.shape(saliency)
        return kmeans_1d(tf.reshape(saliency, [shape[0], -1]), k, self.iterations)

    def fuse(self, features, saliency, num_regions=None, centroids=None):
        """Fuses stacked `(F, batch, h, w, c)` maps by a saliency already in [0, 1].

        Unlike `call`, the map is used as given (no min-max normalisation or
        smoothing), so a user mask keeps its values. `centroids` (from
        `centroids`) may be given, e.g. those of a whole photo for one of its
        tiles. Returns the same dict as `call`.
        """
        k = self.num_regions if num_regions is None else num_regions
        if centroids is None:
            centroids = self.centroids(saliency, k)
        distance = tf.abs(saliency - centroids[:, None, None, :])
        weights = tf.nn.softmax(self.theta * (1.0 - distance), axis=-1)
        chosen = tf.gather(features, region_sources(k, tf.shape(features)[0]))  # (K, b, h, w, c)
        fused = tf.reduce_sum(tf.transpose(weights, [3, 0, 1, 2])[..., None] * chosen, axis=0)
        return {
            "features": fused,
            "weights": weights,
            "centroids": centroids,
            "attention_map": saliency,
        }

    def get_config(self):
        config = super().get_config()
        config.update(
            {
                "num_regions": self.num_regions,
                "theta": self.theta,
                "iterations": self.iterations,
                "smoothing": self.smoothing,
            }
        )
        return config
