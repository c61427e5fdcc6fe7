"""VGG19Encoder weights resolution and outputs; Decoder shapes."""

import keras
import numpy as np
import pytest

from tf_cbam_style.models import Decoder, VGG19Encoder, resolve_vgg_weights
from tf_cbam_style.models.vgg19_encoder import WEIGHTS_ENV_VAR


def test_encoder_matches_keras_vgg19(vgg_weights, rng):
    images = rng.uniform(size=(1, 32, 40, 3)).astype(np.float32)
    encoder = VGG19Encoder("relu4_1", weights=vgg_weights)
    vgg = keras.applications.VGG19(include_top=False, weights=vgg_weights, input_shape=(None, None, 3))
    cut = keras.Model(vgg.input, vgg.get_layer("block4_conv1").output)
    expected = cut(keras.applications.vgg19.preprocess_input(images * 255.0)).numpy()
    np.testing.assert_allclose(encoder(images).numpy(), expected, rtol=1e-4, atol=1e-3)


@pytest.mark.parametrize("depth, stride, channels, layers", [
    ("relu3_1", 4, 256, ["relu1_1", "relu2_1", "relu3_1"]),
    ("relu4_1", 8, 512, ["relu1_1", "relu2_1", "relu3_1", "relu4_1"]),
    ("relu5_1", 16, 512, ["relu1_1", "relu2_1", "relu3_1", "relu4_1", "relu5_1"]),
])
def test_depths_and_intermediate_outputs(depth, stride, channels, layers):
    encoder = VGG19Encoder(depth, weights=None)
    outputs = encoder(np.zeros((1, 32, 48, 3), np.float32), return_intermediate=True)
    assert list(outputs) == layers
    assert outputs[depth].shape == (1, 32 // stride, 48 // stride, channels)
    assert not encoder.trainable_weights
    decoded = Decoder(depth)(outputs[depth])
    assert decoded.shape == (1, 32, 48, 3)


def test_weights_resolve_explicit_then_env_then_imagenet(tmp_path, monkeypatch):
    explicit = tmp_path / "explicit.weights.h5"
    env = tmp_path / "env.weights.h5"
    explicit.write_bytes(b"x")
    env.write_bytes(b"x")
    monkeypatch.setenv(WEIGHTS_ENV_VAR, str(env))
    assert resolve_vgg_weights(str(explicit)) == str(explicit)
    assert resolve_vgg_weights("auto") == str(env)
    monkeypatch.delenv(WEIGHTS_ENV_VAR)
    assert resolve_vgg_weights("auto") == "imagenet"


def test_missing_weights_file_names_the_env_var(tmp_path):
    with pytest.raises(FileNotFoundError, match=WEIGHTS_ENV_VAR):
        resolve_vgg_weights(str(tmp_path / "nope.h5"))


def test_failed_download_names_the_env_var(monkeypatch):
    monkeypatch.delenv(WEIGHTS_ENV_VAR, raising=False)

    def offline(*args, **kwargs):
        raise OSError("URL fetch failure: no network")

    monkeypatch.setattr(keras.applications, "VGG19", offline)
    encoder = VGG19Encoder("relu3_1", weights="auto")
    with pytest.raises(RuntimeError, match=WEIGHTS_ENV_VAR):
        encoder.build((None, None, None, 3))


def test_bad_depth():
    with pytest.raises(ValueError, match="Received: depth='relu2_1'"):
        VGG19Encoder("relu2_1")
    with pytest.raises(ValueError, match="Received: depth='relu6_1'"):
        Decoder("relu6_1")


def test_serialization_round_trip():
    for layer in (VGG19Encoder("relu3_1", weights=None), Decoder("relu5_1")):
        restored = keras.saving.deserialize_keras_object(keras.saving.serialize_keras_object(layer))
        assert restored.get_config() == layer.get_config()
