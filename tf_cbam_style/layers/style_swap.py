import keras
import tensorflow as tf


def _extract_patches(features, patch_size):
    """`(h, w, c)` -> `(h', w', p, p, c)` stride-1 VALID patches via slicing.

    Slices instead of `ExtractImagePatches` (not in TF.js) and instead of an
    identity-kernel convolution (its kernel would be `(p*p*c)**2` floats).
    """
    h = tf.shape(features)[0] - patch_size + 1
    w = tf.shape(features)[1] - patch_size + 1
    rows = []
    for dy in range(patch_size):
        cols = [features[dy:dy + h, dx:dx + w, :] for dx in range(patch_size)]
        rows.append(tf.stack(cols, axis=2))
    return tf.stack(rows, axis=2)


def _overlap_add(patches, patch_size):
    """Averages `(h, w, p, p, c)` patches centred on each pixel into `(h, w, c)`."""
    half = patch_size // 2
    total = 0.0
    count = 0.0
    ones = tf.ones_like(patches[:, :, 0, 0, :1])
    for dy in range(patch_size):
        for dx in range(patch_size):
            pads = [[dy, patch_size - 1 - dy], [dx, patch_size - 1 - dx], [0, 0]]
            total += tf.pad(patches[:, :, dy, dx, :], pads)
            count += tf.pad(ones, pads)
    h = tf.shape(patches)[0]
    w = tf.shape(patches)[1]
    return total[half:half + h, half:half + w] / count[half:half + h, half:half + w]


@keras.saving.register_keras_serializable(package="tf_cbam_style")
class StyleSwap(keras.layers.Layer):
    """Multi-scale style swap by normalised cross-correlation.

    For each stroke scale the style features are resized by that factor, cut
    into `patch_size` x `patch_size` patches (stride 1), and every content
    position takes the style patch with the highest normalised
    cross-correlation, computed as one convolution with the normalised
    patches as kernels. Overlapping patches are averaged. A smaller scale
    means each patch covers more of the style image: coarser strokes.

    Args:
        patch_size: odd int, defaults to `5` (AAMS).
        stroke_scales: tuple of floats in (0, 1], defaults to
            `(0.5, 0.7071, 1.0)` (AAMS: 1/2, 1/sqrt(2), 1).
        **kwargs: standard layer arguments such as `name` and `dtype`.

    Call arguments:
        inputs: list `[content_features, style_features]`, `(batch, h, w, c)`
            each; the style batch must be 1 or equal to the content batch.

    Returns:
        A list with one `(batch, h, w, c)` tensor per scale, ordered from the
        finest strokes (largest scale) to the coarsest.

    Example:

    >>> swap = StyleSwap(patch_size=3, stroke_scales=(1.0,))
    >>> out = swap([tf.random.normal((1, 6, 6, 4)), tf.random.normal((1, 5, 5, 4))])
    >>> out[0].shape
    TensorShape([1, 6, 6, 4])

    Reference:
        - [Chen & Schmidt, 2016](https://arxiv.org/abs/1612.04337).
        - [Yao et al., 2019](https://arxiv.org/abs/1901.05127), section 3.2.
    """

    def __init__(self, patch_size=5, stroke_scales=(0.5, 0.7071, 1.0), **kwargs):
        super().__init__(**kwargs)
        if not isinstance(patch_size, int) or patch_size < 1 or patch_size % 2 == 0:
            raise ValueError(
                f"`patch_size` must be a positive odd int. Received: patch_size={patch_size!r}"
            )
        scales = tuple(float(s) for s in stroke_scales)
        if not scales or any(not 0.0 < s <= 1.0 for s in scales):
            raise ValueError(
                "`stroke_scales` must be a non-empty list of floats in (0, 1]. "
                f"Received: stroke_scales={stroke_scales!r}"
            )
        self.patch_size = patch_size
        self.stroke_scales = tuple(sorted(scales, reverse=True))

    def swap(self, content, style, scale):
        """Swaps one content map `(h, w, c)` with one style map at `scale`."""
        p = self.patch_size
        size = tf.cast(tf.shape(style)[:2], tf.float32) * scale
        size = tf.maximum(tf.cast(tf.round(size), tf.int32), p)
        style = tf.image.resize(style[None], size, method="bilinear")[0]
        patches = _extract_patches(style, p)  # (hs, ws, p, p, c)
        channels = content.shape[-1]
        flat = tf.reshape(patches, [-1, p * p * channels])  # (n, p*p*c)
        norms = tf.sqrt(tf.reduce_sum(tf.square(flat), axis=1, keepdims=True)) + 1e-7
        kernels = tf.transpose(tf.reshape(flat / norms, [-1, p, p, channels]), [1, 2, 3, 0])
        half = p // 2
        padded = tf.pad(content[None], [[0, 0], [half, half], [half, half], [0, 0]], mode="REFLECT")
        scores = tf.nn.conv2d(padded, kernels, strides=1, padding="VALID")[0]  # (h, w, n)
        best = tf.argmax(scores, axis=-1, output_type=tf.int32)
        chosen = tf.gather(tf.reshape(patches, [-1, p, p, channels]), best)  # (h, w, p, p, c)
        return _overlap_add(chosen, p)

    def swap_batch(self, content, style, scale):
        """Swaps a content batch against a style batch (or one style) at `scale`.

        `scale` may be a Python float or a scalar float tensor.
        """
        style_batch = tf.shape(style)[0]

        def one(i):
            return self.swap(content[i], style[tf.minimum(i, style_batch - 1)], scale)

        swapped = tf.map_fn(
            one, tf.range(tf.shape(content)[0]),
            fn_output_signature=tf.TensorSpec([None, None, content.shape[-1]], content.dtype),
        )
        return tf.reshape(swapped, tf.shape(content))

    def call(self, inputs):
        content, style = inputs
        return [self.swap_batch(content, style, scale) for scale in self.stroke_scales]

    def compute_output_shape(self, input_shape):
        return [tuple(input_shape[0])] * len(self.stroke_scales)

    def get_config(self):
        config = super().get_config()
        config.update({"patch_size": self.patch_size, "stroke_scales": list(self.stroke_scales)})
        return config
