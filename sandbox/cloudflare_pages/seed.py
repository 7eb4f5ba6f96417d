"""The demo data set: five projects of a fictional company, shaped like a real account after a year of use.

- `marketing-site`: about 2,500 deployments over 14 months, with production and rotating preview branches
  and failed, skipped and canceled builds. A recent story sits on top of that history. A production
  rollback makes the live deployment older than the newest one. A preview branch's newest build failed, so
  its alias stays on the older success. A production build was skipped, and another one started a minute
  before `now` and is still building.
- `docs` and `blog` (production branch `production`): smaller Git projects.
- `shop`: a Direct Upload project (no `source`, deployments triggered `ad_hoc`).
- `internal-tools`: a project the demo stack does not manage, so tools must leave it alone.

Every id, hash and time is drawn from fixed seeds relative to `now`, so the same `now` gives the same data.
"""

from __future__ import annotations

import random
from datetime import datetime, timedelta
from typing import Final

from sandbox.cloudflare_pages.history import new_commit_hash, new_uuid
from sandbox.cloudflare_pages.model import DeploymentStatus
from sandbox.cloudflare_pages.store import PagesStore

MANAGED_PROJECTS: Final = ("marketing-site", "docs", "blog", "shop")
UNMANAGED_PROJECT: Final = "internal-tools"
DEMO_DOMAIN: Final = "acme-widgets.example"

_MARKETING_PREVIEW_BRANCHES: Final = (
    "feature/pricing-page",
    "fix/nav-overflow",
    "renovate/astro-5.x",
    "feature/case-studies",
    "dependabot/npm_and_yarn/sharp-0.33.5",
    "fix/cookie-banner",
    "feature/i18n-de",
    "staging",
    "feature/blog-pagination",
    "fix/og-images",
    "feature/dark-mode",
    "chore/lighthouse-ci",
)


def seed_demo(store: PagesStore, now: datetime) -> None:
    """Add the demo projects and their deployments to `store`, relative to `now`."""
    rng = random.Random(20240806)  # noqa: S311 -- reproducible demo data, not security
    _seed_marketing_site(store, now, rng)
    _seed_git_project(
        store,
        now,
        rng,
        name="docs",
        subdomain="docs-4kd.pages.dev",
        domains=(f"docs.{DEMO_DOMAIN}",),
        production_branch="main",
        count=320,
        days=180,
        rng_seed=202,
    )
    _seed_git_project(
        store,
        now,
        rng,
        name="blog",
        subdomain="blog-9ra.pages.dev",
        domains=(f"blog.{DEMO_DOMAIN}",),
        production_branch="production",
        count=150,
        days=270,
        rng_seed=303,
    )
    _seed_shop(store, now, rng)
    _seed_git_project(
        store,
        now,
        rng,
        name=UNMANAGED_PROJECT,
        subdomain="internal-tools-5hz.pages.dev",
        domains=(),
        production_branch="main",
        count=40,
        days=120,
        rng_seed=505,
    )


def _seed_marketing_site(store: PagesStore, now: datetime, rng: random.Random) -> None:
    name = "marketing-site"
    store.add_project(
        name,
        subdomain="marketing-site-7xq.pages.dev",
        domains=(f"www.{DEMO_DOMAIN}", DEMO_DOMAIN),
        production_branch="main",
        created_on=now - timedelta(days=430),
        project_id=new_uuid(rng),
    )
    store.generate_history(
        name,
        count=2480,
        start=now - timedelta(days=425),
        end=now - timedelta(days=2),
        production_share=0.3,
        branches=_MARKETING_PREVIEW_BRANCHES,
        failure_rate=0.06,
        skip_rate=0.03,
        cancel_rate=0.01,
        rng_seed=101,
    )

    def add(
        hours_ago: float,
        branch: str,
        message: str,
        status: DeploymentStatus = "success",
        stage: str | None = None,
    ) -> str:
        deployment = store.add_deployment(
            name,
            branch=branch,
            commit_hash=new_commit_hash(rng),
            commit_message=message,
            created_on=now - timedelta(hours=hours_ago, microseconds=rng.randrange(1_000_000)),
            status=status,
            stage=stage,
            deployment_id=new_uuid(rng),
        )
        return str(deployment["id"])

    add(30, "feature/new-checkout", "feat(checkout): one-page checkout")
    rollback_target = add(28, "main", "Merge pull request #2412 from acme-widgets/feature/annual-pricing")
    add(26, "feature/spring-campaign-landing-page-with-video-hero", "feat(campaign): spring landing page")
    add(9, "main", "Merge pull request #2418 from acme-widgets/fix/pricing-rounding")
    store.rollback(name, rollback_target, at=now - timedelta(hours=7))
    add(5, "feature/new-checkout", "feat(checkout): add address autocomplete", status="failure")
    add(3, "renovate/astro-5.x", "chore(deps): update astro to v5", status="canceled", stage="queued")
    add(1.5, "main", "docs: fix typo in README [CI Skip]", status="skipped")
    add(1 / 60, "main", "feat(hero): spring campaign banner", status="active", stage="build")


def _seed_git_project(
    store: PagesStore,
    now: datetime,
    rng: random.Random,
    *,
    name: str,
    subdomain: str,
    domains: tuple[str, ...],
    production_branch: str,
    count: int,
    days: int,
    rng_seed: int,
) -> None:
    store.add_project(
        name,
        subdomain=subdomain,
        domains=domains,
        production_branch=production_branch,
        created_on=now - timedelta(days=days + 3),
        project_id=new_uuid(rng),
    )
    store.generate_history(
        name,
        count=count,
        start=now - timedelta(days=days),
        end=now - timedelta(hours=1),
        production_share=0.35,
        failure_rate=0.05,
        skip_rate=0.02,
        cancel_rate=0.01,
        rng_seed=rng_seed,
    )


def _seed_shop(store: PagesStore, now: datetime, rng: random.Random) -> None:
    store.add_project(
        "shop",
        subdomain="shop-2mc.pages.dev",
        domains=(f"shop.{DEMO_DOMAIN}",),
        production_branch="main",
        source_type=None,
        created_on=now - timedelta(days=160),
        project_id=new_uuid(rng),
    )
    store.generate_history(
        "shop",
        count=80,
        start=now - timedelta(days=150),
        end=now - timedelta(hours=4),
        production_share=0.6,
        branches=("staging", "preview"),
        failure_rate=0.02,
        skip_rate=0.0,
        cancel_rate=0.0,
        rng_seed=404,
    )
