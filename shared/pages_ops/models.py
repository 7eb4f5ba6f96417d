"""Typed views of the Cloudflare Pages objects the functions use: `Project`, `Deployment`, `Stage`.

Parsing is lenient because the API adds fields over time and leaves many of them null: unknown fields are
ignored, a missing or null field becomes None or an empty tuple, and timestamps become aware UTC datetimes.
Only `id` is required of a deployment and `name` of a project, since nothing can be done without them.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass
from datetime import UTC, datetime
from typing import Any, Final

# The stages of a Git build, in the order Cloudflare runs them.
STAGE_ORDER: Final = ("queued", "initialize", "clone_repo", "build", "deploy")
FINISHED_STATUSES: Final = frozenset({"success", "failure", "canceled", "skipped"})


def parse_timestamp(value: object) -> datetime | None:
    """Parse an RFC 3339 timestamp such as `2023-06-16T18:41:19.07168Z`; None when absent or unreadable."""
    if not isinstance(value, str) or not value:
        return None
    try:
        parsed = datetime.fromisoformat(value)
    except ValueError:
        return None
    return parsed.astimezone(UTC) if parsed.tzinfo is not None else parsed.replace(tzinfo=UTC)


def _text(value: object) -> str | None:
    return value if isinstance(value, str) else None


def _mapping(value: object) -> Mapping[str, Any]:
    return value if isinstance(value, Mapping) else {}


def _items(value: object) -> list[Any]:
    return value if isinstance(value, list) else []


def _strings(value: object) -> tuple[str, ...]:
    return tuple(item for item in _items(value) if isinstance(item, str))


@dataclass(frozen=True, slots=True)
class Stage:
    """One build stage.

    `name` is one of STAGE_ORDER; `status` is success, idle, active, failure, canceled or skipped.
    """

    name: str
    status: str
    started_on: datetime | None = None
    ended_on: datetime | None = None

    @classmethod
    def from_api(cls, data: object) -> Stage | None:
        fields = _mapping(data)
        name = _text(fields.get("name"))
        status = _text(fields.get("status"))
        if name is None or status is None:
            return None
        return cls(
            name=name,
            status=status,
            started_on=parse_timestamp(fields.get("started_on")),
            ended_on=parse_timestamp(fields.get("ended_on")),
        )


@dataclass(frozen=True, slots=True)
class Deployment:
    """A Pages deployment, with the commit that triggered it flattened onto it."""

    id: str
    short_id: str
    project_name: str | None
    environment: str | None
    url: str | None
    created_on: datetime | None
    modified_on: datetime | None
    latest_stage: Stage | None
    stages: tuple[Stage, ...]
    aliases: tuple[str, ...]
    trigger_type: str | None
    branch: str | None
    commit_hash: str | None
    commit_message: str | None
    is_skipped: bool
    skip_reason: str | None

    @classmethod
    def from_api(cls, data: Mapping[str, Any]) -> Deployment:
        deployment_id = data.get("id")
        if not isinstance(deployment_id, str) or not deployment_id:
            raise ValueError("deployment object has no id")
        trigger = _mapping(data.get("deployment_trigger"))
        metadata = _mapping(trigger.get("metadata"))
        stages = tuple(
            stage
            for stage in (Stage.from_api(item) for item in _items(data.get("stages")))
            if stage is not None
        )
        return cls(
            id=deployment_id,
            short_id=_text(data.get("short_id")) or deployment_id[:8],
            project_name=_text(data.get("project_name")),
            environment=_text(data.get("environment")),
            url=_text(data.get("url")),
            created_on=parse_timestamp(data.get("created_on")),
            modified_on=parse_timestamp(data.get("modified_on")),
            latest_stage=Stage.from_api(data.get("latest_stage")),
            stages=stages,
            aliases=_strings(data.get("aliases")),
            trigger_type=_text(trigger.get("type")),
            branch=_text(metadata.get("branch")),
            commit_hash=_text(metadata.get("commit_hash")),
            commit_message=_text(metadata.get("commit_message")),
            is_skipped=data.get("is_skipped") is True,
            skip_reason=_text(data.get("skip_reason")),
        )

    @property
    def is_building(self) -> bool:
        """True while the build is queued or running.

        Cloudflare shows a running build as `latest_stage.status` `active`, or `idle` on a stage before
        `deploy` (a queued build is `queued: active` with the rest idle). A stage before `deploy` that
        ended in `success` also counts: the next stage has not started yet, and nothing is deployed.
        """
        stage = self.latest_stage
        if stage is None or self.is_skipped:
            return False
        if stage.status == "active":
            return True
        return stage.status in ("idle", "success") and stage.name != "deploy"

    @property
    def status(self) -> str:
        """One word for people: success, failure, canceled, skipped, building, queued or unknown."""
        stage = self.latest_stage
        if self.is_skipped:
            return "skipped"
        if stage is None:
            return "unknown"
        if self.is_building:
            # Once the queued stage has succeeded, the build itself has begun.
            waiting = stage.name == "queued" and stage.status != "success"
            return "queued" if waiting else "building"
        if stage.status in FINISHED_STATUSES:
            return stage.status
        return "unknown"

    def age_days(self, now: datetime) -> float | None:
        """Days since `created_on`, or None when the API gave no usable timestamp."""
        if self.created_on is None:
            return None
        return (now - self.created_on).total_seconds() / 86_400


@dataclass(frozen=True, slots=True)
class Project:
    """A Pages project with its live production deployment (`canonical_deployment`) and newest one."""

    id: str | None
    name: str
    subdomain: str | None
    domains: tuple[str, ...]
    production_branch: str | None
    created_on: datetime | None
    source_type: str | None
    canonical_deployment: Deployment | None
    latest_deployment: Deployment | None

    @classmethod
    def from_api(cls, data: Mapping[str, Any]) -> Project:
        name = data.get("name")
        if not isinstance(name, str) or not name:
            raise ValueError("project object has no name")
        return cls(
            id=_text(data.get("id")),
            name=name,
            subdomain=_text(data.get("subdomain")),
            domains=_strings(data.get("domains")),
            production_branch=_text(data.get("production_branch")),
            created_on=parse_timestamp(data.get("created_on")),
            source_type=_text(_mapping(data.get("source")).get("type")),
            canonical_deployment=_optional_deployment(data.get("canonical_deployment")),
            latest_deployment=_optional_deployment(data.get("latest_deployment")),
        )


def _optional_deployment(data: object) -> Deployment | None:
    if not isinstance(data, Mapping) or not data.get("id"):
        return None
    return Deployment.from_api(data)


@dataclass(frozen=True, slots=True)
class LogLine:
    """One line of a deployment's build log."""

    ts: datetime | None
    line: str


@dataclass(frozen=True, slots=True)
class BuildLogs:
    """A deployment's build log. `total` is what the API reports, which can differ from `len(lines)`."""

    total: int | None
    lines: tuple[LogLine, ...]

    @classmethod
    def from_api(cls, data: Mapping[str, Any]) -> BuildLogs:
        lines = tuple(
            LogLine(ts=parse_timestamp(item.get("ts")), line=str(item.get("line", "")))
            for item in _items(data.get("data"))
            if isinstance(item, Mapping)
        )
        total = data.get("total")
        return cls(total=total if isinstance(total, int) else None, lines=lines)


@dataclass(frozen=True, slots=True)
class DeploymentPage:
    """One page of a deployment listing, for views that show a page at a time."""

    deployments: tuple[Deployment, ...]
    page: int
    per_page: int
    total_count: int | None
    total_pages: int | None

    @property
    def has_next(self) -> bool:
        if self.total_pages is not None:
            return self.page < self.total_pages
        return len(self.deployments) >= self.per_page
