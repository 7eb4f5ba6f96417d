"""Errors the stand-in returns, each with the HTTP status, error codes and body shape of the real API.

The store raises these for broken rules (unknown project, aliased deployment, ...) and the HTTP layer turns
them into response bodies, so a rule and its error response are defined in one place. Codes and messages
come from responses captured from the real API unless a comment marks them UNVERIFIED.
"""

from __future__ import annotations

from typing import Any, Final

# The captured 8000009 message ends with a space; clients that compare messages must see it too.
DEPLOYMENT_NOT_FOUND_MESSAGE: Final = (
    "The deployment ID you have specified does not exist. Update the deployment ID and try again. "
)
UNKNOWN_ERROR_MESSAGE: Final = "An unknown error occurred. Contact your account team or Cloudflare support"
RATE_LIMITED_MESSAGE: Final = "Please wait and consider throttling your request speed"


class PagesApiError(Exception):
    """An error response: HTTP `status` and the `errors` list of the envelope.

    A `lean` body carries only `success` and `errors`, the shape captured for authentication failures.
    Other bodies also carry `"messages": []` and `"result": null`.
    """

    status: int = 400
    code: int = 0
    message: str = ""
    lean: bool = False

    def __init__(
        self, message: str | None = None, *, error_chain: list[dict[str, Any]] | None = None
    ) -> None:
        self.detail = message if message is not None else type(self).message
        self.error_chain = error_chain
        super().__init__(f"HTTP {self.status} code {self.code}: {self.detail}")

    def errors(self) -> list[dict[str, Any]]:
        """Return the `errors` list of the response body."""
        error: dict[str, Any] = {"code": self.code, "message": self.detail}
        if self.error_chain is not None:
            error["error_chain"] = self.error_chain
        return [error]

    def body(self) -> dict[str, Any]:
        """Return the whole response body."""
        if self.lean:
            return {"success": False, "errors": self.errors()}
        return {"result": None, "success": False, "errors": self.errors(), "messages": []}


class ProjectNotFoundError(PagesApiError):
    status = 404
    code = 8000007
    message = "Project not found. The specified project name does not match any of your existing projects."


class DeploymentNotFoundError(PagesApiError):
    # UNVERIFIED: the code and message are captured, the HTTP status is not; 404 is the plausible one.
    status = 404
    code = 8000009
    message = DEPLOYMENT_NOT_FOUND_MESSAGE


class InvalidListOptionsError(PagesApiError):
    status = 400
    code = 8000024
    message = "Invalid list options provided. Review the `page` or `per_page` parameter."


class AliasedDeploymentError(PagesApiError):
    # UNVERIFIED: the code and message are sourced, the HTTP status is not.
    status = 400
    code = 8000035
    message = (
        "You cannot delete an aliased deployment without a `?force=true` parameter in the API request URL."
    )


class LiveDeploymentError(PagesApiError):
    # UNVERIFIED: the dashboard refuses to delete the live production deployment, but the API's status,
    # code and message for it are not documented. This stand-in refuses it even with force=true.
    status = 400
    code = 8000034
    message = (
        "You cannot delete the active production deployment of a project. "
        "Roll back to another deployment first, then delete this one."
    )


class DeploymentInProgressError(PagesApiError):
    # UNVERIFIED: deleting a queued or building deployment is refused here (the dashboard only offers to
    # cancel it), and the real API's response is not documented.
    status = 400
    code = 8000036
    message = "You cannot delete a deployment while it is queued or building. Wait for it to finish."


class InvalidRollbackTargetError(PagesApiError):
    # UNVERIFIED code and message. The rule itself is documented: only a successful production deployment
    # can be the target of a rollback.
    status = 400
    code = 8000013
    message = "Only a successful production deployment can be the target of a rollback."


class ManifestRequiredError(PagesApiError):
    # Status, code and message as reported for a deployment created without files through Cloudflare's Go
    # SDK. UNVERIFIED: that a bare POST, with no form fields at all, gets the same response.
    status = 400
    code = 8000096
    message = 'A "manifest" field was expected in the request body but was not provided.'


class InvalidRequestHeadersError(PagesApiError):
    """Code 6003 with an `error_chain` naming the header, as Cloudflare reports malformed headers."""

    status = 400
    code = 6003
    message = "Invalid request headers"

    def __init__(self, chain_code: int, chain_message: str) -> None:
        super().__init__(error_chain=[{"code": chain_code, "message": chain_message}])


class InvalidRequestBodyError(PagesApiError):
    # UNVERIFIED code: a multipart body that cannot be parsed.
    status = 400
    code = 9207
    message = "Request body is invalid."


class MissingAuthHeadersError(PagesApiError):
    status = 400
    code = 9106
    message = "Missing X-Auth-Key, X-Auth-Email or Authorization headers"
    lean = True


class AuthenticationFailedError(PagesApiError):
    """Wrong credentials, a Global API Key sent as a Bearer token, or an account the caller cannot access."""

    status = 403
    code = 10000
    message = "Authentication error"
    lean = True


class RouteNotFoundError(PagesApiError):
    """No route for the method and path: code 7003 followed by 7000, as Cloudflare reports it.

    A path whose shape is known but whose identifier is malformed gets HTTP 400; any other path 404.
    UNVERIFIED: which of the two statuses the real API uses varies between reports.
    """

    status = 404
    code = 7003

    def __init__(self, path: str, *, status: int = 404) -> None:
        self.status = status
        super().__init__(f"Could not route to {path}, perhaps your object identifier is invalid?")

    def errors(self) -> list[dict[str, Any]]:
        return [*super().errors(), {"code": 7000, "message": "No route for that URI"}]


class RateLimitedError(PagesApiError):
    # UNVERIFIED for the Pages endpoints: code 971 is what several clients report for HTTP 429.
    status = 429
    code = 971
    message = RATE_LIMITED_MESSAGE
