"""`tf-cbam-style evaluate` and `tf-cbam-style benchmark`.

`register(subparsers)` adds both to the main parser; nothing heavy is
imported until a command runs.
"""

import argparse
import pathlib
import shlex
import sys

from tf_cbam_style.cli import common
from tf_cbam_style.evaluation.methods import ALL_METHODS
from tf_cbam_style.options import DEFAULT_STYLE_MAX_SIZE, MIN_IMAGE_SIZE

SHARED_EVAL = pathlib.Path(__file__).resolve().parents[2].parent / "shared" / "data" / "eval"


def _int_list(text):
    try:
        values = [int(v) for v in text.split(",") if v.strip()]
    except ValueError:
        values = []
    if not values or any(v < MIN_IMAGE_SIZE for v in values):
        raise argparse.ArgumentTypeError(
            f"expected comma-separated sizes >= {MIN_IMAGE_SIZE}. Received: {text!r}")
    return values


def _megapixel_list(text):
    try:
        values = [float(v) for v in text.split(",") if v.strip()]
    except ValueError:
        values = []
    if not values or any(not 0.1 <= v <= 200 for v in values):
        raise argparse.ArgumentTypeError(f"expected comma-separated megapixels in [0.1, 200]. Received: {text!r}")
    return values


def _name_list(text):
    values = [v.strip() for v in text.split(",") if v.strip()]
    if not values:
        raise argparse.ArgumentTypeError(f"expected comma-separated method names. Received: {text!r}")
    return values


def _add_model_arguments(p):
    p.add_argument("--cbam-model", default=None,
                   help="CBAM .keras model (default: saved_models/cbam_relu4_1); adain, wct and "
                        "style_swap use its decoder")
    p.add_argument("--self-attention-model", default=None,
                   help="AAMS .keras model (default: saved_models/self_attention_relu4_1)")
    p.add_argument("--magenta-dir", default=None,
                   help="folder of the Magenta ONNX peer (default: ../shared/baselines/"
                        "magenta_arbitrary_onnx; left out when absent)")
    p.add_argument("--methods", type=_name_list, default=None,
                   help="comma-separated methods (default: every available one of "
                        f"{', '.join(ALL_METHODS)}; <attention>_relu3_1 and _relu5_1 need their shipped model)")
    p.add_argument("--gatys-iterations", type=int, default=None, help="Adam steps of the gatys baseline")
    p.add_argument("--quiet", action="store_true", help="no progress bars")


def _add_evaluate(subparsers):
    p = subparsers.add_parser("evaluate", help="quality metrics of every method on content x style pairs")
    p.add_argument("--contents", nargs="+", default=[str(SHARED_EVAL / "content")],
                   help="content files, folders or quoted globs (default: ../shared/data/eval/content)")
    p.add_argument("--styles", nargs="+", default=[str(SHARED_EVAL / "style")],
                   help="style files, folders or quoted globs (default: ../shared/data/eval/style)")
    p.add_argument("--max-contents", type=int, default=None, help="use the first N contents (sorted)")
    p.add_argument("--max-styles", type=int, default=None, help="use the first N styles (sorted)")
    p.add_argument("--size", type=int, default=512, help="longer side of contents and styles (default: 512)")
    p.add_argument("--full-resolution", action="store_true",
                   help="contents at their own size (tiled above 1536 px), styles at --size")
    p.add_argument("--gatys-max-pairs", type=int, default=10,
                   help="gatys runs on the first N pairs only (default: 10; 0 = all)")
    p.add_argument("--sheet-styles", type=int, default=3, help="contact sheets for the first N styles")
    p.add_argument("--sheet-contents", type=int, default=6, help="contents per contact sheet")
    p.add_argument("--cell-size", type=int, default=160, help="contact-sheet cell size in pixels")
    p.add_argument("-o", "--out", default="reports/eval", help="report folder (default: reports/eval)")
    p.add_argument("--overwrite", action="store_true", help="replace an existing report in --out")
    _add_model_arguments(p)
    p.set_defaults(func=run_evaluate)
    return p


def _add_benchmark(subparsers):
    p = subparsers.add_parser("benchmark", help="CPU latency and peak memory of every method at several sizes")
    p.add_argument("--sizes", type=_int_list, default=[256, 512, 1024],
                   help="comma-separated square content sizes (default: 256,512,1024)")
    p.add_argument("--repeats", type=int, default=3, help="timed calls per method and size (default: 3)")
    p.add_argument("--content", default=None, help="content image (default: the first eval content)")
    p.add_argument("--style", default=None, help="style image (default: the first eval style)")
    p.add_argument("--profile", action="store_true", help="also time each stage of the cbam pipeline")
    p.add_argument("--megapixels", type=_megapixel_list, default=None, metavar="MP,MP,...",
                   help="instead: one tiled full-resolution cbam call on a 4:3 photo of each size "
                   "(e.g. 2,12,48), time and peak RSS, a fresh process each")
    p.add_argument("--tile-size", type=int, default=512, help="tile side for --megapixels (default: 512)")
    p.add_argument("--timeout", type=int, default=1800, help="seconds per measurement (default: 1800)")
    p.add_argument("-o", "--out", default=None, help="also write benchmark.md and benchmark.csv to this folder")
    _add_model_arguments(p)
    p.set_defaults(func=run_benchmark)
    return p


def register(subparsers):
    """Adds `evaluate` and `benchmark` to the main parser's subparsers."""
    _add_evaluate(subparsers)
    _add_benchmark(subparsers)


def _expand(specs, name, limit):
    paths = sorted({p for spec in specs for p in common.expand_images(spec, name)})
    if limit is not None:
        if limit < 1:
            raise ValueError(f"`--max-{name}` must be a positive int. Received: max_{name}={limit}")
        paths = paths[:limit]
    return paths


def _methods(args, default_gatys_iterations):
    from tf_cbam_style.evaluation.methods import available_methods

    available = available_methods(args.cbam_model, args.self_attention_model, args.magenta_dir)
    names = args.methods or list(available)
    unknown = [n for n in names if n not in available]
    if unknown:
        raise ValueError(
            f"`--methods` must name available methods {available}. Received: methods={unknown}"
        )
    iterations = default_gatys_iterations if args.gatys_iterations is None else args.gatys_iterations
    if iterations < 1:
        raise ValueError(f"`--gatys-iterations` must be a positive int. Received: gatys_iterations={iterations}")
    return names, iterations


def _check_models(args, names):
    from tf_cbam_style.evaluation.methods import model_paths

    paths = model_paths(args.cbam_model, args.self_attention_model)
    # The CBAM model is always needed: its attention defines the regions of
    # the attention metric, and adain, wct and style_swap use its decoder.
    needed = {"cbam", "self_attention"} if "self_attention" in names else {"cbam"}
    for key in needed:
        if not paths[key].is_file():
            raise FileNotFoundError(
                f"`--{key.replace('_', '-')}-model` must be a .keras model file (see `tf-cbam-style "
                f"train`). Received: {key}_model='{paths[key]}'"
            )


def run_evaluate(args):
    """Runs `evaluate` and writes the report folder."""
    if args.size < MIN_IMAGE_SIZE:
        raise ValueError(f"`--size` must be at least {MIN_IMAGE_SIZE}. Received: size={args.size}")
    contents = _expand(args.contents, "contents", args.max_contents)
    styles = _expand(args.styles, "styles", args.max_styles)
    names, iterations = _methods(args, 200)
    _check_models(args, names)
    from tf_cbam_style.evaluation.report import REPORT_FILES

    common.plan_outputs(args.out, REPORT_FILES, args.overwrite)  # before any work

    from tf_cbam_style.evaluation.evaluate import evaluate
    from tf_cbam_style.evaluation.methods import make_method
    from tf_cbam_style.evaluation.report import write_report

    methods = [make_method(n, cbam_model=args.cbam_model, self_attention_model=args.self_attention_model,
                           magenta_dir=args.magenta_dir, gatys_iterations=iterations,
                           progress=not args.quiet) for n in names]
    result = evaluate(contents, styles, methods, size=args.size,
                      gatys_max_pairs=args.gatys_max_pairs or None, sheet_styles=args.sheet_styles,
                      sheet_contents=args.sheet_contents, cbam_model=args.cbam_model,
                      progress=not args.quiet, full_resolution=args.full_resolution)
    command = "tf-cbam-style evaluate " + " ".join(shlex.quote(a) for a in sys.argv[2:]) \
        if len(sys.argv) > 1 and sys.argv[1] == "evaluate" else None
    files = write_report(result, args.out, cell_size=args.cell_size, command=command)
    if not args.quiet:
        with open(files.summary, encoding="utf-8") as f:
            print(f.read().split("Methods:")[0].rstrip())
        print(f"Wrote {args.out}/ ({len(result.rows)} rows)")
    return 0


def run_benchmark(args):
    """Runs `benchmark`, prints the table (and the cbam stage profile)."""
    if args.repeats < 1:
        raise ValueError(f"`--repeats` must be a positive int. Received: repeats={args.repeats}")
    content = args.content or _expand([str(SHARED_EVAL / "content")], "contents", 1)[0]
    style = args.style or _expand([str(SHARED_EVAL / "style")], "styles", 1)[0]
    for name, path in (("content", content), ("style", style)):
        if not pathlib.Path(path).is_file():
            raise FileNotFoundError(f"`--{name}` must be an image file. Received: {name}='{path}'")
    if args.megapixels:
        return _run_full_resolution(args, content, style)
    names, iterations = _methods(args, 10)
    _check_models(args, names)

    from tf_cbam_style.evaluation.benchmark import benchmark, ratio_table

    rows = benchmark(names, args.sizes, content=content, style=style, repeats=args.repeats,
                     gatys_iterations=iterations, cbam_model=args.cbam_model,
                     self_attention_model=args.self_attention_model, magenta_dir=args.magenta_dir,
                     progress=not args.quiet, timeout=args.timeout)
    header = (f"Content {pathlib.Path(content).name} resized to each size; style {pathlib.Path(style).name} "
              f"(longer side <= 512). Median of {args.repeats} calls after 1 warm-up; gatys: one run of "
              f"{iterations} Adam steps, no warm-up.")
    text = [header, "", ratio_table(rows)]
    if args.profile and "cbam" in names:
        text += ["", "Stages of the cbam pipeline:", "", _profile(args, content, style)]
    print("\n".join(text))
    if args.out:
        import csv
        import os

        os.makedirs(args.out, exist_ok=True)
        with open(os.path.join(args.out, "benchmark.md"), "w", encoding="utf-8") as f:
            f.write("# Speed benchmark\n\n" + "\n".join(text) + "\n")
        with open(os.path.join(args.out, "benchmark.csv"), "w", newline="", encoding="utf-8") as f:
            writer = csv.writer(f)
            writer.writerow(["method", "size", "median_s", "latencies", "loaded_rss_mb", "peak_rss_mb", "error"])
            for row in rows:
                writer.writerow([row.method, row.size, f"{row.median_s:.4f}",
                                 " ".join(f"{t:.4f}" for t in row.latencies),
                                 f"{row.loaded_rss_mb:.0f}", f"{row.peak_rss_mb:.0f}", row.error or ""])
    return 0


def _run_full_resolution(args, content, style):
    from tqdm import tqdm

    from tf_cbam_style.evaluation.benchmark import full_resolution_table, run_full_resolution

    rows = []
    for megapixels in tqdm(args.megapixels, unit="photo", disable=args.quiet):
        rows.append(run_full_resolution(megapixels, content=content, style=style, tile_size=args.tile_size,
                                        cbam_model=args.cbam_model, timeout=max(args.timeout, 7200)))
    text = (f"Content {pathlib.Path(content).name} resized to each size (4:3); style "
            f"{pathlib.Path(style).name} (longer side <= 512); cbam, tiles of {args.tile_size} px; one call "
            "after a 1024x768 warm-up, a fresh process per size.\n\n" + full_resolution_table(rows))
    print(text)
    if args.out:
        import os

        os.makedirs(args.out, exist_ok=True)
        with open(os.path.join(args.out, "full_resolution.md"), "w", encoding="utf-8") as f:
            f.write("# Full-resolution benchmark\n\n" + text + "\n")
    return 0


def _profile(args, content, style):
    from tf_cbam_style import api
    from tf_cbam_style.evaluation.methods import model_paths
    from tf_cbam_style.evaluation.profile import profile_pipeline, stage_table
    from tf_cbam_style.io import fit_max_size, load_image, resize_image

    model = api.load_model(model_paths(args.cbam_model)["cbam"])
    style_image = fit_max_size(load_image(style), DEFAULT_STYLE_MAX_SIZE, min_size=MIN_IMAGE_SIZE).image
    content_image = load_image(content)
    profiles = [profile_pipeline(model, resize_image(content_image, (s, s)), style_image,
                                 repeats=args.repeats) for s in args.sizes]
    return stage_table(profiles)
