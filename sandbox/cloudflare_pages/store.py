"""Thread-safe data and rules of the stand-in: projects, deployments, credentials and deploy hooks.

Every public method takes one re-entrant lock, so HTTP handler threads and test code can call the store at the
same time. Rule violations raise the `errors.PagesApiError` subclass whose response the real API gives;
wrong arguments from test code raise ValueError.

Time comes from the injectable `clock`. Builds started through the API (`start_build`, deploy hooks, retry)
are stored with their start time, and their stages follow from it as the clock advances, so nothing runs
in the background. A production build that succeeds becomes the live (`canonical_deployment`) one at
the moment it finishes, which the next read applies.
"""

from __future__ import annotations

import bisect
import hmac
import itertools
import logging
import random
import threading
import uuid
from collections.abc import Callable, Iterable, Sequence
from dataclasses import dataclass
from datetime import UTC, datetime
from typing import Any, Final

from sandbox.cloudflare_pages.constants import (
    DEFAULT_STAGE_SECONDS,
    PROJECT_NAME_PATTERN,
    SANDBOX_ACCOUNT_ID,
    SANDBOX_API_KEY,
    SANDBOX_API_TOKEN,
    SANDBOX_EMAIL,
    UUID_PATTERN,
)
from sandbox.cloudflare_pages.errors import (
    AliasedDeploymentError,
    DeploymentInProgressError,
    DeploymentNotFoundError,
    InvalidRollbackTargetError,
    LiveDeploymentError,
    ManifestRequiredError,
    ProjectNotFoundError,
)
from sandbox.cloudflare_pages.history import (
    GITHUB_ORGANISATION,
    HistoryOptions,
    direct_upload_durations,
    generate_records,
)
from sandbox.cloudflare_pages.model import (
    DEPLOY_STAGE,
    DEPLOYMENT_STATUSES,
    FINAL_STATUSES,
    DeploymentRecord,
    DeploymentState,
    DeploymentStatus,
    Environment,
    ProjectRecord,
    branch_slug,
    stage_index,
)
from sandbox.cloudflare_pages.render import deployment_json, logs_json, project_json

logger = logging.getLogger(__name__)

Clock = Callable[[], datetime]
Durations = tuple[float, float, float, float, float]

SOURCE_TYPES: Final = ("github", "gitlab")
# The stage a deployment stops at when the caller names only its status.
_DEFAULT_STAGE: Final[dict[str, str]] = {
    "success": "deploy",
    "failure": "build",
    "canceled": "build",
    "active": "build",
    "idle": "queued",
    "skipped": "queued",
}
_GIT_DURATIONS: Final[Durations] = (4.0, 12.0, 3.0, 65.0, 9.0)
_UPLOAD_DURATIONS: Final[Durations] = (0.2, 0.0, 0.0, 0.0, 1.8)


def _utc_now() -> datetime:
    return datetime.now(UTC)


def _order_key(record: DeploymentRecord) -> tuple[datetime, int]:
    return (record.created_on, record.sequence)


def _require_aware(moment: datetime, label: str) -> datetime:
    if moment.utcoffset() is None:
        raise ValueError(f"{label} {moment.isoformat()} has no time zone; pass one with tzinfo=UTC")
    return moment.astimezone(UTC)


def _random_commit_hash() -> str:
    return uuid.uuid4().hex + uuid.uuid4().hex[:8]


def _check_rate(name: str, value: float) -> None:
    if not 0.0 <= value <= 1.0:
        raise ValueError(f"{name} must be between 0 and 1, got {value}")


class UnknownDeployHookError(LookupError):
    """No deploy hook has the given id."""


@dataclass(frozen=True, slots=True)
class AcceptedCredentials:
    """Credentials the stand-in accepts. An empty string disables that form of authentication."""

    api_token: str
    email: str
    api_key: str


class _ProjectView:
    """One consistent look at a project at `now`: deployment states and aliases, computed once each."""

    def __init__(self, project: ProjectRecord, now: datetime) -> None:
        self.project = project
        self.now = now
        self._states: dict[str, DeploymentState] = {}

    def state(self, record: DeploymentRecord) -> DeploymentState:
        state = self._states.get(record.id)
        if state is None:
            state = record.state_at(self.now)
            self._states[record.id] = state
        return state

    def aliases(self) -> dict[str, list[str]]:
        """Map deployment id to its alias URLs.

        The newest successful deployment of each preview branch carries `https://<branch-slug>.<subdomain>`.
        The live production deployment carries the alias of the production branch; other production
        deployments carry none. UNVERIFIED: what the API shows on production deployments is not
        documented; public cleanup scripts report that the live one is aliased.
        """
        project = self.project
        cached = project.alias_cache
        if cached is not None and cached[0] == project.revision and not project.pending:
            return cached[1]

        aliases: dict[str, list[str]] = {}
        production_slug = branch_slug(project.production_branch)
        if project.live_id is not None and production_slug:
            aliases[project.live_id] = [f"https://{production_slug}.{project.subdomain}"]
        seen: set[str] = set()
        for record in reversed(project.deployments):
            if record.environment != "preview" or record.branch in seen or not record.succeeded(self.now):
                continue
            seen.add(record.branch)
            slug = branch_slug(record.branch)
            if slug:
                aliases[record.id] = [f"https://{slug}.{project.subdomain}"]
        if not project.pending:
            project.alias_cache = (project.revision, aliases)
        return aliases

    def render(self, record: DeploymentRecord) -> dict[str, Any]:
        aliases = self.aliases().get(record.id)
        # A copy, so a caller that changes the returned list cannot change the cached aliases.
        return deployment_json(self.project, record, self.state(record), list(aliases) if aliases else None)

    def render_project(self) -> dict[str, Any]:
        project = self.project
        latest = self.render(project.deployments[-1]) if project.deployments else None
        live = project.by_id.get(project.live_id) if project.live_id is not None else None
        canonical = self.render(live) if live is not None and not live.deleted else None
        return project_json(project, latest=latest, canonical=canonical)


class PagesStore:
    """Projects, deployments and the rules the API applies to them. Safe to use from several threads."""

    def __init__(
        self,
        *,
        clock: Clock | None = None,
        stage_seconds: float = DEFAULT_STAGE_SECONDS,
        account_id: str = SANDBOX_ACCOUNT_ID,
    ) -> None:
        if stage_seconds < 0:
            raise ValueError(f"stage_seconds must be zero or more, got {stage_seconds}")
        self._lock = threading.RLock()
        self._clock: Clock = clock or _utc_now
        self.account_id = account_id
        self.stage_seconds = stage_seconds
        # Builds on branches whose name starts with this prefix fail in their build stage.
        self.fail_branch_prefix = "fail"
        self._failures_left = 0
        self._projects: dict[str, ProjectRecord] = {}
        self._hooks: dict[str, tuple[str, str]] = {}
        self._credentials = AcceptedCredentials(SANDBOX_API_TOKEN, SANDBOX_EMAIL, SANDBOX_API_KEY)
        self._sequence = itertools.count()

    # -- time and configuration ------------------------------------------------------------------------------

    def now(self) -> datetime:
        """Return the current time of the store's clock, in UTC."""
        return _require_aware(self._clock(), "the clock returned")

    def fail_next_builds(self, count: int = 1) -> None:
        """Make the next `count` builds started through the API fail in their build stage."""
        if count < 0:
            raise ValueError(f"count must be zero or more, got {count}")
        with self._lock:
            self._failures_left = count

    def set_credentials(
        self, *, api_token: str | None = None, email: str | None = None, api_key: str | None = None
    ) -> None:
        """Replace the credentials the stand-in accepts, as a rotation would.

        None keeps the current value; an empty string disables that form of authentication.
        """
        with self._lock:
            current = self._credentials
            self._credentials = AcceptedCredentials(
                api_token=current.api_token if api_token is None else api_token,
                email=current.email if email is None else email,
                api_key=current.api_key if api_key is None else api_key,
            )
        logger.info("Sandbox credentials replaced")

    def accepts_token(self, token: str) -> bool:
        with self._lock:
            expected = self._credentials.api_token
        return bool(expected) and hmac.compare_digest(token.encode(), expected.encode())

    def accepts_global_key(self, email: str, key: str) -> bool:
        with self._lock:
            expected = self._credentials
        if not expected.email or not expected.api_key:
            return False
        email_matches = hmac.compare_digest(email.lower().encode(), expected.email.lower().encode())
        return email_matches and hmac.compare_digest(key.encode(), expected.api_key.encode())

    def is_current_api_key(self, key: str) -> bool:
        """True when `key` is the accepted Global API Key, whatever its format."""
        with self._lock:
            expected = self._credentials.api_key
        return bool(expected) and hmac.compare_digest(key.encode(), expected.encode())

    # -- adding data -----------------------------------------------------------------------------------------

    def add_project(
        self,
        name: str,
        *,
        subdomain: str | None = None,
        domains: Iterable[str] = (),
        production_branch: str = "main",
        source_type: str | None = "github",
        created_on: datetime | None = None,
        project_id: str | None = None,
        repo_owner: str = GITHUB_ORGANISATION,
        repo_name: str | None = None,
    ) -> dict[str, Any]:
        """Add a project and return it as the API shows it.

        `source_type=None` makes a Direct Upload project: no Git source, deployments come from uploads.
        """
        if PROJECT_NAME_PATTERN.fullmatch(name) is None:
            raise ValueError(
                f"invalid project name {name!r}: use 1 to 58 lower-case letters, digits and '-', "
                "starting with a letter or digit"
            )
        if source_type is not None and source_type not in SOURCE_TYPES:
            raise ValueError(f"unknown source_type {source_type!r}; use one of {SOURCE_TYPES} or None")
        if not production_branch:
            raise ValueError("production_branch must not be empty")
        with self._lock:
            if name in self._projects:
                raise ValueError(f"project {name!r} already exists in the sandbox store")
            project = ProjectRecord(
                id=project_id or str(uuid.uuid4()),
                name=name,
                subdomain=subdomain or f"{name}.pages.dev",
                domains=tuple(domains),
                production_branch=production_branch,
                source_type=source_type,
                repo_owner=repo_owner,
                repo_name=repo_name or name,
                created_on=_require_aware(created_on or self.now(), "created_on"),
            )
            self._projects[name] = project
            return _ProjectView(project, self.now()).render_project()

    def add_deployment(
        self,
        project: str,
        *,
        environment: Environment | None = None,
        branch: str | None = None,
        commit_hash: str | None = None,
        commit_message: str = "Update site",
        created_on: datetime | None = None,
        status: DeploymentStatus = "success",
        stage: str | None = None,
        trigger_type: str | None = None,
        is_skipped: bool = False,
        skip_reason: str | None = None,
        commit_dirty: bool = False,
        durations: Sequence[float] | None = None,
        deployment_id: str | None = None,
        progressing: bool = False,
    ) -> dict[str, Any]:
        """Add a deployment and return it as the API shows it now.

        `environment` follows from `branch` (the production branch deploys to production) and may be given
        only to state it. `status` is what `stage` ends in (see `_DEFAULT_STAGE` for the stage when none is
        named); `skipped` sets `is_skipped`. With `progressing=True` the deployment moves through its stages
        from `created_on` as the clock advances, like a build started through the API; otherwise it is shown
        in its final state at once. A successful production deployment becomes the live one unless the live
        one went live later (after a rollback, say).
        """
        if status not in DEPLOYMENT_STATUSES:
            raise ValueError(f"unknown status {status!r}; use one of {sorted(DEPLOYMENT_STATUSES)}")
        stage_number = stage_index(stage or _DEFAULT_STAGE[status])
        if status == "success" and stage_number != DEPLOY_STAGE:
            raise ValueError(f"a successful deployment ends at the deploy stage, not {stage!r}")
        if status == "skipped":
            is_skipped = True
            skip_reason = skip_reason or "commit_message"
        elif is_skipped:
            raise ValueError(f"is_skipped=True needs status='skipped', got status={status!r}")
        if progressing and status not in FINAL_STATUSES:
            raise ValueError(f"a progressing deployment needs a final status, got {status!r}")
        if deployment_id is not None and UUID_PATTERN.fullmatch(deployment_id) is None:
            raise ValueError(f"deployment_id {deployment_id!r} is not a lower-case UUID")

        with self._lock:
            record_project = self._project(project)
            branch = branch or record_project.production_branch
            derived: Environment = "production" if branch == record_project.production_branch else "preview"
            if environment is not None and environment != derived:
                raise ValueError(
                    f"branch {branch!r} deploys to {derived}, not {environment}: the production branch of "
                    f"{project!r} is {record_project.production_branch!r}"
                )
            record = DeploymentRecord(
                id=deployment_id or str(uuid.uuid4()),
                project_name=project,
                environment=derived,
                branch=branch,
                commit_hash=commit_hash if commit_hash is not None else _random_commit_hash(),
                commit_message=commit_message,
                commit_dirty=commit_dirty,
                trigger_type=trigger_type or self._default_trigger(record_project),
                created_on=_require_aware(created_on or self.now(), "created_on"),
                durations=self._durations(record_project, durations),
                status=status,
                stage=stage_number,
                progressing=progressing,
                direct_upload=record_project.direct_upload,
                sequence=next(self._sequence),
                is_skipped=is_skipped,
                skip_reason=skip_reason,
            )
            self._insert(record_project, [record])
            return _ProjectView(record_project, self.now()).render(record)

    def generate_history(
        self,
        project: str,
        *,
        count: int,
        start: datetime,
        end: datetime,
        production_share: float = 0.3,
        branches: Sequence[str] | None = None,
        failure_rate: float = 0.05,
        skip_rate: float = 0.02,
        cancel_rate: float = 0.01,
        rng_seed: int = 0,
    ) -> list[str]:
        """Add `count` finished deployments spread at random over [start, end) and return their ids.

        Preview deployments rotate through `branches` (or generated branch names) a few at a time. The
        result depends only on the arguments, so the same `rng_seed` gives the same ids.
        """
        if count < 0:
            raise ValueError(f"count must be zero or more, got {count}")
        for name, value in (
            ("production_share", production_share),
            ("failure_rate", failure_rate),
            ("skip_rate", skip_rate),
            ("cancel_rate", cancel_rate),
        ):
            _check_rate(name, value)
        if failure_rate + skip_rate + cancel_rate > 1.0:
            raise ValueError("failure_rate + skip_rate + cancel_rate must not exceed 1")
        options = HistoryOptions(
            count=count,
            start=_require_aware(start, "start"),
            end=_require_aware(end, "end"),
            production_share=production_share,
            branches=branches,
            failure_rate=failure_rate,
            skip_rate=skip_rate,
            cancel_rate=cancel_rate,
        )
        with self._lock:
            record_project = self._project(project)
            records = generate_records(
                record_project,
                options,
                random.Random(rng_seed),  # noqa: S311 -- reproducible test data, not security
                lambda: next(self._sequence),
            )
            duplicates = [record.id for record in records if record.id in record_project.by_id]
            if duplicates:
                raise ValueError(
                    f"rng_seed {rng_seed} repeats deployment ids already in {project!r}; use another seed"
                )
            self._insert(record_project, records)
            return [record.id for record in records]

    def create_deploy_hook(self, project: str, branch: str) -> str:
        """Create a deploy hook bound to `branch` of a Git project and return its id."""
        if not branch:
            raise ValueError("a deploy hook needs a branch")
        with self._lock:
            record_project = self._project(project)
            if record_project.direct_upload:
                raise ValueError(
                    f"project {project!r} is a Direct Upload project; deploy hooks need a Git source"
                )
            hook_id = str(uuid.uuid4())
            self._hooks[hook_id] = (project, branch)
            return hook_id

    # -- operations of the API -------------------------------------------------------------------------------

    def start_build(
        self,
        project: str,
        *,
        branch: str | None = None,
        trigger_type: str | None = None,
        upload: bool = False,
        commit_hash: str | None = None,
        commit_message: str | None = None,
        commit_dirty: bool = False,
    ) -> dict[str, Any]:
        """Start a deployment as the create endpoint does, and return it in its queued state.

        A Git project builds the newest known commit of `branch` (the production branch when None), unless
        `commit_hash` and `commit_message` pin another one, as a retry does. A Direct Upload project needs
        `upload=True` (the request carried a manifest) and takes the commit details from the request. The
        build fails in its build stage when the branch starts with `fail_branch_prefix`, or when
        `fail_next_builds` asked for failures.
        """
        with self._lock:
            record_project = self._project(project)
            if record_project.direct_upload and not upload:
                raise ManifestRequiredError
            now = self.now()
            branch = branch or record_project.production_branch
            head = record_project.branch_heads.get(branch)
            if record_project.direct_upload or commit_hash is not None:
                head_hash, head_message = commit_hash or "", commit_message or ""
            elif head is not None:
                head_hash, head_message = head.commit_hash, head.commit_message
            else:
                # A branch the store has not seen yet: its newest commit is made up here.
                head_hash, head_message = _random_commit_hash(), f"Update {branch}"
            fails = bool(self.fail_branch_prefix) and branch.startswith(self.fail_branch_prefix)
            if self._failures_left > 0:
                self._failures_left -= 1
                fails = True
            durations = (
                direct_upload_durations(random.Random())  # noqa: S311 -- build times, not security
                if record_project.direct_upload
                else (self.stage_seconds,) * 5
            )
            record = DeploymentRecord(
                id=str(uuid.uuid4()),
                project_name=project,
                environment="production" if branch == record_project.production_branch else "preview",
                branch=branch,
                commit_hash=head_hash,
                commit_message=head_message,
                commit_dirty=commit_dirty,
                trigger_type=trigger_type or self._default_trigger(record_project),
                created_on=now,
                durations=durations,
                status="failure" if fails else "success",
                stage=3 if fails else DEPLOY_STAGE,
                progressing=True,
                direct_upload=record_project.direct_upload,
                sequence=next(self._sequence),
            )
            self._insert(record_project, [record])
            logger.info("Sandbox build %s started for %s on branch %s", record.id, project, branch)
            return _ProjectView(record_project, now).render(record)

    def trigger_deploy_hook(self, hook_id: str) -> dict[str, Any]:
        """Start a build of the hook's project and branch, as a POST to the hook URL does."""
        with self._lock:
            binding = self._hooks.get(hook_id)
            if binding is None:
                raise UnknownDeployHookError(hook_id)
            project, branch = binding
            return self.start_build(project, branch=branch, trigger_type="deploy_hook")

    def retry(self, project: str, deployment_id: str) -> dict[str, Any]:
        """Start a new build of the same branch and commit as an existing deployment."""
        with self._lock:
            record_project = self._project(project)
            original = self._deployment(record_project, deployment_id)
            if record_project.direct_upload:
                # Retrying a Direct Upload would need its files again.
                raise ManifestRequiredError
            return self.start_build(
                project,
                branch=original.branch,
                trigger_type=original.trigger_type,
                commit_hash=original.commit_hash,
                commit_message=original.commit_message,
            )

    def rollback(self, project: str, deployment_id: str, *, at: datetime | None = None) -> dict[str, Any]:
        """Make an older successful production deployment the live one, from `at` (default: now)."""
        with self._lock:
            record_project = self._project(project)
            record = self._deployment(record_project, deployment_id)
            now = self.now()
            self._settle(record_project, now)
            if record.environment != "production" or not record.succeeded(now) or record.is_skipped:
                raise InvalidRollbackTargetError
            record_project.live_id = record.id
            record_project.live_since = _require_aware(at, "at") if at is not None else now
            record_project.revision += 1
            logger.info("Sandbox project %s rolled back to deployment %s", project, deployment_id)
            return _ProjectView(record_project, now).render(record)

    def delete_deployment(self, project: str, deployment_id: str, *, force: bool = False) -> None:
        """Delete a deployment under the API's rules.

        An aliased deployment needs `force`; the live production deployment and a deployment that is still
        queued or building cannot be deleted at all.
        """
        with self._lock:
            record_project = self._project(project)
            record = self._deployment(record_project, deployment_id)
            now = self.now()
            self._settle(record_project, now)
            view = _ProjectView(record_project, now)
            if record.id in view.aliases() and not force:
                raise AliasedDeploymentError
            if record.id == record_project.live_id:
                raise LiveDeploymentError
            if not record.is_finished(now):
                raise DeploymentInProgressError
            record.deleted = True
            record_project.deployments.remove(record)
            record_project.deleted_ids.append(record.id)
            record_project.revision += 1
            logger.info("Sandbox deployment %s of %s deleted", deployment_id, project)

    def list_projects(self, *, page: int = 1, per_page: int = 25) -> tuple[list[dict[str, Any]], int]:
        """Return one page of projects, newest first, and the total number of projects."""
        with self._lock:
            now = self.now()
            ordered = sorted(
                self._projects.values(), key=lambda item: (item.created_on, item.name), reverse=True
            )
            chosen = ordered[(page - 1) * per_page : page * per_page]
            items = []
            for record_project in chosen:
                self._settle(record_project, now)
                items.append(_ProjectView(record_project, now).render_project())
            return items, len(ordered)

    def get_project(self, project: str) -> dict[str, Any]:
        with self._lock:
            record_project = self._project(project)
            now = self.now()
            self._settle(record_project, now)
            return _ProjectView(record_project, now).render_project()

    def list_deployments(
        self, project: str, *, environment: str | None = None, page: int = 1, per_page: int = 25
    ) -> tuple[list[dict[str, Any]], int]:
        """Return one page of a project's deployments, newest first, and how many match in all."""
        with self._lock:
            record_project = self._project(project)
            now = self.now()
            self._settle(record_project, now)
            newest_first = record_project.deployments[::-1]
            if environment is not None:
                newest_first = [record for record in newest_first if record.environment == environment]
            chosen = newest_first[(page - 1) * per_page : page * per_page]
            view = _ProjectView(record_project, now)
            return [view.render(record) for record in chosen], len(newest_first)

    def get_deployment(self, project: str, deployment_id: str) -> dict[str, Any]:
        """Return a deployment as the API shows it; DeploymentNotFoundError once it is deleted."""
        with self._lock:
            record_project = self._project(project)
            record = self._deployment(record_project, deployment_id)
            now = self.now()
            self._settle(record_project, now)
            return _ProjectView(record_project, now).render(record)

    def deployment_logs(self, project: str, deployment_id: str) -> dict[str, Any]:
        with self._lock:
            record_project = self._project(project)
            record = self._deployment(record_project, deployment_id)
            now = self.now()
            return logs_json(record, record.state_at(now), now)

    # -- read helpers for tests ------------------------------------------------------------------------------

    def project_names(self) -> list[str]:
        with self._lock:
            return sorted(self._projects)

    def deployment_ids(self, project: str) -> list[str]:
        """Ids of the project's deployments that are not deleted, newest first."""
        with self._lock:
            return [record.id for record in reversed(self._project(project).deployments)]

    def canonical_id(self, project: str) -> str | None:
        """Id of the live production deployment (`canonical_deployment`), or None."""
        with self._lock:
            record_project = self._project(project)
            self._settle(record_project, self.now())
            return record_project.live_id

    def deleted_ids(self, project: str) -> list[str]:
        """Ids of the deployments deleted from the project, in the order they were deleted."""
        with self._lock:
            return list(self._project(project).deleted_ids)

    # -- internals -------------------------------------------------------------------------------------------

    def _project(self, name: str) -> ProjectRecord:
        record = self._projects.get(name)
        if record is None:
            raise ProjectNotFoundError
        return record

    def _deployment(self, project: ProjectRecord, deployment_id: str) -> DeploymentRecord:
        record = project.by_id.get(deployment_id)
        if record is None or record.deleted:
            raise DeploymentNotFoundError
        return record

    @staticmethod
    def _default_trigger(project: ProjectRecord) -> str:
        return "ad_hoc" if project.source_type is None else f"{project.source_type}:push"

    @staticmethod
    def _durations(project: ProjectRecord, durations: Sequence[float] | None) -> Durations:
        if durations is None:
            return _UPLOAD_DURATIONS if project.direct_upload else _GIT_DURATIONS
        values = tuple(float(value) for value in durations)
        if len(values) != 5 or any(value < 0 for value in values):
            raise ValueError(f"durations needs five non-negative seconds, one per stage; got {durations!r}")
        return values

    def _insert(self, project: ProjectRecord, records: list[DeploymentRecord]) -> None:
        """Add records, keep the list sorted, and apply what each changes: live deployment, branch heads."""
        for record in records:
            if record.id in project.by_id:
                raise ValueError(f"deployment id {record.id} already exists in project {project.name!r}")
        if len(records) == 1:
            bisect.insort(project.deployments, records[0], key=_order_key)
        else:
            project.deployments.extend(records)
            project.deployments.sort(key=_order_key)
        for record in sorted(records, key=_order_key):
            project.by_id[record.id] = record
            if record.progressing:
                project.pending.append(record)
            elif record.environment == "production" and record.status == "success":
                self._go_live(project, record, record.created_on)
            head = project.branch_heads.get(record.branch)
            if head is None or _order_key(record) >= _order_key(head):
                project.branch_heads[record.branch] = record
        project.revision += 1

    @staticmethod
    def _go_live(project: ProjectRecord, record: DeploymentRecord, since: datetime) -> None:
        if project.live_since is None or since >= project.live_since:
            project.live_id = record.id
            project.live_since = since

    def _settle(self, project: ProjectRecord, now: datetime) -> None:
        """Apply what builds that finished by `now` change: a successful production build goes live."""
        if not project.pending:
            return
        finished = [record for record in project.pending if record.is_finished(now)]
        if not finished:
            return
        for record in sorted(finished, key=lambda item: (item.completes_at or now, item.sequence)):
            project.pending.remove(record)
            completed = record.completes_at
            if record.environment == "production" and record.status == "success" and completed is not None:
                self._go_live(project, record, completed)
        project.revision += 1
