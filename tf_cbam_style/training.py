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
):
    """Trains an `AttentionAutoencoder` to reconstruct the photos in `data`.

    Resumes from `out/backup` when a previous run was interrupted, writes
    TensorBoard logs to `out/logs`, the latest weights to
    `out/checkpoint.weights.h5`, the final model to `out/model.keras` and the
    run's facts to `out/training.json`.

    Args:
        callbacks: extra Keras callbacks, run after the built-in ones.

    Returns:
        The path of the final `.keras` model.
    """
    for name, value in (("crop_size", crop_size), ("batch_size", batch_size), ("steps", steps),
                        ("checkpoint_every", checkpoint_every)):
        if not isinstance(value, int) or value < 1:
            raise ValueError(f"`{name}` must be a positive int. Received: {name}={value!r}")
    if crop_size < 32:
        raise ValueError(f"`crop_size` must be at least 32. Received: crop_size={crop_size}")
    scan = scan_image_folder(data)
    skipped = sum(scan.skipped.values())
    print(
        f"Found {len(scan.files)} images in {data}"
        + (f"; skipped {skipped} ({', '.join(f'{v} {k}' for k, v in scan.skipped.items())})" if skipped else ""),
        flush=True,
    )
    if not scan.files:
        raise ValueError(f"`data` holds no readable images. Received: data={data!r}")
    os.makedirs(out, exist_ok=True)
    keras.utils.set_random_seed(seed)

    strategy = choose_strategy()
    replicas = strategy.num_replicas_in_sync
    global_batch = batch_size * replicas
    dataset = make_dataset(scan.files, crop_size=crop_size, batch_size=global_batch, seed=seed)
    with strategy.scope():
        model = AttentionAutoencoder(depth=depth, attention=attention, encoder_weights=vgg_weights)
        model.build()
        model.compile(optimizer=keras.optimizers.Adam(learning_rate))

    steps_per_epoch = min(checkpoint_every, steps)
    epochs = math.ceil(steps / steps_per_epoch)
    callbacks = [
        keras.callbacks.BackupAndRestore(os.path.join(out, "backup")),
        keras.callbacks.ModelCheckpoint(
            os.path.join(out, "checkpoint.weights.h5"), save_weights_only=True
        ),
        keras.callbacks.TensorBoard(os.path.join(out, "logs"), update_freq=50),
        keras.callbacks.CSVLogger(os.path.join(out, "history.csv"), append=True),
    ] + list(callbacks or [])
    if verbose == "auto":
        verbose = 1 if sys.stdout.isatty() else 2
    start = time.time()
    model.fit(
        dataset, epochs=epochs, steps_per_epoch=steps_per_epoch,
        callbacks=callbacks, verbose=verbose,
    )
    wall = time.time() - start
    path = export_model(model, os.path.join(out, "model.keras"))
    facts = {
        "command": " ".join(["tf-cbam-style"] + sys.argv[1:]) if sys.argv else None,
        "attention": attention,
        "depth": depth,
        "steps": epochs * steps_per_epoch,
        "batch_size": global_batch,
        "crop_size": crop_size,
        "learning_rate": learning_rate,
        "images": len(scan.files),
        "skipped": scan.skipped,
        "hardware": f"{replicas} x {'GPU' if tf.config.list_logical_devices('GPU') else 'CPU'}"
        f" ({platform.processor() or platform.machine()}, {os.cpu_count()} cores)",
        "wall_time_s_this_run": round(wall, 1),
        "tensorflow": tf.__version__,
        "keras": keras.__version__,
    }
    with open(os.path.join(out, "training.json"), "w") as f:
        json.dump(facts, f, indent=2)
    print(f"Saved {path} after {facts['steps']} steps ({wall / 60:.1f} min this run)", flush=True)
    return path
