"""Tests of a pruner run (pages_ops.pruner) against an in-memory fake of the API client."""

from __future__ import annotations

import dataclasses
import logging
import threading
import time
import uuid
from collections.abc import Callable, Iterator
from datetime import UTC, datetime, timedelta
from typing import Any

import pytest

from pages_ops import pruner, retention
from pages_ops.config import Settings
from pages_ops.errors import (
    AliasedDeploymentError,
    ApiErrorDetail,
    AuthenticationError,
    CloudflareConnectionError,
    CloudflareTimeoutError,
    DeploymentNotFoundError,
    InvalidEventError,
    ProjectNotFoundError,
    RateLimitedError,
    RunFailedError,
    ServerError,
)
from pages_ops.models import Deployment, Project, Stage
from pages_ops.pruner import RunDeadline, StopReason, prune
from pages_ops.retention import Decision, Selection
from pages_ops.timing import Deadline
from tests.conftest import FAKE_ACCOUNT_ID

NOW = datetime(2025, 6, 1, 12, 0, tzinfo=UTC)
SUCCESS = Stage("deploy", "success")


def deployment(
    number: int,
    *,
    days_old: float | None,
    environment: str = "preview",
    stage: Stage = SUCCESS,
    aliases: tuple[str, ...] = (),
    branch: str = "feature",
) -> Deployment:
    deployment_id = str(uuid.UUID(int=number + 1))
    return Deployment(
        id=deployment_id,
        short_id=deployment_id[:8],
        project_name="docs",
        environment=environment,
        url=None,
        created_on=None if days_old is None else NOW - timedelta(days=days_old),
        modified_on=None,
        latest_stage=stage,
        stages=(),
        aliases=aliases,
        trigger_type="github:push",
        branch=branch,
        commit_hash=None,
        commit_message=None,
        is_skipped=False,
        skip_reason=None,
    )


def project(name: str, canonical: Deployment | None) -> Project:
    return Project(
        id=None,
        name=name,
        subdomain=f"{name}-abc.pages.dev",
        domains=(),
        production_branch="main",
        created_on=None,
        source_type="github",
        canonical_deployment=canonical,
        latest_deployment=None,
    )


def make_settings(**overrides: Any) -> Settings:
    fields: dict[str, Any] = {
        "account_id": FAKE_ACCOUNT_ID,
        "secret_id": "cf-pages-ops/test",
        "projects": ("docs",),
        "retention_days": 7,
        "keep_latest": 1,
        "prune_concurrency": 1,
    }
    fields.update(overrides)
    return Settings(**fields)


def api_error(kind: type[Any], status: int, code: int, message: str, deployment_id: str = "x") -> Any:
    return kind(
        method="DELETE",
        path=f"/pages/projects/docs/deployments/{deployment_id}",
        status=status,
        errors=(ApiErrorDetail(code, message),),
    )


class FakeClient:
    """An in-memory stand-in for PagesClient that records calls and fails on request.

    Like the real transport, it sends nothing when the deadline has less than 0.25 s left.
    """

    def __init__(self) -> None:
        self.deadline: Deadline | None = None
        self.projects: dict[str, Project] = {}
        self.listings: dict[str, list[Deployment]] = {}
        self.read_errors: dict[str, Exception] = {}
        self.listing_errors: dict[str, Exception] = {}
        self.delete_errors: dict[str, Exception] = {}
        self.on_delete: Callable[[str], Exception | None] | None = None
        # Runs before the deadline check of a DELETE, like the wait for a rate-limiter slot.
        self.before_delete: Callable[[str], None] | None = None
        self.delete_seconds = 0.0
        self.calls: list[tuple[str, str]] = []
        self.forced: list[bool] = []
        self.in_flight = 0
        self.max_in_flight = 0
        self._lock = threading.Lock()

    def add(self, name: str, canonical: Deployment | None, listing: list[Deployment]) -> None:
        self.projects[name] = project(name, canonical)
        self.listings[name] = listing

    def get_project(self, project: str) -> Project:
        self._send("GET", project)
        if project in self.read_errors:
            raise self.read_errors[project]
        return self.projects[project]

    def iter_deployments(self, project: str, *, env: str | None = None) -> Iterator[Deployment]:
        self._send("LIST", project)
        items = self.listings[project]
        yield from items[:25]
        if project in self.listing_errors:
            raise self.listing_errors[project]
        yield from items[25:]

    def delete_deployment(self, project: str, deployment_id: str, *, force: bool = False) -> None:
        if self.before_delete is not None:
            self.before_delete(deployment_id)
        self._send("DELETE", deployment_id)
        with self._lock:
            self.forced.append(force)
            self.in_flight += 1
            self.max_in_flight = max(self.max_in_flight, self.in_flight)
        try:
            # An error comes back at once, and a deletion takes `delete_seconds`.
            error = self.delete_errors.get(deployment_id)
            if error is None and self.on_delete is not None:
                error = self.on_delete(deployment_id)
            if error is not None:
                raise error
            if self.delete_seconds:
                time.sleep(self.delete_seconds)
        finally:
            with self._lock:
                self.in_flight -= 1

    def _send(self, method: str, target: str) -> None:
        if self.deadline is not None and self.deadline.remaining() < 0.25:
            raise CloudflareTimeoutError(f"{method} {target} not sent", method=method, path=target)
        with self._lock:
            self.calls.append((method, target))

    def deleted(self) -> list[str]:
        return [target for method, target in self.calls if method == "DELETE"]


def failed_results(caught: pytest.ExceptionInfo[RunFailedError]) -> list[dict[str, Any]]:
    return [dict(result) for result in caught.value.results]


class FakeContext:
    def __init__(self, remaining_seconds: float) -> None:
        self.remaining_ms = int(remaining_seconds * 1000)

    def get_remaining_time_in_millis(self) -> int:
        return self.remaining_ms


class RecordingMetrics:
    def __init__(self) -> None:
        self.values: dict[str, float] = {}

    def add_metric(self, name: str, unit: str, value: float) -> None:
        assert unit == "Count"
        assert name not in self.values
        self.values[name] = value


def standard_listing() -> tuple[Deployment, list[Deployment]]:
    """A live production deployment, a newer production one, and six old previews (ages 10..15 days)."""
    live = deployment(100, days_old=30, environment="production", branch="main")
    newer = deployment(101, days_old=20, environment="production", branch="main")
    previews = [deployment(n, days_old=10 + n) for n in range(6)]
    return live, [newer, *previews, live]


def ids(items: list[Deployment]) -> list[str]:
    return [item.id for item in items]


def run(client: FakeClient, event: Any = None, **settings_overrides: Any) -> dict[str, Any]:
    return prune(event, None, settings=make_settings(**settings_overrides), client=client, now=NOW).to_dict()


# Reading, deciding and deleting


def test_prune_deletes_oldest_first():
    client = FakeClient()
    live, listing = standard_listing()
    client.add("docs", live, listing)
    result = run(client)
    previews = listing[1:7]
    expected = ids(previews[:0:-1])  # oldest first; the newest preview is the one kept by KEEP_LATEST
    assert result == {
        "results": [
            {
                "project": "docs",
                "dry_run": False,
                "selected": expected,
                "deleted": expected,
                "kept": {"live_production": 1, "keep_latest": 2},
                "failed": [],
                "remaining": 0,
                "stopped": None,
            }
        ]
    }
    assert client.calls == [("GET", "docs"), ("LIST", "docs"), *(("DELETE", item) for item in expected)]
    assert client.forced == [False] * 5


def test_prune_reads_everything_before_deleting():
    client = FakeClient()
    live = deployment(500, days_old=1, environment="production")
    listing = [live, *(deployment(n, days_old=10 + n) for n in range(60))]
    client.add("docs", live, listing)
    run(client, keep_latest=0)
    assert client.calls[:2] == [("GET", "docs"), ("LIST", "docs")]
    assert len(client.deleted()) == 60
    assert len(set(client.deleted())) == 60


def test_prune_dry_run_sends_no_delete():
    client = FakeClient()
    live, listing = standard_listing()
    client.add("docs", live, listing)
    dry = run(client, {"dry_run": True})["results"][0]
    assert client.deleted() == []
    assert dry["dry_run"] is True
    assert dry["deleted"] == []

    real = run(client)["results"][0]
    assert real["deleted"] == dry["selected"]
    assert real["kept"] == dry["kept"]
    assert real["remaining"] == dry["remaining"]


@pytest.mark.parametrize(
    ("setting", "event", "dry_run"),
    [
        (False, {}, False),
        (True, {}, True),
        (False, {"dry_run": True}, True),
        (False, {"dry_run": "yes"}, True),
        (True, {"dry_run": False}, True),  # an event cannot switch DRY_RUN off
    ],
)
def test_prune_dry_run_sources(setting, event, dry_run):
    client = FakeClient()
    live, listing = standard_listing()
    client.add("docs", live, listing)
    result = run(client, event, dry_run=setting)["results"][0]
    assert result["dry_run"] is dry_run
    assert (client.deleted() == []) is dry_run


def test_prune_dry_run_includes_cap():
    client = FakeClient()
    live, listing = standard_listing()
    client.add("docs", live, listing)
    dry = run(client, {"dry_run": True}, max_deletes_per_run=2)["results"][0]
    assert dry["selected"] == [listing[6].id, listing[5].id]
    assert dry["remaining"] == 3
    assert dry["stopped"] == "max_deletes"
    real = run(client, max_deletes_per_run=2)["results"][0]
    assert real["deleted"] == dry["selected"]


def test_prune_cap_stops_with_max_deletes():
    client = FakeClient()
    live, listing = standard_listing()
    client.add("docs", live, listing)
    result = run(client, max_deletes_per_run=3)["results"][0]
    assert result["deleted"] == [listing[6].id, listing[5].id, listing[4].id]
    assert result["remaining"] == 2
    assert result["stopped"] == "max_deletes"
    assert client.deleted() == result["deleted"]


def test_prune_cap_shared_fairly_across_projects():
    client = FakeClient()
    for name in ("docs", "blog", "shop"):
        client.add(name, None, [deployment(n, days_old=10 + n) for n in range(5)])
    results = run(client, projects=("docs", "blog", "shop"), keep_latest=0, max_deletes_per_run=7)["results"]
    assert [len(result["deleted"]) for result in results] == [3, 2, 2]
    assert [result["stopped"] for result in results] == ["max_deletes"] * 3
    assert [result["remaining"] for result in results] == [2, 3, 3]
    # Every project is read before any deletion, so none is starved by the one before it.
    assert ("GET", "shop") in client.calls


def test_prune_unused_share_goes_to_others():
    client = FakeClient()
    client.add("docs", None, [deployment(n, days_old=10 + n) for n in range(1)])
    client.add("blog", None, [deployment(n, days_old=10 + n) for n in range(9)])
    results = run(client, projects=("docs", "blog"), keep_latest=0, max_deletes_per_run=6)["results"]
    assert [len(result["deleted"]) for result in results] == [1, 5]
    assert [result["stopped"] for result in results] == [None, "max_deletes"]
    assert [result["remaining"] for result in results] == [0, 4]


@pytest.mark.parametrize(
    ("demands", "total", "expected"),
    [
        ([5, 5, 5], 7, [3, 2, 2]),
        ([1, 9], 6, [1, 5]),
        ([0, 4, 0], 3, [0, 3, 0]),
        ([2, 2], 10, [2, 2]),
        ([], 5, []),
        ([3, 3], 0, [0, 0]),
        ([300, 2, 40], 300, [258, 2, 40]),
    ],
)
def test_fair_shares(demands, total, expected):
    shares = pruner.fair_shares(demands, total)
    assert shares == expected
    assert sum(shares) == min(total, sum(demands))


def test_prune_live_deployment_guard_before_delete(monkeypatch):
    # Even if the selection were wrong, no DELETE may name the live deployment.
    client = FakeClient()
    live, listing = standard_listing()
    client.add("docs", live, listing)
    real_select = retention.select_deployments

    def broken_select(*args: Any, **kwargs: Any) -> Selection:
        selection = real_select(*args, **kwargs)
        rogue = Decision(deployment=live, keep_reason=None, age_days=30.0)
        kept = tuple(item for item in selection.kept if item.deployment.id != live.id)
        return dataclasses.replace(selection, selected=(rogue, *selection.selected), kept=kept)

    monkeypatch.setattr("pages_ops.pruner.select_deployments", broken_select)
    result = run(client)["results"][0]
    assert live.id not in client.deleted()
    assert live.id in result["selected"]
    assert live.id not in result["deleted"]
    assert result["kept"]["live_production"] == 1
    assert result["failed"] == []


def test_prune_delete_aliased_uses_force():
    client = FakeClient()
    aliased = deployment(1, days_old=30, aliases=("https://feature.docs-abc.pages.dev",))
    plain = deployment(2, days_old=40)
    client.add("docs", None, [aliased, plain])
    result = run(client, keep_latest=0, delete_aliased=True)["results"][0]
    assert result["deleted"] == [plain.id, aliased.id]
    assert client.forced == [True, True]


def test_prune_never_forces_production_delete():
    client = FakeClient()
    preview = deployment(1, days_old=30, aliases=("https://feature.docs-abc.pages.dev",))
    production = deployment(2, days_old=40, environment="production", branch="main")
    live = deployment(3, days_old=1, environment="production", branch="main")
    client.add("docs", live, [live, preview, production])
    result = run(client, keep_latest=0, delete_aliased=True)["results"][0]
    assert result["deleted"] == [production.id, preview.id]
    assert client.forced == [False, True]


def test_prune_aliased_kept_without_delete_aliased():
    client = FakeClient()
    aliased = deployment(1, days_old=30, aliases=("https://feature.docs-abc.pages.dev",))
    client.add("docs", None, [aliased])
    result = run(client, keep_latest=0)["results"][0]
    assert result["kept"] == {"aliased": 1}
    assert client.deleted() == []


def test_prune_nothing_to_do():
    client = FakeClient()
    client.add("docs", None, [])
    assert run(client)["results"][0] == {
        "project": "docs",
        "dry_run": False,
        "selected": [],
        "deleted": [],
        "kept": {},
        "failed": [],
        "remaining": 0,
        "stopped": None,
    }
    assert client.calls == [("GET", "docs"), ("LIST", "docs")]


# Outcomes of single deletions


def test_prune_already_deleted_counts_as_deleted():
    client = FakeClient()
    live, listing = standard_listing()
    client.add("docs", live, listing)
    gone = listing[6].id
    client.delete_errors[gone] = api_error(
        DeploymentNotFoundError, 404, 8000009, "The deployment ID you have specified does not exist."
    )
    result = run(client)["results"][0]
    assert gone in result["deleted"]
    assert result["failed"] == []


def test_prune_aliased_refusal_counted_as_kept():
    client = FakeClient()
    live, listing = standard_listing()
    client.add("docs", live, listing)
    rejected = listing[6].id
    client.delete_errors[rejected] = api_error(AliasedDeploymentError, 400, 8000035, "aliased deployment")
    result = run(client)["results"][0]
    assert rejected not in result["deleted"]
    assert rejected in result["selected"]
    assert result["kept"] == {"live_production": 1, "keep_latest": 2, "aliased": 1}
    assert result["failed"] == []
    assert result["remaining"] == 0


def test_prune_delete_failure_raises_after_finishing():
    client = FakeClient()
    live, listing = standard_listing()
    client.add("docs", live, listing)
    failing = listing[6].id
    client.delete_errors[failing] = api_error(ServerError, 500, 8000000, "An unknown error occurred", failing)
    with pytest.raises(RunFailedError) as caught:
        run(client)
    result = failed_results(caught)[0]
    assert result["deleted"] == ids(listing[5:1:-1])
    assert result["failed"] == [
        {
            "id": failing,
            "code": 8000000,
            "message": f"DELETE /pages/projects/docs/deployments/{failing} failed with HTTP 500: "
            "[8000000] An unknown error occurred",
        }
    ]
    assert "docs: 1 failed (error codes 8000000)" in str(caught.value)
    assert FAKE_ACCOUNT_ID not in str(caught.value)


def test_prune_forbidden_everywhere_raises():
    client = FakeClient()
    live, listing = standard_listing()
    client.add("docs", live, listing)
    client.on_delete = lambda deployment_id: api_error(
        AuthenticationError, 403, 10000, "Authentication error", deployment_id
    )
    with pytest.raises(
        RunFailedError, match=r"1 of 1 projects.*docs: 5 failed \(error codes 10000\)"
    ) as caught:
        run(client)
    result = failed_results(caught)[0]
    assert result["deleted"] == []
    assert [failure["code"] for failure in result["failed"]] == [10000] * 5
    assert [failure["id"] for failure in result["failed"]] == result["selected"]
    assert result["remaining"] == 0


def test_prune_connection_error_recorded_without_code():
    client = FakeClient()
    victim = deployment(1, days_old=30)
    client.add("docs", None, [victim])
    client.delete_errors[victim.id] = CloudflareConnectionError(
        "DELETE x failed: ConnectionError", method="DELETE", path="x"
    )
    with pytest.raises(RunFailedError) as caught:
        run(client, keep_latest=0)
    assert failed_results(caught)[0]["failed"] == [
        {"id": victim.id, "code": None, "message": "DELETE x failed: ConnectionError"}
    ]


def test_prune_timeout_with_time_left_is_failure():
    client = FakeClient()
    victim = deployment(1, days_old=30)
    client.add("docs", None, [victim])
    client.delete_errors[victim.id] = CloudflareTimeoutError("DELETE x timed out", method="DELETE", path="x")
    with pytest.raises(RunFailedError):
        prune(None, FakeContext(60), settings=make_settings(keep_latest=0), client=client, now=NOW)


# Stops: rate limit and time budget


def test_prune_rate_limited_stops_sweep():
    client = FakeClient()
    listing = [deployment(n, days_old=10 + n) for n in range(10)]
    client.add("docs", None, listing)
    client.add("blog", None, [deployment(50, days_old=30)])
    third_oldest = listing[7].id
    client.delete_errors[third_oldest] = RateLimitedError(
        method="DELETE", path="x", status=429, errors=(ApiErrorDetail(971, "Please wait"),)
    )
    results = run(client, projects=("docs", "blog"), keep_latest=0)["results"]
    docs, blog = results
    assert client.deleted() == [listing[9].id, listing[8].id, third_oldest]
    assert docs["deleted"] == [listing[9].id, listing[8].id]
    assert docs["remaining"] == 8
    assert docs["stopped"] == "rate_limited"
    assert docs["failed"] == []
    assert blog["stopped"] == "rate_limited"
    assert blog["deleted"] == []
    assert blog["remaining"] == 1
    # Both projects were read before any deletion, and nothing was sent after the 429.
    assert client.calls[-1] == ("DELETE", third_oldest)


def test_prune_interrupt_stops_workers(monkeypatch):
    client = FakeClient()
    listing = [deployment(n, days_old=10 + n) for n in range(40)]
    client.add("docs", None, listing)
    client.delete_seconds = 0.05

    def interrupted_wait(futures: Any) -> Any:
        time.sleep(0.12)
        raise KeyboardInterrupt

    monkeypatch.setattr(pruner, "wait", interrupted_wait)
    with pytest.raises(KeyboardInterrupt):
        run(client, keep_latest=0, prune_concurrency=2)
    deleted_at_interrupt = len(client.deleted())
    time.sleep(0.3)

    # Only the deletions in flight when the interrupt came finish: nothing starts afterwards.
    assert len(client.deleted()) == deleted_at_interrupt
    assert deleted_at_interrupt < 12


def test_prune_rate_limited_halts_other_workers():
    client = FakeClient()
    listing = [deployment(n, days_old=10 + n) for n in range(40)]
    client.add("docs", None, listing)
    client.delete_seconds = 0.2
    first = listing[-1].id
    client.delete_errors[first] = RateLimitedError(method="DELETE", path="x", status=429)
    result = run(client, keep_latest=0, prune_concurrency=4)["results"][0]
    # The oldest deployment, taken first, gets a 429 at once. The other threads are still busy with
    # their first deletion then, and start no other.
    assert len(client.deleted()) <= 4
    assert first in client.deleted()
    assert result["stopped"] == "rate_limited"
    assert result["failed"] == []
    assert len(result["deleted"]) + result["remaining"] == 40
    assert isinstance(client.deadline, RunDeadline)
    assert client.deadline.halted


def test_prune_rate_limited_blocks_queued_requests():
    client = FakeClient()
    listing = [deployment(n, days_old=10 + n) for n in range(40)]
    client.add("docs", None, listing)
    oldest = listing[-1].id
    waiting = threading.Semaphore(0)
    answered = threading.Event()

    def wait_for_slot(deployment_id: str) -> None:
        # The three other threads wait for a rate-limiter slot until the 429 has come back; the oldest
        # deployment's request goes out once they all wait.
        if deployment_id == oldest:
            for _ in range(3):
                assert waiting.acquire(timeout=5)
            return
        waiting.release()
        assert answered.wait(5)

    def rate_limit_oldest(deployment_id: str) -> Exception | None:
        answered.set()
        return RateLimitedError(method="DELETE", path="x", status=429) if deployment_id == oldest else None

    client.before_delete = wait_for_slot
    client.on_delete = rate_limit_oldest
    result = run(client, keep_latest=0, prune_concurrency=4)["results"][0]
    assert client.deleted() == [oldest]
    assert result["deleted"] == []
    assert result["remaining"] == 40
    assert result["stopped"] == "rate_limited"
    assert result["failed"] == []


def test_prune_rate_limited_while_listing():
    client = FakeClient()
    listing = [deployment(n, days_old=10 + n) for n in range(30)]
    client.add("docs", None, listing)
    client.listing_errors["docs"] = RateLimitedError(method="GET", path="x", status=429)
    result = run(client, keep_latest=0)["results"][0]
    assert client.deleted() == []
    assert result["stopped"] == "rate_limited"
    assert result["selected"] == []
    assert result["failed"] == []


def test_prune_time_budget_stops_deletions():
    client = FakeClient()
    listing = [deployment(n, days_old=10 + n) for n in range(200)]
    client.add("docs", None, listing)
    client.delete_seconds = 0.05
    # The deadline is 2 s away: the context's 4 s minus 2 s kept for the handler. Deletions stop starting once
    # less than 0.5 s (reserve) + 0.05 s (the slowest deletion so far) is left, about 1.45 s into the run.
    started = time.monotonic()
    outcome = prune(
        None,
        FakeContext(4.0),
        settings=make_settings(keep_latest=0, prune_concurrency=2),
        client=client,
        now=NOW,
        reserve_seconds=0.5,
    )
    elapsed = time.monotonic() - started
    result = outcome.results[0]
    assert result.stopped is StopReason.TIME_BUDGET
    assert 0 < len(result.deleted) < 200
    assert sorted(result.deleted) == sorted(client.deleted())
    assert result.remaining == 200 - len(result.deleted)
    assert result.failed == []
    assert elapsed < 2.0


def test_prune_time_budget_skips_project():
    client = FakeClient()
    client.add("docs", None, [deployment(1, days_old=30)])
    outcome = prune(
        None,
        FakeContext(2.5),
        settings=make_settings(keep_latest=0),
        client=client,
        now=NOW,
        reserve_seconds=1,
    )
    assert outcome.results[0].stopped is StopReason.TIME_BUDGET
    assert client.calls == []


def test_prune_timeout_while_listing_near_deadline(caplog):
    client = FakeClient()
    client.add("docs", None, [deployment(1, days_old=30)])

    def slow_listing(project: str, *, env: str | None = None) -> Iterator[Deployment]:
        yield deployment(2, days_old=40)
        assert client.deadline is not None
        time.sleep(client.deadline.remaining())
        raise CloudflareTimeoutError("GET timed out", method="GET", path="x")

    client.iter_deployments = slow_listing  # type: ignore[method-assign]
    outcome = prune(
        None,
        FakeContext(3.6),
        settings=make_settings(keep_latest=0),
        client=client,
        now=NOW,
        reserve_seconds=0.1,
    )
    assert outcome.results[0].stopped is StopReason.TIME_BUDGET
    assert outcome.results[0].failed == []
    assert client.deleted() == []
    # The listing had the whole run, so the next run cannot finish it either: an error names what to change.
    errors = [record for record in caplog.records if record.levelno == logging.ERROR]
    assert [record.getMessage() for record in errors] == [
        "time ran out while listing project docs after 1 deployments, with the whole run for it: nothing "
        "can be deleted until one run lists every deployment. Raise CLOUDFLARE_RATE_LIMIT_PER_MINUTE "
        "(at most 240) or the function's timeout"
    ]


def test_prune_sets_client_deadline():
    client = FakeClient()
    client.add("docs", None, [])
    prune(None, FakeContext(100), settings=make_settings(), client=client, now=NOW)
    assert isinstance(client.deadline, RunDeadline)
    assert 97 < client.deadline.time_left() <= 98


def test_run_deadline_halt():
    deadline = RunDeadline.for_invocation(FakeContext(12))
    assert 9 < deadline.remaining() <= 10
    deadline.halt()
    assert deadline.remaining() == 0
    assert deadline.expired
    assert 9 < deadline.time_left() <= 10
    assert RunDeadline.for_invocation(None).remaining() == float("inf")


# Concurrency


def test_prune_deletes_concurrently():
    client = FakeClient()
    listing = [deployment(n, days_old=10 + n) for n in range(24)]
    client.add("docs", None, listing)
    client.delete_seconds = 0.02
    result = run(client, keep_latest=0, prune_concurrency=4)["results"][0]
    assert client.max_in_flight == 4
    assert sorted(client.deleted()) == sorted(ids(listing))
    # The report keeps the selection's order, whatever order the threads finished in.
    assert result["deleted"] == ids(listing[::-1])


# Projects and events


def test_prune_project_read_failure():
    client = FakeClient()
    live, listing = standard_listing()
    client.add("docs", live, listing)
    client.add("blog", None, [deployment(50, days_old=30)])
    client.read_errors["docs"] = ProjectNotFoundError(
        method="GET",
        path="/pages/projects/docs",
        status=404,
        errors=(ApiErrorDetail(8000007, "Project not found."),),
    )
    with pytest.raises(RunFailedError, match="1 of 2 projects") as caught:
        run(client, projects=("docs", "blog"), keep_latest=0)
    docs, blog = failed_results(caught)
    assert docs["failed"] == [
        {
            "id": "docs",
            "code": 8000007,
            "message": "could not read project docs or its deployments, so nothing was deleted: "
            "GET /pages/projects/docs failed with HTTP 404: [8000007] Project not found.",
        }
    ]
    assert docs["selected"] == []
    assert blog["deleted"] == [client.listings["blog"][0].id]
    assert client.deleted() == blog["deleted"]


def test_prune_listing_failure_deletes_nothing():
    client = FakeClient()
    client.add("docs", None, [deployment(n, days_old=10 + n) for n in range(30)])
    client.listing_errors["docs"] = ServerError(method="GET", path="x", status=502)
    with pytest.raises(RunFailedError):
        run(client, keep_latest=0)
    assert client.deleted() == []


def test_prune_malformed_listing_deletes_nothing():
    client = FakeClient()
    client.add("docs", None, [deployment(n, days_old=10 + n) for n in range(30)])
    client.listing_errors["docs"] = ValueError("deployment object has no id")
    with pytest.raises(RunFailedError, match="deployment object has no id"):
        run(client, keep_latest=0)
    assert client.deleted() == []


def test_prune_event_project_only():
    client = FakeClient()
    client.add("docs", None, [deployment(1, days_old=30)])
    client.add("blog", None, [deployment(2, days_old=30)])
    results = run(client, {"project": "blog"}, projects=("docs", "blog"), keep_latest=0)["results"]
    assert [result["project"] for result in results] == ["blog"]
    assert ("GET", "docs") not in client.calls


def test_prune_unmanaged_project_rejected():
    client = FakeClient()
    with pytest.raises(InvalidEventError, match="not in PAGES_PROJECTS"):
        run(client, {"project": "internal-tools"})
    assert client.calls == []


@pytest.mark.parametrize("event", [[], "docs", {"dry_run": "maybe"}, {"project": "Not A Name"}])
def test_prune_malformed_event_rejected(event):
    client = FakeClient()
    with pytest.raises(InvalidEventError):
        run(client, event)
    assert client.calls == []


def test_prune_dry_run_flag_always_validated():
    client = FakeClient()
    with pytest.raises(InvalidEventError):
        run(client, {"dry_run": "perhaps"}, dry_run=True)
    assert client.calls == []


# Reporting


def test_prune_metrics():
    client = FakeClient()
    live, listing = standard_listing()
    client.add("docs", live, listing)
    client.add("blog", None, [deployment(50, days_old=30)])
    client.read_errors["blog"] = ServerError(method="GET", path="x", status=500)
    failing = listing[6].id
    client.delete_errors[failing] = ServerError(method="DELETE", path="x", status=500)
    metrics = RecordingMetrics()
    with pytest.raises(RunFailedError):
        prune(
            None,
            None,
            settings=make_settings(projects=("blog", "docs"), max_deletes_per_run=4),
            client=client,
            metrics=metrics,
            now=NOW,
        )
    assert metrics.values == {
        "DeploymentsDeleted": 3,
        "DeploymentsFailed": 1,
        "ProjectsFailed": 1,
        "DeploymentsRemaining": 1,
        "DeploymentsKept": 3,
        "DeploymentsKept_live_production": 1,
        "DeploymentsKept_keep_latest": 2,
    }


def test_prune_logs_each_deletion(caplog):
    client = FakeClient()
    old = deployment(1, days_old=12.25, branch="feature/login")
    client.add("docs", None, [old])
    with caplog.at_level(logging.INFO, logger="pages_ops.pruner"):
        run(client, keep_latest=0)
    deleted = [record for record in caplog.records if getattr(record, "deployment_id", None) == old.id]
    assert len(deleted) == 1
    assert deleted[0].getMessage() == (
        f"deleted deployment {old.id} of project docs (preview, branch feature/login, 12.2 days old)"
    )
    assert deleted[0].__dict__["age_days"] == 12.25
    assert deleted[0].__dict__["environment"] == "preview"
    summaries = [record for record in caplog.records if record.getMessage().startswith("pruned project")]
    assert [record.getMessage() for record in summaries] == [
        "pruned project docs: 1 selected, 1 deleted, 0 failed, kept none, 0 remaining, stopped: no"
    ]
