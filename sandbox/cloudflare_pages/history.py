"""Realistic, reproducible deployment histories: branch names, commit messages, hashes and build times.

Everything is drawn from a `random.Random` the caller seeds, so the same seed and time range always give the
same deployments, ids included.
"""

from __future__ import annotations

import random
import uuid
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import Final

from sandbox.cloudflare_pages.model import (
    DEPLOY_STAGE,
    DeploymentRecord,
    DeploymentStatus,
    Environment,
    ProjectRecord,
)

_TOPICS: Final = (
    "pricing-page",
    "nav-overflow",
    "hero-video",
    "cookie-banner",
    "site-search",
    "checkout-flow",
    "i18n-de",
    "dark-mode",
    "footer-links",
    "blog-pagination",
    "sitemap",
    "og-images",
    "a11y-contrast",
    "newsletter-form",
    "careers-page",
    "image-cdn",
    "not-found-page",
    "rss-feed",
    "changelog",
    "case-studies",
)
_SCOPES: Final = ("pricing", "nav", "hero", "layout", "seo", "blog", "search", "forms", "i18n", "images")
_FEATURES: Final = (
    "add annual billing toggle",
    "add testimonials carousel",
    "lazy-load below-the-fold images",
    "add German translations",
    "show reading time on posts",
    "add structured data for articles",
    "prefetch links on hover",
    "add a table of contents to long pages",
)
_FIXES: Final = (
    "correct hero image aspect ratio on Safari",
    "stop the mobile menu from overflowing",
    "escape ampersands in page titles",
    "restore focus outline on buttons",
    "handle missing cover images",
    "fix broken anchor links in the footer",
    "round prices to two decimals",
    "keep query parameters on redirects",
)
_DOCS: Final = ("update README", "document the release process", "fix typos on the about page")
_DEPENDENCIES: Final = (
    ("astro", "4.15.2", "4.16.1"),
    ("sharp", "0.33.4", "0.33.5"),
    ("tailwindcss", "3.4.13", "3.4.14"),
    ("typescript", "5.6.2", "5.6.3"),
    ("vite", "5.4.9", "5.4.10"),
    ("eslint", "9.12.0", "9.13.0"),
    ("prettier", "3.3.2", "3.3.3"),
)
GITHUB_ORGANISATION: Final = "acme-widgets"
SKIP_MARKER: Final = "[CI Skip]"

# (stage index, share) of failed Git builds that fail in each stage: most fail while building.
_FAILURE_STAGES: Final = ((3, 0.80), (4, 0.08), (2, 0.07), (1, 0.05))


def new_uuid(rng: random.Random) -> str:
    return str(uuid.UUID(int=rng.getrandbits(128), version=4))


def new_commit_hash(rng: random.Random) -> str:
    return f"{rng.getrandbits(160):040x}"


def branch_name(rng: random.Random) -> str:
    roll = rng.random()
    topic = rng.choice(_TOPICS)
    if roll < 0.45:
        return f"feature/{topic}"
    if roll < 0.70:
        return f"fix/{topic}"
    name, _, new = rng.choice(_DEPENDENCIES)
    if roll < 0.85:
        return f"renovate/{name}-{new.split('.')[0]}.x"
    if roll < 0.95:
        return f"dependabot/npm_and_yarn/{name}-{new}"
    return f"chore/{topic}"


def commit_message(rng: random.Random, branch: str, *, production: bool) -> str:
    if production and rng.random() < 0.6:
        return f"Merge pull request #{rng.randint(100, 2400)} from {GITHUB_ORGANISATION}/{branch_name(rng)}"
    roll = rng.random()
    if roll < 0.35:
        return f"feat({rng.choice(_SCOPES)}): {rng.choice(_FEATURES)}"
    if roll < 0.70:
        return f"fix({rng.choice(_SCOPES)}): {rng.choice(_FIXES)}"
    if roll < 0.85:
        name, old, new = rng.choice(_DEPENDENCIES)
        return f"chore(deps): bump {name} from {old} to {new}"
    return f"docs: {rng.choice(_DOCS)}"


def git_build_durations(rng: random.Random) -> tuple[float, float, float, float, float]:
    """Seconds spent queued, initializing, cloning, building and deploying, in the ranges seen on Pages."""
    return (
        round(rng.uniform(1.0, 25.0), 6),
        round(rng.uniform(5.0, 20.0), 6),
        round(rng.uniform(1.0, 6.0), 6),
        round(rng.uniform(25.0, 240.0), 6),
        round(rng.uniform(3.0, 20.0), 6),
    )


def direct_upload_durations(rng: random.Random) -> tuple[float, float, float, float, float]:
    """Return the stage durations of a Direct Upload, which only queues and deploys, in a few seconds."""
    return (round(rng.uniform(0.05, 0.4), 6), 0.0, 0.0, 0.0, round(rng.uniform(0.6, 2.5), 6))


@dataclass(frozen=True, slots=True)
class HistoryOptions:
    """Shape of a history made by `generate_records`. Rates are fractions of all deployments."""

    count: int
    start: datetime
    end: datetime
    production_share: float
    branches: Sequence[str] | None
    failure_rate: float
    skip_rate: float
    cancel_rate: float


class _BranchRotation:
    """Preview branches come and go: a few are active at a time, and one is replaced every few pushes."""

    def __init__(self, rng: random.Random, names: Sequence[str] | None, active: int = 3) -> None:
        self._rng = rng
        self._names = list(names) if names else None
        self._next = 0
        self._active = [self._new_branch() for _ in range(active)]

    def _new_branch(self) -> str:
        if self._names is None:
            return branch_name(self._rng)
        name = self._names[self._next % len(self._names)]
        self._next += 1
        return name

    def pick(self) -> str:
        if self._rng.random() < 0.15:
            self._active[self._rng.randrange(len(self._active))] = self._new_branch()
        return self._rng.choice(self._active)


def _outcome(
    rng: random.Random, options: HistoryOptions, direct_upload: bool
) -> tuple[DeploymentStatus, int]:
    roll = rng.random()
    if roll < options.failure_rate:
        if direct_upload:
            return "failure", DEPLOY_STAGE
        pick = rng.random()
        for stage, share in _FAILURE_STAGES:
            if pick < share:
                return "failure", stage
            pick -= share
        return "failure", 3
    roll -= options.failure_rate
    if roll < options.skip_rate and not direct_upload:
        return "skipped", 0
    roll -= options.skip_rate
    if roll < options.cancel_rate:
        return "canceled", rng.choice((0, 3))
    return "success", DEPLOY_STAGE


def generate_records(
    project: ProjectRecord,
    options: HistoryOptions,
    rng: random.Random,
    next_sequence: Callable[[], int],
) -> list[DeploymentRecord]:
    """Create `options.count` finished deployments spread at random over [start, end), oldest first."""
    span = (options.end - options.start).total_seconds()
    if span <= 0:
        raise ValueError(
            f"history end {options.end.isoformat()} must be after start {options.start.isoformat()}"
        )
    offsets = sorted(rng.uniform(0.0, span) for _ in range(options.count))
    rotation = _BranchRotation(rng, options.branches)
    trigger_type = "ad_hoc" if project.direct_upload else f"{project.source_type}:push"

    records: list[DeploymentRecord] = []
    for offset in offsets:
        production = rng.random() < options.production_share
        environment: Environment = "production" if production else "preview"
        branch = project.production_branch if production else rotation.pick()
        status, stage = _outcome(rng, options, project.direct_upload)
        message = commit_message(rng, branch, production=production)
        if status == "skipped":
            message = f"{message} {SKIP_MARKER}"
        durations = direct_upload_durations(rng) if project.direct_upload else git_build_durations(rng)
        records.append(
            DeploymentRecord(
                id=new_uuid(rng),
                project_name=project.name,
                environment=environment,
                branch=branch,
                commit_hash=new_commit_hash(rng),
                commit_message=message,
                commit_dirty=project.direct_upload and rng.random() < 0.1,
                trigger_type=trigger_type,
                created_on=options.start + timedelta(seconds=round(offset, 6)),
                durations=durations,
                status=status,
                stage=stage,
                progressing=False,
                direct_upload=project.direct_upload,
                sequence=next_sequence(),
                is_skipped=status == "skipped",
                skip_reason="commit_message" if status == "skipped" else None,
            )
        )
    return records
