"""Contact sheets for a blind judgement of two pipeline versions.

    python tools/blind_judge_sheets.py --variants no_luminance_match,pipeline \\
        --models OLD.keras,saved_models/cbam_relu4_1/model.keras --out /tmp/judge --key /tmp/judge_key.json

Each row is content | style | LEFT | RIGHT at 384 px: the first `--pairs`
eval contents, the k-th with the (k mod 8)-th eval style, stylized by two
ablation variants (`tf_cbam_style.evaluation.ablation`), each with its own
model (default: the shipped one), the two results in an order shuffled per
row (`random.Random(--seed)`), both with the `--region` option (default
"all"; "foreground" or "background" to judge the region modes). Four rows a sheet (`sheet_1.png`, ...). The
key (which variant is on which side, per row) goes to `--key`, which must
lie outside `--out`, so that the judge, shown only `--out`, cannot read it.
docs/ablation.md §7-§10 used it for every blind judgement.
"""

import argparse
import json
import os
import random
import sys

CELL = 384
ROWS_PER_SHEET = 4


def main(argv=None):
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--variants", required=True, help="two ablation variants, comma-separated")
    parser.add_argument("--models", default=None, help="one .keras model per variant, comma-separated "
                        "(default: the shipped cbam_relu4_1 for both)")
    parser.add_argument("--contents", default="../shared/data/eval/content")
    parser.add_argument("--styles", default="../shared/data/eval/style")
    parser.add_argument("--pairs", type=int, default=16)
    parser.add_argument("--seed", type=int, default=2026)
    parser.add_argument("--region", default="all", choices=("all", "foreground", "background"),
                        help="the region option of both (default: all)")
    parser.add_argument("--out", required=True, help="folder for the sheets (shown to the judge)")
    parser.add_argument("--key", required=True, help="JSON file for the key (not shown to the judge)")
    parser.add_argument("--overwrite", action="store_true", help="replace existing sheets and key")
    args = parser.parse_args(argv)

    from tf_cbam_style.cli.common import expand_images
    from tf_cbam_style.evaluation import ablation

    variants = args.variants.split(",")
    models = args.models.split(",") if args.models else [None] * len(variants)
    if len(variants) != 2 or len(models) != 2:
        parser.error(f"--variants and --models need two entries each. Received: --variants={args.variants!r} "
                     f"--models={args.models!r}")
    if args.pairs < 1:
        parser.error(f"--pairs must be at least 1. Received: --pairs={args.pairs}")
    out, key_dir = os.path.abspath(args.out), os.path.dirname(os.path.abspath(args.key))
    if os.path.commonpath([out, key_dir]) == out:
        parser.error(f"--key must lie outside --out, which the judge sees. Received: --key={args.key!r}")
    try:
        for variant in variants:
            ablation.variant_parts(variant)
        contents = expand_images(args.contents, "contents")[: args.pairs]
        styles = expand_images(args.styles, "styles")[:8]
    except (ValueError, FileNotFoundError) as error:
        parser.error(str(error))
    sheets = [os.path.join(args.out, f"sheet_{k + 1}.png")
              for k in range((len(contents) + ROWS_PER_SHEET - 1) // ROWS_PER_SHEET)]
    existing = [p for p in sheets + [args.key] if os.path.exists(p)]
    if existing and not args.overwrite:
        parser.error(f"refusing to replace {existing[0]} without --overwrite. Received: --out={args.out!r}")

    import numpy as np
    from PIL import Image, ImageDraw

    from tf_cbam_style import api
    from tf_cbam_style.io import fit_max_size, load_image

    loaded = {m: api.load_model(m) for m in set(models)}
    methods = [ablation.make_method(loaded[m], v, region=args.region) for v, m in zip(variants, models)]
    rng = random.Random(args.seed)

    def tile(image):
        picture = Image.fromarray((np.clip(image, 0, 1) * 255 + 0.5).astype(np.uint8))
        picture.thumbnail((CELL, CELL))
        canvas = Image.new("RGB", (CELL, CELL), "white")
        canvas.paste(picture, ((CELL - picture.width) // 2, (CELL - picture.height) // 2))
        return canvas

    rows, key = [], []
    for i, content_path in enumerate(contents):
        style_path = styles[i % len(styles)]
        content = fit_max_size(load_image(content_path), CELL, min_size=32).image
        style = fit_max_size(load_image(style_path), CELL, min_size=32).image
        outputs = [method.stylize(content, style) for method in methods]
        order = [0, 1]
        rng.shuffle(order)
        key.append({"row": i + 1, "content": os.path.basename(content_path), "style": os.path.basename(style_path),
                    "left": variants[order[0]], "right": variants[order[1]],
                    "left_model": models[order[0]], "right_model": models[order[1]], "region": args.region})
        rows.append([tile(content), tile(style), tile(outputs[order[0]]), tile(outputs[order[1]])])
        print(f"row {i + 1}/{len(contents)}", flush=True)
    os.makedirs(args.out, exist_ok=True)
    for k, path in enumerate(sheets):
        chunk = rows[k * ROWS_PER_SHEET:(k + 1) * ROWS_PER_SHEET]
        sheet = Image.new("RGB", (4 * CELL + 30, len(chunk) * (CELL + 24)), "white")
        draw = ImageDraw.Draw(sheet)
        for r, row in enumerate(chunk):
            y = r * (CELL + 24)
            draw.text((4, y + 4), f"row {k * ROWS_PER_SHEET + r + 1}: content | style | LEFT | RIGHT", fill="black")
            for j, picture in enumerate(row):
                sheet.paste(picture, (j * (CELL + 10), y + 20))
        sheet.save(path)
    with open(args.key, "w", encoding="utf-8") as f:
        json.dump(key, f, indent=1)
    print(f"Wrote {len(sheets)} sheets to {args.out} and the key to {args.key}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
