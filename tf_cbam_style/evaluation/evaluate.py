"""Runs every method on every content x style pair and scores the results."""

import collections
import time

import numpy as np

from tf_cbam_style.evaluation.metrics import CONTENT_LAYERS, STYLE_LAYERS

PairScores = collections.namedtuple(
    "PairScores",
    ["content", "style", "method", "seconds", "content_relu4_1", "content_relu5_1", "style_loss",
     "gram_loss", "ssim", "grid_score", "color_ratio", "background_change_ratio", "background_change",
     "salient_change"],
)
PairScores.__doc__ = """The scores of one stylized pair (one CSV row).

Attributes:
    content, style: file names.
    method: method name.
    seconds: wall time of the stylization alone (after a warm-up call).
    content_relu4_1, content_relu5_1, style_loss, gram_loss, ssim: see `metrics`.
    grid_score: `metrics.grid_score` at the encoder stride (1 = no grid).
    color_ratio: `metrics.color_transfer_ratio` (below 1: toward the style).
    background_change_ratio, background_change, salient_change: see `attention_metric`.
"""

EvaluationResult = collections.namedtuple(
    "EvaluationResult", ["rows", "sheets", "methods", "contents", "styles", "size"]
)
EvaluationResult.__doc__ = """What `evaluate` measured.

Attributes:
    rows: list of `PairScores`.
    sheets: dict style name -> {"style": image, "rows": [(content name,
        content image, attention map, {method: image})]} for the contact sheets.
    methods: dict method name -> description, in table order.
    contents, styles: the file names used, in order.
    size: longer side of the contents (and styles) in pixels.
"""


def _name(path):
    import os

    return os.path.basename(path)


def evaluate(content_paths, style_paths, methods, *, size=512, gatys_max_pairs=None,
             sheet_styles=3, sheet_contents=6, cbam_model=None, progress=True, grid_period=8,
             full_resolution=False):
    """Stylizes and scores every pair with every method.

    Contents and styles are downscaled so their longer side is at most
    `size` (never below 32 px on the shorter side). Each method gets one
    untimed warm-up call on the first pair (graph tracing), then every pair
    is timed. `gatys` runs on the first `gatys_max_pairs` pairs only (pairs
    in content-major order), since it takes minutes per image on a CPU; it
    gets no warm-up, so its first time includes tracing its step.

    Args:
        content_paths: list of content image files.
        style_paths: list of style image files.
        methods: list of `methods.Method`.
        size: int, longer side in pixels. Defaults to `512`.
        gatys_max_pairs: int or `None` (all pairs).
        sheet_styles: how many styles (the first ones) get a contact sheet.
        sheet_contents: how many contents (the first ones) each sheet shows.
        cbam_model: the CBAM `.keras` file whose attention defines the regions.
        progress: show a tqdm bar.
        grid_period: the encoder stride in pixels for `grid_score` (8 at relu4_1).
        full_resolution: keep the contents at their own size (`stylize`
            tiles those over 1536 px); styles still fit `size`.

    Returns:
        An `EvaluationResult`.
    """
    from tqdm import tqdm

    from tf_cbam_style.evaluation import metrics
    from tf_cbam_style.evaluation.attention_metric import background_change_ratio
    from tf_cbam_style.evaluation.methods import attention_map
    from tf_cbam_style.evaluation.vgg_features import vgg19_features
    from tf_cbam_style.io import fit_max_size, load_image

    if not content_paths or not style_paths or not methods:
        raise ValueError(
            "`content_paths`, `style_paths` and `methods` must be non-empty. "
            f"Received: content_paths={list(content_paths)!r}, style_paths={list(style_paths)!r}, "
            f"methods={[m.name for m in methods]!r}"
        )
    contents = [fit_max_size(load_image(p), None if full_resolution else size, min_size=32).image
                for p in content_paths]
    styles = [fit_max_size(load_image(p), size, min_size=32).image for p in style_paths]
    features = vgg19_features()

    def vgg(image):
        return {k: v.numpy()[0] for k, v in features(image[None]).items()}

    content_features = [{k: f[k] for k in CONTENT_LAYERS} for f in map(vgg, contents)]
    style_features = [{k: f[k] for k in STYLE_LAYERS} for f in map(vgg, styles)]
    maps = [attention_map(c, cbam_model) for c in contents]
    pairs = [(i, j) for i in range(len(contents)) for j in range(len(styles))]
    sheet_pairs = {(i, j) for i in range(min(sheet_contents, len(contents)))
                   for j in range(min(sheet_styles, len(styles)))}
    sheets = {
        _name(style_paths[j]): {"style": styles[j], "rows": [
            (_name(content_paths[i]), contents[i], maps[i], {}) for i in range(min(sheet_contents, len(contents)))
        ]}
        for j in range(min(sheet_styles, len(styles)))
    }
    total = sum(len(pairs) if m.name != "gatys" or gatys_max_pairs is None
                else min(gatys_max_pairs, len(pairs)) for m in methods)
    rows = []
    with tqdm(total=total, unit="image", disable=not progress) as bar:
        for method in methods:
            todo = pairs if method.name != "gatys" or gatys_max_pairs is None else pairs[:gatys_max_pairs]
            if method.name != "gatys" and todo:
                method.stylize(contents[todo[0][0]], styles[todo[0][1]])  # warm-up (tracing)
            for i, j in todo:
                bar.set_description(method.name)
                start = time.perf_counter()
                image = np.asarray(method.stylize(contents[i], styles[j]), np.float32)
                seconds = time.perf_counter() - start
                scores = metrics.quality_scores(vgg(image), content_features[i], style_features[j],
                                                image, contents[i])
                region = background_change_ratio(image, contents[i], maps[i])
                rows.append(PairScores(
                    _name(content_paths[i]), _name(style_paths[j]), method.name, seconds,
                    *scores, metrics.grid_score(image, contents[i], grid_period),
                    metrics.color_transfer_ratio(image, contents[i], styles[j]),
                    region.ratio, region.background_change, region.salient_change,
                ))
                if (i, j) in sheet_pairs:
                    sheets[_name(style_paths[j])]["rows"][i][3][method.name] = image
                bar.update(1)
    return EvaluationResult(
        rows, sheets, {m.name: m.description for m in methods},
        [_name(p) for p in content_paths], [_name(p) for p in style_paths], size,
    )
