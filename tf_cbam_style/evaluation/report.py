"""Writes an `EvaluationResult` as a report folder: Markdown, CSV, sheets, plot."""

import collections
import csv
import math
import os

import numpy as np

from tf_cbam_style.evaluation.evaluate import PairScores

ReportFiles = collections.namedtuple("ReportFiles", ["summary", "csv", "sheets", "scatter"])
ReportFiles.__doc__ = """Paths written by `write_report`.

Attributes:
    summary: the Markdown summary (`summary.md`).
    csv: the per-pair numbers (`pairs.csv`).
    sheets: list of contact-sheet PNGs, one per style.
    scatter: the quality-vs-speed plot (`quality_vs_speed.png`), or `None`
        without matplotlib.
"""

MEAN_COLUMNS = ("content_relu4_1", "content_relu5_1", "style_loss", "gram_loss", "ssim", "grid_score",
                "color_ratio")
HEADERS = ("method", "pairs", "median s/image", "content relu4_1 ↓", "content relu5_1 ↓",
           "style (mean/std) ↓", "Gram ↓", "SSIM ↑", "grid ↓", "colour ratio ↓", "worst colour ratio ↓",
           "bg/salient change ↑")


def summarize(rows, pairs=None):
    """Per-method aggregates, in first-seen method order.

    Means over pairs for the losses, SSIM, grid score and colour ratio, the
    largest (worst) colour ratio over the pairs, and the median for the time
    and for the background/salient change ratio (a ratio: skewed; `nan`
    pairs are left out of the ratios).

    Args:
        rows: list of `PairScores`.
        pairs: optional set of `(content, style)` to restrict to.

    Returns:
        dict method -> dict of `pairs`, `seconds`, the `MEAN_COLUMNS`,
        `worst_color_ratio` and `background_change_ratio`.
    """
    groups = collections.OrderedDict()
    for row in rows:
        if pairs is None or (row.content, row.style) in pairs:
            groups.setdefault(row.method, []).append(row)
    summary = collections.OrderedDict()
    for method, group in groups.items():
        ratios = [r.background_change_ratio for r in group if math.isfinite(r.background_change_ratio)]
        entry = {"pairs": len(group), "seconds": float(np.median([r.seconds for r in group]))}
        for column in MEAN_COLUMNS:
            values = [getattr(r, column) for r in group if math.isfinite(getattr(r, column))]
            entry[column] = float(np.mean(values)) if values else float("nan")
        colors = [r.color_ratio for r in group if math.isfinite(r.color_ratio)]
        entry["worst_color_ratio"] = float(np.max(colors)) if colors else float("nan")
        entry["background_change_ratio"] = float(np.median(ratios)) if ratios else float("nan")
        summary[method] = entry
    return summary


def _fmt(value):
    if isinstance(value, int):
        return str(value)
    if not math.isfinite(value):
        return "n/a"
    if value == 0 or 1e-2 <= abs(value) < 1e4:
        return f"{value:.3f}" if abs(value) < 10 else f"{value:.1f}"
    return f"{value:.3g}"


def markdown_table(summary):
    """The summary as a Markdown table (one row per method)."""
    lines = ["| " + " | ".join(HEADERS) + " |", "|" + "---|" * len(HEADERS)]
    for method, entry in summary.items():
        cells = [f"`{method}`", entry["pairs"], entry["seconds"]] + [entry[c] for c in MEAN_COLUMNS]
        cells += [entry["worst_color_ratio"], entry["background_change_ratio"]]
        lines.append("| " + " | ".join(c if isinstance(c, str) else _fmt(c) for c in cells) + " |")
    return "\n".join(lines)


def write_csv(rows, path):
    """One line per (content, style, method) with every `PairScores` field."""
    with open(path, "w", newline="", encoding="utf-8") as f:
        writer = csv.writer(f)
        writer.writerow(PairScores._fields)
        for row in rows:
            writer.writerow([f"{v:.6g}" if isinstance(v, float) else v for v in row])
    return path


def read_csv(path):
    """Reads `write_csv` output back into `PairScores`."""
    with open(path, newline="", encoding="utf-8") as f:
        reader = csv.DictReader(f)
        return [PairScores(**{k: (v if k in ("content", "style", "method") else float(v))
                              for k, v in line.items()}) for line in reader]


def label_image(text, width):
    """A white `(width // 4, width, 3)` strip with `text` in black (PIL's default font)."""
    from PIL import Image, ImageDraw

    image = Image.new("RGB", (width, max(12, width // 4)), "white")
    draw = ImageDraw.Draw(image)
    box = draw.textbbox((0, 0), text)
    draw.text(((width - (box[2] - box[0])) // 2, (image.height - (box[3] - box[1])) // 2), text, fill="black")
    return np.asarray(image, np.float32) / 255.0


def write_sheets(result, folder, cell_size=192):
    """One contact sheet per style: the first row shows the style and the
    column names; then one row per content: the content, its CBAM attention
    map, then one column per method. Returns the list of written paths."""
    from tf_cbam_style.io import save_image
    from tf_cbam_style.sheet import colorize, contact_sheet

    paths = []
    methods = list(result.methods)
    header = [label_image(m, cell_size) for m in methods]
    for style_name, sheet in result.sheets.items():
        grid = [[sheet["style"], label_image("attention", cell_size)] + header]
        for _, content, attention, images in sheet["rows"]:
            grid.append([content, colorize(attention)] + [images.get(m) for m in methods])
        path = os.path.join(folder, f"sheet_{os.path.splitext(style_name)[0]}.png")
        save_image(path, contact_sheet(grid, cell_size), overwrite=True)
        paths.append(path)
    return paths


def write_scatter(summary, path):
    """Quality vs speed: median seconds per image (log x) against the style
    loss and the relu4_1 content loss, one labelled point per method."""
    try:
        import matplotlib

        matplotlib.use("Agg")
        import matplotlib.pyplot as plt
        import matplotlib.ticker
    except ImportError:
        raise ImportError("The scatter plot needs matplotlib: pip install matplotlib") from None
    figure, axes = plt.subplots(1, 2, figsize=(10, 4), constrained_layout=True)
    for axis, column, label in ((axes[0], "style_loss", "style loss (mean/std) ↓"),
                                (axes[1], "content_relu4_1", "content loss relu4_1 ↓")):
        for method, entry in summary.items():
            axis.scatter(entry["seconds"], entry[column], s=30)
            axis.annotate(method, (entry["seconds"], entry[column]), textcoords="offset points",
                          xytext=(4, 4), fontsize=8)
        axis.set_xscale("log")
        axis.xaxis.set_major_formatter(matplotlib.ticker.FormatStrFormatter("%g"))
        axis.xaxis.set_minor_formatter(matplotlib.ticker.NullFormatter())
        axis.set_xlabel("median seconds per image (CPU)")
        axis.set_ylabel(label)
        axis.grid(True, alpha=0.3)
    figure.savefig(path, dpi=110)
    plt.close(figure)
    return path


# The files every report has; `evaluate` and the ablation replace an
# existing report only with --overwrite.
REPORT_FILES = ("summary.md", "pairs.csv")


def write_report(result, folder, *, cell_size=192, command=None):
    """Writes `summary.md`, `pairs.csv`, `sheet_<style>.png` and the scatter plot.

    Args:
        result: an `EvaluationResult`.
        folder: output folder (created).
        cell_size: contact-sheet cell size in pixels.
        command: the command line, recorded in the summary.

    Returns:
        A `ReportFiles`.
    """
    os.makedirs(folder, exist_ok=True)
    csv_path = write_csv(result.rows, os.path.join(folder, "pairs.csv"))
    summary = summarize(result.rows)
    lines = ["# Quality evaluation", ""]
    if command:
        lines += ["```bash", command, "```", ""]
    lines += [
        (f"{len(result.contents)} contents x {len(result.styles)} styles, longer side "
         f"{result.size} px. Metrics: see docs/results.md."),
        "",
        markdown_table(summary),
        "",
    ]
    counts = {m: e["pairs"] for m, e in summary.items()}
    smallest = min(counts, key=counts.get)
    if len(set(counts.values())) > 1:
        subset = {(r.content, r.style) for r in result.rows if r.method == smallest}
        lines += [f"Same {counts[smallest]} pairs as `{smallest}`:", "",
                  markdown_table(summarize(result.rows, subset)), ""]
    lines += ["Methods:", ""] + [f"- `{m}`: {d}" for m, d in result.methods.items()] + [""]
    sheets = write_sheets(result, folder, cell_size)
    scatter = None
    try:
        scatter = write_scatter(summary, os.path.join(folder, "quality_vs_speed.png"))
    except ImportError as error:
        lines += [f"(no scatter plot: {error})", ""]
    lines += [f"![{os.path.basename(p)}]({os.path.basename(p)})" for p in sheets + ([scatter] if scatter else [])]
    summary_path = os.path.join(folder, "summary.md")
    with open(summary_path, "w", encoding="utf-8") as f:
        f.write("\n".join(lines) + "\n")
    return ReportFiles(summary_path, csv_path, sheets, scatter)
