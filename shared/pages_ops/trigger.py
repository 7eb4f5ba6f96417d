"""Scheduled build trigger: start one Pages build per project and schedule tick, or skip it while one runs.

A build starts by creating a deployment through the API (the production branch, or TRIGGER_BRANCH or the
event's `branch`), or by posting to the project's deploy hook when the secret lists one. With
SKIP_IF_BUILDING, a project whose newest deployment is still queued or building is skipped.

EventBridge delivers at least once and Lambda retries a failed asynchronous invocation, so one tick can
arrive several times. With IDEMPOTENCY_TABLE set, each (project, branch, tick) gets its own record in
`pages_ops.idempotency`: a project that started its build replays that result on every redelivery, even
when the invocation as a whole failed because of another project. Without the table, or for an event
without a tick (a manual invocation), nothing is deduplicated.
"""

from __future__ import annotations

import logging
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass, field, replace
from datetime import UTC, datetime, timedelta
from typing import Any, Final, Protocol

from pages_ops.client import PagesClient
from pages_ops.config import TRIGGER_BRANCH, Settings
from pages_ops.credentials import SecretDocument
from pages_ops.errors import (
    CloudflareApiError,
    CloudflareConnectionError,
    CloudflareError,
    CloudflareNotSentError,
    PagesOpsError,
    RunFailedError,
)
from pages_ops.events import as_mapping, optional_branch, schedule_tick, selected_projects
from pages_ops.idempotency import LedgerError, TickInProgressError, TickKey, TickLedger, open_ledger
from pages_ops.models import Deployment, Project
from pages_ops.timing import Deadline, LambdaContextLike

logger = logging.getLogger(__name__)

TRIGGERED: Final = "triggered"
SKIPPED: Final = "skipped"
DIRECT_UPLOAD_REASON: Final = (
    "Direct Upload project: Cloudflare builds it only from uploaded files, so there is nothing to rebuild"
)
FAILED: Final = "failed"
# Stored in an idempotency record only: the build request was sent, but its response was lost.
UNCERTAIN: Final = "uncertain"

# Metric names (Powertools Metrics, unit Count), emitted on every run, zero included, so alarms see data.
METRIC_TRIGGERED: Final = "BuildsTriggered"
METRIC_SKIPPED: Final = "BuildsSkipped"
METRIC_FAILED: Final = "BuildsFailed"
METRIC_REPLAYED: Final = "BuildsReplayed"

# How long after an unanswered build request a retry may conclude that no build was started, if none shows
# in the listing. The request itself gave up after its read timeout (10 s at most).
UNCERTAIN_SETTLE_SECONDS: Final = 30.0
# Allowance for the difference between this function's clock and Cloudflare's `created_on`.
CLOCK_SKEW: Final = timedelta(seconds=30)
# Attempts per tick whose request outcome stayed unknown before the project is reported as failed.
MAX_UNCERTAIN_ATTEMPTS: Final = 3


class DeployHookBranchError(PagesOpsError, ValueError):
    """A branch was requested for a project that builds through a deploy hook, which cannot choose one."""


class SecretProvider(Protocol):
    def get(self) -> SecretDocument: ...


class MetricsSink(Protocol):
    """The part of Powertools `Metrics` the trigger uses."""

    def add_metric(self, name: str, unit: str, value: float) -> None: ...


class ActionLog(Protocol):
    """A logger: `logging.Logger`, or the handler's Powertools `Logger` for structured lines."""

    def info(self, msg: str, *args: object, extra: Mapping[str, object] | None = None) -> None: ...

    def warning(self, msg: str, *args: object, extra: Mapping[str, object] | None = None) -> None: ...

    def error(self, msg: str, *args: object, extra: Mapping[str, object] | None = None) -> None: ...


@dataclass(frozen=True, slots=True)
class BuildResult:
    """Outcome of one project in one run.

    `action` is triggered, skipped or failed. `replayed` marks a result stored by an earlier delivery of the
    same tick, returned again without another request.
    """

    project: str
    action: str
    deployment_id: str | None = None
    url: str | None = None
    reason: str | None = None
    branch: str | None = None
    error_codes: tuple[int, ...] = ()
    replayed: bool = False

    def to_dict(self) -> dict[str, Any]:
        """Return the result object of the trigger's contract."""
        return {
            "project": self.project,
            "action": self.action,
            "deployment_id": self.deployment_id,
            "url": self.url,
            "reason": self.reason,
        }

    def to_report(self) -> dict[str, object]:
        """Return the contract's object plus the Cloudflare error codes of a failure, for `RunFailedError`."""
        report: dict[str, object] = dict(self.to_dict())
        if self.action == FAILED:
            report["error_codes"] = list(self.error_codes)
        return report


@dataclass(frozen=True, slots=True)
class TriggerRun:
    """The results of one invocation, in the order of the projects."""

    results: tuple[BuildResult, ...]
    tick: str | None = None

    def to_dict(self) -> dict[str, Any]:
        return {"results": [result.to_dict() for result in self.results]}


@dataclass(frozen=True, slots=True)
class _Target:
    """The build to start for a project: through the API (of `branch`, None for production) or a hook."""

    project: str
    branch: str | None
    hook_url: str | None = field(default=None, repr=False)

    def matches(self, deployment: Deployment) -> bool:
        """Tell whether `deployment` is a build this target's request would have created."""
        if self.hook_url is not None:
            return deployment.trigger_type == "deploy_hook"
        if self.branch is not None:
            return deployment.branch == self.branch
        return deployment.environment == "production"


@dataclass(frozen=True, slots=True)
class _Outcome:
    """The result of one start attempt, in the form stored in an idempotency record."""

    action: str
    deployment_id: str | None = None
    url: str | None = None
    reason: str | None = None
    branch: str | None = None
    posted_at: datetime | None = None
    error: str | None = None
    error_codes: tuple[int, ...] = ()

    def to_record(self) -> dict[str, Any]:
        return {
            "action": self.action,
            "deployment_id": self.deployment_id,
            "url": self.url,
            "reason": self.reason,
            "branch": self.branch,
            "posted_at": self.posted_at.isoformat() if self.posted_at is not None else None,
            "error": self.error,
            "error_codes": list(self.error_codes),
        }

    @classmethod
    def from_record(cls, record: Mapping[str, Any]) -> _Outcome:
        action = record.get("action")
        if action not in (TRIGGERED, SKIPPED, UNCERTAIN):
            raise LedgerError(f"idempotency record has an unknown action {action!r}")
        posted_at = _parse_time(record.get("posted_at"))
        if action == UNCERTAIN and posted_at is None:
            raise LedgerError("idempotency record of an unanswered request has no valid posted_at time")
        codes = record.get("error_codes") or []
        return cls(
            action=str(action),
            deployment_id=_optional_text(record.get("deployment_id")),
            url=_optional_text(record.get("url")),
            reason=_optional_text(record.get("reason")),
            branch=_optional_text(record.get("branch")),
            posted_at=posted_at,
            error=_optional_text(record.get("error")),
            error_codes=tuple(code for code in codes if isinstance(code, int)),
        )

    def result(self, project: str, *, replayed: bool = False) -> BuildResult:
        return BuildResult(
            project=project,
            action=self.action,
            deployment_id=self.deployment_id,
            url=self.url,
            reason=self.reason,
            branch=self.branch,
            replayed=replayed,
        )


def trigger_builds(
    event: object,
    context: LambdaContextLike,
    *,
    settings: Settings,
    client: PagesClient,
    secrets: SecretProvider,
    metrics: MetricsSink | None = None,
    log: ActionLog | None = None,
    ledger: TickLedger | None = None,
    clock: Callable[[], datetime] | None = None,
) -> TriggerRun:
    """Start a build for the event's project, or for every project in PAGES_PROJECTS.

    Every project is attempted even when an earlier one fails. Then `RunFailedError` is raised with every
    project's result, so that EventBridge's retries, the dead-letter queue and alarms see the failure. An
    invalid event raises `InvalidEventError`, and a secret that cannot be read `SecretError`, both before any
    request. `ledger` defaults to the table named by IDEMPOTENCY_TABLE.
    """
    payload = as_mapping(event)
    projects = selected_projects(payload, settings)
    event_branch = optional_branch(payload)
    branch = event_branch or settings.trigger_branch
    branch_source = "the event's 'branch' key" if event_branch else TRIGGER_BRANCH
    tick = schedule_tick(payload)
    action_log: ActionLog = log if log is not None else logger
    client.deadline = Deadline.from_lambda_context(context)
    # Every project needs the secret (the API credentials, its deploy hooks). One that cannot be read or
    # parsed raises SecretError here, once and before any request, instead of failing each project alike.
    secrets.get()

    if ledger is None and settings.idempotency_table:
        ledger = open_ledger(settings.idempotency_table)
    if ledger is not None:
        if tick is None:
            action_log.warning(
                "the event has no schedule tick (neither scheduled_time nor time), as in a manual "
                "invocation: this run is not deduplicated and starts a build even if one was just started"
            )
            ledger = None
        else:
            ledger.bind(context)

    run = _Run(
        settings=settings,
        client=client,
        secrets=secrets,
        ledger=ledger,
        tick=tick,
        branch=branch,
        branch_source=branch_source,
        clock=clock or _utc_now,
        log=action_log,
    )
    results = tuple(run.project(name) for name in projects)
    _add_metrics(metrics, results)

    failures = [result for result in results if result.action == FAILED]
    if failures:
        message = _failure_message(failures, total=len(results))
        action_log.error(message, extra={"tick": tick})
        raise RunFailedError(message, results=[result.to_report() for result in results])
    return TriggerRun(results=results, tick=tick)


@dataclass(slots=True)
class _Run:
    settings: Settings
    client: PagesClient
    secrets: SecretProvider
    ledger: TickLedger | None
    tick: str | None
    branch: str | None
    branch_source: str
    clock: Callable[[], datetime]
    log: ActionLog

    def project(self, project: str) -> BuildResult:
        """Start (or skip, or replay) one project's build. A failure becomes a `failed` result."""
        via_hook = False
        try:
            target = self._target(project)
            via_hook = target.hook_url is not None
            if self.ledger is None or self.tick is None:
                outcome = self._start(target, recover_since=None)
                if outcome.action == UNCERTAIN:
                    result = _unknown_outcome_failure(
                        project,
                        outcome,
                        retry_checks=False,
                        skip_if_building=self.settings.skip_if_building,
                    )
                else:
                    result = outcome.result(project)
            else:
                result = self._start_once(target, self.ledger, self.tick)
        except TickInProgressError as exc:
            # The invocation that owns the record reports the build, and Lambda retries it if it fails.
            result = BuildResult(project=project, action=SKIPPED, reason=str(exc), branch=self.branch)
        except PagesOpsError as exc:
            result = _failure(project, exc)
        self._log_result(result, via_hook=via_hook)
        return result

    # Starting a build

    def _target(self, project: str) -> _Target:
        hook_url = self.secrets.get().deploy_hooks.get(project)
        if hook_url is not None and self.branch is not None:
            raise DeployHookBranchError(
                f"project {project} builds through a deploy hook, which always builds the branch it was "
                f"created for, so branch {self.branch!r} from {self.branch_source} cannot be built: remove "
                f"the branch, or remove {project} from deploy_hooks in the secret to build through the API"
            )
        return _Target(project=project, branch=self.branch, hook_url=hook_url)

    def _start(self, target: _Target, recover_since: datetime | None) -> _Outcome:
        """Start the build, unless one is running (SKIP_IF_BUILDING) or an earlier attempt started it."""
        if recover_since is not None:
            found = self._find_build_since(target, recover_since - CLOCK_SKEW)
            if found is not None:
                return _adopted(found, target, "an earlier invocation for this tick ended without a result")

        if self.settings.skip_if_building:
            project = self.client.get_project(target.project)
            if target.hook_url is None and project.source_type is None:
                # Cloudflare builds a Direct Upload project only from uploaded files (the create call then
                # requires a manifest), so a schedule has nothing to rebuild. Such projects are still
                # managed for pruning and the status page. Without SKIP_IF_BUILDING the project is not read,
                # and the create call fails with Cloudflare's 8000096 instead.
                return _Outcome(action=SKIPPED, reason=DIRECT_UPLOAD_REASON)
            running = self._running_build(target.project, project)
            if running is not None:
                return _Outcome(action=SKIPPED, reason=_building_reason(running), branch=running.branch)

        posted_at = self.clock()
        try:
            return self._post(target)
        except CloudflareError as exc:
            if not _outcome_unknown(exc):
                raise
            codes = exc.codes if isinstance(exc, CloudflareApiError) else ()
            # The request may have reached Cloudflare and started a build. The outcome is stored instead of
            # raised: raising would delete the idempotency record, and the retry would then send a second
            # request blindly. A retry that replays this outcome first looks for a build created since
            # `posted_at` (see `_start_once`).
            return _Outcome(
                action=UNCERTAIN,
                branch=target.branch,
                posted_at=posted_at,
                error=str(exc),
                error_codes=codes,
            )

    def _post(self, target: _Target) -> _Outcome:
        if target.hook_url is not None:
            deployment_id = self.client.trigger_deploy_hook(target.hook_url)
            # Cloudflare documents only the new deployment's id in a hook's response: the URL stays unknown.
            return _Outcome(
                action=TRIGGERED,
                deployment_id=deployment_id,
                reason="started through the project's deploy hook",
            )
        deployment = self.client.create_deployment(target.project, branch=target.branch)
        return _Outcome(
            action=TRIGGERED,
            deployment_id=deployment.id,
            url=deployment.url,
            branch=deployment.branch or target.branch,
        )

    def _running_build(self, name: str, project: Project) -> Deployment | None:
        """Return the project's newest deployment when it is still queued or building, else None."""
        latest = project.latest_deployment
        if latest is None:
            # Some project objects lack latest_deployment: the listing's first entry is the newest.
            page = self.client.list_deployments_page(name, per_page=1)
            latest = page.deployments[0] if page.deployments else None
        if latest is not None and latest.is_building:
            return latest
        return None

    def _find_build_since(self, target: _Target, since: datetime) -> Deployment | None:
        """Find the newest deployment created at or after `since` that `target`'s request would create."""
        # The listing is newest first (observed, and relied on by Cloudflare's own scripts), so the first
        # deployment older than `since` ends the search after a page or two.
        for deployment in self.client.iter_deployments(target.project):
            if deployment.created_on is None:
                continue
            if deployment.created_on < since:
                return None
            if target.matches(deployment):
                return deployment
        return None

    # Idempotent start, per (project, branch, tick)

    def _start_once(self, target: _Target, ledger: TickLedger, tick: str) -> BuildResult:
        """Start the build under the tick's idempotency record, resolving an earlier unanswered request.

        When an attempt's request got no usable response, its record keeps that "uncertain" outcome and the
        invocation fails. The retry replays it and looks for a build created since that request. When one
        exists, it is reported as this tick's build. When none exists after UNCERTAIN_SETTLE_SECONDS, the
        next attempt number gets a new record and sends one request. Only the invocation that wins that
        record's conditional write sends it, so concurrent redeliveries still start one build.
        """
        key = TickKey(
            account_id=self.settings.account_id, project=target.project, branch=target.branch, tick=tick
        )
        for attempt in range(1, MAX_UNCERTAIN_ATTEMPTS + 1):
            entry = ledger.run(key, attempt, lambda since: self._start(target, since).to_record())
            outcome = _Outcome.from_record(entry.record)
            if outcome.action != UNCERTAIN:
                result = outcome.result(target.project, replayed=entry.replayed)
                if entry.replayed:
                    reason = f"tick {tick} was already handled by an earlier delivery"
                    result = replace(result, reason=f"{reason}: {result.reason}" if result.reason else reason)
                return result
            if not entry.replayed:
                return _unknown_outcome_failure(
                    target.project,
                    outcome,
                    retry_checks=True,
                    skip_if_building=self.settings.skip_if_building,
                )

            posted_at = outcome.posted_at or self.clock()
            found = self._find_build_since(target, posted_at - CLOCK_SKEW)
            if found is not None:
                adopted = _adopted(found, target, "an earlier attempt's build request got no response")
                try:
                    ledger.replace(key, attempt, adopted.to_record())
                except LedgerError as exc:
                    # The next redelivery repeats the same lookup and finds the same build.
                    self.log.warning("could not store the resolved result: %s", exc)
                return adopted.result(target.project)

            waited = (self.clock() - posted_at).total_seconds()
            if waited < UNCERTAIN_SETTLE_SECONDS:
                return BuildResult(
                    project=target.project,
                    action=FAILED,
                    reason=(
                        f"an earlier attempt sent the build request {waited:.0f}s ago and got no response "
                        f"({outcome.error}); no build from it shows yet, so none is started now: a retry "
                        f"after {UNCERTAIN_SETTLE_SECONDS:.0f}s decides"
                    ),
                    branch=target.branch,
                    error_codes=outcome.error_codes,
                )
            self.log.info(
                "no build of %s was created after the unanswered request of attempt %d (sent %s); "
                "starting attempt %d",
                target.project,
                attempt,
                posted_at.isoformat(),
                attempt + 1,
                extra={"project": target.project, "tick": tick},
            )
        return BuildResult(
            project=target.project,
            action=FAILED,
            reason=(
                f"{MAX_UNCERTAIN_ATTEMPTS} build requests for tick {tick} got no response and none of "
                "them shows as a deployment: check Cloudflare's status and the project's deployments"
            ),
            branch=target.branch,
        )

    # Reporting

    def _log_result(self, result: BuildResult, *, via_hook: bool) -> None:
        extra = {
            "project": result.project,
            "action": result.action,
            "deployment_id": result.deployment_id,
            "branch": result.branch,
            "tick": self.tick,
        }
        branch = result.branch or ("the deploy hook's branch" if via_hook else "the production branch")
        if result.action == TRIGGERED:
            self.log.info(
                "build %s for %s: deployment %s, branch %s, tick %s%s",
                "replayed" if result.replayed else "triggered",
                result.project,
                result.deployment_id or "(id not returned)",
                branch,
                self.tick or "none",
                f" ({result.reason})" if result.reason else "",
                extra=extra,
            )
        elif result.action == SKIPPED:
            self.log.info(
                "build skipped for %s, tick %s: %s",
                result.project,
                self.tick or "none",
                result.reason,
                extra=extra,
            )
        else:
            self.log.error(
                "build failed for %s, tick %s: %s",
                result.project,
                self.tick or "none",
                result.reason,
                extra=extra,
            )


def _outcome_unknown(error: CloudflareError) -> bool:
    """Tell whether a failed build request may nevertheless have started a build.

    A connection failure or timeout may have happened after Cloudflare received the request, and a 5xx, a
    408 or a 2xx with a broken body may come after it acted. Other 4xx responses (rejected, rate limited,
    unauthorised, not found) are final: nothing was started. So is a request that never left this process.
    """
    if isinstance(error, CloudflareNotSentError):
        return False
    if isinstance(error, CloudflareConnectionError):
        return True
    if isinstance(error, CloudflareApiError):
        return error.status >= 500 or error.status == 408 or 200 <= error.status < 300
    return False


def _adopted(deployment: Deployment, target: _Target, cause: str) -> _Outcome:
    return _Outcome(
        action=TRIGGERED,
        deployment_id=deployment.id,
        url=deployment.url,
        branch=deployment.branch or target.branch,
        reason=(
            f"{cause}; deployment {deployment.short_id} was created after it, so it counts as this tick's "
            "build and no other was started"
        ),
    )


def _building_reason(deployment: Deployment) -> str:
    stage = deployment.latest_stage
    stage_text = f"stage {stage.name} is {stage.status}" if stage is not None else "no stage reported"
    return f"deployment {deployment.short_id} is still {deployment.status} ({stage_text})"


def _failure(project: str, error: PagesOpsError) -> BuildResult:
    codes = error.codes if isinstance(error, CloudflareApiError) else ()
    return BuildResult(project=project, action=FAILED, reason=str(error), error_codes=codes)


def _unknown_outcome_failure(
    project: str, outcome: _Outcome, *, retry_checks: bool, skip_if_building: bool
) -> BuildResult:
    if retry_checks:
        advice = "a retry looks for a build created since the request before sending another"
    else:
        unless = " unless SKIP_IF_BUILDING finds this one still building" if skip_if_building else ""
        advice = (
            "this run is not deduplicated (IDEMPOTENCY_TABLE is unset or the event has no schedule tick), "
            f"so a retry may start a second build{unless}: check the project's deployments"
        )
    return BuildResult(
        project=project,
        action=FAILED,
        reason=f"build request sent, but whether a build started is unknown ({outcome.error}): {advice}",
        branch=outcome.branch,
        error_codes=outcome.error_codes,
    )


def _failure_message(failures: Sequence[BuildResult], *, total: int) -> str:
    parts = []
    for failure in failures:
        codes = f" [error codes {', '.join(str(code) for code in failure.error_codes)}]"
        parts.append(f"{failure.project}: {failure.reason}{codes if failure.error_codes else ''}")
    return f"build trigger failed for {len(failures)} of {total} projects: " + "; ".join(parts)


def _add_metrics(metrics: MetricsSink | None, results: Sequence[BuildResult]) -> None:
    if metrics is None:
        return
    fresh = [result for result in results if not result.replayed]
    counts = {
        METRIC_TRIGGERED: sum(1 for result in fresh if result.action == TRIGGERED),
        METRIC_SKIPPED: sum(1 for result in fresh if result.action == SKIPPED),
        METRIC_FAILED: sum(1 for result in fresh if result.action == FAILED),
        METRIC_REPLAYED: len(results) - len(fresh),
    }
    for name, value in counts.items():
        metrics.add_metric(name=name, unit="Count", value=value)


def _parse_time(value: object) -> datetime | None:
    if not isinstance(value, str):
        return None
    try:
        parsed = datetime.fromisoformat(value)
    except ValueError:
        return None
    return parsed if parsed.tzinfo is not None else parsed.replace(tzinfo=UTC)


def _optional_text(value: object) -> str | None:
    return value if isinstance(value, str) else None


def _utc_now() -> datetime:
    return datetime.now(UTC)
