"""Reading the optional input keys of the scheduled functions' events.

The build trigger and the pruner accept any EventBridge or EventBridge Scheduler event. EventBridge
Scheduler delivers the schedule's `Input` as the whole event, so the optional keys (`project`, `branch`,
`dry_run`) and the tick fields (`scheduled_time`, `execution_id`) sit at the top level. A classic
EventBridge scheduled event carries its tick as `time`.
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

from pages_ops.config import BRANCH_PATTERN, PROJECT_NAME_PATTERN, Settings, parse_boolean
from pages_ops.errors import ConfigError, InvalidEventError


def as_mapping(event: object) -> Mapping[str, Any]:
    """Return the event as a mapping. None (a manual test invocation) counts as an empty event."""
    if event is None:
        return {}
    if not isinstance(event, Mapping):
        raise InvalidEventError(f"event must be a JSON object, got a JSON {type(event).__name__}")
    return event


def selected_projects(event: Mapping[str, Any], settings: Settings) -> tuple[str, ...]:
    """Return the event's `project` when present, else every project in PAGES_PROJECTS.

    A project outside PAGES_PROJECTS is rejected, so an event can never reach a project the stack was not
    given.
    """
    project = event.get("project")
    if project is None or project == "":
        return settings.projects
    if not isinstance(project, str) or not PROJECT_NAME_PATTERN.fullmatch(project):
        raise InvalidEventError(f"event key 'project' must be a Pages project name, got {project!r}")
    if not settings.manages(project):
        raise InvalidEventError(
            f"event names project {project!r}, which is not in PAGES_PROJECTS "
            f"({', '.join(settings.projects)})"
        )
    return (project,)


def optional_branch(event: Mapping[str, Any]) -> str | None:
    """Return the event's `branch`, validated like TRIGGER_BRANCH, or None when it is absent or empty."""
    branch = event.get("branch")
    if branch is None or branch == "":
        return None
    if not isinstance(branch, str) or not BRANCH_PATTERN.fullmatch(branch):
        raise InvalidEventError(
            f"event key 'branch' must be a git branch name without control characters, got {branch!r}"
        )
    return branch


def optional_flag(event: Mapping[str, Any], key: str, default: bool) -> bool:
    """Read a boolean input key given as a JSON boolean or as true/false/1/0/yes/no text."""
    value = event.get(key)
    if value is None:
        return default
    if isinstance(value, bool):
        return value
    if isinstance(value, str):
        try:
            return parse_boolean(value, variable=f"event key {key!r}")
        except ConfigError as exc:
            raise InvalidEventError(str(exc)) from exc
    raise InvalidEventError(f"event key {key!r} must be a boolean, got {value!r}")


def schedule_tick(event: Mapping[str, Any]) -> str | None:
    """Return the identity of the schedule tick that produced the event, or None for a manual invocation.

    EventBridge Scheduler keeps `scheduled_time` across its own retries of one tick, and a classic
    EventBridge event keeps its `time` (and `id`) across Lambda's retries of the same event.
    """
    for key in ("scheduled_time", "time"):
        value = event.get(key)
        if value is None or value == "":
            continue
        if not isinstance(value, str) or not value.strip():
            # Treating it as a manual invocation would silently turn off deduplication for this tick.
            raise InvalidEventError(f"event key {key!r} must be a timestamp string, got {value!r}")
        return value.strip()
    return None
