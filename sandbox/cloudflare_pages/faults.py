"""Fault injection: slow, failing, hanging, garbled and reset responses on chosen requests.

Each fault matches an optional HTTP method and a regular expression searched in the request path (query
excluded), and applies to the next `count` matching requests, or to every matching request until it is
cleared when `count` is None. Latency faults add up and let the request through; the first other fault that
matches decides the response instead of the API. Faulted requests never reach the rate limiter.
"""

from __future__ import annotations

import json
import math
import re
import threading
from dataclasses import dataclass, field
from datetime import UTC, datetime
from email.utils import format_datetime
from enum import StrEnum
from typing import Final

from sandbox.cloudflare_pages.errors import RATE_LIMITED_MESSAGE, UNKNOWN_ERROR_MESSAGE

# A response cut off mid-body, as a proxy or a dropped connection leaves it.
TRUNCATED_JSON_BODY: Final = b'{"result":[{"id":"2f5a9d1c-'
HTML_ERROR_PAGE: Final = (
    b'<!DOCTYPE html>\n<html lang="en">\n<head><title>502 Bad Gateway</title></head>\n'
    b"<body>\n<h1>502 Bad Gateway</h1>\n<p>The upstream server returned an invalid response.</p>\n"
    b"<hr><p>cloudflare</p>\n</body>\n</html>\n"
)


class FaultKind(StrEnum):
    LATENCY = "latency"
    SERVER_ERROR = "server_error"
    RATE_LIMITED = "rate_limited"
    HANG = "hang"
    MALFORMED_BODY = "malformed_body"
    CONNECTION_RESET = "connection_reset"


@dataclass(eq=False)
class Fault:
    """One injected fault. `hits` counts the requests it applied to; `clear()` removes it.

    For responses it produces: `status`, `body`, `content_type` and extra `headers`. For LATENCY: `seconds`.
    """

    kind: FaultKind
    method: str | None
    path: re.Pattern[str] | None
    remaining: int | None
    seconds: float = 0.0
    status: int = 500
    body: bytes = b""
    content_type: str = "application/json"
    headers: tuple[tuple[str, str], ...] = ()
    hits: int = 0
    _released: threading.Event = field(default_factory=threading.Event, repr=False)
    _owner: FaultInjector | None = field(default=None, repr=False)

    def matches(self, method: str, path: str) -> bool:
        if self.method is not None and self.method != method.upper():
            return False
        return self.path is None or self.path.search(path) is not None

    @property
    def released(self) -> bool:
        """True once a hang has been cleared: held requests then go on to the API."""
        return self._released.is_set()

    def wait_released(self, timeout: float) -> bool:
        return self._released.wait(timeout)

    def clear(self) -> None:
        """Remove this fault and release the requests waiting on it."""
        if self._owner is not None:
            self._owner.remove(self)
        self._released.set()


@dataclass(frozen=True, slots=True)
class FaultMatch:
    """The faults of one request: total added latency, and the fault that produces its response, if any."""

    latency: float
    fault: Fault | None


def _envelope(code: int, message: str) -> bytes:
    body = {"result": None, "success": False, "errors": [{"code": code, "message": message}], "messages": []}
    return json.dumps(body, separators=(",", ":")).encode()


class FaultInjector:
    """The faults of one sandbox. Thread-safe; add faults from test code while requests are in flight."""

    def __init__(self) -> None:
        self._lock = threading.Lock()
        self._faults: list[Fault] = []
        self._holding: list[Fault] = []
        self._global_latency = 0.0

    @property
    def global_latency(self) -> float:
        """Seconds added to every request, e.g. 0.05 to make benchmarks see a realistic round trip."""
        with self._lock:
            return self._global_latency

    @global_latency.setter
    def global_latency(self, seconds: float) -> None:
        if seconds < 0:
            raise ValueError(f"latency must be zero or more seconds, got {seconds}")
        with self._lock:
            self._global_latency = seconds

    @property
    def active(self) -> list[Fault]:
        """The faults that still apply, in the order they were added."""
        with self._lock:
            return list(self._faults)

    def add_latency(
        self, seconds: float, *, method: str | None = None, path: str | None = None, count: int | None = None
    ) -> Fault:
        """Delay matching requests by `seconds` before the API handles them."""
        if seconds < 0:
            raise ValueError(f"latency must be zero or more seconds, got {seconds}")
        return self._add(Fault(FaultKind.LATENCY, *self._filters(method, path, count), seconds=seconds))

    def server_error(
        self,
        *,
        status: int = 500,
        code: int = 8000000,
        message: str = UNKNOWN_ERROR_MESSAGE,
        method: str | None = None,
        path: str | None = None,
        count: int | None = None,
    ) -> Fault:
        """Respond to matching requests with a 5xx status and an error envelope (default code 8000000)."""
        if not 500 <= status <= 599:
            raise ValueError(f"server_error needs a 5xx status, got {status}")
        fault = Fault(
            FaultKind.SERVER_ERROR,
            *self._filters(method, path, count),
            status=status,
            body=_envelope(code, message),
        )
        return self._add(fault)

    def rate_limited(
        self,
        *,
        retry_after: float | datetime | None = 1.0,
        method: str | None = None,
        path: str | None = None,
        count: int | None = None,
    ) -> Fault:
        """Respond to matching requests with HTTP 429 and code 971.

        `retry_after` sets the `Retry-After` header: seconds (rounded up to whole seconds), a datetime (sent
        as an HTTP date), or None to leave the header out.
        """
        headers: tuple[tuple[str, str], ...] = ()
        if isinstance(retry_after, datetime):
            moment = retry_after if retry_after.utcoffset() is not None else retry_after.replace(tzinfo=UTC)
            headers = (("Retry-After", format_datetime(moment.astimezone(UTC), usegmt=True)),)
        elif retry_after is not None:
            if retry_after < 0:
                raise ValueError(f"retry_after must be zero or more seconds, got {retry_after}")
            # The header carries whole seconds (RFC 9110), so a fraction is rounded up.
            headers = (("Retry-After", str(math.ceil(retry_after))),)
        fault = Fault(
            FaultKind.RATE_LIMITED,
            *self._filters(method, path, count),
            status=429,
            body=_envelope(971, RATE_LIMITED_MESSAGE),
            headers=headers,
        )
        return self._add(fault)

    def hang(self, *, method: str | None = None, path: str | None = None, count: int | None = None) -> Fault:
        """Hold matching requests without a response until the fault is cleared or the server stops.

        A held request goes on to the API once cleared; when the server stops, its connection is closed
        without a response.
        """
        return self._add(Fault(FaultKind.HANG, *self._filters(method, path, count)))

    def malformed_body(
        self,
        *,
        kind: str = "truncated_json",
        status: int | None = None,
        method: str | None = None,
        path: str | None = None,
        count: int | None = None,
    ) -> Fault:
        """Respond to matching requests with a body that is not an envelope.

        `kind="truncated_json"`: JSON cut off mid-object, `application/json`, default status 200.
        `kind="html"`: an HTML error page as a proxy serves it, `text/html`, default status 502.
        """
        if kind == "truncated_json":
            body, content_type, default_status = TRUNCATED_JSON_BODY, "application/json", 200
        elif kind == "html":
            body, content_type, default_status = HTML_ERROR_PAGE, "text/html; charset=UTF-8", 502
        else:
            raise ValueError(f"unknown malformed body kind {kind!r}; use 'truncated_json' or 'html'")
        fault = Fault(
            FaultKind.MALFORMED_BODY,
            *self._filters(method, path, count),
            status=status or default_status,
            body=body,
            content_type=content_type,
        )
        return self._add(fault)

    def reset_connection(
        self, *, method: str | None = None, path: str | None = None, count: int | None = None
    ) -> Fault:
        """Drop matching requests' connections with a TCP reset instead of a response."""
        return self._add(Fault(FaultKind.CONNECTION_RESET, *self._filters(method, path, count)))

    def remove(self, fault: Fault) -> None:
        with self._lock:
            if fault in self._faults:
                self._faults.remove(fault)

    def clear(self) -> None:
        """Remove every fault, set the global latency back to 0, and let held requests go on."""
        with self._lock:
            faults, self._faults = self._faults, []
            holding, self._holding = self._holding, []
            self._global_latency = 0.0
        for fault in [*faults, *holding]:
            fault._released.set()

    def release_all(self) -> None:
        """Let every held request go on; used when the server stops."""
        with self._lock:
            holding = list(self._holding)
        for fault in holding:
            fault._released.set()

    def match(self, method: str, path: str) -> FaultMatch:
        """Find the faults for one request and count it against each of them."""
        with self._lock:
            latency = self._global_latency
            answer: Fault | None = None
            for fault in list(self._faults):
                if not fault.matches(method, path):
                    continue
                if fault.kind is FaultKind.LATENCY:
                    latency += fault.seconds
                elif answer is None:
                    answer = fault
                else:
                    continue
                self._consume(fault)
            return FaultMatch(latency, answer)

    def _consume(self, fault: Fault) -> None:
        fault.hits += 1
        if fault.remaining is not None:
            fault.remaining -= 1
            if fault.remaining <= 0:
                self._faults.remove(fault)

    def _add(self, fault: Fault) -> Fault:
        fault._owner = self
        with self._lock:
            self._faults.append(fault)
            if fault.kind is FaultKind.HANG:
                self._holding.append(fault)
        return fault

    @staticmethod
    def _filters(
        method: str | None, path: str | None, count: int | None
    ) -> tuple[str | None, re.Pattern[str] | None, int | None]:
        if count is not None and count < 1:
            raise ValueError(f"count must be at least 1, or None for every matching request; got {count}")
        return (method.upper() if method else None, re.compile(path) if path is not None else None, count)
