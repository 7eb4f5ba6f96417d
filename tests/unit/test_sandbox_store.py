"""The Cloudflare Pages stand-in's store, model and data sets, without HTTP."""

from __future__ import annotations

import time
from datetime import UTC, datetime, timedelta, timezone

import pytest

from sandbox.cloudflare_pages import MANAGED_PROJECTS, UNMANAGED_PROJECT, PagesStore, seed_demo
from sandbox.cloudflare_pages.errors import DeploymentNotFoundError, ProjectNotFoundError
from sandbox.cloudflare_pages.model import branch_slug, format_timestamp
from sandbox.cloudflare_pages.ratelimit import RateLimiter

NOW = datetime(2026, 3, 2, 12, 0, tzinfo=UTC)


class StepClock:
    def __init__(self) -> None:
        self.now = NOW

    def __call__(self) -> datetime:
        return self.now


@pytest.fixture
def clock() -> StepClock:
    return StepClock()


@pytest.fixture
def store(clock: StepClock) -> PagesStore:
    store = PagesStore(clock=clock, stage_seconds=2.0)
    store.add_project("docs", created_on=NOW - timedelta(days=30))
    return store


@pytest.mark.parametrize(
    ("moment", "text"),
    [
        (datetime(2023, 6, 16, 18, 41, 19, 71680, tzinfo=UTC), "2023-06-16T18:41:19.07168Z"),
        (datetime(2023, 6, 2, 23, 50, 45, 983900, tzinfo=UTC), "2023-06-02T23:50:45.9839Z"),
        (datetime(2021, 1, 1, tzinfo=UTC), "2021-01-01T00:00:00Z"),
        (
            datetime(2021, 1, 1, 2, 0, 0, 1, tzinfo=timezone(timedelta(hours=2))),
            "2021-01-01T00:00:00.000001Z",
        ),
    ],
)
def test_format_timestamp(moment: datetime, text: str) -> None:
    assert format_timestamp(moment) == text


def test_format_timestamp_naive_rejected() -> None:
    with pytest.raises(ValueError, match="no time zone"):
        format_timestamp(datetime(2021, 1, 1))


@pytest.mark.parametrize(
    ("branch", "slug"),
    [
        ("main", "main"),
        ("feature/Login_Page", "feature-login-page"),
        ("dependabot/npm_and_yarn/sharp-0.33.5", "dependabot-npm-and-yarn-shar"),
        ("-leading/", "leading"),
        ("///", ""),
    ],
)
def test_branch_slug(branch: str, slug: str) -> None:
    assert branch_slug(branch) == slug


def test_store_unknown_project(store: PagesStore) -> None:
    with pytest.raises(ProjectNotFoundError):
        store.get_project("blog")


def test_store_get_deployment_deleted(store: PagesStore) -> None:
    old = store.add_deployment("docs", branch="feature/a", created_on=NOW - timedelta(days=3))["id"]
    store.add_deployment("docs", branch="feature/a", created_on=NOW - timedelta(days=2))

    store.delete_deployment("docs", old)

    with pytest.raises(DeploymentNotFoundError):
        store.get_deployment("docs", old)
    assert store.deleted_ids("docs") == [old]


@pytest.mark.parametrize(
    ("options", "message"),
    [
        ({"branch": "feature/a", "environment": "production"}, "deploys to preview"),
        ({"is_skipped": True}, "needs status='skipped'"),
        ({"status": "success", "stage": "build"}, "ends at the deploy stage"),
        ({"status": "failure", "stage": "compile"}, "unknown stage"),
        ({"status": "paused"}, "unknown status"),
        ({"created_on": datetime(2026, 1, 1)}, "no time zone"),
        ({"deployment_id": "ABC"}, "not a lower-case UUID"),
        ({"durations": (1, 2, 3)}, "five non-negative seconds"),
        ({"status": "active", "progressing": True}, "needs a final status"),
    ],
)
def test_add_deployment_invalid(store: PagesStore, options: dict[str, object], message: str) -> None:
    with pytest.raises(ValueError, match=message):
        store.add_deployment("docs", **options)  # type: ignore[arg-type]


def test_add_project_invalid_name(store: PagesStore) -> None:
    with pytest.raises(ValueError, match="invalid project name"):
        store.add_project("Docs")
    with pytest.raises(ValueError, match="already exists"):
        store.add_project("docs")


def test_add_deployment_live_only_when_newer(store: PagesStore) -> None:
    newer = store.add_deployment("docs", created_on=NOW - timedelta(days=1))["id"]
    store.add_deployment("docs", created_on=NOW - timedelta(days=2))

    assert store.canonical_id("docs") == newer


def test_progressing_build_states(store: PagesStore, clock: StepClock) -> None:
    created = store.add_deployment(
        "docs", created_on=NOW, progressing=True, durations=(1, 1, 1, 1, 1), status="success"
    )

    states = []
    for _ in range(6):
        current = store.get_deployment("docs", created["id"])
        states.append((current["latest_stage"]["name"], current["latest_stage"]["status"]))
        clock.now += timedelta(seconds=1)

    assert states == [
        ("queued", "active"),
        ("initialize", "active"),
        ("clone_repo", "active"),
        ("build", "active"),
        ("deploy", "active"),
        ("deploy", "success"),
    ]
    assert store.canonical_id("docs") == created["id"]


def test_progressing_build_after_rollback_goes_live(store: PagesStore, clock: StepClock) -> None:
    first = store.add_deployment("docs", created_on=NOW - timedelta(days=2))["id"]
    store.add_deployment("docs", created_on=NOW - timedelta(days=1))
    store.rollback("docs", first)
    started = store.start_build("docs")

    clock.now += timedelta(seconds=9.9)
    before = store.canonical_id("docs")
    clock.now += timedelta(seconds=0.1)

    assert before == first
    assert store.canonical_id("docs") == started["id"]


def test_skipped_deployment_shape(store: PagesStore) -> None:
    skipped = store.add_deployment("docs", status="skipped", created_on=NOW - timedelta(hours=1))

    assert skipped["is_skipped"] is True
    assert skipped["skip_reason"] == "commit_message"
    assert skipped["latest_stage"]["name"] == "queued"
    assert skipped["latest_stage"]["status"] == "skipped"
    assert [stage["status"] for stage in skipped["stages"]] == ["skipped", "idle", "idle", "idle", "idle"]


def test_direct_upload_success_shape(store: PagesStore) -> None:
    store.add_project("shop", source_type=None)

    deployment = store.add_deployment("shop", created_on=NOW - timedelta(hours=1))

    assert "source" not in deployment
    assert deployment["deployment_trigger"]["type"] == "ad_hoc"
    assert [stage["status"] for stage in deployment["stages"]] == [
        "active",
        "idle",
        "idle",
        "idle",
        "success",
    ]
    assert deployment["latest_stage"]["started_on"] is None
    assert deployment["stages"][0]["ended_on"] is None
    assert deployment["build_config"]["build_command"] is None


def test_generate_history_fast_and_reproducible(clock: StepClock) -> None:
    first = PagesStore(clock=clock)
    second = PagesStore(clock=clock)
    for target in (first, second):
        target.add_project("docs", project_id="5a321fc7-3162-4d36-adce-1213996a7c01")

    started = time.perf_counter()
    ids = first.generate_history("docs", count=3000, start=NOW - timedelta(days=400), end=NOW, rng_seed=42)
    seconds = time.perf_counter() - started
    again = second.generate_history("docs", count=3000, start=NOW - timedelta(days=400), end=NOW, rng_seed=42)

    assert seconds < 1.0
    assert len(set(ids)) == 3000
    assert ids == again
    assert first.list_deployments("docs", page=3, per_page=25) == second.list_deployments(
        "docs", page=3, per_page=25
    )


def test_generate_history_rates(clock: StepClock) -> None:
    store = PagesStore(clock=clock)
    store.add_project("docs")
    store.generate_history(
        "docs",
        count=2000,
        start=NOW - timedelta(days=100),
        end=NOW,
        production_share=0.25,
        failure_rate=0.1,
        skip_rate=0.05,
        cancel_rate=0.0,
        rng_seed=1,
    )

    deployments = [store.get_deployment("docs", item) for item in store.deployment_ids("docs")]
    production = sum(item["environment"] == "production" for item in deployments)
    failed = sum(item["latest_stage"]["status"] == "failure" for item in deployments)
    skipped = sum(item["is_skipped"] for item in deployments)

    assert 400 < production < 600
    assert 150 < failed < 250
    assert 60 < skipped < 140
    assert all(item["deployment_trigger"]["type"] == "github:push" for item in deployments)


def test_generate_history_invalid_rates(store: PagesStore) -> None:
    with pytest.raises(ValueError, match="must not exceed 1"):
        store.generate_history(
            "docs", count=1, start=NOW - timedelta(days=1), end=NOW, failure_rate=0.6, skip_rate=0.6
        )
    with pytest.raises(ValueError, match="must be after start"):
        store.generate_history("docs", count=1, start=NOW, end=NOW)


def test_seed_demo_reproducible() -> None:
    first = PagesStore(clock=lambda: NOW)
    second = PagesStore(clock=lambda: NOW)

    seed_demo(first, NOW)
    seed_demo(second, NOW)

    for name in [*MANAGED_PROJECTS, UNMANAGED_PROJECT]:
        assert first.deployment_ids(name) == second.deployment_ids(name)
        assert first.get_project(name) == second.get_project(name)


def test_seed_demo_contents() -> None:
    store = PagesStore(clock=lambda: NOW)
    seed_demo(store, NOW)

    marketing = store.get_project("marketing-site")
    production, total = store.list_deployments("marketing-site", environment="production", per_page=25)
    everything = [
        store.get_deployment("marketing-site", item) for item in store.deployment_ids("marketing-site")
    ]
    shop = store.get_project("shop")

    assert store.project_names() == ["blog", "docs", "internal-tools", "marketing-site", "shop"]
    assert 2400 <= len(everything) <= 2600
    assert (NOW - datetime.fromisoformat(everything[-1]["created_on"])).days >= 400
    latest = marketing["latest_deployment"]
    assert latest["latest_stage"] == {**latest["latest_stage"], "name": "build", "status": "active"}
    newest_success = next(item for item in production if item["latest_stage"]["status"] == "success")
    assert marketing["canonical_deployment"]["id"] != newest_success["id"]
    assert marketing["canonical_deployment"]["aliases"] == ["https://main.marketing-site-7xq.pages.dev"]
    assert any(item["is_skipped"] for item in everything)
    assert any(item["latest_stage"]["status"] == "failure" for item in everything)
    assert any(item["latest_stage"]["status"] == "canceled" for item in everything)
    assert sum(item["aliases"] is not None for item in everything) >= 10
    assert shop["source"] is None
    assert shop["latest_deployment"]["deployment_trigger"]["type"] == "ad_hoc"
    assert store.get_project("blog")["production_branch"] == "production"
    assert total > 500


def test_rate_limiter_blocks_for_a_window() -> None:
    now = [0.0]
    limiter = RateLimiter(2, 10.0, clock=lambda: now[0])

    decisions = [limiter.acquire() for _ in range(3)]
    now[0] = 9.0
    still_blocked = limiter.acquire()
    now[0] = 10.5
    after = limiter.acquire()

    assert [decision.allowed for decision in decisions] == [True, True, False]
    assert decisions[2].retry_after == 10.0
    assert still_blocked.allowed is False
    assert still_blocked.retry_after == pytest.approx(1.0)
    assert after.allowed is True
    assert after.remaining == 1


def test_rate_limiter_disabled() -> None:
    limiter = RateLimiter(None, 1.0)

    assert all(limiter.acquire().allowed for _ in range(5000))
    assert limiter.headers(limiter.acquire()) == []
