"""Image-quality metrics of a stylized image against its content and style.

All feature metrics use the VGG19 `relu{k}_1` features of
`vgg_features.vgg19_features` (caffe preprocessing, so features are in the
0-255 scale of the network) and take feature dicts `name -> (h, w, c)`
arrays, so they can be checked on arrays whose answer is known.
"""

import collections

import numpy as np

CONTENT_LAYERS = ("relu4_1", "relu5_1")
STYLE_LAYERS = ("relu1_1", "relu2_1", "relu3_1", "relu4_1", "relu5_1")

QualityScores = collections.namedtuple(
    "QualityScores",
    ["content_relu4_1", "content_relu5_1", "style_loss", "gram_loss", "ssim"],
)
QualityScores.__doc__ = """Quality of one stylized image (see the functions of `metrics`).

Attributes:
    content_relu4_1: `content_loss` at relu4_1 against the content.
    content_relu5_1: `content_loss` at relu5_1 against the content.
    style_loss: `style_loss` (mean/std) against the style.
    gram_loss: `gram_loss` against the style.
    ssim: `ssim` against the content.
"""


def _features(array, name):
    array = np.asarray(array, np.float64)
    if array.ndim == 4 and array.shape[0] == 1:
        array = array[0]
    if array.ndim != 3:
        raise ValueError(f"`{name}` must be an (h, w, c) feature map. Received: {name}.shape={array.shape}")
    return array


def content_loss(stylized_features, content_features):
    """Feature MSE: `mean_{y,x,c} (F(stylized) - F(content))^2`.

    The two maps must have the same shape (the stylized image has the
    content's size).

    Args:
        stylized_features: `(h, w, c)` features of the stylized image.
        content_features: `(h, w, c)` features of the content at the same layer.

    Returns:
        A float.
    """
    a = _features(stylized_features, "stylized_features")
    b = _features(content_features, "content_features")
    if a.shape != b.shape:
        raise ValueError(
            "`content_features` must have the shape of `stylized_features`. "
            f"Received: content_features.shape={b.shape}, stylized_features.shape={a.shape}"
        )
    return float(np.mean((a - b) ** 2))


def mean_std_distance(stylized_features, style_features):
    """`(||mu_x - mu_s||^2 + ||sigma_x - sigma_s||^2) / C` at one layer.

    `mu` and `sigma` are the per-channel mean and (population) standard
    deviation over all positions; the images may differ in size.
    """
    a = _features(stylized_features, "stylized_features").reshape(-1, np.shape(stylized_features)[-1])
    b = _features(style_features, "style_features").reshape(-1, np.shape(style_features)[-1])
    channels = a.shape[-1]
    mean = np.sum((a.mean(0) - b.mean(0)) ** 2)
    std = np.sum((a.std(0) - b.std(0)) ** 2)
    return float((mean + std) / channels)


def style_loss(stylized_features, style_features, layers=STYLE_LAYERS):
    """Mean over `layers` of `mean_std_distance` (the AdaIN style loss, per channel).

    Args:
        stylized_features: dict layer -> `(h, w, c)` features of the stylized image.
        style_features: dict layer -> `(hs, ws, c)` features of the style.
        layers: the layers to average; defaults to relu1_1..relu5_1.

    Returns:
        A float.
    """
    return float(np.mean([mean_std_distance(stylized_features[k], style_features[k]) for k in layers]))


def gram_matrix(features):
    """`F^T F / (h * w)` of an `(h, w, c)` map: a `(c, c)` matrix."""
    f = _features(features, "features")
    f = f.reshape(-1, f.shape[-1])
    return f.T @ f / f.shape[0]


def gram_loss(stylized_features, style_features, layers=STYLE_LAYERS):
    """Mean over `layers` of `||G(stylized) - G(style)||_F^2 / C^2` (Gatys).

    `G` is `gram_matrix` (normalised by the number of positions, so image
    sizes may differ); dividing by `C^2` makes it the mean squared entry.
    """
    values = []
    for k in layers:
        difference = gram_matrix(stylized_features[k]) - gram_matrix(style_features[k])
        values.append(np.mean(difference ** 2))
    return float(np.mean(values))


def ssim(image, reference):
    """Structural similarity of two `(H, W, 3)` images in [0, 1].

    `tf.image.ssim` with `max_val=1`, an 11x11 Gaussian window of sigma 1.5
    and `k1=0.01`, `k2=0.03` (Wang et al. 2004), computed per RGB channel
    and averaged over channels and positions. 1 means identical.
    """
    import tensorflow as tf

    a = np.asarray(image, np.float32)
    b = np.asarray(reference, np.float32)
    if a.shape != b.shape or a.ndim != 3:
        raise ValueError(
            "`reference` must have the (H, W, 3) shape of `image`. "
            f"Received: image.shape={a.shape}, reference.shape={b.shape}"
        )
    return float(tf.image.ssim(a[None], b[None], max_val=1.0)[0])


def quality_scores(stylized_features, content_features, style_features, stylized, content):
    """All `QualityScores` of one stylized image from precomputed features."""
    return QualityScores(
        content_relu4_1=content_loss(stylized_features["relu4_1"], content_features["relu4_1"]),
        content_relu5_1=content_loss(stylized_features["relu5_1"], content_features["relu5_1"]),
        style_loss=style_loss(stylized_features, style_features),
        gram_loss=gram_loss(stylized_features, style_features),
        ssim=ssim(stylized, content),
    )
