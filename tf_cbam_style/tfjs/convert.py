"""SavedModel -> TensorFlow.js graph model, ready for the web demo."""

import collections
import hashlib
import json
import os
import pathlib
import shutil
import subprocess

from tf_cbam_style.tfjs.artifacts import MODEL_JSON, read_artifacts, write_artifacts
from tf_cbam_style.tfjs.ops import (
    UnsupportedOpsError,
    find_unsupported_ops,
    parse_converter_error,
    signature_op_nodes,
    signature_output_keys,
)
from tf_cbam_style.tfjs.page import OPTIONS_JSON, write_page_options
from tf_cbam_style.tfjs.rewrite import optimize_artifacts, rename_signature_outputs
from tf_cbam_style.tfjs.venv import (
    CONVERTER_VERSION,
    ensure_converter_venv,
    supported_ops,
)

QUANTIZATIONS = ("none", "float16", "uint8")
DEFAULT_SIGNATURE = "stylize_with_options"
DEFAULT_SHARD_SIZE = 4 * 1024 * 1024
CONVERSION_JSON = "conversion.json"
_OWN_FILES = (MODEL_JSON, CONVERSION_JSON, OPTIONS_JSON)
REPO = pathlib.Path(__file__).resolve().parent.parent.parent

ConversionResult = collections.namedtuple(
    "ConversionResult",
    ["output_dir", "model_json", "weight_files", "weight_bytes", "quantization", "signature_name",
     "saved_model_dir", "removed_duplicate_bytes", "unfused_nodes"],
)
ConversionResult.__doc__ = """What `convert_saved_model` wrote.

Attributes:
    output_dir: the TF.js model folder.
    model_json: path of its `model.json`.
    weight_files: the weight shard paths (each at most the shard size).
    weight_bytes: total weight size in bytes.
    quantization: `"none"`, `"float16"` or `"uint8"`.
    signature_name: the converted SavedModel signature.
    saved_model_dir: the SavedModel version folder that was converted.
    removed_duplicate_bytes: bytes of duplicate weights dropped.
    unfused_nodes: fused nodes split for the wasm backend.
"""


def resolve_saved_model_dir(path):
    """A SavedModel folder, or an export base holding numbered versions
    (`saved_models/cbam_relu4_1/`) -> the folder with `saved_model.pb`
    (the highest version)."""
    path = pathlib.Path(path)
    if (path / "saved_model.pb").is_file():
        return path
    versions = sorted(
        (int(child.name), child) for child in path.glob("*")
        if child.name.isdigit() and (child / "saved_model.pb").is_file()
    ) if path.is_dir() else []
    if not versions:
        raise FileNotFoundError(
            "`saved_model_dir` must be a SavedModel folder (with saved_model.pb) or an export base "
            "with numbered versions (see `tf-cbam-style export saved-model`). "
            f"Received: saved_model_dir='{path}'"
        )
    return versions[-1][1]


def saved_model_digest(saved_model_dir):
    """The sha256 (hex) of a SavedModel's graph and weights.

    Hashes `saved_model.pb` and every file under `variables/`, in sorted
    order, each as its path relative to `saved_model_dir`, a NUL byte, its
    size in decimal, a NUL byte and its bytes. `assets.extra/` (TF Serving
    warm-up requests) and `fingerprint.pb` do not change what the model
    computes and are left out.

    Raises:
        FileNotFoundError: `saved_model_dir` has no `saved_model.pb`.
    """
    root = pathlib.Path(saved_model_dir)
    if not (root / "saved_model.pb").is_file():
        raise FileNotFoundError(
            f"`saved_model_dir` must hold saved_model.pb. Received: saved_model_dir='{root}'")
    files = [root / "saved_model.pb"] + sorted(p for p in (root / "variables").rglob("*") if p.is_file())
    digest = hashlib.sha256()
    for path in files:
        data = path.read_bytes()
        digest.update(f"{path.relative_to(root).as_posix()}\0{len(data)}\0".encode())
        digest.update(data)
    return digest.hexdigest()


def source_path(saved_model_dir):
    """`saved_model_dir` relative to the repository (POSIX) when inside it, else absolute."""
    path = pathlib.Path(saved_model_dir).resolve()
    try:
        return path.relative_to(REPO).as_posix()
    except ValueError:
        return str(path)


def read_conversion(model_dir):
    """`model_dir/conversion.json`, with `saved_model_dir` as an absolute `pathlib.Path`.

    Raises:
        FileNotFoundError: `model_dir` has no `conversion.json`.
    """
    path = pathlib.Path(model_dir) / CONVERSION_JSON
    if not path.is_file():
        raise FileNotFoundError(
            f"`model_dir` must hold {CONVERSION_JSON} (written by `tf-cbam-style export tfjs`). "
            f"Received: model_dir='{model_dir}'"
        )
    info = json.loads(path.read_text(encoding="utf-8"))
    info["saved_model_dir"] = REPO / info["saved_model_dir"]  # an absolute path stays as it is
    return info


def _check_output_dir(output_dir, overwrite):
    if output_dir.exists():
        if not output_dir.is_dir():
            raise NotADirectoryError(f"`output_dir` must be a folder. Received: output_dir='{output_dir}'")
        if (output_dir / MODEL_JSON).exists() and not overwrite:
            raise FileExistsError(
                "`output_dir` already holds a converted model; pass overwrite=True (`--overwrite`) "
                f"to replace it. Received: output_dir='{output_dir}'"
            )
        foreign = [
            p.name for p in output_dir.iterdir()
            if p.name not in _OWN_FILES and not (p.name.startswith("group") and p.name.endswith(".bin"))
        ]
        if foreign:
            raise FileExistsError(
                "`output_dir` holds files that are not a converted model; pick an empty or model "
                f"folder. Received: output_dir='{output_dir}' with {sorted(foreign)[:5]}"
            )


def converter_arguments(saved_model_dir, output_dir, signature_name, quantization, shard_size):
    """The `tensorflowjs_converter` arguments for one conversion."""
    args = [
        "--input_format=tf_saved_model",
        "--output_format=tfjs_graph_model",
        f"--signature_name={signature_name}",
        "--saved_model_tags=serve",
        f"--weight_shard_size_bytes={shard_size}",
        "--strip_debug_ops=True",
    ]
    if quantization != "none":
        args.append(f"--quantize_{quantization}=*")
    return args + [str(saved_model_dir), str(output_dir)]


_RUN_CONVERTER = (
    "import json, sys\n"
    "from tensorflowjs.converters import converter\n"
    "converter.convert(json.loads(sys.argv[1]))\n"
)


def convert_saved_model(
    saved_model_dir,
    output_dir,
    signature_name=DEFAULT_SIGNATURE,
    quantization="none",
    weight_shard_size_bytes=DEFAULT_SHARD_SIZE,
    venv=None,
    check_ops=True,
    overwrite=False,
    log=None,
):
    """Converts a SavedModel signature into a TF.js graph model.

    The converter runs in its own virtualenv (`ensure_converter_venv`).
    Before converting, the signature's frozen graph is checked against the
    ops TF.js supports; after converting, duplicate weights are merged and
    fused nodes the wasm backend rejects are split, and the outputs keep
    the signature's keys (see `rewrite`). Beside
    `model.json` it writes `options.json` (the page's defaults and ranges,
    see `tf_cbam_style.tfjs.page`) and `conversion.json` (the source
    SavedModel, relative to the repository when inside it, and its
    `saved_model_digest`, the quantization and the rewrite figures).

    Args:
        saved_model_dir: a SavedModel folder, or an export base with
            numbered versions (the highest is used).
        output_dir: the model folder to (re)write, e.g. `web_demo/model`.
        signature_name: defaults to `"stylize_with_options"`.
        quantization: `"none"`, `"float16"` or `"uint8"` (weights only).
        weight_shard_size_bytes: shard size, defaults to 4 MiB.
        venv: the converter virtualenv folder (default
            `~/.cache/tf_cbam_style/tfjs-venv`).
        check_ops: check the graph's ops before converting.
        overwrite: replace a model already in `output_dir`.
        log: optional callable receiving progress lines.

    Returns:
        A `ConversionResult`.

    Raises:
        UnsupportedOpsError: the graph uses ops TF.js lacks; names the ops
            and the nodes (layers) that make them.
        FileExistsError: `output_dir` holds a model and `overwrite` is
            false, or holds files that are not a converted model.
    """
    say = log or (lambda message: None)
    if quantization not in QUANTIZATIONS:
        raise ValueError(f"`quantization` must be one of {QUANTIZATIONS}. Received: quantization={quantization!r}")
    if not isinstance(weight_shard_size_bytes, int) or weight_shard_size_bytes < 1024:
        raise ValueError(
            "`weight_shard_size_bytes` must be an int of at least 1024. "
            f"Received: weight_shard_size_bytes={weight_shard_size_bytes!r}"
        )
    saved_model_dir = resolve_saved_model_dir(saved_model_dir)
    output_dir = pathlib.Path(output_dir)
    _check_output_dir(output_dir, overwrite)
    env = ensure_converter_venv(venv, log=say)

    op_nodes = None
    if check_ops:
        say(f"Checking the ops of `{signature_name}` against TensorFlow.js ...")
        op_nodes = signature_op_nodes(saved_model_dir, signature_name)
        unsupported = find_unsupported_ops(op_nodes, supported_ops(env))
        if unsupported:
            raise UnsupportedOpsError(unsupported, signature_name)

    tmp = output_dir.with_name(output_dir.name + ".converting")
    shutil.rmtree(tmp, ignore_errors=True)
    try:
        say(f"Converting {saved_model_dir} ({signature_name}, quantization={quantization}) ...")
        args = converter_arguments(saved_model_dir, tmp, signature_name, quantization, weight_shard_size_bytes)
        result = subprocess.run(
            [str(env.python), "-c", _RUN_CONVERTER, json.dumps(args)],
            capture_output=True, text=True, check=False, env=dict(os.environ, TF_CPP_MIN_LOG_LEVEL="2"),
        )
        if result.returncode != 0:
            output = result.stderr + result.stdout
            ops = parse_converter_error(output)
            if ops:
                if op_nodes is None:
                    op_nodes = signature_op_nodes(saved_model_dir, signature_name)
                raise UnsupportedOpsError({op: op_nodes.get(op, []) for op in ops}, signature_name)
            tail = "\n".join(output.strip().splitlines()[-15:])
            raise RuntimeError(f"tensorflowjs_converter failed (exit {result.returncode}):\n{tail}")
        artifacts, stats = optimize_artifacts(read_artifacts(tmp))
        artifacts, _ = rename_signature_outputs(artifacts, signature_output_keys(saved_model_dir, signature_name))
        written = write_artifacts(tmp, artifacts, weight_shard_size_bytes)
        write_page_options(tmp)
        info = {
            "saved_model_dir": source_path(saved_model_dir),
            "saved_model_sha256": saved_model_digest(saved_model_dir),
            "signature_name": signature_name,
            "quantization": quantization,
            "weight_shard_size_bytes": weight_shard_size_bytes,
            "weight_bytes": written.weight_bytes,
            "removed_duplicate_bytes": stats.removed_bytes,
            "unfused_nodes": stats.unfused_nodes,
            "converter": "tensorflowjs " + CONVERTER_VERSION,
        }
        with open(tmp / CONVERSION_JSON, "w", encoding="utf-8") as f:
            json.dump(info, f, indent=2)
            f.write("\n")
        shutil.rmtree(output_dir, ignore_errors=True)
        os.replace(tmp, output_dir)
    finally:
        shutil.rmtree(tmp, ignore_errors=True)
    shards = [output_dir / os.path.basename(p) for p in written.shards]
    return ConversionResult(
        str(output_dir), str(output_dir / MODEL_JSON), [str(p) for p in shards], written.weight_bytes,
        quantization, signature_name, str(saved_model_dir), stats.removed_bytes, stats.unfused_nodes,
    )

