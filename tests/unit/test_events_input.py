"""Unit tests of pages_ops.events: the optional input keys of the scheduled functions' events."""

from __future__ import annotations

from typing import Any

import pytest

from pages_ops.config import Settings
from pages_ops.errors import ConfigError, InvalidEventError, PagesOpsError
from pages_ops.events import as_mapping, optional_branch, optional_flag, schedule_tick, selected_projects
from tests.conftest import FAKE_ACCOUNT_ID, load_event

SETTINGS = Settings(account_id=FAKE_ACCOUNT_ID, secret_id="cf-pages-ops/test", projects=("docs", "blog"))


# as_mapping.
def test_as_mapping_object() -> None:
    event = {"project": "docs"}

    assert as_mapping(event) is event


def test_as_mapping_none() -> None:
    assert as_mapping(None) == {}


@pytest.mark.parametrize(("event", "kind"), [([], "list"), ("docs", "str"), (5, "int"), (True, "bool")])
def test_as_mapping_rejected(event: Any, kind: str) -> None:
    with pytest.raises(InvalidEventError) as caught:
        as_mapping(event)

    assert str(caught.value) == f"event must be a JSON object, got a JSON {kind}"


def test_invalid_event_error_types() -> None:
    assert issubclass(InvalidEventError, PagesOpsError)
    assert issubclass(InvalidEventError, ValueError)


# selected_projects.
@pytest.mark.parametrize("event", [{}, {"project": None}, {"project": ""}, {"detail": {"project": "blog"}}])
def test_projects_default_all(event: dict[str, Any]) -> None:
    assert selected_projects(event, SETTINGS) == ("docs", "blog")


def test_projects_one() -> None:
    assert selected_projects({"project": "blog"}, SETTINGS) == ("blog",)


def test_projects_unmanaged() -> None:
    with pytest.raises(InvalidEventError) as caught:
        selected_projects({"project": "internal-tools"}, SETTINGS)

    assert str(caught.value) == (
        "event names project 'internal-tools', which is not in PAGES_PROJECTS (docs, blog)"
    )


@pytest.mark.parametrize(
    "project", ["../docs", "Docs", " docs", "docs ", "a/b", "x?y", "dócs", 5, ["docs"], True]
)
def test_projects_invalid(project: Any) -> None:
    with pytest.raises(InvalidEventError) as caught:
        selected_projects({"project": project}, SETTINGS)

    assert str(caught.value) == f"event key 'project' must be a Pages project name, got {project!r}"


# optional_branch.
@pytest.mark.parametrize("event", [{}, {"branch": None}, {"branch": ""}])
def test_branch_absent(event: dict[str, Any]) -> None:
    assert optional_branch(event) is None


@pytest.mark.parametrize("branch", ["main", "release/2024-06", "feature/ünïcode"])
def test_branch(branch: str) -> None:
    assert optional_branch({"branch": branch}) == branch


@pytest.mark.parametrize("branch", [" main", "main ", "ma\nin", "main\x00", "a" * 256, 5, ["main"], True])
def test_branch_invalid(branch: Any) -> None:
    with pytest.raises(InvalidEventError) as caught:
        optional_branch({"branch": branch})

    assert str(caught.value) == (
        f"event key 'branch' must be a git branch name without control characters, got {branch!r}"
    )


# optional_flag.
@pytest.mark.parametrize("default", [True, False])
def test_flag_absent(default: bool) -> None:
    assert optional_flag({}, "dry_run", default) is default
    assert optional_flag({"dry_run": None}, "dry_run", default) is default


@pytest.mark.parametrize(
    ("value", "expected"),
    [
        (True, True),
        (False, False),
        ("true", True),
        ("YES", True),
        ("1", True),
        ("False", False),
        ("no", False),
    ],
)
def test_flag(value: Any, expected: bool) -> None:
    assert optional_flag({"dry_run": value}, "dry_run", not expected) is expected


@pytest.mark.parametrize("value", ["maybe", "", "on"])
def test_flag_text_invalid(value: str) -> None:
    with pytest.raises(InvalidEventError) as caught:
        optional_flag({"dry_run": value}, "dry_run", False)

    assert str(caught.value) == (
        f"event key 'dry_run' must be one of true, false, 1, 0, yes, no (any case), got {value!r}"
    )
    assert isinstance(caught.value.__cause__, ConfigError)


@pytest.mark.parametrize("value", [1, 0, 1.0, ["true"], {"value": True}])
def test_flag_wrong_type(value: Any) -> None:
    with pytest.raises(InvalidEventError) as caught:
        optional_flag({"dry_run": value}, "dry_run", False)

    assert str(caught.value) == f"event key 'dry_run' must be a boolean, got {value!r}"


# schedule_tick.
@pytest.mark.parametrize(
    ("event", "tick"),
    [
        ({"scheduled_time": "2026-03-02T06:00:00Z"}, "2026-03-02T06:00:00Z"),
        ({"time": "2026-03-02T06:00:00Z"}, "2026-03-02T06:00:00Z"),
        ({"scheduled_time": "2026-03-02T06:00:00Z", "time": "2026-03-02T06:00:07Z"}, "2026-03-02T06:00:00Z"),
        ({"scheduled_time": " 2026-03-02T06:00:00Z "}, "2026-03-02T06:00:00Z"),
        ({"scheduled_time": "", "time": "2026-03-02T06:00:07Z"}, "2026-03-02T06:00:07Z"),
        ({}, None),
        ({"scheduled_time": None, "time": None}, None),
    ],
)
def test_schedule_tick(event: dict[str, Any], tick: str | None) -> None:
    assert schedule_tick(event) == tick


@pytest.mark.parametrize(
    ("event", "key"),
    [
        ({"scheduled_time": 1772431200}, "scheduled_time"),
        ({"scheduled_time": "   "}, "scheduled_time"),
        ({"time": ["2026-03-02T06:00:00Z"]}, "time"),
    ],
)
def test_schedule_tick_rejects_non_timestamp(event: dict[str, Any], key: str) -> None:
    with pytest.raises(InvalidEventError) as caught:
        schedule_tick(event)

    assert str(caught.value).startswith(f"event key {key!r} must be a timestamp string")


# The sample events that AWS delivers, from events/.
def test_scheduler_event_trigger() -> None:
    event = as_mapping(load_event("trigger_build/scheduler.json"))

    assert selected_projects(event, SETTINGS) == ("docs", "blog")
    assert optional_branch(event) is None
    assert schedule_tick(event) == "2026-03-02T06:00:00Z"


def test_scheduler_event_one_project() -> None:
    event = as_mapping(load_event("trigger_build/scheduler_one_project.json"))

    assert selected_projects(event, SETTINGS) == ("docs",)
    assert optional_branch(event) == "main"
    assert schedule_tick(event) == "2026-03-02T06:00:00Z"


@pytest.mark.parametrize("function", ["trigger_build", "prune_deployments"])
def test_classic_scheduled_event(function: str) -> None:
    event = as_mapping(load_event(f"{function}/scheduled_event.json"))

    assert selected_projects(event, SETTINGS) == ("docs", "blog")
    assert optional_branch(event) is None
    assert optional_flag(event, "dry_run", False) is False
    assert schedule_tick(event) == event["time"]


def test_prune_dry_run_event() -> None:
    event = as_mapping(load_event("prune_deployments/dry_run.json"))

    assert selected_projects(event, SETTINGS) == ("docs",)
    assert optional_flag(event, "dry_run", False) is True
    assert schedule_tick(event) is None


def test_prune_scheduler_event() -> None:
    event = as_mapping(load_event("prune_deployments/scheduler.json"))

    assert optional_flag(event, "dry_run", False) is False
    assert schedule_tick(event) == "2026-03-02T07:00:00Z"
