"""Writes a warm-start model: the attention of one model, the decoder of another.

The decoder decodes VGG19 features to an image whatever the attention, and
at stylization time it decodes the coloured (style-swapped) features, not
the attended ones. So a better-trained decoder of one attention kind is a
good starting point for the other kind; the fine-tuning run
(`tf-cbam-style train --init-from OUT`) then adapts it to that attention.
This is how the v2 self-attention model was started (see
`saved_models/self_attention_relu4_1/README.md`):

    python tools/combine_warm_start.py --attention-from saved_models/self_attention_relu4_1/model.keras \\
        --decoder-from saved_models/cbam_relu4_1/model.keras -o /tmp/sa_warm_start.keras

The result has the attention kind and depth of `--attention-from`, and the
decoder configuration (upsampling, perceptual layer weights) of
`--decoder-from`.

A shallower model can start from a deeper decoder: the decoder mirrors VGG19,
so a relu3_1 decoder has exactly the layers of a relu4_1 decoder after its
relu3_1 point (the same shapes), and a relu5_1 decoder ends with all of a
relu4_1 decoder. With `--depth` and no `--attention-from`, the attention (of
`--attention`) starts fresh and the decoders share their common tail (a
deeper result's first layers start fresh, and its deeper encoder blocks come
from the VGG19 weights, `$TF_CBAM_STYLE_VGG_WEIGHTS`):

    python tools/combine_warm_start.py --depth relu3_1 --attention cbam \\
        --decoder-from saved_models/cbam_relu4_1/model.keras -o /tmp/cbam_relu3_1_init.keras

A deeper result's fresh first layers (the head: relu5_1 back to relu4_1's
size and channels) feed a tail that was trained on relu4_1 features, so
fresh ones give it noise: a relu5_1 run warm-started so reached 11.6 dB
held-out after 200 steps. `--fit-head DIR` first fits the head alone, with
Adam, to give the VGG19 relu4_1 features of photos in DIR (random 128 px
crops of photos resized to 256 px, as in training) from their attended
relu5_1 features; it prints the relative error `|head - relu4_1|^2 /
|relu4_1 - mean|^2` before and after:

    python tools/combine_warm_start.py --depth relu5_1 --attention cbam \\
        --decoder-from saved_models/cbam_relu4_1/model.keras \\
        --fit-head ../shared/data/photos --fit-head-steps 200 -o /tmp/cbam_relu5_1_init.keras
"""

import argparse
import os
import sys


def main(argv=None):
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--attention-from", default=None, help=".keras model whose attention is kept")
    parser.add_argument("--decoder-from", required=True, help=".keras model whose decoder is kept")
    parser.add_argument("--depth", default=None, choices=("relu3_1", "relu4_1", "relu5_1"),
                        help="depth of the result (default: that of --attention-from); shallower than "
                             "--decoder-from's takes the tail of its decoder")
    parser.add_argument("--attention", default="cbam", choices=("cbam", "self_attention"),
                        help="attention kind started fresh when --attention-from is not given")
    parser.add_argument("--fit-head", default=None, metavar="DIR",
                        help="photo folder: fit a deeper result's fresh head to the relu4_1 features first")
    parser.add_argument("--fit-head-steps", type=int, default=200, help="Adam steps of --fit-head after its ridge start (batch 8)")
    parser.add_argument("--fit-head-lr", type=float, default=1e-4, help="learning rate of --fit-head")
    parser.add_argument("--fit-head-ridge-batches", type=int, default=16,
                        help="batches of 8 crops the ridge start of --fit-head is solved on "
                             "(0: no ridge start, Adam from the fresh weights)")
    parser.add_argument("-o", "--out", required=True, help="the .keras file to write")
    parser.add_argument("--overwrite", action="store_true")
    args = parser.parse_args(argv)
    if os.path.exists(args.out) and not args.overwrite:
        print(f"error: `--out` exists; pass --overwrite to replace it. Received: out={args.out!r}",
              file=sys.stderr)
        return 2
    if args.fit_head_ridge_batches < 0 or args.fit_head_steps < 0:
        print("error: `--fit-head-steps` and `--fit-head-ridge-batches` must be >= 0. "
              f"Received: fit_head_steps={args.fit_head_steps}, "
              f"fit_head_ridge_batches={args.fit_head_ridge_batches}", file=sys.stderr)
        return 2
    if args.fit_head and not os.path.isdir(args.fit_head):
        print(f"error: `--fit-head` must be a folder of photos. Received: fit_head={args.fit_head!r}",
              file=sys.stderr)
        return 2
    if args.attention_from is None and args.depth is None:
        print("error: give `--attention-from` or `--depth`. Received: attention_from=None, depth=None",
              file=sys.stderr)
        return 2

    from tf_cbam_style.api import load_model
    from tf_cbam_style.models import AttentionAutoencoder
    from tf_cbam_style.training_run import export_model

    decoder_model = load_model(args.decoder_from)
    attention_model = load_model(args.attention_from) if args.attention_from else None
    depth = args.depth or attention_model.depth
    if attention_model is not None and attention_model.depth != depth:
        print(f"error: `--attention-from` is a {attention_model.depth} model. Received: depth={depth!r}",
              file=sys.stderr)
        return 2
    config = decoder_model.get_config()
    config["depth"] = depth
    config["attention"] = attention_model.attention_kind if attention_model else args.attention
    combined = AttentionAutoencoder.from_config(config)  # encoder_weights=None: set below
    combined.build()
    source = decoder_model.decoder.get_weights()
    target = combined.decoder.get_weights()
    shared = min(len(source), len(target))  # the decoders agree from the shallower one's input on
    if [w.shape for w in source[len(source) - shared:]] != [w.shape for w in target[len(target) - shared:]]:
        print(f"error: `--decoder-from` ({decoder_model.depth}) cannot give a {depth} decoder. "
              f"Received: decoder_from={args.decoder_from!r}", file=sys.stderr)
        return 2
    decoder_weights = target[: len(target) - shared] + source[len(source) - shared:]
    # VGG19 cut shallower is a prefix of VGG19 cut deeper; a deeper result
    # needs the VGG19 weights file for its deeper blocks.
    encoder = decoder_model.encoder.get_weights()
    if len(encoder) < len(combined.encoder.weights):
        from tf_cbam_style.models.vgg19_encoder import VGG19Encoder

        vgg = VGG19Encoder(depth=depth, weights="auto")
        vgg.build((None, None, None, 3))  # loads the weights
        encoder = encoder + vgg.get_weights()[len(encoder):]
    combined.encoder.set_weights(encoder[: len(combined.encoder.weights)])
    if attention_model is not None:
        combined.attention.set_weights(attention_model.attention.get_weights())
    combined.decoder.set_weights(decoder_weights)
    fresh = len(target) - shared
    if args.fit_head:
        if not fresh or decoder_model.depth != "relu4_1":
            print("error: `--fit-head` fits the fresh head of a result deeper than a relu4_1 "
                  f"`--decoder-from`. Received: fit_head={args.fit_head!r}, depth={depth!r}", file=sys.stderr)
            return 2
        fit_head(combined, args.fit_head, args.fit_head_steps, args.fit_head_lr,
                 ridge_batches=args.fit_head_ridge_batches)
    export_model(combined, args.out)
    kept = "the attention of " + args.attention_from if attention_model else f"a fresh {args.attention} attention"
    print(f"Wrote {args.out}: {depth}, {kept}, the decoder of {args.decoder_from}"
          + (" (its tail)" if shared < len(source) else "")
          + (f" (its first {fresh} weight arrays fresh" + (", fitted)" if args.fit_head else ")")
             if fresh else ""))
    return 0


def fit_head(model, photos, steps, learning_rate, batch_size=8, seed=0, ridge_batches=16):
    """Fits `model.decoder`'s layers before its relu4_1 point (the head) to
    turn the attended relu5_1 features of photo crops into their relu4_1
    features.

    From random weights, Adam alone hardly gets the head below the error of
    predicting each channel's mean (1.746 to 1.091 in 300 steps at 1e-3:
    `--fit-head-ridge-batches 0 --fit-head-steps 300 --fit-head-lr 1e-3`),
    so the head starts in closed form: its first convolutions pass
    the upsampled features through (identity centre taps), and the last is
    the ridge regression of the relu4_1 features on them over
    `ridge_batches` batches (`ridge_start`; 0 skips it); Adam then
    refines all of them at `learning_rate`.
    """
    import keras
    import numpy as np
    import tensorflow as tf

    from tf_cbam_style.data import make_dataset, scan_image_folder

    decoder = model.decoder
    head_end = decoder.blocks.index("relu4_1")
    head = decoder.blocks[:head_end]
    convs = [layer for layer in head if isinstance(layer, keras.layers.Conv2D)]
    variables = [v for layer in head if isinstance(layer, keras.layers.Layer) for v in layer.trainable_variables]

    def run_head(x):
        return decoder.run_blocks(x, head_end)

    @tf.function
    def features_of(images):
        features = model.encoder(images, return_intermediate=True)
        return model.attend(features["relu5_1"])["features"], features["relu4_1"]

    def relative_error(source, target):
        error = tf.reduce_sum(tf.square(run_head(source) - target))
        return error / tf.reduce_sum(tf.square(target - tf.reduce_mean(target, axis=[1, 2], keepdims=True)))

    files = scan_image_folder(photos).files
    batches = iter(make_dataset(files, crop_size=128, image_size=256, batch_size=batch_size, seed=seed))
    held_out = [features_of(next(batches)) for _ in range(4)]

    def measure():
        return float(np.mean([relative_error(*pair) for pair in held_out]))

    print(f"head relative error on 4 held-out batches: {measure():.3f} with fresh weights", flush=True)
    if ridge_batches:
        ridge_start(decoder, head, convs, features_of, batches, ridge_batches)
        print(f"head relative error on 4 held-out batches: {measure():.3f} after the ridge start", flush=True)

    optimizer = keras.optimizers.Adam(learning_rate)
    optimizer.build(variables)

    @tf.function
    def step(images):
        source, target = features_of(images)
        with tf.GradientTape() as tape:
            error = relative_error(source, target)
        optimizer.apply_gradients(zip(tape.gradient(error, variables), variables))
        return error

    for i in range(steps):
        error = step(next(batches))
        if (i + 1) % 50 == 0:
            print(f"  step {i + 1}: training batch {float(error):.3f}", flush=True)
    print(f"head relative error on 4 held-out batches: {measure():.3f} after {steps} Adam steps", flush=True)


def ridge_start(decoder, head, convs, features_of, batches, ridge_batches):
    """The head's closed-form start: identity centre taps up to its last
    convolution (the features are non-negative, so the ReLUs pass them),
    then the ridge regression of the relu4_1 features on what reaches the
    last convolution, over `ridge_batches` batches, as its centre tap."""
    import numpy as np

    for conv in convs[:-1]:
        kernel = np.zeros(conv.kernel.shape, np.float32)
        kernel[1, 1] = np.eye(kernel.shape[2], kernel.shape[3], dtype=np.float32)
        conv.set_weights([kernel, np.zeros(conv.bias.shape, np.float32)])
    inputs, targets = [], []
    for _ in range(ridge_batches):
        source, target = features_of(next(batches))
        before_last = decoder.run_blocks(source, head.index(convs[-1]) - 1)  # up to its padding
        inputs.append(before_last.numpy().reshape(-1, source.shape[-1]))
        targets.append(target.numpy().reshape(-1, target.shape[-1]))
    x, y = np.concatenate(inputs).astype(np.float64), np.concatenate(targets).astype(np.float64)
    x_mean, y_mean = x.mean(0), y.mean(0)
    gram = (x - x_mean).T @ (x - x_mean)
    gram += 1e-3 * np.trace(gram) / len(gram) * np.eye(len(gram))
    weights = np.linalg.solve(gram, (x - x_mean).T @ (y - y_mean))
    kernel = np.zeros(convs[-1].kernel.shape, np.float32)
    kernel[1, 1] = weights
    convs[-1].set_weights([kernel, (y_mean - x_mean @ weights).astype(np.float32)])


if __name__ == "__main__":
    sys.exit(main())
