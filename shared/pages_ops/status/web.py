"""HTTP side of the status page: routing with Powertools, response headers, ETags, compression, auth.

`handle_request` is the Lambda entry point's one call. It picks `APIGatewayHttpResolver` for HTTP API
payload 2.0 events and `APIGatewayRestResolver` for REST API (payload 1.0) events, strips the mount prefix
(stage or custom-domain base path, see `mount`) before routing, and keeps that prefix in every link.

Routes (GET and HEAD; any other method gets 405 with `Allow: GET, HEAD`):
`/` (HTML index), `/projects/{name}` (HTML, `?page=N`), `/api/projects/{name}` (JSON, `?page=N`) and
`/projects/{name}/badge.svg` (SVG). A name outside PAGES_PROJECTS gets the same 404 as a missing project.

One `StatusApp` lives per container. It renders each page once per change of the cached data and serves
repeated requests from that rendering (with its ETag, and gzip when the client accepts it). A cache hit
therefore costs no upstream call and no rendering. Powertools resolvers keep per-request state on the
class, so `handle` serves one request at a time per process, as Lambda does.
"""

from __future__ import annotations

import gzip
import hashlib
import json
import logging
import math
import threading
from collections import OrderedDict
from collections.abc import Callable, Mapping
from dataclasses import dataclass
from datetime import UTC, datetime
from typing import Any, Final, Literal, Protocol, cast

from aws_lambda_powertools.event_handler import APIGatewayHttpResolver, APIGatewayRestResolver, Response
from aws_lambda_powertools.event_handler.api_gateway import ApiGatewayResolver

from pages_ops.client import PagesClient
from pages_ops.config import Settings
from pages_ops.credentials import SecretDocument
from pages_ops.errors import SecretError
from pages_ops.status import badge, document, html
from pages_ops.status.auth import CHALLENGE, BasicAuth
from pages_ops.status.cache import UpstreamUnavailableError
from pages_ops.status.mount import Links, locate, routed_event
from pages_ops.status.service import (
    MAX_PAGE,
    PageNotFoundError,
    ProjectView,
    StatusService,
    UnknownProjectError,
)
from pages_ops.timing import Deadline

logger = logging.getLogger(__name__)

Kind = Literal["html", "json", "svg"]
# Bodies are text, or bytes when gzip-encoded (Powertools then base64-encodes them for API Gateway).
HttpResponse = Response[Any]

ALLOWED_METHODS: Final = "GET, HEAD"
HTML_CSP: Final = (
    "default-src 'none'; style-src 'unsafe-inline'; img-src 'self' data:; base-uri 'none'; "
    "form-action 'none'; frame-ancestors 'none'"
)
JSON_CSP: Final = "default-src 'none'; frame-ancestors 'none'"
SVG_CSP: Final = "default-src 'none'; style-src 'unsafe-inline'; frame-ancestors 'none'"
CONTENT_TYPES: Final[dict[Kind, str]] = {
    "html": "text/html; charset=utf-8",
    "json": "application/json; charset=utf-8",
    "svg": "image/svg+xml; charset=utf-8",
}
CSP: Final[dict[Kind, str]] = {"html": HTML_CSP, "json": JSON_CSP, "svg": SVG_CSP}
ERROR_CACHE_CONTROL: Final = "no-store, max-age=0"
# Bodies shorter than this are sent as they are: gzip would save little and cost a base64 round trip.
MIN_GZIP_BYTES: Final = 1024
# Upstream calls of one request must end within this many seconds, and at least RESERVE_SECONDS before
# the Lambda timeout, so a slow Cloudflare turns into stale data or a 503 rather than a timeout.
UPSTREAM_BUDGET_SECONDS: Final = 6.0
RESERVE_SECONDS: Final = 1.0
MAX_RENDERED: Final = 128


class LogSink(Protocol):
    """The logging calls this module makes; both `logging.Logger` and the Powertools Logger fit."""

    def warning(self, msg: object, *args: object) -> None: ...

    def exception(self, msg: object, *args: object) -> None: ...


class MetricsSink(Protocol):
    """The Powertools Metrics call this module makes."""

    def add_metric(self, name: str, unit: str, value: float) -> None: ...


class SecretReader(Protocol):
    """Source of the status page users (`pages_ops.credentials.SecretSource`)."""

    def get(self) -> SecretDocument: ...


class Rendered:
    """One rendered body with its ETag; the gzip form is made on first request and kept."""

    __slots__ = ("_gzipped", "etag", "text")

    def __init__(self, text: str) -> None:
        self.text = text
        digest = hashlib.sha256(text.encode("utf-8")).hexdigest()[:32]
        # Weak, because the same entity is also served gzip-encoded under the same tag.
        self.etag = f'W/"{digest}"'
        self._gzipped: bytes | None = None

    def gzipped(self) -> bytes:
        if self._gzipped is None:
            self._gzipped = gzip.compress(self.text.encode("utf-8"), compresslevel=6, mtime=0)
        return self._gzipped


@dataclass(slots=True)
class Request:
    """Details of the request being served, as the routes use them."""

    method: str
    kind: Kind
    links: Links
    prefix: str
    request_id: str | None
    authorization: str | None
    if_none_match: str | None
    accept_encoding: str | None
    page: str | None
    auth_enabled: bool = False
    outcome: str = "ok"


class StatusApp:
    """The status page of one container: service (data cache), rendered pages and the two resolvers."""

    def __init__(
        self,
        settings: Settings,
        client: PagesClient,
        secrets: SecretReader,
        *,
        service: StatusService | None = None,
        wall_clock: Callable[[], datetime] = lambda: datetime.now(UTC),
    ) -> None:
        self.settings = settings
        self.client = client
        self.secrets = secrets
        self.service = service or StatusService(settings, client)
        self._wall_clock = wall_clock
        self._rendered: OrderedDict[tuple[object, ...], tuple[tuple[int, ...], Rendered]] = OrderedDict()
        self._rendered_lock = threading.Lock()
        self._auth: tuple[Mapping[str, str], BasicAuth] | None = None
        self._resolvers: dict[bool, ApiGatewayResolver] = {}
        self._log: LogSink = logger

    # Entry

    def handle(
        self,
        event: Mapping[str, Any],
        context: Any,
        *,
        log: LogSink | None = None,
        metrics: MetricsSink | None = None,
    ) -> dict[str, Any]:
        """Serve one API Gateway event and return the API Gateway response."""
        self._log = log or logger
        http_api = event.get("version") == "2.0"
        mount = locate(event)
        request = _request(event, http_api=http_api, prefix=mount.prefix, path=mount.path, context=context)
        self.client.deadline = _deadline(context)
        calls_before = self.service.upstream_calls

        resolver = self._resolver(http_api)
        resolver.context["request"] = request
        response = resolver.resolve(routed_event(event, mount), context)

        if request.method == "HEAD":
            response["body"] = ""
            response["isBase64Encoded"] = False
        if metrics is not None:
            _record_metrics(metrics, request, self.service.upstream_calls - calls_before)
        return response

    def _resolver(self, http_api: bool) -> ApiGatewayResolver:
        resolver = self._resolvers.get(http_api)
        if resolver is None:
            # debug=False always: Powertools' debug mode would put tracebacks in responses.
            resolver = (
                APIGatewayHttpResolver(debug=False, serializer=_SERIALIZER)
                if http_api
                else APIGatewayRestResolver(debug=False, serializer=_SERIALIZER)
            )
            self._register(resolver)
            self._resolvers[http_api] = resolver
        return resolver

    def _register(self, resolver: ApiGatewayResolver) -> None:
        methods = ["GET", "HEAD"]

        def current() -> Request:
            request: Request = resolver.context["request"]
            return request

        def authenticate(
            app: ApiGatewayResolver, next_middleware: Callable[..., HttpResponse]
        ) -> HttpResponse:
            rejection = self._authenticate(current())
            return rejection if rejection is not None else next_middleware(app)

        def index() -> HttpResponse:
            return self._index(current())

        def project_page(name: str) -> HttpResponse:
            return self._project(current(), name)

        def project_json(name: str) -> HttpResponse:
            return self._project(current(), name)

        def project_badge(name: str) -> HttpResponse:
            return self._badge(current(), name)

        def not_found(_error: Exception) -> HttpResponse:
            request = current()
            if request.method not in methods:
                return self._error(request, 405, "Method not allowed", "Only GET and HEAD are supported.")
            return self._not_found(request)

        def internal_error(error: Exception) -> HttpResponse:
            request = current()
            self._log.exception("status page request failed: %s", type(error).__name__)
            request.outcome = "error"
            return self._error(
                request, 500, "Something went wrong", "The status page failed. Try again in a moment."
            )

        resolver.use(middlewares=[authenticate])
        resolver.route("/", method=methods)(index)
        resolver.route("/projects/<name>", method=methods)(project_page)
        resolver.route("/api/projects/<name>", method=methods)(project_json)
        resolver.route("/projects/<name>/badge.svg", method=methods)(project_badge)
        resolver.not_found(not_found)
        resolver.exception_handler(Exception)(internal_error)

    # Routes

    def _index(self, request: Request) -> HttpResponse:
        try:
            view = self.service.index()
        except UpstreamUnavailableError as exc:
            return self._unavailable(request, exc)
        if view.stale:
            request.outcome = "stale"

        def render() -> str:
            return html.render_index(
                view, links=request.links, now=self._wall_clock(), cache_seconds=self._cache_seconds
            )

        rendered = self._render(("index", request.prefix), view.versions, view.stale, render)
        return self._success(request, rendered, age=view.age, stale=view.stale)

    def _project(self, request: Request, name: str) -> HttpResponse:
        page = _page_number(request.page)
        if page is None:
            return self._error(
                request,
                400,
                "Invalid page",
                f"The page parameter must be a whole number from 1 to {MAX_PAGE}.",
            )
        try:
            view = self.service.project(name, page)
        except (UnknownProjectError, PageNotFoundError):
            return self._not_found(request)
        except UpstreamUnavailableError as exc:
            return self._unavailable(request, exc)
        if view.stale:
            request.outcome = "stale"

        key = (request.kind, name, page, request.prefix)
        rendered = self._render(key, view.versions, view.stale, lambda: self._project_body(request, view))
        return self._success(request, rendered, age=view.age, stale=view.stale)

    def _project_body(self, request: Request, view: ProjectView) -> str:
        if request.kind == "json":
            doc = document.project_document(view, links=request.links, cache_seconds=self._cache_seconds)
            return document.dumps(doc)
        return html.render_project(
            view, links=request.links, now=self._wall_clock(), cache_seconds=self._cache_seconds
        )

    def _badge(self, request: Request, name: str) -> HttpResponse:
        try:
            entry = self.service.project_summary(name)
        except UnknownProjectError:
            return self._not_found(request)
        except UpstreamUnavailableError as exc:
            return self._unavailable(request, exc)
        if entry.stale:
            request.outcome = "stale"
        latest = entry.value.latest_deployment
        status = latest.status if latest is not None else "none"
        rendered = self._render(
            ("badge", name), (entry.version,), entry.stale, lambda: badge.render_badge(name, status)
        )
        return self._success(request, rendered, age=entry.age, stale=entry.stale)

    # Authentication

    def _authenticate(self, request: Request) -> HttpResponse | None:
        """Return a 401 or 503 response when the request may not proceed, else None."""
        try:
            secret = self.secrets.get()
        except SecretError as exc:
            # Fail closed: without the secret the function cannot tell whether the page should be private.
            self._log.warning("status page secret could not be read; responding with 503: %s", exc)
            request.outcome = "unavailable"
            return self._error(
                request,
                503,
                "Temporarily unavailable",
                "The status page cannot check access right now. Try again in a minute.",
                headers={"Retry-After": "60"},
            )
        users = secret.status_page_users
        if not users:
            return None
        request.auth_enabled = True
        if self._basic_auth(users).check(request.authorization):
            return None
        request.outcome = "unauthorized"
        return self._error(
            request,
            401,
            "Sign-in required",
            "This status page needs a user name and password.",
            headers={"WWW-Authenticate": CHALLENGE},
        )

    def _basic_auth(self, users: Mapping[str, str]) -> BasicAuth:
        cached = self._auth
        if cached is None or cached[0] is not users:
            cached = (users, BasicAuth(users))
            self._auth = cached
        return cached[1]

    # Responses

    @property
    def _cache_seconds(self) -> int:
        return self.settings.status_cache_seconds

    def _render(
        self, key: tuple[object, ...], versions: tuple[int, ...], stale: bool, render: Callable[[], str]
    ) -> Rendered:
        """Reuse the rendering of the same data, or render it now. Stale pages are rendered every time
        because their banner shows the data's age."""
        if stale:
            return Rendered(render())
        with self._rendered_lock:
            cached = self._rendered.get(key)
            if cached is not None and cached[0] == versions:
                self._rendered.move_to_end(key)
                return cached[1]
        rendered = Rendered(render())
        with self._rendered_lock:
            self._rendered[key] = (versions, rendered)
            self._rendered.move_to_end(key)
            while len(self._rendered) > MAX_RENDERED:
                self._rendered.popitem(last=False)
        return rendered

    def _success(self, request: Request, rendered: Rendered, *, age: float, stale: bool) -> HttpResponse:
        scope = "private" if request.auth_enabled else "public"
        max_age = 0 if stale else max(0, round(self._cache_seconds - age))
        headers = _security_headers(request.kind)
        headers["Cache-Control"] = f"{scope}, max-age={max_age}"
        headers["ETag"] = rendered.etag
        headers["Vary"] = "Accept-Encoding"
        if _etag_matches(request.if_none_match, rendered.etag):
            request.outcome = "not_modified" if request.outcome == "ok" else request.outcome
            return Response(status_code=304, headers=headers, body="")
        headers["Content-Type"] = CONTENT_TYPES[request.kind]
        if _accepts_gzip(request.accept_encoding) and len(rendered.text) >= MIN_GZIP_BYTES:
            headers["Content-Encoding"] = "gzip"
            return Response(status_code=200, headers=headers, body=rendered.gzipped())
        return Response(status_code=200, headers=headers, body=rendered.text)

    def _not_found(self, request: Request) -> HttpResponse:
        request.outcome = "not_found"
        return self._error(request, 404, "Not found", "There is no such page or project on this status page.")

    def _unavailable(self, request: Request, error: UpstreamUnavailableError) -> HttpResponse:
        request.outcome = "unavailable"
        cause = error.__cause__
        self._log.warning(
            "responding with 503: %s (cause: %s)",
            error,
            f"{type(cause).__name__}: {cause}" if cause else "none",
        )
        retry_after = str(max(1, math.ceil(error.retry_after)))
        return self._error(
            request,
            503,
            "Temporarily unavailable",
            "Cloudflare could not be reached and no recent data is available. Try again in a minute.",
            headers={"Retry-After": retry_after},
        )

    def _error(
        self,
        request: Request,
        status: int,
        title: str,
        message: str,
        *,
        headers: Mapping[str, str] | None = None,
    ) -> HttpResponse:
        """Build a generic error response in the route's own format. 5xx pages carry the request id."""
        request_id = request.request_id if status >= 500 else None
        if request.kind == "json":
            body = document.dumps(document.error_document(status, message))
        elif request.kind == "svg":
            body = badge.render_badge("status", title.lower())
        else:
            body = html.render_error(title, message, links=request.links, request_id=request_id)
        all_headers = _security_headers(request.kind)
        all_headers.update(
            {
                "Content-Type": CONTENT_TYPES[request.kind],
                "Cache-Control": ERROR_CACHE_CONTROL,
                **(headers or {}),
            }
        )
        if status == 405:
            all_headers["Allow"] = ALLOWED_METHODS
        return Response(status_code=status, headers=all_headers, body=body)


# The container's app, rebuilt only when the runtime objects it was built from change (tests reset them).
_lock = threading.Lock()
_app: StatusApp | None = None


def handle_request(
    event: Mapping[str, Any],
    context: Any,
    *,
    settings: Settings,
    client: PagesClient,
    secrets: SecretReader,
    log: LogSink | None = None,
    metrics: MetricsSink | None = None,
) -> dict[str, Any]:
    """Serve one API Gateway event with the container's status page, creating it on first use."""
    return container_app(settings, client, secrets).handle(event, context, log=log, metrics=metrics)


def container_app(settings: Settings, client: PagesClient, secrets: SecretReader) -> StatusApp:
    """Return the container's `StatusApp` for these runtime objects, built anew when any of them changed."""
    global _app  # noqa: PLW0603 - one per container, by design
    with _lock:
        current = _app
        if current is not None and (
            current.settings is settings and current.client is client and current.secrets is secrets
        ):
            return current
        if current is not None:
            current.service.close()
        _app = StatusApp(settings, client, secrets)
        return _app


def reset() -> None:
    """Forget the container's app and stop its fetch threads, as a fresh container would."""
    global _app
    with _lock:
        current, _app = _app, None
    if current is not None:
        current.service.close()


# Helpers


def _request(event: Mapping[str, Any], *, http_api: bool, prefix: str, path: str, context: Any) -> Request:
    request_context = _mapping(event.get("requestContext"))
    if http_api:
        method = str(_mapping(request_context.get("http")).get("method") or "GET")
    else:
        method = str(event.get("httpMethod") or "GET")
    page = _mapping(event.get("queryStringParameters")).get("page")
    request_id = getattr(context, "aws_request_id", None)
    return Request(
        method=method.upper(),
        kind=_kind(path),
        links=Links(prefix),
        prefix=prefix,
        request_id=request_id if isinstance(request_id, str) else None,
        authorization=_header(event, "authorization"),
        if_none_match=_header(event, "if-none-match"),
        accept_encoding=_header(event, "accept-encoding"),
        page=page if isinstance(page, str) else None,
    )


def _mapping(value: object) -> Mapping[str, Any]:
    return value if isinstance(value, Mapping) else {}


def _kind(path: str) -> Kind:
    if path.startswith("/api/"):
        return "json"
    if path.rstrip("/").endswith("/badge.svg"):
        return "svg"
    return "html"


def _header(event: Mapping[str, Any], name: str) -> str | None:
    """Return a request header by case-insensitive name, with repeated headers joined by commas."""
    values: list[str] = []
    multi = event.get("multiValueHeaders")
    if isinstance(multi, Mapping):
        for key, items in multi.items():
            if isinstance(key, str) and key.lower() == name and isinstance(items, list):
                values.extend(str(item) for item in items)
    if not values:
        single = event.get("headers")
        if isinstance(single, Mapping):
            values.extend(str(v) for k, v in single.items() if isinstance(k, str) and k.lower() == name)
    return ", ".join(values) if values else None


def _page_number(value: str | None) -> int | None:
    """Parse the `page` query parameter: 1..MAX_PAGE, 1 when absent, None when invalid."""
    if value is None or value == "":
        return 1
    if not value.isascii() or not value.isdigit() or len(value) > 6:
        return None
    number = int(value)
    return number if 1 <= number <= MAX_PAGE else None


def _deadline(context: Any) -> Deadline:
    budget = UPSTREAM_BUDGET_SECONDS
    remaining = getattr(context, "get_remaining_time_in_millis", None)
    if callable(remaining):
        budget = min(budget, max(0.0, remaining() / 1000 - RESERVE_SECONDS))
    return Deadline.after(budget)


def _security_headers(kind: Kind) -> dict[str, str]:
    headers = {
        "Content-Security-Policy": CSP[kind],
        "X-Content-Type-Options": "nosniff",
        "Referrer-Policy": "no-referrer",
        "X-Robots-Tag": "noindex, nofollow",
    }
    if kind == "html":
        headers["X-Frame-Options"] = "DENY"
    return headers


def _etag_matches(if_none_match: str | None, etag: str) -> bool:
    """Weak comparison (RFC 9110, section 13.1.2) of `If-None-Match` against our ETag."""
    if not if_none_match:
        return False
    wanted = etag.removeprefix("W/")
    for candidate in if_none_match.split(","):
        tag = candidate.strip()
        if tag == "*" or tag.removeprefix("W/") == wanted:
            return True
    return False


def _serialize(body: object) -> str | bytes:
    """Serialize a JSON response body, passing gzip-encoded bytes through untouched.

    Powertools serializes every non-str body of an `application/json` response, which would fail on the
    gzip form of an already rendered document. Bytes returned here are base64-encoded by Powertools.
    """
    if isinstance(body, bytes):
        return body
    return json.dumps(body, separators=(",", ":"))


# Powertools types the serializer as returning str, but its response builder base64-encodes bytes too.
_SERIALIZER = cast("Callable[[dict[Any, Any]], str]", _serialize)


def _accepts_gzip(accept_encoding: str | None) -> bool:
    """True when `Accept-Encoding` lists gzip (or `*`) without `q=0`."""
    if not accept_encoding:
        return False
    for item in accept_encoding.split(","):
        coding, _, parameters = item.strip().partition(";")
        if coding.strip().lower() not in ("gzip", "*"):
            continue
        quality = parameters.strip().lower()
        if quality.startswith("q="):
            try:
                return float(quality[2:]) > 0
            except ValueError:
                return False
        return True
    return False


def _record_metrics(metrics: MetricsSink, request: Request, upstream_calls: int) -> None:
    """Record the upstream calls of one request, whether the data came from the cache, and the outcome."""
    metrics.add_metric(name="UpstreamCalls", unit="Count", value=upstream_calls)
    if upstream_calls > 0:
        metrics.add_metric(name="CacheMisses", unit="Count", value=1)
    elif request.outcome in ("ok", "not_modified", "stale"):
        metrics.add_metric(name="CacheHits", unit="Count", value=1)
    if request.outcome in ("stale", "unavailable", "unauthorized", "error"):
        metrics.add_metric(name=f"{request.outcome.capitalize()}Responses", unit="Count", value=1)
