"""Prints the figures that tests/test_end_to_end.py quotes in brackets.

    python tools/end_to_end_figures.py

The same measures as the tests' assertions, on the same sample pair
(examples/content/lotus.jpg × examples/style/candy.jpg, 256 px shorter
side), with the shipped models: the colour ratio of cbam and
self_attention, the edge correlation of each against the chance level
(an unrelated photo), and the foreground-only changes on the least salient
quarter and the most salient tenth of the pixels. Update the brackets (and,
with a margin, the thresholds) from it whenever a shipped model changes.
"""

import pathlib
import sys

REPO = pathlib.Path(__file__).resolve().parent.parent


def main():
    sys.path.insert(0, str(REPO))
    import numpy as np
    import tensorflow as tf

    import tf_cbam_style as tcs
    from tests.test_end_to_end import EXAMPLES, _resize, color_stats, edge_correlation
    from tf_cbam_style.io import load_image

    content = _resize(load_image(str(EXAMPLES / "content" / "lotus.jpg")))
    style = _resize(load_image(str(EXAMPLES / "style" / "candy.jpg")))
    unrelated = tf.image.resize(
        load_image(str(EXAMPLES / "content" / "sailboat.jpg"))[None], content.shape[:2])[0].numpy()
    chance = edge_correlation(unrelated, content)
    print(f"edge correlation, chance (sailboat against lotus): {chance:.3f}")
    for method in ("cbam", "self_attention"):
        out = tcs.stylize(content, style, method=method).image
        before = np.linalg.norm(color_stats(content) - color_stats(style))
        after = np.linalg.norm(color_stats(out) - color_stats(style))
        print(f"{method}: colour ratio {after / before:.3f}, "
              f"edge correlation {edge_correlation(out, content):.3f}")
    full = tcs.stylize(content, style)
    fg = tcs.stylize(content, style, region="foreground")
    background = full.attention_map < np.quantile(full.attention_map, 0.25)
    salient = full.attention_map > np.quantile(full.attention_map, 0.9)
    diff_fg = np.abs(fg.image - content).mean(-1)
    diff_full = np.abs(full.image - content).mean(-1)
    print(f"foreground only: least salient quarter changes "
          f"{diff_fg[background].mean() / diff_full[background].mean():.3f} of full stylization; "
          f"most salient tenth changes {diff_fg[salient].mean():.3f}")


if __name__ == "__main__":
    main()
