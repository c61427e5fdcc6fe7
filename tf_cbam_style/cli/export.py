"""`tf-cbam-style export saved-model`, plus `export tfjs` and `demo` (from `tfjs.cli`)."""

import os

from tf_cbam_style.cli import common


def register(subparsers):
    """Adds `export saved-model`, `export tfjs` and `demo` to the main parser's subparsers."""
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
    sm.set_defaults(func=run_export_saved_model)

    from tf_cbam_style.tfjs.cli import register_cli as register_tfjs

    register_tfjs(group, subparsers)


def run_export_saved_model(args):
    import glob

    from tf_cbam_style import api

    paths = args.models or sorted(glob.glob(str(api.models_dir() / "*" / api.KERAS_FILE)))
    if not paths:
        raise FileNotFoundError(f"no models to export: none given and none in {api.models_dir()}")
    if args.out and len(paths) > 1:
        raise ValueError(f"`--out` needs exactly one model. Received: {len(paths)} models")
    for path in paths:
        common.check_model_path(path)
        base = args.out or os.path.dirname(os.path.abspath(path))
        target = os.path.join(base, str(args.version))
        if os.path.exists(target) and not args.overwrite:
            raise FileExistsError(f"{target} exists; pass --overwrite to replace it")
    from tf_cbam_style.export import export_saved_model

    for path in paths:
        base = args.out or os.path.dirname(os.path.abspath(path))
        result = export_saved_model(api.load_model(path), base, version=args.version,
                                    warmup=not args.no_warmup, overwrite=args.overwrite)
        print(f"Exported {path} -> {result.path} (signatures: {', '.join(result.signatures)}; "
              f"{result.warmup_requests} warm-up requests)")
    return 0
