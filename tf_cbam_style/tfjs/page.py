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


def page_options():
    """The JSON-ready contents of `options.json`.

    Returns:
        `options.web_demo_options()` (camelCase keys: `alpha`,
        `strokeScales`, `numRegions`, `maxNumRegions`, `preserveColor`,
        `region`, `regions`, `minImageSize`, `styleMaxSize`) plus
        `maxContentSize`, `maxStyleSize` (pixels) and `strokeScaleChoices`
        (floats in (0, 1], fine to coarse).
    """
    from tf_cbam_style.options import web_demo_options

    options = web_demo_options()
    choices = sorted(set(options["strokeScales"]) | set(EXTRA_STROKE_SCALES), reverse=True)
    return {
        **options,
        "maxContentSize": MAX_CONTENT_SIZE,
        "maxStyleSize": min(MAX_STYLE_SIZE, options["styleMaxSize"]),
        "strokeScaleChoices": choices,
    }


def write_page_options(model_dir):
    """Writes `page_options()` to `model_dir/options.json`; returns its path."""
    path = os.path.join(model_dir, OPTIONS_JSON)
    with open(path, "w", encoding="utf-8") as f:
        json.dump(page_options(), f, indent=2)
        f.write("\n")
    return path
