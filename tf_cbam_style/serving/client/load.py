"""A load check: concurrent clients against a server, every response checked.

A benchmark, not a test: `N` clients each send their own content image in a
loop for a bounded time, and every response is compared with the output
computed for that image once up front, so that a lost, failed or mixed-up
response is counted. Prints p50/p99 latency and throughput.
"""

import collections
import threading
import time

import numpy as np

LoadReport = collections.namedtuple(
    "LoadReport",
    [
        "clients",
        "requests",
        "succeeded",
        "failed",
        "mismatched",
        "lost",
        "seconds",
        "p50_ms",
        "p99_ms",
        "throughput",
        "errors",
    ],
)
LoadReport.__doc__ = """The result of `run_load_check`.

Attributes:
    clients: concurrent clients.
    requests: requests sent.
    succeeded: responses equal to the expected output.
    failed: requests that ended in an error (`ServingError`).
    mismatched: responses that differ from the expected output.
    lost: requests that got neither a response nor an error (should be 0).
    seconds: wall time of the timed phase.
    p50_ms, p99_ms: latency percentiles of the answered requests.
    throughput: answered requests per second.
    errors: up to 5 distinct error messages.
"""


def _images(count, size, seed):
    """`count` distinct smooth `(size, size, 3)` images in [0, 1]."""
    rng = np.random.default_rng(seed)
    y, x = np.mgrid[0:size, 0:size] / size
    images = []
    for _ in range(count):
        phase = rng.uniform(0, 2 * np.pi, size=3)
        frequency = rng.uniform(2, 8)
        images.append(
            (0.5 + 0.4 * np.sin(frequency * (x + y)[..., None] + phase)).astype(np.float32)
        )
    return images


def run_load_check(
    make_client, clients=4, duration=10.0, size=64, max_requests=None, atol=1e-4, seed=0
):
    """Runs `clients` concurrent clients for `duration` seconds.

    Args:
        make_client: a function returning a new `StyleClient` (one per
            client thread).
        clients: concurrent clients, each with its own content image.
        duration: seconds of the timed phase (bounded: no request starts
            after it).
        size: side of the square test images, in pixels.
        max_requests: stop each client after this many requests as well.
        atol: the largest absolute difference accepted between a response
            and the expected output.
        seed: seed of the test images.

    Returns:
        A `LoadReport`.
    """
    from tf_cbam_style.serving.errors import ServingError

    if not isinstance(clients, int) or clients < 1:
        raise ValueError(f"`clients` must be an int >= 1. Received: clients={clients!r}")
    if not 0 < duration <= 3600:
        raise ValueError(
            f"`duration` must be in (0, 3600] seconds. Received: duration={duration!r}"
        )
    if not isinstance(size, int) or size < 32:
        raise ValueError(f"`size` must be an int >= 32. Received: size={size!r}")
    *contents, style = _images(clients + 1, size, seed)
    connections = [make_client() for _ in range(clients)]
    try:
        # The expected outputs, one request at a time.
        expected = [connections[0].stylize(content, style).image for content in contents]
        latencies = [[] for _ in range(clients)]
        counts = [collections.Counter() for _ in range(clients)]
        errors = collections.Counter()
        start = time.monotonic()
        deadline = start + duration

        def worker(index):
            client, count = connections[index], counts[index]
            while time.monotonic() < deadline and (
                max_requests is None or count["sent"] < max_requests
            ):
                count["sent"] += 1
                began = time.monotonic()
                try:
                    image = client.stylize(contents[index], style).image
                except ServingError as error:
                    count["failed"] += 1
                    errors[str(error)] += 1
                    continue
                except Exception as error:  # a bug in the client: counted, not raised
                    count["lost"] += 1
                    errors[f"{type(error).__name__}: {error}"] += 1
                    continue
                latencies[index].append(time.monotonic() - began)
                if image.shape == expected[index].shape and np.allclose(
                    image, expected[index], atol=atol
                ):
                    count["succeeded"] += 1
                else:
                    count["mismatched"] += 1

        threads = [
            threading.Thread(target=worker, args=(i,), name=f"load-{i}") for i in range(clients)
        ]
        for thread in threads:
            thread.start()
        for thread in threads:
            thread.join()
        seconds = time.monotonic() - start
    finally:
        for client in connections:
            client.close()
    total = sum(counts, collections.Counter())
    answered = np.asarray([t for per_client in latencies for t in per_client]) * 1000.0
    accounted = total["succeeded"] + total["failed"] + total["mismatched"] + total["lost"]
    return LoadReport(
        clients=clients,
        requests=total["sent"],
        succeeded=total["succeeded"],
        failed=total["failed"],
        mismatched=total["mismatched"],
        lost=total["lost"] + (total["sent"] - accounted),
        seconds=seconds,
        p50_ms=float(np.percentile(answered, 50)) if answered.size else float("nan"),
        p99_ms=float(np.percentile(answered, 99)) if answered.size else float("nan"),
        throughput=answered.size / seconds if seconds > 0 else 0.0,
        errors=[message for message, _ in errors.most_common(5)],
    )


def format_report(report):
    """The `LoadReport` as a few lines of text."""
    lines = [
        f"{report.clients} clients, {report.seconds:.1f} s: {report.requests} requests, "
        f"{report.succeeded} ok, {report.failed} failed, {report.mismatched} mismatched, "
        f"{report.lost} lost",
        f"latency p50 {report.p50_ms:.1f} ms, p99 {report.p99_ms:.1f} ms; "
        f"throughput {report.throughput:.2f} requests/s",
    ]
    lines += [f"  error: {message}" for message in report.errors]
    return "\n".join(lines)
