"""Image-quality metrics of a stylized image against its content and style.

All feature metrics use the VGG19 `relu{k}_1` features of
`vgg_features.vgg19_features` (caffe preprocessing, so features are in the
0-255 scale of the network) and take feature dicts `name -> (h, w, c)`
arrays, so they can be checked on arrays whose answer is known. The loss
terms themselves are those of `tf_cbam_style.losses`, computed in float64;
these functions check the arrays and return Python floats.
"""

import collections

import numpy as np

from tf_cbam_style import losses

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


def _feature_dict(features, layers, name):
    return {k: _features(features[k], f"{name}[{k!r}]") for k in layers}


def content_loss(stylized_features, content_features):
    """Feature MSE `mean_{y,x,c} (F(stylized) - F(content))^2` (`losses.content_loss`).

    The two maps must have the same shape (the stylized image has the
    content's size).

    Args:
        stylized_features: `(h, w, c)` features of the stylized image.
        content_features: `(h, w, c)` features of the content at the same layer.

    Returns:
        A float.

    Raises:
        ValueError: if a map is not `(h, w, c)` or the shapes differ.
    """
    a = _features(stylized_features, "stylized_features")
    b = _features(content_features, "content_features")
    if a.shape != b.shape:
        raise ValueError(
            "`content_features` must have the shape of `stylized_features`. "
            f"Received: content_features.shape={b.shape}, stylized_features.shape={a.shape}"
        )
    return float(losses.content_loss(a, b))


def style_loss(stylized_features, style_features, layers=STYLE_LAYERS):
    """Mean over `layers` of `(||mu_x - mu_s||^2 + ||sigma_x - sigma_s||^2) / C` (`losses.mean_std_loss`).

    The AdaIN (mean/std) style loss, per channel: `mu` and `sigma` are the
    per-channel mean and population standard deviation over all positions,
    so the images may differ in size.

    Args:
        stylized_features: dict layer -> `(h, w, c)` features of the stylized image.
        style_features: dict layer -> `(hs, ws, c)` features of the style.
        layers: the layers to average; defaults to relu1_1..relu5_1.

    Returns:
        A float.
    """
    return float(losses.mean_std_loss(_feature_dict(stylized_features, layers, "stylized_features"),
                                      _feature_dict(style_features, layers, "style_features"), layers))


def gram_loss(stylized_features, style_features, layers=STYLE_LAYERS):
    """Mean over `layers` of `||G(stylized) - G(style)||_F^2 / C^2` (Gatys; `losses.gram_loss`).

    `G` is `losses.gram_matrix`, `F^T F / (h * w)` (normalised by the
    number of positions, so image sizes may differ); dividing by `C^2`
    makes it the mean squared entry.

    Args:
        stylized_features: dict layer -> `(h, w, c)` features of the stylized image.
        style_features: dict layer -> `(hs, ws, c)` features of the style.
        layers: the layers to average; defaults to relu1_1..relu5_1.

    Returns:
        A float.
    """
    return float(losses.gram_loss(_feature_dict(stylized_features, layers, "stylized_features"),
                                  _feature_dict(style_features, layers, "style_features"), layers))


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


# ---------------------------------------------------------------------------
# What a viewer sees: periodic artefacts and colour transfer (numpy only)
# ---------------------------------------------------------------------------

LUMA_WEIGHTS = (0.299, 0.587, 0.114)  # ITU-R BT.601 luma


def _rgb(image, name):
    image = np.asarray(image, np.float64)
    if image.ndim != 3 or image.shape[-1] != 3:
        raise ValueError(f"`{name}` must be an (H, W, 3) RGB image. Received: {name}.shape={image.shape}")
    return image


def periodic_peak_ratio(image, period=8, peak_radius=1, ring=(3, 5)):
    """Spectral energy at the harmonics of `period` relative to the energy beside them.

    The BT.601 luminance of `image` is cropped (from the top-left, so the
    grid phase is kept) to a multiple of `period` on both axes, its mean
    removed, multiplied by a 2-D Hann window and Fourier transformed. A grid
    of period `period` puts its energy at the frequencies `(ky, kx) / period`
    cycles per pixel, `ky, kx = 0 .. period - 1` (not both 0), which fall
    exactly on FFT bins. For each such harmonic, the energy of the
    `(2 * peak_radius + 1)^2` bins around it (the Hann window spreads a peak
    over +-1 bin) is compared with the mean energy of the bins at a
    Chebyshev distance in `[ring[0], ring[1]]` from it, scaled to the same
    number of bins.

    Args:
        image: `(H, W, 3)` RGB, any range (the ratio is scale-free). Each side
            must be at least `4 * period` pixels.
        period: int >= 2, the grid period in pixels (the encoder stride:
            4, 8 or 16 for relu3_1, relu4_1, relu5_1).
        peak_radius: int, half-width of the peak box in bins.
        ring: `(inner, outer)` Chebyshev radii of the neighbourhood, bins.

    Returns:
        A float: `sum_harmonics peak energy / sum_harmonics neighbour
        energy`, about 1 for an image without periodic structure at that
        period, far above 1 with a grid.

    Raises:
        ValueError: for a non-RGB image, or one too small for `period`.
    """
    rgb = _rgb(image, "image")
    if not isinstance(period, (int, np.integer)) or period < 2:
        raise ValueError(f"`period` must be an int >= 2. Received: period={period!r}")
    h, w = (rgb.shape[0] // period) * period, (rgb.shape[1] // period) * period
    if min(h, w) < 4 * period:
        raise ValueError(
            f"`image` must be at least {4 * period} px a side for period {period}. "
            f"Received: image.shape={rgb.shape}"
        )
    luma = rgb[:h, :w] @ np.asarray(LUMA_WEIGHTS)
    luma = luma - luma.mean()
    window = np.outer(np.hanning(h), np.hanning(w))
    power = np.abs(np.fft.fft2(luma * window)) ** 2
    inner, outer = ring
    peak_total = 0.0
    neighbour_total = 0.0
    offsets = np.arange(-outer, outer + 1)
    dy, dx = np.meshgrid(offsets, offsets, indexing="ij")
    distance = np.maximum(np.abs(dy), np.abs(dx))
    peak_mask = distance <= peak_radius
    ring_mask = (distance >= inner) & (distance <= outer)
    for ky in range(period):
        for kx in range(period):
            if ky == 0 and kx == 0:
                continue
            rows = (ky * h // period + offsets) % h
            cols = (kx * w // period + offsets) % w
            block = power[np.ix_(rows, cols)]
            peak_total += block[peak_mask].sum()
            neighbour_total += block[ring_mask].mean() * peak_mask.sum()
    return float(peak_total / max(neighbour_total, 1e-30))


def grid_score(stylized, content, period=8):
    """Periodic-artefact ("grid") score of a stylized image against its content.

    `periodic_peak_ratio(stylized) / periodic_peak_ratio(content)`: 1.0
    means no more energy at the harmonics of the encoder stride than the
    photo itself has; an 8-px decoder grid at relu4_1 gives several times
    that. See docs/results.md.

    Args:
        stylized: `(H, W, 3)` RGB in [0, 1].
        content: `(H, W, 3)` RGB in [0, 1], the same size.
        period: the encoder stride in pixels (8 at relu4_1).

    Returns:
        A float >= 0.

    Raises:
        ValueError: if the shapes differ or are too small for `period`.
    """
    a = _rgb(stylized, "stylized")
    b = _rgb(content, "content")
    if a.shape != b.shape:
        raise ValueError(
            "`content` must have the shape of `stylized`. "
            f"Received: content.shape={b.shape}, stylized.shape={a.shape}"
        )
    return periodic_peak_ratio(a, period) / periodic_peak_ratio(b, period)


def color_statistics_distance(image, reference):
    """Euclidean distance of the per-channel RGB means and stds of two images.

    `sqrt(sum_c (mu_c(image) - mu_c(ref))^2 + (sigma_c(image) - sigma_c(ref))^2)`
    over the R, G, B channels in [0, 1] (population std over all pixels; the
    sizes may differ).
    """
    a = _rgb(image, "image").reshape(-1, 3)
    b = _rgb(reference, "reference").reshape(-1, 3)
    return float(np.sqrt(np.sum((a.mean(0) - b.mean(0)) ** 2) + np.sum((a.std(0) - b.std(0)) ** 2)))


def color_transfer_ratio(stylized, content, style):
    """How far the colours moved toward the style: below 1 means toward it.

    `color_statistics_distance(stylized, style) /
    color_statistics_distance(content, style)`: 0 when the stylized image
    has exactly the style's per-channel RGB means and stds, 1 when it is as
    far from them as the content, above 1 when it moved away. `nan` when
    the content already has the style's statistics.

    Args:
        stylized: `(H, W, 3)` RGB in [0, 1].
        content: `(H, W, 3)` RGB in [0, 1].
        style: `(Hs, Ws, 3)` RGB in [0, 1], any size.

    Returns:
        A float >= 0, or `nan`.
    """
    baseline = color_statistics_distance(content, style)
    if baseline < 1e-12:
        return float("nan")
    return color_statistics_distance(stylized, style) / baseline
