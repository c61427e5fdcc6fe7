"""Feature transfers, one module per kind (see `options.METHODS`).

Each module defines `STAGES`: a tuple of `(name, function)` run in order by
`models.pipeline.StylizePipeline`. A stage function takes the pipeline and
the state dict and returns the new state entries; the last one sets
`"transferred"`, the content features fully stylized (alpha = 1) at the
encoder depth, which the pipeline then blends by alpha and decodes.

State entries a transfer may read: `"content_features"` and
`"style_features"` (dicts of encoder features, `relu1_1` .. the depth),
`"attended"` (the content features through the trained attention, what the
decoder reconstructs), `"saliency"` (`(batch, h, w, 1)` in [0, 1]) and the
run-time options `"stroke_scales"` and `"num_regions"`.
"""

import importlib


def transfer_stages(name):
    """The `STAGES` of the transfer called `name` (a module of this package)."""
    return importlib.import_module(f"tf_cbam_style.transfers.{name}").STAGES
