import keras
import tensorflow as tf


def _patch_norms(style, patch_size):
    """L2 norm of every stride-1 VALID `patch_size` patch of `(hs, ws, c)`.

    A box sum of the per-pixel squared norms, so no patch is materialised.
    Returns `(hs - p + 1, ws - p + 1)`.
    """
    squares = tf.reduce_sum(tf.square(style), axis=-1, keepdims=True)[None]
    area = float(patch_size * patch_size)
    sums = tf.nn.avg_pool2d(squares, patch_size, 1, "VALID")[0, ..., 0] * area
    return tf.sqrt(tf.maximum(sums, 0.0))


def _match(content, style, patch_size):
    """Index of the best style patch for every content position, `(h, w)` int32.

    The correlation of the content window at `(y, x)` with the style patch
    at `(i, j)` is a sum over the kernel offsets `(dy, dx)` of pixel dot
    products `m[y + dy, x + dx, i + dy, j + dx]`, where
    `m = padded_content_pixels @ style_pixels^T` is ONE matmul of
    `(hp*wp, c) x (c, Hs*Ws)`. Summing `m` over the `p` shifts along x
    and j, then the `p` shifts along y and i, gives every correlation with
    `p * p` times fewer multiply-adds than the convolution with `n` patch
    kernels (`h*w*Hs*Ws*c` + `2*p` adds of the 4-D map, versus
    `h*w*n*p*p*c`); each term is the same pixel dot product, so the scores
    equal the convolution's up to float rounding. Dividing by the patch
    norms afterwards gives the argmax of the normalised cross-correlation.
    """
    p = patch_size
    half = p // 2
    h, w = tf.shape(content)[0], tf.shape(content)[1]
    style_h, style_w = tf.shape(style)[0], tf.shape(style)[1]
    hs, ws = style_h - p + 1, style_w - p + 1
    channels = tf.shape(content)[-1]
    padded = tf.pad(content, [[half, half], [half, half], [0, 0]], mode="REFLECT")
    pixels = tf.matmul(
        tf.reshape(padded, [-1, channels]), tf.reshape(style, [-1, channels]), transpose_b=True
    )
    pixels = tf.reshape(pixels, [h + 2 * half, w + 2 * half, style_h, style_w])
    rows = 0.0
    for dx in range(p):
        rows += pixels[:, dx:dx + w, :, dx:dx + ws]  # (hp, w, Hs, ws)
    scores = 0.0
    for dy in range(p):
        scores += rows[dy:dy + h, :, dy:dy + hs, :]  # (h, w, hs, ws)
    norms = tf.reshape(_patch_norms(style, p), [1, -1]) + 1e-7
    best = tf.argmax(tf.reshape(scores, [h * w, hs * ws]) / norms, axis=-1, output_type=tf.int32)
    return tf.reshape(best, [h, w])


def _overlap_add(best, style, patch_size):
    """Averages the chosen patches, read straight from the style map.

    Patch `k` has its top-left corner at style pixel `(k // ws', k % ws')`;
    output pixel `(y, x)` averages element `(dy, dx)` of the patch chosen at
    `(y + half - dy, x + half - dx)`, for every such position inside the
    content. One `(h, w, c)` gather per offset replaces gathering the
    `(h, w, p, p, c)` patch tensor.
    """
    p = patch_size
    half = p // 2
    h, w = tf.shape(best)[0], tf.shape(best)[1]
    style_width = tf.shape(style)[1]
    patch_columns = style_width - p + 1
    flat = tf.reshape(style, [-1, tf.shape(style)[-1]])
    corner = (best // patch_columns) * style_width + best % patch_columns
    corner = tf.pad(corner, [[half, half], [half, half]], constant_values=-1)
    total = 0.0
    count = 0.0
    for dy in range(p):
        for dx in range(p):
            source = corner[p - 1 - dy:p - 1 - dy + h, p - 1 - dx:p - 1 - dx + w]
            valid = source >= 0
            index = tf.where(valid, source + dy * style_width + dx, 0)
            weight = tf.cast(valid, style.dtype)
            total += tf.gather(flat, index) * weight[..., None]
            count += weight
    return total / count[..., None]


@keras.saving.register_keras_serializable(package="tf_cbam_style")
class StyleSwap(keras.layers.Layer):
    """Multi-scale style swap by normalised cross-correlation.

    For each stroke scale the style features are resized by that factor, cut
    into `patch_size` x `patch_size` patches (stride 1), and every content
    position takes the style patch with the highest normalised
    cross-correlation (the correlation with the style patch divided by the
    patch's norm). Overlapping patches are averaged. A smaller scale means
    each patch covers more of the style image: coarser strokes.

    As one convolution with the `n` patches as kernels the matching costs
    `h * w * n * p * p * c` multiply-adds. Here it is one pixel-by-pixel
    matmul whose shifted sums give every patch correlation (`p * p` = 25
    times fewer multiply-adds, same scores up to float rounding), and the
    averaging gathers straight from the style map, so neither the
    `(p, p, c, n)` kernels nor the `(h, w, p, p, c)` chosen patches are
    ever built.

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
        best = _match(content, style, p)
        return _overlap_add(best, style, p)

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
