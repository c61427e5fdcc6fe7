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
    if backend not in ("wasm", "cpu"):
        raise ValueError(f"`backend` must be 'wasm' or 'cpu'. Received: backend={backend!r}")
    root = check_node_modules(root)
    node = find_node()
    content = np.asarray(content, np.float32)
    style = np.asarray(style, np.float32)
    content = content[None] if content.ndim == 3 else content
    style = style[None] if style.ndim == 3 else style
    with tempfile.TemporaryDirectory(prefix="tfjs-run-") as tmp:
        spec = {
            "content": _write(os.path.join(tmp, "content.bin"), content),
            "style": _write(os.path.join(tmp, "style.bin"), style),
            "options": dict(options or {}),
        }
        if mask is not None:
            spec["mask"] = _write(os.path.join(tmp, "mask.bin"), np.asarray(mask, np.float32))
        with open(os.path.join(tmp, "inputs.json"), "w", encoding="utf-8") as f:
            json.dump(spec, f)
        out = os.path.join(tmp, "out")
        command = [node, str(root / RUNNER), "--model", str(pathlib.Path(model_dir).resolve()),
                   "--inputs", os.path.join(tmp, "inputs.json"), "--out", out,
                   "--backend", backend, "--repeat", str(int(repeat))]
        result = subprocess.run(command, capture_output=True, text=True, cwd=root, timeout=timeout, check=False)
        if result.returncode != 0:
            tail = "\n".join((result.stderr or result.stdout).strip().splitlines()[-10:])
            raise RuntimeError(f"The Node.js run of the TF.js model failed (exit {result.returncode}):\n{tail}")
        with open(os.path.join(out, "outputs.json"), encoding="utf-8") as f:
            report = json.load(f)
        arrays = {
            key: np.fromfile(os.path.join(out, value["file"]), "<f4").reshape(value["shape"])
            for key, value in report["outputs"].items()
        }
    return NodeRun(arrays["stylized_image"], arrays["attention_map"], report["seconds"], report["backend"])
