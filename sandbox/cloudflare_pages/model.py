"""Records the stand-in keeps for projects and deployments, and how a deployment's stages follow from time.

A deployment is stored once, with its creation time, the duration of each build stage and the status it ends
in. Its `stages`, `latest_stage` and `modified_on` are computed on every read from those facts and the
current time, so a build started through the API moves through its stages as the clock advances, without any
background thread.
"""

from __future__ import annotations

import re
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta
from typing import Final, Literal

STAGE_NAMES: Final = ("queued", "initialize", "clone_repo", "build", "deploy")
DEPLOY_STAGE: Final = len(STAGE_NAMES) - 1

Environment = Literal["production", "preview"]
# The status a deployment ends in at its `stage`. `active` and `idle` are frozen in-progress states, kept
# for deployments added by tests and seeds; builds started through the API move on with the clock.
DeploymentStatus = Literal["success", "failure", "active", "idle", "canceled", "skipped"]
FINAL_STATUSES: Final = frozenset({"success", "failure", "canceled", "skipped"})
DEPLOYMENT_STATUSES: Final = frozenset({*FINAL_STATUSES, "active", "idle"})

# Branch aliases: Cloudflare lower-cases the branch name and turns every other character into `-`.
# UNVERIFIED: the 28-character limit and the trimming of `-` at both ends are assumptions.
SLUG_MAX_LENGTH: Final = 28
_NOT_SLUG_CHARACTER: Final = re.compile(r"[^a-z0-9]")


def format_timestamp(moment: datetime) -> str:
    """Format an aware datetime as the API does: RFC 3339 in UTC with `Z` and at most six fraction digits.

    Like the captured responses (`2023-06-16T18:41:19.07168Z`), trailing zeros of the fraction are dropped
    and a whole second has no fraction at all.
    """
    if moment.utcoffset() is None:
        raise ValueError(f"timestamp {moment.isoformat()} has no time zone; pass datetimes with tzinfo=UTC")
    moment = moment.astimezone(UTC)
    text = moment.strftime("%Y-%m-%dT%H:%M:%S")
    if moment.microsecond:
        text += "." + f"{moment.microsecond:06d}".rstrip("0")
    return text + "Z"


def stage_index(name: str) -> int:
    """Return the position of a stage name in STAGE_NAMES, or raise ValueError naming the valid ones."""
    try:
        return STAGE_NAMES.index(name)
    except ValueError as error:
        raise ValueError(f"unknown stage {name!r}; expected one of {', '.join(STAGE_NAMES)}") from error


def branch_slug(branch: str) -> str:
    """Return the host label Cloudflare derives from a branch name for its alias, e.g. `feature-login`."""
    return _NOT_SLUG_CHARACTER.sub("-", branch.lower())[:SLUG_MAX_LENGTH].strip("-")


@dataclass(frozen=True, slots=True)
class StageView:
    """One entry of a deployment's `stages` list at a point in time."""

    name: str
    status: str
    started_on: datetime | None
    ended_on: datetime | None


@dataclass(frozen=True, slots=True)
class DeploymentState:
    """A deployment's stages at one moment.

    `finished_at` is None while the deployment is queued or building. `succeeded` is true once it is live
    or ready to be served (its deploy stage succeeded).
    """

    stages: tuple[StageView, ...]
    latest: StageView
    modified_on: datetime
    finished_at: datetime | None
    succeeded: bool


@dataclass(slots=True, eq=False)
class DeploymentRecord:
    """A stored deployment.

    `durations` contains the seconds each of the five stages takes. `status` is what `stage` (an index into
    STAGE_NAMES) ends in; the stages before it succeed and the ones after it stay idle. When `progressing`
    is true the stages run one after another from `created_on`, so the deployment is queued or building
    until the clock passes the end of `stage`; otherwise it is shown in its final state from the start.
    """

    id: str
    project_name: str
    environment: Environment
    branch: str
    commit_hash: str
    commit_message: str
    commit_dirty: bool
    trigger_type: str
    created_on: datetime
    durations: tuple[float, float, float, float, float]
    status: DeploymentStatus
    stage: int
    progressing: bool
    direct_upload: bool
    sequence: int
    is_skipped: bool = False
    skip_reason: str | None = None
    deleted: bool = False

    @property
    def short_id(self) -> str:
        return self.id[:8]

    def stage_start(self, index: int) -> datetime:
        return self.created_on + timedelta(seconds=sum(self.durations[:index]))

    def stage_end(self, index: int) -> datetime:
        return self.created_on + timedelta(seconds=sum(self.durations[: index + 1]))

    @property
    def completes_at(self) -> datetime | None:
        """When the final status is reached; None for the frozen in-progress states."""
        if self.status not in FINAL_STATUSES:
            return None
        return self.stage_end(self.stage)

    def is_finished(self, now: datetime) -> bool:
        """True once the deployment shows its final status (success, failure, canceled or skipped)."""
        completes_at = self.completes_at
        if completes_at is None:
            return False
        return not self.progressing or now >= completes_at

    def succeeded(self, now: datetime) -> bool:
        """True once the deploy stage has succeeded; cheaper than `state_at(now).succeeded`."""
        return self.status == "success" and self.is_finished(now)

    def state_at(self, now: datetime) -> DeploymentState:
        """Compute the stages as the API shows them at `now`."""
        if self.progressing:
            for index in range(self.stage + 1):
                if now < self.stage_end(index):
                    return self._in_progress(index, "active")
        return self._final()

    def _finished_stage(self, index: int, status: str) -> StageView:
        return StageView(STAGE_NAMES[index], status, self.stage_start(index), self.stage_end(index))

    def _in_progress(self, index: int, status: str) -> DeploymentState:
        stages: list[StageView] = []
        for position, name in enumerate(STAGE_NAMES):
            if position < index:
                stages.append(self._finished_stage(position, "success"))
            elif position == index and status == "active":
                stages.append(StageView(name, "active", self.stage_start(position), None))
            else:
                stages.append(StageView(name, "idle", None, None))
        latest = stages[index]
        modified = self.stage_end(index - 1) if index > 0 else self.created_on
        return DeploymentState(tuple(stages), latest, modified, None, succeeded=False)

    def _final(self) -> DeploymentState:
        if self.status in {"active", "idle"}:
            return self._in_progress(self.stage, self.status)
        if self.status == "success" and self.direct_upload:
            return self._direct_upload_success()

        stages: list[StageView] = []
        for position, name in enumerate(STAGE_NAMES):
            if position < self.stage:
                stages.append(self._finished_stage(position, "success"))
            elif position == self.stage:
                stages.append(self._finished_stage(position, self.status))
            else:
                stages.append(StageView(name, "idle", None, None))
        finished = self.stage_end(self.stage)
        return DeploymentState(
            tuple(stages), stages[self.stage], finished, finished, succeeded=self.status == "success"
        )

    def _direct_upload_success(self) -> DeploymentState:
        # A finished Direct Upload, as captured from the real API: `queued` stays active with no end time,
        # the build stages stay idle, and `deploy` succeeds with only an end time.
        finished = self.stage_end(DEPLOY_STAGE)
        stages = (
            StageView("queued", "active", self.created_on, None),
            StageView("initialize", "idle", None, None),
            StageView("clone_repo", "idle", None, None),
            StageView("build", "idle", None, None),
            StageView("deploy", "success", None, finished),
        )
        return DeploymentState(stages, stages[DEPLOY_STAGE], finished, finished, succeeded=True)


@dataclass(slots=True, eq=False)
class ProjectRecord:
    """A stored project with its deployments.

    `deployments` is kept sorted oldest first by (`created_on`, `sequence`) and contains no deleted
    deployment. `live_id` is the live production deployment (the API's `canonical_deployment`) and
    `live_since` the moment it went live; a production build that succeeds later replaces it.
    `pending` contains builds started through the API that have not reached their final status yet, and
    `branch_heads` the newest deployment of each branch, whose commit new builds of the branch use.
    """

    id: str
    name: str
    subdomain: str
    domains: tuple[str, ...]
    production_branch: str
    source_type: str | None
    repo_owner: str
    repo_name: str
    created_on: datetime
    deployments: list[DeploymentRecord] = field(default_factory=list)
    by_id: dict[str, DeploymentRecord] = field(default_factory=dict)
    deleted_ids: list[str] = field(default_factory=list)
    live_id: str | None = None
    live_since: datetime | None = None
    pending: list[DeploymentRecord] = field(default_factory=list)
    branch_heads: dict[str, DeploymentRecord] = field(default_factory=dict)
    # Incremented on every change, so results that depend only on the stored data can be cached.
    revision: int = 0
    alias_cache: tuple[int, dict[str, list[str]]] | None = None

    @property
    def direct_upload(self) -> bool:
        """True for a Direct Upload project: no Git source, deployments are uploaded by wrangler."""
        return self.source_type is None
