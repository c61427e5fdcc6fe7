"""TF.js conversion plumbing that needs neither the converter nor Node.js."""

import argparse
import base64
import json
import re
import subprocess
import sys
import threading
import urllib.request

import numpy as np
import pytest

# ---------------------------------------------------------------------------
# Graph model artifacts and rewrites
# ---------------------------------------------------------------------------


def _const(name, inputs=()):
    return {"name": name, "op": "Const", "input": list(inputs), "attr": {"dtype": {"type": "DT_FLOAT"}}}


def _fused_matmul(name, a, b, bias, fused=("BiasAdd", "Sigmoid")):
    return {
        "name": name, "op": "_FusedMatMul", "input": [a, b, bias],
        "attr": {
            "fused_ops": {"list": {"s": [base64.b64encode(op.encode()).decode() for op in fused]}},
            "transpose_a": {"b": False}, "transpose_b": {"b": False}, "T": {"type": "DT_FLOAT"},
        },
    }


def _artifacts():
    from tf_cbam_style.tfjs.artifacts import GraphModelArtifacts

    w = np.arange(6, dtype=np.float32).reshape(2, 3)
    bias = np.ones(3, np.float32)
    nodes = [
        {"name": "x", "op": "Placeholder", "attr": {}},
        _const("w"), _const("w_copy"), _const("bias"), _const("in_loop", ["^loop/Identity"]),
        {"name": "other", "op": "MatMul", "input": ["x", "w_copy"], "attr": {}},
        _fused_matmul("vector_bias", "x", "w", "bias"),
        _fused_matmul("tensor_bias", "x", "w_copy", "other"),
        {"name": "out", "op": "AddV2", "input": ["vector_bias", "tensor_bias:0", "in_loop"], "attr": {}},
    ]
    manifest = {
        "format": "graph-model",
        "modelTopology": {"node": nodes, "library": {}, "versions": {}},
        "signature": {"outputs": {"y": {"name": "out:0"}}},
        "weightsManifest": [],
    }
    weights = [
        ({"name": "w", "shape": [2, 3], "dtype": "float32"}, w.tobytes()),
        ({"name": "w_copy", "shape": [2, 3], "dtype": "float32"}, w.tobytes()),
        ({"name": "bias", "shape": [3], "dtype": "float32"}, bias.tobytes()),
        ({"name": "in_loop", "shape": [2, 3], "dtype": "float32"}, w.tobytes()),
    ]
    return GraphModelArtifacts(manifest, weights)


def test_artifacts_round_trip_with_small_shards(tmp_path):
    from tf_cbam_style.tfjs.artifacts import read_artifacts, write_artifacts

    written = write_artifacts(str(tmp_path), _artifacts(), shard_size_bytes=20)
    assert all((tmp_path / p).stat().st_size <= 20 for p in written.shards)
    assert written.weight_bytes == 24 * 3 + 12
    loaded = read_artifacts(str(tmp_path))
    assert [spec["name"] for spec, _ in loaded.weights] == ["w", "w_copy", "bias", "in_loop"]
    assert loaded.weights[2][1] == np.ones(3, np.float32).tobytes()


def test_read_artifacts_rejects_a_folder_without_model(tmp_path):
    from tf_cbam_style.tfjs.artifacts import read_artifacts

    with pytest.raises(FileNotFoundError, match="Received: model_dir="):
        read_artifacts(str(tmp_path))


def test_dedupe_keeps_loop_constants_apart():
    from tf_cbam_style.tfjs.rewrite import dedupe_constants

    artifacts, removed, removed_bytes = dedupe_constants(_artifacts())
    assert (removed, removed_bytes) == (1, 24)
    names = [spec["name"] for spec, _ in artifacts.weights]
    assert names == ["w", "bias", "in_loop"]  # in_loop has a control input: kept
    nodes = {n["name"]: n for n in artifacts.manifest["modelTopology"]["node"]}
    assert "w_copy" not in nodes
    assert nodes["other"]["input"] == ["x", "w"]


def test_unfuse_splits_only_non_vector_biases():
    from tf_cbam_style.tfjs.rewrite import unfuse_tensor_bias

    artifacts, unfused = unfuse_tensor_bias(_artifacts())
    assert unfused == ["tensor_bias"]
    nodes = {n["name"]: n for n in artifacts.manifest["modelTopology"]["node"]}
    assert nodes["vector_bias"]["op"] == "_FusedMatMul"
    assert nodes["tensor_bias"]["op"] == "Sigmoid"
    add = nodes[nodes["tensor_bias"]["input"][0]]
    assert add["op"] == "AddV2" and add["input"][1] == "other"
    matmul = nodes[add["input"][0]]
    assert matmul["op"] == "MatMul" and matmul["input"] == ["x", "w_copy"]
    assert matmul["attr"]["transpose_b"] == {"b": False}


# ---------------------------------------------------------------------------
# Unsupported ops
# ---------------------------------------------------------------------------


def test_rename_signature_outputs_puts_back_the_signature_keys():
    from tf_cbam_style.tfjs.artifacts import GraphModelArtifacts
    from tf_cbam_style.tfjs.rewrite import rename_signature_outputs

    outputs = {"stylized_image": {"name": "Identity_2:0"}, "Identity:0": {"name": "Identity:0"},
               "Identity_1:0": {"name": "Identity_1:0"}}
    artifacts = GraphModelArtifacts({"signature": {"inputs": {}, "outputs": outputs}}, [])
    keys = {"Identity:0": "attention_map", "Identity_1:0": "matte", "Identity_2:0": "stylized_image"}
    renamed, names = rename_signature_outputs(artifacts, keys)
    assert names == ["attention_map", "matte"]
    assert renamed.manifest["signature"]["outputs"] == {
        "stylized_image": {"name": "Identity_2:0"}, "attention_map": {"name": "Identity:0"},
        "matte": {"name": "Identity_1:0"}}
    assert artifacts.manifest["signature"]["outputs"] == outputs  # the input is not changed
    # Already keyed, or unknown tensors: unchanged.
    same, names = rename_signature_outputs(renamed, keys)
    assert names == [] and same is renamed
    assert rename_signature_outputs(artifacts, {})[1] == []


def test_parse_converter_error():
    from tf_cbam_style.tfjs.ops import parse_converter_error

    text = "Traceback ...\nValueError: Unsupported Ops in the model before optimization\n_SwitchN, ResizeArea\n"
    assert parse_converter_error(text) == ["ResizeArea", "_SwitchN"]
    assert parse_converter_error("some other failure") == []


@pytest.fixture(scope="module")
def area_resize_saved_model(tmp_path_factory):
    import keras
    import tensorflow as tf

    class Shrink(keras.layers.Layer):
        def call(self, x):
            return tf.image.resize(x, [4, 4], method="area")

    inputs = keras.Input((None, None, 1), name="mask")
    model = keras.Model(inputs, Shrink(name="mask_resize")(inputs))
    path = tmp_path_factory.mktemp("area") / "1"
    fn = tf.function(lambda mask: {"out": model(mask)},
                     input_signature=[tf.TensorSpec([None, None, None, 1], tf.float32, name="mask")])
    module = tf.Module()
    module.model = model
    tf.saved_model.save(module, str(path), signatures={"stylize_with_options": fn})
    return path


def test_unsupported_op_is_named_with_its_layer(area_resize_saved_model):
    from tf_cbam_style.tfjs.ops import (
        UnsupportedOpsError,
        find_unsupported_ops,
        signature_op_nodes,
    )

    op_nodes = signature_op_nodes(area_resize_saved_model, "stylize_with_options")
    supported = set(op_nodes) - {"ResizeArea"}
    unsupported = find_unsupported_ops(op_nodes, supported)
    assert list(unsupported) == ["ResizeArea"]
    assert any("mask_resize" in node for node in unsupported["ResizeArea"])
    error = UnsupportedOpsError(unsupported, "stylize_with_options")
    assert "ResizeArea (in " in str(error) and "mask_resize" in str(error)
    assert str(error).endswith("Received: ops=['ResizeArea']")


def test_debug_ops_are_allowed():
    from tf_cbam_style.tfjs.ops import find_unsupported_ops

    nodes = {"Assert": ["a"], "CheckNumerics": ["c"], "Svd": ["s"]}
    assert find_unsupported_ops(nodes, set()) == {"Svd": ["s"]}
    assert set(find_unsupported_ops(nodes, set(), strip_debug_ops=False)) == {"Assert", "CheckNumerics", "Svd"}


def _fake_venv(path, ops):
    """A converter virtualenv stand-in: the stamp, the script and an op list."""
    from tf_cbam_style.tfjs import venv

    (path / "bin").mkdir(parents=True)
    for name in ("python", "tensorflowjs_converter"):
        (path / "bin" / name).write_text("#!/bin/sh\nexit 1\n")
    (path / venv._STAMP).write_text(venv._stamp_text())
    op_list = path / "lib" / "python3.11" / "site-packages" / "tensorflowjs" / "op_list"
    op_list.mkdir(parents=True)
    (op_list / "all.json").write_text(json.dumps([{"tfOpName": op} for op in ops]))
    return path


def test_convert_fails_early_on_unsupported_ops(area_resize_saved_model, tmp_path):
    from tf_cbam_style.tfjs.convert import convert_saved_model
    from tf_cbam_style.tfjs.ops import UnsupportedOpsError, signature_op_nodes
    from tf_cbam_style.tfjs.venv import is_ready

    ops = set(signature_op_nodes(area_resize_saved_model, "stylize_with_options")) - {"ResizeArea"}
    venv = _fake_venv(tmp_path / "venv", ops)
    assert is_ready(venv)
    with pytest.raises(UnsupportedOpsError, match="ResizeArea") as info:
        convert_saved_model(area_resize_saved_model.parent, tmp_path / "model", venv=venv)
    assert list(info.value.ops) == ["ResizeArea"]
    assert not (tmp_path / "model").exists()


# ---------------------------------------------------------------------------
# Argument checks
# ---------------------------------------------------------------------------


def test_convert_checks_arguments(tmp_path):
    from tf_cbam_style.tfjs.convert import convert_saved_model

    with pytest.raises(ValueError, match=r"Received: quantization='int4'"):
        convert_saved_model(tmp_path, tmp_path / "out", quantization="int4")
    with pytest.raises(ValueError, match="Received: weight_shard_size_bytes=0"):
        convert_saved_model(tmp_path, tmp_path / "out", weight_shard_size_bytes=0)
    with pytest.raises(FileNotFoundError, match="Received: saved_model_dir="):
        convert_saved_model(tmp_path / "missing", tmp_path / "out")


def test_resolve_saved_model_dir_picks_the_highest_version(tmp_path):
    from tf_cbam_style.tfjs.convert import resolve_saved_model_dir

    for version in ("1", "2", "10"):
        (tmp_path / version).mkdir()
        (tmp_path / version / "saved_model.pb").write_bytes(b"")
    (tmp_path / "notes").mkdir()
    assert resolve_saved_model_dir(tmp_path) == tmp_path / "10"
    assert resolve_saved_model_dir(tmp_path / "2") == tmp_path / "2"


def test_output_dir_with_other_files_is_refused(tmp_path, area_resize_saved_model):
    from tf_cbam_style.tfjs.convert import convert_saved_model

    (tmp_path / "out").mkdir()
    (tmp_path / "out" / "index.html").write_text("mine")
    with pytest.raises(FileExistsError, match="Received: output_dir="):
        convert_saved_model(area_resize_saved_model, tmp_path / "out", venv=tmp_path / "no-venv")
    assert (tmp_path / "out" / "index.html").read_text() == "mine"


def test_converter_arguments():
    from tf_cbam_style.tfjs.convert import converter_arguments

    args = converter_arguments("sm", "out", "stylize_with_options", "float16", 4194304)
    assert "--signature_name=stylize_with_options" in args
    assert "--weight_shard_size_bytes=4194304" in args
    assert "--quantize_float16=*" in args
    assert args[-2:] == ["sm", "out"]
    assert not any(a.startswith("--quantize") for a in converter_arguments("a", "b", "s", "none", 1024))


# ---------------------------------------------------------------------------
# Command line, server, import cost
# ---------------------------------------------------------------------------


def _parser():
    from tf_cbam_style.tfjs.cli import register_cli

    parser = argparse.ArgumentParser(prog="tf-cbam-style")
    subparsers = parser.add_subparsers(dest="command", required=True)
    export = subparsers.add_parser("export").add_subparsers(dest="export_format", required=True)
    register_cli(export, subparsers)
    return parser


def test_cli_parses_export_tfjs_and_demo():
    from tf_cbam_style.tfjs.cli import run_demo, run_export_tfjs

    args = _parser().parse_args(
        ["export", "tfjs", "saved_models/cbam_relu4_1", "--quantization", "uint8",
         "--report", "r.json", "--report-quantizations", "none,float16,uint8"])
    assert args.func is run_export_tfjs
    assert args.quantization == "uint8" and args.weight_shard_size_bytes == 4194304
    assert args.report_quantizations == ["none", "float16", "uint8"]
    assert not args.overwrite
    assert _parser().parse_args(["export", "tfjs", "x", "--overwrite"]).overwrite
    args = _parser().parse_args(["demo", "--port", "0"])
    assert args.func is run_demo and args.host == "127.0.0.1" and args.port == 0


def test_cli_rejects_bad_quantization(capsys):
    with pytest.raises(SystemExit):
        _parser().parse_args(["export", "tfjs", "x", "--report-quantizations", "none,int4"])
    assert "Received: 'none,int4'" in capsys.readouterr().err


def _demo_root(tmp_path):
    root = tmp_path / "web_demo"
    (root / "vendor").mkdir(parents=True)
    (root / "index.html").write_text("<!doctype html>")
    (root / "vendor" / "tf-core.min.js").write_text("// tf")
    (root / "vendor" / "tfjs-backend-wasm.wasm").write_bytes(b"\0asm")
    model = tmp_path / "converted"
    model.mkdir()
    (model / "model.json").write_text("{}")
    (model / "options.json").write_text("{}")
    return root, model


def test_server_mime_types_headers_and_model_dir(tmp_path):
    from tf_cbam_style.tfjs.server import make_server

    root, model = _demo_root(tmp_path)
    server = make_server(root, port=0, model_dir=model)
    threading.Thread(target=server.serve_forever, daemon=True).start()
    base = f"http://127.0.0.1:{server.server_address[1]}"
    try:
        with urllib.request.urlopen(base + "/vendor/tfjs-backend-wasm.wasm") as response:
            assert response.headers["Content-Type"] == "application/wasm"
            assert response.headers["Cross-Origin-Embedder-Policy"] == "require-corp"
            assert response.headers["Cross-Origin-Opener-Policy"] == "same-origin"
        with urllib.request.urlopen(base + "/vendor/tf-core.min.js") as response:
            assert response.headers["Content-Type"].startswith("text/javascript")
        with urllib.request.urlopen(base + "/model/model.json") as response:
            assert response.read() == b"{}"
        with pytest.raises(urllib.error.HTTPError):
            urllib.request.urlopen(base + "/model/../../web_demo/index.html")
    finally:
        server.shutdown()
        server.server_close()
    assert server.server_address[0] == "127.0.0.1"


def test_server_explains_missing_files(tmp_path):
    from tf_cbam_style.tfjs.server import make_server

    root, model = _demo_root(tmp_path)
    with pytest.raises(FileNotFoundError, match="tf-cbam-style export tfjs"):
        make_server(root, port=0)  # root/model does not exist
    (root / "vendor" / "tf-core.min.js").unlink()
    with pytest.raises(FileNotFoundError, match="npm ci"):
        make_server(root, port=0, model_dir=model)
    with pytest.raises(ValueError, match="Received: port=70000"):
        make_server(root, port=70000, check=False)


def test_importing_tfjs_loads_no_tensorflow():
    code = ("import sys, tf_cbam_style.tfjs as t, tf_cbam_style.tfjs.cli; "
            "print('tensorflow' in sys.modules, 'numpy' in sys.modules)")
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True)
    assert out.stdout.split() == ["False", "False"]


# ---------------------------------------------------------------------------
# options.json, conversion.json and the page's options
# ---------------------------------------------------------------------------


def test_page_options_extend_options_py():
    from tf_cbam_style.options import web_demo_options
    from tf_cbam_style.tfjs.page import page_options

    page = page_options()
    assert {key: page[key] for key in web_demo_options()} == web_demo_options()
    assert page["maxStyleSize"] <= page["styleMaxSize"]
    assert page["minImageSize"] <= page["maxStyleSize"] <= page["maxContentSize"]
    assert set(page["strokeScales"]) <= set(page["strokeScaleChoices"])
    assert page["strokeScaleChoices"] == sorted(page["strokeScaleChoices"], reverse=True)
    assert json.loads(json.dumps(page)) == page


def test_stylize_options_maps_page_names():
    from tf_cbam_style.options import StylizeOptions
    from tf_cbam_style.tfjs.fidelity import stylize_options

    assert stylize_options() == StylizeOptions()
    assert stylize_options({"numRegions": 3, "strokeScales": [1, 0.5], "preserveColor": True,
                            "region": "background", "alpha": 0.25}) == StylizeOptions(
        num_regions=3, stroke_scales=(1.0, 0.5), preserve_color=True, region="background", alpha=0.25)
    with pytest.raises(ValueError, match="Received: options key 'foregroundOnly'"):
        stylize_options({"foregroundOnly": True})
    with pytest.raises(ValueError, match="Received: region='sky'"):
        stylize_options({"region": "sky"})


def test_saved_model_digest_known_answer(tmp_path):
    import hashlib

    from tf_cbam_style.tfjs.convert import saved_model_digest

    (tmp_path / "variables").mkdir()
    (tmp_path / "saved_model.pb").write_bytes(b"graph")
    (tmp_path / "variables" / "variables.index").write_bytes(b"ix")
    (tmp_path / "variables" / "variables.data-00000-of-00001").write_bytes(b"weights")
    (tmp_path / "fingerprint.pb").write_bytes(b"ignored")
    expected = hashlib.sha256(
        b"saved_model.pb\x005\x00graph"
        b"variables/variables.data-00000-of-00001\x007\x00weights"
        b"variables/variables.index\x002\x00ix").hexdigest()
    assert saved_model_digest(tmp_path) == expected
    (tmp_path / "variables" / "variables.index").write_bytes(b"iy")
    assert saved_model_digest(tmp_path) != expected
    with pytest.raises(FileNotFoundError, match="Received: saved_model_dir="):
        saved_model_digest(tmp_path / "variables")


def test_source_path_is_repo_relative_inside_the_repo(tmp_path):
    from tf_cbam_style.tfjs.convert import REPO, read_conversion, source_path

    assert source_path(REPO / "saved_models" / "cbam_relu4_1" / "1") == "saved_models/cbam_relu4_1/1"
    assert source_path(tmp_path) == str(tmp_path.resolve())
    (tmp_path / "conversion.json").write_text(json.dumps({"saved_model_dir": "saved_models/x/1"}))
    assert read_conversion(tmp_path)["saved_model_dir"] == REPO / "saved_models" / "x" / "1"
    with pytest.raises(FileNotFoundError, match="Received: model_dir="):
        read_conversion(tmp_path / "missing")


def test_convert_refuses_to_replace_a_model_without_overwrite(tmp_path):
    from tf_cbam_style.tfjs.convert import convert_saved_model

    (tmp_path / "sm").mkdir()
    (tmp_path / "sm" / "saved_model.pb").write_bytes(b"")
    (tmp_path / "out").mkdir()
    (tmp_path / "out" / "model.json").write_text("{}")
    with pytest.raises(FileExistsError, match="overwrite"):
        convert_saved_model(tmp_path / "sm", tmp_path / "out", venv=tmp_path / "no-venv")
    assert (tmp_path / "out" / "model.json").read_text() == "{}"
    assert not (tmp_path / "no-venv").exists()


# ---------------------------------------------------------------------------
# The committed web demo: model, options, fidelity report, vendored TF.js
# ---------------------------------------------------------------------------


def _support():
    from browser import support  # tests/browser/support.py

    return support


def test_committed_model_is_the_committed_saved_model_converted():
    support = _support()
    problem = support.committed_model_problem()
    assert problem is None, problem
    manifest = json.loads((support.COMMITTED_MODEL / "model.json").read_text())
    shards = [p for group in manifest["weightsManifest"] for p in group["paths"]]
    sizes = [(support.COMMITTED_MODEL / p).stat().st_size for p in shards]
    assert all(size <= 4 * 1024 * 1024 for size in sizes)
    info = json.loads((support.COMMITTED_MODEL / "conversion.json").read_text())
    assert sum(sizes) == info["weight_bytes"]
    files = {p.name for p in support.COMMITTED_MODEL.iterdir()}
    assert files == {"model.json", "options.json", "conversion.json", *shards}


def test_every_menu_model_is_a_committed_conversion():
    # web_demo/models.json lists what the page's Model menu offers; each entry
    # must be the float16 conversion of saved_models/<name>/1, with this
    # options.json, and the first must be the default web_demo/model.
    from tf_cbam_style.tfjs.page import page_options

    support = _support()
    entries = support.menu_models()
    assert entries[0]["dir"] == support.COMMITTED_MODEL and entries[0]["name"] == "cbam_relu4_1"
    assert len({e["name"] for e in entries}) == len(entries) == len({e["url"] for e in entries})
    for entry in entries:
        problem = support.committed_model_problem(entry["dir"], entry["saved_model"])
        assert problem is None, problem
        assert json.loads((entry["dir"] / "options.json").read_text()) == page_options(), entry["name"]
        manifest = json.loads((entry["dir"] / "model.json").read_text())
        shards = [p for group in manifest["weightsManifest"] for p in group["paths"]]
        assert {p.name for p in entry["dir"].iterdir()} == {"model.json", "options.json", "conversion.json",
                                                           *shards}
        assert all((entry["dir"] / p).stat().st_size <= 4 * 1024 * 1024 for p in shards)
        if entry is not entries[0]:  # the default's report is web_demo/fidelity.json (below)
            report = json.loads((support.WEB_DEMO / f"fidelity_{entry['name']}.json").read_text())
            info = json.loads((entry["dir"] / "conversion.json").read_text())
            assert report["saved_model_sha256"] == info["saved_model_sha256"], entry["name"]
            assert [r["quantization"] for r in report["reports"]] == ["float16"]


def test_committed_options_json_is_options_py():
    from tf_cbam_style.tfjs.page import page_options

    support = _support()
    path = support.COMMITTED_MODEL / "options.json"
    assert path.is_file(), f"{path} is missing: run {support.REGENERATE}"
    assert json.loads(path.read_text()) == page_options(), (
        f"web_demo/model/options.json differs from tf_cbam_style/options.py: run {support.REGENERATE}")


def test_committed_fidelity_report_measured_the_committed_saved_model():
    support = _support()
    path = support.COMMITTED_MODEL / "conversion.json"
    assert path.is_file(), f"{path} is missing: run {support.REGENERATE}"
    info = json.loads(path.read_text())
    report = json.loads((support.WEB_DEMO / "fidelity.json").read_text())
    assert report.get("saved_model_sha256") == info["saved_model_sha256"], (
        f"web_demo/fidelity.json was measured on another SavedModel: run {support.REGENERATE}")
    assert {entry["quantization"] for entry in report["reports"]} == {"none", "float16", "uint8"}


def test_page_code_keeps_no_copy_of_the_defaults():
    from tf_cbam_style.options import DEFAULT_STROKE_SCALES

    support = _support()
    files = [*sorted((support.WEB_DEMO / "js").glob("*.js")), support.WEB_DEMO / "index.html"]
    for path in files:
        text = path.read_text()
        assert "DEFAULT_OPTIONS" not in text and "MIN_SIZE" not in text, path
        assert str(DEFAULT_STROKE_SCALES[1]) not in text, path


def test_vendored_tfjs_is_the_pinned_packages():
    support = _support()
    vendor = support.WEB_DEMO / "vendor"
    package = json.loads((support.WEB_DEMO / "package.json").read_text())
    versions = json.loads((vendor / "versions.json").read_text())
    assert versions == {name: package["dependencies"][name] for name in versions}
    assert len(versions) == 4
    lock = json.loads((support.WEB_DEMO / "package-lock.json").read_text())
    for name, version in versions.items():
        assert lock["packages"][f"node_modules/{name}"]["version"] == version
    script = (support.WEB_DEMO / "scripts" / "vendor.mjs").read_text()
    pairs = re.findall(r"\['([^']+)', '([^']+)'\]", script)
    assert len(pairs) == 7
    for source, target in pairs:
        assert (vendor / target).stat().st_size > 1000, target
        installed = support.WEB_DEMO / "node_modules" / "@tensorflow" / source
        if installed.is_file():  # after `npm ci`: byte for byte the installed files
            assert installed.read_bytes() == (vendor / target).read_bytes(), target
    assert (vendor / "LICENSE").read_text().lstrip().startswith("Apache License")
