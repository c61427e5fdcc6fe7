"""Where the time of one training step goes, stage by stage.

Each stage runs as its own `tf.function` on the same batch, timed as the
median of `repeats` calls after a tracing call:

- `data`: one batch from the `make_dataset` input pipeline (decode, resize,
  crop, flip), with prefetching on, as training sees it;
- `encoder_targets`: VGG features of the photos (relu1_1 .. depth);
- `attention_decoder`: instance norm, attention and decoder (forward);
- `encoder_output`: VGG features of the reconstruction (forward);
- `forward`: the whole loss (`AttentionAutoencoder.compute_losses`);
- `step`: forward, backward and the Adam update (`train_step`);
- `backward_update`: `step - forward`.

The stage times come from separate functions, so `encoder_targets +
attention_decoder + encoder_output` is close to, not equal to, `forward`.
`tf-cbam-style profile-training` prints the table of `train_profile_table`
for each precision (and XLA) asked for; docs/training.md quotes it.
"""

import collections
import time

import numpy as np

STAGES = ("data", "encoder_targets", "attention_decoder", "encoder_output", "forward", "step",
          "backward_update")

TrainProfile = collections.namedtuple(
    "TrainProfile", ["crop_size", "batch_size", "threads", "jit_compile", "precision", "stages", "losses"]
)
TrainProfile.__doc__ = """Result of `profile_training_step`.

Attributes:
    crop_size, batch_size: the batch shape profiled.
    threads: TensorFlow intra-op threads in force (`0` = TensorFlow's default).
    jit_compile: whether the step was XLA-compiled.
    precision: the compute precision (`AttentionAutoencoder.set_precision`).
    stages: dict stage -> median seconds, in `STAGES` order.
    losses: dict term -> value of `compute_losses` on the profiled batch,
        before any update (so profiles of the same model and batch compare
        the precisions' arithmetic).
"""


def _median(function, repeats, traced=False):
    import tensorflow as tf

    if not traced:
        tf.nest.map_structure(np.asarray, function())  # tracing
    times = []
    for _ in range(repeats):
        start = time.perf_counter()
        tf.nest.map_structure(np.asarray, function())
        times.append(time.perf_counter() - start)
    return float(np.median(times))


def profile_training_step(model, files, *, crop_size=128, batch_size=8, repeats=5,
                          jit_compile=False, learning_rate=1e-4, precision="float32"):
    """Times the stages of one training step of `model` (see module doc).

    Args:
        model: a built `AttentionAutoencoder` (it is compiled here, which
            resets its optimizer).
        files: image files for the input pipeline.
        crop_size, batch_size: the batch shape.
        repeats: timed calls per stage.
        jit_compile: XLA-compile the forward and the step.
        learning_rate: Adam's learning rate for the update.
        precision: `"float32"` or `"mixed_bfloat16"`, set on `model` here
            (see `AttentionAutoencoder.set_precision`).

    Returns:
        A `TrainProfile`.
    """
    import keras
    import tensorflow as tf

    from tf_cbam_style.data import make_dataset

    model.set_precision(precision)
    model.compile(optimizer=keras.optimizers.Adam(learning_rate), jit_compile=jit_compile)
    iterator = iter(make_dataset(files, crop_size=crop_size, batch_size=batch_size, seed=0))
    images = next(iterator)
    stages = {"data": _median(lambda: next(iterator), repeats)}
    encode = tf.function(lambda x: model.encoder(x, return_intermediate=True))
    stages["encoder_targets"] = _median(lambda: encode(images), repeats)
    features = model.encoder(images)
    decode = tf.function(lambda f: model.decoder(model.attend(f)["features"]))
    stages["attention_decoder"] = _median(lambda: decode(features), repeats)
    output = decode(features)
    stages["encoder_output"] = _median(lambda: encode(output), repeats)
    forward = tf.function(model.compute_losses, jit_compile=jit_compile)
    losses = {k: float(v) for k, v in forward(images).items()}  # also its tracing call
    stages["forward"] = _median(lambda: forward(images)["loss"], repeats, traced=True)
    step = tf.function(model.train_step, jit_compile=jit_compile)
    stages["step"] = _median(lambda: step(images)["loss"], repeats)
    stages["backward_update"] = max(stages["step"] - stages["forward"], 0.0)
    threads = tf.config.threading.get_intra_op_parallelism_threads()
    return TrainProfile(crop_size, batch_size, threads, bool(jit_compile), precision, stages, losses)


def _label(p):
    return f"{p.crop_size} px, {p.threads or 'default'} thr, {p.precision}{', XLA' if p.jit_compile else ''}"


def loss_table(profiles):
    """Markdown table: the loss terms of each profile's batch, and their relative difference to the first."""
    headers = ["term"] + [_label(p) for p in profiles]
    lines = ["| " + " | ".join(headers) + " |", "|" + "---|" * len(headers)]
    reference = profiles[0].losses
    for term in reference:
        cells = [term]
        for i, p in enumerate(profiles):
            value = p.losses[term]
            cell = f"{value:.5g}"
            if i and reference[term]:
                cell += f" ({100 * (value - reference[term]) / abs(reference[term]):+.2f}%)"
            cells.append(cell)
        lines.append("| " + " | ".join(cells) + " |")
    return "\n".join(lines)


def train_profile_table(profiles):
    """Markdown table: stages as rows, one column per profile (seconds and % of the step)."""
    headers = ["stage"] + [_label(p) for p in profiles]
    lines = ["| " + " | ".join(headers) + " |", "|" + "---|" * len(headers)]
    for stage in STAGES:
        cells = [stage] + [
            f"{p.stages[stage]:.3f} ({100 * p.stages[stage] / p.stages['step']:.0f}%)" for p in profiles
        ]
        lines.append("| " + " | ".join(cells) + " |")
    return "\n".join(lines)
