"""Tests of the retention rules (pages_ops.retention): example cases per rule, and properties on generated
projects and listings."""

from __future__ import annotations

import uuid
from datetime import UTC, datetime, timedelta
from typing import Any

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from pages_ops.config import Settings
from pages_ops.models import Deployment, Project, Stage
from pages_ops.retention import (
    KeepReason,
    RetentionPolicy,
    Selection,
    is_in_progress,
    live_deployment_ids,
    newest_ids_per_environment,
    select_deployments,
    unique_by_id,
)
from tests.conftest import FAKE_ACCOUNT_ID, load_fixture

NOW = datetime(2025, 6, 1, 12, 0, tzinfo=UTC)

SUCCESS = Stage("deploy", "success")
FAILURE = Stage("build", "failure")
CANCELED = Stage("build", "canceled")
QUEUED = Stage("queued", "active")
RUNNING = Stage("build", "active")
IDLE_BEFORE_DEPLOY = Stage("initialize", "idle")
BETWEEN_STAGES = Stage("build", "success")
STAGES = (SUCCESS, FAILURE, CANCELED, QUEUED, RUNNING, IDLE_BEFORE_DEPLOY, BETWEEN_STAGES, None)


def deployment(
    number: int,
    *,
    days_old: float | None,
    environment: str | None = "preview",
    stage: Stage | None = SUCCESS,
    aliases: tuple[str, ...] = (),
    is_skipped: bool = False,
    branch: str | None = None,
) -> Deployment:
    deployment_id = str(uuid.UUID(int=number + 1))
    return Deployment(
        id=deployment_id,
        short_id=deployment_id[:8],
        project_name="docs",
        environment=environment,
        url=f"https://{deployment_id[:8]}.docs-abc.pages.dev",
        created_on=None if days_old is None else NOW - timedelta(days=days_old),
        modified_on=None,
        latest_stage=stage,
        stages=(),
        aliases=aliases,
        trigger_type="github:push",
        branch=branch or ("main" if environment == "production" else "feature"),
        commit_hash="0" * 40,
        commit_message="Update docs",
        is_skipped=is_skipped,
        skip_reason="skipped by commit message" if is_skipped else None,
    )


def project(canonical: Deployment | None) -> Project:
    return Project(
        id="7b162ea7-7367-4d67-bcde-1160995d5ef4",
        name="docs",
        subdomain="docs-abc.pages.dev",
        domains=("docs-abc.pages.dev",),
        production_branch="main",
        created_on=NOW - timedelta(days=900),
        source_type="github",
        canonical_deployment=canonical,
        latest_deployment=None,
    )


def newest_first(*deployments: Deployment) -> list[Deployment]:
    return sorted(deployments, key=lambda item: item.created_on or NOW, reverse=True)


def selected_ids(selection: Selection) -> list[str]:
    return [decision.deployment.id for decision in selection.selected]


def reasons(selection: Selection) -> dict[str, KeepReason | None]:
    return {decision.deployment.id: decision.keep_reason for decision in selection.kept}


POLICY = RetentionPolicy(retention_days=7, keep_latest=0, delete_aliased=False, max_deletes=300)


# Example cases, one rule at a time


def test_select_old_deployment_deleted():
    old = deployment(1, days_old=30)
    selection = select_deployments(project(None), [old], now=NOW, policy=POLICY)
    assert selected_ids(selection) == [old.id]
    assert selection.kept == ()
    assert selection.deferred == ()


def test_select_within_retention_kept():
    young = deployment(1, days_old=6.9)
    exactly = deployment(2, days_old=7)
    selection = select_deployments(project(None), [young, exactly], now=NOW, policy=POLICY)
    assert selection.selected == ()
    assert reasons(selection) == {
        young.id: KeepReason.WITHIN_RETENTION,
        exactly.id: KeepReason.WITHIN_RETENTION,
    }


def test_select_retention_zero_deletes_any_past_age():
    policy = RetentionPolicy(retention_days=0, keep_latest=0)
    minutes_old = deployment(1, days_old=0.001)
    future = deployment(2, days_old=-1)  # clock skew: created "in the future"
    selection = select_deployments(project(None), [future, minutes_old], now=NOW, policy=policy)
    assert selected_ids(selection) == [minutes_old.id]
    assert reasons(selection) == {future.id: KeepReason.WITHIN_RETENTION}


def test_select_canonical_never_deleted():
    live = deployment(1, days_old=400, environment="production")
    other = deployment(2, days_old=300, environment="production")
    policy = RetentionPolicy(retention_days=0, keep_latest=0, delete_aliased=True)
    selection = select_deployments(project(live), newest_first(live, other), now=NOW, policy=policy)
    assert selected_ids(selection) == [other.id]
    assert reasons(selection) == {live.id: KeepReason.LIVE_PRODUCTION}
    assert selection.protected_ids == frozenset({live.id})


def test_select_canonical_absent_from_listing_still_protected():
    live = deployment(1, days_old=100, environment="production")
    other = deployment(2, days_old=50, environment="production")
    selection = select_deployments(project(live), [other], now=NOW, policy=POLICY)
    assert selection.protected_ids == frozenset({live.id})
    assert selected_ids(selection) == [other.id]


def test_select_rollback_keeps_older_live_deployment():
    # After a rollback the live deployment is older than newer production deployments.
    newer = deployment(1, days_old=20, environment="production")
    live = deployment(2, days_old=40, environment="production")
    oldest = deployment(3, days_old=60, environment="production")
    policy = RetentionPolicy(retention_days=7, keep_latest=1)
    selection = select_deployments(project(live), [newer, live, oldest], now=NOW, policy=policy)
    assert selected_ids(selection) == [oldest.id]
    assert reasons(selection) == {newer.id: KeepReason.KEEP_LATEST, live.id: KeepReason.LIVE_PRODUCTION}


def test_select_no_canonical_protects_newest_successful_production():
    failed_newest = deployment(1, days_old=20, environment="production", stage=FAILURE)
    newest_success = deployment(2, days_old=30, environment="production")
    older_success = deployment(3, days_old=40, environment="production")
    preview = deployment(4, days_old=10, environment="preview")
    listing = [preview, failed_newest, newest_success, older_success]
    selection = select_deployments(project(None), listing, now=NOW, policy=POLICY)
    assert selection.protected_ids == frozenset({newest_success.id})
    assert reasons(selection) == {newest_success.id: KeepReason.LIVE_PRODUCTION}
    assert selected_ids(selection) == [older_success.id, failed_newest.id, preview.id]


def test_select_no_canonical_tied_newest_all_protected():
    first = deployment(1, days_old=30, environment="production")
    second = deployment(2, days_old=30, environment="production")
    older = deployment(3, days_old=40, environment="production")
    selection = select_deployments(project(None), [first, second, older], now=NOW, policy=POLICY)
    assert selection.protected_ids == frozenset({first.id, second.id})
    assert selected_ids(selection) == [older.id]


def test_select_undated_production_first_listed():
    first = deployment(1, days_old=None, environment="production")
    second = deployment(2, days_old=None, environment="production")
    assert live_deployment_ids(project(None), [first, second]) == frozenset({first.id})


def test_select_no_successful_production_protects_nothing():
    failed = deployment(1, days_old=30, environment="production", stage=FAILURE)
    preview = deployment(2, days_old=30, environment="preview")
    assert live_deployment_ids(project(None), [failed, preview]) == frozenset()


@pytest.mark.parametrize(
    ("stage", "is_skipped", "building"),
    [
        (QUEUED, False, True),
        (RUNNING, False, True),
        (IDLE_BEFORE_DEPLOY, False, True),
        (BETWEEN_STAGES, False, True),
        (Stage("deploy", "active"), False, True),
        (SUCCESS, False, False),
        (FAILURE, False, False),
        (CANCELED, False, False),
        (Stage("deploy", "idle"), False, False),
        (QUEUED, True, False),
        (None, False, False),
    ],
)
def test_is_in_progress_stages(stage, is_skipped, building):
    assert is_in_progress(deployment(1, days_old=1, stage=stage, is_skipped=is_skipped)) is building


def test_select_building_kept_even_when_old():
    stuck = deployment(1, days_old=90, stage=RUNNING)
    queued = deployment(2, days_old=80, stage=QUEUED)
    between = deployment(3, days_old=70, stage=BETWEEN_STAGES)
    selection = select_deployments(project(None), [between, queued, stuck], now=NOW, policy=POLICY)
    assert selection.selected == ()
    assert set(reasons(selection).values()) == {KeepReason.BUILDING}


def test_select_failed_canceled_skipped_deleted_when_old():
    failed = deployment(1, days_old=10, stage=FAILURE)
    canceled = deployment(2, days_old=11, stage=CANCELED)
    skipped = deployment(3, days_old=12, stage=QUEUED, is_skipped=True)
    selection = select_deployments(project(None), [failed, canceled, skipped], now=NOW, policy=POLICY)
    assert selected_ids(selection) == [skipped.id, canceled.id, failed.id]


def test_select_keep_latest_per_environment():
    production = [deployment(n, days_old=10 + n, environment="production") for n in range(4)]
    preview = [deployment(10 + n, days_old=20 + n, environment="preview") for n in range(4)]
    live = production[3]
    policy = RetentionPolicy(retention_days=7, keep_latest=2)
    listing = newest_first(*production, *preview)
    selection = select_deployments(project(live), listing, now=NOW, policy=policy)
    assert reasons(selection) == {
        production[0].id: KeepReason.KEEP_LATEST,
        production[1].id: KeepReason.KEEP_LATEST,
        production[3].id: KeepReason.LIVE_PRODUCTION,
        preview[0].id: KeepReason.KEEP_LATEST,
        preview[1].id: KeepReason.KEEP_LATEST,
    }
    assert selected_ids(selection) == [preview[3].id, preview[2].id, production[2].id]


def test_select_keep_latest_counts_building_and_failed():
    # The newest N are kept whatever their status, so a failed build counts as one of them.
    failed = deployment(1, days_old=10, stage=FAILURE)
    building = deployment(2, days_old=11, stage=RUNNING)
    older = deployment(3, days_old=12)
    policy = RetentionPolicy(retention_days=7, keep_latest=2)
    selection = select_deployments(project(None), [failed, building, older], now=NOW, policy=policy)
    assert selected_ids(selection) == [older.id]
    assert reasons(selection) == {failed.id: KeepReason.KEEP_LATEST, building.id: KeepReason.BUILDING}


def test_select_keep_latest_by_date_not_listing_order():
    newest = deployment(1, days_old=10)
    oldest = deployment(2, days_old=30)
    middle = deployment(3, days_old=20)
    policy = RetentionPolicy(retention_days=7, keep_latest=1)
    selection = select_deployments(project(None), [oldest, middle, newest], now=NOW, policy=policy)
    assert reasons(selection) == {newest.id: KeepReason.KEEP_LATEST}
    assert selected_ids(selection) == [oldest.id, middle.id]


def test_newest_ids_skip_undated():
    undated = deployment(1, days_old=None)
    dated = deployment(2, days_old=50)
    assert newest_ids_per_environment([undated, dated], 1) == frozenset({dated.id})
    assert newest_ids_per_environment([undated, dated], 0) == frozenset()


def test_newest_ids_unknown_environment_is_own_group():
    unknown = deployment(1, days_old=50, environment=None)
    preview = deployment(2, days_old=10)
    assert newest_ids_per_environment([preview, unknown], 1) == frozenset({unknown.id, preview.id})


def test_select_unknown_age_kept():
    undated = deployment(1, days_old=None)
    selection = select_deployments(project(None), [undated], now=NOW, policy=POLICY)
    assert selection.selected == ()
    assert reasons(selection) == {undated.id: KeepReason.UNKNOWN_AGE}


def test_select_aliased_kept_by_default():
    aliased = deployment(1, days_old=30, aliases=("https://feature.docs-abc.pages.dev",))
    selection = select_deployments(project(None), [aliased], now=NOW, policy=POLICY)
    assert selection.selected == ()
    assert reasons(selection) == {aliased.id: KeepReason.ALIASED}


def test_select_aliased_deleted_when_enabled():
    aliased = deployment(1, days_old=30, aliases=("https://feature.docs-abc.pages.dev",))
    policy = RetentionPolicy(retention_days=7, keep_latest=0, delete_aliased=True)
    selection = select_deployments(project(None), [aliased], now=NOW, policy=policy)
    assert selected_ids(selection) == [aliased.id]


def test_select_aliased_live_kept_when_enabled():
    live = deployment(1, days_old=30, environment="production", aliases=("https://docs.example.com",))
    policy = RetentionPolicy(retention_days=0, keep_latest=0, delete_aliased=True)
    selection = select_deployments(project(live), [live], now=NOW, policy=policy)
    assert selection.selected == ()
    assert reasons(selection) == {live.id: KeepReason.LIVE_PRODUCTION}


def test_select_reason_order_first_rule_wins():
    aliased_young = deployment(1, days_old=1, aliases=("https://feature.docs-abc.pages.dev",))
    undated_building = deployment(2, days_old=None, stage=RUNNING)
    policy = RetentionPolicy(retention_days=7, keep_latest=0)
    selection = select_deployments(project(None), [aliased_young, undated_building], now=NOW, policy=policy)
    assert reasons(selection) == {
        aliased_young.id: KeepReason.WITHIN_RETENTION,
        undated_building.id: KeepReason.BUILDING,
    }
    assert selection.kept_counts() == {"building": 1, "within_retention": 1}


def test_select_cap_takes_oldest_first():
    listing = [deployment(n, days_old=10 + n) for n in range(6)]
    policy = RetentionPolicy(retention_days=7, keep_latest=0, max_deletes=4)
    selection = select_deployments(project(None), listing, now=NOW, policy=policy)
    assert selected_ids(selection) == [listing[5].id, listing[4].id, listing[3].id, listing[2].id]
    assert [decision.deployment.id for decision in selection.deferred] == [listing[1].id, listing[0].id]


def test_select_limit_below_cap():
    listing = [deployment(n, days_old=10 + n) for n in range(6)]
    policy = RetentionPolicy(retention_days=7, keep_latest=0, max_deletes=4)
    selection = select_deployments(project(None), listing, now=NOW, policy=policy, limit=1)
    assert selected_ids(selection) == [listing[5].id]
    assert len(selection.deferred) == 5
    assert len(select_deployments(project(None), listing, now=NOW, policy=policy, limit=-3).selected) == 0


def test_select_equal_times_delete_later_listed_first():
    first = deployment(1, days_old=10)
    second = deployment(2, days_old=10)
    selection = select_deployments(project(None), [first, second], now=NOW, policy=POLICY)
    assert selected_ids(selection) == [second.id, first.id]


def test_select_duplicate_ids_counted_once():
    old = deployment(1, days_old=30)
    other = deployment(2, days_old=40)
    selection = select_deployments(project(None), [old, other, other, old], now=NOW, policy=POLICY)
    assert selected_ids(selection) == [other.id, old.id]
    assert selection.listed == 2


def test_unique_by_id_keeps_first():
    first = deployment(1, days_old=30)
    again = deployment(1, days_old=1)
    assert unique_by_id([first, again]) == [first]


def test_select_empty_listing():
    selection = select_deployments(project(None), [], now=NOW, policy=POLICY)
    assert selection == Selection(protected_ids=frozenset(), selected=(), deferred=(), kept=())
    assert selection.kept_counts() == {}


def test_select_naive_now_rejected():
    with pytest.raises(ValueError, match="timezone-aware"):
        select_deployments(project(None), [], now=datetime(2025, 6, 1), policy=POLICY)


@pytest.mark.parametrize("field", ["retention_days", "keep_latest", "max_deletes"])
def test_policy_negative_rejected(field):
    values: dict[str, Any] = {field: -1}
    with pytest.raises(ValueError, match=field):
        RetentionPolicy(**values)


def test_policy_from_settings():
    current = Settings(
        account_id=FAKE_ACCOUNT_ID,
        secret_id="cf-pages-ops/test",
        projects=("docs",),
        retention_days=14,
        keep_latest=5,
        delete_aliased=True,
        max_deletes_per_run=25,
    )
    assert RetentionPolicy.from_settings(current) == RetentionPolicy(
        retention_days=14, keep_latest=5, delete_aliased=True, max_deletes=25
    )


def test_select_captured_listing():
    # A listing captured from the real API: the newest production deployment carries an alias too.
    listing = [
        Deployment.from_api(item)
        for item in load_fixture("andykenward_list_deployments_captured.json")["result"]
    ]
    policy = RetentionPolicy(retention_days=7, keep_latest=1, delete_aliased=False)
    now = datetime(2023, 7, 20, tzinfo=UTC)
    selection = select_deployments(project(None), listing, now=now, policy=policy)
    assert selection.protected_ids == frozenset({"206e215c-33b3-4ce4-adf4-7fc6c9b65483"})
    assert selected_ids(selection) == [
        "b980546d-7c30-42ce-909b-20033fff04b9",
        "470d1f60-686a-4293-b9d2-8a5ca13e884b",
        "2a811db6-3794-42f3-8fab-01e5a4ec892b",
        "369a3ab8-4639-4f89-a8e1-cb41386e419b",
        "839281e9-f89f-4f44-9f47-711120f022a7",
    ]
    assert selection.kept_counts() == {"live_production": 1, "keep_latest": 1, "aliased": 2}


# Properties on generated projects, listings and settings

deployment_specs = st.lists(
    st.tuples(
        st.sampled_from(["production", "preview", None]),
        st.one_of(st.none(), st.floats(min_value=-2, max_value=400, allow_nan=False)),
        st.sampled_from((SUCCESS, SUCCESS, SUCCESS, *STAGES)),  # mostly finished builds, as in real listings
        st.booleans(),  # aliased
        st.booleans(),  # skipped
    ),
    max_size=40,
)
policies = st.builds(
    RetentionPolicy,
    retention_days=st.integers(min_value=0, max_value=60),
    keep_latest=st.integers(min_value=0, max_value=5),
    delete_aliased=st.booleans(),
    max_deletes=st.integers(min_value=0, max_value=30),
)


@st.composite
def scenarios(draw: st.DrawFn) -> tuple[Project, list[Deployment], RetentionPolicy, int | None]:
    specs = draw(deployment_specs)
    deployments = [
        deployment(
            number,
            days_old=None if days is None else round(days, 3),
            environment=environment,
            stage=stage,
            aliases=("https://alias.docs-abc.pages.dev",) if aliased else (),
            is_skipped=skipped,
        )
        for number, (environment, days, stage, aliased, skipped) in enumerate(specs)
    ]
    listing = newest_first(*deployments)
    # An odd listing: shuffled, or with a repeated item as when a page boundary shifts during paging.
    shuffled: bool = draw(st.booleans())
    if shuffled:
        listing = list(draw(st.permutations(listing)))
    repeated: bool = draw(st.booleans())
    if listing and repeated:
        listing.append(draw(st.sampled_from(listing)))

    # The canonical deployment may be any deployment (a rollback), one outside the listing, or missing.
    canonical_choice = draw(st.sampled_from(["listed", "unlisted", "missing"]))
    canonical: Deployment | None = None
    if canonical_choice == "listed" and deployments:
        canonical = draw(st.sampled_from(deployments))
    elif canonical_choice == "unlisted":
        canonical = deployment(10_000, days_old=500, environment="production")
    limit = draw(st.one_of(st.none(), st.integers(min_value=0, max_value=30)))
    return project(canonical), listing, draw(policies), limit


@given(scenarios())
@settings(max_examples=400, deadline=None)
def test_selection_properties(scenario):
    current, listing, policy, limit = scenario
    selection = select_deployments(current, listing, now=NOW, policy=policy, limit=limit)
    chosen = [decision.deployment for decision in selection.selected]
    chosen_ids = {item.id for item in chosen}

    # The live deployment, or the newest successful production one when the project names none.
    if current.canonical_deployment is not None:
        assert current.canonical_deployment.id not in chosen_ids
    else:
        successful = [
            item
            for item in listing
            if item.environment == "production" and item.status == "success" and item.created_on is not None
        ]
        if successful:
            newest = max(item.created_on for item in successful if item.created_on is not None)
            assert not any(item.created_on == newest for item in successful if item.id in chosen_ids)
    assert not chosen_ids & selection.protected_ids

    for item in chosen:
        assert not item.is_building
        assert item.status not in ("queued", "building")
        assert item.created_on is not None
        assert (NOW - item.created_on).total_seconds() / 86_400 > policy.retention_days
        if not policy.delete_aliased:
            assert item.aliases == ()
        # At least KEEP_LATEST other dated deployments of its environment are as new or newer.
        as_new = {
            other.id
            for other in listing
            if other.id != item.id
            and other.environment == item.environment
            and other.created_on is not None
            and other.created_on >= item.created_on
        }
        assert len(as_new) >= policy.keep_latest

    cap = policy.max_deletes if limit is None else min(policy.max_deletes, limit)
    assert len(chosen) <= cap
    assert len(chosen_ids) == len(chosen)
    if selection.deferred:
        assert len(chosen) == cap

    # Every distinct listed deployment lands in exactly one group.
    grouped = [
        decision.deployment.id for decision in (*selection.selected, *selection.deferred, *selection.kept)
    ]
    assert sorted(grouped) == sorted({item.id for item in listing})
    assert all(decision.keep_reason is not None for decision in selection.kept)
    assert all(decision.keep_reason is None for decision in (*selection.selected, *selection.deferred))
    assert sum(selection.kept_counts().values()) == len(selection.kept)

    # Oldest first, and nothing deferred is older than something selected.
    ages = [decision.age_days for decision in (*selection.selected, *selection.deferred)]
    assert ages == sorted(ages, key=lambda age: -(age or 0.0))
