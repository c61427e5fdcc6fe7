"""CPU latency and memory of every method at several sizes, in one run.

Each (method, size) runs in a fresh Python process
(`benchmark_worker`), one after the other, so that

- the memory figure is that process's resident high-water mark
  (`getrusage(RUSAGE_SELF).ru_maxrss`). `tracemalloc` would only see
  Python-level allocations, not TensorFlow's or onnxruntime's C++
  allocators; a high-water mark in a long-lived process would carry over
  the largest earlier measurement. The peak includes the Python runtime,
  TensorFlow and the weights (`loaded_rss_mb` is the level after loading);
- no measurement inherits another's caches or thread pools.

Latency is the median wall time of `repeats` calls after `warmup` untimed
calls (graph tracing), for the whole `stylize` call on a square content.
"""

import collections
import json
import os
import subprocess
import sys

import numpy as np

BenchmarkRow = collections.namedtuple(
    "BenchmarkRow",
    ["method", "size", "median_s", "latencies", "loaded_rss_mb", "peak_rss_mb", "error"],
)
BenchmarkRow.__doc__ = """One (method, size) measurement.

Attributes:
    method, size: what was measured (`size` x `size` content).
    median_s: median latency in seconds (`nan` on error).
    latencies: every timed latency.
    loaded_rss_mb: resident MiB after loading the method, before the first call.
    peak_rss_mb: resident high-water mark of the process, MiB.
    error: `None`, or the last line of the worker's error output.
"""

DEFAULT_SIZES = (256, 512, 1024)


def run_one(method, size, *, content, style, repeats=3, warmup=1, gatys_iterations=10,
            cbam_model=None, self_attention_model=None, magenta_dir=None, timeout=1800):
    """Measures one method at one size in a fresh process; returns a `BenchmarkRow`."""
    command = [
        sys.executable, "-m", "tf_cbam_style.evaluation.benchmark_worker",
        "--method", method, "--size", str(size), "--content", content, "--style", style,
        "--repeats", str(repeats), "--warmup", str(warmup),
        "--gatys-iterations", str(gatys_iterations),
    ]
    for flag, value in (("--cbam-model", cbam_model), ("--self-attention-model", self_attention_model),
                        ("--magenta-dir", magenta_dir)):
        if value:
            command += [flag, str(value)]
    env = dict(os.environ, TF_CPP_MIN_LOG_LEVEL="2")
    try:
        done = subprocess.run(command, capture_output=True, text=True, timeout=timeout, env=env, check=False)
    except subprocess.TimeoutExpired:
        return BenchmarkRow(method, size, float("nan"), [], float("nan"), float("nan"),
                            f"timed out after {timeout} s")
    for line in done.stdout.splitlines():
        if line.startswith("BENCHMARK "):
            data = json.loads(line[len("BENCHMARK "):])
            return BenchmarkRow(method, size, float(np.median(data["latencies"])), data["latencies"],
                                data["loaded_rss_mb"], data["peak_rss_mb"], None)
    lines = [line for line in done.stderr.splitlines() if line.strip()]
    return BenchmarkRow(method, size, float("nan"), [], float("nan"), float("nan"),
                        lines[-1] if lines else f"exit code {done.returncode}")


FullResolutionRow = collections.namedtuple(
    "FullResolutionRow", ["megapixels", "size", "tile_size", "seconds", "loaded_rss_mb", "peak_rss_mb", "error"]
)
FullResolutionRow.__doc__ = """One tiled full-resolution measurement (see `run_full_resolution`)."""


def run_full_resolution(megapixels, *, content, style, tile_size=512, cbam_model=None, timeout=7200):
    """One tiled `cbam` call on a 4:3 photo of `megapixels` MP, in a fresh process."""
    command = [sys.executable, "-m", "tf_cbam_style.evaluation.benchmark_worker", "--megapixels",
               str(megapixels), "--content", content, "--style", style, "--tile-size", str(tile_size)]
    if cbam_model:
        command += ["--cbam-model", str(cbam_model)]
    env = dict(os.environ, TF_CPP_MIN_LOG_LEVEL="2")
    try:
        done = subprocess.run(command, capture_output=True, text=True, timeout=timeout, env=env, check=False)
    except subprocess.TimeoutExpired:
        return FullResolutionRow(megapixels, "", tile_size, float("nan"), float("nan"), float("nan"),
                                 f"timed out after {timeout} s")
    for line in done.stdout.splitlines():
        if line.startswith("BENCHMARK "):
            data = json.loads(line[len("BENCHMARK "):])
            return FullResolutionRow(data["megapixels"], data["size"], tile_size, data["latencies"][0],
                                     data["loaded_rss_mb"], data["peak_rss_mb"], None)
    lines = [line for line in done.stderr.splitlines() if line.strip()]
    return FullResolutionRow(megapixels, "", tile_size, float("nan"), float("nan"), float("nan"),
                             lines[-1] if lines else f"exit code {done.returncode}")


def full_resolution_table(rows):
    """Markdown table of `FullResolutionRow`s."""
    lines = ["| photo | megapixels | tile | seconds | peak RSS MiB |", "|---|---|---|---|---|"]
    for row in rows:
        if row.error:
            lines.append(f"| {row.size} | {row.megapixels:g} | {row.tile_size} | error: {row.error[:80]} | |")
        else:
            lines.append(f"| {row.size} | {row.megapixels:.1f} | {row.tile_size} | {row.seconds:.1f} | "
                         f"{row.peak_rss_mb:.0f} |")
    return "\n".join(lines)


def ratio_table(rows, references=("adain", "magenta")):
    """Markdown table: one line per (size, method) with the ratios of its
    median latency to each reference method's at the same size."""
    by_key = {(r.method, r.size): r for r in rows}
    present = [ref for ref in references if any(r.method == ref for r in rows)]
    headers = ["size", "method", "median s", "peak RSS MiB", "loaded RSS MiB"] + [f"x {ref}" for ref in present]
    lines = ["| " + " | ".join(headers) + " |", "|" + "---|" * len(headers)]
    for row in sorted(rows, key=lambda r: r.size):
        cells = [f"{row.size}", f"`{row.method}`"]
        if row.error:
            cells += [f"error: {row.error[:80]}", "", ""] + [""] * len(present)
        else:
            cells += [f"{row.median_s:.3f}", f"{row.peak_rss_mb:.0f}", f"{row.loaded_rss_mb:.0f}"]
            for ref in present:
                base = by_key.get((ref, row.size))
                ok = base is not None and base.error is None and base.median_s > 0
                cells.append(f"{row.median_s / base.median_s:.2f}" if ok else "n/a")
        lines.append("| " + " | ".join(cells) + " |")
    return "\n".join(lines)


def benchmark(methods, sizes=DEFAULT_SIZES, *, content, style, repeats=3, gatys_iterations=10,
              cbam_model=None, self_attention_model=None, magenta_dir=None, progress=True,
              timeout=1800):
    """Runs `run_one` for every method and size (sizes outer, methods inner).

    `gatys` gets no warm-up and one timed run of `gatys_iterations` steps
    (its first step includes tracing).

    Returns:
        A list of `BenchmarkRow`.
    """
    from tqdm import tqdm

    rows = []
    jobs = [(size, method) for size in sizes for method in methods]
    with tqdm(total=len(jobs), unit="run", disable=not progress, file=sys.stderr) as bar:
        for size, method in jobs:
            bar.set_description(f"{method} {size}px")
            gatys = method == "gatys"
            rows.append(run_one(
                method, size, content=content, style=style,
                repeats=1 if gatys else repeats, warmup=0 if gatys else 1,
                gatys_iterations=gatys_iterations, cbam_model=cbam_model,
                self_attention_model=self_attention_model, magenta_dir=magenta_dir, timeout=timeout,
            ))
            bar.update(1)
    return rows
