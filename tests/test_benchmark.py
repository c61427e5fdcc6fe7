"""The benchmark's plumbing, the stage profile and the style swap's fast paths."""

import argparse
import math

import numpy as np
import pytest

from tf_cbam_style.evaluation import benchmark


def _row(method, size, median):
    return benchmark.BenchmarkRow(method, size, median, [median], 100.0, 200.0, None)


def test_ratio_table_divides_by_the_references():
    rows = [_row("adain", 256, 1.0), _row("cbam", 256, 2.5), _row("magenta", 256, 0.5),
            _row("adain", 512, 4.0), _row("cbam", 512, 6.0),
            benchmark.BenchmarkRow("magenta", 512, float("nan"), [], float("nan"), float("nan"), "boom")]
    table = benchmark.ratio_table(rows).splitlines()
    assert table[0] == "| size | method | median s | peak RSS MiB | loaded RSS MiB | x adain | x magenta |"
    assert "| 256 | `cbam` | 2.500 | 200 | 100 | 2.50 | 5.00 |" in table
    assert "| 512 | `cbam` | 6.000 | 200 | 100 | 1.50 | n/a |" in table
    assert any("error: boom" in line for line in table)


def test_worker_in_a_fresh_process(tiny_model_path, write_image):
    content = write_image("c.png", 64, 64, seed=1)
    style = write_image("s.png", 48, 48, seed=2)
    row = benchmark.run_one("adain", 64, content=content, style=style, repeats=2, cbam_model=tiny_model_path)
    assert row.error is None, row.error
    assert len(row.latencies) == 2 and row.median_s > 0
    assert row.peak_rss_mb >= row.loaded_rss_mb > 50
    bad = benchmark.run_one("nope", 64, content=content, style=style, cbam_model=tiny_model_path)
    assert bad.error and math.isnan(bad.median_s)


def test_benchmark_command_argument_errors(tiny_model_path):
    from tf_cbam_style.cli.evaluation import register as register_cli

    parser = argparse.ArgumentParser(prog="tf-cbam-style")
    register_cli(parser.add_subparsers(dest="command", required=True))
    with pytest.raises(SystemExit):
        parser.parse_args(["benchmark", "--sizes", "16,abc"])
    args = parser.parse_args(["benchmark", "--repeats", "0", "--cbam-model", tiny_model_path])
    with pytest.raises(ValueError, match="`--repeats`.*Received: repeats=0"):
        args.func(args)


def test_profile_stages(tiny_model_path):
    from tf_cbam_style import api
    from tf_cbam_style.evaluation.profile import STAGES, profile_pipeline, stage_table

    rng = np.random.default_rng(0)
    profile = profile_pipeline(api.load_model(tiny_model_path), rng.uniform(size=(64, 64, 3)),
                               rng.uniform(size=(48, 48, 3)), repeats=1)
    assert list(profile.stages) == list(STAGES) and all(t > 0 for t in profile.stages.values())
    assert profile.sum_s == pytest.approx(sum(profile.stages.values()))
    table = stage_table([profile])
    assert "| swap |" in table and "| end-to-end `stylize` |" in table


def _conv_style_swap(content, style, p):
    """The convolution formulation the layer replaced: normalised patches as kernels."""
    import tensorflow as tf

    hs, ws = style.shape[0] - p + 1, style.shape[1] - p + 1
    patches = np.stack([style[i:i + p, j:j + p] for i in range(hs) for j in range(ws)])
    norms = np.sqrt((patches.reshape(len(patches), -1) ** 2).sum(1)) + 1e-7
    kernels = np.transpose(patches / norms[:, None, None, None], [1, 2, 3, 0])
    half = p // 2
    padded = np.pad(content, [(half, half), (half, half), (0, 0)], mode="reflect")
    scores = tf.nn.conv2d(padded[None], kernels, 1, "VALID")[0].numpy()
    best = scores.argmax(-1)
    out = np.zeros_like(content)
    count = np.zeros(content.shape[:2] + (1,))
    for y in range(content.shape[0]):
        for x in range(content.shape[1]):
            for dy in range(p):
                for dx in range(p):
                    yy, xx = y + dy - half, x + dx - half
                    if 0 <= yy < content.shape[0] and 0 <= xx < content.shape[1]:
                        out[yy, xx] += patches[best[y, x], dy, dx]
                        count[yy, xx] += 1
    return out / count


def test_fast_style_swap_equals_the_convolution_formulation(rng):
    from tf_cbam_style.layers import StyleSwap

    content = rng.normal(size=(11, 9, 8)).astype(np.float32)
    style = rng.normal(size=(13, 10, 8)).astype(np.float32)
    out = StyleSwap(patch_size=5, stroke_scales=(1.0,))([content[None], style[None]])[0].numpy()[0]
    np.testing.assert_allclose(out, _conv_style_swap(content, style, 5), rtol=1e-5, atol=1e-5)
