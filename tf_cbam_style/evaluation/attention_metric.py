"""How much more a stylization changes the background than the salient object.

Definition (`background_change_ratio`):

1. Region split. The attention map `a` (H, W) of the content (the CBAM
   model's map, the same for every method so that the regions do not depend
   on the method being scored) is min-max normalised to [0, 1] and split
   in two by deterministic 1-D k-means: centroids start at 0.25 and 0.75,
   20 Lloyd iterations, each pixel joins the nearer centroid (ties go to
   the background). The pixels of the upper cluster are the salient region
   `F`, the others the background `B`.
2. Change. `d(y, x) = mean_c |stylized(y, x, c) - content(y, x, c)|` for
   RGB in [0, 1].
3. Ratio. `mean_B d / mean_F d`. Above 1: the background changed more than
   the salient object (what attention-aware stylization aims for); 1: no
   difference; `nan` when a region is empty (a constant map) or the salient
   region did not change at all.
"""

import collections

import numpy as np

RegionChange = collections.namedtuple(
    "RegionChange", ["ratio", "background_change", "salient_change", "salient_fraction"]
)
RegionChange.__doc__ = """Result of `background_change_ratio`.

Attributes:
    ratio: `background_change / salient_change`.
    background_change: mean absolute RGB change over the background.
    salient_change: mean absolute RGB change over the salient region.
    salient_fraction: share of the pixels in the salient region.
"""


def salient_region(attention_map, iterations=20):
    """The salient region of an `(H, W)` map: boolean `(H, W)` (see module doc)."""
    values = np.asarray(attention_map, np.float64)
    if values.ndim == 3 and values.shape[-1] == 1:
        values = values[..., 0]
    if values.ndim != 2:
        raise ValueError(
            f"`attention_map` must be an (H, W) array. Received: attention_map.shape={values.shape}"
        )
    lo, hi = values.min(), values.max()
    if hi - lo < 1e-12:
        return np.zeros(values.shape, bool)
    values = (values - lo) / (hi - lo)
    low, high = 0.25, 0.75
    for _ in range(iterations):
        upper = np.abs(values - high) < np.abs(values - low)
        if upper.any():
            high = values[upper].mean()
        if (~upper).any():
            low = values[~upper].mean()
    return np.abs(values - high) < np.abs(values - low)


def background_change_ratio(stylized, content, attention_map):
    """Background-vs-salient change of one stylized image (see module doc).

    Args:
        stylized: `(H, W, 3)` RGB in [0, 1].
        content: `(H, W, 3)` RGB in [0, 1], the content it was made from.
        attention_map: `(H, W)` attention of the content, or a boolean mask
            (True = salient), which is used as is.

    Returns:
        A `RegionChange`.
    """
    stylized = np.asarray(stylized, np.float64)
    content = np.asarray(content, np.float64)
    if stylized.shape != content.shape or stylized.ndim != 3:
        raise ValueError(
            "`stylized` must have the (H, W, 3) shape of `content`. "
            f"Received: stylized.shape={stylized.shape}, content.shape={content.shape}"
        )
    attention_map = np.asarray(attention_map)
    if attention_map.dtype == bool:
        salient = attention_map
    else:
        salient = salient_region(attention_map)
    if salient.shape != content.shape[:2]:
        raise ValueError(
            "`attention_map` must have the content's (H, W). "
            f"Received: attention_map.shape={attention_map.shape}, content.shape={content.shape}"
        )
    change = np.abs(stylized - content).mean(-1)
    if not salient.any() or salient.all():
        return RegionChange(float("nan"), float(change.mean()), float("nan"), float(salient.mean()))
    background = float(change[~salient].mean())
    foreground = float(change[salient].mean())
    ratio = background / foreground if foreground > 0 else float("nan")
    return RegionChange(ratio, background, foreground, float(salient.mean()))
