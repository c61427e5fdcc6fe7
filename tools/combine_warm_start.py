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
    parser.add_argument("-o", "--out", required=True, help="the .keras file to write")
    parser.add_argument("--overwrite", action="store_true")
    args = parser.parse_args(argv)
    if os.path.exists(args.out) and not args.overwrite:
        print(f"error: `--out` exists; pass --overwrite to replace it. Received: out={args.out!r}",
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
    export_model(combined, args.out)
    kept = "the attention of " + args.attention_from if attention_model else f"a fresh {args.attention} attention"
    print(f"Wrote {args.out}: {depth}, {kept}, the decoder of {args.decoder_from}"
          + (" (its tail)" if shared < len(source) else "")
          + (f" (its first {len(target) - shared} weight arrays fresh)" if shared < len(target) else ""))
    return 0


if __name__ == "__main__":
    sys.exit(main())
