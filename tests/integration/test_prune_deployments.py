"""End-to-end tests of the pruner against the Cloudflare Pages stand-in, through the API client over HTTP."""

from __future__ import annotations

import importlib
import json
import logging
import math
import time
from collections.abc import Callable, Iterator
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta
from types import ModuleType
from typing import Any, cast

import pytest
from aws_lambda_powertools.utilities.typing import LambdaContext

from pages_ops import runtime
from pages_ops.client import PagesClient
from pages_ops.config import Settings
from pages_ops.credentials import Credentials, StaticCredentials
from pages_ops.errors import InvalidEventError, RunFailedError
from pages_ops.models import Deployment, Project
from pages_ops.pruner import prune
from pages_ops.timing import Deadline, RateLimiter, RetryPolicy
from sandbox.cloudflare_pages import (
    SANDBOX_ACCOUNT_ID,
    SANDBOX_API_TOKEN,
    PagesSandbox,
    PagesStore,
    RequestRecord,
)
from sandbox.cloudflare_pages.model import DeploymentStatus
from tests.conftest import load_event

pytestmark = pytest.mark.integration

PROJECT_PATH = f"/client/v4/accounts/{SANDBOX_ACCOUNT_ID}/pages/projects/docs"
DEPLOYMENTS_PATH = f"{PROJECT_PATH}/deployments"


def pruner_client(sandbox: PagesSandbox, *, per_minute: float | None = 6_000.0) -> PagesClient:
    """A client like the handler's (no retry on 429) with short retry delays and a fast rate limiter."""
    return PagesClient(
        SANDBOX_ACCOUNT_ID,
        StaticCredentials(Credentials(api_token=SANDBOX_API_TOKEN)),
        base_url=sandbox.base_url,
        rate_limiter=RateLimiter(per_minute) if per_minute else None,
        retry=RetryPolicy(base_delay=0.01, max_delay=0.05, retry_rate_limited=False),
    )


def sandbox_settings(sandbox: PagesSandbox, **overrides: Any) -> Settings:
    fields: dict[str, Any] = {
        "account_id": SANDBOX_ACCOUNT_ID,
        "secret_id": "cf-pages-ops/test",
        "projects": ("docs",),
        "api_base_url": sandbox.base_url,
        "rate_limit_per_minute": 240.0,
    }
    fields.update(overrides)
    return Settings(**fields)


class ContextStub:
    """The parts of a Lambda context that the handler, Powertools and the pruner read."""

    function_name = "cf-pages-ops-PruneDeploymentsFunction"
    memory_limit_in_mb = 128
    invoked_function_arn = (
        "arn:aws:lambda:us-east-1:123456789012:function:cf-pages-ops-PruneDeploymentsFunction"
    )
    aws_request_id = "5b7e2c3a-1f0d-4e8b-9a6c-3d2e1f0a9b8c"

    def __init__(self, remaining_seconds: float = 300.0) -> None:
        self.expires_at = time.monotonic() + remaining_seconds

    def get_remaining_time_in_millis(self) -> int:
        return int((self.expires_at - time.monotonic()) * 1000)


@dataclass
class History:
    """The 60 deployments of `add_sixty`, with what the default rules must do to each."""

    live: str
    created: dict[str, datetime]
    deletable: set[str] = field(default_factory=set)
    kept: dict[str, set[str]] = field(default_factory=dict)

    def keep(self, reason: str, deployment_id: str) -> None:
        self.kept.setdefault(reason, set()).add(deployment_id)


def add_sixty(store: PagesStore, now: datetime) -> History:
    """Add project docs with 60 deployments, three listing pages, for RETENTION_DAYS 7 and KEEP_LATEST 3.

    Production: 15 builds every 3 days from 0.25 days old, rolled back to the one 12.25 days old. Previews:
    feature-a and feature-b (15 each, every 3 days), fix-typo (14, all over 30 days old, its newest a failed
    build, so its alias sits on the second newest), and one build still running on feature-c.
    """
    store.add_project("docs", subdomain="docs-3kf.pages.dev", domains=("docs.example.com",))

    created: dict[str, datetime] = {}

    def add(branch: str, days_old: float, status: DeploymentStatus = "success") -> str:
        moment = now - timedelta(days=days_old)
        deployment_id = str(
            store.add_deployment("docs", branch=branch, created_on=moment, status=status)["id"]
        )
        created[deployment_id] = moment
        return deployment_id

    production = [add("main", 0.25 + 3 * step) for step in range(15)]
    feature_a = [add("feature-a", 1.5 + 3 * step) for step in range(15)]
    feature_b = [add("feature-b", 2.5 + 3 * step) for step in range(15)]
    fix_typo = [add("fix-typo", 30.75, "failure")] + [add("fix-typo", 30.75 + step) for step in range(1, 14)]
    building = add("feature-c", 0.01, "active")
    store.rollback("docs", production[4])

    history = History(live=production[4], created=created)
    history.keep("live_production", production[4])
    history.keep("building", building)
    for deployment_id in (*production[:3], feature_a[0], feature_b[0]):
        history.keep("keep_latest", deployment_id)
    history.keep("within_retention", feature_a[1])
    history.keep("within_retention", feature_b[1])
    history.keep("aliased", fix_typo[1])
    history.deletable = {
        production[3],
        *production[5:],
        *feature_a[2:],
        *feature_b[2:],
        fix_typo[0],
        *fix_typo[2:],
    }
    assert len(history.deletable) + sum(len(ids) for ids in history.kept.values()) == 60
    return history


def settled_log(sandbox: PagesSandbox, timeout: float = 2.0) -> list[RequestRecord]:
    """The stand-in's request log once it stopped growing.

    The stand-in appends a record after it sent the response, so a client can hold the last response
    before its record is in the log.
    """
    give_up = time.monotonic() + timeout
    previous = -1
    while True:
        log = sandbox.request_log
        if len(log) == previous or time.monotonic() > give_up:
            return log
        previous = len(log)
        time.sleep(0.05)


def requests_made(sandbox: PagesSandbox) -> list[tuple[str, str, dict[str, str]]]:
    return [(record.method, record.path, record.query) for record in settled_log(sandbox)]


def delete_records(sandbox: PagesSandbox) -> list[RequestRecord]:
    return [record for record in settled_log(sandbox) if record.method == "DELETE"]


def deleted_id(record: RequestRecord) -> str:
    return str(record.path.rsplit("/", 1)[-1])


def results_of(caught: pytest.ExceptionInfo[RunFailedError]) -> list[dict[str, Any]]:
    return [dict(result) for result in caught.value.results]


class InterceptingClient:
    """A real client that runs a callback once the listing is complete, before any deletion."""

    def __init__(self, client: PagesClient, after_listing: Callable[[list[Deployment]], None]) -> None:
        self.client = client
        self.after_listing = after_listing

    @property
    def deadline(self) -> Deadline | None:
        return self.client.deadline

    @deadline.setter
    def deadline(self, value: Deadline | None) -> None:
        self.client.deadline = value

    def get_project(self, project: str) -> Project:
        return self.client.get_project(project)

    def iter_deployments(self, project: str, *, env: str | None = None) -> Iterator[Deployment]:
        listing = list(self.client.iter_deployments(project, env=env))
        self.after_listing(listing)
        return iter(listing)

    def delete_deployment(self, project: str, deployment_id: str, *, force: bool = False) -> None:
        self.client.delete_deployment(project, deployment_id, force=force)


# A sweep over a listing of three pages


def test_prune_sixty_deployments_three_pages(pages_sandbox, make_settings):
    history = add_sixty(pages_sandbox.store, datetime.now(UTC))
    outcome = prune(
        None, ContextStub(), settings=make_settings(), client=pruner_client(pages_sandbox)
    ).to_dict()

    result = outcome["results"][0]
    assert set(result["deleted"]) == history.deletable
    assert len(result["deleted"]) == 50
    assert result["selected"] == result["deleted"]
    assert result["kept"] == {reason: len(ids) for reason, ids in history.kept.items()}
    assert list(result["kept"]) == [
        "live_production",
        "building",
        "keep_latest",
        "within_retention",
        "aliased",
    ]
    assert result["failed"] == []
    assert result["remaining"] == 0
    assert result["stopped"] is None

    made = requests_made(pages_sandbox)
    assert made[:4] == [
        ("GET", PROJECT_PATH, {}),
        ("GET", DEPLOYMENTS_PATH, {"page": "1", "per_page": "25"}),
        ("GET", DEPLOYMENTS_PATH, {"page": "2", "per_page": "25"}),
        ("GET", DEPLOYMENTS_PATH, {"page": "3", "per_page": "25"}),
    ]
    deletes = made[4:]
    assert sorted(deletes) == sorted(
        ("DELETE", f"{DEPLOYMENTS_PATH}/{item}", {}) for item in history.deletable
    )
    assert all(record.status == 200 for record in settled_log(pages_sandbox))

    store = pages_sandbox.store
    assert set(store.deleted_ids("docs")) == history.deletable
    assert store.canonical_id("docs") == history.live
    assert set(store.deployment_ids("docs")) == set().union(*history.kept.values())


def test_prune_deletes_oldest_first_one_thread(pages_sandbox, make_settings):
    history = add_sixty(pages_sandbox.store, datetime.now(UTC))
    result = prune(
        None, None, settings=make_settings(prune_concurrency=1), client=pruner_client(pages_sandbox)
    ).results[0]
    oldest_first = sorted(history.deletable, key=lambda deployment_id: history.created[deployment_id])
    assert result.deleted == oldest_first
    assert [deleted_id(record) for record in delete_records(pages_sandbox)] == oldest_first


def test_prune_dry_run_then_real_run(pages_sandbox, make_settings):
    history = add_sixty(pages_sandbox.store, datetime.now(UTC))
    client = pruner_client(pages_sandbox)

    dry = prune({"dry_run": True}, None, settings=make_settings(max_deletes_per_run=20), client=client)
    dry_result = dry.results[0]
    assert [record for record in settled_log(pages_sandbox) if record.method != "GET"] == []
    assert dry_result.dry_run is True
    assert dry_result.deleted == []
    assert len(dry_result.selected) == 20
    assert dry_result.remaining == 30
    assert dry_result.stopped is not None
    assert dry_result.stopped.value == "max_deletes"
    assert pages_sandbox.store.deleted_ids("docs") == []

    real = prune(None, None, settings=make_settings(max_deletes_per_run=20), client=client).results[0]
    assert real.dry_run is False
    assert real.deleted == dry_result.selected
    assert real.selected == dry_result.selected
    assert real.kept == dry_result.kept
    assert real.remaining == dry_result.remaining
    assert set(pages_sandbox.store.deleted_ids("docs")) == set(dry_result.selected)
    assert set(dry_result.selected) <= history.deletable


# A backlog that converges over several runs


def test_prune_backlog_converges():
    now = datetime.now(UTC)
    cap = 500
    with PagesSandbox(port=0, seed=None, rate_limit=None) as sandbox:
        store = sandbox.store
        store.add_project("docs")
        store.generate_history("docs", count=3_000, start=now - timedelta(days=400), end=now, rng_seed=7)
        live = store.canonical_id("docs")
        assert live is not None
        client = pruner_client(sandbox, per_minute=None)
        settings = sandbox_settings(sandbox, max_deletes_per_run=cap, prune_concurrency=4)

        plan = prune({"dry_run": True}, None, settings=settings, client=client).results[0]
        deletable = len(plan.selected) + plan.remaining
        kept = sum(plan.kept.values())
        assert deletable + kept == 3_000
        assert deletable > 2_500

        runs = []
        for _ in range(20):
            started = time.monotonic()
            result = prune(None, ContextStub(300), settings=settings, client=client).results[0]
            runs.append((result, time.monotonic() - started))
            if result.stopped is None:
                break

        assert len(runs) == math.ceil(deletable / cap)
        for result, seconds in runs[:-1]:
            assert result.stopped is not None
            assert result.stopped.value == "max_deletes"
            assert len(result.deleted) == cap
            assert seconds < 60
        assert runs[-1][0].remaining == 0
        for result, _ in runs:
            assert live not in result.deleted
            assert result.failed == []

        deleted = store.deleted_ids("docs")
        assert len(deleted) == len(set(deleted)) == deletable
        assert store.canonical_id("docs") == live
        assert live in store.deployment_ids("docs")
        assert len(store.deployment_ids("docs")) == kept
        # The next run finds nothing left to delete.
        final = prune(None, None, settings=settings, client=client).results[0]
        assert final.selected == []
        assert final.remaining == 0


# Rate limits


def test_prune_rate_limited_mid_sweep():
    # 14 requests are allowed: both projects and their listing pages (docs 1 + 3, blog 1 + 1), then eight
    # deletions. The next gets a 429 and, as Cloudflare does, every request after it for the rest of the
    # window.
    with PagesSandbox(port=0, seed=None, rate_limit=14, rate_window_seconds=300) as sandbox:
        history = add_sixty(sandbox.store, datetime.now(UTC))
        settings = sandbox_settings(sandbox, prune_concurrency=1, projects=("docs", "blog"))
        sandbox.store.add_project("blog")
        outcome = prune(None, None, settings=settings, client=pruner_client(sandbox))

        docs, blog = outcome.results
        assert len(docs.deleted) == 8
        assert docs.stopped is not None
        assert docs.stopped.value == "rate_limited"
        assert docs.failed == []
        assert docs.remaining == 42
        assert set(docs.deleted) <= history.deletable
        assert blog.stopped is not None
        assert blog.stopped.value == "rate_limited"

        log = settled_log(sandbox)
        assert len(log) == 15
        assert [record.status for record in log] == [200] * 14 + [429]
        assert [record.method for record in log[:6]] == ["GET"] * 6
        assert log[-1].method == "DELETE"
        assert [deleted_id(record) for record in log[6:14]] == docs.deleted
        assert sandbox.store.deleted_ids("docs") == docs.deleted


def test_prune_rate_limited_concurrent_sweep():
    with PagesSandbox(port=0, seed=None, rate_limit=24, rate_window_seconds=300) as sandbox:
        add_sixty(sandbox.store, datetime.now(UTC))
        settings = sandbox_settings(sandbox, prune_concurrency=4)
        sandbox.faults.add_latency(0.02, method="DELETE")
        result = prune(None, None, settings=settings, client=pruner_client(sandbox)).results[0]

        log = settled_log(sandbox)
        first_429 = min(record.ended for record in log if record.status == 429)
        # Only deletions already in flight when the first 429 came back can follow it: one per other thread.
        assert len([record for record in log if record.started > first_429]) <= 3
        succeeded = [
            deleted_id(record) for record in log if record.method == "DELETE" and record.status == 200
        ]
        assert sorted(result.deleted) == sorted(succeeded)
        assert len(succeeded) == 20
        assert result.stopped is not None
        assert result.stopped.value == "rate_limited"
        assert result.failed == []
        assert result.remaining == 50 - 20


def test_prune_rate_limited_while_listing():
    with PagesSandbox(port=0, seed=None, rate_limit=2, rate_window_seconds=300) as sandbox:
        add_sixty(sandbox.store, datetime.now(UTC))
        outcome = prune(None, None, settings=sandbox_settings(sandbox), client=pruner_client(sandbox))
        result = outcome.results[0]
        assert result.stopped is not None
        assert result.stopped.value == "rate_limited"
        assert result.selected == []
        assert result.failed == []
        requests = [
            (record.method, record.query.get("page"), record.status) for record in settled_log(sandbox)
        ]
        assert requests == [("GET", None, 200), ("GET", "1", 200), ("GET", "2", 429)]
        assert sandbox.store.deleted_ids("docs") == []


# Failures and races


def test_prune_forbidden_deletes_raise(pages_sandbox, make_settings):
    history = add_sixty(pages_sandbox.store, datetime.now(UTC))

    def revoke_write(listing: list[Deployment]) -> None:
        # Another token from now on: every DELETE gets a 403 with code 10000, as for a token that
        # lacks the Pages Write permission.
        pages_sandbox.store.set_credentials(api_token="rotated-token-not-a-real-secret")

    client = InterceptingClient(pruner_client(pages_sandbox), revoke_write)
    with pytest.raises(RunFailedError) as caught:
        prune(None, None, settings=make_settings(), client=client)

    message = str(caught.value)
    assert "pruning failed for 1 of 1 projects" in message
    assert "docs: 50 failed (error codes 10000)" in message
    assert SANDBOX_ACCOUNT_ID not in message
    assert SANDBOX_API_TOKEN not in message
    result = results_of(caught)[0]
    assert result["deleted"] == []
    assert {failure["id"] for failure in result["failed"]} == history.deletable
    assert {failure["code"] for failure in result["failed"]} == {10000}
    for failure in result["failed"]:
        assert failure["message"].startswith(
            f"DELETE /pages/projects/docs/deployments/{failure['id']} failed"
        )
        assert SANDBOX_ACCOUNT_ID not in failure["message"]
    assert pages_sandbox.store.deleted_ids("docs") == []
    assert all(record.status == 403 for record in delete_records(pages_sandbox))


def test_prune_deleted_by_someone_else(pages_sandbox, make_settings):
    history = add_sixty(pages_sandbox.store, datetime.now(UTC))
    taken = sorted(history.deletable)[:3]

    def delete_elsewhere(listing: list[Deployment]) -> None:
        for deployment_id in taken:
            pages_sandbox.store.delete_deployment("docs", deployment_id)

    client = InterceptingClient(pruner_client(pages_sandbox), delete_elsewhere)
    result = prune(None, None, settings=make_settings(), client=client).results[0]
    assert set(result.deleted) == history.deletable
    assert result.failed == []
    statuses = {deleted_id(record): record.status for record in delete_records(pages_sandbox)}
    assert {statuses[deployment_id] for deployment_id in taken} == {404}
    assert len(statuses) == 50


def test_prune_aliased_refusal_counted_as_kept(pages_sandbox, make_settings):
    store = pages_sandbox.store
    now = datetime.now(UTC)
    store.add_project("docs")
    store.add_deployment("docs", branch="main", created_on=now - timedelta(days=1))
    head = store.add_deployment("docs", branch="old-feature", created_on=now - timedelta(days=20))["id"]
    older = store.add_deployment("docs", branch="old-feature", created_on=now - timedelta(days=21))["id"]

    def delete_branch_head(listing: list[Deployment]) -> None:
        # Someone deletes the branch's newest build, so its alias moves onto the older one.
        store.delete_deployment("docs", head, force=True)

    client = InterceptingClient(pruner_client(pages_sandbox), delete_branch_head)
    result = prune(None, None, settings=make_settings(keep_latest=0), client=client).results[0]
    assert result.selected == [older]
    assert result.deleted == []
    assert result.kept == {"live_production": 1, "aliased": 2}
    assert result.failed == []
    assert [(record.query, record.status) for record in delete_records(pages_sandbox)] == [({}, 400)]
    assert older in store.deployment_ids("docs")


def test_prune_delete_aliased_forces(pages_sandbox, make_settings):
    store = pages_sandbox.store
    now = datetime.now(UTC)
    store.add_project("docs")
    live = store.add_deployment("docs", branch="main", created_on=now - timedelta(days=30))["id"]
    head = store.add_deployment("docs", branch="old-feature", created_on=now - timedelta(days=20))["id"]
    older = store.add_deployment("docs", branch="old-feature", created_on=now - timedelta(days=21))["id"]
    settings = make_settings(keep_latest=0, retention_days=1, delete_aliased=True, prune_concurrency=1)
    result = prune(None, None, settings=settings, client=pruner_client(pages_sandbox)).results[0]
    assert result.deleted == [older, head]
    assert result.kept == {"live_production": 1}
    assert [record.query for record in delete_records(pages_sandbox)] == [{"force": "true"}] * 2
    assert store.deployment_ids("docs") == [live]


def test_prune_project_read_failure(pages_sandbox, make_settings):
    history = add_sixty(pages_sandbox.store, datetime.now(UTC))
    settings = make_settings(projects=("ghost", "docs"))
    with pytest.raises(RunFailedError, match="1 of 2 projects") as caught:
        prune(None, None, settings=settings, client=pruner_client(pages_sandbox))
    ghost, docs = results_of(caught)
    assert ghost["failed"] == [
        {
            "id": "ghost",
            "code": 8000007,
            "message": "could not read project ghost or its deployments, so nothing was deleted: "
            "GET /pages/projects/ghost failed with HTTP 404: [8000007] Project not found. The specified "
            "project name does not match any of your existing projects.",
        }
    ]
    assert ghost["deleted"] == []
    assert set(docs["deleted"]) == history.deletable
    assert not any("ghost" in record.path for record in delete_records(pages_sandbox))


def test_prune_listing_failure_deletes_nothing(pages_sandbox, make_settings):
    add_sixty(pages_sandbox.store, datetime.now(UTC))
    pages_sandbox.faults.server_error(status=502, method="GET", path=r"/deployments$")
    with pytest.raises(RunFailedError, match="HTTP 502") as caught:
        prune(None, None, settings=make_settings(), client=pruner_client(pages_sandbox))
    result = results_of(caught)[0]
    assert result["selected"] == []
    assert result["failed"][0]["id"] == "docs"
    assert result["failed"][0]["code"] == 8000000
    assert delete_records(pages_sandbox) == []


def test_prune_listing_fails_on_second_page(pages_sandbox, make_settings):
    add_sixty(pages_sandbox.store, datetime.now(UTC))

    class FailAfterFirstPage(InterceptingClient):
        def iter_deployments(self, project: str, *, env: str | None = None) -> Iterator[Deployment]:
            for index, item in enumerate(self.client.iter_deployments(project, env=env)):
                if index == 0:
                    # Page 1 is in. From now on the listing gets a proxy's HTML error page.
                    pages_sandbox.faults.malformed_body(kind="html", method="GET", path=r"/deployments$")
                yield item

    client = FailAfterFirstPage(pruner_client(pages_sandbox), lambda listing: None)
    with pytest.raises(RunFailedError, match="HTTP 502: response body is not a Cloudflare JSON envelope"):
        prune(None, None, settings=make_settings(), client=client)
    assert delete_records(pages_sandbox) == []
    pages = [record.query["page"] for record in settled_log(pages_sandbox) if record.path == DEPLOYMENTS_PATH]
    # Page 2 was tried four times (the client's retries of a 5xx), page 3 never.
    assert pages == ["1", "2", "2", "2", "2"]


# Time budget


def test_prune_time_budget_short_deadline(pages_sandbox, make_settings):
    history = add_sixty(pages_sandbox.store, datetime.now(UTC))
    pages_sandbox.faults.add_latency(0.2, method="DELETE")
    settings = make_settings(prune_concurrency=2)
    client = pruner_client(pages_sandbox)

    # 5 s left: the deadline is 3 s away (2 s are kept for the handler). Each deletion takes 0.2 s, and
    # deletions stop starting once less than 0.5 s (reserve) + 0.2 s (the slowest so far) is left.
    started = time.monotonic()
    first = prune(None, ContextStub(5.0), settings=settings, client=client, reserve_seconds=0.5).results[0]
    elapsed = time.monotonic() - started
    assert first.stopped is not None
    assert first.stopped.value == "time_budget"
    assert 0 < len(first.deleted) < 50
    assert first.remaining == 50 - len(first.deleted)
    assert first.failed == []
    assert elapsed < 3.0
    assert len(delete_records(pages_sandbox)) == len(first.deleted)

    pages_sandbox.faults.clear()
    second = prune(None, ContextStub(300), settings=settings, client=client).results[0]
    assert second.stopped is None
    assert set(first.deleted) | set(second.deleted) == history.deletable
    assert not set(first.deleted) & set(second.deleted)


# Events and the Lambda handler


def test_prune_unmanaged_project_rejected(pages_sandbox, make_settings):
    add_sixty(pages_sandbox.store, datetime.now(UTC))
    with pytest.raises(InvalidEventError, match="'internal-tools', which is not in PAGES_PROJECTS"):
        prune(
            {"project": "internal-tools"}, None, settings=make_settings(), client=pruner_client(pages_sandbox)
        )
    assert settled_log(pages_sandbox) == []


@pytest.fixture(autouse=True)
def _restore_layer_logger() -> Iterator[None]:
    """Put the layer's logger configuration back after each test.

    Importing the handler routes the `pages_ops` loggers through Powertools, without propagation to the root
    logger, which would hide their records from caplog in later tests.
    """
    layer_logger = logging.getLogger("pages_ops")
    saved = (list(layer_logger.handlers), layer_logger.propagate, layer_logger.level)
    yield
    layer_logger.handlers, layer_logger.propagate, layer_logger.level = saved


@pytest.fixture
def handler_module(make_settings: Callable[..., Settings]) -> ModuleType:
    """The handler module, imported outside any capsys capture.

    Powertools' Logger writes to the `sys.stdout` of the moment it was created, and a capsys stream is closed
    when its test ends. The import parses settings at cold start, so some are put in place for it.
    """
    runtime.override(settings_value=make_settings())
    module = importlib.import_module("prune_deployments.app")
    runtime.reset()
    return module


def emitted_metrics(output: str) -> dict[str, float]:
    values: dict[str, float] = {}
    for line in output.splitlines():
        if '"_aws"' not in line:
            continue
        document = json.loads(line)
        for definition in document["_aws"]["CloudWatchMetrics"]:
            assert definition["Namespace"] == "CfPagesOpsTest"
            for metric in definition["Metrics"]:
                value = document[metric["Name"]]
                values[metric["Name"]] = sum(value) if isinstance(value, list) else value
    return values


@pytest.mark.parametrize("event_file", ["scheduler.json", "scheduled_event.json"])
def test_handler_scheduled_events(event_file, handler_module, pages_sandbox, make_settings, capsys):
    history = add_sixty(pages_sandbox.store, datetime.now(UTC))
    client = pruner_client(pages_sandbox)
    runtime.override(settings_value=make_settings(), clients={True: client, False: client})
    output = handler_module.lambda_handler(
        load_event(f"prune_deployments/{event_file}"), cast(LambdaContext, ContextStub())
    )

    assert list(output) == ["results"]
    result = output["results"][0]
    assert list(result) == [
        "project",
        "dry_run",
        "selected",
        "deleted",
        "kept",
        "failed",
        "remaining",
        "stopped",
    ]
    assert set(result["deleted"]) == history.deletable
    assert result["dry_run"] is False
    assert json.loads(json.dumps(output)) == output
    metrics = emitted_metrics(capsys.readouterr().out)
    assert metrics["DeploymentsDeleted"] == 50
    assert metrics["DeploymentsFailed"] == 0
    assert metrics["DeploymentsKept_aliased"] == 1
    assert metrics["DeploymentsKept"] == 10


def test_handler_dry_run_event(handler_module, pages_sandbox, make_settings):
    add_sixty(pages_sandbox.store, datetime.now(UTC))
    pages_sandbox.store.add_project("blog")
    client = pruner_client(pages_sandbox)
    runtime.override(
        settings_value=make_settings(projects=("blog", "docs")), clients={True: client, False: client}
    )
    output = handler_module.lambda_handler(
        load_event("prune_deployments/dry_run.json"), cast(LambdaContext, ContextStub())
    )

    assert [result["project"] for result in output["results"]] == ["docs"]
    result = output["results"][0]
    assert result["dry_run"] is True
    assert len(result["selected"]) == 50
    assert result["deleted"] == []
    assert delete_records(pages_sandbox) == []
    assert not any("blog" in record.path for record in settled_log(pages_sandbox))


def test_handler_raises_run_failed(handler_module, pages_sandbox, make_settings):
    client = pruner_client(pages_sandbox)
    runtime.override(settings_value=make_settings(), clients={True: client, False: client})
    with pytest.raises(RunFailedError, match="could not read project docs"):
        handler_module.lambda_handler(
            load_event("prune_deployments/scheduler.json"), cast(LambdaContext, ContextStub())
        )


def test_handler_with_secret_in_aws(handler_module, pages_sandbox, create_secret, monkeypatch):
    # The whole path a deployment takes: settings from the environment, the token from Secrets Manager
    # (moto), the container's client without retries on 429, and the configured rate limit.
    now = datetime.now(UTC)
    store = pages_sandbox.store
    store.add_project("docs")
    live = store.add_deployment("docs", branch="main", created_on=now - timedelta(days=40))["id"]
    head = store.add_deployment("docs", branch="feature", created_on=now - timedelta(days=1))["id"]
    old = [
        store.add_deployment("docs", branch="feature", created_on=now - timedelta(days=days))["id"]
        for days in (9, 10, 11)
    ]
    arn = create_secret("cf-pages-ops/cloudflare", {"api_token": SANDBOX_API_TOKEN})
    for name, value in {
        "CLOUDFLARE_ACCOUNT_ID": SANDBOX_ACCOUNT_ID,
        "CLOUDFLARE_SECRET_ID": arn,
        "CLOUDFLARE_API_BASE_URL": pages_sandbox.base_url,
        "PAGES_PROJECTS": "docs",
        "KEEP_LATEST": "0",
        "RETENTION_DAYS": "7",
    }.items():
        monkeypatch.setenv(name, value)
    output = handler_module.lambda_handler({}, cast(LambdaContext, ContextStub()))

    result = output["results"][0]
    assert result["deleted"] == old[::-1]
    assert result["kept"] == {"live_production": 1, "within_retention": 1}
    assert store.deployment_ids("docs") == [head, live]
    assert runtime.client(retry_rate_limited=False).transport.retry.retry_rate_limited is False
