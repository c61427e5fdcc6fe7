"""Where the time goes in the `cbam` pipeline, stage by stage."""

import collections
import time

import numpy as np

STAGES = ("encoder", "whitening", "attention", "swap_matching", "swap_overlap_add", "fusion",
          "coloring", "decoder")

StageTimes = collections.namedtuple("StageTimes", ["size", "stages", "sum_s", "end_to_end_s"])
StageTimes.__doc__ = """Result of `profile_pipeline`.

Attributes:
    size: content side in pixels.
    stages: dict stage -> median seconds (`STAGES` order). `encoder` covers
        content and style; `swap_*` sum over the stroke scales.
    sum_s: the sum of the stages.
    end_to_end_s: median seconds of the whole `api.stylize` call.
"""


def _median_time(function, repeats):
    function()  # tracing
    times = []
    for _ in range(repeats):
        start = time.perf_counter()
        result = function()
        for tensor in (result if isinstance(result, (list, tuple)) else [result]):
            np.asarray(tensor)
        times.append(time.perf_counter() - start)
    return float(np.median(times))


def profile_pipeline(model, content, style, *, repeats=3, stroke_scales=(1.0, 0.7071, 0.5)):
    """Times each stage of the multi-stroke pipeline as its own `tf.function`.

    The stages are run on the intermediate results of the previous ones,
    with the same layers and settings as `build_stylizer` (K=4 regions,
    5x5 patches). Stage times are medians of `repeats` runs after a tracing
    run; their sum exceeds the end-to-end time a little (each stage pays its
    own dispatch).

    Args:
        model: an `AttentionAutoencoder`.
        content: `(H, W, 3)` float RGB in [0, 1] (a multiple of 8 px).
        style: `(Hs, Ws, 3)` float RGB in [0, 1].
        repeats: timed runs per stage.
        stroke_scales: the style swap's scales.

    Returns:
        A `StageTimes`.
    """
    import tensorflow as tf

    from tf_cbam_style import api
    from tf_cbam_style.layers.multi_stroke_fusion import MultiStrokeFusion
    from tf_cbam_style.layers.style_swap import _match, _overlap_add
    from tf_cbam_style.layers.whitening_coloring import WhiteningColoring

    content_t = tf.constant(np.asarray(content, np.float32)[None])
    style_t = tf.constant(np.asarray(style, np.float32)[None])
    wct = WhiteningColoring()
    fusion = MultiStrokeFusion(num_regions=4, theta=50.0)
    stages = {}

    encode = tf.function(lambda x: model.encoder(x))
    stages["encoder"] = _median_time(lambda: [encode(content_t), encode(style_t)], repeats)
    fc, fs = encode(content_t), encode(style_t)
    whiten = tf.function(lambda a, b: (wct.whiten(a), wct.whiten(b)))
    stages["whitening"] = _median_time(lambda: [t.whitened for t in whiten(fc, fs)], repeats)
    wc, ws = whiten(fc, fs)
    attend = tf.function(lambda x: model.attention(x))
    stages["attention"] = _median_time(lambda: attend(wc.whitened)["features"], repeats)
    attended = attend(wc.whitened)

    def resized(scale):
        size = tf.cast(tf.shape(ws.whitened)[1:3], tf.float32) * scale
        size = tf.maximum(tf.cast(tf.round(size), tf.int32), 5)
        return tf.image.resize(ws.whitened, size, method="bilinear")[0]

    match = tf.function(lambda a, s: _match(a, s, 5))
    gather = tf.function(lambda b, s: _overlap_add(b, s, 5))
    a0 = attended["features"][0]
    styles = [resized(s) for s in stroke_scales]
    stages["swap_matching"] = sum(_median_time(lambda s=s: match(a0, s), repeats) for s in styles)
    bests = [match(a0, s) for s in styles]
    stages["swap_overlap_add"] = sum(
        _median_time(lambda b=b, s=s: gather(b, s), repeats) for b, s in zip(bests, styles)
    )
    swapped = tf.stack([attended["features"]] + [gather(b, s)[None] for b, s in zip(bests, styles)])
    fuse = tf.function(lambda f, m: fusion(f, m)["features"])
    stages["fusion"] = _median_time(lambda: fuse(swapped, attended["attention_map"]), repeats)
    fused = fuse(swapped, attended["attention_map"])
    color = tf.function(lambda f: wct.color(f, ws))
    stages["coloring"] = _median_time(lambda: color(fused), repeats)
    decode = tf.function(lambda f: model.decoder(f))
    colored = color(fused)
    stages["decoder"] = _median_time(lambda: decode(colored), repeats)
    end_to_end = _median_time(
        lambda: api.stylize(content, style, method="cbam", model=model, return_attention=False).image,
        repeats,
    )
    return StageTimes(int(np.shape(content)[0]), stages, float(sum(stages.values())), end_to_end)


def stage_table(profiles):
    """Markdown table: stages as rows, one column per profiled size (seconds and %)."""
    headers = ["stage"] + [f"{p.size} px s (%)" for p in profiles]
    lines = ["| " + " | ".join(headers) + " |", "|" + "---|" * len(headers)]
    for stage in STAGES:
        cells = [stage] + [f"{p.stages[stage]:.3f} ({100 * p.stages[stage] / p.sum_s:.0f}%)" for p in profiles]
        lines.append("| " + " | ".join(cells) + " |")
    lines.append("| sum of stages | " + " | ".join(f"{p.sum_s:.3f}" for p in profiles) + " |")
    lines.append("| end-to-end `stylize` | " + " | ".join(f"{p.end_to_end_s:.3f}" for p in profiles) + " |")
    return "\n".join(lines)
