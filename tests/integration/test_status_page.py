"""The status page handler against the Cloudflare Pages stand-in, and through the local API Gateway front.

Each test gets an empty stand-in with two managed projects (`docs`, `blog`), one project the stack does not
manage (`internal-tools`) and one managed name that does not exist (`ghost`). Upstream calls are counted in
the stand-in's request log, so "no upstream call" means the stand-in received nothing.
"""

from __future__ import annotations

import base64
import copy
import importlib
import io
import json
import time
import xml.etree.ElementTree as ET
from collections.abc import Callable, Iterator
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta
from types import ModuleType
from typing import Any

import pytest
import requests

from pages_ops import runtime
from pages_ops.client import PagesClient
from pages_ops.config import Settings
from pages_ops.credentials import SecretSource
from pages_ops.status import web
from pages_ops.timing import RateLimiter, RetryPolicy
from sandbox.apigateway import ApiGatewayFront, FakeLambdaContext
from sandbox.cloudflare_pages import SANDBOX_ACCOUNT_ID, SANDBOX_API_TOKEN, PagesSandbox
from tests.conftest import load_event

pytestmark = pytest.mark.integration

MANAGED = ("docs", "blog", "ghost")
USERS = {"alice": "correct-horse-battery", "bob": "b0b-pass"}
HOSTILE_MESSAGE = '<script>alert("pwned")</script><img src=x onerror=alert(1)> & "quotes" \'too\''
HOSTILE_BRANCH = '"><svg onload=alert(2)>'


@dataclass
class StatusPage:
    """The handler module with the stand-in behind it, and every response it gave in the test."""

    module: ModuleType
    sandbox: PagesSandbox
    secret: dict[str, Any]
    logs: io.StringIO
    responses: list[dict[str, Any]] = field(default_factory=list)

    def __call__(self, event: dict[str, Any]) -> dict[str, Any]:
        context = FakeLambdaContext(
            function_name="cf-pages-ops-StatusPageFunction", aws_request_id="req-0001", timeout_seconds=10
        )
        response: dict[str, Any] = self.module.lambda_handler(event, context)
        self.responses.append(response)
        return response

    def upstream_calls(self) -> int:
        return len(self.sandbox.request_log)


def seed(sandbox: PagesSandbox) -> None:
    store = sandbox.store
    now = datetime.now(UTC)
    store.add_project(
        "docs", subdomain="docs-abc.pages.dev", domains=["docs.acme.example", "javascript:alert(3)"]
    )
    store.add_project("blog", subdomain="blog-xyz.pages.dev")
    store.add_project("internal-tools", subdomain="internal-tools.pages.dev")
    store.add_deployment("docs", commit_message="Release 1.0", created_on=now - timedelta(days=2))
    store.add_deployment(
        "docs",
        branch="feature/search",
        commit_message="Add search",
        created_on=now - timedelta(hours=5),
    )
    store.add_deployment(
        "docs",
        commit_message=HOSTILE_MESSAGE,
        status="failure",
        stage="build",
        created_on=now - timedelta(minutes=20),
    )
    store.add_deployment(
        "docs", branch=HOSTILE_BRANCH, commit_message="odd branch", created_on=now - timedelta(minutes=10)
    )
    store.add_deployment("blog", commit_message="First post", created_on=now - timedelta(days=1))
    store.add_deployment("internal-tools", commit_message="secret stuff", created_on=now - timedelta(days=1))


def make_client(sandbox: PagesSandbox, secrets: SecretSource) -> PagesClient:
    """The client the handler would build, with retry delays short enough for tests."""
    return PagesClient(
        SANDBOX_ACCOUNT_ID,
        secrets,
        base_url=sandbox.base_url,
        rate_limiter=RateLimiter(240, burst=8),
        retry=RetryPolicy(base_delay=0.01, max_delay=0.05, retry_rate_limited=False),
    )


@pytest.fixture
def configure(
    pages_sandbox: PagesSandbox, make_settings: Callable[..., Settings]
) -> Iterator[Callable[..., StatusPage]]:
    """Configure the container (settings, secret, client) and return the handler; call it once per test."""
    seed(pages_sandbox)

    def build(users: dict[str, str] | None = None, **overrides: Any) -> StatusPage:
        secret: dict[str, Any] = {"api_token": SANDBOX_API_TOKEN}
        if users:
            secret["status_page_users"] = users
        settings = make_settings(projects=MANAGED, **overrides)
        secrets = SecretSource(settings.secret_id, fetcher=lambda _secret_id, _force: json.dumps(secret))
        client = make_client(pages_sandbox, secrets)
        runtime.override(
            settings_value=settings, secrets_value=secrets, clients={True: client, False: client}
        )
        module = importlib.import_module("status_page.app")
        stream_handler = module.logger.registered_handler
        buffer = io.StringIO()
        previous = stream_handler.setStream(buffer)
        pages_sandbox.reset_request_log()
        page = StatusPage(module=module, sandbox=pages_sandbox, secret=secret, logs=buffer)
        cleanups.append(lambda: stream_handler.setStream(previous))
        return page

    cleanups: list[Callable[[], object]] = []
    yield build
    for cleanup in cleanups:
        cleanup()
    web.reset()


def event(name: str, *, headers: dict[str, str] | None = None, **changes: Any) -> dict[str, Any]:
    data: dict[str, Any] = copy.deepcopy(load_event(f"status_page/{name}.json"))
    data["headers"] = {
        key: value for key, value in (data.get("headers") or {}).items() if key.lower() != "accept-encoding"
    }
    data.pop("multiValueHeaders", None)
    data["headers"].update(headers or {})
    data.update(changes)
    return data


def project_event(
    name: str, *, route: str = "/projects/{}", query: dict[str, str] | None = None
) -> dict[str, Any]:
    template = {"/projects/{}": "http_api_project", "/api/projects/{}": "http_api_api"}.get(
        route, "http_api_badge"
    )
    data = event(template)
    path = route.format(name)
    data["rawPath"] = path
    data["requestContext"]["http"]["path"] = path
    data["pathParameters"] = {"name": name}
    if query:
        data["queryStringParameters"] = query
        data["rawQueryString"] = "&".join(f"{key}={value}" for key, value in query.items())
    return data


def parse_svg(body: str | bytes) -> ET.Element:
    return ET.fromstring(body)  # noqa: S314 - the status page's own badge, not untrusted input


def headers_of(response: dict[str, Any]) -> dict[str, str]:
    if "multiValueHeaders" in response:
        return {name.lower(): ", ".join(values) for name, values in response["multiValueHeaders"].items()}
    return {name.lower(): value for name, value in response["headers"].items()}


def basic(user: str, password: str) -> str:
    return "Basic " + base64.b64encode(f"{user}:{password}".encode()).decode()


# Routes and payload formats


def test_index_over_http_api(configure: Callable[..., StatusPage]) -> None:
    page = configure()
    response = page(event("http_api_index"))
    assert response["statusCode"] == 200
    body = response["body"]
    assert 'href="/projects/docs"' in body
    assert 'href="/projects/blog"' in body
    assert "internal-tools" not in body
    assert "Not found in the Cloudflare account." in body  # ghost
    assert "Release 1.0" in body
    assert page.upstream_calls() == 3


def test_project_over_rest_api_with_stage(configure: Callable[..., StatusPage]) -> None:
    page = configure()
    response = page(event("rest_api_project"))
    assert response["statusCode"] == 200
    headers = headers_of(response)
    assert headers["content-type"] == "text/html; charset=utf-8"
    body = response["body"]
    assert 'href="/prod/"' in body
    assert 'href="/prod/api/projects/docs"' in body
    assert "Live production" in body
    assert "The newest build failed" not in body  # the newest is a later success on the odd branch


def test_custom_domain_base_path(configure: Callable[..., StatusPage]) -> None:
    page = configure()
    body = page(event("http_api_custom_domain"))["body"]
    assert 'href="/status/"' in body
    assert 'src="/status/projects/docs/badge.svg"' in body
    assert 'href="/projects/' not in body


@pytest.mark.parametrize("event_file", ["http_api_api", "rest_api_api"])
def test_json_route(configure: Callable[..., StatusPage], event_file: str) -> None:
    page = configure()
    response = page(event(event_file))
    assert response["statusCode"] == 200
    assert headers_of(response)["content-type"] == "application/json; charset=utf-8"
    document = json.loads(response["body"])
    assert document["project"]["name"] == "docs"
    assert document["project"]["domains"] == ["docs.acme.example", "javascript:alert(3)"]
    messages = [item["commit_message"] for item in document["deployments"]["items"]]
    assert HOSTILE_MESSAGE in messages
    assert document["live_deployment"]["commit_message"] == "Release 1.0"
    assert document["latest_deployment"]["branch"] == HOSTILE_BRANCH
    assert document["data"]["stale"] is False


@pytest.mark.parametrize("event_file", ["http_api_badge", "rest_api_badge"])
def test_badge_route(configure: Callable[..., StatusPage], event_file: str) -> None:
    page = configure()
    response = page(event(event_file))
    assert response["statusCode"] == 200
    assert headers_of(response)["content-type"] == "image/svg+xml; charset=utf-8"
    root = parse_svg(response["body"])
    assert root.get("aria-label") == "docs: success"


def test_badge_shows_failed_newest_build(configure: Callable[..., StatusPage]) -> None:
    page = configure()
    page.sandbox.store.add_deployment("blog", commit_message="broken", status="failure", stage="build")
    root = parse_svg(page(project_event("blog", route="/projects/{}/badge.svg"))["body"])
    assert root.get("aria-label") == "blog: failed"


@pytest.mark.parametrize("event_file", ["http_api_post", "rest_api_post"])
def test_post_gets_405(configure: Callable[..., StatusPage], event_file: str) -> None:
    page = configure()
    response = page(event(event_file))
    assert response["statusCode"] == 405
    assert headers_of(response)["allow"] == "GET, HEAD"
    assert page.upstream_calls() == 0


@pytest.mark.parametrize("route", ["/projects/{}", "/api/projects/{}", "/projects/{}/badge.svg"])
def test_unmanaged_and_missing_get_same_404(configure: Callable[..., StatusPage], route: str) -> None:
    page = configure()
    unmanaged = page(project_event("internal-tools", route=route))
    assert page.upstream_calls() == 0
    missing = page(project_event("ghost", route=route))
    assert page.upstream_calls() > 0
    assert unmanaged["statusCode"] == missing["statusCode"] == 404
    assert unmanaged["body"] == missing["body"]
    assert headers_of(unmanaged) == headers_of(missing)
    assert "internal-tools" not in unmanaged["body"]


# Hostile values from the API


def test_hostile_values_are_escaped(configure: Callable[..., StatusPage]) -> None:
    page = configure()
    body = page(event("http_api_project"))["body"]
    assert "<script>" not in body
    assert "<img src=x" not in body
    assert "<svg onload" not in body
    assert "&lt;script&gt;alert(&quot;pwned&quot;)&lt;/script&gt;" in body
    assert "&quot;&gt;&lt;svg onload=alert(2)&gt;" in body
    assert 'href="javascript' not in body
    assert "javascript:alert(3)" in body  # shown as text


# Caching, ETags and staleness


def test_cache_hit_makes_no_upstream_call(configure: Callable[..., StatusPage]) -> None:
    page = configure()
    first = page(event("http_api_project"))
    calls = page.upstream_calls()
    assert calls == 2
    second = page(event("http_api_project"))
    third = page(event("http_api_api"))
    assert page.upstream_calls() == calls
    assert second["body"] == first["body"]
    assert third["statusCode"] == 200


def test_cache_hit_is_fast(configure: Callable[..., StatusPage]) -> None:
    page = configure()
    page(event("http_api_index"))
    durations = []
    for _ in range(50):
        started = time.perf_counter()
        page(event("http_api_index"))
        durations.append(time.perf_counter() - started)
    durations.sort()
    # The median, to keep a slow CI neighbour from failing the test on one outlier.
    assert durations[len(durations) // 2] < 0.005


def test_miss_costs_about_one_upstream_round_trip(configure: Callable[..., StatusPage]) -> None:
    page = configure()
    page.sandbox.faults.global_latency = 0.3
    started = time.perf_counter()
    response = page(event("http_api_index"))
    elapsed = time.perf_counter() - started
    assert response["statusCode"] == 200
    assert page.upstream_calls() == 3
    assert elapsed < 0.6, f"three 0.3 s calls took {elapsed:.2f}s: they did not run in parallel"


def test_etag_and_304(configure: Callable[..., StatusPage]) -> None:
    page = configure()
    etag = headers_of(page(event("http_api_project")))["etag"]
    response = page(event("http_api_project", headers={"if-none-match": etag}))
    assert response["statusCode"] == 304
    assert response["body"] == ""
    assert headers_of(response)["etag"] == etag


def test_stale_data_after_server_error(configure: Callable[..., StatusPage]) -> None:
    page = configure(status_cache_seconds=1)
    assert page(event("http_api_project"))["statusCode"] == 200
    time.sleep(1.1)
    page.sandbox.faults.server_error(status=503)
    page.sandbox.reset_request_log()
    response = page(event("http_api_project"))
    assert response["statusCode"] == 200
    assert "Cloudflare could not be reached." in response["body"]
    assert "Showing the last data received" in response["body"]
    assert headers_of(response)["cache-control"] == "public, max-age=0"
    assert page.upstream_calls() > 0
    # Within the backoff window no further call is made.
    page.sandbox.reset_request_log()
    again = page(event("http_api_project"))
    assert "Cloudflare could not be reached." in again["body"]
    assert page.upstream_calls() == 0
    document = json.loads(page(event("http_api_api"))["body"])
    assert document["data"]["stale"] is True


def test_rate_limit_serves_stale_without_retrying(configure: Callable[..., StatusPage]) -> None:
    page = configure(status_cache_seconds=1)
    page(event("http_api_badge"))
    time.sleep(1.1)
    page.sandbox.faults.rate_limited(retry_after=120)
    page.sandbox.reset_request_log()
    response = page(event("http_api_badge"))
    assert response["statusCode"] == 200
    assert page.upstream_calls() == 1


def test_503_without_data(configure: Callable[..., StatusPage]) -> None:
    page = configure()
    page.sandbox.faults.server_error(status=502)
    response = page(event("http_api_project"))
    assert response["statusCode"] == 503
    headers = headers_of(response)
    assert headers["retry-after"] == "10"
    assert headers["cache-control"] == "no-store, max-age=0"
    assert "Temporarily unavailable" in response["body"]
    assert "8000000" not in response["body"]
    assert "/pages/projects" not in response["body"]
    logged = page.logs.getvalue()
    assert "responding with 503" in logged
    assert "req-0001" in logged


def test_503_for_json_and_badge(configure: Callable[..., StatusPage]) -> None:
    page = configure()
    page.sandbox.faults.malformed_body(kind="html")
    api = page(event("http_api_api"))
    assert api["statusCode"] == 503
    message = "Cloudflare could not be reached and no recent data is available. Try again in a minute."
    assert json.loads(api["body"]) == {"error": {"status": 503, "message": message}}
    badge = page(event("http_api_badge"))
    assert badge["statusCode"] == 503
    assert parse_svg(badge["body"]).get("aria-label") == "status: temporarily unavailable"


# Paging


def test_paging_beyond_the_first_25(configure: Callable[..., StatusPage]) -> None:
    page = configure()
    now = datetime.now(UTC)
    page.sandbox.store.generate_history(
        "blog", count=59, start=now - timedelta(days=60), end=now - timedelta(days=2), rng_seed=7
    )
    first = page(project_event("blog"))["body"]
    assert "Page 1 of 3 \u00b7 60 deployments" in first
    assert 'href="/projects/blog?page=2"' in first
    second = page(project_event("blog", query={"page": "2"}))["body"]
    assert 'href="/projects/blog?page=3"' in second
    assert 'href="/projects/blog"' in second
    third = page(project_event("blog", query={"page": "3"}))
    assert third["statusCode"] == 200
    assert third["body"].count("<tr><td") == 10
    pages_seen = [
        record.query.get("page") for record in page.sandbox.request_log if "deployments" in record.path
    ]
    assert pages_seen == ["1", "2", "3"]
    before = page.upstream_calls()
    assert page(project_event("blog", query={"page": "4"}))["statusCode"] == 404
    assert page.upstream_calls() == before  # the page count is known
    api = json.loads(page(project_event("blog", route="/api/projects/{}", query={"page": "2"}))["body"])
    assert api["deployments"]["page"] == 2
    assert api["deployments"]["next_page"] == 3
    assert len(api["deployments"]["items"]) == 25
    assert page(project_event("blog", query={"page": "x"}))["statusCode"] == 400


# Authentication


def test_auth_off_serves_everyone(configure: Callable[..., StatusPage]) -> None:
    page = configure()
    response = page(event("http_api_index"))
    assert response["statusCode"] == 200
    assert headers_of(response)["cache-control"].startswith("public, max-age=")


@pytest.mark.parametrize(
    "authorization",
    [
        None,
        basic("alice", "wrong"),
        basic("mallory", "correct-horse-battery"),
        "Basic ****",
        "Basic " + base64.b64encode(b"alice").decode(),
        "Token abc",
    ],
)
def test_auth_on_rejects(configure: Callable[..., StatusPage], authorization: str | None) -> None:
    page = configure(users=USERS)
    headers = {"authorization": authorization} if authorization else {}
    response = page(event("http_api_project", headers=headers))
    assert response["statusCode"] == 401
    assert headers_of(response)["www-authenticate"] == 'Basic realm="cf-pages-ops", charset="UTF-8"'
    assert page.upstream_calls() == 0


def test_auth_on_accepts_user(configure: Callable[..., StatusPage]) -> None:
    page = configure(users=USERS)
    response = page(event("http_api_project", headers={"authorization": basic("bob", "b0b-pass")}))
    assert response["statusCode"] == 200
    assert headers_of(response)["cache-control"] == "private, max-age=30"


def test_auth_with_secret_from_secrets_manager(
    pages_sandbox: PagesSandbox,
    make_settings: Callable[..., Settings],
    create_secret: Callable[[str, Any], str],
) -> None:
    seed(pages_sandbox)
    arn = create_secret(
        "cf-pages-ops/status", {"api_token": SANDBOX_API_TOKEN, "status_page_users": {"carol": "c4rol-pass"}}
    )
    runtime.override(settings_value=make_settings(projects=MANAGED, secret_id=arn))
    module = importlib.import_module("status_page.app")
    context = FakeLambdaContext(function_name="status", aws_request_id="req-sm", timeout_seconds=10)
    try:
        denied = module.lambda_handler(event("http_api_index"), context)
        allowed = module.lambda_handler(
            event("http_api_index", headers={"authorization": basic("carol", "c4rol-pass")}), context
        )
    finally:
        web.reset()
    assert denied["statusCode"] == 401
    assert allowed["statusCode"] == 200
    assert "docs" in allowed["body"]


def test_unreadable_secret_fails_closed(
    pages_sandbox: PagesSandbox, make_settings: Callable[..., Settings], aws: str
) -> None:
    arn = "arn:aws:secretsmanager:us-east-1:123456789012:secret:cf-pages-ops/missing-AbCdEf"
    runtime.override(settings_value=make_settings(projects=MANAGED, secret_id=arn))
    module = importlib.import_module("status_page.app")
    context = FakeLambdaContext(function_name="status", aws_request_id="req-missing", timeout_seconds=10)
    try:
        response = module.lambda_handler(event("http_api_index"), context)
    finally:
        web.reset()
    assert response["statusCode"] == 503
    assert "ResourceNotFound" not in response["body"]
    assert "cf-pages-ops/missing" not in response["body"]
    assert len(pages_sandbox.request_log) == 0


# Nothing secret in any response


def test_no_credential_or_account_id_in_responses(configure: Callable[..., StatusPage]) -> None:
    page = configure(users=USERS)
    auth = {"authorization": basic("alice", "correct-horse-battery")}
    for name in ("http_api_index", "http_api_project", "http_api_api", "http_api_badge", "rest_api_index"):
        page(event(name, headers=auth))
    page(event("http_api_post", headers=auth))
    page(event("http_api_index"))
    page(project_event("internal-tools"))
    page.sandbox.faults.server_error(status=500)
    page(project_event("ghost", route="/api/projects/{}"))
    forbidden = [SANDBOX_ACCOUNT_ID, SANDBOX_API_TOKEN, *USERS.values()]
    assert len(page.responses) == 9
    for response in page.responses:
        text = json.dumps(response)
        for value in forbidden:
            assert value not in text


# Through the local API Gateway front


@pytest.fixture
def front(configure: Callable[..., StatusPage]) -> Iterator[tuple[ApiGatewayFront, StatusPage]]:
    page = configure()
    with ApiGatewayFront(page.module.lambda_handler, base_path="status", function_name="status") as gateway:
        yield gateway, page


def test_front_serves_pages_under_base_path(front: tuple[ApiGatewayFront, StatusPage]) -> None:
    gateway, _page = front
    response = requests.get(gateway.url, timeout=10)
    assert response.status_code == 200
    assert response.headers["Content-Type"] == "text/html; charset=utf-8"
    assert response.headers["Content-Encoding"] == "gzip"  # requests sends Accept-Encoding: gzip
    assert 'href="/status/projects/docs"' in response.text
    project = requests.get(f"{gateway.url}projects/docs", timeout=10)
    assert project.status_code == 200
    assert "Live production" in project.text
    badge = requests.get(f"{gateway.url}projects/docs/badge.svg", timeout=10)
    assert badge.headers["Content-Type"] == "image/svg+xml; charset=utf-8"
    parse_svg(badge.content)
    event_seen = gateway.events[-1]
    assert event_seen["routeKey"] == "GET /projects/{name}/badge.svg"
    assert event_seen["rawPath"] == "/status/projects/docs/badge.svg"


def test_front_etag_head_and_405(front: tuple[ApiGatewayFront, StatusPage]) -> None:
    gateway, _page = front
    first = requests.get(f"{gateway.url}projects/docs", timeout=10)
    cached = requests.get(
        f"{gateway.url}projects/docs", headers={"If-None-Match": first.headers["ETag"]}, timeout=10
    )
    assert cached.status_code == 304
    assert cached.content == b""
    head = requests.head(f"{gateway.url}projects/docs", timeout=10)
    assert head.status_code == 200
    assert head.content == b""
    post = requests.post(f"{gateway.url}projects/docs", data=b"{}", timeout=10)
    assert post.status_code == 405
    assert post.headers["Allow"] == "GET, HEAD"


def test_front_404s(front: tuple[ApiGatewayFront, StatusPage]) -> None:
    gateway, page = front
    outside = requests.get(f"http://127.0.0.1:{gateway.port}/projects/docs", timeout=10)
    assert outside.status_code == 404
    assert outside.json() == {"message": "Not Found"}
    unknown = requests.get(f"{gateway.url}projects/internal-tools", timeout=10)
    assert unknown.status_code == 404
    assert unknown.headers["Content-Type"] == "text/html; charset=utf-8"
    assert page.upstream_calls() == 0


def test_front_handler_failures() -> None:
    def broken(event: dict[str, Any], context: Any) -> Any:
        raise RuntimeError("handler bug")

    def slow(event: dict[str, Any], context: Any) -> Any:
        time.sleep(0.3)
        return {"statusCode": 200, "body": "late"}

    def bare(event: dict[str, Any], context: Any) -> Any:
        return {"path": event["rawPath"], "remaining_ms_positive": context.get_remaining_time_in_millis() > 0}

    with ApiGatewayFront(broken, routes=("$default",)) as gateway:
        failed = requests.get(f"{gateway.url}x", timeout=10)
        assert failed.status_code == 500
        assert failed.json() == {"message": "Internal Server Error"}
    with ApiGatewayFront(slow, routes=("$default",), timeout_seconds=0.1) as gateway:
        late = requests.get(f"{gateway.url}x", timeout=10)
        assert late.status_code == 503
        assert late.json() == {"message": "Service Unavailable"}
    with ApiGatewayFront(bare, routes=("$default",), stage="dev") as gateway:
        assert gateway.url.endswith("/dev/")
        document = requests.get(f"{gateway.url}a/b", timeout=10)
        assert document.status_code == 200
        assert document.json() == {"path": "/dev/a/b", "remaining_ms_positive": True}
