"""Single-scale style swap on the raw encoder features, 5x5 patches.

Reference: [Chen & Schmidt, 2016](https://arxiv.org/abs/1612.04337).
"""


def transfer(pipeline, state):
    depth = pipeline.depth
    swapped = pipeline.swap.swap_batch(state["content_features"][depth], state["style_features"][depth], 1.0)
    return {"transferred": swapped}


STAGES = (("style_swap", transfer),)
