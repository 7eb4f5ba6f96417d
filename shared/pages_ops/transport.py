"""HTTP transport to the Cloudflare API: authentication, rate limiting, retries and the response envelope.

This is the one place that turns HTTP responses into results or typed exceptions: callers never see
`success: false`. Every request has connect and read timeouts cut to the deadline, waits for the shared rate
limiter, and is retried only where repeating it is safe.
"""

from __future__ import annotations

import logging
import time
from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any, Final, Protocol

import requests
from requests.adapters import HTTPAdapter
from urllib3.exceptions import MaxRetryError, NewConnectionError, ReadTimeoutError

from pages_ops.credentials import Credentials
from pages_ops.errors import (
    AliasedDeploymentError,
    ApiErrorDetail,
    AuthenticationError,
    CloudflareApiError,
    CloudflareConnectionError,
    CloudflareNotSentError,
    CloudflareTimeoutError,
    DeploymentNotFoundError,
    InvalidListOptionsError,
    MalformedResponseError,
    NotFoundError,
    ProjectNotFoundError,
    RateLimitedError,
    ServerError,
)
from pages_ops.timing import Deadline, RateLimiter, RetryPolicy, parse_retry_after

logger = logging.getLogger(__name__)

USER_AGENT: Final = "cf-pages-ops/0.1 (+python-requests)"
# Methods whose repetition cannot create a second object. DELETE qualifies because deleting a deployment
# twice ends in "already deleted" (8000009), which callers count as done.
IDEMPOTENT_METHODS: Final = frozenset({"GET", "HEAD", "DELETE"})
RETRYABLE_STATUSES: Final = frozenset({408, 429, 500, 502, 503, 504})
# A request is not started with less time than this left, because no response could arrive in time.
MIN_REQUEST_SECONDS: Final = 0.25
REDACTED: Final = "<redacted>"

ERROR_CODE_CLASSES: Final[tuple[tuple[int, type[CloudflareApiError]], ...]] = (
    (8000035, AliasedDeploymentError),
    (8000009, DeploymentNotFoundError),
    (8000007, ProjectNotFoundError),
    (8000024, InvalidListOptionsError),
    (971, RateLimitedError),
    (10000, AuthenticationError),
    (9106, AuthenticationError),
)


class CredentialsProvider(Protocol):
    """Source of the transport's credentials, and of a fresh set after Cloudflare rejected one."""

    def credentials(self) -> Credentials: ...

    def refresh(self, rejected: Credentials) -> Credentials: ...


@dataclass(frozen=True, slots=True)
class Timeouts:
    """Per-request timeouts in seconds. Both are cut to the time left before the deadline."""

    connect: float = 3.05
    read: float = 10.0


@dataclass(frozen=True, slots=True)
class Envelope:
    """The useful part of a successful Cloudflare response."""

    result: Any
    result_info: Mapping[str, Any]


class Transport:
    """Send requests to one Cloudflare API root with one credentials provider."""

    def __init__(
        self,
        base_url: str,
        credentials: CredentialsProvider,
        *,
        rate_limiter: RateLimiter | None = None,
        retry: RetryPolicy | None = None,
        timeouts: Timeouts | None = None,
        session: requests.Session | None = None,
        pool_size: int = 16,
        redact: tuple[str, ...] = (),
    ) -> None:
        self.base_url = base_url.rstrip("/")
        # Values never shown in error messages (the account id): some Cloudflare errors echo the request path.
        self.redact = tuple(value for value in redact if value)
        self.credentials = credentials
        self.rate_limiter = rate_limiter
        self.retry = retry or RetryPolicy()
        self.timeouts = timeouts or Timeouts()
        self.deadline: Deadline | None = None
        self.session = session or _new_session(pool_size)

    def request(
        self,
        method: str,
        url: str,
        *,
        display_path: str,
        params: Mapping[str, str | int] | None = None,
        files: Mapping[str, tuple[None, str]] | None = None,
        authenticated: bool = True,
        redact: tuple[str, ...] = (),
    ) -> Envelope:
        """Send one logical request, retrying where safe, and return the unwrapped envelope.

        `display_path` is what logs and error messages show instead of the URL: the path relative to the
        account, with ids that work as credentials (deploy hooks) redacted. `redact` lists further values
        of this request (a deploy hook id) that error messages from the API must not repeat.
        """
        hidden = self.redact + tuple(value for value in redact if value)
        attempt = 0
        refreshed = False
        while True:
            attempt += 1
            credentials = self.credentials.credentials() if authenticated else None
            try:
                return self._send_once(
                    method,
                    url,
                    display_path=display_path,
                    params=params,
                    files=files,
                    credentials=credentials,
                    hidden=hidden,
                )
            except AuthenticationError:
                if credentials is None or refreshed:
                    raise
                # A rotated token takes effect now instead of when the secret cache expires. Without new
                # credentials the same request would fail again, so it is not repeated.
                refreshed = True
                if self.credentials.refresh(credentials) == credentials:
                    raise
                logger.info("retrying %s %s with refreshed credentials", method, display_path)
            except (CloudflareApiError, CloudflareConnectionError) as exc:
                delay = self._retry_delay(method, attempt, exc)
                if delay is None:
                    raise
                logger.info(
                    "retrying %s %s in %.2fs after attempt %d failed: %s",
                    method,
                    display_path,
                    delay,
                    attempt,
                    exc,
                )
                time.sleep(delay)

    def _send_once(
        self,
        method: str,
        url: str,
        *,
        display_path: str,
        params: Mapping[str, str | int] | None,
        files: Mapping[str, tuple[None, str]] | None,
        credentials: Credentials | None,
        hidden: tuple[str, ...] = (),
    ) -> Envelope:
        connect_timeout, read_timeout = self._timeouts(method, display_path)
        if self.rate_limiter is not None:
            try:
                self.rate_limiter.acquire(self.deadline)
            except TimeoutError as exc:
                raise _NotSentError(
                    f"{method} {display_path} not sent: the rate limiter's next slot is past the deadline",
                    method=method,
                    path=display_path,
                ) from exc
            connect_timeout, read_timeout = self._timeouts(method, display_path)

        headers = {"Accept": "application/json", "User-Agent": USER_AGENT}
        if credentials is not None:
            headers.update(credentials.headers())

        started = time.monotonic()
        try:
            response = self.session.request(
                method,
                url,
                params=params,
                files=files,
                headers=headers,
                timeout=(connect_timeout, read_timeout),
                allow_redirects=False,
            )
        except requests.exceptions.ConnectTimeout as exc:
            raise _ConnectPhaseTimeoutError(
                f"{method} {display_path} timed out connecting after {connect_timeout:.2f}s",
                method=method,
                path=display_path,
            ) from exc
        except requests.exceptions.RequestException as exc:
            if _never_connected(exc):
                raise _ConnectFailedError(
                    f"{method} {display_path} failed: could not connect ({type(exc).__name__})",
                    method=method,
                    path=display_path,
                ) from exc
            if _is_read_timeout(exc):
                raise CloudflareTimeoutError(
                    f"{method} {display_path} timed out waiting {read_timeout:.2f}s for a response",
                    method=method,
                    path=display_path,
                ) from exc
            raise CloudflareConnectionError(
                f"{method} {display_path} failed: {type(exc).__name__}", method=method, path=display_path
            ) from exc

        elapsed_ms = (time.monotonic() - started) * 1000
        logger.debug("%s %s -> %d in %.0f ms", method, display_path, response.status_code, elapsed_ms)
        return _unwrap(response, method, display_path, hidden)

    def _timeouts(self, method: str, display_path: str) -> tuple[float, float]:
        if self.deadline is None:
            return self.timeouts.connect, self.timeouts.read
        remaining = self.deadline.remaining()
        if remaining < MIN_REQUEST_SECONDS:
            raise _NotSentError(
                f"{method} {display_path} not sent: only {remaining:.2f}s left before the deadline",
                method=method,
                path=display_path,
            )
        return min(self.timeouts.connect, remaining), min(self.timeouts.read, remaining)

    def _retry_delay(self, method: str, attempt: int, error: Exception) -> float | None:
        """Seconds to wait before the next attempt, or None when the error must be raised now."""
        policy = self.retry
        if attempt >= policy.max_attempts or not _is_retryable(method, error, policy):
            return None
        if isinstance(error, _NotSentError):
            # The deadline refused the request: waiting moves the deadline closer as well.
            return None

        hint = error.retry_after if isinstance(error, RateLimitedError) else None
        if hint is not None:
            if hint > policy.max_retry_after:
                return None  # waiting that long would hold the invocation: let the caller decide
            delay = hint
        else:
            delay = policy.backoff(attempt)

        if self.deadline is not None and delay + MIN_REQUEST_SECONDS >= self.deadline.remaining():
            return None
        return delay


class _ConnectPhaseTimeoutError(CloudflareTimeoutError, CloudflareNotSentError):
    """A timeout before the connection was made, so the request certainly never reached Cloudflare."""


class _ConnectFailedError(CloudflareNotSentError):
    """The connection could not be opened (refused, unreachable, name not resolved)."""


class _NotSentError(CloudflareTimeoutError, CloudflareNotSentError):
    """The request was not sent because the deadline (or the rate limiter's next slot) left no time."""


def _never_connected(error: requests.exceptions.RequestException) -> bool:
    # requests wraps urllib3's MaxRetryError, whose reason is NewConnectionError (NameResolutionError is a
    # subclass) when no connection was opened, and so nothing of the request was sent.
    reason = error.args[0].reason if error.args and isinstance(error.args[0], MaxRetryError) else None
    return isinstance(error, requests.exceptions.ConnectionError) and isinstance(reason, NewConnectionError)


def _is_read_timeout(error: requests.exceptions.RequestException) -> bool:
    # When the headers arrived but the body stalled, requests raises a ConnectionError that wraps urllib3's
    # ReadTimeoutError instead of a Timeout.
    stalled_body = bool(error.args) and isinstance(error.args[0], ReadTimeoutError)
    return isinstance(error, requests.exceptions.Timeout) or stalled_body


def _is_retryable(method: str, error: Exception, policy: RetryPolicy) -> bool:
    if isinstance(error, RateLimitedError):
        # Cloudflare returns 429 before it processes the request, so even a POST can be repeated.
        return policy.retry_rate_limited
    if isinstance(error, _ConnectPhaseTimeoutError | _ConnectFailedError):
        return True
    if method not in IDEMPOTENT_METHODS:
        # A POST that creates a deployment may have succeeded before the failure: repeating it blindly could
        # start a second build.
        return False
    if isinstance(error, CloudflareConnectionError):
        return True
    return isinstance(error, CloudflareApiError) and error.status in RETRYABLE_STATUSES


def _new_session(pool_size: int) -> requests.Session:
    session = requests.Session()
    # Retries are done above, where the deadline and the rate limiter are known, so urllib3 must not retry.
    adapter = HTTPAdapter(pool_connections=2, pool_maxsize=pool_size, max_retries=0)
    session.mount("https://", adapter)
    session.mount("http://", adapter)
    return session


def _unwrap(
    response: requests.Response, method: str, display_path: str, hidden: tuple[str, ...] = ()
) -> Envelope:
    decode_error: ValueError | None = None
    try:
        body = response.json()
    except ValueError as exc:
        body = None
        decode_error = exc

    envelope_ok = isinstance(body, dict) and isinstance(body.get("success"), bool)
    if envelope_ok and body["success"] and response.ok:
        result_info = body.get("result_info")
        return Envelope(
            result=body.get("result"), result_info=result_info if isinstance(result_info, dict) else {}
        )

    status = response.status_code
    errors = _error_details(body, hidden) if envelope_ok else ()
    retry_after = parse_retry_after(response.headers.get("Retry-After"))
    error_class = _classify(status, tuple(detail.code for detail in errors if detail.code is not None))

    if error_class is RateLimitedError:
        raise RateLimitedError(
            method=method, path=display_path, status=status, errors=errors, retry_after=retry_after
        ) from decode_error
    if not envelope_ok and error_class is CloudflareApiError:
        # A 2xx or 4xx whose body is not an envelope: the response itself is broken.
        error_class = MalformedResponseError
    reason = None if envelope_ok else "response body is not a Cloudflare JSON envelope"
    raise error_class(
        method=method, path=display_path, status=status, errors=errors, reason=reason
    ) from decode_error


def _error_details(body: Mapping[str, Any], hidden: tuple[str, ...] = ()) -> tuple[ApiErrorDetail, ...]:
    items = body.get("errors")
    if not isinstance(items, list):
        return ()
    details = []
    for item in items:
        if not isinstance(item, Mapping):
            continue
        code = item.get("code")
        raw_message = item.get("message")
        message = raw_message.strip() if isinstance(raw_message, str) else ""
        for value in hidden:
            message = message.replace(value, REDACTED)
        valid_code = isinstance(code, int) and not isinstance(code, bool)
        details.append(ApiErrorDetail(code=code if valid_code else None, message=message))
    return tuple(details)


def _classify(status: int, codes: tuple[int, ...]) -> type[CloudflareApiError]:
    for code, error_class in ERROR_CODE_CLASSES:
        if code in codes:
            return error_class
    if status == 429:
        return RateLimitedError
    if status in (401, 403):
        return AuthenticationError
    if status == 404:
        return NotFoundError
    if status >= 500:
        return ServerError
    return CloudflareApiError
