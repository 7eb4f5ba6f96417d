"""The API's request handling, independent of HTTP plumbing: routing, authentication, limits and envelopes.

`PagesApi.handle` takes a parsed request and returns status, headers and body. It applies these checks in
order, and the first one that fails decides the response:

1. The path must be under `/client/v4`, else 404 with code 7003.
2. Deploy hooks need no credentials. Every other route needs them: 400 with code 9106 when they are
   missing, 403 with code 10000 when they are wrong.
3. The rate limit, else 429 with code 971.
4. The route shape and its identifiers: 404 for an unknown route, 400 for a malformed id, both code 7003.
5. The account id must be the sandbox's, else 403 with code 10000.
6. The store applies the operation's rules.
"""

from __future__ import annotations

import json
import logging
import re
from collections.abc import Callable, Mapping
from dataclasses import dataclass
from email.message import Message
from email.parser import BytesParser
from email.policy import HTTP
from typing import Any, Final
from urllib.parse import unquote

from sandbox.cloudflare_pages.constants import (
    ACCOUNT_ID_PATTERN,
    API_PREFIX,
    DEFAULT_PER_PAGE,
    EMAIL_PATTERN,
    GLOBAL_API_KEY_PATTERN,
    MAX_PER_PAGE,
    PROJECT_NAME_PATTERN,
    UUID_PATTERN,
)
from sandbox.cloudflare_pages.errors import (
    AuthenticationFailedError,
    InvalidListOptionsError,
    InvalidRequestBodyError,
    InvalidRequestHeadersError,
    MissingAuthHeadersError,
    PagesApiError,
    RateLimitedError,
    RouteNotFoundError,
)
from sandbox.cloudflare_pages.ratelimit import RateDecision, RateLimiter
from sandbox.cloudflare_pages.store import PagesStore, UnknownDeployHookError

logger = logging.getLogger(__name__)

JSON_CONTENT_TYPE: Final = "application/json"
_HOOK_PREFIX: Final = ("pages", "webhooks", "deploy_hooks")
_ENVIRONMENTS: Final = frozenset({"production", "preview"})
# A deploy hook URL is a credential, so its id never goes into a log line.
_HOOK_ID_IN_PATH: Final = re.compile(r"(/deploy_hooks/)[^/?\s]+")


@dataclass(frozen=True, slots=True)
class ApiRequest:
    """One request as the handler receives it. `path` excludes the query, and `query` keeps first values."""

    method: str
    path: str
    query: Mapping[str, str]
    headers: Mapping[str, str]
    body: bytes = b""

    def header(self, name: str) -> str | None:
        """Return a header's value, matching the name case-insensitively."""
        wanted = name.lower()
        for key, value in self.headers.items():
            if key.lower() == wanted:
                return value
        return None


@dataclass(frozen=True, slots=True)
class ApiResponse:
    status: int
    body: bytes
    headers: tuple[tuple[str, str], ...] = ()
    content_type: str = JSON_CONTENT_TYPE


@dataclass(frozen=True, slots=True)
class _Route:
    """A matched route: the operation and its decoded path parameters."""

    operation: str
    account_id: str
    project: str | None = None
    deployment_id: str | None = None


# Route shapes after `/accounts/{account_id}/pages/projects`: literal segments, `{project}` and `{id}`
# placeholders, and the operation for each allowed method.
_ROUTES: Final[tuple[tuple[tuple[str, ...], dict[str, str]], ...]] = (
    ((), {"GET": "list_projects"}),
    (("{project}",), {"GET": "get_project"}),
    (("{project}", "deployments"), {"GET": "list_deployments", "POST": "create_deployment"}),
    (("{project}", "deployments", "{id}"), {"GET": "get_deployment", "DELETE": "delete_deployment"}),
    (("{project}", "deployments", "{id}", "history", "logs"), {"GET": "deployment_logs"}),
    (("{project}", "deployments", "{id}", "retry"), {"POST": "retry_deployment"}),
    (("{project}", "deployments", "{id}", "rollback"), {"POST": "rollback_deployment"}),
)


def loggable_path(path: str) -> str:
    """Return `path` with any deploy hook id replaced, fit for a log line."""
    return _HOOK_ID_IN_PATH.sub(r"\1<hook id>", path)


def encode_json(value: Any) -> bytes:
    return json.dumps(value, separators=(",", ":"), ensure_ascii=False).encode("utf-8")


def success_body(result: Any, result_info: dict[str, int] | None = None) -> dict[str, Any]:
    """Build the success envelope, with its keys in the order of captured responses."""
    body: dict[str, Any] = {"result": result, "success": True, "errors": [], "messages": []}
    if result_info is not None:
        body["result_info"] = result_info
    return body


def error_response(error: PagesApiError, headers: list[tuple[str, str]] | None = None) -> ApiResponse:
    return ApiResponse(error.status, encode_json(error.body()), tuple(headers or ()))


def auth_kind(request: ApiRequest) -> str | None:
    """Return which credentials a request carries ("bearer", "global_key" or None), never their values."""
    if request.header("X-Auth-Email") is not None or request.header("X-Auth-Key") is not None:
        return "global_key"
    authorization = request.header("Authorization")
    if authorization is not None and authorization[:7].lower() == "bearer ":
        return "bearer"
    return None


class PagesApi:
    """Turns `ApiRequest`s into `ApiResponse`s against a store and a rate limiter."""

    def __init__(self, store: PagesStore, limiter: RateLimiter) -> None:
        self.store = store
        self.limiter = limiter
        self._operations: dict[str, Callable[[_Route, ApiRequest], ApiResponse]] = {
            "list_projects": self._list_projects,
            "get_project": self._get_project,
            "list_deployments": self._list_deployments,
            "create_deployment": self._create_deployment,
            "get_deployment": self._get_deployment,
            "delete_deployment": self._delete_deployment,
            "deployment_logs": self._deployment_logs,
            "retry_deployment": self._retry_deployment,
            "rollback_deployment": self._rollback_deployment,
        }

    def handle(self, request: ApiRequest) -> ApiResponse:
        rate_headers: list[tuple[str, str]] = []
        try:
            if not request.path.startswith(API_PREFIX + "/"):
                raise RouteNotFoundError(request.path)
            segments = request.path[len(API_PREFIX) + 1 :].split("/")

            if tuple(segments[:3]) == _HOOK_PREFIX:
                return self._deploy_hook(request, segments, rate_headers)

            self._authenticate(request)
            rate_headers = self._count(request)
            route = self._route(request.method, segments, request.path)
            if route.account_id != self.store.account_id:
                # The strictest plausible response: the credentials cannot access this account.
                raise AuthenticationFailedError
            response = self._operations[route.operation](route, request)
            return ApiResponse(response.status, response.body, (*response.headers, *rate_headers))
        except PagesApiError as error:
            logger.debug(
                "Sandbox %s %s failed: HTTP %s code %s",
                request.method,
                loggable_path(request.path),
                error.status,
                error.code,
            )
            if isinstance(error, _RateLimitedWithHeadersError):
                return error_response(error, error.headers)
            return error_response(error, rate_headers)

    # -- checks ---------------------------------------------------------------------------------------------

    def _authenticate(self, request: ApiRequest) -> None:
        """Check credentials as Cloudflare does; the Global API Key headers win when both forms are sent."""
        email = request.header("X-Auth-Email")
        key = request.header("X-Auth-Key")
        if email is not None or key is not None:
            if not email or not key:
                raise MissingAuthHeadersError
            if self.store.accepts_global_key(email, key):
                return
            if EMAIL_PATTERN.fullmatch(email) is None:
                raise InvalidRequestHeadersError(6102, "Invalid format for X-Auth-Email header")
            if GLOBAL_API_KEY_PATTERN.fullmatch(key) is None and not self.store.is_current_api_key(key):
                raise InvalidRequestHeadersError(6103, "Invalid format for X-Auth-Key header")
            raise AuthenticationFailedError

        authorization = request.header("Authorization")
        # An Authorization header that is not a Bearer token counts as missing, as reported for the real API.
        if authorization is None or authorization[:7].lower() != "bearer ":
            raise MissingAuthHeadersError
        token = authorization[7:].strip()
        if not token:
            raise InvalidRequestHeadersError(6111, "Invalid format for Authorization header")
        if not self.store.accepts_token(token):
            raise AuthenticationFailedError

    def _count(self, request: ApiRequest) -> list[tuple[str, str]]:
        decision: RateDecision = self.limiter.acquire()
        headers = self.limiter.headers(decision)
        if not decision.allowed:
            logger.info("Sandbox rate limit hit by %s %s", request.method, loggable_path(request.path))
            raise _RateLimitedWithHeadersError(headers)
        return headers

    def _route(self, method: str, segments: list[str], path: str) -> _Route:
        if len(segments) < 4 or segments[0] != "accounts" or segments[2:4] != ["pages", "projects"]:
            raise RouteNotFoundError(path)
        rest = segments[4:]
        for shape, methods in _ROUTES:
            if len(shape) != len(rest) or any(
                not part.startswith("{") and part != actual for part, actual in zip(shape, rest, strict=True)
            ):
                continue
            operation = methods.get(method.upper())
            if operation is None:
                raise RouteNotFoundError(path)
            account_id = unquote(segments[1])
            project = unquote(rest[0]) if rest else None
            deployment_id = unquote(rest[2]) if len(rest) > 2 else None
            malformed = (
                ACCOUNT_ID_PATTERN.fullmatch(account_id) is None
                or (project is not None and PROJECT_NAME_PATTERN.fullmatch(project) is None)
                or (deployment_id is not None and UUID_PATTERN.fullmatch(deployment_id) is None)
            )
            if malformed:
                raise RouteNotFoundError(path, status=400)
            return _Route(operation, account_id, project, deployment_id)
        raise RouteNotFoundError(path)

    # -- deploy hooks ---------------------------------------------------------------------------------------

    def _deploy_hook(
        self, request: ApiRequest, segments: list[str], rate_headers: list[tuple[str, str]]
    ) -> ApiResponse:
        """POST /pages/webhooks/deploy_hooks/{hook_id}: no credentials, the URL is the secret."""
        if len(segments) != 4 or request.method.upper() != "POST":
            raise RouteNotFoundError(request.path)
        rate_headers.extend(self._count(request))
        hook_id = unquote(segments[3])
        if UUID_PATTERN.fullmatch(hook_id) is None:
            raise RouteNotFoundError(request.path, status=400)
        try:
            created = self.store.trigger_deploy_hook(hook_id)
        except UnknownDeployHookError as error:
            # UNVERIFIED: the API's response to an unknown hook id is not documented; here it is "no route".
            raise RouteNotFoundError(request.path) from error
        # Only `id` of the result is documented for deploy hooks; nothing more is promised here.
        return ApiResponse(200, encode_json(success_body({"id": created["id"]})), tuple(rate_headers))

    # -- operations -----------------------------------------------------------------------------------------

    def _list_projects(self, route: _Route, request: ApiRequest) -> ApiResponse:
        page, per_page = _list_options(request.query)
        items, total = self.store.list_projects(page=page, per_page=per_page)
        return _page_response(items, total, page, per_page)

    def _get_project(self, route: _Route, request: ApiRequest) -> ApiResponse:
        return _ok(self.store.get_project(_required(route.project)))

    def _list_deployments(self, route: _Route, request: ApiRequest) -> ApiResponse:
        page, per_page = _list_options(request.query)
        environment = request.query.get("env")
        if environment is not None and environment not in _ENVIRONMENTS:
            raise InvalidListOptionsError
        items, total = self.store.list_deployments(
            _required(route.project), environment=environment, page=page, per_page=per_page
        )
        return _page_response(items, total, page, per_page)

    def _create_deployment(self, route: _Route, request: ApiRequest) -> ApiResponse:
        project = _required(route.project)
        fields = _form_fields(request)
        branch = fields.get("branch") or None
        if "manifest" in fields:
            created = self.store.start_build(
                project,
                branch=branch,
                upload=True,
                commit_hash=fields.get("commit_hash"),
                commit_message=fields.get("commit_message"),
                commit_dirty=fields.get("commit_dirty", "").lower() == "true",
            )
        else:
            created = self.store.start_build(project, branch=branch)
        return _ok(created)

    def _get_deployment(self, route: _Route, request: ApiRequest) -> ApiResponse:
        return _ok(self.store.get_deployment(_required(route.project), _required(route.deployment_id)))

    def _delete_deployment(self, route: _Route, request: ApiRequest) -> ApiResponse:
        # Only the exact value `true` forces, as in Cloudflare's documentation (`?force=true`).
        force = request.query.get("force") == "true"
        self.store.delete_deployment(_required(route.project), _required(route.deployment_id), force=force)
        return _ok(None)

    def _deployment_logs(self, route: _Route, request: ApiRequest) -> ApiResponse:
        return _ok(self.store.deployment_logs(_required(route.project), _required(route.deployment_id)))

    def _retry_deployment(self, route: _Route, request: ApiRequest) -> ApiResponse:
        return _ok(self.store.retry(_required(route.project), _required(route.deployment_id)))

    def _rollback_deployment(self, route: _Route, request: ApiRequest) -> ApiResponse:
        return _ok(self.store.rollback(_required(route.project), _required(route.deployment_id)))


class _RateLimitedWithHeadersError(RateLimitedError):
    """A 429 that carries the limiter's headers (`Retry-After` among them) to the response."""

    def __init__(self, headers: list[tuple[str, str]]) -> None:
        super().__init__()
        self.headers = headers


def _required(value: str | None) -> str:
    if value is None:
        raise RuntimeError("route matched without a required path parameter")
    return value


def _ok(result: Any) -> ApiResponse:
    return ApiResponse(200, encode_json(success_body(result)))


def _page_response(items: list[dict[str, Any]], total: int, page: int, per_page: int) -> ApiResponse:
    # Page 1 of an empty list is `[]`, and any other page past the end is rejected. UNVERIFIED: the real
    # API may return `[]` for a page past the end instead of code 8000024. This is the stricter choice.
    if not items and not (page == 1 and total == 0):
        raise InvalidListOptionsError
    result_info = {
        "page": page,
        "per_page": per_page,
        "count": len(items),
        "total_count": total,
        "total_pages": -(-total // per_page),
    }
    return ApiResponse(200, encode_json(success_body(items, result_info)))


def _list_options(query: Mapping[str, str]) -> tuple[int, int]:
    """Validate `page` and `per_page` as the API does: integers, per_page 1..25, no page without per_page."""
    raw_page = query.get("page")
    raw_per_page = query.get("per_page")
    if raw_page is not None and raw_per_page is None:
        # Reported for the real API: `page` alone is rejected.
        raise InvalidListOptionsError
    page = _positive_int(raw_page) if raw_page is not None else 1
    per_page = _positive_int(raw_per_page) if raw_per_page is not None else DEFAULT_PER_PAGE
    if per_page > MAX_PER_PAGE:
        raise InvalidListOptionsError
    return page, per_page


def _positive_int(text: str) -> int:
    if not text.isascii() or not text.isdigit() or int(text) < 1:
        raise InvalidListOptionsError
    return int(text)


def _form_fields(request: ApiRequest) -> dict[str, str]:
    """Read the fields of a create-deployment body: empty, or multipart/form-data.

    Cloudflare's own example sends no body at all, which builds the production branch. Any other content
    type is rejected rather than ignored, so a client that sends the branch as JSON or a URL-encoded form
    learns it at once instead of silently building production. UNVERIFIED: the real API's answer to
    those bodies.
    """
    if not request.body.strip():
        return {}
    content_type = request.header("Content-Type") or ""
    if not content_type.lower().startswith("multipart/form-data"):
        raise InvalidRequestHeadersError(
            6105, "Invalid Content-Type header, valid values are multipart/form-data"
        )
    message = BytesParser(policy=HTTP).parsebytes(
        b"Content-Type: " + content_type.encode("latin-1", "replace") + b"\r\n\r\n" + request.body
    )
    if not message.is_multipart() or message.defects:
        raise InvalidRequestBodyError
    fields: dict[str, str] = {}
    for part in message.iter_parts():
        name = part.get_param("name", header="content-disposition")
        if not isinstance(name, str):
            raise InvalidRequestBodyError
        payload = part.get_payload(decode=True) if isinstance(part, Message) else None
        if isinstance(payload, bytes):
            fields.setdefault(name, payload.decode("utf-8", "replace"))
    return fields
