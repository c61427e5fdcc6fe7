"""`tf-cbam-style saliency`, `count-params` and `paper-figure`.

`register(subparsers)` adds the three commands to the main parser (each
sets `func`); nothing heavy is imported until a command runs. Also
`python -m tf_cbam_style COMMAND ...`.

- `saliency --data DIR`: each shipped model's attention map and two
  references against the human masks of a saliency data set (MAE, max F,
  AUC), and with `--measure regions` (or `both`) the region mattes (IoU,
  guided-filter refinements, CIEDE2000 of the kept region). Writes
  Markdown and CSV to `-o` (default `reports/saliency`).
- `count-params`: encoder / attention / decoder parameters at the three
  depths next to the paper's Table 1.
- `paper-figure`: the paper's Figures 6-8, one PNG per depth (content, SA
  map, SA result, CBAM map, CBAM result).
"""

import argparse
import math
import os
import shlex
import sys

from tf_cbam_style.cli import common
from tf_cbam_style.cli.evaluation import SHARED_EVAL

DEFAULT_STYLE = SHARED_EVAL / "style" / "candy.jpg"
MEASURES = ("maps", "regions", "both")


def _positive_int(text):
    try:
        value = int(text)
    except ValueError:
        value = 0
    if value < 1:
        raise argparse.ArgumentTypeError(f"expected a positive int. Received: {text!r}")
    return value


def _refinement(text):
    from tf_cbam_style.evaluation.saliency_benchmark import parse_refinement

    try:
        return parse_refinement(text)
    except ValueError as error:
        raise argparse.ArgumentTypeError(str(error)) from None


def _add_saliency(subparsers):
    p = subparsers.add_parser(
        "saliency",
        help="score attention maps and region mattes against human masks (SOD)",
        description="Score each shipped model's attention map, a centred Gaussian prior and the VGG19 "
        "relu4_1 channel mean against the human masks of a saliency data set (MAE, max F-measure with "
        "beta^2 = 0.3, AUC), and optionally the region mattes (IoU, guided-filter refinement, CIEDE2000 "
        "of the region kept as the photo). Definitions: docs/results.md.",
    )
    p.add_argument("--data", required=True, metavar="DIR",
                   help="data set folder with images/<id>.jpg and masks/<id>.png (e.g. ../shared/data/saliency/SOD)")
    p.add_argument("--models", nargs="+", default=None, metavar="MODEL",
                   help="shipped model names (cbam_relu4_1, ...) or .keras files / model folders "
                        "(default: every shipped model)")
    p.add_argument("--max-images", type=_positive_int, default=None, metavar="N",
                   help="use the first N photos sorted by name (default: all)")
    p.add_argument("--size", type=int, default=320, help="longer side of the photos in pixels (default: 320)")
    p.add_argument("--measure", choices=MEASURES, default="maps",
                   help="maps: attention vs masks; regions: region mattes and composites; both (default: maps)")
    p.add_argument("--style", default=str(DEFAULT_STYLE),
                   help="style of the region composites (default: ../shared/data/eval/style/candy.jpg)")
    p.add_argument("--refine", nargs="+", type=_refinement, default=None, metavar="SPEC",
                   help="matte refinements to try: hard (binarise at 0.5) or guided-filter settings, e.g. 4:0.001:hard "
                        "(default: a grid of 11, see docs/results.md)")
    p.add_argument("--no-oracle", action="store_true",
                   help="regions: skip the mattes made from the human mask at the attention's resolution")
    p.add_argument("-o", "--out", default="reports/saliency", help="report folder (default: reports/saliency)")
    p.add_argument("--overwrite", action="store_true", help="replace existing report files")
    p.add_argument("--quiet", action="store_true", help="no progress bars")
    p.set_defaults(func=run)
    return p


def _add_count_params(subparsers):
    p = subparsers.add_parser(
        "count-params",
        help="parameters of encoder, attention and decoder at each depth, next to the paper's Table 1",
    )
    p.add_argument("-o", "--output", default=None, metavar="FILE", help="also write the Markdown table here")
    p.add_argument("--overwrite", action="store_true", help="replace an existing --output")
    p.set_defaults(func=run_count_params)
    return p


def _add_paper_figure(subparsers):
    from tf_cbam_style import options as opts

    p = subparsers.add_parser(
        "paper-figure",
        help="the paper's Figures 6-8: per depth, contents x (content, SA map, SA result, CBAM map, CBAM result)",
    )
    p.add_argument("--depths", nargs="+", choices=opts.DEPTHS, default=None,
                   help="depths to render (default: every depth with both models shipped)")
    p.add_argument("--contents", nargs="+", default=[str(SHARED_EVAL / "content")], metavar="CONTENT",
                   help="content files, folders or quoted globs (default: ../shared/data/eval/content)")
    p.add_argument("--max-contents", type=_positive_int, default=5, metavar="N",
                   help="use the first N contents (default: 5)")
    p.add_argument("--style", default=str(DEFAULT_STYLE), help="style image (default: candy.jpg)")
    p.add_argument("--size", type=int, default=256, help="cell side; contents are downscaled to it (default: 256)")
    p.add_argument("-o", "--out", default="docs", metavar="DIR",
                   help="folder of the figure_<depth>.png files (default: docs)")
    p.add_argument("--overwrite", action="store_true", help="replace existing figures")
    p.add_argument("--quiet", action="store_true", help="no progress bars")
    p.set_defaults(func=run_paper_figure)
    return p


def register(subparsers):
    """Adds `saliency`, `count-params` and `paper-figure` to the main parser's subparsers."""
    _add_saliency(subparsers)
    _add_count_params(subparsers)
    _add_paper_figure(subparsers)


# ---------------------------------------------------------------------------
# Runners
# ---------------------------------------------------------------------------


def _check_size(size):
    if size < 32:
        raise ValueError(f"`--size` must be at least 32. Received: size={size}")


def _command_line(name):
    if len(sys.argv) > 1 and name in sys.argv[1:3]:
        start = sys.argv.index(name, 1) + 1
        return f"tf-cbam-style {name} " + " ".join(shlex.quote(a) for a in sys.argv[start:])
    return None


def run(args):
    """Runs `saliency`: scores the maps and/or region mattes and writes the report folder."""
    _check_size(args.size)
    from tf_cbam_style.evaluation import saliency_benchmark as sb

    items = sb.saliency_items(args.data, args.max_images)
    models = sb.resolve_models(args.models)
    measure_maps = args.measure in ("maps", "both")
    measure_regions = args.measure in ("regions", "both")
    names = []
    if measure_maps:
        names += ["saliency.md", "saliency.csv", "saliency_images.csv"]
    if measure_regions:
        names += ["regions.md", "regions.csv", "regions_images.csv"]
    paths = dict(zip(names, common.plan_outputs(args.out, names, args.overwrite)))
    style = None
    if measure_regions:
        from tf_cbam_style.io import load_image

        sb.require_scikit_image()
        style = load_image(args.style)
    os.makedirs(args.out, exist_ok=True)
    command = _command_line("saliency")
    header = (f"Data: {args.data} ({len(items)} photos, sorted by name, longer side {args.size} px). "
              + (f"Command: `{command}`." if command else ""))
    if measure_maps:
        scores, rows = sb.score_maps(items, models, size=args.size, progress=not args.quiet)
        table = sb.maps_table(scores)
        sb.write_text(paths["saliency.md"], "# Attention maps against human masks\n\n" + header + "\n\n"
                      + table + "\n\nMAE, max F (beta^2 = 0.3, mean F-curve over the images, max over 255 "
                      "thresholds), AUC (mean per image) and the mean per-image max F as defined in docs/results.md.\n")
        sb.write_rows_csv(paths["saliency.csv"],
                          [(label, s.count, s.mae, s.max_f, s.auc, s.mean_max_f) for label, s in scores.items()],
                          ("map", "images", "mae", "max_f", "auc", "mean_max_f"))
        sb.write_rows_csv(paths["saliency_images.csv"], rows, sb.MapRow._fields)
        print(table)
    if measure_regions:
        refinements = tuple(args.refine) if args.refine else sb.DEFAULT_REFINEMENTS
        rows = sb.region_scores(items, models, style, size=args.size, refinements=refinements,
                                oracle=not args.no_oracle, progress=not args.quiet)
        summary = sb.summarize_regions(rows)
        table = sb.regions_table(summary)
        errors = [e["composite_error"] for e in summary.values() if math.isfinite(e["composite_error"])]
        check = (f"Largest difference between the pipeline's own region=foreground/background outputs and "
                 f"the composites formed here (first photo of each model): {max(errors):.2g}." if errors else "")
        sb.write_text(paths["regions.md"], "# Region mattes against human masks\n\n" + header
                      + f" Style: {os.path.basename(args.style)}.\n\n" + table + "\n\n" + check
                      + "\nColumns as defined in docs/results.md.\n")
        fields = ("model", "source", "matte", "images") + sb.REGION_COLUMNS + ("composite_error",)
        sb.write_rows_csv(paths["regions.csv"],
                          [key + (e["images"],) + tuple(e[c] for c in fields[4:]) for key, e in summary.items()],
                          fields)
        sb.write_rows_csv(paths["regions_images.csv"], rows, sb.RegionRow._fields)
        print(table)
    if not args.quiet:
        print(f"Wrote {', '.join(os.path.join(args.out, n) for n in names)}")
    return 0


def run_count_params(args):
    """Runs `count-params`: prints (and optionally writes) the Markdown table."""
    if args.output is not None:
        if os.path.isdir(args.output):
            raise ValueError(f"`--output` is a folder, not a file name. Received: output={args.output!r}")
        if os.path.lexists(args.output) and not args.overwrite:
            raise ValueError(f"`--output` already exists; pass --overwrite to replace it. "
                             f"Received: output={args.output!r}")
        folder = os.path.dirname(os.path.abspath(args.output))
        if not os.path.isdir(folder):
            raise ValueError(f"The folder of `--output` does not exist: {folder!r}. Received: output={args.output!r}")
    from tf_cbam_style.evaluation.paper import parameter_counts, parameter_table
    from tf_cbam_style.evaluation.saliency_benchmark import write_text

    table = parameter_table(parameter_counts())
    print(table)
    if args.output is not None:
        write_text(args.output, table + "\n")
    return 0


def run_paper_figure(args):
    """Runs `paper-figure`: one `figure_<depth>.png` per depth."""
    _check_size(args.size)
    from tf_cbam_style import api
    from tf_cbam_style.cli.evaluation import _expand
    from tf_cbam_style.evaluation.paper import figure_depths, paper_figure

    depths = args.depths or figure_depths()
    if not depths:
        raise FileNotFoundError("`--depths`: no depth has both a cbam and a self_attention model shipped "
                                "under saved_models/. Received: depths=None")
    for depth in depths:
        for attention in ("self_attention", "cbam"):
            path = api.default_model_path(attention, depth)
            if not path.is_file():
                raise FileNotFoundError(f"`--depths` {depth} needs the shipped model {path}. "
                                        f"Received: depths={list(depths)}")
    if not os.path.isdir(args.out):
        raise ValueError(f"`--out` must be an existing folder. Received: out={args.out!r}")
    paths = common.plan_outputs(args.out, [f"figure_{d}.png" for d in depths], args.overwrite)
    contents = _expand(args.contents, "contents", args.max_contents)

    from tf_cbam_style.io import load_image, save_image

    content_images = [load_image(p) for p in contents]
    style = load_image(args.style)
    for depth, path in zip(depths, paths):
        title = f"encoder depth {depth}, style {os.path.basename(args.style)}"
        figure = paper_figure(content_images, style, depth, size=args.size, title=title,
                              progress=not args.quiet)
        save_image(path, figure, overwrite=args.overwrite)
        if not args.quiet:
            print(f"Wrote {path} ({len(contents)} contents, {figure.shape[1]}x{figure.shape[0]})")
    return 0
