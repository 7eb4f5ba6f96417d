"""A per-container cache of upstream results that serves the last good value when a refresh fails.

Each key has one value, fresh for `ttl` seconds. An expired or missing key is fetched by exactly one
thread while concurrent callers for the same key wait for its result (single flight), so a burst of
requests costs one upstream call. When a fetch fails with an upstream failure, the key enters a backoff
window in which no further fetch is tried: callers get the last good value marked stale (if it is younger
than `max_stale`), or `UpstreamUnavailableError`. A rate-limited or failing Cloudflare therefore gets
at most one call per key per backoff window from each container.
"""

from __future__ import annotations

import itertools
import logging
import threading
import time
from collections import OrderedDict
from collections.abc import Callable, Hashable
from dataclasses import dataclass
from datetime import UTC, datetime
from typing import Final, Generic, TypeVar, cast

from pages_ops.errors import PagesOpsError

logger = logging.getLogger(__name__)

K = TypeVar("K", bound=Hashable)
T = TypeVar("T")

# A waiter gives up on another thread's fetch after this long; the client's own timeouts end it sooner.
DEFAULT_WAIT_SECONDS: Final = 30.0
_versions = itertools.count(1)


class UpstreamUnavailableError(PagesOpsError):
    """Cloudflare could not be read and no recent enough copy is cached.

    `retry_after` is the number of seconds until the next fetch will be tried.
    """

    def __init__(self, message: str, *, retry_after: float) -> None:
        super().__init__(message)
        self.retry_after = retry_after


@dataclass(frozen=True, slots=True)
class Cached(Generic[T]):
    """A value from the cache and how old it is.

    `version` is unique to one stored value, so a renderer can tell whether its output is still current.
    `stale` is True when the last refresh failed and this is the last good value.
    """

    value: T
    fetched_at: datetime
    age: float
    stale: bool
    version: int


class _Entry(Generic[T]):
    __slots__ = ("error", "fetched_at", "fetched_monotonic", "has_value", "retry_at", "value", "version")

    def __init__(self) -> None:
        self.has_value = False
        self.value: T | None = None
        self.fetched_at = datetime.min.replace(tzinfo=UTC)
        self.fetched_monotonic = 0.0
        self.version = 0
        self.retry_at: float | None = None
        self.error: BaseException | None = None


class _Flight(Generic[T]):
    """A fetch in progress: the thread that started it publishes its outcome to the waiters."""

    __slots__ = ("done", "outcome")

    def __init__(self) -> None:
        self.done = threading.Event()
        self.outcome: Cached[T] | BaseException | None = None


def _utc_now() -> datetime:
    return datetime.now(UTC)


class UpstreamCache(Generic[K, T]):
    """Thread-safe cache with a time to live, single-flight fetches, stale fallback and failure backoff.

    `is_upstream_failure` decides which exceptions mean "Cloudflare could not be read". Those are absorbed
    and trigger the fallback, and any other exception is a bug that propagates unchanged. `backoff` gives,
    for such a failure, the seconds to wait before the key is fetched again. The least recently used entries
    are dropped beyond `max_entries`.
    """

    def __init__(
        self,
        *,
        ttl: float,
        max_stale: float,
        is_upstream_failure: Callable[[BaseException], bool],
        backoff: Callable[[BaseException], float],
        max_entries: int = 256,
        wait_seconds: float = DEFAULT_WAIT_SECONDS,
        clock: Callable[[], float] = time.monotonic,
        wall_clock: Callable[[], datetime] = _utc_now,
    ) -> None:
        if ttl < 0 or max_stale < 0 or max_entries < 1:
            raise ValueError(
                f"ttl and max_stale must be >= 0 and max_entries >= 1, got {ttl}, {max_stale}, {max_entries}"
            )
        self.ttl = ttl
        self.max_stale = max_stale
        self._is_upstream_failure = is_upstream_failure
        self._backoff = backoff
        self._max_entries = max_entries
        self._wait_seconds = wait_seconds
        self._clock = clock
        self._wall_clock = wall_clock
        self._lock = threading.Lock()
        self._entries: OrderedDict[K, _Entry[T]] = OrderedDict()
        self._flights: dict[K, _Flight[T]] = {}

    def peek(self, key: K) -> Cached[T] | None:
        """Return the fresh value of `key` without fetching; None when it is missing or expired."""
        with self._lock:
            entry = self._entries.get(key)
            now = self._clock()
            if entry is not None and self._is_fresh(entry, now):
                self._entries.move_to_end(key)
                return self._cached(entry, now, stale=False)
            return None

    def get(self, key: K, fetch: Callable[[], T]) -> Cached[T]:
        """Return the value of `key`, calling `fetch` when it is missing or expired.

        Raises `UpstreamUnavailableError` when the fetch fails (or failed moments ago) with an upstream
        failure and no value younger than `max_stale` is cached.
        """
        with self._lock:
            now = self._clock()
            entry = self._entries.get(key)
            if entry is not None:
                if self._is_fresh(entry, now):
                    self._entries.move_to_end(key)
                    return self._cached(entry, now, stale=False)
                if entry.retry_at is not None and now < entry.retry_at:
                    return self._fallback(entry, now)
            flight = self._flights.get(key)
            leader = flight is None
            if flight is None:
                flight = _Flight()
                self._flights[key] = flight

        if not leader:
            return self._wait(key, flight)
        return self._lead(key, flight, fetch)

    def _lead(self, key: K, flight: _Flight[T], fetch: Callable[[], T]) -> Cached[T]:
        try:
            value = fetch()
        except Exception as exc:
            if not self._is_upstream_failure(exc):
                self._finish(key, flight, exc)
                raise
            with self._lock:
                outcome = self._record_failure(key, exc)
            self._finish(key, flight, outcome)
            if isinstance(outcome, UpstreamUnavailableError):
                raise outcome from exc
            return outcome
        except BaseException as exc:
            # An interrupt: release the waiters before it propagates.
            self._finish(key, flight, exc)
            raise

        with self._lock:
            entry = _Entry[T]()
            entry.has_value = True
            entry.value = value
            entry.fetched_monotonic = self._clock()
            entry.fetched_at = self._wall_clock()
            entry.version = next(_versions)
            self._entries[key] = entry
            self._entries.move_to_end(key)
            self._evict()
            cached = self._cached(entry, entry.fetched_monotonic, stale=False)
        self._finish(key, flight, cached)
        return cached

    def _wait(self, key: K, flight: _Flight[T]) -> Cached[T]:
        if not flight.done.wait(self._wait_seconds):
            raise UpstreamUnavailableError(
                f"gave up after {self._wait_seconds:.0f}s waiting for another request's fetch of {key!r}",
                retry_after=1.0,
            )
        outcome = flight.outcome
        if isinstance(outcome, BaseException):
            raise outcome
        if outcome is None:  # pragma: no cover - _finish always sets an outcome before `done`
            raise RuntimeError(f"fetch of {key!r} finished without an outcome")
        return outcome

    def _finish(self, key: K, flight: _Flight[T], outcome: Cached[T] | BaseException) -> None:
        with self._lock:
            self._flights.pop(key, None)
        flight.outcome = outcome
        flight.done.set()

    def _record_failure(self, key: K, error: BaseException) -> Cached[T] | UpstreamUnavailableError:
        """Start the key's backoff window and return what callers get meanwhile (lock held)."""
        now = self._clock()
        entry = self._entries.get(key)
        if entry is None:
            entry = _Entry[T]()
            self._entries[key] = entry
            self._evict()
        backoff = max(0.0, self._backoff(error))
        entry.retry_at = now + backoff
        entry.error = error
        # The error names the method, path and Cloudflare error codes, and never contains a credential.
        logger.warning("fetching %r failed; next attempt in %.0fs: %s", key, backoff, error)
        try:
            return self._fallback(entry, now)
        except UpstreamUnavailableError as unavailable:
            return unavailable

    def _fallback(self, entry: _Entry[T], now: float) -> Cached[T]:
        """Return the last good value marked stale, or raise `UpstreamUnavailableError` (lock held)."""
        if entry.has_value and now - entry.fetched_monotonic <= self.max_stale:
            return self._cached(entry, now, stale=True)
        retry_after = max(1.0, (entry.retry_at or now) - now)
        raise UpstreamUnavailableError(
            "Cloudflare could not be read and no recent copy is cached", retry_after=retry_after
        ) from entry.error

    def _is_fresh(self, entry: _Entry[T], now: float) -> bool:
        return entry.has_value and entry.retry_at is None and now - entry.fetched_monotonic < self.ttl

    def _cached(self, entry: _Entry[T], now: float, *, stale: bool) -> Cached[T]:
        return Cached(
            # Only called for entries with has_value set, so the value is a T (which may itself be None).
            value=cast(T, entry.value),
            fetched_at=entry.fetched_at,
            age=max(0.0, now - entry.fetched_monotonic),
            stale=stale,
            version=entry.version,
        )

    def _evict(self) -> None:
        while len(self._entries) > self._max_entries:
            self._entries.popitem(last=False)
