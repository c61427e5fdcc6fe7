"""`tf-cbam-style train`, `tf-cbam-style reconstruct` and `tf-cbam-style profile-training`."""

import os

from tf_cbam_style import options as opts
from tf_cbam_style.cli import common


def register(subparsers):
    """Adds `train`, `reconstruct` and `profile-training` to the main parser's subparsers."""
    _add_train(subparsers).set_defaults(func=run_train)
    _add_reconstruct(subparsers).set_defaults(func=run_reconstruct)
    _add_profile_training(subparsers).set_defaults(func=run_profile_training)


def _add_train(subparsers):
    p = subparsers.add_parser("train", help="train the attention autoencoder on a folder of photos")
    p.add_argument("--data", required=True,
                   help="folder of training photos (searched recursively), or tfds:NAME, e.g. tfds:coco/2017")
    p.add_argument("--out", default="runs/cbam_relu4_1", help="run folder: checkpoints, logs, model.keras")
    p.add_argument("--attention", default="cbam", choices=opts.ATTENTIONS)
    p.add_argument("--depth", default=opts.DEFAULT_DEPTH, choices=opts.DEPTHS)
    p.add_argument("--crop-size", type=int, default=256)
    p.add_argument("--batch-size", type=int, default=8, help="per replica")
    p.add_argument("--steps", type=int, default=10000)
    p.add_argument("--lr", type=float, default=1e-4)
    p.add_argument("--checkpoint-every", type=int, default=500, help="steps between checkpoints")
    p.add_argument("--seed", type=int, default=0)
    p.add_argument("--vgg-weights", default="auto",
                   help="Keras VGG19 weights file; default: $TF_CBAM_STYLE_VGG_WEIGHTS, else 'imagenet'")
    p.add_argument("--crop-schedule", default=None, metavar="CROP:STEPS,...",
                   help="curriculum, e.g. 128:3000,256:1000 (overrides --crop-size and --steps); "
                        "a phase longer than --checkpoint-every must be a multiple of it")
    p.add_argument("--image-size", type=int, default=None,
                   help="shorter side photos are resized to before cropping (default: the crop size)")
    p.add_argument("--lr-schedule", default="constant", choices=["constant", "cosine"],
                   help="cosine: from --lr down to a tenth of it over all steps")
    p.add_argument("--init-from", default=None, metavar="MODEL",
                   help="warm start: attention and decoder weights of this .keras model or model folder")
    p.add_argument("--freeze-attention", action="store_true",
                   help="train the decoder only; the attention keeps its --init-from weights "
                   "(e.g. after tools/fit_attention_contrast.py)")
    p.add_argument("--upsampling", default="bilinear", choices=["nearest", "bilinear"],
                   help="the decoder's x2 upsampling")
    p.add_argument("--skip-statistics", action="store_true",
                   help="AAMS decoder: re-normalise to the relu3_1/relu2_1/relu1_1 statistics")
    p.add_argument("--eval-data", default=None, metavar="DIR",
                   help="held-out photos scored (PSNR/SSIM) after every checkpoint")
    p.add_argument("--precision", default="float32", choices=opts.PRECISIONS,
                   help="mixed_bfloat16: layers compute in bfloat16, weights and losses stay float32; "
                   "about 2x faster on CPUs with bfloat16 instructions (tf-cbam-style profile-training "
                   "measures it)")
    p.add_argument("--threads", type=int, default=0,
                   help="TensorFlow threads (0: all cores); 1 leaves a core free")
    p.add_argument("--perceptual-layer-weights", default="balanced", metavar="balanced|aams|L=W,...",
                   help="per-layer weights of the perceptual loss: 'balanced' (default: every layer "
                   "counts about equally), 'aams' (all 1) or e.g. relu1_1=100,relu4_1=1")
    for name in ("pixel", "perceptual", "tv", "attention"):
        p.add_argument(f"--{name}-weight", type=float, default=None,
                       help=f"loss weight of the {name} term (default: AAMS)")
    p.add_argument("--contrast-weight", type=float, default=None,
                   help="weight of the attention-contrast term, which pulls the attention map toward the "
                   "features' global contrast (default: 0, off; not in AAMS)")
    p.add_argument("--ssim-weight", type=float, default=None,
                   help="weight of the SSIM term, 1 - SSIM(output, photo), the structure the held-out "
                   "SSIM measures (default: 0, off; not in AAMS)")
    # Scale-out: TensorFlow Datasets and multi-worker training (docs/training.md).
    p.add_argument("--tfds-data-dir", default=None, metavar="DIR",
                   help="TFDS data folder for --data tfds:NAME (default: ~/tensorflow_datasets)")
    p.add_argument("--tfds-download", action="store_true",
                   help="download and prepare a missing TFDS dataset (one host; default: offline)")
    p.add_argument("--tfds-split", default="train", help="TFDS split to train on (default: train)")
    p.add_argument("--strategy", default="auto", choices=["auto", "single-host", "multi-worker"],
                   help="auto: multi-worker when TF_CONFIG describes a cluster, else single-host (model.fit)")
    p.add_argument("--peer-timeout", type=float, default=None, metavar="SECONDS",
                   help="multi-worker: wait this long for a peer, at start-up and in each all-reduce "
                   "(default: 300)")
    p.add_argument("--max-restarts", type=int, default=None,
                   help="multi-worker: restarts of this worker in a row to rejoin after a lost peer (default: 5)")
    return p


def _set_threads(threads):
    """`--threads`: TensorFlow's intra- and inter-op threads (0 keeps its default, all cores)."""
    import tensorflow as tf

    if threads:
        tf.config.threading.set_intra_op_parallelism_threads(threads)
        tf.config.threading.set_inter_op_parallelism_threads(threads)


def run_train(args):
    _set_threads(args.threads)
    from tf_cbam_style.training import train

    weights = {f"{n}_weight": getattr(args, f"{n}_weight")
               for n in ("pixel", "perceptual", "tv", "attention", "contrast", "ssim")
               if getattr(args, f"{n}_weight") is not None}
    if args.perceptual_layer_weights:
        from tf_cbam_style.training import parse_layer_weights

        weights["perceptual_layer_weights"] = parse_layer_weights(args.perceptual_layer_weights)
    from tf_cbam_style.distributed import DEFAULT_MAX_RESTARTS, PeerLostError, rejoin_cluster
    from tf_cbam_style.training import DEFAULT_PEER_TIMEOUT

    try:
        train(
            args.data, args.out, attention=args.attention, depth=args.depth,
            crop_size=args.crop_size, batch_size=args.batch_size, steps=args.steps,
            learning_rate=args.lr, checkpoint_every=args.checkpoint_every,
            seed=args.seed, vgg_weights=args.vgg_weights, crop_schedule=args.crop_schedule,
            lr_schedule=args.lr_schedule, init_from=args.init_from,
            freeze_attention=args.freeze_attention, decoder_upsampling=args.upsampling,
            skip_statistics=args.skip_statistics, eval_data=args.eval_data, loss_weights=weights or None,
            image_size=args.image_size, strategy=args.strategy, tfds_data_dir=args.tfds_data_dir,
            tfds_download=args.tfds_download, tfds_split=args.tfds_split,
            peer_timeout=DEFAULT_PEER_TIMEOUT if args.peer_timeout is None else args.peer_timeout,
            precision=args.precision,
        )
    except PeerLostError as error:
        restarts = DEFAULT_MAX_RESTARTS if args.max_restarts is None else args.max_restarts
        rejoin_cluster(error, max_restarts=restarts)  # replaces this process, or raises
    return 0


def _add_reconstruct(subparsers):
    p = subparsers.add_parser(
        "reconstruct", help="held-out reconstruction quality (PSNR, SSIM) of a trained model"
    )
    p.add_argument("--data", required=True, help="folder of held-out photos")
    p.add_argument("--model", default=None, help=".keras model (default: the shipped CBAM model)")
    p.add_argument("--size", type=int, default=256, help="shorter side the photos are resized to")
    p.add_argument("--per-image", action="store_true", help="also print each image's numbers")
    return p


def run_reconstruct(args):
    common.check_model_path(args.model)
    if args.size < opts.MIN_IMAGE_SIZE:
        raise ValueError(f"`--size` must be at least {opts.MIN_IMAGE_SIZE}. Received: size={args.size}")

    from tf_cbam_style import api
    from tf_cbam_style.data import scan_image_folder
    from tf_cbam_style.reconstruction import evaluate_reconstruction

    scan = scan_image_folder(args.data)
    if not scan.files:
        raise ValueError(f"`--data` holds no readable images. Received: data={args.data!r}")
    model = api.load_model(args.model)
    report = evaluate_reconstruction(model, scan.files, size=args.size)
    if args.per_image:
        for name, psnr, ssim in report.per_image:
            print(f"{name:50s} PSNR {psnr:6.2f} dB  SSIM {ssim:.4f}")
    print(
        f"{len(report.per_image)} images at {report.size} px: "
        f"PSNR {report.psnr:.2f} dB, SSIM {report.ssim:.4f}"
    )
    return 0


def _add_profile_training(subparsers):
    p = subparsers.add_parser(
        "profile-training", help="time one training step stage by stage, per precision (and XLA)"
    )
    p.add_argument("--data", required=True, help="folder of training photos (the first 64 are used)")
    p.add_argument("--model", default=None, help=".keras model to profile (default: the shipped CBAM model)")
    p.add_argument("--crop-size", type=int, default=128)
    p.add_argument("--batch-size", type=int, default=8)
    p.add_argument("--precisions", default=",".join(opts.PRECISIONS), metavar="P,P",
                   help=f"comma-separated, of {', '.join(opts.PRECISIONS)} (default: all)")
    p.add_argument("--xla", action="store_true", help="also profile each precision XLA-compiled")
    p.add_argument("--repeats", type=int, default=3, help="timed calls per stage (median; default: 3)")
    p.add_argument("--threads", type=int, default=0, help="TensorFlow threads (0: all cores)")
    return p


def run_profile_training(args):
    """Prints `train_profile_table` for each precision (and XLA) of `--precisions`."""
    precisions = [p.strip() for p in args.precisions.split(",")]
    if any(p not in opts.PRECISIONS for p in precisions):
        raise ValueError(f"`--precisions` must name some of {opts.PRECISIONS}. "
                         f"Received: precisions={args.precisions!r}")
    for name in ("crop_size", "batch_size", "repeats"):
        if getattr(args, name) < 1:
            raise ValueError(f"`--{name.replace('_', '-')}` must be a positive int. "
                             f"Received: {name}={getattr(args, name)}")
    if args.crop_size < opts.MIN_IMAGE_SIZE:
        raise ValueError(f"`--crop-size` must be at least {opts.MIN_IMAGE_SIZE}. Received: crop_size={args.crop_size}")
    common.check_model_path(args.model)
    _set_threads(args.threads)
    import keras
    import tensorflow as tf

    import tf_cbam_style.models  # noqa: F401  (registers the classes for loading)
    from tf_cbam_style.api import default_model_path
    from tf_cbam_style.data import scan_image_folder
    from tf_cbam_style.evaluation.train_profile import loss_table, profile_training_step, train_profile_table

    files = scan_image_folder(args.data).files[:64]
    if not files:
        raise ValueError(f"`--data` holds no readable images. Received: data={args.data!r}")
    path = str(args.model or default_model_path())
    if os.path.isdir(path):
        path = os.path.join(path, "model.keras")
    profiles = []
    for precision in precisions:
        for jit in ((False, True) if args.xla else (False,)):
            model = keras.saving.load_model(path, compile=False)  # a fresh copy per profile
            label = f"{precision}{' XLA' if jit else ''}"
            try:
                profiles.append(profile_training_step(model, files, crop_size=args.crop_size,
                                                      batch_size=args.batch_size, repeats=args.repeats,
                                                      jit_compile=jit, precision=precision))
            except tf.errors.OpError as error:
                # XLA does not compile every combination (TF 2.21 rejects the
                # bfloat16 bilinear-resize gradient); the others still count.
                reason = str(error.message).strip().splitlines()[0][:200]
                print(f"not profiled: {label}: {type(error).__name__}: {reason}", flush=True)
                continue
            print(f"profiled {label}", flush=True)
    if not profiles:
        raise RuntimeError("`profile-training` could not run any profile (see the lines above). "
                           f"Received: precisions={args.precisions!r}, xla={args.xla}")
    print(f"One training step of batch {args.batch_size} on {args.crop_size} px crops, "
          f"median of {args.repeats} (seconds, % of the step):")
    print(train_profile_table(profiles))
    print("\nThe loss terms of the same batch before any update (difference to the first column):")
    print(loss_table(profiles))
    return 0
