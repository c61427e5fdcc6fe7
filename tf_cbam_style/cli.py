"""The `tf-cbam-style` command line."""

import argparse
import os
import sys


def _add_train(subparsers):
    p = subparsers.add_parser("train", help="train the attention autoencoder on a folder of photos")
    p.add_argument("--data", required=True, help="folder of training photos (searched recursively)")
    p.add_argument("--out", default="runs/cbam_relu4_1", help="run folder: checkpoints, logs, model.keras")
    p.add_argument("--attention", default="cbam", choices=["cbam", "self_attention"])
    p.add_argument("--depth", default="relu4_1", choices=["relu3_1", "relu4_1", "relu5_1"])
    p.add_argument("--crop-size", type=int, default=256)
    p.add_argument("--batch-size", type=int, default=8, help="per replica")
    p.add_argument("--steps", type=int, default=10000)
    p.add_argument("--lr", type=float, default=1e-4)
    p.add_argument("--checkpoint-every", type=int, default=500, help="steps between checkpoints")
    p.add_argument("--seed", type=int, default=0)
    p.add_argument("--vgg-weights", default="auto",
                   help="Keras VGG19 weights file; default: $TF_CBAM_STYLE_VGG_WEIGHTS, else 'imagenet'")
    return p


def _run_train(args):
    from tf_cbam_style.training import train

    train(
        args.data, args.out, attention=args.attention, depth=args.depth,
        crop_size=args.crop_size, batch_size=args.batch_size, steps=args.steps,
        learning_rate=args.lr, checkpoint_every=args.checkpoint_every,
        seed=args.seed, vgg_weights=args.vgg_weights,
    )
    return 0


def build_parser():
    parser = argparse.ArgumentParser(
        prog="tf-cbam-style",
        description="Attention-aware arbitrary neural style transfer (CBAM / AAMS).",
    )
    subparsers = parser.add_subparsers(dest="command", required=True)
    _add_train(subparsers).set_defaults(func=_run_train)
    return parser


def main(argv=None):
    parser = build_parser()
    args = parser.parse_args(argv)
    return args.func(args)
