"""PeriodicNoiseFilter: numpy reference, known answers, serialization, bad arguments."""

import keras
import numpy as np
import pytest
import tensorflow as tf

from tf_cbam_style.evaluation.metrics import grid_score
from tf_cbam_style.layers import PeriodicNoiseFilter


def numpy_reference(x, period, cells=9, sigma=2.0):
    radius = int(np.ceil(2 * sigma))
    taps = np.exp(-0.5 * (np.arange(-radius, radius + 1) / sigma) ** 2)
    taps /= taps.sum()
    padded = np.pad(x, ((radius, radius), (radius, radius), (0, 0)), mode="reflect")
    h, w, _ = x.shape
    blurred = sum(taps[i] * padded[:, i:i + w] for i in range(2 * radius + 1))
    blurred = sum(taps[i] * blurred[i:i + h] for i in range(2 * radius + 1))
    residual = x - blurred
    total, count = np.zeros_like(x), np.zeros((h, w, 1))
    half = cells // 2
    for a in range(-half, half + 1):
        for b in range(-half, half + 1):
            ys, xs = np.arange(h) + a * period, np.arange(w) + b * period
            vy, vx = (ys >= 0) & (ys < h), (xs >= 0) & (xs < w)
            total[np.ix_(vy, vx)] += residual[np.ix_(ys[vy], xs[vx])]
            count[np.ix_(vy, vx)] += 1
    return np.clip(x - total / count, 0.0, 1.0)


@pytest.mark.parametrize("period,cells,shape", [(8, 9, (37, 45, 3)), (4, 3, (20, 33, 1)), (16, 5, (64, 40, 3))])
def test_matches_the_numpy_reference(period, cells, shape):
    x = np.random.default_rng(period).random(shape).astype(np.float32)
    out = PeriodicNoiseFilter(period=period, cells=cells)(x[None])[0].numpy()
    np.testing.assert_allclose(out, numpy_reference(x.astype(np.float64), period, cells), atol=1e-6)


def test_removes_a_pure_period_8_pattern_and_keeps_the_rest():
    rng = np.random.default_rng(0)
    yy, xx = np.mgrid[0:96, 0:128] / 128.0
    smooth = (0.3 + 0.4 * np.sin(2 * xx + yy))[..., None].repeat(3, -1)
    content = np.clip(smooth + 0.05 * rng.standard_normal((96, 128, 3)), 0, 1).astype(np.float32)
    pattern = 0.03 * np.cos(2 * np.pi * np.arange(128) / 8)[None, :, None] * np.ones((96, 1, 3))
    noisy = (content + pattern).astype(np.float32)
    filt = PeriodicNoiseFilter(period=8)
    cleaned = filt(noisy[None])[0].numpy()
    before, after = grid_score(noisy, content), grid_score(cleaned, content)
    assert before > 8 and after < 2.0, (before, after)  # measured: 12.4 and 1.64
    assert np.abs(cleaned - content).mean() < 0.5 * np.abs(noisy - content).mean()
    kept = filt(smooth[None].astype(np.float32))[0].numpy()
    assert np.abs(kept - smooth).max() < 1.5 / 255  # a smooth image keeps all but its reflected edges (2.6e-3)


def test_flat_image_is_unchanged():
    flat = np.full((1, 40, 40, 3), 0.25, np.float32)
    np.testing.assert_allclose(PeriodicNoiseFilter(period=8)(flat).numpy(), flat, atol=1e-6)


def test_serialization_round_trip():
    layer = PeriodicNoiseFilter(period=4, cells=5, sigma=1.5, name="f")
    config = layer.get_config()
    assert {k: config[k] for k in ("period", "cells", "sigma")} == {"period": 4, "cells": 5, "sigma": 1.5}
    clone = keras.layers.deserialize(keras.layers.serialize(layer))
    x = tf.random.uniform((1, 24, 24, 3), seed=1)
    np.testing.assert_array_equal(clone(x).numpy(), layer(x).numpy())


@pytest.mark.parametrize("kwargs,name", [
    ({"period": 1}, "period"), ({"period": 8.0}, "period"), ({"period": 8, "cells": 4}, "cells"),
    ({"period": 8, "cells": 1}, "cells"), ({"period": 8, "sigma": 0}, "sigma"),
])
def test_bad_arguments(kwargs, name):
    with pytest.raises(ValueError, match=f"`{name}`.*Received: {name}="):
        PeriodicNoiseFilter(**kwargs)
