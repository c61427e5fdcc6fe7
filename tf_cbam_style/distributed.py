"""Multi-worker training: a custom loop under `MultiWorkerMirroredStrategy`.

Keras 3's `model.fit` does not run under `tf.distribute.MultiWorkerMirroredStrategy`
(keras-team/keras#20585), so on a cluster `tf_cbam_style.training.train`
calls `train_multi_worker`, which runs the same `TrainingRun` with:

- one `MultiWorkerMirroredStrategy` over the tasks of `TF_CONFIG` (collectives
  over gRPC; `CommunicationImplementation.AUTO`, i.e. ring all-reduce on CPU
  and NCCL between GPUs);
- `strategy.distribute_datasets_from_function`: each worker builds its own
  input pipeline and decodes only its own shard of the images
  (`make_dataset(num_shards=..., shard_index=...)`), or reads its own record
  files of a TFDS dataset (`tfds.ReadConfig(input_context=...)`);
- the model's own `AttentionAutoencoder.train_step` inside `strategy.run`:
  the same losses, scaled by `1 / num_replicas_in_sync`, and gradients summed
  over all replicas of all workers by the optimizer's all-reduce;
- the same Keras callbacks as `model.fit` (TensorBoard, CSV log, weights
  checkpoint, held-out score, progress bar), driven by hand, and the same
  `training.json` and `model.keras` (`export_model`).

Fault tolerance, the usual MWMS pattern: every worker saves a
`tf.train.Checkpoint` (attention, decoder, optimizer, whose `iterations` is
the step) at the end of every epoch, the chief into the shared
`out/checkpoints`, the others into temporary folders; every worker restores
from the chief's folder, so `out` must be a folder all workers see. The data
stream is a pure function of the step, so that a resumed run repeats the
steps since the last checkpoint exactly: none lost, none counted twice. The
chief alone writes logs, `model.keras` and `training.json`.

A missing peer is a one-line error after `peer_timeout` seconds: at start-up
every worker waits for all others with plain TCP connections before starting
TensorFlow's server (`wait_for_peers`), a watchdog ends a cluster start that
still hangs, and every collective operation has the same timeout. A peer lost
during training raises `PeerLostError`; the command line then restarts the
surviving worker in place (`rejoin_cluster`), which waits for the restarted
peer and resumes with it from the last checkpoint.
"""

import json
import os
import re
import shutil
import socket
import subprocess
import sys
import tempfile
import threading
import time

import keras
import tensorflow as tf

from tf_cbam_style.training_run import TrainingRun, _RunClock, export_model, hardware_line, write_facts

JOBS = ("chief", "worker")  # the TF_CONFIG jobs that train; MWMS has no parameter servers
RESTARTS_ENV = "TF_CBAM_STYLE_WORKER_RESTARTS"
DEFAULT_MAX_RESTARTS = 5
# The errors a collective raises when a peer died, restarted or stopped
# answering (the timeout): all mean "this worker must rejoin the cluster".
PEER_ERRORS = (
    tf.errors.UnavailableError,
    tf.errors.AbortedError,
    tf.errors.DeadlineExceededError,
    tf.errors.CancelledError,
    tf.errors.FailedPreconditionError,
)


class PeerLostError(ConnectionError):
    """A peer of the cluster died or stopped answering; the TensorFlow runtime
    of this process cannot be used again, the process must restart."""


class ClusterConfig:
    """The cluster and this task, as `TF_CONFIG` describes them.

    Args:
        config: the parsed `TF_CONFIG`, `{"cluster": {"worker": ["host:port",
            ...], "chief": [...]}, "task": {"type": "worker", "index": 0}}`.

    Raises:
        ValueError: for a malformed config, a job other than chief/worker,
            or a task that is not in the cluster.

    Example:

    >>> ClusterConfig({"cluster": {"worker": ["a:1", "b:2"]}, "task": {"type": "worker", "index": 1}}).is_chief
    False
    """

    def __init__(self, config):
        text = json.dumps(config)
        try:
            cluster = {job: list(addresses) for job, addresses in config["cluster"].items()}
            task_type, index = config["task"]["type"], int(config["task"]["index"])
        except (KeyError, TypeError, ValueError, AttributeError):
            raise ValueError(
                '`TF_CONFIG` must look like {"cluster": {"worker": ["host:port", ...]}, '
                f'"task": {{"type": "worker", "index": 0}}}}. Received: TF_CONFIG={text}'
            ) from None
        if set(cluster) - set(JOBS) or task_type not in cluster or not 0 <= index < len(cluster[task_type]):
            raise ValueError(
                f"`TF_CONFIG` must name jobs among {JOBS} and a task in its cluster. Received: TF_CONFIG={text}"
            )
        self.cluster, self.task_type, self.index = cluster, task_type, index

    @classmethod
    def from_env(cls, environ=None):
        """The config of `$TF_CONFIG`, or `None` when it is unset or has no cluster."""
        text = (environ if environ is not None else os.environ).get("TF_CONFIG", "").strip()
        if not text:
            return None
        try:
            config = json.loads(text)
        except ValueError:
            raise ValueError(f"`TF_CONFIG` must be JSON. Received: TF_CONFIG={text!r}") from None
        return cls(config) if isinstance(config, dict) and config.get("cluster") else None

    @property
    def name(self):
        return f"{self.task_type} {self.index}"

    @property
    def address(self):
        return self.cluster[self.task_type][self.index]

    @property
    def is_chief(self):
        if "chief" in self.cluster:
            return self.task_type == "chief"
        return self.index == 0

    @property
    def num_workers(self):
        return sum(len(addresses) for addresses in self.cluster.values())

    def peers(self):
        """`[(name, "host:port"), ...]` of every other task."""
        return [(f"{job} {i}", address) for job in JOBS for i, address in enumerate(self.cluster.get(job, []))
                if (job, i) != (self.task_type, self.index)]


def _split_address(address):
    host, _, port = address.rpartition(":")
    try:
        return host.strip("[]"), int(port)
    except ValueError:
        raise ValueError(f"`TF_CONFIG` addresses must be host:port. Received: {address!r}") from None


_ACK = b"tf_cbam_style peer ok\n"


def _read_ack(connection):
    """True when the peer's start-up listener answered; False for anything
    else, e.g. the old TensorFlow server of a worker about to restart."""
    reply = b""
    try:
        while len(reply) < len(_ACK) and (chunk := connection.recv(len(_ACK) - len(reply))):
            reply += chunk
    except OSError:
        return False
    return reply == _ACK


def wait_for_peers(cluster, timeout):
    """Waits until every peer of `cluster` and this task have reached each other.

    Before TensorFlow's server starts, this task listens on its own port and
    connects to every peer's port, sending its name; it is done when it has
    reached every peer and heard from every peer, or raises after `timeout`
    seconds. A peer whose old TensorFlow server still holds its port (a
    worker about to restart) accepts the connection but never calls back, so
    it is waited for, not mistaken for ready: a peer counts as reached
    only when its own start-up listener acknowledged this task's name, so
    the two sides of every pair finish together (a name sent to a server
    about to be replaced is sent again to its successor).

    Args:
        cluster: a `ClusterConfig`.
        timeout: seconds.

    Raises:
        TimeoutError: naming the first peer that did not answer, or did not
            call back, in time.
        OSError: when this task's own port is taken by another process.
    """
    _, own_port = _split_address(cluster.address)
    try:
        listener = socket.create_server(("", own_port), reuse_port=False)
    except OSError as error:
        raise OSError(
            f"`TF_CONFIG` gives this task ({cluster.name}) port {own_port}, which is taken: {error.strerror}. "
            f"Received: address={cluster.address!r}"
        ) from None
    peers = cluster.peers()
    heard, reached = set(), set()
    stop = threading.Event()

    def answer():
        listener.settimeout(0.2)
        while not stop.is_set():
            try:
                connection, _ = listener.accept()
            except OSError:
                continue
            with connection:
                connection.settimeout(2.0)
                try:
                    name = connection.recv(256).decode("utf-8", "replace").strip()
                    connection.sendall(_ACK)
                    heard.add(name)
                except OSError:
                    pass

    thread = threading.Thread(target=answer, daemon=True)
    thread.start()
    deadline = time.monotonic() + timeout
    try:
        while True:
            for name, address in peers:
                if name in reached:
                    continue
                try:
                    wait = min(2.0, max(0.1, deadline - time.monotonic()))
                    with socket.create_connection(_split_address(address), timeout=wait) as connection:
                        connection.sendall(f"{cluster.name}\n".encode())
                        if _read_ack(connection):
                            reached.add(name)
                except OSError:
                    pass
            if all(name in reached and name in heard for name, _ in peers):
                return
            if time.monotonic() >= deadline:
                name, address = next((n, a) for n, a in peers if n not in reached or n not in heard)
                if name not in reached:
                    raise TimeoutError(
                        f"{name} at {address} did not answer within {timeout:g} s (peer_timeout): "
                        "start every task of TF_CONFIG's cluster, with the same TF_CONFIG cluster"
                    )
                raise TimeoutError(
                    f"{name} at {address} did not call back within {timeout:g} s (peer_timeout): its "
                    f"TF_CONFIG must list this task ({cluster.name} at {cluster.address})"
                )
            time.sleep(0.2)
    finally:
        stop.set()
        thread.join()
        listener.close()


_WATCHDOG = r"""
import os, signal, sys, time
pid, timeout, message = int(sys.argv[1]), float(sys.argv[2]), sys.argv[3]
deadline = time.monotonic() + timeout
while time.monotonic() < deadline:
    time.sleep(0.5)
    if os.getppid() != pid:
        sys.exit(0)
print(message, file=sys.stderr, flush=True)
os.kill(pid, signal.SIGKILL)
"""


class _Watchdog:
    """Kills this process with a one-line message unless left within `timeout` s.

    TensorFlow's cluster start holds the interpreter lock while it waits,
    so the watchdog is a separate small process.
    """

    def __init__(self, timeout, message):
        self.timeout, self.message = timeout, message

    def __enter__(self):
        self.process = subprocess.Popen(
            [sys.executable, "-c", _WATCHDOG, str(os.getpid()), str(self.timeout), self.message]
        )
        return self

    def __exit__(self, *exc):
        self.process.kill()
        self.process.wait()


def make_strategy(peer_timeout):
    """The `MultiWorkerMirroredStrategy` of `$TF_CONFIG` (one local worker without it),
    with `peer_timeout` seconds for every collective operation."""
    options = tf.distribute.experimental.CommunicationOptions(
        implementation=tf.distribute.experimental.CommunicationImplementation.AUTO,
        timeout_seconds=float(peer_timeout),
    )
    return tf.distribute.MultiWorkerMirroredStrategy(communication_options=options)


def _global_sum(strategy):
    """`total(value)`: the sum of `value` over all replicas of all workers
    (a collective operation, so also a barrier)."""

    @tf.function
    def reduce(value):
        per_replica = strategy.run(tf.identity, args=(value,))
        return strategy.reduce(tf.distribute.ReduceOp.SUM, per_replica, axis=None)

    return lambda value: float(reduce(tf.constant(value, tf.float64)))


def rejoin_cluster(error, max_restarts=DEFAULT_MAX_RESTARTS):
    """Restarts this worker process in place after `error` (a `PeerLostError`).

    The new process (same command, same `TF_CONFIG`) waits for its peers
    and resumes from the last checkpoint. At most `max_restarts` restarts
    in a row; after that, `error` is raised.
    """
    restarts = int(os.environ.get(RESTARTS_ENV, "0"))
    if restarts >= max_restarts:
        raise error
    os.environ[RESTARTS_ENV] = str(restarts + 1)
    print(f"{error}; restarting this worker to rejoin the cluster ({restarts + 1}/{max_restarts})",
          file=sys.stderr, flush=True)
    sys.stdout.flush()
    os.execv(sys.executable, [sys.executable] + sys.orig_argv[1:])


def train_multi_worker(run, peer_timeout=300):
    """Runs `run` (a `TrainingRun`) on this worker of the `TF_CONFIG` cluster.

    Call it on every worker with the same arguments (only `TF_CONFIG`'s task
    differs); `tf_cbam_style.training.train` does when `TF_CONFIG`
    describes a cluster or with `strategy="multi-worker"`. Without
    `TF_CONFIG` it trains as a cluster of one.

    Args:
        run: a `TrainingRun`; `run.batch_size` is per replica, the global
            batch is `run.batch_size * num_replicas_in_sync`.
        peer_timeout: seconds to wait for the peers at start-up, and for any
            collective operation.

    Returns:
        The path of the final `.keras` model (on every worker; the chief
        writes it).

    Raises:
        TimeoutError: when a peer did not answer at start-up.
        PeerLostError: when a peer was lost during training.
        ValueError: for a bad `TF_CONFIG`, or workers that found different
            checkpoints (`out` is not shared).
    """
    if not isinstance(run, TrainingRun):
        raise ValueError(f"`run` must be a TrainingRun. Received: run={run!r}")
    cluster = ClusterConfig.from_env()
    if cluster is not None and cluster.num_workers > 1:
        wait_for_peers(cluster, peer_timeout)
    name = cluster.name if cluster else "worker 0"
    is_chief = cluster.is_chief if cluster else True
    message = (f"error: the cluster did not start within {peer_timeout:g} s (peer_timeout) on {name}: "
               "a peer stopped during start-up")
    try:
        with _Watchdog(peer_timeout, message):
            strategy = make_strategy(peer_timeout)
            total = _global_sum(strategy)
            total(1.0)  # a barrier: every worker is up
        return _train(run, strategy, total, cluster, name, is_chief)
    except PEER_ERRORS as error:
        raise PeerLostError(f"{name} lost a peer: {_first_line(error)}") from None


def _first_line(error):
    """The first line of a TensorFlow error, without its `{{function_node ...}}` prefix."""
    text = re.sub(r"\{\{[^}]*\}\}", "", getattr(error, "message", None) or str(error)).strip()
    return " ".join(text.splitlines()[0].split()).rstrip(":") if text else type(error).__name__


def _train(run, strategy, total, cluster, name, is_chief):
    if is_chief:
        return _train_in(run, strategy, total, cluster, name, is_chief, run.out)
    log_dir = tempfile.mkdtemp(prefix=f"tf_cbam_style_{name.replace(' ', '')}_")
    try:
        return _train_in(run, strategy, total, cluster, name, is_chief, log_dir)
    finally:
        shutil.rmtree(log_dir, ignore_errors=True)


def _train_in(run, strategy, total, cluster, name, is_chief, log_dir):
    """Trains with logs and checkpoints under `log_dir` (`out` on the chief)."""
    workers = cluster.num_workers if cluster else 1
    replicas = strategy.num_replicas_in_sync
    global_batch = run.batch_size * replicas
    shared = os.path.join(run.out, "checkpoints")
    checkpoint_dir = os.path.join(log_dir, "checkpoints")  # the shared one on the chief
    keras.utils.set_random_seed(run.seed)
    with strategy.scope():
        model = run.build_model()
        trainable = model.attention.trainable_variables + model.decoder.trainable_variables
        model.optimizer.build(trainable)
    os.makedirs(checkpoint_dir, exist_ok=True)  # after the model's arguments were checked
    checkpoint = tf.train.Checkpoint(attention=model.attention, decoder=model.decoder, optimizer=model.optimizer)
    manager = tf.train.CheckpointManager(checkpoint, checkpoint_dir, max_to_keep=2)
    latest = tf.train.latest_checkpoint(shared)
    if latest:
        checkpoint.restore(latest).assert_existing_objects_matched()
    else:
        run.warm_start(model)
    done = int(model.optimizer.iterations.numpy())
    steps = total(float(done))
    if steps != done * replicas:
        raise ValueError(
            f"`out` must be a folder every worker sees: {name} resumes at step {done}, the cluster "
            f"at a mean of {steps / replicas:g} steps. Received: out={run.out!r}"
        )
    if latest:
        print(f"{name}: resumed at step {done} from {latest}", flush=True)

    @tf.function
    def train_step(iterator):
        def replica_step(images):
            logs = model.train_step(images)
            return tf.stack([logs[k] for k in model.trackers])

        stacked = strategy.run(replica_step, args=(next(iterator),))
        return strategy.reduce(tf.distribute.ReduceOp.MEAN, stacked, axis=None)

    clock = _RunClock(os.path.join(log_dir, "wall_time.json"))
    verbose = run.verbose if is_chief else 0
    start_time = time.time()
    offset = 0
    for index, (crop, phase_steps) in enumerate(run.phases):
        steps_per_epoch, epochs = run.epochs(index)
        length = steps_per_epoch * epochs
        if done >= offset + length:
            offset += length
            continue
        phase_step = done - offset
        if phase_step % steps_per_epoch:
            raise ValueError(
                f"`checkpoint_every` must be that of the run being resumed: its checkpoint is at step {done}, "
                f"inside an epoch of {steps_per_epoch} steps. Received: checkpoint_every={run.checkpoint_every}"
            )
        if len(run.phases) > 1 and is_chief:
            print(f"Phase {index + 1}/{len(run.phases)}: {phase_steps} steps on {crop} px crops", flush=True)

        def dataset_fn(context, index=index, start=phase_step * global_batch):
            return run.dataset(
                index, context.get_per_replica_batch_size(global_batch), start=start,
                num_shards=context.num_input_pipelines, shard_index=context.input_pipeline_id,
                input_context=context,
            )

        iterator = iter(strategy.distribute_datasets_from_function(dataset_fn))
        callbacks = keras.callbacks.CallbackList(
            run.keras_callbacks(log_dir, clock, steps_per_epoch), add_history=True, add_progbar=verbose != 0,
            model=model, verbose=verbose, epochs=epochs, steps=steps_per_epoch,
        )
        callbacks.on_train_begin()
        for epoch in range(phase_step // steps_per_epoch, epochs):
            for tracker in model.metrics:
                tracker.reset_state()
            callbacks.on_epoch_begin(epoch)
            for batch in range(steps_per_epoch):
                callbacks.on_train_batch_begin(batch)
                values = train_step(iterator).numpy()
                logs = {k: float(v) for k, v in zip(model.trackers, values)}
                callbacks.on_train_batch_end(batch, logs)
            # The checkpoint first: a crash between the two loses a log
            # line, never counts an epoch twice.
            manager.save(checkpoint_number=int(model.optimizer.iterations.numpy()))
            callbacks.on_epoch_end(epoch, dict(logs))
        callbacks.on_train_end()
        offset += length
        done = offset
    wall = time.time() - start_time
    path = os.path.join(run.out, "model.keras")
    facts = run.facts(model, done, global_batch, hardware_line(replicas // workers, workers), wall,
                      clock.total(), strategy="multi-worker", workers=workers)
    if is_chief:
        export_model(model, path)
        write_facts(run.out, facts)
        print(f"Saved {path} after {done} steps ({wall / 60:.1f} min this run)", flush=True)
    total(1.0)  # a barrier: nobody leaves before the chief has written the model
    print(f"{name}: done after {done} steps, weights sha256 {facts['weights_sha256']}", flush=True)
    return path
