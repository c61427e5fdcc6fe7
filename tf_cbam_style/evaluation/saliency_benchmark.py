"""Attention maps and region mattes scored against human masks (`tf-cbam-style saliency`).

A saliency data set is a folder with `images/<id>.<ext>` photos and
`masks/<id>.png` human masks (255 = salient object), such as SOD
(Movahedi & Elder 2010) in `../shared/data/saliency/SOD`. Photos are
downscaled (PIL LANCZOS) so their longer side is at most `size`; each mask
is resized to its photo's size the same way and binarised at 0.5 by the
metrics (`tf_cbam_style.evaluation.saliency`).

Maps scored (all min-max normalised per image, like the models' maps):

- each model's attention map: the `attention_map` of `api.stylize()` with a
  flat grey style. The attention looks at the content only (the pipeline's
  `attention` stage), so the map does not depend on the style or the
  transfer; `stylize` runs with `method="adain"`, the cheapest transfer that
  gives the same map (`evaluation.methods.attention_map` does the same);
- `gaussian_prior`: a centred Gaussian, `exp(-((x - cx)^2 / (2 (s W)^2) +
  (y - cy)^2 / (2 (s H)^2)))` with `s = GAUSSIAN_SIGMA = 0.25` of each side
  (pixel centres, `cx = (W - 1) / 2`);
- `vgg_relu4_1_mean`: the channel mean of the ImageNet VGG19 relu4_1
  features of the photo (reflection-padded to a multiple of 8, resized
  bilinearly to the padded size and cropped, as the pipeline treats its
  attention map);
- `vgg_relu5_1_contrast`: the global feature contrast of the VGG19 relu5_1
  features, `||f(p) - mean f||` (`losses.feature_contrast`, the target of
  the training's attention-contrast term), treated the same way at stride
  16. Not one of the issue's two references: it shows how much an
  unsupervised cue the attention can be trained toward finds.

Region mattes (`region_scores`): the pipeline's own matte (the `"matte"`
output of `api.pipeline_function`: the attention through 2-means, sigmoid
and feathering to a soft matte, then binarised and snapped to the photo by
`GuidedFilter`), its soft matte before that refinement, and other
refinements of the soft matte, against the human mask, and the
photo-fidelity of the `region="foreground"` / `"background"` composites.
"""

import collections
import math
import os
import pathlib

import numpy as np

from tf_cbam_style.evaluation import saliency as metrics

GAUSSIAN_SIGMA = 0.25
GREY = 0.5
GAUSSIAN_NAME = "gaussian_prior"
VGG_NAME = "vgg_relu4_1_mean"
CONTRAST_NAME = "vgg_relu5_1_contrast"
REFERENCE_DESCRIPTIONS = {
    GAUSSIAN_NAME: "centred Gaussian prior (sigma = 0.25 of each side)",
    VGG_NAME: "VGG19 relu4_1 channel mean",
    CONTRAST_NAME: "VGG19 relu5_1 feature contrast (unsupervised; the contrast term's target)",
}

SaliencyItem = collections.namedtuple("SaliencyItem", ["id", "image", "mask"])
SaliencyItem.__doc__ = "One photo of a saliency data set: its id and the image and mask paths."

MapRow = collections.namedtuple("MapRow", ["id", "map", "mae", "max_f", "auc"])
MapRow.__doc__ = "Scores of one map kind on one image (max_f: that image's own max F)."

Refinement = collections.namedtuple("Refinement", ["radius", "epsilon", "guide", "hard"])
Refinement.__doc__ = """A refinement of the pipeline's soft matte `m` (`ForegroundComposite.soft_matte`).

Attributes:
    radius: guided-filter window radius in image pixels; 0 = no filter
        (with `hard=False`: the soft matte itself).
    epsilon: guided-filter regularisation (guide in [0, 1]).
    guide: `"rgb"` (the photo) or `"grey"` (its BT.601 luminance).
    hard: binarise first, `m >= 0.5`, then filter (He et al.'s feathering
        of a binary mask); `False` filters the soft matte itself.

The refined matte is `clip(GuidedFilter(radius, epsilon)(m', guide), 0, 1)`
with `m' = m` or `m >= 0.5`. The pipeline's own refinement is
`Refinement(options.MATTE_REFINE_RADIUS, options.MATTE_REFINE_EPSILON,
"rgb", True)`.
"""

# The settings `tf-cbam-style saliency --measure regions` tries by default
# (after the pipeline's matte and its soft matte); results in docs/results.md.
DEFAULT_REFINEMENTS = (
    Refinement(0, 0.0, "rgb", True),
    Refinement(8, 1e-3, "rgb", False), Refinement(16, 1e-3, "rgb", False),
    Refinement(2, 1e-3, "rgb", True), Refinement(4, 1e-3, "rgb", True), Refinement(8, 1e-3, "rgb", True),
    Refinement(16, 1e-3, "rgb", True), Refinement(4, 1e-6, "rgb", True), Refinement(8, 1e-6, "rgb", True),
    Refinement(4, 1e-2, "rgb", True), Refinement(4, 1e-3, "grey", True),
)


def parse_refinement(text):
    """`"hard"` or `"RADIUS:EPSILON[:rgb|grey][:hard|soft]"` -> `Refinement`; `ValueError` otherwise."""
    parts = str(text).split(":")
    try:
        if parts == ["hard"]:
            return Refinement(0, 0.0, "rgb", True)
        if len(parts) < 2:
            raise ValueError
        radius, epsilon = int(parts[0]), float(parts[1])
        rest = parts[2:]
        guide = rest.pop(0) if rest and rest[0] in ("rgb", "grey") else "rgb"
        hard = rest.pop(0) if rest and rest[0] in ("hard", "soft") else "soft"
        if rest or radius < 1 or not epsilon > 0:
            raise ValueError
    except ValueError:
        raise ValueError(
            "`refine` must be 'hard' or RADIUS:EPSILON[:rgb|grey][:hard|soft] with RADIUS >= 1 and "
            f"EPSILON > 0, such as 4:0.001:hard. Received: refine={text!r}"
        ) from None
    return Refinement(radius, epsilon, guide, hard == "hard")


SOFT_NAME = "soft matte (unrefined)"
SOFT = Refinement(0, 0.0, "rgb", False)


def refinement_name(refinement):
    """`Refinement` -> a short label such as `hard + gf r4 eps1e-03 rgb`."""
    if refinement is None:
        return "pipeline matte"
    if refinement.radius == 0:
        return "hard (m >= 0.5)" if refinement.hard else SOFT_NAME
    name = f"gf r{refinement.radius} eps{refinement.epsilon:.0e} {refinement.guide}"
    return ("hard + " + name) if refinement.hard else name


def refine_matte(matte, guide, refinement, layer=None):
    """Applies `refinement` to a `(1, H, W, 1)` matte with a `(1, H, W, c)` guide -> numpy `(1, H, W, 1)`."""
    m = np.asarray(matte, np.float32)
    if refinement.hard:
        m = (m >= 0.5).astype(np.float32)
    if refinement.radius == 0:
        return m
    if layer is None:
        from tf_cbam_style.layers.guided_filter import GuidedFilter

        layer = GuidedFilter(radius=refinement.radius, epsilon=refinement.epsilon)
    return np.clip(np.asarray(layer(m, guide)), 0.0, 1.0)


# ---------------------------------------------------------------------------
# Data
# ---------------------------------------------------------------------------


def saliency_items(data_dir, max_images=None):
    """The photos of a saliency data set with their masks, sorted by name.

    Args:
        data_dir: folder with `images/` and `masks/<id>.png`.
        max_images: keep the first N (sorted by name); `None` keeps all.

    Returns:
        A list of `SaliencyItem`.

    Raises:
        ValueError: `max_images` not a positive int, no photos, or a photo
            without a mask.
        FileNotFoundError: `data_dir/images` or `data_dir/masks` missing.
    """
    from tf_cbam_style.io import IMAGE_EXTENSIONS

    root = pathlib.Path(data_dir)
    for sub in ("images", "masks"):
        if not (root / sub).is_dir():
            raise FileNotFoundError(
                f"`data` must be a folder holding images/ and masks/. Received: data='{data_dir}' "
                f"(no {sub}/)"
            )
    if max_images is not None and (isinstance(max_images, bool) or not isinstance(max_images, int)
                                   or max_images < 1):
        raise ValueError(f"`max_images` must be a positive int. Received: max_images={max_images!r}")
    photos = sorted(p for p in (root / "images").iterdir()
                    if p.is_file() and p.name.lower().endswith(IMAGE_EXTENSIONS))
    if not photos:
        raise ValueError(f"`data`/images holds no images. Received: data='{data_dir}'")
    photos = photos[:max_images]
    items = []
    for photo in photos:
        mask = root / "masks" / (photo.stem + ".png")
        if not mask.is_file():
            raise ValueError(f"`data` has no mask masks/{mask.name} for images/{photo.name}. "
                             f"Received: data='{data_dir}'")
        items.append(SaliencyItem(photo.stem, str(photo), str(mask)))
    return items


def load_item(item, size):
    """`(image, mask)`: `(H, W, 3)` photo with longer side <= `size` and its
    `(H, W)` mask in [0, 1] resized to it (see module doc)."""
    from tf_cbam_style.arrays import LUMA
    from tf_cbam_style.io import fit_max_size, image_size, load_image, resize_image

    image = fit_max_size(load_image(item.image), size, min_size=32).image
    mask = load_image(item.mask, min_size=1) @ LUMA
    mask = resize_image(mask, image_size(image))
    return image, mask


# ---------------------------------------------------------------------------
# Maps
# ---------------------------------------------------------------------------


def gaussian_prior(height, width, sigma=GAUSSIAN_SIGMA):
    """The centred Gaussian prior `(height, width)`, min-max normalised (module doc)."""
    if not sigma > 0:
        raise ValueError(f"`sigma` must be positive. Received: sigma={sigma!r}")
    y = (np.arange(height) - (height - 1) / 2.0) / (sigma * height)
    x = (np.arange(width) - (width - 1) / 2.0) / (sigma * width)
    prior = np.exp(-0.5 * (y[:, None] ** 2 + x[None, :] ** 2))
    return metrics.min_max_normalize(prior)


class VGGChannelMean:
    """A statistic of the VGG19 features at each position as a saliency map.

    Args:
        weights: VGG19 weights, see `VGG19Encoder` (`"auto"` reads
            `$TF_CBAM_STYLE_VGG_WEIGHTS`).
        depth: the encoder cut. Defaults to `"relu4_1"`.
        statistic: `"mean"` (default: the channel mean) or `"contrast"`
            (`losses.feature_contrast`, the distance to the image's mean
            feature).

    Call arguments:
        image: `(H, W, 3)` RGB in [0, 1].

    Returns:
        float32 `(H, W)` in [0, 1], min-max normalised.
    """

    def __init__(self, weights="auto", depth="relu4_1", statistic="mean"):
        import tensorflow as tf

        from tf_cbam_style import losses
        from tf_cbam_style.models.vgg19_encoder import VGG19Encoder

        if statistic not in ("mean", "contrast"):
            raise ValueError(f"`statistic` must be 'mean' or 'contrast'. Received: statistic={statistic!r}")

        self.encoder = VGG19Encoder(depth=depth, weights=weights)
        self.encoder.build((None, None, None, 3))
        stride = self.encoder.stride

        @tf.function(input_signature=[tf.TensorSpec([1, None, None, 3], tf.float32)])
        def run(image):
            h, w = tf.shape(image)[1], tf.shape(image)[2]
            padded = tf.pad(image, [[0, 0], [0, (-h) % stride], [0, (-w) % stride], [0, 0]], mode="REFLECT")
            features = self.encoder(padded)
            if statistic == "mean":
                value = tf.reduce_mean(features, axis=-1, keepdims=True)
            else:
                value = losses.feature_contrast(features)
            return tf.image.resize(value, tf.shape(padded)[1:3], method="bilinear")[0, :h, :w, 0]

        self._run = run

    def __call__(self, image):
        return metrics.min_max_normalize(self._run(np.asarray(image, np.float32)[None]).numpy())


def model_attention_map(model, image):
    """A model's attention map of `image`, min-max normalised (module doc)."""
    from tf_cbam_style import api

    grey = np.full((32, 32, 3), GREY, np.float32)
    result = api.stylize(image, grey, method="adain", model=model, return_attention=True)
    return metrics.min_max_normalize(result.attention_map)


def shipped_models():
    """`{name: path}` of every shipped model (`saved_models/<attention>_<depth>/model.keras`)."""
    from tf_cbam_style import api
    from tf_cbam_style import options as opts

    found = {}
    for depth in opts.DEPTHS:
        for attention in opts.ATTENTIONS:
            path = api.default_model_path(attention, depth)
            if path.is_file():
                found[opts.model_name(attention, depth)] = path
    return found


def resolve_models(specs=None):
    """Model names (`cbam_relu4_1`, ...) or `.keras` paths / folders -> `{label: path}`.

    `None` gives every shipped model. Labels are the shipped name, or the
    folder name of a path (the file stem for a `.keras` file elsewhere).
    """
    shipped = shipped_models()
    if specs is None:
        if not shipped:
            raise FileNotFoundError("`models`: no shipped model found under saved_models/. Received: models=None")
        return shipped
    resolved = {}
    for spec in specs:
        path = pathlib.Path(spec)
        if spec in shipped:
            resolved[spec] = shipped[spec]
            continue
        if path.is_dir():
            path = path / "model.keras"
        if not path.is_file():
            raise FileNotFoundError(
                f"`models` must name shipped models ({', '.join(shipped) or 'none found'}) or .keras "
                f"files / model folders. Received: models={spec!r}"
            )
        label = path.parent.name if path.name == "model.keras" else path.stem
        resolved[label] = path
    return resolved


# ---------------------------------------------------------------------------
# Scoring maps
# ---------------------------------------------------------------------------


def score_maps(items, models, size=320, sigma=GAUSSIAN_SIGMA, vgg_weights="auto", progress=False):
    """Scores every model's attention and the reference maps on `items`.

    Args:
        items: list of `SaliencyItem`.
        models: `{label: model or path}`.
        size: longer side of the photos in pixels.
        sigma: the Gaussian prior's sigma (fraction of each side).
        vgg_weights: VGG19 weights of the VGG references.
        progress: show a tqdm bar.

    Returns:
        `(scores, rows)`: an ordered dict label -> `SaliencyScores` (the
        three references first, then the models) and the per-image
        `MapRow`s.
    """
    from tqdm import tqdm

    from tf_cbam_style import api

    loaded = {label: (m if hasattr(m, "encoder") else api.load_model(m)) for label, m in models.items()}
    vgg = VGGChannelMean(weights=vgg_weights)
    contrast = VGGChannelMean(weights=vgg_weights, depth="relu5_1", statistic="contrast")
    labels = [GAUSSIAN_NAME, VGG_NAME, CONTRAST_NAME] + list(loaded)
    accumulators = {label: metrics.SaliencyAccumulator() for label in labels}
    rows = []
    for item in tqdm(items, unit="image", disable=not progress):
        image, mask = load_item(item, size)
        maps = {GAUSSIAN_NAME: gaussian_prior(*mask.shape, sigma=sigma), VGG_NAME: vgg(image),
                CONTRAST_NAME: contrast(image)}
        for label, model in loaded.items():
            maps[label] = model_attention_map(model, image)
        for label in labels:
            rows.append(MapRow(item.id, label, *accumulators[label].add(maps[label], mask)))
    scores = collections.OrderedDict((label, accumulators[label].result()) for label in labels)
    return scores, rows


# ---------------------------------------------------------------------------
# Region mattes
# ---------------------------------------------------------------------------

ATTENTION_SOURCE = "attention"
ORACLE_SOURCE = "human mask at feature resolution"

RegionRow = collections.namedtuple("RegionRow", [
    "id", "model", "source", "matte", "iou", "foreground_delta_e", "foreground_change", "background_delta_e",
    "background_change", "foreground_delta_e_human", "background_delta_e_human", "composite_error",
])
RegionRow.__doc__ = """Region-matte scores of one model, matte source and refinement on one image.

Attributes:
    id, model: image id, model label.
    source: `ATTENTION_SOURCE` (the pipeline's matte from the model's
        attention) or `ORACLE_SOURCE` (the pipeline's matte function applied
        to the human mask area-downsampled to the attention's resolution:
        what a perfect attention map would give; isolates what the
        refinement does at the edges).
    matte: `refinement_name` of the refinement.
    iou: IoU of `matte >= 0.5` against the human mask.
    foreground_delta_e: `region="foreground"`: mean CIEDE2000 between the
        output and the photo where the matte is < 0.5 (kept as the photo).
    foreground_change: `region="foreground"`: mean |output - photo| (RGB in
        [0, 1]) where the matte is >= 0.5 (stylized).
    background_delta_e, background_change: the same for
        `region="background"` (kept where the matte is >= 0.5).
    foreground_delta_e_human, background_delta_e_human: the same CIEDE2000
        means over the region the human mask says should stay a photo.
    composite_error: on the first image of each model only (else `nan`),
        the largest difference between the pipeline's own
        `region="foreground"` / `"background"` outputs and the composites
        computed here from its `"all"` output and matte.
"""

REGION_COLUMNS = ("iou", "foreground_delta_e", "foreground_change", "background_delta_e",
                  "background_change", "foreground_delta_e_human", "background_delta_e_human")


def _delta_e(a, b):
    color = require_scikit_image()
    return color.deltaE_ciede2000(color.rgb2lab(a), color.rgb2lab(b))


def require_scikit_image():
    """Imports `skimage.color`, or raises an ImportError naming the pip command."""
    try:
        import skimage.color
    except ImportError as error:
        raise ImportError(
            "The CIEDE2000 colour difference of the region scores needs scikit-image: "
            "pip install 'tf_cbam_style[eval]' (or pip install scikit-image)"
        ) from error
    return skimage.color


def _masked_mean(values, where):
    return float(values[where].mean()) if where.any() else float("nan")


def composites(stylized, content, matte):
    """The region composites of the pipeline: `(foreground, background)`.

    `foreground = m * stylized + (1 - m) * content` (only the object
    stylized), `background = m * content + (1 - m) * stylized`, with the
    `(H, W)` matte `m` in [0, 1].
    """
    m = np.asarray(matte, np.float32)[..., None]
    return m * stylized + (1.0 - m) * content, m * content + (1.0 - m) * stylized


def composite_scores(stylized, content, matte, human):
    """IoU, CIEDE2000 of the kept region and change of the other (see `RegionRow`).

    Args:
        stylized: `(H, W, 3)` fully stylized image (`region="all"`).
        content: `(H, W, 3)` photo.
        matte: `(H, W)` matte in [0, 1].
        human: `(H, W)` human mask, object where >= 0.5.

    Returns:
        dict of the `REGION_COLUMNS`.
    """
    foreground, background = composites(stylized, content, matte)
    inside = np.asarray(matte) >= 0.5
    change_fg = np.abs(foreground - content).mean(-1)
    change_bg = np.abs(background - content).mean(-1)
    delta_fg, delta_bg = _delta_e(foreground, content), _delta_e(background, content)
    return {
        "iou": metrics.iou(matte, human),
        "foreground_delta_e": _masked_mean(delta_fg, ~inside),
        "foreground_change": _masked_mean(change_fg, inside),
        "background_delta_e": _masked_mean(delta_bg, inside),
        "background_change": _masked_mean(change_bg, ~inside),
        "foreground_delta_e_human": _masked_mean(delta_fg, human < 0.5),
        "background_delta_e_human": _masked_mean(delta_bg, human >= 0.5),
    }


def oracle_matte(pipeline, human):
    """The pipeline's soft matte for an attention map equal to the human mask.

    The `(H, W)` mask is padded (symmetric) to the encoder stride,
    area-downsampled to the attention's resolution (as the pipeline treats
    a user mask) and put through the pipeline's own
    `ForegroundComposite.soft_matte`; `(H, W)` in [0, 1], before the
    refinement against the photo.
    """
    import tensorflow as tf

    h, w = human.shape
    stride = pipeline.stride
    padded = np.pad(human, ((0, (-h) % stride), (0, (-w) % stride)), mode="symmetric")
    small = tf.image.resize(padded[None, :, :, None].astype(np.float32),
                            (padded.shape[0] // stride, padded.shape[1] // stride), method="area")
    return pipeline.composite.soft_matte(small, padded.shape).numpy()[0, :h, :w, 0]


def attention_soft_matte(pipeline, content, inputs, transfer):
    """The pipeline's soft matte from the model's attention: `(H, W)` in [0, 1].

    Runs the pipeline's `encoder` and `attention` stages on `inputs` (the
    pipeline's input and option dict) and its `ForegroundComposite.soft_matte`
    on the saliency, cropped to the `(H, W, 3)` photo as the `output` stage
    does before it refines the matte.
    """
    import tensorflow as tf

    state = {k: tf.constant(v) for k, v in inputs.items()}
    for _, stage in pipeline.stages(transfer)[:2]:
        state.update(stage(state))
    h, w = content.shape[:2]
    padded_size = tf.shape(state["saliency"])[1:3] * pipeline.stride
    return pipeline.composite.soft_matte(state["saliency"], padded_size).numpy()[0, :h, :w, 0]


def region_scores(items, models, style, size=320, refinements=DEFAULT_REFINEMENTS, oracle=True,
                  progress=False):
    """Scores the region composites' mattes and photo fidelity on `items`.

    For each photo and model the pipeline runs once with the default options
    and `region="all"`, giving the stylized image and the matte; the
    foreground and background composites are formed with the pipeline's
    formula (`composites`). On the first photo of each model the pipeline
    also runs with `region="foreground"` and `"background"`, and the largest
    difference is recorded (`composite_error`). The soft matte before the
    pipeline's refinement (`attention_soft_matte`) and each refinement of it
    (`refine_matte`) are composited the same way.

    Args:
        items: list of `SaliencyItem`.
        models: `{label: model or path}`.
        style: `(Hs, Ws, 3)` style image in [0, 1].
        size: longer side of the photos.
        refinements: list of `Refinement` of the soft matte to try (the
            pipeline's matte and the soft matte always come first).
        oracle: also score the `ORACLE_SOURCE` mattes.
        progress: show a tqdm bar.

    Returns:
        A list of `RegionRow`.
    """
    import tensorflow as tf
    from tqdm import tqdm

    from tf_cbam_style import api
    from tf_cbam_style import options as opts
    from tf_cbam_style.arrays import LUMA, as_image
    from tf_cbam_style.layers.guided_filter import GuidedFilter
    from tf_cbam_style.models.pipeline import StylizePipeline

    require_scikit_image()
    style = api.fit_style(as_image(style, "style"), opts.DEFAULT_STYLE_MAX_SIZE)
    loaded = {label: (m if hasattr(m, "encoder") else api.load_model(m)) for label, m in models.items()}
    filters = [(r, GuidedFilter(radius=r.radius, epsilon=r.epsilon) if r.radius else None) for r in refinements]
    rows = []
    runners = {}  # once per model, not per photo: its method, transfer, traced function and pipeline
    for label, model in loaded.items():
        method = "self_attention" if model.attention_kind == "self_attention" else "cbam"
        transfer = opts.transfer_for(method, model.attention_kind)
        runners[label] = (method, transfer, api.pipeline_function(model, transfer), StylizePipeline(model))
    for index, item in enumerate(tqdm(items, unit="image", disable=not progress)):
        content, human = load_item(item, size)
        guides = {"rgb": tf.constant(content[None]), "grey": tf.constant((content @ LUMA)[None, :, :, None])}
        for label, (method, transfer, function, pipeline) in runners.items():

            def inputs(region):
                return {"content_image": content[None], "style_image": style[None],
                        **opts.option_inputs(opts.StylizeOptions(method=method, region=region))}

            outputs = function(inputs("all"))
            stylized = outputs["stylized_image"].numpy()[0]
            mattes = {ATTENTION_SOURCE: (outputs["matte"].numpy()[0, ..., 0],
                                         attention_soft_matte(pipeline, content, inputs("all"), transfer))}
            if oracle:
                soft = oracle_matte(pipeline, human)
                refined = pipeline.composite.refine(tf.constant(soft[None, :, :, None]), guides["rgb"])
                mattes[ORACLE_SOURCE] = (refined.numpy()[0, ..., 0], soft)
            error = math.nan
            if index == 0:
                expected = composites(stylized, content, mattes[ATTENTION_SOURCE][0])
                error = max(float(np.abs(function(inputs(region))["stylized_image"].numpy()[0] - image).max())
                            for region, image in zip(("foreground", "background"), expected))
            for source, (matte, soft) in mattes.items():
                scores = composite_scores(stylized, content, matte, human)
                rows.append(RegionRow(item.id, label, source, refinement_name(None),
                                      composite_error=error if source == ATTENTION_SOURCE else math.nan,
                                      **scores))
                for refinement, layer in [(SOFT, None)] + filters:
                    refined = refine_matte(soft[None, :, :, None], guides[refinement.guide], refinement,
                                           layer)[0, ..., 0]
                    rows.append(RegionRow(item.id, label, source, refinement_name(refinement),
                                          composite_error=math.nan,
                                          **composite_scores(stylized, content, refined, human)))
    return rows


def summarize_regions(rows):
    """`{(model, source, matte): {column: mean over images (nan left out), "images": n,
    "composite_error": max}}`, first-seen order."""
    groups = collections.OrderedDict()
    for row in rows:
        groups.setdefault((row.model, row.source, row.matte), []).append(row)
    summary = collections.OrderedDict()
    for key, group in groups.items():
        entry = {"images": len(group)}
        for column in REGION_COLUMNS:
            values = [getattr(r, column) for r in group if math.isfinite(getattr(r, column))]
            entry[column] = float(np.mean(values)) if values else float("nan")
        errors = [r.composite_error for r in group if math.isfinite(r.composite_error)]
        entry["composite_error"] = max(errors) if errors else float("nan")
        summary[key] = entry
    return summary


# ---------------------------------------------------------------------------
# Reports
# ---------------------------------------------------------------------------


def maps_table(scores):
    """Markdown table of `score_maps`' scores."""
    lines = ["| map | images | MAE ↓ | max F ↑ | AUC ↑ | mean per-image max F ↑ |", "|---|---|---|---|---|---|"]
    for label, s in scores.items():
        name = REFERENCE_DESCRIPTIONS.get(label, f"`{label}` attention")
        lines.append(f"| {name} | {s.count} | {s.mae:.3f} | {s.max_f:.3f} | {s.auc:.3f} | {s.mean_max_f:.3f} |")
    return "\n".join(lines)


def regions_table(summary):
    """Markdown table of `summarize_regions`."""
    lines = [
        "| model | matte from | refinement | images | IoU ↑ | fg: ΔE00 kept ↓ | fg: change stylized "
        "| bg: ΔE00 kept ↓ | bg: change stylized | fg: ΔE00 human bg ↓ | bg: ΔE00 human object ↓ |",
        "|---|---|---|---|---|---|---|---|---|---|---|",
    ]
    for (model, source, matte), e in summary.items():
        lines.append(
            f"| {model} | {source} | {matte} | {e['images']} | {e['iou']:.3f} | {e['foreground_delta_e']:.2f} | "
            f"{e['foreground_change']:.3f} | {e['background_delta_e']:.2f} | {e['background_change']:.3f} | "
            f"{e['foreground_delta_e_human']:.2f} | {e['background_delta_e_human']:.2f} |"
        )
    return "\n".join(lines)


def write_rows_csv(path, rows, fields):
    """Writes namedtuple `rows` to `path` (temporary file, then renamed)."""
    import csv

    temporary = f"{path}.tmp{os.getpid()}"
    try:
        with open(temporary, "w", newline="", encoding="utf-8") as f:
            writer = csv.writer(f)
            writer.writerow(fields)
            for row in rows:
                writer.writerow([f"{v:.6g}" if isinstance(v, float) else v for v in row])
        os.replace(temporary, path)
    except BaseException:
        if os.path.exists(temporary):
            os.remove(temporary)
        raise
    return path


def write_text(path, text):
    """Writes `text` to `path` (temporary file, then renamed)."""
    temporary = f"{path}.tmp{os.getpid()}"
    try:
        with open(temporary, "w", encoding="utf-8") as f:
            f.write(text)
        os.replace(temporary, path)
    except BaseException:
        if os.path.exists(temporary):
            os.remove(temporary)
        raise
    return path
