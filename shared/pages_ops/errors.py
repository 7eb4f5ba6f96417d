"""Exception tree of pages_ops.

Every exception the package raises derives from `PagesOpsError`. Failures talking to Cloudflare derive from
`CloudflareError` and split into transport failures (`CloudflareConnectionError`, `CloudflareTimeoutError`)
and error responses from the API (`CloudflareApiError` and its kinds). Messages name the HTTP method and
the path relative to the account (`/pages/projects/docs`), never the account id, a credential or a deploy
hook id.
"""

from __future__ import annotations

from dataclasses import dataclass


class PagesOpsError(Exception):
    """Root of every error raised by pages_ops."""


class ConfigError(PagesOpsError, ValueError):
    """An environment variable is missing or invalid. The message names the variable and the value."""


class SecretError(PagesOpsError):
    """The credentials secret could not be read or is malformed. The message never contains a value."""


class InvalidIdentifierError(PagesOpsError, ValueError):
    """A project name, deployment id or deploy hook URL is malformed, so no request was built from it."""


class CloudflareError(PagesOpsError):
    """A call to the Cloudflare API failed."""

    def __init__(self, message: str, *, method: str, path: str) -> None:
        super().__init__(message)
        self.method = method
        self.path = path


class CloudflareConnectionError(CloudflareError):
    """The request did not get an HTTP response: DNS, connect, TLS or a dropped connection."""


class CloudflareTimeoutError(CloudflareConnectionError):
    """The request timed out, or the caller's deadline left no time to send it."""


class CloudflareNotSentError(CloudflareConnectionError):
    """The request certainly never reached Cloudflare: no connection opened, or no time was left to send it.

    Unlike other connection failures, it cannot have started anything, so even a POST may be sent again.
    """


@dataclass(frozen=True, slots=True)
class ApiErrorDetail:
    """One entry of the `errors` list of Cloudflare's response envelope."""

    code: int | None
    message: str

    def __str__(self) -> str:
        return f"[{self.code}] {self.message}" if self.code is not None else self.message


class CloudflareApiError(CloudflareError):
    """Cloudflare responded with an error status, `success: false`, or a body that is not an envelope.

    `status` is the HTTP status and `errors` the API's error list (possibly empty). The raw body is not kept:
    callers that show errors to people must not echo upstream bodies.
    """

    def __init__(
        self,
        *,
        method: str,
        path: str,
        status: int,
        errors: tuple[ApiErrorDetail, ...] = (),
        reason: str | None = None,
    ) -> None:
        detail = "; ".join(str(error) for error in errors) or reason or "no error details in the response"
        super().__init__(f"{method} {path} failed with HTTP {status}: {detail}", method=method, path=path)
        self.status = status
        self.errors = errors

    @property
    def codes(self) -> tuple[int, ...]:
        """Cloudflare error codes of the response, in order."""
        return tuple(error.code for error in self.errors if error.code is not None)


class MalformedResponseError(CloudflareApiError):
    """The response body is not Cloudflare's JSON envelope (an HTML error page, truncated JSON, ...)."""


class NotFoundError(CloudflareApiError):
    """The project or deployment does not exist (HTTP 404, codes 8000007 and 8000009)."""


class ProjectNotFoundError(NotFoundError):
    """The Pages project does not exist in the account (code 8000007)."""


class DeploymentNotFoundError(NotFoundError):
    """The deployment does not exist or was already deleted (code 8000009)."""


class AuthenticationError(CloudflareApiError):
    """The credentials were rejected or lack a permission (HTTP 401/403, codes 10000 and 9106)."""


class RateLimitedError(CloudflareApiError):
    """Cloudflare's rate limit was hit (HTTP 429). `retry_after` is the advised wait in seconds, if sent."""

    def __init__(
        self,
        *,
        method: str,
        path: str,
        status: int,
        errors: tuple[ApiErrorDetail, ...] = (),
        reason: str | None = None,
        retry_after: float | None = None,
    ) -> None:
        super().__init__(method=method, path=path, status=status, errors=errors, reason=reason)
        self.retry_after = retry_after


class InvalidListOptionsError(CloudflareApiError):
    """The `page` or `per_page` query parameter was rejected (code 8000024)."""


class AliasedDeploymentError(CloudflareApiError):
    """An aliased deployment cannot be deleted without `force=true` (code 8000035)."""


class ServerError(CloudflareApiError):
    """Cloudflare failed with a 5xx status."""


class InvalidEventError(PagesOpsError, ValueError):
    """The invocation event is malformed or names a project this stack does not manage."""


class RunFailedError(PagesOpsError):
    """A scheduled run finished what it safely could, but at least one project failed.

    `results` contains every project's result (as returned on success), so logs and alarms see the whole run.
    """

    def __init__(self, message: str, *, results: list[dict[str, object]]) -> None:
        super().__init__(message)
        self.results = results
