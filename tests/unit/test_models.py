"""Unit tests of pages_ops.models: lenient parsing of real and SDK bodies, and build status words."""

from __future__ import annotations

import copy
from datetime import UTC, datetime, timedelta
from typing import Any

import pytest

from pages_ops.models import (
    STAGE_ORDER,
    BuildLogs,
    Deployment,
    DeploymentPage,
    LogLine,
    Project,
    Stage,
    parse_timestamp,
)
from tests.conftest import load_fixture

CAPTURED = load_fixture("andykenward_list_deployments_captured.json")["result"]
IDLE_VARIANT = load_fixture("andykenward_list_deployments_idle_variant.json")["result"]


def deployment_with_stage(name: str | None, status: str | None, **fields: Any) -> Deployment:
    data: dict[str, Any] = {"id": "0012e50b-fa5d-44db-8cb5-1f372785dcbe", **fields}
    if name is not None:
        data["latest_stage"] = {"name": name, "status": status}
    return Deployment.from_api(data)


# Captured and test bodies.
def test_captured_list_first_deployment() -> None:
    deployment = Deployment.from_api(CAPTURED[0])

    assert deployment.id == "206e215c-33b3-4ce4-adf4-7fc6c9b65483"
    assert deployment.short_id == "206e215c"
    assert deployment.project_name == "cloudflare-pages-action"
    assert deployment.environment == "production"
    assert deployment.url == "https://206e215c.cloudflare-pages-action-a5z.pages.dev"
    assert deployment.created_on == datetime(2023, 6, 16, 18, 41, 19, 71680, tzinfo=UTC)
    assert deployment.modified_on == datetime(2023, 6, 16, 18, 41, 21, 226094, tzinfo=UTC)
    assert deployment.latest_stage == Stage(
        name="deploy",
        status="success",
        started_on=None,
        ended_on=datetime(2023, 6, 16, 18, 41, 21, 226094, tzinfo=UTC),
    )
    assert [stage.name for stage in deployment.stages] == list(STAGE_ORDER)
    assert deployment.aliases == ("https://unknown-branch.cloudflare-pages-action-a5z.pages.dev",)
    assert deployment.trigger_type == "ad_hoc"
    assert deployment.branch == "main"
    assert deployment.commit_hash == "mock-github-sha"
    assert deployment.commit_message == "chore(deps-dev): update eslint packages"
    assert deployment.is_skipped is False
    assert deployment.skip_reason is None
    assert deployment.is_building is False
    assert deployment.status == "success"


def test_captured_list_every_item() -> None:
    deployments = [Deployment.from_api(item) for item in CAPTURED]

    assert len(deployments) == 9
    assert [deployment.environment for deployment in deployments].count("production") == 2
    created = [deployment.created_on for deployment in deployments]
    assert all(moment is not None and moment.tzinfo is UTC for moment in created)
    assert created == sorted(created, key=lambda moment: moment or datetime.min, reverse=True)
    assert all(deployment.status == "success" for deployment in deployments)
    assert [len(deployment.aliases) for deployment in deployments] == [1, 1, 0, 0, 1, 0, 1, 0, 0]
    assert deployments[1].branch == "undefined"


def test_idle_variant_is_building() -> None:
    deployment = Deployment.from_api(IDLE_VARIANT[0])

    assert deployment.latest_stage is not None
    assert deployment.latest_stage.name == "queued"
    assert deployment.latest_stage.status == "active"
    assert deployment.is_building is True
    assert deployment.status == "queued"
    assert Deployment.from_api(IDLE_VARIANT[1]).is_building is False


def test_walshydev_preview_deployment() -> None:
    deployment = Deployment.from_api(
        load_fixture("walshydev_cf-pages-await_captured_preview_deployment.json")
    )

    assert deployment.environment == "preview"
    assert deployment.aliases == ("https://branch.test-dcz.pages.dev",)
    assert deployment.trigger_type == "github:push"
    assert deployment.branch == "branch"
    assert deployment.commit_hash == "6792f396eadca08926a7c810b7b77fa3815db1f4"
    assert len(deployment.stages) == 1
    assert deployment.status == "success"
    assert deployment.created_on == datetime(2021, 10, 25, 12, 21, 21, 538963, tzinfo=UTC)


def test_sdk_deployment_without_is_skipped() -> None:
    deployment = Deployment.from_api(load_fixture("cloudflare-go_get_deployment.json")["result"])

    assert deployment.is_skipped is False
    assert deployment.aliases == ()
    assert deployment.created_on == datetime(2021, 1, 1, tzinfo=UTC)
    assert deployment.status == "success"


def test_docs_deployment_skipped() -> None:
    item = load_fixture("stainless_docs_list_deployments_example.json")["result"][0]

    deployment = Deployment.from_api(item)

    assert deployment.is_skipped is True
    assert deployment.skip_reason == "commit_message"
    assert deployment.status == "skipped"
    assert deployment.is_building is False


def test_project_with_deployments() -> None:
    project = Project.from_api(load_fixture("cloudflare-go_get_project.json")["result"])

    assert project.id == "5a321fc7-3162-7d36-adce-1213996a7"
    assert project.name == "Test Pages Project"
    assert project.subdomain == "test.pages.dev"
    assert project.domains == ("testdomain.com", "testdomain.org")
    assert project.production_branch == "main"
    assert project.created_on == datetime(2021, 1, 1, tzinfo=UTC)
    assert project.source_type == "github"
    assert project.canonical_deployment is not None
    assert project.canonical_deployment.id == "c35216d1-ebac-1a3a-d56c-ad74e54e5"
    assert project.latest_deployment is not None
    assert project.latest_deployment.aliases == ("https://branchname.pages-test.pages.dev",)


def test_project_without_deployments() -> None:
    project = Project.from_api(load_fixture("andykenward_get_project.json")["result"])

    assert project.name == "NextJS Blog"
    assert project.canonical_deployment is None
    assert project.latest_deployment is None
    assert project.source_type is None


def test_project_docs_example() -> None:
    project = Project.from_api(load_fixture("stainless_docs_get_project_example.json")["result"])

    assert project.name == "this-is-my-project-01"
    assert project.canonical_deployment is not None
    assert project.canonical_deployment.status == "skipped"


def test_project_direct_upload() -> None:
    data = copy.deepcopy(load_fixture("cloudflare-go_get_project.json")["result"])
    del data["source"]

    assert Project.from_api(data).source_type is None


@pytest.mark.parametrize("value", [None, {}, {"id": ""}, {"id": None}, "x", []])
def test_project_deployment_absent(value: Any) -> None:
    project = Project.from_api({"name": "docs", "canonical_deployment": value, "latest_deployment": value})

    assert project.canonical_deployment is None
    assert project.latest_deployment is None


@pytest.mark.parametrize("name", [None, "", 17, ["docs"]])
def test_project_without_name(name: Any) -> None:
    with pytest.raises(ValueError, match="project object has no name"):
        Project.from_api({"id": "x", "name": name})


def test_build_logs_sdk() -> None:
    logs = BuildLogs.from_api(load_fixture("cloudflare-go_deployment_logs.json")["result"])

    assert logs.total == 6
    assert len(logs.lines) == 7
    assert logs.lines[2] == LogLine(
        ts=datetime(2021, 1, 1, tzinfo=UTC), line="Executing user command: bash test.sh"
    )


def test_build_logs_docs_example() -> None:
    logs = BuildLogs.from_api(load_fixture("openapi_example_deployment_logs_result.json"))

    assert logs.total == 30
    assert len(logs.lines) == 30
    # Seven fractional digits: more precision than datetime keeps, so the last digit is dropped.
    assert logs.lines[0].ts == datetime(2021, 4, 20, 19, 35, 29, 74981, tzinfo=UTC)
    assert logs.lines[3].line == ""


@pytest.mark.parametrize(
    ("data", "total", "lines"),
    [
        ({}, None, ()),
        ({"total": None, "data": None}, None, ()),
        ({"total": "6", "data": "text"}, None, ()),
        ({"total": 2, "data": 17}, 2, ()),
        (
            {"data": [{"ts": "garbage"}, "text", {"line": 5, "ts": None}]},
            None,
            (LogLine(None, ""), LogLine(None, "5")),
        ),
    ],
    ids=["empty", "nulls", "wrong-types", "data-number", "odd-items"],
)
def test_build_logs_lenient(data: dict[str, Any], total: int | None, lines: tuple[LogLine, ...]) -> None:
    logs = BuildLogs.from_api(data)

    assert logs.total == total
    assert logs.lines == lines


# Leniency.
def test_deployment_only_id() -> None:
    deployment = Deployment.from_api({"id": "b7185c7a-3714-4e76-ab86-876a0646f0b1"})

    assert deployment.short_id == "b7185c7a"
    assert deployment.project_name is None
    assert deployment.environment is None
    assert deployment.url is None
    assert deployment.created_on is None
    assert deployment.modified_on is None
    assert deployment.latest_stage is None
    assert deployment.stages == ()
    assert deployment.aliases == ()
    assert deployment.trigger_type is None
    assert deployment.branch is None
    assert deployment.commit_hash is None
    assert deployment.commit_message is None
    assert deployment.is_skipped is False
    assert deployment.skip_reason is None
    assert deployment.status == "unknown"
    assert deployment.is_building is False
    assert deployment.age_days(datetime.now(UTC)) is None


def test_deployment_all_null() -> None:
    data: dict[str, Any] = dict.fromkeys(CAPTURED[0])
    data["id"] = "b7185c7a-3714-4e76-ab86-876a0646f0b1"

    deployment = Deployment.from_api(data)

    assert deployment.short_id == "b7185c7a"
    assert deployment.aliases == ()
    assert deployment.stages == ()
    assert deployment.latest_stage is None
    assert deployment.status == "unknown"


@pytest.mark.parametrize(
    ("field", "value"),
    [
        ("stages", 5),
        ("stages", "queued"),
        ("stages", {"name": "queued"}),
        ("stages", [None, 3, {"name": "queued"}, {"status": "idle"}]),
        ("aliases", "https://main.docs.pages.dev"),
        ("aliases", [None, 3]),
        ("latest_stage", "deploy"),
        ("latest_stage", {"name": "deploy"}),
        ("deployment_trigger", "github:push"),
        ("deployment_trigger", {"type": 3, "metadata": "main"}),
        ("created_on", 1686940879),
        ("created_on", "yesterday"),
        ("short_id", 206),
        ("is_skipped", "true"),
        ("environment", ["production"]),
    ],
)
def test_deployment_wrong_types(field: str, value: Any) -> None:
    data = copy.deepcopy(CAPTURED[0])
    data[field] = value

    deployment = Deployment.from_api(data)

    assert deployment.id == CAPTURED[0]["id"]


def test_deployment_wrong_types_results() -> None:
    data = copy.deepcopy(CAPTURED[0])
    data.update(
        stages=[None, {"name": "queued", "status": "success"}, {"status": "idle"}],
        aliases=["https://a.docs.pages.dev", None],
        deployment_trigger={"type": 3, "metadata": "main"},
        created_on="yesterday",
        short_id=206,
        is_skipped="true",
    )

    deployment = Deployment.from_api(data)

    assert deployment.stages == (Stage(name="queued", status="success"),)
    assert deployment.aliases == ("https://a.docs.pages.dev",)
    assert deployment.trigger_type is None
    assert deployment.branch is None
    assert deployment.created_on is None
    assert deployment.short_id == "206e215c"
    assert deployment.is_skipped is False


def test_deployment_unknown_fields_ignored() -> None:
    data = copy.deepcopy(CAPTURED[0])
    data.update(uses_functions=True, future_field={"nested": [1, 2]}, build_image_major_version=3)

    assert Deployment.from_api(data) == Deployment.from_api(CAPTURED[0])


@pytest.mark.parametrize("deployment_id", [None, "", 17, ["x"]])
def test_deployment_without_id(deployment_id: Any) -> None:
    with pytest.raises(ValueError, match="deployment object has no id"):
        Deployment.from_api({"id": deployment_id, "short_id": "0012e50b"})


# Timestamps.
@pytest.mark.parametrize(
    ("text", "expected"),
    [
        ("2023-06-16T18:41:19.07168Z", datetime(2023, 6, 16, 18, 41, 19, 71680, tzinfo=UTC)),
        ("2021-01-01T00:00:00Z", datetime(2021, 1, 1, tzinfo=UTC)),
        ("2021-04-20T19:35:29.0749819Z", datetime(2021, 4, 20, 19, 35, 29, 74981, tzinfo=UTC)),
        ("2021-01-01T02:00:00+02:00", datetime(2021, 1, 1, tzinfo=UTC)),
        ("2021-01-01T00:00:00", datetime(2021, 1, 1, tzinfo=UTC)),
        ("2021-01-01", datetime(2021, 1, 1, tzinfo=UTC)),
    ],
)
def test_parse_timestamp(text: str, expected: datetime) -> None:
    parsed = parse_timestamp(text)

    assert parsed == expected
    assert parsed is not None
    assert parsed.tzinfo is UTC


@pytest.mark.parametrize("value", [None, "", "yesterday", "2021-13-01T00:00:00Z", 1686940879, ["2021-01-01"]])
def test_parse_timestamp_unreadable(value: Any) -> None:
    assert parse_timestamp(value) is None


def test_stage_timestamps() -> None:
    stage = Stage.from_api(
        {"name": "build", "status": "active", "started_on": "2021-01-01T00:00:00Z", "ended_on": None}
    )

    assert stage == Stage(name="build", status="active", started_on=datetime(2021, 1, 1, tzinfo=UTC))


@pytest.mark.parametrize(
    "data", [None, "deploy", {}, {"name": "deploy"}, {"status": "idle"}, {"name": 1, "status": 2}]
)
def test_stage_incomplete(data: Any) -> None:
    assert Stage.from_api(data) is None


def test_age_days() -> None:
    deployment = Deployment.from_api(CAPTURED[0])
    assert deployment.created_on is not None

    assert deployment.age_days(deployment.created_on + timedelta(days=7, hours=12)) == 7.5
    assert deployment.age_days(deployment.created_on) == 0.0
    assert deployment.age_days(deployment.created_on - timedelta(days=1)) == -1.0


# Build status for every stage and status combination.
BEFORE_DEPLOY = [name for name in STAGE_ORDER if name != "deploy"]


@pytest.mark.parametrize("name", STAGE_ORDER)
def test_status_active(name: str) -> None:
    deployment = deployment_with_stage(name, "active")

    assert deployment.is_building is True
    assert deployment.status == ("queued" if name == "queued" else "building")


@pytest.mark.parametrize("name", BEFORE_DEPLOY)
def test_status_idle_before_deploy(name: str) -> None:
    deployment = deployment_with_stage(name, "idle")

    assert deployment.is_building is True
    assert deployment.status == ("queued" if name == "queued" else "building")


def test_status_idle_on_deploy() -> None:
    deployment = deployment_with_stage("deploy", "idle")

    assert deployment.is_building is False
    assert deployment.status == "unknown"


@pytest.mark.parametrize("name", BEFORE_DEPLOY)
def test_status_success_before_deploy(name: str) -> None:
    # The stage finished but the next one has not started: the build is still in progress.
    deployment = deployment_with_stage(name, "success")

    assert deployment.is_building is True
    assert deployment.status == "building"


def test_status_success_on_deploy() -> None:
    deployment = deployment_with_stage("deploy", "success")

    assert deployment.is_building is False
    assert deployment.status == "success"


@pytest.mark.parametrize("status", ["failure", "canceled", "skipped"])
@pytest.mark.parametrize("name", STAGE_ORDER)
def test_status_finished(name: str, status: str) -> None:
    deployment = deployment_with_stage(name, status)

    assert deployment.is_building is False
    assert deployment.status == status


@pytest.mark.parametrize("status", ["success", "idle", "active", "failure", "canceled", "skipped"])
@pytest.mark.parametrize("name", STAGE_ORDER)
def test_status_is_skipped_wins(name: str, status: str) -> None:
    deployment = deployment_with_stage(name, status, is_skipped=True, skip_reason="commit_message")

    assert deployment.is_building is False
    assert deployment.status == "skipped"


@pytest.mark.parametrize(("name", "status"), [("deploy", "paused"), ("deploy", ""), ("build", "retrying")])
def test_status_unknown_word(name: str, status: str) -> None:
    deployment = deployment_with_stage(name, status)

    assert deployment.status == "unknown"


def test_status_unknown_stage_name_active() -> None:
    deployment = deployment_with_stage("deploy_functions", "active")

    assert deployment.is_building is True
    assert deployment.status == "building"


def test_status_without_latest_stage() -> None:
    deployment = deployment_with_stage(None, None)

    assert deployment.is_building is False
    assert deployment.status == "unknown"


# DeploymentPage.
@pytest.mark.parametrize(
    ("page", "count", "total_pages", "has_next"),
    [
        (1, 25, 2, True),
        (2, 1, 2, False),
        (1, 25, None, True),
        (1, 24, None, False),
        (1, 0, None, False),
        (1, 0, 0, False),
        (3, 25, 3, False),
    ],
)
def test_page_has_next(page: int, count: int, total_pages: int | None, has_next: bool) -> None:
    deployment = Deployment.from_api(CAPTURED[0])
    listing = DeploymentPage(
        deployments=(deployment,) * count, page=page, per_page=25, total_count=None, total_pages=total_pages
    )

    assert listing.has_next is has_next
