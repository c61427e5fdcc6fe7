"""Time of the web demo's "full resolution" (tiled) mode, in Node.js (wasm).

Stylizes a bundled sample resized to `--measure` HxW in tiles, as the page's
worker does (`web_demo/js/tiling.js` through
`web_demo/scripts/run_graph_model.mjs --tile-size`), and prints the plan, the
time of the global pass and of each tile; then the tile count that
`--target` HxW (default 3000x4000, 12 megapixels) plans and the time that
many tiles of the measured mean would take (an estimate from the measured
tile time, printed as such):

    .venv/bin/python tools/tfjs_tiled_time.py --model web_demo/model [--measure 512x960] \\
        [--target 3000x4000] [--tile-size 512] [--style-size 256]

Wall times depend on what else the machine runs.
"""

import argparse
import json
import os
import subprocess
import sys
import time

REPO = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
WEB_DEMO = os.path.join(REPO, "web_demo")


def _size(text):
    height, width = (int(v) for v in text.lower().split("x"))
    return height, width


def _plan_tiles(height, width, tile_size, overlap, align):
    script = ("import { planTiles } from './js/tiling.js';\n"
              "console.log(JSON.stringify(planTiles(...JSON.parse(process.argv[1]))));")
    out = subprocess.run(["node", "--input-type=module", "-e", script,
                          json.dumps([height, width, tile_size, overlap, align])],
                         cwd=WEB_DEMO, capture_output=True, text=True, check=True)
    return json.loads(out.stdout)


def main(argv=None):
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--model", default=os.path.join(WEB_DEMO, "model"))
    parser.add_argument("--measure", type=_size, default=(512, 960), help="HxW of the timed photo")
    parser.add_argument("--target", type=_size, default=(3000, 4000), help="HxW to estimate")
    parser.add_argument("--tile-size", type=int, default=None, help="default: options.json's tileSize")
    parser.add_argument("--style-size", type=int, default=None, help="default: options.json's maxStyleSize")
    args = parser.parse_args(argv)

    import numpy as np
    from PIL import Image

    from tf_cbam_style.io import fit_max_size, load_image
    from tf_cbam_style.tfjs.node import run_tiled_graph_model

    with open(os.path.join(args.model, "options.json"), encoding="utf-8") as f:
        config = json.load(f)
    tile_size = args.tile_size or config["tileSize"]
    height, width = args.measure
    photo = Image.open(os.path.join(WEB_DEMO, "samples", "content_bird.jpg")).convert("RGB")
    content = np.asarray(photo.resize((width, height), Image.BILINEAR), np.float32) / 255.0
    style = fit_max_size(load_image(os.path.join(WEB_DEMO, "samples", "style_candy.jpg")),
                         args.style_size or config["maxStyleSize"]).image
    start = time.perf_counter()
    run = run_tiled_graph_model(args.model, content, style, tile_size)
    wall = time.perf_counter() - start
    tiles = run.tile_seconds
    print(f"measured {width}x{height}, tiles of {tile_size} px (overlap {config['tileOverlap']}): "
          f"{len(tiles)} tiles, {run.seconds[0]:.1f} s in all ({wall:.1f} s with Node start and model load)")
    print(f"  global pass + assembly: {run.seconds[0] - sum(tiles):.1f} s; tiles: "
          + ", ".join(f"{t:.1f}" for t in tiles) + f" s (mean {np.mean(tiles):.1f} s)")
    th, tw = args.target
    count = len(_plan_tiles(th, tw, tile_size, config["tileOverlap"], config["tileAlign"])["tiles"])
    estimate = count * float(np.mean(tiles)) + run.seconds[0] - sum(tiles)
    print(f"estimate for {tw}x{th} ({th * tw / 1e6:.1f} MP): {count} tiles x {np.mean(tiles):.1f} s "
          f"+ the global pass = about {estimate / 60:.0f} min (from the measured tile time)")
    return 0


if __name__ == "__main__":
    sys.exit(main())
