"""Serving commands of `tf-cbam-style`: `client`, `serve-standin`, `load-test`.

`register(subparsers)` adds them to the main parser. Nothing heavy is
imported until a command runs; each returns an exit code and reports bad
input as a one-line `ValueError` or `OSError` (`ServingError`). `client`
reads and checks every input before the first request, as `stylize` does,
and sends same-size contents that share a style in one request.
"""

import collections
import sys
import time

from tf_cbam_style import options as opts
from tf_cbam_style.cli import common

DEFAULT_GRPC_PORT = 8500
DEFAULT_REST_PORT = 8501
DEFAULT_MODEL_NAME = opts.model_name("cbam")

BatchReport = collections.namedtuple("BatchReport", ["images", "requests", "seconds"])
BatchReport.__doc__ = """What `stylize_files` did: images written, requests sent, wall time."""


def register(subparsers):
    """Adds `client`, `serve-standin` and `load-test` to `subparsers`."""
    _add_client(subparsers).set_defaults(func=run_client)
    _add_serve_standin(subparsers).set_defaults(func=run_serve_standin)
    _add_load_test(subparsers).set_defaults(func=run_load_test)
    return subparsers


# ---------------------------------------------------------------------------
# Shared options
# ---------------------------------------------------------------------------


def _add_server_options(p, required=True):
    where = p.add_mutually_exclusive_group(required=required)
    where.add_argument(
        "--grpc", metavar="HOST:PORT", help="gRPC address of the server, e.g. localhost:8500"
    )
    where.add_argument(
        "--rest", metavar="URL", help="REST base URL of the server, e.g. http://localhost:8501"
    )
    p.add_argument(
        "--model-name",
        default=DEFAULT_MODEL_NAME,
        help=f"served model name from serving/models.config (default: {DEFAULT_MODEL_NAME})",
    )
    p.add_argument(
        "--model-version",
        type=int,
        default=None,
        metavar="N",
        help="pin a model version (default: the latest)",
    )
    p.add_argument(
        "--timeout",
        type=float,
        default=60.0,
        metavar="S",
        help="seconds to wait for each attempt (default: 60)",
    )
    p.add_argument(
        "--retries",
        type=int,
        default=3,
        metavar="N",
        help="retries when the server is unreachable (default: 3)",
    )
    p.add_argument(
        "--max-message-mb",
        type=float,
        default=64.0,
        metavar="MB",
        help="largest request/response this client sends or accepts (default: 64)",
    )


def _client_factory(args, target=None, protocol=None):
    from tf_cbam_style.serving.client import StyleClient

    if target is None:
        target, protocol = (args.grpc, "grpc") if args.grpc else (args.rest, "rest")
    if args.max_message_mb <= 0:
        raise ValueError(
            f"`--max-message-mb` must be > 0. Received: max_message_mb={args.max_message_mb}"
        )

    def make(signature=None):
        return StyleClient(
            target,
            protocol=protocol,
            model_name=args.model_name,
            model_version=args.model_version,
            signature=signature,
            timeout=args.timeout,
            retries=args.retries,
            max_message_bytes=int(args.max_message_mb * 1024 * 1024),
        )

    return make


# ---------------------------------------------------------------------------
# client
# ---------------------------------------------------------------------------


def _add_client(subparsers):
    p = subparsers.add_parser(
        "client",
        help="stylize images with a model on TensorFlow Serving (gRPC or REST)",
        description="Send CONTENT and STYLE to a running TensorFlow Serving (or the test "
        "stand-in). Each may be a file, a folder or a quoted glob; with several images OUT "
        "must be an existing folder and results are named CONTENT__STYLE.png. Same-size "
        "contents that share a style go in one request of up to --batch-size images.",
    )
    p.add_argument("content", metavar="CONTENT", help="content image, folder or quoted glob")
    p.add_argument("style", metavar="STYLE", help="style image, folder or quoted glob")
    p.add_argument(
        "-o",
        "--output",
        required=True,
        metavar="OUT",
        help="output file (one pair) or existing folder (several)",
    )
    _add_server_options(p)
    p.add_argument(
        "--signature",
        choices=opts.SIGNATURES,
        default=None,
        help="signature to call (default: stylize_with_options when an option, --mask "
        "or --save-attention is given, else serving_default)",
    )
    p.add_argument(
        "--alpha", type=float, default=None, help="stylization strength in [0, 1] (default: 1.0)"
    )
    p.add_argument(
        "--stroke-scales",
        type=common.float_list,
        default=None,
        metavar="S,S,...",
        help="style resize factors in (0, 1] for the strokes (default: 0.5,0.7071,1.0)",
    )
    p.add_argument(
        "--num-regions", type=int, default=None, help="saliency regions, 1..16 (default: 4)"
    )
    p.add_argument("--preserve-color", action="store_true", help="keep the content's colours")
    p.add_argument("--color-transfer", type=float, default=None, metavar="S",
                   help="in [0, 1]: how far the colours move to the style's after decoding (default: 1)")
    p.add_argument("--region", choices=opts.REGIONS, default=None,
                   help="stylize all, only the salient object, or only the background")
    p.add_argument("--foreground-only", action="store_true", help="deprecated: --region foreground")
    p.add_argument("--mask", metavar="PATH", help="grayscale image replacing the attention map")
    p.add_argument(
        "--save-attention",
        metavar="PATH",
        help="also write the attention map (a folder in batch mode)",
    )
    p.add_argument(
        "--batch-size",
        type=int,
        default=4,
        metavar="N",
        help="most same-size contents in one request (default: 4)",
    )
    p.add_argument(
        "--max-size",
        type=int,
        default=1024,
        metavar="N",
        help="downscale larger contents to this longer side; 0: no limit (default: 1024)",
    )
    p.add_argument(
        "--style-max-size",
        type=int,
        default=512,
        metavar="N",
        help="downscale larger styles to this longer side; 0: no limit (default: 512)",
    )
    p.add_argument(
        "--format",
        choices=common.OUTPUT_FORMATS,
        default="png",
        help="output format when OUT is a folder (default: png)",
    )
    p.add_argument("--overwrite", action="store_true", help="replace existing output files")
    p.add_argument("--quiet", action="store_true", help="print nothing but errors")
    common.add_input_options(p)
    return p


def _client_options(args):
    """The `StylizeOptions` the flags ask for, or `None` for none."""
    from tf_cbam_style.serving.contract import StylizeOptions

    given = {
        key: value
        for key, value in (
            ("alpha", args.alpha),
            ("stroke_scales", args.stroke_scales),
            ("num_regions", args.num_regions),
            ("color_transfer", args.color_transfer),
        )
        if value is not None
    }
    if args.preserve_color:
        given["preserve_color"] = True
    if args.region is not None:
        given["region"] = args.region
    if args.foreground_only:
        given["foreground_only"] = True
    wants_options = bool(given) or bool(args.mask) or bool(args.save_attention)
    if args.signature is None:
        args.signature = opts.SIGNATURE_OPTIONS if wants_options else opts.SIGNATURE_DEFAULT
    elif wants_options and args.signature != opts.SIGNATURE_OPTIONS:
        raise ValueError(
            "options, --mask and --save-attention need `--signature stylize_with_options`. "
            f"Received: signature={args.signature!r}"
        )
    if args.signature != opts.SIGNATURE_OPTIONS:
        return None
    options = StylizeOptions(**given)  # checked here, before any file is read
    if args.mask:
        options = StylizeOptions(**given, mask=common.load_mask(args.mask, args.max_pixels))
    return options


def group_jobs(jobs, shape_of, batch_size):
    """Splits `jobs` into lists that can share one request.

    Jobs share a request when they have the same style and contents of the
    same shape (`shape_of(path)`), at most `batch_size` at a time.
    """
    if not isinstance(batch_size, int) or batch_size < 1:
        raise ValueError(f"`batch_size` must be an int >= 1. Received: batch_size={batch_size!r}")
    groups = collections.defaultdict(list)
    for job in jobs:
        groups[(job.style, shape_of(job.content))].append(job)
    return [
        group[i : i + batch_size]
        for group in groups.values()
        for i in range(0, len(group), batch_size)
    ]


def stylize_files(client, jobs, images, options=None, batch_size=4, max_size=None,
                  style_max_size=None, overwrite=False, on_batch=None):
    """Stylizes every `Job` with `client`, writing the images (and attention maps).

    Args:
        client: a `StyleClient`.
        jobs: `Job`s from `common.plan_jobs`, their inputs checked.
        images: the `common.InputImages` that checked them.
        options: a `StylizeOptions`, or `None`.
        batch_size: the most contents in one request.
        max_size, style_max_size: the limits the inputs were fitted to.
        overwrite: allow replacing existing files.
        on_batch: called with the list of `Job`s after each request.

    Returns:
        A `BatchReport`.
    """
    import numpy as np

    from tf_cbam_style.io import save_image

    start = time.time()
    requests = 0
    shape_of = lambda path: images.get(path, max_size).image.shape  # noqa: E731
    for group in group_jobs(jobs, shape_of, batch_size):
        content = np.stack([images.get(job.content, max_size).image for job in group])
        style = images.get(group[0].style, style_max_size).image
        result = client.stylize(content, style, options)
        requests += 1
        for index, job in enumerate(group):
            save_image(job.output, result.image[index], overwrite=overwrite)
            if job.attention is not None and result.attention_map is not None:
                save_image(job.attention, result.attention_map[index], overwrite=overwrite)
        if on_batch is not None:
            on_batch(group)
    return BatchReport(len(jobs), requests, time.time() - start)


def run_client(args):
    max_size = common.max_size(args.max_size, "max_size")
    style_max_size = common.max_size(args.style_max_size, "style_max_size")
    common.check_max_pixels(args.max_pixels)
    if args.batch_size < 1:
        raise ValueError(
            f"`--batch-size` must be at least 1. Received: batch_size={args.batch_size}"
        )
    ignored = []
    contents = common.expand_images(args.content, "content", ignored)
    styles = common.expand_images(args.style, "style", ignored)
    if args.mask and len(contents) > 1:
        raise ValueError(
            f"`--mask` needs a single CONTENT image. Received: content={args.content!r}"
        )
    options = _client_options(args)
    jobs = common.plan_jobs(contents, styles, args.output, args.save_attention, args.format,
                            args.overwrite)
    if ignored and not args.quiet:
        print(common.ignored_note(ignored))
    images = common.InputImages(max_pixels=args.max_pixels)
    wanted = [(c, max_size) for c in contents] + [(s, style_max_size) for s in styles]
    bad = common.check_inputs(images, wanted, len(set(contents + styles)), args.skip_bad,
                              lambda line: print(line, file=sys.stderr, flush=True))
    jobs = common.drop_bad(jobs, bad)
    common.check_output_sizes(jobs, lambda job: images.get(job.content, max_size).new_size,
                              args.overwrite)
    make = _client_factory(args)
    with make(args.signature) as client:

        def progress(group):
            if not args.quiet and len(jobs) == 1:
                print(f"Wrote {group[0].output}")

        report = stylize_files(client, jobs, images, options, batch_size=args.batch_size,
                               max_size=max_size, style_max_size=style_max_size,
                               overwrite=args.overwrite, on_batch=progress)
    if not args.quiet and len(jobs) > 1:
        print(
            f"Wrote {report.images} images to {args.output} in {report.requests} requests "
            f"({client.protocol}, {args.model_name}, {args.signature}) in {report.seconds:.1f} s"
        )
    return 0


# ---------------------------------------------------------------------------
# serve-standin
# ---------------------------------------------------------------------------


def _add_serve_standin(subparsers):
    p = subparsers.add_parser(
        "serve-standin",
        help="run the local TEST STAND-IN for TensorFlow Serving on 127.0.0.1",
        description="Serve exported SavedModels on 127.0.0.1 with a small gRPC + REST test "
        "stand-in for tensorflow_model_server (same protos and URLs). For tests and local "
        "trials only: use the real server (serving/docker-compose.yml) in production.",
    )
    p.add_argument(
        "--models-dir",
        default=None,
        metavar="DIR",
        help="serve every <name>/<version>/saved_model.pb in DIR "
        "(default: saved_models/, or $TF_CBAM_STYLE_MODEL_DIR)",
    )
    p.add_argument(
        "--model",
        action="append",
        default=[],
        metavar="NAME=PATH",
        help="serve the SavedModel base path PATH as NAME (repeatable; replaces --models-dir)",
    )
    p.add_argument(
        "--grpc-port",
        type=int,
        default=DEFAULT_GRPC_PORT,
        help="gRPC port; 0: any free one (default: 8500)",
    )
    p.add_argument(
        "--rest-port",
        type=int,
        default=DEFAULT_REST_PORT,
        help="REST port; 0: any free one (default: 8501)",
    )
    p.add_argument(
        "--workers", type=int, default=4, help="requests served at once per protocol (default: 4)"
    )
    p.add_argument(
        "--max-message-mb",
        type=float,
        default=2048.0,
        metavar="MB",
        help="largest gRPC message / REST body accepted (default: 2048, like the real server)",
    )
    p.add_argument(
        "--no-warmup", action="store_true", help="do not replay the exports' warmup requests"
    )
    p.add_argument("--verbose", action="store_true", help="log every REST request")
    return p


def _models_of(args):
    import os

    models = {}
    for spec in args.model:
        name, sep, path = spec.partition("=")
        if not sep or not name or not path:
            raise ValueError(f"`--model` must be NAME=PATH. Received: model={spec!r}")
        if not os.path.exists(path):
            raise FileNotFoundError(f"`--model` path does not exist. Received: model={spec!r}")
        models[name] = path
    if models:
        return models
    from tf_cbam_style.api import models_dir
    from tf_cbam_style.serving.standin import find_models

    return find_models(args.models_dir or str(models_dir()))


def _require_serving_extra():
    """Fails with the pip command before any model loads when gRPC or the protos are missing."""
    from tf_cbam_style.serving.grpc_apis import import_grpc_apis, import_serving_protos

    import_grpc_apis()
    import_serving_protos()


def run_serve_standin(args):
    _require_serving_extra()
    models = _models_of(args)
    for name in ("grpc_port", "rest_port"):
        port = getattr(args, name)
        if not 0 <= port < 65536:
            raise ValueError(
                f"`--{name.replace('_', '-')}` must be a port number. Received: {name}={port}"
            )
    from tf_cbam_style.serving.standin import StandInServer

    server = StandInServer(
        models,
        grpc_port=args.grpc_port,
        rest_port=args.rest_port,
        max_workers=args.workers,
        max_message_bytes=min(int(args.max_message_mb * 1024 * 1024), 2**31 - 1),
        warmup=not args.no_warmup,
        verbose=args.verbose,
    )
    addresses = server.start()
    try:
        print(
            f"TEST STAND-IN for TensorFlow Serving (not the real server) serving "
            f"{', '.join(f'{n} v{m.version}' for n, m in server.models.items())}"
        )
        print(f"  gRPC {addresses.grpc}   REST {addresses.rest}   (Ctrl-C stops)", flush=True)
        server.wait()
    finally:
        server.stop()
    return 0


# ---------------------------------------------------------------------------
# load-test
# ---------------------------------------------------------------------------


def _add_load_test(subparsers):
    p = subparsers.add_parser(
        "load-test",
        help="concurrent clients against a server: checks every response, prints p50/p99 latency",
        description="Run N concurrent clients for a bounded time against --grpc/--rest, or, "
        "without them, against a test stand-in started on 127.0.0.1 for --models-dir/--model. "
        "Every response is compared with the output computed for its image up front; exits 1 "
        "on any failed, mismatched or lost response.",
    )
    _add_server_options(p, required=False)
    p.add_argument(
        "--models-dir",
        default=None,
        metavar="DIR",
        help="without --grpc/--rest: models for the stand-in (default: saved_models/)",
    )
    p.add_argument(
        "--model",
        action="append",
        default=[],
        metavar="NAME=PATH",
        help="without --grpc/--rest: serve PATH as NAME in the stand-in (repeatable)",
    )
    p.add_argument(
        "--protocol",
        choices=("grpc", "rest"),
        default="grpc",
        help="protocol to the stand-in (default: grpc)",
    )
    p.add_argument("--clients", type=int, default=4, help="concurrent clients (default: 4)")
    p.add_argument(
        "--duration", type=float, default=10.0, metavar="S", help="seconds (default: 10)"
    )
    p.add_argument(
        "--size", type=int, default=64, help="side of the test images in pixels (default: 64)"
    )
    p.add_argument(
        "--max-requests",
        type=int,
        default=None,
        metavar="N",
        help="also stop each client after N requests",
    )
    p.add_argument(
        "--atol", type=float, default=1e-4, help="tolerance of the response check (default: 1e-4)"
    )
    return p


def run_load_test(args):
    from tf_cbam_style.serving.client.load import format_report, run_load_check

    if args.clients < 1 or args.clients > 256:
        raise ValueError(f"`--clients` must be in [1, 256]. Received: clients={args.clients}")
    if not 0 < args.duration <= 3600:
        raise ValueError(
            f"`--duration` must be in (0, 3600] seconds. Received: duration={args.duration}"
        )
    if args.size < 32:
        raise ValueError(f"`--size` must be at least 32. Received: size={args.size}")
    server = None
    if args.grpc or args.rest:
        make = _client_factory(args)
    else:
        from tf_cbam_style.serving.standin import StandInServer

        _require_serving_extra()

        models = _models_of(args)
        if args.model_name not in models:
            args.model_name = sorted(models)[0] if len(models) == 1 else args.model_name
        server = StandInServer(models, max_workers=max(4, args.clients), warmup=False)
        addresses = server.start()
        target = addresses.grpc if args.protocol == "grpc" else addresses.rest
        print(f"Started the test stand-in at {target} ({args.model_name})", file=sys.stderr)
        make = _client_factory(args, target, args.protocol)
    try:
        report = run_load_check(
            make,
            clients=args.clients,
            duration=args.duration,
            size=args.size,
            max_requests=args.max_requests,
            atol=args.atol,
        )
    finally:
        if server is not None:
            server.stop()
    print(format_report(report))
    return 0 if report.failed == report.mismatched == report.lost == 0 else 1
