"""Training steps per second with 1, 2, ... local workers, and model.fit for reference.

Starts each configuration as real processes on 127.0.0.1: N workers of
`tf_cbam_style.training.train(strategy="multi-worker")` with a TF_CONFIG on
free ports, and one `strategy="single-host"` process (`model.fit`). Each runs
`--epochs` epochs of `--steps` steps; the first epoch (tracing, start-up) is
left out, the chief's later epochs are timed (the workers run in lockstep).
Per-worker batch is fixed, so N workers process N times the images per step
(weak scaling); the efficiency is images/s over N x the one-worker images/s.

Usage (from the repository root; children inherit the CPU affinity):

    taskset -c 1 nice -n 5 .venv/bin/python tools/multiworker_throughput.py \
        --data ../shared/data/photos --workers 1 2

Prints a Markdown table. The figure measures the machine it runs on: on one
shared core, two workers share that core and cannot be faster than one.
"""

import argparse
import json
import os
import pathlib
import subprocess
import sys
import tempfile
import time

from tf_cbam_style.local_cluster import free_ports, local_tf_config

REPO = pathlib.Path(__file__).resolve().parent.parent


def _worker(args):
    """One training process: writes the chief's epoch durations to `args.times`."""
    import keras
    import tensorflow as tf

    if args.threads:
        tf.config.threading.set_intra_op_parallelism_threads(args.threads)
        tf.config.threading.set_inter_op_parallelism_threads(args.threads)
    from tf_cbam_style.training import train

    class EpochTimer(keras.callbacks.Callback):
        def __init__(self):
            super().__init__()
            self.durations = []

        def on_epoch_begin(self, epoch, logs=None):
            self.start = time.perf_counter()

        def on_epoch_end(self, epoch, logs=None):
            self.durations.append(time.perf_counter() - self.start)

    timer = EpochTimer()
    train(args.data, args.out, depth=args.depth, crop_size=args.crop_size, batch_size=args.batch_size,
          steps=args.steps * args.epochs, checkpoint_every=args.steps, strategy=args.strategy,
          callbacks=[timer], verbose=0)
    if args.times:
        with open(args.times, "w") as f:
            json.dump(timer.durations, f)


def _run(args, workers, strategy):
    """Runs one configuration; returns the timed epochs' steps per second."""
    with tempfile.TemporaryDirectory() as tmp:
        ports = free_ports(workers)
        processes = []
        times = os.path.join(tmp, "times.json")
        for index in range(workers):
            env = dict(os.environ, PYTHONPATH=os.pathsep.join(filter(None, [str(REPO), os.environ.get("PYTHONPATH")])))
            env.pop("TF_CONFIG", None)
            if strategy == "multi-worker" and workers > 1:
                env["TF_CONFIG"] = local_tf_config(ports, index)
            command = [sys.executable, __file__, "--worker", "--data", args.data, "--out", os.path.join(tmp, "run"),
                       "--depth", args.depth, "--crop-size", str(args.crop_size), "--batch-size",
                       str(args.batch_size), "--steps", str(args.steps), "--epochs", str(args.epochs),
                       "--strategy", strategy, "--threads", str(args.threads)]
            if index == 0:
                command += ["--times", times]
            processes.append(subprocess.Popen(command, env=env, stdout=subprocess.DEVNULL,
                                              stderr=subprocess.PIPE, text=True))
        for process in processes:
            _, err = process.communicate()
            if process.returncode:
                raise SystemExit(f"error: a {strategy} worker failed: {err.strip().splitlines()[-1:]}")
        with open(times) as f:
            durations = json.load(f)[1:]  # the first epoch traces and starts up
    return args.steps * len(durations) / sum(durations)


def main(argv=None):
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--data", required=True, help="folder of training photos")
    parser.add_argument("--workers", type=int, nargs="+", default=[1, 2])
    parser.add_argument("--depth", default="relu4_1")
    parser.add_argument("--crop-size", type=int, default=64)
    parser.add_argument("--batch-size", type=int, default=2, help="per worker")
    parser.add_argument("--steps", type=int, default=10, help="steps per epoch")
    parser.add_argument("--epochs", type=int, default=3, help="epochs; the first is not timed")
    parser.add_argument("--threads", type=int, default=0, help="TensorFlow threads per process (0: all)")
    parser.add_argument("--worker", action="store_true", help=argparse.SUPPRESS)
    parser.add_argument("--out", help=argparse.SUPPRESS)
    parser.add_argument("--strategy", default="multi-worker", help=argparse.SUPPRESS)
    parser.add_argument("--times", help=argparse.SUPPRESS)
    args = parser.parse_args(argv)
    if args.worker:
        return _worker(args)
    if args.epochs < 2:
        parser.error(f"--epochs must be at least 2 (the first is not timed). Received: --epochs {args.epochs}")
    cpus = len(os.sched_getaffinity(0))
    print(f"{args.depth}, {args.crop_size} px crops, batch {args.batch_size} per worker, "
          f"{args.steps * (args.epochs - 1)} timed steps; {cpus} CPU core(s) usable of {os.cpu_count()}, "
          f"{args.threads or 'default'} threads per process\n")
    print("| engine | workers | global batch | steps/s | images/s | efficiency |")
    print("|---|---|---|---|---|---|")
    fit = _run(args, 1, "single-host")
    print(f"| model.fit (single-host) | 1 | {args.batch_size} | {fit:.2f} | {fit * args.batch_size:.1f} | |",
          flush=True)
    base = None
    for workers in args.workers:
        rate = _run(args, workers, "multi-worker")
        images = rate * args.batch_size * workers
        base = base or images / workers
        print(f"| custom loop (multi-worker) | {workers} | {args.batch_size * workers} | {rate:.2f} | "
              f"{images:.1f} | {images / (workers * base):.0%} |", flush=True)
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
