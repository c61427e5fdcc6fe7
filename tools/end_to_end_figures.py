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
    import tf_cbam_style as tcs
    from tests.test_end_to_end import (
        chance_edge_correlation, colour_distances, edge_correlation, foreground_changes, load_sample,
    )

    content, style = load_sample()
    print(f"edge correlation, chance (sailboat against lotus): {chance_edge_correlation(content):.3f}")
    for method in ("cbam", "self_attention"):
        out = tcs.stylize(content, style, method=method).image
        before, after = colour_distances(out, content, style)
        print(f"{method}: colour ratio {after / before:.3f}, "
              f"edge correlation {edge_correlation(out, content):.3f}")
    fg_background, full_background, fg_salient = foreground_changes(content, style)
    print(f"foreground only: least salient quarter changes {fg_background / full_background:.3f} "
          f"of full stylization; most salient tenth changes {fg_salient:.3f}")


if __name__ == "__main__":
    main()
