"""Cloudflare's account-wide rate limit: N requests per window, then every call is refused for a window.

Cloudflare allows 1,200 requests per 5 minutes per user and, once that is exceeded, refuses all API calls
with HTTP 429 for the next 5 minutes. This limiter counts accepted requests over a sliding window; the
request that would exceed the limit starts a block of one full window. Time is monotonic wall time, not
the store's injectable clock, so a test with a short window really waits.
"""

from __future__ import annotations

import math
import threading
import time
from collections import deque
from collections.abc import Callable
from dataclasses import dataclass


@dataclass(frozen=True, slots=True)
class RateDecision:
    """The limiter's verdict on one request. `retry_after` is in seconds and 0 for an allowed request."""

    allowed: bool
    limit: int
    remaining: int
    retry_after: float


class RateLimiter:
    """Sliding-window request counter with Cloudflare's block-for-a-window penalty. Thread-safe.

    `limit=None` disables limiting. `send_retry_after` controls whether 429 responses carry `Retry-After`
    (and `x-ratelimit-reset`): Cloudflare does not always send it, and clients must cope either way.
    """

    def __init__(
        self,
        limit: int | None,
        window_seconds: float,
        *,
        send_retry_after: bool = True,
        clock: Callable[[], float] = time.monotonic,
    ) -> None:
        if limit is not None and limit < 1:
            raise ValueError(f"rate limit must be at least 1 request, or None for no limit; got {limit}")
        if window_seconds <= 0:
            raise ValueError(f"rate window must be more than 0 seconds, got {window_seconds}")
        self.limit = limit
        self.window_seconds = window_seconds
        self.send_retry_after = send_retry_after
        self._clock = clock
        self._lock = threading.Lock()
        self._accepted: deque[float] = deque()
        self._blocked_until = 0.0

    def acquire(self) -> RateDecision:
        """Count one request and decide whether it may proceed."""
        if self.limit is None:
            return RateDecision(allowed=True, limit=0, remaining=0, retry_after=0.0)
        with self._lock:
            now = self._clock()
            if now < self._blocked_until:
                return RateDecision(False, self.limit, 0, self._blocked_until - now)
            horizon = now - self.window_seconds
            while self._accepted and self._accepted[0] <= horizon:
                self._accepted.popleft()
            if len(self._accepted) >= self.limit:
                self._blocked_until = now + self.window_seconds
                self._accepted.clear()
                return RateDecision(False, self.limit, 0, self.window_seconds)
            self._accepted.append(now)
            return RateDecision(True, self.limit, self.limit - len(self._accepted), 0.0)

    def reset(self) -> None:
        """Forget every counted request and lift a block."""
        with self._lock:
            self._accepted.clear()
            self._blocked_until = 0.0

    def headers(self, decision: RateDecision) -> list[tuple[str, str]]:
        """Response headers for a counted request: the limit, what remains, and when to retry after a 429."""
        if self.limit is None:
            return []
        headers = [
            ("x-ratelimit-limit", str(decision.limit)),
            ("x-ratelimit-remaining", str(decision.remaining)),
        ]
        if not decision.allowed and self.send_retry_after:
            seconds = str(max(1, math.ceil(decision.retry_after)))
            headers += [("Retry-After", seconds), ("x-ratelimit-reset", seconds)]
        return headers
