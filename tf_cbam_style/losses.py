"""The loss terms of training, the Gatys baseline and the evaluation metrics.

One home for every loss of the package:

- training (`AttentionAutoencoder.compute_losses`, the AAMS objective):
  `perceptual_loss`, `pixel_loss`, `total_variation_loss`,
  `attention_loss`, `attention_contrast_loss`;
- the Gatys baseline (`evaluation.gatys`): `content_loss`, `gram_matrix`,
  `gram_distance`;
- the evaluation metrics (`evaluation.metrics`): `content_loss`,
  `gram_loss`, `mean_std_loss`.

The functions are TensorFlow ops on tensors of any float dtype (training
passes float32, the metrics float64, so their numbers keep numpy's
precision) and return scalar tensors. Feature maps are `(..., h, w, c)`,
usually `(batch, h, w, c)` or one image's `(h, w, c)`; the statistics
(Gram matrices, means and standard deviations) are per image, over the two
spatial axes. VGG features are in the 0-255 scale of the network (see
`VGG19Encoder`); images are RGB in [0, 1].

References:
    - Gatys, Ecker & Bethge, *Image Style Transfer Using Convolutional
      Neural Networks*, CVPR 2016 (content loss, Gram matrix style loss).
    - Johnson, Alahi & Fei-Fei, *Perceptual Losses for Real-Time Style
      Transfer and Super-Resolution*, ECCV 2016 (feature reconstruction
      loss, total variation regulariser).
    - Huang & Belongie, *Arbitrary Style Transfer in Real-time with
      Adaptive Instance Normalization*, ICCV 2017 (mean/std style loss).
    - Yao et al., *Attention-aware Multi-stroke Style Transfer*, CVPR 2019
      (the autoencoder objective: perceptual, pixel, attention sparsity and
      total variation terms, weights 1, 10, 6 and 10 in the AAMS code).
"""

import tensorflow as tf


def content_loss(features, content_features):
    """Feature reconstruction loss: `mean((F(x) - F(c))^2)` over all entries.

    Gatys et al.'s content loss up to a constant, Johnson et al.'s feature
    reconstruction loss `||F(x) - F(c)||^2 / (C H W)` exactly.

    Args:
        features: `(..., h, w, c)` features of the generated image.
        content_features: features of the target, the same shape (or one
            that broadcasts to it).

    Returns:
        A scalar tensor in the squared units of the features (0-255 VGG
        units squared).

    Example:

    >>> float(content_loss(tf.zeros((4, 5, 3)), tf.fill((4, 5, 3), 2.0)))
    4.0
    """
    return tf.reduce_mean(tf.square(features - content_features))


def perceptual_loss(features, target_features, layers, layer_weights=None):
    """Weighted sum over layers of `content_loss` (Johnson et al. 2016).

    `sum_l w_l * mean((F_l(y) - F_l(x))^2)`: AAMS's perceptual loss with
    every `w_l = 1`; `AttentionAutoencoder` passes its balanced weights.

    Args:
        features: dict layer name -> `(batch, h, w, c)` features of the
            output.
        target_features: dict layer name -> features of the target, the
            same shapes.
        layers: the layer names to sum, in order (e.g. relu1_1..relu4_1).
        layer_weights: optional dict layer name -> float; missing layers
            (or `None`) weigh 1.

    Returns:
        A scalar tensor (0-255 VGG units squared).

    Raises:
        ValueError: if `layers` is empty.
    """
    layers = list(layers)
    if not layers:
        raise ValueError(f"`layers` must name at least one layer. Received: layers={layers!r}")
    weights = layer_weights or {}
    return tf.add_n(
        [weights.get(name, 1.0) * content_loss(features[name], target_features[name]) for name in layers]
    )


def pixel_loss(images, target_images):
    """Pixel reconstruction loss `mean(((y - x) * 255)^2)` (AAMS).

    Args:
        images: `(batch, H, W, 3)` output images, [0, 1] scale.
        target_images: the targets, same shape, [0, 1].

    Returns:
        A scalar tensor in 0-255 units squared (the scale of the VGG
        preprocessing, as in AAMS).
    """
    return tf.reduce_mean(tf.square((images - target_images) * 255.0))


def ssim_loss(images, target_images):
    """Structural dissimilarity `1 - mean SSIM(y, x)` (our addition, not AAMS).

    The SSIM of Wang et al. (2004) as `tf.image.ssim` computes it (11x11
    Gaussian window of sigma 1.5, `K1 = 0.01`, `K2 = 0.03`, valid positions
    only, averaged over the positions, channels and images): the same score
    as the held-out reconstruction figure (`reconstruction`), so the term
    trains what that figure measures. The output is clipped to [0, 1]
    first (the gradient then skips clipped pixels).

    Args:
        images: `(batch, H, W, 3)` output images, [0, 1] scale, `H, W >= 11`.
        target_images: the targets, same shape, [0, 1].

    Returns:
        A scalar tensor in [0, 2], unitless; 0 for identical images.

    Example:

    >>> x = tf.random.stateless_uniform((1, 16, 16, 3), seed=(1, 2))
    >>> float(ssim_loss(x, x))
    0.0

    Reference:
        - [Wang et al., 2004](https://doi.org/10.1109/TIP.2003.819861).
    """
    clipped = tf.clip_by_value(images, 0.0, 1.0)
    return 1.0 - tf.reduce_mean(tf.image.ssim(clipped, target_images, max_val=1.0))


def total_variation_loss(images):
    """Anisotropic total variation `mean(|dy|) + mean(|dx|)` in 0-255 units.

    The smoothness regulariser of Johnson et al. (2016) and AAMS: the mean
    absolute difference of vertically and of horizontally adjacent pixels
    (every channel and image), each scaled by 255, summed.

    Args:
        images: `(batch, H, W, C)`, [0, 1] scale, `H, W >= 2`.

    Returns:
        A scalar tensor in 0-255 units.

    Example:

    >>> float(total_variation_loss(tf.constant([[[[0.0], [1.0]], [[0.0], [1.0]]]])))
    255.0
    """
    return tf.reduce_mean(tf.abs(images[:, 1:] - images[:, :-1]) * 255.0) + tf.reduce_mean(
        tf.abs(images[:, :, 1:] - images[:, :, :-1]) * 255.0
    )


def attention_loss(attention):
    """Attention sparsity `mean(|A|)` (the AAMS attention term).

    Args:
        attention: the multiplicative attention, any shape (e.g.
            `(batch, h, w, c)`), unitless.

    Returns:
        A scalar tensor, unitless.
    """
    return tf.reduce_mean(tf.abs(attention))


def feature_contrast(features):
    """Global feature contrast: `||f(p) - mean_p f||_2` at every position, `(..., h, w, 1)`.

    How far each position's feature vector is from the image's mean feature
    (an unsupervised saliency cue: a salient object's features are rare in
    its image). On the first 60 SOD photos the relu5_1 contrast of the
    ImageNet VGG19 scores AUC 0.864 and max F 0.542 against the human
    masks, above the centred Gaussian prior (0.833, 0.524; `tf-cbam-style
    saliency`, docs/results.md).

    Args:
        features: `(..., h, w, c)` feature maps.

    Returns:
        `(..., h, w, 1)`, in the units of `features`.
    """
    centred = features - tf.reduce_mean(features, axis=[-3, -2], keepdims=True)
    return tf.sqrt(tf.reduce_sum(tf.square(centred), axis=-1, keepdims=True) + 1e-12)


def attention_contrast_loss(attention_map, features, epsilon=1e-6):
    """`1 - corr(attention_map, feature_contrast(features))`, averaged over the batch.

    Rewards an attention map that is bright where the features stand out
    from the rest of their image (`feature_contrast`, held fixed: no
    gradient flows into it). Pearson's correlation over each image's
    positions makes the term blind to the map's scale and offset, so it
    shapes where the attention is, not how strong it is (the sparsity term
    `attention_loss` does that). It needs no labels: trained on photos, it
    is never shown a saliency mask.

    Args:
        attention_map: `(batch, h, w, 1)` attention map (e.g. CBAM's
            `"attention_map"`), any scale.
        features: `(batch, h, w, c)` the features the attention saw, before
            normalisation.
        epsilon: guards the correlation of a flat map or flat contrast.

    Returns:
        A scalar tensor in [0, 2]: 0 for a map that is an increasing affine
        function of the contrast, 1 for an uncorrelated one.
    """
    target = tf.stop_gradient(feature_contrast(tf.cast(features, attention_map.dtype)))
    a = attention_map - tf.reduce_mean(attention_map, axis=[1, 2, 3], keepdims=True)
    t = target - tf.reduce_mean(target, axis=[1, 2, 3], keepdims=True)
    covariance = tf.reduce_mean(a * t, axis=[1, 2, 3])
    scale = tf.sqrt(tf.reduce_mean(a * a, axis=[1, 2, 3]) * tf.reduce_mean(t * t, axis=[1, 2, 3]) + epsilon)
    return tf.reduce_mean(1.0 - covariance / scale)


def gram_matrix(features):
    """The Gram matrix `F^T F / (h w)` of each feature map (Gatys et al.).

    Normalised by the number of positions, so maps of different sizes are
    comparable.

    Args:
        features: `(..., h, w, c)`.

    Returns:
        `(..., c, c)`, in the squared units of the features.

    Example:

    >>> gram_matrix(tf.ones((3, 5, 2))).numpy().tolist()
    [[1.0, 1.0], [1.0, 1.0]]
    """
    features = tf.convert_to_tensor(features)
    shape = tf.shape(features)
    positions = shape[-3] * shape[-2]
    flat = tf.reshape(features, tf.concat([shape[:-3], [positions, shape[-1]]], 0))
    return tf.matmul(flat, flat, transpose_a=True) / tf.cast(positions, features.dtype)


def gram_distance(gram, style_gram):
    """`||G - G_s||_F^2 / C^2`: the mean squared entry of two Gram matrices.

    One layer's Gatys style loss (up to Gatys' constant), averaged over the
    batch when there is one.

    Args:
        gram: `(..., c, c)`, from `gram_matrix`.
        style_gram: the style's, broadcastable to `gram`.

    Returns:
        A scalar tensor (features' units to the fourth power).
    """
    return tf.reduce_mean(tf.square(gram - style_gram))


def gram_loss(features, style_features, layers):
    """Mean over `layers` of `gram_distance` of the two images' Gram matrices.

    The Gram (Gatys) style loss, with each layer's term the mean squared
    Gram entry, so that layers of different widths weigh the same.

    Args:
        features: dict layer name -> `(..., h, w, c)` features of the
            generated image.
        style_features: dict layer name -> `(..., hs, ws, c)` features of
            the style (any size).
        layers: the layer names to average.

    Returns:
        A scalar tensor.
    """
    return tf.reduce_mean(
        tf.stack([gram_distance(gram_matrix(features[k]), gram_matrix(style_features[k])) for k in layers])
    )


def mean_std_distance(features, style_features, epsilon=0.0):
    """`(||mu - mu_s||^2 + ||sigma - sigma_s||^2) / C` at one layer.

    `mu` and `sigma` are the per-channel mean and population standard
    deviation `sqrt(var + epsilon)` over the spatial positions (per image),
    so the two maps may differ in size; averaged over the batch when there
    is one. The squared, per-channel form of the statistics matching of
    Huang & Belongie (2017).

    Args:
        features: `(..., h, w, c)`.
        style_features: `(..., hs, ws, c)`.
        epsilon: float >= 0 added to the variance (use > 0 where gradients
            must exist for a constant map). Defaults to `0`.

    Returns:
        A scalar tensor in the squared units of the features.
    """
    mean, variance = tf.nn.moments(features, axes=[-3, -2])
    style_mean, style_variance = tf.nn.moments(style_features, axes=[-3, -2])
    std = tf.sqrt(variance + epsilon)
    style_std = tf.sqrt(style_variance + epsilon)
    return tf.reduce_mean(tf.square(mean - style_mean) + tf.square(std - style_std))


def mean_std_loss(features, style_features, layers, epsilon=0.0):
    """Mean over `layers` of `mean_std_distance` (the AdaIN-style style loss).

    Args:
        features: dict layer name -> `(..., h, w, c)` features of the
            generated image.
        style_features: dict layer name -> `(..., hs, ws, c)` features of
            the style (any size).
        layers: the layer names to average.
        epsilon: see `mean_std_distance`.

    Returns:
        A scalar tensor.
    """
    return tf.reduce_mean(
        tf.stack([mean_std_distance(features[k], style_features[k], epsilon) for k in layers])
    )
