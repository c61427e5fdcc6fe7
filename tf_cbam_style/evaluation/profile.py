"""Where the time goes in the `cbam` pipeline, stage by stage."""

import collections
import time

import numpy as np

STAGES = ("encoder", "attention", "whitening", "swap", "fusion", "coloring", "blend", "decoder", "output")

StageTimes = collections.namedtuple("StageTimes", ["size", "stages", "sum_s", "end_to_end_s"])
StageTimes.__doc__ = """Result of `profile_pipeline`.

Attributes:
    size: content side in pixels.
    stages: dict stage -> median seconds (`STAGES` order, the stages of
        `StylizePipeline` for the multi-stroke transfer). `encoder` covers
        content and style; `swap` every stroke scale.
    sum_s: the sum of the stages.
    end_to_end_s: median seconds of the whole `api.stylize` call.
"""


def _median_time(function, repeats):
    import tensorflow as tf

    tf.nest.map_structure(np.asarray, function())  # tracing
    times = []
    for _ in range(repeats):
        start = time.perf_counter()
        tf.nest.map_structure(np.asarray, function())
        times.append(time.perf_counter() - start)
    return float(np.median(times))


def profile_pipeline(model, content, style, *, repeats=3, options=None):
    """Times each stage of `StylizePipeline` as its own `tf.function`.

    The stages are the pipeline's own (`StylizePipeline.stages`), run one
    after the other on the previous stages' results with the same run-time
    options as `api.stylize`, so the profile cannot drift from the
    pipeline. Stage times are medians of `repeats` runs after a tracing
    run; their sum exceeds the end-to-end time a little (each stage pays its
    own dispatch).

    Args:
        model: an `AttentionAutoencoder` with CBAM or self-attention.
        content: `(H, W, 3)` float RGB in [0, 1].
        style: `(Hs, Ws, 3)` float RGB in [0, 1].
        repeats: timed runs per stage.
        options: a `StylizeOptions` of the model's method (default knobs
            when `None`).

    Returns:
        A `StageTimes`.
    """
    import tensorflow as tf

    from tf_cbam_style import api
    from tf_cbam_style.models.pipeline import StylizePipeline, option_tensors
    from tf_cbam_style.options import StylizeOptions

    options = options or StylizeOptions(method=model.attention_kind)
    pipeline = StylizePipeline(model)
    state = {"content_image": tf.constant(np.asarray(content, np.float32)[None]),
             "style_image": tf.constant(np.asarray(style, np.float32)[None])}
    state.update(option_tensors(options))
    stages = {}
    for name, stage in pipeline.stages(pipeline.check_method(options.method)):
        function = tf.function(stage)
        stages[name] = _median_time(lambda: function(state), repeats)
        state.update(function(state))
    end_to_end = _median_time(
        lambda: api.stylize(content, style, method=options.method, alpha=options.alpha,
                            stroke_scales=options.stroke_scales, num_regions=options.num_regions,
                            preserve_color=options.preserve_color, region=options.region,
                            color_transfer=options.color_transfer, model=model, return_attention=False,
                            style_max_size=None).image,
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
