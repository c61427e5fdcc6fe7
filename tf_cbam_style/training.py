"""Reconstruction training of the attention autoencoder.

One entry point, `train`: on one host `model.fit` (under `MirroredStrategy`
across the visible GPUs, else the default strategy); on a cluster described
by `TF_CONFIG`, or with `strategy="multi-worker"`, the custom loop of
`tf_cbam_style.distributed` under `MultiWorkerMirroredStrategy`. Both build
the model, the data, the callbacks and `training.json` with the helpers of
this module, so that they write the same files.
"""

import math
import os
import sys
import time

import keras
import tensorflow as tf

from tf_cbam_style.data import is_tfds, scan_image_folder, tfds_builder
from tf_cbam_style.options import PRECISIONS
from tf_cbam_style.training_run import (  # noqa: F401  (re-exported: the public training API)
    TrainingRun, _RunClock, copy_trainable_weights, export_model, hardware_line, measure_feature_energy,
    parse_crop_schedule, parse_layer_weights, weights_sha256, write_facts,
)


__all__ = ["train", "choose_strategy", "export_model", "parse_crop_schedule", "parse_layer_weights",
           "measure_feature_energy", "copy_trainable_weights", "weights_sha256", "TrainingRun"]

STRATEGIES = ("auto", "single-host", "multi-worker")
DEFAULT_PEER_TIMEOUT = 300  # seconds a worker waits for a peer (see `train`)


def choose_strategy():
    """MirroredStrategy over the visible GPUs, else the default strategy."""
    gpus = tf.config.list_logical_devices("GPU")
    if gpus:
        return tf.distribute.MirroredStrategy()
    return tf.distribute.get_strategy()


def _cluster():
    from tf_cbam_style.distributed import ClusterConfig

    return ClusterConfig.from_env()


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
    freeze_attention=False,
    decoder_upsampling="bilinear",
    skip_statistics=False,
    eval_data=None,
    eval_size=256,
    loss_weights=None,
    image_size=None,
    strategy="auto",
    tfds_data_dir=None,
    tfds_download=False,
    tfds_split="train",
    peer_timeout=DEFAULT_PEER_TIMEOUT,
    precision="float32",
):
    """Trains an `AttentionAutoencoder` to reconstruct the photos in `data`.

    Resumes an interrupted run when started again with the same arguments,
    writes TensorBoard logs to `out/logs`, the latest weights to
    `out/checkpoint.weights.h5`, the final model to `out/model.keras` and the
    run's facts to `out/training.json`.

    On one host (`strategy="single-host"`, or `"auto"` without a cluster in
    `TF_CONFIG`) this is `model.fit` under `choose_strategy()`, resuming from
    `out/backup*`. On several (`"multi-worker"`, or `"auto"` when `TF_CONFIG`
    describes a cluster) it is the custom loop of
    `tf_cbam_style.distributed.train_multi_worker` under
    `MultiWorkerMirroredStrategy`, with checkpoints in `out/checkpoints`;
    `out` must then be a folder that every worker sees (a shared volume).
    Both compute the model's own `train_step` and write the same files.

    Args:
        data: folder of training photos (searched recursively), or
            `"tfds:NAME"` (e.g. `"tfds:coco/2017"`), a TensorFlow Datasets
            dataset (needs `pip install -e ".[tfds]"`).
        out: run folder.
        attention, depth: the model (see `AttentionAutoencoder`).
        crop_size, steps: one phase of `steps` steps on `crop_size` crops;
            ignored when `crop_schedule` is given.
        batch_size: per replica; the global batch is `batch_size` times the
            number of replicas (GPUs, or workers on CPU).
        learning_rate: Adam's (peak) learning rate.
        checkpoint_every: steps per epoch: checkpoints, logs and resume points.
            A phase longer than this must be a multiple of it.
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
        freeze_attention: when True, the attention's weights are not
            trained (only the decoder is): e.g. after
            `tools/fit_attention_contrast.py` fitted the attention alone, so
            that adapting the decoder cannot move the map back.
        decoder_upsampling, skip_statistics: the decoder (see `Decoder`).
        eval_data: optional folder of held-out photos, scored after every
            epoch (PSNR/SSIM at `eval_size` px, see `reconstruction`).
        image_size: shorter side photos are resized to before cropping
            (see `make_dataset`); default: the crop size.
        loss_weights: optional dict overriding `pixel_weight`,
            `perceptual_weight`, `tv_weight`, `attention_weight` and
            `contrast_weight` and `ssim_weight`.
        strategy: `"auto"` (default), `"single-host"` or `"multi-worker"`.
        tfds_data_dir, tfds_download, tfds_split: for a `tfds:` `data`, the
            TFDS data folder, whether to download and prepare a missing
            dataset (on one host; prepare it once before a cluster run), and
            the split (default `"train"`).
        peer_timeout: multi-worker only: seconds to wait for every peer at
            start-up and for each collective operation, after which a
            missing peer is a one-line error (default 300).
        precision: `"float32"` (default) or `"mixed_bfloat16"`: the layers
            compute in bfloat16, weights and losses stay float32 (see
            `AttentionAutoencoder.set_precision`); about twice as fast on
            CPUs with bfloat16 instructions. The held-out scores after each
            epoch are then computed in that precision too; the exported
            model is float32.

    Returns:
        The path of the final `.keras` model.

    Raises:
        ValueError: for an unknown `precision`, `freeze_attention` without
            `init_from`, a non-positive size, step count or batch, a bad
            schedule or strategy, a `data` folder without readable images or
            an unknown TFDS dataset.
        ImportError: for a `tfds:` `data` without tensorflow-datasets.
        TimeoutError: multi-worker, when a peer did not answer within
            `peer_timeout`.
        tf_cbam_style.distributed.PeerLostError: multi-worker, when a peer
            was lost during training (the command line then restarts the
            worker, which resumes from the last checkpoint).
    """
    for name, value in (("crop_size", crop_size), ("batch_size", batch_size), ("steps", steps),
                        ("checkpoint_every", checkpoint_every)):
        if not isinstance(value, int) or value < 1:
            raise ValueError(f"`{name}` must be a positive int. Received: {name}={value!r}")
    if crop_size < 32:
        raise ValueError(f"`crop_size` must be at least 32. Received: crop_size={crop_size}")
    if lr_schedule not in ("constant", "cosine"):
        raise ValueError(f"`lr_schedule` must be 'constant' or 'cosine'. Received: lr_schedule={lr_schedule!r}")
    if strategy not in STRATEGIES:
        raise ValueError(f"`strategy` must be one of {STRATEGIES}. Received: strategy={strategy!r}")
    if not isinstance(peer_timeout, (int, float)) or peer_timeout <= 0:
        raise ValueError(
            f"`peer_timeout` must be a positive number of seconds. Received: peer_timeout={peer_timeout!r}"
        )
    if precision not in PRECISIONS:
        raise ValueError(f"`precision` must be one of {PRECISIONS}. Received: precision={precision!r}")
    if freeze_attention and not init_from:
        raise ValueError(
            "`freeze_attention` keeps the attention of `init_from`, so it needs one (a frozen random "
            f"attention finds nothing). Received: freeze_attention={freeze_attention!r}, init_from={init_from!r}"
        )
    received_schedule = crop_schedule
    if isinstance(crop_schedule, str):
        crop_schedule = parse_crop_schedule(crop_schedule)
    phases = list(crop_schedule) if crop_schedule else [(crop_size, steps)]
    uneven = [(crop, n) for crop, n in phases if n > checkpoint_every and n % checkpoint_every]
    if uneven:
        # An epoch is one checkpoint, so such a phase would silently run up
        # to the next multiple (150 steps as 200 with checkpoints every 100).
        name, value = ("crop_schedule", received_schedule) if crop_schedule else ("steps", steps)
        raise ValueError(
            f"`{name}`: a phase longer than `checkpoint_every` must be a multiple of it, or it would "
            f"run up to the next multiple ({uneven[0][1]} steps as "
            f"{math.ceil(uneven[0][1] / checkpoint_every) * checkpoint_every}). "
            f"Received: {name}={value!r}, checkpoint_every={checkpoint_every}"
        )
    cluster = _cluster() if strategy != "single-host" else None
    multi_worker = strategy == "multi-worker" or cluster is not None
    if is_tfds(data) and tfds_download and multi_worker and cluster and cluster.num_workers > 1:
        raise ValueError(
            "`tfds_download` would make every worker download at once: prepare the dataset once "
            "on one host (`tfds build NAME --data_dir DIR`), then start the cluster without it. "
            "Received: tfds_download=True"
        )
    if is_tfds(data):
        builder = tfds_builder(data, data_dir=tfds_data_dir, download=tfds_download, split=tfds_split)
        files, images, skipped = None, builder.info.splits[tfds_split].num_examples, {}
        print(f"Found {images} images in {data} ({tfds_split})", flush=True)
    else:
        scan = scan_image_folder(data)
        files, images, skipped = scan.files, len(scan.files), scan.skipped
        count = sum(skipped.values())
        print(
            f"Found {len(files)} images in {data}"
            + (f"; skipped {count} ({', '.join(f'{v} {k}' for k, v in skipped.items())})" if count else ""),
            flush=True,
        )
        if not files:
            raise ValueError(f"`data` holds no readable images. Received: data={data!r}")
    eval_files = scan_image_folder(eval_data).files if eval_data else []
    if verbose == "auto":
        verbose = 1 if sys.stdout.isatty() else 2
    run = TrainingRun(
        data=str(data), out=out, attention=attention, depth=depth, phases=phases, batch_size=batch_size,
        learning_rate=learning_rate, lr_schedule=lr_schedule, checkpoint_every=checkpoint_every, seed=seed,
        vgg_weights=vgg_weights, verbose=verbose, callbacks=callbacks, init_from=init_from,
        freeze_attention=bool(freeze_attention),
        decoder_upsampling=decoder_upsampling, skip_statistics=skip_statistics, eval_data=eval_data,
        eval_size=eval_size, loss_weights=loss_weights, files=files, images=images, skipped=skipped,
        eval_files=eval_files, tfds_data_dir=tfds_data_dir, tfds_download=False, tfds_split=tfds_split,
        image_size=image_size, precision=precision,
    )
    if multi_worker:
        from tf_cbam_style.distributed import train_multi_worker

        return train_multi_worker(run, peer_timeout=peer_timeout)
    return _fit(run)


def _fit(run):
    """The single-host engine: `model.fit` per phase, resumed by `BackupAndRestore`."""
    out, phases = run.out, run.phases
    keras.utils.set_random_seed(run.seed)

    strategy = choose_strategy()
    replicas = strategy.num_replicas_in_sync
    global_batch = run.batch_size * replicas
    with strategy.scope():
        model = run.build_model()
    started = os.path.isdir(out) and any(name.startswith("backup") for name in os.listdir(out))
    if not started:
        run.warm_start(model)
    # Only now, after the model's arguments and `init_from` were checked, so
    # that a bad one leaves no empty run folder behind.
    os.makedirs(out, exist_ok=True)

    clock = _RunClock(os.path.join(out, "wall_time.json"))
    start = time.time()
    done_steps = 0
    for index, (phase_crop, phase_steps) in enumerate(phases):
        steps_per_epoch, epochs = run.epochs(index)
        marker = os.path.join(out, f"phase{index}.done.weights.h5")
        if len(phases) > 1 and os.path.isfile(marker):
            model.load_weights(marker)  # this phase finished in an earlier run
            done_steps += epochs * steps_per_epoch
            continue
        dataset = run.dataset(index, global_batch)
        backup = "backup" if len(phases) == 1 else f"backup_phase{index}"
        phase_callbacks = [keras.callbacks.BackupAndRestore(os.path.join(out, backup))]
        phase_callbacks += run.keras_callbacks(out, clock, steps_per_epoch)
        if len(phases) > 1:
            print(f"Phase {index + 1}/{len(phases)}: {phase_steps} steps on {phase_crop} px crops", flush=True)
        # Keras' BackupAndRestore sets `model._initial_epoch` when it
        # restores, and `fit` keeps using it (`self._initial_epoch or
        # initial_epoch`); a phase resumed at epoch 8 would otherwise make
        # the next phase start at its epoch 8, i.e. skip it.
        model._initial_epoch = None
        model.fit(
            dataset, epochs=epochs, steps_per_epoch=steps_per_epoch,
            callbacks=phase_callbacks, verbose=run.verbose,
        )
        done_steps += epochs * steps_per_epoch
        if len(phases) > 1:
            model.save_weights(marker)
    wall = time.time() - start
    path = export_model(model, os.path.join(out, "model.keras"))
    facts = run.facts(model, done_steps, global_batch, hardware_line(replicas), wall, clock.total(),
                      strategy="single-host", workers=1)
    write_facts(out, facts)
    print(f"Saved {path} after {facts['steps']} steps ({wall / 60:.1f} min this run)", flush=True)
    return path
