"""`tf-cbam-style export tfjs` and `tf-cbam-style demo`.

`register_cli(export_subparsers, subparsers)` adds both to the main parser;
nothing heavy is imported until a command runs.
"""

import argparse
import os
import sys

QUANTIZATION_CHOICES = ("none", "float16", "uint8")
DEFAULT_SAMPLES = ("content_bird.jpg", "style_candy.jpg")


def _quantization_list(text):
    values = [v.strip() for v in text.split(",") if v.strip()]
    bad = [v for v in values if v not in QUANTIZATION_CHOICES]
    if not values or bad:
        raise argparse.ArgumentTypeError(
            f"expected a comma-separated subset of {','.join(QUANTIZATION_CHOICES)}. Received: {text!r}"
        )
    return values


def _add_export_tfjs(export_subparsers):
    p = export_subparsers.add_parser(
        "tfjs", help="convert an exported SavedModel to a TensorFlow.js graph model for the web demo"
    )
    p.add_argument("saved_model", help="SavedModel folder or export base (e.g. saved_models/cbam_relu4_1)")
    p.add_argument("--out", default=None, help="model folder to write (default: web_demo/model)")
    p.add_argument("--overwrite", action="store_true",
                   help="replace a model already in --out (and an existing --report file)")
    p.add_argument("--quantization", choices=QUANTIZATION_CHOICES, default="none",
                   help="weight quantization (default: none)")
    p.add_argument("--signature", default="stylize_with_options", help="signature to convert")
    p.add_argument("--weight-shard-size-bytes", type=int, default=4 * 1024 * 1024,
                   help="largest weight file (default: 4194304)")
    p.add_argument("--venv", default=None,
                   help="converter virtualenv (default: ~/.cache/tf_cbam_style/tfjs-venv, "
                        "created on first use)")
    p.add_argument("--skip-op-check", action="store_true", help="do not pre-check the graph's ops")
    p.add_argument("--report", default=None,
                   help="write a JSON fidelity report (TF.js in Node.js vs the SavedModel) here")
    p.add_argument("--report-quantizations", type=_quantization_list, default=None,
                   help="quantizations to measure in the report, e.g. none,float16,uint8 "
                        "(default: --quantization only)")
    p.add_argument("--report-size", type=int, default=256,
                   help="longer side of the report's sample images (default: 256)")
    p.add_argument("--content", default=None, help="report content image (default: a bundled sample)")
    p.add_argument("--style", default=None, help="report style image (default: a bundled sample)")
    p.set_defaults(func=run_export_tfjs)
    return p


def _add_demo(subparsers):
    p = subparsers.add_parser("demo", help="serve the in-browser web demo on this machine")
    p.add_argument("--host", default="127.0.0.1", help="interface to bind (default: 127.0.0.1)")
    p.add_argument("--port", type=int, default=8000, help="port (default: 8000; 0 picks a free one)")
    p.add_argument("--model-dir", default=None, help="converted model to serve (default: web_demo/model)")
    p.add_argument("--open", action="store_true", help="open the page in the default browser")
    p.set_defaults(func=run_demo)
    return p


def register_cli(export_subparsers, subparsers):
    """Adds `export tfjs` to the `export` group and a top-level `demo`.

    Args:
        export_subparsers: the sub-parser group of the `export` command.
        subparsers: the main parser's sub-parser group.

    Returns:
        `(export_tfjs_parser, demo_parser)`.
    """
    return _add_export_tfjs(export_subparsers), _add_demo(subparsers)


def _load_sample(path, max_size):
    from tf_cbam_style.io import fit_max_size, load_image

    return fit_max_size(load_image(path), max_size).image


def run_export_tfjs(args):
    from tf_cbam_style.tfjs.node import demo_root

    if args.report_size < 32:
        raise ValueError(f"`--report-size` must be at least 32. Received: report_size={args.report_size}")
    out = args.out or str(demo_root() / "model")
    samples = demo_root() / "samples"
    content_path = args.content or str(samples / DEFAULT_SAMPLES[0])
    style_path = args.style or str(samples / DEFAULT_SAMPLES[1])
    if args.report and os.path.exists(args.report) and not args.overwrite:
        raise FileExistsError(f"`--report` already exists; pass --overwrite. Received: report={args.report!r}")
    if args.report:
        for name, path in (("content", content_path), ("style", style_path)):
            if not os.path.isfile(path):
                raise FileNotFoundError(f"`--{name}` must be an image file. Received: {name}={path!r}")
        from tf_cbam_style.tfjs.node import check_node_modules, find_node

        find_node()
        check_node_modules()

    from tf_cbam_style.tfjs.convert import convert_saved_model

    def say(message):
        print(message, flush=True)

    try:
        result = convert_saved_model(
            args.saved_model, out, signature_name=args.signature, quantization=args.quantization,
            weight_shard_size_bytes=args.weight_shard_size_bytes, venv=args.venv,
            check_ops=not args.skip_op_check, overwrite=args.overwrite, log=say,
        )
    except RuntimeError as error:  # the converter or its installation failed
        print(f"error: {error}", file=sys.stderr)
        return 1
    print(
        f"Wrote {result.model_json}: {len(result.weight_files)} weight files, "
        f"{result.weight_bytes / 2**20:.1f} MiB ({result.quantization}; "
        f"{result.removed_duplicate_bytes / 2**20:.1f} MiB of duplicate weights removed), "
        f"with options.json and conversion.json"
    )
    if args.report:
        try:
            _write_fidelity_report(args, result, content_path, style_path, say)
        except RuntimeError as error:  # a conversion or the Node.js run failed
            print(f"error: {error}", file=sys.stderr)
            return 1
    return 0


def _write_fidelity_report(args, result, content_path, style_path, say):
    import tempfile

    from tf_cbam_style.tfjs.convert import convert_saved_model
    from tf_cbam_style.tfjs.fidelity import measure_fidelity, write_report

    content = _load_sample(content_path, args.report_size)
    style = _load_sample(style_path, args.report_size)
    quantizations = args.report_quantizations or [args.quantization]
    with tempfile.TemporaryDirectory(prefix="tfjs-report-") as tmp:
        model_dirs = {}
        for quantization in quantizations:
            if quantization == result.quantization:
                model_dirs[quantization] = result.output_dir
            else:
                model_dirs[quantization] = convert_saved_model(
                    result.saved_model_dir, os.path.join(tmp, quantization),
                    signature_name=args.signature, quantization=quantization,
                    weight_shard_size_bytes=args.weight_shard_size_bytes, venv=args.venv,
                    check_ops=False, log=say,
                ).output_dir
        say(f"Running {', '.join(model_dirs)} in Node.js (wasm) and the SavedModel in Python ...")
        reports = measure_fidelity(result.saved_model_dir, model_dirs, content, style)
    write_report(args.report, reports, content.shape, style.shape,
                 samples=[os.path.basename(content_path), os.path.basename(style_path)],
                 saved_model_dir=result.saved_model_dir)
    for r in reports:
        print(
            f"{r.quantization:8s} {r.weight_bytes / 2**20:6.1f} MiB  max |diff| {r.max_abs_diff:.4f}  "
            f"mean |diff| {r.mean_abs_diff:.5f}  PSNR {r.psnr_db:.1f} dB  ({r.node_seconds:.1f} s in Node.js)"
        )
    print(f"Wrote {args.report}")


def run_demo(args):
    import webbrowser

    from tf_cbam_style.tfjs.node import demo_root
    from tf_cbam_style.tfjs.server import make_server

    server = make_server(demo_root(), host=args.host, port=args.port, model_dir=args.model_dir)
    host, port = server.server_address[:2]
    url = f"http://{'127.0.0.1' if host in ('0.0.0.0', '') else host}:{port}/"
    print(f"Serving the web demo at {url} (Ctrl-C to stop)", flush=True)
    if args.open:
        webbrowser.open(url)
    try:
        server.serve_forever()
    finally:
        server.server_close()
    return 0
