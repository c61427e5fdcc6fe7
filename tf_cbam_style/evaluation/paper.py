"""The seed paper's Table 1 (parameter counts) and Figures 6-8 (maps and results per depth).

Parameter counts (`parameter_counts`, `parameter_table`): the encoder,
attention and decoder of `AttentionAutoencoder(depth, attention,
encoder_weights=None)` at relu3_1, relu4_1 and relu5_1, next to the
paper's Table 1. The paper's figures are matched exactly, for AAMS, by

    VGG19 with its fully connected layers (143,667,240, frozen)
    + 3 x (decoder + attention)   # the trainable weights and Adam's two moments
    + 2                           # Adam's beta1^t and beta2^t accumulators

(the sum over every variable of a TF1 graph trained with
`tf.train.AdamOptimizer`), with our decoder and SAGAN's self-attention
(queries and keys of `C / 8` channels; ours follows the AAMS code, `C / 2`).
For CBAM, a channel MLP of reduction 4 (ours: 16) with a 7x7 spatial
convolution without bias leaves `C` parameters per module unexplained
(`3 C` in the total: 768 at relu3_1, 1,536 at relu4_1 and relu5_1); see
`docs/results.md`.
"""

import collections

import numpy as np

from tf_cbam_style import options as opts

# The seed paper's Table 1, as printed (AAMS self-attention / ours CBAM).
PAPER_TABLE_1 = {
    ("relu3_1", "self_attention"): 145_579_187,
    ("relu3_1", "cbam"): 145_432_793,
    ("relu4_1", "self_attention"): 155_167_859,
    ("relu4_1", "cbam"): 154_579_865,
    ("relu5_1", "self_attention"): 183_485_555,
    ("relu5_1", "cbam"): 182_897_561,
}
# What the paper's modules appear to be (see module doc).
PAPER_SELF_ATTENTION_KEY_REDUCTION = 8
PAPER_CBAM_REDUCTION = 4
ADAM_SLOTS = 2  # first and second moment per trainable weight
ADAM_SCALARS = 2  # beta1_power, beta2_power

ParameterCount = collections.namedtuple("ParameterCount", [
    "depth", "attention", "encoder", "attention_params", "decoder", "total", "paper",
    "ours_paper_convention", "paper_rebuilt", "residual",
])
ParameterCount.__doc__ = """Parameter counts of one model, ours and the paper's.

Attributes:
    depth, attention: the model.
    encoder, attention_params, decoder: parameters of our three parts.
    total: their sum (what our `.keras` model holds).
    paper: the paper's Table 1 figure.
    ours_paper_convention: ours counted as the paper counts (module doc).
    paper_rebuilt: the paper's convention with the paper's attention module.
    residual: `paper - paper_rebuilt`.
"""


def _count(layer):
    return int(sum(int(np.prod(w.shape)) for w in layer.weights))


def full_vgg19_parameters():
    """Parameters of `keras.applications.VGG19` with its fully connected layers (random weights)."""
    import keras

    model = keras.applications.VGG19(weights=None, include_top=True)
    count = model.count_params()
    del model
    return int(count)


def _paper_attention(kind, channels):
    from tf_cbam_style.layers import CBAM, SelfAttention

    if kind == "self_attention":
        layer = SelfAttention(key_reduction=PAPER_SELF_ATTENTION_KEY_REDUCTION)
    else:
        layer = CBAM(reduction=PAPER_CBAM_REDUCTION)
    layer.build((None, None, None, channels))
    count = _count(layer)
    if kind == "cbam":
        count -= 1  # the spatial convolution without bias
    return count


def parameter_counts(depths=opts.DEPTHS, attentions=opts.ATTENTIONS):
    """`ParameterCount` per depth and attention, without training or VGG weights.

    Returns:
        A list of `ParameterCount`, depths outer, attentions inner.
    """
    from tf_cbam_style.models.attention_autoencoder import AttentionAutoencoder

    vgg = full_vgg19_parameters()
    rows = []
    for depth in depths:
        for attention in attentions:
            model = AttentionAutoencoder(depth=depth, attention=attention, encoder_weights=None)
            model.build()
            encoder, att, decoder = _count(model.encoder), _count(model.attention), _count(model.decoder)
            channels = model.encoder.channels
            paper = PAPER_TABLE_1.get((depth, attention))
            convention = vgg + (1 + ADAM_SLOTS) * (decoder + att) + ADAM_SCALARS
            rebuilt = vgg + (1 + ADAM_SLOTS) * (decoder + _paper_attention(attention, channels)) + ADAM_SCALARS
            rows.append(ParameterCount(depth, attention, encoder, att, decoder, encoder + att + decoder,
                                       paper, convention, rebuilt,
                                       None if paper is None else paper - rebuilt))
    return rows


def parameter_table(rows):
    """Markdown table of `parameter_counts`."""
    names = {"cbam": "CBAM (ours)", "self_attention": "self-attention (AAMS)"}
    lines = [
        "| depth | model | encoder | attention | decoder | total (ours) | paper Table 1 "
        "| ours, paper's convention | paper rebuilt | paper − rebuilt |",
        "|---|---|---|---|---|---|---|---|---|---|",
    ]
    for r in rows:
        paper = "—" if r.paper is None else f"{r.paper:,}"
        residual = "—" if r.residual is None else f"{r.residual:,}"
        lines.append(
            f"| {r.depth} | {names.get(r.attention, r.attention)} | {r.encoder:,} | {r.attention_params:,} | "
            f"{r.decoder:,} | {r.total:,} | {paper} | {r.ours_paper_convention:,} | {r.paper_rebuilt:,} "
            f"| {residual} |"
        )
    return "\n".join(lines)


# ---------------------------------------------------------------------------
# Figures 6-8
# ---------------------------------------------------------------------------

FIGURE_COLUMNS = ("content", "SA map", "SA result", "CBAM map", "CBAM result")


def figure_depths():
    """The depths at which both a CBAM and a self-attention model are shipped."""
    from tf_cbam_style import api

    return tuple(d for d in opts.DEPTHS
                 if all(api.default_model_path(a, d).is_file() for a in opts.ATTENTIONS))


def _label_strip(width, cell_size, gutter, labels, title, height=28):
    """A white strip with `title` at the left and a label centred over each column."""
    from PIL import Image, ImageDraw, ImageFont

    strip = Image.new("RGB", (width, 2 * height), "white")
    draw = ImageDraw.Draw(strip)
    try:
        font = ImageFont.load_default(size=16)
    except TypeError:  # Pillow without FreeType sizes
        font = ImageFont.load_default()
    draw.text((gutter, 4), title, fill="black", font=font)
    for c, label in enumerate(labels):
        centre = gutter + c * (cell_size + gutter) + cell_size // 2
        draw.text((centre, height + height // 2), label, fill="black", font=font, anchor="mm")
    return np.asarray(strip, np.float32) / 255.0


def paper_figure(contents, style, depth, size=256, gutter=4, title=None, progress=False):
    """One figure: rows are contents, columns `FIGURE_COLUMNS`.

    Args:
        contents: list of `(H, W, 3)` RGB images in [0, 1].
        style: `(Hs, Ws, 3)` RGB image in [0, 1].
        depth: encoder depth of the two shipped models to use.
        size: cell side in pixels; contents are downscaled to it first.
        gutter: pixels between cells.
        title: text above the grid (default: the depth).
        progress: show a tqdm bar.

    Returns:
        float32 `(rows, cols, 3)` image in [0, 1]. The maps are the
        attention maps of `stylize()`, min-max normalised per image and
        colour-mapped (inferno: dark = low, yellow = high).

    Raises:
        FileNotFoundError: a model at `depth` is not shipped.
    """
    from tqdm import tqdm

    from tf_cbam_style import api
    from tf_cbam_style.evaluation.saliency import min_max_normalize
    from tf_cbam_style.io import fit_max_size
    from tf_cbam_style.sheet import colorize, contact_sheet

    if not contents:
        raise ValueError("`contents` must hold at least one image. Received: contents=[]")
    models = {a: api.load_model(attention=a, depth=depth) for a in ("self_attention", "cbam")}
    grid = []
    for content in tqdm(contents, unit="content", disable=not progress):
        content = fit_max_size(content, size, min_size=32).image
        row = [content]
        for attention in ("self_attention", "cbam"):
            result = api.stylize(content, style, method=attention, model=models[attention])
            row += [colorize(min_max_normalize(result.attention_map)), result.image]
        grid.append(row)
    sheet = contact_sheet(grid, size, gutter=gutter)
    title = title if title is not None else f"encoder depth {depth}"
    strip = _label_strip(sheet.shape[1], size, gutter, FIGURE_COLUMNS, title)
    return np.concatenate([strip, sheet], axis=0)
