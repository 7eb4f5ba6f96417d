"""Unit tests for pages_ops.status.web.StatusApp with a fake client: routing, headers, ETags, auth, errors."""

from __future__ import annotations

import base64
import copy
import gzip
import json
import threading
from collections.abc import Iterator
from datetime import UTC, datetime
from typing import Any, cast

import pytest

from pages_ops.client import PagesClient
from pages_ops.config import Settings
from pages_ops.credentials import Credentials, SecretDocument
from pages_ops.errors import ProjectNotFoundError, SecretError, ServerError
from pages_ops.models import Deployment, DeploymentPage, Project
from pages_ops.status import html, web
from pages_ops.status.service import StatusService
from pages_ops.status.web import HTML_CSP, StatusApp
from tests.conftest import load_event

ACCOUNT = "0123456789abcdef0123456789abcdef"
NOW = datetime(2024, 5, 1, 12, 0, 0, tzinfo=UTC)
USERS = {"alice": "s3cret-pass"}


class FakeClient:
    def __init__(self) -> None:
        self.projects: dict[str, object] = {}
        self.listings: dict[tuple[str, int], object] = {}
        self.calls: list[tuple[str, ...]] = []
        self.deadline: object = None
        self._lock = threading.Lock()

    def get_project(self, name: str) -> Project:
        return cast(Project, self._answer(("get_project", name), self.projects.get(name)))

    def list_deployments_page(self, name: str, *, page: int = 1, per_page: int = 25) -> DeploymentPage:
        return cast(DeploymentPage, self._answer(("list", name, str(page)), self.listings.get((name, page))))

    def _answer(self, call: tuple[str, ...], result: object) -> object:
        with self._lock:
            self.calls.append(call)
        if result is None:
            raise ProjectNotFoundError(method="GET", path=f"/pages/projects/{call[1]}", status=404)
        if isinstance(result, BaseException):
            raise result
        return result


class FakeSecrets:
    def __init__(self, users: dict[str, str] | None = None, error: SecretError | None = None) -> None:
        self.document = SecretDocument(
            credentials=Credentials(api_token="test-api-token-not-a-real-secret"),
            status_page_users=users or {},
        )
        self.error = error

    def get(self) -> SecretDocument:
        if self.error is not None:
            raise self.error
        return self.document


class FakeContext:
    aws_request_id = "7e57c0de-0000-4000-8000-000000000001"
    function_name = "status-page"

    def get_remaining_time_in_millis(self) -> int:
        return 10_000


class FakeMetrics:
    def __init__(self) -> None:
        self.metrics: list[tuple[str, float]] = []

    def add_metric(self, name: str, unit: str, value: float) -> None:
        self.metrics.append((name, value))


def deployment(deployment_id: str, *, status: str = "success", message: str = "Release") -> dict[str, Any]:
    return {
        "id": deployment_id,
        "short_id": deployment_id[:8],
        "environment": "production",
        "url": f"https://{deployment_id[:8]}.docs.pages.dev",
        "created_on": "2024-05-01T09:00:00Z",
        "latest_stage": {"name": "deploy" if status == "success" else "build", "status": status},
        "deployment_trigger": {
            "type": "github:push",
            "metadata": {"branch": "main", "commit_hash": "a" * 40, "commit_message": message},
        },
    }


def project(name: str, latest_status: str = "success") -> Project:
    live = deployment("aaaaaaaa-1111-4111-8111-111111111111")
    latest = (
        live
        if latest_status == "success"
        else deployment("bbbbbbbb-2222-4222-8222-222222222222", status=latest_status)
    )
    return Project.from_api(
        {
            "name": name,
            "subdomain": f"{name}.pages.dev",
            "canonical_deployment": live,
            "latest_deployment": latest,
        }
    )


def listing(count: int = 25) -> DeploymentPage:
    items = tuple(
        Deployment.from_api(deployment(f"{index:08x}-1111-4111-8111-111111111111", message=f"Change {index}"))
        for index in range(count)
    )
    return DeploymentPage(deployments=items, page=1, per_page=25, total_count=count, total_pages=1)


def settings() -> Settings:
    return Settings(
        account_id=ACCOUNT,
        secret_id="cf-pages-ops/test",
        projects=("docs", "blog"),
        api_base_url="http://127.0.0.1:9/client/v4",
        status_cache_seconds=30,
    )


@pytest.fixture
def client() -> FakeClient:
    fake = FakeClient()
    fake.projects["docs"] = project("docs", latest_status="failure")
    fake.projects["blog"] = project("blog")
    fake.listings[("docs", 1)] = listing()
    return fake


def make_app(client: FakeClient, secrets: FakeSecrets | None = None) -> StatusApp:
    return StatusApp(settings(), cast(PagesClient, client), secrets or FakeSecrets(), wall_clock=lambda: NOW)


@pytest.fixture
def app(client: FakeClient) -> Iterator[StatusApp]:
    status_app = make_app(client)
    yield status_app
    status_app.service.close()


def event(name: str, **changes: Any) -> dict[str, Any]:
    """A sample event from events/status_page/ with headers added or replaced."""
    data: dict[str, Any] = copy.deepcopy(load_event(f"status_page/{name}.json"))
    headers = changes.pop("headers", None)
    if headers is not None:
        data["headers"] = {**(data.get("headers") or {}), **headers}
        if "multiValueHeaders" in data:
            multi = dict(data["multiValueHeaders"] or {})
            multi.update({key: [value] for key, value in headers.items()})
            data["multiValueHeaders"] = multi
    data.update(changes)
    return data


def http_event(
    path: str, *, method: str = "GET", route_key: str | None = None, **changes: Any
) -> dict[str, Any]:
    data = event("http_api_index", **changes)
    data["rawPath"] = path
    data["routeKey"] = route_key or "$default"
    data["requestContext"]["routeKey"] = data["routeKey"]
    data["requestContext"]["http"]["method"] = method
    data["requestContext"]["http"]["path"] = path
    data["headers"].pop("accept-encoding", None)
    return data


def call(app: StatusApp, payload: dict[str, Any], metrics: FakeMetrics | None = None) -> dict[str, Any]:
    return app.handle(payload, FakeContext(), metrics=metrics)


def headers_of(response: dict[str, Any]) -> dict[str, str]:
    """Response headers with lower-cased names, from either payload format."""
    if "multiValueHeaders" in response:
        return {name.lower(): ", ".join(values) for name, values in response["multiValueHeaders"].items()}
    return {name.lower(): value for name, value in response["headers"].items()}


def body_of(response: dict[str, Any]) -> str:
    if response.get("isBase64Encoded"):
        return gzip.decompress(base64.b64decode(response["body"])).decode("utf-8")
    return str(response["body"])


@pytest.mark.parametrize(
    ("event_file", "content_type"),
    [
        ("http_api_index", "text/html; charset=utf-8"),
        ("http_api_project", "text/html; charset=utf-8"),
        ("http_api_custom_domain", "text/html; charset=utf-8"),
        ("http_api_api", "application/json; charset=utf-8"),
        ("http_api_badge", "image/svg+xml; charset=utf-8"),
        ("rest_api_index", "text/html; charset=utf-8"),
        ("rest_api_project", "text/html; charset=utf-8"),
        ("rest_api_api", "application/json; charset=utf-8"),
        ("rest_api_badge", "image/svg+xml; charset=utf-8"),
    ],
)
def test_sample_events_are_served(app: StatusApp, event_file: str, content_type: str) -> None:
    response = call(app, event(event_file))
    assert response["statusCode"] == 200
    assert headers_of(response)["content-type"] == content_type
    if event_file.startswith("rest_api"):
        assert "multiValueHeaders" in response
    else:
        assert isinstance(response["headers"], dict)


def test_html_security_headers(app: StatusApp) -> None:
    headers = headers_of(call(app, event("http_api_project", headers={"accept-encoding": "identity"})))
    assert headers["content-security-policy"] == HTML_CSP
    assert "default-src 'none'" in HTML_CSP
    assert "frame-ancestors 'none'" in HTML_CSP
    assert headers["x-content-type-options"] == "nosniff"
    assert headers["referrer-policy"] == "no-referrer"
    assert headers["x-frame-options"] == "DENY"
    assert headers["cache-control"] == "public, max-age=30"
    assert headers["etag"].startswith('W/"')
    assert headers["vary"] == "Accept-Encoding"


def test_json_and_svg_headers(app: StatusApp) -> None:
    for name, csp in (("http_api_api", web.JSON_CSP), ("http_api_badge", web.SVG_CSP)):
        headers = headers_of(call(app, event(name)))
        assert headers["content-security-policy"] == csp
        assert headers["x-content-type-options"] == "nosniff"
        assert headers["cache-control"] == "public, max-age=30"
        assert "x-frame-options" not in headers


def test_json_route_returns_document(app: StatusApp) -> None:
    response = call(app, event("http_api_api"))
    document = json.loads(body_of(response))
    assert document["project"]["name"] == "docs"
    assert document["latest_is_live"] is False
    assert document["latest_deployment"]["status"] == "failure"
    assert len(document["deployments"]["items"]) == 25


def test_if_none_match_answers_304(app: StatusApp) -> None:
    first = call(app, event("http_api_project"))
    etag = headers_of(first)["etag"]
    for candidate in (etag, etag.removeprefix("W/"), f'"other", {etag}', "*"):
        response = call(app, event("http_api_project", headers={"if-none-match": candidate}))
        assert response["statusCode"] == 304, candidate
        assert response["body"] == ""
        assert headers_of(response)["etag"] == etag
        assert headers_of(response)["cache-control"] == "public, max-age=30"
    other = call(app, event("http_api_project", headers={"if-none-match": '"something-else"'}))
    assert other["statusCode"] == 200


def test_gzip_when_accepted(app: StatusApp) -> None:
    plain = call(app, event("http_api_project", headers={"accept-encoding": "identity"}))
    zipped = call(app, event("http_api_project", headers={"accept-encoding": "gzip, br"}))
    assert zipped["isBase64Encoded"] is True
    assert headers_of(zipped)["content-encoding"] == "gzip"
    assert body_of(zipped) == plain["body"]
    assert headers_of(zipped)["etag"] == headers_of(plain)["etag"]
    refused = call(app, event("http_api_project", headers={"accept-encoding": "gzip;q=0, identity"}))
    assert refused["isBase64Encoded"] is False
    assert "content-encoding" not in headers_of(refused)


@pytest.mark.parametrize("event_file", ["http_api_api", "rest_api_api"])
def test_gzip_json_document(app: StatusApp, event_file: str) -> None:
    plain = call(app, event(event_file, headers={"accept-encoding": "identity"}))
    zipped = call(app, event(event_file, headers={"accept-encoding": "gzip"}))
    assert zipped["statusCode"] == 200
    assert zipped["isBase64Encoded"] is True
    assert headers_of(zipped)["content-encoding"] == "gzip"
    assert json.loads(body_of(zipped)) == json.loads(plain["body"])


def test_small_bodies_are_not_compressed(app: StatusApp) -> None:
    response = call(app, event("http_api_badge"))
    assert response["isBase64Encoded"] is False
    assert "content-encoding" not in headers_of(response)


def test_head_has_headers_and_no_body(app: StatusApp) -> None:
    payload = event("http_api_project")
    payload["requestContext"]["http"]["method"] = "HEAD"
    response = call(app, payload)
    assert response["statusCode"] == 200
    assert response["body"] == ""
    assert headers_of(response)["content-type"] == "text/html; charset=utf-8"


@pytest.mark.parametrize("event_file", ["http_api_post", "rest_api_post"])
def test_other_methods_get_405(app: StatusApp, client: FakeClient, event_file: str) -> None:
    response = call(app, event(event_file))
    assert response["statusCode"] == 405
    assert headers_of(response)["allow"] == "GET, HEAD"
    assert client.calls == []


def test_405_on_any_path(app: StatusApp) -> None:
    for method in ("PUT", "DELETE", "PATCH", "OPTIONS"):
        response = call(app, http_event("/anything/else", method=method))
        assert response["statusCode"] == 405
        assert headers_of(response)["allow"] == "GET, HEAD"


def test_unknown_route_is_404(app: StatusApp) -> None:
    response = call(app, http_event("/nothing/here"))
    assert response["statusCode"] == 404
    assert headers_of(response)["cache-control"] == "no-store, max-age=0"


def test_unmanaged_and_missing_projects_get_identical_404(app: StatusApp, client: FakeClient) -> None:
    settings_with_missing = app.settings
    assert "internal-tools" not in settings_with_missing.projects
    for route in ("/projects/{}", "/api/projects/{}", "/projects/{}/badge.svg"):
        unmanaged = call(app, http_event(route.format("internal-tools")))
        assert client.calls == [], route
        client.projects.pop("blog", None)
        missing = call(app, http_event(route.format("blog")))
        assert unmanaged["statusCode"] == missing["statusCode"] == 404
        assert unmanaged["body"] == missing["body"]
        assert headers_of(unmanaged) == headers_of(missing)
        client.calls.clear()


def test_invalid_page_is_400(app: StatusApp, client: FakeClient) -> None:
    for value in ("abc", "-1", "0", "1.5", "99999999"):
        payload = event("http_api_project", queryStringParameters={"page": value})
        response = call(app, payload)
        assert response["statusCode"] == 400, value
    assert client.calls == []


def test_page_past_end_is_404(app: StatusApp, client: FakeClient) -> None:
    client.listings[("docs", 2)] = DeploymentPage(
        deployments=(), page=2, per_page=25, total_count=25, total_pages=1
    )
    response = call(app, event("http_api_project", queryStringParameters={"page": "2"}))
    assert response["statusCode"] == 404


def test_links_carry_custom_domain_prefix(app: StatusApp) -> None:
    body = call(app, event("http_api_custom_domain", headers={"accept-encoding": ""}))["body"]
    assert 'href="/status/"' in body
    assert 'src="/status/projects/docs/badge.svg"' in body
    assert 'href="/status/api/projects/docs"' in body
    assert 'href="/projects/' not in body


def test_links_carry_rest_stage(app: StatusApp) -> None:
    response = call(app, event("rest_api_index", headers={"Accept-Encoding": "identity"}))
    body = body_of(response)
    assert 'href="/prod/projects/docs"' in body
    assert 'href="/prod/projects/blog"' in body


def test_rendering_is_reused_for_unchanged_data(
    app: StatusApp, client: FakeClient, monkeypatch: pytest.MonkeyPatch
) -> None:
    renders = []
    real = html.render_project

    def counting(*args: Any, **kwargs: Any) -> str:
        renders.append(1)
        return real(*args, **kwargs)

    monkeypatch.setattr(html, "render_project", counting)
    for _ in range(3):
        assert call(app, event("http_api_project"))["statusCode"] == 200
    assert len(renders) == 1
    assert len(client.calls) == 2
    call(app, event("http_api_custom_domain"))
    assert len(renders) == 2  # another prefix: other links


def test_auth_required_without_header(client: FakeClient) -> None:
    app = make_app(client, FakeSecrets(users=USERS))
    response = call(app, event("http_api_index"))
    assert response["statusCode"] == 401
    headers = headers_of(response)
    assert headers["www-authenticate"] == 'Basic realm="cf-pages-ops", charset="UTF-8"'
    assert headers["cache-control"] == "no-store, max-age=0"
    assert client.calls == []


@pytest.mark.parametrize(
    "authorization",
    [
        "Basic " + base64.b64encode(b"alice:wrong").decode(),
        "Basic " + base64.b64encode(b"mallory:s3cret-pass").decode(),
        "Basic !!!not-base64",
        "Basic " + base64.b64encode(b"no-colon").decode(),
        "Bearer s3cret-pass",
        "Basic",
    ],
)
def test_auth_rejects_bad_credentials(client: FakeClient, authorization: str) -> None:
    app = make_app(client, FakeSecrets(users=USERS))
    response = call(app, event("http_api_project", headers={"authorization": authorization}))
    assert response["statusCode"] == 401
    assert client.calls == []


def test_auth_accepts_configured_user(client: FakeClient) -> None:
    app = make_app(client, FakeSecrets(users=USERS))
    good = "Basic " + base64.b64encode(b"alice:s3cret-pass").decode()
    response = call(app, event("http_api_project", headers={"authorization": good}))
    assert response["statusCode"] == 200
    assert headers_of(response)["cache-control"] == "private, max-age=30"
    rest = call(app, event("rest_api_project", headers={"Authorization": good}))
    assert rest["statusCode"] == 200


def test_auth_is_checked_before_404_and_405(client: FakeClient) -> None:
    app = make_app(client, FakeSecrets(users=USERS))
    assert call(app, http_event("/projects/internal-tools"))["statusCode"] == 401
    assert call(app, event("http_api_post"))["statusCode"] == 401


def test_unreadable_secret_fails_closed(client: FakeClient) -> None:
    app = make_app(client, FakeSecrets(error=SecretError("could not read secret cf-pages-ops/test: boom")))
    response = call(app, event("http_api_index"))
    assert response["statusCode"] == 503
    assert headers_of(response)["retry-after"] == "60"
    assert "boom" not in response["body"]
    assert client.calls == []


def test_upstream_failure_without_data_is_generic_503(app: StatusApp, client: FakeClient) -> None:
    client.projects["docs"] = ServerError(
        method="GET", path="/pages/projects/docs", status=502, reason="upstream says <html>bad gateway</html>"
    )
    response = call(app, event("http_api_badge"))
    assert response["statusCode"] == 503
    assert headers_of(response)["retry-after"] == "10"
    assert headers_of(response)["content-type"] == "image/svg+xml; charset=utf-8"
    page = call(app, event("http_api_project", headers={"accept-encoding": ""}))
    assert page["statusCode"] == 503
    assert "bad gateway" not in page["body"]
    assert "/pages/projects" not in page["body"]
    assert FakeContext.aws_request_id in page["body"]


def test_stale_page_has_banner_and_no_max_age(client: FakeClient) -> None:
    clock = [1000.0]
    service = StatusService(settings(), cast(PagesClient, client), clock=lambda: clock[0])
    app = StatusApp(
        settings(), cast(PagesClient, client), FakeSecrets(), service=service, wall_clock=lambda: NOW
    )
    call(app, event("http_api_project"))
    client.projects["docs"] = ServerError(method="GET", path="/pages/projects/docs", status=503)
    client.listings[("docs", 1)] = ServerError(
        method="GET", path="/pages/projects/docs/deployments", status=503
    )
    clock[0] += 120
    response = call(app, event("http_api_project", headers={"accept-encoding": ""}))
    assert response["statusCode"] == 200
    assert "Cloudflare could not be reached." in response["body"]
    assert headers_of(response)["cache-control"] == "public, max-age=0"
    service.close()


def test_bug_gives_generic_500(app: StatusApp, client: FakeClient, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("POWERTOOLS_DEV", "true")
    client.projects["docs"] = KeyError("internal detail")
    response = call(make_app(client), event("http_api_project", headers={"accept-encoding": ""}))
    assert response["statusCode"] == 500
    assert "internal detail" not in response["body"]
    assert "Traceback" not in response["body"]
    assert FakeContext.aws_request_id in response["body"]


def test_metrics_per_request(app: StatusApp) -> None:
    metrics = FakeMetrics()
    call(app, event("http_api_index"), metrics)
    assert metrics.metrics == [("UpstreamCalls", 2), ("CacheMisses", 1)]
    metrics.metrics.clear()
    call(app, event("http_api_index"), metrics)
    assert metrics.metrics == [("UpstreamCalls", 0), ("CacheHits", 1)]


def test_deadline_is_set_per_request(app: StatusApp, client: FakeClient) -> None:
    call(app, event("http_api_index"))
    deadline = cast(Any, client.deadline)
    assert 0 < deadline.remaining() <= web.UPSTREAM_BUDGET_SECONDS


def test_container_app_is_reused_until_objects_change(client: FakeClient) -> None:
    config = settings()
    secrets = FakeSecrets()
    first = web.container_app(config, cast(PagesClient, client), secrets)
    assert web.container_app(config, cast(PagesClient, client), secrets) is first
    second = web.container_app(settings(), cast(PagesClient, client), secrets)
    assert second is not first
    web.reset()
