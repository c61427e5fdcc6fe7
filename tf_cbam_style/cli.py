"""The `tf-cbam-style` command line: `train`, `stylize` and `sheet`.

Images, TensorFlow and the model load inside the subcommands, after every
input and output path is checked, so `--help` and bad arguments answer
quickly and fail before any work is done.
"""

import argparse
import collections
import os
import sys
import time

# `tf_cbam_style.api` imports no TensorFlow at module level, so a misspelt
# method is reported before TensorFlow loads.
from tf_cbam_style.api import METHODS  # noqa: E402
OUTPUT_FORMATS = ("png", "jpg", "webp")

Job = collections.namedtuple("Job", ["content", "style", "output", "attention"])


# ---------------------------------------------------------------------------
# Argument checks
# ---------------------------------------------------------------------------


def check_method(method):
    """Raises a one-line `ValueError` naming the closest method."""
    if method in METHODS:
        return method
    import difflib

    close = difflib.get_close_matches(method, METHODS, n=1)
    hint = f"; did you mean {close[0]!r}?" if close else "."
    raise ValueError(f"unknown method {method!r}{hint} Choose from: {', '.join(METHODS)}")


def _float_list(text):
    try:
        values = tuple(float(v) for v in text.split(",") if v.strip())
    except ValueError:
        values = ()
    if not values:
        raise argparse.ArgumentTypeError(
            f"expected comma-separated numbers such as 0.5,1.0. Received: {text!r}"
        )
    return values


def _check_options(args):
    """Checks the stylization options once, with the one rule of `options` (no TensorFlow)."""
    from tf_cbam_style.options import StylizeOptions

    region = "foreground" if args.foreground_only and args.region == "all" else args.region
    if args.foreground_only and args.region not in ("all", "foreground"):
        raise ValueError(
            f"`--foreground-only` contradicts `--region {args.region}`. Received: region={args.region!r}"
        )
    return StylizeOptions(method=args.method, alpha=args.alpha, stroke_scales=args.stroke_scales,
                          num_regions=args.num_regions, preserve_color=args.preserve_color,
                          region=region)


def _check_model_path(path):
    if path is None:
        return
    if os.path.isdir(path):
        path = os.path.join(path, "model.keras")
    if not os.path.isfile(path):
        raise FileNotFoundError(
            "`--model` must be a .keras model file or a folder holding model.keras "
            f"(see `tf-cbam-style train`). Received: model={path!r}"
        )


def _max_size(value, name):
    """`N` -> `N`, `0` -> `None` (no limit)."""
    if value != 0 and value < 32:
        raise ValueError(
            f"`--{name.replace('_', '-')}` must be at least 32, or 0 for no limit. "
            f"Received: {name}={value}"
        )
    return value or None


# ---------------------------------------------------------------------------
# Inputs and outputs
# ---------------------------------------------------------------------------


def expand_images(spec, name):
    """A file, a folder (its images) or a quoted glob -> sorted list of paths.

    A plain path is returned as is, even if missing or not an image, so that
    `load_image` reports what is wrong with it.
    """
    import glob

    from tf_cbam_style.io import IMAGE_EXTENSIONS

    def is_image(path):
        return os.path.isfile(path) and path.lower().endswith(IMAGE_EXTENSIONS)

    if os.path.isdir(spec):
        files = sorted(p for p in (os.path.join(spec, n) for n in os.listdir(spec)) if is_image(p))
        what = "folder holds no images"
    elif any(c in spec for c in "*?[") and not os.path.exists(spec):
        files = sorted(p for p in glob.glob(spec) if is_image(p))
        what = "pattern matches no images"
    else:
        return [spec]
    if not files:
        raise ValueError(
            f"`{name}` {what} ({', '.join(IMAGE_EXTENSIONS)}). Received: {name}={spec!r}"
        )
    return files


def _stem(path):
    return os.path.splitext(os.path.basename(path))[0]


def _plan_paths(target, pairs, suffix, extension, name, overwrite):
    """One output path per (content, style) pair, checked for writing.

    `target` is the file itself for a single pair, or an existing folder in
    which outputs are named `{content}__{style}{suffix}.{extension}`.
    """
    from tf_cbam_style.io import check_output_path

    if os.path.isdir(target):
        paths = [
            os.path.join(target, f"{_stem(c)}__{_stem(s)}{suffix}.{extension}") for c, s in pairs
        ]
    elif len(pairs) > 1:
        raise ValueError(
            f"`--{name.replace('_', '-')}` must be an existing folder when CONTENT or STYLE "
            f"name several images. Received: {name}={target!r}"
        )
    else:
        paths = [target]
    seen = {}
    for path, pair in zip(paths, pairs):
        key = os.path.normcase(os.path.abspath(path))
        if key in seen:
            raise ValueError(
                f"{seen[key][0]!r} with {seen[key][1]!r} and {pair[0]!r} with {pair[1]!r} "
                f"would both be written to {path!r}; rename one of them"
            )
        seen[key] = pair
        check_output_path(path, overwrite=overwrite)
    return paths


def _check_images(paths, min_size=32):
    """Decodes every file once so that bad inputs fail before the model runs."""
    from tf_cbam_style.io import load_image

    for path in paths:
        load_image(path, min_size=min_size)


def _load_mask(path):
    """A mask image as `(H, W)` luminance in [0, 1]."""
    import numpy as np

    from tf_cbam_style.io import load_image

    rgb = load_image(path, min_size=1)
    return rgb @ np.array([0.299, 0.587, 0.114], np.float32)


def _size_text(size):
    return f"{size.width}x{size.height}"


# ---------------------------------------------------------------------------
# train
# ---------------------------------------------------------------------------


def _add_train(subparsers):
    p = subparsers.add_parser("train", help="train the attention autoencoder on a folder of photos")
    p.add_argument("--data", required=True,
                   help="folder of training photos (searched recursively), or tfds:NAME, e.g. tfds:coco/2017")
    p.add_argument("--out", default="runs/cbam_relu4_1", help="run folder: checkpoints, logs, model.keras")
    p.add_argument("--attention", default="cbam", choices=["cbam", "self_attention"])
    p.add_argument("--depth", default="relu4_1", choices=["relu3_1", "relu4_1", "relu5_1"])
    p.add_argument("--crop-size", type=int, default=256)
    p.add_argument("--batch-size", type=int, default=8, help="per replica")
    p.add_argument("--steps", type=int, default=10000)
    p.add_argument("--lr", type=float, default=1e-4)
    p.add_argument("--checkpoint-every", type=int, default=500, help="steps between checkpoints")
    p.add_argument("--seed", type=int, default=0)
    p.add_argument("--vgg-weights", default="auto",
                   help="Keras VGG19 weights file; default: $TF_CBAM_STYLE_VGG_WEIGHTS, else 'imagenet'")
    p.add_argument("--crop-schedule", default=None, metavar="CROP:STEPS,...",
                   help="curriculum, e.g. 128:3000,256:1000 (overrides --crop-size and --steps)")
    p.add_argument("--lr-schedule", default="constant", choices=["constant", "cosine"],
                   help="cosine: from --lr down to a tenth of it over all steps")
    p.add_argument("--init-from", default=None, metavar="MODEL",
                   help="warm start: attention and decoder weights of this .keras model or model folder")
    p.add_argument("--upsampling", default="nearest", choices=["nearest", "bilinear"],
                   help="the decoder's x2 upsampling")
    p.add_argument("--skip-statistics", action="store_true",
                   help="AAMS decoder: re-normalise to the relu3_1/relu2_1/relu1_1 statistics")
    p.add_argument("--eval-data", default=None, metavar="DIR",
                   help="held-out photos scored (PSNR/SSIM) after every checkpoint")
    p.add_argument("--threads", type=int, default=0,
                   help="TensorFlow threads (0: all cores); 1 leaves a core free")
    p.add_argument("--perceptual-layer-weights", default=None, metavar="balanced|L=W,...",
                   help="per-layer weights of the perceptual loss: 'balanced' (every layer counts "
                   "about equally) or e.g. relu1_1=100,relu4_1=1 (default: AAMS, all 1)")
    for name in ("pixel", "perceptual", "tv", "attention"):
        p.add_argument(f"--{name}-weight", type=float, default=None,
                       help=f"loss weight of the {name} term (default: AAMS)")
    # Scale-out: TensorFlow Datasets and multi-worker training (docs/training.md).
    p.add_argument("--tfds-data-dir", default=None, metavar="DIR",
                   help="TFDS data folder for --data tfds:NAME (default: ~/tensorflow_datasets)")
    p.add_argument("--tfds-download", action="store_true",
                   help="download and prepare a missing TFDS dataset (one host; default: offline)")
    p.add_argument("--tfds-split", default="train", help="TFDS split to train on (default: train)")
    p.add_argument("--strategy", default="auto", choices=["auto", "single-host", "multi-worker"],
                   help="auto: multi-worker when TF_CONFIG describes a cluster, else single-host (model.fit)")
    p.add_argument("--peer-timeout", type=float, default=300.0, metavar="SECONDS",
                   help="multi-worker: wait this long for a peer, at start-up and in each all-reduce (default: 300)")
    p.add_argument("--max-restarts", type=int, default=5,
                   help="multi-worker: restarts of this worker in a row to rejoin after a lost peer (default: 5)")
    return p


def _run_train(args):
    import tensorflow as tf

    if args.threads:
        tf.config.threading.set_intra_op_parallelism_threads(args.threads)
        tf.config.threading.set_inter_op_parallelism_threads(args.threads)
    from tf_cbam_style.training import train

    weights = {f"{n}_weight": getattr(args, f"{n}_weight") for n in ("pixel", "perceptual", "tv", "attention")
               if getattr(args, f"{n}_weight") is not None}
    if args.perceptual_layer_weights:
        from tf_cbam_style.training import parse_layer_weights

        weights["perceptual_layer_weights"] = parse_layer_weights(args.perceptual_layer_weights)
    from tf_cbam_style.distributed import PeerLostError, rejoin_cluster

    try:
        train(
            args.data, args.out, attention=args.attention, depth=args.depth,
            crop_size=args.crop_size, batch_size=args.batch_size, steps=args.steps,
            learning_rate=args.lr, checkpoint_every=args.checkpoint_every,
            seed=args.seed, vgg_weights=args.vgg_weights, crop_schedule=args.crop_schedule,
            lr_schedule=args.lr_schedule, init_from=args.init_from, decoder_upsampling=args.upsampling,
            skip_statistics=args.skip_statistics, eval_data=args.eval_data, loss_weights=weights or None,
            strategy=args.strategy, tfds_data_dir=args.tfds_data_dir, tfds_download=args.tfds_download,
            tfds_split=args.tfds_split, peer_timeout=args.peer_timeout,
        )
    except PeerLostError as error:
        rejoin_cluster(error, max_restarts=args.max_restarts)  # replaces this process, or raises
    return 0


# ---------------------------------------------------------------------------
# stylize
# ---------------------------------------------------------------------------


def _add_model_options(p):
    p.add_argument("--method", default="cbam", metavar="METHOD",
                   help=f"one of {', '.join(METHODS)} (default: cbam)")
    p.add_argument("--model", metavar="PATH",
                   help="a .keras model from `tf-cbam-style train` (default: the shipped model)")
    p.add_argument("--overwrite", action="store_true", help="replace existing output files")
    p.add_argument("--quiet", action="store_true", help="print nothing but errors")


def _add_stylize(subparsers):
    p = subparsers.add_parser(
        "stylize",
        help="stylize a content image (or folder/glob) with a style image (or folder/glob)",
        description="Stylize CONTENT with STYLE. Each may be a file, a folder or a quoted glob "
        "such as 'photos/*.jpg'; with several images, OUT must be an existing folder and "
        "outputs are named CONTENT__STYLE.png.",
    )
    p.add_argument("content", metavar="CONTENT", help="content image, folder or quoted glob")
    p.add_argument("style", metavar="STYLE", help="style image, folder or quoted glob")
    p.add_argument("-o", "--output", required=True, metavar="OUT",
                   help="output file (one pair) or existing folder (several)")
    _add_model_options(p)
    p.add_argument("--alpha", type=float, default=1.0,
                   help="stylization strength in [0, 1] (default: 1.0)")
    p.add_argument("--stroke-scales", type=_float_list, default=(0.5, 0.7071, 1.0),
                   metavar="S,S,...",
                   help="style resize factors in (0, 1] for the strokes (default: 0.5,0.7071,1.0)")
    p.add_argument("--num-regions", type=int, default=4,
                   help="saliency regions for the stroke fusion (default: 4)")
    p.add_argument("--preserve-color", action="store_true", help="keep the content's colours")
    p.add_argument("--mask", metavar="PATH",
                   help="grayscale image replacing the attention map (resized to the content)")
    p.add_argument("--region", choices=["all", "foreground", "background"], default="all",
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
    p.add_argument("--style-max-size", type=int, default=512, metavar="N",
                   help="downscale larger styles to this longer side; sets the stroke size; "
                   "0: no limit (default: 512)")
    p.add_argument("--format", choices=OUTPUT_FORMATS, default="png",
                   help="output format when OUT is a folder (default: png)")
    return p


def _plan_stylize(args):
    """Checks every input and output; returns the `Job`s to run."""
    check_method(args.method)
    args.max_size = _max_size(args.max_size, "max_size")
    args.style_max_size = _max_size(args.style_max_size, "style_max_size")
    _check_model_path(args.model)
    args.options = _check_options(args)
    contents = expand_images(args.content, "content")
    styles = expand_images(args.style, "style")
    pairs = [(c, s) for c in contents for s in styles]
    outputs = _plan_paths(args.output, pairs, "", args.format, "output", args.overwrite)
    attentions = [None] * len(pairs)
    if args.save_attention:
        attentions = _plan_paths(
            args.save_attention, pairs, "_attention", "png", "save_attention", args.overwrite
        )
        clashes = set(map(os.path.abspath, outputs)) & set(map(os.path.abspath, attentions))
        if clashes:
            raise ValueError(
                "`--save-attention` must differ from `--output`. "
                f"Received: save_attention={args.save_attention!r}"
            )
    _check_images(list(dict.fromkeys(contents + styles)))
    if args.mask:
        _load_mask(args.mask)
    return [Job(c, s, o, a) for (c, s), o, a in zip(pairs, outputs, attentions)]


def _run_stylize(args):
    jobs = _plan_stylize(args)

    from tqdm import tqdm

    from tf_cbam_style.api import load_model, stylize
    from tf_cbam_style.io import fit_max_size, load_image, resize_image, save_image

    start = time.time()
    batch = len(jobs) > 1

    def say(message):
        if not args.quiet:
            tqdm.write(message, file=sys.stdout)

    options = args.options
    model = load_model(args.model, attention=options.spec.attention or "cbam")
    mask = _load_mask(args.mask) if args.mask else None
    content_path, fit, styles = None, None, {}
    progress = tqdm(total=len(jobs), unit="image", disable=args.quiet or not batch, file=sys.stderr)
    with progress as bar:
        for job in jobs:
            if job.content != content_path:
                content_path = job.content
                fit = fit_max_size(load_image(job.content), args.max_size, min_size=32)
                if fit.resized:
                    message = (
                        f"Resized {job.content} from {_size_text(fit.original_size)} to "
                        f"{_size_text(fit.new_size)} for processing (--max-size {args.max_size})"
                    )
                    if args.keep_size:
                        message += (
                            f"; upsampling the result back to {_size_text(fit.original_size)} "
                            "(--keep-size)"
                        )
                    say(message)
            if job.style not in styles:
                styles[job.style] = fit_max_size(
                    load_image(job.style), args.style_max_size, min_size=32
                ).image
            result = stylize(
                fit.image, styles[job.style], method=options.method, alpha=options.alpha,
                stroke_scales=options.stroke_scales, num_regions=options.num_regions,
                preserve_color=options.preserve_color, mask=mask, region=options.region,
                return_attention=True, style_max_size=None, model=model,
            )
            image, attention = result.image, result.attention_map
            if fit.resized and args.keep_size:
                image = resize_image(image, fit.original_size)
                if attention is not None:
                    attention = resize_image(attention, fit.original_size)
            save_image(job.output, image, overwrite=args.overwrite)
            if not batch:
                say(f"Wrote {os.path.abspath(job.output)}")
            if job.attention is not None:
                if attention is None:
                    say(f"No attention map from method {args.method!r}; "
                        f"{job.attention} not written")
                else:
                    save_image(job.attention, attention, overwrite=args.overwrite)
                    if not batch:
                        say(f"Wrote {os.path.abspath(job.attention)}")
            bar.update()
    if batch:
        contents = len(dict.fromkeys(job.content for job in jobs))
        message = (f"Wrote {len(jobs)} images ({contents} contents x {len(styles)} styles, "
                   f"{args.method}) to {args.output}")
        if args.save_attention:
            message += f" and attention maps to {args.save_attention}"
        say(f"{message} in {time.time() - start:.1f} s")
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
    _add_model_options(p)
    p.add_argument("--size", type=int, default=256,
                   help="cell side in pixels; contents and styles are processed at this size "
                   "(default: 256)")
    p.add_argument("--attention", action="store_true",
                   help="add a column with each content's attention map")
    return p


def _run_sheet(args):
    check_method(args.method)
    if args.size < 32:
        raise ValueError(f"`--size` must be at least 32. Received: size={args.size}")
    _check_model_path(args.model)
    contents = [p for spec in args.contents for p in expand_images(spec, "contents")]
    styles = [p for spec in args.styles for p in expand_images(spec, "styles")]

    from tf_cbam_style.io import check_output_path, fit_max_size, load_image

    check_output_path(args.output, overwrite=args.overwrite)
    # Loading checks every input before the model runs; cells are small.
    content_images = [fit_max_size(load_image(p), args.size, min_size=32).image for p in contents]
    style_images = [fit_max_size(load_image(p), args.size, min_size=32).image for p in styles]

    from tqdm import tqdm

    from tf_cbam_style.api import load_model, stylize
    from tf_cbam_style.io import save_image
    from tf_cbam_style.sheet import colorize, contact_sheet

    from tf_cbam_style.options import METHODS

    model = load_model(args.model, attention=METHODS[args.method].attention or "cbam")
    grid = [[None] + ([None] if args.attention else []) + style_images]
    with tqdm(total=len(contents) * len(styles), unit="image", disable=args.quiet,
              file=sys.stderr) as bar:
        for content in content_images:
            row, attention = [content], None
            for style in style_images:
                result = stylize(content, style, method=args.method, return_attention=True,
                                 style_max_size=args.size, model=model)
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
        print(f"Wrote {args.output} ({len(contents)} contents x {len(styles)} styles, "
              f"{sheet.shape[1]}x{sheet.shape[0]}, {args.method})")
    return 0


# ---------------------------------------------------------------------------
# Entry point
# ---------------------------------------------------------------------------


def _add_reconstruct(subparsers):
    p = subparsers.add_parser(
        "reconstruct", help="held-out reconstruction quality (PSNR, SSIM) of a trained model"
    )
    p.add_argument("--data", required=True, help="folder of held-out photos")
    p.add_argument("--model", default=None, help=".keras model (default: the shipped CBAM model)")
    p.add_argument("--size", type=int, default=256, help="shorter side the photos are resized to")
    p.add_argument("--per-image", action="store_true", help="also print each image's numbers")
    return p


def _run_reconstruct(args):
    from tf_cbam_style.api import load_model
    from tf_cbam_style.data import scan_image_folder
    from tf_cbam_style.reconstruction import evaluate_reconstruction

    _check_model_path(args.model)
    if args.size < 32:
        raise ValueError(f"`--size` must be at least 32. Received: size={args.size}")
    scan = scan_image_folder(args.data)
    if not scan.files:
        raise ValueError(f"`--data` holds no readable images. Received: data={args.data!r}")
    model = load_model(args.model)
    report = evaluate_reconstruction(model, scan.files, size=args.size)
    if args.per_image:
        for name, psnr, ssim in report.per_image:
            print(f"{name:50s} PSNR {psnr:6.2f} dB  SSIM {ssim:.4f}")
    print(
        f"{len(report.per_image)} images at {report.size} px: "
        f"PSNR {report.psnr:.2f} dB, SSIM {report.ssim:.4f}"
    )
    return 0


def _add_export(subparsers):
    p = subparsers.add_parser("export", help="export models for TF Serving (and TF.js)")
    group = p.add_subparsers(dest="export_format", required=True)
    sm = group.add_parser(
        "saved-model", help="write saved_models/<name>/<version>/ SavedModels for TF Serving"
    )
    sm.add_argument("models", nargs="*",
                    help=".keras models (default: every shipped saved_models/*/model.keras)")
    sm.add_argument("--out", default=None,
                    help="base folder for a single model (default: the .keras file's folder)")
    sm.add_argument("--version", type=int, default=1)
    sm.add_argument("--overwrite", action="store_true")
    sm.add_argument("--no-warmup", action="store_true", help="skip assets.extra warm-up requests")
    sm.set_defaults(func=_run_export_saved_model)
    return p, group


def _run_export_saved_model(args):
    import glob

    from tf_cbam_style.api import KERAS_FILE, load_model, models_dir

    paths = args.models or sorted(glob.glob(str(models_dir() / "*" / KERAS_FILE)))
    if not paths:
        raise FileNotFoundError(f"no models to export: none given and none in {models_dir()}")
    if args.out and len(paths) > 1:
        raise ValueError(f"`--out` needs exactly one model. Received: {len(paths)} models")
    for path in paths:
        _check_model_path(path)
        base = args.out or os.path.dirname(os.path.abspath(path))
        target = os.path.join(base, str(args.version))
        if os.path.exists(target) and not args.overwrite:
            raise FileExistsError(f"{target} exists; pass --overwrite to replace it")
    from tf_cbam_style.export import export_saved_model

    for path in paths:
        base = args.out or os.path.dirname(os.path.abspath(path))
        result = export_saved_model(load_model(path), base, version=args.version,
                                    warmup=not args.no_warmup, overwrite=args.overwrite)
        print(f"Exported {path} -> {result.path} (signatures: {', '.join(result.signatures)}; "
              f"{result.warmup_requests} warm-up requests)")
    return 0


def build_parser():
    parser = argparse.ArgumentParser(
        prog="tf-cbam-style",
        description="Attention-aware arbitrary neural style transfer (CBAM / AAMS).",
    )
    subparsers = parser.add_subparsers(dest="command", required=True)
    _add_train(subparsers).set_defaults(func=_run_train)
    _add_stylize(subparsers).set_defaults(func=_run_stylize)
    _add_sheet(subparsers).set_defaults(func=_run_sheet)
    _add_reconstruct(subparsers).set_defaults(func=_run_reconstruct)
    _, export_group = _add_export(subparsers)
    from tf_cbam_style.serving.cli import register_cli as register_serving
    from tf_cbam_style.tfjs.cli import register_cli as register_tfjs

    register_tfjs(export_group, subparsers)
    from tf_cbam_style.evaluation.cli import register_cli as register_evaluation

    register_evaluation(subparsers)

    register_serving(subparsers)
    return parser


def _one_line(error):
    return " ".join(str(error).split()) or type(error).__name__


def main(argv=None):
    """Runs the command line; returns the exit code.

    Bad input (`ValueError`, including `ImageError`, and `OSError` such as a
    missing file or a serving error) and a missing optional extra
    (`ImportError`, naming the pip command) print one `error:` line and
    return 2; Ctrl-C returns 130.
    """
    # Most of TensorFlow's C++ start-up chatter is noise on a command line
    # (users can ask for it with TF_CPP_MIN_LOG_LEVEL=0). The oneDNN notice
    # ignores this setting; silencing it would mean TF_ENABLE_ONEDNN_OPTS=0,
    # which changes speed and numerics, so it stays.
    os.environ.setdefault("TF_CPP_MIN_LOG_LEVEL", "2")
    parser = build_parser()
    args = parser.parse_args(argv)
    try:
        return args.func(args)
    except KeyboardInterrupt:
        print("error: interrupted", file=sys.stderr)
        return 130
    except (ValueError, OSError, ImportError) as error:
        print(f"error: {_one_line(error)}", file=sys.stderr)
        return 2
