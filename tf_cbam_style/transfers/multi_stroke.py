"""Multi-stroke style swap fused by saliency (AAMS, and the seed paper with CBAM).

1. whiten the attended content features and the style features;
2. style-swap the whitened content against the whitened style resized by
   every stroke scale (5x5 patches);
3. fuse `[content, swap(finest), ..., swap(coarsest)]` per pixel by the
   saliency: the most salient level keeps the (whitened) content, the
   least salient gets the coarsest strokes;
4. colour the fused features with the style's mean and covariance.

Reference: [Yao et al., 2019](https://arxiv.org/abs/1901.05127), section 3.
"""

import tensorflow as tf


def whiten(pipeline, state):
    # A tile brings the whole photo's whitening statistics and the style's
    # whitened features, computed once (`tiling`).
    new = {"content_whitened": pipeline.wct.whiten(state["attended"], state.get("content_whitening"))}
    if "style_whitened" not in state:
        new["style_whitened"] = pipeline.wct.whiten(state["style_features"][pipeline.depth])
    return new


def swap(pipeline, state):
    content = state["content_whitened"].whitened
    style = state["style_whitened"].whitened
    scales = state["stroke_scales"]  # fusion wants the maps from fine to coarse
    if isinstance(scales, tuple):
        swapped = tf.stack([pipeline.swap.swap_batch(content, style, s) for s in sorted(scales, reverse=True)])
    else:
        scales = -tf.sort(-tf.reshape(tf.cast(scales, tf.float32), [-1]))
        swapped = tf.map_fn(
            lambda scale: pipeline.swap.swap_batch(content, style, scale), scales,
            fn_output_signature=tf.TensorSpec([None, None, None, content.shape[-1]], content.dtype),
        )
    return {"swapped": swapped}


def fuse(pipeline, state):
    maps = tf.concat([state["content_whitened"].whitened[None], state["swapped"]], axis=0)
    fused = pipeline.fusion.fuse(maps, state["saliency"], num_regions=state["num_regions"],
                                 centroids=state.get("centroids"))
    return {"fused": fused["features"]}


def color(pipeline, state):
    return {"transferred": pipeline.wct.color(state["fused"], state["style_whitened"])}


STAGES = (("whitening", whiten), ("swap", swap), ("fusion", fuse), ("coloring", color))
