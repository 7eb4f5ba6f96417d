"""Time limits of a run: the Lambda deadline, the client-side rate limiter and retry backoff."""

from __future__ import annotations

import email.utils
import random
import threading
import time
from collections.abc import Callable
from dataclasses import dataclass
from datetime import UTC, datetime
from typing import Protocol


class LambdaContextLike(Protocol):
    def get_remaining_time_in_millis(self) -> int: ...


class Deadline:
    """A point in time (on the monotonic clock) that no request may outlive.

    `reserve` seconds are kept back so a handler still has time to log, report and return after the last
    request gave up.
    """

    def __init__(self, expires_at: float, *, clock: Callable[[], float] = time.monotonic) -> None:
        self.expires_at = expires_at
        self._clock = clock

    @classmethod
    def after(cls, seconds: float, *, clock: Callable[[], float] = time.monotonic) -> Deadline:
        return cls(clock() + seconds, clock=clock)

    @classmethod
    def from_lambda_context(cls, context: LambdaContextLike, *, reserve: float = 2.0) -> Deadline:
        """Build the deadline of an invocation from its remaining time, minus `reserve` seconds."""
        remaining = context.get_remaining_time_in_millis() / 1000
        return cls.after(max(0.0, remaining - reserve))

    def remaining(self) -> float:
        """Seconds left, never negative."""
        return max(0.0, self.expires_at - self._clock())

    @property
    def expired(self) -> bool:
        return self.remaining() <= 0


class RateLimiter:
    """Space requests evenly so no more than `per_minute` start in any minute, shared by all threads.

    It works as a token bucket of `burst` tokens (the generic cell rate algorithm): after an idle spell,
    `burst` requests start at once, then one every `60 / per_minute` seconds. Cloudflare counts its limit over
    5 minutes, so a small burst on top of a rate well under that limit cannot reach it.
    """

    def __init__(
        self,
        per_minute: float,
        *,
        burst: int = 1,
        clock: Callable[[], float] = time.monotonic,
        sleep: Callable[[float], None] = time.sleep,
    ) -> None:
        if per_minute <= 0:
            raise ValueError(f"per_minute must be positive, got {per_minute!r}")
        if burst < 1:
            raise ValueError(f"burst must be at least 1, got {burst!r}")
        self.per_minute = per_minute
        self.interval = 60.0 / per_minute
        self._burst = burst
        self._clock = clock
        self._sleep = sleep
        self._lock = threading.Lock()
        # Theoretical arrival time (GCRA): when the next request would start if requests never burst.
        self._arrival = clock()

    def reserve(self, deadline: Deadline | None = None) -> float:
        """Claim the next slot and return how long the caller must wait for it (0 when it is free now).

        Raises `TimeoutError` without claiming the slot when the wait would pass `deadline`.
        """
        with self._lock:
            now = self._clock()
            arrival = max(self._arrival, now)
            start = max(now, arrival - (self._burst - 1) * self.interval)
            wait = start - now
            if deadline is not None and wait > 0 and wait >= deadline.remaining():
                raise TimeoutError(f"the next request slot is {wait:.2f}s away, past the deadline")
            self._arrival = arrival + self.interval
            return wait

    def acquire(self, deadline: Deadline | None = None) -> float:
        """Block until a request may start. Returns the time waited, in seconds."""
        wait = self.reserve(deadline)
        if wait > 0:
            self._sleep(wait)
        return wait


@dataclass(frozen=True, slots=True)
class RetryPolicy:
    """Bounded retries with exponential backoff and full jitter.

    Attempt n (1-based) that failed waits a random time in [0, min(cap, base * 2**(n-1))], or the server's
    `Retry-After` when it sent one, but never more than `max_retry_after`. A wait that would pass the deadline
    is not taken and the error is raised instead.
    """

    max_attempts: int = 4
    base_delay: float = 0.5
    max_delay: float = 8.0
    max_retry_after: float = 30.0
    # The pruner sets this to False: on a 429 it stops and leaves the rest to the next run, instead of
    # waiting on an account that Cloudflare blocks for up to 5 minutes.
    retry_rate_limited: bool = True

    def backoff(self, attempt: int, rng: Callable[[], float] = random.random) -> float:
        """Seconds to wait after failed attempt number `attempt` (1-based) when the server gave no hint."""
        ceiling: float = min(self.max_delay, self.base_delay * 2.0 ** (attempt - 1))
        return ceiling * float(rng())


NO_RETRIES = RetryPolicy(max_attempts=1)


def parse_retry_after(
    value: str | None, *, now: Callable[[], datetime] = lambda: datetime.now(UTC)
) -> float | None:
    """Parse a `Retry-After` header given in seconds or as an HTTP date. None when absent or unreadable."""
    if value is None or not value.strip():
        return None
    text = value.strip()
    if text.isdigit():
        return float(text)
    try:
        when = email.utils.parsedate_to_datetime(text)
    except (TypeError, ValueError):
        return None
    if when.tzinfo is None:
        when = when.replace(tzinfo=UTC)
    return max(0.0, (when - now()).total_seconds())
