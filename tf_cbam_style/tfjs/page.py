"""The web demo's `options.json`: what the page shows and checks.

`tf-cbam-style export tfjs` writes it next to `model.json`, and the page
(`web_demo/js/app.js`, `web_demo/js/stylizer.js`) and the Node.js runner read
every default and range from it; they keep no copy of their own. The knobs'
defaults and ranges come from `tf_cbam_style.options.web_demo_options()`,
their one home; this module only adds what belongs to the page itself:

- `maxContentSize`, `maxStyleSize`: the longer side, in pixels, that the
  page downscales the content and the style to. They keep a browser
  responsive on the wasm backend (about 30 s for a 512-px content with a
  256-px style on a 2-core machine; the style swap's cost grows with the
  style's area), so the style limit is below the command line's
  `styleMaxSize`.
- `strokeScaleChoices`: the stroke-mix check boxes, the default scales plus
  a very coarse one.
- `tileSize`, `tileOverlap`, `tileAlign`: the "full resolution (tiled)"
  mode (`web_demo/js/tiling.js`): square tiles of `tileSize` px (the Python
  tiled mode's default, `tiling.DEFAULT_TILE_SIZE`), neighbours sharing at
  least `tileOverlap` px (half the Python default: a tile costs about 30 s
  on wasm, and 64 px is 8 relu4_1 feature pixels, over which the linear
  feathers blend), every tile starting on a multiple of `tileAlign` px (a
  multiple of the encoder stride 8, so that every tile's feature grid and
  8x8 mask pooling sit on the photo's grid).

The tiled mode's memory limits, `maxTiledPixels` and `tiledBytesPerPixel`,
come from `web_demo_options()` too (`options.WEB_MAX_TILED_PIXELS`,
`options.WEB_TILED_BYTES_PER_PIXEL`).

Example:

>>> page_options()["region"], page_options()["regions"]
('all', ['all', 'foreground', 'background'])
"""

import json
import os

OPTIONS_JSON = "options.json"
MAX_CONTENT_SIZE = 512  # pixels, longer side of the content in the browser
MAX_STYLE_SIZE = 256  # pixels, longer side of the style in the browser
EXTRA_STROKE_SCALES = (0.35,)  # offered besides the default stroke scales
TILE_OVERLAP = 64  # pixels shared by neighbouring tiles in the browser
TILE_ALIGN = 16  # pixels; tiles start on multiples of it


def page_options():
    """The JSON-ready contents of `options.json`.

    Returns:
        `options.web_demo_options()` (camelCase keys: `alpha`,
        `strokeScales`, `numRegions`, `maxNumRegions`, `preserveColor`,
        `region`, `regions`, `colorTransfer*`, `matteRefineRadius` (px)
        and `matteRefineEpsilon`, `minImageSize`, `styleMaxSize`,
        `maxTiledPixels`, `tiledBytesPerPixel`) plus `maxContentSize`,
        `maxStyleSize` (pixels), `strokeScaleChoices` (floats in (0, 1],
        fine to coarse), `tileSize`, `tileOverlap` and `tileAlign` (pixels).
    """
    from tf_cbam_style.options import web_demo_options
    from tf_cbam_style.tiling import DEFAULT_TILE_SIZE

    options = web_demo_options()
    choices = sorted(set(options["strokeScales"]) | set(EXTRA_STROKE_SCALES), reverse=True)
    return {
        **options,
        "maxContentSize": MAX_CONTENT_SIZE,
        "maxStyleSize": min(MAX_STYLE_SIZE, options["styleMaxSize"]),
        "strokeScaleChoices": choices,
        "tileSize": DEFAULT_TILE_SIZE,
        "tileOverlap": TILE_OVERLAP,
        "tileAlign": TILE_ALIGN,
    }


def write_page_options(model_dir):
    """Writes `page_options()` to `model_dir/options.json`; returns its path."""
    path = os.path.join(model_dir, OPTIONS_JSON)
    with open(path, "w", encoding="utf-8") as f:
        json.dump(page_options(), f, indent=2)
        f.write("\n")
    return path
