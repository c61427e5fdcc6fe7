"""The evaluation run, the report folder and the `evaluate` command, on tiny inputs."""

import argparse
import csv
import math
import os

import numpy as np
import pytest

from tf_cbam_style.evaluation import report
from tf_cbam_style.evaluation.evaluate import EvaluationResult, PairScores


def _row(method, content="c.png", style="s.png", seconds=1.0, ratio=2.0, loss=1.0, color=0.5):
    return PairScores(content, style, method, seconds, loss, loss, loss, loss, 0.5, 1.0, color, ratio, 0.2, 0.1)


def test_summarize_means_and_medians():
    rows = [_row("a", seconds=1.0, loss=1.0, ratio=1.0), _row("a", "d.png", seconds=3.0, loss=3.0, ratio=float("nan")),
            _row("a", "e.png", seconds=2.0, loss=5.0, ratio=3.0), _row("b", seconds=9.0)]
    summary = report.summarize(rows)
    assert list(summary) == ["a", "b"]
    assert summary["a"]["color_ratio"] == pytest.approx(0.5) and summary["a"]["worst_color_ratio"] == 0.5
    assert summary["a"]["pairs"] == 3 and summary["a"]["seconds"] == 2.0
    assert summary["a"]["style_loss"] == pytest.approx(3.0)
    assert summary["a"]["background_change_ratio"] == pytest.approx(2.0)  # nan left out
    only = report.summarize(rows, pairs={("d.png", "s.png")})
    assert list(only) == ["a"] and only["a"]["pairs"] == 1
    table = report.markdown_table(summary)
    assert table.count("\n") == 3 and "| `b` | 1 | 9.000 |" in table


def test_worst_colour_ratio_is_the_largest_pair():
    rows = [_row("a", color=0.2), _row("a", "d.png", color=1.3), _row("a", "e.png", color=float("nan"))]
    entry = report.summarize(rows)["a"]
    assert entry["worst_color_ratio"] == pytest.approx(1.3)
    assert entry["color_ratio"] == pytest.approx(0.75)  # nan left out


def test_csv_round_trip(tmp_path):
    rows = [_row("a"), _row("b", ratio=float("nan"))]
    path = report.write_csv(rows, tmp_path / "pairs.csv")
    with open(path) as f:
        assert next(csv.reader(f)) == list(PairScores._fields)
    back = report.read_csv(path)
    assert back[0] == rows[0] and math.isnan(back[1].background_change_ratio)


def test_write_report_files(tmp_path):
    image = np.full((20, 30, 3), 0.5, np.float32)
    sheets = {"s.png": {"style": image, "rows": [("c.png", image, np.zeros((20, 30)), {"a": image, "b": image})]}}
    rows = [_row("a"), _row("a", "d.png"), _row("b")]
    result = EvaluationResult(rows, sheets, {"a": "method a", "b": "method b"}, ["c.png", "d.png"], ["s.png"], 64)
    files = report.write_report(result, str(tmp_path / "out"), cell_size=32, command="tf-cbam-style evaluate")
    with open(files.summary, encoding="utf-8") as f:
        text = f.read()
    assert "| `a` | 2 |" in text and "Same 1 pairs as `b`" in text and "- `b`: method b" in text
    assert [os.path.basename(p) for p in files.sheets] == ["sheet_s.png"]
    assert os.path.getsize(files.scatter) > 0
    from PIL import Image

    assert Image.open(files.sheets[0]).size == (4 * 36 + 4, 2 * 36 + 4)


def test_evaluate_end_to_end(tiny_model_path, vgg_weights, write_image):
    from tf_cbam_style.evaluation.evaluate import evaluate
    from tf_cbam_style.evaluation.methods import make_method

    content = write_image("c/one.png", 40, 48, seed=1)
    style = write_image("s/two.png", 36, 36, seed=2)
    methods = [make_method("adain", cbam_model=tiny_model_path),
               make_method("wct", cbam_model=tiny_model_path)]
    result = evaluate([content], [style], methods, size=40, cbam_model=tiny_model_path, progress=False)
    assert [r.method for r in result.rows] == ["adain", "wct"]
    assert all(r.seconds > 0 and 0 <= r.ssim <= 1 for r in result.rows)
    assert set(result.sheets["two.png"]["rows"][0][3]) == {"adain", "wct"}


def test_methods_at_other_depths_need_their_shipped_model(tiny_model_path, tmp_path, monkeypatch):
    import shutil

    from tf_cbam_style.evaluation.methods import available_methods, make_method

    monkeypatch.setenv("TF_CBAM_STYLE_MODEL_DIR", str(tmp_path))
    (tmp_path / "self_attention_relu3_1").mkdir()
    shutil.copy(tiny_model_path, tmp_path / "self_attention_relu3_1" / "model.keras")
    names = available_methods(cbam_model=tiny_model_path, magenta_dir=tmp_path)
    assert "self_attention_relu3_1" in names
    assert not {"cbam_relu3_1", "cbam_relu5_1", "self_attention_relu5_1", "magenta"} & set(names)
    method = make_method("self_attention_relu3_1")
    assert method.description == "AAMS self-attention at relu3_1"
    with pytest.raises(ValueError, match="self_attention"):  # the tiny model is a CBAM one
        method.stylize(np.full((32, 32, 3), 0.5, np.float32), np.full((32, 32, 3), 0.5, np.float32))
    with pytest.raises(FileNotFoundError, match="name='cbam_relu5_1'"):
        make_method("cbam_relu5_1")


def test_magenta_peer_keeps_the_content_size():
    from tf_cbam_style.evaluation.magenta import MagentaStylizer, magenta_available

    pytest.importorskip("onnxruntime")
    if not magenta_available():
        pytest.skip("the Magenta ONNX files are not in ../shared/baselines")
    rng = np.random.default_rng(0)
    out = MagentaStylizer()(rng.uniform(size=(40, 56, 3)), rng.uniform(size=(30, 30, 3)))
    assert out.shape == (40, 56, 3) and out.dtype == np.float32 and 0 <= out.min() <= out.max() <= 1


def test_magenta_missing_folder(tmp_path):
    pytest.importorskip("onnxruntime")
    from tf_cbam_style.evaluation.magenta import MagentaStylizer

    with pytest.raises(FileNotFoundError, match="`directory`.*Received: directory="):
        MagentaStylizer(tmp_path)


def _parser():
    from tf_cbam_style.cli.evaluation import register as register_cli

    parser = argparse.ArgumentParser(prog="tf-cbam-style")
    register_cli(parser.add_subparsers(dest="command", required=True))
    return parser


def test_evaluate_command(tiny_model_path, vgg_weights, write_image, tmp_path, capsys):
    write_image("contents/a.png", 40, 40, seed=1)
    write_image("contents/b.png", 40, 40, seed=2)
    write_image("styles/s.png", 40, 40, seed=3)
    out = tmp_path / "report"
    args = _parser().parse_args([
        "evaluate", "--contents", str(tmp_path / "contents"), "--styles", str(tmp_path / "styles"),
        "--max-contents", "1", "--size", "40", "--methods", "adain,wct", "--cbam-model", tiny_model_path,
        "--cell-size", "32", "-o", str(out), "--quiet",
    ])
    assert args.func(args) == 0
    assert sorted(os.listdir(out)) == ["pairs.csv", "quality_vs_speed.png", "sheet_s.png", "summary.md"]
    assert [r.method for r in report.read_csv(out / "pairs.csv")] == ["adain", "wct"]
    # An existing report is kept: refused (one line, before any work) without --overwrite.
    before = {name: (out / name).read_bytes() for name in os.listdir(out)}
    again = _parser().parse_args([*_argv_of(args, out), "--methods", "adain"])
    with pytest.raises(ValueError, match=r"`--out` already holds summary.md, pairs.csv; pass --overwrite.*"
                                         r"Received: out="):
        again.func(again)
    assert {name: (out / name).read_bytes() for name in os.listdir(out)} == before
    again = _parser().parse_args([*_argv_of(args, out), "--methods", "adain", "--overwrite"])
    assert again.func(again) == 0
    assert [r.method for r in report.read_csv(out / "pairs.csv")] == ["adain"]


def _argv_of(args, out):
    """`evaluate` arguments of `test_evaluate_command`'s run, without --methods."""
    return ["evaluate", "--contents", *args.contents, "--styles", *args.styles, "--max-contents", "1",
            "--size", "40", "--cbam-model", args.cbam_model, "--cell-size", "32", "-o", str(out), "--quiet"]


def test_evaluate_command_errors(tiny_model_path, tmp_path):
    parser = _parser()
    args = parser.parse_args(["evaluate", "--methods", "nope", "--cbam-model", tiny_model_path])
    with pytest.raises(ValueError, match="`--methods`.*Received: methods=\\['nope'\\]"):
        args.func(args)
    args = parser.parse_args(["evaluate", "--methods", "adain", "--cbam-model", str(tmp_path / "x.keras")])
    with pytest.raises(FileNotFoundError, match="`--cbam-model`.*Received: cbam_model="):
        args.func(args)
    args = parser.parse_args(["evaluate", "--size", "8"])
    with pytest.raises(ValueError, match="`--size`.*Received: size=8"):
        args.func(args)
