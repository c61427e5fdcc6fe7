"""Fine-texture energy of ablation variants, relative to the first one.

A blind judge saw more "fine grid" in the outputs of the feature feedback
(docs/ablation.md §7) while the grid score barely moved: the periodic
filter notches the exact harmonics of the stride, which the grid score
measures, and what the judge saw is spread over the bands beside them.
This prints, for each variant, the luminance spectral energy in three bands
of periods (2.5-3.5, 3.5-5 and 5-8 px; each axis's 1-D spectra averaged
over the other axis, summed over both axes) divided by the same energy of
the first variant on the same pair, as a geometric mean over the pairs.

    python tools/fine_texture_energy.py --variants pipeline,feature_feedback

Contents: every `--content-step`-th of the first 16 eval contents; styles:
the first 8 eval styles, one per content (as in the blind sheets).
"""

import argparse
import os
import sys

import numpy as np

sys.path.insert(0, os.path.join(os.path.dirname(os.path.abspath(__file__)), ".."))

from tf_cbam_style.evaluation.metrics import LUMA_WEIGHTS  # noqa: E402

BANDS = ((2.5, 3.5), (3.5, 5.0), (5.0, 8.0))  # periods in pixels


def band_energies(image):
    """Luminance spectral energy of `(H, W, 3)` `image` in each of `BANDS`."""
    luma = np.asarray(image, np.float64) @ np.asarray(LUMA_WEIGHTS)
    luma = luma - luma.mean()
    energies = np.zeros(len(BANDS))
    for axis in (0, 1):
        power = (np.abs(np.fft.rfft(luma, axis=axis)) ** 2).mean(axis=1 - axis)
        frequency = np.fft.rfftfreq(luma.shape[axis])
        for i, (low, high) in enumerate(BANDS):
            energies[i] += power[(frequency > 1.0 / high) & (frequency <= 1.0 / low)].sum()
    return energies


def main(argv=None):
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--variants", default="pipeline,feature_feedback",
                        help="comma-separated ablation variants; the first is the reference")
    parser.add_argument("--contents", default="../shared/data/eval/content")
    parser.add_argument("--styles", default="../shared/data/eval/style")
    parser.add_argument("--content-step", type=int, default=3)
    parser.add_argument("--size", type=int, default=384)
    parser.add_argument("--model", default=None, help="CBAM .keras model (default: the shipped one)")
    args = parser.parse_args(argv)
    if args.content_step < 1:
        parser.error(f"`--content-step` must be >= 1. Received: content_step={args.content_step}")

    from tf_cbam_style import api
    from tf_cbam_style.cli.common import expand_images
    from tf_cbam_style.evaluation.ablation import make_method, variant_parts
    from tf_cbam_style.io import fit_max_size, load_image

    variants = args.variants.split(",")
    try:
        for variant in variants:
            variant_parts(variant)
        contents = expand_images(args.contents, "contents")[:16:args.content_step]
        styles = expand_images(args.styles, "styles")[:8]
    except ValueError as error:
        parser.error(str(error))
    model = api.load_model(args.model)
    methods = [make_method(model, v) for v in variants]
    ratios = {v: [] for v in variants}
    for i, path in enumerate(contents):
        content = fit_max_size(load_image(path), args.size).image
        style = fit_max_size(load_image(styles[(i * args.content_step) % len(styles)]), args.size).image
        energies = [band_energies(m.stylize(content, style)) for m in methods]
        for variant, energy in zip(variants, energies):
            ratios[variant].append(energy / energies[0])
    bands = ", ".join(f"{low:g}-{high:g} px" for low, high in BANDS)
    print(f"{len(contents)} pairs at {args.size} px; energy in the period bands {bands}, "
          f"relative to {variants[0]!r} (geometric mean over the pairs):")
    for variant in variants:
        means = np.exp(np.log(np.array(ratios[variant])).mean(axis=0))
        print(f"  {variant}: " + ", ".join(f"{m:.2f}" for m in means))
    return 0


if __name__ == "__main__":
    sys.exit(main())
