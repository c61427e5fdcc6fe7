"""Exports the latest checkpoint of a training run folder as a `.keras` model.

A run stopped before its last step (`tf-cbam-style train` writes
`model.keras` only at the end) still has `checkpoint.weights.h5`, the
weights after its last finished epoch. This rebuilds the model with the
run's architecture, loads those weights and writes a self-contained
`.keras` file (encoder, attention and decoder; no optimizer state), then
prints its held-out reconstruction score when `--eval-data` is given.

    python tools/export_checkpoint.py ~/.cache/tf_cbam_style/runs/cbam_relu4_1_v2 \
        --attention cbam --depth relu4_1 --upsampling bilinear --perceptual-layer-weights balanced \
        -o /tmp/candidate.keras --eval-data ../shared/data/eval/content

Needs `$TF_CBAM_STYLE_VGG_WEIGHTS` (or online access) only to build the
encoder before the checkpoint overwrites it.
"""

import argparse
import os
import sys


def main(argv=None):
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("run", help="training run folder (holds checkpoint.weights.h5)")
    parser.add_argument("-o", "--out", required=True, help="the .keras file to write")
    parser.add_argument("--attention", default="cbam", choices=("cbam", "self_attention"))
    parser.add_argument("--depth", default="relu4_1", choices=("relu3_1", "relu4_1", "relu5_1"))
    parser.add_argument("--upsampling", default="bilinear", choices=("nearest", "bilinear"))
    parser.add_argument("--perceptual-layer-weights", default="balanced", choices=("aams", "balanced"))
    parser.add_argument("--eval-data", default=None, help="held-out photos: print PSNR/SSIM at 256 px")
    parser.add_argument("--no-encoder-weights", action="store_true",
                        help="leave the frozen VGG19 weights out of the archive (loading reads them from "
                             "$TF_CBAM_STYLE_VGG_WEIGHTS or the download): how the relu5_1 models ship, "
                             "at 52 MB instead of 104 MB")
    parser.add_argument("--contrast-weight", type=float, default=0.0,
                        help="the run's --contrast-weight, recorded in the model's config (default: 0)")
    parser.add_argument("--ssim-weight", type=float, default=0.0,
                        help="the run's --ssim-weight, recorded in the model's config (default: 0)")
    parser.add_argument("--overwrite", action="store_true")
    args = parser.parse_args(argv)

    checkpoint = os.path.join(args.run, "checkpoint.weights.h5")
    if not os.path.isfile(checkpoint):
        print(f"error: `run` holds no checkpoint.weights.h5. Received: run={args.run!r}", file=sys.stderr)
        return 2
    if os.path.exists(args.out) and not args.overwrite:
        print(f"error: `--out` exists; pass --overwrite to replace it. Received: out={args.out!r}",
              file=sys.stderr)
        return 2

    from tf_cbam_style.models import AttentionAutoencoder
    from tf_cbam_style.training_run import export_model

    layer_weights = None if args.perceptual_layer_weights == "aams" else "balanced"
    model = AttentionAutoencoder(depth=args.depth, attention=args.attention,
                                 decoder_upsampling=args.upsampling, perceptual_layer_weights=layer_weights,
                                 contrast_weight=args.contrast_weight, ssim_weight=args.ssim_weight,
                                 store_encoder_weights=not args.no_encoder_weights)
    model.build()
    model.load_weights(checkpoint)
    export_model(model, args.out)
    print(f"Wrote {args.out} from {checkpoint}")
    if args.eval_data:
        from tf_cbam_style.api import load_model
        from tf_cbam_style.data import scan_image_folder
        from tf_cbam_style.reconstruction import evaluate_reconstruction

        report = evaluate_reconstruction(load_model(args.out), scan_image_folder(args.eval_data).files, size=256)
        print(f"held-out reconstruction: PSNR {report.psnr:.2f} dB, SSIM {report.ssim:.4f}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
