"""Serving: the client against the local test stand-in (gRPC and REST).

The real `tensorflow_model_server` cannot be installed on our machines, so
these tests run the client against `StandInServer`, a small local stand-in
that speaks the same protos on 127.0.0.1. `test_real_tf_serving` repeats the
main calls against a real server when `TF_SERVING_GRPC` / `TF_SERVING_REST`
point at one (e.g. `docker compose -f serving/docker-compose.yml up`).

Most tests use a trivial SavedModel with the same two signatures (fast);
the round trips marked "export" use `export_saved_model` on the tiny
untrained model of `conftest.tiny_model_path`.
"""

import argparse
import importlib.util
import json
import os
import socket
import subprocess
import sys
import threading
import time
import urllib.error
import urllib.request

import numpy as np
import pytest

pytest.importorskip("grpc")
pytest.importorskip("tensorflow_serving.apis.prediction_service_pb2_grpc")

from tf_cbam_style.serving.client import StyleClient  # noqa: E402
from tf_cbam_style.serving.contract import StylizeOptions, build_inputs, no_mask  # noqa: E402
from tf_cbam_style.serving.errors import ServingError  # noqa: E402
from tf_cbam_style.serving.client.retry import RetryPolicy  # noqa: E402
from tf_cbam_style.serving.standin import StandInServer, find_models  # noqa: E402

PROTOCOLS = ("grpc", "rest")


# ---------------------------------------------------------------------------
# Fixtures
# ---------------------------------------------------------------------------


def _trivial_expected(content, style, alpha=1.0, scales=None):
    """What the trivial model computes: `serving_default`, or with `scales`
    `stylize_with_options` (without preserve_color / region)."""
    content = np.asarray(content, np.float32)
    style = np.asarray(style, np.float32)
    if content.ndim == 3:
        content, style = content[None], style[None] if style.ndim == 3 else style
    mean = style.mean(axis=(1, 2), keepdims=True) * (1.0 if scales is None else np.mean(scales))
    return alpha * (0.5 * content + 0.5 * mean) + (1 - alpha) * content


def _save_trivial_model(path):
    """A SavedModel with our two signatures computing a cheap blend."""
    import tensorflow as tf

    image = tf.TensorSpec([None, None, None, 3], tf.float32)

    class Trivial(tf.Module):
        @tf.function(input_signature=[image, image])
        def default(self, content_image, style_image):
            mean = tf.reduce_mean(style_image, axis=[1, 2], keepdims=True)
            return {"stylized_image": 0.5 * content_image + 0.5 * mean}

        @tf.function(
            input_signature=[
                image,
                image,
                tf.TensorSpec([], tf.float32),
                tf.TensorSpec([None], tf.float32),
                tf.TensorSpec([], tf.int32),
                tf.TensorSpec([], tf.bool),
                tf.TensorSpec([], tf.int32),
                tf.TensorSpec([], tf.float32),
                tf.TensorSpec([None, None, None, 1], tf.float32),
            ]
        )
        def options(
            self,
            content_image,
            style_image,
            alpha,
            stroke_scales,
            num_regions,
            preserve_color,
            region,
            color_transfer,
            mask,
        ):
            mean = tf.reduce_mean(style_image, axis=[1, 2], keepdims=True) * tf.reduce_mean(
                stroke_scales
            )
            out = alpha * (0.5 * content_image + 0.5 * mean) + (1 - alpha) * content_image
            out += 0.01 * tf.cast(num_regions, tf.float32) * tf.cast(preserve_color, tf.float32)
            attention = tf.reduce_mean(content_image, axis=-1, keepdims=True)
            attention = tf.cond(
                tf.reduce_max(mask) < 0,
                lambda: attention,
                lambda: tf.image.resize(mask, tf.shape(content_image)[1:3]),
            )
            out = tf.where(tf.equal(region, 1), attention * out + (1 - attention) * content_image, out)
            return {"stylized_image": out, "attention_map": attention}

    module = Trivial()
    tf.saved_model.save(
        module,
        path,
        signatures={"serving_default": module.default, "stylize_with_options": module.options},
    )
    return path


@pytest.fixture(scope="module")
def trivial_base(tmp_path_factory):
    """Base path `<tmp>/trivial` holding version 1 of the trivial model."""
    base = tmp_path_factory.mktemp("serving") / "trivial"
    _save_trivial_model(str(base / "1"))
    return str(base)


@pytest.fixture(scope="module")
def standin(trivial_base):
    with StandInServer({"trivial": trivial_base}, max_workers=8) as server:
        yield server


@pytest.fixture(scope="module")
def exported_base(tiny_model_path, tmp_path_factory):
    """`export_saved_model` of the tiny untrained CBAM model (with warmup requests)."""
    if importlib.util.find_spec("tf_cbam_style.export") is None:
        pytest.skip("tf_cbam_style.export is not there yet")
    from tf_cbam_style.api import load_model
    from tf_cbam_style.export import export_saved_model

    base = tmp_path_factory.mktemp("export") / "cbam_relu4_1"
    export_saved_model(load_model(tiny_model_path), str(base), version=1)
    return str(base)


@pytest.fixture(scope="module")
def exported_standin(exported_base):
    """The stand-in serving the real export (replays its warmup requests)."""
    with StandInServer({"cbam_relu4_1": exported_base}, max_workers=4) as server:
        yield server


def _client(server, protocol, **kwargs):
    kwargs.setdefault("model_name", "trivial")
    kwargs.setdefault("timeout", 30)
    target = server.addresses.grpc if protocol == "grpc" else server.addresses.rest
    return StyleClient(target, protocol=protocol, **kwargs)


def _free_port():
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return sock.getsockname()[1]


@pytest.fixture
def images():
    rng = np.random.default_rng(7)
    return rng.random((40, 48, 3), dtype=np.float32), rng.random((32, 36, 3), dtype=np.float32)


# ---------------------------------------------------------------------------
# Round trips
# ---------------------------------------------------------------------------


@pytest.mark.parametrize("protocol", PROTOCOLS)
def test_round_trip_matches_local_model(standin, images, protocol):
    content, style = images
    with _client(standin, protocol) as client:
        result = client.stylize(content, style)
    assert result.image.shape == content.shape and result.attention_map is None
    np.testing.assert_allclose(result.image, _trivial_expected(content, style)[0], atol=1e-6)
    assert result.signature == "serving_default"
    assert result.model_version == (1 if protocol == "grpc" else None)


@pytest.mark.parametrize("protocol", PROTOCOLS)
def test_batch_and_other_sizes(standin, protocol):
    rng = np.random.default_rng(3)
    content = rng.random((3, 33, 57, 3), dtype=np.float32)
    style = rng.random((1, 64, 40, 3), dtype=np.float32)
    with _client(standin, protocol) as client:
        result = client.stylize(content, style)
        options = StylizeOptions(alpha=0.25, stroke_scales=(0.5, 1.0))
        with_options = client.stylize(content[:2], style, options)
    np.testing.assert_allclose(result.image, _trivial_expected(content, style), atol=1e-6)
    np.testing.assert_allclose(
        with_options.image, _trivial_expected(content[:2], style, 0.25, (0.5, 1.0)), atol=1e-6
    )
    assert with_options.attention_map.shape == (2, 33, 57)
    assert with_options.signature == "stylize_with_options"


@pytest.mark.parametrize("protocol", PROTOCOLS)
def test_exported_model_round_trip(exported_standin, protocol):
    """The real export over the wire equals `tf.saved_model.load` of it."""
    import tensorflow as tf

    rng = np.random.default_rng(11)
    content = rng.random((2, 48, 40, 3), dtype=np.float32)
    style = rng.random((1, 36, 44, 3), dtype=np.float32)
    loaded = tf.saved_model.load(exported_standin.models["cbam_relu4_1"].path)
    options = StylizeOptions(alpha=0.6, mask=np.linspace(0, 1, 48 * 40).reshape(48, 40))
    expected = loaded.signatures["stylize_with_options"](
        **{
            k: tf.constant(v)
            for k, v in build_inputs(content, style, "stylize_with_options", options).items()
        }
    )
    with _client(exported_standin, protocol, model_name="cbam_relu4_1") as client:
        assert client.model_status()[0].state == "AVAILABLE"
        result = client.stylize(content, style, options)
        single = client.stylize(content[0], style[0], signature="serving_default")
    np.testing.assert_allclose(result.image, expected["stylized_image"].numpy(), atol=1e-5)
    np.testing.assert_allclose(
        result.attention_map, expected["attention_map"].numpy()[..., 0], atol=1e-5
    )
    default = loaded.signatures["serving_default"](
        content_image=tf.constant(content[:1]), style_image=tf.constant(style)
    )["stylized_image"].numpy()[0]
    np.testing.assert_allclose(single.image, default, atol=1e-5)


def test_exported_model_rejects_tiny_image_in_graph(exported_standin):
    """The export's own checks come back as INVALID_ARGUMENT with their message."""
    tiny = np.full((1, 16, 16, 3), 0.5, np.float32)
    with _client(exported_standin, "grpc", model_name="cbam_relu4_1") as client:
        with pytest.raises(ServingError, match="at least 32") as info:
            client.predict({"content_image": tiny, "style_image": tiny})
    assert info.value.code == "INVALID_ARGUMENT"


def test_model_status(standin):
    for protocol in PROTOCOLS:
        with _client(standin, protocol) as client:
            assert [tuple(s) for s in client.model_status()] == [(1, "AVAILABLE", "")]


# ---------------------------------------------------------------------------
# Message size
# ---------------------------------------------------------------------------

# 1100 x 1000 x 3 float32 = 13.2 MB (12.6 MiB), over gRPC's 4 MiB default.
BIG_SHAPE = (1100, 1000, 3)


def test_image_over_4mb_via_grpc(standin):
    content = np.random.default_rng(0).random(BIG_SHAPE, dtype=np.float32)
    style = np.full((32, 32, 3), 0.25, np.float32)
    with _client(standin, "grpc") as client:
        result = client.stylize(content, style)
    np.testing.assert_allclose(result.image, 0.5 * content + 0.125, atol=1e-6)


def test_image_over_client_limit_is_refused_before_sending(standin):
    content = np.zeros(BIG_SHAPE, np.float32)
    with _client(standin, "grpc", max_message_bytes=4 * 2**20) as client:
        with pytest.raises(
            ServingError, match=r"12\.\d MiB, over this client's gRPC message limit"
        ) as info:
            client.stylize(content, content[:32, :32])
    assert info.value.code == "RESOURCE_EXHAUSTED"


def test_server_size_limit_gives_clear_error(trivial_base):
    content = np.zeros(BIG_SHAPE, np.float32)
    with StandInServer({"trivial": trivial_base}, max_message_bytes=4 * 2**20) as small:
        for protocol in PROTOCOLS:
            with _client(small, protocol, retries=0) as client:
                with pytest.raises(ServingError) as info:
                    client.stylize(content, content[:32, :32])
            message = str(info.value)
            assert info.value.code == "RESOURCE_EXHAUSTED", message
            assert "\n" not in message
            if protocol == "grpc":
                assert "message-size limit" in message and "12.6 MiB" in message
            else:
                assert info.value.http_status == 413 and "too large" in message


# ---------------------------------------------------------------------------
# Bad requests: proper status codes, and the server keeps serving
# ---------------------------------------------------------------------------

GOOD = {
    "content_image": np.full((1, 8, 8, 3), 0.5, np.float32),
    "style_image": np.full((1, 8, 8, 3), 0.5, np.float32),
}

BAD_REQUESTS = {
    "wrong_dtype": dict(GOOD, content_image=GOOD["content_image"].astype(np.float64)),
    "wrong_rank": dict(GOOD, content_image=GOOD["content_image"][0]),
    "wrong_channels": dict(GOOD, style_image=np.zeros((1, 8, 8, 4), np.float32)),
    "empty_image": dict(GOOD, content_image=np.zeros((1, 0, 8, 3), np.float32)),
    "nan_values": dict(GOOD, content_image=np.full((1, 8, 8, 3), np.nan, np.float32)),
    "missing_input": {"content_image": GOOD["content_image"]},
    "extra_input": dict(GOOD, alpha=np.float32(0.5)),
}


@pytest.mark.parametrize("case", sorted(BAD_REQUESTS))
def test_bad_request_grpc_status(standin, case):
    with _client(standin, "grpc") as client:
        with pytest.raises(ServingError) as info:
            client.predict(BAD_REQUESTS[case])
        assert info.value.code == "INVALID_ARGUMENT", str(info.value)
        assert "\n" not in str(info.value)
        assert client.predict(GOOD)["stylized_image"].shape == (1, 8, 8, 3)  # still serving


def _post(server, path, body):
    data = body if isinstance(body, bytes) else json.dumps(body).encode()
    request = urllib.request.Request(server.addresses.rest + path, data=data, method="POST")
    try:
        with urllib.request.urlopen(request, timeout=30) as reply:
            return reply.status, json.loads(reply.read())
    except urllib.error.HTTPError as error:
        return error.code, json.loads(error.read())


REST_BAD_BODIES = {
    # JSON has no float64: a wrong dtype is a value that is not a number.
    "wrong_dtype": {"inputs": dict(GOOD, content_image=[[[["a", "b", "c"]]]])},
    "bool_for_number": {"inputs": dict(GOOD, content_image=[[[[True, False, True]]]])},
    "wrong_rank": {"inputs": dict(GOOD, content_image=[[0.5, 0.5, 0.5]])},
    "ragged": {"inputs": dict(GOOD, content_image=[[[[0.5, 0.5, 0.5], [0.5]]]])},
    "empty_image": {"inputs": dict(GOOD, content_image=[])},
    "nan_values": {"inputs": dict(GOOD, content_image=np.full((1, 2, 2, 3), np.nan).tolist())},
    "missing_input": {"inputs": {"content_image": GOOD["content_image"].tolist()}},
    "no_inputs_key": {"signature_name": "serving_default"},
    "row_format": {"instances": [{"content_image": 1}]},
    "not_json": b"{not json",
}


@pytest.mark.parametrize("case", sorted(REST_BAD_BODIES))
def test_bad_request_rest_400(standin, case):
    body = REST_BAD_BODIES[case]
    if isinstance(body, dict) and "inputs" in body:
        body = {
            "inputs": {
                k: np.asarray(v).tolist() if isinstance(v, np.ndarray) else v
                for k, v in body["inputs"].items()
            }
        }
    status, answer = _post(standin, "/v1/models/trivial:predict", body)
    assert status == 400, answer
    assert isinstance(answer["error"], str) and answer["error"]
    good = {"inputs": {k: v.tolist() for k, v in GOOD.items()}}
    assert _post(standin, "/v1/models/trivial:predict", good)[0] == 200  # still serving


def test_rest_8_bit_integers_get_400_naming_the_range(standin, exported_standin):
    """0-255 integers in JSON (a forgotten / 255) are refused, by the stand-in's
    own check (the trivial model has none) and by the export's in-graph one."""
    pixels = np.full((1, 40, 40, 3), 200).tolist()  # JSON integers
    for server, name in ((standin, "trivial"), (exported_standin, "cbam_relu4_1")):
        status, answer = _post(server, f"/v1/models/{name}:predict",
                               {"inputs": {"content_image": pixels, "style_image": pixels}})
        assert status == 400, answer
        assert "[0, 1]" in answer["error"] and "divide 8-bit values by 255" in answer["error"]


def test_grpc_float_0_255_is_invalid_argument(standin):
    with _client(standin, "grpc") as client:
        with pytest.raises(ServingError, match=r"content_image.*\[0, 1\].*values in \[200, 200\]") as info:
            client.predict(dict(GOOD, content_image=np.full((1, 8, 8, 3), 200.0, np.float32)))
    assert info.value.code == "INVALID_ARGUMENT"


def test_client_refuses_0_255_floats_before_sending(standin):
    with _client(standin, "grpc") as client:
        with pytest.raises(ValueError, match=r"`content` floats must be in \[0, 1\].*\[0, 255\]"):
            client.stylize(np.linspace(0, 255, 8 * 8 * 3, dtype=np.float32).reshape(8, 8, 3),
                           np.zeros((8, 8, 3), np.float32))
        as_8_bit = client.stylize(np.full((8, 8, 3), 51, np.uint8), np.zeros((8, 8, 3), np.uint8))
    np.testing.assert_allclose(as_8_bit.image, 0.5 * 51 / 255, atol=1e-6)  # uint8 / 255


@pytest.mark.parametrize("protocol", PROTOCOLS)
def test_unknown_model_version_and_signature(standin, protocol):
    with _client(standin, protocol, model_name="nope") as client:
        with pytest.raises(ServingError, match="model 'nope' is not served") as info:
            client.predict(GOOD)
    assert info.value.code == "NOT_FOUND"
    assert info.value.http_status == (404 if protocol == "rest" else None)
    with _client(standin, protocol, model_version=7) as client:
        with pytest.raises(ServingError, match="version 7 is not served") as info:
            client.predict(GOOD)
        assert info.value.code == "NOT_FOUND"
        with pytest.raises(ServingError, match="NOT_FOUND|404"):
            client.model_status()
    with _client(standin, protocol) as client:
        with pytest.raises(ServingError, match="rejected the signature") as info:
            client.predict(GOOD, signature="nope")
    # As tensorflow_model_server: FAILED_PRECONDITION over gRPC, HTTP 400 over REST.
    assert info.value.code == ("FAILED_PRECONDITION" if protocol == "grpc" else "INVALID_ARGUMENT")


def test_rest_unknown_routes(standin):
    assert _post(standin, "/v1/models/trivial:classify", {})[0] == 501
    assert _post(standin, "/v2/whatever", {})[0] == 404
    with urllib.request.urlopen(standin.addresses.rest + "/v1/models/trivial", timeout=10) as reply:
        status = json.loads(reply.read())["model_version_status"]
    assert status == [
        {"version": "1", "state": "AVAILABLE", "status": {"error_code": "OK", "error_message": ""}}
    ]


def test_raw_grpc_status_codes(standin):
    """The stand-in's own status codes, seen by a bare PredictionService stub."""
    import grpc
    import tensorflow as tf
    from tensorflow_serving.apis import predict_pb2, prediction_service_pb2_grpc

    with grpc.insecure_channel(standin.addresses.grpc) as channel:
        stub = prediction_service_pb2_grpc.PredictionServiceStub(channel)
        request = predict_pb2.PredictRequest()
        request.model_spec.name = "trivial"
        request.inputs["content_image"].CopyFrom(tf.make_tensor_proto(GOOD["content_image"]))
        request.inputs["style_image"].CopyFrom(tf.make_tensor_proto(np.int32([[[[1, 2, 3]]]])))
        with pytest.raises(grpc.RpcError) as info:
            stub.Predict(request, timeout=10)
        assert info.value.code() == grpc.StatusCode.INVALID_ARGUMENT
        request.inputs["style_image"].CopyFrom(tf.make_tensor_proto(GOOD["style_image"]))
        request.inputs["style_image"].tensor_content = (
            b"\0" * 7
        )  # content that does not fit the shape
        with pytest.raises(grpc.RpcError) as info:
            stub.Predict(request, timeout=10)
        assert info.value.code() == grpc.StatusCode.INVALID_ARGUMENT
        huge = request.inputs["style_image"]
        huge.Clear()
        huge.dtype = tf.float32.as_datatype_enum
        for size in (100_000, 100_000, 3):  # one repeated value "filling" 30e9 elements
            huge.tensor_shape.dim.add(size=size)
        huge.float_val.append(0.5)
        with pytest.raises(grpc.RpcError) as info:
            stub.Predict(request, timeout=10)
        assert info.value.code() == grpc.StatusCode.INVALID_ARGUMENT
        request.model_spec.name = "nope"
        with pytest.raises(grpc.RpcError) as info:
            stub.Predict(request, timeout=10)
        assert info.value.code() == grpc.StatusCode.NOT_FOUND


# ---------------------------------------------------------------------------
# Server down, retries
# ---------------------------------------------------------------------------


@pytest.mark.parametrize("protocol", PROTOCOLS)
def test_server_down_is_a_quick_one_line_error(protocol):
    port = _free_port()
    target = f"127.0.0.1:{port}" if protocol == "grpc" else f"http://127.0.0.1:{port}"
    start = time.monotonic()
    with StyleClient(target, retries=2, backoff=0.05, timeout=2) as client:
        with pytest.raises(ServingError, match="cannot reach .* after 3 attempts") as info:
            client.stylize(np.zeros((32, 32, 3), np.float32), np.zeros((32, 32, 3), np.float32))
    assert time.monotonic() - start < 10
    assert info.value.code == "UNAVAILABLE"
    assert "\n" not in str(info.value) and isinstance(info.value, OSError)


def test_retry_policy_is_bounded_and_selective():
    waits = []
    policy = RetryPolicy(retries=3, backoff=0.1, max_backoff=0.25, jitter=0.0)
    calls = []

    def unavailable():
        calls.append(1)
        raise ConnectionError("down")

    with pytest.raises(ConnectionError) as info:
        policy.call(unavailable, lambda e: isinstance(e, ConnectionError), sleep=waits.append)
    assert len(calls) == 4 and info.value.attempts == 4
    assert waits == [0.1, 0.2, 0.25]
    calls.clear()
    with pytest.raises(ValueError):
        policy.call(lambda: calls.append(1) or int("x"), lambda e: False, sleep=waits.append)
    assert len(calls) == 1
    with pytest.raises(ValueError, match=r"Received: retries=-1"):
        RetryPolicy(retries=-1)


def test_retries_reach_a_server_that_comes_up(trivial_base, images):
    """UNAVAILABLE is retried: a server started during the backoff is reached."""
    port = _free_port()
    server = StandInServer({"trivial": trivial_base}, grpc_port=port, rest_port=None)
    timer = threading.Timer(0.5, server.start)
    timer.start()
    try:
        with StyleClient(
            f"127.0.0.1:{port}", model_name="trivial", retries=6, backoff=0.2
        ) as client:
            result = client.stylize(*images)
        assert result.image.shape == images[0].shape
    finally:
        timer.join()
        server.stop()


# ---------------------------------------------------------------------------
# Concurrency and the load check
# ---------------------------------------------------------------------------


@pytest.mark.parametrize("protocol", PROTOCOLS)
def test_concurrent_requests_get_their_own_answers(standin, protocol):
    rng = np.random.default_rng(5)
    contents = rng.random((8, 24, 24, 3), dtype=np.float32)
    style = rng.random((24, 24, 3), dtype=np.float32)
    results = [None] * len(contents)

    def work(index):
        with _client(standin, protocol) as client:
            for _ in range(3):
                results[index] = client.stylize(contents[index], style).image

    threads = [threading.Thread(target=work, args=(i,)) for i in range(len(contents))]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    for content, result in zip(contents, results):
        np.testing.assert_allclose(result, _trivial_expected(content, style)[0], atol=1e-6)


def test_load_check_counts_every_response(standin):
    from tf_cbam_style.serving.client.load import format_report, run_load_check

    report = run_load_check(
        lambda: _client(standin, "grpc"), clients=3, duration=2.0, size=32, max_requests=15
    )
    assert report.requests > 0 and report.succeeded == report.requests
    assert report.failed == report.mismatched == report.lost == 0
    assert report.p50_ms <= report.p99_ms
    assert "0 lost" in format_report(report)


# ---------------------------------------------------------------------------
# Client-side checks
# ---------------------------------------------------------------------------


def test_client_argument_errors(standin):
    with pytest.raises(ValueError, match=r"Received: protocol='ftp'"):
        StyleClient("x:1", protocol="ftp")
    with pytest.raises(ValueError, match=r"HOST:PORT.*Received: target='nohost'"):
        StyleClient("nohost", protocol="grpc")
    with pytest.raises(ValueError, match=r"Received: url='localhost:8501'"):
        StyleClient("localhost:8501", protocol="rest")
    with pytest.raises(ValueError, match=r"Received: signature='x'"):
        StyleClient("localhost:1", signature="x")
    with _client(standin, "grpc") as client:
        with pytest.raises(ValueError, match=r"Received: content.shape=\(4, 4\)"):
            client.stylize(np.zeros((4, 4)), np.zeros((8, 8, 3)))
        with pytest.raises(ValueError, match=r"Received: content with non-finite"):
            client.stylize(np.full((8, 8, 3), np.nan), np.zeros((8, 8, 3)))
        with pytest.raises(ValueError, match=r"Received: style.shape=\(2, 8, 8, 3\)"):
            client.stylize(np.zeros((3, 8, 8, 3)), np.zeros((2, 8, 8, 3)))
        with pytest.raises(ValueError, match=r"need signature='stylize_with_options'"):
            client.stylize(
                np.zeros((8, 8, 3)),
                np.zeros((8, 8, 3)),
                StylizeOptions(alpha=0.5),
                signature="serving_default",
            )


def test_stylize_options_checks():
    with pytest.raises(ValueError, match=r"Received: alpha=1.5"):
        StylizeOptions(alpha=1.5)
    with pytest.raises(ValueError, match=r"Received: stroke_scales=\(0.0, 1.0\)"):
        StylizeOptions(stroke_scales=(0.0, 1.0))
    with pytest.raises(ValueError, match=r"Received: num_regions=0"):
        StylizeOptions(num_regions=0)
    with pytest.raises(ValueError, match=r"Received: mask.shape=\(2, 3, 4\)"):
        StylizeOptions(mask=np.zeros((2, 3, 4)))
    inputs = StylizeOptions().as_inputs()
    assert inputs["mask"].max() < 0 and np.array_equal(inputs["mask"], no_mask())
    assert inputs["num_regions"].dtype == np.int32 and inputs["preserve_color"].dtype == np.bool_


def test_import_is_light():
    code = (
        "import sys, tf_cbam_style.serving, tf_cbam_style.cli.serving,"
        " tf_cbam_style.serving.client;"
        "heavy = [m for m in ('tensorflow', 'grpc', 'tensorflow_serving') if m in sys.modules];"
        "assert not heavy, heavy"
    )
    subprocess.run([sys.executable, "-c", code], check=True, timeout=60)


# ---------------------------------------------------------------------------
# Command line
# ---------------------------------------------------------------------------


def _run_cli(argv):
    from tf_cbam_style.cli.serving import register as register_cli

    parser = argparse.ArgumentParser(prog="tf-cbam-style")
    register_cli(parser.add_subparsers(dest="command", required=True))
    args = parser.parse_args(argv)
    return args.func(args)


def test_cli_client_single_and_folder(standin, write_image, tmp_path, capsys):
    content = write_image("c/a.png", 40, 48, seed=1)
    write_image("c/b.png", 40, 48, seed=2)
    write_image("c/c.png", 36, 36, seed=3)
    style = write_image("s.png", 32, 32, seed=4)
    out = tmp_path / "out.png"
    assert (
        _run_cli(
            [
                "client",
                content,
                style,
                "-o",
                str(out),
                "--grpc",
                standin.addresses.grpc,
                "--model-name",
                "trivial",
            ]
        )
        == 0
    )
    assert out.is_file() and "Wrote" in capsys.readouterr().out
    folder = tmp_path / "outs"
    folder.mkdir()
    attention = tmp_path / "att"
    attention.mkdir()
    assert (
        _run_cli(
            [
                "client",
                str(tmp_path / "c"),
                style,
                "-o",
                str(folder),
                "--rest",
                standin.addresses.rest,
                "--model-name",
                "trivial",
                "--alpha",
                "0.5",
                "--save-attention",
                str(attention),
                "--batch-size",
                "4",
            ]
        )
        == 0
    )
    assert sorted(os.listdir(folder)) == ["a__s.png", "b__s.png", "c__s.png"]
    assert len(os.listdir(attention)) == 3
    printed = capsys.readouterr().out
    assert "Wrote 3 images" in printed and "in 2 requests" in printed  # a.png, b.png share one


def test_cli_client_lists_bad_files_and_skips_them(standin, write_image, tmp_path, capsys):
    write_image("c/a.png", 40, 48, seed=1)
    (tmp_path / "c" / "b.png").write_bytes(b"\x89PNG broken")
    (tmp_path / "c" / "notes.txt").write_text("x")
    style = write_image("s.png", 32, 32, seed=4)
    out = tmp_path / "out"
    out.mkdir()
    argv = ["client", str(tmp_path / "c"), style, "-o", str(out), "--grpc", standin.addresses.grpc,
            "--model-name", "trivial"]
    with pytest.raises(ValueError, match=r"^1 of 3 input images cannot be used \(pass --skip-bad.*b\.png"):
        _run_cli(argv)
    assert os.listdir(out) == []
    assert _run_cli(argv + ["--skip-bad"]) == 0
    assert sorted(os.listdir(out)) == ["a__s.png"]
    captured = capsys.readouterr()
    assert "warning: skipped 1 of 3 input images" in captured.err and "b.png" in captured.err
    assert "Ignored 1 file(s)" in captured.out and "notes.txt" in captured.out


def test_cli_client_checks_output_format_first(standin, write_image, tmp_path):
    content = write_image("a.png", 96, 128)
    with pytest.raises(ValueError, match="ICO cannot hold a 128x96 image"):
        _run_cli(["client", content, content, "-o", str(tmp_path / "o.ico"),
                  "--grpc", "127.0.0.1:1", "--model-name", "trivial"])


def test_cli_client_errors(standin, write_image, tmp_path):
    content = write_image("a.png", 40, 40)
    out = str(tmp_path / "o.png")
    port = _free_port()
    with pytest.raises(ServingError, match="cannot reach"):
        _run_cli(
            [
                "client",
                content,
                content,
                "-o",
                out,
                "--grpc",
                f"127.0.0.1:{port}",
                "--retries",
                "0",
                "--timeout",
                "2",
            ]
        )
    with pytest.raises(ServingError, match="model 'nope' is not served"):
        _run_cli(
            [
                "client",
                content,
                content,
                "-o",
                out,
                "--grpc",
                standin.addresses.grpc,
                "--model-name",
                "nope",
            ]
        )
    with pytest.raises(ValueError, match="need `--signature stylize_with_options`"):
        _run_cli(
            [
                "client",
                content,
                content,
                "-o",
                out,
                "--grpc",
                standin.addresses.grpc,
                "--signature",
                "serving_default",
                "--alpha",
                "0.5",
            ]
        )
    with pytest.raises(ValueError, match=r"Received: alpha=2.0"):
        _run_cli(
            [
                "client",
                content,
                content,
                "-o",
                out,
                "--grpc",
                standin.addresses.grpc,
                "--alpha",
                "2",
            ]
        )
    with pytest.raises(SystemExit):  # --grpc or --rest is required
        _run_cli(["client", content, content, "-o", out])
    assert not os.path.exists(out)


def test_cli_load_test_against_standin(trivial_base, capsys):
    code = _run_cli(
        [
            "load-test",
            "--model",
            f"trivial={trivial_base}",
            "--clients",
            "2",
            "--duration",
            "1",
            "--size",
            "32",
            "--max-requests",
            "5",
        ]
    )
    printed = capsys.readouterr().out
    assert code == 0, printed
    assert "0 failed, 0 mismatched, 0 lost" in printed and "p99" in printed


def test_cli_serve_standin_argument_errors(tmp_path):
    with pytest.raises(ValueError, match=r"NAME=PATH. Received: model='x'"):
        _run_cli(["serve-standin", "--model", "x"])
    with pytest.raises(FileNotFoundError, match="Received: models_dir="):
        _run_cli(["serve-standin", "--models-dir", str(tmp_path / "missing")])
    with pytest.raises(ValueError, match="holds no exported model"):
        _run_cli(["serve-standin", "--models-dir", str(tmp_path)])


def test_find_models(trivial_base, tmp_path):
    assert find_models(os.path.dirname(trivial_base)) == {"trivial": trivial_base}


# ---------------------------------------------------------------------------
# A real TensorFlow Serving, when one is running
# ---------------------------------------------------------------------------


@pytest.mark.parametrize("protocol", PROTOCOLS)
def test_real_tf_serving(protocol):
    """The same calls against a real tensorflow_model_server.

    Set `TF_SERVING_GRPC=localhost:8500` and/or
    `TF_SERVING_REST=http://localhost:8501` (and `TF_SERVING_MODEL`, default
    `cbam_relu4_1`) after `docker compose -f serving/docker-compose.yml up`.
    """
    target = os.environ.get("TF_SERVING_GRPC" if protocol == "grpc" else "TF_SERVING_REST")
    if not target:
        pytest.skip(f"set TF_SERVING_{protocol.upper()} to test against a real TensorFlow Serving")
    name = os.environ.get("TF_SERVING_MODEL", "cbam_relu4_1")
    rng = np.random.default_rng(0)
    content = rng.random((2, 48, 64, 3), dtype=np.float32)
    style = rng.random((40, 40, 3), dtype=np.float32)
    with StyleClient(target, protocol=protocol, model_name=name, timeout=120) as client:
        assert any(s.state == "AVAILABLE" for s in client.model_status())
        plain = client.stylize(content, style)
        assert plain.image.shape == content.shape
        assert np.isfinite(plain.image).all() and 0 <= plain.image.min() <= plain.image.max() <= 1
        with_options = client.stylize(content, style, StylizeOptions())
        np.testing.assert_allclose(with_options.image, plain.image, atol=1e-4)
        assert with_options.attention_map.shape == content.shape[:3]
        with pytest.raises(ServingError) as info:
            client.predict(BAD_REQUESTS["nan_values"])
        assert info.value.code == "INVALID_ARGUMENT"
        with pytest.raises(ServingError) as info:
            client.predict(dict(GOOD, content_image=GOOD["content_image"][0]))
        assert info.value.code == "INVALID_ARGUMENT"
    with StyleClient(target, protocol=protocol, model_name="no_such_model", timeout=30) as client:
        with pytest.raises(ServingError, match="not served") as info:
            client.stylize(content, style)
        assert info.value.code == "NOT_FOUND"
