"""Whitening and colouring at the encoder depth (single level).

Reference: [Li et al., 2017](https://arxiv.org/abs/1705.08086).
"""


def transfer(pipeline, state):
    depth = pipeline.depth
    content = pipeline.wct.whiten(state["content_features"][depth])
    style = pipeline.wct.whiten(state["style_features"][depth])
    return {"transferred": pipeline.wct.color(content.whitened, style)}


STAGES = (("wct", transfer),)
