"""Fits a model's attention alone to the features' global contrast, before a fine-tuning run.

The attention-contrast term of training (`losses.attention_contrast_loss`,
`tf-cbam-style train --contrast-weight`) pulls the attention map toward
`||f - mean f||`, how far each position's features are from the image's
mean feature: an unsupervised saliency cue (no labels; it never sees a
saliency mask). In a full training run Adam moves the few hundred weights
of CBAM's spatial attention by about the learning rate per step, so at the
decoder's 1e-4 the map barely turns in a few hundred steps. This tool fits
the attention alone first, at its own learning rate: the encoder is frozen
and the decoder is not involved, so a step costs one encoder pass of a
batch. The loss is the contrast term plus the AAMS sparsity term with the
model's own weights (`contrast_weight`, then `attention_weight`, both
scaled to the contrast term: `loss = contrast + attention_weight /
contrast_weight * mean|A|`). It prints the contrast loss (1 - correlation)
before and after on held-out crops and writes the model with the fitted
attention; the decoder, which was trained on the old attention's features,
then adapts in a run such as

    python tools/fit_attention_contrast.py saved_models/cbam_relu5_1/model.keras \\
        --data ../shared/data/photos --steps 300 --lr 1e-2 --contrast-weight 5e5 \\
        --no-encoder-weights -o /tmp/cbam_relu5_1_contrast_fit.keras
    tf-cbam-style train --data ../shared/data/photos --depth relu5_1 \\
        --init-from /tmp/cbam_relu5_1_contrast_fit.keras --contrast-weight 5e5 ...

Needs `$TF_CBAM_STYLE_VGG_WEIGHTS` (or online access) for a model archived
without its encoder weights.
"""

import argparse
import os
import sys


def main(argv=None):
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("model", help=".keras model (or model folder) whose attention is fitted")
    parser.add_argument("--data", required=True, help="folder of training photos")
    parser.add_argument("-o", "--out", required=True, help="the .keras file to write")
    parser.add_argument("--steps", type=int, default=300, help="Adam steps (batch 8, 128 px crops of 256 px photos)")
    parser.add_argument("--lr", type=float, default=1e-2, help="Adam learning rate of the attention")
    parser.add_argument("--contrast-weight", type=float, default=5e5,
                        help="the contrast weight recorded in the written model (the fine-tuning run's)")
    parser.add_argument("--no-encoder-weights", action="store_true",
                        help="leave the frozen VGG19 weights out of the archive, as the relu5_1 models ship")
    parser.add_argument("--seed", type=int, default=0)
    parser.add_argument("--overwrite", action="store_true")
    args = parser.parse_args(argv)
    if args.steps < 1:
        print(f"error: `--steps` must be at least 1. Received: steps={args.steps}", file=sys.stderr)
        return 2
    if not args.lr > 0 or not args.contrast_weight > 0:
        print(f"error: `--lr` and `--contrast-weight` must be positive. Received: lr={args.lr}, "
              f"contrast_weight={args.contrast_weight}", file=sys.stderr)
        return 2
    if os.path.exists(args.out) and not args.overwrite:
        print(f"error: `--out` exists; pass --overwrite to replace it. Received: out={args.out!r}", file=sys.stderr)
        return 2
    if not os.path.isdir(args.data):
        print(f"error: `--data` is not a folder. Received: data={args.data!r}", file=sys.stderr)
        return 2

    import keras
    import tensorflow as tf

    from tf_cbam_style import losses
    from tf_cbam_style.api import load_model
    from tf_cbam_style.data import make_dataset, scan_image_folder
    from tf_cbam_style.models import AttentionAutoencoder
    from tf_cbam_style.training_run import export_model

    source = load_model(args.model)
    config = source.get_config()
    config.update(contrast_weight=args.contrast_weight, store_encoder_weights=not args.no_encoder_weights,
                  encoder_weights="auto")
    model = AttentionAutoencoder.from_config(config)
    model.build()
    model.set_weights(source.get_weights())
    files = scan_image_folder(args.data).files
    train = iter(make_dataset(files, crop_size=128, image_size=256, batch_size=8, seed=args.seed))
    held_out = next(iter(make_dataset(files, crop_size=128, image_size=256, batch_size=32, seed=args.seed + 1)))
    sparsity = model.attention_weight / args.contrast_weight
    optimizer = keras.optimizers.Adam(args.lr)
    variables = model.attention.trainable_variables

    def objective(images):
        features = model.encoder(images)
        attended = model.attend(features)
        contrast = losses.attention_contrast_loss(attended["attention_map"], features)
        return contrast, contrast + sparsity * losses.attention_loss(attended["attention"])

    @tf.function
    def step(images):
        with tf.GradientTape() as tape:
            _, loss = objective(images)
        optimizer.apply_gradients(zip(tape.gradient(loss, variables), variables))
        return loss

    before = float(objective(held_out)[0])
    for i in range(args.steps):
        step(next(train))
        if (i + 1) % max(1, args.steps // 5) == 0:
            print(f"step {i + 1}: held-out contrast loss {float(objective(held_out)[0]):.4f}", flush=True)
    after = float(objective(held_out)[0])
    print(f"held-out contrast loss (1 - correlation): {before:.4f} -> {after:.4f}")
    export_model(model, args.out)
    print(f"Wrote {args.out}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
