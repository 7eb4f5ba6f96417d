"""A bounded HTTP load generator for servers on the loopback interface.

A few threads send GET requests round-robin over a list of paths until a fixed duration has passed or a
request count is reached, whichever comes first. Each thread keeps one connection open, or with
`keep_alive=False` opens a new one per request. Only loopback hosts are accepted, so a typo cannot turn the
load onto another machine.
"""

from __future__ import annotations

import http.client
import threading
import time
from collections import Counter
from collections.abc import Sequence
from dataclasses import dataclass, field
from typing import Final
from urllib.parse import urlsplit

LOOPBACK_HOSTS: Final = frozenset({"127.0.0.1", "localhost", "::1"})


@dataclass(frozen=True, slots=True)
class LoadResult:
    """Responses by status, failed requests (no response), per-request latencies in seconds, wall time."""

    duration: float
    statuses: dict[int, int]
    errors: int
    latencies: tuple[float, ...] = field(repr=False)

    @property
    def completed(self) -> int:
        return sum(self.statuses.values())

    @property
    def per_second(self) -> float:
        return self.completed / self.duration if self.duration > 0 else 0.0


class _Budget:
    """The shared stop condition: a deadline and a number of requests left."""

    def __init__(self, duration: float, max_requests: int) -> None:
        self.deadline = time.monotonic() + duration
        self._left = max_requests
        self._lock = threading.Lock()

    def take(self) -> bool:
        if time.monotonic() >= self.deadline:
            return False
        with self._lock:
            if self._left <= 0:
                return False
            self._left -= 1
            return True


@dataclass(frozen=True, slots=True)
class _Target:
    host: str
    port: int
    prefix: str
    headers: dict[str, str]
    timeout: float
    keep_alive: bool

    def connect(self) -> http.client.HTTPConnection:
        return http.client.HTTPConnection(self.host, self.port, timeout=self.timeout)


def _send(
    target: _Target, paths: Sequence[str], offset: int, budget: _Budget
) -> tuple[list[tuple[int, float]], int]:
    """One thread's requests: (status, latency in seconds) of each answered request, and the failures."""
    answered: list[tuple[int, float]] = []
    failed = 0
    connection = target.connect()
    index = offset
    try:
        while budget.take():
            path = paths[index % len(paths)]
            index += 1
            started = time.perf_counter()
            try:
                connection.request("GET", target.prefix + path, headers=target.headers)
                response = connection.getresponse()
                response.read()
            except (OSError, http.client.HTTPException):
                failed += 1
                connection.close()
                connection = target.connect()
                continue
            answered.append((response.status, time.perf_counter() - started))
            if not target.keep_alive:
                connection.close()
    finally:
        connection.close()
    return answered, failed


def run_load(
    base_url: str,
    paths: Sequence[str],
    *,
    threads: int = 4,
    duration: float = 5.0,
    max_requests: int = 100_000,
    timeout: float = 10.0,
    keep_alive: bool = True,
) -> LoadResult:
    """Send GET requests to `base_url` + each of `paths` in turn from `threads` threads.

    Raises ValueError for a host other than the loopback interface, no paths, or a non-positive bound.
    """
    parts = urlsplit(base_url)
    if parts.scheme != "http" or parts.hostname not in LOOPBACK_HOSTS:
        raise ValueError(f"load is only sent to http://127.0.0.1 (or localhost, ::1), got {base_url!r}")
    if not paths:
        raise ValueError("run_load needs at least one path")
    if threads < 1 or duration <= 0 or max_requests < 1:
        raise ValueError(
            f"threads, duration and max_requests must be positive, got {threads}, {duration}, {max_requests}"
        )
    headers = {"Accept-Encoding": "gzip"}
    if not keep_alive:
        headers["Connection"] = "close"
    target = _Target(
        host=parts.hostname,
        port=parts.port or 80,
        prefix=parts.path.rstrip("/"),
        headers=headers,
        timeout=timeout,
        keep_alive=keep_alive,
    )
    budget = _Budget(duration, max_requests)
    lock = threading.Lock()
    answered: list[tuple[int, float]] = []
    failures = [0]

    def worker(offset: int) -> None:
        mine, failed = _send(target, paths, offset, budget)
        with lock:
            answered.extend(mine)
            failures[0] += failed

    started = time.monotonic()
    workers = [
        threading.Thread(target=worker, args=(offset,), name=f"load-{offset}") for offset in range(threads)
    ]
    for thread in workers:
        thread.start()
    for thread in workers:
        thread.join()
    return LoadResult(
        duration=time.monotonic() - started,
        statuses=dict(Counter(status for status, _ in answered)),
        errors=failures[0],
        latencies=tuple(latency for _, latency in answered),
    )
