"""Full-resolution stylization in overlapping tiles, with memory bounded by the tile size.

The stages are `StylizePipeline`'s own; tiling only decides what each tile
sees, so that every tile is stylized with the same transforms:

1. Global pass: the photo downscaled to `global_size` px gives the
   attention (the multiplicative attention of CBAM or self-attention), the
   saliency map, the stroke-fusion centroids and the region's soft matte,
   once (each tile's matte is then refined against the full-resolution
   photo, `matte_window`).
   The style is encoded and whitened once. The downscaled photo also runs
   through the rest of the pipeline once, without the colour transfer, to
   give the colour transfer's map (`StylizePipeline.color_transform`) that
   every tile then applies.
2. Pass 1, per tile: the encoder's features at full resolution; each tile
   writes the features of its core (a partition of the photo) into one
   feature map on disk (float16 memmap), and the per-channel sums that give
   the photo's instance statistics (and, for skip-statistics decoders, the
   relu1_1..relu3_1 statistics).
3. Pass 2, over the feature map: the attended features' mean and
   covariance, hence ONE whitening transform for the whole photo.
4. Pass 3, per tile with its overlap: attention (the global one, resampled),
   whitening (global), multi-scale style swap, fusion (global saliency and
   centroids), colouring, alpha blend, decoding, the colour transfer (the
   global map) and the region composite;
   tiles are blended with linear feathers over the overlap. Colour
   preservation, whose statistics are global, runs on the assembled image.

Resampling the global maps uses the same half-pixel bilinear rule as
`tf.image.resize`, so a photo no larger than `global_size` gets exactly the
maps of the untiled pipeline; the features differ from an untiled run only
where a tile's encoder or decoder saw less context than the whole photo,
which the overlap and the feathers absorb (see `tests/test_tiling.py` for
the measured difference).
"""

import collections
import math
import os
import tempfile

import numpy as np

from tf_cbam_style import options as opts

DEFAULT_TILE_SIZE = 512  # pixels, a side; peak memory grows with its square
DEFAULT_OVERLAP = 128  # pixels; 16 relu4_1 feature pixels
DEFAULT_GLOBAL_SIZE = 512  # pixels, longer side of the global pass
# Peak memory of one tile through the pipeline (MiB), and the per-pixel cost
# of the full-resolution buffers (the decoded photo, content, accumulator,
# weights, matte, output and their conversions). Fitted to the peak RSS of
# `tf-cbam-style benchmark --megapixels 2,12,48` with 512 px tiles (2,073,
# 2,917 and 6,182 MiB, reports/fullres): 1,850 MiB + 96 bytes a pixel with
# the features; the other tile sizes scale the first measurement of 512 px.
TILE_WORKING_MIB = {256: 1110, 384: 1420, 512: 1850, 768: 2840, 1024: 4440}
BYTES_PER_PIXEL = 80

TilePlan = collections.namedtuple("TilePlan", ["height", "width", "tiles", "cores"])
TilePlan.__doc__ = """Where the tiles of a `height` x `width` (stride-padded) photo go.

Attributes:
    height, width: the padded photo size (multiples of the encoder stride).
    tiles: list of `(y0, x0, y1, x1)` windows, each at most the tile size.
    cores: list of `(y0, x0, y1, x1)`, one per tile: the part of the photo
        the tile is responsible for; the cores partition the photo.
"""


def _starts(length, tile, step, stride):
    if length <= tile:
        return [0]
    starts = list(range(0, length - tile, step))
    last = length - tile
    if starts[-1] != last:
        starts.append(last)
    return [s - s % stride for s in starts[:-1]] + [last]


def plan_tiles(height, width, tile_size=DEFAULT_TILE_SIZE, overlap=DEFAULT_OVERLAP, stride=8):
    """Overlapping tiles of a `height` x `width` photo (both multiples of `stride`).

    Tiles start on multiples of `stride`, so their feature grids line up;
    neighbours overlap by at least `overlap` px; each core runs to the middle
    of the overlaps.

    Raises:
        ValueError: when the sizes are not multiples of `stride`, or the
            overlap leaves no room.
    """
    for name, value in (("height", height), ("width", width), ("tile_size", tile_size), ("overlap", overlap)):
        if value % stride:
            raise ValueError(f"`{name}` must be a multiple of the encoder stride {stride}. Received: {name}={value}")
    if not 0 <= overlap < tile_size // 2:
        raise ValueError(
            f"`overlap` must be in [0, tile_size / 2). Received: overlap={overlap}, tile_size={tile_size}"
        )
    step = tile_size - overlap
    ys = _starts(height, tile_size, step, stride)
    xs = _starts(width, tile_size, step, stride)

    def cores(starts, length):
        ends = [min(s + tile_size, length) for s in starts]
        bounds = [0]
        for i in range(1, len(starts)):
            middle = (starts[i] + ends[i - 1]) // 2
            bounds.append(middle - middle % stride)
        bounds.append(length)
        return list(zip(bounds[:-1], bounds[1:]))

    core_y, core_x = cores(ys, height), cores(xs, width)
    tiles, core_boxes = [], []
    for (y, (cy0, cy1)) in zip(ys, core_y):
        for (x, (cx0, cx1)) in zip(xs, core_x):
            tiles.append((y, x, min(y + tile_size, height), min(x + tile_size, width)))
            core_boxes.append((cy0, cx0, cy1, cx1))
    return TilePlan(height, width, tiles, core_boxes)


def resize_window(image, full_size, window):
    """The `window` `(y0, x0, y1, x1)` of `image` resized to `full_size`, in numpy.

    Equals `tf.image.resize(image, full_size, "bilinear")[y0:y1, x0:x1]`
    (half-pixel centres, edge clamping) without making the full-size array.

    Args:
        image: `(h, w, c)` array.
        full_size: `(H, W)`, the size the whole image would be resized to.
        window: the crop of that full-size image to return.
    """
    h, w = image.shape[:2]
    big_h, big_w = full_size
    y0, x0, y1, x1 = window

    def axis(start, stop, small, big):
        position = (np.arange(start, stop) + 0.5) * (small / big) - 0.5
        position = np.clip(position, 0, small - 1)
        low = np.floor(position).astype(np.int64)
        high = np.minimum(low + 1, small - 1)
        return low, high, (position - low).astype(np.float32)

    ly, hy, fy = axis(y0, y1, h, big_h)
    lx, hx, fx = axis(x0, x1, w, big_w)
    top = image[ly][:, lx] * (1 - fx)[None, :, None] + image[ly][:, hx] * fx[None, :, None]
    bottom = image[hy][:, lx] * (1 - fx)[None, :, None] + image[hy][:, hx] * fx[None, :, None]
    return (top * (1 - fy)[:, None, None] + bottom * fy[:, None, None]).astype(np.float32)


def matte_window(composite, soft_matte, full_size, content, window, refine=True):
    """The region matte of the untiled pipeline, on one `window` of the photo.

    The soft matte (`ForegroundComposite.soft_matte` at feature resolution)
    is resampled (`resize_window`) to the window grown by the refinement's
    reach (`composite.reach` px, within the photo), refined there against
    the photo (`composite.refine`) and cropped back, which equals the whole
    photo's refined matte on the window exactly. Rows and columns of the
    window past the photo (the stride padding) repeat its last ones.

    Args:
        composite: the pipeline's `ForegroundComposite`.
        soft_matte: `(h, w, 1)` soft matte.
        full_size: `(H', W')` it is resampled to (the padded photo's size,
            or the photo's for a user mask).
        content: `(H, W, 3)` photo in [0, 1], the guide.
        window: `(y0, x0, y1, x1)` in the padded photo.
        refine: `False` for a user mask (used as given: resampled only).

    Returns:
        `(y1 - y0, x1 - x0, 1)` float32 in [0, 1].
    """
    import tensorflow as tf

    if not refine or composite.refine_radius == 0:
        return resize_window(soft_matte, full_size, window)
    height, width = content.shape[:2]
    y0, x0, y1, x1 = window
    reach = composite.reach
    grown = (max(0, y0 - reach), max(0, x0 - reach), min(height, y1 + reach), min(width, x1 + reach))
    gy0, gx0, gy1, gx1 = grown
    soft = resize_window(soft_matte, full_size, grown)
    refined = composite.refine(tf.constant(soft[None]),
                               tf.constant(np.asarray(content[gy0:gy1, gx0:gx1], np.float32)[None])).numpy()[0]
    inside = refined[y0 - gy0:min(y1, height) - gy0, x0 - gx0:min(x1, width) - gx0]
    return np.pad(inside, [(0, y1 - y0 - inside.shape[0]), (0, x1 - x0 - inside.shape[1]), (0, 0)], mode="edge")


def _feather(window, size, overlap):
    """Linear ramps over the overlap on the sides that touch another tile."""
    y0, x0, y1, x1 = window
    height, width = size

    def ramp(start, stop, length):
        n = stop - start
        weights = np.ones(n, np.float32)
        if overlap > 0:
            edge = np.minimum(np.arange(n) + 0.5, overlap) / overlap
            if start > 0:
                weights = np.minimum(weights, edge)
            if stop < length:
                weights = np.minimum(weights, edge[::-1])
        return weights

    return ramp(y0, y1, height)[:, None] * ramp(x0, x1, width)[None, :]


def effective_overlap(tile_size, overlap=DEFAULT_OVERLAP, stride=8):
    """`overlap`, capped at a quarter of the tile and rounded down to the stride."""
    return min(overlap, (tile_size // 4) // stride * stride)


def memory_needed_mib(height, width, tile_size=DEFAULT_TILE_SIZE, channels=512, stride=8):
    """Estimated peak memory (MiB) of `stylize_tiled` for a `height` x `width` photo."""
    sizes = sorted(TILE_WORKING_MIB)
    tile = min((s for s in sizes if s >= tile_size), default=sizes[-1])
    working = TILE_WORKING_MIB[tile] * (tile_size / tile) ** 2 if tile_size > sizes[-1] else TILE_WORKING_MIB[tile]
    buffers = height * width * BYTES_PER_PIXEL
    features = (height // stride) * (width // stride) * channels * 2  # the float16 memmap, if resident
    return working + (buffers + features) / 2 ** 20


def available_memory_mib():
    """`MemAvailable` of /proc/meminfo in MiB, or `None` where unknown."""
    try:
        with open("/proc/meminfo", encoding="ascii") as f:
            for line in f:
                if line.startswith("MemAvailable:"):
                    return int(line.split()[1]) / 1024
    except OSError:
        return None
    return None


# Peak memory of an untiled call: about 1.2 GiB plus 2.3 GiB per megapixel
# (fitted to the measured peak RSS at 512 px and 1024 px, README benchmark).
UNTILED_BASE_MIB, UNTILED_MIB_PER_MEGAPIXEL = 1200, 2370


def check_memory_untiled(height, width):
    """Raises `MemoryError` (one line) before any work when an untiled call cannot fit."""
    needed = UNTILED_BASE_MIB + UNTILED_MIB_PER_MEGAPIXEL * height * width / 1e6
    available = available_memory_mib()
    if available is not None and needed > available:
        raise MemoryError(
            f"stylizing {width}x{height} px in one piece needs about {needed / 1024:.1f} GiB but "
            f"{available / 1024:.1f} GiB is available; let it tile (drop --tile-size 0) or use --max-size. "
            f"Received: tile_size=0"
        )
    return needed


def check_memory(height, width, tile_size=DEFAULT_TILE_SIZE):
    """Raises `MemoryError` (one line) before any work when the photo cannot fit."""
    needed = memory_needed_mib(height, width, tile_size)
    available = available_memory_mib()
    if available is not None and needed > available:
        raise MemoryError(
            f"stylizing {width}x{height} px needs about {needed / 1024:.1f} GiB but "
            f"{available / 1024:.1f} GiB is available; use a smaller --tile-size or --max-size. "
            f"Received: tile_size={tile_size}"
        )
    return needed


def stylize_tiled(model, content, style, options, *, mask=None, tile_size=DEFAULT_TILE_SIZE,
                  overlap=DEFAULT_OVERLAP, global_size=DEFAULT_GLOBAL_SIZE, progress=False):
    """Stylizes a photo of any size tile by tile (see the module doc).

    Args:
        model: a trained `AttentionAutoencoder`.
        content: `(H, W, 3)` float32 RGB in [0, 1], any size.
        style: `(Hs, Ws, 3)` float32 RGB in [0, 1], already at its working size.
        options: a `StylizeOptions` whose method this model runs.
        mask: optional `(h, w)` float32 mask in [0, 1] replacing the attention.
        tile_size: tile side in pixels (a multiple of the encoder stride).
        overlap: pixels shared by neighbouring tiles (a multiple of the stride).
        global_size: longer side of the global attention pass.
        progress: show a tqdm bar over the tiles.

    Returns:
        `(image, attention_map)`, float32 `(H, W, 3)` and `(H, W)` in [0, 1].

    Raises:
        ValueError: for tile sizes that do not fit the stride.
        MemoryError: when the photo would not fit in the available memory.
    """
    import tensorflow as tf
    from tqdm import tqdm

    from tf_cbam_style.models.pipeline import StylizePipeline, option_tensors

    pipeline = StylizePipeline(model)
    transfer = pipeline.check_method(options.method)
    stride, depth = pipeline.stride, pipeline.depth
    height, width = content.shape[:2]
    padded_h, padded_w = -(-height // stride) * stride, -(-width // stride) * stride
    check_memory(padded_h, padded_w, tile_size)
    image = np.pad(content, [(0, padded_h - height), (0, padded_w - width), (0, 0)], mode="reflect")
    overlap = effective_overlap(tile_size, overlap, stride)
    plan = plan_tiles(padded_h, padded_w, tile_size, overlap, stride)
    tensors = option_tensors(options.replace(preserve_color=False))
    encoder = model.encoder

    # -- global pass: attention, saliency, centroids, matte; the style once --
    scale = min(1.0, global_size / max(padded_h, padded_w))
    global_h = max(stride * 4, round(padded_h * scale / stride) * stride)
    global_w = max(stride * 4, round(padded_w * scale / stride) * stride)
    small = tf.image.resize(image[None], (global_h, global_w), method="area", antialias=True)
    small = tf.clip_by_value(small, 0.0, 1.0)
    state = {"content_image": small, "style_image": tf.constant(style[None]), **tensors}
    if mask is not None:
        state["mask"] = tf.constant(np.asarray(mask, np.float32)[None, ..., None])
    stages = pipeline.stages(transfer)
    for name, stage in stages[:2]:  # encoder, attention
        state.update(stage(state))
    color_transform = None
    if pipeline.transfer_colors:
        # The colour transfer's map, from the whole (downscaled) photo run
        # through the pipeline without it: colour statistics barely depend on
        # the scale, and every tile then gets the same map.
        preview = {**state, "color_transfer": tf.constant(0.0)}
        for _, stage in stages[2:-1]:  # from the transfer to the decoder; the output stage is last
            preview.update(stage(preview))
        color_transform = pipeline.color_transform(preview["decoded"], state["style_image"])
    global_attention = model.attend(state["content_features"][depth])["attention"].numpy()[0]
    saliency = state["saliency"]
    centroids = pipeline.fusion.centroids(saliency, tensors["num_regions"])
    feature_size = (global_h // stride, global_w // stride)
    matte_small = pipeline.composite.soft_matte(saliency, feature_size).numpy()[0]
    refine_matte = not (mask is not None and float(np.max(mask)) >= 0)  # a user mask is used as given
    if refine_matte:
        matte_size = (padded_h, padded_w)
    else:
        matte_small = resize_window(np.asarray(mask, np.float32)[..., None], (height, width),
                                    (0, 0, height, width))
        matte_size = (height, width)
    saliency_small = saliency.numpy()[0]
    style_features = state["style_features"]
    style_whitened = pipeline.wct.whiten(style_features[depth])
    full_features = (padded_h // stride, padded_w // stride)

    # -- pass 1: full-resolution features of every core, on disk; sums ------
    channels = model.encoder.channels
    folder = tempfile.mkdtemp(prefix="tf_cbam_style_tiles_")
    path = os.path.join(folder, "features.f16")
    features = np.memmap(path, np.float16, "w+", shape=full_features + (channels,))
    sums = {}
    # Two passes over the tiles (features, then the rest of the pipeline), one bar over both.
    bar = tqdm(total=2 * len(plan.tiles), unit="tile pass", desc=f"{len(plan.tiles)} tiles x 2 passes",
               disable=not progress, leave=False)
    try:
        for window, core in zip(plan.tiles, plan.cores):
            y0, x0, y1, x1 = window
            encoded = encoder(image[None, y0:y1, x0:x1], return_intermediate=True)
            for name, value in encoded.items():
                if name != depth and name not in model.decoder.statistics_layers:
                    continue
                s = value.shape[1] / (y1 - y0)  # this layer's scale
                cy0, cx0 = round((core[0] - y0) * s), round((core[1] - x0) * s)
                cy1, cx1 = round((core[2] - y0) * s), round((core[3] - x0) * s)
                part = value.numpy()[0, cy0:cy1, cx0:cx1].astype(np.float64)
                total = sums.setdefault(name, [0.0, 0.0, 0])
                total[0] += part.sum((0, 1))
                total[1] += np.square(part).sum((0, 1))
                total[2] += part.shape[0] * part.shape[1]
                if name == depth:
                    fy0, fx0 = core[0] // stride, core[1] // stride
                    features[fy0:fy0 + part.shape[0], fx0:fx0 + part.shape[1]] = part
            bar.update(1)

        def statistics(name):
            total, squares, count = sums[name]
            mean = total / count
            std = np.sqrt(np.maximum(squares / count - mean ** 2, 0.0) + 1e-5)
            return (tf.constant(mean[None, None, None], tf.float32), tf.constant(std[None, None, None], tf.float32))

        content_statistics = statistics(depth)
        skip_statistics = {name: statistics(name) for name in model.decoder.statistics_layers}

        def attention_window(box):
            fy0, fx0, fy1, fx1 = (v // stride for v in box)
            return tf.constant(resize_window(global_attention, full_features, (fy0, fx0, fy1, fx1))[None])

        # -- pass 2: the attended features' mean and covariance --------------
        mean_sum = np.zeros(channels)
        gram_sum = np.zeros((channels, channels))
        count = 0
        for core in plan.cores:
            fy0, fx0, fy1, fx1 = (v // stride for v in core)
            block = tf.constant(np.asarray(features[fy0:fy1, fx0:fx1], np.float32)[None])
            attended = model.attend(block, statistics=content_statistics,
                                    attention=attention_window(core))["features"]
            flat = tf.reshape(attended, [-1, channels]).numpy().astype(np.float64)
            mean_sum += flat.sum(0)
            gram_sum += flat.T @ flat
            count += flat.shape[0]
        mean = mean_sum / count
        covariance = gram_sum / count - np.outer(mean, mean)
        roots = pipeline.wct.matrix_roots(tf.constant(covariance[None], tf.float32))  # once, not per tile
        whitening = (tf.constant(mean[None, None], tf.float32), *roots)

        # -- pass 3: every tile through the rest of the pipeline -------------
        output = np.zeros((padded_h, padded_w, 3), np.float32)
        weights = np.zeros((padded_h, padded_w), np.float32)
        tile_stages = stages[1:]  # everything after the encoder
        run = tf.function(lambda s: _run_stages(tile_stages, s), reduce_retracing=True, autograph=False)
        for window in plan.tiles:
            y0, x0, y1, x1 = window
            fy0, fx0, fy1, fx1 = (v // stride for v in window)
            tile_state = {
                "content_image": tf.constant(image[None, y0:y1, x0:x1]),
                "content_features": {depth: tf.constant(np.asarray(features[fy0:fy1, fx0:fx1], np.float32)[None])},
                "style_features": style_features,
                "style_whitened": style_whitened,
                "content_statistics": content_statistics,
                "content_skip_statistics": skip_statistics,
                "attention": attention_window(window),
                "saliency": tf.constant(resize_window(saliency_small, full_features, (fy0, fx0, fy1, fx1))[None]),
                "centroids": centroids,
                "content_whitening": whitening,
                "matte": tf.constant(matte_window(pipeline.composite, matte_small, matte_size, content, window,
                                                  refine=refine_matte)[None]),
                **tensors,
            }
            if color_transform is not None:
                tile_state["color_transform"] = color_transform
            tile = run(tile_state)["stylized_image"].numpy()[0]
            feather = _feather(window, (padded_h, padded_w), overlap)
            output[y0:y1, x0:x1] += tile * feather[..., None]
            weights[y0:y1, x0:x1] += feather
            bar.update(1)
    finally:
        bar.close()
        del features
        try:
            os.remove(path)
            os.rmdir(folder)
        except OSError:
            pass
    result = output[:height, :width] / weights[:height, :width, None]
    if options.preserve_color:
        result = pipeline.color_preservation(tf.constant(result[None]), tf.constant(content[None])).numpy()[0]
    attention_map = resize_window(saliency_small, (padded_h, padded_w), (0, 0, height, width))[..., 0]
    return np.clip(result, 0.0, 1.0), np.clip(attention_map, 0.0, 1.0)


def _run_stages(stages, state):
    state = dict(state)
    for _, stage in stages:
        state.update(stage(state))
    return {"stylized_image": state["stylized_image"]}


def seam_score(image, plan):
    """Gradient energy on tile boundaries relative to elsewhere (1 = no visible seam).

    The luminance gradient magnitude (`np.gradient`) is averaged over the
    pixels within 1 px of a core boundary (where neighbouring tiles meet)
    and over all other pixels; the score is their ratio. A hard seam scores
    well above 1; a photo (or a seamless result) about 1.

    Args:
        image: `(H, W, 3)` RGB in [0, 1], at least the plan's size.
        plan: the `TilePlan` the image was made with.
    """
    luma = np.asarray(image, np.float64)[: plan.height, : plan.width] @ np.array([0.299, 0.587, 0.114])
    gy, gx = np.gradient(luma)
    magnitude = np.hypot(gy, gx)
    boundary = np.zeros(luma.shape, bool)
    for y0, x0, y1, x1 in plan.cores:
        for y in (y0, y1):
            if 0 < y < luma.shape[0]:
                boundary[max(y - 1, 0):y + 1, x0:x1] = True
        for x in (x0, x1):
            if 0 < x < luma.shape[1]:
                boundary[y0:y1, max(x - 1, 0):x + 1] = True
    if not boundary.any():
        return 1.0
    return float(magnitude[boundary].mean() / max(magnitude[~boundary].mean(), 1e-12))


def default_tile_size(height, width):
    """The tile size `stylize` uses for a photo: `None` (no tiling) up to 1536 px."""
    return None if max(height, width) <= 1536 else DEFAULT_TILE_SIZE


__all__ = ["plan_tiles", "resize_window", "seam_score", "stylize_tiled", "memory_needed_mib",
           "check_memory", "default_tile_size"]
del math, opts
