"""The methods compared by `evaluate` and `benchmark`, as uniform callables."""

import collections
import pathlib

from tf_cbam_style import options as opts

# Order of the tables: ours first, then the baselines, then the peer.
PIPELINE_METHODS = ("cbam", "self_attention", "adain", "wct", "style_swap")
# The shipped models at the other depths run as `<attention>_<depth>`.
EXTRA_DEPTHS = tuple(depth for depth in opts.DEPTHS if depth != opts.DEFAULT_DEPTH)
ALL_METHODS = tuple(
    name for attention in opts.ATTENTIONS for name in (attention, *(f"{attention}_{d}" for d in EXTRA_DEPTHS))
) + ("adain", "wct", "style_swap", "gatys", "magenta")

Method = collections.namedtuple("Method", ["name", "stylize", "description"])
Method.__doc__ = """One method: `stylize(content, style) -> (H, W, 3)` float32 in [0, 1].

Attributes:
    name: the method's name in the tables.
    stylize: the callable.
    description: one line for the report.
"""


def model_paths(cbam_model=None, self_attention_model=None):
    """Model file per pipeline variant: `{"cbam": path, "self_attention": path, ...}`.

    The other depths (`cbam_relu3_1`, `self_attention_relu5_1`, ...) are
    included only when their shipped model, e.g.
    `saved_models/cbam_relu3_1/model.keras`, exists.
    """
    from tf_cbam_style import api

    paths = {
        "cbam": pathlib.Path(cbam_model) if cbam_model else api.default_model_path("cbam"),
        "self_attention": (
            pathlib.Path(self_attention_model) if self_attention_model
            else api.default_model_path("self_attention")
        ),
    }
    for attention in opts.ATTENTIONS:
        for depth in EXTRA_DEPTHS:
            path = api.default_model_path(attention, depth)
            if path.is_file():
                paths[f"{attention}_{depth}"] = path
    return paths


def available_methods(cbam_model=None, self_attention_model=None, magenta_dir=None):
    """The names of the methods that can run here, in table order."""
    from tf_cbam_style.evaluation.magenta import magenta_available

    paths = model_paths(cbam_model, self_attention_model)
    names = []
    for name in ALL_METHODS:
        if name in ("cbam", "adain", "wct", "style_swap", "gatys") or name in paths or (
            name == "magenta" and magenta_available(magenta_dir)
        ):
            names.append(name)
    return tuple(names)


def make_method(name, *, cbam_model=None, self_attention_model=None, magenta_dir=None,
                gatys_iterations=200, progress=False):
    """Builds the `Method` called `name` (models load on first use).

    Args:
        name: one of `ALL_METHODS`.
        cbam_model: `.keras` file of the CBAM model (default: the shipped one);
            `adain`, `wct` and `style_swap` use its decoder too.
        self_attention_model: `.keras` file of the AAMS model.
        magenta_dir: folder of the Magenta ONNX files.
        gatys_iterations: Adam steps of the `gatys` baseline.
        progress: show a progress bar in `gatys`.

    Returns:
        A `Method`.
    """
    if name not in ALL_METHODS:
        raise ValueError(f"`name` must be one of {ALL_METHODS}. Received: name={name!r}")
    if name == "gatys":
        from tf_cbam_style.evaluation.gatys import gatys_stylize

        def run(content, style):
            return gatys_stylize(content, style, iterations=gatys_iterations, progress=progress)

        return Method(name, run, f"Gatys et al. optimisation, Adam, {gatys_iterations} steps")
    if name == "magenta":
        from tf_cbam_style.evaluation.magenta import MagentaStylizer

        stylizer = MagentaStylizer(magenta_dir)
        return Method(name, stylizer, "Magenta arbitrary stylization (ONNX, 384 px)")
    paths = model_paths(cbam_model, self_attention_model)
    if name not in paths and name not in PIPELINE_METHODS:
        raise FileNotFoundError(
            f"`name` needs a model file that is not there. Received: name={name!r}"
        )
    from tf_cbam_style import api

    if name.startswith("self_attention"):
        path, method = paths[name], "self_attention"
    elif name.startswith("cbam_"):
        path, method = paths[name], "cbam"
    else:
        path, method = paths["cbam"], name
    model = api.load_model(path)

    def run(content, style):
        return api.stylize(content, style, method=method, model=model, return_attention=False).image

    descriptions = {
        "cbam": "ours: CBAM attention, multi-stroke style swap (relu4_1)",
        "self_attention": "AAMS self-attention, multi-stroke style swap (relu4_1)",
        "adain": "AdaIN on relu4_1, same decoder",
        "wct": "WCT on relu4_1, same decoder",
        "style_swap": "single-scale style swap (Chen & Schmidt), same decoder",
    }
    if name not in descriptions:
        attention, depth = name.rsplit("_relu", 1)
        depth = "relu" + depth
        descriptions[name] = (f"ours: CBAM at {depth}" if attention == "cbam"
                              else f"AAMS self-attention at {depth}")
    return Method(name, run, descriptions[name])


def attention_map(content, cbam_model=None):
    """The CBAM model's `(H, W)` attention map of `content` (style-independent)."""
    from tf_cbam_style import api

    model = api.load_model(model_paths(cbam_model)["cbam"])
    return api.stylize(content, content, method="adain", model=model).attention_map
