"""Retention rules of the pruner, as pure functions of a project and its listing.

A deployment is deleted when it is older than RETENTION_DAYS and no rule keeps it. The rules, in the order
that names a kept deployment's reason (each kept deployment is counted under the first rule that keeps it):

1. `live_production`: the project's live production deployment (`canonical_deployment`). When the project
   response names none, the newest successful production deployment of the listing is protected instead.
2. `building`: a build that is still queued or running.
3. `keep_latest`: one of the newest KEEP_LATEST deployments of its environment.
4. `unknown_age`: the API gave no readable `created_on`, so its age is unknown.
5. `within_retention`: not older than RETENTION_DAYS.
6. `aliased`: it carries an alias (a preview branch URL) and DELETE_ALIASED is off.

Nothing here talks to the API, so the rules can be tested on generated listings.
"""

from __future__ import annotations

import enum
from collections.abc import Iterable, Sequence
from dataclasses import dataclass
from datetime import datetime
from typing import Final

from pages_ops.config import Settings
from pages_ops.models import Deployment, Project

PRODUCTION: Final = "production"


class KeepReason(enum.StrEnum):
    """Reason a listed deployment is not deleted. The values are the keys of a result's `kept` counts."""

    LIVE_PRODUCTION = "live_production"
    BUILDING = "building"
    KEEP_LATEST = "keep_latest"
    UNKNOWN_AGE = "unknown_age"
    WITHIN_RETENTION = "within_retention"
    ALIASED = "aliased"


@dataclass(frozen=True, slots=True)
class RetentionPolicy:
    """The pruner's settings that decide what is deleted.

    `max_deletes` caps the deletions of one run. Deletable deployments past the cap are left for the next run.
    """

    retention_days: int = 7
    keep_latest: int = 3
    delete_aliased: bool = False
    max_deletes: int = 300

    def __post_init__(self) -> None:
        if self.retention_days < 0:
            raise ValueError(f"retention_days must be 0 or more, got {self.retention_days}")
        if self.keep_latest < 0:
            raise ValueError(f"keep_latest must be 0 or more, got {self.keep_latest}")
        if self.max_deletes < 0:
            raise ValueError(f"max_deletes must be 0 or more, got {self.max_deletes}")

    @classmethod
    def from_settings(cls, settings: Settings) -> RetentionPolicy:
        return cls(
            retention_days=settings.retention_days,
            keep_latest=settings.keep_latest,
            delete_aliased=settings.delete_aliased,
            max_deletes=settings.max_deletes_per_run,
        )


@dataclass(frozen=True, slots=True)
class Decision:
    """Verdict of the rules on one listed deployment: the reason it is kept, or None when deletable."""

    deployment: Deployment
    keep_reason: KeepReason | None
    age_days: float | None

    @property
    def deletable(self) -> bool:
        return self.keep_reason is None


@dataclass(frozen=True, slots=True)
class Selection:
    """The rules applied to a whole listing.

    `selected` is what this run deletes, oldest first and at most the cap. `deferred` is what is deletable
    but past the cap, left for the next run. `kept` is everything else, each with its reason. Together they
    contain every listed deployment exactly once. `protected_ids` are the live production deployment ids,
    which no DELETE may ever name, whether or not they appear in the listing.
    """

    protected_ids: frozenset[str]
    selected: tuple[Decision, ...]
    deferred: tuple[Decision, ...]
    kept: tuple[Decision, ...]

    @property
    def listed(self) -> int:
        """Number of distinct deployments in the listing."""
        return len(self.selected) + len(self.deferred) + len(self.kept)

    def kept_counts(self) -> dict[str, int]:
        """Kept deployments per reason, in rule order, leaving out reasons with no deployment."""
        counts = dict.fromkeys(KeepReason, 0)
        for decision in self.kept:
            if decision.keep_reason is not None:
                counts[decision.keep_reason] += 1
        return {reason.value: count for reason, count in counts.items() if count}


def unique_by_id(deployments: Iterable[Deployment]) -> list[Deployment]:
    """Drop repeated ids, keeping the first occurrence.

    A deployment created while the listing is paged pushes the others down by one, so the last item of a page
    can come back as the first item of the next page.
    """
    seen: set[str] = set()
    unique: list[Deployment] = []
    for deployment in deployments:
        if deployment.id not in seen:
            seen.add(deployment.id)
            unique.append(deployment)
    return unique


def newest_first(deployments: Sequence[Deployment]) -> list[Deployment]:
    """Sort the deployments that have a `created_on` newest first. Equal times keep the listing's order."""
    dated = [(index, item) for index, item in enumerate(deployments) if item.created_on is not None]
    dated.sort(key=lambda pair: (_created(pair[1]), -pair[0]), reverse=True)
    return [item for _, item in dated]


def live_deployment_ids(project: Project, deployments: Sequence[Deployment]) -> frozenset[str]:
    """The ids that must never be deleted because they are, or may be, the live production deployment.

    This is the project's `canonical_deployment`. A project response without one, while the listing has
    successful production deployments, is taken as incomplete rather than as "nothing is live". The newest
    successful production deployment is then protected instead. When several share the newest `created_on`,
    all of them are, and when none has a readable `created_on`, the first listed is.
    """
    if project.canonical_deployment is not None:
        return frozenset({project.canonical_deployment.id})

    successful = [item for item in deployments if item.environment == PRODUCTION and item.status == "success"]
    if not successful:
        return frozenset()
    dated = newest_first(successful)
    if not dated:
        return frozenset({successful[0].id})
    newest = dated[0].created_on
    return frozenset(item.id for item in dated if item.created_on == newest)


def newest_ids_per_environment(deployments: Sequence[Deployment], keep_latest: int) -> frozenset[str]:
    """Ids of the newest `keep_latest` deployments of each environment, by `created_on`.

    Deployments without a readable `created_on` take no place here: they are kept anyway (unknown age), and
    ranking them would push a dated deployment out of the newest N.
    """
    if keep_latest <= 0:
        return frozenset()
    per_environment: dict[str | None, list[Deployment]] = {}
    for deployment in newest_first(deployments):
        per_environment.setdefault(deployment.environment, []).append(deployment)
    return frozenset(item.id for group in per_environment.values() for item in group[:keep_latest])


def is_in_progress(deployment: Deployment) -> bool:
    """True while a build is queued or running, including between two stages.

    `Deployment.status` also reports "building" when a stage before `deploy` has finished and the next has
    not started. Deleting then would cut a build short, so that counts as in progress too.
    """
    return deployment.is_building or deployment.status in ("queued", "building")


def keep_reason(
    deployment: Deployment,
    *,
    now: datetime,
    policy: RetentionPolicy,
    protected_ids: frozenset[str],
    newest_ids: frozenset[str],
) -> KeepReason | None:
    """Return the first rule (in the order of the module docstring) that keeps `deployment`, or None."""
    age = deployment.age_days(now)
    rules = (
        (KeepReason.LIVE_PRODUCTION, deployment.id in protected_ids),
        (KeepReason.BUILDING, is_in_progress(deployment)),
        (KeepReason.KEEP_LATEST, deployment.id in newest_ids),
        (KeepReason.UNKNOWN_AGE, age is None),
        (KeepReason.WITHIN_RETENTION, age is not None and age <= policy.retention_days),
        (KeepReason.ALIASED, bool(deployment.aliases) and not policy.delete_aliased),
    )
    return next((reason for reason, applies in rules if applies), None)


def select_deployments(
    project: Project,
    deployments: Iterable[Deployment],
    *,
    now: datetime,
    policy: RetentionPolicy,
    limit: int | None = None,
) -> Selection:
    """Apply the retention rules to a project's complete listing.

    `now` must be timezone-aware. `limit`, when given, lowers the cap below `policy.max_deletes`: a run that
    covers several projects passes what is left of its cap. Deletable deployments are selected oldest first,
    so a backlog shrinks from its old end and each run starts where the previous one stopped.
    """
    if now.tzinfo is None:
        raise ValueError("now must be a timezone-aware datetime")
    cap = policy.max_deletes if limit is None else max(0, min(policy.max_deletes, limit))

    listing = unique_by_id(deployments)
    protected = live_deployment_ids(project, listing)
    newest = newest_ids_per_environment(listing, policy.keep_latest)

    deletable: list[tuple[int, Decision]] = []
    kept: list[Decision] = []
    for index, deployment in enumerate(listing):
        reason = keep_reason(deployment, now=now, policy=policy, protected_ids=protected, newest_ids=newest)
        decision = Decision(deployment=deployment, keep_reason=reason, age_days=deployment.age_days(now))
        if decision.deletable:
            deletable.append((index, decision))
        else:
            kept.append(decision)

    # The listing is newest first, so among equal timestamps the later item is the older one.
    deletable.sort(key=lambda pair: (_created(pair[1].deployment), -pair[0]))
    ordered = tuple(decision for _, decision in deletable)
    return Selection(
        protected_ids=protected,
        selected=ordered[:cap],
        deferred=ordered[cap:],
        kept=tuple(kept),
    )


def _created(deployment: Deployment) -> datetime:
    # Only called on deployments with a created_on: newest_first filters, and deletable ones have an age.
    if deployment.created_on is None:
        raise ValueError(f"deployment {deployment.id} has no created_on")
    return deployment.created_on
