"""Reconstruction training of the attention autoencoder.

One entry point, `train`: on one host `model.fit` (under `MirroredStrategy`
across the visible GPUs, else the default strategy); on a cluster described
by `TF_CONFIG`, or with `strategy="multi-worker"`, the custom loop of
`tf_cbam_style.distributed` under `MultiWorkerMirroredStrategy`. Both build
the model, the data, the callbacks and `training.json` with the helpers of
this module, so that they write the same files.
"""

import dataclasses
import json
import math
import os
import platform
import sys
import time

import keras
import tensorflow as tf

from tf_cbam_style.data import is_tfds, make_dataset, make_tfds_dataset, scan_image_folder, tfds_builder
from tf_cbam_style.models.attention_autoencoder import AttentionAutoencoder


STRATEGIES = ("auto", "single-host", "multi-worker")
DEFAULT_PEER_TIMEOUT = 300  # seconds a worker waits for a peer (see `train`)


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


@dataclasses.dataclass
class TrainingRun:
    """The checked arguments of one `train` call, shared by both engines.

    `files` is the list of training images of a folder, or `None` for a
    TFDS dataset (`data="tfds:NAME"`, read by `make_tfds_dataset`).
    """

    data: str
    out: str
    attention: str
    depth: str
    phases: list
    batch_size: int
    learning_rate: float
    lr_schedule: str
    checkpoint_every: int
    seed: int
    vgg_weights: object
    verbose: object
    callbacks: list
    init_from: object
    decoder_upsampling: str
    skip_statistics: bool
    eval_data: object
    eval_size: int
    loss_weights: dict
    files: list
    images: int
    skipped: dict
    eval_files: list
    tfds_data_dir: object = None
    tfds_download: bool = False
    tfds_split: str = "train"

    @property
    def total_steps(self):
        return sum(s for _, s in self.phases)

    def epochs(self, index):
        """`(steps_per_epoch, epochs)` of phase `index`: an epoch is one checkpoint."""
        phase_steps = self.phases[index][1]
        steps_per_epoch = min(self.checkpoint_every, phase_steps)
        return steps_per_epoch, math.ceil(phase_steps / steps_per_epoch)

    def build_model(self):
        """The compiled `AttentionAutoencoder` (call under the strategy's scope)."""
        model = AttentionAutoencoder(
            depth=self.depth, attention=self.attention, encoder_weights=self.vgg_weights,
            decoder_upsampling=self.decoder_upsampling, skip_statistics=self.skip_statistics,
            **(self.loss_weights or {}),
        )
        model.build()
        schedule = self.learning_rate
        if self.lr_schedule == "cosine":
            schedule = keras.optimizers.schedules.CosineDecay(self.learning_rate, self.total_steps, alpha=0.1)
        model.compile(optimizer=keras.optimizers.Adam(schedule))
        return model

    def warm_start(self, model):
        """Copies `init_from`'s attention and decoder into `model` (when given)."""
        if self.init_from:
            from tf_cbam_style.api import load_model

            copy_trainable_weights(load_model(self.init_from), model)
            print(f"Warm start from {self.init_from}", flush=True)

    def dataset(self, index, batch_size, start=0, num_shards=1, shard_index=0, input_context=None):
        """The crops of phase `index` (see `make_dataset`, `make_tfds_dataset`)."""
        crop = self.phases[index][0]
        if self.files is None:
            return make_tfds_dataset(
                self.data, crop_size=crop, batch_size=batch_size, seed=self.seed + index,
                data_dir=self.tfds_data_dir, split=self.tfds_split, input_context=input_context, start=start,
            )
        return make_dataset(self.files, crop_size=crop, batch_size=batch_size, seed=self.seed + index,
                            start=start, num_shards=num_shards, shard_index=shard_index)

    def keras_callbacks(self, log_dir, clock, steps_per_epoch):
        """The built-in callbacks after the backup one: held-out score,
        weights checkpoint, TensorBoard, CSV log, wall clock, then the user's.

        TensorBoard writes the batch scalars every 50 steps or a divisor of
        the epoch (Keras records epoch scalars only on steps that are
        multiples of `update_freq`, so that these are written every epoch).
        """
        built_in = [
            keras.callbacks.ModelCheckpoint(
                os.path.join(log_dir, "checkpoint.weights.h5"), save_weights_only=True
            ),
            keras.callbacks.TensorBoard(os.path.join(log_dir, "logs"), update_freq=math.gcd(50, steps_per_epoch)),
            keras.callbacks.CSVLogger(os.path.join(log_dir, "history.csv"), append=True),
            clock,
        ]
        if self.eval_files:
            built_in.insert(0, _HeldOut(self.eval_files, self.eval_size))
        return built_in + list(self.callbacks or [])

    def facts(self, model, steps, global_batch, hardware, wall, total_wall, strategy, workers):
        """The dict written to `training.json` (with the held-out score when asked)."""
        facts = {
            "command": " ".join(["tf-cbam-style"] + sys.argv[1:]) if sys.argv else None,
            "attention": self.attention,
            "depth": self.depth,
            "steps": steps,
            "batch_size": global_batch,
            "crop_size": self.phases[-1][0],
            "crop_schedule": [list(p) for p in self.phases],
            "learning_rate": self.learning_rate,
            "lr_schedule": self.lr_schedule,
            "init_from": str(self.init_from) if self.init_from else None,
            "decoder_upsampling": self.decoder_upsampling,
            "skip_statistics": bool(self.skip_statistics),
            "loss_weights": {k: getattr(model, k) for k in
                             ("pixel_weight", "perceptual_weight", "tv_weight", "attention_weight",
                              "perceptual_layer_weights")},
            "data": self.data,
            "images": self.images,
            "skipped": self.skipped,
            "strategy": strategy,
            "workers": workers,
            "hardware": hardware,
            "weights_sha256": weights_sha256(model),
            "wall_time_s_this_run": round(wall, 1),
            "wall_time_s_total": round(total_wall, 1),
            "tensorflow": tf.__version__,
            "keras": keras.__version__,
        }
        if self.eval_files:
            from tf_cbam_style.reconstruction import evaluate_reconstruction

            report = evaluate_reconstruction(model, self.eval_files, size=self.eval_size)
            facts["held_out"] = {"data": str(self.eval_data), "size": self.eval_size,
                                 "psnr": round(report.psnr, 3), "ssim": round(report.ssim, 4)}
        return facts


def weights_sha256(model):
    """SHA-256 of the attention and decoder weights (float32 bytes, in order):
    equal digests mean bit-identical trained weights."""
    import hashlib

    digest = hashlib.sha256()
    for variable in model.attention.weights + model.decoder.weights:
        digest.update(keras.ops.convert_to_numpy(variable).astype("float32").tobytes())
    return digest.hexdigest()


def hardware_line(replicas_per_worker, workers=1):
    """`"2 x CPU (x86_64, 2 cores, default threads)"`, with `"W workers x "` in front on a cluster."""
    kind = "GPU" if tf.config.list_logical_devices("GPU") else "CPU"
    prefix = f"{workers} workers x " if workers > 1 else ""
    return (
        f"{prefix}{replicas_per_worker} x {kind}"
        f" ({platform.processor() or platform.machine()}, {os.cpu_count()} cores,"
        f" {tf.config.threading.get_intra_op_parallelism_threads() or 'default'} threads)"
    )


def write_facts(out, facts):
    """Writes `out/training.json` through a temporary file (never half a file)."""
    path = os.path.join(out, "training.json")
    with open(path + ".tmp", "w") as f:
        json.dump(facts, f, indent=2)
    os.replace(path + ".tmp", path)


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
    decoder_upsampling="nearest",
    skip_statistics=False,
    eval_data=None,
    eval_size=256,
    loss_weights=None,
    strategy="auto",
    tfds_data_dir=None,
    tfds_download=False,
    tfds_split="train",
    peer_timeout=DEFAULT_PEER_TIMEOUT,
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
        loss_weights: optional dict overriding `pixel_weight`,
            `perceptual_weight`, `tv_weight` and `attention_weight`.
        strategy: `"auto"` (default), `"single-host"` or `"multi-worker"`.
        tfds_data_dir, tfds_download, tfds_split: for a `tfds:` `data`, the
            TFDS data folder, whether to download and prepare a missing
            dataset (on one host; prepare it once before a cluster run), and
            the split (default `"train"`).
        peer_timeout: multi-worker only: seconds to wait for every peer at
            start-up and for each collective operation, after which a
            missing peer is a one-line error (default 300).

    Returns:
        The path of the final `.keras` model.

    Raises:
        ValueError: for a non-positive size, step count or batch, a bad
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
    if isinstance(crop_schedule, str):
        crop_schedule = parse_crop_schedule(crop_schedule)
    phases = list(crop_schedule) if crop_schedule else [(crop_size, steps)]
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
        decoder_upsampling=decoder_upsampling, skip_statistics=skip_statistics, eval_data=eval_data,
        eval_size=eval_size, loss_weights=loss_weights, files=files, images=images, skipped=skipped,
        eval_files=eval_files, tfds_data_dir=tfds_data_dir, tfds_download=False, tfds_split=tfds_split,
    )
    if multi_worker:
        from tf_cbam_style.distributed import train_multi_worker

        return train_multi_worker(run, peer_timeout=peer_timeout)
    return _fit(run)


def _fit(run):
    """The single-host engine: `model.fit` per phase, resumed by `BackupAndRestore`."""
    out, phases = run.out, run.phases
    os.makedirs(out, exist_ok=True)
    keras.utils.set_random_seed(run.seed)

    strategy = choose_strategy()
    replicas = strategy.num_replicas_in_sync
    global_batch = run.batch_size * replicas
    with strategy.scope():
        model = run.build_model()
    started = any(name.startswith("backup") for name in os.listdir(out))
    if not started:
        run.warm_start(model)

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
