"""Unit tests for pages_ops.status.cache.UpstreamCache with a fake clock."""

from __future__ import annotations

import threading
import time
from datetime import UTC, datetime, timedelta

import pytest

from pages_ops.errors import RateLimitedError, ServerError
from pages_ops.status.cache import UpstreamCache, UpstreamUnavailableError
from pages_ops.status.service import failure_backoff, is_upstream_failure

START = datetime(2024, 5, 1, 12, 0, 0, tzinfo=UTC)


class FakeClock:
    def __init__(self) -> None:
        self.now = 1000.0

    def __call__(self) -> float:
        return self.now

    def wall(self) -> datetime:
        return START + timedelta(seconds=self.now - 1000.0)


class Fetcher:
    """Returns the queued results in order; an exception in the queue is raised instead."""

    def __init__(self, *results: object) -> None:
        self.results = list(results)
        self.calls = 0

    def __call__(self) -> object:
        self.calls += 1
        result = self.results.pop(0)
        if isinstance(result, BaseException):
            raise result
        return result


def server_error() -> ServerError:
    return ServerError(method="GET", path="/pages/projects/docs", status=503)


def make_cache(
    clock: FakeClock, *, ttl: float = 30.0, max_stale: float = 3600.0
) -> UpstreamCache[str, object]:
    return UpstreamCache(
        ttl=ttl,
        max_stale=max_stale,
        is_upstream_failure=is_upstream_failure,
        backoff=failure_backoff,
        clock=clock,
        wall_clock=clock.wall,
    )


def test_fresh_value_is_served_without_fetch() -> None:
    clock = FakeClock()
    cache = make_cache(clock)
    fetch = Fetcher("v1")
    first = cache.get("docs", fetch)
    clock.now += 29
    second = cache.get("docs", fetch)
    assert fetch.calls == 1
    assert second.value == "v1"
    assert second.version == first.version
    assert second.age == pytest.approx(29)
    assert second.stale is False
    assert second.fetched_at == START


def test_expired_value_is_fetched_again() -> None:
    clock = FakeClock()
    cache = make_cache(clock)
    fetch = Fetcher("v1", "v2")
    first = cache.get("docs", fetch)
    clock.now += 30
    second = cache.get("docs", fetch)
    assert fetch.calls == 2
    assert second.value == "v2"
    assert second.version != first.version


def test_peek_returns_fresh_values_only() -> None:
    clock = FakeClock()
    cache = make_cache(clock)
    assert cache.peek("docs") is None
    cache.get("docs", Fetcher("v1"))
    hit = cache.peek("docs")
    assert hit is not None
    assert hit.value == "v1"
    clock.now += 31
    assert cache.peek("docs") is None


def test_failure_serves_last_good_value_as_stale() -> None:
    clock = FakeClock()
    cache = make_cache(clock)
    fetch = Fetcher("v1", server_error())
    cache.get("docs", fetch)
    clock.now += 100
    stale = cache.get("docs", fetch)
    assert stale.value == "v1"
    assert stale.stale is True
    assert stale.age == pytest.approx(100)
    assert stale.fetched_at == START


def test_failure_without_value_raises_unavailable() -> None:
    clock = FakeClock()
    cache = make_cache(clock)
    error = server_error()
    with pytest.raises(UpstreamUnavailableError) as caught:
        cache.get("docs", Fetcher(error))
    assert caught.value.retry_after == pytest.approx(10)
    assert caught.value.__cause__ is error


def test_backoff_window_makes_no_fetch() -> None:
    clock = FakeClock()
    cache = make_cache(clock)
    fetch = Fetcher("v1", server_error(), "v2")
    cache.get("docs", fetch)
    clock.now += 31
    cache.get("docs", fetch)  # fails: stale, backoff of 10 s starts
    clock.now += 9
    during = cache.get("docs", fetch)
    assert fetch.calls == 2
    assert during.stale is True
    clock.now += 1
    after = cache.get("docs", fetch)
    assert fetch.calls == 3
    assert after.value == "v2"
    assert after.stale is False


def test_backoff_without_value_keeps_raising_with_countdown() -> None:
    clock = FakeClock()
    cache = make_cache(clock)
    fetch = Fetcher(server_error())
    with pytest.raises(UpstreamUnavailableError):
        cache.get("docs", fetch)
    clock.now += 4
    with pytest.raises(UpstreamUnavailableError) as caught:
        cache.get("docs", fetch)
    assert fetch.calls == 1
    assert caught.value.retry_after == pytest.approx(6)


def test_rate_limit_backs_off_for_retry_after() -> None:
    clock = FakeClock()
    cache = make_cache(clock)
    limited = RateLimitedError(method="GET", path="/pages/projects/docs", status=429, retry_after=120.0)
    fetch = Fetcher(limited, "v1")
    with pytest.raises(UpstreamUnavailableError) as caught:
        cache.get("docs", fetch)
    assert caught.value.retry_after == pytest.approx(120)
    clock.now += 119
    with pytest.raises(UpstreamUnavailableError):
        cache.get("docs", fetch)
    clock.now += 1
    assert cache.get("docs", fetch).value == "v1"


def test_failure_backoff_policy() -> None:
    assert failure_backoff(server_error()) == 10.0
    no_hint = RateLimitedError(method="GET", path="/p", status=429)
    assert failure_backoff(no_hint) == 60.0
    huge = RateLimitedError(method="GET", path="/p", status=429, retry_after=3600.0)
    assert failure_backoff(huge) == 300.0
    zero = RateLimitedError(method="GET", path="/p", status=429, retry_after=0.0)
    assert failure_backoff(zero) == 1.0


def test_stale_beyond_max_stale_is_unavailable() -> None:
    clock = FakeClock()
    cache = make_cache(clock, max_stale=600)
    fetch = Fetcher("v1", server_error())
    cache.get("docs", fetch)
    clock.now += 601
    with pytest.raises(UpstreamUnavailableError):
        cache.get("docs", fetch)


def test_bug_in_fetch_propagates_and_is_not_cached() -> None:
    clock = FakeClock()
    cache = make_cache(clock)
    fetch = Fetcher(KeyError("bug"), "v1")
    with pytest.raises(KeyError):
        cache.get("docs", fetch)
    assert cache.get("docs", fetch).value == "v1"
    assert fetch.calls == 2


def test_zero_ttl_keeps_stale_fallback() -> None:
    clock = FakeClock()
    cache = make_cache(clock, ttl=0)
    fetch = Fetcher("v1", "v2", server_error())
    assert cache.get("docs", fetch).value == "v1"
    assert cache.get("docs", fetch).value == "v2"
    stale = cache.get("docs", fetch)
    assert stale.value == "v2"
    assert stale.stale is True
    assert fetch.calls == 3


def test_keys_are_independent() -> None:
    clock = FakeClock()
    cache = make_cache(clock)
    assert cache.get("docs", Fetcher("d")).value == "d"
    assert cache.get("blog", Fetcher("b")).value == "b"
    assert cache.get("docs", Fetcher()).value == "d"


def test_least_recently_used_entries_are_evicted() -> None:
    clock = FakeClock()
    cache: UpstreamCache[str, object] = UpstreamCache(
        ttl=30,
        max_stale=3600,
        is_upstream_failure=is_upstream_failure,
        backoff=failure_backoff,
        max_entries=2,
        clock=clock,
        wall_clock=clock.wall,
    )
    cache.get("a", Fetcher(1))
    cache.get("b", Fetcher(2))
    cache.get("a", Fetcher())  # touch a, so b is the least recently used
    cache.get("c", Fetcher(3))
    assert cache.peek("a") is not None
    assert cache.peek("b") is None
    assert cache.peek("c") is not None


def test_concurrent_misses_share_one_fetch() -> None:
    cache: UpstreamCache[str, object] = UpstreamCache(
        ttl=30, max_stale=3600, is_upstream_failure=is_upstream_failure, backoff=failure_backoff
    )
    release = threading.Event()
    started = threading.Event()
    calls = []

    def slow_fetch() -> object:
        calls.append(1)
        started.set()
        release.wait(5)
        return "shared"

    results: list[object] = []

    def reader() -> None:
        results.append(cache.get("docs", slow_fetch).value)

    leader = threading.Thread(target=reader)
    leader.start()
    assert started.wait(5)
    followers = [threading.Thread(target=reader) for _ in range(5)]
    for thread in followers:
        thread.start()
    time.sleep(0.1)  # let the followers reach the cache while the leader's fetch is still running
    release.set()
    for thread in [leader, *followers]:
        thread.join(5)
    assert len(calls) == 1
    assert results == ["shared"] * 6


def test_concurrent_waiters_get_the_leaders_failure() -> None:
    cache: UpstreamCache[str, object] = UpstreamCache(
        ttl=30, max_stale=3600, is_upstream_failure=is_upstream_failure, backoff=failure_backoff
    )
    release = threading.Event()
    started = threading.Event()

    def failing_fetch() -> object:
        started.set()
        release.wait(5)
        raise server_error()

    outcomes: list[str] = []

    def reader() -> None:
        try:
            cache.get("docs", failing_fetch)
        except UpstreamUnavailableError:
            outcomes.append("unavailable")

    leader = threading.Thread(target=reader)
    leader.start()
    assert started.wait(5)
    follower = threading.Thread(target=reader)
    follower.start()
    time.sleep(0.1)
    release.set()
    leader.join(5)
    follower.join(5)
    assert outcomes == ["unavailable", "unavailable"]


def test_invalid_arguments_are_rejected() -> None:
    with pytest.raises(ValueError, match="ttl and max_stale"):
        UpstreamCache(ttl=-1, max_stale=0, is_upstream_failure=is_upstream_failure, backoff=failure_backoff)
