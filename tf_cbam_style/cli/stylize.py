"""`tf-cbam-style stylize` and `tf-cbam-style sheet`.

Every argument, input and output is checked, and every input decoded once,
before TensorFlow and the model load; a bad one stops the command with one
`error:` line and nothing written.
"""

import collections
import os
import sys
import time

from tf_cbam_style import options as opts
from tf_cbam_style.cli import common


def register(subparsers):
    """Adds `stylize` and `sheet` to the main parser's subparsers."""
    _add_stylize(subparsers).set_defaults(func=run_stylize)
    _add_sheet(subparsers).set_defaults(func=run_sheet)


def add_model_options(p):
    """`--method`, `--model`, `--depth`, `--overwrite`, `--quiet`."""
    p.add_argument("--method", default="cbam", metavar="METHOD",
                   help=f"one of {', '.join(opts.METHOD_NAMES)} (default: cbam)")
    p.add_argument("--model", metavar="PATH",
                   help="a .keras model from `tf-cbam-style train` (default: the shipped model)")
    p.add_argument("--depth", choices=opts.DEPTHS, default=None,
                   help="encoder depth of the shipped model to use instead of --model "
                   f"(default: {opts.DEFAULT_DEPTH})")
    p.add_argument("--overwrite", action="store_true", help="replace existing output files")
    p.add_argument("--quiet", action="store_true", help="print nothing but errors")


# ---------------------------------------------------------------------------
# stylize
# ---------------------------------------------------------------------------


def _add_stylize(subparsers):
    p = subparsers.add_parser(
        "stylize",
        help="stylize a content image (or folder/glob) with a style image (or folder/glob)",
        description="Stylize CONTENT with STYLE. Each may be a file, a folder or a quoted glob "
        "such as 'photos/*.jpg'; with several images, OUT must be an existing folder and "
        "outputs are named CONTENT__STYLE.png. Every input is read before the model runs: "
        "bad ones are listed together and nothing is written, unless --skip-bad.",
    )
    p.add_argument("content", metavar="CONTENT", help="content image, folder or quoted glob")
    p.add_argument("style", metavar="STYLE", help="style image, folder or quoted glob")
    p.add_argument("-o", "--output", required=True, metavar="OUT",
                   help="output file (one pair) or existing folder (several)")
    add_model_options(p)
    p.add_argument("--alpha", type=float, default=opts.DEFAULT_ALPHA,
                   help=f"stylization strength in [0, 1] (default: {opts.DEFAULT_ALPHA})")
    scales = ",".join(str(s) for s in opts.DEFAULT_STROKE_SCALES)
    p.add_argument("--stroke-scales", type=common.float_list, default=opts.DEFAULT_STROKE_SCALES,
                   metavar="S,S,...",
                   help=f"style resize factors in (0, 1] for the strokes (default: {scales})")
    p.add_argument("--num-regions", type=int, default=opts.DEFAULT_NUM_REGIONS,
                   help=f"saliency regions for the stroke fusion (default: {opts.DEFAULT_NUM_REGIONS})")
    p.add_argument("--preserve-color", action="store_true", help="keep the content's colours")
    p.add_argument("--color-transfer", type=float, default=opts.DEFAULT_COLOR_TRANSFER, metavar="S",
                   help="in [0, 1]: how far the result's colour mean and covariance move to the style's "
                   f"after decoding; 0 keeps the decoder's colours (default: {opts.DEFAULT_COLOR_TRANSFER:g})")
    p.add_argument("--mask", metavar="PATH",
                   help="grayscale image replacing the attention map (resized to the content)")
    p.add_argument("--region", choices=opts.REGIONS, default="all",
                   help="stylize all (default), only the salient object (foreground; or the --mask) "
                   "or only the background, keeping the rest as the photo")
    p.add_argument("--foreground-only", action="store_true",
                   help="deprecated: the same as --region foreground")
    p.add_argument("--save-attention", metavar="PATH",
                   help="also write the attention map as a grayscale PNG (a folder in batch mode)")
    p.add_argument("--max-size", type=int, default=1024, metavar="N",
                   help="downscale larger contents to this longer side; 0: no limit "
                   "(default: 1024)")
    p.add_argument("--keep-size", action="store_true",
                   help="upsample the result of a downscaled content back to its size")
    p.add_argument("--style-max-size", type=int, default=opts.DEFAULT_STYLE_MAX_SIZE, metavar="N",
                   help="downscale larger styles to this longer side; sets the stroke size; "
                   f"0: no limit (default: {opts.DEFAULT_STYLE_MAX_SIZE})")
    p.add_argument("--full-resolution", action="store_true",
                   help="no downscaling (the same as --max-size 0): photos over 1536 px are stylized "
                   "in tiles, with memory bounded by the tile size")
    p.add_argument("--tile-size", type=int, default=None, metavar="N",
                   help="tile side in pixels (a multiple of 16, at least 64); 0: never tile "
                   "(default: 512 px tiles for photos over 1536 px)")
    p.add_argument("--style-scale", type=float, default=None, metavar="R",
                   help="resize the style so its longer side is R times the content's (up or down; "
                   "overrides --style-max-size): strokes keep their size relative to the picture, "
                   "e.g. 0.25 for a print")
    p.add_argument("--format", choices=common.OUTPUT_FORMATS, default="png",
                   help="output format when OUT is a folder (default: png)")
    common.add_input_options(p)
    return p


def _tile_size(value):
    """`None` -> "auto", `0` -> never tile, else a checked tile side."""
    if value is None:
        return "auto"
    if value == 0:
        return None
    if value < 64 or value % 16:
        raise ValueError(f"`--tile-size` must be 0 or a multiple of 16 of at least 64. Received: tile_size={value}")
    return value


def check_memory(size, tile_size):
    """Refuses, before any work, a photo whose stylization would not fit in memory."""
    from tf_cbam_style import tiling

    width, height = size
    tile = tiling.default_tile_size(height, width) if tile_size == "auto" else tile_size
    if tile is not None:
        return tiling.check_memory(height, width, tile)
    return tiling.check_memory_untiled(height, width)


def _check_options(args):
    """Checks the stylization options once, with the one rule of `options` (no TensorFlow)."""
    region = "foreground" if args.foreground_only and args.region == "all" else args.region
    if args.foreground_only and args.region not in ("all", "foreground"):
        raise ValueError(
            f"`--foreground-only` contradicts `--region {args.region}`. Received: region={args.region!r}"
        )
    if args.foreground_only and not args.quiet:
        print("note: --foreground-only is deprecated; use --region foreground", file=sys.stderr)
    return opts.StylizeOptions(method=args.method, alpha=args.alpha, stroke_scales=args.stroke_scales,
                               num_regions=args.num_regions, preserve_color=args.preserve_color,
                               region=region, color_transfer=args.color_transfer)


Plan = collections.namedtuple("Plan", ["jobs", "images", "mask", "options"])
Plan.__doc__ = """What `stylize` will do: `Job`s, their decoded `InputImages`, the mask, the options."""


def plan_stylize(args, say, warn):
    """Checks every argument, input and output; decodes each input once.

    Returns:
        A `Plan`.
    """
    common.check_method(args.method)
    args.max_size = None if args.full_resolution else common.max_size(args.max_size, "max_size")
    args.style_max_size = common.max_size(args.style_max_size, "style_max_size")
    args.tile_size = _tile_size(args.tile_size)
    if args.style_scale is not None:
        if not 0 < args.style_scale <= 4:
            raise ValueError(f"`--style-scale` must be in (0, 4]. Received: style_scale={args.style_scale}")
        args.style_max_size = None  # the style is resized once, by the API, to the content's scale
    common.check_max_pixels(args.max_pixels)
    args.model = common.resolve_model(args.model, args.depth, args.method)
    options = _check_options(args)
    ignored = []
    contents = common.expand_images(args.content, "content", ignored)
    styles = common.expand_images(args.style, "style", ignored)
    jobs = common.plan_jobs(contents, styles, args.output, args.save_attention, args.format,
                            args.overwrite)
    mask = common.load_mask(args.mask, args.max_pixels) if args.mask else None
    if ignored:
        say(common.ignored_note(ignored))
    images = common.InputImages(max_pixels=args.max_pixels)
    wanted = [(c, args.max_size) for c in contents] + [(s, args.style_max_size) for s in styles]
    bad = common.check_inputs(images, wanted, len(set(contents + styles)), args.skip_bad, warn)
    jobs = common.drop_bad(jobs, bad)

    def output_size(job):
        fit = images.get(job.content, args.max_size)
        return fit.original_size if args.keep_size else fit.new_size

    common.check_output_sizes(jobs, output_size, args.overwrite)
    for content in dict.fromkeys(job.content for job in jobs):
        check_memory(images.get(content, args.max_size).new_size, args.tile_size)
    return Plan(jobs, images, mask, options)


def run_stylize(args):
    start = time.time()

    def say(message):
        if not args.quiet:
            print(message, flush=True)

    def warn(message):
        print(message, file=sys.stderr, flush=True)

    plan = plan_stylize(args, say, warn)
    jobs, options = plan.jobs, plan.options
    batch = len(jobs) > 1

    from tqdm import tqdm

    from tf_cbam_style import api
    from tf_cbam_style.io import resize_image, save_image

    def tell(message):
        if not args.quiet:
            tqdm.write(message, file=sys.stdout)

    model = api.load_model(args.model, attention=opts.model_attention(options.method))
    content_path, fit, styles = None, None, set()
    progress = tqdm(total=len(jobs), unit="image", disable=args.quiet or not batch, file=sys.stderr)
    with progress as bar:
        for job in jobs:
            if job.content != content_path:
                content_path = job.content
                fit = plan.images.get(job.content, args.max_size)
                if fit.resized:
                    message = (
                        f"Resized {job.content} from {common.size_text(fit.original_size)} to "
                        f"{common.size_text(fit.new_size)} for processing (--max-size {args.max_size})"
                    )
                    if args.keep_size:
                        message += (
                            f"; upsampling the result back to {common.size_text(fit.original_size)} "
                            "(--keep-size)"
                        )
                    tell(message)
            styles.add(job.style)
            style = plan.images.get(job.style, args.style_max_size).image
            result = api.stylize(
                fit.image, style, method=options.method, alpha=options.alpha,
                stroke_scales=options.stroke_scales, num_regions=options.num_regions,
                preserve_color=options.preserve_color, mask=plan.mask, region=options.region,
                color_transfer=options.color_transfer, return_attention=True, style_max_size=None,
                style_scale=args.style_scale, model=model,
                tile_size=args.tile_size, progress=not args.quiet and not batch,
            )
            image, attention = result.image, result.attention_map
            if fit.resized and args.keep_size:
                image = resize_image(image, fit.original_size)
                if attention is not None:
                    attention = resize_image(attention, fit.original_size)
            save_image(job.output, image, overwrite=args.overwrite)
            if not batch:
                tell(f"Wrote {os.path.abspath(job.output)}")
            if job.attention is not None:
                if attention is None:
                    tell(f"No attention map from method {args.method!r}; {job.attention} not written")
                else:
                    save_image(job.attention, attention, overwrite=args.overwrite)
                    if not batch:
                        tell(f"Wrote {os.path.abspath(job.attention)}")
            bar.update()
    if batch:
        contents = len(dict.fromkeys(job.content for job in jobs))
        used_styles = len(dict.fromkeys(job.style for job in jobs))
        message = (f"Wrote {common.count(len(jobs), 'image')} ({common.count(contents, 'content')} x "
                   f"{common.count(used_styles, 'style')}, {args.method}) to {args.output}")
        if args.save_attention:
            message += f" and attention maps to {args.save_attention}"
        tell(f"{message} in {time.time() - start:.1f} s")
    return 0


# ---------------------------------------------------------------------------
# sheet
# ---------------------------------------------------------------------------


def _add_sheet(subparsers):
    p = subparsers.add_parser(
        "sheet",
        help="render a contact sheet: contents x styles",
        description="Render a grid with the styles along the top, the contents down the "
        "left and each stylized result in its cell.",
    )
    p.add_argument("--contents", nargs="+", required=True, metavar="CONTENT",
                   help="content images, folders or quoted globs")
    p.add_argument("--styles", nargs="+", required=True, metavar="STYLE",
                   help="style images, folders or quoted globs")
    p.add_argument("-o", "--output", required=True, metavar="OUT", help="sheet image file")
    add_model_options(p)
    p.add_argument("--size", type=int, default=256,
                   help="cell side in pixels; contents and styles are processed at this size "
                   "(default: 256)")
    p.add_argument("--attention", action="store_true",
                   help="add a column with each content's attention map")
    p.add_argument("--region", choices=opts.REGIONS, default="all",
                   help="stylize all (default), only the salient object (foreground) or only the "
                   "background in every cell, keeping the rest as the photo")
    common.add_input_options(p, skip_bad=False)
    return p


def run_sheet(args):
    common.check_method(args.method)
    if args.size < opts.MIN_IMAGE_SIZE:
        raise ValueError(f"`--size` must be at least {opts.MIN_IMAGE_SIZE}. Received: size={args.size}")
    common.check_max_pixels(args.max_pixels)
    args.model = common.resolve_model(args.model, args.depth, args.method)
    ignored = []
    contents = [p for spec in args.contents for p in common.expand_images(spec, "contents", ignored)]
    styles = [p for spec in args.styles for p in common.expand_images(spec, "styles", ignored)]

    from tf_cbam_style.io import check_output_path
    from tf_cbam_style.sheet import sheet_size

    check_output_path(args.output, overwrite=args.overwrite)
    if ignored and not args.quiet:
        print(common.ignored_note(ignored))
    # Every input is decoded (and checked) once, before the model runs; cells are small.
    images = common.InputImages(max_pixels=args.max_pixels)
    common.check_inputs(images, [(p, args.size) for p in contents + styles],
                        len(set(contents + styles)), False, None)
    columns = 1 + bool(args.attention) + len(styles)
    check_output_path(args.output, overwrite=args.overwrite,
                      size=sheet_size(1 + len(contents), columns, args.size))
    content_images = [images.get(p, args.size).image for p in contents]
    style_images = [images.get(p, args.size).image for p in styles]

    from tqdm import tqdm

    from tf_cbam_style import api
    from tf_cbam_style.io import save_image
    from tf_cbam_style.sheet import colorize, contact_sheet

    model = api.load_model(args.model, attention=opts.model_attention(args.method))
    grid = [[None] + ([None] if args.attention else []) + style_images]
    with tqdm(total=len(contents) * len(styles), unit="image", disable=args.quiet,
              file=sys.stderr) as bar:
        for content in content_images:
            row, attention = [content], None
            for style in style_images:
                result = api.stylize(content, style, method=args.method, return_attention=True,
                                     style_max_size=args.size, region=args.region, model=model)
                row.append(result.image)
                if attention is None:
                    attention = result.attention_map
                bar.update()
            if args.attention:
                row.insert(1, None if attention is None else colorize(attention))
            grid.append(row)
    sheet = contact_sheet(grid, args.size)
    save_image(args.output, sheet, overwrite=args.overwrite)
    if not args.quiet:
        region = "" if args.region == "all" else f", region {args.region}"
        print(f"Wrote {args.output} ({len(contents)} contents x {len(styles)} styles, "
              f"{sheet.shape[1]}x{sheet.shape[0]}, {args.method}{region})")
    return 0
