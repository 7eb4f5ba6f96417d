"""One pruner run: read each project and its complete listing, decide with `retention`, delete, report.

A run never deletes while it is still paging: deleting shifts later deployments onto earlier pages, and a
partial listing could make an old deployment look like one of the newest. It reads every project (for the
live production deployment) and every listing page first, then decides, shares the per-run cap fairly across
the projects, then deletes with a few threads under the client's shared rate limiter.

A run stops cleanly, and reports `stopped`, when the per-run cap is used up (`max_deletes`), when the time
left is too short to start another deletion (`time_budget`), or when Cloudflare responds with 429
(`rate_limited`). The next run lists again and carries on from the oldest deployment left, so a backlog of
any size converges over successive runs. Failures other than these stops are reported per deployment and
raised at the end as `RunFailedError`, after every project was handled.
"""

from __future__ import annotations

import dataclasses
import enum
import logging
import math
import threading
import time
from collections import Counter, deque
from collections.abc import Callable, Iterator, Mapping
from concurrent.futures import ThreadPoolExecutor, wait
from dataclasses import dataclass, field
from datetime import UTC, datetime
from typing import Any, Final, Protocol

from pages_ops.config import Settings
from pages_ops.errors import (
    AliasedDeploymentError,
    CloudflareApiError,
    CloudflareError,
    CloudflareTimeoutError,
    DeploymentNotFoundError,
    InvalidIdentifierError,
    RateLimitedError,
    RunFailedError,
)
from pages_ops.events import as_mapping, optional_flag, selected_projects
from pages_ops.models import Deployment, Project
from pages_ops.retention import Decision, KeepReason, RetentionPolicy, Selection, select_deployments
from pages_ops.timing import Deadline, LambdaContextLike
from pages_ops.transport import MIN_REQUEST_SECONDS

logger = logging.getLogger(__name__)

# Seconds kept free at the end of the invocation, on top of the deadline's own reserve, for the deletions
# still in flight to finish and for the report and metrics to be written.
DEFAULT_RESERVE_SECONDS: Final = 3.0
# Assumed duration of one deletion (rate-limiter wait included) until the run has timed a real one.
INITIAL_DELETE_ESTIMATE_SECONDS: Final = 1.0


class StopReason(enum.StrEnum):
    """Reason a project's run ended before it deleted everything deletable. None of these is a failure."""

    TIME_BUDGET = "time_budget"
    RATE_LIMITED = "rate_limited"
    MAX_DELETES = "max_deletes"


class PagesApi(Protocol):
    """The part of `PagesClient` the pruner uses, so tests can pass a fake."""

    deadline: Deadline | None

    def get_project(self, project: str) -> Project: ...

    def iter_deployments(self, project: str, *, env: str | None = None) -> Iterator[Deployment]: ...

    def delete_deployment(self, project: str, deployment_id: str, *, force: bool = False) -> None: ...


class MetricsSink(Protocol):
    """The part of Powertools `Metrics` the pruner uses."""

    def add_metric(self, name: str, unit: str, value: float) -> None: ...


@dataclass(frozen=True, slots=True)
class PruneFailure:
    """A deletion that failed for a reason other than "already deleted", an alias refusal or a stop.

    When the project or its listing could not be read, `id` is the project name and nothing was deleted.
    `code` is the first Cloudflare error code of the response, or None when there was none (for example a
    connection failure). `message` never contains the account id or a credential.
    """

    id: str
    code: int | None
    message: str

    def to_dict(self) -> dict[str, Any]:
        return {"id": self.id, "code": self.code, "message": self.message}


@dataclass(slots=True)
class ProjectResult:
    """Outcome of a run for one project, in the shape of the pruner's result object."""

    project: str
    dry_run: bool
    selected: list[str] = field(default_factory=list)
    deleted: list[str] = field(default_factory=list)
    kept: dict[str, int] = field(default_factory=dict)
    failed: list[PruneFailure] = field(default_factory=list)
    remaining: int = 0
    stopped: StopReason | None = None
    # True when the project or its listing could not be read. `failed` then contains that one error.
    read_failed: bool = False

    @property
    def succeeded(self) -> bool:
        return not self.failed

    def to_dict(self) -> dict[str, Any]:
        return {
            "project": self.project,
            "dry_run": self.dry_run,
            "selected": list(self.selected),
            "deleted": list(self.deleted),
            "kept": dict(self.kept),
            "failed": [failure.to_dict() for failure in self.failed],
            "remaining": self.remaining,
            "stopped": None if self.stopped is None else self.stopped.value,
        }


@dataclass(frozen=True, slots=True)
class PruneRun:
    """The results of one invocation, one per project, in the order the projects were handled."""

    results: tuple[ProjectResult, ...]

    def to_dict(self) -> dict[str, Any]:
        return {"results": [result.to_dict() for result in self.results]}


class RunDeadline(Deadline):
    """The invocation's deadline, which the run can also bring forward to now with `halt()`.

    After a 429 the account is blocked for minutes, so no further request may go out. Halting makes
    `remaining()` return 0, and the transport checks it after waiting for a rate-limiter slot, right before
    sending. A request already waiting for its slot is therefore never sent. `time_left()` keeps returning
    the real time left.
    """

    def __init__(self, expires_at: float, *, clock: Callable[[], float] = time.monotonic) -> None:
        super().__init__(expires_at, clock=clock)
        self._halted = threading.Event()

    @classmethod
    def for_invocation(cls, context: LambdaContextLike | None) -> RunDeadline:
        """Build the deadline of a Lambda invocation. Without a context (a local run) it never expires."""
        if context is None:
            return cls(math.inf)
        return cls(Deadline.from_lambda_context(context).expires_at)

    def halt(self) -> None:
        self._halted.set()

    @property
    def halted(self) -> bool:
        return self._halted.is_set()

    def remaining(self) -> float:
        return 0.0 if self._halted.is_set() else super().remaining()

    def time_left(self) -> float:
        """Seconds left before the invocation's deadline, ignoring `halt()`."""
        return super().remaining()


def prune(
    event: object,
    context: LambdaContextLike | None,
    *,
    settings: Settings,
    client: PagesApi,
    metrics: MetricsSink | None = None,
    now: datetime | None = None,
    reserve_seconds: float = DEFAULT_RESERVE_SECONDS,
) -> PruneRun:
    """Prune the event's project, or every project in PAGES_PROJECTS, and return the results.

    `client` should raise on the first 429 (`runtime.client(retry_rate_limited=False)`): the run then stops
    instead of waiting on a blocked account. The event's `dry_run` can turn a dry run on, never off: with
    DRY_RUN set nothing is ever deleted. `now` (aware, default the current time) is what ages are measured
    from. Raises `InvalidEventError` before any request for a malformed event or an unmanaged project, and
    `RunFailedError` after all projects when any of them failed.
    """
    request = as_mapping(event)
    projects = selected_projects(request, settings)
    # The event's flag is parsed even when DRY_RUN is on, so a malformed event is rejected either way.
    event_dry_run = optional_flag(request, "dry_run", False)
    dry_run = settings.dry_run or event_dry_run

    deadline = RunDeadline.for_invocation(context)
    client.deadline = deadline
    run = _Run(
        client=client,
        policy=RetentionPolicy.from_settings(settings),
        concurrency=settings.prune_concurrency,
        dry_run=dry_run,
        now=now or datetime.now(UTC),
        deadline=deadline,
        reserve_seconds=reserve_seconds,
    )
    results = run.prune_projects(projects)
    outcome = PruneRun(results=results)

    if metrics is not None:
        _emit_metrics(metrics, results)
    failed = [result for result in results if not result.succeeded]
    if failed:
        raise RunFailedError(_failure_summary(failed, len(results)), results=outcome.to_dict()["results"])
    return outcome


class _Kind(enum.Enum):
    DELETED = enum.auto()
    ALREADY_GONE = enum.auto()
    ALIASED = enum.auto()
    PROTECTED = enum.auto()
    FAILED = enum.auto()
    NOT_DONE = enum.auto()  # stopped by a 429 or the deadline before it took effect: left for the next run


@dataclass(frozen=True, slots=True)
class _Outcome:
    kind: _Kind
    failure: PruneFailure | None = None


class _Run:
    """State shared by the projects of one invocation: the deadline and a run-wide stop."""

    def __init__(
        self,
        *,
        client: PagesApi,
        policy: RetentionPolicy,
        concurrency: int,
        dry_run: bool,
        now: datetime,
        deadline: RunDeadline,
        reserve_seconds: float,
    ) -> None:
        self.client = client
        self.policy = policy
        self.concurrency = max(1, concurrency)
        self.dry_run = dry_run
        self.now = now
        self.deadline = deadline
        self.reserve_seconds = reserve_seconds
        self.projects_read = 0
        # A 429 or the time budget ends the whole invocation, not only the project it happened in.
        self.stop: StopReason | None = None
        self._lock = threading.Lock()
        self._slowest_delete: float | None = None

    def prune_projects(self, names: tuple[str, ...]) -> tuple[ProjectResult, ...]:
        """Read and decide for every project first, share the per-run cap fairly, then delete.

        Sharing the cap keeps one project with a large backlog from starving the others. With a cap of 300
        and three projects that each have more than 100 deletable deployments, each gets 100 this run. A
        share that one project cannot use goes to the others.
        """
        results = tuple(ProjectResult(project=name, dry_run=self.dry_run) for name in names)
        selections = [self._read_phase(result) for result in results]

        demands = [len(selection.selected) if selection is not None else 0 for selection in selections]
        shares = fair_shares(demands, self.policy.max_deletes)
        for result, selection, share in zip(results, selections, shares, strict=True):
            if selection is None:
                self._log_summary(result)
                continue
            capped = dataclasses.replace(
                selection,
                selected=selection.selected[:share],
                deferred=selection.selected[share:] + selection.deferred,
            )
            self._delete_phase(result, capped)
        return results

    def _read_phase(self, result: ProjectResult) -> Selection | None:
        """Read one project and decide, unless the run already stopped. None when nothing can be deleted."""
        name = result.project
        if self.stop is None and self._short_of_time():
            self.stop = StopReason.TIME_BUDGET
        if self.stop is not None:
            result.stopped = self.stop
            logger.info(
                "not pruning project %s in this run: stopped earlier (%s)",
                name,
                self.stop.value,
                extra={"project": name, "stopped": self.stop.value},
            )
            return None
        return self._read_and_select(name, result)

    def _delete_phase(self, result: ProjectResult, selection: Selection) -> None:
        """Delete a project's share of the selection (unless this is a dry run) and fill in its result."""
        result.selected = [decision.deployment.id for decision in selection.selected]
        kept = Counter(selection.kept_counts())
        not_done = 0
        if not self.dry_run:
            outcomes = self._delete_all(result.project, selection) if self.stop is None else {}
            not_done = self._tally(selection, outcomes, result, kept)

        result.kept = {reason.value: kept[reason.value] for reason in KeepReason if kept[reason.value]}
        result.remaining = len(selection.deferred) + not_done
        if self.stop is not None:
            result.stopped = self.stop
        elif selection.deferred:
            result.stopped = StopReason.MAX_DELETES
        self._log_summary(result)

    @staticmethod
    def _tally(
        selection: Selection, outcomes: Mapping[str, _Outcome], result: ProjectResult, kept: Counter[str]
    ) -> int:
        """Sort each selected deployment into deleted, kept or failed, and return how many were not done."""
        not_done = 0
        for decision in selection.selected:
            deployment_id = decision.deployment.id
            outcome = outcomes.get(deployment_id)
            if outcome is None or outcome.kind is _Kind.NOT_DONE:
                not_done += 1
            elif outcome.kind in (_Kind.DELETED, _Kind.ALREADY_GONE):
                result.deleted.append(deployment_id)
            elif outcome.kind is _Kind.ALIASED:
                kept[KeepReason.ALIASED.value] += 1
            elif outcome.kind is _Kind.PROTECTED:
                kept[KeepReason.LIVE_PRODUCTION.value] += 1
            elif outcome.failure is not None:
                result.failed.append(outcome.failure)
        return not_done

    def _read_and_select(self, name: str, result: ProjectResult) -> Selection | None:
        """Read the project and its complete listing, then apply the rules. None when the read failed."""
        first_read = self.projects_read == 0
        self.projects_read += 1
        listing: list[Deployment] = []
        try:
            project = self.client.get_project(name)
            listing.extend(self.client.iter_deployments(name))
        except RateLimitedError:
            self._halt(StopReason.RATE_LIMITED)
            result.stopped = StopReason.RATE_LIMITED
            logger.warning(
                "Cloudflare rate limit reached while reading project %s: nothing deleted, the next run "
                "continues",
                name,
                extra={"project": name},
            )
            return None
        except CloudflareTimeoutError as exc:
            if not self._timed_out():
                self._record_read_failure(name, result, exc)
                return None
            self.stop = StopReason.TIME_BUDGET
            result.stopped = StopReason.TIME_BUDGET
            self._log_listing_out_of_time(name, len(listing), had_whole_run=first_read)
            return None
        except (CloudflareError, ValueError) as exc:
            # ValueError: an object in the response lacks its id or name, so the listing cannot be trusted.
            self._record_read_failure(name, result, exc)
            return None

        return select_deployments(project, listing, now=self.now, policy=self.policy)

    @staticmethod
    def _log_listing_out_of_time(name: str, listed: int, *, had_whole_run: bool) -> None:
        if not had_whole_run:
            logger.warning(
                "time ran out while reading project %s after earlier projects: nothing deleted, the next run "
                "continues",
                name,
                extra={"project": name, "listed": listed},
            )
            return
        # The listing had the whole run and still did not finish, so the next run will not finish it either:
        # nothing of this project is deleted until the listing fits into one run.
        logger.error(
            "time ran out while listing project %s after %d deployments, with the whole run for it: nothing "
            "can be deleted until one run lists every deployment. Raise CLOUDFLARE_RATE_LIMIT_PER_MINUTE "
            "(at most 240) or the function's timeout",
            name,
            listed,
            extra={"project": name, "listed": listed},
        )

    def _record_read_failure(self, name: str, result: ProjectResult, exc: Exception) -> None:
        message = f"could not read project {name} or its deployments, so nothing was deleted: {exc}"
        result.read_failed = True
        result.failed.append(PruneFailure(id=name, code=_error_code(exc), message=message))
        logger.error(message, extra={"project": name, "error_code": _error_code(exc)})

    def _delete_all(self, name: str, selection: Selection) -> dict[str, _Outcome]:
        """Delete the selected deployments with up to `concurrency` threads, oldest first."""
        pending = deque(selection.selected)
        outcomes: dict[str, _Outcome] = {}
        workers = min(self.concurrency, len(pending))
        if workers == 0:
            return outcomes

        def work() -> None:
            while True:
                with self._lock:
                    if self.stop is not None or not pending:
                        return
                    if self._short_of_time():
                        self.stop = StopReason.TIME_BUDGET
                        logger.info(
                            "stopping deletions in project %s: %.1fs left is too short to start another",
                            name,
                            self.deadline.time_left(),
                            extra={"project": name},
                        )
                        return
                    decision = pending.popleft()
                outcome = self._delete_one(name, decision, selection.protected_ids)
                with self._lock:
                    outcomes[decision.deployment.id] = outcome

        pool = ThreadPoolExecutor(max_workers=workers, thread_name_prefix=f"prune-{name}")
        try:
            futures = [pool.submit(work) for _ in range(workers)]
            wait(futures)
        except BaseException:
            # An interrupt (Ctrl-C in a local run) must not leave the workers deleting on their own: they
            # finish the request in flight, take no new deployment, and nothing waiting for a slot is sent.
            with self._lock:
                pending.clear()
            self.deadline.halt()
            raise
        finally:
            pool.shutdown(wait=True)
        for future in futures:
            future.result()  # re-raise a bug in a worker instead of reporting a partial run as done
        return outcomes

    def _delete_one(  # noqa: PLR0911 - one return per outcome, each next to the error it handles
        self, name: str, decision: Decision, protected_ids: frozenset[str]
    ) -> _Outcome:
        deployment = decision.deployment
        # The selection never contains a live deployment. This second check, at the last moment, keeps it
        # that way even if the selection code or the listing is wrong.
        # NOTE: the project is read once per run, so a rollback made during the run is not seen here. The
        # deployment made live is a production one, and those are never forced (below), so Cloudflare's
        # alias refusal (8000035) still applies. Its refusal to delete the live deployment is not documented.
        if deployment.id in protected_ids:
            logger.error(
                "not deleting deployment %s of project %s: it is the live production deployment",
                deployment.id,
                name,
                extra={"project": name, "deployment_id": deployment.id},
            )
            return _Outcome(_Kind.PROTECTED)

        started = time.monotonic()
        try:
            # With DELETE_ALIASED on, every preview DELETE is forced: deleting a branch's newest build moves
            # its alias onto the next one, which the listing showed without it. Production deployments are
            # never forced, because `force` is what lets Cloudflare delete an aliased one, and the live
            # deployment carries the production aliases.
            force = self.policy.delete_aliased and deployment.environment == "preview"
            self.client.delete_deployment(name, deployment.id, force=force)
        except DeploymentNotFoundError:
            self._time_delete(started)
            self._log_deleted(name, decision, already_gone=True)
            return _Outcome(_Kind.ALREADY_GONE)
        except AliasedDeploymentError:
            # The alias moved onto this deployment after the listing (its branch's newer one was deleted).
            self._time_delete(started)
            logger.info(
                "kept deployment %s of project %s: Cloudflare rejected its deletion as aliased (8000035)",
                deployment.id,
                name,
                extra={"project": name, "deployment_id": deployment.id},
            )
            return _Outcome(_Kind.ALIASED)
        except RateLimitedError:
            self._halt(StopReason.RATE_LIMITED)
            logger.warning(
                "Cloudflare rate limit reached deleting deployment %s of project %s: no further requests "
                "in this run, the next run continues",
                deployment.id,
                name,
                extra={"project": name, "deployment_id": deployment.id},
            )
            return _Outcome(_Kind.NOT_DONE)
        except CloudflareTimeoutError as exc:
            if self._timed_out():
                return _Outcome(_Kind.NOT_DONE)
            return self._failed(name, deployment.id, exc)
        except (CloudflareError, InvalidIdentifierError) as exc:
            self._time_delete(started)
            return self._failed(name, deployment.id, exc)

        self._time_delete(started)
        self._log_deleted(name, decision, already_gone=False)
        return _Outcome(_Kind.DELETED)

    def _failed(self, name: str, deployment_id: str, exc: Exception) -> _Outcome:
        failure = PruneFailure(id=deployment_id, code=_error_code(exc), message=str(exc))
        logger.error(
            "failed to delete deployment %s of project %s: %s",
            deployment_id,
            name,
            exc,
            extra={"project": name, "deployment_id": deployment_id, "error_code": failure.code},
        )
        return _Outcome(_Kind.FAILED, failure)

    def _log_deleted(self, name: str, decision: Decision, *, already_gone: bool) -> None:
        deployment = decision.deployment
        age = decision.age_days
        logger.info(
            "%s deployment %s of project %s (%s, branch %s, %.1f days old)",
            "already deleted:" if already_gone else "deleted",
            deployment.id,
            name,
            deployment.environment or "unknown environment",
            deployment.branch or "unknown",
            age if age is not None else math.nan,
            extra={
                "project": name,
                "deployment_id": deployment.id,
                "environment": deployment.environment,
                "branch": deployment.branch,
                "age_days": None if age is None else round(age, 2),
                "already_deleted": already_gone,
            },
        )

    def _log_summary(self, result: ProjectResult) -> None:
        logger.info(
            "pruned project %s%s: %d selected, %d deleted, %d failed, kept %s, %d remaining, stopped: %s",
            result.project,
            " (dry run)" if result.dry_run else "",
            len(result.selected),
            len(result.deleted),
            len(result.failed),
            result.kept or "none",
            result.remaining,
            result.stopped.value if result.stopped is not None else "no",
            extra={
                "project": result.project,
                "dry_run": result.dry_run,
                "selected_count": len(result.selected),
                "deleted_count": len(result.deleted),
                "failed_count": len(result.failed),
                "kept": result.kept,
                "remaining": result.remaining,
                "stopped": result.stopped.value if result.stopped is not None else None,
            },
        )

    def _halt(self, reason: StopReason) -> None:
        self.deadline.halt()
        with self._lock:
            if self.stop is None or reason is StopReason.RATE_LIMITED:
                self.stop = reason

    def _time_delete(self, started: float) -> None:
        elapsed = time.monotonic() - started
        with self._lock:
            self._slowest_delete = max(self._slowest_delete or 0.0, elapsed)

    def _short_of_time(self) -> bool:
        """True when starting another deletion could run into the reserve kept for the end of the run."""
        estimate = INITIAL_DELETE_ESTIMATE_SECONDS if self._slowest_delete is None else self._slowest_delete
        return self.deadline.time_left() < self.reserve_seconds + estimate

    def _timed_out(self) -> bool:
        """True when a timeout came from the end of the run, not from a slow API with time to spare."""
        return self.deadline.halted or self.deadline.time_left() < self.reserve_seconds + MIN_REQUEST_SECONDS


def fair_shares(demands: list[int], total: int) -> list[int]:
    """Split `total` deletions across projects that want `demands`, as evenly as their demands allow.

    Every round gives each unsatisfied project an equal part of what is left (at least one, earlier projects
    first), so no share exceeds its demand and the shares add up to min(total, sum(demands)).
    """
    shares = [0] * len(demands)
    left = total
    wanting = [index for index, demand in enumerate(demands) if demand > 0]
    while left > 0 and wanting:
        part = max(1, left // len(wanting))
        for index in list(wanting):
            grant = min(part, demands[index] - shares[index], left)
            shares[index] += grant
            left -= grant
            if shares[index] == demands[index]:
                wanting.remove(index)
            if left == 0:
                break
    return shares


def _error_code(exc: Exception) -> int | None:
    if isinstance(exc, CloudflareApiError) and exc.codes:
        return exc.codes[0]
    return None


def _failure_summary(failed: list[ProjectResult], total: int) -> str:
    parts = []
    for result in failed:
        codes = sorted({failure.code for failure in result.failed if failure.code is not None})
        code_text = f" (error codes {', '.join(str(code) for code in codes)})" if codes else ""
        parts.append(
            f"{result.project}: {len(result.failed)} failed{code_text}, first: {result.failed[0].message}"
        )
    return (
        f"pruning failed for {len(failed)} of {total} projects (the next run tries again; the log has a line "
        f"for each failure): {'; '.join(parts)}"
    )


def _emit_metrics(metrics: MetricsSink, results: tuple[ProjectResult, ...]) -> None:
    """Add run totals: deployments deleted, failed, remaining and kept (per reason), projects unreadable."""
    kept: Counter[str] = Counter()
    for result in results:
        kept.update(result.kept)
    unreadable = sum(1 for result in results if result.read_failed)
    totals: Mapping[str, int] = {
        "DeploymentsDeleted": sum(len(result.deleted) for result in results),
        "DeploymentsFailed": sum(len(result.failed) for result in results) - unreadable,
        "ProjectsFailed": unreadable,
        "DeploymentsRemaining": sum(result.remaining for result in results),
        "DeploymentsKept": sum(kept.values()),
    }
    for name, value in totals.items():
        metrics.add_metric(name=name, unit="Count", value=value)
    for reason in KeepReason:
        if kept[reason.value]:
            metrics.add_metric(name=f"DeploymentsKept_{reason.value}", unit="Count", value=kept[reason.value])
