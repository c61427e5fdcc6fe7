"""One benchmark measurement in a fresh process: `python -m tf_cbam_style.evaluation.benchmark_worker`.

Prints one JSON line: the method, size, every latency in seconds, and the
process's resident memory after loading (`loaded_rss_mb`) and its
high-water mark (`peak_rss_mb`, `ru_maxrss`). A fresh process per method
and size makes the high-water mark belong to that measurement alone.
"""

import argparse
import json
import resource
import sys
import time


def current_rss_mb():
    """Resident set size now, from `/proc/self/status` (Linux), else `nan`."""
    try:
        with open("/proc/self/status", encoding="ascii") as f:
            for line in f:
                if line.startswith("VmRSS:"):
                    return int(line.split()[1]) / 1024.0
    except OSError:
        pass
    return float("nan")


def peak_rss_mb():
    """The process's resident high-water mark (`ru_maxrss`, KiB on Linux, bytes on macOS)."""
    peak = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss
    return peak / (1024.0 * 1024.0) if sys.platform == "darwin" else peak / 1024.0


def measure(method_name, size, *, content_path, style_path, repeats=3, warmup=1,
            gatys_iterations=10, cbam_model=None, self_attention_model=None, magenta_dir=None):
    """Times `repeats` calls of one method on a `size` x `size` content.

    Returns:
        A dict (the JSON line).
    """
    from tf_cbam_style.evaluation.methods import make_method
    from tf_cbam_style.io import fit_max_size, load_image, resize_image

    content = resize_image(load_image(content_path), (size, size))
    style = fit_max_size(load_image(style_path), 512, min_size=32).image
    method = make_method(method_name, cbam_model=cbam_model, self_attention_model=self_attention_model,
                         magenta_dir=magenta_dir, gatys_iterations=gatys_iterations)
    if method_name == "gatys":
        from tf_cbam_style.evaluation.vgg_features import vgg19_features

        vgg19_features()  # load the VGG19 before the "loaded" reading, as models are
    loaded = current_rss_mb()
    for _ in range(warmup):
        method.stylize(content, style)
    latencies = []
    for _ in range(repeats):
        start = time.perf_counter()
        method.stylize(content, style)
        latencies.append(time.perf_counter() - start)
    return {
        "method": method_name,
        "size": size,
        "latencies": latencies,
        "warmup": warmup,
        "iterations": gatys_iterations if method_name == "gatys" else None,
        "loaded_rss_mb": loaded,
        "peak_rss_mb": peak_rss_mb(),
    }


def measure_full_resolution(megapixels, *, content_path, style_path, tile_size=512, cbam_model=None):
    """One tiled `cbam` stylization of a 4:3 photo of `megapixels` MP.

    A 1024 x 768 call first traces the tile pipeline (untimed), so the
    timed call is the steady-state cost; the peak RSS covers both and the
    decoded photo itself.

    Returns:
        A dict (the JSON line).
    """
    import math

    from tf_cbam_style import api
    from tf_cbam_style.io import fit_max_size, load_image, resize_image

    width = int(round(math.sqrt(megapixels * 1e6 * 4 / 3) / 16) * 16)
    height = int(round(width * 3 / 4 / 16) * 16)
    model = api.load_model(cbam_model)
    style = fit_max_size(load_image(style_path), 512, min_size=32).image
    source = load_image(content_path)
    loaded = current_rss_mb()
    api.stylize(resize_image(source, (768, 1024)), style, model=model, tile_size=tile_size)
    content = resize_image(source, (height, width))
    start = time.perf_counter()
    api.stylize(content, style, model=model, tile_size=tile_size)
    seconds = time.perf_counter() - start
    return {
        "method": "cbam (tiled)",
        "size": f"{width}x{height}",
        "megapixels": width * height / 1e6,
        "tile_size": tile_size,
        "latencies": [seconds],
        "warmup": 1,
        "iterations": None,
        "loaded_rss_mb": loaded,
        "peak_rss_mb": peak_rss_mb(),
    }


def main(argv=None):
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--method", default="cbam")
    parser.add_argument("--size", type=int, default=None)
    parser.add_argument("--megapixels", type=float, default=None,
                        help="full-resolution mode: one tiled cbam call on a 4:3 photo of this many MP")
    parser.add_argument("--tile-size", type=int, default=512)
    parser.add_argument("--content", required=True)
    parser.add_argument("--style", required=True)
    parser.add_argument("--repeats", type=int, default=3)
    parser.add_argument("--warmup", type=int, default=1)
    parser.add_argument("--gatys-iterations", type=int, default=10)
    parser.add_argument("--cbam-model", default=None)
    parser.add_argument("--self-attention-model", default=None)
    parser.add_argument("--magenta-dir", default=None)
    args = parser.parse_args(argv)
    if args.megapixels is not None:
        result = measure_full_resolution(args.megapixels, content_path=args.content, style_path=args.style,
                                         tile_size=args.tile_size, cbam_model=args.cbam_model)
        print("BENCHMARK " + json.dumps(result), flush=True)
        return 0
    if args.size is None:
        parser.error("--size is required without --megapixels")
    result = measure(
        args.method, args.size, content_path=args.content, style_path=args.style,
        repeats=args.repeats, warmup=args.warmup, gatys_iterations=args.gatys_iterations,
        cbam_model=args.cbam_model, self_attention_model=args.self_attention_model,
        magenta_dir=args.magenta_dir,
    )
    print("BENCHMARK " + json.dumps(result), flush=True)
    return 0


if __name__ == "__main__":
    sys.exit(main())
