"""`tf-cbam-style saliency`, `count-params`, `paper-figure` (evaluation/saliency_benchmark.py, paper.py,
cli/saliency.py) on tiny untrained models and synthetic data sets."""

import csv
import math

import numpy as np
import pytest
from PIL import Image

from tf_cbam_style import options as opts
from tf_cbam_style.evaluation import saliency_benchmark as sb
from tf_cbam_style.cli import main as cli_main  # saliency, count-params, paper-figure

# ---------------------------------------------------------------------------
# Fixtures
# ---------------------------------------------------------------------------


def _write_dataset(root, count=2, height=40, width=56):
    """count photos with a bright square object and its mask."""
    (root / "images").mkdir(parents=True)
    (root / "masks").mkdir()
    rng = np.random.default_rng(0)
    for i in range(count):
        image = rng.uniform(0.1, 0.3, size=(height, width, 3))
        mask = np.zeros((height, width), np.uint8)
        mask[10 + i:28, 16:40 - i] = 255
        image[mask > 0] = (0.9, 0.6, 0.2)
        Image.fromarray(np.round(image * 255).astype(np.uint8)).save(root / "images" / f"{i:03d}.jpg")
        Image.fromarray(mask).save(root / "masks" / f"{i:03d}.png")
    return root


@pytest.fixture(scope="module")
def tiny_models(tmp_path_factory):
    """Untrained relu3_1 CBAM and self-attention models in a models folder."""
    from tf_cbam_style.models import AttentionAutoencoder
    from tf_cbam_style.training import export_model

    root = tmp_path_factory.mktemp("models")
    paths = {}
    for attention in ("cbam", "self_attention"):
        model = AttentionAutoencoder(depth="relu3_1", attention=attention, encoder_weights=None)
        model.build()
        paths[attention] = export_model(model, str(root / f"{attention}_relu3_1" / "model.keras"))
    return root, paths


@pytest.fixture
def model_dir(tiny_models, monkeypatch):
    root, paths = tiny_models
    monkeypatch.setenv("TF_CBAM_STYLE_MODEL_DIR", str(root))
    return paths


# ---------------------------------------------------------------------------
# Data and reference maps
# ---------------------------------------------------------------------------


def test_saliency_items_sorted_limited_and_checked(tmp_path):
    root = _write_dataset(tmp_path / "data", count=3)
    items = sb.saliency_items(root)
    assert [i.id for i in items] == ["000", "001", "002"]
    assert [i.id for i in sb.saliency_items(root, max_images=2)] == ["000", "001"]
    image, mask = sb.load_item(items[1], 48)
    assert image.shape == (34, 48, 3) and mask.shape == (34, 48)
    assert 0.0 <= mask.min() and mask.max() <= 1.0 and 0.1 < (mask >= 0.5).mean() < 0.5
    (root / "masks" / "002.png").unlink()
    with pytest.raises(ValueError, match="002.png"):
        sb.saliency_items(root)
    with pytest.raises(ValueError, match="max_images"):
        sb.saliency_items(root, max_images=0)
    with pytest.raises(FileNotFoundError, match="images/ and masks/"):
        sb.saliency_items(tmp_path)


def test_gaussian_prior_known_values():
    h, w = 21, 41
    prior = sb.gaussian_prior(h, w, sigma=0.25)
    assert prior.shape == (h, w) and prior.dtype == np.float32
    assert prior[10, 20] == pytest.approx(1.0) and prior.min() == pytest.approx(0.0)
    corner = math.exp(-0.5 * ((10 / (0.25 * h)) ** 2 + (20 / (0.25 * w)) ** 2))
    # One sigma to the right of the centre on the central row, after min-max normalisation.
    x = 20 + 0.25 * w
    value = math.exp(-0.5 * ((int(x) - 20) / (0.25 * w)) ** 2)
    assert prior[10, int(x)] == pytest.approx((value - corner) / (1 - corner), abs=1e-6)
    np.testing.assert_allclose(prior, prior[::-1, ::-1], atol=1e-7)  # centred
    with pytest.raises(ValueError, match="sigma"):
        sb.gaussian_prior(4, 4, sigma=0)


def test_vgg_channel_mean_matches_the_encoder(vgg_weights, rng):
    import tensorflow as tf

    image = rng.uniform(size=(40, 48, 3)).astype(np.float32)  # 40 = 5 x 8, 48 = 6 x 8: no padding
    got = sb.VGGChannelMean(weights=vgg_weights)(image)
    encoder = sb.VGGChannelMean(weights=vgg_weights).encoder
    mean = tf.reduce_mean(encoder(image[None]), -1, keepdims=True)
    expected = tf.image.resize(mean, (40, 48), method="bilinear").numpy()[0, ..., 0]
    expected = (expected - expected.min()) / (expected.max() - expected.min())
    assert got.shape == (40, 48)
    np.testing.assert_allclose(got, expected, atol=1e-5)


def test_vgg_feature_contrast_matches_a_numpy_reference(vgg_weights, rng):
    import tensorflow as tf

    image = rng.uniform(size=(48, 64, 3)).astype(np.float32)  # multiples of 16: no padding at relu5_1
    reference = sb.VGGChannelMean(weights=vgg_weights, depth="relu5_1", statistic="contrast")
    got = reference(image)
    f = reference.encoder(image[None]).numpy()[0].astype(np.float64)
    contrast = np.linalg.norm(f - f.mean(axis=(0, 1)), axis=-1)
    expected = tf.image.resize(contrast[None, ..., None].astype(np.float32), (48, 64), "bilinear").numpy()[0, ..., 0]
    expected = (expected - expected.min()) / (expected.max() - expected.min())
    np.testing.assert_allclose(got, expected, atol=1e-4)
    with pytest.raises(ValueError, match="Received: statistic='max'"):
        sb.VGGChannelMean(weights=vgg_weights, statistic="max")


def test_model_attention_map_is_the_method_s_own_map(model_dir, rng):
    from tf_cbam_style import api

    image = rng.uniform(size=(48, 64, 3)).astype(np.float32)
    style = rng.uniform(size=(40, 40, 3)).astype(np.float32)
    for attention, path in model_dir.items():
        model = api.load_model(path)
        own = api.stylize(image, style, method=attention, model=model).attention_map
        got = sb.model_attention_map(model, image)
        np.testing.assert_allclose(got, sb.metrics.min_max_normalize(own), atol=1e-6)
        assert got.min() == 0.0 and got.max() == pytest.approx(1.0)


def test_resolve_models(model_dir, tmp_path):
    shipped = sb.resolve_models()
    assert list(shipped) == ["cbam_relu3_1", "self_attention_relu3_1"]
    assert list(sb.resolve_models(["self_attention_relu3_1"])) == ["self_attention_relu3_1"]
    folder = str(shipped["cbam_relu3_1"].parent)
    assert sb.resolve_models([folder]) == {"cbam_relu3_1": shipped["cbam_relu3_1"]}
    with pytest.raises(FileNotFoundError, match="cbam_relu3_1"):
        sb.resolve_models(["cbam_relu9_9"])


def test_parse_refinement():
    assert sb.parse_refinement("hard") == sb.Refinement(0, 0.0, "rgb", True)
    assert sb.parse_refinement("8:0.001") == sb.Refinement(8, 1e-3, "rgb", False)
    assert sb.parse_refinement("4:1e-2:grey:hard") == sb.Refinement(4, 1e-2, "grey", True)
    assert sb.parse_refinement("4:1e-2:hard") == sb.Refinement(4, 1e-2, "rgb", True)
    assert sb.refinement_name(sb.Refinement(4, 1e-3, "rgb", True)) == "hard + gf r4 eps1e-03 rgb"
    for bad in ("", "8", "0:0.1", "4:0", "4:x", "4:0.1:blue", "4:0.1:rgb:hard:x", "soft"):
        with pytest.raises(ValueError, match="Received"):
            sb.parse_refinement(bad)


# ---------------------------------------------------------------------------
# Scoring
# ---------------------------------------------------------------------------


def test_score_maps(model_dir, vgg_weights, tmp_path):
    items = sb.saliency_items(_write_dataset(tmp_path / "data"))
    scores, rows = sb.score_maps(items, sb.resolve_models(), size=48)
    assert list(scores) == ["gaussian_prior", "vgg_relu4_1_mean", "vgg_relu5_1_contrast", "cbam_relu3_1",
                            "self_attention_relu3_1"]
    assert len(rows) == 2 * 5 and all(s.count == 2 for s in scores.values())
    for s in scores.values():
        assert 0 <= s.mae <= 1 and 0 <= s.max_f <= 1 and 0 <= s.auc <= 1
    # The object is in the middle of the frame: the centred prior finds it.
    assert scores["gaussian_prior"].auc > 0.7
    table = sb.maps_table(scores)
    assert "centred Gaussian prior" in table and "`cbam_relu3_1` attention" in table


def test_region_scores_known_properties(model_dir, tmp_path, rng):
    items = sb.saliency_items(_write_dataset(tmp_path / "data", count=1))
    style = rng.uniform(size=(48, 48, 3)).astype(np.float32)
    ours = sb.Refinement(opts.MATTE_REFINE_RADIUS, opts.MATTE_REFINE_EPSILON, "rgb", True)
    refinements = [sb.Refinement(0, 0.0, "rgb", True), sb.Refinement(2, 1e-3, "rgb", True),
                   sb.Refinement(2, 1e-3, "grey", False), ours]
    rows = sb.region_scores(items, {"cbam": model_dir["cbam"]}, style, size=56, refinements=refinements)
    names = ["pipeline matte", "soft matte (unrefined)", "hard (m >= 0.5)", "hard + gf r2 eps1e-03 rgb",
             "gf r2 eps1e-03 grey", f"hard + gf r{opts.MATTE_REFINE_RADIUS} eps1e-03 rgb"]
    assert [(r.source, r.matte) for r in rows] == (
        [(sb.ATTENTION_SOURCE, n) for n in names] + [(sb.ORACLE_SOURCE, n) for n in names])
    assert rows[0].composite_error < 1e-5  # the pipeline composites with the formula used here
    assert all(math.isnan(r.composite_error) for r in rows[1:])
    n = len(names)
    for first in (0, n):
        pipeline, soft, hard, same = rows[first], rows[first + 1], rows[first + 2], rows[first + 5]
        assert hard.iou == pytest.approx(soft.iou)  # the same pixels are >= 0.5
        for mode in ("foreground", "background"):  # a binary matte keeps the photo exactly
            if math.isfinite(getattr(hard, f"{mode}_delta_e")):
                assert getattr(hard, f"{mode}_delta_e") == pytest.approx(0.0, abs=1e-6)
        # The pipeline's matte is its soft matte with the pipeline's own refinement.
        for column in sb.REGION_COLUMNS:
            assert getattr(same, column) == pytest.approx(getattr(pipeline, column), abs=1e-4, nan_ok=True)
    # The human mask's own matte finds the square object (the attention of an untrained model need not).
    assert rows[n].iou > 0.6
    summary = sb.summarize_regions(rows + rows)
    assert summary[("cbam", sb.ORACLE_SOURCE, "hard (m >= 0.5)")]["images"] == 2
    assert "hard + gf r2 eps1e-03 rgb" in sb.regions_table(summary)


def test_composites_and_scores_known_answers():
    content = np.zeros((4, 4, 3), np.float32)
    stylized = np.ones((4, 4, 3), np.float32)
    matte = np.zeros((4, 4), np.float32)
    matte[:2] = 1.0
    foreground, background = sb.composites(stylized, content, matte)
    np.testing.assert_array_equal(foreground[:2], 1.0)
    np.testing.assert_array_equal(foreground[2:], 0.0)
    np.testing.assert_array_equal(background, 1.0 - foreground)
    scores = sb.composite_scores(stylized, content, matte, matte)
    assert scores["iou"] == 1.0
    assert scores["foreground_delta_e"] == 0.0 and scores["background_delta_e"] == 0.0
    assert scores["foreground_change"] == 1.0 and scores["background_change"] == 1.0
    # White against black is CIEDE2000 100 (L* 100 vs 0, no chroma).
    half = matte * 0.5
    scores = sb.composite_scores(stylized, content, half, matte)
    assert scores["iou"] == 1.0
    assert scores["foreground_delta_e"] == 0.0 and scores["background_delta_e_human"] > 20


def test_refine_matte_binary_step_follows_the_guide():
    # Guide edge at column 10; the matte's edge is 3 px off, at column 13.
    guide = np.zeros((1, 20, 24, 3), np.float32)
    guide[:, :, 10:] = 1.0
    matte = np.zeros((1, 20, 24, 1), np.float32)
    matte[:, :, 13:] = 1.0
    refined = sb.refine_matte(matte, guide, sb.Refinement(6, 1e-4, "rgb", True))
    iou_before = sb.metrics.iou(matte[0, ..., 0], guide[0, ..., 0])
    iou_after = sb.metrics.iou(refined[0, ..., 0], guide[0, ..., 0])
    assert iou_after > iou_before and 0.0 <= refined.min() and refined.max() <= 1.0


# ---------------------------------------------------------------------------
# Parameter counts and figures
# ---------------------------------------------------------------------------


def test_parameter_counts_known_answers():
    from tf_cbam_style.evaluation import paper

    rows = {(r.depth, r.attention): r for r in paper.parameter_counts()}

    def conv(cin, cout):
        return 9 * cin * cout + cout

    relu3 = conv(3, 64) + conv(64, 64) + conv(64, 128) + conv(128, 128) + conv(128, 256)
    assert rows["relu3_1", "cbam"].encoder == relu3 == 555_328
    # CBAM, reduction 16: MLP 256 -> 16 -> 256 with biases, 7x7x2 conv + bias.
    assert rows["relu3_1", "cbam"].attention_params == 256 * 16 + 16 + 16 * 256 + 256 + 99
    # Self-attention, key reduction 2: two 1x1 convs 512 -> 256 and one 512 -> 512.
    assert rows["relu4_1", "self_attention"].attention_params == 2 * (512 * 256 + 256) + 512 * 512 + 512
    for r in rows.values():
        assert r.total == r.encoder + r.attention_params + r.decoder
        assert r.paper == paper.PAPER_TABLE_1[r.depth, r.attention]
    for depth, channels in (("relu3_1", 256), ("relu4_1", 512), ("relu5_1", 512)):
        assert rows[depth, "self_attention"].residual == 0  # the paper's AAMS figures, exactly
        assert rows[depth, "cbam"].residual == 3 * channels
    assert "| relu4_1 | CBAM (ours) | 3,505,728 |" in paper.parameter_table(list(rows.values()))


def test_paper_figure_command(model_dir, tmp_path, write_image):
    contents = [write_image("a.png", 48, 64, seed=1), write_image("b.png", 64, 40, seed=2)]
    style = write_image("s.png", 40, 40, seed=3)
    out = tmp_path / "figs"
    out.mkdir()
    argv = ["paper-figure", "--contents", *contents, "--style", style, "--size", "64", "-o", str(out), "--quiet"]
    assert cli_main(argv) == 0
    figure = np.asarray(Image.open(out / "figure_relu3_1.png"))
    assert figure.shape == (56 + 2 * 68 + 4, 5 * 68 + 4, 3)
    assert not (out / "figure_relu4_1.png").exists()  # only depths with both models shipped
    assert cli_main(argv) == 2  # no overwrite without --overwrite
    assert cli_main(argv + ["--overwrite"]) == 0


# ---------------------------------------------------------------------------
# The command line
# ---------------------------------------------------------------------------


def test_saliency_command_writes_the_report(model_dir, vgg_weights, tmp_path, capsys):
    data = _write_dataset(tmp_path / "data")
    out = tmp_path / "report"
    argv = ["saliency", "--data", str(data), "--size", "48", "--models", "cbam_relu3_1", "-o", str(out),
            "--measure", "both", "--refine", "hard", "2:0.001:hard", "--style", str(data / "images" / "000.jpg"),
            "--quiet"]
    assert cli_main(argv) == 0
    with open(out / "saliency.csv", encoding="utf-8") as f:
        maps = list(csv.DictReader(f))
    assert [r["map"] for r in maps] == ["gaussian_prior", "vgg_relu4_1_mean", "vgg_relu5_1_contrast", "cbam_relu3_1"]
    with open(out / "regions.csv", encoding="utf-8") as f:
        regions = list(csv.DictReader(f))
    assert [r["matte"] for r in regions] == ["pipeline matte", "soft matte (unrefined)", "hard (m >= 0.5)",
                                             "hard + gf r2 eps1e-03 rgb"] * 2
    assert [r["source"] for r in regions] == [sb.ATTENTION_SOURCE] * 4 + [sb.ORACLE_SOURCE] * 4
    assert "| map | images |" in (out / "saliency.md").read_text(encoding="utf-8")
    before = (out / "saliency.csv").read_bytes()
    capsys.readouterr()
    assert cli_main(argv) == 2  # refuses to overwrite, before any work
    assert "--overwrite" in capsys.readouterr().err
    assert (out / "saliency.csv").read_bytes() == before


@pytest.mark.parametrize("extra,message", [
    (["--size", "16"], "--size"),
    (["--models", "nope_relu4_1"], "models"),
    (["--max-images", "0"], "positive int"),
    (["--refine", "4:0"], "RADIUS:EPSILON"),
])
def test_saliency_command_bad_input(model_dir, tmp_path, capsys, extra, message):
    data = _write_dataset(tmp_path / "data")
    argv = ["saliency", "--data", str(data), "-o", str(tmp_path / "r"), "--quiet", *extra]
    try:
        code = cli_main(argv)
    except SystemExit as exit_:  # argparse type errors
        code = exit_.code
    assert code == 2
    assert message in capsys.readouterr().err
    assert not (tmp_path / "r").exists()


def test_saliency_command_missing_data(tmp_path, capsys):
    assert cli_main(["saliency", "--data", str(tmp_path / "none"), "-o", str(tmp_path / "r")]) == 2
    err = capsys.readouterr().err
    assert err.startswith("error: ") and err.count("\n") == 1


def test_count_params_refuses_to_overwrite(tmp_path, capsys):
    target = tmp_path / "params.md"
    target.write_text("keep", encoding="utf-8")
    assert cli_main(["count-params", "-o", str(target)]) == 2
    assert target.read_text(encoding="utf-8") == "keep"


def test_the_main_parser_has_the_three_commands():
    from tf_cbam_style.cli.main import build_parser

    parser = build_parser()
    for command in ("saliency", "count-params", "paper-figure"):
        assert parser.parse_args([command] + (["--data", "x"] if command == "saliency" else [])).func
