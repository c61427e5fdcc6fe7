"""Salient-object-detection metrics: MAE, max F-measure, AUC and IoU (numpy only).

The standard definitions of the salient-object-detection benchmarks
(Achanta et al. 2009; Borji et al. 2015), for a saliency map `s` in [0, 1]
and a human mask `g` (binarised at 0.5: 1 = salient object), both `(H, W)`:

- **MAE**: `mean |s - g|` over the pixels (`s` as it is, not quantised).
- **Thresholds**: `s` is quantised to 8 bits, `q = round(255 s)` (what the
  benchmark toolboxes read from a saved PNG), and binarised at the 255
  thresholds `k = 1 .. 255`: `b_k = q >= k`.
- **Precision / recall** at `k`: `P_k = |b_k & g| / |b_k|` (0 when `b_k` is
  empty), `R_k = |b_k & g| / |g|`.
- **F-measure** at `k`: `F_k = (1 + beta^2) P_k R_k / (beta^2 P_k + R_k)`
  with `beta^2 = 0.3` (precision weighted more than recall), 0 when
  `P_k = R_k = 0`.
- **max F** of a data set: the F-curve is averaged over the images first,
  then its maximum over `k` is taken (one threshold for the whole set, as
  in Borji et al.'s benchmark and the PySODMetrics `maxFm`);
  `max_f_measure` of one image is `max_k F_k`, and **mean per-image max
  F** averages that over the images (each image at its own best
  threshold; higher than max F).
- **AUC**: the area under the ROC curve `(FPR_k, TPR_k)`,
  `TPR_k = R_k`, `FPR_k = |b_k & ~g| / |~g|`, for `k = 0 .. 256`
  (`k = 0` is the point (1, 1), `k = 256` the point (0, 0)), by the
  trapezoid rule; with the 8-bit ties this equals the probability that a
  random object pixel scores higher than a random background pixel, ties
  counting one half (Mann-Whitney). Averaged over images.
- **IoU** of a binary matte `m`: `|m & g| / |m | g|` (1 when both are
  empty). Averaged over images.

F-measure and AUC are undefined for a mask without object or without
background pixels; those raise a `ValueError`.
"""

import collections

import numpy as np

from tf_cbam_style.arrays import as_mask

BETA_SQUARED = 0.3
LEVELS = 255  # 8-bit quantisation; thresholds 1 .. 255

SaliencyScores = collections.namedtuple("SaliencyScores", ["mae", "max_f", "auc", "count", "mean_max_f"])
SaliencyScores.__doc__ = """Data-set scores of one saliency map kind (see module doc).

Attributes:
    mae: mean absolute error, lower is better, in [0, 1].
    max_f: max over thresholds of the mean F-curve (beta^2 = 0.3), in [0, 1].
    auc: mean ROC AUC, 0.5 = chance, in [0, 1].
    count: number of images.
    mean_max_f: mean over the images of each one's own max F, in [0, 1].
"""


def _pair(saliency, mask):
    s = as_mask(saliency, "saliency")
    g = as_mask(mask, "mask") >= 0.5
    if s.shape != g.shape:
        raise ValueError(
            "`saliency` must have the (H, W) shape of `mask`. "
            f"Received: saliency.shape={s.shape}, mask.shape={g.shape}"
        )
    return s, g


def _counts(saliency, mask):
    """Object and background pixel counts above each threshold `k = 0 .. 256`."""
    s, g = _pair(saliency, mask)
    objects, background = int(g.sum()), int((~g).sum())
    if objects == 0 or background == 0:
        raise ValueError(
            "`mask` must hold both object (>= 0.5) and background pixels for the F-measure and AUC. "
            f"Received: mask with {objects} object and {background} background pixels"
        )
    q = np.round(s * LEVELS).astype(np.int64)
    # Reverse cumulative histograms: index k counts the pixels with q >= k.
    above_object = np.cumsum(np.bincount(q[g], minlength=LEVELS + 1)[::-1])[::-1]
    above_background = np.cumsum(np.bincount(q[~g], minlength=LEVELS + 1)[::-1])[::-1]
    true_positives = np.append(above_object, 0).astype(np.float64)
    false_positives = np.append(above_background, 0).astype(np.float64)
    return true_positives, false_positives, objects, background


def mean_absolute_error(saliency, mask):
    """MAE `mean |s - g|` of an `(H, W)` map in [0, 1] against a mask (see module doc)."""
    s, g = _pair(saliency, mask)
    return float(np.mean(np.abs(s - g)))


def precision_recall_curve(saliency, mask):
    """Precision and recall at the thresholds `k = 1 .. 255` (see module doc).

    Args:
        saliency: `(H, W)` map in [0, 1] (uint8, bool and floats follow
            `tf_cbam_style.arrays`).
        mask: `(H, W)` human mask; values >= 0.5 (128 for uint8) are the
            object.

    Returns:
        `(precision, recall)`, two float64 arrays of 255 values.

    Raises:
        ValueError: for bad shapes or ranges, or a mask without object or
            background.

    Example:

    >>> p, r = precision_recall_curve(np.eye(4), np.eye(4))
    >>> float(p.min()), float(r.min())
    (1.0, 1.0)
    """
    true_positives, false_positives, objects, _ = _counts(saliency, mask)
    tp, predicted = true_positives[1:LEVELS + 1], (true_positives + false_positives)[1:LEVELS + 1]
    precision = np.divide(tp, predicted, out=np.zeros_like(tp), where=predicted > 0)
    return precision, tp / objects


def f_measure_curve(saliency, mask, beta_squared=BETA_SQUARED):
    """F-measure at the thresholds `k = 1 .. 255`: float64 array of 255 values."""
    precision, recall = precision_recall_curve(saliency, mask)
    return _f_measure(precision, recall, beta_squared)


def _f_measure(precision, recall, beta_squared):
    if not beta_squared > 0:
        raise ValueError(f"`beta_squared` must be positive. Received: beta_squared={beta_squared!r}")
    denominator = beta_squared * precision + recall
    numerator = (1.0 + beta_squared) * precision * recall
    return np.divide(numerator, denominator, out=np.zeros_like(numerator), where=denominator > 0)


def max_f_measure(saliency, mask, beta_squared=BETA_SQUARED):
    """Max over the 255 thresholds of one image's F-measure (beta^2 = 0.3)."""
    return float(np.max(f_measure_curve(saliency, mask, beta_squared)))


def roc_auc(saliency, mask):
    """Area under the ROC curve of one map over the thresholds (see module doc).

    Returns:
        float in [0, 1]: 1 when every object pixel scores above every
        background pixel, 0.5 for a constant map, 0 for an inverted one.
    """
    true_positives, false_positives, objects, background = _counts(saliency, mask)
    tpr, fpr = true_positives / objects, false_positives / background
    # k = 0 .. 256 runs from (1, 1) down to (0, 0): FPR is non-increasing.
    return float(np.sum((fpr[:-1] - fpr[1:]) * (tpr[:-1] + tpr[1:]) / 2.0))


def iou(matte, mask, threshold=0.5):
    """Intersection over union of a binary matte and a human mask.

    Args:
        matte: `(H, W)` matte in [0, 1]; pixels >= `threshold` are the object.
        mask: `(H, W)` human mask, object where >= 0.5.
        threshold: float in (0, 1]. Defaults to `0.5`.

    Returns:
        float in [0, 1]; 1 when both are empty.
    """
    if not 0.0 < threshold <= 1.0:
        raise ValueError(f"`threshold` must be in (0, 1]. Received: threshold={threshold!r}")
    m = as_mask(matte, "matte") >= threshold
    g = as_mask(mask, "mask") >= 0.5
    if m.shape != g.shape:
        raise ValueError(
            f"`matte` must have the (H, W) shape of `mask`. Received: matte.shape={m.shape}, "
            f"mask.shape={g.shape}"
        )
    union = np.logical_or(m, g).sum()
    return 1.0 if union == 0 else float(np.logical_and(m, g).sum() / union)


def min_max_normalize(saliency_map):
    """`(m - min) / (max - min)` per image; a constant map becomes zeros."""
    m = np.asarray(saliency_map, np.float64)
    if m.ndim == 3 and m.shape[-1] == 1:
        m = m[..., 0]
    if m.ndim != 2 or m.size == 0 or not np.isfinite(m).all():
        raise ValueError(
            "`saliency_map` must be a finite, non-empty (H, W) array. "
            f"Received: saliency_map.shape={np.shape(saliency_map)}"
        )
    lo, hi = m.min(), m.max()
    if hi - lo < 1e-12:
        return np.zeros(m.shape, np.float32)
    return ((m - lo) / (hi - lo)).astype(np.float32)


class SaliencyAccumulator:
    """Collects per-image scores of one map kind and gives the data-set scores.

    Example:

    >>> acc = SaliencyAccumulator()
    >>> acc.add(np.eye(4), np.eye(4))
    >>> acc.result()
    SaliencyScores(mae=0.0, max_f=1.0, auc=1.0, count=1, mean_max_f=1.0)
    """

    def __init__(self, beta_squared=BETA_SQUARED):
        self.beta_squared = beta_squared
        self.maes, self.aucs, self.f_curves = [], [], []

    def add(self, saliency, mask):
        """Scores one image; returns its `(mae, max_f, auc)`."""
        precision, recall = precision_recall_curve(saliency, mask)
        curve = _f_measure(precision, recall, self.beta_squared)
        mae, auc = mean_absolute_error(saliency, mask), roc_auc(saliency, mask)
        self.maes.append(mae)
        self.aucs.append(auc)
        self.f_curves.append(curve)
        return mae, float(curve.max()), auc

    def result(self):
        """`SaliencyScores` over the images added; `ValueError` when none were."""
        if not self.maes:
            raise ValueError("`SaliencyAccumulator` holds no images; call add() first. Received: count=0")
        return SaliencyScores(
            mae=float(np.mean(self.maes)),
            max_f=float(np.max(np.mean(self.f_curves, axis=0))),
            auc=float(np.mean(self.aucs)),
            count=len(self.maes),
            mean_max_f=float(np.mean([curve.max() for curve in self.f_curves])),
        )
