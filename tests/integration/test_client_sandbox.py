"""PagesClient against the local Cloudflare Pages stand-in: every operation, error kind, page boundary,
retry and timeout, over real HTTP on 127.0.0.1. Requests are counted from the stand-in's request log.
"""

from __future__ import annotations

import math
import threading
import time
from collections.abc import Callable, Iterator
from datetime import UTC, datetime, timedelta
from types import SimpleNamespace
from typing import Any

import pytest

from pages_ops import transport
from pages_ops.client import PagesClient
from pages_ops.config import Settings
from pages_ops.credentials import Credentials, StaticCredentials
from pages_ops.errors import (
    AliasedDeploymentError,
    AuthenticationError,
    CloudflareApiError,
    CloudflareConnectionError,
    CloudflareTimeoutError,
    DeploymentNotFoundError,
    MalformedResponseError,
    NotFoundError,
    ProjectNotFoundError,
    RateLimitedError,
    ServerError,
)
from pages_ops.timing import Deadline, RetryPolicy
from pages_ops.transport import Timeouts
from sandbox.cloudflare_pages import (
    SANDBOX_ACCOUNT_ID,
    SANDBOX_API_KEY,
    SANDBOX_API_TOKEN,
    SANDBOX_EMAIL,
    PagesSandbox,
    RequestRecord,
)

pytestmark = pytest.mark.integration

PROJECT_PATH = f"/client/v4/accounts/{SANDBOX_ACCOUNT_ID}/pages/projects/docs"
DEPLOYMENTS_PATH = f"{PROJECT_PATH}/deployments"
NOW = datetime(2026, 3, 2, 12, 0, tzinfo=UTC)
FAST_RETRY = RetryPolicy(base_delay=0.01, max_delay=0.05)
# Slack for thread scheduling and connection set-up when timing a request on a busy test machine.
TIMING_MARGIN = 0.5


class MovableClock:
    """The stand-in's clock, moved by tests to let builds progress."""

    def __init__(self, start: datetime) -> None:
        self.now = start

    def __call__(self) -> datetime:
        return self.now

    def advance(self, seconds: float) -> None:
        self.now += timedelta(seconds=seconds)


class SleepRecorder:
    def __init__(self) -> None:
        self.waits: list[float] = []

    def __call__(self, seconds: float) -> None:
        self.waits.append(seconds)


@pytest.fixture
def clock() -> MovableClock:
    return MovableClock(NOW)


@pytest.fixture
def sandbox(clock: MovableClock) -> Iterator[PagesSandbox]:
    """A stand-in on a movable clock with the project `docs` (production branch `main`)."""
    with PagesSandbox(port=0, clock=clock, stage_seconds=2.0) as running:
        running.store.add_project("docs", subdomain="docs-7q2.pages.dev", domains=("docs.example.com",))
        yield running


@pytest.fixture
def sleeps(monkeypatch: pytest.MonkeyPatch) -> SleepRecorder:
    """Record the transport's waits between attempts instead of sleeping; the stand-in is unaffected."""
    recorder = SleepRecorder()
    monkeypatch.setattr(transport, "time", SimpleNamespace(monotonic=time.monotonic, sleep=recorder))
    return recorder


def make_client(
    sandbox: PagesSandbox,
    credentials: Credentials | None = None,
    *,
    retry: RetryPolicy = FAST_RETRY,
    timeouts: Timeouts | None = None,
) -> PagesClient:
    return PagesClient(
        SANDBOX_ACCOUNT_ID,
        StaticCredentials(credentials or Credentials(api_token=SANDBOX_API_TOKEN)),
        base_url=sandbox.base_url,
        retry=retry,
        timeouts=timeouts,
    )


def logged(sandbox: PagesSandbox, count: int) -> list[RequestRecord]:
    """Return the stand-in's request log once it contains `count` records, waiting up to 2 s.

    The stand-in logs a request before it sends the response, so a returned call is already in the log.
    The wait is for requests still held by a fault, which reach the log only once released.
    """
    deadline = time.monotonic() + 2.0
    while len(sandbox.request_log) < count and time.monotonic() < deadline:
        time.sleep(0.005)
    return sandbox.request_log


def requests_to(records: list[RequestRecord], path: str, method: str = "GET") -> list[RequestRecord]:
    return [record for record in records if record.path == path and record.method == method]


def add_deployment(sandbox: PagesSandbox, hours_ago: float, **fields: Any) -> str:
    created = NOW - timedelta(hours=hours_ago)
    return str(sandbox.store.add_deployment("docs", created_on=created, **fields)["id"])


# Every operation.
def test_get_project(sandbox: PagesSandbox) -> None:
    live = add_deployment(sandbox, 5)
    newest = add_deployment(sandbox, 1, branch="feature/login")

    project = make_client(sandbox).get_project("docs")

    assert project.name == "docs"
    assert project.subdomain == "docs-7q2.pages.dev"
    assert project.domains == ("docs.example.com",)
    assert project.production_branch == "main"
    assert project.source_type == "github"
    assert project.canonical_deployment is not None
    assert project.canonical_deployment.id == live == sandbox.store.canonical_id("docs")
    assert project.latest_deployment is not None
    assert project.latest_deployment.id == newest


def test_list_projects(sandbox: PagesSandbox) -> None:
    sandbox.store.add_project("blog", created_on=NOW - timedelta(days=1))
    sandbox.store.add_project("internal-tools", source_type=None, created_on=NOW - timedelta(days=2))

    projects = make_client(sandbox).list_projects()

    assert sorted(project.name for project in projects) == ["blog", "docs", "internal-tools"]
    assert {project.name: project.source_type for project in projects}["internal-tools"] is None


def test_get_deployment(sandbox: PagesSandbox) -> None:
    deployment_id = add_deployment(
        sandbox, 3, branch="feature/login", commit_hash="a" * 40, commit_message="Add the login page"
    )

    deployment = make_client(sandbox).get_deployment("docs", deployment_id)

    assert deployment.id == deployment_id
    assert deployment.short_id == deployment_id[:8]
    assert deployment.environment == "preview"
    assert deployment.branch == "feature/login"
    assert deployment.commit_hash == "a" * 40
    assert deployment.commit_message == "Add the login page"
    assert deployment.url == f"https://{deployment_id[:8]}.docs-7q2.pages.dev"
    assert deployment.created_on == NOW - timedelta(hours=3)
    assert deployment.status == "success"
    assert [stage.name for stage in deployment.stages] == [
        "queued",
        "initialize",
        "clone_repo",
        "build",
        "deploy",
    ]


def test_get_build_logs(sandbox: PagesSandbox) -> None:
    deployment_id = add_deployment(sandbox, 3)

    logs = make_client(sandbox).get_build_logs("docs", deployment_id)

    assert logs.total is not None
    assert len(logs.lines) > 0
    assert all(line.ts is not None and line.ts.tzinfo is UTC for line in logs.lines)


def test_create_deployment_branch(sandbox: PagesSandbox, clock: MovableClock) -> None:
    client = make_client(sandbox)

    created = client.create_deployment("docs", branch="feature/login")

    assert created.environment == "preview"
    assert created.branch == "feature/login"
    assert created.status == "queued"
    assert created.is_building is True
    sent = requests_to(logged(sandbox, 1), DEPLOYMENTS_PATH, "POST")
    assert len(sent) == 1
    assert b'name="branch"\r\n\r\nfeature/login\r\n' in sent[0].body

    clock.advance(5)
    assert client.get_deployment("docs", created.id).status == "building"
    clock.advance(10)
    finished = client.get_deployment("docs", created.id)
    assert finished.status == "success"
    assert finished.is_building is False


def test_create_deployment_production(sandbox: PagesSandbox, clock: MovableClock) -> None:
    live = add_deployment(sandbox, 5)
    client = make_client(sandbox)

    created = client.create_deployment("docs")

    assert created.environment == "production"
    assert created.branch == "main"
    assert requests_to(logged(sandbox, 1), DEPLOYMENTS_PATH, "POST")[0].body == b""
    project = client.get_project("docs")
    assert project.canonical_deployment is not None
    assert project.canonical_deployment.id == live
    clock.advance(11)
    project = client.get_project("docs")
    assert project.canonical_deployment is not None
    assert project.canonical_deployment.id == created.id


def test_create_deployment_failing_build(sandbox: PagesSandbox, clock: MovableClock) -> None:
    sandbox.store.fail_next_builds(1)
    client = make_client(sandbox)

    created = client.create_deployment("docs", branch="feature/broken")
    clock.advance(60)

    assert client.get_deployment("docs", created.id).status == "failure"


def test_delete_deployment(sandbox: PagesSandbox) -> None:
    older = add_deployment(sandbox, 10, branch="feature/login")
    add_deployment(sandbox, 5, branch="feature/login")
    client = make_client(sandbox)

    client.delete_deployment("docs", older)

    assert sandbox.store.deleted_ids("docs") == [older]
    record = requests_to(logged(sandbox, 1), f"{DEPLOYMENTS_PATH}/{older}", "DELETE")[0]
    assert record.query == {}
    assert record.auth == "bearer"


def test_delete_deployment_twice(sandbox: PagesSandbox) -> None:
    older = add_deployment(sandbox, 10, branch="feature/login")
    add_deployment(sandbox, 5, branch="feature/login")
    client = make_client(sandbox)
    client.delete_deployment("docs", older)

    with pytest.raises(DeploymentNotFoundError) as caught:
        client.delete_deployment("docs", older)

    assert caught.value.status == 404
    assert caught.value.codes == (8000009,)
    assert len(requests_to(logged(sandbox, 2), f"{DEPLOYMENTS_PATH}/{older}", "DELETE")) == 2


def test_delete_aliased_needs_force(sandbox: PagesSandbox) -> None:
    aliased = add_deployment(sandbox, 5, branch="feature/login")
    client = make_client(sandbox)
    assert client.get_deployment("docs", aliased).aliases == ("https://feature-login.docs-7q2.pages.dev",)

    with pytest.raises(AliasedDeploymentError) as caught:
        client.delete_deployment("docs", aliased)
    client.delete_deployment("docs", aliased, force=True)

    assert caught.value.codes == (8000035,)
    assert sandbox.store.deleted_ids("docs") == [aliased]
    sent = requests_to(logged(sandbox, 3), f"{DEPLOYMENTS_PATH}/{aliased}", "DELETE")
    assert [record.query for record in sent] == [{}, {"force": "true"}]


def test_delete_live_production_refused(sandbox: PagesSandbox) -> None:
    live = add_deployment(sandbox, 5)

    with pytest.raises(CloudflareApiError) as caught:
        make_client(sandbox).delete_deployment("docs", live, force=True)

    assert type(caught.value) is CloudflareApiError
    assert caught.value.status == 400
    assert sandbox.store.deleted_ids("docs") == []


def test_trigger_deploy_hook(sandbox: PagesSandbox) -> None:
    hook_url = sandbox.deploy_hook_url("docs", "main")
    hook_id = hook_url.rsplit("/", 1)[1]

    deployment_id = make_client(sandbox).trigger_deploy_hook(hook_url)

    assert deployment_id is not None
    assert deployment_id in sandbox.store.deployment_ids("docs")
    record = logged(sandbox, 1)[-1]
    assert record.method == "POST"
    assert record.path == f"/client/v4/pages/webhooks/deploy_hooks/{hook_id}"
    assert record.auth is None


def test_trigger_unknown_deploy_hook(sandbox: PagesSandbox) -> None:
    hook_id = "7c2e91d4-0b5a-4f7e-9d61-0000deadbeef"

    with pytest.raises(NotFoundError) as caught:
        make_client(sandbox).trigger_deploy_hook(f"{sandbox.base_url}/pages/webhooks/deploy_hooks/{hook_id}")

    assert hook_id not in str(caught.value)
    assert caught.value.path == "/pages/webhooks/deploy_hooks/<redacted>"


# Errors and authentication.
def test_project_not_found(sandbox: PagesSandbox) -> None:
    client = make_client(sandbox)

    with pytest.raises(ProjectNotFoundError) as caught:
        client.get_project("blog")
    with pytest.raises(ProjectNotFoundError):
        list(client.iter_deployments("blog"))

    assert caught.value.status == 404
    assert caught.value.codes == (8000007,)
    assert str(caught.value).startswith(
        "GET /pages/projects/blog failed with HTTP 404: [8000007] Project not found"
    )


def test_deployment_not_found(sandbox: PagesSandbox) -> None:
    with pytest.raises(DeploymentNotFoundError):
        make_client(sandbox).get_deployment("docs", "7c2e91d4-0b5a-4f7e-9d61-0000deadbeef")


def test_key_pair_accepted(sandbox: PagesSandbox) -> None:
    client = make_client(sandbox, Credentials(email=SANDBOX_EMAIL, api_key=SANDBOX_API_KEY))

    assert client.get_project("docs").name == "docs"
    assert logged(sandbox, 1)[-1].auth == "global_key"


@pytest.mark.parametrize(
    "credentials",
    [
        Credentials(api_token="wrong-token-not-a-real-secret"),
        Credentials(api_token=SANDBOX_API_KEY),
        Credentials(email=SANDBOX_EMAIL, api_key="wrongglobalapikeynotarealsecret000000"),
    ],
    ids=["wrong-token", "global-key-as-bearer", "wrong-key"],
)
def test_credentials_rejected(sandbox: PagesSandbox, credentials: Credentials) -> None:
    with pytest.raises(AuthenticationError) as caught:
        make_client(sandbox, credentials).get_project("docs")

    assert caught.value.status == 403
    assert caught.value.codes == (10000,)
    assert len(logged(sandbox, 1)) == 1
    for value in (SANDBOX_API_KEY, SANDBOX_API_TOKEN, SANDBOX_EMAIL, SANDBOX_ACCOUNT_ID, "wrong"):
        assert value not in str(caught.value)


def test_wrong_account_rejected(sandbox: PagesSandbox) -> None:
    client = PagesClient(
        "f" * 32, StaticCredentials(Credentials(api_token=SANDBOX_API_TOKEN)), base_url=sandbox.base_url
    )

    with pytest.raises(AuthenticationError):
        client.get_project("docs")


def test_rate_limited_without_retries(clock: MovableClock) -> None:
    with PagesSandbox(port=0, clock=clock, rate_limit=3, rate_window_seconds=60.0) as limited:
        limited.store.add_project("docs")
        client = make_client(limited, retry=RetryPolicy(retry_rate_limited=False))
        for _ in range(3):
            client.get_project("docs")

        with pytest.raises(RateLimitedError) as caught:
            client.get_project("docs")

    assert caught.value.status == 429
    assert caught.value.codes == (971,)
    assert caught.value.retry_after == 60.0
    assert len(limited.request_log) == 4


def test_rate_limited_retry_after_above_cap(clock: MovableClock, sleeps: SleepRecorder) -> None:
    # Cloudflare blocks for a whole window: waiting that out would hold the invocation for minutes.
    with PagesSandbox(port=0, clock=clock, rate_limit=1, rate_window_seconds=300.0) as limited:
        limited.store.add_project("docs")
        client = make_client(limited)
        client.get_project("docs")

        with pytest.raises(RateLimitedError) as caught:
            client.get_project("docs")

    assert caught.value.retry_after == 300.0
    assert len(limited.request_log) == 2
    assert sleeps.waits == []


def test_server_error_exhausts_attempts(sandbox: PagesSandbox, sleeps: SleepRecorder) -> None:
    sandbox.faults.server_error(status=503, path="/pages/projects/docs$")

    with pytest.raises(ServerError) as caught:
        make_client(sandbox).get_project("docs")

    assert caught.value.status == 503
    assert caught.value.codes == (8000000,)
    assert len(logged(sandbox, 4)) == 4
    assert len(sleeps.waits) == 3


def test_html_error_page(sandbox: PagesSandbox) -> None:
    sandbox.faults.malformed_body(kind="html", count=1)

    with pytest.raises(ServerError) as caught:
        make_client(sandbox, retry=RetryPolicy(max_attempts=1)).get_project("docs")

    assert caught.value.status == 502
    assert "response body is not a Cloudflare JSON envelope" in str(caught.value)


def test_truncated_json(sandbox: PagesSandbox) -> None:
    sandbox.faults.malformed_body(kind="truncated_json", count=1)

    with pytest.raises(MalformedResponseError) as caught:
        make_client(sandbox).get_project("docs")

    assert caught.value.status == 200
    assert isinstance(caught.value.__cause__, ValueError)
    assert len(logged(sandbox, 1)) == 1


def test_connection_reset(sandbox: PagesSandbox) -> None:
    sandbox.faults.reset_connection(path="/pages/projects/docs$")

    with pytest.raises(CloudflareConnectionError) as caught:
        make_client(sandbox, retry=RetryPolicy(max_attempts=2, base_delay=0.01)).get_project("docs")

    assert not isinstance(caught.value, CloudflareTimeoutError)
    assert caught.value.__cause__ is not None
    assert len(logged(sandbox, 2)) == 2


# Retries and Retry-After.
def test_retry_after_server_errors(sandbox: PagesSandbox, sleeps: SleepRecorder) -> None:
    sandbox.faults.server_error(status=500, count=2)

    project = make_client(sandbox).get_project("docs")

    assert project.name == "docs"
    assert [record.status for record in logged(sandbox, 3)] == [500, 500, 200]
    assert len(sleeps.waits) == 2


def test_retry_after_seconds(sandbox: PagesSandbox, sleeps: SleepRecorder) -> None:
    sandbox.faults.rate_limited(retry_after=3, count=1)

    make_client(sandbox).get_project("docs")

    assert [record.status for record in logged(sandbox, 2)] == [429, 200]
    assert sleeps.waits == [3.0]


def test_retry_after_http_date(sandbox: PagesSandbox, sleeps: SleepRecorder) -> None:
    sandbox.faults.rate_limited(retry_after=datetime.now(UTC) + timedelta(seconds=8), count=1)

    make_client(sandbox).get_project("docs")

    assert [record.status for record in logged(sandbox, 2)] == [429, 200]
    assert len(sleeps.waits) == 1
    assert 6.0 <= sleeps.waits[0] <= 8.0


def test_rate_limited_without_retry_after(sandbox: PagesSandbox, sleeps: SleepRecorder) -> None:
    sandbox.faults.rate_limited(retry_after=None, count=1)

    make_client(sandbox).get_project("docs")

    assert len(sleeps.waits) == 1
    assert 0.0 <= sleeps.waits[0] <= FAST_RETRY.base_delay


def test_delete_retried_after_server_error(sandbox: PagesSandbox, sleeps: SleepRecorder) -> None:
    older = add_deployment(sandbox, 10, branch="feature/login")
    add_deployment(sandbox, 5, branch="feature/login")
    sandbox.faults.server_error(status=502, method="DELETE", count=1)

    make_client(sandbox).delete_deployment("docs", older)

    assert sandbox.store.deleted_ids("docs") == [older]
    assert [record.status for record in logged(sandbox, 2)] == [502, 200]


def test_create_not_retried_on_server_error(sandbox: PagesSandbox, sleeps: SleepRecorder) -> None:
    sandbox.faults.server_error(status=503, method="POST", count=1)

    with pytest.raises(ServerError):
        make_client(sandbox).create_deployment("docs", branch="main")

    assert len(requests_to(logged(sandbox, 1), DEPLOYMENTS_PATH, "POST")) == 1
    assert sandbox.store.deployment_ids("docs") == []
    assert sleeps.waits == []


def test_create_retried_once_on_rate_limit(sandbox: PagesSandbox, sleeps: SleepRecorder) -> None:
    sandbox.faults.rate_limited(retry_after=1, method="POST", count=1)

    created = make_client(sandbox).create_deployment("docs", branch="main")

    assert [record.status for record in requests_to(logged(sandbox, 2), DEPLOYMENTS_PATH, "POST")] == [
        429,
        200,
    ]
    assert sandbox.store.deployment_ids("docs") == [created.id]
    assert sleeps.waits == [1.0]


# Hung responses.
def test_hang_times_out_within_read_timeout(sandbox: PagesSandbox) -> None:
    sandbox.faults.hang(path="/pages/projects/docs$")
    client = make_client(sandbox, retry=RetryPolicy(max_attempts=1), timeouts=Timeouts(connect=1.0, read=0.3))

    started = time.monotonic()
    with pytest.raises(CloudflareTimeoutError) as caught:
        client.get_project("docs")
    elapsed = time.monotonic() - started

    assert 0.3 <= elapsed <= 0.3 + TIMING_MARGIN
    assert str(caught.value) == "GET /pages/projects/docs timed out waiting 0.30s for a response"
    assert caught.value.__cause__ is not None


def test_hang_bounded_by_deadline(sandbox: PagesSandbox) -> None:
    # The default read timeout is 10 s and GETs are retried: the deadline must cut both.
    sandbox.faults.hang(path="/pages/projects/docs$")
    client = make_client(sandbox)
    client.deadline = Deadline.after(0.8)

    started = time.monotonic()
    with pytest.raises(CloudflareTimeoutError):
        client.get_project("docs")
    elapsed = time.monotonic() - started

    assert elapsed <= 0.8 + TIMING_MARGIN


def test_hang_on_create_not_retried(sandbox: PagesSandbox) -> None:
    fault = sandbox.faults.hang(method="POST")
    client = make_client(sandbox, timeouts=Timeouts(connect=1.0, read=0.3))

    with pytest.raises(CloudflareTimeoutError):
        client.create_deployment("docs", branch="main")
    fault.clear()

    # The held request reaches the API once released; the client never sent a second one.
    assert len(requests_to(logged(sandbox, 1), DEPLOYMENTS_PATH, "POST")) == 1


def test_latency_within_timeout(sandbox: PagesSandbox) -> None:
    sandbox.faults.add_latency(0.1, count=1)
    client = make_client(sandbox, retry=RetryPolicy(max_attempts=1), timeouts=Timeouts(connect=1.0, read=0.5))

    assert client.get_project("docs").name == "docs"


# Pagination.
def fill(sandbox: PagesSandbox, count: int) -> list[str]:
    if count == 0:
        return []
    sandbox.store.generate_history(
        "docs", count=count, start=NOW - timedelta(days=420), end=NOW - timedelta(hours=1), rng_seed=count
    )
    return sandbox.store.deployment_ids("docs")


@pytest.mark.parametrize("count", [0, 1, 25, 26, 2500])
def test_pagination(sandbox: PagesSandbox, count: int) -> None:
    expected = fill(sandbox, count)
    sandbox.reset_request_log()

    listed = [deployment.id for deployment in make_client(sandbox).iter_deployments("docs")]

    assert listed == expected
    pages = max(1, math.ceil(count / 25))
    sent = requests_to(logged(sandbox, pages), DEPLOYMENTS_PATH)
    assert len(sent) == pages
    assert [record.query for record in sent] == [
        {"page": str(page), "per_page": "25"} for page in range(1, pages + 1)
    ]
    assert all(record.status == 200 for record in sent)


def test_pagination_newest_first(sandbox: PagesSandbox) -> None:
    fill(sandbox, 60)

    listed = list(make_client(sandbox).iter_deployments("docs"))

    created = [deployment.created_on for deployment in listed]
    assert all(moment is not None for moment in created)
    assert created == sorted(created, key=lambda moment: moment or NOW, reverse=True)


@pytest.mark.parametrize("env", ["production", "preview"])
def test_pagination_env(sandbox: PagesSandbox, env: str) -> None:
    fill(sandbox, 80)
    every = list(make_client(sandbox).iter_deployments("docs"))
    logged(sandbox, 4)
    sandbox.reset_request_log()

    listed = list(make_client(sandbox).iter_deployments("docs", env=env))

    assert [deployment.id for deployment in listed] == [item.id for item in every if item.environment == env]
    pages = max(1, math.ceil(len(listed) / 25))
    sent = requests_to(logged(sandbox, pages), DEPLOYMENTS_PATH)
    assert len(sent) == pages
    assert all(record.query["env"] == env for record in sent)


def test_list_deployments_page(sandbox: PagesSandbox) -> None:
    expected = fill(sandbox, 60)
    client = make_client(sandbox)

    first = client.list_deployments_page("docs")
    last = client.list_deployments_page("docs", page=3)

    assert [deployment.id for deployment in first.deployments] == expected[:25]
    assert first.total_count == 60
    assert first.total_pages == 3
    assert first.has_next is True
    assert [deployment.id for deployment in last.deployments] == expected[50:]
    assert last.has_next is False


def test_pagination_retries_one_page(sandbox: PagesSandbox, sleeps: SleepRecorder) -> None:
    expected = fill(sandbox, 60)
    sandbox.reset_request_log()
    sandbox.faults.server_error(status=502, path="/deployments$", count=1)
    iterator = make_client(sandbox).iter_deployments("docs")

    listed = [next(iterator).id for _ in range(30)] + [deployment.id for deployment in iterator]

    assert listed == expected
    assert [record.query.get("page") for record in logged(sandbox, 4)] == ["1", "1", "2", "3"]


# The client shared by threads, and the rate limiter from settings.
def test_client_shared_by_threads(sandbox: PagesSandbox) -> None:
    ids = fill(sandbox, 40)
    client = make_client(sandbox)
    results: dict[str, str] = {}
    errors: list[BaseException] = []
    lock = threading.Lock()

    def worker(chunk: list[str]) -> None:
        for deployment_id in chunk:
            try:
                deployment = client.get_deployment("docs", deployment_id)
            except Exception as error:  # noqa: BLE001 - collected and asserted below
                errors.append(error)
                continue
            with lock:
                results[deployment_id] = deployment.id

    threads = [threading.Thread(target=worker, args=(ids[index::8],)) for index in range(8)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()

    assert errors == []
    assert results == {deployment_id: deployment_id for deployment_id in ids}


def test_from_settings_spaces_requests(
    pages_sandbox: PagesSandbox, make_settings: Callable[..., Settings]
) -> None:
    pages_sandbox.store.add_project("docs")
    settings = make_settings(rate_limit_per_minute=240.0)
    client = PagesClient.from_settings(settings, StaticCredentials(Credentials(api_token=SANDBOX_API_TOKEN)))

    started = time.monotonic()
    for _ in range(3):
        client.get_project("docs")
    elapsed = time.monotonic() - started

    # 240 a minute is one request every 0.25 s: the third starts at least 0.5 s after the first. The time is
    # measured on the client, whose waits are exact, rather than from the server's busy threads.
    assert elapsed >= 0.5
    assert len(logged(pages_sandbox, 3)) == 3


def test_sandbox_client_fixture(pages_sandbox: PagesSandbox, sandbox_client: PagesClient) -> None:
    pages_sandbox.store.add_project("docs")

    assert sandbox_client.get_project("docs").name == "docs"
