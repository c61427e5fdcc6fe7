"""AttentionAutoencoder losses and training; the data pipeline; the train command."""

import json
import os

import keras
import numpy as np
import pytest

from tf_cbam_style.data import make_dataset, scan_image_folder
from tf_cbam_style.models import AttentionAutoencoder


def _model(attention="cbam"):
    model = AttentionAutoencoder(depth="relu3_1", attention=attention, encoder_weights=None)
    model.build()
    return model


@pytest.mark.parametrize("attention", ["cbam", "self_attention"])
def test_fit_reports_each_loss_and_trains_only_attention_and_decoder(attention, rng):
    model = _model(attention)
    model.compile(optimizer=keras.optimizers.Adam(1e-3))
    encoder_before = [w.copy() for w in model.encoder.get_weights()]
    decoder_before = [w.copy() for w in model.decoder.get_weights()]
    images = rng.uniform(size=(4, 32, 32, 3)).astype(np.float32)
    history = model.fit(images, batch_size=2, epochs=1, verbose=0)
    assert {"loss", "perceptual", "pixel", "attention", "tv"} <= set(history.history)
    for before, after in zip(encoder_before, model.encoder.get_weights()):
        np.testing.assert_array_equal(before, after)
    assert any(not np.array_equal(b, a) for b, a in zip(decoder_before, model.decoder.get_weights()))
    trainable = {id(v) for v in model.trainable_variables}
    assert not trainable & {id(v) for v in model.encoder.weights}


def test_attention_term_is_a_mean(rng):
    model = _seeded_model()  # numpy weights: the 20 % below must not depend on Keras' random state
    image = rng.uniform(size=(1, 32, 32, 3)).astype(np.float32)
    one = model.compute_losses(image)["attention"].numpy()
    batch = model.compute_losses(np.concatenate([image, image]))["attention"].numpy()
    tiled = model.compute_losses(np.tile(image, (1, 2, 2, 1)))["attention"].numpy()
    np.testing.assert_allclose(one, batch, rtol=1e-5)
    np.testing.assert_allclose(one, tiled, rtol=0.2)  # same content, 4x the pixels


def test_loss_weights_scale_their_terms(rng):
    image = rng.uniform(size=(1, 32, 32, 3)).astype(np.float32)
    base = _model()
    doubled = AttentionAutoencoder(depth="relu3_1", encoder_weights=None, pixel_weight=20.0, tv_weight=20.0)
    doubled.build()
    doubled.set_weights(base.get_weights())
    a, b = base.compute_losses(image), doubled.compute_losses(image)
    np.testing.assert_allclose(b["pixel"], 2 * a["pixel"], rtol=1e-5)
    np.testing.assert_allclose(b["tv"], 2 * a["tv"], rtol=1e-5)
    np.testing.assert_allclose(b["perceptual"], a["perceptual"], rtol=1e-5)


def _seeded_model(**kwargs):
    # Weights from numpy, not from Keras' initialisers, so the numbers below
    # depend only on the loss computation.
    model = AttentionAutoencoder(depth="relu3_1", encoder_weights=None, **kwargs)
    model.build()
    weights_rng = np.random.default_rng(2)
    for variable in model.weights:
        variable.assign(weights_rng.normal(0, 0.05, variable.shape).astype(np.float32))
    return model


def test_compute_losses_unchanged_by_the_losses_module():
    # Recorded with the inline loss code of AttentionAutoencoder.compute_losses
    # before it moved to tf_cbam_style.losses (bit-identical after the move).
    images = np.random.default_rng(3).uniform(size=(2, 32, 32, 3)).astype(np.float32)
    terms = {k: float(v) for k, v in _seeded_model().compute_losses(images).items()}
    expected = {"perceptual": 91626.6875, "pixel": 71041.0390625, "attention": 1.7373502254486084,
                "tv": 74.62403106689453, "contrast": 0.0, "ssim": 0.0,
                "loss": 162744.078125}  # contrast and ssim: off by default
    assert set(terms) == set(expected)
    for name, value in expected.items():
        assert terms[name] == pytest.approx(value, rel=1e-4), name


def test_compute_losses_matches_a_numpy_reference():
    from tf_cbam_style.models.attention_autoencoder import BALANCED_LAYER_WEIGHTS

    model = _seeded_model(contrast_weight=7.0, ssim_weight=3.0)
    images = np.random.default_rng(3).uniform(size=(2, 32, 32, 3)).astype(np.float32)
    terms = {k: float(v) for k, v in model.compute_losses(images).items()}
    targets = model.encoder(images, return_intermediate=True)
    attended = model.attend(targets["relu3_1"])
    output = model.decoder(attended["features"], statistics=model.skip_statistics_of(targets))
    predicted = {k: v.numpy().astype(np.float64) for k, v in model.encoder(output, return_intermediate=True).items()}
    y, x = output.numpy().astype(np.float64), images.astype(np.float64)
    perceptual = sum(BALANCED_LAYER_WEIGHTS[k] * np.mean((predicted[k] - targets[k].numpy()) ** 2)
                     for k in ("relu1_1", "relu2_1", "relu3_1"))
    pixel = np.mean(((y - x) * 255) ** 2)
    tv = 255 * (np.abs(np.diff(y, axis=1)).mean() + np.abs(np.diff(y, axis=2)).mean())
    attention = np.abs(attended["attention"].numpy()).mean()
    f = targets["relu3_1"].numpy().astype(np.float64)
    contrast_map = np.linalg.norm(f - f.mean(axis=(1, 2), keepdims=True), axis=-1).reshape(2, -1)
    attention_map = attended["attention_map"].numpy().astype(np.float64).reshape(2, -1)
    correlation = np.mean([np.corrcoef(a, t)[0, 1] for a, t in zip(attention_map, contrast_map)])
    from test_losses import _numpy_ssim

    expected = {"perceptual": perceptual, "pixel": 10 * pixel, "attention": 6 * attention, "tv": 10 * tv,
                "contrast": 7 * (1 - correlation), "ssim": 3 * (1 - _numpy_ssim(np.clip(y, 0, 1), x))}
    expected["loss"] = sum(expected.values())
    for name, value in expected.items():
        assert terms[name] == pytest.approx(value, rel=1e-4), name


def test_saved_model_round_trip(tmp_path, rng):
    from tf_cbam_style.training import export_model

    model = _model()
    path = export_model(model, str(tmp_path / "m.keras"))
    restored = keras.saving.load_model(path, compile=False)
    images = rng.uniform(size=(1, 32, 32, 3)).astype(np.float32)
    np.testing.assert_allclose(
        restored(images)["reconstruction"].numpy(), model(images)["reconstruction"].numpy(), rtol=1e-5, atol=1e-5
    )
    assert restored.get_config()["encoder_weights"] is None


def test_archive_without_encoder_weights_reads_them_from_the_vgg_file(tmp_path, rng, vgg_weights):
    import os

    from tf_cbam_style.models.attention_autoencoder import AttentionAutoencoder
    from tf_cbam_style.models.vgg19_encoder import VGG19Encoder
    from tf_cbam_style.training import export_model

    kept, slim = (AttentionAutoencoder(depth="relu3_1", encoder_weights=vgg_weights, store_encoder_weights=flag)
                  for flag in (True, False))
    for model in (kept, slim):
        model.build()
    slim.set_weights(kept.get_weights())
    paths = [export_model(m, str(tmp_path / f"{name}.keras")) for m, name in ((kept, "kept"), (slim, "slim"))]
    encoder_bytes = 4 * kept.encoder.count_params()
    assert os.path.getsize(paths[0]) - os.path.getsize(paths[1]) > 0.95 * encoder_bytes
    restored = keras.saving.load_model(paths[1], compile=False)
    assert restored.get_config()["encoder_weights"] == "auto" and not restored.store_encoder_weights
    for got, want in zip(restored.get_weights(), kept.get_weights()):
        np.testing.assert_array_equal(got, want)  # the encoder from the file, the rest from the archive
    images = rng.uniform(size=(1, 32, 32, 3)).astype(np.float32)
    np.testing.assert_array_equal(restored(images)["reconstruction"].numpy(),
                                  kept(images)["reconstruction"].numpy())
    with pytest.raises(ValueError, match="Received: weights=None"):
        VGG19Encoder(weights=None, store_weights=False)


def test_archive_without_encoder_weights_and_no_vgg_file_is_a_clear_error(tmp_path, vgg_weights, monkeypatch):
    from tf_cbam_style import api
    from tf_cbam_style.models.attention_autoencoder import AttentionAutoencoder
    from tf_cbam_style.training import export_model

    model = AttentionAutoencoder(depth="relu3_1", encoder_weights=vgg_weights, store_encoder_weights=False)
    model.build()
    path = export_model(model, str(tmp_path / "slim.keras"))
    monkeypatch.setenv("TF_CBAM_STYLE_VGG_WEIGHTS", str(tmp_path / "missing.h5"))
    with pytest.warns(UserWarning):  # Keras' own, when the build fails
        with pytest.raises(FileNotFoundError, match=r"TF_CBAM_STYLE_VGG_WEIGHTS.*Received: path="):
            api.load_model(path)


def test_scan_skips_non_images_and_broken_files(write_image, tmp_path):
    for i in range(3):
        write_image(f"photos/ok_{i}.jpg", seed=i)
    write_image("photos/sub/nested.png")
    (tmp_path / "photos" / "notes.txt").write_text("not an image")
    (tmp_path / "photos" / "fake.jpg").write_text("not a jpeg")
    write_image("photos/scan.tiff")  # Pillow reads it; tf.data could not
    scan = scan_image_folder(str(tmp_path / "photos"))
    assert len(scan.files) == 4
    from tf_cbam_style.data import UNDECODABLE

    assert scan.skipped == {"not an image": 1, "unreadable": 1, UNDECODABLE: 1}


def test_dataset_crops_are_seeded(write_image, tmp_path):
    files = [write_image(f"d/{i}.png", height=40 + i, width=50, seed=i) for i in range(4)]
    first = next(iter(make_dataset(files, crop_size=32, batch_size=2, seed=3))).numpy()
    again = next(iter(make_dataset(files, crop_size=32, batch_size=2, seed=3))).numpy()
    assert first.shape == (2, 32, 32, 3) and first.dtype == np.float32
    assert 0.0 <= first.min() and first.max() <= 1.0
    np.testing.assert_array_equal(first, again)


def test_interrupted_training_resumes_from_the_backup(write_image, tmp_path, vgg_weights):
    from tf_cbam_style.training import train

    for i in range(4):
        write_image(f"photos/{i}.png", height=40, width=40, seed=i)

    class Interrupt(keras.callbacks.Callback):
        def on_epoch_begin(self, epoch, logs=None):
            if epoch == 2:
                raise KeyboardInterrupt

    kwargs = dict(depth="relu3_1", crop_size=32, batch_size=2, steps=3, checkpoint_every=1, verbose=0)
    with pytest.raises(KeyboardInterrupt):
        train(str(tmp_path / "photos"), str(tmp_path / "run"), callbacks=[Interrupt()], **kwargs)
    assert os.path.isdir(tmp_path / "run" / "backup")
    train(str(tmp_path / "photos"), str(tmp_path / "run"), **kwargs)
    epochs = [line.split(",")[0] for line in (tmp_path / "run" / "history.csv").read_text().splitlines()
              if line and line[0].isdigit()]
    assert epochs == ["0", "1", "2"]  # epochs 0 and 1 were not run again
    assert (tmp_path / "run" / "model.keras").is_file()


def test_a_phase_after_a_resumed_phase_still_trains(write_image, tmp_path, vgg_weights):
    """Resuming phase 1 at epoch 2 must not make phase 2 (1 epoch) start at epoch 2."""
    from tf_cbam_style.training import train

    for i in range(4):
        write_image(f"photos/{i}.png", height=40, width=40, seed=i)

    class Interrupt(keras.callbacks.Callback):
        def on_epoch_begin(self, epoch, logs=None):
            if epoch == 2:
                raise KeyboardInterrupt

    kwargs = dict(depth="relu3_1", batch_size=2, crop_schedule=[(32, 3), (40, 1)], checkpoint_every=1,
                  verbose=0)
    with pytest.raises(KeyboardInterrupt):
        train(str(tmp_path / "photos"), str(tmp_path / "run"), callbacks=[Interrupt()], **kwargs)
    train(str(tmp_path / "photos"), str(tmp_path / "run"), **kwargs)
    epochs = [line.split(",")[0] for line in (tmp_path / "run" / "history.csv").read_text().splitlines()
              if line and line[0].isdigit()]
    assert epochs == ["0", "1", "2", "0"]  # phase 1 resumed at epoch 2, then phase 2's one epoch
    assert json.loads((tmp_path / "run" / "training.json").read_text())["steps"] == 4


def test_train_command_writes_model(write_image, tmp_path, vgg_weights, capsys):
    from tf_cbam_style.cli import main

    for i in range(6):
        write_image(f"photos/{i}.jpg", height=40, width=48, seed=i)
    (tmp_path / "photos" / "broken.png").write_bytes(b"\x89PNG\r\n\x1a\n broken")
    out = tmp_path / "run"
    args = ["train", "--data", str(tmp_path / "photos"), "--out", str(out), "--depth", "relu3_1",
            "--crop-size", "32", "--batch-size", "2", "--steps", "2", "--checkpoint-every", "1"]
    assert main(args) == 0
    printed = capsys.readouterr().out
    assert "Found 6 images" in printed and "skipped 1" in printed
    facts = json.loads((out / "training.json").read_text())
    assert facts["steps"] == 2 and facts["crop_size"] == 32
    assert os.path.isfile(out / "model.keras") and os.path.isfile(out / "checkpoint.weights.h5")
    model = keras.saving.load_model(str(out / "model.keras"), compile=False)
    assert model.depth == "relu3_1"


def test_reconstruct_command_reports_psnr_and_ssim(write_image, tmp_path, tiny_model_path, capsys):
    from tf_cbam_style.cli import main

    for i in range(2):
        write_image(f"held_out/{i}.png", height=40, width=56, seed=i)
    assert main(["reconstruct", "--data", str(tmp_path / "held_out"), "--model", tiny_model_path,
                 "--size", "32", "--per-image"]) == 0
    out = capsys.readouterr().out.strip().splitlines()
    assert len(out) == 3 and out[-1].startswith("2 images at 32 px: PSNR")


def test_psnr_is_infinite_free_and_matches_numpy(rng):
    """The report's PSNR is tf.image.psnr: 10 log10(1 / MSE)."""
    import tensorflow as tf

    x = rng.uniform(size=(1, 16, 16, 3)).astype(np.float32)
    y = np.clip(x + rng.normal(0, 0.05, x.shape), 0, 1).astype(np.float32)
    expected = 10 * np.log10(1.0 / np.mean((x - y) ** 2))
    np.testing.assert_allclose(float(tf.image.psnr(x, y, 1.0)[0]), expected, rtol=1e-4)


_MIRRORED_SCRIPT = r"""
import numpy as np, tensorflow as tf, keras
cpu = tf.config.list_physical_devices("CPU")[0]
tf.config.set_logical_device_configuration(cpu, [tf.config.LogicalDeviceConfiguration()] * 2)
from tf_cbam_style.models import AttentionAutoencoder
strategy = tf.distribute.MirroredStrategy(["/cpu:0", "/cpu:1"])
assert strategy.num_replicas_in_sync == 2
images = np.random.default_rng(0).uniform(size=(4, 32, 32, 3)).astype("float32")

def run(strategy):
    keras.utils.set_random_seed(0)
    with strategy.scope():
        model = AttentionAutoencoder(depth="relu3_1", encoder_weights=None)
        model.build()
        model.compile(optimizer=keras.optimizers.SGD(1e-3))
    ds = tf.data.Dataset.from_tensor_slices(images).batch(4)
    model.fit(ds, epochs=1, verbose=0)
    return model.decoder.get_weights()[-2]

mirrored = run(strategy)
single = run(tf.distribute.get_strategy())
# Two replicas of 2 images each must take the same step as one batch of 4.
np.testing.assert_allclose(mirrored, single, rtol=1e-3, atol=1e-6)
print("MIRRORED_OK")
"""


def test_fit_under_mirrored_strategy_matches_single_device():
    import subprocess
    import sys

    result = subprocess.run([sys.executable, "-c", _MIRRORED_SCRIPT], capture_output=True, text=True,
                            timeout=300)
    assert "MIRRORED_OK" in result.stdout, result.stderr[-3000:]


@pytest.mark.parametrize("name", ["contrast_weight", "ssim_weight"])
def test_added_loss_weights_round_trip_and_reject_negative_values(name):
    model = AttentionAutoencoder(depth="relu3_1", encoder_weights=None, **{name: 2.5})
    assert model.get_config()[name] == 2.5
    assert getattr(AttentionAutoencoder.from_config(model.get_config()), name) == 2.5
    legacy = {k: v for k, v in model.get_config().items() if k != name}
    assert getattr(AttentionAutoencoder.from_config(legacy), name) == 0.0  # archives from before the term
    with pytest.raises(ValueError, match=f"Received: {name}=-1"):
        AttentionAutoencoder(depth="relu3_1", encoder_weights=None, **{name: -1})


def test_freeze_attention_trains_the_decoder_only(write_image, tmp_path, vgg_weights):
    from tf_cbam_style.cli import main
    from tf_cbam_style.training import export_model

    for i in range(4):
        write_image(f"photos/{i}.png", height=40, width=40, seed=i)
    start = _model()
    start_path = export_model(start, str(tmp_path / "start.keras"))
    out = tmp_path / "run"
    assert main(["train", "--data", str(tmp_path / "photos"), "--out", str(out), "--depth", "relu3_1",
                 "--crop-size", "32", "--batch-size", "2", "--steps", "2", "--checkpoint-every", "1",
                 "--lr", "1e-2", "--init-from", start_path, "--freeze-attention"]) == 0
    trained = keras.saving.load_model(str(out / "model.keras"), compile=False)
    for before, after in zip(start.attention.get_weights(), trained.attention.get_weights()):
        np.testing.assert_array_equal(before, after)
    assert any(not np.array_equal(b, a) for b, a in zip(start.decoder.get_weights(), trained.decoder.get_weights()))
    assert json.loads((out / "training.json").read_text())["freeze_attention"] is True
    assert trained.attention.trainable  # the shipped archive is an ordinary model


def test_freeze_attention_needs_init_from(tmp_path):
    from tf_cbam_style.training import train

    with pytest.raises(ValueError, match=r"`freeze_attention`.*Received: freeze_attention=True, init_from=None"):
        train(str(tmp_path), str(tmp_path / "run"), freeze_attention=True)


def test_freeze_attention_holds_in_the_multi_worker_loop(write_image, tmp_path, vgg_weights):
    """The custom loop (one worker here) trains the same variables as model.fit."""
    from tf_cbam_style.training import export_model, train

    for i in range(4):
        write_image(f"photos/{i}.png", height=40, width=40, seed=i)
    start = _model()
    train(str(tmp_path / "photos"), str(tmp_path / "run"), depth="relu3_1", crop_size=32, batch_size=2, steps=2,
          checkpoint_every=1, learning_rate=1e-2, init_from=export_model(start, str(tmp_path / "start.keras")),
          freeze_attention=True, strategy="multi-worker", verbose=0)
    trained = keras.saving.load_model(str(tmp_path / "run" / "model.keras"), compile=False)
    for before, after in zip(start.attention.get_weights(), trained.attention.get_weights()):
        np.testing.assert_array_equal(before, after)
    assert any(not np.array_equal(b, a) for b, a in zip(start.decoder.get_weights(), trained.decoder.get_weights()))
    facts = json.loads((tmp_path / "run" / "training.json").read_text())
    assert (facts["strategy"], facts["freeze_attention"]) == ("multi-worker", True)


@pytest.mark.parametrize("flag", [["--ssim-weight", "-1"], ["--contrast-weight", "-1"],
                                  ["--attention", "self_attention", "--init-from", "CBAM"],
                                  ["--crop-schedule", "32:4,48:3", "--checkpoint-every", "2"]])
def test_train_with_a_bad_argument_leaves_no_run_folder(flag, write_image, tmp_path, vgg_weights, tiny_model_path,
                                                        capsys):
    from tf_cbam_style.cli import main

    for i in range(2):
        write_image(f"photos/{i}.png", height=40, width=40, seed=i)
    flag = [tiny_model_path if f == "CBAM" else f for f in flag]
    out = tmp_path / "run"
    assert main(["train", "--data", str(tmp_path / "photos"), "--out", str(out), "--crop-size", "32",
                 "--steps", "1"] + flag) != 0
    error = capsys.readouterr().err.strip()
    assert error.startswith("error: ") and "\n" not in error and "Received:" in error
    assert not out.exists()


def test_mixed_bfloat16_matches_float32_and_exports_float32(rng, tmp_path):
    from tf_cbam_style.training import export_model

    model = _model()
    mixed = AttentionAutoencoder.from_config(model.get_config())
    mixed.build()
    mixed.set_weights(model.get_weights())
    mixed.set_precision("mixed_bfloat16")
    assert mixed.decoder.compute_dtype == "bfloat16" and mixed.encoder.compute_dtype == "bfloat16"
    assert all(w.dtype == "float32" for w in mixed.weights)  # weights stay float32
    assert mixed.get_config() == model.get_config()
    images = rng.uniform(size=(2, 32, 32, 3)).astype(np.float32)
    want = {k: float(v) for k, v in model.compute_losses(images).items()}
    got = mixed.compute_losses(images)
    assert all(v.dtype == "float32" for v in got.values())  # loss terms in float32
    # bfloat16 keeps 8 mantissa bits (0.4 %); the total variation of an
    # untrained decoder's flat output is mostly that rounding, hence 10 %.
    for name, rel in (("perceptual", 0.03), ("pixel", 0.03), ("attention", 0.03), ("tv", 0.1), ("loss", 0.03)):
        assert float(got[name]) == pytest.approx(want[name], rel=rel), name
    loaded = keras.saving.load_model(export_model(mixed, str(tmp_path / "m.keras")), compile=False)
    assert loaded.decoder.compute_dtype == "float32" and loaded.encoder.compute_dtype == "float32"
    np.testing.assert_allclose(float(loaded.compute_losses(images)["loss"]), want["loss"], rtol=1e-5)
    with pytest.raises(ValueError, match="Received: precision='float16'"):
        model.set_precision("float16")


def test_train_command_with_mixed_precision(write_image, tmp_path, vgg_weights):
    from tf_cbam_style.cli import main

    for i in range(2):
        write_image(f"photos/{i}.png", height=40, width=40, seed=i)
    out = tmp_path / "run"
    assert main(["train", "--data", str(tmp_path / "photos"), "--out", str(out), "--depth", "relu3_1",
                 "--crop-size", "32", "--batch-size", "2", "--steps", "1", "--precision", "mixed_bfloat16",
                 "--eval-data", str(tmp_path / "photos")]) == 0
    facts = json.loads((out / "training.json").read_text())
    assert facts["precision"] == "mixed_bfloat16" and facts["held_out"]["psnr"] > 0
    trained = keras.saving.load_model(str(out / "model.keras"), compile=False)
    assert trained.decoder.compute_dtype == "float32"


def test_a_phase_must_be_a_multiple_of_checkpoint_every(tmp_path):
    # An epoch is one checkpoint: 3 steps with checkpoints every 2 would run 4.
    from tf_cbam_style.training import train

    with pytest.raises(ValueError, match=r"3 steps as 4\). Received: steps=3, checkpoint_every=2"):
        train(str(tmp_path), str(tmp_path / "run"), steps=3, checkpoint_every=2)
    with pytest.raises(ValueError, match=r"150 steps as 200\). Received: crop_schedule='128:100,256:150'"):
        train(str(tmp_path), str(tmp_path / "run"), crop_schedule="128:100,256:150", checkpoint_every=100)
    assert not (tmp_path / "run").exists()


def test_train_rejects_an_unknown_precision(tmp_path):
    from tf_cbam_style.training import train

    with pytest.raises(ValueError, match="Received: precision='float16'"):
        train(str(tmp_path), str(tmp_path / "run"), precision="float16")
    assert not (tmp_path / "run").exists()


def test_profile_training_command_prints_every_stage_per_precision(write_image, tmp_path, tiny_model_path, capsys):
    from tf_cbam_style.cli import main
    from tf_cbam_style.evaluation.train_profile import STAGES

    for i in range(2):
        write_image(f"photos/{i}.png", height=40, width=40, seed=i)
    assert main(["profile-training", "--data", str(tmp_path / "photos"), "--model", tiny_model_path,
                 "--crop-size", "32", "--batch-size", "2", "--repeats", "1"]) == 0
    printed = capsys.readouterr().out
    header = next(line for line in printed.splitlines() if line.startswith("| stage"))
    assert "float32" in header and "mixed_bfloat16" in header
    for stage in STAGES:
        row = next(line for line in printed.splitlines() if line.startswith(f"| {stage} |"))
        assert row.count("%") == 2
    pixel = next(line for line in printed.splitlines() if line.startswith("| pixel |"))
    assert pixel.count("%") == 1  # the second column's difference to the first
    assert main(["profile-training", "--data", str(tmp_path / "photos"), "--precisions", "float16"]) != 0
    error = capsys.readouterr().err.strip()
    assert "\n" not in error and "Received: precisions='float16'" in error


def test_mixed_precision_in_the_multi_worker_loop(write_image, tmp_path, vgg_weights):
    from tf_cbam_style.training import train

    for i in range(2):
        write_image(f"photos/{i}.png", height=40, width=40, seed=i)
    path = train(str(tmp_path / "photos"), str(tmp_path / "run"), depth="relu3_1", crop_size=32, batch_size=2,
                 steps=1, checkpoint_every=1, strategy="multi-worker", precision="mixed_bfloat16", verbose=0,
                 eval_data=str(tmp_path / "photos"))
    facts = json.loads((tmp_path / "run" / "training.json").read_text())
    assert (facts["strategy"], facts["precision"]) == ("multi-worker", "mixed_bfloat16")
    assert keras.saving.load_model(path, compile=False).decoder.compute_dtype == "float32"
