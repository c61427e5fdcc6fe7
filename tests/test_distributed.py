"""Multi-worker training: real worker processes on 127.0.0.1, no mocks.

The worker processes run `python -m tf_cbam_style train` with a `TF_CONFIG`
naming two ports picked free at run time. One cluster run (two workers,
batch 2 each) is shared by the parity and the fault tests.
"""

import csv
import json
import os
import pathlib
import signal
import socket
import subprocess
import sys
import time

import numpy as np
import pytest

from tf_cbam_style.local_cluster import free_ports, local_tf_config

pytestmark = pytest.mark.multiworker

REPO = pathlib.Path(__file__).resolve().parent.parent
STEPS = 10  # 5 epochs of 2 steps: the fault test kills a worker after the first checkpoint
TRAIN_ARGS = ["--depth", "relu3_1", "--crop-size", "32", "--steps", str(STEPS), "--checkpoint-every", "2"]
RUN_TIMEOUT = 420  # seconds for a whole cluster run on 2 shared cores
DIGEST = "weights sha256 "


def start_worker(ports, index, data, out, log_path, extra=()):
    env = dict(os.environ, TF_CONFIG=local_tf_config(ports, index),
               PYTHONPATH=os.pathsep.join([str(REPO)] + [p for p in [os.environ.get("PYTHONPATH")] if p]))
    env.pop("TF_CBAM_STYLE_WORKER_RESTARTS", None)
    log = open(log_path, "a")
    command = [sys.executable, "-m", "tf_cbam_style", "train", "--data", str(data), "--out", str(out),
               "--batch-size", "2", *TRAIN_ARGS, *extra]
    return subprocess.Popen(command, stdout=log, stderr=subprocess.STDOUT, env=env, cwd=str(REPO))


def wait_all(processes, timeout=RUN_TIMEOUT):
    deadline = time.monotonic() + timeout
    codes = []
    for process in processes:
        try:
            codes.append(process.wait(timeout=max(1, deadline - time.monotonic())))
        except subprocess.TimeoutExpired:
            for p in processes:
                p.kill()
            raise
    return codes


def digest_of(log_text):
    lines = [line for line in log_text.splitlines() if DIGEST in line]
    assert len(lines) == 1, log_text[-3000:]
    return lines[0].split(DIGEST)[1].strip()


def epochs_of(out):
    with open(out / "history.csv") as f:
        return [int(row["epoch"]) for row in csv.DictReader(f)]


@pytest.fixture(scope="module")
def photos(tmp_path_factory):
    from PIL import Image

    folder = tmp_path_factory.mktemp("photos")
    for i in range(8):
        rng = np.random.default_rng(i)
        h, w = 40 + 4 * i, 48
        y, x = np.mgrid[0:h, 0:w] / 48
        image = 0.5 + 0.4 * np.sin(6 * (x + y)[..., None] + rng.uniform(0, 2 * np.pi, 3))
        image += rng.normal(0, 0.05, image.shape)
        Image.fromarray(np.round(np.clip(image, 0, 1) * 255).astype(np.uint8)).save(folder / f"{i}.png")
    return folder


@pytest.fixture(scope="module")
def cluster_run(photos, tmp_path_factory, vgg_weights):
    """Two workers, batch 2 each, run to the end without interruption."""
    root = tmp_path_factory.mktemp("cluster")
    out, ports = root / "run", free_ports(2)
    logs = [root / f"worker{i}.log" for i in range(2)]
    workers = [start_worker(ports, i, photos, out, logs[i]) for i in range(2)]
    codes = wait_all(workers)
    texts = [log.read_text() for log in logs]
    assert codes == [0, 0], texts[0][-3000:] + texts[1][-3000:]
    return {"out": out, "logs": texts, "digests": [digest_of(t) for t in texts]}


def _scalars(log_dir):
    """TensorBoard scalars of `log_dir/train`: tag -> [(step, value), ...]."""
    import tensorflow as tf

    scalars = {}
    for path in sorted((log_dir / "train").glob("events.out.tfevents.*")):
        for event in tf.compat.v1.train.summary_iterator(str(path)):
            for value in event.summary.value:
                number = float(tf.make_ndarray(value.tensor)) if value.HasField("tensor") else value.simple_value
                scalars.setdefault(value.tag, []).append((event.step, number))
    return scalars


def test_two_workers_end_bit_identical_and_match_one_process_of_twice_the_batch(cluster_run, photos, tmp_path,
                                                                               vgg_weights):
    import keras

    from tf_cbam_style.models import AttentionAutoencoder
    from tf_cbam_style.training import train

    # 1. Both workers applied the same all-reduced gradients: bit-identical weights.
    assert cluster_run["digests"][0] == cluster_run["digests"][1]
    out = cluster_run["out"]
    facts = json.loads((out / "training.json").read_text())
    assert facts["weights_sha256"] == cluster_run["digests"][0]
    assert (facts["steps"], facts["batch_size"], facts["workers"], facts["strategy"]) == (STEPS, 4, 2, "multi-worker")
    # The chief's checkpoints alone are in the shared folder; the other worker wrote to a temporary one.
    assert {p.name.split(".")[0] for p in (out / "checkpoints").iterdir()} == {"checkpoint", "ckpt-8", "ckpt-10"}

    # 2. One process, batch 4, model.fit, over the same images in the same order.
    reference = tmp_path / "reference"
    train(str(photos), str(reference), depth="relu3_1", crop_size=32, batch_size=4, steps=STEPS,
          checkpoint_every=2, strategy="single-host", verbose=0)
    ref_facts = json.loads((reference / "training.json").read_text())
    assert set(ref_facts) == set(facts)
    assert (ref_facts["steps"], ref_facts["batch_size"], ref_facts["strategy"]) == (STEPS, 4, "single-host")

    keras.utils.set_random_seed(0)  # the initial weights both runs started from
    initial = AttentionAutoencoder(depth="relu3_1", encoder_weights=vgg_weights)
    initial.build()
    models = [keras.saving.load_model(str(d / "model.keras"), compile=False) for d in (out, reference)]

    def update(model, part):
        return np.concatenate([(np.asarray(a) - np.asarray(b)).ravel() for a, b in
                               zip(getattr(model, part).weights, getattr(initial, part).weights)])

    # In exact arithmetic the two runs are equal: the loss is a mean over the
    # batch with no batch-coupled term, and the all-reduce sums the two
    # workers' mean-over-2 gradients scaled by 1/2. In float32 they differ by
    # rounding: the gradients at step 1 agree to ~1e-7 relative, except for
    # the channel attention's hidden MLP units, whose average-pooled input
    # is the mean of instance-normalised features, zero up to rounding, so
    # that their ReLU sits at 0 and its derivative flips with the last bit
    # (hidden-bias gradient 9 % apart at step 1). Adam then moves every
    # weight by about lr per step, whatever the size of its gradient.
    # Measured (10 steps), as relative L2 distance of the weight updates:
    # decoder 0.26 %, attention 6.9 %, all 0.89 %; epoch losses <= 1.4e-4
    # apart. A run on other images (one photo left out) is 56 %, 89 %, 57 %
    # and 6-15 % apart. The bounds sit between, with a margin of 3-7x.
    bounds = {"decoder": 0.01, "attention": 0.25, "all": 0.05}
    for part, bound in bounds.items():
        parts = ("attention", "decoder") if part == "all" else (part,)
        mw = np.concatenate([update(models[0], p) for p in parts])
        one = np.concatenate([update(models[1], p) for p in parts])
        assert np.linalg.norm(mw - one) / np.linalg.norm(one) < bound, part

    # 3. The same logs: CSV columns and losses, TensorBoard tags and values.
    with open(out / "history.csv") as f, open(reference / "history.csv") as g:
        rows, ref_rows = list(csv.DictReader(f)), list(csv.DictReader(g))
    assert [list(r) for r in rows] == [list(r) for r in ref_rows] and len(rows) == STEPS // 2
    for row, ref_row in zip(rows, ref_rows):
        np.testing.assert_allclose(float(row["loss"]), float(ref_row["loss"]), rtol=1e-3)
    scalars, ref_scalars = _scalars(out / "logs"), _scalars(reference / "logs")
    assert set(scalars) == set(ref_scalars) and {"epoch_loss", "batch_loss", "epoch_learning_rate"} <= set(scalars)
    for tag in scalars:
        (steps, values), (ref_steps, ref_values) = zip(*scalars[tag]), zip(*ref_scalars[tag])
        assert steps == ref_steps, tag
        np.testing.assert_allclose(values, ref_values, rtol=1e-3, err_msg=tag)


def test_killed_worker_restarts_and_the_run_ends_as_if_never_interrupted(cluster_run, photos, tmp_path):
    out, ports = tmp_path / "run", free_ports(2)
    logs = [tmp_path / f"worker{i}.log" for i in range(2)]
    workers = [start_worker(ports, i, photos, out, logs[i]) for i in range(2)]
    first_checkpoint = out / "checkpoints" / "ckpt-2.index"
    deadline = time.monotonic() + RUN_TIMEOUT
    while not first_checkpoint.exists():
        assert time.monotonic() < deadline and workers[1].poll() is None, logs[1].read_text()[-3000:]
        time.sleep(0.1)
    workers[1].send_signal(signal.SIGKILL)  # mid-run: after step 2, before step 10
    workers[1].wait()
    with open(logs[1], "a") as f:
        f.write("\n--- killed, restarted with the same TF_CONFIG ---\n")
    workers[1] = start_worker(ports, 1, photos, out, logs[1])
    codes = wait_all(workers)
    texts = [log.read_text() for log in logs]
    assert codes == [0, 0], texts[0][-3000:] + texts[1][-3000:]

    # The survivor lost its peer and restarted itself; both resumed from a checkpoint.
    assert "restarting this worker to rejoin the cluster (1/5)" in texts[0]
    resumed = [[line.split("resumed at step ")[1].split()[0] for line in t.splitlines() if "resumed at step" in line]
               for t in texts]
    assert len(resumed[0]) == len(resumed[1]) == 1 and resumed[0] == resumed[1]
    # No step lost or counted twice: the same step count, every epoch logged
    # once, and the weights of the uninterrupted run, bit for bit.
    facts = json.loads((out / "training.json").read_text())
    assert facts["steps"] == STEPS
    assert epochs_of(out) == list(range(STEPS // 2))
    assert digest_of(texts[0].split("restarting this worker")[-1]) == cluster_run["digests"][0]
    assert digest_of(texts[1].split("--- killed")[-1]) == cluster_run["digests"][0]
    assert facts["weights_sha256"] == cluster_run["digests"][0]


def test_unreachable_peer_fails_in_one_line_after_the_timeout(photos, tmp_path):
    out, ports = tmp_path / "run", free_ports(2)  # nobody listens on ports[1]
    log = tmp_path / "worker0.log"
    started = time.monotonic()
    worker = start_worker(ports, 0, photos, out, log, extra=["--peer-timeout", "5"])
    code = wait_all([worker], timeout=180)[0]
    elapsed = time.monotonic() - started
    errors = [line for line in log.read_text().splitlines() if line.startswith("error:")]
    assert code == 2, log.read_text()[-3000:]
    assert errors == [f"error: worker 1 at 127.0.0.1:{ports[1]} did not answer within 5 s (peer_timeout): "
                      "start every task of TF_CONFIG's cluster, with the same TF_CONFIG cluster"]
    assert 5 <= elapsed < 5 + 120  # the timeout, plus starting Python and TensorFlow
    assert not out.exists()  # nothing written


def test_two_workers_train_on_a_tfds_dataset_sharded_by_record_file(tmp_path, vgg_weights):
    pytest.importorskip("tensorflow_datasets")
    from test_tfds_data import IMAGES, NAME, build_tiny_tfds

    data_dir = build_tiny_tfds(tmp_path / "tfds")  # two record files: one per worker
    out, ports = tmp_path / "run", free_ports(2)
    logs = [tmp_path / f"worker{i}.log" for i in range(2)]
    extra = ["--tfds-data-dir", data_dir, "--steps", "2", "--checkpoint-every", "1"]
    workers = [start_worker(ports, i, f"tfds:{NAME}", out, logs[i], extra=extra) for i in range(2)]
    codes = wait_all(workers)
    texts = [log.read_text() for log in logs]
    assert codes == [0, 0], texts[0][-3000:] + texts[1][-3000:]
    assert digest_of(texts[0]) == digest_of(texts[1])
    facts = json.loads((out / "training.json").read_text())
    assert (facts["data"], facts["images"], facts["steps"], facts["workers"]) == (f"tfds:{NAME}", IMAGES, 2, 2)


# ---------------------------------------------------------------------------
# In-process pieces: the cluster description, the start-up wait, the shards
# ---------------------------------------------------------------------------


def test_cluster_config_reads_tf_config_and_names_the_chief():
    from tf_cbam_style.distributed import ClusterConfig

    two = {"cluster": {"worker": ["a:1", "b:2"]}, "task": {"type": "worker", "index": 1}}
    config = ClusterConfig.from_env({"TF_CONFIG": json.dumps(two)})
    assert (config.name, config.address, config.is_chief, config.num_workers) == ("worker 1", "b:2", False, 2)
    assert config.peers() == [("worker 0", "a:1")]
    chief = ClusterConfig({"cluster": {"chief": ["c:0"], "worker": ["a:1"]}, "task": {"type": "chief", "index": 0}})
    assert chief.is_chief and chief.num_workers == 2
    assert ClusterConfig.from_env({}) is None
    for bad in ({"cluster": {"ps": ["a:1"]}, "task": {"type": "ps", "index": 0}},
                {"cluster": {"worker": ["a:1"]}, "task": {"type": "worker", "index": 3}},
                {"cluster": {"worker": ["a:1"]}}):
        with pytest.raises(ValueError, match="Received: TF_CONFIG="):
            ClusterConfig(bad)
    with pytest.raises(ValueError, match="must be JSON"):
        ClusterConfig.from_env({"TF_CONFIG": "{not json"})


def test_wait_for_peers_returns_when_all_answer_and_times_out_otherwise():
    import threading

    from tf_cbam_style.distributed import ClusterConfig, wait_for_peers

    ports = free_ports(3)
    configs = [ClusterConfig(json.loads(local_tf_config(ports[:2], i))) for i in range(2)]
    errors = []

    def run(config):
        try:
            wait_for_peers(config, timeout=20)
        except Exception as error:  # noqa: BLE001 - reported below
            errors.append(error)

    threads = [threading.Thread(target=run, args=(c,)) for c in configs]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    assert errors == []
    lonely = ClusterConfig(json.loads(local_tf_config([ports[0], ports[2]], 0)))
    started = time.monotonic()
    with pytest.raises(TimeoutError, match=f"worker 1 at 127.0.0.1:{ports[2]} did not answer within 1 s"):
        wait_for_peers(lonely, timeout=1)
    assert 1 <= time.monotonic() - started < 5
    # A port that accepts but never acknowledges (e.g. a restarting worker's old server) is not a peer.
    with socket.create_server(("127.0.0.1", ports[2])):
        with pytest.raises(TimeoutError, match=f"worker 1 at 127.0.0.1:{ports[2]} did not answer within 1 s"):
            wait_for_peers(lonely, timeout=1)
    # A peer whose listener acknowledged but that never calls back does not list this task.
    stranger = ClusterConfig(json.loads(local_tf_config([ports[2], ports[0]], 0)))  # thinks ports[0] is ITS peer
    thread = threading.Thread(target=lambda: errors.append(_swallow(wait_for_peers, stranger, 3)))
    thread.start()
    with pytest.raises(TimeoutError, match=f"worker 1 at 127.0.0.1:{ports[2]} did not call back within 2 s"):
        wait_for_peers(ClusterConfig(json.loads(local_tf_config([ports[0], ports[2]], 0))), timeout=2)
    thread.join()


def _swallow(function, *args):
    try:
        function(*args)
    except (TimeoutError, OSError) as error:
        return error


def test_a_restarted_worker_meets_its_peer_even_while_the_peer_old_server_holds_the_port():
    """The race of a killed and restarted worker: the restarted one starts
    while its peer's old TensorFlow server still holds the peer's port; the
    peer then restarts too. Both must finish the handshake."""
    import threading

    from tf_cbam_style.distributed import ClusterConfig, wait_for_peers

    ports = free_ports(2)
    configs = [ClusterConfig(json.loads(local_tf_config(ports, i))) for i in range(2)]
    results = {}
    old_server = socket.create_server(("127.0.0.1", ports[0]))  # worker 0's old server: accepts, never answers
    drained = []
    stop = threading.Event()

    def old(server):
        server.settimeout(0.2)
        while not stop.is_set():
            try:
                connection, _ = server.accept()
                drained.append(connection.recv(256))
                connection.close()
            except OSError:
                continue

    keeper = threading.Thread(target=old, args=(old_server,))
    keeper.start()
    restarted = threading.Thread(target=lambda: results.__setitem__(1, _swallow(wait_for_peers, configs[1], 30)))
    restarted.start()
    time.sleep(3)  # worker 1 sends its name to the old server, more than once
    stop.set()
    keeper.join()
    old_server.close()
    survivor = threading.Thread(target=lambda: results.__setitem__(0, _swallow(wait_for_peers, configs[0], 30)))
    survivor.start()
    restarted.join()
    survivor.join()
    assert drained, "worker 1 never reached the old server"
    assert results == {0: None, 1: None}


def test_shards_of_batch_b_together_are_the_stream_of_batch_n_times_b(write_image, tmp_path):
    from tf_cbam_style.data import make_dataset

    files = [write_image(f"d/{i}.png", height=36 + 2 * i, width=40, seed=i) for i in range(5)]
    whole = make_dataset(files, crop_size=32, batch_size=4, seed=2)
    shards = [make_dataset(files, crop_size=32, batch_size=2, seed=2, num_shards=2, shard_index=i)
              for i in range(2)]
    batches = [b.numpy() for b in whole.take(4)]
    for step, (a, b) in enumerate(zip(*(s.take(4) for s in shards))):
        np.testing.assert_array_equal(np.concatenate([a.numpy(), b.numpy()]), batches[step])
    # A resumed stream starts where the step left it, without decoding the rest.
    resumed = make_dataset(files, crop_size=32, batch_size=4, seed=2, start=2 * 4)
    np.testing.assert_array_equal(next(iter(resumed)).numpy(), batches[2])
    with pytest.raises(ValueError, match="shard_index"):
        make_dataset(files, num_shards=2, shard_index=2)


def test_train_refuses_a_bad_strategy_and_peer_timeout(write_image, tmp_path):
    from tf_cbam_style.training import train

    write_image("photos/0.png")
    with pytest.raises(ValueError, match="Received: strategy='cluster'"):
        train(str(tmp_path / "photos"), str(tmp_path / "run"), strategy="cluster")
    with pytest.raises(ValueError, match="Received: peer_timeout=0"):
        train(str(tmp_path / "photos"), str(tmp_path / "run"), peer_timeout=0)
    assert not (tmp_path / "run").exists()


def test_local_cluster_ports_and_tf_config():
    ports = free_ports(3)
    assert len(set(ports)) == 3 and all(0 < p < 65536 for p in ports)
    config = json.loads(local_tf_config(ports, 2))
    assert config == {"cluster": {"worker": [f"127.0.0.1:{p}" for p in ports]},
                      "task": {"type": "worker", "index": 2}}
    with pytest.raises(ValueError, match="Received: index=3"):
        local_tf_config(ports, 3)
    with pytest.raises(ValueError, match="Received: n=0"):
        free_ports(0)
