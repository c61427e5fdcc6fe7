"""Writes a warm-start model: the attention of one model, the decoder of another.

The decoder decodes VGG19 features to an image whatever the attention, and
at stylization time it decodes the coloured (style-swapped) features, not
the attended ones. So a better-trained decoder of one attention kind is a
good starting point for the other kind; the fine-tuning run
(`tf-cbam-style train --init-from OUT`) then adapts it to that attention.
This is how the v2 self-attention model was started (see
`saved_models/self_attention_relu4_1/README.md`):

    python tools/combine_warm_start.py --attention-from saved_models/self_attention_relu4_1/model.keras \
        --decoder-from saved_models/cbam_relu4_1/model.keras -o /tmp/sa_warm_start.keras

The result has the attention kind and depth of `--attention-from`, and the
decoder configuration (upsampling, perceptual layer weights) of
`--decoder-from`.
"""

import argparse
import os
import sys


def main(argv=None):
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--attention-from", required=True, help=".keras model whose attention is kept")
    parser.add_argument("--decoder-from", required=True, help=".keras model whose decoder is kept")
    parser.add_argument("-o", "--out", required=True, help="the .keras file to write")
    parser.add_argument("--overwrite", action="store_true")
    args = parser.parse_args(argv)
    if os.path.exists(args.out) and not args.overwrite:
        print(f"error: `--out` exists; pass --overwrite to replace it. Received: out={args.out!r}",
              file=sys.stderr)
        return 2

    from tf_cbam_style.api import load_model
    from tf_cbam_style.models import AttentionAutoencoder
    from tf_cbam_style.training_run import export_model

    attention_model, decoder_model = load_model(args.attention_from), load_model(args.decoder_from)
    if attention_model.depth != decoder_model.depth:
        print(f"error: the two models have different depths. Received: depths="
              f"{attention_model.depth!r}, {decoder_model.depth!r}", file=sys.stderr)
        return 2
    config = decoder_model.get_config()
    config["attention"] = attention_model.get_config()["attention"]
    combined = AttentionAutoencoder.from_config(config)
    combined.build()
    combined.encoder.set_weights(decoder_model.encoder.get_weights())
    combined.attention.set_weights(attention_model.attention.get_weights())
    combined.decoder.set_weights(decoder_model.decoder.get_weights())
    export_model(combined, args.out)
    print(f"Wrote {args.out}: attention of {args.attention_from}, decoder of {args.decoder_from}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
