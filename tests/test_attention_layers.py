"""ChannelAttention, SpatialAttention, CBAM and SelfAttention."""

import keras
import numpy as np
import pytest
import tensorflow as tf

from tf_cbam_style.layers import CBAM, ChannelAttention, SelfAttention, SpatialAttention


def _sigmoid(x):
    return 1.0 / (1.0 + np.exp(-x))


def test_channel_attention_matches_numpy(rng):
    x = rng.normal(size=(2, 5, 6, 8)).astype(np.float32)
    layer = ChannelAttention(reduction=2)
    out = layer(x).numpy()
    w1, b1 = layer.hidden_dense.get_weights()
    w2, b2 = layer.output_dense.get_weights()

    def mlp(v):
        return np.maximum(v @ w1 + b1, 0) @ w2 + b2

    expected = _sigmoid(mlp(x.mean(axis=(1, 2))) + mlp(x.max(axis=(1, 2))))
    assert out.shape == (2, 1, 1, 8)
    np.testing.assert_allclose(out[:, 0, 0], expected, rtol=1e-5, atol=1e-6)


def test_spatial_attention_matches_numpy(rng):
    x = rng.normal(size=(1, 9, 7, 4)).astype(np.float32)
    layer = SpatialAttention(kernel_size=3)
    out = layer(x).numpy()
    kernel, bias = layer.conv.get_weights()
    pooled = np.concatenate([x.mean(-1, keepdims=True), x.max(-1, keepdims=True)], -1)
    padded = np.pad(pooled, [(0, 0), (1, 1), (1, 1), (0, 0)], mode="reflect")
    expected = np.zeros((1, 9, 7, 1), np.float32)
    for i in range(9):
        for j in range(7):
            expected[0, i, j, 0] = np.sum(padded[0, i:i + 3, j:j + 3] * kernel[..., 0]) + bias[0]
    np.testing.assert_allclose(out, _sigmoid(expected), rtol=1e-5, atol=1e-6)


def test_cbam_is_residual_attention(rng):
    x = rng.normal(size=(2, 6, 6, 16)).astype(np.float32)
    layer = CBAM(reduction=4)
    out = layer(x)
    channel = layer.channel_attention(x).numpy()
    spatial = layer.spatial_attention(x * channel).numpy()
    np.testing.assert_allclose(out["attention"].numpy(), channel * spatial, rtol=1e-5, atol=1e-6)
    np.testing.assert_allclose(out["features"].numpy(), x + x * channel * spatial, rtol=1e-5, atol=1e-5)
    assert out["attention_map"].shape == (2, 6, 6, 1)
    assert np.all(out["attention_map"].numpy() >= 0) and np.all(out["attention_map"].numpy() <= 1)


def test_self_attention_matches_numpy(rng):
    x = rng.normal(size=(1, 3, 4, 6)).astype(np.float32)
    layer = SelfAttention(key_reduction=2)
    out = layer(x)
    wk, bk = layer.key_conv.get_weights()
    wq, bq = layer.query_conv.get_weights()
    wv, bv = layer.value_conv.get_weights()
    flat = x.reshape(12, 6)
    keys, queries, values = flat @ wk[0, 0] + bk, flat @ wq[0, 0] + bq, flat @ wv[0, 0] + bv
    logits = queries @ keys.T
    weights = np.exp(logits - logits.max(1, keepdims=True))
    weights /= weights.sum(1, keepdims=True)
    attention = (weights @ values).reshape(1, 3, 4, 6)
    np.testing.assert_allclose(out["attention"].numpy(), attention, rtol=1e-4, atol=1e-5)
    np.testing.assert_allclose(out["features"].numpy(), x + x * attention, rtol=1e-4, atol=1e-5)
    np.testing.assert_allclose(
        out["attention_map"].numpy()[..., 0], np.abs(attention).mean(-1), rtol=1e-4, atol=1e-6
    )


@pytest.mark.parametrize(
    "layer",
    [ChannelAttention(reduction=4), SpatialAttention(kernel_size=5), CBAM(reduction=8, kernel_size=3),
     SelfAttention(key_reduction=4)],
    ids=lambda layer: type(layer).__name__,
)
def test_serialization_round_trip(layer, rng):
    x = rng.normal(size=(1, 5, 5, 16)).astype(np.float32)
    first = layer(x)
    restored = keras.saving.deserialize_keras_object(keras.saving.serialize_keras_object(layer))
    assert restored.get_config() == layer.get_config()
    restored(x)
    restored.set_weights(layer.get_weights())
    second = restored(x)
    tf.nest.map_structure(lambda a, b: np.testing.assert_allclose(a, b, rtol=1e-6), first, second)


@pytest.mark.parametrize(
    "factory, message",
    [
        (lambda: ChannelAttention(reduction=0), "reduction"),
        (lambda: SpatialAttention(kernel_size=4), "kernel_size"),
        (lambda: SelfAttention(key_reduction=-1), "key_reduction"),
    ],
)
def test_bad_arguments_name_the_argument(factory, message):
    with pytest.raises(ValueError, match=f"`{message}`.*Received: {message}="):
        factory()
