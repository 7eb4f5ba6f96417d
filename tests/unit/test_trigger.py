"""Unit tests of pages_ops.trigger: exact outgoing requests, results, failures, logs and metrics.

`responses` runs in strict mode with an ordered registry, so an extra request (a second POST, a retry) or a
missing one fails the test. The idempotency records are replaced by `MemoryLedger`, which keeps the same
contract as `TickLedger` in a dict; tests/integration/test_trigger_build.py runs the real one on moto.
"""

from __future__ import annotations

import copy
import logging
import os
import subprocess
import sys
from collections.abc import Callable, Iterator, Mapping
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta
from typing import Any, cast

import pytest
import responses
from responses import matchers
from responses.registries import OrderedRegistry

from pages_ops.client import PagesClient
from pages_ops.config import Settings
from pages_ops.credentials import Credentials, SecretDocument, StaticCredentials
from pages_ops.errors import (
    ApiErrorDetail,
    CloudflareApiError,
    CloudflareConnectionError,
    CloudflareError,
    CloudflareNotSentError,
    CloudflareTimeoutError,
    InvalidEventError,
    MalformedResponseError,
    RateLimitedError,
    RunFailedError,
    ServerError,
)
from pages_ops.idempotency import (
    LedgerEntry,
    LedgerError,
    StartFunction,
    TickInProgressError,
    TickKey,
    TickLedger,
    forget_ledgers,
    open_ledger,
)
from pages_ops.timing import RetryPolicy
from pages_ops.trigger import (
    DIRECT_UPLOAD_REASON,
    METRIC_FAILED,
    METRIC_REPLAYED,
    METRIC_SKIPPED,
    METRIC_TRIGGERED,
    UNCERTAIN_SETTLE_SECONDS,
    BuildResult,
    TriggerRun,
    _outcome_unknown,
    trigger_builds,
)
from tests.conftest import FAKE_ACCOUNT_ID, FAKE_API_TOKEN, REPO_ROOT, load_fixture, refused_connection

BASE = "https://api.cloudflare.invalid/client/v4"
PROJECTS_URL = f"{BASE}/accounts/{FAKE_ACCOUNT_ID}/pages/projects"
HOOK_ID = "5f0c8e2a-hook-not-real-0000"
HOOK_URL = f"{BASE}/pages/webhooks/deploy_hooks/{HOOK_ID}"
AUTH_HEADER = {"Authorization": f"Bearer {FAKE_API_TOKEN}"}
TICK = "2026-03-01T10:00:00Z"
SCHEDULER_EVENT = {"scheduled_time": TICK, "execution_id": "c0ffee00-0000-4000-8000-000000000001"}

PROJECT_BODY = load_fixture("cloudflare-go_get_project.json")
# The docs-derived body has no latest_deployment and `source: null`; a Git source is added so the project is
# not taken for a Direct Upload one.
PROJECT_WITHOUT_LATEST = load_fixture("andykenward_get_project.json")
PROJECT_WITHOUT_LATEST["result"]["source"] = copy.deepcopy(PROJECT_BODY["result"]["source"])
DIRECT_UPLOAD_PROJECT = load_fixture("andykenward_get_project.json")
DEPLOYMENT_BODY = load_fixture("cloudflare-go_get_deployment.json")
BUILDING_LIST = load_fixture("andykenward_list_deployments_idle_variant.json")
NEW_ID = DEPLOYMENT_BODY["result"]["id"]
NEW_URL = DEPLOYMENT_BODY["result"]["url"]


@dataclass
class FakeContext:
    """The parts of a Lambda context the trigger and Powertools read."""

    remaining_ms: int = 30_000
    function_name: str = "cf-pages-ops-TriggerBuildFunction"
    memory_limit_in_mb: int = 128
    invoked_function_arn: str = "arn:aws:lambda:us-east-1:123456789012:function:cf-pages-ops-TriggerBuild"
    aws_request_id: str = "6f2d7a9e-0000-4000-8000-00000000test"

    def get_remaining_time_in_millis(self) -> int:
        return self.remaining_ms


@dataclass
class FakeSecrets:
    deploy_hooks: dict[str, str] = field(default_factory=dict)
    reads: int = 0

    def get(self) -> SecretDocument:
        self.reads += 1
        return SecretDocument(
            credentials=Credentials(api_token=FAKE_API_TOKEN), deploy_hooks=self.deploy_hooks
        )


@dataclass
class RecordingMetrics:
    added: dict[str, float] = field(default_factory=dict)
    units: set[str] = field(default_factory=set)

    def add_metric(self, name: str, unit: str, value: float) -> None:
        self.added[name] = self.added.get(name, 0) + value
        self.units.add(unit)


@dataclass
class MemoryLedger:
    """TickLedger's contract in memory: a record per (key, attempt), deleted when `start` raises."""

    records: dict[tuple[TickKey, int], dict[str, Any]] = field(default_factory=dict)
    in_progress: set[tuple[TickKey, int]] = field(default_factory=set)
    abandoned: dict[tuple[TickKey, int], datetime] = field(default_factory=dict)
    replaced: list[tuple[int, dict[str, Any]]] = field(default_factory=list)
    bound: list[object] = field(default_factory=list)

    def bind(self, context: object) -> None:
        self.bound.append(context)

    def run(self, key: TickKey, attempt: int, start: StartFunction) -> LedgerEntry:
        slot = (key, attempt)
        if slot in self.records:
            return LedgerEntry(record=self.records[slot], replayed=True)
        if slot in self.in_progress:
            raise TickInProgressError(f"another invocation is starting the build of {key.project}")
        record = start(self.abandoned.pop(slot, None))
        self.records[slot] = record
        return LedgerEntry(record=record, replayed=False)

    def replace(self, key: TickKey, attempt: int, record: Mapping[str, Any]) -> None:
        self.records[(key, attempt)] = dict(record)
        self.replaced.append((attempt, dict(record)))


@pytest.fixture
def mocked() -> Iterator[responses.RequestsMock]:
    with responses.RequestsMock(assert_all_requests_are_fired=True, registry=OrderedRegistry) as rsps:
        yield rsps


def make_settings(**overrides: Any) -> Settings:
    fields: dict[str, Any] = {
        "account_id": FAKE_ACCOUNT_ID,
        "secret_id": "cf-pages-ops/test",
        "projects": ("docs",),
        "api_base_url": BASE,
    }
    fields.update(overrides)
    return Settings(**fields)


def make_client() -> PagesClient:
    return PagesClient(
        FAKE_ACCOUNT_ID,
        StaticCredentials(Credentials(api_token=FAKE_API_TOKEN)),
        base_url=BASE,
        retry=RetryPolicy(max_attempts=3, base_delay=0.001, max_delay=0.002),
    )


def run_trigger(
    event: object = None,
    *,
    settings: Settings | None = None,
    client: PagesClient | None = None,
    secrets: FakeSecrets | None = None,
    metrics: RecordingMetrics | None = None,
    ledger: MemoryLedger | None = None,
    clock: Callable[[], datetime] | None = None,
    context: FakeContext | None = None,
) -> TriggerRun:
    return trigger_builds(
        SCHEDULER_EVENT if event is None else event,
        context or FakeContext(),
        settings=settings or make_settings(),
        client=client or make_client(),
        secrets=secrets or FakeSecrets(),
        metrics=metrics,
        ledger=cast(TickLedger, ledger) if ledger is not None else None,
        clock=clock,
    )


def deployment(**changes: Any) -> dict[str, Any]:
    """A deployment object like the API returns, based on the cloudflare-go test body."""
    body: dict[str, Any] = copy.deepcopy(DEPLOYMENT_BODY["result"])
    branch = changes.pop("branch", None)
    if branch is not None:
        body["deployment_trigger"]["metadata"]["branch"] = branch
    body.update(changes)
    return body


def envelope(result: Any, **extra: Any) -> dict[str, Any]:
    return {"success": True, "errors": [], "messages": [], "result": result, **extra}


def error_body(code: int, message: str) -> dict[str, Any]:
    return {"success": False, "errors": [{"code": code, "message": message}], "messages": [], "result": None}


def project_body(latest_stage: dict[str, Any] | None = None) -> dict[str, Any]:
    body: dict[str, Any] = copy.deepcopy(PROJECT_BODY)
    if latest_stage is not None:
        body["result"]["latest_deployment"]["latest_stage"] = latest_stage
    return body


def list_page(items: list[dict[str, Any]]) -> dict[str, Any]:
    info = {"page": 1, "per_page": 25, "count": len(items), "total_count": len(items), "total_pages": 1}
    return envelope(items, result_info=info)


def add_create(mocked: responses.RequestsMock, project: str = "docs", **kwargs: Any) -> None:
    kwargs.setdefault("json", DEPLOYMENT_BODY)
    mocked.add("POST", f"{PROJECTS_URL}/{project}/deployments", **kwargs)


# Starting a build through the API


def test_trigger_posts_bare_create(mocked: responses.RequestsMock) -> None:
    add_create(mocked, match=[matchers.header_matcher(AUTH_HEADER), matchers.query_param_matcher({})])

    run = run_trigger(settings=make_settings(skip_if_building=False))

    assert run.to_dict() == {
        "results": [
            {
                "project": "docs",
                "action": "triggered",
                "deployment_id": NEW_ID,
                "url": NEW_URL,
                "reason": None,
            }
        ]
    }
    request = mocked.calls[0].request
    # No branch: Cloudflare's own example sends a bare POST, which builds the production branch.
    assert request.body is None
    assert "Content-Type" not in request.headers


def test_trigger_checks_project_then_posts(mocked: responses.RequestsMock) -> None:
    mocked.add("GET", f"{PROJECTS_URL}/docs", json=PROJECT_BODY, match=[matchers.header_matcher(AUTH_HEADER)])
    add_create(mocked)

    run = run_trigger()

    assert [call.request.method for call in mocked.calls] == ["GET", "POST"]
    assert run.results[0].action == "triggered"
    assert run.results[0].branch == "main"
    assert run.tick == TICK


def test_trigger_branch_from_env(mocked: responses.RequestsMock) -> None:
    add_create(mocked, match=[matchers.multipart_matcher({"branch": (None, "staging")})])

    run = run_trigger(settings=make_settings(skip_if_building=False, trigger_branch="staging"))

    assert run.results[0].action == "triggered"
    content_type = mocked.calls[0].request.headers["Content-Type"]
    assert content_type.startswith("multipart/form-data; boundary=")


def test_trigger_event_branch_wins(mocked: responses.RequestsMock) -> None:
    add_create(mocked, match=[matchers.multipart_matcher({"branch": (None, "feature/cms-refresh")})])

    run = run_trigger(
        {**SCHEDULER_EVENT, "branch": "feature/cms-refresh"},
        settings=make_settings(skip_if_building=False, trigger_branch="staging"),
    )

    assert run.results[0].action == "triggered"


def test_trigger_empty_event_branch_uses_env(mocked: responses.RequestsMock) -> None:
    add_create(mocked, match=[matchers.multipart_matcher({"branch": (None, "staging")})])

    run_trigger(
        {**SCHEDULER_EVENT, "branch": ""},
        settings=make_settings(skip_if_building=False, trigger_branch="staging"),
    )


def test_trigger_manual_invocation_none_event(mocked: responses.RequestsMock) -> None:
    add_create(mocked)

    manual = trigger_builds(
        None,
        FakeContext(),
        settings=make_settings(skip_if_building=False),
        client=make_client(),
        secrets=FakeSecrets(),
    )

    assert manual.results[0].action == "triggered"
    assert manual.tick is None


# SKIP_IF_BUILDING


@pytest.mark.parametrize(
    ("stage", "status", "word"),
    [("queued", "active", "queued"), ("build", "active", "building"), ("clone_repo", "idle", "building")],
)
def test_trigger_skips_running_build(
    mocked: responses.RequestsMock, stage: str, status: str, word: str
) -> None:
    latest = {"name": stage, "status": status, "started_on": None, "ended_on": None}
    mocked.add("GET", f"{PROJECTS_URL}/docs", json=project_body(latest))

    metrics = RecordingMetrics()
    run = run_trigger(metrics=metrics)

    result = run.results[0]
    assert result.action == "skipped"
    assert result.deployment_id is None
    assert result.reason == f"deployment c35216d1 is still {word} (stage {stage} is {status})"
    assert metrics.added[METRIC_SKIPPED] == 1
    assert metrics.added[METRIC_TRIGGERED] == 0


def test_trigger_skip_falls_back_to_listing(mocked: responses.RequestsMock) -> None:
    mocked.add("GET", f"{PROJECTS_URL}/docs", json=PROJECT_WITHOUT_LATEST)
    mocked.add(
        "GET",
        f"{PROJECTS_URL}/docs/deployments",
        json=BUILDING_LIST,
        match=[matchers.query_param_matcher({"page": "1", "per_page": "1"})],
    )

    run = run_trigger()

    assert run.results[0].action == "skipped"
    assert run.results[0].reason == "deployment 206e215c is still queued (stage queued is active)"


def test_trigger_skips_direct_upload_project(mocked: responses.RequestsMock) -> None:
    mocked.add("GET", f"{PROJECTS_URL}/docs", json=DIRECT_UPLOAD_PROJECT)

    run = run_trigger()

    assert run.to_dict()["results"] == [
        {
            "project": "docs",
            "action": "skipped",
            "deployment_id": None,
            "url": None,
            "reason": DIRECT_UPLOAD_REASON,
        }
    ]
    assert [call.request.method for call in mocked.calls] == ["GET"]


def test_trigger_builds_when_listing_empty(mocked: responses.RequestsMock) -> None:
    mocked.add("GET", f"{PROJECTS_URL}/docs", json=PROJECT_WITHOUT_LATEST)
    mocked.add(
        "GET",
        f"{PROJECTS_URL}/docs/deployments",
        json=list_page([]),
        match=[matchers.query_param_matcher({"page": "1", "per_page": "1"})],
    )
    add_create(mocked)

    assert run_trigger().results[0].action == "triggered"


def test_trigger_skip_disabled_builds(mocked: responses.RequestsMock) -> None:
    add_create(mocked)

    run = run_trigger(settings=make_settings(skip_if_building=False))

    assert run.results[0].action == "triggered"
    assert len(mocked.calls) == 1


# Deploy hooks


def test_trigger_posts_to_deploy_hook(mocked: responses.RequestsMock) -> None:
    mocked.add("POST", HOOK_URL, json=envelope({"id": NEW_ID}))

    run = run_trigger(settings=make_settings(skip_if_building=False), secrets=FakeSecrets({"docs": HOOK_URL}))

    assert run.to_dict()["results"] == [
        {
            "project": "docs",
            "action": "triggered",
            "deployment_id": NEW_ID,
            "url": None,
            "reason": "started through the project's deploy hook",
        }
    ]
    request = mocked.calls[0].request
    # The hook URL is the credential: no API token goes with it.
    assert "Authorization" not in request.headers
    assert "X-Auth-Key" not in request.headers
    assert request.body is None


def test_trigger_hook_log_line(mocked: responses.RequestsMock, caplog: pytest.LogCaptureFixture) -> None:
    caplog.set_level(logging.INFO, logger="pages_ops.trigger")
    mocked.add("POST", HOOK_URL, json=envelope({"id": NEW_ID}))

    run_trigger(settings=make_settings(skip_if_building=False), secrets=FakeSecrets({"docs": HOOK_URL}))

    messages = [record.getMessage() for record in caplog.records if record.name == "pages_ops.trigger"]
    assert messages == [
        f"build triggered for docs: deployment {NEW_ID}, branch the deploy hook's branch, tick {TICK} "
        "(started through the project's deploy hook)"
    ]


def test_trigger_hook_without_id(mocked: responses.RequestsMock) -> None:
    mocked.add("POST", HOOK_URL, json=envelope({}))

    run = run_trigger(settings=make_settings(skip_if_building=False), secrets=FakeSecrets({"docs": HOOK_URL}))

    assert run.results[0].action == "triggered"
    assert run.results[0].deployment_id is None
    assert run.results[0].url is None


def test_trigger_hook_checks_building_with_api(mocked: responses.RequestsMock) -> None:
    mocked.add("GET", f"{PROJECTS_URL}/docs", json=PROJECT_BODY, match=[matchers.header_matcher(AUTH_HEADER)])
    mocked.add("POST", HOOK_URL, json=envelope({"id": NEW_ID}))

    run = run_trigger(secrets=FakeSecrets({"docs": HOOK_URL}))

    assert run.results[0].deployment_id == NEW_ID


@pytest.mark.parametrize(
    ("event", "env_branch", "source"),
    [
        ({**SCHEDULER_EVENT, "branch": "staging"}, None, "the event's 'branch' key"),
        (SCHEDULER_EVENT, "staging", "TRIGGER_BRANCH"),
    ],
)
def test_trigger_hook_rejects_branch(
    mocked: responses.RequestsMock, event: dict[str, Any], env_branch: str | None, source: str
) -> None:
    settings = make_settings(skip_if_building=False, trigger_branch=env_branch)

    with pytest.raises(RunFailedError) as raised:
        run_trigger(event, settings=settings, secrets=FakeSecrets({"docs": HOOK_URL}))

    assert len(mocked.calls) == 0
    message = str(raised.value)
    assert "project docs builds through a deploy hook" in message
    assert f"branch 'staging' from {source} cannot be built" in message
    assert HOOK_ID not in message
    assert raised.value.results == [
        {
            "project": "docs",
            "action": "failed",
            "deployment_id": None,
            "url": None,
            "reason": raised.value.results[0]["reason"],
            "error_codes": [],
        }
    ]


def test_trigger_hook_url_never_logged(
    mocked: responses.RequestsMock, caplog: pytest.LogCaptureFixture
) -> None:
    caplog.set_level(logging.DEBUG)
    mocked.add("POST", HOOK_URL, status=500, json=error_body(8000000, "An unknown error occurred"))

    with pytest.raises(RunFailedError) as raised:
        run_trigger(settings=make_settings(skip_if_building=False), secrets=FakeSecrets({"docs": HOOK_URL}))

    assert caplog.records
    for record in caplog.records:
        assert HOOK_ID not in record.getMessage()
        assert HOOK_ID not in str(record.__dict__)
    assert HOOK_ID not in str(raised.value)
    assert HOOK_ID not in str(raised.value.results)


# Failures


def test_trigger_refusal_raises_with_codes(mocked: responses.RequestsMock) -> None:
    add_create(mocked, status=403, json=error_body(10000, "Authentication error"))

    with pytest.raises(RunFailedError) as raised:
        run_trigger(settings=make_settings(skip_if_building=False))

    message = str(raised.value)
    assert message.startswith("build trigger failed for 1 of 1 projects: docs: POST ")
    assert "failed with HTTP 403: [10000] Authentication error [error codes 10000]" in message
    assert FAKE_API_TOKEN not in message
    assert FAKE_ACCOUNT_ID not in message
    assert raised.value.results[0]["error_codes"] == [10000]
    assert len(mocked.calls) == 1


def test_trigger_rejected_create_reports_codes(mocked: responses.RequestsMock) -> None:
    add_create(mocked, status=400, json=error_body(8000068, "A deployment needs a manifest"))

    with pytest.raises(RunFailedError, match=r"\[8000068\] A deployment needs a manifest"):
        run_trigger(settings=make_settings(skip_if_building=False))


def test_trigger_server_error_not_reposted(mocked: responses.RequestsMock) -> None:
    add_create(mocked, status=500, json=error_body(8000000, "An unknown error occurred"))

    with pytest.raises(RunFailedError) as raised:
        run_trigger(settings=make_settings(skip_if_building=False))

    assert len(mocked.calls) == 1
    message = str(raised.value)
    assert "whether a build started is unknown" in message
    assert "[8000000] An unknown error occurred" in message
    assert (
        "this run is not deduplicated (IDEMPOTENCY_TABLE is unset or the event has no schedule tick), so a "
        "retry may start a second build: check the project's deployments [error codes 8000000]"
    ) in message
    assert raised.value.results[0]["error_codes"] == [8000000]


def test_trigger_unknown_outcome_names_skip(mocked: responses.RequestsMock) -> None:
    mocked.add("GET", f"{PROJECTS_URL}/docs", json=project_body())
    add_create(mocked, status=502, json=error_body(8000000, "An unknown error occurred"))

    with pytest.raises(RunFailedError) as raised:
        run_trigger(settings=make_settings(skip_if_building=True))

    assert "so a retry may start a second build unless SKIP_IF_BUILDING finds this one still building" in str(
        raised.value
    )


def test_trigger_refused_connection_known(mocked: responses.RequestsMock) -> None:
    # make_client() tries a request at most 3 times.
    for _ in range(3):
        mocked.add("POST", f"{PROJECTS_URL}/docs/deployments", body=refused_connection())

    with pytest.raises(RunFailedError) as raised:
        run_trigger(settings=make_settings(skip_if_building=False))

    message = str(raised.value)
    assert message.endswith(
        "docs: POST /pages/projects/docs/deployments failed: could not connect (ConnectionError)"
    )
    assert "unknown" not in message
    assert len(mocked.calls) == 3


def test_trigger_project_not_found(mocked: responses.RequestsMock) -> None:
    not_found = load_fixture("wrangler_error_project_not_found_8000007.json")
    mocked.add("GET", f"{PROJECTS_URL}/docs", status=404, json=not_found)

    with pytest.raises(RunFailedError, match="8000007"):
        run_trigger()


def test_trigger_continues_after_failure(mocked: responses.RequestsMock) -> None:
    settings = make_settings(skip_if_building=False, projects=("docs", "blog", "shop"))
    add_create(mocked, "docs")
    add_create(mocked, "blog", status=404, json=error_body(8000007, "Project not found."))
    add_create(mocked, "shop", json=envelope(deployment(id="9a1b2c3d-0000-4000-8000-000000000003")))
    metrics = RecordingMetrics()

    with pytest.raises(RunFailedError) as raised:
        run_trigger(settings=settings, metrics=metrics)

    assert [call.request.url for call in mocked.calls] == [
        f"{PROJECTS_URL}/docs/deployments",
        f"{PROJECTS_URL}/blog/deployments",
        f"{PROJECTS_URL}/shop/deployments",
    ]
    results = raised.value.results
    assert [(result["project"], result["action"]) for result in results] == [
        ("docs", "triggered"),
        ("blog", "failed"),
        ("shop", "triggered"),
    ]
    assert results[2]["deployment_id"] == "9a1b2c3d-0000-4000-8000-000000000003"
    assert str(raised.value).startswith("build trigger failed for 1 of 3 projects: blog: ")
    assert "[error codes 8000007]" in str(raised.value)
    assert metrics.added == {METRIC_TRIGGERED: 2, METRIC_SKIPPED: 0, METRIC_FAILED: 1, METRIC_REPLAYED: 0}
    assert metrics.units == {"Count"}


def test_trigger_secret_failure_raises_once(mocked: responses.RequestsMock) -> None:
    from pages_ops.errors import SecretError

    message = "could not read secret cf-pages-ops/test from Secrets Manager: AccessDenied"

    class BrokenSecrets:
        def get(self) -> SecretDocument:
            raise SecretError(message)

    with pytest.raises(SecretError) as raised:
        trigger_builds(
            SCHEDULER_EVENT,
            FakeContext(),
            settings=make_settings(),
            client=make_client(),
            secrets=BrokenSecrets(),
        )
    assert str(raised.value) == message
    assert len(mocked.calls) == 0


def test_trigger_sets_deadline_from_context(mocked: responses.RequestsMock) -> None:
    add_create(mocked)
    client = make_client()

    run_trigger(settings=make_settings(skip_if_building=False), client=client, context=FakeContext(10_000))

    assert client.deadline is not None
    # Deadline.from_lambda_context keeps 2 s back for reporting.
    assert 7.5 < client.deadline.remaining() <= 8.0


def test_trigger_out_of_time_fails_without_request(mocked: responses.RequestsMock) -> None:
    with pytest.raises(RunFailedError, match="not sent"):
        run_trigger(context=FakeContext(remaining_ms=1_000))

    assert len(mocked.calls) == 0


# Events


def test_trigger_unmanaged_project_rejected(mocked: responses.RequestsMock) -> None:
    with pytest.raises(InvalidEventError, match="'internal-tools', which is not in PAGES_PROJECTS"):
        run_trigger({**SCHEDULER_EVENT, "project": "internal-tools"})

    assert len(mocked.calls) == 0


def test_trigger_event_project_selects_one(mocked: responses.RequestsMock) -> None:
    add_create(mocked, "blog")

    run = run_trigger(
        {**SCHEDULER_EVENT, "project": "blog"},
        settings=make_settings(skip_if_building=False, projects=("docs", "blog")),
    )

    assert [result.project for result in run.results] == ["blog"]


@pytest.mark.parametrize(
    "event",
    [
        ["docs"],
        "docs",
        {"project": 5},
        {"project": "../docs"},
        {"project": "Docs"},
        {"branch": ["main"]},
        {"branch": "main\nx"},
        {"branch": " main"},
    ],
)
def test_trigger_malformed_event_rejected(mocked: responses.RequestsMock, event: object) -> None:
    with pytest.raises(InvalidEventError):
        run_trigger(event)

    assert len(mocked.calls) == 0


# Logs and metrics


def test_trigger_logs_one_line_per_action(
    mocked: responses.RequestsMock, caplog: pytest.LogCaptureFixture
) -> None:
    caplog.set_level(logging.INFO, logger="pages_ops.trigger")
    add_create(mocked, match=[matchers.multipart_matcher({"branch": (None, "main")})])

    run_trigger(settings=make_settings(skip_if_building=False, trigger_branch="main"))

    lines = [record for record in caplog.records if record.name == "pages_ops.trigger"]
    assert len(lines) == 1
    line = lines[0]
    assert line.levelno == logging.INFO
    assert line.getMessage() == f"build triggered for docs: deployment {NEW_ID}, branch main, tick {TICK}"
    assert line.__dict__["project"] == "docs"
    assert line.__dict__["deployment_id"] == NEW_ID
    assert line.__dict__["branch"] == "main"
    assert line.__dict__["tick"] == TICK
    assert line.__dict__["action"] == "triggered"


def test_trigger_logs_never_carry_token(
    mocked: responses.RequestsMock, caplog: pytest.LogCaptureFixture
) -> None:
    caplog.set_level(logging.DEBUG)
    add_create(mocked, status=403, json=error_body(10000, "Authentication error"))

    with pytest.raises(RunFailedError):
        run_trigger(settings=make_settings(skip_if_building=False))

    text = "\n".join(f"{record.getMessage()} {record.__dict__}" for record in caplog.records)
    assert FAKE_API_TOKEN not in text
    assert FAKE_ACCOUNT_ID not in text


def test_trigger_metrics_for_skip_and_trigger(mocked: responses.RequestsMock) -> None:
    latest = {"name": "build", "status": "active", "started_on": None, "ended_on": None}
    mocked.add("GET", f"{PROJECTS_URL}/docs", json=project_body(latest))
    mocked.add("GET", f"{PROJECTS_URL}/blog", json=PROJECT_BODY)
    add_create(mocked, "blog")
    metrics = RecordingMetrics()

    run_trigger(settings=make_settings(projects=("docs", "blog")), metrics=metrics)

    assert metrics.added == {METRIC_TRIGGERED: 1, METRIC_SKIPPED: 1, METRIC_FAILED: 0, METRIC_REPLAYED: 0}


# Which failures leave the outcome unknown


@pytest.mark.parametrize(
    ("error", "unknown"),
    [
        (CloudflareTimeoutError("timed out", method="POST", path="/p"), True),
        (CloudflareConnectionError("reset", method="POST", path="/p"), True),
        (ServerError(method="POST", path="/p", status=502), True),
        (CloudflareApiError(method="POST", path="/p", status=408), True),
        (MalformedResponseError(method="POST", path="/p", status=200, reason="truncated"), True),
        (
            CloudflareApiError(method="POST", path="/p", status=400, errors=(ApiErrorDetail(8000068, "x"),)),
            False,
        ),
        (RateLimitedError(method="POST", path="/p", status=429), False),
        (CloudflareApiError(method="POST", path="/p", status=403), False),
        (CloudflareError("other", method="POST", path="/p"), False),
        (CloudflareNotSentError("refused", method="POST", path="/p"), False),
    ],
)
def test_outcome_unknown_classification(error: CloudflareError, unknown: bool) -> None:
    assert _outcome_unknown(error) is unknown


def test_build_result_contract_keys() -> None:
    result = BuildResult(project="docs", action="failed", reason="x", error_codes=(10000,), branch="main")

    assert result.to_dict() == {
        "project": "docs",
        "action": "failed",
        "deployment_id": None,
        "url": None,
        "reason": "x",
    }
    assert result.to_report()["error_codes"] == [10000]


# Idempotent starts (the ledger's contract, kept in memory)


class Clock:
    def __init__(self, start: datetime) -> None:
        self.now = start

    def __call__(self) -> datetime:
        return self.now

    def advance(self, seconds: float) -> None:
        self.now += timedelta(seconds=seconds)


NOW = datetime(2026, 3, 1, 10, 0, 5, tzinfo=UTC)


def docs_key(branch: str | None = None) -> TickKey:
    return TickKey(account_id=FAKE_ACCOUNT_ID, project="docs", branch=branch, tick=TICK)


def test_trigger_ledger_stores_result(mocked: responses.RequestsMock) -> None:
    add_create(mocked)
    ledger = MemoryLedger()
    context = FakeContext()

    run = run_trigger(settings=make_settings(skip_if_building=False), ledger=ledger, context=context)

    assert run.results[0].action == "triggered"
    assert ledger.bound == [context]
    assert ledger.records[(docs_key(), 1)]["deployment_id"] == NEW_ID
    assert ledger.records[(docs_key(), 1)]["action"] == "triggered"


def test_trigger_ledger_replays_without_request(mocked: responses.RequestsMock) -> None:
    add_create(mocked)
    ledger = MemoryLedger()
    settings = make_settings(skip_if_building=False)
    run_trigger(settings=settings, ledger=ledger)
    metrics = RecordingMetrics()

    again = run_trigger(settings=settings, ledger=ledger, metrics=metrics)

    assert len(mocked.calls) == 1
    assert again.to_dict()["results"] == [
        {
            "project": "docs",
            "action": "triggered",
            "deployment_id": NEW_ID,
            "url": NEW_URL,
            "reason": f"tick {TICK} was already handled by an earlier delivery",
        }
    ]
    assert metrics.added == {METRIC_TRIGGERED: 0, METRIC_SKIPPED: 0, METRIC_FAILED: 0, METRIC_REPLAYED: 1}


def test_trigger_ledger_key_has_branch(mocked: responses.RequestsMock) -> None:
    add_create(mocked, match=[matchers.multipart_matcher({"branch": (None, "staging")})])
    ledger = MemoryLedger()

    run_trigger(
        {**SCHEDULER_EVENT, "branch": "staging"},
        settings=make_settings(skip_if_building=False),
        ledger=ledger,
    )

    assert list(ledger.records) == [(docs_key("staging"), 1)]


def test_trigger_ledger_unused_without_tick(
    mocked: responses.RequestsMock, caplog: pytest.LogCaptureFixture
) -> None:
    caplog.set_level(logging.INFO, logger="pages_ops.trigger")
    add_create(mocked)
    ledger = MemoryLedger()

    run_trigger({"project": "docs"}, settings=make_settings(skip_if_building=False), ledger=ledger)

    assert ledger.records == {}
    assert ledger.bound == []
    warnings = [record.getMessage() for record in caplog.records if record.levelno == logging.WARNING]
    assert warnings == [
        "the event has no schedule tick (neither scheduled_time nor time), as in a manual invocation: this "
        "run is not deduplicated and starts a build even if one was just started"
    ]


def test_trigger_classic_event_time_is_tick(mocked: responses.RequestsMock) -> None:
    add_create(mocked)
    ledger = MemoryLedger()
    classic = {"id": "53dc4d37-cffa-4f76-80c9-8b7d4a4d2eaa", "detail-type": "Scheduled Event", "time": TICK}

    run_trigger(classic, settings=make_settings(skip_if_building=False), ledger=ledger)

    assert list(ledger.records) == [(docs_key(), 1)]


def test_trigger_in_progress_elsewhere_skips(mocked: responses.RequestsMock) -> None:
    ledger = MemoryLedger(in_progress={(docs_key(), 1)})

    run = run_trigger(ledger=ledger)

    assert run.results[0].action == "skipped"
    assert run.results[0].reason == "another invocation is starting the build of docs"
    assert len(mocked.calls) == 0


def test_trigger_certain_failure_not_stored(mocked: responses.RequestsMock) -> None:
    add_create(mocked, status=403, json=error_body(10000, "Authentication error"))
    ledger = MemoryLedger()

    with pytest.raises(RunFailedError):
        run_trigger(settings=make_settings(skip_if_building=False), ledger=ledger)

    # A refusal is final: no record is kept, so a retry starts afresh.
    assert ledger.records == {}


def test_trigger_unknown_outcome_is_stored(mocked: responses.RequestsMock) -> None:
    add_create(mocked, status=502, json=error_body(8000000, "An unknown error occurred"))
    ledger = MemoryLedger()
    clock = Clock(NOW)

    with pytest.raises(RunFailedError) as raised:
        run_trigger(settings=make_settings(skip_if_building=False), ledger=ledger, clock=clock)

    stored = ledger.records[(docs_key(), 1)]
    assert stored["action"] == "uncertain"
    assert stored["posted_at"] == NOW.isoformat()
    assert stored["error_codes"] == [8000000]
    assert "a retry looks for a build created since the request" in str(raised.value)
    assert len(mocked.calls) == 1


def test_trigger_success_without_id_is_unknown(mocked: responses.RequestsMock) -> None:
    # HTTP 200 means Cloudflare accepted the request, even if the body lacks the deployment.
    add_create(mocked, json=envelope({"short_id": "0012e50b"}))
    ledger = MemoryLedger()

    with pytest.raises(RunFailedError, match="whether a build started is unknown"):
        run_trigger(settings=make_settings(skip_if_building=False), ledger=ledger, clock=Clock(NOW))

    assert ledger.records[(docs_key(), 1)]["action"] == "uncertain"


def uncertain_record(posted_at: datetime, branch: str | None = None) -> dict[str, Any]:
    return {
        "action": "uncertain",
        "deployment_id": None,
        "url": None,
        "reason": None,
        "branch": branch,
        "posted_at": posted_at.isoformat(),
        "error": "POST /pages/projects/docs/deployments timed out waiting 10.00s for a response",
        "error_codes": [],
    }


def listing_query() -> list[Callable[..., Any]]:
    return [matchers.query_param_matcher({"page": "1", "per_page": "25"})]


def test_trigger_resolves_lost_response(mocked: responses.RequestsMock) -> None:
    posted_at = NOW - timedelta(seconds=90)
    ledger = MemoryLedger(records={(docs_key(), 1): uncertain_record(posted_at)})
    created = deployment(
        id="b7e1c2d3-0000-4000-8000-00000000abcd",
        short_id="b7e1c2d3",
        url="https://b7e1c2d3.test.pages.dev",
        created_on=(posted_at + timedelta(seconds=2)).isoformat(),
    )
    older = deployment(id="a0000000-0000-4000-8000-000000000000", created_on="2026-02-28T10:00:00Z")
    mocked.add(
        "GET", f"{PROJECTS_URL}/docs/deployments", json=list_page([created, older]), match=listing_query()
    )

    run = run_trigger(settings=make_settings(skip_if_building=False), ledger=ledger, clock=Clock(NOW))

    result = run.results[0]
    assert result.action == "triggered"
    assert result.deployment_id == "b7e1c2d3-0000-4000-8000-00000000abcd"
    assert result.url == "https://b7e1c2d3.test.pages.dev"
    assert result.reason == (
        "an earlier attempt's build request got no response; deployment b7e1c2d3 was created after it, so it "
        "counts as this tick's build and no other was started"
    )
    assert ledger.replaced[0][0] == 1
    assert ledger.replaced[0][1]["deployment_id"] == "b7e1c2d3-0000-4000-8000-00000000abcd"


def test_trigger_lookup_ignores_other_branch(mocked: responses.RequestsMock) -> None:
    posted_at = NOW - timedelta(seconds=90)
    ledger = MemoryLedger(records={(docs_key("staging"), 1): uncertain_record(posted_at, "staging")})
    other_branch = deployment(created_on=(posted_at + timedelta(seconds=5)).isoformat(), branch="main")
    mocked.add(
        "GET", f"{PROJECTS_URL}/docs/deployments", json=list_page([other_branch]), match=listing_query()
    )
    add_create(mocked, match=[matchers.multipart_matcher({"branch": (None, "staging")})])

    run = run_trigger(
        {**SCHEDULER_EVENT, "branch": "staging"},
        settings=make_settings(skip_if_building=False),
        ledger=ledger,
        clock=Clock(NOW),
    )

    assert run.results[0].action == "triggered"
    assert ledger.records[(docs_key("staging"), 2)]["action"] == "triggered"


def test_trigger_waits_before_reposting(mocked: responses.RequestsMock) -> None:
    posted_at = NOW - timedelta(seconds=UNCERTAIN_SETTLE_SECONDS - 10)
    ledger = MemoryLedger(records={(docs_key(), 1): uncertain_record(posted_at)})
    mocked.add("GET", f"{PROJECTS_URL}/docs/deployments", json=list_page([]), match=listing_query())

    with pytest.raises(RunFailedError) as raised:
        run_trigger(settings=make_settings(skip_if_building=False), ledger=ledger, clock=Clock(NOW))

    assert "an earlier attempt sent the build request 20s ago and got no response" in str(raised.value)
    assert (docs_key(), 2) not in ledger.records
    assert len(mocked.calls) == 1


def test_trigger_reposts_after_settle(mocked: responses.RequestsMock) -> None:
    posted_at = NOW - timedelta(seconds=UNCERTAIN_SETTLE_SECONDS + 30)
    ledger = MemoryLedger(records={(docs_key(), 1): uncertain_record(posted_at)})
    stale = deployment(created_on=(posted_at - timedelta(minutes=5)).isoformat())
    mocked.add("GET", f"{PROJECTS_URL}/docs/deployments", json=list_page([stale]), match=listing_query())
    add_create(mocked)

    run = run_trigger(settings=make_settings(skip_if_building=False), ledger=ledger, clock=Clock(NOW))

    assert run.results[0].action == "triggered"
    assert run.results[0].deployment_id == NEW_ID
    assert ledger.records[(docs_key(), 2)]["deployment_id"] == NEW_ID
    assert [call.request.method for call in mocked.calls] == ["GET", "POST"]


def test_trigger_gives_up_after_max_attempts(mocked: responses.RequestsMock) -> None:
    posted_at = NOW - timedelta(minutes=10)
    ledger = MemoryLedger(records={(docs_key(), n): uncertain_record(posted_at) for n in (1, 2, 3)})
    for _ in range(3):
        mocked.add("GET", f"{PROJECTS_URL}/docs/deployments", json=list_page([]), match=listing_query())

    with pytest.raises(
        RunFailedError, match="3 build requests for tick 2026-03-01T10:00:00Z got no response"
    ):
        run_trigger(settings=make_settings(skip_if_building=False), ledger=ledger, clock=Clock(NOW))


def test_trigger_recovers_abandoned_attempt(mocked: responses.RequestsMock) -> None:
    taken_at = NOW - timedelta(minutes=2)
    ledger = MemoryLedger(abandoned={(docs_key(), 1): taken_at})
    created = deployment(created_on=(taken_at + timedelta(seconds=3)).isoformat())
    mocked.add("GET", f"{PROJECTS_URL}/docs/deployments", json=list_page([created]), match=listing_query())

    run = run_trigger(settings=make_settings(skip_if_building=False), ledger=ledger, clock=Clock(NOW))

    assert run.results[0].action == "triggered"
    assert run.results[0].deployment_id == NEW_ID
    assert run.results[0].reason is not None
    assert run.results[0].reason.startswith("an earlier invocation for this tick ended without a result")
    assert len(mocked.calls) == 1


def test_trigger_abandoned_attempt_without_build(mocked: responses.RequestsMock) -> None:
    taken_at = NOW - timedelta(minutes=2)
    ledger = MemoryLedger(abandoned={(docs_key(), 1): taken_at})
    mocked.add("GET", f"{PROJECTS_URL}/docs/deployments", json=list_page([]), match=listing_query())
    mocked.add("GET", f"{PROJECTS_URL}/docs", json=PROJECT_BODY)
    add_create(mocked)

    run = run_trigger(ledger=ledger, clock=Clock(NOW))

    assert run.results[0].action == "triggered"
    assert [call.request.method for call in mocked.calls] == ["GET", "GET", "POST"]


def test_trigger_hook_lookup_matches_hook_builds(mocked: responses.RequestsMock) -> None:
    posted_at = NOW - timedelta(seconds=90)
    ledger = MemoryLedger(records={(docs_key(), 1): uncertain_record(posted_at)})
    pushed = deployment(created_on=(posted_at + timedelta(seconds=3)).isoformat())
    hooked = deployment(
        id="c1d2e3f4-0000-4000-8000-000000000001",
        created_on=(posted_at + timedelta(seconds=2)).isoformat(),
        deployment_trigger={"type": "deploy_hook", "metadata": {"branch": "main"}},
    )
    mocked.add(
        "GET", f"{PROJECTS_URL}/docs/deployments", json=list_page([pushed, hooked]), match=listing_query()
    )

    run = run_trigger(
        settings=make_settings(skip_if_building=False),
        secrets=FakeSecrets({"docs": HOOK_URL}),
        ledger=ledger,
        clock=Clock(NOW),
    )

    assert run.results[0].deployment_id == "c1d2e3f4-0000-4000-8000-000000000001"


# Cold start


def test_handler_import_skips_idempotency_utility() -> None:
    code = (
        "import sys, trigger_build.app\n"
        "prefixes = ('boto3', 'aws_lambda_powertools.utilities.idempotency')\n"
        "print(sorted(name for name in sys.modules if name.startswith(prefixes)))"
    )
    environment = {
        **os.environ,
        "PYTHONPATH": os.pathsep.join(str(REPO_ROOT / part) for part in ("shared", "functions")),
        "CLOUDFLARE_ACCOUNT_ID": FAKE_ACCOUNT_ID,
        "CLOUDFLARE_SECRET_ID": "cf-pages-ops/test",
        "PAGES_PROJECTS": "docs",
        "IDEMPOTENCY_TABLE": "cf-pages-ops-idempotency",
    }

    # The interpreter and the code are this test's own: nothing untrusted reaches the command line.
    completed = subprocess.run(
        [sys.executable, "-c", code], env=environment, capture_output=True, text=True, check=True, timeout=60
    )

    # Even with IDEMPOTENCY_TABLE set, the utility is imported on the first invocation, not at import time.
    assert completed.stdout.strip() == "[]"


# The ledger's setup


def test_ledger_without_region_fails_clearly(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.delenv("AWS_DEFAULT_REGION")
    monkeypatch.delenv("AWS_REGION")

    with pytest.raises(LedgerError) as raised:
        TickLedger("cf-pages-ops-idempotency")

    assert str(raised.value).startswith(
        "could not create a DynamoDB client for IDEMPOTENCY_TABLE cf-pages-ops-idempotency (NoRegionError: "
    )
    assert raised.value.__cause__ is not None


def test_open_ledger_reused_per_table() -> None:
    forget_ledgers()
    try:
        first = open_ledger("cf-pages-ops-idempotency")
        second = open_ledger("cf-pages-ops-idempotency")
    finally:
        forget_ledgers()

    assert first is not None
    assert first is second
    assert first.table_name == "cf-pages-ops-idempotency"


def test_open_ledger_honours_powertools_switch(
    monkeypatch: pytest.MonkeyPatch, caplog: pytest.LogCaptureFixture
) -> None:
    caplog.set_level(logging.WARNING, logger="pages_ops.idempotency")
    monkeypatch.setenv("POWERTOOLS_IDEMPOTENCY_DISABLED", "true")

    assert open_ledger("cf-pages-ops-idempotency") is None
    assert "POWERTOOLS_IDEMPOTENCY_DISABLED is set: schedule ticks are not deduplicated" in caplog.text
