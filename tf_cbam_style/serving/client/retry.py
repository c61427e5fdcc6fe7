"""`RetryPolicy`: bounded retries with exponential backoff."""

import dataclasses
import random
import time


@dataclasses.dataclass(frozen=True)
class RetryPolicy:
    """How often, and how long apart, to retry a request the server never took.

    Only "unavailable" failures are retried (gRPC `UNAVAILABLE`, a refused or
    reset connection, HTTP 502/503/504): a request the server rejected or
    answered is never sent twice.

    Attributes:
        retries: retries after the first attempt (0: none).
        backoff: seconds before the first retry; doubled after each one.
        max_backoff: the longest wait between two attempts, in seconds.
        jitter: the fraction of each wait drawn at random, so that many
            clients do not retry in step.
    """

    retries: int = 3
    backoff: float = 0.5
    max_backoff: float = 8.0
    jitter: float = 0.2

    def __post_init__(self):
        if isinstance(self.retries, bool) or not isinstance(self.retries, int) or self.retries < 0:
            raise ValueError(f"`retries` must be an int >= 0. Received: retries={self.retries!r}")
        if not self.backoff >= 0 or not self.max_backoff >= 0:
            raise ValueError(
                "`backoff` and `max_backoff` must be >= 0 seconds. "
                f"Received: backoff={self.backoff!r}, max_backoff={self.max_backoff!r}"
            )
        if not 0.0 <= self.jitter <= 1.0:
            raise ValueError(f"`jitter` must be in [0, 1]. Received: jitter={self.jitter!r}")

    def delay(self, attempt):
        """Seconds to wait before retry number `attempt` (1 for the first)."""
        wait = min(self.backoff * 2 ** (attempt - 1), self.max_backoff)
        return wait * (1.0 - self.jitter * random.random())

    def call(self, function, is_retryable, sleep=time.sleep):
        """Calls `function()` until it succeeds, fails for good or retries run out.

        Returns:
            `(result, attempts)`.

        Raises:
            The last error, with `error.attempts` set to the attempts made.
        """
        attempt = 0
        while True:
            attempt += 1
            try:
                return function(), attempt
            except Exception as error:
                if attempt > self.retries or not is_retryable(error):
                    error.attempts = attempt
                    raise
            sleep(self.delay(attempt))
