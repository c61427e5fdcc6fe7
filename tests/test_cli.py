import os
import subprocess
import sys

import numpy as np
import pytest
from PIL import Image

from tf_cbam_style import api, cli


def _fail_if_model_runs(monkeypatch):
    """Bad input must be reported before the model loads or runs."""

    def fail(*args, **kwargs):
        raise AssertionError("the model ran before the inputs were checked")

    monkeypatch.setattr(api, "load_model", fail)
    monkeypatch.setattr(api, "stylize", fail)


def _assert_one_error_line(err):
    lines = err.splitlines()
    assert len(lines) == 1, err
    assert lines[0].startswith("error: "), err
    assert "Traceback" not in err


@pytest.fixture
def pair(write_image):
    """A 64x48 content and a 64x64 style, as paths."""
    return write_image("content.png", 48, 64, seed=1), write_image("style.jpg", 64, 64, seed=2)


def test_methods_match_api():
    from tf_cbam_style import options

    assert cli.METHODS is api.METHODS is options.METHOD_NAMES


def test_help(capsys):
    with pytest.raises(SystemExit) as info:
        cli.main(["stylize", "--help"])
    assert info.value.code == 0
    out = capsys.readouterr().out
    for option in ("--method", "--alpha", "--stroke-scales", "--num-regions", "--preserve-color",
                   "--mask", "--foreground-only", "--save-attention", "--max-size",
                   "--keep-size", "--overwrite", "--model", "--depth", "--quiet"):
        assert option in out


# ---------------------------------------------------------------------------
# Bad input: one `error:` line, exit code 2, no output
# ---------------------------------------------------------------------------


def _truncate(path):
    data = open(path, "rb").read()
    with open(path, "wb") as f:
        f.write(data[: len(data) // 2])
    return path


def _bad_inputs(tmp_path, write_image, content, style):
    """name -> (extra argv, text the error must contain)."""
    text_jpg = tmp_path / "notes.jpg"
    text_jpg.write_text("not an image")
    os.makedirs(tmp_path / "empty")
    return {
        "missing content": ([str(tmp_path / "nope.png"), style], "nope.png"),
        "missing style": ([content, str(tmp_path / "nope.jpg")], "nope.jpg"),
        "not an image": ([str(text_jpg), style], "not an image"),
        "truncated": ([content, _truncate(write_image("cut.jpg", 64, 64))], "truncated"),
        "too small": ([write_image("small.png", 20, 64), style], "at least 32"),
        "unknown method": ([content, style, "--method", "cbma"], "did you mean 'cbam'"),
        "empty folder": ([str(tmp_path / "empty"), style], "holds no images"),
        "glob matches nothing": ([str(tmp_path / "*.tif"), style], "matches no images"),
        "missing model": ([content, style, "--model", str(tmp_path / "no.keras")], "no.keras"),
        "bad alpha": ([content, style, "--alpha", "1.5"], "alpha"),
        "bad max size": ([content, style, "--max-size", "8"], "max-size"),
        "missing mask": ([content, style, "--mask", str(tmp_path / "mask.png")], "`--mask`"),
        "mask not an image": ([content, style, "--mask", str(text_jpg)], "`--mask`"),
        "depth and model": ([content, style, "--depth", "relu3_1", "--model", content], "only one of them"),
        "depth not shipped": ([content, style, "--depth", "relu5_1"], "no cbam model is shipped at relu5_1"),
        "attention folder missing": (
            [content, style, "--save-attention", str(tmp_path / "nowhere" / "a.png")],
            "does not exist",
        ),
    }


BAD_INPUTS = [
    "missing content", "missing style", "not an image", "truncated", "too small",
    "unknown method", "empty folder", "glob matches nothing", "missing model", "bad alpha",
    "bad max size", "missing mask", "mask not an image", "attention folder missing", "depth and model", "depth not shipped",
]


@pytest.mark.parametrize("case", BAD_INPUTS)
def test_bad_input(case, tmp_path, write_image, pair, capsys, monkeypatch):
    _fail_if_model_runs(monkeypatch)
    monkeypatch.setenv("TF_CBAM_STYLE_MODEL_DIR", str(tmp_path / "shipped"))  # no relu5_1 there
    argv, expected = _bad_inputs(tmp_path, write_image, *pair)[case]
    output = tmp_path / "out.png"
    code = cli.main(["stylize", *argv[:2], "-o", str(output), *argv[2:]])
    captured = capsys.readouterr()
    assert code == 2
    _assert_one_error_line(captured.err)
    assert expected in captured.err
    assert not output.exists()
    assert not (tmp_path / "nowhere").exists()


@pytest.mark.parametrize("argv", [
    ["stylize", "a.png", "b.png", "-o", "c.png", "--region", "backgrund"],
    ["stylize", "a.png"],
    ["sheet", "--contents", "a.png", "--styles", "b.png", "-o", "c.png", "--region", "x"],
    ["export", "saved-model", "--no-such-flag"],
    ["frobnicate"],
], ids=["bad choice", "missing arguments", "sheet bad choice", "nested unknown flag", "unknown command"])
def test_argument_syntax_errors_are_one_line(argv, tmp_path, capsys):
    with pytest.raises(SystemExit) as exit_info:
        cli.main(argv)
    assert exit_info.value.code == 2
    err = capsys.readouterr().err
    assert len(err.splitlines()) == 1, err
    assert err.startswith("tf-cbam-style") and ": error: " in err, err
    assert "--help" in err and "usage:" not in err
    assert not (tmp_path / "c.png").exists()


def test_a_stretched_mask_is_one_warning_line(write_image, tmp_path, tiny_model_path, capsys):
    content = write_image("content.png", 48, 64)
    style = write_image("style.png", 40, 40, seed=1)
    Image.new("L", (30, 10), 255).save(tmp_path / "wide.png")
    assert cli.main(["stylize", content, style, "-o", str(tmp_path / "o.png"), "--mask", str(tmp_path / "wide.png"),
                     "--model", tiny_model_path, "--quiet"]) == 0
    err = capsys.readouterr().err
    assert [line for line in err.splitlines() if "mask" in line] == [
        "warning: `mask` is 30x10 px (aspect 3.00) but the content is 64x48 (aspect 1.33): the mask is "
        "stretched to the content; give it the content's aspect ratio to avoid this."]


def test_foreground_only_flag_notes_its_deprecation(pair, tmp_path, fake_model, capsys):
    assert cli.main(["stylize", *pair, "-o", str(tmp_path / "o.png"), "--foreground-only"]) == 0
    err = capsys.readouterr().err
    assert "--foreground-only is deprecated; use --region foreground" in err
    (call,) = fake_model
    assert call["region"] == "foreground"


def test_unknown_method_lists_choices(pair, tmp_path, capsys):
    code = cli.main(["stylize", *pair, "-o", str(tmp_path / "out.png"), "--method", "cbma"])
    err = capsys.readouterr().err
    assert code == 2
    assert err == (
        "error: unknown method 'cbma'; did you mean 'cbam'? "
        "Choose from: cbam, self_attention, adain, wct, style_swap\n"
    )


def test_output_folder_missing(pair, tmp_path, capsys, monkeypatch):
    _fail_if_model_runs(monkeypatch)
    output = tmp_path / "nowhere" / "out.png"
    assert cli.main(["stylize", *pair, "-o", str(output)]) == 2
    _assert_one_error_line(capsys.readouterr().err)
    assert not output.parent.exists()


def test_output_exists_without_overwrite(pair, tmp_path, capsys, monkeypatch):
    _fail_if_model_runs(monkeypatch)
    output = tmp_path / "out.png"
    output.write_bytes(b"keep me")
    assert cli.main(["stylize", *pair, "-o", str(output)]) == 2
    err = capsys.readouterr().err
    _assert_one_error_line(err)
    assert "--overwrite" in err
    assert output.read_bytes() == b"keep me"


def test_batch_needs_output_folder(write_image, tmp_path, capsys, monkeypatch):
    _fail_if_model_runs(monkeypatch)
    write_image("contents/a.png")
    write_image("contents/b.png")
    style = write_image("style.png")
    output = tmp_path / "out.png"
    assert cli.main(["stylize", str(tmp_path / "contents"), style, "-o", str(output)]) == 2
    err = capsys.readouterr().err
    _assert_one_error_line(err)
    assert "existing folder" in err
    assert not output.exists()


def test_batch_checks_every_input_first(write_image, tmp_path, capsys, monkeypatch):
    _fail_if_model_runs(monkeypatch)
    write_image("contents/a.png")
    _truncate(write_image("contents/b.png", 64, 64))
    style = write_image("style.png")
    os.makedirs(tmp_path / "out")
    argv = ["stylize", str(tmp_path / "contents"), style, "-o", str(tmp_path / "out")]
    assert cli.main(argv) == 2
    err = capsys.readouterr().err
    _assert_one_error_line(err)
    assert "b.png" in err
    assert os.listdir(tmp_path / "out") == []


def test_failure_while_running_leaves_no_output(pair, tmp_path, capsys, monkeypatch):
    def broken_stylize(*args, **kwargs):
        raise ValueError("`alpha` is broken. Received: alpha=1.0")

    monkeypatch.setattr(api, "load_model", lambda *args, **kwargs: object())
    monkeypatch.setattr(api, "stylize", broken_stylize)
    output = tmp_path / "out.png"
    assert cli.main(["stylize", *pair, "-o", str(output)]) == 2
    assert capsys.readouterr().err == "error: `alpha` is broken. Received: alpha=1.0\n"
    assert sorted(os.listdir(tmp_path)) == ["content.png", "style.jpg"]


def test_keyboard_interrupt(pair, tmp_path, capsys, monkeypatch):
    def interrupt(*args, **kwargs):
        raise KeyboardInterrupt

    monkeypatch.setattr(api, "load_model", interrupt)
    output = tmp_path / "out.png"
    assert cli.main(["stylize", *pair, "-o", str(output)]) == 130
    assert not output.exists()


def test_subprocess_prints_no_traceback(pair, tmp_path, write_image):
    truncated = _truncate(write_image("cut.jpg", 64, 64))
    output = tmp_path / "out.png"
    # TensorFlow's C++ start-up logs go straight to stderr when the package
    # imports it; they are not the CLI's output.
    env = dict(os.environ, TF_CPP_MIN_LOG_LEVEL="3", TF_ENABLE_ONEDNN_OPTS="0")
    process = subprocess.run(
        [sys.executable, "-m", "tf_cbam_style", "stylize", truncated, pair[1], "-o", str(output)],
        capture_output=True, text=True, env=env, timeout=300,
    )
    assert process.returncode == 2, process.stderr
    _assert_one_error_line(process.stderr)
    assert "cut.jpg" in process.stderr
    assert process.stdout == ""
    assert not output.exists()


def test_unknown_method_without_close_match(pair, tmp_path, capsys):
    assert cli.main(["stylize", *pair, "-o", str(tmp_path / "o.png"), "--method", "zzz"]) == 2
    assert capsys.readouterr().err.startswith("error: unknown method 'zzz'. Choose from: cbam,")


# ---------------------------------------------------------------------------
# Planning outputs (with a stand-in for the model)
# ---------------------------------------------------------------------------


@pytest.fixture
def fake_model(monkeypatch):
    """Replaces the model with an identity; records the calls."""
    calls = []

    def fake_stylize(content, style, **kwargs):
        calls.append(dict(kwargs, content=content, style=style))
        return api.StylizeResult(content, content.mean(axis=-1))

    monkeypatch.setattr(api, "load_model", lambda *args, **kwargs: "model")
    monkeypatch.setattr(api, "stylize", fake_stylize)
    return calls


def test_single_pair_into_folder(pair, tmp_path, fake_model, capsys):
    os.makedirs(tmp_path / "out")
    code = cli.main(["stylize", *pair, "-o", str(tmp_path / "out"), "--format", "webp",
                     "--alpha", "0.5", "--stroke-scales", "0.5,1", "--num-regions", "2",
                     "--preserve-color", "--method", "wct", "--quiet"])
    assert code == 0
    assert os.listdir(tmp_path / "out") == ["content__style.webp"]
    assert capsys.readouterr().out == ""
    (call,) = fake_model
    assert call["method"] == "wct" and call["alpha"] == 0.5
    assert call["stroke_scales"] == (0.5, 1.0) and call["num_regions"] == 2
    assert call["preserve_color"] and call["region"] == "all" and call["mask"] is None
    assert call["model"] == "model"


@pytest.mark.parametrize("method, folder", [("cbam", "cbam_relu3_1"), ("adain", "cbam_relu3_1"),
                                            ("self_attention", "self_attention_relu3_1")])
def test_depth_picks_the_shipped_model(method, folder, pair, tmp_path, monkeypatch):
    shipped = tmp_path / "shipped"
    for name in ("cbam_relu3_1", "self_attention_relu3_1"):
        (shipped / name).mkdir(parents=True)
        (shipped / name / "model.keras").write_bytes(b"stand-in")
    monkeypatch.setenv("TF_CBAM_STYLE_MODEL_DIR", str(shipped))
    loaded = []
    monkeypatch.setattr(api, "load_model", lambda path, **kwargs: loaded.append(path) or "model")
    monkeypatch.setattr(api, "stylize", lambda content, style, **kwargs: api.StylizeResult(content, None))
    for command in (["stylize", *pair, "-o", str(tmp_path / "o.png")],
                    ["sheet", "--contents", pair[0], "--styles", pair[1], "-o", str(tmp_path / "s.png")]):
        assert cli.main([*command, "--method", method, "--depth", "relu3_1", "--quiet"]) == 0
    assert loaded == [str(shipped / folder / "model.keras")] * 2


def test_overwrite(pair, tmp_path, fake_model, capsys):
    output = tmp_path / "out.png"
    output.write_bytes(b"old")
    assert cli.main(["stylize", *pair, "-o", str(output), "--overwrite"]) == 0
    assert Image.open(output).size == (64, 48)
    assert capsys.readouterr().out == f"Wrote {output}\n"


def test_mask_is_decoded_once_and_resized_by_the_pipeline(pair, tmp_path, fake_model):
    # The pipeline resizes the mask to the content once, in the graph.
    Image.new("L", (10, 10), 255).save(tmp_path / "mask.png")
    code = cli.main(["stylize", *pair, "-o", str(tmp_path / "o.png"),
                     "--mask", str(tmp_path / "mask.png"), "--foreground-only"])
    assert code == 0
    (call,) = fake_model
    assert call["mask"].shape == (10, 10)
    np.testing.assert_allclose(call["mask"], 1.0, atol=1e-5)
    assert call["region"] == "foreground"


def test_max_size_without_keep_size(write_image, tmp_path, fake_model, capsys):
    content = write_image("big.png", 96, 128)
    style = write_image("style.png")
    output = tmp_path / "o.png"
    assert cli.main(["stylize", content, style, "-o", str(output), "--max-size", "64"]) == 0
    assert "from 128x96 to 64x48" in capsys.readouterr().out
    assert Image.open(output).size == (64, 48)


def test_duplicate_output_names(write_image, tmp_path, fake_model, capsys):
    write_image("contents/a.png")
    write_image("contents/a.jpg")
    style = write_image("style.png")
    os.makedirs(tmp_path / "out")
    code = cli.main(["stylize", str(tmp_path / "contents"), style, "-o", str(tmp_path / "out")])
    assert code == 2
    err = capsys.readouterr().err
    _assert_one_error_line(err)
    assert "a__style.png" in err
    assert os.listdir(tmp_path / "out") == []


def test_attention_path_must_differ_from_output(pair, tmp_path, fake_model, capsys):
    output = str(tmp_path / "o.png")
    assert cli.main(["stylize", *pair, "-o", output, "--save-attention", output]) == 2
    _assert_one_error_line(capsys.readouterr().err)


# ---------------------------------------------------------------------------
# Running the model
# ---------------------------------------------------------------------------


def test_stylize_single_pair(pair, tmp_path, tiny_model_path, capsys):
    output, attention = tmp_path / "out.png", tmp_path / "attention.png"
    code = cli.main([
        "stylize", *pair, "-o", str(output), "--method", "adain",
        "--save-attention", str(attention), "--model", tiny_model_path,
    ])
    captured = capsys.readouterr()
    assert code == 0, captured.err
    assert f"Wrote {output}" in captured.out
    assert f"Wrote {attention}" in captured.out
    with Image.open(output) as image:
        assert image.size == (64, 48) and image.mode == "RGB"
    with Image.open(attention) as image:
        assert image.size == (64, 48) and image.mode == "L"


def test_stylize_batch(write_image, tmp_path, tiny_model_path, capsys):
    write_image("contents/a.png", 48, 64, seed=1)
    write_image("contents/b.jpg", 64, 48, seed=2)
    style = write_image("style.png", 40, 40, seed=3)
    mask = np.zeros((10, 10), np.uint8)
    mask[3:7, 3:7] = 255
    Image.fromarray(mask).save(tmp_path / "mask.png")
    out = tmp_path / "out"
    os.makedirs(out)
    code = cli.main([
        "stylize", str(tmp_path / "contents" / "*"), style, "-o", str(out),
        "--method", "adain", "--max-size", "48", "--keep-size", "--format", "jpg",
        "--mask", str(tmp_path / "mask.png"), "--foreground-only",
        "--save-attention", str(out), "--model", tiny_model_path,
    ])
    captured = capsys.readouterr()
    assert code == 0, captured.err
    assert sorted(os.listdir(out)) == [
        "a__style.jpg", "a__style_attention.png", "b__style.jpg", "b__style_attention.png",
    ]
    assert "from 64x48 to 48x36" in captured.out
    assert "back to 64x48 (--keep-size)" in captured.out
    assert "Wrote 2 images" in captured.out
    with Image.open(out / "a__style.jpg") as image:
        assert image.size == (64, 48)
    with Image.open(out / "b__style_attention.png") as image:
        assert image.size == (48, 64)


def test_method_needing_other_model_is_one_line(pair, tmp_path, tiny_model_path, capsys):
    output = tmp_path / "out.png"
    code = cli.main([
        "stylize", *pair, "-o", str(output), "--method", "self_attention",
        "--model", tiny_model_path,
    ])
    assert code == 2
    _assert_one_error_line(capsys.readouterr().err)
    assert not output.exists()


# ---------------------------------------------------------------------------
# sheet
# ---------------------------------------------------------------------------


def test_sheet(write_image, tmp_path, tiny_model_path, capsys):
    content = write_image("content.png", 48, 64)
    write_image("styles/x.png", 40, 40, seed=1)
    write_image("styles/y.png", 64, 40, seed=2)
    output = tmp_path / "sheet.png"
    code = cli.main([
        "sheet", "--contents", content, "--styles", str(tmp_path / "styles"),
        "-o", str(output), "--method", "adain", "--size", "32", "--attention",
        "--model", tiny_model_path, "--quiet",
    ])
    captured = capsys.readouterr()
    assert code == 0, captured.err
    assert captured.out == ""
    with Image.open(output) as image:
        # Columns: contents, attention, 2 styles; rows: styles, 1 content.
        assert image.size == (4 * 36 + 4, 2 * 36 + 4)
        sheet = np.asarray(image)
    assert (sheet[:36, :36] == 255).all()  # blank corner


def test_sheet_region_cells_are_the_region_outputs(write_image, tmp_path, tiny_model_path, monkeypatch):
    from tf_cbam_style import api
    from tf_cbam_style.io import load_image

    content = write_image("content.png", 32, 32)  # the cell size: no resizing
    style = write_image("style.png", 32, 32, seed=1)
    calls = []
    stylize = api.stylize

    def recording(*args, **kwargs):
        calls.append(kwargs.get("region"))
        return stylize(*args, **kwargs)

    monkeypatch.setattr(api, "stylize", recording)
    sheets = {}
    for region in ("all", "background"):
        output = tmp_path / f"{region}.png"
        assert cli.main(["sheet", "--contents", content, "--styles", style, "-o", str(output), "--size", "32",
                         "--model", tiny_model_path, "--region", region, "--quiet"]) == 0
        sheets[region] = load_image(str(output))
    assert calls == ["all", "background"]
    model = api.load_model(tiny_model_path)
    expected = stylize(load_image(content), load_image(style), style_max_size=32, region="background",
                       model=model).image
    cell = sheets["background"][40:72, 40:72]  # row 1, column 1 (32 px cells after 4 px gutters)
    assert np.abs(cell - expected).mean() < 2 / 255
    assert np.abs(sheets["background"] - sheets["all"]).max() > 0


def test_sheet_bad_input(write_image, tmp_path, capsys, monkeypatch):
    _fail_if_model_runs(monkeypatch)
    content = write_image("content.png")
    output = tmp_path / "sheet.png"
    code = cli.main(["sheet", "--contents", content, "--styles", str(tmp_path / "x.png"),
                     "-o", str(output)])
    assert code == 2
    _assert_one_error_line(capsys.readouterr().err)
    assert not output.exists()


# ---------------------------------------------------------------------------
# The version, output formats, folder runs, unusual files (issue 12)
# ---------------------------------------------------------------------------


def test_version(capsys):
    import tf_cbam_style

    with pytest.raises(SystemExit) as info:
        cli.main(["--version"])
    assert info.value.code == 0
    assert capsys.readouterr().out == f"tf-cbam-style {tf_cbam_style.__version__}\n"


@pytest.mark.parametrize("name, expected", [
    ("out.xbm", "XBM cannot store a 128x96 RGB image"),
    ("out.ico", "ICO cannot hold a 128x96 image (it would be written as 64x48)"),
])
def test_output_format_checked_before_the_model(name, expected, write_image, tmp_path, capsys,
                                                 monkeypatch):
    _fail_if_model_runs(monkeypatch)
    content, style = write_image("c.png", 96, 128), write_image("s.png")
    assert cli.main(["stylize", content, style, "-o", str(tmp_path / name)]) == 2
    err = capsys.readouterr().err
    _assert_one_error_line(err)
    assert expected in err
    assert not (tmp_path / name).exists()


def test_attention_format_checked_before_the_model(pair, tmp_path, capsys, monkeypatch):
    _fail_if_model_runs(monkeypatch)
    code = cli.main(["stylize", *pair, "-o", str(tmp_path / "o.png"),
                     "--save-attention", str(tmp_path / "a.xbm")])
    assert code == 2
    assert "XBM cannot store a 64x48 L image" in capsys.readouterr().err


def test_keep_size_output_checked_at_the_original_size(write_image, tmp_path, capsys, monkeypatch):
    _fail_if_model_runs(monkeypatch)
    content, style = write_image("c.png", 300, 400), write_image("s.png")
    argv = ["stylize", content, style, "-o", str(tmp_path / "o.ico"), "--max-size", "64"]
    assert cli.main(argv + ["--keep-size"]) == 2  # 400x300 does not fit an ICO
    assert "ICO cannot hold a 400x300 image" in capsys.readouterr().err


def test_folder_run_lists_every_bad_file(write_image, tmp_path, capsys, monkeypatch):
    _fail_if_model_runs(monkeypatch)
    write_image("contents/a.png")
    _truncate(write_image("contents/b.png", 64, 64))
    (tmp_path / "contents" / "c.jpg").write_text("not an image")
    style = write_image("style.png")
    os.makedirs(tmp_path / "out")
    assert cli.main(["stylize", str(tmp_path / "contents"), style, "-o", str(tmp_path / "out")]) == 2
    err = capsys.readouterr().err
    _assert_one_error_line(err)
    assert err.startswith("error: 2 of 4 input images cannot be used (pass --skip-bad")
    assert "b.png" in err and "c.jpg" in err and "a.png" not in err
    assert os.listdir(tmp_path / "out") == []


def test_skip_bad_goes_on_and_reports(write_image, tmp_path, fake_model, capsys):
    write_image("contents/a.png")
    _truncate(write_image("contents/b.png", 64, 64))
    style = write_image("style.png")
    os.makedirs(tmp_path / "out")
    code = cli.main(["stylize", str(tmp_path / "contents"), style, "-o", str(tmp_path / "out"),
                     "--skip-bad"])
    captured = capsys.readouterr()
    assert code == 0, captured.err
    assert os.listdir(tmp_path / "out") == ["a__style.png"]
    assert captured.err.startswith("warning: skipped 1 of 3 input images (--skip-bad): ")
    assert "b.png" in captured.err and len(fake_model) == 1


def test_skip_bad_with_nothing_left(write_image, tmp_path, fake_model, capsys):
    bad = _truncate(write_image("b.png", 64, 64))
    code = cli.main(["stylize", bad, bad, "-o", str(tmp_path / "o.png"), "--skip-bad"])
    assert code == 2
    assert "no input image can be used" in capsys.readouterr().err


@pytest.mark.parametrize("bad_side", ["content", "style"])
def test_skip_bad_with_no_pair_left_fails_before_the_model(write_image, tmp_path, fake_model, capsys,
                                                          bad_side):
    good = [write_image("contents/a.png"), write_image("contents/b.png")]
    bad = _truncate(write_image("broken.png", 64, 64))
    os.makedirs(tmp_path / "out")
    args = [bad, good[0]] if bad_side == "content" else [str(tmp_path / "contents"), bad]
    code = cli.main(["stylize", *args, "-o", str(tmp_path / "out"), "--skip-bad"])
    err = capsys.readouterr().err
    assert code == 2, err
    assert f"error: --skip-bad left no content x style pair to stylize: every {bad_side} is bad" in err
    assert os.listdir(tmp_path / "out") == [] and len(fake_model) == 0


def test_folder_run_takes_jfif_and_avif_and_names_other_files(write_image, tmp_path, fake_model,
                                                               capsys):
    from PIL import features

    names = ["a.jfif", "b.png"] + (["c.avif"] if features.check("avif") else [])
    (tmp_path / "contents").mkdir()
    for name in names:
        Image.new("RGB", (40, 32), (10, 200, 30)).save(tmp_path / "contents" / name)
    (tmp_path / "contents" / "notes.txt").write_text("not an image")
    (tmp_path / "contents" / ".hidden").write_text("")
    style = write_image("style.png")
    os.makedirs(tmp_path / "out")
    assert cli.main(["stylize", str(tmp_path / "contents"), style, "-o", str(tmp_path / "out")]) == 0
    assert sorted(os.listdir(tmp_path / "out")) == sorted(
        f"{os.path.splitext(n)[0]}__style.png" for n in names)
    out = capsys.readouterr().out
    assert "Ignored 1 file(s) that are not images by their extension: " in out
    assert "notes.txt" in out


def test_max_pixels(write_image, tmp_path, capsys, monkeypatch):
    _fail_if_model_runs(monkeypatch)
    content, style = write_image("c.png", 48, 64), write_image("s.png")
    assert cli.main(["stylize", content, style, "-o", str(tmp_path / "o.png"),
                     "--max-pixels", "1000"]) == 2
    err = capsys.readouterr().err
    _assert_one_error_line(err)
    assert "decompression bombs" in err and "--max-pixels 3072" in err
    monkeypatch.setenv("TF_CBAM_STYLE_MAX_PIXELS", "many")
    assert cli.main(["stylize", content, style, "-o", str(tmp_path / "o.png"), "--skip-bad"]) == 2
    assert capsys.readouterr().err == (
        "error: `TF_CBAM_STYLE_MAX_PIXELS` must be a pixel count >= 0 (0: no limit). "
        "Received: TF_CBAM_STYLE_MAX_PIXELS='many'\n")


def test_float_tiff_in_0_255_is_an_error_line(write_image, tmp_path, capsys, monkeypatch):
    _fail_if_model_runs(monkeypatch)
    Image.fromarray(np.full((48, 64), 128.0, np.float32)).save(tmp_path / "c.tif")
    assert cli.main(["stylize", str(tmp_path / "c.tif"), write_image("s.png"),
                     "-o", str(tmp_path / "o.png")]) == 2
    err = capsys.readouterr().err
    _assert_one_error_line(err)
    assert "float images must be in [0, 1] (divide 8-bit values by 255)" in err


def test_each_input_decoded_once_and_options_checked_once(pair, tmp_path, fake_model, monkeypatch):
    from tf_cbam_style import io, options

    decoded, fitted, checked = [], [], []
    load_image, fit_max_size = io.load_image, io.fit_max_size
    post_init = options.StylizeOptions.__post_init__
    monkeypatch.setattr(io, "load_image", lambda path, *a, **k: decoded.append(path) or load_image(path, *a, **k))
    monkeypatch.setattr(io, "fit_max_size", lambda *a, **k: fitted.append(1) or fit_max_size(*a, **k))
    monkeypatch.setattr(options.StylizeOptions, "__post_init__",
                        lambda self: checked.append(1) or post_init(self))
    Image.new("L", (10, 10), 255).save(tmp_path / "mask.png")
    code = cli.main(["stylize", *pair, "-o", str(tmp_path / "o.png"), "--mask", str(tmp_path / "mask.png"),
                     "--keep-size", "--max-size", "32"])
    assert code == 0
    assert sorted(map(os.path.basename, decoded)) == ["content.png", "mask.png", "style.jpg"]
    assert len(fitted) == 2  # content and style, once each
    assert len(checked) == 1


def test_bad_arguments_never_import_tensorflow(pair, tmp_path):
    code = (
        "import sys; from tf_cbam_style.cli import main; "
        f"assert main(['stylize', {pair[0]!r}, {pair[1]!r}, '-o', {str(tmp_path / 'o.xbm')!r}]) == 2; "
        f"assert main(['stylize', {pair[0]!r}, {pair[1]!r}, '-o', 'o.png', '--alpha', '2']) == 2; "
        "assert 'tensorflow' not in sys.modules, 'tensorflow was imported'"
    )
    subprocess.run([sys.executable, "-c", code], check=True, timeout=120, capture_output=True)


@pytest.mark.parametrize("argv", [
    ["serve-standin", "--models-dir", "."],
    ["client", "c.png", "s.png", "-o", "o.png", "--grpc", "localhost:1"],
])
def test_missing_serving_extra_names_the_pip_command(argv, tmp_path, write_image, capsys, monkeypatch):
    import builtins

    real_import = builtins.__import__

    def no_serving(name, *args, **kwargs):
        if name.startswith(("tensorflow_serving", "grpc")):
            raise ImportError(f"No module named {name!r}")
        return real_import(name, *args, **kwargs)

    monkeypatch.setattr(builtins, "__import__", no_serving)
    monkeypatch.chdir(tmp_path)
    write_image("c.png")
    write_image("s.png")
    assert cli.main(argv) == 2
    err = capsys.readouterr().err
    _assert_one_error_line(err)
    assert 'pip install -e ".[serving]"' in err and "tensorflow-serving-api==2.21.*" in err
