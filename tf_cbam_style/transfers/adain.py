"""AdaIN at the encoder depth: the content's per-channel statistics replaced by the style's.

Reference: [Huang & Belongie, 2017](https://arxiv.org/abs/1703.06868).
"""


def transfer(pipeline, state):
    depth = pipeline.depth
    return {"transferred": pipeline.adain.transfer(state["content_features"][depth],
                                                   state["style_features"][depth])}


STAGES = (("adain", transfer),)
