"""tools/blind_judge_sheets.py: sheets and a key outside them, shuffled per row, bad input refused."""

import json
import pathlib
import subprocess
import sys

import pytest

REPO = pathlib.Path(__file__).resolve().parent.parent
TOOL = REPO / "tools" / "blind_judge_sheets.py"
EXAMPLES = REPO / "examples"


def _run(*args):
    return subprocess.run([sys.executable, str(TOOL), *args], capture_output=True, text=True, cwd=REPO)


def test_sheets_and_key(tiny_model_path, tmp_path):
    from PIL import Image

    out, key = tmp_path / "sheets", tmp_path / "key.json"
    args = ["--variants", "no_luminance_match,pipeline", "--models", f"{tiny_model_path},{tiny_model_path}",
            "--contents", str(EXAMPLES / "content"), "--styles", str(EXAMPLES / "style"), "--pairs", "2",
            "--out", str(out), "--key", str(key)]
    result = _run(*args)
    assert result.returncode == 0, result.stderr
    assert sorted(p.name for p in out.iterdir()) == ["sheet_1.png"]
    assert Image.open(out / "sheet_1.png").size == (4 * 384 + 30, 2 * (384 + 24))
    rows = json.loads(key.read_text())
    assert [r["row"] for r in rows] == [1, 2]
    assert all({r["left"], r["right"]} == {"no_luminance_match", "pipeline"} for r in rows)
    assert all(r["region"] == "all" for r in rows)
    # An existing sheet is kept without --overwrite.
    again = _run(*args)
    assert again.returncode == 2 and "without --overwrite" in again.stderr.strip().splitlines()[-1]


@pytest.mark.parametrize("change, message", [
    (["--variants", "pipeline,no_such_variant"], "Received: variant='no_such_variant'"),
    (["--variants", "pipeline"], "need two entries"),
    (["--key", "OUT/key.json"], "--key must lie outside --out"),
    (["--region", "sky"], "invalid choice: 'sky'"),
])
def test_bad_input_is_one_line(tmp_path, change, message):
    out = tmp_path / "sheets"
    args = {"--variants": "pipeline,no_luminance_match", "--out": str(out), "--key": str(tmp_path / "key.json")}
    for flag, value in zip(change[::2], change[1::2]):
        args[flag] = value.replace("OUT", str(out))
    result = _run(*[x for pair in args.items() for x in pair])
    assert result.returncode == 2
    assert message in result.stderr.strip().splitlines()[-1]
    assert not out.exists()
