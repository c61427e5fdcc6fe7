"""Reconstruction training of the attention autoencoder with `model.fit`."""

import json
import math
import os
import platform
import sys
import time

import keras
import tensorflow as tf

from tf_cbam_style.data import make_dataset, scan_image_folder
from tf_cbam_style.models.attention_autoencoder import AttentionAutoencoder


def choose_strategy():
    """MirroredStrategy over the visible GPUs, else the default strategy."""
    gpus = tf.config.list_logical_devices("GPU")
    if gpus:
        return tf.distribute.MirroredStrategy()
    return tf.distribute.get_strategy()


def export_model(model, path):
    """Saves `model` without optimizer state as a self-contained `.keras` file.

    The archive holds the encoder up to its depth, the attention and the
    decoder, so it runs offline without the VGG weights file.
    """
    config = model.get_config()
    fresh = AttentionAutoencoder.from_config(config)
    fresh.build()
    fresh.set_weights(model.get_weights())
    directory = os.path.dirname(os.path.abspath(path))
    os.makedirs(directory, exist_ok=True)
    tmp = path + ".tmp.keras"
    fresh.save(tmp)
    os.replace(tmp, path)
    return path


def parse_crop_schedule(text):
    """Parses `"128:3000,256:1000"` into `[(128, 3000), (256, 1000)]` (crop px, steps).

    Raises:
        ValueError: naming the argument, for anything else.
    """
    phases = []
    for part in str(text).split(","):
        try:
            crop, steps = (int(v) for v in part.split(":"))
        except ValueError:
            raise ValueError(
                "`crop_schedule` must look like 128:3000,256:1000 (crop size:steps, ...). "
                f"Received: crop_schedule={text!r}"
            ) from None
        if crop < 32 or steps < 1:
            raise ValueError(
                "`crop_schedule` needs crops of at least 32 px and at least 1 step per phase. "
                f"Received: crop_schedule={text!r}"
            )
        phases.append((crop, steps))
    return phases


def parse_layer_weights(text):
    """`"balanced"` or `"relu1_1=100,relu4_1=1"` -> what `AttentionAutoencoder` takes."""
    if text == "balanced":
        return "balanced"
    weights = {}
    for part in str(text).split(","):
        name, _, value = part.partition("=")
        try:
            weights[name.strip()] = float(value)
        except ValueError:
            raise ValueError(
                "`perceptual_layer_weights` must be 'balanced' or look like relu1_1=100,relu4_1=1. "
                f"Received: perceptual_layer_weights={text!r}"
            ) from None
    return weights


def measure_feature_energy(files, crop_size=128, crops=512, seed=0, vgg_weights="auto"):
    """Mean square of each perceptual layer's VGG19 features over random crops.

    Returns:
        dict layer -> mean square, and the balanced weights
        `mean_square(relu4_1) / mean_square(layer)` (see
        `attention_autoencoder.BALANCED_LAYER_WEIGHTS`).
    """
    from tf_cbam_style.models.attention_autoencoder import PERCEPTUAL_LAYERS
    from tf_cbam_style.models.vgg19_encoder import VGG19Encoder

    encoder = VGG19Encoder("relu4_1", weights=vgg_weights)
    dataset = make_dataset(files, crop_size=crop_size, batch_size=16, seed=seed)
    sums = {k: 0.0 for k in PERCEPTUAL_LAYERS}
    for batch in dataset.take(max(1, crops // 16)):
        features = encoder(batch, return_intermediate=True)
        for k in PERCEPTUAL_LAYERS:
            sums[k] += float(tf.reduce_mean(tf.square(features[k])))
    energy = {k: v / max(1, crops // 16) for k, v in sums.items()}
    return energy, {k: energy["relu4_1"] / energy[k] for k in PERCEPTUAL_LAYERS}


def copy_trainable_weights(source, target):
    """Copies the attention and decoder weights of `source` into `target`.

    Both are `AttentionAutoencoder`s of the same depth and attention; the
    decoder may differ in upsampling or skip statistics (same weights).

    Raises:
        ValueError: when the attention kind, the depth or a weight shape differ.
    """
    if (source.depth, source.attention_kind) != (target.depth, target.attention_kind):
        raise ValueError(
            f"`init_from` must be a {target.attention_kind} model at {target.depth}. "
            f"Received: a {source.attention_kind} model at {source.depth}"
        )
    for part in ("attention", "decoder"):
        weights = getattr(source, part).get_weights()
        layer = getattr(target, part)
        shapes = [w.shape for w in weights], [tuple(v.shape) for v in layer.weights]
        if [tuple(s) for s in shapes[0]] != shapes[1]:
            raise ValueError(f"`init_from` has other {part} weight shapes. Received: {shapes[0]}")
        layer.set_weights(weights)


class _RunClock(keras.callbacks.Callback):
    """Adds this run's wall time to `out/wall_time.json` after every epoch,
    so that the total over interrupted and resumed runs is known."""

    def __init__(self, path):
        super().__init__()
        self.path = path
        self.start = time.time()
        self.before = 0.0
        if os.path.isfile(path):
            with open(path) as f:
                self.before = float(json.load(f).get("wall_time_s_total", 0.0))

    def total(self):
        return self.before + time.time() - self.start

    def on_epoch_end(self, epoch, logs=None):
        with open(self.path, "w") as f:
            json.dump({"wall_time_s_total": round(self.total(), 1)}, f)


class _HeldOut(keras.callbacks.Callback):
    """Held-out reconstruction PSNR/SSIM after every epoch (logged as
    `val_psnr` / `val_ssim` and printed)."""

    def __init__(self, files, size):
        super().__init__()
        self.files = files
        self.size = size

    def on_epoch_end(self, epoch, logs=None):
        from tf_cbam_style.reconstruction import evaluate_reconstruction

        report = evaluate_reconstruction(self.model, self.files, size=self.size)
        if logs is not None:
            logs["val_psnr"] = report.psnr
            logs["val_ssim"] = report.ssim
        print(f"held-out reconstruction: PSNR {report.psnr:.2f} dB, SSIM {report.ssim:.3f}", flush=True)


def train(
    data,
    out,
    attention="cbam",
    depth="relu4_1",
    crop_size=256,
    batch_size=8,
    steps=10000,
    learning_rate=1e-4,
    checkpoint_every=500,
    seed=0,
    vgg_weights="auto",
    verbose="auto",
    callbacks=None,
    crop_schedule=None,
    lr_schedule="constant",
    init_from=None,
    decoder_upsampling="nearest",
    skip_statistics=False,
    eval_data=None,
    eval_size=256,
    loss_weights=None,
    image_size=None,
):
    """Trains an `AttentionAutoencoder` to reconstruct the photos in `data`.

    Resumes from `out/backup*` when a previous run was interrupted, writes
    TensorBoard logs to `out/logs`, the latest weights to
    `out/checkpoint.weights.h5`, the final model to `out/model.keras` and the
    run's facts to `out/training.json`.

    Args:
        data: folder of training photos (searched recursively).
        out: run folder.
        attention, depth: the model (see `AttentionAutoencoder`).
        crop_size, steps: one phase of `steps` steps on `crop_size` crops;
            ignored when `crop_schedule` is given.
        batch_size: per replica.
        learning_rate: Adam's (peak) learning rate.
        checkpoint_every: steps per epoch: checkpoints, logs and resume points.
        seed: crop and shuffle seed (phase `i` uses `seed + i`).
        vgg_weights: see `VGG19Encoder`.
        verbose: Keras verbosity, `"auto"` = a bar on a terminal, else a line per epoch.
        callbacks: extra Keras callbacks, run after the built-in ones.
        crop_schedule: a curriculum, `[(crop, steps), ...]` or a string
            such as `"128:3000,256:1000"` (see `parse_crop_schedule`).
        lr_schedule: `"constant"` or `"cosine"` (from `learning_rate` down to
            a tenth of it over all steps).
        init_from: a `.keras` model (or model folder) whose attention and
            decoder weights start the run (warm start); ignored when
            resuming.
        decoder_upsampling, skip_statistics: the decoder (see `Decoder`).
        eval_data: optional folder of held-out photos, scored after every
            epoch (PSNR/SSIM at `eval_size` px, see `reconstruction`).
        image_size: shorter side photos are resized to before cropping
            (see `make_dataset`); default: the crop size.
        loss_weights: optional dict overriding `pixel_weight`,
            `perceptual_weight`, `tv_weight` and `attention_weight`.

    Returns:
        The path of the final `.keras` model.

    Raises:
        ValueError: for a non-positive size, step count or batch, a bad
            schedule, or a `data` folder without readable images.
    """
    for name, value in (("crop_size", crop_size), ("batch_size", batch_size), ("steps", steps),
                        ("checkpoint_every", checkpoint_every)):
        if not isinstance(value, int) or value < 1:
            raise ValueError(f"`{name}` must be a positive int. Received: {name}={value!r}")
    if crop_size < 32:
        raise ValueError(f"`crop_size` must be at least 32. Received: crop_size={crop_size}")
    if lr_schedule not in ("constant", "cosine"):
        raise ValueError(f"`lr_schedule` must be 'constant' or 'cosine'. Received: lr_schedule={lr_schedule!r}")
    if isinstance(crop_schedule, str):
        crop_schedule = parse_crop_schedule(crop_schedule)
    phases = list(crop_schedule) if crop_schedule else [(crop_size, steps)]
    scan = scan_image_folder(data)
    skipped = sum(scan.skipped.values())
    print(
        f"Found {len(scan.files)} images in {data}"
        + (f"; skipped {skipped} ({', '.join(f'{v} {k}' for k, v in scan.skipped.items())})" if skipped else ""),
        flush=True,
    )
    if not scan.files:
        raise ValueError(f"`data` holds no readable images. Received: data={data!r}")
    eval_files = scan_image_folder(eval_data).files if eval_data else []
    os.makedirs(out, exist_ok=True)
    keras.utils.set_random_seed(seed)

    strategy = choose_strategy()
    replicas = strategy.num_replicas_in_sync
    global_batch = batch_size * replicas
    total_steps = sum(s for _, s in phases)
    with strategy.scope():
        model = AttentionAutoencoder(
            depth=depth, attention=attention, encoder_weights=vgg_weights,
            decoder_upsampling=decoder_upsampling, skip_statistics=skip_statistics,
            **(loss_weights or {}),
        )
        model.build()
        schedule = learning_rate
        if lr_schedule == "cosine":
            schedule = keras.optimizers.schedules.CosineDecay(learning_rate, total_steps, alpha=0.1)
        model.compile(optimizer=keras.optimizers.Adam(schedule))
    started = any(name.startswith("backup") for name in os.listdir(out))
    if init_from and not started:
        from tf_cbam_style.api import load_model

        copy_trainable_weights(load_model(init_from), model)
        print(f"Warm start from {init_from}", flush=True)

    if verbose == "auto":
        verbose = 1 if sys.stdout.isatty() else 2
    clock = _RunClock(os.path.join(out, "wall_time.json"))
    start = time.time()
    done_steps = 0
    for index, (phase_crop, phase_steps) in enumerate(phases):
        steps_per_epoch = min(checkpoint_every, phase_steps)
        epochs = math.ceil(phase_steps / steps_per_epoch)
        marker = os.path.join(out, f"phase{index}.done.weights.h5")
        if len(phases) > 1 and os.path.isfile(marker):
            model.load_weights(marker)  # this phase finished in an earlier run
            done_steps += epochs * steps_per_epoch
            continue
        dataset = make_dataset(scan.files, crop_size=phase_crop, batch_size=global_batch,
                               seed=seed + index, image_size=image_size)
        backup = "backup" if len(phases) == 1 else f"backup_phase{index}"
        phase_callbacks = [
            keras.callbacks.BackupAndRestore(os.path.join(out, backup)),
            keras.callbacks.ModelCheckpoint(
                os.path.join(out, "checkpoint.weights.h5"), save_weights_only=True
            ),
            keras.callbacks.TensorBoard(os.path.join(out, "logs"), update_freq=50),
            keras.callbacks.CSVLogger(os.path.join(out, "history.csv"), append=True),
            clock,
        ]
        if eval_files:
            phase_callbacks.insert(0, _HeldOut(eval_files, eval_size))
        if len(phases) > 1:
            print(f"Phase {index + 1}/{len(phases)}: {phase_steps} steps on {phase_crop} px crops", flush=True)
        model.fit(
            dataset, epochs=epochs, steps_per_epoch=steps_per_epoch,
            callbacks=phase_callbacks + list(callbacks or []), verbose=verbose,
        )
        done_steps += epochs * steps_per_epoch
        if len(phases) > 1:
            model.save_weights(marker)
    wall = time.time() - start
    path = export_model(model, os.path.join(out, "model.keras"))
    facts = {
        "command": " ".join(["tf-cbam-style"] + sys.argv[1:]) if sys.argv else None,
        "attention": attention,
        "depth": depth,
        "steps": done_steps,
        "batch_size": global_batch,
        "crop_size": phases[-1][0],
        "crop_schedule": [list(p) for p in phases],
        "image_size": image_size,
        "learning_rate": learning_rate,
        "lr_schedule": lr_schedule,
        "init_from": str(init_from) if init_from else None,
        "decoder_upsampling": decoder_upsampling,
        "skip_statistics": bool(skip_statistics),
        "loss_weights": {k: getattr(model, k) for k in
                         ("pixel_weight", "perceptual_weight", "tv_weight", "attention_weight",
                          "perceptual_layer_weights")},
        "images": len(scan.files),
        "skipped": scan.skipped,
        "hardware": f"{replicas} x {'GPU' if tf.config.list_logical_devices('GPU') else 'CPU'}"
        f" ({platform.processor() or platform.machine()}, {os.cpu_count()} cores,"
        f" {tf.config.threading.get_intra_op_parallelism_threads() or 'default'} threads)",
        "wall_time_s_this_run": round(wall, 1),
        "wall_time_s_total": round(clock.total(), 1),
        "tensorflow": tf.__version__,
        "keras": keras.__version__,
    }
    if eval_files:
        from tf_cbam_style.reconstruction import evaluate_reconstruction

        report = evaluate_reconstruction(model, eval_files, size=eval_size)
        facts["held_out"] = {"data": str(eval_data), "size": eval_size,
                             "psnr": round(report.psnr, 3), "ssim": round(report.ssim, 4)}
    with open(os.path.join(out, "training.json"), "w") as f:
        json.dump(facts, f, indent=2)
    print(f"Saved {path} after {facts['steps']} steps ({wall / 60:.1f} min this run)", flush=True)
    return path
