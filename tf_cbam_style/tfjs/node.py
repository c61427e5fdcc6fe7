"""Runs the converted model in Node.js (`@tensorflow/tfjs` + wasm backend)."""

import collections
import json
import os
import pathlib
import shutil
import subprocess
import tempfile

import numpy as np

DEMO_ENV_VAR = "TF_CBAM_STYLE_WEB_DEMO"
RUNNER = pathlib.Path("scripts") / "run_graph_model.mjs"

NodeRun = collections.namedtuple("NodeRun", ["stylized_image", "attention_map", "seconds", "backend"])
NodeRun.__doc__ = """Outputs of one Node.js run of the graph model.

Attributes:
    stylized_image: float32 `(1, H, W, 3)`.
    attention_map: float32 `(1, H, W, 1)`.
    seconds: wall time of each repeat (the first includes warm-up).
    backend: the TF.js backend that ran it (`"wasm"` or `"cpu"`).
"""


def demo_root():
    """The `web_demo/` folder: `$TF_CBAM_STYLE_WEB_DEMO` or the repository's."""
    env = os.environ.get(DEMO_ENV_VAR)
    if env:
        return pathlib.Path(env)
    return pathlib.Path(__file__).resolve().parent.parent.parent / "web_demo"


def find_node():
    """Path of the `node` executable (Node.js 18 or newer)."""
    node = shutil.which("node")
    if node is None:
        raise FileNotFoundError(
            "Running the TF.js model needs Node.js 18+ on PATH (e.g. `apt-get install nodejs npm`). "
            "Received: node=None"
        )
    return node


def check_node_modules(root=None):
    """Raises unless `npm ci` has run in the demo folder."""
    root = pathlib.Path(root) if root is not None else demo_root()
    if not (root / "node_modules" / "@tensorflow" / "tfjs-backend-wasm").is_dir():
        raise FileNotFoundError(
            f"The web demo's packages are missing: run `npm ci` in {root}. "
            f"Received: node_modules='{root / 'node_modules'}'"
        )
    return root


def _write(path, array):
    np.ascontiguousarray(array, dtype="<f4").tofile(path)
    return {"file": os.path.basename(path), "shape": list(array.shape)}


def _run_runner(model_dir, arrays, options, flags, backend, repeat, root, timeout):
    """Runs scripts/run_graph_model.mjs; returns `(outputs.json, {name: array})`."""
    if backend not in ("wasm", "cpu"):
        raise ValueError(f"`backend` must be 'wasm' or 'cpu'. Received: backend={backend!r}")
    root = check_node_modules(root)
    node = find_node()
    with tempfile.TemporaryDirectory(prefix="tfjs-run-") as tmp:
        spec = {"options": dict(options or {})}
        for name, array in arrays.items():
            if array is not None:
                array = np.asarray(array, np.float32)
                array = array[None] if name != "mask" and array.ndim == 3 else array
                spec[name] = _write(os.path.join(tmp, f"{name}.bin"), array)
        with open(os.path.join(tmp, "inputs.json"), "w", encoding="utf-8") as f:
            json.dump(spec, f)
        out = os.path.join(tmp, "out")
        command = [node, str(root / RUNNER), "--model", str(pathlib.Path(model_dir).resolve()),
                   "--inputs", os.path.join(tmp, "inputs.json"), "--out", out,
                   "--backend", backend, "--repeat", str(int(repeat)), *flags]
        result = subprocess.run(command, capture_output=True, text=True, cwd=root, timeout=timeout, check=False)
        if result.returncode != 0:
            tail = "\n".join((result.stderr or result.stdout).strip().splitlines()[-10:])
            raise RuntimeError(f"The Node.js run of the TF.js model failed (exit {result.returncode}):\n{tail}")
        with open(os.path.join(out, "outputs.json"), encoding="utf-8") as f:
            report = json.load(f)
        outputs = {
            key: np.fromfile(os.path.join(out, value["file"]), "<f4").reshape(value["shape"])
            for key, value in report["outputs"].items()
        }
    return report, outputs


def run_graph_model(model_dir, content, style, options=None, mask=None, backend="wasm", repeat=1,
                    root=None, timeout=1800):
    """Stylizes with the TF.js model in `model_dir`, in Node.js.

    Args:
        model_dir: a converted model folder (`model.json` + shards).
        content: float32 `(1, H, W, 3)` or `(H, W, 3)` in [0, 1].
        style: float32 `(1, Hs, Ws, 3)` or `(Hs, Ws, 3)` in [0, 1].
        options: dict with any of `alpha`, `strokeScales`, `numRegions`,
            `preserveColor` and `region` (`"all"`, `"foreground"` or
            `"background"`): the page's option names, as in the model's
            `options.json`, whose defaults fill in the rest.
        mask: optional float32 `(1, h, w, 1)` mask in [0, 1]; it replaces
            the attention map.
        backend: `"wasm"` (the page's default) or `"cpu"`.
        repeat: runs, to time warm runs after the first.
        root: the `web_demo/` folder (with `node_modules`).
        timeout: seconds before the run is abandoned.

    Returns:
        A `NodeRun`.

    Raises:
        RuntimeError: the Node.js run failed (its last lines are quoted),
            e.g. for a bad option or a model folder without `options.json`.
    """
    report, arrays = _run_runner(model_dir, {"content": content, "style": style, "mask": mask}, options, [],
                                 backend, repeat, root, timeout)
    return NodeRun(arrays["stylized_image"], arrays["attention_map"], report["seconds"], report["backend"])


TiledNodeRun = collections.namedtuple(
    "TiledNodeRun",
    ["stylized_image", "attention_map", "matte", "global_attention_map", "global_matte", "global_content",
     "tile_attention_map", "plan", "tile_seconds", "seconds", "backend"],
)
TiledNodeRun.__doc__ = """Outputs of one tiled Node.js run (`web_demo/js/tiling.js`).

Attributes:
    stylized_image: float32 `(1, H, W, 3)`, the assembled result.
    attention_map, matte: float32 `(1, H, W, 1)`, the global pass's maps
        resampled to the content's size (what the tiles and the region
        composite used).
    global_attention_map, global_matte: float32 `(1, h, w, 1)`, the
        global pass's own; global_content: its input `(1, h, w, 3)`.
    tile_attention_map: float32 `(1, H, W, 1)`, the tiles' own attention
        outputs blended like the image, or `None` unless asked for.
    plan: a `tf_cbam_style.tiling.TilePlan` (tiles and cores as
        `(y0, x0, y1, x1)`), for `tiling.seam_score`.
    tile_seconds: wall time of each tile (the last repeat).
    seconds: wall time of each repeat; backend: the TF.js backend.
"""


def run_tiled_graph_model(model_dir, content, style, tile_size, options=None, mask=None, overlap=None,
                          global_content=None, global_size=None, tile_maps=False, backend="wasm", repeat=1,
                          root=None, timeout=3600):
    """Stylizes in tiles with the TF.js model in `model_dir`, as the page's
    "full resolution (tiled)" mode does, in Node.js.

    Args:
        model_dir, content, style, options, mask, backend, repeat, root,
            timeout: as for `run_graph_model`.
        tile_size: tile side in pixels (a multiple of `options.json`'s
            `tileAlign`).
        overlap: pixels shared by neighbours (default: `tileOverlap`).
        global_content: float32 `(h, w, 3)` or `(1, h, w, 3)`, the photo as
            the global pass sees it (the page's downscaled canvas); without
            it the content is resized bilinearly to `global_size` px
            (default: `maxContentSize`) on the longer side.
        tile_maps: also return the tiles' own attention outputs, blended.

    Returns:
        A `TiledNodeRun`.

    Raises:
        RuntimeError: the Node.js run failed (its last lines are quoted).
    """
    from tf_cbam_style.tiling import TilePlan

    flags = ["--tile-size", str(int(tile_size))]
    if overlap is not None:
        flags += ["--overlap", str(int(overlap))]
    if global_size is not None:
        flags += ["--global-size", str(int(global_size))]
    if tile_maps:
        flags.append("--tile-maps")
    arrays = {"content": content, "style": style, "mask": mask, "global_content": global_content}
    report, out = _run_runner(model_dir, arrays, options, flags, backend, repeat, root, timeout)
    plan = report["plan"]
    return TiledNodeRun(
        out["stylized_image"], out["attention_map"], out["matte"], out["global_attention_map"],
        out["global_matte"], out["global_content"], out.get("tile_attention_map"),
        TilePlan(plan["height"], plan["width"], [tuple(t) for t in plan["tiles"]],
                 [tuple(c) for c in plan["cores"]]),
        report["tileSeconds"], report["seconds"], report["backend"],
    )
