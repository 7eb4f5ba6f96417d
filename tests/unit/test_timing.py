"""Unit tests of pages_ops.timing: Deadline, RateLimiter (on a fake clock), RetryPolicy, parse_retry_after."""

from __future__ import annotations

import itertools
import random
import threading
from datetime import UTC, datetime

import pytest

from pages_ops.timing import NO_RETRIES, Deadline, RateLimiter, RetryPolicy, parse_retry_after


class FakeClock:
    """A monotonic clock that tests move by hand, with a sleep that moves it."""

    def __init__(self, start: float = 1000.0) -> None:
        self.now = start
        self.slept: list[float] = []
        self._lock = threading.Lock()

    def __call__(self) -> float:
        return self.now

    def sleep(self, seconds: float) -> None:
        with self._lock:
            self.slept.append(seconds)
            self.now += seconds


class FakeContext:
    def __init__(self, remaining_ms: int) -> None:
        self.remaining_ms = remaining_ms

    def get_remaining_time_in_millis(self) -> int:
        return self.remaining_ms


# Deadline.
def test_deadline_after() -> None:
    clock = FakeClock()
    deadline = Deadline.after(30.0, clock=clock)

    assert deadline.expires_at == 1030.0
    assert deadline.remaining() == 30.0
    clock.now += 12.5
    assert deadline.remaining() == 17.5
    assert deadline.expired is False


def test_deadline_never_negative() -> None:
    clock = FakeClock()
    deadline = Deadline.after(1.0, clock=clock)

    clock.now += 5.0

    assert deadline.remaining() == 0.0
    assert deadline.expired is True


def test_deadline_from_lambda_context() -> None:
    deadline = Deadline.from_lambda_context(FakeContext(300_000))

    assert 297.9 < deadline.remaining() <= 298.0


def test_deadline_from_lambda_context_reserve() -> None:
    deadline = Deadline.from_lambda_context(FakeContext(10_000), reserve=0.5)

    assert 9.4 < deadline.remaining() <= 9.5


def test_deadline_from_lambda_context_less_than_reserve() -> None:
    deadline = Deadline.from_lambda_context(FakeContext(1_500))

    assert deadline.remaining() == 0.0
    assert deadline.expired is True


# RateLimiter.
@pytest.mark.parametrize("per_minute", [0, -1, -0.5])
def test_rate_limiter_rejects_rate(per_minute: float) -> None:
    with pytest.raises(ValueError, match="per_minute must be positive"):
        RateLimiter(per_minute)


def test_rate_limiter_rejects_burst() -> None:
    with pytest.raises(ValueError, match="burst must be at least 1, got 0"):
        RateLimiter(60, burst=0)


def test_rate_limiter_spacing() -> None:
    clock = FakeClock()
    limiter = RateLimiter(120, clock=clock, sleep=clock.sleep)

    waits = [limiter.reserve() for _ in range(5)]

    assert limiter.interval == 0.5
    assert waits == [0.0, 0.5, 1.0, 1.5, 2.0]


def test_rate_limiter_acquire_sleeps() -> None:
    clock = FakeClock()
    limiter = RateLimiter(60, clock=clock, sleep=clock.sleep)

    waited = [limiter.acquire() for _ in range(4)]

    assert waited == [0.0, 1.0, 1.0, 1.0]
    assert clock.slept == [1.0, 1.0, 1.0]
    assert clock.now == 1003.0


def test_rate_limiter_free_after_idle() -> None:
    clock = FakeClock()
    limiter = RateLimiter(60, clock=clock, sleep=clock.sleep)
    limiter.reserve()
    limiter.reserve()

    clock.now += 10.0

    assert limiter.reserve() == 0.0
    assert limiter.reserve() == 1.0


def test_rate_limiter_idle_no_banked_slots() -> None:
    # A long idle spell allows one burst, not every slot the idle time would have held.
    clock = FakeClock()
    limiter = RateLimiter(60, burst=2, clock=clock, sleep=clock.sleep)

    clock.now += 3600.0

    assert [limiter.reserve() for _ in range(4)] == [0.0, 0.0, 1.0, 2.0]


def test_rate_limiter_burst() -> None:
    clock = FakeClock()
    limiter = RateLimiter(60, burst=3, clock=clock, sleep=clock.sleep)

    assert [limiter.reserve() for _ in range(6)] == [0.0, 0.0, 0.0, 1.0, 2.0, 3.0]


def test_rate_limiter_burst_refills_at_rate() -> None:
    clock = FakeClock()
    limiter = RateLimiter(60, burst=3, clock=clock, sleep=clock.sleep)
    for _ in range(3):
        limiter.reserve()

    clock.now += 2.0

    assert [limiter.reserve() for _ in range(3)] == [0.0, 0.0, 1.0]


def test_rate_limiter_rate_over_a_minute() -> None:
    clock = FakeClock()
    limiter = RateLimiter(120, burst=4, clock=clock, sleep=clock.sleep)
    started = clock.now
    starts: list[float] = []

    while clock.now - started < 120.0:
        limiter.acquire()
        starts.append(clock.now - started)
        clock.now += 0.01  # the request itself

    # The burst of 4 at once, then one start every 0.5 s.
    assert starts[:4] == pytest.approx([0.0, 0.01, 0.02, 0.03])
    assert starts[4] == pytest.approx(0.5)
    assert len([moment for moment in starts if moment < 60.0]) == 4 + 119
    gaps = [later - earlier for earlier, later in itertools.pairwise(starts[4:])]
    assert all(gap == pytest.approx(0.5) for gap in gaps)


def test_rate_limiter_deadline_refusal() -> None:
    clock = FakeClock()
    limiter = RateLimiter(60, clock=clock, sleep=clock.sleep)
    limiter.reserve()
    limiter.reserve()
    deadline = Deadline.after(1.5, clock=clock)

    with pytest.raises(TimeoutError, match=r"next request slot is 2\.00s away"):
        limiter.acquire(deadline)

    assert clock.slept == []
    # The refused slot was not claimed: the next caller gets it.
    assert limiter.reserve() == 2.0


def test_rate_limiter_deadline_just_enough() -> None:
    clock = FakeClock()
    limiter = RateLimiter(60, clock=clock, sleep=clock.sleep)
    limiter.reserve()

    assert limiter.acquire(Deadline.after(1.01, clock=clock)) == 1.0


def test_rate_limiter_free_slot_expired_deadline() -> None:
    clock = FakeClock()
    limiter = RateLimiter(60, clock=clock, sleep=clock.sleep)

    assert limiter.reserve(Deadline.after(0.0, clock=clock)) == 0.0


def test_rate_limiter_threads_claim_distinct_slots() -> None:
    clock = FakeClock()
    limiter = RateLimiter(600, clock=clock, sleep=clock.sleep)
    waits: list[float] = []
    lock = threading.Lock()
    start = threading.Barrier(8)

    def worker() -> None:
        start.wait()
        for _ in range(50):
            wait = limiter.reserve()
            with lock:
                waits.append(wait)

    threads = [threading.Thread(target=worker) for _ in range(8)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()

    # 400 reservations at one instant: every slot 0.1 s apart was handed out exactly once.
    assert sorted(round(wait * 10) for wait in waits) == list(range(400))


def test_rate_limiter_threads_acquire_real_clock() -> None:
    limiter = RateLimiter(60_000)  # one slot per millisecond
    start = threading.Barrier(4)
    waited: list[float] = []
    lock = threading.Lock()

    def worker() -> None:
        start.wait()
        for _ in range(10):
            wait = limiter.acquire()
            with lock:
                waited.append(wait)

    threads = [threading.Thread(target=worker) for _ in range(4)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()

    assert len(waited) == 40
    assert max(waited) < 0.1


# RetryPolicy.
def test_retry_policy_defaults() -> None:
    policy = RetryPolicy()

    assert policy.max_attempts == 4
    assert policy.base_delay == 0.5
    assert policy.max_delay == 8.0
    assert policy.max_retry_after == 30.0
    assert policy.retry_rate_limited is True
    assert NO_RETRIES.max_attempts == 1


@pytest.mark.parametrize(
    ("attempt", "ceiling"), [(1, 0.5), (2, 1.0), (3, 2.0), (4, 4.0), (5, 8.0), (6, 8.0), (20, 8.0)]
)
def test_backoff_ceiling(attempt: int, ceiling: float) -> None:
    policy = RetryPolicy()

    assert policy.backoff(attempt, rng=lambda: 1.0) == ceiling
    assert policy.backoff(attempt, rng=lambda: 0.0) == 0.0
    assert policy.backoff(attempt, rng=lambda: 0.5) == ceiling / 2


def test_backoff_jitter_bounded() -> None:
    policy = RetryPolicy(base_delay=0.2, max_delay=3.0)
    generator = random.Random(1234)  # noqa: S311 - reproducible jitter, not cryptography

    for attempt in range(1, 12):
        ceiling = min(3.0, 0.2 * 2 ** (attempt - 1))
        delays = [policy.backoff(attempt, rng=generator.random) for _ in range(200)]
        assert all(0.0 <= delay <= ceiling for delay in delays)
        # Full jitter spreads the waits over the whole range instead of repeating one value.
        assert max(delays) - min(delays) > ceiling / 2


def test_backoff_default_rng_bounded() -> None:
    policy = RetryPolicy()

    delays = [policy.backoff(3) for _ in range(500)]

    assert all(0.0 <= delay <= 2.0 for delay in delays)
    assert len(set(delays)) > 400


# parse_retry_after.
FIXED_NOW = datetime(2015, 10, 21, 7, 27, 30, tzinfo=UTC)


@pytest.mark.parametrize(
    ("header", "expected"),
    [
        ("0", 0.0),
        ("1", 1.0),
        ("120", 120.0),
        (" 7 ", 7.0),
        ("86400", 86400.0),
        ("Wed, 21 Oct 2015 07:28:00 GMT", 30.0),
        ("Wed, 21 Oct 2015 07:29:30 GMT", 120.0),
        ("Wed, 21 Oct 2015 07:28:00 -0000", 30.0),
        ("Wed, 21 Oct 2015 09:28:00 +0200", 30.0),
        ("Wed, 21 Oct 2015 07:27:00 GMT", 0.0),
        ("Tue, 20 Oct 2015 07:28:00 GMT", 0.0),
    ],
)
def test_parse_retry_after(header: str, expected: float) -> None:
    assert parse_retry_after(header, now=lambda: FIXED_NOW) == expected


@pytest.mark.parametrize(
    "header", [None, "", "   ", "soon", "1.5", "-5", "1e3", "21 Oct 2015", "Wed, 99 Foo"]
)
def test_parse_retry_after_unreadable(header: str | None) -> None:
    assert parse_retry_after(header, now=lambda: FIXED_NOW) is None


def test_parse_retry_after_real_clock() -> None:
    assert parse_retry_after("Thu, 01 Jan 1970 00:00:00 GMT") == 0.0
