"""tools/quality_targets.py: the issue 9 targets from an `evaluate` pairs.csv, on known answers."""

import csv

COLUMNS = ["content", "style", "method", "content_relu4_1", "style_loss", "ssim", "grid_score", "color_ratio",
           "background_change_ratio"]


def _write(path, rows):
    with open(path, "w", newline="", encoding="utf-8") as f:
        writer = csv.writer(f)
        writer.writerow(COLUMNS)
        writer.writerows(rows)
    return str(path)


def test_every_target_reached_and_each_missed(tmp_path, capsys, load_tool):
    good = {
        # method: content, style, ssim, grid, colour ratio, bg/salient (two pairs each)
        "cbam": (1.0, 1.0, 0.5, 0.9, (0.5, 0.9), (1.3, 1.25)),
        "self_attention": (2.0, 2.0, 0.4, 1.0, (0.5, 0.5), (1.0, 1.0)),
        "adain": (1.0, 2.0, 0.6, 0.5, (0.5, 0.5), (1.0, 1.0)),
        "wct": (1.0, 2.0, 0.4, 0.5, (0.5, 0.5), (1.0, 1.05)),
        "style_swap": (1.0, 2.0, 0.4, 1.1, (0.5, 0.5), (1.0, 1.0)),
        "magenta": (2.0, 1.5, 0.3, 3.0, (0.5, 0.5), (1.0, 1.0)),
    }

    def rows(table):
        return [[f"c{i}", "s", m, c, s, q, g, r[i], b[i]] for m, (c, s, q, g, r, b) in table.items()
                for i in range(2)]

    tool = load_tool("quality_targets")
    assert tool.main([_write(tmp_path / "good.csv", rows(good))]) == 0
    out = capsys.readouterr().out.splitlines()
    assert len(out) == 4 and all(line.startswith("- reached:") for line in out), out
    assert "cbam worst 0.900, 0 of 2 pairs above 1; mean 0.700" in out[1]
    assert "bg/salient change (median) cbam 1.275" in out[3]

    bad = dict(good, style_swap=(1.0, 2.0, 0.4, 1.2, (0.5, 0.5), (1.0, 1.0)),
               cbam=(1.0, 1.6, 0.5, 0.9, (0.5, 1.1), (1.3, 1.0)))
    tool.main([_write(tmp_path / "bad.csv", rows(bad))])
    out = capsys.readouterr().out.splitlines()
    assert all(line.startswith("- not reached:") for line in out), out
    assert "style_swap 1.20" in out[0] and "1 of 2 pairs above 1" in out[1]
    assert "style 1.6 vs 1.5 (worse)" in out[2] and "cbam 1.150" in out[3]


def test_a_missing_file_gets_one_error_line(tmp_path, capsys, load_tool):
    assert load_tool("quality_targets").main([str(tmp_path / "none.csv")]) == 2
    assert "Received: pairs=" in capsys.readouterr().err
