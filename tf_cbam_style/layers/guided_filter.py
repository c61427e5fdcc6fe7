import keras
import tensorflow as tf


def box_mean(x, radius, count=None):
    """Mean of each `(2r+1) x (2r+1)` window, clipped at the borders.

    Two separable `tf.nn.avg_pool2d` passes with `"SAME"` padding, divided
    by the same passes over ones (`count`), so the result is the mean over
    the pixels inside the image whether or not an average pool counts the
    padding (TensorFlow does not; the division makes it not matter).

    Args:
        x: `(batch, H, W, c)` float32.
        radius: int >= 1.
        count: optional precomputed `box_mean` normaliser of ones,
            `(batch, H, W, 1)`.

    Returns:
        `(batch, H, W, c)`.
    """
    if count is None:
        count = _pool(tf.ones_like(x[..., :1]), radius)
    return _pool(x, radius) / count


def _pool(x, radius):
    k = 2 * radius + 1
    x = tf.nn.avg_pool2d(x, ksize=[k, 1], strides=1, padding="SAME")
    return tf.nn.avg_pool2d(x, ksize=[1, k], strides=1, padding="SAME")


@keras.saving.register_keras_serializable(package="tf_cbam_style")
class GuidedFilter(keras.layers.Layer):
    """Edge-preserving smoothing of `inputs` that follows the edges of `guide`.

    He, Sun and Tang's guided filter: in every `(2r+1) x (2r+1)` window
    `w_k` the output is a linear function of the guide, `q = a_k I + b_k`,
    fitted to the input `p` by ridge regression with penalty `epsilon`; each
    pixel averages the coefficients of the windows that cover it:

        a_k = cov_k(I, p) / (var_k(I) + eps)         (grey guide)
        a_k = (Sigma_k + eps U)^-1 cov_k(I, p)        (colour guide, 3x3)
        b_k = mean_k(p) - a_k . mean_k(I)
        q   = mean(a) . I + mean(b)

    The colour guide's 3x3 inverse is written out (adjugate / determinant),
    and the windows are `tf.nn.avg_pool2d` box means, so the graph holds
    only elementwise ops and average pools (no matrix inverse, patches or
    eigen-decompositions; converts to TF.js). Windows are clipped at the
    image border (the mean over the pixels inside), as in the paper's
    `boxfilter(ones)` normalisation.

    Used to snap the attention-derived matte of the region composite to the
    object's edges in the photo.

    Args:
        radius: int >= 1, window radius `r` in pixels of `guide`. Defaults
            to `8`.
        epsilon: float > 0, regularisation `eps` in squared guide units (the
            guide in [0, 1]); larger gives smoother output, smaller follows
            the guide's edges more. Defaults to `1e-2`.
        **kwargs: standard layer arguments such as `name` and `dtype`.

    Call arguments:
        inputs: `(batch, H, W, c)` image to filter, e.g. a matte in [0, 1];
            every channel is filtered on its own.
        guide: `(batch, H, W, 1)` grey or `(batch, H, W, 3)` colour guide
            image in [0, 1], the same height and width.

    Returns:
        `(batch, H, W, c)` float32, not clipped (a matte may leave [0, 1]
        slightly; clip it if needed).

    Raises:
        ValueError: `radius` not a positive int, `epsilon` not positive, or
            a guide with other than 1 or 3 channels.

    Example:

    >>> guide = tf.random.uniform((1, 32, 32, 3))
    >>> matte = tf.cast(tf.random.uniform((1, 32, 32, 1)) > 0.5, tf.float32)
    >>> GuidedFilter(radius=4, epsilon=1e-3)(matte, guide).shape
    TensorShape([1, 32, 32, 1])

    Reference:
        - [He, Sun & Tang, 2010](https://doi.org/10.1007/978-3-642-15549-9_1),
          "Guided Image Filtering", ECCV (Algorithm 1 and the colour
          extension of section 3.5).
    """

    def __init__(self, radius=8, epsilon=1e-2, **kwargs):
        super().__init__(**kwargs)
        if isinstance(radius, bool) or not isinstance(radius, int) or radius < 1:
            raise ValueError(f"`radius` must be a positive int. Received: radius={radius!r}")
        try:
            epsilon_value = float(epsilon)
        except (TypeError, ValueError):
            epsilon_value = float("nan")
        if not epsilon_value > 0:
            raise ValueError(f"`epsilon` must be a positive float. Received: epsilon={epsilon!r}")
        self.radius = radius
        self.epsilon = epsilon_value

    def call(self, inputs, guide):
        p = tf.cast(inputs, tf.float32)
        guide = tf.cast(guide, tf.float32)
        channels = guide.shape[-1]
        if channels not in (1, 3):
            raise ValueError(
                f"`guide` must have 1 (grey) or 3 (colour) channels. Received: guide.shape={guide.shape}"
            )
        r, eps = self.radius, self.epsilon
        count = _pool(tf.ones_like(guide[..., :1]), r)
        n = p.shape[-1]
        if n is None:
            raise ValueError(f"The channel axis of `inputs` must be known. Received: inputs.shape={p.shape}")
        # Two batched box means (one per stage): fewer, wider pools are much faster.
        g = [guide[..., c:c + 1] for c in range(channels)]
        if channels == 1:
            stage = box_mean(tf.concat([p, guide, guide * guide, guide * p], axis=-1), r, count)
            mean_p, mean_i, second, mean_ip = tf.split(stage, [n, 1, 1, n], axis=-1)
            a = (mean_ip - mean_i * mean_p) / (second - mean_i * mean_i + eps)
            b = mean_p - a * mean_i
            mean_a, mean_b = tf.split(box_mean(tf.concat([a, b], axis=-1), r, count), [n, n], axis=-1)
            return mean_a * guide + mean_b

        pairs = ((0, 0), (0, 1), (0, 2), (1, 1), (1, 2), (2, 2))
        stage = box_mean(tf.concat([p, guide] + [g[i] * g[j] for i, j in pairs] + [c * p for c in g], axis=-1),
                         r, count)
        parts = tf.split(stage, [n, 3, 6, n, n, n], axis=-1)
        mean_p, mean_i, second, mean_ip = parts[0], parts[1], parts[2], parts[3:]
        m = [mean_i[..., c:c + 1] for c in range(3)]
        s00, s01, s02, s11, s12, s22 = (second[..., k:k + 1] - m[i] * m[j] + (eps if i == j else 0.0)
                                        for k, (i, j) in enumerate(pairs))
        # Inverse of the symmetric 3x3 matrix by its adjugate.
        i00 = s11 * s22 - s12 * s12
        i01 = s02 * s12 - s01 * s22
        i02 = s01 * s12 - s02 * s11
        i11 = s00 * s22 - s02 * s02
        i12 = s01 * s02 - s00 * s12
        i22 = s00 * s11 - s01 * s01
        determinant = s00 * i00 + s01 * i01 + s02 * i02
        cov = [mean_ip[c] - m[c] * mean_p for c in range(3)]
        a0 = (i00 * cov[0] + i01 * cov[1] + i02 * cov[2]) / determinant
        a1 = (i01 * cov[0] + i11 * cov[1] + i12 * cov[2]) / determinant
        a2 = (i02 * cov[0] + i12 * cov[1] + i22 * cov[2]) / determinant
        b = mean_p - a0 * m[0] - a1 * m[1] - a2 * m[2]
        mean_a0, mean_a1, mean_a2, mean_b = tf.split(box_mean(tf.concat([a0, a1, a2, b], axis=-1), r, count),
                                                     [n, n, n, n], axis=-1)
        return mean_a0 * g[0] + mean_a1 * g[1] + mean_a2 * g[2] + mean_b

    def get_config(self):
        config = super().get_config()
        config.update({"radius": self.radius, "epsilon": self.epsilon})
        return config
