import collections

import keras
import numpy as np
import tensorflow as tf

WhitenedFeatures = collections.namedtuple(
    "WhitenedFeatures", ["whitened", "mean", "sqrt_covariance"]
)


@keras.saving.register_keras_serializable(package="tf_cbam_style")
class WhiteningColoring(keras.layers.Layer):
    """Whitening and colouring transform (WCT) without SVD or eigh.

    Whitening maps content features to zero mean and identity covariance,
    `w = C_c^{-1/2} (f_c - mu_c)`; colouring gives them the style's
    statistics, `f = C_s^{1/2} w + mu_s`. Both matrix square roots come from
    coupled Newton-Schulz iterations (matrix products only), so the layer
    converts to TF.js, which has no `Svd` or `SelfAdjointEigV2`.

    A small ridge `epsilon * trace(C) / channels` is added to each covariance.
    Directions with eigenvalues far below it are damped rather than blown up,
    which acts like the eigenvalue cut-off of SVD-based WCT.

    Args:
        alpha: float in [0, 1], blend of the coloured result with the original
            content features. Defaults to `1.0`.
        iterations: int, Newton-Schulz iterations. Defaults to `20`.
        epsilon: float, relative ridge on the covariances. Defaults to `1e-5`.
        **kwargs: standard layer arguments such as `name` and `dtype`.

    Call arguments:
        inputs: list `[content_features, style_features]`, each
            `(batch, h, w, channels)`; sizes may differ, batches must match or
            style batch be 1.

    Output shape:
        Same as `content_features`.

    Example:

    >>> wct = WhiteningColoring()
    >>> wct([tf.random.normal((1, 8, 8, 4)), tf.random.normal((1, 6, 6, 4))]).shape
    TensorShape([1, 8, 8, 4])

    Reference:
        - [Li et al., 2017](https://arxiv.org/abs/1705.08086), WCT.
        - [Higham, 1997](https://doi.org/10.1023/A:1019150005407), Newton
          iterations for the matrix square root.
    """

    def __init__(self, alpha=1.0, iterations=20, epsilon=1e-5, **kwargs):
        super().__init__(**kwargs)
        if not 0.0 <= float(alpha) <= 1.0:
            raise ValueError(f"`alpha` must be in [0, 1]. Received: alpha={alpha!r}")
        if not isinstance(iterations, int) or iterations < 1:
            raise ValueError(
                f"`iterations` must be a positive int. Received: iterations={iterations!r}"
            )
        self.alpha = float(alpha)
        self.iterations = iterations
        self.epsilon = float(epsilon)

    def matrix_roots(self, covariance):
        """Returns `(sqrt, inverse_sqrt)` of a batch of SPD matrices."""
        channels = covariance.shape[-1]
        identity = tf.constant(np.eye(channels, dtype=np.float32))
        trace = tf.reduce_sum(covariance * identity, axis=[-2, -1], keepdims=True)
        covariance = covariance + (self.epsilon / channels) * trace * identity
        trace = trace * (1.0 + self.epsilon)
        y = covariance / trace
        z = tf.broadcast_to(identity, tf.shape(covariance))
        for _ in range(self.iterations):
            t = 0.5 * (3.0 * identity - tf.matmul(z, y))
            y = tf.matmul(y, t)
            z = tf.matmul(t, z)
        root = tf.sqrt(trace)
        return y * root, z / root

    def statistics(self, features):
        """Per-image mean `(batch, 1, c)` and covariance `(batch, c, c)` of `features`."""
        shape = tf.shape(features)
        flat = tf.reshape(features, [shape[0], -1, features.shape[-1]])
        mean = tf.reduce_mean(flat, axis=1, keepdims=True)
        centered = flat - mean
        n = tf.cast(tf.shape(flat)[1], features.dtype)
        return mean, tf.matmul(centered, centered, transpose_a=True) / n

    def whiten(self, features, statistics=None):
        """Whitens `features`; returns `WhitenedFeatures` with its statistics.

        Args:
            features: `(batch, h, w, c)`.
            statistics: optional `(mean, covariance)` as from `statistics`,
                used instead of the features' own (the tiles of one photo
                share the whole photo's whitening), or `(mean, sqrt_cov,
                inv_sqrt_cov)` with the matrix roots already computed
                (`matrix_roots`).
        """
        shape = tf.shape(features)
        statistics = statistics if statistics is not None else self.statistics(features)
        flat = tf.reshape(features, [shape[0], -1, features.shape[-1]])
        if len(statistics) == 3:
            mean, sqrt_cov, inv_sqrt_cov = statistics
        else:
            mean, covariance = statistics
            sqrt_cov, inv_sqrt_cov = self.matrix_roots(covariance)
        whitened = tf.matmul(flat - mean, inv_sqrt_cov)
        return WhitenedFeatures(tf.reshape(whitened, shape), mean, sqrt_cov)

    def color(self, whitened, style):
        """Gives `whitened` features the statistics of `style` (a `WhitenedFeatures`)."""
        shape = tf.shape(whitened)
        flat = tf.reshape(whitened, [shape[0], -1, whitened.shape[-1]])
        return tf.reshape(tf.matmul(flat, style.sqrt_covariance) + style.mean, shape)

    def call(self, inputs):
        content, style = inputs
        colored = self.color(self.whiten(content).whitened, self.whiten(style))
        if self.alpha == 1.0:
            return colored
        return self.alpha * colored + (1.0 - self.alpha) * content

    def compute_output_shape(self, input_shape):
        return tuple(input_shape[0])

    def get_config(self):
        config = super().get_config()
        config.update(
            {"alpha": self.alpha, "iterations": self.iterations, "epsilon": self.epsilon}
        )
        return config
