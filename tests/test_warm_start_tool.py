"""tools/combine_warm_start.py: a shallower model started from a deeper decoder's tail."""

import numpy as np
import pytest


@pytest.fixture(scope="module")
def tool(load_tool):
    return load_tool("combine_warm_start")


@pytest.fixture(scope="module")
def relu4_1_model(tmp_path_factory):
    from tf_cbam_style.models import AttentionAutoencoder
    from tf_cbam_style.training_run import export_model

    model = AttentionAutoencoder(depth="relu4_1", attention="cbam", encoder_weights=None)
    model.build()
    rng = np.random.default_rng(0)
    model.decoder.set_weights([rng.normal(size=w.shape).astype(np.float32) for w in model.decoder.get_weights()])
    model.encoder.set_weights([rng.normal(size=w.shape).astype(np.float32) for w in model.encoder.get_weights()])
    path = str(tmp_path_factory.mktemp("models") / "cbam_relu4_1.keras")
    export_model(model, path)
    return model, path


def test_a_relu3_1_model_gets_the_tail_of_a_relu4_1_decoder_and_the_prefix_of_its_encoder(
        relu4_1_model, tmp_path, tool):
    from tf_cbam_style.api import load_model

    source, path = relu4_1_model
    out = str(tmp_path / "relu3_1.keras")
    assert tool.main(["--depth", "relu3_1", "--attention", "self_attention", "--decoder-from", path,
                         "-o", out]) == 0
    result = load_model(out)
    assert (result.depth, result.attention_kind) == ("relu3_1", "self_attention")
    tail = source.decoder.get_weights()[-len(result.decoder.weights):]
    assert len(result.decoder.weights) < len(source.decoder.weights)
    for got, want in zip(result.decoder.get_weights(), tail):
        np.testing.assert_array_equal(got, want)
    prefix = source.encoder.get_weights()[: len(result.encoder.weights)]
    for got, want in zip(result.encoder.get_weights(), prefix):
        np.testing.assert_array_equal(got, want)


def test_bad_arguments_get_one_line_errors_and_write_nothing(relu4_1_model, tmp_path, capsys, tool):
    _, path = relu4_1_model
    out = tmp_path / "x.keras"
    assert tool.main(["--decoder-from", path, "-o", str(out)]) == 2
    assert "Received: attention_from=None, depth=None" in capsys.readouterr().err
    assert tool.main(["--attention-from", path, "--depth", "relu3_1", "--decoder-from", path,
                         "-o", str(out)]) == 2
    assert "`--attention-from` is a relu4_1 model. Received: depth='relu3_1'" in capsys.readouterr().err
    assert tool.main(["--depth", "relu3_1", "--decoder-from", path, "--fit-head-ridge-batches", "-1",
                      "-o", str(out)]) == 2
    assert "Received: fit_head_steps=200, fit_head_ridge_batches=-1" in capsys.readouterr().err
    assert tool.main(["--depth", "relu5_1", "--decoder-from", path, "--fit-head", str(tmp_path / "nope"),
                      "-o", str(out)]) == 2
    assert "`--fit-head` must be a folder of photos. Received: fit_head=" in capsys.readouterr().err
    assert not out.exists()
    out.write_bytes(b"keep")
    assert tool.main(["--depth", "relu3_1", "--decoder-from", path, "-o", str(out)]) == 2
    assert "--overwrite" in capsys.readouterr().err
    assert out.read_bytes() == b"keep"


def test_a_relu5_1_model_ends_with_the_whole_relu4_1_decoder(relu4_1_model, tmp_path, tool):
    import os

    from tf_cbam_style.api import load_model

    if not os.environ.get("TF_CBAM_STYLE_VGG_WEIGHTS"):
        pytest.skip("needs $TF_CBAM_STYLE_VGG_WEIGHTS for the relu5_1 block")
    source, path = relu4_1_model
    out = str(tmp_path / "relu5_1.keras")
    assert tool.main(["--depth", "relu5_1", "--decoder-from", path, "-o", out]) == 0
    result = load_model(out)
    weights = result.decoder.get_weights()
    for got, want in zip(weights[len(weights) - len(source.decoder.weights):], source.decoder.get_weights()):
        np.testing.assert_array_equal(got, want)
    for got, want in zip(result.encoder.get_weights(), source.encoder.get_weights()):
        np.testing.assert_array_equal(got, want)


def test_fit_head_starts_a_relu5_1_head_from_the_ridge_regression(vgg_weights, write_image, tmp_path, capsys,
                                                                  tool):
    from tf_cbam_style.api import load_model
    from tf_cbam_style.models import AttentionAutoencoder
    from tf_cbam_style.training_run import export_model

    source = AttentionAutoencoder(depth="relu4_1", attention="cbam", encoder_weights=vgg_weights)
    source.build()
    path = str(tmp_path / "relu4_1.keras")
    export_model(source, path)
    for i in range(6):
        write_image(f"photos/p{i}.png", 96, 80, seed=i)
    out = str(tmp_path / "relu5_1.keras")
    argv = ["--depth", "relu5_1", "--decoder-from", path, "--fit-head", str(tmp_path / "photos"),
            "--fit-head-steps", "2", "--fit-head-ridge-batches", "2", "-o", out]
    assert tool.main(argv) == 0
    lines = [line for line in capsys.readouterr().out.splitlines() if "relative error" in line]
    errors = [float(line.split(": ")[1].split()[0]) for line in lines]
    assert len(errors) == 3 and errors[1] < errors[0] and errors[1] < 1.0  # the ridge start beats the means
    result = load_model(out)
    weights = result.decoder.get_weights()
    tail = len(source.decoder.weights)
    for got, want in zip(weights[-tail:], source.decoder.get_weights()):
        np.testing.assert_array_equal(got, want)  # only the head is fitted
    assert np.isfinite(weights[0]).all() and np.abs(weights[6][1, 1]).sum() > 0


def test_fit_head_needs_a_fresh_head(relu4_1_model, tmp_path, capsys, tool):
    _, path = relu4_1_model
    out = tmp_path / "x.keras"
    assert tool.main(["--depth", "relu3_1", "--decoder-from", path, "--fit-head", str(tmp_path),
                      "-o", str(out)]) == 2
    assert "Received: fit_head=" in capsys.readouterr().err
    assert not out.exists()
