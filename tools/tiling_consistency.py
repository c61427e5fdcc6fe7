"""Tiled against untiled stylization of one photo with the shipped model.

Prints the mean and 99th-percentile |tiled - untiled| (RGB in [0, 1]), the
PSNR between them, and the seam score (`tf_cbam_style.tiling.seam_score`) of
both outputs on the tile plan, for the README's full-resolution figures:

    python tools/tiling_consistency.py ../shared/data/eval/content/golden_gate.jpg \
        examples/style/candy.jpg --size 1024 --tile-size 512
"""

import argparse
import sys


def main(argv=None):
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("content")
    parser.add_argument("style")
    parser.add_argument("--size", type=int, default=1024,
                        help="longer side of the photo, rounded to a multiple of 8 (default: 1024)")
    parser.add_argument("--tile-size", type=int, default=512)
    parser.add_argument("--method", default="cbam")
    args = parser.parse_args(argv)

    import numpy as np
    import tensorflow as tf

    import tf_cbam_style as tcs
    from tf_cbam_style import tiling
    from tf_cbam_style.io import load_image

    content = load_image(args.content)
    scale = args.size / max(content.shape[:2])
    size = (8 * round(content.shape[0] * scale / 8), 8 * round(content.shape[1] * scale / 8))
    content = tf.clip_by_value(tf.image.resize(content[None], size, method="area"), 0, 1)[0].numpy()
    style = load_image(args.style)
    whole = tcs.stylize(content, style, method=args.method, tile_size=None)
    tiled = tcs.stylize(content, style, method=args.method, tile_size=args.tile_size)
    plan = tiling.plan_tiles(content.shape[0], content.shape[1], args.tile_size,
                             tiling.effective_overlap(args.tile_size), 8)
    difference = np.abs(tiled.image - whole.image)
    mse = float(np.mean((tiled.image - whole.image) ** 2))
    print(f"{content.shape[1]}x{content.shape[0]} px, {len(plan.tiles)} tiles of {args.tile_size} px, "
          f"method {args.method}")
    print(f"|tiled - untiled|: mean {difference.mean():.4f}, 99th percentile {np.quantile(difference, 0.99):.4f}, "
          f"PSNR {10 * np.log10(1.0 / max(mse, 1e-12)):.1f} dB")
    print(f"seam score: tiled {tiling.seam_score(tiled.image, plan):.3f}, "
          f"untiled {tiling.seam_score(whole.image, plan):.3f} (1 = no seam)")
    return 0


if __name__ == "__main__":
    sys.exit(main())
