"""Unit tests for pages_ops.status.service.StatusService with a fake client (no network)."""

from __future__ import annotations

import threading
import time
from collections.abc import Iterator
from typing import cast

import pytest

from pages_ops.client import PagesClient
from pages_ops.config import Settings
from pages_ops.errors import (
    AuthenticationError,
    InvalidListOptionsError,
    ProjectNotFoundError,
    RateLimitedError,
    ServerError,
)
from pages_ops.models import Deployment, DeploymentPage, Project
from pages_ops.status.cache import UpstreamUnavailableError
from pages_ops.status.service import (
    MAX_PAGE,
    PageNotFoundError,
    StatusService,
    UnknownProjectError,
)

ACCOUNT = "0123456789abcdef0123456789abcdef"


class FakeClock:
    def __init__(self) -> None:
        self.now = 500.0

    def __call__(self) -> float:
        return self.now


class FakeClient:
    """Serves get_project and list_deployments_page from tables and records each call."""

    def __init__(self, delay: float = 0.0) -> None:
        self.projects: dict[str, object] = {}
        self.listings: dict[tuple[str, int], object] = {}
        self.calls: list[tuple[str, ...]] = []
        self.delay = delay
        self.deadline = None
        self._lock = threading.Lock()

    def get_project(self, name: str) -> Project:
        return cast(Project, self._answer(("get_project", name), self.projects.get(name)))

    def list_deployments_page(self, name: str, *, page: int = 1, per_page: int = 25) -> DeploymentPage:
        result = self.listings.get((name, page))
        return cast(DeploymentPage, self._answer(("list", name, str(page)), result))

    def _answer(self, call: tuple[str, ...], result: object) -> object:
        with self._lock:
            self.calls.append(call)
        if self.delay:
            time.sleep(self.delay)
        if result is None:
            raise ProjectNotFoundError(method="GET", path=f"/pages/projects/{call[1]}", status=404)
        if isinstance(result, BaseException):
            raise result
        return result


def project(name: str) -> Project:
    return Project.from_api({"name": name, "subdomain": f"{name}.pages.dev"})


def listing(name: str, page: int, count: int, total: int) -> DeploymentPage:
    deployments = tuple(
        Deployment.from_api(
            {"id": f"{page:04d}{index:04d}-0000-4000-8000-000000000000", "project_name": name}
        )
        for index in range(count)
    )
    return DeploymentPage(
        deployments=deployments,
        page=page,
        per_page=25,
        total_count=total,
        total_pages=max(1, -(-total // 25)),
    )


def settings(*projects: str, cache_seconds: int = 30) -> Settings:
    return Settings(
        account_id=ACCOUNT,
        secret_id="cf-pages-ops/test",
        projects=projects or ("docs",),
        api_base_url="http://127.0.0.1:9/client/v4",
        status_cache_seconds=cache_seconds,
    )


@pytest.fixture
def clock() -> FakeClock:
    return FakeClock()


def make_service(client: FakeClient, config: Settings, clock: FakeClock) -> Iterator[StatusService]:
    service = StatusService(config, cast(PagesClient, client), clock=clock)
    yield service
    service.close()


@pytest.fixture
def client() -> FakeClient:
    fake = FakeClient()
    for name in ("docs", "blog", "shop"):
        fake.projects[name] = project(name)
        fake.listings[(name, 1)] = listing(name, 1, 25, 30)
        fake.listings[(name, 2)] = listing(name, 2, 5, 30)
    return fake


@pytest.fixture
def service(client: FakeClient, clock: FakeClock) -> Iterator[StatusService]:
    yield from make_service(client, settings("docs", "blog", "shop"), clock)


def test_index_fetches_each_managed_project_once(service: StatusService, client: FakeClient) -> None:
    view = service.index()
    assert [row.name for row in view.rows] == ["docs", "blog", "shop"]
    assert all(row.state == "ok" for row in view.rows)
    assert sorted(client.calls) == [("get_project", "blog"), ("get_project", "docs"), ("get_project", "shop")]
    assert service.upstream_calls == 3


def test_index_cache_hit_makes_no_call(service: StatusService, client: FakeClient, clock: FakeClock) -> None:
    first = service.index()
    clock.now += 29
    second = service.index()
    assert len(client.calls) == 3
    assert second.versions == first.versions
    assert second.age == pytest.approx(29)


def test_index_fetches_concurrently(clock: FakeClock) -> None:
    slow = FakeClient(delay=0.3)
    names = ("a1", "a2", "a3", "a4")
    for name in names:
        slow.projects[name] = project(name)
    for service in make_service(slow, settings(*names), clock):
        started = time.monotonic()
        service.index()
        elapsed = time.monotonic() - started
        assert elapsed < 0.55, f"index took {elapsed:.2f}s: the four calls did not overlap"


def test_project_fetches_project_and_listing_concurrently(clock: FakeClock) -> None:
    slow = FakeClient(delay=0.3)
    slow.projects["docs"] = project("docs")
    slow.listings[("docs", 1)] = listing("docs", 1, 3, 3)
    for service in make_service(slow, settings("docs"), clock):
        started = time.monotonic()
        view = service.project("docs")
        elapsed = time.monotonic() - started
        assert elapsed < 0.5
        assert view.project.name == "docs"
        assert len(view.deployments.deployments) == 3


def test_project_view_combines_both_entries(service: StatusService, client: FakeClient) -> None:
    view = service.project("docs", 2)
    assert view.deployments.page == 2
    assert view.stale is False
    assert len(view.versions) == 2
    assert sorted(client.calls) == [("get_project", "docs"), ("list", "docs", "2")]


def test_badge_shares_the_index_entry(service: StatusService, client: FakeClient) -> None:
    service.index()
    summary = service.project_summary("blog")
    assert summary.value.name == "blog"
    assert len(client.calls) == 3


def test_unmanaged_project_makes_no_call(service: StatusService, client: FakeClient) -> None:
    client.projects["internal-tools"] = project("internal-tools")
    with pytest.raises(UnknownProjectError):
        service.project("internal-tools")
    with pytest.raises(UnknownProjectError):
        service.project_summary("internal-tools")
    with pytest.raises(UnknownProjectError):
        service.project("../docs")
    assert client.calls == []


def test_missing_project_is_unknown(client: FakeClient, clock: FakeClock) -> None:
    for service in make_service(client, settings("docs", "gone"), clock):
        with pytest.raises(UnknownProjectError):
            service.project("gone")
        with pytest.raises(UnknownProjectError):
            service.project_summary("gone")
        # The "does not exist" result is cached like any other.
        assert [call for call in client.calls if call[0] == "get_project"] == [("get_project", "gone")]


def test_index_marks_missing_project(client: FakeClient, clock: FakeClock) -> None:
    for service in make_service(client, settings("docs", "gone"), clock):
        rows = service.index().rows
        assert [(row.name, row.state) for row in rows] == [("docs", "ok"), ("gone", "not_found")]


def test_page_past_end_from_invalid_list_options(service: StatusService, client: FakeClient) -> None:
    client.listings[("docs", 7)] = InvalidListOptionsError(
        method="GET", path="/pages/projects/docs/deployments", status=400
    )
    with pytest.raises(PageNotFoundError):
        service.project("docs", 7)


def test_page_past_end_from_empty_listing(service: StatusService, client: FakeClient) -> None:
    client.listings[("docs", 3)] = listing("docs", 3, 0, 0)
    with pytest.raises(PageNotFoundError):
        service.project("docs", 3)


def test_known_page_count_answers_without_call(service: StatusService, client: FakeClient) -> None:
    service.project("docs", 1)  # 30 deployments: 2 pages
    calls = len(client.calls)
    with pytest.raises(PageNotFoundError):
        service.project("docs", 3)
    assert len(client.calls) == calls


def test_page_out_of_range_makes_no_call(service: StatusService, client: FakeClient) -> None:
    for page in (0, MAX_PAGE + 1):
        with pytest.raises(PageNotFoundError):
            service.project("docs", page)
    assert client.calls == []


def test_server_error_after_good_load_serves_stale(
    service: StatusService, client: FakeClient, clock: FakeClock
) -> None:
    service.project("docs")
    client.projects["docs"] = ServerError(method="GET", path="/pages/projects/docs", status=503)
    clock.now += 60
    view = service.project("docs")
    assert view.stale is True
    assert view.age == pytest.approx(60)


def test_failure_without_data_is_unavailable(service: StatusService, client: FakeClient) -> None:
    client.projects["docs"] = AuthenticationError(method="GET", path="/pages/projects/docs", status=403)
    with pytest.raises(UpstreamUnavailableError):
        service.project("docs")
    with pytest.raises(UpstreamUnavailableError):
        service.project_summary("docs")


def test_index_with_some_projects_unavailable(service: StatusService, client: FakeClient) -> None:
    client.projects["blog"] = ServerError(method="GET", path="/pages/projects/blog", status=500)
    view = service.index()
    states = {row.name: row.state for row in view.rows}
    assert states == {"docs": "ok", "blog": "unavailable", "shop": "ok"}
    assert view.stale is True


def test_index_with_every_project_unavailable_raises(service: StatusService, client: FakeClient) -> None:
    for name in ("docs", "blog", "shop"):
        client.projects[name] = RateLimitedError(
            method="GET", path=f"/pages/projects/{name}", status=429, retry_after=90.0
        )
    with pytest.raises(UpstreamUnavailableError) as caught:
        service.index()
    assert caught.value.retry_after == pytest.approx(90)


def test_unreadable_object_is_an_upstream_failure(service: StatusService, client: FakeClient) -> None:
    client.projects["docs"] = ValueError("project object has no name")
    with pytest.raises(UpstreamUnavailableError) as caught:
        service.project_summary("docs")
    assert "cannot be read" in str(caught.value.__cause__)


def test_bug_in_client_propagates(service: StatusService, client: FakeClient) -> None:
    client.projects["docs"] = KeyError("unexpected")
    with pytest.raises(KeyError):
        service.project_summary("docs")


def test_cache_expires_after_configured_seconds(client: FakeClient, clock: FakeClock) -> None:
    for service in make_service(client, settings("docs", cache_seconds=5), clock):
        service.project_summary("docs")
        clock.now += 4.9
        service.project_summary("docs")
        clock.now += 0.2
        service.project_summary("docs")
        assert client.calls == [("get_project", "docs"), ("get_project", "docs")]


def test_close_stops_threads(client: FakeClient, clock: FakeClock) -> None:
    before = _fetch_threads()
    service = StatusService(settings("docs", "blog"), cast(PagesClient, client), clock=clock)
    service.index()
    assert _fetch_threads() - before
    service.close()
    service.close()
    assert _fetch_threads() <= before


def _fetch_threads() -> set[threading.Thread]:
    return {thread for thread in threading.enumerate() if thread.name.startswith("status-fetch")}
