"""The mean/std style loss of docs/results.md split by VGG layer, per method.

    python tools/style_loss_by_layer.py --max-contents 5 --max-styles 2 --size 384

Runs each method of `--methods` (names of `evaluation.methods`, the
shipped models) on the first eval contents x styles and prints, per
method, the mean over pairs of `metrics.style_loss` at each of relu1_1 ..
relu5_1 alone (the table's style loss is their mean), with the relu4_1
content loss and the SSIM beside. docs/ablation.md section 5 quotes it.
"""

import argparse
import sys


def main(argv=None):
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--contents", default="../shared/data/eval/content")
    parser.add_argument("--styles", default="../shared/data/eval/style")
    parser.add_argument("--max-contents", type=int, default=5)
    parser.add_argument("--max-styles", type=int, default=2)
    parser.add_argument("--size", type=int, default=384)
    parser.add_argument("--methods", default="cbam,magenta")
    args = parser.parse_args(argv)

    import numpy as np

    from tf_cbam_style.cli.common import expand_images
    from tf_cbam_style.evaluation import metrics
    from tf_cbam_style.evaluation.methods import make_method
    from tf_cbam_style.evaluation.vgg_features import vgg19_features
    from tf_cbam_style.io import fit_max_size, load_image

    contents = expand_images(args.contents, "contents")[: args.max_contents]
    styles = expand_images(args.styles, "styles")[: args.max_styles]
    methods = [make_method(name) for name in args.methods.split(",")]
    vgg = vgg19_features()

    def features(image):
        return {k: v[0].numpy() for k, v in vgg(np.asarray(image, np.float32)[None]).items()}

    def load(path):
        return fit_max_size(load_image(path), args.size, min_size=32).image

    styles = [(style, features(style)) for style in map(load, styles)]  # once, not per content
    rows = {m.name: [] for m in methods}
    for content_path in contents:
        content = load(content_path)
        content_features = features(content)
        for style, style_features in styles:
            for method in methods:
                image = np.clip(np.asarray(method.stylize(content, style), np.float32), 0.0, 1.0)
                image_features = features(image)
                rows[method.name].append(
                    [metrics.style_loss(image_features, style_features, layers=(layer,))
                     for layer in metrics.STYLE_LAYERS]
                    + [metrics.content_loss(image_features["relu4_1"], content_features["relu4_1"]),
                       metrics.ssim(image, content)])
    print(f"{len(contents)} contents x {len(styles)} styles, longer side {args.size} px; means over pairs")
    print("| method | " + " | ".join(metrics.STYLE_LAYERS) + " | style (mean) | content relu4_1 | SSIM |")
    print("|---" * (len(metrics.STYLE_LAYERS) + 4) + "|")
    for name, values in rows.items():
        m = np.mean(values, axis=0)
        layers = m[: len(metrics.STYLE_LAYERS)]
        print(f"| `{name}` | " + " | ".join(f"{v:.3g}" for v in layers)
              + f" | {layers.mean():.3g} | {m[-2]:.3g} | {m[-1]:.3f} |")
    return 0


if __name__ == "__main__":
    sys.exit(main())
