"""Checks an `evaluate` run's per-pair CSV against the quality targets of issue 9.

    python tools/quality_targets.py reports/eval/pairs.csv

Prints one line per target, "reached" or "not reached", with the figures
(means over the pairs unless marked), as the README's Results section
quotes them:

- grid score <= 1.1 (mean) for every method decoded by our decoder;
- colours toward the style on every cbam pair (worst-pair ratio < 1);
- cbam better than the Magenta peer on content loss (relu4_1), style loss
  (mean/std) and SSIM at once, and a style loss no worse than our adain's;
- bg/salient change (median) >= 1.2 for cbam, <= 1.05 for the methods
  without attention.
"""

import argparse
import collections
import csv
import statistics
import sys

OUR_DECODER = ("cbam", "self_attention", "adain", "wct", "style_swap")
WITHOUT_ATTENTION = ("adain", "wct", "style_swap", "magenta")


def read_pairs(path):
    """`{method: {column: [float, ...]}}` from an `evaluate` pairs.csv."""
    columns = collections.defaultdict(lambda: collections.defaultdict(list))
    with open(path, newline="", encoding="utf-8") as f:
        for row in csv.DictReader(f):
            for key, value in row.items():
                try:
                    columns[row["method"]][key].append(float(value))
                except (TypeError, ValueError):
                    pass
    return columns


def target_lines(columns):
    """The target lines for the per-method columns of `read_pairs`."""

    def mean(method, key):
        return statistics.fmean(columns[method][key])

    def verdict(ok):
        return "reached" if ok else "not reached"

    lines = []
    present = [m for m in OUR_DECODER if m in columns]
    grids = {m: mean(m, "grid_score") for m in present}
    lines.append(f"- {verdict(all(g <= 1.1 for g in grids.values()))}: grid score <= 1.1 for every method "
                 "with our decoder (means: " + ", ".join(f"{m} {g:.2f}" for m, g in grids.items()) + ")")
    ratios = columns["cbam"]["color_ratio"]
    above = sum(r > 1 for r in ratios)
    lines.append(f"- {verdict(max(ratios) < 1)}: colours toward the style on every pair, worst-pair ratio < 1 "
                 f"(cbam worst {max(ratios):.3f}, {above} of {len(ratios)} pairs above 1; "
                 f"mean {statistics.fmean(ratios):.3f})")
    if "magenta" in columns and "adain" in columns:
        ours = {k: mean("cbam", k) for k in ("content_relu4_1", "style_loss", "ssim")}
        peer = {k: mean("magenta", k) for k in ours}
        adain = mean("adain", "style_loss")
        better = {"content_relu4_1": ours["content_relu4_1"] < peer["content_relu4_1"],
                  "style_loss": ours["style_loss"] < peer["style_loss"], "ssim": ours["ssim"] > peer["ssim"]}
        word = {True: "better", False: "worse"}
        lines.append(
            f"- {verdict(all(better.values()) and ours['style_loss'] <= adain)}: cbam against Magenta: "
            f"content relu4_1 {ours['content_relu4_1']:.4g} vs {peer['content_relu4_1']:.4g} "
            f"({word[better['content_relu4_1']]}), style {ours['style_loss']:.4g} vs {peer['style_loss']:.4g} "
            f"({word[better['style_loss']]}), SSIM {ours['ssim']:.3f} vs {peer['ssim']:.3f} "
            f"({word[better['ssim']]}); cbam style vs our adain {ours['style_loss']:.4g} vs {adain:.4g} "
            f"({'no worse' if ours['style_loss'] <= adain else 'worse'})")
    medians = {m: statistics.median(columns[m]["background_change_ratio"])
               for m in ("cbam",) + WITHOUT_ATTENTION if m in columns}
    others = {m: v for m, v in medians.items() if m != "cbam"}
    ok = medians["cbam"] >= 1.2 and all(v <= 1.05 for v in others.values())
    lines.append(f"- {verdict(ok)}: attention visible, bg/salient change (median) cbam {medians['cbam']:.3f} "
                 "(target >= 1.2) against " + ", ".join(f"{m} {v:.3f}" for m, v in others.items())
                 + " (target <= 1.05)")
    return lines


def main(argv=None):
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("pairs", help="pairs.csv written by `tf-cbam-style evaluate -o DIR`")
    args = parser.parse_args(argv)
    try:
        columns = read_pairs(args.pairs)
    except OSError as error:
        print(f"error: cannot read `pairs`. Received: pairs={args.pairs!r} ({error.strerror})", file=sys.stderr)
        return 2
    if "cbam" not in columns:
        print(f"error: `pairs` has no cbam rows. Received: pairs={args.pairs!r}", file=sys.stderr)
        return 2
    print("\n".join(target_lines(columns)))
    return 0


if __name__ == "__main__":
    sys.exit(main())
