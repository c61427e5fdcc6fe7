"""What both training engines share: the checked run, its callbacks, its facts.

`training.train` (single host, `model.fit`) and `distributed.train_multi_worker`
(several hosts, a custom loop) build the same `TrainingRun` and write the
same checkpoints, logs, `training.json` and `model.keras`.
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

from tf_cbam_style.data import make_dataset, make_tfds_dataset
from tf_cbam_style.models.attention_autoencoder import AttentionAutoencoder


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
    """`"balanced"`, `"aams"` or `"relu1_1=100,relu4_1=1"` -> what `AttentionAutoencoder` takes."""
    if text == "balanced":
        return "balanced"
    if text == "aams":
        return None
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
    image_size: object = None
    freeze_attention: bool = False
    precision: str = "float32"

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
        model.set_precision(self.precision)
        if self.freeze_attention:
            model.attention.trainable = False
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
                image_size=self.image_size,
            )
        return make_dataset(self.files, crop_size=crop, batch_size=batch_size, seed=self.seed + index,
                            start=start, num_shards=num_shards, shard_index=shard_index,
                            image_size=self.image_size)

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
            "image_size": self.image_size,
            "learning_rate": self.learning_rate,
            "lr_schedule": self.lr_schedule,
            "init_from": str(self.init_from) if self.init_from else None,
            "freeze_attention": bool(self.freeze_attention),
            "precision": self.precision,
            "decoder_upsampling": self.decoder_upsampling,
            "skip_statistics": bool(self.skip_statistics),
            "loss_weights": {k: getattr(model, k) for k in
                             ("pixel_weight", "perceptual_weight", "tv_weight", "attention_weight",
                              "contrast_weight", "ssim_weight", "perceptual_layer_weights")},
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


